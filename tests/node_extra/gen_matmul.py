#!/usr/bin/env python3
"""Extra node tests (ONNX backend-test layout) for MatMul, Gemm and Einsum at
opset 13: cases the Debian test data lacks (its Einsum tests are opset 12).
Expected outputs come from numpy. Regenerate: python3 tests/node_extra/gen_matmul.py"""
import numpy as np, onnx, os, sys
from onnx import helper, numpy_helper, TensorProto
import nodegen
OUT = nodegen.fresh_out(__file__, 'matmul')
rng = np.random.default_rng(0)
NP2TP = {np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE, np.int32: TensorProto.INT32,
         np.int64: TensorProto.INT64, np.uint32: TensorProto.UINT32, np.uint64: TensorProto.UINT64,
         np.int8: TensorProto.INT8, np.uint8: TensorProto.UINT8, np.int16: TensorProto.INT16}

def save(name, node, inputs, outputs, opset=13, inits=()):
    ivi = [helper.make_tensor_value_info(n, NP2TP[a.dtype.type], a.shape) for n, a in inputs]
    ovi = [helper.make_tensor_value_info(n, NP2TP[a.dtype.type], a.shape) for n, a in outputs]
    g = helper.make_graph([node], name, ivi, ovi, initializer=[numpy_helper.from_array(a, n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)])
    onnx.checker.check_model(m)
    nodegen.write_case(os.path.join(OUT, 'test_' + name), m, inputs, outputs)

def rnd(shape, dt=np.float32):
    if np.issubdtype(dt, np.integer):
        lo = 0 if np.issubdtype(dt, np.unsignedinteger) else -5
        return rng.integers(lo, 6, size=shape).astype(dt)
    return rng.standard_normal(shape).astype(dt)

# MatMul
mm = [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((5, 2, 3), (3,)), ((3,), (2, 3, 4)),
      ((2, 1, 4, 3), (5, 3, 6)), ((1, 4, 3), (2, 3, 1)), ((2, 3, 4), (4, 5)), ((4, 5), (2, 5, 6)),
      ((1, 1, 2, 1, 3, 4), (2, 1, 3, 4, 2)), ((3, 0), (0, 4)), ((2, 7), (7, 1)), ((1, 7), (7, 9))]
for i, (sa, sb) in enumerate(mm):
    for dt in ([np.float32] + ([np.float64, np.int32, np.int64, np.uint32, np.uint64] if i in (5, 7) else [])):
        a, b = rnd(sa, dt), rnd(sb, dt)
        y = np.matmul(a, b).astype(dt)
        save(f'mm_matmul_{i}_{np.dtype(dt).name}', helper.make_node('MatMul', ['a', 'b'], ['y']), [('a', a), ('b', b)], [('y', y)])

# Gemm
def gemm(M, K, N, ta, tb, alpha, beta, cshape, dt=np.float32, constb=False):
    a = rnd((K, M) if ta else (M, K), dt); b = rnd((N, K) if tb else (K, N), dt)
    A = a.T if ta else a; B = b.T if tb else b
    y = alpha * (A.astype(np.float64) @ B.astype(np.float64))
    ins = [('a', a)]; inits = []
    if constb: inits.append(('b', b))
    else: ins.append(('b', b))
    names = ['a', 'b']
    if cshape is not None:
        c = rnd(cshape, dt); ins.append(('c', c)); names.append('c'); y = y + beta * c
    attrs = dict(transA=ta, transB=tb)
    if alpha != 1: attrs['alpha'] = float(alpha)
    if beta != 1: attrs['beta'] = float(beta)
    return helper.make_node('Gemm', names, ['y'], **attrs), ins, [('y', y.astype(dt))], inits
cases = [(3, 4, 5, 0, 0, 1, 1, None), (3, 4, 5, 1, 0, 0.5, 2, (5,)), (3, 4, 5, 0, 1, 1, 1, (3, 1)),
         (3, 4, 5, 1, 1, 2, 0.25, (1, 5)), (3, 4, 1, 0, 1, 1, 1, ()), (1, 6, 7, 0, 1, 1, 1, (7,)),
         (4, 6, 7, 0, 1, 1, 0, (4, 7))]
