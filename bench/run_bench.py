#!/usr/bin/env python3
"""unetrc vs PyTorch vs ONNX Runtime on MONAI segmentation networks.

One run measures, on this machine and with the same input per model:

  * unetrc       `unetrc bench` (generated C built with its default -O3 -march=native
                 flags, one warm-up, median of --runs forwards)
  * PyTorch      the MONAI model itself: eval(), torch.no_grad(), torch.set_num_threads(T)
  * ONNX Runtime the very ONNX file unetrc compiles: intra_op_num_threads=T,
                 inter_op_num_threads=1, ORT_ENABLE_ALL, sequential execution

plus the machine's sgemm peak (torch.matmul N x N float32 on T threads).

Each framework runs in its own child process (this script re-invoked with
--child), so peak memory (ru_maxrss of that process, from wait4) is per
framework.  Outputs are compared with PyTorch's: max|y - y_torch| / max|y_torch|.

Usage (see bench/README.md):
    /opt/venv/bin/python bench/run_bench.py --quick                 # tiny models, ~1-2 min
    /opt/venv/bin/python bench/run_bench.py --write-docs            # the real thing
    /opt/venv/bin/python bench/run_bench.py --models unetr,unet2d --runs 5
"""

from __future__ import annotations

import argparse
import datetime
import glob
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OPSET = 17
EXPORT_REV = 2  # bump to invalidate cached exports when the export recipe changes

# ---------------------------------------------------------------------------
# Models.  "ctor" is evaluated with UNETR / BasicUNet / UNet from monai.networks.nets
# in scope, so the string printed in the report is exactly what was built.
# ---------------------------------------------------------------------------


def model_table(unetr_proj: str) -> dict:
    p = repr(unetr_proj)
    return {
        "unetr": dict(
            title="MONAI UNETR (default, BTCV-style)",
            seed=101,
            ctor=("UNETR(in_channels=1, out_channels=14, img_size=(96, 96, 96), feature_size=16, "
                  "hidden_size=768, mlp_dim=3072, num_heads=12, proj_type=%s, norm_name='instance', "
                  "res_block=True, dropout_rate=0.0)" % p),
            shape=(1, 1, 96, 96, 96),
            quick_ctor=("UNETR(in_channels=1, out_channels=14, img_size=(32, 32, 32), feature_size=4, "
                        "hidden_size=48, mlp_dim=96, num_heads=12, proj_type=%s, norm_name='instance', "
                        "res_block=True, dropout_rate=0.0)" % p),
            quick_shape=(1, 1, 32, 32, 32),
        ),
        "unetr_brats": dict(
            title="UNETR, BraTS-like (4 modalities, 3 regions)",
            seed=102,
            ctor=("UNETR(in_channels=4, out_channels=3, img_size=(64, 64, 64), feature_size=16, "
                  "hidden_size=192, mlp_dim=768, num_heads=12, proj_type='perceptron', "
                  "norm_name='instance', res_block=True, dropout_rate=0.0)"),
            shape=(1, 4, 64, 64, 64),
            quick_ctor=("UNETR(in_channels=4, out_channels=3, img_size=(32, 32, 32), feature_size=4, "
                        "hidden_size=48, mlp_dim=96, num_heads=12, proj_type='perceptron', "
                        "norm_name='instance', res_block=True, dropout_rate=0.0)"),
            quick_shape=(1, 4, 32, 32, 32),
        ),
        "basicunet": dict(
            title="MONAI BasicUNet 3D (default features)",
            seed=103,
            ctor="BasicUNet(spatial_dims=3, in_channels=1, out_channels=2)",
            shape=(1, 1, 96, 96, 96),
            quick_ctor="BasicUNet(spatial_dims=3, in_channels=1, out_channels=2, features=(4, 4, 8, 8, 16, 4))",
            quick_shape=(1, 1, 32, 32, 32),
        ),
        "unet2d": dict(
            title="MONAI UNet 2D (BatchNorm, residual units)",
            seed=104,
            ctor=("UNet(spatial_dims=2, in_channels=1, out_channels=2, channels=(16, 32, 64, 128, 256), "
                  "strides=(2, 2, 2, 2), num_res_units=2, norm='batch')"),
            shape=(1, 1, 512, 512),
            quick_ctor=("UNet(spatial_dims=2, in_channels=1, out_channels=2, channels=(4, 8, 16, 32, 64), "
                        "strides=(2, 2, 2, 2), num_res_units=2, norm='batch')"),
            quick_shape=(1, 1, 64, 64),
        ),
        "unetr_pp": dict(
            title="UNETR++ Synapse (full width, models/unetr_pp.py, no deep supervision)",
            seed=106,
            ctor="UNETR_PP(1, 9, (64, 128, 128), feature_size=16, num_heads=4, do_ds=False)",
            shape=(1, 1, 64, 128, 128),
            quick_ctor=("UNETR_PP(1, 3, (32, 64, 64), feature_size=4, num_heads=4, depths=(1, 1, 1, 1), "
                        "proj_size=(16, 16, 16, 8), dec_proj_size=16, dec_depth=1, do_ds=False)"),
            quick_shape=(1, 1, 32, 64, 64),
        ),
        "unet25d": dict(
            title="MONAI UNet 2.5D (5 adjacent slices as channels)",
            seed=105,
            ctor=("UNet(spatial_dims=2, in_channels=5, out_channels=2, channels=(16, 32, 64, 128, 256), "
                  "strides=(2, 2, 2, 2), num_res_units=2, norm='batch')"),
            shape=(1, 5, 512, 512),
            quick_ctor=("UNet(spatial_dims=2, in_channels=5, out_channels=2, channels=(4, 8, 16, 32, 64), "
                        "strides=(2, 2, 2, 2), num_res_units=2, norm='batch')"),
            quick_shape=(1, 5, 64, 64),
        ),
        # MONAI SwinUNETR exports only with MONAI 1.4 at opset 16 (models/README.md, "Swin UNETR export
        # recipe"): run this script with the MONAI 1.4 venv (/work/venv-monai14/bin/python) for these rows.
        "swin": dict(
            title="MONAI SwinUNETR v1, feature_size 12, 64³",
            seed=106, opset=16,
            ctor="SwinUNETR(img_size=(64, 64, 64), in_channels=1, out_channels=14, feature_size=12, use_checkpoint=False)",
            shape=(1, 1, 64, 64, 64),
            quick_ctor=("SwinUNETR(img_size=(64, 64, 64), in_channels=1, out_channels=2, feature_size=12, "
                        "depths=(1, 1, 1, 1), use_checkpoint=False)"),
            quick_shape=(1, 1, 64, 64, 64),
        ),
        "swin_btcv": dict(
            title="MONAI SwinUNETR v1, BTCV config (feature_size 48, 96³, 14 classes)",
            seed=107, opset=16,
            ctor="SwinUNETR(img_size=(96, 96, 96), in_channels=1, out_channels=14, feature_size=48, use_checkpoint=False)",
            shape=(1, 1, 96, 96, 96),
            quick_ctor=("SwinUNETR(img_size=(64, 64, 64), in_channels=1, out_channels=2, feature_size=12, "
                        "depths=(1, 1, 1, 1), use_checkpoint=False)"),
            quick_shape=(1, 1, 64, 64, 64),
        ),
    }


DEFAULT_MODELS = ["unetr", "unetr_brats", "basicunet", "unet2d"]
FRAMEWORKS = ["unetrc", "pytorch", "ort", "unetrc_bf16", "unetrc_bf16_exact", "unetrc_bf16_split", "unetrc_fp16", "unetrc_int8", "ov_f32",
              "ov"]
