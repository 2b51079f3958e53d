/* test_precision.c: the conversions --precision stores weights with
 * (compiler/ir/tensor.c): float32 -> bfloat16 and float16 round to nearest,
 * ties to even, against references computed independently in double; NaN
 * stays NaN (never infinity), infinities and signed zeros are kept,
 * overflow goes to infinity, float16 subnormals are exact; float16 ->
 * float32 is exact for all 65536 patterns. Then the precision pass marks
 * the right nodes and --keep-fp32 globs (also by a fused node's original
 * name) keep theirs. int8: the per-output-channel weight quantisation
 * (round half to even, the channel axis of Conv, grouped ConvTranspose,
 * MatMul and Gemm with transB), unetrc.FakeQuant's arithmetic (ties to
 * even, clamping to +-127, NaN kept), which nodes int8 marks, and the
 * calibration placing FakeQuant nodes with max |x| / 127 (removed again by
 * a float32 marking); bf16 pairs: the Casts to bf16 placed before products' data inputs for a target
 * with AVX512-BF16 only, and removed again (a user's Cast stays). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../compiler/interp/interp.h"
#include "../compiler/ir/ir.h"
#include "../compiler/passes/passes.h"
#include "../compiler/target/target.h"
#include "check.h"

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* The value of a float16 pattern, from its definition. */
static double f16_value(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

/* Nearest of a < b (adjacent representable values, patterns pa, pb) to x, ties to the even pattern. */
static uint32_t nearest(double x, double a, double b, uint32_t pa, uint32_t pb) {
    double da = fabs(x - a), db = fabs(x - b);
    if (da < db) return pa;
    if (db < da) return pb;
    return (pa & 1) ? pb : pa;
}

static uint32_t xorshift(uint32_t *s) {
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return *s;
}

static void test_bf16(void) {
    /* exact values stay, ties go to the even neighbour */
    CHECK(urc_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(urc_f32_to_bf16(1.0f + 0x1p-8f) == 0x3f80);            /* midpoint of 1 and 1+2^-7: even is 1 */
    CHECK(urc_f32_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3f82);        /* midpoint of 1+2^-7 and 1+2^-6: even is above */
    CHECK(urc_f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f) == 0x3f81); /* just above a tie: up */
    CHECK(urc_f32_to_bf16(-1.0f - 0x1p-8f) == 0xbf80);
    CHECK(urc_f32_to_bf16(0.0f) == 0x0000 && urc_f32_to_bf16(-0.0f) == 0x8000);
    CHECK(urc_f32_to_bf16(INFINITY) == 0x7f80 && urc_f32_to_bf16(-INFINITY) == 0xff80);
    CHECK(urc_f32_to_bf16(from_bits(0x7f7fffff)) == 0x7f80); /* FLT_MAX rounds to infinity */
    CHECK(urc_f32_to_bf16(from_bits(0x7f7f7fff)) == 0x7f7f); /* below the midpoint: the largest bf16 */
    /* NaN stays NaN whatever its payload (a payload only in the low bits must not become infinity) */
    uint32_t nans[] = {0x7f800001, 0x7fc00000, 0xff800001, 0x7fffffff, 0x7f80ffff};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        uint16_t h = urc_f32_to_bf16(from_bits(nans[i]));
        CHECK((h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0);
        CHECK(isnan(urc_bf16_to_f32(h)));
        CHECK((h >> 15) == (nans[i] >> 31));
    }
    /* subnormal float32: bf16 shares the exponent range */
    CHECK(urc_f32_to_bf16(from_bits(0x00010000)) == 0x0001);
    CHECK(urc_f32_to_bf16(from_bits(0x00008000)) == 0x0000); /* tie: to even (zero) */
    CHECK(urc_f32_to_bf16(from_bits(0x00018000)) == 0x0002); /* tie: to even (up) */
    /* every bf16 pattern converts to float exactly and back */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = urc_bf16_to_f32((uint16_t)h);
        if (bits_of(f) != h << 16) bad++;
        if (!isnan(f) && urc_f32_to_bf16(f) != h) bad++;
    }
    CHECK(bad == 0);
    /* random finite floats against the nearest of their two bf16 neighbours, computed in double */
    uint32_t s = 12345;
    bad = 0;
    for (int i = 0; i < 1000000; i++) {
        uint32_t u = xorshift(&s);
        if ((u & 0x7f800000) == 0x7f800000) continue;
        if (i % 4 == 0) u = (u & 0xffff0000) | 0x8000; /* a tie */
        float x = from_bits(u);
        uint32_t lo = u >> 16, hi = lo + 1; /* magnitudes: truncation and the next pattern up */
        double a = fabs((double)urc_bf16_to_f32((uint16_t)lo)), b = fabs((double)urc_bf16_to_f32((uint16_t)hi));
        if ((hi & 0x7f80) == 0x7f80) b = ldexp(1, 128); /* the next pattern is infinity */
        uint32_t want = nearest(fabs((double)x), a, b, lo, hi);
        if (urc_f32_to_bf16(x) != want) bad++;
    }
    CHECK(bad == 0);
}

