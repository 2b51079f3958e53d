/* precision.c: --precision and --keep-fp32 (see passes.h). The precision
 * of a model lives on its nodes: this pass marks each convolution
 * (Conv, ConvTranspose, unetrc.FusedConv) and matrix product (MatMul, Gemm,
 * unetrc.FusedMatMul) whose weights, its second input, are a float32
 * constant with the storage type of those weights (node->wdtype). It runs
 * last, on the graph lowering sees. Lowering (the ops' lower callbacks, via
 * urc_lower_wconst / urc_lower_win in loop/lower.c) then stores the marked
 * nodes' weights as bf16 or f16 in the weights blob, packed as usual, and
 * their kernels convert each weight to float as they load it and accumulate
 * in float32. Everything else (activations, biases, norms, softmax, GELU,
 * residual sums, attention scores) stays float32. The interpreter applies
 * the same rounding to the constants themselves (urc_precision_round_weights),
 * so that `run --interp --precision P` is a reference for the generated
 * code's numerics.
 *
 * int8 (post-training quantisation): the weights of each marked node are
 * quantised per output channel, symmetrically (urc_precision_quantize):
 * s[oc] = max |W[oc, ...]| / 127 (1 when all are zero), q = round half to
 * even (W / s[oc]) clamped to [-127, 127]; lowering stores q as int8 and the
 * scales as float32 (urc_lower_wscale), the kernels load q, convert it and
 * multiply by its channel's scale. The data input of each marked node is
 * fake-quantised per tensor by a unetrc.FakeQuant node placed before it
 * (ops/quant.c), affinely: 256 levels (steps of (max - min) / 255) over
 * [min, max] of x on the calibration samples (0 included), the zero point
 * rounded to a level (steps_over), x recorded by the interpreter running
 * the float32 graph on each sample or by the model's compiled float32 code
 * (urc_precision_calibrate). Affine rather than symmetric levels: a step at
 * most half of max |x| / 127, and a one-sided input (after a ReLU,
 * LeakyReLU or GELU: most of the networks') gets all 256 levels. The
 * model's input is not fake-quantised (data_parts). Weights of int8
 * nodes must have their output channels on one axis: a Conv's W
 * [M, C/g, k...] (axis 0), ConvTranspose's [C, M/g, k...] (channel g-block * M/g + axis 1), a MatMul's B [K, N]
 * (columns; batched B stays float32) and Gemm's (columns, rows with
 * transB); run-time-ordered W (w_last) stays float32.
 *
 * The output head stays float32 unless --reduce-head: the products whose
 * results reach a graph output through no other product (walking back from
 * the outputs through every other node; MONAI's final 1x1 convolution). */
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "../interp/interp.h"
#include "passes.h"

static bool product_with_weights(const urc_node *n) {
    switch (n->op) {
    case URC_OP_CONV:
    case URC_OP_CONV_TRANSPOSE:
    case URC_OP_FUSED_CONV:
    case URC_OP_MATMUL:
    case URC_OP_GEMM:
    case URC_OP_FUSED_MATMUL: break;
    default: return false;
    }
    const urc_value *w = n->nin > 1 ? n->in[1] : NULL;
    return w && w->data && w->dtype == URC_DT_F32 && urc_shape_numel(&w->shape) > 1;
}

/* int8 also needs the output channels on an axis of W (see the top) and a float32 data input. */
static bool int8_ok(const urc_node *n) {
    const urc_value *w = n->in[1];
    if (!n->in[0] || n->in[0]->dtype != URC_DT_F32) return false;
    switch (n->op) {
    case URC_OP_CONV:
    case URC_OP_FUSED_CONV:
    case URC_OP_CONV_TRANSPOSE: return !n->a.conv.w_last && w->shape.rank >= 3 && n->a.conv.group >= 1;
    default: return w->shape.rank == 2;
    }
}

int64_t urc_precision_channels(const urc_node *n) {
    const urc_shape *s = &n->in[1]->shape;
    switch (n->op) {
    case URC_OP_CONV:
    case URC_OP_FUSED_CONV: return s->dims[0];
    case URC_OP_CONV_TRANSPOSE: return n->a.conv.group * s->dims[1];
    case URC_OP_GEMM: return s->dims[n->a.gemm.trans_b ? 0 : 1];
    default: return s->dims[1];
    }
}

/* The output channel of element i of n's weights. */
static int64_t channel_of(const urc_node *n, int64_t i) {
    const urc_shape *s = &n->in[1]->shape;
    int64_t inner = 1;
    for (int d = 2; d < s->rank; d++) inner *= s->dims[d];
    switch (n->op) {
    case URC_OP_CONV:
    case URC_OP_FUSED_CONV: return i / (s->dims[1] * inner);
    case URC_OP_CONV_TRANSPOSE: { /* W [C, M/g, k...]: input channel c of group c / (C/g) */
        int64_t c = i / (s->dims[1] * inner), j = i / inner % s->dims[1], cg = s->dims[0] / n->a.conv.group;
        return c / cg * s->dims[1] + j;
    }
    case URC_OP_GEMM:
        if (n->a.gemm.trans_b) return i / s->dims[1];
        return i % s->dims[1];
    default: return i % s->dims[1];
    }
}

