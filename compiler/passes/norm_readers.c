/* norm_readers.c: the walk that the passes merging a FusedNorm with the only reader of its output share (see
 * passes.h: norm_head.c, norm_into_conv.c). */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

int urc_merge_norm_readers(urc_graph *g, const char *off, urc_norm_merge merge, const void *ctx) {
    const char *e = getenv(off); /* 0: none (comparisons) */
    if (e && !strcmp(e, "0")) return 0;
    urc_graph_count_uses(g);
    urc_node **readers = urc_graph_readers(g);
    int made = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *f = g->nodes.items[i];
        urc_node *r = f->op == URC_OP_FUSED_NORM ? urc_only_reader(readers, f->out[0]) : NULL;
        if (r && merge(g, f, r, ctx)) made++;
    }
    free(readers);
    if (!made) return 0;
    urc_graph_compact(g);
    urc_graph_count_uses(g);
    return made;
}
