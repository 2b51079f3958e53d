#!/usr/bin/env python3
"""Small float64 ONNX models, one op (or a short chain) each, for the
finite-difference gradient checks of tests/test_grad.c. Every float
initializer and the input are differentiated. Regenerate:
    python3 tests/grad/make_grad_models.py"""
import os
import shutil

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
rng = np.random.default_rng(5)
D = TensorProto.DOUBLE


def away(shape, lo=0.2, hi=1.5):
    """Random values with |v| in [lo, hi]: away from kinks at 0."""
    v = rng.uniform(lo, hi, shape)
    return v * rng.choice([-1.0, 1.0], shape)


def save(name, nodes, x, y_shape, inits=(), opset=17, ydtype=D):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", D, x.shape)],
                          [helper.make_tensor_value_info("y", ydtype, y_shape)],
                          [numpy_helper.from_array(np.asarray(a), n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, os.path.join(OUT, name + ".onnx"))
    np.save(os.path.join(OUT, name + ".input.npy"), x)


def unary(op, x=None, **attrs):
    x = away((2, 3, 4)) if x is None else x
    save(f"{op.lower()}" + ("_" + "_".join(f"{k}" for k in attrs) if attrs else ""),
         [helper.make_node(op, ["x"], ["y"], **attrs)], x, x.shape)


for op in ("Abs", "Neg", "Exp", "Erf", "Sin", "Cos", "Atan", "Sinh", "Cosh", "Asinh", "Relu", "Sigmoid", "Tanh",
           "Softplus", "Softsign", "HardSwish"):
    unary(op)
unary("Sqrt", rng.uniform(0.3, 2, (2, 3, 4)))
unary("Log", rng.uniform(0.3, 2, (2, 3, 4)))
unary("Reciprocal", away((2, 3, 4), 0.5, 2))
unary("Tan", rng.uniform(-1, 1, (2, 3, 4)))
unary("Asin", rng.uniform(-0.8, 0.8, (2, 3, 4)))
unary("Acos", rng.uniform(-0.8, 0.8, (2, 3, 4)))
unary("Atanh", rng.uniform(-0.8, 0.8, (2, 3, 4)))
unary("Acosh", rng.uniform(1.2, 3, (2, 3, 4)))
unary("LeakyRelu", alpha=0.1)
unary("Elu", alpha=0.7)
unary("Selu")
unary("Celu", alpha=1.5)
unary("ThresholdedRelu", away((2, 3, 4)) + 0.05, alpha=0.0)
unary("HardSigmoid", alpha=0.3, beta=0.4)
save("gelu", [helper.make_node("Gelu", ["x"], ["y"])], away((2, 3, 4)), (2, 3, 4), opset=18)
save("gelu_tanh", [helper.make_node("Gelu", ["x"], ["y"], approximate="tanh")], away((2, 3, 4)), (2, 3, 4), opset=18)
save("clip", [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], away((2, 3, 4), 0.1, 2), (2, 3, 4),
     [("lo", np.array(-1.05)), ("hi", np.array(0.95))])

# broadcasting binaries with a trainable operand
x = away((2, 3, 4))
for op in ("Add", "Sub", "Mul", "Div", "Max", "Min"):
    b = away((3, 1), 0.5, 2)
    save(op.lower() + "_bcast", [helper.make_node(op, ["x", "b"], ["y"])], x, (2, 3, 4), [("b", b)])
save("pow_const", [helper.make_node("Pow", ["x", "e"], ["y"])], rng.uniform(0.5, 2, (2, 3)), (2, 3), [("e", np.array(2.5))])
save("pow_base", [helper.make_node("Pow", ["b", "x"], ["y"])], rng.uniform(-1, 1, (2, 3)), (2, 3),
     [("b", rng.uniform(0.5, 2, (2, 3)))])
save("prelu", [helper.make_node("PRelu", ["x", "s"], ["y"])], away((2, 3, 4)), (2, 3, 4), [("s", away((3, 1), 0.1, 0.5))])
save("mean3", [helper.make_node("Mean", ["x", "b", "c"], ["y"])], x, (2, 3, 4), [("b", away((4,))), ("c", away((3, 4)))])
save("where", [helper.make_node("Greater", ["x", "z"], ["m"]), helper.make_node("Where", ["m", "x", "b"], ["y"])],
     x, (2, 3, 4), [("z", np.array(0.0)), ("b", away((4,)))])
save("square_chain", [helper.make_node("Mul", ["x", "x"], ["s"]), helper.make_node("Add", ["s", "x"], ["y"])], x, (2, 3, 4))

# movement
save("reshape", [helper.make_node("Reshape", ["x", "s"], ["y"])], x, (6, 4), [("s", np.array([6, 4], np.int64))])
save("transpose", [helper.make_node("Transpose", ["x"], ["y"], perm=[2, 0, 1])], x, (4, 2, 3))
save("expand", [helper.make_node("Expand", ["x", "s"], ["y"])], away((3, 1)), (2, 3, 4), [("s", np.array([2, 3, 4], np.int64))])
save("tile", [helper.make_node("Tile", ["x", "r"], ["y"])], away((2, 3)), (4, 3), [("r", np.array([2, 1], np.int64))])
save("unsqueeze_squeeze", [helper.make_node("Unsqueeze", ["x", "a"], ["u"]), helper.make_node("Squeeze", ["u", "a"], ["y"])],
     x, (2, 3, 4), [("a", np.array([1], np.int64))])
save("flatten", [helper.make_node("Flatten", ["x"], ["y"], axis=2)], x, (6, 4))
save("depth_to_space", [helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2)], away((1, 8, 2, 3)), (1, 2, 4, 6))
save("space_to_depth", [helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=2)], away((1, 2, 4, 6)), (1, 8, 2, 3))
save("cast_f64", [helper.make_node("Cast", ["x"], ["y"], to=D)], x, (2, 3, 4))

