/* normgrad.c: unetrc.GroupNormGrad, the backward pass of Instance and
 * GroupNormalization in one op (made by compiler/autodiff/grad_norm.c;
 * never read from a model).
 *
 *   GroupNormGrad(X, scale, dY) -> dX, dScale, dBias
 *
 * Attributes (urc_norm_attr): epsilon, num_groups G (InstanceNorm: G = C),
 * per_channel (scale, dScale and dBias have C elements, else G), and
 * channels_last (set by the layout pass, which transposes X and dY: X, dY
 * and dX are [N, S..., C] instead of [N, C, S...]).
 *
 * X is viewed as (N, C, S); each (n, group) set of cnt = C/G * S elements is
 * normalised with its mean mu and rstd = 1 / sqrt(var + eps); with
 * xh = (x - mu) rstd and g = dY * scale (per channel or group):
 *   dX = rstd (g - mean(g) - xh mean(g xh))     (means over the set)
 *   dScale = sum over n, s (and the group's channels when per group) of dY xh
 *   dBias  = the same sums of dY
 * dX is affine in dY and X per (n, channel): dX = A dY + B (x - mu) + C0 with
 *   A = rstd scale_c,  B = -rstd^2 mean(g xh),  C0 = -rstd mean(g),
 * and every mean needs only four sums per (n, channel): of x - K, (x - K)^2,
 * dY and dY (x - K), around the shift K = the channel's first element (as
 * ops/norm.c does for the forward statistics).
 *
 * Lowering:
 * - channels-last float (the fast form): per batch item, chunks of voxels
 *   run in parallel, each summing its voxels' four sums vectorised across
 *   the channels into its row of a small local array (double); a serial step
 *   adds the rows up and computes per channel A, B, mu, C0 and the dScale /
 *   dBias contributions; the dX pass runs over voxels in parallel with the
 *   channel loop innermost. Two reads of X and dY, one write of dX.
 * - the naive twin (channels-first, or more channels than the local arrays
 *   hold): groups in parallel, the batch and four passes inside.
 * The reference (eval) computes in double from the definition. */
#include "common.h"

/* X as (N, C, S) [channels-first] or (N, S, C) [channels-last]. */
typedef struct geom {
    int64_t N, C, S, G, cpg;
    bool cl, per_group;
} geom;

static geom ng_geom(const urc_node *n) {
    const urc_shape *xs = &n->in[0]->shape;
    geom g = {0};
    g.cl = n->a.norm.channels_last;
    g.N = xs->dims[0];
    int cd = g.cl ? xs->rank - 1 : 1;
    g.C = xs->dims[cd];
    g.S = 1;
    for (int d = 1; d < xs->rank; d++)
        if (d != cd) g.S *= xs->dims[d];
    g.G = n->a.norm.num_groups > 0 ? n->a.norm.num_groups : 1;
    g.cpg = g.C / g.G;
    g.per_group = !n->a.norm.per_channel && g.G != g.C;
    return g;
}

static int64_t phys(const geom *g, int64_t n, int64_t c, int64_t s) {
    return g->cl ? (n * g->S + s) * g->C + c : (n * g->C + c) * g->S + s;
}

/* ---- inference ------------------------------------------------------------ */

static bool ng_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0) || !urc_check_same_dtype(n, 0, 1) ||
        !urc_check_same_dtype(n, 0, 2) || !urc_check_rank(n, 0, 3, URC_MAX_RANK))
        return false;
    if (!urc_shape_eq(&n->in[0]->shape, &n->in[2]->shape)) {
        urc_error(where, "internal: dY %s does not match X %s", urc_shape_str(&n->in[2]->shape),
                  urc_shape_str(&n->in[0]->shape));
        return false;
    }
    geom g = ng_geom(n);
    if (n->a.norm.num_groups < 1 || g.C % g.G) {
        urc_error(where, "internal: %lld groups for %lld channels", (long long)n->a.norm.num_groups, (long long)g.C);
        return false;
    }
    int64_t P = g.per_group ? g.G : g.C;
    const urc_shape *ss = &n->in[1]->shape;
    if (ss->rank != 1 || ss->dims[0] != P) {
        urc_error(where, "internal: scale %s, expected [%lld]", urc_shape_str(ss), (long long)P);
        return false;
    }
    urc_dtype dt = n->in[0]->dtype;
    urc_set_out(n, 0, dt, &n->in[0]->shape);
    urc_shape ps = {1, {P}};
    urc_set_out(n, 1, dt, &ps);
    urc_set_out(n, 2, dt, &ps);
    return true;
}

