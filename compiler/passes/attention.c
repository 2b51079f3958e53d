/* attention.c: self-attention fusion (see passes.h).
 *
 * MONAI's SABlock exports, per block (after the einsum pass),
 *   s = MatMul(q, kT)           q [b.., L, D], kT [b.., D, S]
 *   s = Mul(s, scale)           scale a one-element constant (either order); or
 *       Mul(s, T)               T a constant [.., 1, 1] per batch element
 *                               (UNETR++'s per-head temperature): 4th input; or
 *       Div(s, c)               (scale = 1/c); or absent (scale 1)
 *   p = Softmax(s, last axis)
 *   o = MatMul(p, v)            v [b.., S, Dv]
 * which becomes one unetrc.Attention(q, kT, v) (ops/attention.c) that keeps
 * only a block of query rows of scores at a time. Conditions: float32/64,
 * equal batch dims (no broadcasting), S small enough for a row of scores
 * to fit a local array (S * element size <= 8 KB), and every intermediate
 * value read only by the next node of the chain and not a graph output.
 * The fused node takes the place of the second MatMul. When the operands
 * come from MONAI's qkv rearranges (see absorb_qkv) the attention reads the
 * packed qkv projection and writes the out-projection's layout itself. */
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "passes.h"

typedef struct actx {
    urc_graph *g;
    urc_node **reader;
    urc_node_index pos; /* node positions, for putting the fused node in m2's place */
} actx;

static urc_node *only_reader(const actx *c, const urc_value *v) {
    if (v->nuses != 1 || (v->flags & URC_VAL_OUTPUT)) return NULL;
    return c->reader[v->id];
}

static bool scalar_const(const urc_value *v, double *x) {
    if (!v || !v->data || !urc_dtype_is_float(v->dtype) || urc_shape_numel(&v->shape) != 1) return false;
    *x = urc_elem_f64(v->dtype, v->data, 0);
    return true;
}

/* A constant factor per batch element of scores s [b.., L, S]: float, last
 * two dims 1, the others 1 or s's (UNETR++'s temperature [H, 1, 1]). */
static bool head_const(const urc_value *v, const urc_shape *s) {
    if (!v || !v->data || !urc_dtype_is_float(v->dtype)) return false;
    const urc_shape *t = &v->shape;
    if (t->rank < 2 || t->rank > s->rank || t->dims[t->rank - 1] != 1 || t->dims[t->rank - 2] != 1) return false;
    for (int d = 0; d < t->rank - 2; d++)
        if (t->dims[d] != 1 && t->dims[d] != s->dims[d + s->rank - t->rank]) return false;
    return true;
}

