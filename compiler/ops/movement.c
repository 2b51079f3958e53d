/* movement.c: ops that move data without arithmetic. Reshape, Flatten,
 * Squeeze, Unsqueeze, Identity and Dropout (inference, or training mode
 * with ratio 0) only change the
 * shape: the memory plan makes them views of their input, so they cost
 * nothing. Transpose, Expand, Tile, DepthToSpace and SpaceToDepth copy:
 * each output element reads one input element whose index src() gives. */
#include "common.h"

static bool movement_parse(urc_node *n, urc_attr_list *l) {
    urc_movement_attr *a = &n->a.movement;
    int64_t v;
    switch (n->op) {
    case URC_OP_RESHAPE:
        if (!urc_attr_int(l, "allowzero", 0, &v)) return false;
        a->allowzero = v != 0;
        return true;
    case URC_OP_FLATTEN: return urc_attr_int(l, "axis", 1, &a->axis);
    case URC_OP_SQUEEZE:
    case URC_OP_UNSQUEEZE: return urc_attr_ints(l, "axes", a->axes, URC_MAX_RANK, &a->naxes);
    case URC_OP_TRANSPOSE: return urc_attr_ints(l, "perm", a->perm, URC_MAX_RANK, &a->nperm);
    case URC_OP_DROPOUT:
        if (!urc_attr_int(l, "seed", 0, &a->seed)) return false;
        return urc_attr_float(l, "ratio", 0.5, &a->ratio); /* opset < 12 form */
    case URC_OP_DEPTH_TO_SPACE: {
        const char *mode;
        if (!urc_attr_int(l, "blocksize", 0, &a->blocksize) || !urc_attr_string(l, "mode", "DCR", &mode)) return false;
        if (strcmp(mode, "DCR") && strcmp(mode, "CRD")) {
            urc_error(l->where, "attribute 'mode' must be DCR or CRD, got '%s'", mode);
            return false;
        }
        a->dcr = !strcmp(mode, "DCR");
        return true;
    }
    case URC_OP_SPACE_TO_DEPTH: return urc_attr_int(l, "blocksize", 0, &a->blocksize);
    default: return true;
    }
}

static bool reshape_infer(urc_node *n, urc_shape *o) {
    const char *where = urc_node_where(n);
    const urc_shape *is = &n->in[0]->shape;
    int64_t t[URC_MAX_RANK + 1];
    int nt;
    if (!urc_const_ints(n, 1, t, URC_MAX_RANK, &nt)) return false;
    o->rank = nt;
    int infer = -1;
    int64_t known = 1;
    for (int d = 0; d < nt; d++) {
        int64_t v = t[d];
        if (v == 0 && !n->a.movement.allowzero) {
            if (d >= is->rank) {
                urc_error(where, "shape entry %d is 0 (copy) but the input has rank %d", d, is->rank);
                return false;
            }
            v = is->dims[d];
        } else if (v == -1) {
            if (infer >= 0) {
                urc_error(where, "shape has more than one -1");
                return false;
            }
            infer = d;
            v = 1;
        } else if (v < 0) {
            urc_error(where, "shape entry %d is %lld", d, (long long)v);
            return false;
        }
        o->dims[d] = v;
        if (d != infer && !urc_mul_ok(known, v, &known)) {
            urc_error(where, "shape overflows");
            return false;
        }
    }
    int64_t total = urc_shape_numel(is);
    if (infer >= 0) {
        if (known == 0 || total % known) {
            urc_error(where, "cannot reshape %s into %s with -1", urc_shape_str(is), urc_shape_str(o));
            return false;
        }
        o->dims[infer] = total / known;
    } else if (known != total) {
        urc_error(where, "cannot reshape %s (%lld elements) into %s", urc_shape_str(is), (long long)total,
                  urc_shape_str(o));
        return false;
    }
    return true;
}

static bool axes_of(urc_node *n, int rank, int64_t *axes, int *naxes) {
    urc_movement_attr *a = &n->a.movement;
    if (n->nin > 1 && n->in[1]) {
        if (!urc_const_ints(n, 1, axes, URC_MAX_RANK, naxes)) return false;
    } else if (a->naxes >= 0) {
        memcpy(axes, a->axes, sizeof(int64_t) * (size_t)a->naxes);
        *naxes = a->naxes;
    } else {
        *naxes = -1;
        return true;
    }
    for (int i = 0; i < *naxes; i++) {
        if (!urc_norm_axis(n, axes[i], rank, &axes[i])) return false;
        for (int j = 0; j < i; j++)
            if (axes[j] == axes[i]) {
                urc_error(urc_node_where(n), "axis %lld is listed twice", (long long)axes[i]);
                return false;
            }
    }
    return true;
}

