/* conv.c: Conv and ConvTranspose over 1 to 3 spatial dims.
 *
 * Shapes (S = the spatial dims, K = kernel, G = group):
 *   Conv:          X [N, C, S_in], W [M, C/G, K], B [M]     -> Y [N, M, S_out]
 *   ConvTranspose: X [N, C, S_in], W [C, M/G, K], B [M]     -> Y [N, M, S_out]
 * Per spatial axis with stride s, dilation d and begin padding pb:
 *   Conv:          Y[n, m, o] = B[m] + sum_{c, k} X[n, c, o*s - pb + k*d] * W[m, c, k]
 *   ConvTranspose: input i feeds output o = i*s + k*d - pb, so
 *                  Y[n, m, o] = B[m] + sum_{c, k, i: i*s + k*d = o + pb} X[n, c, i] * W[c, m, k]
 * (c runs over the input channels of m's group). infer resolves every
 * attribute into urc_conv_attr; the reference evaluates ConvTranspose by
 * scattering (the definition), the lowering gathers per output element so
 * the outer loops are independent and need no atomic writes. */
#include "spatial.h"

/* ---- parsing ----------------------------------------------------------------- */


static bool conv_parse(urc_node *n, urc_attr_list *l) {
    urc_conv_attr *a = &n->a.conv;
    memset(a, 0, sizeof *a);
    /* every getter runs (no short cut) so each attribute is marked as read */
    bool ok = urc_attr_int(l, "group", 1, &a->group);
    ok &= urc_sp_parse_auto_pad(l, &a->auto_pad);
    ok &= urc_attr_ints(l, "kernel_shape", a->kernel, URC_MAX_SPATIAL, &a->n_kernel);
    ok &= urc_attr_ints(l, "strides", a->strides, URC_MAX_SPATIAL, &a->n_strides);
    ok &= urc_attr_ints(l, "dilations", a->dilations, URC_MAX_SPATIAL, &a->n_dilations);
    ok &= urc_attr_ints(l, "pads", a->pads, 2 * URC_MAX_SPATIAL, &a->n_pads);
    a->n_output_padding = a->n_output_shape = -1;
    if (n->op == URC_OP_CONV_TRANSPOSE) {
        ok &= urc_attr_ints(l, "output_padding", a->output_padding, URC_MAX_SPATIAL, &a->n_output_padding);
        ok &= urc_attr_ints(l, "output_shape", a->output_shape, URC_MAX_SPATIAL, &a->n_output_shape);
    }
    return ok;
}

/* ---- inference ----------------------------------------------------------------- */

static const urc_value *bias(const urc_node *n) { return n->nin > 2 ? n->in[2] : NULL; }


