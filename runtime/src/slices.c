/* slices.c: 2.5D inference, a 2D model slice by slice over a volume with
 * the neighbouring slices as channels (see unetrc_sw.h, docs/segment.md).
 *
 * Per slice: the in_channels x K neighbouring planes are in one stacked 2D
 * image (slice indices clamped to the volume: replication at the edges;
 * from one slice to the next the planes move down by one and one new plane
 * per channel is read), the 2D sliding window (sliding_window.c) blends the model's
 * windows over it into one slice of logits, and that slice is written back
 * at its place in the volume. The workspace holds the stack, the slice of
 * logits and the 2D run's own workspace; nothing else is allocated or
 * copied. */
#include "unetrc_sw.h"

#include <string.h>

#include "sw_reserve.h"

/* A validated 2.5D run: the 2D spec of one slice and the strides of the
 * volume (elements) along the slice axis and the plane's two axes. */
typedef struct sl_geom {
    unetrc_sw_spec plane;
    int64_t n_slices, stride, stride_p, stride_q, vox, plane_vox;
    size_t stack, slice_out, sw, total; /* workspace offsets and size */
} sl_geom;

static unetrc_status make_geom(const unetrc_sw_slices_spec *spec, const unetrc_sw_options *opt, unetrc_sw_plan *pp,
                               sl_geom *g) {
    if (!spec || !opt) return UNETRC_ERR_NULL;
    int k = spec->slices, ax = spec->axis;
    if (k < 1 || k % 2 == 0 || ax < 0 || ax > 2) return UNETRC_ERR_ARGUMENT;
    if (spec->in_channels < 1 || spec->in_channels > INT64_MAX / k) return UNETRC_ERR_ARGUMENT;
    for (int a = 0; a < 3; a++)
        if (spec->image[a] < 1) return UNETRC_ERR_ARGUMENT;
    memset(g, 0, sizeof *g);
    const int64_t *im = spec->image;
    int p = ax == 0 ? 1 : 0, q = ax == 2 ? 1 : 2; /* the plane's axes, in storage order */
    int64_t strides[3] = {im[1] * im[2], im[2], 1};
    if (im[1] > INT64_MAX / im[2] || strides[0] > INT64_MAX / im[0]) return UNETRC_ERR_ARGUMENT;
    g->plane = (unetrc_sw_spec){
        2, spec->in_channels * k, spec->out_channels, {im[p], im[q], 0}, {spec->roi[0], spec->roi[1], 0}};
    g->n_slices = im[ax];
    g->stride = strides[ax];
    g->stride_p = strides[p];
    g->stride_q = strides[q];
    g->vox = strides[0] * im[0];
    g->plane_vox = im[p] * im[q];
    /* The 2D run checks channels, roi, options and its byte counts; the
     * stack is its input and the slice of logits its output. */
    unetrc_status st = unetrc_sw_plan_make(&g->plane, opt, pp);
    if (st != UNETRC_OK) return st;
    /* The volumes' bytes are the plane's times the slices (the stack holds
     * K planes per channel). */
    if (pp->predictions > INT64_MAX / g->n_slices || pp->input_bytes / (size_t)k > SIZE_MAX / (size_t)g->n_slices ||
        pp->output_bytes > SIZE_MAX / (size_t)g->n_slices)
        return UNETRC_ERR_ARGUMENT;
    size_t at = 0;
    if (!sw_reserve(&at, pp->input_bytes, &g->stack) || !sw_reserve(&at, pp->output_bytes, &g->slice_out) ||
        !sw_reserve(&at, pp->workspace_bytes, &g->sw))
        return UNETRC_ERR_ARGUMENT;
    g->total = at;
    return UNETRC_OK;
}

unetrc_status unetrc_sw_slices_plan_make(const unetrc_sw_slices_spec *spec, const unetrc_sw_options *opt,
                                         unetrc_sw_slices_plan *plan) {
    if (!plan) return UNETRC_ERR_NULL;
    memset(plan, 0, sizeof *plan);
    sl_geom g;
    unetrc_sw_plan pp;
    unetrc_status st = make_geom(spec, opt, &pp, &g);
    if (st != UNETRC_OK) return st;
    plan->plane = pp;
    plan->plane_size[0] = g.plane.image[0];
    plan->plane_size[1] = g.plane.image[1];
    plan->n_slices = g.n_slices;
    plan->windows = pp.windows * g.n_slices;
    plan->predictions = pp.predictions * g.n_slices;
    plan->input_bytes = pp.input_bytes / (size_t)spec->slices * (size_t)g.n_slices;
    plan->output_bytes = pp.output_bytes * (size_t)g.n_slices;
    plan->stack_bytes = pp.input_bytes;
    plan->slice_out_bytes = pp.output_bytes;
    plan->workspace_bytes = g.total;
    return UNETRC_OK;
}

