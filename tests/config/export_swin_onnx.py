#!/usr/bin/env python3
"""The SwinUNETR of a make_swin_fixtures.py case exported to ONNX (for the
config-vs-ONNX check of swin_tests.sh): the network rebuilt from NAME.json,
NAME.safetensors loaded strictly, exported with models/export_swin.py's
recipe (MONAI 1.4: opset 16, constant folding, eval; MONAI 1.3.2 with torch
1.13 cannot export normalize=True). Writes NAME.onnx. Usage:

    PYTHONPATH= /work/venv-monai14/bin/python tests/config/export_swin_onnx.py DIR NAME
"""
import json
import os
import sys
import warnings

import numpy as np
import torch


def load_safetensors(path):
    """A safetensors file's tensors (F32/I64), read with numpy (the MONAI 1.4 venv has no safetensors)."""
    with open(path, "rb") as f:
        buf = f.read()
    n = int.from_bytes(buf[:8], "little")
    header = json.loads(buf[8:8 + n])
    data = buf[8 + n:]
    types = {"F32": np.float32, "I64": np.int64}
    out = {}
    for k, e in header.items():
        if k == "__metadata__":
            continue
        b, end = e["data_offsets"]
        a = np.frombuffer(data[b:end], dtype=types[e["dtype"]]).reshape(e["shape"])
        out[k] = torch.from_numpy(a.copy())
    return out


def main():
    d, name = sys.argv[1], sys.argv[2]
    warnings.filterwarnings("ignore")
    from monai.networks.nets import SwinUNETR

    with open(os.path.join(d, name + ".json")) as f:
        args = json.load(f)["network_def"]
    args.pop("_target_")
    model = SwinUNETR(**args)
    model.load_state_dict(load_safetensors(os.path.join(d, name + ".safetensors")), strict=True)
    model.eval()
    x = torch.from_numpy(np.load(os.path.join(d, name + ".input.npy")))
    torch.onnx.export(model, x, os.path.join(d, name + ".onnx"), opset_version=16, input_names=["input"],
                      output_names=["output"], do_constant_folding=True)


if __name__ == "__main__":
    main()
