/* unetrc.h: the unetrc runtime's core header (whole volumes: unetrc_sw.h,
 * unetrc_prepost.h).
 *
 * The runtime never allocates, never prints and never aborts: every
 * function returns an unetrc_status. It complements the generated code
 * (seg.c/seg.h) with what a device needs around it. */
#ifndef UNETRC_H
#define UNETRC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum unetrc_status {
    UNETRC_OK = 0,
    UNETRC_ERR_NULL = -1,      /* a required pointer is NULL */
    UNETRC_ERR_ALIGN = -2,     /* a buffer is not aligned as required */
    UNETRC_ERR_TRUNCATED = -3, /* data shorter than its header says */
    UNETRC_ERR_MAGIC = -4,     /* not a unetrc weights blob */
    UNETRC_ERR_VERSION = -5,   /* blob format version not supported */
    UNETRC_ERR_SIZE = -6,      /* payload size differs from the model's */
    UNETRC_ERR_CHECKSUM = -7,  /* payload corrupted or for another model */
    UNETRC_ERR_IO = -8,        /* a file could not be opened, read or written */
    UNETRC_ERR_FORMAT = -9,    /* a file is not in the expected format */
    UNETRC_ERR_MODEL = -10,    /* a checkpoint of another model */
    UNETRC_ERR_SHAPE = -11,    /* an array's shape differs from the expected one */
    UNETRC_ERR_INDEX = -12,    /* generated code (SEG_ERR_INDEX): an index read at run time is out of range */
    UNETRC_ERR_LABEL = -13,    /* generated training step (SEG_ERR_LABEL): a label is none of the classes' values */
    UNETRC_ERR_NOMEM = -14,    /* memory could not be allocated (unetrc_io only) */
    UNETRC_ERR_CPU = -15,      /* generated code (SEG_ERR_CPU): compiled for an instruction set this CPU lacks */
    /* sliding-window inference and pre/post-processing (unetrc_sw.h, unetrc_prepost.h) */
    UNETRC_ERR_ARGUMENT = -20,  /* a shape, count or option out of range */
    UNETRC_ERR_WORKSPACE = -21, /* the workspace is smaller than the plan needs */
    UNETRC_ERR_PREDICT = -22,   /* the predictor callback returned non-zero */
    UNETRC_ERR_CANCELLED = -23, /* the progress callback asked to stop */
} unetrc_status;

/* A short English description of a status ("weights checksum mismatch").
 * The generated code's return codes (SEG_ERR_NULL, _ALIGN, _INDEX, _LABEL, _CPU) share
 * these numbers, so it describes them too. */
const char *unetrc_status_str(int status);

/* The weights blob (SEG.weights), the one definition of its format for the
 * compiler (which writes it) and the runtime (which checks it); all fields
 * little-endian, followed by the payload:
 *   0  char[8]  magic "UNETRCW1"
 *   8  u32      format version (1)
 *   12 u32      header bytes (64)
 *   16 u64      payload bytes
 *   24 u64      FNV-1a 64 checksum of the payload
 *   32 u64      FNV-1a 64 of the model file
 *   40 zero padding to 64 */
#define UNETRC_WEIGHTS_MAGIC "UNETRCW1"
#define UNETRC_WEIGHTS_VERSION 1
#define UNETRC_WEIGHTS_HEADER_BYTES 64

/* Checks a weights blob (the bytes of SEG.weights) against what the
 * generated header expects (SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM) and
 * returns its payload, which is what SEG_forward takes as `weights`. The
 * blob must be 64-byte aligned so that the payload is too. */
unetrc_status unetrc_weights_open(const void *blob, size_t blob_size, uint64_t expected_size,
                                  uint64_t expected_checksum, const void **payload);

/* Reads a weights blob file (runtime/src/weights_file.c, needs stdio and
 * POSIX open) into buf (cap bytes; SEG_WEIGHTS_FILE_SIZE for one model, and
 * 64-byte aligned for unetrc_weights_open); *size gets the bytes read. Only a
 * regular file is opened (a FIFO or device: UNETRC_ERR_IO at once, without
 * blocking); a file longer than cap is UNETRC_ERR_SIZE (not read in part). */
unetrc_status unetrc_weights_read_file(const char *path, void *buf, size_t cap, size_t *size);

