/* grad_movement.c: gradient rules of the data movement ops: views go back
 * by a Reshape, Transpose by the inverse permutation, Expand by summing
 * over the broadcast dims, Tile by summing the tiles, DepthToSpace (DCR) and
 * SpaceToDepth by each other. */
#include "grad_common.h"

bool urc_grad_movement(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    urc_value *d = dy[0], *x = n->in[0];
    const urc_movement_attr *a = &n->a.movement;
    if (!need[0] || !d) return true;
    switch (n->op) {
    case URC_OP_RESHAPE:
    case URC_OP_FLATTEN:
    case URC_OP_SQUEEZE:
    case URC_OP_UNSQUEEZE:
    case URC_OP_IDENTITY:
    case URC_OP_DROPOUT: dx[0] = urc_g_reshape(c, d, &x->shape); return c->ok;
    case URC_OP_TRANSPOSE: {
        int64_t inv[URC_MAX_RANK];
        for (int i = 0; i < x->shape.rank; i++) inv[a->perm[i]] = i;
        dx[0] = urc_g_transpose(c, d, inv);
        return c->ok;
    }
    case URC_OP_EXPAND: dx[0] = urc_g_unbroadcast(c, d, &x->shape); return c->ok;
    case URC_OP_TILE: { /* view dy as [r0, d0, r1, d1, ...] and sum the r axes */
        const urc_shape *s = &x->shape;
        urc_shape v = {0};
        int64_t axes[URC_MAX_RANK];
        int na = 0;
        for (int i = 0; i < s->rank; i++) {
            if (a->repeats[i] != 1) {
                if (v.rank >= URC_MAX_RANK) break;
                axes[na++] = v.rank;
                v.dims[v.rank++] = a->repeats[i];
            }
            if (v.rank >= URC_MAX_RANK) break;
            v.dims[v.rank++] = s->dims[i];
        }
        if (v.rank + 0 > URC_MAX_RANK || urc_shape_numel(&v) != urc_shape_numel(&d->shape)) {
            urc_error(urc_node_where(n), "no gradient rule for Tile of rank %d with %d tiled dims", s->rank, na);
            return false;
        }
        dx[0] = urc_g_reshape(c, urc_g_reduce_sum(c, urc_g_reshape(c, d, &v), axes, na, false), s);
        return c->ok;
    }
    case URC_OP_DEPTH_TO_SPACE:
    case URC_OP_SPACE_TO_DEPTH: {
        if (n->op == URC_OP_DEPTH_TO_SPACE && !a->dcr) {
            urc_error(urc_node_where(n), "no gradient rule for DepthToSpace in CRD mode");
            return false;
        }
        urc_attrs na = n->a;
        na.movement.dcr = 1;
        dx[0] =
            urc_g_node(c, n->op == URC_OP_DEPTH_TO_SPACE ? URC_OP_SPACE_TO_DEPTH : URC_OP_DEPTH_TO_SPACE, 1, &d, &na);
        return c->ok;
    }
    default: urc_error(urc_node_where(n), "no gradient rule for %s", urc_ops[n->op].name); return false;
    }
}
