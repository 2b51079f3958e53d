/* attention.c: the internal unetrc.Attention (passes/attention.c makes it).
 *
 *   Attention(Q [b.., Lq, D], KT [b.., D, Lk], V [b.., Lk, Dv]) scale
 *     = softmax(scale * Q @ KT, last axis) @ V          -> [b.., Lq, Dv]
 *
 * which is MONAI's self-attention per head: MatMul(q, k^T) -> Mul(scale)
 * -> Softmax(-1) -> MatMul(., v). The batch dims of the three operands are
 * equal (no broadcasting). Float32/float64.
 *
 * An optional 4th input T, a constant whose last two dims are 1 and whose
 * other dims broadcast to the batch dims (UNETR++'s learned temperature
 * [H, 1, 1] per head), multiplies the scores too: scale * T[batch] * Q @ KT.
 * Layout 0 only.
 *
 * Layout 1 (the pass sets it when it can also absorb MONAI's rearranges):
 *   Attention(R [B, L, 3, H, D], K^T [B, H, D, L], R) -> Y [B, L, H, D]
 * with R the packed qkv projection (a view of the qkv MatMul's output):
 * head h of q is R[:, :, 0, h, :], of v R[:, :, 2, h, :], and Y is written
 * in the order the out-projection reads ([B, L, H*D] after a free Reshape).
 * This saves the Transpose [2,0,3,1,4], the three Gathers and the output
 * Transpose [0,2,1,3] around every attention (K^T is still made by a Gather
 * and a Transpose, since the score tiles stream rows of K^T).
 *
 * Lowering: one work item per (batch element, block of MR query rows),
 * all in parallel. A block never materialises more than its own MR x Lk
 * rows of scores, in a local array (the pass only fuses when that fits):
 *   1. scores: register tiles of MR x NR (as in ops/matmul.c) over the
 *      columns of KT, scaled on store;
 *   2. softmax of each row in place: m = max, s = exp(s - m), sum in
 *      double, 1/sum kept per row;
 *   3. output: register tiles over the columns of V, A read from the
 *      scores, each row scaled by its 1/sum on store. */
#include "common.h"

/* ---- geometry ---------------------------------------------------------------- */

/* For batch element b (of B) and head h (of H): Q (i, d) at
 * b*q_sb + h*q_sh + q_o + i*q_si + d, K^T (d, j) at b*k_sb + h*k_sh + d*Lk + j,
 * V (j, c) at b*v_sb + h*v_sh + v_o + j*v_sj + c, Y (i, c) at
 * b*y_sb + h*y_sh + i*y_si + c. Layout 0 flattens all batch dims into B
 * (H = 1). */
typedef struct at_geom {
    int64_t B, H, Lq, Lk, D, Dv;
    int64_t q_sb, q_sh, q_o, q_si;
    int64_t k_sb, k_sh;
    int64_t v_sb, v_sh, v_o, v_sj;
    int64_t y_sb, y_sh, y_si;
} at_geom;

static void at_geometry(const urc_node *n, at_geom *g) {
    memset(g, 0, sizeof *g);
    const urc_shape *q = &n->in[0]->shape, *kt = &n->in[1]->shape;
    int r = q->rank;
    if (n->a.attention.layout == 1) {
        int64_t L = q->dims[1], H = q->dims[3], D = q->dims[4];
        g->B = q->dims[0];
        g->H = H;
        g->Lq = g->Lk = L;
        g->D = g->Dv = D;
        g->q_sb = g->v_sb = L * 3 * H * D;
        g->q_sh = g->v_sh = D;
        g->q_si = g->v_sj = 3 * H * D;
        g->q_o = 0;
        g->v_o = 2 * H * D;
        g->k_sb = H * D * L;
        g->k_sh = D * L;
        g->y_sb = L * H * D;
        g->y_sh = D;
        g->y_si = H * D;
        return;
    }
    g->H = 1;
    g->Lq = q->dims[r - 2];
    g->D = q->dims[r - 1];
    g->Lk = kt->dims[r - 1];
    g->Dv = n->in[2]->shape.dims[r - 1];
    g->B = urc_shape_numel(q) / (g->Lq * g->D);
    g->q_sb = g->Lq * g->D;
    g->q_si = g->D;
    g->k_sb = g->D * g->Lk;
    g->v_sb = g->Lk * g->Dv;
    g->v_sj = g->Dv;
    g->y_sb = g->Lq * g->Dv;
    g->y_si = g->Dv;
}

