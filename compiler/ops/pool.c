/* pool.c: MaxPool (with optional Indices), AveragePool, GlobalAveragePool,
 * GlobalMaxPool.
 *
 * X [N, C, S_in] -> Y [N, C, S_out] (Global*: S_out all 1). Per spatial
 * axis with kernel K, stride s, dilation d and begin padding pb, output o
 * covers the taps k in [0, K) at input o*s - pb + k*d; taps outside the
 * input are padding: ignored by MaxPool, counted by AveragePool only with
 * count_include_pad (and then only inside the padded extent [-pb, in + pe),
 * as onnxruntime and PyTorch do for ceil-mode windows running past it).
 * MaxPool propagates NaN like ONNX's numpy reference (a NaN in the window
 * gives NaN; Indices points at the first NaN, else at the first maximum).
 * Indices are flat offsets into X without padding: row-major, or with
 * storage_order 1 column-major over the spatial dims (first fastest) after
 * the row-major (n, c) offset, as onnxruntime computes them. */
#include "spatial.h"

static bool is_global(urc_op op) { return op == URC_OP_GLOBAL_AVERAGE_POOL || op == URC_OP_GLOBAL_MAX_POOL; }
static bool is_max(urc_op op) { return op == URC_OP_MAX_POOL || op == URC_OP_GLOBAL_MAX_POOL; }

/* ---- parsing ----------------------------------------------------------------- */

static bool flag(urc_attr_list *l, const char *name, int *out) {
    int64_t v;
    if (!urc_attr_int(l, name, 0, &v)) return false;
    if (v != 0 && v != 1) {
        urc_error(l->where, "attribute '%s' must be 0 or 1, got %lld", name, (long long)v);
        return false;
    }
    *out = (int)v;
    return true;
}

static bool pool_parse(urc_node *n, urc_attr_list *l) {
    urc_pool_attr *a = &n->a.pool;
    memset(a, 0, sizeof *a);
    a->n_kernel = a->n_strides = a->n_dilations = a->n_pads = -1;
    if (is_global(n->op)) return true;
    /* every getter runs (no short cut) so each attribute is marked as read */
    bool ok = urc_sp_parse_auto_pad(l, &a->auto_pad);
    ok &= flag(l, "ceil_mode", &a->ceil_mode);
    ok &= urc_attr_ints(l, "kernel_shape", a->kernel, URC_MAX_SPATIAL, &a->n_kernel);
    ok &= urc_attr_ints(l, "strides", a->strides, URC_MAX_SPATIAL, &a->n_strides);
    ok &= urc_attr_ints(l, "pads", a->pads, 2 * URC_MAX_SPATIAL, &a->n_pads);
    /* AveragePool has no dilations before opset 19: left unread, the importer reports it */
    if (n->op == URC_OP_MAX_POOL) {
        ok &= urc_attr_ints(l, "dilations", a->dilations, URC_MAX_SPATIAL, &a->n_dilations);
        ok &= flag(l, "storage_order", &a->storage_order);
    } else {
        ok &= flag(l, "count_include_pad", &a->count_include_pad);
    }
    return ok;
}

/* ---- inference ----------------------------------------------------------------- */

