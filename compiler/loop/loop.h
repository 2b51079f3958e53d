/* loop.h: the loop-level representation.
 *
 * Lowering turns each graph node into a urc_kernel: a function over flat
 * buffers whose body is a tree of statements (for/if/store/scalar locals)
 * over typed scalar expressions. A urc_program is the list of kernels and
 * the calls that bind their buffer parameters to memory (arena, weights,
 * caller inputs/outputs). Backends print a program: the C backend as C
 * text (backend/c), and later an LLVM backend as IR. Nothing here knows
 * about C syntax.
 *
 * Index arithmetic uses URC_DT_I64 expressions, evaluated at the program's
 * index_bits (decided once, by the lowering pass, for every backend). */
#ifndef URC_LOOP_H
#define URC_LOOP_H

#include "../ir/ir.h"
#include "../target/target.h"

typedef enum urc_lop {
    /* unary */
    URC_L_NEG,
    URC_L_ABS,
    URC_L_SQRT,
    URC_L_EXP,
    URC_L_LOG,
    URC_L_ERF,
    URC_L_TANH,
    URC_L_FLOOR,
    URC_L_CEIL,
    URC_L_RINT, /* round half to even */
    URC_L_SIN,
    URC_L_COS,
    URC_L_TAN,
    URC_L_ASIN,
    URC_L_ACOS,
    URC_L_ATAN,
    URC_L_SINH,
    URC_L_COSH,
    URC_L_ASINH,
    URC_L_ACOSH,
    URC_L_ATANH,
    URC_L_LOG1P,
    URC_L_EXPM1,
    URC_L_BITS_F32, /* the bits of an int32 read as a float32 (float32 result) */
    URC_L_NOT,      /* logical not, bool result */
    URC_L_ISNAN,    /* bool result */
    URC_L_ISINF,    /* bool result; sign selection done with comparisons */
    /* binary */
    URC_L_ADD,
    URC_L_SUB,
    URC_L_MUL,
    URC_L_DIV, /* integer DIV truncates */
    URC_L_MOD, /* integer: sign of the divisor (Python); float: fmod */
    URC_L_REM, /* integer: C remainder; float: fmod */
    /* Integer ops have the semantics of docs/ops.md ("Integer semantics"),
     * never C's undefined behaviour: ADD/SUB/MUL/NEG/ABS/POW wrap around,
     * DIV/REM/MOD by 0 give 0 (INT_MIN / -1 wraps, INT_MIN % -1 is 0), and a
     * CAST from float to integer saturates (NaN gives 0). The printer spells
     * this safely unless the expression is marked `inrange`. */
    URC_L_POW,
    URC_L_MIN,
    URC_L_MAX, /* MIN/MAX propagate NaN */
    URC_L_SHL,
    URC_L_SHR, /* unsigned integers; a shift by the type's width or more gives 0 */
    URC_L_LT,
    URC_L_LE,
    URC_L_GT,
    URC_L_GE,
    URC_L_EQ,
    URC_L_NE, /* bool results */
    URC_L_AND,
    URC_L_OR,
    URC_L_XOR, /* logical, on bools */
    URC_L_COUNT
} urc_lop;

bool urc_lop_is_unary(urc_lop op);
bool urc_lop_is_compare(urc_lop op); /* result is bool */

typedef enum urc_lx_kind {
    URC_LX_INT,  /* integer literal (i) */
    URC_LX_FLT,  /* floating literal (f) */
    URC_LX_VAR,  /* scalar variable (var) */
    URC_LX_LOAD, /* buf[a] */
    URC_LX_UN,   /* op(a) */
    URC_LX_BIN,  /* op(a, b) */
    URC_LX_SEL,  /* a ? b : c */
    URC_LX_CAST, /* (dt)a */
    URC_LX_FMA,  /* a*b + c (floats); may be one fused operation (added for conv kernels) */
    URC_LX_ADDR, /* &buf[a]: the address of an element, only as an argument of a call statement */
    URC_LX_PAIR, /* the bfloat16 elements buf[a] and buf[a + 1] of a bf16 buffer, or the uint8 elements
                  * buf[a .. a + 3] of a uint8 buffer, as one uint32, buf[a] in the low bits (an operand of
                  * DOT2, or DOT4's a) */
    URC_LX_DOT2, /* c + a.hi*b.hi + a.lo*b.lo: a, b uint32 pairs of bfloat16 (lo: bits 0-15), c float32;
                  * two fused multiply-adds, the high halves first: x86's vdpbf16ps lane for lane, bit
                  * for bit (which also treats subnormal inputs and results as zero) */
    URC_LX_DOT4, /* c + a.u8[0]*b.s8[0] + ... + a.u8[3]*b.s8[3]: a uint32 of four uint8 (byte i: bits 8i to
                  * 8i + 7), b a uint32 of four int8, c int32, the sum wrapping around in int32: x86's
                  * vpdpbusd lane for lane (int8 levels, --precision int8) */
} urc_lx_kind;

