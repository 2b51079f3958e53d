/* binary.c: elementwise ops with numpy broadcasting: arithmetic, Pow, Mod,
 * PRelu, comparisons, logic, variadic Max/Min/Sum/Mean, Where and BitShift.
 * float16/bfloat16 are storage types, except for Max, Min and Mod, which
 * compute in float32 and round back (as ONNX's reference does with numpy;
 * their results are exact, so no double rounding is involved). */
#include "common.h"

static bool is_half(urc_dtype dt) { return dt == URC_DT_F16 || dt == URC_DT_BF16; }
static bool half_ok(urc_op op) {
    return op == URC_OP_MAX || op == URC_OP_MIN || op == URC_OP_MOD || op == URC_OP_WHERE;
}

static bool is_compare(urc_op op) {
    return op == URC_OP_EQUAL || op == URC_OP_LESS || op == URC_OP_LESS_OR_EQUAL || op == URC_OP_GREATER ||
           op == URC_OP_GREATER_OR_EQUAL;
}
static bool is_logic(urc_op op) { return op == URC_OP_AND || op == URC_OP_OR || op == URC_OP_XOR; }

static bool binary_parse(urc_node *n, urc_attr_list *l) {
    if (n->op == URC_OP_MOD) {
        int64_t f;
        if (!urc_attr_int(l, "fmod", 0, &f)) return false;
        if (f != 0 && f != 1) {
            urc_error(l->where, "attribute 'fmod' must be 0 or 1, got %lld", (long long)f);
            return false;
        }
        n->a.binary.fmod = (int)f;
    }
    if (n->op == URC_OP_BIT_SHIFT) {
        const char *d;
        if (!urc_attr_string(l, "direction", "", &d)) return false;
        if (strcmp(d, "LEFT") && strcmp(d, "RIGHT")) {
            urc_error(l->where, "attribute 'direction' must be LEFT or RIGHT, got '%s'", d);
            return false;
        }
        n->a.binary.shift_left = !strcmp(d, "LEFT");
    }
    return true;
}

static bool binary_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    int first = n->op == URC_OP_WHERE ? 1 : 0;
    for (int j = 0; j < n->nin; j++)
        if (!n->in[j]) {
            urc_error(where, "input %d is missing", j);
            return false;
        }
    if (n->nin > 64) { /* (input hardening) lowering handles at most 64 operands */
        urc_error(where, "has %d inputs; at most 64 are supported", n->nin);
        return false;
    }
    if (n->op == URC_OP_WHERE && !urc_check_dtype(n, 0, URC_DTM_BOOL)) return false;
    unsigned mask = is_logic(n->op)             ? URC_DTM_BOOL
                    : n->op == URC_OP_EQUAL     ? URC_DTM_ALL
                    : n->op == URC_OP_WHERE     ? URC_DTM_ALL
                    : (n->op == URC_OP_PRELU)   ? URC_DTM_FLOAT | URC_DTM_SINT | URC_DTM_UINT
                    : n->op == URC_OP_BIT_SHIFT ? URC_DTM_UINT
                                                : URC_DTM_NUM;
    for (int j = first; j < n->nin; j++) {
        if (!urc_check_dtype(n, j, mask)) return false;
        if (n->op != URC_OP_POW && j > first && !urc_check_same_dtype(n, first, j)) return false;
    }
    if (n->op == URC_OP_POW && !urc_check_dtype(n, 1, URC_DTM_NUM)) return false;
    urc_dtype dt = n->in[first]->dtype;
    if (!half_ok(n->op) && is_half(dt) && !urc_reject_half(n, first)) return false;
    if (n->op == URC_OP_MOD && urc_dtype_is_float(dt) && !n->a.binary.fmod) {
        urc_error(where, "Mod on %s needs fmod=1", urc_dtype_name(dt));
        return false;
    }
    /* An integer divisor known at compile time must not hold a 0 (at run
     * time x / 0 and x % 0 give 0: docs/ops.md). */
    if ((n->op == URC_OP_DIV || n->op == URC_OP_MOD) && urc_dtype_is_int(dt) && n->in[1]->data) {
        int64_t nb = urc_shape_numel(&n->in[1]->shape);
        for (int64_t i = 0; i < nb; i++)
            if (urc_elem_i64(dt, n->in[1]->data, i) == 0) {
                urc_error(where, "integer division by zero: element %lld of the divisor '%s' is 0", (long long)i,
                          n->in[1]->name);
                return false;
            }
    }
    urc_shape s = n->in[0]->shape;
    for (int j = 1; j < n->nin; j++) {
        urc_shape o;
        if (!urc_shape_broadcast(&s, &n->in[j]->shape, &o)) {
            urc_error(where, "shapes %s and %s do not broadcast", urc_shape_str(&s), urc_shape_str(&n->in[j]->shape));
            return false;
        }
        s = o;
    }
    if (n->op == URC_OP_PRELU && !urc_shape_eq(&s, &n->in[0]->shape)) {
        urc_error(where, "slope of shape %s does not broadcast to X of shape %s", urc_shape_str(&n->in[1]->shape),
                  urc_shape_str(&n->in[0]->shape));
        return false;
    }
    urc_set_out(n, 0, is_compare(n->op) || is_logic(n->op) ? URC_DT_BOOL : dt, &s);
    return true;
}

