/* node_tests.c: ONNX's own backend node tests (Debian libonnx-testdata) as
 * the per-op conformance suite.
 *
 *   node_tests [--filter SUBSTR] [--shard I/N] [--mode interp|c|both] [--precision bf16]
 *              [--backend NAME] [--cflags FLAGS] [--table FILE.md] [--xfail FILE] [-v] DATA_DIR
 *
 * For each test folder (model.onnx plus test_data_set_N folders of input_K.pb and output_K.pb):
 * - a model using an op unetrc does not support is listed as unsupported;
 * - a model below the supported opset range is listed as old-opset;
 * - every other model must compile, and each data set must match the
 *   expected outputs through the reference interpreter and through the
 *   generated code of the backend (--backend, else $UNETRC_BACKEND, else c;
 *   mode "c" is the generated code of any backend; the C backend's code is built with -Wall -Wextra -Werror, plus --cflags: e.g.
 *   -fsanitize=undefined makes any undefined behaviour a failure), with ONNX's default
 *   tolerance |out - ref| <= 1e-7 + 1e-3 |ref| (exact for integers, NaN
 *   equals NaN).
 * Failures listed in the xfail file (name, then the reason) are expected;
 * an expected failure that passes is an error too, so the list stays true.
 * Exit status 0 iff there is no unexpected result. */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/backend.h"
#include "base/diag.h"
#include "driver.h"
#include "interp/interp.h"
#include "onnx.pb-c.h"

typedef struct test_info {
    char name[256];
    int opset;
    int ninputs;
    char inputs[16][128];
    char ops[32][48];
    int nops;
} test_info;

typedef struct op_row {
    char op[48];
    int total, pass_interp, pass_c, old_opset, xfail, unsupported;
} op_row;

static op_row rows[256];
static int nrows;

static op_row *row(const char *op) {
    for (int i = 0; i < nrows; i++)
        if (!strcmp(rows[i].op, op)) return &rows[i];
    op_row *r = &rows[nrows++];
    memset(r, 0, sizeof *r);
    snprintf(r->op, sizeof r->op, "%s", op);
    return r;
}

static bool read_info(const char *dir, test_info *ti) {
    const char *err;
    size_t n;
    void *buf = urc_read_file(urc_fmt("%s/model.onnx", dir), &n, (size_t)1 << 30, &err);
    if (!buf) return false;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, n, buf);
    free(buf);
    if (!m) return false;
    ti->opset = 0;
    for (size_t i = 0; i < m->n_opset_import; i++)
        if (!m->opset_import[i]->domain || !*m->opset_import[i]->domain) ti->opset = (int)m->opset_import[i]->version;
    ti->nops = 0;
    ti->ninputs = 0;
    for (size_t i = 0; m->graph && i < m->graph->n_input && ti->ninputs < 16; i++) {
        bool init = false;
        for (size_t j = 0; j < m->graph->n_initializer; j++)
            init |= !strcmp(m->graph->initializer[j]->name, m->graph->input[i]->name);
        if (!init) snprintf(ti->inputs[ti->ninputs++], 128, "%s", m->graph->input[i]->name);
    }
    for (size_t i = 0; m->graph && i < m->graph->n_node; i++) {
        const char *t = m->graph->node[i]->op_type;
        bool seen = false;
        for (int k = 0; k < ti->nops; k++) seen |= !strcmp(ti->ops[k], t);
        if (!seen && ti->nops < 32) snprintf(ti->ops[ti->nops++], 48, "%s", t);
    }
    onnx__model_proto__free_unpacked(m, NULL);
    return true;
}

static bool close_enough(const urc_tensor *ref, const urc_tensor *out, char *why, size_t wn) {
    if (ref->dtype != out->dtype || !urc_shape_eq(&ref->shape, &out->shape)) {
        snprintf(why, wn, "expected %s%s, got %s%s", urc_dtype_name(ref->dtype), urc_shape_str(&ref->shape),
                 urc_dtype_name(out->dtype), urc_shape_str(&out->shape));
        return false;
    }
    int64_t n = urc_tensor_numel(ref);
    for (int64_t i = 0; i < n; i++) {
        if (urc_dtype_is_float(ref->dtype)) {
            double r = urc_elem_f64(ref->dtype, ref->data, i), o = urc_elem_f64(out->dtype, out->data, i);
            if (isnan(r) && isnan(o)) continue;
            if (isinf(r) && r == o) continue;
            if (!(fabs(o - r) <= 1e-7 + 1e-3 * fabs(r))) {
                snprintf(why, wn, "element %lld: expected %.9g, got %.9g", (long long)i, r, o);
                return false;
            }
        } else if (urc_elem_i64(ref->dtype, ref->data, i) != urc_elem_i64(out->dtype, out->data, i)) {
            snprintf(why, wn, "element %lld: expected %lld, got %lld", (long long)i,
                     (long long)urc_elem_i64(ref->dtype, ref->data, i),
                     (long long)urc_elem_i64(out->dtype, out->data, i));
            return false;
        }
    }
    return true;
}

