/* cmd_train.c: the training commands of the CLI.
 *
 *   unetrc grad MODEL.onnx --input X.npy --label L.npy --out DIR [options]
 *     prints `loss=<value>` and writes DIR/<initializer name>.npy (the name
 *     with '%', '/' and control characters percent-encoded) with the
 *     gradient of the loss for every trainable float initializer.
 *   unetrc MODEL.onnx -o OUT.c --train [options]
 *     writes OUT.c/.h/.weights with OUT_forward (inference from the params
 *     region), OUT_train_init and OUT_train_step.
 *   unetrc train MODEL.onnx --data DIR [options]
 *     builds a trainer around the training step and runs it (checkpoints
 *     in OUT/checkpoint.bin, --resume continues one).
 * Labels are checked (shape, every value a class's label value) before
 * anything runs or is written.
 * The options are parsed by cli.c (one table for every command). Errors
 * follow the CLI contract of cli.h: one line "unetrc: error: FILE: ...",
 * exit 1; usage errors exit 2. */
#define _GNU_SOURCE
#include "cmd_train.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autodiff/training.h"
#include "backend/abi.h"
#include "backend/backend.h"
#include "base/diag.h"
#include "base/npy.h"
#include "base/proc.h"
#include "driver.h"
#include "interp/interp.h"
#include "unetrc.h"

#define usage urc_cli_usage_error
#define fail urc_cli_fail

static bool is_trainable(const char *name, void *ctx) {
    const urc_cli *c = ctx;
    bool yes = c->trainable.len == 0;
    for (int i = 0; i < c->trainable.len && !yes; i++) yes = !fnmatch(c->trainable.items[i], name, 0);
    for (int i = 0; i < c->freeze.len && yes; i++) yes = fnmatch(c->freeze.items[i], name, 0) != 0;
    return yes;
}

/* The graph options of the command line (the same as compile's) with the
 * trainable parameters of --trainable/--freeze; the --dump-* options only
 * when `dumps` (they are of the training graph). */
static urc_options train_options(urc_cli *c, bool dumps) {
    urc_options o = c->opt;
    o.import.trainable = is_trainable;
    o.import.trainable_ctx = c;
    if (!dumps) o.dump_ir = o.dump_loops = false, o.dump_after = NULL;
    return o;
}

/* A .npy data input of any dtype converted to the value's dtype; the shape
 * must be the value's. */
