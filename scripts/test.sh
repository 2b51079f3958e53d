#!/bin/sh
# test.sh [ctest options]: installs what is missing, builds, and runs the
# whole test suite (ONNX node tests, end-to-end models, CLI and bad input,
# unit tests; the live onnxruntime comparison when the venv has it).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh --python
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