static bool pool_infer(urc_node *n) {
    urc_pool_attr *a = &n->a.pool;
    const char *where = urc_node_where(n);
    if (n->op == URC_OP_MAX_POOL) {
        if (!urc_check_dtype(n, 0, URC_DTM_NUM)) return false;
        urc_dtype dt = n->in[0]->dtype;
        /* (bf16 channels-last: made by the precision pass, passes/precision.c max_pools_read_bf16; lower_window_cl) */
        bool bf16 = dt == URC_DT_BF16 && a->channels_last;
        if (dt != URC_DT_F32 && dt != URC_DT_F64 && dt != URC_DT_I8 && dt != URC_DT_U8 && dt != URC_DT_F16 && !bf16) {
            urc_error(where, "MaxPool takes float, double, int8 or uint8; got %s", urc_dtype_name(dt));
            return false;
        }
        if (!bf16 && !urc_reject_half(n, 0)) return false;
    } else if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0)) {
        return false;
    }
    if (!urc_check_rank(n, 0, 3, is_global(n->op) ? URC_MAX_RANK : 2 + URC_MAX_SPATIAL)) return false;
    /* channels-last X [N, S..., C]: everything below reads the channels-first view */
    urc_shape xcf = a->channels_last ? urc_sp_to_first(&n->in[0]->shape) : n->in[0]->shape;
    const urc_shape *xs = &xcf;
    if (a->channels_last && n->nout > 1 && n->out[1]) {
        urc_error(where, "MaxPool Indices are defined on the channels-first layout");
        return false;
    }
    for (int d = 0; d < xs->rank; d++)
        if (xs->dims[d] < 1) {
            urc_error(where, "X %s must not have empty dims", urc_shape_str(xs));
            return false;
        }
    urc_shape ys = *xs;
    int nsp = xs->rank - 2;
    a->nsp = nsp;
    if (is_global(n->op)) {
        for (int d = 2; d < ys.rank; d++) ys.dims[d] = 1;
        if (a->channels_last) ys = urc_sp_to_last(&ys);
        urc_set_out(n, 0, n->in[0]->dtype, &ys);
        return true;
    }
    if (a->n_kernel < 0) {
        urc_error(where, "attribute 'kernel_shape' is required");
        return false;
    }
    if (!urc_sp_axis_list(n, "kernel_shape", a->kernel, a->n_kernel, nsp, 1, 1) ||
        !urc_sp_axis_list(n, "strides", a->strides, a->n_strides, nsp, 1, 1) ||
        !urc_sp_axis_list(n, "dilations", a->dilations, a->n_dilations, nsp, 1, 1) ||
        !urc_sp_axis_list(n, "pads", a->pads, a->n_pads, 2 * nsp, 0, 0))
        return false;
    if (a->auto_pad != URC_PAD_NOTSET && a->n_pads >= 0) {
        for (int i = 0; i < 2 * nsp; i++)
            if (a->pads[i]) {
                urc_error(where, "explicit pads cannot be combined with auto_pad other than NOTSET");
                return false;
            }
        a->n_pads = -1; /* all zero: as if absent (infer runs again on its own results) */
    }
    for (int i = 0; i < nsp; i++) {
        int64_t in = xs->dims[2 + i], K = a->kernel[i], s = a->strides[i], ek = (K - 1) * a->dilations[i] + 1;
        int64_t *pb = &a->pads[i], *pe = &a->pads[nsp + i], out;
        if (*pb >= K || *pe >= K) { /* as onnxruntime: a window must not lie in the padding */
            urc_error(where, "pads (%lld, %lld) must be smaller than the kernel (%lld) on spatial axis %d",
                      (long long)*pb, (long long)*pe, (long long)K, i);
            return false;
        }
        if (a->auto_pad == URC_PAD_SAME_UPPER || a->auto_pad == URC_PAD_SAME_LOWER) {
            /* output ceil(in / s); the padding it needs, the odd one at the end for UPPER */
            out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + ek - in;
            if (total < 0) total = 0;
            *pb = a->auto_pad == URC_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            *pe = total - *pb;
        } else {
            if (a->auto_pad == URC_PAD_VALID) *pb = *pe = 0;
            int64_t span = in + *pb + *pe - ek;
            if (span < 0) {
                urc_error(where, "the dilated kernel (%lld) exceeds the padded input (%lld) on spatial axis %d",
                          (long long)ek, (long long)(in + *pb + *pe), i);
                return false;
            }
            out = (a->ceil_mode ? (span + s - 1) / s : span / s) + 1;
            /* ceil_mode: the last window must start inside the input or the left padding */
            if (a->ceil_mode && (out - 1) * s >= in + *pb) out--;
        }
        ys.dims[2 + i] = out;
    }
    if (a->channels_last) ys = urc_sp_to_last(&ys);
    urc_set_out(n, 0, n->in[0]->dtype, &ys);
    urc_set_out(n, 1, URC_DT_I64, &ys);
    return true;
}

/* ---- geometry ------------------------------------------------------------------ */

/* The window geometry (urc_pool_geometry, spatial.h): channels-first sizes, unused axes of extent 1. */
typedef urc_pool_geo geo;
static geo geometry(const urc_node *n) {
    urc_shape xcf = n->in[0]->shape, ycf = n->out[0]->shape;
    if (n->a.pool.channels_last) {
        xcf = urc_sp_to_first(&xcf);
        ycf = urc_sp_to_first(&ycf);
    }
    return urc_pool_geometry(&n->a.pool, &xcf, &ycf);
}

