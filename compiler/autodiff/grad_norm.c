/* grad_norm.c: gradient rules of the normalisations, composed from ordinary
 * ops (channels-first: autodiff runs before the layout and norm-fusion
 * passes). The statistics are recomputed with ReduceMean:
 *   mu = mean(x),  rstd = 1 / sqrt(mean((x - mu)^2) + eps),  xh = (x - mu) rstd
 * over the normalised set, and with g = dY * scale
 *   dX = rstd (g - mean(g) - xh mean(g xh)),  dScale = sum dY xh,  dBias = sum dY
 * (sums over everything the scale is shared by).
 * - LayerNormalization: the set is dims axis.. of X; scale/bias broadcast
 *   against X (the driver sums their gradients back). The optional Mean and
 *   InvStdDev outputs pass gradients too: dX += dMean / n and
 *   dX += -dInvStdDev rstd^2 xh / n.
 * - InstanceNormalization and GroupNormalization: X viewed as
 *   [N, G, C/G, S] (InstanceNorm: G = C), the set is (C/G, S) per (n, group);
 *   scale/bias are per group or per channel (GroupNorm-18 / GroupNorm-21 and
 *   the GroupNorms norm_patterns builds: told apart by their length). One
 *   internal op computes all three gradients: unetrc.GroupNormGrad
 *   (ops/normgrad.c; channels-last form after the layout pass).
 * - BatchNormalization (inference: running statistics are inputs):
 *   Y = (X - mean) scale rstd + B per channel, rstd = 1 / sqrt(var + eps):
 *   dX = dY scale rstd,  dScale = sum dY (X - mean) rstd,  dB = sum dY,
 *   dMean = -scale rstd sum dY,  dVar = -scale rstd^3 / 2 sum dY (X - mean). */
#include "grad_common.h"

static urc_value *reduce_mean(urc_grad_ctx *c, urc_value *x, const int64_t *axes, int naxes) {
    if (!c->ok || !x) return NULL;
    if (!naxes) return x;
    urc_value *in[2] = {x, urc_g_ints(c, axes, naxes)};
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.reduce.keepdims = 1;
    a.reduce.naxes = -1;
    return urc_g_node(c, URC_OP_REDUCE_MEAN, 2, in, &a);
}

/* Statistics of x over axes: *rstd (keepdims) and *xh. */
static void stats(urc_grad_ctx *c, urc_value *x, const int64_t *axes, int naxes, double eps, urc_value **rstd,
                  urc_value **xh) {
    urc_value *xc = g_sub(c, x, reduce_mean(c, x, axes, naxes));
    urc_value *var = reduce_mean(c, g_mul(c, xc, xc), axes, naxes);
    *rstd = g_un(c, URC_OP_RECIPROCAL, g_un(c, URC_OP_SQRT, var ? g_add(c, var, g_k(c, var, eps)) : NULL));
    *xh = g_mul(c, xc, *rstd);
}

/* rstd (g - mean(g) - xh mean(g xh)) */
static urc_value *norm_dx(urc_grad_ctx *c, urc_value *g, urc_value *xh, urc_value *rstd, const int64_t *axes,
                          int naxes) {
    urc_value *t = g_sub(c, g_sub(c, g, reduce_mean(c, g, axes, naxes)),
                         g_mul(c, xh, reduce_mean(c, g_mul(c, g, xh), axes, naxes)));
    return g_mul(c, rstd, t);
}

static urc_value *sum_keep(urc_grad_ctx *c, urc_value *x, const int64_t *axes, int naxes, bool keep) {
    return x ? urc_g_reduce_sum(c, x, axes, naxes, keep) : NULL;
}

static bool grad_layer_norm(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx,
                            const bool *need) {
    urc_value *X = n->in[0], *scale = n->in[1], *d = dy[0];
    int r = X->shape.rank, ax = (int)n->a.norm.axis;
    int64_t axes[URC_MAX_RANK], cnt = 1;
    int na = 0;
    for (int i = ax; i < r; i++) {
        axes[na++] = i;
        cnt *= X->shape.dims[i];
    }
    urc_value *rstd, *xh;
    stats(c, X, axes, na, n->a.norm.epsilon, &rstd, &xh);
    if (d && need[1]) dx[1] = g_mul(c, d, xh);
    if (d && n->nin > 2 && n->in[2] && need[2]) dx[2] = d;
    if (!need[0]) return c->ok;
    urc_value *acc = d ? norm_dx(c, g_mul(c, d, scale), xh, rstd, axes, na) : NULL;
    double inv = cnt ? 1.0 / (double)cnt : 0;
    if (n->nout > 1 && dy[1]) { /* Mean */
        urc_value *t = urc_g_expand(c, g_scale(c, urc_g_cast(c, dy[1], X->dtype), inv), &X->shape);
        acc = acc ? g_add(c, acc, t) : t;
    }
    if (n->nout > 2 && dy[2]) { /* InvStdDev: d rstd / dx = -rstd^2 xh / n */
        urc_value *k = g_scale(c, g_mul(c, urc_g_cast(c, dy[2], X->dtype), g_mul(c, rstd, rstd)), -inv);
        urc_value *t = g_mul(c, k, xh);
        acc = acc ? g_add(c, acc, t) : t;
    }
    dx[0] = acc;
    return c->ok;
}

