/* driver.c: runs the passes in order (see driver.h). */
#include "driver.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/diag.h"
#include "base/npy.h"
#include "passes/lower_pass.h"
#include "passes/passes.h"
#include "autodiff/training.h"
#include "calibrate.h"
#include "frontend/monai_config.h"

typedef struct pass_ctx {
    urc_graph *g;
    const urc_options *o;
    const char *path; /* the model file, or NULL (a graph built in memory) */
} pass_ctx;

static bool p_order(pass_ctx *c) { return urc_graph_toposort(c->g); }
static bool p_infer(pass_ctx *c) {
    return urc_pass_infer(c->g, !c->o->no_fold, c->o->import.max_bytes) && urc_pass_check_outputs(c->g);
}
static bool p_dce(pass_ctx *c) { return urc_pass_dce(c->g); }
static bool p_einsum(pass_ctx *c) { return urc_pass_einsum_to_matmul(c->g); }
static bool p_reinfer(pass_ctx *c) { return urc_pass_infer(c->g, false, c->o->import.max_bytes); }
static bool p_acts(pass_ctx *c) { return urc_pass_act_patterns(c->g); }
static bool p_norms(pass_ctx *c) { return urc_pass_norm_patterns(c->g); }
static bool p_fuse(pass_ctx *c) { return urc_pass_fuse_matmul(c->g); }
static bool p_attention(pass_ctx *c) { return urc_pass_attention(c->g); }
/* Training: loss, backward pass (and optimizer) appended to the canonical
 * graph, before fusion and layout so those see forward and backward alike. */
static bool p_train(pass_ctx *c) { return !c->o->train || urc_build_training(c->g, c->o->train); }
static bool p_layout(pass_ctx *c) { return urc_pass_layout(c->g); }
static bool p_fuseconv(pass_ctx *c) { return urc_pass_fuse_conv(c->g); }
/* fusenorm runs before fuseconv: in Add(norm(a), conv(b)) [-> act] the norm
 * epilogue takes the Add and the activation (one pass), where the conv
 * epilogue would take the Add and leave the activation as a pass of its own. */
static bool p_fusenorm(pass_ctx *c) { return urc_pass_fuse_norm(c->g); }
static bool p_convweights(pass_ctx *c) { return urc_pass_conv_weights(c->g); }
static bool p_normhead(pass_ctx *c) { return urc_pass_norm_head(c->g) >= 0; }
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The .npy files of directory dir in name order (NULL after reporting, when `report`). */
static char **calibration_files(const char *dir, int *n, bool report) {
    DIR *d = opendir(dir);
    if (!d) {
        if (report) urc_error(dir, "--calibrate: cannot read the directory: %s", strerror(errno));
        return NULL;
    }
    URC_VEC(char *) files = {0};
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".npy")) continue;
        const char *path = urc_fmt("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) || !S_ISREG(st.st_mode)) continue;
        URC_VEC_PUSH(files, urc_strdup(path));
    }
    closedir(d);
    if (!files.len) {
        if (report) urc_error(dir, "--calibrate: the directory holds no .npy file");
        return NULL;
    }
    qsort(files.items, (size_t)files.len, sizeof(char *), cmp_str);
    *n = files.len;
    return files.items;
}

const char *urc_calibration_key(const char *dir) {
    int n;
    char **files = calibration_files(dir, &n, false);
    if (!files) return "none";
    uint64_t h = URC_FNV_INIT;
    for (int i = 0; i < n; i++) {
        size_t size = 0;
        const char *err;
        void *data = urc_read_file(files[i], &size, (size_t)1 << 40, &err);
        const char *base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i]; /* (not the folder) */
        h = urc_fnv1a64(base, strlen(base) + 1, h);
        if (data) h = urc_fnv1a64(data, size, h);
        free(data);
    }
    return urc_fmt("%d:%016llx", n, (unsigned long long)h);
}

