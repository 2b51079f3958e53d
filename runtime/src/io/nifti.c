/* nifti.c: NIfTI-1/NIfTI-2 volumes in and out (unetrc_io.h, docs/io.md).
 *
 * The header is decoded by nifti_clib: nifti_header_version (version and
 * byte order from sizeof_hdr and the magic), swap_nifti_header, and
 * nifti_convert_n1hdr2nim / nifti_convert_n2hdr2nim (qform quaternion to
 * matrix, sform, pixdim, units); written headers come from
 * nifti_convert_nim2n1hdr / nim2n2hdr. The bytes themselves go through
 * zlib's gzFile (reading) and deflate (writing) on file descriptors this
 * file opens. nifti_image_read / nifti_image_load are not used, because on
 * untrusted files they (nifti_clib 3.0.1):
 *   - replace NaN and inf voxels of float files by 0 without a word
 *     (nifti_read_buffer), where nibabel keeps them and we must report them;
 *   - print "** ERROR: nifti_convert_n1hdr2nim: bad dim[0]" and the like on
 *     stderr whatever the debug level;
 *   - turn dimensions <= 0 into 1, and convert a float vox_offset to int
 *     without a range check;
 *   - read files other than the one named (foo.nii.gz or foo.hdr when
 *     foo.nii is missing), ASCII .nia headers and ANALYZE 7.5 files, and
 *     allocate extension buffers sized by the header before any check.
 * Every header field that decides how many bytes are read or allocated is
 * checked here first (dims, datatype, vox_offset against max_bytes), in the
 * byte order nifti_clib itself will use, so its converters only ever see
 * headers they accept silently. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <nifti2_io.h>

#include "io_internal.h"

#define DEFAULT_MAX_BYTES ((uint64_t)4 << 30)
#define DEFAULT_AFFINE_TOL 1e-4
#define N1_HDR 348
#define N2_HDR 540
#define N1_VOX_OFFSET 352 /* header + 4-byte extender, nibabel's single_vox_offset */
#define N2_VOX_OFFSET 544

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void quiet_nifti(void) { nifti_set_debug_level(0); }

/* ---- data types ---------------------------------------------------------- */

typedef struct dtype_info {
    int code;
    const char *name;
    int size;
} dtype_info;

static const dtype_info DTYPES[] = {
    {DT_UINT8, "uint8", 1},     {DT_INT8, "int8", 1},       {DT_INT16, "int16", 2}, {DT_UINT16, "uint16", 2},
    {DT_INT32, "int32", 4},     {DT_UINT32, "uint32", 4},   {DT_INT64, "int64", 8}, {DT_UINT64, "uint64", 8},
    {DT_FLOAT32, "float32", 4}, {DT_FLOAT64, "float64", 8},
};
#define SUPPORTED_LIST "uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64"

static const dtype_info *find_dtype(int code) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof *DTYPES; i++)
        if (DTYPES[i].code == code) return &DTYPES[i];
    return NULL;
}

/* Element i of a native-order buffer of type dt, as a double (what
 * nibabel's get_fdata computes before the scaling). */
/* Element i of p read as T (unaligned, native byte order). */
#define ELEMENT_AS(T)                                                                                                  \
    do {                                                                                                               \
        T v;                                                                                                           \
        memcpy(&v, p + sizeof(T) * i, sizeof(T));                                                                      \
        return (double)v;                                                                                              \
    } while (0)

static double element(const unsigned char *p, int dt, size_t i) {
    switch (dt) {
    case DT_UINT8: return p[i];
    case DT_INT8: return (signed char)p[i];
    case DT_INT16: ELEMENT_AS(int16_t);
    case DT_UINT16: ELEMENT_AS(uint16_t);
    case DT_INT32: ELEMENT_AS(int32_t);
    case DT_UINT32: ELEMENT_AS(uint32_t);
    case DT_INT64: ELEMENT_AS(int64_t);
    case DT_UINT64: ELEMENT_AS(uint64_t);
    case DT_FLOAT32: ELEMENT_AS(float);
    default: ELEMENT_AS(double);
    }
}
#undef ELEMENT_AS

/* ---- input files ----------------------------------------------------------- */

/* One open input: a plain file descriptor (.nii) or a gzip stream on it
 * (.nii.gz); pos counts the (decompressed) bytes consumed. */
typedef struct src {
    const char *path;
    int fd;
    gzFile gz;
    uint64_t file_size, pos;
} src;

static void src_close(src *s) {
    if (s->gz) gzclose(s->gz); /* closes fd too */
    else if (s->fd >= 0) close(s->fd);
    s->gz = NULL;
    s->fd = -1;
}

/* zlib's message without the "<fd:N>: " it puts before it for gzdopen streams. */
static const char *gz_message(gzFile gz, int *code) {
    const char *m = gzerror(gz, code);
    if (!strncmp(m, "<fd:", 4)) {
        const char *colon = strstr(m, ": ");
        if (colon) m = colon + 2;
    }
    return m;
}

/* Reads up to n bytes; returns the count (short only at the end of the
 * data), or -1 with err filled on a read or gzip error. */
static int64_t src_read(src *s, void *buf, size_t n, char *err, size_t errlen) {
    unsigned char *p = buf;
    size_t got = 0;
    while (got < n) {
        size_t want = n - got < (1u << 30) ? n - got : (1u << 30);
        if (s->gz) {
            int r = gzread(s->gz, p + got, (unsigned)want);
            if (r < 0) {
                int code = 0;
                const char *m = gz_message(s->gz, &code);
                io_fail(err, errlen, UNETRC_ERR_FORMAT, s->path, "corrupt gzip data (%s)",
                        code == Z_ERRNO ? strerror(errno) : m);
                return -1;
            }
            if (r == 0) break;
            got += (size_t)r;
        } else {
            ssize_t r = read(s->fd, p + got, want);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                io_fail(err, errlen, UNETRC_ERR_IO, s->path, "cannot read file: %s", strerror(errno));
                return -1;
            }
            if (r == 0) break;
            got += (size_t)r;
        }
    }
    s->pos += got;
    return (int64_t)got;
}

