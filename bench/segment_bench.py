#!/usr/bin/env python3
"""segment_bench.py: a whole BraTS-shaped scan, `unetrc segment` against MONAI's sliding window.

The case: four 240x240x155 MRI-like volumes (T1, T1ce, T2, FLAIR; synthetic but realistic: a skull-stripped
head with zero background, grey/white matter-like smooth texture, a tumour with necrotic core, enhancing rim
and oedema, contrasts per modality, noise; int16 .nii.gz with a 1 mm LPS affine), a MONAI UNETR with 4 input
channels and 3 outputs (TC/WT/ET) at a 64^3 roi (run_bench.py's `unetr_brats` with the conv patch embedding, randomly
initialised, exported to ONNX opset 17). The pipeline, the same for the three:
NormalizeIntensity(nonzero=True, channel_wise=True), sliding_window_inference(roi 64^3, sw_batch_size 1,
overlap 0.5, mode gaussian), sigmoid >= 0.5 per channel, the 3-channel uint8 mask saved as .nii.gz.

Timed, each in its own process, one after the other, 2 threads each (OMP_NUM_THREADS=2, torch.set_num_threads(2),
ORT intra_op_num_threads=2), with the peak RSS and the CPU time (user + system) of that process (wait4):
  - unetrc: `unetrc segment` (a first call on a 70^3 crop builds the cache entry, untimed; then the call on the
    whole case, timed: wall time of the whole command, reading the four files and writing the mask included);
  - MONAI + PyTorch: the MONAI model with the exported weights as the predictor;
  - MONAI + ONNX Runtime: an ORT session of the same .onnx as the predictor.
For MONAI two times: the whole pipeline (LoadImage, EnsureChannelFirst, transforms, sliding window, saving the
mask) and sliding_window_inference alone. The masks are compared with unetrc's (voxel agreement).

--case 25d: 2.5D, a MONAI 2D UNet (channels 16..256, 2 residual units per level, instance norm) over the same
four volumes slice by slice along k (155 slices of 240x240), 3 neighbouring slices of each modality as its 12
input channels (replicated at the edges), each plane through a gaussian sliding window (roi 160^2, overlap 0.25:
4 windows), argmax labels. unetrc: `unetrc segment --slices 3 --slice-axis 2`; PyTorch and ONNX Runtime: the same
loop in Python (per slice: torch.cat of each modality's neighbouring slices, sliding_window_inference over the
plane, the slices' logits stacked back). Also the GFLOP/s of each (2 x the model's MACs, from `unetrc info`, x
the predictions, over the sliding-window time) and the machine's sgemm rate (run_bench.py's sgemm child).

  python bench/segment_bench.py [--case brats|25d] [--unetrc build/unetrc] [--work bench/work/segment]
                                [--threads 2] [--json F]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CTOR = ("UNETR(in_channels=4, out_channels=3, img_size=(64, 64, 64), feature_size=16, hidden_size=192, mlp_dim=768, "
        "num_heads=12, proj_type='conv', norm_name='instance', res_block=True, dropout_rate=0.0)")
SHAPE = (240, 240, 155)
ROI = (64, 64, 64)
OVERLAP = 0.5
MODS = ("t1", "t1ce", "t2", "flair")
# --case 25d
CTOR25 = ("UNet(spatial_dims=2, in_channels=12, out_channels=3, channels=(16, 32, 64, 128, 256), "
          "strides=(2, 2, 2, 2), num_res_units=2, norm='instance')")
ROI25 = (160, 160)
OVERLAP25 = 0.25
SLICES, AXIS = 3, 2


# ---- the case ----------------------------------------------------------------------------------------

def make_case(work):
    import nibabel as nib
    import numpy as np
    from scipy import ndimage

    paths = [os.path.join(work, f"case_{m}.nii.gz") for m in MODS]
    if all(os.path.exists(p) for p in paths):
        return paths
    rng = np.random.default_rng(2021)
    i, j, k = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in SHAPE), indexing="ij")
    c = np.array([120, 125, 72], np.float32)
    r = np.sqrt(((i - c[0]) / 70) ** 2 + ((j - c[1]) / 88) ** 2 + ((k - c[2]) / 62) ** 2)
    brain = r < 1.0
    # smooth texture: low-resolution noise, upsampled and blurred (grey/white matter-like blobs)
    tex = ndimage.zoom(rng.standard_normal((30, 30, 20)).astype(np.float32), (8, 8, 7.75), order=1)[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    tex = ndimage.gaussian_filter(tex, 2.0)
    wm = tex > 0.1
    t = np.sqrt(((i - 150) / 22) ** 2 + ((j - 100) / 18) ** 2 + ((k - 85) / 16) ** 2)
    necrosis, enhancing, oedema = t < 0.45, (t >= 0.45) & (t < 0.75), (t >= 0.75) & (t < 1.5)
    # (background, grey, white, oedema, enhancing rim, necrosis) intensities per modality
    table = {"t1": (0, 600, 850, 500, 650, 350), "t1ce": (0, 620, 870, 520, 1500, 300),
             "t2": (0, 900, 650, 1400, 1100, 1600), "flair": (0, 700, 550, 1300, 900, 500)}
    paths_out = []
    aff = np.diag([-1.0, -1.0, 1.0, 1.0])
    aff[:3, 3] = [0, 239, 0]
    for m, p in zip(MODS, paths):
        bg, grey, white, oed, enh, nec = table[m]
        v = np.where(wm, white, grey).astype(np.float32) + 40 * tex
        v[oedema] = oed
        v[enhancing] = enh
        v[necrosis] = nec
        v = v * (1 + 0.05 * rng.standard_normal(SHAPE).astype(np.float32))
        v[~brain] = bg
        img = nib.Nifti1Image(np.clip(v, 0, 32767).astype(np.int16), aff)
        img.set_qform(aff, 1)
        img.set_sform(aff, 1)
        img.header.set_xyzt_units("mm")
        nib.save(img, p)
        paths_out.append(p)
    return paths_out


def export_model(work, case):
    name, ctor, shape = (("unet25d_brats160", CTOR25, (1, 4 * SLICES) + ROI25) if case == "25d"
                         else ("unetr_brats64", CTOR, (1, 4) + ROI))
    path, state = os.path.join(work, name + ".onnx"), os.path.join(work, name + ".state.npz")
    if os.path.exists(path) and os.path.exists(state):
        return path
    import warnings

    import numpy as np
    import torch
    from monai.networks.nets import UNETR, UNet  # noqa: F401 (used by eval)

    torch.manual_seed(102)
    model = eval(ctor).eval()
    np.savez(state, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    x = torch.randn(*shape)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path + ".tmp", opset_version=17, do_constant_folding=True,
                          input_names=["input"], output_names=["output"])
    os.replace(path + ".tmp", path)
    return path


# ---- the MONAI children ---------------------------------------------------------------------------------

def child(kind, spec):
    import numpy as np
    import torch
    import nibabel as nib
    from monai.inferers import sliding_window_inference
    from monai.transforms import EnsureChannelFirst, LoadImage, NormalizeIntensity

    threads = spec["threads"]
    torch.set_num_threads(threads)
    case25 = spec["case"] == "25d"
    if kind == "torch":
        from monai.networks.nets import UNETR, UNet  # noqa: F401

        model = eval(CTOR25 if case25 else CTOR).eval()
        state = np.load(spec["state"])
        model.load_state_dict({k: torch.from_numpy(state[k]) for k in state.files})

        def predictor(x):
            return model(x)
    else:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(spec["model"], so, providers=["CPUExecutionProvider"])

        def predictor(x):
            return torch.from_numpy(sess.run(None, {"input": x.numpy()})[0])

    t0 = time.perf_counter()
    load, ecf = LoadImage(image_only=True), EnsureChannelFirst()
    x = torch.cat([torch.as_tensor(ecf(load(p))) for p in spec["images"]]).float()
    x = torch.as_tensor(NormalizeIntensity(nonzero=True, channel_wise=True)(x)).float()
    t1 = time.perf_counter()
    with torch.no_grad():
        if case25:
            # per slice s along AXIS: channel c*K + j = modality c at slice s - K//2 + j (clamped)
            v = torch.movedim(x, AXIS + 1, 1)
            n, outs = v.shape[1], []
            for s in range(n):
                idx = (torch.arange(SLICES) + s - SLICES // 2).clamp(0, n - 1)
                xs = v[:, idx].reshape(v.shape[0] * SLICES, *v.shape[2:])[None]
                y = sliding_window_inference(xs, ROI25, 1, predictor, overlap=OVERLAP25, mode="gaussian")
                outs.append(torch.as_tensor(y)[0])
            y = torch.movedim(torch.stack(outs, 1), 1, AXIS + 1)[None]
        else:
            y = sliding_window_inference(x[None], ROI, 1, predictor, overlap=OVERLAP, mode="gaussian")
    t2 = time.perf_counter()
    if case25:
        mask = torch.argmax(torch.as_tensor(y)[0], 0).numpy().astype(np.uint8)
    else:
        mask = (torch.sigmoid(torch.as_tensor(y)[0]) >= 0.5).numpy().astype(np.uint8)
    ref = nib.load(spec["images"][0])
    out = nib.Nifti1Image(mask if case25 else np.moveaxis(mask, 0, -1), ref.affine, ref.header)
    out.set_data_dtype(np.uint8)
    nib.save(out, spec["output"])
    t3 = time.perf_counter()
    np.save(spec["output"] + ".npy", mask)
    return dict(pipeline_s=t3 - t0, swi_s=t2 - t1, load_s=t1 - t0)


# ---- the parent ------------------------------------------------------------------------------------------

def maxrss_wrapper(cmd, env):
    """Runs cmd under a small Python wrapper that reports the child's own ru_maxrss (wait4)."""
    code = ("import os,sys,json,time;t=time.perf_counter();pid=os.fork()\n"
            "if pid==0:\n os.execvp(sys.argv[1],sys.argv[1:])\n"
            "_,st,ru=os.wait4(pid,0);print(json.dumps(dict(rc=os.waitstatus_to_exitcode(st),"
            "wall=time.perf_counter()-t,maxrss_kib=ru.ru_maxrss,cpu=ru.ru_utime+ru.ru_stime)),file=sys.stderr)")
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code] + cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "{}"
    info = json.loads(last) if last.startswith("{") else {}
    return info, p.stdout, "\n".join(p.stderr.strip().splitlines()[:-1]), wall


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", choices=["torch", "ort"])
    ap.add_argument("--spec")
    ap.add_argument("--case", choices=["brats", "25d"], default="brats")
    ap.add_argument("--unetrc", default=os.path.join(ROOT, "build", "unetrc"))
    ap.add_argument("--work", default=os.path.join(HERE, "work", "segment"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, json.loads(a.spec))))
        return 0

    os.makedirs(a.work, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads),
               MKL_NUM_THREADS=str(a.threads))
    images = make_case(a.work)
    model = export_model(a.work, a.case)
    case25 = a.case == "25d"
    cache = os.path.join(a.work, "cache")
    load0 = os.getloadavg()
    results = {}

    # unetrc: a first call builds (or checks) the cache entry, untimed, on a 70^3 crop of the case (the entry
    # depends on the model, compiler and flags, not on the images); the call on the whole case is measured
    opts = ["--normalize", "nonzero", "--mode", "gaussian", "--threads", str(a.threads), "--cache", cache]
    opts += (["--overlap", str(OVERLAP25), "--slices", str(SLICES), "--slice-axis", str(AXIS)] if case25
             else ["--overlap", str(OVERLAP), "--sigmoid-threshold", "0.5"])
    ucmd = [a.unetrc, "segment", model] + sum((["--image", p] for p in images), []) + [
        "--output", os.path.join(a.work, f"mask_unetrc_{a.case}.nii.gz")] + opts
    import nibabel as nib

    crops = []
    for p in images:
        q = p.replace(".nii.gz", "_crop.nii.gz")
        if not os.path.exists(q):
            nib.save(nib.load(p).slicer[85:155, 85:155, 40:110], q)
        crops.append(q)
    warm = [a.unetrc, "segment", model] + sum((["--image", p] for p in crops), []) + [
        "--output", os.path.join(a.work, "warm.nii.gz")] + opts
    t = time.perf_counter()
    r = subprocess.run(warm + ["--quiet"], env=env, capture_output=True, text=True)
    if r.returncode:
        print(r.stderr)
        return 1
    first = time.perf_counter() - t
    info, _, err, _ = maxrss_wrapper(ucmd + ["-v"], env)
    results["unetrc"] = dict(wall_s=info["wall"], cpu_s=info["cpu"], maxrss_mib=info["maxrss_kib"] / 1024,
                             first_call_s=first, stderr=err)
    # the run alone (its summary line: "... N windows (P predictions) in T s ...") and the model's MACs
    import re

    m = re.search(r"\((\d+) predictions\) in ([\d.]+) s", err)
    predictions, run_s = (int(m.group(1)), float(m.group(2))) if m else (None, None)
    r = subprocess.run([a.unetrc, "info", model], capture_output=True, text=True)
    m = re.search(r"^macs: (\d+)", r.stdout, re.M)
    macs = int(m.group(1)) if m else None
    gflop = 2.0 * macs * predictions / 1e9 if macs and predictions else None
    results["unetrc"].update(run_s=run_s, predictions=predictions, model_macs=macs, gflop=gflop)
    if gflop and run_s:
        results["unetrc"]["gflops"] = gflop / run_s
    print(f"unetrc segment: {info['wall']:.1f} s (first call on a crop, building or checking the cache: {first:.1f} s), "
          f"peak RSS {info['maxrss_kib'] / 1024:.0f} MiB")

    for kind in ("ort", "torch"):
        spec = dict(threads=a.threads, images=images, model=model, state=model[:-5] + ".state.npz", case=a.case,
                    output=os.path.join(a.work, f"mask_{kind}_{a.case}.nii.gz"))
        info, out, err, _ = maxrss_wrapper([sys.executable, __file__, "--child", kind, "--spec", json.dumps(spec)], env)
        if info.get("rc") != 0:
            print(err)
            return 1
        res = json.loads(out.strip().splitlines()[-1])
        res.update(wall_s=info["wall"], cpu_s=info["cpu"], maxrss_mib=info["maxrss_kib"] / 1024)
        if gflop:
            res["gflops"] = gflop / res["swi_s"]
        results[kind] = res
        print(f"MONAI + {kind}: pipeline {res['pipeline_s']:.1f} s (sliding window {res['swi_s']:.1f} s), process "
              f"{info['wall']:.1f} s, peak RSS {res['maxrss_mib']:.0f} MiB")

    import numpy as np

    mine = np.asarray(nib.load(os.path.join(a.work, f"mask_unetrc_{a.case}.nii.gz")).dataobj)
    if not case25:
        mine = np.moveaxis(mine, -1, 0)
    for kind in ("ort", "torch"):
        ref = np.load(os.path.join(a.work, f"mask_{kind}_{a.case}.nii.gz.npy"))
        results[kind]["mask_agreement"] = float((ref == mine).mean())
        results[kind]["mask_voxels_set"] = int(ref.sum())
    results["unetrc"]["mask_voxels_set"] = int(mine.sum())
    load1 = os.getloadavg()
    u = results["unetrc"]["wall_s"]
    for kind in ("ort", "torch"):
        results[kind]["ratio_pipeline"] = u / results[kind]["pipeline_s"]
        results[kind]["ratio_swi"] = u / results[kind]["swi_s"]
        # CPU time of the whole process (user + system, all threads): less sensitive than wall time to other
        # work on a shared machine, though spinning thread pools add to it
        results[kind]["ratio_cpu"] = results["unetrc"]["cpu_s"] / results[kind]["cpu_s"]
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        head = "?"
    # the machine's sgemm rate, for the share of it each reaches
    sys.path.insert(0, HERE)
    import run_bench

    sg = run_bench.run_child("sgemm", dict(threads=a.threads, n=2048, reps=10), a.work, "sgemm", a.threads, 600)
    if "gflops_best" in sg:
        results["sgemm_gflops"] = sg["gflops_best"]
        for kind in ("unetrc", "ort", "torch"):
            if results[kind].get("gflops"):
                results[kind]["sgemm_frac"] = results[kind]["gflops"] / sg["gflops_best"]
    results["meta"] = dict(case=a.case, date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), cpu=cpu_name(),
                           nproc=os.cpu_count(), load_start=load0, load_end=load1, threads=a.threads, commit=head,
                           command=" ".join(ucmd))
    print(json.dumps(results, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
