/* grad_gather.c: Gather with constant indices. When they select one index
 * or a contiguous increasing run along the axis (MONAI's q/k/v split), the
 * gradient is dy placed back with zero padding (a copy). Any other constant
 * indices (any rank, negative ones counted from the end, repeats; Swin's
 * relative-position bias reads its table with a 2-D or flattened index of
 * repeated entries) scatter-add dy into zeros: with A the product of the
 * dims before the axis, K the number of indices and B of the dims after it,
 * dy is [A, K, B]; moved to [K, A, B] (a Transpose when A > 1), a
 * ScatterND(zeros [D, A, B], indices [K, 1], reduction add) sums the rows
 * of equal indices, and the result is moved back to [A, D, B] = x's shape.
 * Indices that are not constant are reported. */
#include <stdlib.h>

#include "grad_common.h"

bool urc_grad_gather(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    if (!need[0] || !dy[0]) return true;
    urc_value *x = n->in[0], *idx = n->in[1];
    if (n->op != URC_OP_GATHER || !idx->data) {
        urc_error(urc_node_where(n), "no gradient rule for %s with these indices (needs constant indices)",
                  urc_ops[n->op].name);
        return false;
    }
    int r = x->shape.rank, ax = (int)n->a.gather.axis;
    int64_t dim = x->shape.dims[ax], k = urc_shape_numel(&idx->shape);
    if (k == 0) {
        dx[0] = urc_g_fill(c, x->dtype, &x->shape, 0.0);
        return c->ok;
    }
    int64_t *iv = urc_xmalloc(sizeof(int64_t) * (size_t)k);
    bool run = idx->shape.rank <= 1;
    for (int64_t i = 0; i < k; i++) {
        int64_t v = urc_elem_i64(idx->dtype, idx->data, i);
        if (v < -dim || v >= dim) { /* infer checks constant indices; kept as a guard */
            urc_error(urc_node_where(n), "index %lld is out of range for axis %d of size %lld", (long long)v, ax,
                      (long long)dim);
            free(iv);
            return false;
        }
        iv[i] = v < 0 ? v + dim : v;
        run &= iv[i] == iv[0] + i;
    }
    int64_t first = iv[0];
    if (run) {
        free(iv);
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
    /* Scatter-add: indices [K, 1] (normalised), updates [K, A, B]. */
    int64_t A = 1, B = 1;
    for (int d = 0; d < ax; d++) A *= x->shape.dims[d];
    for (int d = ax + 1; d < r; d++) B *= x->shape.dims[d];
    urc_shape is = {2, {k, 1}};
    urc_tensor *it = urc_tensor_new(URC_DT_I64, &is);
    memcpy(it->data, iv, sizeof(int64_t) * (size_t)k);
    free(iv);
    urc_value *ind = urc_const_new(c->g, NULL, it);
    static const int64_t swap[3] = {1, 0, 2};
    urc_value *u = urc_g_reshape(c, dy[0], &(urc_shape){3, {A, k, B}});
    if (u && A > 1) u = urc_g_transpose(c, u, swap);
    if (u) u = urc_g_reshape(c, u, &(urc_shape){3, {k, A, B}});
    urc_value *zero = urc_g_fill(c, x->dtype, &(urc_shape){3, {dim, A, B}}, 0.0);
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.scatter.reduction = URC_SCATTER_ADD;
    urc_value *in[3] = {zero, ind, u};
    urc_value *s = u ? urc_g_node(c, URC_OP_SCATTER_ND, 3, in, &a) : NULL;
    if (s && A > 1) s = urc_g_transpose(c, s, swap);
    dx[0] = s ? urc_g_reshape(c, s, &x->shape) : NULL;
    return c->ok;
}
