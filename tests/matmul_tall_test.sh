#!/bin/sh
# matmul_tall_test.sh UNETRC NPY_COMPARE: a tall A times a small constant B (tests/data/matmul_tall.onnx,
# make_matmul_tall.py) runs with the row groups outside the column panels (ops/matmul.c, rows_outer: the
# parallel loop is over row groups, the panel loop inside it) for targets whose L2 is smaller than A (generic,
# armv8-a), and the generated C of that path computes what the interpreter computes (partial row and column
# tiles included). The old order streamed A from memory once per panel (Swin's MLPs: 2x slower).
set -eu
U=$1; CMP=$2
D=$(cd "$(dirname "$0")/data" && pwd)
T=$(mktemp -d /tmp/unetrc-mmtall-XXXXXX)
trap 'rm -rf "$T"' EXIT
for cpu in generic armv8-a; do
    "$U" "$D/matmul_tall.onnx" -o "$T/seg.c" --target-cpu "$cpu"
    # the first loop of the matmul kernel is over row groups, then the panels
    order=$(awk '/unetrc_fusedmatmul\(|_matmul\(/ && /^static/ {k=1} k && /for \(urc_idx (grp|p) / {match($0, /urc_idx [a-z]+/); print substr($0, RSTART + 8, RLENGTH - 8)} /^}/ {k=0}' "$T/seg.c" | head -2 | tr '\n' ' ')
    [ "$order" = "grp p " ] || { echo "FAIL: $cpu: loop order '$order', expected 'grp p '"; exit 1; }
done
"$U" run "$D/matmul_tall.onnx" --interp --input "$D/matmul_tall.input.npy" --output "$T/ref.npy"
"$U" run "$D/matmul_tall.onnx" --target-cpu generic --input "$D/matmul_tall.input.npy" --output "$T/c.npy"
"$CMP" "$T/ref.npy" "$T/c.npy" 1e-5
echo "matmul_tall_test: ok"
