/* npy.c: float32 .npy I/O into caller-owned buffers (no allocation).
 * For hosts and devices with a file system; the rest of the runtime does
 * not depend on it. */
#include <stdio.h>
#include <string.h>

#include "unetrc.h"

/* Reads the header; fills shape (up to 8 dims) and returns the data offset,
 * or -1 if the header is not a little-endian float32 C-order array. */
static long parse_header(FILE *f, int64_t *shape, int *rank) {
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1) return -1;
    size_t hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    char h[4096];
    if (hlen >= sizeof h || fread(h, 1, hlen, f) != hlen) return -1;
    h[hlen] = 0;
    if (!strstr(h, "'descr': '<f4'") || !strstr(h, "'fortran_order': False")) return -1;
    const char *p = strstr(h, "'shape': (");
    if (!p) return -1;
    p += 10;
    *rank = 0;
    while (*p && *p != ')') {
        if (*p < '0' || *p > '9') {
            p++;
            continue;
        }
        int64_t v = 0;
        while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
        if (*rank == 8) return -1;
        shape[(*rank)++] = v;
    }
    return (long)(10 + hlen);
}

unetrc_status unetrc_npy_read_f32(const char *path, float *buf, size_t count) {
    if (!path || !buf) return UNETRC_ERR_NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return UNETRC_ERR_IO;
    int64_t shape[8];
    int rank;
    unetrc_status st = UNETRC_OK;
    if (parse_header(f, shape, &rank) < 0) {
        st = UNETRC_ERR_FORMAT;
    } else {
        uint64_t n = 1;
        for (int i = 0; i < rank; i++) n *= (uint64_t)shape[i];
        if (n != count) st = UNETRC_ERR_SIZE;
        else if (fread(buf, sizeof(float), count, f) != count) st = UNETRC_ERR_TRUNCATED;
    }
    fclose(f);
    return st;
}

unetrc_status unetrc_npy_write_f32(const char *path, const float *buf, const int64_t *shape, int rank) {
    if (!path || !buf || !shape || rank < 0 || rank > 8) return UNETRC_ERR_NULL;
    char h[256];
    int n = snprintf(h, sizeof h, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    uint64_t count = 1;
    for (int i = 0; i < rank; i++) {
        n += snprintf(h + n, sizeof h - (size_t)n, "%lld,%s", (long long)shape[i], i + 1 < rank ? " " : "");
        count *= (uint64_t)shape[i];
    }
    n += snprintf(h + n, sizeof h - (size_t)n, "), }");
    while ((10 + n + 1) % 64) h[n++] = ' ';
    h[n++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)n, 0};
    FILE *f = fopen(path, "wb");
    if (!f) return UNETRC_ERR_IO;
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(h, 1, (size_t)n, f) == (size_t)n &&
             fwrite(buf, sizeof(float), (size_t)count, f) == count;
    if (fclose(f) != 0) ok = 0;
    return ok ? UNETRC_OK : UNETRC_ERR_IO;
}
