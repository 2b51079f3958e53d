/* grad_slice.c: gradient rules of Concat (slices of dy), Split (Concat of
 * the dys, zeros where an output has none), Slice with unit steps (dy padded
 * with zeros back to the input shape) and Pad with non-negative pads in
 * constant mode (the interior slice of dy) and edge mode (per padded axis:
 * the interior slice, plus the sums of the padded ends added to the first
 * and last slices; MONAI's replicate pads). */
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
        int64_t b[URC_MAX_RANK], e[URC_MAX_RANK];
        for (int d = 0; d < r; d++) {
            if (a->step[d] != 1) {
                urc_error(urc_node_where(n), "no gradient rule for Slice with step %lld", (long long)a->step[d]);
                return false;
            }
            b[d] = a->start[d];
            e[d] = x->shape.dims[d] - a->start[d] - n->out[0]->shape.dims[d];
        }
        dx[0] = zero_pad(c, dy[0], b, e);
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
    default:
        urc_error(urc_node_where(n), "no gradient rule for %s", urc_ops[n->op].name);
        return false;
    }
}