/* ---- infer / eval ---------------------------------------------------------- */

/* The score factor of each batch element b (flattened batch dims, layout 0):
 * scale times the 4th input broadcast to the batch dims, or scale alone. */
static double *batch_scales(const urc_node *n, int64_t B) {
    double *f = urc_xmalloc(sizeof(double) * (size_t)(B ? B : 1));
    const urc_value *t = n->nin > 3 ? n->in[3] : NULL;
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

static bool attention_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    for (int i = 0; i < 3; i++)
        if (!urc_check_dtype(n, i, URC_DTM_FLOAT) || !urc_reject_half(n, i) || !urc_check_same_dtype(n, 0, i) ||
            !urc_check_rank(n, i, 2, URC_MAX_RANK))
            return false;
    const urc_shape *q = &n->in[0]->shape, *kt = &n->in[1]->shape, *v = &n->in[2]->shape;
    int r = q->rank;
    if (n->nin > 3 && n->in[3]) {
        const urc_value *t = n->in[3];
        const urc_shape *ts = &t->shape;
        bool ok = urc_dtype_is_float(t->dtype) && t->data && n->a.attention.layout == 0 && ts->rank >= 2 &&
                  ts->rank <= r && ts->dims[ts->rank - 1] == 1 && ts->dims[ts->rank - 2] == 1;
        for (int d = 0; ok && d < ts->rank - 2; d++) {
            int64_t qd = q->dims[d + r - ts->rank];
            ok = ts->dims[d] == 1 || ts->dims[d] == qd;
        }
        if (!ok) {
            urc_error(where, "the score factor %s must be a float constant [.., 1, 1] broadcasting to the batch dims "
                      "of Q%s (layout 0)", urc_shape_str(ts), urc_shape_str(q));
            return false;
        }
    }
    if (n->a.attention.layout == 1) {
        bool ok = r == 5 && q->dims[2] == 3 && urc_shape_eq(q, v) && kt->rank == 4 && kt->dims[0] == q->dims[0] &&
                  kt->dims[1] == q->dims[3] && kt->dims[2] == q->dims[4] && kt->dims[3] == q->dims[1];
        if (!ok) {
            urc_error(where, "layout 1 takes qkv [B, L, 3, H, D] twice and K^T [B, H, D, L], got %s, %s, %s",
                      urc_shape_str(q), urc_shape_str(kt), urc_shape_str(v));
            return false;
        }
        urc_shape ys = {4, {q->dims[0], q->dims[1], q->dims[3], q->dims[4]}};
        urc_set_out(n, 0, n->in[0]->dtype, &ys);
        return true;
    }
    bool ok = kt->rank == r && v->rank == r;
    for (int d = 0; ok && d < r - 2; d++) ok = q->dims[d] == kt->dims[d] && q->dims[d] == v->dims[d];
    ok = ok && q->dims[r - 1] == kt->dims[r - 2] && kt->dims[r - 1] == v->dims[r - 2];
    if (!ok) {
        urc_error(where, "Q%s, K^T%s and V%s do not make an attention (equal batch dims, Q [.., L, D], K^T [.., D, S], "
                  "V [.., S, Dv])", urc_shape_str(q), urc_shape_str(kt), urc_shape_str(v));
        return false;
    }
    urc_shape ys = *q;
    ys.dims[r - 1] = v->dims[r - 1];
    urc_set_out(n, 0, n->in[0]->dtype, &ys);
    return true;
}

