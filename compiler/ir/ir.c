/* ir.c: graph construction, editing, ordering and the op table. */
#include "ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"

/* ---- op table ----------------------------------------------------------- */

#define VAR URC_VARIADIC
#define URC_OP(E, NAME, FAM, MININ, MAXIN, MINOUT, MAXOUT, OLDEST, TRAITS) extern const urc_op_impl urc_impl_##FAM;
#include "ops.def"
#undef URC_OP

const urc_op_info urc_ops[URC_OP_COUNT] = {
#define ELEM URC_TRAIT_ELEM
#define INPLACE URC_TRAIT_INPLACE
#define VIEW URC_TRAIT_VIEW
#define URC_OP(E, NAME, FAM, MININ, MAXIN, MINOUT, MAXOUT, OLDEST, TRAITS)                                             \
    [URC_OP_##E] = {NAME, &urc_impl_##FAM, MININ, MAXIN, MINOUT, MAXOUT, OLDEST, TRAITS},
#include "ops.def"
#undef URC_OP
};
#undef VAR
#undef ELEM
#undef INPLACE
#undef VIEW

/* By a hash table of the ONNX op names built on first use (a scan of the
 * op table per node showed on graphs of 10^5 nodes); internal ops are not
 * in it. Static storage: the fuzzers release every heap block per input. */
urc_op urc_op_lookup(const char *type) {
    enum { SLOTS = 1024 };
    static short slot[SLOTS]; /* op + 1, 0: empty */
    _Static_assert(URC_OP_COUNT < SLOTS / 2, "the op table outgrew its lookup table");
    static bool built;
    if (!built) {
        for (int i = 0; i < URC_OP_COUNT; i++) {
            if (!strncmp(urc_ops[i].name, "unetrc.", 7)) continue;
            uint64_t h = urc_fnv1a64(urc_ops[i].name, strlen(urc_ops[i].name), URC_FNV_INIT);
            while (slot[h % SLOTS]) h++;
            slot[h % SLOTS] = (short)(i + 1);
        }
        built = true;
    }
    for (uint64_t h = urc_fnv1a64(type, strlen(type), URC_FNV_INIT); slot[h % SLOTS]; h++)
        if (!strcmp(urc_ops[slot[h % SLOTS] - 1].name, type)) return (urc_op)(slot[h % SLOTS] - 1);
    return URC_OP_COUNT;
}

/* ---- construction ------------------------------------------------------- */

urc_graph *urc_graph_new(void) { return urc_alloc(sizeof(urc_graph)); }

urc_value *urc_value_new(urc_graph *g, const char *name) {
    urc_value *v = urc_alloc(sizeof *v);
    v->id = g->values.len;
    if (!name) {
        /* Generated names cannot clash with ONNX names: they start with '%'. */
        name = urc_fmt("%%t%d", g->next_id++);
    }
    v->name = name;
    URC_VEC_PUSH(g->values, v);
    urc_map_put(&g->by_name, v->name, v);
    return v;
}

urc_value *urc_graph_find(urc_graph *g, const char *name) { return urc_map_get(&g->by_name, name); }

urc_node *urc_node_new(urc_graph *g, urc_op op, const char *name, int nin, int nout) {
    urc_node *n = urc_alloc(sizeof *n);
    n->id = g->next_id++;
    n->op = op;
    n->opset = g->opset;
    n->name = name && *name ? name : urc_fmt("%s_%d", op < URC_OP_COUNT ? urc_ops[op].name : "node", n->id);
    n->nin = nin;
    n->nout = nout;
    n->in = urc_alloc(sizeof(urc_value *) * (size_t)(nin ? nin : 1));
    n->out = urc_alloc(sizeof(urc_value *) * (size_t)(nout ? nout : 1));
    URC_VEC_PUSH(g->nodes, n);
    return n;
}

urc_node *urc_node_make(urc_graph *g, urc_op op, const char *name, int opset, int nin, urc_value *const *in,
                        const urc_attrs *a, urc_value *out, bool *ok) {
    urc_node *n = urc_node_new(g, op, name, nin, 1);
    n->opset = opset;
    for (int j = 0; j < nin; j++) n->in[j] = in[j];
    if (a) n->a = *a;
    if (!out) out = urc_value_new(g, NULL);
    n->out[0] = out;
    out->producer = n;
    out->producer_slot = 0;
    if (!urc_ops[op].impl->infer(n)) *ok = false;
    return n;
}

urc_node *urc_node_transpose(urc_graph *g, const char *name, urc_value *x, const int64_t *perm, urc_value *out,
                             bool *ok) {
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.movement.nperm = x->shape.rank;
    memcpy(a.movement.perm, perm, sizeof(int64_t) * (size_t)x->shape.rank);
    return urc_node_make(g, URC_OP_TRANSPOSE, name, 13, 1, &x, &a, out, ok);
}

urc_node *urc_node_in_place_of(urc_graph *g, urc_node_index *pos, urc_node *old, urc_op op, const char *name, int nin) {
    int p = urc_node_index_get(pos, g, old);
    URC_ASSERT(p >= 0, "a fused node replaces a node that is not in the list");
    urc_node *n = urc_node_new(g, op, name, nin, 1);
    g->nodes.len--; /* appended by urc_node_new: it goes to old's place instead */
    g->nodes.items[p] = n;
    urc_node_index_set(pos, n, p);
    n->opset = old->opset;
    urc_value *y = old->out[0];
    n->out[0] = y;
    y->producer = n;
    y->producer_slot = 0;
    return n;
}

void urc_node_drop(urc_node *n) {
    for (int j = 0; j < n->nout; j++)
        if (n->out[j] && n->out[j]->producer == n) n->out[j]->producer = NULL;
    n->op = URC_OP_COUNT;
}

urc_value *urc_const_new(urc_graph *g, const char *name, urc_tensor *t) {
    urc_value *v = urc_value_new(g, name);
    v->dtype = t->dtype;
    v->shape = t->shape;
    v->has_type = true;
    v->data = t->data;
    free(t);
    return v;
}

void urc_value_set_type(urc_value *v, urc_dtype dt, const urc_shape *s) {
    v->dtype = dt;
    v->shape = *s;
    v->has_type = true;
}

void urc_replace_uses(urc_graph *g, urc_value *from, urc_value *to) {
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == from) n->in[j] = to;
    }
    for (int i = 0; i < g->outputs.len; i++)
        if (g->outputs.items[i] == from) g->outputs.items[i] = to;
}

