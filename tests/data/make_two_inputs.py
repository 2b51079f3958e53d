#!/usr/bin/env python3
"""Writes tests/data/two_inputs.onnx: Y = X W + Z with two inputs X [1, 4, 8] and Z [1, 4, 6] and a constant
W [8, 6]: a model --precision int8 refuses to calibrate (--calibrate takes models with one input;
tests/precision_test.sh). Run: .venv/bin/python tests/data/make_two_inputs.py (the output is committed)."""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(5)
W = numpy_helper.from_array(rng.standard_normal((8, 6)).astype(np.float32), "W")
nodes = [helper.make_node("MatMul", ["X", "W"], ["t"]), helper.make_node("Add", ["t", "Z"], ["Y"])]
g = helper.make_graph(nodes, "two_inputs", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4, 8]),
                                            helper.make_tensor_value_info("Z", TensorProto.FLOAT, [1, 4, 6])],
                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4, 6])], [W])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="unetrc-tests")
m.ir_version = 8
onnx.save(m, os.path.join(HERE, "two_inputs.onnx"))
