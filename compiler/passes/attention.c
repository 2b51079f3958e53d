/* attention.c: self-attention fusion (see passes.h).
 *
 * MONAI's SABlock exports, per block (after the einsum pass),
 *   s = MatMul(q, kT)           q [b.., L, D], kT [b.., D, S]
 *   s = Mul(s, scale)           scale a one-element constant (either order); or
 *       Mul(s, T)               T a constant [.., 1, 1] per batch element
 *                               (UNETR++'s per-head temperature): input 6; or
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
 * packed qkv projection and writes the out-projection's layout itself.
 *
 * Swin's window attention (MONAI's WindowAttention) adds, in this order:
 *   q = Mul(q0, scale) before the first MatMul (scale taken into the node),
 *   s = Add(s, C)      C a constant [.., 1, H or 1, L, S]: the relative
 *                      position bias (folded from the table's Gather);
 *   s = Reshape(s) [b, nW, H, L, S]; Add(s, M) with M a constant
 *       [1, nW, 1, L, S]; Reshape back: the shifted-window mask;
 *   p = Cast(Softmax(s)) to its own type (a no-op);
 * and the node takes the bias and mask as inputs, in their compact forms
 * when they have one (compact_bias, compact_mask): folding materialised
 * them at H * L * S and nW * L * S values. */
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "passes.h"

