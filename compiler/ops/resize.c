/* resize.c: Resize (opset 13-18): nearest, N-linear and cubic resampling
 * of any subset of dims, with every coordinate transformation mode,
 * exclude_outside, extrapolation (tf_crop_and_resize) and antialias.
 *
 * Resampling is separable: along each dim, output position o reads `n`
 * consecutive input positions ("taps") with weights, and an output element
 * is the sum over all tap combinations of the product of the dims' weights
 * times the input element. Because shapes and scales are compile-time
 * constants, the taps of every dim are computed once here (axis_taps, the
 * single statement of the ONNX semantics) and used by the interpreter and,
 * as small constant tables in the weights blob, by the generated code. Dims
 * whose taps are the identity (batch, channels) read the input directly. */
#include "resize.h"

static bool resize_parse(urc_node *n, urc_attr_list *l) {
    urc_resize_attr *a = &n->a.resize;
    const char *mode, *coord, *nearest;
    int64_t excl, aa = 0;
    if (!urc_attr_string(l, "mode", "nearest", &mode) ||
        !urc_attr_string(l, "coordinate_transformation_mode", "half_pixel", &coord) ||
        !urc_attr_string(l, "nearest_mode", "round_prefer_floor", &nearest) ||
        !urc_attr_float(l, "cubic_coeff_a", -0.75, &a->cubic_coeff_a) ||
        !urc_attr_int(l, "exclude_outside", 0, &excl) ||
        !urc_attr_float_any(l, "extrapolation_value", 0.0, &a->extrapolation_value)) /* NaN may mark outside */
        return false;
    static const char *modes[] = {"nearest", "linear", "cubic"};
    static const char *coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",  "align_corners",
                                   "asymmetric", "tf_crop_and_resize",   "tf_half_pixel_for_nn"};
    static const char *nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    int m = -1, c = -1, nm = -1;
    for (int i = 0; i < 3; i++) m = strcmp(mode, modes[i]) ? m : i;
    for (int i = 0; i < 7; i++) c = strcmp(coord, coords[i]) ? c : i;
    if (c == URC_COORD_TF_HALF_PIXEL_FOR_NN && n->opset >= 13) c = -1; /* removed in opset 13 */
    for (int i = 0; i < 4; i++) nm = strcmp(nearest, nearests[i]) ? nm : i;
    if (m < 0) {
        urc_error(l->where, "attribute 'mode' must be nearest, linear or cubic, got '%s'", mode);
        return false;
    }
    if (c < 0) {
        urc_error(l->where, "coordinate_transformation_mode '%s' is not supported%s", coord,
                  strcmp(coord, "tf_half_pixel_for_nn") ? "" : " (it was removed in opset 13)");
        return false;
    }
    if (nm < 0) {
        urc_error(l->where,
                  "attribute 'nearest_mode' must be round_prefer_floor, round_prefer_ceil, floor or ceil, "
                  "got '%s'",
                  nearest);
        return false;
    }
    if (excl != 0 && excl != 1) {
        urc_error(l->where, "attribute 'exclude_outside' must be 0 or 1, got %lld", (long long)excl);
        return false;
    }
    a->mode = (urc_resize_mode)m;
    a->coord = (urc_resize_coord)c;
    a->nearest = (urc_resize_nearest)nm;
    a->exclude_outside = (int)excl;
    a->naxes = -1;
    a->keep_aspect_ratio_policy = 0;
    if (n->opset >= 18) { /* antialias, axes and keep_aspect_ratio_policy are new in 18 */
        const char *policy;
        if (!urc_attr_int(l, "antialias", 0, &aa) || !urc_attr_ints(l, "axes", a->axes, URC_MAX_RANK, &a->naxes) ||
            !urc_attr_string(l, "keep_aspect_ratio_policy", "stretch", &policy))
            return false;
        if (aa != 0 && aa != 1) {
            urc_error(l->where, "attribute 'antialias' must be 0 or 1, got %lld", (long long)aa);
            return false;
        }
        if (!strcmp(policy, "stretch")) a->keep_aspect_ratio_policy = 0;
        else if (!strcmp(policy, "not_larger")) a->keep_aspect_ratio_policy = 1;
        else if (!strcmp(policy, "not_smaller")) a->keep_aspect_ratio_policy = 2;
        else {
            urc_error(l->where,
                      "attribute 'keep_aspect_ratio_policy' must be stretch, not_larger or not_smaller, "
                      "got '%s'",
                      policy);
            return false;
        }
    }
    a->antialias = (int)aa;
    a->torch_lengths = l->torch_export;
    return true;
}

