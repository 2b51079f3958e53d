/* cmd_train.h: the training commands of the CLI (cmd_train.c). Each takes
 * the command line as parsed by urc_cli_parse (cli.h) and returns the exit
 * status. */
#ifndef URC_CMD_TRAIN_H
#define URC_CMD_TRAIN_H

#include "cli.h"

/* `unetrc grad MODEL --input X.npy --label L.npy --out DIR ...` */
int urc_cmd_grad(urc_cli *c);
/* `unetrc MODEL -o OUT.c --train ...` */
int urc_cmd_compile_train(urc_cli *c);
/* `unetrc train MODEL --data DIR ...` */
int urc_cmd_train(urc_cli *c);

#endif
