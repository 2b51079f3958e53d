#!/usr/bin/env python3
"""Extra node tests (ONNX backend-test layout) for integer arithmetic at the
edges where C has undefined behaviour and unetrc defines a result
(docs/ops.md, "Integer semantics"): INT_MIN / -1, division and modulo by
zero at run time, Neg/Abs of INT_MIN, Add/Sub/Mul/Pow/ReduceSum/MatMul
overflow (wraps), Cast of NaN/inf/out-of-range floats (saturates, NaN gives
0), BitShift by the width or more (0), integer Range next to INT64_MAX, and
the same cases folded at compile time (constant operands). References are
computed here with Python integers (exact, then wrapped to the type), which
is what numpy gives where numpy defines the case. tests/CMakeLists.txt runs
them with the generated C built with -fsanitize=undefined. Regenerate:
    python3 tests/node_extra/gen_arith.py"""
import math

import numpy as np
from onnx import helper, TensorProto

import nodegen
from nodegen import TP

OUT = nodegen.fresh_out(__file__, "arith")
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


def save(name, nodes, inputs, outputs, inits=(), opset=17):
    """inputs/outputs: (name, array) pairs; inits: (name, array) constants."""
    nodegen.save(OUT, name, nodes, inputs, outputs, inits, opset)


def wrap(v, dt):
    """Python int v wrapped to numpy integer type dt (two's complement)."""
    info = np.iinfo(dt)
    bits = info.bits
    v &= (1 << bits) - 1
    if info.min < 0 and v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


def arr(values, dt):
    return np.array([wrap(int(v), dt) for v in values], dt)


def tdiv(a, b):  # ONNX Div on integers truncates; x / 0 = 0
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def trem(a, b):  # remainder with the dividend's sign (fmod=1); x % 0 = 0
    return 0 if b == 0 else a - b * tdiv(a, b)


def pymod(a, b):  # remainder with the divisor's sign (fmod=0); x % 0 = 0
    return 0 if b == 0 else a % b


def ipow(a, b):  # wraps (the caller wraps); b < 0: truncated 1/a^-b
    if b < 0:
        return 1 if a == 1 else ((-1 if b % 2 else 1) if a == -1 else 0)
    return pow(a, b, 1 << 64)


def ref(fn, a, b, dt):
    return arr([fn(int(p), int(q)) for p, q in zip(a, b)], dt)


class Init:
    def __init__(self, array):
        self.array = array


class Group:
    """One test model holding several cases (each test builds its C once:
    fewer, larger tests keep the suite fast). Operands are run-time inputs
    (the interpreter and the generated C compute them) or, with const=True,
    initializers the compiler folds with its interpreter before adding a
    run-time input of zeros."""

    def __init__(self, name):
        self.name, self.nodes, self.inputs, self.outputs, self.inits = name, [], [], [], []
        self.names = {}  # id(array), const -> its name: an array used twice is one input (the runner takes <= 16)

    def operand(self, a, const=False):
        if isinstance(a, Init):  # an attribute-like constant input (axes): an initializer, whatever const says
            a, const = a.array, True
        key = (id(a), const)
        if key not in self.names:
            self.names[key] = f"{'c' if const else 'x'}{len(self.inputs) + len(self.inits)}"
            (self.inits if const else self.inputs).append((self.names[key], a))
        return self.names[key]

    def node(self, op, operands, y, const=False, **attrs):
        names = [self.operand(a, const) for a in operands]
        out = f"y{len(self.outputs)}"
        if const:
            self.nodes.append(helper.make_node(op, names, [out + "_c"], **attrs))
            self.nodes.append(helper.make_node("Add", [out + "_c", self.operand(np.zeros_like(y))], [out]))
        else:
            self.nodes.append(helper.make_node(op, names, [out], **attrs))
        self.outputs.append((out, y))

    def save(self, opset=17):
        save(self.name, self.nodes, self.inputs, self.outputs, self.inits, opset)


# -- Div and Mod: INT_MIN / -1, division by zero at run time, signs; folded at compile time (was SIGFPE)
for dt, lo, hi in ((np.int64, I64_MIN, I64_MAX), (np.int32, I32_MIN, I32_MAX), (np.int8, -128, 127)):
    g = Group(f"div_mod_{np.dtype(dt).name}_edges")
    a = arr([lo, lo, lo, 7, -7, 7, -7, hi, 5, -5, 0, hi], dt)
    b = arr([-1, 1, 2, 2, 2, -2, -2, -1, 0, 0, 0, lo], dt)
    g.node("Div", [a, b], ref(tdiv, a, b, dt))
    g.node("Mod", [a, b], ref(pymod, a, b, dt))
    g.node("Mod", [a, b], ref(trem, a, b, dt), fmod=1)
    g.save()
g = Group("div_mod_uint64_zero")
a = arr([(1 << 64) - 1, 7, 5, 0], np.uint64)
b = arr([(1 << 64) - 1, 0, 3, 0], np.uint64)
g.node("Div", [a, b], ref(tdiv, a, b, np.uint64))
g.node("Mod", [a, b], ref(pymod, a, b, np.uint64))
g.save()

