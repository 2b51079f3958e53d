/* test_norm_passes.c: the norm passes (norm_patterns, fuse_norm), the norm
 * kernels, the softmax kernels and the reductions against the reference
 * interpreter.
 *
 *   test_norm_passes MODELS_DIR     (tests/norm/models)
 *
 * 1. Hand-built graphs (Neg of the inputs, then Instance/Batch/GroupNorm
 *    followed by activations and residual adds, several shapes; the norms run
 *    in place over the Neg results) are run through the interpreter, then
 *    through urc_pass_fuse_norm (the expected number of FusedNorm nodes is
 *    checked), optionally rewritten to channels-last (as the layout pass
 *    does: Transposes around each norm, `channels_last` set), and run again
 *    through the interpreter and as generated C. Everything must agree with
 *    the first run to 1e-5 of the output's largest magnitude.
 * 3. Softmax/LogSoftmax/Hardmax kernels (last axis, inner axes, tails,
 *    -inf and NaN, float64, opset-11 coercion) and reductions (contiguous
 *    runs in lanes, other axes) against the interpreter, tiled for 512- and
 *    128-bit vectors.
 * 2. The ONNX models in MODELS_DIR (gen_norm_models.py) are compiled with and
 *    without -O0; the op counts after the passes are checked, and the
 *    interpreter (both graphs) and the generated C (optimised graph) must
 *    match NAME.expected.npy.
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
#include "ir/ir.h"
#include "passes/memplan.h"
#include "passes/passes.h"

#define URC_TEST_SEED 2024
#include "test_util.h"

/* ---- building graphs ------------------------------------------------------------ */

static urc_graph *G;

static urc_value *input(const char *name, urc_dtype dt, const urc_shape *s) {
    urc_value *v = urc_value_new(G, name);
    urc_value_set_type(v, dt, s);
    v->flags |= URC_VAL_INPUT;
    URC_VEC_PUSH(G->inputs, v);
    return v;
}

/* A constant of n elements: lo + (hi - lo) * uniform. */
static urc_value *vec(const char *name, urc_dtype dt, int64_t n, double lo, double hi) {
    urc_shape s = {1, {n}};
    urc_tensor *t = urc_tensor_new(dt, &s);
    for (int64_t i = 0; i < n; i++) urc_elem_set_f64(dt, t->data, i, lo + (hi - lo) * (rnd() + 1) / 2);
    urc_value *v = urc_const_new(G, urc_fmt("%s_%d", name, G->values.len), t); /* names must be unique */
    v->flags |= URC_VAL_PARAM;
    return v;
}

static urc_node *node(urc_op op, int nin, urc_value *a, urc_value *b, urc_value *c, urc_value *d, urc_value *e) {
    urc_node *n = urc_node_new(G, op, NULL, nin, 1);
    urc_value *ins[5] = {a, b, c, d, e};
    for (int j = 0; j < nin; j++) n->in[j] = ins[j];
    urc_value *y = urc_value_new(G, NULL);
    y->producer = n;
    n->out[0] = y;
    return n;
}

static urc_value *norm(urc_op op, urc_value *x, urc_dtype dt, int64_t C, int64_t groups, bool per_channel, double eps) {
    int64_t pc = op == URC_OP_GROUP_NORM && !per_channel ? groups : C;
    urc_node *n = op == URC_OP_BATCH_NORM
                      ? node(op, 5, x, vec("s", dt, C, 0.5, 1.5), vec("b", dt, C, -0.3, 0.3), vec("m", dt, C, -1, 1),
                             vec("v", dt, C, 0.5, 2))
                      : node(op, 3, x, vec("s", dt, pc, 0.5, 1.5), vec("b", dt, pc, -0.3, 0.3), NULL, NULL);
    n->a.norm.epsilon = eps;
    n->a.norm.stash_type = 1;
    n->a.norm.num_groups = groups;
    n->a.norm.per_channel = per_channel;
    return n->out[0];
}

static urc_value *lrelu(urc_value *x, double alpha) {
    urc_node *n = node(URC_OP_LEAKY_RELU, 1, x, NULL, NULL, NULL, NULL);
    n->a.unary.alpha = alpha;
    return n->out[0];
}

