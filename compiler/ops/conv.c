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
 * scattering (the definition).
 *
 * Layouts and forms (attrs.h): with channels_last (the layout pass) X and Y
 * are [N, S..., C]; unetrc.FusedConv (passes/fuse_conv.c) adds an epilogue
 * act(conv + B) + R, may keep Y channels-first and may read X as parts of a
 * channel concatenation. The reference relayouts to channels-first.
 *
 * Lowering:
 * - channels-last float32, one group, constant W: the direct register-
 *   blocked kernel (Conv; ConvTranspose with kernel = stride as row GEMMs,
 *   other undilated ConvTransposes by residue classes); see "channels-last
 *   fast paths" below;
 * - anything else: the naive twin, branch-free loops per output element
 *   (ConvTranspose gathered, so outer loops are independent), in either
 *   layout. */
#include "activation.h"
#include "conv_wino.h"
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
/* unetrc.FusedConv may read X as the channel concatenation of parts
 * (attrs.h: nx): in[0], then in[4], in[5], ... */
static int nparts(const urc_node *n) { return n->op == URC_OP_FUSED_CONV && n->a.conv.nx > 1 ? n->a.conv.nx : 1; }
static const urc_value *xpart(const urc_node *n, int p) { return p ? n->in[3 + p] : n->in[0]; }
/* X's shape: in[0]'s with the parts' channels added (channels-last). */
static urc_shape x_shape(const urc_node *n) {
    urc_shape s = n->in[0]->shape;
    for (int p = 1; p < nparts(n); p++) s.dims[s.rank - 1] += xpart(n, p)->shape.dims[s.rank - 1];
    return s;
}

/* unetrc.FusedConv's residual R (Y's shape and layout), or NULL. */
static const urc_value *residual(const urc_node *n) { return n->nin > 3 ? n->in[3] : NULL; }

/* W's shape in ONNX's order, [M, C/G, K...] (ConvTranspose [C, M/G, K...]).
 * w_last (passes/conv_weights.c, group 1): a Conv's W is [K..., C, M], a
 * ConvTranspose's [K_0..K_{n-2}, C, K_{n-1}, M] (per input channel, the
 * last tap axis and the output channels form one row: kernel = stride). */
static urc_shape w_view(const urc_node *n) {
    urc_shape w = n->in[1]->shape;
    int r = w.rank;
    if (!n->a.conv.w_last || r < 3) return w;
    urc_shape v = {r, {0}};
    if (n->op == URC_OP_CONV_TRANSPOSE) {
        v.dims[0] = w.dims[r - 3];
        v.dims[1] = w.dims[r - 1];
        for (int d = 0; d < r - 3; d++) v.dims[2 + d] = w.dims[d];
        v.dims[r - 1] = w.dims[r - 2];
    } else {
        v.dims[0] = w.dims[r - 1];
        v.dims[1] = w.dims[r - 2];
        for (int d = 0; d < r - 2; d++) v.dims[2 + d] = w.dims[d];
    }
    return v;
}

static bool check_parts(const urc_node *n) {
    const urc_conv_attr *a = &n->a.conv;
    const char *where = urc_node_where(n);
    if (n->op != URC_OP_FUSED_CONV || a->nx <= 1) return true;
    if (!a->channels_last || a->nx > URC_CONV_MAX_PARTS || n->nin != 3 + a->nx) {
        urc_error(where, "internal: %d input parts (channels-last %d, %d inputs)", a->nx, a->channels_last, n->nin);
        return false;
    }
    const urc_value *x0 = n->in[0];
    for (int p = 1; p < a->nx; p++) {
        const urc_value *x = xpart(n, p);
        bool ok = x && x->dtype == x0->dtype && x->shape.rank == x0->shape.rank;
        for (int d = 0; ok && d < x0->shape.rank - 1; d++) ok = x->shape.dims[d] == x0->shape.dims[d];
        if (!ok) {
            urc_error(where, "internal: input part %d %s does not extend X %s along the channels", p,
                      x ? urc_shape_str(&x->shape) : "-", urc_shape_str(&x0->shape));
            return false;
        }
    }
    return true;
}
/* Y's layout: channels-last unless y_channels_first keeps ONNX's. */
static bool y_last(const urc_node *n) { return n->a.conv.channels_last && !n->a.conv.y_channels_first; }

/* The epilogue activation (attrs.h: act of unetrc.FusedConv; ops/activation.c) of x, its
 * locals declared in `at`. */
urc_lx *urc_conv_act(urc_kernel *k, urc_ls *at, const urc_conv_attr *a, urc_lx *x) {
    return urc_act_lx(k, at, (urc_act)a->act, a->act_alpha, x);
}

static bool conv_infer(urc_node *n) {
    urc_conv_attr *a = &n->a.conv;
    const char *where = urc_node_where(n);
    bool tr = n->op == URC_OP_CONV_TRANSPOSE;
    if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0) || !urc_check_dtype(n, 1, URC_DTM_FLOAT) ||
        !urc_check_same_dtype(n, 0, 1))
        return false;
    const urc_value *B = bias(n), *R = residual(n);
    if (B && (!urc_check_dtype(n, 2, URC_DTM_FLOAT) || !urc_check_same_dtype(n, 0, 2))) return false;
    if (R && (!urc_check_dtype(n, 3, URC_DTM_FLOAT) || !urc_check_same_dtype(n, 0, 3))) return false;
    if (!urc_check_rank(n, 0, 3, 2 + URC_MAX_SPATIAL) || !check_parts(n)) return false;
    if (a->y_channels_first && !a->channels_last) {
        urc_error(where, "internal: y_channels_first needs channels_last");
        return false;
    }
    if (!urc_act_valid(a->act) || (n->op != URC_OP_FUSED_CONV && a->act != URC_ACT_NONE)) {
        urc_error(where, "internal: unsupported convolution epilogue activation %d", a->act);
        return false;
    }
    /* channels-last X [N, S..., C]: everything below reads the channels-first view */
    urc_shape xin = x_shape(n), xcf = a->channels_last ? urc_sp_to_first(&xin) : xin, wv = w_view(n);
    const urc_shape *xs = &xcf, *ws = &wv;
    if (a->w_last && (a->group != 1 || !a->channels_last)) {
        urc_error(where, "internal: W in [K..., C, M] order needs a channels-last convolution of group 1");
        return false;
    }
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
    /* ONNX: output_padding < max(stride, dilation); a larger one adds output
     * rows no input element reaches. */
    for (int i = 0; tr && i < nsp; i++) {
        int64_t lim = a->strides[i] > a->dilations[i] ? a->strides[i] : a->dilations[i];
        if (a->output_padding[i] >= lim) {
            urc_error(where,
                      "output_padding %lld on spatial axis %d must be smaller than the stride or dilation (%lld)",
                      (long long)a->output_padding[i], i, (long long)lim);
            return false;
        }
    }
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
        int64_t ek, *pb = &a->pads[i], *pe = &a->pads[nsp + i], out;
        if (!urc_mul_ok(K - 1, d, &ek) || !urc_add_ok(ek, 1, &ek)) { /* (input hardening) */
            urc_error(where, "the dilated kernel overflows on spatial axis %d", i);
            return false;
        }
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
            int64_t full; /* output size without padding */
            if (!urc_mul_ok(s, in - 1, &full) || !urc_add_ok(full, a->output_padding[i], &full) ||
                !urc_add_ok(full, ek, &full)) { /* (input hardening) */
                urc_error(where, "the output size overflows on spatial axis %d", i);
                return false;
            }
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
                    urc_error(
                        where,
                        "output_shape %lld on spatial axis %d exceeds the full output %lld by stride %lld or more",
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
    if (y_last(n)) ys = urc_sp_to_last(&ys);
    if (R && !urc_shape_eq(&R->shape, &ys)) {
        urc_error(where, "residual %s must have the output's shape %s", urc_shape_str(&R->shape), urc_shape_str(&ys));
        return false;
    }
    urc_set_out(n, 0, n->in[0]->dtype, &ys);
    return true;
}

