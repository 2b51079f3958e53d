/* test_einsum_pass.c: unit test of urc_pass_einsum_to_matmul.
 *
 * For each case a one-Einsum graph is built by hand, inferred, run through
 * the reference interpreter, rewritten by the pass, checked for structure
 * (which ops remain, how many Transposes) and run again: the results must
 * agree. Exit status 0 iff every case passes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "interp/interp.h"
#include "ir/ir.h"
#include "passes/passes.h"
#include "test_util.h"

typedef struct tcase {
    const char *eq;
    int nin;
    urc_shape in[2];
    bool const_b;   /* operand 1 is an initializer */
    int matmuls;    /* expected after the pass: 0 = the Einsum stays */
    int transposes; /* expected Transpose nodes after the pass */
} tcase;

static const tcase cases[] = {
    /* MONAI UNETR attention */
    {"blxd,blyd->blxy", 2, {{4, {1, 4, 8, 6}}, {4, {1, 4, 8, 6}}}, false, 1, 1},
    {"bhxy,bhyd->bhxd", 2, {{4, {1, 3, 8, 8}}, {4, {1, 3, 8, 5}}}, false, 1, 0},
    /* other products */
    {"ij,jk->ik", 2, {{2, {3, 4}}, {2, {4, 5}}}, false, 1, 0},
    {"ij,kj->ik", 2, {{2, {3, 4}}, {2, {5, 4}}}, false, 1, 1},
    {"ikj,jl->lik", 2, {{3, {2, 3, 4}}, {2, {4, 5}}}, false, 1, 1},
    {"bij,kj->bik", 2, {{3, {2, 3, 4}}, {2, {5, 4}}}, true, 1, 0}, /* B's transpose folded */
    {"i,i", 2, {{1, {7}}, {1, {7}}}, false, 1, 0},
    {"xab,aby->xy", 2, {{3, {3, 2, 4}}, {3, {2, 4, 5}}}, false, 1, 0},
    {"...ij,...jk", 2, {{3, {2, 3, 4}}, {3, {2, 4, 6}}}, false, 1, 0},
    {"bxhd,byhd->bhxy", 2, {{4, {2, 5, 3, 4}}, {4, {2, 6, 3, 4}}}, false, 1, 2},
    /* not matrix products: the Einsum stays */
    {"ii->i", 1, {{2, {4, 4}}}, false, 0, 0},
    {"ij,ij->ij", 2, {{2, {3, 4}}, {2, {3, 4}}}, false, 0, 0},
    {"i,j->ij", 2, {{1, {3}}, {1, {4}}}, false, 0, 0},
    {"ij,jk->k", 2, {{2, {3, 4}}, {2, {4, 5}}}, false, 0, 0},
    {"ij,jk->ik", 2, {{2, {3, 1}}, {2, {4, 5}}}, false, 0, 0}, /* size-1 broadcast of j */
    {"iij,jk->ik", 2, {{3, {3, 3, 4}}, {2, {4, 5}}}, false, 0, 0},
};

static bool run_case(const tcase *tc) {
    urc_diag_reset(tc->eq);
    urc_graph *g = urc_graph_new();
    g->opset = 17;
    urc_tensor *inputs[2] = {0};
    urc_node *e = urc_node_new(g, URC_OP_EINSUM, "att", tc->nin, 1);
    int ninputs = 0;
    for (int j = 0; j < tc->nin; j++) {
        urc_tensor *t = random_tensor(&tc->in[j]);
        if (j == 1 && tc->const_b) {
            e->in[j] = urc_const_new(g, "w", t);
            e->in[j]->flags |= URC_VAL_PARAM;
            continue;
        }
        urc_value *v = urc_value_new(g, j ? "b" : "a");
        urc_value_set_type(v, URC_DT_F32, &tc->in[j]);
        v->flags |= URC_VAL_INPUT;
        URC_VEC_PUSH(g->inputs, v);
        inputs[ninputs++] = t;
        e->in[j] = v;
    }
    urc_value *y = urc_value_new(g, "y");
    y->producer = e;
    y->flags |= URC_VAL_OUTPUT;
    e->out[0] = y;
    URC_VEC_PUSH(g->outputs, y);
    urc_attr eqa = {.name = "equation", .type = URC_AT_STRING, .s = tc->eq};
    urc_attr_list al = {&eqa, 1, "att", false};
    bool ok = urc_ops[URC_OP_EINSUM].impl->parse(e, &al) && urc_graph_toposort(g) &&
              urc_pass_infer(g, true, (uint64_t)1 << 30);
    urc_tensor *ref = NULL, *got = NULL;
    ok = ok && urc_interp_run(g, inputs, &ref);
    ok = ok && urc_pass_einsum_to_matmul(g) && urc_graph_verify(g, "einsum") &&
         urc_pass_infer(g, false, (uint64_t)1 << 30) && urc_graph_verify(g, "reinfer");
    if (!ok) {
        printf("FAIL %s: %s\n", tc->eq, urc_diag_message() ? urc_diag_message() : "pass failed");
        return false;
    }
    int nm = count_ops(g, URC_OP_MATMUL), ne = count_ops(g, URC_OP_EINSUM), nt = count_ops(g, URC_OP_TRANSPOSE);
    bool shape_ok = tc->matmuls ? nm == tc->matmuls && ne == 0 && nt == tc->transposes : nm == 0 && ne == 1;
    if (!shape_ok) {
        printf("FAIL %s: after the pass %d MatMul, %d Einsum, %d Transpose; expected %d MatMul, %d Transpose\n", tc->eq,
               nm, ne, nt, tc->matmuls, tc->transposes);
        return false;
    }
    if (!urc_interp_run(g, inputs, &got)) {
        printf("FAIL %s: interpreter failed after the pass: %s\n", tc->eq, urc_diag_message());
        return false;
    }
    if (!urc_shape_eq(&ref->shape, &got->shape) || ref->dtype != got->dtype) {
        printf("FAIL %s: result %s became %s\n", tc->eq, urc_shape_str(&ref->shape), urc_shape_str(&got->shape));
        return false;
    }
    for (int64_t i = 0; i < urc_tensor_numel(ref); i++) {
        double r = ((float *)ref->data)[i], o = ((float *)got->data)[i];
        if (fabs(r - o) > 1e-5 * (1 + fabs(r))) {
            printf("FAIL %s: element %lld: %g before the pass, %g after\n", tc->eq, (long long)i, r, o);
            return false;
        }
    }
    printf("ok %s (%d MatMul, %d Transpose)\n", tc->eq, nm, nt);
    for (int j = 0; j < ninputs; j++) urc_tensor_free(inputs[j]);
    urc_tensor_free(ref);
    urc_tensor_free(got);
    return true;
}

int main(void) {
    int fails = 0, n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++) fails += !run_case(&cases[i]);
    printf("einsum pass: %d cases, %d failed\n", n, fails);
    return fails != 0;
}
