/* poolgrad.c: the input gradients of the windowed pools (made by autodiff:
 * compiler/autodiff/grad_pool.c; never read from a model).
 *
 *   unetrc.MaxPoolGrad(X, dY) -> dX            X's shape
 *   unetrc.AveragePoolGrad(dY, shape(X)) -> dX  (the shape is a constant int64 input)
 *
 * Attributes: the forward node's resolved urc_pool_attr (kernel, strides,
 * dilations, pads, count_include_pad), channels-first. Windows are the
 * forward's (see pool.c): output o covers the taps k in [0, K) at input
 * o*s - pb + k*d; taps outside the input are padding.
 * - MaxPoolGrad: each output's gradient goes to the first maximum of its
 *   window in tap order (the element MaxPool's Indices name: first NaN if
 *   any, else first maximum); overlapping windows accumulate.
 * - AveragePoolGrad: each output's gradient, divided by the forward's count
 *   (taps inside the input, or inside the padded extent [-pb, in + pe) with
 *   count_include_pad), goes to every tap inside the input.
 * The lowering runs the (n, c) planes in parallel; within a plane the
 * windows scatter into dX (zeroed first) serially. */
#include "spatial.h"

static bool is_max(const urc_node *n) { return n->op == URC_OP_MAX_POOL_GRAD; }
/* dY and the shape of X, dX. */
static const urc_value *dy_of(const urc_node *n) { return n->in[is_max(n) ? 1 : 0]; }

/* ---- inference ------------------------------------------------------------ */

static bool pg_infer(urc_node *n) {
    urc_pool_attr *a = &n->a.pool;
    const char *where = urc_node_where(n);
    int di = is_max(n) ? 1 : 0;
    if (!urc_check_dtype(n, di, URC_DTM_FLOAT) || !urc_reject_half(n, di)) return false;
    const urc_shape *ys = &n->in[di]->shape;
    urc_shape xs;
    if (is_max(n)) {
        if (!urc_check_same_dtype(n, 0, 1)) return false;
        xs = n->in[0]->shape;
    } else {
        int cnt;
        if (!urc_const_ints(n, 1, xs.dims, URC_MAX_RANK, &cnt)) return false;
        xs.rank = cnt;
    }
    if (a->channels_last) {
        urc_error(where, "internal: %s has no channels-last form", urc_ops[n->op].name);
        return false;
    }
    if (xs.rank < 3 || xs.rank > 2 + URC_MAX_SPATIAL || ys->rank != xs.rank || ys->dims[0] != xs.dims[0] ||
        ys->dims[1] != xs.dims[1]) {
        urc_error(where, "internal: dY %s does not match X %s", urc_shape_str(ys), urc_shape_str(&xs));
        return false;
    }
    int nsp = xs.rank - 2;
    a->nsp = nsp;
    for (int i = 0; i < xs.rank; i++)
        if (xs.dims[i] < 1 || ys->dims[i] < 1) {
            urc_error(where, "internal: empty pool gradient %s -> %s", urc_shape_str(ys), urc_shape_str(&xs));
            return false;
        }
    for (int i = 0; i < nsp; i++)
        if (a->kernel[i] < 1 || a->strides[i] < 1 || a->dilations[i] < 1 || a->pads[i] < 0 || a->pads[nsp + i] < 0) {
            urc_error(where, "internal: bad pool gradient geometry on spatial axis %d", i);
            return false;
        }
    urc_set_out(n, 0, n->in[di]->dtype, &xs);
    return true;
}

/* ---- geometry --------------------------------------------------------------- */

/* The window geometry (urc_pool_geometry, spatial.h): channels-first sizes, unused axes of extent 1. */
typedef urc_pool_geo geo;
static geo geometry(const urc_node *n) { return urc_pool_geometry(&n->a.pool, &n->out[0]->shape, &dy_of(n)->shape); }

/* ---- reference ------------------------------------------------------------------ */