static bool attention_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *Q = in[0], *KT = in[1], *V = in[2];
    urc_tensor *Y = out[0];
    at_geom g;
    at_geometry(n, &g);
    double *scales = batch_scales(n, g.B);
    double *s = urc_xmalloc(sizeof(double) * (size_t)(g.Lk ? g.Lk : 1));
    for (int64_t b = 0; b < g.B; b++)
        for (int64_t h = 0; h < g.H; h++) {
            double scale = scales[b];
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
                    if (s[j] > mx) mx = s[j];
                }
                for (int64_t j = 0; j < g.Lk; j++) {
                    s[j] = exp(s[j] - mx); /* a NaN score makes the row NaN */
                    sum += s[j];
                }
                for (int64_t c = 0; c < g.Dv; c++) {
                    double acc = 0;
                    for (int64_t j = 0; j < g.Lk; j++)
                        acc += s[j] / sum * urc_elem_f64(V->dtype, V->data, vo + j * g.v_sj + c);
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
    urc_lower *L;
    urc_kernel *k;
    urc_dtype dt;
    int bq, bkt, bvv, by;
    at_geom g;
    int64_t Lq, Lk, D, Dv, MR, NR;
    urc_lx *qb, *kb, *vb, *yb; /* element offsets of the current batch element */
    int vi, vj, vk, vp, va, vmx, vsum, ve, vl, vx, vtt, vn, vf;
    int64_t lanes;
    int exp_table; /* buffer of 2^-k, or -1 before first use */
    double scale;
    int scales;    /* buffer of the per-batch-element factors (4th input), or -1 */
    urc_lx *bx;    /* the batch element */
} at_ctx;

static urc_lx *bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_bin(op, a, b); }

/* One register tile: acc[mr][nr] = sum over kk in [0, K) of A(i, kk) * B(kk, n0 + j),
 * then stored. which = 0: scores (A = Q, B = KT, into s scaled); 1: output
 * (A = s, B = V, into Y scaled by rinv[i]). */
static void tile(at_ctx *c, urc_ls *parent, int which, urc_lx *i0, int64_t mr, urc_lx *n0, int64_t nr, int s,
                 int rinv) {
    urc_kernel *k = c->k;
    urc_dtype dt = c->dt;
    urc_ls *blk = urc_ls_block();
    urc_ls_push(parent, blk);
    int acc = urc_kernel_local(k, which ? "acc_o" : "acc_s", dt, mr * nr);
    urc_ls_array(blk, k, acc);
    urc_lx *ix = urc_lx_var(k, c->vi), *jx = urc_lx_var(k, c->vj), *kx = urc_lx_var(k, c->vk);
    urc_lx *aidx = urc_add(urc_muli(ix, nr), jx);
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
        a = urc_lx_load(k, c->bq, urc_add(c->qb, urc_add(urc_muli(urc_add(i0, ix), c->g.q_si), kx)));
        b = urc_lx_load(k, c->bkt, urc_add(c->kb, urc_add(urc_muli(kx, c->Lk), urc_add(n0, jx))));
    } else {
        a = urc_lx_load(k, s, urc_add(urc_muli(ix, c->Lk), kx));
        b = urc_lx_load(k, c->bvv, urc_add(c->vb, urc_add(urc_muli(kx, c->g.v_sj), urc_add(n0, jx))));
    }
    urc_ls_decl(il, c->va, a);
    jl = urc_ls_for(il, c->vj, urc_lx_int(0), urc_lx_int(nr), 1, UV);
    urc_ls_store(jl, acc, aidx, urc_lx_fma(urc_lx_var(k, c->va), b, urc_lx_load(k, acc, aidx)));
    il = urc_ls_for(blk, c->vi, urc_lx_int(0), urc_lx_int(mr), 1, U);
    jl = urc_ls_for(il, c->vj, urc_lx_int(0), urc_lx_int(nr), 1, UV);
    urc_lx *v = urc_lx_load(k, acc, aidx);
    if (!which) {
        if (c->scales >= 0) v = bin(URC_L_MUL, v, urc_lx_load(k, c->scales, c->bx));
        else if (c->scale != 1) v = bin(URC_L_MUL, v, urc_lx_const(c->scale, dt));
        urc_ls_store(jl, s, urc_add(urc_muli(ix, c->Lk), urc_add(n0, jx)), v);
    } else {
        urc_lx *yi = urc_add(c->yb, urc_add(urc_muli(urc_add(i0, ix), c->g.y_si), urc_add(n0, jx)));
        urc_ls_store(jl, c->by, yi, bin(URC_L_MUL, v, urc_lx_load(k, rinv, ix)));
    }
}

