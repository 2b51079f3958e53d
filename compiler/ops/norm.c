/* norm.c: normalisation ops.
 *
 * LayerNormalization, InstanceNormalization and GroupNormalization all
 * normalise contiguous "slices" of X:
 *   LayerNorm      X viewed as (outer, inner), outer = prod(dims[:axis])
 *   InstanceNorm   X (N, C, S...) -> slices (N*C, S), S = prod(spatial)
 *   GroupNorm      X (N, C, S...) -> slices (N*G, C/G*S)
 * Per slice: mean, then the variance of the centred values (two passes,
 * accumulated in double: MONAI volumes have ~1e6 elements per slice), then
 * y = (x - mean) * invstd * scale + bias. Slices run in parallel.
 * BatchNormalization (inference) needs no statistics: per channel
 * y = (x - mean) * scale / sqrt(var + eps) + B. */
#include "common.h"

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

/* ---- inference ------------------------------------------------------------ */

static bool present(const urc_node *n, int i) { return i < n->nin && n->in[i]; }

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

/* GroupNorm-18 (and the ONNX functions it came from) give scale and bias
 * per group; GroupNorm-21 per channel. */
static bool group_per_channel(const urc_node *n) { return n->opset >= 21; }

static bool norm_infer(urc_node *n) {
    urc_norm_attr *a = &n->a.norm;
    const char *where = urc_node_where(n);
    if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0)) return false;
    const urc_shape *xs = &n->in[0]->shape;
    urc_dtype dt = n->in[0]->dtype;
    if (a->epsilon < 0 || isnan(a->epsilon)) {
        urc_error(where, "epsilon must be non-negative, got %g", a->epsilon);
        return false;
    }
    switch (n->op) {
    case URC_OP_LAYER_NORM: {
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
        /* Mean and InvStdDev: X's shape with the normalised dims set to 1,
         * in the stash type (float). */
        urc_shape ss = *xs;
        for (int d = (int)a->axis; d < xs->rank; d++) ss.dims[d] = 1;
        urc_set_out(n, 0, dt, xs);
        urc_set_out(n, 1, URC_DT_F32, &ss);
        urc_set_out(n, 2, URC_DT_F32, &ss);
        return true;
    }
    case URC_OP_INSTANCE_NORM:
        if (!urc_check_rank(n, 0, 2, URC_MAX_RANK)) return false;
        for (int i = 1; i < 3; i++)
            if (!check_vec(n, i, xs->dims[1], i == 1 ? "scale" : "B") || !urc_check_same_dtype(n, 0, i)) return false;
        urc_set_out(n, 0, dt, xs);
        return true;
    case URC_OP_GROUP_NORM: {
        if (!urc_check_rank(n, 0, 2, URC_MAX_RANK)) return false;
        if (a->stash_type != 1) {
            urc_error(where, "stash_type %d is not supported (only 1, float)", a->stash_type);
            return false;
        }
        int64_t c = xs->dims[1], g = a->num_groups;
        if (g < 1 || c % g) {
            urc_error(where, "num_groups %lld must be positive and divide the %lld channels", (long long)g,
                      (long long)c);
            return false;
        }
        int64_t pc = group_per_channel(n) ? c : g;
        for (int i = 1; i < 3; i++)
            if (!check_vec(n, i, pc, i == 1 ? "scale" : "bias") || !urc_check_same_dtype(n, 0, i)) return false;
        urc_set_out(n, 0, dt, xs);
        return true;
    }
    case URC_OP_BATCH_NORM: {
        bool extra = false;
        for (int j = 1; j < n->nout; j++) extra |= n->out[j] != NULL;
        if (a->training_mode || extra) {
            urc_error(where, "training mode not supported (running statistics outputs are only computed in training)");
            return false;
        }
        if (!urc_check_rank(n, 0, 2, URC_MAX_RANK)) return false;
        static const char *names[] = {"", "scale", "B", "input_mean", "input_var"};
        for (int i = 1; i < 5; i++)
            if (!check_vec(n, i, xs->dims[1], names[i])) return false;
        /* opset 15 lets scale/B (T1) and mean/var (T2) differ from X. */
        if (!urc_check_same_dtype(n, 1, 2) || !urc_check_same_dtype(n, 3, 4)) return false;
        if (n->opset < 15 && (!urc_check_same_dtype(n, 0, 1) || !urc_check_same_dtype(n, 0, 3))) return false;
        urc_set_out(n, 0, dt, xs);
        return true;
    }
    default: return false;
    }
}

