/* cli.c: the option table, the one parser of every command, the help texts
 * generated from the table, and what the commands share: usage errors and
 * failures, output checks and the all-or-nothing output set (see cli.h).
 * docs/cli.md and docs/training.md describe the same options
 * (tests/cli_tests.sh checks that every option of the table is in `unetrc
 * --help` and in docs/cli.md). */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "base/diag.h"
#include "base/npy.h"
#include "base/paths.h"
#include "base/proc.h"
#include "unetrc_sw.h"

#define usage_error urc_cli_usage_error
#define fail urc_cli_fail

/* ---- errors and outputs --------------------------------------------------------- */

void urc_cli_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    /* one line whatever an argument holds (a newline, an escape) */
    fprintf(stderr, "unetrc: usage error: %s (see unetrc --help)\n", urc_diag_one_line(urc_vfmt(fmt, ap)));
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

void urc_cli_check_external(const urc_graph *g, const urc_cli_file *outs, int nout) {
    urc_cli_file *ins = urc_alloc(sizeof(urc_cli_file) * ((size_t)g->external_files.len + 1));
    for (int i = 0; i < g->external_files.len; i++)
        ins[i] = (urc_cli_file){g->external_files.items[i], "the model's external data file"};
    urc_cli_check_outputs(outs, nout, ins, g->external_files.len);
}

int urc_cli_input_files(const urc_cli *c, urc_cli_file *ins) {
    int n = 0;
    ins[n++] = (urc_cli_file){c->model, "the model"};
    for (int i = 0; i < c->inputs.len; i++) ins[n++] = (urc_cli_file){c->inputs.items[i], "the --input file"};
    for (int i = 0; i < c->frozen_paths.len; i++)
        ins[n++] = (urc_cli_file){c->frozen_paths.items[i], "the --freeze-input file"};
    return n;
}

