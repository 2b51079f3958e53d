/* norm_cl.c: the channels-last kernel of InstanceNorm, GroupNorm, BatchNorm and unetrc.FusedNorm (X (N, S, C)):
 * per batch item the statistics (a pass over X in parallel chunks, or the partial sums a tile convolution made:
 * passes/norm_stats.c), the per-channel coefficients, then the apply pass (through the output head where the FusedNorm
 * has one: passes/norm_head.c). The rest of the family: norm.c. */
#include <stdlib.h>

#include "activation.h"
#include "norm_apply.h"
#include "norm_internal.h"

/* Chunks of the channels-last statistics: enough for the threads and to
 * balance, few enough that their partial sums (two doubles per channel)
 * stay within 16 KB; 1 (serial) for small tensors. */
static int64_t cl_chunks(const urc_lower *L, const geom *g) {
    int threads = L->target && L->target->threads > 0 ? L->target->threads : 2;
    int64_t P = 4 * (int64_t)threads, cap = ((int64_t)16 << 10) / (16 * (g->C ? g->C : 1));
    if (P > cap) P = cap;
    if (P > g->S) P = g->S;
    if (g->S * g->C < (int64_t)1 << 15 || P < 2) return 1;
    int64_t chunk = (g->S + P - 1) / P;
    return (g->S + chunk - 1) / chunk;
}

/* Local array bytes the channels-last kernel needs. */
int64_t urc_norm_cl_local_bytes(const urc_lower *L, const geom *g, bool stats, int nnorm, urc_dtype dt) {
    int64_t b = 3 * g->C * urc_dtype_size(dt) * nnorm; /* m, a, b */
    if (stats) b += 16 * g->C * (cl_chunks(L, g) + 2); /* partial sums, totals, one chunk's sums */
    return b;
}

/* Channels-last statistics of one norm for the batch item at n0: per-channel
 * sums of d = x - K_c (K_c = x[n, voxel 0, c]) into the kernel-level double
 * arrays tot_s/tot_q. Chunks of voxels run in parallel, each into its own
 * lanes (vectorised across channels) then its row of part_s/part_q; a
 * serial loop adds the rows up. Nothing is written to Y, so the kernel may
 * run in place over X. */
static void cl_stats(urc_lower *L, urc_kernel *k, const geom *g, int bx, urc_lx *n0, int tot_s, int tot_q, int *parts) {
    int64_t C = g->C, S = g->S, P = cl_chunks(L, g);
    int c = urc_kernel_var(k, "c", URC_DT_I64), v = urc_kernel_var(k, "v", URC_DT_I64);
    urc_ls *z = urc_ls_for(k->body, c, ilit(0), ilit(C), 1, URC_FOR_VECTOR);
    urc_ls_store(z, tot_s, var(k, c), dlit(0));
    urc_ls_store(z, tot_q, var(k, c), dlit(0));
    urc_lx *shift = f64(urc_lx_load(k, bx, urc_add(n0, var(k, c))));
    if (P == 1) {
        urc_ls *lv = urc_ls_for(k->body, v, ilit(0), ilit(S), 1, 0);
        urc_ls *lc = urc_ls_for(lv, c, ilit(0), ilit(C), 1, URC_FOR_VECTOR);
        urc_lx *xi = urc_add(n0, urc_add(urc_muli(var(k, v), C), var(k, c)));
        int d = urc_ls_let(k, lc, "d", URC_DT_F64, bin(URC_L_SUB, f64(urc_lx_load(k, bx, xi)), shift));
        urc_ls_accum(lc, tot_s, var(k, c), var(k, d));
        urc_ls_accum(lc, tot_q, var(k, c), bin(URC_L_MUL, var(k, d), var(k, d)));
        return;
    }
    int64_t chunk = (S + P - 1) / P;
    if (parts[0] < 0) {
        parts[0] = urc_kernel_local(k, "part_s", URC_DT_F64, P * C);
        parts[1] = urc_kernel_local(k, "part_q", URC_DT_F64, P * C);
    }
    int p = urc_kernel_var(k, "p", URC_DT_I64);
    urc_ls *lp = urc_ls_for(k->body, p, ilit(0), ilit(P), 1, URC_FOR_PARALLEL);
    int bs = urc_kernel_local(k, "cs", URC_DT_F64, C), bq = urc_kernel_local(k, "cq", URC_DT_F64, C);
    urc_ls_array(lp, k, bs);
    urc_ls_array(lp, k, bq);
    z = urc_ls_for(lp, c, ilit(0), ilit(C), 1, URC_FOR_VECTOR);
    urc_ls_store(z, bs, var(k, c), dlit(0));
    urc_ls_store(z, bq, var(k, c), dlit(0));
    int lo = urc_ls_let(k, lp, "lo", URC_DT_I64, urc_muli(var(k, p), chunk));
    int hi = urc_ls_let(k, lp, "hi", URC_DT_I64,
                        urc_lx_sel(bin(URC_L_EQ, var(k, p), ilit(P - 1)), ilit(S), urc_addi(var(k, lo), chunk)));
    urc_ls *lv = urc_ls_for(lp, v, var(k, lo), var(k, hi), 1, 0);
    urc_ls *lc = urc_ls_for(lv, c, ilit(0), ilit(C), 1, URC_FOR_VECTOR);
    urc_lx *xi = urc_add(n0, urc_add(urc_muli(var(k, v), C), var(k, c)));
    int d = urc_ls_let(k, lc, "d", URC_DT_F64, bin(URC_L_SUB, f64(urc_lx_load(k, bx, xi)), shift));
    urc_ls_accum(lc, bs, var(k, c), var(k, d));
    urc_ls_accum(lc, bq, var(k, c), bin(URC_L_MUL, var(k, d), var(k, d)));
    urc_ls *ls = urc_ls_for(lp, c, ilit(0), ilit(C), 1, URC_FOR_VECTOR);
    urc_lx *at = urc_add(urc_muli(var(k, p), C), var(k, c));
    urc_ls_store(ls, parts[0], at, urc_lx_load(k, bs, var(k, c)));
    urc_ls_store(ls, parts[1], at, urc_lx_load(k, bq, var(k, c)));
    /* Serial: add the chunks up (in chunk order: deterministic). */
    urc_ls *lq = urc_ls_for(k->body, p, ilit(0), ilit(P), 1, 0);
    urc_ls *lc2 = urc_ls_for(lq, c, ilit(0), ilit(C), 1, URC_FOR_VECTOR);
    urc_ls_accum(lc2, tot_s, var(k, c), urc_lx_load(k, parts[0], at));
    urc_ls_accum(lc2, tot_q, var(k, c), urc_lx_load(k, parts[1], at));
}