/* The value MaxPool starts from (and gives for a window without input). */
static double lowest(urc_dtype dt) {
    if (dt == URC_DT_I8) return -128;
    if (dt == URC_DT_U8) return 0;
    return -INFINITY;
}

/* ---- reference ------------------------------------------------------------------- */

/* Stores y (channels-first values) into yt in its layout; frees x and y. */
static bool finish_eval(urc_tensor *yt, double *x, double *y, bool cl) {
    if (cl) {
        urc_shape ycf = urc_sp_to_first(&yt->shape);
        double *t = urc_sp_relayout(y, &ycf, false);
        free(y);
        y = t;
    }
    urc_tensor_from_f64(yt, y);
    free(x);
    free(y);
    return true;
}

static bool pool_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *xt = in[0];
    urc_tensor *yt = out[0], *it = n->nout > 1 ? out[1] : NULL;
    double *x = urc_tensor_to_f64(xt), *y = urc_xmalloc((size_t)urc_tensor_numel(yt) * sizeof(double) + 1);
    bool mx = is_max(n->op), cl = n->a.pool.channels_last;
    if (cl) { /* the reference runs channels-first (no Indices in this layout) */
        urc_shape xcf = urc_sp_to_first(&xt->shape);
        double *t = urc_sp_relayout(x, &xcf, true);
        free(x);
        x = t;
    }
    if (is_global(n->op)) {
        int64_t nc = urc_tensor_numel(yt), S = urc_tensor_numel(xt) / nc;
        for (int64_t i = 0; i < nc; i++) {
            double acc = mx ? lowest(xt->dtype) : 0;
            for (int64_t j = 0; j < S; j++) {
                double v = x[i * S + j];
                if (!mx) acc += v;
                else if (!isnan(acc) && (v > acc || isnan(v))) acc = v;
            }
            y[i] = mx ? acc : acc / (double)S;
        }
        return finish_eval(yt, x, y, cl);
    }
    geo g = geometry(n);
    int64_t osz = g.out[0] * g.out[1] * g.out[2], isz = g.in[0] * g.in[1] * g.in[2], ksz = g.K[0] * g.K[1] * g.K[2];
    for (int64_t nc = 0; nc < g.NC; nc++)
        for (int64_t op = 0; op < osz; op++) {
            int64_t o[3] = {op / (g.out[1] * g.out[2]), op / g.out[2] % g.out[1], op % g.out[2]};
            double acc = mx ? lowest(xt->dtype) : 0;
            int64_t best = -1, count = 0;
            for (int64_t kp = 0; kp < ksz; kp++) {
                int64_t k[3] = {kp / (g.K[1] * g.K[2]), kp / g.K[2] % g.K[1], kp % g.K[2]}, i[3];
                bool inside = true, padded = true;
                for (int a = 0; a < 3; a++) {
                    i[a] = o[a] * g.s[a] - g.pb[a] + k[a] * g.d[a];
                    inside = inside && i[a] >= 0 && i[a] < g.in[a];
                    padded = padded && i[a] >= -g.pb[a] && i[a] < g.in[a] + g.pe[a];
                }
                if (n->a.pool.count_include_pad ? padded : inside) count++;
                if (!inside) continue;
                int64_t flat = (i[0] * g.in[1] + i[1]) * g.in[2] + i[2];
                double v = x[nc * isz + flat];
                if (!mx) {
                    acc += v;
                } else if (best < 0 || v > acc || (isnan(v) && !isnan(acc))) {
                    acc = v;
                    best = n->a.pool.storage_order ? i[0] + g.in[0] * (i[1] + g.in[1] * i[2]) : flat;
                }
            }
            y[nc * osz + op] = mx ? acc : acc / (double)count;
            if (it) urc_elem_set_i64(it->dtype, it->data, nc * osz + op, best < 0 ? -1 : nc * isz + best);
        }
    return finish_eval(yt, x, y, cl);
}

/* ---- lowering ---------------------------------------------------------------------- */

