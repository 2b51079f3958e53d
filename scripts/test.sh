#!/bin/sh
# test.sh [--sanitize] [ctest options]: installs what is missing, builds, and
# runs the whole test suite (ONNX node tests, end-to-end models, CLI and bad
# input, unit, gradient and training tests; the live onnxruntime comparison
# when the venv has it).
#
# --sanitize: the same suite with the compiler, runtime and tests built with
# AddressSanitizer + UBSan (-DUNETRC_SANITIZE=ON, folder build-asan); any
# sanitizer report fails the test that triggered it.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh --python
dir=build
if [ "${1:-}" = "--sanitize" ]; then
    shift
    dir=build-asan
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUNETRC_SANITIZE=ON >/dev/null
    cmake --build build-asan -j"$(nproc)"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
cd "$dir"
ctest --output-on-failure -j"$(nproc)" "$@"
