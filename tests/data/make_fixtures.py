#!/usr/bin/env python3
"""Writes the small ONNX and .npy fixtures of the CLI / bad-input tests.

Run from anywhere: /opt/venv/bin/python tests/data/make_fixtures.py
(needs the `onnx` and `numpy` packages; the outputs are committed so the
test suite itself needs no Python)."""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(model, name):
    onnx.save(model, os.path.join(HERE, name))


def model(nodes, inputs, outputs, inits=(), opset=17, extra_opsets=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    m = helper.make_model(g, opset_imports=ops, producer_name="unetrc-tests")
    m.ir_version = 8
    return m


F = TensorProto.FLOAT
x = helper.make_tensor_value_info("x", F, [1, 2, 3])
y = helper.make_tensor_value_info("y", F, [1, 2, 3])
bias = numpy_helper.from_array(np.array([0.5, -1.0, 2.0], np.float32), "bias")

# A good model: y = relu(x + bias).
good = model([helper.make_node("Add", ["x", "bias"], ["t"], name="add"),
              helper.make_node("Relu", ["t"], ["y"], name="relu")], [x], [y], [bias])
save(good, "add_relu.onnx")
xv = np.linspace(-2, 2, 6, dtype=np.float32).reshape(1, 2, 3)
np.save(os.path.join(HERE, "add_relu.input.npy"), xv)
np.save(os.path.join(HERE, "add_relu.expected.npy"), np.maximum(xv + np.array([0.5, -1.0, 2.0], np.float32), 0))
np.save(os.path.join(HERE, "add_relu.input_f64.npy"), xv.astype(np.float64))
np.save(os.path.join(HERE, "add_relu.input_fortran.npy"), np.asfortranarray(xv))
np.save(os.path.join(HERE, "add_relu.input_badshape.npy"), np.zeros((1, 3, 2), np.float32))
np.save(os.path.join(HERE, "add_relu.input_int.npy"), np.zeros((1, 2, 3), np.int64))
nan = xv.copy()
nan[0, 1, 2] = np.nan
np.save(os.path.join(HERE, "add_relu.input_nan.npy"), nan)
with open(os.path.join(HERE, "add_relu.input_truncated.npy"), "wb") as f:
    data = open(os.path.join(HERE, "add_relu.input.npy"), "rb").read()
    f.write(data[:-5])

# Every unsupported thing at once.
unsup = model([
    helper.make_node("Add", ["x", "bias"], ["t1"], name="add"),
    helper.make_node("FooBar", ["t1"], ["t2"], name="foo"),
    helper.make_node("LSTM", ["t2", "t2", "t2"], ["t3"], name="lstm"),
    helper.make_node("Gelu", ["t3"], ["t4"], name="ms_gelu", domain="com.microsoft"),
    helper.make_node("Relu", ["t4"], ["y"], name="relu", strange=3),
], [x], [y], [bias], extra_opsets=[("com.microsoft", 1)])
save(unsup, "unsupported.onnx")

# Opset 9: Add (Add-7) and Relu (Relu-6) mean what they mean at opset 11, so this compiles.
save(model(good.graph.node, [x], [y], [bias], opset=9), "opset9.onnx")
# Opset 8: Softmax changed in opset 11 and Celu is new in 12; Relu is fine.
old = model([helper.make_node("Softmax", ["x"], ["s1"], name="sm1", axis=2),
             helper.make_node("Softmax", ["s1"], ["s2"], name="sm2", axis=2),
             helper.make_node("Celu", ["s2"], ["s3"], name="celu"),
             helper.make_node("Relu", ["s3"], ["y"], name="relu")], [x], [y], opset=8)
save(old, "opset8_old_ops.onnx")

cyc = model([helper.make_node("Relu", ["b"], ["a"], name="r1"),
             helper.make_node("Relu", ["a"], ["b"], name="r2"),
             helper.make_node("Add", ["x", "a"], ["y"], name="add")], [x], [y])
save(cyc, "cycle.onnx")

dangling = model([helper.make_node("Add", ["x", "nowhere"], ["y"], name="add")], [x], [y])
save(dangling, "dangling.onnx")

bad_raw = TensorProto()
bad_raw.name = "bias"
bad_raw.data_type = F
bad_raw.dims.extend([3])
bad_raw.raw_data = b"\0" * 10
save(model(good.graph.node, [x], [y], [bad_raw]), "raw_mismatch.onnx")

huge = TensorProto()
huge.name = "bias"
huge.data_type = F
huge.dims.extend([1 << 31, 1 << 31, 1 << 31])
save(model(good.graph.node, [x], [y], [huge]), "huge_dims.onnx")


def external(location, offset=None, length=None):
    t = TensorProto()
    t.name = "bias"
    t.data_type = F
    t.dims.extend([3])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return t


with open(os.path.join(HERE, "bias.bin"), "wb") as f:
    f.write(b"\0" * 4 + np.array([0.5, -1.0, 2.0], np.float32).tobytes())
save(model(good.graph.node, [x], [y], [external("bias.bin", 4, 12)]), "ext_ok.onnx")
save(model(good.graph.node, [x], [y], [external("../data/bias.bin", 4, 12)]), "ext_dotdot.onnx")
save(model(good.graph.node, [x], [y], [external("/etc/passwd")]), "ext_absolute.onnx")
save(model(good.graph.node, [x], [y], [external("bias.bin", 8, 12)]), "ext_range.onnx")
save(model(good.graph.node, [x], [y], [external("link_out.bin", 0, 12)]), "ext_symlink.onnx")

xs = helper.make_tensor_value_info("x", F, ["N", 2, 3])
ys = helper.make_tensor_value_info("y", F, ["N", 2, 3])
save(model(good.graph.node, [xs], [ys], [bias]), "symbolic.onnx")

with open(os.path.join(HERE, "random.onnx"), "wb") as f:
    f.write(np.random.default_rng(7).integers(0, 256, 500, dtype=np.uint8).tobytes())
full = open(os.path.join(HERE, "add_relu.onnx"), "rb").read()
with open(os.path.join(HERE, "truncated.onnx"), "wb") as f:
    f.write(full[: len(full) // 2])
open(os.path.join(HERE, "empty.onnx"), "wb").close()
print("fixtures written to", HERE)

# Transposes around layout-agnostic ops, as the layout pass sees them: the
# pass must sink and cancel all of them (tests/layout_test.sh).
xl = helper.make_tensor_value_info("x", F, [1, 3, 4, 5, 6])
yl = helper.make_tensor_value_info("y", F, [1, 6, 4, 5, 6])
cbias = numpy_helper.from_array(np.arange(3, dtype=np.float32).reshape(3, 1, 1, 1) / 10, "cbias")
pads = numpy_helper.from_array(np.zeros(10, np.int64), "pads")
to_last, to_first = [0, 2, 3, 4, 1], [0, 4, 1, 2, 3]
chain = model([
    helper.make_node("Transpose", ["x"], ["a"], perm=to_last, name="t1"),
    helper.make_node("LeakyRelu", ["a"], ["b"], alpha=0.1, name="lrelu"),
    helper.make_node("Transpose", ["b"], ["c"], perm=to_first, name="t2"),
    helper.make_node("Add", ["c", "cbias"], ["d"], name="add_bias"),
    helper.make_node("Transpose", ["d"], ["e"], perm=to_last, name="t3"),
    helper.make_node("Transpose", ["x"], ["f"], perm=to_last, name="t4"),
    helper.make_node("Concat", ["e", "f"], ["g"], axis=4, name="cat"),
    helper.make_node("Transpose", ["g"], ["h"], perm=to_first, name="t5"),
    helper.make_node("Pad", ["h", "pads"], ["y"], mode="edge", name="pad0"),
], [xl], [yl], [cbias, pads])
save(chain, "layout_chain.onnx")
np.save(os.path.join(HERE, "layout_chain.input.npy"), np.random.default_rng(3).standard_normal((1, 3, 4, 5, 6)).astype(np.float32))

# ---------------------------------------------------------------------------
# checks/: one model per input check of docs/input_checks.md (tests/cli_tests.sh
# holds the exact message each one must give).
C = os.path.join(HERE, "checks")
os.makedirs(C, exist_ok=True)


def csave(m, name):
    onnx.save(m, os.path.join(C, name))


relu_y = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
add_relu = list(good.graph.node)

# -- model level
m = model(add_relu, [x], [y], [bias])
del m.opset_import[:]
m.opset_import.extend([helper.make_opsetid("", (1 << 32) + 17)])
csave(m, "opset_huge.onnx")
m = model(add_relu, [x], [y], [bias])
m.opset_import.extend([helper.make_opsetid("", 13)])
csave(m, "opset_twice.onnx")
m = model(add_relu, [x], [y], [bias])
del m.opset_import[:]
m.opset_import.extend([helper.make_opsetid("com.microsoft", 1)])
csave(m, "opset_none.onnx")
m = onnx.ModelProto()
m.ir_version = 8
m.opset_import.extend([helper.make_opsetid("", 17)])
csave(m, "no_graph.onnx")
m = model(add_relu, [x], [y], [bias])
f = m.functions.add()
f.name, f.domain = "f", "local"
csave(m, "functions.onnx")

# -- tensors
t = numpy_helper.from_array(np.zeros(3, np.float32), "bias")
t.data_type = 99
csave(model(add_relu, [x], [y], [t]), "dtype_unknown.onnx")
xs_str = helper.make_tensor_value_info("x", TensorProto.STRING, [1, 2, 3])
csave(model(relu_y, [xs_str], [y]), "dtype_string.onnx")
t = TensorProto()
t.name, t.data_type = "bias", F
t.dims.extend([3])
t.float_data.extend([1.0, 2.0])
csave(model(add_relu, [x], [y], [t]), "typed_short.onnx")
t = TensorProto()
t.name, t.data_type = "bias", F
t.dims.extend([3])
t.int64_data.extend([1, 2, 3])
csave(model(add_relu, [x], [y], [t]), "typed_wrong_field.onnx")
t = numpy_helper.from_array(np.array([0.5, -1.0, 2.0], np.float32), "bias")  # raw_data ...
t.float_data.extend([1.0, 2.0, 3.0])  # ... and float_data: which one holds the values?
csave(model(add_relu, [x], [y], [t]), "raw_and_typed.onnx")
t = TensorProto()
t.name, t.data_type = "bias", F
t.dims.extend([3])
t.float_data.extend([0.5, -1.0, 2.0])
t.int64_data.extend([1, 2, 3])
csave(model(add_relu, [x], [y], [t]), "typed_two_fields.onnx")
t = external("bias.bin", 4, 12)
t.raw_data = np.array([0.5, -1.0, 2.0], np.float32).tobytes()
with open(os.path.join(C, "ext_and_raw.onnx"), "wb") as f:  # onnx.save would move raw_data out to the file
    f.write(model(add_relu, [x], [y], [t]).SerializeToString())
t = TensorProto()
t.name, t.data_type = "bias", F
t.dims.extend([0, 1 << 40, 1 << 40])
csave(model(add_relu, [x], [y], [t]), "zero_dim_cap.onnx")
t = TensorProto()
t.name, t.data_type = "bias", F
t.dims.extend([1] * 9)
t.raw_data = b"\0" * 4
csave(model(add_relu, [x], [y], [t]), "rank9.onnx")
t = TensorProto()
t.name, t.data_type = "bias", F
t.dims.extend([-3])
csave(model(add_relu, [x], [y], [t]), "negative_dim.onnx")
t = numpy_helper.from_array(np.zeros(3, np.float32), "bias")
t.segment.begin, t.segment.end = 0, 3
csave(model(add_relu, [x], [y], [t]), "segment.onnx")
t = numpy_helper.from_array(np.zeros(3, np.float32), "")
csave(model(add_relu, [x], [y], [t]), "init_noname.onnx")
csave(model(add_relu, [x], [y], [bias, bias]), "init_twice.onnx")
m = model(add_relu, [x], [y], [bias])
sp = m.graph.sparse_initializer.add()
sp.values.CopyFrom(numpy_helper.from_array(np.zeros(1, np.float32), "sp"))
sp.indices.CopyFrom(numpy_helper.from_array(np.zeros(1, np.int64), "spi"))
sp.dims.extend([3])
csave(m, "sparse_init.onnx")

# -- inputs and outputs
xbig = helper.make_tensor_value_info("x", F, [100000, 100000, 100])
csave(model(relu_y, [xbig], [y]), "input_cap.onnx")
xneg = helper.make_tensor_value_info("x", F, [-1, 2, 3])
csave(model(relu_y, [xneg], [y]), "input_negative.onnx")
xnoshape = helper.make_tensor_value_info("x", F, None)
csave(model(relu_y, [xnoshape], [y]), "input_noshape.onnx")
xseq = helper.make_tensor_sequence_value_info("x", F, [1, 2, 3])
csave(model(relu_y, [xseq], [y]), "input_sequence.onnx")
x9 = helper.make_tensor_value_info("x", F, [1] * 9)
csave(model(relu_y, [x9], [y]), "input_rank9.onnx")
xnn = helper.make_tensor_value_info("", F, [1, 2, 3])
csave(model([helper.make_node("Relu", [""], ["y"], name="relu")], [xnn], [y]), "input_noname.onnx")
csave(model(relu_y, [x, x], [y]), "input_twice.onnx")
csave(model(relu_y, [x], [helper.make_tensor_value_info("zz", F, [1, 2, 3])]), "output_missing.onnx")
csave(model(relu_y, [x], [y, y]), "output_twice.onnx")
csave(model(relu_y, [x], []), "no_outputs.onnx")
# declared output types must agree with inference (symbolic dims match anything)
csave(model(relu_y, [x], [helper.make_tensor_value_info("y", F, [1, 3, 2])]), "output_shape.onnx")
csave(model(relu_y, [x], [helper.make_tensor_value_info("y", F, ["N", 6])]), "output_rank.onnx")
csave(model(relu_y, [x], [helper.make_tensor_value_info("y", TensorProto.INT64, ["N", 2, 3])]), "output_dtype.onnx")
csave(model(relu_y, [x], [helper.make_tensor_value_info("y", F, ["N", 2, None])]), "output_symbolic.onnx")
csave(model([helper.make_node("Relu", ["x"], ["t"], name="r1"), helper.make_node("Relu", ["x"], ["t"], name="r2"),
             helper.make_node("Relu", ["t"], ["y"], name="r3")], [x], [y]), "produced_twice.onnx")
csave(model([helper.make_node("Relu", ["x"], ["x"], name="r1"), helper.make_node("Relu", ["x"], ["y"], name="r2")],
            [x], [y]), "output_is_input.onnx")

# -- nodes and attributes
csave(model([helper.make_node("Relu", ["x", "x"], ["y"], name="relu")], [x], [y]), "arity.onnx")
n = helper.make_node("LeakyRelu", ["x"], ["y"], name="lrelu", alpha=0.1)
n.attribute.extend([helper.make_attribute("alpha", 0.2)])
csave(model([n], [x], [y]), "attr_twice.onnx")
csave(model([helper.make_node("LeakyRelu", ["x"], ["y"], name="lrelu", alpha="big")], [x], [y]), "attr_type.onnx")
n = helper.make_node("LeakyRelu", ["x"], ["y"], name="lrelu")
a = n.attribute.add()
a.name, a.ref_attr_name, a.type = "alpha", "outer_alpha", onnx.AttributeProto.FLOAT
csave(model([n], [x], [y]), "attr_ref.onnx")
n = helper.make_node("Constant", [], ["y"], name="c")
a = n.attribute.add()
a.name, a.type = "value", onnx.AttributeProto.STRING
csave(model([n], [], [y]), "attr_empty_string.onnx")
cval = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(1, 2, 3), "cval")
csave(model([helper.make_node("Constant", [], ["c"], name="c", value=cval),
             helper.make_node("Add", ["x", "c"], ["y"], name="add")], [x], [y]), "constant.onnx")

# -- external data
with open(os.path.join(C, "bias.bin"), "wb") as f:
    f.write(b"\0" * 4 + np.array([0.5, -1.0, 2.0], np.float32).tobytes())
for name, ext in [("ext_mid_dotdot", external("sub/../bias.bin", 4, 12)),
                  ("ext_offset_overflow", external("bias.bin", (1 << 63) - 8, 12)),
                  ("ext_offset_huge", external("bias.bin", "99999999999999999999", 12)),
                  ("ext_offset_negative", external("bias.bin", -4, 12)),
                  ("ext_length", external("bias.bin", 4, 8)),
                  ("ext_missing", external("nope.bin", 0, 12)),
                  ("ext_fifo", external("fifo.bin", 0, 12)),
                  ("ext_linkdir", external("linkdir/bias.bin", 4, 12)),
                  ("ext_ok", external("bias.bin", 4, 12)),
                  ("ext_weights_name", external("w.weights", 4, 12))]:  # compiling it to w.c would overwrite it
    csave(model(add_relu, [x], [y], [ext]), name + ".onnx")
t = external("bias.bin", 4, 12)
del t.external_data[0]
csave(model(add_relu, [x], [y], [t]), "ext_nolocation.onnx")

# -- shapes the infer pass holds to the cap
shp = numpy_helper.from_array(np.array([1 << 20, 1 << 20], np.int64), "shp")
csave(model([helper.make_node("ConstantOfShape", ["shp"], ["y"], name="cos")], [], [y], [shp]), "infer_cap.onnx")
np.save(os.path.join(C, "big1000.npy"), np.zeros(1000, np.float32))
np.save(os.path.join(C, "x132.npy"), np.zeros((1, 3, 2), np.float32))

# -- attribute and constant-input ranges, checked by the ops' infer callbacks
x5 = helper.make_tensor_value_info("x", F, [1, 2, 4, 4, 4])
x4 = helper.make_tensor_value_info("x", F, [1, 2, 4, 4])
yany = helper.make_tensor_value_info("y", F, None)
w5 = numpy_helper.from_array(np.ones((2, 2, 3, 3, 3), np.float32), "w")
w4 = numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w")


def i64(name, v):
    return numpy_helper.from_array(np.array(v, np.int64), name)


def f32(name, v):
    return numpy_helper.from_array(np.array(v, np.float32), name)


def op_case(name, op, ins, inits=(), xin=x5, **attrs):
    csave(model([helper.make_node(op, ins, ["y"], name="n", **attrs)], [xin], [yany], list(inits)), name + ".onnx")


op_case("conv_stride0", "Conv", ["x", "w"], [w5], strides=[1, 0, 1])
op_case("conv_stride_neg", "Conv", ["x", "w"], [w5], strides=[1, -2, 1])
op_case("conv_dilation0", "Conv", ["x", "w"], [w5], dilations=[0, 1, 1])
op_case("conv_pads_neg", "Conv", ["x", "w"], [w5], pads=[0, -1, 0, 0, 0, 0])
op_case("conv_pads_len", "Conv", ["x", "w"], [w5], pads=[1, 1, 1])
op_case("conv_pads_many", "Conv", ["x", "w"], [w5], pads=[1] * 20)
op_case("conv_dilation_huge", "Conv", ["x", "w"], [w5], dilations=[1 << 62, 1, 1])
op_case("conv_pads_huge", "Conv", ["x", "w"], [w5], pads=[1 << 62] * 6)
op_case("convt_stride_huge", "ConvTranspose", ["x", "w"], [w5], strides=[1 << 62, 1 << 62, 1])
op_case("conv_group0", "Conv", ["x", "w"], [w5], group=0)
op_case("conv_group_div", "Conv", ["x", "w"], [w5], group=3)
op_case("conv_kernel_mismatch", "Conv", ["x", "w"], [w5], kernel_shape=[2, 2, 2])
op_case("conv_kernel_big", "Conv", ["x", "w"], [numpy_helper.from_array(np.ones((2, 2, 9, 3, 3), np.float32), "w")])
op_case("conv_w_rank", "Conv", ["x", "w"], [w4])
op_case("maxpool_kernel0", "MaxPool", ["x"], kernel_shape=[0, 2, 2])
op_case("maxpool_stride0", "MaxPool", ["x"], kernel_shape=[2, 2, 2], strides=[0, 1, 1])
op_case("maxpool_no_kernel", "MaxPool", ["x"])
op_case("avgpool_pad_ge_kernel", "AveragePool", ["x"], kernel_shape=[2, 2, 2], pads=[2, 0, 0, 0, 0, 0])
op_case("transpose_perm_dup", "Transpose", ["x"], perm=[0, 1, 1, 3, 4])
op_case("transpose_perm_range", "Transpose", ["x"], perm=[0, 1, 2, 3, 9])
op_case("concat_axis", "Concat", ["x", "x"], axis=7)
op_case("softmax_axis", "Softmax", ["x"], axis=-9)
op_case("flatten_axis", "Flatten", ["x"], axis=6)
op_case("reduce_axes_range", "ReduceSum", ["x", "ax"], [i64("ax", [5])])
op_case("reduce_axes_dup", "ReduceMean", ["x"], axes=[1, -4])
op_case("gather_axis", "Gather", ["x", "idx"], [i64("idx", [0])], axis=5)
op_case("gather_index", "Gather", ["x", "idx"], [i64("idx", [2])], axis=1)
op_case("scatternd_index", "ScatterND", ["x", "idx", "u"], [i64("idx", [[0, 1], [0, -3]]), f32("u", np.zeros((2, 4, 4, 4)))])
op_case("scatternd_shape", "ScatterND", ["x", "idx", "u"], [i64("idx", [[0, 1]]), f32("u", np.zeros((4, 4, 4)))])
op_case("scatternd_reduction", "ScatterND", ["x", "idx", "u"], [i64("idx", [[0]]), f32("u", np.zeros((1, 2, 4, 4, 4)))],
        reduction="max")
op_case("squeeze_not1", "Squeeze", ["x", "ax"], [i64("ax", [1])])
op_case("unsqueeze_dup", "Unsqueeze", ["x", "ax"], [i64("ax", [0, 0])])
op_case("reshape_two_minus1", "Reshape", ["x", "s"], [i64("s", [-1, -1])])
op_case("reshape_count", "Reshape", ["x", "s"], [i64("s", [7, 3])])
op_case("reshape_negative", "Reshape", ["x", "s"], [i64("s", [-2, 64])])
op_case("reshape_runtime", "Reshape", ["x", "x"])
op_case("split_sum", "Split", ["x", "sp"], [i64("sp", [1, 2])], axis=1)
op_case("slice_step0", "Slice", ["x", "st", "en", "ax", "sp"],
        [i64("st", [0]), i64("en", [2]), i64("ax", [2]), i64("sp", [0])])
op_case("slice_axes_dup", "Slice", ["x", "st", "en", "ax"],
        [i64("st", [0, 0]), i64("en", [2, 2]), i64("ax", [2, -3])])
op_case("pad_negative_size", "Pad", ["x", "p"], [i64("p", [0, 0, -9, 0, 0, 0, 0, 0, 0, 0])])
op_case("pad_huge", "Pad", ["x", "p"], [i64("p", [0, 0, 1 << 40, 0, 0, 0, 0, 1 << 40, 0, 0])])
op_case("expand_huge", "Expand", ["x", "s"], [i64("s", [1 << 30, 1 << 30, 1, 1, 1])])
op_case("tile_negative", "Tile", ["x", "r"], [i64("r", [1, -1, 1, 1, 1])])
op_case("tile_huge", "Tile", ["x", "r"], [i64("r", [1 << 31, 1 << 31, 1 << 31, 1, 1])])
op_case("resize_scale0", "Resize", ["x", "", "sc"], [f32("sc", [1, 1, 0, 1, 1])])
op_case("resize_scale_neg", "Resize", ["x", "", "sc"], [f32("sc", [1, 1, -2, 1, 1])])
op_case("resize_scale_huge", "Resize", ["x", "", "sc"], [f32("sc", [1, 1, 1e30, 1e30, 1])])
op_case("resize_sizes_neg", "Resize", ["x", "", "", "sz"], [i64("sz", [1, 2, -4, 4, 4])])
op_case("cast_string", "Cast", ["x"], to=TensorProto.STRING)
op_case("cast_unknown", "Cast", ["x"], to=99)
op_case("layernorm_axis", "LayerNormalization", ["x", "g"], [f32("g", [1, 1, 1, 1])], axis=5)
op_case("groupnorm_groups", "GroupNormalization", ["x", "g", "b"], [f32("g", [1, 1]), f32("b", [0, 0])], num_groups=3)
op_case("matmul_mismatch", "MatMul", ["x", "m"], [numpy_helper.from_array(np.ones((3, 2), np.float32), "m")])
op_case("gemm_rank", "Gemm", ["x", "m"], [numpy_helper.from_array(np.ones((3, 2), np.float32), "m")])
op_case("einsum_bad", "Einsum", ["x"], equation="abc->->")
op_case("einsum_labels", "Einsum", ["x"], equation="ab->ab")
op_case("add_broadcast", "Add", ["x", "b"], [f32("b", [1, 2, 3])])
op_case("range_delta0", "Range", ["s", "l", "d"], [i64("s", 0), i64("l", 10), i64("d", 0)])
op_case("range_huge", "Range", ["s", "l", "d"], [i64("s", 0), i64("l", 1 << 62), i64("d", 1)])
op_case("cos_negative", "ConstantOfShape", ["s"], [i64("s", [2, -3])])
op_case("cos_zero_huge", "ConstantOfShape", ["s"], [i64("s", [0, 1 << 40, 1 << 40])])
op_case("argmax_axis", "ArgMax", ["x"], axis=5)
op_case("depthtospace_block", "DepthToSpace", ["x"], xin=x4, blocksize=0)
op_case("depthtospace_huge", "DepthToSpace", ["x"], xin=x4, blocksize=1 << 62)
op_case("range_overflow", "Range", ["s", "l", "d"], [i64("s", -(1 << 63) + 1), i64("l", (1 << 63) - 1), i64("d", 1)])
op_case("instnorm_scale", "InstanceNormalization", ["x", "g", "b"], [f32("g", [1, 1, 1]), f32("b", [0, 0])])
op_case("batchnorm_shape", "BatchNormalization", ["x", "g", "b", "m", "v"],
        [f32("g", [1]), f32("b", [0, 0]), f32("m", [0, 0]), f32("v", [1, 1])])
# float settings that are NaN or infinite mean nothing (a Constant may be infinite)
op_case("leakyrelu_alpha_nan", "LeakyRelu", ["x"], alpha=float("nan"))
op_case("hardsigmoid_beta_inf", "HardSigmoid", ["x"], beta=float("inf"))
op_case("layernorm_eps_nan", "LayerNormalization", ["x", "g"], [f32("g", [1, 1, 1, 1])], epsilon=float("nan"))
op_case("gemm_alpha_inf", "Gemm", ["x", "m"], [f32("m", np.ones((3, 2)))], xin=helper.make_tensor_value_info("x", F, [2, 3]),
        alpha=float("-inf"))
op_case("celu_alpha0", "Celu", ["x"], alpha=0.0)
op_case("clip_min_nan", "Clip", ["x", "lo"], [f32("lo", np.nan)])
csave(model([helper.make_node("Constant", [], ["c"], name="c", value_float=float("inf")),
             helper.make_node("Min", ["x", "c"], ["y"], name="min")], [x], [y]), "const_inf.onnx")
# ConvTranspose output_padding must stay below max(stride, dilation)
op_case("convt_outpad", "ConvTranspose", ["x", "w"], [w5], strides=[2, 2, 2], output_padding=[0, 2, 0])
op_case("convt_outpad_dil", "ConvTranspose", ["x", "w"], [w5], dilations=[2, 1, 1], output_padding=[1, 0, 0])

# -- names that would break C comments in generated code
xn = helper.make_tensor_value_info("x */ int evil_in; /*", F, [1, 2, 3])
yn = helper.make_tensor_value_info("y\n*/ int evil_out;", F, [1, 2, 3])
csave(model([helper.make_node("Relu", ["x */ int evil_in; /*"], ["t"], name="a */ int evil_node; /* b"),
             helper.make_node("Add", ["t", "b */ int evil_w; /*"], ["y\n*/ int evil_out;"], name="n\n*/ int evil2;")],
            [xn], [yn], [numpy_helper.from_array(np.ones(3, np.float32), "b */ int evil_w; /*")]), "names.onnx")


# -- .npy headers the compiler's reader rejects
def npy_raw(name, header, data=b"", version=1):
    h = header.encode()
    if version == 1:
        pre = b"\x93NUMPY" + bytes([1, 0]) + len(h).to_bytes(2, "little")
    else:
        pre = b"\x93NUMPY" + bytes([version, 0]) + len(h).to_bytes(4, "little")
    with open(os.path.join(C, name), "wb") as f:
        f.write(pre + h + data)


npy_raw("npy_bigendian.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 2, 3), }\n", b"\0" * 24)
npy_raw("npy_object.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n", b"\0" * 8)
npy_raw("npy_structured.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n", b"\0" * 4)
npy_raw("npy_version9.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", b"\0" * 4, version=9)
npy_raw("npy_garbage.npy", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }\n", b"\0" * 4)
npy_raw("npy_extra_key.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", b"\0" * 4)
npy_raw("npy_dup_key.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (2,)}\n", b"\0" * 4)
npy_raw("npy_trailing.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x\n", b"\0" * 4)
npy_raw("npy_rank9.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }\n", b"\0" * 4)
npy_raw("npy_shape_overflow.npy",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }\n")
npy_raw("npy_negative.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2, 3), }\n", b"\0" * 24)
npy_raw("npy_long_header.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }" + " " * 70000 + "\n",
        b"\0" * 24, version=2)
with open(os.path.join(C, "npy_short.npy"), "wb") as f:
    f.write(b"\x93NUMPY\x01\x00\xff\x00{'descr'")
xinf = xv.copy()
xinf[0, 0, 2] = -np.inf
np.save(os.path.join(C, "x_inf.npy"), xinf)


# -- protobuf nesting: subgraphs (NodeProto.attribute.g) nested 30 deep. protobuf-c
# unpacks recursively without a limit: 20000 levels (250 kB) overflowed the stack.
def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num, payload):
    return varint((num << 3) | 2) + varint(len(payload)) + payload


g = b""
for _ in range(30):
    g = field(1, field(5, field(6, g)))  # GraphProto.node / NodeProto.attribute / AttributeProto.g
with open(os.path.join(C, "deep_nesting.onnx"), "wb") as f:
    f.write(varint(1 << 3) + varint(8) + field(7, g) + field(8, varint(2 << 3) + varint(17)))

# -- a variadic op with more operands than lowering handles (was an internal error)
xs2 = helper.make_tensor_value_info("x", F, [1, 2])
csave(model([helper.make_node("Relu", ["x"], [f"t{i}"], name=f"r{i}") for i in range(65)] +
            [helper.make_node("Sum", [f"t{i}" for i in range(65)], ["y"], name="sum")], [xs2], [yany]), "sum65.onnx")
# ... and Concat takes up to 1024 (the interpreter asserted above 64)
csave(model([helper.make_node("Relu", ["x"], [f"t{i}"], name=f"r{i}") for i in range(200)] +
            [helper.make_node("Concat", [f"t{i}" for i in range(200)], ["y"], name="cat", axis=1)], [xs2], [yany]),
      "concat200.onnx")
np.save(os.path.join(C, "x12.npy"), np.array([[-1.5, 2.0]], np.float32))
# -- more problems than one line lists: 66 nodes with an unsupported attribute (64 listed, then a count)
csave(model([helper.make_node("Relu", ["x"], [f"u{i}"], name=f"u{i}", strange=1) for i in range(66)] +
            [helper.make_node("Relu", ["x"], ["y"], name="relu")], [x], [y]), "many_problems.onnx")
# -- unsupported ops are grouped by type: 66 Foo nodes and an LSTM give one problem, in order of appearance
csave(model([helper.make_node("Foo", ["x"], [f"u{i}"], name=f"u{i}") for i in range(40)] +
            [helper.make_node("LSTM", ["x", "x", "x"], ["l"], name="lstm")] +
            [helper.make_node("Foo", ["x"], [f"u{i}"], name=f"u{i}") for i in range(40, 66)] +
            [helper.make_node("Bar", ["x"], ["b"], domain="custom.ops")] +
            [helper.make_node("Relu", ["x"], ["y"], name="relu")], [x], [y],
            extra_opsets=[("custom.ops", 1)]), "many_unsupported.onnx")
# -- a bfloat16 output (NumPy has none: written as float32; was float32 header over bfloat16 bytes)
csave(model([helper.make_node("Cast", ["x"], ["y"], name="cast", to=TensorProto.BFLOAT16)], [x],
            [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [1, 2, 3])]), "bf16_out.onnx")
