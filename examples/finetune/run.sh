#!/bin/sh
# examples/finetune/run.sh UNETRC OUT [finetune options...]
#
# Compiles examples/finetune/model.onnx with --train, builds main.c against
# it and the runtime, trains on synthetic phantoms and checks the result:
#   1. the held-out mean foreground Dice starts below MAX_DICE_BEFORE (0.5,
#      chance level) and ends at or above MIN_DICE (0.80: runs end between
#      0.84 and 0.88 depending on the machine's rounding, see README.md);
#   2. resuming from the checkpoint before the last one and training to the
#      end again gives bit-identical parameters and the same Dice (the
#      checkpoints, the resume path and the run-to-run determinism at the
#      same thread count), unless RESUME_CHECK=0.
# Options after OUT go to the finetune program (e.g. --steps 300). The
# default: the training schedule in main.c (STEPS below).
#
# Environment: CC (cc), OPT (-O3; the suite's short run builds with -O2: gcc
# takes 20 s instead of 64 s on this training code, the 100 steps 16 s instead
# of 12), MARCH (-march=native; MARCH= builds for the generic target), CFLAGS_EXTRA, OMP_NUM_THREADS (default 1: see README.md),
# STEPS (800), CKPT_EVERY (100), EVAL_EVERY (100: held-out Dice curve),
# MIN_DICE (0.80), MAX_DICE_BEFORE (0.5), RESUME_CHECK (1).
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 UNETRC OUT [finetune options...]" >&2
    exit 2
fi
U=$1
OUT=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
STEPS=${STEPS:-800}
CKPT_EVERY=${CKPT_EVERY:-100}
EVAL_EVERY=${EVAL_EVERY:-100}
MIN_DICE=${MIN_DICE:-0.80}
MAX_DICE_BEFORE=${MAX_DICE_BEFORE:-0.5}
RESUME_CHECK=${RESUME_CHECK:-1}
MARCH=${MARCH--march=native}
OPT=${OPT:--O3}
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export OMP_NUM_THREADS

rm -rf "$OUT"
mkdir -p "$OUT/gen"
"$U" "$HERE/model.onnx" -o "$OUT/gen/seg.c" --train --optimizer adamw --label-type uint8
# shellcheck disable=SC2086
${CC:-cc} -std=c11 $OPT $MARCH -fopenmp -Wall -Wextra -Werror ${CFLAGS_EXTRA:-} -I"$OUT/gen" -I"$SRC/runtime/include" \
    "$HERE/main.c" "$OUT/gen/seg.c" "$SRC"/runtime/src/*.c -lm -o "$OUT/finetune"

"$OUT/finetune" "$OUT/gen/seg.weights" "$OUT/run" --steps "$STEPS" --ckpt-every "$CKPT_EVERY" --eval-every "$EVAL_EVERY" "$@" \
    | tee "$OUT/train.log"

result=$(grep '^result:' "$OUT/train.log")
before=$(echo "$result" | sed 's/.*dice \([0-9.]*\) -> .*/\1/')
after=$(echo "$result" | sed 's/.* -> \([0-9.]*\),.*/\1/')
hash=$(echo "$result" | sed 's/.*fnv1a64 //')
status=0
if awk -v b="$before" -v m="$MAX_DICE_BEFORE" 'BEGIN { exit !(b < m) }'; then
    echo "ok: held-out Dice before training $before < $MAX_DICE_BEFORE"
else
    echo "FAIL: held-out Dice before training $before, expected < $MAX_DICE_BEFORE"
    status=1
fi
if awk -v a="$after" -v m="$MIN_DICE" 'BEGIN { exit !(a >= m) }'; then
    echo "ok: held-out Dice after training $after >= $MIN_DICE"
else
    echo "FAIL: held-out Dice after training $after, expected >= $MIN_DICE"
    status=1
fi

if [ "$RESUME_CHECK" = 1 ]; then
    # the newest checkpoint before the last step
    last=$(ls "$OUT/run" | sed -n 's/^ckpt_0*\([0-9][0-9]*\)\.ckpt$/\1/p' | sort -n | awk -v s="$STEPS" '$1 < s' | tail -n 1)
    if [ -z "$last" ]; then
        echo "FAIL: no checkpoint before step $STEPS in $OUT/run"
        exit 1
    fi
    mkdir -p "$OUT/resume"
    cp "$OUT/run/$(printf 'ckpt_%06d.ckpt' "$last")" "$OUT/resume/"
    "$OUT/finetune" "$OUT/gen/seg.weights" "$OUT/resume" --steps "$STEPS" --ckpt-every "$CKPT_EVERY" "$@" --resume \
        | tee "$OUT/resume.log"
    r2=$(grep '^result:' "$OUT/resume.log")
    hash2=$(echo "$r2" | sed 's/.*fnv1a64 //')
    after2=$(echo "$r2" | sed 's/.* -> \([0-9.]*\),.*/\1/')
    if [ "$hash2" = "$hash" ] && [ "$after2" = "$after" ]; then
        echo "ok: resumed from step $last: same parameters (fnv1a64 $hash) and Dice $after"
    else
        echo "FAIL: resumed from step $last: parameters $hash2, Dice $after2; uninterrupted: $hash, $after"
        status=1
    fi
fi
exit $status
