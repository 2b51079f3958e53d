#!/bin/sh
# swin_tests.sh quick|long PYTHON UNETRC NPY_COMPARE [EXPORT_PYTHON]: SwinUNETR configs
# (compiler/frontend/monai_swin.c) against MONAI 1.3.2. The fixtures are made
# here by make_swin_fixtures.py (feature_size must be a multiple of 12: 4 M
# parameters per 3D model, too large to commit); exit 77 (skip) without
# torch, MONAI and safetensors in PYTHON. Each case is compiled, run and
# compared with PyTorch's output (1e-4 of max|ref|); swin2d's DiceCELoss
# gradients with autograd (1e-3 of each gradient's max, the loss to 1e-5).
# With EXPORT_PYTHON (MONAI 1.4, which exports SwinUNETR to ONNX with torch
# 1.13; models/README.md) swin2d_onnx also goes through ONNX and must give the
# config's output to 1e-6. quick: swin3d_v2_batch and swin2d forward (~60 s);
# long: swin3d_v1 and swin2d_onnx forward, swin2d's gradients and the ONNX check
# (~6 min).
set -u
MODE=$1
PY=$2
U=$(cd "$(dirname "$3")" && pwd)/$(basename "$3"); CMP=$(cd "$(dirname "$4")" && pwd)/$(basename "$4")
EXPORT_PY=${5:-}
D=$(cd "$(dirname "$0")" && pwd)
if ! "$PY" -c "import torch, monai, safetensors, einops" >/dev/null 2>&1; then
    echo "swin tests: torch, MONAI, safetensors or einops missing in $PY: skipped"
    exit 77
fi
T=$(mktemp -d /tmp/unetrc-swin-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0; n=0
. "$D/../expect.sh" # check

if [ "$MODE" = quick ]; then cases="swin3d_v2_batch swin2d"; else cases="swin3d_v1 swin2d swin2d_onnx"; fi
PYTHONPATH= "$PY" "$D/make_swin_fixtures.py" "$T" $cases || { echo "FAIL: make_swin_fixtures.py"; exit 1; }
cd "$T"
[ "$MODE" = quick ] || cases="swin3d_v1 swin2d_onnx"
for name in $cases; do
    shape=$(cat "$name.shape")
    mkdir -p "$T/$name"
    check "$U" "$name.json" --weights "$name.safetensors" --input-shape "input=$shape" -o "$T/$name/seg.c"
    check test -s "$T/$name/seg.weights"
    check "$U" run "$name.json" --weights "$name.safetensors" --input-shape "input=$shape" \
        --input "$name.input.npy" --output "$name.out.npy"
    printf '%s: ' "$name"
    check "$CMP" "$name.expected.npy" "$name.out.npy" 1e-4
done
[ "$MODE" = quick ] && { echo "swin tests: $n checks, $fails failed"; [ "$fails" = 0 ]; exit; }
# Gradients against autograd (as config_tests.sh).
for name in swin2d; do
    g=$T/$name.unetrc.grad
    mkdir -p "$g"
    out=$("$U" grad "$name.json" --weights "$name.safetensors" --input-shape "input=$(cat "$name.shape")" \
        --input "$name.input.npy" --label "$name.label.npy" --out "$g" 2>&1)
    echo "$name: $out, PyTorch loss=$(cat "$name.loss.txt")"
    check awk -v a="${out#loss=}" -v b="$(cat "$name.loss.txt")" \
        'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-5 * b) }'
    check test "$(ls "$g")" = "$(ls "$name.grad")"
    worst=0
    for f in "$name.grad"/*.npy; do
        b=$(basename "$f")
        tol=$(awk -v f="$b" '$1 == f { print $2 }' "$name.grad_tol.txt")
        r=$("$CMP" "$f" "$g/$b" "${tol:-1e-3}")
        check test $? = 0
        worst=$(echo "$r" | awk -v w="$worst" '{ for (i = 1; i < NF; i++) if ($i == "relative") { v = $(i + 2) + 0; print (v > w ? v : w); exit } }')
    done
    echo "$name: $(ls "$name.grad" | wc -l) gradients, worst relative error $worst"
done
# The same network through ONNX (MONAI 1.4's export) and through its config.
if [ -n "$EXPORT_PY" ] && PYTHONPATH= "$EXPORT_PY" -c "import torch, monai, onnx" >/dev/null 2>&1; then
    check env PYTHONPATH= "$EXPORT_PY" "$D/export_swin_onnx.py" "$T" swin2d_onnx
    check "$U" run swin2d_onnx.onnx --input swin2d_onnx.input.npy --output swin2d_onnx.onnx.npy
    printf 'swin2d_onnx ONNX vs config: '
    check "$CMP" swin2d_onnx.out.npy swin2d_onnx.onnx.npy 1e-6
else
    echo "swin tests: no MONAI 1.4 python for the ONNX export: the ONNX-vs-config check is skipped"
fi

echo "swin tests: $n checks, $fails failed"
[ "$fails" = 0 ]
