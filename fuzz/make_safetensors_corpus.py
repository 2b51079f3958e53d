#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_safetensors (fuzz/corpus/safetensors/): a few
valid files (F32/F16/BF16, empty tensors, metadata, padded header) and the
classic lies (truncated, offsets out of range, overlapping, size vs shape,
unknown dtype, bad JSON). Plain struct/json, so it needs no safetensors."""
import json
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "safetensors")
os.makedirs(out, exist_ok=True)


def pack(header, data, pad=0):
    h = json.dumps(header, separators=(",", ":")).encode() + b" " * pad
    return struct.pack("<Q", len(h)) + h + data


def entry(dtype, shape, b, e):
    return {"dtype": dtype, "shape": shape, "data_offsets": [b, e]}


f32 = struct.pack("<6f", 1, -2, 3.5, 0, 1e-3, 7)
seeds = {
    "valid_f32.safetensors": pack({"w": entry("F32", [2, 3], 0, 24), "b": entry("F32", [0], 24, 24)}, f32),
    "valid_mixed.safetensors": pack(
        {"__metadata__": {"format": "pt"}, "a.weight": entry("F16", [2, 2], 0, 8), "a.bias": entry("BF16", [2], 8, 12),
         "c": entry("F32", [1], 12, 16)},
        struct.pack("<4H", 0x3C00, 0xC000, 0x3800, 0) + struct.pack("<2H", 0x3F80, 0xBF80) + struct.pack("<f", 2.0), pad=5),
    "truncated.safetensors": pack({"w": entry("F32", [2, 3], 0, 24)}, f32)[:40],
    "out_of_range.safetensors": pack({"w": entry("F32", [2, 3], 0, 28)}, f32),
    "overlap.safetensors": pack({"w": entry("F32", [2, 2], 0, 16), "v": entry("F32", [2], 8, 16)}, f32),
    "size_vs_shape.safetensors": pack({"w": entry("F32", [2, 2], 0, 24)}, f32),
    "bad_dtype.safetensors": pack({"w": entry("F64", [3], 0, 24)}, f32),
    "bad_json.safetensors": struct.pack("<Q", 12) + b'{"w": {"dty' + f32,
    "huge_len.safetensors": struct.pack("<Q", 1 << 62) + b"{}",
    "empty_header.safetensors": pack({}, b""),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
