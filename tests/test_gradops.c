/* test_gradops.c: the fast lowerings of the internal gradient ops against
 * the reference interpreter.
 *
 *   test_gradops [FILTER]
 *   test_gradops --bench [FILTER] [THREADS]   (times the UNETR-sized cases instead)
 *
 * Ops: unetrc.ConvGradWeight (ops/convgrad.c), unetrc.GroupNormGrad
 * (ops/normgrad.c). Each case builds a one-node graph by hand (float32 operands in the
 * channels-last form the layout pass gives them), evaluates it with the
 * interpreter, lowers it for several targets (vector widths and cache
 * sizes change the tiles, chunks and parallel parts), builds and runs the
 * C on two threads and compares: |c - ref| <= 2e-5 * max|ref| per output.
 * Channels-first cases check the naive twin. Exit status 0 iff every case
 * passes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "base/diag.h"
#include "driver.h"
#include "interp/interp.h"
#include "ir/ir.h"
#include "ops/spatial.h"
#include "passes/passes.h"
#include "test_util.h"

static const char *const targets[] = {"host", "generic", "x86-64-v3"};

/* Interpreter vs generated C (every target) for graph g with inputs ins. */
static bool compare(urc_graph *g, urc_tensor **ins, const char *name) {
    urc_tensor *ref[8] = {0};
    if (!urc_interp_run(g, ins, ref)) {
        printf("FAIL %s: interpreter: %s\n", name, urc_diag_message());
        return false;
    }
    bool ok = true;
    for (size_t t = 0; t < sizeof targets / sizeof targets[0] && ok; t++) {
        urc_options o = {.align = 64};
        if (!urc_target_lookup(targets[t], &o.target)) return false;
        urc_program *P = urc_build_program(g, "model", &o, NULL);
        if (!P) {
            printf("FAIL %s (%s): lowering: %s\n", name, targets[t], urc_diag_message());
            return false;
        }
        urc_run_opts ro = {.cflags = "-std=c11 -O2 -fopenmp -Wall -Wextra -Werror",
                           .model_name = name,
                           .opset = 17,
                           .threads = 2,
                           .keep_dir = getenv("TEST_GRADOPS_KEEP")};
        urc_tensor *got[8] = {0};
        if (!urc_backend_from_env()->run(P, ins, got, &ro)) {
            printf("FAIL %s (%s): generated C: %s\n", name, targets[t], urc_diag_message());
            return false;
        }
        for (int j = 0; j < g->outputs.len; j++) {
            int64_t n = urc_tensor_numel(ref[j]);
            double mx = 0, err = 0;
            int64_t at = -1;
            for (int64_t i = 0; i < n; i++) {
                double r = urc_elem_f64(ref[j]->dtype, ref[j]->data, i),
                       v = urc_elem_f64(got[j]->dtype, got[j]->data, i);
                mx = fmax(mx, fabs(r));
                if (!(fabs(r - v) <= err)) {
                    err = isnan(v) ? INFINITY : fabs(r - v);
                    at = i;
                }
            }
            if (!(err <= 2e-5 * (mx > 0 ? mx : 1))) {
                printf("FAIL %s (%s): output %d differs by %g at element %lld (max |ref| %g)\n", name, targets[t], j,
                       err, (long long)at, mx);
                ok = false;
            }
            urc_tensor_free(got[j]);
        }
    }
    for (int j = 0; j < g->outputs.len; j++) urc_tensor_free(ref[j]);
    return ok;
}

static bool bench_mode;
static int bench_threads = 1;

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median-sortable times (ms) of `runs` executions of the generated code (host target). */
static bool bench(urc_graph *g, urc_tensor **ins, double *times, int runs) {
    urc_options o = {.align = 64};
    urc_target_lookup("host", &o.target);
    urc_program *P = urc_build_program(g, "model", &o, NULL);
    if (!P) return false;
    urc_run_opts ro = {.cflags = "-std=c11 -O3 -march=native -mprefer-vector-width=512 -fopenmp",
                       .model_name = "bench",
                       .opset = 17,
                       .threads = bench_threads,
                       .bench_runs = runs,
                       .times_ms = times,
                       .keep_dir = getenv("TEST_GRADOPS_KEEP")};
    urc_tensor *got[8] = {0};
    if (!urc_backend_from_env()->run(P, ins, got, &ro)) {
        printf("FAIL bench: %s\n", urc_diag_message());
        return false;
    }
    for (int j = 0; j < g->outputs.len; j++) urc_tensor_free(got[j]);
    qsort(times, (size_t)runs, sizeof *times, cmp_dbl);
    return true;
}

