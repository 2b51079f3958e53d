/* fuzz_nifti.c: libFuzzer harness for the NIfTI reader (unetrc_nifti_read,
 * runtime/src/io/nifti.c: nifti_clib's header decoding, zlib, our checks).
 *
 * Input: one mode byte, then the file. Mode bits 0-1 choose how the rest
 * reaches the reader: 0 as a .nii file; 1 as a .nii.gz file (raw bytes, so
 * the gzip layer is fuzzed too); 2 gzip-compressed here into a .nii.gz
 * (NIfTI content behind valid gzip); 3 the same .nii file given twice as
 * two channel files. Bit 2 asks for 2D images, bit 3 allows NaN/inf
 * voxels, bit 4 writes the round trip below as .nii.gz. The byte cap is
 * 16 MB.
 *
 * Oracles besides the sanitizers:
 *  - nothing is printed on stdout or stderr while the library runs (stdout
 *    and stderr point at a capture file during the call; nifti_clib must
 *    stay silent). UNETRC_FUZZ_NO_CAPTURE=1 turns this off for debugging;
 *    sanitizer reports go to the real stderr regardless;
 *  - a failure has a status, one line "PATH: ..." in err, and a zeroed
 *    volume; a success has no message, channels >= 1, the requested rank,
 *    finite voxels unless allowed, a finite affine;
 *  - round trip: what was read, written with unetrc_nifti_write_f32 and
 *    read again, gives the same channels, dims, bits and geometry. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "unetrc_io.h"

#define FUZZ_MAX_BYTES ((uint64_t)16 << 20)

void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

static char in_nii[96], in_gz[96], out_nii[96], out_gz[96], cap_path[96];
static int cap_fd = -1, saved_out = -1, saved_err = -1;

static void cleanup(void) {
    unlink(in_nii);
    unlink(in_gz);
    unlink(out_nii);
    unlink(out_gz);
    if (*cap_path) unlink(cap_path);
}

static void check(int ok, const char *what) {
    if (!ok) {
        if (saved_err >= 0) dup2(saved_err, 2);
        fprintf(stderr, "fuzz_nifti: %s\n", what);
        abort();
    }
}

/* Files go to /dev/shm when it is there (the writer fsyncs every output;
 * on tmpfs that costs nothing), else /tmp. */
static void init(void) {
    long pid = (long)getpid();
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(in_nii, sizeof in_nii, "%s/unetrc-fuzz-nifti-%ld.nii", dir, pid);
    snprintf(in_gz, sizeof in_gz, "%s/unetrc-fuzz-nifti-%ld.nii.gz", dir, pid);
    snprintf(out_nii, sizeof out_nii, "%s/unetrc-fuzz-nifti-%ld-rt.nii", dir, pid);
    snprintf(out_gz, sizeof out_gz, "%s/unetrc-fuzz-nifti-%ld-rt.nii.gz", dir, pid);
    atexit(cleanup);
    const char *no = getenv("UNETRC_FUZZ_NO_CAPTURE");
    if (!no || !*no || *no == '0') {
        snprintf(cap_path, sizeof cap_path, "%s/unetrc-fuzz-nifti-%ld.out", dir, pid);
        cap_fd = open(cap_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        saved_out = dup(1);
        saved_err = dup(2);
        if (cap_fd < 0 || saved_out < 0 || saved_err < 0) abort();
        if (__sanitizer_set_report_fd) __sanitizer_set_report_fd((void *)(intptr_t)saved_err);
    }
}

static void capture_begin(void) {
    if (cap_fd < 0) return;
    fflush(stdout);
    fflush(stderr);
    if (ftruncate(cap_fd, 0) != 0 || lseek(cap_fd, 0, SEEK_SET) != 0) abort();
    dup2(cap_fd, 1);
    dup2(cap_fd, 2);
}

static void capture_end(void) {
    if (cap_fd < 0) return;
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    off_t n = lseek(cap_fd, 0, SEEK_END);
    if (n > 0) {
        char buf[512];
        ssize_t k = pread(cap_fd, buf, sizeof buf - 1, 0);
        buf[k > 0 ? k : 0] = 0;
        fprintf(stderr, "fuzz_nifti: the library printed %lld bytes: %s\n", (long long)n, buf);
        abort();
    }
}

static void write_file(const char *path, const uint8_t *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(d, 1, n, f) != n) || fclose(f) != 0) abort();
}

static void write_gzip(const char *path, const uint8_t *d, size_t n) {
    gzFile gz = gzopen(path, "wb1");
    if (!gz || (n && gzwrite(gz, d, (unsigned)n) != (int)n) || gzclose(gz) != Z_OK) abort();
}

