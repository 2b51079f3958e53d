/* layout.c: chooses tensor layouts (see passes.h).
 *
 * Convolution-family ops run fastest channels-last (NDHWC: the channel
 * dimension is contiguous, so one vector holds one voxel's channels). ONNX
 * tensors are channels-first (NCDHW). The pass works in three steps:
 *
 * 1. wrap: every op that has a channels-last form (Conv, ConvTranspose,
 *    pools, Instance/Batch/GroupNormalization) gets the flag `channels_last`
 *    and a Transpose to channels-last before input 0 and one back after
 *    output 0. The graph means the same; nothing is faster yet.
 * 2. sink: a Transpose feeding a layout-agnostic op (elementwise, Concat,
 *    Pad) moves below it, the op's attributes and constant operands being
 *    permuted to match: T(x) + c  ->  T(x + c'),  Concat(T(a), T(b), axis)
 *    -> T(Concat(a, b, perm[axis])).
 * 3. cancel: Transpose(Transpose(x)) becomes one Transpose, or x itself
 *    when the permutations compose to the identity; a Transpose that only
 *    moves size-1 dims becomes a Reshape (a view).
 * Steps 2 and 3 repeat until nothing changes. What remains are the
 * conversions at the borders of channels-last regions (model input and
 * output, the ViT's token tensors).
 *
 * An op has a channels-last form when its family's urc_op_impl has
 * `channels_last` (ir.h) and that says so for the node; the sink step
 * passes elementwise ops by their ops.def trait ELEM. */
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "passes.h"

/* A reader list entry: pool index links, -1 ends a list. */
typedef struct reader {
    urc_node *n;
    int next;
} reader;

typedef struct rewriter {
    urc_graph *g;
    bool ok;
    /* Readers of each value (lists by value id, in the order noted; a node
     * may be listed after it stopped reading the value: users check), so
     * that replacing a value's uses and finding a value's readers cost its
     * readers, not a scan of the graph. Built by index_readers, kept by
     * set_in. */
    URC_VEC(reader) pool;
    int *head, *tail; /* by value id */
    int nheads;       /* 0: no index (yet) */
    bool want_index;  /* build it when first needed (most sweeps replace nothing) */
    /* During the sink/cancel sweep, set_in also keeps every value's nuses
     * equal to what urc_graph_count_uses would give (instead of a recount
     * of the whole graph after each rewrite). */
    bool track_uses;
} rewriter;

static void free_readers(rewriter *w) {
    free(w->pool.items);
    free(w->head);
    free(w->tail);
    w->pool.items = NULL;
    w->pool.len = w->pool.cap = 0;
    w->head = w->tail = NULL;
    w->nheads = 0;
    w->want_index = false;
}

static void note_reader(rewriter *w, const urc_value *v, urc_node *n) {
    if (!v || !w->nheads) return;
    if (v->id >= w->nheads) {
        int cap = w->nheads;
        while (cap <= v->id) cap *= 2;
        w->head = urc_xrealloc(w->head, sizeof(int) * (size_t)cap);
        w->tail = urc_xrealloc(w->tail, sizeof(int) * (size_t)cap);
        for (int i = w->nheads; i < cap; i++) w->head[i] = w->tail[i] = -1;
        w->nheads = cap;
    }
    int t = w->tail[v->id];
    if (t >= 0 && w->pool.items[t].n == n) return; /* the same node reading it twice */
    reader r = {n, -1};
    URC_VEC_PUSH(w->pool, r);
    if (t >= 0) w->pool.items[t].next = w->pool.len - 1;
    else w->head[v->id] = w->pool.len - 1;
    w->tail[v->id] = w->pool.len - 1;
}

/* Readers of every value, in node order (the graph is topologically sorted
 * when the lists are wanted, so the first listed reader comes first). */
static void index_readers(rewriter *w) {
    free_readers(w);
    w->nheads = w->g->values.len + 1;
    w->head = urc_xmalloc(sizeof(int) * (size_t)w->nheads);
    w->tail = urc_xmalloc(sizeof(int) * (size_t)w->nheads);
    for (int i = 0; i < w->nheads; i++) w->head[i] = w->tail[i] = -1;
    for (int i = 0; i < w->g->nodes.len; i++) {
        urc_node *n = w->g->nodes.items[i];
        for (int j = 0; j < n->nin; j++) note_reader(w, n->in[j], n);
    }
}

