/* monai_config.h: a MONAI network from its JSON config (a bundle's
 * `network_def`, or a top-level object with `_target_`) and its state_dict
 * in safetensors (--weights) -> graph IR, through the graph builder. */
#ifndef URC_MONAI_CONFIG_H
#define URC_MONAI_CONFIG_H

#include "graph_builder.h"

/* Loads a config; NULL after reporting every problem found. */
urc_graph *urc_config_load(const char *path, const urc_import_opts *opts);

#endif
