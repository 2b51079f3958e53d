/* convgrad.c: unetrc.ConvGradWeight, the weight gradient of Conv and
 * ConvTranspose (made by autodiff: compiler/autodiff/grad_conv.c; never read
 * from a model).
 *
 *   ConvGradWeight(A [N, C, Sa], B [N, M, Sb]) -> dW [M, C/G, K]
 *   dW[m, c, k] = sum_{n, o in Sb} B[n, m, o] * A[n, g*(C/G) + c, o*s - pb + k*d],   g = m / (M/G)
 *
 * per spatial axis with kernel K, stride s, dilation d and begin padding pb
 * (the resolved urc_conv_attr of the forward node; the end padding only
 * matters through Sb); taps outside A read zero (padding).
 *   Conv          Y = Conv(X, W),  W [M, C/G, K]:  dW = ConvGradWeight(X, dY)
 *   ConvTranspose Y = ConvT(X, W), W [C, M/G, K]:  dW = ConvGradWeight(dY, X)
 * (ConvTranspose feeds output o = i*s + k*d - pb from input i, so its
 * dW[c, mm, k] = sum_{n, i} X[n, c, i] dY[n, g*(M/G) + mm, i*s - pb + k*d]:
 * the same sum with the roles of the two operands swapped.)
 *
 * Channels-last form (`channels_last`, set by the layout pass, which
 * transposes both A and B): A [N, Sa, C], B [N, Sb, M] -> dW [M, K, C/G]
 * (the layout pass transposes dW back to [M, C/G, K]).
 *
 * The naive lowering (either layout, any group) gathers per weight element:
 * the (m, c) pairs run in parallel, each tap k sums over the batch and the
 * positions o whose input lies inside A (bounds computed per tap, so the
 * loops have no branches).
 *
 * The channels-last float32 lowering with group 1 is register-blocked (see
 * "fast path" below): per output row of B, an outer product of B's channels
 * with A's channels at every tap, accumulated in registers over the row. */
#include "spatial.h"

/* ---- inference ------------------------------------------------------------ */

static bool cgw_infer(urc_node *n) {
    urc_conv_attr *a = &n->a.conv;
    const char *where = urc_node_where(n);
    if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0) || !urc_check_same_dtype(n, 0, 1)) return false;
    if (!urc_check_rank(n, 0, 3, 2 + URC_MAX_SPATIAL)) return false;
    urc_shape as = n->in[0]->shape, bs = n->in[1]->shape;
    if (bs.rank != as.rank || bs.dims[0] != as.dims[0]) {
        urc_error(where, "internal: operands %s and %s must have the same rank and batch", urc_shape_str(&as),
                  urc_shape_str(&bs));
        return false;
    }
    if (a->channels_last) {
        as = urc_sp_to_first(&as);
        bs = urc_sp_to_first(&bs);
    }
    int nsp = as.rank - 2;
    a->nsp = nsp;
    int64_t G = a->group, C = as.dims[1], M = bs.dims[1];
    if (G < 1 || C % G || M % G) {
        urc_error(where, "internal: group %lld must divide the channels (%lld, %lld)", (long long)G, (long long)C,
                  (long long)M);
        return false;
    }
    for (int i = 0; i < nsp; i++)
        if (a->kernel[i] < 1 || a->strides[i] < 1 || a->dilations[i] < 1 || a->pads[i] < 0 || as.dims[2 + i] < 1 ||
            bs.dims[2 + i] < 1) {
            urc_error(where, "internal: bad ConvGradWeight geometry on spatial axis %d", i);
            return false;
        }
    urc_shape ws = {as.rank, {M, C / G}};
    for (int i = 0; i < nsp; i++) ws.dims[2 + i] = a->kernel[i];
    if (a->channels_last) ws = urc_sp_to_last(&ws); /* [M, K..., C/G] */
    urc_set_out(n, 0, n->in[0]->dtype, &ws);
    return true;
}

/* ---- geometry --------------------------------------------------------------- */

/* Unused spatial axes (beyond nsp, up to 3) have extent 1. */
typedef struct geo {
    int nsp;
    bool cl;
    int64_t N, C, M, G, Cg, Mg;
    int64_t in[3], out[3], K[3], s[3], d[3], pb[3];
} geo;

