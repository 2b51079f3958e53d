/* quant.c: linear quantisation. QuantizeLinear and DequantizeLinear (ONNX,
 * opset 10 per tensor, 13 along an axis; int8/uint8, x of QuantizeLinear
 * float32 or int32, of DequantizeLinear int8/uint8/int32):
 *
 *   QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
 *                     (to [-128, 127] or [0, 255]; the output type is the
 *                     zero point's, uint8 without one)
 *   DequantizeLinear: y = (x - zero_point) * scale   (float32)
 *
 * scale and zero point are scalars (or one element) or 1-D along `axis`
 * (default 1); either may be a run-time input. The arithmetic is float32,
 * as ONNX's reference: x / scale rounded to float32, then rounded to an
 * integer; (x - zero_point) in float32, times scale. NaN quantises to 0.
 *
 * unetrc.FakeQuant, the int8 fake quantisation of an activation
 * (--precision int8; passes/precision.c inserts it before the data input
 * of each product with int8 weights):
 *
 *   y = scale * clamp(round_half_even(x / scale), lo, hi)
 *
 * with 256 levels at most (hi - lo <= 255) that include 0 (lo <= 0 <= hi):
 * the symmetric [-127, 127], or uint8 with zero point -lo (calibration
 * places [lo, hi] over the calibrated [min, max]), in float32 arithmetic
 * (x / scale and the product each rounded to float32,
 * as the generated code computes them: the interpreter gives the same
 * bits). NaN stays NaN; +inf becomes hi * scale, -inf lo * scale. One
 * elementwise kernel reads x and writes y (no int8 intermediate: a
 * QuantizeLinear + DequantizeLinear pair would cost an int8 buffer and a
 * second pass). */
#include "quant.h"

#include <math.h>

static bool quant_parse(urc_node *n, urc_attr_list *l) {
    int64_t sat;
    return urc_attr_int(l, "axis", 1, &n->a.quant.axis) &&
           urc_attr_int(l, "saturate", 1, &sat); /* (float8 outputs only, opset 19: none here) */
}

/* Q/DQ: checks scale (input 1) and zero point (input 2, optional) against x's axis. */
static bool qdq_params(urc_node *n) {
    const urc_value *x = n->in[0], *s = n->in[1], *z = n->nin > 2 ? n->in[2] : NULL;
    const char *where = urc_fmt("node '%s'", n->name);
    if (s->dtype != URC_DT_F32) {
        urc_error(where, "%s: scale must be float32, got %s", urc_ops[n->op].name, urc_dtype_name(s->dtype));
        return false;
    }
    int64_t ns = urc_shape_numel(&s->shape);
    if (s->shape.rank > 1 || (s->shape.rank == 1 && ns != 1)) {
        if (!urc_norm_axis(n, n->a.quant.axis, x->shape.rank, &n->a.quant.axis)) return false;
        if (s->shape.rank != 1 || ns != x->shape.dims[n->a.quant.axis]) {
            urc_error(where, "%s: scale of shape %s fits neither one element nor axis %lld of x %s",
                      urc_ops[n->op].name, urc_shape_str(&s->shape), (long long)n->a.quant.axis,
                      urc_shape_str(&x->shape));
            return false;
        }
    } else n->a.quant.axis = -1; /* per tensor */
    if (z && !urc_shape_eq(&z->shape, &s->shape) && !(urc_shape_numel(&z->shape) == 1 && ns == 1)) {
        urc_error(where, "%s: zero point of shape %s, scale %s", urc_ops[n->op].name, urc_shape_str(&z->shape),
                  urc_shape_str(&s->shape));
        return false;
    }
    return true;
}