/* ---- geometry ------------------------------------------------------------------ */

/* The node's sizes with unused spatial axes (beyond nsp) set to extent 1,
 * so the reference can always loop over three. */
typedef struct geo {
    int nsp;
    int64_t N, C, M, G, Cg, Mg; /* Cg = C/G inputs and Mg = M/G outputs per group */
    int64_t in[3], out[3], K[3], s[3], d[3], pb[3];
} geo;

static geo geometry(const urc_node *n) {
    const urc_conv_attr *a = &n->a.conv;
    urc_shape xcf = x_shape(n), ycf = n->out[0]->shape;
    if (a->channels_last) xcf = urc_sp_to_first(&xcf);
    if (y_last(n)) ycf = urc_sp_to_first(&ycf);
    const urc_shape *xs = &xcf, *ys = &ycf;
    geo g = {a->nsp,    xs->dims[0], xs->dims[1], ys->dims[1], a->group,  0,        0,
             {1, 1, 1}, {1, 1, 1},   {1, 1, 1},   {1, 1, 1},   {1, 1, 1}, {0, 0, 0}};
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
    if (n->a.conv.w_last) { /* back to ONNX's order (w_view) */
        int64_t T = g.K[0] * g.K[1] * g.K[2], KL = g.K[g.nsp - 1], C = g.Cg, M = g.M;
        double *t = urc_xmalloc((size_t)(T * C * M) * sizeof(double));
        for (int64_t kp = 0; kp < T; kp++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t m = 0; m < M; m++)
                    if (tr) /* [K'.., C, KL, M] -> [C, M, K...] */
                        t[(c * M + m) * T + kp] = w[(((kp / KL) * C + c) * KL + kp % KL) * M + m];
                    else /* [K..., C, M] -> [M, C, K...] */ t[(m * C + c) * T + kp] = w[(kp * C + c) * M + m];
        free(w);
        w = t;
    }
    urc_shape xin = x_shape(n);
    if (nparts(n) > 1) { /* X = the parts side by side along the (last) channel axis */
        int r = xin.rank;
        int64_t V = urc_shape_numel(&xin) / xin.dims[r - 1], C = xin.dims[r - 1], c0 = 0;
        double *xs = urc_xmalloc((size_t)(V * C) * sizeof(double));
        for (int p = 0; p < nparts(n); p++) {
            int64_t Cp = xpart(n, p)->shape.dims[r - 1];
            double *xp = p ? urc_tensor_to_f64(in[3 + p]) : x;
            for (int64_t v = 0; v < V; v++)
                for (int64_t c = 0; c < Cp; c++) xs[v * C + c0 + c] = xp[v * Cp + c];
            free(xp);
            c0 += Cp;
        }
        x = xs;
    }
    if (cl) { /* the reference runs channels-first */
        urc_shape xcf = urc_sp_to_first(&xin);
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
                        int64_t k[3] = {kp / (g.K[1] * g.K[2]), kp / g.K[2] % g.K[1], kp % g.K[2]},
                                xi = nn * g.C + grp * g.Cg + c;
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
    for (int64_t i = 0; i < ny; i++) y[i] = urc_act_ref((urc_act)n->a.conv.act, n->a.conv.act_alpha, y[i]);
    if (y_last(n)) {
        urc_shape ycf = urc_sp_to_first(&yt->shape);
        double *t = urc_sp_relayout(y, &ycf, false);
        free(y);
        y = t;
    }
    if (residual(n) && in[3]) {
        double *r = urc_tensor_to_f64(in[3]);
        for (int64_t i = 0; i < ny; i++) y[i] += r[i];
        free(r);
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
    if (pb > 0)
        *lo = urc_sp_let(k, body, nm("klo", a),
                         urc_sp_max(urc_sp_i(0), urc_sp_div(urc_sub(urc_sp_i(pb + d - 1), os), d)));
    if ((g->out[a] - 1) * s - pb + (K - 1) * d >= in)
        *hi = urc_sp_let(k, body, nm("khi", a),
                         urc_sp_min(urc_sp_i(K), urc_sp_div(urc_sub(urc_sp_i(in + pb + d - 1), os), d)));
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
    bool wl = n->a.conv.w_last; /* W [K..., C, M] */
    const urc_lx *xi[2 + URC_MAX_SPATIAL] = {nn, cin}, *wi[2 + URC_MAX_SPATIAL] = {m, c};
    if (wl) wi[g->nsp] = c, wi[g->nsp + 1] = m;
    for (int a = 0; a < g->nsp; a++) {
        bool whole = lo[a]->kind == URC_LX_INT && hi[a]->kind == URC_LX_INT && hi[a]->i - lo[a]->i == 1;
        urc_lx *kk = whole ? lo[a] : urc_sp_range_loop(k, &in, nm("k", a), lo[a], hi[a]);
        wi[wl ? a : 2 + a] = kk;
        xi[2 + a] = urc_addi(urc_add(urc_muli(o[a], g->s[a]), urc_muli(kk, g->d[a])), -g->pb[a]);
    }
    bool cl = n->a.conv.channels_last;
    urc_lx *prod = urc_lx_bin(URC_L_MUL, urc_lx_load(k, bx, urc_sp_index(xi, &X->shape, cl)),
                              urc_lx_load(k, bw, urc_index(wi, &W->shape)));
    urc_ls_assign(in, acc, urc_lx_bin(URC_L_ADD, urc_lx_var(k, acc), prod));
    const urc_lx *yi[2 + URC_MAX_SPATIAL] = {nn, m};
    for (int a = 0; a < g->nsp; a++) yi[2 + a] = o[a];
    urc_lx *yidx = urc_sp_index(yi, &Y->shape, y_last(n)), *val = urc_conv_act(k, body, &n->a.conv, urc_lx_var(k, acc));
    if (residual(n)) val = urc_lx_bin(URC_L_ADD, val, urc_lx_load(k, urc_lower_in(L, k, residual(n), "r"), yidx));
    urc_ls_store(body, by, yidx, val);
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
            lo[a] = urc_sp_let(k, body, nm("ilo", a),
                               urc_sp_max(urc_sp_i(0), urc_sp_div(urc_addi(o[a], g->pb[a] + s - K), s)));
            hi[a] = urc_sp_let(k, body, nm("ihi", a),
                               urc_sp_min(urc_sp_i(g->in[a]), urc_sp_div(urc_addi(o[a], g->pb[a] + s), s)));
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
    /* the position of W's index for C, M and tap axis a (w_view) */
    int nsp = g->nsp, wl = n->a.conv.w_last, pc = wl ? nsp - 1 : 0, pm = wl ? nsp + 1 : 1;
    wi[pc] = cin;
    wi[pm] = mm;
    for (int a = 0; a < nsp; a++) {
        int64_t s = g->s[a], d = g->d[a];
        int pk = !wl ? 2 + a : a < nsp - 1 ? a : nsp;
        if (d == 1) {
            urc_lx *i = urc_sp_range_loop(k, &in, nm("i", a), lo[a], hi[a]);
            xi[2 + a] = i;
            wi[pk] = urc_sub(q[a], urc_muli(i, s));
        } else {
            urc_lx *kk = urc_sp_range_loop(k, &in, nm("k", a), urc_sp_i(0), urc_sp_i(g->K[a]));
            urc_lx *t = urc_sp_let(k, in, nm("t", a), urc_sub(q[a], urc_muli(kk, d)));
            urc_lx *ok = urc_lx_bin(URC_L_AND, urc_lx_bin(URC_L_GE, t, urc_sp_i(0)),
                                    urc_lx_bin(URC_L_LT, t, urc_sp_i(g->in[a] * s)));
            if (s > 1)
                ok =
                    urc_lx_bin(URC_L_AND, ok, urc_lx_bin(URC_L_EQ, urc_lx_bin(URC_L_REM, t, urc_sp_i(s)), urc_sp_i(0)));
            in = urc_ls_if(in, ok, NULL);
            xi[2 + a] = urc_sp_div(t, s);
            wi[pk] = kk;
        }
    }
    bool cl = n->a.conv.channels_last;
    urc_lx *prod = urc_lx_bin(URC_L_MUL, urc_lx_load(k, bx, urc_sp_index(xi, &X->shape, cl)),
                              urc_lx_load(k, bw, urc_index(wi, &W->shape)));
    urc_ls_assign(in, acc, urc_lx_bin(URC_L_ADD, urc_lx_var(k, acc), prod));
    const urc_lx *yi[2 + URC_MAX_SPATIAL] = {nn, m};
    for (int a = 0; a < g->nsp; a++) yi[2 + a] = o[a];
    urc_ls_store(body, by, urc_sp_index(yi, &Y->shape, y_last(n)), urc_lx_var(k, acc));
    return true;
}

/* ---- channels-last fast paths (float32, group 1, constant weights) ----------
 *
 * Direct register-blocked convolution. The spatial axes are mapped to three
 * (D, H, W; missing leading axes have extent 1); X is [N, D, H, W, C] and Y
 * [N, OD, OH, OW, M]. A block of the output row (n, od, oh) covers WB voxels
 * along W times MB output channels (MB = `mult` vectors of the target);
 * its accumulators live in a small local array that the C compiler keeps
 * in registers (voxel loops fully unrolled, channel-lane loops vectorised):
 *
 *   for mb, n, od, oh (parallel):  [tap ranges along D and H]
 *     for each W block (ow0, nv voxels):
 *       acc[nv][MB] = 0
 *       for kd, kh in range, kw:  for c:  for v (unrolled):
 *         xv = X[n, od*s-p+kd*d, oh*s-p+kh*d, (ow0+v)*s-p+kw*d, c]
 *         acc[v][:] += xv * Wp[mb][kd][kh][kw][c][:]       (vector lanes)
 *       Y[n, od, oh, ow0+v, mb*MB + :] = acc[v][:] + B[...]
 *
 * Weights are packed at compile time as Wp[M/MB][KD][KH][KW][C][MB] (the
 * order the inner loop streams them; channels past M are zero). Blocks
 * whose voxels all see every W tap run in a loop; the blocks at the row's
 * borders are emitted one by one with their constant start, so each W tap
 * is unrolled with the exact (constant) range of voxels it reaches: no
 * branches in any hot loop. D and H taps are clamped per output row. A
 * 1x1x1 convolution without padding or stride is one GEMM over all voxels
 * (one long row). */

typedef struct tile {
    int lanes, MB, WB;
    int64_t nmb; /* channel blocks */
} tile;

/* Register tile for `cols` output channels, rows of at most wmax voxels
 * (0: unbounded), `kbytes` bytes of packed weights per output channel. */
static tile pick_tile(const urc_target *tg, int64_t cols, int64_t wmax, int64_t kbytes) {
    tile t;
    int regs = tg->vector_bits >= 512 ? 32 : 16; /* x86: zmm0-31 with AVX-512, else 16 */
    t.lanes = tg->vector_bits / 32 < 4 ? 4 : tg->vector_bits / 32;
    int64_t mv = (cols + t.lanes - 1) / t.lanes;
    int mult = 1;
    for (int m = regs >= 32 ? 4 : 2; m > 1; m--)
        /* a channel block's weights should stay in (half) the L2 across a row */
        if (mv % m == 0 && (int64_t)m * t.lanes * kbytes <= tg->l2_bytes / 2) {
            mult = m;
            break;
        }
    t.MB = mult * t.lanes;
    t.nmb = (cols + t.MB - 1) / t.MB;
    t.WB = (regs - mult - 2) / mult;
    if (t.WB > 12) t.WB = 12;
    if (t.WB < 1) t.WB = 1;
    if (wmax > 0 && t.WB > wmax) t.WB = (int)wmax;
    return t;
}

static int64_t floordiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* One direct convolution being lowered. Axis 2 is W. */
typedef struct dconv {
    urc_lower *L;
    urc_kernel *k;
    const urc_node *n;
    int bw, by, bb; /* bb: packed bias or -1 */
    int nx;         /* X parts (channel concatenation): buffers bxs, channels cx */
    int bxs[URC_CONV_MAX_PARTS];
    int64_t cx[URC_CONV_MAX_PARTS];
    int br;     /* unetrc.FusedConv's residual or -1 */
    bool wrt;   /* W read as it is at run time (w_last), not packed; */
    int64_t wc; /* then W elements between input channels (Conv: M) */
    int64_t N, C, M;
    int64_t in[3], out[3], K[3], s[3], d[3], pb[3];
    tile t;
    /* output voxel o (the loops' index, [0, out)) lands at Y position o*os + oo
     * of Y's spatial dims yd (ConvTranspose residue classes; conv: 1, 0, out) */
    int64_t os[3], oo[3], yd[3];
} dconv;

static urc_lx *ivar(urc_kernel *k, urc_ls **body, const char *name, urc_lx *lo, urc_lx *hi, int64_t step,
                    unsigned flags) {
    int v = urc_kernel_var(k, name, URC_DT_I64);
    *body = urc_ls_for(*body, v, lo, hi, step, flags);
    return urc_lx_var(k, v);
}

/* Taps of axis a (0 or 1) at output o: [*lo, *hi), locals only where a window crosses a border. */
static void dc_taps(dconv *c, urc_ls *body, int a, urc_lx *o, urc_lx **lo, urc_lx **hi) {
    int64_t s = c->s[a], d = c->d[a], pb = c->pb[a], K = c->K[a], in = c->in[a];
    urc_lx *os = urc_muli(o, s);
    *lo = urc_sp_i(0);
    *hi = urc_sp_i(K);
    if (pb > 0)
        *lo = urc_sp_let(c->k, body, nm("klo", a),
                         urc_sp_max(urc_sp_i(0), urc_sp_div(urc_sub(urc_sp_i(pb + d - 1), os), d)));
    if ((c->out[a] - 1) * s - pb + (K - 1) * d >= in)
        *hi = urc_sp_let(c->k, body, nm("khi", a),
                         urc_sp_min(urc_sp_i(K), urc_sp_div(urc_sub(urc_sp_i(in + pb + d - 1), os), d)));
}

static urc_lx *tap_loop(urc_kernel *k, urc_ls **body, const char *name, urc_lx *lo, urc_lx *hi) {
    if (lo->kind == URC_LX_INT && hi->kind == URC_LX_INT && hi->i - lo->i == 1) return lo;
    return ivar(k, body, name, lo, hi, 1, 0);
}

/* acc[v][:] += X[xb + v*vstride + c] * Wp[wb + c*MB + :] over c, v in [vlo, vhi). */
/* acc[v][:] += X[vox + v*vstride, c] * Wp[wb + c*MB + :] for the channels c
 * of every X part and v in [vlo, vhi) (vox: the voxel of v = 0). */
static void dc_fma(dconv *c, urc_ls *body, int acc, urc_lx *vox, int64_t vstride, urc_lx *wb, int vlo, int vhi) {
    urc_kernel *k = c->k;
    int MB = c->t.MB;
    int64_t c0 = 0;
    for (int p = 0; p < c->nx; p++) {
        int64_t Cp = c->cx[p];
        urc_lx *xb = urc_sp_let(k, body, "xb", urc_muli(vox, Cp));
        urc_ls *in = body;
        urc_lx *cc = urc_sp_dim_loop(k, &in, "c", Cp, NULL);
        urc_lx *v = ivar(k, &in, "v", urc_sp_i(vlo), urc_sp_i(vhi), 1, URC_FOR_UNROLL);
        int xv = urc_kernel_var(k, "xv", URC_DT_F32);
        urc_ls_decl(in, xv, urc_lx_load(k, c->bxs[p], urc_add(urc_add(xb, urc_muli(v, vstride * Cp)), cc)));
        urc_lx *l = ivar(k, &in, "l", urc_sp_i(0), urc_sp_i(MB), 1, URC_FOR_VECTOR);
        urc_lx *w = urc_lx_load(k, c->bw, urc_add(urc_add(wb, urc_muli(urc_addi(cc, c0), c->wrt ? c->wc : MB)), l));
        urc_lx *ai = urc_add(urc_muli(v, MB), l);
        urc_ls_store(in, acc, ai, urc_lx_fma(urc_lx_var(k, xv), w, urc_lx_load(k, acc, ai)));
        c0 += Cp;
    }
}

/* A block statement with acc[nv][MB] = Bp[col0 + l] (the packed bias, bb)
 * or 0; returns the block, *acc the array. */
static urc_ls *acc_block(urc_kernel *k, urc_ls *parent, int nv, int MB, int *acc, int bb, urc_lx *col0) {
    urc_ls *blk = urc_ls_block();
    urc_ls_push(parent, blk);
    *acc = urc_kernel_local(k, "acc", URC_DT_F32, (int64_t)nv * MB);
    urc_ls_array(blk, k, *acc);
    urc_ls *in = blk;
    urc_lx *v = ivar(k, &in, "v", urc_sp_i(0), urc_sp_i(nv), 1, URC_FOR_UNROLL);
    urc_lx *l = ivar(k, &in, "l", urc_sp_i(0), urc_sp_i(MB), 1, URC_FOR_VECTOR);
    urc_lx *init = bb >= 0 ? urc_lx_load(k, bb, urc_add(col0, l)) : urc_lx_flt(0, URC_DT_F32);
    urc_ls_store(in, *acc, urc_add(urc_muli(v, MB), l), init);
    return blk;
}

/* Y[ybase(v) + col0 + l] = acc[v][l] + bias for v < nv, l < valid, where
 * ybase(v) = yb + v*vstride. bcol: the bias element of lane l given l. */
static void acc_store(dconv *c, urc_ls *blk, int acc, int nv, urc_lx *nn, urc_lx *y0, int64_t vstride, urc_lx *col0,
                      urc_lx *valid, urc_lx *(*bcol)(dconv *, urc_lx *, urc_lx *), urc_lx *bctx) {
    urc_kernel *k = c->k;
    const urc_conv_attr *at = &c->n->a.conv;
    urc_ls *in = blk;
    urc_lx *v, *l, *idx;
    int64_t Sv = c->yd[0] * c->yd[1] * c->yd[2];
    if (!at->y_channels_first) { /* Y[(n*Sv + y0 + v*vstride)*M + col0 + l]: lanes contiguous */
        v = ivar(k, &in, "v", urc_sp_i(0), urc_sp_i(nv), 1, URC_FOR_UNROLL);
        l = ivar(k, &in, "l", urc_sp_i(0), valid, 1, URC_FOR_VECTOR);
        idx = urc_add(urc_add(urc_muli(urc_add(urc_add(urc_muli(nn, Sv), y0), urc_muli(v, vstride)), c->M), col0), l);
    } else { /* Y[(n*M + col0 + l)*Sv + y0 + v*vstride]: voxels contiguous */
        l = ivar(k, &in, "l", urc_sp_i(0), valid, 1, 0);
        v = ivar(k, &in, "v", urc_sp_i(0), urc_sp_i(nv), 1, URC_FOR_VECTOR);
        idx = urc_add(urc_add(urc_muli(urc_add(urc_add(urc_muli(nn, c->M), col0), l), Sv), y0), urc_muli(v, vstride));
    }
    urc_lx *val = urc_lx_load(k, acc, urc_add(urc_muli(v, c->t.MB), l));
    urc_lx *b = bcol ? bcol(c, bctx, l) : NULL;
    if (b) val = urc_lx_bin(URC_L_ADD, val, b);
    val = urc_conv_act(k, in, at, val);
    if (c->br >= 0) val = urc_lx_bin(URC_L_ADD, val, urc_lx_load(k, c->br, idx));
    urc_ls_store(in, c->by, idx, val);
}

/* Conv bias of output channel mb*MB + l, added at the store when it is
 * not a packed constant (which initialises the accumulators instead). */
static urc_lx *conv_bcol(dconv *c, urc_lx *mb, urc_lx *l) {
    const urc_value *B = bias(c->n);
    if (!B || c->bb >= 0) return NULL;
    return urc_lower_load(c->L, c->k, B, urc_add(urc_muli(mb, c->t.MB), l));
}

/* One block of nv output voxels starting at ow0 (the constant ow0c >= 0 for
 * border blocks, else -1: every W tap reaches every voxel). */
static void dc_block(dconv *c, urc_ls *parent, urc_lx *mb, urc_lx *nn, urc_lx *od, urc_lx *oh, urc_lx *const *klo,
                     urc_lx *const *khi, urc_lx *yrow, urc_lx *ow0, int64_t ow0c, int nv, urc_lx *valid) {
    urc_kernel *k = c->k;
    int MB = c->t.MB, acc;
    urc_ls *blk = acc_block(k, parent, nv, MB, &acc, c->bb, urc_muli(mb, MB)), *tb = blk;
    urc_lx *kd = tap_loop(k, &tb, "kd", klo[0], khi[0]);
    urc_lx *kh = tap_loop(k, &tb, "kh", klo[1], khi[1]);
    urc_lx *id = urc_addi(urc_add(urc_muli(od, c->s[0]), urc_muli(kd, c->d[0])), -c->pb[0]);
    urc_lx *ih = urc_addi(urc_add(urc_muli(oh, c->s[1]), urc_muli(kh, c->d[1])), -c->pb[1]);
    urc_lx *xr = urc_muli(urc_add(urc_muli(urc_add(urc_muli(nn, c->in[0]), id), c->in[1]), ih), c->in[2]);
    /* packed: Wp[mb][t][c][:] at (mb*T + t)*C*MB; at run time: W[t][c][mb*MB + :] at t*C*M + mb*MB */
    urc_lx *tap0 = urc_muli(c->wrt ? kd : urc_add(urc_muli(mb, c->K[0]), kd), c->K[1]);
    tap0 = urc_sp_let(k, tb, "t0", urc_muli(urc_add(tap0, kh), c->K[2]));
    int64_t wt = c->C * (c->wrt ? c->wc : MB); /* W elements per tap */
    urc_lx *wmb = c->wrt ? urc_muli(mb, MB) : urc_sp_i(0);
    xr = urc_sp_let(k, tb, "xr", xr);
    int64_t sw = c->s[2], dw = c->d[2], pw = c->pb[2], IW = c->in[2];
    if (ow0c < 0) {
        urc_ls *kb = tb;
        urc_lx *kw = tap_loop(k, &kb, "kw", urc_sp_i(0), urc_sp_i(c->K[2]));
        urc_lx *vox = urc_add(xr, urc_addi(urc_add(urc_muli(ow0, sw), urc_muli(kw, dw)), -pw));
        urc_lx *wb = urc_sp_let(k, kb, "wb", urc_add(urc_muli(urc_add(tap0, kw), wt), wmb));
        dc_fma(c, kb, acc, vox, sw, wb, 0, nv);
    } else {
        for (int64_t kw = 0; kw < c->K[2]; kw++) {
            /* voxels ow with 0 <= ow*s - p + kw*d < IW */
            int64_t lo = -floordiv(-(pw - kw * dw), sw), hi = floordiv(IW - 1 + pw - kw * dw, sw) + 1;
            int vlo = (int)(lo - ow0c > 0 ? lo - ow0c : 0), vhi = (int)(hi - ow0c < nv ? hi - ow0c : nv);
            if (vlo >= vhi) continue;
            urc_lx *vox = urc_add(xr, urc_sp_i(ow0c * sw + kw * dw - pw));
            urc_lx *wb = urc_sp_let(k, tb, "wb", urc_add(urc_muli(urc_addi(tap0, kw), wt), wmb));
            dc_fma(c, tb, acc, vox, sw, wb, vlo, vhi);
        }
    }
    urc_lx *y0 = urc_add(yrow, urc_addi(urc_muli(ow0, c->os[2]), c->oo[2]));
    acc_store(c, blk, acc, nv, nn, y0, c->os[2], urc_muli(mb, MB), valid, conv_bcol, mb);
}

/* Packs a constant bias (more than one element) as Bp[j] = B[j % M] for
 * the cols = nmb*MB accumulator columns that exist (zero past ncols);
 * returns its buffer or -1. */
static int pack_bias(dconv *c, int64_t ncols) {
    const urc_value *B = bias(c->n);
    if (!B || !B->data || urc_shape_numel(&B->shape) <= 1) return -1;
    int64_t cols = c->t.nmb * c->t.MB;
    float *bp = urc_xmalloc((size_t)cols * sizeof(float));
    for (int64_t j = 0; j < cols; j++) bp[j] = j < ncols ? (float)urc_elem_f64(B->dtype, B->data, j % c->M) : 0.0f;
    int b = urc_lower_const(c->L, c->k, "bpack", URC_DT_F32, cols, bp);
    free(bp);
    return b;
}

/* Output channels of block mb that exist: MB, or fewer in a last partial block. */
static urc_lx *valid_cols(int64_t cols, int MB, int64_t nmb, urc_lx *mb) {
    if (cols % MB == 0) return urc_sp_i(MB);
    if (nmb == 1) return urc_sp_i(cols);
    return urc_sp_min(urc_sp_i(MB), urc_sub(urc_sp_i(cols), urc_muli(mb, MB)));
}

/* The direct convolution of node n with its spatial axes mapped to D, H, W
 * (axis 2 innermost); the output map is the identity. */
static dconv dc_setup(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g) {
    dconv c = {L,         k,         n,         0,    0,         -1,        1,         {0},       {g->C},
               -1,        false,     g->M,      g->N, g->C,      g->M,      {1, 1, 1}, {1, 1, 1}, {1, 1, 1},
               {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0},  {1, 1, 1}, {0, 0, 0}, {1, 1, 1}};
    for (int a = 0; a < g->nsp; a++) {
        int b = 3 - g->nsp + a;
        c.in[b] = g->in[a];
        c.out[b] = c.yd[b] = g->out[a];
        c.K[b] = g->K[a];
        c.s[b] = g->s[a];
        c.d[b] = g->d[a];
        c.pb[b] = g->pb[a];
    }
    return c;
}

/* The W blocks [j0, j1) of WB voxels whose voxels all see every W tap
 * (the loop); the others are emitted one by one. */
static void w_blocks(const dconv *c, int64_t *j0, int64_t *j1) {
    int64_t OW = c->out[2], WB = c->t.WB, nfull = OW / WB, sw = c->s[2], dw = c->d[2], pw = c->pb[2];
    int64_t wl = -floordiv(-pw, sw), wr = floordiv(c->in[2] - 1 + pw - (c->K[2] - 1) * dw, sw) + 1;
    if (wl < 0) wl = 0;
    if (wr > OW) wr = OW;
    *j0 = (wl + WB - 1) / WB;
    *j1 = wr >= 0 ? wr / WB : 0;
    if (*j1 > nfull) *j1 = nfull;
    if (*j1 < *j0) *j1 = *j0;
}

/* Channel loops the kernel of c would emit (border blocks unroll the W
 * taps): keeps the generated code bounded for huge kernels or paddings. */
#define DC_MAX_LOOPS 1024
static int64_t dc_loops(const dconv *c, bool gemm) {
    int64_t WB = c->t.WB, nfull = c->out[2] / WB, R = c->out[2] % WB, j0, j1;
    if (gemm) return (2 + (R > 0)) * c->nx;
    w_blocks(c, &j0, &j1);
    int64_t special = (j0 < nfull ? j0 : nfull) + (nfull - (j1 > j0 ? j1 : j0)) + (R > 0);
    return (special * c->K[2] + (j1 > j0)) * c->nx;
}

/* What dc_emit's body depends on besides the bound buffers: c's geometry,
 * tile and buffer indices, the node's epilogue and its bias (a literal when
 * it has one element). Returns the key's length. */
#define DC_KEY_MAX (64 + 2 * URC_CONV_MAX_PARTS)
static int dc_key(const dconv *c, bool gemm, int64_t *key) {
    const urc_conv_attr *at = &c->n->a.conv;
    const urc_value *B = bias(c->n);
    int n = 0;
    int64_t bits;
    key[n++] = gemm;
    key[n++] = c->bw, key[n++] = c->by, key[n++] = c->bb, key[n++] = c->br, key[n++] = c->nx;
    for (int p = 0; p < c->nx; p++) key[n++] = c->bxs[p], key[n++] = c->cx[p];
    key[n++] = c->wrt, key[n++] = c->wc, key[n++] = c->N, key[n++] = c->C, key[n++] = c->M;
    for (int a = 0; a < 3; a++) {
        const int64_t v[9] = {c->in[a], c->out[a], c->K[a], c->s[a], c->d[a], c->pb[a], c->os[a], c->oo[a], c->yd[a]};
        for (int i = 0; i < 9; i++) key[n++] = v[i];
    }
    key[n++] = c->t.lanes, key[n++] = c->t.MB, key[n++] = c->t.WB, key[n++] = c->t.nmb;
    memcpy(&bits, &at->act_alpha, sizeof bits);
    key[n++] = at->act, key[n++] = bits, key[n++] = at->y_channels_first;
    key[n++] = B ? (int64_t)B->dtype : -1;
    key[n++] = B && B->data ? urc_shape_numel(&B->shape) : -1;
    if (B && B->data && urc_shape_numel(&B->shape) == 1) { /* inlined as a literal */
        double b = urc_elem_f64(B->dtype, B->data, 0);
        memcpy(&bits, &b, sizeof bits);
        key[n++] = bits;
    }
    return n;
}

/* Emits the loop nests of direct convolution c (buffers bound, weights
 * packed), or shares the body of an earlier convolution with the same key.
 * gemm: one row of in[2] voxels without taps, split among threads. */
static void dc_emit(dconv *cp, bool gemm);
static void dc_emit_shared(dconv *cp, bool gemm) {
    const urc_value *B = bias(cp->n);
    if (B && cp->bb < 0 && !(B->data && urc_shape_numel(&B->shape) == 1))
        urc_lower_in(cp->L, cp->k, B, "c"); /* bound now, as the body would (same name), so the key covers it */
    int64_t key[DC_KEY_MAX];
    if (urc_lower_reuse(cp->L, cp->k, cp->n, key, dc_key(cp, gemm, key))) return;
    dc_emit(cp, gemm);
    urc_lower_remember(cp->L, cp->k);
}

static void dc_emit(dconv *cp, bool gemm) {
    dconv c = *cp;
    urc_kernel *k = c.k;
    int MB = c.t.MB, WB = c.t.WB;
    int64_t nmb = c.t.nmb;
    urc_lx *zero = urc_sp_i(0), *none[2] = {zero, zero}, *one[2] = {urc_sp_i(1), urc_sp_i(1)};
    int64_t OW = c.out[2], nfull = OW / WB, R = OW % WB;
    if (gemm) {
        urc_ls *body = k->body, *par = NULL;
        urc_lx *j = urc_sp_dim_loop(k, &body, "j", nfull, &par);
        urc_lx *mb = urc_sp_dim_loop(k, &body, "mb", nmb, NULL);
        if (nfull)
            dc_block(&c, body, mb, zero, zero, zero, none, one, zero, urc_muli(j, WB), -1, WB,
                     valid_cols(c.M, MB, nmb, mb));
        if (R) {
            urc_ls *rb = k->body;
            urc_lx *mb2 = urc_sp_dim_loop(k, &rb, "mb", nmb, NULL);
            dc_block(&c, rb, mb2, zero, zero, zero, none, one, zero, urc_sp_i(nfull * WB), nfull * WB, (int)R,
                     valid_cols(c.M, MB, nmb, mb2));
        }
        return;
    }
    urc_ls *body = k->body, *par = NULL;
    urc_lx *mb = urc_sp_dim_loop(k, &body, "mb", nmb, &par);
    urc_lx *nn = urc_sp_dim_loop(k, &body, "n", c.N, &par);
    urc_lx *od = urc_sp_dim_loop(k, &body, "od", c.out[0], &par);
    urc_lx *oh = urc_sp_dim_loop(k, &body, "oh", c.out[1], &par);
    urc_lx *klo[2], *khi[2];
    dc_taps(&c, body, 0, od, &klo[0], &khi[0]);
    dc_taps(&c, body, 1, oh, &klo[1], &khi[1]);
    urc_lx *yd = urc_addi(urc_muli(od, c.os[0]), c.oo[0]), *yh = urc_addi(urc_muli(oh, c.os[1]), c.oo[1]);
    urc_lx *yrow =
        urc_sp_let(k, body, "yrow", urc_muli(urc_add(urc_muli(yd, c.yd[1]), yh), c.yd[2])); /* within the sample */
    urc_lx *valid = valid_cols(c.M, MB, nmb, mb);
    int64_t j0, j1;
    w_blocks(&c, &j0, &j1);
    for (int64_t j = 0; j < j0 && j < nfull; j++)
        dc_block(&c, body, mb, nn, od, oh, klo, khi, yrow, urc_sp_i(j * WB), j * WB, WB, valid);
    if (j1 > j0) {
        urc_ls *lb = body;
        urc_lx *ow0 = ivar(k, &lb, "ow0", urc_sp_i(j0 * WB), urc_sp_i(j1 * WB), WB, 0);
        dc_block(&c, lb, mb, nn, od, oh, klo, khi, yrow, ow0, -1, WB, valid);
    }
    for (int64_t j = j1 > j0 ? j1 : j0; j < nfull; j++)
        dc_block(&c, body, mb, nn, od, oh, klo, khi, yrow, urc_sp_i(j * WB), j * WB, WB, valid);
    if (R) dc_block(&c, body, mb, nn, od, oh, klo, khi, yrow, urc_sp_i(nfull * WB), nfull * WB, (int)R, valid);
}

/* 3x3x3 or 3x3, stride 1, undilated, constant W, Y channels-last:
 * Winograd's F(2x2x2, 3x3x3) or F(2x2, 3x3) (conv_wino.c) unless
 * UNETRC_CONV=direct. */
static bool wino_fits(const urc_node *n, const geo *g) {
    const char *e = getenv("UNETRC_CONV");
    if (e && !strcmp(e, "direct")) return false;
    bool ok = (g->nsp == 3 || g->nsp == 2) && n->in[1]->data && !n->a.conv.y_channels_first;
    for (int a = 0; a < g->nsp && ok; a++) ok = g->K[a] == 3 && g->s[a] == 1 && g->d[a] == 1;
    return ok;
}

static bool try_winograd(urc_lower *L, urc_kernel *k, const urc_node *n, const dconv *d, int nsp) {
    urc_wino_conv w = {n,   nsp,       d->N, d->C,     d->M,    {0},         {0},
                       {0}, nparts(n), {0},  n->in[1], bias(n), residual(n), n->out[0]};
    for (int a = 0; a < 3; a++) w.in[a] = d->in[a], w.out[a] = d->out[a], w.pb[a] = d->pb[a];
    for (int p = 0; p < w.nx; p++) w.x[p] = xpart(n, p);
    return urc_conv_winograd(L, k, &w);
}

static bool lower_conv_cl(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g) {
    const urc_value *W = n->in[1], *Y = n->out[0];
    dconv c = dc_setup(L, k, n, g);
    bool gemm = true;
    for (int a = 0; a < g->nsp; a++)
        gemm = gemm && g->K[a] == 1 && g->s[a] == 1 && g->pb[a] == 0 && g->out[a] == g->in[a];
    gemm = gemm && (!n->a.conv.y_channels_first || c.N == 1); /* the samples are one row */
    if (!gemm && wino_fits(n, g) && try_winograd(L, k, n, &c, g->nsp)) return true;
    if (gemm) { /* [N*S, C] x [C, M]: one row of every voxel */
        urc_shape xs = x_shape(n);
        int64_t V = urc_shape_numel(&xs) / c.C;
        for (int a = 0; a < 3; a++) c.in[a] = c.out[a] = c.yd[a] = 1;
        c.in[2] = c.out[2] = c.yd[2] = V;
        c.N = 1;
    }
    int64_t T = c.K[0] * c.K[1] * c.K[2];
    c.t = pick_tile(L->target, c.M, gemm ? 0 : c.out[2], T * c.C * 4);
    c.nx = nparts(n);
    c.wrt = !W->data;
    /* run-time W [K..., C, M]: every channel block must be whole (no lanes past M) */
    if (c.wrt && (!n->a.conv.w_last || c.M % c.t.MB)) return false;
    if (dc_loops(&c, gemm) > DC_MAX_LOOPS) return false; /* nothing emitted yet: the naive twin instead */
    int MB = c.t.MB;
    int64_t nmb = c.t.nmb;
    for (int p = 0; p < c.nx; p++) {
        const urc_value *xp = xpart(n, p);
        c.bxs[p] = urc_lower_in(L, k, xp, "x");
        c.cx[p] = xp->shape.dims[xp->shape.rank - 1];
    }
    if (c.wrt) {
        c.bw = urc_lower_in(L, k, W, "w");
    } else {
        /* Wp[mb][t][c][l] = W[mb*MB + l][c][t] (zero past M) */
        float *wp = urc_xmalloc((size_t)(nmb * T * c.C * MB) * sizeof(float));
        const float *w = W->data;
        for (int64_t mb = 0; mb < nmb; mb++)
            for (int64_t t = 0; t < T; t++)
                for (int64_t ci = 0; ci < c.C; ci++)
                    for (int l = 0; l < MB; l++) {
                        int64_t m = mb * MB + l;
                        wp[((mb * T + t) * c.C + ci) * MB + l] = m < c.M ? w[(m * c.C + ci) * T + t] : 0.0f;
                    }
        c.bw = urc_lower_const(L, k, "wpack", URC_DT_F32, nmb * T * c.C * MB, wp);
        free(wp);
    }
    c.bb = pack_bias(&c, c.M);
    c.by = urc_lower_out(L, k, Y, "y");
    if (residual(n)) c.br = urc_lower_in(L, k, residual(n), "r");
    dc_emit_shared(&c, gemm); /* the whole kernel: its body may be shared */
    return true;
}

/* ConvTranspose without dilation, any kernel, stride and padding, by
 * residue classes: output o (per axis q = o + pb) receives input i through
 * tap k = q - i*s, so the outputs with q = Q*s + r (r in [0, s)) see only
 * the taps k = t*s + r, t in [0, T_r), T_r = ceil((K - r) / s), from inputs
 * i = Q - t. Each class is an ordinary stride-1 convolution over X with the
 * flipped sub-kernel W[c, m, (T_r - 1 - u)*s + r] (tap u reads input
 * Q - (T_r - 1) + u: padding T_r - 1 - Q0 for the class's first Q0) whose
 * results go to every s-th output: the direct kernel above with an output
 * map o = Q*s + r - pb. Classes without taps (r >= K) get the bias. */
static bool lower_convt_classes(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g) {
    const urc_value *X = n->in[0], *W = n->in[1], *Y = n->out[0], *B = bias(n);
    dconv base = dc_setup(L, k, n, g);
    int64_t C = base.C, M = base.M, Tmax = 1;
    int64_t KK[3], S[3], PB[3], OUT[3];
    for (int a = 0; a < 3; a++) {
        KK[a] = base.K[a];
        S[a] = base.s[a];
        PB[a] = base.pb[a];
        OUT[a] = base.out[a];
        Tmax *= (KK[a] + S[a] - 1) / S[a];
    }
    base.t = pick_tile(L->target, M, 0, Tmax * C * 4);
    int MB = base.t.MB;
    int64_t nmb = base.t.nmb, loops = 0;
    const float *w = W->data;
    /* pass 0 sizes the code (nothing emitted: the naive twin if too big), pass 1 emits */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            if (loops > DC_MAX_LOOPS) return false;
            base.bxs[0] = urc_lower_in(L, k, X, "x");
            base.bb = pack_bias(&base, M);
            base.by = urc_lower_out(L, k, Y, "y");
        }
        for (int64_t rd = 0; rd < S[0]; rd++)
            for (int64_t rh = 0; rh < S[1]; rh++)
                for (int64_t rw = 0; rw < S[2]; rw++) {
                    int64_t r[3] = {rd, rh, rw}, T[3], Q0[3], NQ[3];
                    bool empty = false, notaps = false;
                    for (int a = 0; a < 3; a++) {
                        T[a] = r[a] < KK[a] ? (KK[a] - r[a] + S[a] - 1) / S[a] : 0;
                        Q0[a] = -floordiv(-(PB[a] - r[a]), S[a]);
                        NQ[a] = floordiv(OUT[a] - 1 + PB[a] - r[a], S[a]) - Q0[a] + 1;
                        empty = empty || NQ[a] <= 0;
                        notaps = notaps || T[a] == 0;
                    }
                    if (empty) continue;
                    dconv c = base;
                    for (int a = 0; a < 3; a++) {
                        c.out[a] = NQ[a];
                        c.K[a] = T[a];
                        c.s[a] = c.d[a] = 1;
                        c.pb[a] = T[a] - 1 - Q0[a];
                        c.os[a] = S[a];
                        c.oo[a] = Q0[a] * S[a] + r[a] - PB[a];
                        c.yd[a] = OUT[a];
                    }
                    if (notaps && pass == 0) {
                        loops++;
                        continue;
                    }
                    if (notaps) { /* Y[n, o, m] = B[m] | 0 */
                        urc_ls *body = k->body, *par = NULL;
                        urc_lx *nn = urc_sp_dim_loop(k, &body, "n", c.N, &par), *q[3];
                        urc_lx *yi = nn;
                        for (int a = 0; a < 3; a++) {
                            q[a] = urc_sp_dim_loop(k, &body, nm("q", a), NQ[a], &par);
                            yi = urc_addi(urc_add(urc_muli(yi, OUT[a]), urc_muli(q[a], S[a])), c.oo[a]);
                        }
                        urc_lx *m = ivar(k, &body, "m", urc_sp_i(0), urc_sp_i(M), 1, URC_FOR_VECTOR);
                        urc_lx *bv = B ? urc_lower_load(L, k, B, m) : urc_lx_flt(0, URC_DT_F32);
                        urc_ls_store(body, c.by, urc_add(urc_muli(yi, M), m), bv);
                        continue;
                    }
                    int64_t TT = T[0] * T[1] * T[2];
                    c.t.WB = c.t.WB > NQ[2] ? (int)NQ[2] : c.t.WB;
                    if (pass == 0) {
                        loops += dc_loops(&c, false);
                        continue;
                    }
                    /* Wp[mb][u][c][l] = W[c, mb*MB + l, (T-1-u)*s + r per axis] */
                    float *wp = urc_xmalloc((size_t)(nmb * TT * C * MB) * sizeof(float));
                    for (int64_t mb = 0; mb < nmb; mb++)
                        for (int64_t u = 0; u < TT; u++) {
                            int64_t ua[3] = {u / (T[1] * T[2]), u / T[2] % T[1], u % T[2]}, kf = 0;
                            for (int a = 0; a < 3; a++) kf = kf * KK[a] + (T[a] - 1 - ua[a]) * S[a] + r[a];
                            for (int64_t ci = 0; ci < C; ci++)
                                for (int l = 0; l < MB; l++) {
                                    int64_t m = mb * MB + l;
                                    wp[((mb * TT + u) * C + ci) * MB + l] =
                                        m < M ? w[(ci * M + m) * KK[0] * KK[1] * KK[2] + kf] : 0.0f;
                                }
                        }
                    c.bw = urc_lower_const(L, k, "wpack", URC_DT_F32, nmb * TT * C * MB, wp);
                    free(wp);
                    dc_emit(&c, false);
                }
    }
    return true;
}

