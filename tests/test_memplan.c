/* test_memplan.c: invariants of the static memory plan on real models.
 *
 *   test_memplan MODEL.onnx...
 *
 * For each model: every run-time value has a place; two arena buffers whose
 * lifetimes overlap never overlap in memory (a view counts as its root and
 * extends the root's lifetime); every buffer lies inside the arena and is
 * aligned; the arena is at least the live-set lower bound and at most the
 * sum of all buffers; all of it for the node order the build keeps
 * (passes/schedule.c), which a hand-built block checks first. Prints arena /
 * lower bound per model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "driver.h"
#include "passes/memplan.h"
#include "passes/passes.h"

static int failures;
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            printf("FAIL %s: ", path);                                                                                 \
            printf(__VA_ARGS__);                                                                                       \
            printf("\n");                                                                                              \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

static void check_model(const char *path) {
    urc_diag_reset(path);
    urc_options o = {.import = {.max_bytes = (uint64_t)1 << 32}, .align = 64};
    urc_graph *g = urc_build_graph(path, &o);
    if (!g) {
        printf("FAIL %s: %s\n", path, urc_diag_message());
        failures++;
        return;
    }
    urc_memplan *p = urc_schedule_for_memory(g, 64); /* the plan of the order the build keeps */
    int nv = g->values.len, nn = g->nodes.len;
    int *def = calloc((size_t)nv, sizeof(int)), *last = calloc((size_t)nv, sizeof(int)),
        *root = calloc((size_t)nv, sizeof(int));
    for (int i = 0; i < nv; i++) def[i] = last[i] = -1, root[i] = i;
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nout; j++)
            if (n->out[j]) def[n->out[j]->id] = i;
        if (p->view[i]) root[n->out[0]->id] = root[n->in[0]->id];
        if (p->inplace[i]) /* the output took the place of the input it overwrites */
            for (int j = 0; j < n->nin; j++)
                if (n->in[j] && !n->in[j]->data && p->placed[n->in[j]->id] &&
                    p->ref[n->in[j]->id].space == URC_MEM_ARENA &&
                    p->ref[n->in[j]->id].offset == p->ref[n->out[0]->id].offset &&
                    p->ref[n->out[0]->id].space == URC_MEM_ARENA) {
                    root[n->out[0]->id] = root[n->in[j]->id];
                    break;
                }
    }
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && last[root[n->in[j]->id]] < i) last[root[n->in[j]->id]] = i;
        for (int j = 0; j < n->nout; j++) /* a group lives at least until each member is defined */
            if (n->out[j] && last[root[n->out[j]->id]] < i) last[root[n->out[j]->id]] = i;
    }
    int64_t total = 0;
    for (int i = 0; i < nv; i++) {
        urc_value *v = g->values.items[i];
        if (v->data || def[i] < 0) continue;
        CHECK(p->placed[i], "value '%s' has no place", v->name);
        if (!p->placed[i] || root[i] != i || p->ref[i].space != URC_MEM_ARENA) continue;
        int64_t sz = urc_shape_numel(&v->shape) * urc_dtype_size(v->dtype);
        total += sz;
        CHECK(p->ref[i].offset % 64 == 0, "'%s' at offset %lld is not aligned", v->name, (long long)p->ref[i].offset);
        CHECK(p->ref[i].offset + sz <= p->arena_bytes, "'%s' ends past the arena", v->name);
        for (int j = 0; j < i; j++) {
            urc_value *w = g->values.items[j];
            if (w->data || def[j] < 0 || !p->placed[j] || root[j] != j || p->ref[j].space != URC_MEM_ARENA) continue;
            int64_t sw = urc_shape_numel(&w->shape) * urc_dtype_size(w->dtype);
            int li = last[i] < def[i] ? def[i] : last[i], lj = last[j] < def[j] ? def[j] : last[j];
            bool live_together = def[i] <= lj && def[j] <= li;
            bool mem_overlap = p->ref[i].offset < p->ref[j].offset + sw && p->ref[j].offset < p->ref[i].offset + sz;
            CHECK(!(live_together && mem_overlap), "'%s' and '%s' are live together and overlap", v->name, w->name);
        }
    }
    CHECK(p->arena_bytes >= p->lower_bound, "arena %lld below the lower bound %lld", (long long)p->arena_bytes,
          (long long)p->lower_bound);
    CHECK(p->arena_bytes <= p->total_bytes, "arena %lld above the sum of buffers %lld", (long long)p->arena_bytes,
          (long long)p->total_bytes);
    printf("%s: arena %lld bytes, lower bound %lld (ratio %.3f), sum of intermediates %lld, %d buffers, order '%s'\n",
           path, (long long)p->arena_bytes, (long long)p->lower_bound,
           p->lower_bound ? (double)p->arena_bytes / (double)p->lower_bound : 1.0, (long long)p->total_bytes,
           p->nbuffers, p->strategy ? p->strategy : "-");
    (void)total;
    free(def);
    free(last);
    free(root);
}