static urc_value *relu(urc_value *x) { return node(URC_OP_RELU, 1, x, NULL, NULL, NULL, NULL)->out[0]; }

static urc_value *prelu(urc_value *x, urc_dtype dt, double slope) {
    urc_shape s = {1, {1}};
    urc_tensor *t = urc_tensor_new(dt, &s);
    urc_elem_set_f64(dt, t->data, 0, slope);
    return node(URC_OP_PRELU, 2, x, urc_const_new(G, NULL, t), NULL, NULL, NULL)->out[0];
}

static urc_value *neg(urc_value *x) { return node(URC_OP_NEG, 1, x, NULL, NULL, NULL, NULL)->out[0]; }

static urc_value *add(urc_value *a, urc_value *b) { return node(URC_OP_ADD, 2, a, b, NULL, NULL, NULL)->out[0]; }

static void output(urc_value *v) {
    v->flags |= URC_VAL_OUTPUT;
    URC_VEC_PUSH(G->outputs, v);
}

/* ---- channels-last rewrite (what the layout pass does for norms) ------------------ */

static urc_value *transpose(urc_value *x, bool to_last) {
    int r = x->shape.rank;
    urc_node *t = node(URC_OP_TRANSPOSE, 1, x, NULL, NULL, NULL, NULL);
    t->opset = 13;
    t->a.movement.nperm = r;
    for (int i = 0; i < r; i++)
        t->a.movement.perm[i] = to_last ? (i == 0 ? 0 : i == r - 1 ? 1 : i + 1) : (i == 0 ? 0 : i == 1 ? r - 1 : i - 1);
    urc_ops[URC_OP_TRANSPOSE].impl->infer(t);
    return t->out[0];
}

static bool to_channels_last(urc_graph *g) {
    int n0 = g->nodes.len;
    for (int i = 0; i < n0; i++) {
        urc_node *n = g->nodes.items[i];
        bool stat = n->op == URC_OP_INSTANCE_NORM || n->op == URC_OP_BATCH_NORM || n->op == URC_OP_GROUP_NORM ||
                    n->op == URC_OP_FUSED_NORM;
        if (!stat || n->in[0]->shape.rank < 3) continue;
        n->in[0] = transpose(n->in[0], true);
        if (n->op == URC_OP_FUSED_NORM && n->a.norm.residual) n->in[5] = transpose(n->in[5], true);
        n->a.norm.channels_last = true;
        urc_value *y = n->out[0];
        urc_value *ycl = urc_value_new(g, NULL);
        n->out[0] = ycl;
        ycl->producer = n;
        if (!urc_ops[n->op].impl->infer(n)) return false;
        urc_node *t = node(URC_OP_TRANSPOSE, 1, ycl, NULL, NULL, NULL, NULL);
        t->opset = 13;
        int r = ycl->shape.rank;
        t->a.movement.nperm = r;
        for (int d = 0; d < r; d++) t->a.movement.perm[d] = d == 0 ? 0 : d == 1 ? r - 1 : d - 1;
        /* The Transpose back produces y itself so its readers are unchanged. */
        urc_value *tmp = t->out[0];
        t->out[0] = y;
        y->producer = t;
        tmp->producer = NULL;
        if (!urc_ops[URC_OP_TRANSPOSE].impl->infer(t)) return false;
    }
    return urc_graph_toposort(g) && urc_graph_verify(g, "channels-last");
}

/* ---- comparing ---------------------------------------------------------------------- */

static bool close_to(const urc_tensor *ref, const urc_tensor *got, double tol, const char *what, const char *name) {
    if (!urc_shape_eq(&ref->shape, &got->shape)) {
        printf("FAIL %s: %s shape %s, expected %s\n", name, what, urc_shape_str(&got->shape),
               urc_shape_str(&ref->shape));
        return false;
    }
    double mx = 0, err = 0;
    int64_t worst = 0;
    for (int64_t i = 0; i < urc_tensor_numel(ref); i++) {
        double r = urc_elem_f64(ref->dtype, ref->data, i), o = urc_elem_f64(got->dtype, got->data, i);
        if (fabs(r) > mx) mx = fabs(r);
        double e = fabs(r - o);
        if (!(e <= err)) err = e, worst = i;
    }
    if (!(err <= tol * (mx > 0 ? mx : 1))) {
        printf("FAIL %s: %s differs by %g at %lld (max |ref| %g)\n", name, what, err, (long long)worst, mx);
        return false;
    }
    return true;
}

