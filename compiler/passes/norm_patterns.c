/* norm_patterns.c: decomposed normalisations -> one op (see passes.h), and
 * explicit Expands of a divisor or factor left to the op's own broadcast.
 *
 * LayerNorm. Exports below opset 17 (and torch's for any LayerNorm it
 * cannot map) spell it out:
 *   m = ReduceMean(x, axes = the last k dims, keepdims)
 *   xc = x - m;  v = ReduceMean(Pow(xc, 2) | xc * xc);  n = xc / Sqrt(v + eps)
 *   [n * w]  [+ b]
 * -> LayerNormalization(x, w or ones, [b], axis = rank - k, epsilon = eps).
 *
 * GroupNorm. torch exports nn.GroupNorm below opset 18 as (UNETR++ has it):
 *   xr = Reshape(x, [N, G, -1]);  nr = InstanceNormalization(xr, s[G], t[G])
 *   n = Reshape(nr, shape(x));  [n * w[C,1,..]]  [+ b[C,1,..]]
 * (torch's s and t are ones and zeros). The affine after the normalisation
 * is per channel, while GroupNormalization-18 has per-group scale and bias,
 * so the result is a GroupNormalization with the `per_channel` flag
 * (urc_norm_attr): scale_c = s[g(c)] * w[c], bias_c = t[g(c)] * w[c] + b[c],
 * computed at compile time (s, t, w, b must be constants; a Mul/Add with a
 * run-time operand is left after the GroupNorm).
 *
 * Each intermediate must be read only by the pattern and not be a graph
 * output. The new node takes the place of the pattern's last node. */
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "passes.h"

typedef struct matcher {
    urc_graph *g;
    int *ustart, *ucount; /* by value id: readers in `users` (a node reading twice counts twice) */
    urc_node **users;
    int nv;             /* values when the lists were built (later ones have no readers yet) */
    urc_node_index pos; /* node positions, for putting a new node in the pattern's place */
    bool ok;
} matcher;

static void build_users(matcher *m) {
    urc_graph *g = m->g;
    int nv = g->values.len, total = 0;
    m->nv = nv;
    m->ustart = urc_xcalloc((size_t)nv + 1, sizeof(int));
    m->ucount = urc_xcalloc((size_t)nv + 1, sizeof(int));
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j]) m->ucount[n->in[j]->id]++, total++;
    }
    for (int v = 0, s = 0; v < nv; v++) {
        m->ustart[v] = s;
        s += m->ucount[v];
        m->ucount[v] = 0;
    }
    m->users = urc_xmalloc(sizeof(urc_node *) * ((size_t)total + 1));
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j]) m->users[m->ustart[n->in[j]->id] + m->ucount[n->in[j]->id]++] = n;
    }
}

/* Readers of v (NULL-free), count in *n; 0 when v is a graph output. */
static urc_node **readers(const matcher *m, const urc_value *v, int *n) {
    *n = 0;
    if (!v || v->id >= m->nv || (v->flags & URC_VAL_OUTPUT)) return NULL;
    *n = m->ucount[v->id];
    return m->users + m->ustart[v->id];
}

/* The one node reading v (once), if v is read by exactly one input slot. */
static urc_node *sole(const matcher *m, const urc_value *v, urc_op op) {
    int n;
    urc_node **r = readers(m, v, &n);
    return n == 1 && r[0]->op == op ? r[0] : NULL;
}

static bool const_scalar(const urc_value *v, double *out) {
    if (!v || !v->data || urc_shape_numel(&v->shape) != 1 || !urc_dtype_is_float(v->dtype)) return false;
    *out = urc_elem_f64(v->dtype, v->data, 0);
    return true;
}

/* The operand of binary node b that is not v (NULL if both are v). */
static urc_value *other(const urc_node *b, const urc_value *v) {
    if (b->in[0] == v && b->in[1] != v) return b->in[1];
    if (b->in[1] == v && b->in[0] != v) return b->in[0];
    return NULL;
}

