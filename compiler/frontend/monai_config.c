/* monai_config.c: MONAI configs (monai_config.h). */
#include "monai_config.h"

#include "../base/diag.h"

urc_graph *urc_config_load(const char *path, const urc_import_opts *opts) {
    (void)path;
    (void)opts;
    urc_error(NULL, "MONAI configs are not supported yet");
    return NULL;
}