/* The statistics of batch item nb read from a tile convolution's partial sums (bst: [N, P, 2, C] float64, FusedNorm
 * in[8] or in[9]) instead of a pass over X: tot_s/tot_q = the parts' sums in part order, unshifted (K_c = 0). */
static void cl_stats_given(urc_kernel *k, const geom *g, int bst, int64_t P, int64_t nb, int tot_s, int tot_q) {
    int64_t C = g->C;
    int c = urc_kernel_var(k, "c", URC_DT_I64), p = urc_kernel_var(k, "p", URC_DT_I64);
    urc_ls *z = urc_ls_for(k->body, c, ilit(0), ilit(C), 1, URC_FOR_VECTOR);
    urc_ls_store(z, tot_s, var(k, c), dlit(0));
    urc_ls_store(z, tot_q, var(k, c), dlit(0));
    urc_ls *lp = urc_ls_for(k->body, p, ilit(0), ilit(P), 1, 0);
    urc_ls *lc = urc_ls_for(lp, c, ilit(0), ilit(C), 1, URC_FOR_VECTOR);
    urc_lx *at = urc_add(urc_muli(urc_addi(var(k, p), nb * P), 2 * C), var(k, c));
    urc_ls_accum(lc, tot_s, var(k, c), urc_lx_load(k, bst, at));
    urc_ls_accum(lc, tot_q, var(k, c), urc_lx_load(k, bst, urc_addi(at, C)));
}

/* Channels-last per-channel m, a, b (arrays ab[0..2]) of norm p for batch
 * item nb from the shifted sums. Groups combine their channels' sums
 * re-shifted to the group's first channel. bx < 0: the sums are unshifted
 * (cl_stats_given). */
