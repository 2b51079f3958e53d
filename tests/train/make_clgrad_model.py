#!/usr/bin/env python3
"""A small float32 MONAI-like network for tests/train/clgrad_test.sh: after the
layout pass its backward pass runs the channels-last gradient kernels
(unetrc.ConvGradWeight, unetrc.GroupNormGrad) between channels-last convs.
    /opt/venv/bin/python tests/train/make_clgrad_model.py"""
import os

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clgrad")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(3)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv3d(2, 16, 3, padding=1, bias=False)  # a bias before InstanceNorm has no gradient
        self.norm1 = nn.InstanceNorm3d(16, affine=True)
        self.conv2 = nn.Conv3d(16, 16, 3, padding=1, bias=False)
        self.norm2 = nn.GroupNorm(4, 16)
        self.down = nn.Conv3d(16, 32, 2, stride=2)
        self.up = nn.ConvTranspose3d(32, 16, 2, stride=2)
        self.res = nn.Conv3d(2, 16, 1)
        self.out = nn.Conv3d(16, 3, 1)
        self.act = nn.LeakyReLU(0.01)

    def forward(self, x):
        h = self.act(self.norm1(self.conv1(x)))
        h = self.norm2(self.conv2(h)) + self.res(x)
        h = self.act(h)
        h = self.up(self.act(self.down(h))) + h
        return self.out(h)


m = Net()
with torch.no_grad():
    for p in m.parameters():  # affine params away from 1/0 so their gradients matter
        p.add_(0.1 * torch.randn_like(p))
x = torch.randn(1, 2, 8, 6, 10)
torch.onnx.export(m, x, os.path.join(OUT, "model.onnx"), opset_version=17, do_constant_folding=False,
                  input_names=["x"], output_names=["y"])
np.save(os.path.join(OUT, "x.npy"), x.numpy())
np.save(os.path.join(OUT, "label.npy"), np.random.default_rng(4).integers(0, 3, (1, 1, 8, 6, 10)).astype(np.uint8))
