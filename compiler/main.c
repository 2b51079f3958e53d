/* main.c: the unetrc command line. The only place that prints diagnostics
 * and chooses exit codes: 0 success, 1 bad input (one line
 * "unetrc: error: FILE: ..."), 2 bad usage. Outputs are written atomically:
 * on failure no output file is created or changed. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/c/emit_c.h"
#include "backend/c/run_c.h"
#include "base/diag.h"
#include "base/npy.h"
#include "base/paths.h"
#include "base/proc.h"
#include "cmd_segment.h"
#include "cmd_train.h"
#include "driver.h"
#include "interp/interp.h"

#define usage_error urc_cli_usage_error
#define fail urc_cli_fail

void urc_cli_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("unetrc: usage error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see unetrc --help)\n", stderr);
    va_end(ap);
    exit(2);
}

void urc_cli_fail(const char *file, const char *msg) {
    urc_outfile_abort_all();
    if (msg) {
        if (file && *file) fprintf(stderr, "unetrc: error: %s: %s\n", urc_diag_one_line(file), urc_diag_one_line(msg));
        else fprintf(stderr, "unetrc: error: %s\n", urc_diag_one_line(msg));
    } else {
        urc_diag_print();
    }
    exit(1);
}

void urc_cli_check_outputs(const urc_cli_file *outs, int nout, const urc_cli_file *ins, int nin) {
    /* (names with control characters stay one line, as in every message) */
    for (int k = 0; k < nout; k++) {
        const char *what = urc_diag_one_line(outs[k].what);
        for (int j = 0; j < k; j++)
            if (!strcmp(outs[j].path, outs[k].path)) usage_error("%s is given twice", what);
            else if (urc_same_entry(outs[j].path, outs[k].path))
                usage_error("%s names the same file as %s", what, urc_diag_one_line(outs[j].what));
        for (int j = 0; j < nin; j++)
            if (urc_output_replaces_input(outs[k].path, ins[j].path))
                usage_error("%s would write over %s '%s'", what, ins[j].what, urc_diag_one_line(ins[j].path));
        /* The temporary file PATH.tmpPID.N must fit too: an over-long name
         * would otherwise fail only when it is created, after all the work. */
        size_t len = strlen(urc_path_base(outs[k].path));
        long max = urc_name_max(outs[k].path);
        if ((long)(len + URC_OUTFILE_TMP_SUFFIX_MAX) > max)
            usage_error("%s: the file name has %zu bytes; with the temporary file's suffix (.tmpPID.N) at most %ld fit "
                        "the folder's limit of %ld",
                        what, len, max - URC_OUTFILE_TMP_SUFFIX_MAX, max);
    }
}

static void fail_diag(void) {
    urc_outfile_abort_all();
    if (urc_error_count() == 0) urc_error(NULL, "failed (no details recorded)");
    urc_diag_print();
    exit(1);
}

typedef struct cli {
    const char *cmd; /* "compile", "run", "info", "bench" */
    bool cmd_given;  /* named on the command line (else compile by default) */
    const char *model;
    const char *out;
    const char *name;
    bool embed;
    bool interp;
    bool allow_nonfinite;
    const char *cc, *cflags, *keep;
    int threads, runs;
    URC_VEC(const char *) inputs;
    URC_VEC(const char *) outputs;
    URC_VEC(urc_input_pin) pins;
    URC_VEC(urc_frozen_input) frozen;
    URC_VEC(const char *) frozen_paths;
    urc_options opt;
    const char *command; /* the command line, for provenance */
} cli;

/* The files run and compile read: the model, --input files, --freeze-input
 * files (the external data files are known after import). */
static int input_files(const cli *c, urc_cli_file *ins) {
    int n = 0;
    ins[n++] = (urc_cli_file){c->model, "the model"};
    for (int i = 0; i < c->inputs.len; i++) ins[n++] = (urc_cli_file){c->inputs.items[i], "the --input file"};
    for (int i = 0; i < c->frozen_paths.len; i++)
        ins[n++] = (urc_cli_file){c->frozen_paths.items[i], "the --freeze-input file"};
    return n;
}

void urc_cli_check_external(const urc_graph *g, const urc_cli_file *outs, int nout) {
    urc_cli_file *ins = urc_alloc(sizeof(urc_cli_file) * ((size_t)g->external_files.len + 1));
    for (int i = 0; i < g->external_files.len; i++)
        ins[i] = (urc_cli_file){g->external_files.items[i], "the model's external data file"};
    urc_cli_check_outputs(outs, nout, ins, g->external_files.len);
}

