#!/bin/sh
# cli_tests.sh UNETRC NPY_COMPARE: the command-line contract and bad input.
# Every bad input must exit 1 with exactly one line on stderr (the message
# is checked verbatim) and leave no output file behind; usage errors exit 2.
set -u
U=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); CMP=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
D=$(cd "$(dirname "$0")/data" && pwd)
T=$(mktemp -d /tmp/unetrc-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0; n=0

# expect RC "STDERR" cmd...  (run from the fixtures folder)
expect() {
    want_rc=$1; want_err=$2; shift 2
    n=$((n + 1))
    err=$(cd "$D" && "$@" 2>&1 >/dev/null); rc=$?
    if [ "$rc" != "$want_rc" ] || [ "$err" != "$want_err" ]; then
        echo "FAIL: $*"; echo "  want rc=$want_rc: $want_err"; echo "  got  rc=$rc: $err"
        fails=$((fails + 1))
    fi
}
# no_files DIR: nothing (not even a temporary file) was written there
no_files() {
    n=$((n + 1))
    if [ -n "$(ls -A "$1")" ]; then echo "FAIL: files left in $1: $(ls -A "$1")"; fails=$((fails + 1)); fi
}
check() { n=$((n + 1)); if ! "$@"; then echo "FAIL: $*"; fails=$((fails + 1)); fi; }

E="unetrc: error:"
mkdir "$T/o"
# -- bad models
expect 1 "$E nope.onnx: cannot open file: No such file or directory" $U nope.onnx -o "$T/o/x.c"
expect 1 "$E empty.onnx: empty file (not an ONNX model)" $U empty.onnx -o "$T/o/x.c"
expect 1 "$E random.onnx: not a valid ONNX model (protobuf decoding failed)" $U random.onnx -o "$T/o/x.c"
expect 1 "$E truncated.onnx: not a valid ONNX model (protobuf decoding failed)" $U truncated.onnx -o "$T/o/x.c"
expect 1 "$E unsupported.onnx: node 'foo' (FooBar): op type not supported; node 'lstm' (LSTM): op type not supported; node 'ms_gelu' (Gelu): op domain 'com.microsoft' is not supported; node 'relu' (Relu): attribute 'strange' is not supported" $U unsupported.onnx -o "$T/o/x.c"
expect 1 "$E opset9.onnx: opset 9 is not supported (supported: 11 to 18); re-export with opset_version=17" $U opset9.onnx -o "$T/o/x.c"
expect 1 "$E cycle.onnx: node 'r1' (Relu): the graph has a cycle through this node" $U cycle.onnx -o "$T/o/x.c"
expect 1 "$E dangling.onnx: node 'add' (Add): input 'nowhere' is not produced by any node, graph input or initializer" $U dangling.onnx -o "$T/o/x.c"
expect 1 "$E raw_mismatch.onnx: initializer 'bias': raw_data has 10 bytes, its shape [3] of float32 needs 12" $U raw_mismatch.onnx -o "$T/o/x.c"
expect 1 "$E huge_dims.onnx: initializer 'bias': element count overflows" $U huge_dims.onnx -o "$T/o/x.c"
expect 1 "$E ext_dotdot.onnx: initializer 'bias': external data location '../data/bias.bin' must be a relative path inside the model's folder" $U ext_dotdot.onnx -o "$T/o/x.c"
expect 1 "$E ext_absolute.onnx: initializer 'bias': external data location '/etc/passwd' must be a relative path inside the model's folder" $U ext_absolute.onnx -o "$T/o/x.c"
expect 1 "$E ext_range.onnx: initializer 'bias': external data range [8, 20) lies outside 'bias.bin' (16 bytes)" $U ext_range.onnx -o "$T/o/x.c"
expect 1 "$E ext_symlink.onnx: initializer 'bias': external data file 'link_out.bin' resolves outside the model's folder" $U ext_symlink.onnx -o "$T/o/x.c"
expect 1 "$E symbolic.onnx: input 'x': dimension 0 is symbolic ('N'); pin it with --input-shape x=d0,d1,..." $U symbolic.onnx -o "$T/o/x.c"
no_files "$T/o"
# -- usage
expect 2 "unetrc: usage error: no model given (see unetrc --help)" $U
expect 2 "unetrc: usage error: no output file given (-o FILE.c) (see unetrc --help)" $U add_relu.onnx
expect 2 "unetrc: usage error: unknown option '--bogus' (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" --bogus
expect 2 "unetrc: usage error: -o wants a file name ending in .c, got '$T/o/x.txt' (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.txt"
expect 2 "unetrc: usage error: --input-shape: bad dimension in 'x=1,a' (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" --input-shape x=1,a
expect 2 "unetrc: usage error: --name '9x' is not a C identifier (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" --name 9x
no_files "$T/o"
expect 1 "$E $T/missing/x.c: cannot create output file: No such file or directory" $U add_relu.onnx -o "$T/missing/x.c"
# -- good compiles: outputs appear together; a later failure leaves them untouched
expect 0 "" $U add_relu.onnx -o "$T/o/seg.c"
check test -s "$T/o/seg.c"
check test -s "$T/o/seg.h"
check test -s "$T/o/seg.weights"
cp "$T/o/seg.c" "$T/before.c"
expect 1 "$E unsupported.onnx: node 'foo' (FooBar): op type not supported; node 'lstm' (LSTM): op type not supported; node 'ms_gelu' (Gelu): op domain 'com.microsoft' is not supported; node 'relu' (Relu): attribute 'strange' is not supported" $U unsupported.onnx -o "$T/o/seg.c"
check cmp -s "$T/o/seg.c" "$T/before.c"
check test "$(ls -A "$T/o" | wc -l)" = 3
expect 0 "" $U symbolic.onnx --input-shape x=1,2,3 -o "$T/o/sym.c"
expect 0 "" $U ext_ok.onnx -o "$T/o/ext.c" --embed-weights
check test ! -e "$T/o/ext.weights"
# the same input and flags give byte-identical output
mkdir "$T/o2"
expect 0 "" $U add_relu.onnx -o "$T/o2/seg.c"
check cmp -s "$T/o/seg.weights" "$T/o2/seg.weights"
check sh -c "sed 2d '$T/o/seg.h' > '$T/a'; sed 2d '$T/o2/seg.h' > '$T/b'; cmp -s '$T/a' '$T/b'"
check sh -c "sed 2d '$T/o/seg.c' > '$T/a'; sed 2d '$T/o2/seg.c' > '$T/b'; cmp -s '$T/a' '$T/b'"
# generated code compiles cleanly as C11 with warnings as errors, no malloc/stdio
check ${CC:-cc} -std=c11 -Wall -Wextra -Werror -pedantic -c "$T/o/seg.c" -o "$T/seg.o"
check ${CC:-cc} -std=c11 -Wall -Wextra -Werror -pedantic -c "$T/o/ext.c" -o "$T/ext.o"
check sh -c "! nm '$T/seg.o' | grep -E ' U (malloc|calloc|realloc|free|printf|fprintf|puts|fopen)$'"
# -- run
mkdir "$T/r"
expect 0 "" $U run add_relu.onnx --input add_relu.input.npy --output "$T/r/y.npy"
check "$CMP" "$D/add_relu.expected.npy" "$T/r/y.npy" 1e-6
expect 0 "" $U run add_relu.onnx --interp --input add_relu.input.npy --output "$T/r/yi.npy"
check "$CMP" "$D/add_relu.expected.npy" "$T/r/yi.npy" 1e-6
expect 0 "" $U run add_relu.onnx --input add_relu.input_f64.npy --output "$T/r/y64.npy"
check "$CMP" "$D/add_relu.expected.npy" "$T/r/y64.npy" 1e-6
expect 0 "" $U run add_relu.onnx --input add_relu.input_fortran.npy --output "$T/r/yf.npy"
check "$CMP" "$D/add_relu.expected.npy" "$T/r/yf.npy" 1e-6
expect 0 "" $U run ext_ok.onnx --input add_relu.input.npy --output "$T/r/ye.npy"
check "$CMP" "$D/add_relu.expected.npy" "$T/r/ye.npy" 1e-6
rm -f "$T"/r/*
expect 1 "$E add_relu.input_badshape.npy: input 'x' expects shape [1,2,3], the file has [1,3,2]" $U run add_relu.onnx --input add_relu.input_badshape.npy --output "$T/r/y.npy"
expect 1 "$E add_relu.input_nan.npy: element 5 is NaN (use --allow-nonfinite to accept)" $U run add_relu.onnx --input add_relu.input_nan.npy --output "$T/r/y.npy"
expect 1 "$E add_relu.input_truncated.npy: .npy data has 19 bytes, shape [1,2,3] of float32 needs 24" $U run add_relu.onnx --input add_relu.input_truncated.npy --output "$T/r/y.npy"
expect 1 "$E add_relu.onnx: the model has 1 inputs, 2 --input files given" $U run add_relu.onnx --input add_relu.input.npy --input add_relu.input.npy --output "$T/r/y.npy"
expect 1 "$E add_relu.onnx: not a .npy file (bad magic)" $U run add_relu.onnx --input add_relu.onnx --output "$T/r/y.npy"
no_files "$T/r"
expect 0 "" $U run add_relu.onnx --allow-nonfinite --input add_relu.input_nan.npy --output "$T/r/y.npy"
# -- info
n=$((n + 1))
info=$(cd "$D" && $U info add_relu.onnx)
case "$info" in *"parameters: 3 (12 bytes)"*"arena_bytes: 64"*"arena_lower_bound: 64"*) ;; *) echo "FAIL: info output:"; echo "$info"; fails=$((fails + 1));; esac

echo "cli tests: $n checks, $fails failed"
[ "$fails" = 0 ]
