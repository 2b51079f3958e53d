#!/bin/sh
# convert_test.sh PYTHON UNETRC NPY_COMPARE: models/convert_checkpoint.py turns a MONAI-bundle-style checkpoint
# (torch.save of {"model": state_dict} with DataParallel's "module." prefix, and a plain state_dict) into the
# safetensors `unetrc NET.json --weights` reads; the compiled model then matches PyTorch (1e-4 of max|ref|) as
# with the fixture's own safetensors. Where torch's weights-only loader refuses the bundle file (torch 1.13: the
# optimizer's float), the script says so in one line and --trust-pickle converts it. A checkpoint without the
# asked --key fails with its message.
# Exit 77 without torch or safetensors in PYTHON.
set -eu
PY=$1; U=$2; CMP=$3
D=$(cd "$(dirname "$0")" && pwd); S=$(cd "$D/../.." && pwd)
"$PY" -c "import torch, safetensors" 2>/dev/null || { echo "convert_test: skipped (torch/safetensors missing)"; exit 77; }
T=$(mktemp -d /tmp/unetrc-convert-XXXXXX)
trap 'rm -rf "$T"' EXIT
name=unet3d_res_batch
"$PY" - "$D/$name.safetensors" "$T" <<'EOP'
import sys, torch
from safetensors.torch import load_file
sd = load_file(sys.argv[1])
torch.save({"model": {"module." + k: v for k, v in sd.items()}, "optimizer": {"lr": 1e-3}}, sys.argv[2] + "/bundle.pt")
torch.save(sd, sys.argv[2] + "/plain.pt")
EOP
# a CheckpointSaver-style file holds an optimizer's float: torch 1.13's weights-only loader refuses it
if ! "$PY" "$S/models/convert_checkpoint.py" "$T/bundle.pt" "$T/bundle.safetensors" 2> "$T/err"; then
    grep -q "^convert_checkpoint: $T/bundle.pt: torch's weights-only loader refused it (.*); add --trust-pickle if you trust the file\$" "$T/err" ||
        { echo "FAIL: weights-only refusal message: $(cat "$T/err")"; exit 1; }
    "$PY" "$S/models/convert_checkpoint.py" "$T/bundle.pt" "$T/bundle.safetensors" --trust-pickle
fi
"$PY" "$S/models/convert_checkpoint.py" "$T/plain.pt" "$T/plain.safetensors"
shape=$(cat "$D/$name.shape")
for w in bundle plain; do
    "$U" run "$D/$name.json" --weights "$T/$w.safetensors" --input-shape "input=$shape" --input "$D/$name.input.npy" \
        --output "$T/$w.npy"
    "$CMP" "$D/$name.expected.npy" "$T/$w.npy" 1e-4
done
msg=$("$PY" "$S/models/convert_checkpoint.py" "$T/bundle.pt" "$T/x.safetensors" --key network --trust-pickle 2>&1 || true)
[ "$msg" = "convert_checkpoint: the checkpoint has no entry 'network'" ] || { echo "FAIL: --key message: $msg"; exit 1; }
echo "convert_test: ok"
