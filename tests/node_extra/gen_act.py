#!/usr/bin/env python3
"""Node tests (ONNX backend-test layout, opset 17/18) for the activations of
compiler/ir/act.def in fused epilogues: SiLU x*sigmoid(x) and MONAI's Swish
x*sigmoid(alpha x) (passes/act_patterns.c) after direct and Winograd
convolutions (and a grouped one: the naive kernel), matrix products and
Instance/GroupNorm, with residuals; Tanh and Gelu, which the table made
fusable; a standalone Swish over extreme values; and a Mul(x, Sigmoid(y))
that is no SiLU. References: numpy in float64, stored as float32. Each test also holds expect_ir.txt, a pattern
that tests/path_check.sh (act) looks for in --dump-ir (the fusion happened).
Regenerate:
    python3 tests/node_extra/gen_act.py"""
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

import nodegen

OUT = nodegen.fresh_out(__file__, "act")
rng = np.random.default_rng(17)


def R(*s, scale=1.0):
    return (rng.standard_normal(s) * scale).astype(np.float32)


def Q(*s, step=4):
    """Small dyadic numbers (x in 1/4, weights in 1/8 steps): convolutions and matrix products are exact in
    float32 whatever the summation order (Winograd's transforms too), so only the activation rounds."""
    return (rng.integers(-8, 9, s) / step).astype(np.float32)


def save(name, nodes, inputs, y, inits=(), expect="", opset=17, check=True):
    d = os.path.join(OUT, "test_" + name)
    gin = [helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape) for n, a in inputs]
    g = helper.make_graph(nodes, name, gin, [helper.make_tensor_value_info("y", TensorProto.FLOAT, y.shape)],
                          [numpy_helper.from_array(np.asarray(a, np.float32), n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    if check:  # (this onnx predates Gelu)
        onnx.checker.check_model(m)
    nodegen.write_case(d, m, inputs, [("y", y.astype(np.float32))])
    with open(os.path.join(d, "expect_ir.txt"), "w") as f:
        f.write(expect + "\n")


def sig(v):
    return 1 / (1 + np.exp(-v))


def swish_nodes(x, y, alpha=None, tag="_a"):
    """y = x * sigmoid(x) (alpha None: SiLU, as torch/MONAI memswish export it) or
    x * sigmoid(x * alpha) (MONAI Swish)."""
    if alpha is None:
        return [helper.make_node("Sigmoid", [x], [f"s{tag}"]), helper.make_node("Mul", [x, f"s{tag}"], [y])], []
    return ([helper.make_node("Mul", [x, f"al{tag}"], [f"u{tag}"]), helper.make_node("Sigmoid", [f"u{tag}"], [f"s{tag}"]),
             helper.make_node("Mul", [f"s{tag}", x], [y])], [(f"al{tag}", np.array(alpha, np.float32))])


def swish(v, alpha=1.0):
    return v * sig(alpha * v)


def conv_ref(x, w, b, pad):
    """float64 Conv, stride 1, symmetric padding pad (2D or 3D)."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    sp = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pad, pad)] * sp)
    K = w.shape[2:]
    out = [xp.shape[2 + a] - K[a] + 1 for a in range(sp)]
    y = np.zeros((x.shape[0], w.shape[0]) + tuple(out))
    for off in np.ndindex(*K):
        sl = tuple(slice(off[a], off[a] + out[a]) for a in range(sp))
        y += np.einsum("nc...,mc->nm...", xp[(slice(None), slice(None)) + sl], w[(slice(None), slice(None)) + off])
    return y + b.astype(np.float64).reshape((1, -1) + (1,) * sp)


def ident(i, o, sp):
    """1x1 MaxPool: keeps a convolution's output channels-last (the Winograd kernel needs that)."""
    return helper.make_node("MaxPool", [i], [o], kernel_shape=[1] * sp)


# Conv (direct kernel: 4 input channels) + SiLU
x, w, b = Q(1, 4, 5, 6, 13), Q(8, 4, 3, 3, 3, step=8), Q(8, step=8)
nodes, inits = swish_nodes("c", "y")
save("act_conv_silu_3d", [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1] * 6)] + nodes, [("x", x)],
     swish(conv_ref(x, w, b, 1)), [("w", w), ("b", b)] + inits, r"unetrc\.FusedConv .* act=swish\(1\)")
# Conv (Winograd 3D) + Swish(1.5) + residual
x, w, b, r = Q(1, 16, 4, 6, 17), Q(16, 16, 3, 3, 3, step=16), Q(16, step=8), 1 + np.abs(R(1, 16, 4, 6, 17))
nodes, inits = swish_nodes("c", "a", 1.5)
save("act_conv_wino_swish_res_3d",
     [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1] * 6)] + nodes +
     [ident("r", "r1", 3), helper.make_node("Add", ["a", "r1"], ["s"]), ident("s", "y", 3)],
     [("x", x), ("r", r)], swish(conv_ref(x, w, b, 1), 1.5) + r, [("w", w), ("b", b)] + inits,
     r"unetrc\.FusedConv .* act=swish\(1\.5\)")
# Conv (Winograd 2D) + SiLU
x, w, b = Q(2, 8, 9, 13), Q(12, 8, 3, 3, step=8), Q(12, step=8)
nodes, inits = swish_nodes("c", "a")
save("act_conv_wino_silu_2d", [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1] * 4)] + nodes + [ident("a", "y", 2)],
     [("x", x)], swish(conv_ref(x, w, b, 1)), [("w", w), ("b", b)] + inits, r"unetrc\.FusedConv .* act=swish\(1\)")