/* After a short gzip read: was it the end of a complete stream (0) or a
 * truncated / corrupt one (-1, err filled)? */
static int gz_end_status(src *s, char *err, size_t errlen) {
    int code = 0;
    const char *m = gz_message(s->gz, &code);
    if (code == Z_OK) return 0;
    io_fail(err, errlen, code == Z_BUF_ERROR ? UNETRC_ERR_TRUNCATED : UNETRC_ERR_FORMAT, s->path, "%s gzip data (%s)",
            code == Z_BUF_ERROR ? "truncated" : "corrupt", m);
    return -1;
}

/* Discards n bytes (skipping to vox_offset). */
static unetrc_status src_skip(src *s, uint64_t n, char *err, size_t errlen) {
    unsigned char buf[4096];
    while (n) {
        size_t k = n < sizeof buf ? (size_t)n : sizeof buf;
        int64_t r = src_read(s, buf, k, err, errlen);
        if (r < 0) return UNETRC_ERR_FORMAT;
        if ((size_t)r < k) {
            if (s->gz && gz_end_status(s, err, errlen)) return UNETRC_ERR_TRUNCATED;
            return io_fail(err, errlen, UNETRC_ERR_TRUNCATED, s->path,
                           "truncated: the file ends at byte %llu, before the image data", (unsigned long long)s->pos);
        }
        n -= (uint64_t)k;
    }
    return UNETRC_OK;
}

/* Everything read_header learns about one file. */
typedef struct hdr_info {
    int version, swap;
    int64_t dim[8]; /* dim[0] = rank */
    int64_t nx, ny, nz, channels, nvox;
    int64_t chan_stride_dim; /* 4 or 5: the file dimension holding the channels (0 when 1 channel) */
    const dtype_info *dt;
    uint64_t vox_offset, data_bytes;
    double slope, inter; /* applied when scaled */
    int scaled;
    unetrc_nifti_geometry geom;
} hdr_info;

static void dmat_copy(double dst[4][4], const nifti_dmat44 *m) {
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) dst[r][c] = m->m[r][c];
}

static int all_finite(const double *v, int n) {
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* The fields read_header checks, taken from a byte-swapped copy of either header version. */
typedef struct raw_fields {
    int64_t dim[8];
    int datatype;
    double pixdim[8], vox_offset, slope, inter, quatern[3], qoffset[3], srow[12];
    int qform_code, sform_code;
} raw_fields;

/* The fields of either header version (same names, other widths). */
#define COPY_FIELDS(h, f)                                                                                              \
    do {                                                                                                               \
        for (int i = 0; i < 8; i++) (f)->dim[i] = (h)->dim[i], (f)->pixdim[i] = (h)->pixdim[i];                        \
        (f)->datatype = (h)->datatype;                                                                                 \
        (f)->vox_offset = (double)(h)->vox_offset;                                                                     \
        (f)->slope = (h)->scl_slope;                                                                                   \
        (f)->inter = (h)->scl_inter;                                                                                   \
        (f)->quatern[0] = (h)->quatern_b, (f)->quatern[1] = (h)->quatern_c, (f)->quatern[2] = (h)->quatern_d;          \
        (f)->qoffset[0] = (h)->qoffset_x, (f)->qoffset[1] = (h)->qoffset_y, (f)->qoffset[2] = (h)->qoffset_z;          \
        for (int i = 0; i < 4; i++)                                                                                    \
            (f)->srow[i] = (h)->srow_x[i], (f)->srow[4 + i] = (h)->srow_y[i], (f)->srow[8 + i] = (h)->srow_z[i];       \
        (f)->qform_code = (h)->qform_code;                                                                             \
        (f)->sform_code = (h)->sform_code;                                                                             \
    } while (0)

static void fields_n1(const nifti_1_header *h, raw_fields *f) { COPY_FIELDS(h, f); }
static void fields_n2(const nifti_2_header *h, raw_fields *f) { COPY_FIELDS(h, f); }

/* nibabel's get_base_affine (the affine of a file without qform or sform):
 * shape_zoom_affine(shape, zooms, x_flip=True). */
static void base_affine(const int64_t dim[3], const double zoom[3], double a[4][4]) {
    memset(a, 0, 16 * sizeof(double));
    for (int i = 0; i < 3; i++) {
        double z = i == 0 ? -zoom[i] : zoom[i];
        a[i][i] = z;
        a[i][3] = -((double)dim[i] - 1) / 2.0 * z;
    }
    a[3][3] = 1;
}

static const char *dims_str(const int64_t *d, int n, char *buf, size_t len) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < n && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? "x" : "", (long long)d[i]);
    return buf;
}

/* Opens path and reads, checks and decodes its header; on success the
 * source is positioned at the image data. */
