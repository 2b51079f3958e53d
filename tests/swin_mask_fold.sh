#!/bin/sh
# swin_mask_fold.sh UNETRC NPY_COMPARE MODELS_DIR: a shifted-window mask too big for constant folding (Swin
# UNETR BTCV's is [343, 343, 343], 161 MB, above passes/infer.c's 64 MB) is evaluated by the attention pass
# itself (urc_fold_cone) and kept as region ids, so every window attention is still one unetrc.Attention.
# The bundled swin_v1_fs6 has masks of 58, 12.7 and 3.8 MB: UNETRC_FOLD_MAX_BYTES=8388608 leaves the first
# two unfolded, as the BTCV mask is at the default limit. All three must come out as mask_ids, no Softmax may
# be left, and the output must still match PyTorch.
set -eu
U=$1; CMP=$2; M=$3
T=$(mktemp -d /tmp/unetrc-maskfold-XXXXXX)
trap 'rm -rf "$T"' EXIT
export UNETRC_FOLD_MAX_BYTES=8388608
"$U" "$M/swin_v1_fs6.onnx" --dump-ir -o "$T/seg.c" > "$T/ir"
n=$(grep -c " Softmax " "$T/ir" || true)
ids=$(grep -o "mask_ids const int32\[[0-9,]*\]" "$T/ir" | sort -u | tr '\n' ' ')
[ "$n" = 0 ] || { echo "FAIL: $n Softmax nodes left (attention not fused)"; exit 1; }
[ "$ids" = "mask_ids const int32[125,343] mask_ids const int32[27,343] mask_ids const int32[8,343] " ] ||
    { echo "FAIL: mask ids: '$ids'"; exit 1; }
"$U" run "$M/swin_v1_fs6.onnx" --input "$M/swin_v1_fs6.input.npy" --output "$T/y.npy"
"$CMP" "$M/swin_v1_fs6.expected.npy" "$T/y.npy" 1e-4
echo "swin_mask_fold: ok"
