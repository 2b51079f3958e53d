/* paths.c: see paths.h. */
#define _GNU_SOURCE
#include "paths.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A directory entry: the folder (as spelled, its real path and identity
 * when it resolves) and the last component. */
typedef struct entry {
    const char *dir, *real_dir, *base;
    bool have_id;
    dev_t dev;
    ino_t ino;
} entry;

const char *urc_path_base(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static const char *dir_part(const char *path) {
    const char *s = strrchr(path, '/');
    if (!s) return ".";
    if (s == path) return "/";
    return urc_strndup(path, (size_t)(s - path));
}

static entry entry_of(const char *path) {
    entry e = {dir_part(path), NULL, urc_path_base(path), false, 0, 0};
    char buf[PATH_MAX];
    if (realpath(e.dir, buf)) e.real_dir = urc_strdup(buf);
    struct stat st;
    if (stat(e.dir, &st) == 0) {
        e.have_id = true;
        e.dev = st.st_dev;
        e.ino = st.st_ino;
    }
    return e;
}

static bool same(const entry *a, const entry *b) {
    if (strcmp(a->base, b->base)) return false;
    if (a->have_id && b->have_id) return a->dev == b->dev && a->ino == b->ino;
    if (a->real_dir && b->real_dir) return !strcmp(a->real_dir, b->real_dir);
    return !strcmp(a->dir, b->dir);
}

bool urc_same_entry(const char *a, const char *b) {
    entry ea = entry_of(a), eb = entry_of(b);
    return same(&ea, &eb);
}

bool urc_output_replaces_input(const char *out, const char *in) {
    entry eo = entry_of(out), ei = entry_of(in);
    if (same(&eo, &ei)) return true;
    char buf[PATH_MAX];
    if (!realpath(in, buf)) return false; /* no such input: nothing to destroy */
    entry et = entry_of(urc_strdup(buf));
    return same(&eo, &et);
}

long urc_name_max(const char *path) {
    long m = pathconf(dir_part(path), _PC_NAME_MAX);
    return m > 0 ? m : 255;
}