void urc_graph_compact(urc_graph *g) {
    int k = 0;
    for (int i = 0; i < g->nodes.len; i++)
        if (g->nodes.items[i]->op != URC_OP_COUNT) g->nodes.items[k++] = g->nodes.items[i];
    g->nodes.len = k;
}

void urc_graph_place_appended(urc_graph *g, int n0, const int *before) {
    int na = g->nodes.len - n0;
    if (na <= 0) return;
    /* stable counting sort of the appended nodes by their place */
    int *start = urc_xcalloc((size_t)n0 + 2, sizeof(int));
    for (int j = 0; j < na; j++) start[before[j] + 1]++;
    for (int i = 0; i < n0; i++) start[i + 1] += start[i];
    urc_node **app = urc_xmalloc(sizeof(urc_node *) * (size_t)na),
             **all = urc_xmalloc(sizeof(urc_node *) * (size_t)(n0 + na));
    for (int j = 0; j < na; j++) app[start[before[j]]++] = g->nodes.items[n0 + j];
    /* start[i] is now the end of place i's run, i.e. the start of place i + 1's */
    int k = 0, a = 0;
    for (int i = 0; i < n0; i++) {
        for (; a < start[i]; a++) all[k++] = app[a];
        all[k++] = g->nodes.items[i];
    }
    memcpy(g->nodes.items, all, sizeof(urc_node *) * (size_t)(n0 + na));
    free(start);
    free(app);
    free(all);
}

