/* run_c.h: the C backend's build and run (urc_backend_c, ../backend.h):
 * builds generated C with the system compiler and runs it on inputs. */
#ifndef URC_RUN_C_H
#define URC_RUN_C_H

#include "../backend.h"
#include "emit_c.h"

/* The C printer's options for a backend's emit options (the header a
 * backend shares with the C backend's: #included by its base name). */
urc_c_opts urc_c_opts_of(const urc_emit_opts *o);
/* The header and (unless embedded) the weights blob every backend's output
 * shares with the C backend's. */
void urc_c_emit_header_and_blob(const urc_program *const *progs, const char *const *entries, int n,
                                const urc_emit_opts *o, urc_emitted *out);

/* urc_backend.build: cc cflags SOURCES... -o exe -lm; a failure is
 * reported (urc_error) as "cannot run the C compiler 'CC': ..." or "the
 * generated C failed to build with 'CC' (exit N): " and the first line of the
 * log naming an error. */
bool urc_c_build(const char *const *sources, int n, const char *exe, const urc_build_opts *o);
/* urc_backend.run: writes NAME.c/.h/.weights and a harness into a folder,
 * builds, runs with `ins` and fills `outs` (build errors include the
 * compiler's first error line). */
bool urc_c_run(const urc_program *P, urc_tensor *const *ins, urc_tensor **outs, const urc_run_opts *o);
/* The same with any backend: be's emit (the code file NAME + be->code_suffix
 * beside the C harness) and be's build (the LLVM backend's run is this). */
bool urc_run_generated(const urc_backend *be, const urc_program *P, urc_tensor *const *ins, urc_tensor **outs,
                       const urc_run_opts *o);

#endif
