/* schedule.c: a node order for a smaller arena (see passes.h).
 *
 * The passes keep the model's order (Kahn's algorithm, earliest node
 * first). Where two branches read the same large values, that order can run
 * the branch that allocates first and the branch that frees last: UNETR's
 * residual blocks run conv1 -> norm1 -> conv2 before the 1x1x1 projection
 * conv3 that is the last reader of the block's inputs, so the inputs, conv2's
 * output and conv3's output are live together. This pass lists the nodes
 * again with Kahn's algorithm, preferring among the ready nodes the earliest
 * one that frees at least as many bytes as it allocates (its inputs whose
 * last reader it is against its outputs), and keeps the new order only if
 * the memory plan of it is smaller than that of the old one: a heuristic
 * with a guard, so no model's arena grows.
 *
 * Near-linear: two binary heaps of ready nodes by old position (freeing,
 * allocating); a node's balance only falls as other readers of its inputs
 * run, and when a value is down to its last reader that reader moves to the
 * freeing heap if it qualifies (a stale entry in the other heap is skipped
 * when popped). */
#include <stdlib.h>

#include "../base/diag.h"
#include "memplan.h"
#include "passes.h"

typedef struct heap {
    int *a;
    int n;
} heap;

static void heap_push(heap *h, int x) {
    int i = h->n++;
    while (i > 0 && h->a[(i - 1) / 2] > x) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = x;
}

static int heap_pop(heap *h) {
    int top = h->a[0], x = h->a[--h->n], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->a[c + 1] < h->a[c]) c++;
        if (h->a[c] >= x) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n) h->a[i] = x;
    return top;
}

/* Bytes the arena holds for v while it lives (0: the caller's, a constant, or a view's). */
static int64_t arena_bytes(const urc_value *v) {
    if (!v || v->data || (v->flags & (URC_VAL_INPUT | URC_VAL_OUTPUT | URC_VAL_UPDATE))) return 0;
    if (v->producer && urc_op_has(v->producer->op, URC_TRAIT_VIEW)) return 0;
    return urc_shape_numel(&v->shape) * urc_dtype_size(v->dtype);
}

/* Whether node n reads v in an input slot before j (so v counts once per node). */
static bool seen_before(const urc_node *n, int j) {
    for (int i = 0; i < j; i++)
        if (n->in[i] == n->in[j]) return true;
    return false;
}

/* The greedy order into order[] (node positions). */
static void greedy_order(urc_graph *g, int *order) {
    int nn = g->nodes.len, nv = g->values.len;
    int *readers = urc_xcalloc((size_t)nv + 1, sizeof(int));     /* distinct unscheduled readers, by value id */
    int *waiting = urc_xcalloc((size_t)nn + 1, sizeof(int));     /* inputs whose producer has not run */
    int64_t *bal = urc_xcalloc((size_t)nn + 1, sizeof(int64_t)); /* bytes allocated - bytes freed */
    bool *done = urc_xcalloc((size_t)nn + 1, sizeof(bool)), *in_free = urc_xcalloc((size_t)nn + 1, sizeof(bool));
    /* readers of each value, as a CSR list */
    int *rstart = urc_xcalloc((size_t)nv + 2, sizeof(int));
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && !seen_before(n, j)) rstart[n->in[j]->id + 1]++, readers[n->in[j]->id]++;
    }
    for (int v = 0; v < nv; v++) rstart[v + 1] += rstart[v];
    int *rlist = urc_xmalloc(sizeof(int) * ((size_t)rstart[nv] + 1)), *fill = urc_xcalloc((size_t)nv + 1, sizeof(int));
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++) {
            urc_value *v = n->in[j];
            if (!v || seen_before(n, j)) continue;
            rlist[rstart[v->id] + fill[v->id]++] = i;
            if (v->producer) waiting[i]++;
            if (readers[v->id] == 1) bal[i] -= arena_bytes(v);
        }
        for (int j = 0; j < n->nout; j++) bal[i] += arena_bytes(n->out[j]);
    }
    heap hf = {urc_xmalloc(sizeof(int) * ((size_t)nn + 1)), 0}, ha = {urc_xmalloc(sizeof(int) * ((size_t)nn + 1)), 0};
    for (int i = 0; i < nn; i++)
        if (!waiting[i]) {
            if (bal[i] <= 0) in_free[i] = true, heap_push(&hf, i);
            else heap_push(&ha, i);
        }
    int k = 0;
    while (k < nn) {
        int i = -1;
        while (hf.n && i < 0) i = heap_pop(&hf), i = done[i] ? -1 : i;
        while (ha.n && i < 0) i = heap_pop(&ha), i = done[i] ? -1 : i;
        URC_ASSERT(i >= 0, "schedule: the graph has a cycle");
        done[i] = true;
        order[k++] = i;
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++) { /* n has read v: its last remaining reader may now free it */
            urc_value *v = n->in[j];
            if (!v || seen_before(n, j) || --readers[v->id] != 1) continue;
            for (int r = rstart[v->id]; r < rstart[v->id + 1]; r++) {
                int m = rlist[r];
                if (done[m]) continue;
                bal[m] -= arena_bytes(v);
                if (!waiting[m] && !in_free[m] && bal[m] <= 0) in_free[m] = true, heap_push(&hf, m);
                break;
            }
        }
        for (int j = 0; j < n->nout; j++) { /* its readers wait for one producer less */
            urc_value *v = n->out[j];
            if (!v) continue;
            for (int r = rstart[v->id]; r < rstart[v->id + 1]; r++) {
                int m = rlist[r];
                if (--waiting[m]) continue;
                if (bal[m] <= 0) in_free[m] = true, heap_push(&hf, m);
                else heap_push(&ha, m);
            }
        }
    }
    free(readers), free(waiting), free(bal), free(done), free(in_free), free(rstart), free(rlist);
    free(fill), free(hf.a), free(ha.a);
}

urc_memplan *urc_schedule_for_memory(urc_graph *g, int align) {
    urc_memplan *plan = urc_memplan_run(g, align);
    int nn = g->nodes.len;
    if (nn < 2) return plan;
    int *order = urc_xmalloc(sizeof(int) * (size_t)nn);
    greedy_order(g, order);
    bool same = true;
    for (int i = 0; i < nn && same; i++) same = order[i] == i;
    if (same) {
        free(order);
        return plan;
    }
    urc_node **old = urc_xmalloc(sizeof(urc_node *) * (size_t)nn);
    for (int i = 0; i < nn; i++) old[i] = g->nodes.items[i];
    for (int i = 0; i < nn; i++) g->nodes.items[i] = old[order[i]];
    urc_memplan *p2 = urc_memplan_run(g, align);
    if (p2->arena_bytes < plan->arena_bytes) {
        if (urc_verbose)
            urc_note("schedule: arena %.1f -> %.1f MiB in a memory-aware node order", plan->arena_bytes / 1048576.0,
                     p2->arena_bytes / 1048576.0);
        plan = p2;
    } else {
        for (int i = 0; i < nn; i++) g->nodes.items[i] = old[i];
    }
    free(order);
    free(old);
    return plan;
}
