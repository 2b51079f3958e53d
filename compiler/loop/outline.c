/* outline.c: the captures of a parallel loop's outlined body (outline.h). */
#include "outline.h"

#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"

typedef struct walker {
    const urc_kernel *k;
    int *bound;    /* per variable: how many enclosing scopes of the body declare it */
    bool *read;    /* per variable: read while not bound */
    bool *written; /* per variable: assigned while not bound */
    bool *buf;     /* per buffer: used */
    bool *placed;  /* per buffer: a local array declared inside the body */
} walker;

static void expr(walker *w, const urc_lx *e) {
    if (!e) return;
    if (e->kind == URC_LX_VAR && !w->bound[e->var]) w->read[e->var] = true;
    if (e->kind == URC_LX_LOAD || e->kind == URC_LX_ADDR || e->kind == URC_LX_PAIR) w->buf[e->buf] = true;
    expr(w, e->a);
    expr(w, e->b);
    expr(w, e->c);
}

static void stmt(walker *w, const urc_ls *s);

static void block(walker *w, const urc_ls *b) {
    if (b->kind != URC_LS_BLOCK) {
        stmt(w, b);
        return;
    }
    URC_VEC(int) decls = {0};
    for (int i = 0; i < b->list.len; i++) {
        const urc_ls *s = b->list.items[i];
        stmt(w, s);
        if (s->kind == URC_LS_DECL) {
            w->bound[s->var]++;
            URC_VEC_PUSH(decls, s->var);
        }
    }
    for (int i = 0; i < decls.len; i++) w->bound[decls.items[i]]--;
    free(decls.items);
}

static void stmt(walker *w, const urc_ls *s) {
    switch (s->kind) {
    case URC_LS_BLOCK: block(w, s); return;
    case URC_LS_FOR:
        expr(w, s->lo);
        expr(w, s->hi);
        w->bound[s->var]++;
        block(w, s->body);
        w->bound[s->var]--;
        return;
    case URC_LS_IF:
        expr(w, s->cond);
        block(w, s->body);
        if (s->els) block(w, s->els);
        return;
    case URC_LS_STORE:
        w->buf[s->buf] = true;
        expr(w, s->idx);
        expr(w, s->val);
        return;
    case URC_LS_DECL: expr(w, s->val); return; /* bound after it, by block() */
    case URC_LS_ASSIGN:
        if (!w->bound[s->var]) w->written[s->var] = true;
        expr(w, s->val);
        return;
    case URC_LS_ARRAY: w->placed[s->buf] = true; return;
    case URC_LS_CALL:
        for (int i = 0; i < s->args.len; i++) expr(w, s->args.items[i]);
        return;
    case URC_LS_TILE:
        if (s->tile_op == URC_TILE_LOAD || s->tile_op == URC_TILE_STORE) w->buf[s->buf] = true;
        expr(w, s->idx);
        expr(w, s->val);
        return;
    case URC_LS_COMMENT:
    case URC_LS_FAIL: return;
    }
}

static bool reads_var(const urc_lx *e, const bool *vars) {
    if (!e) return false;
    if (e->kind == URC_LX_VAR && vars[e->var]) return true;
    return reads_var(e->a, vars) || reads_var(e->b, vars) || reads_var(e->c, vars);
}

bool urc_outline_loop(const urc_kernel *k, const urc_ls *loop, urc_outline *o) {
    URC_ASSERT(loop->kind == URC_LS_FOR, "outlining a statement that is not a loop");
    *o = (urc_outline){.loop = loop, .collapse = loop->collapse > 1 ? loop->collapse : 1};
    if (o->collapse > (int)URC_ARRAY_LEN(o->nest)) o->collapse = (int)URC_ARRAY_LEN(o->nest);
    int nv = k->vars.len + 1, nb = k->bufs.len + 1;
    walker w = {.k = k,
                .bound = urc_xcalloc((size_t)nv, sizeof(int)),
                .read = urc_xcalloc((size_t)nv, sizeof(bool)),
                .written = urc_xcalloc((size_t)nv, sizeof(bool)),
                .buf = urc_xcalloc((size_t)nb, sizeof(bool)),
                .placed = urc_xcalloc((size_t)nb, sizeof(bool))};
    bool *nestvar = urc_xcalloc((size_t)nv, sizeof(bool));
    bool ok = true;
    const urc_ls *s = loop;
    for (int i = 0; i < o->collapse; i++) {
        if (i) {
            const urc_ls *b = o->nest[i - 1]->body;
            URC_ASSERT(b->kind == URC_LS_BLOCK && b->list.len == 1 && b->list.items[0]->kind == URC_LS_FOR,
                       "collapse deeper than the perfect nest");
            s = b->list.items[0];
            if (reads_var(s->lo, nestvar) || reads_var(s->hi, nestvar)) {
                urc_error(NULL,
                          "internal error: kernel '%s': a bound of collapsed loop '%s' reads a variable of its nest",
                          k->name, k->vars.items[s->var].name);
                ok = false;
            }
        }
        o->nest[i] = s;
        nestvar[s->var] = true;
        w.bound[s->var]++;
    }
    o->body = o->nest[o->collapse - 1]->body;
    block(&w, o->body);
    for (int v = 0; v < k->vars.len; v++) {
        if (w.written[v]) {
            urc_error(NULL, "internal error: kernel '%s': parallel loop assigns '%s', declared outside it", k->name,
                      k->vars.items[v].name);
            ok = false;
        }
        if (w.read[v]) URC_VEC_PUSH(o->vars, v);
    }
    for (int b = 0; b < k->bufs.len; b++)
        if (w.buf[b] && !w.placed[b]) URC_VEC_PUSH(o->bufs, b);
    free(w.bound);
    free(w.read);
    free(w.written);
    free(w.buf);
    free(w.placed);
    free(nestvar);
    if (!ok) urc_outline_free(o);
    return ok;
}

void urc_outline_free(urc_outline *o) {
    free(o->vars.items);
    free(o->bufs.items);
    memset(&o->vars, 0, sizeof o->vars);
    memset(&o->bufs, 0, sizeof o->bufs);
}
