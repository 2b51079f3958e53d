/* reduce.c: ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp
 * and ArgMax/ArgMin.
 *
 * Axes: an attribute before opset 18 (ReduceSum: an input from opset 13),
 * an input after; an axes input must be a compile-time constant. Empty or
 * absent axes reduce every dim, unless noop_with_empty_axes: then nothing is
 * reduced and each output is the reduction of its one input element (as
 * the ONNX reference: ReduceSumSquare gives x*x, ReduceL1 |x|, ...).
 * Reductions over an empty set give the identity of the operation: 0 for
 * sums, 1 for products, -inf (the type's minimum for integers) for Max,
 * LogSum and LogSumExp, +inf (maximum) for Min, NaN for a float Mean.
 *
 * Lowering: the input's dims are merged into alternating groups of kept and
 * reduced dims (size-1 dims dropped). One parallel loop runs over the
 * output elements; under it a nest over the reduced groups accumulates
 * into a scalar local: double for float sums (exactness over long
 * reductions), uint64 for integer sums and products (wrapping, as the
 * narrow integer result), the input type for Max/Min. */
#include "common.h"

static bool is_arg(urc_op op) { return op == URC_OP_ARGMAX || op == URC_OP_ARGMIN; }

static bool reduce_parse(urc_node *n, urc_attr_list *l) {
    urc_reduce_attr *a = &n->a.reduce;
    int64_t v;
    a->naxes = -1;
    if (!urc_attr_int(l, "keepdims", 1, &v)) return false;
    a->keepdims = v != 0;
    if (is_arg(n->op)) {
        if (!urc_attr_int(l, "axis", 0, &a->axis) || !urc_attr_int(l, "select_last_index", 0, &v)) return false;
        a->select_last_index = v != 0;
        return true;
    }
    /* Only the attributes the node's opset defines are read; any other is
     * reported as unsupported by the importer. */
    bool axes_input = n->op == URC_OP_REDUCE_SUM || n->opset >= 18;
    if (axes_input && urc_attr_has(l, "axes")) {
        urc_error(l->where, "attribute 'axes' is an input in opset %d (since %d)", n->opset,
                  n->op == URC_OP_REDUCE_SUM ? 13 : 18);
        return false;
    }
    if (!axes_input && !urc_attr_ints(l, "axes", a->axes, URC_MAX_RANK, &a->naxes)) return false;
    if (axes_input) {
        if (!urc_attr_int(l, "noop_with_empty_axes", 0, &v)) return false;
        a->noop_with_empty_axes = v != 0;
    }
    return true;
}

static bool reduce_infer(urc_node *n) {
    urc_reduce_attr *a = &n->a.reduce;
    const char *where = urc_node_where(n);
    if (!urc_check_dtype(n, 0, URC_DTM_NUM) || !urc_reject_half(n, 0)) return false;
    const urc_shape *xs = &n->in[0]->shape;
    int r = xs->rank;
    memset(a->reduce, 0, sizeof a->reduce);
    urc_shape o = {0};
    if (is_arg(n->op)) {
        if (!urc_norm_axis(n, a->axis, r, &a->axis)) return false;
        if (xs->dims[a->axis] == 0) {
            urc_error(where, "%s over axis %lld of size 0 has no result", urc_ops[n->op].name, (long long)a->axis);
            return false;
        }
        a->reduce[a->axis] = 1;
    } else {
        int64_t axes[URC_MAX_RANK];
        int na = a->naxes;
        if (n->nin > 1 && n->in[1]) {
            if (n->op != URC_OP_REDUCE_SUM && n->opset < 18) {
                urc_error(where, "axes as an input needs opset 18 (opset %d takes the axes attribute)", n->opset);
                return false;
            }
            if (!urc_const_ints(n, 1, axes, URC_MAX_RANK, &na)) return false;
        } else if (na > 0) {
            memcpy(axes, a->axes, sizeof(int64_t) * (size_t)na);
        }
        if (na <= 0) {
            for (int d = 0; d < r; d++) a->reduce[d] = !a->noop_with_empty_axes;
        }
        for (int i = 0; i < na; i++) {
            int64_t ax;
            if (!urc_norm_axis(n, axes[i], r, &ax)) return false;
            if (a->reduce[ax]) {
                urc_error(where, "axis %lld is listed twice", (long long)axes[i]);
                return false;
            }
            a->reduce[ax] = 1;
        }
    }
    for (int d = 0; d < r; d++) {
        if (!a->reduce[d]) o.dims[o.rank++] = xs->dims[d];
        else if (a->keepdims) o.dims[o.rank++] = 1;
    }
    urc_set_out(n, 0, is_arg(n->op) ? URC_DT_I64 : n->in[0]->dtype, &o);
    return true;
}