typedef struct urc_lx {
    urc_lx_kind kind;
    urc_dtype dt;
    bool inrange; /* BIN/UN/CAST: the builder knows the value is representable (index arithmetic:
                       * no wrap, no division by 0 or -1, a float CAST operand finite and in range),
                       * so backends may use the machine's plain operators */
    urc_lop op;
    int64_t i;
    double f;
    int var;
    int buf;
    struct urc_lx *a, *b, *c;
} urc_lx;

typedef enum urc_ls_kind {
    URC_LS_BLOCK,   /* list */
    URC_LS_FOR,     /* for (var = lo; var < hi; var += step) body */
    URC_LS_IF,      /* if (cond) body else els */
    URC_LS_STORE,   /* buf[idx] = val, or += when accum */
    URC_LS_DECL,    /* declares scalar var = val (scoped to the enclosing block) */
    URC_LS_ASSIGN,  /* var = val */
    URC_LS_COMMENT, /* text */
    URC_LS_ARRAY,   /* declares local array buf (kind URC_KB_LOCAL) here, scoped to the
                     * enclosing block: inside a parallel loop each thread has its own */
    URC_LS_FAIL,    /* returns from the kernel: a value read at run time is out of range
                     * (the entry point then returns PREFIX_ERR_INDEX). Never inside a
                     * parallel loop; put the checks before any store. */
    URC_LS_CALL,    /* text(args...): a call of an external C-ABI function returning
                     * nothing (a micro-kernel of the runtime or of the user); arguments
                     * are scalars or element addresses (URC_LX_ADDR). The callee may
                     * write through the address of an output buffer only. */
    URC_LS_TILE,    /* an operation on the x86 AMX tile registers (tile_op; tiles.h) */
} urc_ls_kind;

/* AMX tile operations (URC_LS_TILE). Tiles 0-7 hold up to 16 rows of up to 64 bytes, shaped by the
 * last CONFIG of the enclosing blocks (inside the same parallel loop: the shapes and the registers are
 * per thread). Strides and indices count elements of the buffer. */
typedef enum urc_tile_op {
    URC_TILE_CONFIG,  /* args: rows and bytes per row of tiles 0-7 (16 integer literals; 0 rows: unused) */
    URC_TILE_ZERO,    /* tile[0] = 0 */
    URC_TILE_LOAD,    /* row r of tile[0] = the row's bytes at buf[idx + r*val] */
    URC_TILE_STORE,   /* the bytes at buf[idx + r*val] = row r of tile[0] */
    URC_TILE_DPBF16,  /* tile[0] (float32 [m][n]) += tile[1] (bfloat16 [m][2k]) . tile[2] (bfloat16 pairs [k][n][2]):
                       * tdpbf16ps */
    URC_TILE_DPBUSD,  /* tile[0] (int32 [m][n]) += tile[1] (uint8 [m][4k]) . tile[2] (int8 quads [k][n][4]): tdpbusd
                       * (32-bit sums, wrapping: callers keep them in range) */
    URC_TILE_RELEASE, /* the tile state back to its initial (unconfigured) state */
} urc_tile_op;

/* Loop flags (hints to backends). */
enum {
    URC_FOR_PARALLEL = 1 << 0, /* iterations independent: may run on threads */
    URC_FOR_SIMD = 1 << 1,     /* iterations independent: may vectorise */
    URC_FOR_UNROLL = 1 << 2,   /* constant trip count: unroll fully */
    URC_FOR_VECTOR = 1 << 3,   /* vector lanes: the backend asks for SIMD (omp simd); the
                                * body must have no loop-carried dependence */
};

typedef struct urc_ls {
    urc_ls_kind kind;
    int var;
    urc_lx *lo, *hi;
    int64_t step;
    unsigned flags;
    int collapse; /* PARALLEL: number of perfectly nested loops to share out */
    struct urc_ls *body, *els;
    urc_lx *cond;
    int buf;
    urc_lx *idx, *val;
    bool accum;
    URC_VEC(struct urc_ls *) list;
    const char *text;
    URC_VEC(urc_lx *) args; /* CALL; TILE CONFIG: the shapes */
    urc_tile_op tile_op;    /* TILE */
    int tile[3];            /* TILE: the tiles operated on (see urc_tile_op) */
} urc_ls;

