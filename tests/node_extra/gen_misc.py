#!/usr/bin/env python3
"""Extra node tests (ONNX backend-test layout) for ops whose only Debian
tests use opsets below 11: elementwise math and logic, InstanceNormalization,
GroupNormalization (opset 18) and Gelu. References are computed with numpy
in float64 and stored as float32. Regenerate:
    python3 tests/node_extra/gen_misc.py"""
import math
import os

import numpy as np
from onnx import helper

import nodegen

OUT = nodegen.fresh_out(__file__, "misc")
rng = np.random.default_rng(11)


def save(name, node, inputs, outputs, opset=13):
    nodegen.save(OUT, name, [node], inputs, outputs, opset=opset)


def unary(name, op, fn, x, **attrs):
    y = fn(x.astype(np.float64)).astype(x.dtype)
    save(name, helper.make_node(op, ["x"], ["y"], **attrs), [("x", x)], [("y", y)])


x = rng.uniform(-3, 3, (3, 4, 5)).astype(np.float32)
u = rng.uniform(-0.95, 0.95, (3, 4, 5)).astype(np.float32)
g1 = rng.uniform(1.05, 4, (3, 4, 5)).astype(np.float32)
unary("acos", "Acos", np.arccos, u)
unary("asin", "Asin", np.arcsin, u)
unary("atan", "Atan", np.arctan, x)
unary("atanh", "Atanh", np.arctanh, u)
unary("acosh", "Acosh", np.arccosh, g1)
unary("asinh", "Asinh", np.arcsinh, x)
unary("sin", "Sin", np.sin, x)
unary("sinh", "Sinh", np.sinh, x)
unary("cosh", "Cosh", np.cosh, x)
unary("tan", "Tan", np.tan, u)
unary("softplus", "Softplus", lambda v: np.log1p(np.exp(v)), x)
unary("softplus_large", "Softplus", lambda v: np.logaddexp(0, v), (x * 40).astype(np.float32))
unary("softsign", "Softsign", lambda v: v / (1 + np.abs(v)), x)
unary("selu", "Selu", lambda v: 1.05070102214813232421875 * np.where(v > 0, v, 1.67326319217681884765625 * (np.exp(v) - 1)), x)
unary("selu_attrs", "Selu", lambda v: 3.0 * np.where(v > 0, v, 2.0 * (np.exp(v) - 1)), x, alpha=2.0, gamma=3.0)
unary("thresholdedrelu", "ThresholdedRelu", lambda v: np.where(v > 1.0, v, 0), x)
unary("thresholdedrelu_alpha", "ThresholdedRelu", lambda v: np.where(v > 0.5, v, 0), x, alpha=0.5)
unary("elu13", "Elu", lambda v: np.where(v >= 0, v, 0.7 * np.expm1(v)), x, alpha=0.7)
unary("leakyrelu13", "LeakyRelu", lambda v: np.where(v >= 0, v, 0.01 * v), x)
unary("hardsigmoid13", "HardSigmoid", lambda v: np.clip(0.3 * v + 0.4, 0, 1), x, alpha=0.3, beta=0.4)

xi = x.copy()
xi[0, 0, :3] = [np.inf, -np.inf, np.nan]
for neg, pos in ((1, 1), (1, 0), (0, 1), (0, 0)):
    y = np.isinf(xi) & (((xi > 0) & bool(pos)) | ((xi < 0) & bool(neg)))
    save(f"isinf_n{neg}p{pos}", helper.make_node("IsInf", ["x"], ["y"], detect_negative=neg, detect_positive=pos),
         [("x", xi)], [("y", y)])
save("isnan13", helper.make_node("IsNaN", ["x"], ["y"]), [("x", xi)], [("y", np.isnan(xi))])

a = rng.integers(0, 2, (3, 4, 5)).astype(np.bool_)
b = rng.integers(0, 2, (4, 5)).astype(np.bool_)
save("not13", helper.make_node("Not", ["x"], ["y"]), [("x", a)], [("y", ~a)])
for op, fn in (("And", np.logical_and), ("Or", np.logical_or), ("Xor", np.logical_xor)):
    save(op.lower() + "_bcast13", helper.make_node(op, ["a", "b"], ["y"]), [("a", a), ("b", b)], [("y", fn(a, b))])

# Gelu (default domain, opset 20 defines it; unetrc accepts it at any opset).
save("gelu_none", helper.make_node("Gelu", ["x"], ["y"]), [("x", x)],
     [("y", (0.5 * x.astype(np.float64) * (1 + np.vectorize(math.erf)(x.astype(np.float64) / math.sqrt(2)))).astype(np.float32))], opset=18)
xd = x.astype(np.float64)
save("gelu_tanh", helper.make_node("Gelu", ["x"], ["y"], approximate="tanh"), [("x", x)],
     [("y", (0.5 * xd * (1 + np.tanh(math.sqrt(2 / math.pi) * (xd + 0.044715 * xd ** 3)))).astype(np.float32))], opset=18)


def instnorm(v, s, bias, eps):
    axes = tuple(range(2, v.ndim))
    m = v.mean(axis=axes, keepdims=True)
    var = ((v - m) ** 2).mean(axis=axes, keepdims=True)
    sh = (1, -1) + (1,) * (v.ndim - 2)
    return (v - m) / np.sqrt(var + eps) * s.reshape(sh) + bias.reshape(sh)


for shape, eps in (((2, 3, 5), 1e-5), ((1, 4, 6, 7), 1e-5), ((2, 3, 4, 5, 6), 1e-3)):
    v = (rng.standard_normal(shape) * 2 + 3).astype(np.float32)
    s = rng.standard_normal(shape[1]).astype(np.float32)
    bias = rng.standard_normal(shape[1]).astype(np.float32)
    y = instnorm(v.astype(np.float64), s.astype(np.float64), bias.astype(np.float64), eps).astype(np.float32)
    save(f"instancenorm13_{len(shape)}d", helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], epsilon=eps),
         [("x", v), ("s", s), ("b", bias)], [("y", y)])


def groupnorm(v, s, bias, groups, eps):
    n, c = v.shape[:2]
    r = v.reshape(n, groups, -1)
    m = r.mean(axis=2, keepdims=True)
    var = ((r - m) ** 2).mean(axis=2, keepdims=True)
    z = ((r - m) / np.sqrt(var + eps)).reshape(n, groups, -1)
    z = z * s.reshape(1, groups, 1) + bias.reshape(1, groups, 1)
    return z.reshape(v.shape)


for shape, groups in (((2, 6, 5), 3), ((1, 4, 3, 3, 3), 2), ((2, 4, 7), 4)):
    v = (rng.standard_normal(shape) + 1).astype(np.float32)
    s = rng.standard_normal(groups).astype(np.float32)
    bias = rng.standard_normal(groups).astype(np.float32)
    y = groupnorm(v.astype(np.float64), s.astype(np.float64), bias.astype(np.float64), groups, 1e-5).astype(np.float32)
    save(f"groupnorm18_{len(shape)}d_g{groups}", helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"],
         num_groups=groups, epsilon=1e-5), [("x", v), ("s", s), ("b", bias)], [("y", y)], opset=18)
print("wrote", len(os.listdir(OUT)), "tests to", OUT)
