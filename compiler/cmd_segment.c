/* cmd_segment.c: `unetrc segment MODEL.onnx --image FILE... --output
 * LABELS.nii.gz [...]`: a whole scan to a label map (docs/segment.md).
 *
 * The model is compiled once into a shared object kept in a cache
 * (seg_cache.c) and loaded into this process; the scan is read with
 * unetrc_io (NIfTI, or .npy), pre-processed, run window by window with the
 * runtime's MONAI-exact sliding window (unetrc_sw.h) calling the compiled
 * forward, post-processed (unetrc_prepost.h) and written: every output goes
 * to a temporary file first and all are renamed into place together at the
 * end (urc_outfile_commit_all), so a failure leaves nothing behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/npy.h"
#include "base/proc.h"
#include "cmd_segment.h"
#include "seg_cache.h"
#include "unetrc_io.h"
#include "unetrc_prepost.h"
#include "unetrc_sw.h"

#define usage_error urc_cli_usage_error
#define fail urc_cli_fail

typedef urc_cli seg_cli;

/* ---- options ---------------------------------------------------------------------- */

#define has_suffix urc_cli_has_suffix
static bool is_nifti(const char *p) { return has_suffix(p, ".nii") || has_suffix(p, ".nii.gz"); }
static bool is_npy(const char *p) { return has_suffix(p, ".npy"); }

/* What the options say together (the parser checked each: cli.c). */
static void check_options(seg_cli *c) {
    if (!c->images.len) usage_error("segment needs --image FILE (one per channel file)");
    if (!c->outputs.len) usage_error("segment needs --output LABELS.nii.gz");
    int kinds = 0;
    for (int i = 0; i < c->images.len; i++) {
        const char *p = c->images.items[i];
        if (!is_nifti(p) && !is_npy(p)) usage_error("--image wants a .nii, .nii.gz or .npy file, got '%s'", p);
        kinds |= is_npy(p) ? 2 : 1;
    }
    if (kinds == 3) usage_error("--image files must be all NIfTI or all .npy");
    const char *outs[3] = {c->outputs.items[c->outputs.len - 1], c->logits, c->probs},
               *names[3] = {"--output", "--logits", "--probabilities"};
    for (int k = 0; k < 3; k++)
        if (outs[k] && !is_nifti(outs[k]) && !is_npy(outs[k]))
            usage_error("%s wants a .nii, .nii.gz or .npy file, got '%s'", names[k], outs[k]);
    if (c->slice_axis_given && !c->slices) usage_error("--slice-axis goes with --slices K");
    if (c->threshold && c->n_labels)
        usage_error("--labels maps the classes of argmax; it does not go with --sigmoid-threshold");
}

/* ---- outputs ------------------------------------------------------------------------ */

static int sink(void *ctx, const void *data, size_t n) {
    urc_outfile_write(ctx, data, n); /* a write error is kept and reported by the commit */
    return 0;
}

/* Writes float32 [channels][S...] or uint8 data as NIfTI or .npy. */
static void write_volume(urc_outfile *f, const char *path, const void *data, bool u8, int64_t channels,
                         const unetrc_nifti_geometry *g, int sdims) {
    char err[1024];
    if (is_npy(path)) {
        urc_tensor t = {u8 ? URC_DT_U8 : URC_DT_F32, {0}, (void *)data};
        if (channels > 1 || !u8) t.shape.dims[t.shape.rank++] = channels;
        for (int a = 0; a < sdims; a++) t.shape.dims[t.shape.rank++] = g->dim[a];
        urc_strbuf sb = {0};
        urc_npy_format(&t, &sb);
        urc_outfile_write(f, sb.data, sb.len);
        urc_sb_free(&sb);
        return;
    }
    unetrc_status st = u8 ? unetrc_nifti_encode_u8(path, data, channels, g, sink, f, err, sizeof err)
                          : unetrc_nifti_encode_f32(path, data, channels, g, sink, f, err, sizeof err);
    if (st != UNETRC_OK) fail(NULL, err);
}

/* ---- inputs ------------------------------------------------------------------------- */

/* .npy images: [S...] (one channel) or [C, S...] each, float32 after
 * conversion, channels concatenated (want_c of them; any when 0); a plain
 * geometry (1 mm voxels, no qform or sform). */
