#!/bin/sh
# config_tests.sh UNETRC NPY_COMPARE: MONAI configs + safetensors weights
# (compiler/frontend/monai_config.c). Each fixture of make_config_fixtures.py
# is compiled, run (generated C; one also through the interpreter) and
# compared with PyTorch's output (1e-4 of max|ref|); then bad configs and
# weights must fail with exactly the message given.
set -u
D=$(cd "$(dirname "$0")" && pwd)
. "$D/../expect.sh" # expect, no_files, check (run from $D)
U=$(abspath "$1"); CMP=$(abspath "$2")
scratch config

# -- outputs against PyTorch: the graph each config builds, through the interpreter (a tenth of the time of
# compiling each); bu3d_default and unetr_2d also through generated C (and their ONNX exports below), as is
# unetr_pp_tiny. The C backend's agreement with the interpreter is the e2e tests' (every op and model).
for name in bu3d_default bu3d_batch_odd bu2d_prelu unetr_conv unetr_perceptron_batch unetr_2d unet3d_res_batch \
    unet2d_plain unet3d_group unetr2d_group unetr_pp_nods unet3d_aniso unet2d_aniso_plain; do
    mkdir -p "$T/$name"
    shape=$(cat "$D/$name.shape")
    check "$U" "$D/$name.json" --weights "$D/$name.safetensors" --input-shape "input=$shape" -o "$T/$name/seg.c"
    check test -s "$T/$name/seg.weights"
    how=--interp
    case $name in bu3d_default | unetr_2d) how= ;; esac
    # shellcheck disable=SC2086 # $how: zero or one word
    check "$U" run "$D/$name.json" --weights "$D/$name.safetensors" --input-shape "input=$shape" \
        --input "$D/$name.input.npy" --output "$T/$name.out.npy" $how
    check "$CMP" "$D/$name.expected.npy" "$T/$name.out.npy" 1e-4
done
# Our UNETR++ (models/unetr_pp.py) with deep supervision: its three outputs.
name=unetr_pp_tiny
mkdir -p "$T/$name"
check "$U" "$D/$name.json" --weights "$D/$name.safetensors" -o "$T/$name/seg.c"
check "$U" run "$D/$name.json" --weights "$D/$name.safetensors" --input "$D/$name.input.npy" --output "$T/$name.out.npy" \
    --output "$T/$name.ds2.npy" --output "$T/$name.ds3.npy"
check "$CMP" "$D/$name.expected.npy" "$T/$name.out.npy" 1e-4
check "$CMP" "$D/$name.expected_ds2.npy" "$T/$name.ds2.npy" 1e-4
check "$CMP" "$D/$name.expected_ds3.npy" "$T/$name.ds3.npy" 1e-4
# The same networks exported to ONNX give the same output as their configs (1e-6).
for name in bu3d_default unetr_2d; do
    check "$U" run "$D/$name.onnx" --input "$D/$name.input.npy" --output "$T/$name.onnx.npy"
    check "$CMP" "$T/$name.out.npy" "$T/$name.onnx.npy" 1e-6
