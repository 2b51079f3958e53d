/* cmd_train.h: the training commands of the CLI (cmd_train.c). */
#ifndef URC_CMD_TRAIN_H
#define URC_CMD_TRAIN_H

/* `unetrc grad ...`: argv as given to main. Returns the exit status. */
int urc_cmd_grad(int argc, char **argv);
/* `unetrc MODEL -o OUT.c --train ...` */
int urc_cmd_compile_train(int argc, char **argv);
/* `unetrc train MODEL --data DIR ...` */
int urc_cmd_train(int argc, char **argv);

#endif
