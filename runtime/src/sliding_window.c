/* sliding_window.c: whole-volume inference with MONAI 1.3.2
 * sliding_window_inference semantics (see unetrc_sw.h, docs/segment.md).
 *
 * Internally every run is 3D: a 2D run gets a leading axis of size 1 (image
 * 1, roi 1, one window), which changes no value and no summation order.
 * Padding is never materialised: a window reads cval where it lies outside
 * the image, and only the voxels inside the image are accumulated, so the
 * caller's output volume is the accumulator. MONAI's count map (the sum of
 * the importance maps of the windows covering a voxel) is not stored
 * either: it is summed at the end one image row at a time, adding the
 * windows in window order — the order MONAI adds them in, so every voxel
 * gets the same float32 sum. */
#include "unetrc_sw.h"

#include <math.h>
#include <string.h>

#include "sw_reserve.h"

/* A validated run on 3 internal axes (z, y, x). */
typedef struct sw_geom {
    int64_t cin, cout;
    int64_t image[3], roi[3], pad_lo[3], pad_hi[3], interval[3], count[3];
    double sigma_scale[3];
    unsigned flips; /* bit a: internal axis a is flipped by the TTA */
    int64_t windows, predictions;
    size_t image_vox, roi_vox;
} sw_geom;

/* The caller's volumes, and where each part of the workspace starts
 * (bytes, 64-byte aligned). */
typedef struct sw_layout {
    size_t input_bytes, output_bytes;
    size_t map, win_in, win_out, win_flip, factors, count_row, starts, total;
    size_t map_bytes, in_bytes, out_bytes, flip_bytes, table_bytes;
} sw_layout;

void unetrc_sw_default_options(unetrc_sw_options *opt) {
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    for (int a = 0; a < 3; a++) {
        opt->overlap[a] = 0.25;
        opt->sigma_scale[a] = 0.125;
    }
    opt->mode = UNETRC_SW_CONSTANT;
}

/* *r = a * b; 0 on size_t overflow. */
static int mul_size(size_t a, size_t b, size_t *r) {
    if (b && a > SIZE_MAX / b) return 0;
    *r = a * b;
    return 1;
}

/* *acc += b; 0 on size_t overflow. */
static int add_size(size_t *acc, size_t b) {
    if (b > SIZE_MAX - *acc) return 0;
    *acc += b;
    return 1;
}

/* Validates spec and options and derives the window grid: MONAI's padding,
 * _get_scan_interval and dense_patch_slices, on the padded size. */
static unetrc_status make_geom(const unetrc_sw_spec *spec, const unetrc_sw_options *opt, sw_geom *g) {
    if (!spec || !opt) return UNETRC_ERR_NULL;
    int sd = spec->spatial_dims;
    if (sd != 2 && sd != 3) return UNETRC_ERR_ARGUMENT;
    if (spec->in_channels < 1 || spec->out_channels < 1) return UNETRC_ERR_ARGUMENT;
    if ((uint64_t)spec->in_channels > SIZE_MAX / sizeof(float) ||
        (uint64_t)spec->out_channels > SIZE_MAX / sizeof(float))
        return UNETRC_ERR_ARGUMENT;
    if (opt->mode != UNETRC_SW_CONSTANT && opt->mode != UNETRC_SW_GAUSSIAN) return UNETRC_ERR_ARGUMENT;
    if (opt->flip_axes >> sd) return UNETRC_ERR_ARGUMENT;
    if (!isfinite(opt->cval)) return UNETRC_ERR_ARGUMENT;
    memset(g, 0, sizeof *g);
    g->cin = spec->in_channels;
    g->cout = spec->out_channels;
    g->image_vox = g->roi_vox = 1;
    for (int a = 0; a < 3; a++) {
        int u = a - (3 - sd); /* the caller's axis; < 0 for the 2D dummy axis */
        int64_t im = u < 0 ? 1 : spec->image[u], roi = u < 0 ? 1 : spec->roi[u];
        double ov = u < 0 ? 0 : opt->overlap[u], ss = u < 0 ? 1 : opt->sigma_scale[u];
        if (im < 1 || roi < 1 || (uint64_t)im > SIZE_MAX || (uint64_t)roi > SIZE_MAX) return UNETRC_ERR_ARGUMENT;
        if (!(ov >= 0 && ov < 1)) return UNETRC_ERR_ARGUMENT; /* NaN fails too */
        if (opt->mode == UNETRC_SW_GAUSSIAN && !(ss > 0 && isfinite(ss * (double)roi))) return UNETRC_ERR_ARGUMENT;
        /* Keeps the int64 arithmetic on positions (size - roi + interval)
         * far from overflow. */
        if (im > INT64_MAX / 4 || roi > INT64_MAX / 4) return UNETRC_ERR_ARGUMENT;
        if (!mul_size(g->image_vox, (size_t)im, &g->image_vox) || !mul_size(g->roi_vox, (size_t)roi, &g->roi_vox))
            return UNETRC_ERR_ARGUMENT;
        g->image[a] = im;
        g->roi[a] = roi;
        g->sigma_scale[a] = ss;
        /* Constant padding where the image is smaller than the roi: half
         * (rounded down) before, the rest after (MONAI's pad_size). */
        int64_t diff = roi > im ? roi - im : 0, size = im + diff; /* size = max(image, roi) */
        g->pad_lo[a] = diff / 2;
        g->pad_hi[a] = diff - diff / 2;
        /* Scan interval: the roi where it spans the padded image, else
         * int(roi * (1 - overlap)) in double as Python computes it, at
         * least 1. */
        int64_t iv = roi;
        if (roi != size) {
            iv = (int64_t)((double)roi * (1.0 - ov));
            if (iv < 1) iv = 1;
        }
        g->interval[a] = iv;
        /* Window positions: one more than the first d with
         * d * interval + roi >= size. */
        g->count[a] = size > roi ? (size - roi + iv - 1) / iv + 1 : 1;
        if (u >= 0 && (opt->flip_axes >> u & 1u)) g->flips |= 1u << a;
    }
    g->windows = g->predictions = 1;
    for (int a = 0; a < 3; a++) {
        if (g->count[a] > INT64_MAX / 8 / g->windows) return UNETRC_ERR_ARGUMENT;
        g->windows *= g->count[a];
        g->predictions *= (g->flips >> a & 1u) ? 2 * g->count[a] : g->count[a];
    }
    return UNETRC_OK;
}

