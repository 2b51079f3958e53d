/* emit_c.c: prints a urc_program as C11 text.
 *
 * The printer is a thin layer: every decision about loops, tiling and
 * memory was made in the loop program; this file only spells it in C. The
 * output is deterministic (no timestamps, stable names), needs only
 * <math.h>, <stdint.h> and <stddef.h>, never allocates and never prints. */
#include "emit_c.h"
#include "emit_c_prelude.h"

#include "urc_revision.h" /* URC_REVISION: git describe of the sources (cmake/revision.cmake) */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/diag.h"

typedef struct printer {
    urc_strbuf *out;
    int indent;
    const urc_kernel *k;
    bool f16; /* the prelude includes the F16C intrinsics (some kernel converts float16 loads) */
} printer;

static void line(printer *p, const char *fmt, ...) URC_PRINTF(2, 3);
static void line(printer *p, const char *fmt, ...) {
    for (int i = 0; i < p->indent; i++) urc_sb_puts(p->out, "    ");
    va_list ap;
    va_start(ap, fmt);
    urc_sb_vprintf(p->out, fmt, ap);
    va_end(ap);
    urc_sb_putc(p->out, '\n');
}

const char *urc_c_type(urc_dtype dt) {
    switch (dt) {
    case URC_DT_F32: return "float";
    case URC_DT_F64: return "double";
    case URC_DT_I8: return "int8_t";
    case URC_DT_U8: return "uint8_t";
    case URC_DT_I16: return "int16_t";
    case URC_DT_U16: return "uint16_t";
    case URC_DT_I32: return "int32_t";
    case URC_DT_U32: return "uint32_t";
    case URC_DT_I64: return "int64_t";
    case URC_DT_U64: return "uint64_t";
    case URC_DT_BOOL: return "uint8_t";
    case URC_DT_F16:
    case URC_DT_BF16: return "uint16_t"; /* storage only */
    default: URC_ASSERT(0, "no C type for dtype");
    }
    return "";
}

/* ---- expressions ------------------------------------------------------------ */

static void flt_literal(urc_strbuf *sb, double v, urc_dtype dt) {
    if (isnan(v)) {
        urc_sb_puts(sb, dt == URC_DT_F32 ? "NAN" : "((double)NAN)");
        return;
    }
    if (isinf(v)) {
        urc_sb_puts(sb, v > 0 ? (dt == URC_DT_F32 ? "INFINITY" : "((double)INFINITY)")
                              : (dt == URC_DT_F32 ? "(-INFINITY)" : "(-(double)INFINITY)"));
        return;
    }
    char buf[64];
    if (dt == URC_DT_F32) {
        float f = (float)v;
        snprintf(buf, sizeof buf, "%.9g", (double)f);
        float back;
        sscanf(buf, "%f", &back);
        if (back != f) snprintf(buf, sizeof buf, "%a", (double)f);
    } else {
        snprintf(buf, sizeof buf, "%.17g", v);
    }
    if (!strpbrk(buf, ".eEpxn")) strcat(buf, ".0");
    if (dt == URC_DT_F32) strcat(buf, "f");
    if (buf[0] == '-') urc_sb_printf(sb, "(%s)", buf);
    else urc_sb_puts(sb, buf);
}

static void int_literal(urc_strbuf *sb, int64_t v, urc_dtype dt) {
    switch (dt) {
    case URC_DT_U64: urc_sb_printf(sb, "UINT64_C(%llu)", (unsigned long long)v); return;
    case URC_DT_U32: urc_sb_printf(sb, "%lluu", (unsigned long long)(uint32_t)v); return;
    case URC_DT_U8:
    case URC_DT_U16:
    case URC_DT_BOOL: urc_sb_printf(sb, "((%s)%lld)", urc_c_type(dt), (long long)v); return;
    default: break;
    }
    if (v >= INT32_MIN + 1 && v <= INT32_MAX) {
        if (v < 0) urc_sb_printf(sb, "(%lld)", (long long)v);
        else urc_sb_printf(sb, "%lld", (long long)v);
    } else if (v == INT64_MIN) {
        urc_sb_puts(sb, "INT64_MIN");
    } else {
        urc_sb_printf(sb, "INT64_C(%lld)", (long long)v);
    }
}

/* libm name of a unary op for float/double. */
static const char *math_fn(urc_lop op) {
    switch (op) {
    case URC_L_SQRT: return "sqrt";
    case URC_L_EXP: return "exp";
    case URC_L_LOG: return "log";
    case URC_L_ERF: return "erf";
    case URC_L_TANH: return "tanh";
    case URC_L_FLOOR: return "floor";
    case URC_L_CEIL: return "ceil";
    case URC_L_RINT: return "nearbyint";
    case URC_L_SIN: return "sin";
    case URC_L_COS: return "cos";
    case URC_L_TAN: return "tan";
    case URC_L_ASIN: return "asin";
    case URC_L_ACOS: return "acos";
    case URC_L_ATAN: return "atan";
    case URC_L_SINH: return "sinh";
    case URC_L_COSH: return "cosh";
    case URC_L_ASINH: return "asinh";
    case URC_L_ACOSH: return "acosh";
    case URC_L_ATANH: return "atanh";
    case URC_L_LOG1P: return "log1p";
    case URC_L_EXPM1: return "expm1";
    case URC_L_ABS: return "fabs";
    default: return NULL;
    }
}

/* Suffix of the helper functions of the prelude for a dtype. */
static const char *helper_suffix(urc_dtype dt) {
    if (dt == URC_DT_F32) return "f32";
    if (dt == URC_DT_F64) return "f64";
    if (dt == URC_DT_U64 || dt == URC_DT_U32 || dt == URC_DT_U16 || dt == URC_DT_U8 || dt == URC_DT_BOOL) return "u64";
    return "i64";
}

static void expr(printer *p, const urc_lx *e);

static void call2(printer *p, const char *fn, const urc_lx *e) {
    urc_strbuf *sb = p->out;
    bool f = urc_dtype_is_float(e->a->dt);
    bool narrow = !f && e->a->dt != URC_DT_I64 && e->a->dt != URC_DT_U64;
    if (narrow) urc_sb_printf(sb, "((%s)", urc_c_type(e->dt));
    urc_sb_printf(sb, "urc_%s_%s(", fn, helper_suffix(e->a->dt));
    expr(p, e->a);
    urc_sb_puts(sb, ", ");
    expr(p, e->b);
    urc_sb_puts(sb, ")");
    if (narrow) urc_sb_puts(sb, ")");
}

/* fn(a, b, c) of e's three operands (fused multiply-add, bf16 pair product). */
static void call3(printer *p, const char *fn, const urc_lx *e) {
    urc_sb_printf(p->out, "%s(", fn);
    expr(p, e->a);
    urc_sb_puts(p->out, ", ");
    expr(p, e->b);
    urc_sb_puts(p->out, ", ");
    expr(p, e->c);
    urc_sb_putc(p->out, ')');
}

/* The unsigned type of the same width as integer dtype dt, for arithmetic
 * that wraps around (docs/ops.md): C's signed overflow is undefined. */
static const char *unsigned_type(urc_dtype dt) {
    switch (urc_dtype_size(dt)) {
    case 8: return "uint64_t";
    case 4: return "uint32_t";
    case 2: return "uint16_t";
    default: return "uint8_t";
    }
}

/* Integer ADD/SUB/MUL/NEG whose C spelling could overflow a signed type:
 * int32/int64 operands (uint16 * uint16 promotes to int and can overflow
 * too). Marked `inrange` (index arithmetic), they cannot. */
static bool needs_wrap(const urc_lx *e) {
    if (e->inrange || urc_dtype_is_float(e->dt)) return false;
    if (e->dt == URC_DT_I32 || e->dt == URC_DT_I64) return true;
    return e->dt == URC_DT_U16 && e->kind == URC_LX_BIN && e->op == URC_L_MUL;
}

