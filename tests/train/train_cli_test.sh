#!/bin/sh
# train_cli_test.sh UNETRC: `unetrc train` on a two-sample data folder:
# one progress line per step and a checkpoint; stopping after 4 of 6 steps
# and resuming gives a checkpoint byte-identical to running all 6 at once.
set -eu
U=$1
D=$(cd "$(dirname "$0")/loss" && pwd)
T=$(mktemp -d /tmp/unetrc-train-XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/data"
for s in a b; do cp "$D/x.npy" "$T/data/${s}_image.npy"; cp "$D/label.npy" "$T/data/${s}_label.npy"; done
run() { "$U" train "$D/model.onnx" --data "$T/data" --steps 6 --lr 0.05 --lr-final 0.01 "$@"; }
run --out "$T/straight" > "$T/straight.log"
n=$(grep -c '^step [0-9]*/6 loss=[0-9.]* dice=[0-9.]* lr=[0-9.e-]* ms=[0-9.]*$' "$T/straight.log")
[ "$n" = 6 ] || { echo "FAIL: $n progress lines"; cat "$T/straight.log"; exit 1; }
run --out "$T/resumed" --stop-after 4 > /dev/null
run --out "$T/resumed" --resume > "$T/resumed.log"
grep -q '^resumed from .* at step 4$' "$T/resumed.log" || { echo "FAIL: no resume"; cat "$T/resumed.log"; exit 1; }
cmp "$T/straight/checkpoint.bin" "$T/resumed/checkpoint.bin" || { echo "FAIL: resumed run differs"; exit 1; }
echo "train cli: progress lines, checkpoint and resume ok"