/* Compares the no outputs with their references (the first mismatch clears *ok and sets *why to
 * "WHAT output I: ..."), then frees them. */
static void check_outputs(urc_tensor **refs, urc_tensor **outs, int no, const char *what, bool *ok, const char **why) {
    char buf[300];
    for (int i = 0; i < no; i++) {
        if (*ok && !close_enough(refs[i], outs[i], buf, sizeof buf)) {
            *ok = false;
            *why = urc_fmt("%s output %d: %s", what, i, buf);
        }
        urc_tensor_free(outs[i]);
        outs[i] = NULL;
    }
}

/* The test data stores bfloat16/float16 tensors of some tests as uint16
 * bit patterns: compare them as the model's type. */
static void relabel_half(urc_tensor *t, urc_dtype want) {
    bool t_half = t->dtype == URC_DT_U16 || t->dtype == URC_DT_F16 || t->dtype == URC_DT_BF16;
    bool w_half = want == URC_DT_U16 || want == URC_DT_F16 || want == URC_DT_BF16;
    if (t_half && w_half) t->dtype = want;
}

static int count_files(const char *dir, const char *prefix) {
    int n = 0;
    while (1) {
        struct stat st;
        if (stat(urc_fmt("%s/%s_%d.pb", dir, prefix, n), &st) != 0) return n;
        n++;
    }
}

/* Runs one test; returns NULL on success or the reason of the failure.
 * Inputs that must be known at compile time (a Reshape's shape given as a
 * graph input, say) are frozen to the values of data set 0, as a user
 * would with --freeze-input; every data set must then agree on them. */
/* Extra flags for building the generated C (--cflags). */
static const char *extra_cflags = "";
/* --precision bf16: the products' weights (and, where the target multiplies pairs, their data) in
 * bfloat16; exact on the dyadic data of the fast-path tests (node_extra/gen_conv_fast.py). */
static urc_dtype precision = URC_DT_UNDEF;
static const urc_backend *backend; /* the generated code's (main) */

