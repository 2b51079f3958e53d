/* slice.c: ops that cut and join tensors without arithmetic: Concat, Split,
 * Slice and Pad.
 *
 * Each output element copies one input element (or Pad's constant). The
 * source index is affine in the destination index along every dim, except
 * Pad's reflect/edge/wrap borders, which fold the index back into the input.
 * Lowering keeps the innermost loop a contiguous run wherever the layout
 * allows: Concat and Split copy the block dims[axis:] of each outer index in
 * one run, Slice merges full trailing dims into one run, and Pad copies the
 * interior of each padded row in one run and fills its borders separately. */
#include "common.h"

static bool slice_parse(urc_node *n, urc_attr_list *l) {
    urc_slice_attr *a = &n->a.slice;
    switch (n->op) {
    case URC_OP_CONCAT:
        if (!urc_attr_has(l, "axis")) {
            urc_error(l->where, "Concat needs the 'axis' attribute");
            return false;
        }
        return urc_attr_int(l, "axis", 0, &a->axis);
    case URC_OP_SPLIT:
        if (!urc_attr_int(l, "axis", 0, &a->axis)) return false;
        a->num_outputs = -1;
        a->nsplit = -1;
        /* Before opset 13 the sizes are an attribute. */
        if (n->opset < 13 && !urc_attr_ints(l, "split", a->split, (int)URC_ARRAY_LEN(a->split), &a->nsplit))
            return false;
        if (n->opset >= 18) {
            if (!urc_attr_int(l, "num_outputs", -1, &a->num_outputs)) return false;
            if (urc_attr_has(l, "num_outputs") && a->num_outputs < 1) {
                urc_error(l->where, "attribute 'num_outputs' must be at least 1, got %lld", (long long)a->num_outputs);
                return false;
            }
        }
        return true;
    case URC_OP_PAD: {
        const char *m;
        if (!urc_attr_string(l, "mode", "constant", &m)) return false;
        if (!strcmp(m, "constant")) a->mode = URC_PADMODE_CONSTANT;
        else if (!strcmp(m, "reflect")) a->mode = URC_PADMODE_REFLECT;
        else if (!strcmp(m, "edge")) a->mode = URC_PADMODE_EDGE;
        else if (!strcmp(m, "wrap")) a->mode = URC_PADMODE_WRAP;
        else {
            urc_error(l->where, "attribute 'mode' must be constant, reflect, edge or wrap, got '%s'", m);
            return false;
        }
        return true;
    }
    default: return true;
    }
}

static bool present(const urc_node *n, int i) { return i < n->nin && n->in[i]; }

/* ---- shape inference -------------------------------------------------------- */

static bool concat_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    urc_slice_attr *a = &n->a.slice;
    for (int j = 0; j < n->nin; j++) {
        if (!urc_check_dtype(n, j, URC_DTM_ALL)) return false;
        if (j && !urc_check_same_dtype(n, 0, j)) return false;
    }
    urc_shape o = n->in[0]->shape;
    if (o.rank == 0) {
        urc_error(where, "Concat needs inputs of rank at least 1");
        return false;
    }
    if (!urc_norm_axis(n, a->axis, o.rank, &a->axis)) return false;
    o.dims[a->axis] = 0;
    for (int j = 0; j < n->nin; j++) {
        const urc_shape *s = &n->in[j]->shape;
        bool ok = s->rank == o.rank;
        for (int d = 0; ok && d < s->rank; d++) ok = d == a->axis || s->dims[d] == o.dims[d];
        if (!ok) {
            urc_error(where, "input %d has shape %s, which does not match input 0 of shape %s except along axis %lld",
                      j, urc_shape_str(s), urc_shape_str(&n->in[0]->shape), (long long)a->axis);
            return false;
        }
        if (!urc_add_ok(o.dims[a->axis], s->dims[a->axis], &o.dims[a->axis])) {
            urc_error(where, "concatenated size overflows");
            return false;
        }
    }
    urc_set_out(n, 0, n->in[0]->dtype, &o);
    return true;
}

/* Split sizes, from the 'split' input, num_outputs (opset 18: chunks of
 * ceil(dim / n), the last one smaller) or the output count (equal parts). */