static bool conv_infer(urc_node *n) {
    urc_conv_attr *a = &n->a.conv;
    const char *where = urc_node_where(n);
    bool tr = n->op == URC_OP_CONV_TRANSPOSE;
    if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0) || !urc_check_dtype(n, 1, URC_DTM_FLOAT) ||
        !urc_check_same_dtype(n, 0, 1))
        return false;
    const urc_value *B = bias(n);
    if (B && (!urc_check_dtype(n, 2, URC_DTM_FLOAT) || !urc_check_same_dtype(n, 0, 2))) return false;
    if (!urc_check_rank(n, 0, 3, 2 + URC_MAX_SPATIAL)) return false;
    /* channels-last X [N, S..., C]: everything below reads the channels-first view */
    urc_shape xcf = a->channels_last ? urc_sp_to_first(&n->in[0]->shape) : n->in[0]->shape;
    const urc_shape *xs = &xcf, *ws = &n->in[1]->shape;
    int nsp = xs->rank - 2;
    a->nsp = nsp;
    if (ws->rank != xs->rank) {
        urc_error(where, "W has shape %s; expected rank %d like X %s", urc_shape_str(ws), xs->rank, urc_shape_str(xs));
        return false;
    }
    for (int d = 0; d < xs->rank; d++)
        if (xs->dims[d] < 1 || ws->dims[d] < 1) {
            urc_error(where, "X %s and W %s must not have empty dims", urc_shape_str(xs), urc_shape_str(ws));
            return false;
        }
    int64_t G = a->group, C = xs->dims[1], M;
    if (G < 1 || C % G) {
        urc_error(where, "group %lld does not divide the %lld input channels", (long long)G, (long long)C);
        return false;
    }
    if (tr) {
        if (ws->dims[0] != C) {
            urc_error(where, "W %s must have X's %lld channels in dim 0", urc_shape_str(ws), (long long)C);
            return false;
        }
        if (!urc_mul_ok(ws->dims[1], G, &M)) {
            urc_error(where, "the output channel count overflows");
            return false;
        }
    } else {
        M = ws->dims[0];
        if (ws->dims[1] != C / G) {
            urc_error(where, "W %s must have %lld channels in dim 1 (X's %lld channels / group %lld)",
                      urc_shape_str(ws), (long long)(C / G), (long long)C, (long long)G);
            return false;
        }
        if (M % G) {
            urc_error(where, "group %lld does not divide the %lld output channels", (long long)G, (long long)M);
            return false;
        }
    }
    if (B && (B->shape.rank != 1 || B->shape.dims[0] != M)) {
        urc_error(where, "B has shape %s; expected [%lld]", urc_shape_str(&B->shape), (long long)M);
        return false;
    }
    if (a->n_kernel >= 0) {
        if (!urc_sp_axis_list(n, "kernel_shape", a->kernel, a->n_kernel, nsp, 1, 1)) return false;
        for (int i = 0; i < nsp; i++)
            if (a->kernel[i] != ws->dims[2 + i]) {
                urc_error(where, "kernel_shape does not match W %s", urc_shape_str(ws));
                return false;
            }
    }
    for (int i = 0; i < nsp; i++) a->kernel[i] = ws->dims[2 + i];
    if (!urc_sp_axis_list(n, "strides", a->strides, a->n_strides, nsp, 1, 1) ||
        !urc_sp_axis_list(n, "dilations", a->dilations, a->n_dilations, nsp, 1, 1) ||
        !urc_sp_axis_list(n, "pads", a->pads, a->n_pads, 2 * nsp, 0, 0))
        return false;
    if (tr && !urc_sp_axis_list(n, "output_padding", a->output_padding, a->n_output_padding, nsp, 0, 0)) return false;
    if (a->auto_pad != URC_PAD_NOTSET && a->n_pads >= 0) {
        for (int i = 0; i < 2 * nsp; i++)
            if (a->pads[i]) {
                urc_error(where, "explicit pads cannot be combined with auto_pad other than NOTSET");
                return false;
            }
        a->n_pads = -1; /* all zero: as if absent (infer runs again on its own results) */
    }
    if (tr && a->n_output_shape >= 0) {
        if (!urc_sp_axis_list(n, "output_shape", a->output_shape, a->n_output_shape, nsp, 1, 1)) return false;
    }
    urc_shape ys = {xs->rank, {xs->dims[0], M}};
    for (int i = 0; i < nsp; i++) {
        int64_t in = xs->dims[2 + i], s = a->strides[i], d = a->dilations[i], K = a->kernel[i];
        int64_t ek = (K - 1) * d + 1, *pb = &a->pads[i], *pe = &a->pads[nsp + i], out;
        if (a->auto_pad == URC_PAD_VALID) *pb = *pe = 0;
        if (!tr) {
            if (a->auto_pad == URC_PAD_SAME_UPPER || a->auto_pad == URC_PAD_SAME_LOWER) {
                /* output ceil(in / s); the padding needed for it, odd one at the end for UPPER */
                out = (in + s - 1) / s;
                int64_t total = (out - 1) * s + ek - in;
                if (total < 0) total = 0;
                *pb = a->auto_pad == URC_PAD_SAME_UPPER ? total / 2 : total - total / 2;
                *pe = total - *pb;
            }
            if (in + *pb + *pe < ek) {
                urc_error(where, "the dilated kernel (%lld) exceeds the padded input (%lld) on spatial axis %d",
                          (long long)ek, (long long)(in + *pb + *pe), i);
                return false;
            }
            out = (in + *pb + *pe - ek) / s + 1;
        } else {
            int64_t full = s * (in - 1) + a->output_padding[i] + ek; /* output size without padding */
            bool same = a->auto_pad == URC_PAD_SAME_UPPER || a->auto_pad == URC_PAD_SAME_LOWER;
            if (a->n_output_shape >= 0 || same) {
                /* The spec's equations. An output up to stride - 1 larger than the
                 * full one (as output_padding would give) extends at the end with
                 * bias-only elements, as in ONNX's test and onnxruntime. */
                out = a->n_output_shape >= 0 ? a->output_shape[i] : in * s;
                int64_t total = full - out;
                if (total >= 0) {
                    *pb = a->auto_pad == URC_PAD_SAME_UPPER ? total / 2 : total - total / 2;
                    *pe = total - *pb;
                } else if (-total < s) {
                    *pb = 0;
                    *pe = total;
                } else {
                    urc_error(where, "output_shape %lld on spatial axis %d exceeds the full output %lld by stride %lld or more",
                              (long long)out, i, (long long)full, (long long)s);
                    return false;
                }
            }
            out = full - *pb - *pe;
            if (out < 1) {
                urc_error(where, "the output would be empty on spatial axis %d (pads %lld, %lld)", i, (long long)*pb,
                          (long long)*pe);
                return false;
            }
        }
        ys.dims[2 + i] = out;
    }
    if (a->channels_last) ys = urc_sp_to_last(&ys);
    urc_set_out(n, 0, n->in[0]->dtype, &ys);
    return true;
}

