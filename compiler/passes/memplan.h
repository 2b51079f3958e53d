/* memplan.h: static memory plan.
 *
 * Every value computed at run time gets a place: the caller's input or
 * output buffer, a byte offset in the arena, or (for views such as
 * Reshape) the place of the value it reshapes. Arena offsets come from a
 * liveness-based, size-aware placement: buffers whose lifetimes overlap
 * never overlap in memory; an elementwise op whose input dies there writes
 * its output over that input; several placement orders are tried and the
 * smallest arena kept. The lower bound is the largest total size of
 * buffers live at the same time. */
#ifndef URC_MEMPLAN_H
#define URC_MEMPLAN_H

#include "../loop/lower.h"

/* struct urc_memplan (what the plan gives lowering): ../loop/lower.h */
urc_memplan *urc_memplan_run(urc_graph *g, int align);
/* Gives every node whose op asks for scratch on target t (urc_op_impl.scratch) its n->scratch value, a
 * vector that urc_memplan_run then places as live at that node only; run after the last pass. An optional
 * request is granted only where the scratch fits under the peak of the live bytes (estimated in node
 * order) or is at most a sixteenth of that peak. */
void urc_memplan_scratch(urc_graph *g, const urc_target *t);

/* The placement step on its own (for tests): n buffers, in this order, each
 * at the lowest offset where it overlaps no earlier buffer whose lifetime
 * [def, last] (node positions, def <= last) overlaps its own (sizes > 0).
 * Writes offset[] and returns the arena size (the largest end). */
int64_t urc_memplan_first_fit(int n, const int64_t *size, const int *def, const int *last, int64_t *offset);

#endif
