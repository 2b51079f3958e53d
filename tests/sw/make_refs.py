#!/usr/bin/env python3
"""References for the sliding-window and pre/post-processing tests (tests/sw/test_sw.c).

    make_refs.py sw OUTDIR              toy-predictor cases vs MONAI sliding_window_inference
    make_refs.py prepost OUTDIR [--mni] MONAI transforms on a small synthetic volume, or (--mni)
                                        on nilearn's MNI152 T1 + grey-matter templates
    make_refs.py e2e OUTDIR MODEL.onnx  an ONNX model (via onnxruntime) as the predictor of
                                        sliding_window_inference over a cut of the MNI152 T1
    make_refs.py all OUTDIR MODEL.onnx  all four (one Python start: MONAI imports slowly)

Each writes a manifest, OUTDIR/{sw,prepost_small,prepost_mni,e2e}.txt, whose lines name the
.npy files (in OUTDIR) they use; test_sw runs them. Exits 77 (ctest's skip code) when torch,
MONAI (or nibabel/nilearn, onnxruntime) do not import. tests/sw/refs/ holds the output of `sw`
and `prepost` (committed, so that the default suite checks them without Python); the live
tests regenerate them in a temporary folder and also run the --mni and e2e cases.

Manifest lines:
    window NAME ND CIN COUT I0 I1 I2 R0 R1 R2 O0 O1 O2 MODE S0 S1 S2 CVAL FLIPS IN REF W P
        (2D: I2 = R2 = O2 = S2 = 0; W, P = toy conv weights and [bias; gain], "-" for the model)
    normalize NONZERO CHANNEL_WISE IN REF | scale A_MIN A_MAX B_MIN B_MAX CLIP IN REF |
    softmax IN REF | sigmoid IN REF | argmax LABELS|- IN REF | threshold T IN REF

The toy predictor (same in test_sw.c): a 3x3x3 (2D: 3x3) convolution with zero padding at
the window's border, plus a per-channel bias and a per-channel gain times a ramp over the
position inside the window, ramp = (z - y + 2x) / (rz + ry + rx) (2D: z = 0, rz = 1). The
border padding and the ramp make every output depend on where the window lies.

Flip test-time augmentation (unetrc's definition, MONAI has none): every subset of the
flipped axes, identity first, then by increasing bit mask (bit a = spatial axis a); the
window is flipped, predicted, flipped back, and the mean of the predictions is blended.
"""
import os
import sys
import warnings

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from monai.inferers import sliding_window_inference
    from monai.transforms import Activations, AsDiscrete, NormalizeIntensity, ScaleIntensityRange

    from flip_tta import with_flips  # flip TTA as unetrc defines it (see the module docstring)
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"skip: {e}")
    sys.exit(77)

torch.set_num_threads(1)
warnings.filterwarnings("ignore", "Divide by zero")  # ScaleIntensityRange with a_min == a_max, on purpose

# name, spatial dims, cin, cout, image, roi, overlap (scalar or per axis), mode, sigma_scale
# (scalar or per axis), cval, flip axes (bit mask), MONAI sw_batch_size
SW_CASES = [
    ("c3_default", 3, 2, 3, (13, 11, 9), (8, 6, 5), 0.25, "constant", 0.125, 0.0, 0, 1),
    ("c3_o0", 3, 2, 2, (13, 11, 9), (8, 6, 5), 0.0, "constant", 0.125, 0.0, 0, 1),
    ("c3_o50_gauss", 3, 2, 2, (13, 11, 9), (8, 6, 5), 0.5, "gaussian", 0.125, 0.0, 0, 4),
    ("c3_o75_gauss_s03", 3, 1, 2, (13, 11, 9), (8, 6, 5), 0.75, "gaussian", 0.3, 0.0, 0, 3),
    ("c3_per_axis", 3, 1, 2, (13, 11, 9), (8, 6, 5), (0.0, 0.5, 0.75), "gaussian", (0.125, 0.25, 0.5), 0.0, 0, 2),
    ("c3_small_d", 3, 2, 2, (5, 11, 9), (8, 6, 5), 0.5, "gaussian", 0.125, 0.5, 0, 1),
    ("c3_small_dh", 3, 1, 2, (4, 3, 12), (7, 6, 5), 0.25, "constant", 0.125, -1.0, 0, 1),
    ("c3_equal_d", 3, 1, 2, (8, 11, 5), (8, 6, 5), 0.5, "gaussian", 0.125, 0.0, 0, 1),
    ("c3_interval1", 3, 1, 2, (7, 6, 5), (4, 4, 4), 0.9, "gaussian", 0.125, 0.0, 0, 1),
    ("c3_roi1", 3, 1, 2, (4, 11, 9), (1, 6, 5), 0.25, "gaussian", 0.125, 0.0, 0, 1),
    ("c3_tta_w", 3, 2, 2, (13, 11, 9), (8, 6, 5), 0.5, "gaussian", 0.125, 0.0, 4, 1),
    ("c3_tta_all", 3, 1, 2, (5, 11, 9), (8, 6, 5), 0.25, "constant", 0.125, 0.25, 7, 1),
    ("c2_default", 2, 1, 2, (23, 17), (8, 6), 0.25, "constant", 0.125, 0.0, 0, 1),
    ("c2_small_h", 2, 2, 3, (5, 19), (8, 6), 0.6, "gaussian", 0.2, 0.25, 0, 2),
    ("c2_tta", 2, 1, 2, (23, 17), (8, 6), 0.5, "gaussian", 0.125, 0.0, 3, 1),
]