/* Column panels of width NR over [0, N), the last one narrower. */
static void panels(at_ctx *c, urc_ls *parent, int which, urc_lx *i0, int64_t mr, int64_t N, int s, int rinv) {
    int64_t nf = N / c->NR, nre = N % c->NR;
    if (nf) {
        urc_ls *pl = urc_ls_for(parent, c->vp, urc_lx_int(0), urc_lx_int(nf * c->NR), c->NR, 0);
        tile(c, pl, which, i0, mr, urc_lx_var(c->k, c->vp), c->NR, s, rinv);
    }
    if (nre) tile(c, parent, which, i0, mr, urc_lx_int(nf * c->NR), nre, s, rinv);
}

/* exp(x) for x <= 0 (or NaN) as plain arithmetic the C compiler can
 * vectorise (libm's expf is a call per element): x clamped to -87
 * (exp(-87) ~ 1.6e-38, nothing next to a row's largest term exp(0) = 1),
 * t = x log2(e) = n + f with n integer (round to nearest by adding and
 * subtracting 1.5 * 2^23) and |f| <= 1/2; 2^f by its Taylor polynomial of
 * degree 7 (relative error < 1e-8 before rounding), 2^n from a table of
 * 2^-k, k = 0..127; a NaN x gives NaN. Declares scalars in `at`.
 * float32 only (the rounding constant and the clamp are float32's). */
static urc_lx *exp_nonpos(at_ctx *c, urc_ls *at, urc_lx *x) {
    urc_kernel *k = c->k;
    urc_dtype dt = c->dt;
    if (dt != URC_DT_F32) return urc_lx_un(URC_L_EXP, x); /* float64: libm's exp, full precision */
    if (c->exp_table < 0) {
        float tab[128];
        for (int i = 0; i < 128; i++) tab[i] = (float)ldexp(1.0, -i);
        c->exp_table = urc_lower_const(c->L, k, "exp2_table", dt, 128, tab);
    }
    urc_ls_decl(at, c->vx, x);
    urc_lx *xv = urc_lx_var(k, c->vx);
    urc_lx *xc = urc_lx_sel(bin(URC_L_GT, xv, urc_lx_const(-87, dt)), xv, urc_lx_const(-87, dt));
    urc_ls_decl(at, c->vtt, bin(URC_L_MUL, xc, urc_lx_const(1.4426950408889634, dt)));
    urc_lx *tt = urc_lx_var(k, c->vtt);
    urc_lx *magic = urc_lx_const(12582912.0, dt);
    urc_ls_decl(at, c->vn, bin(URC_L_SUB, bin(URC_L_ADD, tt, magic), magic));
    urc_lx *nv = urc_lx_var(k, c->vn);
    urc_ls_decl(at, c->vf, bin(URC_L_MUL, bin(URC_L_SUB, tt, nv), urc_lx_const(0.6931471805599453, dt)));
    urc_lx *f = urc_lx_var(k, c->vf);
    /* exp(f ln 2) = sum f'^i / i! with f' = f ln 2 (f holds f' here) */
    double coef[8] = {1, 1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040};
    urc_lx *p = urc_lx_const(coef[7], dt);
    for (int i = 6; i >= 0; i--) p = urc_lx_fma(p, f, urc_lx_const(coef[i], dt));
    urc_lx *idx = urc_lx_inrange(urc_lx_cast(URC_DT_I32, urc_lx_un(URC_L_NEG, nv))); /* n in [-126, 0] */
    urc_lx *e = bin(URC_L_MUL, p, urc_lx_load(k, c->exp_table, idx));
    return urc_lx_sel(bin(URC_L_NE, xv, xv), xv, e);
}