/* Start of window k along axis a, in padded coordinates: k * interval, the
 * last one moved back to end at the padded size. */
static int64_t window_start(const sw_geom *g, int a, int64_t k) {
    int64_t size = g->image[a] > g->roi[a] ? g->image[a] : g->roi[a], s = k * g->interval[a];
    return s + g->roi[a] > size ? size - g->roi[a] : s;
}

static int make_layout(const sw_geom *g, sw_layout *L) {
    memset(L, 0, sizeof *L);
    /* Tables: the 1D gaussian factors, one image row of the count map
     * (floats) and the window starts per axis (int64). */
    size_t n_factor = 0, n_start = 0, factor_bytes, row_bytes, start_bytes;
    for (int a = 0; a < 3; a++)
        if (!add_size(&n_factor, (size_t)g->roi[a]) || !add_size(&n_start, (size_t)g->count[a])) return 0;
    if (!mul_size(n_factor, sizeof(float), &factor_bytes) || !mul_size(n_start, sizeof(int64_t), &start_bytes) ||
        !mul_size((size_t)g->image[2], sizeof(float), &row_bytes) ||
        !mul_size(g->roi_vox, sizeof(float), &L->map_bytes) ||
        !mul_size(g->roi_vox, (size_t)g->cin * sizeof(float), &L->in_bytes) ||
        !mul_size(g->roi_vox, (size_t)g->cout * sizeof(float), &L->out_bytes) ||
        !mul_size(g->image_vox, (size_t)g->cin * sizeof(float), &L->input_bytes) ||
        !mul_size(g->image_vox, (size_t)g->cout * sizeof(float), &L->output_bytes))
        return 0;
    L->flip_bytes = g->flips ? L->out_bytes : 0;
    size_t at = 0;
    if (!sw_reserve(&at, L->map_bytes, &L->map) || !sw_reserve(&at, L->in_bytes, &L->win_in) ||
        !sw_reserve(&at, L->out_bytes, &L->win_out) || !sw_reserve(&at, L->flip_bytes, &L->win_flip))
        return 0;
    size_t tables = at;
    if (!sw_reserve(&at, factor_bytes, &L->factors) || !sw_reserve(&at, row_bytes, &L->count_row) ||
        !sw_reserve(&at, start_bytes, &L->starts))
        return 0;
    L->table_bytes = at - tables;
    L->total = at;
    return 1;
}

