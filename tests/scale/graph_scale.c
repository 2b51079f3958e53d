/* graph_scale.c: graph algorithms at 10^5 nodes, on graphs built by hand
 * (shapes an ONNX export does not produce).
 *
 *   test_graph_scale
 *
 * - DCE of a dead chain listed backwards: every node goes, the live one
 *   stays, and the time per node stays about the same from 20000 to
 *   200000 nodes (sweeps until nothing changed took one sweep per node:
 *   quadratic, 10x the time per node).
 * - Topological sort of a wide graph listed out of order (a join chain
 *   before the branches it joins): a valid order, earliest ready node first,
 *   and the same time per node at both sizes (a scan of the ready list per
 *   node was quadratic).
 * Times are measured relative to a linear walk of the same graph, so that
 * 10x the nodes no longer fitting the caches does not count.
 * - Memory placement (urc_memplan_first_fit) equals a naive first fit that
 *   scans every earlier buffer, on random buffer sets placed in random
 *   order, sorted by def (one run), and by size then def (size classes).
 * Exit status 0 iff everything passes. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/diag.h"
#include "ir/ir.h"
#include "passes/memplan.h"
#include "passes/passes.h"

static int failures;
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            printf("FAIL: ");                                                                                          \
            printf(__VA_ARGS__);                                                                                       \
            printf("\n");                                                                                              \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static urc_node *unary(urc_graph *g, urc_op op, urc_value *x) {
    urc_node *n = urc_node_new(g, op, NULL, 1, 1);
    n->in[0] = x;
    n->out[0] = urc_value_new(g, NULL);
    n->out[0]->producer = n;
    return n;
}

static urc_node *binary(urc_graph *g, urc_op op, urc_value *a, urc_value *b) {
    urc_node *n = urc_node_new(g, op, NULL, 2, 1);
    n->in[0] = a;
    n->in[1] = b;
    n->out[0] = urc_value_new(g, NULL);
    n->out[0]->producer = n;
    return n;
}

static urc_value *graph_input(urc_graph *g) {
    urc_value *x = urc_value_new(g, "x");
    x->flags |= URC_VAL_INPUT;
    URC_VEC_PUSH(g->inputs, x);
    return x;
}

static void reverse_nodes(urc_graph *g, int from, int to) { /* items [from, to) */
    for (int i = from, j = to - 1; i < j; i++, j--) {
        urc_node *t = g->nodes.items[i];
        g->nodes.items[i] = g->nodes.items[j];
        g->nodes.items[j] = t;
    }
}

/* The time of a linear walk over g (urc_graph_count_uses, the least of a
 * few): what a pass's time is divided by, so that the ratios below measure
 * the algorithm and not the caches (10x the nodes may no longer fit them). */
static double walk_time(urc_graph *g) {
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t0 = cpu_seconds();
        urc_graph_count_uses(g);
        double t = cpu_seconds() - t0;
        if (t < best) best = t;
    }
    return best > 1e-7 ? best : 1e-7;
}

/* DCE of n dead Relus in a chain, listed last first, and one live Relu;
 * returns its time over a walk's. */
static double dce_chain(int n) {
    urc_graph *g = urc_graph_new();
    urc_value *x = graph_input(g);
    urc_value *v = x;
    for (int i = 0; i < n; i++) v = unary(g, URC_OP_RELU, v)->out[0];
    reverse_nodes(g, 0, n);
    urc_node *live = unary(g, URC_OP_RELU, x);
    live->out[0]->flags |= URC_VAL_OUTPUT;
    URC_VEC_PUSH(g->outputs, live->out[0]);
    double w = walk_time(g), t0 = cpu_seconds();
    bool ok = urc_pass_dce(g);
    double t = cpu_seconds() - t0;
    CHECK(ok && g->nodes.len == 1 && g->nodes.items[0] == live, "dce of a %d-node dead chain left %d nodes", n,
          g->nodes.len);
    return t / w;
}

/* n Relu branches of x joined by a chain of Adds, the Adds listed first;
 * returns the sort's time over a walk's. */
static double toposort_wide(int n) {
    if (n < 2) return 0;
    urc_graph *g = urc_graph_new();
    urc_value *x = graph_input(g);
    urc_node **br = malloc(sizeof(urc_node *) * (size_t)n);
    for (int i = 0; i < n; i++) br[i] = unary(g, URC_OP_RELU, x);
    urc_value *s = br[0]->out[0];
    for (int i = 1; i < n; i++) s = binary(g, URC_OP_ADD, s, br[i]->out[0])->out[0];
    s->flags |= URC_VAL_OUTPUT;
    URC_VEC_PUSH(g->outputs, s);
    /* the list: the Adds, then the branches */
    urc_node **all = malloc(sizeof(urc_node *) * (size_t)g->nodes.len);
    int k = 0;
    for (int i = n; i < g->nodes.len; i++) all[k++] = g->nodes.items[i];
    for (int i = 0; i < n; i++) all[k++] = g->nodes.items[i];
    memcpy(g->nodes.items, all, sizeof(urc_node *) * (size_t)k);
    double w = walk_time(g), t0 = cpu_seconds();
    bool ok = urc_graph_toposort(g);
    double t = cpu_seconds() - t0;
    CHECK(ok && urc_graph_verify(g, "toposort"), "toposort of %d branches: not a valid order", n);
    /* stable: the first branch in the list is ready first; the first Add
     * waits for the first two branches and then comes before the others */
    CHECK(g->nodes.items[0] == br[0] && g->nodes.items[1] == br[1] && g->nodes.items[2]->op == URC_OP_ADD,
          "toposort of %d branches: not the earliest ready node first", n);
    free(br);
    free(all);
    return t / w;
}

