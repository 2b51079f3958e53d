/* grad_slice.c: gradient rules of Concat (slices of dy), Split (Concat of
 * the dys, zeros where an output has none), Slice with any steps (dy put
 * back at the selected positions with zeros elsewhere, copies only:
 * reversed along negative-step axes, interleaved with zeros along strided
 * ones by Reshape/Pad/Reshape, padded to the input's extent) and Pad with
 * non-negative pads in constant mode (the interior slice of dy) and edge
 * mode (per padded axis: the interior slice, plus the sums of the padded
 * ends added to the first and last slices; MONAI's replicate pads). */
#include "grad_common.h"

/* The pads input of a Pad node for per-dim begins b[] and ends e[]. */
static urc_value *zero_pad(urc_grad_ctx *c, urc_value *x, const int64_t *b, const int64_t *e) {
    int r = x->shape.rank;
    int64_t p[2 * URC_MAX_RANK];
    bool any = false;
    for (int i = 0; i < r; i++) {
        p[i] = b[i];
        p[r + i] = e[i];
        any |= b[i] || e[i];
    }
    if (!any) return x;
    urc_value *in[2] = {x, urc_g_ints(c, p, 2 * r)};
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.slice.mode = URC_PADMODE_CONSTANT;
    return urc_g_node(c, URC_OP_PAD, 2, in, &a);
}

/* x[..., lo:hi, ...] along axis ax. */
static urc_value *take(urc_grad_ctx *c, urc_value *x, int ax, int64_t lo, int64_t hi) {
    if (lo == 0 && hi == x->shape.dims[ax]) return x;
    urc_value *in[4] = {x, urc_g_ints(c, &lo, 1), urc_g_ints(c, &hi, 1), urc_g_ints(c, &(int64_t){ax}, 1)};
    return urc_g_node(c, URC_OP_SLICE, 4, in, NULL);
}

/* Strided scatter of the positive-step axes in ax[0..na): dy (whose dims
 * are m[d] everywhere) to the extent D[d] along each listed axis, element i
 * at lo[d] + i*s[d], zeros elsewhere. With lo = q*s + rem: a 1 is inserted
 * after each axis with s > 1 (Reshape, a view), one constant Pad puts q
 * rows before and ceil(D/s) - m - q after along the axis and rem before and
 * s-1-rem after along the inserted one, so that merging the two (Reshape)
 * gives row (i + q)*s + rem = lo + i*s; a Slice trims the last partial
 * block when s does not divide D. Unit-step axes are padded directly. */
static urc_value *scatter_axes(urc_grad_ctx *c, urc_value *t, const int *ax, int na, const int64_t *lo,
                               const int64_t *s, const int64_t *D) {
    if (!t) return NULL;
    int r = t->shape.rank, ri = 0;
    urc_shape wide = {0}, merged = t->shape;
    int64_t b[URC_MAX_RANK] = {0}, e[URC_MAX_RANK] = {0};
    bool listed[URC_MAX_RANK] = {0}, trim = false;
    for (int i = 0; i < na; i++) listed[ax[i]] = true;
    for (int d = 0; d < r; d++) {
        int64_t m = t->shape.dims[d];
        wide.dims[ri] = m;
        if (!listed[d]) {
            ri++;
            continue;
        }
        if (s[d] == 1) {
            b[ri] = lo[d], e[ri] = D[d] - lo[d] - m;
            merged.dims[d] = D[d];
            ri++;
            continue;
        }
        int64_t q = lo[d] / s[d], rem = lo[d] % s[d], blocks = (D[d] + s[d] - 1) / s[d];
        b[ri] = q, e[ri] = blocks - m - q;
        ri++;
        wide.dims[ri] = 1, b[ri] = rem, e[ri] = s[d] - 1 - rem;
        ri++;
        merged.dims[d] = blocks * s[d];
        trim |= merged.dims[d] != D[d];
    }
    wide.rank = ri;
    urc_value *w = zero_pad(c, urc_g_reshape(c, t, &wide), b, e);
    w = w ? urc_g_reshape(c, w, &merged) : NULL;
    for (int d = 0; d < r && w && trim; d++)
        if (merged.dims[d] != D[d]) w = take(c, w, d, 0, D[d]);
    return w;
}

/* The gradient of a Slice with any steps: zeros of x's shape with dy at the
 * selected positions. Axes with negative steps are first reversed (one
 * Slice with step -1), which makes their selection the increasing run from
 * the last selected index with step -step; then the strided axes are
 * scattered in groups small enough for the inserted dims to fit the rank
 * limit (one group for rank <= 5 inputs), and the unit-step ones with them. */
