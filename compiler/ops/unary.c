/* unary.c: elementwise ops with one input (Relu, Erf, Sigmoid, Clip, ...).
 * The activations of ir/act.def (float Relu, LeakyRelu, Sigmoid, Tanh,
 * Gelu) take their value and loop expression from ops/activation.c.
 *
 * One table gives each op its allowed dtypes; one function gives its value
 * (reference, in double) and one its loop expression, side by side so the
 * two can be read against each other. */
#include "activation.h"
#include "common.h"

static unsigned allowed(urc_op op) {
    switch (op) {
    case URC_OP_ABS:
    case URC_OP_SIGN:
    case URC_OP_CLIP: return URC_DTM_NUM;
    case URC_OP_NEG:
    case URC_OP_RELU: return URC_DTM_FLOAT | URC_DTM_SINT;
    case URC_OP_NOT: return URC_DTM_BOOL;
    default: return URC_DTM_FLOAT;
    }
}

static bool unary_parse(urc_node *n, urc_attr_list *l) {
    urc_unary_attr *a = &n->a.unary;
    bool ok = true;
    switch (n->op) {
    case URC_OP_LEAKY_RELU: ok = urc_attr_float(l, "alpha", 0.01, &a->alpha); break;
    case URC_OP_ELU:
    case URC_OP_CELU:
    case URC_OP_THRESHOLDED_RELU:
        ok = urc_attr_float(l, "alpha", 1.0, &a->alpha);
        if (ok && n->op == URC_OP_CELU && a->alpha == 0) { /* Celu divides by alpha */
            urc_error(l->where, "attribute 'alpha' must not be 0");
            ok = false;
        }
        break;
    case URC_OP_SELU:
        ok = urc_attr_float(l, "alpha", 1.67326319217681884765625, &a->alpha) &&
             urc_attr_float(l, "gamma", 1.05070102214813232421875, &a->gamma);
        break;
    case URC_OP_HARD_SIGMOID:
        ok = urc_attr_float(l, "alpha", 0.2, &a->alpha) && urc_attr_float(l, "beta", 0.5, &a->beta);
        break;
    case URC_OP_SHRINK: /* alpha = lambd, beta = bias */
        ok = urc_attr_float(l, "lambd", 0.5, &a->alpha) && urc_attr_float(l, "bias", 0.0, &a->beta);
        break;
    case URC_OP_GELU: {
        const char *s;
        ok = urc_attr_string(l, "approximate", "none", &s);
        if (ok && strcmp(s, "none") && strcmp(s, "tanh")) {
            urc_error(l->where, "attribute 'approximate' must be \"none\" or \"tanh\", got \"%s\"", s);
            ok = false;
        }
        a->approximate = ok && !strcmp(s, "tanh");
        break;
    }
    case URC_OP_ISINF: {
        int64_t neg = 1, pos = 1; /* pos is left unset when reading detect_negative fails */
        ok = urc_attr_int(l, "detect_negative", 1, &neg) && urc_attr_int(l, "detect_positive", 1, &pos);
        a->detect_negative = neg != 0;
        a->detect_positive = pos != 0;
        break;
    }
    case URC_OP_CLIP:
        if (urc_attr_has(l, "min") || urc_attr_has(l, "max")) {
            urc_error(l->where, "Clip with min/max attributes is opset < 11; re-export with a newer opset");
            ok = false;
        }
        break;
    default: break;
    }
    return ok;
}

static bool unary_infer(urc_node *n) {
    if (!urc_check_dtype(n, 0, allowed(n->op))) return false;
    if (n->op != URC_OP_NOT && n->op != URC_OP_ABS && n->op != URC_OP_NEG && !urc_reject_half(n, 0)) return false;
    urc_unary_attr *a = &n->a.unary;
    if (n->op == URC_OP_CLIP) {
        a->has_min = a->has_max = false;
        for (int j = 1; j < n->nin; j++) {
            const urc_value *b = n->in[j];
            if (!b) continue;
            if (b->dtype != n->in[0]->dtype || urc_shape_numel(&b->shape) != 1) {
                urc_error(urc_node_where(n), "Clip bound %d must be a one-element %s tensor", j,
                          urc_dtype_name(n->in[0]->dtype));
                return false;
            }
            if (j == 1) a->has_min = true;
            else a->has_max = true;
            if (b->data) {
                double v = urc_elem_f64(b->dtype, b->data, 0);
                if (isnan(v)) { /* an infinite bound is no bound; a NaN one means nothing */
                    urc_error(urc_node_where(n), "%s ('%s') is NaN", j == 1 ? "min" : "max", b->name);
                    return false;
                }
                if (j == 1) a->min = v;
                else a->max = v;
            }
        }
    }
    urc_dtype out = n->in[0]->dtype;
    if (n->op == URC_OP_ISNAN || n->op == URC_OP_ISINF) out = URC_DT_BOOL;
    urc_set_out(n, 0, out, &n->in[0]->shape);
    return true;
}

