/* fuse_conv.c: convolution epilogue fusion (see passes.h).
 *
 * Runs after the layout pass. Starting at each channels-last float Conv,
 * the chain of single-reader values
 *   y0 = Conv(X, W, B)
 *   y1 = act(y0)                 any of ir/act.def (urc_act_of)                  optional
 *   y2 = Transpose(y1) to [N, M, S...] (the layout pass's way back)               optional
 *   y3 = Add(y2, R)              (either order; R of y2's shape, no broadcast)    optional
 * (activation and Transpose in either order, both before the Add) becomes
 * one unetrc.FusedConv(X, W, B, R) computing act(conv + B) + R in the
 * convolution's store loop, writing Y channels-first when the Transpose was
 * absorbed (attrs.h: act, y_channels_first). A plain Conv that only gains
 * the Transpose stays a Conv. The fused node takes the place of the
 * chain's last node, after every value it reads.
 *
 * Then a Concat along the channels (the last axis, channels-last) whose
 * every reader is such a convolution on the direct kernel (float, one
 * group, constant weights) disappears: each reader becomes a FusedConv
 * reading the Concat's inputs as parts of X (attrs.h: nx), so the
 * concatenated tensor (UNETR/BasicUNet decoder skips) is never written. */
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "../ops/activation.h"
#include "passes.h"

typedef struct fctx {
    urc_graph *g;
    urc_node **reader;  /* value id -> its only reader (meaningful when nuses == 1) */
    urc_node_index pos; /* node positions, for putting a fused node in a chain's place */
} fctx;

/* r = Transpose(cur) from [N, S..., C] back to [N, C, S...]. */
static bool to_first(const urc_node *r, const urc_value *cur) {
    if (!r || r->op != URC_OP_TRANSPOSE || r->nout != 1 || !r->out[0] || r->in[0] != cur) return false;
    int rk = cur->shape.rank;
    const int64_t *p = r->a.movement.perm;
    if (r->a.movement.nperm != rk || p[0] != 0 || p[1] != rk - 1) return false;
    for (int i = 2; i < rk; i++)
        if (p[i] != i - 1) return false;
    return true;
}

/* r = Add(cur, x) or Add(x, cur) with x of cur's dtype and shape: returns x. */
static urc_value *add_operand(const urc_node *r, const urc_value *cur) {
    if (!r || r->op != URC_OP_ADD || r->nin != 2 || !r->out[0]) return NULL;
    urc_value *x = r->in[0] == cur ? r->in[1] : r->in[1] == cur ? r->in[0] : NULL;
    if (!x || x == cur || x->dtype != cur->dtype || !urc_shape_eq(&x->shape, &cur->shape)) return NULL;
    if (!urc_shape_eq(&r->out[0]->shape, &cur->shape)) return NULL;
    return x;
}

/* Returns true when it fused; *ok becomes false on an internal error.
 * need_act: fuse only chains with an activation (a first sweep, so that in
 * Add(act(Conv1), Conv2) Conv1 takes the activation and the Add). */
