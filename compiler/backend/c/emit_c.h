/* emit_c.h: the C backend. Prints a loop program as dependency-free C11
 * (seg.c), its header (seg.h) and the weights blob (seg.weights). */
#ifndef URC_EMIT_C_H
#define URC_EMIT_C_H

#include "../../loop/loop.h"

/* Weights blob layout (little-endian), followed by the payload:
 *   0  char[8]  magic "UNETRCW1"
 *   8  u32      format version (1)
 *   12 u32      header bytes (64)
 *   16 u64      payload bytes
 *   24 u64      FNV-1a 64 checksum of the payload
 *   32 u64      FNV-1a 64 of the model file
 *   40 zero padding to 64 */
#define URC_WEIGHTS_MAGIC "UNETRCW1"
#define URC_WEIGHTS_VERSION 1
#define URC_WEIGHTS_HEADER 64

typedef struct urc_c_opts {
    const char *prefix;      /* symbol prefix, e.g. "seg" */
    const char *header_name; /* "seg.h", as #included by seg.c */
    const char *source_name; /* model file name, for the provenance comment */
    const char *command;     /* command line, for the provenance comment */
    uint64_t model_hash;
    int opset;
    bool embed_weights;
} urc_c_opts;

void urc_emit_c_source(const urc_program *P, const urc_c_opts *o, urc_strbuf *out);
void urc_emit_c_header(const urc_program *P, const urc_c_opts *o, urc_strbuf *out);
/* Several entry points in one file (e.g. "forward" and "train_step"): the
 * programs were lowered into one weights blob (the last program's holds all
 * constants; see urc_lower_graph's `share`); identical kernels are shared. */
void urc_emit_c_source_multi(const urc_program *const *progs, const char *const *entries, int n, const urc_c_opts *o,
                             urc_strbuf *out);
void urc_emit_c_header_multi(const urc_program *const *progs, const char *const *entries, int n, const urc_c_opts *o,
                             urc_strbuf *out);
void urc_emit_weights(const urc_program *P, const urc_c_opts *o, urc_strbuf *out);
/* The header's macro prefix for a symbol prefix: "seg" -> "SEG" (SEG_OK, ...). */
const char *urc_c_macro_prefix(const char *prefix);

/* C type name of a dtype in generated code ("float", "int64_t", ...). */
const char *urc_c_type(urc_dtype dt);

#endif
