#!/usr/bin/env python3
"""Writes tests/data/res_block_c4.onnx (+ .input.npy): MONAI's UnetResBlock on a 4-channel image, as UNETR's encoder1
has it (BraTS' 4 modalities): conv1 3x3x3 4 -> 16, InstanceNorm, LeakyReLU, conv2 3x3x3 16 -> 16, InstanceNorm; the
residual conv3 1x1x1 4 -> 16 and its InstanceNorm; their sum through a LeakyReLU. With --precision bf16 on AMX the
residual's convolution goes into the norm that reads it (compiler/passes/norm_pointwise.c: its statistics from the
image's channel means and covariance), so the input's channels have means far from 0, different spreads and
correlations. A volume of 6 x 8 x 32. tests/amx_check.sh compares the code with `run --interp --precision bf16`.
Run: .venv/bin/python tests/data/make_res_block.py (outputs are committed)."""
import os

import numpy as np
from onnx import helper

from int8_gen import HERE, Gen

G = Gen(23)
lrelu = dict(alpha=0.01)
nodes = [
    G.conv("X", "w1", (16, 4, 3, 3, 3), "c1", bias=False),
    helper.make_node("InstanceNormalization", ["c1", G.b("g1", 16), G.b("h1", 16)], ["n1"]),
    helper.make_node("LeakyRelu", ["n1"], ["a1"], **lrelu),
    G.conv("a1", "w2", (16, 16, 3, 3, 3), "c2", bias=False),
    helper.make_node("InstanceNormalization", ["c2", G.b("g2", 16), G.b("h2", 16)], ["n2"]),
    G.conv("X", "w3", (16, 4, 1, 1, 1), "c3", bias=False, pads=(0,) * 6),
    helper.make_node("InstanceNormalization", ["c3", G.b("g3", 16), G.b("h3", 16)], ["n3"]),
    helper.make_node("Add", ["n2", "n3"], ["s"]),
    helper.make_node("LeakyRelu", ["s"], ["Y"], **lrelu),
]
shape = (1, 4, 6, 8, 32)
G.save("res_block_c4", nodes, shape, [("Y", (1, 16, 6, 8, 32))])
x = G.rng.standard_normal(shape).astype(np.float32)
x[:, 1] = 0.8 * x[:, 0] + 0.6 * x[:, 1]  # correlated with channel 0
for c, (scale, mean) in enumerate(((1, 5), (2, -3), (0.5, 1), (30, 100))):
    x[:, c] = x[:, c] * scale + mean
np.save(os.path.join(HERE, "res_block_c4.input.npy"), x)
