/* norm.c: normalisation ops.
 *
 * LayerNormalization, InstanceNormalization, GroupNormalization and
 * BatchNormalization (inference, and training mode: batch statistics and
 * running mean/var outputs, lower_bn_training), plus the internal unetrc.FusedNorm (one of
 * the last three with an activation / residual epilogue, made by
 * passes/fuse_norm.c; see urc_norm_attr in ir/attrs.h).
 *
 * Geometry: X is (N, C, S) with S = prod(spatial), or (N, S, C) when
 * `channels_last` (set by the layout pass). GroupNorm normalises (n, group)
 * sets of C/G channels, InstanceNorm is GroupNorm with G = C, LayerNorm
 * normalises the contiguous rows of X viewed as (outer, inner). Every form
 * ends in y = (x - m) * a + b per (n, channel), where m is the mean, a =
 * invstd * scale (BatchNorm: scale / sqrt(var + eps), m = running mean), b
 * the bias, followed by the epilogue.
 *
 * Statistics are accumulated in double around a shift (the first element
 * of the slice, or of the channel): d = x - K, mean = K + sum(d)/n, var =
 * sum(d^2)/n - (sum(d)/n)^2. One pass over X, no cancellation as long as
 * |mean - K| is not many orders of magnitude above the standard deviation
 * (K is a sample of the data, so it is not).
 *
 * Lowering:
 * - channels-first (and LayerNorm): the slices are contiguous; they run in
 *   parallel, each accumulates its sums in a small array of double lanes
 *   (vectorisable, no loop-carried dependence inside the lane loop), then
 *   normalises its channels in one SIMD loop.
 * - channels-last: per batch item, the voxels are cut into P chunks that run
 *   in parallel; each accumulates per-channel sums vectorised across
 *   channels into a row of a small local array. A serial step adds the rows
 *   up and computes per-channel m, a, b; the normalise pass runs over voxels
 *   in parallel with the channel loop innermost.
 * - the naive twin (channels-last with more channels than the local arrays
 *   may hold): per (n, group) slices with strided loads, two passes.
 * Every form reads an element of X (R, X2) for the last time at the index of
 * Y it then writes, and keeps no scratch in Y: the memory plan may put Y in
 * place over X, R or X2 (in place, the store needs no read-for-ownership of
 * a fresh line: the normalise pass is up to twice as fast).
 * The reference (eval) works on a channels-first double copy of X. */
#include "activation.h"
#include "common.h"
#include "quant.h"
#include "norm_internal.h"
#include "spatial.h"

static bool norm_parse(urc_node *n, urc_attr_list *l) {
    urc_norm_attr *a = &n->a.norm;
    int64_t v;
    a->axis = -1;
    a->stash_type = 1;
    switch (n->op) {
    case URC_OP_LAYER_NORM:
        if (!urc_attr_int(l, "axis", -1, &a->axis) || !urc_attr_float(l, "epsilon", 1e-5, &a->epsilon) ||
            !urc_attr_int(l, "stash_type", 1, &v))
            return false;
        a->stash_type = (int)v;
        return true;
    case URC_OP_INSTANCE_NORM: return urc_attr_float(l, "epsilon", 1e-5, &a->epsilon);
    case URC_OP_BATCH_NORM:
        if (!urc_attr_float(l, "epsilon", 1e-5, &a->epsilon) || !urc_attr_float(l, "momentum", 0.9, &a->momentum))
            return false;
        a->training_mode = 0;
        if (n->opset >= 14) {
            if (!urc_attr_int(l, "training_mode", 0, &v)) return false;
            a->training_mode = v != 0;
        }
        return true;
    case URC_OP_GROUP_NORM:
        if (!urc_attr_int(l, "num_groups", 0, &a->num_groups) || !urc_attr_float(l, "epsilon", 1e-5, &a->epsilon))
            return false;
        if (!urc_attr_has(l, "num_groups")) {
            urc_error(l->where, "attribute 'num_groups' is required");
            return false;
        }
        if (n->opset >= 21) {
            if (!urc_attr_int(l, "stash_type", 1, &v)) return false;
            a->stash_type = (int)v;
        }
        return true;
    default: return true;
    }
}

/* ---- geometry -------------------------------------------------------------- */

/* GroupNorm-18 (and the ONNX functions it came from) give scale and bias
 * per group; GroupNorm-21, and GroupNorms made by norm_patterns, per
 * channel. */
static bool group_per_channel(const urc_node *n) { return n->opset >= 21 || n->a.norm.per_channel; }

static geom norm_geom(const urc_node *n, const urc_shape *xs) {
    geom g = {0};
    g.cl = n->a.norm.channels_last;
    g.N = xs->dims[0];
    g.C = xs->dims[g.cl ? xs->rank - 1 : 1];
    g.S = 1;
    for (int d = 1; d < xs->rank; d++)
        if (d != (g.cl ? xs->rank - 1 : 1)) g.S *= xs->dims[d];
    urc_op op = base_op(n);
    g.G = op == URC_OP_GROUP_NORM ? n->a.norm.num_groups : g.C;
    if (g.G < 1) g.G = 1;
    g.cpg = g.C / g.G;
    g.per_group = op == URC_OP_GROUP_NORM && !group_per_channel(n);
    return g;
}

/* Physical index of element (n, c, s). */
static int64_t phys(const geom *g, int64_t n, int64_t c, int64_t s) {
    return g->cl ? (n * g->S + s) * g->C + c : (n * g->C + c) * g->S + s;
}

/* ---- inference ------------------------------------------------------------ */

/* Reports unless input i is a float tensor of rank 1 with c elements. */
static bool check_vec(const urc_node *n, int i, int64_t c, const char *what) {
    if (!urc_check_dtype(n, i, URC_DTM_FLOAT)) return false;
    const urc_shape *s = &n->in[i]->shape;
    if (s->rank != 1 || s->dims[0] != c) {
        urc_error(urc_node_where(n), "%s ('%s') must have shape [%lld], got %s", what, n->in[i]->name, (long long)c,
                  urc_shape_str(s));
        return false;
    }
    return true;
}

static bool infer_layer_norm(urc_node *n) {
    urc_norm_attr *a = &n->a.norm;
    const char *where = urc_node_where(n);
    const urc_shape *xs = &n->in[0]->shape;
    urc_dtype dt = n->in[0]->dtype;
    if (a->stash_type != 1) {
        urc_error(where, "stash_type %d is not supported (only 1, float)", a->stash_type);
        return false;
    }
    if (!urc_norm_axis(n, a->axis, xs->rank, &a->axis)) return false;
    if (!present(n, 1)) {
        urc_error(where, "input 1 (Scale) is missing");
        return false;
    }
    for (int i = 1; i < 3; i++) {
        if (!present(n, i)) continue;
        if (!urc_check_dtype(n, i, URC_DTM_FLOAT) || !urc_check_same_dtype(n, 0, i)) return false;
        urc_shape o;
        if (!urc_shape_broadcast(xs, &n->in[i]->shape, &o) || !urc_shape_eq(&o, xs)) {
            urc_error(where, "%s ('%s') of shape %s does not broadcast to X of shape %s", i == 1 ? "Scale" : "B",
                      n->in[i]->name, urc_shape_str(&n->in[i]->shape), urc_shape_str(xs));
            return false;
        }
    }
    /* Mean and InvStdDev: X's shape with the normalised dims set to 1, in
     * the stash type (float). */
    urc_shape ss = *xs;
    for (int d = (int)a->axis; d < xs->rank; d++) ss.dims[d] = 1;
    urc_set_out(n, 0, dt, xs);
    urc_set_out(n, 1, URC_DT_F32, &ss);
    urc_set_out(n, 2, URC_DT_F32, &ss);
    return true;
}