static geo geometry(const urc_node *n) {
    const urc_conv_attr *a = &n->a.conv;
    urc_shape as = n->in[0]->shape, bs = n->in[1]->shape;
    if (a->channels_last) {
        as = urc_sp_to_first(&as);
        bs = urc_sp_to_first(&bs);
    }
    geo g = {a->nsp, a->channels_last, as.dims[0], as.dims[1], bs.dims[1], a->group,  0,
             0,      {1, 1, 1},        {1, 1, 1},  {1, 1, 1},  {1, 1, 1},  {1, 1, 1}, {0, 0, 0}};
    g.Cg = g.C / g.G;
    g.Mg = g.M / g.G;
    for (int i = 0; i < a->nsp; i++) {
        g.in[i] = as.dims[2 + i];
        g.out[i] = bs.dims[2 + i];
        g.K[i] = a->kernel[i];
        g.s[i] = a->strides[i];
        g.d[i] = a->dilations[i];
        g.pb[i] = a->pads[i];
    }
    return g;
}

/* ---- reference ------------------------------------------------------------------ */

static bool cgw_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    geo g = geometry(n);
    double *A = urc_tensor_to_f64(in[0]), *B = urc_tensor_to_f64(in[1]);
    if (g.cl) { /* compute channels-first */
        urc_shape acf = urc_sp_to_first(&in[0]->shape), bcf = urc_sp_to_first(&in[1]->shape);
        double *a1 = urc_sp_relayout(A, &acf, true), *b1 = urc_sp_relayout(B, &bcf, true);
        free(A);
        free(B);
        A = a1;
        B = b1;
    }
    int64_t osz = g.out[0] * g.out[1] * g.out[2], ksz = g.K[0] * g.K[1] * g.K[2];
    int64_t nw = urc_tensor_numel(out[0]);
    double *w = urc_xcalloc((size_t)nw + 1, sizeof(double));
    for (int64_t m = 0; m < g.M; m++)
        for (int64_t c = 0; c < g.Cg; c++) {
            int64_t cin = m / g.Mg * g.Cg + c;
            for (int64_t kp = 0; kp < ksz; kp++) {
                int64_t k[3] = {kp / (g.K[1] * g.K[2]), kp / g.K[2] % g.K[1], kp % g.K[2]};
                double acc = 0;
                for (int64_t nn = 0; nn < g.N; nn++)
                    for (int64_t op = 0; op < osz; op++) {
                        int64_t o[3] = {op / (g.out[1] * g.out[2]), op / g.out[2] % g.out[1], op % g.out[2]};
                        int64_t ai = nn * g.C + cin;
                        bool inside = true;
                        for (int a = 0; a < 3; a++) {
                            int64_t i = o[a] * g.s[a] - g.pb[a] + k[a] * g.d[a];
                            inside = inside && i >= 0 && i < g.in[a];
                            ai = ai * g.in[a] + i;
                        }
                        if (inside) acc += B[(nn * g.M + m) * osz + op] * A[ai];
                    }
                w[(m * g.Cg + c) * ksz + kp] = acc;
            }
        }
    if (g.cl) { /* [M, Cg, K] -> [M, K, Cg] */
        urc_shape wcf = urc_sp_to_first(&out[0]->shape);
        double *w1 = urc_sp_relayout(w, &wcf, false);
        free(w);
        w = w1;
    }
    urc_tensor_from_f64(out[0], w);
    free(A);
    free(B);
    free(w);
    return true;
}

/* ---- lowering ------------------------------------------------------------------- */

static const char *nm(const char *base, int a) { return urc_fmt("%s%d", base, a); }

/* ceil(v / s) for the bounds below: exact for v > 0, and <= 0 when v <= 0
 * (truncating division), which the callers clamp or treat as empty. */
static urc_lx *ceil_div(urc_lx *v, int64_t s) {
    if (v->kind == URC_LX_INT) {
        int64_t q = v->i / s;
        return urc_sp_i(q * s < v->i ? q + 1 : q);
    }
    return urc_sp_div(urc_addi(v, s - 1), s);
}

/* Axis a at tap k: the positions o of B whose input o*s - pb + k*d lies in
 * [0, in) form [*lo, *hi):
 *   lo = max(0, ceil((pb - k*d) / s)),  hi = min(out, ceil((in + pb - k*d) / s))
 * Bounds are computed only where some tap crosses them. */
static void positions(urc_kernel *k, urc_ls *body, const geo *g, int a, urc_lx *kk, urc_lx **lo, urc_lx **hi) {
    int64_t s = g->s[a], d = g->d[a], pb = g->pb[a], K = g->K[a], in = g->in[a], out = g->out[a];
    urc_lx *kd = urc_muli(kk, d);
    *lo = urc_sp_i(0);
    *hi = urc_sp_i(out);
    if (pb > 0) {
        urc_lx *v = ceil_div(urc_sub(urc_sp_i(pb), kd), s);
        *lo = v->kind == URC_LX_INT ? urc_sp_i(v->i > 0 ? v->i : 0)
                                    : urc_sp_let(k, body, nm("olo", a), urc_sp_max(urc_sp_i(0), v));
    }
    if ((out - 1) * s - pb + (K - 1) * d >= in) {
        urc_lx *v = ceil_div(urc_sub(urc_sp_i(in + pb), kd), s);
        *hi = v->kind == URC_LX_INT ? urc_sp_i(v->i < out ? v->i : out)
                                    : urc_sp_let(k, body, nm("ohi", a), urc_sp_min(urc_sp_i(out), v));
    }
}

