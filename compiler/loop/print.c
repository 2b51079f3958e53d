/* print.c: the loop IR as text (--dump-loops), backend-neutral.
 *
 *   kernel k3_relu: Relu 'relu': [1,8] -> [1,8]
 *     param x: float32[8] in
 *     param y: float32[8] out
 *     for i0 in [0, 8) parallel simd
 *       y[i0] = max(x[i0], 0f32)
 *
 * Expressions are printed fully parenthesised; `i64:` marks a value's dtype
 * where it is not an index (int64) or the dtype of its operands. Kernels
 * that share one body print it once and name the first kernel thereafter.
 * The format is for reading and golden tests, not for parsing back. */
#include "loop.h"

#include <stdlib.h>
#include <string.h>

static const char *const lop_names[URC_L_COUNT] = {
    [URC_L_NEG] = "neg",     [URC_L_ABS] = "abs",     [URC_L_SQRT] = "sqrt",   [URC_L_EXP] = "exp",
    [URC_L_LOG] = "log",     [URC_L_ERF] = "erf",     [URC_L_TANH] = "tanh",   [URC_L_FLOOR] = "floor",
    [URC_L_CEIL] = "ceil",   [URC_L_RINT] = "rint",   [URC_L_SIN] = "sin",     [URC_L_COS] = "cos",
    [URC_L_TAN] = "tan",     [URC_L_ASIN] = "asin",   [URC_L_ACOS] = "acos",   [URC_L_ATAN] = "atan",
    [URC_L_SINH] = "sinh",   [URC_L_COSH] = "cosh",   [URC_L_ASINH] = "asinh", [URC_L_ACOSH] = "acosh",
    [URC_L_ATANH] = "atanh", [URC_L_LOG1P] = "log1p", [URC_L_EXPM1] = "expm1", [URC_L_BITS_F32] = "bits_f32",
    [URC_L_NOT] = "not",     [URC_L_ISNAN] = "isnan", [URC_L_ISINF] = "isinf", [URC_L_ADD] = "+",
    [URC_L_SUB] = "-",       [URC_L_MUL] = "*",       [URC_L_DIV] = "/",       [URC_L_MOD] = "mod",
    [URC_L_REM] = "rem",     [URC_L_POW] = "pow",     [URC_L_MIN] = "min",     [URC_L_MAX] = "max",
    [URC_L_SHL] = "<<",      [URC_L_SHR] = ">>",      [URC_L_LT] = "<",        [URC_L_LE] = "<=",
    [URC_L_GT] = ">",        [URC_L_GE] = ">=",       [URC_L_EQ] = "==",       [URC_L_NE] = "!=",
    [URC_L_AND] = "&&",      [URC_L_OR] = "||",       [URC_L_XOR] = "xor",
};

const char *urc_lop_name(urc_lop op) { return (unsigned)op < URC_L_COUNT && lop_names[op] ? lop_names[op] : "?"; }

static bool infix(urc_lop op) {
    return op == URC_L_ADD || op == URC_L_SUB || op == URC_L_MUL || op == URC_L_DIV || op == URC_L_SHL ||
           op == URC_L_SHR || urc_lop_is_compare(op) || op == URC_L_AND || op == URC_L_OR;
}

static void var_name(const urc_kernel *k, int v, urc_strbuf *sb) {
    if (v >= 0 && v < k->vars.len) urc_sb_puts(sb, k->vars.items[v].name);
    else urc_sb_printf(sb, "<var %d>", v);
}

static void buf_name(const urc_kernel *k, int b, urc_strbuf *sb) {
    if (b >= 0 && b < k->bufs.len) urc_sb_puts(sb, k->bufs.items[b].name);
    else urc_sb_printf(sb, "<buf %d>", b);
}

static void expr(const urc_kernel *k, const urc_lx *e, urc_strbuf *sb);

/* head a [s1 b [s2 c]] tail: an operator applied to its operands. */
static void form(const urc_kernel *k, urc_strbuf *sb, const char *head, const urc_lx *a, const char *s1,
                 const urc_lx *b, const char *s2, const urc_lx *c, const char *tail) {
    urc_sb_puts(sb, head);
    expr(k, a, sb);
    if (s1) {
        urc_sb_puts(sb, s1);
        expr(k, b, sb);
    }
    if (s2) {
        urc_sb_puts(sb, s2);
        expr(k, c, sb);
    }
    urc_sb_puts(sb, tail);
}