/* ---- reference ------------------------------------------------------------ */

static bool ng_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    geom g = ng_geom(n);
    double eps = n->a.norm.epsilon;
    int64_t N = g.N, C = g.C, S = g.S, G = g.G, cpg = g.cpg, P = g.per_group ? G : C;
    int64_t total = N * C * S;
    double *dx = urc_xcalloc((size_t)total + 1, sizeof(double)), *ds = urc_xcalloc((size_t)P + 1, sizeof(double)),
           *db = urc_xcalloc((size_t)P + 1, sizeof(double));
    const urc_tensor *X = in[0], *SC = in[1], *DY = in[2];
#define EL(t, i) urc_elem_f64((t)->dtype, (t)->data, (i))
    double cnt = (double)(cpg * S);
    for (int64_t nn = 0; nn < N; nn++)
        for (int64_t gi = 0; gi < G; gi++) {
            double sum = 0, sq = 0, mg = 0, mgx = 0;
            for (int64_t cc = 0; cc < cpg; cc++)
                for (int64_t s = 0; s < S; s++) sum += EL(X, phys(&g, nn, gi * cpg + cc, s));
            double mu = sum / cnt;
            for (int64_t cc = 0; cc < cpg; cc++)
                for (int64_t s = 0; s < S; s++) {
                    double d = EL(X, phys(&g, nn, gi * cpg + cc, s)) - mu;
                    sq += d * d;
                }
            double rstd = 1 / sqrt(sq / cnt + eps);
            for (int64_t cc = 0; cc < cpg; cc++) {
                int64_t c = gi * cpg + cc, p = g.per_group ? gi : c;
                double sc = EL(SC, p);
                for (int64_t s = 0; s < S; s++) {
                    int64_t i = phys(&g, nn, c, s);
                    double dy = EL(DY, i), xh = (EL(X, i) - mu) * rstd;
                    mg += dy * sc;
                    mgx += dy * sc * xh;
                    ds[p] += dy * xh;
                    db[p] += dy;
                }
            }
            mg /= cnt;
            mgx /= cnt;
            for (int64_t cc = 0; cc < cpg; cc++) {
                int64_t c = gi * cpg + cc, p = g.per_group ? gi : c;
                double sc = EL(SC, p);
                for (int64_t s = 0; s < S; s++) {
                    int64_t i = phys(&g, nn, c, s);
                    double xh = (EL(X, i) - mu) * rstd;
                    dx[i] = rstd * (EL(DY, i) * sc - mg - xh * mgx);
                }
            }
        }
#undef EL
    urc_tensor_from_f64(out[0], dx);
    if (out[1]) urc_tensor_from_f64(out[1], ds);
    if (out[2]) urc_tensor_from_f64(out[2], db);
    free(dx);
    free(ds);
    free(db);
    return true;
}

/* ---- lowering helpers --------------------------------------------------------- */

static urc_lx *bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_bin(op, a, b); }
/* On floats (values) or int64 (indices: marked in range, the norms have no integer data). */
static urc_lx *add(urc_lx *a, urc_lx *b) { return urc_lx_inrange(urc_lx_bin(URC_L_ADD, a, b)); }
static urc_lx *sub(urc_lx *a, urc_lx *b) { return urc_lx_inrange(urc_lx_bin(URC_L_SUB, a, b)); }
static urc_lx *mul(urc_lx *a, urc_lx *b) { return urc_lx_inrange(urc_lx_bin(URC_L_MUL, a, b)); }
static urc_lx *f64(urc_lx *e) { return urc_lx_cast(URC_DT_F64, e); }
static urc_lx *var(const urc_kernel *k, int v) { return urc_lx_var(k, v); }
static urc_lx *dlit(double v) { return urc_lx_flt(v, URC_DT_F64); }
static urc_lx *ilit(int64_t v) { return urc_lx_int(v); }

