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
#include "conv_internal.h"
#include "quant.h"

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

/* A FusedConv normalising its X (attrs.h xn): one channels-last float32 part, the norm's statistics [N, P, 2, C]
 * float64, scale [C] and bias [C]. */
static bool check_xn(const urc_node *n) {
    const urc_conv_attr *a = &n->a.conv;
    if (!a->xn) return true;
    const urc_value *x = n->in[0], *st = n->nin == 14 + 3 * a->xc ? n->in[11] : NULL;
    int r = x->shape.rank;
    int64_t C = x->shape.dims[r - 1];
    bool ok = n->op == URC_OP_FUSED_CONV && st && a->nx <= 1 && a->channels_last && x->dtype == URC_DT_F32 &&
              a->xn_attr.base == URC_OP_INSTANCE_NORM && !a->xn_attr.residual && st->dtype == URC_DT_F64 &&
              st->shape.rank == 4 && st->shape.dims[0] == x->shape.dims[0] && st->shape.dims[2] == 2 &&
              st->shape.dims[3] == C;
    for (int i = 12; ok && i < 14; i++) ok = n->in[i] && urc_shape_numel(&n->in[i]->shape) == C;
    if (ok && a->xc) { /* (the image [N, S..., 1] float32 as X's positions, W [C, 1, xc_kernel...] constant) */
        const urc_value *im = n->in[14], *w = n->in[15], *b = n->in[16];
        ok = im && w && im->dtype == URC_DT_F32 && im->shape.rank == r && im->shape.dims[r - 1] == 1 && w->data &&
             w->dtype == URC_DT_F32 && w->shape.rank == r && w->shape.dims[0] == C && w->shape.dims[1] == 1 &&
             (!b || (b->data && urc_shape_numel(&b->shape) == C));
        for (int d = 0; ok && d < r - 1; d++) ok = im->shape.dims[d] == x->shape.dims[d];
        for (int d = 2; ok && d < r; d++) ok = w->shape.dims[d] == a->xc_kernel[d - 2] && a->xc_kernel[d - 2] % 2;
    }
    if (!ok) urc_error(urc_node_where(n), "internal: inconsistent normalisation of the convolution's X");
    return ok;
}

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
    if (!urc_check_rank(n, 0, 3, 2 + URC_MAX_SPATIAL) || !check_parts(n) || !check_xn(n)) return false;
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
    if (n->nout > 1 && n->out[1]) { /* (the norm statistics: stat_parts) */
        if (a->stat_parts < 1 || tr || !y_last(n)) {
            urc_error(where, "internal: statistics (stat_parts %lld) of a ConvTranspose or a channels-first output",
                      (long long)a->stat_parts);
            return false;
        }
        urc_shape ss = {4, {ys.dims[0], a->stat_parts, 2, ys.dims[ys.rank - 1]}};
        urc_set_out(n, 1, URC_DT_F64, &ss);
    }
    return true;
}

/* ---- geometry ------------------------------------------------------------------ */