static void read_npy_images(const seg_cli *c, int sdims, int64_t want_c, unetrc_volume *vol) {
    memset(vol, 0, sizeof *vol);
    int64_t total = 0, dims[3] = {1, 1, 1};
    urc_tensor **ts = urc_alloc(sizeof(urc_tensor *) * (size_t)c->images.len);
    for (int i = 0; i < c->images.len; i++) {
        const char *p = c->images.items[i], *err;
        urc_tensor *t = urc_npy_read(p, c->opt.import.max_bytes, &err);
        if (!t) fail(p, err);
        int r = t->shape.rank;
        if (r != sdims && r != sdims + 1)
            fail(p, urc_fmt("%s: an image .npy must have shape [%s] or [C,%s], not %s",
                            c->slices    ? "--slices runs over volumes"
                            : sdims == 3 ? "the model is 3D"
                                         : "the model is 2D",
                            sdims == 3 ? "D,H,W" : "H,W", sdims == 3 ? "D,H,W" : "H,W", urc_shape_str(&t->shape)));
        for (int a = 0; a < sdims; a++) {
            int64_t d = t->shape.dims[r - sdims + a];
            if (d < 1) fail(p, urc_fmt("empty image %s", urc_shape_str(&t->shape)));
            if (i && d != dims[a])
                fail(p,
                     urc_fmt("spatial shape %s differs from that of %s", urc_shape_str(&t->shape), c->images.items[0]));
            dims[a] = d;
        }
        if (!urc_dtype_is_float(t->dtype) && !urc_dtype_is_int(t->dtype) && t->dtype != URC_DT_BOOL)
            fail(p, urc_fmt("unsupported dtype %s", urc_dtype_name(t->dtype)));
        total += r > sdims ? t->shape.dims[0] : 1;
        ts[i] = t;
    }
    if (want_c && total != want_c) {
        urc_strbuf sb = {0};
        for (int i = 0; i < c->images.len; i++)
            urc_sb_printf(&sb, "%s%s: %lld", i ? ", " : "", c->images.items[i],
                          (long long)(ts[i]->shape.rank > sdims ? ts[i]->shape.dims[0] : 1));
        fail(c->model, urc_fmt("the model takes %lld input channels, the images have %lld (%s)", (long long)want_c,
                               (long long)total, sb.data));
    }
    int64_t vox = dims[0] * dims[1] * dims[2];
    vol->data = malloc((size_t)(total * vox) * sizeof(float));
    if (!vol->data) urc_out_of_memory((size_t)(total * vox) * sizeof(float));
    vol->channels = total;
    int64_t at = 0;
    for (int i = 0; i < c->images.len; i++) {
        int64_t n = urc_tensor_numel(ts[i]);
        for (int64_t k = 0; k < n; k++) {
            double x = urc_dtype_is_float(ts[i]->dtype) ? urc_elem_f64(ts[i]->dtype, ts[i]->data, k)
                                                        : (double)urc_elem_i64(ts[i]->dtype, ts[i]->data, k);
            if (!isfinite(x) || fabs(x) > 3.4028234663852886e38)
                fail(c->images.items[i], urc_fmt("element %lld is %s", (long long)k,
                                                 isnan(x)   ? "NaN"
                                                 : isinf(x) ? "infinite"
                                                            : "beyond float32"));
            vol->data[at++] = (float)x;
        }
        urc_tensor_free(ts[i]);
    }
    unetrc_nifti_geometry *g = &vol->geom;
    g->version = 1;
    g->spatial_rank = sdims;
    g->ndim = sdims;
    for (int a = 0; a < 3; a++) g->dim[a] = dims[a];
    g->pixdim[0] = g->pixdim[1] = g->pixdim[2] = g->pixdim[3] = 1;
    for (int a = 0; a < 4; a++) g->qform[a][a] = g->sform[a][a] = g->affine[a][a] = 1;
}

/* ---- progress ----------------------------------------------------------------------- */

typedef struct progress {
    bool tty, quiet;
    double start, last;
} progress;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int on_window(void *ctx, int64_t done, int64_t total) {
    progress *p = ctx;
    double t = now();
    if (!p->tty || p->quiet || (done < total && t - p->last < 0.2)) return 0;
    p->last = t;
    double el = t - p->start, eta = done ? el / (double)done * (double)(total - done) : 0;
    fprintf(stderr, "\rsegment: window %lld/%lld (%d%%), %.1f s elapsed, ETA %.1f s\033[K", (long long)done,
            (long long)total, (int)(100 * done / total), el, eta);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
    return 0;
}