DEFAULT_FRAMEWORKS = ["unetrc", "pytorch", "ort"]
FW_LABEL = {"unetrc": "unetrc", "pytorch": "PyTorch", "ort": "ONNX Runtime", "unetrc_bf16": "unetrc bf16",
            "unetrc_bf16_exact": "unetrc bf16 exact",
            "unetrc_bf16_split": "unetrc bf16 split", "unetrc_fp16": "unetrc fp16", "unetrc_int8": "unetrc int8", "ov_f32": "OpenVINO f32",
            "ov": "OpenVINO default"}
# unetrc --precision of the reduced-precision rows (weights of convolutions and matrix products)
UNETRC_PRECISION = {"unetrc": None, "unetrc_bf16": "bf16", "unetrc_bf16_exact": "bf16", "unetrc_bf16_split": "bf16", "unetrc_fp16": "fp16",
                    "unetrc_int8": "int8"}
# ... and the compiler's environment of a row: bf16's split form on AMX tiles (float32 data as two bf16 parts, twice
# the tile products; the same code as unetrc_bf16 on a CPU without AMX)
UNETRC_ENV = {"unetrc_bf16_split": {"UNETRC_AMX_SPLIT": "1"}}
# ... and its further options: bf16 with the operands that cost little carried near float32 (--bf16-exact both: the
# low bf16 parts multiplied too; on a CPU without AMX the same code as unetrc_bf16)
UNETRC_ARGS = {"unetrc_bf16_exact": ["--bf16-exact", "both"]}
# int8: calibration samples (--calibrate), drawn as the bench input is but from other seeds; unetrc calibrates
# with its reference interpreter (about 2.5 min per sample of the BraTS-like UNETR's 16.6 GMAC on this machine)
INT8_CALIBRATION_SAMPLES = 2
# rows whose error against PyTorch is expected above ERR_LIMIT (reported with label agreement, not flagged)
REDUCED = {"unetrc_bf16", "unetrc_bf16_exact", "unetrc_bf16_split", "unetrc_fp16", "unetrc_int8", "ov"}