static const char *nm(const char *base, int a) { return urc_fmt("%s%d", base, a); }

/* MaxPool / AveragePool:
 *   for nc, o0 (parallel) / o1 / o2:  [tap range per axis]
 *     acc = lowest | 0;  for k0, k1, k2: acc = max(acc, x) | acc + x   (MaxPool with Indices: see below)
 *     Y[nc, o] = acc | acc / count */
static bool lower_window(urc_lower *L, urc_kernel *k, const urc_node *n) {
    geo g = geometry(n);
    const urc_value *X = n->in[0], *Y = n->out[0], *Ind = n->nout > 1 ? n->out[1] : NULL;
    urc_dtype dt = X->dtype;
    bool mx = n->op == URC_OP_MAX_POOL, incl = !mx && n->a.pool.count_include_pad;
    int bx = urc_lower_in(L, k, X, "x"), by = urc_lower_out(L, k, Y, "y");
    int bi = Ind ? urc_lower_out(L, k, Ind, "ind") : -1;
    urc_ls *body = k->body, *par = NULL;
    urc_lx *nc = urc_sp_dim_loop(k, &body, "nc", g.NC, &par);
    urc_lx *o[URC_MAX_SPATIAL], *lo[URC_MAX_SPATIAL], *hi[URC_MAX_SPATIAL], *cnt = urc_sp_i(1);
    for (int a = 0; a < g.nsp; a++) {
        urc_lx *c;
        o[a] = urc_sp_dim_loop(k, &body, nm("o", a), g.out[a], a == 0 ? &par : NULL);
        urc_sp_taps(k, body, &g, a, incl, o[a], &lo[a], &hi[a], &c);
        cnt = urc_mul(cnt, c);
    }
    int acc = urc_kernel_var(k, "acc", dt);
    urc_ls_decl(body, acc, urc_lx_const(mx ? lowest(dt) : 0, dt));
    int best = -1;
    if (Ind) {
        best = urc_kernel_var(k, "best", URC_DT_I64);
        urc_ls_decl(body, best, urc_sp_i(-1));
    }
    urc_ls *in = body;
    const urc_lx *xi[1 + URC_MAX_SPATIAL] = {nc};
    urc_lx *ii[URC_MAX_SPATIAL];
    for (int a = 0; a < g.nsp; a++) {
        urc_lx *kk = lo[a];
        if (!(lo[a]->kind == URC_LX_INT && hi[a]->kind == URC_LX_INT && hi[a]->i - lo[a]->i == 1)) {
            int v = urc_kernel_var(k, nm("k", a), URC_DT_I64);
            in = urc_ls_for(in, v, lo[a], hi[a], 1, 0);
            kk = urc_lx_var(k, v);
        }
        ii[a] = urc_addi(urc_add(urc_muli(o[a], g.s[a]), urc_muli(kk, g.d[a])), -g.pb[a]);
        xi[1 + a] = ii[a];
    }
    /* X viewed as [N*C, S_in] */
    urc_shape xv = {1 + g.nsp, {g.NC}};
    for (int a = 0; a < g.nsp; a++) xv.dims[1 + a] = g.in[a];
    urc_lx *xidx = urc_index(xi, &xv), *acc_e = urc_lx_var(k, acc);
    if (!Ind) {
        urc_lx *v = urc_lx_load(k, bx, xidx);
        urc_ls_assign(in, acc, mx ? urc_lx_bin(URC_L_MAX, acc_e, v) : urc_lx_bin(URC_L_ADD, acc_e, v));
    } else {
        /* if (best < 0 || v > acc || (v is NaN && acc is not)) { acc = v; best = flat index } */
        int vv = urc_kernel_var(k, "v", dt);
        urc_ls_decl(in, vv, urc_lx_load(k, bx, xidx));
        urc_lx *v = urc_lx_var(k, vv);
        urc_lx *cond = urc_lx_bin(URC_L_OR, urc_lx_bin(URC_L_LT, urc_lx_var(k, best), urc_sp_i(0)),
                                  urc_lx_bin(URC_L_GT, v, acc_e));
        if (urc_dtype_is_float(dt))
            cond = urc_lx_bin(
                URC_L_OR, cond,
                urc_lx_bin(URC_L_AND, urc_lx_un(URC_L_ISNAN, v), urc_lx_un(URC_L_NOT, urc_lx_un(URC_L_ISNAN, acc_e))));
        urc_ls *then = urc_ls_if(in, cond, NULL);
        urc_ls_assign(then, acc, v);
        urc_lx *flat = xidx;
        if (n->a.pool.storage_order) { /* spatial column-major after the (n, c) offset */
            int64_t isz = 1;
            flat = urc_sp_i(0);
            for (int a = 0; a < g.nsp; a++) {
                flat = urc_add(flat, urc_muli(ii[a], isz));
                isz *= g.in[a];
            }
            flat = urc_add(urc_muli(nc, isz), flat);
        }
        urc_ls_assign(then, best, flat);
    }
    const urc_lx *yi[1 + URC_MAX_SPATIAL] = {nc};
    urc_shape yv = {1 + g.nsp, {g.NC}};
    for (int a = 0; a < g.nsp; a++) {
        yi[1 + a] = o[a];
        yv.dims[1 + a] = g.out[a];
    }
    urc_lx *yidx = urc_index(yi, &yv), *r = acc_e;
    if (!mx)
        r = urc_lx_bin(URC_L_DIV, acc_e,
                       cnt->kind == URC_LX_INT ? urc_lx_const((double)cnt->i, dt) : urc_lx_cast(dt, cnt));
    urc_ls_store(body, by, yidx, r);
    if (Ind) urc_ls_store(body, bi, yidx, urc_lx_var(k, best));
    return true;
}

