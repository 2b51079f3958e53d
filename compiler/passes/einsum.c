/* einsum.c: canonicalises Einsum into batched MatMul (see passes.h).
 *
 * An Einsum of two operands is a (batched) matrix product when its labels,
 * as resolved by inference (ellipsis expanded, explicit output), fall into
 *   batch: in A, B and the output      M: in A and the output only
 *   N: in B and the output only        K: in A and B only (summed; >= 1)
 * with no label repeated within an operand and no size-1 broadcasting
 * between A and B. It then equals
 *   A -> Transpose to [batch, M.., K..] -> Reshape to [batch, prod M, prod K]
 *   B -> Transpose to [batch, K.., N..] -> Reshape to [batch, prod K, prod N]
 *   MatMul -> [batch, prod M, prod N] -> Reshape to [batch, M.., N..]
 *   -> Transpose to the output order,
 * where every Transpose/Reshape that would not change anything is left out
 * (Reshapes are free views). The order of the labels within each class
 * is free: the one that moves the fewest elements is chosen (see
 * choose_orders). MONAI's attention gives
 *   blxd,blyd->blxy (q k^T): Transpose of k to [b,l,d,y], then MatMul;
 *   bhxy,bhyd->bhxd (attn v): a plain MatMul.
 * Any other Einsum (diagonals, one or three operands, labels summed within
 * one operand, elementwise/outer products, 8/16-bit integers) is kept and
 * runs through its own kernel.
 *
 * The new nodes are inserted where the Einsum was, so the node list stays
 * topologically ordered; the Einsum's output value is produced by the last
 * of them. New values are typed here by the ops' own infer callbacks (the
 * driver re-runs inference after this pass anyway); a Transpose/Reshape of a
 * constant operand is evaluated right away into a new constant. */
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "passes.h"

typedef struct rewriter {
    urc_graph *g;
    const urc_node *e; /* the Einsum being replaced */
    bool ok;
} rewriter;

/* Adds node op(in0, in1) whose output is `out` (a new value when NULL),
 * infers it and folds it when every input is constant. Returns the output. */
static urc_value *emit(rewriter *R, urc_op op, const char *what, urc_value *in0, urc_value *in1, urc_value *out,
                       const int64_t *perm, int nperm) {
    urc_graph *g = R->g;
    urc_attrs a;
    memset(&a, 0, sizeof a);
    if (op == URC_OP_TRANSPOSE) {
        a.movement.nperm = nperm;
        memcpy(a.movement.perm, perm, sizeof(int64_t) * (size_t)nperm);
    }
    urc_value *ins[2] = {in0, in1};
    bool inferred = true;
    urc_node *n =
        urc_node_make(g, op, urc_fmt("%s/%s", R->e->name, what), R->e->opset, in1 ? 2 : 1, ins, &a, out, &inferred);
    urc_value *v = n->out[0];
    if (!inferred) {
        urc_error(urc_node_where(R->e), "internal: rewriting into %s failed", urc_ops[op].name);
        R->ok = false;
        return v;
    }
    bool constant = !out;
    for (int j = 0; j < n->nin; j++) constant &= n->in[j]->data != NULL;
    if (constant) {
        urc_tensor ins_t[2], *ins[2], *outs[1];
        for (int j = 0; j < n->nin; j++) {
            ins_t[j] = urc_value_tensor(n->in[j]);
            ins[j] = &ins_t[j];
        }
        outs[0] = urc_tensor_new(v->dtype, &v->shape);
        if (urc_ops[op].impl->eval(n, ins, outs)) {
            v->data = outs[0]->data;
            v->producer = NULL;
            free(outs[0]);
            n->op = URC_OP_COUNT; /* not kept (see the rebuild in the pass) */
        } else {
            urc_tensor_free(outs[0]);
        }
    }
    return v;
}

static urc_value *transpose(rewriter *R, const char *what, urc_value *x, const int64_t *perm, int rank,
                            urc_value *out) {
    bool id = true;
    for (int d = 0; d < rank; d++) id &= perm[d] == d;
    if (id && !out) return x;
    return emit(R, URC_OP_TRANSPOSE, what, x, NULL, out, perm, rank);
}

static urc_value *reshape(rewriter *R, const char *what, urc_value *x, const urc_shape *s, urc_value *out) {
    if (urc_shape_eq(&x->shape, s) && !out) return x;
    urc_shape ss = {1, {s->rank}};
    urc_tensor *t = urc_tensor_new(URC_DT_I64, &ss);
    memcpy(t->data, s->dims, sizeof(int64_t) * (size_t)s->rank);
    urc_value *shape = urc_const_new(R->g, NULL, t);
    return emit(R, URC_OP_RESHAPE, what, x, shape, out, NULL, 0);
}

static int find(const char *s, char c) {
    const char *p = strchr(s, c);
    return p && c ? (int)(p - s) : -1;
}

