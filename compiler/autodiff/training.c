/* training.c: the loss and the training graph (see training.h).
 *
 * The loss is built from ordinary ops, so its gradient comes from the same
 * rules as the network's (and is checked the same way). With p =
 * softmax(logits) over the class axis and g the one-hot label:
 *   Dice  = mean over (n, c) of w[c] (1 - (2 sum p g + smooth_nr) / (sum p^k + sum g^k + smooth_dr))
 *           sums over the spatial dims (and n with batch); k = 2 if squared else 1;
 *           channel 0 left out unless include_background; w = 1 without class weights
 *   CE    = mean over (n, voxels) of -log p[label]   (with class weights w:
 *           sum w[label] (-log p[label]) / sum w[label], as torch's CrossEntropyLoss)
 *   loss  = lambda_dice Dice + lambda_ce CE
 * which is MONAI's DiceCELoss(to_onehot_y=True, softmax=True). */
#include "training.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "autodiff.h"
#include "grad_common.h"

void urc_loss_defaults(urc_loss_opts *o) {
    memset(o, 0, sizeof *o);
    o->kind = URC_LOSS_DICECE;
    o->lambda_dice = o->lambda_ce = 1.0;
    o->smooth_nr = o->smooth_dr = 1e-5;
    o->include_background = true;
}

static urc_value *reduce_mean(urc_grad_ctx *c, urc_value *x, const int64_t *axes, int n) {
    if (!x) return NULL;
    urc_value *in[2] = {x, urc_g_ints(c, axes, n)};
    urc_attrs a;
    memset(&a, 0, sizeof a);
    a.reduce.keepdims = 0;
    a.reduce.naxes = -1;
    /* ReduceMean takes axes as an input from opset 18 (urc_g_node uses 18). */
    return urc_g_node(c, URC_OP_REDUCE_MEAN, 2, in, &a);
}

static urc_value *all_mean(urc_grad_ctx *c, urc_value *x) {
    int64_t axes[URC_MAX_RANK];
    for (int d = 0; d < x->shape.rank; d++) axes[d] = d;
    return reduce_mean(c, x, axes, x->shape.rank);
}

void urc_train_defaults(urc_train_opts *o) {
    memset(o, 0, sizeof *o);
    urc_loss_defaults(&o->loss);
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->weight_decay = 0.01;
    o->label_dtype = URC_DT_I64;
}