static bool split_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    urc_slice_attr *a = &n->a.slice;
    if (!urc_check_dtype(n, 0, URC_DTM_ALL)) return false;
    const urc_shape *is = &n->in[0]->shape;
    if (is->rank == 0) {
        urc_error(where, "Split needs an input of rank at least 1");
        return false;
    }
    if (!urc_norm_axis(n, a->axis, is->rank, &a->axis)) return false;
    int nout = n->nout;
    if (nout > (int)URC_ARRAY_LEN(a->split)) {
        urc_error(where, "Split into %d outputs; at most %d supported", nout, (int)URC_ARRAY_LEN(a->split));
        return false;
    }
    int64_t dim = is->dims[a->axis];
    bool attr_split = n->opset < 13 && a->nsplit > 0;
    bool has_split = attr_split || (present(n, 1) && urc_shape_numel(&n->in[1]->shape) > 0);
    if (has_split) {
        int ns = a->nsplit;
        if (a->num_outputs >= 0) {
            urc_error(where, "Split takes the 'split' input or the 'num_outputs' attribute, not both");
            return false;
        }
        if (!attr_split && !urc_const_ints(n, 1, a->split, (int)URC_ARRAY_LEN(a->split), &ns)) return false;
        if (ns != nout) {
            urc_error(where, "'split' has %d entries but the node has %d outputs", ns, nout);
            return false;
        }
        int64_t sum = 0;
        for (int j = 0; j < ns; j++) {
            if (a->split[j] < 0 || !urc_add_ok(sum, a->split[j], &sum)) {
                urc_error(where, "'split' entry %d is %lld", j, (long long)a->split[j]);
                return false;
            }
        }
        if (sum != dim) {
            urc_error(where, "'split' sums to %lld but axis %lld has size %lld", (long long)sum, (long long)a->axis,
                      (long long)dim);
            return false;
        }
    } else if (a->num_outputs >= 0) {
        if (a->num_outputs != nout) {
            urc_error(where, "num_outputs is %lld but the node has %d outputs", (long long)a->num_outputs, nout);
            return false;
        }
        int64_t chunk = dim / nout + (dim % nout != 0);
        int64_t last = dim - chunk * (nout - 1);
        if (last < 0) {
            urc_error(where, "cannot split axis %lld of size %lld into %d chunks of %lld", (long long)a->axis,
                      (long long)dim, nout, (long long)chunk);
            return false;
        }
        for (int j = 0; j < nout; j++) a->split[j] = j + 1 < nout ? chunk : last;
    } else {
        if (n->opset >= 18) {
            urc_error(where, "Split at opset 18 needs the 'split' input or the 'num_outputs' attribute");
            return false;
        }
        if (dim % nout) {
            urc_error(where, "cannot split axis %lld of size %lld into %d equal parts", (long long)a->axis,
                      (long long)dim, nout);
            return false;
        }
        for (int j = 0; j < nout; j++) a->split[j] = dim / nout;
    }
    a->nsplit = nout;
    for (int j = 0; j < nout; j++) {
        urc_shape o = *is;
        o.dims[a->axis] = a->split[j];
        urc_set_out(n, j, n->in[0]->dtype, &o);
    }
    return true;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ONNX Slice along one axis of size dim: negative starts/ends count from
 * the end, then both are clamped ([0, dim] for positive steps, [0, dim-1]
 * and [-1, dim-1] for negative ones), so INT64_MIN/INT64_MAX sentinels mean
 * "to the end". Gives the first index and the element count. */
static void slice_range(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first, int64_t *count) {
    if (start < 0) start += dim; /* no overflow: dim >= 0 */
    if (end < 0) end += dim;
    if (step > 0) {
        start = clamp64(start, 0, dim);
        end = clamp64(end, 0, dim);
    } else {
        start = clamp64(start, 0, dim - 1);
        end = clamp64(end, -1, dim - 1);
    }
    int64_t span = step > 0 ? end - start : start - end;
    uint64_t mag = step > 0 ? (uint64_t)step : (uint64_t)0 - (uint64_t)step;
    *first = start;
    *count = span <= 0 ? 0 : (int64_t)(((uint64_t)span - 1) / mag + 1);
}