/* The slice index i clamped to the volume: replication at the edges. */
static int64_t clamp_slice(const sl_geom *g, int64_t i) { return i < 0 ? 0 : i >= g->n_slices ? g->n_slices - 1 : i; }

/* dst[a][b] = the plane of slice t of one channel (src). Along the last
 * axis (stride 1) a plane is a strided gather; otherwise its rows (along W)
 * are contiguous. */
static void get_plane(const sl_geom *g, const float *src, int64_t t, float *dst) {
    const int64_t n0 = g->plane.image[0], n1 = g->plane.image[1];
    const float *v = src + t * g->stride;
    for (int64_t a = 0; a < n0; a++)
        if (g->stride_q == 1) memcpy(dst + a * n1, v + a * g->stride_p, (size_t)n1 * sizeof(float));
        else
            for (int64_t b = 0; b < n1; b++) dst[a * n1 + b] = v[a * g->stride_p + b * g->stride_q];
}

/* stack[c*K + j] = plane of slice clamp(s - K/2 + j) of channel c. Slice 0
 * fills every plane; each later slice moves the planes of the one before
 * down by one (plane j of s is plane j+1 of s-1, the clamping included) and
 * reads only its last neighbour: one plane per channel and slice read from
 * the volume, whatever K. */
static void stack_slices(const sl_geom *g, const float *in, int64_t cin, int k, int64_t s, float *stack) {
    for (int64_t c = 0; c < cin; c++) {
        const float *src = in + c * g->vox;
        float *dst = stack + c * k * g->plane_vox;
        if (s == 0) {
            for (int j = 0; j < k; j++) get_plane(g, src, clamp_slice(g, j - k / 2), dst + j * g->plane_vox);
            continue;
        }
        memmove(dst, dst + g->plane_vox, (size_t)((k - 1) * g->plane_vox) * sizeof(float));
        get_plane(g, src, clamp_slice(g, s + k / 2), dst + (k - 1) * g->plane_vox);
    }
}

/* out[o] at slice s = the slice's logits of channel o. */
static void put_slice(const sl_geom *g, const float *slice, int64_t cout, int64_t s, float *out) {
    const int64_t n0 = g->plane.image[0], n1 = g->plane.image[1];
    for (int64_t o = 0; o < cout; o++) {
        float *dst = out + o * g->vox + s * g->stride;
        const float *src = slice + o * g->plane_vox;
        for (int64_t a = 0; a < n0; a++)
            if (g->stride_q == 1) memcpy(dst + a * g->stride_p, src + a * n1, (size_t)n1 * sizeof(float));
            else
                for (int64_t b = 0; b < n1; b++) dst[a * g->stride_p + b * g->stride_q] = src[a * n1 + b];
    }
}

/* The caller's progress callback over all slices: done counts on from the
 * windows of the slices before. */
typedef struct sl_progress {
    const unetrc_sw_options *opt;
    int64_t before, total;
} sl_progress;

static int on_window(void *ctx, int64_t done, int64_t total) {
    (void)total;
    const sl_progress *p = ctx;
    return p->opt->progress(p->opt->progress_ctx, p->before + done, p->total);
}

unetrc_status unetrc_sw_slices_run(const unetrc_sw_slices_spec *spec, const unetrc_sw_options *opt, const float *input,
                                   float *output, void *workspace, size_t workspace_bytes, unetrc_sw_predict_fn predict,
                                   void *predict_ctx) {
    if (!input || !output || !workspace || !predict) return UNETRC_ERR_NULL;
    sl_geom g;
    unetrc_sw_plan pp;
    unetrc_status st = make_geom(spec, opt, &pp, &g);
    if (st != UNETRC_OK) return st;
    if ((uintptr_t)workspace % SW_ALIGN) return UNETRC_ERR_ALIGN;
    if (workspace_bytes < g.total) return UNETRC_ERR_WORKSPACE;
    unsigned char *ws = workspace;
    float *stack = (float *)(void *)(ws + g.stack), *slice = (float *)(void *)(ws + g.slice_out);
    unetrc_sw_options o = *opt;
    sl_progress pr = {opt, 0, pp.windows * g.n_slices};
    if (opt->progress) {
        o.progress = on_window;
        o.progress_ctx = &pr;
    }
    for (int64_t s = 0; s < g.n_slices; s++) {
        stack_slices(&g, input, spec->in_channels, spec->slices, s, stack);
        st = unetrc_sw_run(&g.plane, &o, stack, slice, ws + g.sw, pp.workspace_bytes, predict, predict_ctx);
        if (st != UNETRC_OK) return st;
        put_slice(&g, slice, spec->out_channels, s, output);
        pr.before += pp.windows;
    }
    return UNETRC_OK;
}
