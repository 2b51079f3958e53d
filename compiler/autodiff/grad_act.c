/* grad_act.c: the gradient of every activation of ir/act.def, one
 * unetrc.ActGrad(X, dY) node computing dX = dY act'(X) from the table's
 * derivative (ops/activation.c); the unary ops of the table (grad_unary.c)
 * and unetrc.Act use it. ActGrad itself has no gradient (no second
 * derivatives). */
#include "../ops/activation.h"
#include "grad_common.h"

urc_value *urc_g_act_grad(urc_grad_ctx *c, urc_act act, double alpha, urc_value *x, urc_value *dy) {
    if (!x || !dy) return NULL;
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.act.act = act;
    a.act.alpha = alpha;
    urc_value *in[2] = {x, dy};
    return urc_g_node(c, URC_OP_ACT_GRAD, 2, in, &a);
}

bool urc_grad_act(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    if (!dy[0] || !need[0]) return true;
    if (n->op != URC_OP_ACT) {
        urc_error(urc_node_where(n), "no gradient rule for %s", urc_ops[n->op].name);
        return false;
    }
    dx[0] = urc_g_act_grad(c, (urc_act)n->a.act.act, n->a.act.alpha, n->in[0], dy[0]);
    return dx[0] != NULL;
}
