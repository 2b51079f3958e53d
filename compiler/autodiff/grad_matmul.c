/* grad_matmul.c: gradient rules of MatMul (numpy semantics: batch dims
 * broadcast, 1-D operands promoted), Gemm and unetrc.FusedMatMul.
 *   dA = dY Bᵀ,  dB = Aᵀ dY  (summed over broadcast batch dims by the driver)
 * Gemm: Y = alpha op(A) op(B) + beta C. FusedMatMul is differentiated as
 * its parts (act(A B + bias) + residual); it is normally created after the
 * backward pass is built, so this is rarely needed. */
#include "grad_common.h"

/* x with its last two dims swapped. */
static urc_value *swap_last(urc_grad_ctx *c, urc_value *x) {
    int r = x->shape.rank;
    int64_t p[URC_MAX_RANK];
    for (int i = 0; i < r; i++) p[i] = i;
    p[r - 2] = r - 1;
    p[r - 1] = r - 2;
    return urc_g_transpose(c, x, p);
}

static urc_value *matmul(urc_grad_ctx *c, urc_value *a, urc_value *b) { return g_bin(c, URC_OP_MATMUL, a, b); }

/* A 1-D operand as a matrix: [K] -> [1, K] (left) or [K, 1] (right). */
static urc_value *as_matrix(urc_grad_ctx *c, urc_value *x, bool left) {
    if (x->shape.rank != 1) return x;
    urc_shape s = {2, {left ? 1 : x->shape.dims[0], left ? x->shape.dims[0] : 1}};
    return urc_g_reshape(c, x, &s);
}

static bool grad_matmul(urc_grad_ctx *c, urc_value *a, urc_value *b, urc_value *d, urc_value **da, urc_value **db,
                        bool need_a, bool need_b) {
    urc_value *a2 = as_matrix(c, a, true), *b2 = as_matrix(c, b, false);
    /* dY with the dims the promotion removed put back. */
    urc_shape ds = d->shape;
    if (a->shape.rank == 1) {
        for (int i = ds.rank; i > ds.rank - (b->shape.rank == 1 ? 0 : 1); i--) ds.dims[i] = ds.dims[i - 1];
        ds.rank++;
        ds.dims[ds.rank - 2] = 1;
    }
    if (b->shape.rank == 1) ds.dims[ds.rank++] = 1;
    urc_value *d2 = urc_g_reshape(c, d, &ds);
    if (need_a) {
        urc_value *r = matmul(c, d2, swap_last(c, b2));
        *da = r && a->shape.rank == 1 ? urc_g_unbroadcast(c, r, &a2->shape) : r;
        if (*da && a->shape.rank == 1) *da = urc_g_reshape(c, *da, &a->shape);
    }
    if (need_b) {
        urc_value *r = matmul(c, swap_last(c, a2), d2);
        *db = r && b->shape.rank == 1 ? urc_g_unbroadcast(c, r, &b2->shape) : r;
        if (*db && b->shape.rank == 1) *db = urc_g_reshape(c, *db, &b->shape);
    }
    return c->ok;
}

bool urc_grad_matmul(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    urc_value *d = dy[0], *a = n->in[0], *b = n->in[1];
    if (!d) return true;
    const urc_gemm_attr *at = &n->a.gemm;
    switch (n->op) {
    case URC_OP_MATMUL: return grad_matmul(c, a, b, d, &dx[0], &dx[1], need[0], need[1]);
    case URC_OP_GEMM: {
        urc_value *oa = at->trans_a ? urc_g_transpose(c, a, (int64_t[]){1, 0}) : a;
        urc_value *ob = at->trans_b ? urc_g_transpose(c, b, (int64_t[]){1, 0}) : b;
        urc_value *ds = at->alpha == 1 ? d : g_scale(c, d, at->alpha);
        urc_value *da = NULL, *db = NULL;
        if (!grad_matmul(c, oa, ob, ds, &da, &db, need[0], need[1])) return false;
        if (need[0]) dx[0] = at->trans_a ? urc_g_transpose(c, da, (int64_t[]){1, 0}) : da;
        if (need[1]) dx[1] = at->trans_b ? urc_g_transpose(c, db, (int64_t[]){1, 0}) : db;
        if (n->nin > 2 && n->in[2] && need[2]) dx[2] = at->beta == 1 ? d : g_scale(c, d, at->beta);
        return c->ok;
    }
    default: urc_error(urc_node_where(n), "no gradient rule for %s", urc_ops[n->op].name); return false;
    }
}