/* (T)((U)a op (U)b) with U unsigned, computed without overflow. */
static void wrap_bin(printer *p, const char *op, const urc_lx *e) {
    urc_strbuf *sb = p->out;
    const char *u = e->dt == URC_DT_U16 ? "uint32_t" : unsigned_type(e->dt);
    urc_sb_printf(sb, "((%s)((%s)", urc_c_type(e->dt), u);
    expr(p, e->a);
    urc_sb_printf(sb, " %s (%s)", op, u);
    expr(p, e->b);
    urc_sb_puts(sb, "))");
}

/* A literal divisor other than 0 and -1: C's / and % are defined. */
static bool safe_divisor(const urc_lx *b) { return b->kind == URC_LX_INT && b->i != 0 && b->i != -1; }

/* fn(a, b) from libm, with the f suffix for float32. */
static void libm2(printer *p, const char *fn, const urc_lx *e) {
    urc_sb_printf(p->out, "%s%s(", fn, e->dt == URC_DT_F32 ? "f" : "");
    expr(p, e->a);
    urc_sb_puts(p->out, ", ");
    expr(p, e->b);
    urc_sb_putc(p->out, ')');
}

static void expr(printer *p, const urc_lx *e) {
    urc_strbuf *sb = p->out;
    switch (e->kind) {
    case URC_LX_INT: int_literal(sb, e->i, e->dt); return;
    case URC_LX_FLT: flt_literal(sb, e->f, e->dt); return;
    case URC_LX_VAR: urc_sb_puts(sb, p->k->vars.items[e->var].name); return;
    case URC_LX_LOAD:
        urc_sb_printf(sb, "%s[", p->k->bufs.items[e->buf].name);
        expr(p, e->a);
        urc_sb_putc(sb, ']');
        return;
    case URC_LX_ADDR:
        urc_sb_printf(sb, "&%s[", p->k->bufs.items[e->buf].name);
        expr(p, e->a);
        urc_sb_putc(sb, ']');
        return;
    case URC_LX_PAIR:
        urc_sb_printf(sb, "urc_pair_bf16(&%s[", p->k->bufs.items[e->buf].name);
        expr(p, e->a);
        urc_sb_puts(sb, "])");
        return;
    case URC_LX_DOT2: call3(p, "urc_dot2_bf16", e); return;
    case URC_LX_CAST: {
        urc_dtype from = e->a->dt;
        bool half_in = from == URC_DT_F16 || from == URC_DT_BF16,
             half_out = e->dt == URC_DT_F16 || e->dt == URC_DT_BF16;
        /* float -> integer: saturating (docs/ops.md), unless the operand is known in range */
        bool cvt = urc_dtype_is_float(from) && urc_dtype_is_int(e->dt) && !e->inrange;
        if (half_in || half_out) {
            /* Halves are storage types: convert through float. */
            if (half_out) urc_sb_printf(sb, "urc_f32_to_%s(", e->dt == URC_DT_F16 ? "f16" : "bf16");
            if (e->dt == URC_DT_BOOL) urc_sb_puts(sb, "((uint8_t)(");
            else if (cvt) urc_sb_printf(sb, "(urc_cvt_%s(", urc_dtype_name(e->dt));
            else if (!half_out) urc_sb_printf(sb, "((%s)", urc_c_type(e->dt));
            else urc_sb_puts(sb, "((float)");
            if (half_in) urc_sb_printf(sb, "urc_%s_to_f32(", from == URC_DT_F16 ? "f16" : "bf16");
            expr(p, e->a);
            if (half_in) urc_sb_putc(sb, ')');
            urc_sb_puts(sb, e->dt == URC_DT_BOOL ? " != 0))" : cvt ? "))" : ")");
            if (half_out) urc_sb_putc(sb, ')');
            return;
        }
        if (cvt) {
            urc_sb_printf(sb, "urc_cvt_%s(", urc_dtype_name(e->dt));
            expr(p, e->a);
            urc_sb_putc(sb, ')');
            return;
        }
        if (e->dt == URC_DT_BOOL) {
            urc_sb_puts(sb, "((uint8_t)(");
            expr(p, e->a);
            urc_sb_puts(sb, " != 0))");
        } else {
            urc_sb_printf(sb, "((%s)", urc_c_type(e->dt));
            expr(p, e->a);
            urc_sb_putc(sb, ')');
        }
        return;
    }
    case URC_LX_FMA: call3(p, e->dt == URC_DT_F32 ? "URC_FMAF" : "URC_FMA", e); return;
    case URC_LX_SEL:
        urc_sb_putc(sb, '(');
        expr(p, e->a);
        urc_sb_puts(sb, " ? ");
        expr(p, e->b);
        urc_sb_puts(sb, " : ");
        expr(p, e->c);
        urc_sb_putc(sb, ')');
        return;
    case URC_LX_UN: {
        urc_dtype dt = e->a->dt;
        bool f = urc_dtype_is_float(dt);
        switch (e->op) {
        case URC_L_NEG:
            if (needs_wrap(e)) { /* 0 - x in unsigned: -INT_MIN wraps to INT_MIN */
                urc_sb_printf(sb, "((%s)(0u - (%s)", urc_c_type(dt), unsigned_type(dt));
                expr(p, e->a);
                urc_sb_puts(sb, "))");
                return;
            }
            if (!f && dt != URC_DT_I64) urc_sb_printf(sb, "((%s)", urc_c_type(dt));
            urc_sb_puts(sb, "(-");
            expr(p, e->a);
            urc_sb_putc(sb, ')');
            if (!f && dt != URC_DT_I64) urc_sb_putc(sb, ')');
            return;
        case URC_L_NOT:
            urc_sb_puts(sb, "(!");
            expr(p, e->a);
            urc_sb_putc(sb, ')');
            return;
        case URC_L_BITS_F32:
            URC_ASSERT(dt == URC_DT_I32, "BITS_F32 of a value that is not int32");
            urc_sb_puts(sb, "urc_bits_f32(");
            expr(p, e->a);
            urc_sb_putc(sb, ')');
            return;
        case URC_L_ISNAN:
            urc_sb_puts(sb, "(isnan(");
            expr(p, e->a);
            urc_sb_puts(sb, ") != 0)");
            return;
        case URC_L_ISINF:
            urc_sb_puts(sb, "(isinf(");
            expr(p, e->a);
            urc_sb_puts(sb, ") != 0)");
            return;
        case URC_L_ABS:
            if (!f) {
                urc_sb_printf(sb, "((%s)urc_abs_%s(", urc_c_type(dt), helper_suffix(dt));
                expr(p, e->a);
                urc_sb_puts(sb, "))");
                return;
            }
            break;
        default: break;
        }
        const char *fn = math_fn(e->op);
        URC_ASSERT(fn && f, "unary op without a C spelling for this dtype");
        urc_sb_printf(sb, "%s%s(", fn, dt == URC_DT_F32 ? "f" : "");
        expr(p, e->a);
        urc_sb_putc(sb, ')');
        return;
    }
    case URC_LX_BIN: {
        const char *op = NULL;
        bool f = urc_dtype_is_float(e->a->dt);
        switch (e->op) {
        case URC_L_ADD: op = "+"; break;
        case URC_L_SUB: op = "-"; break;
        case URC_L_MUL: op = "*"; break;
        case URC_L_DIV:
            if (!f && !e->inrange && !safe_divisor(e->b)) { /* x / 0 = 0, INT_MIN / -1 wraps */
                call2(p, "div", e);
                return;
            }
            op = "/";
            break;
        case URC_L_LT: op = "<"; break;
        case URC_L_LE: op = "<="; break;
        case URC_L_GT: op = ">"; break;
        case URC_L_GE: op = ">="; break;
        case URC_L_EQ: op = "=="; break;
        case URC_L_NE: op = "!="; break;
        case URC_L_AND: op = "&&"; break;
        case URC_L_OR: op = "||"; break;
        case URC_L_XOR: op = "!="; break;
        case URC_L_REM:
            if (!f && !e->inrange && !safe_divisor(e->b)) { /* x % 0 = x % -1 = 0 */
                call2(p, "rem", e);
                return;
            }
            if (!f) {
                op = "%";
                break;
            }
            libm2(p, "fmod", e);
            return;
        case URC_L_MOD: /* floats: fmod; integers: the divisor's sign */
            if (f) libm2(p, "fmod", e);
            else call2(p, "mod", e);
            return;
        case URC_L_POW:
            if (f) libm2(p, "pow", e);
            else call2(p, "pow", e);
            return;
        case URC_L_MIN: call2(p, "min", e); return;
        case URC_L_MAX: call2(p, "max", e); return;
        case URC_L_SHL:
        case URC_L_SHR: { /* unsigned; C leaves shifts by >= the width undefined: they give 0 */
            int w = 8 * urc_dtype_size(e->dt);
            urc_sb_printf(sb, "((%s)(", urc_c_type(e->dt));
            expr(p, e->b);
            urc_sb_printf(sb, " < %du ? (uint64_t)", w);
            expr(p, e->a);
            urc_sb_printf(sb, " %s ", e->op == URC_L_SHL ? "<<" : ">>");
            expr(p, e->b);
            urc_sb_puts(sb, " : 0u))");
            return;
        }
        default: URC_ASSERT(0, "bad binary op");
        }
        bool narrow = !f && !urc_lop_is_compare(e->op) && e->dt != URC_DT_I64 && e->dt != URC_DT_U64 &&
                      e->dt != URC_DT_I32 && e->dt != URC_DT_U32;
        if (e->op == URC_L_XOR || e->op == URC_L_AND || e->op == URC_L_OR) {
            urc_sb_puts(sb, "((");
            expr(p, e->a);
            urc_sb_puts(sb, " != 0) ");
            urc_sb_puts(sb, op);
            urc_sb_puts(sb, " (");
            expr(p, e->b);
            urc_sb_puts(sb, " != 0))");
            return;
        }
        if ((e->op == URC_L_ADD || e->op == URC_L_SUB || e->op == URC_L_MUL) && needs_wrap(e)) {
            wrap_bin(p, op, e);
            return;
        }
        if (narrow) urc_sb_printf(sb, "((%s)", urc_c_type(e->dt));
        urc_sb_putc(sb, '(');
        expr(p, e->a);
        urc_sb_printf(sb, " %s ", op);
        expr(p, e->b);
        urc_sb_putc(sb, ')');
        if (narrow) urc_sb_putc(sb, ')');
        return;
    }
    }
}

