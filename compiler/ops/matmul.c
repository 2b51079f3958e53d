/* matmul.c: placeholder until this op family lands: every op reports that
 * it is not implemented, so models using it fail with a clear message. */
#include "common.h"

static bool matmul_infer(urc_node *n) {
    urc_error(urc_node_where(n), "not implemented yet");
    return false;
}

static bool matmul_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    (void)n, (void)in, (void)out;
    return false;
}

static bool matmul_lower(urc_lower *L, const urc_node *n) {
    (void)L, (void)n;
    return false;
}

static bool matmul_parse(urc_node *n, urc_attr_list *l) {
    for (int i = 0; i < l->len; i++) l->items[i].used = true;
    (void)n;
    return true;
}

const urc_op_impl urc_impl_matmul = {matmul_parse, matmul_infer, matmul_eval, matmul_lower, NULL};
