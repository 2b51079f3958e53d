#!/bin/sh
# act_check.sh UNETRC SOURCE_DIR: the node tests of tests/node_extra/act (run by node_extra_act
# against float64 references) really take the path they are written for: each test's --dump-ir
# holds the pattern of its expect_ir.txt (e.g. a FusedConv with act=swish(1.5): the SiLU/Swish
# pattern was recognised (passes/act_patterns.c) and fused). Without this, a change to the
# patterns or the fusion passes could leave Sigmoid and Mul nodes in place and the node tests
# would still pass.
set -u
U=$1; S=$2
T=$(mktemp -d /tmp/unetrc-act-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0; n=0
for d in "$S"/tests/node_extra/act/test_*; do
    name=$(basename "$d")
    n=$((n + 1))
    if ! "$U" "$d/model.onnx" -o "$T/seg.c" --dump-ir > "$T/ir" 2>"$T/err"; then
        echo "FAIL: $name: compile: $(cat "$T/err")"; fails=$((fails + 1)); continue
    fi
    if ! grep -Eq "$(cat "$d/expect_ir.txt")" "$T/ir"; then
        echo "FAIL: $name: no line matching '$(cat "$d/expect_ir.txt")' in --dump-ir:"; sed 's/^/    /' "$T/ir"
        fails=$((fails + 1))
    fi
done
if [ "$n" -lt 11 ]; then echo "FAIL: only $n tests in tests/node_extra/act"; fails=$((fails + 1)); fi
echo "act_check: $n cases, $fails failures"
[ "$fails" -eq 0 ]