/* The lists are wanted from now on (built at the first use: the graph as it
 * is then is what they must show). */
static void want_readers(rewriter *w) {
    free_readers(w);
    w->want_index = true;
}

static void need_readers(rewriter *w) {
    if (w->want_index) index_readers(w);
}

/* n->in[j] = v, keeping the reader lists (and use counts while tracked). */
static void set_in(rewriter *w, urc_node *n, int j, urc_value *v) {
    urc_value *old = n->in[j];
    n->in[j] = v;
    if (w->track_uses) {
        if (old) old->nuses--;
        if (v) v->nuses++;
    }
    note_reader(w, v, n);
}

/* Every input slot reading `from` reads `to` instead (urc_replace_uses
 * through the reader lists). Graph outputs carry URC_VAL_OUTPUT. */
static void replace_uses(rewriter *w, urc_value *from, urc_value *to) {
    need_readers(w);
    if (from->id < w->nheads) {
        int e = w->head[from->id];
        w->head[from->id] = w->tail[from->id] = -1;
        for (; e >= 0; e = w->pool.items[e].next) { /* set_in may move the pool: index it afresh */
            urc_node *r = w->pool.items[e].n;
            for (int j = 0; j < r->nin; j++)
                if (r->in[j] == from) set_in(w, r, j, to);
        }
    }
    if (from->flags & URC_VAL_OUTPUT)
        for (int i = 0; i < w->g->outputs.len; i++)
            if (w->g->outputs.items[i] == from) w->g->outputs.items[i] = to;
}

/* ---- permutations --------------------------------------------------------- */

static void perm_to_last(int r, int64_t *p) { /* [0, 2, ..., r-1, 1] */
    p[0] = 0;
    for (int i = 1; i < r - 1; i++) p[i] = i + 1;
    p[r - 1] = 1;
}

static void perm_to_first(int r, int64_t *p) { /* [0, r-1, 1, ..., r-2] */
    p[0] = 0;
    p[1] = r - 1;
    for (int i = 2; i < r; i++) p[i] = i - 1;
}

static bool perm_is_identity(const int64_t *p, int r) {
    for (int i = 0; i < r; i++)
        if (p[i] != i) return false;
    return true;
}

/* Transpose(perm) output dim i is input dim perm[i]. */
static urc_shape permute_shape(const urc_shape *s, const int64_t *p) {
    urc_shape o = {s->rank, {0}};
    for (int i = 0; i < s->rank; i++) o.dims[i] = s->dims[p[i]];
    return o;
}

static bool is_transpose(const urc_node *n) { return n && n->op == URC_OP_TRANSPOSE && n->nout == 1; }

/* ---- building nodes ---------------------------------------------------------- */

static bool infer_node(rewriter *w, urc_node *n) {
    if (!urc_ops[n->op].impl->infer(n)) {
        w->ok = false;
        return false;
    }
    return true;
}

/* A Transpose of x with perm p, producing `out` (a new value when NULL). */
static urc_node *make_transpose(rewriter *w, urc_value *x, const int64_t *p, urc_value *out) {
    urc_node *t = urc_node_transpose(w->g, NULL, x, p, out, &w->ok);
    if (w->track_uses) x->nuses++;
    note_reader(w, x, t);
    return t;
}

/* ---- step 1: wrap channels-last capable ops --------------------------------- */

static void wrap(rewriter *w, urc_node *n) {
    unsigned more = 0;
    const urc_op_impl *impl = urc_ops[n->op].impl;
    bool *flag = impl->channels_last ? impl->channels_last(n, &more) : NULL;
    urc_value *x = n->in[0], *y = n->out[0];
    if (!flag || *flag || !x || !y || x->dtype != URC_DT_F32 || x->shape.rank < 3) return;
    int r = x->shape.rank;
    int64_t to_last[URC_MAX_RANK], to_first[URC_MAX_RANK];
    perm_to_last(r, to_last);
    perm_to_first(r, to_first);
    urc_shape y_cf = y->shape, want = permute_shape(&y_cf, to_last);
    for (int j = 1; j < n->nin; j++)
        if ((more >> j & 1) && n->in[j] && n->in[j]->shape.rank != r) return;
    *flag = true;
    urc_node *tin = make_transpose(w, x, to_last, NULL);
    n->in[0] = tin->out[0];
    for (int j = 1; j < n->nin; j++)
        if ((more >> j & 1) && n->in[j]) n->in[j] = make_transpose(w, n->in[j], to_last, NULL)->out[0];
    if (!infer_node(w, n)) return;
    if (!urc_shape_eq(&n->out[0]->shape, &want)) {
        urc_error(urc_node_where(n), "internal: channels-last form inferred %s, expected %s",
                  urc_shape_str(&n->out[0]->shape), urc_shape_str(&want));
        w->ok = false;
        return;
    }
    /* y keeps its name and consumers: it is now produced by the Transpose back. */
    urc_value *y_cl = urc_value_new(w->g, NULL);
    urc_value_set_type(y_cl, y->dtype, &want);
    n->out[0] = y_cl;
    y_cl->producer = n;
    y_cl->producer_slot = 0;
    y->has_type = true;
    y->shape = y_cf;
    make_transpose(w, y_cl, to_first, y);
}