/* Label classes of a matrix-product Einsum; false when it is not one. */
typedef struct classes {
    char b[URC_MAX_RANK + 1], m[URC_MAX_RANK + 1], n[URC_MAX_RANK + 1], k[URC_MAX_RANK + 1];
    int nb, nm, nn, nk;
} classes;

static bool classify(const urc_node *e, classes *c) {
    const urc_einsum_attr *a = &e->a.einsum;
    if (e->nin != 2 || a->nops != 2 || !e->in[0] || !e->in[1] || !e->out[0]) return false;
    const urc_value *A = e->in[0], *B = e->in[1], *Y = e->out[0];
    urc_dtype dt = Y->dtype;
    if (dt != URC_DT_F32 && dt != URC_DT_F64 && dt != URC_DT_I32 && dt != URC_DT_I64 && dt != URC_DT_U32 &&
        dt != URC_DT_U64)
        return false;
    if (!urc_shape_numel(&A->shape) || !urc_shape_numel(&B->shape) || !urc_shape_numel(&Y->shape)) return false;
    const char *la = a->labels[0], *lb = a->labels[1], *lo = a->out_labels;
    memset(c, 0, sizeof *c);
    for (int d = 0; la[d]; d++) {
        if (find(la, la[d]) != d) return false; /* diagonal */
        int ib = find(lb, la[d]);
        bool in_out = find(lo, la[d]) >= 0;
        if (ib < 0 && !in_out) return false;                                /* summed within A alone */
        if (ib >= 0 && A->shape.dims[d] != B->shape.dims[ib]) return false; /* broadcast */
        if (ib >= 0 && !in_out) c->k[c->nk++] = la[d];
    }
    for (int d = 0; lb[d]; d++) {
        if (find(lb, lb[d]) != d) return false;
        if (find(la, lb[d]) < 0 && find(lo, lb[d]) < 0) return false;
    }
    for (int d = 0; lo[d]; d++) {
        bool ia = find(la, lo[d]) >= 0, ib = find(lb, lo[d]) >= 0;
        if (ia && ib) c->b[c->nb++] = lo[d];
        else if (ia) c->m[c->nm++] = lo[d];
        else c->n[c->nn++] = lo[d];
    }
    return c->nk > 0 && c->nb + 2 <= URC_MAX_RANK;
}

/* Size of label l in operand x with labels lab. */
static int64_t lsize(const urc_value *x, const char *lab, char l) { return x->shape.dims[find(lab, l)]; }

/* Permutation taking x (labels lab) to the order of the concatenated label
 * lists p, q, r; returns the rank. */
static int perm_to(const char *lab, const char *p, const char *q, const char *r, int64_t *perm) {
    int k = 0;
    for (const char *s = p; *s; s++) perm[k++] = find(lab, *s);
    for (const char *s = q; *s; s++) perm[k++] = find(lab, *s);
    for (const char *s = r; *s; s++) perm[k++] = find(lab, *s);
    return k;
}

/* Shape [batch sizes, prod(P), prod(Q)] of operand x (labels lab). */
static urc_shape grouped(const urc_value *x, const char *lab, const classes *c, const char *P, const char *Q) {
    urc_shape s = {0};
    for (int i = 0; i < c->nb; i++) s.dims[s.rank++] = lsize(x, lab, c->b[i]);
    int64_t p = 1, q = 1;
    for (const char *t = P; *t; t++) p *= lsize(x, lab, *t);
    for (const char *t = Q; *t; t++) q *= lsize(x, lab, *t);
    s.dims[s.rank++] = p;
    s.dims[s.rank++] = q;
    return s;
}

