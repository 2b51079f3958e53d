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
 * double. */
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

static int decl(urc_kernel *k, urc_ls *body, const char *name, urc_dtype dt, urc_lx *init) {
    int v = urc_kernel_var(k, name, dt);
    urc_ls_decl(body, v, init);
    return v;
}

static bool softmax_lower(urc_lower *L, const urc_node *n) {
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
    int base = decl(k, body, "base", URC_DT_I64, start);
    int j = urc_kernel_var(k, "j", URC_DT_I64);
    /* Element j of the row. */
#define AT(jx) urc_add(var(k, base), urc_muli(jx, inner))
    urc_lx *x0 = urc_lx_load(k, bx, var(k, base));
    if (n->op == URC_OP_HARDMAX) {
        int best = decl(k, body, "best", dt, x0);
        int bi = decl(k, body, "bi", URC_DT_I64, urc_lx_int(0));
        urc_ls *l1 = urc_ls_for(body, j, urc_lx_int(1), urc_lx_int(len), 1, 0);
        int v = decl(k, l1, "v", dt, urc_lx_load(k, bx, AT(var(k, j))));
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
    int m = decl(k, body, "m", dt, x0);
    urc_ls *l1 = urc_ls_for(body, j, urc_lx_int(1), urc_lx_int(len), 1, 0);
    urc_ls_assign(l1, m, bin(URC_L_MAX, var(k, m), urc_lx_load(k, bx, AT(var(k, j)))));
    int sum = decl(k, body, "sum", URC_DT_F64, urc_lx_flt(0, URC_DT_F64));
    urc_ls *l2 = urc_ls_for(body, j, urc_lx_int(0), urc_lx_int(len), 1, 0);
    urc_lx *e = urc_lx_un(URC_L_EXP, bin(URC_L_SUB, urc_lx_load(k, bx, AT(var(k, j))), var(k, m)));
    if (n->op == URC_OP_SOFTMAX) {
        int ev = decl(k, l2, "e", dt, e);
        urc_ls_store(l2, by, AT(var(k, j)), var(k, ev));
        urc_ls_assign(l2, sum, bin(URC_L_ADD, var(k, sum), urc_lx_cast(URC_DT_F64, var(k, ev))));
        int rs = decl(k, body, "rs", dt, urc_lx_cast(dt, bin(URC_L_DIV, urc_lx_flt(1, URC_DT_F64), var(k, sum))));
        urc_ls *l3 = urc_ls_for(body, j, urc_lx_int(0), urc_lx_int(len), 1, inner == 1 ? URC_FOR_SIMD : 0);
        urc_ls_store(l3, by, AT(var(k, j)), bin(URC_L_MUL, urc_lx_load(k, by, AT(var(k, j))), var(k, rs)));
    } else {
        urc_ls_assign(l2, sum, bin(URC_L_ADD, var(k, sum), urc_lx_cast(URC_DT_F64, e)));
        /* y = (x - m) - log(sum) */
        int lse = decl(k, body, "lse", dt, urc_lx_cast(dt, urc_lx_un(URC_L_LOG, var(k, sum))));
        urc_ls *l3 = urc_ls_for(body, j, urc_lx_int(0), urc_lx_int(len), 1, inner == 1 ? URC_FOR_SIMD : 0);
        urc_ls_store(l3, by, AT(var(k, j)), bin(URC_L_SUB, bin(URC_L_SUB, urc_lx_load(k, bx, AT(var(k, j))), var(k, m)), var(k, lse)));
    }
#undef AT
    return true;
}

static void softmax_print(const urc_node *n, urc_strbuf *sb) {
    urc_sb_printf(sb, " axis=%lld", (long long)n->a.softmax.axis);
}

const urc_op_impl urc_impl_softmax = {softmax_parse, softmax_infer, softmax_eval, softmax_lower, softmax_print};
