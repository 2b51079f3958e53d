#!/usr/bin/env python3
"""make_fixtures.py: the small NIfTI files of tests/segment/errors.sh (committed in tests/segment/data).

a.nii.gz (20x18x16 float32, qform + sform) and b.nii.gz (the same grid) are good channel files; the others
are wrong in one way each: b_dims (20x18x15), b_affine (sform shifted by 2 mm), img2d (20x18), nan (one NaN
voxel), truncated (a.nii.gz cut in the middle of its gzip stream), c4d (20x18x16x2: two channels in one file).
Run with a Python that has nibabel; the output is deterministic.
"""
import gzip
import os

import nibabel as nib
import numpy as np

D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
os.makedirs(D, exist_ok=True)
rng = np.random.default_rng(5)
aff = np.array([[-1.5, 0, 0, 30.0], [0, 1.5, 0, -20.0], [0, 0, 2.0, -10.0], [0, 0, 0, 1]])


def save(name, data, affine=aff):
    img = nib.Nifti1Image(data.astype(np.float32), affine)
    img.set_qform(affine, 1)
    img.set_sform(affine, 2)
    # fixed bytes: nibabel writes no time stamp, gzip gets mtime 0
    raw = img.to_bytes()
    with open(os.path.join(D, name), "wb") as f:
        f.write(gzip.compress(raw, mtime=0))


a = rng.normal(100, 20, (20, 18, 16))
save("a.nii.gz", a)
save("b.nii.gz", rng.normal(50, 10, (20, 18, 16)))
save("b_dims.nii.gz", rng.normal(50, 10, (20, 18, 15)))
shifted = aff.copy()
shifted[0, 3] += 2
save("b_affine.nii.gz", rng.normal(50, 10, (20, 18, 16)), shifted)
save("img2d.nii.gz", rng.normal(0, 1, (20, 18)))
n = a.copy()
n[3, 4, 5] = np.nan
save("nan.nii.gz", n)
save("c4d.nii.gz", rng.normal(0, 1, (20, 18, 16, 2)))
with open(os.path.join(D, "a.nii.gz"), "rb") as f:
    whole = f.read()
with open(os.path.join(D, "truncated.nii.gz"), "wb") as f:
    f.write(whole[: len(whole) // 2])
# .npy images: the same volume channel-first, a NaN, two channels, a 2D array
np.save(os.path.join(D, "a.npy"), a.astype(np.float32))
np.save(os.path.join(D, "nan.npy"), n.astype(np.float32))
np.save(os.path.join(D, "c2.npy"), rng.normal(0, 1, (2, 20, 18, 16)).astype(np.float32))
np.save(os.path.join(D, "flat.npy"), rng.normal(0, 1, (20, 18)).astype(np.float32))
# scan.nii.gz: 47x38x21 int16, a smooth phantom (a bright ellipsoid in a gradient): several windows
# of a 32^3 model, smaller than the roi along k; int16 with scl_slope 0.5
i, j, k = np.meshgrid(np.arange(47), np.arange(38), np.arange(21), indexing="ij")
ph = 200 + 3 * i - 2 * j + 5 * k + 600 * (((i - 25) / 12.0) ** 2 + ((j - 17) / 9.0) ** 2 + ((k - 10) / 6.0) ** 2 < 1)
img = nib.Nifti1Image(ph.astype(np.int16), aff)
img.set_qform(aff, 1)
img.set_sform(aff, 2)
img.header.set_slope_inter(0.5, 10)
with open(os.path.join(D, "scan.nii.gz"), "wb") as f:
    f.write(gzip.compress(img.to_bytes(), mtime=0))