/* ---- reference ------------------------------------------------------------ */

/* Mean and 1/sqrt(var + eps) of x[base .. base+len), in double. */
static void ref_stats(const urc_tensor *x, int64_t base, int64_t len, double eps, double *mean, double *inv) {
    double s = 0, q = 0;
    for (int64_t i = 0; i < len; i++) s += urc_elem_f64(x->dtype, x->data, base + i);
    *mean = s / (double)len;
    for (int64_t i = 0; i < len; i++) {
        double d = urc_elem_f64(x->dtype, x->data, base + i) - *mean;
        q += d * d;
    }
    *inv = 1 / sqrt(q / (double)len + eps);
}

static double elem(const urc_tensor *t, int64_t i) { return urc_elem_f64(t->dtype, t->data, i); }

static bool norm_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_norm_attr *a = &n->a.norm;
    const urc_tensor *x = in[0];
    urc_tensor *y = out[0];
    const urc_shape *xs = &x->shape;
    if (n->op == URC_OP_LAYER_NORM) {
        int64_t outer = 1, inner = 1;
        for (int d = 0; d < xs->rank; d++) *(d < a->axis ? &outer : &inner) *= xs->dims[d];
        const urc_tensor *sc = in[1], *b = n->nin > 2 ? in[2] : NULL;
        for (int64_t s = 0; s < outer; s++) {
            double mean, inv;
            ref_stats(x, s * inner, inner, a->epsilon, &mean, &inv);
            if (n->nout > 1 && out[1]) urc_elem_set_f64(out[1]->dtype, out[1]->data, s, mean);
            if (n->nout > 2 && out[2]) urc_elem_set_f64(out[2]->dtype, out[2]->data, s, inv);
            for (int64_t i = s * inner; i < (s + 1) * inner; i++) {
                double v = (elem(x, i) - mean) * inv * elem(sc, urc_bcast_offset(xs, &sc->shape, i));
                if (b) v += elem(b, urc_bcast_offset(xs, &b->shape, i));
                urc_elem_set_f64(y->dtype, y->data, i, v);
            }
        }
        return true;
    }
    int64_t N = xs->dims[0], C = xs->dims[1], S = 1;
    for (int d = 2; d < xs->rank; d++) S *= xs->dims[d];
    if (n->op == URC_OP_BATCH_NORM) {
        for (int64_t i = 0; i < N * C * S; i++) {
            int64_t c = i / S % C;
            double v = (elem(x, i) - elem(in[3], c)) / sqrt(elem(in[4], c) + a->epsilon) * elem(in[1], c) + elem(in[2], c);
            urc_elem_set_f64(y->dtype, y->data, i, v);
        }
        return true;
    }
    /* InstanceNorm is GroupNorm with one channel per group. */
    int64_t G = n->op == URC_OP_GROUP_NORM ? a->num_groups : C, cpg = C / G, len = cpg * S;
    bool per_group = n->op == URC_OP_GROUP_NORM && !group_per_channel(n);
    for (int64_t s = 0; s < N * G; s++) {
        double mean, inv;
        ref_stats(x, s * len, len, a->epsilon, &mean, &inv);
        for (int64_t e = 0; e < len; e++) {
            int64_t p = per_group ? s % G : (s % G) * cpg + e / S;
            int64_t i = s * len + e;
            urc_elem_set_f64(y->dtype, y->data, i, (elem(x, i) - mean) * inv * elem(in[1], p) + elem(in[2], p));
        }
    }
    return true;
}