static void expr(const urc_kernel *k, const urc_lx *e, urc_strbuf *sb) {
    if (!e) {
        urc_sb_puts(sb, "<null>");
        return;
    }
    switch (e->kind) {
    case URC_LX_INT:
        urc_sb_put_i64(sb, e->i);
        if (e->dt != URC_DT_I64) urc_sb_printf(sb, "%s", urc_dtype_name(e->dt));
        return;
    case URC_LX_FLT:
        urc_sb_printf(sb, "%.9g%s", e->f, e->dt == URC_DT_F32 ? "f" : e->dt == URC_DT_F64 ? "" : urc_dtype_name(e->dt));
        return;
    case URC_LX_VAR: var_name(k, e->var, sb); return;
    case URC_LX_LOAD:
        buf_name(k, e->buf, sb);
        form(k, sb, "[", e->a, NULL, NULL, NULL, NULL, "]");
        return;
    case URC_LX_UN: form(k, sb, urc_fmt("%s(", urc_lop_name(e->op)), e->a, NULL, NULL, NULL, NULL, ")"); return;
    case URC_LX_BIN:
        if (infix(e->op)) form(k, sb, "(", e->a, urc_fmt(" %s ", urc_lop_name(e->op)), e->b, NULL, NULL, ")");
        else form(k, sb, urc_fmt("%s(", urc_lop_name(e->op)), e->a, ", ", e->b, NULL, NULL, ")");
        return;
    case URC_LX_SEL: form(k, sb, "(", e->a, " ? ", e->b, " : ", e->c, ")"); return;
    case URC_LX_CAST: form(k, sb, urc_fmt("%s(", urc_dtype_name(e->dt)), e->a, NULL, NULL, NULL, NULL, ")"); return;
    case URC_LX_FMA: form(k, sb, "fma(", e->a, ", ", e->b, ", ", e->c, ")"); return;
    case URC_LX_DOT2: form(k, sb, "dot2bf16(", e->a, ", ", e->b, ", ", e->c, ")"); return;
    case URC_LX_DOT4: form(k, sb, "dot4u8s8(", e->a, ", ", e->b, ", ", e->c, ")"); return;
    case URC_LX_PAIR:
        urc_sb_puts(sb, k->bufs.items[e->buf].dt == URC_DT_U8 ? "quad " : "pair ");
        buf_name(k, e->buf, sb);
        form(k, sb, "[", e->a, NULL, NULL, NULL, NULL, "]");
        return;
    case URC_LX_ADDR:
        urc_sb_putc(sb, '&');
        buf_name(k, e->buf, sb);
        form(k, sb, "[", e->a, NULL, NULL, NULL, NULL, "]");
        return;
    }
    urc_sb_printf(sb, "<kind %d>", (int)e->kind);
}

static void indent(int d, urc_strbuf *sb) {
    for (int i = 0; i < d; i++) urc_sb_puts(sb, "  ");
}

static void stmt(const urc_kernel *k, const urc_ls *s, int d, urc_strbuf *sb) {
    if (!s) return;
    switch (s->kind) {
    case URC_LS_BLOCK:
        for (int i = 0; i < s->list.len; i++) stmt(k, s->list.items[i], d, sb);
        return;
    case URC_LS_FOR:
        indent(d, sb);
        urc_sb_puts(sb, "for ");
        var_name(k, s->var, sb);
        urc_sb_puts(sb, " in [");
        expr(k, s->lo, sb);
        urc_sb_puts(sb, ", ");
        expr(k, s->hi, sb);
        urc_sb_putc(sb, ')');
        if (s->step != 1) urc_sb_printf(sb, " step %lld", (long long)s->step);
        if (s->flags & URC_FOR_PARALLEL) urc_sb_puts(sb, " parallel");
        if (s->collapse > 1) urc_sb_printf(sb, " collapse(%d)", s->collapse);
        if (s->flags & URC_FOR_SIMD) urc_sb_puts(sb, " simd");
        if (s->flags & URC_FOR_VECTOR) urc_sb_puts(sb, " vector");
        if (s->flags & URC_FOR_UNROLL) urc_sb_puts(sb, " unroll");
        urc_sb_putc(sb, '\n');
        stmt(k, s->body, d + 1, sb);
        return;
    case URC_LS_IF:
        indent(d, sb);
        urc_sb_puts(sb, "if ");
        expr(k, s->cond, sb);
        urc_sb_putc(sb, '\n');
        stmt(k, s->body, d + 1, sb);
        if (s->els && (s->els->kind != URC_LS_BLOCK || s->els->list.len)) {
            indent(d, sb);
            urc_sb_puts(sb, "else\n");
            stmt(k, s->els, d + 1, sb);
        }
        return;
    case URC_LS_STORE:
        indent(d, sb);
        buf_name(k, s->buf, sb);
        urc_sb_putc(sb, '[');
        expr(k, s->idx, sb);
        urc_sb_puts(sb, s->accum ? "] += " : "] = ");
        expr(k, s->val, sb);
        urc_sb_putc(sb, '\n');
        return;
    case URC_LS_DECL:
    case URC_LS_ASSIGN:
        indent(d, sb);
        if (s->kind == URC_LS_DECL)
            urc_sb_printf(sb, "let %s ",
                          s->var >= 0 && s->var < k->vars.len ? urc_dtype_name(k->vars.items[s->var].dt) : "?");
        var_name(k, s->var, sb);
        urc_sb_puts(sb, " = ");
        expr(k, s->val, sb);
        urc_sb_putc(sb, '\n');
        return;
    case URC_LS_COMMENT:
        indent(d, sb);
        urc_sb_printf(sb, "# %s\n", s->text ? s->text : "");
        return;
    case URC_LS_ARRAY:
        indent(d, sb);
        urc_sb_puts(sb, "array ");
        buf_name(k, s->buf, sb);
        if (s->buf >= 0 && s->buf < k->bufs.len)
            urc_sb_printf(sb, ": %s[%lld]", urc_dtype_name(k->bufs.items[s->buf].dt),
                          (long long)k->bufs.items[s->buf].count);
        urc_sb_putc(sb, '\n');
        return;
    case URC_LS_FAIL:
        indent(d, sb);
        urc_sb_puts(sb, "fail\n");
        return;
    case URC_LS_CALL:
        indent(d, sb);
        urc_sb_printf(sb, "call %s(", s->text ? s->text : "?");
        for (int i = 0; i < s->args.len; i++) {
            if (i) urc_sb_puts(sb, ", ");
            expr(k, s->args.items[i], sb);
        }
        urc_sb_puts(sb, ")\n");
        return;
    case URC_LS_TILE: {
        static const char *const names[] = {"config", "zero", "load", "store", "dpbf16", "dpbusd", "release"};
        indent(d, sb);
        urc_sb_printf(sb, "tile.%s", (unsigned)s->tile_op < URC_ARRAY_LEN(names) ? names[s->tile_op] : "?");
        for (int i = 0; i < 3 && s->tile[i] >= 0; i++) urc_sb_printf(sb, " t%d", s->tile[i]);
        if (s->tile_op == URC_TILE_LOAD || s->tile_op == URC_TILE_STORE) {
            urc_sb_puts(sb, " &");
            buf_name(k, s->buf, sb);
            urc_sb_putc(sb, '[');
            expr(k, s->idx, sb);
            urc_sb_puts(sb, "] stride ");
            expr(k, s->val, sb);
        }
        for (int i = 0; i + 1 < s->args.len; i += 2)
            if (s->args.items[i]->i)
                urc_sb_printf(sb, " t%d:%lldx%lldB", i / 2, (long long)s->args.items[i]->i,
                              (long long)s->args.items[i + 1]->i);
        urc_sb_putc(sb, '\n');
        return;
    }
    }
    indent(d, sb);
    urc_sb_printf(sb, "<statement kind %d>\n", (int)s->kind);
}

