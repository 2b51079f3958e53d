#!/usr/bin/env python3
"""Writes tests/data/matmul_tall.onnx (+ .input.npy): Relu(X W + B) with a tall X [1, 3001, 48] (576 KiB,
more than L2 on the targets of the tests) and a small W [48, 100] (19 KiB): ops/matmul.c puts its row
groups outside the column panels (tiling.rows_outer) so X is read once. tests/matmul_tall_test.sh.
Run: .venv/bin/python tests/data/make_matmul_tall.py (outputs are committed)."""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
M, K, N = 3001, 48, 100  # M not a multiple of 6, N not of 16: partial row and column tiles
rng = np.random.default_rng(21)
W = numpy_helper.from_array((rng.standard_normal((K, N)) / np.sqrt(K)).astype(np.float32), "W")
B = numpy_helper.from_array(rng.standard_normal(N).astype(np.float32), "B")
nodes = [helper.make_node("MatMul", ["X", "W"], ["t"]), helper.make_node("Add", ["t", "B"], ["u"]),
         helper.make_node("Relu", ["u"], ["Y"])]
g = helper.make_graph(nodes, "matmul_tall", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, M, K])],
                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, M, N])], [W, B])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="unetrc-tests")
m.ir_version = 8
onnx.save(m, os.path.join(HERE, "matmul_tall.onnx"))
np.save(os.path.join(HERE, "matmul_tall.input.npy"), rng.standard_normal((1, M, K)).astype(np.float32))