# ---------------------------------------------------------------------------
# Small helpers shared by parent and children
# ---------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def proc_status_kib(key: str) -> int | None:
    """A `kB` field of /proc/self/status (VmRSS, VmHWM), in KiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def thread_env(threads: int) -> dict:
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def cpu_busy_s() -> float | None:
    """CPU seconds spent by the whole machine (all CPUs, all processes) since boot: /proc/stat minus idle/iowait."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def run_measured(argv: list, log_path: str, env: dict | None = None, timeout: float | None = None,
                 cwd: str | None = None) -> dict:
    """Run argv to completion; return exit code, wall seconds, the child's ru_maxrss and how busy
    the rest of the machine was meanwhile.

    wait4() on the pid gives the rusage of exactly that process (its own peak RSS;
    with descendants it waited for folded in, as Linux does for any reaped child).
    others_pct: CPU time used by every other process during the child's life, in % of
    wall time x CPUs (0: the child had the machine to itself)."""
    busy0 = cpu_busy_s()
    t0 = time.perf_counter()
    with open(log_path, "wb") as lf:
        p = subprocess.Popen(argv, stdout=lf, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                p.returncode = -9
                return dict(rc=-9, wall_s=time.perf_counter() - t0, maxrss_kib=ru.ru_maxrss, timeout=True)
            time.sleep(0.02)
    p.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
    wall = time.perf_counter() - t0
    busy1 = cpu_busy_s()
    others = None
    if busy0 is not None and busy1 is not None and wall > 0:
        own = ru.ru_utime + ru.ru_stime
        others = max(0.0, 100.0 * (busy1 - busy0 - own) / (wall * (os.cpu_count() or 1)))
    return dict(rc=p.returncode, wall_s=wall, maxrss_kib=ru.ru_maxrss, timeout=False, others_pct=others)


def tail(path: str, n: int = 12) -> str:
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def median(xs):
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------------------
# Children (this script re-invoked with --child ROLE --spec FILE.json)
# ---------------------------------------------------------------------------


def build_model(ctor: str):
    import contextlib
    import io
    import warnings

    from monai.networks.nets import UNETR, BasicUNet, SwinUNETR, UNet

    sys.path.insert(0, os.path.join(REPO, "models"))
    from unetr_pp import UNETR_PP  # our UNETR++ (models/unetr_pp.py)

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # BasicUNet prints
        warnings.simplefilter("ignore")  # also SwinUNETR's img_size deprecation (MONAI 1.4)
        return eval(ctor, {"UNETR": UNETR, "BasicUNet": BasicUNet, "UNet": UNet,  # noqa: S307 (own literals)
                           "SwinUNETR": SwinUNETR, "UNETR_PP": UNETR_PP})


def seed_weights(model, seed: int, shape) -> None:
    """Deterministic, non-trivial weights so that a wrong result is visible in the error column.

    Conv layers keep PyTorch's (seeded) default init.  Linear: N(0, 1/fan_in) (ViT's
    trunc_normal(0.02) would make every softmax nearly uniform).  Norm affine
    parameters: U(0.5, 1.5) / N(0, 0.2^2).  PReLU: U(0.05, 0.6).  Position embeddings
    N(0, 0.1^2).  UNETR++: layer scale gamma U(0.5, 1.5), temperatures U(0.5, 2).  BatchNorm running statistics: one train-mode pass (cumulative average)
    on a seeded random input that is not the benchmark input."""
    import math

    import torch
    import torch.nn as nn

    g = torch.Generator().manual_seed(seed)
    norms = (nn.LayerNorm, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d,
             nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d, nn.GroupNorm)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / math.sqrt(m.in_features))
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            elif isinstance(m, norms):
                w = getattr(m, "weight", None)
                if w is not None:
                    w.copy_(torch.rand(w.shape, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
            elif isinstance(m, nn.PReLU):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.55 + 0.05)
            pe = getattr(m, "position_embeddings", None)
            if isinstance(pe, torch.Tensor):
                pe.copy_(torch.randn(pe.shape, generator=g) * 0.1)
            # UNETR++: position embeddings, layer scale (1e-6 at init would hide the attention) and
            # the per-head temperatures of the paired attention
            for attr, init in (("pos_embed", lambda s: torch.randn(s, generator=g) * 0.1),
                               ("gamma", lambda s: torch.rand(s, generator=g) + 0.5),
                               ("temperature", lambda s: torch.rand(s, generator=g) * 1.5 + 0.5),
                               ("temperature2", lambda s: torch.rand(s, generator=g) * 1.5 + 0.5)):
                t = getattr(m, attr, None)
                if isinstance(t, nn.Parameter):
                    t.copy_(init(t.shape))
        bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if bns:
            for m in bns:
                m.reset_running_stats()
                m.momentum = None
            model.train()
            model(torch.randn(tuple(shape), generator=g))
            for m in bns:
                m.momentum = 0.1
    model.eval()


def child_export(spec: dict) -> dict:
    import warnings

    import numpy as np
    import torch

    torch.set_num_threads(spec["threads"])
    out = spec["dir"]
    torch.manual_seed(spec["seed"])
    model = build_model(spec["ctor"])
    seed_weights(model, spec["seed"], spec["shape"])
    x = np.random.default_rng(spec["seed"] + 7).standard_normal(tuple(spec["shape"])).astype(np.float32)
    np.save(os.path.join(out, "input.npy"), x)
    # Weights as one uncompressed .npz: the PyTorch child copies them into the model one
    # tensor at a time, so its peak RSS is not inflated by a second full copy (torch.load).
    np.savez(os.path.join(out, "state.npz"), **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    tmp = os.path.join(out, "model.onnx.tmp")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings from MONAI / einops shape logic
        torch.onnx.export(model, torch.from_numpy(x), tmp, opset_version=spec["opset"], do_constant_folding=True,
                          input_names=["input"], output_names=["output"])
    os.replace(tmp, os.path.join(out, "model.onnx"))
    return dict(params=int(sum(p.numel() for p in model.parameters())),
                onnx_bytes=os.path.getsize(os.path.join(out, "model.onnx")))


def _timed_loop(fn, warmup: int, runs: int) -> list:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def child_pytorch(spec: dict) -> dict:
    import numpy as np
    import torch

    rss_import = proc_status_kib("VmRSS")
    torch.set_num_threads(spec["threads"])
    model = build_model(spec["ctor"])
    sd = model.state_dict()
    with np.load(spec["state"]) as z, torch.no_grad():
        if set(z.files) != set(sd):
            raise SystemExit(f"state mismatch: {sorted(set(z.files) ^ set(sd))[:5]}")
        for k in z.files:  # one tensor in memory at a time
            sd[k].copy_(torch.from_numpy(z[k]))
    del sd
    model.eval()
    x = torch.from_numpy(np.load(spec["input"]))
    box = {}
    with torch.no_grad():
        def fwd():
            box["y"] = model(x)
        times = _timed_loop(fwd, spec["warmup"], spec["runs"])
    np.save(spec["output"], np.ascontiguousarray(box["y"].numpy().astype(np.float32)))
    return dict(times_ms=times, rss_after_import_kib=rss_import, vmhwm_kib=proc_status_kib("VmHWM"),
                torch_threads=torch.get_num_threads(), version=torch.__version__)


def child_ort(spec: dict) -> dict:
    import numpy as np
    import onnxruntime as ort

    rss_import = proc_status_kib("VmRSS")
    so = ort.SessionOptions()
    so.intra_op_num_threads = spec["threads"]
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(spec["onnx"], sess_options=so, providers=["CPUExecutionProvider"])
    x = np.load(spec["input"])
    feeds = {sess.get_inputs()[0].name: x}
    box = {}

    def fwd():
        box["y"] = sess.run(None, feeds)[0]
    times = _timed_loop(fwd, spec["warmup"], spec["runs"])
    np.save(spec["output"], np.ascontiguousarray(box["y"].astype(np.float32)))
    return dict(times_ms=times, rss_after_import_kib=rss_import, vmhwm_kib=proc_status_kib("VmHWM"),
                version=ort.__version__)


def child_openvino(spec: dict) -> dict:
    """OpenVINO's CPU plugin on the ONNX file: f32 (INFERENCE_PRECISION_HINT f32) or its default for this CPU
    (bf16 where the CPU has bf16 instructions); the precision it ran at is recorded."""
    import numpy as np
    import openvino as ov

    rss_import = proc_status_kib("VmRSS")
    core = ov.Core()
    cfg = {"INFERENCE_NUM_THREADS": spec["threads"], "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
    if spec["f32"]:
        cfg["INFERENCE_PRECISION_HINT"] = "f32"
    compiled = core.compile_model(spec["onnx"], "CPU", cfg)
    req = compiled.create_infer_request()
    x = np.load(spec["input"])
    box = {}

    def fwd():
        req.infer({0: x})
        box["y"] = req.get_output_tensor(0).data

    times = _timed_loop(fwd, spec["warmup"], spec["runs"])
    np.save(spec["output"], np.ascontiguousarray(np.asarray(box["y"]).astype(np.float32)))
    return dict(times_ms=times, rss_after_import_kib=rss_import, vmhwm_kib=proc_status_kib("VmHWM"),
                version=ov.__version__, precision=_ov_type_name(compiled.get_property("INFERENCE_PRECISION_HINT")))


def _ov_type_name(t) -> str:
    """'bf16', 'f32' (OpenVINO's element type names)."""
    f = getattr(t, "get_type_name", None)
    return f() if callable(f) else str(t)


def child_sgemm(spec: dict) -> dict:
    import torch

    torch.set_num_threads(spec["threads"])
    n = spec["n"]
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    c = torch.empty(n, n)
    times = _timed_loop(lambda: torch.matmul(a, b, out=c), 2, spec["reps"])
    gf = [2.0 * n ** 3 / (t * 1e-3) / 1e9 for t in times]
    return dict(n=n, times_ms=times, gflops_best=max(gf), gflops_median=statistics.median(gf))


def child_versions(spec: dict) -> dict:
    import numpy as np
    import onnx
    import onnxruntime
    import torch

    try:
        import monai
        mv = monai.__version__
    except Exception as e:  # pragma: no cover
        mv = f"unavailable ({e})"
    mkldnn = torch.backends.mkldnn.is_available()
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return dict(torch=torch.__version__, monai=mv, onnx=onnx.__version__, onnxruntime=onnxruntime.__version__,
                numpy=np.__version__, python=platform.python_version(), torch_mkldnn=mkldnn,
                torch_blas=blas.group(1) if blas else "?")


CHILDREN = {"export": child_export, "pytorch": child_pytorch, "ort": child_ort, "openvino": child_openvino,
            "sgemm": child_sgemm,
            "versions": child_versions}


def child_main(role: str, spec_path: str) -> int:
    with open(spec_path) as f:
        spec = json.load(f)
    res = CHILDREN[role](spec)
    tmp = spec["result"] + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f)
    os.replace(tmp, spec["result"])
    return 0


def run_child(role: str, spec: dict, wdir: str, tag: str, threads: int, timeout: float) -> dict:
    """Run a child role in its own process; returns its result dict plus rc/wall/maxrss (or an error)."""
    os.makedirs(wdir, exist_ok=True)
    spec = dict(spec, result=os.path.join(wdir, f"{tag}.result.json"))
    if os.path.exists(spec["result"]):
        os.remove(spec["result"])
    spec_path = os.path.join(wdir, f"{tag}.spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f, indent=1)
    log_path = os.path.join(wdir, f"{tag}.log")
    m = run_measured([sys.executable, os.path.abspath(__file__), "--child", role, "--spec", spec_path],
                     log_path, env=thread_env(threads), timeout=timeout)
    if m["rc"] != 0 or not os.path.exists(spec["result"]):
        why = "timed out" if m["timeout"] else f"exit {m['rc']}"
        return dict(m, error=f"{role} child {why}: {tail(log_path, 6)}", log=log_path)
    with open(spec["result"]) as f:
        res = json.load(f)
    res.update(m, log=log_path)
    return res


# ---------------------------------------------------------------------------
# Parent: machine description, export cache, unetrc, comparison, report
# ---------------------------------------------------------------------------


def machine_info() -> dict:
    info = {"nproc": None, "cpu": "?", "flags": [], "mem_total_gib": None}
    try:
        info["nproc"] = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip())
    except Exception:
        info["nproc"] = os.cpu_count()
    try:
        with open("/proc/cpuinfo") as f:
            txt = f.read()
        m = re.search(r"^model name\s*:\s*(.+)$", txt, re.M)
        info["cpu"] = m.group(1).strip() if m else "?"
        m = re.search(r"^flags\s*:\s*(.+)$", txt, re.M)
        flags = set(m.group(1).split()) if m else set()
        info["flags"] = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                                     "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "hypervisor")
                         if f in flags]
        info["logical_cpus"] = len(re.findall(r"^processor\s*:", txt, re.M))
        m = re.search(r"^cpu MHz\s*:\s*(.+)$", txt, re.M)
        info["mhz"] = m.group(1).strip() if m else "?"
        m = re.search(r"^cache size\s*:\s*(.+)$", txt, re.M)
        info["cache"] = m.group(1).strip() if m else "?"
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"MemTotal:\s*(\d+)", f.read())
            info["mem_total_gib"] = round(int(m.group(1)) / 2 ** 20, 1)
    except OSError:
        pass
    info["kernel"] = platform.release()
    return info


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def tool_version(argv: list) -> str:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (r.stdout or r.stderr).splitlines()[0].strip()
    except Exception as e:
        return f"unavailable ({e})"