/* ---- statements ---------------------------------------------------------- */

static const char *expr_str(printer *p, const urc_lx *e) {
    urc_strbuf sb = {0}, *save = p->out;
    p->out = &sb;
    expr(p, e);
    p->out = save;
    const char *r = urc_strdup(sb.data ? sb.data : "");
    urc_sb_free(&sb);
    return r;
}

/* "(a == b)" -> "a == b" when the outer parentheses enclose the whole text:
 * clang warns about `if ((a == b))` (-Wparentheses-equality). */
static const char *strip_parens(const char *e) {
    size_t n = strlen(e);
    if (n < 2 || e[0] != '(' || e[n - 1] != ')') return e;
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        depth += e[i] == '(' ? 1 : e[i] == ')' ? -1 : 0;
        if (depth == 0 && i + 1 < n) return e; /* "(a) + (b)" */
    }
    return urc_strndup(e + 1, n - 2);
}

static void stmt(printer *p, const urc_ls *s);

static void block_body(printer *p, const urc_ls *b) {
    for (int i = 0; i < b->list.len; i++) stmt(p, b->list.items[i]);
}

/* ---- vector loops of bfloat16 pair products (URC_LX_DOT2) ------------------------------------
 *
 * gcc and clang do not turn a loop of urc_dot2_bf16 into vdpbf16ps, so a
 * vector loop whose stores all have the form buf[base + l] = dot2(a, b, c)
 * (l the lane; every operand either without l or a load at base + l) is
 * printed twice: with AVX512-BF16 intrinsics in groups of 16, 8 and 4 lanes
 * where the compiler targets them (__AVX512BF16__, __AVX512VL__), and as
 * the portable loop otherwise. Both give the same bits on normal numbers. */

/* An operand of the vector form: without the lane, or a plain load at base + lane. */
static bool dot2_operand(const urc_kernel *k, const urc_lx *e, urc_dtype dt, int v) {
    if (!urc_lx_uses_var(e, v)) return e->dt == dt;
    return e->kind == URC_LX_LOAD && e->dt == dt && k->bufs.items[e->buf].dt == dt && urc_lx_unit_stride(e->a, v);
}

static bool dot2_vector_loop(const urc_kernel *k, const urc_ls *s) {
    if (!(s->flags & URC_FOR_VECTOR) || s->step != 1 || s->lo->kind != URC_LX_INT || s->hi->kind != URC_LX_INT)
        return false;
    int stores = 0;
    for (int i = 0; i < s->body->list.len; i++) {
        const urc_ls *st = s->body->list.items[i];
        if (st->kind == URC_LS_COMMENT) continue;
        if (st->kind != URC_LS_STORE || st->accum || k->bufs.items[st->buf].dt != URC_DT_F32 ||
            st->val->kind != URC_LX_DOT2 || !urc_lx_unit_stride(st->idx, s->var))
            return false;
        const urc_lx *d = st->val;
        if (!dot2_operand(k, d->a, URC_DT_U32, s->var) || !dot2_operand(k, d->b, URC_DT_U32, s->var) ||
            !dot2_operand(k, d->c, URC_DT_F32, s->var))
            return false;
        stores++;
    }
    return stores > 0;
}

/* The intrinsic spelling of an operand for `bits`-wide vectors. */
static const char *dot2_vec(printer *p, const urc_lx *e, int v, int bits) {
    const char *pre = bits == 512 ? "_mm512" : bits == 256 ? "_mm256" : "_mm";
    const char *si = bits == 512 ? "si512" : bits == 256 ? "si256" : "si128";
    bool f = e->dt == URC_DT_F32;
    if (!urc_lx_uses_var(e, v))
        return f ? urc_fmt("%s_set1_ps(%s)", pre, expr_str(p, e))
                 : urc_fmt("%s_set1_epi32((int)%s)", pre, expr_str(p, e));
    const char *addr = urc_fmt("&%s[%s]", p->k->bufs.items[e->buf].name, strip_parens(expr_str(p, e->a)));
    if (f) return urc_fmt("%s_loadu_ps(%s)", pre, addr);
    return urc_fmt("%s_loadu_%s((const void *)%s)", pre, si, addr);
}

static void dot2_lanes(printer *p, const urc_ls *s, int bits) {
    const char *pre = bits == 512 ? "_mm512" : bits == 256 ? "_mm256" : "_mm";
    const char *bh = bits == 512 ? "__m512bh" : bits == 256 ? "__m256bh" : "__m128bh";
    for (int i = 0; i < s->body->list.len; i++) {
        const urc_ls *st = s->body->list.items[i];
        if (st->kind != URC_LS_STORE) continue;
        const urc_lx *d = st->val;
        line(p, "%s_storeu_ps(&%s[%s], %s_dpbf16_ps(%s, (%s)%s, (%s)%s));", pre, p->k->bufs.items[st->buf].name,
             strip_parens(expr_str(p, st->idx)), pre, dot2_vec(p, d->c, s->var, bits), bh,
             dot2_vec(p, d->a, s->var, bits), bh, dot2_vec(p, d->b, s->var, bits));
    }
}

static void dot2_loop(printer *p, const urc_ls *s) {
    const char *v = p->k->vars.items[s->var].name;
    int64_t lo = s->lo->i, hi = s->hi->i, at = lo;
    line(p, "#if defined(__AVX512BF16__) && defined(__AVX512VL__)");
    for (int bits = 512; bits >= 128; bits /= 2) {
        int64_t w = bits / 32, n = (hi - at) / w * w;
        if (!n) continue;
        line(p, "for (urc_idx %s = %lld; %s < %lld; %s += %lld) {", v, (long long)at, v, (long long)(at + n), v,
             (long long)w);
        p->indent++;
        dot2_lanes(p, s, bits);
        p->indent--;
        line(p, "}");
        at += n;
    }
    if (at < hi) {
        line(p, "for (urc_idx %s = %lld; %s < %lld; %s++) {", v, (long long)at, v, (long long)hi, v);
        p->indent++;
        for (int i = 0; i < s->body->list.len; i++) stmt(p, s->body->list.items[i]);
        p->indent--;
        line(p, "}");
    }
    line(p, "#else");
}

