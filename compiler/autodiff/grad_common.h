/* grad_common.h: shorthands for the gradient rules (grad_*.c). Each
 * builds one node through the urc_g_* builders of autodiff.h; a NULL
 * operand (an earlier failure) gives NULL. */
#ifndef URC_GRAD_COMMON_H
#define URC_GRAD_COMMON_H

#include <math.h>
#include <string.h>

#include "../base/diag.h"
#include "autodiff.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static inline urc_value *g_bin(urc_grad_ctx *c, urc_op op, urc_value *a, urc_value *b) {
    return a && b ? urc_g_binary(c, op, a, b) : NULL;
}
static inline urc_value *g_add(urc_grad_ctx *c, urc_value *a, urc_value *b) { return g_bin(c, URC_OP_ADD, a, b); }
static inline urc_value *g_sub(urc_grad_ctx *c, urc_value *a, urc_value *b) { return g_bin(c, URC_OP_SUB, a, b); }
static inline urc_value *g_mul(urc_grad_ctx *c, urc_value *a, urc_value *b) { return g_bin(c, URC_OP_MUL, a, b); }
static inline urc_value *g_div(urc_grad_ctx *c, urc_value *a, urc_value *b) { return g_bin(c, URC_OP_DIV, a, b); }
static inline urc_value *g_un(urc_grad_ctx *c, urc_op op, urc_value *a) { return a ? urc_g_unary(c, op, a) : NULL; }
static inline urc_value *g_k(urc_grad_ctx *c, const urc_value *like, double v) {
    return urc_g_scalar(c, like->dtype, v);
}
/* a * v for a scalar v */
static inline urc_value *g_scale(urc_grad_ctx *c, urc_value *a, double v) {
    return a ? g_mul(c, a, g_k(c, a, v)) : NULL;
}
/* where(cond, a, 0) */
static inline urc_value *g_mask(urc_grad_ctx *c, urc_value *cond, urc_value *a) {
    return cond && a ? urc_g_where(c, cond, a, g_k(c, a, 0)) : NULL;
}

#endif
