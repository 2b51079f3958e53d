#!/bin/sh
# path_check.sh wino|dot|vox|act UNETRC SOURCE_DIR: node tests really take the path they are written for.
# Their values are checked elsewhere (node_extra_conv, node_extra_act, against float64 references);
# without this a change to the conditions of a kernel or a fusion could send them down another path
# and those tests would still pass.
#   wino: tests/node_extra/conv/test_fconv_wino_* (and a training step of basicunet3d) go through the
#         Winograd kernel (ops/conv_wino.c: its weights packed for the transform made at each call are
#         the buffer `wino_g`; with UNETRC_WINO_U=stored the transformed weights packed at compile
#         time, `wino`, in a larger weights file), and UNETRC_CONV=direct really turns it off.
#   dot:  tests/node_extra/conv/test_fconv*_dot_* take the few-output-channels form of the direct
#         kernel (ops/conv_direct.c, dot_tile: its packed weights are the buffer `wdot`), and
#         UNETRC_CONV_DOT=0 really turns it off.
#   vox:  tests/node_extra/conv/test_fconv*_vox_* put output voxels in the lanes (vox_tile: buffer
#         `wvox`), and UNETRC_CONV_VOX=0 really turns it off.
#   act:  each test of tests/node_extra/act has in --dump-ir the pattern of its expect_ir.txt (e.g. a
#         FusedConv with act=swish(1.5): the SiLU/Swish pattern was recognised
#         (passes/act_patterns.c) and fused).
set -u
MODE=$1; U=$2; S=$3
T=$(mktemp -d /tmp/unetrc-path-XXXXXX)
trap 'rm -rf "$T"' EXIT
case $MODE in
wino) tests="$S/tests/node_extra/conv/test_fconv_wino_*"; least=8; buf=wino_g; off=UNETRC_CONV=direct
      force=UNETRC_WINO_U=call ;;
dot) tests="$S/tests/node_extra/conv/test_fconv*_dot_*"; least=12; buf=wdot; off=UNETRC_CONV_DOT=0 ;;
vox) tests="$S/tests/node_extra/conv/test_fconv*_vox_*"; least=7; buf=wvox; off=UNETRC_CONV_VOX=0 ;;
act) tests="$S/tests/node_extra/act/test_*"; least=12 ;;
*) echo "usage: path_check.sh wino|dot|vox|act UNETRC SOURCE_DIR"; exit 2 ;;
esac
fails=0; n=0
fail() { echo "FAIL: $name: $*"; fails=$((fails + 1)); }
for d in $tests; do
    name=$(basename "$d")
    n=$((n + 1))
    # (wino: U made at each call, as the memory plan grants it on larger inputs than these)
    if ! env "${force:-URC_NONE=}" "$U" "$d/model.onnx" -o "$T/seg.c" --dump-ir > "$T/ir" 2>"$T/err"; then
        fail "compile: $(cat "$T/err")"; continue
    fi
    if [ "$MODE" = act ]; then
        grep -Eq "$(cat "$d/expect_ir.txt")" "$T/ir" || { fail "no line matching '$(cat "$d/expect_ir.txt")' in --dump-ir:"; sed 's/^/    /' "$T/ir"; }
        continue
    fi
    grep -q "$buf\\[" "$T/seg.c" || fail "no $buf kernel"
    if [ "$MODE" = wino ]; then # (and the taps take less of the weights file than U: 27 or 9 values, not 64 or 16)
        a=$(stat -c %s "$T/seg.weights")
        UNETRC_WINO_U=stored "$U" "$d/model.onnx" -o "$T/seg.c" 2>"$T/err" || fail "compile (stored U): $(cat "$T/err")"
        grep -q "wino\\[" "$T/seg.c" && ! grep -q "wino_g\\[" "$T/seg.c" || fail "UNETRC_WINO_U=stored: no stored U"
        b=$(stat -c %s "$T/seg.weights")
        [ "$a" -lt "$b" ] || fail "weights file $a bytes with U made at each call, not less than $b with U stored"
    fi
    if ! env "$off" "$U" "$d/model.onnx" -o "$T/seg.c" 2>"$T/err"; then fail "compile ($off): $(cat "$T/err")"; continue; fi
    if grep -q "$buf\\[" "$T/seg.c"; then fail "$off still uses $buf"; fi
done
if [ "$MODE" = wino ]; then
    # a training step's 3x3x3 convolutions (forward and data gradient, run-time weights in w_last order)
    # make U from the step's W: kernels binding the scratch u and the run-time w; none with UNETRC_CONV=direct
    name=train_basicunet3d
    p='_conv(const float \*restrict x, float \*restrict u, const float \*restrict w,'
    "$U" "$S/tests/train/models/basicunet3d/model.onnx" -o "$T/train.c" --train 2>"$T/err" || fail "compile: $(cat "$T/err")"
    k=$(grep -c "$p" "$T/train.c")
    [ "$k" -ge 4 ] || fail "$k Winograd kernels with run-time weights in the training step, expected at least 4"
    UNETRC_CONV=direct "$U" "$S/tests/train/models/basicunet3d/model.onnx" -o "$T/train.c" --train 2>"$T/err" ||
        fail "compile (direct): $(cat "$T/err")"
    if grep -q "$p" "$T/train.c"; then fail "UNETRC_CONV=direct still makes U in the training step"; fi
    # by default U is made at each call only where the memory plan grants its scratch (memplan.c): on
    # unet2d_5slice for a Cortex-M7 some of it, the arena as with every U stored, the weights file smaller (made
    # at each call everywhere, the arena would grow by 2.5x there)
    name=cortexm7_unet2d_5slice
    m7() { # m7 stored|default|call: "arena-bytes weights-bytes" of unet2d_5slice for a Cortex-M7
        UNETRC_WINO_U=$1 "$U" "$S/models/unet2d_5slice.onnx" -o "$T/m7.c" --target-cpu cortex-m7 2>"$T/err" ||
            fail "compile ($1): $(cat "$T/err")"
        echo "$(sed -n 's/^#define M7_ARENA_SIZE \([0-9]*\).*/\1/p' "$T/m7.h") $(stat -c %s "$T/m7.weights")"
    }
    st=$(m7 stored); de=$(m7 default); ca=$(m7 call)
    echo "$st $de $ca" | awk '{ exit !($3 == $1 && $4 < $2 && $5 > $1) }' ||
        fail "arena and weights bytes: U stored $st, default $de, U at each call everywhere $ca"
fi
if [ "$n" -lt "$least" ]; then echo "FAIL: only $n cases found ($tests)"; fails=$((fails + 1)); fi
echo "${MODE}_check: $n cases, $fails failures"
[ "$fails" -eq 0 ]