static urc_value *slice_scatter(urc_grad_ctx *c, const urc_node *n, urc_value *dy) {
    const urc_slice_attr *a = &n->a.slice;
    const urc_value *x = n->in[0];
    int r = x->shape.rank;
    if (urc_shape_numel(&dy->shape) == 0) return urc_g_fill(c, x->dtype, &x->shape, 0.0);
    int64_t lo[URC_MAX_RANK], s[URC_MAX_RANK], rs[URC_MAX_RANK], re[URC_MAX_RANK], rsteps[URC_MAX_RANK];
    int64_t rax[URC_MAX_RANK];
    int nrev = 0;
    for (int d = 0; d < r; d++) {
        int64_t m = dy->shape.dims[d], st = a->step[d];
        lo[d] = a->start[d], s[d] = st;
        if (m == 1) s[d] = 1; /* one element: the step does not matter */
        else if (st < 0) {
            lo[d] = a->start[d] + (m - 1) * st;
            s[d] = -st;
            rax[nrev] = d, rs[nrev] = -1, re[nrev] = INT64_MIN, rsteps[nrev] = -1;
            nrev++;
        }
    }
    urc_value *t = dy;
    if (nrev) {
        urc_value *in[5] = {t, urc_g_ints(c, rs, nrev), urc_g_ints(c, re, nrev), urc_g_ints(c, rax, nrev),
                            urc_g_ints(c, rsteps, nrev)};
        t = urc_g_node(c, URC_OP_SLICE, 5, in, NULL);
    }
    int ax[URC_MAX_RANK] = {0}, na = 0, strided = 0;
    for (int d = 0; d < r && t; d++) {
        if (s[d] == 1 && lo[d] == 0 && dy->shape.dims[d] == x->shape.dims[d]) continue;
        if (s[d] > 1 && r + strided + 1 > URC_MAX_RANK) { /* flush the group */
            t = scatter_axes(c, t, ax, na, lo, s, x->shape.dims);
            na = strided = 0;
        }
        ax[na++] = d;
        strided += s[d] > 1;
    }
    if (na) t = scatter_axes(c, t, ax, na, lo, s, x->shape.dims);
    return t;
}

bool urc_grad_slice(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    const urc_slice_attr *a = &n->a.slice;
    urc_value *x = n->in[0];
    int r = x->shape.rank;
    switch (n->op) {
    case URC_OP_CONCAT: {
        if (!dy[0]) return true;
        int ax = (int)a->axis;
        int64_t off = 0;
        for (int i = 0; i < n->nin; i++) {
            int64_t len = n->in[i]->shape.dims[ax];
            if (need[i]) dx[i] = take(c, dy[0], ax, off, off + len);
            off += len;
        }
        return c->ok;
    }
    case URC_OP_SPLIT: {
        if (!need[0]) return true;
        urc_value *parts[64];
        if (n->nout > 64) return false;
        for (int j = 0; j < n->nout; j++) {
            const urc_value *o = n->out[j];
            parts[j] = dy[j] ? dy[j] : urc_g_fill(c, x->dtype, &o->shape, 0.0);
        }
        urc_attrs ca;
        memset(&ca, 0, sizeof ca);
        ca.slice.axis = a->axis;
        dx[0] = n->nout == 1 ? parts[0] : urc_g_node(c, URC_OP_CONCAT, n->nout, parts, &ca);
        return c->ok;
    }
    case URC_OP_SLICE: {
        if (!need[0] || !dy[0]) return true;
        dx[0] = slice_scatter(c, n, dy[0]);
        return c->ok;
    }
    case URC_OP_PAD: {
        if (!need[0] || !dy[0]) return true;
        bool zero = true;
        for (int d = 0; d < 2 * r; d++) {
            if (a->pads[d] < 0) {
                urc_error(urc_node_where(n), "no gradient rule for Pad with negative pads");
                return false;
            }
            zero &= a->pads[d] == 0;
        }
        if (zero) {
            dx[0] = dy[0];
            return true;
        }
        if (a->mode == URC_PADMODE_EDGE) {
            /* Edge padding is separable: undo it one axis at a time. */
            urc_value *t = dy[0];
            for (int d = 0; d < r && t; d++) {
                int64_t b = a->pads[d], e = a->pads[r + d], len = x->shape.dims[d];
                if (!b && !e) continue;
                urc_value *s = take(c, t, d, b, b + len);
                int64_t zb[URC_MAX_RANK] = {0}, ze[URC_MAX_RANK] = {0};
                if (b) { /* dy[0:b+1] all come from x[0] */
                    urc_value *h = urc_g_reduce_sum(c, take(c, t, d, 0, b), &(int64_t){d}, 1, true);
                    ze[d] = len - 1;
                    s = g_add(c, s, h ? zero_pad(c, h, zb, ze) : NULL);
                    ze[d] = 0;
                }
                if (e) { /* dy[b+len-1:] all come from x[len-1] */
                    urc_value *h = urc_g_reduce_sum(c, take(c, t, d, b + len, b + len + e), &(int64_t){d}, 1, true);
                    zb[d] = len - 1;
                    s = g_add(c, s, h ? zero_pad(c, h, zb, ze) : NULL);
                }
                t = s;
            }
            dx[0] = t;
            return c->ok;
        }
        if (a->mode != URC_PADMODE_CONSTANT) {
            urc_error(urc_node_where(n), "no gradient rule for Pad in %s mode with non-zero pads",
                      a->mode == URC_PADMODE_REFLECT ? "reflect" : "wrap");
            return false;
        }
        urc_value *t = dy[0];
        for (int d = 0; d < r && t; d++) t = take(c, t, d, a->pads[d], a->pads[d] + x->shape.dims[d]);
        dx[0] = t;
        return c->ok;
    }
    default: urc_error(urc_node_where(n), "no gradient rule for %s", urc_ops[n->op].name); return false;
    }
}
