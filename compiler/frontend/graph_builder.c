/* graph_builder.c: the policy every frontend shares (graph_builder.h). */
#include "graph_builder.h"

#include <string.h>

#include "../base/diag.h"

void *urc_gb_read_file(const char *where, const char *path, size_t *size, uint64_t max_bytes) {
    const char *err;
    void *buf = urc_read_file(path, size, max_bytes, &err);
    if (!buf) urc_error(where, "%s", err);
    return buf;
}

void urc_gb_begin(urc_gb *b, const urc_import_opts *opts) {
    *b = (urc_gb){.g = urc_graph_new(), .opts = opts, .ok = true};
}

static bool fail(urc_gb *b) {
    b->ok = false;
    return false;
}

urc_value *urc_gb_initializer(urc_gb *b, const char *name, urc_tensor *(*load)(void *ctx), void *ctx) {
    urc_graph *g = b->g;
    if (urc_graph_find(g, name)) {
        urc_error(urc_fmt("tensor '%s'", name), "initializer name is used twice");
        fail(b);
        return NULL;
    }
    urc_tensor *t = load(ctx);
    if (!t) {
        fail(b);
        return NULL;
    }
    urc_value *v = urc_const_new(g, urc_strdup(name), t);
    v->flags |= URC_VAL_PARAM;
    const urc_import_opts *o = b->opts;
    if (o->trainable && urc_dtype_is_float(v->dtype) && o->trainable(name, o->trainable_ctx)) {
        v->init = v->data; /* a run-time input from now on */
        v->data = NULL;
        v->flags |= URC_VAL_INPUT;
        URC_VEC_PUSH(g->inputs, v);
    }
    return v;
}

static urc_tensor *held(void *ctx) { return ctx; }

urc_value *urc_gb_weight(urc_gb *b, const char *name, urc_tensor *t) { return urc_gb_initializer(b, name, held, t); }

urc_value *urc_gb_constant(urc_gb *b, const char *name, urc_tensor *t) {
    if (urc_graph_find(b->g, name)) {
        urc_error(urc_fmt("tensor '%s'", name), "constant name is used twice");
        fail(b);
        urc_tensor_free(t);
        return NULL;
    }
    return urc_const_new(b->g, urc_strdup(name), t);
}

/* The input's shape: a pin, else the frozen value's, else the declared one. */
static bool input_shape(urc_gb *b, const char *where, const char *name, const urc_gb_decl *d, const urc_tensor *frozen,
                        urc_shape *s) {
    const urc_import_opts *o = b->opts;
    const urc_input_pin *pin = NULL;
    for (int i = 0; i < o->npins; i++)
        if (!strcmp(o->pins[i].name, name)) pin = &o->pins[i];
    urc_input_pin frozen_pin;
    if (!pin && frozen) {
        frozen_pin.name = name;
        frozen_pin.shape = frozen->shape;
        pin = &frozen_pin;
    }
    *s = (urc_shape){0};
    if (pin) {
        *s = pin->shape;
        const char *src = pin == &frozen_pin ? "the frozen value" : "--input-shape";
        if (d->rank >= 0 && d->rank != s->rank) {
            urc_error(where, "%s has rank %d but the model declares rank %d", src, s->rank, d->rank);
            return false;
        }
        for (int k = 0; d->rank >= 0 && k < s->rank; k++)
            if (!d->sym[k] && d->dims[k] != s->dims[k]) {
                urc_error(where, "%s sets dim %d to %lld but the model fixes it to %lld", src, k, (long long)s->dims[k],
                          (long long)d->dims[k]);
                return false;
            }
        return true;
    }
    if (d->rank < 0) {
        urc_error(where, "has no shape; give one with --input-shape %s=d0,d1,...", name);
        return false;
    }
    if (d->rank > URC_MAX_RANK) {
        urc_error(where, "rank %d is above the supported maximum of %d", d->rank, URC_MAX_RANK);
        return false;
    }
    s->rank = d->rank;
    for (int k = 0; k < s->rank; k++) {
        if (d->sym[k]) {
            urc_error(where, "dimension %d is symbolic ('%s'); pin it with --input-shape %s=d0,d1,...", k, d->sym[k],
                      name);
            return false;
        }
        if (d->dims[k] < 0) {
            urc_error(where, "dimension %d is negative (%lld)", k, (long long)d->dims[k]);
            return false;
        }
        s->dims[k] = d->dims[k];
    }
    return true;
}

