#!/bin/sh
# jit_test.sh quick|long UNETRC SOURCE_DIR NPY_COMPARE: --jit (the LLVM backend's code compiled and run in the
# unetrc process by LLVM's ORC JIT).
#  quick (default suite):
#  - run --jit on unet3d_batch: within 1e-4 of max|ref| of PyTorch's output;
#  - bench --jit on the small loss model prints its median and the JIT time; train --jit (2 steps) prints its
#    steps and writes the checkpoint;
#  - segment --jit on unet3d_batch over tests/segment/data/scan.nii.gz: labels and logits byte-identical to
#    segment --backend llvm's (the cached shared object built from the same module);
#  - refusals: --jit with --backend c, --keep or (segment) --cache (exit 2), code for another machine (--target-cpu armv8-a on
#    x86-64, or x86-64-v3 on Arm): exit 1 with one line.
#  long (-DUNETRC_LONG_TESTS=ON):
#  - run --jit on unet3d_batch, basicunet3d_tiny and unetr_conv_tiny: bitwise the output of --backend llvm (the
#    object linked by cc, same module and target machine) and within 1e-4 of PyTorch's;
#  - grad --jit on the unet2d gradient fixture: every gradient and the loss bitwise --backend llvm's;
#  - train --jit (6 steps): progress lines and checkpoint bitwise --backend llvm's.
set -eu
MODE=$1; U=$2; S=$(cd "$3" && pwd); CMP=$4
T=$(mktemp -d /tmp/unetrc-jit-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
L=$S/tests/train/loss
mkdir "$T/data"
for s in a b; do cp "$L/x.npy" "$T/data/${s}_image.npy"; cp "$L/label.npy" "$T/data/${s}_label.npy"; done

if [ "$MODE" = quick ]; then
    M=$S/models/unet3d_batch
    "$U" run "$M.onnx" --input "$M.input.npy" --output "$T/y.npy" --jit
    "$CMP" "$M.expected.npy" "$T/y.npy" 1e-4
    "$U" bench "$L/model.onnx" --jit --runs 3 > "$T/bench"
    grep -q "median_ms=" "$T/bench" && grep -q "jit_ms=" "$T/bench" || fail "bench --jit: $(cat "$T/bench")"
    "$U" train "$L/model.onnx" --data "$T/data" --steps 2 --out "$T/tr" --jit > "$T/train"
    grep -q "^step 2/2 loss=" "$T/train" && [ -s "$T/tr/checkpoint.bin" ] || fail "train --jit: $(cat "$T/train")"
    [ ! -e "$T/tr/build" ] || fail "train --jit wrote a build folder"
    SCAN=$S/tests/segment/data/scan.nii.gz
    for a in "--jit" "--backend llvm --cache $T/cache"; do
        d=$(echo "$a" | cut -c3-5)
        # shellcheck disable=SC2086
        "$U" segment "$M.onnx" --image "$SCAN" --output "$T/seg_$d.nii.gz" --logits "$T/logits_$d.nii.gz" --quiet $a
    done
    cmp "$T/seg_jit.nii.gz" "$T/seg_bac.nii.gz" || fail "segment --jit: other labels than --backend llvm"
    cmp "$T/logits_jit.nii.gz" "$T/logits_bac.nii.gz" || fail "segment --jit: other logits than --backend llvm"
    rc=0; "$U" segment "$M.onnx" --image "$SCAN" --output "$T/z.nii.gz" --jit --cache "$T/cache" 2> "$T/err" || rc=$?
    [ $rc = 2 ] && [ "$(cat "$T/err")" = "unetrc: usage error: --cache: segment --jit builds no library to cache (see unetrc --help)" ] ||
        fail "segment --jit --cache: exit $rc, $(cat "$T/err")"
    [ ! -e "$T/z.nii.gz" ] || fail "a refused segment --jit wrote its output"
    rc=0; "$U" run "$M.onnx" --input "$M.input.npy" --output "$T/z.npy" --jit --backend c 2> "$T/err" || rc=$?
    [ $rc = 2 ] && grep -q "not with --backend c" "$T/err" || fail "--jit --backend c: exit $rc, $(cat "$T/err")"
    rc=0; "$U" run "$M.onnx" --input "$M.input.npy" --output "$T/z.npy" --jit --keep "$T/k" 2> "$T/err" || rc=$?
    [ $rc = 2 ] || fail "--jit --keep: exit $rc, $(cat "$T/err")"
    case $(uname -m) in x86_64) other=armv8-a ;; *) other=x86-64-v3 ;; esac
    rc=0; "$U" run "$L/model.onnx" --input "$L/x.npy" --output "$T/z.npy" --jit --target-cpu $other 2> "$T/err" || rc=$?
    [ $rc = 1 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q -- "--jit: the code is for" "$T/err" ||
        fail "--jit --target-cpu $other: exit $rc, $(cat "$T/err")"
    [ ! -e "$T/z.npy" ] || fail "a failed --jit run wrote its output"
    echo "jit_test quick: ok"
    exit 0
fi

for m in unet3d_batch basicunet3d_tiny unetr_conv_tiny; do
    M=$S/models/$m
    "$U" run "$M.onnx" --input "$M.input.npy" --output "$T/$m.jit.npy" --jit
    "$U" run "$M.onnx" --input "$M.input.npy" --output "$T/$m.llvm.npy" --backend llvm
    "$CMP" "$M.expected.npy" "$T/$m.jit.npy" 1e-4
    cmp "$T/$m.jit.npy" "$T/$m.llvm.npy" || fail "$m: run --jit differs from run --backend llvm"
done
F=$S/tests/train/models/unet2d
"$U" grad "$F/model.onnx" --input "$F/x.npy" --label "$F/label.npy" --out "$T/gj" --jit > "$T/gj.out"
"$U" grad "$F/model.onnx" --input "$F/x.npy" --label "$F/label.npy" --out "$T/gl" --backend llvm > "$T/gl.out"
cmp "$T/gj.out" "$T/gl.out" || fail "grad --jit: another loss ($(cat "$T/gj.out") vs $(cat "$T/gl.out"))"
n=0
for f in "$T"/gl/*.npy; do
    cmp "$f" "$T/gj/$(basename "$f")" || fail "grad --jit: $(basename "$f") differs"
    n=$((n + 1))
done
[ "$n" -gt 0 ] && [ "$(ls "$T/gj" | wc -l)" = "$n" ] || fail "grad --jit wrote $(ls "$T/gj" | wc -l) files, llvm $n"
for a in "--jit" "--backend llvm"; do
    d=$(echo "$a" | tr -d ' -')
    # shellcheck disable=SC2086
    "$U" train "$L/model.onnx" --data "$T/data" --steps 6 --lr 0.05 --lr-final 0.01 --out "$T/$d" $a |
        grep "^step" | sed 's/ ms=.*//' > "$T/$d.steps"
done
cmp "$T/jit.steps" "$T/backendllvm.steps" || fail "train --jit: other losses than --backend llvm"
cmp "$T/jit/checkpoint.bin" "$T/backendllvm/checkpoint.bin" || fail "train --jit: another checkpoint"
echo "jit_test long: ok ($n gradients)"