static urc_tensor *load_input(const char *path, const urc_value *v, uint64_t max_bytes) {
    const char *err;
    urc_tensor *t = urc_npy_read(path, max_bytes, &err);
    if (!t) fail(path, err);
    if (!urc_shape_eq(&t->shape, &v->shape))
        fail(path, urc_fmt("input '%s' expects shape %s, the file has %s", v->name, urc_shape_str(&v->shape),
                           urc_shape_str(&t->shape)));
    urc_tensor *r = urc_tensor_new(v->dtype, &v->shape);
    int64_t n = urc_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        if (urc_dtype_is_float(v->dtype)) {
            double x = urc_elem_f64(t->dtype, t->data, i);
            if (!isfinite(x)) fail(path, urc_fmt("element %lld is not finite", (long long)i));
            urc_elem_set_f64(r->dtype, r->data, i, x);
        } else {
            urc_elem_set_i64(r->dtype, r->data, i, urc_elem_i64(t->dtype, t->data, i));
        }
    }
    urc_tensor_free(t);
    return r;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Element i of an integer label file as int64; *huge when it is a uint64
 * above INT64_MAX (then no class's value). */
static int64_t label_at(const urc_tensor *t, int64_t i, bool *huge) {
    if (t->dtype == URC_DT_U64) {
        uint64_t u = ((const uint64_t *)t->data)[i];
        *huge = u > (uint64_t)INT64_MAX;
        return (int64_t)u;
    }
    *huge = false;
    return urc_elem_i64(t->dtype, t->data, i);
}

/* A label value as the file's type prints it (uint64 above INT64_MAX). */
static void put_value(urc_strbuf *sb, int64_t v, bool as_unsigned) {
    if (as_unsigned) urc_sb_printf(sb, "%llu", (unsigned long long)v);
    else urc_sb_printf(sb, "%lld", (long long)v);
}

/* "V0,V1,..." */
static const char *value_list(const int64_t *v, int64_t n) {
    urc_strbuf sb = {0};
    for (int64_t k = 0; k < n; k++) {
        if (k) urc_sb_putc(&sb, ',');
        put_value(&sb, v[k], false);
    }
    const char *r = urc_strdup(sb.data ? sb.data : "");
    urc_sb_free(&sb);
    return r;
}

/* Every label must be one of the classes' label values (g->label_values:
 * 0..C-1, or --label-map's); any other would have an all-zero one-hot and
 * train silently wrong (and a value the label type cannot hold would wrap
 * when converted). The message names each offending value with its voxel
 * count and, without --label-map, suggests one when the file holds exactly
 * as many distinct values as the model has classes. */
static void check_label_values(const char *path, const urc_tensor *t, const urc_graph *g, bool mapped) {
    int nc = g->nclasses;
    int64_t *cls = urc_xmalloc(sizeof(int64_t) * (size_t)nc);
    memcpy(cls, g->label_values, sizeof(int64_t) * (size_t)nc);
    qsort(cls, (size_t)nc, sizeof(int64_t), cmp_i64);
    bool range = (uint64_t)cls[nc - 1] - (uint64_t)cls[0] == (uint64_t)(nc - 1);
    int64_t n = urc_tensor_numel(t);
    bool as_unsigned = t->dtype == URC_DT_U64;
    URC_VEC(int64_t) bad = {0};
    for (int64_t i = 0; i < n; i++) {
        bool huge;
        int64_t x = label_at(t, i, &huge);
        bool ok = !huge && (range ? x >= cls[0] && x <= cls[nc - 1]
                                  : bsearch(&x, cls, (size_t)nc, sizeof(int64_t), cmp_i64) != NULL);
        if (!ok) URC_VEC_PUSH(bad, x);
    }
    if (!bad.len) {
        free(cls);
        return;
    }
    qsort(bad.items, (size_t)bad.len, sizeof(int64_t), as_unsigned ? cmp_u64 : cmp_i64);
    urc_strbuf m = {0};
    int nvalues = 0, shown = 0;
    for (int i = 0; i < bad.len;) {
        int j = i;
        while (j < bad.len && bad.items[j] == bad.items[i]) j++;
        nvalues++;
        i = j;
    }
    urc_sb_printf(&m, "label value%s ", nvalues > 1 ? "s" : "");
    for (int i = 0; i < bad.len && shown < 8;) {
        int j = i;
        while (j < bad.len && bad.items[j] == bad.items[i]) j++;
        const char *sep = !shown ? "" : (shown + 1 == nvalues ? " and " : ", ");
        urc_sb_puts(&m, sep);
        put_value(&m, bad.items[i], as_unsigned);
        urc_sb_printf(&m, nvalues > 1 ? " (%d voxel%s)" : " at %d voxel%s", j - i, j - i > 1 ? "s" : "");
        shown++;
        i = j;
    }
    if (shown < nvalues) urc_sb_printf(&m, " and %d more value%s", nvalues - shown, nvalues - shown > 1 ? "s" : "");
    const char *verb = nvalues > 1 ? "are" : "is";
    if (mapped) {
        urc_sb_printf(&m, " %s not in --label-map %s", verb, value_list(g->label_values, nc));
    } else {
        urc_sb_printf(&m, " %s outside the model's %d classes (0..%d)", verb, nc, nc - 1);
        /* the file's distinct values, if they could be the classes */
        int64_t *all = urc_xmalloc(sizeof(int64_t) * (size_t)n);
        int64_t nd = 0;
        bool any_huge = false;
        for (int64_t i = 0; i < n; i++) {
            bool huge;
            all[i] = label_at(t, i, &huge);
            any_huge |= huge;
        }
        qsort(all, (size_t)n, sizeof(int64_t), cmp_i64);
        for (int64_t i = 0; i < n && nd <= nc; i++)
            if (!i || all[i] != all[i - 1]) all[nd++] = all[i];
        if (nd == nc && !any_huge) urc_sb_printf(&m, "; remap with --label-map %s", value_list(all, nd));
        else
            urc_sb_printf(&m, "; map label values to classes with --label-map %s",
                          nc == 2   ? "V0,V1"
                          : nc == 3 ? "V0,V1,V2"
                                    : urc_fmt("V0,...,V%d", nc - 1));
        free(all);
    }
    free(cls);
    fail(path, m.data);
}

/* A label file: an integer class map of exactly the label input's shape
 * [N, 1, S...] or of [N, S...], every value a class's label value,
 * converted to the label input's type. */
static urc_tensor *load_label(const char *path, const urc_value *v, const urc_graph *g, bool mapped,
                              uint64_t max_bytes) {
    const char *err;
    urc_tensor *t = urc_npy_read(path, max_bytes, &err);
    if (!t) fail(path, err);
    urc_shape squeezed = {v->shape.rank - 1, {0}}; /* [N, S...]: without the channel */
    for (int d = 0, k = 0; d < v->shape.rank; d++)
        if (d != 1) squeezed.dims[k++] = v->shape.dims[d];
    if (!urc_shape_eq(&t->shape, &v->shape) && !urc_shape_eq(&t->shape, &squeezed))
        fail(path, urc_fmt("the label must have shape %s or %s, the file has %s", urc_shape_str(&v->shape),
                           urc_shape_str(&squeezed), urc_shape_str(&t->shape)));
    if (urc_dtype_is_float(t->dtype))
        fail(path, urc_fmt("the label must be an integer class map, the file has %s", urc_dtype_name(t->dtype)));
    check_label_values(path, t, g, mapped);
    urc_tensor *r = urc_tensor_new(v->dtype, &v->shape);
    int64_t n = urc_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) urc_elem_set_i64(r->dtype, r->data, i, urc_elem_i64(t->dtype, t->data, i));
    urc_tensor_free(t);
    return r;
}

/* The gradient file of a parameter: its name with '%', '/' and control
 * characters percent-encoded (%2F ...), so that distinct names always give
 * distinct file names in one folder ('p/q' -> p%2Fq.npy, 'p_q' -> p_q.npy). */