/* ---- reference ------------------------------------------------------------ */

static double ref_f(urc_op op, int fmod_flag, double a, double b) {
    (void)fmod_flag;
    switch (op) {
    case URC_OP_ADD:
    case URC_OP_SUM:
    case URC_OP_MEAN: return a + b;
    case URC_OP_SUB: return a - b;
    case URC_OP_MUL: return a * b;
    case URC_OP_DIV: return a / b;
    case URC_OP_POW: return pow(a, b);
    case URC_OP_MOD: return fmod(a, b);
    case URC_OP_PRELU: return a < 0 ? a * b : a;
    case URC_OP_EQUAL: return a == b;
    case URC_OP_LESS: return a < b;
    case URC_OP_LESS_OR_EQUAL: return a <= b;
    case URC_OP_GREATER: return a > b;
    case URC_OP_GREATER_OR_EQUAL: return a >= b;
    case URC_OP_MAX: return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
    case URC_OP_MIN: return isnan(a) || isnan(b) ? NAN : a < b ? a : b;
    default: URC_ASSERT(0, "ref_f: bad op");
    }
    return 0;
}

/* Integer semantics (docs/ops.md): wrap-around, x / 0 = x % 0 = 0, no
 * trap on INT64_MIN / -1 (the urc_wrap_* and urc_int_* helpers of ir.h). */
static int64_t ref_i(urc_op op, int fmod_flag, int64_t a, int64_t b, bool is_unsigned) {
    switch (op) {
    case URC_OP_ADD:
    case URC_OP_SUM:
    case URC_OP_MEAN: return urc_wrap_add(a, b);
    case URC_OP_SUB: return urc_wrap_sub(a, b);
    case URC_OP_MUL: return urc_wrap_mul(a, b);
    case URC_OP_DIV: return urc_int_div(a, b, is_unsigned);
    case URC_OP_MOD: return fmod_flag ? urc_int_rem(a, b, is_unsigned) : urc_int_mod(a, b, is_unsigned);
    case URC_OP_PRELU: return a < 0 ? urc_wrap_mul(a, b) : a;
    case URC_OP_EQUAL: return a == b;
    case URC_OP_LESS: return is_unsigned ? (uint64_t)a < (uint64_t)b : a < b;
    case URC_OP_LESS_OR_EQUAL: return is_unsigned ? (uint64_t)a <= (uint64_t)b : a <= b;
    case URC_OP_GREATER: return is_unsigned ? (uint64_t)a > (uint64_t)b : a > b;
    case URC_OP_GREATER_OR_EQUAL: return is_unsigned ? (uint64_t)a >= (uint64_t)b : a >= b;
    case URC_OP_MAX: return is_unsigned ? ((uint64_t)a > (uint64_t)b ? a : b) : (a > b ? a : b);
    case URC_OP_MIN: return is_unsigned ? ((uint64_t)a < (uint64_t)b ? a : b) : (a < b ? a : b);
    case URC_OP_AND: return a && b;
    case URC_OP_OR: return a || b;
    case URC_OP_XOR: return (a != 0) != (b != 0);
    default: URC_ASSERT(0, "ref_i: bad op");
    }
    return 0;
}