static void cl_coeffs(urc_lower *L, urc_kernel *k, const geom *g, const normp *np, int bx, urc_lx *n0, int tot_s,
                      int tot_q, const int *ab, urc_dtype dt) {
    int64_t S = g->S, cpg = g->cpg;
    int gi = urc_kernel_var(k, "g", URC_DT_I64), cc = urc_kernel_var(k, "cc", URC_DT_I64);
    urc_ls *lg = urc_ls_for(k->body, gi, ilit(0), ilit(g->G), 1, 0);
    urc_lx *k0 = bx < 0 ? dlit(0) : f64(urc_lx_load(k, bx, urc_add(n0, urc_muli(var(k, gi), cpg))));
    int kg = urc_ls_let(k, lg, "kg", URC_DT_F64, k0);
    int ss = urc_ls_let(k, lg, "ss", URC_DT_F64, dlit(0)), qq = urc_ls_let(k, lg, "qq", URC_DT_F64, dlit(0));
    urc_ls *l1 = urc_ls_for(lg, cc, ilit(0), ilit(cpg), 1, 0);
    urc_lx *c = urc_add(urc_muli(var(k, gi), cpg), var(k, cc));
    /* delta = K_c - K_g: sum(x - K_g) = s + S*delta, sum((x - K_g)^2) = q + 2*delta*s + S*delta^2. */
    urc_lx *kc = bx < 0 ? dlit(0) : f64(urc_lx_load(k, bx, urc_add(n0, c)));
    int dl = urc_ls_let(k, l1, "dl", URC_DT_F64, bin(URC_L_SUB, kc, var(k, kg)));
    urc_lx *sc = urc_lx_load(k, tot_s, c), *qc = urc_lx_load(k, tot_q, c);
    urc_ls_assign(l1, ss, bin(URC_L_ADD, var(k, ss), bin(URC_L_ADD, sc, bin(URC_L_MUL, dlit((double)S), var(k, dl)))));
    urc_lx *q2 = bin(URC_L_ADD, qc,
                     bin(URC_L_MUL, var(k, dl),
                         bin(URC_L_ADD, bin(URC_L_MUL, dlit(2), sc), bin(URC_L_MUL, dlit((double)S), var(k, dl)))));
    urc_ls_assign(l1, qq, bin(URC_L_ADD, var(k, qq), q2));
    urc_lx *cnt = dlit((double)(S * cpg));
    int md = urc_ls_let(k, lg, "md", URC_DT_F64, bin(URC_L_DIV, var(k, ss), cnt));
    int vr = urc_ls_let(k, lg, "var", URC_DT_F64,
                        bin(URC_L_MAX,
                            bin(URC_L_SUB, bin(URC_L_DIV, var(k, qq), cnt), bin(URC_L_MUL, var(k, md), var(k, md))),
                            dlit(0)));
    int inv = urc_ls_let(k, lg, "inv", URC_DT_F64,
                         bin(URC_L_DIV, dlit(1), urc_lx_un(URC_L_SQRT, bin(URC_L_ADD, var(k, vr), dlit(np->eps)))));
    int mean = urc_ls_let(k, lg, "mean", URC_DT_F64, bin(URC_L_ADD, var(k, kg), var(k, md)));
    urc_ls *l2 = urc_ls_for(lg, cc, ilit(0), ilit(cpg), 1, 0);
    urc_lx *p = g->per_group ? var(k, gi) : c;
    urc_ls_store(l2, ab[0], c, urc_lx_cast(dt, var(k, mean)));
    urc_ls_store(l2, ab[1], c,
                 urc_lx_cast(dt, bin(URC_L_MUL, var(k, inv), urc_norm_pload(L, k, np->scale, "scale", p))));
    urc_ls_store(l2, ab[2], c, urc_lx_cast(dt, urc_norm_param(L, k, np->bias, "bias", p)));
}

static int64_t gcd64(int64_t a, int64_t b) { return b ? gcd64(b, a % b) : a; }

/* y[xi] = the epilogue of x[xi] with m, a, b (of each norm) element ci of
 * the arrays mab[j][0..2]. */
static void store_applied(urc_kernel *k, urc_ls *at, const epilogue *e, int bx, int by, urc_lx *xi, int mab[2][3],
                          int nnorm, urc_lx *ci) {
    urc_lx *m[2][3] = {{0}};
    for (int j = 0; j < nnorm; j++)
        for (int q = 0; q < 3; q++) m[j][q] = urc_lx_load(k, mab[j][q], ci);
    urc_ls_store(at, by, xi, urc_norm_value(k, at, e, bx, xi, m[0], m[1]));
}

/* The channels-last apply pass when C is not a multiple of the vector
 * width W (Swin's 6 or 12 channels at 8 lanes): a loop over C channels is
 * a partial vector (or, with an activation's select, scalar code with a
 * branch per element). Instead the coefficients are repeated to a period of
 * P = lcm(C, W) elements and the batch item runs as S*C/P blocks of P
 * (whole vectors) in parallel, the elements past the last whole block one
 * by one. False (nothing emitted) when C is a multiple of W or P is over
 * 8 W. */
