#!/usr/bin/env python3
"""make_graph.py SHAPE NODES OUT.onnx [--input X.npy] [--reference Y.npy]

Writes a large synthetic ONNX graph of about NODES nodes, to check that
every compiler stage is near-linear in node count, width and depth
(tests/scale/scale_test.py). Shapes:

  wide   NODES/2 independent one-node branches reading the input x
         (Mul by its own scale, 3x3 Conv / MatMul with their own weights, Add of
         its own bias, Relu), all joined by a balanced binary Add tree built
         after every branch: NODES/2 values live at once, width NODES/2.
  deep   one chain of NODES nodes (Mul, Add, Tanh, Reshape, MatMul, Reshape,
         Conv, ...), every constant its own initializer: depth NODES.
  live   a chain y[i+1] = Tanh(y[i] * c[i]) whose every y[i] is then summed
         in reverse order: values with long overlapping lifetimes.
  views  a chain of Reshapes (three of every four nodes) with a Relu or an
         Add of its own bias between them: long view groups in the memory plan.
  concat groups of four branches (Mul, Conv, MatMul, Add) joined by Concat
         along channels and a 1x1 Conv back to two channels, then a Sum
         tree: concatenations read in parts, convolutions with epilogues.
  mixed  a chain of blocks, each of one kind in turn: 3x3 Conv + InstanceNorm +
         LeakyRelu + residual; attention with a decomposed LayerNorm, erf
         GELU and MatMul + bias; four branches into Concat and a 1x1 Conv; a
         zero Pad, a 3x3 Conv read by two elementwise ops and Reshapes. Every
         fusion and canonicalisation pass rewrites something in each block.

Everything is float32 with x: [1, 2, 4, 4]. With --input/--reference the
script also writes a deterministic input and the output computed by numpy
(float64, each result rounded to float32 as the compiler stores it, the
same operations in the same order) for a correctness check.
"""
import argparse
import math
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SHAPE = [1, 2, 4, 4]
FLAT = [1, 2, 16]