/* Sorts the labels of s by their position in ref (all are in ref). */
static void sort_by(char *s, const char *ref) {
    for (int i = 1; s[i]; i++)
        for (int j = i; j > 0 && find(ref, s[j - 1]) > find(ref, s[j]); j--) {
            char t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
}

static bool is_identity(const int64_t *perm, int r) {
    for (int d = 0; d < r; d++)
        if (perm[d] != d) return false;
    return true;
}

/* Elements copied by the Transposes that orders c need. */
static int64_t transpose_cost(const urc_node *e, const classes *c) {
    const char *la = e->a.einsum.labels[0], *lb = e->a.einsum.labels[1], *lo = e->a.einsum.out_labels;
    int64_t perm[URC_MAX_RANK], cost = 0;
    char prod[3 * URC_MAX_RANK + 1] = {0};
    strcat(strcat(strcat(prod, c->b), c->m), c->n);
    if (!is_identity(perm, perm_to(la, c->b, c->m, c->k, perm))) cost += urc_shape_numel(&e->in[0]->shape);
    if (!is_identity(perm, perm_to(lb, c->b, c->k, c->n, perm))) cost += urc_shape_numel(&e->in[1]->shape);
    if (!is_identity(perm, perm_to(prod, lo, "", "", perm))) cost += urc_shape_numel(&e->out[0]->shape);
    return cost;
}

/* Picks the order of each label class (batch as in the output, A or B; M as
 * in the output or A; N as in the output or B; K as in A or B) that moves
 * the fewest elements; ties keep the earlier candidate (output order). */
static void choose_orders(const urc_node *e, classes *c) {
    const char *la = e->a.einsum.labels[0], *lb = e->a.einsum.labels[1], *lo = e->a.einsum.out_labels;
    const char *bref[3] = {lo, la, lb}, *mref[2] = {lo, la}, *nref[2] = {lo, lb}, *kref[2] = {la, lb};
    classes best = *c;
    int64_t best_cost = -1;
    for (int ib = 0; ib < 3; ib++)
        for (int im = 0; im < 2; im++)
            for (int in = 0; in < 2; in++)
                for (int ik = 0; ik < 2; ik++) {
                    classes t = *c;
                    sort_by(t.b, bref[ib]);
                    sort_by(t.m, mref[im]);
                    sort_by(t.n, nref[in]);
                    sort_by(t.k, kref[ik]);
                    int64_t cost = transpose_cost(e, &t);
                    if (best_cost < 0 || cost < best_cost) best = t, best_cost = cost;
                }
    *c = best;
}

static void rewrite(rewriter *R, const classes *c) {
    const urc_node *e = R->e;
    const char *la = e->a.einsum.labels[0], *lb = e->a.einsum.labels[1], *lo = e->a.einsum.out_labels;
    urc_value *A = e->in[0], *B = e->in[1], *Y = e->out[0];
    int64_t perm[URC_MAX_RANK];
    /* A -> [batch, M.., K..] -> [batch, Mp, Kp] */
    int r = perm_to(la, c->b, c->m, c->k, perm);
    urc_value *a = transpose(R, "transpose_a", A, perm, r, NULL);
    urc_shape as = grouped(A, la, c, c->m, c->k);
    a = reshape(R, "reshape_a", a, &as, NULL);
    /* B -> [batch, K.., N..] -> [batch, Kp, Np] */
    r = perm_to(lb, c->b, c->k, c->n, perm);
    urc_value *b = transpose(R, "transpose_b", B, perm, r, NULL);
    urc_shape bs = grouped(B, lb, c, c->k, c->n);
    b = reshape(R, "reshape_b", b, &bs, NULL);
    /* [batch, Mp, Np] -> [batch, M.., N..] -> output order */
    char prod[3 * URC_MAX_RANK + 1] = {0};
    strcat(strcat(strcat(prod, c->b), c->m), c->n);
    r = perm_to(prod, lo, "", "", perm);
    bool need_t = !is_identity(perm, r);
    urc_shape ps = {0}; /* the product's shape in label order prod */
    for (int i = 0; prod[i]; i++) {
        int ia = find(la, prod[i]);
        ps.dims[ps.rank++] = ia >= 0 ? A->shape.dims[ia] : lsize(B, lb, prod[i]);
    }
    bool need_r = c->nm != 1 || c->nn != 1;
    urc_value *y = emit(R, URC_OP_MATMUL, "matmul", a, b, need_r || need_t ? NULL : Y, NULL, 0);
    if (need_r) y = reshape(R, "reshape_y", y, &ps, need_t ? NULL : Y);
    if (need_t) transpose(R, "transpose_y", y, perm, r, Y);
}

bool urc_pass_einsum_to_matmul(urc_graph *g) {
    int n0 = g->nodes.len;
    /* New nodes are appended to g->nodes; span[i] records the range made
     * for the Einsum at position i, to be spliced in its place. */
    int *span_lo = urc_xcalloc((size_t)n0 + 1, sizeof(int)), *span_hi = urc_xcalloc((size_t)n0 + 1, sizeof(int));
    bool ok = true, any = false;
    for (int i = 0; i < n0; i++) {
        urc_node *e = g->nodes.items[i];
        classes c;
        if (e->op != URC_OP_EINSUM || !classify(e, &c)) continue;
        rewriter R = {g, e, true};
        choose_orders(e, &c);
        span_lo[i] = g->nodes.len;
        rewrite(&R, &c);
        span_hi[i] = g->nodes.len;
        if (!R.ok) ok = false;
        if (urc_verbose)
            urc_note("einsum: %s '%s' -> batch [%s] M [%s] N [%s] K [%s] as MatMul", urc_ops[e->op].name, e->name, c.b,
                     c.m, c.n, c.k);
        e->op = URC_OP_COUNT;
        any = true;
    }
    if (any) {
        urc_node **list = urc_xmalloc(sizeof(urc_node *) * (size_t)g->nodes.len);
        int k = 0;
        for (int i = 0; i < n0; i++) {
            for (int j = span_lo[i]; j < span_hi[i]; j++)
                if (g->nodes.items[j]->op != URC_OP_COUNT) list[k++] = g->nodes.items[j];
            if (g->nodes.items[i]->op != URC_OP_COUNT) list[k++] = g->nodes.items[i];
        }
        memcpy(g->nodes.items, list, sizeof(urc_node *) * (size_t)k);
        g->nodes.len = k;
        free(list);
    }
    free(span_lo);
    free(span_hi);
    return ok;
}