/* A binary min-heap of ints in h[0..*n). */
static void heap_push(int *h, int *n, int x) {
    int i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > x) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static int heap_pop(int *h, int *n) {
    int top = h[0], x = h[--*n], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= x) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
    return top;
}

/* Kahn's algorithm, stable: among ready nodes the earliest in file order
 * goes first, so output is deterministic and close to the model's order. */
bool urc_graph_toposort(urc_graph *g) {
    int nn = g->nodes.len;
    int *indeg = urc_xcalloc((size_t)nn + 1, sizeof(int));
    urc_node **sorted = urc_xmalloc(sizeof(urc_node *) * ((size_t)nn + 1));
    /* Map producer node -> index. */
    for (int i = 0; i < nn; i++) g->nodes.items[i]->id = i;
    bool ok = true, in_order = true;
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++) {
            urc_value *v = n->in[j];
            if (!v) continue;
            if (v->producer) {
                indeg[i]++;
                const urc_node *p = v->producer; /* listed before n? */
                in_order &= p->id >= 0 && p->id < i && g->nodes.items[p->id] == p;
            } else if (!(v->flags & (URC_VAL_INPUT | URC_VAL_PARAM)) && !v->data) {
                urc_error(urc_node_where(n), "input '%s' is not produced by any node, graph input or initializer",
                          v->name);
                ok = false;
            }
        }
    }
    if (in_order) { /* already sorted: the stable sort would keep every node in place */
        free(indeg);
        free(sorted);
        return ok;
    }
    /* Consumers lists. */
    int *cons_start = urc_xcalloc((size_t)nn + 1, sizeof(int));
    int total = 0;
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && n->in[j]->producer) cons_start[n->in[j]->producer->id]++, total++;
    }
    for (int i = 0, s = 0; i <= nn; i++) {
        int c = i < nn ? cons_start[i] : 0;
        cons_start[i] = s;
        s += c;
    }
    int *fill = urc_xcalloc((size_t)nn + 1, sizeof(int));
    int *cons = urc_xmalloc(sizeof(int) * ((size_t)total + 1));
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && n->in[j]->producer) {
                int p = n->in[j]->producer->id;
                cons[cons_start[p] + fill[p]++] = i;
            }
    }
    /* Ready nodes in a binary min-heap of node indices: the earliest in file
     * order comes out first, in O(log n) (a scan of the ready list made wide
     * graphs quadratic). */
    int *ready = urc_xmalloc(sizeof(int) * ((size_t)nn + 1));
    int nready = 0, nsorted = 0;
    for (int i = 0; i < nn; i++)
        if (!indeg[i]) heap_push(ready, &nready, i);
    while (nready) {
        int i = heap_pop(ready, &nready);
        sorted[nsorted++] = g->nodes.items[i];
        for (int c = cons_start[i]; c < cons_start[i] + fill[i]; c++)
            if (--indeg[cons[c]] == 0) heap_push(ready, &nready, cons[c]);
    }
    if (nsorted != nn) {
        for (int i = 0; i < nn; i++)
            if (indeg[i]) {
                urc_error(urc_node_where(g->nodes.items[i]), "the graph has a cycle through this node");
                break;
            }
        ok = false;
    } else {
        if (nn) memcpy(g->nodes.items, sorted, sizeof(urc_node *) * (size_t)nn); /* items is NULL without nodes */
    }
    free(indeg);
    free(sorted);
    free(cons_start);
    free(fill);
    free(cons);
    free(ready);
    return ok;
}

