#!/bin/sh
# share_check.sh UNETRC SOURCE_DIR: kernels that share a body (passes/lower.c:
# urc_lower_reuse for convolutions, signature lowering for elementwise,
# movement, slice, norm, pool, reduce and softmax ops) get exactly the body
# they would have built. Every bundled model (forward, and --train for the
# training fixtures) and a make_graph.py graph is compiled twice: once as
# usual (bodies shared) and once with UNETRC_CHECK_SHARE=1, which builds
# every body and aborts if one differs from the one it would have shared.
# The two seg.c must be byte-identical, and the check must have compared
# kernels (a count of 0 over all models would test nothing).
set -u
U=$1; S=$2
T=$(mktemp -d /tmp/unetrc-share-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0; total=0
one() { # one NAME MODEL [options]
    name=$1; model=$2; shift 2
    mkdir -p "$T/a" "$T/b"
    if ! "$U" "$model" -o "$T/a/seg.c" "$@" 2>"$T/err"; then
        echo "FAIL: $name: compile: $(cat "$T/err")"; fails=$((fails + 1)); return
    fi
    if ! UNETRC_CHECK_SHARE=1 "$U" "$model" -o "$T/b/seg.c" "$@" 2>"$T/err"; then
        echo "FAIL: $name: check mode: $(cat "$T/err")"; fails=$((fails + 1)); return
    fi
    c=$(sed -n 's/^unetrc: \([0-9]*\) shared kernel bodies checked$/\1/p' "$T/err" | awk '{s += $1} END {print s + 0}')
    total=$((total + c))
    # the header names the output path: compare from line 3 on
    tail -n +3 "$T/a/seg.c" >"$T/a.body"; tail -n +3 "$T/b/seg.c" >"$T/b.body"
    if ! cmp -s "$T/a.body" "$T/b.body"; then
        echo "FAIL: $name: shared and unshared seg.c differ"; diff "$T/a.body" "$T/b.body" | head -5; fails=$((fails + 1))
    fi
    echo "ok: $name ($c kernels checked)"
}
for m in "$S"/models/*.onnx; do one "$(basename "$m")" "$m"; done
for d in "$S"/tests/train/models/*/; do
    one "$(basename "$d") --train" "$d/model.onnx" --train
done
if [ -n "${PYTHON:-}" ]; then
    "$PYTHON" "$S/tests/scale/make_graph.py" mixed 3000 "$T/mixed.onnx" >/dev/null && one mixed "$T/mixed.onnx"
fi
if [ "$total" -lt 100 ]; then echo "FAIL: only $total kernels were checked"; fails=$((fails + 1)); fi
echo "$total shared kernels checked, $fails failures"
[ "$fails" = 0 ]
