/* loss.c: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
 *
 * X is [N, C, d...] (scores; SoftmaxCrossEntropyLoss takes their log-softmax
 * along C first), the target [N, d...] holds class indices, an optional
 * weight [C] weighs each class. Per position (n, d) with t = target[n, d]:
 *   w = weight[t] (1 without weights),  l = -w * X'[n, t, d]
 * and both are 0 where t == ignore_index. Reduction none gives l (the
 * target's shape), sum gives sum(l), mean sum(l) / sum(w) (ONNX's
 * definition, also without weights: the count of positions not ignored).
 * SoftmaxCrossEntropyLoss's optional second output is the log-softmax.
 * A target outside [0, C) that is not ignore_index is an error (compile
 * time for a constant target, the interpreter, PREFIX_ERR_INDEX from the
 * generated code). Sums are accumulated in double. */
#include "common.h"

static bool loss_parse(urc_node *n, urc_attr_list *l) {
    urc_loss_attr *a = &n->a.loss;
    const char *r;
    if (!urc_attr_string(l, "reduction", "mean", &r) || !urc_attr_int(l, "ignore_index", 0, &a->ignore_index))
        return false;
    a->has_ignore = urc_attr_has(l, "ignore_index");
    static const char *names[] = {"none", "sum", "mean"};
    a->reduction = -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(r, names[i])) a->reduction = i;
    if (a->reduction < 0) {
        urc_error(l->where, "attribute 'reduction' must be none, sum or mean, got '%s'", r);
        return false;
    }
    return true;
}

static bool sce(const urc_node *n) { return n->op == URC_OP_SOFTMAX_CE_LOSS; }

/* (N, C, D) of X. */
static void geometry(const urc_shape *xs, int64_t *N, int64_t *C, int64_t *D) {
    *N = xs->dims[0];
    *C = xs->dims[1];
    *D = 1;
    for (int d = 2; d < xs->rank; d++) *D *= xs->dims[d];
}

static bool target_ok(const urc_loss_attr *a, int64_t t, int64_t C) {
    return (a->has_ignore && t == a->ignore_index) || (t >= 0 && t < C);
}

static bool loss_infer(urc_node *n) {
    const urc_loss_attr *a = &n->a.loss;
    const char *where = urc_node_where(n);
    if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0) || !urc_check_rank(n, 0, 2, URC_MAX_RANK))
        return false;
    const urc_shape *xs = &n->in[0]->shape, *ts = &n->in[1]->shape;
    urc_dtype tdt = n->in[1]->dtype;
    if (tdt != URC_DT_I32 && tdt != URC_DT_I64) {
        urc_error(where, "the target must be int32 or int64, got %s", urc_dtype_name(tdt));
        return false;
    }
    bool shape_ok = ts->rank == xs->rank - 1 && ts->dims[0] == xs->dims[0];
    for (int d = 1; shape_ok && d < ts->rank; d++) shape_ok = ts->dims[d] == xs->dims[d + 1];
    if (!shape_ok) {
        urc_error(where, "the target %s must have the shape of X %s without its dim 1", urc_shape_str(ts),
                  urc_shape_str(xs));
        return false;
    }
    int64_t N, C, D;
    geometry(xs, &N, &C, &D);
    if (n->nin > 2 && n->in[2]) {
        const urc_shape *ws = &n->in[2]->shape;
        if (!urc_check_same_dtype(n, 0, 2)) return false;
        if (ws->rank != 1 || ws->dims[0] != C) {
            urc_error(where, "the weight %s must have shape [%lld]", urc_shape_str(ws), (long long)C);
            return false;
        }
    }
    const urc_value *tv = n->in[1];
    if (tv->data)
        for (int64_t i = 0; i < N * D; i++) {
            int64_t t = urc_elem_i64(tdt, tv->data, i);
            if (!target_ok(a, t, C)) {
                urc_error(where, "target %lld (element %lld) is out of range for %lld classes", (long long)t,
                          (long long)i, (long long)C);
                return false;
            }
        }
    urc_shape scalar = {0, {0}};
    urc_set_out(n, 0, n->in[0]->dtype, a->reduction == URC_LOSS_NONE ? ts : &scalar);
    if (n->nout > 1) urc_set_out(n, 1, n->in[0]->dtype, xs);
    return true;
}