static bool cl_apply_periodic(urc_lower *L, urc_kernel *k, const geom *g, const epilogue *e, int bx, int by, urc_lx *n0,
                              int ab[2][3], int nnorm) {
    urc_dtype dt = k->bufs.items[bx].dt;
    int64_t C = g->C, W = L->target ? L->target->vector_bits / (8 * urc_dtype_size(dt)) : 4;
    if (W < 2 || C % W == 0) return false;
    int64_t P = C / gcd64(C, W) * W, NE = g->S * C, nb = NE / P;
    if (P > 8 * W || nb < 1) return false;
    int r[2][3];
    int ei = urc_kernel_var(k, "e", URC_DT_I64), bi = urc_kernel_var(k, "blk", URC_DT_I64);
    urc_ls *le = urc_ls_for(k->body, ei, ilit(0), ilit(P), 1, 0);
    urc_lx *cm = urc_lx_inrange(bin(URC_L_REM, var(k, ei), ilit(C)));
    for (int j = 0; j < nnorm; j++)
        for (int q = 0; q < 3; q++) {
            r[j][q] = urc_kernel_local(k, "rep", dt, P);
            urc_ls_store(le, r[j][q], var(k, ei), urc_lx_load(k, ab[j][q], cm));
        }
    urc_ls *lb = urc_ls_for(k->body, bi, ilit(0), ilit(nb), 1, URC_FOR_PARALLEL);
    urc_ls *lv = urc_ls_for(lb, ei, ilit(0), ilit(P), 1, URC_FOR_SIMD | URC_FOR_VECTOR);
    store_applied(k, lv, e, bx, by, urc_add(n0, urc_add(urc_muli(var(k, bi), P), var(k, ei))), r, nnorm, var(k, ei));
    if (NE % P) {
        urc_ls *lt = urc_ls_for(k->body, ei, ilit(nb * P), ilit(NE), 1, 0);
        store_applied(k, lt, e, bx, by, urc_add(n0, var(k, ei)), ab, nnorm, cm);
    }
    return true;
}

/* The head's classes in lanes: M' rounded up to 16. */
static int64_t head_lanes(const urc_node *n) { return (n->in[10]->shape.dims[0] + 15) / 16 * 16; }

/* The head's constants, once per kernel: W transposed, [C][MP] (MP = M' rounded up to 16), and the bias [MP], zeros
 * past M'; their buffers into hb[0..1]. */
static void head_consts(urc_lower *L, urc_kernel *k, const urc_node *n, int64_t C, int *hb) {
    const urc_value *W = n->in[10], *B = present(n, 11) ? n->in[11] : NULL;
    int64_t M = W->shape.dims[0], MP = head_lanes(n);
    float *wt = urc_xcalloc((size_t)(C * MP), sizeof *wt), *bp = urc_xcalloc((size_t)MP, sizeof *bp);
    const float *w = W->data;
    for (int64_t m = 0; m < M; m++) {
        for (int64_t c = 0; c < C; c++) wt[c * MP + m] = w[m * C + c];
        if (B) bp[m] = ((const float *)B->data)[m];
    }
    hb[0] = urc_lower_const(L, k, "head_w", URC_DT_F32, C * MP, wt);
    hb[1] = urc_lower_const(L, k, "head_b", URC_DT_F32, MP, bp);
    free(wt);
    free(bp);
}

/* The apply pass through the head (FusedNorm in[10], in[11]: passes/norm_head.c): per block of VB voxels, each
 * voxel's C values into t, then acc[v][m] = b[m] + t[0] * W[m][0] + t[1] * W[m][1] + ... (fused multiply-adds in
 * channel order, as the head's own kernel sums them: the same bits), stored channels-first (M rows of VB voxels) or
 * channels-last. Y (C floats a voxel) is never stored. */
