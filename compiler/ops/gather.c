/* gather.c: indexing ops, Gather and GatherElements.
 *
 * Gather(data, indices, axis) with data [A..., D, B...] and indices of any
 * shape (a rank-0 index drops the axis) gives [A..., indices..., B...]:
 * out[a, j, b] = data[a, indices[j], b]. GatherElements gives the shape of
 * indices (same rank as data): out[i] = data[i with i[axis] = indices[i]].
 *
 * Indices may be negative (counted from the end of the axis); ONNX wants
 * them in [-D, D-1]. Constant indices are checked at compile time. Indices
 * read at run time are checked before anything is written: the reference
 * interpreter reports the node and the index, the generated kernel returns
 * failure and the entry point PREFIX_ERR_INDEX (never a read outside the
 * data, never a silently clamped result). */
#include "common.h"

static bool gather_parse(urc_node *n, urc_attr_list *l) { return urc_attr_int(l, "axis", 0, &n->a.gather.axis); }

static bool gather_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    urc_gather_attr *a = &n->a.gather;
    if (!urc_check_dtype(n, 0, URC_DTM_ALL)) return false;
    if (!urc_check_dtype(n, 1, URC_DTM_SINT)) return false;
    const urc_shape *ds = &n->in[0]->shape, *is = &n->in[1]->shape;
    urc_dtype idt = n->in[1]->dtype;
    if (idt != URC_DT_I32 && idt != URC_DT_I64) {
        urc_error(where, "indices must be int32 or int64, got %s", urc_dtype_name(idt));
        return false;
    }
    if (ds->rank == 0) {
        urc_error(where, "data must have rank at least 1");
        return false;
    }
    if (!urc_norm_axis(n, a->axis, ds->rank, &a->axis)) return false;
    int ax = (int)a->axis;
    urc_shape o = {0};
    if (n->op == URC_OP_GATHER) {
        o.rank = ds->rank - 1 + is->rank;
        if (o.rank > URC_MAX_RANK) {
            urc_error(where, "result rank %d is above %d", o.rank, URC_MAX_RANK);
            return false;
        }
        int r = 0;
        for (int d = 0; d < ax; d++) o.dims[r++] = ds->dims[d];
        for (int d = 0; d < is->rank; d++) o.dims[r++] = is->dims[d];
        for (int d = ax + 1; d < ds->rank; d++) o.dims[r++] = ds->dims[d];
    } else {
        if (is->rank != ds->rank) {
            urc_error(where, "indices %s must have the rank of data %s", urc_shape_str(is), urc_shape_str(ds));
            return false;
        }
        for (int d = 0; d < ds->rank; d++)
            if (d != ax && is->dims[d] > ds->dims[d]) {
                urc_error(where, "indices %s is larger than data %s along axis %d", urc_shape_str(is),
                          urc_shape_str(ds), d);
                return false;
            }
        o = *is;
    }
    int64_t D = ds->dims[ax];
    if (D == 0 && urc_shape_numel(&o) > 0) {
        urc_error(where, "cannot gather from axis %d of size 0", ax);
        return false;
    }
    const urc_value *iv = n->in[1];
    if (iv->data) {
        int64_t ne = urc_shape_numel(is);
        for (int64_t i = 0; i < ne; i++) {
            int64_t v = urc_elem_i64(idt, iv->data, i);
            if (v < -D || v >= D) {
                urc_error(where, "index %lld is out of range for axis %d of size %lld", (long long)v, ax, (long long)D);
                return false;
            }
        }
    }
    urc_set_out(n, 0, n->in[0]->dtype, &o);
    return true;
}

/* Index v in [-D, D-1] along an axis of size D, made non-negative. */
static int64_t fix_index(int64_t v, int64_t D) { return v < 0 ? v + D : v; }