static double sgn(double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }

/* Reference value of op at x (float dtypes; integer ops below). */
static double unary_ref(const urc_node *n, double x, double lo, double hi) {
    const urc_unary_attr *a = &n->a.unary;
    double alpha;
    urc_act act = urc_act_of(n, &alpha);
    if (act != URC_ACT_NONE) return urc_act_ref(act, alpha, x); /* Relu, LeakyRelu, Sigmoid, Tanh, Gelu */
    switch (n->op) {
    case URC_OP_ABS: return fabs(x);
    case URC_OP_NEG: return -x;
    case URC_OP_SQRT: return sqrt(x);
    case URC_OP_EXP: return exp(x);
    case URC_OP_LOG: return log(x);
    case URC_OP_ERF: return erf(x);
    case URC_OP_RECIPROCAL: return 1.0 / x;
    case URC_OP_FLOOR: return floor(x);
    case URC_OP_CEIL: return ceil(x);
    case URC_OP_ROUND: return nearbyint(x);
    case URC_OP_SIGN: return sgn(x);
    case URC_OP_SIN: return sin(x);
    case URC_OP_COS: return cos(x);
    case URC_OP_TAN: return tan(x);
    case URC_OP_ASIN: return asin(x);
    case URC_OP_ACOS: return acos(x);
    case URC_OP_ATAN: return atan(x);
    case URC_OP_SINH: return sinh(x);
    case URC_OP_COSH: return cosh(x);
    case URC_OP_ASINH: return asinh(x);
    case URC_OP_ACOSH: return acosh(x);
    case URC_OP_ATANH: return atanh(x);
    case URC_OP_ISNAN: return isnan(x);
    case URC_OP_ISINF: return isinf(x) && ((x > 0 && a->detect_positive) || (x < 0 && a->detect_negative));
    case URC_OP_ELU: return x >= 0 ? x : a->alpha * (exp(x) - 1);
    case URC_OP_SELU: return a->gamma * (x > 0 ? x : a->alpha * (exp(x) - 1));
    case URC_OP_CELU: return fmax(0, x) + fmin(0, a->alpha * (exp(x / a->alpha) - 1));
    case URC_OP_THRESHOLDED_RELU: return x > a->alpha ? x : 0;
    case URC_OP_HARD_SIGMOID: return fmax(0, fmin(1, a->alpha * x + a->beta));
    case URC_OP_SHRINK: return x < -a->alpha ? x + a->beta : x > a->alpha ? x - a->beta : 0;
    case URC_OP_HARD_SWISH: return x * fmax(0, fmin(1, x / 6 + 0.5));
    case URC_OP_SOFTPLUS: return fmax(x, 0) + log1p(exp(-fabs(x)));
    case URC_OP_SOFTSIGN: return x / (1 + fabs(x));
    case URC_OP_CLIP: {
        if (isnan(x)) return x;
        double y = x;
        if (a->has_min && y < lo) y = lo;
        if (a->has_max && y > hi) y = hi;
        return y;
    }
    default: URC_ASSERT(0, "unary_ref: not a unary op");
    }
    return 0;
}

static int64_t unary_ref_int(const urc_node *n, int64_t x, int64_t lo, int64_t hi) {
    const urc_unary_attr *a = &n->a.unary;
    switch (n->op) {
    case URC_OP_ABS: return x < 0 ? urc_wrap_neg(x) : x; /* INT64_MIN stays INT64_MIN (wraps, as numpy) */
    case URC_OP_NEG: return urc_wrap_neg(x);
    case URC_OP_SIGN: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case URC_OP_RELU: return x > 0 ? x : 0;
    case URC_OP_NOT: return !x;
    case URC_OP_CLIP: {
        int64_t y = x;
        if (n->in[0]->dtype == URC_DT_U64) { /* bit patterns of uint64: compare unsigned */
            if (a->has_min && (uint64_t)y < (uint64_t)lo) y = lo;
            if (a->has_max && (uint64_t)y > (uint64_t)hi) y = hi;
            return y;
        }
        if (a->has_min && y < lo) y = lo;
        if (a->has_max && y > hi) y = hi;
        return y;
    }
    default: URC_ASSERT(0, "unary_ref_int: not an integer op");
    }
    return 0;
}

