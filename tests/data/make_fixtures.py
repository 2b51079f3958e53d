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

save(model(good.graph.node, [x], [y], [bias], opset=9), "opset9.onnx")

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
