/* verify.c: structural checks of the loop IR, run on every distinct kernel
 * body after lowering (as ir/verify.c runs on the graph after every pass).
 * A failure is a compiler bug, reported as an internal error naming the
 * kernel and what is wrong:
 *   - variables: every use in scope (a for's variable inside its body, a
 *     let to the end of its block), never declared twice while in scope,
 *     assigned only while in scope, used with its declared dtype;
 *   - buffers: indices in range, no store to an input, local arrays placed
 *     by an `array` statement used only after it, integer index dtypes;
 *   - statements: loops with bounds and a positive step, `collapse` no
 *     deeper than the perfect nest below it, `if` with a condition, `fail`
 *     only in a kernel marked can_fail and never inside a parallel loop;
 *   - expressions: each kind with its operands, unary ops only in UN nodes
 *     and binary ops only in BIN nodes. */
#include "loop.h"

#include <stdlib.h>

#include "../base/diag.h"

typedef struct checker {
    const urc_kernel *k;
    char *live;         /* per variable: in scope */
    char *arrays;       /* per buffer: a placed local array in scope */
    int parallel;       /* enclosing parallel loops */
    const char *err;    /* the first problem */
    const urc_ls *tcfg; /* the tile CONFIG in force (this thread's), or NULL */
} checker;

static bool fail(checker *c, const char *msg) {
    if (!c->err) c->err = msg;
    return false;
}

static bool is_int(urc_dtype dt) { return !urc_dtype_is_float(dt) && dt != URC_DT_BOOL; }

static bool expr_ok(checker *c, const urc_lx *e) {
    if (!e) return fail(c, "an expression is missing");
    const urc_kernel *k = c->k;
    switch (e->kind) {
    case URC_LX_INT:
    case URC_LX_FLT: return true;
    case URC_LX_VAR:
        if (e->var < 0 || e->var >= k->vars.len) return fail(c, urc_fmt("variable %d does not exist", e->var));
        if (!c->live[e->var]) return fail(c, urc_fmt("variable '%s' is used out of scope", k->vars.items[e->var].name));
        if (e->dt != k->vars.items[e->var].dt)
            return fail(c, urc_fmt("variable '%s' is read as %s, declared %s", k->vars.items[e->var].name,
                                   urc_dtype_name(e->dt), urc_dtype_name(k->vars.items[e->var].dt)));
        return true;
    case URC_LX_PAIR:
    case URC_LX_LOAD:
        if (e->buf < 0 || e->buf >= k->bufs.len) return fail(c, urc_fmt("buffer %d does not exist", e->buf));
        if (k->bufs.items[e->buf].placed && !c->arrays[e->buf])
            return fail(c, urc_fmt("local array '%s' is read outside its scope", k->bufs.items[e->buf].name));
        if (!expr_ok(c, e->a)) return false;
        if (!is_int(e->a->dt))
            return fail(
                c, urc_fmt("buffer '%s' is indexed by a %s", k->bufs.items[e->buf].name, urc_dtype_name(e->a->dt)));
        if (e->kind == URC_LX_PAIR && k->bufs.items[e->buf].dt != URC_DT_BF16 && k->bufs.items[e->buf].dt != URC_DT_U8)
            return fail(c, urc_fmt("a pair of '%s', which is not bfloat16 or uint8", k->bufs.items[e->buf].name));
        return true;
    case URC_LX_UN:
        if (!urc_lop_is_unary(e->op)) return fail(c, urc_fmt("'%s' is not a unary op", urc_lop_name(e->op)));
        return expr_ok(c, e->a);
    case URC_LX_BIN:
        if ((unsigned)e->op >= URC_L_COUNT || urc_lop_is_unary(e->op))
            return fail(c, urc_fmt("'%s' is not a binary op", urc_lop_name(e->op)));
        return expr_ok(c, e->a) && expr_ok(c, e->b);
    case URC_LX_SEL:
    case URC_LX_FMA: return expr_ok(c, e->a) && expr_ok(c, e->b) && expr_ok(c, e->c);
    case URC_LX_CAST: return expr_ok(c, e->a);
    case URC_LX_DOT2:
        if (e->a->dt != URC_DT_U32 || e->b->dt != URC_DT_U32 || e->c->dt != URC_DT_F32)
            return fail(c, "dot2 of operands that are not uint32 pairs and a float32");
        return expr_ok(c, e->a) && expr_ok(c, e->b) && expr_ok(c, e->c);
    case URC_LX_DOT4:
        if (e->a->dt != URC_DT_U32 || e->b->dt != URC_DT_U32 || e->c->dt != URC_DT_I32)
            return fail(c, "dot4 of operands that are not uint32 quads and an int32");
        return expr_ok(c, e->a) && expr_ok(c, e->b) && expr_ok(c, e->c);
    case URC_LX_ADDR: return fail(c, "an element address outside a call's arguments");
    }
    return fail(c, urc_fmt("expression kind %d does not exist", (int)e->kind));
}

