/* ir.h: the graph IR.
 *
 * A urc_graph is a list of urc_node in topological order. Nodes read and
 * write urc_value (SSA: each value has at most one producer). A value with
 * `data` set is a compile-time constant (an initializer or a folded result).
 * Every op is declared once in ops.def; its attributes live in a typed
 * struct inside urc_attrs (attrs.h), filled by the op's parse callback from
 * the ONNX attributes and completed by its infer callback from constant
 * inputs (e.g. Reshape's target shape).
 *
 * Shapes are static: the compiler specialises code to exact shapes. */
#ifndef URC_IR_H
#define URC_IR_H

#include "../base/base.h"

#define URC_MAX_RANK 8
#define URC_MAX_SPATIAL 3 /* Conv/Pool spatial dims are checked against this */

/* Element types, numbered as ONNX TensorProto.DataType. */
typedef enum urc_dtype {
    URC_DT_UNDEF = 0,
    URC_DT_F32 = 1,
    URC_DT_U8 = 2,
    URC_DT_I8 = 3,
    URC_DT_U16 = 4,
    URC_DT_I16 = 5,
    URC_DT_I32 = 6,
    URC_DT_I64 = 7,
    URC_DT_STRING = 8,
    URC_DT_BOOL = 9,
    URC_DT_F16 = 10,
    URC_DT_F64 = 11,
    URC_DT_U32 = 12,
    URC_DT_U64 = 13,
    URC_DT_BF16 = 16,
    URC_DT_COUNT = 17
} urc_dtype;

int urc_dtype_size(urc_dtype dt);         /* 0 when unsupported */
const char *urc_dtype_name(urc_dtype dt); /* "float32", "int64", ... */
bool urc_dtype_is_float(urc_dtype dt);    /* f16, bf16, f32, f64 */
bool urc_dtype_is_int(urc_dtype dt);      /* signed/unsigned integers (not bool) */
bool urc_dtype_is_signed(urc_dtype dt);
bool urc_dtype_supported(urc_dtype dt); /* everything but string/complex */

typedef struct urc_shape {
    int rank;
    int64_t dims[URC_MAX_RANK];
} urc_shape;

int64_t urc_shape_numel(const urc_shape *s);
bool urc_shape_eq(const urc_shape *a, const urc_shape *b);
/* "[1,16,32,32,32]" in an arena string. */
const char *urc_shape_str(const urc_shape *s);
/* Row-major strides in elements. */
void urc_shape_strides(const urc_shape *s, int64_t *strides);
/* numpy-style broadcast of a and b into out; false if incompatible. */
bool urc_shape_broadcast(const urc_shape *a, const urc_shape *b, urc_shape *out);
/* True when o broadcasts unidirectionally (numpy rules, right aligned) to y. */
bool urc_shape_bcasts_to(const urc_shape *o, const urc_shape *y);

/* A tensor with heap-owned data (the interpreter and the constant folder). */
typedef struct urc_tensor {
    urc_dtype dtype;
    urc_shape shape;
    void *data;
} urc_tensor;

urc_tensor *urc_tensor_new(urc_dtype dt, const urc_shape *s); /* zeroed data */
void urc_tensor_free(urc_tensor *t);
int64_t urc_tensor_numel(const urc_tensor *t);
size_t urc_tensor_bytes(const urc_tensor *t);
/* Element access through double / int64 (any dtype; f16 converted). */
double urc_elem_f64(urc_dtype dt, const void *data, int64_t i);
int64_t urc_elem_i64(urc_dtype dt, const void *data, int64_t i);
void urc_elem_set_f64(urc_dtype dt, void *data, int64_t i, double v);
void urc_elem_set_i64(urc_dtype dt, void *data, int64_t i, int64_t v);
/* Heap copies as double / int64 arrays (caller frees). */
double *urc_tensor_to_f64(const urc_tensor *t);
int64_t *urc_tensor_to_i64(const urc_tensor *t);
void urc_tensor_from_f64(urc_tensor *t, const double *v);
void urc_tensor_from_i64(urc_tensor *t, const int64_t *v);
/* Float to integer dtype dt as Cast and every other conversion define it
 * (docs/ops.md, "Integer semantics"): NaN gives 0, values beyond dt's range
 * (and +-inf) its minimum or maximum, the rest truncate toward zero. The
 * result is dt's value as an int64 bit pattern (uint64 above INT64_MAX
 * wraps negative, as urc_elem_i64 reads it). */
