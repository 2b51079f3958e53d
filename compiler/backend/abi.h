/* abi.h: the parts of the generated code's ABI that do not depend on the
 * language a backend prints (docs/abi.md): the weights blob (its format is
 * defined once, in runtime/include/unetrc.h, for the compiler and the
 * runtime), the macro prefix of the header, the entry points' macro
 * prefixes, and which of several programs holds the parameter regions and
 * the label. The entry points' status codes are the runtime's
 * (UNETRC_OK, UNETRC_ERR_NULL, _ALIGN, _INDEX, _LABEL in unetrc.h). */
#ifndef URC_ABI_H
#define URC_ABI_H

#include "../loop/loop.h"
#include "unetrc.h"

/* The weights blob of P: the 64-byte header (UNETRC_WEIGHTS_MAGIC, version,
 * header size, payload size, payload checksum, model hash) and the payload. */
void urc_abi_weights_blob(const urc_program *P, uint64_t model_hash, urc_strbuf *out);

/* The header's macro prefix for a symbol prefix: "seg" -> "SEG" (SEG_OK, ...). */
const char *urc_abi_macro_prefix(const char *prefix);
/* The macro prefix of an entry point's sizes: "" for forward, "TRAIN_" for
 * train_step (SEG_TRAIN_ARENA_SIZE). */
const char *urc_abi_entry_macro_prefix(const char *entry);

/* The sizes the header declares (SEG_ARENA_SIZE, SEG_PARAMS_SIZE,
 * SEG_STATE_SIZE): a region of no bytes is declared as one alignment unit,
 * so that callers never allocate 0 bytes. A checkpoint holds exactly the
 * params and state sizes. */
int64_t urc_abi_arena_size(const urc_program *P);
int64_t urc_abi_params_size(const urc_program *P);
int64_t urc_abi_state_size(const urc_program *P);

/* A program with parameter regions takes them after the weights: read-only
 * for inference, read-write with the optimizer state for a training step. */
bool urc_abi_is_training(const urc_program *P);
/* Of n programs sharing one blob: the one whose parameter table the code
 * carries (a training step, else one with parameter regions), or NULL. */
const urc_program *urc_abi_param_program(const urc_program *const *progs, int n);
/* ... the one with a label input (a training step or a gradient graph), or NULL. */
const urc_program *urc_abi_label_program(const urc_program *const *progs, int n);

#endif
