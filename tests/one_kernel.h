/* one_kernel.h: for the tests of loop-IR constructs end to end (test_dot.c, test_extern_call.c): a program of one
 * kernel, a Relu over x [1, n] lowered for CPU `cpu` (NULL: the options' default target), whose body is emptied
 * for the test to build its own; bx and by are x's and the output's buffers in that kernel. Include after
 * check.h, once per program. */
#ifndef URC_TEST_ONE_KERNEL_H
#define URC_TEST_ONE_KERNEL_H

#include "../compiler/driver.h"
#include "check.h"

typedef struct one_kernel {
    urc_program *P;
    urc_kernel *k;
    urc_value *x;
    int bx, by;
} one_kernel;

/* False (after counting a failure) when the program could not be made. */
static bool one_kernel_make(one_kernel *o, int64_t n, const char *cpu) {
    urc_graph *g = urc_graph_new();
    urc_value *x = urc_value_new(g, "x");
    urc_value_set_type(x, URC_DT_F32, &(urc_shape){2, {1, n}});
    x->flags |= URC_VAL_INPUT;
    URC_VEC_PUSH(g->inputs, x);
    bool ok = true;
    urc_node *nd = urc_node_make(g, URC_OP_RELU, "relu", 14, 1, &x, NULL, NULL, &ok);
    urc_value *y = nd->out[0];
    y->flags |= URC_VAL_OUTPUT;
    URC_VEC_PUSH(g->outputs, y);
    CHECK(ok);
    urc_options opts = {.align = 64};
    if (cpu) CHECK(urc_target_lookup(cpu, &opts.target));
    urc_program *P = urc_build_program(g, "model", &opts, NULL);
    CHECK(P && P->kernels.len == 1);
    if (!P || P->kernels.len != 1) return false;
    *o = (one_kernel){P, P->kernels.items[0], x, -1, -1};
    for (int i = 0; i < o->k->bufs.len; i++) {
        if (o->k->bufs.items[i].value == x) o->bx = i;
        if (o->k->bufs.items[i].value == y) o->by = i;
    }
    CHECK(o->bx >= 0 && o->by >= 0);
    o->k->body = urc_ls_block();
    return o->bx >= 0 && o->by >= 0;
}

#endif