def git_describe() -> str:
    try:
        h = subprocess.run(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                           text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return h + (" (+ uncommitted changes)" if dirty else "")
    except Exception:
        return "?"


def export_model(name: str, cfg: dict, quick: bool, work: str, versions: dict, threads: int, timeout: float) -> dict:
    ctor = cfg["quick_ctor"] if quick else cfg["ctor"]
    shape = list(cfg["quick_shape"] if quick else cfg["shape"])
    opset = cfg.get("opset", OPSET)
    key = json.dumps(dict(ctor=ctor, shape=shape, seed=cfg["seed"], opset=opset, torch=versions.get("torch"),
                          monai=versions.get("monai"), rev=EXPORT_REV), sort_keys=True)
    h = hashlib.sha256(key.encode()).hexdigest()[:10]
    d = os.path.join(work, f"{name}{'-quick' if quick else ''}-{h}")
    meta_path = os.path.join(d, "meta.json")
    title = cfg["title"] + (", tiny quick-mode variant" if quick else "")
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        log(f"{name}: cached export {os.path.relpath(d, REPO)}")
        return dict(meta, title=title)
    os.makedirs(d, exist_ok=True)
    log(f"{name}: exporting {ctor} at {tuple(shape)}")
    spec = dict(ctor=ctor, shape=shape, seed=cfg["seed"], dir=d, threads=threads, opset=opset)
    res = run_child("export", spec, d, "export", threads, timeout)
    if "error" in res:
        raise RuntimeError(f"{name}: export failed: {res['error']}")
    meta = dict(name=name, title=title, ctor=ctor, shape=shape, seed=cfg["seed"], dir=d,
                onnx=os.path.join(d, "model.onnx"), state=os.path.join(d, "state.npz"),
                input=os.path.join(d, "input.npy"), params=res["params"], onnx_bytes=res["onnx_bytes"],
                export_s=round(res["wall_s"], 1), key=json.loads(key))
    with open(meta_path + ".tmp", "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(meta_path + ".tmp", meta_path)
    return meta


def unetrc_info(unetrc: str, onnx_path: str) -> dict:
    r = subprocess.run([unetrc, "info", onnx_path], capture_output=True, text=True)
    if r.returncode != 0:
        return dict(error=(r.stderr or r.stdout).strip())
    out = {}
    for key in ("macs", "parameters", "weights_bytes", "arena_bytes", "arena_lower_bound"):
        m = re.search(rf"^{key}:\s*(\d+)", r.stdout, re.M)
        if m:
            out[key] = int(m.group(1))
    return out


def parse_bench_line(text: str) -> dict | None:
    m = re.search(r"^bench .*?:((?: \w+=\S+)+)\s*$", text, re.M)
    if not m:
        return None
    return {k: float(v) for k, v in re.findall(r"(\w+)=(\S+)", m.group(1))}


def calibration_dir(input_npy: str, mdir: str) -> str:
    """INT8_CALIBRATION_SAMPLES standard-normal samples of the bench input's shape (the bench input is drawn so too,
    from another seed: the samples do not include it) in MDIR/calibration."""
    import numpy as np

    d = os.path.join(mdir, "calibration")
    os.makedirs(d, exist_ok=True)
    shape = np.load(input_npy, mmap_mode="r").shape
    for i in range(INT8_CALIBRATION_SAMPLES):
        f = os.path.join(d, f"sample{i}.npy")
        if not os.path.exists(f):
            np.save(f, np.random.default_rng(1000 + i).standard_normal(shape).astype(np.float32))
    return d


def measure_unetrc(unetrc: str, meta: dict, mdir: str, threads: int, runs: int, timeout: float,
                   do_run_check: bool, keep: bool, precision: str | None = None, fw: str = "unetrc") -> dict:
    res: dict = {}
    sfx = f"-{fw[len('unetrc_'):]}" if fw != "unetrc" else ""
    env = dict(thread_env(threads), **UNETRC_ENV.get(fw, {}))
    prec = (["--precision", precision] if precision else []) + UNETRC_ARGS.get(fw, [])
    if precision == "int8":
        prec += ["--calibrate", calibration_dir(meta["input"], mdir)]
    keep_dir = os.path.join(mdir, "unetrc-build" + sfx)
    shutil.rmtree(keep_dir, ignore_errors=True)
    cmd = [unetrc, "bench", meta["onnx"], "--threads", str(threads), "--runs", str(runs),
           "--input", meta["input"], "--keep", keep_dir] + prec
    res["bench_cmd"] = " ".join(shlex.quote(c) for c in cmd)
    log_path = os.path.join(mdir, f"unetrc{sfx}-bench.log")
    m = run_measured(cmd, log_path, env=env, timeout=timeout)
    res["bench_wall_s"] = m["wall_s"]
    res["others_pct"] = m["others_pct"]
    line = parse_bench_line(open(log_path, errors="replace").read())
    if m["rc"] != 0 or line is None:
        res["error"] = f"unetrc bench failed (exit {m['rc']}): {tail(log_path, 4)}"
        return res
    res.update(median_ms=line["median_ms"], min_ms=line["min_ms"], arena_bytes=int(line["arena_bytes"]),
               weights_bytes=int(line["weights_bytes"]), unetrc_gflops=line["gflops"],
               unetrc_gmacs=line["gmacs"])
    res.update(code_products(keep_dir))
    run_log = os.path.join(keep_dir, "run.log")
    times = [float(t) for t in re.findall(r"^time_ms (\S+)", open(run_log).read(), re.M)] \
        if os.path.exists(run_log) else []
    if times:
        res["times_ms"] = times
    # Peak RSS and output of the very binary that was timed: re-run the kept harness
    # once (one forward) directly as our child.  Its command line is the one `unetrc
    # bench` uses: EXE WEIGHTS IN0.bin... OUT0.bin... [RUNS].
    exes = sorted(glob.glob(os.path.join(keep_dir, "*_run")))
    ins = sorted(glob.glob(os.path.join(keep_dir, "in*.bin")))
    if len(exes) == 1 and ins:
        stem = exes[0][: -len("_run")]
        out_bin = os.path.join(keep_dir, "check_out0.bin")
        argv = [exes[0], stem + ".weights"] + ins + [out_bin]
        rm = run_measured(argv, os.path.join(mdir, f"unetrc{sfx}-rss.log"), env=env, timeout=timeout)
        if rm["rc"] == 0 and os.path.exists(out_bin):
            res["peak_rss_kib"] = rm["maxrss_kib"]
            res["out_bin"] = out_bin
            res["rss_forward_s"] = rm["wall_s"]
        else:
            res["rss_error"] = f"re-running {exes[0]} failed (exit {rm['rc']})"
    else:
        res["rss_error"] = f"no harness binary found in {keep_dir}"
    if do_run_check:
        out_npy = os.path.join(mdir, f"unetrc{sfx}_run_output.npy")
        if os.path.exists(out_npy):
            os.remove(out_npy)
        rcmd = [unetrc, "run", meta["onnx"], "--input", meta["input"], "--output", out_npy] + prec
        res["run_cmd"] = " ".join(shlex.quote(c) for c in rcmd)
        rlog = os.path.join(mdir, f"unetrc{sfx}-run.log")
        rr = run_measured(rcmd, rlog, env=env, timeout=timeout)
        if rr["rc"] == 0 and os.path.exists(out_npy):
            res["run_output"] = out_npy
        else:
            res["run_error"] = f"unetrc run failed (exit {rr['rc']}): {tail(rlog, 3)}"
    return res


# The reduced-precision product instructions a built harness can hold (objdump's mnemonics; float32 FMA otherwise)
PRODUCT_KINDS = (("tdpbf16ps", "AMX bf16 tiles"), ("tdpbusd", "AMX int8 tiles"), ("vdpbf16ps", "AVX512-BF16 vdpbf16ps"),
                 ("vpdpbusd", "VNNI vpdpbusd"))


def code_products(keep_dir: str) -> dict:
    """What the timed code was built for: its provenance's Target line and the product instructions in the binary
    (the C text spells several forms under #if; a wrong native detection once timed vdpbf16ps on AMX CPUs)."""
    srcs = [f for f in glob.glob(os.path.join(keep_dir, "*.c")) if not f.endswith("harness.c")]
    exes = sorted(glob.glob(os.path.join(keep_dir, "*_run")))
    if len(srcs) != 1 or len(exes) != 1:
        return {}
    m = re.search(r"^ \* Target: (.*)$", open(srcs[0], errors="replace").read(), re.M)
    target = m.group(1) if m else None
    r = subprocess.run(["objdump", "-d", "--no-show-raw-insn", exes[0]], capture_output=True, text=True)
    kinds = [label for key, label in PRODUCT_KINDS if re.search(rf"\t{key}\b", r.stdout)]
    return dict(target=target, products=", ".join(kinds) or "float32 FMA") if r.returncode == 0 else dict(target=target)


def code_lines(rows: list) -> list:
    """One line per unetrc row: the model, the row and what its code was built for."""
    return [f"{row['name']} {FW_LABEL[fw]}: {r['products']}; target {r.get('target')}"
            for row in rows for fw, r in row["fw"].items() if fw.startswith("unetrc") and r.get("products")]


def rerun_unetrc(r: dict, mdir: str, fw: str, args) -> list | None:
    """--rounds: --runs more timed forwards of the binary `unetrc bench` built (its harness takes the number of
    timed forwards after the output path and prints time_ms per forward), or None when it failed."""
    out_bin = r.get("out_bin")
    if not out_bin:
        return None
    d = os.path.dirname(out_bin)
    exes = sorted(glob.glob(os.path.join(d, "*_run")))
    ins = sorted(glob.glob(os.path.join(d, "in*.bin")))
    if len(exes) != 1 or not ins:
        return None
    log_path = os.path.join(mdir, f"{fw}-round.log")
    argv = [exes[0], exes[0][: -len("_run")] + ".weights"] + ins + [os.path.join(d, "round_out0.bin"), str(args.runs)]
    m = run_measured(argv, log_path, env=thread_env(args.threads), timeout=args.timeout)
    times = [float(t) for t in re.findall(r"^time_ms (\S+)", open(log_path).read(), re.M)]
    return times if m["rc"] == 0 and len(times) == args.runs else None


def max_err(ref, y) -> dict:
    import numpy as np

    if y is None:
        return dict(err=None, note="no output")
    y = np.asarray(y, dtype=np.float64)
    if y.size != ref.size:
        return dict(err=float("inf"), note=f"size {y.size} != {ref.size}")
    y = y.reshape(ref.shape)
    if not np.all(np.isfinite(y)):
        return dict(err=float("inf"), note="non-finite values")
    d = np.abs(y - ref)
    scale = float(np.max(np.abs(ref))) or 1.0
    res = dict(err=float(d.max()) / scale, max_abs=float(d.max()), ref_max_abs=scale)
    if ref.ndim >= 3 and ref.shape[1] > 1:  # segmentation logits [N, C, ...]: the labels (argmax over C)
        res["labels"] = float(np.mean(np.argmax(ref, axis=1) == np.argmax(y.reshape(ref.shape), axis=1)))
    return res


def bench_model(name: str, meta: dict, args, unetrc: str, sgemm_peak: float | None) -> dict:
    import numpy as np

    mdir = os.path.join(meta["dir"], f"t{args.threads}")
    os.makedirs(mdir, exist_ok=True)
    info = unetrc_info(unetrc, meta["onnx"])
    macs = info.get("macs")
    row = dict(name=name, meta=meta, info=info, fw={})
    common = dict(threads=args.threads, runs=args.runs, warmup=args.warmup, input=meta["input"])
    children = {}  # framework -> (role, spec, tag): how to time it again (--rounds)
    if "pytorch" in args.frameworks:
        log(f"{name}: PyTorch")
        spec = dict(common, ctor=meta["ctor"], state=meta["state"], output=os.path.join(mdir, "torch_output.npy"))
        children["pytorch"] = ("pytorch", spec, "pytorch")
        row["fw"]["pytorch"] = run_child("pytorch", spec, mdir, "pytorch", args.threads, args.timeout)
    if "ort" in args.frameworks:
        log(f"{name}: ONNX Runtime")
        spec = dict(common, onnx=meta["onnx"], output=os.path.join(mdir, "ort_output.npy"))
        children["ort"] = ("ort", spec, "ort")
        row["fw"]["ort"] = run_child("ort", spec, mdir, "ort", args.threads, args.timeout)
    for fw in ("ov_f32", "ov"):
        if fw in args.frameworks:
            log(f"{name}: {FW_LABEL[fw]}")
            spec = dict(common, onnx=meta["onnx"], output=spec_out(mdir, fw), f32=fw == "ov_f32")
            children[fw] = ("openvino", spec, fw)
            row["fw"][fw] = run_child("openvino", spec, mdir, fw, args.threads, args.timeout)
    for fw, prec in UNETRC_PRECISION.items():
        if fw in args.frameworks:
            log(f"{name}: {FW_LABEL[fw]} bench (generates C, builds it, times it)")
            row["fw"][fw] = measure_unetrc(unetrc, meta, mdir, args.threads, args.runs, args.timeout,
                                           not args.no_run_check, args.keep_unetrc_build, prec, fw)
    for rnd in range(2, args.rounds + 1):
        log(f"{name}: round {rnd} of {args.rounds} (every framework again, in the same order)")
        for fw, r in row["fw"].items():
            if "error" in r or "times_ms" not in r:
                continue
            if fw in children:
                role, spec, tag = children[fw]
                again = run_child(role, dict(spec, output=os.path.join(mdir, f"{tag}_round_output.npy")), mdir,
                                  f"{tag}-round", args.threads, args.timeout)
                times = again.get("times_ms")
            else:
                times = rerun_unetrc(r, mdir, fw, args)
            if not times:
                r["round_error"] = f"round {rnd} failed"
                continue
            r["times_ms"] = r["times_ms"] + times
            r.setdefault("round_medians_ms", [median(r["times_ms"][:args.runs])]).append(median(times))
        for fw, r in row["fw"].items():  # over every round's forwards
            if r.get("round_medians_ms"):
                r["median_ms"], r["min_ms"] = median(r["times_ms"]), min(r["times_ms"])

    # Normalise: median/min, GFLOP/s, peak memory, errors vs PyTorch.
    ref = None
    pt = row["fw"].get("pytorch")
    if pt and "error" not in pt:
        ref = np.load(spec_out(mdir, "torch")).astype(np.float64)
    for fw, r in row["fw"].items():
        if "error" in r:
            continue
        if "times_ms" in r and "median_ms" not in r:
            r["median_ms"] = median(r["times_ms"])
            r["min_ms"] = min(r["times_ms"])
        if fw in ("pytorch", "ort", "ov_f32", "ov"):
            r["peak_rss_kib"] = r.get("maxrss_kib")
        if macs and r.get("median_ms"):
            r["gflops"] = 2.0 * macs / (r["median_ms"] * 1e-3) / 1e9
            if sgemm_peak:
                r["peak_frac"] = r["gflops"] / sgemm_peak
        if ref is None:
            continue
        if fw == "pytorch":
            r["check"] = dict(err=0.0, note="reference")
        elif fw in ("ort", "ov_f32", "ov"):
            r["check"] = max_err(ref, np.load(spec_out(mdir, fw)))
        elif fw in UNETRC_PRECISION:
            if r.get("out_bin"):
                r["check"] = max_err(ref, np.fromfile(r["out_bin"], dtype=np.float32))
            else:
                r["check"] = dict(err=None, note=r.get("rss_error", "no output"))
            if r.get("run_output"):
                r["run_check"] = max_err(ref, np.load(r["run_output"]))
            elif r.get("run_error"):
                r["run_check"] = dict(err=None, note=r["run_error"])
    u = row["fw"].get("unetrc", {})
    for fw in FRAMEWORKS[1:]:
        o = row["fw"].get(fw, {})
        if u.get("median_ms") and o.get("median_ms"):
            row[f"ratio_{fw}"] = u["median_ms"] / o["median_ms"]
    if not args.keep_unetrc_build:
        for fw, prec in UNETRC_PRECISION.items():
            if fw in row["fw"]:
                shutil.rmtree(os.path.join(mdir, "unetrc-build" + (f"-{prec}" if prec else "")), ignore_errors=True)
    return row


def spec_out(mdir: str, which: str) -> str:
    return os.path.join(mdir, f"{which}_output.npy")


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def fmt(v, spec: str, none: str = "n/a") -> str:
    return none if v is None else format(v, spec)


def mib(kib_or_bytes, unit: str = "kib") -> str:
    if kib_or_bytes is None:
        return "n/a"
    b = kib_or_bytes * 1024 if unit == "kib" else kib_or_bytes
    return f"{b / 2 ** 20:.0f}" if b >= 100 * 2 ** 20 else f"{b / 2 ** 20:.1f}"


def fmt_err(c: dict | None) -> str:
    if not c:
        return "n/a"
    if c.get("note") == "reference":
        return "reference"
    if c.get("err") is None:
        return "n/a"
    s = "inf" if c["err"] == float("inf") else f"{c['err']:.1e}"
    return s + (f" ({c['note']})" if c.get("note") else "")


def detail_rows(rows: list) -> list:
    out = []
    for row in rows:
        for fw in FRAMEWORKS:
            r = row["fw"].get(fw)
            if r is None:
                continue
            if "error" in r:
                out.append([row["name"], FW_LABEL[fw], "FAILED", "", "", "", "", "", "", "",
                            r["error"].splitlines()[0][:90]])
                continue
            ratio = "1" if fw == "unetrc" else fmt(row.get(f"ratio_{fw}"), ".3g")
            err = fmt_err(r.get("check"))
            if (r.get("check") or {}).get("labels") is not None and fw in REDUCED | {"ov_f32"}:
                err += f", labels {100 * r['check']['labels']:.2f} %"
            if r.get("precision"):
                err += f" [ran at {r['precision']}]"
            if fw in UNETRC_PRECISION and r.get("run_check"):
                err += f"; run: {fmt_err(r['run_check'])}"
            out.append([row["name"], FW_LABEL[fw], fmt(r.get("median_ms"), ".1f"), fmt(r.get("min_ms"), ".1f"),
                        fmt(r.get("gflops"), ".1f"),
                        fmt(None if r.get("peak_frac") is None else 100 * r["peak_frac"], ".1f"),
                        mib(r.get("peak_rss_kib")), mib(r.get("rss_after_import_kib")) if fw != "unetrc" else "-",
                        fmt(r.get("others_pct"), ".0f"), ratio, err])
    return out


DETAIL_HEAD = ["model", "framework", "median ms", "min ms", "GFLOP/s", "% sgemm peak", "peak RSS MiB",
               "import RSS MiB", "others CPU %", "unetrc ÷ this", "max err vs PyTorch"]
SUMMARY_HEAD = ["model", "input", "GMAC", "params", "unetrc ms", "PyTorch ms", "ORT ms", "unetrc/PyTorch",
                "unetrc/ORT", "arena MiB", "weights MiB"]


def summary_rows(rows: list) -> list:
    out = []
    for row in rows:
        u, p, o = (row["fw"].get(k, {}) for k in DEFAULT_FRAMEWORKS)
        macs = row["info"].get("macs")
        out.append([row["name"], "×".join(str(d) for d in row["meta"]["shape"]),
                    fmt(None if macs is None else macs / 1e9, ".3g"),
                    f"{row['meta']['params'] / 1e6:.2f}M",
                    fmt(u.get("median_ms"), ".1f"), fmt(p.get("median_ms"), ".1f"), fmt(o.get("median_ms"), ".1f"),
                    fmt(row.get("ratio_pytorch"), ".3g"), fmt(row.get("ratio_ort"), ".3g"),
                    mib(u.get("arena_bytes"), "bytes"), mib(u.get("weights_bytes"), "bytes")])
    return out


def text_table(head: list, rows: list) -> str:
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w[i]) if i < 2 else str(x).rjust(w[i]) for i, x in enumerate(r))
    return "\n".join([line(head), "  ".join("-" * x for x in w)] + [line(r) for r in rows])