/* ---- steps 2 and 3: sink and cancel ---------------------------------------- */

/* Node producing v if it is a Transpose read only once (by the caller). */
static urc_node *single_use_transpose(const urc_value *v) {
    if (!v || !is_transpose(v->producer) || v->nuses != 1 || (v->flags & URC_VAL_OUTPUT)) return NULL;
    return v->producer;
}

/* An elementwise op (ops.def trait ELEM) whose inputs after the first are
 * absent or one element that broadcasts without growing the rank (Clip's
 * bounds, a scalar addend): a Transpose of input 0 sinks through it alone. */
static bool is_sinkable_unary(const urc_node *n) {
    if (!urc_op_has(n->op, URC_TRAIT_ELEM) || !n->nin || !n->in[0]) return false;
    for (int j = 1; j < n->nin; j++) {
        const urc_value *v = n->in[j];
        if (v && (urc_shape_numel(&v->shape) != 1 || v->shape.rank > n->in[0]->shape.rank)) return false;
    }
    return true;
}

/* c (a constant broadcast against a rank-r operand of T(x, p)) rewritten to
 * broadcast against x: padded to rank r, then transposed by p's inverse. */
static urc_value *permute_const(rewriter *w, const urc_value *c, int r, const int64_t *p) {
    urc_shape full = {r, {0}};
    for (int i = 0; i < r; i++) full.dims[i] = 1;
    for (int i = 0; i < c->shape.rank; i++) full.dims[r - c->shape.rank + i] = c->shape.dims[i];
    int64_t inv[URC_MAX_RANK];
    for (int i = 0; i < r; i++) inv[p[i]] = i;
    urc_shape ps = permute_shape(&full, inv);
    urc_tensor *t = urc_tensor_new(c->dtype, &ps);
    int64_t n = urc_shape_numel(&ps), fs[URC_MAX_RANK], es = urc_dtype_size(c->dtype);
    urc_shape_strides(&full, fs);
    for (int64_t i = 0; i < n; i++) {
        int64_t idx[URC_MAX_RANK], rem = i, off = 0;
        for (int d = r - 1; d >= 0; d--) {
            idx[d] = rem % ps.dims[d];
            rem /= ps.dims[d];
        }
        /* ps dim d is full dim inv[d] */
        for (int d = 0; d < r; d++) off += idx[d] * fs[inv[d]];
        memcpy((char *)t->data + i * es, (const char *)c->data + off * es, (size_t)es);
    }
    urc_value *v = urc_const_new(w->g, NULL, t);
    return v;
}

/* n, its inputs rewritten to compute op(x) where it computed op(T(x)): a new
 * output for n and a Transpose by p from it into n's old output y. */
static bool transpose_after(rewriter *w, urc_node *n, const int64_t *p) {
    urc_value *y = n->out[0], *ny = urc_value_new(w->g, NULL);
    n->out[0] = ny;
    ny->producer = n;
    ny->producer_slot = 0;
    if (!infer_node(w, n)) return false;
    make_transpose(w, ny, p, y);
    return true;
}

