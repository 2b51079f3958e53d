#!/usr/bin/env python3
"""Writes tests/data/int8_odd.onnx (+ .input.npy): the int8 integer kernels (AMX tiles, VNNI quads) with channel
counts that are no multiple of 4: convolutions 10 -> 18 (a quad of X's channels padded with zeros: 12; tiles: 16)
and 18 -> 16 (20; 32), a ConvTranspose 18 -> 6 with kernel = stride 2 (K 18: 20), and on the 120 voxels as tokens
MatMuls 18 -> 13 (K 18, 13 columns: a partial panel) and 13 -> 22 (K 13: 16), and two strided convolutions that
only the quads take, 18 -> 12 with kernel 3, stride 2 and padding only at the start of the first axis (its grid as
deep as X, padded: no shortcut) and 18 -> 16 with kernel = stride 2 (X's last slice unread), each reading X
fake-quantised. The
first convolution (1 -> 10, the model's input) and the heads (1x1x1 and the last MatMul) stay float32. A volume of
5 x 4 x 6. tests/amx_check.sh compares the code (emulated where the CPU lacks AMX or VNNI) with `run --interp
--precision int8`. Run: .venv/bin/python tests/data/make_int8_odd.py (outputs are committed)."""
from onnx import helper

from int8_gen import Gen

G = Gen(5)
nodes = [
    G.conv("X", "w0", (10, 1, 3, 3, 3), "c0"), helper.make_node("LeakyRelu", ["c0"], ["a"], alpha=0.2),
    G.conv("a", "w1", (18, 10, 3, 3, 3), "c1"), helper.make_node("Relu", ["c1"], ["r1"]),
    G.conv("r1", "w2", (16, 18, 3, 3, 3), "c2"), helper.make_node("Relu", ["c2"], ["r2"]),
    G.conv("r2", "w3", (2, 16, 1, 1, 1), "Y", pads=(0,) * 6),
    helper.make_node("ConvTranspose", ["r1", G.w("w4", (18, 6, 2, 2, 2)), G.b("b4", 6)], ["t4"], strides=[2] * 3),
    helper.make_node("Relu", ["t4"], ["r4"]),
    G.conv("r4", "w5", (2, 6, 1, 1, 1), "Y2", pads=(0,) * 6),
    helper.make_node("Reshape", ["r1", "tok_shape"], ["cr"]),
    helper.make_node("Transpose", ["cr"], ["tok"], perm=[0, 2, 1]),
    helper.make_node("MatMul", ["tok", "m1t"], ["mm1"]), helper.make_node("Relu", ["mm1"], ["mr1"]),
    helper.make_node("MatMul", ["mr1", "m2t"], ["mm2"]), helper.make_node("Relu", ["mm2"], ["mr2"]),
    helper.make_node("MatMul", ["mr2", "m3t"], ["Z"]),
    G.conv("r1", "w6", (12, 18, 3, 3, 3), "s6", pads=(1, 1, 1, 0, 1, 1), strides=(2, 2, 2)),
    helper.make_node("Relu", ["s6"], ["r6"]), G.conv("r6", "w7", (2, 12, 1, 1, 1), "Y3", pads=(0,) * 6),
    G.conv("r1", "w8", (16, 18, 2, 2, 2), "s8", pads=(0,) * 6, strides=(2, 2, 2)),
    helper.make_node("Relu", ["s8"], ["r8"]), G.conv("r8", "w9", (2, 16, 1, 1, 1), "Y4", pads=(0,) * 6),
]
G.tokens("tok_shape", [1, 18, 120], (("m1t", (18, 13)), ("m2t", (13, 22)), ("m3t", (22, 5))))
G.save("int8_odd", nodes, [1, 1, 5, 4, 6], (("Y", [1, 2, 5, 4, 6]), ("Y2", [1, 2, 10, 8, 12]), ("Z", [1, 120, 5]),
                                            ("Y3", [1, 2, 2, 2, 3]), ("Y4", [1, 2, 2, 2, 3])))