/* Instance/Group/BatchNorm inputs 0..4 (FusedNorm: of its base op). */
static bool infer_stat_norm(urc_node *n, urc_op op) {
    urc_norm_attr *a = &n->a.norm;
    const char *where = urc_node_where(n);
    const urc_shape *xs = &n->in[0]->shape;
    if (!urc_check_rank(n, 0, 2, URC_MAX_RANK)) return false;
    geom g = norm_geom(n, xs);
    switch (op) {
    case URC_OP_INSTANCE_NORM:
        for (int i = 1; i < 3; i++)
            if (!check_vec(n, i, g.C, i == 1 ? "scale" : "B") || !urc_check_same_dtype(n, 0, i)) return false;
        return true;
    case URC_OP_GROUP_NORM: {
        if (a->stash_type != 1) {
            urc_error(where, "stash_type %d is not supported (only 1, float)", a->stash_type);
            return false;
        }
        int64_t G = a->num_groups;
        if (G < 1 || g.C % G) {
            urc_error(where, "num_groups %lld must be positive and divide the %lld channels", (long long)G,
                      (long long)g.C);
            return false;
        }
        int64_t pc = group_per_channel(n) ? g.C : G;
        for (int i = 1; i < 3; i++)
            if (!check_vec(n, i, pc, i == 1 ? "scale" : "bias") || !urc_check_same_dtype(n, 0, i)) return false;
        return true;
    }
    case URC_OP_BATCH_NORM: {
        bool extra = false;
        for (int j = 1; j < n->nout; j++) extra |= n->out[j] != NULL;
        /* Before opset 14, extra outputs meant training (BatchNorm-9: running and saved statistics, whose
         * definition differs); from 14 the attribute says it, and the outputs are optional. */
        if (extra && !a->training_mode) {
            urc_error(where, n->opset < 14 ? "running statistics outputs (training) need opset 14 or later"
                                           : "running statistics outputs need training_mode=1");
            return false;
        }
        if (a->training_mode && (n->op != URC_OP_BATCH_NORM || a->channels_last)) {
            urc_error(where, "internal: BatchNormalization in training mode is not fused or channels-last");
            return false;
        }
        if (a->training_mode && g.N * g.S == 0) {
            urc_error(where, "training mode needs a non-empty batch (X has shape %s)", urc_shape_str(xs));
            return false;
        }
        static const char *names[] = {"", "scale", "B", "input_mean", "input_var"};
        for (int i = 1; i < 5; i++)
            if (!check_vec(n, i, g.C, names[i])) return false;
        /* opset 15 lets scale/B (T1) and mean/var (T2) differ from X. */
        if (!urc_check_same_dtype(n, 1, 2) || !urc_check_same_dtype(n, 3, 4)) return false;
        if (n->opset < 15 && (!urc_check_same_dtype(n, 0, 1) || !urc_check_same_dtype(n, 0, 3))) return false;
        for (int j = 1; j < n->nout; j++)
            if (n->out[j]) urc_set_out(n, j, n->in[3]->dtype, &n->in[3]->shape);
        return true;
    }
    default: return false;
    }
}

/* A FusedNorm's head (in[10], in[11]): constant float32 W [M', C] and bias [M'], X float32 and channels-last, Y
 * stored float32; Y's shape into ys. */
static bool head_shape(const urc_node *n, urc_shape *ys) {
    const urc_shape *xs = &n->in[0]->shape;
    const urc_value *w = n->in[10], *b = present(n, 11) ? n->in[11] : NULL;
    int r = xs->rank;
    if (!w->data || w->dtype != URC_DT_F32 || w->shape.rank != 2 || w->shape.dims[1] != xs->dims[r - 1] ||
        (b && (!b->data || b->dtype != URC_DT_F32 || b->shape.rank != 1 || b->shape.dims[0] != w->shape.dims[0])) ||
        !n->a.norm.channels_last || n->in[0]->dtype != URC_DT_F32 || n->ydtype || n->a.norm.quant.scale != 0)
        return false;
    *ys = *xs;
    ys->dims[r - 1] = w->shape.dims[0];
    if (n->a.norm.head_y_first) *ys = urc_sp_to_first(ys);
    return true;
}

static bool infer_head(const urc_node *n) {
    urc_shape ys;
    if (head_shape(n, &ys)) return true;
    urc_error(urc_node_where(n), "internal: FusedNorm head %s for X %s", urc_shape_str(&n->in[10]->shape),
              urc_shape_str(&n->in[0]->shape));
    return false;
}

static bool infer_fused(urc_node *n) {
    const urc_norm_attr *a = &n->a.norm;
    const char *where = urc_node_where(n);
    urc_op op = base_op(n);
    if (op != URC_OP_INSTANCE_NORM && op != URC_OP_GROUP_NORM && op != URC_OP_BATCH_NORM) {
        urc_error(where, "internal: FusedNorm of unsupported base op %d", (int)op);
        return false;
    }
    bool bn = op == URC_OP_BATCH_NORM;
    if (!bn && (present(n, 3) || present(n, 4))) {
        urc_error(where, "internal: FusedNorm inputs 3/4 are for BatchNorm only");
        return false;
    }
    int nbase = a->residual == 0 ? 5 : a->residual == 1 ? 6 : 8; /* (then 8, 9: the statistics of X and X2) */
    bool wide = n->nin == 10 || n->nin == 12 || n->nin == 13;    /* (8, 9: statistics; 10, 11: the head; 12: X2's W) */
    for (int i = nbase; wide && i < 8; i++) wide = !n->in[i];
    if (!urc_act_valid(a->act) || !urc_act_valid(a->post_act) || a->residual < 0 || a->residual > 2 ||
        (n->nin != nbase && !wide) || (a->residual == 2 && bn) || (a->residual == 0 && a->post_act != URC_ACT_NONE) ||
        ((present(n, 8) || present(n, 9)) && (bn || !a->channels_last)) || (present(n, 9) && a->residual != 2)) {
        urc_error(where, "internal: inconsistent FusedNorm attributes");
        return false;
    }
    if (!infer_stat_norm(n, op)) return false;
    const urc_value *x = n->in[0];
    if (a->quant.scale != 0 && (!urc_fq_valid(a->quant) || n->ydtype || x->dtype != URC_DT_F32)) {
        urc_error(where, "internal: FusedNorm fake quantisation (scale %g) of a %s output", (double)a->quant.scale,
                  urc_dtype_name(n->ydtype ? n->ydtype : x->dtype));
        return false;
    }
    if (present(n, 12)) { /* (X2 = in[5] . W^T: an InstanceNorm's residual 2, no head; W [C, C2, 1...] float32) */
        const urc_value *w = n->in[12], *x2 = n->in[5];
        int r = x->shape.rank;
        bool ok = a->residual == 2 && op == URC_OP_INSTANCE_NORM && a->channels_last && !present(n, 10) && w->data &&
                  w->dtype == URC_DT_F32 && w->shape.rank >= 2 && w->shape.dims[0] == x->shape.dims[r - 1] &&
                  x2->shape.rank == r && x2->shape.dims[r - 1] == w->shape.dims[1] && x2->dtype == URC_DT_F32;
        for (int d = 0; ok && d < r - 1; d++) ok = x2->shape.dims[d] == x->shape.dims[d];
        for (int d = 2; ok && d < w->shape.rank; d++) ok = w->shape.dims[d] == 1; /* (a 1x1 kernel's W as is) */
        if (!ok) {
            urc_error(where, "internal: FusedNorm pointwise X2 %s with W %s for X %s", urc_shape_str(&x2->shape),
                      urc_shape_str(&w->shape), urc_shape_str(&x->shape));
            return false;
        }
    } else if (a->residual) {
        if (!urc_check_dtype(n, 5, URC_DTM_FLOAT) || !urc_check_same_dtype(n, 0, 5)) return false;
        if (!urc_shape_eq(&n->in[5]->shape, &x->shape)) {
            urc_error(where, "residual ('%s') of shape %s must have X's shape %s", n->in[5]->name,
                      urc_shape_str(&n->in[5]->shape), urc_shape_str(&x->shape));
            return false;
        }
    }
    if (present(n, 10) && !infer_head(n)) return false;
    for (int i = 8; wide && i < 10; i++) { /* [N, P, 2, C] float64 (a tile convolution's: urc_conv_attr stat_parts) */
        const urc_shape *ss = present(n, i) ? &n->in[i]->shape : NULL;
        int r = x->shape.rank;
        if (ss && (n->in[i]->dtype != URC_DT_F64 || ss->rank != 4 || ss->dims[0] != x->shape.dims[0] ||
                   ss->dims[2] != 2 || ss->dims[3] != x->shape.dims[r - 1])) {
            urc_error(where, "internal: FusedNorm statistics %s of %s for X %s", urc_shape_str(ss),
                      urc_dtype_name(n->in[i]->dtype), urc_shape_str(&x->shape));
            return false;
        }
    }
    if (a->residual == 2) {
        geom g = norm_geom(n, &x->shape);
        int64_t pc = g.per_group ? g.G : g.C;
        for (int i = 6; i < 8; i++)
            if (!check_vec(n, i, pc, i == 6 ? "scale2" : "bias2") || !urc_check_same_dtype(n, 0, i)) return false;
        if (a->epsilon2 < 0 || isnan(a->epsilon2)) {
            urc_error(where, "epsilon2 must be non-negative, got %g", a->epsilon2);
            return false;
        }
    }
    return true;
}

