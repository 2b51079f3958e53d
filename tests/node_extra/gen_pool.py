#!/usr/bin/env python3
# Usage: gen_pool.py OUT_DIR   (needs torch, onnxruntime, onnx, numpy)
import sys, numpy as np, torch
sys.argv = [sys.argv[0], sys.argv[1]]
import os
# Shares the helpers (save, rng, f, ...) of gen_conv.py, up to its Conv cases.
exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'gen_conv.py')).read().split("# --- Conv")[0])
u8 = lambda *s: rng.integers(0, 256, s).astype(np.uint8)
i8 = lambda *s: rng.integers(-128, 128, s).astype(np.int8)
for sp in (1, 2, 3):
    S = {1: (17,), 2: (11, 10), 3: (7, 8, 9)}[sp]
    k = [3, 2, 3][:sp]; st = [2, 2, 3][:sp]; pd = [1, 0, 2][:sp] + [1, 1, 0][:sp]; dl = [2, 1, 1][:sp]
    for ceil in (0, 1):
        save(f'test_gmaxpool_{sp}d_ceil{ceil}', 'MaxPool', [f(2, 3, *S)], dict(kernel_shape=k, strides=st, pads=pd, ceil_mode=ceil))
        save(f'test_gmaxpool_dil_{sp}d_ceil{ceil}', 'MaxPool', [f(2, 3, *S)], dict(kernel_shape=k, strides=st, pads=pd, dilations=dl, ceil_mode=ceil))
        save(f'test_gmaxpool_idx_{sp}d_ceil{ceil}', 'MaxPool', [f(2, 3, *S)], dict(kernel_shape=k, strides=st, pads=pd, dilations=dl, ceil_mode=ceil), nout=2)
        save(f'test_gmaxpool_idx_so1_{sp}d_ceil{ceil}', 'MaxPool', [f(2, 3, *S)], dict(kernel_shape=k, strides=st, pads=pd, storage_order=1, ceil_mode=ceil), nout=2)
        for cip in (0, 1):
            save(f'test_gavgpool_{sp}d_ceil{ceil}_cip{cip}', 'AveragePool', [f(2, 3, *S)], dict(kernel_shape=k, strides=st, pads=pd, ceil_mode=ceil, count_include_pad=cip))
    for ap in ('SAME_UPPER', 'SAME_LOWER', 'VALID'):
        ks = [4, 3, 2][:sp]
        ra = lambda **kw: same_pads(S, ks, st, ap == 'SAME_UPPER', kernel_shape=ks, strides=st, **kw) if ap != 'VALID' else None
        save(f'test_gmaxpool_{ap.lower()}_{sp}d', 'MaxPool', [f(1, 2, *S)], dict(kernel_shape=ks, strides=st, auto_pad=ap), ref_attrs=ra())
        for cip in (0, 1):
            save(f'test_gavgpool_{ap.lower()}_{sp}d_cip{cip}', 'AveragePool', [f(1, 2, *S)], dict(kernel_shape=ks, strides=st, auto_pad=ap, count_include_pad=cip), ref_attrs=ra(count_include_pad=cip))
    save(f'test_gmaxpool_u8_{sp}d', 'MaxPool', [u8(1, 2, *S)], dict(kernel_shape=k, strides=st, pads=pd, ceil_mode=1), nout=2)
    save(f'test_gmaxpool_i8_{sp}d', 'MaxPool', [i8(1, 2, *S)], dict(kernel_shape=k, strides=st, pads=pd))
    save(f'test_gglobalavg_{sp}d', 'GlobalAveragePool', [f(2, 3, *S)], dict())
    save(f'test_gglobalmax_{sp}d', 'GlobalMaxPool', [f(2, 3, *S)], dict())
    save(f'test_gmaxpool_f64_{sp}d', 'MaxPool', [f(1, 2, *S).astype(np.float64)], dict(kernel_shape=k, strides=st, pads=pd), nout=2)
# ceil rule: last window would start in the right padding
save('test_gavgpool_ceil_rule', 'AveragePool', [f(1, 1, 5, 6)], dict(kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1))
save('test_gmaxpool_ceil_rule', 'MaxPool', [f(1, 1, 5, 6)], dict(kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1), nout=2)
# MONAI-like: MaxPool k2 s2 3D (BasicUNet down path), 1x1 global
save('test_gmaxpool_k2s2_3d', 'MaxPool', [f(1, 4, 8, 10, 6)], dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2]))
# NaN propagation (torch reference: max_pool propagates NaN)
xn = f(1, 2, 6, 6); xn[0, 0, 1, 1] = np.nan; xn[0, 1, 4, 5] = np.nan
def ref_nan():
    y, i = torch.nn.functional.max_pool2d(torch.tensor(xn), 3, 2, 1, return_indices=True)
    return [y.numpy(), i.numpy() + (np.arange(2) * 36).reshape(1, 2, 1, 1)]
save('test_gmaxpool_nan', 'MaxPool', [xn], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), nout=2, ref=ref_nan)
def ref_gnan():
    return [np.max(xn, axis=(2, 3), keepdims=True)]
save('test_gglobalmax_nan', 'GlobalMaxPool', [xn], dict(), ref=ref_gnan)