static bool is_norm(urc_op op) {
    return op == URC_OP_INSTANCE_NORM || op == URC_OP_BATCH_NORM || op == URC_OP_GROUP_NORM ||
           op == URC_OP_FUSED_NORM || op == URC_OP_LAYER_NORM;
}

/* Norm nodes the memory plan runs in place. */
static int inplace_norms(urc_graph *g) {
    urc_memplan *plan = urc_memplan_run(g, 64);
    int c = 0;
    for (int i = 0; i < g->nodes.len; i++) c += plan->inplace[i] && is_norm(g->nodes.items[i]->op);
    return c;
}

static const char *target_cpu; /* NULL: host */

static bool run_c(urc_graph *g, urc_tensor *const *ins, urc_tensor **outs, const char *name) {
    urc_options o = {.align = 64};
    if (target_cpu) urc_target_lookup(target_cpu, &o.target);
    urc_program *P = urc_build_program(g, "model", &o, NULL);
    if (!P) {
        printf("FAIL %s: lowering: %s\n", name, urc_diag_message() ? urc_diag_message() : "?");
        return false;
    }
    urc_run_opts ro = {
        .cflags = "-std=c11 -O2 -fopenmp -Wall -Wextra -Werror", .model_name = name, .opset = g->opset, .threads = 2};
    if (!urc_backend_from_env()->run(P, ins, outs, &ro)) {
        printf("FAIL %s: generated C: %s\n", name, urc_diag_message() ? urc_diag_message() : "?");
        return false;
    }
    return true;
}

/* G (built by hand) on `in`: the interpreter's output in *ref, the generated C's for `target` in *got. */
static bool ref_and_c(urc_tensor *in, urc_tensor **ref, urc_tensor **got, const char *name, const char *target) {
    if (!(urc_graph_toposort(G) && urc_pass_infer(G, false, (uint64_t)1 << 32) && urc_interp_run(G, &in, ref))) {
        printf("FAIL %s: %s\n", name, urc_diag_message() ? urc_diag_message() : "?");
        return false;
    }
    target_cpu = target;
    bool ok = run_c(G, &in, got, name);
    target_cpu = NULL;
    return ok;
}

/* Prints "ok NAME" when ok; frees the case's tensors. */
static bool finish(bool ok, const char *name, urc_tensor *in, urc_tensor *ref, urc_tensor *got) {
    if (ok) printf("ok %s\n", name);
    urc_tensor_free(in);
    urc_tensor_free(ref);
    urc_tensor_free(got);
    return ok;
}

/* ---- hand-built cases ------------------------------------------------------------------ */

typedef struct kcase {
    const char *name;
    int kind; /* what graph to build (see build) */
    urc_op op;
    urc_shape shape;
    urc_dtype dt;
    int64_t groups;
    bool per_channel;
    double offset; /* added to the inputs (a large mean tests the shifted sums) */
    int fused;     /* FusedNorm nodes expected after the pass */
} kcase;

enum {
    K_LRELU,
    K_RELU,
    K_PRELU,
    K_RES_NORM,
    K_RES_VALUE,
    K_RES_VALUE_FIRST,
    K_RES_ACT,
    K_PLAIN,
    K_TWO_USERS,
    K_OUT_USED
};

