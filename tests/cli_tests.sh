#!/bin/sh
# cli_tests.sh UNETRC NPY_COMPARE: the command-line contract and bad input.
# Every bad input must exit 1 with exactly one line on stderr (the message
# is checked verbatim) and leave no output file behind; usage errors exit 2.
set -u
. "$(dirname "$0")/expect.sh" # expect, no_files, check (run from the fixtures folder $D)
U=$(abspath "$1"); CMP=$(abspath "$2")
D=$(cd "$(dirname "$0")/data" && pwd)
scratch cli

E="unetrc: error:"
mkdir "$T/o"
# -- bad models
expect 1 "$E nope.onnx: cannot open file: No such file or directory" $U nope.onnx -o "$T/o/x.c"
expect 1 "$E checks: not a regular file" $U checks -o "$T/o/x.c"
expect 1 "$E empty.onnx: empty file (not an ONNX model)" $U empty.onnx -o "$T/o/x.c"
expect 1 "$E random.onnx: not a valid ONNX model (protobuf decoding failed)" $U random.onnx -o "$T/o/x.c"
expect 1 "$E truncated.onnx: not a valid ONNX model (protobuf decoding failed)" $U truncated.onnx -o "$T/o/x.c"
expect 1 "$E unsupported.onnx: op type not supported: FooBar (1 node: 'foo'), LSTM (1 node: 'lstm'); op domain 'com.microsoft' is not supported: Gelu (1 node: 'ms_gelu'); node 'relu' (Relu): attribute 'strange' is not supported" $U unsupported.onnx -o "$T/o/x.c"
expect 1 "$E opset8_old_ops.onnx: node 'celu' (Celu): Celu is new in opset 12 (the model imports opset 8); re-export with opset_version=17; node 'sm1' (Softmax) and 1 more Softmax node: the model's opset 8 predates Softmax-11, the oldest version unetrc implements; re-export with opset_version=17" $U opset8_old_ops.onnx -o "$T/o/x.c"
expect 1 "$E cycle.onnx: node 'r1' (Relu): the graph has a cycle through this node" $U cycle.onnx -o "$T/o/x.c"
expect 1 "$E dangling.onnx: node 'add' (Add): input 'nowhere' is not produced by any node, graph input or initializer" $U dangling.onnx -o "$T/o/x.c"
expect 1 "$E raw_mismatch.onnx: initializer 'bias': raw_data has 10 bytes, its shape [3] of float32 needs 12" $U raw_mismatch.onnx -o "$T/o/x.c"
expect 1 "$E huge_dims.onnx: initializer 'bias': element count overflows" $U huge_dims.onnx -o "$T/o/x.c"
# If: a condition that shapes and constants decide inlines the chosen branch (make_if_fixtures.py: onnxruntime's
# outputs; one If nested in the other's else branch); a condition on run-time values is refused.
for m in if_shape_then if_shape_else_nested; do
    for how in "" --interp; do
        check $U run "$D/$m.onnx" --input "$D/$m.input.npy" --output "$T/$m.out.npy" $how
        check "$CMP" "$D/$m.expected.npy" "$T/$m.out.npy" 1e-6 >/dev/null
    done