static unetrc_status read_header(src *s, const char *path, const unetrc_nifti_read_options *opt, uint64_t max_bytes,
                                 hdr_info *h, char *err, size_t errlen) {
    memset(h, 0, sizeof *h);
    s->path = path;
    s->fd = -1;
    s->gz = NULL;
    s->pos = 0;
    int gz = io_has_suffix(path, ".nii.gz");
    if (!gz && !io_has_suffix(path, ".nii"))
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "not a NIfTI file name (.nii or .nii.gz expected)");
    s->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* non-blocking: a FIFO cannot hang us */
    if (s->fd < 0) return io_fail(err, errlen, UNETRC_ERR_IO, path, "cannot open file: %s", strerror(errno));
    struct stat st;
    if (fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode))
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "not a regular file");
    s->file_size = (uint64_t)st.st_size;
    if (s->file_size > max_bytes)
        return io_fail(err, errlen, UNETRC_ERR_SIZE, path, "file is %llu bytes, above the limit of %llu bytes",
                       (unsigned long long)s->file_size, (unsigned long long)max_bytes);
    if (gz) {
        s->gz = gzdopen(s->fd, "rb");
        if (!s->gz) return io_fail(err, errlen, UNETRC_ERR_NOMEM, path, "out of memory");
        gzbuffer(s->gz, 1u << 17);
    }

    /* The fixed-size header: 348 bytes, 540 for NIfTI-2. */
    union {
        char b[N2_HDR];
        nifti_1_header n1;
        nifti_2_header n2;
    } raw, sw;
    memset(&raw, 0, sizeof raw);
    int64_t got = src_read(s, raw.b, N1_HDR, err, errlen);
    if (got < 0) return UNETRC_ERR_FORMAT;
    if (gz && gzdirect(s->gz))
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "not gzip-compressed, although named .nii.gz");
    if (got < N1_HDR) {
        if (gz && gz_end_status(s, err, errlen)) return UNETRC_ERR_TRUNCATED;
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path,
                       "not a NIfTI file (%lld bytes, shorter than a NIfTI-1 header)", (long long)got);
    }
    int ver = nifti_header_version(raw.b, N1_HDR);
    if (ver < 0) {
        if (!gz && (unsigned char)raw.b[0] == 0x1f && (unsigned char)raw.b[1] == 0x8b)
            return io_fail(err, errlen, UNETRC_ERR_FORMAT, path,
                           "gzip-compressed data in a file named .nii (name it .nii.gz)");
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "not a NIfTI-1 or NIfTI-2 file (bad sizeof_hdr or magic)");
    }
    if (ver == 0)
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "an ANALYZE 7.5 header, not NIfTI (not supported)");
    if (raw.b[ver == 1 ? 345 : 5] != '+')
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path,
                       "the header of a two-file NIfTI pair (.hdr/.img), not a single-file .nii (not supported)");
    if (ver == 2) {
        got = src_read(s, raw.b + N1_HDR, N2_HDR - N1_HDR, err, errlen);
        if (got < 0) return UNETRC_ERR_FORMAT;
        if (got < N2_HDR - N1_HDR) {
            if (gz && gz_end_status(s, err, errlen)) return UNETRC_ERR_TRUNCATED;
            return io_fail(err, errlen, UNETRC_ERR_TRUNCATED, path, "truncated NIfTI-2 header (%lld of 540 bytes)",
                           (long long)(N1_HDR + got));
        }
        /* nibabel refuses a NIfTI-2 magic whose bytes 4-7 are neither \r\n\032\n nor zeros. */
        const char *eol = raw.n2.magic + 4;
        if (memcmp(eol, "\r\n\032\n", 4) && memcmp(eol, "\0\0\0\0", 4))
            return io_fail(err, errlen, UNETRC_ERR_FORMAT, path,
                           "corrupt NIfTI-2 magic (bytes 4-7 are not \\r\\n\\032\\n)");
    }
    /* A copy in native byte order, swapped by nifti_clib when sizeof_hdr is,
     * then given the fixes nibabel applies on load (check_fix: problems
     * below its error level are repaired, not refused), so that nifti_clib
     * decodes the same geometry nibabel computes:
     *   pixdim[1..3]: 0 -> 1, negative -> absolute value (nifti_clib would
     *     use 1 for a negative spacing in the qform);
     *   pixdim[0] (qfac) other than -1 or 1 -> 1 (nifti_clib: sign of it);
     *   qform_code / sform_code outside 0..5 -> 0. */
    memcpy(&sw, &raw, sizeof raw);
    int native = ver == 1 ? raw.n1.sizeof_hdr == N1_HDR : raw.n2.sizeof_hdr == N2_HDR;
    h->swap = !native;
    if (h->swap) swap_nifti_header(&sw, ver);
    if (ver == 1) {
        for (int i = 1; i <= 3; i++) sw.n1.pixdim[i] = sw.n1.pixdim[i] == 0 ? 1.0f : fabsf(sw.n1.pixdim[i]);
        if (sw.n1.pixdim[0] != 1 && sw.n1.pixdim[0] != -1) sw.n1.pixdim[0] = 1;
        if (sw.n1.qform_code < 0 || sw.n1.qform_code > 5) sw.n1.qform_code = 0;
        if (sw.n1.sform_code < 0 || sw.n1.sform_code > 5) sw.n1.sform_code = 0;
    } else {
        for (int i = 1; i <= 3; i++) sw.n2.pixdim[i] = sw.n2.pixdim[i] == 0 ? 1.0 : fabs(sw.n2.pixdim[i]);
        if (sw.n2.pixdim[0] != 1 && sw.n2.pixdim[0] != -1) sw.n2.pixdim[0] = 1;
        if (sw.n2.qform_code < 0 || sw.n2.qform_code > 5) sw.n2.qform_code = 0;
        if (sw.n2.sform_code < 0 || sw.n2.sform_code > 5) sw.n2.sform_code = 0;
    }
    raw_fields f;
    if (ver == 1) fields_n1(&sw.n1, &f);
    else fields_n2(&sw.n2, &f);
    h->version = ver;

    /* Dimensions: dim[0] in 1..7 (nifti_clib decides the NIfTI-1 byte order
     * from it, so it must agree with sizeof_hdr's), every dim >= 1, the
     * voxel count and the data size within the limit. */
    char dbuf[200];
    if (f.dim[0] < 1 || f.dim[0] > 7)
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "dim[0] is %lld (must be 1 to 7)", (long long)f.dim[0]);
    int rank = (int)f.dim[0];
    for (int i = 1; i <= rank; i++)
        if (f.dim[i] < 1)
            return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "dim[%d] is %lld (dimensions must be at least 1)", i,
                           (long long)f.dim[i]);
    for (int i = 0; i <= 7; i++) h->dim[i] = i <= rank ? f.dim[i] : 1;
    h->dt = find_dtype(f.datatype);
    if (!h->dt) {
        const char *name = nifti_datatype_string(f.datatype);
        if (!nifti_is_valid_datatype(f.datatype))
            return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "datatype %d is not a NIfTI datatype", f.datatype);
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "datatype %s (%d) is not supported (" SUPPORTED_LIST ")",
                       name, f.datatype);
    }
    int64_t nvox = 1;
    for (int i = 1; i <= rank; i++)
        if (!io_mul_ok(nvox, h->dim[i], &nvox))
            return io_fail(err, errlen, UNETRC_ERR_SIZE, path, "dimensions %s: the voxel count overflows",
                           dims_str(h->dim + 1, rank, dbuf, sizeof dbuf));
    int64_t bytes;
    if (!io_mul_ok(nvox, h->dt->size, &bytes) || (uint64_t)bytes > max_bytes)
        return io_fail(err, errlen, UNETRC_ERR_SIZE, path, "image of %s %s voxels is above the limit of %llu bytes",
                       dims_str(h->dim + 1, rank, dbuf, sizeof dbuf), h->dt->name, (unsigned long long)max_bytes);
    h->nvox = nvox;
    h->data_bytes = (uint64_t)bytes;

    /* Where the data starts: at int(vox_offset), as nibabel; a .nii file's
     * data cannot start before byte 352 (NIfTI-1) or 544 (NIfTI-2): nibabel
     * refuses such offsets except 0, where it reads the header as data, and
     * nifti_clib reads from byte 348; both are refused here. */
    uint64_t min_off = ver == 1 ? N1_VOX_OFFSET : N2_VOX_OFFSET;
    if (!isfinite(f.vox_offset) || f.vox_offset > (double)max_bytes)
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "vox_offset %g is not a usable data offset", f.vox_offset);
    if (f.vox_offset < (double)min_off)
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path,
                       "vox_offset %g is below %llu, where the data of a .nii file starts at the earliest",
                       f.vox_offset, (unsigned long long)min_off);
    h->vox_offset = (uint64_t)f.vox_offset;
    if (h->vox_offset > max_bytes - h->data_bytes)
        return io_fail(err, errlen, UNETRC_ERR_SIZE, path,
                       "image data ends at byte %llu, above the limit of %llu bytes",
                       (unsigned long long)(h->vox_offset + h->data_bytes), (unsigned long long)max_bytes);
    /* Layout: spatial rank and channels. */
    int want2d = opt->spatial_rank == 2;
    h->nx = h->dim[1];
    h->ny = h->dim[2];
    h->nz = h->dim[3];
    if (rank == 1)
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "a 1D image (%lld voxels), not supported",
                       (long long)h->nx);
    if (rank <= 4) {
        h->channels = rank == 4 ? h->dim[4] : 1;
        h->chan_stride_dim = rank == 4 ? 4 : 0;
    } else if (rank == 5 && h->dim[4] == 1) {
        h->channels = h->dim[5];
        h->chan_stride_dim = 5;
    } else {
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path,
                       "a %dD image of %s: channels go in the 4th dimension (X,Y,Z,C), or in the 5th with dim[4] = 1",
                       rank, dims_str(h->dim + 1, rank, dbuf, sizeof dbuf));
    }
    if (!want2d && h->nz == 1)
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "a 2D image (%lldx%lld), a 3D volume is expected",
                       (long long)h->nx, (long long)h->ny);
    if (want2d && h->nz != 1)
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "a 3D volume (%lldx%lldx%lld), a 2D image is expected",
                       (long long)h->nx, (long long)h->ny, (long long)h->nz);

    /* Scaling, as nibabel's get_slope_inter: used when the slope is finite
     * and nonzero, and then the intercept must be finite. */
    if (isfinite(f.slope) && f.slope != 0) {
        if (!isfinite(f.inter))
            return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "scl_slope is %g but scl_inter is %g (not finite)",
                           f.slope, f.inter);
        h->slope = f.slope;
        h->inter = f.inter;
        h->scaled = f.slope != 1 || f.inter != 0;
    }

    /* Geometry: the numbers the affine is made of finite; a qform
     * quaternion (b, c, d) of norm above 1 is refused as nibabel refuses it
     * (fillpositive: 1 - |bcd|^2 below -3 float32 epsilons). */
    if (!all_finite(f.pixdim + 1, rank < 3 && f.qform_code == 0 ? rank : 3)) /* the voxel sizes the affine uses */
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "pixdim holds a value that is not finite");
    if (f.qform_code > 0) {
        if (!all_finite(f.quatern, 3) || !all_finite(f.qoffset, 3))
            return io_fail(err, errlen, UNETRC_ERR_FORMAT, path,
                           "the qform (quatern_b/c/d, qoffset_x/y/z) holds a value that is not finite");
        double w2 = 1 - (f.quatern[0] * f.quatern[0] + f.quatern[1] * f.quatern[1] + f.quatern[2] * f.quatern[2]);
        if (w2 < -3 * (double)FLT_EPSILON)
            return io_fail(err, errlen, UNETRC_ERR_FORMAT, path,
                           "the qform quaternion (quatern_b/c/d) has a norm above 1");
    }
    if (f.sform_code > 0 && !all_finite(f.srow, 12))
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "the sform (srow_x/y/z) holds a value that is not finite");

    /* Before anything is allocated for it, the data must fit in the file: a
     * .nii holds it byte for byte; a gzip file cannot inflate more than
     * 1032 times (deflate's largest ratio; 1100 with headroom). */
    uint64_t end = h->vox_offset + h->data_bytes;
    if (!gz && end > s->file_size)
        return io_fail(err, errlen, UNETRC_ERR_TRUNCATED, path,
                       "truncated: the image needs %llu bytes of data from byte %llu, the file ends at byte %llu",
                       (unsigned long long)h->data_bytes, (unsigned long long)h->vox_offset,
                       (unsigned long long)s->file_size);
    if (gz && end / 1100 > s->file_size)
        return io_fail(err, errlen, UNETRC_ERR_TRUNCATED, path,
                       "truncated: the image needs %llu bytes of data from byte %llu, more than a gzip file of %llu "
                       "bytes can hold",
                       (unsigned long long)h->data_bytes, (unsigned long long)h->vox_offset,
                       (unsigned long long)s->file_size);

    /* nifti_clib decodes the (native-order, repaired) header. */
    nifti_image *nim = ver == 1 ? nifti_convert_n1hdr2nim(sw.n1, NULL) : nifti_convert_n2hdr2nim(sw.n2, NULL);
    if (!nim) return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "nifti_clib cannot decode the header");
    unetrc_nifti_geometry *g = &h->geom;
    g->version = ver;
    g->spatial_rank = want2d ? 2 : 3;
    g->ndim = rank;
    g->dim[0] = h->nx, g->dim[1] = h->ny, g->dim[2] = h->nz;
    g->pixdim[0] = nim->qfac < 0 ? -1.0 : 1.0;
    g->pixdim[1] = nim->dx, g->pixdim[2] = nim->dy, g->pixdim[3] = nim->dz;
    g->xyz_units = nim->xyz_units;
    g->time_units = nim->time_units;
    g->qform_code = nim->qform_code;
    g->sform_code = nim->sform_code;
    /* A 2D file's pixdim[3] is not a voxel size (nibabel's zooms stop at
     * dim[0]); only the qform uses it. Without one it is 1, so that a file
     * written on this grid with another rank keeps nibabel's affine. */
    if (rank < 3 && g->qform_code == 0) g->pixdim[3] = 1;
    g->quatern[0] = nim->quatern_b, g->quatern[1] = nim->quatern_c, g->quatern[2] = nim->quatern_d;
    g->qoffset[0] = nim->qoffset_x, g->qoffset[1] = nim->qoffset_y, g->qoffset[2] = nim->qoffset_z;
    dmat_copy(g->qform, &nim->qto_xyz);
    if (nim->sform_code > 0) {
        dmat_copy(g->sform, &nim->sto_xyz);
    } else {
        memset(g->sform, 0, sizeof g->sform);
        g->sform[3][3] = 1;
    }
    nifti_image_free(nim);
    if (g->sform_code > 0) memcpy(g->affine, g->sform, sizeof g->affine);
    else if (g->qform_code > 0) memcpy(g->affine, g->qform, sizeof g->affine);
    else {
        double zoom[3] = {f.pixdim[1], rank >= 2 ? f.pixdim[2] : 1, rank >= 3 ? f.pixdim[3] : 1};
        base_affine(g->dim, zoom, g->affine);
    }
    return src_skip(s, h->vox_offset - s->pos, err, errlen);
}