/* --calibrate DIR: every .npy file a float32 sample of the graph's one input (NULL after reporting). */
static urc_tensor **calibration_samples(const urc_graph *g, const urc_options *o, int *n) {
    if (g->inputs.len != 1) {
        urc_error(o->calibrate, "--calibrate: the model has %d inputs; int8 calibration needs a model with one input",
                  g->inputs.len);
        return NULL;
    }
    const urc_value *in = g->inputs.items[0];
    if (in->dtype != URC_DT_F32) {
        urc_error(o->calibrate, "--calibrate: the model's input '%s' is %s; int8 calibration needs a float32 input",
                  in->name, urc_dtype_name(in->dtype));
        return NULL;
    }
    char **files = calibration_files(o->calibrate, n, true);
    if (!files) return NULL;
    urc_tensor **t = urc_xcalloc((size_t)*n + 1, sizeof(urc_tensor *));
    for (int i = 0; i < *n; i++) {
        const char *err = NULL, *f = files[i];
        t[i] = urc_npy_read(f, o->import.max_bytes, &err);
        if (!t[i]) urc_error(f, "%s", err);
        else if (t[i]->dtype != URC_DT_F32)
            urc_error(f, "--calibrate: input '%s' expects float32, the file has %s", in->name,
                      urc_dtype_name(t[i]->dtype));
        else if (!urc_shape_eq(&t[i]->shape, &in->shape))
            urc_error(f, "--calibrate: input '%s' expects shape %s, the file has %s", in->name,
                      urc_shape_str(&in->shape), urc_shape_str(&t[i]->shape));
        else {
            const float *x = t[i]->data;
            int64_t ne = urc_tensor_numel(t[i]), j = 0;
            while (j < ne && isfinite(x[j])) j++;
            if (j == ne) continue;
            urc_error(f, "--calibrate: element %lld is %s", (long long)j, isnan(x[j]) ? "NaN" : "infinite");
        }
        for (int k = 0; k <= i; k++) urc_tensor_free(t[k]);
        free(t);
        return NULL;
    }
    return t;
}

/* Below this many multiply-adds over all samples the interpreter calibrates (~0.1 GMAC/s: under ~20 s)
 * rather than build the model's code (tens of seconds of the C compiler on UNETR-sized models). */
#define CALIBRATE_INTERP_MACS 2000000000LL

/* urc_range_fn by the model's compiled float32 code (calibrate.h); ctx: the pass context. */
static bool compiled_ranges(void *ctx, urc_graph *g, urc_tensor *const *samples, int n, urc_value *const *w, int nw,
                            double *lo, double *hi) {
    (void)g;
    const pass_ctx *c = ctx;
    return urc_calibrate_compiled(c->path, c->o, w, nw, samples, n, lo, hi);
}

/* int8: the activations' ranges, then the FakeQuant nodes. The ranges come from compiled code when the model
 * came from a file and is large (or UNETRC_CALIBRATE=compiled), else from the interpreter (or
 * UNETRC_CALIBRATE=interp). */
static bool calibrate(pass_ctx *c, urc_tensor *const *samples, int n) {
    const char *e = getenv("UNETRC_CALIBRATE");
    urc_stats st;
    urc_graph_stats(c->g, &st);
    bool compiled = c->path && (e && *e ? !strcmp(e, "compiled") : st.macs * n >= CALIBRATE_INTERP_MACS);
    return urc_precision_calibrate(c->g, samples, n, compiled ? compiled_ranges : NULL, c);
}

/* --precision, --keep-fp32: marks the nodes whose weights lowering stores reduced (passes/precision.c);
 * int8: calibrates the activations on --calibrate's samples. */
