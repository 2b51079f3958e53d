#!/usr/bin/env python3
"""Extra node tests (ONNX backend-test layout) exported by torch.onnx.export
(producer "pytorch"), with PyTorch's own outputs as references, each also
checked against onnxruntime where it runs the case. They pin behaviour that
depends on how torch exports an op:
- Resize with align_corners from scale_factor: torch writes the scale as
  'scales' but resamples over the integer output length (so does
  onnxruntime); unetrc follows it for torch exports (docs/ops.md).
Regenerate (Debian torch 1.13):
    .venv/bin/python tests/node_extra/gen_torch.py"""
import io
import os
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnx import numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch")
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
torch.manual_seed(3)


def save(name, module, inputs, opset=17, training=torch.onnx.TrainingMode.EVAL, ort_check=True):
    d = os.path.join(OUT, "test_" + name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    f = io.BytesIO()
    names = [f"x{i}" for i in range(len(inputs))]
    torch.onnx.export(module, tuple(inputs), f, opset_version=opset, input_names=names, training=training,
                      do_constant_folding=training == torch.onnx.TrainingMode.EVAL)
    m = onnx.load_from_string(f.getvalue())
    assert m.producer_name == "pytorch"
    onnx.save(m, os.path.join(d, "model.onnx"))
    if training == torch.onnx.TrainingMode.TRAINING:
        module.train()
    with torch.no_grad():
        outs = module(*inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    outs = [o.numpy() for o in outs]
    if ort_check:
        s = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
        got = s.run(None, {n: t.numpy() for n, t in zip(names, inputs)})
        for a, b in zip(got, outs):
            err = float(np.abs(a - b).max())
            assert err <= 1e-5 * max(1.0, float(np.abs(b).max())), (name, err)
    for i, t in enumerate(inputs):
        with open(os.path.join(d, "test_data_set_0", f"input_{i}.pb"), "wb") as fh:
            fh.write(numpy_helper.from_array(t.numpy(), names[i]).SerializeToString())
    for i, o in enumerate(outs):
        with open(os.path.join(d, "test_data_set_0", f"output_{i}.pb"), "wb") as fh:
            fh.write(numpy_helper.from_array(o, m.graph.output[i].name).SerializeToString())


class Interp(torch.nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.kw = kw

    def forward(self, x):
        return F.interpolate(x, **self.kw)


x3 = torch.randn(1, 2, 4, 5, 4)
x2 = torch.randn(1, 3, 5, 7)
# in * scale fractional (2.4, 3.0, 2.4; 3.0, 4.2): PyTorch's integer lengths
save("resize_torch_trilinear_align_corners_scale06", Interp(scale_factor=0.6, mode="trilinear", align_corners=True), [x3])
save("resize_torch_bilinear_align_corners_scale06", Interp(scale_factor=0.6, mode="bilinear", align_corners=True), [x2])
save("resize_torch_bicubic_align_corners_scale07", Interp(scale_factor=0.7, mode="bicubic", align_corners=True), [x2])
save("resize_torch_bilinear_align_corners_up", Interp(scale_factor=1.7, mode="bilinear", align_corners=True), [x2])
save("resize_torch_bilinear_align_corners_size", Interp(size=(3, 4), mode="bilinear", align_corners=True), [x2])
save("resize_torch_trilinear_half_pixel_scale06", Interp(scale_factor=0.6, mode="trilinear", align_corners=False), [x3])

print("written to", OUT)