/* GlobalAveragePool / GlobalMaxPool over X viewed as [N*C, S]:
 *   for nc (parallel): acc = 0 | lowest; for j: acc += X[nc, j] | max(acc, X[nc, j]);  Y[nc] = acc / S | acc */
static bool lower_global(urc_lower *L, urc_kernel *k, const urc_node *n) {
    const urc_value *X = n->in[0], *Y = n->out[0];
    urc_dtype dt = X->dtype;
    bool mx = is_max(n->op);
    int64_t NC = urc_shape_numel(&Y->shape), S = urc_shape_numel(&X->shape) / NC;
    int bx = urc_lower_in(L, k, X, "x"), by = urc_lower_out(L, k, Y, "y");
    urc_ls *body = k->body, *par = NULL;
    urc_lx *nc = urc_sp_dim_loop(k, &body, "nc", NC, &par);
    int acc = urc_kernel_var(k, "acc", dt);
    urc_ls_decl(body, acc, urc_lx_const(mx ? lowest(dt) : 0, dt));
    urc_ls *in = body;
    urc_lx *j = urc_sp_dim_loop(k, &in, "j", S, NULL), *acc_e = urc_lx_var(k, acc);
    urc_lx *v = urc_lx_load(k, bx, urc_add(urc_muli(nc, S), j));
    urc_ls_assign(in, acc, urc_lx_bin(mx ? URC_L_MAX : URC_L_ADD, acc_e, v));
    urc_ls_store(body, by, nc, mx ? acc_e : urc_lx_bin(URC_L_DIV, acc_e, urc_lx_const((double)S, dt)));
    return true;
}

/* ---- channels-last lowering: vectors run along the contiguous channels ---- */

/* `for c in [0, C)` over the channel vector, marked for SIMD. */
static urc_lx *chan_loop(urc_kernel *k, urc_ls **body, int64_t C) {
    int v = urc_kernel_var(k, "c", URC_DT_I64);
    *body = urc_ls_for(*body, v, urc_sp_i(0), urc_sp_i(C), 1, C > 1 ? URC_FOR_VECTOR : 0);
    return urc_lx_var(k, v);
}

/* MaxPool / AveragePool, X [N, S_in..., C] -> Y [N, S_out..., C]; Y's
 * channel row is the accumulator:
 *   for n, o0 (parallel) / o1 / o2:  [tap range per axis]
 *     for c: Y[n, o, c] = lowest | 0
 *     for k0, k1, k2:  for c: Y[n, o, c] = max(Y[n, o, c], X[n, i, c]) | += X[n, i, c]
 *     AveragePool: for c: Y[n, o, c] /= count */