static bool norm_infer(urc_node *n) {
    urc_norm_attr *a = &n->a.norm;
    const char *where = urc_node_where(n);
    if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0)) return false;
    if (a->epsilon < 0 || isnan(a->epsilon)) {
        urc_error(where, "epsilon must be non-negative, got %g", a->epsilon);
        return false;
    }
    if (n->op == URC_OP_LAYER_NORM) return infer_layer_norm(n);
    bool ok = n->op == URC_OP_FUSED_NORM ? infer_fused(n) : infer_stat_norm(n, n->op);
    if (!ok) return false;
    urc_shape hs;
    bool head = n->op == URC_OP_FUSED_NORM && present(n, 10) && head_shape(n, &hs);
    urc_set_out(n, 0, n->in[0]->dtype, head ? &hs : &n->in[0]->shape);
    return true;
}

/* ---- reference ------------------------------------------------------------ */

/* Mean and 1/sqrt(var + eps) of x[base .. base+len), two passes in double. */
static void ref_stats(const double *x, int64_t len, double eps, double *mean, double *inv) {
    double s = 0, q = 0;
    for (int64_t i = 0; i < len; i++) s += x[i];
    *mean = s / (double)len;
    for (int64_t i = 0; i < len; i++) q += (x[i] - *mean) * (x[i] - *mean);
    *inv = 1 / sqrt(q / (double)len + eps);
}

static double elem(const urc_tensor *t, int64_t i) { return urc_elem_f64(t->dtype, t->data, i); }

/* X as doubles in channels-first order (N, C, S). */
static double *cf_copy(const urc_tensor *x, const geom *g) {
    int64_t total = g->N * g->C * g->S;
    double *d = urc_xmalloc(sizeof(double) * (size_t)(total ? total : 1));
    for (int64_t n = 0, i = 0; n < g->N; n++)
        for (int64_t c = 0; c < g->C; c++)
            for (int64_t s = 0; s < g->S; s++, i++) d[i] = elem(x, phys(g, n, c, s));
    return d;
}

/* Instance/Group/BatchNorm of x (channels-first doubles) into y. */
static void ref_norm(urc_op op, const geom *g, const double *x, double eps, const urc_tensor *sc, const urc_tensor *b,
                     const urc_tensor *mean, const urc_tensor *var, double *y) {
    int64_t N = g->N, C = g->C, S = g->S;
    if (op == URC_OP_BATCH_NORM) {
        for (int64_t i = 0; i < N * C * S; i++) {
            int64_t c = i / S % C;
            y[i] = (x[i] - elem(mean, c)) / sqrt(elem(var, c) + eps) * elem(sc, c) + elem(b, c);
        }
        return;
    }
    int64_t G = g->G, cpg = g->cpg, len = cpg * S;
    for (int64_t sl = 0; sl < N * G; sl++) {
        double m, inv;
        ref_stats(x + sl * len, len, eps, &m, &inv);
        for (int64_t e = 0; e < len; e++) {
            int64_t p = g->per_group ? sl % G : (sl % G) * cpg + e / S;
            int64_t i = sl * len + e;
            y[i] = (x[i] - m) * inv * elem(sc, p) + elem(b, p);
        }
    }
}

static bool eval_layer_norm(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_norm_attr *a = &n->a.norm;
    const urc_tensor *x = in[0];
    urc_tensor *y = out[0];
    const urc_shape *xs = &x->shape;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < xs->rank; d++) *(d < a->axis ? &outer : &inner) *= xs->dims[d];
    const urc_tensor *sc = in[1], *b = n->nin > 2 ? in[2] : NULL;
    double *row = urc_xmalloc(sizeof(double) * (size_t)(inner ? inner : 1));
    for (int64_t s = 0; s < outer; s++) {
        double mean, inv;
        for (int64_t i = 0; i < inner; i++) row[i] = elem(x, s * inner + i);
        ref_stats(row, inner, a->epsilon, &mean, &inv);
        if (n->nout > 1 && out[1]) urc_elem_set_f64(out[1]->dtype, out[1]->data, s, mean);
        if (n->nout > 2 && out[2]) urc_elem_set_f64(out[2]->dtype, out[2]->data, s, inv);
        for (int64_t i = s * inner; i < (s + 1) * inner; i++) {
            double v = (elem(x, i) - mean) * inv * elem(sc, urc_bcast_offset(xs, &sc->shape, i));
            if (b) v += elem(b, urc_bcast_offset(xs, &b->shape, i));
            urc_elem_set_f64(y->dtype, y->data, i, v);
        }
    }
    free(row);
    return true;
}

/* BatchNorm in training mode (opset 14+): per channel, the mean and the
 * (biased) variance over N and the spatial dims normalise X, and the
 * running statistics move towards them:
 *   out_mean = input_mean * momentum + mean * (1 - momentum)   (out_var alike). */
