/* graph_builder.h: the one place a frontend turns what it read into graph IR.
 *
 * A frontend (ONNX, MONAI config) reads its format and calls these in order:
 * begin, initializers, inputs, end_inputs, nodes, outputs, finish. The
 * builder applies the policy every frontend shares: initializers become
 * constant parameters unless the trainable predicate makes them run-time
 * parameters; inputs get their shape from the declaration, --input-shape
 * pins or a frozen value (which also makes them constants); pins and frozen
 * inputs naming nothing are reported; nodes are checked for their op's input
 * and output counts, parsed, and attributes no parse read are reported.
 *
 * Every problem goes through urc_error and the build keeps going, so one run
 * lists all of them; urc_gb_finish says whether there were any. */
#ifndef URC_GRAPH_BUILDER_H
#define URC_GRAPH_BUILDER_H

#include "../ir/ir.h"

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

/* Import options, the same for every frontend. */
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
    const char *weights; /* --weights FILE: a config frontend's parameters (NULL: none) */
    uint64_t init_seed;  /* --init SEED: a config frontend's parameters made up as PyTorch would (0: none) */
} urc_import_opts;

/* An input's type as the model declares it. rank -1: no shape declared;
 * rank may exceed URC_MAX_RANK (reported), dims beyond it are not read.
 * sym[d] non-NULL: dimension d is symbolic (its name, or "?"). */
typedef struct urc_gb_decl {
    urc_dtype dtype;
    int rank;
    int64_t dims[URC_MAX_RANK];
    const char *sym[URC_MAX_RANK];
} urc_gb_decl;

typedef struct urc_gb {
    urc_graph *g;
    const urc_import_opts *opts;
    bool ok;
    bool compacted; /* the node list has been compacted (outputs started) */
    int noutputs;   /* outputs listed */
} urc_gb;

/* A frontend's input file, whole (heap; NULL after reporting the reason
 * where `where`, NULL: the model file). */
void *urc_gb_read_file(const char *where, const char *path, size_t *size, uint64_t max_bytes);

/* Starts a graph (urc_gb_finish hands it over). */
void urc_gb_begin(urc_gb *b, const urc_import_opts *opts);

/* An initializer (a weight). load is called only when the name is new; it
 * returns the tensor (owned by the graph from then on) or NULL after
 * reporting. Returns the value, or NULL after reporting. */
urc_value *urc_gb_initializer(urc_gb *b, const char *name, urc_tensor *(*load)(void *ctx), void *ctx);
/* The same with a tensor at hand (taken over). */
urc_value *urc_gb_weight(urc_gb *b, const char *name, urc_tensor *t);
/* A constant that is not a parameter of the model (a shape, a made-up
 * scale): never trainable. */
urc_value *urc_gb_constant(urc_gb *b, const char *name, urc_tensor *t);

/* A graph input. A name that is already a constant or parameter is skipped
 * (true). read_type fills the declared type, or reports and returns false;
 * it is called after the name has been checked. */
bool urc_gb_input(urc_gb *b, const char *name, bool (*read_type)(void *ctx, const char *where, urc_gb_decl *d),
                  void *ctx);
/* After the inputs: pins and frozen inputs that name no input. */
bool urc_gb_end_inputs(urc_gb *b);

/* A node of op (URC_OP_COUNT: an unknown op, wired to keep checking the
 * rest and dropped at the end) named name, of ONNX op type `type`, reading
 * in[nin] (NULL or "": an omitted input) and writing out[nout] (NULL or ""
 * : no output). Reports outputs produced twice. */
urc_node *urc_gb_node(urc_gb *b, urc_op op, const char *type, const char *name, int nin, const char *const *in,
                      int nout, const char *const *out);
/* "node 'name' (type)": where a node's problems are reported. */
const char *urc_gb_where(const urc_node *n, const char *type);
/* The op's input and output counts. */
bool urc_gb_arity(urc_gb *b, urc_node *n, const char *type);
/* Parses attrs into the node and reports attributes nothing read. */
bool urc_gb_parse(urc_gb *b, urc_node *n, urc_attr_list *attrs);
/* All of it for a node of a known op type: node, arity, parse. attrs may be
 * NULL (no attributes); attrs->where is set here. Returns the node's first
 * output value, or NULL after reporting. */
urc_value *urc_gb_add(urc_gb *b, const char *type, const char *name, int nin, const char *const *in, int nout,
                      const char *const *out, urc_attr_list *attrs);

/* A graph output (decl: its declared type, or NULL: none). */
bool urc_gb_output(urc_gb *b, const char *name, const urc_decl_type *decl);

/* Ends the build: the graph, or NULL if anything was reported. */
urc_graph *urc_gb_finish(urc_gb *b);

#endif
