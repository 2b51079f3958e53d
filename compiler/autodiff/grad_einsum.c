/* grad_einsum.c: the gradient of operand i of an Einsum is itself an
 * Einsum: dY's labels and the other operands' labels, reduced to operand i's
 * labels. A label of operand i that appears nowhere else (it was summed
 * within the operand alone) gets the same gradient at every index: the
 * Einsum leaves it out and the result is broadcast back along it. Operands
 * with a repeated label (a diagonal) are reported. */
#include "grad_common.h"

bool urc_grad_einsum(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    const urc_einsum_attr *a = &n->a.einsum;
    if (!dy[0]) return true;
    for (int i = 0; i < a->nops; i++) {
        if (!need[i]) continue;
        const char *li = a->labels[i];
        char kept[URC_MAX_RANK + 1];
        int nk = 0;
        urc_shape ks = n->in[i]->shape; /* operand i's shape with 1 for the lonely labels */
        for (const char *p = li; *p; p++) {
            bool elsewhere = strchr(a->out_labels, *p) != NULL;
            for (int j = 0; j < a->nops && !elsewhere; j++) elsewhere = j != i && strchr(a->labels[j], *p);
            if (strchr(p + 1, *p)) {
                urc_error(urc_node_where(n), "no gradient rule for Einsum operand %d ('%s'): label '%c' is repeated", i,
                          li, *p);
                return false;
            }
            if (elsewhere) kept[nk++] = *p;
            else ks.dims[p - li] = 1;
        }
        kept[nk] = 0;
        /* equation "out,op_j...->op_i" over the resolved single-letter labels */
        urc_strbuf eq = {0};
        urc_sb_puts(&eq, a->out_labels);
        urc_value *in[URC_EINSUM_MAX_OPERANDS];
        int k = 0;
        in[k++] = dy[0];
        for (int j = 0; j < a->nops; j++) {
            if (j == i) continue;
            urc_sb_printf(&eq, ",%s", a->labels[j]);
            in[k++] = n->in[j];
        }
        urc_sb_printf(&eq, "->%s", kept);
        urc_attrs at;
        memset(&at, 0, sizeof at);
        at.einsum.equation = urc_strdup(eq.data);
        urc_sb_free(&eq);
        urc_value *r = urc_g_node(c, URC_OP_EINSUM, k, in, &at);
        dx[i] = r ? urc_g_expand(c, urc_g_reshape(c, r, &ks), &n->in[i]->shape) : NULL;
    }
    return c->ok;
}