geo urc_conv_geometry(const urc_node *n) {
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

/* The InstanceNorm a FusedConv applies to its channels-last X first (attrs.h xn): per sample and channel the mean
 * and variance from the statistics (every part's sums), then act((x - mean) / sqrt(var + eps) * scale + bias)
 * rounded to bf16 as the norm stored it. */
static void xn_ref(const urc_node *n, urc_tensor *const *in, double *x, const urc_shape *xs) {
    const urc_norm_attr *na = &n->a.conv.xn_attr;
    const double *st = in[11]->data;
    int64_t N = xs->dims[0], C = xs->dims[xs->rank - 1], S = urc_shape_numel(xs) / (N * C), P = in[11]->shape.dims[1];
    double *sc = urc_tensor_to_f64(in[12]), *bi = urc_tensor_to_f64(in[13]);
    for (int64_t nn = 0; nn < N; nn++)
        for (int64_t c = 0; c < C; c++) {
            double s = 0, q = 0;
            for (int64_t p = 0; p < P; p++)
                s += st[((nn * P + p) * 2) * C + c], q += st[((nn * P + p) * 2 + 1) * C + c];
            double mean = s / (double)S, var = q / (double)S - mean * mean;
            double a = sc[c] / sqrt((var > 0 ? var : 0) + na->epsilon);
            for (int64_t v = 0; v < S; v++) {
                double *e = &x[(nn * S + v) * C + c];
                double t = urc_act_ref(na->act, na->act_alpha, (*e - mean) * a + bi[c]);
                /* (int8: fake-quantised below, xq) */
                *e = n->a.conv.xq.scale > 0 ? (float)t : urc_bf16_to_f32(urc_f32_to_bf16((float)t));
            }
        }
    free(sc);
    free(bi);
}

static bool conv_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    geo g = urc_conv_geometry(n);
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
            /* (fake-quantised below, elementwise like the parts) */
            free(xp);
            c0 += Cp;
        }
        x = xs;
    }
    if (n->a.conv.xn) xn_ref(n, in, x, &xin);
    if (n->a.conv.xq.scale > 0) /* X's parts fake-quantised first (int8 on tiles: the folded FakeQuant) */
        for (int64_t i = 0, nx = urc_shape_numel(&xin); i < nx; i++) x[i] = urc_fake_quant((float)x[i], n->a.conv.xq);
    if (n->a.conv.fill_rounds) /* float32 parts rounded to bf16 by the tile kernel's fill (their Casts dropped) */
        for (int64_t i = 0, nx = urc_shape_numel(&xin); i < nx; i++)
            x[i] = urc_bf16_to_f32(urc_f32_to_bf16((float)x[i]));
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
    if (n->nout > 1 && out[1]) { /* the sums of Y as stored (float32) and of its squares, all in part 0 */
        urc_tensor *st = out[1];
        int64_t M = g.M, P = n->a.conv.stat_parts, S = ny / (g.N * M);
        memset(st->data, 0, (size_t)urc_tensor_numel(st) * sizeof(double));
        double *sd = st->data;
        for (int64_t nn = 0; nn < g.N; nn++)
            for (int64_t v = 0; v < S; v++)
                for (int64_t m = 0; m < M; m++) {
                    double f = urc_elem_f64(yt->dtype, yt->data, (nn * S + v) * M + m);
                    sd[(nn * P * 2 + 0) * M + m] += f;
                    sd[(nn * P * 2 + 1) * M + m] += f * f;
                }
    }
    free(x);
    free(w);
    free(b);
    free(y);
    return true;
}

/* ---- lowering ---------------------------------------------------------------------- */

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
    int bx = urc_lower_in(L, k, X, "x"), bw = urc_lower_win(L, k, n, W, "w"), by = urc_lower_out(L, k, Y, "y");
    int bs = urc_lower_wscale(L, k, n, g->M, g->M); /* int8: W[m, ...] * s[m] */
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
    /* (X in bfloat16: a Conv marked for pairs whose direct kernel would be too large, converted) */
    urc_lx *prod = urc_lx_bin(URC_L_MUL, urc_lx_cast(Y->dtype, urc_lx_load(k, bx, urc_sp_index(xi, &X->shape, cl))),
                              urc_lower_wscaled(k, urc_lower_wload(k, bw, urc_index(wi, &W->shape), W->dtype), bs, m));
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
    int bx = urc_lower_in(L, k, X, "x"), bw = urc_lower_win(L, k, n, W, "w"), by = urc_lower_out(L, k, Y, "y");
    int bs = urc_lower_wscale(L, k, n, g->M, g->M); /* int8: W[m, ...] * s[m] */
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
                              urc_lower_wscaled(k, urc_lower_wload(k, bw, urc_index(wi, &W->shape), W->dtype), bs, m));
    urc_ls_assign(in, acc, urc_lx_bin(URC_L_ADD, urc_lx_var(k, acc), prod));
    const urc_lx *yi[2 + URC_MAX_SPATIAL] = {nn, m};
    for (int a = 0; a < g->nsp; a++) yi[2 + a] = o[a];
    urc_ls_store(body, by, urc_sp_index(yi, &Y->shape, y_last(n)), urc_lx_var(k, acc));
    return true;
}

bool urc_conv_fast_cl(const urc_node *n, const geo *g) {
    bool fast = n->a.conv.channels_last && (n->in[0]->dtype == URC_DT_F32 || n->in[0]->dtype == URC_DT_BF16) &&
                g->G == 1 && (n->in[1]->data || n->a.conv.w_last);
    return fast && !(n->op == URC_OP_CONV_TRANSPOSE && n->a.conv.y_channels_first); /* (not made by fuse_conv.c) */
}

bool urc_convt_row_gemm(const urc_node *n, const geo *g) { return urc_conv_fast_cl(n, g) && urc_convt_direct_ok(g); }

int urc_conv_bias_const(urc_lower *L, urc_kernel *k, const urc_node *n, int64_t M, int64_t count) {
    const urc_value *B = bias(n);
    if (!B) return -1;
    float *bp = urc_xcalloc((size_t)(count ? count : 1), sizeof *bp);
    int64_t nb = urc_shape_numel(&B->shape);
    for (int64_t m = 0; m < M; m++) bp[m] = (float)urc_elem_f64(B->dtype, B->data, nb == 1 ? 0 : m);
    int b = urc_lower_const(L, k, "bpack", URC_DT_F32, count, bp);
    free(bp);
    return b;
}

