#!/bin/sh
# grad_models_test.sh UNETRC NPY_COMPARE FIXTURES_DIR [NAME...]
#
# `unetrc grad` on small MONAI models (UNETR, BasicUNet, UNet; exported without
# constant folding) against PyTorch autograd with MONAI
# DiceCELoss(to_onehot_y=True, softmax=True) -- golden files written by
# models/export_grad_fixtures.py into FIXTURES_DIR/NAME/ -- through the
# generated C and through the interpreter (--interp):
#   * loss: |loss - ref| <= 1e-5 |ref| (ref from loss.txt);
#   * every gradient: `npy_compare REF OUT tol`, i.e. max|ref - out| <= tol max|ref|,
#     tol 1e-3 or the value in tolerances.txt (ill-conditioned tensors);
#   * the gradient files written by unetrc and the reference files are the same set.
# Without NAME arguments every subdirectory of FIXTURES_DIR is tested. GRAD_MODES (default "c interp")
# selects the modes (the Swin UNETR fixture runs "c" only: the interpreter takes too long at 64^3); mode "c" is
# the generated code of the backend UNETRC_BACKEND (default c: `unetrc grad --backend NAME`).
# Prints per model and mode the loss error, the worst gradient error relative to its max over the
# tensors with the default 1e-3 bound, and the largest error/bound over the tensors in tolerances.txt.
set -u
U=$1; CMP=$2; D=$(cd "$3" && pwd); shift 3
REF_FILES_EXCLUDE='^(x|label)\.npy$'
T=$(mktemp -d /tmp/unetrc-gradmodels-XXXXXX)
trap 'rm -rf "$T"' EXIT
if [ $# -gt 0 ]; then names="$*"; else names=$(cd "$D" && for n in *; do [ -f "$n/model.onnx" ] && echo "$n"; done); fi
[ -n "$names" ] || { echo "FAIL: no fixtures in $D"; exit 1; }
fails=0; nmodels=0
for name in $names; do
    F=$D/$name
    nmodels=$((nmodels+1))
    ref=$(cat "$F/loss.txt")
    (cd "$F" && ls *.npy | grep -Ev "$REF_FILES_EXCLUDE" | sort) > "$T/$name.ref.list"
    nref=$(wc -l < "$T/$name.ref.list")
    for mode in ${GRAD_MODES:-c interp}; do
        extra="--backend ${UNETRC_BACKEND:-c}"; [ "$mode" = interp ] && extra="--interp"
        O=$T/$name.$mode
        if ! "$U" grad "$F/model.onnx" --input "$F/x.npy" --label "$F/label.npy" --loss dicece --out "$O" $extra \
                > "$T/out" 2> "$T/err"; then
            echo "FAIL $name $mode: unetrc grad failed:"; sed 's/^/    /' "$T/err" | head -20
            fails=$((fails+1)); continue
        fi
        got=$(sed -n 's/^loss=//p' "$T/out" | head -1)
        lerr=$(awk -v a="$got" -v b="$ref" 'BEGIN { if (a == "") { print "nan"; exit } d = a - b; if (d < 0) d = -d; if (b < 0) b = -b; printf "%.2e", d / b }')
        if ! awk -v e="$lerr" 'BEGIN { exit !(e != "nan" && e + 0 <= 1e-5) }'; then
            echo "FAIL $name $mode: loss '$got', PyTorch $ref (rel. error $lerr)"; fails=$((fails+1))
        fi
        (cd "$O" && ls *.npy 2>/dev/null | sort) > "$T/$name.$mode.list"
        extra_out=$(comm -13 "$T/$name.ref.list" "$T/$name.$mode.list")
        missing=$(comm -23 "$T/$name.ref.list" "$T/$name.$mode.list")
        [ -z "$extra_out" ] || { echo "FAIL $name $mode: gradients without a reference:" $extra_out; fails=$((fails+1)); }
        [ -z "$missing" ] || { echo "FAIL $name $mode: reference gradients not written:" $missing; fails=$((fails+1)); }
        worst=0; worstf=-; fl=0; gfails=0
        while read -r f; do
            [ -f "$O/$f" ] || continue
            tol=$(awk -v f="$f" '$1 == f { print $2 }' "$F/tolerances.txt" 2>/dev/null)
            [ -n "$tol" ] || tol=1e-3
            res=$("$CMP" "$F/$f" "$O/$f" "$tol" 2>&1); rc=$?
            rel=$(echo "$res" | sed -n 's/.*relative = \([^ ]*\) .*/\1/p')
            [ -n "$rel" ] || rel=inf
            if [ "$tol" = 1e-3 ] && awk -v a="$rel" -v b="$worst" 'BEGIN { exit !(a + 0 > b + 0 || a == "inf" || a == "nan") }'; then
                worst=$rel; worstf=$f
            fi
            if [ "$tol" != 1e-3 ]; then
                fl=$(awk -v a="$rel" -v t="$tol" -v m="$fl" 'BEGIN { r = (a == "inf" || a == "nan") ? 1e30 : a / t; printf "%.3g", (r > m ? r : m) }')
            fi
            if [ $rc -ne 0 ]; then
                echo "FAIL $name $mode: gradient $f: $res"; gfails=$((gfails+1))
            fi
        done < "$T/$name.ref.list"
        fails=$((fails+gfails))
        echo "$name $mode: loss rel. error $lerr, $nref gradients, worst (tol 1e-3 tensors) $worst at $worstf, floored tensors: worst error/bound $fl, $gfails failed"
    done
done
echo "grad models: $nmodels models, $fails failures"
[ "$fails" = 0 ]
