#!/bin/sh
# golden.sh UNETRC: `unetrc --dump-loops` on the models of this folder
# (make_models.py) for a fixed target (x86-64-v3: tile choices do not depend
# on the machine) equals the committed NAME.loops text. UPDATE=1 rewrites the
# golden files instead (review the diff before committing).
set -u
U=$1
D=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/unetrc-loops-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
for m in "$D"/*.onnx; do
    name=$(basename "$m" .onnx)
    if ! "$U" "$m" -o "$T/seg.c" --target-cpu x86-64-v3 --dump-loops >"$T/$name.loops" 2>"$T/err"; then
        echo "FAIL: $name: $(cat "$T/err")"; fails=$((fails + 1)); continue
    fi
    if [ "${UPDATE:-}" = 1 ]; then cp "$T/$name.loops" "$D/$name.loops"; continue; fi
    if ! diff -u "$D/$name.loops" "$T/$name.loops"; then echo "FAIL: $name: loop IR differs"; fails=$((fails + 1)); fi
done
echo "$fails failures"
[ "$fails" = 0 ]
