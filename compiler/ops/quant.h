/* quant.h: unetrc.FakeQuant's arithmetic (ops/quant.c), shared with the norms that store a fake-quantised
 * output (ops/norm.c: a FakeQuant folded into a FusedNorm by the precision pass). */
#ifndef URC_OPS_QUANT_H
#define URC_OPS_QUANT_H

#include "common.h"

/* scale * clamp(round_half_even(x / scale), lo, hi) in float32 (urc_fq), the interpreter's. */
float urc_fake_quant(float x, urc_fq q);
/* The same of a float32 expression, for kernels (the same bits). */
urc_lx *urc_fake_quant_lx(urc_lx *x, urc_fq q);
/* Its level: clamp(round_half_even(x / scale), lo, hi), a float32 expression (NaN stays NaN). */
urc_lx *urc_fake_quant_level(urc_lx *x, urc_fq q);
/* The level less lo as the uint8 the int8 kernels multiply (0 to hi - lo <= 255; NaN: 0), a plain conversion of a value
 * known in range, which vectorises (a saturating one is a branch per element). */
urc_lx *urc_fake_quant_u8(urc_lx *x, urc_fq q);
/* Whether value x is fake-quantised (a unetrc.FakeQuant's output, or a FusedNorm's that stores it so), and its
 * steps; the AMX int8 kernels multiply its levels. */
bool urc_fq_of(const urc_value *x, urc_fq *q);
/* Whether q is a FakeQuant's: a positive finite scale, lo <= 0 <= hi, hi - lo <= 255. */
bool urc_fq_valid(urc_fq q);
/* " NAME=scale" and, unless symmetric [-127, 127], "[lo,hi]" (dumps). */
void urc_fq_print(urc_strbuf *sb, const char *name, urc_fq q);

#endif
