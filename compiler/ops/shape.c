/* shape.c: Shape, Size, Range, Constant, ConstantOfShape. Their inputs are
 * shapes or constants, so the constant folder normally evaluates them and
 * they never reach code generation; the lowering exists for the rare case
 * of a result too large to fold (e.g. a big ConstantOfShape). */
#include "common.h"

static bool shape_parse(urc_node *n, urc_attr_list *l) {
    urc_shape_attr *a = &n->a.shape;
    switch (n->op) {
    case URC_OP_SHAPE: return urc_attr_int(l, "start", 0, &a->start) && urc_attr_int(l, "end", INT64_MAX, &a->end);
    case URC_OP_CONSTANT: {
        static const char *unsupported[] = {"sparse_value", "value_string", "value_strings"};
        for (size_t i = 0; i < URC_ARRAY_LEN(unsupported); i++)
            if (urc_attr_has(l, unsupported[i])) {
                urc_error(l->where, "attribute '%s' is not supported", unsupported[i]);
                return false;
            }
        urc_tensor *t = NULL;
        if (!urc_attr_tensor(l, "value", &t)) return false;
        double f;
        int64_t i, ints[4096];
        double floats[4096];
        int ni, nf;
        if (urc_attr_has(l, "value_float")) {
            if (!urc_attr_float_any(l, "value_float", 0, &f)) return false; /* inf is a fine constant */
            urc_shape s = {0};
            t = urc_tensor_new(URC_DT_F32, &s);
            ((float *)t->data)[0] = (float)f;
        } else if (urc_attr_has(l, "value_int")) {
            if (!urc_attr_int(l, "value_int", 0, &i)) return false;
            urc_shape s = {0};
            t = urc_tensor_new(URC_DT_I64, &s);
            ((int64_t *)t->data)[0] = i;
        } else if (urc_attr_has(l, "value_floats")) {
            if (!urc_attr_floats(l, "value_floats", floats, 4096, &nf)) return false;
            urc_shape s = {1, {nf}};
            t = urc_tensor_new(URC_DT_F32, &s);
            for (int k = 0; k < nf; k++) ((float *)t->data)[k] = (float)floats[k];
        } else if (urc_attr_has(l, "value_ints")) {
            if (!urc_attr_ints(l, "value_ints", ints, 4096, &ni)) return false;
            urc_shape s = {1, {ni}};
            t = urc_tensor_new(URC_DT_I64, &s);
            memcpy(t->data, ints, sizeof(int64_t) * (size_t)ni);
        }
        if (!t) {
            urc_error(l->where, "Constant has no value");
            return false;
        }
        a->value = t;
        return true;
    }
    case URC_OP_CONSTANT_OF_SHAPE:
        if (!urc_attr_tensor(l, "value", &a->value)) return false;
        if (a->value && urc_tensor_numel(a->value) != 1) {
            urc_error(l->where, "attribute 'value' must have one element");
            return false;
        }
        return true;
    default: return true;
    }
}

/* Range's element count, as numpy.arange: max(ceil((limit - start) / delta), 0). */
static int64_t range_count(double start, double limit, double delta) {
    double c = ceil((limit - start) / delta);
    if (!(c > 0)) return 0;                     /* includes NaN */
    return c < 9.2e18 ? (int64_t)c : INT64_MAX; /* (input hardening) no UB converting; the size cap rejects it */
}

/* The same for integers, exactly (doubles round int64 values: the distance
 * between two values near INT64_MAX would vanish). The distance and the
 * step's magnitude are taken as uint64, which holds both without overflow;
 * counts above INT64_MAX saturate (the size cap rejects them). */
static int64_t range_count_int(int64_t start, int64_t limit, int64_t delta) {
    if (delta > 0 ? limit <= start : limit >= start) return 0;
    uint64_t dist = delta > 0 ? (uint64_t)limit - (uint64_t)start : (uint64_t)start - (uint64_t)limit;
    uint64_t step = delta > 0 ? (uint64_t)delta : (uint64_t)0 - (uint64_t)delta;
    uint64_t c = dist / step + (dist % step != 0);
    return c > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)c;
}