/* Reads the image data of one file into channels [c0, c0 + h->channels)
 * of out, transposed from NIfTI's i-fastest order to [c][i][j][k]. */
static unetrc_status read_data(src *s, const hdr_info *h, float *out, int64_t c0, uint64_t max_bytes,
                               int allow_nonfinite, char *err, size_t errlen) {
    const int64_t nx = h->nx, ny = h->ny, nz = h->nz, plane = nx * ny;
    const int size = h->dt->size;
    unsigned char *buf = malloc((size_t)(plane * size));
    if (!buf)
        return io_fail(err, errlen, UNETRC_ERR_NOMEM, s->path, "out of memory (%lld bytes)", (long long)(plane * size));
    unetrc_status st = UNETRC_OK;
    for (int64_t c = 0; c < h->channels && st == UNETRC_OK; c++) {
        float *dst = out + (c0 + c) * plane * nz;
        for (int64_t k = 0; k < nz && st == UNETRC_OK; k++) {
            size_t want = (size_t)(plane * size);
            int64_t got = src_read(s, buf, want, err, errlen);
            if (got < 0) {
                st = UNETRC_ERR_FORMAT;
                break;
            }
            if ((size_t)got < want) {
                if (s->gz && gz_end_status(s, err, errlen)) st = UNETRC_ERR_TRUNCATED;
                else
                    st = io_fail(
                        err, errlen, UNETRC_ERR_TRUNCATED, s->path,
                        "truncated: the image needs %llu bytes of data from byte %llu, the file ends at byte %llu",
                        (unsigned long long)h->data_bytes, (unsigned long long)h->vox_offset,
                        (unsigned long long)s->pos);
                break;
            }
            if (h->swap && size > 1) nifti_swap_Nbytes(plane, size, buf);
            for (int64_t j = 0; j < ny; j++)
                for (int64_t i = 0; i < nx; i++) {
                    double v = element(buf, h->dt->code, (size_t)(j * nx + i));
                    double sv = h->scaled ? v * h->slope + h->inter : v;
                    float fv = (float)sv;
                    if (!isfinite(fv) && !allow_nonfinite) {
                        char idx[96];
                        if (h->chan_stride_dim == 4)
                            snprintf(idx, sizeof idx, "[%lld,%lld,%lld,%lld]", (long long)i, (long long)j, (long long)k,
                                     (long long)c);
                        else if (h->chan_stride_dim == 5)
                            snprintf(idx, sizeof idx, "[%lld,%lld,%lld,0,%lld]", (long long)i, (long long)j,
                                     (long long)k, (long long)c);
                        else snprintf(idx, sizeof idx, "[%lld,%lld,%lld]", (long long)i, (long long)j, (long long)k);
                        if (isnan(v)) st = io_fail(err, errlen, UNETRC_ERR_FORMAT, s->path, "voxel %s is NaN", idx);
                        else if (isinf(v))
                            st = io_fail(err, errlen, UNETRC_ERR_FORMAT, s->path, "voxel %s is infinite", idx);
                        else
                            st = io_fail(err, errlen, UNETRC_ERR_FORMAT, s->path,
                                         "voxel %s is %g%s, beyond the float32 range", idx, sv,
                                         h->scaled ? " after scaling" : "");
                        goto done;
                    }
                    dst[(i * ny + j) * nz + k] = fv;
                }
        }
    }
    /* A gzip stream is read to its end, so that its CRC and length are
     * checked (a corrupt or cut file is refused even when the voxels came
     * through), up to the byte limit. */
    if (st == UNETRC_OK && s->gz) {
        unsigned char tail[4096];
        for (;;) {
            int64_t got = src_read(s, tail, sizeof tail, err, errlen);
            if (got < 0) {
                st = UNETRC_ERR_FORMAT;
                break;
            }
            if (s->pos > max_bytes) {
                st = io_fail(err, errlen, UNETRC_ERR_SIZE, s->path, "decompresses to more than the limit of %llu bytes",
                             (unsigned long long)max_bytes);
                break;
            }
            if (got < (int64_t)sizeof tail) {
                if (gz_end_status(s, err, errlen)) st = UNETRC_ERR_TRUNCATED;
                break;
            }
        }
    }
done:
    free(buf);
    return st;
}