static void test_f16(void) {
    /* float16 -> float32: exact for every pattern (subnormals included) */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = urc_f16_to_f32((uint16_t)h);
        double v = f16_value((uint16_t)h);
        if (isnan(v) ? !isnan(f) : (double)f != v || (signbit(f) != 0) != (h >> 15 != 0)) bad++;
        if (isnan(v)) {
            uint16_t back = urc_f32_to_f16(f);
            if ((back & 0x7c00) != 0x7c00 || !(back & 0x3ff)) bad++; /* NaN stays NaN */
        } else if (urc_f32_to_f16(f) != h) {
            bad++;
        }
    }
    CHECK(bad == 0);
    /* every midpoint between neighbouring finite values (exact in float32) goes to the even
     * pattern, a hair on either side to the nearer one; past 65504 + half an ulp: infinity */
    bad = 0;
    for (uint32_t h = 0; h < 0x7c00; h++) {
        double a = f16_value((uint16_t)h), b = h + 1 == 0x7c00 ? 65536.0 : f16_value((uint16_t)(h + 1));
        float mid = (float)((a + b) / 2);
        if ((double)mid != (a + b) / 2) bad++;
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        if (urc_f32_to_f16(mid) != even || urc_f32_to_f16(-mid) != (even | 0x8000)) bad++;
        if (urc_f32_to_f16(nextafterf(mid, 0)) != h) bad++;
        if (urc_f32_to_f16(nextafterf(mid, INFINITY)) != h + 1) bad++;
    }
    CHECK(bad == 0);
    CHECK(urc_f32_to_f16(65504.0f) == 0x7bff && urc_f32_to_f16(65519.99f) == 0x7bff);
    CHECK(urc_f32_to_f16(65520.0f) == 0x7c00 && urc_f32_to_f16(1e30f) == 0x7c00 && urc_f32_to_f16(-1e30f) == 0xfc00);
    CHECK(urc_f32_to_f16(0x1p-24f) == 0x0001);   /* smallest subnormal */
    CHECK(urc_f32_to_f16(0x1p-25f) == 0x0000);   /* half of it: a tie, to even (zero) */
    CHECK(urc_f32_to_f16(0x1.8p-24f) == 0x0002); /* 1.5 ulp: a tie, to even (2) */
    CHECK(urc_f32_to_f16(0x1p-25f * 1.0001f) == 0x0001);
    CHECK(urc_f32_to_f16(1e-10f) == 0x0000 && urc_f32_to_f16(-1e-10f) == 0x8000);
    CHECK(urc_f32_to_f16(INFINITY) == 0x7c00 && urc_f32_to_f16(-INFINITY) == 0xfc00);
    CHECK(urc_f32_to_f16(-0.0f) == 0x8000);
    uint16_t n = urc_f32_to_f16(from_bits(0x7f800001));
    CHECK((n & 0x7c00) == 0x7c00 && (n & 0x3ff));
}

