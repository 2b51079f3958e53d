/* test_sw.c: sliding-window inference and pre/post-processing of the runtime
 * (runtime/include/unetrc_sw.h, unetrc_prepost.h).
 *
 *   test_sw unit                         API checks that need no reference
 *   test_sw [--tol T] MANIFEST.txt ...   the cases of manifests written by
 *                                        tests/sw/make_refs.py (files next to them)
 *
 * Window cases run the toy predictor (a 3x3x3 / 3x3 convolution with zero
 * padding at the window border, plus bias and a position ramp, as
 * make_refs.py does in PyTorch) and compare with MONAI's
 * sliding_window_inference: max|ref - out| <= T * max|ref| (default 1e-5).
 * Built with -DSW_E2E and a generated seg.c/seg.h (test_sw_e2e), window
 * cases whose weights are "-" run the compiled model instead
 * (--weights SEG.weights). Pre/post cases compare with MONAI's transforms:
 * float results to 1e-6 of max|ref|, labels exactly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/npy.h"
#include "unetrc_prepost.h"
#include "unetrc_sw.h"
#ifdef SW_E2E
#include "seg.h"
#endif

#include "../check.h"

/* ---- predictors ---------------------------------------------------------- */

/* The toy network of make_refs.py. w: [cout][cin][k][3][3] (k = 3 in 3D, 1
 * in 2D), p: [2][cout] = bias, ramp gain. */
typedef struct toy {
    int nd;
    int64_t cin, cout, r[3]; /* r[0] = 1 in 2D */
    const float *w, *p;
} toy;

static int toy_predict(void *ctx, const float *in, float *out) {
    const toy *t = ctx;
    int kd = t->nd == 3 ? 3 : 1;
    int64_t rz = t->r[0], ry = t->r[1], rx = t->r[2], vox = rz * ry * rx;
    float den = (float)(rz + ry + rx);
    for (int64_t o = 0; o < t->cout; o++)
        for (int64_t z = 0; z < rz; z++)
            for (int64_t y = 0; y < ry; y++)
                for (int64_t x = 0; x < rx; x++) {
                    float acc = 0;
                    for (int64_t i = 0; i < t->cin; i++)
                        for (int dz = 0; dz < kd; dz++)
                            for (int dy = 0; dy < 3; dy++)
                                for (int dx = 0; dx < 3; dx++) {
                                    int64_t zz = z + dz - (kd == 3), yy = y + dy - 1, xx = x + dx - 1;
                                    if (zz < 0 || zz >= rz || yy < 0 || yy >= ry || xx < 0 || xx >= rx) continue;
                                    acc += t->w[(((o * t->cin + i) * kd + dz) * 3 + dy) * 3 + dx] *
                                           in[i * vox + (zz * ry + yy) * rx + xx];
                                }
                    out[o * vox + (z * ry + y) * rx + x] =
                        acc + t->p[o] + t->p[t->cout + o] * ((float)(z - y + 2 * x) / den);
                }
    return 0;
}

/* Copies channel c % cin of the window to output channel c. */
typedef struct copy_ctx {
    int64_t cin, cout, vox, calls, fail_at;
} copy_ctx;

static int copy_predict(void *ctx, const float *in, float *out) {
    copy_ctx *c = ctx;
    if (++c->calls == c->fail_at) return 7;
    for (int64_t o = 0; o < c->cout; o++) memcpy(out + o * c->vox, in + (o % c->cin) * c->vox, (size_t)c->vox * 4);
    return 0;
}

#ifdef SW_E2E
static const void *seg_weights;
static _Alignas(64) unsigned char seg_arena[SEG_ARENA_SIZE + 64];

static int seg_predict(void *ctx, const float *in, float *out) {
    (void)ctx;
    return seg_forward(seg_weights, seg_arena, in, out);
}
#endif

/* ---- helpers ------------------------------------------------------------- */

static void *workspace_for(const unetrc_sw_spec *s, const unetrc_sw_options *o, size_t *bytes) {
    unetrc_sw_plan plan;
    if (unetrc_sw_plan_make(s, o, &plan) != UNETRC_OK) return NULL;
    *bytes = plan.workspace_bytes;
    return aligned_alloc(64, (plan.workspace_bytes + 63) / 64 * 64);
}

/* A .npy file as a tensor of `count` elements (any count when < 0). */
static urc_tensor *load(const char *dir, const char *name, int64_t count) {
    char path[1024];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        printf("FAIL %s/%s: path too long\n", dir, name);
        failures++;
        return NULL;
    }
    const char *err;
    urc_tensor *t = urc_npy_read(path, (uint64_t)1 << 32, &err);
    if (!t) {
        printf("FAIL %s: %s\n", path, err);
        failures++;
        return NULL;
    }
    if (count >= 0 && urc_tensor_numel(t) != count) {
        printf("FAIL %s: %lld elements, want %lld\n", path, (long long)urc_tensor_numel(t), (long long)count);
        failures++;
        urc_tensor_free(t);
        return NULL;
    }
    return t;
}

