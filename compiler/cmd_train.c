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
#include "unetrc.h"

typedef URC_VEC(const char *) strlist;
typedef URC_VEC(int64_t) i64list;

typedef struct train_cli {
    const char *model, *input, *label, *out;
    const char *out_c, *name; /* --train compile */
    bool embed;
    bool interp;
    strlist trainable, freeze, recompute;
    i64list label_map; /* --label-map: the label value of each class */
    bool dump_ir;      /* of the training graph */
    bool dump_loops;   /* of the training program */
    const char *dump_after;
    urc_train_opts t;
    uint64_t max_bytes;
    const char *cc, *cflags;
    const char *weights;         /* --weights: a MONAI config's state_dict */
    URC_VEC(urc_input_pin) pins; /* --input-shape */
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
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) urc_cli_help(first == 1 ? "--train" : argv[1]);
        else if (!strcmp(a, "--version")) {
            printf("unetrc %s\n", URC_VERSION);
            exit(0);
        } else if (!strcmp(a, "--train")) continue;
        else if (!strcmp(a, "-o")) c->out_c = NEXT();
        else if (!strcmp(a, "--name")) c->name = NEXT();
        else if (!strcmp(a, "--weights")) c->weights = NEXT();
        else if (!strcmp(a, "--input-shape")) {
            urc_input_pin pin = urc_cli_parse_pin(NEXT());
            URC_VEC_PUSH(c->pins, pin);
        } else if (!strcmp(a, "--embed-weights")) c->embed = true;
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
        else if (!strcmp(a, "--dump-loops")) c->dump_loops = true;
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
        } else if (!strcmp(a, "--label-map")) {
            const char *v = NEXT();
            c->label_map.len = 0;
            for (const char *p = v;; p++) {
                char *end;
                errno = 0;
                long long x = strtoll(p, &end, 10);
                if (errno || end == p || (*end && *end != ',') || *p == ' ' || *p == '+')
                    usage("--label-map wants integers V0,V1,... (class i is label value Vi), got '%s'", v);
                for (int k = 0; k < c->label_map.len; k++)
                    if (c->label_map.items[k] == x) usage("--label-map lists the label value %lld twice", x);
                URC_VEC_PUSH(c->label_map, (int64_t)x);
                if (!*end) break;
                p = end;
            }
        } else if (a[0] == '-') usage("unknown option '%s'", a);
        else if (!c->model) c->model = a;
        else usage("unexpected argument '%s'", a);
#undef NEXT
    }
    if (!c->model) usage("no model given");
    c->t.recompute = c->recompute.items;
    c->t.nrecompute = c->recompute.len;
    c->t.loss.label_map = c->label_map.items;
    c->t.loss.nlabel_map = c->label_map.len;
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