static bool slice_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    urc_slice_attr *a = &n->a.slice;
    if (!urc_check_dtype(n, 0, URC_DTM_ALL)) return false;
    const urc_shape *is = &n->in[0]->shape;
    int r = is->rank;
    int64_t starts[URC_MAX_RANK], ends[URC_MAX_RANK], axes[URC_MAX_RANK], steps[URC_MAX_RANK];
    int ns, ne, na, nst;
    if (!urc_const_ints(n, 1, starts, URC_MAX_RANK, &ns) || !urc_const_ints(n, 2, ends, URC_MAX_RANK, &ne))
        return false;
    if (ns != ne) {
        urc_error(where, "starts has %d entries but ends has %d", ns, ne);
        return false;
    }
    if (present(n, 3)) {
        if (!urc_const_ints(n, 3, axes, URC_MAX_RANK, &na)) return false;
    } else {
        na = ns;
        for (int i = 0; i < na; i++) axes[i] = i;
    }
    if (present(n, 4)) {
        if (!urc_const_ints(n, 4, steps, URC_MAX_RANK, &nst)) return false;
    } else {
        nst = ns;
        for (int i = 0; i < nst; i++) steps[i] = 1;
    }
    if (na != ns || nst != ns) {
        urc_error(where, "starts, ends, axes and steps must have the same length (%d, %d, %d, %d)", ns, ne, na, nst);
        return false;
    }
    urc_shape o = *is;
    bool seen[URC_MAX_RANK] = {0};
    for (int d = 0; d < r; d++) a->start[d] = 0, a->step[d] = 1;
    for (int i = 0; i < ns; i++) {
        int64_t d;
        if (!urc_norm_axis(n, axes[i], r, &d)) return false;
        if (seen[d]) {
            urc_error(where, "axis %lld is listed twice", (long long)axes[i]);
            return false;
        }
        seen[d] = true;
        if (steps[i] == 0) {
            urc_error(where, "step %d is 0", i);
            return false;
        }
        a->step[d] = steps[i];
        slice_range(is->dims[d], starts[i], ends[i], steps[i], &a->start[d], &o.dims[d]);
    }
    urc_set_out(n, 0, n->in[0]->dtype, &o);
    return true;
}

static bool pad_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    urc_slice_attr *a = &n->a.slice;
    if (!urc_check_dtype(n, 0, URC_DTM_ALL)) return false;
    const urc_shape *is = &n->in[0]->shape;
    int r = is->rank;
    int64_t raw[2 * URC_MAX_RANK], axes[URC_MAX_RANK];
    int np, na;
    if (!urc_const_ints(n, 1, raw, 2 * URC_MAX_RANK, &np)) return false;
    if (present(n, 3)) {
        if (!urc_const_ints(n, 3, axes, URC_MAX_RANK, &na)) return false;
    } else {
        na = r;
        for (int i = 0; i < r; i++) axes[i] = i;
    }
    if (np != 2 * na) {
        urc_error(where, "pads has %d entries; expected %d (begin and end for %d axes)", np, 2 * na, na);
        return false;
    }
    memset(a->pads, 0, sizeof a->pads);
    bool seen[URC_MAX_RANK] = {0};
    for (int i = 0; i < na; i++) {
        int64_t d;
        if (!urc_norm_axis(n, axes[i], r, &d)) return false;
        if (seen[d]) {
            urc_error(where, "axis %lld is listed twice", (long long)axes[i]);
            return false;
        }
        seen[d] = true;
        a->pads[d] = raw[i];
        a->pads[r + d] = raw[na + i];
    }
    /* constant_value: optional scalar of the data's type, maybe run-time. */
    a->pad_value = 0;
    a->pad_value_runtime = false;
    if (present(n, 2) && urc_shape_numel(&n->in[2]->shape) > 0) {
        const urc_value *c = n->in[2];
        if (c->dtype != n->in[0]->dtype || urc_shape_numel(&c->shape) != 1) {
            urc_error(where, "constant_value must be one %s element, got %s%s", urc_dtype_name(n->in[0]->dtype),
                      urc_dtype_name(c->dtype), urc_shape_str(&c->shape));
            return false;
        }
        if (c->data) a->pad_value = urc_elem_f64(c->dtype, c->data, 0);
        else a->pad_value_runtime = true;
    }
    urc_shape o = *is;
    for (int d = 0; d < r; d++) {
        int64_t b = a->pads[d], e = a->pads[r + d], s;
        if (!urc_add_ok(is->dims[d], b, &s) || !urc_add_ok(s, e, &s) || s < 0) {
            urc_error(where, "pads %lld and %lld on axis %d of size %lld give a negative size", (long long)b,
                      (long long)e, d, (long long)is->dims[d]);
            return false;
        }
        /* A crop larger than the axis made up by the other side's pad (INT64_MIN and INT64_MAX, say):
         * rejected, so that every pad lies within the output size and negating one cannot overflow. */
        if (b < -is->dims[d] || e < -is->dims[d]) {
            urc_error(where, "pads %lld and %lld on axis %d of size %lld crop more than the axis holds", (long long)b,
                      (long long)e, d, (long long)is->dims[d]);
            return false;
        }
        o.dims[d] = s;
    }
    if (a->mode != URC_PADMODE_CONSTANT && urc_shape_numel(&o) > 0) {
        for (int d = 0; d < r; d++) {
            int64_t kept =
                is->dims[d] - (a->pads[d] < 0 ? -a->pads[d] : 0) - (a->pads[r + d] < 0 ? -a->pads[r + d] : 0);
            if (kept <= 0 && (a->pads[d] > 0 || a->pads[r + d] > 0)) {
                urc_error(where, "axis %d keeps no input elements to pad from in this mode", d);
                return false;
            }
        }
    }
    urc_set_out(n, 0, n->in[0]->dtype, &o);
    return true;
}