void urc_precision_quantize(const urc_node *n, float *q, float *scale) {
    const urc_value *w = n->in[1];
    const float *x = w->data;
    int64_t cnt = urc_shape_numel(&w->shape), nch = urc_precision_channels(n);
    for (int64_t c = 0; c < nch; c++) scale[c] = 0;
    for (int64_t i = 0; i < cnt; i++) {
        int64_t c = channel_of(n, i);
        float a = fabsf(x[i]);
        if (a > scale[c] || a != a) scale[c] = a != a ? INFINITY : a;
    }
    for (int64_t c = 0; c < nch; c++) scale[c] = scale[c] > 0 && isfinite(scale[c]) ? scale[c] / 127.0f : 1.0f;
    for (int64_t i = 0; i < cnt; i++) {
        volatile float r = x[i] / scale[channel_of(n, i)]; /* rounded to float32 */
        float v = nearbyintf(r);
        q[i] = v != v ? 0.0f : v < -127.0f ? -127.0f : v > 127.0f ? 127.0f : v;
    }
}

/* Glob k matches n: its name, or the name it was fused from ("x/fused"). */
static bool matches(const char *glob, const urc_node *n) {
    if (!n->name) return false;
    if (!fnmatch(glob, n->name, 0)) return true;
    size_t len = strlen(n->name), sfx = strlen("/fused");
    if (len > sfx && !strcmp(n->name + len - sfx, "/fused")) return !fnmatch(glob, urc_strndup(n->name, len - sfx), 0);
    return false;
}

/* A Cast placed by urc_precision_bf16_operands (marked by its wdtype, which no other Cast has). */
static bool bf16_operand_cast(const urc_node *n) { return n->op == URC_OP_CAST && n->wdtype == URC_DT_BF16; }
static bool bf16_operand_cast_value(const urc_value *v) { return v->producer && bf16_operand_cast(v->producer); }

/* Removes the unetrc.FakeQuant nodes of an earlier int8 marking and the Casts of an earlier bf16 one
 * (their readers read their input again), and the FakeQuants folded into products on tiles
 * (urc_precision_int8_levels: their xq attributes). */
static void strip_fake_quant(urc_graph *g) {
    bool any = false;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        if (n->ydtype) n->ydtype = URC_DT_UNDEF, n->out[0]->dtype = URC_DT_F32; /* (a Cast folded: stores_bf16) */
        if (urc_op_has(n->op, URC_TRAIT_VIEW) && n->nout == 1 && n->out[0]->dtype == URC_DT_BF16 &&
            n->in[0]->dtype == URC_DT_F32) /* (a view that passed a folded Cast on: its producer's undone above) */
            n->out[0]->dtype = URC_DT_F32;
        if (n->op == URC_OP_MAX_POOL && n->out[0]->dtype == URC_DT_BF16) /* (max_pools_read_bf16) */
            n->out[0]->dtype = URC_DT_F32;
        if (n->op == URC_OP_MATMUL || n->op == URC_OP_GEMM || n->op == URC_OP_FUSED_MATMUL)
            memset(&n->a.gemm.xq, 0, sizeof n->a.gemm.xq);
        if (n->op == URC_OP_CONV || n->op == URC_OP_FUSED_CONV || n->op == URC_OP_CONV_TRANSPOSE) {
            memset(&n->a.conv.xq, 0, sizeof n->a.conv.xq);
            n->a.conv.fill_rounds = false; /* (casts_into_readers) */
        }
        if (n->op == URC_OP_FUSED_NORM) /* (a FakeQuant folded into it: fake_quant_folds) */
            memset(&n->a.norm.quant, 0, sizeof n->a.norm.quant);
        if (n->op != URC_OP_FAKE_QUANT && !bf16_operand_cast(n)) continue;
        urc_replace_uses(g, n->out[0], n->in[0]);
        urc_node_drop(n);
        any = true;
    }
    if (!any) return;
    urc_graph_compact(g);
    urc_graph_count_uses(g);
}

/* Marks in head[] (by node id) the products of the output head: a walk back
 * from the graph outputs through producers, stopping at products. */