/* ---- shared facts ----------------------------------------------------------- */

/* Integer inputs accumulate exactly in (u)int64, except the ops defined
 * through sqrt/log/exp, which go through double. */
static bool int_path(urc_op op, urc_dtype dt) {
    if (!urc_dtype_is_int(dt)) return false;
    return op != URC_OP_REDUCE_L2 && op != URC_OP_REDUCE_LOG_SUM && op != URC_OP_REDUCE_LOG_SUM_EXP;
}

static int64_t int_min(urc_dtype dt) {
    switch (dt) {
    case URC_DT_I8: return INT8_MIN;
    case URC_DT_I16: return INT16_MIN;
    case URC_DT_I32: return INT32_MIN;
    case URC_DT_I64: return INT64_MIN;
    default: return 0; /* unsigned */
    }
}

static int64_t int_max(urc_dtype dt) {
    switch (dt) {
    case URC_DT_I8: return INT8_MAX;
    case URC_DT_I16: return INT16_MAX;
    case URC_DT_I32: return INT32_MAX;
    case URC_DT_U8: return UINT8_MAX;
    case URC_DT_U16: return UINT16_MAX;
    case URC_DT_U32: return UINT32_MAX;
    case URC_DT_U64: return -1; /* all bits set */
    default: return INT64_MAX;
    }
}

/* The result of a reduction over an empty set (see the header). */
static double empty_value(urc_op op) {
    switch (op) {
    case URC_OP_REDUCE_PROD: return 1;
    case URC_OP_REDUCE_MAX:
    case URC_OP_REDUCE_LOG_SUM:
    case URC_OP_REDUCE_LOG_SUM_EXP: return -INFINITY;
    case URC_OP_REDUCE_MIN: return INFINITY;
    case URC_OP_REDUCE_MEAN: return NAN;
    default: return 0;
    }
}

static int64_t empty_int(urc_op op, urc_dtype dt) {
    switch (op) {
    case URC_OP_REDUCE_PROD: return 1;
    case URC_OP_REDUCE_MAX:
    case URC_OP_REDUCE_LOG_SUM:
    case URC_OP_REDUCE_LOG_SUM_EXP: return int_min(dt);
    case URC_OP_REDUCE_MIN: return int_max(dt);
    default: return 0;
    }
}

static int64_t reduced_count(const urc_node *n) {
    const urc_shape *xs = &n->in[0]->shape;
    int64_t c = 1;
    for (int d = 0; d < xs->rank; d++)
        if (n->a.reduce.reduce[d]) c *= xs->dims[d];
    return c;
}

/* ---- reference ------------------------------------------------------------ */

/* Linear output index of input element i (reduced dims collapse to 0). */
static int64_t out_index(const urc_shape *xs, const unsigned char *red, int64_t i) {
    int64_t idx[URC_MAX_RANK], o = 0;
    urc_unravel(xs, i, idx);
    for (int d = 0; d < xs->rank; d++) o = o * (red[d] ? 1 : xs->dims[d]) + (red[d] ? 0 : idx[d]);
    return o;
}

static bool u64_less(bool uns, int64_t a, int64_t b) { return uns ? (uint64_t)a < (uint64_t)b : a < b; }