static bool build(const kcase *kc, urc_tensor **ins, int *nins) {
    G = urc_graph_new();
    G->opset = 17;
    G->name = kc->name;
    /* The inputs go through Neg: the norm then reads arena values that die
     * there, which the memory plan may overwrite in place. */
    urc_value *a = neg(input("a", kc->dt, &kc->shape)), *b = NULL;
    urc_value *y = NULL;
    urc_value *na = norm(kc->op, a, kc->dt, kc->shape.dims[1], kc->groups, kc->per_channel, 1e-5);
    switch (kc->kind) {
    case K_LRELU: y = lrelu(na, 0.01); break;
    case K_RELU: y = relu(na); break;
    case K_PRELU: y = prelu(na, kc->dt, 0.25); break;
    case K_RES_NORM:
        b = neg(input("b", kc->dt, &kc->shape));
        y = lrelu(add(na, norm(kc->op, b, kc->dt, kc->shape.dims[1], kc->groups, kc->per_channel, 1e-3)), 0.01);
        break;
    case K_RES_VALUE:
        b = neg(input("b", kc->dt, &kc->shape));
        y = lrelu(add(na, b), 0.02);
        break;
    case K_RES_VALUE_FIRST: /* Add(b, norm) with no activation after */
        b = neg(input("b", kc->dt, &kc->shape));
        y = add(b, na);
        break;
    case K_RES_ACT: /* act before and after the residual */
        b = neg(input("b", kc->dt, &kc->shape));
        y = relu(add(lrelu(na, 0.1), b));
        break;
    case K_PLAIN: y = na; break;
    case K_TWO_USERS: /* the norm is read twice: nothing to fuse */ y = add(lrelu(na, 0.01), na); break;
    case K_OUT_USED: /* the norm is also a graph output: nothing to fuse */
        output(na);
        y = relu(na);
        break;
    }
    output(neg(y)); /* not the norm itself: it may run in place */
    *nins = G->inputs.len;
    for (int j = 0; j < *nins; j++) {
        ins[j] = urc_tensor_new(kc->dt, &kc->shape);
        for (int64_t i = 0; i < urc_tensor_numel(ins[j]); i++)
            urc_elem_set_f64(kc->dt, ins[j]->data, i, kc->offset + 2 * rnd() + 0.5 * (double)(i % 7));
    }
    return urc_graph_toposort(G) && urc_pass_infer(G, false, (uint64_t)1 << 32);
}

