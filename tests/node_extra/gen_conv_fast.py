#!/usr/bin/env python3
# Usage: gen_conv_fast.py OUT_DIR   (needs torch, onnx, numpy)
# Node tests (model.onnx + test_data_set_0, opset 17) aimed at the
# channels-last fast paths of ops/conv.c: constant weights, shapes that make
# partial channel blocks, border/interior/remainder W blocks, strides,
# dilation, asymmetric pads, the 1x1x1 GEMM form, k=s ConvTranspose and the
# k3 s2 ConvTranspose fallback. Data are small dyadic numbers (x in 1/4
# steps, W and B in 1/8 steps) so every product and partial sum is exact in
# float32: the expected outputs hold for any summation order, with or
# without fused multiply-add. References: torch in float64.
import os, shutil, sys, numpy as np, onnx, torch
import torch.nn.functional as F
from onnx import helper, TensorProto, numpy_helper
import nodegen

OUT = sys.argv[1]
rng = np.random.default_rng(7)
def X(*s): return (rng.integers(-8, 9, s) / 4).astype(np.float32)
def Wt(*s): return (rng.integers(-8, 9, s) / 8).astype(np.float32)

def ref(op, x, w, b, strides, pads, dil, op_pad):
    sp = x.ndim - 2
    xt, wt = torch.tensor(x, dtype=torch.float64), torch.tensor(w, dtype=torch.float64)
    if op == 'Conv':
        padarg = []
        for a in reversed(range(sp)): padarg += [pads[a], pads[sp + a]]
        y = [F.conv1d, F.conv2d, F.conv3d][sp - 1](F.pad(xt, padarg), wt, None, strides, 0, dil)
    else:  # full output, then the window [pb, pb + out) of it (zeros past its end)
        full = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][sp - 1](xt, wt, None, strides, 0, 0, 1, dil)
        out = [(x.shape[2 + a] - 1) * strides[a] + op_pad[a] + (w.shape[2 + a] - 1) * dil[a] + 1 - pads[a] - pads[sp + a] for a in range(sp)]
        y = torch.zeros(full.shape[:2] + tuple(out), dtype=torch.float64)
        src, dst = [slice(None)] * 2, [slice(None)] * 2
        for a in range(sp):
            hi = min(full.shape[2 + a], pads[a] + out[a])
            src.append(slice(pads[a], hi)); dst.append(slice(0, hi - pads[a]))
        y[tuple(dst)] = full[tuple(src)]
    if b is not None: y = y + torch.tensor(b, dtype=torch.float64).reshape([1, -1] + [1] * sp)
    return y.numpy().astype(np.float32)

def save(name, op, x, w, b=None, strides=None, pads=None, dil=None, op_pad=None, bias_input=False, w_input=False):
    sp = x.ndim - 2
    strides = strides or [1] * sp; dil = dil or [1] * sp; op_pad = op_pad or [0] * sp
    K = list(w.shape[2:])
    pads = pads if pads is not None else [0] * 2 * sp
    y = ref(op, x, w, b, strides, pads, dil, op_pad)
    d = os.path.join(OUT, name)
    if os.path.exists(d): shutil.rmtree(d)
    names = ['in0', 'in1'] + (['in2'] if b is not None else [])
    inits = []
    gin = [helper.make_tensor_value_info('in0', TensorProto.FLOAT, x.shape)]
    feeds = [('in0', x)]
    for nm_, a, as_input in (('in1', w, w_input), ('in2', b, bias_input)):
        if a is None: continue
        if as_input:  # weights computed at run time (passes/conv_weights.c)
            gin.append(helper.make_tensor_value_info(nm_, TensorProto.FLOAT, a.shape))
            feeds.append((nm_, a))
        else:
            inits.append(numpy_helper.from_array(a, nm_))
    attrs = dict(kernel_shape=K, strides=strides, pads=pads, dilations=dil)
    if op == 'ConvTranspose' and any(op_pad): attrs['output_padding'] = op_pad
    node = helper.make_node(op, names, ['out0'], **attrs)
    g = helper.make_graph([node], name, gin, [helper.make_tensor_value_info('out0', TensorProto.FLOAT, y.shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)]); m.ir_version = 8
    onnx.checker.check_model(m)
    nodegen.write_case(d, m, feeds, [('out0', y)])