/* op(T(x, p), ...) -> T(op(x, ...'), p) for the rules in the file comment. */
static bool sink_through(rewriter *w, urc_node *n) {
    if (!n->nout || !n->out[0] || n->nout > 1) return false;
    urc_value *y = n->out[0];
    int64_t p[URC_MAX_RANK];
    int r = y->shape.rank;
    if (is_sinkable_unary(n)) {
        urc_node *t = single_use_transpose(n->in[0]);
        if (!t) return false;
        memcpy(p, t->a.movement.perm, sizeof(int64_t) * (size_t)r);
        set_in(w, n, 0, t->in[0]);
    } else if (urc_op_has(n->op, URC_TRAIT_ELEM) || n->op == URC_OP_CONCAT) {
        /* Every operand: the same transpose, or a constant (not for Concat).
         * One operand's transpose must be read only here (so one goes away);
         * the others may be shared (they stay for their other readers, and
         * this op reads their inputs: a residual read by two blocks). */
        urc_node *first = NULL;
        for (int j = 0; j < n->nin && !first; j++) {
            urc_node *t = single_use_transpose(n->in[j]);
            if (t && t->in[0]->shape.rank == r) first = t;
        }
        if (!first) return false;
        for (int j = 0; j < n->nin; j++) {
            urc_node *t = n->in[j] ? n->in[j]->producer : NULL;
            if (is_transpose(t) && n->in[j]->nuses >= 1 && t->in[0]->shape.rank == r) {
                if (memcmp(t->a.movement.perm, first->a.movement.perm, sizeof(int64_t) * (size_t)r)) return false;
            } else if (!(n->in[j] && n->in[j]->data && n->op != URC_OP_CONCAT && n->in[j]->shape.rank <= r)) {
                return false;
            }
        }
        memcpy(p, first->a.movement.perm, sizeof(int64_t) * (size_t)r);
        for (int j = 0; j < n->nin; j++) {
            urc_value *v = n->in[j];
            if (v->data) set_in(w, n, j, permute_const(w, v, r, p));
            else set_in(w, n, j, v->producer->in[0]);
        }
        if (n->op == URC_OP_CONCAT) {
            int64_t ax = n->a.slice.axis < 0 ? n->a.slice.axis + r : n->a.slice.axis;
            n->a.slice.axis = p[ax];
        }
    } else if (n->op == URC_OP_PAD) {
        urc_node *t = single_use_transpose(n->in[0]);
        if (!t || (n->nin > 3 && n->in[3])) return false; /* opset-18 axes: leave alone */
        if (n->nin < 2 || !n->in[1] || !n->in[1]->data) return false;
        memcpy(p, t->a.movement.perm, sizeof(int64_t) * (size_t)r);
        const urc_value *pads = n->in[1];
        if (urc_shape_numel(&pads->shape) != 2 * r) return false;
        urc_tensor *np = urc_tensor_new(URC_DT_I64, &pads->shape);
        for (int i = 0; i < r; i++) { /* output dim i is input dim p[i] */
            ((int64_t *)np->data)[p[i]] = urc_elem_i64(pads->dtype, pads->data, i);
            ((int64_t *)np->data)[r + p[i]] = urc_elem_i64(pads->dtype, pads->data, r + i);
        }
        set_in(w, n, 1, urc_const_new(w->g, NULL, np));
        set_in(w, n, 0, t->in[0]);
    } else {
        return false;
    }
    return transpose_after(w, n, p);
}

/* Reshape(T(x, p)) -> T'(Reshape'(x), p') when the Reshape only merges or
 * splits groups of T's output dims that lie next to each other, in order, in
 * x: NDHWC -> [C, DHW] (ViT and UNETR++ token tensors) becomes a plain
 * Reshape to [DHW, C] and a Transpose that can sink on and cancel. The
 * groups pair runs of input and output dims of equal product. */
