/* grad_reduce.c: gradient rules of the reductions. dy is first brought back
 * to the keepdims shape and broadcast over the reduced dims:
 *   Sum: dy;  Mean: dy / count;  SumSquare: 2 x dy;  L1: sign(x) dy;
 *   L2: x / y dy;  LogSum: dy / sum(x);  LogSumExp: exp(x - y) dy;
 *   Max/Min: dy where x equals the result;  Prod: y / x dy (x != 0).
 * ArgMax/ArgMin have no gradient. */
#include "grad_common.h"

bool urc_grad_reduce(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    if (!need[0] || !dy[0] || n->op == URC_OP_ARGMAX || n->op == URC_OP_ARGMIN) return true;
    const urc_reduce_attr *a = &n->a.reduce;
    urc_value *x = n->in[0], *y = n->out[0];
    urc_shape ks = x->shape; /* keepdims shape */
    int64_t count = 1;
    for (int d = 0; d < ks.rank; d++)
        if (a->reduce[d]) {
            count *= ks.dims[d];
            ks.dims[d] = 1;
        }
    urc_value *d = urc_g_reshape(c, dy[0], &ks), *yk = urc_g_reshape(c, y, &ks);
    urc_value *r = NULL;
    switch (n->op) {
    case URC_OP_REDUCE_SUM: r = d; break;
    case URC_OP_REDUCE_MEAN: r = g_scale(c, d, count ? 1.0 / (double)count : 0.0); break;
    case URC_OP_REDUCE_SUM_SQUARE: r = g_mul(c, g_scale(c, x, 2), d); break;
    case URC_OP_REDUCE_L1: r = g_mul(c, g_un(c, URC_OP_SIGN, x), d); break;
    case URC_OP_REDUCE_L2: r = g_mul(c, g_div(c, x, yk), d); break;
    case URC_OP_REDUCE_LOG_SUM: r = g_div(c, d, g_un(c, URC_OP_EXP, yk)); break;
    case URC_OP_REDUCE_LOG_SUM_EXP: r = g_mul(c, g_un(c, URC_OP_EXP, g_sub(c, x, yk)), d); break;
    case URC_OP_REDUCE_MAX:
    case URC_OP_REDUCE_MIN: r = g_mask(c, g_bin(c, URC_OP_EQUAL, x, yk), d); break;
    case URC_OP_REDUCE_PROD: r = g_mul(c, g_div(c, yk, x), d); break;
    default: urc_error(urc_node_where(n), "no gradient rule for %s", urc_ops[n->op].name); return false;
    }
    dx[0] = r ? urc_g_expand(c, r, &x->shape) : NULL;
    return c->ok;
}
