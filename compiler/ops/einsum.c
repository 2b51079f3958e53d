/* einsum.c: Einsum, with numpy.einsum semantics (the ONNX reference).
 *
 * The equation "term,term,...->out" has one term per input; a term is a
 * string of letters (a label per dim) with at most one "..." standing for
 * the dims no letter names. A label repeated within a term takes the
 * diagonal; labels absent from the output are summed. Without "->" the
 * output is the ellipsis dims followed by the letters that occur exactly
 * once in the whole equation, in ASCII order. Ellipsis dims broadcast
 * numpy-style (right-aligned), and so does any dim of size 1 against a
 * larger size of the same label, as numpy does.
 *
 * infer resolves the equation into n->a.einsum: "..." becomes the labels
 * '0'..'0'+E-1 of the E broadcast ellipsis dims (an operand whose ellipsis
 * covers e < E dims gets the last e of them), so every later consumer sees
 * one label per dim and an explicit output (the string is re-parsed on each
 * inference, so a re-run is harmless).
 *
 * eval and lower are the generic nested loop: output labels outer, summed
 * labels inner with a scalar accumulator. Each operand is addressed by one
 * stride per label (the sum of its dims' strides for a repeated label, 0
 * for a broadcast dim of size 1). */
#include "common.h"

#define NLAB 128 /* labels are ASCII characters */

static bool einsum_parse(urc_node *n, urc_attr_list *l) {
    const char *eq;
    if (!urc_attr_string(l, "equation", NULL, &eq)) return false;
    if (!eq) {
        urc_error(l->where, "attribute 'equation' is required");
        return false;
    }
    n->a.einsum.equation = urc_strdup(eq);
    n->a.einsum.nops = 0;
    return true;
}

static bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* One term of the equation before ellipsis expansion. */
typedef struct term {
    char pre[64], post[64]; /* letters before and after "..." (all letters when !ell) */
    int npre, npost;
    bool ell;
} term;

/* Reads a term from *p up to ',' / "->" / end. */
static bool read_term(const char *where, const char **p, term *t) {
    memset(t, 0, sizeof *t);
    const char *s = *p;
    while (*s && *s != ',' && !(s[0] == '-' && s[1] == '>')) {
        if (*s == ' ') {
            s++;
        } else if (is_letter(*s)) {
            char *dst = t->ell ? t->post : t->pre;
            int *cnt = t->ell ? &t->npost : &t->npre;
            if (*cnt >= 63) {
                urc_error(where, "equation term has too many labels");
                return false;
            }
            dst[(*cnt)++] = *s++;
        } else if (s[0] == '.' && s[1] == '.' && s[2] == '.') {
            if (t->ell) {
                urc_error(where, "equation term has more than one '...'");
                return false;
            }
            t->ell = true;
            s += 3;
        } else if (*s == '.') {
            urc_error(where, "equation has a '.' that is not part of '...'");
            return false;
        } else {
            urc_error(where, "equation has an invalid character '%c' (labels are letters a-z, A-Z)", *s);
            return false;
        }
    }
    *p = s;
    return true;
}

