/* fuse_norm.c: normalisation epilogue fusion (see passes.h).
 *
 * MONAI's conv blocks end in InstanceNorm -> LeakyReLU, and its residual
 * blocks in LeakyReLU(IN(conv(x)) + IN(conv1x1(x))) or LeakyReLU(IN(a) + b).
 * Each of those ops is a full pass over a large volume; the normalisation
 * already makes one, so the rest rides along for free in its normalise
 * loop. The chains recognised, from an Instance/Batch/GroupNorm N:
 *
 *   N -> act                                  act: any of ir/act.def (urc_act_of)
 *   N [-> act] -> Add(., R)  [-> act]          residual 1: R any value of the same shape
 *   N [-> act] -> Add(., N2) [-> act]          residual 2: N2 the same kind of norm, same
 *                                              layout, whose output only this Add reads
 *
 * become one unetrc.FusedNorm (ops/norm.c) at the place of the chain's last
 * node. Every intermediate must have no other reader and not be a graph
 * output; the Add must not broadcast. Runs after the layout pass, so the
 * chains are matched in whatever layout the norms ended up in (elementwise
 * ops between channels-last norms are channels-last too). */
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "../ops/activation.h"
#include "passes.h"

typedef struct fuser {
    urc_graph *g;
    urc_node **user;    /* by value id: the node reading it, if exactly one does */
    bool *dead;         /* by node position */
    urc_node_index pos; /* node positions (a lookup, not a scan of the list) */
} fuser;

static bool is_stat_norm(const urc_node *n) {
    return n->op == URC_OP_INSTANCE_NORM || (n->op == URC_OP_BATCH_NORM && !n->a.norm.training_mode) ||
           n->op == URC_OP_GROUP_NORM;
}

static int node_pos(const fuser *f, const urc_node *n) { return urc_node_index_get(&f->pos, f->g, n); }

/* Can norm n2 be the second normalisation of a FusedNorm based on n? */
static bool same_norm_kind(const urc_node *n, const urc_node *n2) {
    const urc_norm_attr *a = &n->a.norm, *b = &n2->a.norm;
    if (n2->op != n->op || n->op == URC_OP_BATCH_NORM || a->channels_last != b->channels_last) return false;
    if (!urc_shape_eq(&n->in[0]->shape, &n2->in[0]->shape) || n->in[0]->dtype != n2->in[0]->dtype) return false;
    if (n->op == URC_OP_GROUP_NORM) {
        bool pc = n->opset >= 21 || a->per_channel, pc2 = n2->opset >= 21 || b->per_channel;
        if (a->num_groups != b->num_groups || pc != pc2) return false;
    }
    return true;
}

static void try_fuse(fuser *f, int pos) {
    urc_graph *g = f->g;
    urc_node *n = g->nodes.items[pos];
    if (!is_stat_norm(n) || !n->out[0] || !urc_dtype_is_float(n->out[0]->dtype)) return;
    for (int j = 1; j < n->nout; j++)
        if (n->out[j]) return;
    urc_value *cur = n->out[0];
    urc_node *chain[4];
    int nchain = 0;
    urc_act act = URC_ACT_NONE, post = URC_ACT_NONE;
    double act_alpha = 0, post_alpha = 0;
    int residual = 0;
    urc_value *r = NULL;
    urc_node *n2 = NULL;
    urc_node *u = urc_only_reader(f->user, cur);
    if (urc_act_match(u, cur, &act, &act_alpha)) {
        chain[nchain++] = u;
        cur = u->out[0];
        u = urc_only_reader(f->user, cur);
    }
    if (u && u->op == URC_OP_ADD && u->out[0] && urc_shape_eq(&u->out[0]->shape, &cur->shape) &&
        u->out[0]->dtype == cur->dtype) {
        urc_value *other = u->in[0] == cur ? u->in[1] : u->in[0];
        if (other && other != cur && urc_shape_eq(&other->shape, &cur->shape) && other->dtype == cur->dtype) {
            urc_node *p = other->producer;
            int ppos = p ? node_pos(f, p) : -1;
            if (p && ppos >= 0 && !f->dead[ppos] && is_stat_norm(p) && p->nout >= 1 && p->out[0] == other &&
                urc_only_reader(f->user, other) == u && same_norm_kind(n, p)) {
                bool extra = false;
                for (int j = 1; j < p->nout; j++) extra |= p->out[j] != NULL;
                if (!extra) n2 = p;
            }
            residual = n2 ? 2 : 1;
            r = other;
            chain[nchain++] = u;
            cur = u->out[0];
            urc_node *w = urc_only_reader(f->user, cur);
            if (urc_act_match(w, cur, &post, &post_alpha)) {
                chain[nchain++] = w;
                cur = w->out[0];
            }
        }
    }
    if (!nchain) return;
    urc_node *last = chain[nchain - 1];
    int nin = residual == 2 ? 8 : residual ? 6 : 5;
    urc_node *fn = urc_node_in_place_of(g, &f->pos, last, URC_OP_FUSED_NORM, urc_fmt("%s_fused", n->name), nin);
    fn->a.norm = n->a.norm;
    urc_norm_attr *a = &fn->a.norm;
    a->base = n->op;
    a->act = act;
    a->act_alpha = act_alpha;
    a->post_act = post;
    a->post_alpha = post_alpha;
    a->residual = residual;
    for (int j = 0; j < 5; j++) fn->in[j] = j < n->nin && (n->op == URC_OP_BATCH_NORM || j < 3) ? n->in[j] : NULL;
    if (residual == 1) fn->in[5] = r;
    if (residual == 2) {
        fn->in[5] = n2->in[0];
        fn->in[6] = n2->in[1];
        fn->in[7] = n2->in[2];
        a->epsilon2 = n2->a.norm.epsilon;
    }
    /* fn now reads what the chain read (the residual R above all: a norm
     * producing R must not see the replaced Add as its reader and fuse
     * into it a second time). */
    for (int j = 0; j < fn->nin; j++)
        if (fn->in[j]) f->user[fn->in[j]->id] = fn;
    /* The replaced nodes (the chain's last one is overwritten). */
    f->dead[pos] = true;
    n->op = URC_OP_COUNT;
    for (int i = 0; i < nchain - 1; i++) {
        f->dead[node_pos(f, chain[i])] = true;
        chain[i]->op = URC_OP_COUNT;
    }
    if (n2) {
        f->dead[node_pos(f, n2)] = true;
        n2->op = URC_OP_COUNT;
    }
}

bool urc_pass_fuse_norm(urc_graph *g) {
    urc_graph_count_uses(g);
    fuser f = {g,
               urc_xcalloc((size_t)g->values.len + 1, sizeof(urc_node *)),
               urc_xcalloc((size_t)g->nodes.len + 1, sizeof(bool)),
               {0}};
    urc_node_index_build(&f.pos, g);
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j]) f.user[n->in[j]->id] = n;
    }
    int count = g->nodes.len;
    for (int i = 0; i < count; i++)
        if (!f.dead[i]) try_fuse(&f, i);
    urc_graph_compact(g);
    urc_graph_count_uses(g);
    free(f.user);
    free(f.dead);
    urc_node_index_free(&f.pos);
    bool ok = true;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        if (n->op == URC_OP_FUSED_NORM && !urc_ops[n->op].impl->infer(n)) ok = false;
    }
    return ok;
}
