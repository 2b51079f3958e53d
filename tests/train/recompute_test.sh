#!/bin/sh
# recompute_test.sh UNETRC NPY_COMPARE FIXTURE_DIR: --recompute GLOB
# (autodiff/recompute.c) on a golden-gradient fixture (tests/train/models/NAME):
#   - the gradients equal those without --recompute bit for bit (the clones
#     repeat the forward's arithmetic) and match PyTorch's references;
#   - the training arena is smaller than without it;
#   - a glob that selects nothing is an error with its exact message.
set -u
U=$1; CMP=$2; M=$3
T=$(mktemp -d /tmp/unetrc-recompute-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
G='/decoder*'
"$U" grad "$M/model.onnx" --input "$M/x.npy" --label "$M/label.npy" --out "$T/plain" > "$T/plain.loss" || fail "grad"
"$U" grad "$M/model.onnx" --input "$M/x.npy" --label "$M/label.npy" --out "$T/rc" --recompute "$G" > "$T/rc.loss" ||
    fail "grad --recompute"
cmp -s "$T/plain.loss" "$T/rc.loss" || fail "loss $(cat "$T/rc.loss") with --recompute, $(cat "$T/plain.loss") without"
n=0
for f in "$T"/plain/*.npy; do
    b=$(basename "$f")
    n=$((n+1))
    "$CMP" "$f" "$T/rc/$b" 0 > /dev/null || fail "gradient $b differs with --recompute"
    tol=$(awk -v f="$b" '$1 == f { print $2 }' "$M/tolerances.txt" 2>/dev/null)
    "$CMP" "$M/$b" "$T/rc/$b" "${tol:-1e-3}" > /dev/null || fail "gradient $b does not match PyTorch's"
done
[ "$n" -gt 10 ] || fail "only $n gradients"
mkdir -p "$T/a" "$T/b" "$T/c"
"$U" "$M/model.onnx" -o "$T/a/seg.c" --train > /dev/null || fail "compile"
"$U" "$M/model.onnx" -o "$T/b/seg.c" --train --recompute "$G" > /dev/null || fail "compile --recompute"
a=$(sed -n 's/^#define SEG_TRAIN_ARENA_SIZE \([0-9]*\).*/\1/p' "$T/a/seg.h")
b=$(sed -n 's/^#define SEG_TRAIN_ARENA_SIZE \([0-9]*\).*/\1/p' "$T/b/seg.h")
[ -n "$a" ] && [ -n "$b" ] && [ "$b" -lt "$a" ] || fail "train arena $b bytes with --recompute, $a without"
msg=$("$U" "$M/model.onnx" -o "$T/c/seg.c" --train --recompute 'no such node' 2>&1)
[ $? = 1 ] || fail "--recompute matching nothing: exit status"
want="unetrc: error: $M/model.onnx: train: --recompute: no forward node whose output the backward pass reads matches"
[ "$msg" = "$want" ] || fail "message: $msg"
[ ! -e "$T/c/seg.c" ] || fail "output written after an error"
echo "recompute: $n gradients identical, train arena $a -> $b bytes"