/* Parses the equation against the input shapes into a (see the top). */
static bool resolve(const urc_node *n, urc_einsum_attr *a) {
    const char *where = urc_node_where(n);
    const char *p = a->equation;
    term t[URC_EINSUM_MAX_OPERANDS], ot;
    int nt = 0;
    for (;;) {
        if (nt == URC_EINSUM_MAX_OPERANDS) {
            urc_error(where, "equation has more than %d operands", URC_EINSUM_MAX_OPERANDS);
            return false;
        }
        if (!read_term(where, &p, &t[nt++])) return false;
        if (*p != ',') break;
        p++;
    }
    bool explicit_out = false;
    if (p[0] == '-' && p[1] == '>') {
        p += 2;
        explicit_out = true;
        if (!read_term(where, &p, &ot)) return false;
        if (*p) {
            urc_error(where, "equation has text after the output term: '%s'", p);
            return false;
        }
    } else if (*p) {
        urc_error(where, "equation is malformed at '%s'", p);
        return false;
    }
    if (nt != n->nin) {
        urc_error(where, "equation '%s' has %d operand terms but the node has %d input(s)", a->equation, nt, n->nin);
        return false;
    }
    /* Ellipsis ranks. */
    int ell[URC_EINSUM_MAX_OPERANDS], E = 0;
    for (int i = 0; i < nt; i++) {
        if (!n->in[i]) {
            urc_error(where, "input %d is missing", i);
            return false;
        }
        int r = n->in[i]->shape.rank, nl = t[i].npre + t[i].npost;
        if (t[i].ell ? nl > r : nl != r) {
            urc_error(where, "term %d of equation '%s' has %d labels%s but input %d has rank %d", i, a->equation, nl,
                      t[i].ell ? " and '...'" : "", i, r);
            return false;
        }
        ell[i] = t[i].ell ? r - nl : 0;
        if (ell[i] > E) E = ell[i];
    }
    /* Expanded operand labels. */
    int count[NLAB] = {0};
    a->nops = nt;
    for (int i = 0; i < nt; i++) {
        char *lab = a->labels[i];
        int k = 0;
        for (int j = 0; j < t[i].npre; j++) lab[k++] = t[i].pre[j];
        for (int j = 0; j < ell[i]; j++) lab[k++] = (char)('0' + E - ell[i] + j);
        for (int j = 0; j < t[i].npost; j++) lab[k++] = t[i].post[j];
        lab[k] = 0;
        for (int j = 0; j < k; j++) count[(unsigned char)lab[j]]++;
    }
    /* Output labels. */
    char out[128];
    int no = 0;
    if (explicit_out) {
        if (!ot.ell && E > 0) {
            urc_error(where, "equation '%s' has '...' in the inputs (standing for %d dims) but not in its output",
                      a->equation, E);
            return false;
        }
        for (int j = 0; j < ot.npre; j++) out[no++] = ot.pre[j];
        for (int j = 0; ot.ell && j < E; j++) out[no++] = (char)('0' + j);
        for (int j = 0; j < ot.npost; j++) out[no++] = ot.post[j];
        for (int j = 0; j < no; j++) {
            if (!count[(unsigned char)out[j]]) {
                urc_error(where, "output label '%c' of equation '%s' does not occur in any input", out[j], a->equation);
                return false;
            }
            for (int i = 0; i < j; i++)
                if (out[i] == out[j]) {
                    urc_error(where, "output label '%c' of equation '%s' is repeated", out[j], a->equation);
                    return false;
                }
        }
    } else {
        for (int j = 0; j < E; j++) out[no++] = (char)('0' + j);
        for (int c = 'A'; c <= 'z'; c++)
            if (is_letter((char)c) && count[c] == 1) out[no++] = (char)c;
    }
    if (no > URC_MAX_RANK) {
        urc_error(where, "equation '%s' gives an output of rank %d; at most %d supported", a->equation, no,
                  URC_MAX_RANK);
        return false;
    }
    memcpy(a->out_labels, out, (size_t)no);
    a->out_labels[no] = 0;
    return true;
}

/* Size of every label (the largest over its dims; the others must be equal
 * or 1); reports a mismatch. */
static bool label_sizes(const urc_node *n, const urc_einsum_attr *a, int64_t *size) {
    int from[NLAB];
    for (int c = 0; c < NLAB; c++) size[c] = -1;
    for (int i = 0; i < a->nops; i++) {
        const urc_shape *s = &n->in[i]->shape;
        for (int d = 0; a->labels[i][d]; d++) {
            int c = (unsigned char)a->labels[i][d];
            int64_t v = s->dims[d];
            if (size[c] < 0 || size[c] == 1) {
                size[c] = v;
                from[c] = i;
            } else if (v != 1 && v != size[c]) {
                if (c >= '0' && c <= '9')
                    urc_error(urc_node_where(n), "the '...' dims of inputs %d %s and %d %s do not broadcast", from[c],
                              urc_shape_str(&n->in[from[c]]->shape), i, urc_shape_str(s));
                else
                    urc_error(urc_node_where(n),
                              "label '%c' stands for dims of different sizes, %lld and %lld (inputs %d %s and %d %s)",
                              c, (long long)size[c], (long long)v, from[c], urc_shape_str(&n->in[from[c]]->shape), i,
                              urc_shape_str(s));
                return false;
            }
        }
    }
    return true;
}

static bool einsum_infer(urc_node *n) {
    urc_einsum_attr *a = &n->a.einsum;
    for (int i = 0; i < n->nin; i++) {
        if (!urc_check_dtype(n, i, URC_DTM_NUM)) return false;
        if (i && !urc_check_same_dtype(n, 0, i)) return false;
    }
    if (!urc_reject_half(n, 0) || !resolve(n, a)) return false;
    int64_t size[NLAB];
    if (!label_sizes(n, a, size)) return false;
    urc_shape ys = {0};
    for (int j = 0; a->out_labels[j]; j++) ys.dims[ys.rank++] = size[(unsigned char)a->out_labels[j]];
    urc_set_out(n, 0, n->in[0]->dtype, &ys);
    return true;
}

