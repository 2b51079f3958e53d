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
#include "emit_llvm.h"

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

typedef struct gen {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef i1, i8, i16, i32, i64, f32, f64, vd, p8;
    const urc_kernel *k;
    LLVMValueRef fn;         /* the function being built */
    LLVMBasicBlockRef entry; /* its entry block: allocas go there */
    LLVMValueRef *bufp;      /* per kernel buffer: its pointer in fn */
    LLVMValueRef *vars;      /* per kernel variable: its alloca in fn */
    bool in_parallel;        /* building an outlined body: nested parallel loops run serially */
    int nouter;              /* outlined functions so far (their names) */
    const char *cpu, *features, *vector_width;
    unsigned md_loop; /* kind id of llvm.loop */
} gen;

/* ---- types --------------------------------------------------------------------- */

/* The type a dtype is stored as in memory. */
static LLVMTypeRef mem_type(gen *g, urc_dtype dt) {
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
static LLVMTypeRef val_type(gen *g, urc_dtype dt) { return dt == URC_DT_BOOL ? g->i1 : mem_type(g, dt); }

static bool is_half(urc_dtype dt) { return dt == URC_DT_F16 || dt == URC_DT_BF16; }
static bool is_float(urc_dtype dt) { return urc_dtype_is_float(dt) && !is_half(dt); }
static bool is_signed(urc_dtype dt) {
    return dt == URC_DT_I8 || dt == URC_DT_I16 || dt == URC_DT_I32 || dt == URC_DT_I64;
}
static int bits_of(urc_dtype dt) { return dt == URC_DT_BOOL ? 1 : 8 * urc_dtype_size(dt); }

static LLVMValueRef ci(LLVMTypeRef t, int64_t v) { return LLVMConstInt(t, (unsigned long long)v, 1); }

/* ---- calls ----------------------------------------------------------------------- */

static LLVMValueRef call(gen *g, LLVMValueRef fn, LLVMValueRef *args, int n) {
    return LLVMBuildCall2(g->b, LLVMGlobalGetValueType(fn), fn, args, (unsigned)n, "");
}

static LLVMValueRef intrinsic(gen *g, const char *name, LLVMTypeRef *tys, int nt, LLVMValueRef *args, int na) {
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
static LLVMValueRef new_function(gen *g, const char *name, LLVMTypeRef ft, bool internal) {
    LLVMValueRef f = LLVMAddFunction(g->mod, name, ft);
    if (internal) LLVMSetLinkage(f, LLVMInternalLinkage);
    set_attr(g, f, LLVMAttributeFunctionIndex, "nounwind");
    if (g->cpu && *g->cpu) LLVMAddTargetDependentFunctionAttr(f, "target-cpu", g->cpu);
    if (g->features && *g->features) LLVMAddTargetDependentFunctionAttr(f, "target-features", g->features);
    if (g->vector_width) LLVMAddTargetDependentFunctionAttr(f, "prefer-vector-width", g->vector_width);
    return f;
}

/* An alloca in the entry block of the function being built. */
static LLVMValueRef entry_alloca(gen *g, LLVMTypeRef t, unsigned align) {
    LLVMBuilderRef eb = LLVMCreateBuilderInContext(g->ctx);
    LLVMValueRef first = LLVMGetFirstInstruction(g->entry);
    if (first) LLVMPositionBuilderBefore(eb, first);
    else LLVMPositionBuilderAtEnd(eb, g->entry);
    LLVMValueRef a = LLVMBuildAlloca(eb, t, "");
    LLVMSetAlignment(a, align);
    LLVMDisposeBuilder(eb);
    return a;
}

static LLVMBasicBlockRef block_new(gen *g, const char *name) {
    return LLVMAppendBasicBlockInContext(g->ctx, g->fn, name);
}

/* ---- conversions ------------------------------------------------------------------- */

static LLVMValueRef to_bool(gen *g, LLVMValueRef v, urc_dtype dt);
static LLVMValueRef half_to_f32(gen *g, LLVMValueRef h, urc_dtype dt);
static LLVMValueRef f32_to_half(gen *g, LLVMValueRef f, urc_dtype dt);

/* v of dtype from as dtype to (the C printer's casts). */
static LLVMValueRef convert(gen *g, LLVMValueRef v, urc_dtype from, urc_dtype to, bool inrange) {
    LLVMBuilderRef b = g->b;
    if (from == to) return v;
    if (to == URC_DT_BOOL) return to_bool(g, v, from);
    if (is_half(from)) return convert(g, half_to_f32(g, v, from), URC_DT_F32, to, inrange);
    if (is_half(to)) return f32_to_half(g, convert(g, v, from, URC_DT_F32, inrange), to);
    LLVMTypeRef t = val_type(g, to);
    if (from == URC_DT_BOOL) return is_float(to) ? LLVMBuildUIToFP(b, v, t, "") : LLVMBuildZExt(b, v, t, "");
    if (is_float(from) && is_float(to))
        return bits_of(to) > bits_of(from) ? LLVMBuildFPExt(b, v, t, "") : LLVMBuildFPTrunc(b, v, t, "");
    if (is_float(to)) return is_signed(from) ? LLVMBuildSIToFP(b, v, t, "") : LLVMBuildUIToFP(b, v, t, "");
    if (is_float(from)) {
        if (inrange) return is_signed(to) ? LLVMBuildFPToSI(b, v, t, "") : LLVMBuildFPToUI(b, v, t, "");
        /* saturating, NaN -> 0: exactly docs/ops.md's conversion */
        LLVMTypeRef tys[2] = {t, val_type(g, from)};
        return intrinsic(g, is_signed(to) ? "llvm.fptosi.sat" : "llvm.fptoui.sat", tys, 2, &v, 1);
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
static LLVMValueRef icmp(gen *g, LLVMIntPredicate p, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildICmp(g->b, p, a, b, "");
}

/* The C prelude's urc_f16_to_f32 / urc_bf16_to_f32, bit for bit. */
static LLVMValueRef half_to_f32(gen *g, LLVMValueRef h, urc_dtype dt) {
    LLVMBuilderRef b = g->b;
    LLVMTypeRef i32 = g->i32;
    LLVMValueRef u = LLVMBuildZExt(b, h, i32, "");
    if (dt == URC_DT_BF16) return LLVMBuildBitCast(b, LLVMBuildShl(b, u, ci(i32, 16), ""), g->f32, "");
    LLVMValueRef s = LLVMBuildShl(b, LLVMBuildLShr(b, u, ci(i32, 15), ""), ci(i32, 31), "");
    LLVMValueRef e = LLVMBuildAnd(b, LLVMBuildLShr(b, u, ci(i32, 10), ""), ci(i32, 0x1f), "");
    LLVMValueRef m = LLVMBuildAnd(b, u, ci(i32, 0x3ff), "");
    LLVMValueRef sub =
        LLVMBuildFMul(b, LLVMBuildUIToFP(b, m, g->f32, ""), LLVMConstReal(g->f32, 5.9604644775390625e-8), "");
    sub = LLVMBuildBitCast(b, LLVMBuildOr(b, LLVMBuildBitCast(b, sub, i32, ""), s, ""), g->f32, "");
    LLVMValueRef m13 = LLVMBuildShl(b, m, ci(i32, 13), "");
    LLVMValueRef inf = LLVMBuildOr(b, ci(i32, 0x7f800000), m13, "");
    LLVMValueRef norm = LLVMBuildOr(b, LLVMBuildShl(b, LLVMBuildAdd(b, e, ci(i32, 112), ""), ci(i32, 23), ""), m13, "");
    norm = LLVMBuildOr(b, s, sel(g, icmp(g, LLVMIntEQ, e, ci(i32, 31)), inf, norm), "");
    return sel(g, icmp(g, LLVMIntEQ, e, ci(i32, 0)), sub, LLVMBuildBitCast(b, norm, g->f32, ""));
}

/* The C prelude's urc_f32_to_f16 / urc_f32_to_bf16 (round to nearest even). */
static LLVMValueRef f32_to_half(gen *g, LLVMValueRef f, urc_dtype dt) {
    LLVMBuilderRef b = g->b;
    LLVMTypeRef i32 = g->i32;
    LLVMValueRef u = LLVMBuildBitCast(b, f, i32, "");
    LLVMValueRef a = LLVMBuildAnd(b, u, ci(i32, 0x7fffffff), "");
    LLVMValueRef nan = icmp(g, LLVMIntUGT, a, ci(i32, 0x7f800000));
    if (dt == URC_DT_BF16) {
        LLVMValueRef q = LLVMBuildOr(b, LLVMBuildLShr(b, u, ci(i32, 16), ""), ci(i32, 0x40), "");
        LLVMValueRef odd = LLVMBuildAnd(b, LLVMBuildLShr(b, u, ci(i32, 16), ""), ci(i32, 1), "");
        LLVMValueRef r =
            LLVMBuildLShr(b, LLVMBuildAdd(b, LLVMBuildAdd(b, u, ci(i32, 0x7fff), ""), odd, ""), ci(i32, 16), "");
        return LLVMBuildTrunc(b, sel(g, nan, q, r), g->i16, "");
    }
    LLVMValueRef s = LLVMBuildAnd(b, LLVMBuildLShr(b, u, ci(i32, 16), ""), ci(i32, 0x8000), "");
    LLVMValueRef t = LLVMBuildFMul(b, LLVMBuildBitCast(b, a, g->f32, ""), LLVMConstReal(g->f32, 16777216.0), "");
    LLVMTypeRef tys[1] = {g->f32};
    t = intrinsic(g, "llvm.nearbyint", tys, 1, &t, 1);
    LLVMValueRef subn = LLVMBuildOr(b, s, LLVMBuildFPToUI(b, t, i32, ""), "");
    LLVMValueRef r = LLVMBuildSub(b, a, ci(i32, 0x38000000), "");
    LLVMValueRef h = LLVMBuildLShr(b, r, ci(i32, 13), ""), rem = LLVMBuildAnd(b, r, ci(i32, 0x1fff), "");
    LLVMValueRef up = LLVMBuildOr(b, icmp(g, LLVMIntUGT, rem, ci(i32, 0x1000)),
                                  LLVMBuildAnd(b, icmp(g, LLVMIntEQ, rem, ci(i32, 0x1000)),
                                               LLVMBuildTrunc(b, LLVMBuildAnd(b, h, ci(i32, 1), ""), g->i1, ""), ""),
                                  "");
    LLVMValueRef norm = LLVMBuildOr(b, s, LLVMBuildAdd(b, h, LLVMBuildZExt(b, up, i32, ""), ""), "");
    LLVMValueRef v = sel(g, icmp(g, LLVMIntULT, a, ci(i32, 0x38800000)), subn, norm);
    v = sel(g, icmp(g, LLVMIntUGE, a, ci(i32, 0x477ff000)), LLVMBuildOr(b, s, ci(i32, 0x7c00), ""), v);
    v = sel(g, nan, LLVMBuildOr(b, s, ci(i32, 0x7e00), ""), v);
    return LLVMBuildTrunc(b, v, g->i16, "");
}

/* ---- expressions ---------------------------------------------------------------------- */

static LLVMValueRef ex(gen *g, const urc_lx *e);

/* An index as i64. */
static LLVMValueRef index64(gen *g, const urc_lx *e) {
    LLVMValueRef v = ex(g, e);
    if (e->dt == URC_DT_I64 || e->dt == URC_DT_U64) return v;
    return is_signed(e->dt) ? LLVMBuildSExt(g->b, v, g->i64, "") : LLVMBuildZExt(g->b, v, g->i64, "");
}

static LLVMValueRef elem_ptr(gen *g, int buf, const urc_lx *idx) {
    LLVMValueRef i = index64(g, idx);
    return LLVMBuildInBoundsGEP2(g->b, mem_type(g, g->k->bufs.items[buf].dt), g->bufp[buf], &i, 1, "");
}

static LLVMValueRef load_elem(gen *g, int buf, LLVMValueRef p) {
    urc_dtype dt = g->k->bufs.items[buf].dt;
    LLVMValueRef v = LLVMBuildLoad2(g->b, mem_type(g, dt), p, "");
    LLVMSetAlignment(v, (unsigned)urc_dtype_size(dt));
    return dt == URC_DT_BOOL ? LLVMBuildICmp(g->b, LLVMIntNE, v, ci(g->i8, 0), "") : v;
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
    LLVMValueRef zero = ci(t, 0), one = ci(t, 1);
    LLVMValueRef bz = icmp(g, LLVMIntEQ, b, zero);
    if (!s) {
        LLVMValueRef d = sel(g, bz, one, b);
        LLVMValueRef r = rem ? LLVMBuildURem(bl, a, d, "") : LLVMBuildUDiv(bl, a, d, "");
        return sel(g, bz, zero, r);
    }
    LLVMValueRef bm1 = icmp(g, LLVMIntEQ, b, ci(t, -1));
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
    f = new_function(g, "urc_pow_bits", LLVMFunctionType(g->i64, ps, 2, 0), true);
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
    LLVMValueRef a2 = LLVMBuildMul(b, a, a, ""), n2 = LLVMBuildLShr(b, n, ci(g->i64, 1), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, n, ci(g->i64, 0), ""), x, h);
    LLVMValueRef iv[3][2] = {{ci(g->i64, 1), r2}, {LLVMGetParam(f, 0), a2}, {LLVMGetParam(f, 1), n2}};
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
    LLVMValueRef a64 = convert(g, a, e->a->dt, is_signed(e->a->dt) ? URC_DT_I64 : URC_DT_U64, true);
    LLVMValueRef b64 = convert(g, b, e->b->dt, is_signed(e->b->dt) ? URC_DT_I64 : URC_DT_U64, true);
    LLVMTypeRef t = g->i64;
    LLVMValueRef args[2] = {a64, b64};
    LLVMValueRef p = call(g, pow_bits_fn(g), args, 2);
    LLVMValueRef neg = icmp(g, LLVMIntSLT, b64, ci(t, 0)), one = ci(t, 1), zero = ci(t, 0);
    LLVMValueRef a1 = icmp(g, LLVMIntEQ, a64, one), r;
    if (is_signed(e->a->dt)) {
        LLVMValueRef odd = LLVMBuildTrunc(g->b, b64, g->i1, "");
        r = sel(g, a1, one, sel(g, icmp(g, LLVMIntEQ, a64, ci(t, -1)), sel(g, odd, ci(t, -1), one), zero));
    } else {
        r = sel(g, a1, one, zero);
    }
    return convert(g, sel(g, neg, r, p), is_signed(e->a->dt) ? URC_DT_I64 : URC_DT_U64, e->dt, true);
}

static LLVMValueRef unary(gen *g, const urc_lx *e) {
    urc_dtype dt = e->a->dt;
    LLVMValueRef a = ex(g, e->a);
    LLVMBuilderRef b = g->b;
    LLVMTypeRef t = val_type(g, dt);
    bool f = is_float(dt);
    switch (e->op) {
    case URC_L_NEG: return f ? LLVMBuildFNeg(b, a, "") : LLVMBuildSub(b, ci(t, 0), a, "");
    case URC_L_NOT: return LLVMBuildNot(b, to_bool(g, a, dt), "");
    case URC_L_BITS_F32: return LLVMBuildBitCast(b, a, g->f32, "");
    case URC_L_ISNAN: return LLVMBuildFCmp(b, LLVMRealUNO, a, a, "");
    case URC_L_ISINF: {
        LLVMValueRef x = intrinsic(g, "llvm.fabs", &t, 1, &a, 1);
        return LLVMBuildFCmp(b, LLVMRealOEQ, x, LLVMConstReal(t, INFINITY), "");
    }
    case URC_L_ABS:
        if (!f)
            return is_signed(dt) ? sel(g, icmp(g, LLVMIntSLT, a, ci(t, 0)), LLVMBuildSub(b, ci(t, 0), a, ""), a) : a;
        return intrinsic(g, "llvm.fabs", &t, 1, &a, 1);
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
    return in ? intrinsic(g, in, &t, 1, &a, 1) : libm(g, lm, dt, &a, 1);
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
        LLVMValueRef fix =
            LLVMBuildAnd(b, icmp(g, LLVMIntNE, r, ci(t, 0)),
                         LLVMBuildXor(b, icmp(g, LLVMIntSLT, r, ci(t, 0)), icmp(g, LLVMIntSLT, c, ci(t, 0)), ""), "");
        return sel(g, fix, LLVMBuildAdd(b, r, c, ""), r);
    }
    case URC_L_POW: {
        if (!f) return int_pow(g, e, a, c);
        LLVMTypeRef t = val_type(g, dt);
        LLVMValueRef args[2] = {a, c};
        return intrinsic(g, "llvm.pow", &t, 1, args, 2);
    }
    case URC_L_MIN:
    case URC_L_MAX: {
        bool mn = e->op == URC_L_MIN;
        LLVMValueRef take_a;
        if (f) /* (a < b || a != a) ? a : b: NaN propagates */
            take_a = LLVMBuildOr(b, LLVMBuildFCmp(b, mn ? LLVMRealOLT : LLVMRealOGT, a, c, ""),
                                 LLVMBuildFCmp(b, LLVMRealUNO, a, a, ""), "");
        else take_a = icmp(g, mn ? (s ? LLVMIntSLT : LLVMIntULT) : (s ? LLVMIntSGT : LLVMIntUGT), a, c);
        return sel(g, take_a, a, c);
    }
    case URC_L_SHL:
    case URC_L_SHR: { /* (T)(b < width ? (uint64_t)a op b : 0) */
        LLVMValueRef a64 = convert(g, a, dt, s ? URC_DT_I64 : URC_DT_U64, true);
        LLVMValueRef b64 = convert(g, c, e->b->dt, is_signed(e->b->dt) ? URC_DT_I64 : URC_DT_U64, true);
        LLVMValueRef ok = icmp(g, LLVMIntULT, b64, ci(g->i64, 8 * urc_dtype_size(e->dt)));
        LLVMValueRef amt = sel(g, ok, b64, ci(g->i64, 0));
        LLVMValueRef r = e->op == URC_L_SHL ? LLVMBuildShl(b, a64, amt, "") : LLVMBuildLShr(b, a64, amt, "");
        return convert(g, sel(g, ok, r, ci(g->i64, 0)), URC_DT_U64, e->dt, true);
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
    if (e->b->dt != dt) c = convert(g, c, e->b->dt, dt, true);
    return icmp(g, p, a, c);
}

static LLVMValueRef ex(gen *g, const urc_lx *e) {
    switch (e->kind) {
    case URC_LX_INT:
        if (is_float(e->dt)) return LLVMConstReal(val_type(g, e->dt), (double)e->i);
        if (e->dt == URC_DT_BOOL) return LLVMConstInt(g->i1, e->i != 0, 0);
        return ci(val_type(g, e->dt), e->i);
    case URC_LX_FLT:
        if (!is_float(e->dt)) return convert(g, LLVMConstReal(g->f64, e->f), URC_DT_F64, e->dt, false);
        return LLVMConstReal(val_type(g, e->dt), e->f);
    case URC_LX_VAR: {
        urc_dtype dt = g->k->vars.items[e->var].dt;
        return convert(g, LLVMBuildLoad2(g->b, val_type(g, dt), g->vars[e->var], ""), dt, e->dt, true);
    }
    case URC_LX_LOAD: return load_elem(g, e->buf, elem_ptr(g, e->buf, e->a));
    case URC_LX_ADDR: URC_ASSERT(0, "an element address outside a call's arguments"); return NULL;
    case URC_LX_CAST: return convert(g, ex(g, e->a), e->a->dt, e->dt, e->inrange);
    case URC_LX_FMA: {
        LLVMValueRef args[3] = {ex(g, e->a), ex(g, e->b), ex(g, e->c)};
        LLVMTypeRef t = val_type(g, e->dt);
        if (!is_float(e->dt)) return LLVMBuildAdd(g->b, LLVMBuildMul(g->b, args[0], args[1], ""), args[2], "");
        return intrinsic(g, "llvm.fmuladd", &t, 1, args, 3);
    }
    case URC_LX_SEL: {
        LLVMValueRef c = to_bool(g, ex(g, e->a), e->a->dt);
        LLVMValueRef x = ex(g, e->b), y = ex(g, e->c);
        if (e->b->dt != e->dt) x = convert(g, x, e->b->dt, e->dt, false);
        if (e->c->dt != e->dt) y = convert(g, y, e->c->dt, e->dt, false);
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
    LLVMBuildStore(g->b, convert(g, v, from, dt, false), g->vars[var]);
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
    else if (flags & URC_FOR_VECTOR) ops[n++] = md_flag(g, "llvm.loop.vectorize.enable", LLVMConstInt(g->i1, 1, 0));
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

static bool uses_var(const urc_lx *e, int v) {
    if (!e) return false;
    if (e->kind == URC_LX_VAR && e->var == v) return true;
    return uses_var(e->a, v) || uses_var(e->b, v) || uses_var(e->c, v);
}

/* e = (something without v) + v */
static bool unit_stride(const urc_lx *e, int v) {
    if (e->kind == URC_LX_VAR) return e->var == v;
    if (e->kind != URC_LX_BIN) return false;
    if (e->op == URC_L_ADD)
        return (unit_stride(e->a, v) && !uses_var(e->b, v)) || (!uses_var(e->a, v) && unit_stride(e->b, v));
    if (e->op == URC_L_SUB) return unit_stride(e->a, v) && !uses_var(e->b, v);
    return false;
}

static bool vec_float(urc_dtype dt) { return dt == URC_DT_F32 || dt == URC_DT_F64; }

static bool widenable(const urc_lx *e, int v) {
    if (!uses_var(e, v)) return vec_float(e->dt) || e->dt == URC_DT_BOOL;
    switch (e->kind) {
    case URC_LX_LOAD: return vec_float(e->dt) && unit_stride(e->a, v);
    case URC_LX_FMA: return vec_float(e->dt) && widenable(e->a, v) && widenable(e->b, v) && widenable(e->c, v);
    case URC_LX_SEL:
        return vec_float(e->dt) && e->a->dt == URC_DT_BOOL && widenable(e->a, v) && widenable(e->b, v) &&
               widenable(e->c, v);
    case URC_LX_CAST: return vec_float(e->dt) && vec_float(e->a->dt) && widenable(e->a, v);
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
        if (s->kind != URC_LS_STORE || !vec_float(g->k->bufs.items[s->buf].dt) ||
            s->val->dt != g->k->bufs.items[s->buf].dt || !unit_stride(s->idx, v) || !widenable(s->val, v))
            return false;
    }
    return true;
}

static LLVMValueRef splat(gen *g, LLVMValueRef x, unsigned n) {
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), n);
    LLVMValueRef v = LLVMBuildInsertElement(g->b, LLVMGetUndef(vt), x, ci(g->i32, 0), "");
    return LLVMBuildShuffleVector(g->b, v, LLVMGetUndef(vt), LLVMConstNull(LLVMVectorType(g->i32, n)), "");
}

/* The vector pointer of buf[base + lane] (the lane variable holds the first lane). */
static LLVMValueRef vec_ptr(gen *g, int buf, const urc_lx *idx, unsigned n) {
    LLVMValueRef p = elem_ptr(g, buf, idx);
    return LLVMBuildBitCast(g->b, p, LLVMPointerType(LLVMVectorType(mem_type(g, g->k->bufs.items[buf].dt), n), 0), "");
}

static LLVMValueRef vex(gen *g, const urc_lx *e, int v, unsigned n) {
    if (!uses_var(e, v)) return splat(g, ex(g, e), n);
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
        return intrinsic(g, "llvm.fmuladd", &vt, 1, args, 3);
    }
    case URC_LX_SEL: return sel(g, vex(g, e->a, v, n), vex(g, e->b, v, n), vex(g, e->c, v, n));
    case URC_LX_CAST: {
        LLVMValueRef a = vex(g, e->a, v, n);
        if (e->a->dt == e->dt) return a;
        return bits_of(e->dt) > bits_of(e->a->dt) ? LLVMBuildFPExt(b, a, vt, "") : LLVMBuildFPTrunc(b, a, vt, "");
    }
    case URC_LX_UN: {
        LLVMValueRef a = vex(g, e->a, v, n);
        if (e->op == URC_L_NEG) return LLVMBuildFNeg(b, a, "");
        return intrinsic(g, e->op == URC_L_ABS ? "llvm.fabs" : "llvm.sqrt", &vt, 1, &a, 1);
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

/* The loop as one vector statement per store; false (nothing built) when it does not fit. */
static bool vector_for(gen *g, const urc_ls *s) {
    if (!(s->flags & URC_FOR_VECTOR) || s->step != 1 || s->lo->kind != URC_LX_INT || s->hi->kind != URC_LX_INT)
        return false;
    int64_t n = s->hi->i - s->lo->i;
    if (n < 2 || n > 64 || !widenable_body(g, s->body, s->var)) return false;
    store_var(g, s->var, ex(g, s->lo), s->lo->dt); /* lane 0: the bases of the vector accesses */
    for (int i = 0; i < s->body->list.len; i++) {
        const urc_ls *st = s->body->list.items[i];
        if (st->kind != URC_LS_STORE) continue;
        LLVMValueRef val = vex(g, st->val, s->var, (unsigned)n);
        LLVMValueRef p = vec_ptr(g, st->buf, st->idx, (unsigned)n);
        unsigned al = (unsigned)urc_dtype_size(g->k->bufs.items[st->buf].dt);
        if (st->accum) {
            LLVMValueRef old = LLVMBuildLoad2(g->b, LLVMTypeOf(val), p, "");
            LLVMSetAlignment(old, al);
            val = LLVMBuildFAdd(g->b, old, val, "");
        }
        LLVMSetAlignment(LLVMBuildStore(g->b, val, p), al);
    }
    return true;
}

/* for (var = lo; var < hi; var += step) body, as C runs it (hi read before every trip). */
static void serial_for(gen *g, const urc_ls *s) {
    urc_dtype vt = g->k->vars.items[s->var].dt;
    store_var(g, s->var, ex(g, s->lo), s->lo->dt);
    LLVMBasicBlockRef head = block_new(g, "for"), body = block_new(g, "body"), done = block_new(g, "endfor");
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, head);
    LLVMValueRef v = LLVMBuildLoad2(g->b, val_type(g, vt), g->vars[s->var], "");
    LLVMValueRef hi = convert(g, ex(g, s->hi), s->hi->dt, vt, true);
    LLVMBuildCondBr(g->b, icmp(g, is_signed(vt) ? LLVMIntSLT : LLVMIntULT, v, hi), body, done);
    LLVMPositionBuilderAtEnd(g->b, body);
    block(g, s->body);
    LLVMValueRef v2 = LLVMBuildLoad2(g->b, val_type(g, vt), g->vars[s->var], "");
    LLVMValueRef st = ci(val_type(g, vt), s->step);
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
    LLVMBasicBlockRef yes = block_new(g, "omp"), join = block_new(g, "omp.join"), here = LLVMGetInsertBlock(g->b);
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
 * context {total, lo[c], n[c], captured variables, captured buffers}, each
 * thread taking a static block of the collapsed iterations, run through
 * GOMP_parallel (or directly when libgomp is not linked). */
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
    LLVMValueRef ctx = entry_alloca(g, st, 8);
    LLVMValueRef total = ci(g->i64, 1);
#define FIELD(base, i) LLVMBuildStructGEP2(g->b, st, base, (unsigned)(i), "")
    for (int i = 0; i < c; i++) {
        const urc_ls *l = o.nest[i];
        LLVMValueRef lo = index64(g, l->lo), hi = index64(g, l->hi);
        LLVMValueRef span = LLVMBuildSub(g->b, hi, lo, "");
        LLVMValueRef n =
            LLVMBuildSDiv(g->b, LLVMBuildAdd(g->b, span, ci(g->i64, l->step - 1), ""), ci(g->i64, l->step), "");
        n = sel(g, icmp(g, LLVMIntSGT, hi, lo), n, ci(g->i64, 0));
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
        new_function(g, urc_fmt("%s.body", fname), LLVMFunctionType(g->vd, ps, (unsigned)nb + 1, 0), true);
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
    for (int v = 0; v < g->k->vars.len; v++) g->vars[v] = entry_alloca(g, val_type(g, g->k->vars.items[v].dt), 8);
    for (int i = 0; i < g->k->bufs.len; i++) { /* local arrays declared in the body: one per thread */
        const urc_kbuf *kb = &g->k->bufs.items[i];
        if (kb->role == URC_KB_LOCAL)
            g->bufp[i] = entry_alloca(g, LLVMArrayType(mem_type(g, kb->dt), (unsigned)(kb->count ? kb->count : 1)), 64);
    }
    for (int i = 0; i < g->k->bufs.len; i++)
        if (g->bufp[i])
            g->bufp[i] =
                LLVMBuildBitCast(g->b, g->bufp[i], LLVMPointerType(mem_type(g, g->k->bufs.items[i].dt), 0), "");
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
    LLVMValueRef nth = call_if_linked(g, weak_fn(g, "omp_get_num_threads", it), ci(g->i32, 1));
    LLVMValueRef tid = call_if_linked(g, weak_fn(g, "omp_get_thread_num", it), ci(g->i32, 0));
    nth = LLVMBuildSExt(g->b, nth, g->i64, "");
    tid = LLVMBuildSExt(g->b, tid, g->i64, "");
    /* static schedule: tid gets [tid * q + min(tid, r), + q + (tid < r)) */
    LLVMValueRef q = LLVMBuildSDiv(g->b, tot, nth, ""), r = LLVMBuildSRem(g->b, tot, nth, "");
    LLVMValueRef few = icmp(g, LLVMIntSLT, tid, r);
    LLVMValueRef start = LLVMBuildAdd(g->b, LLVMBuildMul(g->b, tid, q, ""), sel(g, few, tid, r), "");
    LLVMValueRef end = LLVMBuildAdd(g->b, LLVMBuildAdd(g->b, start, q, ""), LLVMBuildZExt(g->b, few, g->i64, ""), "");
    LLVMValueRef tv = entry_alloca(g, g->i64, 8);
    LLVMBuildStore(g->b, start, tv);
    LLVMBasicBlockRef head = block_new(g, "par.for"), body = block_new(g, "par.body"), done = block_new(g, "par.end");
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, head);
    LLVMValueRef t = LLVMBuildLoad2(g->b, g->i64, tv, "");
    LLVMBuildCondBr(g->b, icmp(g, LLVMIntSLT, t, end), body, done);
    LLVMPositionBuilderAtEnd(g->b, body);
    LLVMValueRef rest = t;
    for (int i = c - 1; i >= 0; i--) {
        LLVMValueRef idx = i ? LLVMBuildSRem(g->b, rest, n[i], "") : rest;
        if (i) rest = LLVMBuildSDiv(g->b, rest, n[i], "");
        LLVMValueRef v = LLVMBuildNSWAdd(g->b, lo[i], LLVMBuildNSWMul(g->b, idx, ci(g->i64, o.nest[i]->step), ""), "");
        store_var(g, o.nest[i]->var, v, URC_DT_I64);
    }
    block(g, o.body);
    LLVMBuildStore(g->b, LLVMBuildNSWAdd(g->b, LLVMBuildLoad2(g->b, g->i64, tv, ""), ci(g->i64, 1), ""), tv);
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, done);
    LLVMBuildRetVoid(g->b);
    /* the thunk: GOMP_parallel's void (*)(void *) */
    LLVMTypeRef tp[1] = {g->p8};
    LLVMValueRef thunk = new_function(g, fname, LLVMFunctionType(g->vd, tp, 1, 0), true);
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
    LLVMBasicBlockRef yes = block_new(g, "gomp"), no = block_new(g, "serial"), join = block_new(g, "gomp.join");
    LLVMBuildCondBr(g->b, LLVMBuildIsNotNull(g->b, gomp, ""), yes, no);
    LLVMPositionBuilderAtEnd(g->b, yes);
    LLVMValueRef args[4] = {fn, cp, ci(g->i32, 0), ci(g->i32, 0)};
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
        if ((s->flags & URC_FOR_PARALLEL) && !g->in_parallel) parallel_for(g, s);
        else if (!vector_for(g, s)) serial_for(g, s);
        return;
    case URC_LS_IF: {
        LLVMValueRef c = to_bool(g, ex(g, s->cond), s->cond->dt);
        bool els = s->els && s->els->list.len;
        LLVMBasicBlockRef then = block_new(g, "then"), other = els ? block_new(g, "else") : NULL,
                          join = block_new(g, "endif");
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
        LLVMValueRef p = elem_ptr(g, s->buf, s->idx);
        LLVMValueRef v = ex(g, s->val);
        if (s->val->dt != bt) v = convert(g, v, s->val->dt, bt, false);
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
        LLVMBuildRet(b, ci(g->i32, 1));
        LLVMPositionBuilderAtEnd(b, block_new(g, "after.fail"));
        return;
    case URC_LS_CALL: { /* void f(args): element addresses as pointers, bools as C's one-byte _Bool */
        int n = s->args.len;
        LLVMTypeRef *ts = urc_alloc(sizeof(LLVMTypeRef) * ((size_t)n + 1));
        LLVMValueRef *vs = urc_alloc(sizeof(LLVMValueRef) * ((size_t)n + 1));
        for (int i = 0; i < n; i++) {
            const urc_lx *a = s->args.items[i];
            if (a->kind == URC_LX_ADDR) {
                vs[i] = elem_ptr(g, a->buf, a->a);
                ts[i] = LLVMPointerType(mem_type(g, a->dt), 0);
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
    }
}

/* ---- kernels ---------------------------------------------------------------------------- */

static LLVMValueRef kernel(gen *g, const urc_kernel *k) {
    int np = 0;
    for (int i = 0; i < k->bufs.len; i++) np += k->bufs.items[i].role != URC_KB_LOCAL;
    LLVMTypeRef *ps = urc_alloc(sizeof(LLVMTypeRef) * ((size_t)np + 1));
    for (int i = 0, j = 0; i < k->bufs.len; i++)
        if (k->bufs.items[i].role != URC_KB_LOCAL) ps[j++] = LLVMPointerType(mem_type(g, k->bufs.items[i].dt), 0);
    LLVMValueRef fn =
        new_function(g, k->name, LLVMFunctionType(k->can_fail ? g->i32 : g->vd, ps, (unsigned)np, 0), true);
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
                entry_alloca(g, LLVMArrayType(mem_type(g, kb->dt), (unsigned)(kb->count ? kb->count : 1)), 64);
            g->bufp[i] = LLVMBuildBitCast(g->b, a, LLVMPointerType(mem_type(g, kb->dt), 0), "");
            continue;
        }
        g->bufp[i] = LLVMGetParam(fn, (unsigned)j);
        if (!kb->may_alias) set_attr(g, fn, (unsigned)j + 1, "noalias");
        set_attr(g, fn, (unsigned)j + 1, "nocapture");
        if (kb->role == URC_KB_IN) set_attr(g, fn, (unsigned)j + 1, "readonly");
        j++;
    }
    for (int v = 0; v < k->vars.len; v++) g->vars[v] = entry_alloca(g, val_type(g, k->vars.items[v].dt), 8);
    block(g, k->body);
    if (k->can_fail) LLVMBuildRet(g->b, ci(g->i32, 0));
    else LLVMBuildRetVoid(g->b);
    return fn;
}

/* Kernels equal by urc_kernel_eq share one function (as the C printer prints them once). */
typedef struct kernel_table {
    urc_hindex index;
    URC_VEC(const urc_kernel *) k;
    URC_VEC(LLVMValueRef) fn;
} kernel_table;

static LLVMValueRef kernel_fn(gen *g, kernel_table *t, const urc_kernel *k) {
    uint64_t h = urc_mix64(urc_kernel_head_hash(k), urc_ls_hash(k->body, URC_FNV_INIT));
    for (int e = urc_hindex_first(&t->index, h); e >= 0; e = urc_hindex_next(&t->index, e))
        if (t->k.items[e] == k || urc_kernel_eq(t->k.items[e], k)) return t->fn.items[e];
    LLVMValueRef fn = kernel(g, k);
    urc_hindex_add(&t->index, h);
    URC_VEC_PUSH(t->k, k);
    URC_VEC_PUSH(t->fn, fn);
    return fn;
}

/* ---- entry points ------------------------------------------------------------------------- */

typedef struct entry_ctx {
    LLVMValueRef W, A, PR, ST, *in, *out;
} entry_ctx;

/* return code if cond */
static void ret_if(gen *g, LLVMValueRef cond, int code) {
    LLVMBasicBlockRef yes = block_new(g, "err"), no = block_new(g, "ok");
    LLVMBuildCondBr(g->b, cond, yes, no);
    LLVMPositionBuilderAtEnd(g->b, yes);
    LLVMBuildRet(g->b, ci(g->i32, code));
    LLVMPositionBuilderAtEnd(g->b, no);
}

static LLVMValueRef misaligned(gen *g, LLVMValueRef p, int align) {
    LLVMValueRef x = LLVMBuildAnd(g->b, LLVMBuildPtrToInt(g->b, p, g->i64, ""), ci(g->i64, align - 1), "");
    return icmp(g, LLVMIntNE, x, ci(g->i64, 0));
}

/* Every label one of the classes' label values, else ERR_LABEL (the C printer's label_check). */
static void label_check(gen *g, const urc_program *P, LLVMValueRef label) {
    const urc_io *io = &P->inputs.items[P->label_input];
    LLVMTypeRef et = mem_type(g, io->dt);
    LLVMValueRef lp = LLVMBuildBitCast(g->b, label, LLVMPointerType(et, 0), "");
    LLVMValueRef iv = entry_alloca(g, g->i64, 8), bad = entry_alloca(g, g->i1, 1);
    LLVMBuildStore(g->b, ci(g->i64, 0), iv);
    LLVMBuildStore(g->b, LLVMConstInt(g->i1, 0, 0), bad);
    LLVMBasicBlockRef head = block_new(g, "labels"), body = block_new(g, "label"), done = block_new(g, "labels.end");
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, head);
    LLVMValueRef i = LLVMBuildLoad2(g->b, g->i64, iv, "");
    LLVMBuildCondBr(g->b, icmp(g, LLVMIntSLT, i, ci(g->i64, urc_shape_numel(&io->shape))), body, done);
    LLVMPositionBuilderAtEnd(g->b, body);
    LLVMValueRef l = LLVMBuildLoad2(g->b, et, LLVMBuildInBoundsGEP2(g->b, et, lp, &i, 1, ""), "");
    l = convert(g, l, io->dt, URC_DT_I64, true);
    LLVMValueRef hit = LLVMConstInt(g->i1, 0, 0);
    for (int c = 0; c < P->nclasses; c++)
        hit = LLVMBuildOr(g->b, hit, icmp(g, LLVMIntEQ, l, ci(g->i64, P->label_values[c])), "");
    LLVMBuildStore(g->b, LLVMBuildOr(g->b, LLVMBuildLoad2(g->b, g->i1, bad, ""), LLVMBuildNot(g->b, hit, ""), ""), bad);
    LLVMBuildStore(g->b, LLVMBuildNSWAdd(g->b, i, ci(g->i64, 1), ""), iv);
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, done);
    ret_if(g, LLVMBuildLoad2(g->b, g->i1, bad, ""), UNETRC_ERR_LABEL);
}

static LLVMValueRef weights_global(gen *g, const urc_program *W, const char *prefix) {
    LLVMValueRef gv = LLVMGetNamedGlobal(g->mod, urc_fmt("%s_weights_data", prefix));
    if (gv) return gv;
    int64_t n = W->weights_bytes ? W->weights_bytes : 1;
    LLVMValueRef init = W->weights_bytes ? LLVMConstStringInContext(g->ctx, (const char *)W->weights, (unsigned)n, 1)
                                         : LLVMConstNull(LLVMArrayType(g->i8, 1));
    gv = LLVMAddGlobal(g->mod, LLVMTypeOf(init), urc_fmt("%s_weights_data", prefix));
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMInternalLinkage);
    LLVMSetAlignment(gv, (unsigned)W->align);
    return gv;
}

static void entry_point(gen *g, kernel_table *kt, const urc_program *P, const urc_program *W, const char *entry,
                        const urc_emit_opts *o) {
    bool train = urc_abi_is_training(P);
    int np = (o->embed_weights ? 0 : 1) + (train ? 2 : P->params_bytes ? 1 : 0) + 1 + P->inputs.len + P->outputs.len;
    LLVMTypeRef *ps = urc_alloc(sizeof(LLVMTypeRef) * (size_t)np);
    for (int i = 0; i < np; i++) ps[i] = g->p8;
    LLVMValueRef fn =
        new_function(g, urc_fmt("%s_%s", o->prefix, entry), LLVMFunctionType(g->i32, ps, (unsigned)np, 0), false);
    g->fn = fn;
    g->entry = LLVMAppendBasicBlockInContext(g->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(g->b, g->entry);
    int a = 0;
    entry_ctx e = {0};
    e.W = o->embed_weights ? LLVMBuildBitCast(g->b, weights_global(g, W, o->prefix), g->p8, "")
                           : LLVMGetParam(fn, (unsigned)a++);
    if (train) e.PR = LLVMGetParam(fn, (unsigned)a++), e.ST = LLVMGetParam(fn, (unsigned)a++);
    else if (P->params_bytes) e.PR = LLVMGetParam(fn, (unsigned)a++);
    e.A = LLVMGetParam(fn, (unsigned)a++);
    e.in = urc_alloc(sizeof(LLVMValueRef) * ((size_t)P->inputs.len + 1));
    e.out = urc_alloc(sizeof(LLVMValueRef) * ((size_t)P->outputs.len + 1));
    for (int i = 0; i < P->inputs.len; i++) e.in[i] = LLVMGetParam(fn, (unsigned)a++);
    for (int i = 0; i < P->outputs.len; i++) e.out[i] = LLVMGetParam(fn, (unsigned)a++);
    /* NULL, then alignment: nothing touched before both pass */
    LLVMValueRef bad = LLVMBuildOr(g->b, LLVMBuildIsNull(g->b, e.W, ""), LLVMBuildIsNull(g->b, e.A, ""), "");
    if (e.PR) bad = LLVMBuildOr(g->b, bad, LLVMBuildIsNull(g->b, e.PR, ""), "");
    if (e.ST) bad = LLVMBuildOr(g->b, bad, LLVMBuildIsNull(g->b, e.ST, ""), "");
    for (int i = 0; i < P->inputs.len; i++) bad = LLVMBuildOr(g->b, bad, LLVMBuildIsNull(g->b, e.in[i], ""), "");
    for (int i = 0; i < P->outputs.len; i++) bad = LLVMBuildOr(g->b, bad, LLVMBuildIsNull(g->b, e.out[i], ""), "");
    ret_if(g, bad, UNETRC_ERR_NULL);
    bad = LLVMBuildOr(g->b, misaligned(g, e.W, W->align), misaligned(g, e.A, W->align), "");
    if (e.PR) bad = LLVMBuildOr(g->b, bad, misaligned(g, e.PR, W->align), "");
    if (e.ST) bad = LLVMBuildOr(g->b, bad, misaligned(g, e.ST, W->align), "");
    ret_if(g, bad, UNETRC_ERR_ALIGN);
    if (P->label_values) label_check(g, P, e.in[P->label_input]);
    for (int i = 0; i < P->calls.len; i++) {
        const urc_call *c = &P->calls.items[i];
        LLVMValueRef kf = kernel_fn(g, kt, c->k);
        g->fn = fn; /* kernel() may have built another function: back to the end of this one */
        g->entry = LLVMGetEntryBasicBlock(fn);
        LLVMPositionBuilderAtEnd(g->b, LLVMGetLastBasicBlock(fn));
        int nargs = 0;
        for (int j = 0; j < c->k->bufs.len; j++) nargs += c->k->bufs.items[j].role != URC_KB_LOCAL;
        LLVMValueRef *args = urc_alloc(sizeof(LLVMValueRef) * ((size_t)nargs + 1));
        LLVMTypeRef ft = LLVMGlobalGetValueType(kf);
        LLVMTypeRef *pt = urc_alloc(sizeof(LLVMTypeRef) * ((size_t)nargs + 1));
        LLVMGetParamTypes(ft, pt);
        for (int j = 0, na = 0; j < c->k->bufs.len; j++) {
            if (c->k->bufs.items[j].role == URC_KB_LOCAL) continue;
            const urc_mref *m = &c->args[na];
            LLVMValueRef base;
            switch (m->space) {
            case URC_MEM_INPUT: base = e.in[m->index]; break;
            case URC_MEM_OUTPUT: base = e.out[m->index]; break;
            case URC_MEM_ARENA: base = e.A; break;
            case URC_MEM_WEIGHTS: base = e.W; break;
            case URC_MEM_PARAMS: base = e.PR; break;
            case URC_MEM_STATE: base = e.ST; break;
            default: base = NULL;
            }
            if (m->space != URC_MEM_INPUT && m->space != URC_MEM_OUTPUT) {
                LLVMValueRef off = ci(g->i64, m->offset);
                base = LLVMBuildInBoundsGEP2(g->b, g->i8, base, &off, 1, "");
            }
            args[na] = LLVMBuildBitCast(g->b, base, pt[na], "");
            na++;
        }
        LLVMValueRef r = LLVMBuildCall2(g->b, ft, kf, args, (unsigned)nargs, "");
        if (c->k->can_fail) ret_if(g, icmp(g, LLVMIntNE, r, ci(g->i32, 0)), UNETRC_ERR_INDEX);
    }
    LLVMBuildRet(g->b, ci(g->i32, UNETRC_OK));
}

/* PREFIX_params[] and PREFIX_train_init (the C printer's train_init). */
static void train_init(gen *g, const urc_program *T, const urc_program *W, const urc_emit_opts *o) {
    LLVMTypeRef et[3] = {g->p8, g->i64, g->i64};
    LLVMTypeRef st = LLVMStructTypeInContext(g->ctx, et, 3, 0);
    URC_VEC(LLVMValueRef) rows = {0};
    for (int i = 0; i < T->regions.len; i++) {
        const urc_pentry *p = &T->regions.items[i];
        if (p->state) continue;
        LLVMValueRef s = LLVMConstStringInContext(g->ctx, p->name, (unsigned)strlen(p->name), 0);
        LLVMValueRef sg = LLVMAddGlobal(g->mod, LLVMTypeOf(s), urc_fmt("%s.param_name", o->prefix));
        LLVMSetInitializer(sg, s);
        LLVMSetGlobalConstant(sg, 1);
        LLVMSetLinkage(sg, LLVMPrivateLinkage);
        LLVMSetUnnamedAddress(sg, LLVMGlobalUnnamedAddr);
        LLVMValueRef f[3] = {LLVMConstBitCast(sg, g->p8), ci(g->i64, p->offset), ci(g->i64, p->count)};
        URC_VEC_PUSH(rows, LLVMConstNamedStruct(st, f, 3));
    }
    LLVMValueRef arr = LLVMConstArray(st, rows.items, (unsigned)rows.len);
    LLVMValueRef tab = LLVMAddGlobal(g->mod, LLVMTypeOf(arr), urc_fmt("%s_params", o->prefix));
    LLVMSetInitializer(tab, arr);
    LLVMSetGlobalConstant(tab, 1);
    free(rows.items);

    int np = o->embed_weights ? 2 : 3;
    LLVMTypeRef ps[3] = {g->p8, g->p8, g->p8};
    LLVMValueRef fn =
        new_function(g, urc_fmt("%s_train_init", o->prefix), LLVMFunctionType(g->i32, ps, (unsigned)np, 0), false);
    g->fn = fn;
    g->entry = LLVMAppendBasicBlockInContext(g->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(g->b, g->entry);
    int a = 0;
    LLVMValueRef Wp = o->embed_weights ? LLVMBuildBitCast(g->b, weights_global(g, W, o->prefix), g->p8, "")
                                       : LLVMGetParam(fn, (unsigned)a++);
    LLVMValueRef PR = LLVMGetParam(fn, (unsigned)a++), ST = LLVMGetParam(fn, (unsigned)a++);
    LLVMValueRef bad =
        LLVMBuildOr(g->b, LLVMBuildIsNull(g->b, Wp, ""),
                    LLVMBuildOr(g->b, LLVMBuildIsNull(g->b, PR, ""), LLVMBuildIsNull(g->b, ST, ""), ""), "");
    ret_if(g, bad, UNETRC_ERR_NULL);
    bad = LLVMBuildOr(g->b, misaligned(g, Wp, W->align),
                      LLVMBuildOr(g->b, misaligned(g, PR, W->align), misaligned(g, ST, W->align), ""), "");
    ret_if(g, bad, UNETRC_ERR_ALIGN);
    LLVMValueRef off = ci(g->i64, T->params_init_offset);
    if (T->params_bytes)
        LLVMBuildMemCpy(g->b, PR, 1, LLVMBuildInBoundsGEP2(g->b, g->i8, Wp, &off, 1, ""), 1,
                        ci(g->i64, T->params_bytes));
    if (T->state_bytes) LLVMBuildMemSet(g->b, ST, ci(g->i8, 0), ci(g->i64, T->state_bytes), 1);
    LLVMBuildRet(g->b, ci(g->i32, UNETRC_OK));
}

/* ---- target and object ---------------------------------------------------------------------- */

static bool same_arch(const char *a, const char *b) {
    size_t n = strcspn(a, "-"), m = strcspn(b, "-");
    return n == m && !strncmp(a, b, n);
}

/* The LLVM CPU and features of a compiler/target CPU (LLVM 14 names). */
static void cpu_of(const urc_target *t, const char *triple, const char **cpu, const char **features) {
    *cpu = "generic", *features = "";
    if (!t->name) return;
    if (!strcmp(t->name, "native")) {
        char *host = LLVMGetDefaultTargetTriple();
        bool here = same_arch(host, triple);
        LLVMDisposeMessage(host);
        if (!here) return;
        char *c = LLVMGetHostCPUName(), *f = LLVMGetHostCPUFeatures();
        *cpu = urc_strdup(c), *features = urc_strdup(f);
        LLVMDisposeMessage(c);
        LLVMDisposeMessage(f);
        return;
    }
    if (!t->triple || !same_arch(t->triple, triple)) return;
    if (!strcmp(t->name, "armv8-a")) *features = "+neon";
    else if (!strcmp(t->name, "znver4")) /* not in LLVM 14: Zen 3 with Zen 4's AVX-512 */
        *cpu = "znver3", *features = "+avx512f,+avx512cd,+avx512bw,+avx512dq,+avx512vl,+avx512vnni,+avx512bf16";
    else *cpu = t->name;
}

static void init_llvm(void) {
    static bool done;
    if (done) return;
    done = true;
    LLVMInitializeAllTargetInfos();
    LLVMInitializeAllTargets();
    LLVMInitializeAllTargetMCs();
    LLVMInitializeAllAsmPrinters();
}

bool urc_llvm_emit_object(const urc_program *const *progs, const char *const *entries, int n, const urc_emit_opts *o,
                          const urc_llvm_target *tt, urc_strbuf *out) {
    init_llvm();
    const urc_program *W = progs[n - 1];
    const char *tr = tt->triple ? tt->triple : W->target.triple;
    char *def = NULL;
    if (!tr) tr = def = LLVMGetDefaultTargetTriple();
    char *norm = LLVMNormalizeTargetTriple(tr);
    const char *triple = urc_strdup(norm);
    LLVMDisposeMessage(norm);
    if (def) LLVMDisposeMessage(def);
    const char *cpu, *features;
    cpu_of(&W->target, triple, &cpu, &features);
    if (tt->cpu) cpu = tt->cpu;
    if (tt->features) features = tt->features;
    LLVMTargetRef target;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &err)) {
        urc_error(NULL, "--target: LLVM cannot generate code for '%s': %s", triple, err ? err : "unknown triple");
        LLVMDisposeMessage(err);
        return false;
    }
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive,
                                                      LLVMRelocPIC, LLVMCodeModelDefault);
    gen g = {0};
    g.ctx = LLVMContextCreate();
    g.mod = LLVMModuleCreateWithNameInContext(o->prefix, g.ctx);
    g.b = LLVMCreateBuilderInContext(g.ctx);
    g.i1 = LLVMInt1TypeInContext(g.ctx), g.i8 = LLVMInt8TypeInContext(g.ctx), g.i16 = LLVMInt16TypeInContext(g.ctx);
    g.i32 = LLVMInt32TypeInContext(g.ctx), g.i64 = LLVMInt64TypeInContext(g.ctx);
    g.f32 = LLVMFloatTypeInContext(g.ctx), g.f64 = LLVMDoubleTypeInContext(g.ctx), g.vd = LLVMVoidTypeInContext(g.ctx);
    g.p8 = LLVMPointerType(g.i8, 0);
    g.cpu = cpu, g.features = features;
    if (same_arch(triple, "x86_64"))
        g.vector_width = urc_fmt("%d", W->target.vector_bits ? W->target.vector_bits : 256);
    g.md_loop = LLVMGetMDKindIDInContext(g.ctx, "llvm.loop", 9);
    LLVMSetTarget(g.mod, triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(g.mod, dl);
    LLVMDisposeTargetData(dl);
    LLVMSetSourceFileName(g.mod, o->source_name ? o->source_name : "model",
                          strlen(o->source_name ? o->source_name : "model"));

    kernel_table kt = {0};
    for (int i = 0; i < n; i++) entry_point(&g, &kt, progs[i], W, entries[i], o);
    const urc_program *T = urc_abi_param_program(progs, n);
    if (T) train_init(&g, T, W, o);
    urc_hindex_free(&kt.index);
    free(kt.k.items);
    free(kt.fn.items);

    bool ok = true;
    const char *dump = getenv("UNETRC_LLVM_DUMP"); /* the module before optimisation, for debugging */
    if (dump && *dump) LLVMPrintModuleToFile(g.mod, dump, NULL);
    if (LLVMVerifyModule(g.mod, LLVMReturnStatusAction, &err)) {
        urc_error(NULL, "internal error: the LLVM module does not verify: %.300s", err ? err : "");
        ok = false;
    }
    LLVMDisposeMessage(err);
    if (ok) {
        LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
        LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
        LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
        LLVMPassBuilderOptionsSetLoopUnrolling(po, 1);
        LLVMPassBuilderOptionsSetLoopInterleaving(po, 1);
        LLVMErrorRef e = LLVMRunPasses(g.mod, "default<O3>", tm, po);
        LLVMDisposePassBuilderOptions(po);
        if (e) {
            char *m = LLVMGetErrorMessage(e);
            urc_error(NULL, "internal error: LLVM's optimiser failed: %s", m);
            LLVMDisposeErrorMessage(m);
            ok = false;
        }
    }
    const char *dump2 = getenv("UNETRC_LLVM_DUMP_OPT");
    if (ok && dump2 && *dump2) LLVMPrintModuleToFile(g.mod, dump2, NULL);
    if (ok) {
        LLVMMemoryBufferRef mb = NULL;
        if (LLVMTargetMachineEmitToMemoryBuffer(tm, g.mod, LLVMObjectFile, &err, &mb)) {
            urc_error(NULL, "internal error: LLVM could not write the object: %s", err ? err : "");
            LLVMDisposeMessage(err);
            ok = false;
        } else {
            urc_sb_write(out, LLVMGetBufferStart(mb), LLVMGetBufferSize(mb));
            LLVMDisposeMemoryBuffer(mb);
        }
    }
    LLVMDisposeBuilder(g.b);
    LLVMDisposeModule(g.mod);
    LLVMContextDispose(g.ctx);
    LLVMDisposeTargetMachine(tm);
    return ok;
}