static bool unary_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *x = in[0];
    urc_tensor *y = out[0];
    int64_t ne = urc_tensor_numel(x);
    if (urc_dtype_is_float(x->dtype)) {
        double lo = n->nin > 1 && in[1] ? urc_elem_f64(in[1]->dtype, in[1]->data, 0) : 0;
        double hi = n->nin > 2 && in[2] ? urc_elem_f64(in[2]->dtype, in[2]->data, 0) : 0;
        for (int64_t i = 0; i < ne; i++)
            urc_elem_set_f64(y->dtype, y->data, i, unary_ref(n, urc_elem_f64(x->dtype, x->data, i), lo, hi));
    } else {
        int64_t lo = n->nin > 1 && in[1] ? urc_elem_i64(in[1]->dtype, in[1]->data, 0) : 0;
        int64_t hi = n->nin > 2 && in[2] ? urc_elem_i64(in[2]->dtype, in[2]->data, 0) : 0;
        bool u = !urc_dtype_is_signed(x->dtype) && x->dtype == URC_DT_U64;
        for (int64_t i = 0; i < ne; i++) {
            int64_t v = urc_elem_i64(x->dtype, x->data, i);
            if (u && n->op == URC_OP_ABS) { /* uint64 above INT64_MAX: identity */
                urc_elem_set_i64(y->dtype, y->data, i, v);
                continue;
            }
            urc_elem_set_i64(y->dtype, y->data, i, unary_ref_int(n, v, lo, hi));
        }
    }
    return true;
}

/* ---- lowering ----------------------------------------------------------- */

static urc_lx *F(double v, urc_dtype dt) { return urc_lx_const(v, dt); }
static urc_lx *bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_bin(op, a, b); }
static urc_lx *un(urc_lop op, urc_lx *a) { return urc_lx_un(op, a); }

/* The loop expression of op at x; lo/hi are Clip's bounds (or NULL). */
static urc_lx *unary_expr(const urc_node *n, urc_lx *x, urc_lx *lo, urc_lx *hi) {
    const urc_unary_attr *a = &n->a.unary;
    urc_dtype dt = x->dt;
    double alpha;
    urc_act act = urc_act_of(n, &alpha);
    if (act != URC_ACT_NONE)
        return urc_act_lx(NULL, NULL, act, alpha, x); /* float Relu, LeakyRelu, Sigmoid, Tanh, Gelu */
    switch (n->op) {
    case URC_OP_ABS:
        if (!urc_dtype_is_signed(dt)) return x;
        return un(URC_L_ABS, x);
    case URC_OP_NEG: return un(URC_L_NEG, x);
    case URC_OP_SQRT: return un(URC_L_SQRT, x);
    case URC_OP_EXP: return un(URC_L_EXP, x);
    case URC_OP_LOG: return un(URC_L_LOG, x);
    case URC_OP_ERF: return un(URC_L_ERF, x);
    case URC_OP_RECIPROCAL: return bin(URC_L_DIV, F(1, dt), x);
    case URC_OP_FLOOR: return un(URC_L_FLOOR, x);
    case URC_OP_CEIL: return un(URC_L_CEIL, x);
    case URC_OP_ROUND: return un(URC_L_RINT, x);
    case URC_OP_SIGN:
        if (!urc_dtype_is_signed(dt)) return urc_lx_sel(bin(URC_L_GT, x, F(0, dt)), F(1, dt), F(0, dt));
        return urc_lx_sel(bin(URC_L_GT, x, F(0, dt)), F(1, dt),
                          urc_lx_sel(bin(URC_L_LT, x, F(0, dt)), F(-1, dt), F(0, dt)));
    case URC_OP_SIN: return un(URC_L_SIN, x);
    case URC_OP_COS: return un(URC_L_COS, x);
    case URC_OP_TAN: return un(URC_L_TAN, x);
    case URC_OP_ASIN: return un(URC_L_ASIN, x);
    case URC_OP_ACOS: return un(URC_L_ACOS, x);
    case URC_OP_ATAN: return un(URC_L_ATAN, x);
    case URC_OP_SINH: return un(URC_L_SINH, x);
    case URC_OP_COSH: return un(URC_L_COSH, x);
    case URC_OP_ASINH: return un(URC_L_ASINH, x);
    case URC_OP_ACOSH: return un(URC_L_ACOSH, x);
    case URC_OP_ATANH: return un(URC_L_ATANH, x);
    case URC_OP_NOT: return un(URC_L_NOT, x);
    case URC_OP_ISNAN: return un(URC_L_ISNAN, x);
    case URC_OP_ISINF: {
        urc_lx *inf = un(URC_L_ISINF, x);
        if (a->detect_positive && a->detect_negative) return inf;
        if (!a->detect_positive && !a->detect_negative) return urc_lx_const(0, URC_DT_BOOL);
        return bin(URC_L_AND, inf, bin(a->detect_positive ? URC_L_GT : URC_L_LT, x, F(0, dt)));
    }
    case URC_OP_RELU: return urc_lx_sel(bin(URC_L_GT, x, F(0, dt)), x, F(0, dt)); /* integers */
    case URC_OP_ELU:
        return urc_lx_sel(bin(URC_L_GE, x, F(0, dt)), x, bin(URC_L_MUL, F(a->alpha, dt), un(URC_L_EXPM1, x)));
    case URC_OP_SELU:
        return bin(URC_L_MUL, F(a->gamma, dt),
                   urc_lx_sel(bin(URC_L_GT, x, F(0, dt)), x, bin(URC_L_MUL, F(a->alpha, dt), un(URC_L_EXPM1, x))));
    case URC_OP_CELU:
        return bin(URC_L_ADD, bin(URC_L_MAX, x, F(0, dt)),
                   bin(URC_L_MIN, F(0, dt),
                       bin(URC_L_MUL, F(a->alpha, dt), un(URC_L_EXPM1, bin(URC_L_DIV, x, F(a->alpha, dt))))));
    case URC_OP_THRESHOLDED_RELU: return urc_lx_sel(bin(URC_L_GT, x, F(a->alpha, dt)), x, F(0, dt));
    case URC_OP_SHRINK:
        return urc_lx_sel(bin(URC_L_LT, x, F(-a->alpha, dt)), bin(URC_L_ADD, x, F(a->beta, dt)),
                          urc_lx_sel(bin(URC_L_GT, x, F(a->alpha, dt)), bin(URC_L_SUB, x, F(a->beta, dt)), F(0, dt)));
    case URC_OP_HARD_SIGMOID:
        return bin(URC_L_MAX, F(0, dt),
                   bin(URC_L_MIN, F(1, dt), bin(URC_L_ADD, bin(URC_L_MUL, F(a->alpha, dt), x), F(a->beta, dt))));
    case URC_OP_HARD_SWISH:
        return bin(URC_L_MUL, x,
                   bin(URC_L_MAX, F(0, dt),
                       bin(URC_L_MIN, F(1, dt), bin(URC_L_ADD, bin(URC_L_DIV, x, F(6, dt)), F(0.5, dt)))));
    case URC_OP_SOFTPLUS:
        return bin(URC_L_ADD, bin(URC_L_MAX, x, F(0, dt)),
                   un(URC_L_LOG1P, un(URC_L_EXP, un(URC_L_NEG, un(URC_L_ABS, x)))));
    case URC_OP_SOFTSIGN: return bin(URC_L_DIV, x, bin(URC_L_ADD, F(1, dt), un(URC_L_ABS, x)));
    case URC_OP_CLIP: {
        /* NaN passes through; bounds applied as max then min (numpy.clip). */
        urc_lx *y = x;
        if (lo) y = urc_lx_sel(bin(URC_L_LT, y, lo), lo, y);
        if (hi) y = urc_lx_sel(bin(URC_L_GT, y, hi), hi, y);
        return y;
    }
    default: URC_ASSERT(0, "unary_expr: not a unary op");
    }
    return NULL;
}

