/* act_patterns.c: activations the exporter spells as several ops -> one
 * node (see passes.h). The activations themselves: ir/act.def.
 *
 * Exact GELU. torch exports nn.GELU() (approximate='none') below opset 20 as
 *   d = Div(x, 1.4142135)      or Mul(x, 0.70710677)
 *   e = Erf(d)
 *   p = Add(e, 1)              (either operand order)
 *   y = Mul(Mul(x, p), 0.5)    or Mul(Mul(x, 0.5), p) or Mul(x, Mul(p, 0.5))
 * (every Mul in either operand order). The match starts at each Erf; the
 * constants must be one-element float constants within 1e-6 relative of
 * sqrt 2, 1/sqrt 2, 1 and 0.5. y becomes Gelu(x).
 *
 * SiLU and Swish. torch's nn.SiLU and MONAI's Act["memswish"] export as
 *   y = Mul(x, Sigmoid(x)),
 * MONAI's Act["swish"](alpha) (alpha = 1 by default) as
 *   y = Mul(x, Sigmoid(Mul(x, alpha)))
 * (every Mul in either operand order; alpha a one-element float constant).
 * The match starts at each Sigmoid; y becomes unetrc.Act(x) with act=swish
 * and the parameter alpha (1 for SiLU).
 *
 * In both, every intermediate value must have exactly one reader and not be
 * a graph output. The node producing y becomes the one node (so the node
 * list stays topologically ordered: x is produced before the chain, and y's
 * node comes after all of it); the others are dropped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "passes.h"

#ifndef M_SQRT1_2
#define M_SQRT1_2 0.70710678118654752440
#endif

typedef struct actx {
    urc_graph *g;
    urc_node **reader; /* value id -> its only reader (meaningful when nuses == 1) */
} actx;

/* A one-element float constant equal to want (relative 1e-6). */
static bool is_const(const urc_value *v, double want) {
    if (!v || !v->data || !urc_dtype_is_float(v->dtype) || urc_shape_numel(&v->shape) != 1) return false;
    double x = urc_elem_f64(v->dtype, v->data, 0);
    return fabs(x - want) <= 1e-6 * fabs(want);
}

/* For a two-input node n (op) reading `known` as one operand: the other one. */
static urc_value *other(const urc_node *n, urc_op op, const urc_value *known) {
    if (!n || n->op != op || n->nin != 2 || n->nout != 1) return NULL;
    if (n->in[0] == known) return n->in[1];
    if (n->in[1] == known) return n->in[0];
    return NULL;
}

/* n = Mul(v, 0.5) in either order: returns v. */
static urc_value *mul_half(const urc_node *n) {
    if (!n || n->op != URC_OP_MUL || n->nin != 2) return NULL;
    if (is_const(n->in[1], 0.5)) return n->in[0];
    if (is_const(n->in[0], 0.5)) return n->in[1];
    return NULL;
}

/* yn (whose output has x's shape and dtype) becomes op(x); the nodes dead[] go. */
static bool replace(urc_node *yn, urc_value *x, urc_node *const *dead, int nd, urc_op op) {
    urc_value *y = yn->out[0];
    if (!urc_shape_eq(&y->shape, &x->shape) || y->dtype != x->dtype) return false;
    for (int i = 0; i < nd; i++) {
        if (dead[i]->out[0]) dead[i]->out[0]->producer = NULL;
        dead[i]->op = URC_OP_COUNT;
    }
    if (urc_verbose) urc_note("acts: '%s' .. '%s' -> %s", dead[0]->name, yn->name, urc_ops[op].name);
    yn->op = op;
    memset(&yn->a, 0, sizeof yn->a);
    yn->nin = 1;
    yn->in[0] = x;
    return true;
}

