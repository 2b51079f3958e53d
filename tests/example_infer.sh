#!/bin/sh
# example_infer.sh UNETRC NPY_COMPARE SOURCE_DIR WORK_DIR: compiles the
# default model, builds examples/infer against it with the runtime
# (-Wall -Wextra -Werror), runs it and compares the logits with PyTorch's;
# then bad inputs (another shape of the same size, a smaller volume, a
# weights file with trailing bytes, a FIFO) give exact one-line messages and exit 1.
set -eu
U=$1; CMP=$2; S=$3; W=$4
rm -rf "$W"; mkdir -p "$W"
"$U" "$S/models/unetr_conv_tiny.onnx" -o "$W/seg.c"
${CC:-cc} -std=c11 -O2 -Wall -Wextra -Werror -fopenmp -I"$W" -I"$S/runtime/include" "$S/examples/infer/main.c" \
    "$W/seg.c" "$S/runtime/src/weights.c" "$S/runtime/src/weights_file.c" "$S/runtime/src/npy.c" -lm -o "$W/infer"
IN=$S/models/unetr_conv_tiny.input.npy
"$W/infer" "$W/seg.weights" "$IN" "$W/logits.npy"
"$CMP" "$S/models/unetr_conv_tiny.expected.npy" "$W/logits.npy" 1e-4

fail() { echo "FAIL: $*"; exit 1; }
# expect_err MESSAGE cmd...: exit 1 and exactly MESSAGE on stderr
expect_err() {
    want=$1; shift
    rc=0; got=$("$@" 2>&1 >/dev/null) || rc=$?
    [ "$rc" = 1 ] && [ "$got" = "$want" ] || fail "$*: want rc=1 '$want', got rc=$rc '$got'"
}
# npy_header "D0, D1, ...": a 128-byte .npy 1.0 header for float32, C order
npy_header() {
    printf '\223NUMPY\001\000\166\000'
    printf "%-117s\n" "{'descr': '<f4', 'fortran_order': False, 'shape': ($1), }"
}
{ npy_header "1, 1, 32, 32, 32"; tail -c +129 "$IN"; } > "$W/same.npy"
cmp -s "$W/same.npy" "$IN" || fail "npy_header does not reproduce the input's header"
# the same 32768 values in another shape: refused, not read as the model's [1,1,32,32,32]
{ npy_header "1, 32, 32, 32, 1"; tail -c +129 "$IN"; } > "$W/reshaped.npy"
expect_err "infer: $W/reshaped.npy: the model's input has shape [1,1,32,32,32], the file has [1,32,32,32,1]" \
    "$W/infer" "$W/seg.weights" "$W/reshaped.npy"
{ npy_header "1, 1, 32, 32, 31"; tail -c +129 "$IN" | head -c $((32 * 32 * 31 * 4)); } > "$W/small.npy"
expect_err "infer: $W/small.npy: the model's input has shape [1,1,32,32,32], the file has [1,1,32,32,31]" \
    "$W/infer" "$W/seg.weights" "$W/small.npy"
{ cat "$IN"; printf 'xxxx'; } > "$W/long.npy"
expect_err "infer: $W/long.npy: the data is longer than its header's shape" "$W/infer" "$W/seg.weights" "$W/long.npy"
expect_err "infer: $W/seg.weights: not a little-endian float32 .npy file in C order" "$W/infer" "$W/seg.weights" "$W/seg.weights"
# a weights file with trailing bytes is not this model's blob
{ cat "$W/seg.weights"; printf 'x'; } > "$W/long.weights"
expect_err "infer: $W/long.weights: the file is longer than this model's weights blob ($(wc -c < "$W/seg.weights" | tr -d ' ') bytes)" \
    "$W/infer" "$W/long.weights" "$IN"
head -c 1000 "$W/seg.weights" > "$W/short.weights"
expect_err "infer: $W/short.weights: data truncated" "$W/infer" "$W/short.weights" "$IN"
expect_err "infer: $W/nope.weights: No such file or directory" "$W/infer" "$W/nope.weights" "$IN"
# a FIFO (no writer) as weights or input is refused at once instead of blocking forever
mkfifo "$W/fifo"
expect_err "infer: $W/fifo: not a regular file" timeout 10 "$W/infer" "$W/fifo" "$IN"
expect_err "infer: $W/fifo: cannot open or read the file" timeout 10 "$W/infer" "$W/seg.weights" "$W/fifo"
echo "example_infer: logits match PyTorch; bad inputs refused with exact messages"