static const kcase kcases[] = {
    {"in_lrelu", K_LRELU, URC_OP_INSTANCE_NORM, {5, {1, 16, 6, 7, 5}}, URC_DT_F32, 0, false, 0, 1},
    {"in_relu_2d", K_RELU, URC_OP_INSTANCE_NORM, {4, {2, 3, 9, 11}}, URC_DT_F32, 0, false, 0, 1},
    {"in_prelu", K_PRELU, URC_OP_INSTANCE_NORM, {5, {1, 8, 4, 4, 4}}, URC_DT_F32, 0, false, 0, 1},
    {"in_res_norm", K_RES_NORM, URC_OP_INSTANCE_NORM, {5, {1, 16, 6, 7, 5}}, URC_DT_F32, 0, false, 0, 1},
    {"in_res_value", K_RES_VALUE, URC_OP_INSTANCE_NORM, {5, {1, 32, 5, 6, 4}}, URC_DT_F32, 0, false, 0, 1},
    {"in_res_value_first", K_RES_VALUE_FIRST, URC_OP_INSTANCE_NORM, {5, {1, 4, 5, 6, 4}}, URC_DT_F32, 0, false, 0, 1},
    {"in_res_act", K_RES_ACT, URC_OP_INSTANCE_NORM, {5, {1, 16, 3, 4, 5}}, URC_DT_F32, 0, false, 0, 1},
    /* S * C >= 32768: the chunked channels-last statistics; an offset mean */
    {"in_big_offset", K_RES_NORM, URC_OP_INSTANCE_NORM, {5, {1, 16, 40, 40, 25}}, URC_DT_F32, 0, false, 300, 1},
    {"in_batch2", K_LRELU, URC_OP_INSTANCE_NORM, {5, {2, 24, 17, 20, 11}}, URC_DT_F32, 0, false, 0, 1},
    {"in_f64", K_RES_NORM, URC_OP_INSTANCE_NORM, {5, {1, 8, 10, 10, 10}}, URC_DT_F64, 0, false, 1, 1},
    /* channels not a multiple of the vector width (Swin's 6 and 12): the channels-last apply pass
     * over coefficients repeated to lcm(C, lanes), elements past the last whole period one by one */
    {"in_c6_res_tail", K_RES_NORM, URC_OP_INSTANCE_NORM, {5, {1, 6, 5, 7, 3}}, URC_DT_F32, 0, false, 0, 1},
    {"in_c12_lrelu_tail", K_LRELU, URC_OP_INSTANCE_NORM, {5, {1, 12, 9, 7, 5}}, URC_DT_F32, 0, false, 0, 1},
    {"in_c6_big", K_RES_ACT, URC_OP_INSTANCE_NORM, {5, {1, 6, 40, 40, 25}}, URC_DT_F32, 0, false, 0, 1},
    /* many channels: the naive channels-last twin */
    {"in_wide", K_LRELU, URC_OP_INSTANCE_NORM, {5, {1, 1200, 3, 4, 3}}, URC_DT_F32, 0, false, 0, 1},
    {"in_plain", K_PLAIN, URC_OP_INSTANCE_NORM, {5, {1, 16, 9, 8, 7}}, URC_DT_F32, 0, false, 0, 0},
    {"in_two_users", K_TWO_USERS, URC_OP_INSTANCE_NORM, {5, {1, 16, 4, 4, 4}}, URC_DT_F32, 0, false, 0, 0},
    {"in_out_used", K_OUT_USED, URC_OP_INSTANCE_NORM, {5, {1, 16, 4, 4, 4}}, URC_DT_F32, 0, false, 0, 0},
    {"bn_relu", K_RELU, URC_OP_BATCH_NORM, {5, {1, 16, 6, 7, 5}}, URC_DT_F32, 0, false, 0, 1},
    {"bn_res_value", K_RES_VALUE, URC_OP_BATCH_NORM, {5, {2, 8, 6, 7, 5}}, URC_DT_F32, 0, false, 0, 1},
    {"bn_plain_big", K_PLAIN, URC_OP_BATCH_NORM, {5, {1, 16, 40, 40, 25}}, URC_DT_F32, 0, false, 0, 0},
    {"gn_lrelu", K_LRELU, URC_OP_GROUP_NORM, {5, {1, 16, 6, 7, 5}}, URC_DT_F32, 4, false, 2, 1},
    {"gn_pc_relu", K_RELU, URC_OP_GROUP_NORM, {5, {1, 16, 6, 7, 5}}, URC_DT_F32, 8, true, 0, 1},
    {"gn_res_norm", K_RES_NORM, URC_OP_GROUP_NORM, {5, {1, 32, 20, 20, 10}}, URC_DT_F32, 4, true, 5, 1},
    {"gn_plain_1group", K_PLAIN, URC_OP_GROUP_NORM, {4, {2, 6, 5, 7}}, URC_DT_F32, 1, false, 0, 0},
};

static bool run_kcase(const kcase *kc, bool cl) {
    const char *name = urc_fmt("%s%s", kc->name, cl ? " (channels-last)" : "");
    urc_diag_reset(name);
    urc_tensor *ins[2] = {0}, *ref[2] = {0}, *got[2] = {0};
    int nins = 0;
    bool ok = build(kc, ins, &nins);
    int nout = G->outputs.len;
    ok = ok && urc_interp_run(G, ins, ref);
    ok = ok && urc_pass_fuse_norm(G) && urc_graph_verify(G, "fusenorm");
    if (ok && cl) ok = to_channels_last(G);
    ok = ok && urc_pass_infer(G, false, (uint64_t)1 << 32) && urc_pass_dce(G);
    if (!ok) {
        printf("FAIL %s: %s\n", name, urc_diag_message() ? urc_diag_message() : "pass failed");
        return false;
    }
    int nf = count_ops(G, URC_OP_FUSED_NORM);
    if (nf != kc->fused) {
        printf("FAIL %s: %d FusedNorm after the pass, expected %d\n", name, nf, kc->fused);
        return false;
    }
    double tol = kc->dt == URC_DT_F64 ? 1e-9 : 1e-5;
    if (!urc_interp_run(G, ins, got)) {
        printf("FAIL %s: interpreter after the pass: %s\n", name, urc_diag_message());
        return false;
    }
    for (int i = 0; i < nout && ok; i++) ok = close_to(ref[i], got[i], tol, "interpreter after the pass", name);
    for (int i = 0; i < nout; i++) urc_tensor_free(got[i]), got[i] = NULL;
    ok = ok && run_c(G, ins, got, name);
    for (int i = 0; i < nout && ok; i++) ok = close_to(ref[i], got[i], tol, "generated C", name);
    if (ok) printf("ok %s (%d FusedNorm, %d norm in place)\n", name, nf, inplace_norms(G));
    for (int i = 0; i < nout; i++) urc_tensor_free(ref[i]), urc_tensor_free(got[i]);
    for (int j = 0; j < nins; j++) urc_tensor_free(ins[j]);
    return ok;
}