/* A graph x -> Conv(w) 'enc.conv' -> MatMul(w2) 'head' -> MatMul(y) 'dyn' (run-time operand, unmarked). */
static void test_pass(void) {
    urc_graph *g = urc_graph_new();
    urc_shape xs = {2, {4, 4}};
    urc_value *x = urc_value_new(g, "x");
    urc_value_set_type(x, URC_DT_F32, &xs);
    urc_value *w = urc_const_new(g, "w", urc_tensor_new(URC_DT_F32, &xs));
    urc_value *w1 = urc_const_new(g, "w1", urc_tensor_new(URC_DT_F32, &(urc_shape){1, {1}}));
    urc_node *a = urc_node_new(g, URC_OP_MATMUL, "enc.conv/fused", 2, 1);
    a->in[0] = x, a->in[1] = w;
    urc_node *b = urc_node_new(g, URC_OP_MATMUL, "head", 2, 1);
    b->in[0] = x, b->in[1] = w;
    urc_node *c = urc_node_new(g, URC_OP_MATMUL, "dyn", 2, 1);
    c->in[0] = x, c->in[1] = x;
    urc_node *d = urc_node_new(g, URC_OP_MATMUL, "scalar", 2, 1);
    d->in[0] = x, d->in[1] = w1;
    int unused;
    CHECK(urc_pass_precision(g, URC_DT_BF16, NULL, 0, false, &unused) == 2 && unused == -1);
    CHECK(a->wdtype == URC_DT_BF16 && b->wdtype == URC_DT_BF16 && !c->wdtype && !d->wdtype);
    const char *keep[] = {"enc.*", "nothing*"};
    CHECK(urc_pass_precision(g, URC_DT_F16, keep, 2, false, &unused) == 1 && unused == 1);
    CHECK(!a->wdtype && b->wdtype == URC_DT_F16);
    CHECK(urc_pass_precision(g, URC_DT_F32, NULL, 0, false, NULL) == 0 && !a->wdtype && !b->wdtype);
    /* the interpreter's rounding: new constants for marked nodes only */
    ((float *)w->data)[0] = 1.0f + 0x1p-8f + 0x1p-20f;
    urc_pass_precision(g, URC_DT_BF16, keep, 1, false, NULL);
    urc_precision_round_weights(g);
    CHECK(a->in[1] == w && b->in[1] != w);
    CHECK(((float *)b->in[1]->data)[0] == 1.0f + 0x1p-7f && ((float *)w->data)[0] == 1.0f + 0x1p-8f + 0x1p-20f);
}

/* A constant of shape s holding vals. */
static urc_value *konst(urc_graph *g, const char *name, urc_shape s, const float *vals) {
    urc_tensor *t = urc_tensor_new(URC_DT_F32, &s);
    memcpy(t->data, vals, sizeof(float) * (size_t)urc_shape_numel(&s));
    return urc_const_new(g, name, t);
}

static urc_node *product(urc_graph *g, urc_op op, urc_value *x, urc_value *w) {
    urc_node *n = urc_node_new(g, op, NULL, 2, 1);
    n->in[0] = x, n->in[1] = w;
    n->out[0] = urc_value_new(g, NULL);
    n->out[0]->producer = n;
    if (op == URC_OP_CONV || op == URC_OP_CONV_TRANSPOSE) n->a.conv.group = 1;
    return n;
}