static bool arg_eval(const urc_node *n, const urc_tensor *x, urc_tensor *y) {
    const urc_reduce_attr *a = &n->a.reduce;
    int64_t ne_in = urc_tensor_numel(x), ne_out = urc_tensor_numel(y);
    bool fl = urc_dtype_is_float(x->dtype), uns = x->dtype == URC_DT_U64, mx = n->op == URC_OP_ARGMAX;
    double *bf = urc_xcalloc((size_t)ne_out + 1, sizeof(double));
    int64_t *bi = urc_xcalloc((size_t)ne_out + 1, sizeof(int64_t)),
            *arg = urc_xcalloc((size_t)ne_out + 1, sizeof(int64_t));
    for (int64_t i = 0; i < ne_in; i++) {
        int64_t o = out_index(&x->shape, a->reduce, i), idx[URC_MAX_RANK];
        urc_unravel(&x->shape, i, idx);
        int64_t j = idx[a->axis];
        bool better;
        if (fl) {
            double v = urc_elem_f64(x->dtype, x->data, i), b = bf[o];
            if (a->select_last_index) better = (mx ? v >= b : v <= b) || isnan(v);
            else better = (mx ? v > b : v < b) || (isnan(v) && !isnan(b));
            if (j == 0 || better) bf[o] = v;
        } else {
            int64_t v = urc_elem_i64(x->dtype, x->data, i), b = bi[o];
            bool gt = mx ? u64_less(uns, b, v) : u64_less(uns, v, b);
            better = gt || (a->select_last_index && v == b);
            if (j == 0 || better) bi[o] = v;
        }
        if (j == 0 || better) arg[o] = j;
    }
    for (int64_t o = 0; o < ne_out; o++) urc_elem_set_i64(y->dtype, y->data, o, arg[o]);
    free(bf);
    free(bi);
    free(arg);
    return true;
}

static bool reduce_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *x = in[0];
    urc_tensor *y = out[0];
    if (is_arg(n->op)) return arg_eval(n, x, y);
    const unsigned char *red = n->a.reduce.reduce;
    urc_op op = n->op;
    urc_dtype dt = x->dtype;
    int64_t ne_in = urc_tensor_numel(x), ne_out = urc_tensor_numel(y), count = reduced_count(n);
    if (count == 0) {
        for (int64_t o = 0; o < ne_out; o++) {
            if (urc_dtype_is_float(dt)) urc_elem_set_f64(dt, y->data, o, empty_value(op));
            else urc_elem_set_i64(dt, y->data, o, empty_int(op, dt));
        }
        return true;
    }
    if (int_path(op, dt)) {
        /* uint64 arithmetic wraps like the narrow result type. */
        bool uns = dt == URC_DT_U64;
        uint64_t *acc = urc_xcalloc((size_t)ne_out + 1, sizeof(uint64_t));
        bool *seen = urc_xcalloc((size_t)ne_out + 1, 1);
        for (int64_t i = 0; i < ne_in; i++) {
            int64_t o = out_index(&x->shape, red, i), v = urc_elem_i64(dt, x->data, i);
            uint64_t u = (uint64_t)v, *p = &acc[o];
            switch (op) {
            case URC_OP_REDUCE_SUM:
            case URC_OP_REDUCE_MEAN: *p += u; break;
            case URC_OP_REDUCE_L1: *p += (!uns && v < 0) ? -u : u; break;
            case URC_OP_REDUCE_SUM_SQUARE: *p += u * u; break;
            case URC_OP_REDUCE_PROD: *p = seen[o] ? *p * u : u; break;
            case URC_OP_REDUCE_MAX:
                if (!seen[o] || u64_less(uns, (int64_t)*p, v)) *p = u;
                break;
            case URC_OP_REDUCE_MIN:
                if (!seen[o] || u64_less(uns, v, (int64_t)*p)) *p = u;
                break;
            default: URC_ASSERT(0, "reduce_eval: bad integer op");
            }
            seen[o] = true;
        }
        for (int64_t o = 0; o < ne_out; o++) {
            int64_t r = (int64_t)acc[o];
            if (op == URC_OP_REDUCE_MEAN) r = uns ? (int64_t)(acc[o] / (uint64_t)count) : r / count;
            urc_elem_set_i64(dt, y->data, o, r);
        }
        free(acc);
        free(seen);
        return true;
    }
    double *acc = urc_xcalloc((size_t)ne_out + 1, sizeof(double));
    double *shift = urc_xcalloc((size_t)ne_out + 1, sizeof(double));
    bool *seen = urc_xcalloc((size_t)ne_out + 1, 1);
    if (op == URC_OP_REDUCE_LOG_SUM_EXP) {
        /* shift = the maximum when finite, else 0 (stable and exact for +-inf) */
        for (int64_t o = 0; o < ne_out; o++) shift[o] = -INFINITY;
        for (int64_t i = 0; i < ne_in; i++) {
            int64_t o = out_index(&x->shape, red, i);
            double v = urc_elem_f64(dt, x->data, i);
            if (v > shift[o] || isnan(v)) shift[o] = isnan(shift[o]) ? shift[o] : v;
        }
        for (int64_t o = 0; o < ne_out; o++)
            if (isinf(shift[o])) shift[o] = 0;
    }
    for (int64_t i = 0; i < ne_in; i++) {
        int64_t o = out_index(&x->shape, red, i);
        double v = urc_elem_f64(dt, x->data, i), *p = &acc[o];
        switch (op) {
        case URC_OP_REDUCE_SUM:
        case URC_OP_REDUCE_MEAN:
        case URC_OP_REDUCE_LOG_SUM: *p += v; break;
        case URC_OP_REDUCE_L1: *p += fabs(v); break;
        case URC_OP_REDUCE_L2:
        case URC_OP_REDUCE_SUM_SQUARE: *p += v * v; break;
        case URC_OP_REDUCE_LOG_SUM_EXP: *p += exp(v - shift[o]); break;
        case URC_OP_REDUCE_PROD: *p = seen[o] ? *p * v : v; break;
        case URC_OP_REDUCE_MAX:
        case URC_OP_REDUCE_MIN: /* NaN propagates */
            if (!seen[o] || isnan(v) || (!isnan(*p) && (op == URC_OP_REDUCE_MAX ? v > *p : v < *p))) *p = v;
            break;
        default: URC_ASSERT(0, "reduce_eval: bad op");
        }
        seen[o] = true;
    }
    for (int64_t o = 0; o < ne_out; o++) {
        double r = acc[o];
        switch (op) {
        case URC_OP_REDUCE_MEAN: r /= (double)count; break;
        case URC_OP_REDUCE_L2: r = sqrt(r); break;
        case URC_OP_REDUCE_LOG_SUM: r = log(r); break;
        case URC_OP_REDUCE_LOG_SUM_EXP: r = log(r) + shift[o]; break;
        default: break;
        }
        urc_elem_set_f64(dt, y->data, o, r); /* integers: truncation, saturating, as the generated code's cast */
    }
    free(acc);
    free(shift);
    free(seen);
    return true;
}