# Conv + Tanh (fusable through the table)
x, w, b = Q(1, 3, 6, 7, 5), Q(5, 3, 3, 3, 3, step=8), Q(5, step=8)
save("act_conv_tanh_3d", [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1] * 6), helper.make_node("Tanh", ["c"], ["y"])],
     [("x", x)], np.tanh(conv_ref(x, w, b, 1)), [("w", w), ("b", b)], r"unetrc\.FusedConv .* act=tanh")
# MatMul + bias + Swish(0.5) + residual; MatMul + SiLU
x, w, b, r = Q(2, 9, 33), Q(33, 40, step=8), Q(40, step=8), 1 + np.abs(R(2, 9, 40))
nodes, inits = swish_nodes("c", "a", 0.5)
save("act_matmul_swish_res", [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["c"])] + nodes +
     [helper.make_node("Add", ["r", "a"], ["y"])], [("x", x), ("r", r)],
     swish(x.astype(np.float64) @ w + b, 0.5) + r, [("w", w), ("b", b)] + inits, r"unetrc\.FusedMatMul .* act=swish\(0\.5\)")
x, w = Q(3, 7, 20), Q(20, 17, step=8)
nodes, inits = swish_nodes("c", "y")
save("act_matmul_silu", [helper.make_node("MatMul", ["x", "w"], ["c"])] + nodes, [("x", x)],
     swish(x.astype(np.float64) @ w), [("w", w)] + inits, r"unetrc\.FusedMatMul .* act=swish\(1\)")


def instnorm(v, s, bias, eps=1e-5):
    v = v.astype(np.float64)
    ax = tuple(range(2, v.ndim))
    m, var = v.mean(axis=ax, keepdims=True), v.var(axis=ax, keepdims=True)
    sh = (1, -1) + (1,) * (v.ndim - 2)
    return (v - m) / np.sqrt(var + eps) * s.reshape(sh) + bias.reshape(sh)


# InstanceNorm + Swish(1.5) + residual + SiLU (the MONAI UNet residual unit's epilogue, act and post_act)
x, s, b, r = R(1, 6, 5, 4, 7), R(6), R(6), 1 + np.abs(R(1, 6, 5, 4, 7))
n1, i1 = swish_nodes("n", "a", 1.5, "1")
n2, i2 = swish_nodes("t", "y", None, "2")
save("act_instnorm_swish_res_silu_3d",
     [helper.make_node("InstanceNormalization", ["x", "s", "b"], ["n"])] + n1 +
     [ident("r", "r1", 3), helper.make_node("Add", ["a", "r1"], ["t"])] + n2,
     [("x", x), ("r", r)], swish(swish(instnorm(x, s, b), 1.5) + r), [("s", s), ("b", b)] + i1 + i2,
     r"unetrc\.FusedNorm .* act=swish\(1\.5\) residual=add post_act=swish\(1\)")
# InstanceNorm + Gelu (opset 20 op, accepted at any opset; fusable through the table)
x, s, b = R(2, 3, 6, 5), R(3), R(3)
from math import erf  # noqa: E402
save("act_instnorm_gelu_2d", [helper.make_node("InstanceNormalization", ["x", "s", "b"], ["n"]), helper.make_node("Gelu", ["n"], ["y"])],
     [("x", x)], (lambda t: 0.5 * t * (1 + np.vectorize(erf)(t / np.sqrt(2))))(instnorm(x, s, b)), [("s", s), ("b", b)],
     r"unetrc\.FusedNorm .* act=gelu", check=False)
# GroupNorm (opset 18, per group) + SiLU
x, s, b = R(1, 8, 3, 4, 5), R(2), R(2)
v = x.astype(np.float64).reshape(1, 2, -1)
gn = ((v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + 1e-5))
gn = (gn * s.reshape(1, 2, 1) + b.reshape(1, 2, 1)).reshape(x.shape)
nodes, inits = swish_nodes("n", "y")
save("act_groupnorm_silu_3d", [helper.make_node("GroupNormalization", ["x", "s", "b"], ["n"], num_groups=2)] + nodes,
     [("x", x)], swish(gn), [("s", s), ("b", b)] + inits, r"unetrc\.FusedNorm .* act=swish\(1\)", opset=18, check=False)
# Standalone Swish(2) over extreme values (clamps of the vectorised exp, sigmoid's two branches)
x = np.concatenate([np.array([-200, -100, -88, -87.5, -44, -30, -1e-3, -0.0, 0, 1e-3, 30, 44, 87.5, 88, 100, 200],
                             np.float32), R(48, scale=8)]).reshape(4, 16)
nodes, inits = swish_nodes("x", "y", 2.0)
save("act_swish_alone", nodes, [("x", x)], swish(x.astype(np.float64), 2.0), inits, r"unetrc\.Act .* act=swish\(2\)")
# Mul(x, Sigmoid(z)) with z another tensor: no SiLU
x, z = R(3, 10), R(3, 10)
save("act_not_silu", [helper.make_node("Sigmoid", ["z"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])],
     [("x", x), ("z", z)], x * sig(z.astype(np.float64)), (), r"^n[0-9]+ Sigmoid ")
# Grouped Conv (the naive kernel) + SiLU
x, w, b = Q(1, 4, 6, 7), Q(6, 2, 3, 3, step=8), Q(6, step=8)
nodes, inits = swish_nodes("c", "y")
wg = np.concatenate([conv_ref(x[:, 2 * g:2 * g + 2], w[3 * g:3 * g + 3], b[3 * g:3 * g + 3], 1) for g in range(2)], axis=1)
save("act_conv_group_silu_2d", [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1] * 4, group=2)] + nodes,
     [("x", x)], swish(wg), [("w", w), ("b", b)] + inits, r"unetrc\.FusedConv .* act=swish\(1\)")
print("wrote", len(os.listdir(OUT)), "tests to", OUT)