/* A call: the callee a C identifier; arguments scalars or addresses of
 * elements (the address's index checked as a load's). */
static bool call_ok(checker *c, const urc_ls *s) {
    const char *f = s->text;
    bool ident = f && ((*f >= 'a' && *f <= 'z') || (*f >= 'A' && *f <= 'Z') || *f == '_');
    for (const char *p = f; ident && *p; p++)
        ident = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
    if (!ident) return fail(c, urc_fmt("call of '%s', not a C identifier", f ? f : "(null)"));
    for (int i = 0; i < s->args.len; i++) {
        const urc_lx *a = s->args.items[i];
        if (a && a->kind == URC_LX_ADDR) {
            urc_lx load = *a;
            load.kind = URC_LX_LOAD;
            if (!expr_ok(c, &load)) return false;
        } else if (!expr_ok(c, a)) {
            return false;
        }
    }
    return true;
}

/* A tile statement (loop.h urc_tile_op): under a CONFIG of the same thread, its tiles configured and their
 * shapes those of the operation (tdpbf16ps: C m x n floats, A m x 2k bf16, B k x n pairs; tdpbusd: C m x n
 * int32, A m x 4k uint8, B k x n quads of int8). */
static int64_t tcfg_at(const urc_ls *cfg, int t, int i) { return cfg->args.items[2 * t + i]->i; }
static bool tile_ok(checker *c, const urc_ls *s) {
    const urc_kernel *k = c->k;
    if (s->tile_op == URC_TILE_CONFIG) {
        if (s->args.len != 16) return fail(c, "a tile configuration without 8 shapes");
        for (int t = 0; t < 8; t++) {
            const urc_lx *r = s->args.items[2 * t], *b = s->args.items[2 * t + 1];
            if (r->kind != URC_LX_INT || b->kind != URC_LX_INT || r->i < 0 || r->i > 16 || b->i < 0 || b->i > 64 ||
                b->i % 4 || (r->i > 0) != (b->i > 0))
                return fail(c, urc_fmt("tile %d's shape is not 1-16 rows of 4-64 bytes, or unused", t));
        }
        c->tcfg = s;
        return true;
    }
    if (s->tile_op == URC_TILE_RELEASE) return true;
    if (!c->tcfg) return fail(c, "a tile operation without a tile configuration of its thread");
    bool dp = s->tile_op == URC_TILE_DPBF16 || s->tile_op == URC_TILE_DPBUSD;
    int nt = dp ? 3 : 1;
    for (int i = 0; i < nt; i++)
        if (s->tile[i] < 0 || s->tile[i] > 7 || !tcfg_at(c->tcfg, s->tile[i], 0))
            return fail(c, urc_fmt("tile operation on tile %d, not configured", s->tile[i]));
    if (dp) { /* (both: 4-byte groups of A's rows against B's rows of 4-byte elements) */
        int64_t cr = tcfg_at(c->tcfg, s->tile[0], 0), cb = tcfg_at(c->tcfg, s->tile[0], 1);
        int64_t ar = tcfg_at(c->tcfg, s->tile[1], 0), ab = tcfg_at(c->tcfg, s->tile[1], 1);
        int64_t br = tcfg_at(c->tcfg, s->tile[2], 0), bb = tcfg_at(c->tcfg, s->tile[2], 1);
        if (cr != ar || ab != 4 * br || bb != cb)
            return fail(c, urc_fmt("%s of tiles %dx%dB += %dx%dB . %dx%dB",
                                   s->tile_op == URC_TILE_DPBF16 ? "tdpbf16ps" : "tdpbusd", (int)cr, (int)cb, (int)ar,
                                   (int)ab, (int)br, (int)bb));
        return true;
    }
    if (s->tile_op == URC_TILE_LOAD || s->tile_op == URC_TILE_STORE) {
        if (s->buf < 0 || s->buf >= k->bufs.len) return fail(c, urc_fmt("buffer %d does not exist", s->buf));
        if (s->tile_op == URC_TILE_STORE && k->bufs.items[s->buf].role == URC_KB_IN)
            return fail(c, urc_fmt("input '%s' is written", k->bufs.items[s->buf].name));
        if (tcfg_at(c->tcfg, s->tile[0], 1) % urc_dtype_size(k->bufs.items[s->buf].dt))
            return fail(c, urc_fmt("tile rows of %d bytes are no whole elements of '%s'",
                                   (int)tcfg_at(c->tcfg, s->tile[0], 1), k->bufs.items[s->buf].name));
        urc_lx load = {.kind = URC_LX_LOAD, .dt = k->bufs.items[s->buf].dt, .buf = s->buf, .a = s->idx};
        return expr_ok(c, &load) && expr_ok(c, s->val) && is_int(s->val->dt);
    }
    return s->tile_op == URC_TILE_ZERO ? true : fail(c, urc_fmt("tile operation %d does not exist", (int)s->tile_op));
}