static void test_int8_weights(void) {
    urc_graph *g = urc_graph_new();
    urc_value *x = urc_value_new(g, "x");
    urc_value_set_type(x, URC_DT_F32, &(urc_shape){3, {1, 2, 4}});
    float q[24], s[8];
    /* Conv W [M=3, C=1, k=5]: channel 0's max 7.9375 gives the scale 2^-4, so x / s is exact: ties
     * 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -3.5 -> -4; channel 1 all zero: scale 1; channel 2 max |w| 12.7 */
    const float wc[15] = {0.03125f, 0.09375f, 0.15625f, -0.21875f, 7.9375f, 0, 0, 0, 0, 0, 0, 0, -12.7f, 1.0f, 0};
    urc_node *conv = product(g, URC_OP_CONV, x, konst(g, "wc", (urc_shape){3, {3, 1, 5}}, wc));
    CHECK(urc_precision_channels(conv) == 3);
    urc_precision_quantize(conv, q, s);
    CHECK(s[0] == 0.0625f && s[1] == 1.0f && s[2] == 12.7f / 127.0f);
    CHECK(q[0] == 0 && q[1] == 2 && q[2] == 2 && q[3] == -4 && q[4] == 127 && q[5] == 0 && q[9] == 0);
    CHECK(q[10] == 0 && q[12] == -127 && q[13] == 10);
    /* ConvTranspose W [C=4, M/g=3, k=2], group 2: element (c, j, k) belongs to output channel (c / 2) * 3 + j;
     * each channel oc holds +-(oc + 1), so its scale is (oc + 1) / 127 */
    float wt[24];
    for (int c = 0; c < 4; c++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++) {
                int oc = c / 2 * 3 + j;
                wt[(c * 3 + j) * 2 + k] = (float)(oc + 1) * (k ? 1.0f : -0.25f) * (c % 2 ? 1.0f : 0.25f);
            }
    urc_node *convt = product(g, URC_OP_CONV_TRANSPOSE, x, konst(g, "wt", (urc_shape){3, {4, 3, 2}}, wt));
    convt->a.conv.group = 2;
    CHECK(urc_precision_channels(convt) == 6);
    urc_precision_quantize(convt, q, s);
    for (int oc = 0; oc < 6; oc++) CHECK(s[oc] == (float)(oc + 1) / 127.0f);
    CHECK(q[(1 * 3 + 2) * 2 + 1] == 127 && q[(3 * 3 + 0) * 2 + 1] == 127 && q[(2 * 3 + 1) * 2 + 1] == 32);
    CHECK(q[(1 * 3 + 2) * 2] == -32 && q[(2 * 3 + 1) * 2] == -8); /* -31.75, -7.9375 */
    /* MatMul B [K=2, N=3]: per column; Gemm with transB, B [N=3, K=2]: per row */
    const float wm[6] = {1, -20, 0.5f, -4, 5, 0.125f};
    urc_node *mm = product(g, URC_OP_MATMUL, x, konst(g, "wm", (urc_shape){2, {2, 3}}, wm));
    CHECK(urc_precision_channels(mm) == 3);
    urc_precision_quantize(mm, q, s);
    CHECK(s[0] == 4.0f / 127 && s[1] == 20.0f / 127 && s[2] == 0.5f / 127);
    CHECK(q[0] == 32 && q[1] == -127 && q[2] == 127 && q[3] == -127 && q[4] == 32 && q[5] == 32);
    urc_node *gemm = product(g, URC_OP_GEMM, x, konst(g, "wg", (urc_shape){2, {3, 2}}, wm));
    gemm->a.gemm.trans_b = 1;
    urc_precision_quantize(gemm, q, s);
    CHECK(s[0] == 20.0f / 127 && s[1] == 4.0f / 127 && s[2] == 5.0f / 127);
    CHECK(q[0] == 6 && q[1] == -127 && q[2] == 16 && q[3] == -127 && q[4] == 127 && q[5] == 3);
    /* which nodes int8 marks: the conv (rank-3 W), not a batched MatMul B (bf16 does mark it) */
    float wb[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    urc_node *bmm = product(g, URC_OP_MATMUL, x, konst(g, "wb", (urc_shape){3, {2, 2, 2}}, wb));
    CHECK(urc_pass_precision(g, URC_DT_I8, NULL, 0, false, NULL) == 4);
    CHECK(conv->wdtype == URC_DT_I8 && convt->wdtype == URC_DT_I8 && mm->wdtype == URC_DT_I8 && !bmm->wdtype);
    CHECK(urc_pass_precision(g, URC_DT_BF16, NULL, 0, false, NULL) == 5 && bmm->wdtype == URC_DT_BF16);
    /* the interpreter's weights: q * s of the channel */
    urc_pass_precision(g, URC_DT_I8, NULL, 0, false, NULL);
    urc_precision_round_weights(g);
    const float *r = conv->in[1]->data;
    CHECK(r[0] == 0 && r[1] == 0.125f && r[3] == -0.25f && r[4] == 7.9375f && r[12] == -127.0f * (12.7f / 127.0f));
}

static void test_fake_quant(void) {
    urc_graph *g = urc_graph_new();
    urc_shape s = {1, {7}};
    urc_value *x = urc_value_new(g, "x");
    urc_value_set_type(x, URC_DT_F32, &s);
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.quant.fq = (urc_fq){0.5f, -127, 127};
    bool ok = true;
    urc_node *n = urc_node_make(g, URC_OP_FAKE_QUANT, "fq", 13, 1, &x, &a, NULL, &ok);
    CHECK(ok && n->out[0]->dtype == URC_DT_F32);
    urc_tensor *in = urc_tensor_new(URC_DT_F32, &s), *out = urc_tensor_new(URC_DT_F32, &s);
    const float xs[7] = {0.25f, 0.75f, 1.25f, -0.75f, 100.0f, -100.0f, NAN};
    memcpy(in->data, xs, sizeof xs);
    CHECK(urc_ops[URC_OP_FAKE_QUANT].impl->eval(n, &in, &out));
    const float *y = out->data;
    /* x / 0.5 = 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -1.5 -> -2, 200 -> 127, -200 -> -127 */
    CHECK(y[0] == 0 && y[1] == 1.0f && y[2] == 1.0f && y[3] == -1.0f && y[4] == 63.5f && y[5] == -63.5f && isnan(y[6]));
    /* affine steps [-3, 252]: uint8 with zero point 3 */
    n->a.quant.fq = (urc_fq){0.5f, -3, 252};
    CHECK(urc_ops[URC_OP_FAKE_QUANT].impl->eval(n, &in, &out));
    CHECK(y[0] == 0 && y[1] == 1.0f && y[2] == 1.0f && y[3] == -1.0f && y[4] == 100.0f && y[5] == -1.5f && isnan(y[6]));
    const urc_fq bad[4] = {{0, -127, 127}, {INFINITY, -127, 127}, {1, 1, 255}, {1, -128, 128}};
    for (int i = 0; i < 4; i++) {
        a.quant.fq = bad[i];
        ok = true;
        urc_node_make(g, URC_OP_FAKE_QUANT, "bad", 13, 1, &x, &a, NULL, &ok);
        CHECK(!ok);
    }
    urc_tensor_free(in);
    urc_tensor_free(out);
}

/* y = Neg(x) @ W (W [4, 2] constant): calibration on two samples with Neg(x) over [-2.54, 2.5] puts a FakeQuant
 * of 256 levels of 5.04 / 255 with zero point 129 before the product; a float32 marking removes it; samples with
 * Neg(x) over [0, 2.54] give the levels [0, 255] of 2.54 / 255. The model's input itself, also through a layout
 * change (Identity here), gets none: y = Identity(x) @ W calibrates to no FakeQuant. */
static void test_calibrate(void) {
    urc_graph *g = urc_graph_new();
    urc_value *x = urc_value_new(g, "x");
    urc_value_set_type(x, URC_DT_F32, &(urc_shape){2, {1, 4}});
    x->flags |= URC_VAL_INPUT;
    URC_VEC_PUSH(g->inputs, x);
    const float w[8] = {1, 0, 0, 1, 1, 1, -1, 2};
    bool ok = true;
    urc_node *neg = urc_node_make(g, URC_OP_NEG, "neg", 13, 1, &x, NULL, NULL, &ok);
    urc_value *wv = konst(g, "w", (urc_shape){2, {4, 2}}, w), *ins[2] = {neg->out[0], wv};
    urc_node *mm = urc_node_make(g, URC_OP_MATMUL, "mm", 13, 2, ins, NULL, NULL, &ok);
    URC_VEC_PUSH(g->outputs, mm->out[0]);
    urc_graph_count_uses(g);
    CHECK(ok && urc_pass_precision(g, URC_DT_I8, NULL, 0, false, NULL) == 0); /* the output head: float32 */
    CHECK(urc_pass_precision(g, URC_DT_I8, NULL, 0, true, NULL) == 1);
    urc_tensor *smp[2] = {urc_tensor_new(URC_DT_F32, &x->shape), urc_tensor_new(URC_DT_F32, &x->shape)};
    const float s0[4] = {-1, 2.54f, -0.5f, -2}, s1[4] = {1, -0.25f, -2.5f, 0};
    memcpy(smp[0]->data, s0, sizeof s0);
    memcpy(smp[1]->data, s1, sizeof s1);
    CHECK(urc_precision_calibrate(g, smp, 2, NULL, NULL));
    CHECK(g->nodes.len == 3 && g->nodes.items[1]->op == URC_OP_FAKE_QUANT && g->nodes.items[2] == mm);
    CHECK(g->nodes.items[1]->in[0] == neg->out[0] && mm->in[0] == g->nodes.items[1]->out[0]);
    const urc_fq *q = &g->nodes.items[1]->a.quant.fq;
    CHECK(q->scale == (float)((2.5 + (double)2.54f) / 255) && q->lo == -129 && q->hi == 126);
    CHECK(urc_graph_verify(g, "test"));
    urc_pass_precision(g, URC_DT_F32, NULL, 0, false, NULL);
    CHECK(g->nodes.len == 2 && mm->in[0] == neg->out[0] && !mm->wdtype);
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < 4; i++) ((float *)smp[s]->data)[i] = -fabsf(((float *)smp[s]->data)[i]);
    CHECK(urc_pass_precision(g, URC_DT_I8, NULL, 0, true, NULL) == 1 && urc_precision_calibrate(g, smp, 2, NULL, NULL));
    q = &g->nodes.items[1]->a.quant.fq;
    CHECK(g->nodes.len == 3 && q->scale == (float)((double)2.54f / 255) && q->lo == 0 && q->hi == 255);
    /* the input through Identity: no FakeQuant */
    urc_pass_precision(g, URC_DT_F32, NULL, 0, false, NULL);
    neg->op = URC_OP_IDENTITY;
    CHECK(urc_pass_precision(g, URC_DT_I8, NULL, 0, true, NULL) == 1 && urc_precision_calibrate(g, smp, 2, NULL, NULL));
    CHECK(g->nodes.len == 2 && mm->in[0] == neg->out[0] && mm->wdtype == URC_DT_I8);
    urc_tensor_free(smp[0]);
    urc_tensor_free(smp[1]);
}