static const char *file_name(const char *param) {
    urc_strbuf sb = {0};
    for (const unsigned char *p = (const unsigned char *)param; *p; p++) {
        if (*p == '%' || *p == '/' || *p < 0x20 || *p == 0x7f) urc_sb_printf(&sb, "%%%02X", *p);
        else urc_sb_putc(&sb, (char)*p);
    }
    const char *r = urc_strdup(sb.data ? sb.data : "");
    urc_sb_free(&sb);
    return r;
}

int urc_cmd_grad(urc_cli *c) {
    const char *input = c->inputs.len ? c->inputs.items[c->inputs.len - 1] : NULL;
    if (!input || !c->label || !c->out) usage("grad needs --input X.npy, --label L.npy and --out DIR");
    urc_options o = train_options(c, true);
    o.train = &c->t;
    urc_diag_reset(c->model);
    urc_graph *g = urc_build_graph(c->model, &o);
    if (!g) fail(c->model, NULL);
    /* The gradient files must not write over what grad reads (the model,
     * its external data, --input, --label in the --out folder) nor each other. */
    urc_cli_file *gouts = urc_alloc(sizeof(urc_cli_file) * ((size_t)g->inputs.len + 1));
    int ngout = 0;
    for (int i = 0; i < g->inputs.len; i++)
        if (g->inputs.items[i]->flags & URC_VAL_PARAM)
            gouts[ngout++] = (urc_cli_file){urc_fmt("%s/%s.npy", c->out, file_name(g->inputs.items[i]->name)),
                                            urc_fmt("the gradient of '%s'", g->inputs.items[i]->name)};
    urc_cli_file *gins = urc_alloc(sizeof(urc_cli_file) * (size_t)(2 + c->inputs.len + c->frozen_paths.len));
    int ngin = urc_cli_input_files(c, gins);
    gins[ngin++] = (urc_cli_file){c->label, "the --label file"};
    urc_cli_check_outputs(gouts, ngout, gins, ngin);
    urc_cli_check_external(g, gouts, ngout);
    /* Inputs: the data, the label, then the parameters' initial values. */
    urc_tensor **ins = urc_xcalloc((size_t)g->inputs.len + 1, sizeof(urc_tensor *));
    urc_tensor **outs = urc_xcalloc((size_t)g->outputs.len + 1, sizeof(urc_tensor *));
    int ndata = 0;
    for (int i = 0; i < g->inputs.len; i++) {
        urc_value *v = g->inputs.items[i];
        if (v->flags & URC_VAL_PARAM) {
            ins[i] = urc_tensor_new(v->dtype, &v->shape);
            memcpy(ins[i]->data, v->init, urc_tensor_bytes(ins[i]));
        } else if (v == g->label) {
            ins[i] = load_label(c->label, v, g, c->label_map.len > 0, c->opt.import.max_bytes);
        } else {
            if (ndata++) fail(c->model, "grad supports models with one data input");
            ins[i] = load_input(input, v, c->opt.import.max_bytes);
        }
    }
    urc_diag_reset(c->model);
    if (c->interp) {
        if (!urc_interp_run(g, ins, outs)) fail(c->model, NULL);
    } else {
        urc_program *P = urc_build_program(g, "model", &o, NULL);
        if (!P) fail(c->model, NULL);
        urc_run_opts ro = {.cc = c->cc, .cflags = c->cflags, .model_name = c->model, .opset = g->opset};
        if (!c->backend->run(P, ins, outs, &ro)) fail(c->model, NULL);
    }
    struct stat st;
    if (mkdir(c->out, 0755) != 0 && errno != EEXIST)
        fail(c->out, urc_fmt("cannot create the output folder: %s", strerror(errno)));
    if (stat(c->out, &st) != 0 || !S_ISDIR(st.st_mode))
        fail(c->out, "cannot create the output folder: Not a directory");
    /* Outputs: loss, then one gradient per parameter in input order, all
     * committed as one set (a full disk leaves none of them). Each file is
     * closed once written: a model may have more parameters than a process
     * may keep files open. */
    urc_cli_outset set = {0};
    for (int i = 0, k = 1; i < g->inputs.len; i++) {
        urc_value *v = g->inputs.items[i];
        if (!(v->flags & URC_VAL_PARAM)) continue;
        urc_strbuf sb = {0};
        urc_npy_format(outs[k++], &sb);
        urc_cli_out_add(&set, urc_fmt("%s/%s.npy", c->out, file_name(v->name)), sb.data, sb.len);
        urc_sb_free(&sb);
    }
    urc_cli_out_commit(&set);
    printf("loss=%.9g\n", urc_elem_f64(outs[0]->dtype, outs[0]->data, 0));
    return 0;
}

/* ---- unetrc MODEL -o OUT.c --train ---------------------------------------------- */

/* Builds the inference program (parameters in the params region) and the
 * training-step program in one weights blob; false after reporting. The
 * dumps are of the training step. */