# Conv
save('test_fconv_k3p1_c5m20_3d', 'Conv', X(1, 5, 4, 5, 40), Wt(20, 5, 3, 3, 3), Wt(20), pads=[1] * 6)
save('test_fconv_k3p1_m100_n2_2d', 'Conv', X(2, 3, 9, 30), Wt(100, 3, 3, 3), pads=[1] * 4)
save('test_fconv_k3s2p1_3d', 'Conv', X(1, 4, 7, 9, 31), Wt(16, 4, 3, 3, 3), Wt(16), strides=[2] * 3, pads=[1] * 6)
save('test_fconv_dil2_2d', 'Conv', X(1, 3, 11, 29), Wt(8, 3, 3, 3), Wt(8), dil=[2, 2], pads=[2] * 4)
save('test_fconv_k1_gemm_n2_3d', 'Conv', X(2, 8, 5, 5, 5), Wt(12, 8, 1, 1, 1), Wt(12))
save('test_fconv_k1s2_3d', 'Conv', X(1, 6, 9, 9, 9), Wt(5, 6, 1, 1, 1), Wt(5), strides=[2] * 3)
save('test_fconv_c1_3d', 'Conv', X(1, 1, 6, 7, 26), Wt(16, 1, 3, 3, 3), Wt(16), pads=[1] * 6)
save('test_fconv_rtbias_3d', 'Conv', X(1, 4, 5, 6, 14), Wt(8, 4, 3, 3, 3), Wt(8), pads=[1] * 6, bias_input=True)
save('test_fconv_pad_asym_2d', 'Conv', X(1, 3, 8, 27), Wt(6, 3, 3, 3), Wt(6), pads=[0, 2, 1, 0])
save('test_fconv_k5p2_1d', 'Conv', X(2, 6, 40), Wt(9, 6, 5), Wt(9), pads=[2, 2])
save('test_fconv_k7_small_2d', 'Conv', X(1, 2, 5, 5), Wt(4, 2, 7, 7), Wt(4), pads=[3] * 4)
save('test_fconv_m64_3d', 'Conv', X(1, 8, 4, 4, 14), Wt(64, 8, 3, 3, 3), Wt(64), pads=[1] * 6)
save('test_fconv_m14_k1_3d', 'Conv', X(1, 16, 4, 5, 6), Wt(14, 16, 1, 1, 1), Wt(14))
save('test_fconv_patch4_3d', 'Conv', X(1, 2, 8, 8, 8), Wt(24, 2, 4, 4, 4), Wt(24), strides=[4] * 3)
# ConvTranspose
save('test_fconvt_k2s2_m16_3d', 'ConvTranspose', X(1, 8, 3, 4, 13), Wt(8, 16, 2, 2, 2), Wt(16), strides=[2] * 3)
save('test_fconvt_k2s2_m24_2d', 'ConvTranspose', X(2, 5, 6, 7), Wt(5, 24, 2, 2), Wt(24), strides=[2] * 2)
save('test_fconvt_k2s2_m3_3d', 'ConvTranspose', X(1, 4, 3, 3, 5), Wt(4, 3, 2, 2, 2), Wt(3), strides=[2] * 3)
save('test_fconvt_k2s2_rtbias_3d', 'ConvTranspose', X(1, 4, 3, 3, 5), Wt(4, 6, 2, 2, 2), Wt(6), strides=[2] * 3, bias_input=True)
save('test_fconvt_k2s2_1d', 'ConvTranspose', X(1, 4, 20), Wt(4, 6, 2), strides=[2])
save('test_fconvt_k3s3_2d', 'ConvTranspose', X(1, 3, 4, 5), Wt(3, 5, 3, 3), Wt(5), strides=[3, 3])
save('test_fconvt_k3s2p1op1_3d', 'ConvTranspose', X(1, 6, 4, 5, 6), Wt(6, 8, 3, 3, 3), Wt(8), strides=[2] * 3, pads=[1] * 6, op_pad=[1] * 3)
save('test_fconvt_k3s2p1op1_2d', 'ConvTranspose', X(2, 5, 5, 7), Wt(5, 20, 3, 3), Wt(20), strides=[2] * 2, pads=[1] * 4, op_pad=[1] * 2)
save('test_fconvt_k4s2p1_3d', 'ConvTranspose', X(1, 3, 3, 4, 9), Wt(3, 16, 4, 4, 4), Wt(16), strides=[2] * 3, pads=[1] * 6)
save('test_fconvt_k1s3op2_2d', 'ConvTranspose', X(1, 4, 3, 5), Wt(4, 6, 1, 1), Wt(6), strides=[3] * 2, op_pad=[2, 1])
save('test_fconvt_k5s3p2_1d', 'ConvTranspose', X(2, 3, 17), Wt(3, 7, 5), Wt(7), strides=[3], pads=[2, 2])
save('test_fconvt_k3s1p1_3d', 'ConvTranspose', X(1, 4, 5, 6, 15), Wt(4, 12, 3, 3, 3), Wt(12), pads=[1] * 6)
save('test_fconvt_asym_2d', 'ConvTranspose', X(1, 3, 6, 8), Wt(3, 5, 3, 3), Wt(5), strides=[2, 2], pads=[0, 2, 1, 0], op_pad=[1, 1])
save('test_fconvt_k2s2_nobias_m32_3d', 'ConvTranspose', X(1, 16, 2, 3, 14), Wt(16, 32, 2, 2, 2), strides=[2] * 3)
# Epilogue fusion (passes/fuse_conv.c): small graphs around Conv.
def save_graph(name, x, nodes, inits, extra_inputs=(), ref_fn=None):
    d = os.path.join(OUT, name)
    if os.path.exists(d): shutil.rmtree(d)
    y = ref_fn()
    gin = [helper.make_tensor_value_info('in0', TensorProto.FLOAT, x.shape)]
    feeds = [('in0', x)]
    for nm_, a in extra_inputs:
        gin.append(helper.make_tensor_value_info(nm_, TensorProto.FLOAT, a.shape))
        feeds.append((nm_, a))
    g = helper.make_graph(nodes, name, gin, [helper.make_tensor_value_info('out0', TensorProto.FLOAT, y.shape)],
                          [numpy_helper.from_array(a, n_) for n_, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)]); m.ir_version = 8
    onnx.checker.check_model(m)
    nodegen.write_case(d, m, feeds, [('out0', y)])