static bool present(const urc_node *n, int i) {
    return i < n->nin && n->in[i] && urc_shape_numel(&n->in[i]->shape) > 0;
}

static bool resize_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    urc_resize_attr *a = &n->a.resize;
    if (!urc_check_dtype(n, 0, a->mode == URC_RESIZE_NEAREST ? URC_DTM_ALL : URC_DTM_FLOAT)) return false;
    if (a->mode != URC_RESIZE_NEAREST && !urc_reject_half(n, 0)) return false;
    const urc_shape *is = &n->in[0]->shape;
    int r = is->rank;
    if (r == 0) {
        urc_error(where, "X must have rank at least 1");
        return false;
    }
    /* axes: the dims that roi/scales/sizes list (all by default). */
    int64_t axes[URC_MAX_RANK];
    int na = a->naxes >= 0 ? a->naxes : r;
    bool listed[URC_MAX_RANK] = {0};
    for (int i = 0; i < na; i++) {
        if (a->naxes < 0) axes[i] = i;
        else if (!urc_norm_axis(n, a->axes[i], r, &axes[i])) return false;
        if (listed[axes[i]]) {
            urc_error(where, "axis %lld is listed twice", (long long)a->axes[i]);
            return false;
        }
        listed[axes[i]] = true;
    }
    /* roi matters only for tf_crop_and_resize. */
    for (int d = 0; d < r; d++) a->roi[d] = 0, a->roi[r + d] = 1;
    if (a->coord == URC_COORD_TF_CROP_AND_RESIZE) {
        const urc_value *rv = n->nin > 1 ? n->in[1] : NULL;
        if (!present(n, 1)) {
            urc_error(where, "tf_crop_and_resize needs the 'roi' input");
            return false;
        }
        if (!rv->data) {
            urc_error(where, "input 1 ('%s') must be a constant known at compile time (tf_crop_and_resize reads it)",
                      rv->name);
            return false;
        }
        if (!urc_dtype_is_float(rv->dtype)) {
            urc_error(where, "roi must be a float tensor, got %s", urc_dtype_name(rv->dtype));
            return false;
        }
        if (urc_shape_numel(&rv->shape) != 2 * na) {
            urc_error(where, "roi has %lld entries; expected %d", (long long)urc_shape_numel(&rv->shape), 2 * na);
            return false;
        }
        for (int i = 0; i < na; i++) {
            a->roi[axes[i]] = urc_elem_f64(rv->dtype, rv->data, i);
            a->roi[r + axes[i]] = urc_elem_f64(rv->dtype, rv->data, na + i);
        }
    }
    bool has_scales = present(n, 2), has_sizes = present(n, 3);
    if (has_scales == has_sizes) {
        urc_error(where, has_scales ? "give either 'scales' or 'sizes', not both" : "needs 'scales' or 'sizes'");
        return false;
    }
    urc_shape o = *is;
    for (int d = 0; d < r; d++) a->scales[d] = 1, a->length[d] = (double)is->dims[d];
    if (has_scales) {
        const urc_value *sv = n->in[2];
        if (!sv->data) {
            urc_error(where, "input 2 ('%s') must be a constant known at compile time", sv->name);
            return false;
        }
        if (!urc_dtype_is_float(sv->dtype)) {
            urc_error(where, "scales must be a float tensor, got %s", urc_dtype_name(sv->dtype));
            return false;
        }
        if (urc_shape_numel(&sv->shape) != na) {
            urc_error(where, "scales has %lld entries; expected %d", (long long)urc_shape_numel(&sv->shape), na);
            return false;
        }
        for (int i = 0; i < na; i++) {
            double s = urc_elem_f64(sv->dtype, sv->data, i);
            if (!(s > 0) || isinf(s)) {
                urc_error(where, "scale %d is %g; scales must be positive", i, s);
                return false;
            }
            a->scales[axes[i]] = s;
            /* floor(in * scale) in float, as ONNX shape inference and
             * onnxruntime compute it (double can land just below an
             * integer that float rounds to). */
            double len = floor((double)((float)is->dims[axes[i]] * (float)s));
            if (len > (double)INT64_MAX / 2) {
                urc_error(where, "scale %g makes axis %lld too large", s, (long long)axes[i]);
                return false;
            }
            o.dims[axes[i]] = (int64_t)len;
            /* align_corners' length_resized: in * scale as ONNX defines it (scale = length_resized /
             * length_original; its reference computes so), except in torch exports, whose scales are
             * the scale_factor of a PyTorch resampling over the integer length (as ONNX Runtime does) */
            a->length[axes[i]] = a->torch_lengths ? len : (double)((float)is->dims[axes[i]] * (float)s);
        }
    } else {
        int64_t sz[URC_MAX_RANK];
        int ns;
        if (!urc_const_ints(n, 3, sz, URC_MAX_RANK, &ns)) return false;
        if (ns != na) {
            urc_error(where, "sizes has %d entries; expected %d", ns, na);
            return false;
        }
        for (int i = 0; i < na; i++) {
            int64_t in = is->dims[axes[i]];
            if (sz[i] < 0 || (in == 0 && sz[i] > 0)) {
                urc_error(where, "cannot resize axis %lld of size %lld to %lld", (long long)axes[i], (long long)in,
                          (long long)sz[i]);
                return false;
            }
            o.dims[axes[i]] = sz[i];
            a->length[axes[i]] = (double)sz[i];
            a->scales[axes[i]] = in ? (double)sz[i] / (double)in : 1;
        }
        if (a->keep_aspect_ratio_policy) { /* one scale for all listed axes */
            double s = a->scales[axes[0]];
            for (int i = 1; i < na; i++) {
                double si = a->scales[axes[i]];
                s = a->keep_aspect_ratio_policy == 1 ? fmin(s, si) : fmax(s, si);
            }
            for (int i = 0; i < na; i++) {
                a->scales[axes[i]] = s;
                /* s comes from the largest (not_smaller) of the sizes, which may be huge: saturate
                 * instead of converting out of range (the size cap then rejects it) */
                double len = s * (double)is->dims[axes[i]] + 0.5;
                o.dims[axes[i]] = len < 9.2e18 ? (int64_t)len : INT64_MAX;
                a->length[axes[i]] = (double)o.dims[axes[i]];
            }
        }
    }
    for (int d = 0; d < r; d++)
        if (o.dims[d] > 0 && is->dims[d] == 0) {
            urc_error(where, "cannot resize axis %d of size 0", d);
            return false;
        }
    urc_set_out(n, 0, n->in[0]->dtype, &o);
    return true;
}