/* y = Add(b(Relu(a(x))), c(x)), a, b, c MatMuls with constant weights: b and c are the output head (they reach
 * y through no other product) and stay float32 unless reduce_head; a is reduced either way. */
static void test_head(void) {
    urc_graph *g = urc_graph_new();
    urc_value *x = urc_value_new(g, "x");
    urc_value_set_type(x, URC_DT_F32, &(urc_shape){2, {1, 2}});
    x->flags |= URC_VAL_INPUT;
    URC_VEC_PUSH(g->inputs, x);
    const float w[4] = {1, 2, 3, 4};
    urc_value *wv = konst(g, "w", (urc_shape){2, {2, 2}}, w);
    bool ok = true;
    urc_value *ia[2] = {x, wv};
    urc_node *a = urc_node_make(g, URC_OP_MATMUL, "a", 13, 2, ia, NULL, NULL, &ok);
    urc_node *r = urc_node_make(g, URC_OP_RELU, "r", 14, 1, a->out, NULL, NULL, &ok);
    urc_value *ib[2] = {r->out[0], wv}, *ic[2] = {x, wv};
    urc_node *b = urc_node_make(g, URC_OP_MATMUL, "b", 13, 2, ib, NULL, NULL, &ok);
    urc_node *c = urc_node_make(g, URC_OP_MATMUL, "c", 13, 2, ic, NULL, NULL, &ok);
    urc_value *iy[2] = {b->out[0], c->out[0]};
    urc_node *y = urc_node_make(g, URC_OP_ADD, "y", 14, 2, iy, NULL, NULL, &ok);
    URC_VEC_PUSH(g->outputs, y->out[0]);
    CHECK(ok);
    CHECK(urc_pass_precision(g, URC_DT_BF16, NULL, 0, false, NULL) == 1);
    CHECK(a->wdtype == URC_DT_BF16 && !b->wdtype && !c->wdtype);
    CHECK(urc_pass_precision(g, URC_DT_BF16, NULL, 0, true, NULL) == 3);
    CHECK(a->wdtype == URC_DT_BF16 && b->wdtype == URC_DT_BF16 && c->wdtype == URC_DT_BF16);
}

