/* posix_io.h: file helpers shared by npy.c and checkpoint.c (internal to
 * the runtime; included, not compiled on its own). POSIX.1-2008: open with
 * O_NOFOLLOW / O_CLOEXEC, fsync, rename. */
#ifndef UNETRC_POSIX_IO_H
#define UNETRC_POSIX_IO_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unetrc.h"

/* Opens a regular file for reading, or returns NULL. O_NONBLOCK: opening a
 * FIFO without a writer (or a device) must not block; anything but a
 * regular file is refused before a byte is read. */
static inline FILE *io_open_regular(const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    int fl;
    FILE *f = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (fl = fcntl(fd, F_GETFL)) >= 0 &&
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0)
        f = fdopen(fd, "rb");
    if (!f) close(fd);
    return f;
}

/* Creates the temporary file PATH.tmpPID.N (its name in tmp) to be renamed
 * over PATH. O_EXCL: it is new, so no two writers (processes, or threads
 * trying the next N) share one, and a link or file planted under that name
 * is never followed or truncated -- the next N is tried. -1 on failure. */
static inline int io_tmp_create(const char *path, char *tmp, size_t cap) {
    for (unsigned n = 0; n < 64; n++) {
        int len = snprintf(tmp, cap, "%s.tmp%ld.%u", path, (long)getpid(), n);
        if (len < 0 || (size_t)len >= cap) return -1;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

static inline int io_write_all(int fd, const void *data, size_t n) {
    const unsigned char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

/* Flushes the folder holding path, so that a rename in it is durable. */
static inline void io_sync_dir(const char *path) {
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof dir) return;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = 0;
    else if (slash) *slash = 0;
    else strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Ends a file from io_tmp_create: if ok, syncs it, renames it over path and
 * syncs the folder (a crash leaves the old or the new file, never a mix);
 * otherwise, or if any of that fails, removes it. */
static inline unetrc_status io_tmp_commit(int fd, const char *tmp, const char *path, int ok) {
    if (ok && fsync(fd) != 0) ok = 0;
    if (close(fd) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return UNETRC_ERR_IO;
    }
    io_sync_dir(path);
    return UNETRC_OK;
}

#endif