/* max|ref - got| <= tol * max|ref| (tol 0: equal); prints the figures. */
static void compare(const char *what, const urc_tensor *ref, const float *got, const uint8_t *got_u8, double tol) {
    int64_t n = urc_tensor_numel(ref);
    double maxdiff = 0, maxref = 0;
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double r = urc_elem_f64(ref->dtype, ref->data, i), g = got ? got[i] : got_u8[i];
        double d = isnan(r) || isnan(g) ? (isnan(r) && isnan(g) ? 0 : INFINITY) : fabs(r - g);
        maxdiff = d > maxdiff ? d : maxdiff;
        maxref = fabs(r) > maxref ? fabs(r) : maxref;
        bad += d > 0;
    }
    int ok = tol > 0 ? maxdiff <= tol * maxref : bad == 0;
    printf("%s %s: max|ref-out| %.3g, max|ref| %.3g, relative %.3g, %lld of %lld differ (tolerance %.3g)\n",
           ok ? "ok  " : "FAIL", what, maxdiff, maxref, maxref > 0 ? maxdiff / maxref : maxdiff, (long long)bad,
           (long long)n, tol);
    failures += !ok;
}

/* ---- manifests ------------------------------------------------------------ */

static void run_window(const char *dir, char **f, int nf, double tol) {
    /* window NAME ND CIN COUT I0 I1 I2 R0 R1 R2 O0 O1 O2 MODE S0 S1 S2 CVAL FLIPS IN REF W P */
    if (nf != 24) {
        printf("FAIL manifest: window line with %d fields\n", nf);
        failures++;
        return;
    }
    unetrc_sw_spec s = {0};
    unetrc_sw_options o;
    unetrc_sw_default_options(&o);
    s.spatial_dims = atoi(f[2]);
    s.in_channels = atoll(f[3]);
    s.out_channels = atoll(f[4]);
    for (int a = 0; a < 3; a++) {
        s.image[a] = atoll(f[5 + a]);
        s.roi[a] = atoll(f[8 + a]);
        o.overlap[a] = strtod(f[11 + a], NULL);
        o.sigma_scale[a] = strtod(f[15 + a], NULL);
    }
    o.mode = strcmp(f[14], "gaussian") == 0 ? UNETRC_SW_GAUSSIAN : UNETRC_SW_CONSTANT;
    o.cval = strtof(f[18], NULL);
    o.flip_axes = (unsigned)atoi(f[19]);
    unetrc_sw_plan plan;
    if (unetrc_sw_plan_make(&s, &o, &plan) != UNETRC_OK) {
        printf("FAIL %s: plan refused\n", f[1]);
        failures++;
        return;
    }
    urc_tensor *in = load(dir, f[20], (int64_t)(plan.input_bytes / 4));
    urc_tensor *ref = load(dir, f[21], (int64_t)(plan.output_bytes / 4));
    urc_tensor *w = NULL, *p = NULL;
    toy t = {s.spatial_dims, s.in_channels, s.out_channels, {1, 1, 1}, NULL, NULL};
    unetrc_sw_predict_fn predict = toy_predict;
    void *ctx = &t;
    int ready = in && ref;
    if (strcmp(f[22], "-") != 0) {
        w = load(dir, f[22], s.out_channels * s.in_channels * (s.spatial_dims == 3 ? 27 : 9));
        p = load(dir, f[23], 2 * s.out_channels);
        if (w && p) {
            t.w = w->data;
            t.p = p->data;
        }
        ready = ready && w && p;
        for (int a = 0; a < s.spatial_dims; a++) t.r[a + 3 - s.spatial_dims] = s.roi[a];
    } else {
#ifdef SW_E2E
        static const int64_t in_shape[] = SEG_IN0_SHAPE, out_shape[] = SEG_OUT0_SHAPE;
        int fits = SEG_IN0_RANK == s.spatial_dims + 2 && in_shape[1] == s.in_channels && out_shape[1] == s.out_channels;
        for (int a = 0; fits && a < s.spatial_dims; a++)
            fits = in_shape[2 + a] == s.roi[a] && out_shape[2 + a] == s.roi[a];
        if (!fits) {
            printf("FAIL %s: the case does not fit the compiled model\n", f[1]);
            failures++;
            ready = 0;
        }
        predict = seg_predict;
        ctx = NULL;
#else
        printf("FAIL %s: needs the compiled model (test_sw_e2e)\n", f[1]);
        failures++;
        ready = 0;
#endif
    }
    if (ready) {
        float *out = malloc(plan.output_bytes);
        size_t ws_bytes = 0;
        void *ws = workspace_for(&s, &o, &ws_bytes);
        int st = unetrc_sw_run(&s, &o, in->data, out, ws, ws_bytes, predict, ctx);
        if (st != UNETRC_OK) {
            printf("FAIL %s: unetrc_sw_run: %s\n", f[1], unetrc_status_str(st));
            failures++;
        } else {
            char what[256];
            snprintf(what, sizeof what, "%s (%lld windows, %lld predictions, workspace %zu bytes)", f[1],
                     (long long)plan.windows, (long long)plan.predictions, plan.workspace_bytes);
            compare(what, ref, out, NULL, tol);
        }
        free(ws);
        free(out);
    }
    urc_tensor_free(in);
    urc_tensor_free(ref);
    urc_tensor_free(w);
    urc_tensor_free(p);
}