static unetrc_status read_checked(const char *const *paths, int n, const unetrc_nifti_read_options *opt,
                                  unetrc_volume *v, char *err, size_t errlen) {
    memset(v, 0x5a, sizeof *v); /* the reader must zero it on failure */
    capture_begin();
    unetrc_status st = unetrc_nifti_read(paths, n, opt, v, err, errlen);
    capture_end();
    if (st != UNETRC_OK) {
        int named = 0;
        for (int i = 0; i < n; i++) named |= !strncmp(err, paths[i], strlen(paths[i])) && err[strlen(paths[i])] == ':';
        check(err[0] && named, "failure without a message naming the file");
        check(!strchr(err, '\n'), "message on more than one line");
        check(unetrc_status_str(st) != NULL, "status without a description");
        check(!v->data && !v->channels, "failed read left a volume");
    } else {
        check(!err[0], "success with a message");
        check(v->data && v->channels >= 1, "success without data");
        check(v->geom.spatial_rank == (opt->spatial_rank == 2 ? 2 : 3), "wrong spatial rank");
        check(v->geom.dim[0] >= 1 && v->geom.dim[1] >= 1 && v->geom.dim[2] >= 1, "bad dims");
        check(opt->spatial_rank != 2 || v->geom.dim[2] == 1, "2D image with depth");
        check(opt->spatial_rank == 2 || v->geom.dim[2] > 1, "3D volume of depth 1");
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++) check(isfinite(v->geom.affine[r][c]), "affine not finite");
        size_t count = (size_t)(v->channels * v->geom.dim[0] * v->geom.dim[1] * v->geom.dim[2]);
        check(count * 4 <= FUZZ_MAX_BYTES, "volume above the cap");
        if (!opt->allow_nonfinite)
            for (size_t i = 0; i < count; i++) check(isfinite(v->data[i]), "non-finite voxel accepted");
    }
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!*in_nii) init();
    if (size < 1) return 0;
    int mode = data[0];
    data++;
    size--;
    unetrc_nifti_read_options opt = {
        .spatial_rank = mode & 4 ? 2 : 3, .allow_nonfinite = !!(mode & 8), .max_bytes = FUZZ_MAX_BYTES};
    const char *paths[2] = {in_nii, in_nii};
    int npaths = 1;
    switch (mode & 3) {
    case 0: write_file(in_nii, data, size); break;
    case 1: write_file(in_gz, data, size), paths[0] = in_gz; break;
    case 2: write_gzip(in_gz, data, size), paths[0] = in_gz; break;
    default: write_file(in_nii, data, size), npaths = 2; break;
    }
    char err[512];
    unetrc_volume v;
    unetrc_status st = read_checked(paths, npaths, &opt, &v, err, sizeof err);
    if (st == UNETRC_OK) {
        const char *out = mode & 16 ? out_gz : out_nii;
        capture_begin();
        st = unetrc_nifti_write_f32(out, v.data, v.channels, &v.geom, err, sizeof err);
        capture_end();
        check(st == UNETRC_OK, "cannot write what was read");
        unetrc_volume w;
        st = read_checked(&out, 1, &opt, &w, err, sizeof err);
        check(st == UNETRC_OK, "cannot re-read its own output");
        const unetrc_nifti_geometry *a = &v.geom, *b = &w.geom;
        check(w.channels == v.channels && !memcmp(a->dim, b->dim, sizeof a->dim), "round trip changed the shape");
        size_t count = (size_t)(v.channels * a->dim[0] * a->dim[1] * a->dim[2]);
        check(!memcmp(v.data, w.data, count * sizeof(float)), "round trip changed the data");
        check(a->version == b->version, "round trip changed the NIfTI version");
        check(a->qform_code == b->qform_code && a->sform_code == b->sform_code, "round trip changed the codes");
        check(a->xyz_units == b->xyz_units && a->time_units == b->time_units, "round trip changed the units");
        check(!memcmp(a->pixdim, b->pixdim, sizeof a->pixdim) || a->qform_code == 0, "round trip changed pixdim");
        check(!memcmp(a->pixdim + 1, b->pixdim + 1, 3 * sizeof(double)), "round trip changed the voxel size");
        check(!memcmp(a->affine, b->affine, sizeof a->affine), "round trip changed the affine");
        if (a->qform_code > 0)
            check(!memcmp(a->quatern, b->quatern, sizeof a->quatern) &&
                      !memcmp(a->qoffset, b->qoffset, sizeof a->qoffset),
                  "round trip changed the qform");
        unetrc_volume_free(&w);
        unetrc_volume_free(&v);
        unlink(out);
    }
    return 0;
}
