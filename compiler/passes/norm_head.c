/* norm_head.c: the output head into the norm before it (see passes.h).
 *
 * MONAI's segmentation networks end in norm -> activation -> 1x1 convolution to the classes (UNETR's 16 -> 14,
 * BasicUNet's 32 -> 2), the head float32 whatever --precision says. The FusedNorm writes C float32 values a voxel
 * at full resolution (57-113 MB at 96^3) that the head then reads once; fused, each voxel's values go from the norm
 * straight through the head's fused multiply-adds, in the same order as the head's own kernel (the same bits), and
 * only the M' class scores are stored. */
#include <string.h>

#include "passes.h"

/* h: a Conv with 1x1 kernel, stride 1, no padding, one group, one X part, no activation or residual, constant float32
 * W stored float32 (not reduced by the precision pass), X channels-last. */
static bool head_conv(const urc_node *h) {
    const urc_conv_attr *a = &h->a.conv;
    if ((h->op != URC_OP_CONV && h->op != URC_OP_FUSED_CONV) || !a->channels_last || a->group != 1 || a->w_last ||
        a->act || a->xq.scale > 0 || a->fill_rounds ||
        (h->op == URC_OP_FUSED_CONV && (a->nx > 1 || (h->nin > 3 && h->in[3]))) || (h->nout > 1 && h->out[1]) ||
        (h->wdtype && h->wdtype != URC_DT_F32) || h->ydtype)
        return false;
    const urc_value *w = h->in[1], *b = h->nin > 2 ? h->in[2] : NULL;
    if (!w->data || w->dtype != URC_DT_F32 || (b && (!b->data || b->dtype != URC_DT_F32)) ||
        h->out[0]->dtype != URC_DT_F32)
        return false;
    for (int i = 0; i < a->nsp; i++)
        if (a->kernel[i] != 1 || a->strides[i] != 1 || a->dilations[i] != 1 || a->pads[i] || a->pads[a->nsp + i])
            return false;
    return true;
}

/* The head h into the norm f (urc_merge_norm_readers). */
static bool merge_head(urc_graph *g, urc_node *f, urc_node *h, const void *ctx) {
    (void)ctx;
    const urc_norm_attr *a = &f->a.norm;
    urc_value *y = f->out[0], *x = f->in[0];
    if (!a->channels_last || f->nin > 10 || f->ydtype || a->quant.scale != 0 || y->dtype != URC_DT_F32 ||
        x->dtype != URC_DT_F32)
        return false;
    int64_t C = x->shape.dims[x->shape.rank - 1];
    /* (the channels-last kernel's limits: ops/norm.c lower_cl; and Y's shape other than X's, so that the arena
     * never gives Y X's buffer: the head writes other voxels' places than it reads) */
    if (!head_conv(h) || h->in[0] != y || C > 64 || x->shape.dims[0] > 8 || urc_shape_eq(&h->out[0]->shape, &x->shape))
        return false;
    const urc_value *w = h->in[1];
    int64_t M = w->shape.dims[0];
    if (M > 64) return false;
    urc_shape ws = {2, {M, C}};
    urc_tensor *wt = urc_tensor_new(URC_DT_F32, &ws);
    memcpy(wt->data, w->data, sizeof(float) * (size_t)(M * C));
    urc_value **in = urc_alloc(sizeof *in * 12);
    memcpy(in, f->in, sizeof *in * (size_t)f->nin);
    f->in = in, f->nin = 12;
    f->in[10] = urc_const_new(g, urc_fmt("%s/head", h->name), wt);
    f->in[11] = h->nin > 2 ? h->in[2] : NULL;
    f->a.norm.head_y_first = h->a.conv.y_channels_first;
    urc_value *out = h->out[0];
    f->out[0] = out, out->producer = f, out->producer_slot = 0;
    y->producer = NULL;
    urc_node_drop(h);
    if (!urc_ops[f->op].impl->infer(f)) URC_ASSERT(false, "the output head in its norm");
    return true;
}

int urc_pass_norm_head(urc_graph *g) { return urc_merge_norm_readers(g, "UNETRC_HEAD_FUSE", merge_head, NULL); }
