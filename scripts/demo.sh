#!/bin/sh
# demo.sh [MODEL.onnx]: the main job on the bundled default model (a small
# MONAI UNETR): compile it to C, build the example program against the
# generated code and the runtime, run it on the bundled input volume and
# compare with PyTorch's output.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
model=${1:-models/unetr_conv_tiny.onnx}
stem=${model%.onnx}
mkdir -p out
build/unetrc info "$model"
build/unetrc "$model" -o out/seg.c
echo "wrote out/seg.c out/seg.h out/seg.weights"
cc -std=c11 -O3 -march=native -fopenmp -Iout -Iruntime/include examples/infer/main.c out/seg.c \
   runtime/src/weights.c runtime/src/npy.c -lm -o out/infer
out/infer out/seg.weights "$stem.input.npy" out/logits.npy
if [ -f "$stem.expected.npy" ]; then
    build/tests/npy_compare "$stem.expected.npy" out/logits.npy 1e-4
fi