# slicing and joining
save("concat", [helper.make_node("Concat", ["x", "b"], ["y"], axis=1)], x, (2, 5, 4), [("b", away((2, 2, 4)))])
save("split", [helper.make_node("Split", ["x", "s"], ["p", "q"], axis=2), helper.make_node("Mul", ["p", "q"], ["y"])],
     x, (2, 3, 2), [("s", np.array([2, 2], np.int64))])
save("slice", [helper.make_node("Slice", ["x", "st", "en", "ax"], ["y"])], x, (2, 2, 2),
     [("st", np.array([1, 1], np.int64)), ("en", np.array([3, 3], np.int64)), ("ax", np.array([1, 2], np.int64))])
save("pad_constant", [helper.make_node("Pad", ["x", "p"], ["y"])], x, (2, 4, 7),
     [("p", np.array([0, 1, 2, 0, 0, 1], np.int64))])
save("gather_scalar", [helper.make_node("Gather", ["x", "i"], ["y"], axis=1)], x, (2, 4), [("i", np.array(1, np.int64))])
save("gather_range", [helper.make_node("Gather", ["x", "i"], ["y"], axis=2)], x, (2, 3, 2), [("i", np.array([1, 2], np.int64))])
print("wrote", len([f for f in os.listdir(OUT) if f.endswith(".onnx")]), "models to", OUT)

# products and softmax
save("matmul_batched", [helper.make_node("MatMul", ["x", "w"], ["y"])], away((2, 3, 4)), (2, 3, 5), [("w", away((4, 5)))])
save("matmul_bcast", [helper.make_node("MatMul", ["x", "w"], ["y"])], away((3, 4)), (2, 3, 5), [("w", away((2, 4, 5)))])
save("matmul_vec", [helper.make_node("MatMul", ["x", "w"], ["y"])], away((4,)), (5,), [("w", away((4, 5)))])
save("matmul_vec_right", [helper.make_node("MatMul", ["x", "w"], ["y"])], away((3, 4)), (3,), [("w", away((4,)))])
save("gemm_trans", [helper.make_node("Gemm", ["x", "w", "b"], ["y"], alpha=0.7, beta=1.3, transA=1, transB=1)],
     away((4, 3)), (3, 5), [("w", away((5, 4))), ("b", away((5,)))])
save("einsum_attn", [helper.make_node("Einsum", ["x", "k"], ["y"], equation="blxd,blyd->blxy")], away((1, 2, 3, 4)),
     (1, 2, 3, 3), [("k", away((1, 2, 3, 4)))], opset=13)
