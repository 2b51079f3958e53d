/* unetrc_sw.h: whole-volume inference by sliding windows, with the
 * semantics of MONAI 1.3.2 `sliding_window_inference` (batch 1), over any
 * predictor — normally a compiled SEG_forward wrapped in a callback.
 *
 * Like the rest of the runtime it never allocates, prints or aborts: the
 * caller owns the input volume, the output volume and one workspace whose
 * size unetrc_sw_plan_make computes up front. Nothing is copied per window
 * besides the window itself. See docs/segment.md for the exact semantics
 * (scan intervals, window positions, importance map, padding, blending,
 * flip test-time augmentation) and the memory formula.
 *
 * Volumes are float32, channel first, C order: [C][D][H][W] (W fastest)
 * for 3D, [C][H][W] for 2D; windows have the same layout with the roi as
 * their spatial shape. */
#ifndef UNETRC_SW_H
#define UNETRC_SW_H

#include <stddef.h>
#include <stdint.h>

#include "unetrc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The model on one window: reads in_channels x roi floats from window_in
 * and writes out_channels x roi floats (the logits, same spatial shape) to
 * window_out. Returns 0 on success; anything else stops unetrc_sw_run with
 * UNETRC_ERR_PREDICT. Both buffers are 64-byte aligned and do not overlap. */
typedef int (*unetrc_sw_predict_fn)(void *ctx, const float *window_in, float *window_out);

/* Called after each window with done = 1..total (windows, not predictor
 * calls). A non-zero return cancels the run (UNETRC_ERR_CANCELLED). */
typedef int (*unetrc_sw_progress_fn)(void *ctx, int64_t done, int64_t total);

enum { UNETRC_SW_CONSTANT = 0, UNETRC_SW_GAUSSIAN = 1 };

/* What is being run: the volume and the model's window. */
typedef struct unetrc_sw_spec {
    int spatial_dims;     /* 2 or 3 */
    int64_t in_channels;  /* channels of the volume = of the model input */
    int64_t out_channels; /* channels of the model output */
    int64_t image[3];     /* spatial size of the volume ([D,H,W], or [H,W] in 2D) */
    int64_t roi[3];       /* the model's input (= output) spatial shape */
} unetrc_sw_spec;

typedef struct unetrc_sw_options {
    double overlap[3];              /* per spatial axis, 0 <= overlap < 1 (MONAI default 0.25) */
    int mode;                       /* UNETRC_SW_CONSTANT (MONAI default) or UNETRC_SW_GAUSSIAN */
    double sigma_scale[3];          /* gaussian: sigma = sigma_scale * roi per axis, > 0 (default 0.125) */
    float cval;                     /* value of padding voxels where the image is smaller than the roi (0) */
    unsigned flip_axes;             /* test-time augmentation: bit a flips spatial axis a (0 = first);
                                every subset of these axes is predicted and the mean blended; 0 = off */
    unetrc_sw_progress_fn progress; /* optional */
    void *progress_ctx;
} unetrc_sw_options;

/* MONAI's defaults: overlap 0.25, constant, sigma_scale 0.125, cval 0, no TTA, no progress. */
void unetrc_sw_default_options(unetrc_sw_options *opt);

/* Windows and memory of a run. Axes beyond spatial_dims are 1 / 0. */
typedef struct unetrc_sw_plan {
    int64_t pad_lo[3], pad_hi[3]; /* constant padding where image < roi: half before, the rest after */
    int64_t interval[3];          /* scan interval per axis */
    int64_t count[3];             /* window positions per axis */
    int64_t windows;              /* product of count: what progress reports */
    int64_t predictions;          /* predictor calls: windows x 2^(flipped axes) */
    /* Bytes. The caller's volumes: */
    size_t input_bytes;  /* in_channels x image x 4 */
    size_t output_bytes; /* out_channels x image x 4: the accumulators, then the result */
    /* The workspace, each part 64-byte aligned: */
    size_t window_in_bytes;  /* in_channels x roi x 4 */
    size_t window_out_bytes; /* out_channels x roi x 4 */
    size_t flip_bytes;       /* with flip TTA: one more out_channels x roi x 4, else 0 */
    size_t map_bytes;        /* importance map, roi x 4 */
    size_t table_bytes;      /* gaussian factors, window starts, one row of map sums: O(D+H+W) */
    size_t workspace_bytes;  /* their sum: what unetrc_sw_run needs */
} unetrc_sw_plan;

/* Checks spec and options and fills *plan (status UNETRC_ERR_NULL or
 * UNETRC_ERR_ARGUMENT when they are not valid, see docs/segment.md). The
 * peak memory of a run is input_bytes + output_bytes + workspace_bytes plus
 * whatever the predictor owns (SEG_ARENA_SIZE, the weights). */