/* ---- taps ---------------------------------------------------------------------- */

typedef struct axis_taps {
    int n;                  /* taps per output position */
    int64_t *idx;           /* [out][n] input index, clamped to [0, in-1] */
    double *w;              /* [out][n] weight */
    unsigned char *outside; /* [out] 1: tf_crop_and_resize extrapolates */
    bool any_outside;
    bool identity; /* out == in and position o is input o */
} axis_taps;

/* Input coordinate of output position o along an axis of in -> out
 * elements (ONNX's coordinate_transformation_mode). length_resized in
 * align_corners is a->length: the integer output length when it comes from
 * 'sizes' (PyTorch, onnxruntime), in * scale when it comes from 'scales'
 * (the spec defines scale = length_resized / length_original, and ONNX's
 * reference computes so: onnx/onnx#2462), except in torch exports, which
 * write PyTorch's scale_factor as scales while PyTorch and onnxruntime
 * resample over the integer length. The two differ only when in * scale is
 * fractional. The other modes use the integer length as the spec text,
 * onnxruntime and PyTorch do. */
static double coordinate(const urc_resize_attr *a, int d, int rank, double o, int64_t in, int64_t out) {
    double s = a->scales[d], len = (double)out;
    switch (a->coord) {
    case URC_COORD_HALF_PIXEL: return (o + 0.5) / s - 0.5;
    case URC_COORD_HALF_PIXEL_SYMMETRIC: { /* centre the output on the input */
        double adjust = (double)out / (s * (double)in), center = (double)in / 2;
        return center * (1 - adjust) + (o + 0.5) / s - 0.5;
    }
    case URC_COORD_PYTORCH_HALF_PIXEL: return len > 1 ? (o + 0.5) / s - 0.5 : 0;
    case URC_COORD_ALIGN_CORNERS: {
        double lr = a->length[d];
        return lr != 1 ? o * (double)(in - 1) / (lr - 1) : 0;
    }
    case URC_COORD_ASYMMETRIC: return o / s;
    case URC_COORD_TF_HALF_PIXEL_FOR_NN: return (o + 0.5) / s;
    case URC_COORD_TF_CROP_AND_RESIZE: {
        double r0 = a->roi[d], r1 = a->roi[rank + d];
        if (len > 1) return r0 * (double)(in - 1) + o * (r1 - r0) * (double)(in - 1) / (len - 1);
        return 0.5 * (r0 + r1) * (double)(in - 1);
    }
    }
    return 0;
}