static double affine_diff(const double a[4][4], const double b[4][4], double tol, int *row, int *col, int *bad) {
    double scale = 1, worst = 0;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) scale = fmax(scale, fabs(a[r][c]));
    *bad = 0;
    *row = *col = 0;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            double d = fabs(a[r][c] - b[r][c]);
            if (!(d <= tol * scale) && (!*bad || d > worst || isnan(d))) {
                *bad = 1;
                worst = d;
                *row = r;
                *col = c;
            }
        }
    return worst;
}

unetrc_status unetrc_nifti_read(const char *const *paths, int npaths, const unetrc_nifti_read_options *options,
                                unetrc_volume *out, char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    if (!out) return UNETRC_ERR_NULL;
    memset(out, 0, sizeof *out);
    if (!paths || npaths < 1) return UNETRC_ERR_NULL;
    for (int i = 0; i < npaths; i++)
        if (!paths[i]) return UNETRC_ERR_NULL;
    pthread_once(&quiet_once, quiet_nifti);
    unetrc_nifti_read_options opt = {0};
    if (options) opt = *options;
    if (opt.spatial_rank != 2) opt.spatial_rank = 3;
    uint64_t max_bytes = opt.max_bytes ? opt.max_bytes : DEFAULT_MAX_BYTES;
    double tol = opt.affine_tolerance > 0 ? opt.affine_tolerance : DEFAULT_AFFINE_TOL;

    src *srcs = calloc((size_t)npaths, sizeof *srcs);
    hdr_info *hs = calloc((size_t)npaths, sizeof *hs);
    unetrc_status st = UNETRC_OK;
    if (!srcs || !hs) {
        free(srcs);
        free(hs);
        return io_fail(err, errlen, UNETRC_ERR_NOMEM, paths[0], "out of memory");
    }
    for (int i = 0; i < npaths; i++) srcs[i].fd = -1;
    /* 1. Every header, checked against the first file's grid. */
    int64_t channels = 0;
    for (int i = 0; i < npaths && st == UNETRC_OK; i++) {
        st = read_header(&srcs[i], paths[i], &opt, max_bytes, &hs[i], err, errlen);
        if (st != UNETRC_OK) break;
        if (i > 0) {
            const unetrc_nifti_geometry *a = &hs[0].geom, *b = &hs[i].geom;
            char d1[100], d2[100];
            if (a->dim[0] != b->dim[0] || a->dim[1] != b->dim[1] || a->dim[2] != b->dim[2]) {
                st = io_fail(err, errlen, UNETRC_ERR_SIZE, paths[i],
                             "spatial dimensions %s differ from those of %s (%s)", dims_str(b->dim, 3, d2, sizeof d2),
                             paths[0], dims_str(a->dim, 3, d1, sizeof d1));
                break;
            }
            int r, c, bad;
            double d = affine_diff(a->affine, b->affine, tol, &r, &c, &bad);
            if (bad) {
                st = io_fail(err, errlen, UNETRC_ERR_SIZE, paths[i],
                             "affine differs from that of %s (by %g at row %d, column %d; tolerance %g)", paths[0], d,
                             r, c, tol);
                break;
            }
        }
        channels += hs[i].channels;
    }
    if (st == UNETRC_OK && opt.expect_channels > 0 && channels != opt.expect_channels) {
        char list[512];
        size_t k = 0;
        list[0] = 0;
        for (int i = 0; i < npaths && k < sizeof list; i++)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s%lld", i ? " + " : "", (long long)hs[i].channels);
        if (npaths == 1)
            st = io_fail(err, errlen, UNETRC_ERR_SIZE, paths[0], "holds %lld channel%s, %lld expected",
                         (long long)channels, channels == 1 ? "" : "s", (long long)opt.expect_channels);
        else
            st = io_fail(err, errlen, UNETRC_ERR_SIZE, paths[0], "the %d files hold %lld channels (%s), %lld expected",
                         npaths, (long long)channels, list, (long long)opt.expect_channels);
    }
    /* 2. One allocation for the whole volume, then the data. */
    float *data = NULL;
    if (st == UNETRC_OK) {
        int64_t n, bytes;
        const unetrc_nifti_geometry *g = &hs[0].geom;
        if (!io_mul_ok(channels, g->dim[0] * g->dim[1], &n) || !io_mul_ok(n, g->dim[2], &n) ||
            !io_mul_ok(n, 4, &bytes) || (uint64_t)bytes > max_bytes)
            st = io_fail(err, errlen, UNETRC_ERR_SIZE, paths[0],
                         "a float32 volume of %lld channels is above the limit of %llu bytes", (long long)channels,
                         (unsigned long long)max_bytes);
        else if (!(data = malloc(bytes ? (size_t)bytes : 1)))
            st = io_fail(err, errlen, UNETRC_ERR_NOMEM, paths[0], "out of memory (%lld bytes)", (long long)bytes);
    }
    int64_t c0 = 0;
    for (int i = 0; i < npaths && st == UNETRC_OK; i++) {
        st = read_data(&srcs[i], &hs[i], data, c0, max_bytes, opt.allow_nonfinite, err, errlen);
        c0 += hs[i].channels;
    }
    for (int i = 0; i < npaths; i++) src_close(&srcs[i]);
    if (st == UNETRC_OK) {
        out->data = data;
        out->channels = channels;
        out->geom = hs[0].geom;
    } else {
        free(data);
    }
    free(srcs);
    free(hs);
    return st;
}