int64_t urc_f64_to_int(double v, urc_dtype dt);

/* Integer arithmetic of the reference interpreter, on int64 values (narrow
 * types are computed in int64 and wrap when stored; `uns` marks uint64
 * operands held as bit patterns). Matches what the C printer spells for the
 * generated code (backend/c/emit_c.c): two's complement wrap-around, never
 * C's undefined behaviour. x / 0 and x % 0 give 0; INT64_MIN / -1 wraps to
 * INT64_MIN and INT64_MIN % -1 is 0. */
static inline int64_t urc_wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline int64_t urc_wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static inline int64_t urc_wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
static inline int64_t urc_wrap_neg(int64_t a) { return (int64_t)((uint64_t)0 - (uint64_t)a); }
/* Division truncating toward zero (ONNX Div on integers, as C). */
static inline int64_t urc_int_div(int64_t a, int64_t b, bool uns) {
    if (b == 0) return 0;
    if (uns) return (int64_t)((uint64_t)a / (uint64_t)b);
    return b == -1 ? urc_wrap_neg(a) : a / b;
}
/* Remainder with the dividend's sign (Mod fmod=1, C's %). */
static inline int64_t urc_int_rem(int64_t a, int64_t b, bool uns) {
    if (b == 0) return 0;
    if (uns) return (int64_t)((uint64_t)a % (uint64_t)b);
    return b == -1 ? 0 : a % b;
}
/* Remainder with the divisor's sign (Mod fmod=0, Python's %). */
static inline int64_t urc_int_mod(int64_t a, int64_t b, bool uns) {
    int64_t r = urc_int_rem(a, b, uns);
    if (!uns && r != 0 && (r < 0) != (b < 0)) r += b; /* |r| < |b|: no overflow */
    return r;
}
/* a^b wrapping (square and multiply: at most 64 steps). A negative
 * exponent gives the truncated value of 1/a^|b|: 1 for a = 1, +-1 for
 * a = -1, else 0 (0 for a = 0 too, as a division by zero). */
static inline int64_t urc_int_pow(int64_t a, int64_t b, bool uns) {
    if (b < 0) {
        if (a == 1) return 1;
        if (a == -1 && !uns) return (b & 1) ? -1 : 1;
        return 0;
    }
    uint64_t r = 1, x = (uint64_t)a, e = (uint64_t)b;
    for (; e; e >>= 1, x *= x)
        if (e & 1) r *= x;
    return (int64_t)r;
}

float urc_f16_to_f32(uint16_t h);
uint16_t urc_f32_to_f16(float f);
float urc_bf16_to_f32(uint16_t h);
uint16_t urc_f32_to_bf16(float f);

#include "attrs.h"

typedef enum urc_op {
#define URC_OP(E, NAME, FAM, MININ, MAXIN, MINOUT, MAXOUT, OLDEST, TRAITS) URC_OP_##E,
#include "ops.def"
#undef URC_OP
    URC_OP_COUNT
} urc_op;

/* Value flags. */
enum {
    URC_VAL_INPUT = 1 << 0,  /* graph input, supplied by the caller */
    URC_VAL_OUTPUT = 1 << 1, /* graph output, written to the caller's buffer */
    URC_VAL_PARAM = 1 << 2,  /* initializer from the model file (a weight) */
    URC_VAL_STATE = 1 << 3,  /* training: optimizer state input (lives in the state region) */
    URC_VAL_UPDATE = 1 << 4, /* training: written over the input `updates` points to (kept by DCE) */
};

typedef struct urc_node urc_node;

typedef struct urc_value {
    int id;
    const char *name;
    urc_dtype dtype;
    urc_shape shape;
    bool has_type; /* dtype and shape are known */
    unsigned flags;
    urc_node *producer; /* NULL for inputs and constants */
    int producer_slot;
    void *data;                /* constant payload (heap), NULL if computed at run time */
    void *init;                /* a trainable parameter (an input with URC_VAL_PARAM): its initial value */
    struct urc_value *updates; /* URC_VAL_UPDATE: the parameter or state this value overwrites */
    int nuses;                 /* number of node inputs reading it (urc_graph_count_uses) */
} urc_value;