static bool slice_infer_any(urc_node *n) {
    switch (n->op) {
    case URC_OP_CONCAT: return concat_infer(n);
    case URC_OP_SPLIT: return split_infer(n);
    case URC_OP_SLICE: return slice_infer(n);
    case URC_OP_PAD: return pad_infer(n);
    default: return false;
    }
}

/* ---- reference ------------------------------------------------------------------ */

static int64_t prod(const int64_t *v, int from, int to) {
    int64_t p = 1;
    for (int d = from; d < to; d++) p *= v[d];
    return p;
}

static int64_t mod64(int64_t a, int64_t b) {
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

/* Pad: the input index read by output position o of an axis, or -1 for
 * the constant. begin is the pad before the axis (negative crops); [lo, hi)
 * is the part of the input that survives cropping. Reflect, edge and wrap
 * fold positions outside it back into it (non-empty, checked by infer). */
static int64_t pad_src(urc_pad_mode mode, int64_t o, int64_t begin, int64_t lo, int64_t hi) {
    int64_t i = o - begin;
    if (i >= lo && i < hi) return i;
    int64_t n = hi - lo, rel = i - lo;
    switch (mode) {
    case URC_PADMODE_CONSTANT: return -1;
    case URC_PADMODE_EDGE: return rel < 0 ? lo : hi - 1;
    case URC_PADMODE_WRAP: return lo + mod64(rel, n);
    case URC_PADMODE_REFLECT: {
        if (n == 1) return lo;
        int64_t period = 2 * (n - 1), m = mod64(rel, period);
        return lo + (m < n ? m : period - m);
    }
    }
    return -1;
}

static void kept_range(const urc_slice_attr *a, const urc_shape *is, int d, int64_t *lo, int64_t *hi) {
    int r = is->rank;
    *lo = a->pads[d] < 0 ? -a->pads[d] : 0;
    *hi = is->dims[d] - (a->pads[r + d] < 0 ? -a->pads[r + d] : 0);
}

static bool slice_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_slice_attr *a = &n->a.slice;
    int es = urc_dtype_size(in[0]->dtype);
    switch (n->op) {
    case URC_OP_CONCAT:
    case URC_OP_SPLIT: {
        /* Rows of dims[axis:] alternate between the parts. */
        bool cat = n->op == URC_OP_CONCAT;
        const urc_shape *whole = cat ? &out[0]->shape : &in[0]->shape;
        int ax = (int)a->axis, nparts = cat ? n->nin : n->nout;
        int64_t outer = prod(whole->dims, 0, ax), inner = prod(whole->dims, ax + 1, whole->rank) * es;
        char *w = cat ? out[0]->data : in[0]->data;
        for (int64_t o = 0; o < outer; o++)
            for (int j = 0; j < nparts; j++) {
                int64_t len = (cat ? in[j]->shape.dims[ax] : a->split[j]) * inner;
                if (cat) memcpy(w, (const char *)in[j]->data + o * len, (size_t)len);
                else if (out[j]) memcpy((char *)out[j]->data + o * len, w, (size_t)len);
                w += len;
            }
        return true;
    }
    case URC_OP_SLICE: {
        const urc_tensor *x = in[0];
        int64_t xs[URC_MAX_RANK], ne = urc_tensor_numel(out[0]);
        urc_shape_strides(&x->shape, xs);
        for (int64_t i = 0; i < ne; i++) {
            int64_t oi[URC_MAX_RANK], off = 0;
            urc_unravel(&out[0]->shape, i, oi);
            for (int d = 0; d < x->shape.rank; d++) off += (a->start[d] + oi[d] * a->step[d]) * xs[d];
            memcpy((char *)out[0]->data + i * es, (const char *)x->data + off * es, (size_t)es);
        }
        return true;
    }
    case URC_OP_PAD: {
        const urc_tensor *x = in[0];
        urc_tensor *y = out[0];
        const urc_tensor *cv = n->nin > 2 && in[2] && urc_tensor_numel(in[2]) > 0 ? in[2] : NULL;
        int r = x->shape.rank;
        int64_t xs[URC_MAX_RANK], ne = urc_tensor_numel(y);
        urc_shape_strides(&x->shape, xs);
        for (int64_t i = 0; i < ne; i++) {
            int64_t oi[URC_MAX_RANK], off = 0;
            bool fill = false;
            urc_unravel(&y->shape, i, oi);
            for (int d = 0; d < r; d++) {
                int64_t lo, hi;
                kept_range(a, &x->shape, d, &lo, &hi);
                int64_t s = pad_src(a->mode, oi[d], a->pads[d], lo, hi);
                if (s < 0) fill = true;
                off += s * xs[d];
            }
            if (!fill) memcpy((char *)y->data + i * es, (const char *)x->data + off * es, (size_t)es);
            else if (cv) memcpy((char *)y->data + i * es, cv->data, (size_t)es);
            else urc_elem_set_f64(y->dtype, y->data, i, 0);
        }
        return true;
    }
    default: return false;
    }
}