unetrc_status unetrc_sw_plan_make(const unetrc_sw_spec *spec, const unetrc_sw_options *opt, unetrc_sw_plan *plan) {
    if (!plan) return UNETRC_ERR_NULL;
    memset(plan, 0, sizeof *plan);
    sw_geom g;
    sw_layout L;
    unetrc_status st = make_geom(spec, opt, &g);
    if (st != UNETRC_OK) return st;
    if (!make_layout(&g, &L)) return UNETRC_ERR_ARGUMENT;
    int off = 3 - spec->spatial_dims;
    for (int u = 0; u < spec->spatial_dims; u++) {
        plan->pad_lo[u] = g.pad_lo[u + off];
        plan->pad_hi[u] = g.pad_hi[u + off];
        plan->interval[u] = g.interval[u + off];
        plan->count[u] = g.count[u + off];
    }
    if (spec->spatial_dims == 2) {
        plan->interval[2] = 1;
        plan->count[2] = 1;
    }
    plan->windows = g.windows;
    plan->predictions = g.predictions;
    plan->input_bytes = L.input_bytes;
    plan->output_bytes = L.output_bytes;
    plan->window_in_bytes = L.in_bytes;
    plan->window_out_bytes = L.out_bytes;
    plan->flip_bytes = L.flip_bytes;
    plan->map_bytes = L.map_bytes;
    plan->table_bytes = L.table_bytes;
    plan->workspace_bytes = L.total;
    return UNETRC_OK;
}

/* MONAI's compute_importance_map on the roi, in float32 as MONAI computes
 * it. Constant: ones. Gaussian: per axis of size n, x = -(n-1)/2 .. (n-1)/2
 * and f(x) = exp(x*x / (-2 sigma^2)) with sigma = sigma_scale * n (the
 * divisor rounded to float once, as torch does with a Python scalar); the
 * map is the product ((f_z * f_y) * f_x), not normalised (its peak is 1
 * only for odd sizes). Then values below 1e-3 are raised to 1e-3 (MONAI
 * clamps to max(min(map), 1e-3)), so that no voxel has zero weight. */
static void build_map(const sw_geom *g, int mode, float *map, float *factors) {
    if (mode == UNETRC_SW_CONSTANT) {
        for (size_t i = 0; i < g->roi_vox; i++) map[i] = 1.0f;
        return;
    }
    float *f[3];
    f[0] = factors;
    f[1] = f[0] + g->roi[0];
    f[2] = f[1] + g->roi[1];
    for (int a = 0; a < 3; a++) {
        int64_t n = g->roi[a];
        double sigma = (double)n * g->sigma_scale[a];
        float div = (float)(-2.0 * (sigma * sigma));
        for (int64_t k = 0; k < n; k++) {
            float x = (float)((double)k - (double)(n - 1) / 2.0);
            f[a][k] = expf(x * x / div);
        }
    }
    float *m = map;
    for (int64_t z = 0; z < g->roi[0]; z++)
        for (int64_t y = 0; y < g->roi[1]; y++) {
            float zy = f[0][z] * f[1][y];
            for (int64_t x = 0; x < g->roi[2]; x++) *m++ = zy * f[2][x];
        }
    for (size_t i = 0; i < g->roi_vox; i++)
        if (map[i] < 1e-3f) map[i] = 1e-3f;
}

/* dst[q] = src[x0 + q] (flip: src[x0 + r-1-q]) for q < r where that index
 * is inside [0, n), else cval: one row of a window, from one image row. */
static void gather_row(const float *restrict src, int64_t n, int64_t x0, int64_t r, int flip, float cval,
                       float *restrict dst) {
    int64_t lo = flip ? r - n + x0 : -x0, hi = flip ? r + x0 : n - x0; /* q range inside the image */
    lo = lo < 0 ? 0 : lo > r ? r : lo;
    hi = hi < lo ? lo : hi > r ? r : hi;
    for (int64_t q = 0; q < lo; q++) dst[q] = cval;
    if (flip)
        for (int64_t q = lo; q < hi; q++) dst[q] = src[x0 + r - 1 - q];
    else memcpy(dst + lo, src + x0 + lo, (size_t)(hi - lo) * sizeof(float));
    for (int64_t q = hi; q < r; q++) dst[q] = cval;
}

/* Copies the window at padded start s into win (cin x roi), cval outside
 * the image, flipped along the internal axes in `flips` (bit 0 = z): win[q]
 * = padded_input[s + (flipped ? roi-1-q : q)], i.e. torch.flip of the
 * window. */