/* ---- lowering ------------------------------------------------------------- */

static urc_lx *bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_bin(op, a, b); }
static urc_lx *var(const urc_kernel *k, int v) { return urc_lx_var(k, v); }

/* An integer literal of dtype dt holding v's bits. */
static urc_lx *int_lit(int64_t v, urc_dtype dt) {
    urc_lx *e = urc_lx_int(v);
    e->dt = dt;
    return e;
}

typedef struct group {
    int64_t size, stride;
    bool red;
} group;

/* Merges the input's dims into groups of consecutive kept or reduced dims
 * (outermost first), dropping size-1 dims. */
static int make_groups(const urc_shape *xs, const unsigned char *red, group *g) {
    group tmp[URC_MAX_RANK];
    int ng = 0;
    int64_t st = 1;
    for (int d = xs->rank - 1; d >= 0; d--) {
        if (xs->dims[d] == 1) continue;
        if (ng && tmp[ng - 1].red == (red[d] != 0)) tmp[ng - 1].size *= xs->dims[d];
        else tmp[ng++] = (group){xs->dims[d], st, red[d] != 0};
        st *= xs->dims[d];
    }
    for (int i = 0; i < ng; i++) g[i] = tmp[ng - 1 - i];
    return ng;
}

/* The accumulator type of op on input dtype dt. */
static urc_dtype acc_type(urc_op op, urc_dtype dt) {
    if (op == URC_OP_REDUCE_MAX || op == URC_OP_REDUCE_MIN || is_arg(op)) return dt;
    if (int_path(op, dt)) return URC_DT_U64;
    return URC_DT_F64;
}

/* acc (op) x for one element. */
static urc_lx *combine(urc_op op, urc_lx *acc, urc_lx *x, urc_lx *shift) {
    urc_dtype at = acc->dt;
    urc_lx *v = urc_lx_cast(at, x);
    switch (op) {
    case URC_OP_REDUCE_SUM:
    case URC_OP_REDUCE_MEAN:
    case URC_OP_REDUCE_LOG_SUM: return bin(URC_L_ADD, acc, v);
    case URC_OP_REDUCE_PROD: return bin(URC_L_MUL, acc, v);
    case URC_OP_REDUCE_MAX: return bin(URC_L_MAX, acc, x);
    case URC_OP_REDUCE_MIN: return bin(URC_L_MIN, acc, x);
    case URC_OP_REDUCE_L1:
        if (urc_dtype_is_signed(x->dt) && !urc_dtype_is_float(x->dt))
            v = urc_lx_cast(at, urc_lx_un(URC_L_ABS, urc_lx_cast(URC_DT_I64, x)));
        else if (urc_dtype_is_float(at)) v = urc_lx_un(URC_L_ABS, v);
        return bin(URC_L_ADD, acc, v);
    case URC_OP_REDUCE_L2:
    case URC_OP_REDUCE_SUM_SQUARE: return bin(URC_L_ADD, acc, bin(URC_L_MUL, v, v));
    case URC_OP_REDUCE_LOG_SUM_EXP: return bin(URC_L_ADD, acc, urc_lx_un(URC_L_EXP, bin(URC_L_SUB, v, shift)));
    default: URC_ASSERT(0, "combine: bad op");
    }
    return NULL;
}

