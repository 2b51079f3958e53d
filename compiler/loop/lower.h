/* lower.h: what an op's lower callback uses to emit its kernel
 * (implemented in loop/lower.c).
 *
 * The lowering pass (passes/lower.c) walks the graph in order; for each node
 * urc_lower_node calls urc_ops[op].impl->lower(L, node). The callback starts a kernel
 * with urc_lower_begin, binds the node's values as buffer parameters and
 * appends loops to k->body. Values the memory plan made views of their
 * input (Reshape and friends) need no kernel: see urc_lower_is_view. */
#ifndef URC_LOWER_H
#define URC_LOWER_H

#include "../target/target.h"
#include "loop.h"

/* Where every value lives: made by passes/memplan.c (urc_memplan_run),
 * read by the builders below. */
typedef struct urc_memplan {
    urc_mref *ref; /* per value id */
    bool *placed;  /* per value id: ref is valid */
    bool *view;    /* per node position: output aliases input 0 (no code) */
    bool *inplace; /* per node position: output overwrites one of its inputs */
    int64_t arena_bytes;
    int64_t lower_bound;
    int64_t total_bytes;  /* sum of all arena buffers (no reuse) */
    int64_t params_bytes; /* g->param_regions: size of the params region */
    int64_t state_bytes;  /* and of the optimizer state region */
    int nbuffers;
    const char *strategy; /* the placement order that won */
} urc_memplan;

/* What the generated code is tuned for (--target-cpu, --vector-bits). The
 * code stays portable C; these only choose tile shapes. */
/* urc_target: ../target/target.h */

struct urc_lower {
    urc_program *prog;
    urc_graph *g;
    urc_memplan *plan;
    const urc_target *target;
    int64_t weights_cap; /* bytes allocated for prog->weights (grown geometrically) */
    urc_node_index pos;  /* node positions (urc_lower_is_view) */
    int nkernels;
    int nconsts;
    struct urc_share *share;  /* constants by content, bodies shared by key (urc_lower_reuse) */
    struct urc_sigmemo *sigs; /* bodies shared by signature (urc_lower_node) */
};

/* A context lowering graph g under plan into program P; with `share`, P's
 * weights blob continues share's (its offsets stay valid, equal constants
 * are stored once) and kernel names do not collide with share's. finish
 * frees what init allocated (P keeps what it was given). */
void urc_lower_init(urc_lower *L, urc_program *P, urc_graph *g, urc_memplan *plan, const urc_target *target,
                    const urc_program *share);
void urc_lower_finish(urc_lower *L);
/* Lowers node n (its op's lower callback, or the body of an earlier node
 * of the same signature when the op allows). False after reporting. */
bool urc_lower_node(urc_lower *L, const urc_node *n);
/* A C-style identifier from a name: lower case, '_' for runs of other
 * characters, at most 40 characters ("t" when nothing is left). */
const char *urc_lower_ident(const char *s);

/* A constant built at compile time (pre-packed weights, tap tables): it goes
 * into the weights blob and is bound to k as an input buffer. `data` is
 * copied. Returns the buffer index. */
int urc_lower_const(urc_lower *L, urc_kernel *k, const char *hint, urc_dtype dt, int64_t count, const void *data);

/* Reduced-precision weights (--precision; passes/precision.c marks the
 * nodes). The storage dtype of node n's constant weights: n->wdtype (bf16,
 * f16, int8) or float32. */
urc_dtype urc_lower_wdtype(const urc_node *n);
/* The float32 weights (in[1]'s elements, in its order) a packer reads for
 * node n: in[1]'s data, or for int8 the quantised values q (integers in
 * [-127, 127], urc_precision_quantize) that urc_lower_wconst stores as
 * int8 and the kernel multiplies by their output channel's scale. */
const float *urc_lower_wdata(urc_lower *L, const urc_node *n);
/* int8: binds the per-output-channel scales of n's weights as a float32
 * constant Sp[j] = s[j % channels] for the accumulator columns j < valid
 * (0 for j in [valid, cols)); -1 when n's weights are not int8. */
int urc_lower_wscale(urc_lower *L, urc_kernel *k, const urc_node *n, int64_t cols, int64_t valid);
/* w times Sp[col] (bs from urc_lower_wscale), or w when bs < 0. */
urc_lx *urc_lower_wscaled(const urc_kernel *k, urc_lx *w, int bs, urc_lx *col);
/* urc_lower_const for the float32 weights `data` of node n (read from
 * urc_lower_wdata), packed as the kernel reads them, stored as
 * urc_lower_wdtype(n) (rounded to nearest, ties to even; NaN stays NaN;
 * int8: converted exactly). Load them with urc_lower_wload. */
