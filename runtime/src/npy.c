/* npy.c: float32 .npy I/O into caller-owned buffers (no allocation).
 * For hosts and devices with a file system; the rest of the runtime does
 * not depend on it.
 *
 * Reading is strict: magic, format version 1-3, a header dict with exactly
 * the keys 'descr' ('<f4'), 'fortran_order' (False, or True for rank < 2,
 * where the orders agree) and 'shape' (a tuple of at most 8 non-negative
 * integers whose product fits), then exactly count * 4 data bytes. Anything
 * else is UNETRC_ERR_FORMAT (header) or UNETRC_ERR_SIZE / _TRUNCATED (data);
 * unetrc_npy_read_f32_shape also wants the exact shape (UNETRC_ERR_SHAPE).
 * Only a regular file is read (a FIFO or device: UNETRC_ERR_IO, without
 * blocking). Writing goes to PATH.tmpPID.N, synced and renamed over PATH:
 * never a partial file, and never through a link. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "posix_io.h"
#include "unetrc.h"

#define MAX_HEADER 4096

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n')) c->p++;
}

static int eat(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string ('...' or "..."): its text in *s, *n. */
static int read_string(cursor *c, const char **s, size_t *n) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    *s = c->p;
    while (c->p < c->end && *c->p != q) c->p++;
    if (c->p >= c->end) return 0;
    *n = (size_t)(c->p - *s);
    c->p++;
    return 1;
}

static int is(const char *s, size_t n, const char *want) { return n == strlen(want) && !memcmp(s, want, n); }

static int eat_word(cursor *c, const char *w) {
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n)) return 0;
    c->p += n;
    return 1;
}

/* The shape tuple after "'shape':": non-negative integers (a Python 2 'L'
 * suffix allowed), at most 8. */
static const char *parse_shape(cursor *c, int64_t shape[8], int *rank) {
    if (!eat(c, '(')) return "shape is not a tuple";
    *rank = 0;
    while (!eat(c, ')')) {
        skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return "shape holds something other than non-negative integers";
        int64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (v > (INT64_MAX - 9) / 10) return "shape dimension too large";
            v = v * 10 + (*c->p++ - '0');
        }
        if (c->p < c->end && *c->p == 'L') c->p++;
        if (*rank == 8) return "rank above 8 is not supported";
        shape[(*rank)++] = v;
        if (!eat(c, ',')) {
            if (!eat(c, ')')) return "malformed shape tuple";
            break;
        }
    }
    return NULL;
}

const char *unetrc_npy_header_parse(const char *text, size_t len, char descr[16], int *fortran, int64_t shape[8],
                                    int *rank) {
    cursor c = {text, text + len};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!eat(&c, '{')) return "header is not a dict";
    while (!eat(&c, '}')) {
        const char *key, *val;
        size_t klen, vlen;
        if (!read_string(&c, &key, &klen) || !eat(&c, ':')) return "malformed header dict";
        if (is(key, klen, "descr")) {
            if (have_descr++) return "duplicate key in header";
            if (!read_string(&c, &val, &vlen)) return "descr is not a string (structured dtypes are not supported)";
            if (vlen >= 16 || memchr(val, 0, vlen)) return "malformed descr";
            memcpy(descr, val, vlen);
            descr[vlen] = 0;
        } else if (is(key, klen, "fortran_order")) {
            if (have_order++) return "duplicate key in header";
            if (eat_word(&c, "True")) *fortran = 1;
            else if (eat_word(&c, "False")) *fortran = 0;
            else return "fortran_order is not True or False";
        } else if (is(key, klen, "shape")) {
            if (have_shape++) return "duplicate key in header";
            const char *why = parse_shape(&c, shape, rank);
            if (why) return why;
        } else {
            return "unknown key in header";
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}')) return "malformed header dict";
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape) return "header lacks descr, fortran_order or shape";
    skip_ws(&c);
    return c.p == c.end ? NULL : "text after the header dict";
}

/* The float32 files this reader takes: '<f4', C order (or rank < 2, where
 * the orders agree), and an element count whose bytes fit. */
static int parse_dict(const char *h, size_t hlen, int64_t *shape, int *rank, uint64_t *count) {
    char descr[16];
    int fortran = 0;
    if (unetrc_npy_header_parse(h, hlen, descr, &fortran, shape, rank) || strcmp(descr, "<f4") ||
        (fortran && *rank >= 2))
        return 0;
    *count = 1;
    for (int i = 0; i < *rank; i++) {
        uint64_t v = (uint64_t)shape[i];
        if (v && *count > UINT64_MAX / 4 / v) return 0;
        *count *= v;
    }
    return 1;
}