/* ---- geometry ------------------------------------------------------------------ */

/* The node's sizes with unused spatial axes (beyond nsp) set to extent 1,
 * so the reference can always loop over three. */
typedef struct geo {
    int nsp;
    int64_t N, C, M, G, Cg, Mg;     /* Cg = C/G inputs and Mg = M/G outputs per group */
    int64_t in[3], out[3], K[3], s[3], d[3], pb[3];
} geo;

static geo geometry(const urc_node *n) {
    const urc_conv_attr *a = &n->a.conv;
    urc_shape xcf = n->in[0]->shape, ycf = n->out[0]->shape;
    if (a->channels_last) {
        xcf = urc_sp_to_first(&xcf);
        ycf = urc_sp_to_first(&ycf);
    }
    const urc_shape *xs = &xcf, *ys = &ycf;
    geo g = {a->nsp, xs->dims[0], xs->dims[1], ys->dims[1], a->group, 0, 0, {1, 1, 1}, {1, 1, 1}, {1, 1, 1},
             {1, 1, 1}, {1, 1, 1}, {0, 0, 0}};
    g.Cg = g.C / g.G;
    g.Mg = g.M / g.G;
    for (int i = 0; i < a->nsp; i++) {
        g.in[i] = xs->dims[2 + i];
        g.out[i] = ys->dims[2 + i];
        g.K[i] = a->kernel[i];
        g.s[i] = a->strides[i];
        g.d[i] = a->dilations[i];
        g.pb[i] = a->pads[i];
    }
    return g;
}

/* ---- reference ------------------------------------------------------------------- */

static bool conv_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    geo g = geometry(n);
    bool tr = n->op == URC_OP_CONV_TRANSPOSE;
    bool cl = n->a.conv.channels_last;
    double *x = urc_tensor_to_f64(in[0]), *w = urc_tensor_to_f64(in[1]);
    if (cl) { /* the reference runs channels-first */
        urc_shape xcf = urc_sp_to_first(&in[0]->shape);
        double *t = urc_sp_relayout(x, &xcf, true);
        free(x);
        x = t;
    }
    double *b = n->nin > 2 && in[2] ? urc_tensor_to_f64(in[2]) : NULL;
    urc_tensor *yt = out[0];
    int64_t ny = urc_tensor_numel(yt), osz = g.out[0] * g.out[1] * g.out[2], isz = g.in[0] * g.in[1] * g.in[2];
    int64_t ksz = g.K[0] * g.K[1] * g.K[2];
    double *y = urc_xcalloc((size_t)ny, sizeof(double));
    for (int64_t i = 0; i < ny; i++) y[i] = b ? b[(i / osz) % g.M] : 0;
    if (!tr) {
        /* each output element sums its window; taps outside the input read zero padding */
        for (int64_t nm = 0; nm < g.N * g.M; nm++)
            for (int64_t op = 0; op < osz; op++) {
                int64_t nn = nm / g.M, m = nm % g.M, grp = m / g.Mg;
                int64_t o[3] = {op / (g.out[1] * g.out[2]), op / g.out[2] % g.out[1], op % g.out[2]};
                double acc = 0;
                for (int64_t c = 0; c < g.Cg; c++)
                    for (int64_t kp = 0; kp < ksz; kp++) {
                        int64_t k[3] = {kp / (g.K[1] * g.K[2]), kp / g.K[2] % g.K[1], kp % g.K[2]}, xi = nn * g.C + grp * g.Cg + c;
                        bool inside = true;
                        for (int a = 0; a < 3; a++) {
                            int64_t i = o[a] * g.s[a] - g.pb[a] + k[a] * g.d[a];
                            inside = inside && i >= 0 && i < g.in[a];
                            xi = xi * g.in[a] + i;
                        }
                        if (inside) acc += x[xi] * w[(m * g.Cg + c) * ksz + kp];
                    }
                y[nm * osz + op] += acc;
            }
    } else {
        /* scatter: input element i and tap k land on output i*s + k*d - pb */
        for (int64_t nc = 0; nc < g.N * g.C; nc++)
            for (int64_t ip = 0; ip < isz; ip++) {
                int64_t nn = nc / g.C, c = nc % g.C, grp = c / g.Cg;
                int64_t i[3] = {ip / (g.in[1] * g.in[2]), ip / g.in[2] % g.in[1], ip % g.in[2]};
                double xv = x[nc * isz + ip];
                for (int64_t mm = 0; mm < g.Mg; mm++)
                    for (int64_t kp = 0; kp < ksz; kp++) {
                        int64_t k[3] = {kp / (g.K[1] * g.K[2]), kp / g.K[2] % g.K[1], kp % g.K[2]};
                        int64_t yi = nn * g.M + grp * g.Mg + mm;
                        bool inside = true;
                        for (int a = 0; a < 3; a++) {
                            int64_t o = i[a] * g.s[a] + k[a] * g.d[a] - g.pb[a];
                            inside = inside && o >= 0 && o < g.out[a];
                            yi = yi * g.out[a] + o;
                        }
                        if (inside) y[yi] += xv * w[(c * g.Mg + mm) * ksz + kp];
                    }
            }
    }
    if (cl) {
        urc_shape ycf = urc_sp_to_first(&yt->shape);
        double *t = urc_sp_relayout(y, &ycf, false);
        free(y);
        y = t;
    }
    urc_tensor_from_f64(yt, y);
    free(x);
    free(w);
    free(b);
    free(y);
    return true;
}

