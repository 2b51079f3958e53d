#!/usr/bin/env python3
"""Fixtures of If whose condition shape inference and constant folding decide
(as torch exports Python branches on sizes, e.g. MONAI 1.4's SwinUNETR): the
importer inlines the chosen branch, whose nodes read outer-scope values.
NAME.onnx, NAME.input.npy and onnxruntime's NAME.expected.npy for
if_shape_then and if_shape_else_nested; if_data_cond.onnx, an If on a
run-time value, which unetrc refuses (tests/cli_tests.sh runs them).
Regenerate (the venv of scripts/setup.sh):
    .venv/bin/python tests/data/make_if_fixtures.py"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper, TensorProto

OUT = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(5)
F = TensorProto.FLOAT
SHAPE = (2, 3, 8, 6)  # x's, and every branch output's


def const(name, a):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(a), name + "_t"))


def branch(name, nodes, outs):
    return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(o, F, SHAPE) for o in outs])


def dim_cond(prefix, x, axis, op, value):
    """Nodes computing op(shape(x)[axis], value) into PREFIX_cond."""
    return [
        helper.make_node("Shape", [x], [prefix + "_shape"]),
        const(prefix + "_axis", np.int64(axis)),
        helper.make_node("Gather", [prefix + "_shape", prefix + "_axis"], [prefix + "_dim"], axis=0),
        const(prefix + "_value", np.int64(value)),
        helper.make_node(op, [prefix + "_dim", prefix + "_value"], [prefix + "_cond"]),
    ]


def model(name, nodes, x, inits, opset=16):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", F, x.shape)],
                          [helper.make_tensor_value_info("y", F, SHAPE)],
                          [numpy_helper.from_array(a, n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def save(name, nodes, x, inits=()):
    m = model(name, nodes, x, inits)
    y = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    onnx.save(m, os.path.join(OUT, name + ".onnx"))
    np.save(os.path.join(OUT, name + ".input.npy"), x)
    np.save(os.path.join(OUT, name + ".expected.npy"), y)


x = rng.standard_normal(SHAPE).astype(np.float32)
w = rng.standard_normal((6,)).astype(np.float32)
# then: shape(x)[2] > 4 holds. The branch reads the outer x and the outer
# initializer w, has a Constant of its own, and two outputs.
then_g = branch("then", [const("t_two", np.float32(2)), helper.make_node("Mul", ["x", "w"], ["t_mul"]),
                         helper.make_node("Add", ["t_mul", "t_two"], ["t_out"]),
                         helper.make_node("Relu", ["x"], ["t_out2"])], ["t_out", "t_out2"])
else_g = branch("else", [helper.make_node("Sub", ["x", "w"], ["e_out"]), helper.make_node("Neg", ["x"], ["e_out2"])],
                ["e_out", "e_out2"])
save("if_shape_then", dim_cond("c", "x", 2, "Greater", 4) + [
    helper.make_node("If", ["c_cond"], ["r", "r2"], name="pad_if", then_branch=then_g, else_branch=else_g),
    helper.make_node("Mul", ["r", "r2"], ["y"])], x, [("w", w)])
# else, with an If nested in the else branch (deciding on the batch size).
inner_then = branch("inner_then", [helper.make_node("Sigmoid", ["x"], ["it_out"])], ["it_out"])
inner_else = branch("inner_else", [helper.make_node("Tanh", ["x"], ["ie_out"])], ["ie_out"])
outer_else = branch("outer_else", dim_cond("n", "x", 0, "Equal", 2) + [
    helper.make_node("If", ["n_cond"], ["inner"], name="inner_if", then_branch=inner_then, else_branch=inner_else),
    helper.make_node("Mul", ["inner", "w"], ["oe_out"])], ["oe_out"])
outer_then = branch("outer_then", [helper.make_node("Identity", ["x"], ["ot_out"])], ["ot_out"])
save("if_shape_else_nested", dim_cond("c", "x", 3, "Less", 6) + [
    helper.make_node("If", ["c_cond"], ["r"], name="size_if", then_branch=outer_then, else_branch=outer_else),
    helper.make_node("Add", ["r", "x"], ["y"])], x, [("w", w)])

# Refused: a condition computed from the input's values.
bad = model("if_data_cond", [
    helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
    const("zero", np.float32(0)),
    helper.make_node("Greater", ["s", "zero"], ["pos"]),
    helper.make_node("If", ["pos"], ["y"], name="sign_if", then_branch=outer_then, else_branch=inner_else)], x, ())
onnx.save(bad, os.path.join(OUT, "if_data_cond.onnx"))
