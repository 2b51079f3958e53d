/* emit_llvm.h: the LLVM backend's code generator. Builds the loop programs
 * as an LLVM module through LLVM 14's C API (the same loop IR the C printer
 * spells as C), optimises it (the new pass manager's default<O3>) and writes
 * an object file for a triple; the header and the weights blob are the C
 * backend's and the ABI's (docs/abi.md). The backend (emit, build, run) is
 * urc_backend_llvm (../backend.h, backend_llvm.c). */
#ifndef URC_EMIT_LLVM_H
#define URC_EMIT_LLVM_H

#include "../backend.h"

/* What the object is for: NULL fields come from the programs' target
 * (compiler/target: its triple and CPU; the host's for "native"). */
typedef struct urc_llvm_target {
    const char *triple;   /* e.g. x86_64-linux-gnu, aarch64-linux-gnu */
    const char *cpu;      /* LLVM CPU name: x86-64-v3, cortex-a72, ... */
    const char *features; /* "+avx2,-avx512f" */
} urc_llvm_target;

/* The object file of n programs (entries as urc_backend.emit) in out;
 * false after reporting (urc_error: an unknown triple, or an internal error
 * of the module's verifier). */
bool urc_llvm_emit_object(const urc_program *const *progs, const char *const *entries, int n, const urc_emit_opts *o,
                          const urc_llvm_target *t, urc_strbuf *out);

#endif
