#!/bin/sh
# precision_test.sh UNETRC NPY_COMPARE MODELS_DIR NAME [quick|models] [extra unetrc run options]
#
# --precision on bundled model NAME (docs/cli.md). Both modes: `run --precision bf16|fp16 --compare`
# against float32 on NAME.input.npy, each output within the tolerance below and with a label agreement
# (argmax over the channels) of at least 99 % (bf16) / 99.9 % (fp16), and an error that is not zero (the
# weights really were rounded).
#
# Tolerances (max |reduced - fp32| / max |fp32|): the unit roundoff of the weights is u = 2^-9 = 1.95e-3
# for bf16 and 2^-12 = 2.44e-4 for fp16 (round to nearest even; activations and sums stay float32). Measured
# (max over outputs): bf16 3.4e-3 (unetr_pp_small) .. 7.1e-3 (unet2d_5slice), 1.7-4 u; fp16 4.2e-4 .. 8.1e-4
# (unetr_conv_tiny), 1.7-3.3 u; UNETR 96^3 (bench/run_bench.py): bf16 7.8e-3, fp16 9.9e-4, 4 u. We allow 8 u:
# 1.56e-2 and 1.95e-3.
#
# quick (the default suite, one model: fp16 through the C backend, bf16 through LLVM when URC_TEST_LLVM=1,
# which CMake sets when the LLVM backend is built, else C) also checks: the weights file is half the float32
# one (within the float32 biases and alignment: ratio in [0.49, 0.53]) for bf16 and fp16; --keep-fp32 '*' gives the float32
# file and code; a --keep-fp32 glob matching no node is an error; --compare's usage errors; generated
# fp16 code with the direct (non-Winograd) kernels equals `run --interp --precision fp16` (the interpreter
# on the rounded weights) to 1e-5: the kernels convert exactly.
set -eu
unetrc=$1; cmp=$2; dir=$3; name=$4; mode=${5:-models}
[ $# -ge 5 ] && shift 5 || shift 4
model="$dir/$name.onnx"; input="$dir/$name.input.npy"
out=$(mktemp -d /tmp/unetrc-prec-XXXXXX)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# compare P TOL MIN_AGREEMENT [options]: every output's line within TOL, agreement >= MIN_AGREEMENT, error > 0
compare() {
    p=$1; tol=$2; agree=$3; shift 3
    "$unetrc" run "$model" --input "$input" --precision "$p" --compare "$@" >"$out/cmp.txt"
    cat "$out/cmp.txt"
    n=$(grep -c "^compare .*: precision=$p max_abs_err=[0-9.e+-]* max_rel_err=[0-9.e+-]* max_abs_ref=[0-9.e+-]* label_agreement=[0-9.]*% voxels=[0-9]*$" "$out/cmp.txt" || true)
    [ "$n" -ge 1 ] && [ "$n" -eq "$(wc -l <"$out/cmp.txt")" ] || fail "$p: unexpected --compare output"
    awk -v tol="$tol" -v agree="$agree" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        rel = v["max_rel_err"] + 0; la = v["label_agreement"]; sub("%", "", la)
        if (!(rel > 0)) { print "FAIL: " $2 " error is zero: the weights were not rounded"; bad = 1 }
        if (!(rel <= tol)) { print "FAIL: " $2 " max_rel_err " rel " above " tol; bad = 1 }
        if (!(la + 0 >= agree)) { print "FAIL: " $2 " label agreement " la "% below " agree "%"; bad = 1 }
    } END { exit bad }' "$out/cmp.txt" || fail "$p out of tolerance"
}

if [ "$mode" != quick ]; then
    compare bf16 1.56e-2 99 "$@"
    compare fp16 1.95e-3 99.9 "$@"
    echo "ok: $name"
    exit 0
fi
# quick: fp16 through C, bf16 through LLVM when it is built (else C)
compare fp16 1.95e-3 99.9
if [ "${URC_TEST_LLVM:-0}" = 1 ]; then compare bf16 1.56e-2 99 --backend llvm; else compare bf16 1.56e-2 99; fi

# weights sizes: reduced about half, --keep-fp32 '*' the float32 file
"$unetrc" "$model" -o "$out/f32.c"
for p in bf16 fp16; do
    "$unetrc" "$model" -o "$out/$p.c" --precision $p
    a=$(stat -c %s "$out/f32.weights"); b=$(stat -c %s "$out/$p.weights")
    echo "weights: fp32 $a bytes, $p $b bytes"
    awk -v a="$a" -v b="$b" 'BEGIN { r = b / a; exit !(r >= 0.49 && r <= 0.53) }' || fail "$p weights $b not half of $a"
done
mkdir "$out/keep"
"$unetrc" "$model" -o "$out/keep/f32.c" --precision bf16 --keep-fp32 '*'
cmp "$out/keep/f32.weights" "$out/f32.weights" || fail "--keep-fp32 '*' changed the weights"
[ "$(grep -c 'urc_bf16_to_f32(' "$out/bf16.c")" -gt "$(grep -c 'urc_bf16_to_f32(' "$out/f32.c")" ] ||
    fail "the bf16 code converts no weights"
tail -n +3 "$out/keep/f32.c" >"$out/keep.tail"; tail -n +3 "$out/f32.c" >"$out/f32.tail"
cmp "$out/keep.tail" "$out/f32.tail" || fail "--keep-fp32 '*' gives other code than float32"
set +e
msg=$("$unetrc" "$model" -o "$out/x.c" --precision bf16 --keep-fp32 'no_such_node*' 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "keep-fp32 'no_such_node\*' matches no convolution or matrix product" ||
    fail "--keep-fp32 matching nothing: exit $rc: $msg"
msg=$("$unetrc" run "$model" --input "$input" --compare 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$msg" | grep -q "compare needs --precision bf16, fp16 or int8" || fail "--compare alone: exit $rc: $msg"
msg=$("$unetrc" run "$model" --input "$input" --precision bf8 --compare 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$msg" | grep -q "precision wants fp32, bf16, fp16 or int8, got 'bf8'" || fail "--precision bf8: $rc: $msg"
msg=$("$unetrc" train "$model" --data "$out" --precision bf16 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$msg" | grep -q "unknown option '--precision'" || fail "train --precision: $rc: $msg"
set -e

# the kernels' conversion: direct kernels (Winograd rounds its transformed weights instead) against the
# interpreter on the rounded weights
"$unetrc" run "$model" --input "$input" --precision fp16 --interp --output "$out/interp.npy"
UNETRC_CONV=direct "$unetrc" run "$model" --input "$input" --precision fp16 --output "$out/gen.npy"
"$cmp" "$out/interp.npy" "$out/gen.npy" 1e-5
echo "ok: $name (quick)"
