/* grad_conv.c: gradient rules of Conv and ConvTranspose (1 to 3 spatial
 * dims, groups, strides, dilations, pads; attributes as resolved by infer).
 * Autodiff runs before the layout pass, so the nodes are channels-first.
 *
 * Conv, Y = Conv(X, W) + B:
 *   dX = ConvTranspose(dY, W) with the same strides, dilations, pads and
 *        group. Per axis the transposed output is s*(out-1) + op + ek - pb - pe
 *        long (ek = (K-1)*d + 1); op = (in + pb + pe - ek) mod s, the input
 *        rows the forward's floor division left unread, makes it exactly
 *        X's length (those rows get zero gradient).
 *   dW = unetrc.ConvGradWeight(X, dY)
 * ConvTranspose, Y = ConvT(X, W) + B (Conv's adjoint, so its own adjoint is Conv):
 *   dX = Conv(dY, W) with the same strides, dilations, group and begin pads;
 *        the end pad pe - op gives floor((out + pb + pe - op - ek) / s) + 1
 *        = in outputs. When it is negative (output_padding, or an
 *        output_shape beyond the full output) the trailing dY rows only ever
 *        received the bias: they are sliced off first.
 *   dW = unetrc.ConvGradWeight(dY, X)
 * Both: dB = ReduceSum(dY) over every dim but the channels. */
#include "grad_common.h"

/* The conv attributes of a gradient node: fwd's resolved geometry, explicit
 * pads (pb, pe per axis), auto_pad NOTSET, kernel taken from W. */
static urc_attrs conv_attrs(const urc_conv_attr *f, const int64_t *pe, const int64_t *op) {
    urc_attrs a;
    memset(&a, 0, sizeof a);
    urc_conv_attr *c = &a.conv;
    int nsp = f->nsp;
    c->nsp = nsp;
    c->group = f->group;
    c->auto_pad = URC_PAD_NOTSET;
    c->n_kernel = -1;
    c->n_strides = c->n_dilations = nsp;
    c->n_pads = 2 * nsp;
    c->n_output_padding = op ? nsp : -1;
    c->n_output_shape = -1;
    for (int i = 0; i < nsp; i++) {
        c->strides[i] = f->strides[i];
        c->dilations[i] = f->dilations[i];
        c->pads[i] = f->pads[i];
        c->pads[nsp + i] = pe[i];
        c->output_padding[i] = op ? op[i] : 0;
        c->kernel[i] = f->kernel[i];
    }
    return a;
}

/* x[..., 0:len, ...] along axis ax. */
static urc_value *head(urc_grad_ctx *c, urc_value *x, int ax, int64_t len) {
    if (!x || len == x->shape.dims[ax]) return x;
    int64_t lo = 0;
    urc_value *in[4] = {x, urc_g_ints(c, &lo, 1), urc_g_ints(c, &len, 1), urc_g_ints(c, &(int64_t){ax}, 1)};
    return urc_g_node(c, URC_OP_SLICE, 4, in, NULL);
}

static urc_value *grad_weight(urc_grad_ctx *c, const urc_conv_attr *f, urc_value *a, urc_value *b) {
    urc_attrs at;
    memset(&at, 0, sizeof at);
    at.conv = *f;
    at.conv.auto_pad = URC_PAD_NOTSET;
    urc_value *in[2] = {a, b};
    return urc_g_node(c, URC_OP_CONV_GRAD_WEIGHT, 2, in, &at);
}

bool urc_grad_conv(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    urc_value *d = dy[0], *X = n->in[0], *W = n->in[1];
    const urc_conv_attr *f = &n->a.conv;
    if (!d) return true;
    if (f->channels_last) {
        urc_error(urc_node_where(n),
                  "no gradient rule for the channels-last form (autodiff runs before the layout pass)");
        return false;
    }
    int nsp = f->nsp, r = X->shape.rank;
    bool tr = n->op == URC_OP_CONV_TRANSPOSE;
    if (need[0]) {
        int64_t pe[URC_MAX_SPATIAL] = {0}, op[URC_MAX_SPATIAL] = {0};
        if (!tr) {
            for (int i = 0; i < nsp; i++) {
                int64_t in = X->shape.dims[2 + i], s = f->strides[i], ek = (f->kernel[i] - 1) * f->dilations[i] + 1;
                pe[i] = f->pads[nsp + i];
                op[i] = (in + f->pads[i] + pe[i] - ek) % s;
            }
            urc_attrs a = conv_attrs(f, pe, op);
            urc_value *in[2] = {d, W};
            dx[0] = urc_g_node(c, URC_OP_CONV_TRANSPOSE, 2, in, &a);
        } else {
            urc_value *t = d;
            for (int i = 0; i < nsp; i++) {
                pe[i] = f->pads[nsp + i] - f->output_padding[i];
                if (pe[i] < 0) {
                    t = head(c, t, 2 + i, d->shape.dims[2 + i] + pe[i]);
                    pe[i] = 0;
                }
            }
            urc_attrs a = conv_attrs(f, pe, NULL);
            urc_value *in[2] = {t, W};
            dx[0] = t ? urc_g_node(c, URC_OP_CONV, 2, in, &a) : NULL;
        }
        if (dx[0] && !urc_shape_eq(&dx[0]->shape, &X->shape)) {
            urc_error(urc_node_where(n), "internal: input gradient of shape %s for X of shape %s",
                      urc_shape_str(&dx[0]->shape), urc_shape_str(&X->shape));
            return false;
        }
    }
    if (need[1]) dx[1] = tr ? grad_weight(c, f, d, X) : grad_weight(c, f, X, d);
    if (n->nin > 2 && n->in[2] && need[2]) {
        int64_t axes[URC_MAX_RANK];
        int na = 0;
        for (int i = 0; i < r; i++)
            if (i != 1) axes[na++] = i;
        dx[2] = urc_g_reduce_sum(c, d, axes, na, false);
    }
    return c->ok;
}