/* A vector loop (constant bounds) whose one statement converts float16 loads at the lane to float32,
 * dst[base + l] = (float)src[base' + l] (the weights of --precision fp16, converted once per tile row):
 * with F16C (x86-64-v3 and later) vcvtph2ps in groups of 8 lanes, exact as urc_f16_to_f32; else the
 * portable loop (measured: the portable conversion had made fp16 1.8x float32's time). */
static bool f16_vector_loop(const urc_kernel *k, const urc_ls *s) {
    if (!(s->flags & URC_FOR_VECTOR) || (s->flags & (URC_FOR_UNROLL | URC_FOR_PARALLEL)) || s->step != 1 ||
        s->lo->kind != URC_LX_INT || s->hi->kind != URC_LX_INT || s->hi->i - s->lo->i < 8 || s->body->list.len != 1)
        return false;
    const urc_ls *st = s->body->list.items[0];
    if (st->kind != URC_LS_STORE || st->accum || k->bufs.items[st->buf].dt != URC_DT_F32) return false;
    const urc_lx *c = st->val;
    return c->kind == URC_LX_CAST && c->dt == URC_DT_F32 && c->a->kind == URC_LX_LOAD && c->a->dt == URC_DT_F16 &&
           k->bufs.items[c->a->buf].dt == URC_DT_F16 && urc_lx_unit_stride(st->idx, s->var) &&
           urc_lx_unit_stride(c->a->a, s->var);
}

static void f16_loop(printer *p, const urc_ls *s) {
    const char *v = p->k->vars.items[s->var].name;
    const urc_ls *st = s->body->list.items[0];
    int64_t lo = s->lo->i, hi = s->hi->i, n8 = (hi - lo) / 8 * 8;
    line(p, "#if defined(__F16C__)");
    line(p, "for (urc_idx %s = %lld; %s < %lld; %s += 8) {", v, (long long)lo, v, (long long)(lo + n8), v);
    p->indent++;
    line(p, "_mm256_storeu_ps(&%s[%s], _mm256_cvtph_ps(_mm_loadu_si128((const void *)&%s[%s])));",
         p->k->bufs.items[st->buf].name, strip_parens(expr_str(p, st->idx)), p->k->bufs.items[st->val->a->buf].name,
         strip_parens(expr_str(p, st->val->a->a)));
    p->indent--;
    line(p, "}");
    if (n8 < hi - lo) {
        line(p, "for (urc_idx %s = %lld; %s < %lld; %s++) {", v, (long long)(lo + n8), v, (long long)hi, v);
        p->indent++;
        stmt(p, st);
        p->indent--;
        line(p, "}");
    }
    line(p, "#else");
}

static void stmt(printer *p, const urc_ls *s) {
    const urc_kernel *k = p->k;
    switch (s->kind) {
    case URC_LS_BLOCK:
        line(p, "{");
        p->indent++;
        block_body(p, s);
        p->indent--;
        line(p, "}");
        return;
    case URC_LS_FOR: {
        bool dot2 = dot2_vector_loop(k, s), f16 = !dot2 && p->f16 && f16_vector_loop(k, s);
        if (dot2) dot2_loop(p, s);
        if (f16) f16_loop(p, s);
        if (s->flags & URC_FOR_PARALLEL) {
            if (s->collapse > 1) line(p, "URC_OMP(parallel for collapse(%d))", s->collapse);
            else line(p, "URC_OMP(parallel for)");
        }
        if (s->flags & URC_FOR_UNROLL) line(p, "URC_UNROLL");
        /* gcc accepts no order of "GCC unroll" and "omp simd" on one loop: unroll wins */
        if ((s->flags & URC_FOR_VECTOR) && !(s->flags & (URC_FOR_PARALLEL | URC_FOR_UNROLL))) line(p, "URC_OMP(simd)");
        const char *v = k->vars.items[s->var].name;
        if (s->step == 1)
            line(p, "for (urc_idx %s = %s; %s < %s; %s++) {", v, expr_str(p, s->lo), v, expr_str(p, s->hi), v);
        else
            line(p, "for (urc_idx %s = %s; %s < %s; %s += %lld) {", v, expr_str(p, s->lo), v, expr_str(p, s->hi), v,
                 (long long)s->step);
        p->indent++;
        block_body(p, s->body);
        p->indent--;
        line(p, "}");
        if (dot2 || f16) line(p, "#endif");
        return;
    }
    case URC_LS_IF:
        line(p, "if (%s) {", strip_parens(expr_str(p, s->cond)));
        p->indent++;
        block_body(p, s->body);
        p->indent--;
        if (s->els && s->els->list.len) {
            line(p, "} else {");
            p->indent++;
            block_body(p, s->els);
            p->indent--;
        }
        line(p, "}");
        return;
    case URC_LS_STORE: {
        const urc_kbuf *b = &k->bufs.items[s->buf];
        const char *val = expr_str(p, s->val);
        if (b->dt == URC_DT_BOOL && s->val->dt != URC_DT_BOOL) val = urc_fmt("(%s != 0)", val);
        const char *idx = expr_str(p, s->idx);
        if (s->accum && (b->dt == URC_DT_I32 || b->dt == URC_DT_I64)) { /* wraps: signed += may overflow */
            const char *u = unsigned_type(b->dt);
            line(p, "%s[%s] = (%s)((%s)%s[%s] + (%s)%s);", b->name, idx, urc_c_type(b->dt), u, b->name, idx, u, val);
            return;
        }
        line(p, "%s[%s] %s %s;", b->name, idx, s->accum ? "+=" : "=", val);
        return;
    }
    case URC_LS_DECL: {
        const urc_kvar *v = &k->vars.items[s->var];
        line(p, "%s %s = %s;", urc_c_type(v->dt), v->name, expr_str(p, s->val));
        return;
    }
    case URC_LS_ASSIGN: line(p, "%s = %s;", k->vars.items[s->var].name, expr_str(p, s->val)); return;
    case URC_LS_COMMENT: line(p, "/* %s */", urc_c_comment(s->text)); return;
    case URC_LS_ARRAY: {
        const urc_kbuf *b = &k->bufs.items[s->buf];
        line(p, "_Alignas(64) %s %s[%lld];", urc_c_type(b->dt), b->name, (long long)(b->count ? b->count : 1));
        return;
    }
    case URC_LS_FAIL: line(p, "return 1; /* out of range: the entry point returns ERR_INDEX */"); return;
    case URC_LS_CALL: {
        urc_strbuf a = {0};
        for (int i = 0; i < s->args.len; i++) {
            if (i) urc_sb_puts(&a, ", ");
            urc_sb_puts(&a, strip_parens(expr_str(p, s->args.items[i])));
        }
        line(p, "%s(%s);", s->text, a.data ? a.data : "");
        urc_sb_free(&a);
        return;
    }
    }
}

/* ---- whole files ----------------------------------------------------------- */

static void provenance(urc_strbuf *out, const urc_c_opts *o, const urc_program *P, const char *what) {
    urc_sb_printf(out, "/* %s generated by unetrc %s (%s) from %s (opset %d, model fnv1a64 %016llx).\n", what,
                  URC_VERSION, URC_REVISION, urc_c_comment(o->source_name), o->opset,
                  (unsigned long long)o->model_hash);
    urc_sb_printf(out, " * Command: %s\n", o->command ? urc_c_comment(o->command) : "unetrc");
    urc_sb_printf(out, " * Target: %s\n * Do not edit. */\n", urc_c_comment(urc_target_describe(&P->target)));
}