/* ---- lowering ---------------------------------------------------------------------- */





static const char *nm(const char *base, int a) { return urc_fmt("%s%d", base, a); }

/* Conv, one spatial axis at output position o: the taps k whose input
 * o*s - pb + k*d lies in [0, in) form [*lo, *hi). A bound is computed (as
 * a local) only when some window of this axis crosses it, so unpadded axes
 * get constant trip counts and no loop has branches.
 *   lo = max(0, ceil((pb - o*s) / d)),  hi = min(K, ceil((in + pb - o*s) / d)) */
static void conv_taps(urc_kernel *k, urc_ls *body, const geo *g, int a, urc_lx *o, urc_lx **lo, urc_lx **hi) {
    int64_t s = g->s[a], d = g->d[a], pb = g->pb[a], K = g->K[a], in = g->in[a];
    urc_lx *os = urc_muli(o, s);
    *lo = urc_sp_i(0);
    *hi = urc_sp_i(K);
    if (pb > 0) *lo = urc_sp_let(k, body, nm("klo", a), urc_sp_max(urc_sp_i(0), urc_sp_div(urc_sub(urc_sp_i(pb + d - 1), os), d)));
    if ((g->out[a] - 1) * s - pb + (K - 1) * d >= in)
        *hi = urc_sp_let(k, body, nm("khi", a), urc_sp_min(urc_sp_i(K), urc_sp_div(urc_sub(urc_sp_i(in + pb + d - 1), os), d)));
}

static urc_lx *bias_init(urc_lower *L, urc_kernel *k, const urc_node *n, urc_lx *m) {
    const urc_value *B = bias(n);
    urc_dtype dt = n->out[0]->dtype;
    if (!B) return urc_lx_const(0, dt);
    if (!(B->data && urc_shape_numel(&B->shape) == 1)) urc_lower_in(L, k, B, "b");
    return urc_lower_load(L, k, B, m);
}

/* Conv: per (n, m, output position) accumulate over the group's channels
 * and the in-bounds taps:
 *   for n, m, o0 (parallel) / o1 / o2:  [tap bounds per axis]
 *     acc = B[m];  for c, k0, k1, k2: acc += X[n, g*Cg + c, o*s - pb + k*d] * W[m, c, k]
 *     Y[n, m, o] = acc */