bool urc_gb_input(urc_gb *b, const char *name, bool (*read_type)(void *ctx, const char *where, urc_gb_decl *d),
                  void *ctx) {
    urc_graph *g = b->g;
    const urc_import_opts *o = b->opts;
    const char *where = urc_fmt("input '%s'", name);
    urc_value *v = urc_graph_find(g, name);
    if (v && (v->data || v->init)) return true;
    if (v) {
        urc_error(where, "name is used twice");
        return fail(b);
    }
    const urc_frozen_input *fz = NULL;
    for (int k = 0; k < o->nfrozen; k++)
        if (!strcmp(o->frozen[k].name, name)) fz = &o->frozen[k];
    v = urc_value_new(g, urc_strdup(name));
    v->flags |= URC_VAL_INPUT;
    urc_gb_decl d = {.rank = -1};
    urc_shape s;
    if (!read_type(ctx, where, &d) || !input_shape(b, where, name, &d, fz ? fz->value : NULL, &s)) return fail(b);
    if (!urc_dims_fit(s.dims, s.rank, urc_dtype_size(d.dtype), o->max_bytes, NULL)) {
        urc_error(where, "shape %s of %s exceeds the limit of %llu bytes (raise it with --max-bytes)",
                  urc_shape_str(&s), urc_dtype_name(d.dtype), (unsigned long long)o->max_bytes);
        return fail(b);
    }
    urc_value_set_type(v, d.dtype, &s);
    if (!fz) {
        URC_VEC_PUSH(g->inputs, v);
        return true;
    }
    /* Frozen: a constant with the given value, no longer an input. */
    if (fz->value->dtype != v->dtype || !urc_shape_eq(&fz->value->shape, &v->shape)) {
        urc_error(where, "frozen value is %s%s, the model declares %s%s", urc_dtype_name(fz->value->dtype),
                  urc_shape_str(&fz->value->shape), urc_dtype_name(v->dtype), urc_shape_str(&v->shape));
        return fail(b);
    }
    size_t bytes = urc_tensor_bytes(fz->value);
    v->data = urc_xmalloc(bytes ? bytes : 1);
    memcpy(v->data, fz->value->data, bytes);
    v->flags = 0;
    return true;
}

bool urc_gb_end_inputs(urc_gb *b) {
    urc_graph *g = b->g;
    const urc_import_opts *o = b->opts;
    bool ok = true;
    for (int k = 0; k < o->npins; k++) {
        urc_value *v = urc_graph_find(g, o->pins[k].name);
        if (!v || ((v->flags & URC_VAL_PARAM) && !(v->flags & URC_VAL_INPUT))) {
            urc_error(urc_fmt("input '%s'", o->pins[k].name), "--input-shape names no input of the model");
            ok = fail(b);
        }
    }
    for (int k = 0; k < o->nfrozen; k++) {
        urc_value *v = urc_graph_find(g, o->frozen[k].name);
        if (!v || (!v->data && !(v->flags & URC_VAL_INPUT))) {
            urc_error(urc_fmt("input '%s'", o->frozen[k].name), "cannot be frozen: the model has no such input");
            ok = fail(b);
        }
    }
    return ok;
}

static urc_value *value_for(urc_graph *g, const char *name) {
    urc_value *v = urc_graph_find(g, name);
    return v ? v : urc_value_new(g, urc_strdup(name));
}

const char *urc_gb_where(const urc_node *n, const char *type) { return urc_fmt("node '%s' (%s)", n->name, type); }