/* Cubic convolution kernel (Keys, parameter A) at distance x. */
static double keys(double x, double A) {
    x = fabs(x);
    if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0;
}

/* Number of taps and offset of the first tap from floor(x). Antialiasing
 * (downscaling only) stretches the linear/cubic kernel by 1/scale. */
static int tap_count(const urc_resize_attr *a, double s, int64_t *first) {
    bool aa = a->antialias && s < 1;
    switch (a->mode) {
    case URC_RESIZE_NEAREST: *first = 0; return 1;
    case URC_RESIZE_LINEAR: *first = aa ? (int64_t)floor(-1 / s) + 1 : 0; return (int)(2 - 2 * *first);
    case URC_RESIZE_CUBIC: *first = aa ? (int64_t)floor(-2 / s) + 1 : -1; return (int)(2 - 2 * *first);
    }
    return 1;
}

#define MAX_TAPS 4096 /* antialias footprint limit (scale >= 1/2048 for linear) */

/* Taps of every output position of dim d (in -> out); arrays from malloc. */
static bool axis_taps_make(const urc_node *n, int d, axis_taps *t) {
    const urc_resize_attr *a = &n->a.resize;
    int64_t in = n->in[0]->shape.dims[d], out = n->out[0]->shape.dims[d], first;
    int rank = n->in[0]->shape.rank;
    double s = a->scales[d], A = a->cubic_coeff_a;
    double fs = a->antialias && s < 1 ? s : 1; /* kernel stretch */
    if ((a->mode == URC_RESIZE_LINEAR && a->antialias && s < 1 && 1 / s > MAX_TAPS / 2) ||
        (a->mode == URC_RESIZE_CUBIC && a->antialias && s < 1 && 2 / s > MAX_TAPS / 2)) {
        urc_error(urc_node_where(n), "antialias with scale %g needs too many taps", s);
        return false;
    }
    int nt = tap_count(a, s, &first);
    t->n = nt;
    t->idx = urc_xcalloc((size_t)(out * nt + 1), sizeof(int64_t));
    t->w = urc_xcalloc((size_t)(out * nt + 1), sizeof(double));
    t->outside = urc_xcalloc((size_t)out + 1, 1);
    t->any_outside = false;
    t->identity = in == out;
    for (int64_t o = 0; o < out; o++) {
        int64_t *ix = t->idx + o * nt;
        double *w = t->w + o * nt;
        double x = coordinate(a, d, rank, (double)o, in, out);
        if (a->coord == URC_COORD_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(in - 1))) {
            t->outside[o] = 1;
            t->any_outside = true;
            t->identity = false;
            continue; /* index 0, weight 0 */
        }
        double fl = floor(x), ratio = x - fl;
        int64_t base = (int64_t)fl;
        if (a->mode == URC_RESIZE_NEAREST) {
            bool up = false; /* x integral: that position */
            if (ratio > 0) switch (a->nearest) {
                case URC_NEAREST_ROUND_PREFER_FLOOR: up = ratio > 0.5; break;
                case URC_NEAREST_ROUND_PREFER_CEIL: up = ratio >= 0.5; break;
                case URC_NEAREST_FLOOR: up = false; break;
                case URC_NEAREST_CEIL: up = true; break;
                }
            ix[0] = base + up;
            w[0] = 1;
        } else {
            double sum = 0;
            for (int k = 0; k < nt; k++) {
                int64_t pos = first + k;
                double dist = ((double)pos - ratio) * fs; /* from x to tap base+pos */
                if (a->mode == URC_RESIZE_LINEAR) w[k] = fmax(0, 1 - fabs(dist));
                else if (fs < 1) w[k] = keys(dist, A);
                else { /* the four cubic coefficients of ONNX, exact at ratio 0 */ double u = ratio;
                    switch (k) {
                    case 0: w[k] = ((A * (u + 1) - 5 * A) * (u + 1) + 8 * A) * (u + 1) - 4 * A; break;
                    case 1: w[k] = ((A + 2) * u - (A + 3)) * u * u + 1; break;
                    case 2: w[k] = ((A + 2) * (1 - u) - (A + 3)) * (1 - u) * (1 - u) + 1; break;
                    default: w[k] = ((A * (2 - u) - 5 * A) * (2 - u) + 8 * A) * (2 - u) - 4 * A; break;
                    }
                }
                ix[k] = base + pos;
                if (a->exclude_outside && (ix[k] < 0 || ix[k] >= in)) w[k] = 0;
                sum += w[k];
            }
            /* antialias weights are normalised; exclude_outside renormalises */
            if ((fs < 1 || a->exclude_outside) && sum != 0)
                for (int k = 0; k < nt; k++) w[k] /= sum;
        }
        double on_o = 0; /* identity: all the weight on input o */
        for (int k = 0; k < nt; k++) {
            ix[k] = ix[k] < 0 ? 0 : ix[k] >= in ? in - 1 : ix[k];
            if (ix[k] == o) on_o += w[k];
            else if (fabs(w[k]) > 1e-12) t->identity = false;
        }
        if (fabs(on_o - 1) > 1e-12) t->identity = false;
    }
    return true;
}