/* ---- lowering ----------------------------------------------------------------- */

/* for (o < outer) for (t < run) dst[o*dstride + doff + t] = src[o*sstride + soff + t] */
static void copy_rows(urc_kernel *k, urc_ls *parent, int bd, int64_t dstride, int64_t doff, int bs, int64_t sstride,
                      int64_t soff, int64_t outer, int64_t run) {
    if (outer <= 0 || run <= 0) return;
    int64_t dims[2] = {outer, run};
    urc_lx *ix[2];
    urc_ls *body = urc_dim_loops(k, parent, dims, 2, ix, true, true);
    urc_lx *d = urc_add(urc_add(urc_muli(ix[0], dstride), urc_lx_int(doff)), ix[1]);
    urc_lx *s = urc_add(urc_add(urc_muli(ix[0], sstride), urc_lx_int(soff)), ix[1]);
    urc_ls_store(body, bd, d, urc_lx_load(k, bs, s));
}

static bool concat_split_lower(urc_lower *L, const urc_node *n) {
    const urc_slice_attr *a = &n->a.slice;
    bool cat = n->op == URC_OP_CONCAT;
    const urc_value *whole = cat ? n->out[0] : n->in[0];
    const urc_shape *ws = &whole->shape;
    int ax = (int)a->axis, nparts = cat ? n->nin : n->nout;
    int64_t outer = prod(ws->dims, 0, ax), inner = prod(ws->dims, ax + 1, ws->rank), row = ws->dims[ax] * inner;
    if (outer * row == 0) return true; /* nothing to copy */
    urc_kernel *k = urc_lower_begin(L, n);
    int bw = cat ? urc_lower_out(L, k, whole, "y") : urc_lower_in(L, k, whole, "x");
    int64_t off = 0;
    for (int j = 0; j < nparts; j++) {
        const urc_value *p = cat ? n->in[j] : n->out[j];
        int64_t len = (cat ? n->in[j]->shape.dims[ax] : a->split[j]) * inner;
        if (p && len > 0 && outer > 0) {
            if (cat) copy_rows(k, k->body, bw, row, off, urc_lower_in(L, k, p, "x"), len, 0, outer, len);
            else copy_rows(k, k->body, urc_lower_out(L, k, p, "y"), len, 0, bw, row, off, outer, len);
        }
        off += len;
    }
    return true;
}

