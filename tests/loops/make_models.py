#!/usr/bin/env python3
"""make_models.py OUTDIR: the small models of the loop-IR golden tests.

  relu_twice.onnx  Relu, Add of a bias, Relu again on [1,4,6]: the second
                   Relu shares the first one's body (signature lowering).
  relu_sizes.onnx  Relu on [1,4,16] and on [1,4,64,64]: the small loop runs
                   serially, the large one stays parallel (loop/schedule.c).
  conv_chain.onnx  three 1x1x3 convolutions of equal geometry and their own
                   weights on [1,2,1,1,8], a ReLU epilogue each: the second
                   shares the first's body (urc_lower_reuse) with weights of
                   its own; the last writes channels-first (a body of its own).
Deterministic: same bytes on every run (fixed seed, no timestamps)."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(path, nodes, inits, x_shape, y_name, y_shape):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info(y_name, TensorProto.FLOAT, y_shape)],
                          [numpy_helper.from_array(a, n) for n, a in inits])
    m = helper.make_model(g, producer_name="unetrc-tests", opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(7)
    b = rng.standard_normal(6).astype(np.float32)
    save(f"{out}/relu_twice.onnx",
         [helper.make_node("Relu", ["x"], ["r1"], name="relu1"),
          helper.make_node("Add", ["r1", "b"], ["a"], name="add"),
          helper.make_node("Relu", ["a"], ["y"], name="relu2")],
         [("b", b)], [1, 4, 6], "y", [1, 4, 6])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="small"),
                           helper.make_node("Relu", ["z"], ["w"], name="large")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 16]),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4, 64, 64])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 16]),
                           helper.make_tensor_value_info("w", TensorProto.FLOAT, [1, 4, 64, 64])])
    m = helper.make_model(g, producer_name="unetrc-tests", opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, f"{out}/relu_sizes.onnx")
    w1 = rng.standard_normal((2, 2, 1, 1, 3)).astype(np.float32)
    w2 = rng.standard_normal((2, 2, 1, 1, 3)).astype(np.float32)
    c1 = rng.standard_normal(2).astype(np.float32)
    c2 = rng.standard_normal(2).astype(np.float32)
    w3 = rng.standard_normal((2, 2, 1, 1, 3)).astype(np.float32)
    c3 = rng.standard_normal(2).astype(np.float32)
    conv = dict(kernel_shape=[1, 1, 3], pads=[0, 0, 1, 0, 0, 1])
    save(f"{out}/conv_chain.onnx",
         [helper.make_node("Conv", ["x", "w1", "c1"], ["h"], name="conv1", **conv),
          helper.make_node("Relu", ["h"], ["hr"], name="act1"),
          helper.make_node("Conv", ["hr", "w2", "c2"], ["h2"], name="conv2", **conv),
          helper.make_node("Relu", ["h2"], ["h2r"], name="act2"),
          helper.make_node("Conv", ["h2r", "w3", "c3"], ["h3"], name="conv3", **conv),
          helper.make_node("Relu", ["h3"], ["y"], name="act3")],
         [("w1", w1), ("c1", c1), ("w2", w2), ("c2", c2), ("w3", w3), ("c3", c3)], [1, 2, 1, 1, 8], "y",
         [1, 2, 1, 1, 8])


if __name__ == "__main__":
    main()
