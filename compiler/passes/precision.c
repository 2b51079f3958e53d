/* precision.c: --precision and --keep-fp32 (see passes.h). The precision
 * of a model lives on its nodes: this pass marks each convolution
 * (Conv, ConvTranspose, unetrc.FusedConv) and matrix product (MatMul, Gemm,
 * unetrc.FusedMatMul) whose weights, its second input, are a float32
 * constant with the storage type of those weights (node->wdtype). It runs
 * last, on the graph lowering sees. Lowering (the ops' lower callbacks, via
 * urc_lower_wconst / urc_lower_win in loop/lower.c) then stores the marked
 * nodes' weights as bf16 or f16 in the weights blob, packed as usual, and
 * their kernels convert each weight to float as they load it and accumulate
 * in float32. Everything else (activations, biases, norms, softmax, GELU,
 * residual sums, attention scores) stays float32. The interpreter applies
 * the same rounding to the constants themselves (urc_precision_round_weights),
 * so that `run --interp --precision P` is a reference for the generated
 * code's numerics. */
#include <fnmatch.h>
#include <string.h>

#include "../base/diag.h"
#include "passes.h"

static bool product_with_weights(const urc_node *n) {
    switch (n->op) {
    case URC_OP_CONV:
    case URC_OP_CONV_TRANSPOSE:
    case URC_OP_FUSED_CONV:
    case URC_OP_MATMUL:
    case URC_OP_GEMM:
    case URC_OP_FUSED_MATMUL: break;
    default: return false;
    }
    const urc_value *w = n->nin > 1 ? n->in[1] : NULL;
    return w && w->data && w->dtype == URC_DT_F32 && urc_shape_numel(&w->shape) > 1;
}

/* Glob k matches n: its name, or the name it was fused from ("x/fused"). */
static bool matches(const char *glob, const urc_node *n) {
    if (!n->name) return false;
    if (!fnmatch(glob, n->name, 0)) return true;
    size_t len = strlen(n->name), sfx = strlen("/fused");
    if (len > sfx && !strcmp(n->name + len - sfx, "/fused")) return !fnmatch(glob, urc_strndup(n->name, len - sfx), 0);
    return false;
}

int urc_pass_precision(urc_graph *g, urc_dtype dt, const char *const *keep, int nkeep, int *unused) {
    URC_ASSERT(dt == URC_DT_F32 || dt == URC_DT_BF16 || dt == URC_DT_F16, "precision: bad dtype");
    bool *used = urc_alloc(sizeof(bool) * (size_t)(nkeep + 1));
    int marked = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        n->wdtype = URC_DT_UNDEF;
        if (!product_with_weights(n)) continue;
        bool kept = false;
        for (int k = 0; k < nkeep; k++)
            if (matches(keep[k], n)) kept = used[k] = true;
        if (kept || dt == URC_DT_F32) continue;
        n->wdtype = dt;
        marked++;
    }
    if (unused) {
        *unused = -1;
        for (int k = 0; k < nkeep && *unused < 0; k++)
            if (!used[k]) *unused = k;
    }
    return marked;
}

void urc_precision_round_weights(urc_graph *g) {
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        if (!n->wdtype || n->wdtype == URC_DT_F32) continue;
        const urc_value *w = n->in[1];
        urc_tensor *t = urc_tensor_new(URC_DT_F32, &w->shape);
        const float *src = w->data;
        float *dst = t->data;
        int64_t cnt = urc_shape_numel(&w->shape);
        for (int64_t j = 0; j < cnt; j++)
            dst[j] = n->wdtype == URC_DT_BF16 ? urc_bf16_to_f32(urc_f32_to_bf16(src[j]))
                                              : urc_f16_to_f32(urc_f32_to_f16(src[j]));
        n->in[1] = urc_const_new(g, NULL, t);
    }
    urc_graph_count_uses(g);
}