/* urc_node.exact: the operands of a bf16 product on AMX tiles that are also multiplied as their low parts, so that
 * each is carried to about 16 significant bits instead of bf16's 8: X, the data input (float32, split by the kernel
 * into bf16(x) and bf16(x - bf16(x)), both times the weights' parts); W, the constant weights (stored as two bf16
 * parts, bf16(w) and bf16(w - bf16(w)), both times the data's high part). */
#define URC_EXACT_X 1u
#define URC_EXACT_W 2u

struct urc_node {
    int id;
    const char *name; /* ONNX node name, or a generated "<OpType>_<id>" */
    urc_op op;
    int opset; /* opset version of the node's domain */
    int nin, nout;
    urc_value **in; /* in[i] may be NULL for an omitted optional input */
    urc_value **out;
    urc_attrs a;
    urc_dtype wdtype;   /* the precision pass (--precision): storage type of its constant product weights
                       * (bf16, f16, int8); UNDEF: float32. BF16 on a Cast: one the pass placed before a
                       * product's data input (bf16 pairs), which it removes again when it runs anew */
    unsigned exact;     /* --precision bf16 on AMX tiles (urc_precision_bf16_exact): URC_EXACT_X, URC_EXACT_W */
    urc_dtype ydtype;   /* the precision pass (--precision bf16): output 0 stored rounded to this type (a Cast to bf16
                       * folded into the node: urc_op_impl.bf16_store; urc_set_out gives it); UNDEF: as inferred */
    urc_value *scratch; /* arena its kernel needs while it runs (urc_op_impl.scratch; urc_memplan_scratch sets
                         * it right before the memory plan places it for this node alone), or NULL */
};

/* A graph output's type as the model declares it (its ValueInfoProto). */
typedef struct urc_decl_type {
    int dtype;                  /* ONNX elem_type; 0: not declared */
    int rank;                   /* -1: no shape declared */
    int64_t dims[URC_MAX_RANK]; /* -1: symbolic or unknown, matches any size */
    const char *shape;          /* as declared, "[N,2,3]" */
} urc_decl_type;

typedef struct urc_graph {
    URC_VEC(urc_node *) nodes; /* topological order after urc_graph_toposort */
    URC_VEC(urc_value *) values;
    URC_VEC(urc_value *) inputs;
    URC_VEC(urc_value *) outputs;
    const char *name;
    const char *producer; /* producer_name + version from the model */
    int opset;            /* default-domain opset */
    int ir_version;
    uint64_t hash;      /* FNV-1a of the model file */
    bool param_regions; /* trainable parameters (and optimizer state) live in caller
                                 * regions (params, state), not as ordinary inputs */
    urc_map by_name;    /* value name -> urc_value */
    int next_id;
    /* A training graph's label input (NULL otherwise) and the label value
     * of each of its nclasses classes: i, or --label-map's i-th value. */
    urc_value *label;
    const int64_t *label_values;
    int nclasses;
    URC_VEC(urc_decl_type) output_decls;  /* one per output as imported: checked after inference */
    URC_VEC(const char *) external_files; /* external data files read (real paths): outputs must spare them */
} urc_graph;

/* ---- op table ----------------------------------------------------------- */

/* ONNX attributes as read from the model, before an op's parse callback
 * turns them into its typed struct. Types numbered as AttributeProto. */
enum {
    URC_AT_FLOAT = 1,
    URC_AT_INT = 2,
    URC_AT_STRING = 3,
    URC_AT_TENSOR = 4,
    URC_AT_GRAPH = 5,
    URC_AT_FLOATS = 6,
    URC_AT_INTS = 7,
    URC_AT_STRINGS = 8,
};
typedef struct urc_attr {
    const char *name;
    int type;
    int64_t i;
    double f;
    const char *s;
    int n; /* element count of ints/floats/strings */
    int64_t *ints;
    double *floats;
    const char **strings;
    urc_tensor *t;
    bool used; /* set by the urc_attr_* getters */
} urc_attr;