static bool unary_lower(urc_lower *L, const urc_node *n) {
    urc_kernel *k = urc_lower_begin(L, n);
    const urc_value *xv = n->in[0], *yv = n->out[0];
    int bx = urc_lower_in(L, k, xv, "x");
    int by = urc_lower_out(L, k, yv, "y");
    urc_lx *i;
    urc_ls *body = urc_flat_loop(k, &yv->shape, &i);
    urc_lx *lo = NULL, *hi = NULL;
    if (n->op == URC_OP_CLIP) {
        if (n->nin > 1 && n->in[1]) lo = urc_lower_load(L, k, n->in[1], urc_lx_int(0));
        if (n->nin > 2 && n->in[2]) hi = urc_lower_load(L, k, n->in[2], urc_lx_int(0));
    }
    urc_ls_store(body, by, i, unary_expr(n, urc_lx_load(k, bx, i), lo, hi));
    return true;
}

static void unary_print(const urc_node *n, urc_strbuf *sb) {
    const urc_unary_attr *a = &n->a.unary;
    switch (n->op) {
    case URC_OP_LEAKY_RELU:
    case URC_OP_ELU:
    case URC_OP_CELU:
    case URC_OP_THRESHOLDED_RELU: urc_sb_printf(sb, " alpha=%g", a->alpha); break;
    case URC_OP_GELU: urc_sb_printf(sb, " approximate=%s", a->approximate ? "tanh" : "none"); break;
    case URC_OP_SHRINK: urc_sb_printf(sb, " lambd=%g bias=%g", a->alpha, a->beta); break;
    default: break;
    }
}

const urc_op_impl urc_impl_unary = {unary_parse, unary_infer, unary_eval,
                                    unary_lower, unary_print, .signature_lower = true};