int urc_lower_wconst(urc_lower *L, urc_kernel *k, const urc_node *n, const char *hint, int64_t count,
                     const float *data);
/* Binds v, node n's weights as they are: urc_lower_in, or for the float32
 * constant of a node with reduced weights a converted copy of it (a new
 * buffer at each call: bind it once per kernel). */
int urc_lower_win(urc_lower *L, urc_kernel *k, const urc_node *n, const urc_value *v, const char *hint);
/* Element idx of weights buffer b as dtype dt (converted from a reduced
 * storage dtype; the load itself when b holds dt). */
urc_lx *urc_lower_wload(const urc_kernel *k, int b, urc_lx *idx, urc_dtype dt);

/* bfloat16 pair products. With --precision bf16 on a CPU with AVX512-BF16 (the target's features) the
 * product kernels that support it round their data operand to bfloat16 too and multiply pairs along
 * the reduction with URC_LX_DOT2 (vdpbf16ps): true when node n's kernels do (n's weights are bf16,
 * the target has the instruction: urc_target_dot2). */
bool urc_lower_dot2(const urc_lower *L, const urc_node *n);
/* The low bf16 parts of count float32 weights (urc_node.exact URC_EXACT_W): w - bf16(w) in a new array, which a
 * packing rounds to bf16 in turn (the two parts then carry about 16 significant bits). */
float *urc_lower_wlow(const float *w, int64_t count);
/* Binds the float32 packed weights data[o][r][j] (o < outer, r < K, j < cols; K even) as their
 * bfloat16 pairs along r, a uint32 constant P[o][r/2][j] = bf16(data[o][r][j]) | bf16(data[o][r+1][j])
 * << 16 (rounded to nearest even), the operand of URC_LX_DOT2. */
int urc_lower_wpairs(urc_lower *L, urc_kernel *k, const char *hint, int64_t outer, int64_t K, int64_t cols,
                     const float *data);

/* Starts the kernel of node n; it becomes the next call of the program. */
urc_kernel *urc_lower_begin(urc_lower *L, const urc_node *n);
/* Binds a graph value as an input (read-only) or output buffer of k.
 * Binding the same value twice returns the same index. */
int urc_lower_in(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint);
int urc_lower_out(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint);
/* Either, by role (an output bound earlier as an input becomes an output). */
int urc_lower_bind(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint, urc_kbuf_role role);
/* Element idx of value v as an expression: a literal when v is a constant
 * with one element (or when every element of a constant is equal and
 * `splat` is true), otherwise a load from its bound buffer. */
urc_lx *urc_lower_load(urc_lower *L, urc_kernel *k, const urc_value *v, urc_lx *idx);
/* Sharing bodies. An op whose body is a function of a key (shapes,
 * attributes, tile choices, literals it inlines: plain integers, never
 * pointers or graph names) binds every buffer parameter first, then asks
 *
 *     if (urc_lower_reuse(L, k, n, key, nkey)) return true;
 *     ... build k->body ...
 *     urc_lower_remember(L, k);
 *
 * reuse gives k the body, variables and local arrays of an earlier kernel
 * of the same op and key whose parameters (names, dtypes, sizes, roles,
 * aliasing) equal k's, and returns true; else it notes the key for
 * remember. remember keeps k's body for later nodes unless the body bound
 * more parameters after the reuse call. With UNETRC_CHECK_SHARE=1 in the
 * environment reuse never shares: every body is built and compared with
 * the one it would have got, and a difference is a compiler bug (abort). */
bool urc_lower_reuse(urc_lower *L, urc_kernel *k, const urc_node *n, const int64_t *key, int nkey);
void urc_lower_remember(urc_lower *L, urc_kernel *k);
/* True when the memory plan placed n's output on its input (no code). */
bool urc_lower_is_view(const urc_lower *L, const urc_node *n);
/* A plain copy kernel from value src to value dst of equal size (used by
 * views that could not alias, e.g. a Reshape producing a graph output). */
bool urc_lower_copy(urc_lower *L, const urc_node *n, const urc_value *src, const urc_value *dst);

#endif
