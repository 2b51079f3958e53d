#!/usr/bin/env python3
"""nifti_test.py IO_TOOL: the unetrc_io library (runtime/src/io/nifti.c, png.c) against nibabel.

1. Reading: real volumes shipped by packages (nilearn's MNI152 T1/GM/WM cut to odd sizes as channels,
   nibabel's example4d (4D, qform + sform), dipy's S0_10slices) and synthetic files written by nibabel
   for every datatype, big-endian, scl_slope/scl_inter (including slope 0 and NaN: no scaling),
   qform/sform codes, .nii/.nii.gz, NIfTI-2, 4D and 5D channels, 2D images: our array must equal
   nibabel's get_fdata() moved to channel first [C][i][j][k] (exactly: the same double arithmetic,
   rounded to float32), and the geometry nibabel's header and affine; and, where MONAI imports, MONAI's
   LoadImage(ensure_channel_first=True) on a few of them.
2. Writing: labels (uint8 / int16) and float32 volumes (3D or X,Y,Z,C) read back by nibabel with the
   same affine, qform/sform (codes and matrices), pixdim, units and data; .nii and .nii.gz; NIfTI-2.
3. Bad input: exact one-line messages (exit 1), nothing written, no temporary file left.
4. The PNG overview: decoded here (zlib + PNG filters), size, overlay colours exactly where the labels
   are, the legend, determinism.

Exit 77 (ctest SKIP) when numpy or nibabel cannot be imported."""
import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

try:
    import numpy as np
    import nibabel as nib
except ImportError as e:  # pragma: no cover
    print(f"skipping: {e}")
    sys.exit(77)

nib.imageglobals.logger.setLevel(40)  # nibabel's notes on the headers it repairs
TOOL = os.path.abspath(sys.argv[1])
SITE = [p for p in sys.path if p.endswith("site-packages")]
failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def find_data(rel):
    for s in SITE:
        p = os.path.join(s, rel)
        if os.path.exists(p):
            return p
    return None


def run(*args):
    p = subprocess.run([TOOL, *args], capture_output=True, text=True, cwd=W)
    return p.returncode, p.stderr


def read(files, *opts):
    rc, err = run("read", *opts, "out", *files)
    if rc != 0:
        return None, None, err
    arr = np.load(os.path.join(W, "out.npy"))
    geom = {}
    for line in open(os.path.join(W, "out.geom")):
        k, *v = line.split()
        geom[k] = [float(x) for x in v]
    return arr, geom, err


def expected(path, two_d=False):
    """nibabel's get_fdata moved to [C][i][j][k] (2D: [C][i][j]), as MONAI's LoadImage + EnsureChannelFirst."""
    a = nib.load(path).get_fdata()
    if a.ndim == 5:
        a = a[:, :, :, 0, :]
    if a.ndim == 4:
        a = np.moveaxis(a, -1, 0)
    else:
        a = a[None]
    if two_d:
        a = a[..., 0] if a.ndim == 4 else a
    return a.astype(np.float32)


def units(hdr):
    u = int(hdr["xyzt_units"])
    return [u & 7, u & 0x38]


def check_geometry(name, g, path):
    img = nib.load(path)
    h = img.header
    check(np.allclose(np.array(g["affine"]).reshape(4, 4), img.affine, rtol=0, atol=1e-6 * max(1, abs(img.affine).max())),
          f"{name}: affine {g['affine']} vs nibabel {img.affine.ravel().tolist()}")
    check(g["codes"] == [int(h["qform_code"]), int(h["sform_code"])], f"{name}: codes {g['codes']}")
    if int(h["qform_code"]) > 0:
        check(np.allclose(np.array(g["qform"]).reshape(4, 4), h.get_qform(), atol=1e-5),
              f"{name}: qform {g['qform']} vs {h.get_qform().ravel().tolist()}")
    if int(h["sform_code"]) > 0:
        check(np.array_equal(np.array(g["sform"]).reshape(4, 4), h.get_sform()), f"{name}: sform")
    zooms = [float(h["pixdim"][i]) if h["pixdim"][i] != 0 else 1.0 for i in (1, 2, 3)]
    check(np.allclose(g["pixdim"][1:], zooms[:3], rtol=1e-7), f"{name}: pixdim {g['pixdim']} vs {zooms}")
    check(g["units"] == units(h), f"{name}: units {g['units']} vs {units(h)}")
    check(g["version"] == [2.0 if isinstance(h, nib.Nifti2Header) else 1.0], f"{name}: version")
    check(g["ndim"] == [float(h["dim"][0])], f"{name}: ndim {g['ndim']} vs {h['dim'][0]}")


def check_read(name, files, exp, *opts):
    arr, g, err = read(files, *opts)
    check(arr is not None, f"{name}: read failed: {err.strip()}")
    if arr is None:
        return None
    check(arr.shape == exp.shape, f"{name}: shape {arr.shape} vs {exp.shape}")
    if arr.shape == exp.shape:
        same = np.array_equal(arr, exp, equal_nan=True)
        check(same, f"{name}: values differ (max {np.nanmax(np.abs(arr - exp)) if arr.size else 0})")
    check_geometry(name, g, files[0] if os.path.isabs(files[0]) else os.path.join(W, files[0]))
    return g


def expect_error(name, want, *args):
    rc, err = run(*args)
    check(rc == 1 and err == f"error: {want}\n", f"{name}: want rc=1 'error: {want}', got rc={rc} {err!r}")


def rotation_affine(zooms, angles, offset, flip=False):
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    r = rz @ ry @ rx
    if flip:
        r = r @ np.diag([1, 1, -1])
    a = np.eye(4)
    a[:3, :3] = r @ np.diag(zooms)
    a[:3, 3] = offset
    return a


