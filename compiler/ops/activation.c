/* activation.c: the activations of ir/act.def, and the ops unetrc.Act and
 * unetrc.ActGrad.
 *
 * act.def writes each activation's value and gradient once, in a small
 * expression language; the X-macros below expand it into a double (the
 * reference) and into loop IR (the generated code), so the two cannot
 * disagree and every user (fused conv, Winograd, matmul and norm
 * epilogues, the unary ops, the gradient op) reads the same line.
 *
 *   unetrc.Act(X) -> Y         Y = act(X)                  (act, alpha)
 *   unetrc.ActGrad(X, dY) -> dX = dY act'(X)               (act, alpha)
 *
 * Vectorisable forms (float32 with a place for locals): e^a for a <= 0 by
 * its Taylor polynomial times 2^n built from its bits; sigmoid from
 * e = e^-|a| as a >= 0 ? 1 / (1 + e) : e / (1 + e) (no overflow, and NaN
 * stays NaN); erf by Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7,
 * about float32's rounding of erf near 1) over the same exp. */
#include "activation.h"

#include "common.h"

static const struct {
    const char *name;
    bool param;
} act_info[URC_ACT_COUNT] = {
#define URC_ACT(ID, NAME, PARAM, Y, DX) [URC_ACT_##ID] = {NAME, PARAM},
#include "../ir/act.def"
#undef URC_ACT
};

bool urc_act_valid(int act) { return act >= 0 && act < URC_ACT_COUNT; }
bool urc_act_has_param(urc_act act) { return urc_act_valid(act) && act_info[act].param; }
const char *urc_act_name(urc_act act) { return urc_act_valid(act) ? act_info[act].name : "?"; }

void urc_act_print(urc_strbuf *sb, const char *key, urc_act act, double alpha) {
    if (urc_act_has_param(act)) urc_sb_printf(sb, " %s=%s(%g)", key, urc_act_name(act), alpha);
    else urc_sb_printf(sb, " %s=%s", key, urc_act_name(act));
}

/* One constant slope: every element of s equal (or NULL). */
static bool uniform(const urc_value *s, double *v) {
    int64_t ne = urc_shape_numel(&s->shape);
    if (!s->data || ne < 1 || !urc_dtype_is_float(s->dtype)) return false;
    *v = urc_elem_f64(s->dtype, s->data, 0);
    for (int64_t i = 1; i < ne; i++)
        if (urc_elem_f64(s->dtype, s->data, i) != *v) return false;
    return true;
}

urc_act urc_act_of(const urc_node *n, double *alpha) {
    if (!n || n->nout != 1 || !n->out[0] || n->nin < 1 || !n->in[0] || !urc_dtype_is_float(n->in[0]->dtype))
        return URC_ACT_NONE;
    *alpha = 0;
    switch (n->op) {
    case URC_OP_RELU: return URC_ACT_RELU;
    case URC_OP_LEAKY_RELU: *alpha = n->a.unary.alpha; return URC_ACT_LEAKY_RELU;
    case URC_OP_SIGMOID: return URC_ACT_SIGMOID;
    case URC_OP_TANH: return URC_ACT_TANH;
    case URC_OP_GELU: return n->a.unary.approximate ? URC_ACT_GELU_TANH : URC_ACT_GELU;
    case URC_OP_ACT: *alpha = n->a.act.alpha; return (urc_act)n->a.act.act;
    case URC_OP_PRELU: /* x < 0 ? slope x : x with one slope is LeakyRelu */
        if (n->nin != 2 || !n->in[1] || n->in[1]->shape.rank > n->in[0]->shape.rank || !uniform(n->in[1], alpha) ||
            !urc_shape_eq(&n->out[0]->shape, &n->in[0]->shape))
            return URC_ACT_NONE;
        return URC_ACT_LEAKY_RELU;
    default: return URC_ACT_NONE;
    }
}

bool urc_act_match(const urc_node *n, const urc_value *x, urc_act *act, double *alpha) {
    if (!n || n->nin < 1 || n->in[0] != x) return false;
    *act = urc_act_of(n, alpha);
    return *act != URC_ACT_NONE;
}

/* ---- the reference: act.def in double ------------------------------------- */

