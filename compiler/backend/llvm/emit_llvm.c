/* emit_llvm.c: a loop program as an LLVM module and an object file (emit_llvm.h).
 *
 * Like the C printer, this file makes no decisions: every loop, tile and
 * buffer comes from the loop program, and each construct is built with the
 * semantics the C printer gives it (docs/ops.md: integer arithmetic wraps,
 * x / 0 = 0, float -> integer conversions saturate; min/max propagate NaN).
 * Scalar variables live in allocas (the optimiser's mem2reg makes them SSA
 * values). A parallel loop becomes an outlined function over the captures
 * loop/outline.c computes, called through libgomp's GOMP_parallel (an
 * object with parallel loops is linked with -fopenmp or -lgomp). Vector loops
 * (URC_FOR_VECTOR, `omp simd` in C) over float lanes are built with vector
 * types (vector_for); the others carry llvm.loop.vectorize.enable; unrolled
 * loops llvm.loop.unroll.full. The output is deterministic: names
 * come from the program, never from addresses or time. */
#include "llvm_internal.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/diag.h"
#include "../../loop/outline.h"
#include "../abi.h"

/* ---- types --------------------------------------------------------------------- */

/* The type a dtype is stored as in memory. */
LLVMTypeRef ll_mem_type(gen *g, urc_dtype dt) {
    switch (dt) {
    case URC_DT_F32: return g->f32;
    case URC_DT_F64: return g->f64;
    case URC_DT_I8:
    case URC_DT_U8:
    case URC_DT_BOOL: return g->i8;
    case URC_DT_I16:
    case URC_DT_U16:
    case URC_DT_F16:
    case URC_DT_BF16: return g->i16; /* halves are storage types (their bits) */
    case URC_DT_I32:
    case URC_DT_U32: return g->i32;
    case URC_DT_I64:
    case URC_DT_U64: return g->i64;
    default: URC_ASSERT(0, "no LLVM type for dtype");
    }
    return NULL;
}

/* The type of a value of dtype dt: bools are i1 in registers. */
static LLVMTypeRef val_type(gen *g, urc_dtype dt) { return dt == URC_DT_BOOL ? g->i1 : ll_mem_type(g, dt); }

static bool is_half(urc_dtype dt) { return dt == URC_DT_F16 || dt == URC_DT_BF16; }
static bool is_float(urc_dtype dt) { return urc_dtype_is_float(dt) && !is_half(dt); }
static bool is_signed(urc_dtype dt) {
    return dt == URC_DT_I8 || dt == URC_DT_I16 || dt == URC_DT_I32 || dt == URC_DT_I64;
}
static int bits_of(urc_dtype dt) { return dt == URC_DT_BOOL ? 1 : 8 * urc_dtype_size(dt); }

LLVMValueRef ll_ci(LLVMTypeRef t, int64_t v) { return LLVMConstInt(t, (unsigned long long)v, 1); }

/* ---- calls ----------------------------------------------------------------------- */

static LLVMValueRef call(gen *g, LLVMValueRef fn, LLVMValueRef *args, int n) {
    return LLVMBuildCall2(g->b, LLVMGlobalGetValueType(fn), fn, args, (unsigned)n, "");
}

LLVMValueRef ll_intrinsic(gen *g, const char *name, LLVMTypeRef *tys, int nt, LLVMValueRef *args, int na) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    URC_ASSERT(id, "unknown LLVM intrinsic");
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(g->mod, id, tys, (size_t)nt);
    return LLVMBuildCall2(g->b, LLVMIntrinsicGetType(g->ctx, id, tys, (size_t)nt), f, args, (unsigned)na, "");
}