W = tempfile.mkdtemp(prefix="unetrc-nifti-")
try:
    rng = np.random.default_rng(5)

    # ---- 1. real volumes ----------------------------------------------------------------------------
    mni = [find_data(f"nilearn/datasets/data/mni_icbm152_{k}_tal_nlin_sym_09a_converted.nii.gz") for k in ("t1", "gm", "wm")]
    ex4d = find_data("nibabel/tests/data/example4d.nii.gz")
    s0 = find_data("dipy/data/files/S0_10slices.nii.gz")
    if all(mni):
        cuts = []
        for k, p in zip(("t1", "gm", "wm"), mni):
            img = nib.load(p)
            cut = img.slicer[37:100, 51:92, 60:127]  # 63 x 41 x 67, affine moved accordingly
            for ext in (".nii", ".nii.gz"):
                nib.save(cut, os.path.join(W, f"mni_{k}{ext}"))
            cuts.append(f"mni_{k}.nii.gz")
        exp = np.concatenate([expected(os.path.join(W, c)) for c in cuts])
        check_read("mni t1", ["mni_t1.nii"], expected(os.path.join(W, "mni_t1.nii")))
        g_mni = check_read("mni t1+gm+wm as channels", cuts, exp, "--channels", "3")
        # the whole template too: 197 x 233 x 189
        check_read("mni t1 whole", [mni[0]], expected(mni[0]))
    else:
        print("note: nilearn's MNI152 templates not found; real-volume checks skipped")
    if ex4d:
        check_read("example4d (4D, big-endian? qform+sform)", [ex4d], expected(ex4d))
    if s0:
        check_read("S0_10slices", [s0], expected(s0))

    # ---- synthetic files: every datatype, scaling, codes, versions, layouts -----------------------------
    shape = (5, 6, 7)
    aff = rotation_affine([1.5, 0.8, 2.5], [0.3, -0.2, 0.5], [-20.5, 11.25, 3.0])
    dtypes = [np.uint8, np.int8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64, np.float32, np.float64]
    n = 0
    for dt in dtypes:
        if np.issubdtype(dt, np.integer):
            info = np.iinfo(dt)
            data = rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)
            data.flat[0], data.flat[1] = info.min, info.max
        else:
            data = (rng.standard_normal(shape) * 1e3).astype(dt)
            data.flat[0], data.flat[1] = np.finfo(np.float32).max / 2, -1e-30
        for cls in (nib.Nifti1Image, nib.Nifti2Image):
            for endian in ("<", ">"):
                for ext in (".nii", ".nii.gz"):
                    n += 1
                    hdr = (nib.Nifti1Header if cls is nib.Nifti1Image else nib.Nifti2Header)(endianness=endian)
                    img = cls(data, aff, header=hdr)
                    img.set_data_dtype(dt)
                    img.header.set_slope_inter(1, 0)
                    qc, sc = [(1, 0), (0, 2), (2, 4), (0, 0)][n % 4]
                    img.set_qform(aff, code=qc)
                    img.set_sform(aff, code=sc)
                    name = f"s_{np.dtype(dt).name}_{cls.__name__}_{'be' if endian == '>' else 'le'}{ext}"
                    nib.save(img, os.path.join(W, name))
                    check(nib.load(os.path.join(W, name)).get_data_dtype() == np.dtype(dt).newbyteorder(endian),
                          f"{name}: nibabel wrote another dtype")
                    check_read(name, [name], expected(os.path.join(W, name)))

    # scl_slope / scl_inter, as nibabel applies them (slope 0 or NaN: none; inf slope: none)
    base = rng.integers(-300, 300, size=shape).astype(np.int16)
    for slope, inter in [(2.5, -3.0), (0.001, 100.0), (0.0, 5.0), (np.nan, 7.0), (np.inf, 1.0), (-1.0, 0.0), (1.0, 0.5)]:
        img = nib.Nifti1Image(base, aff)
        img.header.set_data_dtype(np.int16)
        name = f"scl_{slope}_{inter}.nii"
        nib.save(img, os.path.join(W, name))
        raw = bytearray(open(os.path.join(W, name), "rb").read())
        raw[112:120] = struct.pack("<ff", slope, inter)  # scl_slope, scl_inter
        open(os.path.join(W, name), "wb").write(raw)
        check_read(name, [name], expected(os.path.join(W, name)))
    fimg = nib.Nifti1Image(rng.standard_normal(shape).astype(np.float32), aff)
    fimg.header.set_slope_inter(3.0, -2.0)
    nib.save(fimg, os.path.join(W, "scl_float.nii.gz"))
    check_read("float32 with slope", ["scl_float.nii.gz"], expected(os.path.join(W, "scl_float.nii.gz")))

    # layouts: 4D channels, 5D vector (X,Y,Z,1,C), 2D images
    d4 = rng.standard_normal(shape + (3,)).astype(np.float32)
    nib.save(nib.Nifti1Image(d4, aff), os.path.join(W, "c3.nii.gz"))
    check_read("4D: 3 channels", ["c3.nii.gz"], expected(os.path.join(W, "c3.nii.gz")))
    d5 = rng.standard_normal(shape + (1, 2)).astype(np.float32)
    nib.save(nib.Nifti1Image(d5, aff), os.path.join(W, "v2.nii"))
    check_read("5D vector: 2 channels", ["v2.nii"], expected(os.path.join(W, "v2.nii")))
    nib.save(nib.Nifti1Image(rng.standard_normal(shape).astype(np.float32), aff), os.path.join(W, "c1.nii"))
    check_read("files as channels (1 + 3 + 2)", ["c1.nii", "c3.nii.gz", "v2.nii"],
               np.concatenate([expected(os.path.join(W, f)) for f in ("c1.nii", "c3.nii.gz", "v2.nii")]),
               "--channels", "6")
    i2 = rng.integers(0, 1000, size=(8, 9)).astype(np.uint16)
    nib.save(nib.Nifti1Image(i2, np.diag([0.7, 0.9, 1, 1])), os.path.join(W, "img2d.nii"))
    nib.save(nib.Nifti1Image(i2[:, :, None], np.diag([0.7, 0.9, 1, 1])), os.path.join(W, "img2d1.nii.gz"))
    nib.save(nib.Nifti2Image(np.stack([i2, i2 + 1], -1)[:, :, None, :].astype(np.float64), np.eye(4)),
             os.path.join(W, "img2d_c2.nii"))
    check_read("2D (dim[0] = 2)", ["img2d.nii"], expected(os.path.join(W, "img2d.nii"), True), "--2d")
    check_read("2D (X,Y,1)", ["img2d1.nii.gz"], expected(os.path.join(W, "img2d1.nii.gz"), True), "--2d")
    check_read("2D (X,Y,1,2), NIfTI-2", ["img2d_c2.nii"], expected(os.path.join(W, "img2d_c2.nii"), True), "--2d")

    # NaN voxels: refused by default, kept with allow_nonfinite (where nibabel has them)
    nan = rng.standard_normal(shape).astype(np.float32)
    nan[1, 2, 3] = np.nan
    nib.save(nib.Nifti1Image(nan, aff), os.path.join(W, "nan.nii.gz"))
    check_read("NaN kept with --allow-nonfinite", ["nan.nii.gz"], expected(os.path.join(W, "nan.nii.gz")),
               "--allow-nonfinite")

    # MONAI's own pipeline, where it imports: LoadImage(ensure_channel_first=True) (NibabelReader), float32
    try:
        import warnings
        warnings.filterwarnings("ignore")
        from monai.transforms import LoadImage
    except Exception as e:  # pragma: no cover
        print(f"note: MONAI not importable ({e}); the LoadImage comparison is skipped")
    else:
        load = LoadImage(image_only=True, reader="NibabelReader", ensure_channel_first=True)
        cases = [["scl_2.5_-3.0.nii"], ["c3.nii.gz"], ["c1.nii", "s_uint16_Nifti2Image_be.nii.gz"], ["scl_float.nii.gz"]]
        cases += [[p] for p in (ex4d, s0) if p]
        if all(mni):
            cases.append(cuts)
        for files in cases:
            ref = np.asarray(load(files if len(files) > 1 else files[0]) if os.path.isabs(files[0]) else
                             load([os.path.join(W, f) for f in files] if len(files) > 1 else os.path.join(W, files[0])))
            arr, _, err = read(files)
            check(arr is not None and ref.shape == arr.shape and np.array_equal(ref.astype(np.float32), arr),
                  f"MONAI LoadImage {files}: {err or (ref.shape, None if arr is None else arr.shape)}")

    # ---- 2. writing, read back by nibabel ----------------------------------------------------------------
    def check_written(name, out, src, data, dtype, two_d=False):
        path = os.path.join(W, out)
        img = nib.load(path)
        s = nib.load(os.path.join(W, src) if not os.path.isabs(src) else src)
        sh, h = s.header, img.header
        check(np.allclose(img.affine, s.affine, rtol=0, atol=1e-6 * max(1, abs(s.affine).max())),
              f"{name}: affine {img.affine.ravel().tolist()} vs {s.affine.ravel().tolist()}")
        check([int(h["qform_code"]), int(h["sform_code"])] == [int(sh["qform_code"]), int(sh["sform_code"])],
              f"{name}: codes")
        if int(sh["qform_code"]):
            check(np.allclose(img.header.get_qform(), s.header.get_qform(), atol=1e-6), f"{name}: qform")
        if int(sh["sform_code"]):
            check(np.array_equal(img.header.get_sform(), s.header.get_sform()), f"{name}: sform")
        check(np.array_equal(h["pixdim"][1:4], sh["pixdim"][1:4]), f"{name}: pixdim {h['pixdim']} vs {sh['pixdim']}")
        if int(sh["qform_code"]):
            check(h["pixdim"][0] == (-1 if sh["pixdim"][0] < 0 else 1), f"{name}: qfac")
        check(units(h) == units(sh), f"{name}: units")
        check(img.get_data_dtype() == np.dtype(dtype), f"{name}: dtype {img.get_data_dtype()} vs {dtype}")
        check(type(h) is type(sh) or (isinstance(h, nib.Nifti2Header) == isinstance(sh, nib.Nifti2Header)),
              f"{name}: NIfTI version")
        got = np.asanyarray(img.dataobj)
        want = data
        if want.shape[0] > 1:
            want = np.moveaxis(want, 0, -1)
            if two_d:
                want = want[:, :, None, :]
        else:
            want = want[0]
            if two_d and len(s.shape) > 2:  # a 2D image keeps its rank: (X,Y,1) stays (X,Y,1)
                want = want[:, :, None]
        check(got.shape == want.shape, f"{name}: shape {got.shape} vs {want.shape}")
        if got.shape == want.shape:
            check(np.array_equal(got, want.astype(dtype)), f"{name}: data differ")

    targets = [("c1.nii", False, shape), ("img2d_c2.nii", True, (8, 9)), ("s_float32_Nifti2Image_be.nii.gz", False, shape)]
    if all(mni):
        targets.append(("mni_t1.nii.gz", False, (63, 41, 67)))
    if ex4d:
        shutil.copy(ex4d, os.path.join(W, "ex4d.nii.gz"))
        targets.append(("ex4d.nii.gz", False, (128, 96, 24)))
    for src, two_d, sp in targets:
        flag = ["--2d"] if two_d else []
        stem = src.split(".")[0]

        def written(cmd, data, npy, out, what, dtype, extra=(), tag=""):
            """`io_tool cmd` writes data (saved as npy) to out with the geometry of src; checked by nibabel."""
            np.save(os.path.join(W, npy), data)
            rc, err = run(cmd, *flag, src, npy, *extra, out)
            check(rc == 0, f"{cmd}{tag} {src}: {err}")
            if rc == 0:
                check_written(what, out, src, data, dtype, two_d)

        for ext in (".nii", ".nii.gz"):
            lab = rng.integers(0, 5, size=(1,) + sp).astype(np.float32)
            written("write-labels", lab, "lab.npy", f"w_{stem}_labels{ext}", f"labels of {src}{ext}", np.uint8)
            big = lab * 150 - 10  # -10 .. 590: int16
            written("write-labels", big, "big.npy", f"w_{stem}_big{ext}", f"int16 labels of {src}{ext}", np.int16,
                    tag=" (int16)")
            for c in (1, 3):
                val = rng.standard_normal((c,) + sp).astype(np.float32)
                written("write-f32", val, "val.npy", f"w_{stem}_f{c}{ext}", f"float32 x{c} of {src}{ext}", np.float32,
                        extra=(str(c),))
    # 2D images without qform and sform: nibabel's (base) affine uses pixdim[3] only from rank 3 on, so a 2D
    # image keeps its rank (found by fuzz_nifti: rank_change_base_affine, rank4_2d_pixdim3)
    # (and a 2D image with a qform, which uses pixdim[3] whatever the rank: rank2_qform_pixdim3)
    for name, data, p3, qc in [("nox2d.nii", i2, 5.0, 0), ("nox2d1.nii", i2[:, :, None], 2.5, 0),
                               ("nox2d1b.nii", i2[:, :, None], 1.0, 0), ("q2d.nii", i2, 2.0, 1)]:
        nib.save(nib.Nifti1Image(data, np.eye(4)), os.path.join(W, name))
        raw = bytearray(open(os.path.join(W, name), "rb").read())
        struct.pack_into("<4f", raw, 76, 1.0, 0.7, 0.9, p3)  # pixdim[0..3]
        struct.pack_into("<hh", raw, 252, qc, 0)  # qform_code, sform_code
        struct.pack_into("<6f", raw, 256, 0.1, -0.05, 0.2, -10, 5.5, 1)  # quatern_b/c/d, qoffset_x/y/z
        open(os.path.join(W, name), "wb").write(raw)
        src_aff = nib.load(os.path.join(W, name)).affine
        np.save(os.path.join(W, "l2.npy"), np.ones((1, 8, 9), np.float32))
        np.save(os.path.join(W, "f2.npy"), np.ones((2, 8, 9), np.float32))
        for cmd, npy, extra, out, shp in [("write-labels", "l2.npy", [], "nox_l.nii", (8, 9) if data.ndim == 2 else (8, 9, 1)),
                                          ("write-f32", "f2.npy", ["2"], "nox_f.nii", (8, 9, 1, 2))]:
            rc, err = run(cmd, "--2d", name, npy, *extra, out)
            check(rc == 0, f"{cmd} {name}: {err}")
            if rc == 0:
                o = nib.load(os.path.join(W, out))
                check(o.shape == shp, f"{cmd} {name}: shape {o.shape}, want {shp}")
                check(np.array_equal(o.affine, src_aff), f"{cmd} {name}: affine {o.affine.tolist()} vs {src_aff.tolist()}")
    # our own output read back by our reader: same data, same geometry
    np.save(os.path.join(W, "v3.npy"), rng.standard_normal((3,) + shape).astype(np.float32))
    rc, err = run("write-f32", "s_int16_Nifti1Image_le.nii", "v3.npy", "3", "rt.nii.gz")
    arr, g, err = read(["rt.nii.gz"])
    check(arr is not None and np.array_equal(arr, np.load(os.path.join(W, "v3.npy"))), f"round trip through our reader: {err}")
    _, g0, _ = read(["s_int16_Nifti1Image_le.nii"])
    check(g is not None and g0 is not None and g["affine"] == g0["affine"] and g["codes"] == g0["codes"],
          "round trip through our reader: geometry")
    # an existing destination is replaced
    np.save(os.path.join(W, "lab1.npy"), np.ones((1,) + shape, np.float32))
    open(os.path.join(W, "rep.nii"), "w").write("old")
    rc, err = run("write-labels", "c1.nii", "lab1.npy", "rep.nii")
    check(rc == 0 and np.all(np.asanyarray(nib.load(os.path.join(W, "rep.nii")).dataobj) == 1), "replace an existing file")

    # ---- 3. bad input ------------------------------------------------------------------------------------
    def make(name, data, affine=aff, cls=nib.Nifti1Image, **hdr):
        img = cls(data, affine)
        for k, v in hdr.items():
            img.header[k] = v
        nib.save(img, os.path.join(W, name))

    make("a.nii", np.zeros(shape, np.float32))
    make("b_dims.nii", np.zeros((5, 6, 8), np.float32))
    aff2 = aff.copy()
    aff2[1, 3] += 0.5
    make("b_aff.nii", np.zeros(shape, np.float32), aff2)
    aff3 = aff.copy()
    aff3[0, 0] += 1e-6  # within the tolerance
    make("b_close.nii", np.zeros(shape, np.float32), aff3)
    expect_error("dims differ", "b_dims.nii: spatial dimensions 5x6x8 differ from those of a.nii (5x6x7)",
                 "read", "out", "a.nii", "b_dims.nii")
    expect_error("affines differ", "b_aff.nii: affine differs from that of a.nii (by 0.5 at row 1, column 3; tolerance 0.0001)",
                 "read", "out", "a.nii", "b_aff.nii")
    check(read(["a.nii", "b_close.nii"])[0] is not None, "affines within the tolerance are accepted")
    expect_error("channel count", "a.nii: the 2 files hold 2 channels (1 + 1), 4 expected",
                 "read", "--channels", "4", "out", "a.nii", "b_close.nii")
    expect_error("channel count, one file", "c3.nii.gz: holds 3 channels, 1 expected", "read", "--channels", "1", "out", "c3.nii.gz")
    expect_error("2D for 3D", "img2d.nii: a 2D image (8x9), a 3D volume is expected", "read", "out", "img2d.nii")
    expect_error("2D for 3D (X,Y,1)", "img2d1.nii.gz: a 2D image (8x9), a 3D volume is expected", "read", "out", "img2d1.nii.gz")
    expect_error("3D for 2D", "a.nii: a 3D volume (5x6x7), a 2D image is expected", "read", "--2d", "out", "a.nii")
    expect_error("NaN", "nan.nii.gz: voxel [1,2,3] is NaN", "read", "out", "nan.nii.gz")
    inf = np.zeros(shape + (2,), np.float64)
    inf[4, 0, 6, 1] = -np.inf
    make("inf.nii", inf)
    expect_error("inf", "inf.nii: voxel [4,0,6,1] is infinite", "read", "out", "inf.nii")
    make("over.nii", np.full(shape, 1e300))
    expect_error("beyond float32", "over.nii: voxel [0,0,0] is 1e+300, beyond the float32 range", "read", "out", "over.nii")
    sc = nib.Nifti1Image(np.full(shape, 30000, np.int16), aff)
    sc.header.set_slope_inter(1e36, 0)
    nib.save(sc, os.path.join(W, "scl_over.nii"))
    expect_error("beyond float32 after scaling",
                 "scl_over.nii: voxel [0,0,0] is 3.00000005e+40 after scaling, beyond the float32 range".replace(
                     "3.00000005e+40", "%g" % (30000 * float(np.float32(1e36)))), "read", "out", "scl_over.nii")
    raw = bytearray(open(os.path.join(W, "scl_2.5_-3.0.nii"), "rb").read())
    raw[112:120] = struct.pack("<ff", 2.0, np.inf)
    open(os.path.join(W, "bad_inter.nii"), "wb").write(raw)
    expect_error("slope with infinite intercept", "bad_inter.nii: scl_slope is 2 but scl_inter is inf (not finite)",
                 "read", "out", "bad_inter.nii")
    expect_error("missing file", "nope.nii.gz: cannot open file: No such file or directory", "read", "out", "nope.nii.gz")
    expect_error("not a NIfTI name", "a.npy: not a NIfTI file name (.nii or .nii.gz expected)", "read", "out", "a.npy")
    os.mkdir(os.path.join(W, "dir.nii"))
    expect_error("a folder", "dir.nii: not a regular file", "read", "out", "dir.nii")
    gzbytes = open(os.path.join(W, "c3.nii.gz"), "rb").read()
    open(os.path.join(W, "cut.nii.gz"), "wb").write(gzbytes[: len(gzbytes) // 2])
    expect_error("truncated .nii.gz", "cut.nii.gz: truncated gzip data (unexpected end of file)", "read", "out", "cut.nii.gz")
    open(os.path.join(W, "cut8.nii.gz"), "wb").write(gzbytes[:-8])  # all data, no CRC/length trailer
    expect_error("truncated .nii.gz (trailer only)", "cut8.nii.gz: truncated gzip data (unexpected end of file)",
                 "read", "out", "cut8.nii.gz")
    crc = bytearray(gzbytes)
    crc[-8] ^= 0xFF
    open(os.path.join(W, "crc.nii.gz"), "wb").write(bytes(crc))
    expect_error("bad gzip CRC", "crc.nii.gz: corrupt gzip data (incorrect data check)", "read", "out", "crc.nii.gz")
    plain = open(os.path.join(W, "a.nii"), "rb").read()
    open(os.path.join(W, "cut.nii"), "wb").write(plain[:-10])
    expect_error("truncated .nii",
                 f"cut.nii: truncated: the image needs {5 * 6 * 7 * 4} bytes of data from byte 352, the file ends at byte {len(plain) - 10}",
                 "read", "out", "cut.nii")
    open(os.path.join(W, "hdronly.nii"), "wb").write(plain[:300])
    expect_error("short file", "hdronly.nii: not a NIfTI file (300 bytes, shorter than a NIfTI-1 header)", "read", "out", "hdronly.nii")
    open(os.path.join(W, "empty.nii"), "wb").close()
    expect_error("empty file", "empty.nii: not a NIfTI file (0 bytes, shorter than a NIfTI-1 header)", "read", "out", "empty.nii")
    open(os.path.join(W, "random.nii"), "wb").write(rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    expect_error("random bytes", "random.nii: not a NIfTI-1 or NIfTI-2 file (bad sizeof_hdr or magic)", "read", "out", "random.nii")
    open(os.path.join(W, "random.nii.gz"), "wb").write(rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    expect_error("random bytes .gz", "random.nii.gz: not gzip-compressed, although named .nii.gz", "read", "out", "random.nii.gz")
    open(os.path.join(W, "gz_random.nii.gz"), "wb").write(gzip.compress(rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()))
    expect_error("random bytes gzipped", "gz_random.nii.gz: not a NIfTI-1 or NIfTI-2 file (bad sizeof_hdr or magic)",
                 "read", "out", "gz_random.nii.gz")
    shutil.copy(os.path.join(W, "c3.nii.gz"), os.path.join(W, "gz_named.nii"))
    expect_error("gzip named .nii", "gz_named.nii: gzip-compressed data in a file named .nii (name it .nii.gz)",
                 "read", "out", "gz_named.nii")
    nib.save(nib.Nifti1Pair(np.zeros(shape, np.float32), aff), os.path.join(W, "pair.hdr"))
    shutil.copy(os.path.join(W, "pair.hdr"), os.path.join(W, "pair.nii"))
    expect_error("two-file header", "pair.nii: the header of a two-file NIfTI pair (.hdr/.img), not a single-file .nii (not supported)",
                 "read", "out", "pair.nii")
    nib.save(nib.AnalyzeImage(np.zeros(shape, np.float32), aff), os.path.join(W, "analyze.hdr"))
    shutil.copy(os.path.join(W, "analyze.hdr"), os.path.join(W, "analyze.nii"))
    expect_error("ANALYZE", "analyze.nii: an ANALYZE 7.5 header, not NIfTI (not supported)", "read", "out", "analyze.nii")
    make("complex.nii", np.zeros(shape, np.complex64))
    expect_error("complex64", "complex.nii: datatype COMPLEX64 (32) is not supported (uint8, int8, int16, uint16, int32, uint32, "
                 "int64, uint64, float32, float64)", "read", "out", "complex.nii")
    rgb = np.zeros(shape, [("R", "u1"), ("G", "u1"), ("B", "u1")])
    make("rgb.nii", rgb)
    expect_error("RGB24", "rgb.nii: datatype RGB24 (128) is not supported (uint8, int8, int16, uint16, int32, uint32, "
                 "int64, uint64, float32, float64)", "read", "out", "rgb.nii")

    def patch(src, name, offset, fmt, *values):
        raw = bytearray(open(os.path.join(W, src), "rb").read())
        struct.pack_into(fmt, raw, offset, *values)
        open(os.path.join(W, name), "wb").write(raw)

    patch("a.nii", "dt999.nii", 70, "<h", 999)
    expect_error("unknown datatype", "dt999.nii: datatype 999 is not a NIfTI datatype", "read", "out", "dt999.nii")
    patch("a.nii", "dim0.nii", 40, "<h", 9)
    expect_error("dim[0] 9", "dim0.nii: dim[0] is 9 (must be 1 to 7)", "read", "out", "dim0.nii")
    patch("a.nii", "negdim.nii", 44, "<h", -3)
    expect_error("negative dim", "negdim.nii: dim[2] is -3 (dimensions must be at least 1)", "read", "out", "negdim.nii")
    patch("a.nii", "zerodim.nii", 46, "<h", 0)
    expect_error("zero dim", "zerodim.nii: dim[3] is 0 (dimensions must be at least 1)", "read", "out", "zerodim.nii")
    patch("a.nii", "dim1.nii", 40, "<h", 1)
    expect_error("1D", "dim1.nii: a 1D image (5 voxels), not supported", "read", "out", "dim1.nii")
    patch("a.nii", "d5.nii", 40, "<8h", 5, 5, 6, 7, 2, 2, 1, 1)
    expect_error("5D with dim[4] > 1", "d5.nii: a 5D image of 5x6x7x2x2: channels go in the 4th dimension (X,Y,Z,C), "
                 "or in the 5th with dim[4] = 1", "read", "out", "d5.nii")
    patch("a.nii", "voxnan.nii", 108, "<f", np.nan)
    expect_error("vox_offset NaN", "voxnan.nii: vox_offset nan is not a usable data offset", "read", "out", "voxnan.nii")
    # header problems nibabel repairs on load (check_fix), repaired the same way: codes outside 0..5 -> 0,
    # pixdim[1..3] 0 -> 1 and negative -> absolute value, qfac other than +-1 -> 1
    make("q.nii", rng.standard_normal(shape).astype(np.float32), aff)
    img = nib.load(os.path.join(W, "q.nii"))
    img.set_sform(None, code=0)
    img.set_qform(aff, code=1)
    nib.save(img, os.path.join(W, "q.nii"))
    for name, off, fmt, vals in [("qneg.nii", 252, "<h", (-1,)), ("q7.nii", 252, "<h", (7,)),
                                 ("s9.nii", 254, "<h", (9,)), ("pix0.nii", 80, "<f", (0.0,)),
                                 ("pixneg.nii", 80, "<3f", (-1.5, 0.8, -2.5)), ("qfac.nii", 76, "<f", (-0.5,)),
                                 ("qfac0.nii", 76, "<f", (0.0,))]:
        patch("q.nii", name, off, fmt, *vals)
        check_read(f"repaired like nibabel: {name}", [name], expected(os.path.join(W, name)))
    patch("q.nii", "quat.nii", 256, "<3f", 0.9, 0.5, 0.3)
    expect_error("quaternion norm", "quat.nii: the qform quaternion (quatern_b/c/d) has a norm above 1", "read", "out", "quat.nii")
    patch("a.nii", "vox0.nii", 108, "<f", 0.0)
    expect_error("vox_offset 0", "vox0.nii: vox_offset 0 is below 352, where the data of a .nii file starts at the earliest",
                 "read", "out", "vox0.nii")
    patch("a.nii", "vox348.nii", 108, "<f", 348.0)
    expect_error("vox_offset 348", "vox348.nii: vox_offset 348 is below 352, where the data of a .nii file starts at the earliest",
                 "read", "out", "vox348.nii")
    patch("a.nii", "vox_far.nii", 108, "<f", 1e9)
    expect_error("vox_offset beyond the file",
                 "vox_far.nii: truncated: the image needs 840 bytes of data from byte 1000000000, the file ends at byte 1192",
                 "read", "out", "vox_far.nii")
    patch("a.nii", "vox_far_gz.nii", 108, "<f", 1e9)
    open(os.path.join(W, "vox_far.nii.gz"), "wb").write(gzip.compress(open(os.path.join(W, "vox_far_gz.nii"), "rb").read()))
    os.remove(os.path.join(W, "vox_far_gz.nii"))
    sz = os.path.getsize(os.path.join(W, "vox_far.nii.gz"))
    expect_error("vox_offset beyond what the gzip file can hold",
                 f"vox_far.nii.gz: truncated: the image needs 840 bytes of data from byte 1000000000, more than a gzip file of {sz} "
                 "bytes can hold", "read", "out", "vox_far.nii.gz")
    patch("a.nii", "vox_gz.nii", 108, "<f", 2000.0)
    open(os.path.join(W, "vox_gz.nii.gz"), "wb").write(gzip.compress(open(os.path.join(W, "vox_gz.nii"), "rb").read()))
    expect_error("vox_offset beyond the end of the gzip stream",
                 "vox_gz.nii.gz: truncated: the file ends at byte 1192, before the image data", "read", "out", "vox_gz.nii.gz")
    patch("a.nii", "srownan.nii", 280, "<f", np.inf)
    expect_error("sform not finite", "srownan.nii: the sform (srow_x/y/z) holds a value that is not finite", "read", "out", "srownan.nii")
    patch("a.nii", "big.nii", 40, "<8h", 4, 32767, 32767, 32767, 32767, 1, 1, 1)
    expect_error("size cap", "big.nii: image of 32767x32767x32767x32767 float32 voxels is above the limit of 4294967296 bytes",
                 "read", "out", "big.nii")
    expect_error("size cap (--max-bytes)", "a.nii: file is 1192 bytes, above the limit of 1000 bytes",
                 "read", "--max-bytes", "1000", "out", "a.nii")
    patch("a.nii", "vox2000.nii", 108, "<f", 2000.0)
    expect_error("data beyond the cap", "vox2000.nii: image data ends at byte 2840, above the limit of 2500 bytes",
                 "read", "--max-bytes", "2500", "out", "vox2000.nii")
    expect_error("float volume beyond the cap", "a.nii: a float32 volume of 2 channels is above the limit of 1500 bytes",
                 "read", "--max-bytes", "1500", "out", "a.nii", "b_close.nii")
    open(os.path.join(W, "tail.nii.gz"), "wb").write(gzip.compress(plain + bytes(2000)))
    expect_error("gzip stream beyond the cap", "tail.nii.gz: decompresses to more than the limit of 2500 bytes",
                 "read", "--max-bytes", "2500", "out", "tail.nii.gz")
    check(read(["tail.nii.gz"])[0] is not None, "trailing bytes after the data within the cap are accepted")
    patch("a.nii", "pixnan.nii", 84, "<f", np.nan)
    expect_error("pixdim NaN", "pixnan.nii: pixdim holds a value that is not finite", "read", "out", "pixnan.nii")
    patch("q.nii", "qnan.nii", 268, "<f", np.inf)
    expect_error("qform not finite", "qnan.nii: the qform (quatern_b/c/d, qoffset_x/y/z) holds a value that is not finite",
                 "read", "out", "qnan.nii")
    make("n2.nii", np.zeros(shape, np.float32), cls=nib.Nifti2Image)
    patch("n2.nii", "n2_overflow.nii", 16, "<8q", 4, 1 << 40, 1 << 40, 1 << 40, 1, 1, 1, 1)
    expect_error("voxel count overflows", "n2_overflow.nii: dimensions 1099511627776x1099511627776x1099511627776x1: "
                 "the voxel count overflows", "read", "out", "n2_overflow.nii")
    patch("n2.nii", "n2_eol.nii", 8, "<4s", b"abcd")
    expect_error("NIfTI-2 magic", "n2_eol.nii: corrupt NIfTI-2 magic (bytes 4-7 are not \\r\\n\\032\\n)", "read", "out", "n2_eol.nii")
    open(os.path.join(W, "n2_short.nii"), "wb").write(open(os.path.join(W, "n2.nii"), "rb").read()[:400])
    expect_error("NIfTI-2 header cut", "n2_short.nii: truncated NIfTI-2 header (400 of 540 bytes)", "read", "out", "n2_short.nii")

    # writing: missing folder, a folder in the way, a bad name: nothing written, no temporary file
    np.save(os.path.join(W, "huge.npy"), np.full((1,) + shape, 70000, np.float32))
    before = sorted(os.listdir(W))
    expect_error("missing output folder", "nodir/x.nii.gz: cannot create output file: No such file or directory",
                 "write-labels", "c1.nii", "lab1.npy", "nodir/x.nii.gz")
    os.mkdir(os.path.join(W, "isdir.nii"))
    expect_error("output is a folder", "isdir.nii: cannot rename output file into place: Is a directory",
                 "write-labels", "c1.nii", "lab1.npy", "isdir.nii")
    expect_error("output name", "x.img: not a NIfTI file name (.nii or .nii.gz expected)", "write-labels", "c1.nii", "lab1.npy", "x.img")
    expect_error("labels beyond int16", "h.nii: label values 0 to 70000 do not fit in int16",
                 "write-labels", "c1.nii", "huge.npy", "h.nii")
    expect_error("png output folder", "nodir/o.png: cannot create output file: No such file or directory",
                 "png", "c1.nii", "lab1.npy", "nodir/o.png")
    check(sorted(os.listdir(W)) == sorted(before + ["isdir.nii"]),
          f"files left behind: {sorted(set(os.listdir(W)) - set(before))}")

    # ---- 4. the PNG overview ------------------------------------------------------------------------------
    def decode_png(path):
        b = open(path, "rb").read()
        assert b[:8] == b"\x89PNG\r\n\x1a\n"
        pos, idat, chunks = 8, b"", []
        while pos < len(b):
            ln, typ = struct.unpack(">I4s", b[pos:pos + 8])
            body = b[pos + 8:pos + 8 + ln]
            chunks.append(typ)
            if typ == b"IHDR":
                w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            elif typ == b"IDAT":
                idat += body
            pos += 12 + ln
        assert depth == 8 and ctype == 2, (depth, ctype)
        raw = zlib.decompress(idat)
        stride = 3 * w
        out = np.zeros((h, stride), np.uint8)
        prev = np.zeros(stride, np.int32)
        for y in range(h):
            f = raw[y * (stride + 1)]
            line = np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], np.uint8).astype(np.int32)
            cur = np.zeros(stride, np.int32)
            for x in range(stride):
                a = cur[x - 3] if x >= 3 else 0
                c = prev[x - 3] if x >= 3 else 0
                bb = prev[x]
                if f == 0:
                    p = 0
                elif f == 1:
                    p = a
                elif f == 2:
                    p = bb
                elif f == 3:
                    p = (a + bb) // 2
                else:
                    pa, pb, pc = abs(bb - c), abs(a - c), abs(a + bb - 2 * c)
                    p = a if pa <= pb and pa <= pc else bb if pb <= pc else c
                cur[x] = (line[x] + p) & 255
            out[y] = cur
            prev = cur
        return out.reshape(h, w, 3), chunks

    def palette(v):
        table = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48)]
        return np.array(table[v - 1])

    # A volume 20 x 24 x 16 with 1 x 1 x 2.5 mm voxels, RAS: a constant image (grey 0 after windowing),
    # label 1 a box, label 3 a smaller box inside the same axial slice range.
    pshape = (20, 24, 16)
    paff = np.diag([1.0, 1.0, 2.5, 1.0])
    make("pimg.nii", np.zeros(pshape, np.float32), paff)
    lab = np.zeros(pshape, np.float32)
    lab[4:10, 5:15, 6:11] = 1
    lab[12:15, 16:20, 7:9] = 3
    np.save(os.path.join(W, "plab.npy"), lab[None])
    rc, err = run("png", "pimg.nii", "plab.npy", "o1.png")
    check(rc == 0, f"png: {err}")
    rc, err = run("png", "pimg.nii", "plab.npy", "o2.png")
    check(open(os.path.join(W, "o1.png"), "rb").read() == open(os.path.join(W, "o2.png"), "rb").read(), "png: not deterministic")
    img, chunks = decode_png(os.path.join(W, "o1.png"))
    check(b"tIME" not in chunks, "png: has a time stamp")
    # layout (docs/io.md): one scale for all panels, the largest side (24 mm) at 256 px -> mm/px = 24/256;
    # panels axial 20x24 mm, coronal 20x40 mm, sagittal 24x40 mm; 8 px margins; legend 2 rows.
    mm = 40 / 256  # the largest side is the 40 mm (16 x 2.5) one
    pw = [round(20 / mm), round(20 / mm), round(24 / mm)]
    ph = [round(24 / mm), round(40 / mm), round(40 / mm)]
    legend_w = 14 + 6 + 1 * 12
    width = 8 + sum(w + 8 for w in pw) + legend_w + 8
    height = max(ph) + 16
    check(img.shape == (height, width, 3), f"png: size {img.shape[1]}x{img.shape[0]}, want {width}x{height}")
    # centre of mass of the labels, rounded: the slices shown
    idx = np.argwhere(lab > 0)
    ci, cj, ck = np.floor(idx.mean(0) + 0.5).astype(int)
    # the axial panel at k = ck: column x -> i = 19 - floor((x + .5) mm / 1), row y -> j = 23 - floor((y + .5) mm / 1)
    if img.shape == (height, width, 3):
        ax = img[8:8 + ph[0], 8:8 + pw[0]]
        want = np.zeros(ax.shape, np.uint8)
        for y in range(ph[0]):
            for x in range(pw[0]):
                i = 19 - min(19, int(np.floor((x + 0.5) * mm)))
                j = 23 - min(23, int(np.floor((y + 0.5) * mm)))
                l = int(lab[i, j, ck])
                want[y, x] = (palette(l) + 1) // 2 if l else 0
        check(np.array_equal(ax, want), f"png: axial panel differs at {np.argwhere(np.any(ax != want, -1))[:5].tolist()}")
        # every label's overlay colour somewhere, the legend's full colours
        for l in (1, 3):
            half = (palette(l) + 1) // 2
            check(np.any(np.all(img == half, -1)), f"png: no overlay pixel of label {l}")
            check(np.sum(np.all(img == palette(l), -1)) == 14 * 14, f"png: legend swatch of label {l}")
        check(not np.any(np.all(img == (palette(2) + 1) // 2, -1)), "png: label 2 drawn though absent")
    # without labels: grey only, no legend; a ramp image windowed to 1..99 percentiles
    ramp = np.arange(np.prod(pshape), dtype=np.float32).reshape(pshape)
    make("pramp.nii.gz", ramp, paff)
    rc, err = run("png", "pramp.nii.gz", "-", "o3.png")
    check(rc == 0, f"png without labels: {err}")
    if rc == 0:
        g3, _ = decode_png(os.path.join(W, "o3.png"))
        check(np.array_equal(g3[..., 0], g3[..., 1]) and np.array_equal(g3[..., 1], g3[..., 2]), "png: colour without labels")
        check(g3.shape[1] == 8 + sum(w + 8 for w in pw), "png: legend without labels")
        check(g3.max() == 255 and np.sum(g3[8:8 + ph[0], 8:8 + pw[0], 0] == 0) > 0, "png: window not stretched")
    # 2D: one panel
    rc, err = run("png", "--2d", "img2d.nii", "-", "o4.png")
    check(rc == 0, f"png 2D: {err}")
    if rc == 0:
        g4, _ = decode_png(os.path.join(W, "o4.png"))
        # 8 x 9 voxels of 0.7 x 0.9 mm: 8.1 mm high is the largest side -> 256 px
        check(g4.shape[:2] == (256 + 16, round(5.6 / (8.1 / 256)) + 16), f"png 2D size {g4.shape}")
finally:
    if failures:
        print(f"kept {W}")
    else:
        shutil.rmtree(W)

print(f"{checks} checks, {len(failures)} failed")
sys.exit(1 if failures else 0)