static bool sink_through_reshape(rewriter *w, urc_node *n) {
    if (n->op != URC_OP_RESHAPE || n->nout != 1 || !n->out[0]) return false;
    urc_node *t = single_use_transpose(n->in[0]);
    if (!t) return false;
    const urc_shape *s = &n->in[0]->shape, *o = &n->out[0]->shape;
    const int64_t *p = t->a.movement.perm;
    int ri = s->rank, ro = o->rank, ng = 0;
    if (ri > URC_MAX_RANK || ro > URC_MAX_RANK || !urc_shape_numel(s)) return false;
    int gi[URC_MAX_RANK + 1], go[URC_MAX_RANK + 1]; /* group k: input dims [gi[k], gi[k+1]), output [go[k], go[k+1]) */
    int64_t key[URC_MAX_RANK];
    int i = 0, j = 0;
    while (i < ri || j < ro) {
        gi[ng] = i;
        go[ng] = j;
        int64_t pi = i < ri ? s->dims[i++] : 1, pj = j < ro ? o->dims[j++] : 1;
        while (pi != pj) {
            if (pi < pj && i < ri) pi *= s->dims[i++];
            else if (pj < pi && j < ro) pj *= o->dims[j++];
            else return false;
        }
        /* the group's x dims of size > 1 must be consecutive and in order */
        key[ng] = URC_MAX_RANK + ng; /* all of size 1: placed after the others */
        int64_t last = -1;
        for (int k = gi[ng]; k < i; k++) {
            if (s->dims[k] == 1) continue;
            if (last >= 0 && p[k] != last + 1) return false;
            if (last < 0) key[ng] = p[k];
            last = p[k];
        }
        ng++;
    }
    gi[ng] = ri;
    go[ng] = ro;
    /* x's new shape: the groups' output dims in x's order of the groups */
    int order[URC_MAX_RANK], pos[URC_MAX_RANK];
    for (int k = 0; k < ng; k++) order[k] = k;
    for (int a = 1; a < ng; a++) /* insertion sort by key */
        for (int b = a; b > 0 && key[order[b]] < key[order[b - 1]]; b--) {
            int tmp = order[b];
            order[b] = order[b - 1];
            order[b - 1] = tmp;
        }
    urc_tensor *shp = urc_tensor_new(URC_DT_I64, &(urc_shape){1, {ro}});
    int at = 0;
    for (int a = 0; a < ng; a++) {
        int k = order[a];
        for (int d = go[k]; d < go[k + 1]; d++) {
            ((int64_t *)shp->data)[at] = o->dims[d];
            pos[d] = at++;
        }
    }
    int64_t np[URC_MAX_RANK];
    for (int d = 0; d < ro; d++) np[d] = pos[d];
    set_in(w, n, 0, t->in[0]);
    set_in(w, n, 1, urc_const_new(w->g, NULL, shp));
    return transpose_after(w, n, np);
}

/* Gather(T(x, p), scalar constant index, axis a) -> T'(Gather(x, axis p[a]))
 * when every reader of T(x) is such a Gather (the q/k/v split of an attention:
 * T goes once each Gather has sunk, and the T' meet the Transposes after the
 * split). */
static bool is_scalar_gather(const urc_node *r, const urc_value *x) {
    return r->op == URC_OP_GATHER && r->nin == 2 && r->nout == 1 && r->in[0] == x && r->in[1] != x && r->in[1]->data &&
           r->in[1]->shape.rank == 0 && urc_dtype_is_int(r->in[1]->dtype);
}

static bool sink_through_gather(rewriter *w, urc_node *n) {
    if (!n->in[0] || !is_scalar_gather(n, n->in[0]) || !is_transpose(n->in[0]->producer)) return false;
    urc_value *tv = n->in[0];
    urc_node *t = tv->producer;
    if (tv->flags & URC_VAL_OUTPUT) return false;
    need_readers(w);
    if (tv->id >= w->nheads) return false;
    for (int e = w->head[tv->id]; e >= 0; e = w->pool.items[e].next) {
        urc_node *r = w->pool.items[e].n;
        bool reads = false;
        for (int k = 0; k < r->nin; k++) reads |= r->in[k] == tv;
        if (reads && (r->op == URC_OP_COUNT || !is_scalar_gather(r, tv))) return false;
    }
    int r = tv->shape.rank;
    int64_t a = n->a.gather.axis < 0 ? n->a.gather.axis + r : n->a.gather.axis;
    if (a < 0 || a >= r) return false;
    const int64_t *p = t->a.movement.perm;
    int64_t xa = p[a], np[URC_MAX_RANK];
    int m = 0;
    for (int d = 0; d < r; d++)
        if (d != a) np[m++] = p[d] > xa ? p[d] - 1 : p[d];
    set_in(w, n, 0, t->in[0]);
    n->a.gather.axis = xa;
    return transpose_after(w, n, np);
}

/* A Transpose read by several nodes that each take it below them (a
 * training graph's activation x, read by the forward op and by the mask of
 * its gradient: LeakyRelu(x) and Greater(x, 0)) gets one copy per reader,
 * so every copy sinks. Only when every reader is elementwise with constant
 * other operands: then no copy is left behind to keep x alive longer. */