/* Every index in [-D, D-1], else reported with its position (the interpreter). */
static bool indices_ok(const urc_node *n, const urc_tensor *ind, int64_t D) {
    int64_t ne = urc_tensor_numel(ind);
    for (int64_t i = 0; i < ne; i++) {
        int64_t v = urc_elem_i64(ind->dtype, ind->data, i);
        if (v < -D || v >= D) {
            urc_error(urc_node_where(n), "index %lld (element %lld of the indices) is out of range for axis %d of size %lld",
                      (long long)v, (long long)i, (int)n->a.gather.axis, (long long)D);
            return false;
        }
    }
    return true;
}

static int64_t prod(const int64_t *v, int from, int to) {
    int64_t p = 1;
    for (int d = from; d < to; d++) p *= v[d];
    return p;
}

static bool gather_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *x = in[0], *ind = in[1];
    urc_tensor *y = out[0];
    int ax = (int)n->a.gather.axis, es = urc_dtype_size(x->dtype);
    int64_t D = x->shape.dims[ax], ne = urc_tensor_numel(y);
    if (!indices_ok(n, ind, D)) return false;
    if (n->op == URC_OP_GATHER) {
        int64_t N = urc_tensor_numel(ind), I = prod(x->shape.dims, ax + 1, x->shape.rank);
        for (int64_t i = 0; i < ne; i++) {
            int64_t o = i / (N * I), j = i / I % N, t = i % I;
            int64_t k = fix_index(urc_elem_i64(ind->dtype, ind->data, j), D);
            memcpy((char *)y->data + i * es, (const char *)x->data + ((o * D + k) * I + t) * es, (size_t)es);
        }
        return true;
    }
    int64_t xs[URC_MAX_RANK];
    urc_shape_strides(&x->shape, xs);
    for (int64_t i = 0; i < ne; i++) {
        int64_t oi[URC_MAX_RANK], off = 0;
        urc_unravel(&y->shape, i, oi);
        oi[ax] = fix_index(urc_elem_i64(ind->dtype, ind->data, i), D);
        for (int d = 0; d < x->shape.rank; d++) off += oi[d] * xs[d];
        memcpy((char *)y->data + i * es, (const char *)x->data + off * es, (size_t)es);
    }
    return true;
}

/* ---- lowering ------------------------------------------------------------------ */

/* Indices read at run time: a loop ahead of the kernel's work fails it
 * (the entry point returns PREFIX_ERR_INDEX) at the first index outside
 * [-D, D-1], before anything is written. Constant indices were checked by
 * gather_infer. */
static void check_indices(urc_lower *L, urc_kernel *k, const urc_value *ind, int64_t D) {
    if (ind->data) return;
    int j = urc_kernel_var(k, "j", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, j, urc_lx_int(0), urc_lx_int(urc_shape_numel(&ind->shape)), 1, 0);
    urc_lx *v = urc_lx_cast(URC_DT_I64, urc_lx_load(k, urc_lower_in(L, k, ind, "ind"), urc_lx_var(k, j)));
    urc_lx *out = urc_lx_bin(URC_L_OR, urc_lx_bin(URC_L_LT, v, urc_lx_int(-D)), urc_lx_bin(URC_L_GE, v, urc_lx_int(D)));
    urc_ls_fail(urc_ls_if(body, out, NULL), k);
}

/* The index read from `ind` at position j, made a non-negative int64 along
 * an axis of size D (it is in [-D, D-1]: checked): folded at compile time
 * for a one-element constant, negative values wrapped unless a constant
 * holds none. */
static urc_lx *index_expr(urc_lower *L, urc_kernel *k, const urc_value *ind, urc_lx *j, int64_t D) {
    int64_t ne = urc_shape_numel(&ind->shape);
    bool any_neg = true;
    if (ind->data) {
        if (ne == 1) return urc_lx_int(fix_index(urc_elem_i64(ind->dtype, ind->data, 0), D));
        any_neg = false;
        for (int64_t i = 0; i < ne; i++) any_neg |= urc_elem_i64(ind->dtype, ind->data, i) < 0;
    }
    urc_lx *v = urc_lx_cast(URC_DT_I64, urc_lx_load(k, urc_lower_in(L, k, ind, "ind"), j));
    if (any_neg) v = urc_lx_sel(urc_lx_bin(URC_L_LT, v, urc_lx_int(0)), urc_addi(v, D), v);
    return v;
}