static bool build_train_programs(urc_cli *c, const char *name, urc_program **progs, urc_graph **g_out) {
    if (!c->t.optim) c->t.optim = URC_OPTIM_ADAMW;
    urc_options oi = train_options(c, false);
    oi.param_regions = true;
    urc_diag_reset(c->model);
    urc_graph *gi = urc_build_graph(c->model, &oi);
    if (!gi) return false;
    progs[0] = urc_build_program(gi, name, &oi, NULL);
    if (!progs[0]) return false;
    urc_options ot = train_options(c, true);
    ot.param_regions = true;
    ot.train = &c->t;
    ot.share = progs[0];
    urc_graph *gt = urc_build_graph(c->model, &ot);
    if (!gt) return false;
    progs[1] = urc_build_program(gt, name, &ot, NULL);
    if (!progs[1]) return false;
    *g_out = gt;
    return true;
}

static const char *const train_entries[2] = {"forward", "train_step"};

int urc_cmd_compile_train(urc_cli *c) {
    urc_cli_file outs[3];
    int nout;
    const char *name = urc_cli_compile_prefix(c, outs, &nout);
    urc_program *progs[2];
    urc_graph *g;
    if (!build_train_programs(c, name, progs, &g)) fail(c->model, NULL);
    urc_cli_check_external(g, outs, nout);
    urc_cli_write_code(c, (const urc_program *const *)progs, train_entries, 2, name, g, "unetrc --train");
    return 0;
}

/* ---- unetrc train MODEL --data DIR ... ------------------------------------------- */

extern const char *const urc_runtime_sources[]; /* runtime_sources.c (cmake/embed.cmake) */

typedef struct sample {
    const char *image, *label;
} sample;

static int cmp_sample(const void *a, const void *b) {
    return strcmp(((const sample *)a)->image, ((const sample *)b)->image);
}

/* DIR/NAME_image.npy with DIR/NAME_label.npy, sorted by name. */
static int find_samples(const char *dir, sample **out) {
    DIR *d = opendir(dir);
    if (!d) fail(dir, urc_fmt("cannot open the data folder: %s", strerror(errno)));
    URC_VEC(sample) v = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        /* a label without its image would be left out of training silently */
        if (n > 10 && !strcmp(e->d_name + n - 10, "_label.npy")) {
            const char *image = urc_fmt("%s/%.*s_image.npy", dir, (int)(n - 10), e->d_name);
            struct stat st;
            if (stat(image, &st) != 0)
                fail(urc_fmt("%s/%s", dir, e->d_name), urc_fmt("no matching image file %s", image));
        }
        if (n <= 10 || strcmp(e->d_name + n - 10, "_image.npy")) continue;
        sample s = {urc_fmt("%s/%s", dir, e->d_name), urc_fmt("%s/%.*s_label.npy", dir, (int)(n - 10), e->d_name)};
        struct stat st;
        if (stat(s.label, &st) != 0) fail(s.image, urc_fmt("no matching label file %s", s.label));
        URC_VEC_PUSH(v, s);
    }
    closedir(d);
    if (!v.len) fail(dir, "no NAME_image.npy / NAME_label.npy pairs in the data folder");
    qsort(v.items, (size_t)v.len, sizeof(sample), cmp_sample);
    *out = v.items;
    return v.len;
}

/* The trainer's exit status after it printed its error line (in the CLI's
 * format): unetrc train then exits 1 without adding a line. */
#define TRAINER_REPORTED 3