def conv_ref(x, w, b, pads=None, strides=None):
    sp = x.ndim - 2
    return ref('Conv', x, w, b, strides or [1] * sp, pads or [0] * 2 * sp, [1] * sp, [0] * sp).astype(np.float64)

x = X(1, 4, 5, 6, 13); w = Wt(8, 4, 3, 3, 3); b = Wt(8); r = X(1, 8, 5, 6, 13)
save_graph('test_fconv_fuse_relu_add_3d', x,
           [helper.make_node('Conv', ['in0', 'w', 'b'], ['c'], pads=[1] * 6), helper.make_node('Relu', ['c'], ['a']),
            helper.make_node('Add', ['a', 'in1'], ['out0'])], [('w', w), ('b', b)], [('in1', r)],
           lambda: (np.maximum(conv_ref(x, w, b, [1] * 6), 0) + r).astype(np.float32))
x = X(1, 3, 10, 21); w1 = Wt(16, 3, 3, 3); b1 = Wt(16); w2 = Wt(16, 3, 1, 1); b2 = Wt(16); sl = np.array([0.25], np.float32)
def prelu_ref():
    c1 = conv_ref(x, w1, b1, [1] * 4); c2 = conv_ref(x, w2, b2)
    return (np.where(c1 < 0, 0.25 * c1, c1) + c2).astype(np.float32)
save_graph('test_fconv_fuse_prelu_add_conv_2d', x,
           [helper.make_node('Conv', ['in0', 'w1', 'b1'], ['c1'], pads=[1] * 4), helper.make_node('PRelu', ['c1', 'sl'], ['p']),
            helper.make_node('Conv', ['in0', 'w2', 'b2'], ['c2']), helper.make_node('Add', ['p', 'c2'], ['out0'])],
           [('w1', w1), ('b1', b1), ('w2', w2), ('b2', b2), ('sl', sl)], (), prelu_ref)
x = X(1, 5, 4, 7, 9); w = Wt(14, 5, 3, 3, 3); b = Wt(14)
save_graph('test_fconv_fuse_lrelu_out_3d', x,
           [helper.make_node('Conv', ['in0', 'w', 'b'], ['c'], pads=[1] * 6), helper.make_node('LeakyRelu', ['c'], ['out0'], alpha=0.125)],
           [('w', w), ('b', b)], (), lambda: (lambda c: np.where(c >= 0, c, 0.125 * c))(conv_ref(x, w, b, [1] * 6)).astype(np.float32))