# -- file bytes in a message are escaped (the message stays one line)
npy_raw("npy_descr_newline.npy", "{'descr': '|i1\n', 'fortran_order': False, 'shape': (3,), }\n", b"\0" * 3)
npy_raw("npy_descr_nul.npy", "{'descr': '<f4\0x', 'fortran_order': False, 'shape': (1, 2, 3), }\n", b"\0" * 24)
# -- control characters in names from the model become spaces in messages
csave(model([helper.make_node("Foo", ["x"], ["y"], name="a\nb\x1b[31mc")], [x], [y]), "name_ctrl.onnx")
# -- an integer input (a float .npy must not be truncated into it)
xi = helper.make_tensor_value_info("x", TensorProto.INT64, [1, 2, 3])
csave(model([helper.make_node("Cast", ["x"], ["y"], name="cast", to=F)], [xi], [y]), "int_input.onnx")
# -- indices read at run time (Gather, GatherElements): out of range is an error, not a clamped read
gx = helper.make_tensor_value_info("x", F, [4, 3])
gi = helper.make_tensor_value_info("idx", TensorProto.INT64, [2])
csave(model([helper.make_node("Gather", ["x", "idx"], ["y"], name="g", axis=0)], [gx, gi],
            [helper.make_tensor_value_info("y", F, [2, 3])]), "gather_runtime.onnx")