typedef enum urc_kbuf_role {
    URC_KB_IN,    /* read only */
    URC_KB_OUT,   /* written (may also be read) */
    URC_KB_LOCAL, /* scratch array local to the kernel (count elements); declared at the
                     * top of the kernel unless a URC_LS_ARRAY statement places it */
} urc_kbuf_role;

typedef struct urc_kbuf {
    const char *name;
    urc_dtype dt;
    int64_t count; /* elements */
    urc_kbuf_role role;
    const urc_value *value; /* the graph value bound to this parameter, if any */
    bool placed;            /* LOCAL: declared by a URC_LS_ARRAY statement */
    bool may_alias;         /* shares memory with another parameter (in-place): no restrict */
} urc_kbuf;

typedef struct urc_kvar {
    const char *name;
    urc_dtype dt;
} urc_kvar;

typedef struct urc_kernel {
    const char *name;    /* unique C-identifier-safe name */
    const char *comment; /* one line: op, node name, shapes */
    URC_VEC(urc_kbuf) bufs;
    URC_VEC(urc_kvar) vars;
    urc_ls *body;  /* a BLOCK */
    bool can_fail; /* the body holds URC_LS_FAIL: the kernel reports success or failure */
} urc_kernel;

/* Where a kernel argument lives at run time. */
typedef enum urc_mem_space {
    URC_MEM_ARENA,
    URC_MEM_WEIGHTS,
    URC_MEM_INPUT,
    URC_MEM_OUTPUT,
    URC_MEM_PARAMS, /* training: the caller's trainable parameters region */
    URC_MEM_STATE,  /* training: the caller's optimizer state region */
} urc_mem_space;
typedef struct urc_mref {
    urc_mem_space space;
    int64_t offset; /* bytes, ARENA/WEIGHTS */
    int index;      /* INPUT/OUTPUT: position in the entry point's parameters */
} urc_mref;

typedef struct urc_call {
    urc_kernel *k;
    urc_mref *args; /* one per kernel buffer that is not LOCAL */
} urc_call;

typedef struct urc_io {
    const char *name;  /* ONNX name */
    const char *cname; /* C identifier */
    urc_dtype dt;
    urc_shape shape;
} urc_io;

/* One constant in the weights blob. */
typedef struct urc_wentry {
    const char *name;
    urc_dtype dt;
    int64_t offset; /* bytes */
    int64_t count;  /* elements */
} urc_wentry;

/* A trainable parameter or optimizer state tensor in its region. */
typedef struct urc_pentry {
    const char *name;
    urc_dtype dt;
    int64_t offset; /* bytes in the params or state region */
    int64_t count;  /* elements */
    bool state;     /* in the state region */
} urc_pentry;

typedef struct urc_program {
    const char *name;  /* prefix of generated symbols */
    urc_target target; /* what the kernels are tuned for (provenance) */
    URC_VEC(urc_kernel *) kernels;
    URC_VEC(urc_call) calls;
    URC_VEC(urc_io) inputs;
    URC_VEC(urc_io) outputs;
    int64_t arena_bytes;
    int64_t arena_lower_bound;  /* the largest simultaneously live set */
    int64_t intermediate_bytes; /* sum of every planned intermediate */
    int64_t weights_bytes;
    unsigned char *weights;       /* payload, weights_bytes long */
    URC_VEC(urc_wentry) wentries; /* what the payload holds, in offset order */
    uint64_t weights_checksum;    /* FNV-1a 64 of the payload */
    int64_t max_buf_elems;        /* largest buffer */
    int index_bits;               /* 32 or 64: the width of index arithmetic every backend uses (the
                                   * lowering pass: 32 when every buffer has fewer than 2^30 elements) */
    int align;                    /* bytes, for arena and weights */
    int64_t macs;                 /* multiply-accumulates of one forward */
    URC_VEC(urc_pentry) regions;  /* trainable parameters and state (g->param_regions) */
    int64_t params_bytes, state_bytes;
    int64_t params_init_offset; /* weights blob offset of the parameters' initial values
                                     * (laid out as the params region), -1 if none */
    int64_t params;             /* parameter elements */
    /* A training program's label input (index into inputs) and the label
     * value of each of its nclasses classes (label_values NULL: no label):
     * the entry point refuses labels that are none of them. */
    int label_input;
    const int64_t *label_values;
    int nclasses;
} urc_program;