static const char train_harness[] =
    "/* Training loop written by `unetrc train`: cycles through the samples,\n"
    " * prints one progress line per step, checkpoints every N steps. Every\n"
    " * failure prints one line `unetrc: error: ...` and exits 3. */\n"
    "#define _POSIX_C_SOURCE 200809L\n"
    "#include <errno.h>\n#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
    "#include <time.h>\n"
    "#include \"seg.h\"\n#include \"unetrc.h\"\n\n"
    "static void fail(const char *file, const char *what) {\n"
    "    fputs(\"unetrc: error: \", stderr);\n"
    "    for (const char *c = file; c && *c; c++) fputc((unsigned char)*c < 32 || *c == 127 ? ' ' : *c, stderr);\n"
    "    fprintf(stderr, \"%s%s\\n\", file ? \": \" : \"\", what);\n"
    "    exit(3);\n}\n\n"
    "static void *load(const char *path, size_t n) {\n"
    "    void *p = aligned_alloc(64, (n + 63) / 64 * 64 + 64);\n"
    "    if (!p) fail(NULL, \"out of memory\");\n"
    "    FILE *f = fopen(path, \"rb\");\n"
    "    if (!f || fread(p, 1, n, f) != n || fgetc(f) != EOF)\n"
    "        fail(path, \"cannot read the training program's data\");\n"
    "    fclose(f);\n    return p;\n}\n\n"
    "static void *zalloc(size_t n) {\n"
    "    void *p = aligned_alloc(64, (n + 63) / 64 * 64);\n"
    "    if (!p) fail(NULL, \"out of memory\");\n    memset(p, 0, (n + 63) / 64 * 64);\n    return p;\n}\n\n"
    "int main(int argc, char **argv) {\n"
    "    /* weights images labels nsamples steps lr lr_final every checkpoint resume stop_after */\n"
    "    if (argc != 12) fail(NULL, \"the training program got wrong arguments\");\n"
    "    int stop_after = atoi(argv[11]), done = 0;\n"
    "    int ns = atoi(argv[4]), steps = atoi(argv[5]), every = atoi(argv[8]), resume = atoi(argv[10]);\n"
    "    double lr0 = atof(argv[6]), lr1 = atof(argv[7]);\n"
    "    const char *ckpt = argv[9];\n"
    "    char msg[256];\n"
    "    unsigned char *blob = load(argv[1], SEG_WEIGHTS_FILE_SIZE);\n"
    "    const void *w;\n"
    "    int st = unetrc_weights_open(blob, SEG_WEIGHTS_FILE_SIZE, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM, &w);\n"
    "    if (st) fail(argv[1], unetrc_status_str(st));\n"
    "    size_t xbytes = sizeof(float) * SEG_TRAIN_IN0_COUNT, lbytes = SEG_TRAIN_LABEL_BYTES;\n"
    "    unsigned char *x = load(argv[2], xbytes * (size_t)ns), *lab = load(argv[3], lbytes * (size_t)ns);\n"
    "    unsigned char *params = zalloc(SEG_PARAMS_SIZE), *state = zalloc(SEG_STATE_SIZE), *arena = "
    "zalloc(SEG_TRAIN_ARENA_SIZE);\n"
    "    /* A resume never falls back to a fresh start: a checkpoint that does not\n"
    "     * load ends the run before anything is written. */\n"
    "    if (resume) {\n"
    "        st = unetrc_checkpoint_load(ckpt, params, SEG_PARAMS_SIZE, state, SEG_STATE_SIZE, SEG_MODEL_HASH);\n"
    "        if (st) fail(ckpt, unetrc_checkpoint_status_str(st));\n"
    "    } else if ((st = seg_train_init(w, params, state)) != SEG_OK) {\n"
    "        snprintf(msg, sizeof msg, \"seg_train_init returned %d\", st);\n"
    "        fail(argv[1], msg);\n"
    "    }\n"
    "    float at = *(float *)(state + SEG_STATE_STEP_OFFSET);\n"
    "    if (!(at >= 0 && at <= 2e9f && at == floorf(at)))\n"
    "        fail(ckpt, \"the checkpoint's step counter is not a step number\");\n"
    "    int first = (int)at;\n"
    "    if (resume)\n"
    "        fprintf(stderr, \"unetrc train: resuming from %s at step %d%s\\n\", ckpt, first,\n"
    "                first >= steps ? \" (--steps reached: nothing to train)\" : \"\");\n"
    "    for (int s = first; s < steps; s++) {\n"
    "        /* cosine decay from lr to lr_final over the run */\n"
    "        float lr = (float)(lr1 + 0.5 * (lr0 - lr1) * (1 + cos(3.14159265358979 * s / (steps > 1 ? steps - 1 : "
    "1))));\n"
    "        int i = s % ns;\n"
    "        float loss = 0, dice = 0;\n"
    "        struct timespec t0, t1;\n"
    "        clock_gettime(CLOCK_MONOTONIC, &t0);\n"
    "        int rc = seg_train_step(w, params, state, arena, (const void *)(x + xbytes * (size_t)i),\n"
    "                                (const void *)(lab + lbytes * (size_t)i), &lr, &loss, SEG_TRAIN_DICE_ARG);\n"
    "        clock_gettime(CLOCK_MONOTONIC, &t1);\n"
    "        if (rc != SEG_OK) {\n"
    "            snprintf(msg, sizeof msg, \"step %d (sample %d): seg_train_step returned %d%s\", s + 1, i + 1, rc,\n"
    "                     rc == SEG_ERR_LABEL ? \" (a label is none of the classes' label values)\" : \"\");\n"
    "            fail(NULL, msg);\n"
    "        }\n"
    "        printf(\"step %d/%d loss=%.6f dice=%.4f lr=%.3g ms=%.1f\\n\", s + 1, steps, loss, SEG_TRAIN_DICE_VALUE, "
    "lr,\n"
    "               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);\n"
    "        fflush(stdout);\n"
    "        done++;\n"
    "        int stop = stop_after > 0 && done == stop_after;\n"
    "        if ((every > 0 && (s + 1) % every == 0) || s + 1 == steps || stop) {\n"
    "            errno = 0;\n"
    "            st = unetrc_checkpoint_save(ckpt, params, SEG_PARAMS_SIZE, state, SEG_STATE_SIZE, SEG_MODEL_HASH);\n"
    "            if (st) {\n"
    "                snprintf(msg, sizeof msg, \"cannot save the checkpoint: %s\",\n"
    "                         errno ? strerror(errno) : unetrc_checkpoint_status_str(st));\n"
    "                fail(ckpt, msg);\n"
    "            }\n"
    "        }\n"
    "        if (stop) break;\n"
    "    }\n"
    "    printf(\"checkpoint %s\\n\", ckpt);\n"
    "    return 0;\n}\n";

/* OUT/checkpoint.bin before anything is written. With --resume it must load
 * (the trainer's own checks, made here without reading it into memory):
 * else the run stops with the reason and the checkpoint stays as it is. A
 * missing checkpoint is an error too, not a silent fresh start (a typo in
 * --out would otherwise retrain from step 1). Without --resume an existing
 * checkpoint is not overwritten. */