void unetrc_volume_free(unetrc_volume *v) {
    if (!v) return;
    free(v->data);
    memset(v, 0, sizeof *v);
}

/* ---- output files ------------------------------------------------------------ */

/* Bytes out: straight to the temporary file, or through deflate (gzip
 * wrapper, level 1 as nibabel) in 256 kB pieces. */
typedef struct sink {
    io_out out;
    int gz;
    z_stream z;
    unsigned char zbuf[1 << 18];
} sink;

static unetrc_status sink_write(sink *k, const void *data, size_t n, int finish, char *err, size_t errlen) {
    if (!k->gz) return n ? io_out_write(&k->out, data, n, err, errlen) : UNETRC_OK;
    k->z.next_in = (unsigned char *)(uintptr_t)data;
    k->z.avail_in = (uInt)n; /* callers pass at most one plane (< 4 GiB checked) */
    for (;;) {
        k->z.next_out = k->zbuf;
        k->z.avail_out = sizeof k->zbuf;
        int r = deflate(&k->z, finish ? Z_FINISH : Z_NO_FLUSH);
        if (r == Z_STREAM_ERROR) return io_fail(err, errlen, UNETRC_ERR_IO, k->out.path, "cannot compress output file");
        size_t have = sizeof k->zbuf - k->z.avail_out;
        unetrc_status st = io_out_write(&k->out, k->zbuf, have, err, errlen);
        if (st != UNETRC_OK) return st;
        if (finish ? r == Z_STREAM_END : k->z.avail_in == 0 && k->z.avail_out != 0) return UNETRC_OK;
    }
}

