/* run_c.h: builds generated C with the system compiler and runs it on
 * inputs (for `unetrc run`, the test suites and later `unetrc bench`). */
#ifndef URC_RUN_C_H
#define URC_RUN_C_H

#include "emit_c.h"

typedef struct urc_run_opts {
    const char *cc;         /* NULL: $CC, else "cc" */
    const char *cflags;     /* NULL: "-std=c11 -O2 -fopenmp" */
    const char *keep_dir;   /* keep files there instead of a scratch folder in $TMPDIR (proc.h) */
    const char *model_name; /* for the provenance comment */
    const char *command;
    uint64_t model_hash;
    int opset;
    int threads;      /* > 0: OMP_NUM_THREADS for the run */
    int bench_runs;   /* > 0: time this many forwards after one warm-up */
    double *times_ms; /* bench: bench_runs times, filled on success */
} urc_run_opts;

/* Creates the --keep folder if missing; NULL, or why it cannot be used
 * (static: "cannot use the --keep folder: Not a directory"). */
const char *urc_keep_dir_prepare(const char *dir);

/* Writes NAME.c/.h/.weights and a harness into a folder, builds, runs with
 * `ins` (model dtypes and shapes) and fills `outs` (allocated here).
 * Returns false after reporting (build errors include the compiler's first
 * error line). */
bool urc_c_run(const urc_program *P, urc_tensor *const *ins, urc_tensor **outs, const urc_run_opts *o);

/* urc_run_child (proc.h) with stdout+stderr to log_path if given.
 * Returns the exit status, 128+signal, or -1 if it could not start. */
int urc_run_process(char **argv, const char *log_path);

#endif