static void check_checkpoint(const char *path, bool resume, const urc_program *T, uint64_t model_hash) {
    struct stat st;
    if (!resume) {
        if (lstat(path, &st) == 0)
            fail(path, "a checkpoint of an earlier run is here; continue it with --resume, or remove it to start "
                       "from step 1");
        return;
    }
    if (stat(path, &st) != 0)
        fail(path, urc_fmt("--resume: no checkpoint to resume from (%s); train without --resume to start from step 1",
                           strerror(errno)));
    if (!S_ISREG(st.st_mode)) fail(path, "--resume: the checkpoint is not a regular file");
    /* the sizes the generated header declares (SEG_PARAMS_SIZE, SEG_STATE_SIZE) */
    uint64_t ps = (uint64_t)urc_abi_params_size(T), ss = (uint64_t)urc_abi_state_size(T);
    unetrc_checkpoint_info info;
    errno = 0;
    unetrc_status rc = unetrc_checkpoint_check(path, (size_t)ps, (size_t)ss, model_hash, &info);
    if (rc == UNETRC_OK) return;
    if (rc == UNETRC_ERR_IO) fail(path, urc_fmt("cannot read the checkpoint: %s", strerror(errno ? errno : EIO)));
    if (rc == UNETRC_ERR_SIZE && info.params_size != ps)
        fail(path, urc_fmt("checkpoint of other trainable parameters: it holds %llu bytes of them, this training step "
                           "%llu (other --trainable or --freeze?)",
                           (unsigned long long)info.params_size, (unsigned long long)ps));
    if (rc == UNETRC_ERR_SIZE && info.state_size != ss)
        fail(path, urc_fmt("checkpoint of another optimizer: it holds %llu bytes of optimizer state, this training "
                           "step %llu (other --optimizer?)",
                           (unsigned long long)info.state_size, (unsigned long long)ss));
    if (rc == UNETRC_ERR_SIZE) fail(path, "checkpoint with data after its end");
    fail(path, unetrc_checkpoint_status_str(rc));
}

#ifdef URC_HAVE_LLVM
/* aligned_alloc of whole 64-byte units, zeroed */
static unsigned char *zalloc64(int64_t n) {
    size_t b = (size_t)(n + 63) / 64 * 64;
    unsigned char *p = aligned_alloc(64, b ? b : 64);
    if (!p) fail(NULL, "out of memory");
    memset(p, 0, b);
    return p;
}

/* train --jit: the training harness (train_harness) as a function of this
 * process, calling the JIT'd seg_train_init and seg_train_step: the same
 * steps, progress lines, learning rates and checkpoints. */