gxv = np.arange(12, dtype=np.float32).reshape(4, 3)
np.save(os.path.join(C, "gather_x.npy"), gxv)
np.save(os.path.join(C, "gather_idx_ok.npy"), np.array([-1, 2], np.int64))
np.save(os.path.join(C, "gather_expected.npy"), gxv[[-1, 2]])
np.save(os.path.join(C, "gather_idx_big.npy"), np.array([1, 4], np.int64))
np.save(os.path.join(C, "gather_idx_neg.npy"), np.array([-5, 0], np.int32))
ex = helper.make_tensor_value_info("x", F, [2, 3])
ei = helper.make_tensor_value_info("idx", TensorProto.INT64, [2, 3])
csave(model([helper.make_node("GatherElements", ["x", "idx"], ["y"], name="ge", axis=1)], [ex, ei],
            [helper.make_tensor_value_info("y", F, [2, 3])]), "gather_elements_runtime.onnx")
exv = np.arange(6, dtype=np.float32).reshape(2, 3)
eidx = np.array([[0, -1, 2], [2, 1, -3]], np.int64)
np.save(os.path.join(C, "gather_elements_x.npy"), exv)
np.save(os.path.join(C, "gather_elements_idx_ok.npy"), eidx)
np.save(os.path.join(C, "gather_elements_expected.npy"), np.take_along_axis(exv, eidx % 3, axis=1))
np.save(os.path.join(C, "gather_elements_idx_big.npy"), np.array([[0, 1, 2], [2, 3, 0]], np.int64))
# GatherND's index tuples and a loss's class targets, read at run time
ni = helper.make_tensor_value_info("idx", TensorProto.INT64, [2, 2])
csave(model([helper.make_node("GatherND", ["x", "idx"], ["y"], name="gnd")], [gx, ni],
            [helper.make_tensor_value_info("y", F, [2])]), "gathernd_runtime.onnx")
