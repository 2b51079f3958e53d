/* norm_pointwise.c: a 1x1 convolution of few channels into the residual norm that reads its output (see passes.h).
 *
 * MONAI's UnetResBlock on the image (UNETR's and Swin UNETR's encoder1, 1 or 4 input channels) adds to its main branch
 * norm3(conv3(x)), conv3 a 1x1 convolution of the image to the block's C channels: its Y (C floats a voxel: 57 MB at
 * 96^3 with 16 channels) is written by one kernel and read back by the FusedNorm (residual 2). With C2 <= 4 input
 * channels the norm makes conv3's Y itself, C2 multiply-adds a value, from the image it reads instead (1 or 4 floats a
 * voxel), and norm3's statistics follow from the image's channel means and covariance (ops/norm_cl.c pw_coeffs): the
 * convolution and its Y go. UNETR 96^3's encoder1: the convolution's 5.5 ms and 1.3 of its norm's 5.5 ms; the BraTS-like UNETR's
 * 1.27 + 1.19 -> 1.3-1.4 ms (2 threads). With --precision bf16 on AMX (after norm_stats; UNETRC_NORM_POINTWISE=0: none). */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

/* X as float32: itself, or the float32 input of the Cast to bf16 that made it (the precision pass's, before a tile
 * convolution: BraTS' 4-channel image, which the norm then reads unrounded), else NULL. */
static urc_value *x_f32(urc_value *x) {
    if (x->dtype == URC_DT_F32) return x;
    const urc_node *p = x->producer;
    return x->dtype == URC_DT_BF16 && p && p->op == URC_OP_CAST && p->in[0]->dtype == URC_DT_F32 ? p->in[0] : NULL;
}

/* Whether c is a convolution the norm can take: 1x1, stride 1, no padding, one group, no activation or residual, one
 * X part of at most 4 channels (float32: x_f32), constant float32 W, channels-last X and Y, float32 Y. */
static bool pointwise(const urc_node *c) {
    const urc_conv_attr *a = &c->a.conv;
    if ((c->op != URC_OP_CONV && c->op != URC_OP_FUSED_CONV) || !a->channels_last || a->y_channels_first || a->w_last ||
        a->group != 1 || a->act != URC_ACT_NONE || a->xn || a->nx > 1 || a->xq.scale > 0 ||
        (c->op == URC_OP_FUSED_CONV && c->nin > 3 && c->in[3]) || c->out[0]->dtype != URC_DT_F32)
        return false;
    urc_value *x = c->in[0];
    const urc_value *w = c->in[1];
    if (!x_f32(c->in[0]) || x->data || !w->data || w->dtype != URC_DT_F32 || w->shape.rank != a->nsp + 2 ||
        w->shape.dims[1] > 4)
        return false;
    for (int i = 0; i < a->nsp; i++)
        if (a->kernel[i] != 1 || a->strides[i] != 1 || a->dilations[i] != 1 || a->pads[i] || a->pads[a->nsp + i])
            return false;
    return true;
}

int urc_pass_norm_pointwise(urc_graph *g, const urc_target *t) {
    (void)t;
    const char *e = getenv("UNETRC_NORM_POINTWISE"); /* 0: none (comparisons) */
    if (e && !strcmp(e, "0")) return 0;
    urc_graph_count_uses(g);
    int made = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *f = g->nodes.items[i];
        const urc_norm_attr *a = &f->a.norm;
        if (f->op != URC_OP_FUSED_NORM || !a->channels_last || a->base != URC_OP_INSTANCE_NORM || a->residual != 2 ||
            f->nin > 10 || !f->in[5] || f->in[0]->shape.dims[0] > 8) /* (N > 8: not the channels-last kernel) */
            continue;
        urc_value *y3 = f->in[5];
        urc_node *c = y3->producer;
        bool out = false;
        for (int o = 0; o < g->outputs.len; o++) out = out || g->outputs.items[o] == y3;
        if (!c || y3->producer_slot != 0 || y3->nuses != 1 || out || !pointwise(c)) continue;
        urc_value **in = urc_alloc(sizeof *in * 13);
        memset(in, 0, sizeof *in * 13);
        memcpy(in, f->in, sizeof *in * (size_t)(f->nin < 10 ? f->nin : 10));
        in[5] = x_f32(c->in[0]), in[9] = NULL, in[12] = c->in[1];
        f->in = in, f->nin = 13;
        urc_value *xc = c->in[0]; /* (a Cast that only the convolution read goes with it) */
        bool cast_out = false;
        for (int o = 0; o < g->outputs.len; o++) cast_out = cast_out || g->outputs.items[o] == xc;
        if (xc != in[5] && xc->nuses == 1 && !cast_out) urc_node_drop(xc->producer);
        urc_node_drop(c);
        made++;
    }
    if (!made) return 0;
    urc_graph_compact(g);
    urc_graph_count_uses(g);
    return made;
}