static bool movement_infer(urc_node *n) {
    urc_movement_attr *a = &n->a.movement;
    const char *where = urc_node_where(n);
    if (!urc_check_dtype(n, 0, URC_DTM_ALL)) return false;
    const urc_shape *is = &n->in[0]->shape;
    urc_dtype dt = n->in[0]->dtype;
    urc_shape o = {0};
    switch (n->op) {
    case URC_OP_RESHAPE:
        if (!reshape_infer(n, &o)) return false;
        break;
    case URC_OP_FLATTEN: {
        int64_t ax = a->axis;
        if (ax < -is->rank || ax > is->rank) {
            urc_error(where, "axis %lld is out of range for rank %d", (long long)ax, is->rank);
            return false;
        }
        if (ax < 0) ax += is->rank;
        int64_t outer = 1;
        for (int d = 0; d < ax; d++) outer *= is->dims[d];
        o.rank = 2;
        o.dims[0] = outer;
        o.dims[1] = outer ? urc_shape_numel(is) / outer : 0;
        if (!outer) {
            o.dims[1] = 1;
            for (int d = (int)ax; d < is->rank; d++) o.dims[1] *= is->dims[d];
        }
        break;
    }
    case URC_OP_SQUEEZE: {
        int64_t axes[URC_MAX_RANK];
        int na;
        if (!axes_of(n, is->rank, axes, &na)) return false;
        bool drop[URC_MAX_RANK] = {0};
        if (na < 0) {
            for (int d = 0; d < is->rank; d++) drop[d] = is->dims[d] == 1;
        } else {
            for (int i = 0; i < na; i++) {
                if (is->dims[axes[i]] != 1) {
                    urc_error(where, "cannot squeeze axis %lld of size %lld", (long long)axes[i],
                              (long long)is->dims[axes[i]]);
                    return false;
                }
                drop[axes[i]] = true;
            }
        }
        for (int d = 0; d < is->rank; d++)
            if (!drop[d]) o.dims[o.rank++] = is->dims[d];
        break;
    }
    case URC_OP_UNSQUEEZE: {
        int64_t axes[URC_MAX_RANK];
        int na;
        if (!(n->nin > 1 && n->in[1]) && a->naxes < 0) {
            urc_error(where, "Unsqueeze needs axes");
            return false;
        }
        int64_t raw[URC_MAX_RANK + 1];
        if (n->nin > 1 && n->in[1]) {
            if (!urc_const_ints(n, 1, raw, URC_MAX_RANK, &na)) return false;
        } else {
            na = a->naxes;
            memcpy(raw, a->axes, sizeof(int64_t) * (size_t)na);
        }
        int r = is->rank + na;
        if (r > URC_MAX_RANK) {
            urc_error(where, "result rank %d is above %d", r, URC_MAX_RANK);
            return false;
        }
        bool ins[URC_MAX_RANK] = {0};
        for (int i = 0; i < na; i++) {
            if (!urc_norm_axis(n, raw[i], r, &axes[i])) return false;
            if (ins[axes[i]]) {
                urc_error(where, "axis %lld is listed twice", (long long)raw[i]);
                return false;
            }
            ins[axes[i]] = true;
        }
        o.rank = r;
        for (int d = 0, k = 0; d < r; d++) o.dims[d] = ins[d] ? 1 : is->dims[k++];
        break;
    }
    case URC_OP_IDENTITY: o = *is; break;
    case URC_OP_DROPOUT:
        /* Training mode is deterministic only with ratio 0: y = x, mask all true (as in inference). */
        if (n->nin > 2 && n->in[2]) {
            double t, ratio = 0.5;
            if (!urc_const_scalar(n, 2, &t)) return false;
            if (t != 0 && n->nin > 1 && n->in[1] && !urc_const_scalar(n, 1, &ratio)) return false;
            if (t != 0 && ratio != 0) {
                urc_error(where,
                          "Dropout in training mode with ratio %g draws random masks; not supported "
                          "(only ratio 0 is deterministic)",
                          ratio);
                return false;
            }
        }
        o = *is;
        if (n->nout > 1 && n->out[1]) urc_set_out(n, 1, URC_DT_BOOL, is);
        break;
    case URC_OP_TRANSPOSE: {
        if (a->nperm < 0) {
            for (int d = 0; d < is->rank; d++) a->perm[d] = is->rank - 1 - d;
            a->nperm = is->rank;
        }
        if (a->nperm != is->rank) {
            urc_error(where, "perm has %d entries for rank %d", a->nperm, is->rank);
            return false;
        }
        bool seen[URC_MAX_RANK] = {0};
        for (int d = 0; d < is->rank; d++) {
            if (a->perm[d] < 0 || a->perm[d] >= is->rank || seen[a->perm[d]]) {
                urc_error(where, "perm is not a permutation of 0..%d", is->rank - 1);
                return false;
            }
            seen[a->perm[d]] = true;
            o.dims[d] = is->dims[a->perm[d]];
        }
        o.rank = is->rank;
        break;
    }
    case URC_OP_EXPAND: {
        int64_t t[URC_MAX_RANK + 1];
        int nt;
        if (!urc_const_ints(n, 1, t, URC_MAX_RANK, &nt)) return false;
        urc_shape ts = {nt, {0}};
        for (int d = 0; d < nt; d++) {
            if (t[d] < 0) {
                urc_error(where, "negative dimension %lld in shape", (long long)t[d]);
                return false;
            }
            ts.dims[d] = t[d];
        }
        if (!urc_shape_broadcast(is, &ts, &o)) {
            urc_error(where, "cannot expand %s to %s", urc_shape_str(is), urc_shape_str(&ts));
            return false;
        }
        break;
    }
    case URC_OP_TILE: {
        int64_t t[URC_MAX_RANK + 1];
        int nt;
        if (!urc_const_ints(n, 1, t, URC_MAX_RANK, &nt)) return false;
        if (nt != is->rank) {
            urc_error(where, "repeats has %d entries for rank %d", nt, is->rank);
            return false;
        }
        o.rank = is->rank;
        for (int d = 0; d < nt; d++) {
            if (t[d] < 0) {
                urc_error(where, "negative repeat %lld", (long long)t[d]);
                return false;
            }
            a->repeats[d] = t[d];
            if (!urc_mul_ok(is->dims[d], t[d], &o.dims[d])) {
                urc_error(where, "tiled shape overflows");
                return false;
            }
        }
        break;
    }
    case URC_OP_DEPTH_TO_SPACE:
    case URC_OP_SPACE_TO_DEPTH: {
        if (!urc_check_rank(n, 0, 4, 4)) return false;
        int64_t b = a->blocksize;
        if (b < 1) {
            urc_error(where, "blocksize must be at least 1, got %lld", (long long)b);
            return false;
        }
        o.rank = 4;
        o.dims[0] = is->dims[0];
        if (n->op == URC_OP_DEPTH_TO_SPACE) {
            int64_t bb; /* (input hardening) b * b and the products below must not overflow */
            if (!urc_mul_ok(b, b, &bb) || !urc_mul_ok(is->dims[2], b, &o.dims[2]) ||
                !urc_mul_ok(is->dims[3], b, &o.dims[3])) {
                urc_error(where, "blocksize %lld is too large for %lld channels", (long long)b, (long long)is->dims[1]);
                return false;
            }
            if (is->dims[1] % bb) {
                urc_error(where, "channels %lld are not divisible by blocksize^2", (long long)is->dims[1]);
                return false;
            }
            o.dims[1] = is->dims[1] / (b * b);
            o.dims[2] = is->dims[2] * b;
            o.dims[3] = is->dims[3] * b;
        } else {
            if (is->dims[2] % b || is->dims[3] % b) {
                urc_error(where, "spatial size %s is not divisible by blocksize", urc_shape_str(is));
                return false;
            }
            int64_t bb; /* b is bounded by the spatial dims only when they are not 0 */
            if (!urc_mul_ok(b, b, &bb) || !urc_mul_ok(is->dims[1], bb, &o.dims[1])) {
                urc_error(where, "blocksize %lld is too large for %lld channels", (long long)b, (long long)is->dims[1]);
                return false;
            }
            o.dims[2] = is->dims[2] / b;
            o.dims[3] = is->dims[3] / b;
        }
        break;
    }
    default: return false;
    }
    urc_set_out(n, 0, dt, &o);
    return true;
}

