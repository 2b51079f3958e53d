#!/usr/bin/env python3
"""Writes tests/data/layout_tokens.onnx (+ .input.npy): the token-tensor shapes of
UNETR++/ViT blocks as the layout pass sees them (tests/layout_test.sh):
  - a channels-last Conv output viewed as tokens: Transpose to channels-first ->
    Reshape [B, C, N] -> Add(positional constant) -> Transpose [0, 2, 1]
    (cancels to a Reshape: sink_through_reshape);
  - a q/k/v split: Reshape [B, N, 3, H, D] -> Transpose [2, 0, 3, 1, 4] ->
    Gather(0 | 1 | 2) -> Transpose [0, 1, 3, 2] (the big Transpose goes:
    sink_through_gather);
  - L2 normalisation q / Expand(Clip(ReduceL2(q))) (the Expand goes: drop_expand);
  - a residual read by two convolutions' Adds (sinks through both Adds although
    its Transpose is shared).
Run: .venv/bin/python tests/data/make_layout_tokens.py (outputs are committed)."""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
F = TensorProto.FLOAT
rng = np.random.default_rng(11)
B, C, S, H, D = 1, 4, 4, 2, 4  # 4 channels, 4^3 voxels, 2 heads of 4
N = S * S * S


def init(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


inits = [
    init("w1", (rng.standard_normal((C, C, 3, 3, 3)) * 0.2).astype(np.float32)),
    init("w2", (rng.standard_normal((C, C, 3, 3, 3)) * 0.2).astype(np.float32)),
    init("w3", (rng.standard_normal((C, C, 1, 1, 1)) * 0.5).astype(np.float32)),
    init("pos", (rng.standard_normal((1, C, N)) * 0.1).astype(np.float32)),
    init("wqkv", (rng.standard_normal((C, 3 * H * D)) * 0.5).astype(np.float32)),
    init("s_cn", np.array([B, C, N], np.int64)),
    init("s_qkv", np.array([B, N, 3, H, D], np.int64)),
    init("s_vol", np.array([B, S, S, S, C], np.int64)),
    init("flat", np.array([-1], np.int64)),
    init("i0", np.array(0, np.int64)),
    init("i1", np.array(1, np.int64)),
    init("i2", np.array(2, np.int64)),
    init("eps", np.array(1e-12, np.float32)),
    init("qshape", np.array([B, H, D, N], np.int64)),
]
nodes = [
    helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1] * 6, name="conv1"),
    # tokens of c1 with a positional constant
    helper.make_node("Reshape", ["c1", "s_cn"], ["t0"], name="tok_reshape"),
    helper.make_node("Add", ["t0", "pos"], ["t1"], name="tok_pos"),
    helper.make_node("Transpose", ["t1"], ["tok"], perm=[0, 2, 1], name="tok_T"),
    # q/k/v split
    helper.make_node("MatMul", ["tok", "wqkv"], ["qkv0"], name="qkv"),
    helper.make_node("Reshape", ["qkv0", "s_qkv"], ["qkv1"], name="qkv_reshape"),
    helper.make_node("Transpose", ["qkv1"], ["qkv"], perm=[2, 0, 3, 1, 4], name="qkv_T"),
    helper.make_node("Gather", ["qkv", "i0"], ["q"], axis=0, name="g_q"),
    helper.make_node("Gather", ["qkv", "i1"], ["k"], axis=0, name="g_k"),
    helper.make_node("Gather", ["qkv", "i2"], ["v"], axis=0, name="g_v"),
    helper.make_node("Transpose", ["q"], ["qT"], perm=[0, 1, 3, 2], name="qT"),
    # L2 normalisation of q along the tokens
    helper.make_node("ReduceL2", ["qT"], ["qn"], axes=[3], keepdims=1, name="l2"),
    helper.make_node("Clip", ["qn", "eps"], ["qc"], name="clip"),
    helper.make_node("Expand", ["qc", "qshape"], ["qe"], name="expand"),
    helper.make_node("Div", ["qT", "qe"], ["qd"], name="div"),
    helper.make_node("Add", ["k", "v"], ["kv"], name="kv"),
    # tokens back to a volume; a residual read by two Adds
    helper.make_node("Reshape", ["tok", "s_vol"], ["vol0"], name="vol_reshape"),
    helper.make_node("Transpose", ["vol0"], ["vol"], perm=[0, 4, 1, 2, 3], name="vol_T"),
    helper.make_node("Conv", ["vol", "w2"], ["c2"], pads=[1] * 6, name="conv2"),
    helper.make_node("Add", ["c2", "vol"], ["r1"], name="res1"),
    helper.make_node("LeakyRelu", ["r1"], ["r2"], alpha=0.01, name="lrelu"),
    helper.make_node("Conv", ["r2", "w3"], ["c3"], name="conv3"),
    helper.make_node("Add", ["c3", "vol"], ["r3"], name="res2"),
    helper.make_node("Reshape", ["qd", "flat"], ["f1"], name="f1"),
    helper.make_node("Reshape", ["kv", "flat"], ["f2"], name="f2"),
    helper.make_node("Reshape", ["r3", "flat"], ["f3"], name="f3"),
    helper.make_node("Concat", ["f1", "f2", "f3"], ["y"], axis=0, name="out"),
]
total = B * H * D * N + B * H * N * D + B * C * N
g = helper.make_graph(nodes, "layout_tokens", [helper.make_tensor_value_info("x", F, [B, C, S, S, S])],
                      [helper.make_tensor_value_info("y", F, [total])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="unetrc-tests")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(HERE, "layout_tokens.onnx"))
np.save(os.path.join(HERE, "layout_tokens.input.npy"), rng.standard_normal((B, C, S, S, S)).astype(np.float32))