save("einsum_sum", [helper.make_node("Einsum", ["x", "w"], ["y"], equation="ij,jk->i")], away((3, 4)), (3,),
     [("w", away((4, 2)))], opset=13)
save("softmax_last", [helper.make_node("Softmax", ["x"], ["y"])], away((2, 3, 4)), (2, 3, 4))
save("softmax_axis1", [helper.make_node("Softmax", ["x"], ["y"], axis=1)], away((2, 3, 4)), (2, 3, 4))
save("logsoftmax", [helper.make_node("LogSoftmax", ["x"], ["y"], axis=1)], away((2, 3, 4)), (2, 3, 4))
save("softmax_opset11", [helper.make_node("Softmax", ["x"], ["y"], axis=1)], away((2, 3, 4)), (2, 3, 4), opset=11)
for op in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp", "ReduceProd"):
    if op == "ReduceSum":
        save(op.lower(), [helper.make_node(op, ["x", "ax"], ["y"], keepdims=0)], away((2, 3, 4)), (2, 4),
             [("ax", np.array([1], np.int64))])
    else:
        save(op.lower(), [helper.make_node(op, ["x"], ["y"], axes=[1, 2], keepdims=1)], away((2, 3, 4)), (2, 1, 1))

# convolutions (grad_conv.c): dX by ConvTranspose / Conv, dW by unetrc.ConvGradWeight, dB by ReduceSum
def out_shape(nodes, x, inits=(), opset=17):
    """The output shape by ONNX shape inference (y declared without one)."""
    g = helper.make_graph(nodes, "s", [helper.make_tensor_value_info("x", D, x.shape)],
                          [helper.make_tensor_value_info("y", D, None)],
                          [numpy_helper.from_array(np.asarray(a), n) for n, a in inits])
    m = onnx.shape_inference.infer_shapes(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]),
                                          strict_mode=True)
    t = m.graph.output[0].type.tensor_type
    # no shape when inference knows none (GroupNormalization-18 here), not a declared scalar
    return tuple(d.dim_value for d in t.shape.dim) if t.HasField("shape") else None


def save_inferred(name, nodes, x, inits=(), opset=17, shape=None):
    save(name, nodes, x, shape or out_shape(nodes, x, inits, opset), inits, opset)


def conv(name, op, x, w, b=None, **attrs):
    ins = ["x", "w"] + (["b"] if b is not None else [])
    inits = [("w", w)] + ([("b", b)] if b is not None else [])
    save_inferred(name, [helper.make_node(op, ins, ["y"], **attrs)], x, inits)


conv("conv1d_s2_pads", "Conv", away((2, 3, 9)), away((4, 3, 3)), away((4,)), strides=[2], pads=[1, 2])
conv("conv1d_uneven", "Conv", away((1, 2, 10)), away((3, 2, 4)), None, strides=[3], pads=[0, 1], dilations=[2])
conv("conv2d_group_dil", "Conv", away((1, 4, 7, 6)), away((6, 2, 3, 2)), away((6,)), group=2,
     strides=[2, 1], pads=[1, 0, 0, 1], dilations=[2, 1])
conv("conv2d_same_upper", "Conv", away((1, 2, 6, 5)), away((3, 2, 3, 3)), away((3,)), strides=[2, 2],
     auto_pad="SAME_UPPER")
conv("conv2d_depthwise", "Conv", away((2, 3, 5, 5)), away((3, 1, 3, 3)), away((3,)), group=3, pads=[1, 1, 1, 1])
conv("conv3d_s2_pad", "Conv", away((1, 2, 5, 6, 4)), away((3, 2, 3, 3, 2)), away((3,)),
     strides=[2, 2, 1], pads=[1, 1, 0, 1, 0, 1])
conv("convtr2d_k2s2", "ConvTranspose", away((1, 3, 4, 4)), away((3, 2, 2, 2)), away((2,)), strides=[2, 2])
conv("convtr3d_k3s2p1op1", "ConvTranspose", away((1, 2, 3, 4, 3)), away((2, 3, 3, 3, 3)), away((3,)),
     strides=[2, 2, 2], pads=[1, 1, 1, 1, 1, 1], output_padding=[1, 1, 1])
