#!/bin/sh
# example_infer.sh UNETRC NPY_COMPARE SOURCE_DIR WORK_DIR: compiles the
# default model, builds examples/infer against it with the runtime
# (-Wall -Wextra -Werror), runs it and compares the logits with PyTorch's.
set -eu
U=$1; CMP=$2; S=$3; W=$4
rm -rf "$W"; mkdir -p "$W"
"$U" "$S/models/unetr_conv_tiny.onnx" -o "$W/seg.c"
${CC:-cc} -std=c11 -O2 -Wall -Wextra -Werror -fopenmp -I"$W" -I"$S/runtime/include" "$S/examples/infer/main.c" \
    "$W/seg.c" "$S/runtime/src/weights.c" "$S/runtime/src/npy.c" -lm -o "$W/infer"
"$W/infer" "$W/seg.weights" "$S/models/unetr_conv_tiny.input.npy" "$W/logits.npy"
"$CMP" "$S/models/unetr_conv_tiny.expected.npy" "$W/logits.npy" 1e-4
