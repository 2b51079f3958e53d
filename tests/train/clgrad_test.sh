#!/bin/sh
# clgrad_test.sh UNETRC NPY_COMPARE: `unetrc grad` through the generated C,
# whose backward pass runs the channels-last gradient kernels after the
# layout and fusion passes, against the interpreter: every parameter's
# gradient to 1e-5 of its max, the same loss. Fixtures:
#   clgrad/              a float32 conv / InstanceNorm / GroupNorm / ConvTranspose
#                        network (make_clgrad_model.py)
#   clgrad_bn_residual/  MONAI UnetResBlock(norm_name='batch') + 1x1 conv, exported
#                        with training=PRESERVE: Add(BN(a), BN(b)) once made the
#                        fusenorm pass fuse the Add twice (models/check_monai.py --grad)
set -u
U=$1; CMP=$2
T=$(mktemp -d /tmp/unetrc-clgrad-XXXXXX)
trap 'rm -rf "$T"' EXIT
status=0
for name in clgrad clgrad_bn_residual; do
    D=$(cd "$(dirname "$0")/$name" && pwd)
    fails=0
    for mode in c interp; do
        extra=""; [ "$mode" = interp ] && extra="--interp"
        "$U" grad "$D/model.onnx" --input "$D/x.npy" --label "$D/label.npy" --out "$T/$name.$mode" $extra > "$T/$name.$mode.loss" ||
            { echo "FAIL: $name: unetrc grad ($mode)"; exit 1; }
    done
    cmp -s "$T/$name.c.loss" "$T/$name.interp.loss" ||
        awk -v a="$(cut -d= -f2 "$T/$name.c.loss")" -v b="$(cut -d= -f2 "$T/$name.interp.loss")" \
            'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-6 * (b < 0 ? -b : b)) }' ||
        { echo "FAIL: $name: loss $(cat "$T/$name.c.loss") (C), $(cat "$T/$name.interp.loss") (interpreter)"; fails=$((fails+1)); }
    n=0
    for f in "$T/$name.interp"/*.npy; do
        n=$((n+1))
        "$CMP" "$f" "$T/$name.c/$(basename "$f")" 1e-5 > /dev/null ||
            { echo "FAIL: $name: gradient $(basename "$f" .npy)"; fails=$((fails+1)); }
    done
    echo "$name: $n gradients, $fails failures"
    [ "$n" -gt 8 ] && [ "$fails" = 0 ] || status=1
done
exit $status