done
# Gradients of DiceCELoss against PyTorch autograd: the loss to 1e-5 relative, the
# same set of parameters, each gradient to 1e-3 of its max (NAME.grad_tol.txt:
# the bounds of gradients that are zero in exact arithmetic). CONFIG_GRAD_CASES: the fixtures (default: the
# 2D ones and unetr_pp_ds; -DUNETRC_LONG_TESTS=ON runs all of them as config_tests_grad).
# unetr_pp_ds: UNETR++'s deep supervision loss over its three outputs (--ds-weights; the label subsampled to
# each output's grid, make_config_fixtures.py's ds_loss). Through the interpreter (a twentieth of the time of
# compiling: the compiled backward's agreement is the grad_model and test_grad tests') except unet2d_plain, and
# every case of the long set (CONFIG_GRAD_CASES) compiled.
for name in ${CONFIG_GRAD_CASES:-bu2d_prelu unet2d_plain unetr2d_group unet2d_aniso_plain unetr_pp_ds}; do
    g=$T/$name.grad
    mkdir -p "$g"
    ds=--interp
    [ "$name" = unet2d_plain ] || [ -n "${CONFIG_GRAD_CASES:-}" ] && ds=
    [ "$name" = unetr_pp_ds ] && ds="--ds-weights 1,0.5,0.25 --interp"
    # shellcheck disable=SC2086 # $ds: zero, one or three words
    out=$("$U" grad "$D/$name.json" --weights "$D/$name.safetensors" --input-shape "input=$(cat "$D/$name.shape")" \
        --input "$D/$name.input.npy" --label "$D/$name.label.npy" --out "$g" $ds 2>&1)
    check awk -v a="${out#loss=}" -v b="$(cat "$D/$name.loss.txt")" \
        'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-5 * b) }'
    check test "$(ls "$g")" = "$(ls "$D/$name.grad")"
    for f in "$D/$name.grad"/*.npy; do
        b=$(basename "$f")
        tol=$(awk -v f="$b" '$1 == f { print $2 }' "$D/$name.grad_tol.txt")
        check "$CMP" "$f" "$g/$b" "${tol:-1e-3}" >/dev/null
    done
done
expect 1 "unetrc: error: unetr_pp_ds.json: train: --ds-weights gives 4 weights but the model has 3 outputs" \
    "$U" grad unetr_pp_ds.json --weights unetr_pp_ds.safetensors --input unetr_pp_ds.input.npy \
    --label unetr_pp_ds.label.npy --out "$T/ds4" --ds-weights 1,0.5,0.25,0.1
expect 1 "unetrc: error: unetr_pp_ds.json: train: --ds-weights: every weight is 0" \
    "$U" grad unetr_pp_ds.json --weights unetr_pp_ds.safetensors --input unetr_pp_ds.input.npy \
    --label unetr_pp_ds.label.npy --out "$T/ds0" --ds-weights 0,0,0
expect 2 "unetrc: usage error: --ds-weights: weight -1 is negative (see unetrc --help)" \
    "$U" grad unetr_pp_ds.json --weights unetr_pp_ds.safetensors --input unetr_pp_ds.input.npy \
    --label unetr_pp_ds.label.npy --out "$T/ds0" --ds-weights 1,-1
# --init SEED (no --weights): the same seed gives byte-identical weights, another seed others; a network so
# initialised trains (the DiceCE loss falls over 4 SGD steps on one fixed pair).
mkdir -p "$T/init1" "$T/init2" "$T/init3" "$T/data"
for s in 1 2; do
    check "$U" "$D/unet2d_plain.json" --init 7 --input-shape input=2,3,32,48 -o "$T/init$s/seg.c"
done
check "$U" "$D/unet2d_plain.json" --init 8 --input-shape input=2,3,32,48 -o "$T/init3/seg.c"
check cmp -s "$T/init1/seg.weights" "$T/init2/seg.weights"
check test -n "$(cmp "$T/init1/seg.weights" "$T/init3/seg.weights" 2>&1)"
cp "$D/unet2d_plain.input.npy" "$T/data/a_image.npy"
cp "$D/unet2d_plain.label.npy" "$T/data/a_label.npy"
losses=$("$U" train "$D/unet2d_plain.json" --init 7 --input-shape input=2,3,32,48 --data "$T/data" --steps 4 \
    --out "$T/init_train" 2>&1 | sed -n 's/^step .* loss=\([0-9.]*\) .*/\1/p' | tr '\n' ' ')
echo "--init 7, train: losses $losses"
check awk -v l="$losses" 'BEGIN { n = split(l, a, " "); exit !(n == 4 && a[4] < a[3] && a[3] < a[2] && a[2] < a[1]) }'