static bool fuse_one(fctx *c, urc_node *cv, bool need_act, bool *ok) {
    urc_graph *g = c->g;
    urc_value *cur = cv->out[0], *y0 = cur;
    if (!cur || cur->dtype != URC_DT_F32 || !cv->a.conv.channels_last || cv->a.conv.y_channels_first) return false;
    urc_node *chain[4];
    int nc = 0;
    urc_act act = URC_ACT_NONE;
    chain[nc++] = cv;
    double alpha = 0;
    bool tr = false;
    urc_value *res = NULL;
    for (;;) {
        urc_node *r = urc_only_reader(c->reader, cur);
        if (!r) break;
        if (act == URC_ACT_NONE && urc_act_match(r, cur, &act, &alpha)) {
            /* act set */
        } else if (!tr && to_first(r, cur)) {
            tr = true;
        } else if ((res = add_operand(r, cur)) != NULL) {
            cur = r->out[0];
            chain[nc++] = r;
            break;
        } else {
            break;
        }
        cur = r->out[0];
        chain[nc++] = r;
    }
    if (nc == 1 || (need_act && act == URC_ACT_NONE)) return false;
    urc_node *last = chain[nc - 1];
    bool fused = act != URC_ACT_NONE || res;
    urc_node *f = cv;
    if (fused) {
        f = urc_node_in_place_of(g, &c->pos, last, URC_OP_FUSED_CONV, urc_fmt("%s/fused", cv->name), 4);
        for (int j = 0; j < 3; j++) f->in[j] = j < cv->nin ? cv->in[j] : NULL;
        f->in[3] = res;
        f->a = cv->a;
        f->a.conv.act = act;
        f->a.conv.act_alpha = alpha;
    }
    f->a.conv.y_channels_first = tr;
    f->out[0] = cur;
    cur->producer = f;
    cur->producer_slot = 0;
    for (int i = fused ? 0 : 1; i < nc - 1; i++) urc_node_drop(chain[i]);
    if (fused) {
        last->op = URC_OP_COUNT; /* out of the list; no other chain may take it */
        for (int j = 0; j < f->nin; j++)
            if (f->in[j]) c->reader[f->in[j]->id] = f;
    } else {
        last->op = URC_OP_COUNT; /* the Transpose; the Conv keeps its place */
        y0->producer = NULL;
    }
    if (!urc_ops[f->op].impl->infer(f)) {
        urc_error(urc_node_where(cv), "internal: fusing the epilogue of this convolution failed");
        *ok = false;
    }
    if (urc_verbose)
        urc_note("fuseconv: '%s' + %d nodes (act %d, transpose %d, residual %d)", cv->name, nc - 1, act, tr,
                 res != NULL);
    return true;
}

/* A convolution that can read X in parts: channels-last float on the direct kernel. */
static bool part_reader(const urc_node *n) {
    if (n->op != URC_OP_CONV && n->op != URC_OP_FUSED_CONV) return false;
    const urc_conv_attr *a = &n->a.conv;
    const urc_shape *ws = &n->in[1]->shape; /* and W taps that ops/conv.c unrolls at the borders */
    return a->channels_last && a->group == 1 && a->nx <= 1 && n->in[1]->data && n->in[0]->dtype == URC_DT_F32 &&
           ws->dims[ws->rank - 1] <= 16;
}

/* By value id, the positions of the nodes reading it, in node order
 * (start[id] .. start[id + 1] in pos), made once for the Concat sweep. A
 * position may since hold a FusedConv made in the sweep: it reads that
 * node's weights and a Concat's inputs, and that Concat still reads them. */
typedef struct readers {
    int *start, *pos;
    int nv;
} readers;

static readers list_readers(const urc_graph *g) {
    int nv = g->values.len;
    readers r = {urc_xcalloc((size_t)nv + 2, sizeof(int)), NULL, nv};
    int *last = urc_xmalloc(sizeof(int) * ((size_t)nv + 1)); /* the last node listed for a value */
    for (int pass = 0; pass < 2; pass++) {
        for (int v = 0; v < nv; v++) last[v] = -1;
        for (int i = 0; i < g->nodes.len; i++) {
            const urc_node *n = g->nodes.items[i];
            for (int j = 0; j < n->nin; j++) {
                const urc_value *v = n->in[j];
                if (!v || last[v->id] == i) continue;
                last[v->id] = i;
                if (pass) r.pos[r.start[v->id + 1]++] = i;
                else r.start[v->id + 2]++;
            }
        }
        if (!pass) { /* counts at start[id + 2] -> start[id + 1] is where id's list begins */
            for (int v = 0; v < nv; v++) r.start[v + 2] += r.start[v + 1];
            r.pos = urc_xmalloc(sizeof(int) * ((size_t)r.start[nv + 1] + 1));
        }
    }
    free(last);
    return r;
}

