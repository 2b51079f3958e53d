/* recompute.c: rematerialisation for --recompute GLOB (see training.h).
 *
 * Without it, every forward value the backward pass reads stays in the arena
 * from its forward producer until its last backward reader: for a 3D
 * segmentation network that is most of the forward activations at once. For
 * a chosen segment S (forward nodes matching a glob), the backward readers
 * instead read clones: each clone of a node of S reads clones of its inputs
 * produced in S, and the original value for inputs from outside S (a
 * segment input, a parameter, a constant), which stay saved. The clones of
 * the values a backward node needs are placed right before the first such
 * node, so the backward pass recomputes the segment when it reaches it and
 * S's own activations die in the forward pass. The memory plan sees the
 * shorter lifetimes; the arithmetic is the forward's, so the gradients are
 * the same (the fusion passes treat the clones like any forward node).
 *
 * Every op is deterministic (Dropout is the identity at export), so the
 * recomputed values equal the saved ones. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "training.h"

typedef struct rc {
    urc_graph *g;
    int nfwd, nvals;
    bool *in_s;           /* by node position (< nfwd) */
    urc_value **clone_of; /* by original value id */
    URC_VEC(int) owner;   /* the j-th clone (appended) is placed before original node owner[j] */
    int cur;              /* the backward node being served */
} rc;

static urc_value *clone_value(rc *c, urc_value *v) {
    if (!v || v->id >= c->nvals || !v->producer) return v;
    urc_node *p = v->producer;
    if (p->id < 0 || p->id >= c->nfwd || !c->in_s[p->id]) return v;
    if (c->clone_of[v->id]) return c->clone_of[v->id];
    urc_value **in = urc_xmalloc(sizeof(urc_value *) * ((size_t)p->nin + 1));
    for (int j = 0; j < p->nin; j++) in[j] = clone_value(c, p->in[j]); /* appended first: inputs first */
    urc_node *q = urc_node_new(c->g, p->op, urc_fmt("%s/recompute", p->name), p->nin, p->nout);
    q->opset = p->opset;
    q->a = p->a;
    memcpy(q->in, in, sizeof(urc_value *) * (size_t)p->nin);
    free(in);
    for (int j = 0; j < p->nout; j++) {
        urc_value *o = p->out[j];
        if (!o) continue;
        urc_value *n = urc_value_new(c->g, NULL);
        urc_value_set_type(n, o->dtype, &o->shape);
        n->producer = q;
        n->producer_slot = j;
        q->out[j] = n;
        if (o->id < c->nvals) c->clone_of[o->id] = n;
    }
    URC_VEC_PUSH(c->owner, c->cur);
    return c->clone_of[v->id];
}

int urc_recompute(urc_graph *g, int nfwd, const char *const *globs, int nglobs) {
    int nn = g->nodes.len;
    rc c = {g,
            nfwd,
            g->values.len,
            urc_xcalloc((size_t)nfwd + 1, sizeof(bool)),
            urc_xcalloc((size_t)g->values.len + 1, sizeof(urc_value *)),
            {0},
            0};
    for (int i = 0; i < nn; i++) g->nodes.items[i]->id = i;
    for (int i = 0; i < nfwd; i++) {
        const urc_node *n = g->nodes.items[i];
        for (int k = 0; k < nglobs && !c.in_s[i]; k++) c.in_s[i] = n->name && !fnmatch(globs[k], n->name, 0);
        /* outputs of the model or updates of state are never recomputed */
        for (int j = 0; j < n->nout && c.in_s[i]; j++)
            if (n->out[j] && (n->out[j]->flags & (URC_VAL_OUTPUT | URC_VAL_UPDATE))) c.in_s[i] = false;
    }
    for (int i = nfwd; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        c.cur = i;
        for (int j = 0; j < n->nin; j++) n->in[j] = clone_value(&c, n->in[j]);
    }
    int nc = c.owner.len;
    urc_graph_place_appended(g, nn, c.owner.items); /* clones (inputs first) right before their owners */
    free(c.in_s);
    free(c.clone_of);
    free(c.owner.items);
    return nc;
}