/* A new node in the place of `last`, producing last's output. */
static urc_node *replace(matcher *m, urc_node *last, urc_op op, const char *name, int nin) {
    return urc_node_in_place_of(m->g, &m->pos, last, op, name, nin);
}

static void kill(urc_node *n) { n->op = URC_OP_COUNT; }

static urc_value *const_f(matcher *m, const char *name, urc_dtype dt, const urc_shape *s, const double *vals) {
    urc_tensor *t = urc_tensor_new(dt, s);
    for (int64_t i = 0; i < urc_shape_numel(s); i++) urc_elem_set_f64(dt, t->data, i, vals ? vals[i] : 1.0);
    return urc_const_new(m->g, urc_fmt("%s%%%d", name, m->g->next_id++), t);
}

/* ---- LayerNorm --------------------------------------------------------------- */

/* axis such that r reduces exactly dims [axis, rank) with keepdims, else -1. */
static int trailing_axis(const urc_node *r) {
    const urc_reduce_attr *a = &r->a.reduce;
    int rank = r->in[0]->shape.rank, axis = rank;
    if (!a->keepdims || rank == 0) return -1;
    while (axis > 0 && a->reduce[axis - 1]) axis--;
    for (int d = 0; d < axis; d++)
        if (a->reduce[d]) return -1;
    return axis < rank ? axis : -1;
}

static bool same_shape_as(const urc_value *v, const urc_value *x) {
    return v && urc_shape_eq(&v->shape, &x->shape) && v->dtype == x->dtype;
}

/* Does w broadcast onto x without changing x's shape? */
static bool bcasts_onto(const urc_value *w, const urc_value *x) {
    urc_shape o;
    return w && w->dtype == x->dtype && urc_shape_broadcast(&x->shape, &w->shape, &o) && urc_shape_eq(&o, &x->shape);
}

static bool match_layer_norm(matcher *m, urc_node *r1) {
    urc_value *x = r1->in[0];
    if (!x || !urc_dtype_is_float(x->dtype) || (r1->nin > 1 && r1->in[1] && !r1->in[1]->data)) return false;
    int axis = trailing_axis(r1);
    if (axis < 0) return false;
    urc_node *sub = sole(m, r1->out[0], URC_OP_SUB);
    if (!sub || sub->in[0] != x || sub->in[1] != r1->out[0]) return false;
    urc_value *xc = sub->out[0];
    if (!same_shape_as(xc, x)) return false;
    int nr;
    urc_node **rd = readers(m, xc, &nr);
    urc_node *sq = NULL, *div = NULL;
    for (int i = 0; i < nr; i++) {
        urc_node *u = rd[i];
        double e;
        if (u->op == URC_OP_POW && u->in[0] == xc && const_scalar(u->in[1], &e) && e == 2.0 && !sq) sq = u;
        else if (u->op == URC_OP_MUL && u->in[0] == xc && u->in[1] == xc && (!sq || sq == u)) sq = u;
        else if (u->op == URC_OP_DIV && u->in[0] == xc && !div) div = u;
        else return false;
    }
    if (!sq || !div || nr != (sq->op == URC_OP_MUL ? 3 : 2)) return false;
    urc_node *r2 = sole(m, sq->out[0], URC_OP_REDUCE_MEAN);
    if (!r2 || trailing_axis(r2) != axis || (r2->nin > 1 && r2->in[1] && !r2->in[1]->data)) return false;
    urc_node *add = sole(m, r2->out[0], URC_OP_ADD);
    double eps;
    if (!add || !const_scalar(other(add, r2->out[0]), &eps) || eps < 0) return false;
    if (!urc_shape_eq(&add->out[0]->shape, &r2->out[0]->shape)) return false;
    urc_node *sqrt_ = sole(m, add->out[0], URC_OP_SQRT);
    if (!sqrt_ || sole(m, sqrt_->out[0], URC_OP_DIV) != div || div->in[1] != sqrt_->out[0]) return false;
    if (!same_shape_as(div->out[0], x)) return false;
    /* Optional affine. */
    urc_node *last = div, *mul = NULL, *badd = NULL;
    urc_value *w = NULL, *b = NULL;
    urc_node *u = sole(m, last->out[0], URC_OP_MUL);
    if (u && bcasts_onto(other(u, last->out[0]), x) && same_shape_as(u->out[0], x)) {
        mul = u;
        w = other(u, last->out[0]);
        last = u;
    }
    u = sole(m, last->out[0], URC_OP_ADD);
    if (u && bcasts_onto(other(u, last->out[0]), x) && same_shape_as(u->out[0], x)) {
        badd = u;
        b = other(u, last->out[0]);
        last = u;
    }
    if (!w) {
        urc_shape ws = {x->shape.rank - axis, {0}};
        for (int d = axis; d < x->shape.rank; d++) ws.dims[d - axis] = x->shape.dims[d];
        w = const_f(m, "ln_ones", x->dtype, &ws, NULL);
    }
    urc_node *ln = replace(m, last, URC_OP_LAYER_NORM, urc_fmt("%s_layernorm", r1->name), b ? 3 : 2);
    ln->in[0] = x;
    ln->in[1] = w;
    if (b) ln->in[2] = b;
    ln->a.norm.axis = axis;
    ln->a.norm.epsilon = eps;
    ln->a.norm.stash_type = 1;
    urc_node *dead[] = {r1, sub, sq, r2, add, sqrt_, div, mul, badd};
    for (size_t i = 0; i < URC_ARRAY_LEN(dead); i++)
        if (dead[i] && dead[i] != last) kill(dead[i]);
    if (!urc_ops[ln->op].impl->infer(ln)) m->ok = false;
    return true;
}