/* ---- the loop structure shared by eval and lower ---------------------------- */

typedef struct plan {
    int nl, nout; /* labels; the first nout are the output's */
    char lab[64];
    int64_t size[64];
    int64_t stride[URC_EINSUM_MAX_OPERANDS][64]; /* per operand, per label */
    int64_t ystride[64];                         /* output, per label (0 for summed) */
} plan;

static void make_plan(const urc_node *n, plan *P) {
    const urc_einsum_attr *a = &n->a.einsum;
    int64_t size[NLAB];
    label_sizes(n, a, size);
    memset(P, 0, sizeof *P);
    int idx[NLAB];
    for (int c = 0; c < NLAB; c++) idx[c] = -1;
    for (int j = 0; a->out_labels[j]; j++) {
        idx[(unsigned char)a->out_labels[j]] = P->nl;
        P->lab[P->nl++] = a->out_labels[j];
    }
    P->nout = P->nl;
    for (int i = 0; i < a->nops; i++)
        for (int d = 0; a->labels[i][d]; d++) {
            int c = (unsigned char)a->labels[i][d];
            if (idx[c] < 0) {
                idx[c] = P->nl;
                P->lab[P->nl++] = (char)c;
            }
        }
    for (int l = 0; l < P->nl; l++) P->size[l] = size[(unsigned char)P->lab[l]];
    for (int i = 0; i < a->nops; i++) {
        const urc_shape *s = &n->in[i]->shape;
        int64_t st[URC_MAX_RANK];
        urc_shape_strides(s, st);
        for (int d = 0; a->labels[i][d]; d++) {
            int l = idx[(unsigned char)a->labels[i][d]];
            if (s->dims[d] != 1) P->stride[i][l] += st[d]; /* size-1 dims broadcast */
        }
    }
    int64_t st = 1;
    for (int l = P->nout - 1; l >= 0; l--) {
        P->ystride[l] = st;
        st *= P->size[l];
    }
}

/* ---- reference ------------------------------------------------------------ */

static bool einsum_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    plan P;
    make_plan(n, &P);
    urc_tensor *y = out[0];
    int nops = n->a.einsum.nops;
    bool fl = urc_dtype_is_float(y->dtype);
    int64_t nsum = 1, ny = urc_tensor_numel(y);
    for (int l = P.nout; l < P.nl; l++) nsum *= P.size[l];
    int64_t v[64];
    for (int64_t yi = 0; yi < ny; yi++) {
        /* Output label values from yi, then every combination of the summed ones. */
        int64_t r = yi;
        for (int l = P.nout - 1; l >= 0; l--) {
            v[l] = r % P.size[l];
            r /= P.size[l];
        }
        double accf = 0;
        uint64_t acci = 0;
        for (int64_t si = 0; si < nsum; si++) {
            int64_t r = si;
            for (int l = P.nl - 1; l >= P.nout; l--) {
                v[l] = r % P.size[l];
                r /= P.size[l];
            }
            double pf = 1;
            uint64_t pi = 1;
            for (int i = 0; i < nops; i++) {
                int64_t off = 0;
                for (int l = 0; l < P.nl; l++) off += v[l] * P.stride[i][l];
                if (fl) pf *= urc_elem_f64(in[i]->dtype, in[i]->data, off);
                else pi *= (uint64_t)urc_elem_i64(in[i]->dtype, in[i]->data, off);
            }
            accf += pf;
            acci += pi; /* integers wrap around like the generated code */
        }
        if (fl) urc_elem_set_f64(y->dtype, y->data, yi, accf);
        else urc_elem_set_i64(y->dtype, y->data, yi, (int64_t)acci);
    }
    return true;
}

/* ---- lowering ------------------------------------------------------------- */

/* Loop variable hint for a label: "i_x" for letter x, "e0" for '0'. */
static const char *var_name(char c) { return c >= '0' && c <= '9' ? urc_fmt("e%c", c) : urc_fmt("i_%c", c); }

/* Appends a loop over label l (size > 1) to *body and returns its variable. */
static urc_lx *label_loop(urc_kernel *k, urc_ls **body, const plan *P, int l, unsigned flags, urc_ls **stmt) {
    int vi = urc_kernel_var(k, var_name(P->lab[l]), URC_DT_I64);
    urc_ls *parent = *body;
    *body = urc_ls_for(parent, vi, urc_lx_int(0), urc_lx_int(P->size[l]), 1, flags);
    if (stmt) *stmt = parent->list.items[parent->list.len - 1];
    return urc_lx_var(k, vi);
}

