/* interp.h: the reference interpreter.
 *
 * Runs a graph node by node with each op's eval callback: naive loops,
 * computing in double (float dtypes) or int64 (integer dtypes) and rounding
 * once on store. It is the oracle the generated code and every optimisation
 * are tested against, and the constant folder uses it. */
#ifndef URC_INTERP_H
#define URC_INTERP_H

#include "../ir/ir.h"

/* inputs[i] matches g->inputs (dtype and shape checked); outputs[i] are
 * allocated here (caller frees with urc_tensor_free). */
bool urc_interp_run(urc_graph *g, urc_tensor *const *inputs, urc_tensor **outputs);

/* urc_interp_run calling obs(ctx, v, t) with each graph input and each
 * node output as it is computed (t is freed later: read it in the call).
 * --precision int8 records its activation ranges so (passes/precision.c). */
typedef void (*urc_interp_observer)(void *ctx, const urc_value *v, const urc_tensor *t);
bool urc_interp_run_observed(urc_graph *g, urc_tensor *const *inputs, urc_tensor **outputs, urc_interp_observer obs,
                             void *ctx);

/* Helpers for eval callbacks. */
/* Linear index into an operand of shape `in` broadcast to `out`, for the
 * element at linear index `i` of `out`. */
int64_t urc_bcast_offset(const urc_shape *out, const urc_shape *in, int64_t i);
/* Splits linear index i of shape s into per-dim indices. */
void urc_unravel(const urc_shape *s, int64_t i, int64_t *idx);

#endif
