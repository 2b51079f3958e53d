/* print.c: readable text dump of the graph IR (--dump-ir).
 *
 *   graph "unetr" opset 17: 2 inputs, 1 output
 *   input  %0 input: float32[1,1,32,32,32]
 *   param  %5 enc1.weight: float32[8,1,3,3,3]
 *   n3 Conv 'Conv_3' (input, enc1.weight) -> (%t7: float32[1,8,32,32,32]) kernel=[3,3,3] ...
 *   output out: float32[1,3,32,32,32]                                         */
#include "ir.h"

static void print_type(const urc_value *v, urc_strbuf *sb) {
    if (v->has_type) urc_sb_printf(sb, "%s%s", urc_dtype_name(v->dtype), urc_shape_str(&v->shape));
    else urc_sb_puts(sb, "?");
}

void urc_graph_print(const urc_graph *g, urc_strbuf *sb) {
    int nconst = 0;
    for (int i = 0; i < g->values.len; i++)
        if (g->values.items[i]->data) nconst++;
    urc_sb_printf(sb, "graph \"%s\" opset %d: %d inputs, %d outputs, %d nodes, %d constants\n", g->name ? g->name : "",
                  g->opset, g->inputs.len, g->outputs.len, g->nodes.len, nconst);
    for (int i = 0; i < g->inputs.len; i++) {
        urc_sb_printf(sb, "input  %s: ", g->inputs.items[i]->name);
        print_type(g->inputs.items[i], sb);
        urc_sb_putc(sb, '\n');
    }
    for (int i = 0; i < g->nodes.len; i++) {
        const urc_node *n = g->nodes.items[i];
        urc_sb_printf(sb, "n%d %s '%s' (", i, urc_ops[n->op].name, n->name);
        for (int j = 0; j < n->nin; j++) {
            const urc_value *v = n->in[j];
            if (j) urc_sb_puts(sb, ", ");
            if (!v) {
                urc_sb_puts(sb, "-");
                continue;
            }
            urc_sb_puts(sb, v->name);
            if (v->data) {
                urc_sb_puts(sb, v->flags & URC_VAL_PARAM ? " param " : " const ");
                print_type(v, sb);
            }
        }
        urc_sb_puts(sb, ") -> (");
        for (int j = 0; j < n->nout; j++) {
            if (j) urc_sb_puts(sb, ", ");
            if (!n->out[j]) {
                urc_sb_puts(sb, "-");
                continue;
            }
            urc_sb_printf(sb, "%s: ", n->out[j]->name);
            print_type(n->out[j], sb);
        }
        urc_sb_putc(sb, ')');
        if (urc_ops[n->op].impl->print) urc_ops[n->op].impl->print(n, sb);
        if (n->exact) /* (ir.h urc_node.exact: the operands also multiplied as their low bf16 parts) */
            urc_sb_printf(sb, " bf16_exact=%s%s", n->exact & URC_EXACT_X ? "X" : "", n->exact & URC_EXACT_W ? "W" : "");
        urc_sb_putc(sb, '\n');
    }
    for (int i = 0; i < g->outputs.len; i++) {
        urc_sb_printf(sb, "output %s: ", g->outputs.items[i]->name);
        print_type(g->outputs.items[i], sb);
        urc_sb_putc(sb, '\n');
    }
}
