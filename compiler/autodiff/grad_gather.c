/* grad_gather.c: Gather with constant indices that select one index or a
 * contiguous increasing run along the axis (MONAI's q/k/v split): the
 * gradient is dy placed back with zero padding. Other index patterns would
 * need a scatter-add and are reported. */
#include "grad_common.h"

bool urc_grad_gather(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    if (!need[0] || !dy[0]) return true;
    urc_value *x = n->in[0], *idx = n->in[1];
    if (n->op != URC_OP_GATHER || !idx->data || idx->shape.rank > 1) {
        urc_error(urc_node_where(n), "no gradient rule for %s with these indices (needs constant scalar or 1-D indices)",
                  urc_ops[n->op].name);
        return false;
    }
    int r = x->shape.rank, ax = (int)n->a.gather.axis;
    int64_t dim = x->shape.dims[ax], k = urc_shape_numel(&idx->shape);
    int64_t first = urc_elem_i64(idx->dtype, idx->data, 0);
    if (first < 0) first += dim;
    for (int64_t i = 1; i < k; i++) {
        int64_t v = urc_elem_i64(idx->dtype, idx->data, i);
        if (v < 0) v += dim;
        if (v != first + i) {
            urc_error(urc_node_where(n), "no gradient rule for Gather with non-contiguous indices");
            return false;
        }
    }
    urc_value *d = dy[0];
    if (idx->shape.rank == 0) { /* the axis was removed: put it back with size 1 */
        urc_shape s = x->shape;
        s.dims[ax] = 1;
        d = urc_g_reshape(c, d, &s);
    }
    int64_t p[2 * URC_MAX_RANK] = {0};
    p[ax] = first;
    p[r + ax] = dim - first - k;
    urc_value *in[2] = {d, urc_g_ints(c, p, 2 * r)};
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.slice.mode = URC_PADMODE_CONSTANT;
    dx[0] = (p[ax] || p[r + ax]) ? urc_g_node(c, URC_OP_PAD, 2, in, &a) : d;
    return c->ok;
}
