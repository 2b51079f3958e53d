/* softmax.c: Softmax, LogSoftmax and Hardmax along one axis (opset 13
 * semantics). Before opset 13 the input is coerced to 2-D at `axis`
 * (default 1): one row is all of dims[axis:], which is the same as a
 * single axis of that length with inner = 1.
 *
 * X is viewed as (outer, n, inner) with n = dims[axis]: every (outer,
 * inner) pair is one independent row of n elements, inner apart. Rows run
 * in parallel; each makes two or three passes over its row:
 *   Softmax     m = max x;  y = exp(x - m), sum += y;  y *= 1/sum
 *   LogSoftmax  m = max x;  sum = sum exp(x - m);      y = x - m - log(sum)
 *   Hardmax     first index of the maximum (NaN counts as largest, as
 *               numpy.argmax);  y = (j == index)
 * Subtracting the maximum keeps exp from overflowing; the sum is kept in
 * double.
 *
 * Lowering: rows along the last axis keep their maximum and sum in lane
 * arrays (vectorised passes); an axis with inner > 1 (channels of NCDHW)
 * runs blocks of consecutive inner positions with the lanes innermost. In
 * both, float32 exp is inlined arithmetic (exp_nonpos) instead of a
 * libm call per element. Hardmax and short rows keep the plain row loop. */
#include "activation.h"
#include "common.h"

static bool softmax_parse(urc_node *n, urc_attr_list *l) {
    return urc_attr_int(l, "axis", n->opset < 13 ? 1 : -1, &n->a.softmax.axis);
}

static bool softmax_infer(urc_node *n) {
    if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0)) return false;
    const urc_shape *xs = &n->in[0]->shape;
    if (xs->rank == 0) {
        urc_error(urc_node_where(n), "input 0 ('%s') must have rank 1 or more, got a scalar", n->in[0]->name);
        return false;
    }
    if (!urc_norm_axis(n, n->a.softmax.axis, xs->rank, &n->a.softmax.axis)) return false;
    urc_set_out(n, 0, n->in[0]->dtype, xs);
    return true;
}

/* (outer, n, inner) of x around axis; coerce2d for opset < 13. */
static void split_rows(const urc_node *node, const urc_shape *s, int axis, int64_t *outer, int64_t *len,
                       int64_t *inner) {
    *outer = *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= s->dims[d];
    for (int d = axis + 1; d < s->rank; d++) *inner *= s->dims[d];
    *len = s->dims[axis];
    if (node->opset < 13) {
        *len *= *inner;
        *inner = 1;
    }
}

static bool softmax_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *x = in[0];
    urc_tensor *y = out[0];
    int64_t outer, len, inner;
    split_rows(n, &x->shape, (int)n->a.softmax.axis, &outer, &len, &inner);
    if (len == 0) return true; /* y is empty */
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * len * inner + i;
            /* Maximum and its first index; NaN wins and propagates. */
            double m = urc_elem_f64(x->dtype, x->data, base);
            int64_t best = 0;
            for (int64_t j = 1; j < len; j++) {
                double v = urc_elem_f64(x->dtype, x->data, base + j * inner);
                if (v > m || (isnan(v) && !isnan(m))) {
                    m = v;
                    best = j;
                }
            }
            double sum = 0;
            for (int64_t j = 0; j < len; j++) sum += exp(urc_elem_f64(x->dtype, x->data, base + j * inner) - m);
            for (int64_t j = 0; j < len; j++) {
                double v = urc_elem_f64(x->dtype, x->data, base + j * inner), r;
                if (n->op == URC_OP_SOFTMAX) r = exp(v - m) / sum;
                else if (n->op == URC_OP_LOG_SOFTMAX) r = v - m - log(sum);
                else r = j == best;
                urc_elem_set_f64(y->dtype, y->data, base + j * inner, r);
            }
        }
    return true;
}

/* ---- lowering ------------------------------------------------------------- */

static urc_lx *bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_bin(op, a, b); }
static urc_lx *var(const urc_kernel *k, int v) { return urc_lx_var(k, v); }

/* The plain form: one parallel loop over rows, scalar passes (Hardmax,
 * and the fallback). */
