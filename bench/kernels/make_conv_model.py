#!/usr/bin/env python3
"""make_conv_model.py OUT.onnx OP C M S [K STRIDE PAD NSP BIAS]: one Conv,
ConvTranspose, MaxPool or AveragePool (M ignored) on a [1, C, S...] input
with random weights (benchmarks). Env TAIL=1 appends a 1x1 MaxPool so the
convolution's output stays channels-last (else passes/fuse_conv.c makes it
write the channels-first model output directly)."""
import os
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper

out, op, C, M = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
SS = [int(v) for v in sys.argv[5].split('x')]  # S or DxHxW
K = int(sys.argv[6]) if len(sys.argv) > 6 else 3
st = int(sys.argv[7]) if len(sys.argv) > 7 else 1
pad = int(sys.argv[8]) if len(sys.argv) > 8 else (K // 2 if op == 'Conv' else 0)
nsp = int(sys.argv[9]) if len(sys.argv) > 9 else 3
bias = int(sys.argv[10]) if len(sys.argv) > 10 else 1
rng = np.random.default_rng(0)
wshape = [M, C] + [K] * nsp if op == 'Conv' else [C, M] + [K] * nsp
W = (rng.standard_normal(wshape) / np.sqrt(C * K ** nsp)).astype(np.float32)
inits = [numpy_helper.from_array(W, 'W')]
ins = ['X', 'W']
if bias:
    inits.append(numpy_helper.from_array(rng.standard_normal(M).astype(np.float32), 'B'))
    ins.append('B')
if len(SS) == 1: SS = SS * nsp
osz = lambda S: (S + 2 * pad - K) // st + 1 if op != 'ConvTranspose' else (S - 1) * st + K - 2 * pad
if op in ('MaxPool', 'AveragePool'):
    node = helper.make_node(op, ['X'], ['Y'], kernel_shape=[K] * nsp, strides=[st] * nsp, pads=[pad] * 2 * nsp)
    g = helper.make_graph([node], 'bench', [helper.make_tensor_value_info('X', TensorProto.FLOAT, [1, C] + SS)],
                          [helper.make_tensor_value_info('Y', TensorProto.FLOAT, [1, C] + [osz(S) for S in SS])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)]), out)
    sys.exit(0)
tail = os.environ.get('TAIL') == '1'
node = helper.make_node(op, ins, ['Yc' if tail else 'Y'], kernel_shape=[K] * nsp, strides=[st] * nsp, pads=[pad] * 2 * nsp)
nodes = [node] + ([helper.make_node('MaxPool', ['Yc'], ['Y'], kernel_shape=[1] * nsp)] if tail else [])
g = helper.make_graph(nodes, 'bench', [helper.make_tensor_value_info('X', TensorProto.FLOAT, [1, C] + SS)],
                      [helper.make_tensor_value_info('Y', TensorProto.FLOAT, [1, M] + [osz(S) for S in SS])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])
onnx.save(m, out)