static bool conv_lower(urc_lower *L, const urc_node *n) {
    geo g = urc_conv_geometry(n);
    urc_kernel *k = urc_lower_begin(L, n);
    bool fast = urc_conv_fast_cl(n, &g);
    /* (the norm statistics: the tile kernel's epilogue only, passes/norm_stats.c; a norm, or also X's image
     * convolution, in its fill: passes/norm_into_conv.c) */
    if ((n->nout > 1 && n->out[1]) || n->a.conv.xn) {
        bool ok = urc_conv_amx(L, k, n);
        URC_ASSERT(ok, "a convolution with norm statistics or a norm in its fill that no tile kernel takes");
        return true;
    }
    if (n->a.conv.xq.scale > 0) { /* (the precision pass folds a FakeQuant into int8 tile kernels only) */
        bool ok = n->op == URC_OP_CONV_TRANSPOSE ? urc_convt_amx(L, k, n, &g) : urc_conv_amx(L, k, n);
        URC_ASSERT(ok, "a convolution with fake-quantised X that no tile kernel takes");
        return true;
    }
    if (n->op == URC_OP_CONV_TRANSPOSE) {
        bool undilated = true;
        for (int a = 0; a < g.nsp; a++) undilated = undilated && (g.d[a] == 1 || g.K[a] == 1);
        if (urc_convt_row_gemm(n, &g) && urc_convt_lower_cl(L, k, n, &g)) return true;
        if (fast && undilated && n->in[1]->data && urc_convt_lower_classes(L, k, n, &g)) return true;
        return lower_conv_transpose(L, k, n, &g);
    }
    if (fast && urc_conv_lower_cl(L, k, n, &g)) return true;
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
    if (a->xq.scale > 0) urc_fq_print(sb, "xq", a->xq);
    if (a->fill_rounds) urc_sb_puts(sb, " x_rounded=bfloat16");
    if (n->nout > 1 && n->out[1]) urc_sb_printf(sb, " stat_parts=%lld", (long long)a->stat_parts);
    if (a->xn) {
        urc_sb_printf(sb, " x_norm=InstanceNorm x_norm_epsilon=%g", a->xn_attr.epsilon);
        if (a->xn_attr.act != URC_ACT_NONE) urc_act_print(sb, "x_norm_act", a->xn_attr.act, a->xn_attr.act_alpha);
        if (a->xc) urc_print_ints(sb, "x_conv_kernel", a->xc_kernel, a->nsp);
    }
    if (a->y_unstored) urc_sb_puts(sb, " y_unstored");
}

/* Conv and ConvTranspose have channels-last forms (conv_direct.c); FusedConv
 * is made after the layout pass from channels-last convs. */
static bool *conv_channels_last(urc_node *n, unsigned *more_inputs) {
    (void)more_inputs;
    return n->op == URC_OP_CONV || n->op == URC_OP_CONV_TRANSPOSE ? &n->a.conv.channels_last : NULL;
}

/* Per output element, W's elements per output channel (Conv, FusedConv);
 * ConvTranspose: per input element, W's elements per input channel. */
static int64_t conv_macs(const urc_node *n) {
    const urc_value *x = n->in[0], *w = n->in[1], *y = n->out[0];
    if (n->op == URC_OP_CONV_TRANSPOSE) {
        int64_t per = 1;
        for (int d = 1; d < w->shape.rank; d++) per *= w->shape.dims[d];
        return urc_shape_numel(&x->shape) * per;
    }
    int64_t M = w->shape.dims[n->a.conv.w_last ? w->shape.rank - 1 : 0];
    return M ? urc_shape_numel(&y->shape) * (urc_shape_numel(&w->shape) / M) : 0;
}

const urc_op_impl urc_impl_conv = {conv_parse,
                                   conv_infer,
                                   conv_eval,
                                   conv_lower,
                                   conv_print,
                                   .signature_lower = false,
                                   .channels_last = conv_channels_last,
                                   .macs = conv_macs,
                                   .bf16_pairs = urc_conv_pairs,
                                   .scratch = urc_conv_scratch,
                                   .int8_levels = urc_conv_int8_levels,
                                   .bf16_store = urc_conv_bf16_store,
                                   .bf16_exact = urc_conv_bf16_exact,
                                   .bf16_self_round = urc_conv_bf16_self_round,
                                   .norm_stats = urc_conv_norm_stats,
                                   .x_norm = urc_conv_x_norm};
