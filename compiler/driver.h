/* driver.h: the compilation pipeline as an ordered list of named passes.
 *
 *   import -> order -> infer(+fold) -> dce -> einsum -> infer -> dce
 *          -> memplan -> lower -> emit (backend/c)
 *
 * Each graph pass is followed by the verifier, lowering by the loop-IR
 * verifier; --dump-after=PASS prints the IR after a pass (--dump-ir after
 * the last one), --dump-loops the loop IR. */
#ifndef URC_DRIVER_H
#define URC_DRIVER_H

#include "frontend/onnx_import.h"
#include "loop/loop.h"
#include "passes/memplan.h"

typedef struct urc_options {
    urc_import_opts import;
    const char *dump_after; /* pass name, or NULL */
    bool dump_ir;           /* after the last graph pass */
    bool dump_loops;        /* print the loop IR after lowering (--dump-loops) */
    bool no_fold;
    bool no_opt;                        /* skip fusion and layout passes (-O0): the plain graph */
    int align;                          /* arena/weights alignment in bytes */
    urc_target target;                  /* --target-cpu / --vector-bits (name NULL: host) */
    bool float_only;                    /* --float-only: no float64 arithmetic in float32 kernels */
    const struct urc_train_opts *train; /* training graph (loss, gradients), or NULL */
    urc_program *share;                 /* lower into a copy of this program's weights blob (NULL: new) */
    bool param_regions;                 /* trainable parameters live in the caller's params region */
    urc_dtype precision;                /* --precision: storage type of product weights (UNDEF: float32) */
    const char *const *keep_fp32;       /* --keep-fp32 globs: nodes kept in float32 */
    int nkeep_fp32;
    bool reduce_head;      /* --reduce-head: the output head's weights reduced too (default: float32) */
    int bf16_exact;        /* --bf16-exact: URC_EXACT_X / URC_EXACT_W (ir.h), the operands that bf16 products on AMX
                            * tiles may carry near float32 (urc_precision_bf16_exact); 0: none */
    const char *calibrate; /* --calibrate DIR (--precision int8): .npy samples of the model's input */
} urc_options;

/* Loads a model with the frontend its file name picks (.json: a MONAI
 * config, compiler/frontend/monai_config.h; anything else: ONNX); NULL after
 * reporting every problem found. */
urc_graph *urc_load_graph(const char *path, const urc_options *o);
/* Runs the graph passes; false after reporting. */
bool urc_optimise_graph(urc_graph *g, const urc_options *o);
/* Both: loads and optimises a model; NULL after reporting. */
urc_graph *urc_build_graph(const char *path, const urc_options *o);
/* Plans memory and lowers to loops; NULL after reporting. */
urc_program *urc_build_program(urc_graph *g, const char *name, const urc_options *o, urc_memplan **plan_out);
/* The name of pass i of the pass table in order ("import", "order", ...),
 * NULL past the last (--dump-after and its help). */
const char *urc_pass_name(int i);

/* --calibrate DIR's contents as a key (the .npy files' names and bytes
 * hashed, not the directory's path; the segment cache's key). */
const char *urc_calibration_key(const char *dir);

/* Model statistics for `unetrc info`. */
typedef struct urc_stats {
    int64_t macs;
    int64_t params; /* elements of initializers still used */
    int64_t param_bytes;
    int nodes;
    int op_count[URC_OP_COUNT];
} urc_stats;
void urc_graph_stats(const urc_graph *g, urc_stats *s);

#endif
