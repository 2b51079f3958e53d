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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/c/emit_c.h"
#include "base/diag.h"
#include "base/npy.h"
#include "driver.h"
#include "interp/interp.h"

static const char usage_text[] =
    "usage: unetrc MODEL.onnx -o OUT.c [options]      compile to OUT.c, OUT.h, OUT.weights\n"
    "       unetrc run MODEL.onnx --input X.npy... --output Y.npy... [--interp] [options]\n"
    "       unetrc info MODEL.onnx [options]\n"
    "options:\n"
    "  -o FILE.c              output C file (header and weights next to it)\n"
    "  --name NAME            symbol prefix (default: the output file's base name)\n"
    "  --embed-weights        put the weights in the C file instead of NAME.weights\n"
    "  --input-shape N=D,...  pin the shape of input N (symbolic dimensions)\n"
    "  --max-bytes N          largest model, tensor or .npy accepted (default 4294967296)\n"
    "  --allow-nonfinite      accept NaN/Inf in .npy inputs\n"
    "  --dump-ir              print the IR after the graph passes\n"
    "  --dump-after PASS      print the IR after PASS (import, order, infer, dce, einsum, reinfer, cleanup)\n"
    "  --no-fold              do not fold constants (debugging)\n"
    "  --interp               run: use the reference interpreter instead of generated C\n"
    "  --cc CC                run: C compiler (default $CC, else cc)\n"
    "  --cflags FLAGS         run: compiler flags (default \"-std=c11 -O2 -fopenmp\")\n"
    "  --keep DIR             run: keep the generated files and binary in DIR\n"
    "  -v, --verbose          notes on stderr\n"
    "  -h, --help, --version\n";

static void usage_error(const char *fmt, ...) URC_PRINTF(1, 2);
static void usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("unetrc: usage error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see unetrc --help)\n", stderr);
    va_end(ap);
    exit(2);
}

/* Reports recorded problems (or `msg`) for `file` and exits 1. */
static void fail(const char *file, const char *msg) {
    urc_outfile_abort_all();
    if (msg) {
        if (file && *file) fprintf(stderr, "unetrc: error: %s: %s\n", file, msg);
        else fprintf(stderr, "unetrc: error: %s\n", msg);
    } else {
        urc_diag_print();
    }
    exit(1);
}

static void fail_diag(void) {
    urc_outfile_abort_all();
    if (urc_error_count() == 0) urc_error(NULL, "failed (no details recorded)");
    urc_diag_print();
    exit(1);
}

typedef struct cli {
    const char *cmd;          /* "compile", "run", "info" */
    const char *model;
    const char *out;
    const char *name;
    bool embed;
    bool interp;
    bool allow_nonfinite;
    const char *cc, *cflags, *keep;
    URC_VEC(const char *) inputs;
    URC_VEC(const char *) outputs;
    URC_VEC(urc_input_pin) pins;
    urc_options opt;
    const char *command;      /* the command line, for provenance */
} cli;

static bool parse_u64(const char *s, uint64_t *v) {
    if (!*s || *s == '-') return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *v = x;
    return true;
}