static bool slice_lower(urc_lower *L, const urc_node *n) {
    const urc_slice_attr *a = &n->a.slice;
    const urc_shape *is = &n->in[0]->shape, *os = &n->out[0]->shape;
    if (urc_shape_numel(os) == 0) return true;
    /* Merge a full trailing dim into the dim before it when that one has
     * step 1: (s + i)*D + j over i < c, j < D is the run s*D + m, m < c*D. */
    int64_t din[URC_MAX_RANK] = {0}, st[URC_MAX_RANK] = {0}, sp[URC_MAX_RANK] = {0}, cnt[URC_MAX_RANK] = {0};
    int nm = 0;
    for (int d = 0; d < is->rank; d++) {
        din[nm] = is->dims[d], st[nm] = n->a.slice.start[d], sp[nm] = a->step[d], cnt[nm] = os->dims[d];
        nm++;
        while (nm >= 2 && st[nm - 1] == 0 && sp[nm - 1] == 1 && cnt[nm - 1] == din[nm - 1] && sp[nm - 2] == 1) {
            int64_t D = din[nm - 1];
            st[nm - 2] *= D, cnt[nm - 2] *= D, din[nm - 2] *= D;
            nm--;
        }
    }
    urc_kernel *k = urc_lower_begin(L, n);
    int bx = urc_lower_in(L, k, n->in[0], "x"), by = urc_lower_out(L, k, n->out[0], "y");
    urc_lx *ix[URC_MAX_RANK];
    urc_ls *body = urc_dim_loops(k, k->body, cnt, nm, ix, true, true);
    urc_lx *src = urc_lx_int(0), *dst = urc_lx_int(0);
    for (int d = 0; d < nm; d++) {
        src = urc_add(urc_muli(src, din[d]), urc_add(urc_lx_int(st[d]), urc_muli(ix[d], sp[d])));
        dst = urc_add(urc_muli(dst, cnt[d]), ix[d]);
    }
    urc_ls_store(body, by, dst, urc_lx_load(k, bx, src));
    return true;
}

/* Loop-expression twin of pad_src for the modes that fold (constant mode
 * gives the unchecked index i = o - begin). */
static urc_lx *pad_src_lx(urc_pad_mode mode, urc_lx *o, int64_t begin, int64_t lo, int64_t hi) {
    urc_lx *i = urc_addi(o, -begin);
    int64_t n = hi - lo;
    switch (mode) {
    case URC_PADMODE_CONSTANT: return i;
    case URC_PADMODE_EDGE: return urc_lx_bin(URC_L_MIN, urc_lx_bin(URC_L_MAX, i, urc_lx_int(lo)), urc_lx_int(hi - 1));
    case URC_PADMODE_WRAP: return urc_addi(urc_lx_bin(URC_L_MOD, urc_addi(i, -lo), urc_lx_int(n)), lo);
    case URC_PADMODE_REFLECT: {
        if (n == 1) return urc_lx_int(lo);
        int64_t period = 2 * (n - 1);
        urc_lx *m = urc_lx_bin(URC_L_MOD, urc_addi(i, -lo), urc_lx_int(period));
        return urc_addi(urc_lx_sel(urc_lx_bin(URC_L_LT, m, urc_lx_int(n)), m, urc_sub(urc_lx_int(period), m)), lo);
    }
    }
    return i;
}

/* The pad value as an expression of the output's dtype. */
static urc_lx *pad_fill(urc_lower *L, urc_kernel *k, const urc_node *n) {
    urc_dtype dt = n->out[0]->dtype;
    const urc_value *cv = present(n, 2) && urc_shape_numel(&n->in[2]->shape) > 0 ? n->in[2] : NULL;
    if (cv && !cv->data) return urc_lx_load(k, urc_lower_in(L, k, cv, "value"), urc_lx_int(0));
    double v = n->a.slice.pad_value;
    if (dt == URC_DT_F16 || dt == URC_DT_BF16) { /* storage types: store the bit pattern */
        uint16_t bits = dt == URC_DT_F16 ? urc_f32_to_f16((float)v) : urc_f32_to_bf16((float)v);
        return urc_lx_const(bits, URC_DT_U16);
    }
    if (cv && urc_dtype_is_int(dt)) { /* exact for 64-bit values */
        urc_lx *e = urc_lx_int(urc_elem_i64(cv->dtype, cv->data, 0));
        e->dt = dt;
        return e;
    }
    return urc_lx_const(v, dt);
}