static void train_in_process(urc_cli *c, urc_program **progs, const urc_graph *g, const char *ckpt,
                             const urc_strbuf *xs, const urc_strbuf *ls, int ns, int steps, double lr0, double lr1,
                             int every, int stop_after) {
    const urc_program *T = progs[1], *W = progs[1];
    urc_emit_opts eo = {.prefix = "seg",
                        .source_name = urc_cli_base_name(c->model),
                        .command = "unetrc train",
                        .model_hash = g->hash,
                        .opset = g->opset};
    printf("unetrc train: %d samples, %d steps, compiling in-process (--jit)\n", ns, steps);
    fflush(stdout);
    double t0 = urc_jit_now_ms();
    urc_diag_reset(c->model);
    urc_jit *j = urc_jit_compile((const urc_program *const *)progs, train_entries, 2, &eo);
    urc_jit_entry init = j ? urc_jit_lookup(j, "train_init") : NULL;
    urc_jit_entry step = init ? urc_jit_lookup(j, "train_step") : NULL;
    if (!step) fail(c->model, NULL);
    if (urc_verbose) fprintf(stderr, "unetrc train: JIT in %.1f ms\n", urc_jit_now_ms() - t0);
    int64_t ps = urc_abi_params_size(T), ss = urc_abi_state_size(T);
    unsigned char *w = zalloc64(W->weights_bytes), *params = zalloc64(ps), *state = zalloc64(ss),
                  *arena = zalloc64(urc_abi_arena_size(T));
    if (W->weights_bytes) memcpy(w, W->weights, (size_t)W->weights_bytes);
    int64_t step_off = -1;
    for (int i = 0; i < T->regions.len; i++)
        if (T->regions.items[i].state && !strcmp(T->regions.items[i].name, "step"))
            step_off = T->regions.items[i].offset;
    if (step_off < 0) fail(c->model, "internal error: the training step has no step counter");
    int st;
    if (c->resume) {
        st = unetrc_checkpoint_load(ckpt, params, (size_t)ps, state, (size_t)ss, g->hash);
        if (st) fail(ckpt, unetrc_checkpoint_status_str(st));
    } else if ((st = init((void *[]){w, params, state})) != UNETRC_OK) {
        fail(c->model, urc_fmt("seg_train_init returned %d", st));
    }
    float at;
    memcpy(&at, state + step_off, sizeof at);
    if (!(at >= 0 && at <= 2e9f && at == floorf(at))) fail(ckpt, "the checkpoint's step counter is not a step number");
    int first = (int)at, done = 0;
    if (c->resume)
        fprintf(stderr, "unetrc train: resuming from %s at step %d%s\n", ckpt, first,
                first >= steps ? " (--steps reached: nothing to train)" : "");
    const urc_io *xi = &T->inputs.items[0], *li = &T->inputs.items[1];
    size_t xbytes = (size_t)(urc_shape_numel(&xi->shape) * urc_dtype_size(xi->dt));
    size_t lbytes = (size_t)(urc_shape_numel(&li->shape) * urc_dtype_size(li->dt));
    /* the samples in 64-byte aligned copies, as the harness loads them */
    unsigned char *x = zalloc64((int64_t)xs->len), *lab = zalloc64((int64_t)ls->len);
    memcpy(x, xs->data, xs->len);
    memcpy(lab, ls->data, ls->len);
    bool has_dice = T->outputs.len > 1;
    urc_jit_threads(c->threads);
    for (int s = first; s < steps; s++) {
        float lr = (float)(lr1 + 0.5 * (lr0 - lr1) * (1 + cos(3.14159265358979 * s / (steps > 1 ? steps - 1 : 1))));
        int i = s % ns;
        float loss = 0, dice = NAN;
        void *args[9] = {w, params, state, arena, x + xbytes * (size_t)i, lab + lbytes * (size_t)i, &lr, &loss, &dice};
        double s0 = urc_jit_now_ms();
        int rc = step(args);
        double ms = urc_jit_now_ms() - s0;
        if (rc != UNETRC_OK)
            fail(NULL, urc_fmt("step %d (sample %d): seg_train_step returned %d%s", s + 1, i + 1, rc,
                               rc == UNETRC_ERR_LABEL ? " (a label is none of the classes' label values)" : ""));
        printf("step %d/%d loss=%.6f dice=%.4f lr=%.3g ms=%.1f\n", s + 1, steps, loss, has_dice ? dice : NAN, lr, ms);
        fflush(stdout);
        done++;
        bool stop = stop_after > 0 && done == stop_after;
        if ((every > 0 && (s + 1) % every == 0) || s + 1 == steps || stop) {
            errno = 0;
            st = unetrc_checkpoint_save(ckpt, params, (size_t)ps, state, (size_t)ss, g->hash);
            if (st)
                fail(ckpt, urc_fmt("cannot save the checkpoint: %s",
                                   errno ? strerror(errno) : unetrc_checkpoint_status_str(st)));
        }
        if (stop) break;
    }
    printf("checkpoint %s\n", ckpt);
    urc_jit_free(j);
}
#endif

