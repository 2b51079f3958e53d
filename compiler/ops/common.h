/* common.h: what every op family file includes, plus small helpers for
 * the parse/infer/eval/lower callbacks (see urc_op_impl in ir/ir.h).
 *
 * Conventions for op implementations:
 * - infer validates everything a model can get wrong (ranks, dtypes,
 *   attribute ranges, constant inputs) and reports with urc_error(where, ...)
 *   where `where` is urc_node_where(n); it never asserts on user input.
 * - eval is the reference: naive loops, float math in double, integer math
 *   in int64, one rounding on store. Optional outputs may be NULL.
 * - lower emits loops with the builders of loop/loop.h; it may assume infer
 *   succeeded. */
#ifndef URC_OPS_COMMON_H
#define URC_OPS_COMMON_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "../interp/interp.h"
#include "../ir/ir.h"
#include "../loop/lower.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifndef M_SQRT1_2
#define M_SQRT1_2 0.70710678118654752440
#endif

/* dtype classes for urc_check_dtype */
enum {
    URC_DTM_FLOAT = 1 << 0, /* f16, bf16, f32, f64 */
    URC_DTM_SINT = 1 << 1,  /* int8..int64 */
    URC_DTM_UINT = 1 << 2,  /* uint8..uint64 */
    URC_DTM_BOOL = 1 << 3,
    URC_DTM_NUM = URC_DTM_FLOAT | URC_DTM_SINT | URC_DTM_UINT,
    URC_DTM_ALL = URC_DTM_NUM | URC_DTM_BOOL,
};
bool urc_dtype_in(urc_dtype dt, unsigned mask);
/* Reports unless input i is present and its dtype is in mask. */
bool urc_check_dtype(const urc_node *n, int i, unsigned mask);
/* Reports unless inputs i and j have the same dtype. */
bool urc_check_same_dtype(const urc_node *n, int i, int j);
/* Reports unless input i has a rank in [lo, hi]. */
bool urc_check_rank(const urc_node *n, int i, int lo, int hi);
/* Normalises a possibly negative axis against rank; reports if out of range. */
bool urc_norm_axis(const urc_node *n, int64_t axis, int rank, int64_t *out);
/* Sets output j's type (no-op for an omitted optional output). */
void urc_set_out(urc_node *n, int j, urc_dtype dt, const urc_shape *s);
/* The generated code handles float16/bfloat16 only as storage: ops that
 * compute on them are rejected with this (returns false). */
bool urc_reject_half(const urc_node *n, int i);

/* Loops over dims[0..n) (extent-1 dims get no loop, index 0), indices in
 * idx[]. With `parallel` the outermost loop is PARALLEL, collapsed with the
 * next when it alone has few iterations; with `simd` the innermost gets
 * SIMD. Returns the innermost body. */
urc_ls *urc_dim_loops(urc_kernel *k, urc_ls *parent, const int64_t *dims, int n, urc_lx **idx, bool parallel,
                      bool simd);

/* One parallel loop over every element of shape s, in row-major order (an
 * elementwise kernel over flat buffers); its index in *i. Returns the body. */
urc_ls *urc_flat_loop(urc_kernel *k, const urc_shape *s, urc_lx **i);

/* Printing helpers for the print callback. */
void urc_print_ints(urc_strbuf *sb, const char *name, const int64_t *v, int n);

#endif