const char *urc_cli_base_name(const char *path) {
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

/* The stem of the output made an identifier: "9x.c" -> m_9x. */
static const char *default_name(const char *out) {
    const char *b = urc_cli_base_name(out);
    const char *dot = strrchr(b, '.');
    char *r = urc_strdup(dot ? urc_strndup(b, (size_t)(dot - b)) : b);
    for (char *p = r; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')) *p = '_';
    if (!*r || (*r >= '0' && *r <= '9')) return urc_fmt("m_%s", r);
    return r;
}

/* The suffix -o must have: .c, .o for the LLVM backend, .so with --shared. */
static const char *out_suffix(const urc_cli *c) {
    return c->shared ? ".so" : c->backend ? c->backend->code_suffix : ".c";
}

/* The output path without its suffix, and with --shared without the "lib"
 * of its base name: DIR/libseg.so -> DIR/seg (DIR/seg.h, DIR/seg.weights). */
static const char *out_stem(const urc_cli *c) {
    const char *stem = urc_strndup(c->out_c, strlen(c->out_c) - strlen(out_suffix(c)));
    const char *base = urc_cli_base_name(stem);
    if (c->shared && !strncmp(base, "lib", 3) && base[3]) stem = urc_fmt("%.*s%s", (int)(base - stem), stem, base + 3);
    return stem;
}

const char *urc_cli_compile_prefix(const urc_cli *c, urc_cli_file outs[3], int *nout) {
    const char *sfx = out_suffix(c);
    if (!c->out_c) usage_error("no output file given (-o FILE%s)", sfx);
    size_t len = strlen(c->out_c), ls = strlen(sfx);
    if (len < ls + 1 || strcmp(c->out_c + len - ls, sfx))
        usage_error("-o wants a file name ending in %s, got '%s'", sfx, c->out_c);
    const char *stem = out_stem(c);
    const char *name = c->name ? c->name : default_name(urc_fmt("%s.c", stem));
    if (!valid_ident(name)) usage_error("--name '%s' is not a C identifier", name);
    outs[0] = (urc_cli_file){c->out_c, urc_fmt("-o '%s'", c->out_c)};
    outs[1] = (urc_cli_file){urc_fmt("%s.h", stem), urc_fmt("output '%s.h' (of -o '%s')", stem, c->out_c)};
    outs[2] = (urc_cli_file){urc_fmt("%s.weights", stem), urc_fmt("output '%s.weights' (of -o '%s')", stem, c->out_c)};
    *nout = c->embed ? 2 : 3;
    urc_cli_file *ins = urc_alloc(sizeof(urc_cli_file) * (size_t)(1 + c->inputs.len + c->frozen_paths.len));
    urc_cli_check_outputs(outs, *nout, ins, urc_cli_input_files(c, ins));
    return name;
}

/* --shared: the emitted code (and its header, which it includes) written
 * into the scratch folder and built there by the backend (cc cflags -shared
 * -fPIC: the C file compiled, the LLVM object linked) into a shared library,
 * which replaces the code in e. */
/* The default flags of --shared: the code tuned for the resolved --target-cpu is built for that CPU too
 * (-march=NAME, which gcc and clang know for the x86-64 names of the table; -march=native for "native")
 * when it runs on this machine's architecture; other targets need --cc/--cflags of their toolchain. */
static const char *shared_cflags(const urc_cli *c) {
    const urc_target *t = &c->opt.target;
    const char *march = "";
    if (t->name && !strcmp(t->name, "native")) march = " -march=native";
#if defined(__x86_64__)
    else if (t->name && t->triple && !strncmp(t->triple, "x86_64", 6) && strcmp(t->name, "generic"))
        march = urc_fmt(" -march=%s", t->name);
#endif
    return urc_fmt("-std=c11 -O3%s -fopenmp", march);
}

static void build_shared(const urc_cli *c, const char *scratch, const urc_emit_opts *eo, urc_emitted *e) {
    const char *err;
    const char *h = urc_fmt("%s/%s", scratch, urc_cli_base_name(eo->header_path));
    if (!urc_write_new_file(eo->code_path, e->code.data, e->code.len, 0600, &err)) fail(eo->code_path, err);
    if (!urc_write_new_file(h, e->header.data, e->header.len, 0600, &err)) fail(h, err);
    const char *so = urc_fmt("%s/lib.so", scratch);
    urc_build_opts bo = {.cc = c->cc,
                         .cflags = urc_fmt("%s -shared -fPIC", c->cflags ? c->cflags : shared_cflags(c)),
                         .log_path = urc_fmt("%s/build.log", scratch),
                         .tmpdir = scratch};
    urc_diag_reset(c->out_c);
    if (!c->backend->build(&eo->code_path, 1, so, &bo)) fail(c->out_c, NULL);
    size_t n;
    char *data = urc_read_file(so, &n, (size_t)-1, &err);
    if (!data) fail(so, err);
    urc_sb_free(&e->code);
    urc_sb_write(&e->code, data, n);
    free(data);
}

void urc_cli_write_code(const urc_cli *c, const urc_program *const *progs, const char *const *entries, int n,
                        const char *prefix, const urc_graph *g, const char *command) {
    const char *stem = out_stem(c), *scratch = NULL;
    if (c->shared) { /* the code goes into a scratch folder, built from there into OUT.so */
        const char *err;
        if (!(scratch = urc_scratch_create("unetrc-shared-", &err))) fail(NULL, err);
    }
    urc_emit_opts eo = {.triple = c->triple,
                        .cpu = c->cpu,
                        .features = c->features,
                        .prefix = prefix,
                        .source_name = urc_cli_base_name(c->model),
                        .command = command,
                        .model_hash = g->hash,
                        .opset = g->opset,
                        .embed_weights = c->embed,
                        .code_path = scratch ? urc_fmt("%s/%s%s", scratch, prefix, c->backend->code_suffix) : c->out_c,
                        .header_path = urc_fmt("%s.h", stem),
                        .weights_path = c->embed ? NULL : urc_fmt("%s.weights", stem)};
    urc_emitted e = {0};
    if (!c->backend->emit(progs, entries, n, &eo, &e)) fail(c->model, NULL);
    if (scratch) build_shared(c, scratch, &eo, &e);
    /* Opened in the order of the command line (a missing folder is named
     * as -o), committed the other way round: the weights first (on a full
     * disk the largest file is the one named), the code, whose presence
     * says the set is complete, last. */
    urc_cli_outset set = {0};
    urc_outfile *f[3] = {urc_cli_out_open(&set, c->out_c), urc_cli_out_open(&set, eo.header_path),
                         c->embed ? NULL : urc_cli_out_open(&set, eo.weights_path)};
    urc_outfile_write(f[0], e.code.data, e.code.len);
    urc_outfile_write(f[1], e.header.data, e.header.len);
    if (f[2]) urc_outfile_write(f[2], e.weights.data, e.weights.len);
    urc_emitted_free(&e);
    for (int i = 0, j = set.f.len - 1; i < j; i++, j--) {
        urc_outfile *t = set.f.items[i];
        const char *p = set.path.items[i];
        set.f.items[i] = set.f.items[j], set.path.items[i] = set.path.items[j];
        set.f.items[j] = t, set.path.items[j] = p;
    }
    urc_cli_out_commit(&set);
    if (scratch) urc_scratch_remove((char *)scratch);
}

urc_outfile *urc_cli_out_open(urc_cli_outset *s, const char *path) {
    const char *err;
    urc_outfile *f = urc_outfile_open(path, &err);
    if (!f) fail(path, err);
    URC_VEC_PUSH(s->f, f);
    URC_VEC_PUSH(s->path, path);
    return f;
}

void urc_cli_out_add(urc_cli_outset *s, const char *path, const void *data, size_t n) {
    urc_outfile *f = urc_cli_out_open(s, path);
    const char *err;
    urc_outfile_write(f, data, n);
    if (!urc_outfile_close(f, &err)) fail(path, err);
}

void urc_cli_out_commit(urc_cli_outset *s) {
    const char *err;
    int failed = 0;
    if (!urc_outfile_commit_all(s->f.items, s->f.len, &err, &failed)) fail(s->path.items[failed], err);
    free(s->f.items);
    free(s->path.items);
    memset(s, 0, sizeof *s);
}

/* ---- values ---------------------------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t *v) {
    if (!*s || *s == '-') return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *v = x;
    return true;
}

static bool parse_double(const char *s, double *v) {
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *s && !*end && !errno && isfinite(*v);
}

static double parse_num(const char *opt, const char *v) {
    double x;
    if (!parse_double(v, &x)) usage_error("%s wants a number, got '%s'", opt, v);
    return x;
}

/* Comma-separated numbers: at most max of them; returns how many. */
static int parse_list(const char *opt, const char *v, double *out, int max, const char *want) {
    int n = 0;
    for (const char *p = v;;) {
        const char *comma = strchr(p, ',');
        char *item = urc_strndup(p, comma ? (size_t)(comma - p) : strlen(p));
        if (n == max || !parse_double(item, &out[n])) usage_error("%s wants %s, got '%s'", opt, want, v);
        n++;
        if (!comma) break;
        p = comma + 1;
    }
    return n;
}

/* A comma-separated list of at most max integers in [lo, hi]; returns the count. */
static int parse_int_list(const char *opt, const char *v, int64_t *out, int max, int lo, int hi, const char *want) {
    double tmp[257];
    int n = parse_list(opt, v, tmp, max, want);
    for (int k = 0; k < n; k++) {
        if (tmp[k] != floor(tmp[k]) || tmp[k] < lo || tmp[k] > hi) usage_error("%s wants %s, got '%s'", opt, want, v);
        out[k] = (int64_t)tmp[k];
    }
    return n;
}

/* ---- options with their own checks -------------------------------------------------- */

typedef void opt_fn(urc_cli *c, const char *opt, const char *v);

static opt_fn help;

static void version(urc_cli *c, const char *opt, const char *v) {
    (void)c, (void)opt, (void)v;
    printf("unetrc %s\n", URC_VERSION);
    exit(0);
}

static void verbose(urc_cli *c, const char *opt, const char *v) {
    (void)c, (void)opt, (void)v;
    urc_verbose = 1;
}

static void input_shape(urc_cli *c, const char *opt, const char *arg) {
    (void)opt;
    const char *eq = strrchr(arg, '=');
    if (!eq || eq == arg) usage_error("--input-shape wants NAME=D0,D1,..., got '%s'", arg);
    urc_input_pin pin = {urc_strndup(arg, (size_t)(eq - arg)), {0}};
    for (const char *p = eq + 1; *p;) {
        if (pin.shape.rank == URC_MAX_RANK) usage_error("--input-shape: more than %d dimensions", URC_MAX_RANK);
        char *end;
        errno = 0;
        long long d = strtoll(p, &end, 10);
        if (errno || end == p || d < 0 || (*end && *end != ','))
            usage_error("--input-shape: bad dimension in '%s'", arg);
        pin.shape.dims[pin.shape.rank++] = d;
        p = *end ? end + 1 : end;
    }
    URC_VEC_PUSH(c->pins, pin);
}

static void freeze_input(urc_cli *c, const char *opt, const char *v) {
    (void)opt;
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || !eq[1]) usage_error("--freeze-input wants NAME=FILE.npy, got '%s'", v);
    /* Read after all options, under the final --max-bytes. */
    urc_frozen_input fz = {urc_strndup(v, (size_t)(eq - v)), NULL};
    URC_VEC_PUSH(c->frozen, fz);
    URC_VEC_PUSH(c->frozen_paths, eq + 1);
}

/* Without --target-cpu: compiling to C files tunes for a named baseline (the same code from every
 * build machine); the commands that build and run here tune for this machine. */
static void default_target(urc_cli *c) {
    urc_target_lookup(c->cmd & (URC_CMD_COMPILE | URC_CMD_TRAINC) ? urc_target_baseline() : "native", &c->opt.target);
}

static void target_cpu(urc_cli *c, const char *opt, const char *v) {
    (void)opt;
    int bits = c->opt.target.vector_bits;
    if (!urc_target_lookup(v, &c->opt.target))
        usage_error("--target-cpu: unknown CPU '%s' (known: %s)", v, urc_target_names());
    if (bits) c->opt.target.vector_bits = bits;
}

static void vector_bits(urc_cli *c, const char *opt, const char *v) {
    (void)opt;
    uint64_t x;
    if (!parse_u64(v, &x) || (x != 128 && x != 256 && x != 512))
        usage_error("--vector-bits wants 128, 256 or 512, got '%s'", v);
    if (!c->opt.target.name) default_target(c);
    c->opt.target.vector_bits = (int)x;
}

/* The pass names come from the pass table (driver.c). */
static void dump_after(urc_cli *c, const char *opt, const char *v) {
    (void)opt;
    bool known = false;
    for (int k = 0; urc_pass_name(k); k++) known |= !strcmp(urc_pass_name(k), v);
    if (!known) usage_error("--dump-after: unknown pass '%s'", v);
    c->opt.dump_after = v;
}

static void class_weights(urc_cli *c, const char *opt, const char *v) {
    char *s = urc_strdup(v);
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (c->t.loss.nweights == 256) usage_error("--class-weights: at most 256 classes");
        c->t.loss.weights[c->t.loss.nweights++] = parse_num(opt, tok);
    }
}

