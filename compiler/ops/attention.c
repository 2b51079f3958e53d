/* attention.c: the internal unetrc.Attention (passes/attention.c makes it).
 *
 *   Attention(Q [b.., Lq, D], KT [b.., D, Lk], V [b.., Lk, Dv], [bias], [index], [mask]) scale
 *     = softmax(scale * Q @ KT + bias + mask, last axis) @ V   -> [b.., Lq, Dv]
 *
 * which is MONAI's self-attention per head: MatMul(q, k^T) -> Mul(scale)
 * -> Softmax(-1) -> MatMul(., v), and Swin's window attention, which adds a
 * relative-position bias per head and, in shifted windows, a mask per
 * window before the softmax. The batch dims of Q, KT and V are equal (no
 * broadcasting). Float32/float64.
 *
 * Heads and batch: the dim before Lq (rank >= 3) is the head h of H, the
 * dims before it flatten into the batch index b of B (layout 1: see below).
 * Optional inputs (absent ones are empty slots):
 *   3 bias, without 4: [H, Lq, Lk], added to the scores of head h;
 *   3 bias table [T, H] with 4 index (integers in [0, T), [Lq, Lk]): the
 *     bias of head h at (i, j) is table[index[i, j], h] (a relative-position
 *     bias kept at its source size: the table and one index per window size,
 *     instead of H * Lq * Lk values);
 *   5 mask, float [nW, Lq, Lk]: added to the scores of batch index b, window
 *     w = b mod nW (B a multiple of nW); or integer region ids [nW, Lq]
 *     (Lq = Lk): mask(w, i, j) = 0 when ids[w, i] == ids[w, j], else the
 *     attribute mask_value (Swin's shifted-window mask, nW * Lq values
 *     instead of nW * Lq * Lk).
 *   6 score factor T, a float constant whose last two dims are 1 and whose
 *     other dims broadcast to the batch dims (UNETR++'s learned temperature
 *     [H, 1, 1] per head): the scores of batch element b (batch and head
 *     dims flattened) are scaled by scale * T[b]. Layout 0 only.
 * The sum is (scale * (Q K^T) + bias) + mask, in that order.
 *
 * Layout 1 (the pass sets it when it can also absorb MONAI's rearranges):
 *   Attention(R [B, L, 3, H, D], K^T [B, H, D, L], R, ...) -> Y [B, L, H, D]
 * with R the packed qkv projection (a view of the qkv MatMul's output):
 * head h of q is R[:, :, 0, h, :], of v R[:, :, 2, h, :], and Y is written
 * in the order the out-projection reads ([B, L, H*D] after a free Reshape).
 * This saves the Transpose [2,0,3,1,4], the three Gathers and the output
 * Transpose [0,2,1,3] around every attention (K^T is still made by a Gather
 * and a Transpose, since the score tiles stream rows of K^T).
 * Layout 2: as layout 1, but V given as V^T [B, H, Dv, L] (a Gather and a
 * Transpose like K^T's): for narrow heads, whose output is computed along
 * rows of V^T (out_dots), which layout 1 would copy out of R one token's
 * cache line at a time.
 *
 * Lowering: one work item per (batch element, head, block of MR query
 * rows), all in parallel. A block never materialises more than its own
 * MR x Lk rows of scores, in a local array (the pass only fuses when that
 * fits):
 *   1. scores: register tiles of MR x NR (as in ops/matmul.c) over the
 *      columns of KT, scaled on store, bias and mask added on store;
 *   2. softmax of each row in place: m = max, s = exp(s - m), sum in
 *      double, 1/sum kept per row;
 *   3. output: register tiles over the columns of V, A read from the
 *      scores, each row scaled by its 1/sum on store. */
#include "common.h"

/* ---- geometry ---------------------------------------------------------------- */

/* For batch element b (of B) and head h (of H): Q (i, d) at
 * b*q_sb + h*q_sh + q_o + i*q_si + d, K^T (d, j) at b*k_sb + h*k_sh + d*Lk + j,
 * V (j, c) at b*v_sb + h*v_sh + v_o + j*v_sj + c*v_sc, Y (i, c) at
 * b*y_sb + h*y_sh + i*y_si + c. Layout 0: H is the dim before Lq (1 for
 * rank 2), the dims before it flatten into B. bias: 0 none, 1 dense
 * [H, Lq, Lk], 2 table [T, H] + index; mask: 0 none, 1 dense [nW, Lq, Lk],
 * 2 region ids [nW, Lq]. */
typedef struct at_geom {
    int64_t B, H, Lq, Lk, D, Dv, T, nW;
    int bias, mask;
    int64_t q_sb, q_sh, q_o, q_si;
    int64_t k_sb, k_sh;
    int64_t v_sb, v_sh, v_o, v_sj, v_sc;
    int64_t y_sb, y_sh, y_si;
} at_geom;

static void at_extras(const urc_node *n, at_geom *g) {
    const urc_value *b = n->nin > 3 ? n->in[3] : NULL, *ix = n->nin > 4 ? n->in[4] : NULL,
                    *m = n->nin > 5 ? n->in[5] : NULL;
    g->bias = !b ? 0 : ix ? 2 : 1;
    if (g->bias == 2) g->T = b->shape.dims[0];
    g->mask = !m ? 0 : urc_dtype_is_float(m->dtype) ? 1 : 2;
    g->nW = m ? m->shape.dims[0] : 1;
}

static void at_geometry(const urc_node *n, at_geom *g) {
    memset(g, 0, sizeof *g);
    at_extras(n, g);
    const urc_shape *q = &n->in[0]->shape, *kt = &n->in[1]->shape;
    int r = q->rank;
    if (n->a.attention.layout) {
        int64_t L = q->dims[1], H = q->dims[3], D = q->dims[4];
        g->B = q->dims[0];
        g->H = H;
        g->Lq = g->Lk = L;
        g->D = g->Dv = D;
        g->q_sb = g->v_sb = L * 3 * H * D;
        g->q_sh = g->v_sh = D;
        g->q_si = g->v_sj = 3 * H * D;
        g->v_sc = 1;
        g->q_o = 0;
        g->v_o = 2 * H * D;
        g->k_sb = H * D * L;
        g->k_sh = D * L;
        g->y_sb = L * H * D;
        g->y_sh = D;
        g->y_si = H * D;
        if (n->a.attention.layout == 2) { /* V^T [B, H, D, L] */
            g->v_sb = H * D * L;
            g->v_sh = D * L;
            g->v_o = 0;
            g->v_sj = 1;
            g->v_sc = L;
        }
        return;
    }
    g->H = r >= 3 ? q->dims[r - 3] : 1;
    g->Lq = q->dims[r - 2];
    g->D = q->dims[r - 1];
    g->Lk = kt->dims[r - 1];
    g->Dv = n->in[2]->shape.dims[r - 1];
    int64_t per = g->H * g->Lq * g->D;
    g->B = per ? urc_shape_numel(q) / per : 0;
    g->q_sh = g->Lq * g->D;
    g->q_sb = g->H * g->q_sh;
    g->q_si = g->D;
    g->k_sh = g->D * g->Lk;
    g->k_sb = g->H * g->k_sh;
    g->v_sh = g->Lk * g->Dv;
    g->v_sb = g->H * g->v_sh;
    g->v_sj = g->Dv;
    g->v_sc = 1;
    g->y_sh = g->Lq * g->Dv;
    g->y_sb = g->H * g->y_sh;
    g->y_si = g->Dv;
}

