/* main.c: the unetrc command line. The commands compile, info, run and
 * bench; the training commands are in cmd_train.c, segment in
 * cmd_segment.c; the options of all of them are parsed by cli.c. Exit
 * codes: 0 success, 1 bad input (one line "unetrc: error: FILE: ..."), 2
 * bad usage. Outputs are written atomically: on failure no output file is
 * created or changed. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "base/diag.h"
#include "base/npy.h"
#include "base/proc.h"
#include "cli.h"
#include "cmd_segment.h"
#include "cmd_train.h"
#include "driver.h"
#include "interp/interp.h"
#include "passes/passes.h"

#define usage_error urc_cli_usage_error
#define fail urc_cli_fail

static void fail_diag(void) {
    urc_outfile_abort_all();
    if (urc_error_count() == 0) urc_error(NULL, "failed (no details recorded)");
    urc_diag_print();
    exit(1);
}

typedef urc_cli cli;

/* run's --output files, described for messages. */
static const urc_cli_file *run_outputs(const cli *c) {
    urc_cli_file *outs = urc_alloc(sizeof(urc_cli_file) * ((size_t)c->outputs.len + 1));
    for (int i = 0; i < c->outputs.len; i++)
        outs[i] = (urc_cli_file){c->outputs.items[i], urc_fmt("--output '%s'", c->outputs.items[i])};
    return outs;
}

/* ---- compile ---------------------------------------------------------------- */

static int cmd_compile(cli *c) {
    urc_cli_file outs[3];
    int nout;
    const char *name = urc_cli_compile_prefix(c, outs, &nout);
    urc_diag_reset(c->model);
    urc_graph *g = urc_build_graph(c->model, &c->opt);
    if (!g) fail_diag();
    urc_cli_check_external(g, outs, nout);
    urc_program *P = urc_build_program(g, name, &c->opt, NULL);
    if (!P) fail_diag();
    const char *entry = "forward";
    urc_cli_write_code(c, (const urc_program *const *)&P, &entry, 1, name, g, c->command);
    urc_note("wrote %s: %d kernels, arena %lld bytes, weights %lld bytes", c->out_c, P->kernels.len,
             (long long)P->arena_bytes, (long long)P->weights_bytes);
    return 0;
}

/* ---- info ------------------------------------------------------------------- */

static int cmd_info(cli *c) {
    urc_diag_reset(c->model);
    urc_graph *g = urc_build_graph(c->model, &c->opt);
    if (!g) {
        /* Still tell the user what is unsupported, on stdout too. */
        printf("model: %s\nunsupported: %s\n", c->model, urc_diag_message() ? urc_diag_message() : "?");
        fflush(stdout);
        fail_diag();
    }
    urc_memplan *plan;
    urc_program *P = urc_build_program(g, "model", &c->opt, &plan);
    if (!P) fail_diag();
    urc_stats s;
    urc_graph_stats(g, &s);
    printf("model: %s\nproducer: %s\nopset: %d\n", c->model, g->producer, g->opset);
    for (int i = 0; i < g->inputs.len; i++)
        printf("input %d: %s %s%s\n", i, g->inputs.items[i]->name, urc_dtype_name(g->inputs.items[i]->dtype),
               urc_shape_str(&g->inputs.items[i]->shape));
    for (int i = 0; i < g->outputs.len; i++)
        printf("output %d: %s %s%s\n", i, g->outputs.items[i]->name, urc_dtype_name(g->outputs.items[i]->dtype),
               urc_shape_str(&g->outputs.items[i]->shape));
    printf("nodes: %d\nops:", s.nodes);
    for (int i = 0; i < URC_OP_COUNT; i++)
        if (s.op_count[i]) printf(" %s=%d", urc_ops[i].name, s.op_count[i]);
    printf("\nparameters: %lld (%lld bytes)\n", (long long)s.params, (long long)s.param_bytes);
    printf("macs: %lld (%.3f GMAC)\n", (long long)s.macs, (double)s.macs / 1e9);
    printf("weights_bytes: %lld\n", (long long)P->weights_bytes);
    printf("arena_bytes: %lld\narena_lower_bound: %lld\nintermediates_sum: %lld (%d buffers, placement: %s)\n",
           (long long)P->arena_bytes, (long long)P->arena_lower_bound, (long long)P->intermediate_bytes, plan->nbuffers,
           plan->strategy ? plan->strategy : "none");
    printf("kernels: %d\nunsupported: none\n", P->kernels.len);
    return 0;
}

