#!/usr/bin/env python3
"""Explains a gradient fixture mismatch by kinks: are unetrc's gradients torch's with some near-kink
LeakyReLU/ReLU inputs taking the other branch?  (PReLU and MaxPool ties are not considered.)

    /work/venv-monai14/bin/python models/kink_explain.py FIXTURE_DIR UNETRC_GRAD_OUT_DIR

FIXTURE_DIR is a gradient fixture of export_grad_fixtures.py / export_swin.py (--grad); the model is
rebuilt from its meta.json (Swin fixtures from export_swin.GRAD_FIXTURES).  UNETRC_GRAD_OUT_DIR holds
`unetrc grad ... --out DIR` for the fixture's x.npy and label.npy.  The near voxels are those of
export_grad_fixtures.kink_sensitivity (float32 activation input within KINK_FACTOR float32 rounding
errors of 0, float64 as the truth); for each, the parameter-gradient change of taking the other branch
than torch float32 is computed with autograd, and every subset of them (greedy above 12 voxels) is
tried: printed are the worst gradient error (max |ref - out| / max |ref| over all tensors) without a
flip and with the best subset.  swin_v2_fs6, 2026-12-03: 3.4e-3 without, 9.0e-5 with encoder3's
second LeakyReLU flipped at one voxel (float64 value -3.2e-8)."""
import copy
import itertools
import json
import os
import sys
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
warnings.simplefilter("ignore")

import export_grad_fixtures as G  # noqa: E402
from monai.losses import DiceCELoss  # noqa: E402

torch.set_num_threads(2)
fix, out = sys.argv[1], sys.argv[2]
meta = json.load(open(os.path.join(fix, "meta.json")))
if meta["name"].startswith("swin"):
    import export_swin as S

    model = S.make_model(S.GRAD_FIXTURES[meta["name"]])
else:
    model = G.build(meta["ctor"], meta["seed"], tuple(meta["input_shape"]))
x = np.load(f"{fix}/x.npy")
label = np.load(f"{fix}/label.npy")
m32, m64 = copy.deepcopy(model).float().eval(), copy.deepcopy(model).double().eval()
mods32, mods64 = G._kink_modules(m32), dict(G._kink_modules(m64))
for m in (m32, m64):
    for mod in m.modules():
        if hasattr(mod, "inplace"):
            mod.inplace = False  # keep the activation inputs
rec32, rec64, gys = [], {}, {}


def record(k, mod, i, o):
    j = len(rec32)
    rec32.append((k, mod, i[0], o))
    o.register_hook(lambda g: gys.__setitem__(j, g.detach()))


hooks = [mod.register_forward_hook(lambda mod, i, o, k=k: record(k, mod, i, o)) for k, mod in mods32]
hooks += [mod.register_forward_hook(lambda mod, i, o, k=k: rec64.setdefault(k, []).append(i[0].detach()))
          for k, mod in mods64.items()]
with torch.no_grad():
    m64(torch.from_numpy(x).double())
params = dict(m32.named_parameters())
loss = DiceCELoss(to_onehot_y=True, softmax=True)(m32(torch.from_numpy(x)), torch.from_numpy(label.astype(np.int64)))
for h in hooks:
    h.remove()
loss.backward(retain_graph=True)  # dy at every activation output
names = [f[:-4] for f in sorted(os.listdir(fix)) if f.endswith(".npy") and f not in ("x.npy", "label.npy")]
ref = {k: np.load(f"{fix}/{k}.npy").astype(np.float64) for k in names}
got = {k: np.load(f"{out}/{k}.npy").astype(np.float64) for k in names}

calls, voxels = {}, []
for j, (k, mod, xi, yo) in enumerate(rec32):
    nc = calls.get(k, 0)
    calls[k] = nc + 1
    if type(mod).__name__ not in ("ReLU", "LeakyReLU"):  # PReLU and MaxPool ties: not handled
        continue
    b, a = rec64[k][nc].double(), xi.detach().double()
    e = (a - b).abs()
    near = b.abs() <= G.KINK_FACTOR * torch.maximum(e, (e ** 2).mean().sqrt())
    for v in near.flatten().nonzero().flatten().tolist():
        voxels.append(dict(mod=k, call=nc, voxel=v, xi=xi, gy=gys.get(j, torch.zeros_like(yo)),
                           slope=getattr(mod, "negative_slope", 0.0), x32=float(a.flatten()[v]),
                           x64=float(b.flatten()[v])))
print(len(voxels), "near voxels")
deltas = []
for t in voxels:
    d = torch.zeros_like(t["xi"])
    sign = -1.0 if t["x32"] > 0 else 1.0  # the other branch than torch float32's
    d.view(-1)[t["voxel"]] = sign * (1 - t["slope"]) * t["gy"].reshape(-1)[t["voxel"]]
    m32.zero_grad(set_to_none=True)
    (t["xi"] * d).sum().backward(retain_graph=True)  # d/dparams <x_in, d>: the gradient change of the flip
    deltas.append({n: params[n].grad.detach().double().numpy() if params[n].grad is not None else 0.0
                   for n in names})


def err(sub):
    worst = 0.0
    for n in names:
        r = ref[n] + sum(deltas[i][n] for i in sub)
        m = np.abs(ref[n]).max()
        worst = max(worst, np.abs(r - got[n]).max() / (m if m > 0 else 1))
    return worst


if len(voxels) <= 12:
    best = min((err(sub), sub) for r in range(len(voxels) + 1) for sub in itertools.combinations(range(len(voxels)), r))
else:  # greedy: add the voxel that helps most while one helps
    best = (err(()), ())
    while len(best[1]) < len(voxels):
        cand = min((err(best[1] + (i,)), best[1] + (i,)) for i in range(len(voxels)) if i not in best[1])
        if cand[0] >= best[0]:
            break
        best = cand
print("no flip: worst gradient error %.3e" % err(()))
print("best subset flipped: worst gradient error %.3e" % best[0])
for i in best[1]:
    t = voxels[i]
    print("  flipped: %s call %d voxel %d (float32 %.3e, float64 %.3e)" % (t["mod"], t["call"], t["voxel"], t["x32"],
                                                                           t["x64"]))
