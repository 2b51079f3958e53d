/* autodiff.c: the reverse-mode driver and the node builders (see
 * autodiff.h). */
#include "autodiff.h"

#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"

/* The rule of each op comes from its family: urc_grad_<family>, defined in
 * grad_<family>.c. The families that have one are listed here (an op of
 * any other family has no gradient and autodiff says so). The references
 * are ordinary ones, so linking the compiler from a static library pulls
 * every grad_<family>.o in (weak references would not, and the rules would
 * silently be missing; tests/CMakeLists.txt's test_grad_static checks). */
/* The families as a list (clang-format would put one per line). */
/* clang-format off */
#define URC_GRAD_FAMILIES(X) \
    X(act) X(binary) X(cast) X(conv) X(einsum) X(gather) X(matmul) X(movement) X(norm) X(pool) X(reduce) \
    X(resize) X(shape) X(slice) X(softmax) X(unary)
/* clang-format on */
#define DECLARE(FAM)                                                                                                   \
    bool urc_grad_##FAM(urc_grad_ctx *, const urc_node *, urc_value *const *, urc_value **, const bool *);
URC_GRAD_FAMILIES(DECLARE)
#undef DECLARE

static urc_grad_fn rule_of(urc_op op) {
    static const struct {
        const char *family;
        urc_grad_fn rule;
    } families[] = {
#define ENTRY(FAM) {#FAM, urc_grad_##FAM},
        URC_GRAD_FAMILIES(ENTRY)
#undef ENTRY
    };
    static const char *const family_of[URC_OP_COUNT] = {
#define URC_OP(E, NAME, FAM, MININ, MAXIN, MINOUT, MAXOUT, OLDEST, TRAITS) #FAM,
#include "../ir/ops.def"
#undef URC_OP
    };
    static urc_grad_fn rules[URC_OP_COUNT];
    static bool init;
    if (!init) {
        for (int i = 0; i < URC_OP_COUNT; i++)
            for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
                if (!strcmp(family_of[i], families[f].family)) rules[i] = families[f].rule;
        init = true;
    }
    return rules[op];
}

/* ---- builders ------------------------------------------------------------------ */

urc_value *urc_g_node(urc_grad_ctx *c, urc_op op, int nin, urc_value *const *in, const urc_attrs *a) {
    if (!c->ok) return NULL;
    for (int i = 0; i < nin; i++)
        if (!in[i] && i < urc_ops[op].min_in) {
            c->ok = false;
            return NULL;
        }
    const char *name = urc_fmt("grad_%s_%s", c->fwd ? c->fwd->name : "loss", urc_ops[op].name);
    urc_node *n = urc_node_make(c->g, op, name, 18, nin, in, a, NULL, &c->ok);
    return c->ok ? n->out[0] : NULL;
}

urc_value *urc_g_unary(urc_grad_ctx *c, urc_op op, urc_value *x) { return urc_g_node(c, op, 1, &x, NULL); }

urc_value *urc_g_binary(urc_grad_ctx *c, urc_op op, urc_value *a, urc_value *b) {
    urc_value *in[2] = {a, b};
    return urc_g_node(c, op, 2, in, NULL);
}

urc_value *urc_g_where(urc_grad_ctx *c, urc_value *cond, urc_value *a, urc_value *b) {
    urc_value *in[3] = {cond, a, b};
    return urc_g_node(c, URC_OP_WHERE, 3, in, NULL);
}

urc_value *urc_g_fill(urc_grad_ctx *c, urc_dtype dt, const urc_shape *s, double v) {
    urc_tensor *t = urc_tensor_new(dt, s);
    int64_t n = urc_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) urc_elem_set_f64(dt, t->data, i, v);
    return urc_const_new(c->g, NULL, t);
}

urc_value *urc_g_scalar(urc_grad_ctx *c, urc_dtype dt, double v) {
    urc_shape s = {0};
    return urc_g_fill(c, dt, &s, v);
}

urc_value *urc_g_ints(urc_grad_ctx *c, const int64_t *v, int n) {
    urc_shape s = {1, {n}};
    urc_tensor *t = urc_tensor_new(URC_DT_I64, &s);
    memcpy(t->data, v, sizeof(int64_t) * (size_t)n);
    return urc_const_new(c->g, NULL, t);
}

urc_value *urc_g_reshape(urc_grad_ctx *c, urc_value *x, const urc_shape *s) {
    if (!c->ok) return NULL;
    if (urc_shape_eq(&x->shape, s)) return x;
    urc_value *in[2] = {x, urc_g_ints(c, s->dims, s->rank)};
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.movement.allowzero = 1; /* dims of 0 are real */
    return urc_g_node(c, URC_OP_RESHAPE, 2, in, &a);
}

urc_value *urc_g_transpose(urc_grad_ctx *c, urc_value *x, const int64_t *perm) {
    if (!c->ok) return NULL;
    bool id = true;
    for (int i = 0; i < x->shape.rank; i++) id &= perm[i] == i;
    if (id) return x;
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.movement.nperm = x->shape.rank;
    memcpy(a.movement.perm, perm, sizeof(int64_t) * (size_t)x->shape.rank);
    return urc_g_node(c, URC_OP_TRANSPOSE, 1, &x, &a);
}