/* ConvTranspose with kernel = stride, no padding, no dilation (UNETR and
 * BasicUNet upsampling): every input voxel writes its own K^3 block of
 * outputs, one tap each. Per input row (n, id, ih) and taps (kd, kh), the
 * W taps and output channels form one column index j = kw*M + m, so the
 * row is a GEMM [IW x C] x [C x KW*M] whose result rows are contiguous in Y:
 *
 *   for jb, n, id, ih (parallel):  for kd, kh:  for each block of WB input voxels:
 *     acc[v][:] = sum_c X[n, id, ih, iw0+v, c] * Wp[jb][kd][kh][c][:]
 *     Y[n, id*KD+kd, ih*KH+kh, (iw0+v)*KW, jb*MB + :] = acc[v][:] + Bp[jb*MB + :]
 *
 * Wp[J/MB][KD][KH][C][MB] holds W[c, m, kd, kh, kw] at column kw*M + m and
 * Bp the bias repeated per kw (both packed at compile time). */
static bool convt_direct(const geo *g) {
    for (int a = 0; a < g->nsp; a++)
        if (g->K[a] != g->s[a] || (g->d[a] != 1 && g->K[a] > 1) || g->pb[a] != 0 || g->out[a] != g->in[a] * g->s[a])
            return false;
    return true;
}