x = X(2, 6, 3, 4, 5); w = Wt(3, 6, 1, 1, 1); b = Wt(3)
save_graph('test_fconv_fuse_sigmoid_k1_n2_3d', x,
           [helper.make_node('Conv', ['in0', 'w', 'b'], ['c']), helper.make_node('Sigmoid', ['c'], ['out0'])],
           [('w', w), ('b', b)], (), lambda: (1 / (1 + np.exp(-conv_ref(x, w, b)))).astype(np.float32))
x = X(2, 4, 6, 5, 7); w = Wt(5, 4, 3, 3, 3); r = X(2, 5, 6, 5, 7)
save_graph('test_fconv_fuse_add_cf_n2_3d', x,
           [helper.make_node('Conv', ['in0', 'w'], ['c'], pads=[1] * 6), helper.make_node('Add', ['in1', 'c'], ['out0'])],
           [('w', w)], [('in1', r)], lambda: (conv_ref(x, w, None, [1] * 6) + r).astype(np.float32))
x = X(1, 8, 4, 5, 6); w = Wt(16, 8, 1, 1, 1); b = Wt(16); r = X(1, 16, 4, 5, 6)
save_graph('test_fconv_fuse_k1_relu_add_3d', x,
           [helper.make_node('Conv', ['in0', 'w', 'b'], ['c']), helper.make_node('Relu', ['c'], ['a']),
            helper.make_node('Relu', ['a'], ['a2']), helper.make_node('Add', ['a2', 'in1'], ['out0'])],
           [('w', w), ('b', b)], [('in1', r)], lambda: (np.maximum(conv_ref(x, w, b), 0) + r).astype(np.float32))

# Concat along the channels read by convolutions as parts of X (passes/fuse_conv.c).
# The parts come out of 1x1 MaxPools (identities that run channels-last) so the
# Concat sinks into the channels-last region as in UNETR/BasicUNet.
def ident(i, o, sp): return helper.make_node('MaxPool', [i], [o], kernel_shape=[1] * sp)
a = X(2, 3, 4, 5, 13); b_ = X(2, 5, 4, 5, 13); w1 = Wt(8, 8, 3, 3, 3); b1 = Wt(8); w2 = Wt(6, 8, 1, 1, 1); b2 = Wt(6)
def cat2_ref():
    xc = np.concatenate([a, b_], axis=1)
    return (np.maximum(conv_ref(xc, w1, b1, [1] * 6), 0) + np.pad(conv_ref(xc, w2, b2), ((0, 0), (0, 2), (0, 0), (0, 0), (0, 0)))).astype(np.float32)
save_graph('test_fconv_concat2_two_readers_3d', a,
           [ident('in0', 'i0', 3), ident('in1', 'i1', 3), helper.make_node('Concat', ['i0', 'i1'], ['x'], axis=1),
            helper.make_node('Conv', ['x', 'w1', 'b1'], ['c1'], pads=[1] * 6), helper.make_node('Relu', ['c1'], ['r1']),
            helper.make_node('Conv', ['x', 'w2', 'b2'], ['c2']),
            helper.make_node('Pad', ['c2', 'pads'], ['c2p']),
            helper.make_node('Add', ['r1', 'c2p'], ['out0'])],
           [('w1', w1), ('b1', b1), ('w2', w2), ('b2', b2), ('pads', np.array([0, 0, 0, 0, 0, 0, 2, 0, 0, 0], np.int64))],
           [('in1', b_)], cat2_ref)
p0 = X(1, 4, 6, 7); p1 = X(1, 2, 6, 7); p2 = X(1, 6, 6, 7); w = Wt(20, 12, 3, 3); b = Wt(20)
save_graph('test_fconv_concat3_2d', p0,
           [ident('in0', 'i0', 2), ident('in1', 'i1', 2), ident('in2', 'i2', 2), helper.make_node('Concat', ['i0', 'i1', 'i2'], ['x'], axis=1), helper.make_node('Conv', ['x', 'w', 'b'], ['out0'], pads=[1] * 4)],
           [('w', w), ('b', b)], [('in1', p1), ('in2', p2)], lambda: conv_ref(np.concatenate([p0, p1, p2], 1), w, b, [1] * 4).astype(np.float32))
