/* proc.h: child processes, scratch folders, and cleanup on every way the
 * process can end.
 *
 * What the compiler leaves around while it works -- temporary output files
 * (urc_outfile, base.h), scratch folders holding generated code, weights
 * and input volumes (`run`, `bench`, `grad`), and child processes (the C
 * compiler, the generated harness, the trainer) -- is undone
 *  - on exit() (error exits included), by urc_cleanup_all, registered with
 *    atexit as soon as there is something to undo;
 *  - on SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGALRM and SIGXCPU
 *    (urc_cleanup_on_signals): the handler forwards the signal to the
 *    running child's process group, reaps the child (SIGKILL to the group
 *    after 2 s), removes the temporary outputs, waits for the guard to
 *    remove the scratch folders, then dies of the signal;
 *  - on SIGKILL or a crash: a guard process, forked on first need, holds
 *    the read end of a pipe only this process writes to; when that pipe
 *    closes it kills the children's process groups (SIGTERM, then SIGKILL)
 *    and removes the scratch folders and the children's temporary files.
 *    The direct child also gets PR_SET_PDEATHSIG(SIGKILL), in case the
 *    guard is gone too.
 * SIGXFSZ is ignored (here and in the children), so that writing past
 * `ulimit -f` fails with EFBIG and is reported like any write error.
 * SIGTSTP stops the child's group too and SIGCONT continues it. */
#ifndef URC_PROC_H
#define URC_PROC_H

#include <signal.h>

#include "base.h"

/* Installs the handlers described above (the CLI calls it first thing). */
void urc_cleanup_on_signals(void);
/* Undoes everything still registered: temporary outputs, a running child,
 * scratch folders, and stops the guard. Idempotent; does nothing in a
 * process forked from the one that registered things. */
void urc_cleanup_all(void);
/* Blocks the signals the handlers above catch (and SIGTSTP) until
 * urc_signals_restore: for a sequence that must not stop half-way, such as
 * renaming a set of outputs into place. */
void urc_signals_block(sigset_t *old);
void urc_signals_restore(const sigset_t *old);

/* Prints "unetrc: error: FILE: out of memory (allocating N bytes)" (FILE:
 * the input being processed, if any), cleans up and exits with status 1.
 * Allocates nothing. */
URC_NORETURN void urc_out_of_memory(size_t bytes);

/* ---- child processes ---------------------------------------------------- */
typedef struct urc_child_opts {
    const char *log_path; /* stdout and stderr go to this file, created afresh; NULL: inherited */
    const char *tmpdir;   /* TMPDIR of the child (where a C compiler puts its temporaries) */
    const char *temps_of; /* the child may leave PATH.tmpPID.N files of this path (a checkpoint):
                             they are removed when it ends, however it ends */
} urc_child_opts;
/* Runs argv (no shell) in a process group of its own, with stdin from
 * /dev/null, and waits for it; whatever is left of its group when it ends
 * is killed. Returns the exit status, 128 + the signal that killed it, or
 * -1 with errno set if it could not be started. */
int urc_run_child(char **argv, const urc_child_opts *o);
/* A child that could not exec its program exits 127 after writing "exec errno N" as the first line of its
 * log: N from log text beginning so, else 0. */
int urc_child_exec_errno(const char *log_text);

/* ---- files and folders -------------------------------------------------- */
/* Creates a private (0700) folder $TMPDIR/PREFIXxxxxxx ($TMPDIR unset or
 * empty: /tmp), removed by urc_scratch_remove or at the latest when the
 * process ends, however it ends. NULL with *err (a static message) on
 * failure. */
char *urc_scratch_create(const char *prefix, const char **err);
/* The same in the folder `parent` (a build folder next to where its result
 * is renamed to, on the same file system). */
char *urc_scratch_create_in(const char *parent, const char *prefix, const char **err);
void urc_scratch_remove(char *dir);
/* Removes a folder and everything in it without following symbolic links
 * (a link is removed, not what it points to). */
void urc_remove_tree(const char *dir);
/* Removes the PATH.tmpPID.N files a process `pid` left (runtime/src:
 * checkpoint and .npy temporaries). */
void urc_remove_temps_of(const char *path, long pid);
/* Writes a whole new file at path: an existing entry there is replaced
 * (unlinked first, so a link or FIFO planted there is neither followed nor
 * opened), created with O_EXCL | O_NOFOLLOW and `mode`. false with *err
 * ("cannot write file: <strerror>", static) on failure; nothing is left. */
bool urc_write_new_file(const char *path, const void *data, size_t n, int mode, const char **err);

#endif