/* bf16 pairs: on a target with AVX512-BF16 a marked MatMul gets a Cast to bf16 before its A (one per
 * value, also for a second product of the same A), a MatMul with odd K and one kept float32 get none; a
 * float32 marking removes them, a user's Cast to bf16 named like them stays, and without the
 * instruction nothing is placed. */
static void test_pairs(void) {
    urc_graph *g = urc_graph_new();
    urc_value *x = urc_value_new(g, "x"), *xo = urc_value_new(g, "xo");
    urc_value_set_type(x, URC_DT_F32, &(urc_shape){2, {3, 4}});
    urc_value_set_type(xo, URC_DT_F32, &(urc_shape){2, {3, 3}});
    float w[4 * 64] = {0}; /* 64 columns: 64 multiply-adds per element of x, enough to pay for the Cast */
    urc_node *m1 = product(g, URC_OP_MATMUL, x, konst(g, "w1", (urc_shape){2, {4, 64}}, w));
    urc_node *m2 = product(g, URC_OP_MATMUL, x, konst(g, "w2", (urc_shape){2, {4, 64}}, w));
    urc_node *odd = product(g, URC_OP_MATMUL, xo, konst(g, "w3", (urc_shape){2, {3, 64}}, w));
    urc_node *kept = product(g, URC_OP_MATMUL, x, konst(g, "w4", (urc_shape){2, {4, 64}}, w));
    kept->name = "kept";
    for (int i = 0; i < g->nodes.len; i++) urc_ops[g->nodes.items[i]->op].impl->infer(g->nodes.items[i]);
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.cast.to = URC_DT_BF16;
    bool ok = true;
    urc_node *user = urc_node_make(g, URC_OP_CAST, "x/bf16", 13, 1, &x, &a, NULL, &ok);
    const char *keep[1] = {"kept"};
    urc_target spr, v3;
    CHECK(urc_target_lookup("sapphirerapids", &spr) && urc_target_lookup("x86-64-v3", &v3));
    CHECK(urc_pass_precision(g, URC_DT_BF16, keep, 1, false, NULL) == 3);
    CHECK(urc_precision_bf16_operands(g, &v3) == 0 && m1->in[0] == x);
    CHECK(urc_precision_bf16_operands(g, &spr) == 1);
    urc_node *c = m1->in[0]->producer;
    CHECK(c && c != user && c->op == URC_OP_CAST && c->a.cast.to == URC_DT_BF16 && c->in[0] == x);
    CHECK(c && m2->in[0] == m1->in[0] && m1->in[0]->dtype == URC_DT_BF16 && !strcmp(c->name, "x/bf16"));
    CHECK(odd->in[0] == xo && kept->in[0] == x);
    CHECK(urc_pass_precision(g, URC_DT_F32, NULL, 0, false, NULL) == 0 && m1->in[0] == x && m2->in[0] == x);
    bool user_kept = false, pair_cast = false;
    for (int i = 0; i < g->nodes.len; i++) {
        user_kept = user_kept || g->nodes.items[i] == user;
        pair_cast = pair_cast || (g->nodes.items[i]->op == URC_OP_CAST && g->nodes.items[i] != user);
    }
    CHECK(user_kept && !pair_cast);
}

