#!/bin/sh
# cross_test.sh UNETRC SOURCE_DIR NPY_COMPARE: models for 64-bit Arm through the C backend. runtime/ is
# cross-built on its own with tests/cross/aarch64-linux-gnu.cmake (no protobuf-c, no compiler), each bundled
# model below is compiled with --target-cpu armv8-a, built with aarch64-linux-gnu-gcc into tests/consumer's C
# program, run under qemu-aarch64 and compared with PyTorch (1e-4 of max|ref|). Exit 77 (skipped) without
# the cross compiler or qemu-user (scripts/setup.sh installs them).
set -eu
U=$1; S=$(cd "$2" && pwd); CMP=$3
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v qemu-aarch64 >/dev/null 2>&1 ||
    { echo "cross_test: skipped (aarch64-linux-gnu-gcc or qemu-aarch64 missing)"; exit 77; }
T=$(mktemp -d /tmp/unetrc-cross-XXXXXX)
trap 'rm -rf "$T"' EXIT
cmake -S "$S/runtime" -B "$T/rt" -DCMAKE_TOOLCHAIN_FILE="$S/tests/cross/aarch64-linux-gnu.cmake" \
    -DCMAKE_BUILD_TYPE=Release > "$T/rt.log" 2>&1 && cmake --build "$T/rt" -j2 >> "$T/rt.log" 2>&1 ||
    { tail -20 "$T/rt.log"; exit 1; }
file "$T/rt/libunetrc_runtime.a" > /dev/null
aarch64-linux-gnu-objdump -f "$T/rt/libunetrc_runtime.a" | grep -q "aarch64" ||
    { echo "FAIL: libunetrc_runtime.a is not an aarch64 archive"; exit 1; }
for M in unetr_conv_tiny basicunet3d_tiny unet3d_batch swin_v1_fs6; do
    mkdir -p "$T/$M"
    "$U" "$S/models/$M.onnx" -o "$T/$M/seg.c" --target-cpu armv8-a --embed-weights
    grep -q "target-cpu armv8-a" "$T/$M/seg.c" || { echo "FAIL: $M: --target-cpu not in the provenance"; exit 1; }
    aarch64-linux-gnu-gcc -std=c11 -O2 -fopenmp -I"$T/$M" -I"$S/runtime/include" "$T/$M/seg.c" \
        "$S/tests/consumer/main.c" "$T/rt/libunetrc_runtime.a" -lm -o "$T/$M/consumer"
    qemu-aarch64 -L /usr/aarch64-linux-gnu "$T/$M/consumer" "$S/models/$M.input.npy" "$T/$M/y.npy"
    "$CMP" "$S/models/$M.expected.npy" "$T/$M/y.npy" 1e-4
done
echo "cross_test: ok"