def tolist(v, n):
    return list(v) if isinstance(v, (tuple, list)) else [v] * n


def save(path, a):
    np.save(path, np.ascontiguousarray(a))


def ramp(roi):
    """(z - y + 2x) / (rz + ry + rx) over the window, float32 (2D: z = 0, rz = 1)."""
    r = list(roi) if len(roi) == 3 else [1] + list(roi)
    z, y, x = np.meshgrid(*[np.arange(n) for n in r], indexing="ij")
    v = torch.from_numpy((z - y + 2 * x).astype(np.float32)) / float(sum(r))
    return v if len(roi) == 3 else v[0]


def toy_predictor(w, bias, gain, roi):
    conv = F.conv3d if w.dim() == 5 else F.conv2d
    shape = (1, -1) + (1,) * (w.dim() - 2)
    rp = ramp(roi)

    def f(x):
        return conv(x, w, padding=1) + bias.view(shape) + gain.view(shape) * rp

    return f


def case_line(name, nd, cin, cout, image, roi, ov, mode, sig, cval, flips, files):
    pad = lambda v: list(v) + [0] * (3 - len(v))
    fields = ["window", name, nd, cin, cout] + pad(image) + pad(roi) + pad(tolist(ov, nd)) + [mode]
    fields += pad(tolist(sig, nd)) + [float(cval), flips] + files
    return " ".join(repr(float(v)) if isinstance(v, float) else str(v) for v in fields)