typedef struct urc_attr_list {
    urc_attr *items;
    int len;
    const char *where; /* "node 'x' (Conv)" for messages */
    bool torch_export; /* the model's producer_name is "pytorch" (torch.onnx.export) */
} urc_attr_list;

/* Getters: return false (and report) when the attribute has the wrong type
 * or an out-of-range value; leave the default when absent. */
bool urc_attr_int(urc_attr_list *l, const char *name, int64_t def, int64_t *out);
/* A float setting (alpha, epsilon, ...): NaN or infinity is refused as
 * meaningless. urc_attr_float_any accepts them (a Constant's value). */
bool urc_attr_float(urc_attr_list *l, const char *name, double def, double *out);
bool urc_attr_float_any(urc_attr_list *l, const char *name, double def, double *out);
bool urc_attr_string(urc_attr_list *l, const char *name, const char *def, const char **out);
/* ints: *n = -1 when absent; error if more than max elements. */
bool urc_attr_ints(urc_attr_list *l, const char *name, int64_t *out, int max, int *n);
bool urc_attr_floats(urc_attr_list *l, const char *name, double *out, int max, int *n);
bool urc_attr_tensor(urc_attr_list *l, const char *name, urc_tensor **out);
bool urc_attr_has(const urc_attr_list *l, const char *name);

typedef struct urc_lower urc_lower; /* loop/lower.h */

struct urc_target; /* ../target/target.h */
/* What arena scratch a node's kernel asks for (urc_op_impl.scratch). */
typedef struct urc_scratch_req {
    int64_t count; /* elements of dt; 0: none */
    urc_dtype dt;
    bool optional; /* the kernel has a way without it: granted only where it grows the arena little */
} urc_scratch_req;

