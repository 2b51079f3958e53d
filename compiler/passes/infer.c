/* infer.c: shape/dtype inference with constant folding.
 *
 * Torch's exporter leaves chains like Shape -> Gather -> Unsqueeze -> Concat
 * -> Reshape even for static shapes. Running inference and folding in one
 * walk resolves them: Shape of a statically shaped tensor is a constant,
 * every node after it with constant inputs is evaluated by the reference
 * interpreter, and Reshape finally sees a constant target shape. */
#include "../base/diag.h"
#include "../interp/interp.h"
#include "passes.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Folding results larger than this stays a run-time computation (it would
 * only grow the weights blob). UNETRC_FOLD_MAX_BYTES in the environment
 * lowers it (tests: the passes that fold a big cone themselves, e.g. Swin's
 * window mask in passes/attention.c, are exercised on small models). */
#define FOLD_MAX_BYTES ((int64_t)64 << 20)

static int64_t fold_max_bytes(void) {
    static int64_t lim = -1;
    if (lim < 0) {
        const char *e = getenv("UNETRC_FOLD_MAX_BYTES");
        char *end = NULL;
        long long v = e ? strtoll(e, &end, 10) : -1;
        lim = e && end && !*end && v >= 0 && v < FOLD_MAX_BYTES ? (int64_t)v : FOLD_MAX_BYTES;
    }
    return lim;
}

static bool output_size_ok(const urc_node *n, uint64_t max_bytes) {
    for (int j = 0; j < n->nout; j++) {
        const urc_value *v = n->out[j];
        if (!v) continue;
        for (int d = 0; d < v->shape.rank; d++)
            if (v->shape.dims[d] < 0) {
                urc_error(urc_node_where(n), "inferred a negative dimension for output '%s'", v->name);
                return false;
            }
        /* The shape cap (base.h): zeros count as ones, so that an empty
         * tensor cannot carry dims whose partial products overflow. */
        if (!urc_dims_fit(v->shape.dims, v->shape.rank, urc_dtype_size(v->dtype), max_bytes, NULL)) {
            urc_error(urc_node_where(n),
                      "output '%s' of shape %s exceeds the limit of %llu bytes (raise it with --max-bytes)", v->name,
                      urc_shape_str(&v->shape), (unsigned long long)max_bytes);
            return false;
        }
    }
    return true;
}

static bool foldable(const urc_node *n) {
    bool shape_only = n->op == URC_OP_SHAPE || n->op == URC_OP_SIZE;
    for (int j = 0; j < n->nin; j++)
        if (n->in[j] && !n->in[j]->data && !shape_only) return false;
    int64_t bytes = 0;
    for (int j = 0; j < n->nout; j++)
        if (n->out[j]) bytes += urc_shape_numel(&n->out[j]->shape) * urc_dtype_size(n->out[j]->dtype);
    return bytes <= fold_max_bytes();
}

static bool fold_node(urc_node *n) {
    urc_tensor in_t[URC_VARIADIC > 64 ? 64 : URC_VARIADIC];
    urc_tensor *ins[64] = {0}, *outs[8] = {0};
    if (n->nin > 64 || n->nout > 8) return true; /* not worth it; leave the node */
    for (int j = 0; j < n->nin; j++) {
        if (!n->in[j]) continue;
        in_t[j] = urc_value_tensor(n->in[j]);
        ins[j] = &in_t[j];
    }
    for (int j = 0; j < n->nout; j++)
        if (n->out[j]) outs[j] = urc_tensor_new(n->out[j]->dtype, &n->out[j]->shape);
    bool ok = urc_ops[n->op].impl->eval(n, ins, outs);
    for (int j = 0; j < n->nout; j++) {
        if (!outs[j]) continue;
        if (ok) {
            urc_value *v = n->out[j];
            v->data = outs[j]->data;
            v->producer = NULL;
            free(outs[j]);
        } else {
            urc_tensor_free(outs[j]);
        }
    }
    if (ok) n->op = URC_OP_COUNT; /* folded: removed by compact */
    return ok;
}

/* Post-order walk of v's producers for urc_fold_cone: false when the cone
 * reaches a non-constant leaf, has more than CONE_NODES nodes or outputs
 * above *budget bytes in all. */
