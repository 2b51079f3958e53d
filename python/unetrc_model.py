"""unetrc_model: call a unetrc-compiled model from Python, in-process (ctypes + numpy).

    m = UnetrcModel("build/libseg.so", "build/seg.h", weights="build/seg.weights")
    y = m(x)                  # numpy float32 in, numpy float32 out (the first output)
    ys = m.forward(x)         # every output, as a list

The shared library is the generated C built with -shared -fPIC (unetrc_add_model(... SHARED) does it);
the header gives the entry point's name, shapes and sizes. A model also works as the predictor of
MONAI's sliding_window_inference: `sliding_window_inference(vol, roi, sw_batch_size=1, predictor=m.torch)`
(the window batch must be the model's batch size). Needs numpy only (torch for .torch)."""
import ctypes
import re

import numpy as np

_WEIGHTS_MAGIC = b"UNETRCW1"
_WEIGHTS_HEADER = 64


def _defines(header_text):
    d = {}
    for m in re.finditer(r"^#define (\w+) (.+?)(?:\s*/\*.*)?$", header_text, re.M):
        d[m.group(1)] = m.group(2).strip()
    return d


def _int(v):
    return int(re.sub(r"^UINT64_C\((.*)\)$", r"\1", v).strip("()"), 0)


def _shape(v):
    return tuple(int(s) for s in v.strip("{} ").split(","))


def _aligned(nbytes, align):
    buf = np.empty(nbytes + align, np.uint8)
    off = (-buf.ctypes.data) % align
    return buf[off:off + nbytes]


class UnetrcModel:
    def __init__(self, library, header, weights=None, name=None):
        text = open(header).read()
        m = re.search(r"^int (\w+)_forward\((.*)\);", text, re.M)
        if not m:
            raise ValueError(f"{header}: no <name>_forward declaration (not a unetrc header?)")
        self.name = name or m.group(1)
        params = [p.strip() for p in m.group(2).split(",")]
        d = _defines(text)
        U = self.name.upper()
        self.align = _int(d[f"{U}_ALIGN"])
        self.arena = _aligned(_int(d[f"{U}_ARENA_SIZE"]), self.align)
        n_in, n_out = _int(d[f"{U}_NUM_INPUTS"]), _int(d[f"{U}_NUM_OUTPUTS"])
        self.in_shapes = [_shape(d[f"{U}_IN{i}_SHAPE"]) for i in range(n_in)]
        self.out_shapes = [_shape(d[f"{U}_OUT{i}_SHAPE"]) for i in range(n_out)]
        embedded = _int(d[f"{U}_WEIGHTS_EMBEDDED"])
        self.weights = None
        if not embedded:
            if weights is None:
                raise ValueError(f"{header}: the weights are not embedded: give weights=<{self.name}.weights>")
            blob = open(weights, "rb").read()
            size = _int(d[f"{U}_WEIGHTS_SIZE"])
            if blob[:8] != _WEIGHTS_MAGIC:
                raise ValueError(f"{weights}: not a unetrc weights file")
            if len(blob) != _WEIGHTS_HEADER + size:
                raise ValueError(f"{weights}: {len(blob)} bytes, the model needs {_WEIGHTS_HEADER + size}")
            if int.from_bytes(blob[24:32], "little") != _int(d[f"{U}_WEIGHTS_CHECKSUM"]):
                raise ValueError(f"{weights}: checksum differs: the weights of another model")
            self.weights = _aligned(size, self.align)
            self.weights[:] = np.frombuffer(blob, np.uint8, size, _WEIGHTS_HEADER)
        self.lib = ctypes.CDLL(library)
        self.fn = getattr(self.lib, f"{self.name}_forward")
        self.fn.restype = ctypes.c_int
        self.fn.argtypes = [ctypes.c_void_p] * len(params)
        if len(params) != (0 if embedded else 1) + 1 + n_in + n_out:
            raise ValueError(f"{header}: {self.name}_forward takes {len(params)} arguments; expected weights, "
                             f"arena, {n_in} inputs and {n_out} outputs")

    def forward(self, *inputs):
        if len(inputs) != len(self.in_shapes):
            raise ValueError(f"{len(inputs)} inputs given, the model takes {len(self.in_shapes)}")
        ins = []
        for i, (x, s) in enumerate(zip(inputs, self.in_shapes)):
            x = np.ascontiguousarray(x, np.float32)
            if x.shape != s:
                raise ValueError(f"input {i}: shape {x.shape}, the model takes {s}")
            a = _aligned(x.nbytes, self.align).view(np.float32).reshape(s)
            a[...] = x
            ins.append(a)
        outs = [_aligned(int(np.prod(s)) * 4, self.align).view(np.float32).reshape(s) for s in self.out_shapes]
        args = ([self.weights.ctypes.data] if self.weights is not None else []) + [self.arena.ctypes.data]
        args += [a.ctypes.data for a in ins] + [o.ctypes.data for o in outs]
        st = self.fn(*args)
        if st != 0:
            raise RuntimeError(f"{self.name}_forward returned {st}")
        return outs

    def __call__(self, *inputs):
        return self.forward(*inputs)[0]

    def torch(self, x):
        """A torch.Tensor in, a torch.Tensor out (for MONAI's sliding_window_inference)."""
        import torch
        return torch.from_numpy(self(x.detach().cpu().numpy()).copy())