typedef struct urc_op_impl {
    /* Reads ONNX attributes into n->a. May be NULL (no attributes). */
    bool (*parse)(urc_node *n, urc_attr_list *attrs);
    /* Validates inputs and sets the outputs' dtype and shape. Constant
     * inputs that drive shapes (Reshape's shape, Slice's starts, ...) are
     * read here and stored in n->a. */
    bool (*infer)(urc_node *n);
    /* Reference semantics: naive and obviously right. Output tensors are
     * allocated by the caller with the inferred dtype and shape. */
    bool (*eval)(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out);
    /* Emits the node's loops (loop/lower.h). */
    bool (*lower)(urc_lower *L, const urc_node *n);
    /* Appends the resolved attributes for --dump-ir, e.g. " kernel=[3,3,3]".
     * May be NULL. */
    void (*print)(const urc_node *n, urc_strbuf *sb);
    /* True when the one kernel `lower` emits, and every constant it makes,
     * depend only on the node's op and attributes (n->a), its values'
     * dtypes and shapes, which inputs are constants and the values of
     * one-element constants (never on other constants' data or on names):
     * passes/lower.c then lowers one node of each such signature and gives
     * the later ones its body (UNETRC_CHECK_SHARE=1 checks the claim). */
    bool signature_lower;
    /* The node's channels-last form (passes/layout.c), or NULL when the
     * family has none: the attribute flag that selects it when this node
     * can take it (input 0 and output 0 then have the channels dimension
     * last), else NULL; *more_inputs gets the other inputs (bit j for input
     * j) the form also reads channels-last. */
    bool *(*channels_last)(urc_node *n, unsigned *more_inputs);
    /* Multiply-adds of the node (the bench's GFLOP/s and % of sgemm), or
     * NULL for a family that does none worth counting. */
    int64_t (*macs)(const urc_node *n);
    /* bf16 pair products (--precision bf16 on a target with vdpbf16ps; passes/precision.c places a Cast
     * to bfloat16 before each data input this names): the inputs (bit j for input j) that lowering reads
     * as bfloat16 pairs when node n is marked bf16 and compiled for target t, or NULL / 0 for none. */
    unsigned (*bf16_pairs)(const urc_node *n, const struct urc_target *t);
    /* The arena scratch the node's kernel needs while it runs on target t (Winograd convolutions: their
     * transformed weights, made from the stored ones at each call; urc_memplan_scratch), or NULL. */
    urc_scratch_req (*scratch)(const urc_node *n, const struct urc_target *t);
    /* int8 as integers (--precision int8; passes/precision.c): whether node n, its data inputs fake-quantised
     * as they are now, multiplies their levels as integers for target t (AMX tiles, VNNI quad products); it
     * then also takes them unquantised with
     * their steps in its xq attribute (the FakeQuant before it dropped), or NULL. */
    bool (*int8_levels)(const urc_node *n, const struct urc_target *t);
    /* bf16 output (--precision bf16; passes/precision.c): whether lowering for target t can store node n's float32
     * output 0 rounded to bfloat16 (the pass then sets n->ydtype and drops the Cast that was its only reader: one
     * pass writing half the bytes instead of a float32 write, a read and a bf16 write), or NULL. */
    bool (*bf16_store)(const urc_node *n, const struct urc_target *t);
    /* bf16 products carried near float32 (--precision bf16 on AMX; passes/precision.c urc_precision_bf16_exact):
     * the operands (URC_EXACT_X, URC_EXACT_W) whose low parts node n's tile kernel on target t can multiply too,
     * or NULL / 0 for none. */
    unsigned (*bf16_exact)(const urc_node *n, const struct urc_target *t);
    /* bf16 data read as float32 (--precision bf16; passes/precision.c): whether node n, marked bf16 and compiled
     * for target t, can round its data input j to bf16 itself when that input is float32 (the tile convolutions'
     * grid fill), so that the Cast before it can go where its float32 input stays alive anyway; with `apply` it sets
     * the node's attribute that asks for it, or NULL. */
    bool (*bf16_self_round)(urc_node *n, int j, const struct urc_target *t, bool apply);
    /* Norm statistics from the producer (passes/norm_stats.c): the number of partial sums of Y and Y^2 (per sample
     * and channel) lowering for target t can write as node n's output 1 while it stores Y (a tile convolution's
     * epilogue: a part per work item), or 0; with `apply` it records the count in n's attributes. NULL: none. */
    int64_t (*norm_stats)(urc_node *n, const struct urc_target *t, bool apply);
    /* A norm into its reader (passes/norm_into_conv.c): whether lowering for target t can apply a channels-last
     * InstanceNorm to node n's data input 0 as it reads it (the tile convolutions' grid fill), or NULL. */
    bool (*x_norm)(const urc_node *n, const struct urc_target *t);
} urc_op_impl;

/* Op traits (the last column of ops.def, which explains them). */
enum { URC_TRAIT_ELEM = 1 << 0, URC_TRAIT_INPLACE = 1 << 1, URC_TRAIT_VIEW = 1 << 2 };

typedef struct urc_op_info {
    const char *name; /* ONNX op type */
    const urc_op_impl *impl;
    int min_in, max_in, min_out, max_out;
    int oldest;      /* the oldest opset whose definition unetrc implements (ops.def); 0: internal */
    unsigned traits; /* URC_TRAIT_* (ops.def) */
} urc_op_info;

#define URC_VARIADIC 1024
extern const urc_op_info urc_ops[URC_OP_COUNT];
/* Looks up an ONNX op type in the default domain; URC_OP_COUNT if unknown. */
urc_op urc_op_lookup(const char *onnx_type);
static inline bool urc_op_has(urc_op op, unsigned trait) { return op < URC_OP_COUNT && (urc_ops[op].traits & trait); }

/* ---- graph construction and editing ------------------------------------ */

urc_graph *urc_graph_new(void);
urc_value *urc_value_new(urc_graph *g, const char *name); /* name NULL: generated */
urc_value *urc_graph_find(urc_graph *g, const char *name);
urc_node *urc_node_new(urc_graph *g, urc_op op, const char *name, int nin, int nout);
/* The one way passes build a node that computes a new value: op reading
 * in[0..nin) (NULL entries are absent optional inputs), attributes *a
 * (zero when NULL), the given opset, one output `out` (a new value when
 * NULL), appended to the graph and inferred. When inference fails (it
 * reports why) *ok becomes false; the node is returned either way. */
