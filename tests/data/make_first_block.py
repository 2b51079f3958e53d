#!/usr/bin/env python3
"""Writes tests/data/first_block_3d.onnx and first_block_2d.onnx (+ .input.npy): a network's first block on a
one-channel image as BasicUNet and UNETR have it: a 'same' 3x3(x3) convolution 1 -> C, InstanceNorm, LeakyReLU, then a
convolution C -> 16, its InstanceNorm, ReLU and a 1x1 head to 3 channels. With --precision bf16 on AMX the second convolution's grid fill makes the
first one's values again from the image (compiler/passes/norm_into_conv.c conv_into_fill; the first convolution then
stores its statistics only). 3D: two samples of 6 x 10 x 12, C = 32 with a bias (4 positions a step), the image's
values around 300 (a scan's raw intensities); 2D: 12 x 20, C = 16 without a bias (4 positions a step). tests/amx_check.sh
compares the code with `run --interp --precision bf16`.
Run: .venv/bin/python tests/data/make_first_block.py (outputs are committed)."""
import os

import numpy as np
from onnx import helper

from int8_gen import HERE, Gen


def block(name, shape, c, bias, seed, scale, mean):
    G = Gen(seed)
    nsp = len(shape) - 2
    pads = (1,) * (2 * nsp)
    k = (3,) * nsp
    nodes = [
        G.conv("X", "w1", (c, 1) + k, "c1", bias=bias, pads=pads),
        helper.make_node("InstanceNormalization", ["c1", G.b("g1", c), G.b("h1", c)], ["n1"]),
        helper.make_node("LeakyRelu", ["n1"], ["a1"], alpha=0.1),
        G.conv("a1", "w2", (16, c) + k, "c2", bias=False, pads=pads),
        helper.make_node("InstanceNormalization", ["c2", G.b("g2", 16), G.b("h2", 16)], ["n2"]),
        helper.make_node("Relu", ["n2"], ["a2"]),
        G.conv("a2", "w3", (3, 16) + (1,) * nsp, "Y", bias=True, pads=(0,) * (2 * nsp)),
    ]
    G.save(name, nodes, shape, [("Y", (shape[0], 3) + shape[2:])])
    x = G.rng.standard_normal(shape).astype(np.float32) * scale + mean
    np.save(os.path.join(HERE, name + ".input.npy"), x.astype(np.float32))


block("first_block_3d", (2, 1, 6, 10, 12), 32, True, 31, 80.0, 300.0)
block("first_block_2d", (1, 1, 12, 20), 16, False, 37, 5.0, 2.0)