done
expect 1 "$E if_data_cond.onnx: node 'sign_if' (If): its condition 'pos' is computed from run-time data (input 'x'); unetrc compiles an If only when shape inference and constant folding decide it" \
    $U if_data_cond.onnx -o "$T/o/x.c"
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
expect 2 "unetrc: usage error: unknown option '--a b' (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" "--a
b"
expect 2 "unetrc: usage error: -o wants a file name ending in .c, got '$T/o/x.txt' (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.txt"
expect 2 "unetrc: usage error: --input-shape: bad dimension in 'x=1,a' (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" --input-shape x=1,a
expect 2 "unetrc: usage error: --name '9x' is not a C identifier (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" --name 9x
expect 2 "unetrc: usage error: --dump-after: unknown pass 'bogus' (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" --dump-after bogus
expect 2 "unetrc: usage error: --dump-after: unknown pass 'bogus' (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" --dump-after=bogus
expect 2 "unetrc: usage error: --input-shape wants NAME=D0,D1,..., got 'x' (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" --input-shape x
expect 2 "unetrc: usage error: --input-shape: more than 8 dimensions (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" --input-shape x=1,1,1,1,1,1,1,1,1
expect 2 "unetrc: usage error: --input-shape: bad dimension in 'x=1,-2,3' (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" --input-shape x=1,-2,3
expect 2 "unetrc: usage error: --freeze-input wants NAME=FILE.npy, got 'x' (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" --freeze-input x
expect 2 "unetrc: usage error: --vector-bits wants 128, 256 or 512, got '100' (see unetrc --help)" $U add_relu.onnx -o "$T/o/x.c" --vector-bits 100
expect 2 "unetrc: usage error: --threads wants a positive integer, got '0' (see unetrc --help)" $U bench add_relu.onnx --threads 0
expect 2 "unetrc: usage error: -o needs a value (see unetrc --help)" $U add_relu.onnx -o
expect 2 "unetrc: usage error: unexpected argument 'extra.onnx' (see unetrc --help)" $U add_relu.onnx extra.onnx -o "$T/o/x.c"
expect 2 "unetrc: usage error: run needs --input and --output files (see unetrc --help)" $U run add_relu.onnx
no_files "$T/o"
expect 1 "$E $T/missing/x.c: cannot create output file: No such file or directory" $U add_relu.onnx -o "$T/missing/x.c"
# -- good compiles: outputs appear together; a later failure leaves them untouched
expect 0 "" $U add_relu.onnx -o "$T/o/seg.c"
check test -s "$T/o/seg.c"
check test -s "$T/o/seg.h"
check test -s "$T/o/seg.weights"
cp "$T/o/seg.c" "$T/before.c"
expect 1 "$E unsupported.onnx: op type not supported: FooBar (1 node: 'foo'), LSTM (1 node: 'lstm'); op domain 'com.microsoft' is not supported: Gelu (1 node: 'ms_gelu'); node 'relu' (Relu): attribute 'strange' is not supported" $U unsupported.onnx -o "$T/o/seg.c"
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
# opset 9, whose Add and Relu are those of opset 11: accepted
expect 0 "" $U run opset9.onnx --input add_relu.input.npy --output "$T/r/y9.npy"
check "$CMP" "$D/add_relu.expected.npy" "$T/r/y9.npy" 1e-6
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
# -- every input check (docs/input_checks.md): one model or file each, one exact line
rm -rf "$T/o" "$T/r"; mkdir "$T/o" "$T/r"
chk() { f=$1; shift; expect 1 "$E checks/$f: $*" $U "checks/$f" -o "$T/o/x.c"; }
chk opset_huge.onnx "opset 4294967313 is not supported (supported: 1 to 18); re-export with opset_version=17"
chk opset_twice.onnx "the model imports the default ONNX opset twice (versions 17 and 13)"
chk opset_none.onnx "the model imports no version of the default ONNX opset"
chk deep_nesting.onnx "not a valid ONNX model (protobuf messages nested more than 64 deep)"
chk name_ctrl.onnx "op type not supported: Foo (1 node: 'a b [31mc')"
cp "$D/empty.onnx" "$T/new
line.onnx"
expect 1 "$E $T/new line.onnx: empty file (not an ONNX model)" $U "$T/new
line.onnx" -o "$T/o/x.c"
chk no_graph.onnx "the model has no graph"
many=$(i=0; while [ $i -lt 64 ]; do [ $i -gt 0 ] && printf '; '; printf "node 'u%d' (Relu): attribute 'strange' is not supported" $i; i=$((i + 1)); done)
chk many_problems.onnx "$many; and 2 more problems"
chk many_unsupported.onnx "op type not supported: Foo (66 nodes: 'u0', 'u1', 'u2', ...), LSTM (1 node: 'lstm'); op domain 'custom.ops' is not supported: Bar (1 node: '#67')"
chk functions.onnx "model-local functions are not supported (export with the TorchScript exporter, dynamo=False)"
chk dtype_unknown.onnx "initializer 'bias': data type 99 is not an ONNX tensor type"
chk dtype_string.onnx "input 'x': data type string is not supported"
chk typed_short.onnx "initializer 'bias': float_data has 2 values, its shape [3] needs 3"
chk typed_wrong_field.onnx "initializer 'bias': int64_data is set, but float32 values belong in float_data"
chk typed_two_fields.onnx "initializer 'bias': int64_data is set, but float32 values belong in float_data"
chk raw_and_typed.onnx "initializer 'bias': has both raw_data and float_data (ambiguous)"
chk ext_and_raw.onnx "initializer 'bias': has both external data and raw_data (ambiguous)"
chk zero_dim_cap.onnx "initializer 'bias': shape [0,1099511627776,1099511627776] of float32 exceeds the limit of 4294967296 bytes (raise it with --max-bytes)"
chk rank9.onnx "initializer 'bias': rank 9 is above the supported maximum of 8"
chk negative_dim.onnx "initializer 'bias': negative dimension -3"
chk segment.onnx "initializer 'bias': segmented tensors are not supported"
chk init_noname.onnx "graph: initializer 0 has no name"
chk init_twice.onnx "tensor 'bias': initializer name is used twice"
chk sparse_init.onnx "graph: sparse initializers are not supported"
chk input_cap.onnx "input 'x': shape [100000,100000,100] of float32 exceeds the limit of 4294967296 bytes (raise it with --max-bytes)"
chk input_negative.onnx "input 'x': dimension 0 is negative (-1)"
chk input_noshape.onnx "input 'x': has no shape; give one with --input-shape x=d0,d1,..."
chk input_sequence.onnx "input 'x': only tensor inputs are supported"
chk input_rank9.onnx "input 'x': rank 9 is above the supported maximum of 8"
chk input_noname.onnx "graph: input 0 has no name"
chk input_twice.onnx "input 'x': name is used twice"
chk output_missing.onnx "output 'zz': is not produced by any node"
chk output_twice.onnx "output 'y': is listed twice"
chk no_outputs.onnx "graph: has no outputs"
chk output_shape.onnx "output 'y': the model declares float32[1,3,2], inference gives float32[1,2,3]"
chk output_rank.onnx "output 'y': the model declares float32[N,6], inference gives float32[1,2,3]"
chk output_dtype.onnx "output 'y': the model declares int64[N,2,3], inference gives float32[1,2,3]"
chk produced_twice.onnx "node 'r2' (Relu): output 't' is already produced elsewhere"
chk output_is_input.onnx "node 'r1' (Relu): output 'x' is already produced elsewhere"
chk arity.onnx "node 'relu' (Relu): has 2 inputs; Relu takes 1 to 1"
chk attr_twice.onnx "node 'lrelu' (LeakyRelu): attribute 'alpha' is given twice"
chk attr_type.onnx "node 'lrelu' (LeakyRelu): attribute 'alpha' must be a float"
chk attr_ref.onnx "node 'lrelu' (LeakyRelu): attribute 'alpha' refers to a function attribute; functions are not supported"
chk attr_empty_string.onnx "node 'c' (Constant): attribute 'value' must be a tensor"
chk infer_cap.onnx "node 'cos' (ConstantOfShape): output 'y' of shape [1048576,1048576] exceeds the limit of 4294967296 bytes (raise it with --max-bytes)"
# external data
chk ext_mid_dotdot.onnx "initializer 'bias': external data location 'sub/../bias.bin' must be a relative path inside the model's folder"
chk ext_offset_overflow.onnx "initializer 'bias': external data offset 9223372036854775800 plus 12 bytes overflows"
chk ext_offset_huge.onnx "initializer 'bias': external data offset '99999999999999999999' is not a non-negative integer"
chk ext_offset_negative.onnx "initializer 'bias': external data offset '-4' is not a non-negative integer"
chk ext_length.onnx "initializer 'bias': external data length 8 does not match the 12 bytes of its shape"
chk ext_missing.onnx "initializer 'bias': cannot open external data file 'nope.bin': No such file or directory"
chk ext_nolocation.onnx "initializer 'bias': external data has no location"
mkdir -p "$T/m/sub" "$T/outside"
cp "$D/checks/bias.bin" "$T/m/"; cp "$D/checks/bias.bin" "$T/outside/"
cp "$D/checks/ext_fifo.onnx" "$D/checks/ext_linkdir.onnx" "$D/checks/ext_ok.onnx" "$T/m/"
mkfifo "$T/m/fifo.bin"
ln -s "$T/outside" "$T/m/linkdir"
ln -s "$T/m" "$T/alias"
expect 1 "$E $T/m/ext_fifo.onnx: initializer 'bias': external data 'fifo.bin' is not a regular file" $U "$T/m/ext_fifo.onnx" -o "$T/o/x.c"
expect 1 "$E $T/m/ext_linkdir.onnx: initializer 'bias': external data file 'linkdir/bias.bin' resolves outside the model's folder" $U "$T/m/ext_linkdir.onnx" -o "$T/o/x.c"
no_files "$T/o"
expect 0 "" $U "$T/alias/ext_ok.onnx" -o "$T/o/alias.c"   # the model's own folder may be reached through a link
rm -f "$T"/o/*
# attribute and constant-input ranges (the ops' infer callbacks)
chk conv_stride0.onnx "node 'n' (Conv): attribute 'strides' must hold values of at least 1, got 0"
chk conv_stride_neg.onnx "node 'n' (Conv): attribute 'strides' must hold values of at least 1, got -2"
chk conv_dilation0.onnx "node 'n' (Conv): attribute 'dilations' must hold values of at least 1, got 0"
chk conv_pads_neg.onnx "node 'n' (Conv): attribute 'pads' must hold values of at least 0, got -1"
chk conv_pads_len.onnx "node 'n' (Conv): attribute 'pads' has 3 values; expected 6 for 3 spatial dims"
chk conv_pads_many.onnx "node 'n' (Conv): attribute 'pads' has 20 values, at most 6 supported"
chk conv_dilation_huge.onnx "node 'n' (Conv): attribute 'dilations' must hold values of at most 2147483647, got 4611686018427387904"
chk conv_pads_huge.onnx "node 'n' (Conv): attribute 'pads' must hold values of at most 2147483647, got 4611686018427387904"
chk convt_stride_huge.onnx "node 'n' (ConvTranspose): attribute 'strides' must hold values of at most 2147483647, got 4611686018427387904"
chk conv_group0.onnx "node 'n' (Conv): group 0 does not divide the 2 input channels"
chk conv_group_div.onnx "node 'n' (Conv): group 3 does not divide the 2 input channels"
chk conv_kernel_mismatch.onnx "node 'n' (Conv): kernel_shape does not match W [2,2,3,3,3]"
chk conv_kernel_big.onnx "node 'n' (Conv): the dilated kernel (9) exceeds the padded input (4) on spatial axis 0"
chk conv_w_rank.onnx "node 'n' (Conv): W has shape [2,2,3,3]; expected rank 5 like X [1,2,4,4,4]"
chk maxpool_kernel0.onnx "node 'n' (MaxPool): attribute 'kernel_shape' must hold values of at least 1, got 0"
chk maxpool_stride0.onnx "node 'n' (MaxPool): attribute 'strides' must hold values of at least 1, got 0"
chk maxpool_no_kernel.onnx "node 'n' (MaxPool): attribute 'kernel_shape' is required"
chk avgpool_pad_ge_kernel.onnx "node 'n' (AveragePool): pads (2, 0) must be smaller than the kernel (2) on spatial axis 0"
chk transpose_perm_dup.onnx "node 'n' (Transpose): perm is not a permutation of 0..4"
chk transpose_perm_range.onnx "node 'n' (Transpose): perm is not a permutation of 0..4"
chk concat_axis.onnx "node 'n' (Concat): axis 7 is out of range for rank 5"
chk softmax_axis.onnx "node 'n' (Softmax): axis -9 is out of range for rank 5"
chk flatten_axis.onnx "node 'n' (Flatten): axis 6 is out of range for rank 5"
chk reduce_axes_range.onnx "node 'n' (ReduceSum): axis 5 is out of range for rank 5"
chk reduce_axes_dup.onnx "node 'n' (ReduceMean): axis -4 is listed twice"
chk gather_axis.onnx "node 'n' (Gather): axis 5 is out of range for rank 5"
chk gather_index.onnx "node 'n' (Gather): index 2 is out of range for axis 1 of size 2"
chk scatternd_index.onnx "node 'n' (ScatterND): index -3 is out of range for axis 1 of size 2"
chk scatternd_shape.onnx "node 'n' (ScatterND): updates [4,4,4] must have shape [1,4,4,4] (indices [1,2] without its last dim, then data [1,2,4,4,4] from dim 2)"
chk scatternd_reduction.onnx "node 'n' (ScatterND): reduction 'max' needs opset 18 (opset 17 has none, add and mul)"
chk squeeze_not1.onnx "node 'n' (Squeeze): cannot squeeze axis 1 of size 2"
chk unsqueeze_dup.onnx "node 'n' (Unsqueeze): axis 0 is listed twice"
chk reshape_two_minus1.onnx "node 'n' (Reshape): shape has more than one -1"
chk reshape_count.onnx "node 'n' (Reshape): cannot reshape [1,2,4,4,4] (128 elements) into [7,3]"
chk reshape_negative.onnx "node 'n' (Reshape): shape entry 0 is -2"
chk reshape_runtime.onnx "node 'n' (Reshape): input 1 ('x') must be a constant known at compile time"
chk split_sum.onnx "node 'n' (Split): 'split' has 2 entries but the node has 1 outputs"
chk slice_step0.onnx "node 'n' (Slice): step 0 is 0"
chk slice_axes_dup.onnx "node 'n' (Slice): axis -3 is listed twice"
chk pad_negative_size.onnx "node 'n' (Pad): pads -9 and 0 on axis 2 of size 4 give a negative size"
chk pad_huge.onnx "node 'n' (Pad): output 'y' of shape [1,2,2199023255556,4,4] exceeds the limit of 4294967296 bytes (raise it with --max-bytes)"
chk expand_huge.onnx "node 'n' (Expand): cannot expand [1,2,4,4,4] to [1073741824,1073741824,1,1,1]"
chk tile_negative.onnx "node 'n' (Tile): negative repeat -1"
chk tile_huge.onnx "node 'n' (Tile): output 'y' of shape [2147483648,4294967296,8589934592,4,4] exceeds the limit of 4294967296 bytes (raise it with --max-bytes)"
chk resize_scale0.onnx "node 'n' (Resize): scale 2 is 0; scales must be positive"
chk resize_scale_neg.onnx "node 'n' (Resize): scale 2 is -2; scales must be positive"
chk resize_scale_huge.onnx "node 'n' (Resize): scale 1e+30 makes axis 2 too large"
chk resize_sizes_neg.onnx "node 'n' (Resize): cannot resize axis 2 of size 4 to -4"
chk cast_string.onnx "node 'n' (Cast): cast to string is not supported"
chk cast_unknown.onnx "node 'n' (Cast): cast to dtype 99 is not supported"
chk layernorm_axis.onnx "node 'n' (LayerNormalization): axis 5 is out of range for rank 5"
chk groupnorm_groups.onnx "node 'n' (GroupNormalization): num_groups 3 must be positive and divide the 2 channels"
chk instnorm_scale.onnx "node 'n' (InstanceNormalization): scale ('g') must have shape [2], got [3]"
chk batchnorm_shape.onnx "node 'n' (BatchNormalization): scale ('g') must have shape [2], got [1]"
chk matmul_mismatch.onnx "node 'n' (MatMul): inner dimensions differ: A[1,2,4,4,4] has K=4, B[3,2] has K=3"
chk gemm_rank.onnx "node 'n' (Gemm): input 0 ('x') must have rank 2, got shape [1,2,4,4,4]"
chk einsum_bad.onnx "node 'n' (Einsum): equation has text after the output term: '->'"
chk einsum_labels.onnx "node 'n' (Einsum): term 0 of equation 'ab->ab' has 2 labels but input 0 has rank 5"
chk sum65.onnx "node 'sum' (Sum): has 65 inputs; at most 64 are supported"
chk add_broadcast.onnx "node 'n' (Add): shapes [1,2,4,4,4] and [3] do not broadcast"
chk range_delta0.onnx "node 'n' (Range): Range delta is zero"
chk range_huge.onnx "node 'n' (Range): output 'y' of shape [4611686018427387904] exceeds the limit of 4294967296 bytes (raise it with --max-bytes)"
chk cos_negative.onnx "node 'n' (ConstantOfShape): negative dimension -3"
chk cos_zero_huge.onnx "node 'n' (ConstantOfShape): output 'y' of shape [0,1099511627776,1099511627776] exceeds the limit of 4294967296 bytes (raise it with --max-bytes)"
chk argmax_axis.onnx "node 'n' (ArgMax): axis 5 is out of range for rank 5"
chk depthtospace_block.onnx "node 'n' (DepthToSpace): blocksize must be at least 1, got 0"
chk depthtospace_huge.onnx "node 'n' (DepthToSpace): blocksize 4611686018427387904 is too large for 2 channels"
chk range_overflow.onnx "node 'n' (Range): output 'y' of shape [9223372036854775807] exceeds the limit of 4294967296 bytes (raise it with --max-bytes)"
chk leakyrelu_alpha_nan.onnx "node 'n' (LeakyRelu): attribute 'alpha' must be a finite number, got NaN"
chk hardsigmoid_beta_inf.onnx "node 'n' (HardSigmoid): attribute 'beta' must be a finite number, got inf"
chk layernorm_eps_nan.onnx "node 'n' (LayerNormalization): attribute 'epsilon' must be a finite number, got NaN"
chk gemm_alpha_inf.onnx "node 'n' (Gemm): attribute 'alpha' must be a finite number, got -inf"
chk celu_alpha0.onnx "node 'n' (Celu): attribute 'alpha' must not be 0"
chk clip_min_nan.onnx "node 'n' (Clip): min ('lo') is NaN"
chk convt_outpad.onnx "node 'n' (ConvTranspose): output_padding 2 on spatial axis 1 must be smaller than the stride or dilation (2)"
no_files "$T/o"
expect 0 "" $U checks/output_symbolic.onnx -o "$T/o/out_sym.c"     # symbolic and unknown output dims match
expect 0 "" $U checks/const_inf.onnx -o "$T/o/const_inf.c"         # an infinite Constant is fine
expect 0 "" $U checks/convt_outpad_dil.onnx -o "$T/o/convt_dil.c"  # output_padding 1 < dilation 2
rm -f "$T"/o/*
# the --max-bytes cap on the model file, .npy inputs and frozen inputs (read after all options)
expect 1 "$E add_relu.onnx: file is 147 bytes, above the limit of 100 bytes (raise it with --max-bytes)" $U add_relu.onnx --max-bytes 100 -o "$T/o/x.c"
expect 1 "$E checks/big1000.npy: .npy data of shape [1000] is above the limit of 1000 bytes" $U run add_relu.onnx --max-bytes 1000 --input checks/big1000.npy --output "$T/r/y.npy"
expect 1 "$E checks/big1000.npy: .npy data of shape [1000] is above the limit of 1000 bytes" $U add_relu.onnx --freeze-input x=checks/big1000.npy --max-bytes 1000 -o "$T/o/x.c"
expect 2 "unetrc: usage error: --max-bytes wants a positive integer, got '0' (see unetrc --help)" $U add_relu.onnx --max-bytes 0 -o "$T/o/x.c"
expect 2 "unetrc: usage error: --max-bytes wants a positive integer, got '-5' (see unetrc --help)" $U add_relu.onnx --max-bytes -5 -o "$T/o/x.c"
# --input-shape and --freeze-input against the model
expect 1 "$E add_relu.onnx: input 'nope': --input-shape names no input of the model" $U add_relu.onnx --input-shape nope=1,2,3 -o "$T/o/x.c"
expect 1 "$E add_relu.onnx: input 'bias': --input-shape names no input of the model" $U add_relu.onnx --input-shape bias=3 -o "$T/o/x.c"
expect 1 "$E add_relu.onnx: input 'x': --input-shape has rank 2 but the model declares rank 3" $U add_relu.onnx --input-shape x=1,2 -o "$T/o/x.c"
expect 1 "$E add_relu.onnx: input 'x': --input-shape sets dim 0 to 2 but the model fixes it to 1" $U add_relu.onnx --input-shape x=2,2,3 -o "$T/o/x.c"
expect 1 "$E symbolic.onnx: input 'x': shape [1000000000,2,3] of float32 exceeds the limit of 4294967296 bytes (raise it with --max-bytes)" $U symbolic.onnx --input-shape x=1000000000,2,3 -o "$T/o/x.c"
expect 1 "$E add_relu.onnx: input 'nope': cannot be frozen: the model has no such input" $U add_relu.onnx --freeze-input nope=add_relu.input.npy -o "$T/o/x.c"
expect 1 "$E add_relu.onnx: input 'x': the frozen value sets dim 1 to 3 but the model fixes it to 2" $U add_relu.onnx --freeze-input x=checks/x132.npy -o "$T/o/x.c"
expect 1 "$E add_relu.onnx: input 'x': frozen value is int64[1,2,3], the model declares float32[1,2,3]" $U add_relu.onnx --freeze-input x=add_relu.input_int.npy -o "$T/o/x.c"
no_files "$T/o"
# .npy inputs
npy() { f=$1; shift; expect 1 "$E checks/$f: $*" $U run add_relu.onnx --input "checks/$f" --output "$T/r/y.npy"; }
npy npy_bigendian.npy ".npy dtype '>f4' is not supported (little-endian bool, int, uint or float)"
npy npy_object.npy ".npy dtype '|O' is not supported (little-endian bool, int, uint or float)"
npy npy_structured.npy "bad .npy header: descr is not a string (structured dtypes are not supported)"
npy npy_version9.npy ".npy format version 9 is not supported"
npy npy_garbage.npy "bad .npy header: fortran_order is not True or False"
npy npy_extra_key.npy "bad .npy header: unknown key in header"
npy npy_dup_key.npy "bad .npy header: duplicate key in header"
npy npy_trailing.npy "bad .npy header: text after the header dict"
npy npy_rank9.npy "bad .npy header: rank above 8 is not supported"
npy npy_shape_overflow.npy ".npy shape overflows"
npy npy_negative.npy "bad .npy header: shape holds something other than non-negative integers"
npy npy_short.npy "truncated .npy header"
npy npy_descr_newline.npy '.npy dtype '"'"'|i1\x0a'"'"' is not supported (little-endian bool, int, uint or float)'
npy npy_descr_nul.npy "bad .npy header: malformed descr"
npy x_inf.npy "element 2 is infinite (use --allow-nonfinite to accept)"
expect 1 "$E add_relu.input.npy: input 'x' expects int64, the file has float32" $U run checks/int_input.onnx --input add_relu.input.npy --output "$T/r/y.npy"
expect 0 "" $U run checks/int_input.onnx --input add_relu.input_int.npy --output "$T/r/yi.npy"
# -- indices read at run time (Gather, GatherElements): out of range is an error, not a clamped read.
#    The interpreter names the node and the index; the generated forward returns NAME_ERR_INDEX.
rm -f "$T"/r/*
G="run checks/gather_runtime.onnx --input checks/gather_x.npy"
expect 0 "" $U $G --input checks/gather_idx_ok.npy --output "$T/r/g.npy"           # [-1, 2]
check "$CMP" "$D/checks/gather_expected.npy" "$T/r/g.npy" 0
expect 0 "" $U $G --input checks/gather_idx_ok.npy --output "$T/r/gi.npy" --interp
check "$CMP" "$D/checks/gather_expected.npy" "$T/r/gi.npy" 0
GE="run checks/gather_elements_runtime.onnx --input checks/gather_elements_x.npy"
expect 0 "" $U $GE --input checks/gather_elements_idx_ok.npy --output "$T/r/ge.npy"
check "$CMP" "$D/checks/gather_elements_expected.npy" "$T/r/ge.npy" 0
expect 0 "" $U $GE --input checks/gather_elements_idx_ok.npy --output "$T/r/gei.npy" --interp
check "$CMP" "$D/checks/gather_elements_expected.npy" "$T/r/gei.npy" 0
rm -f "$T"/r/*
expect 1 "$E checks/gather_runtime.onnx: node 'g' (Gather): index 4 (element 1 of the indices) is out of range for axis 0 of size 4" $U $G --input checks/gather_idx_big.npy --output "$T/r/g.npy" --interp
expect 1 "$E checks/gather_runtime.onnx: node 'g' (Gather): index -5 (element 0 of the indices) is out of range for axis 0 of size 4" $U $G --input checks/gather_idx_neg.npy --output "$T/r/g.npy" --interp
expect 1 "$E checks/gather_elements_runtime.onnx: node 'ge' (GatherElements): index 3 (element 4 of the indices) is out of range for axis 1 of size 3" $U $GE --input checks/gather_elements_idx_big.npy --output "$T/r/g.npy" --interp
idx_err="the generated code's forward returned MODEL_ERR_INDEX: an index read at run time is out of range (run with --interp to see which node and index)"
expect 1 "$E checks/gather_runtime.onnx: $idx_err" $U $G --input checks/gather_idx_big.npy --output "$T/r/g.npy"
expect 1 "$E checks/gather_runtime.onnx: $idx_err" $U $G --input checks/gather_idx_neg.npy --output "$T/r/g.npy"
expect 1 "$E checks/gather_elements_runtime.onnx: $idx_err" $U $GE --input checks/gather_elements_idx_big.npy --output "$T/r/g.npy"
# GatherND's tuples and NegativeLogLikelihoodLoss's targets (ignore_index -1) read at run time, likewise
ND="run checks/gathernd_runtime.onnx --input checks/gather_x.npy"
NL="run checks/nll_runtime.onnx --input checks/gather_x.npy"
for m in "" --interp; do
    expect 0 "" $U $ND --input checks/gathernd_idx_ok.npy --output "$T/r/nd.npy" $m
    check "$CMP" "$D/checks/gathernd_expected.npy" "$T/r/nd.npy" 0
    expect 0 "" $U $NL --input checks/nll_t_ok.npy --output "$T/r/nl.npy" $m
    check "$CMP" "$D/checks/nll_expected.npy" "$T/r/nl.npy" 1e-6
done
rm -f "$T"/r/*
expect 1 "$E checks/gathernd_runtime.onnx: node 'gnd' (GatherND): index 4 is out of range for axis 0 of size 4" $U $ND --input checks/gathernd_idx_big.npy --output "$T/r/g.npy" --interp
expect 1 "$E checks/nll_runtime.onnx: node 'nll' (NegativeLogLikelihoodLoss): target 3 (element 1) is out of range for 3 classes" $U $NL --input checks/nll_t_bad.npy --output "$T/r/g.npy" --interp
expect 1 "$E checks/gathernd_runtime.onnx: $idx_err" $U $ND --input checks/gathernd_idx_big.npy --output "$T/r/g.npy"
expect 1 "$E checks/nll_runtime.onnx: $idx_err" $U $NL --input checks/nll_t_bad.npy --output "$T/r/g.npy"
no_files "$T/r"
mkdir "$T/gr"
expect 0 "" $U checks/gather_runtime.onnx -o "$T/gr/gat.c" --embed-weights
cat > "$T/gr/main.c" <<'CEOF'
#include <stdio.h>
#include "gat.h"
static _Alignas(64) unsigned char arena[GAT_ARENA_SIZE];
int main(void) {
    float x[12], y[6] = {0};
    for (int i = 0; i < 12; i++) x[i] = (float)i;
    const int64_t ok[2] = {-1, 2}, big[2] = {0, 4}, neg[2] = {-5, 0}, edge[2] = {-4, 3};
    int a = gat_forward(arena, x, ok, y);
    printf("%d %g %g", a, y[0], y[3]);
    a = gat_forward(arena, x, edge, y);
    printf(" %d %g %g", a, y[0], y[3]);
    printf(" %d %d %d\n", gat_forward(arena, x, big, y), gat_forward(arena, x, neg, y), GAT_ERR_INDEX);
    return 0;
}
CEOF
check ${CC:-cc} -std=c11 -Wall -Wextra -Werror -pedantic -I"$T/gr" "$T/gr/main.c" "$T/gr/gat.c" -o "$T/gr/main"
check test "$("$T/gr/main")" = "0 9 6 0 0 9 -12 -12 -12"
# -- code built for an instruction-set extension this CPU lacks: the entry points return NAME_ERR_CPU and
#    NAME_cpu_missing names it, instead of faulting on its first instruction (a binary built with
#    -march=native moved to another machine); tried with the first of AVX-512F, AVX512-FP16 and AVX-VNNI
#    that this x86-64 CPU does not have (C and LLVM)
miss=""
if [ "$(uname -m)" = x86_64 ]; then
    # extension:its /proc/cpuinfo flag:a --target-cpu whose code needs it (none for AVX-VNNI)
    for c in avx512f:avx512f:x86-64-v4 avx512fp16:avx512_fp16:sapphirerapids avxvnni:avx_vnni:; do
        f=${c#*:}
        if ! grep -qw "${f%%:*}" /proc/cpuinfo; then miss=${c%%:*} mcpu=${f#*:}; break; fi
    done
fi
if [ -n "$miss" ]; then
    cpu_err="the generated code's forward returned MODEL_ERR_CPU: it was built for $miss, which this CPU lacks (--target-cpu, or -march / -m in --cflags)"
    expect 1 "$E add_relu.onnx: $cpu_err" $U run add_relu.onnx --input add_relu.input.npy --output "$T/r/y.npy" \
        --cflags "-std=c11 -O2 -m$miss -fopenmp"
    if [ -n "$mcpu" ] && $U --help | grep -q 'the backend that generates (and runs) the code: .*llvm'; then
        expect 1 "$E add_relu.onnx: $cpu_err" $U run add_relu.onnx --input add_relu.input.npy --output "$T/r/y.npy" \
            --backend llvm --target-cpu "$mcpu"
    fi
    no_files "$T/r"
    check ${CC:-cc} -std=c11 -O2 "-m$miss" -Wall -Wextra -Werror -pedantic -c "$T/gr/gat.c" -o "$T/gr/gat_x.o"
    cat > "$T/gr/cpu.c" <<'CEOF'
#include <stdio.h>
#include "gat.h"
static _Alignas(64) unsigned char arena[GAT_ARENA_SIZE];
int main(void) {
    float x[12] = {0}, y[6] = {0};
    const int64_t ok[2] = {-1, 2};
    const char *m = gat_cpu_missing();
    printf("%d %d %s\n", gat_forward(arena, x, ok, y), GAT_ERR_CPU, m ? m : "none");
    return 0;
}
CEOF
    check ${CC:-cc} -std=c11 -Wall -Wextra -Werror -pedantic -I"$T/gr" "$T/gr/cpu.c" "$T/gr/gat_x.o" -o "$T/gr/cpu"
    check test "$("$T/gr/cpu")" = "-15 -15 $miss"
else
    echo "(this CPU has AVX-512F, AVX512-FP16 and AVX-VNNI, or is no x86-64: NAME_ERR_CPU not tried)"
fi
# -- training a single-channel output: refused (MONAI's loss is then sigmoid/BCE), no files
mkdir -p "$T/oc"
expect 1 "$E checks/one_channel.onnx: loss: the model output has 1 channel(s); the softmax losses need at least 2 classes (MONAI's DiceCELoss on a single channel is a different, sigmoid/BCE loss)" $U checks/one_channel.onnx -o "$T/oc/seg.c" --train
no_files "$T/oc"
# -- training labels (fixtures tests/data/train/, make_train_fixtures.py, for the 4-class model
#    tests/train/loss): every value must be a class's label value and the shape exact, else nothing
#    runs; --label-map V0,V1,... makes label value Vi class i
LM=../train/loss/model.onnx; LX=../train/loss/x.npy; LL=../train/loss/label.npy
mkdir -p "$T/g"
gi() { $U grad $LM --input $LX --out "$T/g/x" --interp "$@"; }
expect 1 "$E train/label_brats.npy: label value 4 at 102 voxels is outside the model's 4 classes (0..3); remap with --label-map 0,1,2,4" gi --label train/label_brats.npy
expect 1 "$E train/label_neg.npy: label value -1 at 2 voxels is outside the model's 4 classes (0..3); map label values to classes with --label-map V0,...,V3" gi --label train/label_neg.npy
expect 1 "$E train/label_256.npy: label value 256 at 1 voxel is outside the model's 4 classes (0..3); map label values to classes with --label-map V0,...,V3" gi --label train/label_256.npy --label-type uint8
expect 1 "$E train/label_255.npy: label value 255 at 3 voxels is outside the model's 4 classes (0..3); map label values to classes with --label-map V0,...,V3" gi --label train/label_255.npy
expect 1 "$E train/label_all4.npy: label value 4 at 420 voxels is outside the model's 4 classes (0..3); map label values to classes with --label-map V0,...,V3" gi --label train/label_all4.npy
expect 1 "$E train/label_multi.npy: label values -1 (2 voxels), 4 (3 voxels) and 9 (1 voxel) are outside the model's 4 classes (0..3); map label values to classes with --label-map V0,...,V3" gi --label train/label_multi.npy
expect 1 "$E train/label_shape.npy: the label must have shape [2,1,5,6,7] or [2,5,6,7], the file has [2,5,6,7,1]" gi --label train/label_shape.npy
expect 1 "$E train/label_float.npy: the label must be an integer class map, the file has float32" gi --label train/label_float.npy
expect 1 "$E $LL: label value 3 at 102 voxels is not in --label-map 0,1,2,4" gi --label $LL --label-map 0,1,2,4
expect 1 "$E $LM: loss: --label-map gives 3 values for the model's 4 classes" gi --label $LL --label-map 0,1,2
expect 1 "$E $LM: train: --label-map value 300 does not fit the label type uint8" gi --label $LL --label-map 0,1,2,300 --label-type uint8
expect 2 "unetrc: usage error: --label-map lists the label value 2 twice (see unetrc --help)" gi --label $LL --label-map 0,2,1,2
expect 2 "unetrc: usage error: --label-map wants integers V0,V1,... (class i is label value Vi), got '0,1,,2' (see unetrc --help)" gi --label $LL --label-map 0,1,,2
no_files "$T/g"
# the same gradients (bit for bit): BraTS values with --label-map 0,1,2,4, and [N, S...] labels
expect 0 "" $U grad $LM --input $LX --label $LL --out "$T/g/ref"
expect 0 "" $U grad $LM --input $LX --label train/label_brats.npy --label-map 0,1,2,4 --out "$T/g/map"
expect 0 "" $U grad $LM --input $LX --label $LL --out "$T/g/ref_i" --interp
expect 0 "" $U grad $LM --input $LX --label train/label_brats.npy --label-map 0,1,2,4 --out "$T/g/map_i" --interp
expect 0 "" $U grad $LM --input $LX --label train/label_squeezed.npy --out "$T/g/sq_i" --interp
for f in w b; do
    check cmp -s "$T/g/ref/$f.npy" "$T/g/map/$f.npy"
    check cmp -s "$T/g/ref_i/$f.npy" "$T/g/map_i/$f.npy"
    check cmp -s "$T/g/ref_i/$f.npy" "$T/g/sq_i/$f.npy"
done
# -- parameter names as gradient file names: percent-encoded, so 'p/q', 'p_q' and 'p%2Fq' get three
#    files (with '/' made '_' the first two overwrote each other)
expect 0 "" $U grad train/grad_names.onnx --input train/grad_names.x.npy --label train/grad_names.label.npy --out "$T/gn"
expect 0 "" $U grad train/grad_names.onnx --input train/grad_names.x.npy --label train/grad_names.label.npy --out "$T/gn_i" --interp
check test "$(cd "$T/gn" && LC_ALL=C ls | tr '\n' ' ')" = "p%252Fq.npy p%2Fq.npy p_q.npy "
for f in p%252Fq p%2Fq p_q; do check "$CMP" "$T/gn_i/$f.npy" "$T/gn/$f.npy" 1e-6; done
check sh -c "! cmp -s '$T/gn/p%2Fq.npy' '$T/gn/p_q.npy'"
# -- C names: inputs 'x_2', 'x', 'x.' are in_x_2, in_x, in_x_3 (one renaming pass made two in_x_2)
expect 0 "" $U train/cnames.onnx -o "$T/o/cnames.c"
check grep -q 'const float \*in_x_2, const float \*in_x, const float \*in_x_3, float \*out_y)' "$T/o/cnames.h"
check ${CC:-cc} -std=c11 -Wall -Wextra -Werror -pedantic -c "$T/o/cnames.c" -o "$T/cnames.o"
# ... and the names of a training build's parameter table (C string literals) cannot break out either
expect 0 "" $U checks/names.onnx -o "$T/o/names_t.c" --train
check ${CC:-cc} -std=c11 -Wall -Wextra -Werror -pedantic -c "$T/o/names_t.c" -o "$T/names_t.o"
check sh -c "! nm '$T/names_t.o' | grep evil"
# --train compiles follow the prefix rules of plain compiles
expect 2 "unetrc: usage error: --name 'a-b' is not a C identifier (see unetrc --help)" $U $LM -o "$T/oc/t.c" --train --name a-b
no_files "$T/oc"
expect 0 "" $U $LM -o "$T/oc/9t.c" --train
check grep -q '^int m_9t_train_step(' "$T/oc/9t.h"
rm -f "$T"/oc/*
# --train takes the graph options of compile (one option table, cli.c) and checks them as compile does
expect 0 "" $U $LM -o "$T/oc/3d.c" --train -O0 --target-cpu generic --max-bytes 100000000 --input-shape x=2,4,5,6,7
check grep -q '^int m_3d_train_step(' "$T/oc/3d.h"
rm -f "$T"/oc/*
expect 2 "unetrc: usage error: --target-cpu: unknown CPU 'z80' (known: native, generic, x86-64, x86-64-v2, x86-64-v3, haswell, znver3, x86-64-v4, skylake-avx512, icelake-server, sapphirerapids, znver4, alderlake, armv8-a, cortex-a53, cortex-a72, neoverse-n1, neoverse-v1, apple-m1, cortex-m7, cortex-m4) (see unetrc --help)" $U $LM -o "$T/oc/t.c" --train --target-cpu z80
expect 2 "unetrc: usage error: --max-bytes wants a positive integer, got '0' (see unetrc --help)" $U $LM -o "$T/oc/t.c" --train --max-bytes 0
expect 2 "unetrc: usage error: --dump-after: unknown pass 'bogus' (see unetrc --help)" $U $LM -o "$T/oc/t.c" --train --dump-after=bogus
no_files "$T/oc"
# ... and each command only its own options; a choice names its values; --backend names the available ones
expect 2 "unetrc: usage error: unknown option '--optimizer' (see unetrc --help)" gi --label $LL --optimizer sgd
expect 2 "unetrc: usage error: unknown option '--data' (see unetrc --help)" $U $LM -o "$T/oc/t.c" --train --data x
expect 2 "unetrc: usage error: --loss wants dicece, dice or ce, got 'bce' (see unetrc --help)" gi --label $LL --loss=bce
expect 2 "unetrc: usage error: --threads wants a positive integer, got 'x' (see unetrc --help)" $U train $LM --data x --threads x
# the backends built (c, and llvm with LLVM 14), as --help lists them
backends=$($U --help | sed -n 's/.*the backend that generates (and runs) the code: \(.*\) (default c)$/\1/p')
expect 2 "unetrc: usage error: --backend: unknown backend 'bogus' (available: $backends) (see unetrc --help)" $U $LM -o "$T/oc/t.c" --backend bogus
expect 2 "unetrc: usage error: unknown option '--backend' (see unetrc --help)" $U info $LM --backend c
no_files "$T/oc"
expect 0 "" $U $LM -o "$T/oc/a.c"
expect 0 "" $U $LM -o "$T/oc/b.c" --backend c
check cmp -s "$T/oc/a.weights" "$T/oc/b.weights"
rm -f "$T"/oc/*
rm -f "$T"/r/*
expect 1 "$E checks/npy_long_header.npy: file is 70099 bytes, above the limit of 65636 bytes (raise it with --max-bytes)" $U add_relu.onnx --freeze-input x=checks/npy_long_header.npy --max-bytes 100 -o "$T/o/x.c"
no_files "$T/r"
expect 0 "" $U run add_relu.onnx --input checks/npy_long_header.npy --output "$T/r/y.npy"   # format 2.0, 70 kB header
expect 2 "unetrc: usage error: --output '$T/r/y.npy' is given twice (see unetrc --help)" $U run add_relu.onnx --input add_relu.input.npy --output "$T/r/y.npy" --output "$T/r/y.npy"
rm -f "$T"/r/*
# -- outputs naming one file twice however spelled, or writing over an input (the model itself, an --input,
#    a --freeze-input or an external data file, also through symlinks): usage errors, nothing written
U2="unetrc: usage error:"
RUN="run add_relu.onnx --input add_relu.input.npy"
ln -s "$T/r" "$T/rlink"
expect 2 "$U2 --output '$T/r/./y.npy' names the same file as --output '$T/r/y.npy' (see unetrc --help)" $U $RUN --output "$T/r/y.npy" --output "$T/r/./y.npy"
expect 2 "$U2 --output '$T/rlink/y.npy' names the same file as --output '$T/r/y.npy' (see unetrc --help)" $U $RUN --output "$T/r/y.npy" --output "$T/rlink/y.npy"
mkdir "$T/w"
cp "$D/add_relu.onnx" "$D/add_relu.input.npy" "$T/w/"
ln -s "$T/w/add_relu.input.npy" "$T/w/x_link.npy"
expect 2 "$U2 --output '$T/w/../w/add_relu.input.npy' would write over the --input file '$T/w/add_relu.input.npy' (see unetrc --help)" $U run "$T/w/add_relu.onnx" --input "$T/w/add_relu.input.npy" --output "$T/w/../w/add_relu.input.npy"
expect 2 "$U2 --output '$T/w/add_relu.input.npy' would write over the --input file '$T/w/x_link.npy' (see unetrc --help)" $U run "$T/w/add_relu.onnx" --input "$T/w/x_link.npy" --output "$T/w/add_relu.input.npy"
expect 2 "$U2 --output '$T/rlink/../w/add_relu.onnx' would write over the model '$T/w/add_relu.onnx' (see unetrc --help)" $U run "$T/w/add_relu.onnx" --input add_relu.input.npy --output "$T/rlink/../w/add_relu.onnx"
cp "$D/add_relu.onnx" "$T/w/seg.weights"
expect 2 "$U2 output '$T/w/seg.weights' (of -o '$T/w/seg.c') would write over the model '$T/w/seg.weights' (see unetrc --help)" $U "$T/w/seg.weights" -o "$T/w/seg.c"
expect 2 "$U2 output '$T/w/seg.weights' (of -o '$T/w/seg.c') would write over the model '$T/w/seg.weights' (see unetrc --help)" $U "$T/w/seg.weights" -o "$T/w/seg.c" --train
cp "$D/add_relu.input.npy" "$T/w/f.h"
expect 2 "$U2 output '$T/w/f.h' (of -o '$T/w/f.c') would write over the --freeze-input file '$T/w/f.h' (see unetrc --help)" $U add_relu.onnx --freeze-input "x=$T/w/f.h" -o "$T/w/f.c" --embed-weights
cp "$D/checks/ext_weights_name.onnx" "$T/w/"; cp "$D/checks/bias.bin" "$T/w/w.weights"
expect 2 "$U2 output '$T/w/w.weights' (of -o '$T/w/w.c') would write over the model's external data file '$(cd "$T/w" && pwd -P)/w.weights' (see unetrc --help)" $U "$T/w/ext_weights_name.onnx" -o "$T/w/w.c"
expect 0 "" $U "$T/w/ext_weights_name.onnx" -o "$T/w/w.c" --embed-weights   # no w.weights written: fine
check cmp -s "$T/w/w.weights" "$D/checks/bias.bin"
check cmp -s "$T/w/seg.weights" "$D/add_relu.onnx"
check cmp -s "$T/w/add_relu.input.npy" "$D/add_relu.input.npy"
check test "$(ls -A "$T/w" | tr '\n' ' ')" = "add_relu.input.npy add_relu.onnx ext_weights_name.onnx f.h seg.weights w.c w.h w.weights x_link.npy "
no_files "$T/r"
# -- an output name that leaves no room for the temporary file's suffix (.tmpPID.N, up to 25 bytes) under the
#    folder's 255-byte limit: a usage error up front, not a failure when the temporary file is created
long=$(printf '%0223d' 0)
expect 2 "$U2 output '$T/o/$long.weights' (of -o '$T/o/$long.c'): the file name has 231 bytes; with the temporary file's suffix (.tmpPID.N) at most 230 fit the folder's limit of 255 (see unetrc --help)" $U add_relu.onnx -o "$T/o/$long.c"
expect 2 "$U2 --output '$T/r/${long}0000.npy': the file name has 231 bytes; with the temporary file's suffix (.tmpPID.N) at most 230 fit the folder's limit of 255 (see unetrc --help)" $U $RUN --output "$T/r/${long}0000.npy"
no_files "$T/r"
expect 0 "" $U $RUN --output "$T/r/${long}000.npy"   # 230 bytes: fits
expect 0 "" $U add_relu.onnx -o "$T/o/$long.c" --embed-weights   # .c and .h fit
rm -f "$T"/r/* "$T"/o/*
# Concat of 200 operands, interpreted and compiled (the interpreter asserted above 64)
expect 0 "" $U run checks/concat200.onnx --interp --input checks/x12.npy --output "$T/r/cat_i.npy"
expect 0 "" $U run checks/concat200.onnx --input checks/x12.npy --output "$T/r/cat_c.npy"
check "$CMP" "$T/r/cat_i.npy" "$T/r/cat_c.npy" 0
rm -f "$T"/r/*
# ScatterND with run-time indices: negative ones wrap; out of range is an error in the
# interpreter, and the generated code skips that update
expect 0 "" $U run checks/scatternd_runtime.onnx --interp --input checks/x4.npy --input checks/idx_ok.npy --output "$T/r/sc_i.npy"
expect 0 "" $U run checks/scatternd_runtime.onnx --input checks/x4.npy --input checks/idx_ok.npy --output "$T/r/sc_c.npy"
check "$CMP" "$D/checks/scatternd_ok.expected.npy" "$T/r/sc_i.npy" 0
check "$CMP" "$D/checks/scatternd_ok.expected.npy" "$T/r/sc_c.npy" 0
expect 1 "$E checks/scatternd_runtime.onnx: node 'n' (ScatterND): index 4 is out of range for axis 0 of size 4" $U run checks/scatternd_runtime.onnx --interp --input checks/x4.npy --input checks/idx_bad.npy --output "$T/r/sc_bad.npy"
expect 0 "" $U run checks/scatternd_runtime.onnx --input checks/x4.npy --input checks/idx_bad.npy --output "$T/r/sc_bad.npy"
check "$CMP" "$D/checks/scatternd_bad.expected.npy" "$T/r/sc_bad.npy" 0
rm -f "$T"/r/*
# a bfloat16 output is written as a float32 .npy
expect 0 "" $U run checks/bf16_out.onnx --input add_relu.input.npy --output "$T/r/bf16.npy"
check "$CMP" "$D/add_relu.input.npy" "$T/r/bf16.npy" 1e-2
rm -f "$T"/r/*
# --no-fold keeps no Constant node for lowering (fuzz regression: internal error)
expect 0 "" $U checks/constant.onnx --no-fold -o "$T/o/c.c"
# names from the model cannot break out of C comments in the generated code
expect 0 "" $U checks/names.onnx -o "$T/o/names.c"
expect 0 "" $U checks/names.onnx -o "$T/o/names_e.c" --embed-weights
check ${CC:-cc} -std=c11 -Wall -Wextra -Werror -pedantic -c "$T/o/names.c" -o "$T/names.o"
check ${CC:-cc} -std=c11 -Wall -Wextra -Werror -pedantic -c "$T/o/names_e.c" -o "$T/names_e.o"
check sh -c "! nm '$T/names.o' '$T/names_e.o' | grep evil"
# -- no partial outputs: a failure at the last moment (one destination is a
#    folder) leaves the earlier files byte-identical and no temporary file
rm -rf "$T/o3"; mkdir "$T/o3"
expect 0 "" $U add_relu.onnx -o "$T/o3/seg.c"
cp "$T/o3/seg.c" "$T/keep.c"; cp "$T/o3/seg.weights" "$T/keep.weights"
rm "$T/o3/seg.h"; mkdir "$T/o3/seg.h"
expect 1 "$E $T/o3/seg.h: cannot rename output file into place: Is a directory" $U layout_chain.onnx -o "$T/o3/seg.c"
check cmp -s "$T/o3/seg.c" "$T/keep.c"
check cmp -s "$T/o3/seg.weights" "$T/keep.weights"
check test "$(ls -A "$T/o3" | tr '\n' ' ')" = "seg.c seg.h seg.weights "
expect 0 "" $U run add_relu.onnx --input add_relu.input.npy --output "$T/r/y.npy"
cp "$T/r/y.npy" "$T/keep.npy"
expect 1 "$E add_relu.input_nan.npy: element 5 is NaN (use --allow-nonfinite to accept)" $U run add_relu.onnx --input add_relu.input_nan.npy --output "$T/r/y.npy"
mkdir "$T/r/z.npy"
expect 1 "$E $T/r/z.npy: cannot rename output file into place: Is a directory" $U run add_relu.onnx --input add_relu.input.npy --output "$T/r/z.npy"
check cmp -s "$T/r/y.npy" "$T/keep.npy"
check test "$(ls -A "$T/r" | tr '\n' ' ')" = "y.npy z.npy "
# an interrupted compile (SIGTERM while writing) leaves no temporary file
rm -rf "$T/o4"; mkdir "$T/o4"
n=$((n + 1))
( cd "$D" && exec $U ../../models/unetr_default_layout_small.onnx -o "$T/o4/big.c" --embed-weights ) 2>/dev/null &
pid=$!
i=0; while [ $i -lt 200 ] && ! ls "$T/o4" | grep -q tmp; do sleep 0.05; i=$((i + 1)); done
kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
if [ -n "$(ls -A "$T/o4" | grep tmp)" ]; then echo "FAIL: temporary files left after SIGTERM: $(ls -A "$T/o4")"; fails=$((fails + 1)); fi

# -- help: `unetrc --help` lists every command and option; each command has its own (stdout, exit 0,
#    nothing on stderr); every option of the table (compiler/cli.c) is in `unetrc --help` and in docs/cli.md
S=$(cd "$D/../.." && pwd)
help_of() { n=$((n + 1)); out=$($U "$@" 2>"$T/help_err"); rc=$?
    if [ $rc != 0 ] || [ -s "$T/help_err" ]; then echo "FAIL: $* exit $rc: $(cat "$T/help_err")"; fails=$((fails + 1)); fi; }
help_has() { n=$((n + 1)); if ! printf '%s\n' "$out" | grep -qe "$1"; then echo "FAIL: help lacks '$1'"; fails=$((fails + 1)); fi; }
help_lacks() { n=$((n + 1)); if printf '%s\n' "$out" | grep -qe "$1"; then echo "FAIL: help has '$1'"; fails=$((fails + 1)); fi; }
help_of --help
help_has "^usage: unetrc MODEL.onnx -o OUT.c"; help_has "^       unetrc grad MODEL.onnx"; help_has "^       unetrc train MODEL.onnx"
help_has "^training options"; help_has "  --optimizer adamw|sgd"; help_has "  --data DIR"; help_has "  --stop-after N"
all=$out
opts=$(grep -o '^ *{"-[-a-zA-Z0-9]*"' "$S/compiler/cli.c" | sed 's/.*"\(.*\)"/\1/' | sort -u)
[ "$(printf '%s\n' "$opts" | wc -l)" -gt 60 ] || { echo "FAIL: the option table of compiler/cli.c was not found"; fails=$((fails + 1)); }
for o in $opts; do
    n=$((n + 1))
    printf '%s\n' "$all" | grep -qE -- "[ ,]$o([ ,]|\$)" || { echo "FAIL: option $o is not in unetrc --help"; fails=$((fails + 1)); }
    grep -qF -- "\`$o" "$S/docs/cli.md" || { echo "FAIL: option $o is not in docs/cli.md"; fails=$((fails + 1)); }
done
help_of run --help; help_has "^usage: unetrc run MODEL.onnx"; help_has "  --output Y.npy"; help_lacks "--steps"; help_lacks "--embed-weights"
help_of info --help; help_has "^usage: unetrc info MODEL.onnx"; help_lacks "  --output"
help_of bench --help; help_has "^usage: unetrc bench MODEL.onnx"; help_has "  --runs N"; help_lacks "  --output"
help_of compile --help; help_has "^usage: unetrc MODEL.onnx -o OUT.c"; help_has "  --embed-weights"; help_lacks "  --input X.npy"
help_of grad --help; help_has "^usage: unetrc grad MODEL.onnx"; help_has "  --label L.npy"; help_has "  --loss dicece"; help_lacks "--embed-weights"; help_lacks "--optimizer"
help_of train --help; help_has "^usage: unetrc train MODEL.onnx"; help_has "  --checkpoint-every K"; help_has "  --optimizer"; help_lacks "  --label L.npy"
help_of add_relu.onnx --train --help; help_has "^usage: unetrc MODEL.onnx -o OUT.c --train"; help_has "  --label-type T"; help_lacks "  --data DIR"
help_of grad --version; help_has "^unetrc [0-9]"
help_of segment --help; help_has "^usage: unetrc segment MODEL.onnx"; help_has "  --flip-tta AXES"; help_has "  --cache DIR"; help_lacks "--embed-weights"; help_lacks "--dump-ir"

# -- integer arithmetic (docs/ops.md "Integer semantics"; fixtures: data/make_arith.py)
mkdir -p "$T/ar"
expect 1 "$E arith/div_zero.onnx: node 'div' (Div): integer division by zero: element 1 of the divisor 'c' is 0" $U arith/div_zero.onnx -o "$T/ar/x.c"
expect 1 "$E arith/mod_zero.onnx: node 'mod' (Mod): integer division by zero: element 0 of the divisor 'c' is 0" $U run arith/mod_zero.onnx --interp --input arith/zeros2.npy --output "$T/ar/y.npy"
expect 1 "$E arith/pad_crop.onnx: node 'pad' (Pad): pads -9223372036854775808 and 9223372036854775807 on axis 2 of size 4 crop more than the axis holds" $U arith/pad_crop.onnx -o "$T/ar/x.c"
expect 1 "$E arith/s2d_huge.onnx: node 's2d' (SpaceToDepth): blocksize 1099511627776 is too large for 2 channels" $U arith/s2d_huge.onnx -o "$T/ar/x.c"
expect 1 "$E arith/bitshift_direction.onnx: node 'shift' (BitShift): attribute 'direction' must be LEFT or RIGHT, got 'UP'" $U arith/bitshift_direction.onnx -o "$T/ar/x.c"
expect 1 "$E arith/resize_keep_huge.onnx: node 'resize' (Resize): output 'y' of shape [1,1,9223372036854775807,9223372036854775807] exceeds the limit of 4294967296 bytes (raise it with --max-bytes)" $U arith/resize_keep_huge.onnx -o "$T/ar/x.c"
no_files "$T/ar"
# INT64_MIN / -1 folded at compile time killed the compiler (SIGFPE); at run time the interpreter and the generated
# code (built with UBSan here: no trap, no undefined behaviour) give INT64_MIN, and x / 0 = x % 0 = 0
UBSAN="-std=c11 -O1 -fsanitize=undefined,float-cast-overflow -fno-sanitize-recover=all"
expect 0 "" $U arith/div_fold.onnx -o "$T/ar/fold.c"
expect 0 "" $U run arith/div_fold.onnx --interp --input arith/zeros2.npy --output "$T/ar/fold.npy"
check cmp -s "$D/arith/div_fold.expected.npy" "$T/ar/fold.npy"  # exact (npy_compare goes through double)
# a ConstantOfShape too large to fold stores its int64 value exactly (it went through a double)
expect 0 "" $U arith/cos_int64_big.onnx -o "$T/ar/cos.c"
check grep -q "INT64_C(9223372036854775806)" "$T/ar/cos.c"
for m in div mod; do
    expect 0 "" $U run arith/${m}_run.onnx --interp --input arith/div_run.x.npy --input arith/div_run.d.npy --output "$T/ar/${m}_i.npy"
    expect 0 "" $U run arith/${m}_run.onnx --cflags "$UBSAN" --input arith/div_run.x.npy --input arith/div_run.d.npy --output "$T/ar/${m}_c.npy"
    check cmp -s "$D/arith/${m}_run.expected.npy" "$T/ar/${m}_i.npy"
    check cmp -s "$D/arith/${m}_run.expected.npy" "$T/ar/${m}_c.npy"
done

# -- info
n=$((n + 1))
info=$(cd "$D" && $U info add_relu.onnx)
case "$info" in *"parameters: 3 (12 bytes)"*"arena_bytes: 64"*"arena_lower_bound: 64"*) ;; *) echo "FAIL: info output:"; echo "$info"; fails=$((fails + 1));; esac

echo "cli tests: $n checks, $fails failed"
[ "$fails" = 0 ]
