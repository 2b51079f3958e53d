#!/usr/bin/env python3
"""Writes tests/data/int8_paths.onnx (+ .input.npy): the kernel paths --precision int8 scales weights in, each
against `run --interp --precision int8` (tests/precision_test.sh, mode int8, test precision_int8_paths):
Convs in channel blocks (1 -> 8; 8 -> 8, which Winograd takes, its transformed weights made from the int8 ones at
each call), a grouped Conv (the plain conv loop, per-output-channel scales
across groups), a grouped ConvTranspose k3 s2 (the plain ConvTranspose loop: output channel g * M/g + j of
W [C, M/g, k...]), a ConvTranspose k3 s2 (residue classes), a ConvTranspose k2 s2 (the row-GEMM kernel:
columns kw * M + m), a Conv 32 -> 2 (dot form: 32 channels fill 8 or 16 lanes), a Conv 2 -> 2 (voxel lanes), and a Gemm with transB (scales
per row of B) after a global pooling. Run: .venv/bin/python tests/data/make_int8_paths.py (outputs are committed)."""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(8)
inits = []


def w(name, shape):
    a = (rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))).astype(np.float32)
    a[0] *= 8  # channels of very different ranges: per-channel scales matter
    inits.append(numpy_helper.from_array(a, name))
    return name


def b(name, n):
    inits.append(numpy_helper.from_array(rng.standard_normal(n).astype(np.float32) * 0.1, name))
    return name


nodes = [
    helper.make_node("Conv", ["X", w("w0", (8, 1, 3, 3, 3)), b("b0", 8)], ["c0"], pads=[1] * 6),  # 1 -> 8
    helper.make_node("Relu", ["c0"], ["r0"]),
    helper.make_node("Conv", ["r0", w("w1", (8, 4, 3, 3, 3)), b("b1", 8)], ["c1"], pads=[1] * 6, group=2),
    helper.make_node("ConvTranspose", ["c1", w("w2", (8, 3, 3, 3, 3))], ["c2"], strides=[2] * 3, pads=[1] * 6,
                     output_padding=[1] * 3, group=2),  # 8 -> 6, grouped: 8^3
    helper.make_node("ConvTranspose", ["c2", w("w3", (6, 8, 3, 3, 3)), b("b3", 8)], ["c3"], strides=[2] * 3,
                     pads=[1] * 6, output_padding=[1] * 3),  # residue classes: 16^3
    helper.make_node("Conv", ["c3", w("w4", (8, 8, 3, 3, 3)), b("b4", 8)], ["c4"], pads=[1] * 6),
    helper.make_node("Relu", ["c4"], ["r4"]),
    helper.make_node("ConvTranspose", ["r4", w("w5", (8, 32, 2, 2, 2)), b("b5", 32)], ["c5"], strides=[2] * 3),
    helper.make_node("Conv", ["c5", w("w6", (2, 32, 3, 3, 3)), b("b6", 2)], ["c6"], pads=[1] * 6),  # dot form
    helper.make_node("Conv", ["c6", w("w7", (2, 2, 3, 3, 3)), b("b7", 2)], ["Y"], pads=[1] * 6),  # voxel lanes
    helper.make_node("GlobalAveragePool", ["c5"], ["p"]),
    helper.make_node("Flatten", ["p"], ["f"]),
    helper.make_node("Gemm", ["f", w("w8", (5, 32)), b("b8", 5)], ["Z"], transB=1),
]
g = helper.make_graph(nodes, "int8_paths", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 1, 4, 4, 4])],
                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2, 32, 32, 32]),
                       helper.make_tensor_value_info("Z", TensorProto.FLOAT, [1, 5])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="unetrc-tests")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(HERE, "int8_paths.onnx"))
np.save(os.path.join(HERE, "int8_paths.input.npy"), rng.standard_normal((1, 1, 4, 4, 4)).astype(np.float32))