/* A function of the module by name, declared with type ft when missing. */
static LLVMValueRef declare(gen *g, const char *name, LLVMTypeRef ft) {
    LLVMValueRef f = LLVMGetNamedFunction(g->mod, name);
    if (!f) {
        f = LLVMAddFunction(g->mod, name, ft);
        LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(g->ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    }
    return f;
}

/* libm's fn (f suffix for float32) of one or two arguments. */
static LLVMValueRef libm(gen *g, const char *fn, urc_dtype dt, LLVMValueRef *args, int n) {
    LLVMTypeRef t = val_type(g, dt), ps[2] = {t, t};
    return call(g,
                declare(g, urc_fmt("%s%s", fn, dt == URC_DT_F32 ? "f" : ""), LLVMFunctionType(t, ps, (unsigned)n, 0)),
                args, n);
}

static void set_attr(gen *g, LLVMValueRef f, unsigned idx, const char *name) {
    LLVMAddAttributeAtIndex(f, idx,
                            LLVMCreateEnumAttribute(g->ctx, LLVMGetEnumAttributeKindForName(name, strlen(name)), 0));
}

/* A new function of the module with the target's attributes. */
LLVMValueRef ll_new_function(gen *g, const char *name, LLVMTypeRef ft, bool internal) {
    LLVMValueRef f = LLVMAddFunction(g->mod, name, ft);
    if (internal) LLVMSetLinkage(f, LLVMInternalLinkage);
    set_attr(g, f, LLVMAttributeFunctionIndex, "nounwind");
    if (g->cpu && *g->cpu) LLVMAddTargetDependentFunctionAttr(f, "target-cpu", g->cpu);
    if (g->features && *g->features) LLVMAddTargetDependentFunctionAttr(f, "target-features", g->features);
    if (g->vector_width) LLVMAddTargetDependentFunctionAttr(f, "prefer-vector-width", g->vector_width);
    return f;
}

/* An alloca in the entry block of the function being built. */
LLVMValueRef ll_entry_alloca(gen *g, LLVMTypeRef t, unsigned align) {
    LLVMBuilderRef eb = LLVMCreateBuilderInContext(g->ctx);
    LLVMValueRef first = LLVMGetFirstInstruction(g->entry);
    if (first) LLVMPositionBuilderBefore(eb, first);
    else LLVMPositionBuilderAtEnd(eb, g->entry);
    LLVMValueRef a = LLVMBuildAlloca(eb, t, "");
    LLVMSetAlignment(a, align);
    LLVMDisposeBuilder(eb);
    return a;
}

LLVMBasicBlockRef ll_block_new(gen *g, const char *name) { return LLVMAppendBasicBlockInContext(g->ctx, g->fn, name); }

/* ---- conversions ------------------------------------------------------------------- */

static LLVMValueRef to_bool(gen *g, LLVMValueRef v, urc_dtype dt);
static LLVMValueRef half_to_f32(gen *g, LLVMValueRef h, urc_dtype dt);
static LLVMValueRef f32_to_half(gen *g, LLVMValueRef f, urc_dtype dt);
static LLVMValueRef sel(gen *g, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b);

/* The constant e (of t's element type) as a value of type t: e itself, or e in every lane of a vector. */
static LLVMValueRef splat_const(LLVMTypeRef t, LLVMValueRef e) {
    if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return e;
    unsigned n = LLVMGetVectorSize(t);
    LLVMValueRef es[64];
    URC_ASSERT(n <= 64, "vector too long");
    for (unsigned i = 0; i < n; i++) es[i] = e;
    return LLVMConstVector(es, n);
}

/* The float constant v of type ft, or a vector of it. */
static LLVMValueRef fconst(LLVMTypeRef ft, double v) {
    return splat_const(ft, LLVMConstReal(LLVMGetTypeKind(ft) == LLVMVectorTypeKind ? LLVMGetElementType(ft) : ft, v));
}

/* v of dtype from as dtype to (the C printer's casts). */
LLVMValueRef ll_convert(gen *g, LLVMValueRef v, urc_dtype from, urc_dtype to, bool inrange) {
    LLVMBuilderRef b = g->b;
    if (from == to) return v;
    if (to == URC_DT_BOOL) return to_bool(g, v, from);
    if (is_half(from)) return ll_convert(g, half_to_f32(g, v, from), URC_DT_F32, to, inrange);
    if (is_half(to)) return f32_to_half(g, ll_convert(g, v, from, URC_DT_F32, inrange), to);
    LLVMTypeRef t = val_type(g, to);
    if (from == URC_DT_BOOL) return is_float(to) ? LLVMBuildUIToFP(b, v, t, "") : LLVMBuildZExt(b, v, t, "");
    if (is_float(from) && is_float(to))
        return bits_of(to) > bits_of(from) ? LLVMBuildFPExt(b, v, t, "") : LLVMBuildFPTrunc(b, v, t, "");
    if (is_float(to)) return is_signed(from) ? LLVMBuildSIToFP(b, v, t, "") : LLVMBuildUIToFP(b, v, t, "");
    if (is_float(from)) {
        if (inrange) return is_signed(to) ? LLVMBuildFPToSI(b, v, t, "") : LLVMBuildFPToUI(b, v, t, "");
        /* saturating, NaN -> 0: exactly docs/ops.md's conversion. To 8 and 16 bits (whose bounds the float type
         * holds exactly) as NaN -> 0, a clamp to the bounds and the plain conversion, which LLVM 14 vectorises
         * (not llvm.fpto*i.sat: int8's levels loops) */
        if (bits_of(to) <= 16) {
            LLVMTypeRef ft = LLVMTypeOf(v);
            int64_t lo = is_signed(to) ? -((int64_t)1 << (bits_of(to) - 1)) : 0;
            int64_t hi = is_signed(to) ? ((int64_t)1 << (bits_of(to) - 1)) - 1 : ((int64_t)1 << bits_of(to)) - 1;
            LLVMValueRef z = LLVMConstNull(ft), c[2] = {NULL, NULL};
            c[0] = sel(g, LLVMBuildFCmp(b, LLVMRealUNO, v, v, ""), z, v);
            c[1] = fconst(ft, (double)lo);
            c[0] = ll_intrinsic(g, "llvm.maxnum", &ft, 1, c, 2);
            c[1] = fconst(ft, (double)hi);
            c[0] = ll_intrinsic(g, "llvm.minnum", &ft, 1, c, 2);
            return is_signed(to) ? LLVMBuildFPToSI(b, c[0], t, "") : LLVMBuildFPToUI(b, c[0], t, "");
        }
        LLVMTypeRef tys[2] = {t, val_type(g, from)};
        return ll_intrinsic(g, is_signed(to) ? "llvm.fptosi.sat" : "llvm.fptoui.sat", tys, 2, &v, 1);
    }
    int fb = bits_of(from), tb = bits_of(to);
    if (tb == fb) return v;
    if (tb < fb) return LLVMBuildTrunc(b, v, t, "");
    return is_signed(from) ? LLVMBuildSExt(b, v, t, "") : LLVMBuildZExt(b, v, t, "");
}

/* x != 0 (true for NaN, as C's x != 0). */
static LLVMValueRef to_bool(gen *g, LLVMValueRef v, urc_dtype dt) {
    if (dt == URC_DT_BOOL) return v;
    if (is_half(dt)) v = half_to_f32(g, v, dt), dt = URC_DT_F32;
    if (is_float(dt)) return LLVMBuildFCmp(g->b, LLVMRealUNE, v, LLVMConstReal(val_type(g, dt), 0), "");
    return LLVMBuildICmp(g->b, LLVMIntNE, v, LLVMConstInt(val_type(g, dt), 0, 0), "");
}

static LLVMValueRef sel(gen *g, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(g->b, c, a, b, "");
}
LLVMValueRef ll_icmp(gen *g, LLVMIntPredicate p, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildICmp(g->b, p, a, b, "");
}

/* An integer constant of type t (a vector: v in every lane). */
LLVMValueRef ll_kint(LLVMTypeRef t, int64_t v) {
    return splat_const(t, ll_ci(LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetElementType(t) : t, v));
}

/* The C prelude's urc_f16_to_f32 / urc_bf16_to_f32, bit for bit (h an i16 or a vector of them: lane by lane).
 * float16 with F16C: fpext from half (vcvtph2ps); else: exponent rebiased by 112 (31: by 224), a subnormal
 * m * 2^-24 as (2^-14 + m * 2^-24) - 2^-14. */
static LLVMValueRef half_to_f32(gen *g, LLVMValueRef h, urc_dtype dt) {
    LLVMBuilderRef b = g->b;
    LLVMTypeRef ht = LLVMTypeOf(h);
    unsigned n = LLVMGetTypeKind(ht) == LLVMVectorTypeKind ? LLVMGetVectorSize(ht) : 0;
    LLVMTypeRef i32 = n ? LLVMVectorType(g->i32, n) : g->i32, f32 = n ? LLVMVectorType(g->f32, n) : g->f32;
    LLVMValueRef u = LLVMBuildZExt(b, h, i32, "");
    if (dt == URC_DT_BF16) return LLVMBuildBitCast(b, LLVMBuildShl(b, u, ll_kint(i32, 16), ""), f32, "");
    if (g->f16c) { /* the same values: vcvtph2ps converts every float16 exactly */
        LLVMTypeRef half = LLVMHalfTypeInContext(g->ctx);
        return LLVMBuildFPExt(b, LLVMBuildBitCast(b, h, n ? LLVMVectorType(half, n) : half, ""), f32, "");
    }
    LLVMValueRef em = LLVMBuildShl(b, LLVMBuildAnd(b, u, ll_kint(i32, 0x7fff), ""), ll_kint(i32, 13), "");
    LLVMValueRef e = LLVMBuildAnd(b, em, ll_kint(i32, 0x0f800000), "");
    LLVMValueRef nrm = LLVMBuildAdd(b, em, ll_kint(i32, 0x38000000), "");
    LLVMValueRef d = LLVMBuildBitCast(b, LLVMBuildAdd(b, nrm, ll_kint(i32, 0x00800000), ""), f32, "");
    LLVMValueRef two14 = LLVMBuildBitCast(b, ll_kint(i32, 0x38800000), f32, ""); /* 2^-14 */
    d = LLVMBuildBitCast(b, LLVMBuildFSub(b, d, two14, ""), i32, "");
    LLVMValueRef inf = ll_icmp(g, LLVMIntEQ, e, ll_kint(i32, 0x0f800000));
    nrm = sel(g, inf, LLVMBuildAdd(b, nrm, ll_kint(i32, 0x38000000), ""), nrm);
    nrm = sel(g, ll_icmp(g, LLVMIntEQ, e, ll_kint(i32, 0)), d, nrm);
    LLVMValueRef s = LLVMBuildShl(b, LLVMBuildAnd(b, u, ll_kint(i32, 0x8000), ""), ll_kint(i32, 16), "");
    return LLVMBuildBitCast(b, LLVMBuildOr(b, nrm, s, ""), f32, "");
}

/* The C prelude's urc_f32_to_f16 / urc_f32_to_bf16 (round to nearest even). */
static LLVMValueRef f32_to_half(gen *g, LLVMValueRef f, urc_dtype dt) {
    LLVMBuilderRef b = g->b;
    LLVMTypeRef i32 = g->i32;
    LLVMValueRef u = LLVMBuildBitCast(b, f, i32, "");
    LLVMValueRef a = LLVMBuildAnd(b, u, ll_ci(i32, 0x7fffffff), "");
    LLVMValueRef nan = ll_icmp(g, LLVMIntUGT, a, ll_ci(i32, 0x7f800000));
    if (dt == URC_DT_BF16) {
        LLVMValueRef q = LLVMBuildOr(b, LLVMBuildLShr(b, u, ll_ci(i32, 16), ""), ll_ci(i32, 0x40), "");
        LLVMValueRef odd = LLVMBuildAnd(b, LLVMBuildLShr(b, u, ll_ci(i32, 16), ""), ll_ci(i32, 1), "");
        LLVMValueRef r =
            LLVMBuildLShr(b, LLVMBuildAdd(b, LLVMBuildAdd(b, u, ll_ci(i32, 0x7fff), ""), odd, ""), ll_ci(i32, 16), "");
        return LLVMBuildTrunc(b, sel(g, nan, q, r), g->i16, "");
    }
    LLVMValueRef s = LLVMBuildAnd(b, LLVMBuildLShr(b, u, ll_ci(i32, 16), ""), ll_ci(i32, 0x8000), "");
    LLVMValueRef t = LLVMBuildFMul(b, LLVMBuildBitCast(b, a, g->f32, ""), LLVMConstReal(g->f32, 16777216.0), "");
    LLVMTypeRef tys[1] = {g->f32};
    t = ll_intrinsic(g, "llvm.nearbyint", tys, 1, &t, 1);
    LLVMValueRef subn = LLVMBuildOr(b, s, LLVMBuildFPToUI(b, t, i32, ""), "");
    LLVMValueRef r = LLVMBuildSub(b, a, ll_ci(i32, 0x38000000), "");
    LLVMValueRef h = LLVMBuildLShr(b, r, ll_ci(i32, 13), ""), rem = LLVMBuildAnd(b, r, ll_ci(i32, 0x1fff), "");
    LLVMValueRef up = LLVMBuildOr(b, ll_icmp(g, LLVMIntUGT, rem, ll_ci(i32, 0x1000)),
                                  LLVMBuildAnd(b, ll_icmp(g, LLVMIntEQ, rem, ll_ci(i32, 0x1000)),
                                               LLVMBuildTrunc(b, LLVMBuildAnd(b, h, ll_ci(i32, 1), ""), g->i1, ""), ""),
                                  "");
    LLVMValueRef norm = LLVMBuildOr(b, s, LLVMBuildAdd(b, h, LLVMBuildZExt(b, up, i32, ""), ""), "");
    LLVMValueRef v = sel(g, ll_icmp(g, LLVMIntULT, a, ll_ci(i32, 0x38800000)), subn, norm);
    v = sel(g, ll_icmp(g, LLVMIntUGE, a, ll_ci(i32, 0x477ff000)), LLVMBuildOr(b, s, ll_ci(i32, 0x7c00), ""), v);
    v = sel(g, nan, LLVMBuildOr(b, s, ll_ci(i32, 0x7e00), ""), v);
    return LLVMBuildTrunc(b, v, g->i16, "");
}

/* ---- expressions ---------------------------------------------------------------------- */

static LLVMValueRef ex(gen *g, const urc_lx *e);

/* An index as i64. */
LLVMValueRef ll_index64(gen *g, const urc_lx *e) {
    LLVMValueRef v = ex(g, e);
    if (e->dt == URC_DT_I64 || e->dt == URC_DT_U64) return v;
    return is_signed(e->dt) ? LLVMBuildSExt(g->b, v, g->i64, "") : LLVMBuildZExt(g->b, v, g->i64, "");
}

LLVMValueRef ll_elem_ptr(gen *g, int buf, const urc_lx *idx) {
    LLVMValueRef i = ll_index64(g, idx);
    return LLVMBuildInBoundsGEP2(g->b, ll_mem_type(g, g->k->bufs.items[buf].dt), g->bufp[buf], &i, 1, "");
}

static LLVMValueRef load_elem(gen *g, int buf, LLVMValueRef p) {
    urc_dtype dt = g->k->bufs.items[buf].dt;
    LLVMValueRef v = LLVMBuildLoad2(g->b, ll_mem_type(g, dt), p, "");
    LLVMSetAlignment(v, (unsigned)urc_dtype_size(dt));
    return dt == URC_DT_BOOL ? LLVMBuildICmp(g->b, LLVMIntNE, v, ll_ci(g->i8, 0), "") : v;
}

/* a / b, a % b for integers with docs/ops.md's semantics: x / 0 = x % 0 = 0,
 * MIN / -1 wraps, MIN % -1 = 0. */
static LLVMValueRef int_divrem(gen *g, bool rem, LLVMValueRef a, LLVMValueRef b, urc_dtype dt, bool safe) {
    LLVMBuilderRef bl = g->b;
    LLVMTypeRef t = val_type(g, dt);
    bool s = is_signed(dt);
    if (safe)
        return rem ? (s ? LLVMBuildSRem(bl, a, b, "") : LLVMBuildURem(bl, a, b, ""))
                   : (s ? LLVMBuildSDiv(bl, a, b, "") : LLVMBuildUDiv(bl, a, b, ""));
    LLVMValueRef zero = ll_ci(t, 0), one = ll_ci(t, 1);
    LLVMValueRef bz = ll_icmp(g, LLVMIntEQ, b, zero);
    if (!s) {
        LLVMValueRef d = sel(g, bz, one, b);
        LLVMValueRef r = rem ? LLVMBuildURem(bl, a, d, "") : LLVMBuildUDiv(bl, a, d, "");
        return sel(g, bz, zero, r);
    }
    LLVMValueRef bm1 = ll_icmp(g, LLVMIntEQ, b, ll_ci(t, -1));
    LLVMValueRef d = sel(g, LLVMBuildOr(bl, bz, bm1, ""), one, b);
    LLVMValueRef r = rem ? LLVMBuildSRem(bl, a, d, "") : LLVMBuildSDiv(bl, a, d, "");
    if (rem) return sel(g, LLVMBuildOr(bl, bz, bm1, ""), zero, r);
    return sel(g, bz, zero, sel(g, bm1, LLVMBuildSub(bl, zero, a, ""), r));
}

/* The C prelude's urc_pow_bits as a function of the module: a^b by squaring, wrapping. */
static LLVMValueRef pow_bits_fn(gen *g) {
    LLVMValueRef f = LLVMGetNamedFunction(g->mod, "urc_pow_bits");
    if (f) return f;
    LLVMTypeRef ps[2] = {g->i64, g->i64};
    f = ll_new_function(g, "urc_pow_bits", LLVMFunctionType(g->i64, ps, 2, 0), true);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(g->ctx);
    LLVMBasicBlockRef e = LLVMAppendBasicBlockInContext(g->ctx, f, "entry"),
                      h = LLVMAppendBasicBlockInContext(g->ctx, f, "loop"),
                      x = LLVMAppendBasicBlockInContext(g->ctx, f, "done");
    LLVMPositionBuilderAtEnd(b, e);
    LLVMBuildBr(b, h);
    LLVMPositionBuilderAtEnd(b, h);
    LLVMValueRef r = LLVMBuildPhi(b, g->i64, "r"), a = LLVMBuildPhi(b, g->i64, "a"), n = LLVMBuildPhi(b, g->i64, "b");
    LLVMValueRef odd = LLVMBuildTrunc(b, n, g->i1, "");
    LLVMValueRef r2 = LLVMBuildSelect(b, odd, LLVMBuildMul(b, r, a, ""), r, "");
    LLVMValueRef a2 = LLVMBuildMul(b, a, a, ""), n2 = LLVMBuildLShr(b, n, ll_ci(g->i64, 1), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, n, ll_ci(g->i64, 0), ""), x, h);
    LLVMValueRef iv[3][2] = {{ll_ci(g->i64, 1), r2}, {LLVMGetParam(f, 0), a2}, {LLVMGetParam(f, 1), n2}};
    LLVMBasicBlockRef ib[2] = {e, h};
    LLVMAddIncoming(r, iv[0], ib, 2);
    LLVMAddIncoming(a, iv[1], ib, 2);
    LLVMAddIncoming(n, iv[2], ib, 2);
    LLVMPositionBuilderAtEnd(b, x);
    LLVMBuildRet(b, r);
    LLVMDisposeBuilder(b);
    return f;
}

