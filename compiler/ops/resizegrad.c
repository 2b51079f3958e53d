/* resizegrad.c: unetrc.ResizeGrad, the input gradient of Resize (made by
 * autodiff: compiler/autodiff/grad_resize.c; never read from a model).
 *
 *   ResizeGrad(dY, shape(X)) -> dX     (the shape is a constant int64 input)
 *
 * Attributes: the forward Resize's urc_resize_attr, resolved (scales, roi).
 * Resize is linear in X and separable: along each dim, output o reads
 * input positions idx[o][j] with weights w[o][j] (resize.c's taps, so every
 * mode, coordinate transformation, exclude_outside and antialias is
 * covered), and extrapolated outputs (tf_crop_and_resize) read nothing.
 * Its adjoint scatters each dY element back with the same weights:
 *   dX[i] = sum over outputs o and tap combinations reaching i of prod_d w_d * dY[o].
 * The reference scatters; the lowering gathers with the transposed taps (per
 * dim and input position i, the outputs that read i and their summed
 * weights: constant tables in the weights blob), so every dX element is
 * computed once, in parallel, without atomics. */
#include "resize.h"

/* The taps of dim d for a Resize from xs to ys with n's attributes. */
static bool taps_of(const urc_node *n, const urc_shape *xs, const urc_shape *ys, int d, urc_resize_taps *t) {
    urc_value vx, vy;
    memset(&vx, 0, sizeof vx);
    memset(&vy, 0, sizeof vy);
    vx.shape = *xs;
    vy.shape = *ys;
    vx.dtype = vy.dtype = n->in[0]->dtype;
    vx.has_type = vy.has_type = true;
    urc_value *pin = &vx, *pout = &vy;
    urc_node f = *n;
    f.op = URC_OP_RESIZE;
    f.nin = f.nout = 1;
    f.in = &pin;
    f.out = &pout;
    return urc_resize_taps_make(&f, d, t);
}

/* ---- inference ------------------------------------------------------------ */

static bool rg_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0)) return false;
    const urc_shape *ys = &n->in[0]->shape;
    urc_shape xs;
    int cnt;
    if (!urc_const_ints(n, 1, xs.dims, URC_MAX_RANK, &cnt)) return false;
    xs.rank = cnt;
    if (xs.rank != ys->rank || xs.rank < 1) {
        urc_error(where, "internal: dY %s does not match X of rank %d", urc_shape_str(ys), xs.rank);
        return false;
    }
    for (int d = 0; d < xs.rank; d++)
        if (xs.dims[d] < 0 || (xs.dims[d] == 0 && ys->dims[d] > 0)) {
            urc_error(where, "internal: bad Resize gradient shapes %s -> %s", urc_shape_str(ys), urc_shape_str(&xs));
            return false;
        }
    if (urc_shape_numel(ys) > 0)
        for (int d = 0; d < xs.rank; d++) {
            urc_resize_taps t;
            if (!taps_of(n, &xs, ys, d, &t)) return false;
            urc_resize_taps_free(&t);
        }
    urc_set_out(n, 0, n->in[0]->dtype, &xs);
    return true;
}

/* ---- reference ------------------------------------------------------------------ */

static bool rg_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *dyt = in[0];
    urc_tensor *dxt = out[0];
    const urc_shape *ys = &dyt->shape, *xs = &dxt->shape;
    int r = ys->rank;
    int64_t ny = urc_tensor_numel(dyt), nx = urc_tensor_numel(dxt), xst[URC_MAX_RANK];
    double *dx = urc_xcalloc((size_t)nx + 1, sizeof(double)), *dy = urc_tensor_to_f64(dyt);
    urc_shape_strides(xs, xst);
    urc_resize_taps t[URC_MAX_RANK];
    int made = 0;
    if (ny > 0)
        while (made < r && taps_of(n, xs, ys, made, &t[made])) made++;
    bool ok = ny == 0 || made == r;
    for (int64_t i = 0; ok && i < ny; i++) {
        int64_t oi[URC_MAX_RANK];
        urc_unravel(ys, i, oi);
        bool outside = false;
        for (int d = 0; d < r; d++) outside |= t[d].outside[oi[d]];
        if (outside) continue;
        int k[URC_MAX_RANK] = {0};
        for (;;) { /* every tap combination (an odometer over k[]) */
            double w = dy[i];
            int64_t off = 0;
            for (int d = 0; d < r; d++) {
                w *= t[d].w[oi[d] * t[d].n + k[d]];
                off += t[d].idx[oi[d] * t[d].n + k[d]] * xst[d];
            }
            dx[off] += w;
            int d = r - 1;
            while (d >= 0 && ++k[d] == t[d].n) k[d--] = 0;
            if (d < 0) break;
        }
    }
    if (ok) urc_tensor_from_f64(dxt, dx);
    for (int d = 0; d < made; d++) urc_resize_taps_free(&t[d]);
    free(dx);
    free(dy);
    return ok;
}

