/* onnx_import.h: ONNX ModelProto -> graph IR. */
#ifndef URC_ONNX_IMPORT_H
#define URC_ONNX_IMPORT_H

#include "graph_builder.h"

#define URC_OPSET_MIN 11
#define URC_OPSET_MAX 18
/* Loads a model. Returns NULL after reporting through urc_error (every
 * problem found, e.g. all unsupported ops). */
urc_graph *urc_onnx_load(const char *path, const urc_import_opts *opts);

/* Reads a serialized TensorProto (.pb) as in ONNX's backend test data. */
urc_tensor *urc_onnx_load_tensor(const char *path, uint64_t max_bytes);

#endif