static void eval_bn_training(const urc_node *n, const geom *g, const double *x, urc_tensor *const *in,
                             urc_tensor *const *out) {
    const urc_norm_attr *a = &n->a.norm;
    int64_t N = g->N, C = g->C, S = g->S;
    for (int64_t c = 0; c < C; c++) {
        double s = 0, q = 0, cnt = (double)(N * S);
        for (int64_t nb = 0; nb < N; nb++)
            for (int64_t i = 0; i < S; i++) s += x[(nb * C + c) * S + i];
        double mean = s / cnt;
        for (int64_t nb = 0; nb < N; nb++)
            for (int64_t i = 0; i < S; i++) q += (x[(nb * C + c) * S + i] - mean) * (x[(nb * C + c) * S + i] - mean);
        double var = q / cnt, sc = elem(in[1], c) / sqrt(var + a->epsilon), b = elem(in[2], c);
        for (int64_t nb = 0; nb < N; nb++)
            for (int64_t i = 0; i < S; i++) {
                int64_t k = (nb * C + c) * S + i;
                urc_elem_set_f64(out[0]->dtype, out[0]->data, k, (x[k] - mean) * sc + b);
            }
        double mo = a->momentum;
        if (n->nout > 1 && out[1])
            urc_elem_set_f64(out[1]->dtype, out[1]->data, c, elem(in[3], c) * mo + mean * (1 - mo));
        if (n->nout > 2 && out[2])
            urc_elem_set_f64(out[2]->dtype, out[2]->data, c, elem(in[4], c) * mo + var * (1 - mo));
    }
}

/* FusedNorm in[12]: X2 = x2 . W^T (x2 [N, S, C2] channels-last, W [C, C2]) as channels-first doubles (N, C, S). */
static double *pointwise_x2(const urc_tensor *x2, const urc_tensor *w, const geom *g) {
    int64_t C2 = w->shape.dims[1], total = g->N * g->C * g->S;
    double *d = urc_xmalloc(sizeof(double) * (size_t)(total ? total : 1));
    for (int64_t n = 0, i = 0; n < g->N; n++)
        for (int64_t c = 0; c < g->C; c++)
            for (int64_t s = 0; s < g->S; s++, i++) {
                double v = 0;
                for (int64_t j = 0; j < C2; j++) v += elem(w, c * C2 + j) * elem(x2, (n * g->S + s) * C2 + j);
                d[i] = v;
            }
    return d;
}

static bool norm_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_norm_attr *a = &n->a.norm;
    if (n->op == URC_OP_LAYER_NORM) return eval_layer_norm(n, in, out);
    urc_op op = base_op(n);
    geom g = norm_geom(n, &in[0]->shape);
    int64_t total = g.N * g.C * g.S;
    double *x = cf_copy(in[0], &g);
    double *t = urc_xmalloc(sizeof(double) * (size_t)(total ? total : 1));
    bool bn = op == URC_OP_BATCH_NORM;
    if (bn && a->training_mode) {
        eval_bn_training(n, &g, x, in, out);
        free(x);
        free(t);
        return true;
    }
    /* (FusedNorm in[8], in[9], the statistics of X and X2 from tile convolutions: the reference computes them) */
    ref_norm(op, &g, x, a->epsilon, in[1], in[2], bn ? in[3] : NULL, bn ? in[4] : NULL, t);
    bool fused = n->op == URC_OP_FUSED_NORM;
    double *t2 = NULL;
    if (fused && a->residual == 2) {
        double *x2 = present(n, 12) ? pointwise_x2(in[5], in[12], &g) : cf_copy(in[5], &g);
        t2 = urc_xmalloc(sizeof(double) * (size_t)(total ? total : 1));
        ref_norm(op, &g, x2, a->epsilon2, in[6], in[7], NULL, NULL, t2);
        free(x2);
    }
    urc_tensor *y = out[0];
    bool head = fused && present(n, 10);
    for (int64_t nb = 0, i = 0; nb < g.N; nb++)
        for (int64_t c = 0; c < g.C; c++)
            for (int64_t s = 0; s < g.S; s++, i++) {
                int64_t pi = phys(&g, nb, c, s);
                double v = t[i];
                if (fused) {
                    v = urc_act_ref(a->act, a->act_alpha, v);
                    if (a->residual == 1) v += elem(in[5], pi);
                    if (a->residual == 2) v += t2[i];
                    v = urc_act_ref(a->post_act, a->post_alpha, v);
                    if (a->quant.scale > 0) v = urc_fake_quant((float)v, a->quant);
                }
                if (head) t[i] = (float)v; /* (the values the head reads, stored float32 without it) */
                else urc_elem_set_f64(y->dtype, y->data, pi, v);
            }
    if (head) /* y[n, m, s] = b[m] + sum over c of W[m, c] * t[n, c, s] (channels-last: y[n, s, m]) */
        for (int64_t nb = 0, M = in[10]->shape.dims[0]; nb < g.N; nb++)
            for (int64_t m = 0; m < M; m++)
                for (int64_t s = 0; s < g.S; s++) {
                    double v = present(n, 11) ? elem(in[11], m) : 0;
                    for (int64_t c = 0; c < g.C; c++) v += elem(in[10], m * g.C + c) * t[(nb * g.C + c) * g.S + s];
                    urc_elem_set_f64(y->dtype, y->data,
                                     a->head_y_first ? (nb * M + m) * g.S + s : (nb * g.S + s) * M + m, v);
                }
    free(x);
    free(t);
    free(t2);
    return true;
}

/* ---- lowering helpers ------------------------------------------------------- */

/* Element idx of an input: a literal for one-element constants, else a
 * load from a buffer named hint. */
urc_lx *urc_norm_param(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint, urc_lx *idx) {
    if (v->data && urc_shape_numel(&v->shape) == 1) return urc_lower_load(L, k, v, idx);
    return urc_lx_load(k, urc_lower_in(L, k, v, hint), idx);
}

/* Lanes of double accumulators for a contiguous run: two vectors' worth
 * (independent add chains; the sums stay exact enough in double). */
static int stat_lanes(const urc_lower *L) {
    int l = L->target ? 2 * L->target->vector_bits / 64 : 8;
    return l < 4 ? 4 : l;
}

/* The statistics of the contiguous run x[base .. base+len) as double
 * locals, in one pass around the shift K = x[base]:
 *   d = x - K;  mean = K + sum(d)/len;  inv = 1/sqrt(max(sum(d^2)/len - (sum(d)/len)^2, 0) + eps). */
