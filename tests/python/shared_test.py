"""shared_test.py UNETRC MODELS_DIR WORK [BACKEND...]: `unetrc MODEL -o libseg.so --shared` through python/unetrc_model.py.

For each backend (default c), a bundled model is compiled with --shared into WORK/BACKEND/libseg.so with seg.h
and seg.weights beside it, loaded with UnetrcModel (ctypes) and run on the bundled input: within 1e-4 of max|ref|
of PyTorch's expected output; the LLVM backend's library gives the same output as the C backend's within the same
bound. A -o not ending in .so is refused (exit 2). Needs numpy only."""
import os
import subprocess
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "python"))
from unetrc_model import UnetrcModel  # noqa: E402

unetrc, models, work = sys.argv[1:4]
backends = sys.argv[4:] or ["c"]
name = "unet3d_batch"
onnx = os.path.join(models, name + ".onnx")
x = np.load(os.path.join(models, name + ".input.npy"))
ref = np.load(os.path.join(models, name + ".expected.npy"))
fails = 0
outs = {}
for be in backends:
    d = os.path.join(work, be)
    os.makedirs(d)
    subprocess.check_call([unetrc, onnx, "-o", os.path.join(d, "libseg.so"), "--shared", "--backend", be])
    for f in ("libseg.so", "seg.h", "seg.weights"):
        if not os.path.isfile(os.path.join(d, f)):
            print(f"FAIL {be}: {f} not written")
            fails += 1
    m = UnetrcModel(os.path.join(d, "libseg.so"), os.path.join(d, "seg.h"), weights=os.path.join(d, "seg.weights"))
    y = m(x)
    outs[be] = y
    e = float(np.abs(y - ref).max() / np.abs(ref).max())
    print(f"{be}: {name} --shared through UnetrcModel: {e:.2e} of max|ref|")
    if not e <= 1e-4:
        print(f"FAIL {be}: {e:.2e} > 1e-4")
        fails += 1
if "c" in outs:
    for be, y in outs.items():
        e = float(np.abs(y - outs["c"]).max() / np.abs(outs["c"]).max())
        if not e <= 1e-4:
            print(f"FAIL {be}: {e:.2e} of max|y| from the C backend's library")
            fails += 1
r = subprocess.run([unetrc, onnx, "-o", os.path.join(work, "seg.c"), "--shared"], capture_output=True, text=True)
if r.returncode != 2 or "ending in .so" not in r.stderr:
    print(f"FAIL: -o seg.c --shared: exit {r.returncode}: {r.stderr.strip()}")
    fails += 1
sys.exit(1 if fails else 0)