/*   for m, c (parallel):  for k0, k1, k2:  [position range per axis]
 *     acc = 0;  for n, o0, o1, o2:  acc += B[n, m, o] * A[n, g*Cg + c, o*s - pb + k*d]
 *     dW[m, c, k] = acc
 * (either layout: the indices go through urc_sp_index) */
static bool lower_naive(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *pg) {
    geo g = *pg;
    const urc_value *A = n->in[0], *B = n->in[1], *W = n->out[0];
    urc_dtype dt = W->dtype;
    int ba = urc_lower_in(L, k, A, "a"), bb = urc_lower_in(L, k, B, "b"), bw = urc_lower_out(L, k, W, "dw");
    urc_ls *body = k->body, *par = NULL;
    urc_lx *m = urc_sp_dim_loop(k, &body, "m", g.M, &par);
    urc_lx *c = urc_sp_dim_loop(k, &body, "c", g.Cg, &par);
    urc_lx *cin = g.G == 1 ? c : urc_add(urc_muli(urc_sp_div(m, g.Mg), g.Cg), c);
    urc_lx *kk[URC_MAX_SPATIAL], *lo[URC_MAX_SPATIAL], *hi[URC_MAX_SPATIAL];
    for (int a = 0; a < g.nsp; a++) kk[a] = urc_sp_dim_loop(k, &body, nm("k", a), g.K[a], NULL);
    for (int a = 0; a < g.nsp; a++) positions(k, body, &g, a, kk[a], &lo[a], &hi[a]);
    int acc = urc_kernel_var(k, "acc", dt);
    urc_ls_decl(body, acc, urc_lx_const(0, dt));
    urc_ls *in = body;
    urc_lx *nn = urc_sp_dim_loop(k, &in, "n", g.N, NULL);
    const urc_lx *ai[2 + URC_MAX_SPATIAL] = {nn, cin}, *bi[2 + URC_MAX_SPATIAL] = {nn, m};
    for (int a = 0; a < g.nsp; a++) {
        urc_lx *o;
        if (lo[a]->kind == URC_LX_INT && lo[a]->i == 0 && hi[a]->kind == URC_LX_INT && hi[a]->i == g.out[a])
            o = urc_sp_dim_loop(k, &in, nm("o", a), g.out[a], NULL);
        else o = urc_sp_range_loop(k, &in, nm("o", a), lo[a], hi[a]);
        bi[2 + a] = o;
        ai[2 + a] = urc_addi(urc_add(urc_muli(o, g.s[a]), urc_muli(kk[a], g.d[a])), -g.pb[a]);
    }
    urc_lx *prod = urc_lx_bin(URC_L_MUL, urc_lx_load(k, bb, urc_sp_index(bi, &B->shape, g.cl)),
                              urc_lx_load(k, ba, urc_sp_index(ai, &A->shape, g.cl)));
    urc_ls_assign(in, acc, urc_lx_bin(URC_L_ADD, urc_lx_var(k, acc), prod));
    const urc_lx *wi[2 + URC_MAX_SPATIAL] = {m, c};
    for (int a = 0; a < g.nsp; a++) wi[2 + a] = kk[a];
    urc_ls_store(body, bw, urc_sp_index(wi, &W->shape, g.cl), urc_lx_var(k, acc));
    return true;
}

/* ---- fast path: channels-last, float32, group 1 -----------------------------------
 *
 * The spatial axes are mapped to (D, H, W), missing leading axes of extent
 * 1. With T = KD*KH*KW taps, dW[m, t, c] = sum_p B[p, m] A[p + t, c] is, per
 * tap, a product of B's and A's channel vectors summed over positions p.
 * One operand gives vector lanes (`lanes_c`: A's channels c when there are
 * enough of them, else B's channels m), the other one broadcast scalars
 * ("rows"). A register tile holds acc[R rows][KWb W taps][CB lanes]: with
 * KWb = KW the A vectors of the W taps of a position are loaded once and
 * serve every row. Per position p of an output row:
 *
 *   for r (unrolled):  s = rows operand at (p, tap) ;  for kw (unrolled):
 *     acc[r][kw][:] += s * lanes operand at (p, tap)[:]      (vector lanes)
 *
 * The W taps' position ranges are compile-time constants: positions where
 * every W tap of the tile is inside A run in a loop, the few border ones
 * are unrolled with exactly their taps. Tile blocks (row block x lane
 * block [x kd]) are the parallel "parts": each owns its dW entries (no
 * atomics, no partial sums), zeroes them and sweeps the whole of A and B:
 *
 *   for part (parallel):  zero its dW entries
 *     for n, chunk of B rows (planes of D x rows of H sized to half the L2):
 *       for kd, kh [, kw]:   acc = its dW entries
 *         for od, oh in the chunk whose tap rows are inside A:  for p: ...
 *         its dW entries = acc
 *
 * A chunk's rows of A and B stay in the L2 while the taps sweep them. */