static bool lower_rows(urc_lower *L, const urc_node *n) {
    const urc_value *xv = n->in[0];
    urc_dtype dt = xv->dtype;
    int64_t outer, len, inner;
    split_rows(n, &xv->shape, (int)n->a.softmax.axis, &outer, &len, &inner);
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, xv, "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    if (len == 0 || outer * inner == 0) return true; /* nothing to compute */
    /* One parallel loop over the rows; row r starts at
     * (r / inner) * len * inner + r % inner. */
    int r = urc_kernel_var(k, "r", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, r, urc_lx_int(0), urc_lx_int(outer * inner), 1, URC_FOR_PARALLEL);
    urc_lx *start = inner == 1 ? urc_muli(var(k, r), len)
                               : urc_add(urc_muli(bin(URC_L_DIV, var(k, r), urc_lx_int(inner)), len * inner),
                                         bin(URC_L_REM, var(k, r), urc_lx_int(inner)));
    int base = urc_ls_let(k, body, "base", URC_DT_I64, start);
    int j = urc_kernel_var(k, "j", URC_DT_I64);
    /* Element j of the row. */
#define AT(jx) urc_add(var(k, base), urc_muli(jx, inner))
    urc_lx *x0 = urc_lx_load(k, bx, var(k, base));
    if (n->op == URC_OP_HARDMAX) {
        int best = urc_ls_let(k, body, "best", dt, x0);
        int bi = urc_ls_let(k, body, "bi", URC_DT_I64, urc_lx_int(0));
        urc_ls *l1 = urc_ls_for(body, j, urc_lx_int(1), urc_lx_int(len), 1, 0);
        int v = urc_ls_let(k, l1, "v", dt, urc_lx_load(k, bx, AT(var(k, j))));
        urc_lx *better = bin(URC_L_OR, bin(URC_L_GT, var(k, v), var(k, best)),
                             bin(URC_L_AND, urc_lx_un(URC_L_ISNAN, var(k, v)),
                                 urc_lx_un(URC_L_NOT, urc_lx_un(URC_L_ISNAN, var(k, best)))));
        urc_ls *then = urc_ls_if(l1, better, NULL);
        urc_ls_assign(then, best, var(k, v));
        urc_ls_assign(then, bi, var(k, j));
        urc_ls *l2 = urc_ls_for(body, j, urc_lx_int(0), urc_lx_int(len), 1, 0);
        urc_ls_store(l2, by, AT(var(k, j)),
                     urc_lx_sel(bin(URC_L_EQ, var(k, j), var(k, bi)), urc_lx_flt(1, dt), urc_lx_flt(0, dt)));
        return true;
    }
    int m = urc_ls_let(k, body, "m", dt, x0);
    urc_ls *l1 = urc_ls_for(body, j, urc_lx_int(1), urc_lx_int(len), 1, 0);
    urc_ls_assign(l1, m, bin(URC_L_MAX, var(k, m), urc_lx_load(k, bx, AT(var(k, j)))));
    int sum = urc_ls_let(k, body, "sum", URC_DT_F64, urc_lx_flt(0, URC_DT_F64));
    urc_ls *l2 = urc_ls_for(body, j, urc_lx_int(0), urc_lx_int(len), 1, 0);
    urc_lx *e = urc_lx_un(URC_L_EXP, bin(URC_L_SUB, urc_lx_load(k, bx, AT(var(k, j))), var(k, m)));
    if (n->op == URC_OP_SOFTMAX) {
        int ev = urc_ls_let(k, l2, "e", dt, e);
        urc_ls_store(l2, by, AT(var(k, j)), var(k, ev));
        urc_ls_assign(l2, sum, bin(URC_L_ADD, var(k, sum), urc_lx_cast(URC_DT_F64, var(k, ev))));
        int rs = urc_ls_let(k, body, "rs", dt, urc_lx_cast(dt, bin(URC_L_DIV, urc_lx_flt(1, URC_DT_F64), var(k, sum))));
        urc_ls *l3 = urc_ls_for(body, j, urc_lx_int(0), urc_lx_int(len), 1, inner == 1 ? URC_FOR_SIMD : 0);
        urc_ls_store(l3, by, AT(var(k, j)), bin(URC_L_MUL, urc_lx_load(k, by, AT(var(k, j))), var(k, rs)));
    } else {
        urc_ls_assign(l2, sum, bin(URC_L_ADD, var(k, sum), urc_lx_cast(URC_DT_F64, e)));
        /* y = (x - m) - log(sum) */
        int lse = urc_ls_let(k, body, "lse", dt, urc_lx_cast(dt, urc_lx_un(URC_L_LOG, var(k, sum))));
        urc_ls *l3 = urc_ls_for(body, j, urc_lx_int(0), urc_lx_int(len), 1, inner == 1 ? URC_FOR_SIMD : 0);
        urc_ls_store(l3, by, AT(var(k, j)),
                     bin(URC_L_SUB, bin(URC_L_SUB, urc_lx_load(k, bx, AT(var(k, j))), var(k, m)), var(k, lse)));
    }
#undef AT
    return true;
}