/* MAX/MIN propagate NaN, as URC_L_MAX/URC_L_MIN. */
static double ref_max(double p, double q) { return isnan(p) ? p : isnan(q) ? q : p > q ? p : q; }
static double ref_min(double p, double q) { return isnan(p) ? p : isnan(q) ? q : p < q ? p : q; }

#define X x
#define A alpha
#define D dy
#define K(c) ((double)(c))
#define ADD(p, q) ((p) + (q))
#define SUB(p, q) ((p) - (q))
#define MUL(p, q) ((p) * (q))
#define DIV(p, q) ((p) / (q))
#define NEG(p) (-(p))
#define MAX(p, q) ref_max(p, q)
#define MIN(p, q) ref_min(p, q)
#define GT(p, q) ((p) > (q))
#define GE(p, q) ((p) >= (q))
#define SEL(c, p, q) ((c) ? (p) : (q))
#define A_LE1(p, q) (alpha <= 1 ? (p) : (q))
#define SIGM(p) (1 / (1 + exp(-(p))))
#define ERF(p) erf(p)
#define TANH(p) tanh(p)
#define EXPN(p) exp(p)

/* y = act(x), or with `grad` dx = dy act'(x) */
static double ref(urc_act act, double alpha, double x, double dy, bool grad) {
    switch (act) {
#define URC_ACT(ID, NAME, PARAM, Y, DX)                                                                                \
    case URC_ACT_##ID:                                                                                                 \
        return grad ? (DX) : (Y);
#include "../ir/act.def"
#undef URC_ACT
    default: URC_ASSERT(0, "unknown activation");
    }
    return x;
}

double urc_act_ref(urc_act act, double alpha, double x) { return ref(act, alpha, x, 0, false); }
double urc_act_grad_ref(urc_act act, double alpha, double x, double dy) { return ref(act, alpha, x, dy, true); }

#undef X
#undef A
#undef D
#undef K
#undef ADD
#undef SUB
#undef MUL
#undef DIV
#undef NEG
#undef MAX
#undef MIN
#undef GT
#undef GE
#undef SEL
#undef A_LE1
#undef SIGM
#undef ERF
#undef TANH
#undef EXPN

/* ---- the generated code: act.def in loop IR ---------------------------------- */

typedef struct emit {
    urc_kernel *k;
    urc_ls *at; /* where locals go, or NULL */
    urc_dtype dt;
    bool fast; /* float32 with `at`: the vectorisable forms */
    double alpha;
    urc_lx *x, *dy;
} emit;

static urc_lx *bin(urc_lop op, urc_lx *p, urc_lx *q) { return urc_lx_bin(op, p, q); }
static urc_lx *lit(const emit *e, double v) { return urc_lx_const(v, e->dt); }

/* v as a local when it is used more than once (a variable or literal as it is). */
static urc_lx *once(const emit *e, const char *hint, urc_lx *v) {
    if (!e->at || v->kind == URC_LX_VAR || v->kind == URC_LX_INT || v->kind == URC_LX_FLT) return v;
    int var = urc_kernel_var(e->k, hint, v->dt);
    urc_ls_decl(e->at, var, v);
    return urc_lx_var(e->k, var);
}

