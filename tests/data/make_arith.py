#!/usr/bin/env python3
"""Writes tests/data/arith/: the models of tests/cli_tests.sh's integer
arithmetic checks (docs/input_checks.md, docs/ops.md "Integer semantics"):
constant integer divisors holding 0 (a compile error), INT64_MIN / -1 folded
at compile time and computed at run time (was SIGFPE in the compiler, the
interpreter and the generated code), Pad crops beyond the axis, SpaceToDepth
blocksize overflow, BitShift's direction, a Resize size beyond int64, an int64
ConstantOfShape value lowered exactly. The outputs are committed.
Run: /opt/venv/bin/python tests/data/make_arith.py"""
import os

import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "arith")
os.makedirs(OUT, exist_ok=True)
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1


def save(nodes, inputs, outputs, inits, name, opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="unetrc-tests")
    m.ir_version = 8
    onnx.save(m, os.path.join(OUT, name))


def i64(name, v):
    return numpy_helper.from_array(np.array(v, np.int64), name)


def vi(name, shape, t=TensorProto.INT64):
    return helper.make_tensor_value_info(name, t, shape)


x2, y2 = vi("x", [2]), vi("y", [2])
# -- constant divisors holding 0: rejected at compile time
save([helper.make_node("Div", ["x", "c"], ["y"], name="div")], [x2], [y2], [i64("c", [2, 0])], "div_zero.onnx")
save([helper.make_node("Mod", ["x", "c"], ["y"], name="mod", fmod=1)], [x2], [y2], [i64("c", [0])], "mod_zero.onnx")
# -- INT64_MIN / -1 folded (the compiler died of SIGFPE) and at run time, with a zero divisor
save([helper.make_node("Div", ["a", "b"], ["t"], name="div"), helper.make_node("Add", ["t", "x"], ["y"], name="add")],
     [x2], [y2], [i64("a", [I64_MIN, 7]), i64("b", [-1, -2])], "div_fold.onnx")
np.save(os.path.join(OUT, "zeros2.npy"), np.zeros(2, np.int64))
np.save(os.path.join(OUT, "div_fold.expected.npy"), np.array([I64_MIN, -3], np.int64))
x3, d3, y3 = vi("x", [3]), vi("d", [3]), vi("y", [3])
save([helper.make_node("Div", ["x", "d"], ["y"], name="div")], [x3, d3], [y3], [], "div_run.onnx")
save([helper.make_node("Mod", ["x", "d"], ["y"], name="mod")], [x3, d3], [y3], [], "mod_run.onnx")
np.save(os.path.join(OUT, "div_run.x.npy"), np.array([I64_MIN, 7, 5], np.int64))
np.save(os.path.join(OUT, "div_run.d.npy"), np.array([-1, -2, 0], np.int64))
np.save(os.path.join(OUT, "div_run.expected.npy"), np.array([I64_MIN, -3, 0], np.int64))
np.save(os.path.join(OUT, "mod_run.expected.npy"), np.array([0, -1, 0], np.int64))
# -- shape arithmetic on extreme values
F = TensorProto.FLOAT
x4 = vi("x", [1, 2, 4, 4], F)
yany = helper.make_tensor_value_info("y", F, None)
save([helper.make_node("Pad", ["x", "p"], ["y"], name="pad")], [x4], [yany],
     [i64("p", [0, 0, I64_MIN, 0, 0, 0, I64_MAX, 0])], "pad_crop.onnx")
save([helper.make_node("SpaceToDepth", ["x"], ["y"], name="s2d", blocksize=1 << 40)], [vi("x", [1, 2, 0, 0], F)],
     [yany], [], "s2d_huge.onnx")
save([helper.make_node("BitShift", ["x", "s"], ["y"], name="shift", direction="UP")],
     [vi("x", [2], TensorProto.UINT8)], [vi("y", [2], TensorProto.UINT8)],
     [numpy_helper.from_array(np.array([1, 2], np.uint8), "s")], "bitshift_direction.onnx")
# Resize keep_aspect_ratio_policy=not_smaller with a huge size: the output length was an out-of-range
# float -> int64 conversion; it saturates and the size cap rejects it
x1 = vi("x", [1, 1, 1000, 1], F)
save([helper.make_node("Resize", ["x", "", "", "sz"], ["y"], name="resize", keep_aspect_ratio_policy="not_smaller",
                       axes=[2, 3])], [x1], [yany], [i64("sz", [1, I64_MAX])], "resize_keep_huge.onnx", opset=18)
# ConstantOfShape too large to fold (64 MiB + 8 bytes) with an int64 value next to INT64_MAX: the generated
# store went through a double (2^63 - 2 rounded to 2^63, then converted out of range)
save([helper.make_node("ConstantOfShape", ["s"], ["y"], name="cos",
                       value=numpy_helper.from_array(np.array([I64_MAX - 1], np.int64)))],
     [], [vi("y", [(64 << 20) // 8 + 1])], [i64("s", [(64 << 20) // 8 + 1])], "cos_int64_big.onnx")
print("fixtures written to", OUT)
