/* scatter.c: ScatterND and ScatterElements (opsets 11, 13, 16, 18).
 *
 * ScatterND(data [r dims], indices [q-1 dims..., k], updates) with k <= r
 * and updates of shape indices.shape[:-1] + data.shape[k:] gives a copy of
 * data where, for every index tuple j of indices (in order), the slice
 * out[indices[j, 0], ..., indices[j, k-1], :, ...] is replaced by (reduction
 * "none") or combined with (add, mul: opset 16; max, min: opset 18) the
 * slice updates[j, :, ...]. Duplicate index tuples apply in order (the last
 * "none" write wins; ONNX leaves that case undefined, onnxruntime does the
 * same).
 *
 * Indices may be negative (counted from the end of their axis, as
 * onnxruntime accepts). An index outside [-D, D-1] is an error: at compile
 * time when the indices are constant, in the reference interpreter when
 * they are not; the generated code skips such an update so that it never
 * writes outside the output. The Swin Transformer's attention mask is built
 * with ScatterND from shape-only data: there every input is constant and the
 * constant folder evaluates it (eval below) at compile time.
 *
 * ScatterElements(data, indices, updates, axis): indices and updates have
 * the same shape, of data's rank, no larger than data outside the axis; for
 * every position i of indices (in order), out[i with i[axis] =
 * indices[i]] is replaced by or combined with updates[i]. Indices are
 * handled as ScatterND's. */
#include "common.h"

static const char *reduction_name[] = {"none", "add", "mul", "max", "min"};

static bool scatter_parse(urc_node *n, urc_attr_list *l) {
    urc_scatter_attr *a = &n->a.scatter;
    a->reduction = URC_SCATTER_NONE;
    a->axis = 0;
    if (n->op == URC_OP_SCATTER_ELEMENTS && !urc_attr_int(l, "axis", 0, &a->axis)) return false;
    /* Only the attribute the node's opset defines is read; before opset 16
     * 'reduction' stays unread and the importer reports it. */
    if (n->opset < 16) return true;
    const char *r;
    if (!urc_attr_string(l, "reduction", "none", &r)) return false;
    int lim = n->opset >= 18 ? URC_SCATTER_MIN : URC_SCATTER_MUL;
    for (int i = 0; i < (int)URC_ARRAY_LEN(reduction_name); i++)
        if (!strcmp(r, reduction_name[i])) {
            if (i > lim) {
                urc_error(l->where, "reduction '%s' needs opset 18 (opset %d has none, add and mul)", r, n->opset);
                return false;
            }
            a->reduction = (urc_scatter_reduction)i;
            return true;
        }
    urc_error(l->where, "attribute 'reduction' must be one of %s, got '%s'",
              n->opset >= 18 ? "none, add, mul, max, min" : "none, add, mul", r);
    return false;
}

/* The element offset of index tuple j in data (row-major, the first k dims),
 * or -1 when an index is out of range; bad_d and bad_v tell which. */
static int64_t tuple_offset(const urc_shape *ds, const int64_t *dstr, urc_dtype idt, const void *ind, int64_t j, int k,
                            int *bad_d, int64_t *bad_v) {
    int64_t off = 0;
    for (int d = 0; d < k; d++) {
        int64_t v = urc_elem_i64(idt, ind, j * k + d), D = ds->dims[d];
        if (v < -D || v >= D) {
            *bad_d = d;
            *bad_v = v;
            return -1;
        }
        off += (v < 0 ? v + D : v) * dstr[d];
    }
    return off;
}

static bool elements_infer(urc_node *n);