static void cl_apply_head(urc_kernel *k, const urc_node *n, const geom *g, const epilogue *e, int bx, int by,
                          const int *hb, int64_t nb, int ab[2][3], int nnorm) {
    int64_t C = g->C, S = g->S, M = n->in[10]->shape.dims[0], MP = head_lanes(n), VB = 16, n0 = nb * S * C;
    int bw = hb[0], bb = hb[1];
    int vb = urc_kernel_var(k, "vb", URC_DT_I64), vi = urc_kernel_var(k, "vi", URC_DT_I64);
    int c = urc_kernel_var(k, "c", URC_DT_I64), m = urc_kernel_var(k, "m", URC_DT_I64);
    int t = urc_kernel_local(k, "t", URC_DT_F32, VB * C), acc = urc_kernel_local(k, "hacc", URC_DT_F32, VB * MP);
    urc_ls *lb = urc_ls_for(k->body, vb, ilit(0), ilit((S + VB - 1) / VB), 1, URC_FOR_PARALLEL);
    urc_ls_array(lb, k, t);
    urc_ls_array(lb, k, acc);
    urc_lx *v0 = urc_muli(var(k, vb), VB);
    urc_lx *vn = S % VB ? urc_lx_inrange(bin(URC_L_MIN, ilit(VB), urc_sub(ilit(S), v0))) : ilit(VB);
    urc_ls *li = urc_ls_for(lb, vi, ilit(0), vn, 1, 0);
    urc_lx *v = urc_add(v0, var(k, vi)), *ai = urc_add(urc_muli(var(k, vi), MP), var(k, m));
    urc_lx *ti = urc_add(urc_muli(var(k, vi), C), var(k, c));
    urc_ls *lc = urc_ls_for(li, c, ilit(0), ilit(C), 1, URC_FOR_SIMD | URC_FOR_VECTOR);
    urc_lx *mab[2][3] = {{0}};
    for (int j = 0; j < nnorm; j++)
        for (int q = 0; q < 3; q++) mab[j][q] = urc_lx_load(k, ab[j][q], var(k, c));
    urc_lx *xi = urc_add(ilit(n0), urc_add(urc_muli(v, C), var(k, c)));
    urc_ls_store(lc, t, ti, urc_norm_value(k, lc, e, bx, xi, mab[0], mab[1]));
    urc_ls *lm = urc_ls_for(li, m, ilit(0), ilit(MP), 1, URC_FOR_VECTOR);
    urc_ls_store(lm, acc, ai, urc_lx_load(k, bb, var(k, m)));
    /* (the voxels inside the channels: VB independent sums a step, each still in channel order) */
    urc_ls *lc2 = urc_ls_for(lb, c, ilit(0), ilit(C), 1, 0);
    urc_ls *li2 = urc_ls_for(lc2, vi, ilit(0), vn, 1, S % VB ? 0 : URC_FOR_UNROLL);
    urc_ls *lm2 = urc_ls_for(li2, m, ilit(0), ilit(MP), 1, URC_FOR_VECTOR);
    urc_ls_store(lm2, acc, ai,
                 urc_lx_fma(urc_lx_load(k, t, ti), urc_lx_load(k, bw, urc_add(urc_muli(var(k, c), MP), var(k, m))),
                            urc_lx_load(k, acc, ai)));
    if (n->a.norm.head_y_first) { /* y[nb, m, v0 + vi] */
        urc_ls *ls = urc_ls_for(lb, m, ilit(0), ilit(M), 1, 0);
        urc_ls *lv = urc_ls_for(ls, vi, ilit(0), vn, 1, URC_FOR_VECTOR);
        urc_ls_store(lv, by, urc_add(urc_muli(urc_addi(var(k, m), nb * M), S), v), urc_lx_load(k, acc, ai));
    } else { /* y[nb, v0 + vi, m] */
        urc_ls *lv = urc_ls_for(lb, vi, ilit(0), vn, 1, 0);
        urc_ls *ls = urc_ls_for(lv, m, ilit(0), ilit(M), 1, URC_FOR_VECTOR);
        urc_ls_store(ls, by, urc_add(urc_muli(urc_addi(v, nb * S), M), var(k, m)), urc_lx_load(k, acc, ai));
    }
}

/* FusedNorm in[12] (passes/norm_pointwise.c): residual 2's X2 = x2 . W^T, x2 [N, S, C2] (C2 <= 4), never stored. Its
 * statistics follow from x2's: for channel m, mean = W[m] . mu and var = W[m]^T Cov W[m] (mu, Cov: x2's channel means
 * and covariance over the S voxels of sample nb, from float64 sums of d = x2 - K (K: its first voxel) and of the
 * products d_i d_j, in parallel chunks as cl_stats), so that its norm's value is r[m] = sum over j of pa[j][m] * x2[j]
 * + pb[m]: pa[j][m] = a[m] W[m][j], pb[m] = bias2[m] - a[m] mean[m], a[m] = scale2[m] / sqrt(var + eps2) (a bias of
 * the convolution that made X2 cancels). */