conv("convtr1d_group_dil", "ConvTranspose", away((1, 4, 5)), away((4, 3, 3)), away((6,)), group=2,
     strides=[3], dilations=[2], pads=[0, 0], output_padding=[2])
conv("convtr2d_output_shape", "ConvTranspose", away((1, 2, 3, 3)), away((2, 2, 3, 3)), None, group=1,
     strides=[2, 2], output_shape=[8, 8])

# pools (grad_pool.c): MaxPool inputs are distinct values (no tied maxima within 1e-6)
def distinct(shape):
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.05 - 0.025 * n + rng.uniform(-0.01, 0.01, n)).reshape(shape)


def pool(name, op, x, opset=17, shape=None, **attrs):
    save_inferred(name, [helper.make_node(op, ["x"], ["y"], **attrs)], x, opset=opset, shape=shape)


pool("maxpool2d_ceil_pads", "MaxPool", distinct((1, 2, 7, 6)), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 0],
     ceil_mode=1)
pool("maxpool2d_overlap", "MaxPool", distinct((2, 2, 5, 5)), kernel_shape=[3, 2], strides=[1, 1])
pool("maxpool1d_dil", "MaxPool", distinct((1, 3, 11)), kernel_shape=[3], strides=[2], dilations=[2], pads=[1, 1])
pool("maxpool3d", "MaxPool", distinct((1, 2, 4, 5, 4)), kernel_shape=[2, 2, 2], strides=[2, 2, 2], ceil_mode=1)
pool("avgpool2d_incl_pad_ceil", "AveragePool", away((1, 2, 7, 6)), kernel_shape=[3, 3], strides=[2, 2],
     pads=[1, 1, 1, 1], count_include_pad=1, ceil_mode=1)
# declared as PyTorch and onnxruntime compute it: with ceil_mode a window starting in the end padding is dropped
# (W: ceil((6 + 1 - 2) / 2) + 1 = 4 windows, the 4th starts at 6, in the padding), which this onnx's shape
# inference does not do ([1, 2, 4, 4])
pool("avgpool2d_excl_pad_ceil", "AveragePool", away((1, 2, 7, 6)), kernel_shape=[3, 2], strides=[2, 2],
     pads=[1, 0, 1, 1], ceil_mode=1, shape=(1, 2, 4, 3))
pool("avgpool3d", "AveragePool", away((2, 2, 4, 4, 5)), kernel_shape=[2, 2, 3], strides=[2, 2, 1], pads=[0, 0, 1, 0, 0, 1])
pool("avgpool1d_same", "AveragePool", away((1, 2, 9)), kernel_shape=[4], strides=[2], auto_pad="SAME_UPPER")
pool("globalavgpool", "GlobalAveragePool", away((2, 3, 4, 5)))
pool("globalmaxpool", "GlobalMaxPool", distinct((2, 3, 4, 3, 2)))

# normalisations (grad_norm.c)
def norm(name, op, x, params, opset=17, **attrs):
    names = ["x"] + [n for n, _ in params]
    save_inferred(name, [helper.make_node(op, names, ["y"], **attrs)], x, params, opset)


norm("layernorm_last", "LayerNormalization", rng.normal(0, 1, (2, 3, 8)), [("s", away((8,))), ("b", away((8,)))])
norm("layernorm_axis1", "LayerNormalization", rng.normal(0, 1, (2, 3, 4, 5)), [("s", away((3, 4, 5))), ("b", away((3, 4, 5)))],
     axis=1, epsilon=1e-3)
norm("layernorm_nobias_bcast", "LayerNormalization", rng.normal(0, 1, (2, 3, 4, 5)), [("s", away((1, 5)))], axis=2)
norm("instancenorm3d", "InstanceNormalization", rng.normal(0, 1, (2, 3, 4, 3, 5)), [("s", away((3,))), ("b", away((3,)))],
     epsilon=1e-4)
norm("groupnorm18", "GroupNormalization", rng.normal(0, 1, (2, 6, 4, 5)), [("s", away((3,))), ("b", away((3,)))],
     opset=18, num_groups=3)
