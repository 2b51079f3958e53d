#!/usr/bin/env python3
"""segment_live.py UNETRC MODELS_DIR CACHE_DIR: `unetrc segment` against MONAI's whole pipeline.

Real volumes shipped by packages, cut with nibabel to odd sizes (smaller than the models' 32^3 roi along
one axis, not a multiple of the scan interval): nilearn's MNI152 T1 and grey-matter templates, nibabel's
example4d.nii.gz (4D, two channels in the file, qform + sform) and dipy's S0_10slices.nii.gz (10 slices).
For each case `unetrc segment` writes labels, logits and probabilities; the reference is MONAI 1.3's
LoadImage + EnsureChannelFirst, ScaleIntensityRange / NormalizeIntensity(nonzero, channel_wise),
sliding_window_inference with ONNX Runtime running the same ONNX model as the predictor (flip TTA: the mean
over the flips, as docs/segment.md defines it), softmax (or sigmoid) and argmax with the label map.

2.5D cases (`--slices K --slice-axis A`, a 2D MONAI UNet over a volume): the reference is the loop a PyTorch
user writes -- per slice s along A, each channel's slices s-K/2..s+K/2 (clamped: replication) stacked as
channels, MONAI sliding_window_inference over the plane with the PyTorch module (the ONNX file's weights
loaded back into MONAI's UNet) as the predictor, the slices' logits stacked back along A.

Checks: logits and probabilities within 1e-4 of max|ref|; labels equal on >= 99.99 % of the voxels (2.5D:
equal wherever the reference's two largest logits differ by more than that tolerance); the files nibabel
reads back have the input's affine, qform and sform (codes and matrices), pixdim and units. An optional
fourth argument runs only the cases whose name starts with it. Exit 77 (skipped) when torch, MONAI, nibabel,
nilearn, onnx or onnxruntime do not import.
"""
import glob
import os
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore")
try:
    import numpy as np
    import torch
    import nibabel as nib
    import nilearn
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper
    from monai.inferers import sliding_window_inference
    from monai.networks.nets import UNet
    from monai.transforms import EnsureChannelFirst, LoadImage, NormalizeIntensity, ScaleIntensityRange

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sw"))
    from flip_tta import with_flips  # tests/sw/flip_tta.py: unetrc's flip TTA
except Exception as e:  # pragma: no cover - environment without the reference stack
    print(f"skipped: {e}")
    sys.exit(77)

torch.set_num_threads(2)
U, MODELS, CACHE = sys.argv[1], sys.argv[2], sys.argv[3]
ONLY = sys.argv[4] if len(sys.argv) > 4 else ""
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
FAILS = []
# The MONAI constructors of the 2D models of the 2.5D cases (models/export_models.py, make_unet25d.py)
CTORS = {
    "unet2d_5slice": "UNet(spatial_dims=2, in_channels=5, out_channels=3, channels=(8, 16, 32, 64), "
                     "strides=(2, 2, 2), num_res_units=2, norm='instance')",
    "unet25d_c2k3": "UNet(spatial_dims=2, in_channels=6, out_channels=3, channels=(8, 16, 32), strides=(2, 2), "
                    "num_res_units=1, norm='instance')",
}


def site_file(rel):
    for base in sys.path:
        p = os.path.join(base, rel)
        if os.path.exists(p):
            return p
    hits = glob.glob(os.path.join(os.path.dirname(os.path.dirname(nib.__file__)), rel))
    return hits[0] if hits else None


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        FAILS.append(what)