static urc_value *mm(urc_graph *g, urc_value *a, urc_value *b, const char *name) {
    urc_value *in[2] = {a, b};
    bool ok = true;
    urc_node *n = urc_node_make(g, URC_OP_MATMUL, name, 13, 2, in, NULL, NULL, &ok);
    return ok ? n->out[0] : NULL;
}

static urc_value *weights(urc_graph *g, int64_t r, int64_t c) {
    urc_shape s = {2, {r, c}};
    return urc_const_new(g, NULL, urc_tensor_new(URC_DT_F32, &s));
}

/* A graph's input x, a 64x64 float matrix (the caller's). */
static urc_value *input64(urc_graph *g) {
    g->opset = 17;
    urc_value *x = urc_value_new(g, "x");
    urc_value_set_type(x, URC_DT_F32, &(urc_shape){2, {64, 64}});
    x->flags |= URC_VAL_INPUT;
    URC_VEC_PUSH(g->inputs, x);
    return x;
}

/* The memory-aware order (passes/schedule.c) on a residual block's shape, units of one 64x64 float matrix:
 * t1, t2 = x W; c1 = t1 t2; n1 = c1 Wh (half a unit); c2 = n1 Wv; c3 = t1 t2; y = c2 + c3 (the caller's).
 * In the model's order c2 runs while t1 and t2 wait for c3: 4 units live (t1, t2, c2, c3). Run c3, the last
 * reader of t1 and t2, before c2 and at most 3.5 are. The order is kept and the arena smaller; with c3
 * before c2 in the model's order already there is nothing to gain and the order stays. */