static bool pg_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    geo g = geometry(n);
    bool mx = is_max(n), incl = n->a.pool.count_include_pad;
    double *x = mx ? urc_tensor_to_f64(in[0]) : NULL, *dy = urc_tensor_to_f64(in[mx ? 1 : 0]);
    int64_t osz = g.out[0] * g.out[1] * g.out[2], isz = g.in[0] * g.in[1] * g.in[2], ksz = g.K[0] * g.K[1] * g.K[2];
    double *dx = urc_xcalloc((size_t)(g.NC * isz) + 1, sizeof(double));
    for (int64_t nc = 0; nc < g.NC; nc++)
        for (int64_t op = 0; op < osz; op++) {
            int64_t o[3] = {op / (g.out[1] * g.out[2]), op / g.out[2] % g.out[1], op % g.out[2]};
            int64_t best = -1, count = 0;
            double acc = -INFINITY;
            /* pass 0 finds the maximum or the count, pass 1 scatters (AveragePool) */
            for (int pass = 0; pass < (mx ? 1 : 2); pass++)
                for (int64_t kp = 0; kp < ksz; kp++) {
                    int64_t k[3] = {kp / (g.K[1] * g.K[2]), kp / g.K[2] % g.K[1], kp % g.K[2]}, i[3];
                    bool inside = true, padded = true;
                    for (int a = 0; a < 3; a++) {
                        i[a] = o[a] * g.s[a] - g.pb[a] + k[a] * g.d[a];
                        inside = inside && i[a] >= 0 && i[a] < g.in[a];
                        padded = padded && i[a] >= -g.pb[a] && i[a] < g.in[a] + g.pe[a];
                    }
                    if (pass == 0 && (incl ? padded : inside)) count++;
                    if (!inside) continue;
                    int64_t flat = nc * isz + (i[0] * g.in[1] + i[1]) * g.in[2] + i[2];
                    if (mx) {
                        double v = x[flat];
                        if (best < 0 || v > acc || (isnan(v) && !isnan(acc))) {
                            acc = v;
                            best = flat;
                        }
                    } else if (pass == 1) {
                        dx[flat] += dy[nc * osz + op] / (double)count;
                    }
                }
            if (mx && best >= 0) dx[best] += dy[nc * osz + op];
        }
    urc_tensor_from_f64(out[0], dx);
    free(x);
    free(dy);
    free(dx);
    return true;
}

/* ---- lowering ------------------------------------------------------------------- */

static const char *nm(const char *base, int a) { return urc_fmt("%s%d", base, a); }

/*   for nc (parallel):
 *     for j: dX[nc, j] = 0
 *     for o0, o1, o2:  [tap range per axis]
 *       MaxPoolGrad:     acc = -inf; best = -1
 *                        for k0, k1, k2: v = X[nc, i]; if (best < 0 || v > acc || v is the first NaN) acc = v, best = i
 *                        if (best >= 0) dX[nc, best] += dY[nc, o]
 *       AveragePoolGrad: g = dY[nc, o] / count;  for k0, k1, k2: dX[nc, i] += g */
