/* test_passes.c: the optimising graph passes and the matmul kernels.
 *
 *   test_passes [--no-kernels] MODEL.onnx...
 *
 * 1. For each model: the graph is built twice, with -O0 (no_opt: no
 *    gelu/norm/fuse/layout rewrites) and with every pass; the reference
 *    interpreter runs both on the model's committed input (MODEL.input.npy
 *    next to it, else a deterministic random input) and the outputs must
 *    agree within 1e-5 of the output's largest magnitude. On models with
 *    Erf (the UNETR exports) the expected rewrites are checked too: no Erf
 *    left, one Gelu or FusedMatMul(act=gelu) per exact-GELU subgraph, and
 *    FusedMatMul nodes for the MLP and attention projections (at least
 *    three per transformer block, i.e. per GELU), and one Attention per
 *    Softmax (two MatMuls each). Models over 2 GMAC are only checked for
 *    the rewrites unless UNETRC_TEST_BIG_INTERP=1 (the interpreter is slow
 *    on them).
 * 2. Kernels: hand-built graphs of MatMul / Gemm / FusedMatMul / Attention cases (edge
 *    tiles, K blocks, batches and broadcasting, 1-D operands, transposes,
 *    constant and run-time B, every activation, float64) are compiled for
 *    three vector widths (512, 256, 128 bits: different register tiles),
 *    built with the system C compiler, run, and compared with the
 *    interpreter (relative 1e-4 of each output's largest magnitude).
 * Exit status 0 iff everything passes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "base/diag.h"
#include "base/npy.h"
#include "driver.h"
#include "interp/interp.h"
#include "loop/lower.h"
#include "passes/passes.h"

static int failures, checks;

static unsigned rng = 12345;
static double rnd(void) {
    rng = rng * 1103515245u + 12345u;
    return (double)((rng >> 8) & 0xffff) / 32768.0 - 1.0;
}

static urc_tensor *random_tensor(urc_dtype dt, const urc_shape *s) {
    urc_tensor *t = urc_tensor_new(dt, s);
    for (int64_t i = 0; i < urc_tensor_numel(t); i++) urc_elem_set_f64(dt, t->data, i, rnd());
    return t;
}

/* max|a-b| / max|a| <= tol (and same shape). */
static bool close_enough(const urc_tensor *a, const urc_tensor *b, double tol, double *rel) {
    *rel = INFINITY;
    if (!a || !b || !urc_shape_eq(&a->shape, &b->shape)) return false;
    double md = 0, ma = 0;
    for (int64_t i = 0; i < urc_tensor_numel(a); i++) {
        double x = urc_elem_f64(a->dtype, a->data, i), y = urc_elem_f64(b->dtype, b->data, i);
        if (isnan(x) != isnan(y)) return false;
        if (isnan(x)) continue;
        md = fmax(md, fabs(x - y));
        ma = fmax(ma, fabs(x));
    }
    *rel = ma > 0 ? md / ma : md;
    return *rel <= tol;
}

static int count_ops(const urc_graph *g, urc_op op) {
    int c = 0;
    for (int i = 0; i < g->nodes.len; i++) c += g->nodes.items[i]->op == op;
    return c;
}

static int count_fused_act(const urc_graph *g, urc_act act) {
    int c = 0;
    for (int i = 0; i < g->nodes.len; i++)
        c += g->nodes.items[i]->op == URC_OP_FUSED_MATMUL && g->nodes.items[i]->a.gemm.act == act;
    return c;
}

#define FAIL(...)                                                                                                      \
    do {                                                                                                               \
        printf("FAIL ");                                                                                               \
        printf(__VA_ARGS__);                                                                                           \
        printf("\n");                                                                                                  \
        failures++;                                                                                                    \
    } while (0)

/* ---- 1. models: -O0 against all passes, through the interpreter --------- */

