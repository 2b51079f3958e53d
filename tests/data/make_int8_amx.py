#!/usr/bin/env python3
"""Writes tests/data/int8_amx.onnx (+ .input.npy): convolutions that --precision int8 runs on AMX tiles (tdpbusd,
compiler/ops/conv_amx.c) on a target with AMX, each reading X fake-quantised: 24 -> 40 (24 channels padded to 32,
40 outputs in three blocks of 16), a concatenation 24 + 40 -> 32 (two X parts, one grid of 64 channels; the second
an InstanceNormalization's output, its FakeQuant folded into the norm), 32 -> 32 after a LeakyReLU (X's levels with
a zero point: lo < 0) with a residual sum, a 1x1x1 32 -> 100, and 100 -> 20 with asymmetric padding (two chunks of 64 channels, 20 outputs of a block of 32); a ConvTranspose
32 -> 16 with kernel = stride 2 (output Y2) and two MatMuls on the 210 voxels as tokens, 32 -> 48 with bias and ReLU
(210 rows: a partial block of 32) and 48 -> 100 (K padded to 64; output Z after a float32 head). The first
convolution (1 -> 24, the model's input in float32) and the heads take other kernels. A volume of 6 x 5 x 7.
tests/amx_check.sh compares the code (emulated where the CPU lacks AMX) with `run --interp --precision int8`.
Run: .venv/bin/python tests/data/make_int8_amx.py (outputs are committed)."""
from onnx import helper

from int8_gen import Gen

G = Gen(11)
nodes = [
    G.conv("X", "w0", (24, 1, 3, 3, 3), "c0"), helper.make_node("Relu", ["c0"], ["a"]),
    G.conv("a", "w1", (40, 24, 3, 3, 3), "c1"),
    helper.make_node("InstanceNormalization", ["c1", G.b("g1", 40), G.b("h1", 40)], ["n1"]),
    helper.make_node("Relu", ["n1"], ["bb"]),
    helper.make_node("Concat", ["a", "bb"], ["cat"], axis=1),
    G.conv("cat", "w2", (32, 64, 3, 3, 3), "c2", bias=False), helper.make_node("LeakyRelu", ["c2"], ["c"], alpha=0.1),
    G.conv("c", "w3", (32, 32, 3, 3, 3), "c3"), helper.make_node("Add", ["c3", "c"], ["d"]),
    helper.make_node("Relu", ["d"], ["r4"]),
    G.conv("r4", "w4", (100, 32, 1, 1, 1), "e", pads=(0,) * 6), helper.make_node("Relu", ["e"], ["r5"]),
    G.conv("r5", "w5", (20, 100, 3, 3, 3), "c5", pads=(1, 0, 2, 1, 2, 0)), helper.make_node("Relu", ["c5"], ["f"]),
    G.conv("f", "w6", (3, 20, 1, 1, 1), "Y", pads=(0,) * 6),
    # ConvTranspose 32 -> 16 with kernel = stride 2 (one product over the input voxels; X with a zero point), a head
    helper.make_node("ConvTranspose", ["c", G.w("w7", (32, 16, 2, 2, 2)), G.b("b7", 16)], ["t7"], strides=[2] * 3),
    helper.make_node("Relu", ["t7"], ["r7"]),
    G.conv("r7", "w8", (2, 16, 1, 1, 1), "Y2", pads=(0,) * 6),
    # tokens (UNETR's transformer reads its patches so): [1, 210, 32] x [32, 48] + bias, ReLU, x [48, 100] (K
    # padded to 64), ReLU, then a head [100, 40]
    helper.make_node("Reshape", ["c", "tok_shape"], ["cr"]),
    helper.make_node("Transpose", ["cr"], ["tok"], perm=[0, 2, 1]),
    helper.make_node("MatMul", ["tok", "m1t"], ["mm1"]),
    helper.make_node("Add", ["mm1", G.b("mb1", 48)], ["ma1"]), helper.make_node("Relu", ["ma1"], ["mr1"]),
    helper.make_node("MatMul", ["mr1", "m2t"], ["mm2"]), helper.make_node("Relu", ["mm2"], ["mr2"]),
    helper.make_node("MatMul", ["mr2", "m3t"], ["Z"]),
]
G.tokens("tok_shape", [1, 32, 210], (("m1t", (32, 48)), ("m2t", (48, 100)), ("m3t", (100, 40))))
G.save("int8_amx", nodes, [1, 1, 6, 5, 7], (("Y", [1, 3, 6, 5, 7]), ("Y2", [1, 2, 12, 10, 14]), ("Z", [1, 210, 40])))
