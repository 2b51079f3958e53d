/* norm_internal.h: what the normalisation family's files share (norm.c: parsing, inference, the reference, the
 * LayerNorm, channels-first and naive kernels; norm_cl.c: the channels-last kernel of Instance/Group/BatchNorm and
 * FusedNorm). */
#ifndef URC_OPS_NORM_INTERNAL_H
#define URC_OPS_NORM_INTERNAL_H

#include "../loop/lower.h"
#include "common.h"

/* The normalisation a node computes (FusedNorm: its base op). */
static inline urc_op base_op(const urc_node *n) { return n->op == URC_OP_FUSED_NORM ? (urc_op)n->a.norm.base : n->op; }

/* X as (N, C, S) [channels-first] or (N, S, C) [channels-last]; G groups of
 * cpg channels (InstanceNorm and BatchNorm: G = C). */
typedef struct geom {
    int64_t N, C, S, G, cpg;
    bool cl;
    bool per_group; /* scale/bias indexed by group */
} geom;

/* Whether input i is given (optional inputs are NULL). */
static inline bool present(const urc_node *n, int i) { return i < n->nin && n->in[i]; }

static inline urc_lx *bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_bin(op, a, b); }
static inline urc_lx *f64(urc_lx *e) { return urc_lx_cast(URC_DT_F64, e); }
static inline urc_lx *var(const urc_kernel *k, int v) { return urc_lx_var(k, v); }
static inline urc_lx *dlit(double v) { return urc_lx_flt(v, URC_DT_F64); }
static inline urc_lx *ilit(int64_t v) { return urc_lx_int(v); }

/* What a kernel computes per element once m, a, b are known:
 *   y = post(act((x - m) * a + b) + r),  r = R[i] or (x2 - m2) * a2 + b2. */
typedef struct epilogue {
    urc_act act, post;
    double act_alpha, post_alpha;
    int residual;  /* 0, 1 (buffer br), 2 (buffer bx2 with m2, a2, b2), 3 (the value r3: norm_cl.c pw_apply) */
    int br;        /* R or X2 */
    urc_dtype ydt; /* F32, or BF16: Y rounded as it is stored */
    urc_fq q;      /* scale > 0: Y fake-quantised as it is stored (ops/quant.h) */
    urc_lx *r3;    /* residual 3 */
} epilogue;

/* The parameters of one normalisation inside a kernel. */
typedef struct normp {
    const urc_value *x, *scale, *bias, *mean, *var;
    double eps;
} normp;

/* Element idx of an input: a literal for one-element constants, else a load from a buffer named hint (pload: as
 * float64). */
urc_lx *urc_norm_param(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint, urc_lx *idx);
urc_lx *urc_norm_pload(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint, urc_lx *idx);
/* BatchNorm coefficients of channel c as declared dt locals m, a, b. */
void urc_norm_bn_coeffs(urc_lower *L, urc_kernel *k, urc_ls *body, const normp *p, urc_lx *c, urc_dtype dt, int *mab);
/* Node n's epilogue (its residual's buffer declared in k). */
epilogue urc_norm_epilogue(urc_lower *L, urc_kernel *k, const urc_node *n);
/* The value stored at index idx; m/a/b (and m2/a2/b2) are expressions. The activations (ops/activation.c) declare
 * their locals in `at`. */
urc_lx *urc_norm_value(urc_kernel *k, urc_ls *at, const epilogue *e, int bx, urc_lx *idx, urc_lx *const *mab,
                       urc_lx *const *mab2);

/* norm_cl.c: the local array bytes the channels-last kernel needs, and the kernel (X (N, S, C)). */
int64_t urc_norm_cl_local_bytes(const urc_lower *L, const geom *g, bool stats, int nnorm, urc_dtype dt);
bool urc_norm_lower_cl(urc_lower *L, const urc_node *n, const geom *g, const normp *np, int nnorm);

#endif