typedef struct fgw {
    urc_lower *L;
    urc_kernel *k;
    int ba, bb, bw;
    int64_t N, C, M;
    int64_t in[3], out[3], K[3], s[3], d[3], pb[3];
    bool lanes_c;             /* lanes over A's channels (rows over B's), else lanes over B's channels */
    int64_t V, S;             /* channels of the lanes operand and of the rows operand */
    int R, CB, KWb;           /* tile: rows, lanes, W taps (1 or KW) */
    int64_t nrb, ncb;         /* row and lane blocks */
    int64_t nsd;              /* 1, or KD when the parts split the D taps too */
    int64_t DB, HB;           /* chunk: DB planes of HB rows (HB < OH only when DB = 1) */
    int64_t wlo[64], whi[64]; /* KWb = KW: per W tap, its positions [wlo, whi) (constants) */
} fgw;

static urc_lx *ivar(urc_kernel *k, urc_ls **body, const char *name, urc_lx *lo, urc_lx *hi, unsigned flags) {
    int v = urc_kernel_var(k, name, URC_DT_I64);
    *body = urc_ls_for(*body, v, lo, hi, 1, flags);
    return urc_lx_var(k, v);
}

/* A loop over [lo, hi), or lo itself when that holds one constant value. */
static urc_lx *range_var(urc_kernel *k, urc_ls **body, const char *name, urc_lx *lo, urc_lx *hi) {
    if (lo->kind == URC_LX_INT && hi->kind == URC_LX_INT && hi->i - lo->i == 1) return lo;
    return ivar(k, body, name, lo, hi, 0);
}

/* f's (D, H, W) geometry for positions(). */
static geo f_geo(const fgw *f) {
    geo g = {3, true, f->N, f->C, f->M, 1, f->C, f->M, {0}, {0}, {0}, {0}, {0}, {0}};
    for (int a = 0; a < 3; a++) {
        g.in[a] = f->in[a];
        g.out[a] = f->out[a];
        g.K[a] = f->K[a];
        g.s[a] = f->s[a];
        g.d[a] = f->d[a];
        g.pb[a] = f->pb[a];
    }
    return g;
}

static int64_t floordiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* W positions p of tap kw: 0 <= p*s - pb + kw*d < in. */
static void w_range(const fgw *f, int64_t kw, int64_t *lo, int64_t *hi) {
    int64_t s = f->s[2], d = f->d[2], pb = f->pb[2];
    *lo = -floordiv(-(pb - kw * d), s);
    *hi = floordiv(f->in[2] - 1 + pb - kw * d, s) + 1;
    if (*lo < 0) *lo = 0;
    if (*hi > f->out[2]) *hi = f->out[2];
    if (*hi < *lo) *hi = *lo;
}

/* dW index of row channel rc, lane channel lc at tap (kd, kh, kw): dW is [M, KD, KH, KW, C]. */
static urc_lx *dw_index(const fgw *f, urc_lx *rc, urc_lx *lc, urc_lx *kd, urc_lx *kh, urc_lx *kw) {
    urc_lx *m = f->lanes_c ? rc : lc, *c = f->lanes_c ? lc : rc;
    urc_lx *t = urc_add(urc_muli(urc_add(urc_muli(kd, f->K[1]), kh), f->K[2]), kw);
    return urc_add(urc_muli(urc_add(urc_muli(m, f->K[0] * f->K[1] * f->K[2]), t), f->C), c);
}

/* acc[r][kw][l] += rows(p, kw)[r] * lanes(p, kw)[l] for the W taps kw in
 * [k0, k1) of the tile (tile slot kw - kwt), r < Rv, l < CBv. abase/bbase:
 * the element of A at (row, W position 0, channel c0 of the block) minus
 * the padding, and of B at (row, 0, channel m0); p the W position. */