/* ---- lowering ------------------------------------------------------------------- */

/* Transposed taps of one dim: input position i is read by the outputs
 * o[i*max + j] with (summed) weights w[i*max + j], j < cnt[i]. */
typedef struct tr_taps {
    int64_t max;
    int64_t *cnt, *o;
    double *w;
    bool identity;   /* in == out and i reads only output i, weight 1 */
    bool unweighted; /* every weight is 1 */
    bool uniform;    /* every cnt[i] == max */
} tr_taps;

static void transpose_taps(const urc_resize_taps *t, int64_t in, int64_t out, tr_taps *r) {
    int64_t *cnt = urc_xcalloc((size_t)in + 1, sizeof(int64_t)), *last = urc_xmalloc(sizeof(int64_t) * (size_t)in + 1);
    /* pass 0 counts the (i, o) pairs, pass 1 fills them in; an output's taps
     * landing twice on i (clamped at a border) merge into one weight */
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; i < in; i++) cnt[i] = 0, last[i] = -1;
        for (int64_t o = 0; o < out; o++) {
            if (t->outside[o]) continue;
            for (int j = 0; j < t->n; j++) {
                int64_t i = t->idx[o * t->n + j];
                double w = t->w[o * t->n + j];
                if (w == 0) continue;
                if (last[i] == o) {
                    if (pass) r->w[i * r->max + cnt[i] - 1] += w;
                    continue;
                }
                if (pass) {
                    r->o[i * r->max + cnt[i]] = o;
                    r->w[i * r->max + cnt[i]] = w;
                }
                last[i] = o;
                cnt[i]++;
            }
        }
        if (!pass) {
            r->max = 0;
            for (int64_t i = 0; i < in; i++) r->max = cnt[i] > r->max ? cnt[i] : r->max;
            r->o = urc_xcalloc((size_t)(in * r->max) + 1, sizeof(int64_t));
            r->w = urc_xcalloc((size_t)(in * r->max) + 1, sizeof(double));
        }
    }
    free(last);
    r->cnt = cnt;
    r->identity = in == out;
    r->unweighted = r->uniform = true;
    for (int64_t i = 0; i < in; i++) {
        r->uniform &= cnt[i] == r->max;
        for (int64_t j = 0; j < cnt[i]; j++) r->unweighted &= r->w[i * r->max + j] == 1;
        r->identity &= cnt[i] == 1 && r->o[i * r->max] == i && r->w[i * r->max] == 1;
    }
}

static void tr_taps_free(tr_taps *r) {
    free(r->cnt);
    free(r->o);
    free(r->w);
}

/*   for i0 (parallel), i1, ...:                          over dX
 *     acc = 0
 *     for j_d < cnt_d[i_d] (each resampled dim d):       outputs reading i
 *       acc += prod_d w_d[i_d][j_d] * dY[sum_d o_d[i_d][j_d] * stride_d]
 *     dX[i] = acc */