static bool *output_heads(const urc_graph *g) {
    int maxid = 0;
    for (int i = 0; i < g->nodes.len; i++)
        if (g->nodes.items[i]->id > maxid) maxid = g->nodes.items[i]->id;
    bool *head = urc_alloc(sizeof(bool) * (size_t)(maxid + 1)), *seen = urc_alloc(sizeof(bool) * (size_t)(maxid + 1));
    urc_node **stack = urc_alloc(sizeof(urc_node *) * (size_t)(g->nodes.len + 1));
    int sp = 0;
    for (int i = 0; i < g->outputs.len; i++) {
        urc_node *p = g->outputs.items[i]->producer;
        if (p && !seen[p->id]) seen[p->id] = true, stack[sp++] = p;
    }
    while (sp) {
        urc_node *n = stack[--sp];
        if (product_with_weights(n)) {
            head[n->id] = true;
            continue;
        }
        for (int k = 0; k < n->nin; k++) {
            urc_node *p = n->in[k] ? n->in[k]->producer : NULL;
            if (p && !seen[p->id]) seen[p->id] = true, stack[sp++] = p;
        }
    }
    return head;
}

int urc_pass_precision(urc_graph *g, urc_dtype dt, const char *const *keep, int nkeep, bool reduce_head, int *unused) {
    URC_ASSERT(dt == URC_DT_F32 || dt == URC_DT_BF16 || dt == URC_DT_F16 || dt == URC_DT_I8, "precision: bad dtype");
    urc_norm_into_conv_strip(g); /* (an earlier bf16 marking's) */
    urc_norm_stats_strip(g);
    strip_fake_quant(g);
    bool *used = urc_alloc(sizeof(bool) * (size_t)(nkeep + 1));
    const bool *head = dt == URC_DT_F32 || reduce_head ? NULL : output_heads(g);
    int marked = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        n->wdtype = URC_DT_UNDEF;
        n->exact = 0;
        if (!product_with_weights(n)) continue;
        bool kept = false;
        for (int k = 0; k < nkeep; k++)
            if (matches(keep[k], n)) kept = used[k] = true;
        if (kept || dt == URC_DT_F32 || (head && head[n->id]) || (dt == URC_DT_I8 && !int8_ok(n))) continue;
        n->wdtype = dt;
        marked++;
    }
    if (unused) {
        *unused = -1;
        for (int k = 0; k < nkeep && *unused < 0; k++)
            if (!used[k]) *unused = k;
    }
    return marked;
}

void urc_precision_round_weights(urc_graph *g) {
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        if (!n->wdtype || n->wdtype == URC_DT_F32 || bf16_operand_cast(n)) continue;
        const urc_value *w = n->in[1];
        urc_tensor *t = urc_tensor_new(URC_DT_F32, &w->shape);
        const float *src = w->data;
        float *dst = t->data;
        int64_t cnt = urc_shape_numel(&w->shape);
        if (n->wdtype == URC_DT_I8) { /* q * s[oc], the product the kernels compute */
            float *scale = urc_xmalloc(sizeof(float) * (size_t)urc_precision_channels(n));
            urc_precision_quantize(n, dst, scale);
            for (int64_t j = 0; j < cnt; j++) dst[j] = dst[j] * scale[channel_of(n, j)];
            free(scale);
            n->in[1] = urc_const_new(g, NULL, t);
            continue;
        }
        for (int64_t j = 0; j < cnt; j++) {
            dst[j] = n->wdtype == URC_DT_BF16 ? urc_bf16_to_f32(urc_f32_to_bf16(src[j]))
                                              : urc_f16_to_f32(urc_f32_to_f16(src[j]));
            if (n->exact & URC_EXACT_W) dst[j] += urc_bf16_to_f32(urc_f32_to_bf16(src[j] - dst[j])); /* (hi + lo) */
        }
        n->in[1] = urc_const_new(g, NULL, t);
    }
    urc_graph_count_uses(g);
}

/* The elements of n's data operands: its non-constant inputs but a residual (a FusedConv's X parts, a matmul's A). */
static int64_t data_elems(const urc_node *n) {
    int64_t x = 0;
    for (int j = 0; j < n->nin; j++) {
        const urc_value *v = n->in[j];
        bool res = (n->op == URC_OP_FUSED_CONV && j == 3) || (n->op == URC_OP_FUSED_MATMUL && j == 3);
        if (v && !v->data && j != 1 && !res) x += urc_shape_numel(&v->shape);
    }
    return x;
}

int urc_precision_bf16_exact(urc_graph *g, const urc_target *t, unsigned which) {
    /* (UNETRC_BF16_EXACT_ALL=1, tests: every operand the kernels can carry, whatever it costs) */
    const char *e = getenv("UNETRC_BF16_EXACT_ALL");
    bool all = e && !strcmp(e, "1");
    int made = 0;
    int64_t maxx = 0; /* (the largest data of a bf16 product: the full resolution's) */
    for (int i = 0; i < g->nodes.len; i++)
        if (g->nodes.items[i]->wdtype == URC_DT_BF16 && data_elems(g->nodes.items[i]) > maxx)
            maxx = data_elems(g->nodes.items[i]);
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        const urc_op_impl *impl = urc_ops[n->op].impl;
        n->exact &= ~which;
        if (n->wdtype != URC_DT_BF16 || !impl->bf16_exact) continue;
        unsigned can = impl->bf16_exact(n, t) & which;
        int64_t x = data_elems(n), w = urc_shape_numel(&n->in[1]->shape);
        bool conv = n->op == URC_OP_CONV || n->op == URC_OP_FUSED_CONV || n->op == URC_OP_CONV_TRANSPOSE;
        if ((can & URC_EXACT_X) && (all || (conv ? x * 8 <= maxx : x <= w))) n->exact |= URC_EXACT_X;
        if ((can & URC_EXACT_W) && (all || w <= x)) n->exact |= URC_EXACT_W;
        made += (n->exact & which) != 0;
    }
    return made;
}