int urc_cmd_grad(int argc, char **argv) {
    train_cli c = {0};
    parse(&c, argc, argv, 2);
    if (!c.input || !c.label || !c.out) usage("grad needs --input X.npy, --label L.npy and --out DIR");
    urc_options o = {.import = {.max_bytes = c.max_bytes,
                                .trainable = is_trainable,
                                .trainable_ctx = &c,
                                .weights = c.weights,
                                .pins = c.pins.items,
                                .npins = c.pins.len},
                     .align = 64,
                     .train = &c.t};
    urc_diag_reset(c.model);
    urc_graph *g = urc_build_graph(c.model, &o);
    if (!g) fail(c.model, NULL);
    /* The gradient files must not write over what grad reads (the model,
     * its external data, --input, --label in the --out folder) nor each other. */
    urc_cli_file *gouts = urc_alloc(sizeof(urc_cli_file) * ((size_t)g->inputs.len + 1));
    int ngout = 0;
    for (int i = 0; i < g->inputs.len; i++)
        if (g->inputs.items[i]->flags & URC_VAL_PARAM)
            gouts[ngout++] = (urc_cli_file){urc_fmt("%s/%s.npy", c.out, file_name(g->inputs.items[i]->name)),
                                            urc_fmt("the gradient of '%s'", g->inputs.items[i]->name)};
    urc_cli_file gins[3] = {{c.model, "the model"}, {c.input, "the --input file"}, {c.label, "the --label file"}};
    urc_cli_check_outputs(gouts, ngout, gins, 3);
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
            ins[i] = load_label(c.label, v, g, c.label_map.len > 0, c.max_bytes);
        } else {
            if (ndata++) fail(c.model, "grad supports models with one data input");
            ins[i] = load_input(c.input, v, c.max_bytes);
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
    struct stat st;
    if (mkdir(c.out, 0755) != 0 && errno != EEXIST)
        fail(c.out, urc_fmt("cannot create the output folder: %s", strerror(errno)));
    if (stat(c.out, &st) != 0 || !S_ISDIR(st.st_mode)) fail(c.out, "cannot create the output folder: Not a directory");
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
    urc_options oi = {.import = {.max_bytes = c->max_bytes,
                                 .trainable = is_trainable,
                                 .trainable_ctx = c,
                                 .weights = c->weights,
                                 .pins = c->pins.items,
                                 .npins = c->pins.len},
                      .align = 64,
                      .param_regions = true};
    urc_diag_reset(c->model);
    urc_graph *gi = urc_build_graph(c->model, &oi);
    if (!gi) return false;
    progs[0] = urc_build_program(gi, name, &oi, NULL);
    if (!progs[0]) return false;
    urc_options ot = oi;
    ot.train = &c->t;
    ot.share = progs[0];
    ot.dump_ir = c->dump_ir;
    ot.dump_loops = c->dump_loops;
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
    urc_cli_file outs[3], model = {c.model, "the model"};
    int nout = urc_cli_compile_outputs(c.out_c, c.embed, outs);
    urc_cli_check_outputs(outs, nout, &model, 1);
    /* the same prefix rules as a plain compile: "9x.c" must not give 9x_train_step */
    const char *name = c.name ? c.name : urc_cli_default_name(c.out_c);
    if (!urc_cli_valid_ident(name)) usage("--name '%s' is not a C identifier", name);
    urc_program *progs[2];
    urc_graph *g;
    if (!build_train_programs(&c, name, progs, &g)) fail(c.model, NULL);
    urc_cli_check_external(g, outs, nout);
    const char *stem = stem_of(c.out_c);
    const char *h_path = urc_fmt("%s.h", stem), *w_path = urc_fmt("%s.weights", stem);
    urc_c_opts co = {.prefix = name,
                     .header_name = base_of(h_path),
                     .source_name = base_of(c.model),
                     .command = "unetrc --train",
                     .model_hash = g->hash,
                     .opset = g->opset,
                     .embed_weights = c.embed};
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
    uint64_t ps = (uint64_t)(T->params_bytes ? T->params_bytes : T->align);
    uint64_t ss = (uint64_t)(T->state_bytes ? T->state_bytes : T->align);
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
    /* the training step's data inputs: x (0), label (1) and lr (2) */
    const urc_program *T = progs[1];
    if (T->inputs.len != 3 || !T->label_values || T->label_input != 1)
        fail(c.model, "train supports models with one data input");
    const char *ckpt = urc_fmt("%s/checkpoint.bin", outdir);
    check_checkpoint(ckpt, resume, T, g->hash);
    /* Every sample is read and checked before anything is written. */
    sample *samples;
    int ns = find_samples(data, &samples);
    const urc_io *xi = &T->inputs.items[0], *li = &T->inputs.items[1];
    urc_value xv = {.name = xi->name, .dtype = xi->dt, .shape = xi->shape, .has_type = true};
    urc_value lv = {.name = "label", .dtype = li->dt, .shape = li->shape, .has_type = true};
    urc_strbuf xs = {0}, ls = {0};
    for (int i = 0; i < ns; i++) {
        urc_tensor *x = load_input(samples[i].image, &xv, c.max_bytes);
        urc_tensor *l = load_label(samples[i].label, &lv, g, c.label_map.len > 0, c.max_bytes);
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
    const char *bdir = urc_fmt("%s/build", outdir);
    mkdir(bdir, 0755);
    write_text(urc_fmt("%s/images.bin", bdir), xs.data, xs.len);
    write_text(urc_fmt("%s/labels.bin", bdir), ls.data, ls.len);
    urc_c_opts co = {.prefix = "seg",
                     .header_name = "seg.h",
                     .source_name = base_of(c.model),
                     .command = "unetrc train",
                     .model_hash = g->hash,
                     .opset = g->opset};
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
                  resume ? "1" : "0",
                  urc_fmt("%d", stop_after),
                  NULL};
    /* The trainer dies with this process; a checkpoint it was saving when
     * it ended (CKPT.tmpPID.N) is removed. */
    urc_child_opts ro = {.temps_of = ckpt};
    rc = urc_run_child(rv, &ro);
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
    if (rc != 0) fail(c.model, urc_fmt("training failed (exit status %d)", rc));
    return 0;
}
