#!/usr/bin/env python3
"""Writes the fuzz seed corpus of small single-purpose models (fuzz/corpus/onnx/op_*.onnx).

One tiny model per op family with the attributes the compiler reads, plus the
torch exporter's Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain, so
that mutations start close to every parse/infer/lower path. Run with a Python
that has `onnx` and `numpy` (e.g. /opt/venv/bin/python fuzz/make_corpus.py);
the outputs are committed. The rest of the corpus: tests/data/*.onnx and the
small models of models/ (copied as they are), .npy files and weights blobs."""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "onnx")
F, I64 = TensorProto.FLOAT, TensorProto.INT64
rng = np.random.default_rng(11)


def arr(name, shape, dtype=np.float32):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(dtype), name)


def ints(name, v):
    return numpy_helper.from_array(np.array(v, np.int64), name)


def save(name, nodes, xshape, inits=(), extra_inputs=(), opset=17, ydtype=F):
    x = helper.make_tensor_value_info("x", F, xshape)
    y = helper.make_tensor_value_info("y", ydtype, None)
    g = helper.make_graph(nodes, name, [x] + list(extra_inputs), [y], list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="unetrc-fuzz")
    m.ir_version = 8
    onnx.save(m, os.path.join(OUT, f"op_{name}.onnx"))


def one(name, op, ins, xshape, inits=(), opset=17, **attrs):
    save(name, [helper.make_node(op, ins, ["y"], name=name, **attrs)], xshape, inits, opset=opset)


X5, X4 = [1, 2, 4, 4, 4], [1, 2, 6, 6]
os.makedirs(OUT, exist_ok=True)
one("conv3d", "Conv", ["x", "w", "b"], X5, [arr("w", [4, 2, 3, 3, 3]), arr("b", [4])], pads=[1] * 6, strides=[1, 2, 1])
one("conv2d_group", "Conv", ["x", "w"], X4, [arr("w", [2, 1, 3, 3])], group=2, dilations=[2, 1], auto_pad="SAME_UPPER")
one("convt3d", "ConvTranspose", ["x", "w", "b"], X5, [arr("w", [2, 3, 2, 2, 2]), arr("b", [3])], strides=[2, 2, 2])
one("maxpool", "MaxPool", ["x"], X5, kernel_shape=[2, 2, 2], strides=[2, 2, 2], ceil_mode=1)
one("avgpool", "AveragePool", ["x"], X4, kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)
one("gap", "GlobalAveragePool", ["x"], X5)
one("instnorm", "InstanceNormalization", ["x", "s", "b"], X5, [arr("s", [2]), arr("b", [2])], epsilon=1e-5)
one("batchnorm", "BatchNormalization", ["x", "s", "b", "m", "v"], X4,
    [arr("s", [2]), arr("b", [2]), arr("m", [2]), numpy_helper.from_array(np.ones(2, np.float32), "v")])
one("groupnorm", "GroupNormalization", ["x", "s", "b"], X4, [arr("s", [1]), arr("b", [1])], num_groups=1, opset=18)
one("layernorm", "LayerNormalization", ["x", "s", "b"], [1, 5, 8], [arr("s", [8]), arr("b", [8])], axis=-1)
one("matmul", "MatMul", ["x", "w"], [2, 5, 8], [arr("w", [8, 3])])
one("gemm", "Gemm", ["x", "w", "c"], [4, 8], [arr("w", [3, 8]), arr("c", [3])], transB=1, alpha=0.5)
one("einsum", "Einsum", ["x", "w"], [2, 3, 4], [arr("w", [2, 4, 5])], equation="bij,bjk->bik")
one("softmax", "Softmax", ["x"], [1, 4, 6], axis=1)
one("transpose", "Transpose", ["x"], X5, perm=[0, 2, 3, 4, 1])
one("reshape", "Reshape", ["x", "s"], X5, [ints("s", [1, -1, 8])])
one("concat", "Concat", ["x", "c"], X4, [arr("c", [1, 3, 6, 6])], axis=1)
one("slice", "Slice", ["x", "a", "b", "c", "d"], X5, [ints("a", [1, -1]), ints("b", [3, -4]), ints("c", [2, 4]),
                                                     ints("d", [1, -1])])
one("pad", "Pad", ["x", "p"], X4, [ints("p", [0, 0, 1, 2, 0, 0, 2, 1])], mode="reflect")
one("resize", "Resize", ["x", "", "s"], X5, [numpy_helper.from_array(np.array([1, 1, 2, 2, 2], np.float32), "s")],
    mode="linear", coordinate_transformation_mode="align_corners")