/* normalize / scale / softmax / sigmoid / argmax / threshold lines. */
static void run_prepost(const char *dir, char **f, int nf) {
    const char *op = f[0];
    urc_tensor *in = load(dir, f[nf - 2], -1), *ref = load(dir, f[nf - 1], -1);
    if (!in || !ref || in->shape.rank < 2) {
        urc_tensor_free(in);
        urc_tensor_free(ref);
        if (in && ref) failures++;
        return;
    }
    int64_t n = urc_tensor_numel(in), ch = in->shape.dims[0], vox = n / ch;
    float *x = in->data;
    uint8_t *labels = malloc((size_t)n);
    char what[256];
    snprintf(what, sizeof what, "%s %s", op, f[nf - 2]);
    int st = -1, discrete = 0;
    if (!strcmp(op, "normalize") && nf == 5) {
        st = unetrc_normalize_intensity(x, ch, vox, atoi(f[1]), atoi(f[2]));
    } else if (!strcmp(op, "scale") && nf == 8) {
        st = unetrc_scale_intensity_range(x, n, strtod(f[1], NULL), strtod(f[2], NULL), strtod(f[3], NULL),
                                          strtod(f[4], NULL), atoi(f[5]));
    } else if (!strcmp(op, "softmax") && nf == 3) {
        st = unetrc_softmax_channels(x, ch, vox);
    } else if (!strcmp(op, "sigmoid") && nf == 3) {
        st = unetrc_sigmoid(x, n);
    } else if (!strcmp(op, "argmax") && nf == 4) {
        uint8_t map[256];
        int nl = 0;
        for (char *p = f[1]; *f[1] != '-' && *p && nl < 256; nl++) {
            map[nl] = (uint8_t)strtol(p, &p, 10);
            if (*p == ',') p++;
        }
        st = unetrc_argmax_channels(x, ch, vox, nl ? map : NULL, labels);
        discrete = 1;
    } else if (!strcmp(op, "threshold") && nf == 4) {
        st = unetrc_threshold(x, n, strtof(f[1], NULL), labels);
        discrete = 1;
    } else {
        printf("FAIL manifest: unknown line '%s' with %d fields\n", op, nf);
    }
    if (st != UNETRC_OK) {
        if (st != -1) printf("FAIL %s: %s\n", what, unetrc_status_str(st));
        failures++;
    } else if (urc_tensor_numel(ref) != (discrete ? vox * (strcmp(op, "argmax") ? ch : 1) : n)) {
        printf("FAIL %s: the reference has %lld elements\n", what, (long long)urc_tensor_numel(ref));
        failures++;
    } else {
        compare(what, ref, discrete ? NULL : x, labels, discrete ? 0 : 1e-6);
    }
    free(labels);
    urc_tensor_free(in);
    urc_tensor_free(ref);
}

