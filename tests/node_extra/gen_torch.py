#!/usr/bin/env python3
"""Extra node tests (ONNX backend-test layout) exported by torch.onnx.export
(producer "pytorch"), with PyTorch's own outputs as references, each also
checked against onnxruntime where it runs the case. They pin behaviour that
depends on how torch exports an op:
- Resize with align_corners from scale_factor: torch writes the scale as
  'scales' but resamples over the integer output length (so does
  onnxruntime); unetrc follows it for torch exports (docs/ops.md).
- BatchNormalization exported in training mode (batch statistics).
- ops torch exports for common tensor functions: triu/tril (Trilu), cumsum
  (CumSum), scatter/scatter_add (ScatterElements), one_hot (OneHot), and the
  losses cross_entropy (SoftmaxCrossEntropyLoss) and nll_loss
  (NegativeLogLikelihoodLoss).
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


class BN(torch.nn.Module):
    def __init__(self, c, dims):
        super().__init__()
        self.bn = (torch.nn.BatchNorm2d if dims == 2 else torch.nn.BatchNorm3d)(c, momentum=0.2)
        with torch.no_grad():
            self.bn.weight.uniform_(0.5, 1.5)
            self.bn.bias.uniform_(-0.5, 0.5)
            self.bn.running_mean.uniform_(-1, 1)
            self.bn.running_var.uniform_(0.5, 2)

    def forward(self, x):
        return torch.relu(self.bn(x))


# training mode: normalised with the batch's statistics (onnxruntime's CPU kernel has no training mode)
save("batchnorm_torch_training_2d", BN(3, 2), [torch.randn(2, 3, 5, 6) * 2 + 1], opset=15,
     training=torch.onnx.TrainingMode.TRAINING, ort_check=False)
save("batchnorm_torch_training_3d", BN(4, 3), [torch.randn(2, 4, 3, 4, 5) - 0.5], opset=15,
     training=torch.onnx.TrainingMode.TRAINING, ort_check=False)


class ConvBN(torch.nn.Module):  # conv (channels-last in unetrc) -> training-mode BN (channels-first) -> conv
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv3d(2, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm3d(4)
        self.c2 = torch.nn.Conv3d(4, 3, 1)

    def forward(self, x):
        return self.c2(torch.relu(self.bn(self.c1(x))))


save("batchnorm_torch_training_conv", ConvBN(), [torch.randn(2, 2, 6, 5, 4)], opset=15,
     training=torch.onnx.TrainingMode.TRAINING, ort_check=False)


class Fn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *x):
        return self.fn(*x)


m = torch.randn(2, 5, 6)
save("trilu_torch_triu", Fn(lambda x: torch.triu(x, 1)), [m], opset=14)
save("trilu_torch_tril", Fn(lambda x: torch.tril(x, -2) * 2), [m], opset=14)
save("cumsum_torch", Fn(lambda x: torch.cumsum(x, dim=1) + torch.cumsum(x, dim=-1)), [m], opset=14)
save("cumsum_torch_int", Fn(lambda x: torch.cumsum(x, dim=0)), [torch.randint(-9, 9, (4, 3))], opset=14)
idx = torch.tensor([[0, 3, 1], [4, 4, 2]])
save("scatter_elements_torch", Fn(lambda x, v: x.scatter(2, idx.unsqueeze(0).expand(2, 2, 3), v)),
     [m, torch.randn(2, 2, 3)], opset=16)
save("scatter_elements_torch_add", Fn(lambda x, v: x.scatter_add(2, idx.unsqueeze(0).expand(2, 2, 3), v)),
     [m, torch.randn(2, 2, 3)], opset=16)
save("onehot_torch", Fn(lambda i: F.one_hot(i, 7).float() * 3), [torch.tensor([[0, 6, 3], [2, 2, 5]])], opset=13)
scores, labels = torch.randn(3, 5, 4, 2), torch.tensor([[[0, 4], [1, 1], [3, 2], [4, 0]]] * 3)
labels[1, 2, 0] = -100
cw = torch.rand(5) + 0.5
save("sce_torch_mean", Fn(lambda s, t: F.cross_entropy(s, t)), [scores, labels], opset=13)
save("sce_torch_weight_sum", Fn(lambda s, t: F.cross_entropy(s, t, weight=cw, reduction="sum")), [scores, labels], opset=13)
save("nll_torch_none", Fn(lambda s, t: F.nll_loss(F.log_softmax(s, 1), t, reduction="none")), [scores, labels], opset=13)
save("nll_torch_weight_mean", Fn(lambda s, t: F.nll_loss(s, t, weight=cw, ignore_index=2)), [scores, labels.clamp(0)],
     opset=13)
print("written to", OUT)
