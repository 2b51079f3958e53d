/* quant.c: unetrc.FakeQuant, the symmetric int8 fake quantisation of an
 * activation (--precision int8; passes/precision.c inserts it before the
 * data input of each product with int8 weights):
 *
 *   y = scale * clamp(round_half_even(x / scale), -127, 127)
 *
 * in float32 arithmetic (x / scale and the product each rounded to float32,
 * as the generated code computes them: the interpreter gives the same
 * bits). NaN stays NaN; +-inf become +-127 * scale. One elementwise kernel
 * reads x and writes y (no int8 intermediate: ONNX's QuantizeLinear +
 * DequantizeLinear pair would cost an int8 buffer and a second pass, and
 * saturates int8 to [-128, 127], not the symmetric [-127, 127]). */
#include <math.h>

#include "common.h"

static bool quant_infer(urc_node *n) {
    if (n->in[0]->dtype != URC_DT_F32) {
        urc_error(urc_fmt("node '%s'", n->name), "unetrc.FakeQuant wants float32, got %s",
                  urc_dtype_name(n->in[0]->dtype));
        return false;
    }
    if (!(n->a.quant.scale > 0) || !isfinite(n->a.quant.scale)) {
        urc_error(urc_fmt("node '%s'", n->name), "unetrc.FakeQuant: scale %g is not a positive finite number",
                  (double)n->a.quant.scale);
        return false;
    }
    urc_set_out(n, 0, URC_DT_F32, &n->in[0]->shape);
    return true;
}

static bool quant_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const float *x = in[0]->data, s = n->a.quant.scale;
    float *y = out[0]->data;
    int64_t ne = urc_tensor_numel(in[0]);
    for (int64_t i = 0; i < ne; i++) {
        volatile float r = x[i] / s; /* rounded to float32 here, as the kernel's division */
        float q = nearbyintf(r);
        q = q < -127.0f ? -127.0f : q > 127.0f ? 127.0f : q; /* (NaN passes) */
        y[i] = q * s;
    }
    return true;
}

static bool quant_lower(urc_lower *L, const urc_node *n) {
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    urc_shape flat = {1, {urc_shape_numel(&n->out[0]->shape)}};
    int iv[1];
    urc_ls *body = urc_loop_nest(k, k->body, &flat, iv, URC_FOR_PARALLEL);
    urc_lx *i = urc_lx_var(k, iv[0]);
    urc_lx *s = urc_lx_flt(n->a.quant.scale, URC_DT_F32);
    urc_lx *q = urc_lx_un(URC_L_RINT, urc_lx_bin(URC_L_DIV, urc_lx_load(k, bx, i), s));
    q = urc_lx_bin(URC_L_MIN, urc_lx_bin(URC_L_MAX, q, urc_lx_flt(-127, URC_DT_F32)), urc_lx_flt(127, URC_DT_F32));
    urc_ls_store(body, by, i, urc_lx_bin(URC_L_MUL, q, urc_lx_flt(n->a.quant.scale, URC_DT_F32)));
    return true;
}

static void quant_print(const urc_node *n, urc_strbuf *sb) {
    urc_sb_printf(sb, " scale=%.9g", (double)n->a.quant.scale);
}

/* The scale is a literal of the body: nodes share a body only with the same scale (no signature sharing). */
const urc_op_impl urc_impl_quant = {NULL, quant_infer, quant_eval, quant_lower, quant_print, .signature_lower = false};