urc_value *urc_g_cast(urc_grad_ctx *c, urc_value *x, urc_dtype to) {
    if (!c->ok) return NULL;
    if (x->dtype == to) return x;
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.cast.to = to;
    return urc_g_node(c, URC_OP_CAST, 1, &x, &a);
}

urc_value *urc_g_reduce_sum(urc_grad_ctx *c, urc_value *x, const int64_t *axes, int naxes, bool keepdims) {
    if (!c->ok) return NULL;
    if (!naxes) return x;
    urc_value *in[2] = {x, urc_g_ints(c, axes, naxes)};
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.reduce.keepdims = keepdims;
    a.reduce.naxes = -1;
    return urc_g_node(c, URC_OP_REDUCE_SUM, 2, in, &a);
}

urc_value *urc_g_unbroadcast(urc_grad_ctx *c, urc_value *dy, const urc_shape *s) {
    if (!c->ok || !dy) return NULL;
    if (urc_shape_eq(&dy->shape, s)) return dy;
    int r = dy->shape.rank, off = r - s->rank;
    int64_t axes[URC_MAX_RANK];
    int na = 0;
    for (int d = 0; d < r; d++) {
        int64_t sd = d >= off ? s->dims[d - off] : 1;
        if (sd == 1 && dy->shape.dims[d] != 1) axes[na++] = d;
    }
    urc_value *sum = urc_g_reduce_sum(c, dy, axes, na, true);
    return urc_g_reshape(c, sum, s);
}

urc_value *urc_g_expand(urc_grad_ctx *c, urc_value *x, const urc_shape *s) {
    if (!c->ok) return NULL;
    if (urc_shape_eq(&x->shape, s)) return x;
    urc_value *in[2] = {x, urc_g_ints(c, s->dims, s->rank)};
    return urc_g_node(c, URC_OP_EXPAND, 2, in, NULL);
}

/* ---- the reverse sweep ------------------------------------------------------------ */

/* Adds gradient contribution d to the running sum for value v. */
static void accumulate(urc_grad_ctx *c, urc_value **grad, const urc_value *v, urc_value *d) {
    if (!d || !c->ok) return;
    if (!urc_shape_eq(&d->shape, &v->shape)) d = urc_g_unbroadcast(c, d, &v->shape);
    if (d && d->dtype != v->dtype && urc_dtype_is_float(v->dtype)) d = urc_g_cast(c, d, v->dtype);
    if (!grad[v->id]) grad[v->id] = d;
    else grad[v->id] = urc_g_binary(c, URC_OP_ADD, grad[v->id], d);
}

bool urc_autodiff(urc_graph *g, urc_value *loss, urc_value *const *wrt, int nwrt, urc_value **grads) {
    urc_grad_ctx c = {g, NULL, true};
    if (!loss->has_type || !urc_dtype_is_float(loss->dtype) || urc_shape_numel(&loss->shape) != 1) {
        urc_error("autodiff", "the loss '%s' must be a one-element float tensor", loss->name);
        return false;
    }
    int nv = g->values.len, nn = g->nodes.len;
    /* needs[v]: v depends on some wrt value (so its gradient matters). */
    bool *needs = urc_xcalloc((size_t)nv + 1, sizeof(bool));
    for (int i = 0; i < nwrt; i++) needs[wrt[i]->id] = true;
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        bool any = false;
        for (int j = 0; j < n->nin; j++) any |= n->in[j] && needs[n->in[j]->id];
        for (int j = 0; j < n->nout; j++)
            if (n->out[j] && any) needs[n->out[j]->id] = true;
    }
    /* grad[v]: accumulated dloss/dv; the array grows with the graph. */
    urc_value **grad = urc_xcalloc((size_t)nv + 1, sizeof(urc_value *));
    grad[loss->id] = urc_g_fill(&c, loss->dtype, &loss->shape, 1.0);
    for (int i = nn - 1; i >= 0 && c.ok; i--) {
        urc_node *n = g->nodes.items[i];
        urc_value *dy[64] = {0}, *dx[64] = {0};
        bool need[64] = {0}, any_dy = false, any_need = false;
        if (n->nin > 64 || n->nout > 64) continue;
        for (int j = 0; j < n->nout; j++)
            if (n->out[j] && n->out[j]->id < nv && grad[n->out[j]->id]) {
                dy[j] = grad[n->out[j]->id];
                any_dy = true;
            }
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && n->in[j]->id < nv && needs[n->in[j]->id] && urc_dtype_is_float(n->in[j]->dtype)) {
                need[j] = true;
                any_need = true;
            }
        if (!any_dy || !any_need) continue;
        urc_grad_fn rule = rule_of(n->op);
        c.fwd = n;
        if (!rule) {
            urc_error(urc_node_where(n), "no gradient rule for %s", urc_ops[n->op].name);
            c.ok = false;
            break;
        }
        if (!rule(&c, n, dy, dx, need)) {
            c.ok = false;
            break;
        }
        for (int j = 0; j < n->nin; j++)
            if (need[j] && dx[j]) accumulate(&c, grad, n->in[j], dx[j]);
    }
    for (int i = 0; i < nwrt && c.ok; i++) {
        urc_value *d = grad[wrt[i]->id];
        grads[i] = d ? d : urc_g_fill(&c, wrt[i]->dtype, &wrt[i]->shape, 0.0);
    }
    free(needs);
    free(grad);
    return c.ok;
}