static bool quant_infer(urc_node *n) {
    const char *where = urc_fmt("node '%s'", n->name);
    const urc_value *x = n->in[0], *z = n->nin > 2 ? n->in[2] : NULL;
    if (n->op == URC_OP_FAKE_QUANT) {
        if (x->dtype != URC_DT_F32) {
            urc_error(where, "unetrc.FakeQuant wants float32, got %s", urc_dtype_name(x->dtype));
            return false;
        }
        const urc_fq *q = &n->a.quant.fq;
        if (!urc_fq_valid(*q)) {
            urc_error(where,
                      "unetrc.FakeQuant: scale %g with steps [%d, %d] (a positive finite scale, lo <= 0 <= hi, "
                      "hi - lo <= 255)",
                      (double)q->scale, q->lo, q->hi);
            return false;
        }
        urc_set_out(n, 0, URC_DT_F32, &x->shape);
        return true;
    }
    if (!qdq_params(n)) return false;
    if (n->op == URC_OP_QUANTIZE_LINEAR) {
        urc_dtype to = z ? z->dtype : URC_DT_U8;
        if (x->dtype != URC_DT_F32 && x->dtype != URC_DT_I32) {
            urc_error(where, "QuantizeLinear: x must be float32 or int32, got %s", urc_dtype_name(x->dtype));
            return false;
        }
        if (to != URC_DT_I8 && to != URC_DT_U8) {
            urc_error(where, "QuantizeLinear to %s is not supported (int8, uint8)", urc_dtype_name(to));
            return false;
        }
        urc_set_out(n, 0, to, &x->shape);
        return true;
    }
    if (x->dtype != URC_DT_I8 && x->dtype != URC_DT_U8 && x->dtype != URC_DT_I32) {
        urc_error(where, "DequantizeLinear: x must be int8, uint8 or int32, got %s", urc_dtype_name(x->dtype));
        return false;
    }
    if (z && z->dtype != x->dtype) {
        urc_error(where, "DequantizeLinear: zero point is %s, x %s", urc_dtype_name(z->dtype),
                  urc_dtype_name(x->dtype));
        return false;
    }
    urc_set_out(n, 0, URC_DT_F32, &x->shape);
    return true;
}

/* Per-axis parameters: element i of x uses parameter (i / inner) % dim; per tensor: 0. */
static void axis_split(const urc_node *n, int64_t *inner, int64_t *dim) {
    const urc_shape *xs = &n->in[0]->shape;
    *inner = 1, *dim = 1;
    if (n->a.quant.axis < 0) return;
    for (int d = (int)n->a.quant.axis + 1; d < xs->rank; d++) *inner *= xs->dims[d];
    *dim = xs->dims[n->a.quant.axis];
}

bool urc_fq_valid(urc_fq q) { return q.scale > 0 && isfinite(q.scale) && q.lo <= 0 && q.hi >= 0 && q.hi - q.lo <= 255; }

void urc_fq_print(urc_strbuf *sb, const char *name, urc_fq q) {
    urc_sb_printf(sb, " %s=%.9g", name, (double)q.scale);
    if (q.lo != -127 || q.hi != 127) urc_sb_printf(sb, "[%d,%d]", q.lo, q.hi);
}

float urc_fake_quant(float x, urc_fq fq) {
    volatile float r = x / fq.scale; /* rounded to float32 here, as the kernel's division */
    float q = nearbyintf(r), lo = fq.lo, hi = fq.hi;
    q = q < lo ? lo : q > hi ? hi : q; /* (NaN passes) */
    return q * fq.scale;
}

urc_lx *urc_fake_quant_level(urc_lx *x, urc_fq fq) {
    const urc_dtype F = URC_DT_F32;
    urc_lx *q = urc_lx_un(URC_L_RINT, urc_lx_bin(URC_L_DIV, x, urc_lx_flt(fq.scale, F)));
    urc_lx *lo = urc_lx_flt(fq.lo, F), *hi = urc_lx_flt(fq.hi, F);
    /* (as urc_fake_quant, by selects: the NaN-aware minimum and maximum cost the norms storing levels a third more) */
    return urc_lx_sel(urc_lx_bin(URC_L_LT, q, lo), lo, urc_lx_sel(urc_lx_bin(URC_L_GT, q, hi), hi, q));
}

/* As rint(x / s) - lo clamped to [0, hi - lo] by two selects (NaN: 0, as a saturating conversion gives): the level
 * minus lo for every x (rint(x / s) - lo is exact below 2^24 and stays past the bounds beyond), without the NaN-aware
 * minimum and maximum, which cost the int8 grid fills a third of their time. */
urc_lx *urc_fake_quant_u8(urc_lx *x, urc_fq fq) {
    const urc_dtype F = URC_DT_F32;
    urc_lx *t = urc_lx_bin(URC_L_SUB, urc_lx_un(URC_L_RINT, urc_lx_bin(URC_L_DIV, x, urc_lx_flt(fq.scale, F))),
                           urc_lx_flt(fq.lo, F));
    urc_lx *z = urc_lx_flt(0, F), *h = urc_lx_flt(fq.hi - fq.lo, F);
    t = urc_lx_sel(urc_lx_bin(URC_L_GT, t, z), t, z);
    t = urc_lx_sel(urc_lx_bin(URC_L_LT, t, h), t, h);
    return urc_lx_inrange(urc_lx_cast(URC_DT_U8, t));
}

bool urc_fq_of(const urc_value *x, urc_fq *q) {
    const urc_node *p = x->producer;
    if (p && p->op == URC_OP_FAKE_QUANT) *q = p->a.quant.fq;
    else if (p && p->op == URC_OP_FUSED_NORM && x->producer_slot == 0 && p->a.norm.quant.scale > 0)
        *q = p->a.norm.quant;
    else return false;
    return true;
}