/* ---- GroupNorm ------------------------------------------------------------------ */

/* Per-channel constant of C elements broadcast along dim 1 of x (shape
 * [C,1,...] or [1,C,1,...] right-aligned), as doubles; NULL if not. */
static double *per_channel_const(const urc_value *w, const urc_value *x) {
    if (!w || !w->data || !urc_dtype_is_float(w->dtype) || w->dtype != x->dtype) return NULL;
    int64_t C = x->shape.dims[1];
    if (urc_shape_numel(&w->shape) != C && urc_shape_numel(&w->shape) != 1) return NULL;
    if (!bcasts_onto(w, x)) return NULL;
    int off = x->shape.rank - w->shape.rank;
    for (int d = 0; d < w->shape.rank; d++)
        if (w->shape.dims[d] != 1 && d + off != 1) return NULL;
    double *v = urc_xmalloc(sizeof(double) * (size_t)C);
    for (int64_t c = 0; c < C; c++) v[c] = urc_elem_f64(w->dtype, w->data, urc_shape_numel(&w->shape) == 1 ? 0 : c);
    return v;
}

static bool match_group_norm(matcher *m, urc_node *r1) {
    urc_value *x = r1->in[0], *xr = r1->out[0];
    if (!x || !xr || !urc_dtype_is_float(x->dtype) || x->shape.rank < 3 || xr->shape.rank != 3) return false;
    int64_t N = x->shape.dims[0], C = x->shape.dims[1], G = xr->shape.dims[1];
    if (xr->shape.dims[0] != N || G < 1 || C % G || C == 0) return false;
    urc_node *in = sole(m, xr, URC_OP_INSTANCE_NORM);
    if (!in || in->in[0] != xr || !in->in[1]->data || !in->in[2]->data) return false;
    urc_node *r2 = sole(m, in->out[0], URC_OP_RESHAPE);
    if (!r2 || !same_shape_as(r2->out[0], x)) return false;
    urc_node *last = r2, *mul = NULL, *badd = NULL;
    double *w = NULL, *b = NULL;
    urc_node *u = sole(m, last->out[0], URC_OP_MUL);
    if (u && same_shape_as(u->out[0], x) && (w = per_channel_const(other(u, last->out[0]), x))) {
        mul = u;
        last = u;
    }
    u = sole(m, last->out[0], URC_OP_ADD);
    if (u && same_shape_as(u->out[0], x) && (b = per_channel_const(other(u, last->out[0]), x))) {
        badd = u;
        last = u;
    }
    double *sc = urc_xmalloc(sizeof(double) * (size_t)C), *bi = urc_xmalloc(sizeof(double) * (size_t)C);
    const urc_value *s = in->in[1], *t = in->in[2];
    for (int64_t c = 0; c < C; c++) {
        int64_t gi = c / (C / G);
        double wc = w ? w[c] : 1, bc = b ? b[c] : 0;
        sc[c] = urc_elem_f64(s->dtype, s->data, gi) * wc;
        bi[c] = urc_elem_f64(t->dtype, t->data, gi) * wc + bc;
    }
    urc_shape cs = {1, {C}};
    urc_node *gn = replace(m, last, URC_OP_GROUP_NORM, urc_fmt("%s_groupnorm", in->name), 3);
    gn->in[0] = x;
    gn->in[1] = const_f(m, "gn_scale", x->dtype, &cs, sc);
    gn->in[2] = const_f(m, "gn_bias", x->dtype, &cs, bi);
    gn->a.norm.num_groups = G;
    gn->a.norm.epsilon = in->a.norm.epsilon;
    gn->a.norm.stash_type = 1;
    gn->a.norm.per_channel = true;
    urc_node *dead[] = {r1, in, r2, mul, badd};
    for (size_t i = 0; i < URC_ARRAY_LEN(dead); i++)
        if (dead[i] && dead[i] != last) kill(dead[i]);
    free(w);
    free(b);
    free(sc);
    free(bi);
    if (!urc_ops[gn->op].impl->infer(gn)) m->ok = false;
    return true;
}

