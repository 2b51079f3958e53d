#!/usr/bin/env python3
"""UNETR++ (models/unetr_pp.py) to ONNX: staged test fixtures, gradient fixtures and an
export check over opsets and modes.

For every fixture NAME this writes into --out (default models/):
    NAME.onnx             torch.onnx.export, opset 17 (or the fixture's), do_constant_folding=True,
                          eval mode; input "input", outputs "output" (full resolution) and, with deep
                          supervision, "output_ds2" (the stage-1 decoder grid) and "output_ds3" (stage 2)
    NAME.input.npy        float32 seeded N(0,1) input, batch 1
    NAME.expected.npy     PyTorch's first output (torch.no_grad, eval mode)
    NAME.expected_ds2.npy, NAME.expected_ds3.npy   the deep-supervision outputs (do_ds fixtures)
    NAME.meta.json        constructor, seeds, shapes, parameter count, versions, ONNX op counts, size,
                          sha256, onnxruntime-vs-torch error per output
and with --grad into --grad-out (default tests/train/models/) the gradient fixture of
export_grad_fixtures.py (single output: do_ds=False; BatchNorm in eval mode, so the export uses
training=PRESERVE and keeps every parameter under its torch name).

Usage (any venv with torch 1.13 + MONAI, e.g. /work/main/.venv):
    python models/export_unetr_pp.py [--out DIR] [--only NAME ...] [--grad]
    python models/export_unetr_pp.py --check [--out DIR]     # opsets 16/17 x fold/preserve/train
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections import Counter

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import export_models as E  # noqa: E402
import unetr_pp as U  # noqa: E402

ROOT = os.path.dirname(HERE)

# Small configurations.  The token-sized tensors dominate the size: per transformer block a
# position embedding [N, C] and the E projection [P, N] (N = 4096 tokens on the 16^3 stage of a
# 32x64x64 input), so proj_size is reduced to keep the files small.
FIXTURES: dict[str, dict] = {
    "unetr_pp_small": dict(
        seed=7001, cin=1, cout=3, size=(32, 64, 64), opset=17, do_ds=True,
        kw=dict(feature_size=4, num_heads=4, depths=(2, 2, 2, 2), proj_size=(16, 16, 16, 8), dec_proj_size=16,
                dec_depth=2),
        notes="UNETR++ (Synapse structure) at 32x64x64: feature size 4 (widths 8/16/32/64; head dims 2 to 16), "
              "4 heads, 2 blocks per encoder and decoder stage, spatial projections 16/16/16/8, deep supervision "
              "(3 outputs).  Feature size 8 is 4.1 M parameters (16.5 MB; the 3x3x3 convolutions of the "
              "residual blocks in every transformer block dominate): see unetr_pp_fs8.",
    ),
    "unetr_pp_small_op16": dict(
        seed=7002, cin=2, cout=2, size=(16, 32, 32), opset=16, do_ds=False,
        kw=dict(feature_size=4, num_heads=2, depths=(1, 1, 1, 1), proj_size=(8, 8, 8, 4), dec_proj_size=8,
                dec_depth=1),
        notes="UNETR++ at 16x32x32, opset 16, 2 input channels, feature size 4, 2 heads, one block per stage, "
              "no deep supervision (one output).",
    ),
    "unetr_pp_fs8": dict(
        seed=7003, cin=1, cout=3, size=(32, 64, 64), opset=17, do_ds=True, stage_only=True,
        kw=dict(feature_size=8, num_heads=4, depths=(2, 2, 2, 2), proj_size=(16, 16, 16, 8), dec_proj_size=16,
                dec_depth=2),
        notes="unetr_pp_small at feature size 8 (4.1 M parameters, 16.5 MB): not committed, exported with --only.",
    ),
}

GRAD_FIXTURES: dict[str, dict] = {
    "unetr_pp_tiny": dict(
        seed=7101, cin=1, cout=3, size=(16, 32, 32), opset=17, do_ds=False,
        kw=dict(feature_size=4, num_heads=2, depths=(1, 1, 1, 1), proj_size=(8, 8, 8, 4), dec_proj_size=8,
                dec_depth=1),
        notes="UNETR++ at 16x32x32, feature size 4, 2 heads, one transformer block per stage, no deep supervision; "
              "BatchNorm (conv51) in eval mode, exported with training=PRESERVE.",
    ),
}


def ctor_string(spec: dict) -> str:
    kw = ", ".join(f"{k}={v!r}" for k, v in spec["kw"].items())
    return f"UNETR_PP({spec['cin']}, {spec['cout']}, {tuple(spec['size'])}, {kw}, do_ds={spec['do_ds']})"


def randomise_upp_(model, seed: int, shape) -> dict:
    """export_models.randomise_ (Linear, LayerNorm, norms, BatchNorm running statistics) plus what
    it does not know: GroupNorm affine parameters, the layer scale gamma (initialised to 1e-6, which
    would hide the attention entirely), the temperatures (1) and the position embeddings (0)."""
    import torch

    summary = E.randomise_(model, seed, shape)
    g = torch.Generator().manual_seed(seed + 7)
    counts = Counter()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.GroupNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
                counts["GroupNorm"] += 1
        for k, p in model.named_parameters():
            leaf = k.rsplit(".", 1)[-1]
            if leaf == "gamma":
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            elif leaf in ("temperature", "temperature2"):
                p.copy_(torch.rand(p.shape, generator=g) * 1.5 + 0.5)
            elif leaf == "pos_embed":
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            else:
                continue
            counts[leaf] += 1
    summary.update(counts)
    return summary


def make_model(spec: dict):
    import torch

    torch.manual_seed(spec["seed"])
    m = U.UNETR_PP(spec["cin"], spec["cout"], spec["size"], do_ds=spec["do_ds"], **spec["kw"])
    m.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        randomise_upp_(m, spec["seed"] + 1, (1, spec["cin"]) + tuple(spec["size"]))
    m.eval()
    return m


def out_names(do_ds: bool) -> list[str]:
    return ["output", "output_ds2", "output_ds3"] if do_ds else ["output"]


def forward(model, x: np.ndarray) -> list[np.ndarray]:
    import torch

    with torch.no_grad():
        y = model(torch.from_numpy(x))
    ys = y if isinstance(y, tuple) else (y,)
    return [np.ascontiguousarray(t.numpy().astype(np.float32)) for t in ys]


def export(model, x: np.ndarray, path: str, opset: int, do_ds: bool, mode: str = "fold") -> None:
    """mode "fold": inference (constant folding, eval); "preserve" / "train": no folding,
    training=TrainingMode.PRESERVE (BatchNorm and Dropout as in eval) / TRAINING (batch statistics,
    dropout active)."""
    import torch

    tm = {"fold": "EVAL", "eval": "EVAL", "preserve": "PRESERVE", "train": "TRAINING"}[mode]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(model, torch.from_numpy(x), path, opset_version=opset,
                              do_constant_folding=(mode == "fold"), training=getattr(torch.onnx.TrainingMode, tm),
                              input_names=["input"], output_names=out_names(do_ds))
    model.eval()


def ort_outputs(path: str, x: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})


def write_fixture(name: str, spec: dict, out_dir: str) -> dict:
    import monai
    import onnx
    import onnxruntime as ort
    import torch

    model = make_model(spec)
    shape = (1, spec["cin"]) + tuple(spec["size"])
    x = E.make_input(shape, spec["seed"] + 2)
    ys = forward(model, x)
    path = os.path.join(out_dir, f"{name}.onnx")
    export(model, x, path, spec["opset"], spec["do_ds"])
    if any(not np.array_equal(a, b) for a, b in zip(ys, forward(model, x))):
        raise RuntimeError(f"{name}: torch output changed across export")
    np.save(os.path.join(out_dir, f"{name}.input.npy"), x)
    for o, y in zip(out_names(spec["do_ds"]), ys):
        np.save(os.path.join(out_dir, f"{name}.expected{o[len('output'):]}.npy"), y)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    errs = [E.rel_err(y, yo) for y, yo in zip(ys, ort_outputs(path, x))]
    counts = Counter(n.op_type for n in m.graph.node)
    meta = dict(
        name=name, constructor=ctor_string(spec), module="models/unetr_pp.py", notes=spec["notes"], seed=spec["seed"],
        input_name="input", output_names=out_names(spec["do_ds"]), input_shape=list(x.shape),
        output_shapes=[list(y.shape) for y in ys], dtype="float32", parameter_count=E.param_count(model),
        torch_version=torch.__version__, monai_version=monai.__version__, onnxruntime_version=ort.__version__,
        exporter=f"torch.onnx.export (TorchScript), opset {spec['opset']}, do_constant_folding=True, eval mode",
        opset=spec["opset"], onnx_op_types=sorted(counts), onnx_op_counts=dict(sorted(counts.items())),
        onnx_num_nodes=sum(counts.values()), onnx_bytes=os.path.getsize(path), onnx_sha256=E.sha256(path),
        expected_max_abs=[float(np.max(np.abs(y))) for y in ys], ort_vs_torch_max_rel_err=errs,
    )
    with open(os.path.join(out_dir, f"{name}.meta.json"), "w") as f:
        f.write(E.dumps_compact(meta) + "\n")
    print(f"{name}: params {meta['parameter_count']}, {meta['onnx_num_nodes']} nodes, "
          f"{meta['onnx_bytes'] / 1e6:.2f} MB, ort vs torch {max(errs):.2e}", flush=True)
    if max(errs) > 1e-4:
        raise RuntimeError(f"{name}: onnxruntime differs from torch by {max(errs):.3g}")
    return meta


def write_grad_fixture(name: str, spec: dict, out_root: str) -> dict:
    import export_grad_fixtures as G

    shape = (1, spec["cin"]) + tuple(spec["size"])
    gspec = dict(ctor=ctor_string(spec), seed=spec["seed"], input_shape=shape, notes=spec["notes"])
    return G.write_fixture(name, gspec, out_root, model=make_model(spec), opset=spec["opset"])


def check(out_dir: str) -> None:
    """Exports the first fixture's network at opsets 16 and 17 in every mode; one line each."""
    import onnx

    base = dict(FIXTURES["unetr_pp_small"])
    for opset in (16, 17):
        for mode in ("fold", "preserve", "train"):
            spec = dict(base, opset=opset)
            model = make_model(spec)
            x = E.make_input((1, 1) + tuple(spec["size"]), 3)
            ys = forward(model, x)
            path = os.path.join(out_dir, f"upp_check_o{opset}_{mode}.onnx")
            try:
                export(model, x, path, opset, spec["do_ds"], mode)
                m = onnx.load(path)
                onnx.checker.check_model(m)
                res = dict(nodes=len(m.graph.node), bytes=os.path.getsize(path),
                           ops=dict(sorted(Counter(n.op_type for n in m.graph.node).items())))
                yo = ort_outputs(path, x)
                res["ort_rel_err"] = max(E.rel_err(a, b) for a, b in zip(ys, yo))
            except Exception as e:  # noqa: BLE001 - the failure is the result
                res = dict(error=f"{type(e).__name__}: {str(e).splitlines()[0][:200]}")
            print(json.dumps(dict(opset=opset, mode=mode, **res)), flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--grad", action="store_true")
    ap.add_argument("--grad-out", default=os.path.join(ROOT, "tests", "train", "models"))
    ap.add_argument("--only", nargs="+", metavar="NAME")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    if args.check:
        check(args.out)
        return 0
    for n in args.only or [k for k, v in FIXTURES.items() if not v.get("stage_only")]:
        if n not in FIXTURES:
            ap.error(f"unknown fixture {n}")
        write_fixture(n, FIXTURES[n], args.out)
    if args.grad:
        os.makedirs(args.grad_out, exist_ok=True)
        for n in GRAD_FIXTURES:
            write_grad_fixture(n, GRAD_FIXTURES[n], args.grad_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