/* The output value from the accumulator (count = elements reduced). */
static urc_lx *finish(urc_op op, urc_lx *acc, urc_lx *shift, int64_t count, urc_dtype dt) {
    switch (op) {
    case URC_OP_REDUCE_MEAN:
        if (acc->dt == URC_DT_U64 && urc_dtype_is_signed(dt))
            return urc_lx_cast(dt, bin(URC_L_DIV, urc_lx_cast(URC_DT_I64, acc), urc_lx_int(count)));
        return urc_lx_cast(dt, bin(URC_L_DIV, acc, urc_lx_const((double)count, acc->dt)));
    case URC_OP_REDUCE_L2: return urc_lx_cast(dt, urc_lx_un(URC_L_SQRT, acc));
    case URC_OP_REDUCE_LOG_SUM: return urc_lx_cast(dt, urc_lx_un(URC_L_LOG, acc));
    case URC_OP_REDUCE_LOG_SUM_EXP: return urc_lx_cast(dt, bin(URC_L_ADD, urc_lx_un(URC_L_LOG, acc), shift));
    default: return urc_lx_cast(dt, acc);
    }
}

/* Appends the nest over the reduced groups; returns its body, the input
 * index of the current element and (if last) the innermost loop variable. */
static urc_ls *reduced_nest(urc_kernel *k, urc_ls *body, const group *g, int ng, int base, urc_lx **xi, int *last) {
    urc_lx *idx = var(k, base);
    for (int i = 0; i < ng; i++) {
        if (!g[i].red) continue;
        int r = urc_kernel_var(k, "r", URC_DT_I64);
        if (last) *last = r;
        body = urc_ls_for(body, r, urc_lx_int(0), urc_lx_int(g[i].size), 1, 0);
        idx = urc_add(idx, urc_muli(var(k, r), g[i].stride));
    }
    *xi = idx;
    return body;
}

/* Lanes for a contiguous reduced run: two vectors of doubles. */
static int64_t run_lanes(const urc_lower *L) {
    int64_t l = L->target ? 2 * L->target->vector_bits / 64 : 4;
    return l < 4 ? 4 : l;
}

/* Float Sum/Mean/L1/L2/SumSquare/LogSum/LogSumExp/Max/Min whose innermost
 * input group is reduced and contiguous: the lane form applies. */
static bool lanes_ok(const urc_node *n, const group *g, int ng, urc_dtype dt) {
    if (!urc_dtype_is_float(dt) || ng == 0 || !g[ng - 1].red || g[ng - 1].stride != 1) return false;
    switch (n->op) {
    case URC_OP_REDUCE_SUM:
    case URC_OP_REDUCE_MEAN:
    case URC_OP_REDUCE_L1:
    case URC_OP_REDUCE_L2:
    case URC_OP_REDUCE_SUM_SQUARE:
    case URC_OP_REDUCE_LOG_SUM:
    case URC_OP_REDUCE_LOG_SUM_EXP:
    case URC_OP_REDUCE_MAX:
    case URC_OP_REDUCE_MIN: return true;
    default: return false;
    }
}

/* The reduction of output o with the innermost (contiguous) run in W lanes
 * of accumulators: no loop-carried dependence inside the lane loop, so it
 * vectorises; the lanes are combined at the end (sums in double). */