/* The whole computation for query rows [i0, i0 + mr). */
static void block(at_ctx *c, urc_ls *parent, urc_lx *i0, int64_t mr) {
    urc_kernel *k = c->k;
    urc_dtype dt = c->dt;
    urc_ls *blk = urc_ls_block();
    urc_ls_push(parent, blk);
    int s = urc_kernel_local(k, "s", dt, mr * c->Lk), rinv = urc_kernel_local(k, "rinv", dt, mr);
    urc_ls_array(blk, k, s);
    urc_ls_array(blk, k, rinv);
    panels(c, blk, 0, i0, mr, c->Lk, s, rinv);
    /* softmax of each row, in place */
    urc_lx *ix = urc_lx_var(k, c->vi), *jx = urc_lx_var(k, c->vj);
    urc_ls *il = urc_ls_for(blk, c->vi, urc_lx_int(0), urc_lx_int(mr), 1, 0);
    urc_lx *row = urc_muli(ix, c->Lk);
    urc_lx *sij = urc_lx_load(k, s, urc_add(row, jx));
    /* m = max, in W partial maxima (vectorisable); a NaN or infinite score
     * makes its row NaN through exp below */
    int64_t W = c->lanes, nw = c->Lk / W;
    urc_lx *lx = urc_lx_var(k, c->vl);
    int pmax = urc_kernel_local(k, "pmax", dt, W);
    urc_ls_array(il, k, pmax);
    urc_ls *ll = urc_ls_for(il, c->vl, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_UNROLL);
    urc_ls_store(ll, pmax, lx, urc_lx_load(k, s, row));
    urc_ls *jl;
    if (nw) {
        jl = urc_ls_for(il, c->vj, urc_lx_int(0), urc_lx_int(nw * W), W, 0);
        ll = urc_ls_for(jl, c->vl, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_UNROLL);
        urc_lx *x = urc_lx_load(k, s, urc_add(row, urc_add(jx, lx))), *m = urc_lx_load(k, pmax, lx);
        urc_ls_store(ll, pmax, lx, urc_lx_sel(bin(URC_L_GT, x, m), x, m));
    }
    if (c->Lk % W) {
        jl = urc_ls_for(il, c->vj, urc_lx_int(nw * W), urc_lx_int(c->Lk), 1, 0);
        urc_lx *m = urc_lx_load(k, pmax, urc_lx_int(0));
        urc_ls_store(jl, pmax, urc_lx_int(0), urc_lx_sel(bin(URC_L_GT, sij, m), sij, m));
    }
    urc_ls_decl(il, c->vmx, urc_lx_load(k, pmax, urc_lx_int(0)));
    ll = urc_ls_for(il, c->vl, urc_lx_int(1), urc_lx_int(W), 1, URC_FOR_UNROLL);
    urc_lx *pm = urc_lx_load(k, pmax, lx);
    urc_ls_assign(ll, c->vmx, urc_lx_sel(bin(URC_L_GT, pm, urc_lx_var(k, c->vmx)), pm, urc_lx_var(k, c->vmx)));
    /* s = exp(s - m) */
    jl = urc_ls_for(il, c->vj, urc_lx_int(0), urc_lx_int(c->Lk), 1, 0);
    urc_ls_store(jl, s, urc_add(row, jx), exp_nonpos(c, jl, bin(URC_L_SUB, sij, urc_lx_var(k, c->vmx))));
    /* sum in W partial sums (vectorisable), then 1/sum */
    int part = urc_kernel_local(k, "part", dt, W);
    urc_ls_array(il, k, part);
    ll = urc_ls_for(il, c->vl, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_UNROLL);
    urc_ls_store(ll, part, lx, urc_lx_const(0, dt));
    if (nw) {
        jl = urc_ls_for(il, c->vj, urc_lx_int(0), urc_lx_int(nw * W), W, 0);
        ll = urc_ls_for(jl, c->vl, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_UNROLL);
        urc_ls_accum(ll, part, lx, urc_lx_load(k, s, urc_add(row, urc_add(jx, lx))));
    }
    if (c->Lk % W) {
        jl = urc_ls_for(il, c->vj, urc_lx_int(nw * W), urc_lx_int(c->Lk), 1, 0);
        urc_ls_accum(jl, part, urc_lx_int(0), sij);
    }
    urc_ls_decl(il, c->vsum, urc_lx_const(0, URC_DT_F64));
    ll = urc_ls_for(il, c->vl, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_UNROLL);
    urc_ls_assign(ll, c->vsum, bin(URC_L_ADD, urc_lx_var(k, c->vsum), urc_lx_cast(URC_DT_F64, urc_lx_load(k, part, lx))));
    urc_ls_store(il, rinv, ix, urc_lx_cast(dt, bin(URC_L_DIV, urc_lx_const(1, URC_DT_F64), urc_lx_var(k, c->vsum))));
    panels(c, blk, 1, i0, mr, c->Dv, s, rinv);
}