/* ---- building expressions (arena-allocated; small integer folding) ---- */
urc_lx *urc_lx_int(int64_t v);
urc_lx *urc_lx_flt(double v, urc_dtype dt);
/* A literal of dtype dt with value v (integer dtypes round toward zero). */
urc_lx *urc_lx_const(double v, urc_dtype dt);
urc_lx *urc_lx_var(const urc_kernel *k, int var);
urc_lx *urc_lx_load(const urc_kernel *k, int buf, urc_lx *idx);
urc_lx *urc_lx_un(urc_lop op, urc_lx *a);
urc_lx *urc_lx_bin(urc_lop op, urc_lx *a, urc_lx *b);
urc_lx *urc_lx_sel(urc_lx *cond, urc_lx *a, urc_lx *b);
/* a*b + c for float dtypes: the C printer emits a fused multiply-add where the
 * compiler says it is fast (FP_FAST_FMA[F]), else a*b + c. ISO C modes of gcc
 * (-std=c11) never contract a*b + c themselves (-ffp-contract=off). */
urc_lx *urc_lx_fma(urc_lx *a, urc_lx *b, urc_lx *c);
urc_lx *urc_lx_cast(urc_dtype dt, urc_lx *a); /* no-op when same dtype */
/* The pair buf[idx], buf[idx + 1] of a bfloat16 buffer, or the quad buf[idx .. idx + 3] of a uint8 one, as a
 * uint32 (URC_LX_PAIR). */
urc_lx *urc_lx_pair(const urc_kernel *k, int buf, urc_lx *idx);
/* c + a.hi*b.hi + a.lo*b.lo on bfloat16 pairs a, b (uint32), float32 c (URC_LX_DOT2). Backends print a
 * vector loop (URC_FOR_VECTOR) of such stores as vdpbf16ps where the target has AVX512-BF16. */
urc_lx *urc_lx_dot2(urc_lx *a, urc_lx *b, urc_lx *c);
/* c + the four products of a's uint8 and b's int8 bytes, int32 c (URC_LX_DOT4). Backends print a vector loop
 * of such stores as vpdpbusd where the target has AVX512-VNNI (or AVX-VNNI). */
urc_lx *urc_lx_dot4(urc_lx *a, urc_lx *b, urc_lx *c);
/* &buf[idx], for a call statement's argument (dtype: the buffer's). */
urc_lx *urc_lx_addr(const urc_kernel *k, int buf, urc_lx *idx);
/* Marks e `inrange` (see urc_lx) and returns it: for index computations
 * the caller has bounded, e.g. a float clamped before it is cast to an
 * index. Nothing checks the claim: a wrong mark is undefined behaviour in
 * the generated C. */
urc_lx *urc_lx_inrange(urc_lx *e);
/* Shorthands for index arithmetic (fold integer literals: x*1, x+0, 2*3
 * ...). Integer results are marked `inrange`: use them only on indices and
 * sizes, which the shape cap keeps far from overflow (base.h), never on
 * values of the model's tensors (urc_lx_bin wraps those). */
urc_lx *urc_add(urc_lx *a, urc_lx *b);
urc_lx *urc_sub(urc_lx *a, urc_lx *b);
urc_lx *urc_mul(urc_lx *a, urc_lx *b);
urc_lx *urc_addi(urc_lx *a, int64_t b);
urc_lx *urc_muli(urc_lx *a, int64_t b);

/* ---- analysis (backends' vector loops) ----------------------------------- */
/* Whether e reads variable v. */
bool urc_lx_uses_var(const urc_lx *e, int v);
/* Whether e is (something without v) + v: an index that steps by one element with v (a lane). */
bool urc_lx_unit_stride(const urc_lx *e, int v);

/* ---- building statements ------------------------------------------------ */
urc_ls *urc_ls_block(void);
void urc_ls_push(urc_ls *block, urc_ls *s);
/* Appends `for (var = lo; var < hi; var += step)` to parent and returns its
 * (empty) body block. */