static void parse_pin(cli *c, const char *arg) {
    const char *eq = strrchr(arg, '=');
    if (!eq || eq == arg) usage_error("--input-shape wants NAME=D0,D1,..., got '%s'", arg);
    urc_input_pin pin = {urc_strndup(arg, (size_t)(eq - arg)), {0}};
    const char *p = eq + 1;
    while (*p) {
        if (pin.shape.rank == URC_MAX_RANK) usage_error("--input-shape: more than %d dimensions", URC_MAX_RANK);
        char *end;
        errno = 0;
        long long d = strtoll(p, &end, 10);
        if (errno || end == p || d < 0 || (*end && *end != ',')) usage_error("--input-shape: bad dimension in '%s'", arg);
        pin.shape.dims[pin.shape.rank++] = d;
        p = *end ? end + 1 : end;
    }
    URC_VEC_PUSH(c->pins, pin);
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
    if (argc > 1 && (!strcmp(argv[1], "run") || !strcmp(argv[1], "info") || !strcmp(argv[1], "compile"))) {
        c->cmd = argv[1];
        i = 2;
    }
    for (; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage_error("%s needs a value", a), ""))
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("unetrc %s\n", URC_VERSION);
            exit(0);
        } else if (!strcmp(a, "-o")) {
            c->out = NEXT();
        } else if (!strcmp(a, "--name")) {
            c->name = NEXT();
        } else if (!strcmp(a, "--embed-weights")) {
            c->embed = true;
        } else if (!strcmp(a, "--input-shape")) {
            parse_pin(c, NEXT());
        } else if (!strncmp(a, "--input-shape=", 14)) {
            parse_pin(c, a + 14);
        } else if (!strcmp(a, "--max-bytes")) {
            const char *v = NEXT();
            if (!parse_u64(v, &c->opt.import.max_bytes) || !c->opt.import.max_bytes)
                usage_error("--max-bytes wants a positive integer, got '%s'", v);
        } else if (!strcmp(a, "--allow-nonfinite")) {
            c->allow_nonfinite = true;
        } else if (!strcmp(a, "--dump-ir")) {
            c->opt.dump_ir = true;
        } else if (!strcmp(a, "--dump-after")) {
            c->opt.dump_after = NEXT();
            bool known = false;
            for (int k = 0; urc_pass_names[k]; k++) known |= !strcmp(urc_pass_names[k], c->opt.dump_after);
            if (!known) usage_error("--dump-after: unknown pass '%s'", c->opt.dump_after);
        } else if (!strncmp(a, "--dump-after=", 13)) {
            c->opt.dump_after = a + 13;
        } else if (!strcmp(a, "--no-fold")) {
            c->opt.no_fold = true;
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
    c->opt.import.pins = c->pins.items;
    c->opt.import.npins = c->pins.len;
    if (!strcmp(c->cmd, "compile") && !c->out) usage_error("no output file given (-o FILE.c)");
    if (!strcmp(c->cmd, "run") && (!c->inputs.len && !c->outputs.len))
        usage_error("run needs --input and --output files");
}

/* ---- compile ---------------------------------------------------------------- */

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static bool valid_ident(const char *s) {
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
    urc_c_opts co = {.prefix = name, .header_name = base_name(h_path), .source_name = base_name(model),
                     .command = command, .model_hash = g->hash, .opset = g->opset, .embed_weights = embed};
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
    if (fw && !urc_outfile_commit(fw, &err)) fail(w_path, err);
    if (!urc_outfile_commit(fh, &err)) fail(h_path, err);
    if (!urc_outfile_commit(fc, &err)) fail(out_c, err);
    urc_sb_free(&src);
    urc_sb_free(&hdr);
    urc_sb_free(&wts);
}

static const char *default_name(const char *out) {
    const char *b = base_name(out);
    const char *dot = strrchr(b, '.');
    const char *stem = dot ? urc_strndup(b, (size_t)(dot - b)) : b;
    char *r = urc_strdup(stem);
    for (char *p = r; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')) *p = '_';
    if (!*r || (*r >= '0' && *r <= '9')) return urc_fmt("m_%s", r);
    return r;
}

static int cmd_compile(cli *c) {
    const char *name = c->name ? c->name : default_name(c->out);
    if (!valid_ident(name)) usage_error("--name '%s' is not a C identifier", name);
    size_t len = strlen(c->out);
    if (len < 3 || strcmp(c->out + len - 2, ".c")) usage_error("-o wants a file name ending in .c, got '%s'", c->out);
    urc_diag_reset(c->model);
    urc_graph *g = urc_build_graph(c->model, &c->opt);
    if (!g) fail_diag();
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
    if (!g) fail_diag();
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
           (long long)P->arena_bytes, (long long)P->arena_lower_bound, (long long)P->intermediate_bytes,
           plan->nbuffers, plan->strategy ? plan->strategy : "none");
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
    for (int i = 0; i < n; i++)
        if (!urc_outfile_commit(fs[i], &err)) fail(c->outputs.items[i], err);
    free(fs);
}