# Node names are MONAI's module paths.
ir=$("$U" info "$D/bu3d_default.json" --weights "$D/bu3d_default.safetensors" --input-shape input=1,1,32,32,32 \
    --dump-after import 2>&1)
case "$ir" in *"upcat_4.upsample.deconv"*"final_conv"*) n=$((n + 1)) ;;
*) echo "FAIL: module paths not in the imported graph"; fails=$((fails + 1)); n=$((n + 1)) ;; esac

# -- bad configs and weights
E="unetrc: error:"
W="--weights bu3d_default.safetensors"
S="--input-shape input=1,1,32,32,32"
# bad JSON MESSAGE ARGS...: the config JSON fails with exactly MESSAGE
bad() {
    printf '%s' "$1" > "$T/c.json"
    m=$2
    shift 2
    expect 1 "$E $T/c.json: $m" "$U" "$T/c.json" "$@" -o "$T/o/x.c"
}
bad '{"network_def": {"_target_": "monai.networks.nets.VNet", "spatial_dims": 3}}' \
    "_target_: 'monai.networks.nets.VNet' is not a supported network (supported: BasicUNet, UNETR, UNet, SwinUNETR, UNETR_PP)" $W $S
bad '{"_target_": "BasicUNet", "foo": 1, "channels": 2, "features": "@feat", "act": ["$relu"]}' \
    "BasicUNet: unknown arguments 'foo', 'channels' (it takes spatial_dims, in_channels, out_channels, features, act, norm, bias, dropout, upsample); BasicUNet: bundle references and expressions are not supported, give literal values: features='@feat', act[0]='\$relu'" $W $S
bad '{"_target_": "BasicUNet", "bias": true, "bias": false}' "BasicUNet argument 'bias': is given twice" $W $S
bad '{"_target_": "BasicUNet", "spatial_dims": 4}' \
    "BasicUNet argument 'spatial_dims': must be an integer from 2 to 3, got 4" $W $S
bad '{"_target_": "BasicUNet", "features": [4, 4, 8], "norm": "group", "upsample": "pixelshuffle"}' \
    "BasicUNet argument 'features': must have 6 values, got 3; BasicUNet argument 'norm': group norm needs num_groups: [\"group\", {\"num_groups\": N}]; BasicUNet argument 'upsample': the string 'pixelshuffle' is not supported ('deconv' is)" $W $S
bad '{"_target_": "UNETR", "in_channels": 1, "hidden_size": 30, "num_heads": 4, "proj_type": "linear"}' \
    "UNETR argument 'out_channels': is required; UNETR argument 'img_size': is required" $W
bad '{"_target_": "UNETR", "in_channels": 1, "out_channels": 2, "img_size": [32, 24, 32], "hidden_size": 30, "num_heads": 4}' \
    "UNETR argument 'img_size': 24 is not divisible by the patch size 16" $W
bad '{"_target_": "UNETR", "in_channels": 1, "out_channels": 2, "img_size": 32, "hidden_size": 30, "num_heads": 4, "proj_type": "linear"}' \
    "UNETR argument 'proj_type': the string 'linear' is not supported ('conv' and 'perceptron' are); UNETR argument 'hidden_size': hidden_size should be divisible by num_heads." \
    --weights unetr_conv.safetensors
bad '{"_target_": "UNet", "spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8, 16], "strides": [2], "adn_ordering": "NNA"}' \
    "UNet argument 'adn_ordering': must be a string of N, D and A, each at most once; UNet argument 'strides': the length of \`strides\` should equal to \`len(channels) - 1\`." $W $S
bad '{"_target_": "UNet", "spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8, 16], "strides": [2, 2], "num_res_units": 1, "norm": ["group", {"num_groups": 3}]}' \
    "model.0.conv.unit0.adn.N: num_channels must be divisible by num_groups (4 channels, 3 groups)" \
    --weights unet3d_group.safetensors $S