static void io_params(const urc_program *P, urc_strbuf *out) {
    for (int i = 0; i < P->inputs.len; i++)
        urc_sb_printf(out, ", const %s *%s", urc_c_type(P->inputs.items[i].dt), P->inputs.items[i].cname);
    for (int i = 0; i < P->outputs.len; i++)
        urc_sb_printf(out, ", %s *%s", urc_c_type(P->outputs.items[i].dt), P->outputs.items[i].cname);
}

static void entry_signature(const urc_program *P, const char *entry, const urc_c_opts *o, urc_strbuf *out) {
    urc_sb_printf(out, "int %s_%s(", o->prefix, entry);
    if (!o->embed_weights) urc_sb_puts(out, "const void *weights, ");
    if (urc_abi_is_training(P)) urc_sb_puts(out, "void *params, void *state, ");
    else if (P->params_bytes) urc_sb_puts(out, "const void *params, ");
    urc_sb_puts(out, "void *arena");
    io_params(P, out);
    urc_sb_putc(out, ')');
}

/* I/O macros of one entry point: PREFIX_<kind><i>_RANK / _SHAPE / _COUNT. */
static void io_macros(const urc_program *P, const char *U, const char *mp, urc_strbuf *out) {
    urc_sb_printf(out, "\n#define %s_%sNUM_INPUTS %d\n#define %s_%sNUM_OUTPUTS %d\n", U, mp, P->inputs.len, U, mp,
                  P->outputs.len);
    for (int pass = 0; pass < 2; pass++) {
        const char *kind = pass ? "OUT" : "IN";
        int n = pass ? P->outputs.len : P->inputs.len;
        for (int i = 0; i < n; i++) {
            const urc_io *io = pass ? &P->outputs.items[i] : &P->inputs.items[i];
            urc_sb_printf(out, "/* %s %d: '%s', %s %s */\n", pass ? "output" : "input", i, urc_c_comment(io->name),
                          urc_dtype_name(io->dt), urc_shape_str(&io->shape));
            urc_sb_printf(out, "#define %s_%s%s%d_RANK %d\n", U, mp, kind, i, io->shape.rank);
            urc_sb_printf(out, "#define %s_%s%s%d_SHAPE {", U, mp, kind, i);
            for (int d = 0; d < io->shape.rank; d++)
                urc_sb_printf(out, d ? ", %lld" : "%lld", (long long)io->shape.dims[d]);
            urc_sb_printf(out, "}\n#define %s_%s%s%d_COUNT %lld /* elements */\n", U, mp, kind, i,
                          (long long)urc_shape_numel(&io->shape));
        }
    }
}