static bool scatter_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    const urc_scatter_attr *a = &n->a.scatter;
    if (!urc_check_dtype(n, 0, URC_DTM_ALL) || !urc_check_dtype(n, 1, URC_DTM_SINT)) return false;
    if (!urc_check_dtype(n, 2, URC_DTM_ALL) || !urc_check_same_dtype(n, 0, 2)) return false;
    urc_dtype idt = n->in[1]->dtype, dt = n->in[0]->dtype;
    if (idt != URC_DT_I32 && idt != URC_DT_I64) {
        urc_error(where, "indices must be int64 (or int32), got %s", urc_dtype_name(idt));
        return false;
    }
    if (a->reduction != URC_SCATTER_NONE) {
        if (dt == URC_DT_BOOL) {
            urc_error(where, "reduction '%s' on bool data is not defined", reduction_name[a->reduction]);
            return false;
        }
        if (!urc_reject_half(n, 0)) return false;
    }
    if (n->op == URC_OP_SCATTER_ELEMENTS) return elements_infer(n);
    const urc_shape *ds = &n->in[0]->shape, *is = &n->in[1]->shape, *us = &n->in[2]->shape;
    if (ds->rank < 1 || is->rank < 1) {
        urc_error(where, "data %s and indices %s must have rank at least 1", urc_shape_str(ds), urc_shape_str(is));
        return false;
    }
    int64_t k = is->dims[is->rank - 1];
    if (k < 1 || k > ds->rank) {
        urc_error(where, "the last dim of indices %s must be 1 to the rank of data %s, got %lld", urc_shape_str(is),
                  urc_shape_str(ds), (long long)k);
        return false;
    }
    /* updates = indices.shape[:-1] + data.shape[k:] */
    urc_shape want = {is->rank - 1 + ds->rank - (int)k, {0}};
    if (want.rank > URC_MAX_RANK) {
        urc_error(where, "updates would have rank %d, above %d", want.rank, URC_MAX_RANK);
        return false;
    }
    for (int d = 0; d < is->rank - 1; d++) want.dims[d] = is->dims[d];
    for (int d = (int)k; d < ds->rank; d++) want.dims[is->rank - 1 + d - k] = ds->dims[d];
    if (!urc_shape_eq(us, &want)) {
        urc_error(where, "updates %s must have shape %s (indices %s without its last dim, then data %s from dim %lld)",
                  urc_shape_str(us), urc_shape_str(&want), urc_shape_str(is), urc_shape_str(ds), (long long)k);
        return false;
    }
    const urc_value *iv = n->in[1];
    if (iv->data) {
        int64_t dstr[URC_MAX_RANK], N = urc_shape_numel(is) / k, bad_v = 0;
        int bad_d = 0;
        urc_shape_strides(ds, dstr);
        for (int64_t j = 0; j < N; j++)
            if (tuple_offset(ds, dstr, idt, iv->data, j, (int)k, &bad_d, &bad_v) < 0) {
                urc_error(where, "index %lld is out of range for axis %d of size %lld", (long long)bad_v, bad_d,
                          (long long)ds->dims[bad_d]);
                return false;
            }
    }
    urc_set_out(n, 0, dt, ds);
    return true;
}

/* ScatterElements: shapes, the axis, constant indices in range. */
static bool elements_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    urc_scatter_attr *a = &n->a.scatter;
    const urc_shape *ds = &n->in[0]->shape, *is = &n->in[1]->shape, *us = &n->in[2]->shape;
    if (!urc_norm_axis(n, a->axis, ds->rank, &a->axis)) return false;
    int ax = (int)a->axis;
    if (is->rank != ds->rank || !urc_shape_eq(is, us)) {
        urc_error(where, "indices %s and updates %s must have the same shape, of the rank of data %s",
                  urc_shape_str(is), urc_shape_str(us), urc_shape_str(ds));
        return false;
    }
    for (int d = 0; d < ds->rank; d++)
        if (d != ax && is->dims[d] > ds->dims[d]) {
            urc_error(where, "indices %s is larger than data %s along axis %d", urc_shape_str(is), urc_shape_str(ds),
                      d);
            return false;
        }
    const urc_value *iv = n->in[1];
    int64_t D = ds->dims[ax];
    if (iv->data)
        for (int64_t i = 0; i < urc_shape_numel(is); i++) {
            int64_t v = urc_elem_i64(iv->dtype, iv->data, i);
            if (v < -D || v >= D) {
                urc_error(where, "index %lld is out of range for axis %d of size %lld", (long long)v, ax, (long long)D);
                return false;
            }
        }
    urc_set_out(n, 0, n->in[0]->dtype, ds);
    return true;
}

/* x combined with u by the reduction, in double (floats) or int64. */
static double combine_f(urc_scatter_reduction r, double x, double u) {
    switch (r) {
    case URC_SCATTER_ADD: return x + u;
    case URC_SCATTER_MUL: return x * u;
    case URC_SCATTER_MAX: return isnan(x) || isnan(u) ? NAN : x > u ? x : u;
    case URC_SCATTER_MIN: return isnan(x) || isnan(u) ? NAN : x < u ? x : u;
    default: return u;
    }
}

