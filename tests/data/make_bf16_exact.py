#!/usr/bin/env python3
"""Writes tests/data/bf16_exact.onnx (+ .input*.npy): single products, each reading the model's inputs and writing an
output of its own, that --precision bf16 --bf16-exact can carry near float32 on AMX tiles (passes/precision.c
urc_precision_bf16_exact), with weights of a seeded generator (not dyadic: their low bf16 parts are not zero): a
16 -> 16 convolution of X (one X part), 1 -> 16 of the image I (its high and low parts in the grid: lo2), 32 -> 16 of
X and ReLU(X) concatenated (two X parts), a 1x1x1 convolution of the bf16 outputs of two ConvTransposes 16 -> 16 with
kernel = stride 2 (its A tiles read from the two parts in place), the tokens T times [16, 64], and two patch
embeddings (kernel = stride 4 of X to 48 channels, 8 of I to 64: conv_patch.c) (each convolution followed by a MaxPool of kernel 1: they run
channels-last, as in a network). Volumes of 8^3; 27 tokens. tests/amx_check.sh
compares the code with `run --interp` for each --bf16-exact. Run: .venv/bin/python tests/data/make_bf16_exact.py
(outputs are committed)."""
import os

import numpy as np
import onnx
from onnx import helper, TensorProto

from int8_gen import Gen, HERE

G = Gen(23)

def ident(x, y):  # (a MaxPool of kernel 1: the convolutions channels-last, as in a network)
    return helper.make_node("MaxPool", [x], [y], kernel_shape=[1] * 3)


nodes = [
    G.conv("X", "w1", (16, 16, 3, 3, 3), "c1"), ident("c1", "Y1"),
    G.conv("I", "w2", (16, 1, 3, 3, 3), "c2"), ident("c2", "Y2"),
    helper.make_node("Relu", ["X"], ["R"]), helper.make_node("Concat", ["X", "R"], ["cat"], axis=1),
    G.conv("cat", "w3", (16, 32, 3, 3, 3), "c3"), ident("c3", "Y3"),
    helper.make_node("ConvTranspose", ["X", G.w("w5", (16, 16, 2, 2, 2)), G.b("b5", 16)], ["t5"], strides=[2] * 3),
    helper.make_node("ConvTranspose", ["X", G.w("w6", (16, 16, 2, 2, 2))], ["t6"], strides=[2] * 3),
    helper.make_node("Concat", ["t5", "t6"], ["cat2"], axis=1),
    G.conv("cat2", "w4", (16, 32, 1, 1, 1), "c4", pads=(0,) * 6), ident("c4", "Y4"),
    helper.make_node("MatMul", ["T", G.w("m6", (16, 64))], ["Z"]),
    # patch embeddings (kernel = stride: one tile product over the patches, conv_patch.c): 16 channels in 4^3 patches
    # to 48 (K = 1024, 8 tokens, a partial panel) and the image in one 8^3 patch to 64 (K = 512, 1 token)
    G.conv("X", "w7", (48, 16, 4, 4, 4), "c7", pads=(0,) * 6, strides=(4,) * 3), ident("c7", "Y5"),
    G.conv("I", "w8", (64, 1, 8, 8, 8), "c8", pads=(0,) * 6, strides=(8,) * 3), ident("c8", "Y6"),
]
ins = (("X", [1, 16, 8, 8, 8]), ("I", [1, 1, 8, 8, 8]), ("T", [1, 27, 16]))
outs = (("Y1", [1, 16, 8, 8, 8]), ("Y2", [1, 16, 8, 8, 8]), ("Y3", [1, 16, 8, 8, 8]), ("Y4", [1, 16, 16, 16, 16]),
        ("Z", [1, 27, 64]), ("Y5", [1, 48, 2, 2, 2]), ("Y6", [1, 64, 1, 1, 1]))
g = helper.make_graph(nodes, "bf16_exact", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in ins],
                      [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outs], G.inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="unetrc-tests")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(HERE, "bf16_exact.onnx"))
for i, (n, s) in enumerate(ins):
    np.save(os.path.join(HERE, "bf16_exact.input%d.npy" % i), G.rng.standard_normal(s).astype(np.float32))
