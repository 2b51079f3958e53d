#!/usr/bin/env python3
"""Writes the small fixtures of the training-command checks in tests/cli_tests.sh
into tests/data/train/: label files for the 4-class model tests/train/loss/model.onnx
(label [2, 1, 5, 6, 7], classes 0..3) and models whose names collide once made
file names or C identifiers.

Run from anywhere: .venv/bin/python tests/data/make_train_fixtures.py
(needs `onnx` and `numpy`; the outputs are committed, deterministic)."""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "train")
os.makedirs(OUT, exist_ok=True)
label = np.load(os.path.join(HERE, "..", "train", "loss", "label.npy"))  # uint8 [2,1,5,6,7], 0..3
assert label.shape == (2, 1, 5, 6, 7) and sorted(np.unique(label)) == [0, 1, 2, 3]


def save_npy(name, a):
    np.save(os.path.join(OUT, name), a)


def model(nodes, inputs, outputs, inits, name):
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="unetrc-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name))


# BraTS-style: class 3 stored as 4 (int64), as the BraTS label maps {0, 1, 2, 4}.
brats = label.astype(np.int64)
brats[brats == 3] = 4
save_npy("label_brats.npy", brats)
# -1 at two voxels (int64).
neg = label.astype(np.int64)
neg.reshape(-1)[:2] = -1
save_npy("label_neg.npy", neg)
# 256 at one voxel of an int64 file: wraps to 0 when converted to uint8.
wrap = label.astype(np.int64)
wrap.reshape(-1)[5] = 256
save_npy("label_256.npy", wrap)
# uint8 255 (an "ignore" value of some datasets) at three voxels.
u8 = label.copy()
u8.reshape(-1)[10:13] = 255
save_npy("label_255.npy", u8)
# Every voxel out of range: trained to a loss of ~1 with exit 0 before.
save_npy("label_all4.npy", np.full_like(label, 4))
# Several offending values (int32): -1 at 2 voxels, 4 at 3, 9 at 1.
multi = label.astype(np.int32)
flat = multi.reshape(-1)
flat[0:2] = -1
flat[2:5] = 4
flat[5] = 9
save_npy("label_multi.npy", multi)
# The right element count in the wrong shape, and the accepted [N, S...] form.
save_npy("label_shape.npy", label.reshape(2, 5, 6, 7, 1))
save_npy("label_squeezed.npy", label.reshape(2, 5, 6, 7))
save_npy("label_float.npy", label.astype(np.float32))

# Three trainable parameters 'p/q', 'p_q' and 'p%2Fq': y = (x * p/q + p_q) * p%2Fq.
# With '/' made '_' the first two wrote the same gradient file.
F = TensorProto.FLOAT
x = helper.make_tensor_value_info("x", F, [1, 2, 2, 2, 2])
y = helper.make_tensor_value_info("y", F, [1, 2, 2, 2, 2])
par = lambda v, n: numpy_helper.from_array(np.array(v, np.float32).reshape(1, 2, 1, 1, 1), n)
model([helper.make_node("Mul", ["x", "p/q"], ["t"], name="mul1"),
       helper.make_node("Add", ["t", "p_q"], ["u"], name="add"),
       helper.make_node("Mul", ["u", "p%2Fq"], ["y"], name="mul2")],
      [x], [y], [par([1.5, -0.5], "p/q"), par([0.25, 0.75], "p_q"), par([2.0, 3.0], "p%2Fq")], "grad_names.onnx")
save_npy("grad_names.x.npy", np.linspace(-1, 1, 16, dtype=np.float32).reshape(1, 2, 2, 2, 2))
save_npy("grad_names.label.npy", np.array([0, 1, 1, 0, 1, 0, 0, 1], np.uint8).reshape(1, 1, 2, 2, 2))

# Inputs 'x_2', 'x' and 'x.': C names in_x_2, in_x and (x. -> in_x, taken -> in_x_2, taken) in_x_3.
vi = lambda n: helper.make_tensor_value_info(n, F, [2])
model([helper.make_node("Add", ["x_2", "x"], ["t"], name="add1"),
       helper.make_node("Add", ["t", "x."], ["y"], name="add2")],
      [vi("x_2"), vi("x"), vi("x.")], [vi("y")], [], "cnames.onnx")
