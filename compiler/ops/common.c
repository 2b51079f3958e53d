/* common.c: helpers shared by the op families (see common.h). */
#include "common.h"

bool urc_dtype_in(urc_dtype dt, unsigned mask) {
    if (urc_dtype_is_float(dt)) return mask & URC_DTM_FLOAT;
    if (dt == URC_DT_BOOL) return mask & URC_DTM_BOOL;
    if (urc_dtype_is_int(dt)) return mask & (urc_dtype_is_signed(dt) ? URC_DTM_SINT : URC_DTM_UINT);
    return false;
}

static const char *mask_str(unsigned mask) {
    if (mask == URC_DTM_FLOAT) return "a float type";
    if (mask == URC_DTM_NUM) return "a numeric type";
    if (mask == (URC_DTM_SINT | URC_DTM_UINT)) return "an integer type";
    if (mask == URC_DTM_BOOL) return "bool";
    if (mask == (URC_DTM_FLOAT | URC_DTM_SINT)) return "a float or signed integer type";
    return "a supported type";
}

bool urc_check_dtype(const urc_node *n, int i, unsigned mask) {
    if (i >= n->nin || !n->in[i]) {
        urc_error(urc_node_where(n), "input %d is missing", i);
        return false;
    }
    if (!urc_dtype_in(n->in[i]->dtype, mask)) {
        urc_error(urc_node_where(n), "input %d ('%s') is %s; expected %s", i, n->in[i]->name,
                  urc_dtype_name(n->in[i]->dtype), mask_str(mask));
        return false;
    }
    return true;
}

bool urc_check_same_dtype(const urc_node *n, int i, int j) {
    if (n->in[i]->dtype != n->in[j]->dtype) {
        urc_error(urc_node_where(n), "inputs %d and %d have different types (%s, %s)", i, j,
                  urc_dtype_name(n->in[i]->dtype), urc_dtype_name(n->in[j]->dtype));
        return false;
    }
    return true;
}

bool urc_check_rank(const urc_node *n, int i, int lo, int hi) {
    int r = n->in[i]->shape.rank;
    if (r < lo || r > hi) {
        if (lo == hi)
            urc_error(urc_node_where(n), "input %d ('%s') must have rank %d, got shape %s", i, n->in[i]->name, lo,
                      urc_shape_str(&n->in[i]->shape));
        else
            urc_error(urc_node_where(n), "input %d ('%s') must have rank %d to %d, got shape %s", i, n->in[i]->name, lo,
                      hi, urc_shape_str(&n->in[i]->shape));
        return false;
    }
    return true;
}

bool urc_norm_axis(const urc_node *n, int64_t axis, int rank, int64_t *out) {
    if (axis < -rank || axis >= rank) {
        urc_error(urc_node_where(n), "axis %lld is out of range for rank %d", (long long)axis, rank);
        return false;
    }
    *out = axis < 0 ? axis + rank : axis;
    return true;
}

void urc_set_out(urc_node *n, int j, urc_dtype dt, const urc_shape *s) {
    if (j == 0 && n->ydtype) dt = n->ydtype; /* (stored rounded: the precision pass) */
    if (j < n->nout && n->out[j]) urc_value_set_type(n->out[j], dt, s);
}

bool urc_reject_half(const urc_node *n, int i) {
    urc_dtype dt = n->in[i]->dtype;
    if (dt == URC_DT_F16 || dt == URC_DT_BF16) {
        urc_error(urc_node_where(n), "%s arithmetic is not supported (convert the model to float32)",
                  urc_dtype_name(dt));
        return false;
    }
    return true;
}

void urc_print_ints(urc_strbuf *sb, const char *name, const int64_t *v, int n) {
    urc_sb_printf(sb, " %s=[", name);
    for (int i = 0; i < n; i++) urc_sb_printf(sb, i ? ",%lld" : "%lld", (long long)v[i]);
    urc_sb_putc(sb, ']');
}

urc_ls *urc_flat_loop(urc_kernel *k, const urc_shape *s, urc_lx **i) {
    urc_shape flat = {1, {urc_shape_numel(s)}};
    int iv[1];
    urc_ls *body = urc_loop_nest(k, k->body, &flat, iv, URC_FOR_PARALLEL);
    *i = urc_lx_var(k, iv[0]);
    return body;
}

urc_ls *urc_dim_loops(urc_kernel *k, urc_ls *parent, const int64_t *dims, int n, urc_lx **idx, bool parallel,
                      bool simd) {
    static const char *names[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8"};
    urc_ls *body = parent, *first = NULL, *last = NULL;
    int nloops = 0;
    for (int d = 0; d < n; d++) {
        if (dims[d] == 1) {
            idx[d] = urc_lx_int(0);
            continue;
        }
        int v = urc_kernel_var(k, names[d < 8 ? d : 8], URC_DT_I64);
        urc_ls *outer = body;
        body = urc_ls_for(body, v, urc_lx_int(0), urc_lx_int(dims[d]), 1, 0);
        last = outer->list.items[outer->list.len - 1];
        if (!first) first = last;
        nloops++;
        idx[d] = urc_lx_var(k, v);
    }
    if (parallel && first) {
        first->flags |= URC_FOR_PARALLEL;
        if (nloops >= 2 && first->hi->i < 64) first->collapse = 2;
    }
    if (simd && last) last->flags |= URC_FOR_SIMD;
    return body;
}
