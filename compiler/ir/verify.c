/* verify.c: structural checks run after every pass. A failure here is a
 * compiler bug (or an input the importer should have rejected), reported
 * as an internal error naming the pass. */
#include "../base/diag.h"
#include "ir.h"

#include <stdlib.h>

/* v is the value the graph lists at v->id. */
static bool listed(const urc_graph *g, const urc_value *v) {
    return v->id >= 0 && v->id < g->values.len && g->values.items[v->id] == v;
}

bool urc_graph_verify(urc_graph *g, const char *pass) {
    bool ok = true;
    int nv = g->values.len;
    /* By value id: written by a node checked so far. A value without a
     * producer (input, initializer, constant) is defined from the start.
     * Only the values nodes and outputs refer to are looked at: a walk over
     * every value after every pass cost more than the rest of the check on
     * graphs of 10^5 nodes. */
    char *produced = urc_xcalloc((size_t)nv + 1, 1);
    for (int i = 0; i < g->nodes.len && ok; i++) {
        urc_node *n = g->nodes.items[i];
        if ((unsigned)n->op >= URC_OP_COUNT) {
            urc_error(pass, "internal: node '%s' has no op", n->name);
            ok = false;
            break;
        }
        const urc_op_info *info = &urc_ops[n->op];
        if (n->nin < info->min_in || n->nin > info->max_in || n->nout < info->min_out || n->nout > info->max_out) {
            urc_error(urc_node_where(n), "%d inputs and %d outputs; %s takes %d to %d inputs and %d to %d outputs",
                      n->nin, n->nout, info->name, info->min_in, info->max_in, info->min_out, info->max_out);
            ok = false;
            continue;
        }
        for (int j = 0; j < n->nin; j++) {
            urc_value *v = n->in[j];
            if (!v) continue;
            if (!listed(g, v)) {
                urc_error(pass, "internal: node '%s' reads a value not in the graph", n->name);
                ok = false;
            } else if (v->producer && !produced[v->id]) {
                urc_error(urc_node_where(n), "reads '%s' before it is produced (%s)", v->name, pass);
                ok = false;
            }
        }
        for (int j = 0; j < n->nout; j++) {
            urc_value *v = n->out[j];
            if (!v) continue;
            if (!listed(g, v)) {
                urc_error(pass, "internal: node '%s' writes a value not in the graph", n->name);
                ok = false;
            } else if (v->producer != n || v->producer_slot != j) {
                urc_error(urc_node_where(n), "output %d ('%s') is produced by another node too", j, v->name);
                ok = false;
            } else {
                produced[v->id] = 1;
            }
        }
    }
    for (int i = 0; i < g->outputs.len && ok; i++) {
        urc_value *v = g->outputs.items[i];
        if (!listed(g, v)) {
            urc_error(pass, "internal: output '%s' is not in the graph", v->name);
            ok = false;
        } else if (v->producer && !produced[v->id]) {
            urc_error("graph", "output '%s' is never produced", v->name);
            ok = false;
        }
    }
    free(produced);
    return ok;
}
