/* backend.c: the registry of backends (backend.h). */
#include "backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const urc_backend *const backends[] = {
    &urc_backend_c,
#ifdef URC_HAVE_LLVM
    &urc_backend_llvm,
#endif
};

const urc_backend *urc_backend_find(const char *name) {
    for (size_t i = 0; i < URC_ARRAY_LEN(backends); i++)
        if (!strcmp(backends[i]->name, name)) return backends[i];
    return NULL;
}

const char *urc_backend_names(void) {
    urc_strbuf sb = {0};
    for (size_t i = 0; i < URC_ARRAY_LEN(backends); i++) urc_sb_printf(&sb, "%s%s", i ? ", " : "", backends[i]->name);
    const char *r = urc_strdup(sb.data);
    urc_sb_free(&sb);
    return r;
}

const urc_backend *urc_backend_from_env(void) {
    const char *name = getenv("UNETRC_BACKEND");
    if (!name || !*name) name = "c";
    const urc_backend *b = urc_backend_find(name);
    if (!b) {
        fprintf(stderr, "UNETRC_BACKEND: unknown backend '%s' (available: %s)\n", name, urc_backend_names());
        exit(2);
    }
    return b;
}

const char *urc_default_cflags(void) {
    const char *e = getenv("UNETRC_RUN_CFLAGS");
    return e && *e ? e : "-std=c11 -O2 -fopenmp";
}

void urc_emitted_free(urc_emitted *e) {
    urc_sb_free(&e->code);
    urc_sb_free(&e->header);
    urc_sb_free(&e->weights);
}

const char *urc_keep_dir_prepare(const char *dir) {
    static char msg[200];
    struct stat st;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        snprintf(msg, sizeof msg, "cannot create the --keep folder: %s", strerror(errno));
    else if (stat(dir, &st) != 0) snprintf(msg, sizeof msg, "cannot use the --keep folder: %s", strerror(errno));
    else if (!S_ISDIR(st.st_mode)) snprintf(msg, sizeof msg, "cannot use the --keep folder: %s", strerror(ENOTDIR));
    else return NULL;
    return msg;
}