static void axis_taps_free(axis_taps *t) {
    free(t->idx);
    free(t->w);
    free(t->outside);
}

bool urc_resize_taps_make(const urc_node *n, int d, urc_resize_taps *t) {
    axis_taps a;
    if (!axis_taps_make(n, d, &a)) return false;
    *t = (urc_resize_taps){a.n, a.idx, a.w, a.outside};
    return true;
}

void urc_resize_taps_free(urc_resize_taps *t) {
    free(t->idx);
    free(t->w);
    free(t->outside);
}

/* ---- reference ------------------------------------------------------------------ */

static bool resize_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_resize_attr *a = &n->a.resize;
    const urc_tensor *x = in[0];
    urc_tensor *y = out[0];
    int r = x->shape.rank, es = urc_dtype_size(x->dtype);
    axis_taps t[URC_MAX_RANK];
    int made = 0;
    while (made < r && axis_taps_make(n, made, &t[made])) made++;
    bool ok = made == r;
    int64_t xs[URC_MAX_RANK], ne = urc_tensor_numel(y);
    urc_shape_strides(&x->shape, xs);
    for (int64_t i = 0; ok && i < ne; i++) {
        int64_t oi[URC_MAX_RANK];
        urc_unravel(&y->shape, i, oi);
        bool outside = false;
        for (int d = 0; d < r; d++) outside |= t[d].outside[oi[d]];
        if (outside) {
            urc_elem_set_f64(y->dtype, y->data, i, a->extrapolation_value);
            continue;
        }
        if (a->mode == URC_RESIZE_NEAREST) { /* a copy: exact for every dtype */
            int64_t off = 0;
            for (int d = 0; d < r; d++) off += t[d].idx[oi[d]] * xs[d];
            memcpy((char *)y->data + i * es, (const char *)x->data + off * es, (size_t)es);
            continue;
        }
        /* Sum over every combination of taps (an odometer over k[]). */
        int k[URC_MAX_RANK] = {0};
        double acc = 0;
        for (;;) {
            double w = 1;
            int64_t off = 0;
            for (int d = 0; d < r; d++) {
                w *= t[d].w[oi[d] * t[d].n + k[d]];
                off += t[d].idx[oi[d] * t[d].n + k[d]] * xs[d];
            }
            acc += w * urc_elem_f64(x->dtype, x->data, off);
            int d = r - 1;
            while (d >= 0 && ++k[d] == t[d].n) k[d--] = 0;
            if (d < 0) break;
        }
        urc_elem_set_f64(y->dtype, y->data, i, acc);
    }
    for (int d = 0; d < made; d++) axis_taps_free(&t[d]);
    return ok;
}