/* Runs argv (no shell); returns the exit status, -1 if it could not run. */
static int run_process(char **argv, const char *log_path) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (log_path) {
            FILE *f = freopen(log_path, "w", stdout);
            if (f) dup2(fileno(stdout), 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

typedef URC_VEC(char *) strvec;

static void split_words(const char *s, strvec *out) {
    const char *p = s;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *q = p;
        while (*q && *q != ' ') q++;
        URC_VEC_PUSH(*out, urc_strndup(p, (size_t)(q - p)));
        p = q;
    }
}

static const char *harness_source(const urc_program *P, const char *name) {
    const char *U = name;
    urc_strbuf sb = {0};
    urc_sb_printf(&sb,
                  "/* Test harness written by `unetrc run`: loads the weights blob and raw\n"
                  " * inputs, calls %s_forward, writes raw outputs. */\n"
                  "#define _POSIX_C_SOURCE 200809L\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
                  "#include <time.h>\n#include \"%s.h\"\n\n",
                  name, name);
    urc_sb_puts(&sb,
                "static void *load(const char *path, size_t n) {\n"
                "    void *p = aligned_alloc(64, (n + 63) / 64 * 64 + 64);\n"
                "    FILE *f = fopen(path, \"rb\");\n"
                "    if (!p || !f || fread(p, 1, n, f) != n || fgetc(f) != EOF) {\n"
                "        fprintf(stderr, \"harness: cannot read %s\\n\", path);\n        exit(3);\n    }\n"
                "    fclose(f);\n    return p;\n}\n\n"
                "static void save(const char *path, const void *p, size_t n) {\n"
                "    FILE *f = fopen(path, \"wb\");\n"
                "    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {\n"
                "        fprintf(stderr, \"harness: cannot write %s\\n\", path);\n        exit(3);\n    }\n}\n\n");
    urc_sb_puts(&sb, "int main(int argc, char **argv) {\n");
    urc_sb_printf(&sb, "    if (argc != %d) {\n        fprintf(stderr, \"harness: wrong arguments\\n\");\n        return 3;\n    }\n",
                  2 + P->inputs.len + P->outputs.len);
    urc_sb_printf(&sb, "    size_t wsize = %lld + 64;\n", (long long)P->weights_bytes);
    urc_sb_puts(&sb, "    unsigned char *blob = load(argv[1], wsize);\n");
    urc_sb_printf(&sb, "    void *arena = aligned_alloc(64, (size_t)%lld);\n",
                  (long long)urc_align_up(P->arena_bytes ? P->arena_bytes : 64, 64));
    urc_sb_puts(&sb, "    if (!arena) return 3;\n    memset(arena, 0xA5, 64);\n");
    for (int i = 0; i < P->inputs.len; i++)
        urc_sb_printf(&sb, "    void *in%d = load(argv[%d], (size_t)%lld);\n", i, 2 + i,
                      (long long)(urc_shape_numel(&P->inputs.items[i].shape) * urc_dtype_size(P->inputs.items[i].dt)));
    for (int i = 0; i < P->outputs.len; i++) {
        int64_t bytes = urc_shape_numel(&P->outputs.items[i].shape) * urc_dtype_size(P->outputs.items[i].dt);
        urc_sb_printf(&sb, "    void *out%d = aligned_alloc(64, (size_t)%lld);\n    if (!out%d) return 3;\n", i,
                      (long long)urc_align_up(bytes ? bytes : 64, 64), i);
    }
    urc_sb_printf(&sb, "    int rc = %s_forward(blob + 64, arena", U);
    for (int i = 0; i < P->inputs.len; i++) urc_sb_printf(&sb, ", in%d", i);
    for (int i = 0; i < P->outputs.len; i++) urc_sb_printf(&sb, ", out%d", i);
    urc_sb_puts(&sb, ");\n    if (rc != 0) {\n        fprintf(stderr, \"harness: forward returned %d\\n\", rc);\n        return 4;\n    }\n");
    for (int i = 0; i < P->outputs.len; i++)
        urc_sb_printf(&sb, "    save(argv[%d], out%d, (size_t)%lld);\n", 2 + P->inputs.len + i, i,
                      (long long)(urc_shape_numel(&P->outputs.items[i].shape) * urc_dtype_size(P->outputs.items[i].dt)));
    urc_sb_puts(&sb, "    return 0;\n}\n");
    const char *r = urc_strdup(sb.data);
    urc_sb_free(&sb);
    return r;
}

static void remove_tree(const char *dir) {
    char *argv[] = {"rm", "-rf", (char *)dir, NULL};
    run_process(argv, NULL);
}

static void write_plain(const char *dir, const char *file, const void *data, size_t n) {
    const char *err;
    const char *path = urc_fmt("%s/%s", dir, file);
    if (!urc_write_file_atomic(path, data, n, &err)) fail(path, err);
}

static int cmd_run(cli *c) {
    urc_diag_reset(c->model);
    urc_graph *g = urc_build_graph(c->model, &c->opt);
    if (!g) fail_diag();
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
    const char *name = "model";
    urc_program *P = urc_build_program(g, name, &c->opt, NULL);
    if (!P) fail_diag();
    char tmpl[] = "/tmp/unetrc-run-XXXXXX";
    const char *dir;
    if (c->keep) {
        mkdir(c->keep, 0755);
        dir = c->keep;
    } else {
        if (!mkdtemp(tmpl)) fail(NULL, "cannot create a temporary folder");
        dir = tmpl;
    }
    write_outputs(P, g, c->model, urc_fmt("%s/%s.c", dir, name), name, false, c->command);
    const char *h = harness_source(P, name);
    write_plain(dir, "harness.c", h, strlen(h));
    for (int i = 0; i < g->inputs.len; i++)
        write_plain(dir, urc_fmt("in%d.bin", i), ins[i]->data, urc_tensor_bytes(ins[i]));
    /* Build. */
    strvec argv = {0};
    const char *cc = c->cc ? c->cc : getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    split_words(cc, &argv);
    split_words(c->cflags ? c->cflags : "-std=c11 -O2 -fopenmp", &argv);
    const char *exe = urc_fmt("%s/model_run", dir);
    URC_VEC_PUSH(argv, urc_fmt("%s/%s.c", dir, name));
    URC_VEC_PUSH(argv, urc_fmt("%s/harness.c", dir));
    URC_VEC_PUSH(argv, "-o");
    URC_VEC_PUSH(argv, (char *)exe);
    URC_VEC_PUSH(argv, "-lm");
    URC_VEC_PUSH(argv, NULL);
    const char *log = urc_fmt("%s/build.log", dir);
    int rc = run_process(argv.items, log);
    if (rc != 0) {
        size_t n;
        const char *err;
        char *text = urc_read_file(log, &n, 1 << 20, &err);
        /* First error line of the compiler, on one line. */
        const char *first = "";
        if (text) {
            char *e = strstr(text, "error");
            if (!e) e = text;
            char *nl = strchr(e, '\n');
            if (nl) *nl = 0;
            first = e;
        }
        const char *msg = urc_fmt("the generated C failed to build with '%s' (exit %d): %s", cc, rc, first);
        if (!c->keep) remove_tree(dir);
        fail(c->model, msg);
    }
    strvec rargv = {0};
    URC_VEC_PUSH(rargv, (char *)exe);
    URC_VEC_PUSH(rargv, urc_fmt("%s/%s.weights", dir, name));
    for (int i = 0; i < g->inputs.len; i++) URC_VEC_PUSH(rargv, urc_fmt("%s/in%d.bin", dir, i));
    for (int i = 0; i < g->outputs.len; i++) URC_VEC_PUSH(rargv, urc_fmt("%s/out%d.bin", dir, i));
    URC_VEC_PUSH(rargv, NULL);
    rc = run_process(rargv.items, NULL);
    if (rc != 0) {
        if (!c->keep) remove_tree(dir);
        fail(c->model, urc_fmt("the generated program failed (exit status %d)", rc));
    }
    for (int i = 0; i < g->outputs.len; i++) {
        const urc_value *v = g->outputs.items[i];
        outs[i] = urc_tensor_new(v->dtype, &v->shape);
        size_t n;
        const char *err;
        const char *path = urc_fmt("%s/out%d.bin", dir, i);
        void *data = urc_read_file(path, &n, (size_t)-1, &err);
        if (!data || n != urc_tensor_bytes(outs[i])) {
            if (!c->keep) remove_tree(dir);
            fail(path, "the generated program wrote an output of the wrong size");
        }
        memcpy(outs[i]->data, data, n);
        free(data);
    }
    if (!c->keep) remove_tree(dir);
    write_npy_outputs(c, outs, g->outputs.len);
    return 0;
}

int main(int argc, char **argv) {
    cli c = {0};
    parse_args(&c, argc, argv);
    if (!strcmp(c.cmd, "run")) return cmd_run(&c);
    if (!strcmp(c.cmd, "info")) return cmd_info(&c);
    return cmd_compile(&c);
}
