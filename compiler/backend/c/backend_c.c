/* backend_c.c: the C backend as a urc_backend (../backend.h). */
#include <string.h>

#include "emit_c.h"
#include "run_c.h"

urc_c_opts urc_c_opts_of(const urc_emit_opts *o) {
    const char *h = o->header_path ? o->header_path : urc_fmt("%s.h", o->prefix), *slash = strrchr(h, '/');
    return (urc_c_opts){.prefix = o->prefix,
                        .header_name = slash ? slash + 1 : h,
                        .source_name = o->source_name,
                        .command = o->command,
                        .model_hash = o->model_hash,
                        .opset = o->opset,
                        .embed_weights = o->embed_weights};
}

void urc_c_emit_header_and_blob(const urc_program *const *progs, const char *const *entries, int n,
                                const urc_emit_opts *o, urc_emitted *out) {
    urc_c_opts co = urc_c_opts_of(o);
    urc_emit_c_header_multi(progs, entries, n, &co, &out->header);
    if (!o->embed_weights) urc_abi_weights_blob(progs[n - 1], o->model_hash, &out->weights);
}

static bool c_emit(const urc_program *const *progs, const char *const *entries, int n, const urc_emit_opts *o,
                   urc_emitted *out) {
    urc_c_opts co = urc_c_opts_of(o);
    urc_emit_c_source_multi(progs, entries, n, &co, &out->code);
    urc_c_emit_header_and_blob(progs, entries, n, o, out);
    return true;
}

const urc_backend urc_backend_c = {
    .name = "c", .code_suffix = ".c", .emit = c_emit, .build = urc_c_build, .run = urc_c_run};