/* ---- run -------------------------------------------------------------------- */

/* Converts an input read from .npy to the model's dtype; checks shape. */
static urc_tensor *prepare_input(cli *c, const char *path, const urc_value *v) {
    const char *err;
    urc_tensor *t = urc_npy_read(path, c->opt.import.max_bytes, &err);
    if (!t) fail(path, err);
    if (!urc_shape_eq(&t->shape, &v->shape))
        fail(path, urc_fmt("input '%s' expects shape %s, the file has %s", v->name, urc_shape_str(&v->shape),
                           urc_shape_str(&t->shape)));
    bool src_float = urc_dtype_is_float(t->dtype), dst_float = urc_dtype_is_float(v->dtype);
    if (src_float && !dst_float)
        fail(path, urc_fmt("input '%s' expects %s, the file has %s", v->name, urc_dtype_name(v->dtype),
                           urc_dtype_name(t->dtype)));
    if (src_float && !c->allow_nonfinite) {
        int64_t n = urc_tensor_numel(t);
        for (int64_t i = 0; i < n; i++) {
            double x = urc_elem_f64(t->dtype, t->data, i);
            if (!isfinite(x))
                fail(path, urc_fmt("element %lld is %s (use --allow-nonfinite to accept)", (long long)i,
                                   isnan(x) ? "NaN" : "infinite"));
        }
    }
    if (t->dtype == v->dtype) return t;
    urc_tensor *r = urc_tensor_new(v->dtype, &v->shape);
    int64_t n = urc_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        if (dst_float) urc_elem_set_f64(r->dtype, r->data, i, urc_elem_f64(t->dtype, t->data, i));
        else urc_elem_set_i64(r->dtype, r->data, i, urc_elem_i64(t->dtype, t->data, i));
    }
    urc_tensor_free(t);
    return r;
}

static void write_npy_outputs(cli *c, urc_tensor **outs, int n) {
    urc_cli_outset set = {0};
    for (int i = 0; i < n; i++) {
        urc_strbuf sb = {0};
        urc_npy_format(outs[i], &sb);
        urc_cli_out_add(&set, c->outputs.items[i], sb.data, sb.len);
        urc_sb_free(&sb);
    }
    urc_cli_out_commit(&set);
}

/* The --keep folder exists before the work (run, bench). */
static void prepare_keep(const cli *c) {
    if (!c->keep || c->interp) return;
    const char *err = urc_keep_dir_prepare(c->keep);
    if (err) fail(c->keep, err);
}

/* --compare: one line per output of the reduced-precision run `got`
 * against the float32 run `ref`: the largest absolute difference, it over
 * the largest |ref|, and the share of voxels whose label (the argmax over
 * axis 1, the channels, of an [N, C, ...] output; with one channel x > 0)
 * is the same in both. */
static void print_compare(const cli *c, const urc_graph *g, urc_tensor **ref, urc_tensor **got) {
    const char *pname = c->opt.precision == URC_DT_BF16 ? "bf16" : c->opt.precision == URC_DT_I8 ? "int8" : "fp16";
    for (int i = 0; i < g->outputs.len; i++) {
        const urc_tensor *r = ref[i], *t = got[i];
        int64_t n = urc_tensor_numel(r);
        double err = 0, amax = 0;
        for (int64_t j = 0; j < n; j++) {
            double a = urc_elem_f64(r->dtype, r->data, j), b = urc_elem_f64(t->dtype, t->data, j);
            double d = fabs(a - b);
            if (d > err || d != d) err = d != d ? INFINITY : d;
            if (fabs(a) > amax) amax = fabs(a);
        }
        printf("compare %s: precision=%s max_abs_err=%.3e max_rel_err=%.3e max_abs_ref=%.4g", g->outputs.items[i]->name,
               pname, err, amax > 0 ? err / amax : err, amax);
        const urc_shape *s = &r->shape;
        if (s->rank < 2 || !n) {
            printf(" label_agreement=n/a\n");
            continue;
        }
        int64_t N = s->dims[0], C = s->dims[1], S = C ? n / (N * C) : 0, same = 0;
        for (int64_t b = 0; b < N; b++)
            for (int64_t v = 0; v < S; v++) {
                int64_t la = 0, lb = 0;
                double ba = 0, bb = 0;
                for (int64_t ch = 0; ch < C; ch++) {
                    int64_t at = (b * C + ch) * S + v;
                    double xa = urc_elem_f64(r->dtype, r->data, at), xb = urc_elem_f64(t->dtype, t->data, at);
                    if (C == 1) la = xa > 0, lb = xb > 0;
                    else {
                        if (!ch || xa > ba) ba = xa, la = ch;
                        if (!ch || xb > bb) bb = xb, lb = ch;
                    }
                }
                same += la == lb;
            }
        printf(" label_agreement=%.3f%% voxels=%lld\n", 100.0 * (double)same / (double)(N * S), (long long)(N * S));
    }
    fflush(stdout);
}