static urc_lx *loop(urc_kernel *k, urc_ls **body, const char *name, urc_lx *lo, urc_lx *hi, unsigned flags) {
    int v = urc_kernel_var(k, name, URC_DT_I64);
    *body = urc_ls_for(*body, v, lo, hi, 1, flags);
    return urc_lx_var(k, v);
}

/* The buffers of the three outputs (-1 when unused) and the inputs. */
typedef struct bufs {
    int x, sc, dy, dx, ds, db;
} bufs;

static bufs bind(urc_lower *L, urc_kernel *k, const urc_node *n) {
    bufs b;
    b.x = urc_lower_in(L, k, n->in[0], "x");
    b.sc = urc_lower_in(L, k, n->in[1], "scale");
    b.dy = urc_lower_in(L, k, n->in[2], "dy");
    b.dx = urc_lower_out(L, k, n->out[0], "dx");
    b.ds = n->nout > 1 && n->out[1] ? urc_lower_out(L, k, n->out[1], "dscale") : -1;
    b.db = n->nout > 2 && n->out[2] ? urc_lower_out(L, k, n->out[2], "dbias") : -1;
    return b;
}

/* ---- the naive twin ----------------------------------------------------------- */

/*   for g (parallel):  dScale, dBias of the group's entries = 0
 *     for n:  mu, rstd (two passes);  mean(g), mean(g xh) and the dScale /
 *             dBias sums (one pass);  dX (one pass) */
static bool lower_naive(urc_lower *L, urc_kernel *k, const urc_node *n, const geom *g) {
    urc_dtype dt = n->in[0]->dtype;
    bufs b = bind(L, k, n);
    int64_t cpg = g->cpg, S = g->S;
    urc_ls *body = k->body;
    urc_lx *gi = loop(k, &body, "g", ilit(0), ilit(g->G), URC_FOR_PARALLEL);
    urc_lx *zero = urc_lx_const(0, dt);
    if (b.ds >= 0 || b.db >= 0) {
        urc_ls *z = body;
        urc_lx *cc = g->per_group ? ilit(0) : loop(k, &z, "cc", ilit(0), ilit(cpg), 0);
        urc_lx *p = g->per_group ? gi : add(urc_muli(gi, cpg), cc);
        if (b.ds >= 0) urc_ls_store(z, b.ds, p, zero);
        if (b.db >= 0) urc_ls_store(z, b.db, p, zero);
    }
    urc_ls *nb = body;
    urc_lx *nn = loop(k, &nb, "n", ilit(0), ilit(g->N), 0);
    int cv = urc_kernel_var(k, "cc", URC_DT_I64), sv = urc_kernel_var(k, "s", URC_DT_I64);
    urc_lx *c = add(urc_muli(gi, cpg), var(k, cv)), *s = var(k, sv);
    urc_lx *idx =
        g->cl ? add(urc_muli(add(urc_muli(nn, S), s), g->C), c) : add(urc_muli(add(urc_muli(nn, g->C), c), S), s);
    urc_lx *cnt = dlit((double)(cpg * S));
    urc_lx *xv = f64(urc_lx_load(k, b.x, idx)), *dyv = f64(urc_lx_load(k, b.dy, idx));
    /* mu, rstd */
    int sum = urc_ls_let(k, nb, "sum", URC_DT_F64, dlit(0));
    urc_ls *l1 = urc_ls_for(urc_ls_for(nb, cv, ilit(0), ilit(cpg), 1, 0), sv, ilit(0), ilit(S), 1, 0);
    urc_ls_assign(l1, sum, add(var(k, sum), xv));
    int mu = urc_ls_let(k, nb, "mu", URC_DT_F64, bin(URC_L_DIV, var(k, sum), cnt));
    int sq = urc_ls_let(k, nb, "sq", URC_DT_F64, dlit(0));
    urc_ls *l2 = urc_ls_for(urc_ls_for(nb, cv, ilit(0), ilit(cpg), 1, 0), sv, ilit(0), ilit(S), 1, 0);
    int d = urc_ls_let(k, l2, "d", URC_DT_F64, sub(xv, var(k, mu)));
    urc_ls_assign(l2, sq, add(var(k, sq), mul(var(k, d), var(k, d))));
    int rstd = urc_ls_let(
        k, nb, "rstd", URC_DT_F64,
        bin(URC_L_DIV, dlit(1), urc_lx_un(URC_L_SQRT, add(bin(URC_L_DIV, var(k, sq), cnt), dlit(n->a.norm.epsilon)))));
    /* mean(g), mean(g xh), dScale, dBias */
    int mg = urc_ls_let(k, nb, "mg", URC_DT_F64, dlit(0)), mgx = urc_ls_let(k, nb, "mgx", URC_DT_F64, dlit(0));
    urc_ls *lc = urc_ls_for(nb, cv, ilit(0), ilit(cpg), 1, 0);
    urc_lx *p = g->per_group ? gi : c;
    int scv = urc_ls_let(k, lc, "sc", URC_DT_F64, f64(urc_lx_load(k, b.sc, p)));
    int sd = urc_ls_let(k, lc, "sd", URC_DT_F64, dlit(0)), sdx = urc_ls_let(k, lc, "sdx", URC_DT_F64, dlit(0));
    urc_ls *ls = urc_ls_for(lc, sv, ilit(0), ilit(S), 1, 0);
    int dyl = urc_ls_let(k, ls, "dyv", URC_DT_F64, dyv);
    urc_ls_assign(ls, sd, add(var(k, sd), var(k, dyl)));
    urc_ls_assign(ls, sdx, add(var(k, sdx), mul(var(k, dyl), mul(sub(xv, var(k, mu)), var(k, rstd)))));
    urc_ls_assign(lc, mg, add(var(k, mg), mul(var(k, scv), var(k, sd))));
    urc_ls_assign(lc, mgx, add(var(k, mgx), mul(var(k, scv), var(k, sdx))));
    if (b.ds >= 0) urc_ls_accum(lc, b.ds, p, urc_lx_cast(dt, var(k, sdx)));
    if (b.db >= 0) urc_ls_accum(lc, b.db, p, urc_lx_cast(dt, var(k, sd)));
    urc_ls_assign(nb, mg, bin(URC_L_DIV, var(k, mg), cnt));
    urc_ls_assign(nb, mgx, bin(URC_L_DIV, var(k, mgx), cnt));
    /* dX = rstd (dY sc - mean(g) - xh mean(g xh)) */
    urc_ls *lx = urc_ls_for(nb, cv, ilit(0), ilit(cpg), 1, 0);
    int sc2 = urc_ls_let(k, lx, "sc", URC_DT_F64, f64(urc_lx_load(k, b.sc, p)));
    urc_ls *lxs = urc_ls_for(lx, sv, ilit(0), ilit(S), 1, 0);
    urc_lx *xh = mul(sub(xv, var(k, mu)), var(k, rstd));
    urc_lx *v = mul(var(k, rstd), sub(sub(mul(dyv, var(k, sc2)), var(k, mg)), mul(xh, var(k, mgx))));
    urc_ls_store(lxs, b.dx, idx, urc_lx_cast(dt, v));
    return true;
}

