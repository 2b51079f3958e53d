/* spatial.h: helpers shared by the ops over spatial windows (conv.c,
 * pool.c): attribute parsing and checking, and small loop builders. */
#ifndef URC_OPS_SPATIAL_H
#define URC_OPS_SPATIAL_H

#include "common.h"

/* auto_pad: NOTSET, SAME_UPPER, SAME_LOWER or VALID. */
bool urc_sp_parse_auto_pad(urc_attr_list *l, urc_auto_pad *out);
/* Checks a per-axis attribute list: its length (when present: count >= 0)
 * and that every value is at least `min`; fills `def` when absent. */
bool urc_sp_axis_list(const urc_node *n, const char *name, int64_t *v, int count, int want, int64_t min, int64_t def);

static inline urc_lx *urc_sp_i(int64_t v) { return urc_lx_int(v); }
static inline urc_lx *urc_sp_max(urc_lx *a, urc_lx *b) { return urc_lx_bin(URC_L_MAX, a, b); }
static inline urc_lx *urc_sp_min(urc_lx *a, urc_lx *b) { return urc_lx_bin(URC_L_MIN, a, b); }
/* a / b for b > 0 (truncating: callers clamp where that differs from floor) */
static inline urc_lx *urc_sp_div(urc_lx *a, int64_t b) { return b == 1 ? a : urc_lx_bin(URC_L_DIV, a, urc_lx_int(b)); }

/* A scalar int64 local initialised to e (or e itself when it is a literal). */
urc_lx *urc_sp_let(urc_kernel *k, urc_ls *body, const char *name, urc_lx *e);
/* Appends `for (v = lo; v < hi; v++)` to *body and moves *body into it. */
urc_lx *urc_sp_range_loop(urc_kernel *k, urc_ls **body, const char *name, urc_lx *lo, urc_lx *hi);
/* A loop over [0, extent); extent 1 emits nothing and gives the literal 0.
 * With par non-NULL the loop joins the parallel group: the first one gets
 * URC_FOR_PARALLEL, each later (perfectly nested) one widens its collapse. */
urc_lx *urc_sp_dim_loop(urc_kernel *k, urc_ls **body, const char *name, int64_t extent, urc_ls **par);

/* The geometry of a pooling window op (pool.c, poolgrad.c), channels-first;
 * unused spatial axes (beyond nsp, up to 3) have extent 1. */
typedef struct urc_pool_geo {
    int nsp;
    int64_t N, C, NC;
    int64_t in[3], out[3], K[3], s[3], d[3], pb[3], pe[3];
} urc_pool_geo;
/* From the attributes and the channels-first input and output shapes. */
urc_pool_geo urc_pool_geometry(const urc_pool_attr *a, const urc_shape *x, const urc_shape *y);
/* Axis a (for local names) at output position o: the taps whose input o*s - pb + k*d
 * lies in [0, in) are [*lo, *hi); *cnt is how many taps the average divides
 * by. Bounds are computed (as locals) only where some window crosses them:
 *   lo = max(0, ceil((pb - o*s) / d)),  hi = min(K, ceil((in + pb - o*s) / d))
 * and for count_include_pad the taps inside [-pb, in + pe), which start at 0:
 *   cnt = min(K, ceil((in + pe + pb - o*s) / d)) */
void urc_sp_taps(urc_kernel *k, urc_ls *body, const urc_pool_geo *g, int a, bool incl, urc_lx *o, urc_lx **lo,
                 urc_lx **hi, urc_lx **cnt);

/* ---- channels-last layout (the layout pass's `channels_last` flag) ----
 * X [N, S..., C] instead of ONNX's [N, C, S...]. */
/* [N, S..., C] -> [N, C, S...] and back. */
urc_shape urc_sp_to_first(const urc_shape *cl);
urc_shape urc_sp_to_last(const urc_shape *cf);
/* A new copy (urc_xmalloc) of the elements v of a tensor whose
 * channels-first shape is cf, moved to the other layout: to_first reads
 * channels-last data and writes channels-first, else the reverse. */
double *urc_sp_relayout(const double *v, const urc_shape *cf, bool to_first);
/* Linear index into a buffer of shape s from per-dim indices given in
 * channels-first order idx = {n, c, s0, s1, ...}; s is channels-last when
 * cl (the channel index then goes last). */
urc_lx *urc_sp_index(const urc_lx *const *idx, const urc_shape *s, bool cl);

#endif
