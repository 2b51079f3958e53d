/* norm_apply.h: a channels-last InstanceNorm applied by another kernel as it reads the norm's X (norm_cl.c; the tile
 * convolutions' grid fill, urc_conv_attr xn: passes/norm_into_conv.c), with the norm kernel's own arithmetic. */
#ifndef URC_OPS_NORM_APPLY_H
#define URC_OPS_NORM_APPLY_H

#include "../loop/lower.h"

/* Emits into k's body the norm's coefficients of every sample from the statistics bst ([N, P, 2, C] float64, the sums
 * of X and X^2 in P parts) as float32 locals mab[0..2] = m, a, b [N*C] (sample n's from n*C): x (N samples of S
 * positions) normalised with epsilon eps, scale and bias (C each). */
void urc_norm_apply_coeffs(urc_lower *L, urc_kernel *k, const urc_value *x, const urc_value *scale,
                           const urc_value *bias, int bst, int64_t P, double eps, int mab[3]);
/* The value the norm stores for X's element idx (buffer bx) of channel ci of the coefficients (sample n*C + c):
 * act((x - m) * a + b) rounded to bf16 (dt URC_DT_BF16), or float32 (URC_DT_F32: an int8 convolution's fill then
 * quantises it); the activation's locals declared in `at`. */
urc_lx *urc_norm_apply_value(urc_kernel *k, urc_ls *at, urc_act act, double alpha, int bx, urc_lx *idx,
                             const int mab[3], urc_lx *ci, urc_dtype dt);

#endif