static void ds_weights(urc_cli *c, const char *opt, const char *v) {
    char *s = urc_strdup(v);
    c->t.nds = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (c->t.nds == (int)URC_ARRAY_LEN(c->t.ds_weights)) usage_error("--ds-weights: at most 8 outputs");
        double w = parse_num(opt, tok);
        if (w < 0) usage_error("--ds-weights: weight %g is negative", w);
        c->t.ds_weights[c->t.nds++] = w;
    }
}

static void label_map(urc_cli *c, const char *opt, const char *v) {
    (void)opt;
    c->label_map.len = 0;
    for (const char *p = v;; p++) {
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (errno || end == p || (*end && *end != ',') || *p == ' ' || *p == '+')
            usage_error("--label-map wants integers V0,V1,... (class i is label value Vi), got '%s'", v);
        for (int k = 0; k < c->label_map.len; k++)
            if (c->label_map.items[k] == x) usage_error("--label-map lists the label value %lld twice", x);
        URC_VEC_PUSH(c->label_map, (int64_t)x);
        if (!*end) break;
        p = end;
    }
}

bool urc_cli_has_suffix(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

static void png(urc_cli *c, const char *opt, const char *v) {
    (void)opt;
    if (!urc_cli_has_suffix(v, ".png")) usage_error("--png wants a file name ending in .png, got '%s'", v);
    c->png = v;
}

static void overlap(urc_cli *c, const char *opt, const char *v) {
    const char *want = "a number in [0, 1) or one per spatial axis";
    c->n_overlap = parse_list(opt, v, c->overlap, 3, want);
    for (int k = 0; k < c->n_overlap; k++)
        if (!(c->overlap[k] >= 0 && c->overlap[k] < 1)) usage_error("%s wants %s, got '%s'", opt, want, v);
}

static void sigma_scale(urc_cli *c, const char *opt, const char *v) {
    const char *want = "a positive number or one per spatial axis";
    c->n_sigma = parse_list(opt, v, c->sigma, 3, want);
    for (int k = 0; k < c->n_sigma; k++)
        if (!(c->sigma[k] > 0)) usage_error("%s wants %s, got '%s'", opt, want, v);
}

static void scale_range(urc_cli *c, const char *opt, const char *v) {
    const char *want = "A_MIN,A_MAX,B_MIN,B_MAX or A_MIN,A_MAX,B_MIN,B_MAX,clip";
    size_t len = strlen(v);
    c->clip = len > 5 && !strcmp(v + len - 5, ",clip");
    double tmp[5];
    if (parse_list(opt, c->clip ? urc_strndup(v, len - 5) : v, tmp, 5, want) != 4)
        usage_error("%s wants %s, got '%s'", opt, want, v);
    memcpy(c->scale_v, tmp, sizeof c->scale_v);
    c->scale = true;
}

static void labels(urc_cli *c, const char *opt, const char *v) {
    c->n_labels = parse_int_list(opt, v, c->labels, 256, 0, 255, "label values 0..255, one per output channel");
}

static void sigmoid_threshold(urc_cli *c, const char *opt, const char *v) {
    if (!parse_double(v, &c->threshold_v)) usage_error("%s wants a number, got '%s'", opt, v);
    c->threshold = true;
}

static void flip_tta(urc_cli *c, const char *opt, const char *v) {
    int64_t axes[3];
    c->n_flip = parse_int_list(opt, v, axes, 3, 0, 2, "spatial axes 0, 1, 2 separated by commas");
    for (int k = 0; k < c->n_flip; k++) c->flip[k] = (int)axes[k];
}

static void slices(urc_cli *c, const char *opt, const char *v) {
    double k;
    if (!parse_double(v, &k) || k != floor(k) || k < 1 || k > 255 || fmod(k, 2) != 1)
        usage_error("%s wants an odd number of slices from 1 to 255, got '%s'", opt, v);
    c->slices = (int)k;
}

static void slice_axis(urc_cli *c, const char *opt, const char *v) {
    if (strcmp(v, "0") && strcmp(v, "1") && strcmp(v, "2"))
        usage_error("%s wants 0, 1 or 2 (an axis of the volume), got '%s'", opt, v);
    c->slice_axis = v[0] - '0';
    c->slice_axis_given = true;
}

static void exclude_background(urc_cli *c, const char *opt, const char *v) {
    (void)opt, (void)v;
    c->t.loss.include_background = false;
}

static void nothing(urc_cli *c, const char *opt, const char *v) { (void)c, (void)opt, (void)v; }

/* ---- the table ---------------------------------------------------------------------- */

typedef enum kind {
    K_FLAG,   /* bool = true */
    K_STR,    /* const char * = the value (the last given) */
    K_LIST,   /* urc_strlist: each value (repeatable) */
    K_NUM,    /* double: a finite number */
    K_INT,    /* int: 1..max */
    K_U64,    /* uint64_t: a positive integer */
    K_CHOICE, /* int: the value of one of `choices` */
    K_FN,     /* fn(value) */
    K_ACT,    /* fn(NULL): no value */
} kind;

enum {
    COMPILE = URC_CMD_COMPILE,
    RUN = URC_CMD_RUN,
    INFO = URC_CMD_INFO,
    BENCH = URC_CMD_BENCH,
    TRAINC = URC_CMD_TRAINC,
    GRAD = URC_CMD_GRAD,
    TRAIN = URC_CMD_TRAIN,
    SEGMENT = URC_CMD_SEGMENT,
    ALL = (1 << 8) - 1,
    LEARN = TRAINC | GRAD | TRAIN,
    GRAPH = COMPILE | RUN | INFO | BENCH | LEARN,      /* the commands that build the graph themselves */
    BUILD = RUN | BENCH | GRAD | TRAIN | SEGMENT,      /* the commands that build the generated code */
    BACKEND = COMPILE | RUN | BENCH | LEARN | SEGMENT, /* the commands that emit through a backend */
};

typedef struct opt {
    const char *name; /* NULL: a section title of `unetrc --help` */
    kind k;
    unsigned cmds;
    size_t at;           /* where the value goes in urc_cli */
    const char *help;    /* the help line(s) after "  ", NULL: on the line of the row before */
    const char *choices; /* K_CHOICE: "a|b|c" */
    int values[4];       /* K_CHOICE: the value of each choice */
    int max;             /* K_INT */
    opt_fn *fn;          /* K_FN, K_ACT */
} opt;

#define AT(field) offsetof(urc_cli, field)
#define SECTION(title)                                                                                                 \
    { NULL, K_ACT, 0, 0, title, NULL, {0}, 0, NULL }

/* A row names only the fields of its kind; the others stay zero. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const opt table[] = {
    SECTION("options of compile (also with --train):"),
    {"-o", K_STR, COMPILE | TRAINC, AT(out_c),
     "-o FILE.c              output C file (header and weights next to it; FILE.o with --backend llvm)"},
    {"--name", K_STR, COMPILE | TRAINC, AT(name),
     "--name NAME            symbol prefix (default: the output file's base name)"},
    {"--shared", K_FLAG, COMPILE | TRAINC, AT(shared),
     "--shared               -o DIR/libNAME.so: the code built into a shared library (cc -shared -fPIC;\n"
     "                       --cc, --cflags), NAME.h and NAME.weights beside it (python/unetrc_model.py)"},
    {"--embed-weights", K_FLAG, COMPILE | TRAINC, AT(embed),
     "--embed-weights        put the weights in the C file instead of NAME.weights"},
    {"--train", K_ACT, TRAINC, 0, NULL, .fn = nothing},
    SECTION("options of compile, run, info, bench and the training commands (--train, grad, train):"),
    {"--input-shape", K_FN, GRAPH, 0, "--input-shape N=D,...  pin the shape of input N (symbolic dimensions)",
     .fn = input_shape},
    {"--freeze-input", K_FN, GRAPH, 0, "--freeze-input N=F.npy replace input N by the constant in F.npy (e.g. a shape)",
     .fn = freeze_input},
    {"--weights", K_STR, GRAPH | SEGMENT, AT(opt.import.weights),
     "--weights W.safetensors   MODEL.json (a MONAI config): its state_dict (docs/cli.md)"},
    {"--init", K_U64, GRAPH | SEGMENT, AT(opt.import.init_seed),
     "--init SEED            MODEL.json without --weights: parameters initialised as MONAI/PyTorch would, from SEED"},
    {"--max-bytes", K_U64, GRAPH, AT(opt.import.max_bytes),
     "--max-bytes N          largest model, tensor or .npy accepted (default 4294967296)"},
    {"--no-fold", K_FLAG, GRAPH, AT(opt.no_fold), "--no-fold              do not fold constants (debugging)"},
    {"-O0", K_FLAG, GRAPH, AT(opt.no_opt),
     "-O0                    no fusion or layout passes: plain kernels per ONNX node"},
    {"--target-cpu", K_FN, GRAPH, 0,
     "--target-cpu CPU       tune tiles for CPU: native (this machine), generic, x86-64-v3, x86-64-v4,\n"
     "                       sapphirerapids, znver4, armv8-a, cortex-a72, neoverse-n1, apple-m1, cortex-m7, ...\n"
     "                       (default: x86-64-v3 on x86-64, armv8-a on Arm when compiling to C files;\n"
     "                       native for run, bench, grad, train and segment)",
     .fn = target_cpu},
    {"--float-only", K_FLAG, GRAPH, AT(opt.float_only),
     "--float-only           no double-precision arithmetic in the generated code: the norms' statistics and\n"
     "                       the sums of softmax, attention and reductions in float (implied by a CPU whose FPU\n"
     "                       has single precision only, e.g. --target-cpu cortex-m4)"},
    {"--vector-bits", K_FN, GRAPH, 0,
     "--vector-bits N        vector width the tiles assume: 128, 256 or 512 (default: the CPU's)", .fn = vector_bits},
    {"--backend", K_STR, BACKEND, AT(backend_name),
     "--backend NAME         the backend that generates (and runs) the code: %BACKENDS% (default c)"},
    {"--target", K_STR, COMPILE | TRAINC, AT(triple),
     "--target TRIPLE        --backend llvm: the object's triple (default: --target-cpu's, e.g. aarch64-linux-gnu)"},
    {"--cpu", K_STR, COMPILE | TRAINC, AT(cpu),
     "--cpu NAME             --backend llvm: LLVM's CPU name (default: --target-cpu's; the host's for native)"},
    {"--features", K_STR, COMPILE | TRAINC, AT(features),
     "--features LIST        --backend llvm: LLVM's CPU features, e.g. +avx2,-avx512f (default: the CPU's)"},
    {"--jit", K_FLAG, RUN | BENCH | GRAD | TRAIN | SEGMENT, AT(jit),
     "--jit                  run, bench, grad, train, segment: build the code with LLVM's JIT into this\n"
     "                       process and run it there (implies --backend llvm; no C compiler, nothing written)"},
    SECTION("precision (compile, run, info, bench, segment):"),
    {"--precision",
     K_CHOICE,
     COMPILE | RUN | INFO | BENCH | SEGMENT,
     AT(opt.precision),
     "--precision fp32|bf16|fp16|int8  storage type of the weights of convolutions and matrix products; they\n"
     "                       are converted to float32 as they are loaded and accumulate in float32 (default\n"
     "                       fp32); int8: per-output-channel scales, and the products' inputs fake-quantised\n"
     "                       per tensor with ranges calibrated on --calibrate's samples",
     "fp32|bf16|fp16|int8",
     {URC_DT_F32, URC_DT_BF16, URC_DT_F16, URC_DT_I8}},
    {"--calibrate", K_STR, COMPILE | RUN | INFO | BENCH | SEGMENT, AT(opt.calibrate),
     "--calibrate DIR        --precision int8: a directory of .npy float32 samples of the model's one input"},
    {"--keep-fp32", K_LIST, COMPILE | RUN | INFO | BENCH | SEGMENT, AT(keep_fp32),
     "--keep-fp32 GLOB       keep the weights of the nodes whose name matches GLOB in float32 (repeatable)"},
    {"--bf16-exact",
     K_CHOICE,
     COMPILE | RUN | INFO | BENCH | SEGMENT,
     AT(opt.bf16_exact),
     "--bf16-exact none|weights|data|both  --precision bf16 on AMX: also multiply the low bf16 parts of the\n"
     "                       smaller operand of the products where that costs little (weights no larger than\n"
     "                       the data; the data of matrix products no larger than their weights and of the\n"
     "                       convolutions below full resolution): about 16 significant bits instead of 8, for\n"
     "                       more time (default none; docs/cli.md)",
     "none|weights|data|both",
     {0, URC_EXACT_W, URC_EXACT_X, URC_EXACT_X | URC_EXACT_W}},
    {"--reduce-head", K_FLAG, COMPILE | RUN | INFO | BENCH | SEGMENT, AT(opt.reduce_head),
     "--reduce-head          also the output head (the products that reach an output through no other\n"
     "                       product) in --precision's type; by default it stays float32"},
    SECTION("options of run:"),
    {"--output", K_LIST, RUN, AT(outputs),
     "--output Y.npy         where to write an output (one per model output, in order)"},
    {"--interp", K_FLAG, RUN, AT(interp),
     "--interp               use the reference interpreter instead of generated C"},
    {"--compare", K_FLAG, RUN, AT(compare),
     "--compare              with --precision: also run in float32 and print, per output, the max error and\n"
     "                       the label agreement (argmax over the channels) of --precision against float32"},
    SECTION("options of run and bench:"),
    {"--input", K_LIST, RUN | BENCH, AT(inputs),
     "--input X.npy          an input volume (one per model input, in order; bench: optional)"},
    {"--allow-nonfinite", K_FLAG, RUN | BENCH, AT(allow_nonfinite),
     "--allow-nonfinite      accept NaN/Inf in .npy inputs"},
    {"--keep", K_STR, RUN | BENCH, AT(keep), "--keep DIR             keep the generated files and binary in DIR"},
    SECTION("options of bench:"),
    {"--threads", K_INT, BENCH, AT(threads), "--threads N            OpenMP threads (default 2)", .max = 100000},
    {"--runs", K_INT, BENCH, AT(runs), "--runs N               timed forwards after one warm-up (default 10)",
     .max = 100000},
    SECTION("training options (--train, grad, train; see docs/training.md):"),
    {"--trainable", K_LIST, LEARN, AT(trainable),
     "--trainable GLOB       train the float initializers whose name matches (repeatable; default all)"},
    {"--freeze", K_LIST, LEARN, AT(freeze), "--freeze GLOB          keep those matching GLOB fixed (repeatable)"},
    {"--recompute", K_LIST, LEARN, AT(recompute),
     "--recompute GLOB       recompute the activations of matching forward nodes in the backward\n"
     "                       pass instead of keeping them (repeatable; saves training memory)"},
    {"--loss",
     K_CHOICE,
     LEARN,
     AT(t.loss.kind),
     "--loss dicece|dice|ce  MONAI's DiceCELoss (default), DiceLoss or cross-entropy",
     "dicece|dice|ce",
     {URC_LOSS_DICECE, URC_LOSS_DICE, URC_LOSS_CE}},
    {"--squared", K_FLAG, LEARN, AT(t.loss.squared),
     "--squared              Dice with squared denominators (MONAI squared_pred)"},
    {"--exclude-background", K_ACT, LEARN, 0,
     "--exclude-background   Dice without class 0 (MONAI include_background=False)", .fn = exclude_background},
    {"--batch-dice", K_FLAG, LEARN, AT(t.loss.batch),
     "--batch-dice           Dice over the whole batch (MONAI batch=True)"},
    {"--smooth-nr", K_NUM, LEARN, AT(t.loss.smooth_nr),
     "--smooth-nr X, --smooth-dr X   Dice smoothing terms (default 1e-05 each)"},
    {"--smooth-dr", K_NUM, LEARN, AT(t.loss.smooth_dr), NULL},
    {"--lambda-dice", K_NUM, LEARN, AT(t.loss.lambda_dice),
     "--lambda-dice X, --lambda-ce X weights of the two terms (default 1 each)"},
    {"--lambda-ce", K_NUM, LEARN, AT(t.loss.lambda_ce), NULL},
    {"--class-weights", K_FN, LEARN, 0, "--class-weights W0,W1,...      per-class weights (both terms)",
     .fn = class_weights},
    {"--ds-weights", K_FN, LEARN, 0,
     "--ds-weights W0,W1,.. deep supervision: the loss of output i (against the label subsampled to its\n"
     "                       grid) weighted by Wi / sum W, e.g. 1,0.5,0.25 for UNETR++",
     .fn = ds_weights},
    {"--label-map", K_FN, LEARN, 0,
     "--label-map V0,V1,...  label value Vi is class i (e.g. 0,1,2,4 for BraTS); other values are errors",
     .fn = label_map},
    {"--label-type",
     K_CHOICE,
     LEARN,
     AT(t.label_dtype),
     "--label-type T         the label's element type: uint8, int32 or int64 (default int64)",
     "uint8|int32|int64",
     {URC_DT_U8, URC_DT_I32, URC_DT_I64}},
    {"--optimizer",
     K_CHOICE,
     TRAINC | TRAIN,
     AT(t.optim),
     "--optimizer adamw|sgd  the update (default adamw)",
     "adamw|sgd",
     {URC_OPTIM_ADAMW, URC_OPTIM_SGD}},
    {"--beta1", K_NUM, TRAINC | TRAIN, AT(t.beta1), "--beta1 B, --beta2 B, --eps E  AdamW (default 0.9, 0.999, 1e-08)"},
    {"--beta2", K_NUM, TRAINC | TRAIN, AT(t.beta2), NULL},
    {"--eps", K_NUM, TRAINC | TRAIN, AT(t.eps), NULL},
    {"--weight-decay", K_NUM, TRAINC | TRAIN, AT(t.weight_decay),
     "--weight-decay W       decoupled (AdamW) or L2 (SGD) weight decay (default 0.01)"},
    {"--momentum", K_NUM, TRAINC | TRAIN, AT(t.momentum), "--momentum M           SGD momentum (default 0)"},
    SECTION("options of grad:"),
    {"--input", K_LIST, GRAD, AT(inputs), "--input X.npy          the input volume"},
    {"--label", K_STR, GRAD, AT(label), "--label L.npy          its integer class map, [N, 1, S...] or [N, S...]"},
    {"--out", K_STR, GRAD, AT(out),
     "--out DIR              write DIR/<initializer>.npy, the gradient of each trainable parameter"},
    {"--interp", K_FLAG, GRAD, AT(interp),
     "--interp               use the reference interpreter instead of generated C"},
    SECTION("options of train:"),
    {"--data", K_STR, TRAIN, AT(data),
     "--data DIR             the samples: DIR/NAME_image.npy with DIR/NAME_label.npy"},
    {"--out", K_STR, TRAIN, AT(out),
     "--out DIR              build folder and OUT/checkpoint.bin (default unetrc-train)"},
    {"--steps", K_NUM, TRAIN, AT(steps), "--steps N              training steps (default 100)"},
    {"--lr", K_NUM, TRAIN, AT(lr),
     "--lr X, --lr-final X   learning rate, cosine decay to lr-final (default 0.001, lr-final = lr)"},
    {"--lr-final", K_NUM, TRAIN, AT(lr_final), NULL},
    {"--checkpoint-every", K_NUM, TRAIN, AT(every),
     "--checkpoint-every K   also checkpoint every K steps (default: only at the end)"},
    {"--resume", K_FLAG, TRAIN, AT(resume), "--resume               continue from OUT/checkpoint.bin"},
    {"--stop-after", K_NUM, TRAIN, AT(stop_after),
     "--stop-after N         stop (with a checkpoint) after N steps of this run"},
    {"--threads", K_INT, TRAIN, AT(threads), "--threads N            OpenMP threads (default: OpenMP's)",
     .max = 100000},
    SECTION("options of segment (whole scans; see docs/segment.md):"),
    {"--image", K_LIST, SEGMENT, AT(images),
     "--image FILE           a scan: .nii, .nii.gz or .npy; several files are the channels, in order"},
    {"--output", K_LIST, SEGMENT, AT(outputs),
     "--output FILE          the label map (.nii, .nii.gz: uint8 on the scan's grid; or .npy)"},
    {"--logits", K_STR, SEGMENT, AT(logits),
     "--logits FILE          also the blended logits (float32, 4D X,Y,Z,C; or .npy [C,D,H,W])"},
    {"--probabilities", K_STR, SEGMENT, AT(probs),
     "--probabilities FILE   also the softmax (or with --sigmoid-threshold the sigmoid) of the logits"},
    {"--overlap", K_FN, SEGMENT, 0,
     "--overlap X            window overlap in [0, 1), or one per spatial axis X,Y,Z (default 0.25)", .fn = overlap},
    {"--mode",
     K_CHOICE,
     SEGMENT,
     AT(mode),
     "--mode constant|gaussian  blending of overlapping windows (default constant)",
     "constant|gaussian",
     {UNETRC_SW_CONSTANT, UNETRC_SW_GAUSSIAN}},
    {"--sigma-scale", K_FN, SEGMENT, 0,
     "--sigma-scale X        gaussian sigma over the window size, or one per axis (default 0.125)", .fn = sigma_scale},
    {"--normalize",
     K_CHOICE,
     SEGMENT,
     AT(normalize),
     "--normalize none|nonzero  NormalizeIntensity(nonzero=True, channel_wise=True) (default none)",
     "none|nonzero",
     {0, 1}},
    {"--scale-range", K_FN, SEGMENT, 0,
     "--scale-range A_MIN,A_MAX,B_MIN,B_MAX[,clip]  ScaleIntensityRange first (CT windowing)", .fn = scale_range},
    {"--labels", K_FN, SEGMENT, 0,
     "--labels L0,L1,...     class i is written as label Li (0..255; e.g. 0,1,2,4 for BraTS)", .fn = labels},
    {"--sigmoid-threshold", K_FN, SEGMENT, 0,
     "--sigmoid-threshold T  multi-label: sigmoid >= T per channel (the output gets one channel each)",
     .fn = sigmoid_threshold},
    {"--flip-tta", K_FN, SEGMENT, 0,
     "--flip-tta AXES        mean over the flips of these spatial axes, e.g. 0,1,2 (default none)", .fn = flip_tta},
    {"--slices", K_FN, SEGMENT, 0,
     "--slices K             2.5D: a 2D model over every slice of a volume, the K neighbouring slices\n"
     "                       (K odd; replicated at the edges) as channels, K per image channel",
     .fn = slices},
    {"--slice-axis", K_FN, SEGMENT, 0,
     "--slice-axis A         the volume axis slices are taken along: 0, 1 or 2 (default 2)", .fn = slice_axis},
    {"--threads", K_INT, SEGMENT, AT(threads), "--threads N            OpenMP threads of the model (default: OpenMP's)",
     .max = 4096},
    {"--png", K_FN, SEGMENT, 0,
     "--png FILE.png         also an overview picture: three slices with the labels over the scan", .fn = png},
    {"--quiet", K_FLAG, SEGMENT, AT(quiet), "--quiet                no progress or summary line on stderr"},
    {"--cache", K_STR, SEGMENT, AT(cache),
     "--cache DIR            build cache (default $XDG_CACHE_HOME/unetrc, else ~/.cache/unetrc)"},
    {"--max-bytes", K_U64, SEGMENT, AT(opt.import.max_bytes),
     "--max-bytes N          largest model or image file accepted (default 4294967296)"},
    SECTION("common options:"),
    {"--cc", K_STR, BUILD | COMPILE | TRAINC, AT(cc),
     "--cc CC                C compiler for the generated code (default $CC, else cc)"},
    {"--cflags", K_STR, BUILD | COMPILE | TRAINC, AT(cflags),
     "--cflags FLAGS         its flags (run, grad: $UNETRC_RUN_CFLAGS, else \"-std=c11 -O2 -fopenmp\"; bench,\n"
     "                       train, segment: \"-std=c11 -O3 -march=native -mprefer-vector-width=512 -fopenmp\")"},
    {"--dump-ir", K_FLAG, ALL & ~SEGMENT, AT(opt.dump_ir),
     "--dump-ir              print the IR after the graph passes"},
    {"--dump-loops", K_FLAG, ALL & ~SEGMENT, AT(opt.dump_loops),
     "--dump-loops           print the loop IR (kernels and calls) after lowering"},
    {"--dump-after", K_FN, ALL & ~SEGMENT, 0, "--dump-after PASS      print the IR after PASS (%PASSES%)",
     .fn = dump_after},
    {"-v", K_ACT, ALL, 0, "-v, --verbose          notes on stderr", .fn = verbose},
    {"--verbose", K_ACT, ALL, 0, NULL, .fn = verbose},
    {"-h", K_ACT, ALL, 0, "-h, --help             this text (unetrc COMMAND --help: the options of one command)",
     .fn = help},
    {"--help", K_ACT, ALL, 0, NULL, .fn = help},
    {"--version", K_ACT, ALL, 0, "--version              the version", .fn = version},
};
#pragma GCC diagnostic pop

static const struct {
    unsigned cmd;
    const char *name, *usage;
} commands[] = {
    {COMPILE, "compile", "unetrc MODEL.onnx -o OUT.c [options]           compile to OUT.c, OUT.h, OUT.weights"},
    {RUN, "run", "unetrc run MODEL.onnx --input X.npy... --output Y.npy... [--interp] [options]"},
    {INFO, "info", "unetrc info MODEL.onnx [options]"},
    {BENCH, "bench", "unetrc bench MODEL.onnx [--threads N] [--runs N] [--input X.npy...] [options]"},
    {TRAINC, "--train", "unetrc MODEL.onnx -o OUT.c --train [options]   also OUT_train_step (training)"},
    {GRAD, "grad", "unetrc grad MODEL.onnx --input X.npy --label L.npy --out DIR [options]"},
    {TRAIN, "train", "unetrc train MODEL.onnx --data DIR [--steps N] [--lr X] ... [options]"},
    {SEGMENT, "segment", "unetrc segment MODEL.onnx --image FILE [--image FILE...] --output LABELS.nii.gz [options]"},
};

/* ---- help ---------------------------------------------------------------------------- */

/* One option's help: each line after "  ", %PASSES% the pass names of
 * driver.c, wrapped as the other lines, %BACKENDS% the backends' names. */
static void print_help(const char *text) {
    const char *b = strstr(text, "%BACKENDS%");
    if (b) text = urc_fmt("%.*s%s%s", (int)(b - text), text, urc_backend_names(), b + strlen("%BACKENDS%"));
    const char *at = strstr(text, "%PASSES%");
    if (!at) {
        for (const char *p = text; *p;) {
            size_t n = strcspn(p, "\n");
            printf("  %.*s\n", (int)n, p);
            p += n + (p[n] == '\n');
        }
        return;
    }
    urc_strbuf sb = {0};
    urc_sb_printf(&sb, "  %.*s", (int)(at - text), text);
    for (int k = 0; urc_pass_name(k); k++) {
        const char *name = urc_pass_name(k), *tail = urc_pass_name(k + 1) ? "," : strchr(at, ')');
        const char *nl = strrchr(sb.data, '\n');
        size_t col = sb.len - (nl ? (size_t)(nl + 1 - sb.data) : 0);
        if (col + 1 + strlen(name) + strlen(tail) > 97) urc_sb_puts(&sb, "\n                         ");
        else if (k) urc_sb_putc(&sb, ' ');
        urc_sb_printf(&sb, "%s%s", name, tail);
    }
    puts(sb.data);
    urc_sb_free(&sb);
}

_Noreturn void urc_cli_help(unsigned cmd) {
    if (!cmd) { /* everything, with section titles */
        for (size_t i = 0; i < URC_ARRAY_LEN(commands); i++)
            printf("%s %s\n", i ? "      " : "usage:", commands[i].usage);
        for (size_t i = 0; i < URC_ARRAY_LEN(table); i++)
            if (!table[i].name) printf("%s\n", table[i].help);
            else if (table[i].help) print_help(table[i].help);
    } else {
        for (size_t i = 0; i < URC_ARRAY_LEN(commands); i++)
            if (commands[i].cmd == cmd) printf("usage: %s\noptions:\n", commands[i].usage);
        for (size_t i = 0; i < URC_ARRAY_LEN(table); i++)
            if (table[i].name && (table[i].cmds & cmd) && table[i].help) print_help(table[i].help);
    }
    exit(0);
}

/* `unetrc COMMAND --help`: that command's; `unetrc MODEL --help`: all. */
static void help(urc_cli *c, const char *opt, const char *v) {
    (void)opt, (void)v;
    urc_cli_help(c->cmd_named || c->cmd == TRAINC ? c->cmd : 0);
}

/* ---- the parser ---------------------------------------------------------------------- */

static const opt *find(const char *name, unsigned cmd) {
    for (size_t i = 0; i < URC_ARRAY_LEN(table); i++)
        if (table[i].name && (table[i].cmds & cmd) && !strcmp(table[i].name, name)) return &table[i];
    return NULL;
}

/* "a|b|c" -> "a, b or c" */
static const char *choice_list(const char *choices) {
    urc_strbuf sb = {0};
    for (const char *p = choices; *p;) {
        size_t n = strcspn(p, "|");
        urc_sb_printf(&sb, "%s%.*s", p == choices ? "" : p[n] ? ", " : " or ", (int)n, p);
        p += n + (p[n] == '|');
    }
    const char *r = urc_strdup(sb.data);
    urc_sb_free(&sb);
    return r;
}

static void apply(urc_cli *c, const opt *o, const char *a, const char *v) {
    void *dst = (char *)c + o->at;
    switch (o->k) {
    case K_FLAG: *(bool *)dst = true; break;
    case K_STR: *(const char **)dst = v; break;
    case K_LIST: URC_VEC_PUSH(*(urc_strlist *)dst, v); break;
    case K_NUM: *(double *)dst = parse_num(a, v); break;
    case K_INT: {
        uint64_t x;
        if (!parse_u64(v, &x) || x < 1 || x > (uint64_t)o->max)
            usage_error("%s wants a positive integer, got '%s'", a, v);
        *(int *)dst = (int)x;
        break;
    }
    case K_U64:
        if (!parse_u64(v, (uint64_t *)dst) || !*(uint64_t *)dst)
            usage_error("%s wants a positive integer, got '%s'", a, v);
        break;
    case K_CHOICE: {
        int k = 0;
        for (const char *p = o->choices;; k++) {
            size_t n = strcspn(p, "|");
            if (strlen(v) == n && !strncmp(p, v, n)) break;
            if (!p[n]) usage_error("%s wants %s, got '%s'", a, choice_list(o->choices), v);
            p += n + 1;
        }
        *(int *)dst = o->values[k];
        break;
    }
    case K_FN:
    case K_ACT: o->fn(c, a, v); break;
    }
}

static const char default_backend[] = "c"; /* --backend's default (--jit: llvm) */

static void defaults(urc_cli *c) {
    c->opt.import.max_bytes = URC_DEFAULT_MAX_BYTES;
    c->opt.align = 64;
    c->backend_name = default_backend;
    urc_train_defaults(&c->t);
    c->steps = 100;
    c->lr = 1e-3;
    c->lr_final = -1;
    if (c->cmd == TRAIN) c->out = "unetrc-train";
    c->overlap[0] = 0.25, c->n_overlap = 1;
    c->sigma[0] = 0.125, c->n_sigma = 1;
    c->mode = UNETRC_SW_CONSTANT;
    c->slice_axis = 2;
}

void urc_cli_parse(urc_cli *c, int argc, char **argv) {
    memset(c, 0, sizeof *c);
    urc_strbuf cmd = {0};
    urc_sb_puts(&cmd, "unetrc");
    for (int i = 1; i < argc; i++) urc_sb_printf(&cmd, " %s", argv[i]);
    c->command = urc_strdup(cmd.data);
    urc_sb_free(&cmd);
    c->cmd = COMPILE;
    int i = 1;
    for (size_t k = 0; argc > 1 && k < URC_ARRAY_LEN(commands); k++)
        if (commands[k].name[0] != '-' && !strcmp(argv[1], commands[k].name)) {
            c->cmd = commands[k].cmd;
            c->cmd_named = true;
            i = 2;
        }
    for (int k = i; c->cmd == COMPILE && k < argc; k++)
        if (!strcmp(argv[k], "--train")) c->cmd = TRAINC;
    defaults(c);
    for (; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (a[0] != '-' || !a[1]) {
            if (c->model) usage_error("unexpected argument '%s'", a);
            c->model = a;
            continue;
        }
        const opt *o = find(a, c->cmd);
        const char *eq = strchr(a, '=');
        if (!o && a[1] == '-' && eq) { /* --name=value */
            o = find(urc_strndup(a, (size_t)(eq - a)), c->cmd);
            if (o && o->k != K_FLAG && o->k != K_ACT) v = eq + 1, a = o->name;
            else o = NULL;
        }
        if (!o && (c->cmd & LEARN) && (!strncmp(a, "--precision", 11) || !strncmp(a, "--calibrate", 11)) &&
            (!a[11] || a[11] == '='))
            usage_error("%.11s is for inference (compile, run, info, bench, segment): training and gradients "
                        "compute in float32",
                        a);
        if (!o) usage_error("unknown option '%s'", a);
        if (!v && o->k != K_FLAG && o->k != K_ACT) {
            if (i + 1 >= argc) usage_error("%s needs a value", a);
            v = argv[++i];
        }
        apply(c, o, a, v);
    }
    if (!c->model) usage_error("no model given");
    if (!c->opt.target.name) default_target(c);
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
    c->opt.keep_fp32 = c->keep_fp32.items;
    c->opt.nkeep_fp32 = c->keep_fp32.len;
    if (c->compare && (!c->opt.precision || c->opt.precision == URC_DT_F32))
        usage_error("--compare needs --precision bf16, fp16 or int8");
    if (c->opt.precision == URC_DT_I8 && !c->opt.calibrate)
        usage_error("--precision int8 needs --calibrate DIR (.npy samples of the model's input)");
    if (c->opt.calibrate && c->opt.precision != URC_DT_I8) usage_error("--calibrate needs --precision int8");
    if (c->opt.bf16_exact && c->opt.precision != URC_DT_BF16) usage_error("--bf16-exact needs --precision bf16");
    if (c->opt.reduce_head && (!c->opt.precision || c->opt.precision == URC_DT_F32))
        usage_error("--reduce-head needs --precision bf16, fp16 or int8");
    c->t.recompute = c->recompute.items;
    c->t.nrecompute = c->recompute.len;
    c->t.loss.label_map = c->label_map.items;
    c->t.loss.nlabel_map = c->label_map.len;
    if (c->jit && c->backend_name != default_backend && strcmp(c->backend_name, "llvm"))
        usage_error("--jit runs the LLVM backend's code: not with --backend %s", c->backend_name);
    if (c->jit && c->keep) usage_error("--keep: --jit writes no files to keep");
    if (c->jit && c->cache) usage_error("--cache: segment --jit builds no library to cache");
    if (c->jit) {
#ifdef URC_HAVE_LLVM
        c->backend_name = "llvm";
        c->backend = &urc_backend_llvm_jit;
#else
        usage_error("--jit needs the LLVM backend (this unetrc was built without LLVM 14: UNETRC_LLVM)");
#endif
    } else if (c->cmd & BACKEND) {
        c->backend = urc_backend_find(c->backend_name);
        if (!c->backend)
            usage_error("--backend: unknown backend '%s' (available: %s)", c->backend_name, urc_backend_names());
    }
}