/* Instance/GroupNorm with G groups: one unetrc.GroupNormGrad node
 * (ops/normgrad.c) gives dX, dScale and dBias. */
static bool grad_group_norm(urc_grad_ctx *c, const urc_node *n, int64_t G, urc_value *const *dy, urc_value **dx,
                            const bool *need) {
    urc_value *X = n->in[0], *scale = n->in[1], *d = dy[0];
    if (!d || !c->ok) return c->ok;
    int64_t C = X->shape.dims[1];
    bool per_group = urc_shape_numel(&scale->shape) == G && G != C;
    urc_node *g = urc_node_new(c->g, URC_OP_GROUP_NORM_GRAD, urc_fmt("grad_%s_GroupNormGrad", n->name), 3, 3);
    g->opset = 18;
    g->in[0] = X;
    g->in[1] = scale; /* rank 1: [C], or [G] per group */
    g->in[2] = d;
    memset(&g->a, 0, sizeof g->a);
    g->a.norm.epsilon = n->a.norm.epsilon;
    g->a.norm.num_groups = G;
    g->a.norm.per_channel = !per_group;
    for (int j = 0; j < 3; j++) {
        if (j && !need[j]) continue;
        urc_value *v = urc_value_new(c->g, NULL);
        g->out[j] = v;
        v->producer = g;
        v->producer_slot = j;
    }
    if (!urc_ops[g->op].impl->infer(g)) {
        c->ok = false;
        return false;
    }
    if (need[0]) dx[0] = g->out[0];
    if (need[1]) dx[1] = urc_g_reshape(c, g->out[1], &scale->shape);
    if (need[2]) dx[2] = urc_g_reshape(c, g->out[2], &n->in[2]->shape);
    return c->ok;
}

static bool grad_batch_norm(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx,
                            const bool *need) {
    urc_value *X = n->in[0], *d = dy[0];
    if (!d) return true;
    if (n->a.norm.training_mode) {
        urc_error(urc_node_where(n), "no gradient rule for training mode (batch statistics); export the model in "
                                     "eval mode");
        return false;
    }
    urc_dtype dt = X->dtype;
    int r = X->shape.rank;
    int64_t C = X->shape.dims[1], axes[URC_MAX_RANK];
    int na = 0;
    for (int i = 0; i < r; i++)
        if (i != 1) axes[na++] = i;
    urc_shape bs = {r - 1, {C}}; /* [C, 1, ...]: broadcasts against X */
    for (int i = 1; i < r - 1; i++) bs.dims[i] = 1;
    urc_value *sc = urc_g_cast(c, n->in[1], dt), *mean = urc_g_cast(c, n->in[3], dt),
              *var = urc_g_cast(c, n->in[4], dt);
    urc_value *rstd =
        g_un(c, URC_OP_RECIPROCAL, g_un(c, URC_OP_SQRT, var ? g_add(c, var, g_k(c, var, n->a.norm.epsilon)) : NULL));
    if (need[0]) dx[0] = g_mul(c, d, urc_g_reshape(c, g_mul(c, sc, rstd), &bs));
    urc_value *sum_d = need[2] || need[3] ? sum_keep(c, d, axes, na, false) : NULL;
    urc_value *sum_dxc = NULL;
    if (need[1] || need[4])
        sum_dxc = sum_keep(c, g_mul(c, d, g_sub(c, X, urc_g_reshape(c, mean, &bs))), axes, na, false);
    if (need[1]) dx[1] = g_mul(c, sum_dxc, rstd);
    if (need[2]) dx[2] = sum_d;
    if (need[3]) dx[3] = g_un(c, URC_OP_NEG, g_mul(c, sum_d, g_mul(c, sc, rstd)));
    if (need[4]) dx[4] = g_scale(c, g_mul(c, sum_dxc, g_mul(c, sc, g_mul(c, rstd, g_mul(c, rstd, rstd)))), -0.5);
    return c->ok;
}

bool urc_grad_norm(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    if (n->op != URC_OP_LAYER_NORM && n->a.norm.channels_last) {
        urc_error(urc_node_where(n),
                  "no gradient rule for the channels-last form (autodiff runs before the layout pass)");
        return false;
    }
    switch (n->op) {
    case URC_OP_LAYER_NORM: return grad_layer_norm(c, n, dy, dx, need);
    case URC_OP_INSTANCE_NORM: return grad_group_norm(c, n, n->in[0]->shape.dims[1], dy, dx, need);
    case URC_OP_GROUP_NORM: return grad_group_norm(c, n, n->a.norm.num_groups, dy, dx, need);
    case URC_OP_BATCH_NORM: return grad_batch_norm(c, n, dy, dx, need);
    default: urc_error(urc_node_where(n), "no gradient rule for %s", urc_ops[n->op].name); return false;
    }
}
