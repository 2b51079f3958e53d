#!/usr/bin/env python3
"""Extra node tests (ONNX backend-test layout) for ScatterND: the reductions max and min
(opset 18, newer than Debian's ONNX 1.12 data), negative and duplicate indices, index tuples
shorter than the data's rank (slice updates), ranks 1 to 5, integer and bool data, and
constant indices (initializers: checked at compile time, distinct tuples updated in
parallel). References are computed with numpy (a loop over the index tuples, in order).
Regenerate:
    python3 tests/node_extra/gen_scatter.py"""
import numpy as np
from onnx import helper

import nodegen

OUT = nodegen.fresh_out(__file__, "scatter")
rng = np.random.default_rng(17)


def scatter_nd(data, indices, updates, reduction="none"):
    """ScatterND by its definition: a copy of data, then each index tuple's slice in order."""
    out = data.copy()
    k = indices.shape[-1]
    idx = indices.reshape(-1, k)
    upd = updates.reshape((idx.shape[0],) + data.shape[k:])
    for j in range(idx.shape[0]):
        t = tuple(int(v) + (data.shape[d] if v < 0 else 0) for d, v in enumerate(idx[j]))
        if reduction == "none":
            out[t] = upd[j]
        elif reduction == "add":
            out[t] = out[t] + upd[j]
        elif reduction == "mul":
            out[t] = out[t] * upd[j]
        elif reduction == "max":
            out[t] = np.maximum(out[t], upd[j])
        else:
            out[t] = np.minimum(out[t], upd[j])
    return out


def save(name, data, indices, updates, reduction=None, opset=18, const_indices=False):
    y = scatter_nd(data, indices, updates, reduction or "none")
    attrs = {} if reduction is None else {"reduction": reduction}
    node = helper.make_node("ScatterND", ["data", "indices", "updates"], ["y"], **attrs)
    ins = [("data", data), ("updates", updates)] if const_indices else [("data", data), ("indices", indices), ("updates", updates)]
    inits = [("indices", indices)] if const_indices else []
    nodegen.save(OUT, name, [node], ins, [("y", y)], inits, opset)


f32 = np.float32
data3 = rng.standard_normal((4, 5, 6)).astype(f32)
# slices of a 3-D tensor (k = 1), with a duplicate and a negative index
ind1 = np.array([[0], [-1], [2], [0]], np.int64)
upd1 = rng.standard_normal((4, 5, 6)).astype(f32)
for red in ("none", "add", "mul", "max", "min"):
    save(f"scatternd_slices_{red}", data3, ind1, upd1, red)
# element updates (k = rank) with duplicates, indices of rank 3
ind3 = np.array([[[0, 1, 2], [3, 4, 5]], [[0, 1, 2], [-4, -5, -6]]], np.int64)
upd3 = rng.standard_normal((2, 2)).astype(f32)
for red in ("add", "max", "min"):
    save(f"scatternd_elems_{red}", data3, ind3, upd3, red)
# rows (k = 2) of float64 data
ind2 = np.array([[1, 2], [3, 0], [1, -3]], np.int64)
upd2 = rng.standard_normal((3, 6)).astype(np.float64)
save("scatternd_rows_f64_add", data3.astype(np.float64), ind2, upd2, "add")
# integer and bool data
di = rng.integers(-50, 50, (3, 4)).astype(np.int32)
ii = np.array([[2], [0], [2]], np.int64)
ui = rng.integers(-5, 5, (3, 4)).astype(np.int32)
for red in ("none", "mul", "max", "min"):
    save(f"scatternd_int32_{red}", di, ii, ui, red)
du = rng.integers(0, 255, (6,)).astype(np.uint8)
save("scatternd_uint8_max", du, np.array([[1], [4]], np.int64), np.array([200, 3], np.uint8), "max")
db = rng.integers(0, 2, (2, 3)).astype(np.bool_)
save("scatternd_bool", db, np.array([[1, 2], [0, 0]], np.int64), np.array([True, False]))
# rank 1 data, every element replaced (distinct tuples), and a 5-D window-mask-like update
save("scatternd_rank1_all", rng.standard_normal(5).astype(f32), np.array([[4], [3], [2], [1], [0]], np.int64),
     rng.standard_normal(5).astype(f32), opset=11)
d5 = np.zeros((1, 5, 5, 5, 1), f32)
i5 = np.array([[[0, 3], [0, 4]]], np.int64)
save("scatternd_5d_block", d5, i5, np.full((1, 2, 5, 5, 1), 2.0, f32), opset=13)
# constant indices: checked at compile time; distinct tuples run in parallel, duplicates serially
save("scatternd_const_distinct", data3, np.array([[3], [1], [0]], np.int64), upd1[:3], "add", const_indices=True)
save("scatternd_const_dup", data3, ind1, upd1, "mul", const_indices=True)
save("scatternd_const_elems16", data3, ind3, upd3, "mul", opset=16, const_indices=True)