static urc_node *fused_norm(urc_graph *g, urc_value *x, int channels) {
    float one[8] = {1, 1, 1, 1, 1, 1, 1, 1}, zero[8] = {0};
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.norm.base = URC_OP_INSTANCE_NORM;
    a.norm.epsilon = 1e-5;
    urc_value *in[5] = {x, konst(g, NULL, (urc_shape){1, {channels}}, one),
                        konst(g, NULL, (urc_shape){1, {channels}}, zero), NULL, NULL};
    bool ok = true;
    urc_node *n = urc_node_make(g, URC_OP_FUSED_NORM, NULL, 1, 5, in, &a, NULL, &ok);
    CHECK(ok);
    return n;
}

/* Where the Casts to bf16 go (spr): a norm's output read only through its Cast is stored as bf16 by the
 * norm (the Cast folds into it); one also read by a Relu keeps its Cast; a product with fewer than 64
 * multiply-adds per element of its A (W with 8 columns) reads float32 again rather than pay for a Cast of
 * its own, unless the Cast is there for a product that pays (x: read by both) or folds (the norm's);
 * a float32 marking undoes all of it. */
static void test_pairs_fold(void) {
    urc_graph *g = urc_graph_new();
    urc_value *x = urc_value_new(g, "x"), *x2 = urc_value_new(g, "x2");
    urc_value_set_type(x, URC_DT_F32, &(urc_shape){3, {1, 4, 8}});
    urc_value_set_type(x2, URC_DT_F32, &(urc_shape){3, {1, 4, 8}});
    x->flags |= URC_VAL_INPUT, x2->flags |= URC_VAL_INPUT;
    static float w[8 * 64];
    urc_node *n1 = fused_norm(g, x, 4), *n2 = fused_norm(g, x, 4);
    bool ok = true;
    urc_node *relu = urc_node_make(g, URC_OP_RELU, "relu", 14, 1, n2->out, NULL, NULL, &ok);
    urc_node *p1 = product(g, URC_OP_MATMUL, n1->out[0], konst(g, "w1", (urc_shape){2, {8, 64}}, w));
    urc_node *p2 = product(g, URC_OP_MATMUL, n2->out[0], konst(g, "w2", (urc_shape){2, {8, 64}}, w));
    urc_node *few1 = product(g, URC_OP_MATMUL, n1->out[0], konst(g, "w3", (urc_shape){2, {8, 8}}, w));
    urc_node *few2 = product(g, URC_OP_MATMUL, x2, konst(g, "w4", (urc_shape){2, {8, 8}}, w));
    urc_node *few3 = product(g, URC_OP_MATMUL, x, konst(g, "w5", (urc_shape){2, {8, 8}}, w));
    urc_node *wide = product(g, URC_OP_MATMUL, x, konst(g, "w6", (urc_shape){2, {8, 64}}, w));
    for (int i = 0; i < g->nodes.len; i++) CHECK(urc_ops[g->nodes.items[i]->op].impl->infer(g->nodes.items[i]));
    URC_VEC_PUSH(g->outputs, relu->out[0]);
    CHECK(ok);
    urc_target spr;
    CHECK(urc_target_lookup("sapphirerapids", &spr));
    CHECK(urc_pass_precision(g, URC_DT_BF16, NULL, 0, true, NULL) == 6);
    urc_graph_count_uses(g);
    CHECK(urc_precision_bf16_operands(g, &spr) == 2); /* n2's Cast and x's */
    CHECK(p1->in[0] == n1->out[0] && few1->in[0] == n1->out[0] && n1->out[0]->dtype == URC_DT_BF16);
    CHECK(n1->ydtype == URC_DT_BF16 && n2->ydtype == URC_DT_UNDEF);
    CHECK(p2->in[0]->producer && p2->in[0]->producer->op == URC_OP_CAST && p2->in[0]->producer->in[0] == n2->out[0]);
    CHECK(relu->in[0] == n2->out[0] && n2->out[0]->dtype == URC_DT_F32);
    CHECK(few2->in[0] == x2 && wide->in[0]->producer && wide->in[0] == few3->in[0]);
    CHECK(urc_ops[URC_OP_FUSED_NORM].impl->infer(n1) && n1->out[0]->dtype == URC_DT_BF16);
    CHECK(urc_pass_precision(g, URC_DT_F32, NULL, 0, false, NULL) == 0);
    CHECK(n1->ydtype == URC_DT_UNDEF && n1->out[0]->dtype == URC_DT_F32 && p1->in[0] == n1->out[0]);
    CHECK(p2->in[0] == n2->out[0] && wide->in[0] == x && few3->in[0] == x);
}

