#!/usr/bin/env python3
"""make_conv_model.py OUT.onnx OP C M S [K STRIDE PAD NSP BIAS]: one Conv,
ConvTranspose, MaxPool or AveragePool (M ignored) on a [1, C, S...] input
with random weights (benchmarks)."""
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper

out, op, C, M, S = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
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
if op in ('MaxPool', 'AveragePool'):
    Sout = (S + 2 * pad - K) // st + 1
    node = helper.make_node(op, ['X'], ['Y'], kernel_shape=[K] * nsp, strides=[st] * nsp, pads=[pad] * 2 * nsp)
    g = helper.make_graph([node], 'bench', [helper.make_tensor_value_info('X', TensorProto.FLOAT, [1, C] + [S] * nsp)],
                          [helper.make_tensor_value_info('Y', TensorProto.FLOAT, [1, C] + [Sout] * nsp)])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)]), out)
    sys.exit(0)
if op == 'Conv':
    Sout = (S + 2 * pad - K) // st + 1
else:
    Sout = (S - 1) * st + K - 2 * pad
node = helper.make_node(op, ins, ['Y'], kernel_shape=[K] * nsp, strides=[st] * nsp, pads=[pad] * 2 * nsp)
g = helper.make_graph([node], 'bench', [helper.make_tensor_value_info('X', TensorProto.FLOAT, [1, C] + [S] * nsp)],
                      [helper.make_tensor_value_info('Y', TensorProto.FLOAT, [1, M] + [Sout] * nsp)], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])
onnx.save(m, out)