class Builder:
    """Nodes, initializers and a numpy evaluation of them as they are added."""

    def __init__(self, x_value):
        self.nodes = []
        self.inits = []
        self.env = {"x": x_value}  # name -> float64 value (None when not evaluating)
        self.eval = x_value is not None
        self.count = 0

    def name(self, prefix):
        self.count += 1
        return "%s%d" % (prefix, self.count)

    def const(self, array):
        n = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32), n))
        if self.eval:
            self.env[n] = np.asarray(array, dtype=np.float32).astype(np.float64)
        return n

    def shape_const(self, dims):
        n = self.name("s")
        self.inits.append(numpy_helper.from_array(np.asarray(dims, dtype=np.int64), n))
        return n

    def op(self, op_type, inputs, fn, **attrs):
        y = self.name("v")
        self.nodes.append(helper.make_node(op_type, inputs, [y], name=self.name("n"), **attrs))
        if self.eval:  # each result rounded to float32, as the compiler stores it
            self.env[y] = np.asarray(fn(*[self.env.get(i) for i in inputs])).astype(np.float32).astype(np.float64)
        return y

    # One op each; the numpy lambdas mirror the ONNX semantics used here.
    def mul(self, a, b):
        return self.op("Mul", [a, b], lambda p, q: p * q)

    def add(self, a, b):
        return self.op("Add", [a, b], lambda p, q: p + q)

    def relu(self, a):
        return self.op("Relu", [a], lambda p: np.maximum(p, 0))

    def tanh(self, a):
        return self.op("Tanh", [a], np.tanh)

    def matmul(self, a, w):
        return self.op("MatMul", [a, w], lambda p, q: p @ q)

    def reshape(self, a, dims):
        return self.op("Reshape", [a, self.shape_const(dims)], lambda p, s: p.reshape(dims))

    def conv1x1(self, a, w):  # w: [M, C, 1, 1]
        return self.op("Conv", [a, w], lambda p, q: np.einsum("nchw,mc->nmhw", p, q[:, :, 0, 0]))

    def conv3x3(self, a, w):  # w: [M, C, 3, 3], pads 1
        def ref(p, q):
            pp = np.pad(p, ((0, 0), (0, 0), (1, 1), (1, 1)))
            out = np.zeros((p.shape[0], q.shape[0], p.shape[2], p.shape[3]))
            for dy in range(3):
                for dx in range(3):
                    out += np.einsum("nchw,mc->nmhw", pp[:, :, dy:dy + p.shape[2], dx:dx + p.shape[3]], q[:, :, dy, dx])
            return out
        return self.op("Conv", [a, w], ref, pads=[1, 1, 1, 1])

    def concat(self, items):
        return self.op("Concat", items, lambda *p: np.concatenate(p, axis=1), axis=1)

    def sum_tree(self, items):
        """Balanced binary Add tree, level by level (every item is live until
        its level is reached)."""
        while len(items) > 1:
            nxt = [self.add(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
            if len(items) % 2:
                nxt.append(items[-1])
            items = nxt
        return items[0]


def branch(b, rng, k, x):
    """One node reading x, of kind k % 5, with its own constant."""
    k %= 5
    if k == 0:
        return b.mul(x, b.const(rng.uniform(0.5, 1.5, [1, 2, 1, 1])))
    if k == 1:
        return b.conv3x3(x, b.const(rng.uniform(-0.3, 0.3, [2, 2, 3, 3])))
    if k == 2:
        return b.matmul(x, b.const(rng.uniform(-0.5, 0.5, [4, 4])))
    if k == 3:
        return b.add(x, b.const(rng.uniform(-1, 1, SHAPE)))
    return b.relu(x)


def make_wide(b, rng, nodes):
    outs = [branch(b, rng, i, "x") for i in range(max(2, nodes // 2))]
    return b.sum_tree(outs)


def make_deep(b, rng, nodes):
    y = "x"
    steps = [
        lambda y: b.mul(y, b.const(rng.uniform(0.8, 1.2, [1, 2, 1, 1]))),
        lambda y: b.add(y, b.const(rng.uniform(-0.1, 0.1, SHAPE))),
        lambda y: b.tanh(y),
        lambda y: b.reshape(y, FLAT),
        lambda y: b.matmul(y, b.const(np.eye(16) + rng.uniform(-0.05, 0.05, [16, 16]))),
        lambda y: b.reshape(y, SHAPE),
        lambda y: b.conv1x1(y, b.const(np.eye(2).reshape(2, 2, 1, 1) + rng.uniform(-0.1, 0.1, [2, 2, 1, 1]))),
        lambda y: b.tanh(y),
    ]
    for i in range(nodes):
        y = steps[i % len(steps)](y)
    if nodes % len(steps) in (4, 5):  # the chain ended flat
        y = b.reshape(y, SHAPE)
    return y


def make_live(b, rng, nodes):
    ys, y = [], "x"
    for _ in range(max(2, nodes // 3)):
        y = b.tanh(b.mul(y, b.const(rng.uniform(0.5, 1.5, [1, 2, 1, 1]))))
        ys.append(y)
    s = ys[-1]
    for y in reversed(ys[:-1]):
        s = b.add(s, y)
    return s


def make_views(b, rng, nodes):
    y = "x"
    shapes = [[1, 32], [2, 16], SHAPE]
    for i in range(nodes):
        if i % 4 < 3:
            y = b.reshape(y, shapes[i % 4])
        elif i % 8 == 3:
            y = b.relu(y)
        else:
            y = b.add(y, b.const(rng.uniform(-0.1, 0.1, SHAPE)))
    return b.reshape(y, SHAPE)


def make_concat(b, rng, nodes):
    outs = []
    for _ in range(max(2, nodes // 7)):
        parts = [branch(b, rng, k, "x") for k in range(4)]
        c = b.concat(parts)
        outs.append(b.conv1x1(c, b.const(rng.uniform(-0.5, 0.5, [2, 8, 1, 1]))))
    return b.sum_tree(outs)


def erf(a):
    return np.vectorize(math.erf)(a)


def instance_norm(p, scale, bias, eps=1e-5):
    mean = p.mean(axis=(2, 3), keepdims=True)
    var = ((p - mean) ** 2).mean(axis=(2, 3), keepdims=True)
    return (p - mean) / np.sqrt(var + eps) * scale.reshape(1, -1, 1, 1) + bias.reshape(1, -1, 1, 1)


def softmax(p):
    e = np.exp(p - p.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def block_conv(b, rng, y):
    """Conv -> InstanceNorm -> LeakyRelu -> + y (fusenorm, fuseconv, layout)."""
    c = b.conv3x3(y, b.const(rng.uniform(-0.3, 0.3, [2, 2, 3, 3])))
    s, t = b.const(rng.uniform(0.05, 0.2, [2])), b.const(rng.uniform(-0.5, 0.5, [2]))
    n = b.op("InstanceNormalization", [c, s, t], instance_norm, epsilon=1e-5)
    a = b.op("LeakyRelu", [n], lambda p: np.where(p < 0, 0.1 * p, p), alpha=0.1)
    return b.mul(b.add(a, y), b.const(np.full([1], 0.5)))


def block_attention(b, rng, y):
    """Attention over 2 tokens of 16, a decomposed LayerNorm, the exporter's
    erf GELU, a MatMul with bias and a residual (attention, norms, gelu, fuse)."""
    t = b.reshape(y, FLAT)
    q = b.matmul(t, b.const(rng.uniform(-0.3, 0.3, [16, 16])))
    k = b.matmul(t, b.const(rng.uniform(-0.3, 0.3, [16, 16])))
    kt = b.op("Transpose", [k], lambda p: p.transpose(0, 2, 1), perm=[0, 2, 1])
    sc = b.mul(b.matmul(q, kt), b.const(np.full([1], 0.25)))
    pr = b.op("Softmax", [sc], softmax, axis=-1)
    o = b.matmul(pr, t)
    mean = b.op("ReduceMean", [o], lambda p: p.mean(axis=-1, keepdims=True), axes=[-1], keepdims=1)
    d = b.op("Sub", [o, mean], lambda p, q: p - q)
    var = b.op("ReduceMean", [b.op("Pow", [d, b.const(np.full([1], 2.0))], lambda p, q: p ** q)],
               lambda p: p.mean(axis=-1, keepdims=True), axes=[-1], keepdims=1)
    den = b.op("Sqrt", [b.add(var, b.const(np.full([1], 1e-5)))], np.sqrt)
    n = b.add(b.mul(b.op("Div", [d, den], lambda p, q: p / q), b.const(rng.uniform(0.05, 0.2, [16]))),
              b.const(rng.uniform(-0.2, 0.2, [16])))
    e = b.op("Erf", [b.op("Div", [n, b.const(np.full([1], 1.4142135))], lambda p, q: p / q)], erf)
    g = b.mul(b.mul(n, b.add(e, b.const(np.full([1], 1.0)))), b.const(np.full([1], 0.5)))
    m = b.add(b.matmul(g, b.const(rng.uniform(-0.3, 0.3, [16, 16]))), b.const(rng.uniform(-0.1, 0.1, [16])))
    return b.add(b.mul(b.reshape(m, SHAPE), b.const(np.full([1], 0.5))), b.mul(y, b.const(np.full([1], 0.5))))


def block_concat(b, rng, y):
    """Four branches joined by Concat into a 1x1 Conv (fuseconv reads it in parts)."""
    parts = [branch(b, rng, k, y) for k in range(4)]
    c = b.concat(parts)
    return b.op("Tanh", [b.conv1x1(c, b.const(rng.uniform(-0.3, 0.3, [2, 8, 1, 1])))], np.tanh)


def block_shared(b, rng, y):
    """A zero Pad (dropped), a Conv read by two elementwise ops (its layout
    Transpose copied for each), views."""
    pads = b.shape_const([0] * 8)
    p = b.op("Pad", [y, pads], lambda p, q: p)
    c = b.conv3x3(p, b.const(rng.uniform(-0.3, 0.3, [2, 2, 3, 3])))
    r = b.relu(c)
    m = b.mul(c, b.const(np.full([1], -0.5)))
    v = b.reshape(b.reshape(b.add(r, m), [1, 32]), SHAPE)
    return b.op("Tanh", [v], np.tanh)


def make_mixed(b, rng, nodes):
    """A chain of blocks of every kind above: depth and every pass at once.
    Each step is y <- (y + tanh(block(y / 4))) / 2 with small norm scales,
    a contraction, so that float32 rounding does not grow along the chain."""
    y = "x"
    blocks = [block_conv, block_attention, block_concat, block_shared]
    half = b.const(np.full([1], 0.5))
    i = 0
    while len(b.nodes) < nodes:
        f = blocks[i % len(blocks)](b, rng, b.mul(y, b.const(np.full([1], 0.25))))
        y = b.mul(b.add(y, b.tanh(f)), half)
        i += 1
    return y


SHAPES = {"wide": make_wide, "deep": make_deep, "live": make_live, "views": make_views, "concat": make_concat,
          "mixed": make_mixed}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("nodes", type=int)
    ap.add_argument("out")
    ap.add_argument("--input", help="write a deterministic input here")
    ap.add_argument("--reference", help="write numpy's output here (needs --input)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    x = rng.uniform(-1, 1, SHAPE).astype(np.float32)
    b = Builder(x.astype(np.float64) if a.reference else None)
    y = SHAPES[a.shape](b, rng, a.nodes)
    y_shape = list(b.env[y].shape) if b.eval else None
    g = helper.make_graph(
        b.nodes, "%s_%d" % (a.shape, a.nodes),
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, y_shape)],
        initializer=b.inits)
    m = helper.make_model(g, producer_name="unetrc-scale", opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, a.out)
    if a.input:
        np.save(a.input, x)
    if a.reference:
        np.save(a.reference, b.env[y].astype(np.float32))
    print("%s: %d nodes, %d initializers" % (a.out, len(b.nodes), len(b.inits)), file=sys.stderr)


if __name__ == "__main__":
    main()