/* ---- the ONNX models ----------------------------------------------------------------------- */

typedef struct mcase {
    const char *name;
    urc_op op; /* expected after the passes (FusedNorm or the recognised op) */
    int count;
    int nins;
} mcase;

static const mcase mcases[] = {
    {"ln_decomp", URC_OP_LAYER_NORM, 1, 1}, {"ln_decomp_plain", URC_OP_LAYER_NORM, 1, 1},
    {"gn_emul", URC_OP_GROUP_NORM, 1, 1},   {"in_lrelu", URC_OP_FUSED_NORM, 1, 1},
    {"in_res2", URC_OP_FUSED_NORM, 1, 2},   {"in_res1", URC_OP_FUSED_NORM, 1, 2},
    {"bn_relu", URC_OP_FUSED_NORM, 1, 1},
};

static urc_tensor *load_npy(const char *path) {
    const char *err = NULL;
    urc_tensor *t = urc_npy_read(path, (uint64_t)1 << 32, &err);
    if (!t) printf("FAIL: %s: %s\n", path, err ? err : "?");
    return t;
}

static bool run_mcase(const char *dir, const mcase *mc) {
    urc_tensor *ins[2] = {0}, *got[1] = {0};
    urc_tensor *expected = load_npy(urc_fmt("%s/%s.expected.npy", dir, mc->name));
    bool ok = expected != NULL;
    for (int j = 0; j < mc->nins && ok; j++)
        ok = (ins[j] = load_npy(urc_fmt("%s/%s.input%s.npy", dir, mc->name, j ? "1" : ""))) != NULL;
    for (int opt = 0; opt < 2 && ok; opt++) {
        const char *name = urc_fmt("%s%s", mc->name, opt ? "" : " -O0");
        urc_diag_reset(name);
        urc_options o = {.import = {.max_bytes = (uint64_t)1 << 32}, .align = 64, .no_opt = !opt};
        urc_graph *g = urc_build_graph(urc_fmt("%s/%s.onnx", dir, mc->name), &o);
        if (!g) {
            printf("FAIL %s: %s\n", name, urc_diag_message());
            return false;
        }
        if (opt && count_ops(g, mc->op) != mc->count) {
            printf("FAIL %s: %d %s after the passes, expected %d\n", name, count_ops(g, mc->op), urc_ops[mc->op].name,
                   mc->count);
            return false;
        }
        ok = urc_interp_run(g, ins, got) && close_to(expected, got[0], 1e-5, "interpreter", name);
        urc_tensor_free(got[0]);
        got[0] = NULL;
        if (ok && opt) {
            ok = run_c(g, ins, got, name) && close_to(expected, got[0], 1e-5, "generated C", name);
            urc_tensor_free(got[0]);
        }
        if (ok) printf("ok %s\n", name);
    }
    for (int j = 0; j < mc->nins; j++) urc_tensor_free(ins[j]);
    urc_tensor_free(expected);
    return ok;
}

/* ---- single-op kernels (softmax family) vs the interpreter --------------------------- */