/* Perfectly nested for-loops starting at s (s included). */
static int nest_depth(const urc_ls *s) {
    int d = 0;
    while (s && s->kind == URC_LS_FOR) {
        d++;
        const urc_ls *b = s->body;
        s = b && b->kind == URC_LS_BLOCK && b->list.len == 1 ? b->list.items[0] : NULL;
    }
    return d;
}

static bool var_ok(checker *c, int v) {
    if (v < 0 || v >= c->k->vars.len) return fail(c, urc_fmt("variable %d does not exist", v));
    return true;
}

static bool stmt_ok(checker *c, const urc_ls *s);

static bool block_ok(checker *c, const urc_ls *b) {
    if (!b) return fail(c, "a block is missing");
    if (b->kind != URC_LS_BLOCK) return stmt_ok(c, b);
    /* lets and arrays of this block go out of scope at its end */
    URC_VEC(int) lets = {0}, arrays = {0};
    const urc_ls *tcfg = c->tcfg; /* a configuration holds to the end of its block */
    bool ok = true;
    for (int i = 0; i < b->list.len && ok; i++) {
        const urc_ls *s = b->list.items[i];
        ok = stmt_ok(c, s);
        if (ok && s->kind == URC_LS_DECL) URC_VEC_PUSH(lets, s->var);
        if (ok && s->kind == URC_LS_ARRAY) URC_VEC_PUSH(arrays, s->buf);
    }
    for (int i = 0; i < lets.len; i++) c->live[lets.items[i]] = 0;
    for (int i = 0; i < arrays.len; i++) c->arrays[arrays.items[i]] = 0;
    c->tcfg = tcfg;
    free(lets.items);
    free(arrays.items);
    return ok;
}

static bool stmt_ok(checker *c, const urc_ls *s) {
    const urc_kernel *k = c->k;
    if (!s) return fail(c, "a statement is missing");
    switch (s->kind) {
    case URC_LS_BLOCK: return block_ok(c, s);
    case URC_LS_FOR: {
        if (!var_ok(c, s->var)) return false;
        if (c->live[s->var])
            return fail(c, urc_fmt("loop variable '%s' is already in scope", k->vars.items[s->var].name));
        if (!expr_ok(c, s->lo) || !expr_ok(c, s->hi)) return false;
        if (s->step <= 0)
            return fail(c, urc_fmt("loop over '%s' has step %lld", k->vars.items[s->var].name, (long long)s->step));
        if (s->collapse > 1 && s->collapse > nest_depth(s))
            return fail(c, urc_fmt("loop over '%s' collapses %d loops of a nest of %d", k->vars.items[s->var].name,
                                   s->collapse, nest_depth(s)));
        bool par = s->flags & URC_FOR_PARALLEL;
        c->live[s->var] = 1;
        c->parallel += par;
        const urc_ls *tcfg = c->tcfg;
        if (par) c->tcfg = NULL; /* tile state is per thread */
        bool ok = block_ok(c, s->body);
        c->tcfg = tcfg;
        c->parallel -= par;
        c->live[s->var] = 0;
        return ok;
    }
    case URC_LS_IF: return expr_ok(c, s->cond) && block_ok(c, s->body) && (!s->els || block_ok(c, s->els));
    case URC_LS_STORE:
        if (s->buf < 0 || s->buf >= k->bufs.len) return fail(c, urc_fmt("buffer %d does not exist", s->buf));
        if (k->bufs.items[s->buf].role == URC_KB_IN)
            return fail(c, urc_fmt("input '%s' is written", k->bufs.items[s->buf].name));
        if (k->bufs.items[s->buf].placed && !c->arrays[s->buf])
            return fail(c, urc_fmt("local array '%s' is written outside its scope", k->bufs.items[s->buf].name));
        if (!expr_ok(c, s->idx) || !expr_ok(c, s->val)) return false;
        if (!is_int(s->idx->dt))
            return fail(
                c, urc_fmt("buffer '%s' is indexed by a %s", k->bufs.items[s->buf].name, urc_dtype_name(s->idx->dt)));
        return true;
    case URC_LS_DECL:
        if (!var_ok(c, s->var)) return false;
        if (c->live[s->var]) return fail(c, urc_fmt("variable '%s' is declared twice", k->vars.items[s->var].name));
        if (!expr_ok(c, s->val)) return false;
        c->live[s->var] = 1; /* after its initialiser */
        return true;
    case URC_LS_ASSIGN:
        if (!var_ok(c, s->var)) return false;
        if (!c->live[s->var])
            return fail(c, urc_fmt("variable '%s' is assigned out of scope", k->vars.items[s->var].name));
        return expr_ok(c, s->val);
    case URC_LS_COMMENT: return true;
    case URC_LS_ARRAY:
        if (s->buf < 0 || s->buf >= k->bufs.len || k->bufs.items[s->buf].role != URC_KB_LOCAL ||
            !k->bufs.items[s->buf].placed)
            return fail(c, urc_fmt("array statement for buffer %d, which is not a placed local array", s->buf));
        if (c->arrays[s->buf])
            return fail(c, urc_fmt("local array '%s' is declared twice", k->bufs.items[s->buf].name));
        c->arrays[s->buf] = 1;
        return true;
    case URC_LS_FAIL:
        if (!k->can_fail) return fail(c, "fail statement in a kernel not marked can_fail");
        if (c->parallel) return fail(c, "fail statement inside a parallel loop");
        return true;
    case URC_LS_CALL: return call_ok(c, s);
    case URC_LS_TILE: return tile_ok(c, s);
    }
    return fail(c, urc_fmt("statement kind %d does not exist", (int)s->kind));
}