static void pw_coeffs(urc_lower *L, urc_kernel *k, const urc_node *n, const geom *g, int bx2, int64_t nb, int pa,
                      int pb) {
    const urc_value *Wv = n->in[12];
    int64_t C = g->C, S = g->S, C2 = Wv->shape.dims[1], NQ = C2 + C2 * C2;
    geom g2 = {g->N, C2, S, C2, 1, true, false};
    int64_t P = cl_chunks(L, &g2), chunk = (S + P - 1) / P;
    urc_lx *n0 = ilit(nb * S * C2);
    urc_lx *K[4];
    for (int64_t j = 0; j < C2; j++)
        K[j] = var(k, urc_ls_let(k, k->body, "pk", URC_DT_F64, f64(urc_lx_load(k, bx2, urc_addi(n0, j)))));
    int parts = urc_kernel_local(k, "pw_parts", URC_DT_F64, P * NQ),
        tot = urc_kernel_local(k, "pw_tot", URC_DT_F64, NQ);
    int p = urc_kernel_var(k, "p", URC_DT_I64), v = urc_kernel_var(k, "v", URC_DT_I64),
        q = urc_kernel_var(k, "q", URC_DT_I64);
    urc_ls *lp = urc_ls_for(k->body, p, ilit(0), ilit(P), 1, URC_FOR_PARALLEL);
    /* the chunk's sums lane by lane over blocks of 16 voxels (the voxels in the vector lanes): pl[q][lane], q = j for
     * d_j and C2 + j * C2 + i for d_j d_i (i >= j; the lower triangle's from it) */
    int pl = urc_kernel_local(k, "pw_lanes", URC_DT_F64, NQ * 16), l = urc_kernel_var(k, "l", URC_DT_I64);
    urc_ls_array(lp, k, pl);
    urc_ls_store(urc_ls_for(lp, q, ilit(0), ilit(NQ * 16), 1, URC_FOR_VECTOR), pl, var(k, q), dlit(0));
    urc_lx *lo = urc_muli(var(k, p), chunk), *hi = urc_lx_inrange(bin(URC_L_MIN, ilit(S), urc_addi(lo, chunk)));
    urc_ls *lv = urc_ls_for(lp, v, lo, hi, 16, 0);
    urc_ls *ll =
        urc_ls_for(lv, l, ilit(0), urc_lx_inrange(bin(URC_L_MIN, ilit(16), urc_sub(hi, var(k, v)))), 1, URC_FOR_VECTOR);
    urc_lx *d[4], *vl = urc_add(var(k, v), var(k, l));
    for (int64_t j = 0; j < C2; j++) {
        urc_lx *x = f64(urc_lx_load(k, bx2, urc_add(n0, urc_addi(urc_muli(vl, C2), j))));
        d[j] = var(k, urc_ls_let(k, ll, "pd", URC_DT_F64, bin(URC_L_SUB, x, K[j])));
    }
    for (int64_t j = 0; j < C2; j++) {
        urc_ls_accum(ll, pl, urc_addi(var(k, l), j * 16), d[j]);
        for (int64_t i = j; i < C2; i++)
            urc_ls_accum(ll, pl, urc_addi(var(k, l), (C2 + j * C2 + i) * 16), bin(URC_L_MUL, d[j], d[i]));
    }
    for (int64_t j = 0; j < NQ; j++) { /* (the lower triangle's from the upper one) */
        int64_t u = j < C2 || (j - C2) / C2 <= (j - C2) % C2 ? j : C2 + (j - C2) % C2 * C2 + (j - C2) / C2;
        urc_lx *at = urc_addi(urc_muli(var(k, p), NQ), j);
        urc_ls_store(lp, parts, at, dlit(0));
        urc_ls_accum(urc_ls_for(lp, l, ilit(0), ilit(16), 1, 0), parts, at,
                     urc_lx_load(k, pl, urc_addi(var(k, l), u * 16)));
    }
    urc_ls_store(urc_ls_for(k->body, q, ilit(0), ilit(NQ), 1, 0), tot, var(k, q), dlit(0));
    urc_ls *ls = urc_ls_for(urc_ls_for(k->body, p, ilit(0), ilit(P), 1, 0), q, ilit(0), ilit(NQ), 1, 0);
    urc_ls_accum(ls, tot, var(k, q), urc_lx_load(k, parts, urc_add(urc_muli(var(k, p), NQ), var(k, q))));
    /* per channel m: mean, var, then pa and pb */
    int bw = urc_lower_const(L, k, "pw_w", URC_DT_F32, C * C2, Wv->data);
    int m = urc_kernel_var(k, "m", URC_DT_I64);
    urc_ls *lm = urc_ls_for(k->body, m, ilit(0), ilit(C), 1, 0);
    urc_lx *w[4], *mu[4], *invS = dlit(1.0 / (double)S);
    for (int64_t j = 0; j < C2; j++) {
        w[j] =
            var(k, urc_ls_let(k, lm, "pw", URC_DT_F64, f64(urc_lx_load(k, bw, urc_addi(urc_muli(var(k, m), C2), j)))));
        mu[j] = bin(URC_L_MUL, urc_lx_load(k, tot, ilit(j)), invS); /* (the mean of d_j) */
    }
    urc_lx *mean = NULL, *vr = NULL;
    for (int64_t j = 0; j < C2; j++) {
        urc_lx *t = bin(URC_L_MUL, w[j], bin(URC_L_ADD, K[j], mu[j]));
        mean = mean ? bin(URC_L_ADD, mean, t) : t;
        for (int64_t i = 0; i < C2; i++) { /* Cov[j][i] = E[d_j d_i] - E[d_j] E[d_i] */
            urc_lx *cv = bin(URC_L_SUB, bin(URC_L_MUL, urc_lx_load(k, tot, ilit(C2 + j * C2 + i)), invS),
                             bin(URC_L_MUL, mu[j], mu[i]));
            urc_lx *u = bin(URC_L_MUL, bin(URC_L_MUL, w[j], w[i]), cv);
            vr = vr ? bin(URC_L_ADD, vr, u) : u;
        }
    }
    int mn = urc_ls_let(k, lm, "pmean", URC_DT_F64, mean);
    int va = urc_ls_let(k, lm, "pvar", URC_DT_F64, bin(URC_L_MAX, vr, dlit(0)));
    int a = urc_ls_let(
        k, lm, "pa", URC_DT_F64,
        bin(URC_L_MUL,
            bin(URC_L_DIV, dlit(1), urc_lx_un(URC_L_SQRT, bin(URC_L_ADD, var(k, va), dlit(n->a.norm.epsilon2)))),
            urc_norm_pload(L, k, n->in[6], "scale2", var(k, m))));
    for (int64_t j = 0; j < C2; j++)
        urc_ls_store(lm, pa, urc_addi(var(k, m), j * C), urc_lx_cast(URC_DT_F32, bin(URC_L_MUL, var(k, a), w[j])));
    urc_ls_store(lm, pb, var(k, m),
                 urc_lx_cast(URC_DT_F32, bin(URC_L_SUB, f64(urc_norm_param(L, k, n->in[7], "bias2", var(k, m))),
                                             bin(URC_L_MUL, var(k, a), var(k, mn)))));
}