/* Keeps e in a scalar local declared in block b (unless it is a literal). */
static urc_lx *local(urc_kernel *k, urc_ls *b, urc_lx *e, const char *hint) {
    if (e->kind == URC_LX_INT) return e;
    int v = urc_kernel_var(k, hint, URC_DT_I64);
    urc_ls_decl(b, v, e);
    return urc_lx_var(k, v);
}

/* Gather: for a < A, j < N: the index once, then the contiguous block of
 * the B dims: out[(a*N + j)*I + t] = data[(a*D + index)*I + t]. */
static bool gather_lower_gather(urc_lower *L, const urc_node *n) {
    const urc_shape *ds = &n->in[0]->shape;
    int ax = (int)n->a.gather.axis;
    int64_t D = ds->dims[ax], A = prod(ds->dims, 0, ax), I = prod(ds->dims, ax + 1, ds->rank);
    int64_t N = urc_shape_numel(&n->in[1]->shape);
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x"), by = urc_lower_out(L, k, n->out[0], "y");
    check_indices(L, k, n->in[1], D);
    int64_t dims[3] = {A, N, I};
    urc_lx *ix[3];
    urc_ls *body = urc_dim_loops(k, k->body, dims, 2, ix, true, I == 1);
    urc_lx *kx = local(k, body, index_expr(L, k, n->in[1], ix[1], D), "ix");
    if (I > 1) {
        int t = urc_kernel_var(k, "t", URC_DT_I64);
        body = urc_ls_for(body, t, urc_lx_int(0), urc_lx_int(I), 1, URC_FOR_SIMD | (A * N == 1 ? URC_FOR_PARALLEL : 0));
        ix[2] = urc_lx_var(k, t);
    } else {
        ix[2] = urc_lx_int(0);
    }
    urc_lx *dst = urc_add(urc_muli(urc_add(urc_muli(ix[0], N), ix[1]), I), ix[2]);
    urc_lx *src = urc_add(urc_muli(urc_add(urc_muli(ix[0], D), kx), I), ix[2]);
    urc_ls_store(body, by, dst, urc_lx_load(k, bx, src));
    return true;
}

static bool gather_lower_elements(urc_lower *L, const urc_node *n) {
    const urc_shape *ds = &n->in[0]->shape, *os = &n->out[0]->shape;
    int ax = (int)n->a.gather.axis;
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x"), by = urc_lower_out(L, k, n->out[0], "y");
    check_indices(L, k, n->in[1], ds->dims[ax]);
    urc_lx *ix[URC_MAX_RANK];
    urc_ls *body = urc_dim_loops(k, k->body, os->dims, os->rank, ix, true, true);
    urc_lx *flat = urc_lx_int(0);
    for (int d = 0; d < os->rank; d++) flat = urc_add(urc_muli(flat, os->dims[d]), ix[d]);
    const urc_lx *src[URC_MAX_RANK];
    for (int d = 0; d < ds->rank; d++) src[d] = ix[d];
    src[ax] = index_expr(L, k, n->in[1], flat, ds->dims[ax]);
    urc_ls_store(body, by, flat, urc_lx_load(k, bx, urc_index(src, ds)));
    return true;
}

static bool gather_lower(urc_lower *L, const urc_node *n) {
    if (urc_shape_numel(&n->out[0]->shape) == 0) return true;
    return n->op == URC_OP_GATHER ? gather_lower_gather(L, n) : gather_lower_elements(L, n);
}

static void gather_print(const urc_node *n, urc_strbuf *sb) { urc_sb_printf(sb, " axis=%lld", (long long)n->a.gather.axis); }

const urc_op_impl urc_impl_gather = {gather_parse, gather_infer, gather_eval, gather_lower, gather_print};
