/* jit_llvm.c: --jit, the LLVM backend's code run in this process (backend.h:
 * urc_jit_*, urc_backend_llvm_jit). The module urc_llvm_build_module
 * optimises for this machine is handed to LLVM 14's ORC LLJIT (no C
 * compiler, no object file, no dlopen); its undefined symbols (libgomp's
 * GOMP_parallel and omp_get_*, libm, memset/memcpy) are resolved from the
 * process, which links libgomp for them. Each entry point is called through
 * its PREFIX_ENTRY_argv wrapper (void **args), so a forward of any arity
 * (grad: one output per parameter) is one C call. The weights are the
 * program's payload copied into a 64-byte aligned buffer (what the C path's
 * harness reads from NAME.weights); nothing is written to disk. */
#define _POSIX_C_SOURCE 200809L
#include "llvm_internal.h"

#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../base/diag.h"
#include "../abi.h"
#include "../cpu_check.h"

/* libgomp (linked into unetrc for the JIT'd code): the team size of the
 * next parallel regions. A reference, so that the linker keeps libgomp
 * (--as-needed) for the JIT to find GOMP_parallel in the process. */
extern void omp_set_num_threads(int n);

struct urc_jit {
    LLVMOrcLLJITRef jit;
    const char *prefix;
    char *session_error; /* the first error LLVM's session reported (a symbol not found), or NULL */
};

/* LLVM's message of e (consumed) as one line: line breaks made spaces. */
static char *one_line(LLVMErrorRef e) {
    char *m = LLVMGetErrorMessage(e);
    char *t = urc_strdup(m);
    LLVMDisposeErrorMessage(m);
    for (char *p = t; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return t;
}

static void jit_error(const char *what, LLVMErrorRef e) { urc_error(NULL, "--jit: %s: %s", what, one_line(e)); }

/* The session's errors (a symbol not found while compiling), which LLVM
 * would print on stderr as "JIT session error: ...": the first is kept for
 * the one line the failed lookup reports. */
static void session_error(void *ctx, LLVMErrorRef e) {
    urc_jit *j = ctx;
    char *t = one_line(e);
    if (!j->session_error) j->session_error = t;
}

urc_jit *urc_jit_compile(const urc_program *const *progs, const char *const *entries, int n, const urc_emit_opts *o) {
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod;
    LLVMTargetMachineRef tm;
    urc_llvm_target t = {.triple = o->triple, .cpu = o->cpu, .features = o->features};
    if (!urc_llvm_build_module(progs, entries, n, o, &t, LLVMOrcThreadSafeContextGetContext(tsc), true, &mod, &tm)) {
        LLVMOrcDisposeThreadSafeContext(tsc);
        return NULL;
    }
    /* the machine the module was optimised for (CPU, features, -O3, PIC) compiles it */
    LLVMOrcLLJITBuilderRef jb = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(jb, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
    LLVMOrcLLJITRef J;
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&J, jb);
    if (e) {
        jit_error("cannot create LLVM's JIT", e);
        LLVMDisposeModule(mod);
        LLVMOrcDisposeThreadSafeContext(tsc);
        return NULL;
    }
    LLVMOrcDefinitionGeneratorRef dg;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&dg, LLVMOrcLLJITGetGlobalPrefix(J), NULL, NULL);
    if (e) {
        jit_error("cannot search this process for symbols", e);
        LLVMDisposeModule(mod);
        LLVMOrcDisposeThreadSafeContext(tsc);
        LLVMConsumeError(LLVMOrcDisposeLLJIT(J));
        return NULL;
    }
    urc_jit *j = urc_alloc(sizeof *j);
    j->jit = J, j->prefix = urc_strdup(o->prefix), j->session_error = NULL;
    LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(J), session_error, j);
    LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(J);
    LLVMOrcJITDylibAddGenerator(jd, dg);
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc);
    LLVMOrcDisposeThreadSafeContext(tsc); /* the module keeps it */
    if ((e = LLVMOrcLLJITAddLLVMIRModule(J, jd, tsm))) {
        jit_error("cannot add the module", e); /* the JIT owns tsm even then */
        LLVMConsumeError(LLVMOrcDisposeLLJIT(J));
        return NULL;
    }
    return j;
}

urc_jit_entry urc_jit_lookup(urc_jit *j, const char *entry) {
    LLVMOrcExecutorAddress a = 0;
    /* the first lookup compiles the module */
    LLVMErrorRef e = LLVMOrcLLJITLookup(j->jit, &a, urc_fmt("%s_%s_argv", j->prefix, entry));
    if (e) {
        const char *what = urc_fmt("cannot compile %s_%s", j->prefix, entry);
        if (j->session_error) { /* the cause ("Symbols not found: [ f ]"), not the consequence */
            LLVMConsumeError(e);
            urc_error(NULL, "--jit: %s: %s", what, j->session_error);
        } else {
            jit_error(what, e);
        }
        return NULL;
    }
    return (urc_jit_entry)(uintptr_t)a;
}