static void update(fgw *f, urc_ls *body, int acc, int Rv, int CBv, urc_lx *abase, urc_lx *bbase, urc_lx *p, urc_lx *kwv,
                   int64_t k0, int64_t k1, int64_t kwt) {
    urc_kernel *k = f->k;
    urc_lx *aoff = urc_add(abase, urc_muli(p, f->s[2] * f->C)), *boff = urc_add(bbase, urc_muli(p, f->M));
    aoff = urc_sp_let(k, body, "ap", aoff);
    boff = urc_sp_let(k, body, "bp", boff);
    urc_ls *in = body;
    urc_lx *r = Rv == 1 ? urc_sp_i(0) : ivar(k, &in, "r", urc_sp_i(0), urc_sp_i(Rv), URC_FOR_UNROLL);
    urc_lx *kw = kwv            ? kwv
                 : k1 - k0 == 1 ? urc_sp_i(k0)
                                : ivar(k, &in, "kw", urc_sp_i(k0), urc_sp_i(k1), URC_FOR_UNROLL);
    urc_lx *slot = kwv ? urc_sp_i(0) : urc_addi(kw, -kwt);
    urc_lx *atap = urc_add(aoff, urc_muli(kw, f->d[2] * f->C));
    int sv = urc_kernel_var(k, "sv", URC_DT_F32);
    /* the rows operand: B[p, m0 + r] (lanes over c) or A[p + kw, c0 + r] */
    urc_ls_decl(in, sv, urc_lx_load(k, f->lanes_c ? f->bb : f->ba, f->lanes_c ? urc_add(boff, r) : urc_add(atap, r)));
    urc_lx *l = ivar(k, &in, "l", urc_sp_i(0), urc_sp_i(CBv), URC_FOR_VECTOR);
    urc_lx *vec = urc_lx_load(k, f->lanes_c ? f->ba : f->bb, f->lanes_c ? urc_add(atap, l) : urc_add(boff, l));
    urc_lx *ai = urc_add(urc_muli(urc_add(urc_muli(r, f->KWb), slot), CBv), l);
    urc_ls_store(in, acc, ai, urc_lx_fma(urc_lx_var(k, sv), vec, urc_lx_load(k, acc, ai)));
}

/* The tile of one (part, chunk, kd, kh[, kw]): loads acc from dW, sweeps
 * the chunk's rows, stores acc back. */
static void tile(fgw *f, urc_ls *parent, int Rv, int CBv, urc_lx *r0, urc_lx *l0, urc_lx *nn, urc_lx *odlo,
                 urc_lx *odhi, urc_lx *ohlo, urc_lx *ohhi, urc_lx *kd, urc_lx *kh, urc_lx *kwv) {
    urc_kernel *k = f->k;
    int KWb = f->KWb;
    urc_ls *blk = urc_ls_block();
    urc_ls_push(parent, blk);
    int acc = urc_kernel_local(k, "acc", URC_DT_F32, (int64_t)Rv * KWb * CBv);
    urc_ls_array(blk, k, acc);
    /* acc <-> dW */
    urc_ls *io[2];
    urc_lx *ai[2], *wi[2];
    for (int pass = 0; pass < 2; pass++) {
        urc_ls *b = urc_ls_block();
        io[pass] = b;
        urc_lx *r = ivar(k, &b, "r", urc_sp_i(0), urc_sp_i(Rv), 0);
        urc_lx *t = kwv ? urc_sp_i(0) : ivar(k, &b, "t", urc_sp_i(0), urc_sp_i(KWb), 0);
        urc_lx *l = ivar(k, &b, "l", urc_sp_i(0), urc_sp_i(CBv), f->lanes_c ? URC_FOR_VECTOR : 0);
        ai[pass] = urc_add(urc_muli(urc_add(urc_muli(r, KWb), t), CBv), l);
        wi[pass] = dw_index(f, urc_add(r0, r), urc_add(l0, l), kd, kh, kwv ? kwv : t);
        if (pass == 0) urc_ls_store(b, acc, ai[0], urc_lx_load(k, f->bw, wi[0]));
        else urc_ls_store(b, f->bw, wi[1], urc_lx_load(k, acc, ai[1]));
    }
    urc_ls_push(blk, io[0]);
    /* rows of the chunk whose tap rows are inside A */
    urc_ls *rb = blk;
    urc_lx *od = range_var(k, &rb, "od", odlo, odhi);
    urc_lx *oh = range_var(k, &rb, "oh", ohlo, ohhi);
    urc_lx *id = urc_addi(urc_add(urc_muli(od, f->s[0]), urc_muli(kd, f->d[0])), -f->pb[0]);
    urc_lx *ih = urc_addi(urc_add(urc_muli(oh, f->s[1]), urc_muli(kh, f->d[1])), -f->pb[1]);
    urc_lx *arow = urc_add(urc_muli(urc_add(urc_muli(nn, f->in[0]), id), f->in[1]), ih);
    urc_lx *brow = urc_add(urc_muli(urc_add(urc_muli(nn, f->out[0]), od), f->out[1]), oh);
    urc_lx *c0 = f->lanes_c ? l0 : r0, *m0 = f->lanes_c ? r0 : l0;
    urc_lx *abase =
        urc_sp_let(k, rb, "abase", urc_addi(urc_add(urc_muli(arow, f->in[2] * f->C), c0), -f->pb[2] * f->C));
    urc_lx *bbase = urc_sp_let(k, rb, "bbase", urc_add(urc_muli(brow, f->out[2] * f->M), m0));
    if (kwv) { /* one W tap per tile: its position range at run time */
        geo g = f_geo(f);
        urc_lx *lo, *hi;
        positions(k, rb, &g, 2, kwv, &lo, &hi);
        urc_ls *pl = rb;
        urc_lx *p = ivar(k, &pl, "p", lo, hi, 0);
        update(f, pl, acc, Rv, CBv, abase, bbase, p, kwv, 0, 1, 0);
    } else {
        int64_t KW = f->K[2], lo = f->out[2], hi = 0, plo = 0, phi = 0;
        for (int64_t kw = 0; kw < KW; kw++) {
            if (f->wlo[kw] > plo) plo = f->wlo[kw];
            if (kw == 0 || f->whi[kw] < phi) phi = f->whi[kw];
            if (f->wlo[kw] < lo) lo = f->wlo[kw];
            if (f->whi[kw] > hi) hi = f->whi[kw];
        }
        /* border positions before and after the interior [plo, phi) */
        for (int side = 0; side < 3; side++) {
            if (side == 1) {
                urc_ls *pl = rb;
                urc_lx *p = ivar(k, &pl, "p", urc_sp_i(plo), urc_sp_i(phi), 0);
                update(f, pl, acc, Rv, CBv, abase, bbase, p, NULL, 0, KW, 0);
                continue;
            }
            int64_t a = side == 0 ? lo : phi, b = side == 0 ? plo : hi;
            for (int64_t p = a; p < b; p++) {
                int64_t k0 = KW, k1 = 0;
                for (int64_t kw = 0; kw < KW; kw++)
                    if (f->wlo[kw] <= p && p < f->whi[kw]) {
                        if (kw < k0) k0 = kw;
                        k1 = kw + 1;
                    }
                if (k0 < k1) update(f, rb, acc, Rv, CBv, abase, bbase, urc_sp_i(p), NULL, k0, k1, 0);
            }
        }
    }
    urc_ls_push(blk, io[1]);
}

