/* lower_pass.h: the lowering pass entry point. */
#ifndef URC_LOWER_PASS_H
#define URC_LOWER_PASS_H

#include "../loop/lower.h"
#include "memplan.h"

/* Builds the loop program of a planned graph; NULL after reporting. */
/* With `share`, constants go into a copy of share's weights blob (appended,
 * so share's offsets stay valid; equal constants are stored once) and
 * kernel names do not collide with share's. */
urc_program *urc_lower_graph(urc_graph *g, urc_memplan *plan, const char *name, int align, const urc_target *target,
                             urc_program *share);

#endif