static bool loss_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_loss_attr *a = &n->a.loss;
    const urc_tensor *x = in[0], *tg = in[1], *w = n->nin > 2 ? in[2] : NULL;
    int64_t N, C, D;
    geometry(&x->shape, &N, &C, &D);
    double sl = 0, sw = 0, *lp = NULL;
    if (sce(n)) { /* log-softmax along C */
        lp = urc_xmalloc(sizeof(double) * (size_t)(N * C * D + 1));
        for (int64_t b = 0; b < N; b++)
            for (int64_t d = 0; d < D; d++) {
                double m = -INFINITY, s = 0;
                for (int64_t c = 0; c < C; c++) m = fmax(m, urc_elem_f64(x->dtype, x->data, (b * C + c) * D + d));
                for (int64_t c = 0; c < C; c++) s += exp(urc_elem_f64(x->dtype, x->data, (b * C + c) * D + d) - m);
                for (int64_t c = 0; c < C; c++) {
                    int64_t e = (b * C + c) * D + d;
                    lp[e] = urc_elem_f64(x->dtype, x->data, e) - m - log(s);
                    if (n->nout > 1 && out[1]) urc_elem_set_f64(out[1]->dtype, out[1]->data, e, lp[e]);
                }
            }
    }
    bool ok = true;
    for (int64_t b = 0; b < N && ok; b++)
        for (int64_t d = 0; d < D; d++) {
            int64_t t = urc_elem_i64(tg->dtype, tg->data, b * D + d);
            double l = 0, wt = 0;
            if (!target_ok(a, t, C)) {
                urc_error(urc_node_where(n), "target %lld (element %lld) is out of range for %lld classes",
                          (long long)t, (long long)(b * D + d), (long long)C);
                ok = false;
                break;
            }
            if (!(a->has_ignore && t == a->ignore_index)) {
                int64_t e = (b * C + t) * D + d;
                wt = w ? urc_elem_f64(w->dtype, w->data, t) : 1;
                l = -wt * (lp ? lp[e] : urc_elem_f64(x->dtype, x->data, e));
            }
            if (a->reduction == URC_LOSS_NONE) urc_elem_set_f64(out[0]->dtype, out[0]->data, b * D + d, l);
            sl += l;
            sw += wt;
        }
    free(lp);
    if (!ok) return false;
    if (a->reduction != URC_LOSS_NONE)
        urc_elem_set_f64(out[0]->dtype, out[0]->data, 0, a->reduction == URC_LOSS_SUM ? sl : sl / sw);
    return true;
}

/* ---- lowering ------------------------------------------------------------------ */

static urc_lx *var(const urc_kernel *k, int v) { return urc_lx_var(k, v); }
static urc_lx *f64(urc_lx *e) { return urc_lx_cast(URC_DT_F64, e); }
static urc_lx *bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_bin(op, a, b); }

/* One kernel: a check of run-time targets, then per position (n, d) — in
 * parallel for reduction none, else in order into two double sums — the
 * log-softmax along C (SoftmaxCrossEntropyLoss; stored if asked for) and
 * the position's loss. */
