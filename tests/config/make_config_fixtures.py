#!/usr/bin/env python3
"""Fixtures of the config frontend (tests/config/): for each case, a MONAI
network built from constructor arguments, its state_dict with every parameter
and buffer randomised (so that affine norms, running statistics and biases
matter) saved with safetensors, the config JSON (a bundle-style
`network_def`, or a top-level `_target_`), an input and PyTorch's output in
eval mode:

    NAME.json  NAME.safetensors  NAME.input.npy  NAME.expected.npy  NAME.shape

NAME.shape holds the --input-shape value; unetr_pp_tiny (our UNETR++ of
models/unetr_pp.py, with deep supervision) also has NAME.expected_ds2.npy and
NAME.expected_ds3.npy; NAME.onnx (two cases) is the same
model exported to ONNX. unetr_conv's weights are stored as
bfloat16 and unetr_perceptron_batch's as float16. Needs torch, MONAI (1.3.2) and
safetensors (the venv of scripts/setup.sh --python). Run from anywhere:

    .venv/bin/python tests/config/make_config_fixtures.py [OUT_DIR]
"""
import json
import os
import sys

import numpy as np
import torch
from monai.networks import nets
from safetensors.torch import save_file

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

CASES = [
    # name, target, constructor args, input shape, bundle-style?
    ("bu3d_default", "monai.networks.nets.BasicUNet",
     {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "features": [4, 4, 8, 8, 16, 4]}, (1, 1, 32, 32, 32), True),
    ("bu3d_batch_odd", "BasicUNet",
     {"in_channels": 2, "out_channels": 3, "features": [4, 6, 8, 8, 12, 5], "norm": "batch", "act": "relu",
      "bias": False, "dropout": 0.2}, (1, 2, 36, 32, 40), False),
    ("bu2d_prelu", "BasicUNet",
     {"spatial_dims": 2, "in_channels": 3, "out_channels": 2, "features": [8, 8, 16, 16, 32, 8],
      "norm": ["instance", {"affine": False}], "act": ["prelu", {"init": 0.2}]}, (2, 3, 32, 24), True),
    ("unetr_conv", "monai.networks.nets.UNETR",
     {"in_channels": 1, "out_channels": 3, "img_size": [32, 32, 16], "feature_size": 4, "hidden_size": 32,
      "mlp_dim": 64, "num_heads": 4}, (1, 1, 32, 32, 16), True),
    ("unetr_perceptron_batch", "UNETR",
     {"in_channels": 2, "out_channels": 2, "img_size": [32, 16, 32], "feature_size": 4, "hidden_size": 24,
      "mlp_dim": 40, "num_heads": 3, "proj_type": "perceptron", "norm_name": "batch", "qkv_bias": True,
      "res_block": False, "dropout_rate": 0.1}, (2, 2, 32, 16, 32), False),
    ("unetr_2d", "UNETR",
     {"spatial_dims": 2, "in_channels": 1, "out_channels": 2, "img_size": 32, "feature_size": 4, "hidden_size": 16,
      "mlp_dim": 32, "num_heads": 2, "conv_block": False, "norm_name": ["instance", {"affine": True}]},
     (1, 1, 32, 32), True),
    ("unet3d_res_batch", "monai.networks.nets.UNet",
     {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8, 16, 32], "strides": [2, 2, 2],
      "num_res_units": 2, "norm": "batch"}, (1, 1, 32, 32, 32), True),
    ("unet2d_plain", "UNet",
     {"spatial_dims": 2, "in_channels": 3, "out_channels": 3, "channels": [8, 16, 32], "strides": [2, 2],
      "kernel_size": 5, "adn_ordering": "AN", "act": ["leakyrelu", {"negative_slope": 0.05}]}, (2, 3, 32, 48), False),
    ("unet3d_group", "UNet",
     {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8, 16], "strides": [2, 2],
      "num_res_units": 1, "norm": ["group", {"num_groups": 2}]}, (1, 1, 32, 32, 32), True),
    ("unetr2d_group", "UNETR",
     {"spatial_dims": 2, "in_channels": 2, "out_channels": 3, "img_size": [32, 48], "feature_size": 4,
      "hidden_size": 16, "mlp_dim": 32, "num_heads": 2, "norm_name": ["group", {"num_groups": 2, "eps": 1e-4}]},
     (1, 2, 32, 48), False),
    # our UNETR++ (models/unetr_pp.py), not MONAI's: compiler/frontend/monai_unetr_pp.c
    ("unetr_pp_tiny", "UNETR_PP",
     {"in_channels": 2, "out_channels": 3, "img_size": [16, 32, 64], "feature_size": 2, "num_heads": 2,
      "depths": [1, 2, 1, 1], "proj_size": [8, 8, 8, 4], "dec_proj_size": 8, "dec_depth": 1},
     (1, 2, 16, 32, 64), True),
    ("unetr_pp_nods", "UNETR_PP",
     {"in_channels": 1, "out_channels": 2, "img_size": [16, 32, 32], "feature_size": 2, "num_heads": 2,
      "depths": [1, 1, 1, 1], "proj_size": [4, 4, 4, 2], "dec_proj_size": 4, "dec_depth": 1, "do_ds": False,
      "norm_name": "batch"}, (2, 1, 16, 32, 32), False),
    # UNet with per-dimension kernel sizes and strides (anisotropic)
    ("unet3d_aniso", "UNet",
     {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8, 8], "strides": [[2, 2, 1], [2, 2, 2]],
      "kernel_size": [3, 3, 1], "up_kernel_size": [3, 1, 3], "num_res_units": 1}, (1, 1, 16, 24, 8), False),
    ("unet2d_aniso_plain", "UNet",
     {"spatial_dims": 2, "in_channels": 2, "out_channels": 3, "channels": [6, 8, 12], "strides": [[1, 2], 2, 4],
      "kernel_size": [5, 3], "norm": "batch"}, (2, 2, 16, 24), True),
    # UNETR++ with deep supervision: gradients of the weighted loss over its three outputs (DS_CASES)
    ("unetr_pp_ds", "UNETR_PP",
     {"in_channels": 1, "out_channels": 3, "img_size": [16, 32, 32], "feature_size": 2, "num_heads": 2,
      "depths": [1, 1, 1, 1], "proj_size": [4, 4, 4, 2], "dec_proj_size": 4, "dec_depth": 1}, (1, 1, 16, 32, 32), False),
]