static bool rg_lower(urc_lower *L, const urc_node *n) {
    const urc_value *DY = n->in[0], *DX = n->out[0];
    const urc_shape *ys = &DY->shape, *xs = &DX->shape;
    urc_dtype dt = DX->dtype;
    int r = xs->rank;
    if (urc_shape_numel(xs) == 0) return true;
    urc_kernel *k = urc_lower_begin(L, n);
    int bdx = urc_lower_out(L, k, DX, "dx");
    if (urc_shape_numel(ys) == 0) { /* nothing reads X: zero gradient */
        int iv[URC_MAX_RANK];
        urc_ls *body = urc_loop_nest(k, k->body, xs, iv, URC_FOR_PARALLEL);
        urc_ls_store(body, bdx, urc_index_vars(k, iv, xs), urc_lx_const(0, dt));
        return true;
    }
    int bdy = urc_lower_in(L, k, DY, "dy");
    int64_t yst[URC_MAX_RANK];
    urc_shape_strides(ys, yst);
    tr_taps tt[URC_MAX_RANK];
    memset(tt, 0, sizeof tt);
    for (int d = 0; d < r; d++) {
        urc_resize_taps t;
        if (!taps_of(n, xs, ys, d, &t)) {
            for (int e = 0; e < d; e++) tr_taps_free(&tt[e]);
            return false;
        }
        transpose_taps(&t, xs->dims[d], ys->dims[d], &tt[d]);
        urc_resize_taps_free(&t);
    }
    static const char *names[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};
    urc_ls *body = k->body, *first = NULL;
    urc_lx *iv[URC_MAX_RANK], *dst = urc_lx_int(0), *base = urc_lx_int(0);
    for (int d = 0; d < r; d++) {
        if (xs->dims[d] > 1) {
            int v = urc_kernel_var(k, names[d], URC_DT_I64);
            urc_ls *outer = body;
            body = urc_ls_for(body, v, urc_lx_int(0), urc_lx_int(xs->dims[d]), 1, 0);
            if (!first) first = outer->list.items[outer->list.len - 1];
            iv[d] = urc_lx_var(k, v);
        } else {
            iv[d] = urc_lx_int(0);
        }
        dst = urc_add(urc_muli(dst, xs->dims[d]), iv[d]);
        if (tt[d].identity) base = urc_add(base, urc_muli(iv[d], yst[d]));
    }
    if (first) {
        first->flags |= URC_FOR_PARALLEL;
        urc_ls *second = first->body->list.len == 1 ? first->body->list.items[0] : NULL;
        if (second && second->kind == URC_LS_FOR && first->hi->i < 64) first->collapse = 2;
    }
    int acc = urc_kernel_var(k, "acc", dt);
    urc_ls_decl(body, acc, urc_lx_const(0, dt));
    urc_ls *tb = body;
    urc_lx *off = base, *w = NULL;
    for (int d = 0; d < r; d++) {
        tr_taps *t = &tt[d];
        if (t->identity) continue;
        int64_t in = xs->dims[d], cnt = in * t->max;
        if (t->max == 0) { /* no output reads this dim's inputs: zero gradient */
            off = NULL;
            break;
        }
        int64_t *offs = urc_xmalloc(sizeof(int64_t) * (size_t)cnt + 1);
        for (int64_t i = 0; i < cnt; i++) offs[i] = t->o[i] * yst[d];
        int bo = urc_lower_const(L, k, urc_fmt("o%d", d), URC_DT_I64, cnt, offs);
        free(offs);
        urc_lx *hi = urc_lx_int(t->max);
        if (!t->uniform) hi = urc_lx_load(k, urc_lower_const(L, k, urc_fmt("n%d", d), URC_DT_I64, in, t->cnt), iv[d]);
        urc_lx *j = urc_lx_int(0);
        if (!(t->uniform && t->max == 1)) {
            int v = urc_kernel_var(k, urc_fmt("j%d", d), URC_DT_I64);
            tb = urc_ls_for(tb, v, urc_lx_int(0), hi, 1, 0);
            j = urc_lx_var(k, v);
        }
        urc_lx *at = urc_add(urc_muli(iv[d], t->max), j);
        off = urc_add(off, urc_lx_load(k, bo, at));
        if (!t->unweighted) {
            void *wv = urc_xmalloc((size_t)(cnt * urc_dtype_size(dt)) + 1);
            for (int64_t i = 0; i < cnt; i++) urc_elem_set_f64(dt, wv, i, t->w[i]);
            urc_lx *wd = urc_lx_load(k, urc_lower_const(L, k, urc_fmt("w%d", d), dt, cnt, wv), at);
            free(wv);
            w = w ? urc_lx_bin(URC_L_MUL, w, wd) : wd;
        }
    }
    if (off) {
        urc_lx *term = urc_lx_load(k, bdy, off);
        if (w) term = urc_lx_bin(URC_L_MUL, w, term);
        urc_ls_assign(tb, acc, urc_lx_bin(URC_L_ADD, urc_lx_var(k, acc), term));
    }
    urc_ls_store(body, bdx, dst, urc_lx_var(k, acc));
    for (int d = 0; d < r; d++) tr_taps_free(&tt[d]);
    return true;
}

static void rg_print(const urc_node *n, urc_strbuf *sb) {
    const urc_resize_attr *a = &n->a.resize;
    static const char *modes[] = {"nearest", "linear", "cubic"};
    static const char *coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",  "align_corners",
                                   "asymmetric", "tf_crop_and_resize",   "tf_half_pixel_for_nn"};
    urc_sb_printf(sb, " mode=%s coord=%s scales=[", modes[a->mode], coords[a->coord]);
    for (int d = 0; d < n->out[0]->shape.rank; d++) urc_sb_printf(sb, d ? ",%g" : "%g", a->scales[d]);
    urc_sb_putc(sb, ']');
    if (a->antialias) urc_sb_puts(sb, " antialias");
}

const urc_op_impl urc_impl_resizegrad = {NULL, rg_infer, rg_eval, rg_lower, rg_print, .signature_lower = false};