urc_node *urc_node_make(urc_graph *g, urc_op op, const char *name, int opset, int nin, urc_value *const *in,
                        const urc_attrs *a, urc_value *out, bool *ok);
/* urc_node_make of Transpose(x, perm) (perm: x's rank entries; opset 13). */
urc_node *urc_node_transpose(urc_graph *g, const char *name, urc_value *x, const int64_t *perm, urc_value *out,
                             bool *ok);
/* A constant value owning `t`'s data (t itself is freed). */
urc_value *urc_const_new(urc_graph *g, const char *name, urc_tensor *t);
void urc_value_set_type(urc_value *v, urc_dtype dt, const urc_shape *s);
/* Replaces every use of `from` (node inputs and graph outputs) by `to`: a
 * scan of the graph, so a pass replacing many values keeps reader lists
 * instead (passes/layout.c). */
void urc_replace_uses(urc_graph *g, urc_value *from, urc_value *to);
/* Removes nodes marked by setting node->op = URC_OP_COUNT. */
void urc_graph_compact(urc_graph *g);
/* Moves the nodes appended since the list held n0 nodes: the j-th of them
 * to just before node before[j] (a position < n0), those sharing a place in
 * the order they were appended. The stable toposort keeps them there, so a
 * pass can compute a new value right where it is needed. */
void urc_graph_place_appended(urc_graph *g, int n0, const int *before);
/* Sorts nodes topologically; reports a cycle or a dangling input. */
bool urc_graph_toposort(urc_graph *g);
void urc_graph_count_uses(urc_graph *g);
/* Per value id, a node that reads it (the last one in node order), or NULL:
 * with nuses == 1, the value's only reader. Heap array (caller frees). */
urc_node **urc_graph_readers(const urc_graph *g);
/* The only reader of v (readers: urc_graph_readers), or NULL when v is NULL, has
 * another number of readers or is a graph output. */
urc_node *urc_only_reader(urc_node *const *readers, const urc_value *v);
/* Node positions by node id, for passes that put a new node in the place of
 * an old one: a lookup instead of a scan of the list (which made such passes
 * quadratic). Node ids are unique among the listed nodes (urc_node_new takes
 * g->next_id; a sort renumbers them by position, below next_id). */
typedef struct urc_node_index {
    int *pos; /* by node id: index in g->nodes, -1 when not listed */
    int size;
} urc_node_index;
void urc_node_index_build(urc_node_index *x, const urc_graph *g);
/* n's index, or -1 when n is not at the place recorded for it (not listed,
 * or replaced). Passes record (urc_node_index_set) every node they place. */
int urc_node_index_get(const urc_node_index *x, const urc_graph *g, const urc_node *n);
void urc_node_index_set(urc_node_index *x, const urc_node *n, int pos);
/* A fusion's node: op with nin inputs (set by the caller, as are the
 * attributes; then infer), old's opset, producing old's output 0 and taking
 * old's place in the node list (pos, the pass's index, records it). old
 * itself is left for the caller to remove (urc_node_drop). */
urc_node *urc_node_in_place_of(urc_graph *g, urc_node_index *pos, urc_node *old, urc_op op, const char *name, int nin);
/* Marks n removed (urc_graph_compact drops it) and its outputs producerless. */
void urc_node_drop(urc_node *n);
void urc_node_index_free(urc_node_index *x);
/* Checks structural invariants; `pass` names the pass just run. */
bool urc_graph_verify(urc_graph *g, const char *pass);
/* Text dump (--dump-ir). */
void urc_graph_print(const urc_graph *g, urc_strbuf *sb);

/* "node 'Conv_17' (Conv)" for messages (arena string). */
const char *urc_node_where(const urc_node *n);
/* The tensor view of a constant value (no copy). */
urc_tensor urc_value_tensor(const urc_value *v);
bool urc_value_is_const(const urc_value *v);
/* Reads a constant integer input (any integer dtype) of at most max
 * elements into out; reports and returns false when it is not constant. */
bool urc_const_ints(const urc_node *n, int input, int64_t *out, int max, int *count);
/* Reads a constant scalar (or one-element tensor) as double. */
bool urc_const_scalar(const urc_node *n, int input, double *out);

#endif
