#!/usr/bin/env python3
"""Randomised conformance check of `unetrc run` against PyTorch on MONAI networks.

For N seeded random configurations this builds a small MONAI UNETR, BasicUNet
or UNet, gives every parameter a non-trivial random value (see
export_models.randomise_), exports it with the TorchScript exporter at opset 17
into a temporary directory, computes the PyTorch reference output, runs

    UNETRC run MODEL.onnx --input X.npy --output Y.npy            (compiled C)
    UNETRC run MODEL.onnx --interp --input X.npy --output Y.npy   (with --interp)

and compares  max|ref - out| / max|ref| <= --tol  (default 1e-4).

One line per configuration:

    ok   #3  unet    UNet(...) input=(1, 1, 32, 32, 32)  c=2.1e-07 i=1.9e-07
    FAIL #4  unetr   UNETR(...) input=(...)  c: rel err 3.1e-02 > 1e-04
    skip #5  basicunet BasicUNet(...) input=(...)  torch forward: Expected more than 1 spatial element ...

`skip` means the configuration could not be built / run / exported by
MONAI+PyTorch (a MONAI restriction, not a compiler bug); the reason is printed.
With --ort (default when onnxruntime is importable) the exported file is also
run through onnxruntime; a torch/onnxruntime disagreement is reported as a skip
("bad export"), since then the reference itself is in doubt.

Exit status: 1 if any configuration FAILed, 0 otherwise (skips do not fail the
run; --fail-on-skip changes that).

--grad: instead of the forward pass, check the compiled backward pass.  Each configuration is
exported without constant folding (export_grad_fixtures.export_for_grad), a seeded input and
label are drawn away from activation kinks (export_grad_fixtures.golden, at most 3 draws), and

    UNETRC grad MODEL.onnx --input X.npy --label L.npy --loss dicece --out DIR   (and --interp)

is compared with PyTorch autograd through MONAI DiceCELoss(to_onehot_y=True, softmax=True):
loss to --grad-loss-tol (1e-5) relative, every parameter gradient to 1e-3 of its max (or the
widened bound of an ill-conditioned tensor, as in the committed fixtures), and the same set of
gradient files.  The ok line gives the loss error, the worst gradient error relative to its max
over the well-conditioned tensors (g=) and the worst error / bound over all tensors (r=).
--max-params defaults to 300000 with --grad.

Reproduce a single configuration with  --seed S --index I  (the #I printed).
--dry-run does everything except calling unetrc (tests the torch/export part).

Examples:
    /opt/venv/bin/python models/check_monai.py --dry-run --count 20 --seed 1
    /opt/venv/bin/python models/check_monai.py --unetrc build/unetrc --count 50 --seed 7 --interp
    /opt/venv/bin/python models/check_monai.py --unetrc build/unetrc --seed 7 --index 12 --keep /tmp/case12
    /opt/venv/bin/python models/check_monai.py --unetrc build/unetrc --grad --interp --count 10 --seed 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep models/ free of __pycache__

import export_models as E  # noqa: E402  (shared build/randomise/export helpers)

FAMILIES = ("unetr", "basicunet", "unet")


# ---------------------------------------------------------------------------
# Random configurations.  Each returns (family, constructor string, input shape).
# Only the numpy Generator passed in is used, so (seed, index) fully determine
# the configuration.
# ---------------------------------------------------------------------------


def _kw(d: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in d.items())


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def gen_unetr(rng):
    spatial_dims = 3 if rng.random() < 0.8 else 2
    in_ch = int(rng.integers(1, 5))
    out_ch = int(rng.integers(1, 5))
    img = tuple(int(_pick(rng, (16, 32, 48))) for _ in range(spatial_dims))
    if spatial_dims == 3 and np.prod(img) > 32 * 32 * 48:  # keep compile/run time modest
        img = tuple(min(s, 32) for s in img[:2]) + img[2:]
    hidden = int(_pick(rng, (32, 48, 64, 96)))
    heads = int(_pick(rng, [h for h in (1, 2, 3, 4, 6, 8, 12, 16) if hidden % h == 0]))
    mlp = int(_pick(rng, (hidden, 2 * hidden, 4 * hidden, 8 * int(rng.integers(2, 25)))))
    kw = dict(
        in_channels=in_ch,
        out_channels=out_ch,
        img_size=img,
        feature_size=int(_pick(rng, (4, 8, 16))),
        hidden_size=hidden,
        mlp_dim=mlp,
        num_heads=heads,
        proj_type=_pick(rng, ("conv", "perceptron")),
        norm_name=_pick(rng, ("instance", "batch", "instance", "batch", ("instance", {"affine": True}))),
        conv_block=bool(rng.random() < 0.85),
        res_block=bool(rng.random() < 0.5),
        dropout_rate=0.0,
        spatial_dims=spatial_dims,
        qkv_bias=bool(rng.random() < 0.3),
    )
    return "unetr", f"UNETR({_kw(kw)})", (1, in_ch) + img


def gen_basicunet(rng):
    spatial_dims = int(_pick(rng, (2, 3)))
    in_ch = int(rng.integers(1, 5))
    out_ch = int(rng.integers(1, 5))
    hi = 9 if spatial_dims == 3 else 17
    feats = tuple(int(rng.integers(2, hi)) for _ in range(6))
    if spatial_dims == 3:
        size = tuple(int(rng.integers(16, 49)) for _ in range(3))
    else:
        size = tuple(int(rng.integers(16, 97)) for _ in range(2))
    act = _pick(rng, ("leaky", "relu", "prelu"))
    if act == "leaky":
        act = ("LeakyReLU", {"negative_slope": float(_pick(rng, (0.1, 0.01, 0.2))), "inplace": True})
    kw = dict(
        spatial_dims=spatial_dims,
        in_channels=in_ch,
        out_channels=out_ch,
        features=feats,
        act=act,
        norm=_pick(rng, (("instance", {"affine": True}), ("instance", {"affine": True}), "batch")),
        bias=bool(rng.random() < 0.8),
    )
    return "basicunet", f"BasicUNet({_kw(kw)})", (1, in_ch) + size


def gen_unet(rng):
    spatial_dims = int(_pick(rng, (2, 3)))
    in_ch = int(rng.integers(1, 5))
    out_ch = int(rng.integers(1, 5))
    levels = int(rng.integers(2, 5))  # len(channels)
    c = [int(_pick(rng, (2, 4, 8)))]
    for _ in range(levels - 1):
        c.append(min(c[-1] * int(_pick(rng, (1, 2, 2))), 64 if spatial_dims == 2 else 32))
    strides = [int(_pick(rng, (2, 2, 2, 1))) for _ in range(levels - 1)]
    prod = int(np.prod(strides))
    cap = 48 if spatial_dims == 3 else 128
    kmax = max(1, cap // prod)
    while True:
        ks = [int(rng.integers(1, kmax + 1)) for _ in range(spatial_dims)]
        if np.prod(ks) >= 2 and min(k * prod for k in ks) >= 4:
            break
    size = tuple(k * prod for k in ks)
    act = _pick(rng, ("PRELU", "RELU", "LEAKYRELU", ("LEAKYRELU", {"negative_slope": 0.2})))
    kw = dict(
        spatial_dims=spatial_dims,
        in_channels=in_ch,
        out_channels=out_ch,
        channels=tuple(c),
        strides=tuple(strides),
        kernel_size=int(_pick(rng, (3, 3, 3, 5))),
        up_kernel_size=int(_pick(rng, (3, 3, 3, 1))),  # even sizes: MONAI has no "same" padding
        num_res_units=int(rng.integers(0, 3)),
        act=act,
        norm=_pick(rng, ("instance", "batch")),
        adn_ordering=_pick(rng, ("NDA", "NDA", "ADN")),
    )
    return "unet", f"UNet({_kw(kw)})", (1, in_ch) + size


GENERATORS = {"unetr": gen_unetr, "basicunet": gen_basicunet, "unet": gen_unet}


def make_config(seed: int, index: int, families, max_params: int = 0) -> tuple[str, str, tuple, int]:
    """Configuration #index for `seed`.  Draws again (same family, same stream)
    while the model has more than `max_params` parameters (0: no limit).
    Returns (family, constructor, input shape, number of redraws)."""
    rng = np.random.default_rng([seed, index])
    fam = _pick(rng, list(families))
    for attempt in range(50):
        fam, ctor, shape = GENERATORS[fam](rng)
        if not max_params:
            break
        try:
            n = E.param_count(E.build_model(ctor))
        except Exception:
            break  # reported as a skip by prepare()
        if n <= max_params:
            break
    return fam, ctor, shape, attempt


# ---------------------------------------------------------------------------


def _short(msg: str, n: int = 300) -> str:
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= n else msg[: n - 3] + "..."


def _tail(text: str, n: int = 300) -> str:
    text = " | ".join(line.strip() for line in text.strip().splitlines()[-4:])
    return text if len(text) <= n else "..." + text[-(n - 3):]


def prepare(ctor: str, shape, cfg_seed: int, workdir: str, run_ort: bool):
    """Build, randomise, run torch, export.  Returns (status, info dict)."""
    import torch

    info = {}
    try:
        torch.manual_seed(cfg_seed)
        model = E.build_model(ctor)
    except Exception as e:
        return "skip", {"reason": f"construct: {type(e).__name__}: {_short(e)}"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            E.randomise_(model, cfg_seed + 1, shape)
        model.eval()
    except Exception as e:
        return "skip", {"reason": f"randomise (train-mode BN calibration): {type(e).__name__}: {_short(e)}"}
    x = E.make_input(shape, cfg_seed + 2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = E.torch_forward(model, x)
    except Exception as e:
        return "skip", {"reason": f"torch forward: {type(e).__name__}: {_short(e)}"}
    if not np.all(np.isfinite(ref)):
        return "skip", {"reason": "torch output not finite"}
    onnx_path = os.path.join(workdir, "model.onnx")
    try:
        E.export_onnx(model, x, onnx_path)
    except Exception as e:
        return "skip", {"reason": f"export: {type(e).__name__}: {_short(e)}"}
    x_path = os.path.join(workdir, "input.npy")
    np.save(x_path, x)
    np.save(os.path.join(workdir, "expected.npy"), ref)
    info.update(onnx=onnx_path, input=x_path, ref=ref, params=E.param_count(model),
                onnx_mb=os.path.getsize(onnx_path) / 1e6)
    if run_ort:
        try:
            yo = E.ort_run(onnx_path, x)
            info["ort_err"] = E.rel_err(ref, yo)
        except Exception as e:
            return "skip", dict(info, reason=f"onnxruntime failed on the export: {type(e).__name__}: {_short(e)}")
    return "ready", info


def run_unetrc(unetrc: str, onnx_path: str, x_path: str, out_path: str, interp: bool, timeout: float):
    cmd = [unetrc, "run", onnx_path]
    if interp:
        cmd.append("--interp")
    cmd += ["--input", x_path, "--output", out_path]
    if os.path.exists(out_path):
        os.remove(out_path)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timeout after {timeout:.0f}s", time.monotonic() - t0
    except OSError as e:
        return None, f"cannot run {unetrc}: {e}", time.monotonic() - t0
    dt = time.monotonic() - t0
    if p.returncode != 0:
        return None, f"exit {p.returncode}: {_tail(p.stderr or p.stdout)}", dt
    try:
        y = np.load(out_path)
    except Exception as e:
        return None, f"cannot read output {out_path}: {type(e).__name__}: {_short(e)}", dt
    return y, None, dt


def compare(ref: np.ndarray, y: np.ndarray, tol: float):
    if y.dtype != np.float32:
        return False, f"output dtype {y.dtype}, expected float32"
    if tuple(y.shape) != tuple(ref.shape):
        return False, f"output shape {tuple(y.shape)}, expected {tuple(ref.shape)}"
    if not np.all(np.isfinite(y)):
        return False, f"non-finite output ({int(np.sum(~np.isfinite(y)))} values)"
    err = E.rel_err(ref, y)
    if not err <= tol:
        return False, f"rel err {err:.3e} > {tol:.0e}"
    return True, f"{err:.2e}"


def grad_case(ctor: str, shape, cfg_seed: int, workdir: str, unetrc: str, modes, timeout: float,
              dry_run: bool):
    """--grad: export without constant folding, torch/MONAI reference, `unetrc grad` per mode.
    Returns (status, message)."""
    import export_grad_fixtures as F

    try:
        model = F.build(ctor, cfg_seed, shape)
    except Exception as e:
        return "skip", f"construct/randomise: {type(e).__name__}: {_short(e)}"
    x0 = E.make_input(shape, cfg_seed + 2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y0 = E.torch_forward(model, x0)
    except Exception as e:
        return "skip", f"torch forward: {type(e).__name__}: {_short(e)}"
    if y0.shape[1] < 2:  # MONAI's DiceCELoss is then raw-logit Dice + BCEWithLogits; unetrc refuses it
        return "skip", "single-channel output (softmax losses need >= 2 classes)"
    onnx_path = os.path.join(workdir, "model.onnx")
    try:
        export_mode = F.export_for_grad(model, x0, onnx_path)
    except Exception as e:
        return "skip", f"export: {type(e).__name__}: {_short(e)}"
    names = F.check_names(model, onnx_path)  # a mismatch is a checker error (FAIL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, label, loss, ref, tol, info = F.golden(model, shape, cfg_seed + 2, names, tries=3)
    x_path, l_path = os.path.join(workdir, "x.npy"), os.path.join(workdir, "label.npy")
    np.save(x_path, x)
    np.save(l_path, label)
    head = (f"params={E.param_count(model)} grads={len(names)} {export_mode} floors={len(info['ill_conditioned'])}"
            f"{' kink-widened=%d' % len(info['kink_widened']) if info['kink_widened'] else ''}")
    if dry_run:
        return "ok", f"{head}  loss={loss:.6g} (dry-run)"
    results, failed = [], False
    for tag, interp in modes:
        out = os.path.join(workdir, f"grad_{tag}")
        shutil.rmtree(out, ignore_errors=True)
        cmd = [unetrc, "grad", onnx_path, "--input", x_path, "--label", l_path, "--loss", "dicece", "--out", out]
        if interp:
            cmd.append("--interp")
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            failed = True
            results.append(f"{tag}: timeout after {timeout:.0f}s")
            continue
        dt = time.monotonic() - t0
        if p.returncode != 0:
            failed = True
            results.append(f"{tag}: exit {p.returncode}: {_tail(p.stderr or p.stdout)}")
            continue
        got = [ln[5:] for ln in p.stdout.splitlines() if ln.startswith("loss=")]
        try:
            lerr = abs(float(got[0]) - loss) / abs(loss)
        except (IndexError, ValueError):
            lerr = float("inf")
        files = set(os.listdir(out)) if os.path.isdir(out) else set()
        want = {F.grad_file(k): k for k in names}
        probs = []
        if not lerr <= LOSS_TOL_GRAD:
            probs.append(f"loss {got[0] if got else '?'} vs {loss:.9g} (rel {lerr:.1e})")
        if files - set(want):
            probs.append(f"unexpected files {sorted(files - set(want))[:3]}")
        if set(want) - files:
            probs.append(f"missing {len(set(want) - files)} gradients, e.g. {sorted(set(want) - files)[:2]}")
        gworst, gk, rworst, rk = 0.0, "", 0.0, ""
        for fn, k in want.items():
            if fn not in files:
                continue
            y = np.load(os.path.join(out, fn))
            if y.shape != ref[k].shape or not np.all(np.isfinite(y)):
                probs.append(f"{k}: shape {y.shape} / non-finite")
                continue
            m = float(np.abs(ref[k]).max())
            e = float(np.abs(y.astype(np.float64) - ref[k]).max())
            rel = e / m if m > 0 else (0.0 if e == 0 else float("inf"))
            if tol[k] == F.TOL and rel > gworst:
                gworst, gk = rel, k
            if rel / tol[k] > rworst:
                rworst, rk = rel / tol[k], k
            if not rel <= tol[k]:
                probs.append(f"{k}: rel err {rel:.2e} > {tol[k]:.3g}")
        if probs:
            failed = True
            results.append(f"{tag}: " + "; ".join(probs[:4]) + (f" (+{len(probs) - 4} more)" if len(probs) > 4 else ""))
        else:
            results.append(f"{tag}: loss={lerr:.1e} g={gworst:.1e} r={rworst:.2f} ({dt:.1f}s)")
        GRAD_WORST.append((lerr, gworst, gk, rworst, rk, tag, ctor))
    return ("FAIL" if failed else "ok"), f"{head}  " + "; ".join(results)


LOSS_TOL_GRAD = 1e-5
GRAD_WORST: list = []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--unetrc", default=os.path.join(os.path.dirname(HERE), "build", "unetrc"),
                    help="path of the unetrc binary (default: %(default)s)")
    ap.add_argument("--count", type=int, default=20, help="number of random configurations (default 20)")
    ap.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    ap.add_argument("--index", type=int, nargs="+", help="run only these configuration indices")
    ap.add_argument("--families", default=",".join(FAMILIES),
                    help="comma-separated subset of %s (default: all)" % ",".join(FAMILIES))
    ap.add_argument("--max-params", type=int, default=None,
                    help="redraw configurations with more parameters than this (0: no limit; default 2500000, "
                         "300000 with --grad)")
    ap.add_argument("--grad", action="store_true",
                    help="check `unetrc grad` against PyTorch autograd + MONAI DiceCELoss (see above)")
    ap.add_argument("--grad-loss-tol", type=float, default=1e-5, help="--grad: loss tolerance, relative (default 1e-5)")
    ap.add_argument("--interp", action="store_true", help="also run `unetrc run --interp`")
    ap.add_argument("--no-compiled", action="store_true", help="skip the compiled run (use with --interp)")
    ap.add_argument("--dry-run", action="store_true", help="build/export/reference only; do not call unetrc")
    ap.add_argument("--tol", type=float, default=1e-4, help="max |ref-out| / max |ref| (default 1e-4)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per unetrc invocation (default 900)")
    ap.add_argument("--ort", dest="ort", action="store_true", default=None,
                    help="cross-check each export with onnxruntime (default: on if importable)")
    ap.add_argument("--no-ort", dest="ort", action="store_false")
    ap.add_argument("--keep", metavar="DIR", help="keep every case's files in DIR/<seed>_<index>/ (else a temp dir)")
    ap.add_argument("--fail-on-skip", action="store_true", help="exit non-zero if any configuration is skipped")
    ap.add_argument("-v", "--verbose", action="store_true", help="print tracebacks of unexpected errors")
    args = ap.parse_args(argv)
    if args.max_params is None:
        args.max_params = 300_000 if args.grad else 2_500_000
    global LOSS_TOL_GRAD
    LOSS_TOL_GRAD = args.grad_loss_tol

    import torch
    import monai

    torch.set_num_threads(2)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    bad = [f for f in families if f not in FAMILIES]
    if bad or not families:
        ap.error(f"unknown families {bad}; choose from {FAMILIES}")
    if args.ort is None:
        try:
            import onnxruntime  # noqa: F401

            args.ort = True
        except ImportError:
            args.ort = False
    if not args.dry_run:
        if args.no_compiled and not args.interp:
            ap.error("--no-compiled needs --interp")
        if not (os.path.isfile(args.unetrc) and os.access(args.unetrc, os.X_OK)):
            print(f"error: unetrc binary not found or not executable: {args.unetrc} "
                  f"(build it, pass --unetrc PATH, or use --dry-run)", file=sys.stderr)
            return 2
    indices = args.index if args.index is not None else list(range(args.count))

    print(f"# check_monai seed={args.seed} count={len(indices)} families={','.join(families)} tol={args.tol:g} "
          f"max_params={args.max_params} torch={torch.__version__} monai={monai.__version__} opset={E.OPSET} "
          f"{'dry-run' if args.dry_run else 'unetrc=' + args.unetrc}{' +interp' if args.interp else ''}"
          f"{' grad' if args.grad else ''}",
          flush=True)

    tally = {"ok": 0, "FAIL": 0, "skip": 0}
    t_start = time.monotonic()
    for idx in indices:
        fam, ctor, shape, _ = make_config(args.seed, idx, families, args.max_params)
        cfg_seed = (args.seed * 1_000_003 + idx * 7919) % (2**31 - 16)
        head = f"#{idx:<3d} {fam:9s} {ctor} input={tuple(shape)}"
        if args.keep:
            workdir = os.path.join(args.keep, f"{args.seed}_{idx}")
            os.makedirs(workdir, exist_ok=True)
            cleanup = None
        else:
            workdir = tempfile.mkdtemp(prefix="check_monai_")
            cleanup = workdir
        try:
            if args.grad:
                modes = ([] if args.no_compiled else [("c", False)]) + ([("interp", True)] if args.interp else [])
                status, msg = grad_case(ctor, shape, cfg_seed, workdir, args.unetrc, modes, args.timeout,
                                        args.dry_run)
                tally[status] += 1
                print(f"{status:4s} {head}  {msg}", flush=True)
                continue
            status, info = prepare(ctor, shape, cfg_seed, workdir, args.ort)
            if args.keep:
                with open(os.path.join(workdir, "config.txt"), "w") as f:
                    f.write(f"seed={args.seed} index={idx} cfg_seed={cfg_seed}\n{ctor}\ninput={tuple(shape)}\n")
            if status == "skip":
                tally["skip"] += 1
                print(f"skip {head}  {info['reason']}", flush=True)
                continue
            extra = f" params={info['params']} onnx={info['onnx_mb']:.2f}MB"
            if args.ort:
                extra += f" ort={info['ort_err']:.1e}"
                if not info["ort_err"] <= args.tol:
                    tally["skip"] += 1
                    print(f"skip {head} {extra}  bad export: onnxruntime disagrees with torch "
                          f"(rel err {info['ort_err']:.2e} > {args.tol:.0e})", flush=True)
                    continue
            if args.dry_run:
                tally["ok"] += 1
                print(f"ok   {head} {extra}  (dry-run)", flush=True)
                continue
            results, failed = [], False
            modes = ([] if args.no_compiled else [("c", False)]) + ([("interp", True)] if args.interp else [])
            for tag, interp in modes:
                out_path = os.path.join(workdir, f"output_{tag}.npy")
                y, err, dt = run_unetrc(args.unetrc, info["onnx"], info["input"], out_path, interp, args.timeout)
                if y is None:
                    failed = True
                    results.append(f"{tag}: {err}")
                    continue
                good, msg = compare(info["ref"], y, args.tol)
                failed |= not good
                results.append(f"{tag}={msg} ({dt:.1f}s)" if good else f"{tag}: {msg}")
            tally["FAIL" if failed else "ok"] += 1
            print(f"{'FAIL' if failed else 'ok  '} {head} {extra}  {'; '.join(results)}", flush=True)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # a bug in this script or an unexpected environment problem
            tally["FAIL"] += 1
            print(f"FAIL {head}  checker error: {type(e).__name__}: {_short(e)}", flush=True)
            if args.verbose:
                traceback.print_exc()
        finally:
            if cleanup:
                shutil.rmtree(cleanup, ignore_errors=True)

    print(f"# summary: {tally['ok']} ok, {tally['FAIL']} FAIL, {tally['skip']} skip "
          f"({time.monotonic() - t_start:.0f}s)", flush=True)
    if GRAD_WORST:
        lw = max(GRAD_WORST, key=lambda t: t[0])
        gw = max(GRAD_WORST, key=lambda t: t[1])
        rw = max(GRAD_WORST, key=lambda t: t[3])
        print(f"# worst: loss {lw[0]:.1e} ({lw[5]}, {lw[6]}); gradient/max {gw[1]:.1e} ({gw[5]}, {gw[2]}, {gw[6]}); "
              f"error/bound {rw[3]:.2f} ({rw[5]}, {rw[4]}, {rw[6]})", flush=True)
    if tally["FAIL"]:
        return 1
    if args.fail_on_skip and tally["skip"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