bool urc_kernel_verify(const urc_kernel *k) {
    checker c = {k, urc_xcalloc((size_t)k->vars.len + 1, 1), urc_xcalloc((size_t)k->bufs.len + 1, 1), 0, NULL, NULL};
    bool ok = k->body && k->body->kind == URC_LS_BLOCK ? block_ok(&c, k->body) : fail(&c, "the body is not a block");
    free(c.live);
    free(c.arrays);
    if (!ok) urc_error("loop verifier", "internal: kernel %s (%s): %s", k->name, k->comment ? k->comment : "", c.err);
    return ok;
}

bool urc_program_verify(const urc_program *P) {
    urc_hindex seen = {0};
    URC_VEC(const urc_ls *) bodies = {0};
    bool ok = true;
    for (int i = 0; i < P->kernels.len && ok; i++) {
        const urc_kernel *k = P->kernels.items[i];
        uint64_t h = urc_mix64(URC_FNV_INIT, (uint64_t)(uintptr_t)k->body);
        bool again = false;
        for (int e = urc_hindex_first(&seen, h); e >= 0 && !again; e = urc_hindex_next(&seen, e))
            again = bodies.items[e] == k->body;
        if (again) continue; /* a shared body: its kernels have equal buffers (passes/lower.c) */
        urc_hindex_add(&seen, h);
        URC_VEC_PUSH(bodies, k->body);
        ok = urc_kernel_verify(k);
    }
    for (int i = 0; i < P->calls.len && ok; i++) {
        const urc_call *c = &P->calls.items[i];
        for (int j = 0, na = 0; j < c->k->bufs.len && ok; j++) {
            if (c->k->bufs.items[j].role == URC_KB_LOCAL) continue;
            const urc_mref *m = &c->args[na++];
            const urc_kbuf *b = &c->k->bufs.items[j];
            int64_t bytes = b->count * urc_dtype_size(b->dt);
            if (m->space == URC_MEM_ARENA && (m->offset < 0 || m->offset + bytes > P->arena_bytes)) ok = false;
            if (m->space == URC_MEM_WEIGHTS && (m->offset < 0 || m->offset + bytes > P->weights_bytes)) ok = false;
            if (!ok)
                urc_error("loop verifier", "internal: call %d of %s: buffer '%s' (%lld bytes at %lld) outside the %s",
                          i, c->k->name, b->name, (long long)bytes, (long long)m->offset,
                          m->space == URC_MEM_ARENA ? "arena" : "weights");
        }
    }
    urc_hindex_free(&seen);
    free(bodies.items);
    return ok;
}