/* ---- channels-last fast form ------------------------------------------------- */

/* Voxel chunks of the statistics: enough for the threads and to balance,
 * few enough that their partial sums (four doubles per channel) stay small;
 * 1 (serial) for small tensors. */
static int64_t chunks(const urc_lower *L, const geom *g) {
    int threads = L->target && L->target->threads > 0 ? L->target->threads : 2;
    int64_t P = 4 * (int64_t)threads, cap = ((int64_t)16 << 10) / (32 * g->C);
    if (P > cap) P = cap;
    if (P > g->S) P = g->S;
    if (g->S * g->C < (int64_t)1 << 14 || P < 2) return 1;
    int64_t chunk = (g->S + P - 1) / P;
    return (g->S + chunk - 1) / chunk;
}

/* Local array bytes of the fast form. */
static int64_t fast_local_bytes(const urc_lower *L, const geom *g) {
    int64_t P = chunks(L, g);
    return 32 * g->C * (P + 2) /* partial sums, totals, a chunk's lanes */ + 8 * 4 * g->C /* coefficients */ +
           16 * g->C /* dScale, dBias sums */;
}
#define NG_LOCAL_MAX (40 << 10)

enum { SX, SXX, SD, SDX }; /* the four sums per channel, around K_c */

static bool lower_cl(urc_lower *L, urc_kernel *k, const urc_node *n, const geom *g) {
    urc_dtype dt = n->in[0]->dtype;
    bufs b = bind(L, k, n);
    int64_t C = g->C, S = g->S, cpg = g->cpg, P = chunks(L, g), chunk = (S + P - 1) / P;
    int tot = urc_kernel_local(k, "tot", URC_DT_F64, 4 * C);                    /* [4][C] */
    int part = P > 1 ? urc_kernel_local(k, "part", URC_DT_F64, P * 4 * C) : -1; /* [P][4][C] */
    int coef = urc_kernel_local(k, "coef", URC_DT_F64, 4 * C);                  /* A, B, mu, C0 */
    int acc = urc_kernel_local(k, "dsb", URC_DT_F64, 2 * C);                    /* dScale, dBias sums per channel */
    int cv = urc_kernel_var(k, "c", URC_DT_I64);
    urc_lx *c = var(k, cv);
    {
        urc_ls *z = urc_ls_for(k->body, cv, ilit(0), ilit(2 * C), 1, URC_FOR_VECTOR);
        urc_ls_store(z, acc, c, dlit(0));
    }
    for (int64_t nb = 0; nb < g->N; nb++) {
        urc_lx *n0 = ilit(nb * S * C);
        urc_lx *shift = f64(urc_lx_load(k, b.x, add(n0, c))); /* K_c = X[n, voxel 0, c] */
        /* sums of one voxel range into lanes[4][C] */
        int lanes;
        urc_ls *body = k->body, *pb = NULL;
        urc_lx *p = NULL, *lo = ilit(0), *hi = ilit(S);
        if (P > 1) {
            pb = body;
            p = loop(k, &pb, "p", ilit(0), ilit(P), URC_FOR_PARALLEL);
            lanes = urc_kernel_local(k, "cs", URC_DT_F64, 4 * C);
            urc_ls_array(pb, k, lanes);
            lo = var(k, urc_ls_let(k, pb, "lo", URC_DT_I64, urc_muli(p, chunk)));
            hi = var(k, urc_ls_let(k, pb, "hi", URC_DT_I64,
                                   urc_lx_sel(bin(URC_L_EQ, p, ilit(P - 1)), ilit(S), urc_addi(lo, chunk))));
            body = pb;
        } else {
            lanes = tot;
        }
        {
            urc_ls *z = urc_ls_for(body, cv, ilit(0), ilit(4 * C), 1, URC_FOR_VECTOR);
            urc_ls_store(z, lanes, c, dlit(0));
        }
        urc_ls *lv = body;
        urc_lx *v = loop(k, &lv, "v", lo, hi, 0);
        urc_ls *lc = urc_ls_for(lv, cv, ilit(0), ilit(C), 1, URC_FOR_VECTOR);
        urc_lx *xi = add(n0, add(urc_muli(v, C), c));
        int d = urc_ls_let(k, lc, "d", URC_DT_F64, sub(f64(urc_lx_load(k, b.x, xi)), shift));
        int dy = urc_ls_let(k, lc, "dyv", URC_DT_F64, f64(urc_lx_load(k, b.dy, xi)));
        urc_ls_accum(lc, lanes, add(ilit(SX * C), c), var(k, d));
        urc_ls_accum(lc, lanes, add(ilit(SXX * C), c), mul(var(k, d), var(k, d)));
        urc_ls_accum(lc, lanes, add(ilit(SD * C), c), var(k, dy));
        urc_ls_accum(lc, lanes, add(ilit(SDX * C), c), mul(var(k, dy), var(k, d)));
        if (P > 1) {
            urc_ls *st = urc_ls_for(pb, cv, ilit(0), ilit(4 * C), 1, URC_FOR_VECTOR);
            urc_ls_store(st, part, add(urc_muli(p, 4 * C), c), urc_lx_load(k, lanes, c));
            /* serial: add the chunks up in order (deterministic) */
            urc_ls *z = urc_ls_for(k->body, cv, ilit(0), ilit(4 * C), 1, URC_FOR_VECTOR);
            urc_ls_store(z, tot, c, dlit(0));
            urc_ls *lp = k->body;
            urc_lx *q = loop(k, &lp, "q", ilit(0), ilit(P), 0);
            urc_ls *lq = urc_ls_for(lp, cv, ilit(0), ilit(4 * C), 1, URC_FOR_VECTOR);
            urc_ls_accum(lq, tot, c, urc_lx_load(k, part, add(urc_muli(q, 4 * C), c)));
        }
        /* per group: mu, rstd; per channel: coefficients and dScale/dBias sums */
        urc_ls *lg = k->body;
        urc_lx *gi = loop(k, &lg, "g", ilit(0), ilit(g->G), 0);
        urc_lx *c0 = urc_muli(gi, cpg);
        int kg = urc_ls_let(k, lg, "kg", URC_DT_F64, f64(urc_lx_load(k, b.x, add(n0, c0))));
        int ss = urc_ls_let(k, lg, "ss", URC_DT_F64, dlit(0)), qq = urc_ls_let(k, lg, "qq", URC_DT_F64, dlit(0));
        int ccv = urc_kernel_var(k, "cc", URC_DT_I64);
        urc_lx *ch = add(c0, var(k, ccv));
        urc_lx *dS = dlit((double)S);
        { /* delta = K_c - K_g: sum(x - K_g) = s + S delta, sum((x - K_g)^2) = q + 2 delta s + S delta^2 */
            urc_ls *l1 = urc_ls_for(lg, ccv, ilit(0), ilit(cpg), 1, 0);
            int dl = urc_ls_let(k, l1, "dl", URC_DT_F64, sub(f64(urc_lx_load(k, b.x, add(n0, ch))), var(k, kg)));
            urc_lx *sx = urc_lx_load(k, tot, add(ilit(SX * C), ch)), *sxx = urc_lx_load(k, tot, add(ilit(SXX * C), ch));
            urc_ls_assign(l1, ss, add(var(k, ss), add(sx, mul(dS, var(k, dl)))));
            urc_ls_assign(l1, qq,
                          add(var(k, qq), add(sxx, mul(var(k, dl), add(mul(dlit(2), sx), mul(dS, var(k, dl)))))));
        }
        urc_lx *cnt = dlit((double)(S * cpg));
        int md = urc_ls_let(k, lg, "md", URC_DT_F64, bin(URC_L_DIV, var(k, ss), cnt));
        int vr = urc_ls_let(k, lg, "vr", URC_DT_F64,
                            bin(URC_L_MAX, sub(bin(URC_L_DIV, var(k, qq), cnt), mul(var(k, md), var(k, md))), dlit(0)));
        int rstd = urc_ls_let(k, lg, "rstd", URC_DT_F64,
                              bin(URC_L_DIV, dlit(1), urc_lx_un(URC_L_SQRT, add(var(k, vr), dlit(n->a.norm.epsilon)))));
        int mu = urc_ls_let(k, lg, "mu", URC_DT_F64, add(var(k, kg), var(k, md)));
        int mg = urc_ls_let(k, lg, "mg", URC_DT_F64, dlit(0)), mgx = urc_ls_let(k, lg, "mgx", URC_DT_F64, dlit(0));
        urc_lx *p2 = g->per_group ? gi : ch;
        { /* sum dY (x - mu) = sdx + sd (K_c - mu);  times rstd: sum dY xh */
            urc_ls *l2 = urc_ls_for(lg, ccv, ilit(0), ilit(cpg), 1, 0);
            int sc = urc_ls_let(k, l2, "sc", URC_DT_F64, f64(urc_lx_load(k, b.sc, p2)));
            urc_lx *sd = urc_lx_load(k, tot, add(ilit(SD * C), ch)),
                   *sdx0 = urc_lx_load(k, tot, add(ilit(SDX * C), ch));
            urc_lx *kc = f64(urc_lx_load(k, b.x, add(n0, ch)));
            int sdxh =
                urc_ls_let(k, l2, "sdxh", URC_DT_F64, mul(var(k, rstd), add(sdx0, mul(sd, sub(kc, var(k, mu))))));
            urc_ls_assign(l2, mg, add(var(k, mg), mul(var(k, sc), sd)));
            urc_ls_assign(l2, mgx, add(var(k, mgx), mul(var(k, sc), var(k, sdxh))));
            urc_ls_accum(l2, acc, ch, var(k, sdxh));
            urc_ls_accum(l2, acc, add(ilit(C), ch), sd);
            urc_ls_store(l2, coef, ch, mul(var(k, rstd), var(k, sc))); /* A */
        }
        urc_ls_assign(lg, mg, bin(URC_L_DIV, var(k, mg), cnt));
        urc_ls_assign(lg, mgx, bin(URC_L_DIV, var(k, mgx), cnt));
        {
            urc_ls *l3 = urc_ls_for(lg, ccv, ilit(0), ilit(cpg), 1, 0);
            urc_ls_store(l3, coef, add(ilit(C), ch),
                         mul(dlit(-1), mul(mul(var(k, rstd), var(k, rstd)), var(k, mgx)))); /* B */
            urc_ls_store(l3, coef, add(ilit(2 * C), ch), var(k, mu));
            urc_ls_store(l3, coef, add(ilit(3 * C), ch), mul(dlit(-1), mul(var(k, rstd), var(k, mg)))); /* C0 */
        }
        /* dX = A dY + B (x - mu) + C0, voxels in parallel */
        urc_ls *lx = k->body;
        urc_lx *v2 = loop(k, &lx, "v", ilit(0), ilit(S), URC_FOR_PARALLEL);
        urc_ls *lxc = urc_ls_for(lx, cv, ilit(0), ilit(C), 1, URC_FOR_SIMD | URC_FOR_VECTOR);
        urc_lx *xi2 = add(n0, add(urc_muli(v2, C), c));
        urc_lx *cf[4];
        for (int j = 0; j < 4; j++) cf[j] = urc_lx_cast(dt, urc_lx_load(k, coef, add(ilit(j * C), c)));
        urc_lx *val =
            add(add(mul(cf[0], urc_lx_load(k, b.dy, xi2)), mul(cf[1], sub(urc_lx_load(k, b.x, xi2), cf[2]))), cf[3]);
        urc_ls_store(lxc, b.dx, xi2, val);
    }
    /* dScale, dBias: per channel, or summed over each group's channels */
    for (int j = 0; j < 2; j++) {
        int ob = j ? b.db : b.ds;
        if (ob < 0) continue;
        if (!g->per_group) {
            urc_ls *l = urc_ls_for(k->body, cv, ilit(0), ilit(C), 1, URC_FOR_VECTOR);
            urc_ls_store(l, ob, c, urc_lx_cast(dt, urc_lx_load(k, acc, add(ilit(j * C), c))));
            continue;
        }
        urc_ls *lg = k->body;
        urc_lx *gi = loop(k, &lg, "g", ilit(0), ilit(g->G), 0);
        int t = urc_ls_let(k, lg, "t", URC_DT_F64, dlit(0));
        int ccv = urc_kernel_var(k, "cc", URC_DT_I64);
        urc_ls *l = urc_ls_for(lg, ccv, ilit(0), ilit(cpg), 1, 0);
        urc_ls_assign(l, t, add(var(k, t), urc_lx_load(k, acc, add(ilit(j * C), add(urc_muli(gi, cpg), var(k, ccv))))));
        urc_ls_store(lg, ob, gi, urc_lx_cast(dt, var(k, t)));
    }
    return true;
}

