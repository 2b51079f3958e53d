#!/usr/bin/env python3
"""Small ONNX models for the norm passes (norm_patterns, fuse_norm) and norm
kernels, with float64 numpy references.

  gen_norm_models.py OUT_DIR [--big] [--cl]

Writes NAME.onnx, NAME.input*.npy and NAME.expected.npy per model. --big
makes the 96^3 benchmark shapes (not committed); --cl gives the 5-D models
channels-last inputs and output (Transposes the layout pass cancels), to
time the norm kernels alone. Models:
  ln_decomp       opset-13 decomposed LayerNorm (ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add)
  ln_decomp_plain the same without the affine Mul/Add
  gn_emul         torch's GroupNorm export below opset 18 (Reshape/InstanceNorm/Reshape/Mul/Add), as UNETR++
  in_lrelu        InstanceNorm -> LeakyRelu
  in_res2         LeakyRelu(InstanceNorm(a) + InstanceNorm(b))   (MONAI UnetResBlock)
  in_res1         LeakyRelu(InstanceNorm(conv(a)) + conv(b))     (MONAI UnetrUpBlock; 1x1x1 convs)
  bn_relu         BatchNorm -> Relu
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)


CL = False  # --cl: channels-last model inputs/outputs around the 5-D models (benchmarks of the kernels alone)


def save(out, name, nodes, inputs, outputs, inits, opset, feeds, expected):
    if CL and len(inputs[0].type.tensor_type.shape.dim) == 5 and name.startswith(("in_", "bn_")):
        # inputs NDHWC -> Transpose to NCDHW; output back to NDHWC: the layout pass cancels them
        pre, new_inputs = [], []
        for v, f in zip(inputs, feeds):
            dims = [d.dim_value for d in v.type.tensor_type.shape.dim]
            new_inputs.append(vi(v.name + "_cl", [dims[0], dims[2], dims[3], dims[4], dims[1]]))
            pre.append(helper.make_node("Transpose", [v.name + "_cl"], [v.name], perm=[0, 4, 1, 2, 3]))
        o = outputs[0]
        dims = [d.dim_value for d in o.type.tensor_type.shape.dim]
        nodes = pre + nodes + [helper.make_node("Transpose", [o.name], [o.name + "_cl"], perm=[0, 2, 3, 4, 1])]
        inputs, outputs = new_inputs, [vi(o.name + "_cl", [dims[0], dims[2], dims[3], dims[4], dims[1]])]
        feeds = [f.transpose(0, 2, 3, 4, 1) for f in feeds]
        expected = expected.transpose(0, 2, 3, 4, 1)
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="gen_norm_models")
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))
    for i, f in enumerate(feeds):
        np.save(os.path.join(out, name + (".input.npy" if i == 0 else ".input%d.npy" % i)), f.astype(np.float32))
    np.save(os.path.join(out, name + ".expected.npy"), expected.astype(np.float32))


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def inorm(x, s, b, eps=1e-5):
    ax = tuple(range(2, x.ndim))
    m = x.mean(axis=ax, keepdims=True)
    v = ((x - m) ** 2).mean(axis=ax, keepdims=True)
    sh = (1, -1) + (1,) * (x.ndim - 2)
    return (x - m) / np.sqrt(v + eps) * s.reshape(sh) + b.reshape(sh)


def lrelu(x, a=0.01):
    return np.where(x >= 0, x, a * x)


def act_input(shape, offset=0.0):
    """Post-conv-like activations: non-zero mean, a few channels shifted."""
    x = rng.standard_normal(shape) * rng.uniform(0.5, 2.0, size=(1, shape[1]) + (1,) * (len(shape) - 2))
    return (x + offset + rng.uniform(-1, 1, size=(1, shape[1]) + (1,) * (len(shape) - 2))).astype(np.float32)


def ln_decomp(out, big, affine):
    shape = (1, 216, 768) if big else (2, 5, 24)
    d = shape[-1]
    x = act_input(shape).astype(np.float64)
    w, b = rng.uniform(0.5, 1.5, d), rng.normal(0, 0.2, d)
    eps = 1e-5
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["m"], axes=[-1], keepdims=1),
        helper.make_node("Sub", ["x", "m"], ["xc"]),
        helper.make_node("Pow", ["xc", "two"], ["sq"]),
        helper.make_node("ReduceMean", ["sq"], ["var"], axes=[-1], keepdims=1),
        helper.make_node("Add", ["var", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["sd"]),
        helper.make_node("Div", ["xc", "sd"], ["n" if affine else "y"]),
    ]
    inits = [const("two", np.float32(2.0)), const("eps", np.float32(eps))]
    m = x.mean(-1, keepdims=True)
    y = (x - m) / np.sqrt(((x - m) ** 2).mean(-1, keepdims=True) + eps)
    if affine:
        nodes += [helper.make_node("Mul", ["n", "w"], ["nw"]), helper.make_node("Add", ["nw", "b"], ["y"])]
        inits += [const("w", w.astype(np.float32)), const("b", b.astype(np.float32))]
        y = y * w.astype(np.float32) + b.astype(np.float32)
    name = "ln_decomp" if affine else "ln_decomp_plain"
    save(out, name, nodes, [vi("x", shape)], [vi("y", shape)], inits, 13, [x], y)


def gn_emul(out, big):
    # torch's nn.GroupNorm export below opset 18 (UNETR++): Reshape [0, G, -1] -> InstanceNorm(scale 1,
    # bias 0 per group) -> Reshape back -> * w[C,1,1,1] + b[C,1,1,1]
    shape = (1, 32, 32, 32, 32) if big else (2, 8, 3, 4, 5)
    N, C = shape[0], shape[1]
    G = 4
    x = act_input(shape).astype(np.float64)
    w, b = rng.uniform(0.5, 1.5, C), rng.normal(0, 0.2, C)
    nodes = [
        helper.make_node("Reshape", ["x", "s1"], ["xr"]),
        helper.make_node("InstanceNormalization", ["xr", "ones", "zeros"], ["nr"], epsilon=1e-5),
        helper.make_node("Reshape", ["nr", "s0"], ["n"]),
        helper.make_node("Mul", ["n", "w"], ["nw"]),
        helper.make_node("Add", ["nw", "b"], ["y"]),
    ]
    inits = [
        const("s1", np.array([0, G, -1], np.int64)),
        const("s0", np.array(shape, np.int64)),
        const("ones", np.ones(G, np.float32)),
        const("zeros", np.zeros(G, np.float32)),
        const("w", w.astype(np.float32).reshape((C,) + (1,) * (len(shape) - 2))),
        const("b", b.astype(np.float32).reshape((C,) + (1,) * (len(shape) - 2))),
    ]
    xr = x.reshape(N, G, -1)
    m = xr.mean(-1, keepdims=True)
    nr = (xr - m) / np.sqrt(((xr - m) ** 2).mean(-1, keepdims=True) + 1e-5)
    sh = (1, C) + (1,) * (len(shape) - 2)
    y = nr.reshape(shape) * w.astype(np.float32).reshape(sh) + b.astype(np.float32).reshape(sh)
    save(out, "gn_emul", nodes, [vi("x", shape)], [vi("y", shape)], inits, 17, [x], y)


def in_models(out, big):
    shape = (1, 16, 96, 96, 96) if big else (1, 16, 6, 7, 5)
    C = shape[1]
    xa, xb = act_input(shape, 3.0), act_input(shape)
    sa, ba = rng.uniform(0.5, 1.5, C).astype(np.float32), rng.normal(0, 0.2, C).astype(np.float32)
    sb, bb = np.ones(C, np.float32), np.zeros(C, np.float32)
    inits = [const("sa", sa), const("ba", ba), const("sb", sb), const("bb", bb)]
    xa64, xb64 = xa.astype(np.float64), xb.astype(np.float64)
    na = inorm(xa64, sa, ba)
    # in_lrelu
    nodes = [helper.make_node("InstanceNormalization", ["a", "sa", "ba"], ["n"], epsilon=1e-5),
             helper.make_node("LeakyRelu", ["n"], ["y"], alpha=0.01)]
    save(out, "in_lrelu", nodes, [vi("a", shape)], [vi("y", shape)], inits[:2], 17, [xa], lrelu(na))
    # in_res2
    nodes = [helper.make_node("InstanceNormalization", ["a", "sa", "ba"], ["na"], epsilon=1e-5),
             helper.make_node("InstanceNormalization", ["b", "sb", "bb"], ["nb"], epsilon=1e-5),
             helper.make_node("Add", ["na", "nb"], ["s"]),
             helper.make_node("LeakyRelu", ["s"], ["y"], alpha=0.01)]
    save(out, "in_res2", nodes, [vi("a", shape), vi("b", shape)], [vi("y", shape)], inits, 17, [xa, xb],
         lrelu(na + inorm(xb64, sb, bb)))
    # in_res1: like MONAI's UnetrUpBlock, a and b come out of (1x1x1) convolutions, so after the layout
    # pass the whole block is channels-last
    wa, wb = rng.normal(0, 0.3, (C, C)).astype(np.float32), rng.normal(0, 0.3, (C, C)).astype(np.float32)
    cba, cbb = rng.normal(0, 0.2, C).astype(np.float32), rng.normal(0, 0.2, C).astype(np.float32)
    k = (1,) * (len(shape) - 2)
    nodes = [helper.make_node("Conv", ["a", "wa", "cba"], ["ca"], kernel_shape=list(k)),
             helper.make_node("Conv", ["b", "wb", "cbb"], ["cb"], kernel_shape=list(k)),
             helper.make_node("InstanceNormalization", ["ca", "sa", "ba"], ["na"], epsilon=1e-5),
             helper.make_node("Add", ["cb", "na"], ["s"]),
             helper.make_node("LeakyRelu", ["s"], ["y"], alpha=0.01)]
    sh = (1, C) + k

    def conv1(x, w, b):
        return np.einsum("oc,nc...->no...", w.astype(np.float64), x) + b.astype(np.float64).reshape(sh)

    ca, cb = conv1(xa64, wa, cba), conv1(xb64, wb, cbb)
    save(out, "in_res1", nodes, [vi("a", shape), vi("b", shape)], [vi("y", shape)],
         inits[:2] + [const("wa", wa.reshape((C, C) + k)), const("wb", wb.reshape((C, C) + k)), const("cba", cba),
                      const("cbb", cbb)], 17, [xa, xb], lrelu(inorm(ca, sa, ba) + cb))
    # bn_relu
    mean, var = rng.normal(0, 1, C).astype(np.float32), rng.uniform(0.5, 2, C).astype(np.float32)
    nodes = [helper.make_node("BatchNormalization", ["a", "sa", "ba", "mu", "var"], ["n"], epsilon=1e-5),
             helper.make_node("Relu", ["n"], ["y"])]
    sh = (1, C) + (1,) * (len(shape) - 2)
    ref = (xa64 - mean.reshape(sh)) / np.sqrt(var.reshape(sh).astype(np.float64) + 1e-5) * sa.reshape(sh) + ba.reshape(sh)
    save(out, "bn_relu", nodes, [vi("a", shape)], [vi("y", shape)],
         inits[:2] + [const("mu", mean), const("var", var)], 17, [xa], np.maximum(ref, 0))


def main():
    global CL
    out = sys.argv[1]
    big = "--big" in sys.argv
    CL = "--cl" in sys.argv
    os.makedirs(out, exist_ok=True)
    ln_decomp(out, big, True)
    ln_decomp(out, big, False)
    gn_emul(out, big)
    in_models(out, big)


if __name__ == "__main__":
    main()
