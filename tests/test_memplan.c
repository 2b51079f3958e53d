/* test_memplan.c: invariants of the static memory plan on real models.
 *
 *   test_memplan MODEL.onnx...
 *
 * For each model: every run-time value has a place; two arena buffers whose
 * lifetimes overlap never overlap in memory (a view counts as its root and
 * extends the root's lifetime); every buffer lies inside the arena and is
 * aligned; the arena is at least the live-set lower bound and at most the
 * sum of all buffers. Prints arena / lower bound per model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "driver.h"

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
    urc_memplan *p = urc_memplan_run(g, 64);
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

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) check_model(argv[i]);
    printf("memplan: %d models, %d failures\n", argc - 1, failures);
    return failures ? 1 : 0;
}