/* Integer a^b (urc_pow_i64 / urc_pow_u64 of the C prelude). */
static LLVMValueRef int_pow(gen *g, const urc_lx *e, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef a64 = ll_convert(g, a, e->a->dt, is_signed(e->a->dt) ? URC_DT_I64 : URC_DT_U64, true);
    LLVMValueRef b64 = ll_convert(g, b, e->b->dt, is_signed(e->b->dt) ? URC_DT_I64 : URC_DT_U64, true);
    LLVMTypeRef t = g->i64;
    LLVMValueRef args[2] = {a64, b64};
    LLVMValueRef p = call(g, pow_bits_fn(g), args, 2);
    LLVMValueRef neg = ll_icmp(g, LLVMIntSLT, b64, ll_ci(t, 0)), one = ll_ci(t, 1), zero = ll_ci(t, 0);
    LLVMValueRef a1 = ll_icmp(g, LLVMIntEQ, a64, one), r;
    if (is_signed(e->a->dt)) {
        LLVMValueRef odd = LLVMBuildTrunc(g->b, b64, g->i1, "");
        r = sel(g, a1, one, sel(g, ll_icmp(g, LLVMIntEQ, a64, ll_ci(t, -1)), sel(g, odd, ll_ci(t, -1), one), zero));
    } else {
        r = sel(g, a1, one, zero);
    }
    return ll_convert(g, sel(g, neg, r, p), is_signed(e->a->dt) ? URC_DT_I64 : URC_DT_U64, e->dt, true);
}

static LLVMValueRef unary(gen *g, const urc_lx *e) {
    urc_dtype dt = e->a->dt;
    LLVMValueRef a = ex(g, e->a);
    LLVMBuilderRef b = g->b;
    LLVMTypeRef t = val_type(g, dt);
    bool f = is_float(dt);
    switch (e->op) {
    case URC_L_NEG: return f ? LLVMBuildFNeg(b, a, "") : LLVMBuildSub(b, ll_ci(t, 0), a, "");
    case URC_L_NOT: return LLVMBuildNot(b, to_bool(g, a, dt), "");
    case URC_L_BITS_F32: return LLVMBuildBitCast(b, a, g->f32, "");
    case URC_L_ISNAN: return LLVMBuildFCmp(b, LLVMRealUNO, a, a, "");
    case URC_L_ISINF: {
        LLVMValueRef x = ll_intrinsic(g, "llvm.fabs", &t, 1, &a, 1);
        return LLVMBuildFCmp(b, LLVMRealOEQ, x, LLVMConstReal(t, INFINITY), "");
    }
    case URC_L_ABS:
        if (!f)
            return is_signed(dt)
                       ? sel(g, ll_icmp(g, LLVMIntSLT, a, ll_ci(t, 0)), LLVMBuildSub(b, ll_ci(t, 0), a, ""), a)
                       : a;
        return ll_intrinsic(g, "llvm.fabs", &t, 1, &a, 1);
    default: break;
    }
    URC_ASSERT(f, "unary op on a dtype it does not take");
    const char *in = NULL, *lm = NULL;
    switch (e->op) {
    case URC_L_SQRT: in = "llvm.sqrt"; break;
    case URC_L_EXP: in = "llvm.exp"; break;
    case URC_L_LOG: in = "llvm.log"; break;
    case URC_L_FLOOR: in = "llvm.floor"; break;
    case URC_L_CEIL: in = "llvm.ceil"; break;
    case URC_L_RINT: in = "llvm.nearbyint"; break;
    case URC_L_SIN: in = "llvm.sin"; break;
    case URC_L_COS: in = "llvm.cos"; break;
    case URC_L_ERF: lm = "erf"; break;
    case URC_L_TANH: lm = "tanh"; break;
    case URC_L_TAN: lm = "tan"; break;
    case URC_L_ASIN: lm = "asin"; break;
    case URC_L_ACOS: lm = "acos"; break;
    case URC_L_ATAN: lm = "atan"; break;
    case URC_L_SINH: lm = "sinh"; break;
    case URC_L_COSH: lm = "cosh"; break;
    case URC_L_ASINH: lm = "asinh"; break;
    case URC_L_ACOSH: lm = "acosh"; break;
    case URC_L_ATANH: lm = "atanh"; break;
    case URC_L_LOG1P: lm = "log1p"; break;
    case URC_L_EXPM1: lm = "expm1"; break;
    default: URC_ASSERT(0, "unary op without an LLVM spelling");
    }
    return in ? ll_intrinsic(g, in, &t, 1, &a, 1) : libm(g, lm, dt, &a, 1);
}