static bool parse_u64(const char *s, uint64_t *v) {
    if (!*s || *s == '-') return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *v = x;
    return true;
}

urc_input_pin urc_cli_parse_pin(const char *arg) {
    const char *eq = strrchr(arg, '=');
    if (!eq || eq == arg) usage_error("--input-shape wants NAME=D0,D1,..., got '%s'", arg);
    urc_input_pin pin = {urc_strndup(arg, (size_t)(eq - arg)), {0}};
    const char *p = eq + 1;
    while (*p) {
        if (pin.shape.rank == URC_MAX_RANK) usage_error("--input-shape: more than %d dimensions", URC_MAX_RANK);
        char *end;
        errno = 0;
        long long d = strtoll(p, &end, 10);
        if (errno || end == p || d < 0 || (*end && *end != ','))
            usage_error("--input-shape: bad dimension in '%s'", arg);
        pin.shape.dims[pin.shape.rank++] = d;
        p = *end ? end + 1 : end;
    }
    return pin;
}
static void parse_pin(cli *c, const char *arg) {
    urc_input_pin pin = urc_cli_parse_pin(arg);
    URC_VEC_PUSH(c->pins, pin);
}

/* run's --output files, described for messages. */
static const urc_cli_file *run_outputs(const cli *c) {
    urc_cli_file *outs = urc_alloc(sizeof(urc_cli_file) * ((size_t)c->outputs.len + 1));
    for (int i = 0; i < c->outputs.len; i++)
        outs[i] = (urc_cli_file){c->outputs.items[i], urc_fmt("--output '%s'", c->outputs.items[i])};
    return outs;
}