STORE = {"unetr_conv": torch.bfloat16, "unetr_perceptron_batch": torch.float16}

# Gradients of MONAI's DiceCELoss(to_onehot_y=True, softmax=True) for `unetrc grad`:
# NAME.label.npy, NAME.loss.txt, NAME.grad/KEY.npy for every parameter and
# NAME.grad_tol.txt (KEY.npy TOL for the gradients that are zero in exact
# arithmetic; the others: 1e-3 of their max).
ONNX_CASES = ("bu3d_default", "unetr_2d")
GRAD_CASES = ("bu2d_prelu", "bu3d_batch_odd", "unetr_2d", "unet2d_plain", "unetr2d_group", "unetr_pp_nods",
              "unet3d_aniso", "unet2d_aniso_plain", "unetr_pp_ds")

# Deep supervision (`unetrc grad --ds-weights 1,0.5,0.25`): the loss is
# sum_i w_i DiceCE(output i, label_i) / sum_i w_i, label_i the label
# subsampled to output i's grid at voxel s*j + s//2 per dim (order-0 resizing
# as nnU-Net's DownsampleSegForDSTransform2, which UNETR++ trains with).
DS_CASES = {"unetr_pp_ds": (1.0, 0.5, 0.25)}
# Weights whose loss gradient is zero in exact arithmetic besides the biases
# before InstanceNorm: a 1x1 conv of one input channel right before
# InstanceNorm (scaling its weight leaves the normalised output unchanged).
SCALE_FREE = {"unetr_pp_ds": ("encoder1.conv3.conv.weight",)}


