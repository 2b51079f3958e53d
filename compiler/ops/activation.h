/* activation.h: the activations of ir/act.def, for the op families and
 * passes that apply them (fused epilogues of conv, matmul and norms; the
 * unary ops; unetrc.Act/ActGrad) and for the passes that recognise them. */
#ifndef URC_ACTIVATION_H
#define URC_ACTIVATION_H

#include "../base/base.h"
#include "../ir/ir.h"
#include "../loop/loop.h"

/* The activation node n applies to its first input, or URC_ACT_NONE: a
 * float Relu, LeakyRelu, Sigmoid, Tanh, Gelu, unetrc.Act, or a PRelu with
 * one constant slope (all its elements equal) that does not broadcast X;
 * *alpha gets the parameter. */
urc_act urc_act_of(const urc_node *n, double *alpha);
/* Does n apply an activation (urc_act_of) to x? Sets *act and *alpha. */
bool urc_act_match(const urc_node *n, const urc_value *x, urc_act *act, double *alpha);
bool urc_act_valid(int act);
bool urc_act_has_param(urc_act act);
const char *urc_act_name(urc_act act);
/* " <key>=<name>" or " <key>=<name>(<alpha>)" for --dump-ir. */
void urc_act_print(urc_strbuf *sb, const char *key, urc_act act, double alpha);

/* Reference values (double): y = act(x) and dx = dy act'(x). */
double urc_act_ref(urc_act act, double alpha, double x);
double urc_act_grad_ref(urc_act act, double alpha, double x, double dy);

/* Loop expressions of act(x) and dy act'(x) in kernel k. With a statement
 * list `at` (where the expression is used), x and other repeated operands
 * are declared there as locals, and float32 gets the vectorisable forms of
 * sigmoid, erf and exp; with at NULL the expression repeats x as given and
 * calls libm. */
urc_lx *urc_act_lx(urc_kernel *k, urc_ls *at, urc_act act, double alpha, urc_lx *x);
urc_lx *urc_act_grad_lx(urc_kernel *k, urc_ls *at, urc_act act, double alpha, urc_lx *x, urc_lx *dy);

/* e^x for float32 x <= 0 (or NaN) as arithmetic the C compiler vectorises
 * (libm's expf is a call per element); declares its locals in `at`.
 * Relative error about 1e-7 (float32 rounding). */
urc_lx *urc_fast_exp_nonpos(urc_kernel *k, urc_ls *at, urc_lx *x);

#endif