/* ---- infer / eval ---------------------------------------------------------- */

/* The score factor of each element b of the flattened batch and head dims
 * (layout 0): scale times input 6 broadcast to those dims, or scale alone. */
static double *batch_scales(const urc_node *n, int64_t B) {
    double *f = urc_xmalloc(sizeof(double) * (size_t)(B ? B : 1));
    const urc_value *t = n->nin > 6 ? n->in[6] : NULL;
    urc_shape bs = n->in[0]->shape, ts = {0, {0}};
    bs.rank -= 2;
    if (t) {
        ts = t->shape;
        ts.rank -= 2;
        if (ts.rank < 0) ts.rank = 0;
    }
    for (int64_t b = 0; b < B; b++)
        f[b] = n->a.attention.scale *
               (t ? urc_elem_f64(t->dtype, t->data, ts.rank ? urc_bcast_offset(&bs, &ts, b) : 0) : 1.0);
    return f;
}

/* The optional bias, index and mask inputs against the geometry. */
static bool extras_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    at_geom g;
    at_geometry(n, &g);
    const urc_value *b = n->nin > 3 ? n->in[3] : NULL, *ix = n->nin > 4 ? n->in[4] : NULL,
                    *m = n->nin > 5 ? n->in[5] : NULL;
    if (ix && !b) {
        urc_error(where, "a bias index without a bias table");
        return false;
    }
    if (b && (!urc_check_same_dtype(n, 0, 3) || !urc_check_rank(n, 3, g.bias == 2 ? 2 : 3, g.bias == 2 ? 2 : 3)))
        return false;
    if (g.bias == 1 && (b->shape.dims[0] != g.H || b->shape.dims[1] != g.Lq || b->shape.dims[2] != g.Lk)) {
        urc_error(where, "bias %s is not [H, Lq, Lk] = [%lld, %lld, %lld]", urc_shape_str(&b->shape), (long long)g.H,
                  (long long)g.Lq, (long long)g.Lk);
        return false;
    }
    if (g.bias == 2) {
        if (!urc_check_dtype(n, 4, URC_DTM_SINT | URC_DTM_UINT) || !urc_check_rank(n, 4, 2, 2)) return false;
        if (b->shape.dims[1] != g.H || ix->shape.dims[0] != g.Lq || ix->shape.dims[1] != g.Lk || !ix->data) {
            urc_error(where, "bias table %s and index %s are not [T, %lld] and a constant [%lld, %lld]",
                      urc_shape_str(&b->shape), urc_shape_str(&ix->shape), (long long)g.H, (long long)g.Lq,
                      (long long)g.Lk);
            return false;
        }
        int64_t ne = g.Lq * g.Lk;
        for (int64_t e = 0; e < ne; e++) {
            int64_t t = urc_elem_i64(ix->dtype, ix->data, e);
            if (t < 0 || t >= g.T) {
                urc_error(where, "bias index %lld at %lld is outside the table's %lld rows", (long long)t, (long long)e,
                          (long long)g.T);
                return false;
            }
        }
    }
    if (m) {
        bool ok = m->shape.rank == (g.mask == 1 ? 3 : 2) && m->shape.dims[0] >= 1 && g.B % m->shape.dims[0] == 0 &&
                  m->shape.dims[1] == g.Lq && (g.mask == 2 ? g.Lq == g.Lk : m->shape.dims[2] == g.Lk);
        if (g.mask == 1 && !urc_check_same_dtype(n, 0, 5)) return false;
        if (g.mask == 2 && !urc_check_dtype(n, 5, URC_DTM_SINT | URC_DTM_UINT)) return false;
        if (!ok) {
            urc_error(where, "mask %s is not [nW, %lld, %lld] (float) or [nW, %lld] (region ids) with nW dividing %lld",
                      urc_shape_str(&m->shape), (long long)g.Lq, (long long)g.Lk, (long long)g.Lq, (long long)g.B);
            return false;
        }
    }
    return true;
}

static bool attention_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    for (int i = 0; i < 3; i++)
        if (!urc_check_dtype(n, i, URC_DTM_FLOAT) || !urc_reject_half(n, i) || !urc_check_same_dtype(n, 0, i) ||
            !urc_check_rank(n, i, 2, URC_MAX_RANK))
            return false;
    const urc_shape *q = &n->in[0]->shape, *kt = &n->in[1]->shape, *v = &n->in[2]->shape;
    int r = q->rank;
    if (n->nin > 6 && n->in[6]) {
        const urc_value *t = n->in[6];
        const urc_shape *ts = &t->shape;
        bool ok = urc_dtype_is_float(t->dtype) && t->data && n->a.attention.layout == 0 && ts->rank >= 2 &&
                  ts->rank <= r && ts->dims[ts->rank - 1] == 1 && ts->dims[ts->rank - 2] == 1;
        for (int d = 0; ok && d < ts->rank - 2; d++) {
            int64_t qd = q->dims[d + r - ts->rank];
            ok = ts->dims[d] == 1 || ts->dims[d] == qd;
        }
        if (!ok) {
            urc_error(where,
                      "the score factor %s must be a float constant [.., 1, 1] broadcasting to the batch dims "
                      "of Q%s (layout 0)",
                      urc_shape_str(ts), urc_shape_str(q));
            return false;
        }
    }
    if (n->a.attention.layout) {
        int lay = n->a.attention.layout;
        bool ok = lay <= 2 && r == 5 && q->dims[2] == 3 && kt->rank == 4 && kt->dims[0] == q->dims[0] &&
                  kt->dims[1] == q->dims[3] && kt->dims[2] == q->dims[4] && kt->dims[3] == q->dims[1] &&
                  (lay == 1 ? urc_shape_eq(q, v) : urc_shape_eq(kt, v));
        if (!ok) {
            urc_error(where, "layout %d takes qkv [B, L, 3, H, D], K^T [B, H, D, L] and %s, got %s, %s, %s", lay,
                      lay == 1 ? "qkv again" : "V^T [B, H, D, L]", urc_shape_str(q), urc_shape_str(kt),
                      urc_shape_str(v));
            return false;
        }
        urc_shape ys = {4, {q->dims[0], q->dims[1], q->dims[3], q->dims[4]}};
        urc_set_out(n, 0, n->in[0]->dtype, &ys);
        return extras_infer(n);
    }
    bool ok = kt->rank == r && v->rank == r;
    for (int d = 0; ok && d < r - 2; d++) ok = q->dims[d] == kt->dims[d] && q->dims[d] == v->dims[d];
    ok = ok && q->dims[r - 1] == kt->dims[r - 2] && kt->dims[r - 1] == v->dims[r - 2];
    if (!ok) {
        urc_error(where,
                  "Q%s, K^T%s and V%s do not make an attention (equal batch dims, Q [.., L, D], K^T [.., D, S], "
                  "V [.., S, Dv])",
                  urc_shape_str(q), urc_shape_str(kt), urc_shape_str(v));
        return false;
    }
    urc_shape ys = *q;
    ys.dims[r - 1] = v->dims[r - 1];
    urc_set_out(n, 0, n->in[0]->dtype, &ys);
    return extras_infer(n);
}