static const char *run_test(const char *dir, const test_info *ti, bool do_interp, bool do_c, bool *interp_ok,
                            bool *c_ok, bool *froze) {
    urc_diag_reset("model.onnx");
    urc_options o = {
        .import = {.max_bytes = (uint64_t)1 << 32}, .align = 64, .precision = precision, .reduce_head = true};
    urc_graph *g = urc_build_graph(urc_fmt("%s/model.onnx", dir), &o);
    urc_frozen_input frozen[16];
    bool is_frozen[16] = {0};
    *froze = false;
    /* Level 1 freezes integer inputs (shapes, axes, pads); level 2 also
     * float inputs other than the first (Resize's scales and roi); level 3
     * every input (Range of float scalars). */
    for (int level = 1; level <= 3 && !g && urc_diag_message() &&
                        strstr(urc_diag_message(), "must be a constant known at compile time");
         level++) {
        const char *sd = urc_fmt("%s/test_data_set_0", dir);
        int nf = 0;
        for (int i = 0; i < ti->ninputs; i++) {
            is_frozen[i] = false;
            urc_tensor *t = urc_onnx_load_tensor(urc_fmt("%s/input_%d.pb", sd, i), (uint64_t)1 << 32);
            if (t && (!urc_dtype_is_float(t->dtype) || (level == 2 && i > 0) || level == 3)) {
                frozen[nf].name = ti->inputs[i];
                frozen[nf++].value = t;
                is_frozen[i] = true;
            } else {
                urc_tensor_free(t);
            }
        }
        o.import.frozen = frozen;
        o.import.nfrozen = nf;
        *froze = true;
        urc_diag_reset("model.onnx");
        g = urc_build_graph(urc_fmt("%s/model.onnx", dir), &o);
    }
    if (!g) return urc_fmt("compile: %s", urc_diag_message());
    urc_program *P = NULL;
    if (do_c) {
        P = urc_build_program(g, "model", &o, NULL);
        if (!P) return urc_fmt("lower: %s", urc_diag_message());
    }
    *interp_ok = do_interp;
    *c_ok = do_c;
    const char *why = NULL;
    for (int ds = 0;; ds++) {
        const char *sd = urc_fmt("%s/test_data_set_%d", dir, ds);
        struct stat st;
        if (stat(sd, &st) != 0) break;
        int ni = count_files(sd, "input"), no = count_files(sd, "output");
        if (ni != ti->ninputs || no != g->outputs.len) {
            return urc_fmt("data set %d has %d inputs/%d outputs, the model %d/%d", ds, ni, no, ti->ninputs,
                           g->outputs.len);
        }
        urc_tensor *ins[64] = {0}, *refs[64] = {0}, *outs[64] = {0};
        int k = 0;
        for (int i = 0; i < ni; i++) {
            urc_tensor *t = urc_onnx_load_tensor(urc_fmt("%s/input_%d.pb", sd, i), (uint64_t)1 << 32);
            if (!t) return urc_fmt("cannot read input %d: %s", i, urc_diag_message());
            if (is_frozen[i]) {
                urc_tensor_free(t);
                continue;
            }
            relabel_half(t, g->inputs.items[k]->dtype);
            ins[k++] = t;
        }
        for (int i = 0; i < no; i++) {
            refs[i] = urc_onnx_load_tensor(urc_fmt("%s/output_%d.pb", sd, i), (uint64_t)1 << 32);
            if (!refs[i]) return urc_fmt("cannot read output %d: %s", i, urc_diag_message());
            relabel_half(refs[i], g->outputs.items[i]->dtype);
        }
        if (do_interp) {
            urc_diag_reset("interp");
            if (!urc_interp_run(g, ins, outs)) {
                *interp_ok = false;
                why = urc_fmt("interp: %s", urc_diag_message() ? urc_diag_message() : "failed");
            } else {
                check_outputs(refs, outs, no, "interp", interp_ok, &why);
            }
        }
        if (do_c) {
            urc_diag_reset("c");
            urc_run_opts ro = {.cflags = urc_fmt("-std=c11 -O1 -Wall -Wextra -Werror %s", extra_cflags),
                               .model_name = "model.onnx",
                               .opset = g->opset};
            if (!backend->run(P, ins, outs, &ro)) {
                *c_ok = false;
                why = urc_fmt("c: %s", urc_diag_message() ? urc_diag_message() : "failed");
            } else {
                check_outputs(refs, outs, no, "c", c_ok, &why);
            }
        }
        for (int i = 0; i < k; i++) urc_tensor_free(ins[i]);
        for (int i = 0; i < no; i++) urc_tensor_free(refs[i]);
    }
    return why;
}

typedef struct xfail {
    char name[256];
    char reason[512];
    bool seen;
} xfail;
static xfail xfails[1024];
static int nxfails;

static void load_xfails(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "node_tests: cannot read %s\n", path);
        exit(2);
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        line[strcspn(line, "\n")] = 0;
        char *sp = strchr(line, ' ');
        xfail *x = &xfails[nxfails++];
        snprintf(x->name, sizeof x->name, "%.*s", sp ? (int)(sp - line) : (int)strlen(line), line);
        snprintf(x->reason, sizeof x->reason, "%s", sp ? sp + 1 : "");
    }
    fclose(f);
}

