#!/usr/bin/env python3
"""Writes tests/data/convt_pairs.onnx (+ .input.npy): a ConvTranspose with kernel = stride (UNETR's and
BasicUNet's upsampling, the row-GEMM kernel), 16 -> 8 channels, 8^3 -> 16^3, then a Relu and a 3x3x3 Conv
8 -> 8 (a direct convolution below Winograd's pair threshold): with --precision bf16 on a CPU with
AVX512-BF16 both multiply bf16 pairs, which tests/precision_test.sh (mode pairs, test precision_pairs_convt)
checks against `run --interp --precision bf16`. Run: .venv/bin/python tests/data/make_convt_pairs.py
(outputs are committed)."""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(11)


def arr(name, shape, scale):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


inits = [arr("wt", (16, 8, 2, 2, 2), 0.25), arr("bt", (8,), 0.1), arr("wc", (8, 8, 3, 3, 3), 0.12),
         arr("bc", (8,), 0.1)]
nodes = [
    helper.make_node("ConvTranspose", ["X", "wt", "bt"], ["t"], kernel_shape=[2] * 3, strides=[2] * 3),
    helper.make_node("Relu", ["t"], ["r"]),
    helper.make_node("Conv", ["r", "wc", "bc"], ["Y"], pads=[1] * 6),
]
graph = helper.make_graph(nodes, "convt_pairs", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 16, 8, 8, 8])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 8, 16, 16, 16])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(HERE, "convt_pairs.onnx"))
np.save(os.path.join(HERE, "convt_pairs.input.npy"), rng.standard_normal((1, 16, 8, 8, 8)).astype(np.float32))