static bool split_shared_transpose(rewriter *w, urc_node *n) {
    if (!is_transpose(n) || !n->out[0] || n->out[0]->nuses < 2 || (n->out[0]->flags & URC_VAL_OUTPUT)) return false;
    urc_value *y = n->out[0];
    need_readers(w);
    if (y->id >= w->nheads) return false;
    /* y's readers in node order (copied: making transposes may move the lists) */
    int nl = 0;
    for (int e = w->head[y->id]; e >= 0; e = w->pool.items[e].next) nl++;
    urc_node **rs = urc_xmalloc(sizeof(urc_node *) * ((size_t)nl + 1));
    int nr = 0;
    for (int e = w->head[y->id]; e >= 0; e = w->pool.items[e].next) {
        urc_node *r = w->pool.items[e].n;
        bool reads = false;
        for (int j = 0; j < r->nin; j++) reads |= r->in[j] == y;
        if (!reads || (nr && rs[nr - 1] == r)) continue;
        if (r->op == URC_OP_COUNT || r->nout != 1 || !urc_op_has(r->op, URC_TRAIT_ELEM)) {
            free(rs);
            return false;
        }
        for (int j = 0; j < r->nin; j++)
            if (r->in[j] && r->in[j] != y && !r->in[j]->data) {
                free(rs);
                return false;
            }
        rs[nr++] = r;
    }
    /* the first reader keeps n; every other gets a copy */
    for (int i = 1; i < nr; i++) {
        urc_node *r = rs[i];
        urc_value *c = make_transpose(w, n->in[0], n->a.movement.perm, NULL)->out[0];
        for (int j = 0; j < r->nin; j++)
            if (r->in[j] == y) set_in(w, r, j, c);
    }
    free(rs);
    return nr >= 2;
}

/* Transpose(Transpose(x, p1), p2) -> Transpose(x, p1∘p2) or x. */
static bool fold_transpose(rewriter *w, urc_node *n) {
    if (!is_transpose(n)) return false;
    urc_value *x = n->in[0];
    int r = x->shape.rank;
    if (perm_is_identity(n->a.movement.perm, r) && !(n->out[0]->flags & URC_VAL_OUTPUT)) {
        replace_uses(w, n->out[0], x);
        n->op = URC_OP_COUNT;
        return true;
    }
    if (!is_transpose(x->producer)) return false;
    urc_node *inner = x->producer;
    int64_t comp[URC_MAX_RANK];
    for (int i = 0; i < r; i++) comp[i] = inner->a.movement.perm[n->a.movement.perm[i]];
    set_in(w, n, 0, inner->in[0]);
    memcpy(n->a.movement.perm, comp, sizeof(int64_t) * (size_t)r);
    return true;
}

/* A Transpose that keeps the order of all dims of size > 1 moves no data:
 * it becomes a Reshape (a view in the memory plan). */
static bool transpose_to_reshape(rewriter *w, urc_node *n) {
    if (!is_transpose(n)) return false;
    const urc_shape *s = &n->in[0]->shape;
    int last = -1;
    for (int i = 0; i < s->rank; i++) {
        int64_t d = n->a.movement.perm[i];
        if (s->dims[d] == 1) continue;
        if (d < last) return false;
        last = (int)d;
    }
    const urc_shape *o = &n->out[0]->shape;
    urc_tensor *t = urc_tensor_new(URC_DT_I64, &(urc_shape){1, {o->rank}});
    for (int i = 0; i < o->rank; i++) ((int64_t *)t->data)[i] = o->dims[i];
    urc_value *ins[2] = {n->in[0], urc_const_new(w->g, NULL, t)};
    urc_node_make(w->g, URC_OP_RESHAPE, NULL, 14, 2, ins, NULL, n->out[0], &w->ok);
    n->op = URC_OP_COUNT;
    return true;
}

/* Pad with all-zero pads (constant mode) is the identity: BasicUNet's. */
static bool drop_zero_pad(rewriter *w, urc_node *n) {
    if (n->op != URC_OP_PAD || !n->out[0] || (n->out[0]->flags & URC_VAL_OUTPUT)) return false;
    if (!urc_shape_eq(&n->in[0]->shape, &n->out[0]->shape)) return false;
    replace_uses(w, n->out[0], n->in[0]);
    n->op = URC_OP_COUNT;
    return true;
}