enum { CONE_NODES = 64 };
static bool cone_walk(urc_value *v, urc_node **order, int *n, int64_t *budget) {
    if (!v || v->data) return true;
    urc_node *p = v->producer;
    if (!p || p->op == URC_OP_COUNT || p->nout > 8 || p->nin > 64) return false;
    for (int k = 0; k < *n; k++)
        if (order[k] == p) return true;
    for (int j = 0; j < p->nin; j++)
        if (!cone_walk(p->in[j], order, n, budget)) return false;
    if (*n >= CONE_NODES) return false;
    for (int j = 0; j < p->nout; j++)
        if (p->out[j]) *budget -= urc_shape_numel(&p->out[j]->shape) * urc_dtype_size(p->out[j]->dtype);
    if (*budget < 0) return false;
    order[(*n)++] = p;
    return true;
}

bool urc_fold_cone(urc_value *v, int64_t max_bytes) {
    urc_node *order[CONE_NODES];
    int n = 0;
    int64_t budget = max_bytes;
    if (!cone_walk(v, order, &n, &budget)) return false;
    for (int k = 0; k < n; k++)
        if (!fold_node(order[k])) return false;
    return v->data != NULL;
}

/* urc_fold_now's walk: false when v cannot be typed. It descends only to
 * producers made before the reader (below `below`; node ids count up), so a
 * cycle or a node listed after its reader ends the walk instead of looping. */
static bool type_fold(urc_value *v, uint64_t max_bytes, int below) {
    if (!v || v->has_type) return true;
    urc_node *p = v->producer;
    if (!p || p->op == URC_OP_COUNT || p->id >= below) return false;
    for (int j = 0; j < p->nin; j++)
        if (!type_fold(p->in[j], max_bytes, p->id)) return false;
    if (!urc_ops[p->op].impl->infer(p) || !output_size_ok(p, max_bytes)) return false;
    if (foldable(p) || p->op == URC_OP_CONSTANT) fold_node(p);
    return true;
}

/* A graph input or parameter that v's value depends on (not only through
 * Shape/Size); *budget bounds the visits. */
static const urc_value *data_leaf(const urc_value *v, int *budget) {
    if (!v || v->data || --*budget < 0) return NULL;
    const urc_node *p = v->producer;
    if (!p) return v;
    if (p->op == URC_OP_SHAPE || p->op == URC_OP_SIZE) return NULL;
    for (int j = 0; j < p->nin; j++) {
        const urc_value *l = data_leaf(p->in[j], budget);
        if (l) return l;
    }
    return NULL;
}

bool urc_fold_now(urc_value *v, uint64_t max_bytes, const urc_value **leaf) {
    *leaf = NULL;
    if (!type_fold(v, max_bytes, INT_MAX)) return false;
    if (v->data) return true;
    int budget = 10000;
    *leaf = data_leaf(v, &budget);
    return false;
}

bool urc_pass_infer(urc_graph *g, bool fold, uint64_t max_bytes) {
    bool ok = true;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        bool ready = true;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && !n->in[j]->has_type) ready = false; /* its producer already failed */
        if (!ready) {
            ok = false;
            continue;
        }
        for (int j = 0; j < n->nout; j++)
            if (n->out[j]) n->out[j]->has_type = false;
        if (!urc_ops[n->op].impl->infer(n)) {
            ok = false;
            continue;
        }
        bool typed = true;
        for (int j = 0; j < n->nout; j++)
            if (n->out[j] && !n->out[j]->has_type) typed = false;
        URC_ASSERT(typed, "infer left an output untyped");
        if (!output_size_ok(n, max_bytes)) {
            for (int j = 0; j < n->nout; j++)
                if (n->out[j]) n->out[j]->has_type = false;
            ok = false;
            continue;
        }
        /* Constant is folded even with --no-fold or above FOLD_MAX_BYTES:
         * its value is already in memory and lowering has no kernel for it. */
        bool always = n->op == URC_OP_CONSTANT;
        if (ok && ((fold && foldable(n)) || always) && !fold_node(n)) ok = false;
    }
    urc_graph_compact(g);
    return ok;
}

