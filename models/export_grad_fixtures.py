#!/usr/bin/env python3
"""Golden gradients from PyTorch autograd for small MONAI models
(tests/train/grad_models_test.sh; the helpers are shared with check_monai.py --grad).

For every model NAME below this writes tests/train/models/NAME/:

    model.onnx       opset 17, TorchScript exporter, do_constant_folding=False, model in eval mode
    x.npy            float32 seeded N(0,1) input
    label.npy        uint8 class map [N, 1, S...] (seeded, uniform over the classes)
    loss.txt         MONAI DiceCELoss(to_onehot_y=True, softmax=True)(model(x), label), "%.9g"
    <init>.npy       d loss / d parameter from torch autograd (float32), one per trainable ONNX
                     initializer, named as `unetrc grad` writes them (initializer name, '%', '/' -> %25, %2F)
    tolerances.txt   "<file> <tol>" for the few ill-conditioned gradients (see below); every other
                     gradient is checked with tol 1e-3
    meta.json        constructor, seeds, shapes, export mode, versions, float32-vs-float64 errors

The check (tests/train/grad_models_test.sh): |loss - ref| <= 1e-5 |ref|, and per gradient
`npy_compare REF OUT tol`, i.e. max |ref - out| <= tol * max |ref|.

Usage:
    /opt/venv/bin/python models/export_grad_fixtures.py [--out tests/train/models] [--only NAME ...] [--list]

Export.  torch.onnx.export(model, x, path, opset_version=17, do_constant_folding=False,
training=TrainingMode.EVAL): with torch 1.13 the parameters keep their torch names as ONNX
initializer names (checked for every model: the same names and shapes, and no other float
initializer but buffers).  BatchNorm is the exception: with training=EVAL the exporter's eval
peephole pass folds every Conv->BatchNorm pair into new `onnx::Conv_N` initializers even
without constant folding, and the original parameters' gradients are lost.  Models with
BatchNorm are therefore exported with training=TrainingMode.PRESERVE from a model in eval mode:
the graph keeps its BatchNormalization nodes (training_mode=0; the running statistics are
initializers that unetrc keeps frozen as constants) and every parameter under its torch name.
All fixtures use InstanceNorm except unet3d_batch_eval (BatchNorm in eval mode, frozen stats).

Ill-conditioned gradients.  Some gradients are zero or nearly zero in exact arithmetic and
float32 returns rounding noise for them: a conv bias directly followed by InstanceNorm
(BasicUNet, MONAI UNet), or the 1x1 residual conv of a 1-channel input followed by InstanceNorm
(UNETR encoder1, only InstanceNorm's epsilon makes it non-zero).  torch itself (float32 against
float64) misses 1e-3 of their max there.  A tensor is ill-conditioned when torch float32 differs
from torch float64 by more than 1e-4 of its max; its bound is then
max(1e-3 max|ref|, 1e-6 G), G the largest gradient of the model (tolerances.txt holds the
equivalent relative tol).  That floor suits gradients that are zero in exact arithmetic, but
not deep networks whose gradients are merely small: in the Swin UNETR the relative-position
bias tables get 1e-7..1e-5 of G, so the floor allowed 16 % .. 660 % of their max.  A spec with
ill_f32x=F (Swin) bounds an ill-conditioned tensor instead by F times torch's own float32
error: max(1e-3, F |g32 - g64| / max|g32|) relative (F = 3: generated code in float32 may
err about as much as torch does, on top of torch's own error in the reference).

Kinks.  ReLU/LeakyReLU/PReLU have a derivative jump at 0 and MaxPool at ties: a pre-activation
closer to 0 than float32's rounding error takes either branch depending on the order of the
sums, and one such voxel changed every upstream gradient by up to 8e-2 in one draw of
unetr_perceptron (unetrc's generated C and torch took different branches; the float64 value
was -1.7e-8; the interpreter matched torch).  Inputs are therefore drawn (seed, seed + 1000, ...)
until flipping every "near" voxel -- an activation input (or a MaxPool window's top-2 gap) within
KINK_FACTOR = 3 times the float32 rounding error of that element, max(|x32 - x64|, rms over the
tensor), measured with torch -- would move no gradient by more than KINK_SHARE = 0.1 of its
tolerance (kink_sensitivity, golden).  With the committed models the first draw has no near voxel
at all.  (With a factor of 10 the tiny UNETR found a few near voxels in every one of 8 draws, each
of which could move encoder/ViT gradients by up to 13 % of their max: the ViT-to-decoder
transposed-conv paths run at 2^3..8^3 voxels, so one voxel carries a lot of gradient.)
A fixture whose spec says kink_widen=True (Swin UNETR: 64^3 is its smallest input, with millions of
LeakyReLU inputs, and some of them are always that near) keeps the best of its kink_tries draws
instead of failing: the tolerance of each gradient whose kink sensitivity passes KINK_SHARE of its
tolerance becomes 1e-3 + 3 x sensitivity / max|ref| (tolerances.txt; meta.json lists them under
kink_widened, with the number of near activation inputs, near_kinks).

Weights are randomised as in export_models.py (randomise_), then the model is put in eval mode.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import export_models as E  # noqa: E402

OUT_DEFAULT = os.path.join(os.path.dirname(HERE), "tests", "train", "models")
TOL = 1e-3         # max |ref - out| <= TOL * max |ref| per gradient (npy_compare semantics)
LOSS_TOL = 1e-5    # |loss - ref| <= LOSS_TOL * |ref|
ILL_REL = 1e-4     # torch float32 vs float64 error above this (relative): ill-conditioned tensor
FLOOR = 1e-6       # ill-conditioned tensors: absolute bound FLOOR * (largest gradient of the model)
KINK_FACTOR = 3.0  # "near" a kink: within this many float32 rounding errors (see kink_sensitivity)
KINK_DRAWS = 4      # random sign draws for the kink sensitivity
KINK_SHARE = 0.1    # accept an input when every gradient's kink sensitivity is <= this share of its tolerance
KINK_TRIES = 8

GRAD_MODELS: dict[str, dict] = {
    "unetr_conv": dict(
        seed=3001,
        ctor=(
            "UNETR(in_channels=1, out_channels=3, img_size=(32, 32, 32), feature_size=2, "
            "hidden_size=24, mlp_dim=48, num_heads=4, proj_type='conv', norm_name='instance', "
            "res_block=True, dropout_rate=0.0)"
        ),
        input_shape=(1, 1, 32, 32, 32),
        notes="UNETR, conv patch embedding (8 tokens), 4 heads of dim 6, InstanceNorm (affine=False) decoder.",
    ),
    "unetr_perceptron": dict(
        seed=3002,
        ctor=(
            "UNETR(in_channels=2, out_channels=2, img_size=(32, 32, 32), feature_size=2, "
            "hidden_size=12, mlp_dim=24, num_heads=2, proj_type='perceptron', "
            "norm_name=('instance', {'affine': True}), res_block=True, dropout_rate=0.0, qkv_bias=True)"
        ),
        input_shape=(1, 2, 32, 32, 32),
        notes=(
            "UNETR, perceptron patch embedding (rank-8 Reshape/Transpose + Linear 8192->12), 2 heads "
            "of dim 6, qkv bias, affine InstanceNorm decoder."
        ),
    ),
    "basicunet3d": dict(
        seed=3003,
        ctor="BasicUNet(spatial_dims=3, in_channels=1, out_channels=3, features=(4, 4, 8, 8, 16, 4))",
        input_shape=(2, 1, 16, 16, 33),
        notes=(
            "BasicUNet 3D, batch of 2: affine InstanceNorm, LeakyReLU(0.1), MaxPool floors 33, "
            "UpCat re-grows it with a one-sided replicate Pad; bottleneck 1x1x2."
        ),
    ),
    "unet3d_prelu": dict(
        seed=3004,
        ctor=(
            "UNet(spatial_dims=3, in_channels=1, out_channels=2, channels=(4, 8, 16), strides=(2, 2), "
            "num_res_units=1, norm='instance', act='PRELU')"
        ),
        input_shape=(1, 1, 16, 16, 16),
        notes="MONAI UNet 3D, InstanceNorm (affine=False), PReLU, residual units, strided convs, ConvTranspose.",
    ),
    "unet2d": dict(
        seed=3005,
        ctor=(
            "UNet(spatial_dims=2, in_channels=5, out_channels=3, channels=(8, 16, 32), strides=(2, 2), "
            "num_res_units=2, norm='instance')"
        ),
        input_shape=(1, 5, 32, 32),
        notes="MONAI UNet 2D (2.5D, 5 slices as channels), 2 residual units per level, PReLU, InstanceNorm.",
    ),
    "unet3d_batch_eval": dict(
        seed=3006,
        ctor=(
            "UNet(spatial_dims=3, in_channels=1, out_channels=2, channels=(4, 8, 16), strides=(2, 2), "
            "num_res_units=1, norm='batch')"
        ),
        input_shape=(1, 1, 16, 16, 16),
        notes=(
            "MONAI UNet 3D with BatchNorm in eval mode (running statistics calibrated, perturbed and "
            "frozen); exported with training=PRESERVE so Conv->BN is not folded."
        ),
    ),
    "unet3d_swish": dict(
        seed=3008,
        ctor=(
            "UNet(spatial_dims=3, in_channels=1, out_channels=2, channels=(4, 8, 16), strides=(2, 2), "
            "num_res_units=1, norm='instance', act=('swish', {'alpha': 1.5}))"
        ),
        input_shape=(1, 1, 16, 16, 16),
        notes=(
            "MONAI UNet 3D, InstanceNorm, Swish(alpha=1.5): exported as Mul(x, Sigmoid(Mul(x, 1.5))), "
            "one unetrc.Act (passes/act_patterns.c), fused into the norm epilogues."
        ),
    ),
    "unet2d_memswish": dict(
        seed=3009,
        ctor=(
            "UNet(spatial_dims=2, in_channels=2, out_channels=3, channels=(8, 16, 16), strides=(2, 1), "
            "num_res_units=1, norm='instance', act='memswish')"
        ),
        input_shape=(1, 2, 24, 20),
        notes=(
            "MONAI UNet 2D, InstanceNorm, MemoryEfficientSwish (SiLU: Mul(x, Sigmoid(x))); a stride-1 level."
        ),
    ),
}

_BN_TYPES = E._BN_TYPES


def has_batchnorm(model) -> bool:
    return any(isinstance(m, _BN_TYPES) for m in model.modules())


def grad_file(init_name: str) -> str:
    """File name `unetrc grad` writes for an initializer: '%', '/' and control characters percent-encoded."""
    return "".join("%%%02X" % ord(c) if c in "%/" or ord(c) < 0x20 or ord(c) == 0x7F else c for c in init_name) + ".npy"


def export_for_grad(model, x: np.ndarray, path: str, opset: int = E.OPSET) -> str:
    """Exports `model` (eval mode) without constant folding; returns the TrainingMode used."""
    import torch

    model.eval()
    mode = torch.onnx.TrainingMode.PRESERVE if has_batchnorm(model) else torch.onnx.TrainingMode.EVAL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(model, torch.from_numpy(x), path, opset_version=opset,
                              do_constant_folding=False, training=mode,
                              input_names=["input"], output_names=["output"])
    return mode.name


def check_names(model, onnx_path: str) -> list[str]:
    """The trainable ONNX initializers (= torch parameters).  Raises if the names or
    shapes of torch's parameters and the ONNX initializers differ."""
    import onnx

    m = onnx.load(onnx_path)
    inits = {t.name: tuple(t.dims) for t in m.graph.initializer if t.data_type in (1, 11)}  # float, double
    params = {k: tuple(p.shape) for k, p in model.named_parameters()}
    buffers = {k for k, _ in model.named_buffers()}
    problems = []
    for k, s in params.items():
        if k not in inits:
            problems.append(f"parameter {k} is not an ONNX initializer")
        elif s != inits[k]:
            problems.append(f"parameter {k}: torch shape {s}, ONNX {inits[k]}")
    for k in inits:
        if k not in params and k not in buffers:
            problems.append(f"ONNX initializer {k} is not a torch parameter")
    if problems:
        raise RuntimeError("; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
    return [k for k in inits if k in params]


def make_label(shape, classes: int, seed: int) -> np.ndarray:
    """uint8 [N, 1, S...] class map for an input of shape [N, C, S...]."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, classes, size=(shape[0], 1) + tuple(shape[2:])).astype(np.uint8)


_ACTS = ("ReLU", "LeakyReLU", "PReLU")
_POOLS = ("MaxPool1d", "MaxPool2d", "MaxPool3d")


def _kink_modules(model):
    return [(k, m) for k, m in model.named_modules() if type(m).__name__ in _ACTS + _POOLS]


def _pool_windows(m, nsp):
    """(kernel) if the MaxPool has kernel == stride, no padding, dilation 1, floor mode
    (MONAI's MaxPool k2 s2); else None."""
    def tup(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nsp

    k, st = tup(m.kernel_size), tup(m.stride if m.stride is not None else m.kernel_size)
    if k != st or any(p for p in tup(m.padding)) or any(d != 1 for d in tup(m.dilation)) or m.ceil_mode:
        return None
    return k


def _to_windows(x, k):
    """[N, C, S...] -> [N, C, windows, prod(k)] (the floor-cropped part) and its inverse."""
    import torch

    nsp = x.dim() - 2
    full = x.shape
    crop = tuple((full[2 + i] // k[i]) * k[i] for i in range(nsp))
    xc = x[(slice(None), slice(None)) + tuple(slice(0, c) for c in crop)]
    shape = list(full[:2])
    for i in range(nsp):
        shape += [crop[i] // k[i], k[i]]
    perm = [0, 1] + [2 + 2 * i for i in range(nsp)] + [3 + 2 * i for i in range(nsp)]
    w = xc.reshape(shape).permute(perm).reshape(full[0], full[1], -1, int(np.prod(k)))

    def back(wv):
        t = wv.reshape([shape[j] for j in perm]).permute(list(np.argsort(perm))).reshape(xc.shape)
        out = torch.zeros(full, dtype=wv.dtype)
        out[(slice(None), slice(None)) + tuple(slice(0, c) for c in crop)] = t
        return out

    return w, back


def kink_sensitivity(model, x: np.ndarray, label: np.ndarray, names: list[str], seed: int = 0,
                     factor: float = KINK_FACTOR, draws: int = KINK_DRAWS):
    """How much the float32 gradients may move because of kinks.

    ReLU/LeakyReLU/PReLU have a derivative jump at 0, MaxPool at ties.  An activation input
    closer to 0 than float32's rounding error (or a MaxPool window whose two largest inputs are
    that close) takes either branch depending on the order of the sums, so torch and unetrc may
    legitimately disagree there.  The flip of voxel v changes the gradient arriving at the
    activation input by (1 - slope) dy_v (MaxPool: moves dy_w between the two tied inputs),
    and the parameter gradients upstream of it by a linear function of that change.

    "Near" voxels: |x64| <= factor * max(|x32 - x64|, rms of x32 - x64 over the tensor), with
    x64/x32 the torch float64/float32 values.  The parameter-gradient change when all of them
    flip at once, with random signs, is computed with torch autograd (`draws` sign draws,
    elementwise max).  Returns ({name: max |change|}, number of near voxels)."""
    import copy

    import torch
    from monai.losses import DiceCELoss

    m32 = copy.deepcopy(model).float().eval()
    m64 = copy.deepcopy(model).double().eval()
    mods32, mods64 = _kink_modules(m32), dict(_kink_modules(m64))
    if not mods32:
        return {k: 0.0 for k in names}, 0
    for m in (m32, m64):
        for mod in m.modules():
            if hasattr(mod, "inplace"):
                mod.inplace = False  # keep the activation inputs (same values)
    rec32, rec64, hooks, gys = [], {}, [], {}

    def record(k, mod, i, o):
        j = len(rec32)
        rec32.append((k, mod, i[0], o))
        o.register_hook(lambda g: gys.__setitem__(j, g.detach()))

    for k, mod in mods32:
        hooks.append(mod.register_forward_hook(lambda mod, i, o, k=k: record(k, mod, i, o)))
    for k, mod in mods64.items():
        hooks.append(mod.register_forward_hook(
            lambda mod, i, o, k=k: rec64.setdefault(k, []).append(i[0].detach())))
    try:
        with torch.no_grad():
            m64(torch.from_numpy(x).double())
        params = dict(m32.named_parameters())
        lab = torch.from_numpy(label.astype(np.int64))
        loss = DiceCELoss(to_onehot_y=True, softmax=True)(m32(torch.from_numpy(x)), lab)
    finally:
        for h in hooks:
            h.remove()
    calls: dict = {}
    # dy at every recorded activation/pool output.  (A full backward: torch 1.13's
    # autograd.grad from intermediate tensors fails on MONAI's in-place `out += residual`.)
    loss.backward(retain_graph=True)
    ins, gy_list, dirs = [], [], []
    for j, (k, mod, xi, yo) in enumerate(rec32):
        nc = calls.get(k, 0)
        calls[k] = nc + 1
        b = rec64[k][nc].double()
        a = xi.detach().double()
        e = (a - b).abs()
        band = factor * torch.maximum(e, (e ** 2).mean().sqrt())
        if type(mod).__name__ in _POOLS:
            kk = _pool_windows(mod, xi.dim() - 2)
            if kk is None:
                continue
            wb, back = _to_windows(b, kk)
            wband, _ = _to_windows(band, kk)
            top = wb.topk(2, dim=-1)
            gap = top.values[..., 0] - top.values[..., 1]
            lim = torch.gather(wband, -1, top.indices).max(-1).values
            near = (gap <= lim) & ~((gap == 0) & (top.values[..., 0] == 0))  # ReLU-zeroed windows: no gradient
            if not bool(near.any()):
                continue
            # moving dy from the first to the second input of the window
            d = torch.zeros_like(wb)
            d.scatter_(-1, top.indices[..., :1], -near.double().unsqueeze(-1))
            d.scatter_(-1, top.indices[..., 1:2], near.double().unsqueeze(-1))
            dirs.append(("pool", back, d, near))
        else:
            near = b.abs() <= band
            if not bool(near.any()):
                continue
            slope = 0.0 if type(mod).__name__ == "ReLU" else (
                mod.negative_slope if type(mod).__name__ == "LeakyReLU" else None)
            dirs.append(("act", slope, mod, near))
        ins.append(xi)
        gy_list.append(gys.get(j, torch.zeros_like(yo)))
    nnear = int(sum(int(dd[-1].sum()) for dd in dirs))
    if not ins:
        return {k: 0.0 for k in names}, 0
    gen = torch.Generator().manual_seed(seed)
    sens = {k: np.zeros(params[k].shape) for k in names}
    plist = [params[k] for k in names]
    for _ in range(draws):
        outs = []
        for (kind, p1, p2, near), gy, xi in zip(dirs, gy_list, ins):
            sign = torch.randint(0, 2, near.shape, generator=gen).double() * 2 - 1
            if kind == "act":
                slope = p1
                if slope is None:  # PReLU: per-channel (or single) weight
                    w = p2.weight.detach().double()
                    shape = [1, -1] + [1] * (xi.dim() - 2) if w.numel() > 1 else [1] * xi.dim()
                    slope = w.reshape(shape)
                delta = (1 - slope) * gy.double() * near.double() * sign
            else:
                back, d = p1, p2
                wgy = gy.double().reshape(gy.shape[0], gy.shape[1], -1)[..., :d.shape[2]]
                delta = back(d * (wgy * sign).unsqueeze(-1))
            outs.append(delta.to(xi.dtype))
        # d/dparams of sum <x_in, delta>: the parameter-gradient change of these flips
        m32.zero_grad(set_to_none=True)
        sum((xi * dl).sum() for xi, dl in zip(ins, outs)).backward(retain_graph=True)
        for k, pk in zip(names, plist):
            if pk.grad is not None:
                sens[k] = np.maximum(sens[k], np.abs(pk.grad.detach().double().numpy()))
    return {k: float(v.max()) for k, v in sens.items()}, nnear


def torch_loss_grads(model, x: np.ndarray, label: np.ndarray, double: bool = False):
    """MONAI DiceCELoss(to_onehot_y=True, softmax=True) and d loss / d parameter
    (model in eval mode).  Returns (loss, {name: float64 ndarray}).  With double=True the
    computation runs on a float64 copy of the model."""
    import copy

    import torch
    from monai.losses import DiceCELoss

    m = copy.deepcopy(model).double() if double else model
    m.eval()
    m.zero_grad(set_to_none=True)
    xt = torch.from_numpy(x).double() if double else torch.from_numpy(x)
    loss = DiceCELoss(to_onehot_y=True, softmax=True)(m(xt), torch.from_numpy(label.astype(np.int64)))
    loss.backward()
    grads = {}
    for k, p in m.named_parameters():
        g = p.grad
        grads[k] = np.zeros(p.shape) if g is None else g.detach().double().numpy()
    m.zero_grad(set_to_none=True)
    return float(loss.item()), grads


def reference(model, x: np.ndarray, label: np.ndarray, names: list[str], seed: int = 0, ill_f32x=None):
    """float32 torch reference and per-tensor tolerances (ill_f32x: see "Ill-conditioned gradients").
    Returns (loss, {name: float32 grad}, {name: tolerance}, info); info["kink_ratio"] is the
    largest (kink sensitivity) / (tolerance * max |ref|) over the tensors."""
    loss32, g32 = torch_loss_grads(model, x, label)
    loss64, g64 = torch_loss_grads(model, x, label, double=True)
    G = max(float(np.abs(g32[k]).max()) for k in names)
    ref, tol, worst, ill = {}, {}, 0.0, {}
    for k in names:
        ref[k] = g32[k].astype(np.float32)
        m32, m64 = float(np.abs(g32[k]).max()), float(np.abs(g64[k]).max())
        e = float(np.abs(g32[k] - g64[k]).max())
        if e > ILL_REL * m64:  # float32 cannot resolve this tensor to the test's precision
            if ill_f32x is not None:  # a multiple of torch's own float32 error (relative to max|ref|)
                tol[k] = max(TOL, ill_f32x * e / m32) if m32 > 0 else TOL
            else:
                tol[k] = max(TOL, FLOOR * G / m32) if m32 > 0 else TOL
            ill[k] = dict(tol=tol[k], max_over_G=m32 / G, f32_vs_f64=e / max(m64, 1e-300))
        else:
            tol[k] = TOL
            if m64 > 0:  # (an all-zero gradient, e.g. behind a dead ReLU, is checked as |out| <= 1e-3)
                worst = max(worst, e / m64)
    sens, nnear = kink_sensitivity(model, x, label, names, seed)
    ratio = {k: sens[k] / (tol[k] * float(np.abs(ref[k]).max())) if sens[k] > 0 else 0.0 for k in names}
    kr = max(ratio.values()) if ratio else 0.0
    info = dict(torch_f32_vs_f64_loss=abs(loss32 - loss64) / abs(loss64), torch_f32_vs_f64_grad=worst,
                max_grad=G, loss_f64=loss64, ill_conditioned=ill, near_kinks=nnear, kink_ratio=kr,
                kink_worst=max(ratio, key=ratio.get) if ratio else "")
    return loss32, ref, tol, info


def build(ctor: str, seed: int, shape):
    """The seeded, randomised model in eval mode."""
    import torch

    torch.manual_seed(seed)
    model = E.build_model(ctor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        E.randomise_(model, seed + 1, shape)
    model.eval()
    return model


def golden(model, shape, seed: int, names: list[str], tries: int = KINK_TRIES, ill_f32x=None):
    """Draws inputs x (seed, seed + 1000, ...; the label from seed + 1) until the kink
    sensitivity of every gradient is at most KINK_SHARE of its tolerance.  After `tries`
    draws it keeps the best one and widens the tolerances of the affected tensors by
    3x their kink sensitivity (info["kink_widened"]).
    Returns (x, label, loss, ref, tol, info)."""
    best = None
    classes = None
    for t in range(tries):
        s = seed + 1000 * t
        x = E.make_input(shape, s)
        if classes is None:
            classes = int(E.torch_forward(model, x[:1]).shape[1])
        label = make_label(shape, classes, s + 1)
        loss, ref, tol, info = reference(model, x, label, names, s, ill_f32x)
        info.update(input_seed=s, label_seed=s + 1, input_redraws=t, classes=classes, kink_widened={})
        if info["kink_ratio"] <= KINK_SHARE:
            return x, label, loss, ref, tol, info
        if best is None or info["kink_ratio"] < best[5]["kink_ratio"]:
            best = (x, label, loss, ref, tol, info)
    x, label, loss, ref, tol, info = best
    sens, _ = kink_sensitivity(model, x, label, names, info["input_seed"])
    for k in names:
        m = float(np.abs(ref[k]).max())
        if m > 0 and sens[k] > KINK_SHARE * tol[k] * m:
            tol[k] = tol[k] + 3 * sens[k] / m
            info["kink_widened"][k] = tol[k]
    return x, label, loss, ref, tol, info


def write_fixture(name: str, spec: dict, out_root: str, model=None, opset: int = E.OPSET) -> dict:
    """Writes the fixture directory out_root/name.  `model` (seeded, randomised, eval mode) is built
    from spec["ctor"] unless given (networks that are not MONAI constructors: export_swin.py,
    export_unetr_pp.py); spec["ctor"] is recorded either way."""
    import monai
    import onnx
    import torch

    d = os.path.join(out_root, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    shape = tuple(spec["input_shape"])
    if model is None:
        model = build(spec["ctor"], spec["seed"], shape)
    onnx_path = os.path.join(d, "model.onnx")
    x0 = E.make_input(shape, spec["seed"] + 2)
    mode = export_for_grad(model, x0, onnx_path, opset)  # the graph does not depend on the values of x
    names = check_names(model, onnx_path)
    tries = spec.get("kink_tries", KINK_TRIES)
    x, label, loss, ref, tol, info = golden(model, shape, spec["seed"] + 2, names, tries, spec.get("ill_f32x"))
    if info["kink_widened"] and not spec.get("kink_widen"):
        raise RuntimeError(f"{name}: no input without kink-sensitive gradients in {tries} draws "
                           f"(best ratio {info['kink_ratio']:.3g} at {info['kink_worst']})")
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "label.npy"), label)
    with open(os.path.join(d, "loss.txt"), "w") as f:
        f.write(f"{loss:.9g}\n")
    for k in names:
        np.save(os.path.join(d, grad_file(k)), ref[k])
    with open(os.path.join(d, "tolerances.txt"), "w") as f:
        for k in names:
            if tol[k] != TOL:
                f.write(f"{grad_file(k)} {tol[k]:.3g}\n")
    ops = sorted({n.op_type for n in onnx.load(onnx_path).graph.node})
    meta = dict(name=name, ctor=spec["ctor"], notes=spec.get("notes", ""), seed=spec["seed"],
                input_shape=list(shape), export=dict(
                    opset=opset, do_constant_folding=False, training=mode, exporter="torch.onnx.export (TorchScript)"),
                loss="monai.losses.DiceCELoss(to_onehot_y=True, softmax=True)", loss_value=loss,
                params=E.param_count(model), grads=len(names), ops=ops,
                versions=dict(torch=torch.__version__, monai=monai.__version__, onnx=onnx.__version__,
                              numpy=np.__version__), **info)
    if spec.get("ill_f32x") is not None:
        meta["ill_f32x"] = spec["ill_f32x"]
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    nt = sum(1 for k in names if tol[k] != TOL)
    if info["kink_widened"]:
        print(f"{name}: {info['near_kinks']} activation inputs within {KINK_FACTOR:g} float32 rounding errors of a "
              f"kink; tolerances widened by 3x their kink sensitivity: "
              + ", ".join(f"{k} {v:.3g}" for k, v in info["kink_widened"].items()), flush=True)
    print(f"{name}: {len(names)} gradients ({nt} with a floor), params {meta['params']}, loss {loss:.7g}, "
          f"torch f32 vs f64: loss {info['torch_f32_vs_f64_loss']:.1e} grad {info['torch_f32_vs_f64_grad']:.1e}, "
          f"near kinks {info['near_kinks']} (sensitivity/tolerance {info['kink_ratio']:.2g}), "
          f"input redraws {info['input_redraws']}, {mode}, {size / 1e6:.2f} MB", flush=True)
    return meta


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=OUT_DEFAULT, help="output root (default: %(default)s)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="export only these models")
    ap.add_argument("--list", action="store_true", help="list the models and exit")
    args = ap.parse_args(argv)
    if args.list:
        for k, v in GRAD_MODELS.items():
            print(f"{k}: {v['ctor']} input={v['input_shape']}")
        return 0
    import torch

    torch.set_num_threads(2)
    names = args.only or list(GRAD_MODELS)
    bad = [n for n in names if n not in GRAD_MODELS]
    if bad:
        ap.error(f"unknown models {bad}")
    os.makedirs(args.out, exist_ok=True)
    for n in names:
        write_fixture(n, GRAD_MODELS[n], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
