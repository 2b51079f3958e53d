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
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(5)
inits = []


def w(name, shape):
    a = (rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))).astype(np.float32)
    a[0] *= 4  # channels of different ranges: per-channel scales matter
    inits.append(numpy_helper.from_array(a, name))
    return name


def b(name, n):
    inits.append(numpy_helper.from_array(rng.standard_normal(n).astype(np.float32) * 0.1, name))
    return name


def conv(x, wname, shape, y, pads=(1,) * 6, strides=(1, 1, 1)):
    return helper.make_node("Conv", [x, w(wname, shape), b(wname + "_b", shape[0])], [y], pads=list(pads),
                            strides=list(strides))


nodes = [
    conv("X", "w0", (10, 1, 3, 3, 3), "c0"), helper.make_node("LeakyRelu", ["c0"], ["a"], alpha=0.2),
    conv("a", "w1", (18, 10, 3, 3, 3), "c1"), helper.make_node("Relu", ["c1"], ["r1"]),
    conv("r1", "w2", (16, 18, 3, 3, 3), "c2"), helper.make_node("Relu", ["c2"], ["r2"]),
    conv("r2", "w3", (2, 16, 1, 1, 1), "Y", pads=(0,) * 6),
    helper.make_node("ConvTranspose", ["r1", w("w4", (18, 6, 2, 2, 2)), b("b4", 6)], ["t4"], strides=[2] * 3),
    helper.make_node("Relu", ["t4"], ["r4"]),
    conv("r4", "w5", (2, 6, 1, 1, 1), "Y2", pads=(0,) * 6),
    helper.make_node("Reshape", ["r1", "tok_shape"], ["cr"]),
    helper.make_node("Transpose", ["cr"], ["tok"], perm=[0, 2, 1]),
    helper.make_node("MatMul", ["tok", "m1t"], ["mm1"]), helper.make_node("Relu", ["mm1"], ["mr1"]),
    helper.make_node("MatMul", ["mr1", "m2t"], ["mm2"]), helper.make_node("Relu", ["mm2"], ["mr2"]),
    helper.make_node("MatMul", ["mr2", "m3t"], ["Z"]),
    conv("r1", "w6", (12, 18, 3, 3, 3), "s6", pads=(1, 1, 1, 0, 1, 1), strides=(2, 2, 2)),
    helper.make_node("Relu", ["s6"], ["r6"]), conv("r6", "w7", (2, 12, 1, 1, 1), "Y3", pads=(0,) * 6),
    conv("r1", "w8", (16, 18, 2, 2, 2), "s8", pads=(0,) * 6, strides=(2, 2, 2)),
    helper.make_node("Relu", ["s8"], ["r8"]), conv("r8", "w9", (2, 16, 1, 1, 1), "Y4", pads=(0,) * 6),
]
inits.append(numpy_helper.from_array(np.array([1, 18, 120], np.int64), "tok_shape"))
for name, shape in (("m1t", (18, 13)), ("m2t", (13, 22)), ("m3t", (22, 5))):
    m = (rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32)
    m[:, 0] *= 4
    inits.append(numpy_helper.from_array(m, name))
g = helper.make_graph(nodes, "int8_odd", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 1, 5, 4, 6])],
                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2, 5, 4, 6]),
                       helper.make_tensor_value_info("Y2", TensorProto.FLOAT, [1, 2, 10, 8, 12]),
                       helper.make_tensor_value_info("Z", TensorProto.FLOAT, [1, 120, 5]),
                       helper.make_tensor_value_info("Y3", TensorProto.FLOAT, [1, 2, 2, 2, 3]),
                       helper.make_tensor_value_info("Y4", TensorProto.FLOAT, [1, 2, 2, 2, 3])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="unetrc-tests")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(HERE, "int8_odd.onnx"))
np.save(os.path.join(HERE, "int8_odd.input.npy"), rng.standard_normal((1, 1, 5, 4, 6)).astype(np.float32))
