/* backend_c.c: the C backend as a urc_backend (../backend.h). */
#include <string.h>

#include "emit_c.h"
#include "run_c.h"

static bool c_emit(const urc_program *const *progs, const char *const *entries, int n, const urc_emit_opts *o,
                   urc_emitted *out) {
    const char *h = o->header_path ? o->header_path : urc_fmt("%s.h", o->prefix), *slash = strrchr(h, '/');
    urc_c_opts co = {.prefix = o->prefix,
                     .header_name = slash ? slash + 1 : h,
                     .source_name = o->source_name,
                     .command = o->command,
                     .model_hash = o->model_hash,
                     .opset = o->opset,
                     .embed_weights = o->embed_weights};
    urc_emit_c_source_multi(progs, entries, n, &co, &out->code);
    urc_emit_c_header_multi(progs, entries, n, &co, &out->header);
    if (!o->embed_weights) urc_abi_weights_blob(progs[n - 1], o->model_hash, &out->weights);
    return true;
}

const urc_backend urc_backend_c = {
    .name = "c", .code_suffix = ".c", .emit = c_emit, .build = urc_c_build, .run = urc_c_run};