static int drop_unread_casts(urc_graph *g) {
    int dropped = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *c = g->nodes.items[i];
        if (bf16_operand_cast(c) && !c->out[0]->nuses) urc_node_drop(c), dropped++;
    }
    if (dropped) urc_graph_compact(g);
    return dropped;
}

/* v is a float32 value that one node (a Cast or a FakeQuant to fold into its producer) reads. */
static bool read_once(const urc_value *v) {
    return v->producer && v->nuses == 1 && !(v->flags & URC_VAL_OUTPUT) && v->dtype == URC_DT_F32;
}

/* ... and a FusedNorm's (FakeQuants fold into norms only). */
static bool foldable(const urc_value *v) { return read_once(v) && v->producer->op == URC_OP_FUSED_NORM; }

/* ... and its producer can store it rounded to bf16 on target t (ir.h's bf16_store: a FusedNorm or LayerNorm, a
 * ConvTranspose on the row-GEMM or tile kernel, a matmul on AMX tiles). */
static bool stores_bf16(urc_value *v, const urc_target *t, bool apply) {
    if (!read_once(v)) return false;
    urc_node *p = v->producer;
    bool view = urc_op_has(p->op, URC_TRAIT_VIEW) && p->nout == 1; /* (a Reshape after it: the bytes as they are) */
    const urc_op_impl *impl = urc_ops[p->op].impl;
    if (view ? !stores_bf16(p->in[0], t, apply) : !(impl->bf16_store && impl->bf16_store(p, t))) return false;
    if (apply && !view) p->ydtype = URC_DT_BF16;
    if (apply) v->dtype = URC_DT_BF16;
    return true;
}

/* Drops the nodes folds() folded into their input's producer (folds sets the producer's attribute): their readers
 * read the producer's output. Returns how many. */
static int fold_into_producers(urc_graph *g, const urc_target *t, bool (*folds)(const urc_node *, const urc_target *)) {
    urc_value **to = urc_alloc(sizeof(urc_value *) * (size_t)(g->values.len + 1)); /* by dropped output id */
    int folded = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *c = g->nodes.items[i];
        if (!folds(c, t)) continue;
        to[c->out[0]->id] = c->in[0];
        urc_node_drop(c);
        folded++;
    }
    if (!folded) return 0;
    for (int i = 0; i < g->nodes.len; i++) { /* one scan: the dropped nodes' readers read the producers' outputs */
        urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && to[n->in[j]->id]) n->in[j] = to[n->in[j]->id];
    }
    urc_graph_compact(g);
    urc_graph_count_uses(g);
    return folded;
}

/* A Cast to bf16 whose input nothing else reads goes when the input's producer can store it rounded to bf16
 * (stores_bf16: one pass over the volume writing half the bytes instead of a float32 write, a read and a bf16 write;
 * the float32 buffer is gone from the arena). */
static bool bf16_cast_folds(const urc_node *c, const urc_target *t) {
    return bf16_operand_cast(c) && stores_bf16(c->in[0], t, true);
}

/* Likewise a unetrc.FakeQuant of a FusedNorm's output that nothing else reads: the norm stores its
 * output fake-quantised (one pass over the volume instead of a write, a read and a write). */
static bool fake_quant_folds(const urc_node *q, const urc_target *t) {
    (void)t;
    if (q->op != URC_OP_FAKE_QUANT || !foldable(q->in[0])) return false;
    q->in[0]->producer->a.norm.quant = q->a.quant.fq;
    return true;
}

/* A channels-last MaxPool whose input a bf16 Cast reads and whose output only a bf16 Cast reads (BasicUNet's
 * encoders: a norm's output read by the skip connection's Cast and by the pooling, the pooled value by the next
 * convolution's Cast) reads the first Cast's output, moved to just before it, and stores bf16 itself; the second
 * Cast goes. Rounding to bf16 is monotonic, so the maximum of the rounded values is the rounded maximum: the same
 * bits. The norm's output then has the one Cast for reader, which can fold into the norm. Returns how many. */
