/* norm_into_conv.c: a norm into the convolution that reads its output (see passes.h).
 *
 * MONAI's blocks run conv -> InstanceNorm -> activation -> conv. With --precision bf16 on AMX the norm reads the first
 * convolution's float32 Y (its statistics come from that convolution's epilogue: norm_stats.c), writes a bf16 Y, and
 * the second convolution's grid fill reads that Y and writes it into its padded grid. When the second convolution is
 * the norm's only reader, its fill can read the float32 X and apply the norm itself, with the same float32 arithmetic
 * as the norm's kernel (the same bits): per voxel and channel 4 bytes read instead of 4 read, 2 written and 2 read
 * again, and one pass over the data fewer (BasicUNet's 96^3 norms: 113 MB of float32 X each). */
#include <string.h>

#include "passes.h"

/* The FusedNorms the pass takes: a channels-last InstanceNorm with an activation, nothing else (the strip makes them
 * again from their attributes, which the convolution keeps). */
static bool plain_norm(const urc_norm_attr *a) {
    return a->channels_last && a->base == URC_OP_INSTANCE_NORM && !a->residual && a->post_act == URC_ACT_NONE &&
           !(a->quant.scale > 0) && !a->head_y_first;
}

/* The norm f into the convolution c (urc_merge_norm_readers; ctx: the target). */
static bool merge_norm(urc_graph *g, urc_node *f, urc_node *c, const void *ctx) {
    (void)g;
    urc_value *y = f->out[0], *x = f->in[0];
    if (f->nin != 10 || !f->in[8] || f->in[9] || !plain_norm(&f->a.norm) || f->ydtype != URC_DT_BF16 || f->in[3] ||
        f->in[4] || !f->in[1] || !f->in[2] || y->dtype != URC_DT_BF16 || x->dtype != URC_DT_F32)
        return false;
    const urc_op_impl *impl = urc_ops[c->op].impl;
    if ((c->op != URC_OP_CONV && c->op != URC_OP_FUSED_CONV) || c->in[0] != y || c->a.conv.xn ||
        (c->op == URC_OP_FUSED_CONV && c->a.conv.nx > 1) || !impl->x_norm || !impl->x_norm(c, ctx))
        return false;
    urc_value **in = urc_alloc(sizeof *in * 14);
    memset(in, 0, sizeof *in * 14);
    memcpy(in, c->in, sizeof *in * (size_t)c->nin);
    in[0] = x, in[11] = f->in[8], in[12] = f->in[1], in[13] = f->in[2];
    c->in = in, c->nin = 14, c->op = URC_OP_FUSED_CONV;
    c->a.conv.xn = true, c->a.conv.xn_attr = f->a.norm;
    urc_node_drop(f);
    return true;
}

int urc_pass_norm_into_conv(urc_graph *g, const urc_target *t) {
    return urc_merge_norm_readers(g, "UNETRC_NORM_INTO_CONV", merge_norm, t);
}

void urc_norm_into_conv_strip(urc_graph *g) {
    int n0 = g->nodes.len;
    for (int i = 0; i < n0; i++) {
        urc_node *c = g->nodes.items[i];
        if ((c->op != URC_OP_CONV && c->op != URC_OP_FUSED_CONV) || !c->a.conv.xn) continue;
        urc_value *x = c->in[0], *y = urc_value_new(g, urc_fmt("%s/normed", x->name ? x->name : c->name));
        urc_node *f = urc_node_new(g, URC_OP_FUSED_NORM, urc_fmt("%s/norm", c->name), 10, 1);
        for (int j = 0; j < 10; j++) f->in[j] = NULL;
        f->in[0] = x, f->in[1] = c->in[12], f->in[2] = c->in[13], f->in[8] = c->in[11];
        f->a.norm = c->a.conv.xn_attr, f->ydtype = URC_DT_BF16;
        f->out[0] = y, y->producer = f, y->producer_slot = 0;
        urc_value_set_type(y, URC_DT_BF16, &x->shape);
        c->in[0] = y, c->in[11] = c->in[12] = c->in[13] = NULL, c->nin = 4;
        c->a.conv.xn = false;
        memset(&c->a.conv.xn_attr, 0, sizeof c->a.conv.xn_attr);
    }
    if (g->nodes.len == n0) return;
    URC_ASSERT(urc_graph_toposort(g), "the norms put back before their convolutions");
    urc_graph_count_uses(g);
}