static bool p_precision(pass_ctx *c) {
    const urc_options *o = c->o;
    urc_dtype dt = o->precision ? o->precision : URC_DT_F32;
    int unused, n = 0;
    urc_tensor **samples = NULL;
    if (dt == URC_DT_I8) {
        URC_ASSERT(o->calibrate, "--precision int8 without --calibrate (the command line checks)");
        if (!(samples = calibration_samples(c->g, o, &n))) return false;
    }
    int marked = urc_pass_precision(c->g, dt, o->keep_fp32, o->nkeep_fp32, o->reduce_head, &unused);
    bool ok = unused < 0;
    if (!ok)
        urc_error(NULL, "--keep-fp32 '%s' matches no convolution or matrix product with constant float32 weights",
                  o->keep_fp32[unused]);
    if (ok && marked && samples) ok = calibrate(c, samples, n);
    if (ok && marked && samples) urc_precision_int8_levels(c->g, &o->target); /* (the ops say where: AMX, VNNI) */
    /* --bf16-exact: the data first (those products then read float32 data: no Cast before them), the weights where
     * the kernels the Casts leave take them */
    bool exact = ok && marked && dt == URC_DT_BF16 && urc_target_amx(&o->target) && o->bf16_exact;
    if (exact) urc_precision_bf16_exact(c->g, &o->target, (unsigned)o->bf16_exact & URC_EXACT_X);
    if (ok && marked && dt == URC_DT_BF16 && urc_target_dot2(&o->target)) urc_precision_bf16_operands(c->g, &o->target);
    if (exact) urc_precision_bf16_exact(c->g, &o->target, (unsigned)o->bf16_exact & URC_EXACT_W);
    /* the norms' fusions with the tile (bf16 on AMX) or int8 (AMX, VNNI) convolutions; the ops say which they take */
    bool tiles = dt == URC_DT_BF16 ? urc_target_amx(&o->target)
                                   : samples && (urc_target_amx(&o->target) || urc_target_vnni(&o->target));
    if (ok && marked && tiles) {
        urc_pass_norm_stats(c->g, &o->target);
        urc_pass_norm_pointwise(c->g, &o->target);
        urc_pass_norm_into_conv(c->g, &o->target);
    }
    for (int i = 0; i < n; i++) urc_tensor_free(samples[i]);
    free(samples);
    return ok;
}

/* The one table of passes, in order: "import" (the frontend, run before
 * the table) names the graph as imported for --dump-after. Canonicalisation
 * (einsum, acts, norms) and fusion/layout passes may add nodes; each leaves
 * the node list topologically ordered and types what it creates, and
 * `reinfer` re-checks everything before the final cleanup. An `opt` pass is
 * an optimisation -O0 skips (no fusion or layout: the plain graph). */
static const struct {
    const char *name;
    bool (*run)(pass_ctx *);
    bool opt;
} passes[] = {
    {"import", NULL, false},
    {"order", p_order, false},
    {"infer", p_infer, false},
    {"dce", p_dce, false},
    {"einsum", p_einsum, false},
    {"acts", p_acts, true},
    {"norms", p_norms, true},
    {"train", p_train, false},
    {"fuse", p_fuse, true},
    {"attention", p_attention, true},
    {"layout", p_layout, true},
    {"fusenorm", p_fusenorm, true},
    {"fuseconv", p_fuseconv, true},
    {"convweights", p_convweights, true},
    {"reinfer", p_reinfer, false},
    {"cleanup", p_dce, false},
    {"precision", p_precision, false},
    {"normhead", p_normhead, true},
};

const char *urc_pass_name(int i) { return i >= 0 && i < (int)URC_ARRAY_LEN(passes) ? passes[i].name : NULL; }