/* A channels-last MaxPool between a norm and a product (BasicUNet's encoders; spr): the norm's output read by a
 * product's Cast (the skip connection) and by the pooling, the pooled value by a product's Cast. The pooling
 * reads the first Cast's output and stores bf16, the second Cast goes, and the first folds into the norm: no Cast
 * left; the norm's and the pooling's outputs bf16. A float32 marking undoes it. */
static void test_pairs_max_pool(void) {
    urc_graph *g = urc_graph_new();
    urc_value *x = urc_value_new(g, "x");
    urc_value_set_type(x, URC_DT_F32, &(urc_shape){4, {1, 4, 4, 8}});
    x->flags |= URC_VAL_INPUT;
    static float w[8 * 64];
    urc_node *norm = fused_norm(g, x, 4);
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.pool.channels_last = true;
    a.pool.n_kernel = a.pool.n_strides = 2, a.pool.n_dilations = a.pool.n_pads = -1;
    a.pool.kernel[0] = a.pool.kernel[1] = a.pool.strides[0] = a.pool.strides[1] = 2;
    bool ok = true;
    urc_node *pool = urc_node_make(g, URC_OP_MAX_POOL, "pool", 12, 1, norm->out, &a, NULL, &ok);
    CHECK(ok);
    urc_node *skip = product(g, URC_OP_MATMUL, norm->out[0], konst(g, "w1", (urc_shape){2, {8, 64}}, w));
    urc_node *down = product(g, URC_OP_MATMUL, pool->out[0], konst(g, "w2", (urc_shape){2, {8, 64}}, w));
    for (int i = 0; i < g->nodes.len; i++) CHECK(urc_ops[g->nodes.items[i]->op].impl->infer(g->nodes.items[i]));
    URC_VEC_PUSH(g->outputs, skip->out[0]);
    URC_VEC_PUSH(g->outputs, down->out[0]);
    CHECK(pool->out[0]->shape.dims[1] == 2 && pool->out[0]->shape.dims[3] == 8);
    urc_target spr;
    CHECK(urc_target_lookup("sapphirerapids", &spr));
    CHECK(urc_pass_precision(g, URC_DT_BF16, NULL, 0, true, NULL) == 2);
    urc_graph_count_uses(g);
    CHECK(urc_precision_bf16_operands(g, &spr) == 0);
    CHECK(g->nodes.len == 4 && g->nodes.items[1] == pool);
    CHECK(pool->in[0] == norm->out[0] && skip->in[0] == norm->out[0] && down->in[0] == pool->out[0]);
    CHECK(norm->out[0]->dtype == URC_DT_BF16 && pool->out[0]->dtype == URC_DT_BF16);
    CHECK(urc_ops[URC_OP_MAX_POOL].impl->infer(pool) && pool->out[0]->dtype == URC_DT_BF16);
    CHECK(urc_pass_precision(g, URC_DT_F32, NULL, 0, false, NULL) == 0);
    CHECK(norm->out[0]->dtype == URC_DT_F32 && pool->out[0]->dtype == URC_DT_F32 && pool->in[0] == norm->out[0]);
}

int main(void) {
    test_bf16();
    test_f16();
    test_pass();
    test_int8_weights();
    test_fake_quant();
    test_calibrate();
    test_head();
    test_pairs();
    test_pairs_fold();
    test_pairs_max_pool();
    printf("test_precision: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