/* The apply pass with pw_coeffs' residual: per voxel its C2 values of x2, then per channel the norm's value plus
 * r[c] = pb[c] + pa[0][c] * x2[0] + pa[1][c] * x2[1] + ... (float32). */
static void pw_apply(urc_kernel *k, const urc_node *n, const geom *g, const epilogue *e0, int bx, int bx2, int by,
                     int64_t nb, int ab[2][3], int pa, int pb) {
    int64_t C = g->C, S = g->S, C2 = n->in[12]->shape.dims[1];
    int v = urc_kernel_var(k, "v", URC_DT_I64), c = urc_kernel_var(k, "c", URC_DT_I64);
    urc_ls *lv = urc_ls_for(k->body, v, ilit(0), ilit(S), 1, URC_FOR_PARALLEL);
    urc_lx *xs[4];
    for (int64_t j = 0; j < C2; j++)
        xs[j] = var(k, urc_ls_let(k, lv, "px", URC_DT_F32,
                                  urc_lx_load(k, bx2, urc_addi(urc_muli(var(k, v), C2), nb * S * C2 + j))));
    urc_ls *lc = urc_ls_for(lv, c, ilit(0), ilit(C), 1, URC_FOR_SIMD | URC_FOR_VECTOR);
    urc_lx *r = urc_lx_load(k, pb, var(k, c));
    for (int64_t j = 0; j < C2; j++)
        r = bin(URC_L_ADD, r, bin(URC_L_MUL, urc_lx_load(k, pa, urc_addi(var(k, c), j * C)), xs[j]));
    epilogue e = *e0;
    e.residual = 3, e.r3 = r;
    urc_lx *m[3];
    for (int q = 0; q < 3; q++) m[q] = urc_lx_load(k, ab[0][q], var(k, c));
    urc_lx *xi = urc_addi(urc_add(urc_muli(var(k, v), C), var(k, c)), nb * S * C);
    urc_ls_store(lc, by, xi, urc_norm_value(k, lc, &e, bx, xi, m, NULL));
}

