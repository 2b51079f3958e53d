/* examples/segment: a whole scan in NIfTI to a label map in NIfTI, with a
 * compiled model and the unetrc runtime -- the device-side counterpart of
 * `unetrc segment`, to copy into a product.
 *
 *   unetrc MODEL.onnx -o out/seg.c
 *   cmake -S examples/segment -B out/build -DUNETRC_DIR=$PWD -DSEG_DIR=$PWD/out && cmake --build out/build
 *   out/build/segment out/seg.weights labels.nii.gz t1.nii.gz [t2.nii.gz ...] \
 *       [--overlap 0.5] [--gaussian] [--normalize] [--logits logits.nii.gz] [--slices K [--slice-axis A]]
 *
 * Steps: the weights blob is checked against this model (size, checksum);
 * the image files are read as the channels of one volume (unetrc_io:
 * nifti_clib, the same dims and affine for every file, the model's channel
 * count); optionally normalised as MONAI's NormalizeIntensity(nonzero=True,
 * channel_wise=True); the sliding window (MONAI's semantics) runs
 * seg_forward on every window (with --slices, a 2D model over every slice
 * of the volume, the K neighbouring slices of each channel as its channels:
 * 2.5D, docs/segment.md); argmax over the channels gives the labels,
 * written as uint8 NIfTI on the scan's grid (its qform, sform and voxel
 * sizes). Memory: the model's arena and weights are static (sizes from
 * seg.h); the volume, the accumulators and the window workspace are
 * allocated once, with sizes the plan computes before the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seg.h"
#include "unetrc.h"
#include "unetrc_io.h"
#include "unetrc_prepost.h"
#include "unetrc_sw.h"

static _Alignas(64) unsigned char blob[SEG_WEIGHTS_FILE_SIZE];
static _Alignas(64) unsigned char arena[SEG_ARENA_SIZE];

/* The predictor the sliding window calls for each window. */
static int predict(void *weights, const float *window_in, float *window_out) {
    return seg_forward(weights, arena, window_in, window_out);
}

static int usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s seg.weights labels.nii.gz image.nii.gz... [--overlap X] [--gaussian] [--normalize] "
            "[--logits F.nii.gz] [--slices K [--slice-axis A]]\n",
            argv0);
    return 2;
}

