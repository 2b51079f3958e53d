/* emit_c_kernel.c: prints one kernel of a loop program (loop/loop.h) as a C function: its
 * expressions, statements and the vector loops spelled with intrinsics (bf16 pair products under
 * #if __AVX512BF16__, float16 weight rows under #if __F16C__, int8 and bf16 weight rows under
 * #if __AVX512F__ / __AVX2__, each with its portable twin).
 * emit_c.c assembles the whole file around these functions. */
#include "emit_c.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/diag.h"

typedef struct printer {
    urc_strbuf *out;
    int indent;
    const urc_kernel *k;
    bool f16;   /* the prelude includes the F16C intrinsics (some kernel converts float16 loads) */
    bool bf16;  /* ... and the AVX512-BF16 ones (some kernel stores floats rounded to bfloat16) */
    bool widen; /* ... and the AVX2/AVX-512 ones (some kernel widens int8 or bfloat16 loads, urc_c_widens) */
    bool u8;    /* ... and the AVX-512 ones (some kernel stores uint8 levels, urc_c_narrows_u8) */
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

void urc_c_flt_literal(urc_strbuf *sb, double v, urc_dtype dt) {
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

void urc_c_int_literal(urc_strbuf *sb, int64_t v, urc_dtype dt) {
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

/* fn(a, b, c) of e's three operands (fused multiply-add, bf16 pair and int8 quad products). */
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
    case URC_LX_INT: urc_c_int_literal(sb, e->i, e->dt); return;
    case URC_LX_FLT: urc_c_flt_literal(sb, e->f, e->dt); return;
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
        urc_sb_printf(sb, "%s(&%s[", p->k->bufs.items[e->buf].dt == URC_DT_U8 ? "urc_quad_u8" : "urc_pair_bf16",
                      p->k->bufs.items[e->buf].name);
        expr(p, e->a);
        urc_sb_puts(sb, "])");
        return;
    case URC_LX_DOT2: call3(p, "urc_dot2_bf16", e); return;
    case URC_LX_DOT4: call3(p, "urc_dot4_u8s8", e); return;
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

/* The scalar remainder [from, hi) of an intrinsic loop form's loop s (its own body). */
static void rest_loop(printer *p, const urc_ls *s, int64_t from) {
    const char *v = p->k->vars.items[s->var].name;
    int64_t hi = s->hi->i;
    if (from >= hi) return;
    line(p, "for (urc_idx %s = %lld; %s < %lld; %s++) {", v, (long long)from, v, (long long)hi, v);
    p->indent++;
    block_body(p, s->body);
    p->indent--;
    line(p, "}");
}

/* ... and the #else that starts the portable twin. */
static void rest_and_else(printer *p, const urc_ls *s, int64_t from) {
    rest_loop(p, s, from);
    line(p, "#else");
}

/* ---- vector loops of bfloat16 pair products (URC_LX_DOT2) and int8 quad products (URC_LX_DOT4) ---------
 *
 * gcc and clang do not turn a loop of urc_dot2_bf16 into vdpbf16ps (nor one of urc_dot4_u8s8 into
 * vpdpbusd), so a vector loop whose stores all have the form buf[base + l] = dot(a, b, c) (l the lane; every
 * operand either without l or a load at base + l; one kind of product) is printed twice: with AVX512-BF16
 * (AVX512-VNNI, or AVX-VNNI's 256 and 128-bit forms) intrinsics in groups of 16, 8 and 4 lanes where the
 * compiler targets them, and as the portable loop otherwise. Both give the same bits (DOT2: on normal
 * numbers). */

/* An operand of the vector form: without the lane, or a plain load at base + lane. */
static bool dot_operand(const urc_kernel *k, const urc_lx *e, urc_dtype dt, int v) {
    if (!urc_lx_uses_var(e, v)) return e->dt == dt;
    return e->kind == URC_LX_LOAD && e->dt == dt && k->bufs.items[e->buf].dt == dt && urc_lx_unit_stride(e->a, v);
}

/* The kind of product (URC_LX_DOT2 or DOT4) of a vector loop of them, else 0. */
static int dot_vector_loop(const urc_kernel *k, const urc_ls *s) {
    if (!(s->flags & URC_FOR_VECTOR) || s->step != 1 || s->lo->kind != URC_LX_INT || s->hi->kind != URC_LX_INT)
        return 0;
    int kind = 0;
    for (int i = 0; i < s->body->list.len; i++) {
        const urc_ls *st = s->body->list.items[i];
        if (st->kind == URC_LS_COMMENT) continue;
        if (st->kind != URC_LS_STORE || st->accum || (st->val->kind != URC_LX_DOT2 && st->val->kind != URC_LX_DOT4) ||
            (kind && st->val->kind != (urc_lx_kind)kind) || !urc_lx_unit_stride(st->idx, s->var))
            return 0;
        kind = st->val->kind;
        const urc_lx *d = st->val;
        urc_dtype acc = kind == URC_LX_DOT2 ? URC_DT_F32 : URC_DT_I32;
        if (k->bufs.items[st->buf].dt != acc || !dot_operand(k, d->a, URC_DT_U32, s->var) ||
            !dot_operand(k, d->b, URC_DT_U32, s->var) || !dot_operand(k, d->c, acc, s->var))
            return 0;
    }
    return kind;
}

/* The intrinsic spelling of an operand for `bits`-wide vectors. */
static const char *dot_vec(printer *p, const urc_lx *e, int v, int bits) {
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

/* vnni: 0 vdpbf16ps, 1 AVX512-VNNI's vpdpbusd, 2 AVX-VNNI's. */
static void dot_lanes(printer *p, const urc_ls *s, int bits, int vnni) {
    const char *pre = bits == 512 ? "_mm512" : bits == 256 ? "_mm256" : "_mm";
    const char *bh = bits == 512 ? "__m512bh" : bits == 256 ? "__m256bh" : "__m128bh";
    const char *si = bits == 512 ? "si512" : bits == 256 ? "si256" : "si128";
    for (int i = 0; i < s->body->list.len; i++) {
        const urc_ls *st = s->body->list.items[i];
        if (st->kind != URC_LS_STORE) continue;
        const urc_lx *d = st->val;
        const char *at = urc_fmt("&%s[%s]", p->k->bufs.items[st->buf].name, strip_parens(expr_str(p, st->idx)));
        if (vnni)
            line(p, "%s_storeu_%s((void *)%s, %s_dpbusd%s_epi32(%s, %s, %s));", pre, si, at, pre,
                 vnni == 2 ? "_avx" : "", dot_vec(p, d->c, s->var, bits), dot_vec(p, d->a, s->var, bits),
                 dot_vec(p, d->b, s->var, bits));
        else
            line(p, "%s_storeu_ps(%s, %s_dpbf16_ps(%s, (%s)%s, (%s)%s));", pre, at, pre, dot_vec(p, d->c, s->var, bits),
                 bh, dot_vec(p, d->a, s->var, bits), bh, dot_vec(p, d->b, s->var, bits));
    }
}

/* The groups of 16, 8 and 4 lanes (up to 512 bits) from lane `lo`; returns the first lane left. */
static int64_t dot_groups(printer *p, const urc_ls *s, int top, int vnni) {
    const char *v = p->k->vars.items[s->var].name;
    int64_t hi = s->hi->i, at = s->lo->i;
    for (int bits = top; bits >= 128; bits /= 2) {
        int64_t w = bits / 32, n = (hi - at) / w * w;
        if (!n) continue;
        line(p, "for (urc_idx %s = %lld; %s < %lld; %s += %lld) {", v, (long long)at, v, (long long)(at + n), v,
             (long long)w);
        p->indent++;
        dot_lanes(p, s, bits, vnni);
        p->indent--;
        line(p, "}");
        at += n;
    }
    return at;
}

static void dot_loop(printer *p, const urc_ls *s, int kind) {
    if (kind == URC_LX_DOT2) {
        line(p, "#if defined(__AVX512BF16__) && defined(__AVX512VL__)");
        rest_and_else(p, s, dot_groups(p, s, 512, 0));
        return;
    }
    line(p, "#if defined(__AVX512VNNI__) && defined(__AVX512VL__)");
    rest_loop(p, s, dot_groups(p, s, 512, 1));
    line(p, "#elif defined(__AVXVNNI__)");
    rest_and_else(p, s, dot_groups(p, s, 256, 2));
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
    rest_and_else(p, s, lo + n8);
}

/* A vector loop (constant bounds, 8 lanes or more) whose one statement widens int8 or bfloat16 loads at
 * the lane to float32, times a scale at the lane or the same for every lane: dst[base + l] =
 * (float)q[base' + l] * s[base'' + l] (or * s[i], or no scale; --precision int8's and bf16's weights,
 * converted once per tile row, int8 with its output channels' scales): with AVX2, 8 lanes per vpmovsxbd
 * and vcvtdq2ps (int8) or vpmovzxwd and vpslld (bf16), and a vmulps. gcc vectorises the portable loop
 * 128 bits at a time and stores quarters or halves that the kernel's 256-bit loads of the row cannot
 * forward from: the BraTS-like UNETR's 16->16 convolution at 64^3 took 288 ms in int8 instead of 52, its
 * 256->128 one at 8^3 54.5 ms in bf16 instead of 13.8 (one thread, AVX2 EPYC). Returns the load (the
 * cast's operand) and the scale (or NULL) through q, sc. */
static bool widen_vector_loop(const urc_kernel *k, const urc_ls *s, const urc_lx **q, const urc_lx **sc) {
    if (!(s->flags & URC_FOR_VECTOR) || (s->flags & (URC_FOR_UNROLL | URC_FOR_PARALLEL)) || s->step != 1 ||
        s->lo->kind != URC_LX_INT || s->hi->kind != URC_LX_INT || s->hi->i - s->lo->i < 8 || s->body->list.len != 1)
        return false;
    const urc_ls *st = s->body->list.items[0];
    if (st->kind != URC_LS_STORE || st->accum || k->bufs.items[st->buf].dt != URC_DT_F32 ||
        !urc_lx_unit_stride(st->idx, s->var))
        return false;
    const urc_lx *c = st->val;
    *sc = NULL;
    if (c->kind == URC_LX_BIN && c->op == URC_L_MUL && c->dt == URC_DT_F32) {
        const urc_lx *f = c->b;
        if (f->kind != URC_LX_LOAD || k->bufs.items[f->buf].dt != URC_DT_F32 ||
            (urc_lx_uses_var(f->a, s->var) && !urc_lx_unit_stride(f->a, s->var)))
            return false;
        *sc = f;
        c = c->a;
    }
    if (!urc_c_widens(c) || !urc_lx_unit_stride(c->a->a, s->var)) return false;
    *q = c->a;
    return true;
}

/* One step of widen_loop: `lanes` (8: AVX2, 16: AVX-512) floats from the loads at the loop variable. */
static void widen_step(printer *p, const urc_ls *s, const urc_lx *q, const urc_lx *sc, int lanes) {
    const urc_kernel *k = p->k;
    const urc_ls *st = s->body->list.items[0];
    const char *at = urc_fmt("(const void *)&%s[%s]", k->bufs.items[q->buf].name, strip_parens(expr_str(p, q->a)));
    const char *f;
    if (lanes == 16)
        f = q->dt == URC_DT_I8
                ? urc_fmt("_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(%s)))", at)
                : urc_fmt("_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(%s)), 16))",
                          at);
    else
        f = q->dt == URC_DT_I8
                ? urc_fmt("_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(%s)))", at)
                : urc_fmt("_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(%s)), 16))", at);
    const char *w = lanes == 16 ? "_mm512" : "_mm256";
    if (sc) {
        const char *s8 = urc_fmt("%s[%s]", k->bufs.items[sc->buf].name, strip_parens(expr_str(p, sc->a)));
        f = urc_fmt("%s_mul_ps(%s, %s)", w, f,
                    urc_lx_uses_var(sc->a, s->var) ? urc_fmt("%s_loadu_ps(&%s)", w, s8)
                                                   : urc_fmt("%s_set1_ps(%s)", w, s8));
    }
    line(p, "%s_storeu_ps(&%s[%s], %s);", w, k->bufs.items[st->buf].name, strip_parens(expr_str(p, st->idx)), f);
}

/* widen_loop's steps of `lanes` over [lo, lo + n) and the scalar rest. */
static void widen_steps(printer *p, const urc_ls *s, const urc_lx *q, const urc_lx *sc, int lanes) {
    const char *v = p->k->vars.items[s->var].name;
    int64_t lo = s->lo->i, n = (s->hi->i - lo) / lanes * lanes;
    line(p, "for (urc_idx %s = %lld; %s < %lld; %s += %d) {", v, (long long)lo, v, (long long)(lo + n), v, lanes);
    p->indent++;
    widen_step(p, s, q, sc, lanes);
    p->indent--;
    line(p, "}");
    rest_loop(p, s, lo + n);
}

/* With AVX-512, rows of 16 lanes or more in steps of 16 (the kernel loads such a row as one 512-bit
 * vector, which two 256-bit stores could not forward to either); else with AVX2 in steps of 8. */
static void widen_loop(printer *p, const urc_ls *s, const urc_lx *q, const urc_lx *sc) {
    if (s->hi->i - s->lo->i >= 16) {
        line(p, "#if defined(__AVX512F__)");
        widen_steps(p, s, q, sc, 16);
        line(p, "#elif defined(__AVX2__)");
    } else {
        line(p, "#if defined(__AVX2__)");
    }
    widen_steps(p, s, q, sc, 8);
    line(p, "#else");
}

/* An innermost loop (constant bounds, 16 lanes or more; declarations and stores only) whose stores narrow floats at
 * the lane, buf[base + v] = (T)(float expression), in chunks of 16 lanes whose values the portable body computes into a
 * local array, then stored by one instruction, the remainder portable:
 *   bf16: floats rounded to bfloat16 (the Casts before pair products, Winograd's transformed inputs), with
 *     AVX512-BF16's vcvtneps2bf16 (round to nearest even as urc_f32_to_bf16; NaN quieted alike; subnormal inputs
 *     flushed to zero). UNETR's Winograd 32->16 convolution at 96^3 91.7-92.2 against 103.9-106.8 ms (one thread;
 *     the portable rounding's compare and blend per lane).
 *   u8: int8 levels (urc_c_narrows_u8: the int8 tile kernels' grid fills), as int32 lanes narrowed by AVX-512's
 *     vpmovdb: gcc otherwise vectorises such a loop 4 floats at a time (its vector width set by the 16 bytes stored);
 *     a 32-channel fill at 96^3 85 -> 20 ms in a stand-alone loop (one thread). */
typedef enum { CHUNK_BF16, CHUNK_U8 } chunk_kind;

static bool chunk_store(const urc_kernel *k, const urc_ls *st, int v, chunk_kind ck) {
    if (st->kind != URC_LS_STORE || st->accum || !urc_lx_unit_stride(st->idx, v)) return false;
    urc_dtype dt = k->bufs.items[st->buf].dt;
    return ck == CHUNK_BF16 ? dt == URC_DT_BF16 && urc_c_rounds_bf16(st->val)
                            : dt == URC_DT_U8 && urc_c_narrows_u8(st->val);
}

static void mark_expr(const urc_lx *e, bool *used);

static bool chunk_vector_loop(const urc_kernel *k, const urc_ls *s, chunk_kind ck) {
    if ((s->flags & URC_FOR_UNROLL) || s->collapse > 1 || s->step != 1 || s->lo->kind != URC_LX_INT ||
        s->hi->kind != URC_LX_INT || s->hi->i - s->lo->i < 16)
        return false;
    bool *read = urc_alloc((size_t)k->bufs.len + 1); /* the buffers the body reads */
    for (int i = 0; i < s->body->list.len; i++) {
        const urc_ls *st = s->body->list.items[i];
        if (st->kind != URC_LS_STORE && st->kind != URC_LS_DECL && st->kind != URC_LS_COMMENT) return false;
        mark_expr(st->val, read);
        mark_expr(st->idx, read);
    }
    int stores = 0;
    for (int i = 0; i < s->body->list.len; i++) {
        const urc_ls *st = s->body->list.items[i];
        if (!chunk_store(k, st, s->var, ck)) continue;
        /* the chunk's stores land after its body: none read back, none indexed by the body's locals */
        if (read[st->buf]) return false;
        for (int j = 0; j < s->body->list.len; j++) {
            const urc_ls *o = s->body->list.items[j];
            if (o->kind == URC_LS_DECL && urc_lx_uses_var(st->idx, o->var)) return false;
        }
        stores++;
    }
    return stores > 0;
}

/* The OpenMP pragma of a parallel loop (nothing for another). Guided: a thread that was descheduled (a
 * shared machine, a VM's stolen time) leaves the rest of the iterations to the others instead of holding
 * a static half (one busy core of two: BraTS-like UNETR bf16 209 -> 137 ms; the same time on a quiet
 * machine; dynamic with chunks of 1 doubles it). */
static void parallel_pragma(printer *p, const urc_ls *s) {
    if (!(s->flags & URC_FOR_PARALLEL)) return;
    if (s->collapse > 1) line(p, "URC_OMP(parallel for collapse(%d) schedule(guided))", s->collapse);
    else line(p, "URC_OMP(parallel for schedule(guided))");
}

static void chunk_loop(printer *p, const urc_ls *s, chunk_kind ck) {
    const urc_kernel *k = p->k;
    const char *v = k->vars.items[s->var].name, *b = urc_fmt("urc_b_%s", v);
    int64_t lo = s->lo->i, hi = s->hi->i, n16 = (hi - lo) / 16 * 16;
    bool u8 = ck == CHUNK_U8;
    line(p, u8 ? "#if defined(__AVX512F__)" : "#if defined(__AVX512BF16__) && defined(__AVX512VL__)");
    parallel_pragma(p, s);
    line(p, "for (urc_idx %s = %lld; %s < %lld; %s += 16) {", b, (long long)lo, b, (long long)(lo + n16), b);
    p->indent++;
    int n = 0;
    for (int i = 0; i < s->body->list.len; i++)
        if (chunk_store(k, s->body->list.items[i], s->var, ck))
            line(p, "_Alignas(64) %s urc_cv%d[16];", u8 ? "int32_t" : "float", n++);
    line(p, "URC_OMP(simd)");
    line(p, "for (urc_idx %s = %s; %s < %s + 16; %s++) {", v, b, v, b, v);
    p->indent++;
    n = 0;
    for (int i = 0; i < s->body->list.len; i++) {
        const urc_ls *st = s->body->list.items[i];
        if (!chunk_store(k, st, s->var, ck)) stmt(p, st);
        else if (u8) line(p, "urc_cv%d[%s - %s] = (int32_t)(%s);", n++, v, b, strip_parens(expr_str(p, st->val->a)));
        else line(p, "urc_cv%d[%s - %s] = %s;", n++, v, b, strip_parens(expr_str(p, st->val->a)));
    }
    p->indent--;
    line(p, "}");
    line(p, "{");
    p->indent++;
    line(p, "const urc_idx %s = %s;", v, b);
    n = 0;
    for (int i = 0; i < s->body->list.len; i++) {
        const urc_ls *st = s->body->list.items[i];
        if (!chunk_store(k, st, s->var, ck)) continue;
        const char *buf = k->bufs.items[st->buf].name, *at = strip_parens(expr_str(p, st->idx));
        if (u8)
            line(p, "_mm_storeu_si128((__m128i *)&%s[%s], _mm512_cvtepi32_epi8(_mm512_load_si512(urc_cv%d)));", buf, at,
                 n++);
        else
            line(p, "_mm256_storeu_si256((__m256i *)&%s[%s], (__m256i)_mm512_cvtneps_pbh(_mm512_load_ps(urc_cv%d)));",
                 buf, at, n++);
    }
    p->indent--;
    line(p, "}");
    p->indent--;
    line(p, "}");
    rest_and_else(p, s, lo + n16);
}

/* An AMX tile statement as gcc's and clang's intrinsics (tile numbers are immediates). The configuration
 * is ldtilecfg's 64-byte block: palette 1, bytes per row of tiles 0-7 (16 bits each) at byte 16, rows at
 * byte 48. */
static void tile(printer *p, const urc_ls *s) {
    const urc_kernel *k = p->k;
    switch (s->tile_op) {
    case URC_TILE_CONFIG: {
        urc_strbuf b = {0};
        unsigned char cfg[64] = {1};
        for (int t = 0; t < 8; t++) {
            int64_t rows = s->args.items[2 * t]->i, colsb = s->args.items[2 * t + 1]->i;
            cfg[16 + 2 * t] = (unsigned char)colsb;
            cfg[48 + t] = (unsigned char)rows;
        }
        for (int i = 0; i < 64; i++) urc_sb_printf(&b, i ? ", %d" : "%d", cfg[i]);
        line(p, "_Alignas(64) static const unsigned char urc_tilecfg[64] = {%s};", b.data);
        line(p, "_tile_loadconfig(urc_tilecfg);");
        urc_sb_free(&b);
        return;
    }
    case URC_TILE_ZERO: line(p, "_tile_zero(%d);", s->tile[0]); return;
    case URC_TILE_LOAD:
    case URC_TILE_STORE: {
        const urc_kbuf *b = &k->bufs.items[s->buf];
        line(p, "%s(%d, &%s[%s], (long)%d * (%s));", s->tile_op == URC_TILE_LOAD ? "_tile_loadd" : "_tile_stored",
             s->tile[0], b->name, strip_parens(expr_str(p, s->idx)), urc_dtype_size(b->dt),
             strip_parens(expr_str(p, s->val)));
        return;
    }
    case URC_TILE_DPBF16: line(p, "_tile_dpbf16ps(%d, %d, %d);", s->tile[0], s->tile[1], s->tile[2]); return;
    case URC_TILE_DPBUSD: line(p, "_tile_dpbusd(%d, %d, %d);", s->tile[0], s->tile[1], s->tile[2]); return;
    case URC_TILE_RELEASE: line(p, "_tile_release();"); return;
    }
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
        const urc_lx *q = NULL, *sc = NULL;
        int dot = dot_vector_loop(k, s);
        bool f16 = !dot && p->f16 && f16_vector_loop(k, s),
             bf16 = !dot && !f16 && p->bf16 && chunk_vector_loop(k, s, CHUNK_BF16),
             u8 = !dot && !f16 && !bf16 && p->u8 && chunk_vector_loop(k, s, CHUNK_U8),
             wide = !dot && !f16 && !bf16 && !u8 && p->widen && widen_vector_loop(k, s, &q, &sc);
        if (dot) dot_loop(p, s, dot);
        if (f16) f16_loop(p, s);
        if (bf16) chunk_loop(p, s, CHUNK_BF16);
        if (u8) chunk_loop(p, s, CHUNK_U8);
        if (wide) widen_loop(p, s, q, sc);
        parallel_pragma(p, s);
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
        if (dot || f16 || bf16 || u8 || wide) line(p, "#endif");
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
    case URC_LS_TILE: tile(p, s); return;
    }
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
    if (s->kind == URC_LS_STORE ||
        (s->kind == URC_LS_TILE && s->buf >= 0 && (s->tile_op == URC_TILE_LOAD || s->tile_op == URC_TILE_STORE)))
        used[s->buf] = true;
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

void urc_c_kernel(urc_strbuf *out, const urc_kernel *k, const urc_c_needs *need) {
    printer pr = {.out = out,
                  .k = k,
                  .f16 = need->f16,
                  .bf16 = need->dot2 || need->bf16,
                  .widen = need->widen,
                  .u8 = need->u8},
            *p = &pr;
    declare_calls(k, k->body, out);
    /* A kernel that checks values read at run time returns 0, or 1 when one is out of range. */
    urc_sb_printf(out, "/* %s */\nstatic %s%s %s(", urc_c_comment(k->comment),
                  urc_ls_has_tiles(k->body) ? "URC_AMX_FN " : "", k->can_fail ? "int" : "void", k->name);
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
    urc_sb_puts(out, "}\n\n");
}