static bool lower_window_cl(urc_lower *L, urc_kernel *k, const urc_node *n) {
    geo g = geometry(n);
    const urc_value *X = n->in[0], *Y = n->out[0];
    urc_dtype dt = X->dtype, st = dt; /* (bf16 MaxPool: the maxima of the float32 values, exact in bf16 again) */
    if (dt == URC_DT_BF16) dt = URC_DT_F32;
    bool mx = n->op == URC_OP_MAX_POOL, incl = !mx && n->a.pool.count_include_pad;
    int bx = urc_lower_in(L, k, X, "x"), by = urc_lower_out(L, k, Y, "y");
    urc_ls *body = k->body, *par = NULL;
    urc_lx *nn = urc_sp_dim_loop(k, &body, "n", g.N, &par);
    urc_lx *o[3], *lo[3], *hi[3], *cnt = urc_sp_i(1);
    /* the loops first (the parallel ones must nest perfectly), then the tap ranges */
    for (int a = 0; a < g.nsp; a++) o[a] = urc_sp_dim_loop(k, &body, nm("o", a), g.out[a], a < 2 ? &par : NULL);
    for (int a = 0; a < g.nsp; a++) {
        urc_lx *c;
        urc_sp_taps(k, body, &g, a, incl, o[a], &lo[a], &hi[a], &c);
        cnt = urc_mul(cnt, c);
    }
    /* voxel offsets of the output and of the window's first input (before taps) */
    urc_lx *yv = nn, *xv = nn;
    for (int a = 0; a < g.nsp; a++) {
        yv = urc_add(urc_muli(yv, g.out[a]), o[a]);
        xv = urc_muli(xv, g.in[a]);
    }
    urc_lx *yb = urc_sp_let(k, body, "yb", urc_muli(yv, g.C));
    /* (bf16: the maxima in a local float32 row, each stored once, converted: no bf16 round trip per tap) */
    int acc = mx && st != dt ? urc_kernel_local(k, "acc", dt, g.C) : -1;
    if (acc >= 0) urc_ls_array(body, k, acc);
    urc_ls *init = body;
    urc_lx *c0 = chan_loop(k, &init, g.C);
    if (acc >= 0) urc_ls_store(init, acc, c0, urc_lx_const(lowest(dt), dt));
    else urc_ls_store(init, by, urc_add(yb, c0), urc_lx_const(mx ? lowest(dt) : 0, dt));
    urc_ls *in = body;
    urc_lx *xoff = urc_sp_i(0);
    for (int a = 0; a < g.nsp; a++) {
        urc_lx *kk = lo[a];
        if (!(lo[a]->kind == URC_LX_INT && hi[a]->kind == URC_LX_INT && hi[a]->i - lo[a]->i == 1))
            kk = urc_sp_range_loop(k, &in, nm("k", a), lo[a], hi[a]);
        urc_lx *ii = urc_addi(urc_add(urc_muli(o[a], g.s[a]), urc_muli(kk, g.d[a])), -g.pb[a]);
        xoff = urc_add(urc_muli(xoff, g.in[a]), ii);
    }
    urc_lx *xb = urc_sp_let(k, in, "xb", urc_muli(urc_add(xv, xoff), g.C));
    urc_lx *c1 = chan_loop(k, &in, g.C);
    urc_lx *yi = urc_add(yb, c1), *v = urc_lx_cast(dt, urc_lx_load(k, bx, urc_add(xb, c1)));
    if (acc >= 0) {
        urc_ls_store(in, acc, c1, urc_lx_bin(URC_L_MAX, urc_lx_load(k, acc, c1), v));
        urc_ls *fin = body;
        urc_lx *c2 = chan_loop(k, &fin, g.C);
        urc_ls_store(fin, by, urc_add(yb, c2), urc_lx_cast(st, urc_lx_load(k, acc, c2)));
        return true;
    }
    urc_ls_store(in, by, yi, urc_lx_bin(mx ? URC_L_MAX : URC_L_ADD, urc_lx_load(k, by, yi), v));
    if (!mx) {
        urc_ls *fin = body;
        urc_lx *c2 = chan_loop(k, &fin, g.C), *y2 = urc_add(yb, c2);
        urc_lx *den = cnt->kind == URC_LX_INT ? urc_lx_const((double)cnt->i, dt) : urc_lx_cast(dt, cnt);
        urc_ls_store(fin, by, y2, urc_lx_bin(URC_L_DIV, urc_lx_load(k, by, y2), den));
    }
    return true;
}