/* ---- broadcasts made explicit ---------------------------------------------------- */

/* Expand(x, shape) read only by binary elementwise ops that broadcast x to
 * the same result themselves: they read x (the exported L2 normalisation
 * q / Expand(Clip(ReduceL2(q))) no longer writes and reads a full-size
 * divisor). */
static bool is_bcast_binary(urc_op op) {
    return op == URC_OP_ADD || op == URC_OP_SUB || op == URC_OP_MUL || op == URC_OP_DIV || op == URC_OP_POW;
}

static bool drop_expand(matcher *m, urc_node *e) {
    urc_value *x = e->in[0], *y = e->out[0];
    int nr;
    urc_node **r = readers(m, y, &nr);
    if (!x || !y || !nr || x->dtype != y->dtype) return false;
    for (int i = 0; i < nr; i++) {
        urc_node *b = r[i];
        if (!is_bcast_binary(b->op) || b->nin != 2 || !b->out[0]) return false;
        urc_value *o = other(b, y);
        urc_shape s;
        if (!o || !urc_shape_broadcast(&o->shape, &x->shape, &s) || !urc_shape_eq(&s, &b->out[0]->shape)) return false;
    }
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < 2; j++)
            if (r[i]->in[j] == y) r[i]->in[j] = x;
    return true;
}

bool urc_pass_norm_patterns(urc_graph *g) {
    matcher m = {g, NULL, NULL, NULL, 0, {0}, true};
    build_users(&m);
    urc_node_index_build(&m.pos, g);
    int n0 = g->nodes.len;
    for (int i = 0; i < n0; i++) {
        urc_node *n = g->nodes.items[i];
        if (n->op == URC_OP_REDUCE_MEAN) match_layer_norm(&m, n);
        else if (n->op == URC_OP_RESHAPE) match_group_norm(&m, n);
        else if (n->op == URC_OP_EXPAND) drop_expand(&m, n);
    }
    free(m.ustart);
    free(m.ucount);
    free(m.users);
    urc_node_index_free(&m.pos);
    urc_graph_compact(g);
    urc_graph_count_uses(g);
    return m.ok;
}
