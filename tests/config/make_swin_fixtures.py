#!/usr/bin/env python3
"""SwinUNETR fixtures of the config frontend (compiler/frontend/monai_swin.c),
made when the test runs (feature_size must be a multiple of 12, which makes
every 3D SwinUNETR 4 M parameters: too large to commit). For each case: MONAI
1.3.2's SwinUNETR from constructor arguments, its state_dict randomised as in
make_config_fixtures.py, the config, an input and PyTorch's eval output:

    NAME.json  NAME.safetensors  NAME.input.npy  NAME.expected.npy  NAME.shape

and for GRAD_CASES the DiceCELoss gradients of make_config_fixtures.grads
(NAME.label.npy, NAME.loss.txt, NAME.grad/, NAME.grad_tol.txt). Usage:

    .venv/bin/python tests/config/make_swin_fixtures.py OUT_DIR [NAME ...]
"""
import json
import os
import sys
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import make_config_fixtures as M  # noqa: E402

CASES = [
    # name, constructor args, input shape
    ("swin3d_v1", {"img_size": 64, "in_channels": 1, "out_channels": 2, "feature_size": 12},
     (1, 1, 64, 64, 64)),
    ("swin3d_v2_batch", {"img_size": [32, 64, 32], "in_channels": 2, "out_channels": 3, "feature_size": 12,
                         "depths": [2, 1, 2, 1], "num_heads": [3, 3, 6, 12], "norm_name": "batch", "use_v2": True,
                         "downsample": "mergingv2", "normalize": False, "drop_rate": 0.1, "attn_drop_rate": 0.1,
                         "dropout_path_rate": 0.2, "use_checkpoint": True},
     (1, 2, 32, 64, 32)),
    ("swin2d", {"spatial_dims": 2, "img_size": [32, 64], "in_channels": 3, "out_channels": 2, "feature_size": 12,
                "norm_name": ["group", {"num_groups": 3}]},
     (2, 3, 32, 64)),
    # for the ONNX-vs-config check: MONAI 1.4 exports this size without an If node (32 x 64 gets one)
    ("swin2d_onnx", {"spatial_dims": 2, "img_size": [64, 96], "in_channels": 3, "out_channels": 2, "feature_size": 12,
                     "norm_name": ["instance", {"affine": True}]},
     (1, 3, 64, 96)),
]
GRAD_CASES = ("swin2d",)


def main():
    out = sys.argv[1]
    only = sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    M.OUT = out
    warnings.filterwarnings("ignore")
    from monai.networks.nets import SwinUNETR
    from safetensors.torch import save_file

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(21)
    for name, args, shape in CASES:
        if only and name not in only:
            continue
        model = SwinUNETR(**args)
        M.randomise(model, gen)
        model.eval()
        sd = {k: v.contiguous() for k, v in model.state_dict().items()}
        x = torch.randn(shape, generator=gen)
        with torch.no_grad():
            y = model(x)
        save_file(sd, os.path.join(out, name + ".safetensors"))
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump({"network_def": dict({"_target_": "monai.networks.nets.SwinUNETR"}, **args)}, f, indent=2)
        np.save(os.path.join(out, name + ".input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(out, name + ".expected.npy"), y.numpy().astype(np.float32))
        with open(os.path.join(out, name + ".shape"), "w") as f:
            f.write(",".join(str(d) for d in shape) + "\n")
        if name in GRAD_CASES:
            M.grads(name, model, x, args["out_channels"], gen)
        print(f"{name}: {sum(v.numel() for v in sd.values())} values, output {tuple(y.shape)}, "
              f"max|y| {y.abs().max().item():.4g}")


if __name__ == "__main__":
    main()
