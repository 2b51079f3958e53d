/* gather.c: indexing ops, Gather, GatherElements, GatherND and OneHot.
 *
 * Gather(data, indices, axis) with data [A..., D, B...] and indices of any
 * shape (a rank-0 index drops the axis) gives [A..., indices..., B...]:
 * out[a, j, b] = data[a, indices[j], b]. GatherElements gives the shape of
 * indices (same rank as data): out[i] = data[i with i[axis] = indices[i]].
 * GatherND(data, indices [..., k], batch_dims b) gives indices.shape[:-1] +
 * data.shape[b+k:]: the slice of data at the k-tuple indices[j] within the
 * batch of j (the first b dims of data and of indices agree).
 * OneHot(indices, depth, values [off, on], axis) inserts a dim of size
 * depth (a constant) at axis: on where the position along it equals the
 * index (negative indices count from depth; float indices truncate), off
 * elsewhere, and everywhere for an index outside [-depth, depth-1] (the
 * spec; ONNX 1.12's reference wraps those too, modulo depth).
 *
 * Indices may be negative (counted from the end of the axis); ONNX wants
 * them in [-D, D-1]. Constant indices are checked at compile time. Indices
 * read at run time are checked before anything is written: the reference
 * interpreter reports the node and the index, the generated kernel returns
 * failure and the entry point PREFIX_ERR_INDEX (never a read outside the
 * data, never a silently clamped result). */
#include "common.h"

static bool gather_parse(urc_node *n, urc_attr_list *l) {
    n->a.gather.axis = n->a.gather.batch_dims = 0;
    if (n->op == URC_OP_GATHER_ND) return urc_attr_int(l, "batch_dims", 0, &n->a.gather.batch_dims);
    return urc_attr_int(l, "axis", n->op == URC_OP_ONE_HOT ? -1 : 0, &n->a.gather.axis);
}

static bool nd_infer(urc_node *n);
static bool onehot_infer(urc_node *n);

static bool gather_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    urc_gather_attr *a = &n->a.gather;
    if (n->op == URC_OP_ONE_HOT) return onehot_infer(n);
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
    if (n->op == URC_OP_GATHER_ND) return nd_infer(n);
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

/* GatherND: (B batches, N tuples of k indices, S elements per slice). */
typedef struct nd_geom {
    int b, k;
    int64_t B, N, S, batch_elems; /* batch_elems: data elements per batch */
} nd_geom;

static nd_geom nd_geometry(const urc_node *n) {
    const urc_shape *ds = &n->in[0]->shape, *is = &n->in[1]->shape;
    nd_geom g = {(int)n->a.gather.batch_dims, (int)is->dims[is->rank - 1], 1, 1, 1, 1};
    for (int d = 0; d < g.b; d++) g.B *= ds->dims[d];
    for (int d = g.b; d < is->rank - 1; d++) g.N *= is->dims[d];
    for (int d = g.b + g.k; d < ds->rank; d++) g.S *= ds->dims[d];
    for (int d = g.b; d < ds->rank; d++) g.batch_elems *= ds->dims[d];
    return g;
}