static void check_schedule(bool c3_first) {
    const char *path = c3_first ? "schedule (c3 before c2)" : "schedule";
    urc_diag_reset(path);
    urc_graph *g = urc_graph_new();
    urc_value *x = input64(g);
    urc_value *w = weights(g, 64, 64), *t1 = mm(g, x, w, "t1"), *t2 = mm(g, x, w, "t2"), *c3 = NULL;
    urc_value *c1 = mm(g, t1, t2, "c1"), *n1 = mm(g, c1, weights(g, 64, 32), "n1");
    if (c3_first) c3 = mm(g, t1, t2, "c3");
    urc_value *c2 = mm(g, n1, weights(g, 32, 64), "c2");
    if (!c3_first) c3 = mm(g, t1, t2, "c3");
    urc_value *in[2] = {c2, c3};
    bool ok = c3 && c2;
    urc_node *y = urc_node_make(g, URC_OP_ADD, "y", 14, 2, in, NULL, NULL, &ok);
    CHECK(ok, "graph not built: %s", urc_diag_message());
    if (!ok) return;
    y->out[0]->flags |= URC_VAL_OUTPUT;
    URC_VEC_PUSH(g->outputs, y->out[0]);
    urc_graph_count_uses(g);
    int64_t unit = 64 * 64 * 4;
    urc_node *before[8];
    for (int i = 0; i < g->nodes.len && i < 8; i++) before[i] = g->nodes.items[i];
    urc_memplan *old = urc_memplan_run(g, 64);
    urc_memplan *p = urc_schedule_for_memory(g, 64);
    int pc2 = -1, pc3 = -1;
    for (int i = 0; i < g->nodes.len; i++) {
        if (g->nodes.items[i]->out[0] == c2) pc2 = i;
        if (g->nodes.items[i]->out[0] == c3) pc3 = i;
    }
    CHECK(old->lower_bound == (c3_first ? 7 * unit / 2 : 4 * unit), "model order's lower bound %lld",
          (long long)old->lower_bound);
    CHECK(p->lower_bound == 7 * unit / 2 && p->arena_bytes == 7 * unit / 2, "scheduled arena %lld, lower bound %lld",
          (long long)p->arena_bytes, (long long)p->lower_bound);
    CHECK(pc3 >= 0 && pc3 < pc2, "c3 at %d, c2 at %d", pc3, pc2);
    bool same = g->nodes.len == 7;
    for (int i = 0; i < g->nodes.len && i < 7; i++) same = same && g->nodes.items[i] == before[i];
    CHECK(same == c3_first, c3_first ? "the order changed without gain" : "the new order was not kept");
    printf("%s: arena %lld -> %lld bytes\n", path, (long long)old->arena_bytes, (long long)p->arena_bytes);
}

/* A node's scratch (n->scratch, ir.h): live at that node alone. x -> t1 -> t2 -> t3 -> y (one unit each, y the
 * caller's), with one unit of scratch at t3's node: t1 is dead there, so the scratch may take its place, never t2's
 * or t3's (read and written by that node): an arena of 3 units, the lower bound. */
static void check_scratch(void) {
    const char *path = "scratch";
    urc_diag_reset(path);
    urc_graph *g = urc_graph_new();
    urc_value *x = input64(g);
    urc_value *w = weights(g, 64, 64), *t1 = mm(g, x, w, "t1"), *t2 = t1 ? mm(g, t1, w, "t2") : NULL;
    urc_value *t3 = t2 ? mm(g, t2, w, "t3") : NULL, *y = t3 ? mm(g, t3, w, "y") : NULL;
    CHECK(y != NULL, "graph not built: %s", urc_diag_message());
    if (!y) return;
    y->flags |= URC_VAL_OUTPUT;
    URC_VEC_PUSH(g->outputs, y);
    urc_value *sc = urc_value_new(g, "%scratch_t3");
    urc_value_set_type(sc, URC_DT_F32, &(urc_shape){1, {64 * 64}});
    t3->producer->scratch = sc;
    urc_graph_count_uses(g);
    urc_memplan *p = urc_memplan_run(g, 64);
    int64_t unit = 64 * 64 * 4, o = p->ref[sc->id].offset;
    CHECK(p->placed[sc->id] && p->ref[sc->id].space == URC_MEM_ARENA, "the scratch has no place in the arena");
    CHECK(o + unit <= p->ref[t2->id].offset || p->ref[t2->id].offset + unit <= o, "the scratch overlaps t2");
    CHECK(o + unit <= p->ref[t3->id].offset || p->ref[t3->id].offset + unit <= o, "the scratch overlaps t3");
    CHECK(p->lower_bound == 3 * unit && p->arena_bytes == 3 * unit, "arena %lld, lower bound %lld",
          (long long)p->arena_bytes, (long long)p->lower_bound);
    printf("scratch: arena %lld bytes\n", (long long)p->arena_bytes);
}

int main(int argc, char **argv) {
    check_scratch();
    check_schedule(false);
    check_schedule(true);
    for (int i = 1; i < argc; i++) check_model(argv[i]);
    printf("memplan: %d models, %d failures\n", argc - 1, failures);
    return failures ? 1 : 0;
}