/* The loop nest of one tile shape (Rv rows, CBv lanes) for part (rb, cb, sd). */
static void part_nest(fgw *f, urc_ls *body, int Rv, int CBv, urc_lx *rb, urc_lx *cb, urc_lx *sd) {
    urc_kernel *k = f->k;
    urc_lx *r0 = urc_sp_let(k, body, "r0", urc_muli(rb, f->R)), *l0 = urc_sp_let(k, body, "l0", urc_muli(cb, f->CB));
    urc_lx *kdlo = f->nsd > 1 ? sd : urc_sp_i(0), *kdhi = f->nsd > 1 ? urc_addi(sd, 1) : urc_sp_i(f->K[0]);
    { /* zero the part's dW entries */
        urc_ls *z = body;
        urc_lx *r = ivar(k, &z, "r", urc_sp_i(0), urc_sp_i(Rv), 0);
        urc_lx *kd = f->nsd > 1 ? sd : ivar(k, &z, "kd", urc_sp_i(0), urc_sp_i(f->K[0]), 0);
        urc_lx *kh = ivar(k, &z, "kh", urc_sp_i(0), urc_sp_i(f->K[1]), 0);
        urc_lx *kw = ivar(k, &z, "kw", urc_sp_i(0), urc_sp_i(f->K[2]), 0);
        urc_lx *l = ivar(k, &z, "l", urc_sp_i(0), urc_sp_i(CBv), f->lanes_c ? URC_FOR_VECTOR : 0);
        urc_ls_store(z, f->bw, dw_index(f, urc_add(r0, r), urc_add(l0, l), kd, kh, kw), urc_lx_flt(0, URC_DT_F32));
    }
    urc_ls *b = body;
    urc_lx *nn = urc_sp_dim_loop(k, &b, "n", f->N, NULL);
    int64_t ndb = (f->out[0] + f->DB - 1) / f->DB, nhb = (f->out[1] + f->HB - 1) / f->HB;
    urc_lx *odb = urc_sp_dim_loop(k, &b, "odb", ndb, NULL);
    urc_lx *ohb = urc_sp_dim_loop(k, &b, "ohb", nhb, NULL);
    urc_lx *kd = f->nsd > 1 ? sd : f->K[0] == 1 ? urc_sp_i(0) : ivar(k, &b, "kd", kdlo, kdhi, 0);
    geo g = f_geo(f);
    urc_lx *dlo, *dhi, *hlo, *hhi;
    positions(k, b, &g, 0, kd, &dlo, &dhi);
    if (ndb > 1) {
        dlo = urc_sp_let(k, b, "odlo", urc_sp_max(dlo, urc_muli(odb, f->DB)));
        dhi = urc_sp_let(k, b, "odhi", urc_sp_min(dhi, urc_addi(urc_muli(odb, f->DB), f->DB)));
    }
    urc_lx *kh = f->K[1] == 1 ? urc_sp_i(0) : ivar(k, &b, "kh", urc_sp_i(0), urc_sp_i(f->K[1]), 0);
    positions(k, b, &g, 1, kh, &hlo, &hhi);
    if (nhb > 1) {
        hlo = urc_sp_let(k, b, "ohlo", urc_sp_max(hlo, urc_muli(ohb, f->HB)));
        hhi = urc_sp_let(k, b, "ohhi", urc_sp_min(hhi, urc_addi(urc_muli(ohb, f->HB), f->HB)));
    }
    urc_lx *kw = NULL;
    if (f->KWb == 1) kw = f->K[2] == 1 ? urc_sp_i(0) : ivar(k, &b, "kw", urc_sp_i(0), urc_sp_i(f->K[2]), 0);
    tile(f, b, Rv, CBv, r0, l0, nn, dlo, dhi, hlo, hhi, kd, kh, kw);
}