static bool nd_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    const urc_shape *ds = &n->in[0]->shape, *is = &n->in[1]->shape;
    int64_t b = n->a.gather.batch_dims;
    if (is->rank < 1 || b < 0 || b >= is->rank || b >= ds->rank) {
        urc_error(where, "batch_dims %lld must be below the ranks of data %s and indices %s", (long long)b,
                  urc_shape_str(ds), urc_shape_str(is));
        return false;
    }
    for (int d = 0; d < b; d++)
        if (ds->dims[d] != is->dims[d]) {
            urc_error(where, "data %s and indices %s differ in batch dim %d", urc_shape_str(ds), urc_shape_str(is), d);
            return false;
        }
    int64_t k = is->dims[is->rank - 1];
    if (k < 1 || k > ds->rank - b) {
        urc_error(where, "the last dim of indices %s must be 1 to %lld (data %s, batch_dims %lld)", urc_shape_str(is),
                  (long long)(ds->rank - b), urc_shape_str(ds), (long long)b);
        return false;
    }
    urc_shape o = {is->rank - 1 + ds->rank - (int)(b + k), {0}};
    if (o.rank > URC_MAX_RANK) {
        urc_error(where, "result rank %d is above %d", o.rank, URC_MAX_RANK);
        return false;
    }
    for (int d = 0; d < is->rank - 1; d++) o.dims[d] = is->dims[d];
    for (int d = (int)(b + k); d < ds->rank; d++) o.dims[is->rank - 1 + d - (b + k)] = ds->dims[d];
    const urc_value *iv = n->in[1];
    if (iv->data)
        for (int64_t i = 0; i < urc_shape_numel(is); i++) {
            int64_t v = urc_elem_i64(iv->dtype, iv->data, i), D = ds->dims[b + i % k];
            if (v < -D || v >= D) {
                urc_error(where, "index %lld is out of range for axis %lld of size %lld", (long long)v,
                          (long long)(b + i % k), (long long)D);
                return false;
            }
        }
    urc_set_out(n, 0, n->in[0]->dtype, &o);
    return true;
}

static bool onehot_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    urc_gather_attr *a = &n->a.gather;
    if (!urc_check_dtype(n, 0, URC_DTM_NUM) || !urc_check_dtype(n, 1, URC_DTM_NUM) ||
        !urc_check_dtype(n, 2, URC_DTM_ALL))
        return false;
    const urc_shape *is = &n->in[0]->shape;
    const urc_value *dv = n->in[1], *vv = n->in[2];
    if (urc_shape_numel(&dv->shape) != 1 || dv->shape.rank > 1) {
        urc_error(where, "depth ('%s') must be a scalar or one element, got %s", dv->name, urc_shape_str(&dv->shape));
        return false;
    }
    if (!dv->data) {
        urc_error(where, "input 1 ('%s') must be a constant known at compile time", dv->name);
        return false;
    }
    double d = urc_elem_f64(dv->dtype, dv->data, 0);
    if (!(d >= 1) || d > 1e15) {
        urc_error(where, "depth must be at least 1, got %g", d);
        return false;
    }
    a->depth = (int64_t)d;
    if (vv->shape.rank != 1 || vv->shape.dims[0] != 2) {
        urc_error(where, "values ('%s') must have shape [2] (off, on), got %s", vv->name, urc_shape_str(&vv->shape));
        return false;
    }
    if (is->rank + 1 > URC_MAX_RANK) {
        urc_error(where, "result rank %d is above %d", is->rank + 1, URC_MAX_RANK);
        return false;
    }
    if (!urc_norm_axis(n, a->axis, is->rank + 1, &a->axis)) return false;
    urc_shape o = {is->rank + 1, {0}};
    for (int d2 = 0, s = 0; d2 < o.rank; d2++) o.dims[d2] = d2 == a->axis ? a->depth : is->dims[s++];
    urc_set_out(n, 0, vv->dtype, &o);
    return true;
}

/* OneHot's index at position i as int64: floats truncate (NaN 0, saturating). */
static int64_t onehot_index(const urc_tensor *ind, int64_t i) {
    if (!urc_dtype_is_float(ind->dtype)) return urc_elem_i64(ind->dtype, ind->data, i);
    return urc_f64_to_int(urc_elem_f64(ind->dtype, ind->data, i), URC_DT_I64);
}

/* Index v in [-D, D-1] along an axis of size D, made non-negative. */
static int64_t fix_index(int64_t v, int64_t D) { return v < 0 ? v + D : v; }