def md_table(head: list, rows: list) -> str:
    al = ["---" if i < 2 else "---:" for i in range(len(head))]
    return "\n".join("| " + " | ".join(str(x) for x in r) + " |" for r in [head, al] + rows)


ERR_LIMIT = 1e-4  # the project's correctness criterion (models/README.md)


def problems(rows: list) -> list:
    out = []
    for row in rows:
        for fw, r in row["fw"].items():
            if "error" in r:
                out.append(f"{row['name']}/{FW_LABEL[fw]}: FAILED: {r['error'].splitlines()[0][:200]}")
                continue
            for key, what in (("check", "output"), ("run_check", "`unetrc run` output")):
                c = r.get(key)
                if c and c.get("err") is None and c.get("note") != "reference":
                    out.append(f"{row['name']}/{FW_LABEL[fw]}: {what} not checked ({c.get('note')})")
                elif c and c.get("err") is not None and c["err"] > ERR_LIMIT and fw not in REDUCED:
                    out.append(f"{row['name']}/{FW_LABEL[fw]}: {what} WRONG: max err {fmt_err(c)} > {ERR_LIMIT:g} "
                               "(its speed is not a valid result)")
            if fw == "unetrc" and r.get("rss_error"):
                out.append(f"{row['name']}/unetrc: no peak RSS / timed-binary check: {r['rss_error']}")
            if (r.get("others_pct") or 0) > 10:
                out.append(f"{row['name']}/{FW_LABEL[fw]}: other processes used {r['others_pct']:.0f}% of the "
                           "machine meanwhile (timings disturbed)")
    return out


