/* cmd_train.c: the training commands of the CLI.
 *
 *   unetrc grad MODEL.onnx --input X.npy --label L.npy --out DIR [options]
 *     prints `loss=<value>` and writes DIR/<initializer name>.npy (the name
 *     with '/' replaced by '_') with the gradient of the loss for every
 *     trainable float initializer.
 *   unetrc MODEL.onnx -o OUT.c --train [options]
 *     writes OUT.c/.h/.weights with OUT_forward (inference from the params
 *     region), OUT_train_init and OUT_train_step.
 * Errors follow the CLI contract of main.c: one line "unetrc: error:
 * FILE: ...", exit 1; usage errors exit 2. */
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
#include "backend/c/run_c.h"
#include "base/diag.h"
#include "base/npy.h"
#include "base/proc.h"
#include "driver.h"
#include "interp/interp.h"

typedef URC_VEC(const char *) strlist;

typedef struct train_cli {
    const char *model, *input, *label, *out;
    const char *out_c, *name;   /* --train compile */
    bool embed;
    bool interp;
    strlist trainable, freeze, recompute;
    bool dump_ir;               /* of the training graph */
    const char *dump_after;
    urc_train_opts t;
    uint64_t max_bytes;
    const char *cc, *cflags;
} train_cli;

#define usage urc_cli_usage_error
#define fail urc_cli_fail

static bool is_trainable(const char *name, void *ctx) {
    const train_cli *c = ctx;
    bool yes = c->trainable.len == 0;
    for (int i = 0; i < c->trainable.len && !yes; i++) yes = !fnmatch(c->trainable.items[i], name, 0);
    for (int i = 0; i < c->freeze.len && yes; i++) yes = fnmatch(c->freeze.items[i], name, 0) != 0;
    return yes;
}

static double parse_num(const char *opt, const char *v) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x)) usage("%s wants a number, got '%s'", opt, v);
    return x;
}

static void parse(train_cli *c, int argc, char **argv, int first) {
    c->max_bytes = (uint64_t)4 << 30;
    urc_train_defaults(&c->t);
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage("%s needs a value", a), ""))
        if (!strcmp(a, "--train")) continue;
        else if (!strcmp(a, "-o")) c->out_c = NEXT();
        else if (!strcmp(a, "--name")) c->name = NEXT();
        else if (!strcmp(a, "--embed-weights")) c->embed = true;
        else if (!strcmp(a, "--optimizer")) {
            const char *v = NEXT();
            if (!strcmp(v, "adamw")) c->t.optim = URC_OPTIM_ADAMW;
            else if (!strcmp(v, "sgd")) c->t.optim = URC_OPTIM_SGD;
            else usage("--optimizer wants adamw or sgd, got '%s'", v);
        } else if (!strcmp(a, "--momentum")) c->t.momentum = parse_num(a, NEXT());
        else if (!strcmp(a, "--beta1")) c->t.beta1 = parse_num(a, NEXT());
        else if (!strcmp(a, "--beta2")) c->t.beta2 = parse_num(a, NEXT());
        else if (!strcmp(a, "--eps")) c->t.eps = parse_num(a, NEXT());
        else if (!strcmp(a, "--weight-decay")) c->t.weight_decay = parse_num(a, NEXT());
        else if (!strcmp(a, "--label-type")) {
            const char *v = NEXT();
            if (!strcmp(v, "uint8")) c->t.label_dtype = URC_DT_U8;
            else if (!strcmp(v, "int32")) c->t.label_dtype = URC_DT_I32;
            else if (!strcmp(v, "int64")) c->t.label_dtype = URC_DT_I64;
            else usage("--label-type wants uint8, int32 or int64, got '%s'", v);
        } else if (!strcmp(a, "--input")) c->input = NEXT();
        else if (!strcmp(a, "--label")) c->label = NEXT();
        else if (!strcmp(a, "--out")) c->out = NEXT();
        else if (!strcmp(a, "--interp")) c->interp = true;
        else if (!strcmp(a, "--trainable")) URC_VEC_PUSH(c->trainable, NEXT());
        else if (!strcmp(a, "--freeze")) URC_VEC_PUSH(c->freeze, NEXT());
        else if (!strcmp(a, "--recompute")) URC_VEC_PUSH(c->recompute, NEXT());
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) urc_verbose = 1;
        else if (!strcmp(a, "--dump-ir")) c->dump_ir = true;
        else if (!strcmp(a, "--dump-after")) c->dump_after = NEXT();
        else if (!strcmp(a, "--cc")) c->cc = NEXT();
        else if (!strcmp(a, "--cflags")) c->cflags = NEXT();
        else if (!strcmp(a, "--loss")) {
            const char *v = NEXT();
            if (!strcmp(v, "dicece")) c->t.loss.kind = URC_LOSS_DICECE;
            else if (!strcmp(v, "dice")) c->t.loss.kind = URC_LOSS_DICE;
            else if (!strcmp(v, "ce")) c->t.loss.kind = URC_LOSS_CE;
            else usage("--loss wants dicece, dice or ce, got '%s'", v);
        } else if (!strcmp(a, "--squared")) c->t.loss.squared = true;
        else if (!strcmp(a, "--exclude-background")) c->t.loss.include_background = false;
        else if (!strcmp(a, "--batch-dice")) c->t.loss.batch = true;
        else if (!strcmp(a, "--smooth-nr")) c->t.loss.smooth_nr = parse_num(a, NEXT());
        else if (!strcmp(a, "--smooth-dr")) c->t.loss.smooth_dr = parse_num(a, NEXT());
        else if (!strcmp(a, "--lambda-dice")) c->t.loss.lambda_dice = parse_num(a, NEXT());
        else if (!strcmp(a, "--lambda-ce")) c->t.loss.lambda_ce = parse_num(a, NEXT());
        else if (!strcmp(a, "--class-weights")) {
            char *s = urc_strdup(NEXT());
            for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
                if (c->t.loss.nweights == 256) usage("--class-weights: at most 256 classes");
                c->t.loss.weights[c->t.loss.nweights++] = parse_num(a, tok);
            }
        } else if (a[0] == '-') usage("unknown option '%s'", a);
        else if (!c->model) c->model = a;
        else usage("unexpected argument '%s'", a);