/* ---- lowering ------------------------------------------------------------- */

static urc_lx *bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_bin(op, a, b); }
static urc_lx *f64(urc_lx *e) { return urc_lx_cast(URC_DT_F64, e); }
static urc_lx *var(const urc_kernel *k, int v) { return urc_lx_var(k, v); }

/* Element idx of an input: a literal for one-element constants, else a
 * load from a buffer named hint. */
static urc_lx *param(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint, urc_lx *idx) {
    if (v->data && urc_shape_numel(&v->shape) == 1) return urc_lower_load(L, k, v, idx);
    return urc_lx_load(k, urc_lower_in(L, k, v, hint), idx);
}

static int decl(urc_kernel *k, urc_ls *body, const char *name, urc_dtype dt, urc_lx *init) {
    int v = urc_kernel_var(k, name, dt);
    urc_ls_decl(body, v, init);
    return v;
}

/* The statistics of slice x[base .. base+len) as double locals:
 *   mean = sum(x) / len;  inv = 1 / sqrt(sum((x - mean)^2) / len + eps). */
static void emit_stats(urc_kernel *k, urc_ls *body, int bx, int base, int64_t len, double eps, int *mean, int *inv) {
    urc_lx *n = urc_lx_flt((double)len, URC_DT_F64);
    int i = urc_kernel_var(k, "i", URC_DT_I64);
    int sum = decl(k, body, "sum", URC_DT_F64, urc_lx_flt(0, URC_DT_F64));
    urc_ls *l1 = urc_ls_for(body, i, urc_lx_int(0), urc_lx_int(len), 1, 0);
    urc_ls_assign(l1, sum, bin(URC_L_ADD, var(k, sum), f64(urc_lx_load(k, bx, urc_add(var(k, base), var(k, i))))));
    *mean = decl(k, body, "mean", URC_DT_F64, bin(URC_L_DIV, var(k, sum), n));
    int sq = decl(k, body, "sq", URC_DT_F64, urc_lx_flt(0, URC_DT_F64));
    urc_ls *l2 = urc_ls_for(body, i, urc_lx_int(0), urc_lx_int(len), 1, 0);
    int d = decl(k, l2, "d", URC_DT_F64,
                 bin(URC_L_SUB, f64(urc_lx_load(k, bx, urc_add(var(k, base), var(k, i)))), var(k, *mean)));
    urc_ls_assign(l2, sq, bin(URC_L_ADD, var(k, sq), bin(URC_L_MUL, var(k, d), var(k, d))));
    *inv = decl(k, body, "inv", URC_DT_F64,
                bin(URC_L_DIV, urc_lx_flt(1, URC_DT_F64),
                    urc_lx_un(URC_L_SQRT, bin(URC_L_ADD, bin(URC_L_DIV, var(k, sq), n), urc_lx_flt(eps, URC_DT_F64)))));
}

/* Parallel loop over `count` slices of `len` elements; declares s and base. */
static urc_ls *slice_loop(urc_kernel *k, int64_t count, int64_t len, int *s, int *base) {
    *s = urc_kernel_var(k, "s", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, *s, urc_lx_int(0), urc_lx_int(count), 1, URC_FOR_PARALLEL);
    *base = decl(k, body, "base", URC_DT_I64, urc_muli(var(k, *s), len));
    return body;
}

/* Index into a LayerNorm Scale/B of shape p broadcast to X of shape xs:
 * outer dims (before axis) come from slice s, inner dims from iv. */