def write_docs(path: str, ctx: dict, rows: list) -> None:
    a, mach, v = ctx["args"], ctx["machine"], ctx["versions"]
    sg = ctx["sgemm"]
    L = []
    L.append("# Benchmarks: unetrc vs PyTorch vs ONNX Runtime\n")
    if a.quick:
        L.append("> **QUICK MODE**: tiny versions of the models (a smoke test of the harness). These numbers say "
                 "nothing about real-size performance.\n")
    L.append(f"Generated by `bench/run_bench.py` on {ctx['date']}. Everything below comes from that single run, "
             "on one machine, with the same input tensor for the three frameworks of each model.\n")
    L.append("## Machine and software\n")
    L.append(f"- CPU: {mach['cpu']} ({mach.get('logical_cpus')} logical CPUs in /proc/cpuinfo, `nproc` = "
             f"{mach['nproc']}); cpu MHz {mach.get('mhz')}, cache size {mach.get('cache')}; "
             f"flags: {' '.join(mach['flags'])}")
    L.append(f"- Memory: {mach['mem_total_gib']} GiB; kernel {mach['kernel']}")
    L.append(f"- Load average (1/5/15 min) at start: {ctx['load_start']}, at end: {ctx['load_end']} "
             "(the machine is shared; other work running at the same time slows every framework)")
    L.append(f"- Python {v.get('python')}, PyTorch {v.get('torch')} (BLAS: {v.get('torch_blas')}, "
             f"oneDNN/MKL-DNN: {v.get('torch_mkldnn')}), MONAI {v.get('monai')}, onnx {v.get('onnx')}, "
             f"ONNX Runtime {v.get('onnxruntime')}, numpy {v.get('numpy')}")
    L.append(f"- C compiler used by unetrc: {ctx['cc']}")
    L.append(f"- unetrc: `{ctx['unetrc']}` at commit {ctx['git']}")
    L.append(f"- sgemm peak: torch.matmul {sg.get('n')}×{sg.get('n')} float32, {a.threads} threads: best "
             f"{fmt(sg.get('gflops_best'), '.1f')} GFLOP/s (median {fmt(sg.get('gflops_median'), '.1f')}); "
             "the \"% sgemm peak\" column divides by the best.\n")
    L.append("## Command\n")
    L.append("```\n" + ctx["cmdline"] + "\n```\n")
    rounds = (f" in each of {a.rounds} rounds (every framework timed once per round, in turn; median and min "
              f"over all rounds)") if a.rounds > 1 else ""
    L.append(f"Threads: {a.threads} for every framework. Timed runs: {a.runs}{rounds} (median reported), after "
             f"warm-up runs that are not timed ({a.warmup} for PyTorch/ORT, 1 inside `unetrc bench`).\n")
    L.append("## Results\n")
    L.append(md_table(SUMMARY_HEAD, summary_rows(rows)) + "\n")
    L.append("Ratios are unetrc time ÷ other time (below 1: unetrc is faster).\n")
    L.append(md_table(DETAIL_HEAD, detail_rows(rows)) + "\n")
    if code_lines(rows):
        L.append("unetrc's timed code (products, `--target-cpu` resolved):\n")
        L.extend(f"- {x}" for x in code_lines(rows))
        L.append("")
    probs = problems(rows)
    if probs:
        L.append("**Warnings** (from this run):\n")
        L.extend(f"- {p}" for p in probs)
        L.append("")
    L.append("## Models\n")
    for row in rows:
        m = row["meta"]
        L.append(f"- `{row['name']}` ({m['title']}): `{m['ctor']}`, input {tuple(m['shape'])}, "
                 f"{m['params']:,} parameters, ONNX {m['onnx_bytes'] / 2 ** 20:.1f} MiB")
    L.append("")
    L.append("## What is measured\n")
    L.append(METHOD_TEXT.format(threads=a.threads))
    if any(r["fw"].get("unetrc", {}).get("bench_cmd") for r in rows):
        L.append("unetrc commands of this run:\n")
        L.append("```")
        for r in rows:
            u = r["fw"].get("unetrc", {})
            for k in ("bench_cmd", "run_cmd"):
                if u.get(k):
                    L.append(u[k].replace(REPO + "/", ""))
        L.append("```\n")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(L))