static LLVMValueRef binary(gen *g, const urc_lx *e) {
    urc_dtype dt = e->a->dt;
    LLVMValueRef a = ex(g, e->a), c = ex(g, e->b);
    LLVMBuilderRef b = g->b;
    bool f = is_float(dt), s = is_signed(dt);
    /* index arithmetic (inrange) cannot wrap: say so to the optimiser */
    bool nsw = e->inrange && s;
    switch (e->op) {
    case URC_L_ADD:
        return f ? LLVMBuildFAdd(b, a, c, "") : nsw ? LLVMBuildNSWAdd(b, a, c, "") : LLVMBuildAdd(b, a, c, "");
    case URC_L_SUB:
        return f ? LLVMBuildFSub(b, a, c, "") : nsw ? LLVMBuildNSWSub(b, a, c, "") : LLVMBuildSub(b, a, c, "");
    case URC_L_MUL:
        return f ? LLVMBuildFMul(b, a, c, "") : nsw ? LLVMBuildNSWMul(b, a, c, "") : LLVMBuildMul(b, a, c, "");
    case URC_L_DIV:
    case URC_L_REM: {
        bool rem = e->op == URC_L_REM;
        if (f) return rem ? LLVMBuildFRem(b, a, c, "") : LLVMBuildFDiv(b, a, c, "");
        bool safe = e->inrange || (e->b->kind == URC_LX_INT && e->b->i != 0 && e->b->i != -1);
        return int_divrem(g, rem, a, c, dt, safe);
    }
    case URC_L_MOD: {
        if (f) return LLVMBuildFRem(b, a, c, "");
        LLVMValueRef r = int_divrem(g, true, a, c, dt, false);
        if (!s) return r;
        LLVMTypeRef t = val_type(g, dt);
        LLVMValueRef fix = LLVMBuildAnd(
            b, ll_icmp(g, LLVMIntNE, r, ll_ci(t, 0)),
            LLVMBuildXor(b, ll_icmp(g, LLVMIntSLT, r, ll_ci(t, 0)), ll_icmp(g, LLVMIntSLT, c, ll_ci(t, 0)), ""), "");
        return sel(g, fix, LLVMBuildAdd(b, r, c, ""), r);
    }
    case URC_L_POW: {
        if (!f) return int_pow(g, e, a, c);
        LLVMTypeRef t = val_type(g, dt);
        LLVMValueRef args[2] = {a, c};
        return ll_intrinsic(g, "llvm.pow", &t, 1, args, 2);
    }
    case URC_L_MIN:
    case URC_L_MAX: {
        bool mn = e->op == URC_L_MIN;
        LLVMValueRef take_a;
        if (f) /* (a < b || a != a) ? a : b: NaN propagates */
            take_a = LLVMBuildOr(b, LLVMBuildFCmp(b, mn ? LLVMRealOLT : LLVMRealOGT, a, c, ""),
                                 LLVMBuildFCmp(b, LLVMRealUNO, a, a, ""), "");
        else take_a = ll_icmp(g, mn ? (s ? LLVMIntSLT : LLVMIntULT) : (s ? LLVMIntSGT : LLVMIntUGT), a, c);
        return sel(g, take_a, a, c);
    }
    case URC_L_SHL:
    case URC_L_SHR: { /* (T)(b < width ? (uint64_t)a op b : 0) */
        LLVMValueRef a64 = ll_convert(g, a, dt, s ? URC_DT_I64 : URC_DT_U64, true);
        LLVMValueRef b64 = ll_convert(g, c, e->b->dt, is_signed(e->b->dt) ? URC_DT_I64 : URC_DT_U64, true);
        LLVMValueRef ok = ll_icmp(g, LLVMIntULT, b64, ll_ci(g->i64, 8 * urc_dtype_size(e->dt)));
        LLVMValueRef amt = sel(g, ok, b64, ll_ci(g->i64, 0));
        LLVMValueRef r = e->op == URC_L_SHL ? LLVMBuildShl(b, a64, amt, "") : LLVMBuildLShr(b, a64, amt, "");
        return ll_convert(g, sel(g, ok, r, ll_ci(g->i64, 0)), URC_DT_U64, e->dt, true);
    }
    case URC_L_AND: return LLVMBuildAnd(b, to_bool(g, a, dt), to_bool(g, c, e->b->dt), "");
    case URC_L_OR: return LLVMBuildOr(b, to_bool(g, a, dt), to_bool(g, c, e->b->dt), "");
    case URC_L_XOR: return LLVMBuildXor(b, to_bool(g, a, dt), to_bool(g, c, e->b->dt), "");
    default: break;
    }
    /* comparisons */
    if (is_half(dt)) {
        a = half_to_f32(g, a, dt), c = half_to_f32(g, c, dt);
        f = true;
    }
    if (f) {
        LLVMRealPredicate p = LLVMRealOEQ;
        switch (e->op) {
        case URC_L_LT: p = LLVMRealOLT; break;
        case URC_L_LE: p = LLVMRealOLE; break;
        case URC_L_GT: p = LLVMRealOGT; break;
        case URC_L_GE: p = LLVMRealOGE; break;
        case URC_L_EQ: p = LLVMRealOEQ; break;
        case URC_L_NE: p = LLVMRealUNE; break;
        default: URC_ASSERT(0, "bad binary op");
        }
        return LLVMBuildFCmp(b, p, a, c, "");
    }
    LLVMIntPredicate p = LLVMIntEQ;
    switch (e->op) {
    case URC_L_LT: p = s ? LLVMIntSLT : LLVMIntULT; break;
    case URC_L_LE: p = s ? LLVMIntSLE : LLVMIntULE; break;
    case URC_L_GT: p = s ? LLVMIntSGT : LLVMIntUGT; break;
    case URC_L_GE: p = s ? LLVMIntSGE : LLVMIntUGE; break;
    case URC_L_EQ: p = LLVMIntEQ; break;
    case URC_L_NE: p = LLVMIntNE; break;
    default: URC_ASSERT(0, "bad binary op");
    }
    if (e->b->dt != dt) c = ll_convert(g, c, e->b->dt, dt, true);
    return ll_icmp(g, p, a, c);
}

static LLVMValueRef ex(gen *g, const urc_lx *e) {
    switch (e->kind) {
    case URC_LX_PAIR: { /* (two bfloat16 or four uint8) */
        LLVMValueRef p = LLVMBuildBitCast(g->b, ll_elem_ptr(g, e->buf, e->a), LLVMPointerType(g->i32, 0), "");
        LLVMValueRef l = LLVMBuildLoad2(g->b, g->i32, p, "");
        LLVMSetAlignment(l, (unsigned)urc_dtype_size(g->k->bufs.items[e->buf].dt));
        return l;
    }
    case URC_LX_DOT2:
    case URC_LX_DOT4: return ll_dot(g, e->kind, ex(g, e->a), ex(g, e->b), ex(g, e->c), 1);
    case URC_LX_INT:
        if (is_float(e->dt)) return LLVMConstReal(val_type(g, e->dt), (double)e->i);
        if (e->dt == URC_DT_BOOL) return LLVMConstInt(g->i1, e->i != 0, 0);
        return ll_ci(val_type(g, e->dt), e->i);
    case URC_LX_FLT:
        if (!is_float(e->dt)) return ll_convert(g, LLVMConstReal(g->f64, e->f), URC_DT_F64, e->dt, false);
        return LLVMConstReal(val_type(g, e->dt), e->f);
    case URC_LX_VAR: {
        urc_dtype dt = g->k->vars.items[e->var].dt;
        return ll_convert(g, LLVMBuildLoad2(g->b, val_type(g, dt), g->vars[e->var], ""), dt, e->dt, true);
    }
    case URC_LX_LOAD: return load_elem(g, e->buf, ll_elem_ptr(g, e->buf, e->a));
    case URC_LX_ADDR: URC_ASSERT(0, "an element address outside a call's arguments"); return NULL;
    case URC_LX_CAST: return ll_convert(g, ex(g, e->a), e->a->dt, e->dt, e->inrange);
    case URC_LX_FMA: {
        LLVMValueRef args[3] = {ex(g, e->a), ex(g, e->b), ex(g, e->c)};
        LLVMTypeRef t = val_type(g, e->dt);
        if (!is_float(e->dt)) return LLVMBuildAdd(g->b, LLVMBuildMul(g->b, args[0], args[1], ""), args[2], "");
        return ll_intrinsic(g, "llvm.fmuladd", &t, 1, args, 3);
    }
    case URC_LX_SEL: {
        LLVMValueRef c = to_bool(g, ex(g, e->a), e->a->dt);
        LLVMValueRef x = ex(g, e->b), y = ex(g, e->c);
        if (e->b->dt != e->dt) x = ll_convert(g, x, e->b->dt, e->dt, false);
        if (e->c->dt != e->dt) y = ll_convert(g, y, e->c->dt, e->dt, false);
        return sel(g, c, x, y);
    }
    case URC_LX_UN: return unary(g, e);
    case URC_LX_BIN: return binary(g, e);
    }
    return NULL;
}

/* ---- statements ------------------------------------------------------------------------ */

static void stmt(gen *g, const urc_ls *s);

static void block(gen *g, const urc_ls *b) {
    if (b->kind != URC_LS_BLOCK) {
        stmt(g, b);
        return;
    }
    for (int i = 0; i < b->list.len; i++) stmt(g, b->list.items[i]);
}

static void store_var(gen *g, int var, LLVMValueRef v, urc_dtype from) {
    urc_dtype dt = g->k->vars.items[var].dt;
    LLVMBuildStore(g->b, ll_convert(g, v, from, dt, false), g->vars[var]);
}

static LLVMMetadataRef md_flag(gen *g, const char *name, LLVMValueRef v) {
    LLVMMetadataRef ops[2] = {LLVMMDStringInContext2(g->ctx, name, strlen(name)), NULL};
    int n = 1;
    if (v) ops[n++] = LLVMValueAsMetadata(v);
    return LLVMMDNodeInContext2(g->ctx, ops, (size_t)n);
}