static bool is_view(urc_op op) {
    return op == URC_OP_RESHAPE || op == URC_OP_FLATTEN || op == URC_OP_SQUEEZE || op == URC_OP_UNSQUEEZE ||
           op == URC_OP_IDENTITY || op == URC_OP_DROPOUT;
}

/* Input index (per dim of the input) of output element oi. */
static void src(const urc_node *n, const int64_t *oi, int64_t *ii) {
    const urc_movement_attr *a = &n->a.movement;
    const urc_shape *is = &n->in[0]->shape, *os = &n->out[0]->shape;
    int64_t b = a->blocksize;
    switch (n->op) {
    case URC_OP_TRANSPOSE:
        for (int d = 0; d < os->rank; d++) ii[a->perm[d]] = oi[d];
        break;
    case URC_OP_EXPAND:
        for (int d = 0; d < is->rank; d++) {
            int od = d + os->rank - is->rank;
            ii[d] = is->dims[d] == 1 ? 0 : oi[od];
        }
        break;
    case URC_OP_TILE:
        for (int d = 0; d < is->rank; d++) ii[d] = oi[d] % is->dims[d];
        break;
    case URC_OP_DEPTH_TO_SPACE: {
        int64_t c = oi[1], h = oi[2], w = oi[3], C = os->dims[1];
        ii[0] = oi[0];
        ii[2] = h / b;
        ii[3] = w / b;
        ii[1] = a->dcr ? ((h % b) * b + w % b) * C + c : (c * b + h % b) * b + w % b;
        break;
    }
    case URC_OP_SPACE_TO_DEPTH: {
        int64_t c = oi[1], C = is->dims[1];
        int64_t blk = c / C;
        ii[0] = oi[0];
        ii[1] = c % C;
        ii[2] = oi[2] * b + blk / b;
        ii[3] = oi[3] * b + blk % b;
        break;
    }
    default: URC_ASSERT(0, "src: not a copying op");
    }
}

