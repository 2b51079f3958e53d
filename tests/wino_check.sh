#!/bin/sh
# wino_check.sh UNETRC SOURCE_DIR: the node tests test_fconv_wino_* (tests/node_extra/conv, run by
# node_extra_conv against float64 references) really go through the Winograd kernel
# (ops/conv_wino.c: its packed weights are the buffer `wino`), and UNETRC_CONV=direct really
# turns it off. Without this, a change to the conditions in ops/conv.c could send them all to the
# direct kernel and node_extra_conv would still pass.
set -u
U=$1; S=$2
T=$(mktemp -d /tmp/unetrc-wino-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0; n=0
for d in "$S"/tests/node_extra/conv/test_fconv_wino_*; do
    name=$(basename "$d")
    n=$((n + 1))
    if ! "$U" "$d/model.onnx" -o "$T/seg.c" 2>"$T/err"; then
        echo "FAIL: $name: compile: $(cat "$T/err")"; fails=$((fails + 1)); continue
    fi
    if ! grep -q 'wino\[' "$T/seg.c"; then echo "FAIL: $name: no Winograd kernel"; fails=$((fails + 1)); fi
    if ! UNETRC_CONV=direct "$U" "$d/model.onnx" -o "$T/seg.c" 2>"$T/err"; then
        echo "FAIL: $name: compile (direct): $(cat "$T/err")"; fails=$((fails + 1)); continue
    fi
    if grep -q 'wino\[' "$T/seg.c"; then echo "FAIL: $name: UNETRC_CONV=direct still uses Winograd"; fails=$((fails + 1)); fi
done
if [ "$n" -lt 8 ]; then echo "FAIL: only $n test_fconv_wino_* cases found"; fails=$((fails + 1)); fi
echo "wino_check: $n cases, $fails failures"
[ "$fails" -eq 0 ]