static void emit_run_stats(urc_lower *L, urc_kernel *k, urc_ls *body, int bx, urc_lx *base, int64_t len, double eps,
                           int *mean, int *inv) {
    int lanes = stat_lanes(L);
    int64_t nblk = len / lanes;
    if (nblk < 2) lanes = 1, nblk = len;
    int K = urc_ls_let(k, body, "K", URC_DT_F64, f64(urc_lx_load(k, bx, base)));
    int sum, sq;
    if (lanes > 1) {
        int bs = urc_kernel_local(k, "ls", URC_DT_F64, lanes), bq = urc_kernel_local(k, "lq", URC_DT_F64, lanes);
        urc_ls_array(body, k, bs);
        urc_ls_array(body, k, bq);
        int l = urc_kernel_var(k, "l", URC_DT_I64), i = urc_kernel_var(k, "i", URC_DT_I64);
        urc_ls *z = urc_ls_for(body, l, ilit(0), ilit(lanes), 1, URC_FOR_VECTOR);
        urc_ls_store(z, bs, var(k, l), dlit(0));
        urc_ls_store(z, bq, var(k, l), dlit(0));
        urc_ls *li = urc_ls_for(body, i, ilit(0), ilit(nblk * lanes), lanes, 0);
        urc_ls *ll = urc_ls_for(li, l, ilit(0), ilit(lanes), 1, URC_FOR_VECTOR);
        int d = urc_ls_let(
            k, ll, "d", URC_DT_F64,
            bin(URC_L_SUB, f64(urc_lx_load(k, bx, urc_add(base, urc_add(var(k, i), var(k, l))))), var(k, K)));
        urc_ls_accum(ll, bs, var(k, l), var(k, d));
        urc_ls_accum(ll, bq, var(k, l), bin(URC_L_MUL, var(k, d), var(k, d)));
        sum = urc_ls_let(k, body, "sum", URC_DT_F64, dlit(0));
        sq = urc_ls_let(k, body, "sq", URC_DT_F64, dlit(0));
        if (nblk * lanes < len) {
            urc_ls *lt = urc_ls_for(body, i, ilit(nblk * lanes), ilit(len), 1, 0);
            int dt_ = urc_ls_let(k, lt, "d", URC_DT_F64,
                                 bin(URC_L_SUB, f64(urc_lx_load(k, bx, urc_add(base, var(k, i)))), var(k, K)));
            urc_ls_assign(lt, sum, bin(URC_L_ADD, var(k, sum), var(k, dt_)));
            urc_ls_assign(lt, sq, bin(URC_L_ADD, var(k, sq), bin(URC_L_MUL, var(k, dt_), var(k, dt_))));
        }
        urc_ls *lr = urc_ls_for(body, l, ilit(0), ilit(lanes), 1, URC_FOR_UNROLL);
        urc_ls_assign(lr, sum, bin(URC_L_ADD, var(k, sum), urc_lx_load(k, bs, var(k, l))));
        urc_ls_assign(lr, sq, bin(URC_L_ADD, var(k, sq), urc_lx_load(k, bq, var(k, l))));
    } else {
        int i = urc_kernel_var(k, "i", URC_DT_I64);
        sum = urc_ls_let(k, body, "sum", URC_DT_F64, dlit(0));
        sq = urc_ls_let(k, body, "sq", URC_DT_F64, dlit(0));
        urc_ls *lt = urc_ls_for(body, i, ilit(0), ilit(len), 1, 0);
        int d = urc_ls_let(k, lt, "d", URC_DT_F64,
                           bin(URC_L_SUB, f64(urc_lx_load(k, bx, urc_add(base, var(k, i)))), var(k, K)));
        urc_ls_assign(lt, sum, bin(URC_L_ADD, var(k, sum), var(k, d)));
        urc_ls_assign(lt, sq, bin(URC_L_ADD, var(k, sq), bin(URC_L_MUL, var(k, d), var(k, d))));
    }
    urc_lx *n = dlit((double)len);
    int md = urc_ls_let(k, body, "md", URC_DT_F64, bin(URC_L_DIV, var(k, sum), n));
    urc_lx *v = bin(URC_L_SUB, bin(URC_L_DIV, var(k, sq), n), bin(URC_L_MUL, var(k, md), var(k, md)));
    int vr = urc_ls_let(k, body, "var", URC_DT_F64, bin(URC_L_MAX, v, dlit(0)));
    *mean = urc_ls_let(k, body, "mean", URC_DT_F64, bin(URC_L_ADD, var(k, K), var(k, md)));
    *inv = urc_ls_let(k, body, "inv", URC_DT_F64,
                      bin(URC_L_DIV, dlit(1), urc_lx_un(URC_L_SQRT, bin(URC_L_ADD, var(k, vr), dlit(eps)))));
}

epilogue urc_norm_epilogue(urc_lower *L, urc_kernel *k, const urc_node *n) {
    epilogue e = {URC_ACT_NONE, URC_ACT_NONE, 0, 0, 0, -1, URC_DT_F32, {0, 0, 0}, NULL};
    if (n->op != URC_OP_FUSED_NORM) return e;
    if (n->out[0]->dtype == URC_DT_BF16) e.ydt = URC_DT_BF16; /* (n->ydtype: a Cast folded in) */
    e.q = n->a.norm.quant;
    const urc_norm_attr *a = &n->a.norm;
    e.act = a->act;
    e.post = a->post_act;
    e.act_alpha = a->act_alpha;
    e.post_alpha = a->post_alpha;
    e.residual = a->residual;
    if (a->residual) e.br = urc_lower_in(L, k, n->in[5], a->residual == 1 ? "r" : "x2");
    return e;
}

static urc_lx *affine(urc_lx *x, urc_lx *m, urc_lx *a, urc_lx *b) {
    return bin(URC_L_ADD, bin(URC_L_MUL, bin(URC_L_SUB, x, m), a), b);
}

/* The value stored at index idx; m/a/b (and m2/a2/b2) are expressions.
 * The activations (ops/activation.c) declare their locals in `at`. */
urc_lx *urc_norm_value(urc_kernel *k, urc_ls *at, const epilogue *e, int bx, urc_lx *idx, urc_lx *const *mab,
                       urc_lx *const *mab2) {
    urc_lx *t = affine(urc_lx_load(k, bx, idx), mab[0], mab[1], mab[2]);
    t = urc_act_lx(k, at, e->act, e->act_alpha, t);
    if (e->residual == 1) t = bin(URC_L_ADD, t, urc_lx_load(k, e->br, idx));
    if (e->residual == 2) t = bin(URC_L_ADD, t, affine(urc_lx_load(k, e->br, idx), mab2[0], mab2[1], mab2[2]));
    if (e->residual == 3) t = bin(URC_L_ADD, t, e->r3);
    t = urc_act_lx(k, at, e->post, e->post_alpha, t);
    if (e->ydt != URC_DT_BF16 && !(e->q.scale > 0)) return t;
    urc_lx *f = t->dt == URC_DT_F32 ? t : urc_lx_cast(URC_DT_F32, t);
    return e->q.scale > 0 ? urc_fake_quant_lx(f, e->q) : urc_lx_cast(URC_DT_BF16, f);
}

/* ---- LayerNorm ----------------------------------------------------------------- */

/* Index into a LayerNorm Scale/B of shape p broadcast to X of shape xs:
 * outer dims (before axis) come from slice s, inner dims from iv. */
static urc_lx *ln_bcast_index(const urc_kernel *k, const urc_shape *xs, int axis, int s, const int *iv,
                              const urc_shape *p) {
    const urc_lx *idx[URC_MAX_RANK];
    int off = xs->rank - p->rank;
    for (int d = 0; d < p->rank; d++) {
        int D = d + off;
        if (p->dims[d] == 1) {
            idx[d] = ilit(0);
        } else if (D >= axis) {
            idx[d] = var(k, iv[D - axis]);
        } else {
            int64_t stride = 1; /* of dim D within the outer dims */
            for (int e = D + 1; e < axis; e++) stride *= xs->dims[e];
            urc_lx *q = stride == 1 ? var(k, s) : bin(URC_L_DIV, var(k, s), ilit(stride));
            idx[d] = D == 0 ? q : bin(URC_L_REM, q, ilit(xs->dims[D]));
        }
    }
    return urc_index(idx, p);
}

/* True when a Scale/B of shape p indexes like the flat inner index (same
 * shape as the normalised dims, up to leading 1s) or is a single value. */
static bool ln_flat_param(const urc_shape *xs, int axis, const urc_shape *p) {
    if (urc_shape_numel(p) == 1) return true;
    int lead = 0;
    while (lead < p->rank && p->dims[lead] == 1) lead++;
    int rest = p->rank - lead, inner_rank = xs->rank - axis;
    int xlead = axis;
    while (xlead < xs->rank && xs->dims[xlead] == 1) xlead++;
    if (rest != xs->rank - xlead || rest > inner_rank) return false;
    for (int d = 0; d < rest; d++)
        if (p->dims[lead + d] != xs->dims[xlead + d]) return false;
    return true;
}