static void lower_lanes(urc_lower *L, urc_kernel *k, const urc_node *n, urc_ls *body, const group *g, int ng, int bx,
                        int by, int o, int base, urc_lx *shift, int64_t count) {
    urc_dtype dt = n->in[0]->dtype, at = acc_type(n->op, dt);
    bool mm = n->op == URC_OP_REDUCE_MAX || n->op == URC_OP_REDUCE_MIN;
    int64_t len = g[ng - 1].size, W = run_lanes(L);
    if (len < 2 * W) W = 1;
    int64_t nb = len / W;
    int acc = urc_kernel_local(k, "acc", at, W);
    urc_ls_array(body, k, acc);
    int l = urc_kernel_var(k, "l", URC_DT_I64), i = urc_kernel_var(k, "i", URC_DT_I64);
    urc_ls *z = urc_ls_for(body, l, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_VECTOR);
    urc_ls_store(z, acc, var(k, l), mm ? urc_lx_load(k, bx, var(k, base)) : urc_lx_const(0, at));
    /* the outer reduced groups, then the run */
    urc_lx *xi;
    int run_start = urc_ls_let(k, body, "rs", URC_DT_I64, var(k, base));
    urc_ls *lb = reduced_nest(k, body, g, ng - 1, base, &xi, NULL);
    urc_ls_assign(lb, run_start, xi);
    urc_lx *rs = var(k, run_start);
    urc_ls *li = urc_ls_for(lb, i, urc_lx_int(0), urc_lx_int(nb * W), W, 0);
    urc_ls *ll = urc_ls_for(li, l, urc_lx_int(0), urc_lx_int(W), 1, URC_FOR_VECTOR);
    urc_ls_store(ll, acc, var(k, l),
                 combine(n->op, urc_lx_load(k, acc, var(k, l)),
                         urc_lx_load(k, bx, urc_add(rs, urc_add(var(k, i), var(k, l)))), shift));
    if (nb * W < len) {
        urc_ls *lt = urc_ls_for(lb, i, urc_lx_int(nb * W), urc_lx_int(len), 1, 0);
        urc_ls_store(
            lt, acc, urc_lx_int(0),
            combine(n->op, urc_lx_load(k, acc, urc_lx_int(0)), urc_lx_load(k, bx, urc_add(rs, var(k, i))), shift));
    }
    int a = urc_ls_let(k, body, "a", at, urc_lx_load(k, acc, urc_lx_int(0)));
    urc_ls *lm = urc_ls_for(body, l, urc_lx_int(1), urc_lx_int(W), 1, 0);
    urc_lop merge = n->op == URC_OP_REDUCE_MAX ? URC_L_MAX : n->op == URC_OP_REDUCE_MIN ? URC_L_MIN : URC_L_ADD;
    urc_ls_assign(lm, a, bin(merge, var(k, a), urc_lx_load(k, acc, var(k, l))));
    urc_ls_store(body, by, var(k, o), finish(n->op, var(k, a), shift, count, n->out[0]->dtype));
}

