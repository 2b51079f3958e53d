/* png.c: a PNG overview of a segmentation through libpng (unetrc_io.h,
 * docs/io.md): three orthogonal slices through the labelled region, grey
 * image, coloured labels, a legend drawn with a built-in 5x7 digit font. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_internal.h"

#define MARGIN 8
#define MIN_PANEL 256  /* the largest panel side is scaled up to at least this many pixels */
#define MAX_PANEL 1024 /* and down to at most this many */
#define FONT_SCALE 2
#define SWATCH 14
#define MAX_LEGEND 64

/* ---- colours ------------------------------------------------------------- */

/* Labels 1..20: twenty colours far apart from each other; other values get
 * a colour from a hash of the value. Label 0 (background) is not drawn. */
static const unsigned char PALETTE[20][3] = {
    {230, 25, 75},   {60, 180, 75},   {255, 225, 25},  {0, 130, 200},   {245, 130, 48},
    {145, 30, 180},  {70, 240, 240},  {240, 50, 230},  {210, 245, 60},  {250, 190, 212},
    {0, 128, 128},   {220, 190, 255}, {170, 110, 40},  {255, 250, 200}, {128, 0, 0},
    {170, 255, 195}, {128, 128, 0},   {255, 215, 180}, {0, 0, 128},     {128, 128, 128},
};

void unetrc_label_color(int32_t value, unsigned char rgb[3]) {
    if (value == 0) {
        rgb[0] = rgb[1] = rgb[2] = 0;
    } else if (value >= 1 && value <= 20) {
        memcpy(rgb, PALETTE[value - 1], 3);
    } else {
        uint32_t h = (uint32_t)value * 2654435761u;
        h ^= h >> 15;
        for (int i = 0; i < 3; i++) rgb[i] = (unsigned char)(64 + ((h >> (8 * i)) & 0xff) % 192);
    }
}

/* ---- font ------------------------------------------------------------------ */

/* 5x7 glyphs, one byte per row, bit 4 = leftmost column: digits, '-' and
 * '+' (the legend's "more labels than shown"). */