/* exp(x) for x <= 0 (or NaN): float32 as arithmetic the C compiler can
 * vectorise (ops/activation.c: urc_fast_exp_nonpos; below -87 it gives
 * e^-87 ~ 1.6e-38, nothing next to a row's largest term exp(0) = 1), other
 * types libm's exp. Declares scalars in `at`. */
static urc_lx *exp_nonpos(urc_kernel *k, urc_ls *at, urc_lx *x) {
    return x->dt == URC_DT_F32 ? urc_fast_exp_nonpos(k, at, x) : urc_lx_un(URC_L_EXP, x);
}

/* Lanes of the vectorised forms: two vectors of the element type. */
static int64_t lanes(const urc_lower *L, urc_dtype dt) {
    int bits = L->target ? L->target->vector_bits : 128;
    int64_t l = 2 * bits / (8 * urc_dtype_size(dt));
    return l < 4 ? 4 : l;
}

/* Softmax/LogSoftmax along an axis with inner > 1 (e.g. over the channels
 * of an NCDHW tensor): blocks of B consecutive inner positions run in
 * parallel; each keeps B maxima and B double sums in local arrays and makes
 * its passes over the axis with the B lanes innermost (contiguous,
 * vectorised, exp inlined). */
static bool lower_inner(urc_lower *L, const urc_node *n, int64_t outer, int64_t len, int64_t inner) {
    const urc_value *xv = n->in[0];
    urc_dtype dt = xv->dtype;
    bool soft = n->op == URC_OP_SOFTMAX;
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, xv, "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    int64_t B = 4 * lanes(L, dt);
    if (B > inner) B = inner;
    int64_t nblk = (inner + B - 1) / B;
    int t = urc_kernel_var(k, "t", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, t, urc_lx_int(0), urc_lx_int(outer * nblk), 1, URC_FOR_PARALLEL);
    urc_lx *tv = var(k, t);
    urc_lx *o = nblk == 1 ? tv : bin(URC_L_DIV, tv, urc_lx_int(nblk));
    urc_lx *ib = nblk == 1 ? urc_lx_int(0) : urc_muli(bin(URC_L_REM, tv, urc_lx_int(nblk)), B);
    int i0 = urc_ls_let(k, body, "i0", URC_DT_I64, ib);
    int base = urc_ls_let(k, body, "base", URC_DT_I64, urc_add(urc_muli(o, len * inner), var(k, i0)));
    urc_lx *cnt = inner % B == 0 ? urc_lx_int(B)
                                 : urc_lx_sel(bin(URC_L_LT, urc_addi(var(k, i0), B), urc_lx_int(inner)), urc_lx_int(B),
                                              urc_sub(urc_lx_int(inner), var(k, i0)));
    int hi = urc_ls_let(k, body, "cnt", URC_DT_I64, cnt);
    int bm = urc_kernel_local(k, "m", dt, B), bs = urc_kernel_local(k, "s", URC_DT_F64, B);
    int br = urc_kernel_local(k, "r", dt, B);
    urc_ls_array(body, k, bm);
    urc_ls_array(body, k, bs);
    urc_ls_array(body, k, br);
    int l = urc_kernel_var(k, "l", URC_DT_I64), j = urc_kernel_var(k, "j", URC_DT_I64);
#define AT(jx) urc_add(var(k, base), urc_add(urc_muli(jx, inner), var(k, l)))
#define LANES(parent) urc_ls_for(parent, l, urc_lx_int(0), var(k, hi), 1, URC_FOR_VECTOR)
    urc_ls *z = LANES(body);
    urc_ls_store(z, bm, var(k, l), urc_lx_load(k, bx, AT(urc_lx_int(0))));
    urc_ls_store(z, bs, var(k, l), urc_lx_flt(0, URC_DT_F64));
    urc_ls *l1 = LANES(urc_ls_for(body, j, urc_lx_int(1), urc_lx_int(len), 1, 0));
    urc_ls_store(l1, bm, var(k, l), bin(URC_L_MAX, urc_lx_load(k, bm, var(k, l)), urc_lx_load(k, bx, AT(var(k, j)))));
    urc_ls *l2 = LANES(urc_ls_for(body, j, urc_lx_int(0), urc_lx_int(len), 1, 0));
    urc_lx *e = exp_nonpos(k, l2, bin(URC_L_SUB, urc_lx_load(k, bx, AT(var(k, j))), urc_lx_load(k, bm, var(k, l))));
    int ev = urc_ls_let(k, l2, "e", dt, e);
    if (soft) urc_ls_store(l2, by, AT(var(k, j)), var(k, ev));
    urc_ls_accum(l2, bs, var(k, l), urc_lx_cast(URC_DT_F64, var(k, ev)));
    urc_ls *lr = LANES(body);
    urc_lx *sv = urc_lx_load(k, bs, var(k, l));
    urc_ls_store(lr, br, var(k, l),
                 urc_lx_cast(dt, soft ? bin(URC_L_DIV, urc_lx_flt(1, URC_DT_F64), sv) : urc_lx_un(URC_L_LOG, sv)));
    urc_ls *l3 = LANES(urc_ls_for(body, j, urc_lx_int(0), urc_lx_int(len), 1, 0));
    urc_lx *yv = soft ? bin(URC_L_MUL, urc_lx_load(k, by, AT(var(k, j))), urc_lx_load(k, br, var(k, l)))
                      : bin(URC_L_SUB, bin(URC_L_SUB, urc_lx_load(k, bx, AT(var(k, j))), urc_lx_load(k, bm, var(k, l))),
                            urc_lx_load(k, br, var(k, l)));
    urc_ls_store(l3, by, AT(var(k, j)), yv);
#undef AT
#undef LANES
    return true;
}