bool urc_pass_check_outputs(urc_graph *g) {
    bool ok = true;
    for (int i = 0; i < g->outputs.len && i < g->output_decls.len; i++) {
        const urc_value *v = g->outputs.items[i];
        const urc_decl_type *d = &g->output_decls.items[i];
        bool same = !d->dtype || d->dtype == (int)v->dtype;
        if (d->rank >= 0) {
            same &= d->rank == v->shape.rank;
            for (int k = 0; same && k < d->rank; k++) same = d->dims[k] < 0 || d->dims[k] == v->shape.dims[k];
        }
        if (same) continue;
        const char *where = urc_fmt("output '%s'", v->name);
        const char *shape = d->rank >= 0 ? d->shape : "(no shape)";
        if (d->dtype) {
            const char *dt = d->dtype > 0 && d->dtype < URC_DT_COUNT ? urc_dtype_name((urc_dtype)d->dtype)
                                                                     : urc_fmt("type %d ", d->dtype);
            urc_error(where, "the model declares %s%s, inference gives %s%s", dt, shape, urc_dtype_name(v->dtype),
                      urc_shape_str(&v->shape));
        } else {
            urc_error(where, "the model declares shape %s, inference gives %s", shape, urc_shape_str(&v->shape));
        }
        ok = false;
    }
    return ok;
}

/* No output of n is read, a graph output or an optimizer update. */
static bool unread(const urc_node *n) {
    for (int j = 0; j < n->nout; j++) {
        const urc_value *v = n->out[j];
        if (v && (v->nuses || (v->flags & (URC_VAL_OUTPUT | URC_VAL_UPDATE)))) return false;
    }
    return true;
}

bool urc_pass_dce(urc_graph *g) {
    /* A dead node releases its inputs, which may leave their producers dead
     * in turn: a worklist, where sweeps until nothing changed took one sweep
     * per node of a dead chain listed backwards. */
    urc_graph_count_uses(g);
    int nn = g->nodes.len, nw = 0, nmulti = 0;
    bool *dead = urc_xcalloc((size_t)nn + 1, sizeof(bool)), compact = false;
    urc_node **work = urc_xmalloc(sizeof(urc_node *) * ((size_t)nn + 1));
    int *multi = urc_xmalloc(sizeof(int) * ((size_t)nn + 1)); /* nodes with optional outputs */
    for (int i = nn - 1; i >= 0; i--) {
        urc_node *n = g->nodes.items[i];
        n->id = i; /* ids = positions (as a sort sets them): a producer p is listed when items[p->id] is p */
        compact |= n->op == URC_OP_COUNT;
        if (n->nout > 1) multi[nmulti++] = i;
        if (unread(n)) {
            dead[i] = true;
            work[nw++] = n;
        }
    }
    while (nw) {
        urc_node *n = work[--nw];
        compact = true;
        for (int j = 0; j < n->nout; j++)
            if (n->out[j]) n->out[j]->producer = NULL;
        n->op = URC_OP_COUNT;
        for (int j = 0; j < n->nin; j++) {
            urc_value *v = n->in[j];
            if (!v || --v->nuses || !v->producer) continue;
            int p = v->producer->id;
            if (p >= 0 && p < nn && g->nodes.items[p] == v->producer && !dead[p] && unread(v->producer)) {
                dead[p] = true;
                work[nw++] = v->producer;
            }
        }
    }
    /* Optional outputs nobody reads (e.g. LayerNormalization's mean) are
     * dropped so that no memory is planned for them. (The use counts are
     * those of the nodes left: each removed node gave back its inputs.) */
    for (int k = 0; k < nmulti; k++) {
        urc_node *n = g->nodes.items[multi[k]];
        if (dead[multi[k]]) continue;
        for (int j = 1; j < n->nout; j++) {
            urc_value *v = n->out[j];
            if (v && !v->nuses && !(v->flags & (URC_VAL_OUTPUT | URC_VAL_UPDATE))) {
                v->producer = NULL;
                n->out[j] = NULL;
            }
        }
    }
    free(dead);
    free(work);
    free(multi);
    if (compact) urc_graph_compact(g);
    return true;
}