np.save(os.path.join(C, "gathernd_idx_ok.npy"), np.array([[3, 2], [-4, -1]], np.int64))
np.save(os.path.join(C, "gathernd_expected.npy"), np.array([gxv[3, 2], gxv[0, 2]], np.float32))
np.save(os.path.join(C, "gathernd_idx_big.npy"), np.array([[0, 0], [4, 1]], np.int64))
lt = helper.make_tensor_value_info("t", TensorProto.INT64, [4])
csave(model([helper.make_node("NegativeLogLikelihoodLoss", ["x", "t"], ["y"], name="nll", ignore_index=-1)],
            [helper.make_tensor_value_info("x", F, [4, 3]), lt], [helper.make_tensor_value_info("y", F, [])]),
      "nll_runtime.onnx")
np.save(os.path.join(C, "nll_t_ok.npy"), np.array([2, -1, 0, 1], np.int64))
np.save(os.path.join(C, "nll_expected.npy"), np.array(-(gxv[0, 2] + gxv[2, 0] + gxv[3, 1]) / 3, np.float32))
np.save(os.path.join(C, "nll_t_bad.npy"), np.array([2, 3, 0, 1], np.int64))
# -- training: a model with one output channel (the softmax losses need >= 2 classes)
y1 = helper.make_tensor_value_info("y", F, [1, 1, 4, 4, 4])
w1 = numpy_helper.from_array(np.full((1, 2, 1, 1, 1), 0.5, np.float32), "w")
csave(model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], [x5], [y1], [w1]), "one_channel.onnx")
# -- ScatterND with run-time indices: out-of-range indices are an error in the interpreter; the
# generated code skips those updates (it never writes outside the output)
xs4 = helper.make_tensor_value_info("x", F, [4])
si = helper.make_tensor_value_info("idx", TensorProto.INT64, [2, 1])
csave(model([helper.make_node("ScatterND", ["x", "idx", "u"], ["y"], name="n")], [xs4, si],
            [helper.make_tensor_value_info("y", F, [4])], [f32("u", [10.0, 20.0])]), "scatternd_runtime.onnx")
np.save(os.path.join(C, "x4.npy"), np.array([1.0, 2.0, 3.0, 4.0], np.float32))
np.save(os.path.join(C, "idx_ok.npy"), np.array([[-1], [1]], np.int64))
np.save(os.path.join(C, "idx_bad.npy"), np.array([[1], [4]], np.int64))
np.save(os.path.join(C, "scatternd_ok.expected.npy"), np.array([1.0, 20.0, 3.0, 10.0], np.float32))
np.save(os.path.join(C, "scatternd_bad.expected.npy"), np.array([1.0, 10.0, 3.0, 4.0], np.float32))