static void run_manifest(const char *path, double tol) {
    FILE *fh = fopen(path, "r");
    if (!fh) {
        printf("FAIL cannot open %s\n", path);
        failures++;
        return;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    char line[4096];
    while (fgets(line, sizeof line, fh)) {
        char *f[32];
        int nf = 0;
        for (char *tok = strtok(line, " \t\r\n"); tok && nf < 32; tok = strtok(NULL, " \t\r\n")) f[nf++] = tok;
        if (nf == 0) continue;
        if (!strcmp(f[0], "window")) run_window(dir, f, nf, tol);
        else run_prepost(dir, f, nf);
    }
    fclose(fh);
}

/* ---- unit checks ---------------------------------------------------------- */

/* Copies s_ and o_ of the spec s and options o in scope, with field =
 * value: `make` must refuse them and leave the plan p zeroed. */
#define REFUSED_BY(make, spec_type, field, value)                                                                      \
    do {                                                                                                               \
        spec_type s_ = s;                                                                                              \
        unetrc_sw_options o_ = o;                                                                                      \
        field = value;                                                                                                 \
        CHECK(make(&s_, &o_, &p) == UNETRC_ERR_ARGUMENT);                                                              \
        CHECK(p.workspace_bytes == 0);                                                                                 \
    } while (0)

/* `make` refuses a NULL spec, options or plan (s, o and p in scope). */
#define NULLS_REFUSED(make)                                                                                            \
    do {                                                                                                               \
        CHECK(make(NULL, &o, &p) == UNETRC_ERR_NULL);                                                                  \
        CHECK(make(&s, NULL, &p) == UNETRC_ERR_NULL);                                                                  \
        CHECK(make(&s, &o, NULL) == UNETRC_ERR_NULL);                                                                  \
    } while (0)

static int progress_seen, progress_stop;
static int progress_cb(void *ctx, int64_t done, int64_t total) {
    int64_t *want_total = ctx;
    if (done != ++progress_seen || total != *want_total) failures++;
    return progress_stop && done == progress_stop;
}

static void unit_plan(void) {
    unetrc_sw_spec s = {3, 2, 3, {13, 11, 9}, {8, 6, 5}};
    unetrc_sw_options o;
    unetrc_sw_default_options(&o);
    unetrc_sw_plan p;
    CHECK(unetrc_sw_plan_make(&s, &o, &p) == UNETRC_OK);
    /* int(8*.75) = 6, int(6*.75) = 4, int(5*.75) = 3; positions
     * {0, 5}, {0, 4, 5}, {0, 3, 4}. */
    CHECK(p.interval[0] == 6 && p.interval[1] == 4 && p.interval[2] == 3);
    CHECK(p.count[0] == 2 && p.count[1] == 3 && p.count[2] == 3);
    CHECK(p.windows == 18 && p.predictions == 18);
    CHECK(p.input_bytes == 2 * 13 * 11 * 9 * 4 && p.output_bytes == 3 * 13 * 11 * 9 * 4);
    CHECK(p.window_in_bytes == 2 * 240 * 4 && p.window_out_bytes == 3 * 240 * 4 && p.map_bytes == 240 * 4);
    CHECK(p.flip_bytes == 0 && p.table_bytes > 0);
    CHECK(p.workspace_bytes >= p.window_in_bytes + p.window_out_bytes + p.map_bytes + p.table_bytes);
    /* Padding: 5 < 8 along D gives (1, 2); an axis equal to the roi keeps
     * interval = roi; flips double the predictions per flipped axis. */
    s.image[0] = 5;
    s.image[2] = 5;
    o.flip_axes = 5;
    CHECK(unetrc_sw_plan_make(&s, &o, &p) == UNETRC_OK);
    CHECK(p.pad_lo[0] == 1 && p.pad_hi[0] == 2 && p.pad_lo[1] == 0 && p.pad_hi[2] == 0);
    CHECK(p.interval[0] == 8 && p.count[0] == 1 && p.interval[2] == 5 && p.count[2] == 1);
    CHECK(p.windows == 3 && p.predictions == 12 && p.flip_bytes == p.window_out_bytes);
    /* overlap 0.9 on a roi of 4: int(0.4) = 0 -> 1. */
    unetrc_sw_spec s2 = {2, 1, 1, {9, 4}, {4, 4}};
    o.flip_axes = 0;
    o.overlap[0] = 0.9;
    CHECK(unetrc_sw_plan_make(&s2, &o, &p) == UNETRC_OK);
    CHECK(p.interval[0] == 1 && p.count[0] == 6 && p.interval[1] == 4 && p.count[1] == 1 && p.count[2] == 1);
}

static void unit_errors(void) {
    unetrc_sw_spec s = {3, 1, 2, {9, 8, 7}, {4, 4, 4}};
    unetrc_sw_options o;
    unetrc_sw_default_options(&o);
    unetrc_sw_plan p;
    NULLS_REFUSED(unetrc_sw_plan_make);
#define REFUSED(field, value) REFUSED_BY(unetrc_sw_plan_make, unetrc_sw_spec, field, value)
    REFUSED(s_.spatial_dims, 1);
    REFUSED(s_.spatial_dims, 4);
    REFUSED(s_.in_channels, 0);
    REFUSED(s_.out_channels, -1);
    REFUSED(s_.image[1], 0);
    REFUSED(s_.roi[2], 0);
    REFUSED(s_.image[0], INT64_MAX / 2);
    REFUSED(s_.roi[0], (int64_t)1 << 61); /* roi x 16 voxels overflow */
    REFUSED(o_.overlap[0], 1.0);
    REFUSED(o_.overlap[1], -0.25);
    REFUSED(o_.overlap[2], NAN);
    REFUSED(o_.mode, 2);
    REFUSED(o_.flip_axes, 8);
    REFUSED(o_.cval, NAN);
    o.mode = UNETRC_SW_GAUSSIAN;
    REFUSED(o_.sigma_scale[1], 0.0);
    REFUSED(o_.sigma_scale[2], INFINITY);
    o.mode = UNETRC_SW_CONSTANT;
    o.sigma_scale[1] = 0; /* not used in constant mode */
    CHECK(unetrc_sw_plan_make(&s, &o, &p) == UNETRC_OK);
    unetrc_sw_spec s2 = {2, 1, 1, {9, 8, 0}, {4, 4, 0}};
    o.flip_axes = 4; /* axis 2 of a 2D run */
    CHECK(unetrc_sw_plan_make(&s2, &o, &p) == UNETRC_ERR_ARGUMENT);
    o.flip_axes = 0;

    /* unetrc_sw_run: NULLs, alignment, workspace size, predictor failure,
     * progress and cancellation. */
    float in[9 * 8 * 7], out[2 * 9 * 8 * 7];
    for (int i = 0; i < 9 * 8 * 7; i++) in[i] = (float)i;
    size_t bytes = 0;
    unsigned char *ws = workspace_for(&s, &o, &bytes);
    copy_ctx cc = {1, 2, 64, 0, 0};
    CHECK(unetrc_sw_run(&s, &o, NULL, out, ws, bytes, copy_predict, &cc) == UNETRC_ERR_NULL);
    CHECK(unetrc_sw_run(&s, &o, in, out, ws, bytes, NULL, &cc) == UNETRC_ERR_NULL);
    CHECK(unetrc_sw_run(&s, &o, in, out, NULL, bytes, copy_predict, &cc) == UNETRC_ERR_NULL);
    out[0] = 42;
    CHECK(unetrc_sw_run(&s, &o, in, out, ws, bytes - 1, copy_predict, &cc) == UNETRC_ERR_WORKSPACE);
    CHECK(unetrc_sw_run(&s, &o, in, out, ws + 8, bytes, copy_predict, &cc) == UNETRC_ERR_ALIGN);
    s.roi[0] = 0;
    CHECK(unetrc_sw_run(&s, &o, in, out, ws, bytes, copy_predict, &cc) == UNETRC_ERR_ARGUMENT);
    s.roi[0] = 4;
    CHECK(out[0] == 42 && cc.calls == 0); /* refused before anything was written */
    cc.fail_at = 3;
    CHECK(unetrc_sw_run(&s, &o, in, out, ws, bytes, copy_predict, &cc) == UNETRC_ERR_PREDICT && cc.calls == 3);
    cc.calls = cc.fail_at = 0;
    CHECK(unetrc_sw_plan_make(&s, &o, &p) == UNETRC_OK);
    o.progress = progress_cb;
    o.progress_ctx = &p.windows;
    progress_seen = 0;
    CHECK(unetrc_sw_run(&s, &o, in, out, ws, bytes, copy_predict, &cc) == UNETRC_OK);
    CHECK(progress_seen == p.windows && cc.calls == p.windows);
    progress_seen = 0;
    progress_stop = 2;
    CHECK(unetrc_sw_run(&s, &o, in, out, ws, bytes, copy_predict, &cc) == UNETRC_ERR_CANCELLED);
    CHECK(progress_seen == 2);
    progress_stop = 0;
    free(ws);
    CHECK(strcmp(unetrc_status_str(UNETRC_ERR_WORKSPACE), "workspace too small") == 0);
}

/* A predictor that copies its input blends back to the input itself, in
 * every mode, with padding and with flips (a flip that is not undone
 * exactly would move voxels). */
static void unit_identity(void) {
    static const struct {
        int nd;
        int64_t image[3], roi[3];
        double overlap;
        int mode;
        unsigned flips;
    } cases[] = {
        {3, {11, 7, 9}, {4, 5, 6}, 0.25, UNETRC_SW_CONSTANT, 0}, {3, {11, 3, 9}, {4, 5, 6}, 0.5, UNETRC_SW_GAUSSIAN, 0},
        {3, {11, 3, 9}, {4, 5, 6}, 0.6, UNETRC_SW_GAUSSIAN, 7},  {3, {2, 9, 4}, {4, 5, 6}, 0.75, UNETRC_SW_CONSTANT, 3},
        {2, {13, 5}, {4, 6}, 0.5, UNETRC_SW_GAUSSIAN, 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        unetrc_sw_spec s = {cases[k].nd, 2, 3, {0}, {0}};
        memcpy(s.image, cases[k].image, sizeof s.image);
        memcpy(s.roi, cases[k].roi, sizeof s.roi);
        unetrc_sw_options o;
        unetrc_sw_default_options(&o);
        for (int a = 0; a < 3; a++) o.overlap[a] = cases[k].overlap;
        o.mode = cases[k].mode;
        o.flip_axes = cases[k].flips;
        o.cval = 1e6f; /* must never reach the output */
        unetrc_sw_plan p;
        CHECK(unetrc_sw_plan_make(&s, &o, &p) == UNETRC_OK);
        float *in = malloc(p.input_bytes), *out = malloc(p.output_bytes);
        int64_t vox = (int64_t)(p.input_bytes / 4 / 2), roi_vox = (int64_t)(p.window_in_bytes / 4 / 2);
        for (int64_t i = 0; i < 2 * vox; i++) in[i] = (float)((i * 7919) % 1000) / 10.0f - 50.0f;
        size_t bytes = 0;
        void *ws = workspace_for(&s, &o, &bytes);
        copy_ctx cc = {2, 3, roi_vox, 0, 0};
        CHECK(unetrc_sw_run(&s, &o, in, out, ws, bytes, copy_predict, &cc) == UNETRC_OK);
        CHECK(cc.calls == p.predictions);
        double maxdiff = 0;
        for (int64_t c = 0; c < 3; c++)
            for (int64_t v = 0; v < vox; v++) {
                double d = fabs((double)out[c * vox + v] - in[(c % 2) * vox + v]);
                maxdiff = d > maxdiff ? d : maxdiff;
            }
        if (maxdiff > 50 * 1e-6) {
            printf("FAIL identity case %zu: max difference %g\n", k, maxdiff);
            failures++;
        }
        free(ws);
        free(in);
        free(out);
    }
}

/* 2.5D (unetrc_sw_slices_*): byte counts, refused arguments, and a copying
 * predictor (model channel m out = model channel m in) over every slice
 * axis, so that output channel c*K + j must be image channel c at slice
 * clamp(s - K/2 + j): the stacking order, the replication at the edges and
 * the placement of each slice's logits back into the volume. */
static void unit_slices(void) {
    unetrc_sw_slices_spec s = {2, 3, {5, 7, 9}, {4, 4}, 3, 1};
    unetrc_sw_options o;
    unetrc_sw_default_options(&o);
    unetrc_sw_slices_plan p;
    CHECK(unetrc_sw_slices_plan_make(&s, &o, &p) == UNETRC_OK);
    /* plane [D][W] = 5 x 9 with a 4 x 4 roi: interval 3, positions {0, 1}
     * and {0, 3, 5}; 7 slices. */
    CHECK(p.plane_size[0] == 5 && p.plane_size[1] == 9 && p.n_slices == 7);
    CHECK(p.plane.count[0] == 2 && p.plane.count[1] == 3 && p.windows == 42 && p.predictions == 42);
    CHECK(p.input_bytes == 2 * 315 * 4 && p.output_bytes == 3 * 315 * 4);
    CHECK(p.stack_bytes == 2 * 3 * 45 * 4 && p.slice_out_bytes == 3 * 45 * 4);
    CHECK(p.plane.window_in_bytes == 6 * 16 * 4 && p.plane.window_out_bytes == 3 * 16 * 4);
    CHECK(p.workspace_bytes >= p.stack_bytes + p.slice_out_bytes + p.plane.workspace_bytes);
    NULLS_REFUSED(unetrc_sw_slices_plan_make);
#define REFUSED_SL(field, value) REFUSED_BY(unetrc_sw_slices_plan_make, unetrc_sw_slices_spec, field, value)
    REFUSED_SL(s_.slices, 0);
    REFUSED_SL(s_.slices, 4);
    REFUSED_SL(s_.slices, -3);
    REFUSED_SL(s_.axis, -1);
    REFUSED_SL(s_.axis, 3);
    REFUSED_SL(s_.in_channels, 0);
    REFUSED_SL(s_.in_channels, INT64_MAX / 2);
    REFUSED_SL(s_.out_channels, 0);
    REFUSED_SL(s_.image[2], 0);
    REFUSED_SL(s_.roi[1], 0);
    REFUSED_SL(s_.image[0], INT64_MAX / 4);
    REFUSED_SL(o_.flip_axes, 4); /* the plane has two axes */
    REFUSED_SL(o_.overlap[1], 1.0);

    static const struct {
        int axis, k;
        int64_t image[3], roi[2];
        double overlap;
        int mode;
        unsigned flips;
    } cases[] = {
        {0, 3, {6, 7, 9}, {4, 5}, 0.25, UNETRC_SW_CONSTANT, 0},
        {1, 5, {6, 7, 9}, {4, 5}, 0.5, UNETRC_SW_GAUSSIAN, 1},
        {2, 3, {6, 7, 9}, {8, 3}, 0.6, UNETRC_SW_GAUSSIAN, 3},
        {2, 5, {5, 4, 2}, {5, 4}, 0.25, UNETRC_SW_CONSTANT, 0}, /* K > slices: replication at both ends */
        {0, 1, {3, 5, 6}, {2, 7}, 0.5, UNETRC_SW_CONSTANT, 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int K = cases[k].k, cin = 2;
        unetrc_sw_slices_spec t = {cin, cin * K, {0}, {cases[k].roi[0], cases[k].roi[1]}, K, cases[k].axis};
        memcpy(t.image, cases[k].image, sizeof t.image);
        unetrc_sw_options to;
        unetrc_sw_default_options(&to);
        to.overlap[0] = to.overlap[1] = cases[k].overlap;
        to.mode = cases[k].mode;
        to.flip_axes = cases[k].flips;
        to.cval = 1e6f;
        to.progress = progress_cb;
        CHECK(unetrc_sw_slices_plan_make(&t, &to, &p) == UNETRC_OK);
        to.progress_ctx = &p.windows;
        const int64_t *im = t.image, vox = im[0] * im[1] * im[2];
        float *in = malloc(p.input_bytes), *out = malloc(p.output_bytes);
        for (int64_t i = 0; i < cin * vox; i++) in[i] = (float)((i * 7919) % 1000) / 10.0f - 50.0f;
        void *ws = aligned_alloc(64, (p.workspace_bytes + 63) / 64 * 64);
        copy_ctx cc = {cin * K, cin * K, (int64_t)(p.plane.window_in_bytes / 4) / (cin * K), 0, 0};
        progress_seen = 0;
        CHECK(unetrc_sw_slices_run(&t, &to, in, out, ws, p.workspace_bytes, copy_predict, &cc) == UNETRC_OK);
        CHECK(cc.calls == p.predictions && progress_seen == p.windows);
        double maxdiff = 0;
        for (int64_t c = 0; c < cin; c++)
            for (int j = 0; j < K; j++)
                for (int64_t z = 0; z < im[0]; z++)
                    for (int64_t y = 0; y < im[1]; y++)
                        for (int64_t x = 0; x < im[2]; x++) {
                            int64_t v[3] = {z, y, x}, a = t.axis;
                            v[a] += j - K / 2;
                            v[a] = v[a] < 0 ? 0 : v[a] >= im[a] ? im[a] - 1 : v[a];
                            double want = in[c * vox + (v[0] * im[1] + v[1]) * im[2] + v[2]];
                            double got = out[(c * K + j) * vox + (z * im[1] + y) * im[2] + x];
                            maxdiff = fabs(got - want) > maxdiff ? fabs(got - want) : maxdiff;
                        }
        if (maxdiff > 50 * 1e-6) {
            printf("FAIL slices case %zu: max difference %g\n", k, maxdiff);
            failures++;
        }
        /* Refusals before anything is written; predictor failure and
         * cancellation stop the run. */
        out[0] = 42;
        CHECK(unetrc_sw_slices_run(&t, &to, in, out, ws, p.workspace_bytes - 1, copy_predict, &cc) ==
              UNETRC_ERR_WORKSPACE);
        CHECK(unetrc_sw_slices_run(&t, &to, in, out, (char *)ws + 8, p.workspace_bytes, copy_predict, &cc) ==
              UNETRC_ERR_ALIGN);
        CHECK(unetrc_sw_slices_run(&t, &to, NULL, out, ws, p.workspace_bytes, copy_predict, &cc) == UNETRC_ERR_NULL);
        CHECK(out[0] == 42);
        cc.calls = 0;
        cc.fail_at = p.predictions;
        progress_seen = 0;
        CHECK(unetrc_sw_slices_run(&t, &to, in, out, ws, p.workspace_bytes, copy_predict, &cc) == UNETRC_ERR_PREDICT);
        cc.fail_at = 0;
        progress_seen = 0;
        progress_stop = (int)p.windows - 1;
        CHECK(unetrc_sw_slices_run(&t, &to, in, out, ws, p.workspace_bytes, copy_predict, &cc) ==
              (p.windows > 1 ? UNETRC_ERR_CANCELLED : UNETRC_OK));
        progress_stop = 0;
        free(ws);
        free(in);
        free(out);
    }
}

static void unit_prepost(void) {
    /* argmax: first maximum, NaN wins (as torch.argmax); remapping. */
    const float v[3 * 4] = {1, NAN, 3, 2, 5, 1, NAN, 2, 5, NAN, 1, 2};
    uint8_t out[4];
    const uint8_t brats[3] = {0, 1, 4};
    CHECK(unetrc_argmax_channels(v, 3, 4, NULL, out) == UNETRC_OK);
    CHECK(out[0] == 1 && out[1] == 0 && out[2] == 1 && out[3] == 0);
    CHECK(unetrc_argmax_channels(v, 3, 4, brats, out) == UNETRC_OK);
    CHECK(out[0] == 1 && out[1] == 0 && out[2] == 1 && out[3] == 0);
    const float w[2 * 2] = {0, 3, 1, 2};
    CHECK(unetrc_argmax_channels(w, 2, 2, brats, out) == UNETRC_OK && out[0] == 1 && out[1] == 0);
    CHECK(unetrc_argmax_channels(v, 300, 0, NULL, out) == UNETRC_ERR_ARGUMENT);
    CHECK(unetrc_argmax_channels(NULL, 3, 4, NULL, out) == UNETRC_ERR_NULL);
    /* threshold: >= */
    const float t[3] = {0.49f, 0.5f, 0.51f};
    CHECK(unetrc_threshold(t, 3, 0.5f, out) == UNETRC_OK && out[0] == 0 && out[1] == 1 && out[2] == 1);
    /* normalize: all-zero channel untouched with nonzero, constant channel
     * divided by 1 (becomes 0). */
    float x[2 * 3] = {0, 0, 0, 4, 4, 4};
    CHECK(unetrc_normalize_intensity(x, 2, 3, 1, 1) == UNETRC_OK);
    CHECK(x[0] == 0 && x[1] == 0 && x[2] == 0 && x[3] == 0 && x[4] == 0 && x[5] == 0);
    float y[4] = {0, 1, 3, 0};
    CHECK(unetrc_normalize_intensity(y, 1, 4, 1, 1) == UNETRC_OK);
    CHECK(y[0] == 0 && y[1] == -1 && y[2] == 1 && y[3] == 0);
    CHECK(unetrc_normalize_intensity(y, 0, 4, 1, 1) == UNETRC_ERR_ARGUMENT);
    /* scale with a_min == a_max: shift only, no clip. */
    float z[2] = {10, 50};
    CHECK(unetrc_scale_intensity_range(z, 2, 30, 30, 0.5, 1, 1) == UNETRC_OK && z[0] == -19.5f && z[1] == 20.5f);
    /* refused arguments */
    CHECK(unetrc_sigmoid(z, -1) == UNETRC_ERR_ARGUMENT && unetrc_sigmoid(NULL, 1) == UNETRC_ERR_NULL);
    CHECK(unetrc_scale_intensity_range(NULL, 2, 0, 1, 0, 1, 0) == UNETRC_ERR_NULL);
    CHECK(unetrc_scale_intensity_range(z, -2, 0, 1, 0, 1, 0) == UNETRC_ERR_ARGUMENT);
    CHECK(unetrc_softmax_channels(z, 2, INT64_MAX) == UNETRC_ERR_ARGUMENT);
    CHECK(unetrc_softmax_channels(z, 0, 2) == UNETRC_ERR_ARGUMENT);
    CHECK(unetrc_threshold(z, 2, 0.5f, NULL) == UNETRC_ERR_NULL);
    CHECK(unetrc_threshold(z, -1, 0.5f, out) == UNETRC_ERR_ARGUMENT);
    CHECK(unetrc_normalize_intensity(z, 2, INT64_MAX, 0, 0) == UNETRC_ERR_ARGUMENT);
    /* softmax of equal logits is uniform. */
    float sm[3] = {2, 2, 2};
    CHECK(unetrc_softmax_channels(sm, 3, 1) == UNETRC_OK && sm[0] == sm[2] && fabsf(sm[1] - 1.0f / 3) < 1e-7f);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_sw unit | test_sw [--tol T] [--weights SEG.weights] MANIFEST.txt ...\n");
        return 2;
    }
    if (!strcmp(argv[1], "unit")) {
        unit_plan();
        unit_errors();
        unit_slices();
        unit_identity();
        unit_prepost();
    } else {
        double tol = 1e-5;
        int ran = 0;
        for (int i = 1; i < argc; i++) {
            if (!strcmp(argv[i], "--tol") && i + 1 < argc) {
                tol = strtod(argv[++i], NULL);
            } else if (!strcmp(argv[i], "--weights") && i + 1 < argc) {
#ifdef SW_E2E
                static _Alignas(64) unsigned char blob[SEG_WEIGHTS_FILE_SIZE + 64];
                FILE *fh = fopen(argv[++i], "rb");
                size_t n = fh ? fread(blob, 1, sizeof blob, fh) : 0;
                if (fh) fclose(fh);
                if (unetrc_weights_open(blob, n, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM, &seg_weights) != UNETRC_OK) {
                    printf("FAIL cannot open the weights %s\n", argv[i]);
                    return 1;
                }
#else
                i++;
#endif
            } else {
                run_manifest(argv[i], tol);
                ran++;
            }
        }
        if (!ran) failures++;
    }
    printf("test_sw: %d failures\n", failures);
    return failures != 0;
}