urc_node *urc_gb_node(urc_gb *b, urc_op op, const char *type, const char *name, int nin, const char *const *in,
                      int nout, const char *const *out) {
    urc_graph *g = b->g;
    /* Unknown ops get an Identity stand-in until wired, then are marked for
     * removal (op URC_OP_COUNT, dropped by the compaction before outputs). */
    urc_node *n = urc_node_new(g, op == URC_OP_COUNT ? URC_OP_IDENTITY : op, name, nin, nout);
    for (int j = 0; j < nin; j++) n->in[j] = in[j] && *in[j] ? value_for(g, in[j]) : NULL;
    for (int j = 0; j < nout; j++) {
        n->out[j] = NULL;
        if (!out[j] || !*out[j]) continue;
        urc_value *v = value_for(g, out[j]);
        if (v->producer || v->data || (v->flags & URC_VAL_INPUT)) {
            urc_error(urc_gb_where(n, type), "output '%s' is already produced elsewhere", v->name);
            fail(b);
            continue;
        }
        v->producer = n;
        v->producer_slot = j;
        n->out[j] = v;
    }
    if (op == URC_OP_COUNT) n->op = URC_OP_COUNT;
    return n;
}

bool urc_gb_arity(urc_gb *b, urc_node *n, const char *type) {
    const urc_op_info *info = &urc_ops[n->op];
    if (n->nin < info->min_in || n->nin > info->max_in) {
        urc_error(urc_gb_where(n, type), "has %d inputs; %s takes %d to %d", n->nin, type, info->min_in, info->max_in);
        return fail(b);
    }
    if (n->nout < info->min_out || n->nout > info->max_out) {
        urc_error(urc_gb_where(n, type), "has %d outputs; %s gives %d to %d", n->nout, type, info->min_out,
                  info->max_out);
        return fail(b);
    }
    return true;
}

bool urc_gb_parse(urc_gb *b, urc_node *n, urc_attr_list *attrs) {
    const urc_op_info *info = &urc_ops[n->op];
    bool ok = true;
    if (info->impl->parse && !info->impl->parse(n, attrs)) ok = fail(b);
    for (int j = 0; j < attrs->len; j++)
        if (!attrs->items[j].used) {
            urc_error(attrs->where, "attribute '%s' is not supported", attrs->items[j].name);
            ok = fail(b);
        }
    return ok;
}

urc_value *urc_gb_add(urc_gb *b, const char *type, const char *name, int nin, const char *const *in, int nout,
                      const char *const *out, urc_attr_list *attrs) {
    urc_op op = urc_op_lookup(type);
    if (op == URC_OP_COUNT) {
        urc_error(urc_fmt("node '%s' (%s)", name, type), "op type not supported");
        fail(b);
        return NULL;
    }
    urc_node *n = urc_gb_node(b, op, type, urc_strdup(name), nin, in, nout, out);
    urc_attr_list none = {0};
    if (!attrs) attrs = &none;
    attrs->where = urc_gb_where(n, type);
    if (!urc_gb_arity(b, n, type) || !urc_gb_parse(b, n, attrs)) return NULL;
    return n->out[0];
}

bool urc_gb_output(urc_gb *b, const char *name, const urc_decl_type *decl) {
    urc_graph *g = b->g;
    if (!b->compacted) urc_graph_compact(g);
    b->compacted = true;
    b->noutputs++;
    urc_value *v = urc_graph_find(g, name);
    if (!v) {
        urc_error(urc_fmt("output '%s'", name), "is not produced by any node");
        return fail(b);
    }
    bool ok = true;
    if (v->flags & URC_VAL_OUTPUT) { /* listed before (the flag, not a scan of the list) */
        urc_error(urc_fmt("output '%s'", name), "is listed twice");
        ok = fail(b);
    }
    v->flags |= URC_VAL_OUTPUT;
    URC_VEC_PUSH(g->outputs, v);
    urc_decl_type none = {.rank = -1, .shape = ""};
    URC_VEC_PUSH(g->output_decls, decl ? *decl : none);
    return ok;
}

urc_graph *urc_gb_finish(urc_gb *b) {
    if (!b->compacted) urc_graph_compact(b->g);
    b->compacted = true;
    if (!b->noutputs) {
        urc_error("graph", "has no outputs");
        fail(b);
    }
    return b->ok ? b->g : NULL;
}