a = X(1, 4, 5, 5, 6); b_ = X(1, 4, 5, 5, 6); w = Wt(8, 8, 3, 3, 3)
save_graph('test_fconv_concat_other_reader_3d', a,
           [ident('in0', 'i0', 3), ident('in1', 'i1', 3), helper.make_node('Concat', ['i0', 'i1'], ['x'], axis=1), helper.make_node('Conv', ['x', 'w'], ['c'], pads=[1] * 6),
            helper.make_node('Add', ['c', 'x'], ['out0'])],
           [('w', w)], [('in1', b_)], lambda: (conv_ref(np.concatenate([a, b_], 1), w, None, [1] * 6) + np.concatenate([a, b_], 1)).astype(np.float32))

# New cases go last (the data of earlier ones stay the same).
save('test_fconv_k151_naive_1d', 'Conv', X(1, 2, 300), Wt(3, 2, 151), Wt(3), pads=[75, 75])  # border code too big: naive twin

# Weights as graph inputs (as trained parameters are): W reordered to [K..., C, M]
# by a Transpose and read at run time (whole channel blocks: the direct
# kernel; M = 20: the naive kernel on the reordered W); stride-1
# ConvTranspose -> Conv over flipped weights; k2 s2 stays a ConvTranspose.
save('test_fconv_rtw_k3p1_m16_3d', 'Conv', X(1, 8, 4, 5, 14), Wt(16, 8, 3, 3, 3), Wt(16), pads=[1] * 6, w_input=True)
save('test_fconv_rtw_k3s2p1_m32_rtbias_3d', 'Conv', X(1, 4, 7, 6, 19), Wt(32, 4, 3, 3, 3), Wt(32), strides=[2] * 3,
     pads=[1] * 6, w_input=True, bias_input=True)
save('test_fconv_rtw_k1_m32_n2_3d', 'Conv', X(2, 8, 3, 4, 5), Wt(32, 8, 1, 1, 1), Wt(32), w_input=True)
save('test_fconv_rtw_k3p1_m20_2d', 'Conv', X(1, 3, 6, 17), Wt(20, 3, 3, 3), pads=[1] * 4, w_input=True)
save('test_fconv_rtw_k5p2_m16_1d', 'Conv', X(2, 6, 30), Wt(16, 6, 5), Wt(16), pads=[2, 2], w_input=True)
save('test_fconvt_rtw_k3s1p1_m16_3d', 'ConvTranspose', X(1, 8, 4, 5, 15), Wt(8, 16, 3, 3, 3), pads=[1] * 6, w_input=True)
save('test_fconvt_rtw_k3s1p0_m32_2d', 'ConvTranspose', X(1, 5, 6, 9), Wt(5, 32, 3, 3), Wt(32), w_input=True)
save('test_fconvt_rtw_k3s1_asym_m16_3d', 'ConvTranspose', X(1, 4, 4, 5, 13), Wt(4, 16, 3, 3, 3), Wt(16),
     pads=[0, 1, 2, 2, 1, 0], w_input=True)
save('test_fconvt_rtw_k2s2_m16_3d', 'ConvTranspose', X(1, 8, 3, 4, 5), Wt(8, 16, 2, 2, 2), Wt(16), strides=[2] * 3,
     w_input=True)
save('test_fconvt_rtw_k2s2_m16_2d', 'ConvTranspose', X(2, 5, 3, 7), Wt(5, 16, 2, 2), Wt(16), strides=[2] * 2, w_input=True)
save('test_fconvt_rtw_k3s3_m6_1d', 'ConvTranspose', X(1, 4, 9), Wt(4, 6, 3), strides=[3], w_input=True)
save('test_fconvt_rtw_k2s2_m3_3d', 'ConvTranspose', X(1, 4, 3, 2, 5), Wt(4, 3, 2, 2, 2), Wt(3), strides=[2] * 3, w_input=True)

# Winograd F(2x2x2, 3x3x3) and F(2x2, 3x3) (ops/conv_wino.c: 3x3x3 or 3x3, stride 1, at least 8 input and output channels,
# Y channels-last: a 1x1 MaxPool after the Conv keeps its output in the channels-last region):
# odd output sizes and a partial channel block (M = 20), two samples without padding (2 full W tile
# groups and a remainder), asymmetric padding, many input channels (fewer tiles per group), a
# volume smaller than one 4^3 patch (border path only), a LeakyRelu + residual epilogue.
def save_wino(name, x, w, b, pads, act=None, r=None):
    nodes = [helper.make_node('Conv', ['in0', 'w'] + (['b'] if b is not None else []), ['c'], pads=pads)]
    y = conv_ref(x, w, b, pads)
    last = 'c'
    if act:
        nodes.append(helper.make_node('LeakyRelu', ['c'], ['a'], alpha=0.125)); last = 'a'
        y = np.where(y >= 0, y, 0.125 * y)
    if r is not None:
        nodes += [ident('in1', 'r1', x.ndim - 2), helper.make_node('Add', [last, 'r1'], ['s'])]; last = 's'
        y = y + r
    nodes.append(ident(last, 'out0', x.ndim - 2))
    inits = [('w', w)] + ([('b', b)] if b is not None else [])
    save_graph(name, x, nodes, inits, [('in1', r)] if r is not None else (), lambda: y.astype(np.float32))