static bool movement_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_tensor *x = in[0];
    urc_tensor *y = out[0];
    if (is_view(n->op)) {
        memcpy(y->data, x->data, urc_tensor_bytes(y));
        if (n->op == URC_OP_DROPOUT && n->nout > 1 && out[1]) memset(out[1]->data, 1, urc_tensor_bytes(out[1]));
        return true;
    }
    int es = urc_dtype_size(x->dtype);
    int64_t ne = urc_tensor_numel(y), xs[URC_MAX_RANK];
    urc_shape_strides(&x->shape, xs);
    for (int64_t i = 0; i < ne; i++) {
        int64_t oi[URC_MAX_RANK], ii[URC_MAX_RANK] = {0}, off = 0;
        urc_unravel(&y->shape, i, oi);
        src(n, oi, ii);
        for (int d = 0; d < x->shape.rank; d++) off += ii[d] * xs[d];
        memcpy((char *)y->data + i * es, (const char *)x->data + off * es, (size_t)es);
    }
    return true;
}

/* Loop-expression twin of src(). */
static urc_lx *src_index(const urc_kernel *k, const urc_node *n, const int *iv) {
    const urc_movement_attr *a = &n->a.movement;
    const urc_shape *is = &n->in[0]->shape, *os = &n->out[0]->shape;
    const urc_lx *ii[URC_MAX_RANK];
    urc_lx *o[URC_MAX_RANK];
    for (int d = 0; d < os->rank; d++) o[d] = urc_lx_var(k, iv[d]);
    urc_lx *B = urc_lx_int(a->blocksize);
    switch (n->op) {
    case URC_OP_TRANSPOSE:
        for (int d = 0; d < os->rank; d++) ii[a->perm[d]] = o[d];
        break;
    case URC_OP_EXPAND: return urc_index_bcast(k, iv, os, is);
    case URC_OP_TILE:
        for (int d = 0; d < is->rank; d++)
            ii[d] = a->repeats[d] == 1 ? o[d] : urc_lx_bin(URC_L_REM, o[d], urc_lx_int(is->dims[d]));
        break;
    case URC_OP_DEPTH_TO_SPACE: {
        urc_lx *hq = urc_lx_bin(URC_L_DIV, o[2], B), *hr = urc_lx_bin(URC_L_REM, o[2], B);
        urc_lx *wq = urc_lx_bin(URC_L_DIV, o[3], B), *wr = urc_lx_bin(URC_L_REM, o[3], B);
        ii[0] = o[0];
        ii[2] = hq;
        ii[3] = wq;
        ii[1] = a->dcr ? urc_add(urc_muli(urc_add(urc_muli(hr, a->blocksize), wr), os->dims[1]), o[1])
                       : urc_add(urc_muli(urc_add(urc_muli(o[1], a->blocksize), hr), a->blocksize), wr);
        break;
    }
    case URC_OP_SPACE_TO_DEPTH: {
        urc_lx *C = urc_lx_int(is->dims[1]);
        urc_lx *blk = urc_lx_bin(URC_L_DIV, o[1], C);
        ii[0] = o[0];
        ii[1] = urc_lx_bin(URC_L_REM, o[1], C);
        ii[2] = urc_add(urc_muli(o[2], a->blocksize), urc_lx_bin(URC_L_DIV, blk, B));
        ii[3] = urc_add(urc_muli(o[3], a->blocksize), urc_lx_bin(URC_L_REM, blk, B));
        break;
    }
    default: URC_ASSERT(0, "src_index: not a copying op");
    }
    return urc_index(ii, is);
}