typedef struct actx {
    urc_graph *g;
    urc_node **reader;
    urc_node_index pos; /* node positions, for putting the fused node in m2's place */
    urc_value **shared; /* compact constants made so far (equal ones are reused) */
    int nshared, capshared;
    int n0; /* nodes before the pass: node n0 + j is new, placed before node owner[j] */
    URC_VEC(int) owner;
} actx;

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
 * are reused in place; T, the q/v Gathers and the output Transpose go).
 * Heads of at most NARROW_HEAD channels (Swin's) get layout 2 instead: V^T
 * made like K^T (the v Gather reused, a new Transpose), f(R, kT, vT). */
enum { NARROW_HEAD = 8 };
/* What evaluating a shifted-window mask may take (its chain's results in all). */
#define MASK_FOLD_BYTES ((int64_t)2 << 30)

/* V^T for layout 2: the v Gather g2 reads R along axis 2, a new Transpose
 * [0,2,3,1] (placed before f) makes [B, H, D, L]. */
static bool make_vt(actx *c, urc_node *f, urc_node *g2, urc_value *R) {
    static const int64_t p_kt2[4] = {0, 2, 3, 1};
    g2->in[0] = R;
    g2->a.gather.axis = 2;
    if (!urc_ops[URC_OP_GATHER].impl->infer(g2)) return false;
    bool ok = true;
    int before = urc_node_index_get(&c->pos, c->g, f);
    f->in[2] = urc_node_transpose(c->g, urc_fmt("%s/vT", f->name), g2->out[0], p_kt2, NULL, &ok)->out[0];
    URC_VEC_PUSH(c->owner, before);
    f->a.attention.layout = 2;
    return ok;
}
static void absorb_qkv(actx *c, urc_node *f) {
    static const int64_t p_in[5] = {2, 0, 3, 1, 4}, p_kt[4] = {0, 1, 3, 2}, p_out[4] = {0, 2, 1, 3},
                         p_kt2[4] = {0, 2, 3, 1};
    urc_value *q = f->in[0], *kt = f->in[1], *v = f->in[2], *y = f->out[0];
    if (q->shape.rank != 4 || !plain(q, 1) || !plain(kt, 1) || !plain(v, 1)) return;
    urc_node *ot = urc_only_reader(c->reader, y), *g0 = q->producer, *g2 = v->producer, *tb = kt->producer;
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
    bool narrow = R->shape.dims[4] <= NARROW_HEAD;
    if (narrow) ok = ok && make_vt(c, f, g2, R);
    urc_value *y2 = ot->out[0];
    f->out[0] = y2;
    y2->producer = f;
    y2->producer_slot = 0;
    y->producer = NULL;
    ok = ok && urc_ops[URC_OP_ATTENTION].impl->infer(f);
    URC_ASSERT(ok, "attention: absorbing the qkv rearranges failed");
    urc_node *dead[4] = {tt, g0, g2, ot};
    for (int i = 0; i < 4; i++) {
        if (narrow && dead[i] == g2) continue;
        dead[i]->out[0]->producer = dead[i] == ot ? f : NULL;
        dead[i]->op = URC_OP_COUNT;
    }
    y2->producer = f;
    if (urc_verbose)
        urc_note("attention: '%s' reads q%s from the packed qkv, writes [B, L, H, D]", f->name,
                 narrow ? " (and V^T by a Transpose: narrow heads)" : " and v");
}

static void attach_extras(actx *c, urc_node *f, urc_value *bias, urc_value *mask, const urc_shape *ss);

/* ---- compact constants ------------------------------------------------------ */

/* An earlier compact constant with the same type and bytes, else v itself
 * (remembered for later ones). */
static urc_value *intern(actx *c, urc_value *v) {
    size_t bytes = (size_t)urc_shape_numel(&v->shape) * (size_t)urc_dtype_size(v->dtype);
    for (int i = 0; i < c->nshared; i++) {
        urc_value *u = c->shared[i];
        if (u->dtype == v->dtype && urc_shape_eq(&u->shape, &v->shape) && !memcmp(u->data, v->data, bytes)) {
            free(v->data);
            v->data = NULL;
            return u;
        }
    }
    if (c->nshared == c->capshared) {
        c->capshared = c->capshared ? 2 * c->capshared : 16;
        c->shared = urc_xrealloc(c->shared, sizeof *c->shared * (size_t)c->capshared);
    }
    c->shared[c->nshared++] = v;
    return v;
}

static uint64_t hash_bytes(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* A dense bias [H, L, S] (element size es) as a table of its distinct
 * H-vectors [T, H] and an int32 index [L, S] into it: found by hashing the
 * vector of each (i, j) (bitwise equality). Returns false (nothing made)
 * when that is not smaller than the dense bias. */
static bool compact_bias(actx *c, const char *name, urc_dtype dt, const unsigned char *dense, int64_t H, int64_t L,
                         int64_t S, urc_value **table, urc_value **index) {
    int64_t N = L * S, es = urc_dtype_size(dt);
    if (H < 2) return false;
    int64_t cap = 1;
    while (cap < 2 * N) cap *= 2;
    int32_t *slot = urc_xmalloc(sizeof(int32_t) * (size_t)cap); /* table row + 1, 0 empty */
    memset(slot, 0, sizeof(int32_t) * (size_t)cap);
    unsigned char *vec = urc_xmalloc((size_t)(N * H * es)), *rows = urc_xmalloc((size_t)(N * H * es));
    urc_shape is = {2, {L, S}};
    urc_tensor *it = urc_tensor_new(URC_DT_I32, &is);
    int32_t *idx = it->data;
    int64_t T = 0;
    for (int64_t e = 0; e < N; e++) {
        unsigned char *x = vec + e * H * es;
        for (int64_t h = 0; h < H; h++) memcpy(x + h * es, dense + (h * N + e) * es, (size_t)es);
        uint64_t hv = hash_bytes(x, (size_t)(H * es));
        int64_t p = (int64_t)(hv & (uint64_t)(cap - 1));
        while (slot[p] && memcmp(rows + (int64_t)(slot[p] - 1) * H * es, x, (size_t)(H * es))) p = (p + 1) & (cap - 1);
        if (!slot[p]) {
            memcpy(rows + T * H * es, x, (size_t)(H * es));
            slot[p] = (int32_t)++T;
        }
        idx[e] = slot[p] - 1;
    }
    free(slot);
    free(vec);
    bool small = T * H + N < H * N;
    if (small) {
        urc_shape ts = {2, {T, H}};
        urc_tensor *tt = urc_tensor_new(dt, &ts);
        memcpy(tt->data, rows, (size_t)(T * H * es));
        *table = urc_const_new(c->g, urc_fmt("%s/bias_table", name), tt);
        *index = intern(c, urc_const_new(c->g, urc_fmt("%s/bias_index", name), it));
        if (urc_verbose)
            urc_note("attention: '%s': bias [%lld, %lld, %lld] kept as a table [%lld, %lld] and an index", name,
                     (long long)H, (long long)L, (long long)S, (long long)T, (long long)H);
    } else {
        urc_tensor_free(it);
    }
    free(rows);
    return small;
}

/* A dense mask [nW, L, L] (doubles) that is Swin's region mask: every value
 * 0 or one other value mv, 0 on the diagonal, and "0 between i and j" an
 * equivalence per window: then ids [nW, L] (the first position of each
 * region) and mv. */
static urc_value *compact_mask(actx *c, const char *name, const double *m, int64_t nW, int64_t L, double *mv) {
    urc_shape is = {2, {nW, L}};
    urc_tensor *it = urc_tensor_new(URC_DT_I32, &is);
    int32_t *ids = it->data;
    bool have = false, ok = true;
    *mv = 0;
    for (int64_t w = 0; ok && w < nW; w++) {
        const double *mw = m + w * L * L;
        for (int64_t i = 0; ok && i < L; i++) {
            int64_t j = 0;
            while (j < L && mw[i * L + j] != 0) j++;
            ids[w * L + i] = (int32_t)j;
            ok = j <= i && (j == i || ids[w * L + j] == (int32_t)j);
        }
        for (int64_t i = 0; ok && i < L; i++)
            for (int64_t j = 0; ok && j < L; j++) {
                double x = mw[i * L + j];
                if (ids[w * L + i] == ids[w * L + j]) {
                    ok = x == 0;
                } else if (!have) {
                    ok = x != 0 && x == x;
                    have = true;
                    *mv = x;
                } else {
                    ok = x == *mv;
                }
            }
    }
    if (!ok || L > INT32_MAX) {
        urc_tensor_free(it);
        return NULL;
    }
    if (urc_verbose)
        urc_note("attention: '%s': mask [%lld, %lld, %lld] kept as region ids [%lld, %lld] (%g between regions)", name,
                 (long long)nW, (long long)L, (long long)L, (long long)nW, (long long)L, *mv);
    return intern(c, urc_const_new(c->g, urc_fmt("%s/mask_ids", name), it));
}

/* A constant whose shape, right-aligned to `full`, is 1 in every dim but
 * those where keep[d] is set (where it equals full's). */
static bool bcast_const(const urc_value *v, const urc_shape *full, const bool *keep) {
    if (!v || !v->data || !urc_dtype_is_float(v->dtype) || v->shape.rank > full->rank) return false;
    int off = full->rank - v->shape.rank;
    for (int d = 0; d < v->shape.rank; d++) {
        int64_t x = v->shape.dims[d], f = full->dims[off + d];
        if (x != 1 && !(keep[off + d] && x == f)) return false;
    }
    return true;
}

/* Element (h, i, j) of a constant broadcast as in bcast_const over the last
 * three dims of a rank-r shape (h the dim r-3, missing ones 0). */
static double bcast_at(const urc_value *v, int r, int64_t h, int64_t i, int64_t j) {
    int64_t idx[3] = {h, i, j}, e = 0;
    int off = r - v->shape.rank;
    for (int d = 0; d < v->shape.rank; d++) {
        int fd = off + d;
        int64_t x = fd >= r - 3 ? idx[fd - (r - 3)] : 0;
        e = e * v->shape.dims[d] + (v->shape.dims[d] == 1 ? 0 : x);
    }
    return urc_elem_f64(v->dtype, v->data, e);
}

/* The bias (a constant broadcast to [.., H, L, S]) and the mask (a constant
 * broadcast to [b, nW, H, L, S]) as inputs 3-5 of f, compact when they can
 * be. ss: the shape of the scores [.., H, L, S]. */
static void attach_extras(actx *c, urc_node *f, urc_value *bias, urc_value *mask, const urc_shape *ss) {
    int r = ss->rank;
    int64_t H = ss->dims[r - 3], L = ss->dims[r - 2], S = ss->dims[r - 1];
    urc_dtype dt = f->in[0]->dtype;
    f->in[3] = f->in[4] = f->in[5] = NULL;
    if (bias) {
        urc_shape bs = {3, {H, L, S}};
        urc_tensor *bt = urc_tensor_new(dt, &bs);
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < L; i++)
                for (int64_t j = 0; j < S; j++)
                    urc_elem_set_f64(dt, bt->data, (h * L + i) * S + j, bcast_at(bias, r, h, i, j));
        urc_value *table = NULL, *index = NULL;
        if (compact_bias(c, f->name, dt, bt->data, H, L, S, &table, &index)) {
            urc_tensor_free(bt);
            f->in[3] = table;
            f->in[4] = index;
        } else {
            f->in[3] = urc_const_new(c->g, urc_fmt("%s/bias", f->name), bt);
        }
    }
    if (mask) {
        int64_t nW = mask->shape.dims[mask->shape.rank - 4 >= 0 ? mask->shape.rank - 4 : 0];
        if (mask->shape.rank < 4) nW = 1;
        double *md = urc_xmalloc(sizeof(double) * (size_t)(nW * L * S));
        /* M right-aligned to [b, nW, H, L, S]: nW at dim 1, i.e. rank - 4 of M */
        int mr = mask->shape.rank;
        for (int64_t w = 0; w < nW; w++)
            for (int64_t i = 0; i < L; i++)
                for (int64_t j = 0; j < S; j++) {
                    int64_t e = 0, at[5] = {0, w, 0, i, j};
                    for (int d = 0; d < mr; d++) {
                        int fd = 5 - mr + d;
                        e = e * mask->shape.dims[d] + (mask->shape.dims[d] == 1 ? 0 : at[fd]);
                    }
                    md[(w * L + i) * S + j] = urc_elem_f64(mask->dtype, mask->data, e);
                }
        double mv = 0;
        urc_value *ids = L == S ? compact_mask(c, f->name, md, nW, L, &mv) : NULL;
        if (ids) {
            f->in[5] = ids;
            f->a.attention.mask_value = mv;
        } else {
            urc_shape ms = {3, {nW, L, S}};
            urc_tensor *mt = urc_tensor_new(dt, &ms);
            for (int64_t e = 0; e < nW * L * S; e++) urc_elem_set_f64(dt, mt->data, e, md[e]);
            f->in[5] = urc_const_new(c->g, urc_fmt("%s/mask", f->name), mt);
        }
        free(md);
    }
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
    urc_node *chain[10];
    int nc = 0;
    chain[nc++] = m1;
    double scale = 1, x;
    /* Swin scales q before the product: q = Mul(q0, scale) */
    urc_node *qm = q->producer;
    if (qm && qm->op == URC_OP_MUL && qm->nin == 2 && plain(q, 1) && urc_shape_eq(&qm->in[0]->shape, &q->shape) &&
        qm->in[0]->dtype == q->dtype && scalar_const(qm->in[1], &x)) {
        scale = x;
        chain[nc++] = qm;
        q = qm->in[0];
    } else {
        qm = NULL;
    }
    urc_value *tscale = NULL;
    urc_node *n = urc_only_reader(c->reader, s);
    if (n && n->nin == 2 && n->op == URC_OP_MUL && (n->in[0] == s || n->in[1] == s) &&
        scalar_const(n->in[0] == s ? n->in[1] : n->in[0], &x)) {
        scale *= x;
    } else if (n && n->nin == 2 && n->op == URC_OP_MUL && (n->in[0] == s || n->in[1] == s) &&
               head_const(n->in[0] == s ? n->in[1] : n->in[0], &s->shape)) {
        tscale = n->in[0] == s ? n->in[1] : n->in[0];
    } else if (n && n->nin == 2 && n->op == URC_OP_DIV && n->in[0] == s && scalar_const(n->in[1], &x) && x != 0) {
        scale /= x;
    } else {
        n = NULL;
    }
    if (n) {
        if (!urc_shape_eq(&n->out[0]->shape, &s->shape) || n->out[0]->dtype != s->dtype) return false;
        chain[nc++] = n;
        s = n->out[0];
        n = urc_only_reader(c->reader, s);
    } else {
        n = urc_only_reader(c->reader, s);
    }
    /* the relative-position bias: Add(s, C [.., 1, H|1, L, S]) */
    const urc_shape *ss = &s->shape;
    urc_value *bias = NULL, *mask = NULL;
    if (n && n->op == URC_OP_ADD && n->nin == 2 && r >= 3 && (n->in[0] == s) != (n->in[1] == s)) {
        bool keep[URC_MAX_RANK] = {0};
        keep[r - 3] = keep[r - 2] = keep[r - 1] = true;
        urc_value *cv = n->in[0] == s ? n->in[1] : n->in[0];
        if (bcast_const(cv, ss, keep) && urc_shape_eq(&n->out[0]->shape, ss) && cv->dtype == s->dtype) {
            bias = cv;
            chain[nc++] = n;
            s = n->out[0];
            n = urc_only_reader(c->reader, s);
        }
    }
    /* the shifted-window mask: Reshape [b, nW, H, L, S], Add(., M [1, nW, 1, L, S]), Reshape back */
    if (n && n->op == URC_OP_RESHAPE && r == 4) {
        urc_value *s5 = n->out[0];
        urc_node *ad = urc_only_reader(c->reader, s5), *rb = ad ? urc_only_reader(c->reader, ad->out[0]) : NULL;
        const urc_shape *x5 = &s5->shape;
        bool keep[URC_MAX_RANK] = {false, true, false, true, true};
        if (x5->rank == 5 && x5->dims[0] * x5->dims[1] == ss->dims[0] && x5->dims[2] == ss->dims[1] &&
            x5->dims[3] == ss->dims[2] && x5->dims[4] == ss->dims[3] && ad && ad->op == URC_OP_ADD && ad->nin == 2 &&
            (ad->in[0] == s5) != (ad->in[1] == s5) && urc_shape_eq(&ad->out[0]->shape, x5) && rb &&
            rb->op == URC_OP_RESHAPE && urc_shape_eq(&rb->out[0]->shape, ss)) {
            urc_value *mv = ad->in[0] == s5 ? ad->in[1] : ad->in[0];
            /* a mask too big for folding (Swin BTCV: [343, 343, 343]) is evaluated here, to become region ids */
            if (!mv->data && mv->dtype == s->dtype) urc_fold_cone(mv, MASK_FOLD_BYTES);
            if (bcast_const(mv, x5, keep) && mv->dtype == s->dtype) {
                mask = mv;
                chain[nc++] = n;
                chain[nc++] = ad;
                chain[nc++] = rb;
                s = rb->out[0];
                n = urc_only_reader(c->reader, s);
            }
        }
    }
    if (!n || n->op != URC_OP_SOFTMAX || n->a.softmax.axis != r - 1) return false;
    chain[nc++] = n;
    urc_value *p = n->out[0];
    urc_node *m2 = urc_only_reader(c->reader, p);
    if (m2 && m2->op == URC_OP_CAST && m2->a.cast.to == p->dtype) { /* Swin's .to(v.dtype) */
        chain[nc++] = m2;
        p = m2->out[0];
        m2 = urc_only_reader(c->reader, p);
    }
    if (!m2 || m2->op != URC_OP_MATMUL || m2->nin != 2 || m2->in[0] != p || m2->in[1] == p) return false;
    urc_value *v = m2->in[1];
    if (!same_batch(&q->shape, &v->shape) || v->shape.dims[r - 2] != S || v->dtype != s->dtype) return false;
    bool extras = bias || mask;
    urc_node *f = urc_node_in_place_of(g, &c->pos, m2, URC_OP_ATTENTION, urc_fmt("%s/attention", m1->name),
                                       tscale   ? 7
                                       : extras ? 6
                                                : 3);
    f->in[0] = q;
    f->in[1] = kt;
    f->in[2] = v;
    memset(&f->a, 0, sizeof f->a);
    f->a.attention.scale = scale;
    if (extras || tscale) f->in[3] = f->in[4] = f->in[5] = NULL;
    if (extras) attach_extras(c, f, bias, mask, ss);
    if (tscale) f->in[6] = tscale;
    for (int i = 0; i < nc; i++) urc_node_drop(chain[i]);
    if (!urc_ops[URC_OP_ATTENTION].impl->infer(f)) {
        urc_error(urc_node_where(m1), "internal: fusing into %s failed", urc_ops[URC_OP_ATTENTION].name);
        *ok = false;
    }
    if (urc_verbose)
        urc_note("attention: '%s' .. '%s' -> Attention (scale %s)", m1->name, m2->name,
                 tscale ? urc_fmt("%g per batch element", scale) : urc_fmt("%g", scale));
    if (*ok && !tscale) absorb_qkv(c, f);
    return true;
}

bool urc_pass_attention(urc_graph *g) {
    urc_graph_count_uses(g);
    actx c = {g, urc_graph_readers(g), {0}, NULL, 0, 0, g->nodes.len, {0}};
    urc_node_index_build(&c.pos, g);
    bool any = false, ok = true;
    int n0 = g->nodes.len;
    for (int i = 0; i < n0; i++) {
        urc_node *n = g->nodes.items[i];
        if (n->op == URC_OP_MATMUL && fuse_one(&c, n, &ok)) any = true;
    }
    free(c.reader);
    free(c.shared);
    urc_node_index_free(&c.pos);
    urc_graph_place_appended(g, c.n0, c.owner.items); /* each V^T Transpose right before its attention */
    free(c.owner.items);
    if (any) {
        urc_graph_compact(g);
        urc_graph_count_uses(g);
    }
    return ok;
}