void urc_node_index_set(urc_node_index *x, const urc_node *n, int pos) {
    URC_ASSERT(n->id >= 0, "node without an id");
    if (n->id >= x->size) {
        int size = x->size ? x->size : 64;
        while (size <= n->id) size *= 2;
        x->pos = urc_xrealloc(x->pos, sizeof(int) * (size_t)size);
        for (int i = x->size; i < size; i++) x->pos[i] = -1;
        x->size = size;
    }
    x->pos[n->id] = pos;
}

void urc_node_index_build(urc_node_index *x, const urc_graph *g) {
    x->size = g->next_id + 1; /* room for every id given so far */
    x->pos = urc_xmalloc(sizeof(int) * (size_t)x->size);
    for (int i = 0; i < x->size; i++) x->pos[i] = -1;
    for (int i = 0; i < g->nodes.len; i++) {
        const urc_node *n = g->nodes.items[i];
        URC_ASSERT(n->id >= x->size || x->pos[n->id] < 0, "two listed nodes share an id");
        urc_node_index_set(x, n, i);
    }
}

int urc_node_index_get(const urc_node_index *x, const urc_graph *g, const urc_node *n) {
    if (n->id >= 0 && n->id < x->size) {
        int p = x->pos[n->id];
        if (p >= 0 && p < g->nodes.len && g->nodes.items[p] == n) return p;
    }
    return -1;
}

void urc_node_index_free(urc_node_index *x) {
    free(x->pos);
    *x = (urc_node_index){0};
}

void urc_graph_count_uses(urc_graph *g) {
    for (int i = 0; i < g->values.len; i++) g->values.items[i]->nuses = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j]) n->in[j]->nuses++;
    }
}

urc_node **urc_graph_readers(const urc_graph *g) {
    urc_node **r = urc_xcalloc((size_t)g->values.len + 1, sizeof(urc_node *));
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && n->in[j]->id >= 0 && n->in[j]->id < g->values.len) r[n->in[j]->id] = n;
    }
    return r;
}

urc_node *urc_only_reader(urc_node *const *readers, const urc_value *v) {
    if (!v || v->nuses != 1 || (v->flags & URC_VAL_OUTPUT)) return NULL;
    return readers[v->id];
}

const char *urc_node_where(const urc_node *n) {
    return urc_fmt("node '%s' (%s)", n->name, n->op < URC_OP_COUNT ? urc_ops[n->op].name : "?");
}

urc_tensor urc_value_tensor(const urc_value *v) {
    urc_tensor t = {v->dtype, v->shape, v->data};
    return t;
}

bool urc_value_is_const(const urc_value *v) { return v && v->data; }

bool urc_const_ints(const urc_node *n, int input, int64_t *out, int max, int *count) {
    const urc_value *v = input < n->nin ? n->in[input] : NULL;
    if (!v || !v->data) {
        urc_error(urc_node_where(n), "input %d%s%s%s must be a constant known at compile time", input, v ? " ('" : "",
                  v ? v->name : "", v ? "')" : "");
        return false;
    }
    if (!urc_dtype_is_int(v->dtype)) {
        urc_error(urc_node_where(n), "input %d ('%s') must be an integer tensor, got %s", input, v->name,
                  urc_dtype_name(v->dtype));
        return false;
    }
    int64_t ne = urc_shape_numel(&v->shape);
    if (ne > max) {
        urc_error(urc_node_where(n), "input %d ('%s') has %lld elements, at most %d supported", input, v->name,
                  (long long)ne, max);
        return false;
    }
    for (int64_t i = 0; i < ne; i++) out[i] = urc_elem_i64(v->dtype, v->data, i);
    *count = (int)ne;
    return true;
}

bool urc_const_scalar(const urc_node *n, int input, double *out) {
    const urc_value *v = input < n->nin ? n->in[input] : NULL;
    if (!v || !v->data) {
        urc_error(urc_node_where(n), "input %d must be a constant known at compile time", input);
        return false;
    }
    if (urc_shape_numel(&v->shape) != 1) {
        urc_error(urc_node_where(n), "input %d ('%s') must have one element, got shape %s", input, v->name,
                  urc_shape_str(&v->shape));
        return false;
    }
    *out = urc_elem_f64(v->dtype, v->data, 0);
    return true;
}

