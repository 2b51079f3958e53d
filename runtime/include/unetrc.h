/* unetrc.h: the unetrc runtime, the only public runtime header.
 *
 * The runtime never allocates, never prints and never aborts: every
 * function returns an unetrc_status. It complements the generated code
 * (seg.c/seg.h) with what a device needs around it. */
#ifndef UNETRC_H
#define UNETRC_H

#include <stddef.h>
#include <stdint.h>

typedef enum unetrc_status {
    UNETRC_OK = 0,
    UNETRC_ERR_NULL = -1,        /* a required pointer is NULL */
    UNETRC_ERR_ALIGN = -2,       /* a buffer is not aligned as required */
    UNETRC_ERR_TRUNCATED = -3,   /* data shorter than its header says */
    UNETRC_ERR_MAGIC = -4,       /* not a unetrc weights blob */
    UNETRC_ERR_VERSION = -5,     /* blob format version not supported */
    UNETRC_ERR_SIZE = -6,        /* payload size differs from the model's */
    UNETRC_ERR_CHECKSUM = -7,    /* payload corrupted or for another model */
    UNETRC_ERR_IO = -8,          /* a file could not be opened, read or written */
    UNETRC_ERR_FORMAT = -9,      /* a file is not in the expected format */
    UNETRC_ERR_MODEL = -10,      /* a checkpoint of another model */
    UNETRC_ERR_NOMEM = -11,      /* memory could not be allocated (unetrc_io only) */
} unetrc_status;

/* A short English description of a status ("weights checksum mismatch"). */
const char *unetrc_status_str(int status);

/* Checks a weights blob (the bytes of SEG.weights) against what the
 * generated header expects (SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM) and
 * returns its payload, which is what SEG_forward takes as `weights`. The
 * blob must be 64-byte aligned so that the payload is too. */
unetrc_status unetrc_weights_open(const void *blob, size_t blob_size, uint64_t expected_size,
                                  uint64_t expected_checksum, const void **payload);

/* .npy files (runtime/src/npy.c, needs stdio): little-endian float32,
 * C order. Reading checks that the file holds exactly `count` elements. */
unetrc_status unetrc_npy_read_f32(const char *path, float *buf, size_t count);
unetrc_status unetrc_npy_write_f32(const char *path, const float *buf, const int64_t *shape, int rank);

/* Training checkpoints (runtime/src/checkpoint.c, needs stdio and POSIX
 * fsync/rename): the params and optimizer state regions of code generated
 * with --train (the state holds the step counter), tagged with the model
 * hash (SEG_MODEL_HASH) and checksummed. Saving writes PATH.tmp, flushes it
 * to disk and renames it over PATH, so a crash at any moment leaves either
 * the old or the new checkpoint, never a mix. Loading checks the magic,
 * version, sizes, model hash and checksum before it writes the caller's
 * buffers; on any error they are left untouched. */
unetrc_status unetrc_checkpoint_save(const char *path, const void *params, size_t params_size, const void *state,
                                     size_t state_size, uint64_t model_hash);
unetrc_status unetrc_checkpoint_load(const char *path, void *params, size_t params_size, void *state,
                                     size_t state_size, uint64_t model_hash);

/* FNV-1a 64 over bytes, as used for the weights checksum. */
uint64_t unetrc_fnv1a64(const void *data, size_t n);

#endif