/* ---- lowering ------------------------------------------------------------------- */

/* A constant table in the weights blob, bound to kernel k (no graph node:
 * the value exists only for the lowering to place its data). */
static int table(urc_lower *L, urc_kernel *k, const urc_node *n, const char *what, int d, urc_dtype dt, int64_t count,
                 const void *data) {
    urc_value *v = urc_alloc(sizeof *v);
    v->id = -1;
    v->name = urc_fmt("%%%s:resize_%s%d", n->out[0]->name, what, d);
    v->dtype = dt;
    v->shape.rank = 1;
    v->shape.dims[0] = count;
    v->has_type = true;
    size_t bytes = (size_t)(count * urc_dtype_size(dt));
    v->data = urc_alloc(bytes ? bytes : 1);
    memcpy(v->data, data, bytes);
    return urc_lower_in(L, k, v, urc_fmt("%s%d", what, d));
}

#define UNROLL_MAX 64 /* tap combinations summed as one expression */

/* Per resampled dim: the tap tables (input offsets premultiplied by the
 * dim's stride, weights in the data's type) and one scalar local per tap
 * for the current output position, declared where that position is known. */
typedef struct lowered_axis {
    bool resampled, weighted;
    int n;
    int bidx, bw, bout; /* table buffers, -1 if not needed */
    urc_lx *ix[UNROLL_MAX], *w[UNROLL_MAX];
    urc_lx *ok; /* inside flag, or NULL */
} lowered_axis;

