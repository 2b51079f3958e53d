/* weights_file.c: reading a weights blob file into a caller's buffer (for
 * hosts and devices with a file system; weights.c itself needs no I/O). */
#define _POSIX_C_SOURCE 200809L
#include "posix_io.h"
#include "unetrc.h"

unetrc_status unetrc_weights_read_file(const char *path, void *buf, size_t cap, size_t *size) {
    if (!path || !buf || !size) return UNETRC_ERR_NULL;
    *size = 0;
    FILE *f = io_open_regular(path);
    if (!f) return UNETRC_ERR_IO;
    size_t n = fread(buf, 1, cap, f);
    int bad = ferror(f);
    /* One byte more than the buffer holds: the file is not this model's
     * blob (trailing bytes, another model's larger blob). */
    int longer = !bad && n == cap && fgetc(f) != EOF;
    fclose(f);
    if (bad) return UNETRC_ERR_IO;
    if (longer) return UNETRC_ERR_SIZE;
    *size = n;
    return UNETRC_OK;
}
