/* unetrc_io.h: NIfTI volumes in and out, and a PNG overview of a
 * segmentation (library unetrc_io; docs/io.md).
 *
 * A separate library from unetrc_runtime: it needs nifti_clib (libnifti2,
 * libznz), zlib and libpng, and unlike the core runtime it allocates (the
 * volumes it reads; free them with unetrc_volume_free). It never prints and
 * never aborts: every function returns an unetrc_status and, on failure,
 * writes one line naming the file and the problem into the caller's `err`
 * buffer (truncated to errlen - 1 characters, always NUL-terminated when
 * errlen > 0; err may be NULL). The nifti_clib debug output is switched off
 * (nifti_set_debug_level(0)) on first use.
 *
 * Memory layout, as MONAI's LoadImage + EnsureChannelFirst give it (no
 * reorientation): float32, channel first, C order, [C][D][H][W] with W
 * fastest, where D, H, W are the file's storage axes i, j, k (nibabel's
 * arr[i, j, k] is element [c][i][j][k]); for 2D images [C][D][H]. */
#ifndef UNETRC_IO_H
#define UNETRC_IO_H

#include <stddef.h>
#include <stdint.h>

#include "unetrc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a NIfTI file says about where its voxels are, kept to write results
 * on the same grid. Field meanings are the NIfTI-1 header's. */
typedef struct unetrc_nifti_geometry {
    int version;                /* 1 or 2: the NIfTI version of the file read */
    int spatial_rank;           /* 3, or 2 for an image with dim[3] == 1 */
    int ndim;                   /* dim[0] of the file read (2 to 5): a 2D image is written back as (X,Y) when
                                it was 2 and as (X,Y,1) otherwise */
    int64_t dim[3];             /* voxels along i, j, k (dim[2] == 1 for 2D) */
    double pixdim[4];           /* [0] qfac (+1 or -1), [1..3] voxel size along i, j, k (pixdim[3] of a file
                                with dim[0] == 2 and no qform is 1: nibabel ignores it) */
    int xyz_units, time_units;  /* NIFTI_UNITS_* codes (xyzt_units split) */
    int qform_code, sform_code; /* NIFTI_XFORM_* codes, 0 = absent */
    double quatern[3];          /* quatern_b, quatern_c, quatern_d */
    double qoffset[3];          /* qoffset_x, qoffset_y, qoffset_z */
    double qform[4][4];         /* the qform as a matrix (voxel (i,j,k,1) -> world) */
    double sform[4][4];         /* srow_x, srow_y, srow_z, then 0 0 0 1 */
    double affine[4][4];        /* nibabel's get_best_affine(): the sform when sform_code != 0, else the
                                qform when qform_code != 0, else diag(pixdim[1..3], 1) */
} unetrc_nifti_geometry;

/* A volume read from NIfTI files: data is malloc'd, owned by the struct. */
typedef struct unetrc_volume {
    float *data; /* [channels][dim[0]][dim[1]][dim[2]] (2D: dim[2] == 1) */
    int64_t channels;
    unetrc_nifti_geometry geom; /* of the first file */
} unetrc_volume;

typedef struct unetrc_nifti_read_options {
    int spatial_rank;        /* 3: volumes (a file with dim[3] == 1 is refused as 2D); 2: images with
                                dim[3] == 1; 0: 3 */
    int allow_nonfinite;     /* nonzero: keep NaN/inf voxels (default: refuse the file) */
    uint64_t max_bytes;      /* per file: file size, decompressed bytes read and the float volume; 0: 4 GiB */
    int64_t expect_channels; /* total channels the caller needs; 0: any */
    double affine_tolerance; /* channel files' affines may differ by this times max(1, max |entry|); 0: 1e-4 */
} unetrc_nifti_read_options;

/* Reads one or several NIfTI files (.nii or .nii.gz; NIfTI-1 or NIfTI-2;
 * uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32 or
 * float64) as the channels of one volume, in the order given: a 3D file is
 * one channel, a 4D file (X,Y,Z,C) is C channels, a 5D file with dim[4] == 1
 * (X,Y,Z,1,C: NIfTI's vector convention) is C channels. scl_slope/scl_inter
 * are applied as nibabel does (when the slope is finite and nonzero), in
 * double precision, then rounded to float32. Every file must have the
 * first one's spatial dims and affine (within the tolerance). opt may be
 * NULL for the defaults. On success *out owns the data (unetrc_volume_free);
 * on failure *out is zeroed. */
