/* lower.c: graph + memory plan -> loop program (see loop/lower.h).
 *
 * Walks nodes in order and calls each op's lower callback. Constants that
 * kernels read are packed into the weights blob (64-byte aligned, in first
 * use order); one-element constants become literals instead. Graph outputs
 * that are not computed by a node of their own (a graph input or a
 * constant passed through, or one value listed twice) get a copy kernel. */
#define _GNU_SOURCE
#include "lower_pass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"

urc_program *urc_lower_graph(urc_graph *g, urc_memplan *plan, const char *name, int align, const urc_target *target,
                             urc_program *share) {
    urc_program *P = urc_alloc(sizeof *P);
    P->name = name;
    P->align = align;
    P->target = *target;
    urc_lower L;
    urc_lower_init(&L, P, g, plan, target, share);
    P->arena_bytes = plan->arena_bytes;
    P->arena_lower_bound = plan->lower_bound;
    P->intermediate_bytes = plan->total_bytes;
    P->params_init_offset = -1;
    P->params_bytes = plan->params_bytes;
    P->state_bytes = plan->state_bytes;
    for (int i = 0; i < g->inputs.len; i++) {
        urc_value *v = g->inputs.items[i];
        const urc_mref *m = &plan->ref[v->id];
        if (m->space == URC_MEM_PARAMS || m->space == URC_MEM_STATE) {
            urc_pentry e = {v->name, v->dtype, m->offset, urc_shape_numel(&v->shape), m->space == URC_MEM_STATE};
            URC_VEC_PUSH(P->regions, e);
            continue;
        }
        if (v == g->label) { /* the entry point checks the labels */
            P->label_input = P->inputs.len;
            P->label_values = g->label_values;
            P->nclasses = g->nclasses;
        }
        urc_io io = {v->name, urc_fmt("in_%s", urc_lower_ident(v->name)), v->dtype, v->shape};
        URC_VEC_PUSH(P->inputs, io);
    }
    for (int i = 0; i < g->outputs.len; i++) {
        urc_value *v = g->outputs.items[i];
        urc_io io = {v->name, urc_fmt("out_%s", urc_lower_ident(v->name)), v->dtype, v->shape};
        URC_VEC_PUSH(P->outputs, io);
    }
    /* Unique C names for inputs and outputs: a name taken by an earlier one
     * gets the first suffix _2, _3, ... that no earlier name has (inputs 'x_2',
     * 'x', 'x.' give in_x_2, in_x, in_x_3: one renaming pass could collide
     * with a name before it). Maps of the names so far and of the next
     * suffix to try per base name keep this linear. Inputs and outputs
     * differ by prefix. */
    for (int pass = 0; pass < 2; pass++) {
        URC_VEC(urc_io) *list = pass ? (void *)&P->outputs : (void *)&P->inputs;
        urc_map taken = {0}, next = {0};
        for (int i = 0; i < list->len; i++) {
            const char *base = list->items[i].cname, *name = base;
            if (urc_map_get(&taken, name)) {
                intptr_t k = (intptr_t)urc_map_get(&next, base);
                if (k < 2) k = 2;
                do name = urc_fmt("%s_%ld", base, (long)k++);
                while (urc_map_get(&taken, name));
                urc_map_put(&next, base, (void *)k);
            }
            urc_map_put(&taken, name, (void *)1);
            list->items[i].cname = name;
        }
        urc_map_free(&taken);
        urc_map_free(&next);
    }
    bool ok = true;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        if (plan->view[i]) continue;
        if (!urc_lower_node(&L, n)) ok = false;
    }
    /* Outputs not written by their producer. */
    for (int i = 0; i < g->outputs.len; i++) {
        urc_value *v = g->outputs.items[i];
        bool direct = plan->placed[v->id] && plan->ref[v->id].space == URC_MEM_OUTPUT && plan->ref[v->id].index == i;
        if (direct) continue;
        const char *cname = urc_fmt("k%d_output_copy", L.nkernels++);
        urc_kernel *k = urc_kernel_new(cname, urc_fmt("copy into output '%s'", v->name));
        urc_call c = {k, NULL};
        URC_VEC_PUSH(P->kernels, k);
        URC_VEC_PUSH(P->calls, c);
        /* Bind the source, then the output slot by hand. */
        int bi = urc_lower_in(&L, k, v, "x");
        int bo = urc_kernel_buf(k, "y", v->dtype, urc_shape_numel(&v->shape), URC_KB_OUT, NULL);
        urc_call *cc = &P->calls.items[P->calls.len - 1];
        urc_mref *args = urc_alloc(sizeof(urc_mref) * 2);
        args[0] = cc->args[0];
        args[1] = (urc_mref){URC_MEM_OUTPUT, 0, i};
        cc->args = args;
        urc_shape flat = {1, {urc_shape_numel(&v->shape)}};
        int iv[1];
        urc_ls *body = urc_loop_nest(k, k->body, &flat, iv, URC_FOR_PARALLEL);
        urc_ls_store(body, bo, urc_lx_var(k, iv[0]), urc_lx_load(k, bi, urc_lx_var(k, iv[0])));
    }
    /* The parameters' initial values, laid out as the params region, at the
     * end of the weights blob (copied by NAME_train_init). */
    if (P->params_bytes) {
        int64_t off = urc_align_up(P->weights_bytes, align), end = off + P->params_bytes;
        P->weights = urc_xrealloc(P->weights, (size_t)end);
        memset(P->weights + P->weights_bytes, 0, (size_t)(end - P->weights_bytes));
        for (int i = 0; i < g->inputs.len; i++) {
            urc_value *v = g->inputs.items[i];
            const urc_mref *m = &plan->ref[v->id];
            if (m->space == URC_MEM_PARAMS && v->init)
                memcpy(P->weights + off + m->offset, v->init,
                       (size_t)(urc_shape_numel(&v->shape) * urc_dtype_size(v->dtype)));
        }
        P->params_init_offset = off;
        P->weights_bytes = end;
    }
    P->index_bits = P->max_buf_elems < ((int64_t)1 << 30) ? 32 : 64;
    P->weights_checksum = urc_fnv1a64(P->weights, (size_t)P->weights_bytes, URC_FNV_INIT);
    urc_lower_finish(&L);
    return ok ? P : NULL;
}