static bool same_batch(const urc_shape *a, const urc_shape *b) {
    if (a->rank != b->rank) return false;
    for (int d = 0; d < a->rank - 2; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* n = Transpose with exactly this permutation. */
static bool is_transpose(const urc_node *n, const int64_t *perm, int rank) {
    if (!n || n->op != URC_OP_TRANSPOSE || n->a.movement.nperm != rank) return false;
    for (int d = 0; d < rank; d++)
        if (n->a.movement.perm[d] != perm[d]) return false;
    return true;
}

/* n = Gather(x, constant index `idx`) along axis 0. */
static bool is_gather0(const urc_node *n, int64_t idx) {
    if (!n || n->op != URC_OP_GATHER || n->nin != 2 || n->a.gather.axis != 0) return false;
    const urc_value *i = n->in[1];
    return i->data && urc_dtype_is_int(i->dtype) && urc_shape_numel(&i->shape) == 1 &&
           urc_elem_i64(i->dtype, i->data, 0) == idx;
}

static bool plain(const urc_value *v, int uses) { return v->nuses == uses && !(v->flags & URC_VAL_OUTPUT); }

/* MONAI's rearranges around an attention f (layout 0):
 *   R = Reshape(qkv) [B, L, 3, H, D];  T = Transpose(R, [2,0,3,1,4])
 *   q = Gather(T, 0), v = Gather(T, 2), kT = Transpose(Gather(T, 1), [0,1,3,2])
 *   Y = f(q, kT, v) [B, H, L, D];  Y' = Transpose(Y, [0,2,1,3])
 * become f(R, kT, R) in layout 1 writing Y' directly, with K^T made by
 * Gather(R, 1, axis 2) [B, L, H, D] -> Transpose [0,2,3,1] (the two K nodes
 * are reused in place; T, the q/v Gathers and the output Transpose go). */
static void absorb_qkv(actx *c, urc_node *f) {
    static const int64_t p_in[5] = {2, 0, 3, 1, 4}, p_kt[4] = {0, 1, 3, 2}, p_out[4] = {0, 2, 1, 3},
                         p_kt2[4] = {0, 2, 3, 1};
    urc_value *q = f->in[0], *kt = f->in[1], *v = f->in[2], *y = f->out[0];
    if (q->shape.rank != 4 || !plain(q, 1) || !plain(kt, 1) || !plain(v, 1)) return;
    urc_node *ot = only_reader(c, y), *g0 = q->producer, *g2 = v->producer, *tb = kt->producer;
    if (!is_transpose(ot, p_out, 4) || !is_gather0(g0, 0) || !is_gather0(g2, 2) || !is_transpose(tb, p_kt, 4)) return;
    urc_value *k = tb->in[0];
    urc_node *g1 = k->producer;
    if (!plain(k, 1) || !is_gather0(g1, 1)) return;
    urc_value *T = g0->in[0];
    if (g1->in[0] != T || g2->in[0] != T || !plain(T, 3)) return;
    urc_node *tt = T->producer;
    if (!is_transpose(tt, p_in, 5)) return;
    urc_value *R = tt->in[0];
    if (R->shape.rank != 5 || R->shape.dims[2] != 3) return;
    /* K^T from R: Gather along axis 2, then Transpose [0,2,3,1] */
    g1->in[0] = R;
    g1->a.gather.axis = 2;
    memcpy(tb->a.movement.perm, p_kt2, sizeof p_kt2);
    bool ok = urc_ops[URC_OP_GATHER].impl->infer(g1) && urc_ops[URC_OP_TRANSPOSE].impl->infer(tb);
    f->in[0] = R;
    f->in[2] = R;
    f->a.attention.layout = 1;
    urc_value *y2 = ot->out[0];
    f->out[0] = y2;
    y2->producer = f;
    y2->producer_slot = 0;
    y->producer = NULL;
    ok = ok && urc_ops[URC_OP_ATTENTION].impl->infer(f);
    URC_ASSERT(ok, "attention: absorbing the qkv rearranges failed");
    urc_node *dead[4] = {tt, g0, g2, ot};
    for (int i = 0; i < 4; i++) {
        dead[i]->out[0]->producer = dead[i] == ot ? f : NULL;
        dead[i]->op = URC_OP_COUNT;
    }
    y2->producer = f;
    if (urc_verbose) urc_note("attention: '%s' reads q and v from the packed qkv, writes [B, L, H, D]", f->name);
}

static bool fuse_one(actx *c, urc_node *m1, bool *ok) {
    urc_graph *g = c->g;
    if (m1->nin != 2 || !m1->out[0]) return false;
    urc_value *q = m1->in[0], *kt = m1->in[1], *s = m1->out[0];
    if (s->dtype != URC_DT_F32 && s->dtype != URC_DT_F64) return false;
    int r = q->shape.rank;
    if (r < 2 || !same_batch(&q->shape, &kt->shape)) return false;
    int64_t S = kt->shape.dims[r - 1];
    if (S < 1 || S * urc_dtype_size(s->dtype) > 8192) return false;
    urc_node *chain[4];
    int nc = 0;
    chain[nc++] = m1;
    double scale = 1, x;
    urc_value *tscale = NULL;
    urc_node *n = only_reader(c, s);
    if (n && n->nin == 2 && n->op == URC_OP_MUL && (n->in[0] == s || n->in[1] == s) &&
        scalar_const(n->in[0] == s ? n->in[1] : n->in[0], &x)) {
        scale = x;
    } else if (n && n->nin == 2 && n->op == URC_OP_MUL && (n->in[0] == s || n->in[1] == s) &&
               head_const(n->in[0] == s ? n->in[1] : n->in[0], &s->shape)) {
        tscale = n->in[0] == s ? n->in[1] : n->in[0];
    } else if (n && n->nin == 2 && n->op == URC_OP_DIV && n->in[0] == s && scalar_const(n->in[1], &x) && x != 0) {
        scale = 1 / x;
    } else {
        n = NULL;
    }
    if (n) {
        if (!urc_shape_eq(&n->out[0]->shape, &s->shape) || n->out[0]->dtype != s->dtype) return false;
        chain[nc++] = n;
        s = n->out[0];
        n = only_reader(c, s);
    } else {
        n = only_reader(c, s);
    }
    if (!n || n->op != URC_OP_SOFTMAX || n->a.softmax.axis != r - 1) return false;
    chain[nc++] = n;
    urc_value *p = n->out[0];
    urc_node *m2 = only_reader(c, p);
    if (!m2 || m2->op != URC_OP_MATMUL || m2->nin != 2 || m2->in[0] != p || m2->in[1] == p) return false;
    urc_value *v = m2->in[1];
    if (!same_batch(&q->shape, &v->shape) || v->shape.dims[r - 2] != S || v->dtype != s->dtype) return false;
    urc_node *f = urc_node_new(g, URC_OP_ATTENTION, urc_fmt("%s/attention", m1->name), tscale ? 4 : 3, 1);
    g->nodes.len--; /* appended by urc_node_new; takes m2's place below */
    f->opset = m2->opset;
    f->in[0] = q;
    f->in[1] = kt;
    f->in[2] = v;
    if (tscale) f->in[3] = tscale;
    memset(&f->a, 0, sizeof f->a);
    f->a.attention.scale = scale;
    urc_value *y = m2->out[0];
    f->out[0] = y;
    y->producer = f;
    y->producer_slot = 0;
    for (int i = 0; i < nc; i++) {
        chain[i]->out[0]->producer = NULL;
        chain[i]->op = URC_OP_COUNT;
    }
    int pm2 = urc_node_index_get(&c->pos, g, m2);
    if (pm2 >= 0) {
        g->nodes.items[pm2] = f;
        urc_node_index_set(&c->pos, f, pm2);
    }
    if (!urc_ops[URC_OP_ATTENTION].impl->infer(f)) {
        urc_error(urc_node_where(m1), "internal: fusing into %s failed", urc_ops[URC_OP_ATTENTION].name);
        *ok = false;
    }
    if (urc_verbose)
        urc_note("attention: '%s' .. '%s' -> Attention (scale %s)", m1->name, m2->name,
                 tscale ? "per batch element" : urc_fmt("%g", scale));
    if (*ok && !tscale) absorb_qkv(c, f);
    return true;
}

bool urc_pass_attention(urc_graph *g) {
    urc_graph_count_uses(g);
    actx c = {g, urc_graph_readers(g), {0}};
    urc_node_index_build(&c.pos, g);
    bool any = false, ok = true;
    int n0 = g->nodes.len;
    for (int i = 0; i < n0; i++) {
        urc_node *n = g->nodes.items[i];
        if (n->op == URC_OP_MATMUL && fuse_one(&c, n, &ok)) any = true;
    }
    free(c.reader);
    urc_node_index_free(&c.pos);
    if (any) {
        urc_graph_compact(g);
        urc_graph_count_uses(g);
    }
    return ok;
}
