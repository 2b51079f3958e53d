#!/bin/sh
# layout_test.sh UNETRC NPY_COMPARE: the layout pass sinks and cancels
# every Transpose of tests/data/layout_chain.onnx (Transposes around
# LeakyRelu, a bias Add, Concat and an all-zero Pad) and the result still
# computes the same as the unoptimised graph (-O0), in the interpreter and
# in generated C.
# tests/data/layout_tokens.onnx (make_layout_tokens.py): the token-tensor
# shapes of UNETR++/ViT blocks keep only the 4 Transposes that move data
# (model input, q^T, the k+v and the volume output back to channels-first)
# and no Expand, and compute the same.
set -eu
U=$1; CMP=$2
D=$(cd "$(dirname "$0")/data" && pwd)
T=$(mktemp -d /tmp/unetrc-layout-XXXXXX)
trap 'rm -rf "$T"' EXIT
n=$("$U" "$D/layout_chain.onnx" --dump-ir -o "$T/x.c" | grep -c " Transpose " || true)
if [ "$n" != 0 ]; then echo "FAIL: $n Transposes left"; exit 1; fi
"$U" run "$D/layout_chain.onnx" -O0 --interp --input "$D/layout_chain.input.npy" --output "$T/ref.npy"
"$U" run "$D/layout_chain.onnx" --interp --input "$D/layout_chain.input.npy" --output "$T/interp.npy"
"$U" run "$D/layout_chain.onnx" --input "$D/layout_chain.input.npy" --output "$T/c.npy"
"$CMP" "$T/ref.npy" "$T/interp.npy" 0
"$CMP" "$T/ref.npy" "$T/c.npy" 1e-6
n=$("$U" "$D/layout_tokens.onnx" --dump-ir -o "$T/x.c" | grep -c " Transpose " || true)
if [ "$n" != 4 ]; then echo "FAIL: layout_tokens: $n Transposes left, expected 4"; exit 1; fi
n=$("$U" "$D/layout_tokens.onnx" --dump-ir -o "$T/x.c" | grep -c " Expand " || true)
if [ "$n" != 0 ]; then echo "FAIL: layout_tokens: $n Expands left"; exit 1; fi
"$U" run "$D/layout_tokens.onnx" -O0 --interp --input "$D/layout_tokens.input.npy" --output "$T/ref.npy"
"$U" run "$D/layout_tokens.onnx" --interp --input "$D/layout_tokens.input.npy" --output "$T/interp.npy"
"$U" run "$D/layout_tokens.onnx" --input "$D/layout_tokens.input.npy" --output "$T/c.npy"
"$CMP" "$T/ref.npy" "$T/interp.npy" 1e-6
"$CMP" "$T/ref.npy" "$T/c.npy" 1e-6