static urc_tensor **model_inputs(const char *path, const urc_graph *g) {
    urc_tensor **ins = calloc((size_t)g->inputs.len + 1, sizeof *ins);
    char *npy = malloc(strlen(path) + 16);
    strcpy(npy, path);
    char *dot = strrchr(npy, '.');
    if (dot) strcpy(dot, ".input.npy");
    for (int i = 0; i < g->inputs.len; i++) {
        const urc_value *v = g->inputs.items[i];
        const char *err = NULL;
        urc_tensor *t = i == 0 && g->inputs.len == 1 ? urc_npy_read(npy, (uint64_t)1 << 32, &err) : NULL;
        if (!t || t->dtype != v->dtype || !urc_shape_eq(&t->shape, &v->shape)) {
            if (t) urc_tensor_free(t);
            t = random_tensor(v->dtype, &v->shape);
        }
        ins[i] = t;
    }
    free(npy);
    return ins;
}

static void check_model(const char *path) {
    const char *e = getenv("UNETRC_TEST_BIG_INTERP");
    urc_options o0 = {.import = {.max_bytes = (uint64_t)1 << 32}, .align = 64, .no_opt = true};
    urc_options o1 = o0;
    o1.no_opt = false;
    urc_diag_reset(path);
    urc_graph *g0 = urc_build_graph(path, &o0);
    urc_graph *g1 = g0 ? urc_build_graph(path, &o1) : NULL;
    if (!g0 || !g1) {
        FAIL("%s: %s", path, urc_diag_message());
        return;
    }
    urc_stats st;
    urc_graph_stats(g0, &st);
    bool run = st.macs <= 2000000000LL || (e && !strcmp(e, "1")); /* the interpreter is slow */
    /* expected rewrites */
    int erf0 = count_ops(g0, URC_OP_ERF), erf1 = count_ops(g1, URC_OP_ERF);
    int gelu1 = count_ops(g1, URC_OP_GELU) + count_fused_act(g1, URC_ACT_GELU);
    int fused1 = count_ops(g1, URC_OP_FUSED_MATMUL);
    int mm0 = count_ops(g0, URC_OP_MATMUL), mm1 = count_ops(g1, URC_OP_MATMUL);
    checks++;
    if (erf0 && (erf1 || gelu1 != erf0 + count_ops(g0, URC_OP_GELU) || fused1 < 3 * erf0))
        FAIL("%s: rewrites: Erf %d -> %d, Gelu (incl. fused) %d, FusedMatMul %d (expected 0 Erf, %d Gelu, >= %d "
             "FusedMatMul)",
             path, erf0, erf1, gelu1, fused1, erf0, 3 * erf0);
    int sm0 = count_ops(g0, URC_OP_SOFTMAX), att1 = count_ops(g1, URC_OP_ATTENTION);
    if (mm1 + fused1 + 2 * att1 != mm0)
        FAIL("%s: %d MatMul became %d MatMul + %d FusedMatMul + %d Attention", path, mm0, mm1, fused1, att1);
    if (erf0 && att1 != sm0) FAIL("%s: %d Softmax but %d Attention", path, sm0, att1);
    printf("%s: %d nodes -> %d; Erf %d -> %d, Gelu %d, MatMul %d -> %d + %d FusedMatMul + %d Attention\n", path,
           g0->nodes.len, g1->nodes.len, erf0, erf1, gelu1, mm0, mm1, fused1, att1);
    if (!run) {
        printf("  (%.1f GMAC: interpreter comparison skipped; UNETRC_TEST_BIG_INTERP=1 runs it)\n", st.macs * 1e-9);
        return;
    }
    urc_tensor **ins = model_inputs(path, g0);
    urc_tensor **r0 = calloc((size_t)g0->outputs.len + 1, sizeof *r0),
               **r1 = calloc((size_t)g1->outputs.len + 1, sizeof *r1);
    checks++;
    if (!urc_interp_run(g0, ins, r0) || !urc_interp_run(g1, ins, r1)) {
        FAIL("%s: interpreter: %s", path, urc_diag_message());
        return;
    }
    for (int i = 0; i < g0->outputs.len; i++) {
        double rel;
        if (!close_enough(r0[i], r1[i], 1e-5, &rel))
            FAIL("%s: output %d differs after the passes: relative %g", path, i, rel);
        else printf("  output %d: -O0 vs optimised relative difference %.3g\n", i, rel);
        urc_tensor_free(r0[i]);
        urc_tensor_free(r1[i]);
    }
    for (int i = 0; i < g0->inputs.len; i++) urc_tensor_free(ins[i]);
    free(ins);
    free(r0);
    free(r1);
}