static bool binary_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    urc_tensor *y = out[0];
    int64_t ne = urc_tensor_numel(y);
    int first = n->op == URC_OP_WHERE ? 1 : 0;
    urc_dtype dt = in[first]->dtype;
    bool fl = urc_dtype_is_float(dt), uns = !urc_dtype_is_signed(dt);
    for (int64_t i = 0; i < ne; i++) {
        if (n->op == URC_OP_WHERE) {
            bool c = urc_elem_i64(in[0]->dtype, in[0]->data, urc_bcast_offset(&y->shape, &in[0]->shape, i)) != 0;
            const urc_tensor *src = c ? in[1] : in[2];
            int64_t o = urc_bcast_offset(&y->shape, &src->shape, i);
            if (fl) urc_elem_set_f64(y->dtype, y->data, i, urc_elem_f64(src->dtype, src->data, o));
            else urc_elem_set_i64(y->dtype, y->data, i, urc_elem_i64(src->dtype, src->data, o));
            continue;
        }
        int64_t o0 = urc_bcast_offset(&y->shape, &in[0]->shape, i);
        if (n->op == URC_OP_BIT_SHIFT) { /* unsigned: shifting by the width or more gives 0 (numpy) */
            uint64_t a = (uint64_t)urc_elem_i64(dt, in[0]->data, o0);
            uint64_t b = (uint64_t)urc_elem_i64(dt, in[1]->data, urc_bcast_offset(&y->shape, &in[1]->shape, i));
            uint64_t r = b >= (uint64_t)(8 * urc_dtype_size(dt)) ? 0 : n->a.binary.shift_left ? a << b : a >> b;
            urc_elem_set_i64(y->dtype, y->data, i, (int64_t)r);
            continue;
        }
        if (n->op == URC_OP_POW) {
            double a = urc_elem_f64(in[0]->dtype, in[0]->data, o0);
            int64_t o1 = urc_bcast_offset(&y->shape, &in[1]->shape, i);
            if (!fl && urc_dtype_is_int(in[1]->dtype))
                urc_elem_set_i64(
                    y->dtype, y->data, i,
                    urc_int_pow(urc_elem_i64(dt, in[0]->data, o0), urc_elem_i64(in[1]->dtype, in[1]->data, o1), uns));
            else urc_elem_set_f64(y->dtype, y->data, i, pow(a, urc_elem_f64(in[1]->dtype, in[1]->data, o1)));
            continue;
        }
        if (fl) {
            double acc = urc_elem_f64(dt, in[0]->data, o0);
            for (int j = 1; j < n->nin; j++)
                acc = ref_f(n->op, n->a.binary.fmod, acc,
                            urc_elem_f64(dt, in[j]->data, urc_bcast_offset(&y->shape, &in[j]->shape, i)));
            if (n->op == URC_OP_MEAN) acc /= n->nin;
            urc_elem_set_f64(y->dtype, y->data, i, acc);
        } else {
            int64_t acc = urc_elem_i64(dt, in[0]->data, o0);
            for (int j = 1; j < n->nin; j++)
                acc = ref_i(n->op, n->a.binary.fmod, acc,
                            urc_elem_i64(dt, in[j]->data, urc_bcast_offset(&y->shape, &in[j]->shape, i)), uns);
            if (n->op == URC_OP_MEAN) { /* the sum wraps in the output type, then divides (as the generated code) */
                urc_elem_set_i64(y->dtype, y->data, i, acc);
                acc = urc_int_div(urc_elem_i64(y->dtype, y->data, i), n->nin, uns);
            }
            urc_elem_set_i64(y->dtype, y->data, i, acc);
        }
    }
    return true;
}

/* ---- lowering ------------------------------------------------------------- */

static urc_lx *combine(const urc_node *n, urc_lx *a, urc_lx *b) {
    switch (n->op) {
    case URC_OP_ADD:
    case URC_OP_SUM:
    case URC_OP_MEAN: return urc_lx_bin(URC_L_ADD, a, b);
    case URC_OP_SUB: return urc_lx_bin(URC_L_SUB, a, b);
    case URC_OP_MUL: return urc_lx_bin(URC_L_MUL, a, b);
    case URC_OP_DIV: return urc_lx_bin(URC_L_DIV, a, b);
    case URC_OP_MOD: return urc_lx_bin(n->a.binary.fmod ? URC_L_REM : URC_L_MOD, a, b);
    case URC_OP_PRELU:
        return urc_lx_sel(urc_lx_bin(URC_L_LT, a, urc_lx_const(0, a->dt)), urc_lx_bin(URC_L_MUL, a, b), a);
    case URC_OP_EQUAL: return urc_lx_bin(URC_L_EQ, a, b);
    case URC_OP_LESS: return urc_lx_bin(URC_L_LT, a, b);
    case URC_OP_LESS_OR_EQUAL: return urc_lx_bin(URC_L_LE, a, b);
    case URC_OP_GREATER: return urc_lx_bin(URC_L_GT, a, b);
    case URC_OP_GREATER_OR_EQUAL: return urc_lx_bin(URC_L_GE, a, b);
    case URC_OP_AND: return urc_lx_bin(URC_L_AND, a, b);
    case URC_OP_OR: return urc_lx_bin(URC_L_OR, a, b);
    case URC_OP_XOR: return urc_lx_bin(URC_L_XOR, a, b);
    case URC_OP_MAX: return urc_lx_bin(URC_L_MAX, a, b);
    case URC_OP_MIN: return urc_lx_bin(URC_L_MIN, a, b);
    case URC_OP_BIT_SHIFT: return urc_lx_bin(n->a.binary.shift_left ? URC_L_SHL : URC_L_SHR, a, b);
    default: URC_ASSERT(0, "combine: bad op");
    }
    return NULL;
}