/* llvm.loop metadata on a loop's back edge: vectorize (omp simd) or unroll fully. */
static void loop_hints(gen *g, LLVMValueRef br, unsigned flags) {
    LLVMMetadataRef ops[3];
    int n = 1;
    if (flags & URC_FOR_UNROLL) ops[n++] = md_flag(g, "llvm.loop.unroll.full", NULL);
    else if ((flags & URC_FOR_VECTOR) && !g->scalar)
        ops[n++] = md_flag(g, "llvm.loop.vectorize.enable", LLVMConstInt(g->i1, 1, 0));
    if (n == 1) return;
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(g->ctx, NULL, 0);
    ops[0] = tmp;
    LLVMMetadataRef id = LLVMMDNodeInContext2(g->ctx, ops, (size_t)n);
    LLVMMetadataReplaceAllUsesWith(tmp, id);
    LLVMSetMetadata(br, g->md_loop, LLVMMetadataAsValue(g->ctx, id));
}

/* ---- vector loops ---------------------------------------------------------------------------
 *
 * A loop over vector lanes (URC_FOR_VECTOR, `omp simd` in C) with constant
 * bounds whose body only stores float lanes is built with explicit vector
 * types: each store and each expression is one <N x float> operation. A load
 * or store at base + lane (the lane variable with coefficient 1) is one
 * vector access; an expression without the lane variable is computed once
 * and splat. Any other body (a gather, integer values, declarations) is a
 * scalar loop with llvm.loop.vectorize.enable, which LLVM's vectoriser
 * takes. Lanes have no dependence on each other (loop.h), so running each
 * statement for all lanes before the next keeps the loop's meaning. */

static bool vec_float(urc_dtype dt) { return dt == URC_DT_F32 || dt == URC_DT_F64; }

static bool widenable(const urc_lx *e, int v) {
    if (!urc_lx_uses_var(e, v)) return vec_float(e->dt) || e->dt == URC_DT_BOOL;
    switch (e->kind) {
    case URC_LX_LOAD: /* halves and int8 (--precision's weights): only under a cast */
        return (vec_float(e->dt) || is_half(e->dt) || e->dt == URC_DT_I8) && urc_lx_unit_stride(e->a, v);
    case URC_LX_FMA: return vec_float(e->dt) && widenable(e->a, v) && widenable(e->b, v) && widenable(e->c, v);
    case URC_LX_DOT2: /* the pairs (quads): without the lane, or uint32 loads at base + lane; DOT4's c too */
    case URC_LX_DOT4:
        for (int i = 0; i < 3; i++) {
            const urc_lx *p = i == 0 ? e->a : i == 1 ? e->b : e->c;
            urc_dtype dt = i < 2 ? URC_DT_U32 : URC_DT_I32;
            if (i == 2 && e->kind == URC_LX_DOT2) return widenable(e->c, v);
            if (urc_lx_uses_var(p, v) && !(p->kind == URC_LX_LOAD && p->dt == dt && urc_lx_unit_stride(p->a, v)))
                return false;
        }
        return true;
    case URC_LX_SEL:
        return vec_float(e->dt) && e->a->dt == URC_DT_BOOL && widenable(e->a, v) && widenable(e->b, v) &&
               widenable(e->c, v);
    case URC_LX_CAST:
        return vec_float(e->dt) &&
               (vec_float(e->a->dt) || ((is_half(e->a->dt) || e->a->dt == URC_DT_I8) && e->a->kind == URC_LX_LOAD)) &&
               widenable(e->a, v);
    case URC_LX_UN:
        return vec_float(e->dt) && (e->op == URC_L_NEG || e->op == URC_L_ABS || e->op == URC_L_SQRT) &&
               widenable(e->a, v);
    case URC_LX_BIN:
        if (!vec_float(e->a->dt) || e->a->dt != e->b->dt || !widenable(e->a, v) || !widenable(e->b, v)) return false;
        switch (e->op) {
        case URC_L_ADD:
        case URC_L_SUB:
        case URC_L_MUL:
        case URC_L_DIV:
        case URC_L_MIN:
        case URC_L_MAX:
        case URC_L_LT:
        case URC_L_LE:
        case URC_L_GT:
        case URC_L_GE:
        case URC_L_EQ:
        case URC_L_NE: return true;
        default: return false;
        }
    default: return false;
    }
}

static bool widenable_body(const gen *g, const urc_ls *b, int v) {
    for (int i = 0; i < b->list.len; i++) {
        const urc_ls *s = b->list.items[i];
        if (s->kind == URC_LS_COMMENT) continue;
        if (s->kind != URC_LS_STORE ||
            !(vec_float(g->k->bufs.items[s->buf].dt) || (s->val->kind == URC_LX_DOT4 && !s->accum)) ||
            s->val->dt != g->k->bufs.items[s->buf].dt || !urc_lx_unit_stride(s->idx, v) || !widenable(s->val, v))
            return false;
    }
    return true;
}

static LLVMValueRef splat(gen *g, LLVMValueRef x, unsigned n) {
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), n);
    LLVMValueRef v = LLVMBuildInsertElement(g->b, LLVMGetUndef(vt), x, ll_ci(g->i32, 0), "");
    return LLVMBuildShuffleVector(g->b, v, LLVMGetUndef(vt), LLVMConstNull(LLVMVectorType(g->i32, n)), "");
}

/* The vector pointer of buf[base + lane] (the lane variable holds the first lane). */
static LLVMValueRef vec_ptr(gen *g, int buf, const urc_lx *idx, unsigned n) {
    LLVMValueRef p = ll_elem_ptr(g, buf, idx);
    return LLVMBuildBitCast(g->b, p, LLVMPointerType(LLVMVectorType(ll_mem_type(g, g->k->bufs.items[buf].dt), n), 0),
                            "");
}

static LLVMValueRef vex(gen *g, const urc_lx *e, int v, unsigned n) {
    if (!urc_lx_uses_var(e, v)) return splat(g, ex(g, e), n);
    LLVMBuilderRef b = g->b;
    LLVMTypeRef vt = LLVMVectorType(val_type(g, e->dt), n);
    switch (e->kind) {
    case URC_LX_LOAD: {
        LLVMValueRef l = LLVMBuildLoad2(b, vt, vec_ptr(g, e->buf, e->a, n), "");
        LLVMSetAlignment(l, (unsigned)urc_dtype_size(e->dt));
        return l;
    }
    case URC_LX_FMA: {
        LLVMValueRef args[3] = {vex(g, e->a, v, n), vex(g, e->b, v, n), vex(g, e->c, v, n)};
        return ll_intrinsic(g, "llvm.fmuladd", &vt, 1, args, 3);
    }
    case URC_LX_SEL: return sel(g, vex(g, e->a, v, n), vex(g, e->b, v, n), vex(g, e->c, v, n));
    case URC_LX_DOT2:
    case URC_LX_DOT4: return ll_dot(g, e->kind, vex(g, e->a, v, n), vex(g, e->b, v, n), vex(g, e->c, v, n), n);
    case URC_LX_CAST: {
        LLVMValueRef a = vex(g, e->a, v, n);
        if (e->a->dt == e->dt) return a;
        if (is_half(e->a->dt)) {
            LLVMValueRef f = half_to_f32(g, a, e->a->dt);
            return e->dt == URC_DT_F32 ? f : LLVMBuildFPExt(b, f, vt, "");
        }
        if (e->a->dt == URC_DT_I8) return LLVMBuildSIToFP(b, a, vt, ""); /* exact */
        return bits_of(e->dt) > bits_of(e->a->dt) ? LLVMBuildFPExt(b, a, vt, "") : LLVMBuildFPTrunc(b, a, vt, "");
    }
    case URC_LX_UN: {
        LLVMValueRef a = vex(g, e->a, v, n);
        if (e->op == URC_L_NEG) return LLVMBuildFNeg(b, a, "");
        return ll_intrinsic(g, e->op == URC_L_ABS ? "llvm.fabs" : "llvm.sqrt", &vt, 1, &a, 1);
    }
    case URC_LX_BIN: {
        LLVMValueRef a = vex(g, e->a, v, n), c = vex(g, e->b, v, n);
        switch (e->op) {
        case URC_L_ADD: return LLVMBuildFAdd(b, a, c, "");
        case URC_L_SUB: return LLVMBuildFSub(b, a, c, "");
        case URC_L_MUL: return LLVMBuildFMul(b, a, c, "");
        case URC_L_DIV: return LLVMBuildFDiv(b, a, c, "");
        case URC_L_MIN:
        case URC_L_MAX: { /* (a < b || a != a) ? a : b, lane by lane */
            LLVMValueRef take =
                LLVMBuildOr(b, LLVMBuildFCmp(b, e->op == URC_L_MIN ? LLVMRealOLT : LLVMRealOGT, a, c, ""),
                            LLVMBuildFCmp(b, LLVMRealUNO, a, a, ""), "");
            return sel(g, take, a, c);
        }
        case URC_L_LT: return LLVMBuildFCmp(b, LLVMRealOLT, a, c, "");
        case URC_L_LE: return LLVMBuildFCmp(b, LLVMRealOLE, a, c, "");
        case URC_L_GT: return LLVMBuildFCmp(b, LLVMRealOGT, a, c, "");
        case URC_L_GE: return LLVMBuildFCmp(b, LLVMRealOGE, a, c, "");
        case URC_L_EQ: return LLVMBuildFCmp(b, LLVMRealOEQ, a, c, "");
        case URC_L_NE: return LLVMBuildFCmp(b, LLVMRealUNE, a, c, "");
        default: break;
        }
        break;
    }
    default: break;
    }
    URC_ASSERT(0, "widening an expression widenable() refused");
    return NULL;
}

