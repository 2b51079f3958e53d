/* grad_shape.c: Shape, Size, Range, Constant and ConstantOfShape produce
 * values that do not depend differentiably on any input. */
#include "grad_common.h"

bool urc_grad_shape(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    (void)c, (void)n, (void)dy, (void)dx, (void)need;
    return true;
}