unetrc_status unetrc_sw_plan_make(const unetrc_sw_spec *spec, const unetrc_sw_options *opt, unetrc_sw_plan *plan);

/* Runs the predictor over every window of `input` (in_channels x image)
 * and writes the blended logits to `output` (out_channels x image; it is
 * the accumulator, so it must not overlap input or workspace). workspace
 * must be 64-byte aligned and at least plan.workspace_bytes long. Returns
 * UNETRC_OK, or NULL / ARGUMENT / ALIGN / WORKSPACE before anything is
 * written, or PREDICT / CANCELLED with output partly written. */
unetrc_status unetrc_sw_run(const unetrc_sw_spec *spec, const unetrc_sw_options *opt, const float *input, float *output,
                            void *workspace, size_t workspace_bytes, unetrc_sw_predict_fn predict, void *predict_ctx);

/* ---- 2.5D: a 2D model slice by slice over a volume -------------------------
 *
 * The volume [C][D][H][W] is cut into slices along `axis` (0 = D, 1 = H,
 * 2 = W of the storage order). For slice s the model's input is the
 * in_channels x K planes of slices s-K/2 .. s+K/2, channel-major: model
 * channel c*K + j is image channel c at slice s - K/2 + j, a slice index
 * outside the volume replaced by the nearest one (replication). In PyTorch
 * (axis 0): idx = (torch.arange(K) + s - K // 2).clamp(0, D - 1);
 * x = vol[:, idx].reshape(C * K, H, W), i.e. torch.cat of each channel's K
 * neighbouring slices along the channel axis. The plane [P0][P1] is the two other axes in storage order (axis 0: [H][W];
 * 1: [D][W]; 2: [D][H]). Each slice's plane runs through the 2D sliding
 * window (unetrc_sw_run with spatial_dims 2, opt applying to the plane's
 * axes) and its out_channels planes are written back at slice s of the
 * [out_channels][D][H][W] output. See docs/segment.md. */

typedef struct unetrc_sw_slices_spec {
    int64_t in_channels;  /* channels of the volume; the model takes in_channels x slices */
    int64_t out_channels; /* channels of the model output */
    int64_t image[3];     /* the volume [D,H,W] */
    int64_t roi[2];       /* the 2D model's input (= output) spatial shape */
    int slices;           /* K: odd, >= 1 */
    int axis;             /* 0, 1 or 2: the slice axis */
} unetrc_sw_slices_spec;

typedef struct unetrc_sw_slices_plan {
    unetrc_sw_plan plane;  /* the 2D sliding window over one slice (its input/output_bytes: the two buffers below) */
    int64_t plane_size[2]; /* [P0, P1] */
    int64_t n_slices;      /* image[axis]: 2D runs */
    int64_t windows;       /* n_slices x plane.windows: what progress reports */
    int64_t predictions;   /* n_slices x plane.predictions */
    size_t input_bytes;    /* in_channels x D x H x W x 4 */
    size_t output_bytes;   /* out_channels x D x H x W x 4 */
    /* The workspace, each part 64-byte aligned: */
    size_t stack_bytes;     /* in_channels x K x P0 x P1 x 4: the stacked neighbours of one slice */
    size_t slice_out_bytes; /* out_channels x P0 x P1 x 4: one slice's blended logits */
    size_t workspace_bytes; /* stack + slice out + plane.workspace_bytes */
} unetrc_sw_slices_plan;

/* Checks spec and options (opt as for a 2D run over the plane) and fills
 * *plan: NULL or ARGUMENT as unetrc_sw_plan_make, and ARGUMENT for an even
 * or non-positive K or an axis outside 0..2. */
unetrc_status unetrc_sw_slices_plan_make(const unetrc_sw_slices_spec *spec, const unetrc_sw_options *opt,
                                         unetrc_sw_slices_plan *plan);

/* Runs the predictor (in_channels x K x roi in, out_channels x roi out)
 * over every slice; slices in increasing order, each one's windows as
 * unetrc_sw_run visits them. opt->progress is called after each window
 * with done = 1..plan.windows. Statuses as unetrc_sw_run's; nothing is
 * allocated. */
unetrc_status unetrc_sw_slices_run(const unetrc_sw_slices_spec *spec, const unetrc_sw_options *opt, const float *input,
                                   float *output, void *workspace, size_t workspace_bytes, unetrc_sw_predict_fn predict,
                                   void *predict_ctx);

#ifdef __cplusplus
}
#endif

#endif
