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
 * The lowering gathers per weight element: the (m, c) pairs run in parallel,
 * each tap k sums over the batch and the positions o whose input lies inside
 * A (bounds computed per tap, so the loops have no branches), the innermost
 * loop running along B's contiguous last axis. */
#include "spatial.h"

/* ---- inference ------------------------------------------------------------ */

static bool cgw_infer(urc_node *n) {
    urc_conv_attr *a = &n->a.conv;
    const char *where = urc_node_where(n);
    if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0) || !urc_check_same_dtype(n, 0, 1)) return false;
    if (!urc_check_rank(n, 0, 3, 2 + URC_MAX_SPATIAL)) return false;
    const urc_shape *as = &n->in[0]->shape, *bs = &n->in[1]->shape;
    if (a->channels_last) {
        urc_error(where, "internal: ConvGradWeight has no channels-last form");
        return false;
    }
    if (bs->rank != as->rank || bs->dims[0] != as->dims[0]) {
        urc_error(where, "internal: operands %s and %s must have the same rank and batch", urc_shape_str(as),
                  urc_shape_str(bs));
        return false;
    }
    int nsp = as->rank - 2;
    a->nsp = nsp;
    int64_t G = a->group, C = as->dims[1], M = bs->dims[1];
    if (G < 1 || C % G || M % G) {
        urc_error(where, "internal: group %lld must divide the channels (%lld, %lld)", (long long)G, (long long)C,
                  (long long)M);
        return false;
    }
    for (int i = 0; i < nsp; i++)
        if (a->kernel[i] < 1 || a->strides[i] < 1 || a->dilations[i] < 1 || a->pads[i] < 0 ||
            as->dims[2 + i] < 1 || bs->dims[2 + i] < 1) {
            urc_error(where, "internal: bad ConvGradWeight geometry on spatial axis %d", i);
            return false;
        }
    urc_shape ws = {as->rank, {M, C / G}};
    for (int i = 0; i < nsp; i++) ws.dims[2 + i] = a->kernel[i];
    urc_set_out(n, 0, n->in[0]->dtype, &ws);
    return true;
}

/* ---- geometry --------------------------------------------------------------- */

/* Unused spatial axes (beyond nsp, up to 3) have extent 1. */
typedef struct geo {
    int nsp;
    int64_t N, C, M, G, Cg, Mg;
    int64_t in[3], out[3], K[3], s[3], d[3], pb[3];
} geo;

static geo geometry(const urc_node *n) {
    const urc_conv_attr *a = &n->a.conv;
    const urc_shape *as = &n->in[0]->shape, *bs = &n->in[1]->shape;
    geo g = {a->nsp, as->dims[0], as->dims[1], bs->dims[1], a->group, 0, 0, {1, 1, 1}, {1, 1, 1}, {1, 1, 1},
             {1, 1, 1}, {1, 1, 1}, {0, 0, 0}};
    g.Cg = g.C / g.G;
    g.Mg = g.M / g.G;
    for (int i = 0; i < a->nsp; i++) {
        g.in[i] = as->dims[2 + i];
        g.out[i] = bs->dims[2 + i];
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
        *lo = v->kind == URC_LX_INT ? urc_sp_i(v->i > 0 ? v->i : 0) : urc_sp_let(k, body, nm("olo", a), urc_sp_max(urc_sp_i(0), v));
    }
    if ((out - 1) * s - pb + (K - 1) * d >= in) {
        urc_lx *v = ceil_div(urc_sub(urc_sp_i(in + pb), kd), s);
        *hi = v->kind == URC_LX_INT ? urc_sp_i(v->i < out ? v->i : out) : urc_sp_let(k, body, nm("ohi", a), urc_sp_min(urc_sp_i(out), v));
    }
}

/*   for m, c (parallel):  for k0, k1, k2:  [position range per axis]
 *     acc = 0;  for n, o0, o1, o2:  acc += B[n, m, o] * A[n, g*Cg + c, o*s - pb + k*d]
 *     dW[m, c, k] = acc */
static bool cgw_lower(urc_lower *L, const urc_node *n) {
    geo g = geometry(n);
    const urc_value *A = n->in[0], *B = n->in[1], *W = n->out[0];
    urc_dtype dt = W->dtype;
    urc_kernel *k = urc_lower_begin(L, n);
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
        else
            o = urc_sp_range_loop(k, &in, nm("o", a), lo[a], hi[a]);
        bi[2 + a] = o;
        ai[2 + a] = urc_addi(urc_add(urc_muli(o, g.s[a]), urc_muli(kk[a], g.d[a])), -g.pb[a]);
    }
    urc_lx *prod = urc_lx_bin(URC_L_MUL, urc_lx_load(k, bb, urc_index(bi, &B->shape)),
                              urc_lx_load(k, ba, urc_index(ai, &A->shape)));
    urc_ls_assign(in, acc, urc_lx_bin(URC_L_ADD, urc_lx_var(k, acc), prod));
    const urc_lx *wi[2 + URC_MAX_SPATIAL] = {m, c};
    for (int a = 0; a < g.nsp; a++) wi[2 + a] = kk[a];
    urc_ls_store(body, bw, urc_index(wi, &W->shape), urc_lx_var(k, acc));
    return true;
}

static void cgw_print(const urc_node *n, urc_strbuf *sb) {
    const urc_conv_attr *a = &n->a.conv;
    urc_print_ints(sb, "kernel", a->kernel, a->nsp);
    urc_print_ints(sb, "strides", a->strides, a->nsp);
    urc_print_ints(sb, "dilations", a->dilations, a->nsp);
    urc_print_ints(sb, "pads", a->pads, 2 * a->nsp);
    if (a->group != 1) urc_sb_printf(sb, " group=%lld", (long long)a->group);
}

const urc_op_impl urc_impl_convgrad = {NULL, cgw_infer, cgw_eval, cgw_lower, cgw_print};
