/* scan.c: CumSum, the running sum along one axis.
 *
 * y[.., p, ..] = sum of x[.., q, ..] for q <= p (q < p with exclusive; q >=
 * p, q > p with reverse). The axis is a constant input. Floats accumulate
 * in double (the reference and the generated code alike), integers in
 * int64 with wrap-around, stored in the type (docs/ops.md, integer
 * semantics). */
#include "common.h"

static bool scan_parse(urc_node *n, urc_attr_list *l) {
    urc_scan_attr *a = &n->a.scan;
    int64_t e, r;
    if (!urc_attr_int(l, "exclusive", 0, &e) || !urc_attr_int(l, "reverse", 0, &r)) return false;
    a->exclusive = e != 0;
    a->reverse = r != 0;
    return true;
}

static bool scan_infer(urc_node *n) {
    urc_scan_attr *a = &n->a.scan;
    const char *where = urc_node_where(n);
    if (!urc_check_dtype(n, 0, URC_DTM_NUM) || !urc_reject_half(n, 0)) return false;
    const urc_shape *xs = &n->in[0]->shape;
    if (!urc_check_rank(n, 0, 1, URC_MAX_RANK)) return false;
    const urc_value *av = n->in[1];
    if ((av->dtype != URC_DT_I32 && av->dtype != URC_DT_I64) || urc_shape_numel(&av->shape) != 1 ||
        av->shape.rank > 1) {
        urc_error(where, "axis ('%s') must be an int32 or int64 scalar, got %s%s", av->name, urc_dtype_name(av->dtype),
                  urc_shape_str(&av->shape));
        return false;
    }
    if (!av->data) {
        urc_error(where, "input 1 ('%s') must be a constant known at compile time", av->name);
        return false;
    }
    if (!urc_norm_axis(n, urc_elem_i64(av->dtype, av->data, 0), xs->rank, &a->axis)) return false;
    urc_set_out(n, 0, n->in[0]->dtype, xs);
    return true;
}

/* (outer, length, inner) of x around the axis. */
static void split(const urc_shape *s, int ax, int64_t *O, int64_t *A, int64_t *I) {
    *O = *I = 1;
    for (int d = 0; d < ax; d++) *O *= s->dims[d];
    for (int d = ax + 1; d < s->rank; d++) *I *= s->dims[d];
    *A = s->dims[ax];
}

static bool scan_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_scan_attr *a = &n->a.scan;
    const urc_tensor *x = in[0];
    urc_tensor *y = out[0];
    int64_t O, A, I;
    split(&x->shape, (int)a->axis, &O, &A, &I);
    bool fl = urc_dtype_is_float(x->dtype);
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++) {
            double sf = 0;
            int64_t si = 0;
            for (int64_t t = 0; t < A; t++) {
                int64_t p = a->reverse ? A - 1 - t : t, e = (o * A + p) * I + i;
                double vf = fl ? urc_elem_f64(x->dtype, x->data, e) : 0;
                int64_t vi = fl ? 0 : urc_elem_i64(x->dtype, x->data, e);
                if (!a->exclusive) sf += vf, si = urc_wrap_add(si, vi);
                if (fl) urc_elem_set_f64(y->dtype, y->data, e, sf);
                else urc_elem_set_i64(y->dtype, y->data, e, si);
                if (a->exclusive) sf += vf, si = urc_wrap_add(si, vi);
            }
        }
    return true;
}

static bool scan_lower(urc_lower *L, const urc_node *n) {
    const urc_scan_attr *a = &n->a.scan;
    const urc_shape *xs = &n->in[0]->shape;
    if (urc_shape_numel(xs) == 0) return true;
    int64_t O, A, I;
    split(xs, (int)a->axis, &O, &A, &I);
    urc_dtype dt = n->in[0]->dtype, acc_dt = urc_dtype_is_float(dt) ? URC_DT_F64 : URC_DT_I64;
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x"), by = urc_lower_out(L, k, n->out[0], "y");
    int64_t dims[2] = {O, I};
    urc_lx *ix[2];
    urc_ls *body = urc_dim_loops(k, k->body, dims, 2, ix, true, false);
    int acc = urc_kernel_var(k, "acc", acc_dt);
    urc_ls_decl(body, acc, urc_lx_const(0, acc_dt));
    int t = urc_kernel_var(k, "t", URC_DT_I64);
    urc_ls *lt = urc_ls_for(body, t, urc_lx_int(0), urc_lx_int(A), 1, 0);
    urc_lx *p = a->reverse ? urc_sub(urc_lx_int(A - 1), urc_lx_var(k, t)) : urc_lx_var(k, t);
    int e = urc_kernel_var(k, "e", URC_DT_I64);
    urc_ls_decl(lt, e, urc_add(urc_muli(urc_add(urc_muli(ix[0], A), p), I), ix[1]));
    int v = urc_kernel_var(k, "v", acc_dt);
    urc_ls_decl(lt, v, urc_lx_cast(acc_dt, urc_lx_load(k, bx, urc_lx_var(k, e)))); /* read before y[e] is written */
    urc_lx *sum = urc_lx_bin(URC_L_ADD, urc_lx_var(k, acc), urc_lx_var(k, v));
    if (!a->exclusive) urc_ls_assign(lt, acc, sum);
    urc_ls_store(lt, by, urc_lx_var(k, e), urc_lx_cast(dt, urc_lx_var(k, acc)));
    if (a->exclusive) urc_ls_assign(lt, acc, urc_lx_bin(URC_L_ADD, urc_lx_var(k, acc), urc_lx_var(k, v)));
    return true;
}

static void scan_print(const urc_node *n, urc_strbuf *sb) {
    const urc_scan_attr *a = &n->a.scan;
    urc_sb_printf(sb, " axis=%lld exclusive=%d reverse=%d", (long long)a->axis, a->exclusive, a->reverse);
}

const urc_op_impl urc_impl_scan = {scan_parse, scan_infer, scan_eval, scan_lower, scan_print, .signature_lower = false};