/* Channels-last: X is (N, S, C). */
bool urc_norm_lower_cl(urc_lower *L, const urc_node *n, const geom *g, const normp *np, int nnorm) {
    urc_op op = base_op(n);
    bool bn = op == URC_OP_BATCH_NORM;
    urc_dtype dt = np[0].x->dtype;
    int64_t C = g->C, S = g->S;
    urc_kernel *k = urc_lower_begin(L, n);
    if (g->N * C * S == 0) return true;
    int bx[2], bst[2] = {-1, -1};
    for (int j = 0; j < nnorm; j++) bx[j] = urc_lower_in(L, k, np[j].x, j ? "x2" : "x");
    for (int j = 0; j < nnorm; j++)
        if (n->op == URC_OP_FUSED_NORM && present(n, 8 + j)) bst[j] = urc_lower_in(L, k, n->in[8 + j], "stats");
    int by = urc_lower_out(L, k, n->out[0], "y");
    epilogue e = urc_norm_epilogue(L, k, n);
    int ab[2][3];
    static const char *names[3] = {"cm", "ca", "cb"};
    bool pw = n->op == URC_OP_FUSED_NORM && present(n, 12); /* (X2 from in[5] through W: pw_coeffs, not ab[1]) */
    for (int j = 0; j < nnorm; j++)
        for (int q = 0; q < 3; q++) ab[j][q] = pw && j ? -1 : urc_kernel_local(k, names[q], dt, C);
    int c = urc_kernel_var(k, "c", URC_DT_I64), v = urc_kernel_var(k, "v", URC_DT_I64);
    if (bn) {
        urc_ls *lc = urc_ls_for(k->body, c, ilit(0), ilit(C), 1, 0);
        int mab[3];
        urc_norm_bn_coeffs(L, k, lc, &np[0], var(k, c), dt, mab);
        for (int q = 0; q < 3; q++) urc_ls_store(lc, ab[0][q], var(k, c), var(k, mab[q]));
    }
    int tot_s = -1, tot_q = -1, parts[2] = {-1, -1}, hb[2] = {-1, -1};
    bool head = n->op == URC_OP_FUSED_NORM && present(n, 10);
    if (head) head_consts(L, k, n, C, hb);
    int pa = -1, pb = -1;
    if (pw) {
        pa = urc_kernel_local(k, "pw_a", URC_DT_F32, n->in[12]->shape.dims[1] * C);
        pb = urc_kernel_local(k, "pw_b", URC_DT_F32, C);
    }
    if (!bn) {
        tot_s = urc_kernel_local(k, "tot_s", URC_DT_F64, C);
        tot_q = urc_kernel_local(k, "tot_q", URC_DT_F64, C);
    }
    /* Batch items one after the other (N is 1 in practice): the kernel body
     * is emitted once per item with n0 a literal. */
    for (int64_t nb = 0; nb < g->N; nb++) {
        urc_lx *n0 = ilit(nb * S * C);
        for (int j = 0; j < nnorm && !bn; j++) {
            if (pw && j == 1) {
                pw_coeffs(L, k, n, g, bx[1], nb, pa, pb);
                continue;
            }
            if (bst[j] >= 0) {
                cl_stats_given(k, g, bst[j], n->in[8 + j]->shape.dims[1], nb, tot_s, tot_q);
                cl_coeffs(L, k, g, &np[j], -1, n0, tot_s, tot_q, ab[j], dt);
                continue;
            }
            cl_stats(L, k, g, bx[j], n0, tot_s, tot_q, parts);
            cl_coeffs(L, k, g, &np[j], bx[j], n0, tot_s, tot_q, ab[j], dt);
        }
        if (head) {
            cl_apply_head(k, n, g, &e, bx[0], by, hb, nb, ab, nnorm);
            continue;
        }
        if (pw) {
            pw_apply(k, n, g, &e, bx[0], bx[1], by, nb, ab, pa, pb);
            continue;
        }
        if (cl_apply_periodic(L, k, g, &e, bx[0], by, n0, ab, nnorm)) continue;
        urc_ls *lv = urc_ls_for(k->body, v, ilit(0), ilit(S), 1, URC_FOR_PARALLEL);
        urc_ls *lc = urc_ls_for(lv, c, ilit(0), ilit(C), 1, URC_FOR_SIMD | URC_FOR_VECTOR);
        store_applied(k, lc, &e, bx[0], by, urc_add(n0, urc_add(urc_muli(var(k, v), C), var(k, c))), ab, nnorm,
                      var(k, c));
    }
    return true;
}

void urc_norm_apply_coeffs(urc_lower *L, urc_kernel *k, const urc_value *x, const urc_value *scale,
                           const urc_value *bias, int bst, int64_t P, double eps, int mab[3]) {
    const urc_shape *xs = &x->shape;
    int64_t N = xs->dims[0], C = xs->dims[xs->rank - 1], S = urc_shape_numel(xs) / (N * C);
    geom g = {N, C, S, C, 1, true, false};
    normp np = {x, scale, bias, NULL, NULL, eps};
    static const char *names[3] = {"xn_m", "xn_a", "xn_b"}, *per[3] = {"cm", "ca", "cb"};
    int ab[3], tot_s = urc_kernel_local(k, "tot_s", URC_DT_F64, C), tot_q = urc_kernel_local(k, "tot_q", URC_DT_F64, C);
    for (int q = 0; q < 3; q++) {
        ab[q] = urc_kernel_local(k, per[q], URC_DT_F32, C);
        mab[q] = urc_kernel_local(k, names[q], URC_DT_F32, N * C);
    }
    int c = urc_kernel_var(k, "c", URC_DT_I64);
    for (int64_t nb = 0; nb < N; nb++) { /* (as urc_norm_lower_cl: a sample after the other) */
        cl_stats_given(k, &g, bst, P, nb, tot_s, tot_q);
        cl_coeffs(L, k, &g, &np, -1, ilit(nb * S * C), tot_s, tot_q, ab, URC_DT_F32);
        urc_ls *lc = urc_ls_for(k->body, c, ilit(0), ilit(C), 1, URC_FOR_VECTOR);
        for (int q = 0; q < 3; q++)
            urc_ls_store(lc, mab[q], urc_addi(var(k, c), nb * C), urc_lx_load(k, ab[q], var(k, c)));
    }
}

urc_lx *urc_norm_apply_value(urc_kernel *k, urc_ls *at, urc_act act, double alpha, int bx, urc_lx *idx,
                             const int mab[3], urc_lx *ci, urc_dtype dt) {
    epilogue e = {act, URC_ACT_NONE, alpha, 0, 0, -1, dt, {0, 0, 0}, NULL};
    urc_lx *m[3];
    for (int q = 0; q < 3; q++) m[q] = urc_lx_load(k, mab[q], ci);
    return urc_norm_value(k, at, &e, bx, idx, m, NULL);
}
