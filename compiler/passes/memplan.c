/* memplan.c: liveness-based arena placement (see memplan.h). */
#include "memplan.h"

#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"

typedef struct buffer {
    int value;            /* value id */
    int64_t size;         /* bytes, aligned */
    int def, last;        /* node positions, inclusive */
    int64_t offset;
} buffer;

static bool is_view_op(urc_op op) {
    return op == URC_OP_RESHAPE || op == URC_OP_FLATTEN || op == URC_OP_SQUEEZE || op == URC_OP_UNSQUEEZE ||
           op == URC_OP_IDENTITY || op == URC_OP_DROPOUT;
}

/* Elementwise ops whose output may overwrite an input of the same shape:
 * each output element depends only on the input elements at its index. */
static bool is_inplace_op(urc_op op) {
    const urc_op_info *info = &urc_ops[op];
    return info->impl == urc_ops[URC_OP_RELU].impl || info->impl == urc_ops[URC_OP_ADD].impl ||
           info->impl == urc_ops[URC_OP_CAST].impl ||
           /* The norm family (Layer/Instance/Batch/GroupNorm, FusedNorm): every
            * kernel reads an element of X (or the residual) for the last time
            * at the index it then writes, and keeps no scratch in Y (ops/norm.c). */
           info->impl == urc_ops[URC_OP_INSTANCE_NORM].impl;
}

static int find(int *root, int x) {
    while (root[x] != x) {
        root[x] = root[root[x]];
        x = root[x];
    }
    return x;
}

static bool overlaps(const buffer *a, const buffer *b) { return a->def <= b->last && b->def <= a->last; }

typedef int (*cmp_fn)(const void *, const void *);
static int by_size(const void *x, const void *y) {
    const buffer *a = *(buffer *const *)x, *b = *(buffer *const *)y;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    return a->def - b->def;
}
static int by_def(const void *x, const void *y) {
    const buffer *a = *(buffer *const *)x, *b = *(buffer *const *)y;
    if (a->def != b->def) return a->def - b->def;
    return a->size > b->size ? -1 : a->size < b->size;
}
static int by_length(const void *x, const void *y) {
    const buffer *a = *(buffer *const *)x, *b = *(buffer *const *)y;
    int la = a->last - a->def, lb = b->last - b->def;
    if (la != lb) return lb - la;
    return a->size > b->size ? -1 : a->size < b->size;
}
static int by_area(const void *x, const void *y) {
    const buffer *a = *(buffer *const *)x, *b = *(buffer *const *)y;
    double aa = (double)a->size * (a->last - a->def + 1), ab = (double)b->size * (b->last - b->def + 1);
    if (aa != ab) return aa > ab ? -1 : 1;
    return a->def - b->def;
}