/* bf16 output (ir.h's bf16_store): any float32 attention stores Y rounded as it stores it (the transformers'
 * attention before the output projection's Cast, behind the Reshape that merges the heads). */
static bool attention_bf16_store(const urc_node *n, const urc_target *t) {
    (void)t;
    return n->in[0]->dtype == URC_DT_F32 && n->out[0]->dtype == URC_DT_F32;
}

/* bias + mask of scores (b, h, i, j) (0 without either). */
static double extras_at(const urc_node *n, urc_tensor *const *in, const at_geom *g, int64_t b, int64_t h, int64_t i,
                        int64_t j) {
    double x = 0;
    if (g->bias == 1) x = urc_elem_f64(in[3]->dtype, in[3]->data, (h * g->Lq + i) * g->Lk + j);
    if (g->bias == 2) {
        int64_t t = urc_elem_i64(in[4]->dtype, in[4]->data, i * g->Lk + j);
        x = urc_elem_f64(in[3]->dtype, in[3]->data, t * g->H + h);
    }
    int64_t w = b % g->nW;
    if (g->mask == 1) x += urc_elem_f64(in[5]->dtype, in[5]->data, (w * g->Lq + i) * g->Lk + j);
    if (g->mask == 2 && urc_elem_i64(in[5]->dtype, in[5]->data, w * g->Lq + i) !=
                            urc_elem_i64(in[5]->dtype, in[5]->data, w * g->Lq + j))
        x += n->a.attention.mask_value;
    return x;
}

static bool attention_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *Q = in[0], *KT = in[1], *V = in[2];
    urc_tensor *Y = out[0];
    at_geom g;
    at_geometry(n, &g);
    double *scales = batch_scales(n, g.B * g.H);
    double *s = urc_xmalloc(sizeof(double) * (size_t)(g.Lk ? g.Lk : 1));
    for (int64_t b = 0; b < g.B; b++)
        for (int64_t h = 0; h < g.H; h++) {
            double scale = scales[b * g.H + h];
            int64_t qo = b * g.q_sb + h * g.q_sh + g.q_o, ko = b * g.k_sb + h * g.k_sh;
            int64_t vo = b * g.v_sb + h * g.v_sh + g.v_o, yo = b * g.y_sb + h * g.y_sh;
            for (int64_t i = 0; i < g.Lq; i++) {
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j < g.Lk; j++) {
                    double acc = 0;
                    for (int64_t d = 0; d < g.D; d++)
                        acc += urc_elem_f64(Q->dtype, Q->data, qo + i * g.q_si + d) *
                               urc_elem_f64(KT->dtype, KT->data, ko + d * g.Lk + j);
                    s[j] = acc * scale;
                    if (g.bias || g.mask) s[j] += extras_at(n, in, &g, b, h, i, j);
                    if (s[j] > mx) mx = s[j];
                }
                for (int64_t j = 0; j < g.Lk; j++) {
                    s[j] = exp(s[j] - mx); /* a NaN score makes the row NaN */
                    sum += s[j];
                }
                for (int64_t c = 0; c < g.Dv; c++) {
                    double acc = 0;
                    for (int64_t j = 0; j < g.Lk; j++)
                        acc += s[j] / sum * urc_elem_f64(V->dtype, V->data, vo + j * g.v_sj + c * g.v_sc);
                    urc_elem_set_f64(Y->dtype, Y->data, yo + i * g.y_si + c, acc);
                }
            }
        }
    free(s);
    free(scales);
    return true;
}

/* ---- lowering ---------------------------------------------------------------- */

typedef struct at_ctx {
    urc_dtype ydt; /* Y's: dt, or bf16 (attention_bf16_store) */
    urc_lower *L;
    urc_kernel *k;
    urc_dtype dt;
    int bq, bkt, bvv, by;
    int bbias, bidx, bmask; /* optional inputs (-1: absent) */
    int bb;                 /* the bias rows of the chunk for the head (table bias), or -1 */
    int qc;                 /* the chunk's rows of Q, scaled */
    int vt;                 /* V^T of the batch element and head, rows padded to Lp (dot_out), or -1 */
    urc_lx *bx, *hx, *wx;   /* batch element; head; window of the batch element (mask) */
    urc_lx *r0;             /* first query row of the chunk */
    at_geom g;
    int64_t Lq, Lk, Lp, D, Dv, MR, NR, CR;
    urc_lx *qb, *kb, *vb, *yb; /* element offsets of the current batch element and head */
    int vi, vj, vk, vp, va, vmx, vsum, ve, vl, vx, vtt, vn, vf, vc, vme, vlo;
    bool dot_out; /* small Dv: the output as dot products with V^T (out_dots) */
    int64_t lanes;
    double scale, mask_value;
    int scales;      /* buffer of the factors of input 6 per batch element x head, or -1 */
    bool table_rows; /* the bias table read as [T, H] (a run-time value), not transposed */
} at_ctx;

static urc_lx *bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_bin(op, a, b); }
static urc_lx *max_sel(urc_lx *a, urc_lx *b) { return urc_lx_sel(bin(URC_L_GT, a, b), a, b); }

/* v + the bias and mask of score (i, j) of the current head and window
 * (li: row i within the chunk, for the staged bias rows). */
static urc_lx *add_extras(at_ctx *c, urc_lx *v, urc_lx *i, urc_lx *li, urc_lx *j) {
    urc_kernel *k = c->k;
    const at_geom *g = &c->g;
    if (g->bias == 1)
        v = bin(URC_L_ADD, v,
                urc_lx_load(k, c->bbias, urc_add(urc_muli(c->hx, c->Lq * c->Lk), urc_add(urc_muli(i, c->Lk), j))));
    if (g->bias == 2) v = bin(URC_L_ADD, v, urc_lx_load(k, c->bb, urc_add(urc_muli(li, c->Lk), j)));
    if (g->mask == 1)
        v = bin(URC_L_ADD, v,
                urc_lx_load(k, c->bmask, urc_add(urc_muli(urc_add(urc_muli(c->wx, c->Lq), i), c->Lk), j)));
    if (g->mask == 2) {
        urc_lx *wb = urc_muli(c->wx, c->Lq);
        urc_lx *same =
            bin(URC_L_EQ, urc_lx_load(k, c->bmask, urc_add(wb, i)), urc_lx_load(k, c->bmask, urc_add(wb, j)));
        v = bin(URC_L_ADD, v, urc_lx_sel(same, urc_lx_const(0, c->dt), urc_lx_const(c->mask_value, c->dt)));
    }
    return v;
}

/* Element (j, col) of V of the current batch element and head. */
static urc_lx *v_at(at_ctx *c, urc_lx *j, urc_lx *col) {
    return urc_lx_load(c->k, c->bvv, urc_add(c->vb, urc_add(urc_muli(j, c->g.v_sj), urc_muli(col, c->g.v_sc))));
}

