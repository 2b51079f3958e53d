#!/bin/sh
# cross_test.sh UNETRC SOURCE_DIR NPY_COMPARE: models for 64-bit Arm through the C backend. runtime/ is
# cross-built on its own with tests/cross/aarch64-linux-gnu.cmake (no protobuf-c, no compiler), each bundled
# model below (two; four with UNETRC_LONG_TESTS=1) is compiled with --target-cpu armv8-a, built with
# aarch64-linux-gnu-gcc into tests/consumer's C program, run under qemu-aarch64 and compared with PyTorch
# (1e-4 of max|ref|). Exit 77 (skipped) without the cross compiler or qemu-user (scripts/setup.sh installs them).
set -eu
U=$1; S=$(cd "$2" && pwd); CMP=$3
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v qemu-aarch64 >/dev/null 2>&1 ||
    { echo "cross_test: skipped (aarch64-linux-gnu-gcc or qemu-aarch64 missing)"; exit 77; }
T=$(mktemp -d /tmp/unetrc-cross-XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$S/tests/cross/aarch64.sh"
cross_runtime
file "$T/rt/libunetrc_runtime.a" > /dev/null
aarch64-linux-gnu-objdump -f "$T/rt/libunetrc_runtime.a" | grep -q "aarch64" ||
    { echo "FAIL: libunetrc_runtime.a is not an aarch64 archive"; exit 1; }
MODELS="basicunet3d_tiny unet3d_batch"
[ -z "${UNETRC_LONG_TESTS:-}" ] || MODELS="$MODELS unetr_conv_tiny swin_v1_fs6"
for M in $MODELS; do
    mkdir -p "$T/$M"
    "$U" "$S/models/$M.onnx" -o "$T/$M/seg.c" --target-cpu armv8-a --embed-weights
    grep -q "target-cpu armv8-a" "$T/$M/seg.c" || { echo "FAIL: $M: --target-cpu not in the provenance"; exit 1; }
    run_consumer "$T/$M" "$T/$M/seg.c" $M
done
echo "cross_test: ok"