save_wino('test_fconv_wino_odd_m20_3d', X(1, 8, 5, 7, 9), Wt(20, 8, 3, 3, 3), Wt(20), [1] * 6)
save_wino('test_fconv_wino_n2_valid_3d', X(2, 16, 6, 5, 30), Wt(16, 16, 3, 3, 3), None, [0] * 6)
save_wino('test_fconv_wino_asym_3d', X(1, 12, 6, 6, 11), Wt(24, 12, 3, 3, 3), Wt(24), [0, 1, 2, 2, 1, 0])
save_wino('test_fconv_wino_c128_3d', X(1, 128, 3, 4, 10), Wt(16, 128, 3, 3, 3), Wt(16), [1] * 6)
save_wino('test_fconv_wino_tiny_3d', X(1, 8, 2, 3, 2), Wt(8, 8, 3, 3, 3), Wt(8), [1] * 6)
save_wino('test_fconv_wino_lrelu_res_3d', X(1, 16, 4, 6, 17), Wt(16, 16, 3, 3, 3), Wt(16), [1] * 6, act=True,
          r=X(1, 16, 4, 6, 17))
save_wino('test_fconv_wino_odd_m20_2d', X(1, 8, 9, 13), Wt(20, 8, 3, 3), Wt(20), [1] * 4)
save_wino('test_fconv_wino_n2_asym_2d', X(2, 16, 6, 30), Wt(16, 16, 3, 3), Wt(16), [0, 1, 2, 0], act=True,
          r=X(2, 16, 6, 30)[:, :, :, :29])

# Few output channels (ops/conv_direct.c, dot_tile): input channels in the vector lanes, the
# lanes summed at the store. The dot cases (C a multiple of 8, M <= 3, at least 8 taps) must
# take that form (tests/path_check.sh dot); the others (M = 5, 9, 14) are heads the target's
# vector width decides (with 16 lanes M = 5 is a dot case too).
save('test_fconv_dot_m1_c8_3d', 'Conv', X(1, 8, 5, 6, 13), Wt(1, 8, 3, 3, 3), Wt(1), pads=[1] * 6)
save('test_fconv_dot_m2_c16_s2_3d', 'Conv', X(1, 16, 7, 6, 11), Wt(2, 16, 3, 3, 3), Wt(2), strides=[2] * 3, pads=[1] * 6)
save('test_fconv_dot_m3_c16_n2_2d', 'Conv', X(2, 16, 9, 23), Wt(3, 16, 3, 3), Wt(3), pads=[1] * 4)
save('test_fconv_dot_m2_c24_asym_2d', 'Conv', X(1, 24, 6, 19), Wt(2, 24, 3, 3), pads=[0, 2, 1, 0])
save('test_fconv_dot_m3_dil2_3d', 'Conv', X(1, 8, 6, 7, 12), Wt(3, 8, 3, 3, 3), Wt(3), dil=[2] * 3, pads=[2] * 6)
save('test_fconv_dot_m1_k9_n2_1d', 'Conv', X(2, 16, 41), Wt(1, 16, 9), Wt(1), pads=[4, 4])
save('test_fconv_dot_m2_k3p0_3d', 'Conv', X(1, 8, 5, 5, 9), Wt(2, 8, 3, 3, 3), Wt(2))
save('test_fconvt_dot_k3s2p1op1_m2_3d', 'ConvTranspose', X(1, 16, 4, 5, 6), Wt(16, 2, 3, 3, 3), Wt(2), strides=[2] * 3,
     pads=[1] * 6, op_pad=[1] * 3)