static int cmd_run(cli *c) {
    if (!c->inputs.len && !c->outputs.len) usage_error("run needs --input and --output files");
    urc_cli_file *files = urc_alloc(sizeof(urc_cli_file) * (size_t)(1 + c->inputs.len + c->frozen_paths.len));
    urc_cli_check_outputs(run_outputs(c), c->outputs.len, files, urc_cli_input_files(c, files));
    prepare_keep(c);
    urc_diag_reset(c->model);
    urc_graph *g = urc_build_graph(c->model, &c->opt);
    if (!g) fail_diag();
    urc_cli_check_external(g, run_outputs(c), c->outputs.len);
    if (c->inputs.len != g->inputs.len)
        fail(c->model, urc_fmt("the model has %d inputs, %d --input files given", g->inputs.len, c->inputs.len));
    if (c->outputs.len != g->outputs.len && !(c->compare && !c->outputs.len))
        fail(c->model, urc_fmt("the model has %d outputs, %d --output files given", g->outputs.len, c->outputs.len));
    urc_tensor **ins = urc_xcalloc((size_t)g->inputs.len + 1, sizeof(urc_tensor *));
    urc_tensor **outs = urc_xcalloc((size_t)g->outputs.len + 1, sizeof(urc_tensor *));
    urc_tensor **ref = urc_xcalloc((size_t)g->outputs.len + 1, sizeof(urc_tensor *));
    for (int i = 0; i < g->inputs.len; i++) ins[i] = prepare_input(c, c->inputs.items[i], g->inputs.items[i]);
    if (c->interp) { /* --precision: the marked nodes' weights rounded (passes/precision.c) */
        urc_diag_reset(c->model);
        urc_value **wts = urc_xcalloc((size_t)g->nodes.len + 1, sizeof(urc_value *));
        for (int i = 0; i < g->nodes.len; i++) wts[i] = g->nodes.items[i]->nin > 1 ? g->nodes.items[i]->in[1] : NULL;
        urc_precision_round_weights(g);
        if (!urc_interp_run(g, ins, outs)) fail_diag();
        if (c->compare) { /* float32: the weights back, every mark (and int8's FakeQuant nodes) removed */
            for (int i = 0; i < g->nodes.len; i++)
                if (g->nodes.items[i]->nin > 1) g->nodes.items[i]->in[1] = wts[i];
            urc_pass_precision(g, URC_DT_F32, NULL, 0, false, NULL);
            if (!urc_interp_run(g, ins, ref)) fail_diag();
            print_compare(c, g, ref, outs);
        }
        free(wts);
        if (c->outputs.len) write_npy_outputs(c, outs, g->outputs.len);
        return 0;
    }
    urc_program *P = urc_build_program(g, "model", &c->opt, NULL);
    if (!P) fail_diag();
    urc_program *P32 = NULL;
    if (c->compare) { /* the same graph with every weight in float32 (and int8's FakeQuant nodes removed) */
        urc_pass_precision(g, URC_DT_F32, NULL, 0, false, NULL);
        P32 = urc_build_program(g, "model", &c->opt, NULL);
        if (!P32) fail_diag();
    }
    urc_run_opts ro = {.cc = c->cc,
                       .cflags = c->cflags,
                       .keep_dir = c->keep,
                       .model_name = urc_cli_base_name(c->model),
                       .command = c->command,
                       .model_hash = g->hash,
                       .opset = g->opset};
    urc_diag_reset(c->model);
    if (!c->backend->run(P, ins, outs, &ro)) fail_diag();
    if (P32) {
        ro.keep_dir = NULL; /* --keep: the files of the --precision run */
        if (!c->backend->run(P32, ins, ref, &ro)) fail_diag();
        print_compare(c, g, ref, outs);
    }
    if (c->outputs.len) write_npy_outputs(c, outs, g->outputs.len);
    return 0;
}