static int max_pools_read_bf16(urc_graph *g) {
    int nn = g->nodes.len, nv = g->values.len, n = 0;
    urc_node **readers = urc_graph_readers(g);
    urc_node **cast_of = urc_alloc(sizeof(urc_node *) * (size_t)(nv + 1)); /* by input id: its bf16 Cast */
    int *pos = urc_alloc(sizeof(int) * (size_t)(nv + 1));                  /* by Cast output id: its position */
    urc_node **first = urc_alloc(sizeof(urc_node *) * (size_t)(nn + 1));   /* by position: a Cast to place there */
    bool *moved = urc_alloc(sizeof(bool) * (size_t)(nn + 1));              /* by position: a Cast placed earlier */
    urc_value **to = urc_alloc(sizeof(urc_value *) * (size_t)(nv + 1));    /* by dropped Cast output id */
    for (int i = 0; i < nn; i++) {
        urc_node *c = g->nodes.items[i];
        if (bf16_operand_cast(c)) cast_of[c->in[0]->id] = c, pos[c->out[0]->id] = i;
    }
    for (int i = 0; i < nn; i++) {
        urc_node *p = g->nodes.items[i];
        if (p->op != URC_OP_MAX_POOL || !p->a.pool.channels_last || (p->nout > 1 && p->out[1]) ||
            p->in[0]->dtype != URC_DT_F32 || !cast_of[p->in[0]->id])
            continue;
        urc_node *c1 = urc_only_reader(readers, p->out[0]), *c2 = cast_of[p->in[0]->id];
        if (!c1 || !bf16_operand_cast(c1)) continue;
        int at = pos[c2->out[0]->id];
        if (at > i && !moved[at]) first[i] = c2, moved[at] = true;
        p->in[0] = c2->out[0];
        p->out[0]->dtype = URC_DT_BF16;
        to[c1->out[0]->id] = p->out[0];
        urc_node_drop(c1);
        n++;
    }
    if (n) {
        urc_node **order = urc_xmalloc(sizeof(urc_node *) * (size_t)nn);
        int k = 0;
        for (int i = 0; i < nn; i++) {
            urc_node *x = g->nodes.items[i];
            if (first[i]) order[k++] = first[i];
            if (!moved[i]) order[k++] = x;
            for (int j = 0; j < x->nin; j++)
                if (x->in[j] && to[x->in[j]->id]) x->in[j] = to[x->in[j]->id];
        }
        memcpy(g->nodes.items, order, sizeof(urc_node *) * (size_t)nn);
        free(order);
        urc_graph_compact(g);
        urc_graph_count_uses(g);
    }
    free(readers);
    return n;
}

/* A Cast whose readers all round that input to bf16 themselves when it is float32 (ir.h's bf16_self_round: the
 * one-pass tile convolutions' grid fill) goes when its float32 input is read after the Cast's last reader anyway, in
 * the node order (UNETR's encoder blocks: the upsampled value read by the first convolution and, as a residual, by
 * the second norm; U-Net skips): one pass and the bf16 copy fewer, the same bits. Returns how many. */
static int casts_into_readers(urc_graph *g, const urc_target *t) {
    int nv = g->values.len, n = 0;
    int *last = urc_alloc(sizeof(int) * (size_t)(nv + 1)); /* by value id: its last reader's position + 1 */
    bool *no = urc_alloc(sizeof(bool) * (size_t)(nv + 1)); /* by Cast output id: a reader rounds nothing */
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *r = g->nodes.items[i];
        const urc_op_impl *impl = urc_ops[r->op].impl;
        for (int j = 0; j < r->nin; j++) {
            urc_value *v = r->in[j];
            if (!v) continue;
            last[v->id] = i + 1;
            if (bf16_operand_cast_value(v) && !(impl->bf16_self_round && impl->bf16_self_round(r, j, t, false)))
                no[v->id] = true;
        }
    }
    urc_value **to = urc_alloc(sizeof(urc_value *) * (size_t)(nv + 1)); /* by dropped Cast output id */
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *c = g->nodes.items[i];
        if (!bf16_operand_cast(c)) continue;
        urc_value *x = c->in[0], *y = c->out[0];
        if (no[y->id] || (y->flags & URC_VAL_OUTPUT) || !(last[x->id] > last[y->id] || (x->flags & URC_VAL_OUTPUT)))
            continue;
        to[y->id] = x;
        urc_node_drop(c);
        n++;
    }
    if (!n) return 0;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *r = g->nodes.items[i];
        for (int j = 0; j < r->nin; j++)
            if (r->in[j] && to[r->in[j]->id]) {
                r->in[j] = to[r->in[j]->id];
                urc_ops[r->op].impl->bf16_self_round(r, j, t, true);
            }
    }
    urc_graph_compact(g);
    urc_graph_count_uses(g);
    return n;
}

/* The pairs cost a pass over X (read float32, write bf16) unless the Cast folds into its input's producer
 * (stores_bf16) or feeds a product that reuses each element many times. A product with few multiply-adds per
 * element of X (a 1x1x1 convolution: as many as its output channels) gains less from reading pairs than that pass
 * costs, so such a node reads float32 again (its weights stay bf16: the float kernels convert them) when one of its
 * Casts would exist for it alone: read by no product that reuses X more, and not folding. */
