/* backend.h: the interface between the compiler and a code generator.
 *
 * A backend turns lowered loop programs (loop/loop.h) into files (emit)
 * and builds and runs them (build, run). The CLI (compile, --train, run,
 * bench, grad, train) and the tests call backends only through this
 * interface; `--backend NAME` (default c) or UNETRC_BACKEND (tests) picks
 * one. The C backend (backend/c) is the one registered today. What every
 * backend's output shares (the weights blob, the ABI's names) is in abi.h. */
#ifndef URC_BACKEND_H
#define URC_BACKEND_H

#include "../loop/loop.h"

/* What emit needs beyond the programs. */
typedef struct urc_emit_opts {
    const char *prefix;      /* symbol prefix, e.g. "seg" */
    const char *source_name; /* model file name, for the provenance comment */
    const char *command;     /* command line, for the provenance comment */
    uint64_t model_hash;
    int opset;
    bool embed_weights; /* the weights in the code, no weights file */
    /* The output paths: the code (OUT.c), its header (OUT.h, #included by
     * its base name) and the weights blob (OUT.weights); emit only prints
     * what goes into them, the caller writes the files. */
    const char *code_path, *header_path, *weights_path;
    /* Backends that write machine code (llvm): the target triple, the CPU
     * and its features (LLVM's names: "+avx2,-avx512f"); NULL: those of
     * the programs' target (compiler/target, the host's for native). */
    const char *triple, *cpu, *features;
} urc_emit_opts;

/* The files' contents (weights empty when embedded). */
typedef struct urc_emitted {
    urc_strbuf code, header, weights;
} urc_emitted;
void urc_emitted_free(urc_emitted *e);

typedef struct urc_run_opts {
    const char *cc;         /* NULL: $CC, else "cc" */
    const char *cflags;     /* NULL: urc_default_cflags() */
    const char *keep_dir;   /* keep files there instead of a scratch folder in $TMPDIR (proc.h) */
    const char *model_name; /* for the provenance comment */
    const char *command;
    uint64_t model_hash;
    int opset;
    int threads;      /* > 0: OMP_NUM_THREADS for the run */
    int bench_runs;   /* > 0: time this many forwards after one warm-up */
    double *times_ms; /* bench: bench_runs times, filled on success */
    int sets;         /* > 1: `ins` holds this many input sets one after another, `outs` gets as many output
                       * sets; the code is built once and run on each (not with bench_runs) */
    double *build_ms; /* --jit: when not NULL, the time to generate and compile the code */
} urc_run_opts;

/* The C compiler flags of a build whose caller gives none (run and grad without --cflags): $UNETRC_RUN_CFLAGS
 * when set and not empty (the test suite builds code whose optimisation is not under test at -O1), else
 * "-std=c11 -O2 -fopenmp". */
const char *urc_default_cflags(void);

/* Building an executable from emitted code and C sources (a harness, the
 * runtime's files). */
typedef struct urc_build_opts {
    const char *cc;       /* NULL: $CC, else "cc" */
    const char *cflags;   /* NULL: urc_default_cflags() */
    const char *log_path; /* the toolchain's stdout and stderr */
    const char *tmpdir;   /* TMPDIR of the toolchain, or NULL */
} urc_build_opts;

typedef struct urc_backend {
    const char *name;        /* --backend NAME */
    const char *code_suffix; /* of the code file: ".c" */
    /* The code of n programs lowered into one weights blob (the last one's
     * holds all constants; see urc_lower_graph's `share`), entry point i
     * named PREFIX_entries[i] ("forward", "train_step"). False after
     * reporting why (urc_error: a target the backend cannot generate for). */
    bool (*emit)(const urc_program *const *progs, const char *const *entries, int n, const urc_emit_opts *o,
                 urc_emitted *out);
    /* Builds the code files and C sources (paths) into the executable (or,
     * with -shared in the flags, the library) exe. Returns false after
     * reporting why (urc_error: the toolchain could not start, or its first
     * error line). */
    bool (*build)(const char *const *sources, int n, const char *exe, const urc_build_opts *o);
    /* Emits P's forward, builds it with a harness, runs it on `ins` (model
     * dtypes and shapes) and fills `outs` (allocated here); with
     * o->bench_runs, times that many forwards. Returns false after reporting
     * (urc_error). */
    bool (*run)(const urc_program *P, urc_tensor *const *ins, urc_tensor **outs, const urc_run_opts *o);
} urc_backend;

/* The backend named name, or NULL. */
const urc_backend *urc_backend_find(const char *name);
/* The registered backends' names, "c" or "c, llvm" (for messages). */
const char *urc_backend_names(void);
/* The backend the tests use: $UNETRC_BACKEND, else c; an unknown name
 * exits 2 with one line naming the available ones. */
const urc_backend *urc_backend_from_env(void);

/* The backends (backend/<name>/). */
extern const urc_backend urc_backend_c;
#ifdef URC_HAVE_LLVM
extern const urc_backend urc_backend_llvm;
/* --jit: the LLVM backend whose run compiles and runs the code in this
 * process (backend/llvm/jit_llvm.c; not in the registry: its emit and
 * build are the LLVM backend's). */
extern const urc_backend urc_backend_llvm_jit;

/* The LLVM backend's code of n programs (entries as urc_backend.emit),
 * compiled into this process by LLVM's ORC JIT for this machine: NULL after
 * reporting (urc_error, one line). */
typedef struct urc_jit urc_jit;
urc_jit *urc_jit_compile(const urc_program *const *progs, const char *const *entries, int n, const urc_emit_opts *o);
/* PREFIX_ENTRY ("forward", "train_step", "train_init"), called with its
 * arguments in order as one array; NULL after reporting. */
typedef int (*urc_jit_entry)(void **args);
urc_jit_entry urc_jit_lookup(urc_jit *j, const char *entry);
void urc_jit_free(urc_jit *j);
/* n > 0: OpenMP threads of the JIT'd code's parallel loops (omp_set_num_threads). */
void urc_jit_threads(int n);
double urc_jit_now_ms(void); /* CLOCK_MONOTONIC */
#endif

/* Creates the --keep folder if missing; NULL, or why it cannot be used
 * (static: "cannot use the --keep folder: Not a directory"). */
const char *urc_keep_dir_prepare(const char *dir);

#endif
