/* conv_weights.c: convolutions whose weights are computed at run time.
 *
 * Constant weights are packed at compile time into the order the
 * channels-last direct kernel streams them (ops/conv.c). Weights that are
 * not constants (the trained parameters of a training step, a graph input)
 * get that order from a Transpose in the graph instead:
 *   W [M, C, K...] -> Transpose -> [K..., C, M]      (Conv attribute w_last)
 * and the kernel reads W[t][c][mb*MB + lane] directly. One Transpose serves
 * every convolution reading the same W.
 *
 * A channels-last ConvTranspose with stride 1 and no dilation (the data
 * gradient of a stride-1 convolution) becomes the equivalent Conv over the
 * flipped weights first, so it runs on the same kernel:
 *   ConvT(X, W)[m, o] = sum_{c, k} X[c, o + pb - k] W[c, m, k]
 *                     = Conv(X, W')[m, o],  W'[m, c, k'] = W[c, m, K-1-k'],
 *   with pads pb' = K-1-pb and pe' = K-1-pe+op (when both are >= 0);
 * W' in [K..., C, M] order is Transpose(Slice(W, steps -1 on K), [K.., C, M]).
 * A ConvTranspose with kernel = stride and no padding (the decoders' k2 s2
 * upsampling) reads W as [K_0..K_{n-2}, C, K_{n-1}, M] (see ops/conv.c).
 *
 * The new nodes are placed right before their convolution (the stable
 * topological order keeps them there), so each reordered W lives only
 * across its convolution. Runs after fuseconv, when optimising. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

typedef struct cw {
    urc_graph *g;
    int n0;                        /* nodes before the pass */
    URC_VEC(int) owner;            /* node n0 + j is placed before node owner[j] */
    URC_VEC(urc_value *) from, to; /* W -> its [K..., C, M] Transpose */
    bool ok;
} cw;

static urc_value *int_const(urc_graph *g, const int64_t *v, int n) {
    urc_shape s = {1, {n}};
    urc_tensor *t = urc_tensor_new(URC_DT_I64, &s);
    memcpy(t->data, v, sizeof(int64_t) * (size_t)n);
    return urc_const_new(g, NULL, t);
}

/* A new node of op with inputs in[0..nin), one output, placed before node `before`. */
static urc_value *add_node(cw *c, urc_op op, int before, urc_value *const *in, int nin, const urc_attrs *a) {
    URC_VEC_PUSH(c->owner, before);
    return urc_node_make(c->g, op, NULL, 13, nin, in, a, NULL, &c->ok)->out[0];
}

static urc_value *transpose(cw *c, urc_value *x, const int64_t *perm, int before) {
    URC_VEC_PUSH(c->owner, before);
    return urc_node_transpose(c->g, NULL, x, perm, NULL, &c->ok)->out[0];
}

static bool eligible(const urc_node *n) {
    const urc_conv_attr *a = &n->a.conv;
    const urc_value *x = n->in[0], *w = n->nin > 1 ? n->in[1] : NULL;
    return a->channels_last && a->group == 1 && !a->w_last && x && x->dtype == URC_DT_F32 && w && !w->data &&
           w->dtype == URC_DT_F32 && w->shape.rank == x->shape.rank;
}

/* ConvTranspose -> Conv over flipped weights (see the file comment); false
 * when the geometry does not allow it. */
