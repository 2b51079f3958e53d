/* quant.h: unetrc.FakeQuant's arithmetic (ops/quant.c), shared with the norms that store a fake-quantised
 * output (ops/norm.c: a FakeQuant folded into a FusedNorm by the precision pass). */
#ifndef URC_OPS_QUANT_H
#define URC_OPS_QUANT_H

#include "common.h"

/* scale * clamp(round_half_even(x / scale), -127, 127) in float32, the interpreter's. */
float urc_fake_quant(float x, float scale);
/* The same of a float32 expression, for kernels (the same bits). */
urc_lx *urc_fake_quant_lx(urc_lx *x, float scale);

#endif
