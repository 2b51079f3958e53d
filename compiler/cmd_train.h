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
/* --input-shape NAME=D0,D1,... (a usage error when malformed). */
#include "frontend/graph_builder.h"
urc_input_pin urc_cli_parse_pin(const char *arg);
const char *urc_cli_default_name(const char *out);

/* The output files of one command and the files it reads (main.c). Each
 * has a description for messages: outputs "--output 'y.npy'", inputs "the
 * model". Refused as usage errors: two outputs naming one file (however
 * spelled), an output that would replace an input (paths.h), and an output
 * name that, with the temporary file's suffix, exceeds the folder's limit
 * (checked up front rather than failing when the temporary file is made). */
typedef struct urc_cli_file {
    const char *path, *what;
} urc_cli_file;
void urc_cli_check_outputs(const urc_cli_file *outs, int nout, const urc_cli_file *ins, int nin);
/* The files of `-o OUT.c`: OUT.c, OUT.h and (unless embedded) OUT.weights;
 * returns how many. */
int urc_cli_compile_outputs(const char *out_c, bool embed, urc_cli_file outs[3]);
/* urc_cli_check_outputs against the external data files g's import read. */
struct urc_graph;
void urc_cli_check_external(const struct urc_graph *g, const urc_cli_file *outs, int nout);

/* Prints the help of one command ("compile", "run", "info", "bench",
 * "--train", "grad", "train"), or of all for NULL or any other name, to
 * stdout and exits 0 (cli_help.c). */
_Noreturn void urc_cli_help(const char *cmd);

/* `unetrc grad ...`: argv as given to main. Returns the exit status. */
int urc_cmd_grad(int argc, char **argv);
/* `unetrc MODEL -o OUT.c --train ...` */
int urc_cmd_compile_train(int argc, char **argv);
/* `unetrc train MODEL --data DIR ...` */
int urc_cmd_train(int argc, char **argv);

#endif