#undef NEXT
    }
    if (!c->model) usage("no model given");
    c->t.recompute = c->recompute.items;
    c->t.nrecompute = c->recompute.len;
}

/* A .npy of any dtype converted to the value's dtype; the shape must have
 * the value's element count (a label [N, S...] fits [N, 1, S...]). */
static urc_tensor *load_as(const char *path, const urc_value *v, uint64_t max_bytes, bool is_label) {
    const char *err;
    urc_tensor *t = urc_npy_read(path, max_bytes, &err);
    if (!t) fail(path, err);
    if (urc_tensor_numel(t) != urc_shape_numel(&v->shape) || (!is_label && !urc_shape_eq(&t->shape, &v->shape)))
        fail(path, urc_fmt("%s '%s' expects shape %s, the file has %s", is_label ? "label" : "input", v->name,
                           urc_shape_str(&v->shape), urc_shape_str(&t->shape)));
    if (is_label && urc_dtype_is_float(t->dtype))
        fail(path, urc_fmt("the label must be an integer class map, the file has %s", urc_dtype_name(t->dtype)));
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

static const char *file_name(const char *param) {
    char *s = urc_strdup(param);
    for (char *p = s; *p; p++)
        if (*p == '/') *p = '_';
    return s;
}

int urc_cmd_grad(int argc, char **argv) {
    train_cli c = {0};
    parse(&c, argc, argv, 2);
    if (!c.input || !c.label || !c.out) usage("grad needs --input X.npy, --label L.npy and --out DIR");
    urc_options o = {.import = {.max_bytes = c.max_bytes, .trainable = is_trainable, .trainable_ctx = &c},
                     .align = 64, .train = &c.t};
    urc_diag_reset(c.model);
    urc_graph *g = urc_build_graph(c.model, &o);
    if (!g) fail(c.model, NULL);
    /* Inputs: the data, the label, then the parameters' initial values. */
    urc_tensor **ins = urc_xcalloc((size_t)g->inputs.len + 1, sizeof(urc_tensor *));
    urc_tensor **outs = urc_xcalloc((size_t)g->outputs.len + 1, sizeof(urc_tensor *));
    int ndata = 0;
    for (int i = 0; i < g->inputs.len; i++) {
        urc_value *v = g->inputs.items[i];
        if (v->flags & URC_VAL_PARAM) {
            ins[i] = urc_tensor_new(v->dtype, &v->shape);
            memcpy(ins[i]->data, v->init, urc_tensor_bytes(ins[i]));
        } else if (!strcmp(v->name, "label")) {
            ins[i] = load_as(c.label, v, c.max_bytes, true);
        } else {
            if (ndata++) fail(c.model, "grad supports models with one data input");
            ins[i] = load_as(c.input, v, c.max_bytes, false);
        }
    }
    urc_diag_reset(c.model);
    if (c.interp) {
        if (!urc_interp_run(g, ins, outs)) fail(c.model, NULL);
    } else {
        urc_program *P = urc_build_program(g, "model", &o, NULL);
        if (!P) fail(c.model, NULL);
        urc_run_opts ro = {.cc = c.cc, .cflags = c.cflags, .model_name = c.model, .opset = g->opset};
        if (!urc_c_run(P, ins, outs, &ro)) fail(c.model, NULL);
    }
    mkdir(c.out, 0755);
    struct stat st;
    if (stat(c.out, &st) != 0 || !S_ISDIR(st.st_mode)) fail(c.out, "cannot create the output folder");
    /* Outputs: loss, then one gradient per parameter in input order, all
     * committed as one set (a full disk leaves none of them). Each file is
     * closed once written: a model may have more parameters than a process
     * may keep files open. */
    int k = 1, nf = 0;
    urc_outfile **fs = urc_xcalloc((size_t)g->inputs.len + 1, sizeof(urc_outfile *));
    const char **paths = urc_xcalloc((size_t)g->inputs.len + 1, sizeof(const char *));
    for (int i = 0; i < g->inputs.len; i++) {
        urc_value *v = g->inputs.items[i];
        if (!(v->flags & URC_VAL_PARAM)) continue;
        urc_strbuf sb = {0};
        urc_npy_format(outs[k++], &sb);
        const char *err, *path = urc_fmt("%s/%s.npy", c.out, file_name(v->name));
        paths[nf] = path;
        if (!(fs[nf] = urc_outfile_open(path, &err))) fail(path, err);
        urc_outfile_write(fs[nf], sb.data, sb.len);
        if (!urc_outfile_close(fs[nf++], &err)) fail(path, err);
        urc_sb_free(&sb);
    }
    const char *err;
    int failed = 0;
    if (!urc_outfile_commit_all(fs, nf, &err, &failed)) fail(paths[failed], err);
    free(fs);
    free(paths);
    printf("loss=%.9g\n", urc_elem_f64(outs[0]->dtype, outs[0]->data, 0));
    return 0;
}

/* ---- unetrc MODEL -o OUT.c --train ---------------------------------------------- */

static const char *stem_of(const char *path) {
    size_t n = strlen(path);
    return n > 2 && !strcmp(path + n - 2, ".c") ? urc_strndup(path, n - 2) : path;
}

static const char *base_of(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Builds the inference program (parameters in the params region) and the
 * training-step program in one weights blob; NULL after reporting. */
static bool build_train_programs(train_cli *c, const char *name, urc_program **progs, urc_graph **g_out) {
    if (!c->t.optim) c->t.optim = URC_OPTIM_ADAMW;
    urc_options oi = {.import = {.max_bytes = c->max_bytes, .trainable = is_trainable, .trainable_ctx = c},
                      .align = 64, .param_regions = true};
    urc_diag_reset(c->model);
    urc_graph *gi = urc_build_graph(c->model, &oi);
    if (!gi) return false;
    progs[0] = urc_build_program(gi, name, &oi, NULL);
    if (!progs[0]) return false;
    urc_options ot = oi;
    ot.train = &c->t;
    ot.share = progs[0];
    ot.dump_ir = c->dump_ir;
    ot.dump_after = c->dump_after;
    urc_graph *gt = urc_build_graph(c->model, &ot);
    if (!gt) return false;
    progs[1] = urc_build_program(gt, name, &ot, NULL);
    if (!progs[1]) return false;
    *g_out = gt;
    return true;
}

int urc_cmd_compile_train(int argc, char **argv) {
    train_cli c = {0};
    c.t.optim = URC_OPTIM_NONE;
    parse(&c, argc, argv, 1);
    if (!c.out_c) usage("no output file given (-o FILE.c)");
    size_t len = strlen(c.out_c);
    if (len < 3 || strcmp(c.out_c + len - 2, ".c")) usage("-o wants a file name ending in .c, got '%s'", c.out_c);
    const char *name = c.name;
    if (!name) {
        char *s = urc_strdup(base_of(stem_of(c.out_c)));
        for (char *p = s; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')) *p = '_';
        name = s;
    }
    urc_program *progs[2];
    urc_graph *g;
    if (!build_train_programs(&c, name, progs, &g)) fail(c.model, NULL);
    const char *stem = stem_of(c.out_c);
    const char *h_path = urc_fmt("%s.h", stem), *w_path = urc_fmt("%s.weights", stem);
    urc_c_opts co = {.prefix = name, .header_name = base_of(h_path), .source_name = base_of(c.model),
                     .command = "unetrc --train", .model_hash = g->hash, .opset = g->opset, .embed_weights = c.embed};
    static const char *const entries[2] = {"forward", "train_step"};
    urc_strbuf src = {0}, hdr = {0}, wts = {0};
    urc_emit_c_source_multi((const urc_program *const *)progs, entries, 2, &co, &src);
    urc_emit_c_header_multi((const urc_program *const *)progs, entries, 2, &co, &hdr);
    if (!c.embed) urc_emit_weights(progs[1], &co, &wts);
    const char *err;
    urc_outfile *f[3] = {urc_outfile_open(c.out_c, &err), NULL, NULL};
    if (!f[0]) fail(c.out_c, err);
    if (!(f[1] = urc_outfile_open(h_path, &err))) fail(h_path, err);
    if (!c.embed && !(f[2] = urc_outfile_open(w_path, &err))) fail(w_path, err);
    urc_outfile_write(f[0], src.data, src.len);
    urc_outfile_write(f[1], hdr.data, hdr.len);
    if (f[2]) urc_outfile_write(f[2], wts.data, wts.len);
    /* All three or none (urc_outfile_commit_all): the weights first, the C
     * file last. */
    urc_outfile *set[3] = {f[2] ? f[2] : f[1], f[2] ? f[1] : f[0], f[0]};
    const char *paths[3] = {f[2] ? w_path : h_path, f[2] ? h_path : c.out_c, c.out_c};
    int failed = 0;
    if (!urc_outfile_commit_all(set, f[2] ? 3 : 2, &err, &failed)) fail(paths[failed], err);
    return 0;
}

/* ---- unetrc train MODEL --data DIR ... ------------------------------------------- */

extern const char *const urc_runtime_sources[]; /* runtime_sources.c (cmake/embed.cmake) */

typedef struct sample {
    const char *image, *label;
} sample;

static int cmp_sample(const void *a, const void *b) { return strcmp(((const sample *)a)->image, ((const sample *)b)->image); }

/* DIR/NAME_image.npy with DIR/NAME_label.npy, sorted by name. */
static int find_samples(const char *dir, sample **out) {
    DIR *d = opendir(dir);
    if (!d) fail(dir, urc_fmt("cannot open the data folder: %s", strerror(errno)));
    URC_VEC(sample) v = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
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

static const char train_harness[] =
    "/* Training loop written by `unetrc train`: cycles through the samples,\n"
    " * prints one progress line per step, checkpoints every N steps. */\n"
    "#define _POSIX_C_SOURCE 200809L\n"
    "#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <time.h>\n"
    "#include \"seg.h\"\n#include \"unetrc.h\"\n\n"
    "static void *load(const char *path, size_t n) {\n"
    "    void *p = aligned_alloc(64, (n + 63) / 64 * 64 + 64);\n"
    "    if (!p) {\n        fprintf(stderr, \"train: out of memory\\n\");\n        exit(3);\n    }\n"
    "    FILE *f = fopen(path, \"rb\");\n"
    "    if (!f || fread(p, 1, n, f) != n) {\n"
    "        fprintf(stderr, \"train: cannot read %s\\n\", path);\n        exit(3);\n    }\n"
    "    fclose(f);\n    return p;\n}\n\n"
    "static void *zalloc(size_t n) {\n"
    "    void *p = aligned_alloc(64, (n + 63) / 64 * 64);\n"
    "    if (!p) {\n        fprintf(stderr, \"train: out of memory\\n\");\n        exit(3);\n    }\n"
    "    memset(p, 0, (n + 63) / 64 * 64);\n    return p;\n}\n\n"
    "int main(int argc, char **argv) {\n"
    "    /* weights images labels nsamples steps lr lr_final every checkpoint resume stop_after */\n"
    "    if (argc != 12) return 3;\n"
    "    int stop_after = atoi(argv[11]), done = 0;\n"
    "    int ns = atoi(argv[4]), steps = atoi(argv[5]), every = atoi(argv[8]), resume = atoi(argv[10]);\n"
    "    double lr0 = atof(argv[6]), lr1 = atof(argv[7]);\n"
    "    const char *ckpt = argv[9];\n"
    "    unsigned char *blob = load(argv[1], SEG_WEIGHTS_FILE_SIZE);\n"
    "    const void *w;\n"
    "    int st = unetrc_weights_open(blob, SEG_WEIGHTS_FILE_SIZE, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM, &w);\n"
    "    if (st) {\n        fprintf(stderr, \"train: %s\\n\", unetrc_status_str(st));\n        return 3;\n    }\n"
    "    size_t xbytes = sizeof(float) * SEG_TRAIN_IN0_COUNT, lbytes = SEG_TRAIN_LABEL_BYTES;\n"
    "    unsigned char *x = load(argv[2], xbytes * (size_t)ns), *lab = load(argv[3], lbytes * (size_t)ns);\n"
    "    unsigned char *params = zalloc(SEG_PARAMS_SIZE), *state = zalloc(SEG_STATE_SIZE), *arena = zalloc(SEG_TRAIN_ARENA_SIZE);\n"
    "    if (resume && unetrc_checkpoint_load(ckpt, params, SEG_PARAMS_SIZE, state, SEG_STATE_SIZE, SEG_MODEL_HASH) == UNETRC_OK)\n"
    "        printf(\"resumed from %s at step %.0f\\n\", ckpt, *(float *)(state + SEG_STATE_STEP_OFFSET));\n"
    "    else if (seg_train_init(w, params, state) != SEG_OK)\n        return 3;\n"
    "    int first = (int)*(float *)(state + SEG_STATE_STEP_OFFSET);\n"
    "    for (int s = first; s < steps; s++) {\n"
    "        /* cosine decay from lr to lr_final over the run */\n"
    "        float lr = (float)(lr1 + 0.5 * (lr0 - lr1) * (1 + cos(3.14159265358979 * s / (steps > 1 ? steps - 1 : 1))));\n"
    "        int i = s % ns;\n"
    "        float loss = 0, dice = 0;\n"
    "        struct timespec t0, t1;\n"
    "        clock_gettime(CLOCK_MONOTONIC, &t0);\n"
    "        int rc = seg_train_step(w, params, state, arena, (const void *)(x + xbytes * (size_t)i),\n"
    "                                (const void *)(lab + lbytes * (size_t)i), &lr, &loss, SEG_TRAIN_DICE_ARG);\n"
    "        clock_gettime(CLOCK_MONOTONIC, &t1);\n"
    "        if (rc != SEG_OK) {\n            fprintf(stderr, \"train: step returned %d\\n\", rc);\n            return 4;\n        }\n"
    "        printf(\"step %d/%d loss=%.6f dice=%.4f lr=%.3g ms=%.1f\\n\", s + 1, steps, loss, SEG_TRAIN_DICE_VALUE, lr,\n"
    "               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);\n"
    "        fflush(stdout);\n"
    "        done++;\n"
    "        int stop = stop_after > 0 && done == stop_after;\n"
    "        if ((every > 0 && (s + 1) % every == 0) || s + 1 == steps || stop) {\n"
    "            st = unetrc_checkpoint_save(ckpt, params, SEG_PARAMS_SIZE, state, SEG_STATE_SIZE, SEG_MODEL_HASH);\n"
    "            if (st) {\n                fprintf(stderr, \"train: checkpoint: %s\\n\", unetrc_status_str(st));\n                return 4;\n            }\n"
    "        }\n"
    "        if (stop) break;\n"
    "    }\n"
    "    printf(\"checkpoint %s\\n\", ckpt);\n"
    "    return 0;\n}\n";

static bool write_text(const char *path, const char *text, size_t n) {
    const char *err;
    if (!urc_write_file_atomic(path, text, n, &err)) fail(path, err);
    return true;
}

int urc_cmd_train(int argc, char **argv) {
    train_cli c = {0};
    c.t.optim = URC_OPTIM_ADAMW;
    const char *data = NULL, *outdir = "unetrc-train", *threads = NULL;
    int steps = 100, every = 0, stop_after = 0;
    double lr = 1e-3, lr_final = -1;
    bool resume = false;
    /* the options of this command, then the shared ones */
    char **rest = urc_xcalloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0;
    rest[nrest++] = argv[0];
    rest[nrest++] = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(a, "--out") && i + 1 < argc) outdir = argv[++i];
        else if (!strcmp(a, "--threads") && i + 1 < argc) threads = argv[++i];
        else if (!strcmp(a, "--steps") && i + 1 < argc) steps = (int)parse_num(a, argv[++i]);
        else if (!strcmp(a, "--checkpoint-every") && i + 1 < argc) every = (int)parse_num(a, argv[++i]);
        else if (!strcmp(a, "--stop-after") && i + 1 < argc) stop_after = (int)parse_num(a, argv[++i]);
        else if (!strcmp(a, "--lr") && i + 1 < argc) lr = parse_num(a, argv[++i]);
        else if (!strcmp(a, "--lr-final") && i + 1 < argc) lr_final = parse_num(a, argv[++i]);
        else if (!strcmp(a, "--resume")) resume = true;
        else rest[nrest++] = argv[i];
    }
    parse(&c, nrest, rest, 2);
    if (!data) usage("train needs --data DIR (NAME_image.npy and NAME_label.npy pairs)");
    if (steps < 1 || every < 0) usage("--steps must be positive and --checkpoint-every non-negative");
    if (lr_final < 0) lr_final = lr;
    urc_program *progs[2];
    urc_graph *g;
    if (!build_train_programs(&c, "seg", progs, &g)) fail(c.model, NULL);
    sample *samples;
    int ns = find_samples(data, &samples);
    /* the training step's data inputs: x (0) and label (1) */
    const urc_program *T = progs[1];
    const urc_io *xi = &T->inputs.items[0], *li = &T->inputs.items[1];
    urc_value xv = {.name = xi->name, .dtype = xi->dt, .shape = xi->shape, .has_type = true};
    urc_value lv = {.name = "label", .dtype = li->dt, .shape = li->shape, .has_type = true};
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
    const char *bdir = urc_fmt("%s/build", outdir);
    mkdir(bdir, 0755);
    urc_strbuf xs = {0}, ls = {0};
    for (int i = 0; i < ns; i++) {
        urc_tensor *x = load_as(samples[i].image, &xv, c.max_bytes, false);
        urc_tensor *l = load_as(samples[i].label, &lv, c.max_bytes, true);
        urc_sb_write(&xs, x->data, urc_tensor_bytes(x));
        urc_sb_write(&ls, l->data, urc_tensor_bytes(l));
        urc_tensor_free(x);
        urc_tensor_free(l);
    }
    write_text(urc_fmt("%s/images.bin", bdir), xs.data, xs.len);
    write_text(urc_fmt("%s/labels.bin", bdir), ls.data, ls.len);
    urc_c_opts co = {.prefix = "seg", .header_name = "seg.h", .source_name = base_of(c.model), .command = "unetrc train",
                     .model_hash = g->hash, .opset = g->opset};
    static const char *const entries[2] = {"forward", "train_step"};
    urc_strbuf src = {0}, hdr = {0}, wts = {0};
    urc_emit_c_source_multi((const urc_program *const *)progs, entries, 2, &co, &src);
    urc_emit_c_header_multi((const urc_program *const *)progs, entries, 2, &co, &hdr);
    urc_emit_weights(progs[1], &co, &wts);
    write_text(urc_fmt("%s/seg.c", bdir), src.data, src.len);
    write_text(urc_fmt("%s/seg.h", bdir), hdr.data, hdr.len);
    write_text(urc_fmt("%s/seg.weights", bdir), wts.data, wts.len);
    for (int i = 0; urc_runtime_sources[i]; i += 2)
        write_text(urc_fmt("%s/%s", bdir, urc_runtime_sources[i]), urc_runtime_sources[i + 1],
                   strlen(urc_runtime_sources[i + 1]));
    bool has_dice = T->outputs.len > 1;
    const char *harness = urc_fmt("#define SEG_TRAIN_LABEL_BYTES %lld\n#define SEG_TRAIN_DICE_ARG %s\n"
                                  "#define SEG_TRAIN_DICE_VALUE %s\n%s",
                                  (long long)(urc_shape_numel(&li->shape) * urc_dtype_size(li->dt)),
                                  has_dice ? "&dice" : "", has_dice ? "dice" : "(dice = NAN)", train_harness);
    write_text(urc_fmt("%s/train.c", bdir), harness, strlen(harness));
    /* build */
    const char *cc = c.cc ? c.cc : (getenv("CC") && *getenv("CC")) ? getenv("CC") : "cc";
    const char *flags = c.cflags ? c.cflags : "-std=c11 -O3 -march=native -mprefer-vector-width=512 -fopenmp";
    URC_VEC(char *) av = {0};
    for (char *t = strtok(urc_strdup(urc_fmt("%s %s", cc, flags)), " "); t; t = strtok(NULL, " ")) URC_VEC_PUSH(av, t);
    static const char *srcs[] = {"seg.c", "train.c", "weights.c", "checkpoint.c"};
    for (size_t i = 0; i < URC_ARRAY_LEN(srcs); i++) URC_VEC_PUSH(av, urc_fmt("%s/%s", bdir, srcs[i]));
    const char *exe = urc_fmt("%s/train", bdir);
    URC_VEC_PUSH(av, "-o");
    URC_VEC_PUSH(av, (char *)exe);
    URC_VEC_PUSH(av, "-lm");
    URC_VEC_PUSH(av, NULL);
    printf("unetrc train: %d samples, %d steps, building %s\n", ns, steps, exe);
    fflush(stdout);
    int rc = urc_run_process(av.items, urc_fmt("%s/build.log", bdir));
    if (rc != 0) fail(c.model, urc_fmt("the training program failed to build (see %s/build.log)", bdir));
    if (threads) setenv("OMP_NUM_THREADS", threads, 1);
    const char *ckpt = urc_fmt("%s/checkpoint.bin", outdir);
    char *rv[] = {(char *)exe, urc_fmt("%s/seg.weights", bdir), urc_fmt("%s/images.bin", bdir),
                  urc_fmt("%s/labels.bin", bdir), urc_fmt("%d", ns), urc_fmt("%d", steps), urc_fmt("%.9g", lr),
                  urc_fmt("%.9g", lr_final), urc_fmt("%d", every), (char *)ckpt,
                  resume ? "1" : "0", urc_fmt("%d", stop_after), NULL};
    /* The trainer dies with this process; a checkpoint it was saving when
     * it ended (CKPT.tmpPID.N) is removed. */
    urc_child_opts ro = {.temps_of = ckpt};
    rc = urc_run_child(rv, &ro);
    if (rc == 128 + SIGPIPE) {
        /* The progress lines' reader went away (`unetrc train ... | head`):
         * end as a pipeline command does, quietly, of SIGPIPE. */
        urc_cleanup_all();
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
    }
    if (rc != 0) fail(c.model, urc_fmt("training failed (exit status %d)", rc));
    return 0;
}
