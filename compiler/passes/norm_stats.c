/* norm_stats.c: a norm's statistics from the convolution that computes its input (see passes.h).
 *
 * A channels-last Instance/GroupNorm (a FusedNorm after fuse_norm.c) reads its X twice: once for the per-channel
 * sums of X and X^2, once to normalise. Where X comes from a product that can add its outputs up as it stores them
 * (the op table's norm_stats: the tile convolutions' epilogue, which holds each block of Y in registers anyway), the
 * first pass goes: the product gets a second output, float64 [N, P, 2, M], P partial sums per sample (one per work
 * item, so no two threads write one), and the FusedNorm reads it as in[8] (X) or in[9] (X2 of residual 2), adding
 * the parts up in order. On UNETR and BasicUNet at 96^3 each such X is 57-113 MB of float32: a read of it per norm.
 * The sums are unshifted float64 (the pass over X subtracts each channel's first element first): exact enough for
 * activations whose mean is not 10^8 times their spread. */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

/* v's producer as a product that sums its output 0 (making its output 1 if need be), or NULL. */
static urc_value *stats_of(urc_graph *g, urc_value *v, const urc_target *t) {
    urc_node *c = v->producer;
    if (!c || v->producer_slot != 0 || v->dtype != URC_DT_F32) return NULL;
    if (c->nout > 1 && c->out[1]) return c->out[1]; /* (read by two norms) */
    const urc_op_impl *impl = urc_ops[c->op].impl;
    if (!impl->norm_stats || urc_ops[c->op].max_out < 2 || !impl->norm_stats(c, t, true)) return NULL;
    if (c->nout < 2) {
        urc_value **out = urc_alloc(sizeof *out * 2);
        out[0] = c->out[0];
        c->out = out, c->nout = 2;
    }
    urc_value *s = urc_value_new(g, urc_fmt("%s/stats", v->name ? v->name : c->name));
    s->producer = c, s->producer_slot = 1;
    c->out[1] = s;
    /* (its shape as the op's inference gives it; not run again here: the precision pass has typed the node's
     * inputs bf16 by now) */
    const urc_shape *ys = &v->shape;
    urc_shape ss = {4, {ys->dims[0], urc_ops[c->op].impl->norm_stats(c, t, false), 2, ys->dims[ys->rank - 1]}};
    urc_value_set_type(s, URC_DT_F64, &ss);
    return s;
}

int urc_pass_norm_stats(urc_graph *g, const urc_target *t) {
    const char *e = getenv("UNETRC_NORM_STATS"); /* 0: none (comparisons) */
    if (e && !strcmp(e, "0")) return 0;
    int made = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *f = g->nodes.items[i];
        const urc_norm_attr *a = &f->a.norm;
        if (f->op != URC_OP_FUSED_NORM || !a->channels_last || a->base == URC_OP_BATCH_NORM) continue;
        for (int j = 0; j < (a->residual == 2 ? 2 : 1); j++) {
            urc_value *s = stats_of(g, f->in[j ? 5 : 0], t);
            if (!s) continue;
            if (f->nin < 10) {
                urc_value **in = urc_alloc(sizeof *in * 10);
                memcpy(in, f->in, sizeof *in * (size_t)f->nin);
                f->in = in, f->nin = 10;
            }
            f->in[8 + j] = s;
            made++;
        }
    }
    if (made) urc_graph_count_uses(g);
    return made;
}

void urc_norm_stats_strip(urc_graph *g) {
    bool any = false;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        if (n->op == URC_OP_FUSED_NORM && n->nin >= 10 && (n->in[8] || n->in[9])) {
            n->in[8] = n->in[9] = NULL;
            /* (12: the head in[10..11] stays, norm_head.c; 13: X2's pointwise W in[12], norm_pointwise.c) */
            if (n->nin == 10) n->nin = n->a.norm.residual == 0 ? 5 : n->a.norm.residual == 1 ? 6 : 8;
            any = true;
        }
        if (n->nout > 1 && n->out[1] && (n->op == URC_OP_CONV || n->op == URC_OP_FUSED_CONV) && n->a.conv.stat_parts) {
            n->out[1]->producer = NULL;
            n->out[1] = NULL;
            n->a.conv.stat_parts = 0;
            any = true;
        }
    }
    if (any) urc_graph_count_uses(g);
}