static bool convt_to_conv(cw *c, urc_node *n, int i) {
    urc_conv_attr *a = &n->a.conv;
    if (a->y_channels_first) return false;
    int nsp = a->nsp, r = n->in[1]->shape.rank;
    int64_t pb[URC_MAX_SPATIAL], pe[URC_MAX_SPATIAL];
    for (int s = 0; s < nsp; s++) {
        int64_t K = a->kernel[s];
        if (a->strides[s] != 1 || a->dilations[s] != 1) return false;
        pb[s] = K - 1 - a->pads[s];
        pe[s] = K - 1 - a->pads[nsp + s] + (a->n_output_padding >= 0 ? a->output_padding[s] : 0);
        if (pb[s] < 0 || pe[s] < 0) return false;
    }
    int64_t starts[URC_MAX_SPATIAL] = {0}, ends[URC_MAX_SPATIAL] = {0}, axes[URC_MAX_SPATIAL] = {0},
            steps[URC_MAX_SPATIAL] = {0};
    for (int s = 0; s < nsp; s++) {
        starts[s] = -1;
        ends[s] = -(a->kernel[s] + 1); /* one before index 0 */
        axes[s] = 2 + s;
        steps[s] = -1;
    }
    urc_value *sin[5] = {n->in[1], int_const(c->g, starts, nsp), int_const(c->g, ends, nsp), int_const(c->g, axes, nsp),
                         int_const(c->g, steps, nsp)};
    urc_value *flipped = add_node(c, URC_OP_SLICE, i, sin, 5, NULL);
    int64_t perm[URC_MAX_RANK]; /* [C, M, K...] -> [K..., C, M] */
    for (int d = 0; d < nsp; d++) perm[d] = 2 + d;
    perm[r - 2] = 0;
    perm[r - 1] = 1;
    n->in[1] = transpose(c, flipped, perm, i);
    n->op = URC_OP_CONV;
    for (int s = 0; s < nsp; s++) {
        a->pads[s] = pb[s];
        a->pads[nsp + s] = pe[s];
    }
    a->auto_pad = URC_PAD_NOTSET;
    a->n_pads = 2 * nsp;
    a->n_kernel = a->n_output_padding = a->n_output_shape = -1;
    a->w_last = true;
    return true;
}

/* ConvTranspose with kernel = stride, no padding (the decoders' k2 s2
 * upsampling): W [C, M, K...] -> [K_0..K_{n-2}, C, K_{n-1}, M], rows of
 * K_{n-1}*M outputs per tap and input channel (ops/conv.c, w_view). */
static bool convt_rows(cw *c, urc_node *n, int i) {
    urc_conv_attr *a = &n->a.conv;
    int nsp = a->nsp, r = n->in[1]->shape.rank;
    if (a->y_channels_first) return false;
    for (int s = 0; s < nsp; s++)
        if (a->kernel[s] != a->strides[s] || (a->dilations[s] != 1 && a->kernel[s] > 1) || a->pads[s] ||
            a->pads[nsp + s] || (a->n_output_padding >= 0 && a->output_padding[s]))
            return false;
    int64_t perm[URC_MAX_RANK];
    for (int d = 0; d < nsp - 1; d++) perm[d] = 2 + d;
    perm[r - 3] = 0;
    perm[r - 2] = r - 1;
    perm[r - 1] = 1;
    n->in[1] = transpose(c, n->in[1], perm, i);
    a->w_last = true;
    return true;
}

static void reorder_weights(cw *c, urc_node *n, int i) {
    urc_value *w = n->in[1];
    for (int j = 0; j < c->from.len; j++)
        if (c->from.items[j] == w) {
            n->in[1] = c->to.items[j];
            n->a.conv.w_last = true;
            return;
        }
    int r = w->shape.rank;
    int64_t perm[URC_MAX_RANK]; /* [M, C, K...] -> [K..., C, M] */
    for (int d = 0; d < r - 2; d++) perm[d] = 2 + d;
    perm[r - 2] = 1;
    perm[r - 1] = 0;
    urc_value *t = transpose(c, w, perm, i);
    URC_VEC_PUSH(c->from, w);
    URC_VEC_PUSH(c->to, t);
    n->in[1] = t;
    n->a.conv.w_last = true;
}

bool urc_pass_conv_weights(urc_graph *g) {
    cw c = {g, g->nodes.len, {0}, {0}, {0}, true};
    for (int i = 0; i < c.n0 && c.ok; i++) {
        urc_node *n = g->nodes.items[i];
        if (!eligible(n)) continue;
        if (n->op == URC_OP_CONV_TRANSPOSE) {
            if (!convt_to_conv(&c, n, i) && !convt_rows(&c, n, i)) continue;
        } else if (n->op == URC_OP_CONV || n->op == URC_OP_FUSED_CONV) {
            reorder_weights(&c, n, i);
        } else {
            continue;
        }
        if (!urc_ops[n->op].impl->infer(n)) c.ok = false;
    }
    urc_graph_place_appended(g, c.n0, c.owner.items); /* each new node right before its convolution */
    free(c.owner.items);
    free(c.from.items);
    free(c.to.items);
    return c.ok && urc_graph_toposort(g);
}