/* A transpose over the fewest axes: axes of extent 1 dropped and axes that stay
 * neighbours (in the same order) merged. dims[] are the input's merged extents
 * (in input order), out axis j reads input axis rp[j]. Returns the rank. */
static int transpose_reduce(const urc_shape *is, const int64_t *perm, int64_t *dims, int *rp) {
    int id[URC_MAX_RANK], seq[URC_MAX_RANK], ns = 0, nk = 0;
    for (int d = 0; d < is->rank; d++) id[d] = is->dims[d] > 1 ? nk++ : -1;
    for (int d = 0; d < is->rank; d++)
        if (id[perm[d]] >= 0) seq[ns++] = id[perm[d]];
    /* runs of consecutive input axes in the output order */
    int start[URC_MAX_RANK], len[URC_MAX_RANK], nr = 0;
    for (int k = 0; k < ns; k++) {
        if (k && seq[k] == seq[k - 1] + 1) len[nr - 1]++;
        else start[nr] = seq[k], len[nr++] = 1;
    }
    int64_t kept[URC_MAX_RANK];
    for (int d = 0, k = 0; d < is->rank; d++)
        if (id[d] >= 0) kept[k++] = is->dims[d];
    /* input order of the runs: run j is input axis #(runs starting before it) */
    for (int j = 0; j < nr; j++) {
        int before = 0;
        for (int i = 0; i < nr; i++) before += start[i] < start[j];
        rp[j] = before;
        dims[before] = 1;
        for (int q = 0; q < len[j]; q++) dims[before] *= kept[start[j] + q];
    }
    return nr;
}

#define TR_TILE 16 /* a 16 x 16 block of floats: one 64-byte line per row on both sides */

/* Appends a loop to *body and enters it; the first one made (the parallel one)
 * is kept in *first for its collapse count. */
static void tr_loop(urc_ls **body, urc_ls **first, int var, urc_lx *lo, urc_lx *hi, int64_t step, unsigned flags) {
    urc_ls *parent = *body;
    *body = urc_ls_for(parent, var, lo, hi, step, flags | (*first ? 0 : URC_FOR_PARALLEL));
    if (!*first) *first = parent->list.items[parent->list.len - 1];
}

/* y = transpose(x) over its reduced form: a chunk copy when the innermost axis
 * stays innermost, else 16 x 16 tiles of the two axes that swap contiguity. The
 * outer loops are shared out together (collapse), so a leading axis of 1-4
 * (heads) does not leave threads idle. */