#define URC_PAIRS_MIN_REUSE 64

static bool few_macs(const urc_node *n) {
    const urc_op_impl *impl = urc_ops[n->op].impl;
    int64_t xs = 0;
    for (int j = 0; j < n->nin; j++)
        if (n->in[j] && bf16_operand_cast_value(n->in[j])) xs += urc_shape_numel(&n->in[j]->shape);
    return xs > 0 && impl->macs && impl->macs(n) < URC_PAIRS_MIN_REUSE * xs;
}

/* Returns how many nodes read float32 again. */
static int unpair_few_macs(urc_graph *g, const urc_target *t) {
    bool *needed = urc_alloc(sizeof(bool) * (size_t)(g->values.len + 1)); /* by Cast output id */
    bool *few = urc_alloc(sizeof(bool) * (size_t)(g->nodes.len + 1));     /* by node position */
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        few[i] = few_macs(n);
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && bf16_operand_cast_value(n->in[j]) && !few[i]) needed[n->in[j]->id] = true;
    }
    int unpaired = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        if (!few[i]) continue;
        bool keep = true;
        for (int j = 0; j < n->nin; j++) {
            urc_value *c = n->in[j];
            if (c && bf16_operand_cast_value(c) && !needed[c->id] && !stores_bf16(c->producer->in[0], t, false))
                keep = false;
        }
        if (keep) continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && bf16_operand_cast_value(n->in[j])) n->in[j] = n->in[j]->producer->in[0];
        unpaired++;
    }
    if (unpaired) urc_graph_count_uses(g);
    return unpaired;
}

int urc_precision_bf16_operands(urc_graph *g, const urc_target *t) {
    int n0 = g->nodes.len;
    URC_VEC(int) before = {0};
    URC_VEC(urc_node *) made = {0};
    bool ok = true;
    for (int i = 0; i < n0; i++) {
        urc_node *n = g->nodes.items[i];
        const urc_op_impl *impl = urc_ops[n->op].impl;
        unsigned pairs = n->wdtype == URC_DT_BF16 && impl->bf16_pairs ? impl->bf16_pairs(n, t) : 0;
        for (int j = 0; j < n->nin; j++) {
            urc_value *a = n->in[j];
            if (!(pairs & (1u << j)) || !a) continue;
            URC_ASSERT(a->dtype == URC_DT_F32 && !a->data, "bf16 pairs of a value that is no float32 activation");
            urc_node *c = NULL;
            for (int m = 0; m < made.len && !c; m++)
                if (made.items[m]->in[0] == a) c = made.items[m];
            if (!c) {
                urc_attrs at;
                memset(&at, 0, sizeof at);
                at.cast.to = URC_DT_BF16;
                c = urc_node_make(g, URC_OP_CAST, urc_fmt("%s/bf16", a->name ? a->name : n->name), 13, 1, &a, &at, NULL,
                                  &ok);
                URC_ASSERT(ok, "a Cast to bfloat16 of a float32 value");
                c->wdtype = URC_DT_BF16; /* (bf16_operand_cast) */
                URC_VEC_PUSH(made, c);
                URC_VEC_PUSH(before, i);
            }
            n->in[j] = c->out[0];
        }
    }
    int placed = made.len;
    if (made.len) urc_graph_place_appended(g, n0, before.items);
    free(made.items);
    free(before.items);
    urc_graph_count_uses(g);
    unpair_few_macs(g, t);
    placed -= drop_unread_casts(g);
    const char *e = getenv("UNETRC_BF16_FOLD"); /* 0: no folding (tests/precision_test.sh compares) */
    if (e && !strcmp(e, "0")) return placed;
    placed -= max_pools_read_bf16(g);
    placed -= fold_into_producers(g, t, bf16_cast_folds);
    return placed - casts_into_readers(g, t);
}

/* ---- int8 calibration ------------------------------------------------------ */

/* v is a graph input, or one seen through layout changes only (the views: Reshape, Flatten, Squeeze, Unsqueeze,
 * Identity, Dropout; and Transpose: UNETR's patch embedding reads the volume reshaped and transposed into patches). */
static bool raw_input(const urc_value *v) {
    while (v->producer && v->producer->nin >= 1 &&
           (urc_op_has(v->producer->op, URC_TRAIT_VIEW) || v->producer->op == URC_OP_TRANSPOSE))
        v = v->producer->in[0];
    return (v->flags & URC_VAL_INPUT) != 0;
}

/* The data parts of a marked node to fake-quantise: in[0], and a FusedConv's further X parts (in[4..]), except
 * the model's input (raw_input): a scan's intensities keep float32's precision (256 levels over a volume's range
 * lose detail that the first layer would see), and the products reading it multiply float32 data by their int8
 * weights. */