/* Produces plane k of channel c (nx*ny elements, i fastest) in the file's type. */
typedef void (*plane_fn)(const void *ctx, int64_t c, int64_t k, unsigned char *buf);

/* Writes the file `path` atomically, or, with a stream function, hands
 * its bytes to fn (path then only names it: .nii.gz or not, messages). */
static unetrc_status write_nifti(const char *path, const unetrc_nifti_geometry *g, int datatype, int64_t channels,
                                 plane_fn fill, const void *ctx, unetrc_write_fn fn, void *fn_ctx, char *err,
                                 size_t errlen) {
    if (!path || !g) return UNETRC_ERR_NULL;
    pthread_once(&quiet_once, quiet_nifti);
    int gz = io_has_suffix(path, ".nii.gz");
    if (!gz && !io_has_suffix(path, ".nii"))
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "not a NIfTI file name (.nii or .nii.gz expected)");
    const int64_t nx = g->dim[0], ny = g->dim[1], nz = g->dim[2];
    int64_t plane, n;
    if (nx < 1 || ny < 1 || nz < 1 || channels < 1 || !io_mul_ok(nx, ny, &plane) || !io_mul_ok(plane, nz, &n) ||
        !io_mul_ok(n, channels, &n) || !io_mul_ok(plane, 8, &n) || (uint64_t)n >= ((uint64_t)1 << 32))
        return io_fail(err, errlen, UNETRC_ERR_SIZE, path,
                       "geometry %lldx%lldx%lld with %lld channels cannot be written", (long long)nx, (long long)ny,
                       (long long)nz, (long long)channels);
    /* The file's dimensions: (X,Y,Z), or (X,Y,Z,C) as MONAI's SaveImage
     * writes channel-last data. A 2D image keeps the rank of the file it was
     * read from, (X,Y) or (X,Y,1): nibabel's affine for a file without qform
     * and sform (its base affine) uses pixdim[3] from rank 3 on only. */
    int64_t dims[8] = {0, nx, ny, nz, channels, 1, 1, 1};
    dims[0] = channels > 1 ? 4 : (nz > 1 || g->spatial_rank == 3 || g->ndim != 2) ? 3 : 2;
    int version = g->version == 2 || nx > 32767 || ny > 32767 || nz > 32767 || channels > 32767 ? 2 : 1;

    nifti_image *nim = nifti_make_new_nim(dims, datatype, 0);
    if (!nim) return io_fail(err, errlen, UNETRC_ERR_NOMEM, path, "out of memory");
    nim->nifti_type = version == 2 ? NIFTI_FTYPE_NIFTI2_1 : NIFTI_FTYPE_NIFTI1_1;
    nim->dx = nim->pixdim[1] = g->pixdim[1];
    nim->dy = nim->pixdim[2] = g->pixdim[2];
    nim->dz = nim->pixdim[3] = g->pixdim[3];
    nim->dt = nim->pixdim[4] = 1;
    nim->xyz_units = g->xyz_units;
    nim->time_units = g->time_units;
    nim->qform_code = g->qform_code;
    nim->quatern_b = g->quatern[0], nim->quatern_c = g->quatern[1], nim->quatern_d = g->quatern[2];
    nim->qoffset_x = g->qoffset[0], nim->qoffset_y = g->qoffset[1], nim->qoffset_z = g->qoffset[2];
    nim->qfac = g->pixdim[0] < 0 ? -1 : 1;
    nim->sform_code = g->sform_code;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) nim->sto_xyz.m[r][c] = g->sform[r][c];
    nim->scl_slope = 1;
    nim->scl_inter = 0;
    nim->iname_offset = version == 2 ? N2_VOX_OFFSET : N1_VOX_OFFSET;
    snprintf(nim->descrip, sizeof nim->descrip, "unetrc");
    union {
        nifti_1_header n1;
        nifti_2_header n2;
    } hdr;
    memset(&hdr, 0, sizeof hdr);
    int bad = version == 2 ? nifti_convert_nim2n2hdr(nim, &hdr.n2) : nifti_convert_nim2n1hdr(nim, &hdr.n1);
    int nbyper = nim->nbyper;
    nifti_image_free(nim);
    if (bad) return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "nifti_clib cannot encode the header");
    if (version == 2) memcpy(hdr.n2.magic + 4, "\r\n\032\n", 4); /* the full NIfTI-2 magic, which nifti_clib leaves 0 */

    sink *k = calloc(1, sizeof *k);
    unsigned char *buf = malloc((size_t)(plane * nbyper));
    if (!k || !buf) {
        free(k);
        free(buf);
        return io_fail(err, errlen, UNETRC_ERR_NOMEM, path, "out of memory");
    }
    unetrc_status st = UNETRC_OK;
    if (fn) k->out = (io_out){.fd = -1, .path = path, .fn = fn, .fn_ctx = fn_ctx};
    else st = io_out_open(&k->out, path, err, errlen);
    if (st == UNETRC_OK && gz) {
        k->gz = 1;
        if (deflateInit2(&k->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            k->gz = 0;
            st = io_fail(err, errlen, UNETRC_ERR_NOMEM, path, "out of memory");
        }
    }
    if (st == UNETRC_OK) {
        static const unsigned char extender[4] = {0, 0, 0, 0};
        st = sink_write(k, &hdr, version == 2 ? N2_HDR : N1_HDR, 0, err, errlen);
        if (st == UNETRC_OK) st = sink_write(k, extender, 4, 0, err, errlen);
        for (int64_t c = 0; c < channels && st == UNETRC_OK; c++)
            for (int64_t z = 0; z < nz && st == UNETRC_OK; z++) {
                fill(ctx, c, z, buf);
                st = sink_write(k, buf, (size_t)(plane * nbyper), 0, err, errlen);
            }
        if (st == UNETRC_OK && k->gz) st = sink_write(k, NULL, 0, 1, err, errlen);
    }
    if (k->gz) deflateEnd(&k->z);
    if (fn) {
    } else if (st == UNETRC_OK) st = io_out_commit(&k->out, err, errlen);
    else if (k->out.tmp) io_out_abort(&k->out);
    free(buf);
    free(k);
    return st;
}