def ds_loss(ys, label, weights):
    from monai.losses import DiceCELoss

    total = 0
    for y, w in zip(ys, weights):
        idx = [slice(None), slice(None)]
        for d in range(2, label.dim()):
            s = label.shape[d] // y.shape[d]
            idx.append(slice(s // 2, None, s))
        total = total + w * DiceCELoss(to_onehot_y=True, softmax=True)(y, label[tuple(idx)])
    return total / sum(weights)


def grads(name, model, x, classes, gen):
    from monai.losses import DiceCELoss

    label = torch.randint(0, classes, (x.shape[0], 1) + tuple(x.shape[2:]), generator=gen)
    model.zero_grad()
    if name in DS_CASES:
        loss = ds_loss(model(x), label, DS_CASES[name])
    else:
        loss = DiceCELoss(to_onehot_y=True, softmax=True)(model(x), label)
    loss.backward()
    out = os.path.join(OUT, name + ".grad")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    named = [(k, p.grad.numpy().astype(np.float32)) for k, p in model.named_parameters()]
    top = max(float(np.abs(g).max()) for _, g in named)
    tols = []
    for k, g in named:
        np.save(os.path.join(out, k + ".npy"), g)
        # Zero in exact arithmetic (a conv bias right before InstanceNorm, SCALE_FREE): float32
        # noise on both sides, bounded by 1e-6 of the model's largest gradient.
        m = float(np.abs(g).max())
        if (k.endswith(".conv.bias") or k in SCALE_FREE.get(name, ())) and m < 1e-5 * top:
            tols.append(f"{k}.npy {max(1e-3, 1e-6 * top / max(m, 1e-30)):.3g}\n")
    with open(os.path.join(OUT, name + ".grad_tol.txt"), "w") as f:
        f.writelines(tols)
    np.save(os.path.join(OUT, name + ".label.npy"), label.numpy().astype(np.int64))
    with open(os.path.join(OUT, name + ".loss.txt"), "w") as f:
        f.write(f"{loss.item():.9g}\n")


def randomise(model, gen):
    with torch.no_grad():
        for name, t in list(model.state_dict().items()):
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            elif name.endswith(("running_mean", "bias")):
                t.copy_(0.2 * torch.randn(t.shape, generator=gen))
            elif t.dim() == 1:  # norm scales, PReLU slopes
                t.copy_(0.8 + 0.4 * torch.rand(t.shape, generator=gen))
            else:
                t.add_(0.02 * torch.randn(t.shape, generator=gen))


def main():
    torch.manual_seed(0)  # MONAI's own initialisation
    gen = torch.Generator().manual_seed(12)
    for name, target, args, shape, bundle in CASES:
        if target == "UNETR_PP":
            sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models"))
            from unetr_pp import UNETR_PP as cls
        else:
            cls = getattr(nets, target.split(".")[-1])
        model = cls(**args)
        randomise(model, gen)
        model.eval()
        # Two cases keep their weights in float16 / bfloat16 (the reference runs
        # on the rounded values in float32).
        dtype = STORE.get(name, torch.float32)
        sd = {k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
        x = torch.randn(shape, generator=gen)
        with torch.no_grad():
            y = model(x)
        if isinstance(y, tuple):  # UNETR++'s deep supervision: NAME.expected_ds2.npy, NAME.expected_ds3.npy
            for i, extra in enumerate(y[1:]):
                np.save(os.path.join(OUT, f"{name}.expected_ds{i + 2}.npy"), extra.numpy().astype(np.float32))
            y = y[0]
        save_file(sd, os.path.join(OUT, name + ".safetensors"))
        net = dict({"_target_": target}, **args)
        cfg = {"network_def": net, "device": "$torch.device('cpu')"} if bundle else net
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        np.save(os.path.join(OUT, name + ".input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(OUT, name + ".expected.npy"), y.numpy().astype(np.float32))
        with open(os.path.join(OUT, name + ".shape"), "w") as f:
            f.write(",".join(str(d) for d in shape) + "\n")
        if name == "bu3d_default":  # for the error tests: one key missing, one unexpected, one reshaped
            bad = dict(sd)
            del bad["final_conv.bias"]
            bad["extra.weight"] = torch.zeros(2)
            bad["conv_0.conv_0.conv.bias"] = torch.zeros(5)
            save_file(bad, os.path.join(OUT, name + ".bad_keys.safetensors"))
        if name in ONNX_CASES:  # the same model through ONNX: unetrc must agree with itself to 1e-6
            torch.onnx.export(model, x, os.path.join(OUT, name + ".onnx"), opset_version=17,
                              input_names=["input"], output_names=["output"])
        if name in GRAD_CASES:
            grads(name, model, x, args["out_channels"], gen)
        print(f"{name}: {sum(v.numel() for v in sd.values())} values, output {tuple(y.shape)}, "
              f"max|y| {y.abs().max().item():.4g}")


if __name__ == "__main__":
    main()