static bool shape_infer(urc_node *n) {
    urc_shape_attr *a = &n->a.shape;
    const char *where = urc_node_where(n);
    switch (n->op) {
    case URC_OP_SHAPE: {
        int r = n->in[0]->shape.rank;
        int64_t s = a->start < 0 ? a->start + r : a->start, e = a->end < 0 ? a->end + r : a->end;
        s = s < 0 ? 0 : s > r ? r : s;
        e = e < 0 ? 0 : e > r ? r : e;
        a->start = s;
        a->end = e < s ? s : e;
        urc_shape o = {1, {a->end - a->start}};
        urc_set_out(n, 0, URC_DT_I64, &o);
        return true;
    }
    case URC_OP_SIZE: {
        urc_shape o = {0};
        urc_set_out(n, 0, URC_DT_I64, &o);
        return true;
    }
    case URC_OP_RANGE: {
        double v[3];
        for (int j = 0; j < 3; j++) {
            if (!urc_check_dtype(n, j, URC_DTM_FLOAT | URC_DTM_SINT)) return false;
            if (j && !urc_check_same_dtype(n, 0, j)) return false;
            if (!urc_const_scalar(n, j, &v[j])) return false;
        }
        if (v[2] == 0) {
            urc_error(where, "Range delta is zero");
            return false;
        }
        int64_t count = range_count(v[0], v[1], v[2]);
        if (urc_dtype_is_int(n->in[0]->dtype))
            count = range_count_int(urc_elem_i64(n->in[0]->dtype, n->in[0]->data, 0),
                                    urc_elem_i64(n->in[1]->dtype, n->in[1]->data, 0),
                                    urc_elem_i64(n->in[2]->dtype, n->in[2]->data, 0));
        urc_shape o = {1, {count}};
        urc_set_out(n, 0, n->in[0]->dtype, &o);
        return true;
    }
    case URC_OP_CONSTANT: urc_set_out(n, 0, a->value->dtype, &a->value->shape); return true;
    case URC_OP_CONSTANT_OF_SHAPE: {
        int64_t dims[URC_MAX_RANK + 1];
        int nd;
        if (!urc_const_ints(n, 0, dims, URC_MAX_RANK, &nd)) return false;
        urc_shape o = {nd, {0}};
        for (int d = 0; d < nd; d++) {
            if (dims[d] < 0) {
                urc_error(where, "negative dimension %lld", (long long)dims[d]);
                return false;
            }
            o.dims[d] = dims[d];
        }
        urc_set_out(n, 0, a->value ? a->value->dtype : URC_DT_F32, &o);
        return true;
    }
    default: return false;
    }
}

static bool shape_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_shape_attr *a = &n->a.shape;
    urc_tensor *y = out[0];
    int64_t ne = urc_tensor_numel(y);
    switch (n->op) {
    case URC_OP_SHAPE:
        for (int64_t i = 0; i < ne; i++) ((int64_t *)y->data)[i] = in[0]->shape.dims[a->start + i];
        return true;
    case URC_OP_SIZE: ((int64_t *)y->data)[0] = urc_shape_numel(&in[0]->shape); return true;
    case URC_OP_RANGE: {
        if (urc_dtype_is_float(y->dtype)) {
            double s = urc_elem_f64(in[0]->dtype, in[0]->data, 0), d = urc_elem_f64(in[2]->dtype, in[2]->data, 0);
            for (int64_t i = 0; i < ne; i++) urc_elem_set_f64(y->dtype, y->data, i, s + (double)i * d);
        } else {
            int64_t s = urc_elem_i64(in[0]->dtype, in[0]->data, 0), d = urc_elem_i64(in[2]->dtype, in[2]->data, 0);
            /* start + i*delta lies between start and limit, but i*delta alone may not fit: wrap (exact) */
            for (int64_t i = 0; i < ne; i++)
                urc_elem_set_i64(y->dtype, y->data, i, urc_wrap_add(s, urc_wrap_mul(i, d)));
        }
        return true;
    }
    case URC_OP_CONSTANT: memcpy(y->data, a->value->data, urc_tensor_bytes(y)); return true;
    case URC_OP_CONSTANT_OF_SHAPE: {
        int es = urc_dtype_size(y->dtype);
        for (int64_t i = 0; i < ne; i++) {
            if (a->value) memcpy((char *)y->data + i * es, a->value->data, (size_t)es);
            else ((float *)y->data)[i] = 0;
        }
        return true;
    }
    default: return false;
    }
}

static bool shape_lower(urc_lower *L, const urc_node *n) {
    urc_kernel *k = urc_lower_begin(L, n);
    const urc_value *yv = n->out[0];
    const urc_shape_attr *a = &n->a.shape;
    int by = urc_lower_out(L, k, yv, "y");
    if (n->op == URC_OP_SHAPE) {
        for (int64_t d = a->start; d < a->end; d++)
            urc_ls_store(k->body, by, urc_lx_int(d - a->start),
                         urc_lx_const((double)n->in[0]->shape.dims[d], URC_DT_I64));
        return true;
    }
    urc_lx *i;
    urc_ls *body = urc_flat_loop(k, &yv->shape, &i);
    switch (n->op) {
    case URC_OP_SIZE:
        urc_ls_store(body, by, i, urc_lx_const((double)urc_shape_numel(&n->in[0]->shape), URC_DT_I64));
        break;
    case URC_OP_RANGE: {
        urc_lx *s = urc_lower_load(L, k, n->in[0], urc_lx_int(0)), *d = urc_lower_load(L, k, n->in[2], urc_lx_int(0));
        urc_ls_store(body, by, i, urc_lx_bin(URC_L_ADD, s, urc_lx_bin(URC_L_MUL, urc_lx_cast(yv->dtype, i), d)));
        break;
    }
    case URC_OP_CONSTANT_OF_SHAPE: {
        double v = a->value ? urc_elem_f64(a->value->dtype, a->value->data, 0) : 0;
        urc_lx *c = urc_lx_const(v, yv->dtype);
        if (a->value && urc_dtype_is_int(yv->dtype)) { /* exact for 64-bit values (a double rounds them) */
            c = urc_lx_int(urc_elem_i64(a->value->dtype, a->value->data, 0));
            c->dt = yv->dtype;
        }
        urc_ls_store(body, by, i, c);
        break;
    }
    default: URC_ASSERT(0, "Constant is always folded");
    }
    return true;
}

const urc_op_impl urc_impl_shape = {shape_parse, shape_infer, shape_eval, shape_lower, NULL, .signature_lower = false};