typedef struct labels_ctx {
    const int32_t *labels;
    int64_t nx, ny, nz;
    int dt;
} labels_ctx;

static void fill_labels(const void *vctx, int64_t c, int64_t k, unsigned char *buf) {
    const labels_ctx *x = vctx;
    (void)c;
    for (int64_t j = 0; j < x->ny; j++)
        for (int64_t i = 0; i < x->nx; i++) {
            int32_t v = x->labels[(i * x->ny + j) * x->nz + k];
            size_t o = (size_t)(j * x->nx + i);
            if (x->dt == DT_UINT8) buf[o] = (unsigned char)v;
            else {
                int16_t s = (int16_t)v;
                memcpy(buf + 2 * o, &s, 2);
            }
        }
}

unetrc_status unetrc_nifti_write_labels(const char *path, const int32_t *labels, const unetrc_nifti_geometry *g,
                                        char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    if (!path || !labels || !g) return UNETRC_ERR_NULL;
    labels_ctx x = {labels, g->dim[0], g->dim[1], g->dim[2], DT_UINT8};
    int64_t n;
    if (x.nx < 1 || x.ny < 1 || x.nz < 1 || !io_mul_ok(x.nx, x.ny, &n) || !io_mul_ok(n, x.nz, &n))
        return io_fail(err, errlen, UNETRC_ERR_SIZE, path, "bad geometry dimensions");
    int32_t lo = 0, hi = 0;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < lo) lo = labels[i];
        if (labels[i] > hi) hi = labels[i];
    }
    if (lo < 0 || hi > 255) x.dt = DT_INT16;
    if (lo < INT16_MIN || hi > INT16_MAX)
        return io_fail(err, errlen, UNETRC_ERR_FORMAT, path, "label values %d to %d do not fit in int16", lo, hi);
    return write_nifti(path, g, x.dt, 1, fill_labels, &x, NULL, NULL, err, errlen);
}

/* A [C][X][Y][Z] volume (z fastest) of float32 or uint8 voxels. */
typedef struct vol_ctx {
    const unsigned char *data;
    int64_t nx, ny, nz;
} vol_ctx;

/* Plane z = k of channel c of the volume, x fastest as the file stores it, for voxels of es bytes. */
static inline void fill_plane(const vol_ctx *x, int64_t c, int64_t k, unsigned char *buf, size_t es) {
    const unsigned char *src = x->data + (size_t)(c * x->nx * x->ny * x->nz) * es;
    for (int64_t j = 0; j < x->ny; j++)
        for (int64_t i = 0; i < x->nx; i++)
            memcpy(buf + (size_t)(j * x->nx + i) * es, src + (size_t)((i * x->ny + j) * x->nz + k) * es, es);
}

static void fill_f32(const void *x, int64_t c, int64_t k, unsigned char *buf) { fill_plane(x, c, k, buf, 4); }
static void fill_u8(const void *x, int64_t c, int64_t k, unsigned char *buf) { fill_plane(x, c, k, buf, 1); }

unetrc_status unetrc_nifti_write_f32(const char *path, const float *data, int64_t channels,
                                     const unetrc_nifti_geometry *g, char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    if (!path || !data || !g) return UNETRC_ERR_NULL;
    vol_ctx x = {(const unsigned char *)data, g->dim[0], g->dim[1], g->dim[2]};
    return write_nifti(path, g, DT_FLOAT32, channels, fill_f32, &x, NULL, NULL, err, errlen);
}

unetrc_status unetrc_nifti_encode_f32(const char *name, const float *data, int64_t channels,
                                      const unetrc_nifti_geometry *g, unetrc_write_fn write, void *ctx, char *err,
                                      size_t errlen) {
    if (err && errlen) err[0] = 0;
    if (!name || !data || !g || !write) return UNETRC_ERR_NULL;
    vol_ctx x = {(const unsigned char *)data, g->dim[0], g->dim[1], g->dim[2]};
    return write_nifti(name, g, DT_FLOAT32, channels, fill_f32, &x, write, ctx, err, errlen);
}

unetrc_status unetrc_nifti_encode_u8(const char *name, const uint8_t *data, int64_t channels,
                                     const unetrc_nifti_geometry *g, unetrc_write_fn write, void *ctx, char *err,
                                     size_t errlen) {
    if (err && errlen) err[0] = 0;
    if (!name || !data || !g || !write) return UNETRC_ERR_NULL;
    vol_ctx x = {data, g->dim[0], g->dim[1], g->dim[2]};
    return write_nifti(name, g, DT_UINT8, channels, fill_u8, &x, write, ctx, err, errlen);
}
