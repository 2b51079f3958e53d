/* emit_c_prelude.h: the start of every generated C file (emit_c_prelude.c); internal to the C backend. */
#ifndef URC_EMIT_C_PRELUDE_H
#define URC_EMIT_C_PRELUDE_H

#include "../../loop/loop.h"
#include "../../base/base.h"

/* The prelude's optional parts, which the printer's intrinsic loops need: whether the programs hold
 * bf16 pair products (dot2), float16 weight conversions (f16), stores of floats rounded to bfloat16
 * (bf16: the Casts before pair products, Winograd's transformed inputs) or int8/bf16 loads widened to
 * float32 (widen: the weights of --precision int8 and bf16), int8 quad products (dot4). */
typedef struct urc_c_needs {
    bool dot2, f16, bf16, widen, dot4;
    bool u8;  /* stores of uint8 levels (int8 tile kernels' grids, urc_c_narrows_u8) */
    bool amx; /* tile statements (loop.h URC_LS_TILE) */
} urc_c_needs;
/* Whether e widens an int8 or bfloat16 load to float32 (a Cast; the printer spells vector loops of them
 * with AVX2 intrinsics). */
bool urc_c_widens(const urc_lx *e);
/* Whether e rounds a float32 to bfloat16 (a Cast; the printer spells its vector stores with vcvtneps2bf16). */
bool urc_c_rounds_bf16(const urc_lx *e);
/* Whether e converts a float32 known to lie in [0, 255] to uint8 (an `inrange` Cast: int8 levels; the printer spells
 * its vector stores with vpmovdb). */
bool urc_c_narrows_u8(const urc_lx *e);
/* Sets the flags of what programs progs[0..n) hold. */
void urc_c_prelude_needs(const urc_program *const *progs, int n, urc_c_needs *need);
/* Appends the prelude for P (its index width) to out. */
void urc_c_prelude(const urc_program *P, urc_strbuf *out, const urc_c_needs *need);

#endif