static bool lower_layer_norm(urc_lower *L, const urc_node *n) {
    const urc_norm_attr *a = &n->a.norm;
    const urc_value *xv = n->in[0], *sv = n->in[1], *bv = n->nin > 2 ? n->in[2] : NULL;
    const urc_value *mv = n->nout > 1 ? n->out[1] : NULL, *iv_ = n->nout > 2 ? n->out[2] : NULL;
    const urc_shape *xs = &xv->shape;
    urc_dtype dt = xv->dtype;
    int axis = (int)a->axis;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < xs->rank; d++) *(d < axis ? &outer : &inner) *= xs->dims[d];
    urc_kernel *k = urc_lower_begin(L, n);
    if (outer * inner == 0) return true;
    int bx = urc_lower_in(L, k, xv, "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    int bm = mv ? urc_lower_out(L, k, mv, "mean_out") : -1;
    int bi = iv_ ? urc_lower_out(L, k, iv_, "invstd_out") : -1;
    int s = urc_kernel_var(k, "s", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, s, ilit(0), ilit(outer), 1, URC_FOR_PARALLEL);
    int base = urc_ls_let(k, body, "base", URC_DT_I64, urc_muli(var(k, s), inner));
    int mean, inv;
    emit_run_stats(L, k, body, bx, var(k, base), inner, a->epsilon, &mean, &inv);
    if (bm >= 0) urc_ls_store(body, bm, var(k, s), urc_lx_cast(URC_DT_F32, var(k, mean)));
    if (bi >= 0) urc_ls_store(body, bi, var(k, s), urc_lx_cast(URC_DT_F32, var(k, inv)));
    int mf = urc_ls_let(k, body, "m", dt, urc_lx_cast(dt, var(k, mean)));
    int rf = urc_ls_let(k, body, "r", dt, urc_lx_cast(dt, var(k, inv)));
    /* y = (x - m) * r * scale + B over the slice: one flat loop when the
     * parameters index like the slice, else a nest over the normalised dims. */
    bool flat = ln_flat_param(xs, axis, &sv->shape) && (!bv || ln_flat_param(xs, axis, &bv->shape));
    urc_lx *pos, *si, *bidx = NULL;
    urc_ls *lb;
    if (flat) {
        int i = urc_kernel_var(k, "i", URC_DT_I64);
        lb = urc_ls_for(body, i, ilit(0), ilit(inner), 1, URC_FOR_SIMD | URC_FOR_VECTOR);
        pos = var(k, i);
        si = urc_shape_numel(&sv->shape) == 1 ? ilit(0) : pos;
        if (bv) bidx = urc_shape_numel(&bv->shape) == 1 ? ilit(0) : pos;
    } else {
        urc_shape ins = {xs->rank - axis, {0}};
        for (int d = axis; d < xs->rank; d++) ins.dims[d - axis] = xs->dims[d];
        int iv[URC_MAX_RANK];
        lb = urc_loop_nest(k, body, &ins, iv, 0);
        pos = urc_index_vars(k, iv, &ins);
        si = ln_bcast_index(k, xs, axis, s, iv, &sv->shape);
        if (bv) bidx = ln_bcast_index(k, xs, axis, s, iv, &bv->shape);
    }
    urc_lx *xi = urc_add(var(k, base), pos);
    urc_lx *yv = bin(URC_L_MUL, bin(URC_L_MUL, bin(URC_L_SUB, urc_lx_load(k, bx, xi), var(k, mf)), var(k, rf)),
                     urc_norm_param(L, k, sv, "scale", si));
    if (bv) yv = bin(URC_L_ADD, yv, urc_norm_param(L, k, bv, "bias", bidx));
    urc_ls_store(lb, by, xi, urc_lx_cast(n->out[0]->dtype, yv)); /* (bf16: a Cast folded in, norm_bf16_store) */
    return true;
}

/* ---- Instance/Group/BatchNorm and FusedNorm ---------------------------------- */

urc_lx *urc_norm_pload(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint, urc_lx *idx) {
    return f64(urc_norm_param(L, k, v, hint, idx));
}

/* BatchNorm coefficients of channel c as declared dt locals m, a, b. */
void urc_norm_bn_coeffs(urc_lower *L, urc_kernel *k, urc_ls *body, const normp *p, urc_lx *c, urc_dtype dt, int *mab) {
    urc_lx *sd = urc_lx_un(URC_L_SQRT, bin(URC_L_ADD, urc_norm_pload(L, k, p->var, "var", c), dlit(p->eps)));
    mab[0] = urc_ls_let(k, body, "m", dt, urc_lx_cast(dt, urc_norm_param(L, k, p->mean, "mean", c)));
    mab[1] =
        urc_ls_let(k, body, "a", dt, urc_lx_cast(dt, bin(URC_L_DIV, urc_norm_pload(L, k, p->scale, "scale", c), sd)));
    mab[2] = urc_ls_let(k, body, "b", dt, urc_lx_cast(dt, urc_norm_param(L, k, p->bias, "bias", c)));
}

/* The normalisation y = (x - m) * a + b of each of the nnorm norms as
 * locals declared in body: m[j] = {m, a, b}. BatchNorm from its running
 * statistics at channel c; Instance/GroupNorm from the computed mean and
 * 1/std (locals mean[j], inv[j]) and scale/bias at p. */
static void coeffs(urc_lower *L, urc_kernel *k, urc_ls *body, const normp *np, int nnorm, bool bn, urc_lx *c, urc_lx *p,
                   urc_dtype dt, const int *mean, const int *inv, urc_lx *m[2][3]) {
    for (int j = 0; j < nnorm; j++) {
        int mab[3];
        if (bn) {
            urc_norm_bn_coeffs(L, k, body, &np[j], c, dt, mab);
        } else {
            mab[0] = urc_ls_let(k, body, "m", dt, urc_lx_cast(dt, var(k, mean[j])));
            mab[1] = urc_ls_let(
                k, body, "a", dt,
                urc_lx_cast(dt, bin(URC_L_MUL, var(k, inv[j]), urc_norm_pload(L, k, np[j].scale, "scale", p))));
            mab[2] = urc_ls_let(k, body, "b", dt, urc_lx_cast(dt, urc_norm_param(L, k, np[j].bias, "bias", p)));
        }
        for (int q = 0; q < 3; q++) m[j][q] = var(k, mab[q]);
    }
}

/* Channels-first: slices (n, group) [Instance/GroupNorm] or (n, channel)
 * [BatchNorm] are contiguous; they run in parallel. */