static void gather(const sw_geom *g, const float *in, float cval, const int64_t s[3], unsigned flips, float *win) {
    const int64_t *im = g->image, *r = g->roi;
    for (int64_t c = 0; c < g->cin; c++)
        for (int64_t qz = 0; qz < r[0]; qz++) {
            int64_t iz = s[0] + ((flips & 1u) ? r[0] - 1 - qz : qz) - g->pad_lo[0];
            for (int64_t qy = 0; qy < r[1]; qy++) {
                int64_t iy = s[1] + ((flips & 2u) ? r[1] - 1 - qy : qy) - g->pad_lo[1];
                float *dst = win + ((size_t)(c * r[0] + qz) * (size_t)r[1] + (size_t)qy) * (size_t)r[2];
                if (iz < 0 || iz >= im[0] || iy < 0 || iy >= im[1]) {
                    for (int64_t qx = 0; qx < r[2]; qx++) dst[qx] = cval;
                    continue;
                }
                const float *src = in + ((size_t)(c * im[0] + iz) * (size_t)im[1] + (size_t)iy) * (size_t)im[2];
                gather_row(src, im[2], s[2] - g->pad_lo[2], r[2], (flips & 4u) != 0, cval, dst);
            }
        }
}

/* acc[q] += pred[flip(q)]: a prediction on a flipped window, flipped back. */
static void add_flipped(const sw_geom *g, const float *pred, unsigned flips, float *acc) {
    const int64_t *r = g->roi;
    for (int64_t c = 0; c < g->cout; c++)
        for (int64_t qz = 0; qz < r[0]; qz++) {
            int64_t pz = (flips & 1u) ? r[0] - 1 - qz : qz;
            for (int64_t qy = 0; qy < r[1]; qy++) {
                int64_t py = (flips & 2u) ? r[1] - 1 - qy : qy;
                float *restrict dst = acc + ((size_t)(c * r[0] + qz) * (size_t)r[1] + (size_t)qy) * (size_t)r[2];
                const float *restrict src = pred + ((size_t)(c * r[0] + pz) * (size_t)r[1] + (size_t)py) * (size_t)r[2];
                if (flips & 4u)
                    for (int64_t qx = 0; qx < r[2]; qx++) dst[qx] += src[r[2] - 1 - qx];
                else
                    for (int64_t qx = 0; qx < r[2]; qx++) dst[qx] += src[qx];
            }
        }
}

/* out[v] += win[q] * map[q] over the window's voxels inside the image
 * (MONAI: the weighted window added to the output, in float32). */
static void accumulate(const sw_geom *g, const float *win, const float *map, const int64_t s[3], float *out) {
    const int64_t *im = g->image, *r = g->roi;
    int64_t x0 = s[2] - g->pad_lo[2]; /* image column of window column 0 */
    int64_t lo = x0 < 0 ? -x0 : 0, hi = im[2] - x0 < r[2] ? im[2] - x0 : r[2];
    for (int64_t c = 0; c < g->cout; c++)
        for (int64_t qz = 0; qz < r[0]; qz++) {
            int64_t iz = s[0] + qz - g->pad_lo[0];
            if (iz < 0 || iz >= im[0]) continue;
            for (int64_t qy = 0; qy < r[1]; qy++) {
                int64_t iy = s[1] + qy - g->pad_lo[1];
                if (iy < 0 || iy >= im[1]) continue;
                size_t m = ((size_t)qz * (size_t)r[1] + (size_t)qy) * (size_t)r[2];
                const float *restrict w = win + (size_t)c * g->roi_vox + m + lo, *restrict mp = map + m + lo;
                float *restrict dst =
                    out + ((size_t)(c * im[0] + iz) * (size_t)im[1] + (size_t)iy) * (size_t)im[2] + (x0 + lo);
                for (int64_t q = 0; q < hi - lo; q++) dst[q] += w[q] * mp[q];
            }
        }
}

/* out /= the sum of the importance maps of the windows covering each voxel.
 * Per image row (z, y): the map rows of the covering windows are added to
 * a row of sums, windows in the order dense_patch_slices lists them (z,
 * then y, then x), so each voxel sums its windows in MONAI's order. */
