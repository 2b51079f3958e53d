/* onnx_import.h: ONNX ModelProto -> graph IR. */
#ifndef URC_ONNX_IMPORT_H
#define URC_ONNX_IMPORT_H

#include "../ir/ir.h"

#define URC_OPSET_MIN 11
#define URC_OPSET_MAX 18
/* Default cap on the bytes of a model file, of any one tensor and of any
 * value the compiler creates (--max-bytes raises it). */
#define URC_DEFAULT_MAX_BYTES ((uint64_t)4 << 30)

typedef struct urc_input_pin {
    const char *name;
    urc_shape shape;
} urc_input_pin;

/* An input replaced by a constant (--freeze-input name=file.npy): shape
 * inputs of a model become known at compile time. */
typedef struct urc_frozen_input {
    const char *name;
    const urc_tensor *value;
} urc_frozen_input;

typedef struct urc_import_opts {
    const urc_input_pin *pins; /* --input-shape name=d0,d1,... */
    int npins;
    const urc_frozen_input *frozen;
    int nfrozen;
    uint64_t max_bytes;
    /* Training: a float initializer for which trainable(name) is true becomes
     * a graph input flagged URC_VAL_PARAM with its value in `init`, so that
     * nothing folds it and gradients can flow to it. */
    bool (*trainable)(const char *name, void *ctx);
    void *trainable_ctx;
} urc_import_opts;

/* Loads a model. Returns NULL after reporting through urc_error (every
 * problem found, e.g. all unsupported ops). */
urc_graph *urc_onnx_load(const char *path, const urc_import_opts *opts);

/* Reads a serialized TensorProto (.pb) as in ONNX's backend test data. */
urc_tensor *urc_onnx_load_tensor(const char *path, uint64_t max_bytes);

#endif