void urc_emit_c_header_multi(const urc_program *const *progs, const char *const *entries, int n, const urc_c_opts *o,
                             urc_strbuf *out) {
    const urc_program *W = progs[n - 1]; /* the last program's weights blob holds everyone's */
    const char *U = urc_abi_macro_prefix(o->prefix);
    provenance(out, o, W, "Header");
    urc_sb_printf(out, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n", U, U);
    urc_sb_puts(out, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    urc_sb_printf(out, "/* Memory: the caller owns everything. Pointers passed to %s_%s must be\n", o->prefix,
                  entries[0]);
    urc_sb_printf(out, " * %s_ALIGN-byte aligned; the arena is scratch space, reused between calls. */\n", U);
    urc_sb_printf(out, "#define %s_ALIGN %d\n", U, W->align);
    for (int i = 0; i < n; i++) {
        const urc_program *P = progs[i];
        const char *mp = urc_abi_entry_macro_prefix(entries[i]);
        urc_sb_printf(out, "#define %s_%sARENA_SIZE %lld /* bytes of scratch memory for %s_%s */\n", U, mp,
                      (long long)urc_abi_arena_size(P), o->prefix, entries[i]);
        urc_sb_printf(out, "#define %s_%sARENA_LOWER_BOUND %lld /* largest set of simultaneously live tensors */\n", U,
                      mp, (long long)P->arena_lower_bound);
    }
    urc_sb_printf(out, "#define %s_WEIGHTS_SIZE %lld /* bytes of the weights payload */\n", U,
                  (long long)W->weights_bytes);
    urc_sb_printf(out, "#define %s_WEIGHTS_EMBEDDED %d\n", U, o->embed_weights ? 1 : 0);
    if (!o->embed_weights) {
        urc_sb_printf(out, "#define %s_WEIGHTS_FILE_SIZE %lld /* bytes of %s.weights: 64-byte header + payload */\n", U,
                      (long long)(W->weights_bytes + UNETRC_WEIGHTS_HEADER_BYTES), o->prefix);
        urc_sb_printf(out, "#define %s_WEIGHTS_CHECKSUM UINT64_C(0x%016llx) /* FNV-1a 64 of the payload */\n", U,
                      (unsigned long long)W->weights_checksum);
    }
    urc_sb_printf(out, "#define %s_MODEL_HASH UINT64_C(0x%016llx) /* FNV-1a 64 of the model file */\n", U,
                  (unsigned long long)o->model_hash);
    urc_sb_printf(out, "#define %s_MACS %lld /* multiply-accumulates per forward */\n", U, (long long)progs[0]->macs);
    const urc_program *T = urc_abi_param_program(progs, n);
    if (T) {
        int np = 0;
        for (int i = 0; i < T->regions.len; i++) np += !T->regions.items[i].state;
        urc_sb_printf(out,
                      "\n/* Training: trainable parameters live in the caller's params region, the\n"
                      " * optimizer state in the state region (zeroed by %s_train_init). */\n",
                      o->prefix);
        urc_sb_printf(out, "#define %s_PARAMS_SIZE %lld /* bytes */\n#define %s_STATE_SIZE %lld /* bytes */\n", U,
                      (long long)urc_abi_params_size(T), U, (long long)urc_abi_state_size(T));
        urc_sb_printf(out, "#define %s_NUM_PARAMS %d\n", U, np);
        for (int i = 0; i < T->regions.len; i++)
            if (T->regions.items[i].state && !strcmp(T->regions.items[i].name, "step"))
                urc_sb_printf(out,
                              "#define %s_STATE_STEP_OFFSET %lld /* the step counter (float) in the state region */\n",
                              U, (long long)T->regions.items[i].offset);
        urc_sb_printf(
            out,
            "typedef struct %s_param_info {\n    const char *name; /* ONNX initializer name */\n"
            "    size_t offset;    /* bytes in the params region */\n    size_t count;     /* float elements */\n"
            "} %s_param_info;\n",
            o->prefix, o->prefix);
        urc_sb_printf(out, "extern const %s_param_info %s_params[%s_NUM_PARAMS];\n", o->prefix, o->prefix, U);
        urc_sb_printf(out, "/* Copies the parameters' initial values (from the weights blob) into params and\n"
                           " * zeroes the optimizer state: call once before the first step. */\n");
        urc_sb_printf(out, "int %s_train_init(%svoid *params, void *state);\n", o->prefix,
                      o->embed_weights ? "" : "const void *weights, ");
    }
    /* the status codes are the runtime's (unetrc.h), so unetrc_status_str describes them */
    urc_sb_printf(out, "\n#define %s_OK %d\n#define %s_ERR_NULL (%d) /* a pointer argument is NULL */\n", U, UNETRC_OK,
                  U, UNETRC_ERR_NULL);
    urc_sb_printf(out, "#define %s_ERR_ALIGN (%d) /* weights, params, state or arena not %s_ALIGN-byte aligned */\n", U,
                  UNETRC_ERR_ALIGN, U);
    urc_sb_printf(out,
                  "#define %s_ERR_INDEX (%d) /* an index read at run time (Gather, GatherElements) is out of "
                  "range; the outputs are then undefined */\n",
                  U, UNETRC_ERR_INDEX);
    const urc_program *L = urc_abi_label_program(progs, n);
    if (L) {
        urc_sb_printf(out,
                      "#define %s_ERR_LABEL (%d) /* a label is none of the classes' label values: nothing was "
                      "run or written */\n",
                      U, UNETRC_ERR_LABEL);
        urc_sb_printf(out, "#define %s_NUM_CLASSES %d\n#define %s_LABEL_VALUES {", U, L->nclasses, U);
        for (int k = 0; k < L->nclasses; k++) urc_sb_printf(out, k ? ", %lld" : "%lld", (long long)L->label_values[k]);
        urc_sb_puts(out, "} /* the label value of each class */\n");
    }
    for (int i = 0; i < n; i++) {
        io_macros(progs[i], U, urc_abi_entry_macro_prefix(entries[i]), out);
        if (!strcmp(entries[i], "forward"))
            urc_sb_printf(out,
                          "\n/* Runs the network: reads the inputs, writes the outputs. Returns %s_OK, or\n"
                          " * %s_ERR_NULL / %s_ERR_ALIGN without touching any memory, or %s_ERR_INDEX.\n"
                          " * Thread-safe when each concurrent call has its own arena. */\n",
                          U, U, U, U);
        else
            urc_sb_printf(out,
                          "\n/* One training step: forward, loss, backward and the optimizer update of the\n"
                          " * parameters and state in place. Returns %s_OK, or %s_ERR_NULL / %s_ERR_ALIGN /\n"
                          " * %s_ERR_LABEL without touching any memory, or %s_ERR_INDEX. */\n",
                          U, U, U, U, U);
        entry_signature(progs[i], entries[i], o, out);
        urc_sb_puts(out, ";\n");
    }
    urc_sb_puts(out, "\n#ifdef __cplusplus\n}\n#endif\n");
    urc_sb_printf(out, "\n#endif /* %s_H */\n", U);
}

void urc_emit_c_header(const urc_program *P, const urc_c_opts *o, urc_strbuf *out) {
    const char *entry = "forward";
    urc_emit_c_header_multi(&P, &entry, 1, o, out);
}

/* Marks the buffers an expression or statement tree uses. */
static void mark_expr(const urc_lx *e, bool *used) {
    if (!e) return;
    if (e->kind == URC_LX_LOAD || e->kind == URC_LX_ADDR || e->kind == URC_LX_PAIR) used[e->buf] = true;
    mark_expr(e->a, used);
    mark_expr(e->b, used);
    mark_expr(e->c, used);
}

static void mark_stmt(const urc_ls *s, bool *used) {
    if (!s) return;
    if (s->kind == URC_LS_STORE) used[s->buf] = true;
    mark_expr(s->lo, used);
    mark_expr(s->hi, used);
    mark_expr(s->cond, used);
    mark_expr(s->idx, used);
    mark_expr(s->val, used);
    mark_stmt(s->body, used);
    mark_stmt(s->els, used);
    for (int i = 0; i < s->list.len; i++) mark_stmt(s->list.items[i], used);
    for (int i = 0; i < s->args.len; i++) mark_expr(s->args.items[i], used);
}

/* The prototype of every function the calls in s reach (block scope is not
 * enough: C wants them declared before use; a repeat is a legal redeclaration). */
static void declare_calls(const urc_kernel *k, const urc_ls *s, urc_strbuf *out) {
    if (!s) return;
    if (s->kind == URC_LS_CALL) {
        urc_sb_printf(out, "extern void %s(", s->text);
        for (int i = 0; i < s->args.len; i++) {
            const urc_lx *a = s->args.items[i];
            const char *sep = i ? ", " : "";
            if (a->kind == URC_LX_ADDR)
                urc_sb_printf(out, "%s%s%s *", sep, k->bufs.items[a->buf].role == URC_KB_IN ? "const " : "",
                              urc_c_type(a->dt));
            else urc_sb_printf(out, "%s%s", sep, urc_c_type(a->dt));
        }
        urc_sb_puts(out, s->args.len ? ");\n" : "void);\n");
    }
    declare_calls(k, s->body, out);
    declare_calls(k, s->els, out);
    for (int i = 0; i < s->list.len; i++) declare_calls(k, s->list.items[i], out);
}

static void kernel(printer *p, const urc_kernel *k) {
    p->k = k;
    urc_strbuf *out = p->out;
    declare_calls(k, k->body, out);
    /* A kernel that checks values read at run time returns 0, or 1 when one is out of range. */
    urc_sb_printf(out, "/* %s */\nstatic %s %s(", urc_c_comment(k->comment), k->can_fail ? "int" : "void", k->name);
    int np = 0;
    for (int i = 0; i < k->bufs.len; i++) {
        const urc_kbuf *b = &k->bufs.items[i];
        if (b->role == URC_KB_LOCAL) continue;
        urc_sb_printf(out, "%s%s%s *%s%s", np++ ? ", " : "", b->role == URC_KB_IN ? "const " : "", urc_c_type(b->dt),
                      b->may_alias ? "" : "restrict ", b->name);
    }
    if (!np) urc_sb_puts(out, "void");
    urc_sb_puts(out, ") {\n");
    p->indent = 1;
    for (int i = 0; i < k->bufs.len; i++) {
        const urc_kbuf *b = &k->bufs.items[i];
        if (b->role == URC_KB_LOCAL && !b->placed)
            line(p, "_Alignas(64) %s %s[%lld];", urc_c_type(b->dt), b->name, (long long)(b->count ? b->count : 1));
    }
    /* A parameter the body does not touch (e.g. IsInf detecting nothing)
     * is still part of the call: mark it used for -Wunused-parameter. */
    bool *used = urc_alloc((size_t)k->bufs.len + 1);
    mark_stmt(k->body, used);
    for (int i = 0; i < k->bufs.len; i++)
        if (k->bufs.items[i].role != URC_KB_LOCAL && !used[i]) line(p, "(void)%s;", k->bufs.items[i].name);
    block_body(p, k->body);
    if (k->can_fail) line(p, "return 0;");
    p->indent = 0;
    urc_sb_puts(out, "}\n\n");
}

/* ---- repeated kernels --------------------------------------------------------
 *
 * Kernels equal by urc_kernel_eq (loop/loop.h) print the same text, so a
 * repeat is recognised without printing it (printing every kernel to
 * compare texts was most of the printer's time on graphs of 10^5 nodes).
 * That equality is finer than equal text; kernels that differ there but
 * print the same are still merged by their texts. Kernels that share one
 * body (passes/lower.c: urc_lower_reuse) hash it once. */

typedef struct seen_table {
    urc_hindex kernels; /* hash of a printed kernel -> its position */
    URC_VEC(const urc_kernel *) k;
    URC_VEC(const char *) canon; /* the name it is printed under */
    urc_hindex bodies;           /* body pointer -> position in body_hash */
    URC_VEC(const urc_ls *) body;
    URC_VEC(uint64_t) body_hash;
} seen_table;

static uint64_t seen_hash(seen_table *t, const urc_kernel *k) {
    uint64_t ph = urc_mix64(URC_FNV_INIT, (uint64_t)(uintptr_t)k->body), bh = 0;
    int e = urc_hindex_first(&t->bodies, ph);
    while (e >= 0 && t->body.items[e] != k->body) e = urc_hindex_next(&t->bodies, e);
    if (e >= 0) {
        bh = t->body_hash.items[e];
    } else {
        bh = urc_ls_hash(k->body, URC_FNV_INIT);
        urc_hindex_add(&t->bodies, ph);
        URC_VEC_PUSH(t->body, k->body);
        URC_VEC_PUSH(t->body_hash, bh);
    }
    return urc_mix64(urc_kernel_head_hash(k), bh);
}

static const char *seen_find(const seen_table *t, const urc_kernel *k, uint64_t h) {
    for (int e = urc_hindex_first(&t->kernels, h); e >= 0; e = urc_hindex_next(&t->kernels, e))
        if (urc_kernel_eq(t->k.items[e], k)) return t->canon.items[e];
    return NULL;
}

static void seen_add(seen_table *t, const urc_kernel *k, uint64_t h, const char *canon) {
    urc_hindex_add(&t->kernels, h);
    URC_VEC_PUSH(t->k, k);
    URC_VEC_PUSH(t->canon, canon);
}

static void seen_free(seen_table *t) {
    urc_hindex_free(&t->kernels);
    urc_hindex_free(&t->bodies);
    free(t->k.items);
    free(t->canon.items);
    free(t->body.items);
    free(t->body_hash.items);
}

static void weights_data(const urc_program *P, const urc_c_opts *o, urc_strbuf *out) {
    urc_sb_printf(out, "/* The weights, %lld bytes; member offsets equal the blob layout. */\n",
                  (long long)P->weights_bytes);
    urc_sb_puts(out, "static const struct {\n");
    for (int i = 0; i < P->wentries.len; i++) {
        const urc_wentry *w = &P->wentries.items[i];
        urc_sb_printf(out, "    _Alignas(%d) %s w%d[%lld]; /* %s, offset %lld */\n", P->align, urc_c_type(w->dt), i,
                      (long long)(w->count ? w->count : 1), urc_c_comment(w->name), (long long)w->offset);
    }
    if (!P->wentries.len) urc_sb_printf(out, "    _Alignas(%d) unsigned char none[1];\n", P->align);
    urc_sb_printf(out, "} %s_weights_data = {\n", o->prefix);
    for (int i = 0; i < P->wentries.len; i++) {
        const urc_wentry *w = &P->wentries.items[i];
        urc_sb_puts(out, "    {");
        for (int64_t j = 0; j < (w->count ? w->count : 1); j++) {
            if (j) urc_sb_puts(out, j % 8 ? ", " : ",\n     ");
            if (!w->count) {
                urc_sb_puts(out, "0");
            } else if (urc_dtype_is_float(w->dt) && w->dt != URC_DT_F16 && w->dt != URC_DT_BF16) {
                double v = urc_elem_f64(w->dt, P->weights + w->offset, j);
                if (isnan(v) || isinf(v)) {
                    flt_literal(out, v, w->dt);
                } else {
                    urc_sb_printf(out, "%a", v);
                    if (w->dt == URC_DT_F32) urc_sb_putc(out, 'f');
                }
            } else if (w->dt == URC_DT_F16 || w->dt == URC_DT_BF16) {
                urc_sb_printf(out, "%u", ((const uint16_t *)(P->weights + w->offset))[j]);
            } else {
                int_literal(out, urc_elem_i64(w->dt, P->weights + w->offset, j), w->dt);
            }
        }
        urc_sb_puts(out, i + 1 < P->wentries.len ? "},\n" : "}\n");
    }
    if (!P->wentries.len) urc_sb_puts(out, "    {0}\n");
    urc_sb_puts(out, "};\n\n");
}

/* Appends the argument expression of buffer b at m to out. */
static void mref_expr(urc_strbuf *out, const urc_program *P, const urc_mref *m, const urc_kbuf *b) {
    static const char *base[] = {
        [URC_MEM_ARENA] = "A", [URC_MEM_WEIGHTS] = "W", [URC_MEM_PARAMS] = "PR", [URC_MEM_STATE] = "ST"};
    if (m->space == URC_MEM_INPUT || m->space == URC_MEM_OUTPUT) {
        urc_sb_puts(out,
                    m->space == URC_MEM_INPUT ? P->inputs.items[m->index].cname : P->outputs.items[m->index].cname);
        return;
    }
    urc_sb_puts(out, b->role == URC_KB_IN || m->space == URC_MEM_WEIGHTS ? "(const " : "(");
    urc_sb_puts(out, urc_c_type(b->dt));
    urc_sb_puts(out, " *)(");
    urc_sb_puts(out, base[m->space]);
    urc_sb_puts(out, " + ");
    urc_sb_put_i64(out, m->offset);
    urc_sb_putc(out, ')');
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Before anything runs: every label must be one of the classes' label
 * values, else the entry returns NAME_ERR_LABEL (a label outside them would
 * have an all-zero one-hot and train silently wrong). Branch-free over the
 * voxels: a range test when the values are consecutive (0..C-1), else a
 * comparison with each value of a table (--label-map). */
static void label_check(const urc_program *P, const char *U, urc_strbuf *out) {
    const urc_io *io = &P->inputs.items[P->label_input];
    int n = P->nclasses;
    int64_t *v = urc_alloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    memcpy(v, P->label_values, sizeof(int64_t) * (size_t)n);
    qsort(v, (size_t)n, sizeof(int64_t), cmp_i64);
    bool range = n > 0 && (uint64_t)v[n - 1] - (uint64_t)v[0] == (uint64_t)(n - 1);
    urc_sb_puts(out, "    { /* every label must be a class's label value */\n");
    if (!range) {
        urc_sb_printf(out, "        static const int64_t values[%d] = {", n);
        for (int k = 0; k < n; k++) {
            if (k) urc_sb_puts(out, ", ");
            int_literal(out, v[k], URC_DT_I64);
        }
        urc_sb_puts(out, "};\n");
    }
    urc_sb_printf(out,
                  "        int bad = 0;\n        for (size_t i = 0; i < (size_t)%lld; i++) {\n"
                  "            int64_t l = (int64_t)%s[i];\n",
                  (long long)urc_shape_numel(&io->shape), io->cname);
    if (range) {
        urc_sb_puts(out, "            bad |= (l < ");
        int_literal(out, v[0], URC_DT_I64);
        urc_sb_puts(out, ") | (l > ");
        int_literal(out, v[n - 1], URC_DT_I64);
        urc_sb_puts(out, ");\n");
    } else {
        urc_sb_printf(out,
                      "            int hit = 0;\n            for (int c = 0; c < %d; c++) hit |= l == values[c];\n"
                      "            bad |= !hit;\n",
                      n);
    }
    urc_sb_printf(out, "        }\n        if (bad) return %s_ERR_LABEL;\n    }\n", U);
}

typedef struct kernel_index {
    const urc_kernel *k;
    int index; /* in P->kernels */
} kernel_index;

static int cmp_kernel_index(const void *x, const void *y) {
    const kernel_index *a = x, *b = y;
    if (a->k != b->k) return (uintptr_t)a->k < (uintptr_t)b->k ? -1 : 1;
    return a->index - b->index; /* a kernel listed twice: its first place */
}

/* The first index of k in the sorted table, or n when it is not there. */
static int find_kernel(const kernel_index *t, int n, const urc_kernel *k) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if ((uintptr_t)t[mid].k < (uintptr_t)k) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && t[lo].k == k ? t[lo].index : n;
}

static void entry_body(const urc_program *P, const char *entry, const char **fn, const urc_c_opts *o, urc_strbuf *out) {
    const char *U = urc_abi_macro_prefix(o->prefix);
    entry_signature(P, entry, o, out);
    urc_sb_puts(out, " {\n");
    if (o->embed_weights)
        urc_sb_printf(out, "    const unsigned char *W = (const unsigned char *)&%s_weights_data;\n", o->prefix);
    else urc_sb_puts(out, "    const unsigned char *W = (const unsigned char *)weights;\n");
    if (urc_abi_is_training(P))
        urc_sb_puts(out, "    unsigned char *PR = (unsigned char *)params, *ST = (unsigned char *)state;\n");
    else if (P->params_bytes) urc_sb_puts(out, "    const unsigned char *PR = (const unsigned char *)params;\n");
    urc_sb_puts(out, "    unsigned char *A = (unsigned char *)arena;\n");
    urc_sb_puts(out, "    if (!W || !A");
    if (P->params_bytes) urc_sb_puts(out, " || !PR");
    if (urc_abi_is_training(P)) urc_sb_puts(out, " || !ST");
    for (int i = 0; i < P->inputs.len; i++) urc_sb_printf(out, " || !%s", P->inputs.items[i].cname);
    for (int i = 0; i < P->outputs.len; i++) urc_sb_printf(out, " || !%s", P->outputs.items[i].cname);
    urc_sb_printf(out, ") return %s_ERR_NULL;\n", U);
    urc_sb_printf(out, "    if ((uintptr_t)W %% %s_ALIGN || (uintptr_t)A %% %s_ALIGN", U, U);
    if (P->params_bytes) urc_sb_printf(out, " || (uintptr_t)PR %% %s_ALIGN", U);
    if (urc_abi_is_training(P)) urc_sb_printf(out, " || (uintptr_t)ST %% %s_ALIGN", U);
    urc_sb_printf(out, ") return %s_ERR_ALIGN;\n", U);
    if (P->label_values) label_check(P, U, out);
    urc_sb_puts(out, "    (void)W;\n    (void)A;\n");
    if (P->params_bytes) urc_sb_puts(out, "    (void)PR;\n");
    if (urc_abi_is_training(P)) urc_sb_puts(out, "    (void)ST;\n");
    /* Each call's kernel index (for its printed name) by binary search over
     * the kernels sorted by address: a scan per call was quadratic. */
    kernel_index *byaddr = urc_xmalloc(sizeof(kernel_index) * ((size_t)P->kernels.len + 1));
    for (int i = 0; i < P->kernels.len; i++) byaddr[i] = (kernel_index){P->kernels.items[i], i};
    qsort(byaddr, (size_t)P->kernels.len, sizeof(kernel_index), cmp_kernel_index);
    for (int i = 0; i < P->calls.len; i++) {
        const urc_call *c = &P->calls.items[i];
        int ki = find_kernel(byaddr, P->kernels.len, c->k);
        urc_sb_puts(out, c->k->can_fail ? "    if (" : "    ");
        urc_sb_puts(out, ki < P->kernels.len ? fn[ki] : c->k->name);
        urc_sb_putc(out, '(');
        int na = 0;
        for (int j = 0; j < c->k->bufs.len; j++) {
            const urc_kbuf *b = &c->k->bufs.items[j];
            if (b->role == URC_KB_LOCAL) continue;
            if (na) urc_sb_puts(out, ", ");
            mref_expr(out, P, &c->args[na], b);
            na++;
        }
        if (c->k->can_fail) urc_sb_printf(out, ")) return %s_ERR_INDEX;", U);
        else urc_sb_puts(out, ");");
        if (ki < P->kernels.len && fn[ki] != c->k->name) { /* a shared kernel: say which node this is */
            urc_sb_puts(out, " /* ");
            urc_sb_puts(out, urc_c_comment(c->k->comment));
            urc_sb_puts(out, " */");
        }
        urc_sb_putc(out, '\n');
    }
    free(byaddr);
    urc_sb_printf(out, "    return %s_OK;\n}\n", U);
}

/* The parameter table and NAME_train_init of a program with regions. */
static void train_init(const urc_program *T, const urc_c_opts *o, urc_strbuf *out) {
    const char *U = urc_abi_macro_prefix(o->prefix);
    urc_sb_printf(out, "\nconst %s_param_info %s_params[%s_NUM_PARAMS] = {\n", o->prefix, o->prefix, U);
    for (int i = 0; i < T->regions.len; i++) {
        const urc_pentry *e = &T->regions.items[i];
        if (e->state) continue;
        urc_strbuf q = {0};
        for (const char *c = e->name; *c; c++) { /* a C string literal of the name */
            if (*c == '"' || *c == '\\') urc_sb_printf(&q, "\\%c", *c);
            else if ((unsigned char)*c < 32 || (unsigned char)*c > 126) urc_sb_printf(&q, "\\%03o", (unsigned char)*c);
            else urc_sb_putc(&q, *c);
        }
        urc_sb_printf(out, "    {\"%s\", %lld, %lld},\n", q.data ? q.data : "", (long long)e->offset,
                      (long long)e->count);
        urc_sb_free(&q);
    }
    urc_sb_puts(out, "};\n\n");
    urc_sb_printf(out, "int %s_train_init(%svoid *params, void *state) {\n", o->prefix,
                  o->embed_weights ? "" : "const void *weights, ");
    if (o->embed_weights)
        urc_sb_printf(out, "    const unsigned char *W = (const unsigned char *)&%s_weights_data;\n", o->prefix);
    else urc_sb_puts(out, "    const unsigned char *W = (const unsigned char *)weights;\n");
    urc_sb_puts(out, "    unsigned char *PR = (unsigned char *)params, *ST = (unsigned char *)state;\n");
    urc_sb_printf(out, "    if (!W || !PR || !ST) return %s_ERR_NULL;\n", U);
    urc_sb_printf(out,
                  "    if ((uintptr_t)W %% %s_ALIGN || (uintptr_t)PR %% %s_ALIGN || (uintptr_t)ST %% %s_ALIGN) "
                  "return %s_ERR_ALIGN;\n",
                  U, U, U, U);
    urc_sb_printf(out, "    for (size_t i = 0; i < (size_t)%lld; i++) PR[i] = W[%lld + i];\n",
                  (long long)T->params_bytes, (long long)T->params_init_offset);
    urc_sb_printf(out, "    for (size_t i = 0; i < (size_t)%lld; i++) ST[i] = 0;\n", (long long)T->state_bytes);
    urc_sb_printf(out, "    return %s_OK;\n}\n", U);
}

void urc_emit_c_source_multi(const urc_program *const *progs, const char *const *entries, int n, const urc_c_opts *o,
                             urc_strbuf *out) {
    const urc_program *W = progs[n - 1];
    provenance(out, o, W, "Code");
    urc_sb_printf(out, "#include \"%s\"\n\n", o->header_name);
    urc_program widest = *progs[0];
    for (int i = 0; i < n; i++)
        if (progs[i]->index_bits > widest.index_bits) widest.index_bits = progs[i]->index_bits;
    bool dot2 = false, f16 = false;
    urc_c_prelude_needs(progs, n, &dot2, &f16);
    urc_c_prelude(&widest, out, dot2, f16);
    printer p = {.out = out, .f16 = f16};
    /* Kernels whose text is identical apart from the name and comment (the
     * twelve transformer blocks, repeated conv shapes, the forward part of a
     * training step) are printed once. */
    const char **fn[8];
    urc_map bodies = {0};
    seen_table seen = {0};
    for (int pi = 0; pi < n; pi++) {
        const urc_program *P = progs[pi];
        fn[pi] = urc_alloc(sizeof(char *) * ((size_t)P->kernels.len + 1));
        for (int i = 0; i < P->kernels.len; i++) {
            const urc_kernel *k = P->kernels.items[i];
            uint64_t h = seen_hash(&seen, k);
            const char *same = seen_find(&seen, k, h);
            if (same) { /* a repeat: it would print the same text */
                fn[pi][i] = same;
                continue;
            }
            urc_strbuf text = {0};
            p.out = &text;
            kernel(&p, k);
            p.out = out;
            /* the body starts at the parameter list, after "static void NAME" (or "static int NAME":
             * those bodies differ anyway, by their return statements) */
            const char *ret = k->can_fail ? "int" : "void";
            const char *sig = strstr(text.data, urc_fmt("static %s %s(", ret, k->name));
            const char *key = sig ? sig + strlen("static  ") + strlen(ret) + strlen(k->name) : text.data;
            const char *canon = urc_map_get(&bodies, key);
            if (canon) {
                fn[pi][i] = canon;
            } else {
                fn[pi][i] = k->name;
                urc_map_put(&bodies, urc_strdup(key), (void *)k->name);
                urc_sb_write(out, text.data, text.len);
            }
            seen_add(&seen, k, h, fn[pi][i]);
            urc_sb_free(&text);
        }
    }
    urc_map_free(&bodies);
    seen_free(&seen);
    if (o->embed_weights) weights_data(W, o, out);
    for (int pi = 0; pi < n; pi++) {
        if (pi) urc_sb_putc(out, '\n');
        entry_body(progs[pi], entries[pi], fn[pi], o, out);
    }
    const urc_program *T = urc_abi_param_program(progs, n);
    if (T) train_init(T, o, out);
    urc_sb_puts(out, "\n#if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC pop_options\n#endif\n");
}

void urc_emit_c_source(const urc_program *P, const urc_c_opts *o, urc_strbuf *out) {
    const char *entry = "forward";
    urc_emit_c_source_multi(&P, &entry, 1, o, out);
}