/* GlobalAveragePool / GlobalMaxPool, X [N, S..., C] -> Y [N, 1..., C]:
 *   for n (parallel): for c: Y[n, c] = 0 | lowest;  for j: for c: Y[n, c] += | max= X[n, j, c]
 *   GlobalAveragePool: for c: Y[n, c] /= S */
static bool lower_global_cl(urc_lower *L, urc_kernel *k, const urc_node *n) {
    const urc_value *X = n->in[0], *Y = n->out[0];
    urc_dtype dt = X->dtype;
    bool mx = is_max(n->op);
    int64_t N = X->shape.dims[0], C = X->shape.dims[X->shape.rank - 1], S = urc_shape_numel(&X->shape) / (N * C);
    int bx = urc_lower_in(L, k, X, "x"), by = urc_lower_out(L, k, Y, "y");
    urc_ls *body = k->body, *par = NULL;
    urc_lx *nn = urc_sp_dim_loop(k, &body, "n", N, &par);
    urc_lx *yb = urc_muli(nn, C);
    urc_ls *init = body;
    urc_lx *c0 = chan_loop(k, &init, C);
    urc_ls_store(init, by, urc_add(yb, c0), urc_lx_const(mx ? lowest(dt) : 0, dt));
    urc_ls *in = body;
    urc_lx *j = urc_sp_dim_loop(k, &in, "j", S, NULL);
    urc_lx *c1 = chan_loop(k, &in, C), *yi = urc_add(yb, c1);
    urc_lx *v = urc_lx_load(k, bx, urc_add(urc_muli(urc_add(urc_muli(nn, S), j), C), c1));
    urc_ls_store(in, by, yi, urc_lx_bin(mx ? URC_L_MAX : URC_L_ADD, urc_lx_load(k, by, yi), v));
    if (!mx) {
        urc_ls *fin = body;
        urc_lx *c2 = chan_loop(k, &fin, C), *y2 = urc_add(yb, c2);
        urc_ls_store(fin, by, y2, urc_lx_bin(URC_L_DIV, urc_lx_load(k, by, y2), urc_lx_const((double)S, dt)));
    }
    return true;
}

static bool pool_lower(urc_lower *L, const urc_node *n) {
    urc_kernel *k = urc_lower_begin(L, n);
    if (n->a.pool.channels_last) return is_global(n->op) ? lower_global_cl(L, k, n) : lower_window_cl(L, k, n);
    return is_global(n->op) ? lower_global(L, k, n) : lower_window(L, k, n);
}

static void pool_print(const urc_node *n, urc_strbuf *sb) {
    const urc_pool_attr *a = &n->a.pool;
    if (is_global(n->op)) {
        if (a->channels_last) urc_sb_puts(sb, " channels_last");
        return;
    }
    urc_print_ints(sb, "kernel", a->kernel, a->nsp);
    urc_print_ints(sb, "strides", a->strides, a->nsp);
    if (n->op == URC_OP_MAX_POOL) urc_print_ints(sb, "dilations", a->dilations, a->nsp);
    urc_print_ints(sb, "pads", a->pads, 2 * a->nsp);
    if (a->ceil_mode) urc_sb_puts(sb, " ceil_mode=1");
    if (a->count_include_pad) urc_sb_puts(sb, " count_include_pad=1");
    if (a->storage_order) urc_sb_puts(sb, " storage_order=1");
    if (a->channels_last) urc_sb_puts(sb, " channels_last");
}

/* Every pool has a channels-last form but MaxPool with Indices (defined on
 * channels-first offsets). */
static bool *pool_channels_last(urc_node *n, unsigned *more_inputs) {
    (void)more_inputs;
    return n->op == URC_OP_MAX_POOL && n->nout > 1 && n->out[1] ? NULL : &n->a.pool.channels_last;
}

const urc_op_impl urc_impl_pool = {pool_parse,
                                   pool_infer,
                                   pool_eval,
                                   pool_lower,
                                   pool_print,
                                   .signature_lower = true,
                                   .channels_last = pool_channels_last};