/* Transposes of the same value by the same perm. */
static bool same_transpose(const urc_node *a, const urc_node *b) {
    return a->in[0] == b->in[0] &&
           !memcmp(a->a.movement.perm, b->a.movement.perm, sizeof(int64_t) * (size_t)a->in[0]->shape.rank);
}

/* Identical Transposes (same input, same perm) left once sinking is done:
 * wrap() gives every channels-last reader of a value its own (e.g. a
 * training graph's gradient read by the data- and weight-gradient
 * convolutions). The first in topological order serves all their readers,
 * so one copy is made and kept alive. (Additive step, after steps 2-3.) */
static void merge_duplicate_transposes(rewriter *w) {
    urc_graph *g = w->g;
    int n = g->nodes.len;
    /* The first Transpose of each (input, perm) in node order, found in a
     * hash table (open addressing) instead of comparing every pair. Inputs
     * are final when a node is reached: a merged Transpose feeding it comes
     * earlier. */
    int cap = 64;
    while (cap < 2 * n) cap *= 2;
    urc_node **first = urc_xcalloc((size_t)cap, sizeof(urc_node *));
    want_readers(w);
    for (int i = 0; i < n; i++) {
        urc_node *b = g->nodes.items[i];
        if (b->op != URC_OP_TRANSPOSE || !is_transpose(b) || !b->out[0]) continue;
        uint64_t h = urc_fnv1a64(b->a.movement.perm, sizeof(int64_t) * (size_t)b->in[0]->shape.rank,
                                 urc_fnv1a64(&b->in[0]->id, sizeof b->in[0]->id, URC_FNV_INIT));
        size_t k = (size_t)(h & (uint64_t)(cap - 1));
        while (first[k] && !same_transpose(first[k], b)) k = (k + 1) & (size_t)(cap - 1);
        if (!first[k]) {
            first[k] = b;
        } else if (!(b->out[0]->flags & URC_VAL_OUTPUT)) {
            replace_uses(w, b->out[0], first[k]->out[0]);
            b->op = URC_OP_COUNT;
        }
    }
    free(first);
    free_readers(w);
}

bool urc_pass_layout(urc_graph *g) {
    rewriter w = {.g = g, .ok = true};
    int n0 = g->nodes.len;
    for (int i = 0; i < n0; i++) wrap(&w, g->nodes.items[i]);
    if (!w.ok) return false;
    if (!urc_graph_toposort(g)) return false;
    for (int round = 0; round < 1000; round++) {
        bool changed = false;
        urc_graph_count_uses(g);
        want_readers(&w);
        w.track_uses = true; /* the use counts stay exact through each rewrite */
        int n = g->nodes.len;
        for (int i = 0; i < n && w.ok; i++) {
            urc_node *node = g->nodes.items[i];
            if (node->op == URC_OP_COUNT) continue;
            if (drop_zero_pad(&w, node) || fold_transpose(&w, node) || sink_through(&w, node) ||
                sink_through_reshape(&w, node) || sink_through_gather(&w, node))
                changed = true;
        }
        w.track_uses = false;
        free_readers(&w);
        if (!w.ok) return false;
        urc_graph_compact(g);
        if (!urc_pass_dce(g) || !urc_graph_toposort(g)) return false;
        if (!changed) {              /* then copies of shared transposes (split_shared_transpose), and sink again */
            urc_graph_count_uses(g); /* read as they are here: not updated by the splits */
            want_readers(&w);
            n = g->nodes.len;
            for (int i = 0; i < n && w.ok; i++)
                if (g->nodes.items[i]->op != URC_OP_COUNT && split_shared_transpose(&w, g->nodes.items[i]))
                    changed = true;
            free_readers(&w);
            if (!w.ok) return false;
        }
        if (!changed) break;
    }
    merge_duplicate_transposes(&w);
    urc_graph_compact(g);
    if (!urc_pass_dce(g) || !urc_graph_toposort(g)) return false;
    int n = g->nodes.len;
    for (int i = 0; i < n; i++) {
        urc_node *node = g->nodes.items[i];
        if (node->op != URC_OP_COUNT) transpose_to_reshape(&w, node);
    }
    urc_graph_compact(g);
    if (!w.ok) return false;
    return urc_pass_dce(g) && urc_graph_toposort(g);
}
