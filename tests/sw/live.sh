#!/bin/sh
# live.sh PYTHON TEST_SW TEST_SW_E2E SEG.weights MODEL.onnx: the sliding-window and
# pre/post-processing cases regenerated with PyTorch + MONAI (make_refs.py all), plus the
# MNI152 T1 through MONAI's transforms and MODEL.onnx (compiled into TEST_SW_E2E, run by
# onnxruntime on the Python side) as the predictor of MONAI's sliding_window_inference.
# Exit 77 (skip) when torch, MONAI, nibabel, nilearn or onnxruntime do not import.
set -u
PY=$1; SW=$2; SW_E2E=$3; WEIGHTS=$4; MODEL=$5
T=$(mktemp -d /tmp/unetrc-sw-XXXXXX)
trap 'rm -rf "$T"' EXIT
"$PY" "$(dirname "$0")/make_refs.py" all "$T" "$MODEL"
rc=$?
[ $rc = 0 ] || exit $rc
fails=0
"$SW" "$T/sw.txt" "$T/prepost_small.txt" "$T/prepost_mni.txt" || fails=$((fails+1))
"$SW_E2E" --tol 1e-4 --weights "$WEIGHTS" "$T/e2e.txt" || fails=$((fails+1))
[ $fails = 0 ]