/* Pad: loops over the output dims before the last padded dim p (their
 * source index folded per mode), then per row of dim p: the interior as one
 * contiguous run of (dims[p] kept) * B elements, B = the unpadded block of
 * dims after p, and the two borders. In constant mode a row whose outer
 * index falls in the padding is filled whole. */
static bool pad_lower(urc_lower *L, const urc_node *n) {
    const urc_slice_attr *a = &n->a.slice;
    const urc_shape *is = &n->in[0]->shape, *os = &n->out[0]->shape;
    int r = is->rank;
    if (urc_shape_numel(os) == 0) return true;
    int p = -1;
    for (int d = 0; d < r; d++)
        if (a->pads[d] || a->pads[r + d]) p = d;
    if (p < 0) return urc_lower_copy(L, n, n->in[0], n->out[0]);
    bool cmode = a->mode == URC_PADMODE_CONSTANT;
    urc_kernel *k = urc_lower_begin(L, n);
    int by = urc_lower_out(L, k, n->out[0], "y");
    int bx = urc_shape_numel(is) > 0 ? urc_lower_in(L, k, n->in[0], "x") : -1;
    urc_lx *fill = cmode ? pad_fill(L, k, n) : NULL;
    int64_t B = prod(os->dims, p + 1, r);
    urc_lx *o[URC_MAX_RANK];
    urc_ls *body = urc_dim_loops(k, k->body, os->dims, p, o, true, false);
    urc_lx *obase = urc_lx_int(0), *ibase = urc_lx_int(0), *valid = NULL;
    for (int d = 0; d < p; d++) {
        int64_t lo, hi;
        kept_range(a, is, d, &lo, &hi);
        bool padded = a->pads[d] || a->pads[r + d];
        urc_lx *s = padded ? pad_src_lx(a->mode, o[d], a->pads[d], lo, hi) : o[d];
        /* In constant mode the row is interior iff lo <= s < hi; a side
         * that is not padded (pad <= 0) cannot be crossed. */
        urc_lx *conds[2] = {a->pads[d] > 0 ? urc_lx_bin(URC_L_GE, s, urc_lx_int(lo)) : NULL,
                            a->pads[r + d] > 0 ? urc_lx_bin(URC_L_LT, s, urc_lx_int(hi)) : NULL};
        for (int c = 0; c < 2; c++)
            if (cmode && conds[c]) valid = valid ? urc_lx_bin(URC_L_AND, valid, conds[c]) : conds[c];
        obase = urc_add(urc_muli(obase, os->dims[d]), o[d]);
        ibase = urc_add(urc_muli(ibase, is->dims[d]), s);
    }
    int64_t orow = os->dims[p] * B, irow = is->dims[p] * B;
    if (p > 0) { /* row offsets, computed once per row */
        int vo = urc_kernel_var(k, "orow", URC_DT_I64), vi = urc_kernel_var(k, "irow", URC_DT_I64);
        urc_ls_decl(body, vo, urc_muli(obase, orow));
        urc_ls_decl(body, vi, urc_muli(ibase, irow));
        obase = urc_lx_var(k, vo);
        ibase = urc_lx_var(k, vi);
    }
    urc_ls *rows = body;
    if (valid) {
        urc_ls *els;
        rows = urc_ls_if(body, valid, &els);
        int t = urc_kernel_var(k, "t", URC_DT_I64);
        urc_ls *f = urc_ls_for(els, t, urc_lx_int(0), urc_lx_int(orow), 1, URC_FOR_SIMD);
        urc_ls_store(f, by, urc_add(obase, urc_lx_var(k, t)), fill);
    }
    int64_t lo, hi, begin = a->pads[p];
    kept_range(a, is, p, &lo, &hi);
    int64_t mid_lo = clamp64(begin, 0, os->dims[p]), mid_hi = clamp64(begin + is->dims[p], mid_lo, os->dims[p]);
    if (!cmode && hi - lo <= 0) mid_lo = mid_hi = 0; /* unreachable: infer rejects */
    /* interior: one run */
    if (mid_hi > mid_lo) {
        int t = urc_kernel_var(k, "t", URC_DT_I64);
        unsigned fl = URC_FOR_SIMD | (body == k->body ? URC_FOR_PARALLEL : 0); /* no outer loop */
        urc_ls *f = urc_ls_for(rows, t, urc_lx_int(0), urc_lx_int((mid_hi - mid_lo) * B), 1, fl);
        urc_lx *tv = urc_lx_var(k, t);
        urc_ls_store(f, by, urc_add(urc_addi(obase, mid_lo * B), tv),
                     urc_lx_load(k, bx, urc_add(urc_addi(ibase, (mid_lo - begin) * B), tv)));
    }
    /* borders: [0, mid_lo) and [mid_hi, dims[p]) */
    for (int side = 0; side < 2; side++) {
        int64_t from = side ? mid_hi : 0, to = side ? os->dims[p] : mid_lo;
        if (to <= from) continue;
        if (cmode) {
            int t = urc_kernel_var(k, "t", URC_DT_I64);
            urc_ls *f = urc_ls_for(rows, t, urc_lx_int(from * B), urc_lx_int(to * B), 1, URC_FOR_SIMD);
            urc_ls_store(f, by, urc_add(obase, urc_lx_var(k, t)), fill);
            continue;
        }
        int q = urc_kernel_var(k, "q", URC_DT_I64);
        urc_ls *f = urc_ls_for(rows, q, urc_lx_int(from), urc_lx_int(to), 1, 0);
        urc_lx *qv = urc_lx_var(k, q);
        urc_lx *src = urc_add(ibase, urc_muli(pad_src_lx(a->mode, qv, begin, lo, hi), B));
        urc_lx *dst = urc_add(obase, urc_muli(qv, B));
        if (B == 1) {
            urc_ls_store(f, by, dst, urc_lx_load(k, bx, src));
        } else {
            int t = urc_kernel_var(k, "t", URC_DT_I64);
            urc_ls *g = urc_ls_for(f, t, urc_lx_int(0), urc_lx_int(B), 1, URC_FOR_SIMD);
            urc_lx *tv = urc_lx_var(k, t);
            urc_ls_store(g, by, urc_add(dst, tv), urc_lx_load(k, bx, urc_add(src, tv)));
        }
    }
    return true;
}