static bool match_gelu(actx *c, urc_node *erf) {
    urc_node *dead[4];
    int nd = 0;
    if (erf->nin != 1 || !erf->out[0]) return false;
    urc_value *d = erf->in[0];
    urc_node *dn = d->producer;
    if (!dn || dn->nin != 2 || !urc_only_reader(c->reader, d)) return false;
    urc_value *x = NULL;
    if (dn->op == URC_OP_DIV && is_const(dn->in[1], sqrt(2.0))) x = dn->in[0];
    else if (dn->op == URC_OP_MUL && is_const(dn->in[1], M_SQRT1_2)) x = dn->in[0];
    else if (dn->op == URC_OP_MUL && is_const(dn->in[0], M_SQRT1_2)) x = dn->in[1];
    if (!x || !urc_dtype_is_float(x->dtype) || !urc_shape_eq(&x->shape, &d->shape)) return false;
    dead[nd++] = dn;
    dead[nd++] = erf;
    /* p = 1 + erf */
    urc_value *e = erf->out[0];
    urc_node *pn = urc_only_reader(c->reader, e);
    urc_value *one = other(pn, URC_OP_ADD, e);
    if (!one || !is_const(one, 1.0)) return false;
    dead[nd++] = pn;
    urc_value *p = pn->out[0];
    urc_node *u = urc_only_reader(c->reader, p);
    if (!u || u->op != URC_OP_MUL || u->nin != 2) return false;
    urc_value *q = other(u, URC_OP_MUL, p);
    urc_node *yn = NULL;
    if (q == x) {
        /* (x * p) * 0.5 */
        yn = urc_only_reader(c->reader, u->out[0]);
        if (mul_half(yn) != u->out[0]) return false;
        dead[nd++] = u;
    } else if (q && is_const(q, 0.5)) {
        /* x * (p * 0.5) */
        yn = urc_only_reader(c->reader, u->out[0]);
        if (other(yn, URC_OP_MUL, u->out[0]) != x) return false;
        dead[nd++] = u;
    } else if (q && q->producer && mul_half(q->producer) == x && urc_only_reader(c->reader, q) == u) {
        /* (x * 0.5) * p */
        yn = u;
        dead[nd++] = q->producer;
    } else {
        return false;
    }
    if (!replace(yn, x, dead, nd, URC_OP_GELU)) return false;
    yn->a.unary.approximate = 0;
    return true;
}

/* y = Mul(x, Sigmoid(x)) or Mul(x, Sigmoid(Mul(x, alpha))) -> unetrc.Act(x), act=swish. */
static bool match_swish(actx *c, urc_node *sig) {
    urc_node *dead[2];
    int nd = 0;
    if (sig->nin != 1 || !sig->out[0] || !urc_dtype_is_float(sig->in[0]->dtype)) return false;
    urc_value *u = sig->in[0], *s = sig->out[0], *x = u;
    double alpha = 1;
    dead[nd++] = sig;
    urc_node *un = u->producer;
    if (un && un->op == URC_OP_MUL && un->nin == 2 && urc_only_reader(c->reader, u) == sig) { /* u = Mul(x, alpha)? */
        for (int i = 0; i < 2 && x == u; i++) {
            const urc_value *k = un->in[1 - i];
            if (k && k->data && urc_dtype_is_float(k->dtype) && urc_shape_numel(&k->shape) == 1 &&
                urc_shape_eq(&un->in[i]->shape, &u->shape)) {
                x = un->in[i];
                alpha = urc_elem_f64(k->dtype, k->data, 0);
            }
        }
        if (x != u) dead[nd++] = un;
    }
    urc_node *yn = urc_only_reader(c->reader, s);
    if (other(yn, URC_OP_MUL, s) != x) return false;
    if (!replace(yn, x, dead, nd, URC_OP_ACT)) return false;
    yn->a.act.act = URC_ACT_SWISH;
    yn->a.act.alpha = alpha;
    return true;
}

bool urc_pass_act_patterns(urc_graph *g) {
    urc_graph_count_uses(g);
    actx c = {g, urc_graph_readers(g)};
    bool any = false;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        if ((n->op == URC_OP_ERF && match_gelu(&c, n)) || (n->op == URC_OP_SIGMOID && match_swish(&c, n))) any = true;
    }
    free(c.reader);
    if (any) {
        urc_graph_compact(g);
        urc_graph_count_uses(g);
    }
    return true;
}
