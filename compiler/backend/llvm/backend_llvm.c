/* backend_llvm.c: the LLVM backend as a urc_backend (../backend.h): an
 * object file (seg.o) from the loop programs, the C backend's header
 * (seg.h) and the ABI's weights blob (seg.weights); build links the object
 * with C sources through cc, run is the C backend's run with this emit and
 * build. */
#include <string.h>

#include "../c/emit_c.h"
#include "../c/run_c.h"
#include "emit_llvm.h"

static bool llvm_emit(const urc_program *const *progs, const char *const *entries, int n, const urc_emit_opts *o,
                      urc_emitted *out) {
    urc_llvm_target t = {.triple = o->triple, .cpu = o->cpu, .features = o->features};
    if (!urc_llvm_emit_object(progs, entries, n, o, &t, &out->code)) return false;
    /* the header is the C backend's: the object has the same ABI */
    urc_c_emit_header_and_blob(progs, entries, n, o, out);
    return true;
}

/* cc cflags SOURCES... -o exe -lm, with -fopenmp: parallel loops call
 * libgomp's GOMP_parallel. */
static bool llvm_build(const char *const *sources, int n, const char *exe, const urc_build_opts *o) {
    urc_build_opts bo = *o;
    const char *flags = o->cflags ? o->cflags : urc_default_cflags();
    bo.cflags = strstr(flags, "-fopenmp") ? flags : urc_fmt("%s -fopenmp", flags);
    return urc_c_build(sources, n, exe, &bo);
}

static bool llvm_run(const urc_program *P, urc_tensor *const *ins, urc_tensor **outs, const urc_run_opts *o) {
    return urc_run_generated(&urc_backend_llvm, P, ins, outs, o);
}

const urc_backend urc_backend_llvm = {
    .name = "llvm", .code_suffix = ".o", .emit = llvm_emit, .build = llvm_build, .run = llvm_run};
