/* norm_into_conv.c: a norm into the convolution that reads its output (see passes.h).
 *
 * MONAI's blocks run conv -> InstanceNorm -> activation -> conv. With --precision bf16 on AMX the norm reads the first
 * convolution's float32 Y (its statistics come from that convolution's epilogue: norm_stats.c), writes a bf16 Y, and
 * the second convolution's grid fill reads that Y and writes it into its padded grid. When the second convolution is
 * the norm's only reader, its fill can read the float32 X and apply the norm itself, with the same float32 arithmetic
 * as the norm's kernel (the same bits): per voxel and channel 4 bytes read instead of 4 read, 2 written and 2 read
 * again, and one pass over the data fewer (BasicUNet's 96^3 norms: 113 MB of float32 X each). With --precision int8
 * (AMX or VNNI) the norm stores its Y fake-quantised instead, and the fill quantises the normalised values itself to
 * the levels the convolution multiplies (the norm's steps become the convolution's xq). */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

/* The FusedNorms the pass takes: a channels-last InstanceNorm with an activation, nothing else (the strip makes them
 * again from their attributes, which the convolution keeps). */
static bool plain_norm(const urc_norm_attr *a) {
    return a->channels_last && a->base == URC_OP_INSTANCE_NORM && !a->residual && a->post_act == URC_ACT_NONE &&
           !a->head_y_first;
}

/* The norm f into the convolution c (urc_merge_norm_readers; ctx: the target). */
static bool merge_norm(urc_graph *g, urc_node *f, urc_node *c, const void *ctx) {
    (void)g;
    urc_value *y = f->out[0], *x = f->in[0];
    /* (int8: the norm's Y fake-quantised float32, the convolution's fill then quantises the norm's values itself) */
    bool q8 = f->a.norm.quant.scale > 0;
    if (f->nin != 10 || !f->in[8] || f->in[9] || !plain_norm(&f->a.norm) || f->in[3] || f->in[4] || !f->in[1] ||
        !f->in[2] || x->dtype != URC_DT_F32 ||
        (q8 ? f->ydtype == URC_DT_BF16 || y->dtype != URC_DT_F32 : f->ydtype != URC_DT_BF16 || y->dtype != URC_DT_BF16))
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
    if (q8) c->a.conv.xq = f->a.norm.quant;
    urc_node_drop(f);
    return true;
}

/* conv_into_fill: the network's first convolution, 'same' and stride 1 on a one-channel image to at most 32 channels
 * (BasicUNet's 1 -> 32, UNETR's encoder1 1 -> 16: 27 multiply-adds a value), writes a float32 Y of 113 MB (57) at
 * 96^3 that only its norm's statistics and the next convolution's fill read. The fill can make those values again from
 * the image (27 taps x C channels of float32 multiply-adds a position, in registers) for less than reading them: the
 * first convolution then stores its statistics alone (y_unstored) and the values are never written. BasicUNet 96^3
 * (2 threads): the first convolution 14 -> 6 ms, the second's fill about as before. UNETRC_CONV_INTO_FILL=0: not. */
static bool image_conv(const urc_node *c0) {
    const urc_conv_attr *a = &c0->a.conv;
    const urc_value *x = c0->in[0], *w = c0->in[1], *b = c0->nin > 2 ? c0->in[2] : NULL;
    if ((c0->op != URC_OP_CONV && c0->op != URC_OP_FUSED_CONV) || !a->channels_last || a->y_channels_first ||
        a->w_last || a->group != 1 || a->act != URC_ACT_NONE || a->xn || a->nx > 1 || a->xq.scale > 0 ||
        a->fill_rounds || a->y_unstored || (c0->nin > 3 && c0->in[3]) || c0->nout < 2 || !c0->out[1] || x->data ||
        x->dtype != URC_DT_F32 || x->shape.dims[x->shape.rank - 1] != 1 || !w->data || w->dtype != URC_DT_F32 ||
        w->shape.rank != a->nsp + 2 || w->shape.dims[0] > 32 || (b && !b->data))
        return false;
    for (int i = 0; i < a->nsp; i++)
        if (a->kernel[i] % 2 == 0 || a->strides[i] != 1 || a->dilations[i] != 1 || a->pads[i] != a->kernel[i] / 2 ||
            a->pads[a->nsp + i] != a->kernel[i] / 2)
            return false;
    return true;
}

static void conv_into_fill(urc_graph *g) {
    const char *e = getenv("UNETRC_CONV_INTO_FILL");
    if (e && !strcmp(e, "0")) return;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *c = g->nodes.items[i];
        if (c->op != URC_OP_FUSED_CONV || !c->a.conv.xn || c->a.conv.xc) continue;
        urc_node *c0 = c->in[0]->producer;
        bool out = false;
        for (int o = 0; o < g->outputs.len; o++) out = out || g->outputs.items[o] == c->in[0];
        if (!c0 || c->in[0]->producer_slot || c->in[0]->nuses != 1 || out || c->in[11]->producer != c0 ||
            !image_conv(c0))
            continue;
        urc_value **in = urc_alloc(sizeof *in * 17);
        memcpy(in, c->in, sizeof *in * 14);
        in[14] = c0->in[0], in[15] = c0->in[1], in[16] = c0->nin > 2 ? c0->in[2] : NULL;
        c->in = in, c->nin = 17, c->a.conv.xc = true;
        for (int d = 0; d < c0->a.conv.nsp; d++) c->a.conv.xc_kernel[d] = c0->a.conv.kernel[d];
        c0->a.conv.y_unstored = true;
    }
    urc_graph_count_uses(g);
}

int urc_pass_norm_into_conv(urc_graph *g, const urc_target *t) {
    int made = urc_merge_norm_readers(g, "UNETRC_NORM_INTO_CONV", merge_norm, t);
    if (made) conv_into_fill(g);
    return made;
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
        bool q8 = c->a.conv.xn_attr.quant.scale > 0; /* (int8: the norm stores Y fake-quantised) */
        f->a.norm = c->a.conv.xn_attr, f->ydtype = q8 ? URC_DT_UNDEF : URC_DT_BF16;
        f->out[0] = y, y->producer = f, y->producer_slot = 0;
        urc_value_set_type(y, q8 ? URC_DT_F32 : URC_DT_BF16, &x->shape);
        if (q8) memset(&c->a.conv.xq, 0, sizeof c->a.conv.xq);
        if (c->a.conv.xc) x->producer->a.conv.y_unstored = false; /* (X's convolution stores it again) */
        c->in[0] = y, c->in[11] = c->in[12] = c->in[13] = NULL, c->nin = 4;
        c->a.conv.xn = c->a.conv.xc = false;
        memset(&c->a.conv.xn_attr, 0, sizeof c->a.conv.xn_attr);
    }
    if (g->nodes.len == n0) return;
    URC_ASSERT(urc_graph_toposort(g), "the norms put back before their convolutions");
    urc_graph_count_uses(g);
}
