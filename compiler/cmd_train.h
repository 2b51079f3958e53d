/* cmd_train.h: the training commands of the CLI (cmd_train.c). */
#ifndef URC_CMD_TRAIN_H
#define URC_CMD_TRAIN_H

#include "base/base.h"

/* Shared by every command (main.c): a usage error ("unetrc: usage error:
 * ... (see unetrc --help)", exit 2), and a failure for FILE with `msg`, or
 * the recorded diagnostics when msg is NULL (one line, control characters
 * made spaces; temporary outputs removed; exit 1). */
_Noreturn void urc_cli_usage_error(const char *fmt, ...) URC_PRINTF(1, 2);
_Noreturn void urc_cli_fail(const char *file, const char *msg);
/* The symbol prefix rules of the compile commands (main.c): whether s is a C
 * identifier, and the default prefix for output file `out` (its stem made
 * an identifier: "9x.c" -> m_9x). */
bool urc_cli_valid_ident(const char *s);
const char *urc_cli_default_name(const char *out);

/* `unetrc grad ...`: argv as given to main. Returns the exit status. */
int urc_cmd_grad(int argc, char **argv);
/* `unetrc MODEL -o OUT.c --train ...` */
int urc_cmd_compile_train(int argc, char **argv);
/* `unetrc train MODEL --data DIR ...` */
int urc_cmd_train(int argc, char **argv);

#endif