urc_value *urc_build_loss(urc_graph *g, urc_value *logits, urc_value *label, const urc_loss_opts *o,
                          urc_value **dice_score) {
    if (dice_score) *dice_score = NULL;
    urc_grad_ctx cc = {g, NULL, true}, *c = &cc;
    const urc_shape *ls = &logits->shape;
    int r = ls->rank;
    int64_t C = ls->dims[1];
    if (r < 2 || C < 2) { /* softmax over one class is 1: the loss would be constant, every gradient 0 */
        urc_error("loss",
                  "the model output has %lld channel(s); the softmax losses need at least 2 classes "
                  "(MONAI's DiceCELoss on a single channel is a different, sigmoid/BCE loss)",
                  (long long)(r < 2 ? 0 : C));
        return NULL;
    }
    /* The label as int64 [N, 1, S...]. */
    urc_shape l1 = *ls;
    l1.dims[1] = 1;
    urc_value *lab = urc_g_reshape(c, urc_g_cast(c, label, URC_DT_I64), &l1);
    /* One-hot g [N, C, S...]: label == the class's label value (its index,
     * or its --label-map value). */
    if (o->label_map && o->nlabel_map != C) {
        urc_error("loss", "--label-map gives %d values for the model's %lld classes", o->nlabel_map, (long long)C);
        return NULL;
    }
    urc_shape cs = {r, {0}};
    for (int d = 0; d < r; d++) cs.dims[d] = 1;
    cs.dims[1] = C;
    urc_tensor *ct = urc_tensor_new(URC_DT_I64, &cs);
    for (int64_t k = 0; k < C; k++) ((int64_t *)ct->data)[k] = o->label_map ? o->label_map[k] : k;
    urc_value *classes = urc_const_new(g, NULL, ct);
    urc_value *onehot = urc_g_cast(c, g_bin(c, URC_OP_EQUAL, lab, classes), logits->dtype);
    urc_attrs sa;
    memset(&sa, 0, sizeof sa);
    sa.softmax.axis = 1;
    urc_value *loss = NULL;
    if (o->kind != URC_LOSS_CE) {
        urc_value *p = urc_g_node(c, URC_OP_SOFTMAX, 1, &logits, &sa);
        urc_value *gt = onehot;
        if (!o->include_background && C > 1) { /* channels 1.. only */
            int64_t one = 1, end = C, ax = 1;
            urc_value *in[4] = {p, urc_g_ints(c, &one, 1), urc_g_ints(c, &end, 1), urc_g_ints(c, &ax, 1)};
            p = urc_g_node(c, URC_OP_SLICE, 4, in, NULL);
            in[0] = gt;
            gt = urc_g_node(c, URC_OP_SLICE, 4, in, NULL);
        }
        int64_t axes[URC_MAX_RANK];
        int na = 0;
        if (o->batch) axes[na++] = 0;
        for (int d = 2; d < r; d++) axes[na++] = d;
        urc_value *inter = urc_g_reduce_sum(c, g_mul(c, p, gt), axes, na, false);
        urc_value *pp = urc_g_reduce_sum(c, o->squared ? g_mul(c, p, p) : p, axes, na, false);
        urc_value *gg = urc_g_reduce_sum(c, o->squared ? g_mul(c, gt, gt) : gt, axes, na, false);
        urc_value *num = g_add(c, g_scale(c, inter, 2), g_k(c, logits, o->smooth_nr));
        urc_value *den = g_add(c, g_add(c, pp, gg), g_k(c, logits, o->smooth_dr));
        urc_value *f = g_sub(c, g_k(c, logits, 1), g_div(c, num, den));
        if (f && o->nweights) { /* MONAI applies the class weights to the Dice terms too */
            int64_t nc = f->shape.dims[f->shape.rank - 1];
            if (o->nweights != nc) {
                urc_error("loss", "%d class weights given for %lld Dice classes", o->nweights, (long long)nc);
                return NULL;
            }
            urc_tensor *wt = urc_tensor_new(logits->dtype, &(urc_shape){1, {nc}});
            for (int64_t k = 0; k < nc; k++) urc_elem_set_f64(wt->dtype, wt->data, k, o->weights[k]);
            f = g_mul(c, f, urc_const_new(g, NULL, wt));
        }
        urc_value *dice = f ? all_mean(c, f) : NULL;
        if (dice_score && dice) *dice_score = g_sub(c, g_k(c, logits, 1), dice);
        loss = o->lambda_dice == 1 ? dice : g_scale(c, dice, o->lambda_dice);
    }
    if (o->kind != URC_LOSS_DICE) {
        urc_value *logp = urc_g_node(c, URC_OP_LOG_SOFTMAX, 1, &logits, &sa);
        urc_value *nll = g_un(c, URC_OP_NEG, g_mul(c, onehot, logp)); /* -g log p */
        urc_value *ce;
        int64_t ax1 = 1;
        if (o->nweights) {
            if (o->nweights != C) {
                urc_error("loss", "%d class weights given for %lld classes", o->nweights, (long long)C);
                return NULL;
            }
            urc_tensor *wt = urc_tensor_new(logits->dtype, &cs);
            for (int64_t k = 0; k < C; k++) urc_elem_set_f64(wt->dtype, wt->data, k, o->weights[k]);
            urc_value *w = urc_const_new(g, NULL, wt);
            int64_t all[URC_MAX_RANK];
            for (int d = 0; d < r; d++) all[d] = d;
            urc_value *num = urc_g_reduce_sum(c, g_mul(c, nll, w), all, r, false);
            urc_value *den = urc_g_reduce_sum(c, g_mul(c, onehot, w), all, r, false);
            ce = g_div(c, num, den);
        } else {
            ce = all_mean(c, urc_g_reduce_sum(c, nll, &ax1, 1, true));
        }
        if (o->lambda_ce != 1) ce = g_scale(c, ce, o->lambda_ce);
        loss = loss ? g_add(c, loss, ce) : ce;
    }
    if (!c->ok || !loss) {
        if (!urc_error_count()) urc_error("loss", "cannot build the loss for logits of shape %s", urc_shape_str(ls));
        return NULL;
    }
    return loss;
}

/* A run-time input (plain, or in the state region) of float [1]. */
static urc_value *scalar_input(urc_graph *g, const char *name, unsigned flags) {
    urc_value *v = urc_value_new(g, urc_strdup(name));
    urc_value_set_type(v, URC_DT_F32, &(urc_shape){1, {1}});
    v->flags |= URC_VAL_INPUT | flags;
    URC_VEC_PUSH(g->inputs, v);
    return v;
}