static bool attention_lower(urc_lower *L, const urc_node *n) {
    at_ctx c;
    memset(&c, 0, sizeof c);
    c.L = L;
    c.k = urc_lower_begin(L, n);
    c.dt = n->out[0]->dtype;
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
    c.NR = (L->target->vector_bits >= 512 ? 4 : 2) * lanes;
    /* rows per block: 6, fewer when 6 rows of scores would pass 12 KB */
    c.MR = 6;
    while (c.MR > 1 && c.MR * c.Lk * size > 12 * 1024) c.MR--;
    if (c.MR > c.Lq) c.MR = c.Lq;
    c.bq = urc_lower_in(L, k, n->in[0], "q");
    c.bkt = urc_lower_in(L, k, n->in[1], "kt");
    c.bvv = urc_lower_in(L, k, n->in[2], "v");
    c.by = urc_lower_out(L, k, n->out[0], "y");
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
    c.exp_table = -1;
    c.lanes = lanes;
    c.scales = -1;
    if (n->nin > 3 && n->in[3]) {
        double *f = batch_scales(n, c.g.B);
        void *buf = urc_xmalloc((size_t)(c.g.B ? c.g.B : 1) * (size_t)size);
        for (int64_t b = 0; b < c.g.B; b++) {
            if (c.dt == URC_DT_F32) ((float *)buf)[b] = (float)f[b];
            else ((double *)buf)[b] = f[b];
        }
        c.scales = urc_lower_const(L, k, "scales", c.dt, c.g.B, buf);
        free(buf);
        free(f);
    }

    /* parallel over (batch, head, block of query rows) */
    int vb = urc_kernel_var(k, "b", URC_DT_I64), vh = urc_kernel_var(k, "h", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, vb, urc_lx_int(0), urc_lx_int(c.g.B), 1, URC_FOR_PARALLEL);
    urc_ls *outer = k->body->list.items[k->body->list.len - 1];
    outer->collapse = 3;
    body = urc_ls_for(body, vh, urc_lx_int(0), urc_lx_int(c.g.H), 1, 0);
    int64_t MT = c.Lq / c.MR, mre = c.Lq % c.MR, MTT = MT + (mre ? 1 : 0);
    int vt = urc_kernel_var(k, "t", URC_DT_I64);
    body = urc_ls_for(body, vt, urc_lx_int(0), urc_lx_int(MTT), 1, 0);
    urc_lx *bx = urc_lx_var(k, vb), *hx = urc_lx_var(k, vh);
    c.bx = bx;
    c.qb = urc_addi(urc_add(urc_muli(bx, c.g.q_sb), urc_muli(hx, c.g.q_sh)), c.g.q_o);
    c.kb = urc_add(urc_muli(bx, c.g.k_sb), urc_muli(hx, c.g.k_sh));
    c.vb = urc_addi(urc_add(urc_muli(bx, c.g.v_sb), urc_muli(hx, c.g.v_sh)), c.g.v_o);
    c.yb = urc_add(urc_muli(bx, c.g.y_sb), urc_muli(hx, c.g.y_sh));
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
    urc_sb_printf(sb, " scale=%g%s", n->a.attention.scale, n->nin > 3 && n->in[3] ? " x input 3" : "");
    if (n->a.attention.layout) urc_sb_printf(sb, " layout=qkv");
}

const urc_op_impl urc_impl_attention = {NULL, attention_infer, attention_eval, attention_lower, attention_print};
