/* safetensors.h: reads a safetensors file (what safetensors.torch.save_file
 * writes): an 8-byte little-endian header length, a JSON header mapping each
 * tensor's name to {"dtype", "shape", "data_offsets": [begin, end]} (byte
 * offsets into the data after the header; "__metadata__" holds strings),
 * then the data. It is untrusted input: every field is checked, offsets
 * against the file, each other (overlap) and the size shape x dtype needs. */
#ifndef URC_SAFETENSORS_H
#define URC_SAFETENSORS_H

#include "../ir/ir.h"

typedef struct urc_st_entry {
    const char *name;
    urc_dtype dtype; /* F32, F16, BF16; I64 (BatchNorm's num_batches_tracked) */
    urc_shape shape;
    uint64_t begin, end; /* byte range in the data section */
    bool used;           /* taken by a frontend (urc_st_take) */
} urc_st_entry;

typedef struct urc_safetensors {
    uint8_t *buf; /* the whole file (heap) */
    size_t size;
    size_t data; /* offset of the data section in buf */
    int n;
    urc_st_entry *e; /* in header order */
} urc_safetensors;

/* Parses a file's bytes (copied). Returns NULL after reporting every problem
 * found through urc_error, each where `label` (e.g. the file's name) and
 * the tensor concerned. max_bytes caps each tensor. */
urc_safetensors *urc_st_parse(const uint8_t *data, size_t size, const char *label, uint64_t max_bytes);
/* Reads and parses a file. */
urc_safetensors *urc_st_load(const char *path, uint64_t max_bytes);
/* The entry named name, or NULL. */
urc_st_entry *urc_st_find(urc_safetensors *s, const char *name);
/* An entry's values as a new tensor: float32 (F16/BF16 widened) or int64. */
urc_tensor *urc_st_tensor(const urc_safetensors *s, const urc_st_entry *e);
void urc_st_free(urc_safetensors *s);

#endif
