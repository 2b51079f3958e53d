"""binding_test.py UNETRC MODELS_DIR WORK: python/unetrc_model.py against the ONNX model run by onnxruntime.

A bundled model is compiled (weights in a file) and built as a shared library; UnetrcModel runs it on the
bundled input (== PyTorch's expected output within 1e-4 of max|ref|) and serves as the predictor of MONAI's
sliding_window_inference over a larger volume, compared with the same call with onnxruntime as the predictor.
Bad use gives the exact errors (input shape, another model's weights). Exit 77 without onnxruntime or MONAI."""
import os
import subprocess
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "python"))
from unetrc_model import UnetrcModel  # noqa: E402

unetrc, models, work = sys.argv[1:4]
try:
    import onnxruntime as ort
    import torch
    from monai.inferers import sliding_window_inference
except Exception as e:  # noqa: BLE001
    print(f"binding_test: skipped ({e})")
    sys.exit(77)

name = "unetr_conv_tiny"
onnx = os.path.join(models, name + ".onnx")
subprocess.check_call([unetrc, onnx, "-o", os.path.join(work, "seg.c")])
subprocess.check_call(["cc", "-std=c11", "-O2", "-fopenmp", "-shared", "-fPIC", os.path.join(work, "seg.c"), "-o",
                       os.path.join(work, "libseg.so"), "-lm"])
m = UnetrcModel(os.path.join(work, "libseg.so"), os.path.join(work, "seg.h"), weights=os.path.join(work, "seg.weights"))


def rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


x = np.load(os.path.join(models, name + ".input.npy"))
ref = np.load(os.path.join(models, name + ".expected.npy"))
e = rel(m(x), ref)
print(f"forward vs PyTorch: {e:.2e}")
assert e <= 1e-4, e

sess = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
iname = sess.get_inputs()[0].name


def ort_predict(t):
    return torch.from_numpy(sess.run(None, {iname: t.numpy()})[0])


vol = torch.from_numpy(np.random.default_rng(5).standard_normal((1, 1, 48, 56, 40)).astype(np.float32))
kw = dict(roi_size=(32, 32, 32), sw_batch_size=1, overlap=0.25, mode="gaussian")
with torch.no_grad():
    a = sliding_window_inference(vol, predictor=m.torch, **kw).numpy()
    b = sliding_window_inference(vol, predictor=ort_predict, **kw).numpy()
e = rel(a, b)
print(f"sliding window {tuple(a.shape)} vs onnxruntime: {e:.2e}")
assert a.shape == (1, 3, 48, 56, 40) and e <= 1e-4, e

try:
    m(np.zeros((1, 1, 16, 32, 32), np.float32))
    raise AssertionError("a wrong input shape was accepted")
except ValueError as err:
    assert str(err) == "input 0: shape (1, 1, 16, 32, 32), the model takes (1, 1, 32, 32, 32)", err
other = os.path.join(work, "other")
os.makedirs(other, exist_ok=True)
subprocess.check_call([unetrc, os.path.join(models, "unetr_perceptron_tiny.onnx"), "-o", os.path.join(other, "seg.c")])
try:
    UnetrcModel(os.path.join(work, "libseg.so"), os.path.join(work, "seg.h"), weights=os.path.join(other, "seg.weights"))
    raise AssertionError("another model's weights were accepted")
except ValueError as err:
    assert "bytes, the model needs" in str(err) or "checksum differs" in str(err), err
    print(f"other weights: {err}")
print("binding_test: ok")