norm("batchnorm", "BatchNormalization", rng.normal(0, 1, (2, 3, 4, 5)),
     [("s", away((3,))), ("b", away((3,))), ("m", away((3,))), ("v", rng.uniform(0.5, 2, (3,)))], opset=15)
norm("batchnorm_2d", "BatchNormalization", rng.normal(0, 1, (4, 3)),
     [("s", away((3,))), ("b", away((3,))), ("m", away((3,))), ("v", rng.uniform(0.5, 2, (3,)))], epsilon=0.1)
# GroupNorm as exporters emulate it before opset 18 (Reshape, InstanceNorm, Reshape, per-channel Mul/Add), with
# frozen constants: norm_patterns makes it one GroupNormalization with per-channel scale and bias
save_inferred("groupnorm_emulated_frozen", [
    helper.make_node("Reshape", ["x", "s3"], ["r"]),
    helper.make_node("InstanceNormalization", ["r", "frozen_one", "frozen_zero"], ["i"], epsilon=1e-5),
    helper.make_node("Reshape", ["i", "s4"], ["t"]),
    helper.make_node("Mul", ["t", "frozen_w"], ["m"]),
    helper.make_node("Add", ["m", "frozen_b"], ["y"])], rng.normal(0, 1, (2, 6, 3, 4)),
    [("s3", np.array([2, 2, -1], np.int64)), ("frozen_one", np.ones(2)), ("frozen_zero", np.zeros(2)),
     ("s4", np.array([2, 6, 3, 4], np.int64)), ("frozen_w", away((6, 1, 1))), ("frozen_b", away((6, 1, 1)))])

# Resize (grad_resize.c): scales/roi are frozen_* (Resize needs them constant)
def resize(name, x, scales=None, sizes=None, roi=None, opset=17, **attrs):
    ins = ["x", "frozen_roi" if roi is not None else "", "frozen_scales" if scales is not None else ""]
    inits = ([("frozen_roi", np.array(roi, np.float64))] if roi is not None else []) + \
            ([("frozen_scales", np.array(scales, np.float32))] if scales is not None else [])
    if sizes is not None:
        ins.append("sizes")
        inits.append(("sizes", np.array(sizes, np.int64)))
    save_inferred(name, [helper.make_node("Resize", ins, ["y"], **attrs)], x, inits, opset)


resize("resize_nearest_up", away((1, 2, 3, 4)), scales=[1, 1, 2, 3])
resize("resize_nearest_torch", away((1, 2, 3, 2, 4)), scales=[1, 1, 2, 2, 2], coordinate_transformation_mode="asymmetric",
       nearest_mode="floor")
resize("resize_nearest_down", away((1, 2, 7, 6)), sizes=[1, 2, 3, 4])
resize("resize_linear_up3d", away((1, 2, 3, 4, 3)), scales=[1, 1, 2, 2, 2], mode="linear",
       coordinate_transformation_mode="pytorch_half_pixel")
resize("resize_linear_align_corners", away((2, 2, 4, 5)), sizes=[2, 2, 7, 9], mode="linear",
       coordinate_transformation_mode="align_corners")
resize("resize_linear_down", away((1, 3, 9, 7)), sizes=[1, 3, 4, 5], mode="linear")
resize("resize_cubic", away((1, 1, 5, 6)), scales=[1, 1, 1.5, 2], mode="cubic", exclude_outside=1)
resize("resize_linear_antialias", away((1, 2, 10, 9)), sizes=[1, 2, 4, 5], mode="linear", antialias=1, opset=18)
resize("resize_crop_extrapolate", away((1, 1, 5, 6)), sizes=[1, 1, 4, 4], roi=[0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3],
       mode="linear", coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=0.5)
# edge (replicate) pads: both sides on several axes, and MONAI BasicUNet's one-sided pad of 1
save("pad_edge", [helper.make_node("Pad", ["x", "p"], ["y"], mode="edge")], away((2, 3, 4)), (2, 6, 7),
     [("p", np.array([0, 1, 2, 0, 2, 1], np.int64))])
save("pad_edge_one_sided", [helper.make_node("Pad", ["x", "p"], ["y"], mode="edge")], away((1, 2, 3, 2, 3)),
     (1, 2, 3, 3, 3), [("p", np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 0], np.int64))])