METHOD_TEXT = """\
- Each framework runs in its own process, one after the other (never concurrently); PyTorch first (its output is
  the reference), then ONNX Runtime, then unetrc. `OMP_NUM_THREADS`, `OPENBLAS_NUM_THREADS` and `MKL_NUM_THREADS`
  are set to {threads} in every child.
- **PyTorch**: the MONAI model built from the constructor listed under Models, with the exported weights loaded
  (copied in one tensor at a time from an `.npz`), `eval()`, `torch.no_grad()`, `torch.set_num_threads({threads})`; wall time of
  `model(x)` with `time.perf_counter`.
- **ONNX Runtime**: the same `.onnx` file unetrc compiles, CPUExecutionProvider, `intra_op_num_threads={threads}`,
  `inter_op_num_threads=1`, `ORT_ENABLE_ALL`, sequential execution; wall time of `session.run`.
- **unetrc**: `unetrc bench` (generates C, builds it with its default flags, `-O3 -march=native
  -mprefer-vector-width=512 -fopenmp` per docs/cli.md, runs one warm-up forward, then the timed forwards: the
  forward call only, no I/O); the median it prints is reported. Arena and weights bytes are from the same line.
- **GFLOP/s** = 2 × MACs ÷ median time for every framework, with the MAC count of `unetrc info` (convolutions,
  transposed convolutions and matrix products only), so the column is a speed, not a count of what each framework
  actually executes. **% sgemm peak** divides it by the measured torch.matmul peak.
- **Peak RSS** is `ru_maxrss` of the process that runs the forward (from `wait4` on that child), i.e. its whole peak
  resident set: for PyTorch and ONNX Runtime that includes the Python interpreter and the libraries (a few hundred
  MiB before any model is loaded: see `rss_after_import_kib` in the JSON), for ORT also its copy of the ONNX
  model. For unetrc it is the generated program's own process: the harness that `unetrc bench` built (kept with
  `--keep`) is run once more, directly, for one forward; its RSS is the weights blob read into memory, the arena,
  the input and output and the C/OpenMP runtime. It does not include the compiler (`unetrc` itself, gcc).
- **others CPU %**: CPU time used by all *other* processes on the machine while that framework's process ran
  (from /proc/stat minus the child's own rusage), in % of wall time × CPUs. Anything well above 0 means the
  timings of that row were disturbed (with 2 threads on 2 cores, a third busy process can stall OpenMP barriers
  for whole scheduler time slices). For unetrc it covers the whole `unetrc bench` (code generation and C build
  included).
- **max err vs PyTorch** = max |y − y_torch| ÷ max |y_torch| over the whole output. For unetrc the first number is
  the output of the timed binary (that extra run), `run:` is `unetrc run` (its default build flags) on the same
  input.
"""


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS),
                    help=f"comma-separated subset of: {', '.join(model_table('conv'))} "
                         f"(default: {','.join(DEFAULT_MODELS)})")
    ap.add_argument("--frameworks", default=",".join(DEFAULT_FRAMEWORKS),
                    help=f"comma-separated subset of {','.join(FRAMEWORKS)} (default: "
                         f"{','.join(DEFAULT_FRAMEWORKS)}; PyTorch is the reference; ov_f32/ov: OpenVINO's CPU "
                         "plugin at f32 and at its default precision, from the `openvino` package; unetrc_bf16/"
                         "unetrc_fp16/unetrc_int8: unetrc --precision; unetrc_bf16_exact: bf16 --bf16-exact both; "
                         "unetrc_bf16_split: bf16 in the split form "
                         "on AMX tiles (UNETRC_AMX_SPLIT=1; elsewhere the same code as unetrc_bf16); int8 calibrates on "
                         f"{INT8_CALIBRATION_SAMPLES} random samples with unetrc's interpreter: minutes per sample)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per framework (default 5, quick 3)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="time every framework this many times, in turn (round 2 starts after the last framework "
                         "of round 1): the median and min are over all rounds' runs, so a noisy minute on a shared "
                         "machine weighs on every framework alike (default 1)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed warm-up runs for PyTorch/ORT (default 1, "
                                                          "as `unetrc bench`)")
    ap.add_argument("--threads", type=int, default=2, help="threads for every framework (default 2)")
    ap.add_argument("--quick", action="store_true", help="tiny versions of the same models (a ~1-2 minute smoke test)")
    ap.add_argument("--unetr-proj", choices=("conv", "perceptron"), default="conv",
                    help="patch embedding of the default UNETR (default conv, as MONAI)")
    ap.add_argument("--unetrc", default=None, help="unetrc binary (default: $UNETRC, else REPO/build/unetrc)")
    ap.add_argument("--work-dir", default=os.path.join(HERE, "work"), help="exports, logs, outputs (default bench/work)")
    ap.add_argument("--sgemm-n", type=int, default=None, help="sgemm size (default 4096, quick 2048)")
    ap.add_argument("--no-run-check", action="store_true",
                    help="skip the `unetrc run` output check (the timed binary's output is still checked)")
    ap.add_argument("--keep-unetrc-build", action="store_true", help="keep the generated C and binary in the work dir")
    ap.add_argument("--timeout", type=float, default=7200, help="seconds per child process (default 7200)")
    ap.add_argument("--write-docs", nargs="?", const=os.path.join(REPO, "docs", "benchmarks.md"), default=None,
                    metavar="PATH", help="also write the report (default PATH: docs/benchmarks.md)")
    ap.add_argument("--json", default=None, help="results JSON (default WORK/results[-quick].json)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--spec", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.runs is None:
        a.runs = 3 if a.quick else 5
    if a.sgemm_n is None:
        a.sgemm_n = 2048 if a.quick else 4096
    a.models = [m.strip() for m in a.models.split(",") if m.strip()]
    a.frameworks = [f.strip() for f in a.frameworks.split(",") if f.strip()]
    table = model_table(a.unetr_proj)
    bad = [m for m in a.models if m not in table] + [f for f in a.frameworks if f not in FRAMEWORKS]
    if bad:
        ap.error(f"unknown model/framework: {', '.join(bad)}")
    if a.runs < 1 or a.threads < 1 or a.warmup < 0 or a.rounds < 1:
        ap.error("--runs, --rounds and --threads must be >= 1, --warmup >= 0")
    return a


def main(argv) -> int:
    a = parse_args(argv)
    if a.child:
        return child_main(a.child, a.spec)
    unetrc = os.path.abspath(a.unetrc or os.environ.get("UNETRC") or os.path.join(REPO, "build", "unetrc"))
    if "unetrc" in a.frameworks and not os.access(unetrc, os.X_OK):
        print(f"run_bench: no unetrc binary at {unetrc}; build one (cmake -S . -B build-bench && "
              f"cmake --build build-bench) and pass --unetrc build-bench/unetrc", file=sys.stderr)
        return 2
    work = os.path.abspath(a.work_dir)
    os.makedirs(work, exist_ok=True)
    t_start = time.time()
    ctx = dict(args=a, date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               machine=machine_info(), load_start=loadavg(), unetrc=os.path.relpath(unetrc, REPO),
               git=git_describe(),
               cmdline=" ".join(shlex.quote(x) for x in [sys.executable, os.path.relpath(__file__, REPO)] + argv))
    cc = os.environ.get("CC") or "cc"
    ctx["cc"] = f"`{cc}`: {tool_version([cc, '--version'])}"
    log(f"machine: {ctx['machine']['cpu']}, nproc {ctx['machine']['nproc']}, load {ctx['load_start']}")
    v = run_child("versions", {}, os.path.join(work, "logs"), "versions", a.threads, 600)
    if "error" in v:
        print(f"run_bench: cannot import the Python stack: {v['error']}", file=sys.stderr)
        return 2
    ctx["versions"] = v
    log(f"sgemm peak: torch.matmul {a.sgemm_n}x{a.sgemm_n}, {a.threads} threads")
    sg = run_child("sgemm", dict(threads=a.threads, n=a.sgemm_n, reps=5 if a.quick else 10),
                   os.path.join(work, "logs"), f"sgemm-{a.sgemm_n}-t{a.threads}", a.threads, a.timeout)
    ctx["sgemm"] = sg if "error" not in sg else {}
    peak = sg.get("gflops_best")
    log(f"sgemm: best {fmt(peak, '.1f')} GFLOP/s")
    table = model_table(a.unetr_proj)
    rows = []
    for name in a.models:
        try:
            meta = export_model(name, table[name], a.quick, work, v, a.threads, a.timeout)
        except RuntimeError as e:
            log(str(e))
            continue
        rows.append(bench_model(name, meta, a, unetrc, peak))
    ctx["load_end"] = loadavg()

    print(f"\nunetrc vs PyTorch vs ONNX Runtime{' (QUICK: tiny models)' if a.quick else ''} — "
          f"{ctx['machine']['cpu']}, nproc={ctx['machine']['nproc']}, threads={a.threads}, runs={a.runs}, "
          f"load {ctx['load_start']} -> {ctx['load_end']}")
    print(f"sgemm peak (torch.matmul {a.sgemm_n}^2 fp32, {a.threads} threads): {fmt(peak, '.1f')} GFLOP/s\n")
    print(text_table(SUMMARY_HEAD, summary_rows(rows)))
    print("(ratios: unetrc time / other time; < 1 means unetrc is faster)\n")
    print(text_table(DETAIL_HEAD, detail_rows(rows)))
    for x in code_lines(rows):
        print("  " + x)
    print("\nerror = max|y - y_torch| / max|y_torch|; unetrc: timed binary; run: `unetrc run`. "
          "Peak RSS = ru_maxrss of the process running the forward (Python processes include the interpreter; "
          "import RSS = RSS after the imports). others CPU % = other processes' CPU use while it ran.")
    probs = problems(rows)
    if probs:
        print("\nWARNINGS:")
        for p in probs:
            print("  " + p)
    sys.stdout.flush()

    json_path = a.json or os.path.join(work, f"results{'-quick' if a.quick else ''}.json")
    dump = dict(date=ctx["date"], machine=ctx["machine"], versions=v, sgemm=ctx["sgemm"], args=vars(a),
                unetrc=unetrc, git=ctx["git"], load_start=ctx["load_start"], load_end=ctx["load_end"],
                wall_s=round(time.time() - t_start, 1), rows=rows)
    with open(json_path, "w") as f:
        json.dump(dump, f, indent=1, default=str)
    log(f"results: {json_path} (total {time.time() - t_start:.0f} s)")
    if a.write_docs:
        write_docs(a.write_docs, ctx, rows)
        log(f"wrote {a.write_docs}")
    failed = any("error" in r for row in rows for r in row["fw"].values()) or len(rows) != len(a.models)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