/* The optimizer: step' = step + 1 and one update op per parameter, every
 * output overwriting its input in the params/state regions. */
static bool add_optimizer(urc_graph *g, const urc_train_opts *o, urc_value *const *params, urc_value *const *grads,
                          int n) {
    urc_grad_ctx c = {g, NULL, true};
    g->param_regions = true;
    urc_value *lr = scalar_input(g, "lr", 0);
    urc_value *step = scalar_input(g, "step", URC_VAL_STATE);
    urc_value *t = urc_g_binary(&c, URC_OP_ADD, step, urc_g_scalar(&c, URC_DT_F32, 1.0));
    if (!t) return false;
    urc_value *tu = urc_g_unary(&c, URC_OP_IDENTITY, t); /* the stored step: its own value */
    if (!tu) return false;
    tu->flags |= URC_VAL_UPDATE;
    tu->updates = step;
    bool adam = o->optim == URC_OPTIM_ADAMW;
    for (int i = 0; i < n; i++) {
        urc_value *p = params[i];
        urc_value *st[2];
        int ns = adam ? 2 : 1;
        for (int k = 0; k < ns; k++) {
            st[k] = urc_value_new(g, urc_fmt("%s%s", p->name, adam ? (k ? ".adam_v" : ".adam_m") : ".momentum"));
            urc_value_set_type(st[k], p->dtype, &p->shape);
            st[k]->flags |= URC_VAL_INPUT | URC_VAL_STATE;
            URC_VEC_PUSH(g->inputs, st[k]);
        }
        urc_node *u =
            urc_node_new(g, adam ? URC_OP_ADAMW : URC_OP_SGD, urc_fmt("optim_%s", p->name), adam ? 6 : 5, adam ? 3 : 2);
        int k = 0;
        u->in[k++] = p;
        u->in[k++] = grads[i];
        for (int s = 0; s < ns; s++) u->in[k++] = st[s];
        u->in[k++] = t;
        u->in[k++] = lr;
        memset(&u->a, 0, sizeof u->a);
        u->a.optim.beta1 = o->beta1;
        u->a.optim.beta2 = o->beta2;
        u->a.optim.eps = o->eps;
        u->a.optim.momentum = o->momentum;
        u->a.optim.weight_decay = o->weight_decay;
        urc_value *targets[3] = {p, st[0], ns > 1 ? st[1] : NULL};
        for (int j = 0; j < u->nout; j++) {
            urc_value *v = urc_value_new(g, NULL);
            v->producer = u;
            v->producer_slot = j;
            v->flags |= URC_VAL_UPDATE;
            v->updates = targets[j];
            u->out[j] = v;
        }
        if (!urc_ops[u->op].impl->infer(u)) return false;
    }
    return true;
}

/* Input slots that are statistics or settings, not weights: BatchNorm's
 * running mean and variance, Resize's roi/scales/sizes, Clip's bounds,
 * Pow's exponent, Pad's pads and value. */
static bool settings_slot(const urc_node *n, int j) {
    switch (n->op) {
    case URC_OP_BATCH_NORM: return j == 3 || j == 4;
    case URC_OP_RESIZE:
    case URC_OP_CLIP:
    case URC_OP_PAD: return j >= 1;
    case URC_OP_POW: return j == 1;
    default: return false;
    }
}

/* A float initializer the importer made trainable, but only read through
 * settings slots, becomes a constant again. */
static void refreeze_settings(urc_graph *g) {
    /* by value id: read at all, read other than as a setting (one walk over
     * the nodes, not one per parameter) */
    bool *used = urc_xcalloc((size_t)g->values.len + 1, sizeof(bool));
    bool *weight = urc_xcalloc((size_t)g->values.len + 1, sizeof(bool));
    for (int a = 0; a < g->nodes.len; a++) {
        const urc_node *n = g->nodes.items[a];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j]) {
                used[n->in[j]->id] = true;
                weight[n->in[j]->id] |= !settings_slot(n, j);
            }
    }
    int k = 0;
    for (int i = 0; i < g->inputs.len; i++) {
        urc_value *v = g->inputs.items[i];
        if ((v->flags & URC_VAL_PARAM) && used[v->id] && !weight[v->id]) {
            v->data = v->init;
            v->init = NULL;
            v->flags &= ~(unsigned)URC_VAL_INPUT;
            continue;
        }
        g->inputs.items[k++] = v;
    }
    g->inputs.len = k;
    free(used);
    free(weight);
}