static void parse_args(cli *c, int argc, char **argv) {
    urc_strbuf cmd = {0};
    urc_sb_puts(&cmd, "unetrc");
    for (int i = 1; i < argc; i++) urc_sb_printf(&cmd, " %s", argv[i]);
    c->command = urc_strdup(cmd.data);
    urc_sb_free(&cmd);
    c->opt.import.max_bytes = URC_DEFAULT_MAX_BYTES;
    c->opt.align = 64;
    c->cmd = "compile";
    int i = 1;
    if (argc > 1 && (!strcmp(argv[1], "run") || !strcmp(argv[1], "info") || !strcmp(argv[1], "compile") ||
                     !strcmp(argv[1], "bench"))) {
        c->cmd = argv[1];
        c->cmd_given = true;
        i = 2;
    }
    for (; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage_error("%s needs a value", a), ""))
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            urc_cli_help(c->cmd_given ? c->cmd : NULL); /* `unetrc --help`: every command */
        } else if (!strcmp(a, "--version")) {
            printf("unetrc %s\n", URC_VERSION);
            exit(0);
        } else if (!strcmp(a, "-o")) {
            c->out = NEXT();
        } else if (!strcmp(a, "--name")) {
            c->name = NEXT();
        } else if (!strcmp(a, "--embed-weights")) {
            c->embed = true;
        } else if (!strcmp(a, "--weights")) {
            c->opt.import.weights = NEXT();
        } else if (!strcmp(a, "--input-shape")) {
            parse_pin(c, NEXT());
        } else if (!strncmp(a, "--input-shape=", 14)) {
            parse_pin(c, a + 14);
        } else if (!strcmp(a, "--freeze-input")) {
            const char *v = NEXT(), *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1]) usage_error("--freeze-input wants NAME=FILE.npy, got '%s'", v);
            /* Read after all options, under the final --max-bytes. */
            urc_frozen_input fz = {urc_strndup(v, (size_t)(eq - v)), NULL};
            URC_VEC_PUSH(c->frozen, fz);
            URC_VEC_PUSH(c->frozen_paths, eq + 1);
        } else if (!strcmp(a, "--max-bytes")) {
            const char *v = NEXT();
            if (!parse_u64(v, &c->opt.import.max_bytes) || !c->opt.import.max_bytes)
                usage_error("--max-bytes wants a positive integer, got '%s'", v);
        } else if (!strcmp(a, "--allow-nonfinite")) {
            c->allow_nonfinite = true;
        } else if (!strcmp(a, "--dump-ir")) {
            c->opt.dump_ir = true;
        } else if (!strcmp(a, "--dump-loops")) {
            c->opt.dump_loops = true;
        } else if (!strcmp(a, "--dump-after")) {
            c->opt.dump_after = NEXT();
            bool known = false;
            for (int k = 0; urc_pass_names[k]; k++) known |= !strcmp(urc_pass_names[k], c->opt.dump_after);
            if (!known) usage_error("--dump-after: unknown pass '%s'", c->opt.dump_after);
        } else if (!strncmp(a, "--dump-after=", 13)) {
            c->opt.dump_after = a + 13;
            bool known = false;
            for (int k = 0; urc_pass_names[k]; k++) known |= !strcmp(urc_pass_names[k], c->opt.dump_after);
            if (!known) usage_error("--dump-after: unknown pass '%s'", c->opt.dump_after);
        } else if (!strcmp(a, "--no-fold")) {
            c->opt.no_fold = true;
        } else if (!strcmp(a, "-O0")) {
            c->opt.no_opt = true;
        } else if (!strcmp(a, "--interp")) {
            c->interp = true;
        } else if (!strcmp(a, "--input")) {
            URC_VEC_PUSH(c->inputs, NEXT());
        } else if (!strcmp(a, "--output")) {
            URC_VEC_PUSH(c->outputs, NEXT());
        } else if (!strcmp(a, "--cc")) {
            c->cc = NEXT();
        } else if (!strcmp(a, "--cflags")) {
            c->cflags = NEXT();
        } else if (!strcmp(a, "--keep")) {
            c->keep = NEXT();
        } else if (!strcmp(a, "--target-cpu")) {
            const char *v = NEXT();
            int bits = c->opt.target.vector_bits;
            if (!urc_target_lookup(v, &c->opt.target)) usage_error("--target-cpu: unknown CPU '%s'", v);
            if (bits) c->opt.target.vector_bits = bits;
        } else if (!strcmp(a, "--vector-bits")) {
            const char *v = NEXT();
            uint64_t x;
            if (!parse_u64(v, &x) || (x != 128 && x != 256 && x != 512))
                usage_error("--vector-bits wants 128, 256 or 512, got '%s'", v);
            if (!c->opt.target.name) urc_target_lookup("host", &c->opt.target);
            c->opt.target.vector_bits = (int)x;
        } else if (!strcmp(a, "--threads") || !strcmp(a, "--runs")) {
            const char *v = NEXT();
            uint64_t x;
            if (!parse_u64(v, &x) || x < 1 || x > 100000) usage_error("%s wants a positive integer, got '%s'", a, v);
            if (!strcmp(a, "--threads")) c->threads = (int)x;
            else c->runs = (int)x;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            urc_verbose = 1;
        } else if (a[0] == '-' && a[1]) {
            usage_error("unknown option '%s'", a);
        } else if (!c->model) {
            c->model = a;
        } else {
            usage_error("unexpected argument '%s'", a);
        }
#undef NEXT
    }
    if (!c->model) usage_error("no model given");
    for (int k = 0; k < c->frozen.len; k++) {
        const char *err;
        urc_tensor *t = urc_npy_read(c->frozen_paths.items[k], c->opt.import.max_bytes, &err);
        if (!t) fail(c->frozen_paths.items[k], err);
        c->frozen.items[k].value = t;
    }
    c->opt.import.pins = c->pins.items;
    c->opt.import.npins = c->pins.len;
    c->opt.import.frozen = c->frozen.items;
    c->opt.import.nfrozen = c->frozen.len;
    if (!strcmp(c->cmd, "compile") && !c->out) usage_error("no output file given (-o FILE.c)");
    if (!strcmp(c->cmd, "run") && (!c->inputs.len && !c->outputs.len))
        usage_error("run needs --input and --output files");
    if (!strcmp(c->cmd, "run")) {
        urc_cli_file *ins = urc_alloc(sizeof(urc_cli_file) * (size_t)(1 + c->inputs.len + c->frozen_paths.len));
        int nin = input_files(c, ins);
        urc_cli_check_outputs(run_outputs(c), c->outputs.len, ins, nin);
    }
    if (c->keep && (!strcmp(c->cmd, "run") || !strcmp(c->cmd, "bench")) && !c->interp) {
        const char *err = urc_keep_dir_prepare(c->keep);
        if (err) fail(c->keep, err);
    }
}

/* ---- compile ---------------------------------------------------------------- */

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