/* One register tile: acc[mr][nr] = sum over kk in [0, K) of A(i, kk) * B(kk, n0 + j),
 * then stored. which = 0: scores (A = the scaled Q rows qc, B = KT, into s
 * with bias and mask added, and the running row maxima pmx [mr, NR]);
 * 1: output (A = s, B = V, into Y scaled by rinv[i]). */
static void tile(at_ctx *c, urc_ls *parent, int which, urc_lx *i0, int64_t mr, urc_lx *n0, int64_t nr, int s, int rinv,
                 int pmx) {
    urc_kernel *k = c->k;
    urc_dtype dt = c->dt;
    urc_ls *blk = urc_ls_block();
    urc_ls_push(parent, blk);
    int acc = urc_kernel_local(k, which ? "acc_o" : "acc_s", dt, mr * nr);
    urc_ls_array(blk, k, acc);
    urc_lx *ix = urc_lx_var(k, c->vi), *jx = urc_lx_var(k, c->vj), *kx = urc_lx_var(k, c->vk);
    urc_lx *aidx = urc_add(urc_muli(ix, nr), jx);
    urc_lx *li = urc_add(urc_sub(i0, c->r0), ix); /* row within the chunk */
    /* rows unrolled, columns a simd loop (see ops/matmul.c micro) */
    const unsigned U = URC_FOR_UNROLL, UV = URC_FOR_VECTOR;
    urc_ls *il = urc_ls_for(blk, c->vi, urc_lx_int(0), urc_lx_int(mr), 1, U);
    urc_ls *jl = urc_ls_for(il, c->vj, urc_lx_int(0), urc_lx_int(nr), 1, UV);
    urc_ls_store(jl, acc, aidx, urc_lx_const(0, dt));
    int64_t K = which ? c->Lk : c->D;
    urc_ls *kl = urc_ls_for(blk, c->vk, urc_lx_int(0), urc_lx_int(K), 1, 0);
    il = urc_ls_for(kl, c->vi, urc_lx_int(0), urc_lx_int(mr), 1, U);
    urc_lx *a, *b;
    if (!which) {
        a = urc_lx_load(k, c->qc, urc_add(urc_muli(li, c->D), kx));
        b = urc_lx_load(k, c->bkt, urc_add(c->kb, urc_add(urc_muli(kx, c->Lk), urc_add(n0, jx))));
    } else {
        a = urc_lx_load(k, s, urc_add(urc_muli(ix, c->Lp), kx));
        b = v_at(c, kx, urc_add(n0, jx));
    }
    urc_ls_decl(il, c->va, a);
    jl = urc_ls_for(il, c->vj, urc_lx_int(0), urc_lx_int(nr), 1, UV);
    urc_ls_store(jl, acc, aidx, urc_lx_fma(urc_lx_var(k, c->va), b, urc_lx_load(k, acc, aidx)));
    il = urc_ls_for(blk, c->vi, urc_lx_int(0), urc_lx_int(mr), 1, U);
    jl = urc_ls_for(il, c->vj, urc_lx_int(0), urc_lx_int(nr), 1, UV);
    urc_lx *v = urc_lx_load(k, acc, aidx);
    if (!which) {
        urc_ls_decl(jl, c->vx, add_extras(c, v, urc_add(i0, ix), li, urc_add(n0, jx)));
        urc_lx *x = urc_lx_var(k, c->vx), *pi = urc_add(urc_muli(ix, c->NR), jx);
        urc_ls_store(jl, s, urc_add(urc_muli(ix, c->Lp), urc_add(n0, jx)), x);
        urc_ls_store(jl, pmx, pi, max_sel(x, urc_lx_load(k, pmx, pi)));
    } else {
        urc_lx *yi = urc_add(c->yb, urc_add(urc_muli(urc_add(i0, ix), c->g.y_si), urc_add(n0, jx)));
        urc_ls_store(jl, c->by, yi, urc_lx_cast(c->ydt, bin(URC_L_MUL, v, urc_lx_load(k, rinv, ix))));
    }
}

/* Column panels of width NR over [0, N), the last one narrower. */
static void panels(at_ctx *c, urc_ls *parent, int which, urc_lx *i0, int64_t mr, int64_t N, int s, int rinv, int pmx) {
    int64_t nf = N / c->NR, nre = N % c->NR;
    if (nf) {
        urc_ls *pl = urc_ls_for(parent, c->vp, urc_lx_int(0), urc_lx_int(nf * c->NR), c->NR, 0);
        tile(c, pl, which, i0, mr, urc_lx_var(c->k, c->vp), c->NR, s, rinv, pmx);
    }
    if (nre) tile(c, parent, which, i0, mr, urc_lx_int(nf * c->NR), nre, s, rinv, pmx);
}

/* exp(x) for x in [-87.4, 0] as plain arithmetic the C compiler can
 * vectorise (libm's expf is a call per element): t = x log2(e) = n + f
 * with n integer (round to nearest by adding and subtracting 1.5 * 2^23)
 * and |f| <= 1/2; e^(f ln 2) by a degree-5 polynomial fitted to e^y on
 * |y| <= ln(2)/2 (relative error 9e-8 in exact arithmetic, 1.8e-7 in
 * float32 Horner steps), 2^n from its bits. Declares scalars in `at`.
 * float32 only (the rounding constant is float32's); the caller keeps x
 * in range (2^n a normal number: n >= -126). */
static urc_lx *exp_core(at_ctx *c, urc_ls *at, urc_lx *x) {
    urc_kernel *k = c->k;
    urc_dtype dt = c->dt;
    urc_ls_decl(at, c->vtt, bin(URC_L_MUL, x, urc_lx_const(1.4426950408889634, dt)));
    urc_lx *tt = urc_lx_var(k, c->vtt);
    urc_lx *magic = urc_lx_const(12582912.0, dt);
    urc_ls_decl(at, c->vn, bin(URC_L_SUB, bin(URC_L_ADD, tt, magic), magic));
    urc_lx *nv = urc_lx_var(k, c->vn);
    urc_ls_decl(at, c->vf, bin(URC_L_MUL, bin(URC_L_SUB, tt, nv), urc_lx_const(0.6931471805599453, dt)));
    urc_lx *f = urc_lx_var(k, c->vf);
    /* least-squares fit of the relative error, reweighted towards minimax
     * (Lawson's iteration) on 4001 Chebyshev points, the constant term fixed at 1 */
    static const double coef[6] = {
        1, 0.9999997071857708, 0.4999914952335592, 0.16667636201989744, 0.04189793026083748, 0.008290314642234113};
    urc_lx *p = urc_lx_const(coef[5], dt);
    for (int i = 4; i >= 0; i--) p = urc_lx_fma(p, f, urc_lx_const(coef[i], dt));
    /* 2^n as the float32 whose exponent field is n + 127 (n in [-126, 0]:
     * a normal number), where a table load is a slow gather */
    urc_lx *bits = urc_lx_inrange(
        bin(URC_L_MUL,
            urc_lx_inrange(bin(URC_L_ADD, urc_lx_inrange(urc_lx_cast(URC_DT_I32, nv)), urc_lx_const(127, URC_DT_I32))),
            urc_lx_const(1 << 23, URC_DT_I32)));
    return bin(URC_L_MUL, p, urc_lx_un(URC_L_BITS_F32, bits));
}