/* The loop as vector statements, one per store and lane group; false
 * (nothing built) when it does not fit. The lanes are cut into groups of
 * powers of two, largest first (48 lanes: 32 + 16): LLVM legalises a
 * vector of another length (<48 x float>) by widening it to the next power
 * of two, and a load it may not widen is taken apart lane by lane (measured:
 * a Winograd convolution over 48 channels 5.6x slower than gcc's code).
 * Lanes have no dependence on each other, so the groups run one after the
 * other, each through the whole body. */
static bool vector_for(gen *g, const urc_ls *s) {
    if (!(s->flags & URC_FOR_VECTOR) || s->step != 1 || s->lo->kind != URC_LX_INT || s->hi->kind != URC_LX_INT)
        return false;
    int64_t n = s->hi->i - s->lo->i;
    if (n < 2 || n > 64 || !widenable_body(g, s->body, s->var)) return false;
    /* vdpbf16ps and vpdpbusd take 16 lanes at most (AVX-VNNI 8) */
    unsigned wmax = 64;
    for (int i = 0; i < s->body->list.len; i++) {
        const urc_ls *st = s->body->list.items[i];
        if (st->kind == URC_LS_STORE && st->val->kind == URC_LX_DOT2 && g->dpbf16) wmax = 16;
        if (st->kind == URC_LS_STORE && st->val->kind == URC_LX_DOT4 && g->vnni) wmax = g->vnni == 1 ? 16 : 8;
    }
    for (int64_t first = 0; first < n;) {
        unsigned w = 1;
        while ((int64_t)w * 2 <= n - first && w * 2 <= wmax) w *= 2;
        /* the group's first lane: the bases of its vector accesses */
        store_var(g, s->var, ll_ci(val_type(g, s->lo->dt), s->lo->i + first), s->lo->dt);
        for (int i = 0; i < s->body->list.len; i++) {
            const urc_ls *st = s->body->list.items[i];
            if (st->kind != URC_LS_STORE) continue;
            LLVMValueRef val = vex(g, st->val, s->var, w);
            LLVMValueRef p = vec_ptr(g, st->buf, st->idx, w);
            unsigned al = (unsigned)urc_dtype_size(g->k->bufs.items[st->buf].dt);
            if (st->accum) {
                LLVMValueRef old = LLVMBuildLoad2(g->b, LLVMTypeOf(val), p, "");
                LLVMSetAlignment(old, al);
                val = LLVMBuildFAdd(g->b, old, val, "");
            }
            LLVMSetAlignment(LLVMBuildStore(g->b, val, p), al);
        }
        first += w;
    }
    return true;
}

/* for (var = lo; var < hi; var += step) body, as C runs it (hi read before every trip). */
static void serial_for(gen *g, const urc_ls *s) {
    urc_dtype vt = g->k->vars.items[s->var].dt;
    store_var(g, s->var, ex(g, s->lo), s->lo->dt);
    LLVMBasicBlockRef head = ll_block_new(g, "for"), body = ll_block_new(g, "body"), done = ll_block_new(g, "endfor");
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, head);
    LLVMValueRef v = LLVMBuildLoad2(g->b, val_type(g, vt), g->vars[s->var], "");
    LLVMValueRef hi = ll_convert(g, ex(g, s->hi), s->hi->dt, vt, true);
    LLVMBuildCondBr(g->b, ll_icmp(g, is_signed(vt) ? LLVMIntSLT : LLVMIntULT, v, hi), body, done);
    LLVMPositionBuilderAtEnd(g->b, body);
    block(g, s->body);
    LLVMValueRef v2 = LLVMBuildLoad2(g->b, val_type(g, vt), g->vars[s->var], "");
    LLVMValueRef st = ll_ci(val_type(g, vt), s->step);
    LLVMBuildStore(g->b, is_signed(vt) ? LLVMBuildNSWAdd(g->b, v2, st, "") : LLVMBuildNUWAdd(g->b, v2, st, ""),
                   g->vars[s->var]);
    loop_hints(g, LLVMBuildBr(g->b, head), s->flags);
    LLVMPositionBuilderAtEnd(g->b, done);
}

/* libgomp's functions. Not weak references: linkers that drop unneeded
 * libraries (--as-needed, Debian's default) would drop libgomp for a weak
 * one and the loops would run on one thread although -fopenmp was given.
 * The tests of their addresses below then fold away. */
static LLVMValueRef weak_fn(gen *g, const char *name, LLVMTypeRef ft) {
    LLVMValueRef f = LLVMGetNamedFunction(g->mod, name);
    if (!f) f = LLVMAddFunction(g->mod, name, ft);
    return f;
}

/* f() if f is linked, else dflt. */
static LLVMValueRef call_if_linked(gen *g, LLVMValueRef f, LLVMValueRef dflt) {
    LLVMBasicBlockRef yes = ll_block_new(g, "omp"), join = ll_block_new(g, "omp.join"), here = LLVMGetInsertBlock(g->b);
    LLVMBuildCondBr(g->b, LLVMBuildIsNotNull(g->b, f, ""), yes, join);
    LLVMPositionBuilderAtEnd(g->b, yes);
    LLVMValueRef r = call(g, f, NULL, 0);
    LLVMBuildBr(g->b, join);
    LLVMPositionBuilderAtEnd(g->b, join);
    LLVMValueRef phi = LLVMBuildPhi(g->b, LLVMTypeOf(dflt), "");
    LLVMValueRef vals[2] = {r, dflt};
    LLVMBasicBlockRef bbs[2] = {yes, here};
    LLVMAddIncoming(phi, vals, bbs, 2);
    return phi;
}

/* A parallel loop: its body outlined (loop/outline.c) into a function of a
 * context {total, lo[c], n[c], captured variables, captured buffers}, the
 * threads taking guided ranges of the collapsed iterations from libgomp, run
 * through GOMP_parallel (or directly, one static range, when libgomp is not
 * linked). */
