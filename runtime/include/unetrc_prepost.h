/* unetrc_prepost.h: pre- and post-processing of whole volumes, each the
 * exact counterpart of a MONAI 1.3.2 transform (docs/segment.md). In place
 * or into caller buffers; no allocation, no I/O. Volumes are float32,
 * channel first: [channels][voxels] with voxels = D*H*W (or H*W). */
#ifndef UNETRC_PREPOST_H
#define UNETRC_PREPOST_H

#include <stddef.h>
#include <stdint.h>

#include "unetrc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NormalizeIntensity(nonzero, channel_wise) in place: x = (x - mean) / std
 * with the mean and the population std (unbiased=False) of each channel
 * (channel_wise) or of the whole volume, over its non-zero voxels only
 * (nonzero; zeros stay zero) or over all. A std of 0 divides by 1; with
 * nonzero and no non-zero voxel the data are left as they are. */
unetrc_status unetrc_normalize_intensity(float *vol, int64_t channels, int64_t voxels, int nonzero, int channel_wise);

/* ScaleIntensityRange(a_min, a_max, b_min, b_max, clip) in place over count
 * values: x = (x - a_min) / (a_max - a_min) * (b_max - b_min) + b_min, then
 * clamped to [b_min, b_max] with clip. With a_max == a_min MONAI only
 * shifts, x = x - a_min + b_min (no scaling, no clipping). */
unetrc_status unetrc_scale_intensity_range(float *vol, int64_t count, double a_min, double a_max, double b_min,
                                           double b_max, int clip);

/* Activations(softmax=True) over the channel axis, in place. */
unetrc_status unetrc_softmax_channels(float *vol, int64_t channels, int64_t voxels);

/* Activations(sigmoid=True), in place: x = 1 / (1 + exp(-x)). */
unetrc_status unetrc_sigmoid(float *vol, int64_t count);

/* AsDiscrete(argmax=True) over the channel axis, written as labels[i]
 * (class i -> labels[i], e.g. {0, 1, 2, 4} for BraTS; NULL: i itself, then
 * channels <= 256). Ties go to the first channel, a NaN wins over numbers
 * (the first NaN), as torch.argmax. */
unetrc_status unetrc_argmax_channels(const float *vol, int64_t channels, int64_t voxels, const uint8_t *labels,
                                     uint8_t *out);

/* AsDiscrete(threshold=t): out = x >= t ? 1 : 0 over count values (per
 * channel for multi-label outputs, after unetrc_sigmoid). */
unetrc_status unetrc_threshold(const float *vol, int64_t count, float threshold, uint8_t *out);

#ifdef __cplusplus
}
#endif

#endif