/* Reads and checks the preamble and header; returns 0 or a status. */
static unetrc_status read_header(FILE *f, int64_t *shape, int *rank, uint64_t *count) {
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) return UNETRC_ERR_FORMAT;
    size_t hlen;
    if (pre[6] == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) return UNETRC_ERR_FORMAT;
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        return UNETRC_ERR_FORMAT;
    }
    char h[MAX_HEADER];
    if (hlen > sizeof h || fread(h, 1, hlen, f) != hlen) return UNETRC_ERR_FORMAT;
    return parse_dict(h, hlen, shape, rank, count) ? UNETRC_OK : UNETRC_ERR_FORMAT;
}

/* Opens path and reads its header: the file positioned at the data, or a
 * status (nothing left open). */
static unetrc_status open_npy(const char *path, FILE **f, int64_t *shape, int *rank, uint64_t *count) {
    *f = io_open_regular(path);
    if (!*f) return UNETRC_ERR_IO;
    unetrc_status st = read_header(*f, shape, rank, count);
    if (st != UNETRC_OK) {
        fclose(*f);
        *f = NULL;
    }
    return st;
}

/* Reads exactly count floats and checks that nothing follows them. */
static unetrc_status read_data(FILE *f, float *buf, size_t count) {
    if (fread(buf, sizeof(float), count, f) != count) return UNETRC_ERR_TRUNCATED;
    if (fgetc(f) != EOF) return UNETRC_ERR_SIZE; /* more data than the shape holds */
    return UNETRC_OK;
}

/* Reads the data of path into buf: exactly `count` elements whatever the
 * shape (want == NULL), or exactly the shape want[0..want_rank). */
static unetrc_status read_checked(const char *path, float *buf, size_t count, const int64_t *want, int want_rank) {
    FILE *f;
    int64_t shape[8];
    int rank = 0;
    uint64_t n = 0;
    unetrc_status st = open_npy(path, &f, shape, &rank, &n);
    if (st != UNETRC_OK) return st;
    if (want) {
        /* The exact shape, not only the element count: a [1, 32, 32, 32, 1]
         * or a transposed volume is not the model's [1, 1, 32, 32, 32]. */
        int same = rank == want_rank;
        for (int i = 0; same && i < rank; i++) same = shape[i] == want[i];
        if (!same) st = UNETRC_ERR_SHAPE;
        else if (n > (uint64_t)(size_t)-1 / sizeof(float)) st = UNETRC_ERR_SIZE;
        count = (size_t)n;
    } else if (n != (uint64_t)count) {
        st = UNETRC_ERR_SIZE;
    }
    if (st == UNETRC_OK) st = read_data(f, buf, count);
    fclose(f);
    return st;
}

unetrc_status unetrc_npy_read_f32(const char *path, float *buf, size_t count) {
    if (!path || !buf) return UNETRC_ERR_NULL;
    return read_checked(path, buf, count, NULL, 0);
}

unetrc_status unetrc_npy_read_f32_shape(const char *path, float *buf, const int64_t *want, int want_rank) {
    if (!path || !buf || !want || want_rank < 0 || want_rank > 8) return UNETRC_ERR_NULL;
    return read_checked(path, buf, 0, want, want_rank);
}

unetrc_status unetrc_npy_shape(const char *path, int64_t shape[8], int *rank) {
    if (!path || !shape || !rank) return UNETRC_ERR_NULL;
    FILE *f;
    uint64_t n;
    unetrc_status st = open_npy(path, &f, shape, rank, &n);
    if (st == UNETRC_OK) fclose(f);
    return st;
}

unetrc_status unetrc_npy_write_f32(const char *path, const float *buf, const int64_t *shape, int rank) {
    if (!path || !buf || !shape || rank < 0 || rank > 8) return UNETRC_ERR_NULL;
    char h[256];
    int n = snprintf(h, sizeof h, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    uint64_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0 || (shape[i] && count > UINT64_MAX / 4 / (uint64_t)shape[i])) return UNETRC_ERR_FORMAT;
        n += snprintf(h + n, sizeof h - (size_t)n, "%lld,%s", (long long)shape[i], i + 1 < rank ? " " : "");
        count *= (uint64_t)shape[i];
    }
    if (count > (uint64_t)(size_t)-1 / sizeof(float)) return UNETRC_ERR_FORMAT;
    n += snprintf(h + n, sizeof h - (size_t)n, "), }");
    while ((10 + n + 1) % 64) h[n++] = ' ';
    h[n++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)n, 0};
    char tmp[4096];
    int fd = io_tmp_create(path, tmp, sizeof tmp);
    if (fd < 0) return UNETRC_ERR_IO;
    int ok = io_write_all(fd, pre, 10) && io_write_all(fd, h, (size_t)n) &&
             io_write_all(fd, buf, sizeof(float) * (size_t)count);
    return io_tmp_commit(fd, tmp, path, ok);
}
