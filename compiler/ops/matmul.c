/* matmul.c: MatMul (numpy matmul semantics) and Gemm.
 *
 * Both are described by one geometry (mm_geom): a list of batch dims (empty
 * for Gemm), and for each batch element Y[m,n] = sum_k A[m,k] * B[k,n] with
 * A and B addressed through strides, so Gemm's transA/transB and MatMul's
 * 1-D operands need no special cases in eval or lower:
 *   A element (m,k) of batch element a_b: a_b*M*K + m*a_sm + k*a_sk
 *   B element (k,n) of batch element b_b: b_b*K*N + k*b_sk + n*b_sn
 *   Y element (m,n) of batch element y_b: (y_b*M + m)*N + n
 * MatMul: a 1-D A is a row [1,K] whose M dim is dropped from Y, a 1-D B a
 * column [K,1] whose N dim is dropped; batch dims (all but the last two)
 * broadcast numpy-style. Gemm: Y = alpha * A' B' + beta * C with C
 * broadcast unidirectionally to [M,N]. */
#include "common.h"

typedef struct mm_geom {
    urc_shape batch;          /* Y's batch dims */
    urc_shape abatch, bbatch; /* the operands' own batch dims (broadcast to batch) */
    int64_t M, N, K;
    int64_t a_sm, a_sk, b_sk, b_sn;
} mm_geom;

static void geom(const urc_node *n, mm_geom *g) {
    const urc_shape *as = &n->in[0]->shape, *bs = &n->in[1]->shape;
    memset(g, 0, sizeof *g);
    if (n->op == URC_OP_GEMM) {
        const urc_gemm_attr *a = &n->a.gemm;
        g->M = as->dims[a->trans_a ? 1 : 0];
        g->K = as->dims[a->trans_a ? 0 : 1];
        g->N = bs->dims[a->trans_b ? 0 : 1];
        g->a_sm = a->trans_a ? 1 : g->K;
        g->a_sk = a->trans_a ? g->M : 1;
        g->b_sk = a->trans_b ? 1 : g->N;
        g->b_sn = a->trans_b ? g->K : 1;
        return;
    }
    int ra = as->rank, rb = bs->rank;
    g->K = as->dims[ra - 1];
    g->M = ra >= 2 ? as->dims[ra - 2] : 1;
    g->N = rb >= 2 ? bs->dims[rb - 1] : 1;
    g->a_sm = g->K;
    g->a_sk = 1;
    g->b_sk = g->N;
    g->b_sn = 1;
    g->abatch.rank = ra > 2 ? ra - 2 : 0;
    g->bbatch.rank = rb > 2 ? rb - 2 : 0;
    memcpy(g->abatch.dims, as->dims, sizeof(int64_t) * (size_t)g->abatch.rank);
    memcpy(g->bbatch.dims, bs->dims, sizeof(int64_t) * (size_t)g->bbatch.rank);
    /* Checked by infer; here it cannot fail. */
    urc_shape_broadcast(&g->abatch, &g->bbatch, &g->batch);
}

/* ---- parse / infer ---------------------------------------------------------- */

static bool matmul_parse(urc_node *n, urc_attr_list *l) {
    if (n->op != URC_OP_GEMM) return true;
    urc_gemm_attr *a = &n->a.gemm;
    int64_t ta, tb;
    if (!urc_attr_float(l, "alpha", 1.0, &a->alpha) || !urc_attr_float(l, "beta", 1.0, &a->beta) ||
        !urc_attr_int(l, "transA", 0, &ta) || !urc_attr_int(l, "transB", 0, &tb))
        return false;
    if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1)) {
        urc_error(l->where, "attributes 'transA' and 'transB' must be 0 or 1, got %lld and %lld", (long long)ta,
                  (long long)tb);
        return false;
    }
    a->trans_a = (int)ta;
    a->trans_b = (int)tb;
    return true;
}

/* MatMul and Gemm take float16/bfloat16/float/double and 32/64-bit integers. */
static bool check_type(const urc_node *n, int i) {
    if (!urc_check_dtype(n, i, URC_DTM_NUM)) return false;
    urc_dtype dt = n->in[i]->dtype;
    if (urc_dtype_is_int(dt) && urc_dtype_size(dt) < 4) {
        urc_error(urc_node_where(n), "input %d ('%s') is %s; %s takes float or 32/64-bit integer tensors", i,
                  n->in[i]->name, urc_dtype_name(dt), urc_ops[n->op].name);
        return false;
    }
    return urc_reject_half(n, i);
}

