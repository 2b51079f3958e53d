/* autodiff.h: reverse-mode automatic differentiation on the graph IR.
 *
 * urc_autodiff appends to a graph the nodes that compute the gradient of a
 * scalar loss with respect to chosen values. Each op family has a rule
 * (compiler/autodiff/grad_<family>.c) that, given a forward node and the
 * gradients of its outputs, builds nodes for the gradients of its inputs
 * out of ordinary ops (so the backward pass goes through the same
 * inference, interpreter, memory plan and kernels as the forward pass) and
 * a few internal gradient ops. Forward values a rule reads are "saved
 * activations": the memory plan keeps them alive until their last use.
 * Gradients reaching a value from several uses are summed (shared
 * initializers included). */
#ifndef URC_AUTODIFF_H
#define URC_AUTODIFF_H

#include "../ir/ir.h"

typedef struct urc_grad_ctx {
    urc_graph *g;
    const urc_node *fwd; /* the node being differentiated (for names and messages) */
    bool ok;
} urc_grad_ctx;

/* A gradient rule. dy[j] is the gradient of output j (NULL when nothing
 * depends on that output); the rule sets dx[i] for every input with need[i]
 * (leaving NULL means a zero gradient). Returns false after reporting. */
typedef bool (*urc_grad_fn)(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need);

/* Appends the backward pass of `loss` (a one-element float value) to g and
 * stores in grads[i] the gradient of loss with respect to wrt[i] (a value of
 * the same shape; a zero constant when wrt[i] does not influence the loss).
 * The node list stays topologically ordered. */
bool urc_autodiff(urc_graph *g, urc_value *loss, urc_value *const *wrt, int nwrt, urc_value **grads);

/* ---- builders for gradient rules ---------------------------------------------
 * Each appends one node to the graph, runs its infer and returns its output
 * (NULL after reporting, with c->ok cleared). */
urc_value *urc_g_node(urc_grad_ctx *c, urc_op op, int nin, urc_value *const *in, const urc_attrs *a);
urc_value *urc_g_unary(urc_grad_ctx *c, urc_op op, urc_value *x);
urc_value *urc_g_binary(urc_grad_ctx *c, urc_op op, urc_value *a, urc_value *b);
urc_value *urc_g_where(urc_grad_ctx *c, urc_value *cond, urc_value *a, urc_value *b);
/* A scalar constant of dtype dt. */
urc_value *urc_g_scalar(urc_grad_ctx *c, urc_dtype dt, double v);
/* A constant of shape s filled with v. */
urc_value *urc_g_fill(urc_grad_ctx *c, urc_dtype dt, const urc_shape *s, double v);
/* A constant int64 vector. */
urc_value *urc_g_ints(urc_grad_ctx *c, const int64_t *v, int n);
urc_value *urc_g_reshape(urc_grad_ctx *c, urc_value *x, const urc_shape *s);
urc_value *urc_g_transpose(urc_grad_ctx *c, urc_value *x, const int64_t *perm);
urc_value *urc_g_cast(urc_grad_ctx *c, urc_value *x, urc_dtype to);
/* Sum over the given axes (keepdims as asked). */
urc_value *urc_g_reduce_sum(urc_grad_ctx *c, urc_value *x, const int64_t *axes, int naxes, bool keepdims);
/* The gradient of a broadcast operand: dy (of the broadcast shape) summed
 * over the dims that were broadcast, reshaped to `s`. */
urc_value *urc_g_unbroadcast(urc_grad_ctx *c, urc_value *dy, const urc_shape *s);
/* dy broadcast up to shape s (Expand). */
urc_value *urc_g_expand(urc_grad_ctx *c, urc_value *x, const urc_shape *s);
/* unetrc.ActGrad: dy act'(x) for an activation of ir/act.def (grad_act.c). */
urc_value *urc_g_act_grad(urc_grad_ctx *c, urc_act act, double alpha, urc_value *x, urc_value *dy);

#endif
