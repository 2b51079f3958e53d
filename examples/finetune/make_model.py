#!/usr/bin/env python3
"""Export the small, untrained MONAI UNETR of examples/finetune to ONNX.

    /opt/venv/bin/python examples/finetune/make_model.py [--out model.onnx]
        [--feature-size 4] [--hidden-size 16] [--mlp-dim 32] [--num-heads 4]

Random initialisation (torch seed 0, MONAI's defaults), eval mode (the model
has no dropout or BatchNorm, so train and eval graphs are the same), opset 17,
do_constant_folding=False so that the trainable parameters stay separate
initializers (docs/training.md). Input [1, 1, 32, 32, 32], output logits
[1, 4, 32, 32, 32] (background + 3 phantom classes).

The defaults (245k parameters, 126 MMAC per forward pass) are the smallest
tried that reach the example's target in a few minutes on one core: the
full-resolution path of UNETR has feature_size channels, and 4 is enough to
separate the three intensity classes; feature_size 8 (684k parameters)
costs ~4x per step (6: ~2.2x)."""
import argparse
import os

import torch
from monai.networks.nets import UNETR

ap = argparse.ArgumentParser()
ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.onnx"))
ap.add_argument("--feature-size", type=int, default=4)
ap.add_argument("--hidden-size", type=int, default=16)
ap.add_argument("--mlp-dim", type=int, default=32)
ap.add_argument("--num-heads", type=int, default=4)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()

torch.manual_seed(a.seed)
net = UNETR(in_channels=1, out_channels=4, img_size=(32, 32, 32), feature_size=a.feature_size,
            hidden_size=a.hidden_size, mlp_dim=a.mlp_dim, num_heads=a.num_heads, proj_type="conv",
            norm_name="instance", res_block=True, dropout_rate=0.0)
net.eval()
x = torch.zeros(1, 1, 32, 32, 32)
torch.onnx.export(net, x, a.out, opset_version=17, do_constant_folding=False, input_names=["x"],
                  output_names=["logits"])
n = sum(p.numel() for p in net.parameters())
print(f"{a.out}: {n} parameters, {os.path.getsize(a.out)} bytes")