static bool is_integral(double v) { return v == floor(v) && fabs(v) < 9.0e15; }

static bool matmul_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    if (!check_type(n, 0) || !check_type(n, 1) || !urc_check_same_dtype(n, 0, 1)) return false;
    urc_dtype dt = n->in[0]->dtype;
    const urc_shape *as = &n->in[0]->shape, *bs = &n->in[1]->shape;
    urc_shape ys = {0};
    if (n->op == URC_OP_GEMM) {
        const urc_gemm_attr *a = &n->a.gemm;
        if (!urc_check_rank(n, 0, 2, 2) || !urc_check_rank(n, 1, 2, 2)) return false;
        int64_t ka = as->dims[a->trans_a ? 0 : 1], kb = bs->dims[a->trans_b ? 1 : 0];
        if (ka != kb) {
            urc_error(where, "inner dimensions differ: A%s%s has K=%lld, B%s%s has K=%lld", urc_shape_str(as),
                      a->trans_a ? " (transposed)" : "", (long long)ka, urc_shape_str(bs),
                      a->trans_b ? " (transposed)" : "", (long long)kb);
            return false;
        }
        ys.rank = 2;
        ys.dims[0] = as->dims[a->trans_a ? 1 : 0];
        ys.dims[1] = bs->dims[a->trans_b ? 0 : 1];
        if (n->nin > 2 && n->in[2]) {
            const urc_shape *cs = &n->in[2]->shape;
            if (!check_type(n, 2) || !urc_check_same_dtype(n, 0, 2) || !urc_check_rank(n, 2, 0, 2)) return false;
            for (int d = 0; d < cs->rank; d++) {
                int64_t c = cs->dims[d], y = ys.dims[d + 2 - cs->rank];
                if (c != 1 && c != y) {
                    urc_error(where, "C of shape %s does not broadcast to the result shape %s", urc_shape_str(cs),
                              urc_shape_str(&ys));
                    return false;
                }
            }
        }
        if (urc_dtype_is_int(dt) && (!is_integral(a->alpha) || !is_integral(a->beta))) {
            urc_error(where, "alpha=%g and beta=%g must be integers for %s inputs", a->alpha, a->beta,
                      urc_dtype_name(dt));
            return false;
        }
        urc_set_out(n, 0, dt, &ys);
        return true;
    }
    /* MatMul */
    if (!urc_check_rank(n, 0, 1, URC_MAX_RANK) || !urc_check_rank(n, 1, 1, URC_MAX_RANK)) return false;
    int ra = as->rank, rb = bs->rank;
    int64_t ka = as->dims[ra - 1], kb = bs->dims[rb >= 2 ? rb - 2 : 0];
    if (ka != kb) {
        urc_error(where, "inner dimensions differ: A%s has K=%lld, B%s has K=%lld", urc_shape_str(as), (long long)ka,
                  urc_shape_str(bs), (long long)kb);
        return false;
    }
    urc_shape ab = {ra > 2 ? ra - 2 : 0, {0}}, bb = {rb > 2 ? rb - 2 : 0, {0}};
    memcpy(ab.dims, as->dims, sizeof(int64_t) * (size_t)ab.rank);
    memcpy(bb.dims, bs->dims, sizeof(int64_t) * (size_t)bb.rank);
    if (!urc_shape_broadcast(&ab, &bb, &ys)) {
        urc_error(where, "batch dimensions of A%s and B%s do not broadcast", urc_shape_str(as), urc_shape_str(bs));
        return false;
    }
    if (ra >= 2) ys.dims[ys.rank++] = as->dims[ra - 2];
    if (rb >= 2) ys.dims[ys.rank++] = bs->dims[rb - 1];
    urc_set_out(n, 0, dt, &ys);
    return true;
}

/* ---- reference ------------------------------------------------------------ */