for i, c in enumerate(cases):
    n, ins, outs, inits = gemm(*c)
    save(f'mm_gemm_{i}', n, ins, outs)
n, ins, outs, inits = gemm(3, 4, 5, 0, 1, 2, 3, (3, 5), np.int32); save('mm_gemm_int32', n, ins, outs)
n, ins, outs, inits = gemm(3, 4, 5, 1, 0, 1, 1, (5,), np.float64); save('mm_gemm_f64', n, ins, outs)
n, ins, outs, inits = gemm(3, 4, 5, 0, 1, 1, 1, (5,), constb=True); save('mm_gemm_constb', n, ins, outs, inits=inits)

# Einsum
eqs = [('bij,bjk->bik', [(2, 3, 4), (2, 4, 5)]), ('ij->ji', [(3, 4)]), ('ij->i', [(3, 4)]), ('i,i', [(5,), (5,)]),
       ('...ii->...i', [(3, 5, 5)]), ('ii', [(4, 4)]), ('ij,jk', [(2, 3), (3, 4)]), ('ij,jk->', [(2, 3), (3, 4)]),
       ('blxd,blyd->blxy', [(1, 4, 8, 6), (1, 4, 7, 6)]), ('bhxy,bhyd->bhxd', [(1, 3, 8, 8), (1, 3, 8, 5)]),
       ('...ij,...jk', [(2, 3, 4), (5, 1, 4, 6)]), ('i,j->ij', [(3,), (4,)]), ('ij,ij->ij', [(3, 4), (3, 4)]),
       ('bA,a', [(2, 3), (3,)]), ('Ba,a', [(2, 3), (3,)]), ('ijk,ikl,ilm->im', [(2, 3, 4), (2, 4, 5), (2, 5, 3)]),
       ('ji...', [(2, 3, 4)]), ('...', [(2, 3)]), ('i...->...', [(3, 2, 4)]), ('iij->j', [(3, 3, 4)]),
       ('ij,jk->ik', [(2, 1), (3, 4)]), ('a b , b c -> a c', [(2, 3), (3, 4)]), ('bij,bkj->bik', [(2, 3, 4), (2, 5, 4)]),
       ('ikj,jl->lik', [(2, 3, 4), (4, 5)]), ('bxd,byd->bxy', [(1, 1, 6), (1, 3, 6)]), ('abc,cd->abd', [(2, 3, 4), (4, 5)]),
       ('xab,aby->xy', [(3, 2, 4), (2, 4, 5)]), ('i,i->', [(6,), (6,)]), ('bij,jk->bik', [(2, 3, 4), (4, 5)]),
       ('ij,kj->ik', [(3, 4), (5, 4)]), ('bi,bi->b', [(3, 4), (3, 4)]), ('...ij,...jk->...ik', [(2, 1, 3, 4), (3, 4, 2)])]
for i, (eq, shapes) in enumerate(eqs):
    for dt in ([np.float32] + ([np.float64, np.int32, np.int64, np.int8] if i in (0, 4, 15) else [])):
        xs = [rnd(s, dt) for s in shapes]
        y = np.asarray(np.einsum(eq, *[x.astype(np.float64) if dt in (np.float32, np.float64) else x.astype(np.int64) for x in xs])).astype(dt)
        names = [f'x{j}' for j in range(len(xs))]
        save(f'mm_einsum_{i}_{np.dtype(dt).name}', helper.make_node('Einsum', names, ['y'], equation=eq),
             list(zip(names, xs)), [('y', y)])
# Einsum with a constant operand
x = rnd((2, 3, 4))
w2 = rnd((5, 4))
save('mm_einsum_const_w', helper.make_node('Einsum', ['x', 'w'], ['y'], equation='bij,kj->bik'), [('x', x)],
     [('y', np.einsum('bij,kj->bik', x, w2).astype(np.float32))], inits=[('w', w2)])

print('ok', len(os.listdir(OUT)))