static int64_t combine_i(urc_scatter_reduction r, int64_t x, int64_t u, bool uns) {
    switch (r) {
    case URC_SCATTER_ADD: return (int64_t)((uint64_t)x + (uint64_t)u); /* wraps, no UB */
    case URC_SCATTER_MUL: return (int64_t)((uint64_t)x * (uint64_t)u);
    case URC_SCATTER_MAX: return (uns ? (uint64_t)x > (uint64_t)u : x > u) ? x : u;
    case URC_SCATTER_MIN: return (uns ? (uint64_t)x < (uint64_t)u : x < u) ? x : u;
    default: return u;
    }
}

/* y[o] combined with upd[u] (or replaced by it). */
static void apply(urc_scatter_reduction r, urc_tensor *y, int64_t o, const urc_tensor *upd, int64_t u) {
    int es = urc_dtype_size(y->dtype);
    if (r == URC_SCATTER_NONE) memcpy((char *)y->data + o * es, (const char *)upd->data + u * es, (size_t)es);
    else if (urc_dtype_is_float(y->dtype))
        urc_elem_set_f64(y->dtype, y->data, o,
                         combine_f(r, urc_elem_f64(y->dtype, y->data, o), urc_elem_f64(upd->dtype, upd->data, u)));
    else
        urc_elem_set_i64(y->dtype, y->data, o,
                         combine_i(r, urc_elem_i64(y->dtype, y->data, o), urc_elem_i64(upd->dtype, upd->data, u),
                                   !urc_dtype_is_signed(y->dtype)));
}

static bool elements_eval(const urc_node *n, const urc_tensor *ind, const urc_tensor *upd, urc_tensor *y) {
    int ax = (int)n->a.scatter.axis;
    int64_t D = y->shape.dims[ax], ys[URC_MAX_RANK], ii[URC_MAX_RANK];
    urc_shape_strides(&y->shape, ys);
    for (int64_t i = 0; i < urc_tensor_numel(ind); i++) {
        int64_t v = urc_elem_i64(ind->dtype, ind->data, i);
        if (v < -D || v >= D) {
            urc_error(urc_node_where(n), "index %lld is out of range for axis %d of size %lld", (long long)v, ax,
                      (long long)D);
            return false;
        }
        urc_unravel(&ind->shape, i, ii);
        ii[ax] = v < 0 ? v + D : v;
        int64_t o = 0;
        for (int d = 0; d < y->shape.rank; d++) o += ii[d] * ys[d];
        apply(n->a.scatter.reduction, y, o, upd, i);
    }
    return true;
}

static bool scatter_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *x = in[0], *ind = in[1], *upd = in[2];
    urc_tensor *y = out[0];
    urc_scatter_reduction r = n->a.scatter.reduction;
    memcpy(y->data, x->data, urc_tensor_bytes(y));
    if (n->op == URC_OP_SCATTER_ELEMENTS) return elements_eval(n, ind, upd, y);
    int k = (int)ind->shape.dims[ind->shape.rank - 1];
    int64_t dstr[URC_MAX_RANK], N = urc_tensor_numel(ind) / k, S = 1, bad_v = 0;
    int bad_d = 0;
    urc_shape_strides(&x->shape, dstr);
    for (int d = k; d < x->shape.rank; d++) S *= x->shape.dims[d];
    for (int64_t j = 0; j < N; j++) {
        int64_t base = tuple_offset(&x->shape, dstr, ind->dtype, ind->data, j, k, &bad_d, &bad_v);
        if (base < 0) {
            urc_error(urc_node_where(n), "index %lld is out of range for axis %d of size %lld", (long long)bad_v, bad_d,
                      (long long)x->shape.dims[bad_d]);
            return false;
        }
        for (int64_t t = 0; t < S; t++) apply(r, y, base + t, upd, j * S + t);
    }
    return true;
}

/* ---- lowering ------------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* True when constant indices name distinct slices: the updates then touch
 * disjoint parts of the output and may run in parallel. */