/* The output of rows [i0, i0 + mr) when Dv is narrower than a register
 * tile (Swin's heads have 2 to 32 channels): y(i, c) = rinv(i) * (s row i
 * . V^T row c), with V^T in the local array vt (rows padded to Lp with
 * zeros), vectorised along Lp instead of a tile only Dv wide: G rows at a
 * time (G * Dv <= 12 independent accumulators of W lanes, so that the FMA
 * latency is hidden). */
static void out_dots(at_ctx *c, urc_ls *blk, urc_lx *i0, int64_t mr, int s, int rinv) {
    urc_kernel *k = c->k;
    urc_dtype dt = c->dt;
    int64_t Lp = c->Lp, Dv = c->Dv, W = c->lanes;
    int64_t G = 12 / Dv < 1 ? 1 : 12 / Dv;
    if (G > mr) G = mr;
    while (mr % G) G--;
    urc_lx *ix = urc_lx_var(k, c->vi), *jx = urc_lx_var(k, c->vj), *cx = urc_lx_var(k, c->vc),
           *lx = urc_lx_var(k, c->vl);
    urc_lx *gx = urc_lx_var(k, c->vk);
    /* rows ii = i + g, g < G: acc[(g * Dv + c) * W + l] */
    urc_ls *il = urc_ls_for(blk, c->vi, urc_lx_int(0), urc_lx_int(mr), G, 0);
    int acc = urc_kernel_local(k, "dacc", dt, G * Dv * W);
    urc_ls_array(il, k, acc);
    urc_lx *ai = urc_add(urc_muli(urc_add(urc_muli(gx, Dv), cx), W), lx);
    urc_ls *gl = urc_ls_for(il, c->vk, urc_lx_int(0), urc_lx_int(G), 1, URC_FOR_UNROLL);
    urc_ls *cl = urc_ls_for(gl, c->vc, urc_lx_int(0), urc_lx_int(Dv), 1, URC_FOR_UNROLL);
    urc_ls *ll = urc_ls_for(cl, c->vl, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_VECTOR);
    urc_ls_store(ll, acc, ai, urc_lx_const(0, dt));
    urc_ls *jl = urc_ls_for(il, c->vj, urc_lx_int(0), urc_lx_int(Lp), W, 0);
    gl = urc_ls_for(jl, c->vk, urc_lx_int(0), urc_lx_int(G), 1, URC_FOR_UNROLL);
    cl = urc_ls_for(gl, c->vc, urc_lx_int(0), urc_lx_int(Dv), 1, URC_FOR_UNROLL);
    ll = urc_ls_for(cl, c->vl, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_VECTOR);
    urc_lx *j = urc_add(jx, lx);
    urc_ls_store(ll, acc, ai,
                 urc_lx_fma(urc_lx_load(k, s, urc_add(urc_muli(urc_add(ix, gx), Lp), j)),
                            urc_lx_load(k, c->vt, urc_add(urc_muli(cx, Lp), j)), urc_lx_load(k, acc, ai)));
    gl = urc_ls_for(il, c->vk, urc_lx_int(0), urc_lx_int(G), 1, URC_FOR_UNROLL);
    cl = urc_ls_for(gl, c->vc, urc_lx_int(0), urc_lx_int(Dv), 1, URC_FOR_UNROLL);
    urc_lx *a0 = urc_muli(urc_add(urc_muli(gx, Dv), cx), W);
    urc_ls_decl(cl, c->va, urc_lx_load(k, acc, a0));
    ll = urc_ls_for(cl, c->vl, urc_lx_int(1), urc_lx_int(W), 1, URC_FOR_UNROLL);
    urc_ls_assign(ll, c->va, bin(URC_L_ADD, urc_lx_var(k, c->va), urc_lx_load(k, acc, urc_add(a0, lx))));
    urc_lx *row = urc_add(ix, gx);
    urc_lx *yi = urc_add(c->yb, urc_add(urc_muli(urc_add(i0, row), c->g.y_si), cx));
    urc_ls_store(cl, c->by, yi, urc_lx_cast(c->ydt, bin(URC_L_MUL, urc_lx_var(k, c->va), urc_lx_load(k, rinv, row))));
}

/* buf[base + l], l < n, reduced into buf[base] by halving (n a power of two: the lanes of the target's vectors): log2(n)
 * steps of max_sel or + over the upper half instead of n - 1 dependent ones (a row's maximum of its 64 lanes was 63
 * dependent maxima, as long as the exponentials of a 343-wide row: Swin's windows). */
static void halve(at_ctx *c, urc_ls *at, int buf, urc_lx *base, int64_t n, bool add) {
    urc_kernel *k = c->k;
    URC_ASSERT(n >= 1 && !(n & (n - 1)), "attention: lanes not a power of two");
    for (int64_t h = n / 2; h >= 1; h /= 2) {
        urc_ls *l = urc_ls_for(at, c->vl, urc_lx_int(0), urc_lx_int(h), 1, h >= 4 ? URC_FOR_VECTOR : URC_FOR_UNROLL);
        urc_lx *i = urc_add(base, urc_lx_var(k, c->vl));
        urc_lx *a = urc_lx_load(k, buf, i), *b = urc_lx_load(k, buf, urc_addi(i, h));
        urc_ls_store(l, buf, i, add ? bin(URC_L_ADD, a, b) : max_sel(a, b));
    }
}

/* Softmax of row i of s in place, its 1/sum into rinv[i]: m = the row's
 * maximum (from pmx, the maxima the score tiles kept per column lane).
 * float32: s = exp(s - m) over the padded row (Lp) with exp_core, the
 * argument clamped to [-64, 0] by selects on s itself (gcc's vectoriser
 * takes a select of loaded values, not of arithmetic results, under
 * -ftrapping-math), and the terms at the clamp's floor set to 0: at most
 * e^-64 = 1.6e-28 of the row's largest term, exp(0) = 1, yet such tiny terms
 * (Swin's shifted-window mask adds -100) times V made subnormal products,
 * which this CPU's multiply-adds take microcode assists for (Swin UNETR fs 12
 * at 64^3: the masked attentions 2-3x the time of the unmasked ones, 150 ->
 * 95 ms of attention a forward). The clamp also keeps a NaN score from the polynomial: such
 * a score is counted in nanf and makes the row NaN, as does a non-finite
 * maximum (then m - m is NaN, and exp runs around 0 instead), as exp(s - m)
 * makes them in the reference. float64: libm's exp over [0, Lk), the
 * padding 0. Sums in W partial sums, then in double; the maximum, the
 * partial sums and the NaN lanes reduced by halving (halve). */