/* ---- 2. kernels: generated C against the interpreter ----------------------- */

typedef struct kbuild {
    urc_graph *g;
    urc_tensor *ins[256];
    int nins;
    int ncase;
} kbuild;

static urc_value *kin(kbuild *b, urc_dtype dt, urc_shape s, bool constant) {
    urc_tensor *t = random_tensor(dt, &s);
    if (constant) {
        urc_value *v = urc_const_new(b->g, NULL, t);
        v->flags |= URC_VAL_PARAM;
        return v;
    }
    urc_value *v = urc_value_new(b->g, urc_fmt("in%d", b->nins));
    urc_value_set_type(v, dt, &s);
    v->flags |= URC_VAL_INPUT;
    URC_VEC_PUSH(b->g->inputs, v);
    b->ins[b->nins++] = t;
    return v;
}

static urc_node *knode(kbuild *b, urc_op op, int nin, urc_value *x0, urc_value *x1, urc_value *x2, urc_value *x3) {
    urc_node *n = urc_node_new(b->g, op, urc_fmt("case%d", b->ncase++), nin, 1);
    urc_value *xs[4] = {x0, x1, x2, x3};
    for (int j = 0; j < nin; j++) n->in[j] = xs[j];
    urc_value *y = urc_value_new(b->g, urc_fmt("out%d", b->ncase - 1));
    y->producer = n;
    y->flags |= URC_VAL_OUTPUT;
    n->out[0] = y;
    URC_VEC_PUSH(b->g->outputs, y);
    if (op == URC_OP_GEMM || op == URC_OP_FUSED_MATMUL) n->a.gemm.alpha = n->a.gemm.beta = 1;
    return n;
}

#define S(...) ((urc_shape){(int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), {__VA_ARGS__}})

static void mm(kbuild *b, urc_dtype dt, urc_shape as, urc_shape bs, bool cb) {
    knode(b, URC_OP_MATMUL, 2, kin(b, dt, as, false), kin(b, dt, bs, cb), NULL, NULL);
}

static void gemm(kbuild *b, int64_t M, int64_t K, int64_t N, int ta, int tb, bool cb, urc_shape *cs, double alpha,
                 double beta) {
    urc_value *a = kin(b, URC_DT_F32, ta ? S(K, M) : S(M, K), false);
    urc_value *w = kin(b, URC_DT_F32, tb ? S(N, K) : S(K, N), cb);
    urc_value *c = cs ? kin(b, URC_DT_F32, *cs, false) : NULL;
    urc_node *n = knode(b, URC_OP_GEMM, cs ? 3 : 2, a, w, c, NULL);
    n->a.gemm.trans_a = ta;
    n->a.gemm.trans_b = tb;
    n->a.gemm.alpha = alpha;
    n->a.gemm.beta = beta;
}

static void fused(kbuild *b, urc_dtype dt, urc_shape as, urc_shape bs, urc_shape *bias, urc_shape *res, urc_act act,
                  bool cb) {
    urc_value *x2 = bias ? kin(b, dt, *bias, true) : NULL;
    urc_value *x3 = res ? kin(b, dt, *res, false) : NULL;
    urc_node *n = knode(b, URC_OP_FUSED_MATMUL,
                        res    ? 4
                        : bias ? 3
                               : 2,
                        kin(b, dt, as, false), kin(b, dt, bs, cb), x2, x3);
    n->a.gemm.act = act;
    n->a.gemm.act_alpha = act == URC_ACT_SWISH ? 1.5 : 0.1; /* LeakyRelu's slope, Swish's factor */
}