static xfail *find_xfail(const char *name) {
    for (int i = 0; i < nxfails; i++)
        if (!strcmp(xfails[i].name, name)) return &xfails[i];
    return NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_row(const void *a, const void *b) { return strcmp(((const op_row *)a)->op, ((const op_row *)b)->op); }
static int cmp_unsup(const void *a, const void *b) {
    const op_row *x = a, *y = b;
    return x->unsupported != y->unsupported ? y->unsupported - x->unsupported : strcmp(x->op, y->op);
}

int main(int argc, char **argv) {
    backend = urc_backend_from_env();
    const char *data = NULL, *dirs[16], *filter = NULL, *table = NULL, *xfail_path = NULL, *mode = "both";
    int shard = 0, nshards = 1, verbose = 0, ndirs = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
        else if (!strcmp(argv[i], "--table") && i + 1 < argc) table = argv[++i];
        else if (!strcmp(argv[i], "--xfail") && i + 1 < argc) xfail_path = argv[++i];
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc) mode = argv[++i];
        else if (!strcmp(argv[i], "--cflags") && i + 1 < argc) extra_cflags = argv[++i];
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc && !strcmp(argv[i + 1], "bf16")) {
            precision = URC_DT_BF16;
            i++;
        } else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            if (!(backend = urc_backend_find(argv[++i]))) {
                fprintf(stderr, "node_tests: unknown backend '%s' (available: %s)\n", argv[i], urc_backend_names());
                return 2;
            }
        } else if (!strcmp(argv[i], "--shard") && i + 1 < argc) {
            if (sscanf(argv[++i], "%d/%d", &shard, &nshards) != 2 || nshards < 1 || shard < 0 || shard >= nshards) {
                fprintf(stderr, "node_tests: bad --shard\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "-v")) verbose = 1;
        else if (ndirs < 16) data = dirs[ndirs++] = argv[i];
    }
    if (!data) {
        fprintf(
            stderr,
            "usage: node_tests [--filter S] [--shard I/N] [--mode interp|c|both] [--precision bf16] [--backend NAME] "
            "[--cflags FLAGS] "
            "[--table F] "
            "[--xfail F] DIR...\n");
        return 2;
    }
    if (xfail_path) load_xfails(xfail_path);
    bool do_interp = strcmp(mode, "c") != 0, do_c = strcmp(mode, "interp") != 0;
    URC_VEC(char *) names = {0};
    for (int k = 0; k < ndirs; k++) {
        DIR *d = opendir(dirs[k]);
        if (!d) {
            fprintf(stderr, "node_tests: cannot open %s\n", dirs[k]);
            return 2;
        }
        struct dirent *e;
        while ((e = readdir(d)))
            if (!strncmp(e->d_name, "test_", 5)) URC_VEC_PUSH(names, urc_fmt("%s/%s", dirs[k], e->d_name));
        closedir(d);
    }
    qsort(names.items, (size_t)names.len, sizeof(char *), cmp_str);
    URC_VEC(char *) refused = {0};
    int n_frozen = 0, n_run = 0, n_pass = 0, n_fail = 0, n_xfail = 0, n_xpass = 0, n_unsup = 0, n_old = 0;
    for (int t = 0; t < names.len; t++) {
        const char *dir = names.items[t], *name = strrchr(dir, '/') + 1;
        if (filter && !strstr(name, filter)) continue;
        if (t % nshards != shard) continue;
        test_info ti;
        if (!read_info(dir, &ti)) continue;
        bool supported = true;
        for (int k = 0; k < ti.nops; k++)
            if (urc_op_lookup(ti.ops[k]) == URC_OP_COUNT) supported = false;
        if (!supported) {
            n_unsup++;
            for (int k = 0; k < ti.nops; k++)
                if (urc_op_lookup(ti.ops[k]) == URC_OP_COUNT) row(ti.ops[k])->unsupported++;
            continue;
        }
        bool iok = false, cok = false, froze = false;
        const char *why = run_test(dir, &ti, do_interp, do_c, &iok, &cok, &froze);
        /* Below opset 11 the compiler refuses ops whose definition changed
         * since: such a test counts as refused, with the compiler's reason. */
        if (ti.opset < URC_OPSET_MIN && why && !strncmp(why, "compile: ", 9) &&
            strstr(why, "re-export with opset_version=17")) {
            n_old++;
            for (int k = 0; k < ti.nops; k++) row(ti.ops[k])->old_opset++;
            if (verbose) printf("refused %s (opset %d): %s\n", name, ti.opset, why);
            URC_VEC_PUSH(refused, urc_fmt("%s (opset %d): `%s`", name, ti.opset, why + 9));
            continue;
        }
        n_run++;
        if (froze) n_frozen++;
        bool pass = !why;
        xfail *x = find_xfail(name);
        for (int k = 0; k < ti.nops; k++) {
            if (!strcmp(ti.ops[k], "Constant") && ti.nops > 1) continue;
            op_row *r = row(ti.ops[k]);
            r->total++;
            r->pass_interp += iok;
            r->pass_c += cok;
            if (x && !pass) r->xfail++;
        }
        if (x) x->seen = true;
        if (pass && !x) {
            n_pass++;
            if (verbose) printf("ok %s\n", name);
        } else if (pass && x) {
            n_xpass++;
            printf("UNEXPECTED PASS %s (listed as expected failure: %s)\n", name, x->reason);
        } else if (x) {
            n_xfail++;
            if (verbose) printf("expected failure %s: %s\n", name, why);
        } else {
            n_fail++;
            printf("FAIL %s: %s\n", name, why);
        }
        fflush(stdout);
    }
    printf("node tests: %d run, %d passed, %d failed, %d expected failures, %d unexpected passes; "
           "%d skipped (unsupported op), %d refused (opset < %d with an op defined differently since); %d with frozen "
           "shape inputs\n",
           n_run, n_pass, n_fail, n_xfail, n_xpass, n_unsup, n_old, URC_OPSET_MIN, n_frozen);
    if (table) {
        FILE *f = fopen(table, "w");
        if (!f) {
            fprintf(stderr, "node_tests: cannot write %s\n", table);
            return 2;
        }
        qsort(rows, (size_t)nrows, sizeof(op_row), cmp_row);
        fprintf(
            f,
            "# ONNX backend node tests\n\n"
            "Generated by `build/tests/node_tests --table docs/node_tests.md --xfail tests/node_xfail.txt "
            "/usr/share/libonnx-testdata/data/node tests/node_extra/*/`: ONNX's backend node tests from Debian's "
            "libonnx-testdata (ONNX 1.12, opsets up to 17) plus unetrc's extra cases in tests/node_extra "
            "(generated with numpy, PyTorch float64 or onnxruntime references). Each test runs every data set through "
            "the reference interpreter and through the generated C (`-Wall -Wextra -Werror`), "
            "compared with ONNX's default tolerance (1e-7 + 1e-3·|ref|; integers exact).\n\n"
            "A test counts for every op it contains (Constant only when alone). "
            "Models below opset %d run when every op they use has the definition it has at opset %d "
            "(compiler/ir/ops.def, `oldest`); the others are refused by the compiler, naming the op (listed "
            "below with its message). "
            "Tests using an op unetrc does not support are listed under that op. "
            "unetrc specialises code to shapes known at compile time: where a test feeds a shape-like "
            "integer input at run time (Reshape's shape, Unsqueeze's axes, ...), the runner freezes the "
            "integer inputs (then, if needed, the non-first float inputs such as Resize's scales) to the test's "
            "values, as a user does with `--freeze-input` (%d tests).\n\n"
            "Totals: %d run, %d passed, %d failed, %d expected failures (see tests/node_xfail.txt); "
            "%d skipped for unsupported ops; %d refused (opset < %d, an op defined differently since).\n\n"
            "## Supported ops\n\n| Op | tests | pass (interpreter) | pass (generated C) | expected failures | "
            "refused (opset < %d) |\n|---|---|---|---|---|---|\n",
            URC_OPSET_MIN, URC_OPSET_MIN, n_frozen, n_run, n_pass, n_fail, n_xfail, n_unsup, n_old, URC_OPSET_MIN,
            URC_OPSET_MIN);
        for (int i = 0; i < nrows; i++)
            if (urc_op_lookup(rows[i].op) != URC_OP_COUNT)
                fprintf(f, "| %s | %d | %d | %d | %d | %d |\n", rows[i].op, rows[i].total, rows[i].pass_interp,
                        rows[i].pass_c, rows[i].xfail, rows[i].old_opset);
        fprintf(f, "\nSupported ops without node tests in this data: ");
        int first = 1;
        for (int op = 0; op < URC_OP_COUNT; op++) {
            bool have = false;
            for (int i = 0; i < nrows; i++) have |= !strcmp(rows[i].op, urc_ops[op].name);
            if (!have && urc_ops[op].name[0]) fprintf(f, "%s%s", first ? "" : ", ", urc_ops[op].name), first = 0;
        }
        fprintf(f, "%s.\n\n## Expected failures\n\n", first ? "none" : "");
        for (int i = 0; i < nxfails; i++) fprintf(f, "- %s: %s\n", xfails[i].name, xfails[i].reason);
        fprintf(f, "\n## Refused below opset %d\n\n", URC_OPSET_MIN);
        for (int i = 0; i < refused.len; i++) fprintf(f, "- %s\n", refused.items[i]);
        fprintf(f, "\n## Unsupported ops (tests skipped), by number of tests\n\n");
        qsort(rows, (size_t)nrows, sizeof(op_row), cmp_unsup);
        first = 1;
        for (int i = 0; i < nrows; i++)
            if (urc_op_lookup(rows[i].op) == URC_OP_COUNT)
                fprintf(f, "%s%s (%d)", first ? "" : ", ", rows[i].op, rows[i].unsupported), first = 0;
        fprintf(f, "\n");
        fclose(f);
    }
    for (int i = 0; i < nxfails; i++)
        if (!xfails[i].seen && !filter && nshards == 1)
            printf("note: expected failure %s did not run\n", xfails[i].name);
    return n_fail || n_xpass ? 1 : 0;
}