static bool lower_cf(urc_lower *L, const urc_node *n, const geom *g, const normp *np, int nnorm) {
    urc_op op = base_op(n);
    bool bn = op == URC_OP_BATCH_NORM;
    urc_dtype dt = np[0].x->dtype;
    urc_kernel *k = urc_lower_begin(L, n);
    if (g->N * g->C * g->S == 0) return true;
    int bx[2];
    for (int j = 0; j < nnorm; j++) bx[j] = urc_lower_in(L, k, np[j].x, j ? "x2" : "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    epilogue e = urc_norm_epilogue(L, k, n);
    int64_t G = bn ? g->C : g->G, cpg = bn ? 1 : g->cpg, len = cpg * g->S;
    int sl = urc_kernel_var(k, "sl", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, sl, ilit(0), ilit(g->N * G), 1, URC_FOR_PARALLEL);
    int base = urc_ls_let(k, body, "base", URC_DT_I64, urc_muli(var(k, sl), len));
    urc_lx *grp = G == 1 ? ilit(0) : bin(URC_L_REM, var(k, sl), ilit(G));
    int mean[2] = {-1, -1}, inv[2] = {-1, -1};
    if (!bn)
        for (int j = 0; j < nnorm; j++)
            emit_run_stats(L, k, body, bx[j], var(k, base), len, np[j].eps, &mean[j], &inv[j]);
    /* Per channel (or per group when scale/bias are per group): m, a, b. */
    urc_ls *cb = body;
    urc_lx *first = var(k, base), *p = grp;
    int64_t run = len;
    if (!bn && !g->per_group && cpg > 1) {
        int cc = urc_kernel_var(k, "cc", URC_DT_I64);
        cb = urc_ls_for(body, cc, ilit(0), ilit(cpg), 1, 0);
        p = urc_add(urc_muli(grp, cpg), var(k, cc));
        first = urc_add(var(k, base), urc_muli(var(k, cc), g->S));
        run = g->S;
    }
    urc_lx *m[2][3] = {{0}};
    coeffs(L, k, cb, np, nnorm, bn, p, p, dt, mean, inv, m);
    int i = urc_kernel_var(k, "i", URC_DT_I64);
    urc_ls *lb = urc_ls_for(cb, i, ilit(0), ilit(run), 1, URC_FOR_SIMD | URC_FOR_VECTOR);
    urc_lx *xi = urc_add(first, var(k, i));
    urc_ls_store(lb, by, xi, urc_norm_value(k, lb, &e, bx[0], xi, m[0], m[1]));
    return true;
}

/* BatchNorm in training mode (channels-first): channels run in parallel;
 * each gathers its statistics over the N runs of S elements around the
 * shift K = its first element (as emit_run_stats), normalises them and
 * writes its running mean/var outputs. */
static bool lower_bn_training(urc_lower *L, const urc_node *n, const geom *g) {
    const urc_norm_attr *a = &n->a.norm;
    urc_dtype dt = n->in[0]->dtype;
    urc_kernel *k = urc_lower_begin(L, n);
    int64_t C = g->C, S = g->S;
    int bx = urc_lower_in(L, k, n->in[0], "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    int bm = n->nout > 1 && n->out[1] ? urc_lower_out(L, k, n->out[1], "running_mean") : -1;
    int bv = n->nout > 2 && n->out[2] ? urc_lower_out(L, k, n->out[2], "running_var") : -1;
    int c = urc_kernel_var(k, "c", URC_DT_I64), nb = urc_kernel_var(k, "nb", URC_DT_I64);
    int i = urc_kernel_var(k, "i", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, c, ilit(0), ilit(C), 1, URC_FOR_PARALLEL);
    int K = urc_ls_let(k, body, "K", URC_DT_F64, f64(urc_lx_load(k, bx, urc_muli(var(k, c), S))));
    int sum = urc_ls_let(k, body, "sum", URC_DT_F64, dlit(0)), sq = urc_ls_let(k, body, "sq", URC_DT_F64, dlit(0));
    urc_ls *ln = urc_ls_for(body, nb, ilit(0), ilit(g->N), 1, 0);
    int base = urc_ls_let(k, ln, "base", URC_DT_I64, urc_muli(urc_add(urc_muli(var(k, nb), C), var(k, c)), S));
    urc_ls *li = urc_ls_for(ln, i, ilit(0), ilit(S), 1, 0);
    int d = urc_ls_let(k, li, "d", URC_DT_F64,
                       bin(URC_L_SUB, f64(urc_lx_load(k, bx, urc_add(var(k, base), var(k, i)))), var(k, K)));
    urc_ls_assign(li, sum, bin(URC_L_ADD, var(k, sum), var(k, d)));
    urc_ls_assign(li, sq, bin(URC_L_ADD, var(k, sq), bin(URC_L_MUL, var(k, d), var(k, d))));
    urc_lx *cnt = dlit((double)(g->N * S));
    int md = urc_ls_let(k, body, "md", URC_DT_F64, bin(URC_L_DIV, var(k, sum), cnt));
    urc_lx *v = bin(URC_L_SUB, bin(URC_L_DIV, var(k, sq), cnt), bin(URC_L_MUL, var(k, md), var(k, md)));
    int vr = urc_ls_let(k, body, "var", URC_DT_F64, bin(URC_L_MAX, v, dlit(0)));
    int mean = urc_ls_let(k, body, "mean", URC_DT_F64, bin(URC_L_ADD, var(k, K), var(k, md)));
    urc_lx *sd = urc_lx_un(URC_L_SQRT, bin(URC_L_ADD, var(k, vr), dlit(a->epsilon)));
    urc_lx *m = var(k, urc_ls_let(k, body, "m", dt, urc_lx_cast(dt, var(k, mean))));
    urc_lx *am =
        var(k, urc_ls_let(k, body, "a", dt,
                          urc_lx_cast(dt, bin(URC_L_DIV, urc_norm_pload(L, k, n->in[1], "scale", var(k, c)), sd))));
    urc_lx *b =
        var(k, urc_ls_let(k, body, "b", dt, urc_lx_cast(dt, urc_norm_param(L, k, n->in[2], "bias", var(k, c)))));
    urc_ls *ln2 = urc_ls_for(body, nb, ilit(0), ilit(g->N), 1, 0);
    int base2 = urc_ls_let(k, ln2, "base", URC_DT_I64, urc_muli(urc_add(urc_muli(var(k, nb), C), var(k, c)), S));
    urc_ls *li2 = urc_ls_for(ln2, i, ilit(0), ilit(S), 1, URC_FOR_SIMD | URC_FOR_VECTOR);
    urc_lx *xi = urc_add(var(k, base2), var(k, i));
    urc_ls_store(li2, by, xi, affine(urc_lx_load(k, bx, xi), m, am, b));
    urc_lx *mo = dlit(a->momentum), *mo1 = dlit(1 - a->momentum);
    if (bm >= 0) {
        urc_lx *r = bin(URC_L_ADD, bin(URC_L_MUL, urc_norm_pload(L, k, n->in[3], "input_mean", var(k, c)), mo),
                        bin(URC_L_MUL, var(k, mean), mo1));
        urc_ls_store(body, bm, var(k, c), urc_lx_cast(n->out[1]->dtype, r));
    }
    if (bv >= 0) {
        urc_lx *r = bin(URC_L_ADD, bin(URC_L_MUL, urc_norm_pload(L, k, n->in[4], "input_var", var(k, c)), mo),
                        bin(URC_L_MUL, var(k, vr), mo1));
        urc_ls_store(body, bv, var(k, c), urc_lx_cast(n->out[2]->dtype, r));
    }
    return true;
}

/* The naive twin: any layout, slices (n, group) with strided indices, two
 * passes for the statistics. Used where the fast forms do not apply. */
static bool lower_naive(urc_lower *L, const urc_node *n, const geom *g, const normp *np, int nnorm) {
    urc_op op = base_op(n);
    bool bn = op == URC_OP_BATCH_NORM;
    urc_dtype dt = np[0].x->dtype;
    urc_kernel *k = urc_lower_begin(L, n);
    if (g->N * g->C * g->S == 0) return true;
    int bx[2];
    for (int j = 0; j < nnorm; j++) bx[j] = urc_lower_in(L, k, np[j].x, j ? "x2" : "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    epilogue e = urc_norm_epilogue(L, k, n);
    int64_t G = bn ? g->C : g->G, cpg = bn ? 1 : g->cpg, S = g->S;
    int sl = urc_kernel_var(k, "sl", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, sl, ilit(0), ilit(g->N * G), 1, URC_FOR_PARALLEL);
    int nb = urc_ls_let(k, body, "nb", URC_DT_I64, bin(URC_L_DIV, var(k, sl), ilit(G)));
    int gi = urc_ls_let(k, body, "g", URC_DT_I64, bin(URC_L_REM, var(k, sl), ilit(G)));
    int cc = urc_kernel_var(k, "cc", URC_DT_I64), s = urc_kernel_var(k, "s", URC_DT_I64);
    /* index of (nb, g*cpg + cc, s) */
    urc_lx *ch = urc_add(urc_muli(var(k, gi), cpg), var(k, cc));
    urc_lx *idx = g->cl ? urc_add(urc_muli(urc_add(urc_muli(var(k, nb), S), var(k, s)), g->C), ch)
                        : urc_add(urc_muli(urc_add(urc_muli(var(k, nb), g->C), ch), S), var(k, s));
    int mean[2] = {-1, -1}, inv[2] = {-1, -1};
    urc_lx *cnt = dlit((double)(cpg * S));
    for (int j = 0; !bn && j < nnorm; j++) {
        int sum = urc_ls_let(k, body, "sum", URC_DT_F64, dlit(0));
        urc_ls *l1 = urc_ls_for(urc_ls_for(body, cc, ilit(0), ilit(cpg), 1, 0), s, ilit(0), ilit(S), 1, 0);
        urc_ls_assign(l1, sum, bin(URC_L_ADD, var(k, sum), f64(urc_lx_load(k, bx[j], idx))));
        mean[j] = urc_ls_let(k, body, "mean", URC_DT_F64, bin(URC_L_DIV, var(k, sum), cnt));
        int sq = urc_ls_let(k, body, "sq", URC_DT_F64, dlit(0));
        urc_ls *l2 = urc_ls_for(urc_ls_for(body, cc, ilit(0), ilit(cpg), 1, 0), s, ilit(0), ilit(S), 1, 0);
        int d = urc_ls_let(k, l2, "d", URC_DT_F64, bin(URC_L_SUB, f64(urc_lx_load(k, bx[j], idx)), var(k, mean[j])));
        urc_ls_assign(l2, sq, bin(URC_L_ADD, var(k, sq), bin(URC_L_MUL, var(k, d), var(k, d))));
        inv[j] =
            urc_ls_let(k, body, "inv", URC_DT_F64,
                       bin(URC_L_DIV, dlit(1),
                           urc_lx_un(URC_L_SQRT, bin(URC_L_ADD, bin(URC_L_DIV, var(k, sq), cnt), dlit(np[j].eps)))));
    }
    urc_ls *cb = urc_ls_for(body, cc, ilit(0), ilit(cpg), 1, 0);
    urc_lx *p = g->per_group ? var(k, gi) : ch;
    urc_lx *m[2][3] = {{0}};
    coeffs(L, k, cb, np, nnorm, bn, ch, p, dt, mean, inv, m);
    urc_ls *lb = urc_ls_for(cb, s, ilit(0), ilit(S), 1, 0);
    urc_ls_store(lb, by, idx, urc_norm_value(k, lb, &e, bx[0], idx, m[0], m[1]));
    return true;
}

/* Largest local-array footprint a channels-last kernel may use. */
#define CL_LOCAL_MAX (32 << 10)

static bool norm_lower(urc_lower *L, const urc_node *n) {
    if (n->op == URC_OP_LAYER_NORM) return lower_layer_norm(L, n);
    const urc_norm_attr *a = &n->a.norm;
    urc_op op = base_op(n);
    bool bn = op == URC_OP_BATCH_NORM;
    geom g = norm_geom(n, &n->in[0]->shape);
    if (bn && a->training_mode) return lower_bn_training(L, n, &g);
    normp np[2] = {{n->in[0], n->in[1], n->in[2], bn ? n->in[3] : NULL, bn ? n->in[4] : NULL, a->epsilon}, {0}};
    int nnorm = 1;
    if (n->op == URC_OP_FUSED_NORM && a->residual == 2) {
        np[1] = (normp){n->in[5], n->in[6], n->in[7], NULL, NULL, a->epsilon2};
        nnorm = 2;
    }
    bool cl = g.cl && urc_norm_cl_local_bytes(L, &g, !bn, nnorm, np[0].x->dtype) <= CL_LOCAL_MAX && g.N <= 8;
    URC_ASSERT(cl || n->op != URC_OP_FUSED_NORM || !present(n, 10), "a FusedNorm head off the channels-last kernel");
    URC_ASSERT(cl || n->op != URC_OP_FUSED_NORM || !present(n, 12), "a FusedNorm's pointwise X2 off that kernel");
    if (!g.cl) return lower_cf(L, n, &g, np, nnorm);
    if (cl) return urc_norm_lower_cl(L, n, &g, np, nnorm);
    return lower_naive(L, n, &g, np, nnorm);
}

static void norm_print(const urc_node *n, urc_strbuf *sb) {
    const urc_norm_attr *a = &n->a.norm;
    urc_op op = base_op(n);
    if (n->op == URC_OP_FUSED_NORM) urc_sb_printf(sb, " base=%s", urc_ops[op].name);
    urc_sb_printf(sb, " epsilon=%g", a->epsilon);
    if (n->op == URC_OP_LAYER_NORM) urc_sb_printf(sb, " axis=%lld", (long long)a->axis);
    if (op == URC_OP_GROUP_NORM) urc_sb_printf(sb, " num_groups=%lld", (long long)a->num_groups);
    if (a->per_channel) urc_sb_puts(sb, " per_channel");
    if (a->channels_last) urc_sb_puts(sb, " channels_last");
    if (n->op != URC_OP_FUSED_NORM) return;
    if (a->act) urc_act_print(sb, "act", a->act, a->act_alpha);
    if (a->residual == 1) urc_sb_puts(sb, " residual=add");
    if (a->residual == 2)
        urc_sb_printf(sb, " residual=norm(epsilon=%g)%s", a->epsilon2, present(n, 12) ? "(X2 1x1)" : "");
    if (a->post_act) urc_act_print(sb, "post_act", a->post_act, a->post_alpha);
    if (a->quant.scale > 0) urc_fq_print(sb, "fakequant", a->quant);
    if (present(n, 10)) urc_sb_puts(sb, a->head_y_first ? " head(Y channels-first)" : " head");
}

/* Instance/Batch/GroupNormalization have channels-last forms, except
 * training-mode BatchNorm; LayerNorm normalises the last axis already and
 * FusedNorm is made after the layout pass. */
static bool *norm_channels_last(urc_node *n, unsigned *more_inputs) {
    (void)more_inputs;
    switch (n->op) {
    case URC_OP_BATCH_NORM: return n->a.norm.training_mode ? NULL : &n->a.norm.channels_last;
    case URC_OP_INSTANCE_NORM:
    case URC_OP_GROUP_NORM: return &n->a.norm.channels_last;
    default: return NULL;
    }
}

/* A FusedNorm or a LayerNorm stores Y rounded to bf16 on any target (emit_value, lower_layer_norm). */
static bool norm_bf16_store(const urc_node *n, const urc_target *t) {
    (void)t;
    return (n->op == URC_OP_FUSED_NORM || n->op == URC_OP_LAYER_NORM) && n->a.norm.quant.scale == 0 &&
           n->in[0]->dtype == URC_DT_F32 && n->out[0]->dtype == URC_DT_F32;
}

const urc_op_impl urc_impl_norm = {norm_parse,
                                   norm_infer,
                                   norm_eval,
                                   norm_lower,
                                   norm_print,
                                   .signature_lower = true,
                                   .channels_last = norm_channels_last,
                                   .bf16_store = norm_bf16_store};