g = Group("int64_edges_folded")  # every case below through the constant folder
a = arr([I64_MIN, I64_MIN, 7, -7], np.int64)
b = arr([-1, 3, -2, 2], np.int64)
g.node("Div", [a, b], ref(tdiv, a, b, np.int64), const=True)
g.node("Mod", [a, b], ref(pymod, a, b, np.int64), const=True)
g.node("Mod", [a, b], ref(trem, a, b, np.int64), const=True, fmod=1)
x = arr([I64_MIN, 5, -1], np.int64)
g.node("Neg", [x], arr([-int(v) for v in x], np.int64), const=True)
g.node("Abs", [x], arr([abs(int(v)) for v in x], np.int64), const=True)
a = arr([I64_MAX, I64_MIN, 1 << 62], np.int64)
b = arr([1, -1, 4], np.int64)
g.node("Add", [a, b], ref(lambda p, q: p + q, a, b, np.int64), const=True)
g.node("Mul", [a, b], ref(lambda p, q: p * q, a, b, np.int64), const=True)
a = arr([3, -2, 2, -1], np.int64)
b = arr([I64_MAX, 63, -1, -3], np.int64)
g.node("Pow", [a, b], ref(ipow, a, b, np.int64), const=True)
c = np.array([np.nan, -np.inf, 1e10], np.float32)
g.node("Cast", [c], np.array([0, I32_MIN, I32_MAX], np.int32), const=True, to=TensorProto.INT32)
x = arr([1, 1, 8], np.uint64)
s = arr([64, 63, 200], np.uint64)
g.node("BitShift", [x, s], ref(lambda p, q: p << q if q < 64 else 0, x, s, np.uint64), const=True, direction="LEFT")
g.save()

# -- Neg and Abs of INT_MIN wrap to INT_MIN (numpy)
g = Group("neg_abs_int_min")
for dt, lo, hi in ((np.int64, I64_MIN, I64_MAX), (np.int32, I32_MIN, I32_MAX)):
    x = arr([lo, lo + 1, -1, 0, hi], dt)
    g.node("Neg", [x], arr([-int(v) for v in x], dt))
    g.node("Abs", [x], arr([abs(int(v)) for v in x], dt))
g.save()

# -- Add, Sub, Mul, PRelu overflow wraps around
g = Group("add_sub_mul_overflow")
for dt, lo, hi in ((np.int64, I64_MIN, I64_MAX), (np.int32, I32_MIN, I32_MAX), (np.uint16, 0, 65535)):
    a = arr([hi, lo, hi, lo, hi, 3], dt)
    b = arr([1, -1 if lo else 1, hi, lo, 2, -3 if lo else 3], dt)
    g.node("Add", [a, b], ref(lambda p, q: p + q, a, b, dt))
    g.node("Sub", [a, b], ref(lambda p, q: p - q, a, b, dt))
    g.node("Mul", [a, b], ref(lambda p, q: p * q, a, b, dt))
g.node("PRelu", [arr([I64_MIN, -3, 4], np.int64), arr([2, I64_MAX, 5], np.int64)],
       arr([2 * I64_MIN, -3 * I64_MAX, 4], np.int64))
g.save()

# -- Mean of integers wraps the sum in the type, then divides (the interpreter divided the exact sum);
#    Clip of uint64 compares unsigned (the interpreter compared int64 bit patterns)
g = Group("mean_clip_int")
a = arr([100, -100, 127, 7], np.int8)
b = arr([100, -100, 1, -8], np.int8)
g.node("Mean", [a, b], arr([tdiv(wrap(int(p) + int(q), np.int8), 2) for p, q in zip(a, b)], np.int8))
x = arr([(1 << 64) - 1, 5, 1 << 63, 1 << 62], np.uint64)
lo, hi = np.array(10, np.uint64), np.array((1 << 63) + 5, np.uint64)
g.node("Clip", [x, lo, hi], np.clip(x, lo, hi))
g.save()

# -- Pow: integer exponents wrap (3^INT64_MAX was 2^63 multiplications); a float exponent gives a float
#    result converted back (NaN gives 0, out of range saturates)
g = Group("pow_int")
a = arr([3, 2, -2, 1, -1, -1, 0, 5, 3, 7, 2], np.int64)
b = arr([50, -1, 63, -5, -3, -4, -1, 0, I64_MAX, 1, 64], np.int64)
g.node("Pow", [a, b], ref(ipow, a, b, np.int64))
a = arr([2, -3, 10, -1, 2], np.int32)
b = arr([31, 21, 10, 1 << 32, (1 << 32) + 1], np.int64)  # the generated C cut the exponent to int32
g.node("Pow", [a, b], ref(ipow, a, b, np.int32))
g.node("Pow", [arr([2, -8, 2, -2, 3], np.int32), np.array([100, 0.5, -1, 31, 2], np.float32)],
       arr([I32_MAX, 0, 0, I32_MIN, 9], np.int32))
