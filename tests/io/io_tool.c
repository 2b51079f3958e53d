/* io_tool.c: the unetrc_io library on the command line, for
 * tests/io/nifti_test.py (which compares it with nibabel).
 *
 *   io_tool read [opts] OUT_PREFIX FILE...     -> OUT_PREFIX.npy (float32 [C, X, Y, Z], 2D: [C, X, Y])
 *                                                 and OUT_PREFIX.geom (one "key values..." line per field)
 *       opts: --2d --allow-nonfinite --max-bytes N --channels N --tol X
 *   io_tool write-labels [--2d] GEOM.nii LABELS.npy OUT.nii[.gz]   labels: float32 [X, Y, Z] of integers
 *   io_tool write-f32 [--2d] GEOM.nii DATA.npy CHANNELS OUT.nii[.gz]
 *   io_tool png [--2d] IMAGE.nii LABELS.npy|- OUT.png               the overview of channel 0
 *
 * GEOM.nii / IMAGE.nii are read with unetrc_nifti_read and give the
 * geometry. A failure prints "error: MESSAGE" (the library's one line) and
 * exits 1; a usage error exits 2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unetrc_io.h"

static int fail(const char *err, unetrc_status st) {
    if (!err[0]) fprintf(stderr, "error: status %d without a message\n", (int)st);
    else fprintf(stderr, "error: %s\n", err);
    return 1;
}

static int usage(void) {
    fprintf(stderr, "usage: see io_tool.c\n");
    return 2;
}

static void put_mat(FILE *f, const char *key, const double m[4][4]) {
    fprintf(f, "%s", key);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) fprintf(f, " %.17g", m[r][c]);
    fprintf(f, "\n");
}

static int cmd_read(int argc, char **argv) {
    unetrc_nifti_read_options opt = {0};
    int i = 0;
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        if (!strcmp(argv[i], "--2d")) opt.spatial_rank = 2;
        else if (!strcmp(argv[i], "--allow-nonfinite")) opt.allow_nonfinite = 1;
        else if (!strcmp(argv[i], "--max-bytes") && i + 1 < argc) opt.max_bytes = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--channels") && i + 1 < argc) opt.expect_channels = strtoll(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--tol") && i + 1 < argc) opt.affine_tolerance = strtod(argv[++i], NULL);
        else return usage();
    }
    if (argc - i < 2) return usage();
    const char *prefix = argv[i++];
    unetrc_volume v;
    char err[512] = "";
    unetrc_status st = unetrc_nifti_read((const char *const *)argv + i, argc - i, &opt, &v, err, sizeof err);
    if (st != UNETRC_OK) return fail(err, st);
    if (err[0]) {
        fprintf(stderr, "error: success with a message: %s\n", err);
        return 1;
    }
    const unetrc_nifti_geometry *g = &v.geom;
    char path[4096];
    int64_t shape[4] = {v.channels, g->dim[0], g->dim[1], g->dim[2]};
    snprintf(path, sizeof path, "%s.npy", prefix);
    st = unetrc_npy_write_f32(path, v.data, shape, g->spatial_rank == 2 ? 3 : 4);
    if (st != UNETRC_OK) return fail("cannot write the .npy", st);
    snprintf(path, sizeof path, "%s.geom", prefix);
    FILE *f = fopen(path, "w");
    if (!f) return fail("cannot write the .geom", UNETRC_ERR_IO);
    fprintf(f, "version %d\nspatial_rank %d\nndim %d\nchannels %lld\n", g->version, g->spatial_rank, g->ndim,
            (long long)v.channels);
    fprintf(f, "dim %lld %lld %lld\n", (long long)g->dim[0], (long long)g->dim[1], (long long)g->dim[2]);
    fprintf(f, "pixdim %.17g %.17g %.17g %.17g\n", g->pixdim[0], g->pixdim[1], g->pixdim[2], g->pixdim[3]);
    fprintf(f, "units %d %d\ncodes %d %d\n", g->xyz_units, g->time_units, g->qform_code, g->sform_code);
    fprintf(f, "quatern %.17g %.17g %.17g\nqoffset %.17g %.17g %.17g\n", g->quatern[0], g->quatern[1], g->quatern[2],
            g->qoffset[0], g->qoffset[1], g->qoffset[2]);
    put_mat(f, "qform", g->qform);
    put_mat(f, "sform", g->sform);
    put_mat(f, "affine", g->affine);
    fclose(f);
    unetrc_volume_free(&v);
    if (v.data || v.channels) return fail("unetrc_volume_free left data", UNETRC_ERR_NULL);
    return 0;
}

/* Reads the geometry file and a float32 .npy of `channels` volumes on its grid. */
static int load(const char *geom_path, int rank, const char *npy, int64_t channels, unetrc_volume *v, float **data,
                char *err, size_t errlen) {
    unetrc_nifti_read_options opt = {.spatial_rank = rank};
    unetrc_status st = unetrc_nifti_read(&geom_path, 1, &opt, v, err, errlen);
    if (st != UNETRC_OK) return fail(err, st);
    if (!npy) return 0;
    size_t n = (size_t)(channels * v->geom.dim[0] * v->geom.dim[1] * v->geom.dim[2]);
    *data = malloc(n * sizeof **data);
    st = unetrc_npy_read_f32(npy, *data, n);
    if (st != UNETRC_OK) {
        fprintf(stderr, "error: %s: %s\n", npy, unetrc_status_str(st));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *cmd = argv[1];
    argc -= 2;
    argv += 2;
    if (!strcmp(cmd, "read")) return cmd_read(argc, argv);
    int rank = 3;
    if (argc && !strcmp(argv[0], "--2d")) rank = 2, argc--, argv++;
    char err[512] = "";
    unetrc_volume v;
    float *data = NULL;
    unetrc_status st;
    if (!strcmp(cmd, "write-labels") && argc == 3) {
        if (load(argv[0], rank, argv[1], 1, &v, &data, err, sizeof err)) return 1;
        size_t n = (size_t)(v.geom.dim[0] * v.geom.dim[1] * v.geom.dim[2]);
        int32_t *labels = malloc(n * sizeof *labels);
        for (size_t i = 0; i < n; i++) labels[i] = (int32_t)lrintf(data[i]);
        st = unetrc_nifti_write_labels(argv[2], labels, &v.geom, err, sizeof err);
        free(labels);
    } else if (!strcmp(cmd, "write-f32") && argc == 4) {
        int64_t c = strtoll(argv[2], NULL, 10);
        if (load(argv[0], rank, argv[1], c, &v, &data, err, sizeof err)) return 1;
        st = unetrc_nifti_write_f32(argv[3], data, c, &v.geom, err, sizeof err);
    } else if (!strcmp(cmd, "png") && argc == 3) {
        int have = strcmp(argv[1], "-") != 0;
        if (load(argv[0], rank, have ? argv[1] : NULL, 1, &v, &data, err, sizeof err)) return 1;
        int32_t *labels = NULL;
        if (have) {
            size_t n = (size_t)(v.geom.dim[0] * v.geom.dim[1] * v.geom.dim[2]);
            labels = malloc(n * sizeof *labels);
            for (size_t i = 0; i < n; i++) labels[i] = (int32_t)lrintf(data[i]);
        }
        st = unetrc_png_overview(argv[2], v.data, labels, &v.geom, err, sizeof err);
        free(labels);
    } else {
        return usage();
    }
    free(data);
    unetrc_volume_free(&v);
    if (st != UNETRC_OK) return fail(err, st);
    return 0;
}
