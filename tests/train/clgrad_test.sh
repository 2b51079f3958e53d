#!/bin/sh
# clgrad_test.sh UNETRC NPY_COMPARE: `unetrc grad` on a small float32 conv /
# InstanceNorm / GroupNorm / ConvTranspose network (make_clgrad_model.py)
# through the generated C, whose backward pass runs the channels-last
# gradient kernels after the layout pass, against the interpreter: every
# parameter's gradient to 1e-5 of its max, the same loss.
set -u
U=$1; CMP=$2
D=$(cd "$(dirname "$0")/clgrad" && pwd)
T=$(mktemp -d /tmp/unetrc-clgrad-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
for mode in c interp; do
    extra=""; [ "$mode" = interp ] && extra="--interp"
    "$U" grad "$D/model.onnx" --input "$D/x.npy" --label "$D/label.npy" --out "$T/$mode" $extra > "$T/$mode.loss" ||
        { echo "FAIL: unetrc grad ($mode)"; exit 1; }
done
cmp -s "$T/c.loss" "$T/interp.loss" || awk -v a="$(cut -d= -f2 "$T/c.loss")" -v b="$(cut -d= -f2 "$T/interp.loss")" \
    'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-6 * (b < 0 ? -b : b)) }' ||
    { echo "FAIL: loss $(cat "$T/c.loss") (C), $(cat "$T/interp.loss") (interpreter)"; fails=$((fails+1)); }
n=0
for f in "$T"/interp/*.npy; do
    n=$((n+1))
    "$CMP" "$f" "$T/c/$(basename "$f")" 1e-5 > /dev/null || { echo "FAIL: gradient $(basename "$f" .npy)"; fails=$((fails+1)); }
done
echo "clgrad: $n gradients, $fails failures"
[ "$n" -gt 10 ] && [ "$fails" = 0 ]