static void attn(kbuild *b, urc_dtype dt, urc_shape qs, urc_shape kts, urc_shape vs, double scale) {
    urc_node *n =
        knode(b, URC_OP_ATTENTION, 3, kin(b, dt, qs, false), kin(b, dt, kts, false), kin(b, dt, vs, false), NULL);
    n->a.attention.scale = scale;
}

/* with a constant score factor per batch element (UNETR++'s temperature [H, 1, 1]) */
static void attn_t(kbuild *b, urc_shape qs, urc_shape kts, urc_shape vs, urc_shape ts, double scale) {
    urc_node *n = knode(b, URC_OP_ATTENTION, 3, kin(b, URC_DT_F32, qs, false), kin(b, URC_DT_F32, kts, false),
                        kin(b, URC_DT_F32, vs, false), NULL);
    n->a.attention.scale = scale;
    urc_value **in = urc_alloc(7 * sizeof *in); /* inputs 3-5 (bias, index, mask) empty, 6 the factor */
    memcpy(in, n->in, 3 * sizeof *in);
    in[6] = kin(b, URC_DT_F32, ts, true);
    n->in = in;
    n->nin = 7;
}

/* layout 1: q and v from one packed qkv [B, L, 3, H, D], Y [B, L, H, D] */
static void attn_qkv(kbuild *b, int64_t B, int64_t L, int64_t H, int64_t D, double scale) {
    urc_value *r = kin(b, URC_DT_F32, S(B, L, 3, H, D), false);
    urc_node *n = knode(b, URC_OP_ATTENTION, 3, r, kin(b, URC_DT_F32, S(B, H, D, L), false), r, NULL);
    n->a.attention.scale = scale;
    n->a.attention.layout = 1;
}

/* A constant int32 tensor of values in [0, n). */
static urc_value *kints(kbuild *b, urc_shape s, int n) {
    urc_tensor *t = urc_tensor_new(URC_DT_I32, &s);
    for (int64_t i = 0; i < urc_shape_numel(&s); i++)
        ((int32_t *)t->data)[i] = (int32_t)(rnd() * 0.5 * n + 0.5 * n) % n;
    return urc_const_new(b->g, NULL, t);
}

/* Attention with Swin's extras (ops/attention.c): bias 0 none, 1 dense [H, L, S],
 * 2 table [T, H] + index; mask 0 none, 1 dense [nW, L, S], 2 region ids [nW, L]. */
static void attn_x(kbuild *b, urc_dtype dt, int layout, int64_t B, int64_t L, int64_t H, int64_t D, int bias, int mask,
                   int64_t nW) {
    urc_node *n;
    if (layout) { /* 1: v read from the packed qkv; 2: given as V^T [B, H, D, L] */
        urc_value *r = kin(b, dt, S(B, L, 3, H, D), false);
        n = knode(b, URC_OP_ATTENTION, 3, r, kin(b, dt, S(B, H, D, L), false),
                  layout == 2 ? kin(b, dt, S(B, H, D, L), false) : r, NULL);
    } else {
        n = knode(b, URC_OP_ATTENTION, 3, kin(b, dt, S(B, H, L, D), false), kin(b, dt, S(B, H, D, L), false),
                  kin(b, dt, S(B, H, L, D), false), NULL);
    }
    n->a.attention.scale = 0.6;
    n->a.attention.layout = layout;
    n->a.attention.mask_value = -100;
    urc_value **in = urc_alloc(6 * sizeof *in);
    memcpy(in, n->in, 3 * sizeof *in);
    in[3] = bias == 1 ? kin(b, dt, S(H, L, L), true) : bias == 2 ? kin(b, dt, S(7, H), true) : NULL;
    in[4] = bias == 2 ? kints(b, S(L, L), 7) : NULL;
    in[5] = mask == 1 ? kin(b, dt, S(nW, L, L), true) : mask == 2 ? kints(b, S(nW, L), 3) : NULL;
    n->in = in;
    n->nin = 6;
}