static const unsigned char GLYPHS[12][7] = {
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, /* 0 */
    {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* 1 */
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, /* 2 */
    {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}, /* 3 */
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, /* 4 */
    {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}, /* 5 */
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, /* 6 */
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, /* 7 */
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, /* 8 */
    {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}, /* 9 */
    {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00}, /* - */
    {0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00}, /* + */
};

typedef struct canvas {
    unsigned char *px; /* RGB rows */
    int w, h;
} canvas;

static void put(canvas *cv, int x, int y, const unsigned char rgb[3]) {
    if (x < 0 || y < 0 || x >= cv->w || y >= cv->h) return;
    memcpy(cv->px + ((size_t)y * (size_t)cv->w + (size_t)x) * 3, rgb, 3);
}

static void draw_char(canvas *cv, int x, int y, char ch, const unsigned char rgb[3]) {
    int g = ch >= '0' && ch <= '9' ? ch - '0' : ch == '-' ? 10 : 11;
    for (int r = 0; r < 7; r++)
        for (int c = 0; c < 5; c++)
            if (GLYPHS[g][r] >> (4 - c) & 1)
                for (int dy = 0; dy < FONT_SCALE; dy++)
                    for (int dx = 0; dx < FONT_SCALE; dx++)
                        put(cv, x + c * FONT_SCALE + dx, y + r * FONT_SCALE + dy, rgb);
}

static void draw_text(canvas *cv, int x, int y, const char *s, const unsigned char rgb[3]) {
    for (; *s; s++, x += 6 * FONT_SCALE) draw_char(cv, x, y, *s, rgb);
}

/* ---- slices ------------------------------------------------------------------ */

/* One panel: voxels where axis `slice_axis` is `slice_at`; pixel columns run
 * along voxel axis h_axis (reversed when h_flip), rows along v_axis. */
typedef struct panel {
    int slice_axis, h_axis, v_axis, h_flip, v_flip;
    int64_t slice_at;
    int w, h, x0, y0;
} panel;

typedef struct vol {
    const float *image;
    const int32_t *labels;
    int64_t n[3];
    double spacing[3];
} vol;

static int64_t voxel_index(const vol *v, const panel *p, int64_t hi, int64_t vi) {
    int64_t idx[3];
    idx[p->slice_axis] = p->slice_at;
    idx[p->h_axis] = p->h_flip ? v->n[p->h_axis] - 1 - hi : hi;
    idx[p->v_axis] = p->v_flip ? v->n[p->v_axis] - 1 - vi : vi;
    return (idx[0] * v->n[1] + idx[1]) * v->n[2] + idx[2];
}

/* Voxel along an axis for pixel coordinate q of a panel drawn at mm_per_px. */
static int64_t pixel_to_voxel(int q, double mm_per_px, double spacing, int64_t n) {
    int64_t i = (int64_t)floor((q + 0.5) * mm_per_px / spacing);
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The voxel axis closest to each world axis (x, y, z) and whether the world
 * coordinate grows with the index, from the affine's columns (greedy on
 * the largest normalised entry, so the three axes are distinct). */
static void orient(const double a[4][4], int axis_of_world[3], int grows[3]) {
    int used_w[3] = {0}, used_a[3] = {0};
    double norm[3];
    for (int c = 0; c < 3; c++) {
        norm[c] = sqrt(a[0][c] * a[0][c] + a[1][c] * a[1][c] + a[2][c] * a[2][c]);
        if (!(norm[c] > 0) || !isfinite(norm[c])) norm[c] = 1;
    }
    for (int round = 0; round < 3; round++) {
        int bw = -1, bc = -1;
        double best = -1;
        for (int w = 0; w < 3; w++)
            for (int c = 0; c < 3; c++) {
                if (used_w[w] || used_a[c]) continue;
                double v = fabs(a[w][c]) / norm[c];
                if (!isfinite(v)) v = 0;
                if (v > best) best = v, bw = w, bc = c;
            }
        used_w[bw] = used_a[bc] = 1;
        axis_of_world[bw] = bc;
        grows[bw] = a[bw][bc] >= 0;
    }
}

typedef struct png_ctx {
    io_out *out;
    jmp_buf jmp;
    char msg[200];
    unetrc_status st;
    char *err;
    size_t errlen;
} png_ctx;

static void png_error_fn(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    longjmp(c->jmp, 1);
}

static void png_warning_fn(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static void png_write_fn(png_structp png, png_bytep data, size_t n) {
    png_ctx *c = png_get_io_ptr(png);
    c->st = io_out_write(c->out, data, n, c->err, c->errlen);
    if (c->st != UNETRC_OK) png_error(png, "write failed");
}

static void png_flush_fn(png_structp png) { (void)png; }

/* Encodes the canvas into the open output file. libpng reports errors by
 * longjmp; the context is on the heap so that nothing setjmp's caller
 * changes lives in its frame. */
static unetrc_status encode(canvas *cv, io_out *out, const char *path, char *err, size_t errlen) {
    png_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return io_fail(err, errlen, UNETRC_ERR_NOMEM, path, "out of memory");
    ctx->out = out;
    ctx->st = UNETRC_OK;
    ctx->err = err;
    ctx->errlen = errlen;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, png_error_fn, png_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        free(ctx);
        return io_fail(err, errlen, UNETRC_ERR_NOMEM, path, "out of memory");
    }
    if (setjmp(ctx->jmp)) {
        png_destroy_write_struct(&png, &info);
        unetrc_status st = ctx->st != UNETRC_OK ? ctx->st /* the write error, already in err */
                                                : io_fail(err, errlen, UNETRC_ERR_IO, path, "libpng: %s", ctx->msg);
        free(ctx);
        return st;
    }
    png_set_write_fn(png, ctx, png_write_fn, png_flush_fn);
    png_set_IHDR(png, info, (png_uint_32)cv->w, (png_uint_32)cv->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 6);
    png_write_info(png, info);
    for (int y = 0; y < cv->h; y++) png_write_row(png, cv->px + (size_t)y * (size_t)cv->w * 3);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(ctx);
    return UNETRC_OK;
}

/* Draws the overview and writes it to `path` atomically, or with a stream
 * function hands the PNG's bytes to fn. */
static unetrc_status overview(const char *path, const float *image, const int32_t *labels,
                              const unetrc_nifti_geometry *g, unetrc_write_fn fn, void *fn_ctx, char *err,
                              size_t errlen) {
    if (err && errlen) err[0] = 0;
    if (!path || !image || !g) return UNETRC_ERR_NULL;
    vol v = {image, labels, {g->dim[0], g->dim[1], g->dim[2]}, {0}};
    int64_t nvox;
    if (v.n[0] < 1 || v.n[1] < 1 || v.n[2] < 1 || !io_mul_ok(v.n[0], v.n[1], &nvox) || !io_mul_ok(nvox, v.n[2], &nvox))
        return io_fail(err, errlen, UNETRC_ERR_SIZE, path, "bad geometry dimensions");
    for (int a = 0; a < 3; a++) {
        double s = fabs(g->pixdim[a + 1]);
        v.spacing[a] = s > 0 && isfinite(s) ? s : 1;
    }

    /* Centre of mass of the nonzero labels (the volume centre when none),
     * and the label values present (sorted, at most MAX_LEGEND + 1 kept). */
    int64_t centre[3] = {v.n[0] / 2, v.n[1] / 2, v.n[2] / 2};
    int32_t present[MAX_LEGEND + 1];
    int npresent = 0, more = 0;
    if (labels) {
        double sum[3] = {0, 0, 0}, count = 0;
        int32_t last = 0; /* runs of one label skip the search below */
        for (int64_t i = 0; i < v.n[0]; i++)
            for (int64_t j = 0; j < v.n[1]; j++)
                for (int64_t k = 0; k < v.n[2]; k++) {
                    int32_t l = labels[(i * v.n[1] + j) * v.n[2] + k];
                    if (!l) continue;
                    sum[0] += (double)i, sum[1] += (double)j, sum[2] += (double)k, count++;
                    if (l == last) continue;
                    last = l;
                    int seen = 0;
                    for (int q = 0; q < npresent && !seen; q++) seen = present[q] == l;
                    if (!seen) {
                        if (npresent < MAX_LEGEND) present[npresent++] = l;
                        else more = 1;
                    }
                }
        if (count > 0)
            for (int a = 0; a < 3; a++) centre[a] = (int64_t)floor(sum[a] / count + 0.5);
        qsort(present, (size_t)npresent, sizeof *present, cmp_i32);
    }

    /* Panels: axial (slice along the voxel axis nearest world z; x across,
     * y up), coronal (slice along y; x across, z up), sagittal (slice along
     * x; y across, z up), radiological: the patient's right and front on
     * the left. A 2D image is one panel: i across, j up. */
    panel p[3];
    int npanels;
    if (g->spatial_rank == 2 || v.n[2] == 1) {
        npanels = 1;
        p[0] = (panel){.slice_axis = 2, .slice_at = 0, .h_axis = 0, .v_axis = 1, .h_flip = 0, .v_flip = 1};
    } else {
        int ax[3], grows[3];
        orient(g->affine, ax, grows);
        npanels = 3;
        p[0] = (panel){.slice_axis = ax[2], .h_axis = ax[0], .v_axis = ax[1], .h_flip = grows[0], .v_flip = grows[1]};
        p[1] = (panel){.slice_axis = ax[1], .h_axis = ax[0], .v_axis = ax[2], .h_flip = grows[0], .v_flip = grows[2]};
        p[2] = (panel){.slice_axis = ax[0], .h_axis = ax[1], .v_axis = ax[2], .h_flip = grows[1], .v_flip = grows[2]};
        for (int q = 0; q < 3; q++) p[q].slice_at = centre[p[q].slice_axis];
    }

    /* One scale (mm per pixel) for every panel: the finest voxel spacing,
     * changed so that the largest panel side is MIN_PANEL..MAX_PANEL pixels. */
    double mm = INFINITY, extent = 0;
    for (int q = 0; q < npanels; q++) {
        mm = fmin(mm, fmin(v.spacing[p[q].h_axis], v.spacing[p[q].v_axis]));
        extent = fmax(extent, fmax((double)v.n[p[q].h_axis] * v.spacing[p[q].h_axis],
                                   (double)v.n[p[q].v_axis] * v.spacing[p[q].v_axis]));
    }
    if (extent / mm < MIN_PANEL) mm = extent / MIN_PANEL;
    if (extent / mm > MAX_PANEL) mm = extent / MAX_PANEL;
    int width = MARGIN, height = 0;
    for (int q = 0; q < npanels; q++) {
        p[q].w = (int)fmax(1, floor((double)v.n[p[q].h_axis] * v.spacing[p[q].h_axis] / mm + 0.5));
        p[q].h = (int)fmax(1, floor((double)v.n[p[q].v_axis] * v.spacing[p[q].v_axis] / mm + 0.5));
        p[q].x0 = width;
        p[q].y0 = MARGIN;
        width += p[q].w + MARGIN;
        if (p[q].h > height) height = p[q].h;
    }
    /* Legend: one row per label value, a swatch and the value. */
    int row_h = 7 * FONT_SCALE + 6, legend_x = width, legend_w = 0;
    for (int q = 0; q < npresent; q++) {
        char t[16];
        int n = snprintf(t, sizeof t, "%d", (int)present[q]);
        legend_w = (int)fmax(legend_w, SWATCH + 6 + n * 6 * FONT_SCALE);
    }
    if (more) legend_w = (int)fmax(legend_w, SWATCH + 6 + 6 * FONT_SCALE);
    if (legend_w) width += legend_w + MARGIN;
    int legend_h = (npresent + more) * row_h;
    height = (int)fmax(height, legend_h) + 2 * MARGIN;

    /* Window: the 1st and 99th percentiles of the finite voxels of the slices. */
    size_t nsamp = 0, cap = 0;
    for (int q = 0; q < npanels; q++) cap += (size_t)(v.n[p[q].h_axis] * v.n[p[q].v_axis]);
    float *samp = malloc(cap * sizeof *samp);
    canvas cv = {calloc((size_t)width * (size_t)height * 3, 1), width, height};
    if (!samp || !cv.px) {
        free(samp);
        free(cv.px);
        return io_fail(err, errlen, UNETRC_ERR_NOMEM, path, "out of memory");
    }
    for (int q = 0; q < npanels; q++)
        for (int64_t vi = 0; vi < v.n[p[q].v_axis]; vi++)
            for (int64_t hi = 0; hi < v.n[p[q].h_axis]; hi++) {
                float x = image[voxel_index(&v, &p[q], hi, vi)];
                if (isfinite(x)) samp[nsamp++] = x;
            }
    double lo = 0, hi_v = 1;
    if (nsamp) {
        qsort(samp, nsamp, sizeof *samp, cmp_float);
        lo = samp[(size_t)floor(0.01 * (double)(nsamp - 1) + 0.5)];
        hi_v = samp[(size_t)floor(0.99 * (double)(nsamp - 1) + 0.5)];
        if (!(hi_v > lo)) lo = samp[0], hi_v = samp[nsamp - 1];
        if (!(hi_v > lo)) hi_v = lo + 1;
    }
    free(samp);

    /* Draw: grey, then each nonzero label blended at 50%. */
    for (int q = 0; q < npanels; q++)
        for (int y = 0; y < p[q].h; y++)
            for (int x = 0; x < p[q].w; x++) {
                int64_t hi = pixel_to_voxel(x, mm, v.spacing[p[q].h_axis], v.n[p[q].h_axis]);
                int64_t vi = pixel_to_voxel(y, mm, v.spacing[p[q].v_axis], v.n[p[q].v_axis]);
                int64_t at = voxel_index(&v, &p[q], hi, vi);
                double t = (image[at] - lo) / (hi_v - lo);
                if (!(t > 0)) t = 0; /* NaN too */
                if (t > 1) t = 1;
                int grey = (int)floor(t * 255 + 0.5);
                unsigned char rgb[3] = {(unsigned char)grey, (unsigned char)grey, (unsigned char)grey};
                if (labels && labels[at]) {
                    unsigned char c[3];
                    unetrc_label_color(labels[at], c);
                    for (int i = 0; i < 3; i++) rgb[i] = (unsigned char)((grey + c[i] + 1) / 2);
                }
                put(&cv, p[q].x0 + x, p[q].y0 + y, rgb);
            }
    static const unsigned char white[3] = {255, 255, 255};
    for (int q = 0; q < npresent + more; q++) {
        int y = MARGIN + q * row_h;
        unsigned char c[3];
        if (q < npresent) unetrc_label_color(present[q], c);
        else memcpy(c, white, 3);
        for (int dy = 0; dy < SWATCH; dy++)
            for (int dx = 0; dx < SWATCH; dx++) put(&cv, legend_x + dx, y + dy, c);
        char t[16];
        if (q < npresent) snprintf(t, sizeof t, "%d", (int)present[q]);
        else snprintf(t, sizeof t, "+");
        draw_text(&cv, legend_x + SWATCH + 6, y, t, white);
    }

    io_out out = {.fd = -1, .path = path, .fn = fn, .fn_ctx = fn_ctx};
    unetrc_status st = fn ? UNETRC_OK : io_out_open(&out, path, err, errlen);
    if (st == UNETRC_OK) st = encode(&cv, &out, path, err, errlen);
    if (fn) {
    } else if (st == UNETRC_OK) st = io_out_commit(&out, err, errlen);
    else if (out.tmp) io_out_abort(&out);
    free(cv.px);
    return st;
}

unetrc_status unetrc_png_overview(const char *path, const float *image, const int32_t *labels,
                                  const unetrc_nifti_geometry *g, char *err, size_t errlen) {
    return overview(path, image, labels, g, NULL, NULL, err, errlen);
}

unetrc_status unetrc_png_encode_overview(const char *name, const float *image, const int32_t *labels,
                                         const unetrc_nifti_geometry *g, unetrc_write_fn write, void *ctx, char *err,
                                         size_t errlen) {
    if (!write) {
        if (err && errlen) err[0] = 0;
        return UNETRC_ERR_NULL;
    }
    return overview(name, image, labels, g, write, ctx, err, errlen);
}