static void row_softmax(at_ctx *c, urc_ls *il, int s, int rinv, int pmx) {
    urc_kernel *k = c->k;
    urc_dtype dt = c->dt;
    int64_t W = c->lanes, Lp = c->Lp, Lk = c->Lk;
    urc_lx *ix = urc_lx_var(k, c->vi), *jx = urc_lx_var(k, c->vj), *lx = urc_lx_var(k, c->vl);
    urc_lx *row = urc_muli(ix, Lp);
    urc_lx *mx = urc_lx_var(k, c->vmx);
    urc_ls *ll;
    halve(c, il, pmx, urc_muli(ix, c->NR), c->NR, false);
    urc_ls_decl(il, c->vmx, urc_lx_load(k, pmx, urc_muli(ix, c->NR)));
    int part = urc_kernel_local(k, "part", dt, W);
    urc_ls_array(il, k, part);
    ll = urc_ls_for(il, c->vl, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_UNROLL);
    urc_ls_store(ll, part, lx, urc_lx_const(0, dt));
    urc_lx *d = NULL; /* NaN when the row is */
    if (dt != URC_DT_F32) {
        urc_ls *jl = urc_ls_for(il, c->vj, urc_lx_int(0), urc_lx_int(Lk), 1, 0);
        urc_lx *sj = urc_add(row, jx);
        urc_ls_store(jl, s, sj, urc_lx_un(URC_L_EXP, bin(URC_L_SUB, urc_lx_load(k, s, sj), mx)));
        urc_ls_accum(jl, part, urc_lx_int(0), urc_lx_load(k, s, sj));
        if (Lp > Lk) {
            jl = urc_ls_for(il, c->vj, urc_lx_int(Lk), urc_lx_int(Lp), 1, 0);
            urc_ls_store(jl, s, sj, urc_lx_const(0, dt));
        }
    } else {
        /* me = m when finite, else 0; lo = me - 64 */
        urc_ls_decl(il, c->ve, bin(URC_L_SUB, mx, mx));
        urc_lx *fin = bin(URC_L_EQ, urc_lx_var(k, c->ve), urc_lx_const(0, dt));
        urc_ls_decl(il, c->vme, urc_lx_sel(fin, mx, urc_lx_const(0, dt)));
        urc_lx *me = urc_lx_var(k, c->vme);
        urc_ls_decl(il, c->vlo, bin(URC_L_SUB, me, urc_lx_const(64, dt)));
        urc_lx *lo = urc_lx_var(k, c->vlo);
        int nanf = urc_kernel_local(k, "nanf", dt, W);
        urc_ls_array(il, k, nanf);
        ll = urc_ls_for(il, c->vl, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_UNROLL);
        urc_ls_store(ll, nanf, lx, urc_lx_const(0, dt));
        urc_ls *jl = urc_ls_for(il, c->vj, urc_lx_int(0), urc_lx_int(Lp), W, 0);
        ll = urc_ls_for(jl, c->vl, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_VECTOR);
        urc_lx *sj = urc_add(row, urc_add(jx, lx));
        urc_ls_decl(ll, c->vx, urc_lx_load(k, s, sj));
        urc_lx *x = urc_lx_var(k, c->vx);
        urc_ls_store(ll, nanf, lx, urc_lx_sel(bin(URC_L_NE, x, x), x, urc_lx_load(k, nanf, lx)));
        urc_ls_assign(ll, c->vx, max_sel(x, lo));
        urc_ls_assign(ll, c->vx, urc_lx_sel(bin(URC_L_LT, x, me), x, me));
        urc_ls_decl(ll, c->va, exp_core(c, ll, bin(URC_L_SUB, x, me)));
        urc_ls_assign(ll, c->va, urc_lx_sel(bin(URC_L_GT, x, lo), urc_lx_var(k, c->va), urc_lx_const(0, dt)));
        urc_ls_store(ll, s, sj, urc_lx_var(k, c->va));
        urc_ls_accum(ll, part, lx, urc_lx_var(k, c->va));
        halve(c, il, nanf, urc_lx_int(0), W, true); /* (0 or NaN lanes: NaN when any is) */
        urc_ls_assign(il, c->ve, bin(URC_L_ADD, urc_lx_var(k, c->ve), urc_lx_load(k, nanf, urc_lx_int(0))));
        d = urc_lx_var(k, c->ve);
    }
    int dpart = urc_kernel_local(k, "dpart", URC_DT_F64, W); /* (the partial sums in double, then halved) */
    urc_ls_array(il, k, dpart);
    ll = urc_ls_for(il, c->vl, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_VECTOR);
    urc_ls_store(ll, dpart, lx, urc_lx_cast(URC_DT_F64, urc_lx_load(k, part, lx)));
    halve(c, il, dpart, urc_lx_int(0), W, true);
    urc_ls_decl(il, c->vsum, urc_lx_load(k, dpart, urc_lx_int(0)));
    urc_lx *r = urc_lx_cast(dt, bin(URC_L_DIV, urc_lx_const(1, URC_DT_F64), urc_lx_var(k, c->vsum)));
    urc_ls_store(il, rinv, ix, d ? urc_lx_sel(bin(URC_L_NE, d, d), d, r) : r);
}

/* The whole computation for query rows [i0, i0 + mr). */
static void block(at_ctx *c, urc_ls *parent, urc_lx *i0, int64_t mr) {
    urc_kernel *k = c->k;
    urc_dtype dt = c->dt;
    urc_ls *blk = urc_ls_block();
    urc_ls_push(parent, blk);
    int s = urc_kernel_local(k, "s", dt, mr * c->Lp), rinv = urc_kernel_local(k, "rinv", dt, mr);
    int pmx = urc_kernel_local(k, "pmx", dt, mr * c->NR);
    urc_ls_array(blk, k, s);
    urc_ls_array(blk, k, rinv);
    urc_ls_array(blk, k, pmx);
    urc_lx *ix = urc_lx_var(k, c->vi), *jx = urc_lx_var(k, c->vj);
    urc_ls *jl = urc_ls_for(blk, c->vj, urc_lx_int(0), urc_lx_int(mr * c->NR), 1, URC_FOR_VECTOR);
    urc_ls_store(jl, pmx, jx, urc_lx_const(-INFINITY, dt));
    panels(c, blk, 0, i0, mr, c->Lk, s, rinv, pmx);
    if (c->Lp > c->Lk) { /* padding columns: exp takes them to (almost) 0, V^T is 0 there */
        urc_ls *il = urc_ls_for(blk, c->vi, urc_lx_int(0), urc_lx_int(mr), 1, 0);
        jl = urc_ls_for(il, c->vj, urc_lx_int(c->Lk), urc_lx_int(c->Lp), 1, 0);
        urc_ls_store(jl, s, urc_add(urc_muli(ix, c->Lp), jx), urc_lx_const(-INFINITY, dt));
    }
    urc_ls *il = urc_ls_for(blk, c->vi, urc_lx_int(0), urc_lx_int(mr), 1, 0);
    row_softmax(c, il, s, rinv, pmx);
    if (c->dot_out) out_dots(c, blk, i0, mr, s, rinv);
    else panels(c, blk, 1, i0, mr, c->Dv, s, rinv, pmx);
}

/* Per (batch element, head) of a chunk: the chunk's rows of Q scaled into
 * qc, and V^T (padded) into vt for out_dots. cr: the chunk's row count. */