/* A Cast to its input's own dtype (Swin's attention weights .to(v.dtype))
 * copies; where its input is saved for the backward pass too (the softmax
 * output of every window attention, [windows, heads, L, L]), both copies
 * stay alive until the backward reads them. As an Identity it is a view
 * (memplan.c) and costs nothing. */
/* Deep supervision: sum_i w_i loss_i / sum_i w_i over the first o->nds
 * outputs (loss0: the first output's). Output i is s[d] times smaller than
 * the label along spatial dim d (a whole number, else an error); its label
 * is voxel s*j + s/2 of the full one, as order-0 (nearest) resizing with
 * pixel-centre alignment (skimage's resize, scipy's zoom with grid_mode)
 * picks it: nnU-Net's DownsampleSegForDSTransform2, UNETR++'s training. */
static urc_value *deep_supervision(urc_graph *g, const urc_train_opts *o, urc_value *label, urc_value *loss0) {
    if (o->nds > g->outputs.len) {
        urc_error("train", "--ds-weights gives %d weights but the model has %d output%s", o->nds, g->outputs.len,
                  g->outputs.len > 1 ? "s" : "");
        return NULL;
    }
    double sum = 0;
    for (int i = 0; i < o->nds; i++) sum += o->ds_weights[i];
    if (!(sum > 0)) {
        urc_error("train", "--ds-weights: every weight is 0");
        return NULL;
    }
    urc_grad_ctx cc = {g, NULL, true}, *c = &cc;
    const urc_shape *ls = &label->shape, *s0 = &g->outputs.items[0]->shape;
    urc_value *total = NULL;
    for (int i = 0; i < o->nds; i++) {
        urc_value *out = g->outputs.items[i];
        const urc_shape *os = &out->shape;
        bool fits = urc_dtype_is_float(out->dtype) && os->rank == s0->rank && os->dims[0] == s0->dims[0] &&
                    os->dims[1] == s0->dims[1];
        int64_t starts[URC_MAX_RANK], ends[URC_MAX_RANK], axes[URC_MAX_RANK], steps[URC_MAX_RANK];
        int na = 0;
        for (int d = 2; fits && d < os->rank; d++) {
            fits = os->dims[d] > 0 && ls->dims[d] % os->dims[d] == 0;
            int64_t st = fits ? ls->dims[d] / os->dims[d] : 1;
            if (st == 1) continue;
            starts[na] = st / 2, ends[na] = ls->dims[d], axes[na] = d, steps[na] = st;
            na++;
        }
        if (!fits) {
            urc_error("train",
                      "--ds-weights: output %d '%s' (%s%s) is not the first output's classes on a grid that "
                      "divides the label's %s",
                      i, out->name, urc_dtype_name(out->dtype), urc_shape_str(os), urc_shape_str(ls));
            return NULL;
        }
        if (o->ds_weights[i] == 0) continue;
        urc_value *li = loss0;
        if (i > 0) {
            urc_value *lab = label;
            if (na) {
                urc_value *in[5] = {label, urc_g_ints(c, starts, na), urc_g_ints(c, ends, na), urc_g_ints(c, axes, na),
                                    urc_g_ints(c, steps, na)};
                lab = urc_g_node(c, URC_OP_SLICE, 5, in, NULL);
            }
            if (!lab || !(li = urc_build_loss(g, out, lab, &o->loss, NULL))) return NULL;
        }
        li = g_scale(c, li, o->ds_weights[i] / sum);
        total = total ? g_add(c, total, li) : li;
    }
    return c->ok ? total : NULL;
}

static void same_type_casts_to_views(urc_graph *g) {
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        if (n->op == URC_OP_CAST && n->nin == 1 && n->out[0]->dtype == n->in[0]->dtype) n->op = URC_OP_IDENTITY;
    }
}