unetrc_status unetrc_nifti_read(const char *const *paths, int npaths, const unetrc_nifti_read_options *opt,
                                unetrc_volume *out, char *err, size_t errlen);

/* Frees the data of a volume read by unetrc_nifti_read (NULL-safe) and zeroes it. */
void unetrc_volume_free(unetrc_volume *v);

/* Writes a label map on the geometry's grid: labels is int32
 * [dim[0]][dim[1]][dim[2]] (the in-memory layout above); the file holds
 * uint8 when every value is in 0..255, else int16 when every value fits,
 * else the call fails. A 3D file (for a 2D geometry: (X,Y) when the file read
 * was (X,Y), else (X,Y,1), so that nibabel computes the same affine) with
 * the geometry's qform, sform, pixdim and units, scl_slope 1, in the
 * geometry's NIfTI version (NIfTI-2 when a dimension exceeds 32767).
 * gzip-compressed when the name ends in .nii.gz (level 1, as nibabel).
 * Atomic: the file is written to PATH.tmpPID.N in the same folder (created
 * exclusively, never through a symbolic link), flushed to disk and renamed
 * over PATH; on any failure PATH is untouched and no temporary file stays. */
unetrc_status unetrc_nifti_write_labels(const char *path, const int32_t *labels, const unetrc_nifti_geometry *g,
                                        char *err, size_t errlen);

/* Writes float32 data [channels][dim[0]][dim[1]][dim[2]] (logits,
 * probabilities) on the geometry's grid: a 3D file when channels == 1, else
 * 4D (X,Y,Z,C) with dim[4] = C as MONAI's SaveImage writes it (pixdim[4] =
 * 1); otherwise as unetrc_nifti_write_labels. */
unetrc_status unetrc_nifti_write_f32(const char *path, const float *data, int64_t channels,
                                     const unetrc_nifti_geometry *g, char *err, size_t errlen);

/* Writes an RGB PNG overview of a segmentation: the axial, coronal and
 * sagittal slices (chosen from the affine: the voxel axis closest to world
 * z is the axial one, and so on) through the centre of mass of the nonzero
 * labels (the volume centre when there are none, or labels is NULL), side
 * by side, each resampled to square pixels from pixdim; the image in grey,
 * windowed to the 1st-99th percentile of the three slices; every nonzero
 * label blended at 50% in a fixed colour per value; a legend with each
 * label value present and its colour. image is one channel, float32
 * [dim[0]][dim[1]][dim[2]]; labels is int32 of the same shape, or NULL. 2D
 * geometries give one panel. Atomic like the NIfTI writers. */
unetrc_status unetrc_png_overview(const char *path, const float *image, const int32_t *labels,
                                  const unetrc_nifti_geometry *g, char *err, size_t errlen);

/* ---- the same into a stream ------------------------------------------------
 * For a caller that commits several outputs as one set (the unetrc CLI
 * writes them to its own temporary files and renames them together): the
 * encoders below produce exactly the bytes the file writers above put in
 * the file, and hand them to write(ctx, bytes, n) in order, which returns 0
 * on success (anything else fails the call: "NAME: cannot write output
 * file"). NAME is only a name: whether it ends in .nii.gz decides the gzip
 * compression, and messages begin with it. Nothing is opened or created. */
typedef int (*unetrc_write_fn)(void *ctx, const void *data, size_t n);

/* float32 data as unetrc_nifti_write_f32 writes it. */
unetrc_status unetrc_nifti_encode_f32(const char *name, const float *data, int64_t channels,
                                      const unetrc_nifti_geometry *g, unetrc_write_fn write, void *ctx, char *err,
                                      size_t errlen);
/* uint8 data [channels][dim[0]][dim[1]][dim[2]] (labels; with several
 * channels a multi-label map, 4D (X,Y,Z,C)), datatype uint8, otherwise as
 * unetrc_nifti_write_labels. */
unetrc_status unetrc_nifti_encode_u8(const char *name, const uint8_t *data, int64_t channels,
                                     const unetrc_nifti_geometry *g, unetrc_write_fn write, void *ctx, char *err,
                                     size_t errlen);
/* The PNG of unetrc_png_overview. */
unetrc_status unetrc_png_encode_overview(const char *name, const float *image, const int32_t *labels,
                                         const unetrc_nifti_geometry *g, unetrc_write_fn write, void *ctx, char *err,
                                         size_t errlen);

/* The colour the overview gives a label value (r, g, b in 0..255). */
void unetrc_label_color(int32_t value, unsigned char rgb[3]);

#ifdef __cplusplus
}
#endif

#endif
