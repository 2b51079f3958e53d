#!/bin/sh
# norm_head_test.sh UNETRC NPY_COMPARE MODELS_DIR: the output head in the norm before it (passes/norm_head.c).
# On unetr_conv_tiny (InstanceNorm -> LeakyReLU -> 1x1 Conv 16 -> 3, channels-first output) and basicunet3d_tiny
# (32 -> 2): the IR has one FusedNorm with the head and no Conv after it; the generated code (C, and LLVM when
# built, URC_TEST_LLVM=1, on unetr_conv_tiny) gives the same bits as with the head a kernel of its own
# (UNETRC_HEAD_FUSE=0: the fused kernel sums each class in the same channel order with fused multiply-adds); the
# interpreter's fused FusedNorm is within 1e-6 of its unfused graph (the bias added first instead of last) and the
# unoptimised graph (-O0) within 1e-5 of the code.
set -eu
U=$1; CMP=$2; M=$3
T=$(mktemp -d /tmp/unetrc-head-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
for name in unetr_conv_tiny basicunet3d_tiny; do
    m="$M/$name.onnx"; x="$M/$name.input.npy"
    "$U" info "$m" --dump-ir >"$T/ir.txt"
    [ "$(grep -c "unetrc.FusedNorm .* head(Y channels-first)$" "$T/ir.txt")" -eq 1 ] ||
        fail "$name: no FusedNorm with the head"
    UNETRC_HEAD_FUSE=0 "$U" info "$m" --dump-ir >"$T/ir0.txt"
    convs=$(grep -c " Conv \| unetrc.FusedConv " "$T/ir.txt")
    [ "$convs" -eq $(($(grep -c " Conv \| unetrc.FusedConv " "$T/ir0.txt") - 1)) ] ||
        fail "$name: the head's Conv is still there"
    bes=c # (LLVM on the first model: it contracts nothing by itself, so a non-fused multiply-add shows there)
    if [ "${URC_TEST_LLVM:-0}" = 1 ] && [ $name = unetr_conv_tiny ]; then bes="c llvm"; fi
    for be in $bes; do
        "$U" run "$m" --input "$x" --backend "$be" --output "$T/f.npy"
        UNETRC_HEAD_FUSE=0 "$U" run "$m" --input "$x" --backend "$be" --output "$T/u.npy"
        "$CMP" "$T/u.npy" "$T/f.npy" 0 || fail "$name ($be): the fused head changed the output"
    done
    "$U" run "$m" --input "$x" --interp --output "$T/fi.npy"
    UNETRC_HEAD_FUSE=0 "$U" run "$m" --input "$x" --interp --output "$T/ui.npy"
    "$CMP" "$T/ui.npy" "$T/fi.npy" 1e-6 || fail "$name: the interpreter's fused head"
    "$U" run "$m" --input "$x" -O0 --interp --output "$T/o0.npy"
    "$CMP" "$T/o0.npy" "$T/f.npy" 1e-5 || fail "$name: the code against the unoptimised graph"
done
echo "ok: norm_head"