# UNet's per-dimension kernel sizes and strides: MONAI's (and PyTorch's) messages
U3='"_target_": "UNet", "spatial_dims": 3, "in_channels": 1, "out_channels": 2'
bad "{$U3, \"channels\": [4], \"strides\": []}" "UNet argument 'channels': the length of \`channels\` should be no less than 2." $W $S
bad "{$U3, \"channels\": [4, 8, 16], \"strides\": [2, 2], \"kernel_size\": [3, 3], \"up_kernel_size\": [3, 3, 3, 3]}" \
    "UNet argument 'kernel_size': the length of \`kernel_size\` should equal to \`dimensions\`.; UNet argument 'up_kernel_size': the length of \`up_kernel_size\` should equal to \`dimensions\`." $W $S
bad "{$U3, \"channels\": [4, 8, 16], \"strides\": [2, 2], \"kernel_size\": [3, 4, 3], \"up_kernel_size\": 2}" \
    "UNet argument 'kernel_size': Same padding not available for kernel_size=[3 4 3] and dilation=[1]." $W $S
bad "{$U3, \"channels\": [4, 8, 16], \"strides\": [2, 2], \"up_kernel_size\": 2}" \
    "UNet argument 'up_kernel_size': Same padding not available for kernel_size=[2] and dilation=[1]." $W $S
bad "{$U3, \"channels\": [4, 8, 16], \"strides\": [[2, 2], 2]}" \
    "UNet argument 'strides[0]': expected stride to be a single integer value or a list of 3 values to match the convolution dimensions, but got stride=[2, 2]" $W $S
bad '{"_target_": "UNETR_PP", "in_channels": 1, "out_channels": 2, "img_size": [16, 32, 48], "num_heads": 3}' \
    "UNETR_PP argument 'img_size': img_size (16, 32, 48) must be divisible by (16, 32, 32)" $W
bad '{"_target_": "unetr_pp.UNETR_PP", "in_channels": 1, "out_channels": 2, "img_size": [16, 32, 64], "num_heads": 3}' \
    "UNETR_PP argument 'num_heads': width 32 is not divisible by 3 heads" $W
# SwinUNETR: MONAI's messages (compiler/frontend/monai_swin.c; its outputs: swin_tests.sh)
bad '{"_target_": "SwinUNETR", "in_channels": 1, "out_channels": 2, "img_size": [64, 48, 40]}' \
    "SwinUNETR argument 'img_size': spatial dimensions [3, 4] of input image (spatial shape: (64, 48, 40)) must be divisible by 2**5." $W
bad '{"_target_": "SwinUNETR", "in_channels": 1, "out_channels": 2, "img_size": 32, "feature_size": 18, "drop_rate": 1.5, "attn_drop_rate": -1, "dropout_path_rate": 2, "downsample": "merge", "depths": [2, 2, 2]}' \
    "SwinUNETR argument 'depths': must have 4 values, got 3; SwinUNETR argument 'downsample': Unsupported option 'merge', available options are ['merging', 'mergingv2'].; SwinUNETR argument 'drop_rate': dropout rate should be between 0 and 1.; SwinUNETR argument 'attn_drop_rate': attention dropout rate should be between 0 and 1.; SwinUNETR argument 'dropout_path_rate': drop path rate should be between 0 and 1.; SwinUNETR argument 'feature_size': feature_size should be divisible by 12." $W
bad '{"_target_": "SwinUNETR", "in_channels": 1, "out_channels": 2, "img_size": 32, "feature_size": 12, "num_heads": [3, 6, 5, 24]}' \
    "SwinUNETR argument 'num_heads': stage 3 has 48 channels, not divisible by its 5 heads" $W
bad '{"_target_": "SwinUNETR", "in_channels": 1, "out_channels": 2, "img_size": 32, "feature_size": 12}' \
    "SwinUNETR argument 'input': spatial dimensions [4] of input image (spatial shape: (32, 32, 48)) must be divisible by 2**5." $W \
    --input-shape input=1,1,32,32,48