static bool matmul_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    mm_geom g;
    geom(n, &g);
    const urc_tensor *A = in[0], *B = in[1], *C = n->nin > 2 ? in[2] : NULL;
    urc_tensor *Y = out[0];
    bool gemm = n->op == URC_OP_GEMM;
    double alpha = gemm ? n->a.gemm.alpha : 1, beta = gemm ? n->a.gemm.beta : 0;
    if (beta == 0) C = NULL; /* BLAS semantics: C is not read */
    bool fl = urc_dtype_is_float(Y->dtype);
    urc_shape mn = {2, {g.M, g.N}};
    int64_t nb = urc_shape_numel(&g.batch);
    for (int64_t bi = 0; bi < nb; bi++) {
        int64_t ao = urc_bcast_offset(&g.batch, &g.abatch, bi) * g.M * g.K;
        int64_t bo = urc_bcast_offset(&g.batch, &g.bbatch, bi) * g.K * g.N;
        for (int64_t m = 0; m < g.M; m++)
            for (int64_t j = 0; j < g.N; j++) {
                int64_t yi = (bi * g.M + m) * g.N + j;
                int64_t ci = C ? urc_bcast_offset(&mn, &C->shape, m * g.N + j) : 0;
                if (fl) {
                    double acc = 0;
                    for (int64_t k = 0; k < g.K; k++)
                        acc += urc_elem_f64(A->dtype, A->data, ao + m * g.a_sm + k * g.a_sk) *
                               urc_elem_f64(B->dtype, B->data, bo + k * g.b_sk + j * g.b_sn);
                    double y = alpha * acc;
                    if (C) y += beta * urc_elem_f64(C->dtype, C->data, ci);
                    urc_elem_set_f64(Y->dtype, Y->data, yi, y);
                } else {
                    /* Integers wrap around like the generated code. */
                    uint64_t acc = 0;
                    for (int64_t k = 0; k < g.K; k++)
                        acc += (uint64_t)urc_elem_i64(A->dtype, A->data, ao + m * g.a_sm + k * g.a_sk) *
                               (uint64_t)urc_elem_i64(B->dtype, B->data, bo + k * g.b_sk + j * g.b_sn);
                    uint64_t y = (uint64_t)(int64_t)alpha * acc;
                    if (C) y += (uint64_t)(int64_t)beta * (uint64_t)urc_elem_i64(C->dtype, C->data, ci);
                    urc_elem_set_i64(Y->dtype, Y->data, yi, (int64_t)y);
                }
            }
    }
    return true;
}

/* ---- lowering ------------------------------------------------------------- */

/* Loop nest over Y's batch dims and M, all parallel (collapsed); the body
 * computes one output row Y[b, m, 0:N]. Two row kernels:
 *  - axpy form, when B's rows are contiguous (B[k, 0:N]): the row of Y is
 *    the accumulator, initialised with beta*C (or 0), then for each k
 *    Y[m, :] += (alpha*A[m,k]) * B[k, :], innermost loop contiguous;
 *  - dot form, otherwise (Gemm with transB, or N == 1): for each n a scalar
 *    accumulator sums A[m, k] * B[k, n] over k, contiguous in k for B. */