void urc_jit_free(urc_jit *j) {
    if (!j) return;
    LLVMConsumeError(LLVMOrcDisposeLLJIT(j->jit));
}

void urc_jit_threads(int n) {
    if (n > 0) omp_set_num_threads(n);
}

double urc_jit_now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* 64-byte aligned, n rounded up (at least 64). */
static void *aligned(int64_t n) {
    size_t b = (size_t)urc_align_up(n > 0 ? n : 64, 64);
    void *p = aligned_alloc(64, b);
    if (!p) {
        fprintf(stderr, "unetrc: error: out of memory\n");
        exit(1);
    }
    return p;
}

/* urc_backend.run in this process: the C path's harness (run_c.c) as a function. */
static bool jit_run(const urc_program *P, urc_tensor *const *ins, urc_tensor **outs, const urc_run_opts *o) {
    if (urc_abi_is_training(P) || P->params_bytes) {
        urc_error(NULL, "internal error: --jit runs a forward without parameter regions");
        return false;
    }
    double t0 = urc_jit_now_ms();
    urc_emit_opts eo = {.prefix = P->name,
                        .source_name = o->model_name ? o->model_name : "model",
                        .command = o->command,
                        .model_hash = o->model_hash,
                        .opset = o->opset};
    const char *entry = "forward";
    urc_jit *j = urc_jit_compile(&P, &entry, 1, &eo);
    urc_jit_entry fn = j ? urc_jit_lookup(j, entry) : NULL;
    if (!fn) {
        urc_jit_free(j);
        return false;
    }
    if (o->build_ms) *o->build_ms = urc_jit_now_ms() - t0;
    void *w = aligned(P->weights_bytes);
    if (P->weights_bytes) memcpy(w, P->weights, (size_t)P->weights_bytes);
    int64_t ab = urc_align_up(P->arena_bytes ? P->arena_bytes : 64, 64);
    void *arena = aligned(ab);
    memset(arena, 0xA5, (size_t)ab); /* garbage: nothing may rely on zeroed scratch */
    int na = 2 + P->inputs.len + P->outputs.len;
    void **args = urc_alloc(sizeof(void *) * (size_t)na);
    args[0] = w, args[1] = arena;
    urc_jit_threads(o->threads);
    int rc = UNETRC_OK, nin = P->inputs.len, nout = P->outputs.len;
    for (int s = 0; rc == UNETRC_OK && s < (o->sets > 1 ? o->sets : 1); s++) {
        for (int i = 0; i < nin; i++) args[2 + i] = ins[s * nin + i]->data;
        for (int i = 0; i < nout; i++) {
            const urc_io *io = &P->outputs.items[i];
            outs[s * nout + i] = urc_tensor_new(io->dt, &io->shape);
            args[2 + nin + i] = outs[s * nout + i]->data;
        }
        rc = fn(args);
    }
    for (int r = 0; rc == 0 && r < o->bench_runs; r++) {
        double s = urc_jit_now_ms();
        rc = fn(args);
        o->times_ms[r] = urc_jit_now_ms() - s;
    }
    bool ok = rc == UNETRC_OK;
    if (rc == UNETRC_ERR_INDEX)
        urc_error(NULL,
                  "the generated code's forward returned %s_ERR_INDEX: an index read at run time is out of range "
                  "(run with --interp to see which node and index)",
                  urc_abi_macro_prefix(P->name));
    else if (rc == UNETRC_ERR_CPU) {
        LLVMOrcExecutorAddress a = 0;
        LLVMErrorRef e = LLVMOrcLLJITLookup(j->jit, &a, urc_fmt("%s_cpu_missing", j->prefix));
        const char *what = NULL;
        if (e) LLVMConsumeError(e);
        else what = ((const char *(*)(void))(uintptr_t)a)();
        urc_error(NULL, "%s", urc_cpu_message(urc_abi_macro_prefix(P->name), what));
    } else if (!ok) urc_error(NULL, "the generated code's forward returned %d", rc);
    free(w);
    free(arena);
    urc_jit_free(j);
    return ok;
}

static bool jit_emit(const urc_program *const *progs, const char *const *entries, int n, const urc_emit_opts *o,
                     urc_emitted *out) {
    return urc_backend_llvm.emit(progs, entries, n, o, out);
}

static bool jit_build(const char *const *sources, int n, const char *exe, const urc_build_opts *o) {
    return urc_backend_llvm.build(sources, n, exe, o);
}

const urc_backend urc_backend_llvm_jit = {
    .name = "llvm", .code_suffix = ".o", .emit = jit_emit, .build = jit_build, .run = jit_run};
