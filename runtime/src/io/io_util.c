/* io_util.c: one-line error messages and atomic output files for the
 * unetrc_io library (see io_internal.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_internal.h"

#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

unetrc_status io_fail(char *err, size_t errlen, unetrc_status status, const char *path, const char *fmt, ...) {
    if (!err || !errlen) return status;
    int n = snprintf(err, errlen, "%s: ", path ? path : "(null)");
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    return status;
}

int io_has_suffix(const char *name, const char *suffix) {
    size_t n = strlen(name), m = strlen(suffix);
    if (n < m) return 0;
    for (size_t i = 0; i < m; i++) {
        char a = name[n - m + i], b = suffix[i];
        if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
        if (a != b) return 0;
    }
    return 1;
}

int io_mul_ok(int64_t a, int64_t b, int64_t *r) {
    if (a < 0 || b < 0 || (b && a > INT64_MAX / b)) return 0;
    *r = a * b;
    return 1;
}

unetrc_status io_out_open(io_out *o, const char *path, char *err, size_t errlen) {
    static atomic_uint counter;
    o->fd = -1;
    o->fn = NULL;
    o->path = path;
    size_t n = strlen(path) + 48;
    o->tmp = malloc(n);
    if (!o->tmp) return io_fail(err, errlen, UNETRC_ERR_NOMEM, path, "out of memory");
    for (int attempt = 0; attempt < 100 && o->fd < 0; attempt++) {
        snprintf(o->tmp, n, "%s.tmp%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (o->fd < 0 && errno != EEXIST) break;
    }
    if (o->fd < 0) {
        int e = errno;
        free(o->tmp);
        o->tmp = NULL;
        return io_fail(err, errlen, UNETRC_ERR_IO, path, "cannot create output file: %s", strerror(e));
    }
    return UNETRC_OK;
}

unetrc_status io_out_write(io_out *o, const void *data, size_t n, char *err, size_t errlen) {
    if (o->fn)
        return !n || o->fn(o->fn_ctx, data, n) == 0
                   ? UNETRC_OK
                   : io_fail(err, errlen, UNETRC_ERR_IO, o->path, "cannot write output file");
    const char *p = data;
    while (n) {
        ssize_t w = write(o->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return io_fail(err, errlen, UNETRC_ERR_IO, o->path, "cannot write output file: %s",
                           strerror(w < 0 ? errno : EIO));
        p += w;
        n -= (size_t)w;
    }
    return UNETRC_OK;
}

/* Flushes the folder holding path, so that a rename in it is durable. */
static void sync_dir(const char *path) {
    char *dir = strdup(path);
    if (!dir) return;
    char *slash = strrchr(dir, '/');
    const char *d = dir;
    if (slash == dir) dir[1] = 0;
    else if (slash) *slash = 0;
    else d = ".";
    int fd = open(d, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

unetrc_status io_out_commit(io_out *o, char *err, size_t errlen) {
    unetrc_status st = UNETRC_OK;
    if (fsync(o->fd) != 0)
        st = io_fail(err, errlen, UNETRC_ERR_IO, o->path, "cannot write output file: %s", strerror(errno));
    if (close(o->fd) != 0 && st == UNETRC_OK)
        st = io_fail(err, errlen, UNETRC_ERR_IO, o->path, "cannot write output file: %s", strerror(errno));
    o->fd = -1;
    struct stat sb;
    if (st == UNETRC_OK && lstat(o->path, &sb) == 0 && S_ISDIR(sb.st_mode)) /* as rename(2) sees it */
        st = io_fail(err, errlen, UNETRC_ERR_IO, o->path, "cannot rename output file into place: %s", strerror(EISDIR));
    if (st == UNETRC_OK && rename(o->tmp, o->path) != 0)
        st = io_fail(err, errlen, UNETRC_ERR_IO, o->path, "cannot rename output file into place: %s", strerror(errno));
    if (st != UNETRC_OK) {
        unlink(o->tmp);
    } else {
        sync_dir(o->path);
    }
    free(o->tmp);
    o->tmp = NULL;
    return st;
}

void io_out_abort(io_out *o) {
    if (o->fd >= 0) close(o->fd);
    o->fd = -1;
    if (o->tmp) unlink(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
}
