/* diag.h: user-facing diagnostics.
 *
 * Every problem found in a user's input is recorded with urc_error(where,
 * fmt, ...). Passes keep going where they can, so one run reports every
 * unsupported op or bad attribute of a model. The CLI prints all recorded
 * problems as a single line:
 *   unetrc: error: FILE: WHERE: WHAT; WHERE: WHAT; ...
 * "where" names the node and op type when there is one:
 *   node 'Conv_17' (Conv)   */
#ifndef URC_DIAG_H
#define URC_DIAG_H

#include "base.h"

void urc_diag_reset(const char *file); /* starts a new input file */
const char *urc_diag_file(void);
/* Frees every recorded message and the joined line (before urc_heap_release). */
void urc_diag_release(void);
void urc_error(const char *where, const char *fmt, ...) URC_PRINTF(2, 3);
void urc_verror(const char *where, const char *fmt, va_list ap);
int urc_error_count(void);
/* How many recorded problems are compiler bugs, not input errors: those
 * whose format starts with "internal:" (the verifier's findings after a
 * pass, kernel preconditions). The fuzz harness treats them as crashes. */
int urc_internal_error_count(void);
/* The recorded problems joined into one line (without the prefix), or NULL. */
const char *urc_diag_message(void);
/* An arena copy of s with control characters (newlines, escapes) made
 * spaces, so that what a file or its name contains cannot break the
 * one-line error or drive the terminal. */
const char *urc_diag_one_line(const char *s);
/* Prints "unetrc: error: FILE: ..." to stderr if anything was recorded. */
void urc_diag_print(void);

/* Verbose notes (--verbose) go to stderr, one per line. */
extern int urc_verbose;
void urc_note(const char *fmt, ...) URC_PRINTF(1, 2);

#endif