urc_lx *urc_fast_exp_nonpos(urc_kernel *k, urc_ls *at, urc_lx *x) {
    emit e = {k, at, URC_DT_F32, true, 0, NULL, NULL};
    urc_lx *xv = once(&e, "ex", x);
    /* clamped to -87 (2^n stays a normal number; NaN becomes -87 and is put back at the end) */
    urc_lx *xc = urc_lx_sel(bin(URC_L_GT, xv, lit(&e, -87)), xv, lit(&e, -87));
    /* x log2(e) = n + f, n rounded to nearest by adding and subtracting 1.5 * 2^23, |f| <= 1/2 */
    urc_lx *t = once(&e, "et", bin(URC_L_MUL, xc, lit(&e, 1.4426950408889634)));
    urc_lx *magic = lit(&e, 12582912.0);
    urc_lx *n = once(&e, "en", bin(URC_L_SUB, bin(URC_L_ADD, t, magic), magic));
    urc_lx *f = once(&e, "ef", bin(URC_L_MUL, bin(URC_L_SUB, t, n), lit(&e, 0.6931471805599453)));
    /* e^(f ln 2), |f ln 2| <= 0.35: Taylor polynomial of degree 7 (relative error < 1e-8 before rounding) */
    static const double coef[8] = {1, 1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040};
    urc_lx *p = lit(&e, coef[7]);
    for (int i = 6; i >= 0; i--) p = urc_lx_fma(p, f, lit(&e, coef[i]));
    /* 2^n, n in [-126, 0], as the float32 whose exponent field is n + 127 */
    urc_lx *field =
        urc_lx_inrange(bin(URC_L_ADD, urc_lx_inrange(urc_lx_cast(URC_DT_I32, n)), urc_lx_const(127, URC_DT_I32)));
    urc_lx *two_n = urc_lx_un(URC_L_BITS_F32, urc_lx_inrange(bin(URC_L_MUL, field, urc_lx_const(1 << 23, URC_DT_I32))));
    return urc_lx_sel(bin(URC_L_NE, xv, xv), xv, bin(URC_L_MUL, p, two_n));
}

static urc_lx *l_expn(const emit *e, urc_lx *p) {
    return e->fast ? urc_fast_exp_nonpos(e->k, e->at, p) : urc_lx_un(URC_L_EXP, p);
}

static urc_lx *l_sigm(const emit *e, urc_lx *p) {
    if (!e->fast)
        return bin(URC_L_DIV, lit(e, 1), bin(URC_L_ADD, lit(e, 1), urc_lx_un(URC_L_EXP, urc_lx_un(URC_L_NEG, p))));
    urc_lx *a = once(e, "sa", p);
    urc_lx *ex = once(e, "se", l_expn(e, urc_lx_un(URC_L_NEG, urc_lx_un(URC_L_ABS, a))));
    urc_lx *r = once(e, "sr", bin(URC_L_DIV, lit(e, 1), bin(URC_L_ADD, lit(e, 1), ex)));
    return urc_lx_sel(bin(URC_L_GE, a, lit(e, 0)), r, bin(URC_L_MUL, ex, r));
}

/* erf(z) = sign(z) (1 - t (a1 + t (a2 + ... a5 t)) e^-z^2), t = 1 / (1 + p |z|) */
static urc_lx *l_erf(const emit *e, urc_lx *p) {
    if (!e->fast) return urc_lx_un(URC_L_ERF, p);
    urc_lx *z = once(e, "gz", p);
    urc_lx *az = once(e, "ga", urc_lx_un(URC_L_ABS, z));
    urc_lx *t = once(e, "gq", bin(URC_L_DIV, lit(e, 1), urc_lx_fma(lit(e, 0.3275911), az, lit(e, 1))));
    static const double a[5] = {0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429};
    urc_lx *poly = lit(e, a[4]);
    for (int i = 3; i >= 0; i--) poly = urc_lx_fma(poly, t, lit(e, a[i]));
    poly = bin(URC_L_MUL, poly, t);
    urc_lx *ex = urc_fast_exp_nonpos(e->k, e->at, urc_lx_un(URC_L_NEG, bin(URC_L_MUL, az, az)));
    urc_lx *y = once(e, "gy", bin(URC_L_SUB, lit(e, 1), bin(URC_L_MUL, poly, ex)));
    return urc_lx_sel(bin(URC_L_LT, z, lit(e, 0)), urc_lx_un(URC_L_NEG, y), y);
}

#define X e->x
#define A lit(e, e->alpha)
#define D e->dy
#define K(c) lit(e, c)
#define ADD(p, q) bin(URC_L_ADD, p, q)
#define SUB(p, q) bin(URC_L_SUB, p, q)
#define MUL(p, q) bin(URC_L_MUL, p, q)
#define DIV(p, q) bin(URC_L_DIV, p, q)
#define NEG(p) urc_lx_un(URC_L_NEG, p)
#define MAX(p, q) bin(URC_L_MAX, p, q)
#define MIN(p, q) bin(URC_L_MIN, p, q)
#define GT(p, q) bin(URC_L_GT, p, q)
#define GE(p, q) bin(URC_L_GE, p, q)
#define SEL(c, p, q) urc_lx_sel(c, p, q)
#define A_LE1(p, q) (e->alpha <= 1 ? (p) : (q))
#define SIGM(p) l_sigm(e, p)
#define ERF(p) l_erf(e, p)
#define TANH(p) urc_lx_un(URC_L_TANH, p)
#define EXPN(p) l_expn(e, p)