static int data_parts(const urc_node *n, urc_value **parts) {
    int np = 0;
    if (!raw_input(n->in[0])) parts[np++] = n->in[0];
    if (n->op == URC_OP_FUSED_CONV)
        for (int j = 4; j < n->nin; j++)
            if (n->in[j] && !raw_input(n->in[j])) parts[np++] = n->in[j];
    return np;
}

/* The values whose ranges calibration needs: the data parts of the int8-marked nodes, each once. */
static int watched(const urc_graph *g, urc_value ***out) {
    URC_VEC(urc_value *) w = {0};
    urc_value *parts[URC_CONV_MAX_PARTS + 1];
    bool *seen = urc_xcalloc((size_t)g->values.len + 1, sizeof(bool));
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        if (n->wdtype != URC_DT_I8) continue;
        int np = data_parts(n, parts);
        for (int p = 0; p < np; p++)
            if (!seen[parts[p]->id]) {
                seen[parts[p]->id] = true;
                URC_VEC_PUSH(w, parts[p]);
            }
    }
    free(seen);
    *out = w.items;
    return w.len;
}

typedef struct calib {
    bool *watched;   /* by value id */
    double *lo, *hi; /* by value id: min and max over the samples (0 included) */
} calib;

static void observe(void *ctx, const urc_value *v, const urc_tensor *t) {
    calib *c = ctx;
    if (!c->watched[v->id] || t->dtype != URC_DT_F32) return;
    const float *x = t->data;
    int64_t ne = urc_tensor_numel(t);
    double lo = c->lo[v->id], hi = c->hi[v->id];
    for (int64_t i = 0; i < ne; i++) {
        double a = x[i];
        if (a != a) lo = -INFINITY, hi = INFINITY;
        lo = a < lo ? a : lo;
        hi = a > hi ? a : hi;
    }
    c->lo[v->id] = lo, c->hi[v->id] = hi;
}

/* urc_range_fn by the interpreter. */
static bool interp_ranges(void *ctx, urc_graph *g, urc_tensor *const *samples, int nsamples, urc_value *const *w,
                          int nw, double *lo, double *hi) {
    (void)ctx;
    size_t nv = (size_t)(g->values.len + 1);
    calib c = {urc_xcalloc(nv, sizeof(bool)), urc_xcalloc(nv, sizeof(double)), urc_xcalloc(nv, sizeof(double))};
    for (int i = 0; i < nw; i++) c.watched[w[i]->id] = true;
    urc_tensor **outs = urc_xcalloc((size_t)g->outputs.len + 1, sizeof(urc_tensor *));
    bool ok = true;
    for (int s = 0; s < nsamples && ok; s++) {
        ok = urc_interp_run_observed(g, &samples[s], outs, observe, &c);
        for (int i = 0; ok && i < g->outputs.len; i++) urc_tensor_free(outs[i]);
    }
    for (int i = 0; i < nw; i++) lo[i] = c.lo[w[i]->id], hi[i] = c.hi[w[i]->id];
    free(outs);
    free(c.watched);
    free(c.lo);
    free(c.hi);
    return ok;
}

/* The affine int8 levels over [lo, hi] (0 included): steps of (hi - lo) / 255 from level -z to 255 - z, the zero
 * point z = round(-lo / step); all zeros: the symmetric levels [-127, 127] of step 1. */
static urc_fq steps_over(double lo, double hi) {
    lo = lo < 0 ? lo : 0;
    hi = hi > 0 ? hi : 0;
    urc_fq q = {(float)((hi - lo) / 255.0), -127, 127};
    if (!(q.scale > 0)) { /* (all zeros, or a range below float32's smallest normal * 255) */
        q.scale = 1.0f;
        return q;
    }
    double z = nearbyint(-lo / q.scale);
    q.lo = (int16_t) - (z < 0 ? 0 : z > 255 ? 255 : z);
    q.hi = (int16_t)(q.lo + 255);
    return q;
}