bad '{"_target_": "SwinUNETR", "in_channels": 1, "out_channels": 2, "img_size": 32, "feature_size": 12, "use_v2": 1}' \
    "SwinUNETR argument 'use_v2': must be true or false, got a number" $W
bad '{"network": 1}' \
    "no network: the config needs a 'network_def' object, or a top-level object, with '_target_' naming a MONAI network" $W $S
bad '{"_target_": "BasicUNet",' "not valid JSON (line 1)" $W $S
expect 1 "$E bu3d_default.onnx: bu3d_default.safetensors: --weights is for MONAI configs (MODEL.json); an ONNX model holds its weights" \
    "$U" bu3d_default.onnx $W -o "$T/o/x.c"
# UNETR's input is 1 x in_channels x img_size unless --input-shape pins another batch.
check "$U" info "$D/unetr_2d.json" --weights "$D/unetr_2d.safetensors"
expect 1 "$E bu3d_default.json: BasicUNet needs its parameters: --weights FILE.safetensors (its state_dict) or --init SEED" \
    "$U" bu3d_default.json $S -o "$T/o/x.c"
expect 1 "$E bu3d_default.json: --init makes up the parameters of a config without --weights: give one of them" \
    "$U" bu3d_default.json $W --init 3 $S -o "$T/o/x.c"
expect 1 "$E bu3d_default.json: model.pt: PyTorch checkpoints (pickles) are not read; convert it to safetensors with models/convert_checkpoint.py" \
    "$U" bu3d_default.json --weights model.pt $S -o "$T/o/x.c"
expect 1 "$E bu3d_default.json: input 'input': dimension 0 is symbolic ('batch'); pin it with --input-shape input=d0,d1,..." \
    "$U" bu3d_default.json $W -o "$T/o/x.c"
expect 1 "$E bu3d_default.json: input 'input': --input-shape sets dim 1 to 3 but the model fixes it to 1" \
    "$U" bu3d_default.json $W --input-shape input=1,3,32,32,32 -o "$T/o/x.c"
expect 1 "$E bu3d_default.json: bu3d_default.bad_keys.safetensors: the state_dict does not match BasicUNet: 1 missing key ('final_conv.bias'), 1 unexpected key ('extra.weight'), 1 wrong shape ('conv_0.conv_0.conv.bias' is float32[5], the network needs float32[4])" \
    "$U" bu3d_default.json --weights bu3d_default.bad_keys.safetensors $S -o "$T/o/x.c"
head -c 100 "$D/bu3d_default.safetensors" > "$T/trunc.safetensors"
expect 1 "$E bu3d_default.json: $T/trunc.safetensors: header length 7520 exceeds the 92 bytes after it (truncated file?)" \
    "$U" bu3d_default.json --weights "$T/trunc.safetensors" $S -o "$T/o/x.c"
F=$D/../../fuzz/corpus/safetensors
expect 1 "$E bu3d_default.json: $F/out_of_range.safetensors: tensor 'w': data_offsets [0, 28] lie outside the 24 bytes of data" \
    "$U" bu3d_default.json --weights "$F/out_of_range.safetensors" $S -o "$T/o/x.c"
expect 1 "$E bu3d_default.json: $F/overlap.safetensors: tensor 'v': data_offsets [8, 16] overlap those of 'w' [0, 16]" \
    "$U" bu3d_default.json --weights "$F/overlap.safetensors" $S -o "$T/o/x.c"
expect 1 "$E bu3d_default.json: $F/size_vs_shape.safetensors: tensor 'w': data_offsets [0, 24] hold 24 bytes; shape [2,2] of float32 needs 16" \
    "$U" bu3d_default.json --weights "$F/size_vs_shape.safetensors" $S -o "$T/o/x.c"
check test ! -e "$T/o"

echo "config tests: $n checks, $fails failed"
[ "$fails" = 0 ]