typedef struct scase {
    const char *name;
    urc_op op;
    int opset;
    int axis;
    urc_shape shape;
    urc_dtype dt;
    int special; /* 1: some -inf and one NaN row */
} scase;

static const scase scases[] = {
    {"softmax_last_tail", URC_OP_SOFTMAX, 13, -1, {3, {2, 3, 100}}, URC_DT_F32, 0},
    {"softmax_last_short", URC_OP_SOFTMAX, 13, -1, {2, {7, 9}}, URC_DT_F32, 0},
    {"softmax_last_216", URC_OP_SOFTMAX, 13, 2, {3, {12, 216, 216}}, URC_DT_F32, 1},
    {"logsoftmax_last", URC_OP_LOG_SOFTMAX, 13, -1, {2, {5, 200}}, URC_DT_F32, 1},
    {"softmax_channels", URC_OP_SOFTMAX, 13, 1, {5, {1, 14, 20, 30, 20}}, URC_DT_F32, 1},
    {"softmax_channels_small", URC_OP_SOFTMAX, 13, 1, {4, {2, 70, 3, 5}}, URC_DT_F32, 0},
    {"logsoftmax_channels", URC_OP_LOG_SOFTMAX, 13, 1, {4, {2, 6, 50, 41}}, URC_DT_F32, 1},
    {"softmax_f64", URC_OP_SOFTMAX, 13, 1, {3, {3, 40, 33}}, URC_DT_F64, 0},
    {"softmax_opset11_coerced", URC_OP_SOFTMAX, 11, 1, {3, {4, 10, 13}}, URC_DT_F32, 0},
    {"hardmax", URC_OP_HARDMAX, 13, 1, {3, {4, 10, 13}}, URC_DT_F32, 0},
};

static bool run_scase(const scase *sc, const char *target) {
    const char *name = urc_fmt("%s [%s]", sc->name, target);
    urc_diag_reset(name);
    G = urc_graph_new();
    G->opset = sc->opset;
    urc_value *x = input("x", sc->dt, &sc->shape);
    urc_node *n = node(sc->op, 1, x, NULL, NULL, NULL, NULL);
    n->opset = sc->opset;
    n->a.softmax.axis = sc->axis;
    output(n->out[0]);
    urc_tensor *in = urc_tensor_new(sc->dt, &sc->shape), *ref = NULL, *got = NULL;
    int64_t total = urc_tensor_numel(in);
    for (int64_t i = 0; i < total; i++) {
        double v = 4 * rnd();
        if (sc->special && i % 97 == 3) v = -INFINITY;
        if (sc->special && i == total / 2) v = NAN;
        urc_elem_set_f64(sc->dt, in->data, i, v);
    }
    bool ok = ref_and_c(in, &ref, &got, name, target);
    /* NaN where the reference has NaN, else 1e-6 of the largest magnitude
     * (and -inf where it has -inf). */
    for (int64_t i = 0; ok && i < total; i++) {
        double r = urc_elem_f64(sc->dt, ref->data, i), o = urc_elem_f64(sc->dt, got->data, i);
        bool same = (isnan(r) && isnan(o)) || r == o || fabs(r - o) <= 2e-6 * (1 + fabs(r));
        if (!same) {
            printf("FAIL %s: element %lld is %g, reference %g\n", name, (long long)i, o, r);
            ok = false;
        }
    }
    return finish(ok, name, in, ref, got);
}

/* ---- reductions vs the interpreter ------------------------------------------------------ */

typedef struct rcase {
    const char *name;
    urc_op op;
    urc_shape shape;
    int naxes;
    int64_t axes[4];
    int keepdims;
    urc_dtype dt;
} rcase;

