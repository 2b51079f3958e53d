/* npy.h: NumPy .npy files (format versions 1-3).
 *
 * Reading accepts little-endian (or byte-order-free) bool, int8/16/32/64,
 * uint8/16/32/64, float16/32/64 in C or Fortran order, and returns a C-order
 * tensor of the file's dtype. Everything about the header is checked:
 * magic, version, header length, dict syntax, dtype, shape, data size. */
#ifndef URC_NPY_H
#define URC_NPY_H

#include "../ir/ir.h"

/* Returns NULL and sets *err (arena string) on any problem. */
urc_tensor *urc_npy_read(const char *path, uint64_t max_bytes, const char **err);
/* Parses an in-memory .npy image (used by the reader and the fuzzer). */
urc_tensor *urc_npy_parse(const unsigned char *data, size_t size, uint64_t max_bytes, const char **err);
/* Serialises a tensor as .npy version 1.0 (C order, little-endian);
 * bfloat16, which NumPy lacks, as float32. */
void urc_npy_format(const urc_tensor *t, urc_strbuf *out);

#endif