static bool lower_conv(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g) {
    const urc_value *X = n->in[0], *W = n->in[1], *Y = n->out[0];
    int bx = urc_lower_in(L, k, X, "x"), bw = urc_lower_in(L, k, W, "w"), by = urc_lower_out(L, k, Y, "y");
    urc_ls *body = k->body, *par = NULL;
    urc_lx *nn = urc_sp_dim_loop(k, &body, "n", g->N, &par);
    urc_lx *m = urc_sp_dim_loop(k, &body, "m", g->M, &par);
    urc_lx *o[URC_MAX_SPATIAL], *lo[URC_MAX_SPATIAL], *hi[URC_MAX_SPATIAL];
    for (int a = 0; a < g->nsp; a++) {
        o[a] = urc_sp_dim_loop(k, &body, nm("o", a), g->out[a], a == 0 ? &par : NULL);
        conv_taps(k, body, g, a, o[a], &lo[a], &hi[a]);
    }
    int acc = urc_kernel_var(k, "acc", Y->dtype);
    urc_ls_decl(body, acc, bias_init(L, k, n, m));
    urc_ls *in = body;
    urc_lx *c = urc_sp_dim_loop(k, &in, "c", g->Cg, NULL);
    urc_lx *cin = g->G == 1 ? c : urc_add(urc_muli(urc_sp_div(m, g->Mg), g->Cg), c);
    const urc_lx *xi[2 + URC_MAX_SPATIAL] = {nn, cin}, *wi[2 + URC_MAX_SPATIAL] = {m, c};
    for (int a = 0; a < g->nsp; a++) {
        bool whole = lo[a]->kind == URC_LX_INT && hi[a]->kind == URC_LX_INT && hi[a]->i - lo[a]->i == 1;
        urc_lx *kk = whole ? lo[a] : urc_sp_range_loop(k, &in, nm("k", a), lo[a], hi[a]);
        wi[2 + a] = kk;
        xi[2 + a] = urc_addi(urc_add(urc_muli(o[a], g->s[a]), urc_muli(kk, g->d[a])), -g->pb[a]);
    }
    bool cl = n->a.conv.channels_last;
    urc_lx *prod = urc_lx_bin(URC_L_MUL, urc_lx_load(k, bx, urc_sp_index(xi, &X->shape, cl)),
                              urc_lx_load(k, bw, urc_index(wi, &W->shape)));
    urc_ls_assign(in, acc, urc_lx_bin(URC_L_ADD, urc_lx_var(k, acc), prod));
    const urc_lx *yi[2 + URC_MAX_SPATIAL] = {nn, m};
    for (int a = 0; a < g->nsp; a++) yi[2 + a] = o[a];
    urc_ls_store(body, by, urc_sp_index(yi, &Y->shape, cl), urc_lx_var(k, acc));
    return true;
}

/* ConvTranspose, gathered: output o (per axis q = o + pb) receives input i
 * through tap k = (q - i*s) / d when that is a whole number in [0, K).
 *   for n, m, o0 (parallel) / o1 / o2:  [input range per axis]
 *     acc = B[m];  for c, i0|k0, i1|k1, i2|k2: acc += X[n, g*Cg + c, i] * W[g*Cg + c, m - g*Mg, k]
 *     Y[n, m, o] = acc
 * With d = 1 an axis loops over its inputs i in [max(0, ceil((q-K+1)/s)), min(in, floor(q/s)+1))
 * with k = q - i*s, branch-free; with d > 1 it loops over the taps and tests
 * that q - k*d is a multiple of s inside [0, in*s). */
