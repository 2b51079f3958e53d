/* cast.c: Cast and CastLike. Float to integer truncates toward zero;
 * float16/bfloat16 round to nearest even. */
#include "common.h"

static bool cast_parse(urc_node *n, urc_attr_list *l) {
    int64_t to = 0, sat;
    if (!urc_attr_int(l, "saturate", 1, &sat)) return false; /* float8 only (opset 19) */
    n->a.cast.saturate = (int)sat;
    if (n->op == URC_OP_CAST_LIKE) return true;
    if (!urc_attr_int(l, "to", 0, &to)) return false;
    if (!urc_attr_has(l, "to")) {
        urc_error(l->where, "attribute 'to' is required");
        return false;
    }
    if (to < 0 || to >= URC_DT_COUNT || !urc_dtype_supported((urc_dtype)to)) {
        urc_error(l->where, "cast to %s is not supported", urc_dtype_name((urc_dtype)to));
        return false;
    }
    n->a.cast.to = (urc_dtype)to;
    return true;
}

static bool cast_infer(urc_node *n) {
    if (!urc_check_dtype(n, 0, URC_DTM_ALL)) return false;
    if (n->op == URC_OP_CAST_LIKE) {
        if (!urc_check_dtype(n, 1, URC_DTM_ALL)) return false;
        n->a.cast.to = n->in[1]->dtype;
    }
    urc_set_out(n, 0, n->a.cast.to, &n->in[0]->shape);
    return true;
}

static bool cast_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    (void)n;
    const urc_tensor *x = in[0];
    urc_tensor *y = out[0];
    int64_t ne = urc_tensor_numel(x);
    bool src_int = !urc_dtype_is_float(x->dtype);
    for (int64_t i = 0; i < ne; i++) {
        if (src_int && x->dtype == URC_DT_U64 && urc_dtype_is_float(y->dtype))
            urc_elem_set_f64(y->dtype, y->data, i, (double)((const uint64_t *)x->data)[i]);
        else if (src_int) urc_elem_set_i64(y->dtype, y->data, i, urc_elem_i64(x->dtype, x->data, i));
        else urc_elem_set_f64(y->dtype, y->data, i, urc_elem_f64(x->dtype, x->data, i));
    }
    return true;
}

static bool cast_lower(urc_lower *L, const urc_node *n) {
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    urc_lx *i;
    urc_ls *body = urc_flat_loop(k, &n->out[0]->shape, &i);
    urc_ls_store(body, by, i, urc_lx_cast(n->a.cast.to, urc_lx_load(k, bx, i)));
    return true;
}

static void cast_print(const urc_node *n, urc_strbuf *sb) { urc_sb_printf(sb, " to=%s", urc_dtype_name(n->a.cast.to)); }

const urc_op_impl urc_impl_cast = {cast_parse, cast_infer, cast_eval, cast_lower, cast_print, .signature_lower = true};