/* f(n): a pass's time over a linear walk's on a graph of about n nodes.
 * Near-linear: about the same for 20000 and 200000 nodes (a quadratic
 * pass: 10x). */
static void ratio(const char *what, double (*f)(int)) {
    double small = f(20000), big = f(200000);
    if (big / small >= 3) { /* once more before failing: other load only adds */
        double s2 = f(20000), b2 = f(200000);
        if (b2 / s2 < big / small) small = s2, big = b2;
    }
    printf("%s: %.1f walks at 20000 nodes, %.1f at 200000 nodes (x%.2f)\n", what, small, big, big / small);
    CHECK(big / small < 3, "%s: 10x the nodes took %.1fx the time (relative to a walk of the graph)", what,
          10 * big / small);
}

/* ---- placement ------------------------------------------------------------ */

/* First fit by scanning every earlier buffer (the placement's definition). */
static void naive_first_fit(int n, const int64_t *size, const int *def, const int *last, int64_t *off) {
    int64_t *lo = malloc(sizeof(int64_t) * (size_t)(n + 1)), *hi = malloc(sizeof(int64_t) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        int k = 0;
        for (int j = 0; j < i; j++)
            if (def[j] <= last[i] && def[i] <= last[j]) { /* insertion sort by offset */
                int p = k++;
                while (p > 0 && lo[p - 1] > off[j]) {
                    lo[p] = lo[p - 1];
                    hi[p] = hi[p - 1];
                    p--;
                }
                lo[p] = off[j];
                hi[p] = off[j] + size[j];
            }
        int64_t x = 0;
        for (int j = 0; j < k && lo[j] - x < size[i]; j++)
            if (hi[j] > x) x = hi[j];
        off[i] = x;
    }
    free(lo);
    free(hi);
}

static uint64_t rng_state = 88172645463325252ULL;
static int rnd(int n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (int)(rng_state % (uint64_t)n);
}

typedef struct rb {
    int64_t size;
    int def, last;
} rb;
static int by_def(const void *a, const void *b) {
    const rb *x = a, *y = b;
    return x->def != y->def ? x->def - y->def : (x->size > y->size ? -1 : x->size < y->size);
}
static int by_size(const void *a, const void *b) {
    const rb *x = a, *y = b;
    return x->size != y->size ? (x->size > y->size ? -1 : 1) : x->def - y->def;
}

static void placement(void) {
    int cases = 0;
    for (int c = 0; c < 600; c++) {
        int n = 1 + rnd(c < 500 ? 60 : 400), span = 1 + rnd(3 * n);
        rb *b = malloc(sizeof(rb) * (size_t)n);
        for (int i = 0; i < n; i++) {
            b[i].size = 64 * (1 + rnd(c % 3 ? 4 : 40)); /* few sizes (ties, runs) or many */
            b[i].def = rnd(span);
            b[i].last = b[i].def + (rnd(4) ? rnd(8) : rnd(span)); /* mostly short, some long lifetimes */
        }
        if (c % 3 == 1) qsort(b, (size_t)n, sizeof(rb), by_def);
        if (c % 3 == 2) qsort(b, (size_t)n, sizeof(rb), by_size);
        int64_t size[400], off[400], want[400];
        int def[400], last[400];
        for (int i = 0; i < n; i++) size[i] = b[i].size, def[i] = b[i].def, last[i] = b[i].last;
        int64_t peak = urc_memplan_first_fit(n, size, def, last, off);
        naive_first_fit(n, size, def, last, want);
        int64_t wpeak = 0;
        for (int i = 0; i < n; i++) {
            if (want[i] + size[i] > wpeak) wpeak = want[i] + size[i];
            if (off[i] != want[i]) {
                CHECK(0, "placement case %d: buffer %d (size %lld, [%d, %d]) at %lld, first fit puts it at %lld", c, i,
                      (long long)size[i], def[i], last[i], (long long)off[i], (long long)want[i]);
                break;
            }
        }
        CHECK(peak == wpeak, "placement case %d: arena %lld, first fit %lld", c, (long long)peak, (long long)wpeak);
        cases++;
        free(b);
    }
    printf("placement: %d random cases equal to the naive first fit\n", cases);
}

int main(void) {
    ratio("dce of a dead chain listed backwards", dce_chain);
    ratio("toposort of a wide graph listed out of order", toposort_wide);
    placement();
    printf("graph_scale: %d failures\n", failures);
    return failures ? 1 : 0;
}