/* Deterministic pseudo-random inputs (normal-ish, or small integers). */
static urc_tensor *bench_input(const urc_value *v, uint64_t seed) {
    urc_tensor *t = urc_tensor_new(v->dtype, &v->shape);
    int64_t n = urc_tensor_numel(t);
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (int64_t i = 0; i < n; i++) {
        double acc = 0;
        for (int k = 0; k < 4; k++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            acc += (double)(s >> 11) / 9007199254740992.0;
        }
        double x = (acc - 2) * 1.7320508;
        if (urc_dtype_is_float(v->dtype)) urc_elem_set_f64(t->dtype, t->data, i, x);
        else urc_elem_set_i64(t->dtype, t->data, i, (int64_t)(x * 2) & 3);
    }
    return t;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmd_bench(cli *c) {
    prepare_keep(c);
    urc_diag_reset(c->model);
    urc_graph *g = urc_build_graph(c->model, &c->opt);
    if (!g) fail_diag();
    if (c->inputs.len && c->inputs.len != g->inputs.len)
        fail(c->model, urc_fmt("the model has %d inputs, %d --input files given", g->inputs.len, c->inputs.len));
    urc_tensor **ins = urc_xcalloc((size_t)g->inputs.len + 1, sizeof(urc_tensor *));
    urc_tensor **outs = urc_xcalloc((size_t)g->outputs.len + 1, sizeof(urc_tensor *));
    for (int i = 0; i < g->inputs.len; i++)
        ins[i] = c->inputs.len ? prepare_input(c, c->inputs.items[i], g->inputs.items[i])
                               : bench_input(g->inputs.items[i], (uint64_t)i + 1);
    urc_program *P = urc_build_program(g, "model", &c->opt, NULL);
    if (!P) fail_diag();
    int runs = c->runs ? c->runs : 10, threads = c->threads ? c->threads : 2;
    double *times = urc_xcalloc((size_t)runs, sizeof(double)), jit_ms = 0;
    urc_run_opts ro = {.cc = c->cc,
                       .cflags =
                           c->cflags ? c->cflags : "-std=c11 -O3 -march=native -mprefer-vector-width=512 -fopenmp",
                       .keep_dir = c->keep,
                       .model_name = urc_cli_base_name(c->model),
                       .command = c->command,
                       .model_hash = g->hash,
                       .opset = g->opset,
                       .threads = threads,
                       .bench_runs = runs,
                       .times_ms = times,
                       .build_ms = c->jit ? &jit_ms : NULL};
    urc_diag_reset(c->model);
    if (!c->backend->run(P, ins, outs, &ro)) fail_diag();
    qsort(times, (size_t)runs, sizeof(double), cmp_double);
    double med = runs % 2 ? times[runs / 2] : 0.5 * (times[runs / 2 - 1] + times[runs / 2]);
    printf("bench %s: median_ms=%.3f min_ms=%.3f gflops=%.2f gmacs=%.3f arena_bytes=%lld weights_bytes=%lld "
           "threads=%d runs=%d\n",
           urc_cli_base_name(c->model), med, times[0], med > 0 ? 2.0 * (double)P->macs / (med * 1e6) : 0.0,
           (double)P->macs / 1e9, (long long)P->arena_bytes, (long long)P->weights_bytes, threads, runs);
    if (c->jit)
        printf("bench %s: jit_ms=%.1f (LLVM module built, optimised and compiled in-process)\n",
               urc_cli_base_name(c->model), jit_ms);
    return 0;
}

int main(int argc, char **argv) {
    urc_cleanup_on_signals();
    cli c;
    urc_cli_parse(&c, argc, argv);
    switch (c.cmd) {
    case URC_CMD_RUN: return cmd_run(&c);
    case URC_CMD_INFO: return cmd_info(&c);
    case URC_CMD_BENCH: return cmd_bench(&c);
    case URC_CMD_TRAINC: return urc_cmd_compile_train(&c);
    case URC_CMD_GRAD: return urc_cmd_grad(&c);
    case URC_CMD_TRAIN: return urc_cmd_train(&c);
    case URC_CMD_SEGMENT: return urc_cmd_segment(&c);
    default: return cmd_compile(&c);
    }
}