static urc_lx *convt_bcol(dconv *c, urc_lx *jb, urc_lx *l) {
    const urc_value *B = bias(c->n);
    if (!B || c->bb >= 0) return NULL;
    urc_lx *j = urc_add(urc_muli(jb, c->t.MB), l);
    return urc_lower_load(c->L, c->k, B, urc_lx_bin(URC_L_REM, j, urc_sp_i(c->M)));
}

static bool lower_convt_cl(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g) {
    const urc_value *X = n->in[0], *W = n->in[1], *Y = n->out[0];
    dconv c = dc_setup(L, k, n, g);
    int64_t KD = c.K[0], KH = c.K[1], KW = c.K[2], J = KW * c.M, C = c.C, M = c.M;
    c.t = pick_tile(L->target, J, c.in[2], KD * KH * C * 4);
    int MB = c.t.MB, WB = c.t.WB;
    int64_t nmb = c.t.nmb;
    /* run-time W [KD, KH, C, KW, M] (w_last): row j = kw*M + m of tap (kd, kh)
     * and channel c at ((kd*KH + kh)*C + c)*J; whole channel blocks only */
    c.wrt = !W->data;
    if (c.wrt && (!n->a.conv.w_last || J % MB)) return false;
    c.bxs[0] = urc_lower_in(L, k, X, "x");
    if (c.wrt) {
        c.wc = J;
        c.bw = urc_lower_in(L, k, W, "w");
    } else {
        float *wp = urc_xmalloc((size_t)(nmb * KD * KH * C * MB) * sizeof(float));
        const float *w = W->data;
        for (int64_t jb = 0; jb < nmb; jb++)
            for (int64_t t = 0; t < KD * KH; t++)
                for (int64_t ci = 0; ci < C; ci++)
                    for (int l = 0; l < MB; l++) {
                        int64_t j = jb * MB + l, kw = j / M, m = j % M;
                        wp[((jb * KD * KH + t) * C + ci) * MB + l] =
                            j < J ? w[((ci * M + m) * KD * KH + t) * KW + kw] : 0.0f;
                    }
        c.bw = urc_lower_const(L, k, "wpack", URC_DT_F32, nmb * KD * KH * C * MB, wp);
        free(wp);
    }
    c.bb = pack_bias(&c, J);
    c.by = urc_lower_out(L, k, Y, "y");
    urc_ls *body = k->body, *par = NULL;
    urc_lx *jb = urc_sp_dim_loop(k, &body, "jb", nmb, &par);
    urc_lx *nn = urc_sp_dim_loop(k, &body, "n", c.N, &par);
    urc_lx *id = urc_sp_dim_loop(k, &body, "id", c.in[0], &par);
    urc_lx *ih = urc_sp_dim_loop(k, &body, "ih", c.in[1], &par);
    urc_lx *xr = urc_sp_let(k, body, "xr",
                            urc_muli(urc_add(urc_muli(urc_add(urc_muli(nn, c.in[0]), id), c.in[1]), ih), c.in[2]));
    urc_ls *tb = body;
    urc_lx *kd = tap_loop(k, &tb, "kd", urc_sp_i(0), urc_sp_i(KD));
    urc_lx *kh = tap_loop(k, &tb, "kh", urc_sp_i(0), urc_sp_i(KH));
    urc_lx *oy = urc_add(urc_muli(urc_add(urc_muli(nn, c.out[0]), urc_add(urc_muli(id, KD), kd)), c.out[1]),
                         urc_add(urc_muli(ih, KH), kh));
    urc_lx *yr = urc_sp_let(k, tb, "yr", urc_muli(oy, c.out[2]));
    urc_lx *wb =
        c.wrt ? urc_sp_let(k, tb, "wb", urc_add(urc_muli(urc_add(urc_muli(kd, KH), kh), C * J), urc_muli(jb, MB)))
              : urc_sp_let(k, tb, "wb", urc_muli(urc_add(urc_muli(urc_add(urc_muli(jb, KD), kd), KH), kh), C * MB));
    urc_lx *valid = valid_cols(J, MB, nmb, jb);
    int64_t IW = c.in[2], nfull = IW / WB, R = IW % WB;
    for (int part = 0; part < 2; part++) {
        int nv = part ? (int)R : WB;
        if (!nv || (!part && !nfull)) continue;
        urc_ls *lb = tb;
        urc_lx *iw0 = part         ? urc_sp_i(nfull * WB)
                      : nfull == 1 ? urc_sp_i(0)
                                   : ivar(k, &lb, "iw0", urc_sp_i(0), urc_sp_i(nfull * WB), WB, 0);
        int acc;
        urc_ls *blk = acc_block(k, lb, nv, MB, &acc, c.bb, urc_muli(jb, MB));
        dc_fma(&c, blk, acc, urc_add(xr, iw0), 1, wb, 0, nv);
        acc_store(&c, blk, acc, nv, urc_sp_i(0), urc_add(yr, urc_muli(iw0, KW)), KW, urc_muli(jb, MB), valid,
                  convt_bcol, jb);
    }
    return true;
}