static void parallel_for(gen *g, const urc_ls *s) {
    urc_outline o;
    if (!urc_outline_loop(g->k, s, &o)) {
        serial_for(g, s);
        return;
    }
    int c = o.collapse, nv = o.vars.len, nb = o.bufs.len;
    int nf = 1 + 2 * c + nv + nb;
    LLVMTypeRef *ft = urc_alloc(sizeof(LLVMTypeRef) * (size_t)nf);
    ft[0] = g->i64;
    for (int i = 0; i < 2 * c; i++) ft[1 + i] = g->i64;
    for (int i = 0; i < nv; i++) ft[1 + 2 * c + i] = val_type(g, g->k->vars.items[o.vars.items[i]].dt);
    for (int i = 0; i < nb; i++) ft[1 + 2 * c + nv + i] = LLVMTypeOf(g->bufp[o.bufs.items[i]]);
    LLVMTypeRef st = LLVMStructTypeInContext(g->ctx, ft, (unsigned)nf, 0);
    /* the context, filled in the kernel */
    LLVMValueRef ctx = ll_entry_alloca(g, st, 8);
    LLVMValueRef total = ll_ci(g->i64, 1);
#define FIELD(base, i) LLVMBuildStructGEP2(g->b, st, base, (unsigned)(i), "")
    for (int i = 0; i < c; i++) {
        const urc_ls *l = o.nest[i];
        LLVMValueRef lo = ll_index64(g, l->lo), hi = ll_index64(g, l->hi);
        LLVMValueRef span = LLVMBuildSub(g->b, hi, lo, "");
        LLVMValueRef n =
            LLVMBuildSDiv(g->b, LLVMBuildAdd(g->b, span, ll_ci(g->i64, l->step - 1), ""), ll_ci(g->i64, l->step), "");
        n = sel(g, ll_icmp(g, LLVMIntSGT, hi, lo), n, ll_ci(g->i64, 0));
        LLVMBuildStore(g->b, lo, FIELD(ctx, 1 + i));
        LLVMBuildStore(g->b, n, FIELD(ctx, 1 + c + i));
        total = LLVMBuildMul(g->b, total, n, "");
    }
    LLVMBuildStore(g->b, total, FIELD(ctx, 0));
    for (int i = 0; i < nv; i++) {
        int v = o.vars.items[i];
        LLVMValueRef x = LLVMBuildLoad2(g->b, ft[1 + 2 * c + i], g->vars[v], "");
        LLVMBuildStore(g->b, x, FIELD(ctx, 1 + 2 * c + i));
    }
    for (int i = 0; i < nb; i++) LLVMBuildStore(g->b, g->bufp[o.bufs.items[i]], FIELD(ctx, 1 + 2 * c + nv + i));

    /* the outlined body */
    gen save = *g;
    LLVMBasicBlockRef back = LLVMGetInsertBlock(g->b);
    /* The body takes the captured buffers as parameters, noalias as in the
     * kernel (which loads from a context would lose); a thunk of GOMP's
     * signature passes them (the inliner keeps noalias as alias scopes). */
    LLVMTypeRef *ps = urc_alloc(sizeof(LLVMTypeRef) * ((size_t)nb + 1));
    ps[0] = g->p8;
    for (int i = 0; i < nb; i++) ps[1 + i] = ft[1 + 2 * c + nv + i];
    const char *fname = urc_fmt("%s.par%d", g->k->name, g->nouter++);
    LLVMValueRef fn =
        ll_new_function(g, urc_fmt("%s.body", fname), LLVMFunctionType(g->vd, ps, (unsigned)nb + 1, 0), true);
    for (int i = 0; i < nb; i++) {
        const urc_kbuf *kb = &g->k->bufs.items[o.bufs.items[i]];
        if (!kb->may_alias) set_attr(g, fn, (unsigned)i + 2, "noalias");
        set_attr(g, fn, (unsigned)i + 2, "nocapture");
        if (kb->role == URC_KB_IN) set_attr(g, fn, (unsigned)i + 2, "readonly");
    }
    g->fn = fn;
    g->entry = LLVMAppendBasicBlockInContext(g->ctx, fn, "entry");
    g->in_parallel = true;
    g->vars = urc_alloc(sizeof(LLVMValueRef) * ((size_t)g->k->vars.len + 1));
    g->bufp = urc_alloc(sizeof(LLVMValueRef) * ((size_t)g->k->bufs.len + 1));
    LLVMPositionBuilderAtEnd(g->b, g->entry);
    for (int v = 0; v < g->k->vars.len; v++) g->vars[v] = ll_entry_alloca(g, val_type(g, g->k->vars.items[v].dt), 8);
    for (int i = 0; i < g->k->bufs.len; i++) { /* local arrays declared in the body: one per thread */
        const urc_kbuf *kb = &g->k->bufs.items[i];
        if (kb->role == URC_KB_LOCAL)
            g->bufp[i] =
                ll_entry_alloca(g, LLVMArrayType(ll_mem_type(g, kb->dt), (unsigned)(kb->count ? kb->count : 1)), 64);
    }
    for (int i = 0; i < g->k->bufs.len; i++)
        if (g->bufp[i])
            g->bufp[i] =
                LLVMBuildBitCast(g->b, g->bufp[i], LLVMPointerType(ll_mem_type(g, g->k->bufs.items[i].dt), 0), "");
    LLVMValueRef cx = LLVMBuildBitCast(g->b, LLVMGetParam(fn, 0), LLVMPointerType(st, 0), "");
    for (int i = 0; i < nb; i++) g->bufp[o.bufs.items[i]] = LLVMGetParam(fn, (unsigned)i + 1);
    for (int i = 0; i < nv; i++)
        LLVMBuildStore(g->b, LLVMBuildLoad2(g->b, ft[1 + 2 * c + i], FIELD(cx, 1 + 2 * c + i), ""),
                       g->vars[o.vars.items[i]]);
    LLVMValueRef lo[8], n[8];
    for (int i = 0; i < c; i++) {
        lo[i] = LLVMBuildLoad2(g->b, g->i64, FIELD(cx, 1 + i), "");
        n[i] = LLVMBuildLoad2(g->b, g->i64, FIELD(cx, 1 + c + i), "");
    }
    LLVMValueRef tot = LLVMBuildLoad2(g->b, g->i64, FIELD(cx, 0), "");
    LLVMTypeRef it = LLVMFunctionType(g->i32, NULL, 0, 0);
    LLVMValueRef nth = call_if_linked(g, weak_fn(g, "omp_get_num_threads", it), ll_ci(g->i32, 1));
    LLVMValueRef tid = call_if_linked(g, weak_fn(g, "omp_get_thread_num", it), ll_ci(g->i32, 0));
    nth = LLVMBuildSExt(g->b, nth, g->i64, "");
    tid = LLVMBuildSExt(g->b, tid, g->i64, "");
    /* Guided, as the C backend's schedule(guided): libgomp hands out ranges [is, ie) of the collapsed
     * iterations (GOMP_loop_guided_start/next), so a descheduled thread leaves the rest to the others.
     * Without libgomp: the static block [tid * q + min(tid, r), + q + (tid < r)), one range. */
    LLVMValueRef q = LLVMBuildSDiv(g->b, tot, nth, ""), r = LLVMBuildSRem(g->b, tot, nth, "");
    LLVMValueRef few = ll_icmp(g, LLVMIntSLT, tid, r);
    LLVMValueRef start = LLVMBuildAdd(g->b, LLVMBuildMul(g->b, tid, q, ""), sel(g, few, tid, r), "");
    LLVMValueRef end = LLVMBuildAdd(g->b, LLVMBuildAdd(g->b, start, q, ""), LLVMBuildZExt(g->b, few, g->i64, ""), "");
    LLVMTypeRef p64 = LLVMPointerType(g->i64, 0);
    LLVMTypeRef sa[6] = {g->i64, g->i64, g->i64, g->i64, p64, p64}, na[2] = {p64, p64};
    LLVMValueRef gstart = weak_fn(g, "GOMP_loop_guided_start", LLVMFunctionType(g->i8, sa, 6, 0));
    LLVMValueRef gnext = weak_fn(g, "GOMP_loop_guided_next", LLVMFunctionType(g->i8, na, 2, 0));
    LLVMValueRef gend = weak_fn(g, "GOMP_loop_end_nowait", LLVMFunctionType(g->vd, NULL, 0, 0));
    LLVMValueRef isp = ll_entry_alloca(g, g->i64, 8), iep = ll_entry_alloca(g, g->i64, 8);
    LLVMValueRef okp = ll_entry_alloca(g, g->i1, 1), tv = ll_entry_alloca(g, g->i64, 8);
    LLVMValueRef linked = LLVMBuildIsNotNull(g->b, gstart, "");
    LLVMBuildStore(g->b, start, isp);
    LLVMBuildStore(g->b, end, iep);
    LLVMBuildStore(g->b, ll_icmp(g, LLVMIntSLT, start, end), okp);
    LLVMBasicBlockRef gs = ll_block_new(g, "par.guided"), chunk = ll_block_new(g, "par.chunk"),
                      first = ll_block_new(g, "par.first"), head = ll_block_new(g, "par.for"),
                      body = ll_block_new(g, "par.body"), next = ll_block_new(g, "par.next"),
                      gn = ll_block_new(g, "par.gnext"), fin = ll_block_new(g, "par.fin"),
                      gfin = ll_block_new(g, "par.gend"), done = ll_block_new(g, "par.end");
    LLVMBuildCondBr(g->b, linked, gs, chunk);
    LLVMPositionBuilderAtEnd(g->b, gs);
    LLVMValueRef sargs[6] = {ll_ci(g->i64, 0), tot, ll_ci(g->i64, 1), ll_ci(g->i64, 1), isp, iep};
    LLVMBuildStore(g->b, LLVMBuildICmp(g->b, LLVMIntNE, call(g, gstart, sargs, 6), LLVMConstInt(g->i8, 0, 0), ""), okp);
    LLVMBuildBr(g->b, chunk);
    LLVMPositionBuilderAtEnd(g->b, chunk); /* a range to run? */
    LLVMBuildCondBr(g->b, LLVMBuildLoad2(g->b, g->i1, okp, ""), first, fin);
    LLVMPositionBuilderAtEnd(g->b, first);
    LLVMBuildStore(g->b, LLVMBuildLoad2(g->b, g->i64, isp, ""), tv);
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, head);
    LLVMValueRef t = LLVMBuildLoad2(g->b, g->i64, tv, "");
    LLVMBuildCondBr(g->b, ll_icmp(g, LLVMIntSLT, t, LLVMBuildLoad2(g->b, g->i64, iep, "")), body, next);
    LLVMPositionBuilderAtEnd(g->b, body);
    LLVMValueRef rest = t;
    for (int i = c - 1; i >= 0; i--) {
        LLVMValueRef idx = i ? LLVMBuildSRem(g->b, rest, n[i], "") : rest;
        if (i) rest = LLVMBuildSDiv(g->b, rest, n[i], "");
        LLVMValueRef v =
            LLVMBuildNSWAdd(g->b, lo[i], LLVMBuildNSWMul(g->b, idx, ll_ci(g->i64, o.nest[i]->step), ""), "");
        store_var(g, o.nest[i]->var, v, URC_DT_I64);
    }
    block(g, o.body);
    LLVMBuildStore(g->b, LLVMBuildNSWAdd(g->b, LLVMBuildLoad2(g->b, g->i64, tv, ""), ll_ci(g->i64, 1), ""), tv);
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, next); /* the range is done: the next one (guided), or none (static) */
    LLVMBuildStore(g->b, LLVMConstInt(g->i1, 0, 0), okp);
    LLVMBuildCondBr(g->b, linked, gn, chunk);
    LLVMPositionBuilderAtEnd(g->b, gn);
    LLVMValueRef nargs[2] = {isp, iep};
    LLVMBuildStore(g->b, LLVMBuildICmp(g->b, LLVMIntNE, call(g, gnext, nargs, 2), LLVMConstInt(g->i8, 0, 0), ""), okp);
    LLVMBuildBr(g->b, chunk);
    LLVMPositionBuilderAtEnd(g->b, fin);
    LLVMBuildCondBr(g->b, linked, gfin, done);
    LLVMPositionBuilderAtEnd(g->b, gfin);
    call(g, gend, NULL, 0);
    LLVMBuildBr(g->b, done);
    LLVMPositionBuilderAtEnd(g->b, done);
    LLVMBuildRetVoid(g->b);
    /* the thunk: GOMP_parallel's void (*)(void *) */
    LLVMTypeRef tp[1] = {g->p8};
    LLVMValueRef thunk = ll_new_function(g, fname, LLVMFunctionType(g->vd, tp, 1, 0), true);
    LLVMPositionBuilderAtEnd(g->b, LLVMAppendBasicBlockInContext(g->ctx, thunk, "entry"));
    LLVMValueRef tx = LLVMBuildBitCast(g->b, LLVMGetParam(thunk, 0), LLVMPointerType(st, 0), "");
    LLVMValueRef *targs = urc_alloc(sizeof(LLVMValueRef) * ((size_t)nb + 1));
    targs[0] = LLVMGetParam(thunk, 0);
    for (int i = 0; i < nb; i++) targs[1 + i] = LLVMBuildLoad2(g->b, ps[1 + i], FIELD(tx, 1 + 2 * c + nv + i), "");
    call(g, fn, targs, nb + 1);
    LLVMBuildRetVoid(g->b);
    fn = thunk;