static void stage_bh(at_ctx *c, urc_ls *body, urc_lx *cr) {
    urc_kernel *k = c->k;
    urc_dtype dt = c->dt;
    urc_lx *ix = urc_lx_var(k, c->vi), *jx = urc_lx_var(k, c->vj), *cx = urc_lx_var(k, c->vc);
    urc_ls_array(body, k, c->qc);
    urc_ls *il = urc_ls_for(body, c->vi, urc_lx_int(0), cr, 1, 0);
    urc_ls *dl = urc_ls_for(il, c->vc, urc_lx_int(0), urc_lx_int(c->D), 1, 0);
    urc_lx *q = urc_lx_load(k, c->bq, urc_add(c->qb, urc_add(urc_muli(urc_add(c->r0, ix), c->g.q_si), cx)));
    if (c->scales >= 0) q = bin(URC_L_MUL, q, urc_lx_load(k, c->scales, urc_add(urc_muli(c->bx, c->g.H), c->hx)));
    else if (c->scale != 1) q = bin(URC_L_MUL, q, urc_lx_const(c->scale, dt));
    urc_ls_store(dl, c->qc, urc_add(urc_muli(ix, c->D), cx), q);
    if (!c->dot_out) return;
    urc_ls_array(body, k, c->vt);
    urc_ls *jl, *cl;
    if (c->g.v_sc == 1) { /* V rows contiguous: read along them */
        jl = urc_ls_for(body, c->vj, urc_lx_int(0), urc_lx_int(c->Lk), 1, 0);
        cl = urc_ls_for(jl, c->vc, urc_lx_int(0), urc_lx_int(c->Dv), 1, URC_FOR_UNROLL);
    } else {
        cl = urc_ls_for(body, c->vc, urc_lx_int(0), urc_lx_int(c->Dv), 1, 0);
        cl = jl = urc_ls_for(cl, c->vj, urc_lx_int(0), urc_lx_int(c->Lk), 1, URC_FOR_SIMD);
    }
    urc_ls_store(cl, c->vt, urc_add(urc_muli(cx, c->Lp), jx), v_at(c, jx, cx));
    if (c->Lp > c->Lk) {
        cl = urc_ls_for(body, c->vc, urc_lx_int(0), urc_lx_int(c->Dv), 1, 0);
        jl = urc_ls_for(cl, c->vj, urc_lx_int(c->Lk), urc_lx_int(c->Lp), 1, 0);
        urc_ls_store(jl, c->vt, urc_add(urc_muli(cx, c->Lp), jx), urc_lx_const(0, dt));
    }
}

/* The bias rows [r0, r0 + cr) of head h from the table into bb (done once
 * per chunk and reused by every batch element). */
static void stage_bias(at_ctx *c, urc_ls *body, urc_lx *cr) {
    urc_kernel *k = c->k;
    const at_geom *g = &c->g;
    urc_lx *ix = urc_lx_var(k, c->vi), *jx = urc_lx_var(k, c->vj);
    urc_ls_array(body, k, c->bb);
    urc_ls *il = urc_ls_for(body, c->vi, urc_lx_int(0), cr, 1, 0);
    urc_ls *jl = urc_ls_for(il, c->vj, urc_lx_int(0), urc_lx_int(c->Lk), 1, URC_FOR_SIMD);
    urc_lx *ij = urc_add(urc_muli(urc_add(c->r0, ix), c->Lk), jx);
    urc_lx *t = urc_lx_inrange(urc_lx_cast(URC_DT_I64, urc_lx_load(k, c->bidx, ij)));
    urc_lx *e = c->table_rows ? urc_add(urc_muli(t, g->H), c->hx) : urc_add(urc_muli(c->hx, g->T), t);
    urc_ls_store(jl, c->bb, urc_add(urc_muli(ix, c->Lk), jx), urc_lx_load(k, c->bbias, e));
}

/* Blocks per chunk: a chunk's bias rows within 48 KB and its Q rows within
 * 32 KB, and at least 8 work items per thread where the rows allow. */
static int64_t chunk_blocks(const at_ctx *c, int64_t MTT, int size, int threads) {
    int64_t CB = MTT;
    if (c->g.bias == 2) CB = (48 * 1024) / (c->MR * c->Lk * size);
    while (CB > 1 && CB * c->MR * c->D * size > 32 * 1024) CB--;
    int64_t want = 8 * (threads > 0 ? threads : 1);
    while (CB > 1 && c->g.H * ((MTT + CB - 1) / CB) < want) CB--;
    return CB < 1 ? 1 : CB;
}