static bool lower_conv_transpose(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g) {
    const urc_value *X = n->in[0], *W = n->in[1], *Y = n->out[0];
    int bx = urc_lower_in(L, k, X, "x"), bw = urc_lower_in(L, k, W, "w"), by = urc_lower_out(L, k, Y, "y");
    urc_ls *body = k->body, *par = NULL;
    urc_lx *nn = urc_sp_dim_loop(k, &body, "n", g->N, &par);
    urc_lx *m = urc_sp_dim_loop(k, &body, "m", g->M, &par);
    urc_lx *o[URC_MAX_SPATIAL], *q[URC_MAX_SPATIAL], *lo[URC_MAX_SPATIAL] = {0}, *hi[URC_MAX_SPATIAL] = {0};
    for (int a = 0; a < g->nsp; a++) {
        int64_t s = g->s[a], K = g->K[a];
        o[a] = urc_sp_dim_loop(k, &body, nm("o", a), g->out[a], a == 0 ? &par : NULL);
        q[a] = urc_addi(o[a], g->pb[a]);
        if (g->d[a] == 1) {
            /* floor((q - K + s) / s) and floor((q + s) / s); where the truncating
             * division rounds up (negative numerators) the result is <= 0 and
             * clamped by max(0, .) or gives an empty range anyway */
            lo[a] = urc_sp_let(k, body, nm("ilo", a), urc_sp_max(urc_sp_i(0), urc_sp_div(urc_addi(o[a], g->pb[a] + s - K), s)));
            hi[a] = urc_sp_let(k, body, nm("ihi", a), urc_sp_min(urc_sp_i(g->in[a]), urc_sp_div(urc_addi(o[a], g->pb[a] + s), s)));
        }
    }
    int acc = urc_kernel_var(k, "acc", Y->dtype);
    urc_ls_decl(body, acc, bias_init(L, k, n, m));
    urc_ls *in = body;
    urc_lx *c = urc_sp_dim_loop(k, &in, "c", g->Cg, NULL);
    urc_lx *grp = g->G == 1 ? urc_sp_i(0) : urc_sp_div(m, g->Mg);
    urc_lx *cin = g->G == 1 ? c : urc_add(urc_muli(grp, g->Cg), c);
    urc_lx *mm = g->G == 1 ? m : g->Mg == 1 ? urc_sp_i(0) : urc_sub(m, urc_muli(grp, g->Mg));
    const urc_lx *xi[2 + URC_MAX_SPATIAL] = {nn, cin}, *wi[2 + URC_MAX_SPATIAL] = {cin, mm};
    for (int a = 0; a < g->nsp; a++) {
        int64_t s = g->s[a], d = g->d[a];
        if (d == 1) {
            urc_lx *i = urc_sp_range_loop(k, &in, nm("i", a), lo[a], hi[a]);
            xi[2 + a] = i;
            wi[2 + a] = urc_sub(q[a], urc_muli(i, s));
        } else {
            urc_lx *kk = urc_sp_range_loop(k, &in, nm("k", a), urc_sp_i(0), urc_sp_i(g->K[a]));
            urc_lx *t = urc_sp_let(k, in, nm("t", a), urc_sub(q[a], urc_muli(kk, d)));
            urc_lx *ok = urc_lx_bin(URC_L_AND, urc_lx_bin(URC_L_GE, t, urc_sp_i(0)), urc_lx_bin(URC_L_LT, t, urc_sp_i(g->in[a] * s)));
            if (s > 1) ok = urc_lx_bin(URC_L_AND, ok, urc_lx_bin(URC_L_EQ, urc_lx_bin(URC_L_REM, t, urc_sp_i(s)), urc_sp_i(0)));
            in = urc_ls_if(in, ok, NULL);
            xi[2 + a] = urc_sp_div(t, s);
            wi[2 + a] = kk;
        }
    }
    bool cl = n->a.conv.channels_last;
    urc_lx *prod = urc_lx_bin(URC_L_MUL, urc_lx_load(k, bx, urc_sp_index(xi, &X->shape, cl)),
                              urc_lx_load(k, bw, urc_index(wi, &W->shape)));
    urc_ls_assign(in, acc, urc_lx_bin(URC_L_ADD, urc_lx_var(k, acc), prod));
    const urc_lx *yi[2 + URC_MAX_SPATIAL] = {nn, m};
    for (int a = 0; a < g->nsp; a++) yi[2 + a] = o[a];
    urc_ls_store(body, by, urc_sp_index(yi, &Y->shape, cl), urc_lx_var(k, acc));
    return true;
}

static bool conv_lower(urc_lower *L, const urc_node *n) {
    geo g = geometry(n);
    urc_kernel *k = urc_lower_begin(L, n);
    if (n->op == URC_OP_CONV_TRANSPOSE) return lower_conv_transpose(L, k, n, &g);
    return lower_conv(L, k, n, &g);
}

static void conv_print(const urc_node *n, urc_strbuf *sb) {
    const urc_conv_attr *a = &n->a.conv;
    urc_print_ints(sb, "kernel", a->kernel, a->nsp);
    urc_print_ints(sb, "strides", a->strides, a->nsp);
    urc_print_ints(sb, "dilations", a->dilations, a->nsp);
    urc_print_ints(sb, "pads", a->pads, 2 * a->nsp);
    if (n->op == URC_OP_CONV_TRANSPOSE) urc_print_ints(sb, "output_padding", a->output_padding, a->nsp);
    if (a->group != 1) urc_sb_printf(sb, " group=%lld", (long long)a->group);
    if (a->channels_last) urc_sb_puts(sb, " channels_last");
}

const urc_op_impl urc_impl_conv = {conv_parse, conv_infer, conv_eval, conv_lower, conv_print};