static bool distinct_tuples(const urc_value *iv, const urc_shape *ds, int k) {
    if (!iv->data) return false;
    int64_t dstr[URC_MAX_RANK], N = urc_shape_numel(&iv->shape) / k, bad_v;
    int bad_d = 0;
    urc_shape_strides(ds, dstr);
    int64_t *off = urc_xmalloc(sizeof(int64_t) * (size_t)(N + 1));
    for (int64_t j = 0; j < N; j++) off[j] = tuple_offset(ds, dstr, iv->dtype, iv->data, j, k, &bad_d, &bad_v);
    qsort(off, (size_t)N, sizeof *off, cmp_i64);
    bool ok = true;
    for (int64_t j = 1; j < N && ok; j++) ok = off[j] != off[j - 1];
    free(off);
    return ok;
}

/* out = data (a copy), then for each index tuple j < N: the offset of its
 * slice from the k indices (each wrapped when negative) and its S elements
 * combined with updates[j*S + t]. A run-time tuple out of range is skipped. */
/* ScatterElements: out = data, then serially over the positions of indices
 * (duplicates apply in order): the target's offset with the axis index
 * read (wrapped when negative; skipped when out of range at run time). */
static bool elements_lower(urc_lower *L, const urc_node *n) {
    const urc_shape *ds = &n->in[0]->shape, *is = &n->in[1]->shape;
    int ax = (int)n->a.scatter.axis;
    int64_t total = urc_shape_numel(ds), D = ds->dims[ax], dstr[URC_MAX_RANK];
    urc_shape_strides(ds, dstr);
    urc_scatter_reduction r = n->a.scatter.reduction;
    if (total == 0) return true;
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x"), by = urc_lower_out(L, k, n->out[0], "y");
    urc_shape flat = {1, {total}};
    int cv[1];
    urc_ls *copy = urc_loop_nest(k, k->body, &flat, cv, URC_FOR_PARALLEL);
    urc_ls_store(copy, by, urc_lx_var(k, cv[0]), urc_lx_load(k, bx, urc_lx_var(k, cv[0])));
    if (urc_shape_numel(is) == 0) return true;
    int bi = urc_lower_in(L, k, n->in[1], "ind"), bu = urc_lower_in(L, k, n->in[2], "upd");
    urc_lx *ix[URC_MAX_RANK];
    urc_ls *body = urc_dim_loops(k, k->body, is->dims, is->rank, ix, false, false);
    urc_lx *pos = urc_lx_int(0);
    for (int d = 0; d < is->rank; d++) pos = urc_add(urc_muli(pos, is->dims[d]), ix[d]);
    int pv = urc_kernel_var(k, "p", URC_DT_I64);
    urc_ls_decl(body, pv, pos);
    int v = urc_kernel_var(k, "v", URC_DT_I64);
    urc_ls_decl(body, v, urc_lx_cast(URC_DT_I64, urc_lx_load(k, bi, urc_lx_var(k, pv))));
    urc_lx *x = urc_lx_var(k, v);
    urc_lx *ok = urc_lx_bin(URC_L_AND, urc_lx_bin(URC_L_GE, x, urc_lx_int(-D)), urc_lx_bin(URC_L_LT, x, urc_lx_int(D)));
    urc_ls *then = n->in[1]->data ? body : urc_ls_if(body, ok, NULL); /* constant indices: checked by infer */
    urc_lx *dst = urc_muli(urc_lx_sel(urc_lx_bin(URC_L_LT, x, urc_lx_int(0)), urc_addi(x, D), x), dstr[ax]);
    for (int d = 0; d < ds->rank; d++)
        if (d != ax) dst = urc_add(dst, urc_muli(ix[d], dstr[d]));
    int ov = urc_kernel_var(k, "off", URC_DT_I64);
    urc_ls_decl(then, ov, dst);
    urc_lx *u = urc_lx_load(k, bu, urc_lx_var(k, pv));
    static const urc_lop lop[] = {URC_L_ADD, URC_L_ADD, URC_L_MUL, URC_L_MAX, URC_L_MIN};
    urc_ls_store(then, by, urc_lx_var(k, ov),
                 r == URC_SCATTER_NONE ? u : urc_lx_bin(lop[r], urc_lx_load(k, by, urc_lx_var(k, ov)), u));
    return true;
}