one("gather", "Gather", ["x", "i"], X4, [ints("i", [[0, 1], [1, 0]])], axis=1)
one("expand", "Expand", ["x", "s"], [1, 1, 3], [ints("s", [2, 4, 3])])
one("tile", "Tile", ["x", "r"], [1, 2, 3], [ints("r", [2, 1, 2])])
one("reducemean", "ReduceMean", ["x"], X5, axes=[2, 3, 4], keepdims=1)
one("argmax", "ArgMax", ["x"], X4, axis=1, keepdims=0)
save("split", [helper.make_node("Split", ["x", "s"], ["a", "b"], axis=1), helper.make_node("Sub", ["a", "b"], ["y"])],
     X4, [ints("s", [1, 1])])
one("depth_to_space", "DepthToSpace", ["x"], [1, 8, 2, 2], blocksize=2, mode="CRD")
one("clip", "Clip", ["x", "lo", "hi"], X4, [numpy_helper.from_array(np.float32(-1), "lo"),
                                            numpy_helper.from_array(np.float32(1), "hi")])
one("leakyrelu", "LeakyRelu", ["x"], X4, alpha=0.01)
one("prelu", "PRelu", ["x", "s"], X4, [arr("s", [2, 1, 1])])
one("where", "Where", ["c", "x", "z"], X4, [numpy_helper.from_array(rng.random([1, 2, 6, 6]) > 0.5, "c"),
                                            arr("z", [1])])
one("cast", "Cast", ["x"], X4, to=TensorProto.FLOAT16)
one("gelu", "Gelu", ["x"], X4, approximate="tanh", opset=18)
save("unary_chain", [helper.make_node("Erf", ["x"], ["a"]), helper.make_node("Sigmoid", ["a"], ["b"]),
                     helper.make_node("Sqrt", ["b"], ["c"]), helper.make_node("Pow", ["c", "e"], ["d"]),
                     helper.make_node("Div", ["d", "x"], ["y"])], X4,
     [numpy_helper.from_array(np.float32(2), "e")])
# The exporter's shape chain: y = reshape(x, [shape(x)[0], -1]).
save("shape_chain", [helper.make_node("Shape", ["x"], ["s"]),
                     helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
                     helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
                     helper.make_node("Concat", ["n1", "m1"], ["t"], axis=0),
                     helper.make_node("Reshape", ["x", "t"], ["y"])], X5,
     [ints("zero", 0), ints("ax0", [0]), ints("m1", [-1])])
save("constant_of_shape", [helper.make_node("ConstantOfShape", ["s"], ["c"],
                                            value=numpy_helper.from_array(np.array([1.5], np.float32))),
                           helper.make_node("Add", ["x", "c"], ["y"])], [2, 3], [ints("s", [2, 3])])
save("range", [helper.make_node("Range", ["a", "b", "c"], ["r"]), helper.make_node("Cast", ["r"], ["rf"], to=F),
               helper.make_node("Mul", ["x", "rf"], ["y"])], [5], [ints("a", 0), ints("b", 5), ints("c", 1)])
print("seed models written to", OUT)

# Checkpoints (corpus/checkpoint/): the layout of runtime/src/checkpoint.c,
# with the FNV-1a 64 checksum of params then state.
def checkpoint(name, params, state, model_hash):
    h = 0xcbf29ce484222325
    for b in params + state:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    head = b"UNETRCK1" + (1).to_bytes(4, "little") + (64).to_bytes(4, "little")
    head += b"".join(v.to_bytes(8, "little") for v in (len(params), len(state), model_hash, h))
    path = os.path.join(os.path.dirname(OUT), "checkpoint", name + ".ckpt")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(head + bytes(16) + params + state)

rng = np.random.default_rng(7)
checkpoint("small", rng.standard_normal(16).astype(np.float32).tobytes(), np.array([3], np.int64).tobytes(),
           0x1234567890ABCDEF)
checkpoint("empty_state", rng.standard_normal(5).astype(np.float32).tobytes(), b"", 1)
checkpoint("empty", b"", b"", 0)
checkpoint("adamw", rng.standard_normal(24).astype(np.float32).tobytes(),
           rng.standard_normal(48).astype(np.float32).tobytes() + np.array([10], np.int64).tobytes(), 42)
print("seed checkpoints written")