int main(int argc, char **argv) {
    const char *images[16];
    int nimages = 0, normalize = 0, slices = 0, axis = 2;
    const char *logits_path = NULL;
    unetrc_sw_options opt;
    unetrc_sw_default_options(&opt); /* MONAI's: overlap 0.25, constant, sigma_scale 0.125 */
    if (argc < 4) return usage(argv[0]);
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--overlap") && i + 1 < argc) {
            double v = atof(argv[++i]);
            for (int a = 0; a < 3; a++) opt.overlap[a] = v;
        } else if (!strcmp(argv[i], "--gaussian")) {
            opt.mode = UNETRC_SW_GAUSSIAN;
        } else if (!strcmp(argv[i], "--normalize")) {
            normalize = 1;
        } else if (!strcmp(argv[i], "--slices") && i + 1 < argc) {
            slices = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--slice-axis") && i + 1 < argc) {
            axis = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--logits") && i + 1 < argc) {
            logits_path = argv[++i];
        } else if (argv[i][0] == '-' || nimages == 16) {
            return usage(argv[0]);
        } else {
            images[nimages++] = argv[i];
        }
    }
    if (!nimages) return usage(argv[0]);

    /* The weights: exactly this model's blob. */
    size_t n;
    const void *weights;
    int st = unetrc_weights_read_file(argv[1], blob, sizeof blob, &n);
    if (st == UNETRC_OK) st = unetrc_weights_open(blob, n, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM, &weights);
    if (st != UNETRC_OK) {
        fprintf(stderr, "segment: %s: %s\n", argv[1], unetrc_status_str(st));
        return 1;
    }

    /* The scan: the model's channels (2.5D: a volume with 1/K of them),
     * spatial axes as the file stores them. */
    static const int64_t in_shape[] = SEG_IN0_SHAPE, out_shape[] = SEG_OUT0_SHAPE;
    const int sdims = SEG_IN0_RANK - 2;
    if (slices && (sdims != 2 || slices < 1 || slices % 2 == 0 || in_shape[1] % slices)) {
        fprintf(stderr, "segment: --slices %d needs a 2D model whose input channels are a multiple of it (odd)\n",
                slices);
        return 2;
    }
    char err[512];
    unetrc_nifti_read_options ro = {.spatial_rank = slices ? 3 : sdims,
                                    .expect_channels = slices ? in_shape[1] / slices : in_shape[1]};
    unetrc_volume vol;
    if (unetrc_nifti_read(images, nimages, &ro, &vol, err, sizeof err) != UNETRC_OK) {
        fprintf(stderr, "segment: %s\n", err);
        return 1;
    }
    const int64_t voxels = vol.geom.dim[0] * vol.geom.dim[1] * vol.geom.dim[2];
    if (normalize) unetrc_normalize_intensity(vol.data, vol.channels, voxels, 1, 1);

    /* The plan: windows and every byte the run needs, before allocating. */
    unetrc_sw_spec spec = {
        sdims, in_shape[1], out_shape[1], {vol.geom.dim[0], vol.geom.dim[1], 0}, {in_shape[2], in_shape[3], 0}};
    if (sdims == 3) spec.image[2] = vol.geom.dim[2], spec.roi[2] = in_shape[SEG_IN0_RANK - 1];
    unetrc_sw_slices_spec sspec = {
        vol.channels, out_shape[1], {vol.geom.dim[0], vol.geom.dim[1], vol.geom.dim[2]}, {in_shape[2], in_shape[3]},
        slices,       axis};
    unetrc_sw_plan plan;
    unetrc_sw_slices_plan splan;
    st = slices ? unetrc_sw_slices_plan_make(&sspec, &opt, &splan) : unetrc_sw_plan_make(&spec, &opt, &plan);
    if (slices && st == UNETRC_OK) { /* the volumes' and workspace's bytes, all windows */
        plan = splan.plane;
        plan.input_bytes = splan.input_bytes;
        plan.output_bytes = splan.output_bytes;
        plan.workspace_bytes = splan.workspace_bytes;
        plan.windows = splan.windows;
    }
    float *logits = st == UNETRC_OK ? aligned_alloc(64, (plan.output_bytes + 63) / 64 * 64) : NULL;
    void *work = st == UNETRC_OK ? aligned_alloc(64, (plan.workspace_bytes + 63) / 64 * 64) : NULL;
    if (st == UNETRC_OK && (!logits || !work)) st = UNETRC_ERR_NOMEM;
    if (st == UNETRC_OK && slices)
        st = unetrc_sw_slices_run(&sspec, &opt, vol.data, logits, work, plan.workspace_bytes, predict, (void *)weights);
    else if (st == UNETRC_OK)
        st = unetrc_sw_run(&spec, &opt, vol.data, logits, work, plan.workspace_bytes, predict, (void *)weights);
    if (st != UNETRC_OK) {
        fprintf(stderr, "segment: sliding window: %s\n", unetrc_status_str(st));
        return 1;
    }
    free(work);
    fprintf(stderr,
            "segment: %lld windows, peak %zu bytes (input %zu, accumulators %zu, workspace %zu, arena %d, "
            "weights %d)\n",
            (long long)plan.windows,
            plan.input_bytes + plan.output_bytes + plan.workspace_bytes + (size_t)SEG_ARENA_SIZE +
                (size_t)SEG_WEIGHTS_FILE_SIZE,
            plan.input_bytes, plan.output_bytes, plan.workspace_bytes, (int)SEG_ARENA_SIZE, (int)SEG_WEIGHTS_FILE_SIZE);

    /* Labels: argmax over the channels (class index), written on the scan's grid. */
    uint8_t *classes = malloc((size_t)voxels);
    int32_t *labels = malloc((size_t)voxels * sizeof *labels);
    if (!classes || !labels) {
        fprintf(stderr, "segment: out of memory\n");
        return 1;
    }
    unetrc_argmax_channels(logits, out_shape[1], voxels, NULL, classes);
    for (int64_t i = 0; i < voxels; i++) labels[i] = classes[i];
    if (logits_path &&
        unetrc_nifti_write_f32(logits_path, logits, out_shape[1], &vol.geom, err, sizeof err) != UNETRC_OK) {
        fprintf(stderr, "segment: %s\n", err);
        return 1;
    }
    if (unetrc_nifti_write_labels(argv[2], labels, &vol.geom, err, sizeof err) != UNETRC_OK) {
        fprintf(stderr, "segment: %s\n", err);
        return 1;
    }
    free(classes);
    free(labels);
    free(logits);
    unetrc_volume_free(&vol);
    return 0;
}
