#!/usr/bin/env python3
"""make_unet25d.py: the 2.5D fixture of tests/segment (committed as tests/segment/data/unet25d_c2k3.onnx).

A small MONAI 2D UNet for `unetrc segment --slices 3` over two-channel volumes: in_channels = 2 image channels
x 3 slices = 6, 3 classes, a 40x48 roi (not square, so that a swap of the plane's axes shows), exported by
torch 1.13 at opset 17. The same module with the ONNX file's weights is the PyTorch reference of
segment_live.py (`torch_module`), which loads them back from the initializers by name. Seeded: PReLU slopes
~ U(0.05, 0.6) and conv biases ~ N(0, 0.1), so that no op sees a trivial parameter. Run with a Python that has
torch, MONAI and onnx: it overwrites the file.
"""
import os
import warnings

import torch
from monai.networks.nets import UNet

warnings.filterwarnings("ignore")
CTOR = "UNet(spatial_dims=2, in_channels=6, out_channels=3, channels=(8, 16, 32), strides=(2, 2), num_res_units=1, norm='instance')"
ROI = (40, 48)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "unet25d_c2k3.onnx")


def main():
    torch.manual_seed(2505)
    net = eval(CTOR, {"UNet": UNet}).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.PReLU):
                m.weight.uniform_(0.05, 0.6)
            elif isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) and m.bias is not None:
                m.bias.normal_(0, 0.1)
    x = torch.randn(1, 6, *ROI)
    torch.onnx.export(net, x, OUT, opset_version=17, input_names=["input"], output_names=["logits"],
                      do_constant_folding=True)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
