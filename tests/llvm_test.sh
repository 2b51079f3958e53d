#!/bin/sh
# llvm_test.sh UNETRC SOURCE_DIR NPY_COMPARE RUNTIME_LIB: the LLVM backend's object files (--backend llvm).
#  - a bundled model compiled to seg.o (weights embedded), linked by cc with tests/consumer's C program and
#    the runtime, run on 1 and 2 threads and compared with PyTorch (1e-4 of max|ref|);
#  - the same command twice gives byte-identical seg.o, and seg.h / seg.weights equal the C backend's
#    (apart from the command line in the header's provenance);
#  - the object defines seg_forward and calls libgomp's GOMP_parallel, which the linked program imports;
#    -o seg.c and an unknown --target are refused;
#  - with aarch64-linux-gnu-gcc and qemu-aarch64: the model as an aarch64 object (--target
#    aarch64-linux-gnu --target-cpu armv8-a), linked with the cross-built runtime, run under qemu, compared.
set -eu
U=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); S=$(cd "$2" && pwd); CMP=$3; RT=$4
T=$(mktemp -d /tmp/unetrc-llvm-XXXXXX)
trap 'rm -rf "$T"' EXIT
M=unetr_conv_tiny
fail() { echo "FAIL: $*"; exit 1; }

# host object, linked with cc
mkdir -p "$T/h"
"$U" "$S/models/$M.onnx" -o "$T/h/seg.o" --backend llvm --embed-weights
cc -std=c11 -O2 -fopenmp -I"$T/h" -I"$S/runtime/include" "$S/tests/consumer/main.c" "$T/h/seg.o" "$RT" -lm \
    -o "$T/h/consumer"
for n in 1 2; do
    OMP_NUM_THREADS=$n "$T/h/consumer" "$S/models/$M.input.npy" "$T/h/y$n.npy"
    "$CMP" "$S/models/$M.expected.npy" "$T/h/y$n.npy" 1e-4
done
nm "$T/h/seg.o" | grep -q " T seg_forward$" || fail "seg.o does not define seg_forward"
nm "$T/h/seg.o" | grep -q " U GOMP_parallel$" || fail "seg.o does not call GOMP_parallel"
# linked with -fopenmp, libgomp is kept (a weak reference would let --as-needed drop it: one thread)
nm -D "$T/h/consumer" | grep -q " U GOMP_parallel" || fail "the consumer does not import GOMP_parallel"

# deterministic: the same command in two folders; the header and blob are the C backend's
for d in a b; do
    mkdir -p "$T/$d"
    (cd "$T/$d" && "$U" "$S/models/$M.onnx" -o seg.o --backend llvm)
done
cmp "$T/a/seg.o" "$T/b/seg.o" || fail "two compilations gave different objects"
cmp "$T/a/seg.h" "$T/b/seg.h" || fail "two compilations gave different headers"
mkdir -p "$T/c"
(cd "$T/c" && "$U" "$S/models/$M.onnx" -o seg.c)
cmp "$T/a/seg.weights" "$T/c/seg.weights" || fail "the LLVM backend's seg.weights differs from the C backend's"
grep -v "^ \* Command:" "$T/a/seg.h" > "$T/a/h.txt"
grep -v "^ \* Command:" "$T/c/seg.h" > "$T/c/h.txt"
cmp "$T/a/h.txt" "$T/c/h.txt" || fail "the LLVM backend's seg.h differs from the C backend's"

# refusals
rc=0; "$U" "$S/models/$M.onnx" -o "$T/x.c" --backend llvm 2> "$T/err" || rc=$?
[ $rc = 2 ] && grep -q "ending in .o" "$T/err" || fail "-o x.c with --backend llvm: exit $rc, $(cat "$T/err")"
rc=0; "$U" "$S/models/$M.onnx" -o "$T/x.o" --backend llvm --target nonsense-none-none 2> "$T/err" || rc=$?
[ $rc = 1 ] && grep -q "cannot generate code for" "$T/err" || fail "--target nonsense: exit $rc, $(cat "$T/err")"
[ ! -e "$T/x.o" ] || fail "--target nonsense left x.o"

# aarch64
if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v qemu-aarch64 >/dev/null 2>&1; then
    . "$S/tests/cross/aarch64.sh"
    cross_runtime
    mkdir -p "$T/arm"
    "$U" "$S/models/$M.onnx" -o "$T/arm/seg.o" --backend llvm --embed-weights --target aarch64-linux-gnu \
        --target-cpu armv8-a
    aarch64-linux-gnu-objdump -f "$T/arm/seg.o" | grep -q "elf64-littleaarch64" || fail "seg.o is not aarch64"
    run_consumer "$T/arm" "$T/arm/seg.o" $M
else
    echo "llvm_test: aarch64 part skipped (aarch64-linux-gnu-gcc or qemu-aarch64 missing)"
fi
echo "llvm_test: ok"