static void lower_transpose(urc_kernel *k, int bx, int by, int r, const int64_t *dims, const int *rp) {
    int64_t istr[URC_MAX_RANK], ostr[URC_MAX_RANK];
    istr[r - 1] = ostr[r - 1] = 1;
    for (int i = r - 2; i >= 0; i--) {
        istr[i] = istr[i + 1] * dims[i + 1];
        ostr[i] = ostr[i + 1] * dims[rp[i + 1]];
    }
    static const char *names[URC_MAX_RANK] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};
    int iv[URC_MAX_RANK];
    for (int j = 0; j < r; j++) iv[j] = urc_kernel_var(k, names[j], URC_DT_I64);
    int a = 0; /* the out axis that reads x's contiguous axis */
    for (int j = 0; j < r; j++)
        if (rp[j] == r - 1) a = j;
    bool tiled = a != r - 1;
    urc_ls *body = k->body, *first = NULL;
    int nouter = 0;
    for (int j = 0; j < r; j++) {
        if (tiled && (j == a || j == r - 1)) continue;
        if (!tiled && j == r - 1) continue;
        tr_loop(&body, &first, iv[j], urc_lx_int(0), urc_lx_int(dims[rp[j]]), 1, 0);
        nouter++;
    }
    if (tiled) {
        int blk[2] = {urc_kernel_var(k, "ta", URC_DT_I64), urc_kernel_var(k, "tb", URC_DT_I64)};
        int ax[2] = {a, r - 1};
        for (int t = 0; t < 2; t++) {
            tr_loop(&body, &first, blk[t], urc_lx_int(0), urc_lx_int(dims[rp[ax[t]]]), TR_TILE, 0);
            nouter++;
        }
        for (int t = 0; t < 2; t++) {
            urc_lx *lo = urc_lx_var(k, blk[t]);
            urc_lx *hi = urc_lx_inrange(urc_lx_bin(URC_L_MIN, urc_addi(lo, TR_TILE), urc_lx_int(dims[rp[ax[t]]])));
            body = urc_ls_for(body, iv[ax[t]], lo, hi, 1, t == 1 ? URC_FOR_SIMD : 0);
        }
    } else { /* r >= 2: an outer loop exists, this one is not parallel */
        body = urc_ls_for(body, iv[r - 1], urc_lx_int(0), urc_lx_int(dims[rp[r - 1]]), 1, URC_FOR_SIMD);
    }
    if (nouter > 1) first->collapse = nouter;
    urc_lx *yi = urc_lx_int(0), *xi = urc_lx_int(0);
    for (int j = 0; j < r; j++) {
        yi = urc_add(yi, urc_muli(urc_lx_var(k, iv[j]), ostr[j]));
        xi = urc_add(xi, urc_muli(urc_lx_var(k, iv[j]), istr[rp[j]]));
    }
    urc_ls_store(body, by, yi, urc_lx_load(k, bx, xi));
}

static bool movement_lower(urc_lower *L, const urc_node *n) {
    if (is_view(n->op)) {
        /* Not made a view by the memory plan (e.g. it produces a graph output). */
        if (!urc_lower_copy(L, n, n->in[0], n->out[0])) return false;
        if (n->op == URC_OP_DROPOUT && n->nout > 1 && n->out[1]) {
            urc_kernel *k = urc_lower_begin(L, n);
            int bm = urc_lower_out(L, k, n->out[1], "mask");
            urc_shape flat = {1, {urc_shape_numel(&n->out[1]->shape)}};
            int iv[1];
            urc_ls *body = urc_loop_nest(k, k->body, &flat, iv, 0);
            urc_ls_store(body, bm, urc_lx_var(k, iv[0]), urc_lx_const(1, URC_DT_BOOL));
        }
        return true;
    }
    int64_t tdims[URC_MAX_RANK];
    int trp[URC_MAX_RANK], tr = 0;
    if (n->op == URC_OP_TRANSPOSE) {
        tr = transpose_reduce(&n->in[0]->shape, n->a.movement.perm, tdims, trp);
        if (tr <= 1) return urc_lower_copy(L, n, n->in[0], n->out[0]); /* moves only axes of extent 1 */
    }
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x");
    int by = urc_lower_out(L, k, n->out[0], "y");
    if (n->op == URC_OP_TRANSPOSE) {
        lower_transpose(k, bx, by, tr, tdims, trp);
        return true;
    }
    int iv[URC_MAX_RANK];
    const urc_shape *os = &n->out[0]->shape;
    urc_ls *body = urc_loop_nest(k, k->body, os, iv, URC_FOR_PARALLEL);
    urc_ls_store(body, by, urc_index_vars(k, iv, os), urc_lx_load(k, bx, src_index(k, n, iv)));
    return true;
}

static void movement_print(const urc_node *n, urc_strbuf *sb) {
    if (n->op == URC_OP_TRANSPOSE) urc_print_ints(sb, "perm", n->a.movement.perm, n->a.movement.nperm);
}

const urc_op_impl urc_impl_movement = {movement_parse, movement_infer, movement_eval,
                                       movement_lower, movement_print, .signature_lower = true};
