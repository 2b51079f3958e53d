/* grad_pool.c: gradient rules of the pools (channels-first: autodiff runs
 * before the layout pass).
 *   MaxPool:           dX = unetrc.MaxPoolGrad(X, dY): to the first maximum of
 *                      each window (the element the forward picks), overlapping
 *                      windows accumulating. Indices have no gradient.
 *   AveragePool:       dX = unetrc.AveragePoolGrad(dY, shape(X)) (same windows,
 *                      count_include_pad, ceil_mode and pads as the forward).
 *   GlobalAveragePool: dX = Expand(dY / S) over the S spatial elements.
 *   GlobalMaxPool:     dX = dY where X equals the maximum (every tied maximum
 *                      gets the gradient, as ReduceMax's rule). */
#include "grad_common.h"

bool urc_grad_pool(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    urc_value *d = dy[0], *X = n->in[0];
    if (!d || !need[0]) return true;
    const urc_pool_attr *a = &n->a.pool;
    if (a->channels_last) {
        urc_error(urc_node_where(n),
                  "no gradient rule for the channels-last form (autodiff runs before the layout pass)");
        return false;
    }
    switch (n->op) {
    case URC_OP_MAX_POOL:
    case URC_OP_AVERAGE_POOL: {
        urc_attrs at;
        memset(&at, 0, sizeof at);
        at.pool = *a;
        at.pool.auto_pad = URC_PAD_NOTSET; /* pads are resolved */
        bool mx = n->op == URC_OP_MAX_POOL;
        urc_value *in[2] = {mx ? X : d, mx ? d : urc_g_ints(c, X->shape.dims, X->shape.rank)};
        dx[0] = urc_g_node(c, mx ? URC_OP_MAX_POOL_GRAD : URC_OP_AVERAGE_POOL_GRAD, 2, in, &at);
        return c->ok;
    }
    case URC_OP_GLOBAL_AVERAGE_POOL: {
        int64_t S = urc_shape_numel(&X->shape) / (X->shape.dims[0] * X->shape.dims[1]);
        dx[0] = urc_g_expand(c, g_scale(c, d, 1.0 / (double)S), &X->shape);
        return c->ok;
    }
    case URC_OP_GLOBAL_MAX_POOL:
        dx[0] = g_mask(c, g_bin(c, URC_OP_EQUAL, X, n->out[0]), d); /* broadcast to X's shape */
        return c->ok;
    default: urc_error(urc_node_where(n), "no gradient rule for %s", urc_ops[n->op].name); return false;
    }
}
