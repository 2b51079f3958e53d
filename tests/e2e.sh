#!/bin/sh
# e2e.sh UNETRC NPY_COMPARE MODELS_DIR NAME [extra unetrc run options]
# Runs models/NAME.onnx on NAME.input.npy (generated C, or the interpreter
# with --interp) and compares with NAME.expected.npy (PyTorch), relative
# tolerance 1e-4 of the output's max magnitude.
set -eu
unetrc=$1; cmp=$2; dir=$3; name=$4; shift 4
out=$(mktemp -d /tmp/unetrc-e2e-XXXXXX)
trap 'rm -rf "$out"' EXIT
"$unetrc" run "$dir/$name.onnx" --input "$dir/$name.input.npy" --output "$out/out.npy" "$@"
"$cmp" "$dir/$name.expected.npy" "$out/out.npy" 1e-4