static bool loss_lower(urc_lower *L, const urc_node *n) {
    const urc_loss_attr *a = &n->a.loss;
    const urc_value *xv = n->in[0], *tv = n->in[1], *wv = n->nin > 2 ? n->in[2] : NULL;
    int64_t N, C, D;
    geometry(&xv->shape, &N, &C, &D);
    urc_dtype dt = xv->dtype;
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, xv, "x"), bt = urc_lower_in(L, k, tv, "target");
    int bw = wv ? urc_lower_in(L, k, wv, "weight") : -1;
    int by = urc_lower_out(L, k, n->out[0], "loss");
    int blp = n->nout > 1 && n->out[1] ? urc_lower_out(L, k, n->out[1], "log_prob") : -1;
    bool reduce = a->reduction != URC_LOSS_NONE;
    urc_lx *ign = urc_lx_int(a->ignore_index);
    if (!tv->data && N * D > 0) {
        int j = urc_kernel_var(k, "j", URC_DT_I64);
        urc_ls *cb = urc_ls_for(k->body, j, urc_lx_int(0), urc_lx_int(N * D), 1, 0);
        urc_lx *t = urc_lx_cast(URC_DT_I64, urc_lx_load(k, bt, var(k, j)));
        urc_lx *bad = bin(URC_L_OR, bin(URC_L_LT, t, urc_lx_int(0)), bin(URC_L_GE, t, urc_lx_int(C)));
        if (a->has_ignore) bad = bin(URC_L_AND, bad, bin(URC_L_NE, t, ign));
        urc_ls_fail(urc_ls_if(cb, bad, NULL), k);
    }
    int sl = -1, sw = -1;
    if (reduce) {
        sl = urc_ls_let(k, k->body, "sl", URC_DT_F64, urc_lx_flt(0, URC_DT_F64));
        sw = urc_ls_let(k, k->body, "sw", URC_DT_F64, urc_lx_flt(0, URC_DT_F64));
    }
    int bv = urc_kernel_var(k, "b", URC_DT_I64), dv = urc_kernel_var(k, "d", URC_DT_I64);
    urc_ls *lb = urc_ls_for(k->body, bv, urc_lx_int(0), urc_lx_int(N), 1, reduce ? 0 : URC_FOR_PARALLEL);
    urc_ls *body = urc_ls_for(lb, dv, urc_lx_int(0), urc_lx_int(D), 1, 0);
    urc_lx *pos = urc_add(urc_muli(var(k, bv), D), var(k, dv));
    int t = urc_ls_let(k, body, "t", URC_DT_I64, urc_lx_cast(URC_DT_I64, urc_lx_load(k, bt, pos)));
    /* element (b, c, d) of X */
    int cv = urc_kernel_var(k, "c", URC_DT_I64);
    urc_lx *xe_c = urc_add(urc_muli(urc_add(urc_muli(var(k, bv), C), var(k, cv)), D), var(k, dv));
    int lse = -1;
    if (sce(n)) {
        int m = urc_ls_let(k, body, "m", URC_DT_F64, urc_lx_flt(-INFINITY, URC_DT_F64));
        urc_ls *l1 = urc_ls_for(body, cv, urc_lx_int(0), urc_lx_int(C), 1, 0);
        urc_ls_assign(l1, m, bin(URC_L_MAX, var(k, m), f64(urc_lx_load(k, bx, xe_c))));
        int s = urc_ls_let(k, body, "s", URC_DT_F64, urc_lx_flt(0, URC_DT_F64));
        urc_ls *l2 = urc_ls_for(body, cv, urc_lx_int(0), urc_lx_int(C), 1, 0);
        urc_ls_assign(
            l2, s,
            bin(URC_L_ADD, var(k, s), urc_lx_un(URC_L_EXP, bin(URC_L_SUB, f64(urc_lx_load(k, bx, xe_c)), var(k, m)))));
        lse = urc_ls_let(k, body, "lse", URC_DT_F64, bin(URC_L_ADD, var(k, m), urc_lx_un(URC_L_LOG, var(k, s))));
        if (blp >= 0) {
            urc_ls *l3 = urc_ls_for(body, cv, urc_lx_int(0), urc_lx_int(C), 1, 0);
            urc_ls_store(l3, blp, xe_c, urc_lx_cast(dt, bin(URC_L_SUB, f64(urc_lx_load(k, bx, xe_c)), var(k, lse))));
        }
    }
    int l = urc_ls_let(k, body, "l", URC_DT_F64, urc_lx_flt(0, URC_DT_F64));
    int w = urc_ls_let(k, body, "w", URC_DT_F64, urc_lx_flt(0, URC_DT_F64));
    urc_ls *take = a->has_ignore ? urc_ls_if(body, bin(URC_L_NE, var(k, t), ign), NULL) : body;
    urc_lx *xt = urc_add(urc_muli(urc_add(urc_muli(var(k, bv), C), var(k, t)), D), var(k, dv));
    urc_lx *v = f64(urc_lx_load(k, bx, xt));
    if (sce(n)) v = bin(URC_L_SUB, v, var(k, lse));
    urc_ls_assign(take, w, bw >= 0 ? f64(urc_lx_load(k, bw, var(k, t))) : urc_lx_flt(1, URC_DT_F64));
    urc_ls_assign(take, l, bin(URC_L_MUL, urc_lx_un(URC_L_NEG, var(k, w)), v));
    if (!reduce) {
        urc_ls_store(body, by, pos, urc_lx_cast(dt, var(k, l)));
        return true;
    }
    urc_ls_assign(body, sl, bin(URC_L_ADD, var(k, sl), var(k, l)));
    urc_ls_assign(body, sw, bin(URC_L_ADD, var(k, sw), var(k, w)));
    urc_lx *r = a->reduction == URC_LOSS_SUM ? var(k, sl) : bin(URC_L_DIV, var(k, sl), var(k, sw));
    urc_ls_store(k->body, by, urc_lx_int(0), urc_lx_cast(dt, r));
    return true;
}

static void loss_print(const urc_node *n, urc_strbuf *sb) {
    static const char *names[] = {"none", "sum", "mean"};
    const urc_loss_attr *a = &n->a.loss;
    urc_sb_printf(sb, " reduction=%s", names[a->reduction]);
    if (a->has_ignore) urc_sb_printf(sb, " ignore_index=%lld", (long long)a->ignore_index);
}

const urc_op_impl urc_impl_loss = {loss_parse, loss_infer, loss_eval, loss_lower, loss_print, .signature_lower = false};