# SiLU x sigmoid(x) and MONAI's Swish x sigmoid(alpha x): one unetrc.Act each after passes/act_patterns.c
# (alpha frozen: a constant), whose gradient is unetrc.ActGrad
save("silu", [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["s", "x"], ["y"])],
     away((2, 3, 4), 0.05, 4), (2, 3, 4))
save("swish_alpha", [helper.make_node("Mul", ["frozen_alpha", "x"], ["u"]), helper.make_node("Sigmoid", ["u"], ["s"]),
                     helper.make_node("Mul", ["x", "s"], ["y"])], away((2, 3, 4), 0.05, 4), (2, 3, 4),
     [("frozen_alpha", np.array([1.5]))])
# ... and through a fused convolution epilogue (x, W and B differentiated)
save("conv_swish", [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                    helper.make_node("Mul", ["c", "frozen_alpha"], ["u"]), helper.make_node("Sigmoid", ["u"], ["s"]),
                    helper.make_node("Mul", ["c", "s"], ["y"])], away((1, 2, 5, 4)), (1, 3, 5, 4),
     [("w", away((3, 2, 3, 3), 0.1, 0.5)), ("b", away((3,), 0.1, 0.5)), ("frozen_alpha", np.array(0.75))])
print("wrote", len([f for f in os.listdir(OUT) if f.endswith(".onnx")]), "models to", OUT)

# Slice with any steps (grad_slice.c): strided, trimmed (step not dividing the extent), negative, clamped
# starts/ends, several axes, and rank 6 with 4 strided axes (two groups of inserted dims)
def slc(name, x, starts, ends, axes, steps):
    inits = [("st", np.array(starts, np.int64)), ("en", np.array(ends, np.int64)), ("ax", np.array(axes, np.int64)),
             ("sp", np.array(steps, np.int64))]
    save_inferred(name, [helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])], x, inits)


slc("slice_step2_patchmerge", away((1, 4, 6, 4, 3)), [1, 0, 1], [4, 6, 4], [1, 2, 3], [2, 2, 2])
slc("slice_step3_trim", away((2, 7, 8)), [1, 0], [7, 8], [1, 2], [3, 3])
slc("slice_step2_offset_end", away((3, 9, 2)), [3, -1], [8, 100], [1, 0], [2, 1])
slc("slice_neg1_clamped", away((3, 4, 5)), [100, -2, 3], [-100, 0, -1000], [0, 1, 2], [-1, -1, -1])
slc("slice_neg2", away((2, 7, 6)), [-2, 5], [0, -100], [1, 2], [-2, -3])
slc("slice_mixed_rank6", away((2, 5, 4, 6, 5, 2)), [0, 4, 1, -1, 0], [5, -100, 6, 0, 2], [1, 2, 3, 4, 5],
    [2, -2, 3, -2, 1])
slc("slice_big_step", away((3, 5)), [1, 4], [3, 0], [0, 1], [7, -9])

# Gather with any constant indices (grad_gather.c): repeated, negative, 2-D, inner axes (scatter-add), a
# permutation (distinct indices), and a Swin-style relative-position bias table read by a 2-D index
def gat(name, x, idx, axis):
    save_inferred(name, [helper.make_node("Gather", ["x", "i"], ["y"], axis=axis)], x,
                  [("i", np.array(idx, np.int64))])


gat("gather_repeat_neg", away((5, 3)), [3, 0, 3, -1, 1, 3], 0)
gat("gather_2d_inner", away((2, 6, 3)), [[0, 5, 2], [2, 2, -6]], 1)
gat("gather_2d_last", away((2, 3, 4)), [[3, 1], [1, 3], [0, -4]], 2)
gat("gather_perm", away((2, 4, 3)), [2, 0, 3], 1)
rp = np.array([[(a - b) + 3 + 7 * (a // 2 - b // 2 + 1) for b in range(4)] for a in range(4)], np.int64)
gat("gather_relpos_2d", away((21, 2)), rp, 0)
print("wrote", len([f for f in os.listdir(OUT) if f.endswith(".onnx")]), "models to", OUT)