/* The FakeQuant nodes from the ranges [lo[i], hi[i]] of w[i] (urc_precision_calibrate). */
static bool place_quant(urc_graph *g, urc_value *const *w, const double *lo, const double *hi, int nw) {
    double *vlo = urc_xmalloc(sizeof(double) * (size_t)(g->values.len + 1));
    double *vhi = urc_xmalloc(sizeof(double) * (size_t)(g->values.len + 1));
    for (int i = 0; i < nw; i++) vlo[w[i]->id] = lo[i], vhi[w[i]->id] = hi[i];
    urc_value *parts[URC_CONV_MAX_PARTS + 1];
    /* one FakeQuant per (value, levels), placed before its first reader */
    int n0 = g->nodes.len;
    URC_VEC(int) before = {0};
    URC_VEC(urc_node *) made = {0};
    bool ok = true;
    for (int i = 0; i < n0 && ok; i++) {
        urc_node *n = g->nodes.items[i];
        if (n->wdtype != URC_DT_I8) continue;
        int np = data_parts(n, parts);
        if (!np) continue;
        double mn = 0, mx = 0; /* one range over the parts (as one tensor: their concatenation) */
        for (int p = 0; p < np; p++) {
            mn = vlo[parts[p]->id] < mn ? vlo[parts[p]->id] : mn;
            mx = vhi[parts[p]->id] > mx ? vhi[parts[p]->id] : mx;
        }
        if (!isfinite(mn) || !isfinite(mx)) {
            urc_error(urc_fmt("node '%s'", n->name),
                      "--calibrate: its input '%s' is not finite on the calibration samples", n->in[0]->name);
            ok = false;
            break;
        }
        urc_fq steps = steps_over(mn, mx);
        for (int p = 0; p < np; p++) {
            urc_node *fq = NULL;
            for (int j = 0; j < made.len && !fq; j++)
                if (made.items[j]->in[0] == parts[p] && !memcmp(&made.items[j]->a.quant.fq, &steps, sizeof steps))
                    fq = made.items[j];
            if (!fq) {
                urc_attrs a;
                memset(&a, 0, sizeof a);
                a.quant.fq = steps;
                fq = urc_node_make(g, URC_OP_FAKE_QUANT, urc_fmt("%s/fakequant%d", n->name, p), n->opset, 1, &parts[p],
                                   &a, NULL, &ok);
                URC_VEC_PUSH(made, fq);
                URC_VEC_PUSH(before, i);
            }
            for (int j = 0; j < n->nin; j++) /* the data slots only: a residual input may be the same value */
                if (n->in[j] == parts[p] && (j == 0 || (n->op == URC_OP_FUSED_CONV && j >= 4))) n->in[j] = fq->out[0];
        }
    }
    free(vlo);
    free(vhi);
    if (made.len) urc_graph_place_appended(g, n0, before.items);
    free(made.items);
    free(before.items);
    urc_graph_count_uses(g);
    const char *e = getenv("UNETRC_QUANT_FOLD"); /* 0: no folding (comparisons) */
    if (ok && !(e && !strcmp(e, "0"))) fold_into_producers(g, NULL, fake_quant_folds);
    return ok;
}

/* The data slots of node n that a FakeQuant may feed (place_quant: in[0], FusedConv's X parts). */
static bool data_slot(const urc_node *n, int j) { return j == 0 || (n->op == URC_OP_FUSED_CONV && j >= 4); }

int urc_precision_int8_levels(urc_graph *g, const urc_target *t) {
    const char *e = getenv("UNETRC_QUANT_FOLD");
    if (e && !strcmp(e, "0")) return 0;
    urc_graph_count_uses(g);
    int folded = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *q = g->nodes.items[i];
        if (q->op != URC_OP_FAKE_QUANT || (q->out[0]->flags & URC_VAL_OUTPUT)) continue;
        urc_value *y = q->out[0];
        int readers = 0, uses = 0;
        bool all = true;
        for (int r = 0; r < g->nodes.len && all; r++) { /* every reader multiplies on tiles, y in data slots only */
            urc_node *n = g->nodes.items[r];
            bool reads = false;
            for (int j = 0; j < n->nin; j++)
                if (n->in[j] == y) reads = true, uses++, all = all && data_slot(n, j);
            if (!reads) continue;
            readers++;
            all = all && urc_ops[n->op].impl->int8_levels && urc_ops[n->op].impl->int8_levels(n, t);
        }
        if (!all || !readers || uses != y->nuses) continue;
        for (int r = 0; r < g->nodes.len; r++) {
            urc_node *n = g->nodes.items[r];
            for (int j = 0; j < n->nin; j++) {
                if (n->in[j] != y) continue;
                n->in[j] = q->in[0];
                if (n->op == URC_OP_MATMUL || n->op == URC_OP_GEMM || n->op == URC_OP_FUSED_MATMUL)
                    n->a.gemm.xq = q->a.quant.fq;
                else n->a.conv.xq = q->a.quant.fq;
            }
        }
        urc_node_drop(q);
        folded++;
    }
    if (folded) urc_graph_compact(g);
    urc_graph_count_uses(g);
    return folded;
}

bool urc_precision_calibrate(urc_graph *g, urc_tensor *const *samples, int nsamples, urc_range_fn ranges, void *ctx) {
    urc_value **w;
    int nw = watched(g, &w);
    double *lo = urc_xmalloc(sizeof(double) * (size_t)(nw + 1)), *hi = urc_xmalloc(sizeof(double) * (size_t)(nw + 1));
    bool ok =
        (ranges ? ranges : interp_ranges)(ctx, g, samples, nsamples, w, nw, lo, hi) && place_quant(g, w, lo, hi, nw);
    free(lo);
    free(hi);
    free(w);
    return ok;
}
