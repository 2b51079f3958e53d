/* emit_c.h: the C backend's printer. Prints a loop program as
 * dependency-free C11 (seg.c) and its header (seg.h); the weights blob
 * (seg.weights) is the ABI's (../abi.h). The backend itself (emit, build,
 * run) is urc_backend_c (../backend.h, backend_c.c). */
#ifndef URC_EMIT_C_H
#define URC_EMIT_C_H

#include "../../loop/loop.h"
#include "../abi.h"
#include "emit_c_prelude.h"

typedef struct urc_c_opts {
    const char *prefix;      /* symbol prefix, e.g. "seg" */
    const char *header_name; /* "seg.h", as #included by seg.c */
    const char *source_name; /* model file name, for the provenance comment */
    const char *command;     /* command line, for the provenance comment */
    uint64_t model_hash;
    int opset;
    bool embed_weights;
} urc_c_opts;

/* Several entry points in one file (e.g. "forward" and "train_step"): the
 * programs were lowered into one weights blob (the last program's holds all
 * constants; see urc_lower_graph's `share`); identical kernels are shared. */
void urc_emit_c_source_multi(const urc_program *const *progs, const char *const *entries, int n, const urc_c_opts *o,
                             urc_strbuf *out);
void urc_emit_c_header_multi(const urc_program *const *progs, const char *const *entries, int n, const urc_c_opts *o,
                             urc_strbuf *out);

/* Appends PREFIX_cpu_missing() (emit_c_cpu.c, ../cpu_check.h), which the entry points call first. */
void urc_c_cpu_check(const char *prefix, urc_strbuf *out);

/* C type name of a dtype in generated code ("float", "int64_t", ...). */
const char *urc_c_type(urc_dtype dt);

/* Appends kernel k as a static C function (emit_c_kernel.c); need: what the prelude includes (the F16C
 * and AVX512-BF16 intrinsics, for the loops the printer spells with them). */
void urc_c_kernel(urc_strbuf *out, const urc_kernel *k, const urc_c_needs *need);

/* C literals of a value of type dt (float: exact, NAN/INFINITY spelled out; integer: suffixed as its
 * type needs), shared by the kernels and the embedded weights. */
void urc_c_flt_literal(urc_strbuf *sb, double v, urc_dtype dt);
void urc_c_int_literal(urc_strbuf *sb, int64_t v, urc_dtype dt);

#endif