static bool reduce_lower(urc_lower *L, const urc_node *n) {
    const urc_reduce_attr *a = &n->a.reduce;
    const urc_value *xv = n->in[0], *yv = n->out[0];
    urc_dtype dt = xv->dtype, odt = yv->dtype, at = acc_type(n->op, dt);
    int64_t ne_out = urc_shape_numel(&yv->shape), count = reduced_count(n);
    urc_kernel *k = urc_lower_begin(L, n);
    int by = urc_lower_out(L, k, yv, "y");
    if (ne_out == 0) return true;
    int o = urc_kernel_var(k, "o", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, o, urc_lx_int(0), urc_lx_int(ne_out), 1, URC_FOR_PARALLEL);
    if (count == 0) { /* empty set: the identity of the reduction */
        urc_lx *c = urc_dtype_is_float(odt) ? urc_lx_flt(empty_value(n->op), odt) : int_lit(empty_int(n->op, odt), odt);
        urc_ls_store(body, by, var(k, o), c);
        return true;
    }
    int bx = urc_lower_in(L, k, xv, "x");
    /* base: input index of output o's first element, from the kept groups. */
    group g[URC_MAX_RANK];
    int ng = make_groups(&xv->shape, a->reduce, g);
    urc_lx *bexp = urc_lx_int(0);
    int64_t below = 1; /* product of the kept group sizes after group i */
    for (int i = ng - 1; i >= 0; i--) {
        if (g[i].red) continue;
        urc_lx *q = below == 1 ? var(k, o) : bin(URC_L_DIV, var(k, o), urc_lx_int(below));
        if (below * g[i].size != ne_out) q = bin(URC_L_REM, q, urc_lx_int(g[i].size));
        bexp = urc_add(bexp, urc_muli(q, g[i].stride));
        below *= g[i].size;
    }
    int base = urc_ls_let(k, body, "base", URC_DT_I64, bexp);
    urc_lx *xi;
    if (is_arg(n->op)) {
        /* best value and its index j along the axis (the one reduced group, if any) */
        int best = urc_ls_let(k, body, "best", dt, urc_lx_load(k, bx, var(k, base)));
        int bi = urc_ls_let(k, body, "bi", URC_DT_I64, urc_lx_int(0));
        int j = -1;
        urc_ls *lb = reduced_nest(k, body, g, ng, base, &xi, &j);
        if (j >= 0) { /* else the axis has size 1: the index is 0 */
            int v = urc_ls_let(k, lb, "v", dt, urc_lx_load(k, bx, xi));
            bool mx = n->op == URC_OP_ARGMAX;
            urc_lx *V = var(k, v), *B = var(k, best), *better;
            if (a->select_last_index) better = bin(mx ? URC_L_GE : URC_L_LE, V, B);
            else better = bin(mx ? URC_L_GT : URC_L_LT, V, B);
            if (urc_dtype_is_float(dt)) {
                urc_lx *nan = urc_lx_un(URC_L_ISNAN, V);
                if (!a->select_last_index) nan = bin(URC_L_AND, nan, urc_lx_un(URC_L_NOT, urc_lx_un(URC_L_ISNAN, B)));
                better = bin(URC_L_OR, better, nan);
            }
            urc_ls *then = urc_ls_if(lb, better, NULL);
            urc_ls_assign(then, best, V);
            urc_ls_assign(then, bi, var(k, j));
        }
        urc_ls_store(body, by, var(k, o), var(k, bi));
        return true;
    }
    urc_lx *shift = NULL;
    if (n->op == URC_OP_REDUCE_LOG_SUM_EXP) {
        /* pass 1: the maximum; shift by it when finite */
        int m = urc_ls_let(k, body, "m", dt, urc_lx_load(k, bx, var(k, base)));
        urc_ls *lb = reduced_nest(k, body, g, ng, base, &xi, NULL);
        urc_ls_assign(lb, m, bin(URC_L_MAX, var(k, m), urc_lx_load(k, bx, xi)));
        urc_lx *mf = urc_lx_cast(URC_DT_F64, var(k, m));
        int sh = urc_ls_let(k, body, "shift", URC_DT_F64,
                            urc_lx_sel(urc_lx_un(URC_L_ISINF, mf), urc_lx_flt(0, URC_DT_F64), mf));
        shift = var(k, sh);
    }
    if (lanes_ok(n, g, ng, dt)) {
        lower_lanes(L, k, n, body, g, ng, bx, by, o, base, shift, count);
        return true;
    }
    /* Max/Min start from the first element (no literal needed for the
     * type's extremes); the others from their identity. */
    urc_lx *init;
    if (n->op == URC_OP_REDUCE_MAX || n->op == URC_OP_REDUCE_MIN) init = urc_lx_load(k, bx, var(k, base));
    else init = urc_lx_const(n->op == URC_OP_REDUCE_PROD ? 1 : 0, at);
    int acc = urc_ls_let(k, body, "acc", at, init);
    urc_ls *lb = reduced_nest(k, body, g, ng, base, &xi, NULL);
    urc_ls_assign(lb, acc, combine(n->op, var(k, acc), urc_lx_load(k, bx, xi), shift));
    urc_ls_store(body, by, var(k, o), finish(n->op, var(k, acc), shift, count, odt));
    return true;
}

static void reduce_print(const urc_node *n, urc_strbuf *sb) {
    const urc_reduce_attr *a = &n->a.reduce;
    if (is_arg(n->op)) {
        urc_sb_printf(sb, " axis=%lld", (long long)a->axis);
        if (a->select_last_index) urc_sb_puts(sb, " select_last_index=1");
    } else {
        int64_t axes[URC_MAX_RANK];
        int na = 0;
        for (int d = 0; d < n->in[0]->shape.rank; d++)
            if (a->reduce[d]) axes[na++] = d;
        urc_print_ints(sb, "axes", axes, na);
    }
    urc_sb_printf(sb, " keepdims=%d", a->keepdims);
}

const urc_op_impl urc_impl_reduce = {reduce_parse, reduce_infer, reduce_eval,
                                     reduce_lower, reduce_print, .signature_lower = true};