/* .npy files (runtime/src/npy.c, needs stdio and POSIX open/fsync/rename):
 * little-endian float32, C order. Reading checks that the file holds
 * exactly `count` elements (UNETRC_ERR_SIZE otherwise), whatever its shape;
 * it opens only a regular file (a FIFO or device gives UNETRC_ERR_IO at once
 * instead of blocking). Writing goes to PATH.tmpPID.N (created O_EXCL, so
 * never through a link), flushed to disk and renamed over PATH: a reader or
 * a crash sees the old file or the new one, never a partial one. */
unetrc_status unetrc_npy_read_f32(const char *path, float *buf, size_t count);
/* Reads a volume whose shape must be exactly shape[0..rank) (at most 8
 * dims): a transposed or reshaped array with the same element count is
 * UNETRC_ERR_SHAPE, and buf is left untouched. Use this for model inputs
 * (SEG_IN0_SHAPE, SEG_IN0_RANK). */
unetrc_status unetrc_npy_read_f32_shape(const char *path, float *buf, const int64_t *shape, int rank);
/* Reads only the header of a float32 .npy file: its shape (up to 8 dims)
 * and rank, e.g. to say what a file holds after UNETRC_ERR_SHAPE. */
unetrc_status unetrc_npy_shape(const char *path, int64_t shape[8], int *rank);
unetrc_status unetrc_npy_write_f32(const char *path, const float *buf, const int64_t *shape, int rank);
/* Parses the header dict of a .npy file (the len bytes after the preamble,
 * any dtype): exactly the keys 'descr' (a string of at most 15 bytes,
 * copied to descr), 'fortran_order' (True/False) and 'shape' (at most 8
 * non-negative integers), then only whitespace. Returns NULL, or why the
 * header is malformed (a static one-line string). No I/O, no allocation;
 * the compiler's reader of every dtype uses it too. */
const char *unetrc_npy_header_parse(const char *text, size_t len, char descr[16], int *fortran, int64_t shape[8],
                                    int *rank);

/* Training checkpoints (runtime/src/checkpoint.c, needs stdio and POSIX
 * fsync/rename): the params and optimizer state regions of code generated
 * with --train (the state holds the step counter), tagged with the model
 * hash (SEG_MODEL_HASH) and checksummed. Saving writes PATH.tmpPID.N
 * (created O_EXCL: unique to the writer, never through a link planted
 * there), flushes it to disk and renames it over PATH, so a crash at any
 * moment leaves either the old or the new checkpoint, never a mix (a
 * process killed while saving may leave its PATH.tmpPID.N behind; `unetrc
 * train` removes it). Loading opens only a regular file (UNETRC_ERR_IO,
 * without blocking, for a FIFO or device) and checks the magic, version,
 * model hash, sizes and checksum before it writes the caller's buffers; on
 * any error they are left untouched. */
unetrc_status unetrc_checkpoint_save(const char *path, const void *params, size_t params_size, const void *state,
                                     size_t state_size, uint64_t model_hash);
unetrc_status unetrc_checkpoint_load(const char *path, void *params, size_t params_size, void *state, size_t state_size,
                                     uint64_t model_hash);

/* What a checkpoint's header says. */
typedef struct unetrc_checkpoint_info {
    uint64_t params_size, state_size; /* bytes */
    uint64_t model_hash;
} unetrc_checkpoint_info;

/* Whether PATH would load: the same checks, in the same order, with the same
 * status as unetrc_checkpoint_load, reading the file without keeping it in
 * memory (to refuse a resume before anything is allocated or written). The
 * model hash is checked before the sizes, so another model's checkpoint is
 * UNETRC_ERR_MODEL; a checkpoint of the same model with other sizes (another
 * optimizer, other trainable parameters) or with bytes after its end is
 * UNETRC_ERR_SIZE. *info (may be NULL) gets the header's fields once its
 * magic and version are right, else zeros. */
unetrc_status unetrc_checkpoint_check(const char *path, size_t params_size, size_t state_size, uint64_t model_hash,
                                      unetrc_checkpoint_info *info);

/* unetrc_status_str worded for the checkpoint functions ("not a unetrc
 * checkpoint", "corrupted checkpoint (checksum mismatch)", ...). */
const char *unetrc_checkpoint_status_str(int status);

/* FNV-1a 64 over bytes, as used for the weights checksum. */
uint64_t unetrc_fnv1a64(const void *data, size_t n);

#ifdef __cplusplus
}
#endif

#endif