static bool attention_lower(urc_lower *L, const urc_node *n) {
    at_ctx c;
    memset(&c, 0, sizeof c);
    c.L = L;
    c.k = urc_lower_begin(L, n);
    c.ydt = n->out[0]->dtype;
    c.dt = c.ydt == URC_DT_BF16 ? URC_DT_F32 : c.ydt; /* (bf16: attention_bf16_store) */
    urc_kernel *k = c.k;
    at_geometry(n, &c.g);
    c.Lq = c.g.Lq;
    c.D = c.g.D;
    c.Lk = c.g.Lk;
    c.Dv = c.g.Dv;
    c.scale = n->a.attention.scale;
    int size = urc_dtype_size(c.dt);
    int64_t lanes = L->target->vector_bits / (8 * size);
    if (lanes < 1) lanes = 1;
    c.lanes = lanes;
    c.Lp = (c.Lk + lanes - 1) / lanes * lanes;
    c.NR = (L->target->vector_bits >= 512 ? 4 : 2) * lanes;
    c.dot_out = 2 * c.Dv <= c.NR && c.Dv * c.Lp * size <= 8 * 1024;
    /* rows per block: 6, fewer when 6 rows of scores would pass 12 KB */
    c.MR = 6;
    while (c.MR > 1 && c.MR * c.Lp * size > 12 * 1024) c.MR--;
    if (c.MR > c.Lq) c.MR = c.Lq;
    c.bq = urc_lower_in(L, k, n->in[0], "q");
    c.bkt = urc_lower_in(L, k, n->in[1], "kt");
    c.bvv = urc_lower_in(L, k, n->in[2], "v");
    c.by = urc_lower_out(L, k, n->out[0], "y");
    c.bbias = c.bidx = c.bmask = c.bb = c.vt = -1;
    c.mask_value = n->a.attention.mask_value;
    if (c.g.bias == 1) c.bbias = urc_lower_in(L, k, n->in[3], "bias");
    if (c.g.bias == 2) {
        c.bidx = urc_lower_in(L, k, n->in[4], "bidx");
        const urc_value *tb = n->in[3];
        if (tb->data) { /* [T, H] -> [H, T]: a head's biases contiguous */
            int64_t T = c.g.T, H = c.g.H, es = urc_dtype_size(tb->dtype);
            unsigned char *tt = urc_xmalloc((size_t)(T * H * es));
            for (int64_t t = 0; t < T; t++)
                for (int64_t h = 0; h < H; h++)
                    memcpy(tt + (h * T + t) * es, (const unsigned char *)tb->data + (t * H + h) * es, (size_t)es);
            c.bbias = urc_lower_const(L, k, "bias_table", tb->dtype, T * H, tt);
            free(tt);
        } else {
            c.bbias = urc_lower_in(L, k, tb, "bias_table");
            c.table_rows = true;
        }
    }
    if (c.g.mask) c.bmask = urc_lower_in(L, k, n->in[5], "mask");
    c.scales = -1;
    if (n->nin > 6 && n->in[6]) {
        int64_t nb = c.g.B * c.g.H;
        double *f = batch_scales(n, nb);
        void *buf = urc_xmalloc((size_t)(nb ? nb : 1) * (size_t)size);
        for (int64_t b = 0; b < nb; b++) {
            if (c.dt == URC_DT_F32) ((float *)buf)[b] = (float)f[b];
            else ((double *)buf)[b] = f[b];
        }
        c.scales = urc_lower_const(L, k, "scales", c.dt, nb, buf);
        free(buf);
        free(f);
    }
    c.vi = urc_kernel_var(k, "i", URC_DT_I64);
    c.vj = urc_kernel_var(k, "j", URC_DT_I64);
    c.vk = urc_kernel_var(k, "kk", URC_DT_I64);
    c.vp = urc_kernel_var(k, "n0", URC_DT_I64);
    c.va = urc_kernel_var(k, "a", c.dt);
    c.vmx = urc_kernel_var(k, "mx", c.dt);
    c.vsum = urc_kernel_var(k, "sum", URC_DT_F64);
    c.ve = urc_kernel_var(k, "e", c.dt);
    c.vl = urc_kernel_var(k, "l", URC_DT_I64);
    c.vx = urc_kernel_var(k, "x", c.dt);
    c.vtt = urc_kernel_var(k, "tt", c.dt);
    c.vn = urc_kernel_var(k, "nn", c.dt);
    c.vf = urc_kernel_var(k, "f", c.dt);
    c.vc = urc_kernel_var(k, "c", URC_DT_I64);
    c.vme = urc_kernel_var(k, "me", c.dt);
    c.vlo = urc_kernel_var(k, "lo", c.dt);

    /* work items (head, chunk of CB blocks of MR query rows), in parallel;
     * in each, every batch element in turn (a table bias gathered once per
     * chunk, not per batch element) */
    int64_t MT = c.Lq / c.MR, mre = c.Lq % c.MR, MTT = MT + (mre ? 1 : 0);
    int64_t CB = chunk_blocks(&c, MTT, size, L->target->threads), NC = (MTT + CB - 1) / CB;
    c.CR = CB * c.MR;
    int vb = urc_kernel_var(k, "b", URC_DT_I64), vh = urc_kernel_var(k, "h", URC_DT_I64);
    int vch = urc_kernel_var(k, "ch", URC_DT_I64), vr0 = urc_kernel_var(k, "r0", URC_DT_I64);
    int vcr = urc_kernel_var(k, "cr", URC_DT_I64), vt = urc_kernel_var(k, "t", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, vh, urc_lx_int(0), urc_lx_int(c.g.H), 1, URC_FOR_PARALLEL);
    urc_ls *outer = k->body->list.items[k->body->list.len - 1];
    outer->collapse = 2;
    body = urc_ls_for(body, vch, urc_lx_int(0), urc_lx_int(NC), 1, 0);
    urc_lx *hx = urc_lx_var(k, vh), *chx = urc_lx_var(k, vch);
    urc_ls_decl(body, vr0, urc_muli(chx, c.CR));
    c.r0 = urc_lx_var(k, vr0);
    urc_ls_decl(body, vcr, urc_lx_inrange(bin(URC_L_MIN, urc_lx_int(c.CR), urc_sub(urc_lx_int(c.Lq), c.r0))));
    urc_lx *cr = urc_lx_var(k, vcr);
    c.hx = hx;
    if (c.g.bias == 2) {
        c.bb = urc_kernel_local(k, "bb", c.dt, c.CR * c.Lk);
        stage_bias(&c, body, cr);
    }
    body = urc_ls_for(body, vb, urc_lx_int(0), urc_lx_int(c.g.B), 1, 0);
    urc_lx *bx = urc_lx_var(k, vb);
    c.bx = bx;
    c.qb = urc_addi(urc_add(urc_muli(bx, c.g.q_sb), urc_muli(hx, c.g.q_sh)), c.g.q_o);
    c.kb = urc_add(urc_muli(bx, c.g.k_sb), urc_muli(hx, c.g.k_sh));
    c.vb = urc_addi(urc_add(urc_muli(bx, c.g.v_sb), urc_muli(hx, c.g.v_sh)), c.g.v_o);
    c.yb = urc_add(urc_muli(bx, c.g.y_sb), urc_muli(hx, c.g.y_sh));
    c.wx = urc_lx_int(0);
    if (c.g.mask && c.g.nW > 1) {
        int vw = urc_kernel_var(k, "w", URC_DT_I64);
        urc_ls_decl(body, vw, urc_lx_inrange(urc_lx_bin(URC_L_REM, bx, urc_lx_int(c.g.nW))));
        c.wx = urc_lx_var(k, vw);
    }
    c.qc = urc_kernel_local(k, "qc", c.dt, c.CR * c.D);
    if (c.dot_out) c.vt = urc_kernel_local(k, "vt", c.dt, c.Dv * c.Lp);
    stage_bh(&c, body, cr);
    urc_lx *thi = urc_lx_inrange(bin(URC_L_MIN, urc_addi(urc_muli(chx, CB), CB), urc_lx_int(MTT)));
    body = urc_ls_for(body, vt, urc_muli(chx, CB), thi, 1, 0);
    urc_lx *t = urc_lx_var(k, vt);
    if (MT && mre) {
        urc_ls *els = NULL;
        urc_ls *then = urc_ls_if(body, bin(URC_L_LT, t, urc_lx_int(MT)), &els);
        block(&c, then, urc_muli(t, c.MR), c.MR);
        block(&c, els, urc_lx_int(MT * c.MR), mre);
    } else {
        block(&c, body, urc_muli(t, c.MR), MT ? c.MR : mre);
    }
    return true;
}

static void attention_print(const urc_node *n, urc_strbuf *sb) {
    urc_sb_printf(sb, " scale=%g%s", n->a.attention.scale, n->nin > 6 && n->in[6] ? " x input 6" : "");
    if (n->a.attention.layout) urc_sb_printf(sb, " layout=%s", n->a.attention.layout == 1 ? "qkv" : "qkv,vt");
    if (n->nin > 5 && n->in[5] && !urc_dtype_is_float(n->in[5]->dtype))
        urc_sb_printf(sb, " mask_value=%g", n->a.attention.mask_value);
}

/* Q K^T and P V: rows x S x (D + Dv), either layout. */
static int64_t attention_macs(const urc_node *n) {
    const urc_shape *kt = &n->in[1]->shape, *y = &n->out[0]->shape;
    int64_t dv = y->dims[y->rank - 1], S = kt->dims[kt->rank - 1];
    return (dv ? urc_shape_numel(y) / dv : 0) * S * (kt->dims[kt->rank - 2] + dv);
}

const urc_op_impl urc_impl_attention = {NULL,
                                        attention_infer,
                                        attention_eval,
                                        attention_lower,
                                        attention_print,
                                        .signature_lower = false,
                                        .macs = attention_macs,
                                        .bf16_store = attention_bf16_store};