static bool fuse_concat(urc_graph *g, const readers *rd, urc_node *cat, bool *ok) {
    urc_value *y = cat->out[0];
    if (!y || (y->flags & URC_VAL_OUTPUT) || y->nuses < 1 || cat->nin < 2 || cat->nin > URC_CONV_MAX_PARTS)
        return false;
    int r = y->shape.rank;
    int64_t ax = cat->a.slice.axis < 0 ? cat->a.slice.axis + r : cat->a.slice.axis;
    if (r < 3 || ax != r - 1 || y->dtype != URC_DT_F32) return false;
    for (int j = 0; j < cat->nin; j++)
        if (!cat->in[j] || cat->in[j]->data) return false;
    if (y->id >= rd->nv) return false;
    int nr = 0, r0 = rd->start[y->id], r1 = rd->start[y->id + 1];
    for (int r = r0; r < r1; r++) {
        urc_node *n = g->nodes.items[rd->pos[r]];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == y) {
                if (j || !part_reader(n)) return false;
                nr++;
            }
    }
    if (nr != y->nuses) return false;
    for (int r = r0; r < r1; r++) {
        int i = rd->pos[r];
        urc_node *n = g->nodes.items[i];
        if (n->nin < 1 || n->in[0] != y) continue;
        int k = cat->nin;
        urc_node *f = urc_node_new(g, URC_OP_FUSED_CONV,
                                   n->op == URC_OP_FUSED_CONV ? n->name : urc_fmt("%s/fused", n->name), 3 + k, 1);
        g->nodes.len--; /* urc_node_new appended it; it takes n's place */
        f->opset = n->opset;
        f->in[0] = cat->in[0];
        f->in[1] = n->in[1];
        f->in[2] = n->nin > 2 ? n->in[2] : NULL;
        f->in[3] = n->nin > 3 ? n->in[3] : NULL;
        for (int p = 1; p < k; p++) f->in[3 + p] = cat->in[p];
        f->a = n->a;
        f->a.conv.nx = k;
        f->out[0] = n->out[0];
        f->out[0]->producer = f;
        f->out[0]->producer_slot = 0;
        g->nodes.items[i] = f;
        n->op = URC_OP_COUNT;
        if (!urc_ops[URC_OP_FUSED_CONV].impl->infer(f)) {
            urc_error(urc_node_where(n), "internal: reading the Concat's inputs as parts of X failed");
            *ok = false;
        }
        if (urc_verbose) urc_note("fuseconv: '%s' reads the %d inputs of Concat '%s' directly", n->name, k, cat->name);
    }
    return true;
}

bool urc_pass_fuse_conv(urc_graph *g) {
    urc_graph_count_uses(g);
    fctx c = {g, urc_graph_readers(g), {0}};
    urc_node_index_build(&c.pos, g);
    bool any = false, ok = true;
    int n0 = g->nodes.len;
    for (int sweep = 0; sweep < 2; sweep++)
        for (int i = 0; i < n0; i++) {
            urc_node *n = g->nodes.items[i];
            if (n->op == URC_OP_CONV && fuse_one(&c, n, sweep == 0, &ok)) any = true;
        }
    free(c.reader);
    urc_node_index_free(&c.pos);
    if (any) urc_graph_compact(g);
    urc_graph_count_uses(g);
    any = false;
    n0 = g->nodes.len;
    readers rd = list_readers(g);
    for (int i = 0; i < n0 && ok; i++) {
        urc_node *n = g->nodes.items[i];
        if (n->op == URC_OP_CONCAT && fuse_concat(g, &rd, n, &ok)) any = true;
    }
    free(rd.start);
    free(rd.pos);
    if (any) {
        urc_graph_compact(g);
        if (!urc_pass_dce(g)) return false;
    }
    urc_graph_count_uses(g);
    return ok;
}
