#!/bin/sh
# train_cli_test.sh UNETRC: `unetrc train` on a two-sample data folder:
# one progress line per step and a checkpoint; stopping after 4 of 6 steps
# and resuming gives a checkpoint byte-identical to running all 6 at once,
# and says so on stderr. A checkpoint that does not load (another model,
# another optimizer, other trainable parameters, a flipped bit, truncated,
# bytes appended, not a checkpoint, missing) makes --resume refuse with one
# exact line, exit 1, the checkpoint byte-identical and nothing written; an
# existing checkpoint is not overwritten without --resume. Labels: every
# sample is checked (a bad one stops the run before anything is written);
# --label-map on BraTS-style values trains exactly as the class labels.
set -u
U=$1
D=$(cd "$(dirname "$0")/loss" && pwd)
F=$(cd "$(dirname "$0")/../data/train" && pwd)
T=$(mktemp -d /tmp/unetrc-train-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mkdir "$T/data"
for s in a b; do cp "$D/x.npy" "$T/data/${s}_image.npy"; cp "$D/label.npy" "$T/data/${s}_label.npy"; done
run() { "$U" train "$D/model.onnx" --data "$T/data" --steps 6 --lr 0.05 --lr-final 0.01 "$@"; }
run --out "$T/straight" > "$T/straight.log" || fail "straight run"
n=$(grep -c '^step [0-9]*/6 loss=[0-9.]* dice=[0-9.]* lr=[0-9.e-]* ms=[0-9.]*$' "$T/straight.log")
[ "$n" = 6 ] || { fail "$n progress lines"; cat "$T/straight.log"; }
run --out "$T/resumed" --stop-after 4 > /dev/null || fail "run stopped after 4 steps"
C=$T/resumed/checkpoint.bin
cp "$C" "$T/at4.bin"

# refuse: exit 1, exactly one line, the checkpoint unchanged, no other file written
refuse() { # CHECKPOINT_FILE "MESSAGE" [options...]
    f=$1; want=$2; shift 2
    cp "$f" "$C"
    sum=$(cksum < "$C"); files=$(cd "$T/resumed" && find . | sort)
    err=$(run --out "$T/resumed" "$@" 2>&1 >/dev/null); rc=$?
    [ "$rc" = 1 ] && [ "$err" = "unetrc: error: $C: $want" ] || { fail "$*: rc=$rc"; echo "  want: unetrc: error: $C: $want"; echo "  got:  $err"; }
    [ "$(cksum < "$C")" = "$sum" ] || fail "$*: the checkpoint changed"
    [ "$(cd "$T/resumed" && find . | sort)" = "$files" ] || fail "$*: files written"
}
refuse "$T/at4.bin" "a checkpoint of an earlier run is here; continue it with --resume, or remove it to start from step 1"
refuse "$T/at4.bin" "checkpoint of another optimizer: it holds 320 bytes of optimizer state, this training step 192 (other --optimizer?)" --resume --optimizer sgd
refuse "$T/at4.bin" "checkpoint of other trainable parameters: it holds 128 bytes of them, this training step 64 (other --trainable or --freeze?)" --resume --freeze b
cp "$T/at4.bin" "$C"
err=$("$U" train "$F/grad_names.onnx" --data "$T/data" --steps 6 --out "$T/resumed" --resume 2>&1 >/dev/null); rc=$?
[ "$rc" = 1 ] && [ "$err" = "unetrc: error: $C: checkpoint of another model" ] || fail "another model: rc=$rc: $err"
cmp -s "$C" "$T/at4.bin" || fail "another model: the checkpoint changed"
# one bit of the payload flipped
cp "$T/at4.bin" "$T/flip.bin"
b=$(od -An -tu1 -j100 -N1 "$T/flip.bin" | tr -d ' ')
printf "\\$(printf %o $((b ^ 4)))" | dd of="$T/flip.bin" bs=1 seek=100 conv=notrunc 2>/dev/null
cmp -s "$T/flip.bin" "$T/at4.bin" && fail "bit not flipped"
refuse "$T/flip.bin" "corrupted checkpoint (checksum mismatch)" --resume
size=$(wc -c < "$T/at4.bin")
head -c $((size - 8)) "$T/at4.bin" > "$T/short.bin"
refuse "$T/short.bin" "truncated checkpoint (shorter than its header says)" --resume
head -c 40 "$T/at4.bin" > "$T/header.bin"
refuse "$T/header.bin" "truncated checkpoint (shorter than its header says)" --resume
{ cat "$T/at4.bin"; printf x; } > "$T/long.bin"
refuse "$T/long.bin" "checkpoint with data after its end" --resume
refuse "$D/x.npy" "not a unetrc checkpoint" --resume
err=$(run --out "$T/none" --resume 2>&1 >/dev/null); rc=$?
[ "$rc" = 1 ] && [ "$err" = "unetrc: error: $T/none/checkpoint.bin: --resume: no checkpoint to resume from (No such file or directory); train without --resume to start from step 1" ] || fail "missing checkpoint: rc=$rc: $err"
[ -e "$T/none" ] && fail "missing checkpoint: $T/none created"

# resume: the step and the checkpoint on stderr, the result equal to the straight run
cp "$T/at4.bin" "$C"
run --out "$T/resumed" --resume > "$T/resumed.log" 2> "$T/resumed.err" || fail "resume"
[ "$(cat "$T/resumed.err")" = "unetrc train: resuming from $C at step 4" ] || { fail "resume message"; cat "$T/resumed.err"; }
grep -q '^step 5/6 ' "$T/resumed.log" && ! grep -q '^step [1-4]/6 ' "$T/resumed.log" || { fail "resumed steps"; cat "$T/resumed.log"; }
cmp -s "$T/straight/checkpoint.bin" "$C" || fail "resumed run differs from the straight run"

# labels: a bad sample stops the run before anything is written
mkdir "$T/bad"
cp "$D/x.npy" "$T/bad/a_image.npy"; cp "$D/label.npy" "$T/bad/a_label.npy"
cp "$D/x.npy" "$T/bad/b_image.npy"; cp "$F/label_brats.npy" "$T/bad/b_label.npy"
err=$("$U" train "$D/model.onnx" --data "$T/bad" --steps 2 --out "$T/badout" 2>&1 >/dev/null); rc=$?
[ "$rc" = 1 ] && [ "$err" = "unetrc: error: $T/bad/b_label.npy: label value 4 at 102 voxels is outside the model's 4 classes (0..3); remap with --label-map 0,1,2,4" ] || fail "bad label: rc=$rc: $err"
[ -e "$T/badout" ] && fail "bad label: $T/badout created"
# ... and with --label-map 0,1,2,4 (BraTS values in both samples) the run equals the straight one
cp "$F/label_brats.npy" "$T/bad/a_label.npy"
"$U" train "$D/model.onnx" --data "$T/bad" --steps 6 --lr 0.05 --lr-final 0.01 --label-map 0,1,2,4 --out "$T/mapped" \
    > /dev/null || fail "--label-map run"
cmp -s "$T/straight/checkpoint.bin" "$T/mapped/checkpoint.bin" || fail "--label-map run differs from the class labels' run"

# a label without its image (or an image without its label) is an error, not a sample left out
mkdir "$T/orphan"
cp "$D/x.npy" "$T/orphan/a_image.npy"; cp "$D/label.npy" "$T/orphan/a_label.npy"; cp "$D/label.npy" "$T/orphan/b_label.npy"
err=$("$U" train "$D/model.onnx" --data "$T/orphan" --steps 2 --out "$T/orphanout" 2>&1 >/dev/null); rc=$?
[ "$rc" = 1 ] && [ "$err" = "unetrc: error: $T/orphan/b_label.npy: no matching image file $T/orphan/b_image.npy" ] || fail "orphan label: rc=$rc: $err"
rm "$T/orphan/b_label.npy"; cp "$D/x.npy" "$T/orphan/c_image.npy"
err=$("$U" train "$D/model.onnx" --data "$T/orphan" --steps 2 --out "$T/orphanout" 2>&1 >/dev/null); rc=$?
[ "$rc" = 1 ] && [ "$err" = "unetrc: error: $T/orphan/c_image.npy: no matching label file $T/orphan/c_label.npy" ] || fail "orphan image: rc=$rc: $err"
[ -e "$T/orphanout" ] && fail "orphan sample: $T/orphanout created"

[ "$fails" = 0 ] || exit 1
echo "train cli: progress lines, checkpoint, resume and its refusals, label checks and --label-map ok"