/* part_nest for the lane blocks: the last one may be partial (its own nest). */
static void lane_split(fgw *f, urc_ls *body, int Rv, urc_lx *rb, urc_lx *cb, urc_lx *sd) {
    int CBl = (int)(f->V - (f->ncb - 1) * f->CB);
    if (CBl == f->CB) {
        part_nest(f, body, Rv, f->CB, rb, cb, sd);
        return;
    }
    urc_ls *els, *then = urc_ls_if(body, urc_lx_bin(URC_L_LT, cb, urc_sp_i(f->ncb - 1)), &els);
    part_nest(f, then, Rv, f->CB, rb, cb, sd);
    part_nest(f, els, Rv, CBl, rb, cb, sd);
}

/* ceil(a / ceil(a / b)): blocks of at most b, as even as possible. */
static int64_t even_block(int64_t a, int64_t b) {
    int64_t nb = (a + b - 1) / b;
    return (a + nb - 1) / nb;
}

static bool lower_fast(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g) {
    const urc_target *tg = L->target;
    fgw f;
    memset(&f, 0, sizeof f);
    f.L = L;
    f.k = k;
    f.N = g->N;
    f.C = g->C;
    f.M = g->M;
    for (int a = 0; a < 3; a++) f.in[a] = f.out[a] = f.K[a] = f.s[a] = f.d[a] = 1;
    for (int a = 0; a < g->nsp; a++) {
        int b = 3 - g->nsp + a;
        f.in[b] = g->in[a];
        f.out[b] = g->out[a];
        f.K[b] = g->K[a];
        f.s[b] = g->s[a];
        f.d[b] = g->d[a];
        f.pb[b] = g->pb[a];
    }
    int regs = tg->vector_bits >= 512 ? 32 : 16, lanes = tg->vector_bits / 32 < 4 ? 4 : tg->vector_bits / 32;
    f.lanes_c = f.C >= lanes || f.C >= f.M;
    f.V = f.lanes_c ? f.C : f.M;
    f.S = f.lanes_c ? f.M : f.C;
    /* W taps in the tile when few, with an interior and few border positions */
    int64_t KW = f.K[2];
    f.KWb = 1;
    if (KW > 1 && KW <= 4) {
        int64_t plo = 0, phi = f.out[2], lo = f.out[2], hi = 0;
        for (int64_t kw = 0; kw < KW; kw++) {
            w_range(&f, kw, &f.wlo[kw], &f.whi[kw]);
            if (f.wlo[kw] > plo) plo = f.wlo[kw];
            if (f.whi[kw] < phi) phi = f.whi[kw];
            if (f.wlo[kw] < lo) lo = f.wlo[kw];
            if (f.whi[kw] > hi) hi = f.whi[kw];
        }
        if (plo < phi && (plo - lo) + (hi - phi) <= 8) f.KWb = (int)KW;
    }
    int64_t nvec = (f.V + lanes - 1) / lanes, nvmax = f.KWb >= 3 ? 2 : 4 / f.KWb;
    if (nvmax < 1) nvmax = 1;
    int64_t nv = nvec < nvmax ? nvec : nvmax;
    f.CB = (int)(f.V < nv * lanes ? f.V : nv * lanes);
    f.ncb = (f.V + f.CB - 1) / f.CB;
    int64_t per_row = f.KWb * ((f.CB + lanes - 1) / lanes);
    int64_t loaded = f.lanes_c ? per_row : (f.CB + lanes - 1) / lanes;
    int64_t rmax = (regs - 1 - loaded) / per_row;
    if (rmax > 16) rmax = 16;
    if (rmax < 1) rmax = 1;
    f.R = (int)even_block(f.S, rmax);
    f.nrb = (f.S + f.R - 1) / f.R;
    int64_t parts = f.nrb * f.ncb, th = tg->threads > 1 ? tg->threads : 1;
    f.nsd = 1;
    if (f.K[0] > 1 && th > 1 && (parts < 2 * th || (parts % th && parts < 4 * th))) f.nsd = f.K[0];
    /* chunk: B rows and the A rows their taps read, within half the L2 */
    int64_t budget = tg->l2_bytes / 2, rowa = f.in[2] * f.C * 4, rowb = f.out[2] * f.M * 4;
    int64_t OD = f.out[0], OH = f.out[1];
    f.DB = 1;
    f.HB = OH;
    for (int64_t db = OD; db >= 1; db--) {
        int64_t ar = (db - 1) * f.s[0] + (f.K[0] - 1) * f.d[0] + 1;
        if (ar > f.in[0]) ar = f.in[0];
        if (db * OH * rowb + ar * f.in[1] * rowa <= budget || db == 1) {
            f.DB = db;
            break;
        }
    }
    if (f.DB == 1) {
        int64_t ad = f.K[0] < f.in[0] ? f.K[0] : f.in[0];
        for (int64_t hb = OH; hb >= 1; hb--) {
            int64_t ar = (hb - 1) * f.s[1] + (f.K[1] - 1) * f.d[1] + 1;
            if (ar > f.in[1]) ar = f.in[1];
            if (hb * rowb + ad * ar * rowa <= budget || hb == 1) {
                f.HB = hb;
                break;
            }
        }
    }
    f.ba = urc_lower_in(L, k, n->in[0], "a");
    f.bb = urc_lower_in(L, k, n->in[1], "b");
    f.bw = urc_lower_out(L, k, n->out[0], "dw");
    urc_ls *body = k->body, *par = NULL;
    urc_lx *rb = urc_sp_dim_loop(k, &body, "rb", f.nrb, &par);
    urc_lx *cb = urc_sp_dim_loop(k, &body, "cb", f.ncb, &par);
    urc_lx *sd = urc_sp_dim_loop(k, &body, "sd", f.nsd, &par);
    int Rl = (int)(f.S - (f.nrb - 1) * f.R);
    /* the last row block may be partial: its own nest */
    if (Rl == f.R) {
        lane_split(&f, body, f.R, rb, cb, sd);
    } else {
        urc_ls *els, *then = urc_ls_if(body, urc_lx_bin(URC_L_LT, rb, urc_sp_i(f.nrb - 1)), &els);
        lane_split(&f, then, f.R, rb, cb, sd);
        lane_split(&f, els, Rl, rb, cb, sd);
    }
    return true;
}

