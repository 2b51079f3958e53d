#!/usr/bin/env python3
"""Writes tests/data/grid_chunks.onnx (+ .input.npy): convolutions whose padded grids (conv_amx.c) are over 1 MiB, so
the tile and quad kernels fill and read them in chunks of output slabs by default: a 16 -> 16 convolution (kernel 3,
padding 1) on 40^3 voxels (the grid 42^3 x 16 channels: 2.4 MB of bf16, 1.2 MB of uint8; chunks of 16, 16 and 8
slabs) and a stride-2 one 16 -> 16 to 20^3 (quads only: the grid 41^3 x 16, chunks of 16 and 4 slabs), each reading
the first convolution's (1 -> 16, float32 everywhere) activation, 1x1x1 heads. tests/amx_check.sh compares the arenas
with whole grids (UNETRC_GRID_SLABS=0) and runs the code (emulated where the CPU lacks AMX or VNNI) against the
interpreter. Run: .venv/bin/python tests/data/make_grid_chunks.py (outputs are committed)."""
from onnx import helper

from int8_gen import Gen

G = Gen(7)
nodes = [
    G.conv("X", "w0", (16, 1, 3, 3, 3), "c0"), helper.make_node("LeakyRelu", ["c0"], ["a"], alpha=0.2),
    G.conv("a", "w1", (16, 16, 3, 3, 3), "c1"), helper.make_node("Relu", ["c1"], ["r1"]),
    G.conv("r1", "w2", (2, 16, 1, 1, 1), "Y", pads=(0,) * 6),
    G.conv("a", "w3", (16, 16, 3, 3, 3), "s3", strides=(2, 2, 2)), helper.make_node("Relu", ["s3"], ["r3"]),
    G.conv("r3", "w4", (2, 16, 1, 1, 1), "Y2", pads=(0,) * 6),
]
G.save("grid_chunks", nodes, [1, 1, 40, 40, 40], (("Y", [1, 2, 40, 40, 40]), ("Y2", [1, 2, 20, 20, 20])))