int urc_cmd_train(urc_cli *c) {
    const char *outdir = c->out;
    int steps = (int)c->steps, every = (int)c->every, stop_after = (int)c->stop_after;
    double lr = c->lr, lr_final = c->lr_final;
    if (!c->data) usage("train needs --data DIR (NAME_image.npy and NAME_label.npy pairs)");
    if (steps < 1 || every < 0) usage("--steps must be positive and --checkpoint-every non-negative");
    if (lr_final < 0) lr_final = lr;
    urc_program *progs[2];
    urc_graph *g;
    if (!build_train_programs(c, "seg", progs, &g)) fail(c->model, NULL);
    /* the training step's data inputs: x (0), label (1) and lr (2) */
    const urc_program *T = progs[1];
    if (T->inputs.len != 3 || !T->label_values || T->label_input != 1)
        fail(c->model, "train supports models with one data input");
    const char *ckpt = urc_fmt("%s/checkpoint.bin", outdir);
    check_checkpoint(ckpt, c->resume, T, g->hash);
    /* Every sample is read and checked before anything is written. */
    sample *samples;
    int ns = find_samples(c->data, &samples);
    const urc_io *xi = &T->inputs.items[0], *li = &T->inputs.items[1];
    urc_value xv = {.name = xi->name, .dtype = xi->dt, .shape = xi->shape, .has_type = true};
    urc_value lv = {.name = "label", .dtype = li->dt, .shape = li->shape, .has_type = true};
    urc_strbuf xs = {0}, ls = {0};
    for (int i = 0; i < ns; i++) {
        urc_tensor *x = load_input(samples[i].image, &xv, c->opt.import.max_bytes);
        urc_tensor *l = load_label(samples[i].label, &lv, g, c->label_map.len > 0, c->opt.import.max_bytes);
        urc_sb_write(&xs, x->data, urc_tensor_bytes(x));
        urc_sb_write(&ls, l->data, urc_tensor_bytes(l));
        urc_tensor_free(x);
        urc_tensor_free(l);
    }
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST)
        fail(outdir, urc_fmt("cannot create the output folder: %s", strerror(errno)));
    /* One `unetrc train` per output folder: a second one (a resumed run
     * started while the first still runs) would race it on the checkpoint.
     * The lock (on OUT/train.lock, kept: removing a lock file races) lasts
     * until this process ends. Not a lock on the folder itself: that one
     * serialises commits into the folder (urc_outfile_commit_all), which
     * must not wait for a whole training run. */
    const char *lock_path = urc_fmt("%s/train.lock", outdir);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (lock < 0) fail(lock_path, urc_fmt("cannot open the lock file: %s", strerror(errno)));
    if (flock(lock, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
        fail(outdir, "another unetrc train is using this output folder");
#ifdef URC_HAVE_LLVM
    if (c->jit) {
        train_in_process(c, progs, g, ckpt, &xs, &ls, ns, steps, lr, lr_final, every, stop_after);
        return 0;
    }
#endif
    /* The trainer's build folder: the data, the generated code, the runtime
     * and the harness, written as one set. */
    const char *bdir = urc_fmt("%s/build", outdir);
    mkdir(bdir, 0755);
    const char *code = urc_fmt("%s/seg%s", bdir, c->backend->code_suffix);
    urc_emit_opts eo = {.prefix = "seg",
                        .source_name = urc_cli_base_name(c->model),
                        .command = "unetrc train",
                        .model_hash = g->hash,
                        .opset = g->opset,
                        .code_path = code,
                        .header_path = urc_fmt("%s/seg.h", bdir),
                        .weights_path = urc_fmt("%s/seg.weights", bdir)};
    urc_emitted e = {0};
    if (!c->backend->emit((const urc_program *const *)progs, train_entries, 2, &eo, &e)) fail(c->model, NULL);
    urc_cli_outset set = {0};
    urc_cli_out_add(&set, urc_fmt("%s/images.bin", bdir), xs.data, xs.len);
    urc_cli_out_add(&set, urc_fmt("%s/labels.bin", bdir), ls.data, ls.len);
    urc_cli_out_add(&set, eo.code_path, e.code.data, e.code.len);
    urc_cli_out_add(&set, eo.header_path, e.header.data, e.header.len);
    urc_cli_out_add(&set, eo.weights_path, e.weights.data, e.weights.len);
    urc_emitted_free(&e);
    urc_sb_free(&xs);
    urc_sb_free(&ls);
    for (int i = 0; urc_runtime_sources[i]; i += 2)
        urc_cli_out_add(&set, urc_fmt("%s/%s", bdir, urc_runtime_sources[i]), urc_runtime_sources[i + 1],
                        strlen(urc_runtime_sources[i + 1]));
    bool has_dice = T->outputs.len > 1;
    const char *harness = urc_fmt("#define SEG_TRAIN_LABEL_BYTES %lld\n#define SEG_TRAIN_DICE_ARG %s\n"
                                  "#define SEG_TRAIN_DICE_VALUE %s\n%s",
                                  (long long)(urc_shape_numel(&li->shape) * urc_dtype_size(li->dt)),
                                  has_dice ? "&dice" : "", has_dice ? "dice" : "(dice = NAN)", train_harness);
    urc_cli_out_add(&set, urc_fmt("%s/train.c", bdir), harness, strlen(harness));
    urc_cli_out_commit(&set);
    /* build */
    const char *srcs[] = {code, urc_fmt("%s/train.c", bdir), urc_fmt("%s/weights.c", bdir),
                          urc_fmt("%s/checkpoint.c", bdir)};
    const char *exe = urc_fmt("%s/train", bdir);
    printf("unetrc train: %d samples, %d steps, building %s\n", ns, steps, exe);
    fflush(stdout);
    urc_build_opts bo = {.cc = c->cc,
                         .cflags =
                             c->cflags ? c->cflags : "-std=c11 -O3 -march=native -mprefer-vector-width=512 -fopenmp",
                         .log_path = urc_fmt("%s/build.log", bdir)};
    if (!c->backend->build(srcs, (int)URC_ARRAY_LEN(srcs), exe, &bo))
        fail(c->model, urc_fmt("the training program failed to build (see %s/build.log)", bdir));
    if (c->threads) setenv("OMP_NUM_THREADS", urc_fmt("%d", c->threads), 1);
    char *rv[] = {(char *)exe,
                  urc_fmt("%s/seg.weights", bdir),
                  urc_fmt("%s/images.bin", bdir),
                  urc_fmt("%s/labels.bin", bdir),
                  urc_fmt("%d", ns),
                  urc_fmt("%d", steps),
                  urc_fmt("%.9g", lr),
                  urc_fmt("%.9g", lr_final),
                  urc_fmt("%d", every),
                  (char *)ckpt,
                  c->resume ? "1" : "0",
                  urc_fmt("%d", stop_after),
                  NULL};
    /* The trainer dies with this process; a checkpoint it was saving when
     * it ended (CKPT.tmpPID.N) is removed. */
    urc_child_opts ro = {.temps_of = ckpt};
    int rc = urc_run_child(rv, &ro);
    if (rc == TRAINER_REPORTED) { /* its one line is on stderr */
        urc_cleanup_all();
        urc_outfile_abort_all();
        exit(1);
    }
    if (rc == 128 + SIGPIPE) {
        /* The progress lines' reader went away (`unetrc train ... | head`):
         * end as a pipeline command does, quietly, of SIGPIPE. */
        urc_cleanup_all();
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
    }
    if (rc != 0) fail(c->model, urc_fmt("training failed (exit status %d)", rc));
    return 0;
}
