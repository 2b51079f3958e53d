/* grad_cast.c: Cast and CastLike pass the gradient back in the input type
 * (float to float only: integer inputs have no gradient). */
#include "grad_common.h"

bool urc_grad_cast(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    if (need[0] && dy[0] && urc_dtype_is_float(n->out[0]->dtype)) dx[0] = urc_g_cast(c, dy[0], n->in[0]->dtype);
    return c->ok;
}