urc_ls *urc_ls_for(urc_ls *parent, int var, urc_lx *lo, urc_lx *hi, int64_t step, unsigned flags);
/* Appends `if (cond)`; returns the then-block; *els (if non-NULL) gets an else-block. */
urc_ls *urc_ls_if(urc_ls *parent, urc_lx *cond, urc_ls **els);
void urc_ls_store(urc_ls *parent, int buf, urc_lx *idx, urc_lx *val);
void urc_ls_accum(urc_ls *parent, int buf, urc_lx *idx, urc_lx *val); /* += */
void urc_ls_decl(urc_ls *parent, int var, urc_lx *init);
/* A new scalar variable (named after hint) declared with init; returns it. */
int urc_ls_let(urc_kernel *k, urc_ls *parent, const char *hint, urc_dtype dt, urc_lx *init);
void urc_ls_assign(urc_ls *parent, int var, urc_lx *val);
void urc_ls_comment(urc_ls *parent, const char *text);
/* Declares local array `buf` (from urc_kernel_local) at this point. */
void urc_ls_array(urc_ls *parent, urc_kernel *k, int buf);
/* Appends a URC_LS_FAIL (k then reports failure to its caller). */
void urc_ls_fail(urc_ls *parent, urc_kernel *k);
/* Appends a call of the external function fn (a C identifier) with nargs
 * arguments (see URC_LS_CALL). */
void urc_ls_call(urc_ls *parent, const char *fn, int nargs, urc_lx *const *args);

/* A tile statement (URC_LS_TILE): tiles t0..t2 (unused ones -1), for LOAD/STORE the element buf[idx]
 * and the row stride (elements), for CONFIG the 16 shape literals. Lowering builds these through
 * tiles.h, which emulates them with loops on targets without AMX. */
urc_ls *urc_ls_tile(urc_ls *parent, urc_tile_op op, int t0, int t1, int t2);
/* Whether a statement tree holds a tile statement (its kernel needs AMX). */
bool urc_ls_has_tiles(const urc_ls *s);

/* ---- kernels -------------------------------------------------------------- */
urc_kernel *urc_kernel_new(const char *name, const char *comment);
int urc_kernel_var(urc_kernel *k, const char *hint, urc_dtype dt);
/* Declares a parameter buffer; returns its index. */
int urc_kernel_buf(urc_kernel *k, const char *hint, urc_dtype dt, int64_t count, urc_kbuf_role role,
                   const urc_value *value);
/* Declares a local scratch array of `count` elements. */
int urc_kernel_local(urc_kernel *k, const char *hint, urc_dtype dt, int64_t count);

/* ---- structural hash and equality ---------------------------------------
 * Over every field a backend prints except a kernel's name and comment:
 * kernels equal here print the same code. Bodies are compared node by node
 * (a body shared by two kernels compares equal at once). */
uint64_t urc_ls_hash(const urc_ls *s, uint64_t h);
uint64_t urc_kernel_head_hash(const urc_kernel *k); /* buffers, variables, can_fail */
bool urc_kbuf_eq(const urc_kbuf *a, const urc_kbuf *b);
bool urc_kernel_eq(const urc_kernel *a, const urc_kernel *b);

/* ---- text and checks (print.c, verify.c) ------------------------------ */
const char *urc_lop_name(urc_lop op);
void urc_kernel_print(const urc_kernel *k, urc_strbuf *sb);
/* Every kernel (a shared body once), then every call with its arguments. */
void urc_program_print(const urc_program *P, urc_strbuf *sb);
/* --float-only (float_only.c): the float64 arithmetic of kernels whose
 * parameters hold no float64 tensor (statistics, sums) becomes float32.
 * Returns how many kernels had some. */
int urc_program_float_only(urc_program *P);
/* Clears the parallel flag of loops with too little work to repay a
 * parallel region (schedule.c). */
void urc_program_schedule(urc_program *P);
/* Structural checks (verify.c); false after reporting an internal error. */
bool urc_kernel_verify(const urc_kernel *k);
bool urc_program_verify(const urc_program *P);

/* ---- common loop shapes ------------------------------------------------- */
/* Appends a nest of for-loops over every dim of s to parent (outermost dim
 * first), stores the loop variables in iv[0..rank-1] and returns the
 * innermost body. A rank-0 shape returns parent itself. `flags` go on the
 * outermost loop (e.g. URC_FOR_PARALLEL) and URC_FOR_SIMD on the innermost. */
urc_ls *urc_loop_nest(urc_kernel *k, urc_ls *parent, const urc_shape *s, int *iv, unsigned flags);
/* Row-major linear index of per-dim index expressions idx[0..rank-1] in s. */
urc_lx *urc_index(const urc_lx *const *idx, const urc_shape *s);
/* Linear index into an operand of shape o broadcast (numpy rules, right
 * aligned) to the full shape, given the loop variables over full. */
urc_lx *urc_index_bcast(const urc_kernel *k, const int *iv, const urc_shape *full, const urc_shape *o);
/* Linear index of loop variables iv over shape s. */
urc_lx *urc_index_vars(const urc_kernel *k, const int *iv, const urc_shape *s);

#endif
