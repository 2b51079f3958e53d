/* grad_resize.c: gradient rule of Resize. Resize is linear in X (roi,
 * scales and sizes are compile-time constants), so
 *   dX = unetrc.ResizeGrad(dY, shape(X))
 * scatters dY back through the forward's taps with the same weights (every
 * mode: nearest, linear, cubic, antialias; extrapolated outputs give
 * nothing). */
#include "grad_common.h"

bool urc_grad_resize(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    if (!dy[0] || !need[0]) return true;
    urc_value *X = n->in[0];
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.resize = n->a.resize;
    urc_value *in[2] = {dy[0], urc_g_ints(c, X->shape.dims, X->shape.rank)};
    dx[0] = urc_g_node(c, URC_OP_RESIZE_GRAD, 2, in, &a);
    return c->ok;
}
