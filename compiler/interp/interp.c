/* interp.c: runs a graph on the reference kernels (see interp.h). */
#include "interp.h"

#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"

int64_t urc_bcast_offset(const urc_shape *out, const urc_shape *in, int64_t i) {
    int64_t off = 0, stride = 1;
    for (int d = out->rank - 1, e = in->rank - 1; d >= 0; d--, e--) {
        int64_t c = i % out->dims[d];
        i /= out->dims[d];
        if (e >= 0) {
            if (in->dims[e] != 1) off += c * stride;
            stride *= in->dims[e];
        }
    }
    return off;
}

void urc_unravel(const urc_shape *s, int64_t i, int64_t *idx) {
    for (int d = s->rank - 1; d >= 0; d--) {
        idx[d] = s->dims[d] ? i % s->dims[d] : 0;
        i = s->dims[d] ? i / s->dims[d] : 0;
    }
}

bool urc_interp_run(urc_graph *g, urc_tensor *const *inputs, urc_tensor **outputs) {
    return urc_interp_run_observed(g, inputs, outputs, NULL, NULL);
}

bool urc_interp_run_observed(urc_graph *g, urc_tensor *const *inputs, urc_tensor **outputs, urc_interp_observer obs,
                             void *ctx) {
    int nv = g->values.len;
    urc_tensor **val = urc_xcalloc((size_t)nv + 1, sizeof(urc_tensor *));
    bool *owned = urc_xcalloc((size_t)nv + 1, sizeof(bool));
    int *last_use = urc_xmalloc(sizeof(int) * ((size_t)nv + 1));
    for (int i = 0; i < nv; i++) last_use[i] = -1;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j]) last_use[n->in[j]->id] = i;
    }
    for (int i = 0; i < g->outputs.len; i++) last_use[g->outputs.items[i]->id] = g->nodes.len;
    bool ok = true;
    for (int i = 0; i < g->inputs.len && ok; i++) {
        urc_value *v = g->inputs.items[i];
        if (inputs[i]->dtype != v->dtype || !urc_shape_eq(&inputs[i]->shape, &v->shape)) {
            urc_error(urc_fmt("input '%s'", v->name), "expected %s%s, got %s%s", urc_dtype_name(v->dtype),
                      urc_shape_str(&v->shape), urc_dtype_name(inputs[i]->dtype), urc_shape_str(&inputs[i]->shape));
            ok = false;
        }
        val[v->id] = inputs[i];
        if (ok && obs) obs(ctx, v, inputs[i]);
    }
    /* Constants are wrapped without copying. */
    urc_tensor *consts = urc_xcalloc((size_t)nv + 1, sizeof(urc_tensor));
    for (int i = 0; i < nv; i++) {
        urc_value *v = g->values.items[i];
        if (v->data) {
            consts[i] = urc_value_tensor(v);
            val[i] = &consts[i];
        }
    }
    for (int i = 0; i < g->nodes.len && ok; i++) {
        urc_node *n = g->nodes.items[i];
        /* (input hardening) as many operands as the op table allows (Concat: 1024) */
        urc_tensor **ins = urc_xcalloc((size_t)n->nin + 1, sizeof *ins),
                   **outs = urc_xcalloc((size_t)n->nout + 1, sizeof *outs);
        for (int j = 0; j < n->nin; j++)
            if (n->in[j]) {
                ins[j] = val[n->in[j]->id];
                URC_ASSERT(ins[j], "interpreter input not computed");
            }
        for (int j = 0; j < n->nout; j++)
            if (n->out[j]) {
                outs[j] = urc_tensor_new(n->out[j]->dtype, &n->out[j]->shape);
                val[n->out[j]->id] = outs[j];
                owned[n->out[j]->id] = true;
            }
        bool evaluated = urc_ops[n->op].impl->eval(n, ins, outs);
        for (int j = 0; j < n->nout && evaluated && obs; j++)
            if (n->out[j]) obs(ctx, n->out[j], outs[j]);
        free(ins);
        free(outs);
        if (!evaluated) {
            ok = false;
            break;
        }
        /* Free what is no longer needed. */
        for (int j = 0; j < n->nin; j++) {
            urc_value *v = n->in[j];
            if (v && last_use[v->id] == i && owned[v->id]) {
                urc_tensor_free(val[v->id]);
                val[v->id] = NULL;
                owned[v->id] = false;
            }
        }
        for (int j = 0; j < n->nout; j++) {
            urc_value *v = n->out[j];
            if (v && last_use[v->id] < 0 && owned[v->id]) {
                urc_tensor_free(val[v->id]);
                val[v->id] = NULL;
                owned[v->id] = false;
            }
        }
    }
    for (int i = 0; i < g->outputs.len; i++) {
        urc_value *v = g->outputs.items[i];
        outputs[i] = NULL;
        if (!ok) continue;
        urc_tensor *t = val[v->id];
        if (owned[v->id] && !(v->flags & URC_VAL_INPUT)) {
            /* The same value may be listed as output twice: copy the second. */
            outputs[i] = t;
            owned[v->id] = false;
        } else {
            outputs[i] = urc_tensor_new(t->dtype, &t->shape);
            memcpy(outputs[i]->data, t->data, urc_tensor_bytes(t));
        }
    }
    for (int i = 0; i < nv; i++)
        if (owned[i]) urc_tensor_free(val[i]);
    free(val);
    free(owned);
    free(last_use);
    free(consts);
    return ok;
}
