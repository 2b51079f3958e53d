/* spatial.c: helpers shared by conv.c and pool.c (see spatial.h). */
#include "spatial.h"

bool urc_sp_parse_auto_pad(urc_attr_list *l, urc_auto_pad *out) {
    const char *s;
    if (!urc_attr_string(l, "auto_pad", "NOTSET", &s)) return false;
    if (!strcmp(s, "NOTSET")) *out = URC_PAD_NOTSET;
    else if (!strcmp(s, "SAME_UPPER")) *out = URC_PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER")) *out = URC_PAD_SAME_LOWER;
    else if (!strcmp(s, "VALID")) *out = URC_PAD_VALID;
    else {
        urc_error(l->where, "attribute 'auto_pad' must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '%s'", s);
        return false;
    }
    return true;
}

bool urc_sp_axis_list(const urc_node *n, const char *name, int64_t *v, int count, int want, int64_t min, int64_t def) {
    if (count < 0) {
        for (int i = 0; i < want; i++) v[i] = def;
        return true;
    }
    if (count != want) {
        urc_error(urc_node_where(n), "attribute '%s' has %d values; expected %d for %d spatial dims", name, count, want,
                  n->in[0]->shape.rank - 2);
        return false;
    }
    for (int i = 0; i < want; i++)
        if (v[i] < min) {
            urc_error(urc_node_where(n), "attribute '%s' must hold values of at least %lld, got %lld", name,
                      (long long)min, (long long)v[i]);
            return false;
        } else if (v[i] > INT32_MAX) {
            /* (input hardening) keeps kernel/stride/dilation/pad arithmetic far from int64 overflow */
            urc_error(urc_node_where(n), "attribute '%s' must hold values of at most %d, got %lld", name, INT32_MAX,
                      (long long)v[i]);
            return false;
        }
    return true;
}

urc_lx *urc_sp_let(urc_kernel *k, urc_ls *body, const char *name, urc_lx *e) {
    if (e->kind == URC_LX_INT) return e;
    int v = urc_kernel_var(k, name, URC_DT_I64);
    urc_ls_decl(body, v, e);
    return urc_lx_var(k, v);
}

urc_lx *urc_sp_range_loop(urc_kernel *k, urc_ls **body, const char *name, urc_lx *lo, urc_lx *hi) {
    int v = urc_kernel_var(k, name, URC_DT_I64);
    *body = urc_ls_for(*body, v, lo, hi, 1, 0);
    return urc_lx_var(k, v);
}

urc_lx *urc_sp_dim_loop(urc_kernel *k, urc_ls **body, const char *name, int64_t extent, urc_ls **par) {
    if (extent == 1) return urc_lx_int(0);
    urc_ls *parent = *body;
    int v = urc_kernel_var(k, name, URC_DT_I64);
    *body = urc_ls_for(parent, v, urc_lx_int(0), urc_lx_int(extent), 1, par && !*par ? URC_FOR_PARALLEL : 0);
    if (par) {
        urc_ls *s = parent->list.items[parent->list.len - 1];
        if (!*par) *par = s;
        else (*par)->collapse++;
    }
    return urc_lx_var(k, v);
}

urc_shape urc_sp_to_first(const urc_shape *cl) {
    urc_shape r = *cl;
    r.dims[1] = cl->dims[cl->rank - 1];
    for (int d = 2; d < cl->rank; d++) r.dims[d] = cl->dims[d - 1];
    return r;
}

urc_shape urc_sp_to_last(const urc_shape *cf) {
    urc_shape r = *cf;
    r.dims[cf->rank - 1] = cf->dims[1];
    for (int d = 1; d < cf->rank - 1; d++) r.dims[d] = cf->dims[d + 1];
    return r;
}

double *urc_sp_relayout(const double *v, const urc_shape *cf, bool to_first) {
    int64_t N = cf->dims[0], C = cf->dims[1], S = 1;
    for (int d = 2; d < cf->rank; d++) S *= cf->dims[d];
    double *r = urc_xmalloc((size_t)(N * C * S + 1) * sizeof(double));
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t s = 0; s < S; s++) {
                int64_t f = (n * C + c) * S + s, l = (n * S + s) * C + c;
                if (to_first) r[f] = v[l];
                else r[l] = v[f];
            }
    return r;
}

urc_lx *urc_sp_index(const urc_lx *const *idx, const urc_shape *s, bool cl) {
    if (!cl) return urc_index(idx, s);
    const urc_lx *p[URC_MAX_RANK];
    p[0] = idx[0];
    for (int d = 1; d < s->rank - 1; d++) p[d] = idx[d + 1];
    p[s->rank - 1] = idx[1];
    return urc_index(p, s);
}

urc_pool_geo urc_pool_geometry(const urc_pool_attr *a, const urc_shape *xs, const urc_shape *ys) {
    urc_pool_geo g = {.nsp = a->nsp, .N = xs->dims[0], .C = xs->dims[1], .NC = xs->dims[0] * xs->dims[1]};
    for (int i = 0; i < 3; i++) {
        bool used = i < a->nsp;
        g.in[i] = used ? xs->dims[2 + i] : 1;
        g.out[i] = used ? ys->dims[2 + i] : 1;
        g.K[i] = used ? a->kernel[i] : 1;
        g.s[i] = used ? a->strides[i] : 1;
        g.d[i] = used ? a->dilations[i] : 1;
        g.pb[i] = used ? a->pads[i] : 0;
        g.pe[i] = used ? a->pads[a->nsp + i] : 0;
    }
    return g;
}

void urc_sp_taps(urc_kernel *k, urc_ls *body, const urc_pool_geo *g, int a, bool incl, urc_lx *o, urc_lx **lo,
                 urc_lx **hi, urc_lx **cnt) {
    int64_t s = g->s[a], d = g->d[a], pb = g->pb[a], pe = g->pe[a], K = g->K[a], in = g->in[a];
    int64_t last = (g->out[a] - 1) * s - pb + (K - 1) * d; /* input of the last tap of the last window */
    urc_lx *os = urc_muli(o, s);
    *lo = urc_sp_i(0);
    *hi = urc_sp_i(K);
    if (pb > 0)
        *lo = urc_sp_let(k, body, urc_fmt("klo%d", a),
                         urc_sp_max(urc_sp_i(0), urc_sp_div(urc_sub(urc_sp_i(pb + d - 1), os), d)));
    if (last >= in)
        *hi = urc_sp_let(k, body, urc_fmt("khi%d", a),
                         urc_sp_min(urc_sp_i(K), urc_sp_div(urc_sub(urc_sp_i(in + pb + d - 1), os), d)));
    if (!incl) *cnt = urc_sub(*hi, *lo);
    else if (last < in + pe) *cnt = urc_sp_i(K);
    else
        *cnt = urc_sp_let(k, body, urc_fmt("kcnt%d", a),
                          urc_sp_min(urc_sp_i(K), urc_sp_div(urc_sub(urc_sp_i(in + pe + pb + d - 1), os), d)));
}