static int cmp_offset(const void *x, const void *y) {
    const buffer *a = *(buffer *const *)x, *b = *(buffer *const *)y;
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* Places buffers in the given order at the lowest offset where they fit
 * between already placed buffers that are live at the same time. */
static int64_t place(buffer **order, int n, buffer **scratch) {
    int64_t peak = 0;
    for (int i = 0; i < n; i++) {
        buffer *b = order[i];
        int nc = 0;
        for (int j = 0; j < i; j++)
            if (overlaps(order[j], b)) scratch[nc++] = order[j];
        qsort(scratch, (size_t)nc, sizeof(buffer *), cmp_offset);
        int64_t off = 0;
        for (int j = 0; j < nc; j++) {
            if (scratch[j]->offset - off >= b->size) break;
            int64_t end = scratch[j]->offset + scratch[j]->size;
            if (end > off) off = end;
        }
        b->offset = off;
        if (off + b->size > peak) peak = off + b->size;
    }
    return peak;
}

urc_memplan *urc_memplan_run(urc_graph *g, int align) {
    int nv = g->values.len, nn = g->nodes.len;
    urc_memplan *p = urc_alloc(sizeof *p);
    p->ref = urc_alloc(sizeof(urc_mref) * ((size_t)nv + 1));
    p->placed = urc_alloc(sizeof(bool) * ((size_t)nv + 1));
    p->view = urc_alloc(sizeof(bool) * ((size_t)nn + 1));
    p->inplace = urc_alloc(sizeof(bool) * ((size_t)nn + 1));
    int *def = urc_xmalloc(sizeof(int) * ((size_t)nv + 1)), *last = urc_xmalloc(sizeof(int) * ((size_t)nv + 1));
    int *root = urc_xmalloc(sizeof(int) * ((size_t)nv + 1));
    for (int i = 0; i < nv; i++) {
        def[i] = -1;
        last[i] = -1;
        root[i] = i;
    }
    /* Inputs: the caller's buffers, numbered in order; with parameter
     * regions, trainable parameters and optimizer state get offsets in the
     * params and state regions instead (64-byte aligned, in input order). */
    int nplain = 0;
    for (int i = 0; i < g->inputs.len; i++) {
        urc_value *v = g->inputs.items[i];
        int64_t bytes = urc_align_up(urc_shape_numel(&v->shape) * urc_dtype_size(v->dtype), align);
        if (g->param_regions && (v->flags & URC_VAL_PARAM)) {
            p->ref[v->id] = (urc_mref){URC_MEM_PARAMS, p->params_bytes, 0};
            p->params_bytes += bytes ? bytes : align;
        } else if (g->param_regions && (v->flags & URC_VAL_STATE)) {
            p->ref[v->id] = (urc_mref){URC_MEM_STATE, p->state_bytes, 0};
            p->state_bytes += bytes ? bytes : align;
        } else {
            p->ref[v->id] = (urc_mref){URC_MEM_INPUT, 0, nplain++};
        }
        p->placed[v->id] = true;
    }
    /* Values that overwrite a parameter or state (optimizer outputs). */
    for (int i = 0; i < nv; i++) {
        urc_value *v = g->values.items[i];
        if ((v->flags & URC_VAL_UPDATE) && v->updates && p->placed[v->updates->id]) {
            p->ref[v->id] = p->ref[v->updates->id];
            p->placed[v->id] = true;
        }
    }
    for (int i = 0; i < g->outputs.len; i++) {
        urc_value *v = g->outputs.items[i];
        if (p->placed[v->id] || v->data) continue; /* input or constant: copied at the end */
        p->ref[v->id] = (urc_mref){URC_MEM_OUTPUT, 0, i};
        p->placed[v->id] = true;
    }
    /* Lifetimes of each value on its own. */
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nout; j++)
            if (n->out[j]) def[n->out[j]->id] = i;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && last[n->in[j]->id] < i) last[n->in[j]->id] = i;
    }
    /* Values sharing memory form groups (union-find over root[]): a view
     * joins its input's group; an elementwise op whose input dies at that
     * op writes its output in place over the input. A group lives from its
     * first definition to its last use. */
    int *glast = urc_xmalloc(sizeof(int) * ((size_t)nv + 1));
    for (int i = 0; i < nv; i++) glast[i] = last[i];
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        urc_value *in0 = n->nin ? n->in[0] : NULL, *out0 = n->nout ? n->out[0] : NULL;
        if (!out0 || (out0->flags & URC_VAL_OUTPUT) || p->placed[out0->id]) continue;
        bool extra_out = n->nout > 1 && n->out[1]; /* Dropout's mask must be written */
        if (is_view_op(n->op) && in0 && !in0->data && in0->dtype == out0->dtype && !extra_out) {
            int r = find(root, in0->id);
            p->view[i] = true;
            root[out0->id] = r;
            if (glast[out0->id] > glast[r]) glast[r] = glast[out0->id];
            continue;
        }
        if (!is_inplace_op(n->op) || extra_out) continue;
        int64_t out_bytes = urc_shape_numel(&out0->shape) * urc_dtype_size(out0->dtype);
        for (int j = 0; j < n->nin; j++) {
            urc_value *v = n->in[j];
            if (!v || v->data || (v->flags & (URC_VAL_INPUT | URC_VAL_OUTPUT)) || !urc_shape_eq(&v->shape, &out0->shape) ||
                urc_dtype_size(v->dtype) != urc_dtype_size(out0->dtype))
                continue;
            int r = find(root, v->id);
            if (p->placed[r] || glast[r] != i || out_bytes == 0) continue; /* the group is read later */
            /* Only one operand may be the in-place one; another operand of the
             * same group (x * x) is fine: it is read at the same index. */
            p->inplace[i] = true;
            root[out0->id] = r;
            glast[r] = glast[out0->id] > i ? glast[out0->id] : i;
            break;
        }
    }
    for (int i = 0; i < nv; i++) {
        int r = find(root, i);
        if (glast[i] > glast[r]) glast[r] = glast[i];
        if (def[i] >= 0 && (def[r] < 0 || def[i] < def[r])) def[r] = def[i];
    }
    for (int i = 0; i < nv; i++) last[i] = glast[i];
    free(glast);
    /* Arena buffers. */
    buffer *bufs = urc_xcalloc((size_t)nv + 1, sizeof(buffer));
    int nb = 0;
    for (int i = 0; i < nv; i++) {
        urc_value *v = g->values.items[i];
        if (v->data || p->placed[i] || find(root, i) != i || def[i] < 0) continue;
        buffer *b = &bufs[nb++];
        b->value = i;
        b->size = urc_align_up(urc_shape_numel(&v->shape) * urc_dtype_size(v->dtype), align);
        if (!b->size) b->size = align;
        b->def = def[i];
        b->last = last[i] < def[i] ? def[i] : last[i];
        p->total_bytes += b->size;
    }
    p->nbuffers = nb;
    /* Lower bound: the largest live set. */
    int64_t *live = urc_xcalloc((size_t)nn + 1, sizeof(int64_t));
    for (int i = 0; i < nb; i++)
        for (int t = bufs[i].def; t <= bufs[i].last; t++) live[t] += bufs[i].size;
    int tpeak = 0;
    for (int t = 0; t < nn; t++)
        if (live[t] > p->lower_bound) p->lower_bound = live[t], tpeak = t;
    free(live);
    if (urc_verbose && nb) { /* what is live at the peak (to choose --recompute segments, say) */
        urc_note("memplan: peak %.1f MiB of live buffers at node '%s' (%d of %d); the largest live there:",
                 (double)p->lower_bound / 1048576.0, g->nodes.items[tpeak]->name, tpeak, nn);
        bool *shown = urc_xcalloc((size_t)nb + 1, sizeof(bool));
        for (int k = 0; k < 8; k++) {
            int bi = -1;
            for (int i = 0; i < nb; i++)
                if (!shown[i] && bufs[i].def <= tpeak && tpeak <= bufs[i].last && (bi < 0 || bufs[i].size > bufs[bi].size))
                    bi = i;
            if (bi < 0) break;
            shown[bi] = true;
            const urc_value *v = g->values.items[bufs[bi].value];
            urc_note("memplan:   %8.1f MiB  %s (%s%s), nodes %d..%d", (double)bufs[bi].size / 1048576.0,
                     urc_diag_one_line(v->name), urc_dtype_name(v->dtype), urc_shape_str(&v->shape), bufs[bi].def,
                     bufs[bi].last);
        }
        free(shown);
    }
    /* Try several orders, keep the best. */
    static const struct {
        const char *name;
        cmp_fn cmp;
    } orders[] = {{"size", by_size}, {"area", by_area}, {"start", by_def}, {"length", by_length}};
    buffer **order = urc_xmalloc(sizeof(buffer *) * ((size_t)nb + 1));
    buffer **scratch = urc_xmalloc(sizeof(buffer *) * ((size_t)nb + 1));
    int64_t *best_off = urc_xmalloc(sizeof(int64_t) * ((size_t)nb + 1));
    int64_t best = -1;
    for (size_t o = 0; o < URC_ARRAY_LEN(orders); o++) {
        for (int i = 0; i < nb; i++) order[i] = &bufs[i];
        qsort(order, (size_t)nb, sizeof(buffer *), orders[o].cmp);
        int64_t peak = place(order, nb, scratch);
        if (best < 0 || peak < best) {
            best = peak;
            p->strategy = orders[o].name;
            for (int i = 0; i < nb; i++) best_off[i] = bufs[i].offset;
        }
        if (best == p->lower_bound) break; /* optimal */
    }
    p->arena_bytes = best < 0 ? 0 : best;
    for (int i = 0; i < nb; i++) {
        p->ref[bufs[i].value] = (urc_mref){URC_MEM_ARENA, best_off[i], 0};
        p->placed[bufs[i].value] = true;
    }
    /* Views and in-place outputs share their group's place. */
    for (int i = 0; i < nv; i++) {
        int r = find(root, i);
        if (r != i && p->placed[r]) {
            p->ref[i] = p->ref[r];
            p->placed[i] = true;
        }
    }
    free(order);
    free(scratch);
    free(best_off);
    free(bufs);
    free(def);
    free(last);
    free(root);
    return p;
}