g.save()


# -- Cast of NaN, +-inf and out-of-range floats: NaN gives 0, others saturate, in-range values truncate
def cast_ref(v, dt):
    info = np.iinfo(dt)
    if math.isnan(v):
        return 0
    if v <= info.min:
        return info.min
    if v >= info.max:
        return info.max
    return int(v)


g = Group("cast_float_to_int_nan_range")
f = np.array([np.nan, np.inf, -np.inf, 3e9, -3e9, 1e20, -1e20, 300.7, -200.5, 2.5, -2.5, 0.0, 65535.9, 127.9,
              -128.9, 2147483647.0, 9.3e18], np.float32)
for dt in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64):
    g.node("Cast", [f], np.array([cast_ref(float(v), dt) for v in f], dt), to=TP[dt])
d = f.astype(np.float64)
d[-1] = 1.8446744073709552e19  # 2^64: exactly the first uint64 out of range
g.node("Cast", [d], np.array([cast_ref(float(v), np.uint64) for v in d], np.uint64), to=TensorProto.UINT64)
h = np.array([np.nan, np.inf, -np.inf, 65504, -65504, 1.5], np.float16)
g.node("Cast", [h], np.array([cast_ref(float(v), np.int8) for v in h], np.int8), to=TensorProto.INT8)
g.save()

# -- BitShift by the type's width or more gives 0 (numpy)
g = Group("bitshift_width")
for dt in (np.uint64, np.uint32, np.uint8):
    w = np.iinfo(dt).bits
    x = arr([1, 1, (1 << w) - 1, 1, 1, (1 << w) - 1, 5], dt)
    s = arr([0, w - 1, 1, w, w + 1, (1 << w) - 1, 2], dt)
    g.node("BitShift", [x, s], ref(lambda p, q: p << q if q < w else 0, x, s, dt), direction="LEFT")
    g.node("BitShift", [x, s], ref(lambda p, q: p >> q if q < w else 0, x, s, dt), direction="RIGHT")
g.save()

# -- integer reductions, MatMul and Einsum wrap; ReduceLogSum of 0 converts -inf (saturates)
g = Group("reduce_matmul_int_wrap")
x = arr([I64_MAX, 1, I64_MIN, -1], np.int64).reshape(2, 2)
g.node("ReduceSum", [x, Init(np.array([1], np.int64))], arr([I64_MIN, I64_MAX], np.int64), keepdims=0)
g.node("ReduceProd", [x], arr([I64_MAX * I64_MIN, -1], np.int64), axes=[0], keepdims=0)
g.node("ReduceL1", [x], arr([I64_MAX + 1, -I64_MIN + 1], np.int64), axes=[1], keepdims=0)
g.node("ReduceLogSum", [np.array([[0, 0], [1, 0]], np.int32)], np.array([I32_MIN, 0], np.int32), axes=[1], keepdims=0)
g.node("MatMul", [x, arr([1, 1], np.int64).reshape(2, 1)], arr([I64_MIN, I64_MAX], np.int64).reshape(2, 1))
g.node("Einsum", [arr([I32_MAX, 2], np.int32), arr([2, 1], np.int32)], np.array(wrap(2 * I32_MAX + 2, np.int32), np.int32),
       equation="i,i->")
g.save()

# -- Range next to INT64_MAX (the count was computed in double: 0 elements; i * delta overflowed),
#    Gather's extreme run-time indices (wrapped, then clamped: docs/ops.md), Slice with starts, ends and
#    steps at the int64 limits (clamped, as numpy slicing)
g = Group("index_int64_extremes")
rng_args = [np.array(v, np.int64) for v in (I64_MAX - 5, I64_MAX, 2)]
g.node("Range", rng_args, arr([I64_MAX - 5, I64_MAX - 3, I64_MAX - 1], np.int64), const=True)
rng_args = [np.array(v, np.int64) for v in (I64_MIN, I64_MAX, I64_MAX)]
g.node("Range", rng_args, arr([I64_MIN, -1, I64_MAX - 1], np.int64), const=True)
data = np.arange(8, dtype=np.float32).reshape(2, 4)
# indices must lie in [-size, size-1] (out of range is an error, docs/input_checks.md): the extremes of that range
g.node("Gather", [data, arr([-4, 3, -1, 0], np.int64)], data[:, [0, 3, 3, 0]], axis=1)
for st, en, sp in ((I64_MAX, I64_MIN, I64_MIN), (I64_MIN, I64_MAX, I64_MAX), (-1, I64_MIN, -1)):
    g.node("Slice", [data, Init(np.array([st], np.int64)), Init(np.array([en], np.int64)),
                     Init(np.array([1], np.int64)), Init(np.array([sp], np.int64))], data[:, st:en:sp])
g.save()
print("arith node tests written to", OUT)