static bool resize_lower(urc_lower *L, const urc_node *n) {
    const urc_resize_attr *a = &n->a.resize;
    const urc_shape *is = &n->in[0]->shape, *os = &n->out[0]->shape;
    int r = is->rank;
    urc_dtype dt = n->out[0]->dtype;
    if (urc_shape_numel(os) == 0) return true;
    axis_taps t[URC_MAX_RANK];
    for (int d = 0; d < r; d++)
        if (!axis_taps_make(n, d, &t[d])) {
            for (int e = 0; e < d; e++) axis_taps_free(&t[e]);
            return false;
        }
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x"), by = urc_lower_out(L, k, n->out[0], "y");
    int64_t xs[URC_MAX_RANK];
    urc_shape_strides(is, xs);
    lowered_axis ax[URC_MAX_RANK];
    int64_t combos = 1;
    bool any_out = false;
    for (int d = 0; d < r; d++) {
        lowered_axis *la = &ax[d];
        memset(la, 0, sizeof *la);
        la->resampled = !t[d].identity;
        la->bidx = la->bw = la->bout = -1;
        if (!la->resampled) continue;
        la->n = t[d].n;
        la->weighted = a->mode != URC_RESIZE_NEAREST;
        combos *= la->n;
        any_out |= t[d].any_outside;
    }
    bool unroll = combos <= UNROLL_MAX;
    /* Tables (skipped for dims of output size 1 when unrolled: literals). */
    for (int d = 0; d < r; d++) {
        lowered_axis *la = &ax[d];
        if (!la->resampled || (unroll && os->dims[d] == 1)) continue;
        int64_t cnt = os->dims[d] * la->n;
        int64_t *off = urc_xmalloc(sizeof(int64_t) * (size_t)(cnt + 1));
        for (int64_t i = 0; i < cnt; i++) off[i] = t[d].idx[i] * xs[d];
        la->bidx = table(L, k, n, "ix", d, URC_DT_I64, cnt, off);
        free(off);
        if (la->weighted) {
            void *w = urc_xmalloc((size_t)(cnt * urc_dtype_size(dt) + 1));
            for (int64_t i = 0; i < cnt; i++) urc_elem_set_f64(dt, w, i, t[d].w[i]);
            la->bw = table(L, k, n, "w", d, dt, cnt, w);
            free(w);
        }
        if (t[d].any_outside) { /* 1 where the position is inside the input */
            unsigned char *inside = urc_xmalloc((size_t)os->dims[d] + 1);
            for (int64_t i = 0; i < os->dims[d]; i++) inside[i] = !t[d].outside[i];
            la->bout = table(L, k, n, "in", d, URC_DT_U8, os->dims[d], inside);
            free(inside);
        }
    }
    /* Loops over the output; a resampled dim's taps are read into locals
     * right inside its loop. */
    static const char *names[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};
    urc_ls *body = k->body, *first = NULL, *innermost = NULL;
    urc_lx *o[URC_MAX_RANK], *base = urc_lx_int(0), *dst = urc_lx_int(0);
    for (int d = 0; d < r; d++) {
        lowered_axis *la = &ax[d];
        if (os->dims[d] > 1) {
            int v = urc_kernel_var(k, names[d], URC_DT_I64);
            urc_ls *outer = body;
            body = urc_ls_for(body, v, urc_lx_int(0), urc_lx_int(os->dims[d]), 1, 0);
            innermost = outer->list.items[outer->list.len - 1];
            if (!first) first = innermost;
            o[d] = urc_lx_var(k, v);
        } else {
            o[d] = urc_lx_int(0);
        }
        dst = urc_add(urc_muli(dst, os->dims[d]), o[d]);
        if (!la->resampled) {
            base = urc_add(base, urc_muli(o[d], xs[d]));
            continue;
        }
        if (t[d].any_outside) {
            if (la->bout < 0) la->ok = urc_lx_const(!t[d].outside[0], URC_DT_BOOL);
            else {
                int v = urc_kernel_var(k, urc_fmt("in%d", d), URC_DT_U8);
                urc_ls_decl(body, v, urc_lx_load(k, la->bout, o[d]));
                la->ok = urc_lx_var(k, v);
            }
        }
        if (!unroll) continue; /* tap loops read the tables directly */
        for (int j = 0; j < la->n; j++) {
            if (la->bidx < 0) { /* output size 1: literals */
                la->ix[j] = urc_lx_int(t[d].idx[j] * xs[d]);
                la->w[j] = urc_lx_const(t[d].w[j], dt);
                continue;
            }
            urc_lx *at = urc_addi(urc_muli(o[d], la->n), j);
            int vi = urc_kernel_var(k, urc_fmt("x%d_%d", d, j), URC_DT_I64);
            urc_ls_decl(body, vi, urc_lx_load(k, la->bidx, at));
            la->ix[j] = urc_lx_var(k, vi);
            if (la->weighted) {
                int vw = urc_kernel_var(k, urc_fmt("w%d_%d", d, j), dt);
                urc_ls_decl(body, vw, urc_lx_load(k, la->bw, at));
                la->w[j] = urc_lx_var(k, vw);
            }
        }
    }
    if (first) {
        first->flags |= URC_FOR_PARALLEL;
        urc_ls *second = first->body->list.len == 1 ? first->body->list.items[0] : NULL;
        if (second && second->kind == URC_LS_FOR && first->hi->i < 64) first->collapse = 2;
        innermost->flags |= URC_FOR_SIMD;
    }
    urc_lx *val;
    if (unroll) {
        /* sum over tap combinations (odometer over j[]) */
        int j[URC_MAX_RANK] = {0};
        val = NULL;
        for (;;) {
            urc_lx *off = base, *w = NULL;
            for (int d = 0; d < r; d++) {
                if (!ax[d].resampled) continue;
                off = urc_add(off, ax[d].ix[j[d]]);
                if (ax[d].weighted) w = w ? urc_lx_bin(URC_L_MUL, w, ax[d].w[j[d]]) : ax[d].w[j[d]];
            }
            urc_lx *term = urc_lx_load(k, bx, off);
            if (w) term = urc_lx_bin(URC_L_MUL, w, term);
            val = val ? urc_lx_bin(URC_L_ADD, val, term) : term;
            int d = r - 1;
            while (d >= 0 && (!ax[d].resampled || ++j[d] == ax[d].n)) j[d--] = 0;
            if (d < 0) break;
        }
    } else {
        /* acc = 0; for each resampled dim's taps: acc += w... * x[...] */
        int acc = urc_kernel_var(k, "acc", dt);
        urc_ls_decl(body, acc, urc_lx_const(0, dt));
        urc_ls *tb = body;
        urc_lx *off = base, *w = NULL;
        for (int d = 0; d < r; d++) {
            if (!ax[d].resampled) continue;
            int tv = urc_kernel_var(k, urc_fmt("t%d", d), URC_DT_I64);
            tb = urc_ls_for(tb, tv, urc_lx_int(0), urc_lx_int(ax[d].n), 1, 0);
            urc_lx *at = urc_add(urc_muli(o[d], ax[d].n), urc_lx_var(k, tv));
            off = urc_add(off, urc_lx_load(k, ax[d].bidx, at));
            if (ax[d].weighted) {
                urc_lx *wd = urc_lx_load(k, ax[d].bw, at);
                w = w ? urc_lx_bin(URC_L_MUL, w, wd) : wd;
            }
        }
        urc_lx *term = urc_lx_load(k, bx, off);
        if (w) term = urc_lx_bin(URC_L_MUL, w, term);
        urc_ls_assign(tb, acc, urc_lx_bin(URC_L_ADD, urc_lx_var(k, acc), term));
        val = urc_lx_var(k, acc);
    }
    if (any_out) {
        urc_lx *cond = NULL;
        for (int d = 0; d < r; d++)
            if (ax[d].ok) cond = cond ? urc_lx_bin(URC_L_AND, cond, ax[d].ok) : ax[d].ok;
        urc_lx *ev = urc_lx_const(a->extrapolation_value, dt);
        if (dt == URC_DT_F16 || dt == URC_DT_BF16) { /* storage types: the bit pattern */
            float f = (float)a->extrapolation_value;
            ev = urc_lx_const(dt == URC_DT_F16 ? urc_f32_to_f16(f) : urc_f32_to_bf16(f), URC_DT_U16);
        }
        val = urc_lx_sel(cond, val, ev);
    }
    urc_ls_store(body, by, dst, val);
    for (int d = 0; d < r; d++) axis_taps_free(&t[d]);
    return true;
}

static void resize_print(const urc_node *n, urc_strbuf *sb) {
    const urc_resize_attr *a = &n->a.resize;
    static const char *modes[] = {"nearest", "linear", "cubic"};
    static const char *coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",  "align_corners",
                                   "asymmetric", "tf_crop_and_resize",   "tf_half_pixel_for_nn"};
    urc_sb_printf(sb, " mode=%s coord=%s scales=[", modes[a->mode], coords[a->coord]);
    for (int d = 0; d < n->in[0]->shape.rank; d++) urc_sb_printf(sb, d ? ",%g" : "%g", a->scales[d]);
    urc_sb_putc(sb, ']');
    if (a->antialias) urc_sb_puts(sb, " antialias");
}

const urc_op_impl urc_impl_resize = {resize_parse, resize_infer, resize_eval,
                                     resize_lower, resize_print, .signature_lower = false};