urc_lx *urc_fake_quant_lx(urc_lx *x, urc_fq fq) {
    return urc_lx_bin(URC_L_MUL, urc_fake_quant_level(x, fq), urc_lx_flt(fq.scale, URC_DT_F32));
}

static bool quant_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    urc_tensor *y = out[0];
    int64_t ne = urc_tensor_numel(in[0]);
    if (n->op == URC_OP_FAKE_QUANT) {
        const float *x = in[0]->data;
        float *yf = y->data;
        for (int64_t i = 0; i < ne; i++) yf[i] = urc_fake_quant(x[i], n->a.quant.fq);
        return true;
    }
    const urc_tensor *x = in[0], *s = in[1], *z = n->nin > 2 ? in[2] : NULL;
    int64_t inner, dim;
    axis_split(n, &inner, &dim);
    bool q8 = y->dtype == URC_DT_I8;
    for (int64_t i = 0; i < ne; i++) {
        int64_t c = (i / inner) % dim;
        float sc = ((const float *)s->data)[c];
        float zp = z ? (float)urc_elem_i64(z->dtype, z->data, c) : 0.0f;
        if (n->op == URC_OP_DEQUANTIZE_LINEAR) {
            volatile float d = (float)urc_elem_i64(x->dtype, x->data, i) - zp;
            ((float *)y->data)[i] = d * sc;
            continue;
        }
        float xf = x->dtype == URC_DT_F32 ? ((const float *)x->data)[i] : (float)((const int32_t *)x->data)[i];
        volatile float r = xf / sc;
        float q = nearbyintf(r) + zp, lo = q8 ? -128.0f : 0.0f, hi = q8 ? 127.0f : 255.0f;
        q = q != q ? 0.0f : q < lo ? lo : q > hi ? hi : q;
        urc_elem_set_i64(y->dtype, y->data, i, (int64_t)q);
    }
    return true;
}

static bool quant_lower(urc_lower *L, const urc_node *n) {
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    urc_lx *i;
    urc_ls *body = urc_flat_loop(k, &n->out[0]->shape, &i);
    urc_lx *x = urc_lx_load(k, bx, i);
    const urc_dtype F = URC_DT_F32;
    if (n->op == URC_OP_FAKE_QUANT) {
        urc_ls_store(body, by, i, urc_fake_quant_lx(x, n->a.quant.fq));
        return true;
    }
    int64_t inner, dim;
    axis_split(n, &inner, &dim);
    urc_lx *c =
        dim == 1 ? urc_lx_int(0) : urc_lx_bin(URC_L_REM, urc_lx_bin(URC_L_DIV, i, urc_lx_int(inner)), urc_lx_int(dim));
    urc_lx *s = urc_lower_load(L, k, n->in[1], c);
    const urc_value *zv = n->nin > 2 ? n->in[2] : NULL;
    urc_lx *z = zv ? urc_lx_cast(F, urc_lower_load(L, k, zv, c)) : urc_lx_flt(0, F);
    if (n->op == URC_OP_DEQUANTIZE_LINEAR) {
        urc_ls_store(body, by, i, urc_lx_bin(URC_L_MUL, urc_lx_bin(URC_L_SUB, urc_lx_cast(F, x), z), s));
        return true;
    }
    bool q8 = n->out[0]->dtype == URC_DT_I8;
    urc_lx *q = urc_lx_bin(URC_L_ADD, urc_lx_un(URC_L_RINT, urc_lx_bin(URC_L_DIV, urc_lx_cast(F, x), s)), z);
    q = urc_lx_bin(URC_L_MIN, urc_lx_bin(URC_L_MAX, q, urc_lx_flt(q8 ? -128 : 0, F)), urc_lx_flt(q8 ? 127 : 255, F));
    urc_ls_store(body, by, i, urc_lx_cast(n->out[0]->dtype, q)); /* (the saturating conversion: NaN -> 0) */
    return true;
}

static void quant_print(const urc_node *n, urc_strbuf *sb) {
    if (n->op == URC_OP_FAKE_QUANT) urc_fq_print(sb, "scale", n->a.quant.fq);
    else if (n->a.quant.axis >= 0) urc_sb_printf(sb, " axis=%lld", (long long)n->a.quant.axis);
}

/* FakeQuant's steps are literals of its body: nodes share a body only with the same steps (no signature sharing). */
const urc_op_impl urc_impl_quant = {quant_parse, quant_infer, quant_eval,
                                    quant_lower, quant_print, .signature_lower = false};