static urc_lx *ln_bcast_index(const urc_kernel *k, const urc_shape *xs, int axis, int s, const int *iv,
                              const urc_shape *p) {
    const urc_lx *idx[URC_MAX_RANK];
    int off = xs->rank - p->rank;
    for (int d = 0; d < p->rank; d++) {
        int D = d + off;
        if (p->dims[d] == 1) {
            idx[d] = urc_lx_int(0);
        } else if (D >= axis) {
            idx[d] = var(k, iv[D - axis]);
        } else {
            int64_t stride = 1; /* of dim D within the outer dims */
            for (int e = D + 1; e < axis; e++) stride *= xs->dims[e];
            urc_lx *q = stride == 1 ? var(k, s) : bin(URC_L_DIV, var(k, s), urc_lx_int(stride));
            idx[d] = D == 0 ? q : bin(URC_L_REM, q, urc_lx_int(xs->dims[D]));
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
    int bx = urc_lower_in(L, k, xv, "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    int bm = mv ? urc_lower_out(L, k, mv, "mean_out") : -1;
    int bi = iv_ ? urc_lower_out(L, k, iv_, "invstd_out") : -1;
    int s, base, mean, inv;
    urc_ls *body = slice_loop(k, outer, inner, &s, &base);
    emit_stats(k, body, bx, base, inner, a->epsilon, &mean, &inv);
    if (bm >= 0) urc_ls_store(body, bm, var(k, s), urc_lx_cast(URC_DT_F32, var(k, mean)));
    if (bi >= 0) urc_ls_store(body, bi, var(k, s), urc_lx_cast(URC_DT_F32, var(k, inv)));
    int mf = decl(k, body, "m", dt, urc_lx_cast(dt, var(k, mean)));
    int rf = decl(k, body, "r", dt, urc_lx_cast(dt, var(k, inv)));
    /* y = (x - m) * r * scale + B over the slice: one flat loop when the
     * parameters index like the slice, else a nest over the normalised dims. */
    bool flat = ln_flat_param(xs, axis, &sv->shape) && (!bv || ln_flat_param(xs, axis, &bv->shape));
    urc_lx *pos, *si, *bidx = NULL;
    urc_ls *lb;
    if (flat) {
        int i = urc_kernel_var(k, "i", URC_DT_I64);
        lb = urc_ls_for(body, i, urc_lx_int(0), urc_lx_int(inner), 1, URC_FOR_SIMD);
        pos = var(k, i);
        si = urc_shape_numel(&sv->shape) == 1 ? urc_lx_int(0) : pos;
        if (bv) bidx = urc_shape_numel(&bv->shape) == 1 ? urc_lx_int(0) : pos;
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
                     param(L, k, sv, "scale", si));
    if (bv) yv = bin(URC_L_ADD, yv, param(L, k, bv, "bias", bidx));
    urc_ls_store(lb, by, xi, yv);
    return true;
}

/* InstanceNorm and GroupNorm: slices (N*G, cpg*S). */
static bool lower_group_norm(urc_lower *L, const urc_node *n) {
    const urc_norm_attr *a = &n->a.norm;
    const urc_value *xv = n->in[0], *sv = n->in[1], *bv = n->in[2];
    const urc_shape *xs = &xv->shape;
    urc_dtype dt = xv->dtype;
    int64_t N = xs->dims[0], C = xs->dims[1], S = 1;
    for (int d = 2; d < xs->rank; d++) S *= xs->dims[d];
    int64_t G = n->op == URC_OP_GROUP_NORM ? a->num_groups : C, cpg = C / G, len = cpg * S;
    bool per_group = n->op == URC_OP_GROUP_NORM && !group_per_channel(n);
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, xv, "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    int s, base, mean, inv;
    urc_ls *body = slice_loop(k, N * G, len, &s, &base);
    emit_stats(k, body, bx, base, len, a->epsilon, &mean, &inv);
    int mf = decl(k, body, "m", dt, urc_lx_cast(dt, var(k, mean)));
    urc_lx *g = G == 1 ? urc_lx_int(0) : bin(URC_L_REM, var(k, s), urc_lx_int(G));
    /* Per channel (or group): a = invstd * scale, b = bias; y = (x - m) * a + b. */
    urc_ls *cb = body;
    urc_lx *p = g, *first = var(k, base);
    if (!per_group && cpg > 1) {
        int cc = urc_kernel_var(k, "cc", URC_DT_I64);
        cb = urc_ls_for(body, cc, urc_lx_int(0), urc_lx_int(cpg), 1, 0);
        p = urc_add(urc_muli(g, cpg), var(k, cc));
        first = urc_add(var(k, base), urc_muli(var(k, cc), S));
        len = S;
    }
    int av = decl(k, cb, "a", dt, urc_lx_cast(dt, bin(URC_L_MUL, var(k, inv), f64(param(L, k, sv, "scale", p)))));
    int bb = decl(k, cb, "b", dt, urc_lx_cast(dt, param(L, k, bv, "bias", p)));
    int i = urc_kernel_var(k, "i", URC_DT_I64);
    urc_ls *lb = urc_ls_for(cb, i, urc_lx_int(0), urc_lx_int(len), 1, URC_FOR_SIMD);
    urc_lx *xi = urc_add(first, var(k, i));
    urc_ls_store(lb, by, xi,
                 bin(URC_L_ADD, bin(URC_L_MUL, bin(URC_L_SUB, urc_lx_load(k, bx, xi), var(k, mf)), var(k, av)),
                     var(k, bb)));
    return true;
}

static bool lower_batch_norm(urc_lower *L, const urc_node *n) {
    const urc_norm_attr *a = &n->a.norm;
    const urc_value *xv = n->in[0];
    const urc_shape *xs = &xv->shape;
    urc_dtype dt = xv->dtype;
    int64_t N = xs->dims[0], C = xs->dims[1], S = 1;
    for (int d = 2; d < xs->rank; d++) S *= xs->dims[d];
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, xv, "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    int s, base;
    urc_ls *body = slice_loop(k, N * C, S, &s, &base);
    urc_lx *c = C == 1 ? urc_lx_int(0) : bin(URC_L_REM, var(k, s), urc_lx_int(C));
    /* a = scale / sqrt(var + eps), in double then rounded once. */
    urc_lx *sd = urc_lx_un(URC_L_SQRT, bin(URC_L_ADD, f64(param(L, k, n->in[4], "var", c)),
                                           urc_lx_flt(a->epsilon, URC_DT_F64)));
    int av = decl(k, body, "a", dt, urc_lx_cast(dt, bin(URC_L_DIV, f64(param(L, k, n->in[1], "scale", c)), sd)));
    int mv = decl(k, body, "m", dt, urc_lx_cast(dt, param(L, k, n->in[3], "mean", c)));
    int bv = decl(k, body, "b", dt, urc_lx_cast(dt, param(L, k, n->in[2], "bias", c)));
    int i = urc_kernel_var(k, "i", URC_DT_I64);
    urc_ls *lb = urc_ls_for(body, i, urc_lx_int(0), urc_lx_int(S), 1, URC_FOR_SIMD);
    urc_lx *xi = urc_add(var(k, base), var(k, i));
    urc_ls_store(lb, by, xi,
                 bin(URC_L_ADD, bin(URC_L_MUL, bin(URC_L_SUB, urc_lx_load(k, bx, xi), var(k, mv)), var(k, av)),
                     var(k, bv)));
    return true;
}

static bool norm_lower(urc_lower *L, const urc_node *n) {
    switch (n->op) {
    case URC_OP_LAYER_NORM: return lower_layer_norm(L, n);
    case URC_OP_INSTANCE_NORM: case URC_OP_GROUP_NORM: return lower_group_norm(L, n);
    case URC_OP_BATCH_NORM: return lower_batch_norm(L, n);
    default: return false;
    }
}

static void norm_print(const urc_node *n, urc_strbuf *sb) {
    const urc_norm_attr *a = &n->a.norm;
    urc_sb_printf(sb, " epsilon=%g", a->epsilon);
    if (n->op == URC_OP_LAYER_NORM) urc_sb_printf(sb, " axis=%lld", (long long)a->axis);
    if (n->op == URC_OP_GROUP_NORM) urc_sb_printf(sb, " num_groups=%lld", (long long)a->num_groups);
}

const urc_op_impl urc_impl_norm = {norm_parse, norm_infer, norm_eval, norm_lower, norm_print};
