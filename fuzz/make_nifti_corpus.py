#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_nifti (fuzz/corpus/nifti/): small NIfTI files written by nibabel, each
prefixed with the harness's mode byte (fuzz_nifti.c: bits 0-1 .nii / raw .nii.gz / gzipped here / two
channel files; bit 2 2D; bit 3 allow NaN; bit 4 round trip as .nii.gz). Run with a Python that has numpy
and nibabel (e.g. .venv/bin/python fuzz/make_nifti_corpus.py); the outputs are committed."""
import gzip
import io
import os

import nibabel as nib
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "nifti")
rng = np.random.default_rng(9)
AFF = np.array([[0.9, 0.1, 0.0, -10.0], [-0.1, 0.9, 0.2, 5.5], [0.0, -0.2, 2.0, 1.0], [0, 0, 0, 1]])


def blob(img):
    bio = io.BytesIO()
    img.to_file_map({"image": nib.FileHolder(fileobj=bio), "header": nib.FileHolder(fileobj=bio)})
    return bio.getvalue()


def save(name, mode, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([mode]) + data)


os.makedirs(OUT, exist_ok=True)
shape = (3, 4, 5)
for dt in (np.uint8, np.int8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64, np.float32, np.float64):
    img = nib.Nifti1Image((rng.standard_normal(shape) * 50).astype(dt), AFF, dtype=dt)
    save(f"n1_{np.dtype(dt).name}.bin", 0, blob(img))
img = nib.Nifti1Image(rng.integers(0, 100, shape).astype(np.int16), AFF)
img.header.set_slope_inter(0.5, 3)
save("n1_scaled.bin", 2, blob(img))
be = nib.Nifti1Image(rng.standard_normal(shape).astype(">f4"), AFF, header=nib.Nifti1Header(endianness=">"))
save("n1_bigendian.bin", 0, blob(be))
save("n2_float32.bin", 16, blob(nib.Nifti2Image(rng.standard_normal(shape).astype(np.float32), AFF)))
save("n2_gz.bin", 1, gzip.compress(blob(nib.Nifti2Image(rng.integers(0, 9, shape).astype(np.uint8), AFF)), mtime=0))
save("n1_gz.bin", 17, gzip.compress(blob(nib.Nifti1Image(rng.standard_normal(shape).astype(np.float32), AFF)), mtime=0))
save("n1_4d.bin", 0, blob(nib.Nifti1Image(rng.standard_normal(shape + (2,)).astype(np.float32), AFF)))
save("n1_5d.bin", 2, blob(nib.Nifti1Image(rng.standard_normal(shape + (1, 2)).astype(np.float32), AFF)))
save("n1_two_files.bin", 3, blob(nib.Nifti1Image(rng.standard_normal(shape).astype(np.float32), AFF)))
save("n1_2d.bin", 4, blob(nib.Nifti1Image(rng.standard_normal((4, 5)).astype(np.float32), AFF)))
save("n1_2d_c.bin", 4, blob(nib.Nifti1Image(rng.standard_normal((4, 5, 1, 3)).astype(np.float32), AFF)))
nan = rng.standard_normal(shape).astype(np.float32)
nan[1, 2, 3] = np.nan
save("n1_nan.bin", 0, blob(nib.Nifti1Image(nan, AFF)))
save("n1_nan_allowed.bin", 8, blob(nib.Nifti1Image(nan, AFF)))
q = nib.Nifti1Image(rng.standard_normal(shape).astype(np.float32), AFF)
q.set_sform(None, code=0)
q.set_qform(AFF, code=1)
save("n1_qform_only.bin", 0, blob(q))
ext = nib.Nifti1Image(rng.standard_normal(shape).astype(np.float32), AFF)
ext.header.extensions.append(nib.nifti1.Nifti1Extension(6, b"a comment extension"))
save("n1_extension.bin", 0, blob(ext))
