/* conv_wino.h: the Winograd F(2x2x2, 3x3x3) and F(2x2, 3x3) kernels for
 * channels-last convolutions (conv_wino.c), called by conv.c's lowering. */
#ifndef URC_OPS_CONV_WINO_H
#define URC_OPS_CONV_WINO_H

#include "spatial.h"

/* What conv.c knows about one channels-last float32 convolution with a
 * 3x3x3 (nd 3) or 3x3 (nd 2: axis 0 has extent 1 and one tap) kernel,
 * stride 1, dilation 1, one group and constant weights. */
typedef struct urc_wino_conv {
    const urc_node *n;
    int nd;
    int64_t N, C, M; /* batch, input channels (all parts), output channels */
    int64_t in[3], out[3], pb[3];
    int nx; /* X parts (channel concatenation) */
    const urc_value *x[URC_CONV_MAX_PARTS];
    const urc_value *w, *b, *r, *y; /* W [M, C, 3, 3, 3] constant, or run-time [3, 3, 3, C, M] (w_last);
                                     * bias, residual: NULL if absent */
} urc_wino_conv;

/* Emits c as a Winograd kernel into k and returns true, or returns false
 * (having bound nothing) when it would not pay off: too few channels or a
 * tile that does not fit the per-thread scratch budget. */
bool urc_conv_winograd(urc_lower *L, urc_kernel *k, const urc_wino_conv *c);

/* Elements of U for C input and M output channels, out_w output columns and nd axes on target tg (the
 * scratch U is made into at each call): float32, or with bf16 pairs (pairs: the node's products are bf16
 * pairs) uint32 pairs along the input channels where the kernel takes them (urc_wino_pairs), the type in
 * *dt; 0 when the Winograd kernel would not take the convolution (wrt: W read at run time, which needs
 * whole blocks of output channels). */
int64_t urc_wino_u_count(int64_t C, int64_t M, int64_t out_w, int nd, const urc_target *tg, bool pairs, bool wrt,
                         urc_dtype *dt);

/* Whether Winograd multiplies bf16 pairs (when the node's products are bf16 pairs at all) for C input and
 * M output channels: C >= 32 and M >= 16. With fewer, rounding V to bfloat16 costs about what the shorter
 * products save. conv_direct.c leaves those convolutions to Winograd (no Cast before them). */
bool urc_wino_pairs(int64_t C, int64_t M);

/* The epilogue activation of a convolution (conv.c). */
urc_lx *urc_conv_act(urc_kernel *k, urc_ls *at, const urc_conv_attr *a, urc_lx *x);

#endif