/* Every index in [-D, D-1], else reported with its position (the interpreter). */
static bool indices_ok(const urc_node *n, const urc_tensor *ind, int64_t D) {
    int64_t ne = urc_tensor_numel(ind);
    for (int64_t i = 0; i < ne; i++) {
        int64_t v = urc_elem_i64(ind->dtype, ind->data, i);
        if (v < -D || v >= D) {
            urc_error(urc_node_where(n),
                      "index %lld (element %lld of the indices) is out of range for axis %d of size %lld", (long long)v,
                      (long long)i, (int)n->a.gather.axis, (long long)D);
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

static bool nd_eval(const urc_node *n, const urc_tensor *x, const urc_tensor *ind, urc_tensor *y) {
    nd_geom g = nd_geometry(n);
    int es = urc_dtype_size(x->dtype);
    int64_t xs[URC_MAX_RANK];
    urc_shape_strides(&x->shape, xs);
    for (int64_t j = 0; j < g.B * g.N; j++) {
        int64_t off = j / g.N * g.batch_elems;
        for (int d = 0; d < g.k; d++) {
            int64_t v = urc_elem_i64(ind->dtype, ind->data, j * g.k + d), D = x->shape.dims[g.b + d];
            if (v < -D || v >= D) {
                urc_error(urc_node_where(n), "index %lld is out of range for axis %d of size %lld", (long long)v,
                          g.b + d, (long long)D);
                return false;
            }
            off += fix_index(v, D) * xs[g.b + d];
        }
        memcpy((char *)y->data + j * g.S * es, (const char *)x->data + off * es, (size_t)(g.S * es));
    }
    return true;
}

static bool onehot_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *y) {
    int64_t depth = n->a.gather.depth, I = 1, es = urc_dtype_size(y->dtype);
    for (int d = (int)n->a.gather.axis; d < in[0]->shape.rank; d++) I *= in[0]->shape.dims[d];
    for (int64_t e = 0; e < urc_tensor_numel(y); e++) {
        int64_t inner = e % I, pos = e / I % depth, outer = e / I / depth;
        int64_t v = onehot_index(in[0], outer * I + inner);
        bool on = v == pos || v == pos - depth;
        memcpy((char *)y->data + e * es, (const char *)in[2]->data + (on ? es : 0), (size_t)es);
    }
    return true;
}

static bool gather_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *x = in[0], *ind = in[1];
    urc_tensor *y = out[0];
    if (n->op == URC_OP_GATHER_ND) return nd_eval(n, x, ind, y);
    if (n->op == URC_OP_ONE_HOT) return onehot_eval(n, in, y);
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

/* GatherND: per tuple j (parallel), the slice offset from its k indices,
 * each checked ahead like Gather's (run-time indices) and wrapped; then the
 * S contiguous elements. */
static bool gather_lower_nd(urc_lower *L, const urc_node *n) {
    nd_geom g = nd_geometry(n);
    const urc_shape *ds = &n->in[0]->shape;
    const urc_value *iv = n->in[1];
    int64_t xs[URC_MAX_RANK];
    urc_shape_strides(ds, xs);
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x"), by = urc_lower_out(L, k, n->out[0], "y");
    if (!iv->data) { /* each index against its own axis */
        int bi = urc_lower_in(L, k, iv, "ind"), j = urc_kernel_var(k, "j", URC_DT_I64);
        urc_ls *cb = urc_ls_for(k->body, j, urc_lx_int(0), urc_lx_int(g.B * g.N), 1, 0);
        for (int d = 0; d < g.k; d++) {
            int64_t D = ds->dims[g.b + d];
            urc_lx *v = urc_lx_cast(URC_DT_I64, urc_lx_load(k, bi, urc_addi(urc_muli(urc_lx_var(k, j), g.k), d)));
            urc_lx *bad =
                urc_lx_bin(URC_L_OR, urc_lx_bin(URC_L_LT, v, urc_lx_int(-D)), urc_lx_bin(URC_L_GE, v, urc_lx_int(D)));
            urc_ls_fail(urc_ls_if(cb, bad, NULL), k);
        }
    }
    int jv = urc_kernel_var(k, "j", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, jv, urc_lx_int(0), urc_lx_int(g.B * g.N), 1, URC_FOR_PARALLEL);
    urc_lx *j = urc_lx_var(k, jv);
    urc_lx *off =
        g.B > 1 ? urc_muli(urc_lx_inrange(urc_lx_bin(URC_L_DIV, j, urc_lx_int(g.N))), g.batch_elems) : urc_lx_int(0);
    for (int d = 0; d < g.k; d++) {
        int64_t D = ds->dims[g.b + d];
        urc_lx *v = index_expr(L, k, iv, urc_addi(urc_muli(j, g.k), d), D);
        off = urc_add(off, urc_muli(local(k, body, v, "ix"), xs[g.b + d]));
    }
    int ov = urc_kernel_var(k, "off", URC_DT_I64);
    urc_ls_decl(body, ov, off);
    int t = urc_kernel_var(k, "t", URC_DT_I64);
    urc_ls *lt = urc_ls_for(body, t, urc_lx_int(0), urc_lx_int(g.S), 1, URC_FOR_SIMD);
    urc_ls_store(lt, by, urc_add(urc_muli(j, g.S), urc_lx_var(k, t)),
                 urc_lx_load(k, bx, urc_add(urc_lx_var(k, ov), urc_lx_var(k, t))));
    return true;
}

/* OneHot: over (outer, position, inner) of the output, off or on by the
 * index at (outer, inner). */
static bool gather_lower_onehot(urc_lower *L, const urc_node *n) {
    const urc_shape *is = &n->in[0]->shape;
    int64_t depth = n->a.gather.depth, I = prod(is->dims, (int)n->a.gather.axis, is->rank);
    int64_t O = urc_shape_numel(is) / (I ? I : 1);
    urc_kernel *k = urc_lower_begin(L, n);
    int bi = urc_lower_in(L, k, n->in[0], "ind"), bv = urc_lower_in(L, k, n->in[2], "values");
    int by = urc_lower_out(L, k, n->out[0], "y");
    int64_t dims[3] = {O, depth, I};
    urc_lx *ix[3];
    urc_ls *body = urc_dim_loops(k, k->body, dims, 3, ix, true, false);
    urc_lx *v = local(k, body, urc_lx_cast(URC_DT_I64, urc_lx_load(k, bi, urc_add(urc_muli(ix[0], I), ix[2]))), "v");
    urc_lx *on = urc_lx_bin(URC_L_OR, urc_lx_bin(URC_L_EQ, v, ix[1]), urc_lx_bin(URC_L_EQ, v, urc_addi(ix[1], -depth)));
    urc_ls_store(body, by, urc_add(urc_muli(urc_add(urc_muli(ix[0], depth), ix[1]), I), ix[2]),
                 urc_lx_load(k, bv, urc_lx_sel(on, urc_lx_int(1), urc_lx_int(0))));
    return true;
}

static bool gather_lower(urc_lower *L, const urc_node *n) {
    if (urc_shape_numel(&n->out[0]->shape) == 0) return true;
    if (n->op == URC_OP_GATHER_ND) return gather_lower_nd(L, n);
    if (n->op == URC_OP_ONE_HOT) return gather_lower_onehot(L, n);
    return n->op == URC_OP_GATHER ? gather_lower_gather(L, n) : gather_lower_elements(L, n);
}

static void gather_print(const urc_node *n, urc_strbuf *sb) {
    if (n->op == URC_OP_GATHER_ND) urc_sb_printf(sb, " batch_dims=%lld", (long long)n->a.gather.batch_dims);
    else urc_sb_printf(sb, " axis=%lld", (long long)n->a.gather.axis);
    if (n->op == URC_OP_ONE_HOT) urc_sb_printf(sb, " depth=%lld", (long long)n->a.gather.depth);
}

const urc_op_impl urc_impl_gather = {gather_parse, gather_infer, gather_eval,
                                     gather_lower, gather_print, .signature_lower = false};
