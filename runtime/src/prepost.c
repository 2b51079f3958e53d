/* prepost.c: MONAI's intensity and output transforms over whole volumes
 * (see unetrc_prepost.h, docs/segment.md). Statistics are accumulated in
 * double (torch sums float32 in float32 with a cascade: the means agree to
 * about 1 ulp of float32); the per-voxel arithmetic is float32 in MONAI's
 * order, with every Python-scalar operand rounded to float32 once, as torch
 * does when it combines a float32 tensor with a Python float. */
#include "unetrc_prepost.h"

#include <math.h>

/* Mean and population std of the n values at x (nonzero: of the non-zero
 * ones only), rounded to float32 as torch's float32 mean/std return them.
 * *count = how many values were used. */
static void mean_std(const float *x, int64_t n, int nonzero, int64_t *count, float *mean, float *std) {
    double sum = 0;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (!nonzero || x[i] != 0) {
            sum += x[i];
            k++;
        }
    *count = k;
    if (k == 0) return;
    double m = sum / (double)k, ss = 0;
    for (int64_t i = 0; i < n; i++)
        if (!nonzero || x[i] != 0) ss += ((double)x[i] - m) * ((double)x[i] - m);
    *mean = (float)m;
    *std = (float)sqrt(ss / (double)k);
}

/* (x - mean) / (std or 1) over the selected values of one group. */
static void normalize_group(float *x, int64_t n, int nonzero) {
    int64_t k;
    float mean = 0, std = 0;
    mean_std(x, n, nonzero, &k, &mean, &std);
    if (k == 0) return; /* nonzero and all zero: MONAI returns the image unchanged */
    float div = std == 0.0f ? 1.0f : std;
    for (int64_t i = 0; i < n; i++)
        if (!nonzero || x[i] != 0) x[i] = (x[i] - mean) / div;
}

unetrc_status unetrc_normalize_intensity(float *vol, int64_t channels, int64_t voxels, int nonzero, int channel_wise) {
    if (!vol) return UNETRC_ERR_NULL;
    if (channels < 1 || voxels < 0 || voxels > INT64_MAX / channels) return UNETRC_ERR_ARGUMENT;
    if (!channel_wise) {
        normalize_group(vol, channels * voxels, nonzero);
        return UNETRC_OK;
    }
    for (int64_t c = 0; c < channels; c++) normalize_group(vol + c * voxels, voxels, nonzero);
    return UNETRC_OK;
}

unetrc_status unetrc_scale_intensity_range(float *vol, int64_t count, double a_min, double a_max, double b_min,
                                           double b_max, int clip) {
    if (!vol) return UNETRC_ERR_NULL;
    if (count < 0) return UNETRC_ERR_ARGUMENT;
    const float amin = (float)a_min, bmin = (float)b_min, bmax = (float)b_max;
    if (a_max - a_min == 0.0) {
        /* MONAI warns "Divide by zero" and returns img - a_min + b_min. */
        for (int64_t i = 0; i < count; i++) vol[i] = vol[i] - amin + bmin;
        return UNETRC_OK;
    }
    const float arange = (float)(a_max - a_min), brange = (float)(b_max - b_min);
    for (int64_t i = 0; i < count; i++) {
        float x = (vol[i] - amin) / arange;
        x = x * brange + bmin;
        if (clip) {
            /* torch.clamp(x, b_min, b_max): NaN stays NaN. */
            x = x < bmin ? bmin : x;
            x = x > bmax ? bmax : x;
        }
        vol[i] = x;
    }
    return UNETRC_OK;
}

/* torch.softmax over dim 0: per voxel exp(x - max) over channels (summed in
 * channel order), each divided by the sum. */
unetrc_status unetrc_softmax_channels(float *vol, int64_t channels, int64_t voxels) {
    if (!vol) return UNETRC_ERR_NULL;
    if (channels < 1 || voxels < 0 || (voxels && channels > INT64_MAX / voxels)) return UNETRC_ERR_ARGUMENT;
    for (int64_t v = 0; v < voxels; v++) {
        float *x = vol + v;
        float max = x[0];
        for (int64_t c = 1; c < channels; c++) {
            float y = x[c * voxels];
            if (y > max || isnan(y)) max = isnan(max) ? max : y;
        }
        float sum = 0.0f;
        for (int64_t c = 0; c < channels; c++) {
            float e = expf(x[c * voxels] - max);
            x[c * voxels] = e;
            sum += e;
        }
        for (int64_t c = 0; c < channels; c++) x[c * voxels] /= sum;
    }
    return UNETRC_OK;
}

unetrc_status unetrc_sigmoid(float *vol, int64_t count) {
    if (!vol) return UNETRC_ERR_NULL;
    if (count < 0) return UNETRC_ERR_ARGUMENT;
    for (int64_t i = 0; i < count; i++) vol[i] = 1.0f / (1.0f + expf(-vol[i]));
    return UNETRC_OK;
}

unetrc_status unetrc_argmax_channels(const float *vol, int64_t channels, int64_t voxels, const uint8_t *labels,
                                     uint8_t *out) {
    if (!vol || !out) return UNETRC_ERR_NULL;
    if (channels < 1 || voxels < 0 || (voxels && channels > INT64_MAX / voxels)) return UNETRC_ERR_ARGUMENT;
    if (!labels && channels > 256) return UNETRC_ERR_ARGUMENT;
    for (int64_t v = 0; v < voxels; v++) {
        int64_t best = 0;
        float bv = vol[v];
        /* torch.argmax: the first maximum; a NaN counts as the maximum. */
        for (int64_t c = 1; c < channels && !isnan(bv); c++) {
            float y = vol[c * voxels + v];
            if (y > bv || isnan(y)) {
                best = c;
                bv = y;
            }
        }
        out[v] = labels ? labels[best] : (uint8_t)best;
    }
    return UNETRC_OK;
}

unetrc_status unetrc_threshold(const float *vol, int64_t count, float threshold, uint8_t *out) {
    if (!vol || !out) return UNETRC_ERR_NULL;
    if (count < 0) return UNETRC_ERR_ARGUMENT;
    for (int64_t i = 0; i < count; i++) out[i] = vol[i] >= threshold;
    return UNETRC_OK;
}