static void dump(const urc_graph *g, const char *after) {
    urc_strbuf sb = {0};
    urc_sb_printf(&sb, "; IR after %s\n", after);
    urc_graph_print(g, &sb);
    fputs(sb.data, stdout);
    fflush(stdout);
    urc_sb_free(&sb);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

urc_graph *urc_load_graph(const char *path, const urc_options *o) {
    bool config = ends_with(path, ".json");
    if (!config && o->import.weights) {
        urc_error(o->import.weights, "--weights is for MONAI configs (MODEL.json); an ONNX model holds its weights");
        return NULL;
    }
    urc_graph *g = config ? urc_config_load(path, &o->import) : urc_onnx_load(path, &o->import);
    if (!g) return NULL;
    g->param_regions = o->param_regions;
    return g;
}

/* The passes of the table in order (the "import" entry, run == NULL, is the frontend: dumped here too). */
static bool optimise(urc_graph *g, const urc_options *o, const char *path) {
    pass_ctx c = {g, o, path};
    for (size_t i = 0; i < URC_ARRAY_LEN(passes); i++) {
        bool run = passes[i].run && !(passes[i].opt && o->no_opt);
        if (run && (!passes[i].run(&c) || !urc_graph_verify(g, passes[i].name))) return false;
        if (o->dump_after && !strcmp(o->dump_after, passes[i].name)) dump(g, passes[i].name);
    }
    if (o->dump_ir) dump(g, "all passes");
    return true;
}

bool urc_optimise_graph(urc_graph *g, const urc_options *o) { return optimise(g, o, NULL); }

urc_graph *urc_build_graph(const char *path, const urc_options *o) {
    urc_graph *g = urc_load_graph(path, o);
    return g && optimise(g, o, path) ? g : NULL;
}

/* Optimizer updates overwrite parameters and state in place: they run after
 * every other node (nothing reads their outputs), so each parameter is read
 * by the forward and backward kernels before it changes. */
static int schedule_updates_last(urc_graph *g) {
    int k = 0, n = g->nodes.len;
    urc_node **tail = urc_xmalloc(sizeof(urc_node *) * ((size_t)n + 1));
    int nt = 0;
    for (int i = 0; i < n; i++) {
        urc_node *node = g->nodes.items[i];
        bool update = false;
        for (int j = 0; j < node->nout; j++) update |= node->out[j] && (node->out[j]->flags & URC_VAL_UPDATE);
        if (update) tail[nt++] = node;
        else g->nodes.items[k++] = node;
    }
    for (int i = 0; i < nt; i++) g->nodes.items[k++] = tail[i];
    free(tail);
    return nt;
}

urc_program *urc_build_program(urc_graph *g, const char *name, const urc_options *o, urc_memplan **plan_out) {
    urc_target host;
    const urc_target *t = &o->target;
    if (!t->name) {
        urc_target_lookup("host", &host);
        t = &host;
    }
    urc_memplan_scratch(g, t);
    /* a training graph keeps its order (the updates last); otherwise the smaller arena's (passes/schedule.c) */
    urc_memplan *plan =
        schedule_updates_last(g) || o->no_opt ? urc_memplan_run(g, o->align) : urc_schedule_for_memory(g, o->align);
    if (plan_out) *plan_out = plan;
    urc_program *P = urc_lower_graph(g, plan, name, o->align, t, o->share);
    if (!P) return NULL;
    if (o->float_only || (t->features & URC_FEAT_NO_FP64)) urc_program_float_only(P);
    urc_program_schedule(P);
    if (!urc_program_verify(P)) return NULL;
    if (o->dump_loops) {
        urc_strbuf sb = {0};
        urc_program_print(P, &sb);
        fputs(sb.data, stdout);
        fflush(stdout);
        urc_sb_free(&sb);
    }
    urc_stats s;
    urc_graph_stats(g, &s);
    P->macs = s.macs;
    return P;
}

void urc_graph_stats(const urc_graph *g, urc_stats *s) {
    memset(s, 0, sizeof *s);
    s->nodes = g->nodes.len;
    for (int i = 0; i < g->nodes.len; i++) {
        const urc_node *n = g->nodes.items[i];
        s->op_count[n->op]++;
        const urc_value *y = n->out[0];
        if (!y) continue;
        if (urc_ops[n->op].impl->macs) s->macs += urc_ops[n->op].impl->macs(n);
    }
    urc_map seen = {0};
    for (int i = 0; i < g->nodes.len; i++) {
        const urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++) {
            const urc_value *v = n->in[j];
            if (!v || !v->data || !urc_dtype_is_float(v->dtype) || urc_map_get(&seen, v->name)) continue;
            urc_map_put(&seen, v->name, (void *)v);
            int64_t e = urc_shape_numel(&v->shape);
            if (e <= 1) continue; /* scalars are literals, not parameters */
            s->params += e;
            s->param_bytes += e * urc_dtype_size(v->dtype);
        }
    }
    urc_map_free(&seen);
}