def torch_module(onnx_path, ctor):
    """The MONAI module of ctor with the weights of the ONNX file: initializers by parameter name; PReLU slopes,
    which the exporter renames, by the scope of their node (/model/model.1/submodule/submodule.0/.../A/PRelu is
    model.1.submodule.0...A.weight). Checked against ONNX Runtime on a random input."""
    net = eval(ctor, {"UNet": UNet}).eval()
    m = onnx.load(onnx_path)
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "PRelu" and n.input[1] in init:
            parts = n.name.strip("/").split("/")[:-1]
            path = [q[len(parts[k - 1]) + 1:] if k and q.startswith(parts[k - 1] + ".") else q
                    for k, q in enumerate(parts)]
            init[".".join(path) + ".weight"] = init[n.input[1]]
    sd = net.state_dict()
    missing = [k for k in sd if k not in init]
    if missing:
        raise RuntimeError(f"{onnx_path}: no weights for {missing}")
    net.load_state_dict({k: torch.from_numpy(init[k].reshape(v.shape).copy()) for k, v in sd.items()})
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    x = torch.randn(*[int(d) for d in sess.get_inputs()[0].shape], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = net(x).numpy()
    r = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    err = float(np.abs(y - r).max() / np.abs(r).max())
    check(err <= 1e-5, f"{os.path.basename(onnx_path)}: the PyTorch module with its weights within {err:.1e} of "
                       f"ONNX Runtime (<= 1e-5)")
    return net, list(sess.get_inputs()[0].shape[2:])


def slices_reference(x, model, c):
    """The 2.5D loop in PyTorch: x [C, D, H, W] -> logits [classes, D, H, W]."""
    net, roi = torch_module(model, CTORS[os.path.basename(model)[:-5]])
    k, ax = c["slices"], c.get("axis", 2)

    def f(w):
        return net(w)

    pred = with_flips(f, 2, sum(1 << a for a in c["flips"])) if c.get("flips") else f
    v = torch.movedim(x, ax + 1, 1)  # [C, N, P0, P1]: the plane's axes keep their order
    n = v.shape[1]
    outs = []
    with torch.no_grad():
        for s in range(n):
            idx = (torch.arange(k) + s - k // 2).clamp(0, n - 1)
            xs = v[:, idx].reshape(v.shape[0] * k, *v.shape[2:])  # channel c*K + j: channel c, slice s-K//2+j
            y = sliding_window_inference(xs[None], roi, 1, pred, overlap=c.get("overlap", 0.25),
                                         mode=c.get("mode", "constant"), sigma_scale=c.get("sigma", 0.125))
            outs.append(torch.as_tensor(y)[0])
    return torch.movedim(torch.stack(outs, 1), 1, ax + 1)


def reference(model, images, c):
    """MONAI's pipeline on the same files."""
    if c.get("2d"):
        # a 2D image with its channels in the 4th dimension (X,Y,1,C): MONAI's loader keeps the unit axis,
        # so the reference reads it with nibabel, channel first
        x = torch.cat([torch.from_numpy(np.moveaxis(np.asarray(nib.load(p).get_fdata(), np.float32)[:, :, 0], -1, 0))
                       for p in images])
    else:
        load, ecf = LoadImage(image_only=True), EnsureChannelFirst()
        x = torch.cat([torch.as_tensor(ecf(load(p))) for p in images]).float()
    if "scale" in c:
        a0, a1, b0, b1, clip = c["scale"]
        x = ScaleIntensityRange(a0, a1, b0, b1, clip=clip)(x)
    if c.get("normalize"):
        x = NormalizeIntensity(nonzero=True, channel_wise=True)(x)
    x = torch.as_tensor(x).float()
    if c.get("slices"):
        return post(slices_reference(x, model, c).float(), c)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    roi = sess.get_inputs()[0].shape[2:]

    def f(w):
        return torch.from_numpy(sess.run(None, {name: w.numpy().astype(np.float32)})[0])

    nd = len(roi)
    pred = with_flips(f, nd, sum(1 << a for a in c["flips"])) if c.get("flips") else f
    with torch.no_grad():
        y = sliding_window_inference(x[None], roi, 1, pred, overlap=c.get("overlap", 0.25),
                                     mode=c.get("mode", "constant"), sigma_scale=c.get("sigma", 0.125))
    return post(torch.as_tensor(y)[0].float(), c)


def post(logits, c):
    """Probabilities and labels from the logits [classes, S...]."""
    if c.get("threshold") is not None:
        probs = torch.sigmoid(logits)
        labels = (probs >= c["threshold"]).to(torch.uint8)
    else:
        probs = torch.softmax(logits, 0)
        labels = torch.argmax(logits, 0)
        if c.get("labels"):
            labels = torch.as_tensor(c["labels"])[labels]
        labels = labels.to(torch.uint8)
    return logits.numpy(), probs.numpy(), labels.numpy()


def channel_first(img, sdims=3):
    a = np.asarray(img.dataobj)
    if sdims == 2 and a.ndim >= 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    return np.moveaxis(a, -1, 0) if a.ndim == sdims + 1 else a


def same_geometry(out, src, what):
    o, s = nib.load(out), nib.load(src)
    ho, hs = o.header, s.header
    ok = np.allclose(o.affine, s.affine, atol=1e-5, rtol=0)
    ok &= int(ho["qform_code"]) == int(hs["qform_code"]) and int(ho["sform_code"]) == int(hs["sform_code"])
    # (a qform or sform whose code is 0 means nothing: its matrix is compared when the code is set)
    if int(hs["qform_code"]):
        ok &= np.allclose(ho.get_qform(), hs.get_qform(), atol=1e-5)
    if int(hs["sform_code"]):
        ok &= np.allclose(ho.get_sform(), hs.get_sform(), atol=1e-5)
    ok &= np.allclose(ho["pixdim"][1:4], hs["pixdim"][1:4]) and ho.get_xyzt_units()[0] == hs.get_xyzt_units()[0]
    ok &= o.shape[:3] == s.shape[:3]
    check(bool(ok), f"{what}: {os.path.basename(out)} has the input's affine, qform, sform, pixdim, units and grid")


def run_case(tmp, name, model, images, c):
    if not name.startswith(ONLY):
        return
    mpath = model if model.endswith(".onnx") else os.path.join(MODELS, model + ".onnx")
    npy = c.get("npy", False)  # the same scan as .npy arrays (channel first) in and out
    ext = ".npy" if npy else ".nii.gz"
    lab, log, prob = (os.path.join(tmp, f"{name}_{k}{ext}") for k in ("labels", "logits", "probs"))
    cmd = [U, "segment", mpath, "--output", lab, "--logits", log, "--probabilities", prob, "--cache", CACHE,
           "--threads", "2", "--quiet", "--cflags", "-std=c11 -O2 -fopenmp"]
    for p in images:
        if npy:
            q = os.path.join(tmp, os.path.basename(p) + ".npy")
            np.save(q, np.asarray(channel_first(nib.load(p)), dtype=np.float32))
            p = q
        cmd += ["--image", p]
    if "overlap" in c:
        ov = c["overlap"]
        cmd += ["--overlap", ",".join(map(str, ov)) if isinstance(ov, (list, tuple)) else str(ov)]
    if "mode" in c:
        cmd += ["--mode", c["mode"]]
    if "sigma" in c:
        cmd += ["--sigma-scale", str(c["sigma"])]
    if c.get("normalize"):
        cmd += ["--normalize", "nonzero"]
    if "scale" in c:
        a0, a1, b0, b1, clip = c["scale"]
        cmd += ["--scale-range", f"{a0},{a1},{b0},{b1}" + (",clip" if clip else "")]
    if c.get("labels"):
        cmd += ["--labels", ",".join(map(str, c["labels"]))]
    if c.get("flips"):
        cmd += ["--flip-tta", ",".join(map(str, c["flips"]))]
    if c.get("threshold") is not None:
        cmd += ["--sigmoid-threshold", str(c["threshold"])]
    if c.get("slices"):
        cmd += ["--slices", str(c["slices"]), "--slice-axis", str(c.get("axis", 2))]
    png = os.path.join(tmp, f"{name}.png") if c.get("png") else None
    if png:
        cmd += ["--png", png]
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    t_u = time.time() - t
    if r.returncode != 0 or r.stderr:
        check(False, f"{name}: unetrc segment exit {r.returncode}: {r.stderr.strip()}")
        return
    t = time.time()
    ref_logits, ref_probs, ref_labels = reference(mpath, images, c)
    t_m = time.time() - t
    if npy:
        got_logits, got_probs, got_labels = np.load(log), np.load(prob), np.load(lab)
    else:
        sd = 2 if c.get("2d") else 3
        got_logits = channel_first(nib.load(log), sd).astype(np.float32)
        got_probs = channel_first(nib.load(prob), sd).astype(np.float32)
        got_labels = channel_first(nib.load(lab), sd)
    if got_labels.ndim == ref_labels.ndim - 1:
        got_labels = got_labels[None] if ref_labels.shape[0] == 1 else got_labels
    for what, g, r_ in (("logits", got_logits, ref_logits), ("probabilities", got_probs, ref_probs)):
        if g.shape != r_.shape:
            check(False, f"{name}: {what} shape {g.shape}, MONAI {r_.shape}")
            continue
        err = float(np.abs(g - r_).max() / max(np.abs(r_).max(), 1e-30))
        check(err <= 1e-4, f"{name}: {what} {g.shape} within {err:.2e} of max|ref| (<= 1e-4)")
    if got_labels.shape != ref_labels.shape:
        check(False, f"{name}: labels shape {got_labels.shape}, MONAI {ref_labels.shape}")
    elif c.get("slices"):
        top2 = np.sort(ref_logits, axis=0)[-2:]
        tie = (top2[1] - top2[0]) <= 1e-4 * np.abs(ref_logits).max()
        differ = got_labels != ref_labels
        check(not (differ & ~tie).any() and got_labels.dtype == np.uint8,
              f"{name}: labels ({got_labels.dtype}) equal but at {int(differ.sum())} of {int(tie.sum())} near-ties "
              f"of {got_labels.size} voxels; label values {sorted(np.unique(got_labels).tolist())}")
    else:
        agree = float((got_labels == ref_labels).mean())
        check(agree >= 0.9999 and got_labels.dtype == np.uint8,
              f"{name}: labels ({got_labels.dtype}) agree on {100 * agree:.4f} % of {got_labels.size} voxels "
              f"(>= 99.99 %); label values {sorted(np.unique(got_labels).tolist())}")
    if png:
        with open(png, "rb") as f:
            head = f.read(24)
        w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        check(head[:8] == b"\x89PNG\r\n\x1a\n" and 256 <= max(w, h) <= 2048,
              f"{name}: --png wrote a {w}x{h} PNG (content: tests/io)")
    if not npy:
        same_geometry(lab, images[0], name)
        same_geometry(log, images[0], name)
    print(f"     {name}: unetrc segment {t_u:.2f} s, " +
          ("the PyTorch loop" if c.get("slices") else "MONAI + ONNX Runtime") + f" {t_m:.2f} s")


def main():
    mni_t1 = site_file("nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz")
    mni_gm = site_file("nilearn/datasets/data/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz")
    ex4d = site_file("nibabel/tests/data/example4d.nii.gz")
    s0 = site_file("dipy/data/files/S0_10slices.nii.gz")
    with tempfile.TemporaryDirectory(prefix="unetrc-segment-") as tmp:
        def cut(src, name, sl):
            p = os.path.join(tmp, name)
            nib.save(nib.load(src).slicer[sl], p)
            return p

        cases = []
        if mni_t1 and mni_gm:
            # 45 x 29 x 48: 29 < 32 along j; 45 and 48 not multiples of the scan intervals
            t1 = cut(mni_t1, "t1.nii.gz", (slice(40, 85), slice(60, 89), slice(50, 98)))
            gm = cut(mni_gm, "gm.nii.gz", (slice(40, 85), slice(60, 89), slice(50, 98)))
            # 2D: five adjacent slices of the T1 as the channels of a 70 x 90 image (X,Y,1,5)
            im = nib.load(mni_t1)
            sl = np.asarray(im.dataobj, np.float32)[60:130, 70:160, 90:95][:, :, None, :]
            t2d = os.path.join(tmp, "t1_2d.nii.gz")
            nib.save(nib.Nifti1Image(sl, im.affine), t2d)
            # 2.5D: 70 x 90 x 12 (planes larger than the 64^2 roi along both axes, 12 slices along k);
            # 9 x 50 x 61, two files, slices along i (planes 50 x 61 against a 40 x 48 roi)
            t1s = cut(mni_t1, "t1_slab.nii.gz", (slice(60, 130), slice(70, 160), slice(85, 97)))
            t1t = cut(mni_t1, "t1_thin.nii.gz", (slice(40, 49), slice(60, 110), slice(50, 111)))
            gmt = cut(mni_gm, "gm_thin.nii.gz", (slice(40, 49), slice(60, 110), slice(50, 111)))
            k3 = os.path.join(DATA, "unet25d_c2k3.onnx")
            cases += [
                ("t1_25d_k5_axis2", "unet2d_5slice", [t1s], {"slices": 5, "axis": 2, "mode": "gaussian",
                                                             "overlap": 0.25, "normalize": True, "png": True}),
                ("t1_gm_25d_k3_axis0", k3, [t1t, gmt], {"slices": 3, "axis": 0, "overlap": 0.5, "flips": [1],
                                                        "normalize": True, "labels": [0, 2, 4]}),
                ("t1_gm_25d_k3_axis1", k3, [t1t, gmt], {"slices": 3, "axis": 1, "mode": "gaussian", "overlap": 0.4}),
                ("t1_2d_slices", "unet2d_5slice", [t2d], {"2d": True, "mode": "gaussian", "overlap": 0.25,
                                                          "normalize": True, "png": True}),
                ("t1_constant", "basicunet3d_tiny", [t1], {"png": True}),
                ("t1_gaussian", "basicunet3d_tiny", [t1], {"mode": "gaussian", "overlap": 0.5, "normalize": True}),
                ("t1_flips", "basicunet3d_tiny", [t1],
                 {"mode": "gaussian", "overlap": [0.6, 0.25, 0.4], "sigma": 0.2, "flips": [0, 2]}),
                ("t1_npy", "basicunet3d_tiny", [t1], {"npy": True, "mode": "gaussian", "overlap": 0.4}),
                ("t1_gm_two_files", "unetr_perceptron_tiny", [t1, gm],
                 {"normalize": True, "labels": [0, 1, 2, 4], "overlap": 0.5}),
            ]
        else:
            print("note: nilearn's MNI152 templates not found")
        if ex4d:
            # 67 x 50 x 24 x 2: two channels in one file, 24 < 32 along k
            e = cut(ex4d, "ex4d.nii.gz", (slice(0, 67), slice(20, 70), slice(None), slice(None)))
            cases.append(("example4d", "unetr_perceptron_tiny", [e],
                          {"scale": (0.0, 1000.0, 0.0, 1.0, True), "mode": "gaussian", "overlap": 0.5,
                           "labels": [0, 3, 5, 7]}))
        if s0:
            # 77 x 91 x 10: 10 slices only; sigmoid multi-label output
            s = cut(s0, "s0.nii.gz", (slice(20, 97), slice(10, 101), slice(None), slice(None)))
            cases.append(("s0_sigmoid", "basicunet3d_tiny", [s],
                          {"scale": (0.0, 500.0, -1.0, 1.0, False), "threshold": 0.5, "overlap": 0.25}))
            # 2.5D along j: 12 planes of 77 x 10, smaller than the 64^2 roi along k; .npy in and out
            s12 = cut(s0, "s0_j.nii.gz", (slice(10, 87), slice(40, 52), slice(None), slice(None)))
            cases.append(("s0_25d_k5_axis1", "unet2d_5slice", [s12],
                          {"slices": 5, "axis": 1, "scale": (0.0, 500.0, -1.0, 1.0, False), "npy": True}))
        if not cases:
            print("skipped: no real volumes found")
            return 77
        for name, model, images, c in cases:
            run_case(tmp, name, model, images, c)
    print(f"segment live: {len(FAILS)} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