static void add_cases(kbuild *b) {
    const urc_dtype F = URC_DT_F32;
    /* plain MatMul, constant (packed) and run-time B, edge tiles in M and N */
    mm(b, F, S(13, 37), S(37, 131), true);
    mm(b, F, S(13, 37), S(37, 131), false);
    mm(b, F, S(6, 64), S(64, 64), true);
    mm(b, F, S(1, 5), S(5, 7), true);
    mm(b, F, S(5, 3), S(3, 1), false);
    mm(b, F, S(100, 9), S(9, 8), true);      /* few panels: row groups */
    mm(b, F, S(7, 2100), S(2100, 70), true); /* K blocks */
    mm(b, F, S(7, 2100), S(2100, 33), false);
    /* batches, broadcasting, 1-D operands */
    mm(b, F, S(2, 3, 13, 17), S(2, 3, 17, 29), false);
    mm(b, F, S(1, 4, 9, 6), S(1, 4, 6, 9), false); /* attention q k^T */
    mm(b, F, S(3, 1, 5, 6), S(4, 6, 7), false);
    mm(b, F, S(2, 8, 11), S(11, 40), true);
    mm(b, F, S(2, 8, 11), S(2, 11, 40), true);
    mm(b, F, S(5), S(5, 7), false);
    mm(b, F, S(3, 5), S(5), true);
    mm(b, F, S(2, 3, 5), S(5), false);
    mm(b, URC_DT_F64, S(9, 21), S(21, 19), true);
    mm(b, URC_DT_F64, S(2, 9, 21), S(2, 21, 19), false);
    /* Gemm */
    urc_shape c1 = S(31), c2 = S(13, 1), c3 = S(1), c4 = S(13, 31);
    gemm(b, 13, 17, 31, 0, 0, true, &c1, 1, 1);
    gemm(b, 13, 17, 31, 1, 0, false, &c2, 0.5, 2);
    gemm(b, 13, 17, 31, 0, 1, true, &c3, 1, 0.25);
    gemm(b, 13, 17, 31, 1, 1, false, &c4, -1, 1); /* run-time transposed B: plain kernel */
    gemm(b, 13, 17, 31, 0, 1, false, NULL, 2, 1);
    gemm(b, 13, 300, 31, 0, 0, true, &c4, 1, 0); /* beta 0: C not read */
    /* FusedMatMul: every activation, bias and residual shapes */
    urc_shape bn = S(70), b1n = S(1, 1, 70), rs = S(2, 9, 70), rb = S(9, 70), rn = S(70);
    fused(b, F, S(2, 9, 33), S(33, 70), &bn, NULL, URC_ACT_GELU, true);
    fused(b, F, S(2, 9, 33), S(33, 70), &bn, &rs, URC_ACT_NONE, true);
    fused(b, F, S(2, 9, 33), S(33, 70), &b1n, &rs, URC_ACT_RELU, true);
    fused(b, F, S(2, 9, 33), S(33, 70), &bn, &rb, URC_ACT_LEAKY_RELU, true);
    fused(b, F, S(2, 9, 33), S(33, 70), NULL, &rn, URC_ACT_SIGMOID, true);
    fused(b, F, S(2, 9, 33), S(33, 70), &bn, NULL, URC_ACT_GELU_TANH, false);
    fused(b, F, S(2, 9, 33), S(2, 33, 70), NULL, NULL, URC_ACT_RELU, false);
    fused(b, F, S(7, 2100), S(2100, 70), &bn, NULL, URC_ACT_GELU, true); /* K blocks with epilogue */
    urc_shape r2 = S(7, 70);
    fused(b, F, S(7, 2100), S(2100, 70), &bn, &r2, URC_ACT_NONE, true);
    fused(b, URC_DT_F64, S(9, 21), S(21, 19), NULL, NULL, URC_ACT_GELU, true);
    /* Swish (ops/activation.c: vectorised sigmoid in float32, libm in float64) and Tanh */
    fused(b, F, S(2, 9, 33), S(33, 70), &bn, &rs, URC_ACT_SWISH, true);
    fused(b, F, S(2, 9, 33), S(2, 33, 70), NULL, NULL, URC_ACT_SWISH, false);
    fused(b, F, S(7, 2100), S(2100, 70), &bn, &r2, URC_ACT_SWISH, true); /* K blocks with epilogue */
    fused(b, URC_DT_F64, S(9, 21), S(21, 19), NULL, NULL, URC_ACT_SWISH, true);
    fused(b, F, S(2, 9, 33), S(33, 70), &bn, NULL, URC_ACT_TANH, false);
    /* batch folded into M (B unbatched): UNETR++'s token projection per head, a residual of the full shape */
    urc_shape r4 = S(1, 4, 8, 70);
    fused(b, F, S(1, 4, 8, 2100), S(2100, 70), &bn, &r4, URC_ACT_NONE, true);
    fused(b, F, S(3, 2, 5, 40), S(40, 19), NULL, NULL, URC_ACT_NONE, false);
    /* Attention: edge row blocks and column panels, no batch, float64 */
    attn(b, F, S(1, 3, 13, 8), S(1, 3, 8, 21), S(1, 3, 21, 5), 0.35);
    attn(b, F, S(2, 37, 64), S(2, 64, 75), S(2, 75, 70), 0.125);
    attn(b, F, S(7, 3), S(3, 9), S(9, 2), 1.0);
    attn(b, URC_DT_F64, S(2, 11, 6), S(2, 6, 13), S(2, 13, 17), 2.0);
    attn_qkv(b, 2, 13, 4, 6, 0.4);
    /* per-head factors: UNETR++'s spatial ([h, N, d] x [h, d, P]) and channel ([h, d, N] x [h, N, d]) attention */
    attn_t(b, S(1, 4, 37, 8), S(1, 4, 8, 16), S(1, 4, 16, 8), S(4, 1, 1), 1.0);
    attn_t(b, S(2, 3, 8, 300), S(2, 3, 300, 8), S(2, 3, 8, 300), S(1, 3, 1, 1), 0.5);
    attn_t(b, S(2, 3, 5, 7), S(2, 3, 7, 9), S(2, 3, 9, 4), S(2, 1, 1, 1), 1.0);
    attn_qkv(b, 1, 70, 3, 64, 0.125);
    /* Swin: relative-position bias and shifted-window mask, dense and compact, narrow heads (the
     * dot-product output) and wide ones (register tiles) */
    attn_x(b, F, 1, 6, 27, 3, 2, 2, 2, 3);
    attn_x(b, F, 1, 4, 20, 2, 16, 2, 2, 2);
    attn_x(b, F, 0, 4, 13, 2, 5, 1, 1, 2);
    attn_x(b, F, 0, 3, 19, 3, 3, 0, 2, 3);
    attn_x(b, F, 1, 2, 9, 4, 2, 1, 0, 1);
    attn_x(b, URC_DT_F64, 0, 4, 11, 2, 3, 2, 2, 2);
    /* layout 2 (V^T given): 7^3-token windows in chunks of row blocks sharing their bias rows over
     * the batch, the last chunk short and ending in a one-row block; heads of 8 (the register-tile
     * output at 128 bits) */
    attn_x(b, F, 2, 2, 343, 3, 2, 2, 2, 2);
    attn_x(b, F, 2, 3, 50, 2, 8, 2, 2, 3);
    attn_x(b, URC_DT_F64, 2, 2, 29, 2, 4, 2, 0, 1);
    /* rows of far-apart scores (Q scaled by 300: terms below e^-64 of the row's largest, which the softmax sets to
     * 0), a NaN score and an infinite one (NaN rows, as the reference makes them), with the compact mask */
    for (int layout = 0; layout < 3; layout += 2) {
        attn_x(b, F, layout, 2, 37, 2, 8, 2, 2, 2);
        const urc_node *n = b->g->nodes.items[b->g->nodes.len - 1];
        urc_tensor *q = NULL; /* (Q or the packed qkv: the node's input 0, whichever kin made first) */
        for (int i = 0; i < b->nins; i++)
            if (b->g->inputs.items[i] == n->in[0]) q = b->ins[i];
        int64_t qs = layout ? 3 * 2 * 8 : 8; /* (layout 2: q is R[:, i, 0, h, :] of the packed [B, L, 3, H, D]) */
        float *qd = q->data;
        for (int64_t d = 0; d < 8; d++) qd[d] *= 300; /* row 0 of batch 0, head 0 */
        qd[qs] = NAN;                                 /* row 1 */
        qd[2 * qs + 1] = INFINITY;                    /* row 2 */
    }
}

