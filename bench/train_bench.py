#!/usr/bin/env python3
"""Training step: unetrc vs PyTorch on the same model, batch and loss.

One training step = forward, MONAI DiceCELoss(to_onehot_y=True, softmax=True),
backward and an AdamW update (lr 1e-4, weight decay 1e-5).  PyTorch runs the
MONAI model (torch.set_num_threads(T)); unetrc runs `unetrc train` on the ONNX
export of the same weights (do_constant_folding=False) with one sample, and the
step times are read from its progress lines.  Each framework runs in its own
process; peak memory is the largest resident set of that process tree.

    /opt/venv/bin/python bench/train_bench.py [--model brats|tiny] [--steps N] [--threads T] [--unetrc PATH]
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import run_bench  # noqa: E402  (model construction and seeded weights)

MODELS = {
    "brats": ("UNETR(in_channels=4, out_channels=3, img_size=(64, 64, 64), feature_size=16, hidden_size=192, "
              "mlp_dim=768, num_heads=12, proj_type='perceptron', norm_name='instance', res_block=True, "
              "dropout_rate=0.0)", (1, 4, 64, 64, 64), 3),
    "tiny": ("UNETR(in_channels=1, out_channels=3, img_size=(32, 32, 32), feature_size=8, hidden_size=48, "
             "mlp_dim=96, num_heads=4, proj_type='conv', norm_name='instance', res_block=True, dropout_rate=0.0)",
             (1, 1, 32, 32, 32), 3),
}


def child_torch(work: str, ctor: str, shape, classes: int, steps: int, threads: int) -> None:
    import numpy as np
    import torch
    from monai.losses import DiceCELoss

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = run_bench.build_model(ctor)
    model.load_state_dict(torch.load(os.path.join(work, "state.pt")))
    model.train()
    x = torch.from_numpy(np.load(os.path.join(work, "data", "s_image.npy")))
    y = torch.from_numpy(np.load(os.path.join(work, "data", "s_label.npy")).astype(np.int64))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-5)
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        times.append((time.perf_counter() - t0) * 1e3)
        print(f"step {i + 1} loss={loss.item():.6f} ms={times[-1]:.1f}", flush=True)


def peak_rss_mib(argv, env=None, log=None):
    """Runs argv; returns (exit status, peak RSS in MiB of the largest process of its tree)."""
    with open(log, "w") if log else open(os.devnull, "w") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, ru = os.wait4(p.pid, 0)
    return os.waitstatus_to_exitcode(status), ru.ru_maxrss / 1024


def step_times(log: str) -> list:
    return [float(m.group(1)) for m in re.finditer(r"^step .*ms=([0-9.]+)$", open(log).read(), re.M)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="brats", choices=sorted(MODELS))
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--unetrc", default=os.environ.get("UNETRC", os.path.join(REPO, "build", "unetrc")))
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    ctor, shape, classes = MODELS[a.model]
    if a.child:
        child_torch(a.child[0], ctor, shape, classes, a.steps, a.threads)
        return 0
    import numpy as np
    import torch

    work = tempfile.mkdtemp(prefix="unetrc-trainbench-")
    os.makedirs(os.path.join(work, "data"))
    torch.manual_seed(0)
    model = run_bench.build_model(ctor)
    run_bench.seed_weights(model, 7, shape)
    torch.save(model.state_dict(), os.path.join(work, "state.pt"))
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    lab = np.random.default_rng(2).integers(0, classes, (shape[0], 1) + tuple(shape[2:])).astype(np.uint8)
    np.save(os.path.join(work, "data", "s_image.npy"), x)
    np.save(os.path.join(work, "data", "s_label.npy"), lab)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), torch.from_numpy(x), os.path.join(work, "model.onnx"), opset_version=17,
                          do_constant_folding=False, input_names=["input"], output_names=["output"])
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    rc_t, rss_t = peak_rss_mib([sys.executable, __file__, "--model", a.model, "--steps", str(a.steps), "--threads",
                                str(a.threads), "--child", work, "x"], env, os.path.join(work, "torch.log"))
    rc_u, rss_u = peak_rss_mib([a.unetrc, "train", os.path.join(work, "model.onnx"), "--data", os.path.join(work, "data"),
                                "--steps", str(a.steps), "--lr", "1e-4", "--weight-decay", "1e-5", "--threads",
                                str(a.threads), "--out", os.path.join(work, "unetrc")], env,
                               os.path.join(work, "unetrc.log"))
    if rc_t or rc_u:
        print(f"failed: torch {rc_t}, unetrc {rc_u}; logs in {work}")
        return 1
    tt, tu = step_times(os.path.join(work, "torch.log"))[1:], step_times(os.path.join(work, "unetrc.log"))[1:]
    mt, mu = statistics.median(tt), statistics.median(tu)
    hdr = open(os.path.join(work, "unetrc", "build", "seg.h")).read()
    size = lambda k: int(re.search(r"#define SEG_%s (\d+)" % k, hdr).group(1))
    mem_u = (size("TRAIN_ARENA_SIZE") + size("PARAMS_SIZE") + size("STATE_SIZE") + size("WEIGHTS_SIZE")) / 2**20
    print(f"model {a.model}: {ctor}")
    print(f"threads {a.threads}, steps {a.steps} (first excluded)")
    print(f"PyTorch  median step {mt:9.1f} ms   peak RSS {rss_t:8.1f} MiB (process)")
    print(f"unetrc   median step {mu:9.1f} ms   peak RSS {rss_u:8.1f} MiB (largest process: compiler or trainer); "
          f"training memory (arena+params+state+weights) {mem_u:.1f} MiB")
    print(f"ratio unetrc/PyTorch {mu / mt:.3f}")
    print(f"losses: torch {open(os.path.join(work, 'torch.log')).read().split()[2]}, "
          f"unetrc {open(os.path.join(work, 'unetrc.log')).read().split('loss=')[1].split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
