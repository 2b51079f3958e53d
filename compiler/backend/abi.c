/* abi.c: the language-neutral parts of the generated code's ABI (abi.h). */
#include "abi.h"

#include <string.h>

void urc_abi_weights_blob(const urc_program *P, uint64_t model_hash, urc_strbuf *out) {
    unsigned char h[UNETRC_WEIGHTS_HEADER_BYTES] = {0};
    memcpy(h, UNETRC_WEIGHTS_MAGIC, 8);
    uint32_t version = UNETRC_WEIGHTS_VERSION, hsize = UNETRC_WEIGHTS_HEADER_BYTES;
    uint64_t size = (uint64_t)P->weights_bytes, sum = P->weights_checksum, mh = model_hash;
    memcpy(h + 8, &version, 4);
    memcpy(h + 12, &hsize, 4);
    memcpy(h + 16, &size, 8);
    memcpy(h + 24, &sum, 8);
    memcpy(h + 32, &mh, 8);
    urc_sb_write(out, h, sizeof h);
    if (P->weights_bytes) urc_sb_write(out, P->weights, (size_t)P->weights_bytes);
}

const char *urc_abi_macro_prefix(const char *prefix) {
    char *r = urc_strdup(prefix);
    for (char *q = r; *q; q++)
        if (*q >= 'a' && *q <= 'z') *q = (char)(*q - 'a' + 'A');
    return r;
}

const char *urc_abi_entry_macro_prefix(const char *entry) { return strcmp(entry, "forward") ? "TRAIN_" : ""; }

int64_t urc_abi_arena_size(const urc_program *P) { return P->arena_bytes ? P->arena_bytes : P->align; }
int64_t urc_abi_params_size(const urc_program *P) { return P->params_bytes ? P->params_bytes : P->align; }
int64_t urc_abi_state_size(const urc_program *P) { return P->state_bytes ? P->state_bytes : P->align; }

bool urc_abi_is_training(const urc_program *P) { return P->state_bytes > 0; }

const urc_program *urc_abi_param_program(const urc_program *const *progs, int n) {
    const urc_program *T = NULL;
    for (int i = 0; i < n; i++)
        if (progs[i]->params_bytes) T = progs[i];
    for (int i = 0; i < n; i++)
        if (urc_abi_is_training(progs[i])) T = progs[i];
    return T;
}

const urc_program *urc_abi_label_program(const urc_program *const *progs, int n) {
    const urc_program *L = NULL;
    for (int i = 0; i < n; i++)
        if (progs[i]->label_values) L = progs[i];
    return L;
}