static const rcase rcases[] = {
    {"reducemean_last", URC_OP_REDUCE_MEAN, {3, {4, 6, 300}}, 1, {2}, 1, URC_DT_F32},
    {"reducesum_spatial", URC_OP_REDUCE_SUM, {5, {2, 8, 9, 10, 11}}, 4, {0, 2, 3, 4}, 0, URC_DT_F32},
    {"reducemax_last_tail", URC_OP_REDUCE_MAX, {2, {5, 77}}, 1, {1}, 1, URC_DT_F32},
    {"reducemin_2axes", URC_OP_REDUCE_MIN, {3, {3, 40, 50}}, 2, {1, 2}, 0, URC_DT_F32},
    {"reducel2_last", URC_OP_REDUCE_L2, {2, {6, 129}}, 1, {-1}, 1, URC_DT_F32},
    {"reducel1_last_f64", URC_OP_REDUCE_L1, {2, {6, 129}}, 1, {1}, 1, URC_DT_F64},
    {"reducesumsquare", URC_OP_REDUCE_SUM_SQUARE, {3, {2, 3, 1000}}, 1, {2}, 0, URC_DT_F32},
    {"reducelogsumexp", URC_OP_REDUCE_LOG_SUM_EXP, {2, {4, 300}}, 1, {1}, 1, URC_DT_F32},
    {"reducelogsum", URC_OP_REDUCE_LOG_SUM, {2, {4, 300}}, 1, {1}, 1, URC_DT_F32},
    {"reducemean_middle", URC_OP_REDUCE_MEAN, {3, {4, 300, 6}}, 1, {1}, 1, URC_DT_F32},
};

static bool run_rcase(const rcase *rc, const char *target) {
    const char *name = urc_fmt("%s [%s]", rc->name, target);
    urc_diag_reset(name);
    G = urc_graph_new();
    G->opset = 13;
    urc_value *x = input("x", rc->dt, &rc->shape);
    urc_node *n;
    if (rc->op == URC_OP_REDUCE_SUM) { /* axes is an input since opset 13 */
        urc_shape as = {1, {rc->naxes}};
        urc_tensor *t = urc_tensor_new(URC_DT_I64, &as);
        for (int i = 0; i < rc->naxes; i++) ((int64_t *)t->data)[i] = rc->axes[i];
        n = node(rc->op, 2, x, urc_const_new(G, NULL, t), NULL, NULL, NULL);
        n->a.reduce.naxes = -1;
    } else {
        n = node(rc->op, 1, x, NULL, NULL, NULL, NULL);
        n->a.reduce.naxes = rc->naxes;
        memcpy(n->a.reduce.axes, rc->axes, sizeof rc->axes);
    }
    n->opset = 13;
    n->a.reduce.keepdims = rc->keepdims;
    output(n->out[0]);
    urc_tensor *in = urc_tensor_new(rc->dt, &rc->shape), *ref = NULL, *got = NULL;
    for (int64_t i = 0; i < urc_tensor_numel(in); i++) urc_elem_set_f64(rc->dt, in->data, i, 3 * rnd() + 0.5);
    bool ok = ref_and_c(in, &ref, &got, name, target) &&
              close_to(ref, got, rc->dt == URC_DT_F64 ? 1e-12 : 2e-6, "generated C", name);
    return finish(ok, name, in, ref, got);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_norm_passes MODELS_DIR\n");
        return 2;
    }
    int fails = 0, total = 0;
    for (size_t i = 0; i < URC_ARRAY_LEN(kcases); i++)
        for (int cl = 0; cl < 2; cl++) {
            if (cl && kcases[i].shape.rank < 3) continue;
            total++;
            fails += !run_kcase(&kcases[i], cl);
        }
    for (size_t i = 0; i < URC_ARRAY_LEN(mcases); i++) {
        total++;
        fails += !run_mcase(argv[1], &mcases[i]);
    }
    static const char *targets[] = {"x86-64-v4", "generic"}; /* 512- and 128-bit lanes */
    for (size_t i = 0; i < URC_ARRAY_LEN(scases); i++)
        for (size_t t = 0; t < URC_ARRAY_LEN(targets); t++) {
            total++;
            fails += !run_scase(&scases[i], targets[t]);
        }
    for (size_t i = 0; i < URC_ARRAY_LEN(rcases); i++)
        for (size_t t = 0; t < URC_ARRAY_LEN(targets); t++) {
            total++;
            fails += !run_rcase(&rcases[i], targets[t]);
        }
    printf("norm passes: %d cases, %d failed\n", total, fails);
    return fails != 0;
}
