#!/usr/bin/env python3
"""Node tests (ONNX backend-test layout, opset 17) for the blocked MatMul/Gemm kernels with a constant B,
including their bf16 pair and AMX tile forms (ops/matmul.c): shapes with partial row blocks, k chunks and
column panels, batch dims folded into the rows or kept (a B with batch dims), Gemm with transB and a
FusedMatMul epilogue (bias, Relu, residual). Data are small dyadic numbers (A in 1/4 steps, B and the bias in
1/8 steps) so that bf16 holds them exactly and every product and partial sum is exact in float32: the expected
outputs (numpy, float64) hold for any summation order, in float32 and with --precision bf16.
Regenerate: python3 tests/node_extra/gen_matmul_fast.py"""
import numpy as np
from onnx import helper
import nodegen

OUT = nodegen.fresh_out(__file__, 'matmul_fast')
rng = np.random.default_rng(11)
def A(*s): return (rng.integers(-8, 9, s) / 4).astype(np.float32)
def W(*s): return (rng.integers(-8, 9, s) / 8).astype(np.float32)
def f32(y): return np.asarray(y, dtype=np.float64).astype(np.float32)

def matmul(name, sa, sb):
    a, b = A(*sa), W(*sb)
    nodegen.save(OUT, name, [helper.make_node('MatMul', ['a', 'b'], ['y'])], [('a', a)],
                 [('y', f32(np.matmul(a.astype(np.float64), b.astype(np.float64))))], inits=[('b', b)])

# (at least 64 columns: with fewer, --precision bf16 reads A as float32, passes/precision.c few_macs)
matmul('mmf_m37_k40_n80', (37, 40), (40, 80))            # a partial row block, k chunk and panel
matmul('mmf_b3_m70_k96_n100', (3, 70, 96), (96, 100))    # batch folded into the rows
matmul('mmf_bb2_m20_k32_n72', (2, 20, 32), (2, 32, 72))  # B with a batch dim
matmul('mmf_m64_k64_n64', (64, 64), (64, 64))            # whole blocks only

# Gemm with transB and a bias row
a, b, c = A(40, 48), W(72, 48), W(72)
nodegen.save(OUT, 'mmf_gemm_tb', [helper.make_node('Gemm', ['a', 'b', 'c'], ['y'], transB=1)], [('a', a)],
             [('y', f32(a.astype(np.float64) @ b.T.astype(np.float64) + c))], inits=[('b', b), ('c', c)])

# MatMul + bias, Relu, + residual: one FusedMatMul (passes/fuse_matmul.c)
a, b, bias, r = A(2, 33, 64), W(64, 80), W(80), A(2, 33, 80)
y = np.maximum(a.astype(np.float64) @ b.astype(np.float64) + bias, 0) + r
nodes = [helper.make_node('MatMul', ['a', 'b'], ['t0']), helper.make_node('Add', ['t0', 'bias'], ['t1']),
         helper.make_node('Relu', ['t1'], ['t2']), helper.make_node('Add', ['t2', 'r'], ['y'])]
nodegen.save(OUT, 'mmf_fused_relu_res', nodes, [('a', a), ('r', r)], [('y', f32(y))],
             inits=[('b', b), ('bias', bias)])
print('ok')