/* ---- attributes ------------------------------------------------------- */

static urc_attr *attr_find(urc_attr_list *l, const char *name) {
    for (int i = 0; i < l->len; i++)
        if (!strcmp(l->items[i].name, name)) {
            l->items[i].used = true;
            return &l->items[i];
        }
    return NULL;
}

bool urc_attr_has(const urc_attr_list *l, const char *name) {
    for (int i = 0; i < l->len; i++)
        if (!strcmp(l->items[i].name, name)) return true;
    return false;
}

static bool attr_type_error(urc_attr_list *l, const urc_attr *a, const char *want) {
    urc_error(l->where, "attribute '%s' must be %s", a->name, want);
    return false;
}

bool urc_attr_int(urc_attr_list *l, const char *name, int64_t def, int64_t *out) {
    urc_attr *a = attr_find(l, name);
    *out = def;
    if (!a) return true;
    if (a->type != URC_AT_INT) return attr_type_error(l, a, "an integer");
    *out = a->i;
    return true;
}

bool urc_attr_float_any(urc_attr_list *l, const char *name, double def, double *out) {
    urc_attr *a = attr_find(l, name);
    *out = def;
    if (!a) return true;
    if (a->type == URC_AT_INT) { /* tolerated: exporters sometimes write 0 for 0.0 */
        *out = (double)a->i;
        return true;
    }
    if (a->type != URC_AT_FLOAT) return attr_type_error(l, a, "a float");
    *out = a->f;
    return true;
}

bool urc_attr_float(urc_attr_list *l, const char *name, double def, double *out) {
    if (!urc_attr_float_any(l, name, def, out)) return false;
    if (!isfinite(*out)) { /* a NaN slope or epsilon would silently turn every output into NaN */
        urc_error(l->where, "attribute '%s' must be a finite number, got %s", name,
                  isnan(*out) ? "NaN"
                  : *out > 0  ? "inf"
                              : "-inf");
        return false;
    }
    return true;
}

bool urc_attr_string(urc_attr_list *l, const char *name, const char *def, const char **out) {
    urc_attr *a = attr_find(l, name);
    *out = def;
    if (!a) return true;
    if (a->type != URC_AT_STRING) return attr_type_error(l, a, "a string");
    *out = a->s;
    return true;
}

bool urc_attr_ints(urc_attr_list *l, const char *name, int64_t *out, int max, int *n) {
    urc_attr *a = attr_find(l, name);
    *n = -1;
    if (!a) return true;
    if (a->type != URC_AT_INTS) return attr_type_error(l, a, "a list of integers");
    if (a->n > max) {
        urc_error(l->where, "attribute '%s' has %d values, at most %d supported", name, a->n, max);
        return false;
    }
    memcpy(out, a->ints, sizeof(int64_t) * (size_t)a->n);
    *n = a->n;
    return true;
}

bool urc_attr_floats(urc_attr_list *l, const char *name, double *out, int max, int *n) {
    urc_attr *a = attr_find(l, name);
    *n = -1;
    if (!a) return true;
    if (a->type != URC_AT_FLOATS) return attr_type_error(l, a, "a list of floats");
    if (a->n > max) {
        urc_error(l->where, "attribute '%s' has %d values, at most %d supported", name, a->n, max);
        return false;
    }
    memcpy(out, a->floats, sizeof(double) * (size_t)a->n);
    *n = a->n;
    return true;
}

bool urc_attr_tensor(urc_attr_list *l, const char *name, urc_tensor **out) {
    urc_attr *a = attr_find(l, name);
    *out = NULL;
    if (!a) return true;
    if (a->type != URC_AT_TENSOR || !a->t) return attr_type_error(l, a, "a tensor");
    *out = a->t;
    return true;
}