bool urc_build_training(urc_graph *g, const urc_train_opts *o) {
    refreeze_settings(g);
    same_type_casts_to_views(g);
    if (g->outputs.len < 1) return false;
    urc_value *logits = g->outputs.items[0];
    if (!urc_dtype_is_float(logits->dtype) || logits->shape.rank < 3) {
        urc_error("train", "the first output '%s' (%s%s) must be float logits [N, C, spatial...]", logits->name,
                  urc_dtype_name(logits->dtype), urc_shape_str(&logits->shape));
        return false;
    }
    /* The label input. */
    urc_value *label = urc_graph_find(g, "label");
    if (label) {
        urc_error("train", "the model already has a value named 'label'");
        return false;
    }
    label = urc_value_new(g, "label");
    urc_shape l1 = logits->shape;
    l1.dims[1] = 1;
    urc_value_set_type(label, o->label_dtype ? o->label_dtype : URC_DT_I64, &l1);
    label->flags |= URC_VAL_INPUT;
    URC_VEC_PUSH(g->inputs, label);
    urc_value *dice = NULL;
    urc_value *loss = urc_build_loss(g, logits, label, &o->loss, &dice);
    if (!loss || (o->nds && !(loss = deep_supervision(g, o, label, loss)))) return false;
    /* The label value of each class; every one must fit the label type (a
     * class whose value the label cannot hold could never be trained). */
    int64_t C = logits->shape.dims[1];
    int64_t *values = urc_alloc(sizeof(int64_t) * (size_t)C);
    for (int64_t k = 0; k < C; k++) {
        values[k] = o->loss.label_map ? o->loss.label_map[k] : k;
        int64_t lo = 0, hi = INT64_MAX;
        if (label->dtype == URC_DT_U8) hi = UINT8_MAX;
        else if (label->dtype == URC_DT_I32) lo = INT32_MIN, hi = INT32_MAX;
        else if (label->dtype == URC_DT_I64) lo = INT64_MIN;
        if (values[k] < lo || values[k] > hi) {
            if (o->loss.label_map)
                urc_error("train", "--label-map value %lld does not fit the label type %s", (long long)values[k],
                          urc_dtype_name(label->dtype));
            else
                urc_error("train", "the label type %s cannot hold the model's %lld classes (0..%lld)",
                          urc_dtype_name(label->dtype), (long long)C, (long long)(C - 1));
            return false;
        }
    }
    g->label = label;
    g->label_values = values;
    g->nclasses = (int)C;
    URC_VEC(urc_value *) params = {0};
    for (int i = 0; i < g->inputs.len; i++)
        if (g->inputs.items[i]->flags & URC_VAL_PARAM) URC_VEC_PUSH(params, g->inputs.items[i]);
    if (!params.len) {
        urc_error("train", "no trainable parameters (check --trainable / --freeze)");
        return false;
    }
    urc_value **grads = urc_xcalloc((size_t)params.len, sizeof(urc_value *));
    int nfwd = g->nodes.len; /* the model and the loss */
    if (!urc_autodiff(g, loss, params.items, params.len, grads)) return false;
    if (o->nrecompute) {
        int nc = urc_recompute(g, nfwd, o->recompute, o->nrecompute);
        if (nc < 0) return false;
        if (!nc) {
            urc_error("train", "--recompute: no forward node whose output the backward pass reads matches");
            return false;
        }
        if (urc_verbose) urc_note("recompute: %d forward nodes cloned into the backward pass", nc);
    }
    if (!urc_graph_find(g, "loss")) loss->name = "loss";
    if (dice && !urc_graph_find(g, "dice")) dice->name = "dice";
    /* The logits are no longer outputs: only the loss and gradients. */
    for (int i = 0; i < g->outputs.len; i++) g->outputs.items[i]->flags &= ~(unsigned)URC_VAL_OUTPUT;
    g->outputs.len = 0;
    loss->flags |= URC_VAL_OUTPUT;
    URC_VEC_PUSH(g->outputs, loss);
    if (o->optim == URC_OPTIM_NONE) {
        for (int i = 0; i < params.len; i++) {
            urc_value *d = grads[i];
            /* Each output needs its own value: two parameters with the same
             * (zero) gradient, or a gradient that is an input, get an Identity. */
            bool dup = (d->flags & (URC_VAL_OUTPUT | URC_VAL_INPUT)) || d->data;
            if (dup) {
                urc_grad_ctx c = {g, NULL, true};
                d = urc_g_unary(&c, URC_OP_IDENTITY, d);
                if (!d) return false;
            }
            d->flags |= URC_VAL_OUTPUT;
            URC_VEC_PUSH(g->outputs, d);
        }
    } else {
        if (!add_optimizer(g, o, params.items, grads, params.len)) return false;
        if (dice) {
            urc_grad_ctx c = {g, NULL, true};
            if (dice->flags & URC_VAL_OUTPUT) dice = urc_g_unary(&c, URC_OP_IDENTITY, dice);
            dice->flags |= URC_VAL_OUTPUT;
            URC_VEC_PUSH(g->outputs, dice);
        }
    }
    free(grads);
    free(params.items);
    return true;
}
