/* grad_binary.c: gradient rules of the broadcasting elementwise ops. Each
 * rule returns gradients of the broadcast (output) shape; the driver sums
 * them back over broadcast dims (urc_g_unbroadcast). */
#include "grad_common.h"

bool urc_grad_binary(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    urc_value *d = dy[0], *y = n->out[0];
    urc_value *a = n->in[0], *b = n->nin > 1 ? n->in[1] : NULL;
    if (!d) return true;
    switch (n->op) {
    case URC_OP_ADD:
    case URC_OP_SUM:
        for (int i = 0; i < n->nin; i++)
            if (need[i]) dx[i] = d;
        return true;
    case URC_OP_MEAN:
        for (int i = 0; i < n->nin; i++)
            if (need[i]) dx[i] = g_scale(c, d, 1.0 / n->nin);
        return c->ok;
    case URC_OP_SUB:
        if (need[0]) dx[0] = d;
        if (need[1]) dx[1] = g_un(c, URC_OP_NEG, d);
        return c->ok;
    case URC_OP_MUL:
        if (need[0]) dx[0] = g_mul(c, d, b);
        if (need[1]) dx[1] = g_mul(c, d, a);
        return c->ok;
    case URC_OP_DIV: /* d(a/b)/db = -y / b */
        if (need[0]) dx[0] = g_div(c, d, b);
        if (need[1]) dx[1] = g_un(c, URC_OP_NEG, g_div(c, g_mul(c, d, y), b));
        return c->ok;
    case URC_OP_POW: /* b a^(b-1) and y ln a */
        if (need[0]) {
            urc_value *e = urc_g_cast(c, b, a->dtype);
            dx[0] = g_mul(c, d, g_mul(c, e, g_bin(c, URC_OP_POW, a, g_sub(c, e, g_k(c, a, 1)))));
        }
        if (need[1]) dx[1] = g_mul(c, d, g_mul(c, y, g_un(c, URC_OP_LOG, a)));
        return c->ok;
    case URC_OP_PRELU: { /* x < 0: slope */
        urc_value *neg = g_bin(c, URC_OP_LESS, a, g_k(c, a, 0));
        if (need[0]) dx[0] = urc_g_where(c, neg, g_mul(c, d, b), d);
        if (need[1]) dx[1] = g_mask(c, neg, g_mul(c, d, a));
        return c->ok;
    }
    case URC_OP_MAX:
    case URC_OP_MIN: /* to every input equal to the result */
        for (int i = 0; i < n->nin; i++)
            if (need[i]) dx[i] = g_mask(c, g_bin(c, URC_OP_EQUAL, n->in[i], y), d);
        return c->ok;
    case URC_OP_WHERE:
        if (need[1]) dx[1] = g_mask(c, n->in[0], d);
        if (need[2]) dx[2] = urc_g_where(c, n->in[0], g_k(c, d, 0), d);
        return c->ok;
    case URC_OP_MOD: /* fmod: the dividend passes through; the divisor is usually a constant */
        if (need[1]) {
            urc_error(urc_node_where(n), "no gradient rule for Mod with respect to its divisor");
            return false;
        }
        if (need[0]) dx[0] = d;
        return true;
    default: /* comparisons and logic: no gradient */ return true;
    }
}
