/* grad_unary.c: gradient rules of the unary elementwise ops.
 * dx = dy * f'(x), written with the forward output y where that is simpler
 * (exp: y; sqrt: 1 / (2 y)). The activations of ir/act.def (float Sigmoid,
 * Tanh, Gelu) take theirs from the table (grad_act.c); Relu and LeakyRelu
 * keep a mask of x > 0 (below).
 * Piecewise ops follow PyTorch at the kinks (Relu: 0 at x = 0). Rounding
 * and comparison ops have zero gradient. */
#include "../ops/activation.h"
#include "grad_common.h"

bool urc_grad_unary(urc_grad_ctx *c, const urc_node *n, urc_value *const *dy, urc_value **dx, const bool *need) {
    urc_value *x = n->in[0], *y = n->out[0], *d = dy[0];
    const urc_unary_attr *a = &n->a.unary;
    if (!d) return true;
    if (!need[0] && n->op != URC_OP_CLIP) return true;
    urc_value *r = NULL;
    double alpha;
    urc_act act = urc_act_of(n, &alpha);
    if (act == URC_ACT_RELU || act == URC_ACT_LEAKY_RELU) {
        /* Their gradient depends only on x > 0: the mask form Where(x > 0, d, alpha d) (a bool mask
         * where ActGrad would read x) keeps less for the backward pass. The tiny UNETR's training arena
         * (tests/train/models/unetr_conv): 6,576,768 bytes, 7,627,392 with ActGrad. */
        urc_value *pos = g_bin(c, URC_OP_GREATER, x, g_k(c, x, 0));
        dx[0] = act == URC_ACT_RELU ? g_mask(c, pos, d) : urc_g_where(c, pos, d, g_scale(c, d, alpha));
        return dx[0] != NULL;
    }
    if (act != URC_ACT_NONE) { /* Sigmoid, Tanh, Gelu: one ActGrad (grad_act.c) */
        dx[0] = urc_g_act_grad(c, act, alpha, x, d);
        return dx[0] != NULL;
    }
    switch (n->op) {
    case URC_OP_ABS: r = g_mul(c, d, g_un(c, URC_OP_SIGN, x)); break;
    case URC_OP_NEG: r = g_un(c, URC_OP_NEG, d); break;
    case URC_OP_SQRT: r = g_div(c, g_scale(c, d, 0.5), y); break;
    case URC_OP_EXP: r = g_mul(c, d, y); break;
    case URC_OP_LOG: r = g_div(c, d, x); break;
    case URC_OP_ERF: /* 2/sqrt(pi) exp(-x^2) */
        r = g_mul(c, g_scale(c, d, 2 / sqrt(M_PI)), g_un(c, URC_OP_EXP, g_un(c, URC_OP_NEG, g_mul(c, x, x))));
        break;
    case URC_OP_RECIPROCAL: r = g_un(c, URC_OP_NEG, g_mul(c, d, g_mul(c, y, y))); break;
    case URC_OP_FLOOR:
    case URC_OP_CEIL:
    case URC_OP_ROUND:
    case URC_OP_SIGN: return true;
    case URC_OP_SIN: r = g_mul(c, d, g_un(c, URC_OP_COS, x)); break;
    case URC_OP_COS: r = g_un(c, URC_OP_NEG, g_mul(c, d, g_un(c, URC_OP_SIN, x))); break;
    case URC_OP_TAN: r = g_mul(c, d, g_add(c, g_k(c, x, 1), g_mul(c, y, y))); break;
    case URC_OP_ASIN: r = g_div(c, d, g_un(c, URC_OP_SQRT, g_sub(c, g_k(c, x, 1), g_mul(c, x, x)))); break;
    case URC_OP_ACOS:
        r = g_un(c, URC_OP_NEG, g_div(c, d, g_un(c, URC_OP_SQRT, g_sub(c, g_k(c, x, 1), g_mul(c, x, x)))));
        break;
    case URC_OP_ATAN: r = g_div(c, d, g_add(c, g_k(c, x, 1), g_mul(c, x, x))); break;
    case URC_OP_SINH: r = g_mul(c, d, g_un(c, URC_OP_COSH, x)); break;
    case URC_OP_COSH: r = g_mul(c, d, g_un(c, URC_OP_SINH, x)); break;
    case URC_OP_ASINH: r = g_div(c, d, g_un(c, URC_OP_SQRT, g_add(c, g_mul(c, x, x), g_k(c, x, 1)))); break;
    case URC_OP_ACOSH: r = g_div(c, d, g_un(c, URC_OP_SQRT, g_sub(c, g_mul(c, x, x), g_k(c, x, 1)))); break;
    case URC_OP_ATANH: r = g_div(c, d, g_sub(c, g_k(c, x, 1), g_mul(c, x, x))); break;
    case URC_OP_ELU: /* x <= 0: alpha e^x = y + alpha */
        r = urc_g_where(c, g_bin(c, URC_OP_GREATER, x, g_k(c, x, 0)), d, g_mul(c, d, g_add(c, y, g_k(c, x, a->alpha))));
        break;
    case URC_OP_SELU:
        r = g_scale(c,
                    urc_g_where(c, g_bin(c, URC_OP_GREATER, x, g_k(c, x, 0)), d,
                                g_mul(c, g_scale(c, d, a->alpha), g_un(c, URC_OP_EXP, x))),
                    a->gamma);
        break;
    case URC_OP_CELU:
        r = urc_g_where(c, g_bin(c, URC_OP_GREATER, x, g_k(c, x, 0)), d,
                        g_mul(c, d, g_un(c, URC_OP_EXP, g_scale(c, x, 1 / a->alpha))));
        break;
    case URC_OP_THRESHOLDED_RELU: r = g_mask(c, g_bin(c, URC_OP_GREATER, x, g_k(c, x, a->alpha)), d); break;
    case URC_OP_HARD_SIGMOID: { /* alpha where 0 < alpha x + beta < 1 */
        urc_value *t = g_add(c, g_scale(c, x, a->alpha), g_k(c, x, a->beta));
        urc_value *in =
            g_bin(c, URC_OP_AND, g_bin(c, URC_OP_GREATER, t, g_k(c, x, 0)), g_bin(c, URC_OP_LESS, t, g_k(c, x, 1)));
        r = g_mask(c, in, g_scale(c, d, a->alpha));
        break;
    }
    case URC_OP_HARD_SWISH: { /* x < -3: 0; x > 3: 1; else (2x + 3) / 6 */
        urc_value *mid = g_scale(c, g_add(c, g_scale(c, x, 2), g_k(c, x, 3)), 1.0 / 6);
        urc_value *slope = urc_g_where(c, g_bin(c, URC_OP_LESS, x, g_k(c, x, -3)), g_k(c, x, 0),
                                       urc_g_where(c, g_bin(c, URC_OP_GREATER, x, g_k(c, x, 3)), g_k(c, x, 1), mid));
        r = g_mul(c, d, slope);
        break;
    }
    case URC_OP_SOFTPLUS: r = g_mul(c, d, g_un(c, URC_OP_SIGMOID, x)); break;
    case URC_OP_SOFTSIGN: {
        urc_value *t = g_add(c, g_k(c, x, 1), g_un(c, URC_OP_ABS, x));
        r = g_div(c, d, g_mul(c, t, t));
        break;
    }
    case URC_OP_CLIP: { /* passes where lo <= x <= hi; the bounds get the rest */
        if (n->nin > 1 && n->in[1] && need[1]) dx[1] = g_mask(c, g_bin(c, URC_OP_LESS, x, n->in[1]), d);
        if (n->nin > 2 && n->in[2] && need[2]) dx[2] = g_mask(c, g_bin(c, URC_OP_GREATER, x, n->in[2]), d);
        urc_value *m = NULL;
        if (n->nin > 1 && n->in[1]) m = g_bin(c, URC_OP_GREATER_OR_EQUAL, x, n->in[1]);
        if (n->nin > 2 && n->in[2]) {
            urc_value *hi = g_bin(c, URC_OP_LESS_OR_EQUAL, x, n->in[2]);
            m = m ? g_bin(c, URC_OP_AND, m, hi) : hi;
        }
        if (!need[0]) return c->ok;
        r = m ? g_mask(c, m, d) : d;
        break;
    }
    case URC_OP_NOT:
    case URC_OP_ISNAN:
    case URC_OP_ISINF: return true;
    default: urc_error(urc_node_where(n), "no gradient rule for %s", urc_ops[n->op].name); return false;
    }
    dx[0] = r;
    return r != NULL;
}
