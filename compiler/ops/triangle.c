/* triangle.c: ops defined by the position of an element relative to the
 * diagonal of the last two dims: Trilu (keep the upper or lower triangle,
 * from diagonal k; zero the rest) and EyeLike (ones on diagonal k).
 *
 * With i the row (dim r-2) and j the column (dim r-1): Trilu keeps x where
 * j - i >= k (upper) or j - i <= k (lower); EyeLike is 1 where j - i == k.
 * k is an attribute (EyeLike) or a constant input (Trilu, default 0). */
#include "common.h"

static bool triangle_parse(urc_node *n, urc_attr_list *l) {
    urc_triangle_attr *a = &n->a.triangle;
    int64_t v;
    if (n->op == URC_OP_TRILU) {
        if (!urc_attr_int(l, "upper", 1, &v)) return false;
        a->upper = v != 0;
        return true;
    }
    if (!urc_attr_int(l, "k", 0, &a->k) || !urc_attr_int(l, "dtype", 0, &v)) return false;
    a->dtype = URC_DT_UNDEF;
    if (urc_attr_has(l, "dtype")) {
        if (v <= 0 || v >= URC_DT_COUNT || !urc_dtype_supported((urc_dtype)v) ||
            !urc_dtype_in((urc_dtype)v, URC_DTM_ALL)) {
            urc_error(l->where, "attribute 'dtype' (%lld) is not a supported tensor type", (long long)v);
            return false;
        }
        a->dtype = (urc_dtype)v;
    }
    return true;
}

static bool triangle_infer(urc_node *n) {
    urc_triangle_attr *a = &n->a.triangle;
    const char *where = urc_node_where(n);
    if (!urc_check_dtype(n, 0, URC_DTM_ALL)) return false;
    const urc_shape *xs = &n->in[0]->shape;
    if (n->op == URC_OP_TRILU) {
        if (!urc_check_rank(n, 0, 2, URC_MAX_RANK)) return false;
        a->k = 0;
        if (n->nin > 1 && n->in[1]) {
            const urc_value *kv = n->in[1];
            if (kv->dtype != URC_DT_I64 || urc_shape_numel(&kv->shape) != 1) {
                urc_error(where, "k ('%s') must be a one-element int64 tensor, got %s%s", kv->name,
                          urc_dtype_name(kv->dtype), urc_shape_str(&kv->shape));
                return false;
            }
            if (!kv->data) {
                urc_error(where, "input 1 ('%s') must be a constant known at compile time", kv->name);
                return false;
            }
            a->k = urc_elem_i64(kv->dtype, kv->data, 0);
        }
        urc_set_out(n, 0, n->in[0]->dtype, xs);
        return true;
    }
    if (xs->rank != 2) {
        urc_error(where, "input must have rank 2, got %s", urc_shape_str(xs));
        return false;
    }
    urc_set_out(n, 0, a->dtype != URC_DT_UNDEF ? a->dtype : n->in[0]->dtype, xs);
    return true;
}

/* Is element (i, j) kept (Trilu) or one (EyeLike)? */
static bool keep(const urc_node *n, int64_t i, int64_t j) {
    const urc_triangle_attr *a = &n->a.triangle;
    int64_t d = j - i; /* |d| < 2^62: dims are bounded far below */
    if (n->op == URC_OP_EYE_LIKE) return d == a->k;
    return a->upper ? d >= a->k : d <= a->k;
}

static bool triangle_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *x = in[0];
    urc_tensor *y = out[0];
    int r = x->shape.rank;
    int64_t R = x->shape.dims[r - 2], C = x->shape.dims[r - 1], ne = urc_tensor_numel(y);
    bool fl = urc_dtype_is_float(y->dtype);
    for (int64_t e = 0; e < ne; e++) {
        int64_t j = e % C, i = e / C % R;
        bool on = keep(n, i, j);
        if (n->op == URC_OP_EYE_LIKE) {
            if (fl) urc_elem_set_f64(y->dtype, y->data, e, on);
            else urc_elem_set_i64(y->dtype, y->data, e, on);
        } else if (on) {
            if (fl) urc_elem_set_f64(y->dtype, y->data, e, urc_elem_f64(x->dtype, x->data, e));
            else urc_elem_set_i64(y->dtype, y->data, e, urc_elem_i64(x->dtype, x->data, e));
        } else {
            if (fl) urc_elem_set_f64(y->dtype, y->data, e, 0);
            else urc_elem_set_i64(y->dtype, y->data, e, 0);
        }
    }
    return true;
}

/* v as a literal of dtype dt (float16/bfloat16 through a cast from float32). */
static urc_lx *lit(double v, urc_dtype dt) {
    if (dt == URC_DT_F16 || dt == URC_DT_BF16) return urc_lx_cast(dt, urc_lx_flt(v, URC_DT_F32));
    return urc_lx_const(v, dt);
}

static bool triangle_lower(urc_lower *L, const urc_node *n) {
    const urc_triangle_attr *a = &n->a.triangle;
    const urc_shape *ys = &n->out[0]->shape;
    if (urc_shape_numel(ys) == 0) return true;
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = n->op == URC_OP_TRILU ? urc_lower_in(L, k, n->in[0], "x") : -1;
    int by = urc_lower_out(L, k, n->out[0], "y");
    urc_lx *ix[URC_MAX_RANK];
    urc_ls *body = urc_dim_loops(k, k->body, ys->dims, ys->rank, ix, true, false);
    int r = ys->rank;
    urc_lx *flat = urc_lx_int(0);
    for (int d = 0; d < r; d++) flat = urc_add(urc_muli(flat, ys->dims[d]), ix[d]);
    /* j - i against k: both indices are small, so is their difference; k is compared as a literal
     * clamped to the possible range (no overflow for any int64 k). */
    int64_t lim = ys->dims[r - 1] + ys->dims[r - 2] + 1, kk = a->k < -lim ? -lim : a->k > lim ? lim : a->k;
    urc_lx *d = urc_sub(ix[r - 1], ix[r - 2]);
    urc_lop cmp = n->op == URC_OP_EYE_LIKE ? URC_L_EQ : a->upper ? URC_L_GE : URC_L_LE;
    urc_lx *on = urc_lx_bin(cmp, d, urc_lx_int(kk));
    urc_dtype dt = n->out[0]->dtype;
    urc_lx *v = n->op == URC_OP_EYE_LIKE ? urc_lx_sel(on, lit(1, dt), lit(0, dt))
                                         : urc_lx_sel(on, urc_lx_load(k, bx, flat), lit(0, dt));
    urc_ls_store(body, by, flat, v);
    return true;
}

static void triangle_print(const urc_node *n, urc_strbuf *sb) {
    const urc_triangle_attr *a = &n->a.triangle;
    if (n->op == URC_OP_TRILU) urc_sb_printf(sb, " upper=%d k=%lld", a->upper, (long long)a->k);
    else urc_sb_printf(sb, " k=%lld", (long long)a->k);
}

const urc_op_impl urc_impl_triangle = {triangle_parse, triangle_infer, triangle_eval,
                                       triangle_lower, triangle_print, .signature_lower = false};
