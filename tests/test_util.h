/* test_util.h: what the graph unit tests (test_einsum_pass.c, test_gradops.c,
 * test_norm_passes.c) share: a seeded LCG rnd(), uniform in [-1, 1) (seed
 * URC_TEST_SEED, 12345 unless the program defines it before the include), a
 * float32 tensor filled with it, and the number of nodes of one op in a
 * graph. Include it once per program, after ir/ir.h. */
#ifndef URC_TEST_UTIL_H
#define URC_TEST_UTIL_H

#include "ir/ir.h"

#ifndef URC_TEST_SEED
#define URC_TEST_SEED 12345
#endif

static unsigned rng = URC_TEST_SEED;
static double rnd(void) { /* uniform in [-1, 1) */
    rng = rng * 1103515245u + 12345u;
    return (double)((rng >> 8) & 0xffff) / 32768.0 - 1.0;
}

static inline urc_tensor *random_tensor(const urc_shape *s) {
    urc_tensor *t = urc_tensor_new(URC_DT_F32, s);
    for (int64_t i = 0; i < urc_tensor_numel(t); i++) ((float *)t->data)[i] = (float)rnd();
    return t;
}

static inline int count_ops(const urc_graph *g, urc_op op) {
    int c = 0;
    for (int i = 0; i < g->nodes.len; i++) c += g->nodes.items[i]->op == op;
    return c;
}

#endif