static void normalise(const sw_geom *g, const float *map, int64_t *const starts[3], float *count, float *out) {
    const int64_t *im = g->image, *r = g->roi, *pl = g->pad_lo;
    for (int64_t z = 0; z < im[0]; z++)
        for (int64_t y = 0; y < im[1]; y++) {
            for (int64_t x = 0; x < im[2]; x++) count[x] = 0.0f;
            for (int64_t kz = 0; kz < g->count[0]; kz++) {
                int64_t qz = z + pl[0] - starts[0][kz];
                if (qz < 0 || qz >= r[0]) continue;
                for (int64_t ky = 0; ky < g->count[1]; ky++) {
                    int64_t qy = y + pl[1] - starts[1][ky];
                    if (qy < 0 || qy >= r[1]) continue;
                    const float *mrow = map + ((size_t)qz * (size_t)r[1] + (size_t)qy) * (size_t)r[2];
                    for (int64_t kx = 0; kx < g->count[2]; kx++) {
                        int64_t x0 = starts[2][kx] - pl[2]; /* image column of window column 0 */
                        int64_t lo = x0 < 0 ? -x0 : 0, hi = im[2] - x0 < r[2] ? im[2] - x0 : r[2];
                        float *restrict cnt = count + (x0 + lo);
                        const float *restrict mp = mrow + lo;
                        for (int64_t q = 0; q < hi - lo; q++) cnt[q] += mp[q];
                    }
                }
            }
            for (int64_t c = 0; c < g->cout; c++) {
                float *restrict o = out + ((size_t)(c * im[0] + z) * (size_t)im[1] + (size_t)y) * (size_t)im[2];
                for (int64_t x = 0; x < im[2]; x++) o[x] /= count[x];
            }
        }
}

unetrc_status unetrc_sw_run(const unetrc_sw_spec *spec, const unetrc_sw_options *opt, const float *input, float *output,
                            void *workspace, size_t workspace_bytes, unetrc_sw_predict_fn predict, void *predict_ctx) {
    if (!input || !output || !workspace || !predict) return UNETRC_ERR_NULL;
    sw_geom g;
    sw_layout L;
    unetrc_status st = make_geom(spec, opt, &g);
    if (st != UNETRC_OK) return st;
    if (!make_layout(&g, &L)) return UNETRC_ERR_ARGUMENT;
    if ((uintptr_t)workspace % SW_ALIGN) return UNETRC_ERR_ALIGN;
    if (workspace_bytes < L.total) return UNETRC_ERR_WORKSPACE;

    unsigned char *ws = workspace;
    float *map = (float *)(void *)(ws + L.map), *win_in = (float *)(void *)(ws + L.win_in);
    float *win_out = (float *)(void *)(ws + L.win_out), *win_flip = (float *)(void *)(ws + L.win_flip);
    int64_t *starts[3];
    starts[0] = (int64_t *)(void *)(ws + L.starts);
    starts[1] = starts[0] + g.count[0];
    starts[2] = starts[1] + g.count[1];
    for (int a = 0; a < 3; a++)
        for (int64_t k = 0; k < g.count[a]; k++) starts[a][k] = window_start(&g, a, k);
    build_map(&g, opt->mode, map, (float *)(void *)(ws + L.factors));
    memset(output, 0, L.output_bytes);

    /* Flip TTA: every subset of the flipped axes, identity first, in
     * increasing bit order; their mean is what gets blended. */
    unsigned n_flips = 0;
    for (unsigned m = 0; m < 8; m++) n_flips += (m & ~g.flips) == 0;
    size_t out_n = (size_t)g.cout * g.roi_vox;
    int64_t done = 0;
    for (int64_t kz = 0; kz < g.count[0]; kz++)
        for (int64_t ky = 0; ky < g.count[1]; ky++)
            for (int64_t kx = 0; kx < g.count[2]; kx++) {
                const int64_t s[3] = {starts[0][kz], starts[1][ky], starts[2][kx]};
                gather(&g, input, opt->cval, s, 0, win_in);
                if (predict(predict_ctx, win_in, win_out) != 0) return UNETRC_ERR_PREDICT;
                if (g.flips) {
                    for (unsigned m = 1; m < 8; m++) {
                        if (m & ~g.flips) continue;
                        gather(&g, input, opt->cval, s, m, win_in);
                        if (predict(predict_ctx, win_in, win_flip) != 0) return UNETRC_ERR_PREDICT;
                        add_flipped(&g, win_flip, m, win_out);
                    }
                    for (size_t i = 0; i < out_n; i++) win_out[i] /= (float)n_flips;
                }
                accumulate(&g, win_out, map, s, output);
                done++;
                if (opt->progress && opt->progress(opt->progress_ctx, done, g.windows) != 0)
                    return UNETRC_ERR_CANCELLED;
            }
    normalise(&g, map, starts, (float *)(void *)(ws + L.count_row), output);
    return UNETRC_OK;
}
