#!/bin/sh
# e2e.sh UNETRC NPY_COMPARE MODELS_DIR NAME [extra unetrc run options]
# Runs models/NAME.onnx on NAME.input.npy (generated C, or the interpreter
# with --interp) and compares with NAME.expected.npy (PyTorch), relative
# tolerance 1e-4 of the output's max magnitude. A model with several outputs
# (UNETR++'s deep supervision) has NAME.expected.npy for the first and
# NAME.expected_SUFFIX.npy for the others, in output order when sorted by name
# (_ds2, _ds3): every output is compared.
set -eu
unetrc=$1; cmp=$2; dir=$3; name=$4; shift 4
out=$(mktemp -d /tmp/unetrc-e2e-XXXXXX)
trap 'rm -rf "$out"' EXIT
refs="$dir/$name.expected.npy"
for f in "$dir/$name".expected_*.npy; do
    [ -f "$f" ] && refs="$refs $f"
done
outs=""; i=0
for r in $refs; do
    outs="$outs --output $out/out$i.npy"; i=$((i+1))
done
# shellcheck disable=SC2086
"$unetrc" run "$dir/$name.onnx" --input "$dir/$name.input.npy" $outs "$@"
i=0
for r in $refs; do
    "$cmp" "$r" "$out/out$i.npy" 1e-4
    i=$((i+1))
done