typedef struct predictor {
    int (*forward)(const void *, void *, const float *, float *);
    const void *weights;
    void *arena;
    int status;
} predictor;

static int predict(void *ctx, const float *in, float *out) {
    predictor *p = ctx;
    p->status = p->forward(p->weights, p->arena, in, out);
    return p->status;
}

static void *aligned(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0) urc_out_of_memory(n);
    return p;
}

/* ---- the command --------------------------------------------------------------------- */

int urc_cmd_segment(urc_cli *cli) {
    seg_cli c = *cli;
    check_options(&c);
    const char *output = c.outputs.items[c.outputs.len - 1];

    /* Outputs may not collide or replace an input; their temporary files
     * exist from here on (a missing folder fails now, not after the run). */
    urc_cli_file outs[4], *ins = urc_alloc(sizeof(urc_cli_file) * (size_t)(1 + c.images.len));
    int nout = 0, nin = 0;
    outs[nout++] = (urc_cli_file){output, urc_fmt("--output '%s'", output)};
    if (c.logits) outs[nout++] = (urc_cli_file){c.logits, urc_fmt("--logits '%s'", c.logits)};
    if (c.probs) outs[nout++] = (urc_cli_file){c.probs, urc_fmt("--probabilities '%s'", c.probs)};
    if (c.png) outs[nout++] = (urc_cli_file){c.png, urc_fmt("--png '%s'", c.png)};
    ins[nin++] = (urc_cli_file){c.model, "the model"};
    for (int i = 0; i < c.images.len; i++) ins[nin++] = (urc_cli_file){c.images.items[i], "the --image file"};
    urc_cli_check_outputs(outs, nout, ins, nin);
    urc_cli_outset set = {0};
    urc_outfile *f_out = urc_cli_out_open(&set, output);
    urc_outfile *f_logits = c.logits ? urc_cli_out_open(&set, c.logits) : NULL;
    urc_outfile *f_probs = c.probs ? urc_cli_out_open(&set, c.probs) : NULL;
    urc_outfile *f_png = c.png ? urc_cli_out_open(&set, c.png) : NULL;

    /* The compiled model. */
    urc_seg_cache_opts co = {.model = c.model,
                             .cache_dir = c.cache,
                             .cc = c.cc,
                             .cflags = c.cflags,
                             .opt = &c.opt,
                             .command = c.command,
                             .backend = c.backend};
    urc_seg_model m;
    double t0 = now();
    if (!urc_seg_load(&co, &m)) fail(NULL, NULL);
    double t_load = now() - t0;
    const int64_t cin = m.in_shape[1], cout = m.out_shape[1];
    /* A 2.5D run (--slices) reads a volume for a 2D model: sdims are the
     * model's spatial axes (what --overlap, --sigma-scale and --flip-tta
     * count), vdims the scan's. */
    const int sdims = m.rank - 2, vdims = c.slices ? 3 : sdims;
    if (c.slices && sdims != 2) usage_error("--slices runs a 2D model slice by slice; the model is %dD", sdims);
    if (c.slices && cin % c.slices)
        usage_error("--slices %d: the model takes %lld input channels, not a multiple of %d", c.slices, (long long)cin,
                    c.slices);
    const int64_t img_c = c.slices ? cin / c.slices : cin; /* channels of the scan */

    /* Options that depend on the model. */
    if (c.n_overlap != 1 && c.n_overlap != sdims)
        usage_error("--overlap: %d values for a model with %d spatial axes", c.n_overlap, sdims);
    if (c.n_sigma != 1 && c.n_sigma != sdims)
        usage_error("--sigma-scale: %d values for a model with %d spatial axes", c.n_sigma, sdims);
    unsigned flip_axes = 0;
    for (int k = 0; k < c.n_flip; k++) {
        if (c.flip[k] >= sdims) usage_error("--flip-tta: axis %d, but the model has %d spatial axes", c.flip[k], sdims);
        flip_axes |= 1u << c.flip[k];
    }
    if (c.n_labels && c.n_labels != cout)
        usage_error("--labels: %d values for a model with %lld output channels", c.n_labels, (long long)cout);
    if (!c.n_labels && !c.threshold && cout > 256)
        fail(c.model, urc_fmt("the model has %lld output channels: argmax labels go up to 255", (long long)cout));

    /* The scan, channel first. */
    unetrc_volume vol;
    if (is_npy(c.images.items[0])) {
        read_npy_images(&c, vdims, c.slices ? 0 : cin, &vol);
    } else {
        char err[1024];
        unetrc_nifti_read_options ro = {
            .spatial_rank = vdims, .max_bytes = c.opt.import.max_bytes, .expect_channels = c.slices ? 0 : cin};
        if (unetrc_nifti_read(c.images.items, c.images.len, &ro, &vol, err, sizeof err) != UNETRC_OK) fail(NULL, err);
    }
    if (c.slices && vol.channels != img_c) /* (without --slices the readers checked cin) */
        fail(c.model,
             urc_fmt("the model takes %lld input channels = --slices %d x %lld image channel%s; the images "
                     "have %lld",
                     (long long)cin, c.slices, (long long)img_c, img_c == 1 ? "" : "s", (long long)vol.channels));
    const unetrc_nifti_geometry geom = vol.geom, *g = &geom;
    const int64_t V = g->dim[0] * g->dim[1] * g->dim[2];

    /* The picture shows the first channel as read. */
    float *png_image = NULL;
    if (c.png) {
        png_image = malloc((size_t)V * sizeof(float));
        if (!png_image) urc_out_of_memory((size_t)V * sizeof(float));
        memcpy(png_image, vol.data, (size_t)V * sizeof(float));
    }

    /* Pre-processing, MONAI's transforms in this order. */
    if (c.scale)
        unetrc_scale_intensity_range(vol.data, img_c * V, c.scale_v[0], c.scale_v[1], c.scale_v[2], c.scale_v[3],
                                     c.clip);
    if (c.normalize) unetrc_normalize_intensity(vol.data, img_c, V, 1, 1);

    /* The sliding window, over the volume or (--slices) over each slice's plane. */
    unetrc_sw_spec spec = {sdims,
                           cin,
                           cout,
                           {g->dim[0], g->dim[1], sdims == 3 ? g->dim[2] : 0},
                           {m.in_shape[2], m.in_shape[3], sdims == 3 ? m.in_shape[4] : 0}};
    unetrc_sw_options so;
    unetrc_sw_default_options(&so);
    so.mode = c.mode;
    for (int a = 0; a < sdims; a++) {
        so.overlap[a] = c.overlap[c.n_overlap == 1 ? 0 : a];
        so.sigma_scale[a] = c.sigma[c.n_sigma == 1 ? 0 : a];
    }
    so.flip_axes = flip_axes;
    progress pr = {isatty(2) != 0, c.quiet, now(), 0};
    so.progress = on_window;
    so.progress_ctx = &pr;
    unetrc_sw_slices_spec sspec = {
        img_c, cout, {g->dim[0], g->dim[1], g->dim[2]}, {m.in_shape[2], m.in_shape[3]}, c.slices, c.slice_axis};
    unetrc_sw_slices_plan splan;
    unetrc_sw_plan plan; /* the windows of the volume, or of one slice */
    unetrc_status st =
        c.slices ? unetrc_sw_slices_plan_make(&sspec, &so, &splan) : unetrc_sw_plan_make(&spec, &so, &plan);
    if (st != UNETRC_OK) fail(c.images.items[0], urc_fmt("cannot plan the sliding window: %s", unetrc_status_str(st)));
    if (c.slices) plan = splan.plane;
    const size_t in_bytes = c.slices ? splan.input_bytes : plan.input_bytes;
    const size_t out_bytes = c.slices ? splan.output_bytes : plan.output_bytes;
    const size_t work_bytes = c.slices ? splan.workspace_bytes : plan.workspace_bytes;
    const int64_t windows = c.slices ? splan.windows : plan.windows;
    const int64_t predictions = c.slices ? splan.predictions : plan.predictions;
    float *acc = aligned(out_bytes);
    void *work = aligned(work_bytes);
    predictor pd = {m.forward, m.weights, aligned((size_t)m.arena_bytes), 0};
    size_t extra = c.png ? (size_t)V * 8 : 0; /* the picture's image copy and int32 labels */
    size_t labels_bytes = (size_t)V * (c.threshold ? (size_t)cout : 1);
    urc_note("segment: peak memory %zu bytes = input %zu + accumulators %zu + workspace %zu (%swindow in %zu, window "
             "out %zu, flips %zu, map %zu, tables %zu) + arena %lld + weights %lld + labels %zu%s",
             in_bytes + out_bytes + work_bytes + (size_t)m.arena_bytes + (size_t)m.weights_bytes + labels_bytes + extra,
             in_bytes, out_bytes, work_bytes,
             c.slices ? urc_fmt("slice stack %zu, slice out %zu, ", splan.stack_bytes, splan.slice_out_bytes) : "",
             plan.window_in_bytes, plan.window_out_bytes, plan.flip_bytes, plan.map_bytes, plan.table_bytes,
             (long long)m.arena_bytes, (long long)m.weights_bytes, labels_bytes,
             extra ? urc_fmt(" + picture %zu", extra) : "");
    if (c.slices)
        urc_note("segment: %lld slices along axis %d x %lld windows (%lld x %lld) = %lld windows, %lld predictions",
                 (long long)splan.n_slices, c.slice_axis, (long long)plan.windows, (long long)plan.count[0],
                 (long long)plan.count[1], (long long)windows, (long long)predictions);
    else
        urc_note("segment: %lld windows (%lld x %lld x %lld), %lld predictions", (long long)windows,
                 (long long)plan.count[0], (long long)plan.count[1], (long long)plan.count[2], (long long)predictions);
    if (c.threads) m.set_threads(c.threads);
    st = c.slices ? unetrc_sw_slices_run(&sspec, &so, vol.data, acc, work, work_bytes, predict, &pd)
                  : unetrc_sw_run(&spec, &so, vol.data, acc, work, work_bytes, predict, &pd);
    if (st == UNETRC_ERR_PREDICT)
        fail(c.model, urc_fmt("the compiled model failed on a window: %s", unetrc_status_str(pd.status)));
    if (st != UNETRC_OK) fail(c.images.items[0], urc_fmt("sliding window: %s", unetrc_status_str(st)));
    double t_run = now() - pr.start;
    free(work);
    free(pd.arena);
    unetrc_volume_free(&vol);

    /* Post-processing and outputs: logits as blended; labels from the
     * logits (argmax, or sigmoid >= threshold per channel); probabilities
     * (softmax, or the sigmoids). */
    if (f_logits) write_volume(f_logits, c.logits, acc, false, cout, g, vdims);
    uint8_t *labels = malloc(labels_bytes);
    if (!labels) urc_out_of_memory(labels_bytes);
    if (c.threshold) {
        unetrc_sigmoid(acc, cout * V);
        unetrc_threshold(acc, cout * V, (float)c.threshold_v, labels);
    } else {
        uint8_t map[256];
        for (int k = 0; k < c.n_labels; k++) map[k] = (uint8_t)c.labels[k];
        unetrc_argmax_channels(acc, cout, V, c.n_labels ? map : NULL, labels);
        if (f_probs) unetrc_softmax_channels(acc, cout, V);
    }
    if (f_probs) write_volume(f_probs, c.probs, acc, false, cout, g, vdims);
    free(acc);
    write_volume(f_out, output, labels, true, c.threshold ? cout : 1, g, vdims);
    if (f_png) {
        /* A multi-label map shows, per voxel, the last channel set (as label c + 1). */
        int32_t *l32 = malloc((size_t)V * sizeof(int32_t));
        if (!l32) urc_out_of_memory((size_t)V * sizeof(int32_t));
        for (int64_t i = 0; i < V; i++) {
            int32_t v = c.threshold ? 0 : labels[i];
            for (int64_t k = 0; c.threshold && k < cout; k++)
                if (labels[k * V + i]) v = (int32_t)k + 1;
            l32[i] = v;
        }
        char err[1024];
        if (unetrc_png_encode_overview(c.png, png_image, l32, g, sink, f_png, err, sizeof err) != UNETRC_OK)
            fail(NULL, err);
        free(l32);
        free(png_image);
    }
    free(labels);
    urc_cli_out_commit(&set);
    if (!c.quiet)
        fprintf(stderr,
                "segment: %s: %s%lld windows (%lld predictions) in %.2f s (%.3f s per window), model %s in %.2f s\n",
                output, c.slices ? urc_fmt("%lld slices, ", (long long)splan.n_slices) : "", (long long)windows,
                (long long)predictions, t_run, t_run / (double)windows, m.cached ? "from the cache" : "compiled",
                t_load);
    free(m.weights_blob);
    return 0;
}