save('test_fconvt_dot_k3s1p1_m3_3d', 'ConvTranspose', X(1, 8, 4, 5, 7), Wt(8, 3, 3, 3, 3), Wt(3), pads=[1] * 6)
save('test_fconv_few_m5_c16_3d', 'Conv', X(1, 16, 4, 5, 9), Wt(5, 16, 3, 3, 3), Wt(5), pads=[1] * 6)
save('test_fconv_few_m9_c16_2d', 'Conv', X(1, 16, 7, 13), Wt(9, 16, 3, 3), Wt(9), pads=[1] * 4)
save('test_fconv_few_m14_c16_k1_3d', 'Conv', X(1, 16, 3, 5, 7), Wt(14, 16, 1, 1, 1), Wt(14))
x = X(1, 8, 5, 6, 11); w = Wt(2, 8, 3, 3, 3); b = Wt(2); r = X(1, 2, 5, 6, 11)
save_graph('test_fconv_dot_fuse_relu_add_3d', x,
           [ident('in0', 'i0', 3), helper.make_node('Conv', ['i0', 'w', 'b'], ['c'], pads=[1] * 6),
            helper.make_node('Relu', ['c'], ['a']), helper.make_node('Add', ['a', 'in1'], ['out0'])],
           [('w', w), ('b', b)], [('in1', r)],
           lambda: (np.maximum(conv_ref(x, w, b, [1] * 6), 0) + r).astype(np.float32))
x = X(1, 16, 6, 17); w = Wt(3, 16, 3, 3); b = Wt(3)
save_graph('test_fconv_dot_fuse_lrelu_out_2d', x,
           [ident('in0', 'i0', 2), helper.make_node('Conv', ['i0', 'w', 'b'], ['c'], pads=[1] * 4),
            helper.make_node('LeakyRelu', ['c'], ['out0'], alpha=0.125)],
           [('w', w), ('b', b)], (), lambda: (lambda c: np.where(c >= 0, c, 0.125 * c))(conv_ref(x, w, b, [1] * 4)).astype(np.float32))
a = X(1, 8, 4, 5, 9); b_ = X(1, 8, 4, 5, 9); w = Wt(1, 16, 3, 3, 3); b = Wt(1)
save_graph('test_fconv_dot_concat2_sigmoid_3d', a,
           [ident('in0', 'i0', 3), ident('in1', 'i1', 3), helper.make_node('Concat', ['i0', 'i1'], ['x'], axis=1),
            helper.make_node('Conv', ['x', 'w', 'b'], ['c'], pads=[1] * 6), helper.make_node('Sigmoid', ['c'], ['out0'])],
           [('w', w), ('b', b)], [('in1', b_)],
           lambda: (1 / (1 + np.exp(-conv_ref(np.concatenate([a, b_], 1), w, b, [1] * 6)))).astype(np.float32))

# One or two input channels (ops/conv_direct.c, vox_tile): output voxels in the vector lanes, the
# output channels unrolled (tests/path_check.sh vox); the c1 cases here keep the channel form.
save('test_fconv_vox_m2_c1_3d', 'Conv', X(1, 1, 5, 6, 37), Wt(2, 1, 3, 3, 3), Wt(2), pads=[1] * 6)
save('test_fconv_vox_m2_c2_n2_2d', 'Conv', X(2, 2, 7, 29), Wt(2, 2, 3, 3), Wt(2), pads=[1] * 4)
save('test_fconv_vox_m1_c2_asym_2d', 'Conv', X(1, 2, 6, 21), Wt(1, 2, 3, 3), pads=[0, 2, 1, 0])
save('test_fconv_c1_m2_s2_3d', 'Conv', X(1, 1, 7, 8, 35), Wt(2, 1, 3, 3, 3), Wt(2), strides=[2] * 3, pads=[1] * 6)
save('test_fconv_vox_m3_c1_dil2_3d', 'Conv', X(1, 1, 6, 7, 19), Wt(3, 1, 3, 3, 3), Wt(3), dil=[2] * 3, pads=[2] * 6)
save('test_fconv_vox_m4_c1_k5_1d', 'Conv', X(2, 1, 45), Wt(4, 1, 5), Wt(4), pads=[2, 2])
save('test_fconvt_c1_k3s2p1op1_m2_3d', 'ConvTranspose', X(1, 1, 4, 5, 9), Wt(1, 2, 3, 3, 3), Wt(2), strides=[2] * 3,
     pads=[1] * 6, op_pad=[1] * 3)