static urc_value *input(urc_graph *g, const char *name, const urc_shape *s) {
    urc_value *v = urc_value_new(g, name);
    urc_value_set_type(v, URC_DT_F32, s);
    v->flags |= URC_VAL_INPUT;
    URC_VEC_PUSH(g->inputs, v);
    return v;
}

static urc_value *output(urc_graph *g, urc_node *n, int slot, const char *name) {
    urc_value *y = urc_value_new(g, name);
    y->producer = n;
    y->producer_slot = slot;
    y->flags |= URC_VAL_OUTPUT;
    n->out[slot] = y;
    URC_VEC_PUSH(g->outputs, y);
    return y;
}

/* ---- unetrc.ConvGradWeight ---------------------------------------------------------- */

typedef struct cgw_case {
    const char *name;
    int nsp;
    int64_t N, C, M, G;
    int64_t in[3], K[3], s[3], d[3], pads[6];
    bool cl;
} cgw_case;

static const cgw_case cgw_cases[] = {
    /* UNETR-like 3x3x3 pad 1 */
    {"c16m16_k3p1", 3, 1, 16, 16, 1, {6, 7, 9}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"c32m16_n2", 3, 2, 32, 16, 1, {5, 4, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"c4m16_lanes_m", 3, 1, 4, 16, 1, {6, 5, 7}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"c1m8", 3, 1, 1, 8, 1, {8, 8, 8}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"c20m5_s2_uneven", 3, 1, 20, 5, 1, {7, 6, 9}, {3, 3, 3}, {2, 1, 2}, {1, 1, 1}, {1, 0, 2, 2, 1, 0}, true},
    {"c40m24_k2s2", 3, 1, 40, 24, 1, {8, 6, 10}, {2, 2, 2}, {2, 2, 2}, {1, 1, 1}, {0, 0, 0, 0, 0, 0}, true},
    {"c24m40_k2s2", 3, 2, 24, 40, 1, {4, 6, 8}, {2, 2, 2}, {2, 2, 2}, {1, 1, 1}, {0, 0, 0, 0, 0, 0}, true},
    {"c16m48_2d_dil2", 2, 1, 16, 48, 1, {9, 11}, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}, true},
    {"c24m24_1d_k5", 1, 2, 24, 24, 1, {17}, {5}, {1}, {1}, {2, 2}, true},
    {"c16m3_1x1", 3, 1, 16, 3, 1, {5, 6, 7}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0, 0, 0, 0}, true},
    {"c8m3_1x1", 3, 1, 8, 3, 1, {5, 6, 7}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0, 0, 0, 0}, true},
    {"c16m16_rows_chunked", 3, 1, 16, 16, 1, {3, 40, 40}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"c3m17_2d_bigpad", 2, 1, 3, 17, 1, {5, 6}, {3, 3}, {1, 1}, {1, 1}, {3, 0, 1, 3}, true},
    {"c1m12_k16s16", 3, 1, 1, 12, 1, {32, 16, 32}, {16, 16, 16}, {16, 16, 16}, {1, 1, 1}, {0, 0, 0, 0, 0, 0}, true},
    {"c33m33", 3, 1, 33, 33, 1, {4, 5, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"c64m128_small", 3, 1, 64, 128, 1, {4, 4, 4}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"w1_k3p1", 3, 1, 16, 16, 1, {3, 3, 1}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"group2_cl_naive", 2, 1, 4, 6, 2, {5, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
    {"c16m16_cf_naive", 3, 1, 16, 16, 1, {4, 5, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, false},
};

/* UNETR (BraTS-like, 64^3, feature size 16) layer shapes, for --bench. */
static const cgw_case cgw_bench[] = {
    {"b_64_c16m16", 3, 1, 16, 16, 1, {64, 64, 64}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"b_64_c32m16", 3, 1, 32, 16, 1, {64, 64, 64}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"b_64_c4m16", 3, 1, 4, 16, 1, {64, 64, 64}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"b_32_c64m32", 3, 1, 64, 32, 1, {32, 32, 32}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"b_16_c128m64", 3, 1, 128, 64, 1, {16, 16, 16}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"b_8_c256m128", 3, 1, 256, 128, 1, {8, 8, 8}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
    {"b_convt_64_c16m32", 3, 1, 16, 32, 1, {64, 64, 64}, {2, 2, 2}, {2, 2, 2}, {1, 1, 1}, {0, 0, 0, 0, 0, 0}, true},
    {"b_64_c16m3_1x1", 3, 1, 16, 3, 1, {64, 64, 64}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0, 0, 0, 0}, true},
};

static bool run_cgw(const cgw_case *tc) {
    urc_diag_reset(tc->name);
    urc_graph *g = urc_graph_new();
    g->opset = 17;
    int nsp = tc->nsp, r = nsp + 2;
    urc_shape as = {r, {tc->N, tc->C}}, bs = {r, {tc->N, tc->M}};
    for (int i = 0; i < nsp; i++) {
        int64_t ek = (tc->K[i] - 1) * tc->d[i] + 1;
        as.dims[2 + i] = tc->in[i];
        bs.dims[2 + i] = (tc->in[i] + tc->pads[i] + tc->pads[nsp + i] - ek) / tc->s[i] + 1;
    }
    if (tc->cl) {
        as = urc_sp_to_last(&as);
        bs = urc_sp_to_last(&bs);
    }
    urc_node *n = urc_node_new(g, URC_OP_CONV_GRAD_WEIGHT, "cgw", 2, 1);
    n->in[0] = input(g, "a", &as);
    n->in[1] = input(g, "b", &bs);
    output(g, n, 0, "dw");
    urc_conv_attr *a = &n->a.conv;
    memset(a, 0, sizeof *a);
    a->nsp = nsp;
    a->group = tc->G;
    a->channels_last = tc->cl;
    for (int i = 0; i < nsp; i++) {
        a->kernel[i] = tc->K[i];
        a->strides[i] = tc->s[i];
        a->dilations[i] = tc->d[i];
        a->pads[i] = tc->pads[i];
        a->pads[nsp + i] = tc->pads[nsp + i];
    }
    if (!urc_graph_toposort(g) || !urc_pass_infer(g, false, (uint64_t)1 << 30)) {
        printf("FAIL %s: infer: %s\n", tc->name, urc_diag_message());
        return false;
    }
    urc_tensor *ins[2] = {random_tensor(&as), random_tensor(&bs)};
    if (bench_mode) {
        double t[5], macs = (double)urc_shape_numel(&bs) * (double)urc_shape_numel(&n->out[0]->shape) / (double)tc->M;
        bool okb = bench(g, ins, t, 5);
        if (okb)
            printf("%-22s %8.2f ms  %6.1f GFLOP/s (best of 5; median %.2f ms; %d threads)\n", tc->name, t[0],
                   2 * macs / t[0] / 1e6, t[2], bench_threads);
        urc_tensor_free(ins[0]);
        urc_tensor_free(ins[1]);
        return okb;
    }
    bool ok = compare(g, ins, tc->name);
    if (ok)
        printf("ok ConvGradWeight %s %s x %s -> %s\n", tc->name, urc_shape_str(&as), urc_shape_str(&bs),
               urc_shape_str(&n->out[0]->shape));
    urc_tensor_free(ins[0]);
    urc_tensor_free(ins[1]);
    return ok;
}

/* ---- unetrc.GroupNormGrad ---------------------------------------------------------- */

typedef struct ng_case {
    const char *name;
    urc_shape x; /* channels-first */
    int64_t G;
    bool per_channel, cl;
    double shift; /* added to X: statistics around a large mean */
} ng_case;

static const ng_case ng_cases[] = {
    {"inorm_c16_64k", {5, {1, 16, 16, 32, 32}}, 16, true, true, 0},
    {"inorm_c16_small_serial", {5, {1, 16, 4, 5, 6}}, 16, true, true, 0},
    {"inorm_c24_n2", {5, {2, 24, 8, 16, 16}}, 24, true, true, 3},
    {"inorm_c256_8cube", {5, {1, 256, 8, 8, 8}}, 256, true, true, 0},
    {"gnorm_g4_per_group", {5, {2, 16, 6, 20, 20}}, 4, false, true, 0},
    {"gnorm_g4_per_channel", {4, {1, 12, 40, 40}}, 4, true, true, 100},
    {"inorm_c3_1d", {3, {2, 3, 50}}, 3, true, true, 0},
    {"inorm_c1024_naive_cl", {3, {1, 1024, 9}}, 1024, true, true, 0},
    {"gnorm_cf_naive", {5, {2, 8, 3, 4, 5}}, 2, false, false, 0},
    {"inorm_cf_naive", {4, {1, 6, 7, 5}}, 6, true, false, 0},
};

static bool run_ng(const ng_case *tc) {
    urc_diag_reset(tc->name);
    urc_graph *g = urc_graph_new();
    g->opset = 18;
    urc_shape xs = tc->cl ? urc_sp_to_last(&tc->x) : tc->x, ss = {1, {tc->per_channel ? tc->x.dims[1] : tc->G}};
    urc_node *n = urc_node_new(g, URC_OP_GROUP_NORM_GRAD, "ngrad", 3, 3);
    n->in[0] = input(g, "x", &xs);
    n->in[1] = input(g, "scale", &ss);
    n->in[2] = input(g, "dy", &xs);
    for (int j = 0; j < 3; j++) output(g, n, j, j == 0 ? "dx" : j == 1 ? "dscale" : "dbias");
    memset(&n->a.norm, 0, sizeof n->a.norm);
    n->a.norm.epsilon = 1e-5;
    n->a.norm.num_groups = tc->G;
    n->a.norm.per_channel = tc->per_channel;
    n->a.norm.channels_last = tc->cl;
    if (!urc_graph_toposort(g) || !urc_pass_infer(g, false, (uint64_t)1 << 30)) {
        printf("FAIL %s: infer: %s\n", tc->name, urc_diag_message());
        return false;
    }
    urc_tensor *ins[3] = {random_tensor(&xs), random_tensor(&ss), random_tensor(&xs)};
    for (int64_t i = 0; i < urc_tensor_numel(ins[0]); i++) ((float *)ins[0]->data)[i] += (float)tc->shift;
    bool ok = compare(g, ins, tc->name);
    if (ok) printf("ok GroupNormGrad %s %s G=%lld\n", tc->name, urc_shape_str(&xs), (long long)tc->G);
    for (int j = 0; j < 3; j++) urc_tensor_free(ins[j]);
    return ok;
}

int main(int argc, char **argv) {
    int ai = 1;
    if (argc > 1 && !strcmp(argv[1], "--bench")) {
        bench_mode = true;
        ai++;
    }
    const char *filter = argc > ai ? argv[ai] : NULL;
    if (bench_mode && argc > ai + 1) bench_threads = atoi(argv[ai + 1]);
    const cgw_case *cc = bench_mode ? cgw_bench : cgw_cases;
    size_t ncc = bench_mode ? sizeof cgw_bench / sizeof cgw_bench[0] : sizeof cgw_cases / sizeof cgw_cases[0];
    int fails = 0, n = 0;
    for (size_t i = 0; i < ncc; i++) {
        if (filter && !strstr(cc[i].name, filter)) continue;
        n++;
        fails += !run_cgw(&cc[i]);
    }
    for (size_t i = 0; !bench_mode && i < sizeof ng_cases / sizeof ng_cases[0]; i++) {
        if (filter && !strstr(ng_cases[i].name, filter)) continue;
        n++;
        fails += !run_ng(&ng_cases[i]);
    }
    printf("gradient ops: %d cases, %d failed\n", n, fails);
    return fails != 0;
}