#undef FIELD
    int nouter = g->nouter;
    *g = save;
    g->nouter = nouter;
    LLVMPositionBuilderAtEnd(g->b, back);

    /* the call: GOMP_parallel(fn, ctx, 0 threads = the default, 0), or fn(ctx) */
    LLVMTypeRef bodyty = LLVMPointerType(LLVMGlobalGetValueType(fn), 0);
    LLVMTypeRef gp[4] = {bodyty, g->p8, g->i32, g->i32};
    LLVMValueRef gomp = weak_fn(g, "GOMP_parallel", LLVMFunctionType(g->vd, gp, 4, 0));
    LLVMValueRef cp = LLVMBuildBitCast(g->b, ctx, g->p8, "");
    LLVMBasicBlockRef yes = ll_block_new(g, "gomp"), no = ll_block_new(g, "serial"),
                      join = ll_block_new(g, "gomp.join");
    LLVMBuildCondBr(g->b, LLVMBuildIsNotNull(g->b, gomp, ""), yes, no);
    LLVMPositionBuilderAtEnd(g->b, yes);
    LLVMValueRef args[4] = {fn, cp, ll_ci(g->i32, 0), ll_ci(g->i32, 0)};
    call(g, gomp, args, 4);
    LLVMBuildBr(g->b, join);
    LLVMPositionBuilderAtEnd(g->b, no);
    call(g, fn, &cp, 1);
    LLVMBuildBr(g->b, join);
    LLVMPositionBuilderAtEnd(g->b, join);
    urc_outline_free(&o);
}

static void stmt(gen *g, const urc_ls *s) {
    LLVMBuilderRef b = g->b;
    const urc_kernel *k = g->k;
    switch (s->kind) {
    case URC_LS_BLOCK: block(g, s); return;
    case URC_LS_FOR:
        if ((s->flags & URC_FOR_PARALLEL) && !g->in_parallel && !g->serial) parallel_for(g, s);
        else if (!vector_for(g, s)) serial_for(g, s);
        return;
    case URC_LS_IF: {
        LLVMValueRef c = to_bool(g, ex(g, s->cond), s->cond->dt);
        bool els = s->els && s->els->list.len;
        LLVMBasicBlockRef then = ll_block_new(g, "then"), other = els ? ll_block_new(g, "else") : NULL,
                          join = ll_block_new(g, "endif");
        LLVMBuildCondBr(b, c, then, els ? other : join);
        LLVMPositionBuilderAtEnd(b, then);
        block(g, s->body);
        LLVMBuildBr(b, join);
        if (els) {
            LLVMPositionBuilderAtEnd(b, other);
            block(g, s->els);
            LLVMBuildBr(b, join);
        }
        LLVMPositionBuilderAtEnd(b, join);
        return;
    }
    case URC_LS_STORE: {
        urc_dtype bt = k->bufs.items[s->buf].dt;
        LLVMValueRef p = ll_elem_ptr(g, s->buf, s->idx);
        LLVMValueRef v = ex(g, s->val);
        if (s->val->dt != bt) v = ll_convert(g, v, s->val->dt, bt, false);
        if (s->accum) {
            LLVMValueRef old = load_elem(g, s->buf, p);
            v = is_float(bt)        ? LLVMBuildFAdd(b, old, v, "")
                : bt == URC_DT_BOOL ? LLVMBuildOr(b, old, v, "")
                                    : LLVMBuildAdd(b, old, v, "");
        }
        if (bt == URC_DT_BOOL) v = LLVMBuildZExt(b, v, g->i8, "");
        LLVMValueRef st = LLVMBuildStore(b, v, p);
        LLVMSetAlignment(st, (unsigned)urc_dtype_size(bt));
        return;
    }
    case URC_LS_DECL:
    case URC_LS_ASSIGN: store_var(g, s->var, ex(g, s->val), s->val->dt); return;
    case URC_LS_COMMENT:
    case URC_LS_ARRAY: return; /* arrays are allocas of the function's entry block */
    case URC_LS_FAIL:
        LLVMBuildRet(b, ll_ci(g->i32, 1));
        LLVMPositionBuilderAtEnd(b, ll_block_new(g, "after.fail"));
        return;
    case URC_LS_CALL: { /* void f(args): element addresses as pointers, bools as C's one-byte _Bool */
        int n = s->args.len;
        LLVMTypeRef *ts = urc_alloc(sizeof(LLVMTypeRef) * ((size_t)n + 1));
        LLVMValueRef *vs = urc_alloc(sizeof(LLVMValueRef) * ((size_t)n + 1));
        for (int i = 0; i < n; i++) {
            const urc_lx *a = s->args.items[i];
            if (a->kind == URC_LX_ADDR) {
                vs[i] = ll_elem_ptr(g, a->buf, a->a);
                ts[i] = LLVMPointerType(ll_mem_type(g, a->dt), 0);
            } else if (a->dt == URC_DT_BOOL) {
                vs[i] = LLVMBuildZExt(b, ex(g, a), g->i8, "");
                ts[i] = g->i8;
            } else {
                vs[i] = ex(g, a);
                ts[i] = val_type(g, a->dt);
            }
        }
        LLVMTypeRef ft = LLVMFunctionType(g->vd, ts, (unsigned)n, 0);
        LLVMBuildCall2(b, ft, declare(g, s->text, ft), vs, (unsigned)n, "");
        return;
    }
    case URC_LS_TILE: ll_tile(g, s); return;
    }
}

/* ---- kernels ---------------------------------------------------------------------------- */

LLVMValueRef ll_kernel(gen *g, const urc_kernel *k) {
    int np = 0;
    for (int i = 0; i < k->bufs.len; i++) np += k->bufs.items[i].role != URC_KB_LOCAL;
    LLVMTypeRef *ps = urc_alloc(sizeof(LLVMTypeRef) * ((size_t)np + 1));
    for (int i = 0, j = 0; i < k->bufs.len; i++)
        if (k->bufs.items[i].role != URC_KB_LOCAL) ps[j++] = LLVMPointerType(ll_mem_type(g, k->bufs.items[i].dt), 0);
    LLVMValueRef fn =
        ll_new_function(g, k->name, LLVMFunctionType(k->can_fail ? g->i32 : g->vd, ps, (unsigned)np, 0), true);
    g->k = k;
    g->fn = fn;
    g->in_parallel = false;
    g->entry = LLVMAppendBasicBlockInContext(g->ctx, fn, "entry");
    g->vars = urc_alloc(sizeof(LLVMValueRef) * ((size_t)k->vars.len + 1));
    g->bufp = urc_alloc(sizeof(LLVMValueRef) * ((size_t)k->bufs.len + 1));
    LLVMPositionBuilderAtEnd(g->b, g->entry);
    for (int i = 0, j = 0; i < k->bufs.len; i++) {
        const urc_kbuf *kb = &k->bufs.items[i];
        if (kb->role == URC_KB_LOCAL) {
            LLVMValueRef a =
                ll_entry_alloca(g, LLVMArrayType(ll_mem_type(g, kb->dt), (unsigned)(kb->count ? kb->count : 1)), 64);
            g->bufp[i] = LLVMBuildBitCast(g->b, a, LLVMPointerType(ll_mem_type(g, kb->dt), 0), "");
            continue;
        }
        g->bufp[i] = LLVMGetParam(fn, (unsigned)j);
        if (!kb->may_alias) set_attr(g, fn, (unsigned)j + 1, "noalias");
        set_attr(g, fn, (unsigned)j + 1, "nocapture");
        if (kb->role == URC_KB_IN) set_attr(g, fn, (unsigned)j + 1, "readonly");
        j++;
    }
    for (int v = 0; v < k->vars.len; v++) g->vars[v] = ll_entry_alloca(g, val_type(g, k->vars.items[v].dt), 8);
    block(g, k->body);
    if (k->can_fail) LLVMBuildRet(g->b, ll_ci(g->i32, 0));
    else LLVMBuildRetVoid(g->b);
    return fn;
}

LLVMValueRef ll_kernel_fn(gen *g, kernel_table *t, const urc_kernel *k) {
    uint64_t h = urc_mix64(urc_kernel_head_hash(k), urc_ls_hash(k->body, URC_FNV_INIT));
    for (int e = urc_hindex_first(&t->index, h); e >= 0; e = urc_hindex_next(&t->index, e))
        if (t->k.items[e] == k || urc_kernel_eq(t->k.items[e], k)) return t->fn.items[e];
    LLVMValueRef fn = ll_kernel(g, k);
    urc_hindex_add(&t->index, h);
    URC_VEC_PUSH(t->k, k);
    URC_VEC_PUSH(t->fn, fn);
    return fn;
}