/* act(x), or with `grad` dy act'(x), for e->x and e->dy */
static urc_lx *lx(const emit *e, urc_act act, bool grad) {
    switch (act) {
#define URC_ACT(ID, NAME, PARAM, Y, DX)                                                                                \
    case URC_ACT_##ID:                                                                                                 \
        return grad ? (DX) : (Y);
#include "../ir/act.def"
#undef URC_ACT
    default: URC_ASSERT(0, "unknown activation");
    }
    return e->x;
}

static emit emit_ctx(urc_kernel *k, urc_ls *at, double alpha, urc_lx *x) {
    emit e = {k, at, x->dt, at && x->dt == URC_DT_F32, alpha, NULL, NULL};
    return e;
}

urc_lx *urc_act_lx(urc_kernel *k, urc_ls *at, urc_act act, double alpha, urc_lx *x) {
    if (act == URC_ACT_NONE) return x;
    emit e = emit_ctx(k, at, alpha, x);
    e.x = act == URC_ACT_RELU ? x : once(&e, "t", x);
    return lx(&e, act, false);
}

urc_lx *urc_act_grad_lx(urc_kernel *k, urc_ls *at, urc_act act, double alpha, urc_lx *x, urc_lx *dy) {
    emit e = emit_ctx(k, at, alpha, x);
    e.x = once(&e, "t", x);
    e.dy = once(&e, "dy", dy);
    return lx(&e, act, true);
}

/* ---- unetrc.Act, unetrc.ActGrad ---------------------------------------------- */

static bool act_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    if (!urc_act_valid(n->a.act.act)) {
        urc_error(where, "internal: unknown activation %d", n->a.act.act);
        return false;
    }
    if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0)) return false;
    if (n->op == URC_OP_ACT_GRAD) {
        if (!urc_check_same_dtype(n, 0, 1)) return false;
        if (!urc_shape_eq(&n->in[0]->shape, &n->in[1]->shape)) {
            urc_error(where, "dY %s must have X's shape %s", urc_shape_str(&n->in[1]->shape),
                      urc_shape_str(&n->in[0]->shape));
            return false;
        }
    }
    urc_set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return true;
}

static bool act_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *x = in[0];
    urc_tensor *y = out[0];
    urc_act act = (urc_act)n->a.act.act;
    double alpha = n->a.act.alpha;
    int64_t ne = urc_tensor_numel(x);
    for (int64_t i = 0; i < ne; i++) {
        double v = urc_elem_f64(x->dtype, x->data, i);
        double r = n->op == URC_OP_ACT ? urc_act_ref(act, alpha, v)
                                       : urc_act_grad_ref(act, alpha, v, urc_elem_f64(in[1]->dtype, in[1]->data, i));
        urc_elem_set_f64(y->dtype, y->data, i, r);
    }
    return true;
}

static bool act_lower(urc_lower *L, const urc_node *n) {
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x");
    int bd = n->op == URC_OP_ACT_GRAD ? urc_lower_in(L, k, n->in[1], "dy") : -1;
    int by = urc_lower_out(L, k, n->out[0], "y");
    urc_lx *i;
    urc_ls *body = urc_flat_loop(k, &n->out[0]->shape, &i);
    urc_lx *x = urc_lx_load(k, bx, i);
    urc_act act = (urc_act)n->a.act.act;
    double alpha = n->a.act.alpha;
    urc_lx *v =
        bd < 0 ? urc_act_lx(k, body, act, alpha, x) : urc_act_grad_lx(k, body, act, alpha, x, urc_lx_load(k, bd, i));
    urc_ls_store(body, by, i, v);
    return true;
}

static void act_print(const urc_node *n, urc_strbuf *sb) {
    urc_act_print(sb, "act", (urc_act)n->a.act.act, n->a.act.alpha);
}

const urc_op_impl urc_impl_act = {NULL, act_infer, act_eval, act_lower, act_print, .signature_lower = true};