/* Loops over the output labels (outer, parallel), then over the summed
 * labels with a scalar accumulator. A label of size 1 gets no loop (index 0).
 * The leading output loops are collapsed for the parallel split until they
 * give at least 64 iterations, keeping the innermost output loop out of it
 * when there is more than one (it is the contiguous one for the store). */
static bool einsum_lower(urc_lower *L, const urc_node *n) {
    plan P;
    make_plan(n, &P);
    urc_kernel *k = urc_lower_begin(L, n);
    const urc_value *yv = n->out[0];
    urc_dtype dt = yv->dtype;
    int nops = n->a.einsum.nops;
    int bx[URC_EINSUM_MAX_OPERANDS];
    for (int i = 0; i < nops; i++) {
        const urc_value *v = n->in[i];
        bool literal = v->data && urc_shape_numel(&v->shape) == 1;
        bx[i] = literal ? -1 : urc_lower_in(L, k, v, urc_fmt("x%d", i));
    }
    int by = urc_lower_out(L, k, yv, "y");

    int nloops = 0; /* output loops */
    for (int l = 0; l < P.nout; l++) nloops += P.size[l] != 1;
    int collapse = 0;
    int64_t iters = 1;
    for (int l = 0; l < P.nout && iters < 64 && (collapse < nloops - 1 || nloops == 1); l++)
        if (P.size[l] != 1) iters *= P.size[l], collapse++;

    urc_lx *var[64];
    urc_ls *body = k->body, *first = NULL;
    int made = 0;
    for (int l = 0; l < P.nout; l++) {
        if (P.size[l] == 1) {
            var[l] = urc_lx_int(0);
            continue;
        }
        unsigned fl = made == 0 ? URC_FOR_PARALLEL : 0;
        if (made == nloops - 1 && P.nl == P.nout) fl |= URC_FOR_SIMD;
        var[l] = label_loop(k, &body, &P, l, fl, made == 0 ? &first : NULL);
        made++;
    }
    if (first && collapse > 1) first->collapse = collapse;

    urc_lx *yidx = urc_lx_int(0);
    for (int l = 0; l < P.nout; l++) yidx = urc_add(yidx, urc_muli(var[l], P.ystride[l]));

    urc_ls *inner = body;
    int vacc = -1;
    if (P.nl > P.nout) {
        vacc = urc_kernel_var(k, "acc", dt);
        urc_ls_decl(body, vacc, urc_lx_const(0, dt));
        for (int l = P.nout; l < P.nl; l++)
            var[l] = P.size[l] == 1 ? urc_lx_int(0) : label_loop(k, &inner, &P, l, 0, NULL);
    }
    urc_lx *prod = NULL;
    for (int i = 0; i < nops; i++) {
        urc_lx *idx = urc_lx_int(0);
        for (int l = 0; l < P.nl; l++) idx = urc_add(idx, urc_muli(var[l], P.stride[i][l]));
        urc_lx *x = bx[i] < 0 ? urc_lower_load(L, k, n->in[i], idx) : urc_lx_load(k, bx[i], idx);
        prod = prod ? urc_lx_bin(URC_L_MUL, prod, x) : x;
    }
    if (vacc >= 0) {
        urc_ls_assign(inner, vacc, urc_lx_bin(URC_L_ADD, urc_lx_var(k, vacc), prod));
        urc_ls_store(body, by, yidx, urc_lx_var(k, vacc));
    } else {
        urc_ls_store(body, by, yidx, prod);
    }
    return true;
}

static void einsum_print(const urc_node *n, urc_strbuf *sb) {
    const urc_einsum_attr *a = &n->a.einsum;
    urc_sb_puts(sb, " equation=");
    for (int i = 0; i < a->nops; i++) urc_sb_printf(sb, "%s%s", i ? "," : "", a->labels[i]);
    urc_sb_printf(sb, "->%s", a->out_labels);
}

/* The product of the sizes of all labels. */
static int64_t einsum_macs(const urc_node *n) {
    int64_t sizes[128] = {0};
    for (int k = 0; k < n->a.einsum.nops && k < n->nin; k++)
        for (int d = 0; n->a.einsum.labels[k][d]; d++)
            sizes[(unsigned char)n->a.einsum.labels[k][d] & 127] = n->in[k]->shape.dims[d];
    int64_t m = 1;
    for (int c = 0; c < 128; c++)
        if (sizes[c]) m *= sizes[c];
    return m;
}

const urc_op_impl urc_impl_einsum = {
    einsum_parse, einsum_infer, einsum_eval, einsum_lower, einsum_print, .signature_lower = false, .macs = einsum_macs};