bool urc_cli_valid_ident(const char *s) {
    if (!*s || (*s >= '0' && *s <= '9')) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* Writes OUT.c, OUT.h and OUT.weights (unless embedded); all or nothing. */
static void write_outputs(const urc_program *P, const urc_graph *g, const char *model, const char *out_c,
                          const char *name, bool embed, const char *command) {
    size_t len = strlen(out_c);
    const char *stem = len > 2 && !strcmp(out_c + len - 2, ".c") ? urc_strndup(out_c, len - 2) : out_c;
    const char *h_path = urc_fmt("%s.h", stem), *w_path = urc_fmt("%s.weights", stem);
    urc_c_opts co = {.prefix = name,
                     .header_name = base_name(h_path),
                     .source_name = base_name(model),
                     .command = command,
                     .model_hash = g->hash,
                     .opset = g->opset,
                     .embed_weights = embed};
    urc_strbuf src = {0}, hdr = {0}, wts = {0};
    urc_emit_c_source(P, &co, &src);
    urc_emit_c_header(P, &co, &hdr);
    if (!embed) urc_emit_weights(P, &co, &wts);
    const char *err;
    urc_outfile *fc = urc_outfile_open(out_c, &err);
    if (!fc) fail(out_c, err);
    urc_outfile *fh = urc_outfile_open(h_path, &err);
    if (!fh) fail(h_path, err);
    urc_outfile *fw = NULL;
    if (!embed && !(fw = urc_outfile_open(w_path, &err))) fail(w_path, err);
    urc_outfile_write(fc, src.data, src.len);
    urc_outfile_write(fh, hdr.data, hdr.len);
    if (fw) urc_outfile_write(fw, wts.data, wts.len);
    /* All three or none: the weights first, the C file last. */
    urc_outfile *fs[3] = {fw ? fw : fh, fw ? fh : fc, fw ? fc : NULL};
    const char *paths[3] = {fw ? w_path : h_path, fw ? h_path : out_c, out_c};
    int failed = 0;
    if (!urc_outfile_commit_all(fs, fw ? 3 : 2, &err, &failed)) fail(paths[failed], err);
    urc_sb_free(&src);
    urc_sb_free(&hdr);
    urc_sb_free(&wts);
}

const char *urc_cli_default_name(const char *out) {
    const char *b = base_name(out);
    const char *dot = strrchr(b, '.');
    const char *stem = dot ? urc_strndup(b, (size_t)(dot - b)) : b;
    char *r = urc_strdup(stem);
    for (char *p = r; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')) *p = '_';
    if (!*r || (*r >= '0' && *r <= '9')) return urc_fmt("m_%s", r);
    return r;
}

int urc_cli_compile_outputs(const char *out_c, bool embed, urc_cli_file outs[3]) {
    const char *stem = urc_strndup(out_c, strlen(out_c) - 2);
    outs[0] = (urc_cli_file){out_c, urc_fmt("-o '%s'", out_c)};
    outs[1] = (urc_cli_file){urc_fmt("%s.h", stem), urc_fmt("output '%s.h' (of -o '%s')", stem, out_c)};
    outs[2] = (urc_cli_file){urc_fmt("%s.weights", stem), urc_fmt("output '%s.weights' (of -o '%s')", stem, out_c)};
    return embed ? 2 : 3;
}

static int cmd_compile(cli *c) {
    const char *name = c->name ? c->name : urc_cli_default_name(c->out);
    if (!urc_cli_valid_ident(name)) usage_error("--name '%s' is not a C identifier", name);
    size_t len = strlen(c->out);
    if (len < 3 || strcmp(c->out + len - 2, ".c")) usage_error("-o wants a file name ending in .c, got '%s'", c->out);
    urc_cli_file outs[3], *ins = urc_alloc(sizeof(urc_cli_file) * (size_t)(1 + c->inputs.len + c->frozen_paths.len));
    int nout = urc_cli_compile_outputs(c->out, c->embed, outs), nin = input_files(c, ins);
    urc_cli_check_outputs(outs, nout, ins, nin);
    urc_diag_reset(c->model);
    urc_graph *g = urc_build_graph(c->model, &c->opt);
    if (!g) fail_diag();
    urc_cli_check_external(g, outs, nout);
    urc_program *P = urc_build_program(g, name, &c->opt, NULL);
    if (!P) fail_diag();
    write_outputs(P, g, c->model, c->out, name, c->embed, c->command);
    urc_note("wrote %s: %d kernels, arena %lld bytes, weights %lld bytes", c->out, P->kernels.len,
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
    const char *err;
    urc_outfile **fs = urc_xcalloc((size_t)n + 1, sizeof(urc_outfile *));
    for (int i = 0; i < n; i++) {
        fs[i] = urc_outfile_open(c->outputs.items[i], &err);
        if (!fs[i]) fail(c->outputs.items[i], err);
        urc_strbuf sb = {0};
        urc_npy_format(outs[i], &sb);
        urc_outfile_write(fs[i], sb.data, sb.len);
        urc_sb_free(&sb);
    }
    int failed = 0;
    if (!urc_outfile_commit_all(fs, n, &err, &failed)) fail(c->outputs.items[failed], err);
    free(fs);
}

static int cmd_run(cli *c) {
    urc_diag_reset(c->model);
    urc_graph *g = urc_build_graph(c->model, &c->opt);
    if (!g) fail_diag();
    urc_cli_check_external(g, run_outputs(c), c->outputs.len);
    if (c->inputs.len != g->inputs.len)
        fail(c->model, urc_fmt("the model has %d inputs, %d --input files given", g->inputs.len, c->inputs.len));
    if (c->outputs.len != g->outputs.len)
        fail(c->model, urc_fmt("the model has %d outputs, %d --output files given", g->outputs.len, c->outputs.len));
    urc_tensor **ins = urc_xcalloc((size_t)g->inputs.len + 1, sizeof(urc_tensor *));
    urc_tensor **outs = urc_xcalloc((size_t)g->outputs.len + 1, sizeof(urc_tensor *));
    for (int i = 0; i < g->inputs.len; i++) ins[i] = prepare_input(c, c->inputs.items[i], g->inputs.items[i]);
    if (c->interp) {
        urc_diag_reset(c->model);
        if (!urc_interp_run(g, ins, outs)) fail_diag();
        write_npy_outputs(c, outs, g->outputs.len);
        return 0;
    }
    urc_program *P = urc_build_program(g, "model", &c->opt, NULL);
    if (!P) fail_diag();
    urc_run_opts ro = {.cc = c->cc,
                       .cflags = c->cflags,
                       .keep_dir = c->keep,
                       .model_name = base_name(c->model),
                       .command = c->command,
                       .model_hash = g->hash,
                       .opset = g->opset};
    urc_diag_reset(c->model);
    if (!urc_c_run(P, ins, outs, &ro)) fail_diag();
    write_npy_outputs(c, outs, g->outputs.len);
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
    double *times = urc_xcalloc((size_t)runs, sizeof(double));
    urc_run_opts ro = {.cc = c->cc,
                       .cflags =
                           c->cflags ? c->cflags : "-std=c11 -O3 -march=native -mprefer-vector-width=512 -fopenmp",
                       .keep_dir = c->keep,
                       .model_name = base_name(c->model),
                       .command = c->command,
                       .model_hash = g->hash,
                       .opset = g->opset,
                       .threads = threads,
                       .bench_runs = runs,
                       .times_ms = times};
    urc_diag_reset(c->model);
    if (!urc_c_run(P, ins, outs, &ro)) fail_diag();
    qsort(times, (size_t)runs, sizeof(double), cmp_double);
    double med = runs % 2 ? times[runs / 2] : 0.5 * (times[runs / 2 - 1] + times[runs / 2]);
    printf("bench %s: median_ms=%.3f min_ms=%.3f gflops=%.2f gmacs=%.3f arena_bytes=%lld weights_bytes=%lld "
           "threads=%d runs=%d\n",
           base_name(c->model), med, times[0], med > 0 ? 2.0 * (double)P->macs / (med * 1e6) : 0.0,
           (double)P->macs / 1e9, (long long)P->arena_bytes, (long long)P->weights_bytes, threads, runs);
    return 0;
}

int main(int argc, char **argv) {
    urc_cleanup_on_signals();
    if (argc > 1 && !strcmp(argv[1], "grad")) return urc_cmd_grad(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "train")) return urc_cmd_train(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "segment")) return urc_cmd_segment(argc, argv);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--train")) return urc_cmd_compile_train(argc, argv);
    cli c = {0};
    parse_args(&c, argc, argv);
    if (!strcmp(c.cmd, "run")) return cmd_run(&c);
    if (!strcmp(c.cmd, "info")) return cmd_info(&c);
    if (!strcmp(c.cmd, "bench")) return cmd_bench(&c);
    return cmd_compile(&c);
}
