/* seg_cache.h: the compiled model of `unetrc segment`, built once into a
 * shared object and kept in a cache, then loaded into the process.
 *
 * An entry is the folder CACHE/KEY, KEY the SHA-256 of the unetrc version,
 * the model file's SHA-256, the C compiler, its flags and the host CPU
 * (model name and feature flags: -march=native code must not run
 * elsewhere). It holds seg.so (generated seg.c + a small glue file built
 * with -shared -fPIC), seg.weights, seg.c, seg.h and a manifest with the
 * SHA-256 of seg.so, of the model and of every external data file the
 * model read. An entry is built in a private folder CACHE/KEY.tmp-XXXXXX
 * (removed however unetrc ends) and renamed into place complete; one that
 * fails any check when loaded (manifest, hashes, the weights' checksum, the
 * library's own description) is removed and rebuilt. The cache folder must
 * be owned by the user and writable by nobody else: its contents are code
 * this process runs. The library is hashed and then loaded through the same
 * open descriptor, so what runs is what was checked. */
#ifndef URC_SEG_CACHE_H
#define URC_SEG_CACHE_H

#include "driver.h"

typedef struct urc_seg_model {
    int (*forward)(const void *weights, void *arena, const float *in, float *out);
    void (*set_threads)(int n); /* OpenMP threads of the generated kernels (no-op without OpenMP) */
    void *weights_blob;         /* the weights file, 64-byte aligned (owned) */
    const void *weights;        /* its payload, what forward takes */
    int rank;                   /* 4 (2D model) or 5 (3D) */
    int64_t in_shape[5], out_shape[5];
    int64_t arena_bytes, weights_bytes;
    bool cached;       /* found in the cache (else built now) */
    const char *entry; /* the cache entry's folder */
} urc_seg_model;

struct urc_backend;
typedef struct urc_seg_cache_opts {
    const char *model;                 /* the ONNX file */
    const char *cache_dir;             /* NULL: $XDG_CACHE_HOME/unetrc, else $HOME/.cache/unetrc */
    const char *cc;                    /* NULL: $CC, else cc */
    const char *cflags;                /* NULL: the default (bench's flags) */
    const urc_options *opt;            /* compile options (max bytes, ...) */
    const char *command;               /* for the provenance comment of seg.c */
    const struct urc_backend *backend; /* the one that emits and builds the entry (NULL: c) */
} urc_seg_cache_opts;

/* The flags the shared object is built with when cflags is NULL. */
#define URC_SEG_DEFAULT_CFLAGS "-std=c11 -O3 -march=native -mprefer-vector-width=512 -fopenmp"

/* Finds or builds the model's entry and loads it. On failure reports with
 * urc_error (for the file the message is about, see urc_diag_reset; the
 * model's problems as `unetrc` reports them) and returns false. */
bool urc_seg_load(const urc_seg_cache_opts *o, urc_seg_model *m);

#endif