/* Softmax/LogSoftmax along the last axis (contiguous rows): rows run in
 * parallel; the maximum and the double sum are kept in lane arrays so the
 * passes vectorise (exp inlined). */
static bool lower_last(urc_lower *L, const urc_node *n, int64_t rows, int64_t len) {
    const urc_value *xv = n->in[0];
    urc_dtype dt = xv->dtype;
    bool soft = n->op == URC_OP_SOFTMAX;
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, xv, "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    int64_t W = lanes(L, dt), nb = len / W;
    int r = urc_kernel_var(k, "r", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, r, urc_lx_int(0), urc_lx_int(rows), 1, URC_FOR_PARALLEL);
    int base = urc_ls_let(k, body, "base", URC_DT_I64, urc_muli(var(k, r), len));
    int bm = urc_kernel_local(k, "lm", dt, W), bs = urc_kernel_local(k, "ls", URC_DT_F64, W);
    urc_ls_array(body, k, bm);
    urc_ls_array(body, k, bs);
    int l = urc_kernel_var(k, "l", URC_DT_I64), i = urc_kernel_var(k, "i", URC_DT_I64);
    urc_lx *xi_blk = urc_add(var(k, base), urc_add(var(k, i), var(k, l)));
    /* maximum: W lanes over the full blocks, then the lanes and the tail */
    urc_ls *z = urc_ls_for(body, l, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_VECTOR);
    urc_ls_store(z, bm, var(k, l), urc_lx_load(k, bx, var(k, base)));
    urc_ls_store(z, bs, var(k, l), urc_lx_flt(0, URC_DT_F64));
    urc_ls *l1 = urc_ls_for(urc_ls_for(body, i, urc_lx_int(0), urc_lx_int(nb * W), W, 0), l, urc_lx_int(0),
                            urc_lx_int(W), 1, URC_FOR_VECTOR);
    urc_ls_store(l1, bm, var(k, l), bin(URC_L_MAX, urc_lx_load(k, bm, var(k, l)), urc_lx_load(k, bx, xi_blk)));
    int m = urc_ls_let(k, body, "m", dt, urc_lx_load(k, bx, var(k, base)));
    urc_ls *lr = urc_ls_for(body, l, urc_lx_int(0), urc_lx_int(W), 1, 0);
    urc_ls_assign(lr, m, bin(URC_L_MAX, var(k, m), urc_lx_load(k, bm, var(k, l))));
    if (nb * W < len) {
        urc_ls *lt = urc_ls_for(body, i, urc_lx_int(nb * W), urc_lx_int(len), 1, 0);
        urc_ls_assign(lt, m, bin(URC_L_MAX, var(k, m), urc_lx_load(k, bx, urc_add(var(k, base), var(k, i)))));
    }
    /* sum of exp(x - m) (Softmax stores it in y) */
    urc_ls *l2 = urc_ls_for(urc_ls_for(body, i, urc_lx_int(0), urc_lx_int(nb * W), W, 0), l, urc_lx_int(0),
                            urc_lx_int(W), 1, URC_FOR_VECTOR);
    int e1 = urc_ls_let(k, l2, "e", dt, exp_nonpos(k, l2, bin(URC_L_SUB, urc_lx_load(k, bx, xi_blk), var(k, m))));
    if (soft) urc_ls_store(l2, by, xi_blk, var(k, e1));
    urc_ls_accum(l2, bs, var(k, l), urc_lx_cast(URC_DT_F64, var(k, e1)));
    int sum = urc_ls_let(k, body, "sum", URC_DT_F64, urc_lx_flt(0, URC_DT_F64));
    if (nb * W < len) {
        urc_ls *lt = urc_ls_for(body, i, urc_lx_int(nb * W), urc_lx_int(len), 1, 0);
        urc_lx *xt = urc_add(var(k, base), var(k, i));
        int e2 = urc_ls_let(k, lt, "e", dt, exp_nonpos(k, lt, bin(URC_L_SUB, urc_lx_load(k, bx, xt), var(k, m))));
        if (soft) urc_ls_store(lt, by, xt, var(k, e2));
        urc_ls_assign(lt, sum, bin(URC_L_ADD, var(k, sum), urc_lx_cast(URC_DT_F64, var(k, e2))));
    }
    urc_ls *ls = urc_ls_for(body, l, urc_lx_int(0), urc_lx_int(W), 1, 0);
    urc_ls_assign(ls, sum, bin(URC_L_ADD, var(k, sum), urc_lx_load(k, bs, var(k, l))));
    urc_lx *xi = urc_add(var(k, base), var(k, i));
    if (soft) {
        int rs = urc_ls_let(k, body, "rs", dt, urc_lx_cast(dt, bin(URC_L_DIV, urc_lx_flt(1, URC_DT_F64), var(k, sum))));
        urc_ls *l3 = urc_ls_for(body, i, urc_lx_int(0), urc_lx_int(len), 1, URC_FOR_SIMD | URC_FOR_VECTOR);
        urc_ls_store(l3, by, xi, bin(URC_L_MUL, urc_lx_load(k, by, xi), var(k, rs)));
    } else {
        int lse = urc_ls_let(k, body, "lse", dt, urc_lx_cast(dt, urc_lx_un(URC_L_LOG, var(k, sum))));
        urc_ls *l3 = urc_ls_for(body, i, urc_lx_int(0), urc_lx_int(len), 1, URC_FOR_SIMD | URC_FOR_VECTOR);
        urc_ls_store(l3, by, xi, bin(URC_L_SUB, bin(URC_L_SUB, urc_lx_load(k, bx, xi), var(k, m)), var(k, lse)));
    }
    return true;
}

static bool softmax_lower(urc_lower *L, const urc_node *n) {
    int64_t outer, len, inner;
    split_rows(n, &n->in[0]->shape, (int)n->a.softmax.axis, &outer, &len, &inner);
    if (n->op == URC_OP_HARDMAX || len == 0 || outer * inner == 0) return lower_rows(L, n);
    if (inner > 1) return lower_inner(L, n, outer, len, inner);
    if (len >= 2 * lanes(L, n->in[0]->dtype)) return lower_last(L, n, outer, len);
    return lower_rows(L, n);
}

static void softmax_print(const urc_node *n, urc_strbuf *sb) {
    urc_sb_printf(sb, " axis=%lld", (long long)n->a.softmax.axis);
}

const urc_op_impl urc_impl_softmax = {softmax_parse, softmax_infer, softmax_eval,
                                      softmax_lower, softmax_print, .signature_lower = true};
