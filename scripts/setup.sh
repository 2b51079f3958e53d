#!/bin/sh
# setup.sh [--python]: installs what unetrc needs on Debian 12 when missing
# (as root: apt-get; otherwise it only checks), then configures and builds.
# With --python it also makes the venv used by the optional live
# onnxruntime/PyTorch tests: .venv (system site packages, so Debian's torch
# is visible) with onnxruntime from PyPI, MONAI 1.3.2 (without its
# dependencies: torch is Debian's) for the live sliding-window test (tests/sw),
# and nibabel, nilearn and dipy for the NIfTI tests (nilearn and dipy ship the
# real volumes they read), with numpy kept below 2.
set -eu
cd "$(dirname "$0")/.."
PKGS="build-essential cmake clang-format pkg-config libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata llvm-14-dev libnifti2-dev zlib1g-dev libpng-dev libcjson-dev gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user gcc-arm-none-eabi libnewlib-arm-none-eabi"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ "${1:-}" = "--python" ]; then
    for p in python3-venv python3-numpy python3-onnx python3-torch libopenblas0-pthread; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
fi
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
        echo "setup: missing Debian packages:$missing (run as root to install them)" >&2
        exit 1
    fi
fi
if [ "${1:-}" = "--python" ] && [ ! -x .venv/bin/python ]; then
    /usr/bin/python3 -m venv --system-site-packages .venv
    .venv/bin/pip install -q onnxruntime || echo "setup: onnxruntime could not be installed; the 'ort' tests will be skipped" >&2
    .venv/bin/pip install -q --no-deps "monai==1.3.2" ||
        echo "setup: MONAI could not be installed; the 'sw_monai' test will be skipped" >&2
    .venv/bin/pip install -q safetensors einops ||
        echo "setup: safetensors or einops (MONAI's SwinUNETR) could not be installed; the config tests will be skipped" >&2
    .venv/bin/pip install -q nibabel nilearn dipy ||
        echo "setup: nibabel/nilearn/dipy could not be installed; the NIfTI and 'sw_monai' tests will be skipped or reduced" >&2
    .venv/bin/pip install -q 'numpy<2'
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
