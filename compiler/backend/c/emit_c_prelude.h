/* emit_c_prelude.h: the start of every generated C file (emit_c_prelude.c); internal to the C backend. */
#ifndef URC_EMIT_C_PRELUDE_H
#define URC_EMIT_C_PRELUDE_H

#include "../../loop/loop.h"
#include "../../base/base.h"

/* Whether programs progs[0..n) hold bf16 pair products (dot2) or float16 weight conversions (f16): the
 * prelude's optional parts, which the printer's intrinsic loops need. Sets the flags it finds. */
void urc_c_prelude_needs(const urc_program *const *progs, int n, bool *dot2, bool *f16);
/* Appends the prelude for P (its index width) to out. */
void urc_c_prelude(const urc_program *P, urc_strbuf *out, bool dot2, bool f16);

#endif