static bool pg_lower(urc_lower *L, const urc_node *n) {
    geo g = geometry(n);
    bool mx = is_max(n), incl = !mx && n->a.pool.count_include_pad;
    const urc_value *DY = dy_of(n), *DX = n->out[0];
    urc_dtype dt = DX->dtype;
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = mx ? urc_lower_in(L, k, n->in[0], "x") : -1, bdy = urc_lower_in(L, k, DY, "dy");
    int bdx = urc_lower_out(L, k, DX, "dx");
    int64_t isz = g.in[0] * g.in[1] * g.in[2];
    urc_ls *body = k->body, *par = NULL;
    urc_lx *nc = urc_sp_dim_loop(k, &body, "nc", g.NC, &par);
    urc_lx *base = urc_sp_let(k, body, "xb", urc_muli(nc, isz));
    urc_ls *zero = body;
    urc_lx *j = urc_sp_dim_loop(k, &zero, "j", isz, NULL);
    if (isz > 1) body->list.items[body->list.len - 1]->flags |= URC_FOR_SIMD;
    urc_ls_store(zero, bdx, urc_add(base, j), urc_lx_const(0, dt));
    urc_lx *o[URC_MAX_SPATIAL], *lo[URC_MAX_SPATIAL], *hi[URC_MAX_SPATIAL], *cnt = urc_sp_i(1);
    for (int a = 0; a < g.nsp; a++) {
        urc_lx *c;
        o[a] = urc_sp_dim_loop(k, &body, nm("o", a), g.out[a], NULL);
        urc_sp_taps(k, body, &g, a, incl, o[a], &lo[a], &hi[a], &c);
        cnt = urc_mul(cnt, c);
    }
    const urc_lx *yi[1 + URC_MAX_SPATIAL] = {nc};
    urc_shape yv = {1 + g.nsp, {g.NC}}, xv = {g.nsp, {0}};
    for (int a = 0; a < g.nsp; a++) {
        yi[1 + a] = o[a];
        yv.dims[1 + a] = g.out[a];
        xv.dims[a] = g.in[a];
    }
    urc_lx *dyv = urc_lx_load(k, bdy, urc_index(yi, &yv));
    int gv = -1, acc = -1, best = -1;
    if (mx) {
        acc = urc_kernel_var(k, "acc", dt);
        best = urc_kernel_var(k, "best", URC_DT_I64);
        urc_ls_decl(body, acc, urc_lx_const(-INFINITY, dt));
        urc_ls_decl(body, best, urc_sp_i(-1));
    } else {
        gv = urc_kernel_var(k, "g", dt);
        urc_lx *den = cnt->kind == URC_LX_INT ? urc_lx_const((double)cnt->i, dt) : urc_lx_cast(dt, cnt);
        urc_ls_decl(body, gv, urc_lx_bin(URC_L_DIV, dyv, den));
    }
    urc_ls *in = body;
    const urc_lx *xi[URC_MAX_SPATIAL];
    for (int a = 0; a < g.nsp; a++) {
        urc_lx *kk = lo[a];
        if (!(lo[a]->kind == URC_LX_INT && hi[a]->kind == URC_LX_INT && hi[a]->i - lo[a]->i == 1))
            kk = urc_sp_range_loop(k, &in, nm("k", a), lo[a], hi[a]);
        xi[a] = urc_addi(urc_add(urc_muli(o[a], g.s[a]), urc_muli(kk, g.d[a])), -g.pb[a]);
    }
    urc_lx *flat = urc_index(xi, &xv);
    if (!mx) {
        urc_ls_accum(in, bdx, urc_add(base, flat), urc_lx_var(k, gv));
        return true;
    }
    int vv = urc_kernel_var(k, "v", dt);
    urc_ls_decl(in, vv, urc_lx_load(k, bx, urc_add(base, flat)));
    urc_lx *v = urc_lx_var(k, vv), *acc_e = urc_lx_var(k, acc), *best_e = urc_lx_var(k, best);
    urc_lx *cond = urc_lx_bin(URC_L_OR, urc_lx_bin(URC_L_LT, best_e, urc_sp_i(0)), urc_lx_bin(URC_L_GT, v, acc_e));
    cond = urc_lx_bin(
        URC_L_OR, cond,
        urc_lx_bin(URC_L_AND, urc_lx_un(URC_L_ISNAN, v), urc_lx_un(URC_L_NOT, urc_lx_un(URC_L_ISNAN, acc_e))));
    urc_ls *then = urc_ls_if(in, cond, NULL);
    urc_ls_assign(then, acc, v);
    urc_ls_assign(then, best, flat);
    urc_ls *hit = urc_ls_if(body, urc_lx_bin(URC_L_GE, best_e, urc_sp_i(0)), NULL);
    urc_ls_accum(hit, bdx, urc_add(base, best_e), dyv);
    return true;
}

static void pg_print(const urc_node *n, urc_strbuf *sb) {
    const urc_pool_attr *a = &n->a.pool;
    urc_print_ints(sb, "kernel", a->kernel, a->nsp);
    urc_print_ints(sb, "strides", a->strides, a->nsp);
    urc_print_ints(sb, "dilations", a->dilations, a->nsp);
    urc_print_ints(sb, "pads", a->pads, 2 * a->nsp);
    if (a->count_include_pad && !is_max(n)) urc_sb_puts(sb, " count_include_pad=1");
}

const urc_op_impl urc_impl_poolgrad = {NULL, pg_infer, pg_eval, pg_lower, pg_print, .signature_lower = false};