static bool conv_lower(urc_lower *L, const urc_node *n) {
    geo g = geometry(n);
    urc_kernel *k = urc_lower_begin(L, n);
    bool fast =
        n->a.conv.channels_last && n->in[0]->dtype == URC_DT_F32 && g.G == 1 && (n->in[1]->data || n->a.conv.w_last);
    if (n->op == URC_OP_CONV_TRANSPOSE) {
        fast = fast && !n->a.conv.y_channels_first; /* not made by passes/fuse_conv.c */
        bool undilated = true;
        for (int a = 0; a < g.nsp; a++) undilated = undilated && (g.d[a] == 1 || g.K[a] == 1);
        if (fast && convt_direct(&g) && lower_convt_cl(L, k, n, &g)) return true;
        if (fast && undilated && n->in[1]->data && lower_convt_classes(L, k, n, &g)) return true;
        return lower_conv_transpose(L, k, n, &g);
    }
    if (fast && lower_conv_cl(L, k, n, &g)) return true;
    URC_ASSERT(nparts(n) == 1, "X parts only on the channels-last fast path (passes/fuse_conv.c checks)");
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
    if (a->channels_last) urc_sb_puts(sb, a->y_channels_first ? " channels_last(X)" : " channels_last");
    if (a->w_last) urc_sb_puts(sb, " w_last");
    if (a->act != URC_ACT_NONE) urc_act_print(sb, "act", (urc_act)a->act, a->act_alpha);
    if (residual(n)) urc_sb_puts(sb, " +residual");
}

const urc_op_impl urc_impl_conv = {conv_parse, conv_infer, conv_eval, conv_lower, conv_print, false};
