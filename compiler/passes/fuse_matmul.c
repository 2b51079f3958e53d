/* fuse_matmul.c: MatMul epilogue fusion (see passes.h).
 *
 * Starting at each float MatMul whose B is a constant (a weight) and whose
 * operands have rank >= 2, the chain
 *   y0 = MatMul(A, B)
 *   y1 = Add(y0, bias)          (either order)               optional
 *   y2 = act(y1)                any of ir/act.def           optional
 *   y3 = Add(y2, residual)      (either order)               optional
 * becomes one unetrc.FusedMatMul(A, B, bias, residual) computing
 * act(A @ B + bias) + residual in the matmul's store loop (ops/matmul.c).
 * A step is taken only when the value so far has exactly one reader and is
 * not a graph output, and only when the Add does not broadcast the matmul
 * result to a bigger shape (its other operand broadcasts to the result
 * shape: bias is typically [N], residual of the result's shape). Without
 * an Add first, the activation is still fused (MatMul + Relu). The fused
 * node takes the place of the chain's last node, after every value it
 * reads. */
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

/* r = Add(cur, x) or Add(x, cur) with x of cur's dtype broadcasting to
 * cur's shape (and r's shape equal to cur's): returns x. */
static urc_value *add_operand(const urc_node *r, const urc_value *cur) {
    if (!r || r->op != URC_OP_ADD || r->nin != 2 || !r->out[0]) return NULL;
    urc_value *x = r->in[0] == cur ? r->in[1] : r->in[1] == cur ? r->in[0] : NULL;
    if (!x || x == cur || x->dtype != cur->dtype || !urc_shape_bcasts_to(&x->shape, &cur->shape)) return NULL;
    if (!urc_shape_eq(&r->out[0]->shape, &cur->shape)) return NULL;
    return x;
}

/* Returns true when it fused; *ok becomes false on an internal error. */
static bool fuse_one(fctx *c, urc_node *mm, bool *ok) {
    urc_graph *g = c->g;
    urc_value *a = mm->in[0], *b = mm->in[1], *cur = mm->out[0];
    if (!cur || !b->data || !(cur->dtype == URC_DT_F32 || cur->dtype == URC_DT_F64)) return false;
    if (a->shape.rank < 2 || b->shape.rank < 2) return false;
    urc_node *chain[4];
    int nc = 0;
    chain[nc++] = mm;
    urc_value *bias = NULL, *res = NULL;
    urc_act act = URC_ACT_NONE;
    double act_alpha = 0;
    urc_node *r = urc_only_reader(c->reader, cur);
    urc_value *x = add_operand(r, cur);
    if (x) {
        bias = x;
        cur = r->out[0];
        chain[nc++] = r;
        r = urc_only_reader(c->reader, cur);
    }
    if (urc_act_match(r, cur, &act, &act_alpha)) {
        cur = r->out[0];
        chain[nc++] = r;
        r = urc_only_reader(c->reader, cur);
    }
    x = add_operand(r, cur);
    if (x) {
        res = x;
        cur = r->out[0];
        chain[nc++] = r;
    }
    if (nc == 1) return false;
    urc_node *last = chain[nc - 1];
    int nin = res ? 4 : bias ? 3 : 2;
    urc_node *f = urc_node_in_place_of(g, &c->pos, last, URC_OP_FUSED_MATMUL, urc_fmt("%s/fused", mm->name), nin);
    f->in[0] = a;
    f->in[1] = b;
    if (nin > 2) f->in[2] = bias;
    if (nin > 3) f->in[3] = res;
    memset(&f->a, 0, sizeof f->a);
    f->a.gemm.alpha = 1;
    f->a.gemm.act = act;
    f->a.gemm.act_alpha = act_alpha;
    for (int i = 0; i < nc - 1; i++) urc_node_drop(chain[i]);
    if (!urc_ops[URC_OP_FUSED_MATMUL].impl->infer(f)) {
        urc_error(urc_node_where(mm), "internal: fusing into %s failed", urc_ops[URC_OP_FUSED_MATMUL].name);
        *ok = false;
    }
    if (urc_verbose)
        urc_note("fuse: '%s' + %d nodes -> FusedMatMul (bias %d, act %d, residual %d)", mm->name, nc - 1, bias != NULL,
                 (int)act, res != NULL);
    return true;
}

bool urc_pass_fuse_matmul(urc_graph *g) {
    urc_graph_count_uses(g);
    fctx c = {g, urc_graph_readers(g), {0}};
    urc_node_index_build(&c.pos, g);
    bool any = false, ok = true;
    int n0 = g->nodes.len;
    for (int i = 0; i < n0; i++) {
        urc_node *n = g->nodes.items[i];
        if (n->op == URC_OP_MATMUL && fuse_one(&c, n, &ok)) any = true;
    }
    free(c.reader);
    urc_node_index_free(&c.pos);
    if (any) {
        urc_graph_compact(g);
        urc_graph_count_uses(g);
    }
    return ok;
}