static bool cgw_lower(urc_lower *L, const urc_node *n) {
    geo g = geometry(n);
    urc_kernel *k = urc_lower_begin(L, n);
    if (g.cl && g.G == 1 && n->in[0]->dtype == URC_DT_F32) return lower_fast(L, k, n, &g);
    return lower_naive(L, k, n, &g);
}

static void cgw_print(const urc_node *n, urc_strbuf *sb) {
    const urc_conv_attr *a = &n->a.conv;
    urc_print_ints(sb, "kernel", a->kernel, a->nsp);
    urc_print_ints(sb, "strides", a->strides, a->nsp);
    urc_print_ints(sb, "dilations", a->dilations, a->nsp);
    urc_print_ints(sb, "pads", a->pads, 2 * a->nsp);
    if (a->group != 1) urc_sb_printf(sb, " group=%lld", (long long)a->group);
    if (a->channels_last) urc_sb_puts(sb, " channels_last");
}

/* The fast kernel (group 1) reads both activations channels-last and
 * gives dW as [M, K..., C]. */
static bool *cgw_channels_last(urc_node *n, unsigned *more_inputs) {
    *more_inputs = 1u << 1; /* B (dY, or X for ConvTranspose) */
    return n->a.conv.group == 1 ? &n->a.conv.channels_last : NULL;
}

const urc_op_impl urc_impl_convgrad = {
    NULL, cgw_infer, cgw_eval, cgw_lower, cgw_print, .signature_lower = false, .channels_last = cgw_channels_last};
