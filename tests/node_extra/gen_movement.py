#!/usr/bin/env python3
"""Extra node tests (ONNX backend-test layout) for Transpose as ops/movement.c
lowers it: axes of extent 1 dropped, neighbouring axes merged, a chunk copy
when the innermost axis stays innermost, 16 x 16 tiles otherwise (sizes that
are not multiples of 16, leading axes of 1 to 4 as attention heads have).
References are numpy's transpose. Regenerate:
    python3 tests/node_extra/gen_movement.py"""
import os

import numpy as np
from onnx import helper, TensorProto

import nodegen

OUT = nodegen.fresh_out(__file__, "movement")
rng = np.random.default_rng(23)


def transpose(name, shape, perm, dtype=np.float32):
    x = rng.uniform(-1, 1, shape).astype(dtype) if dtype != np.int64 else rng.integers(-9, 9, shape)
    y = np.transpose(x, perm)
    tp = TensorProto.FLOAT if dtype == np.float32 else TensorProto.INT64
    d = os.path.join(OUT, "test_transpose_" + name)
    node = helper.make_node("Transpose", ["x"], ["y"], perm=list(perm))
    g = helper.make_graph([node], name, [helper.make_tensor_value_info("x", tp, x.shape)],
                          [helper.make_tensor_value_info("y", tp, y.shape)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    nodegen.write_case(d, m, [("x", np.ascontiguousarray(x))], [("y", np.ascontiguousarray(y))])


transpose("heads_kt", (1, 4, 37, 8), (0, 1, 3, 2))          # UNETR++ k^T: tiles of 8 x 16, a leading 1
transpose("qkv_split", (1, 33, 3, 4, 8), (2, 0, 3, 1, 4))   # chunk copy of 8, heads merged
transpose("to_channels_last", (1, 5, 6, 7, 19), (0, 2, 3, 4, 1))  # NCDHW -> NDHWC, merged D*H*W
transpose("to_channels_first", (1, 6, 7, 5, 19), (0, 4, 1, 2, 3))
transpose("reverse4", (2, 3, 17, 19), (3, 2, 1, 0))          # remainders on both tiled axes
transpose("big_tiles", (3, 48, 40), (0, 2, 1))               # whole and partial 16 x 16 tiles
transpose("ones_only", (1, 1, 5, 1), (3, 0, 1, 2))           # moves only axes of extent 1: a copy
transpose("middle_one", (5, 1, 7), (2, 1, 0))
transpose("windows", (1, 2, 3, 2, 3, 2, 3, 4), (0, 1, 3, 5, 2, 4, 6, 7))  # Swin window partition, rank 8
transpose("int64", (4, 1, 9, 3), (2, 3, 0, 1), np.int64)