static void check_kernels(const char *target, int vector_bits, const char *cflags) {
    urc_diag_reset(target);
    kbuild b = {urc_graph_new(), {0}, 0, 0};
    b.g->opset = 17;
    add_cases(&b);
    urc_options o = {.import = {.max_bytes = (uint64_t)1 << 32}, .align = 64};
    checks++;
    if (!urc_target_lookup(target, &o.target)) {
        FAIL("kernels: unknown target %s", target);
        return;
    }
    o.target.vector_bits = vector_bits;
    if (!urc_graph_toposort(b.g) || !urc_pass_infer(b.g, false, (uint64_t)1 << 32)) {
        FAIL("kernels: building the case graph: %s", urc_diag_message());
        return;
    }
    int no = b.g->outputs.len;
    urc_tensor **ref = calloc((size_t)no, sizeof *ref), **got = calloc((size_t)no, sizeof *got);
    if (!urc_interp_run(b.g, b.ins, ref)) {
        FAIL("kernels: interpreter: %s", urc_diag_message());
        return;
    }
    urc_program *P = urc_build_program(b.g, "mm", &o, NULL);
    urc_run_opts ro = {.cflags = cflags, .model_name = "test_passes kernels", .threads = 2};
    if (!P || !urc_backend_from_env()->run(P, b.ins, got, &ro)) {
        FAIL("kernels (%s, %d bits): %s", target, vector_bits, urc_diag_message());
        return;
    }
    int bad = 0;
    for (int i = 0; i < no; i++) {
        double rel;
        const urc_node *n = b.g->outputs.items[i]->producer;
        if (!close_enough(ref[i], got[i], 1e-4, &rel)) {
            FAIL("kernels (%s, %d bits): %s %s x %s: relative %g", target, vector_bits, urc_ops[n->op].name,
                 urc_shape_str(&n->in[0]->shape), urc_shape_str(&n->in[1]->shape), rel);
            bad++;
        }
        urc_tensor_free(ref[i]);
        urc_tensor_free(got[i]);
    }
    printf("kernels (%s, %d-bit vectors, %s): %d cases, %d wrong\n", target, vector_bits, cflags, no, bad);
    free(ref);
    free(got);
}

int main(int argc, char **argv) {
    bool kernels = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-kernels")) {
            kernels = false;
            continue;
        }
        check_model(argv[i]);
    }
    if (kernels) {
        check_kernels("x86-64-v4", 512, "-std=c11 -O3 -march=native -fopenmp"); /* fma where the CPU has it */
        check_kernels("x86-64-v3", 256, "-std=c11 -O1");
        check_kernels("generic", 128, "-std=c11 -O2 -fopenmp");
    }
    printf("test_passes: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