def make_sw(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(9)
    lines = []
    for name, nd, cin, cout, image, roi, ov, mode, sig, cval, flips, swb in SW_CASES:
        x = rng.standard_normal((cin,) + image).astype(np.float32)
        w = (rng.standard_normal((cout, cin) + (3,) * nd) / np.sqrt(cin * 3**nd)).astype(np.float32)
        p = rng.standard_normal((2, cout)).astype(np.float32)  # bias, ramp gain
        wt, pt = torch.from_numpy(w), torch.from_numpy(p)
        f = with_flips(toy_predictor(wt, pt[0], pt[1], roi), nd, flips)
        with torch.no_grad():
            ref = sliding_window_inference(torch.from_numpy(x)[None], roi, swb, f, overlap=ov, mode=mode,
                                           sigma_scale=sig, padding_mode="constant", cval=cval)[0].numpy()
        files = [f"{name}.{k}.npy" for k in ("in", "ref", "w", "p")]
        for fn, a in zip(files, (x, ref, w, p)):
            save(os.path.join(out, fn), a)
        lines.append(case_line(name, nd, cin, cout, image, roi, ov, mode, sig, cval, flips, files))
    with open(os.path.join(out, "sw.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def prepost_volume(mni):
    """[2][D][H][W] float32: intensity-like channels with zeros outside an object."""
    if mni:
        try:
            import nibabel as nib
            import nilearn
        except ImportError as e:
            print(f"skip: {e}")
            sys.exit(77)
        base = os.path.join(os.path.dirname(nilearn.__file__), "datasets", "data", "mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz")
        chans = [np.asarray(nib.load(base.format(c)).dataobj, dtype=np.float32) for c in ("t1", "gm")]
        # An odd-sized block through the middle (nibabel axis order = [D,H,W]).
        return np.stack([c[40:157, 50:183, 30:155] for c in chans])
    rng = np.random.default_rng(5)
    v = (rng.standard_normal((2, 9, 8, 7)) * 30 + 100).astype(np.float32)
    v[:, :2] = 0  # a background slab
    v[1, 5:, 3:, 2:] = 0
    return v


def make_prepost(out, mni):
    os.makedirs(out, exist_ok=True)
    tag = "mni" if mni else "small"
    vol = prepost_volume(mni)
    lines = []

    inputs = {}  # id of an input array -> its file: ops on the same input share it

    def add(op, args, x, ref):
        if id(x) not in inputs:
            inputs[id(x)] = f"{tag}{len(lines)}.in.npy"
            save(os.path.join(out, inputs[id(x)]), x)
        fref = f"{tag}{len(lines)}_{op}.ref.npy"
        save(os.path.join(out, fref), ref)
        lines.append(" ".join([op] + [str(a) for a in args] + [inputs[id(x)], fref]))

    t = lambda a: torch.from_numpy(a.copy())
    edge = vol.copy()
    if not mni:  # the edge cases MONAI handles specially, as extra channels
        edge = np.concatenate([vol, np.zeros((1,) + vol.shape[1:], np.float32),
                               np.full((1,) + vol.shape[1:], 7.0, np.float32)])
    for nonzero in (True, False):
        for cw in (True, False):
            ref = NormalizeIntensity(nonzero=nonzero, channel_wise=cw)(t(edge))
            add("normalize", [int(nonzero), int(cw)], edge, np.asarray(ref))
    for a_min, a_max, b_min, b_max, clip in ((20.0, 200.0, 0.0, 1.0, True), (-57.5, 190.25, -1.0, 2.0, False),
                                             (30.0, 30.0, 0.5, 1.0, True), (10.0, 120.0, 1.0, 0.0, True)):
        ref = ScaleIntensityRange(a_min, a_max, b_min, b_max, clip=clip)(t(vol))
        add("scale", [repr(a_min), repr(a_max), repr(b_min), repr(b_max), int(clip)], vol, np.asarray(ref))
    # Logits from the intensities, peaking for channel c at intensity 40c, rounded to
    # halves so that argmax meets ties (between c and c+1 around 40c + 20).
    logits = np.stack([np.round(-np.abs(vol[0] / 40.0 - c) * 2) / 2 for c in range(4)]).astype(np.float32)
    add("softmax", [], logits, np.asarray(Activations(softmax=True)(t(logits))))
    am = np.asarray(AsDiscrete(argmax=True)(t(logits)))[0]
    add("argmax", ["-"], logits, am.astype(np.uint8))
    brats = np.array([0, 1, 2, 4], np.uint8)
    add("argmax", ["0,1,2,4"], logits, brats[am.astype(np.int64)])
    ml = np.stack([(vol[0] - 60.0 - 30.0 * c) / 20.0 for c in range(3)]).astype(np.float32)  # multi-label logits
    sig = np.asarray(Activations(sigmoid=True)(t(ml)))
    add("sigmoid", [], ml, sig)
    add("threshold", ["0.5"], sig, np.asarray(AsDiscrete(threshold=0.5)(t(sig))).astype(np.uint8))
    with open(os.path.join(out, f"prepost_{tag}.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def make_e2e(out, model):
    try:
        import nibabel as nib
        import nilearn
        import onnxruntime as ort
    except ImportError as e:
        print(f"skip: {e}")
        sys.exit(77)
    os.makedirs(out, exist_ok=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    cin, roi = inp.shape[1], tuple(inp.shape[2:])
    cout = sess.get_outputs()[0].shape[1]

    def predictor(x):
        return torch.from_numpy(sess.run(None, {inp.name: x.numpy()})[0])

    path = os.path.join(os.path.dirname(nilearn.__file__), "datasets", "data",
                        "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz")
    t1 = np.asarray(nib.load(path).dataobj, dtype=np.float32)
    # Every 4th voxel, cut to sizes that are not multiples of the intervals,
    # smaller than the roi along H.
    vol = t1[10:190:4, 40:156:4, 0:189:4][None]
    vol = np.asarray(NormalizeIntensity(nonzero=True, channel_wise=True)(torch.from_numpy(vol.copy())))
    vol = np.repeat(vol, cin, axis=0)
    save(os.path.join(out, "e2e_in.npy"), vol)
    nd = len(roi)
    lines = []
    for name, ov, mode, sig, flips in (("e2e_gauss_o50", 0.5, "gaussian", 0.125, 0),
                                       ("e2e_const_o25", 0.25, "constant", 0.125, 0),
                                       ("e2e_tta", (0.75, 0.5, 0.25), "gaussian", 0.25, 5)):
        f = with_flips(predictor, nd, flips)
        with torch.no_grad():
            ref = sliding_window_inference(torch.from_numpy(vol)[None], roi, 1, f, overlap=ov, mode=mode,
                                           sigma_scale=sig)[0].numpy()
        save(os.path.join(out, name + ".ref.npy"), ref)
        files = ["e2e_in.npy", name + ".ref.npy", "-", "-"]
        lines.append(case_line(name, nd, cin, cout, vol.shape[1:], roi, ov, mode, sig, 0.0, flips, files))
    with open(os.path.join(out, "e2e.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    cmd, out = sys.argv[1], sys.argv[2]
    if cmd == "sw":
        make_sw(out)
    elif cmd == "prepost":
        make_prepost(out, "--mni" in sys.argv[3:])
    elif cmd == "e2e" and len(sys.argv) > 3:
        make_e2e(out, sys.argv[3])
    elif cmd == "all" and len(sys.argv) > 3:
        make_sw(out)
        make_prepost(out, False)
        make_prepost(out, True)
        make_e2e(out, sys.argv[3])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