void urc_kernel_print(const urc_kernel *k, urc_strbuf *sb) {
    static const char *roles[] = {"in", "out"};
    urc_sb_printf(sb, "kernel %s%s: %s\n", k->name, k->can_fail ? " (can fail)" : "", k->comment ? k->comment : "");
    for (int i = 0; i < k->bufs.len; i++) {
        const urc_kbuf *b = &k->bufs.items[i];
        urc_sb_printf(sb, "  %s %s: %s[%lld]%s%s%s\n", b->role == URC_KB_LOCAL ? "local" : "param", b->name,
                      urc_dtype_name(b->dt), (long long)b->count, b->role == URC_KB_LOCAL ? "" : " ",
                      b->role == URC_KB_LOCAL ? "" : roles[b->role], b->may_alias ? " may_alias" : "");
    }
    stmt(k, k->body, 1, sb);
}

void urc_program_print(const urc_program *P, urc_strbuf *sb) {
    urc_sb_printf(sb, "program %s: %d kernels, %d calls, arena %lld bytes, weights %lld bytes\n",
                  P->name ? P->name : "", P->kernels.len, P->calls.len, (long long)P->arena_bytes,
                  (long long)P->weights_bytes);
    urc_hindex seen = {0};
    URC_VEC(const urc_kernel *) first = {0};
    for (int i = 0; i < P->kernels.len; i++) {
        const urc_kernel *k = P->kernels.items[i];
        uint64_t h = urc_mix64(URC_FNV_INIT, (uint64_t)(uintptr_t)k->body);
        const urc_kernel *same = NULL;
        for (int e = urc_hindex_first(&seen, h); e >= 0 && !same; e = urc_hindex_next(&seen, e))
            if (first.items[e]->body == k->body) same = first.items[e];
        if (same) {
            urc_sb_printf(sb, "kernel %s: %s\n  (the body of %s)\n", k->name, k->comment ? k->comment : "", same->name);
            continue;
        }
        urc_hindex_add(&seen, h);
        URC_VEC_PUSH(first, k);
        urc_kernel_print(k, sb);
    }
    urc_hindex_free(&seen);
    free(first.items);
    static const char *spaces[] = {"arena", "weights", "input", "output", "params", "state"};
    for (int i = 0; i < P->calls.len; i++) {
        const urc_call *c = &P->calls.items[i];
        urc_sb_printf(sb, "call %s(", c->k->name);
        int na = 0;
        for (int j = 0; j < c->k->bufs.len; j++) {
            if (c->k->bufs.items[j].role == URC_KB_LOCAL) continue;
            const urc_mref *m = &c->args[na];
            urc_sb_printf(sb, "%s%s", na++ ? ", " : "", spaces[m->space]);
            if (m->space == URC_MEM_INPUT || m->space == URC_MEM_OUTPUT) urc_sb_printf(sb, " %d", m->index);
            else urc_sb_printf(sb, "+%lld", (long long)m->offset);
        }
        urc_sb_puts(sb, ")\n");
    }
}
