#!/usr/bin/env python3
"""Reference losses and gradients from MONAI's DiceCELoss + PyTorch autograd
for tests/train/loss_test.sh (needs torch and MONAI 1.3; outputs committed).
The model is tiny (y = 3 tanh(x w + b), per-channel w and b) so the test
checks the loss construction and its backward pass, variant by variant.
    /opt/venv/bin/python tests/train/make_loss_fixtures.py"""
import os

import monai
import numpy as np
import torch

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loss")
os.makedirs(HERE, exist_ok=True)
torch.manual_seed(0)


class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(1, 4, 1, 1, 1))
        self.b = torch.nn.Parameter(torch.randn(1, 4, 1, 1, 1))

    def forward(self, x):
        return torch.tanh(x * self.w + self.b) * 3


m = M()
x = torch.randn(2, 4, 5, 6, 7)
lab = torch.randint(0, 4, (2, 1, 5, 6, 7))
torch.onnx.export(m, x, os.path.join(HERE, "model.onnx"), opset_version=17, do_constant_folding=False,
                  input_names=["x"], output_names=["y"])
np.save(os.path.join(HERE, "x.npy"), x.numpy())
np.save(os.path.join(HERE, "label.npy"), lab.numpy().astype(np.uint8))  # any integer dtype is accepted
variants = {
    "default": ({}, ""),
    "squared": (dict(squared_pred=True, smooth_nr=0.0, smooth_dr=1e-6), "--squared --smooth-nr 0 --smooth-dr 1e-6"),
    "nobg": (dict(include_background=False), "--exclude-background"),
    "batch": (dict(batch=True), "--batch-dice"),
    "weights": (dict(weight=torch.tensor([0.5, 1.0, 2.0, 1.5])), "--class-weights 0.5,1,2,1.5"),
    "lambdas": (dict(lambda_dice=0.3, lambda_ce=1.7), "--lambda-dice 0.3 --lambda-ce 1.7"),
}
with open(os.path.join(HERE, "variants.txt"), "w") as f:
    for name, (kw, flags) in variants.items():
        loss_fn = monai.losses.DiceCELoss(to_onehot_y=True, softmax=True, **kw)
        m.zero_grad()
        loss = loss_fn(m(x), lab)
        loss.backward()
        np.save(os.path.join(HERE, f"{name}.w.npy"), m.w.grad.numpy())
        np.save(os.path.join(HERE, f"{name}.b.npy"), m.b.grad.numpy())
        f.write(f"{name} {loss.item():.9g} {flags}\n")
print("wrote", HERE)


def optimise(prefix, make_opt):
    """Ten steps of the optimiser make_opt(parameters) on the model (seed 0) and
    batch: the losses before each step and the final parameters, as PREFIX.*.npy."""
    torch.manual_seed(0)
    m = M()
    opt = make_opt(m.parameters())
    losses = []
    for step in range(10):
        opt.zero_grad()
        loss = loss_fn(m(x), lab)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    np.save(os.path.join(HERE, f"{prefix}.losses.npy"), np.array(losses, np.float32))
    np.save(os.path.join(HERE, f"{prefix}.w.npy"), m.w.detach().numpy())
    np.save(os.path.join(HERE, f"{prefix}.b.npy"), m.b.detach().numpy())


# Ten AdamW steps (torch.optim.AdamW, lr 0.05, weight decay 0.01) on the same
# model and batch, for tests/train/test_train_step.c.
loss_fn = monai.losses.DiceCELoss(to_onehot_y=True, softmax=True)
optimise("adamw", lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.01))
# SGD with momentum 0.9 and weight decay 1e-3
optimise("sgd", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3))