static bool slice_lower_any(urc_lower *L, const urc_node *n) {
    switch (n->op) {
    case URC_OP_CONCAT:
    case URC_OP_SPLIT: return concat_split_lower(L, n);
    case URC_OP_SLICE: return slice_lower(L, n);
    case URC_OP_PAD: return pad_lower(L, n);
    default: return false;
    }
}

static void slice_print(const urc_node *n, urc_strbuf *sb) {
    const urc_slice_attr *a = &n->a.slice;
    int r = n->in[0]->shape.rank;
    switch (n->op) {
    case URC_OP_CONCAT: urc_sb_printf(sb, " axis=%lld", (long long)a->axis); break;
    case URC_OP_SPLIT:
        urc_sb_printf(sb, " axis=%lld", (long long)a->axis);
        urc_print_ints(sb, "split", a->split, a->nsplit);
        break;
    case URC_OP_SLICE:
        urc_print_ints(sb, "start", a->start, r);
        urc_print_ints(sb, "step", a->step, r);
        break;
    case URC_OP_PAD: {
        static const char *modes[] = {"constant", "reflect", "edge", "wrap"};
        urc_sb_printf(sb, " mode=%s", modes[a->mode]);
        urc_print_ints(sb, "pads", a->pads, 2 * r);
        if (a->mode == URC_PADMODE_CONSTANT) {
            if (a->pad_value_runtime) urc_sb_puts(sb, " value=<run-time>");
            else urc_sb_printf(sb, " value=%g", a->pad_value);
        }
        break;
    }
    default: break;
    }
}

const urc_op_impl urc_impl_slice = {slice_parse,     slice_infer_any, slice_eval,
                                    slice_lower_any, slice_print,     .signature_lower = true};
