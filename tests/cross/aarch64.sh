# aarch64.sh: shell functions of the tests that run models on 64-bit Arm under qemu (cross_test.sh,
# llvm_test.sh); sourced with S (source dir), T (scratch dir) and CMP (npy_compare) set.

# runtime/ cross-built on its own into $T/rt with tests/cross/aarch64-linux-gnu.cmake.
cross_runtime() {
    cmake -S "$S/runtime" -B "$T/rt" -DCMAKE_TOOLCHAIN_FILE="$S/tests/cross/aarch64-linux-gnu.cmake" \
        -DCMAKE_BUILD_TYPE=Release > "$T/rt.log" 2>&1 && cmake --build "$T/rt" -j2 >> "$T/rt.log" 2>&1 ||
        { tail -20 "$T/rt.log"; exit 1; }
}

# run_consumer DIR CODE MODEL: tests/consumer's program around CODE (seg.c or seg.o with DIR/seg.h), built with
# aarch64-linux-gnu-gcc against the cross-built runtime, run under qemu-aarch64 on MODEL's bundled input and
# compared with PyTorch's output (1e-4 of max|ref|).
run_consumer() {
    aarch64-linux-gnu-gcc -std=c11 -O2 -fopenmp -I"$1" -I"$S/runtime/include" "$S/tests/consumer/main.c" \
        "$2" "$T/rt/libunetrc_runtime.a" -lm -o "$1/consumer"
    qemu-aarch64 -L /usr/aarch64-linux-gnu "$1/consumer" "$S/models/$3.input.npy" "$1/y.npy"
    "$CMP" "$S/models/$3.expected.npy" "$1/y.npy" 1e-4
}
