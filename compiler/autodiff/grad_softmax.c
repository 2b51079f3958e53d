/* grad_softmax.c: Softmax dx = y (dy - sum(dy y)); LogSoftmax
 * dx = dy - exp(y) sum(dy), the sums along the softmax axis (opset >= 13;
 * the coerced 2-D form of older opsets is differentiated through the same
 * formulas over a flattened view). Hardmax has no gradient. */
#include "grad_common.h"

bool urc_grad_softmax(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    if (!need[0] || !dy[0] || n->op == URC_OP_HARDMAX) return true;
    urc_value *y = n->out[0], *d = dy[0];
    const urc_shape *s = &y->shape;
    int64_t ax = n->a.softmax.axis;
    urc_value *yv = y, *dv = d;
    if (n->opset < 13) { /* rows are dims[axis:] flattened */
        urc_shape f = {2, {1, 1}};
        for (int i = 0; i < s->rank; i++) f.dims[i < ax ? 0 : 1] *= s->dims[i];
        yv = urc_g_reshape(c, y, &f);
        dv = urc_g_reshape(c, d, &f);
        ax = 1;
    }
    urc_value *r;
    if (n->op == URC_OP_SOFTMAX) r = g_mul(c, yv, g_sub(c, dv, urc_g_reduce_sum(c, g_mul(c, dv, yv), &ax, 1, true)));
    else r = g_sub(c, dv, g_mul(c, g_un(c, URC_OP_EXP, yv), urc_g_reduce_sum(c, dv, &ax, 1, true)));
    dx[0] = r ? urc_g_reshape(c, r, s) : NULL;
    return c->ok;
}
