/* io_internal.h: what nifti.c and png.c share (io_util.c): one-line error
 * messages and atomic output files. Not installed; not part of the API. */
#ifndef UNETRC_IO_INTERNAL_H
#define UNETRC_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "unetrc_io.h"

/* Writes "PATH: MESSAGE" into err (control characters in either become
 * spaces, so the message stays on one line) and returns status. */
unetrc_status io_fail(char *err, size_t errlen, unetrc_status status, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* An output file being written: a temporary file PATH.tmpPID.N next to
 * PATH, created with O_EXCL | O_NOFOLLOW (never an existing file or a
 * symbolic link), renamed over PATH once complete and on disk. */
typedef struct io_out {
    int fd;
    const char *path;
    char *tmp;
    unetrc_write_fn fn; /* set: a stream, the bytes go to fn(fn_ctx, ...) (no file, no open or commit) */
    void *fn_ctx;
} io_out;

/* Creates the temporary file; on failure fills err ("PATH: cannot create
 * output file: REASON"). */
unetrc_status io_out_open(io_out *o, const char *path, char *err, size_t errlen);
/* Writes n bytes (retrying short writes), or hands them to the stream's
 * function; on failure fills err. */
unetrc_status io_out_write(io_out *o, const void *data, size_t n, char *err, size_t errlen);
/* fsyncs and closes the temporary file, renames it over the path and
 * fsyncs the folder; on failure removes it and fills err. */
unetrc_status io_out_commit(io_out *o, char *err, size_t errlen);
/* Closes and removes the temporary file (after a failure). */
void io_out_abort(io_out *o);

/* 1 when name ends in suffix, ignoring ASCII case. */
int io_has_suffix(const char *name, const char *suffix);

/* a * b into *r unless it overflows (or either is negative): 1 on success. */
int io_mul_ok(int64_t a, int64_t b, int64_t *r);

#endif