static bool ng_lower(urc_lower *L, const urc_node *n) {
    geom g = ng_geom(n);
    urc_kernel *k = urc_lower_begin(L, n);
    if (g.N * g.C * g.S == 0) return true;
    if (g.cl && fast_local_bytes(L, &g) <= NG_LOCAL_MAX && g.N <= 8) return lower_cl(L, k, n, &g);
    return lower_naive(L, k, n, &g);
}

static void ng_print(const urc_node *n, urc_strbuf *sb) {
    const urc_norm_attr *a = &n->a.norm;
    urc_sb_printf(sb, " epsilon=%g groups=%lld", a->epsilon, (long long)a->num_groups);
    if (a->per_channel) urc_sb_puts(sb, " per_channel");
    if (a->channels_last) urc_sb_puts(sb, " channels_last");
}

/* GroupNormGrad reads X and dY channels-last. */
static bool *ng_channels_last(urc_node *n, unsigned *more_inputs) {
    if (n->op != URC_OP_GROUP_NORM_GRAD) return NULL;
    *more_inputs = 1u << 2; /* dY */
    return &n->a.norm.channels_last;
}

const urc_op_impl urc_impl_normgrad = {
    NULL, ng_infer, ng_eval, ng_lower, ng_print, .signature_lower = false, .channels_last = ng_channels_last};