/* Pow with special cases for constant exponents that exporters emit
 * (x^2 in decomposed norms, x^0.5). */
static urc_lx *power(const urc_node *n, urc_lx *a, urc_lx *b) {
    urc_dtype dt = a->dt;
    const urc_value *e = n->in[1];
    if (e->data && urc_shape_numel(&e->shape) == 1 && urc_dtype_is_float(dt)) {
        double v = urc_elem_f64(e->dtype, e->data, 0);
        if (v == 1) return a;
        if (v == 2) return urc_lx_bin(URC_L_MUL, a, a);
        if (v == 3) return urc_lx_bin(URC_L_MUL, urc_lx_bin(URC_L_MUL, a, a), a);
        if (v == 0.5) return urc_lx_un(URC_L_SQRT, a);
    }
    if (urc_dtype_is_float(dt)) return urc_lx_bin(URC_L_POW, a, urc_lx_cast(dt, b));
    /* integer base and exponent: the exponent as int64, as the reference reads it */
    if (urc_dtype_is_int(b->dt)) return urc_lx_bin(URC_L_POW, a, urc_lx_cast(URC_DT_I64, b));
    /* integer base, float exponent: compute in double */
    return urc_lx_cast(dt, urc_lx_bin(URC_L_POW, urc_lx_cast(URC_DT_F64, a), urc_lx_cast(URC_DT_F64, b)));
}

static bool binary_lower(urc_lower *L, const urc_node *n) {
    urc_kernel *k = urc_lower_begin(L, n);
    const urc_value *yv = n->out[0];
    const urc_shape *ys = &yv->shape;
    /* Flat loop when no operand needs broadcasting (one-element constants
     * become literals and do not count). */
    bool flat = true;
    for (int j = 0; j < n->nin; j++) {
        const urc_value *v = n->in[j];
        bool literal = v->data && urc_shape_numel(&v->shape) == 1;
        if (!literal && urc_shape_numel(&v->shape) != urc_shape_numel(ys)) flat = false;
    }
    int by = urc_lower_out(L, k, yv, "y");
    urc_shape fs = {1, {urc_shape_numel(ys)}};
    int iv[URC_MAX_RANK];
    urc_ls *body = urc_loop_nest(k, k->body, flat ? &fs : ys, iv, URC_FOR_PARALLEL);
    urc_lx *ops[64] = {0};
    URC_ASSERT(n->nin <= 64, "too many inputs");
    static const char *names[] = {"a", "b", "c"};
    for (int j = 0; j < n->nin; j++) {
        const urc_value *v = n->in[j];
        urc_lx *idx = flat ? urc_lx_var(k, iv[0]) : urc_index_bcast(k, iv, ys, &v->shape);
        if (v->data && urc_shape_numel(&v->shape) == 1) {
            ops[j] = urc_lower_load(L, k, v, idx);
        } else {
            int b = urc_lower_in(L, k, v, j < 3 ? names[j] : "x");
            ops[j] = urc_lx_load(k, b, idx);
        }
    }
    urc_lx *r;
    if (n->op == URC_OP_WHERE) {
        r = urc_lx_sel(ops[0], ops[1], ops[2]);
    } else if (n->op == URC_OP_POW) {
        r = power(n, ops[0], ops[1]);
    } else {
        bool half = is_half(ops[0]->dt); /* Max, Min, Mod: in float32, rounded back */
        for (int j = 0; half && j < n->nin; j++) ops[j] = urc_lx_cast(URC_DT_F32, ops[j]);
        r = ops[0];
        for (int j = 1; j < n->nin; j++) r = combine(n, r, ops[j]);
        if (n->op == URC_OP_MEAN && n->nin > 1) r = urc_lx_bin(URC_L_DIV, r, urc_lx_const(n->nin, r->dt));
        if (half) r = urc_lx_cast(yv->dtype, r);
    }
    urc_ls_store(body, by, flat ? urc_lx_var(k, iv[0]) : urc_index_vars(k, iv, ys), r);
    return true;
}

const urc_op_impl urc_impl_binary = {binary_parse, binary_infer, binary_eval,
                                     binary_lower, NULL,         .signature_lower = true};
