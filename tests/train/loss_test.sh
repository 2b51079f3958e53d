#!/bin/sh
# loss_test.sh UNETRC NPY_COMPARE: `unetrc grad` against MONAI DiceCELoss +
# PyTorch autograd (fixtures from make_loss_fixtures.py), per loss variant,
# through the generated C and the interpreter: loss to 1e-6 relative,
# gradients to 1e-5 of their max.
set -u
U=$1; CMP=$2
D=$(cd "$(dirname "$0")/loss" && pwd)
T=$(mktemp -d /tmp/unetrc-loss-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
while read -r name ref flags; do
    for mode in c interp; do
        extra=""; [ "$mode" = interp ] && extra="--interp"
        out=$("$U" grad "$D/model.onnx" --input "$D/x.npy" --label "$D/label.npy" --out "$T/$name.$mode" $flags $extra) || { echo "FAIL $name $mode: unetrc grad failed"; fails=$((fails+1)); continue; }
        got=${out#loss=}
        if ! awk -v a="$got" -v b="$ref" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-6 * (b < 0 ? -b : b)) }'; then
            echo "FAIL $name $mode: loss $got, MONAI $ref"; fails=$((fails+1))
        fi
        for p in w b; do
            "$CMP" "$D/$name.$p.npy" "$T/$name.$mode/$p.npy" 1e-5 >/dev/null || { echo "FAIL $name $mode: gradient of $p"; fails=$((fails+1)); }
        done
    done
done < "$D/variants.txt"
echo "loss tests: $fails failures"
[ "$fails" = 0 ]