static bool scatter_lower(urc_lower *L, const urc_node *n) {
    if (n->op == URC_OP_SCATTER_ELEMENTS) return elements_lower(L, n);
    const urc_shape *ds = &n->in[0]->shape;
    const urc_value *iv = n->in[1];
    int nk = (int)iv->shape.dims[iv->shape.rank - 1];
    int64_t total = urc_shape_numel(ds), N = urc_shape_numel(&iv->shape) / nk, S = 1, dstr[URC_MAX_RANK];
    for (int d = nk; d < ds->rank; d++) S *= ds->dims[d];
    urc_shape_strides(ds, dstr);
    urc_scatter_reduction r = n->a.scatter.reduction;
    if (total == 0) return true;
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x"), by = urc_lower_out(L, k, n->out[0], "y");
    urc_shape flat = {1, {total}};
    int cv[1];
    urc_ls *copy = urc_loop_nest(k, k->body, &flat, cv, URC_FOR_PARALLEL);
    urc_ls_store(copy, by, urc_lx_var(k, cv[0]), urc_lx_load(k, bx, urc_lx_var(k, cv[0])));
    if (N == 0) return true;
    int bi = urc_lower_in(L, k, iv, "ind"), bu = urc_lower_in(L, k, n->in[2], "upd");
    bool par = N > 1 && distinct_tuples(iv, ds, nk);
    urc_ls *body = k->body;
    urc_lx *j = urc_lx_int(0);
    if (N > 1) {
        int jv = urc_kernel_var(k, "j", URC_DT_I64);
        body = urc_ls_for(k->body, jv, urc_lx_int(0), urc_lx_int(N), 1, par ? URC_FOR_PARALLEL : 0);
        j = urc_lx_var(k, jv);
    }
    urc_lx *off = urc_lx_int(0), *ok = NULL;
    for (int d = 0; d < nk; d++) {
        int64_t D = ds->dims[d];
        int v = urc_kernel_var(k, "v", URC_DT_I64);
        urc_ls_decl(body, v, urc_lx_cast(URC_DT_I64, urc_lx_load(k, bi, urc_addi(urc_muli(j, nk), d))));
        urc_lx *x = urc_lx_var(k, v);
        urc_lx *in_range =
            urc_lx_bin(URC_L_AND, urc_lx_bin(URC_L_GE, x, urc_lx_int(-D)), urc_lx_bin(URC_L_LT, x, urc_lx_int(D)));
        ok = ok ? urc_lx_bin(URC_L_AND, ok, in_range) : in_range;
        off = urc_add(off, urc_muli(urc_lx_sel(urc_lx_bin(URC_L_LT, x, urc_lx_int(0)), urc_addi(x, D), x), dstr[d]));
    }
    /* constant indices were range-checked by infer */
    urc_ls *then = iv->data ? body : urc_ls_if(body, ok, NULL);
    int ov = urc_kernel_var(k, "off", URC_DT_I64);
    urc_ls_decl(then, ov, off);
    urc_lx *t = urc_lx_int(0);
    urc_ls *inner = then;
    if (S > 1) {
        int tv = urc_kernel_var(k, "t", URC_DT_I64);
        inner = urc_ls_for(then, tv, urc_lx_int(0), urc_lx_int(S), 1, URC_FOR_SIMD | (N == 1 ? URC_FOR_PARALLEL : 0));
        t = urc_lx_var(k, tv);
    }
    urc_lx *dst = urc_add(urc_lx_var(k, ov), t), *u = urc_lx_load(k, bu, urc_add(urc_muli(j, S), t));
    static const urc_lop lop[] = {URC_L_ADD, URC_L_ADD, URC_L_MUL, URC_L_MAX, URC_L_MIN};
    urc_ls_store(inner, by, dst, r == URC_SCATTER_NONE ? u : urc_lx_bin(lop[r], urc_lx_load(k, by, dst), u));
    return true;
}

static void scatter_print(const urc_node *n, urc_strbuf *sb) {
    if (n->op == URC_OP_SCATTER_ELEMENTS) urc_sb_printf(sb, " axis=%lld", (long long)n->a.scatter.axis);
    urc_sb_printf(sb, " reduction=%s", reduction_name[n->a.scatter.reduction]);
}

const urc_op_impl urc_impl_scatter = {scatter_parse, scatter_infer, scatter_eval,
                                      scatter_lower, scatter_print, .signature_lower = false};