static bool matmul_lower(urc_lower *L, const urc_node *n) {
    mm_geom g;
    geom(n, &g);
    urc_kernel *k = urc_lower_begin(L, n);
    const urc_value *av = n->in[0], *bv = n->in[1], *cv = n->nin > 2 ? n->in[2] : NULL, *yv = n->out[0];
    urc_dtype dt = yv->dtype;
    bool gemm = n->op == URC_OP_GEMM;
    double alpha = gemm ? n->a.gemm.alpha : 1, beta = gemm ? n->a.gemm.beta : 0;
    if (beta == 0) cv = NULL;
    int ba = urc_lower_in(L, k, av, "a");
    int bb = urc_lower_in(L, k, bv, "b");
    int by = urc_lower_out(L, k, yv, "y");

    /* Row loops: batch dims then M. */
    static const char *names[URC_MAX_RANK] = {"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"};
    int iv[URC_MAX_RANK + 1];
    urc_shape rows = g.batch;
    rows.dims[rows.rank++] = g.M;
    urc_ls *body = k->body;
    urc_ls *outer = NULL;
    for (int d = 0; d < rows.rank; d++) {
        iv[d] = urc_kernel_var(k, d == rows.rank - 1 ? "m" : names[d], URC_DT_I64);
        body = urc_ls_for(body, iv[d], urc_lx_int(0), urc_lx_int(rows.dims[d]), 1, d == 0 ? URC_FOR_PARALLEL : 0);
        if (d == 0) {
            urc_ls *parent = k->body;
            outer = parent->list.items[parent->list.len - 1];
        }
    }
    if (rows.rank > 1) outer->collapse = rows.rank;
    urc_lx *m = urc_lx_var(k, iv[g.batch.rank]);
    urc_lx *a_row = urc_add(urc_muli(urc_index_bcast(k, iv, &g.batch, &g.abatch), g.M * g.K), urc_muli(m, g.a_sm));
    urc_lx *b_base = urc_muli(urc_index_bcast(k, iv, &g.batch, &g.bbatch), g.K * g.N);
    urc_lx *y_row = urc_muli(urc_index_vars(k, iv, &rows), g.N);

    int vn = urc_kernel_var(k, "n", URC_DT_I64), vk = urc_kernel_var(k, "k", URC_DT_I64);
    urc_lx *nx = urc_lx_var(k, vn), *kx = urc_lx_var(k, vk);
    /* beta * C[m, n] (C broadcast to [M, N]), or NULL. */
    urc_lx *cterm = NULL;
    if (cv) {
        urc_shape mn = {2, {g.M, g.N}};
        int mnv[2] = {iv[g.batch.rank], vn};
        urc_lx *c = urc_lower_load(L, k, cv, urc_index_bcast(k, mnv, &mn, &cv->shape));
        cterm = beta == 1 ? c : urc_lx_bin(URC_L_MUL, urc_lx_const(beta, dt), c);
    }
    urc_lx *a_mk = urc_lx_load(k, ba, urc_add(a_row, urc_muli(kx, g.a_sk)));
    urc_lx *b_kn = urc_lx_load(k, bb, urc_add(b_base, urc_add(urc_muli(kx, g.b_sk), urc_muli(nx, g.b_sn))));
    urc_lx *y_idx = urc_add(y_row, nx);

    if (g.b_sn == 1 && g.N > 1) {
        urc_ls *init = urc_ls_for(body, vn, urc_lx_int(0), urc_lx_int(g.N), 1, URC_FOR_SIMD);
        urc_ls_store(init, by, y_idx, cterm ? cterm : urc_lx_const(0, dt));
        urc_ls *kl = urc_ls_for(body, vk, urc_lx_int(0), urc_lx_int(g.K), 1, 0);
        int va = urc_kernel_var(k, "a_mk", dt);
        urc_ls_decl(kl, va, alpha == 1 ? a_mk : urc_lx_bin(URC_L_MUL, urc_lx_const(alpha, dt), a_mk));
        urc_ls *nl = urc_ls_for(kl, vn, urc_lx_int(0), urc_lx_int(g.N), 1, URC_FOR_SIMD);
        urc_ls_accum(nl, by, y_idx, urc_lx_bin(URC_L_MUL, urc_lx_var(k, va), b_kn));
    } else {
        urc_ls *nl = urc_ls_for(body, vn, urc_lx_int(0), urc_lx_int(g.N), 1, 0);
        int vacc = urc_kernel_var(k, "acc", dt);
        urc_ls_decl(nl, vacc, urc_lx_const(0, dt));
        urc_ls *kl = urc_ls_for(nl, vk, urc_lx_int(0), urc_lx_int(g.K), 1, 0);
        urc_ls_assign(kl, vacc, urc_lx_bin(URC_L_ADD, urc_lx_var(k, vacc), urc_lx_bin(URC_L_MUL, a_mk, b_kn)));
        urc_lx *r = urc_lx_var(k, vacc);
        if (alpha != 1) r = urc_lx_bin(URC_L_MUL, urc_lx_const(alpha, dt), r);
        if (cterm) r = urc_lx_bin(URC_L_ADD, r, cterm);
        urc_ls_store(nl, by, y_idx, r);
    }
    return true;
}

static void matmul_print(const urc_node *n, urc_strbuf *sb) {
    if (n->op != URC_OP_GEMM) return;
    const urc_gemm_attr *a = &n->a.gemm;
    urc_sb_printf(sb, " alpha=%g beta=%g transA=%d transB=%d", a->alpha, a->beta, a->trans_a, a->trans_b);
}

const urc_op_impl urc_impl_matmul = {matmul_parse, matmul_infer, matmul_eval, matmul_lower, matmul_print};