x = X(1, 2, 5, 6, 23); w = Wt(2, 2, 3, 3, 3); b = Wt(2); r = X(1, 2, 5, 6, 23)
save_graph('test_fconv_vox_fuse_relu_add_3d', x,
           [ident('in0', 'i0', 3), helper.make_node('Conv', ['i0', 'w', 'b'], ['c'], pads=[1] * 6),
            helper.make_node('Relu', ['c'], ['a']), helper.make_node('Add', ['a', 'in1'], ['out0'])],
           [('w', w), ('b', b)], [('in1', r)],
           lambda: (np.maximum(conv_ref(x, w, b, [1] * 6), 0) + r).astype(np.float32))
x = X(1, 2, 9, 26); w = Wt(2, 2, 3, 3); b = Wt(2)
save_graph('test_fconv_vox_fuse_lrelu_tail_2d', x,
           [ident('in0', 'i0', 2), helper.make_node('Conv', ['i0', 'w', 'b'], ['c'], pads=[1] * 4),
            helper.make_node('LeakyRelu', ['c'], ['l']), ident('l', 'out0', 2)],
           [('w', w), ('b', b)], (), lambda: (lambda c: np.where(c >= 0, c, 0.01 * c))(conv_ref(x, w, b, [1] * 4)).astype(np.float32))
# the tile kernel (conv_amx.c) on few, even input channels (BraTS' 4 modalities): the grid's 16 channels, zeros past C
# (Y channels-last as in save_wino)
save_wino('test_fconv_amx_c4_m16_3d', X(1, 4, 5, 6, 21), Wt(16, 4, 3, 3, 3), Wt(16), [1] * 6)
save_wino('test_fconv_amx_c2_m32_2d', X(1, 2, 9, 37), Wt(32, 2, 3, 3), Wt(32), [1] * 4, act=True)
# ... on one float32 channel (BasicUNet's and UNETR's image): its bf16 high and low parts in the grid's two channels
# (conv_amx.c lo2; amx_check runs it on normal data, where the low parts are not zero)
save_wino('test_fconv_amx_c1_m16_3d', X(1, 1, 5, 6, 21), Wt(16, 1, 3, 3, 3), Wt(16), [1] * 6)
# the tile ConvTranspose over enough row blocks (720 voxels: 23, the last partial) to take the pipelined form (a row
# block's 6 panels of 24-channel taps under one tile configuration, each panel's epilogue during the next products)
save('test_fconvt_k2s2_m24_pipe_3d', 'ConvTranspose', X(1, 8, 8, 9, 10), Wt(8, 24, 2, 2, 2), Wt(24), strides=[2] * 3)
# a pointwise convolution of two bf16 parts (UNETR's decoder conv3 after its ConvTranspose and skip: conv_amx.c
# amx_direct, the A tiles read from the parts in place; 12 x 16 = 6 blocks of 32 a slab; Y channels-last as in save_wino)
# (the ConvTransposes' data and weights in halves up to 1: their outputs, sums of 8 products, stay exact in bf16)
def H(*s): return (rng.integers(-2, 3, s) / 2).astype(np.float32)
a = H(1, 8, 4, 6, 8); b_ = H(1, 8, 4, 6, 8); wt0 = H(8, 16, 2, 2, 2); wt1 = H(8, 16, 2, 2, 2)
w = Wt(16, 32, 1, 1, 1); b = Wt(16)
def k1_parts_ref():
    t0 = ref('ConvTranspose', a, wt0, None, [2] * 3, [0] * 6, [1] * 3, [0] * 3)
    t1 = ref('ConvTranspose', b_, wt1, None, [2] * 3, [0] * 6, [1] * 3, [0] * 3)
    return conv_ref(np.concatenate([t0, t1], 1), w, b).astype(np.float32)
save_graph('test_fconv_amx_k1_parts2_3d', a,
           [helper.make_node('ConvTranspose', ['in0', 'wt0'], ['t0'], kernel_shape=[2] * 3, strides=[2] * 3),
            helper.make_node('ConvTranspose', ['in1', 'wt1'], ['t1'], kernel_shape=[2] * 3, strides=[2] * 3),
            helper.make_node('Concat', ['t0', 't1'], ['x'], axis=1), helper.make_node('Conv', ['x', 'w', 'b'], ['c']),
            ident('c', 'out0', 3)],
           [('wt0', wt0), ('wt1', wt1), ('w', w), ('b', b)], [('in1', b_)], k1_parts_ref)
