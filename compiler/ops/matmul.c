/* matmul.c: MatMul (numpy matmul semantics), Gemm, and the internal
 * unetrc.FusedMatMul (MatMul with an epilogue, made by passes/fuse_matmul.c).
 *
 * All three are described by one geometry (mm_geom): a list of batch dims
 * (empty for Gemm), and for each batch element Y[m,n] = sum_k A[m,k] * B[k,n]
 * with A and B addressed through strides, so Gemm's transA/transB and
 * MatMul's 1-D operands need no special cases in eval or lower:
 *   A element (m,k) of batch element a_b: a_b*M*K + m*a_sm + k*a_sk
 *   B element (k,n) of batch element b_b: b_b*K*N + k*b_sk + n*b_sn
 *   Y element (m,n) of batch element y_b: (y_b*M + m)*N + n
 * MatMul: a 1-D A is a row [1,K] whose M dim is dropped from Y, a 1-D B a
 * column [K,1] whose N dim is dropped; batch dims (all but the last two)
 * broadcast numpy-style. Gemm: Y = alpha * A' B' + beta * C with C
 * broadcast unidirectionally to [M,N]. FusedMatMul (A, B [, bias
 * [, residual]], an omitted one NULL): Y = act(A @ B + bias) + residual,
 * A and B of rank >= 2 with MatMul's rules, bias and residual broadcast
 * unidirectionally to Y.
 *
 * Lowering: float32/float64 products take a register-blocked kernel
 * (fast_lower): Y is cut into column panels of NR columns (a few vectors
 * of the target) and row tiles of MR rows; a tile keeps MR x NR
 * accumulators in a small local array that the C compiler keeps in
 * registers (fully unrolled loops over the tile, vector loops over
 * columns), and streams A (one broadcast per row and k) and a panel of B.
 * A constant B is packed at compile time panel by panel (each panel's
 * K x NR block contiguous), a run-time B is read in place (rows
 * contiguous). K is cut into blocks when a panel of B would not stay in
 * L2. A MatMul whose B has no batch dims is one product over all of A's
 * rows (fold_batch). Work is shared over (batch, panel[, row group]). The epilogue
 * (alpha, C, bias, activation, residual) is applied when a tile is stored.
 * With bf16 pairs on an AMX target the blocks are 32 x 32 tile products
 * (amx_body, tile_gemm.h) instead of register tiles.
 * Anything else (integers, a run-time B with strided rows) takes the plain
 * row kernel (naive_lower). */
#include "activation.h"
#include "common.h"
#include "quant.h"
#include "tile_gemm.h"

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

/* FusedMatMul's own checks on top of MatMul's; resolves has_bias and
 * has_residual from the inputs present. */
static bool fused_infer(urc_node *n, const urc_shape *ys) {
    const char *where = urc_node_where(n);
    urc_gemm_attr *a = &n->a.gemm;
    if (!urc_dtype_is_float(n->in[0]->dtype)) {
        urc_error(where, "takes float tensors, got %s", urc_dtype_name(n->in[0]->dtype));
        return false;
    }
    if (!urc_check_rank(n, 0, 2, URC_MAX_RANK) || !urc_check_rank(n, 1, 2, URC_MAX_RANK)) return false;
    a->has_bias = n->nin > 2 && n->in[2];
    a->has_residual = n->nin > 3 && n->in[3];
    for (int i = 2; i < n->nin; i++) {
        if (!n->in[i]) continue;
        if (!urc_check_same_dtype(n, 0, i)) return false;
        if (!urc_shape_bcasts_to(&n->in[i]->shape, ys)) {
            urc_error(where, "%s of shape %s does not broadcast to the result shape %s", i == 2 ? "bias" : "residual",
                      urc_shape_str(&n->in[i]->shape), urc_shape_str(ys));
            return false;
        }
    }
    if (!urc_act_valid(a->act)) {
        urc_error(where, "unknown activation %d", (int)a->act);
        return false;
    }
    return true;
}

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
    if (n->op == URC_OP_FUSED_MATMUL && !fused_infer(n, &ys)) return false;
    urc_set_out(n, 0, dt, &ys);
    return true;
}

/* ---- reference ------------------------------------------------------------ */

static bool matmul_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    mm_geom g;
    geom(n, &g);
    const urc_tensor *A = in[0], *B = in[1], *C = NULL, *bias = NULL, *res = NULL;
    urc_tensor *Y = out[0];
    bool gemm = n->op == URC_OP_GEMM, fused = n->op == URC_OP_FUSED_MATMUL;
    double alpha = gemm ? n->a.gemm.alpha : 1, beta = gemm ? n->a.gemm.beta : 0;
    if (gemm && n->nin > 2 && beta != 0) C = in[2]; /* BLAS semantics: C is not read when beta == 0 */
    if (fused) {
        bias = n->nin > 2 ? in[2] : NULL;
        res = n->nin > 3 ? in[3] : NULL;
    }
    bool fl = urc_dtype_is_float(Y->dtype);
    urc_fq xq = n->a.gemm.xq; /* (MatMul's: zero unless the precision pass sets it) */
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
                    for (int64_t k = 0; k < g.K; k++) {
                        double a = urc_elem_f64(A->dtype, A->data, ao + m * g.a_sm + k * g.a_sk);
                        if (xq.scale > 0) a = urc_fake_quant((float)a, xq); /* (int8 on tiles: the folded FakeQuant) */
                        acc += a * urc_elem_f64(B->dtype, B->data, bo + k * g.b_sk + j * g.b_sn);
                    }
                    double y = alpha * acc;
                    if (C) y += beta * urc_elem_f64(C->dtype, C->data, ci);
                    if (fused) {
                        if (bias)
                            y += urc_elem_f64(bias->dtype, bias->data, urc_bcast_offset(&Y->shape, &bias->shape, yi));
                        y = urc_act_ref(n->a.gemm.act, n->a.gemm.act_alpha, y);
                        if (res) y += urc_elem_f64(res->dtype, res->data, urc_bcast_offset(&Y->shape, &res->shape, yi));
                    }
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

/* What one matmul kernel needs while it is being built. */
typedef struct mm_ctx {
    urc_lower *L;
    const urc_node *n;
    urc_kernel *k;
    mm_geom g;
    urc_dtype dt;
    int ba, bb, by; /* buffers of A, B (packed or not) and Y */
    int bs;         /* int8 B (--precision int8): the scales of its columns (urc_lower_wscale), or -1 */
    int bq, bcorr;  /* int8 on AMX tiles: A's levels (the node's scratch), lo * B's column sums; else -1 */
    int bxs, blo;   /* bf16 near float32 (ir.h urc_node.exact): A's two parts (the node's scratch), B's low parts */
    urc_fq fq;      /* ... A's steps */
    /* epilogue: y = act(alpha * acc + beta * C + bias) + residual */
    double alpha, beta;
    const urc_value *c, *bias, *res;
    urc_act act;
    double act_alpha;
    urc_shape yfull;            /* [batch.., M, N] (Gemm: [M, N]): what C/bias/residual broadcast to */
    urc_shape bias_s, res_s;    /* the shapes bias and residual are addressed by (fold_batch changes them) */
    urc_lx *bidx[URC_MAX_RANK]; /* the batch loop variables */
} mm_ctx;

static urc_lx *bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_bin(op, a, b); }
static urc_lx *lit(double v, urc_dtype dt) { return urc_lx_const(v, dt); }

/* Linear index into an operand of shape o broadcast to c->yfull, given
 * the element (batch vars, m, n) of yfull. */
static urc_lx *epi_index(const mm_ctx *c, const urc_shape *o, urc_lx *m, urc_lx *n) {
    const urc_shape *y = &c->yfull;
    urc_lx *full[URC_MAX_RANK + 2];
    for (int d = 0; d < y->rank - 2; d++) full[d] = c->bidx[d];
    full[y->rank - 2] = m;
    full[y->rank - 1] = n;
    urc_lx *e = urc_lx_int(0);
    int64_t stride = 1;
    for (int d = o->rank - 1; d >= 0; d--) {
        if (o->dims[d] != 1) e = urc_add(e, urc_muli(full[d + y->rank - o->rank], stride));
        stride *= o->dims[d];
    }
    return e;
}

/* Appends the store of Y element yidx = epilogue(v) to parent, (m, n) the
 * element's coordinates. `scaled`: alpha and beta*C are already in v. */
enum { EPI_ALL, EPI_PRE, EPI_POST };

/* `part`: EPI_ALL the whole epilogue; EPI_PRE only alpha, C and bias;
 * EPI_POST only the activation and residual (v is then the stored value). */
static void epi_store(mm_ctx *c, urc_ls *parent, urc_lx *yidx, urc_lx *v, urc_lx *m, urc_lx *n, bool scaled, int part) {
    urc_dtype dt = c->dt;
    if (part != EPI_POST) {
        if (!scaled) {
            if (c->alpha != 1) v = bin(URC_L_MUL, lit(c->alpha, dt), v);
            if (c->c) {
                urc_lx *t = urc_lower_load(c->L, c->k, c->c, epi_index(c, &c->c->shape, m, n));
                v = bin(URC_L_ADD, v, c->beta == 1 ? t : bin(URC_L_MUL, lit(c->beta, dt), t));
            }
        }
        if (c->bias) v = bin(URC_L_ADD, v, urc_lower_load(c->L, c->k, c->bias, epi_index(c, &c->bias_s, m, n)));
    }
    if (part != EPI_PRE) {
        v = urc_act_lx(c->k, parent, c->act, c->act_alpha, v);
        if (c->res) v = bin(URC_L_ADD, v, urc_lower_load(c->L, c->k, c->res, epi_index(c, &c->res_s, m, n)));
        if (c->n->out[0]->dtype == URC_DT_BF16) v = urc_lx_cast(URC_DT_BF16, v); /* (matmul_bf16_store) */
    }
    urc_ls_store(parent, c->by, yidx, v);
}

static bool has_epilogue(const mm_ctx *c) {
    return c->alpha != 1 || c->c || c->bias || c->act != URC_ACT_NONE || c->res;
}

/* Batch offsets of A, B and Y for the current batch loop variables. */
static urc_lx *a_base(mm_ctx *c, const int *iv) {
    return urc_muli(urc_index_bcast(c->k, iv, &c->g.batch, &c->g.abatch), c->g.M * c->g.K);
}
static urc_lx *b_base(mm_ctx *c, const int *iv) {
    return urc_muli(urc_index_bcast(c->k, iv, &c->g.batch, &c->g.bbatch), c->g.K * c->g.N);
}

/* The plain row kernel: loop nest over Y's batch dims and M, all parallel
 * (collapsed); the body computes one output row Y[b, m, 0:N]:
 *  - axpy form, when B's rows are contiguous (B[k, 0:N]): the row of Y is
 *    the accumulator, initialised with beta*C (or 0), then for each k
 *    Y[m, :] += (alpha*A[m,k]) * B[k, :], innermost loop contiguous; a
 *    FusedMatMul's epilogue is a last pass over the row;
 *  - dot form, otherwise (Gemm with transB, or N == 1): for each n a scalar
 *    accumulator sums A[m, k] * B[k, n] over k, contiguous in k for B. */
static bool naive_lower(mm_ctx *c) {
    urc_lower *L = c->L;
    urc_kernel *k = c->k;
    const mm_geom *g = &c->g;
    urc_dtype dt = c->dt;
    int ba = c->ba, bb = c->bb, by = c->by;

    static const char *names[URC_MAX_RANK] = {"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"};
    int iv[URC_MAX_RANK + 1];
    urc_shape rows = g->batch;
    rows.dims[rows.rank++] = g->M;
    urc_ls *body = k->body;
    urc_ls *outer = NULL;
    for (int d = 0; d < rows.rank; d++) {
        iv[d] = urc_kernel_var(k, d == rows.rank - 1 ? "m" : names[d], URC_DT_I64);
        body = urc_ls_for(body, iv[d], urc_lx_int(0), urc_lx_int(rows.dims[d]), 1, d == 0 ? URC_FOR_PARALLEL : 0);
        if (d == 0) {
            urc_ls *parent = k->body;
            outer = parent->list.items[parent->list.len - 1];
        }
        if (d < g->batch.rank) c->bidx[d] = urc_lx_var(k, iv[d]);
    }
    if (rows.rank > 1) outer->collapse = rows.rank;
    urc_lx *m = urc_lx_var(k, iv[g->batch.rank]);
    urc_lx *a_row = urc_add(a_base(c, iv), urc_muli(m, g->a_sm));
    urc_lx *b0 = b_base(c, iv);
    urc_lx *y_row = urc_muli(urc_index_vars(k, iv, &rows), g->N);

    int vn = urc_kernel_var(k, "n", URC_DT_I64), vk = urc_kernel_var(k, "k", URC_DT_I64);
    urc_lx *nx = urc_lx_var(k, vn), *kx = urc_lx_var(k, vk);
    urc_lx *a_mk = urc_lx_cast(dt, urc_lx_load(k, ba, urc_add(a_row, urc_muli(kx, g->a_sk)))); /* (bf16 A: pairs) */
    urc_lx *b_kn = urc_lower_wload(k, bb, urc_add(b0, urc_add(urc_muli(kx, g->b_sk), urc_muli(nx, g->b_sn))), dt);
    b_kn = urc_lower_wscaled(k, b_kn, c->bs, nx);
    urc_lx *y_idx = urc_add(y_row, nx);

    if (g->b_sn == 1 && g->N > 1) {
        /* beta * C[m, n] (C broadcast to [M, N]) as the initial value. */
        urc_lx *init = lit(0, dt);
        if (c->c) {
            urc_lx *t = urc_lower_load(L, k, c->c, epi_index(c, &c->c->shape, m, nx));
            init = c->beta == 1 ? t : bin(URC_L_MUL, lit(c->beta, dt), t);
        }
        urc_ls *il = urc_ls_for(body, vn, urc_lx_int(0), urc_lx_int(g->N), 1, URC_FOR_SIMD);
        urc_ls_store(il, by, y_idx, init);
        urc_ls *kl = urc_ls_for(body, vk, urc_lx_int(0), urc_lx_int(g->K), 1, 0);
        int va = urc_kernel_var(k, "a_mk", dt);
        urc_ls_decl(kl, va, c->alpha == 1 ? a_mk : bin(URC_L_MUL, lit(c->alpha, dt), a_mk));
        urc_ls *nl = urc_ls_for(kl, vn, urc_lx_int(0), urc_lx_int(g->N), 1, URC_FOR_SIMD);
        urc_ls_accum(nl, by, y_idx, bin(URC_L_MUL, urc_lx_var(k, va), b_kn));
        if (c->bias || c->act != URC_ACT_NONE || c->res) {
            urc_ls *el = urc_ls_for(body, vn, urc_lx_int(0), urc_lx_int(g->N), 1, URC_FOR_SIMD);
            epi_store(c, el, y_idx, urc_lx_load(k, by, y_idx), m, nx, true, EPI_ALL);
        }
    } else {
        urc_ls *nl = urc_ls_for(body, vn, urc_lx_int(0), urc_lx_int(g->N), 1, 0);
        int vacc = urc_kernel_var(k, "acc", dt);
        urc_ls_decl(nl, vacc, lit(0, dt));
        urc_ls *kl = urc_ls_for(nl, vk, urc_lx_int(0), urc_lx_int(g->K), 1, 0);
        urc_ls_assign(kl, vacc, bin(URC_L_ADD, urc_lx_var(k, vacc), bin(URC_L_MUL, a_mk, b_kn)));
        epi_store(c, nl, y_idx, urc_lx_var(k, vacc), m, nx, false, EPI_ALL);
    }
    return true;
}

/* ---- the register-blocked kernel ---------------------------------------- */

typedef struct tiling {
    int64_t MR, NR;  /* register tile */
    int64_t NF, nre; /* full column panels, width of the last partial one (0: none) */
    int64_t MT, mre; /* full row tiles, rows of the last partial one (0: none) */
    int64_t KC, nkb; /* K block and number of blocks */
    int64_t G, TPG;  /* row groups, row tiles per group */
    bool packed;     /* B packed at compile time */
    bool dot2;       /* bfloat16 pair products: A bf16 (a Cast before it), B packed as pairs along k */
    bool rows_outer; /* row groups outside the panels (a tall A streamed once, not once per panel) */
    bool amx;        /* pairs on AMX tiles (amx_body): 32 x 32 blocks of Y */
    bool amx8;       /* int8 on AMX tiles (amx_body, tdpbusd): A's levels times B's */
    bool quad;       /* int8 quad products (vpdpbusd): A's levels (the node's scratch) times B's int8 quads packed
                      * per panel along k, int32 accumulators, one K block */
} tiling;

/* Variables of the blocked kernel. */
typedef struct bvars {
    int p, grp, kb, i0, kk, i, j, a;
    const int *iv;
} bvars;

/* One MR x NR tile at rows [i0, i0+mr), columns [n0, n0+nr) of panel p,
 * summing k over [klo, khi). first/last: expressions saying whether this is
 * the first/last K block (NULL when there is one block). */
static void micro(mm_ctx *c, const tiling *t, const bvars *v, urc_ls *parent, urc_lx *i0, int64_t mr, int64_t nr,
                  urc_lx *klo, urc_lx *khi, urc_lx *first, urc_lx *last) {
    urc_kernel *k = c->k;
    const mm_geom *g = &c->g;
    urc_dtype dt = t->quad ? URC_DT_I32 : c->dt; /* (the accumulators') */
    urc_ls *blk = urc_ls_block();
    urc_ls_push(parent, blk);
    int acc = urc_kernel_local(k, "acc", dt, mr * nr);
    urc_ls_array(blk, k, acc);
    urc_lx *p = urc_lx_var(k, v->p), *ix = urc_lx_var(k, v->i), *jx = urc_lx_var(k, v->j), *kx = urc_lx_var(k, v->kk);
    urc_lx *n0 = urc_muli(p, t->NR);
    urc_lx *aidx = urc_add(urc_muli(ix, nr), jx);
    urc_lx *row = urc_add(i0, ix), *col = urc_add(n0, jx);
    urc_lx *yidx = urc_add(urc_muli(urc_add(urc_muli(urc_index_vars(k, v->iv, &g->batch), g->M), row), g->N), col);
    /* Rows unrolled, columns a simd loop (the two hints never on one loop: gcc 12
     * rejects "omp simd" next to "GCC unroll"). Columns must not be unrolled: with
     * 256-bit vectors a panel is 16 floats, gcc 12 unrolls such a loop fully and then
     * fails to SLP-vectorise the tile (scalar FMAs, 10x slower on AVX2 machines). */
    const unsigned U = URC_FOR_UNROLL, UV = URC_FOR_VECTOR;

    /* init: zeros, or the partial sums of the previous K blocks */
    urc_ls *zero_at = blk, *load_at = NULL;
    if (first) zero_at = urc_ls_if(blk, first, &load_at);
    {
        urc_ls *il = urc_ls_for(zero_at, v->i, urc_lx_int(0), urc_lx_int(mr), 1, U);
        urc_ls *jl = urc_ls_for(il, v->j, urc_lx_int(0), urc_lx_int(nr), 1, UV);
        urc_ls_store(jl, acc, aidx, lit(0, dt));
    }
    if (load_at) {
        urc_ls *il = urc_ls_for(load_at, v->i, urc_lx_int(0), urc_lx_int(mr), 1, U);
        urc_ls *jl = urc_ls_for(il, v->j, urc_lx_int(0), urc_lx_int(nr), 1, UV);
        urc_ls_store(jl, acc, aidx, urc_lx_load(k, c->by, yidx));
    }
    if (t->quad) { /* acc[i][:] = dot4(Aq[i0+i, k:k+4], Bq[p][k/4][:], acc[i][:]) for k a multiple of 4 */
        int64_t K4 = (g->K + 3) / 4 * 4;
        urc_ls *kl = urc_ls_for(blk, v->kk, urc_lx_int(0), urc_lx_int(K4), 4, 0);
        urc_lx *k4 = urc_lx_inrange(urc_lx_bin(URC_L_DIV, kx, urc_lx_int(4)));
        urc_lx *bi = urc_add(urc_muli(p, t->NR * K4 / 4), urc_add(urc_muli(k4, nr), jx));
        urc_lx *aq = urc_muli(urc_index_bcast(k, v->iv, &g->batch, &g->abatch), g->M * K4);
        urc_ls *il = urc_ls_for(kl, v->i, urc_lx_int(0), urc_lx_int(mr), 1, U);
        int aw = urc_kernel_var(k, "aw", URC_DT_U32);
        urc_ls_decl(il, aw, urc_lx_pair(k, c->bq, urc_add(aq, urc_add(urc_muli(row, K4), kx))));
        urc_ls *jl = urc_ls_for(il, v->j, urc_lx_int(0), urc_lx_int(nr), 1, UV);
        urc_ls_store(jl, acc, aidx,
                     urc_lx_dot4(urc_lx_var(k, aw), urc_lx_load(k, c->bb, bi), urc_lx_load(k, acc, aidx)));
    } else if (t->dot2) { /* acc[i][:] = dot2(A[i0+i, k:k+2], Bp[p][k/2][:], acc[i][:]) for even k */
        urc_ls *kl = urc_ls_for(blk, v->kk, klo, khi, 2, 0);
        urc_lx *k2 = urc_lx_inrange(urc_lx_bin(URC_L_DIV, kx, urc_lx_int(2)));
        urc_lx *bi = urc_add(urc_add(urc_lx_inrange(urc_lx_bin(URC_L_DIV, b_base(c, v->iv), urc_lx_int(2))),
                                     urc_muli(p, t->NR * g->K / 2)),
                             urc_add(urc_muli(k2, nr), jx));
        urc_ls *il = urc_ls_for(kl, v->i, urc_lx_int(0), urc_lx_int(mr), 1, U);
        int ap = urc_kernel_var(k, "ap", URC_DT_U32);
        urc_ls_decl(il, ap, urc_lx_pair(k, c->ba, urc_add(urc_add(a_base(c, v->iv), urc_muli(row, g->a_sm)), kx)));
        urc_ls *jl = urc_ls_for(il, v->j, urc_lx_int(0), urc_lx_int(nr), 1, UV);
        urc_ls_store(jl, acc, aidx,
                     urc_lx_dot2(urc_lx_var(k, ap), urc_lx_load(k, c->bb, bi), urc_lx_load(k, acc, aidx)));
    } else {
        /* k loop: acc[i][:] += A[i0+i, k] * B[k, n0:n0+nr] */
        urc_ls *kl = urc_ls_for(blk, v->kk, klo, khi, 1, 0);
        urc_lx *bi;
        if (t->packed) /* panel p starts at p*NR*K; its width is nr */
            bi = urc_add(urc_add(b_base(c, v->iv), urc_muli(p, t->NR * g->K)), urc_add(urc_muli(kx, nr), jx));
        else bi = urc_add(urc_add(b_base(c, v->iv), urc_muli(kx, g->b_sk)), col);
        /* B stored reduced (--precision): its row of the tile converted to float once per k, before the rows
         * (converted inside the column loop, C compilers vectorise the multiply-adds at half width) */
        int brow = -1;
        if (k->bufs.items[c->bb].dt != dt) {
            brow = urc_kernel_local(k, "brow", dt, nr);
            urc_ls_array(kl, k, brow);
            urc_ls *cl = urc_ls_for(kl, v->j, urc_lx_int(0), urc_lx_int(nr), 1, UV);
            urc_ls_store(cl, brow, jx, urc_lower_wscaled(k, urc_lower_wload(k, c->bb, bi, dt), c->bs, col));
        }
        urc_ls *il = urc_ls_for(kl, v->i, urc_lx_int(0), urc_lx_int(mr), 1, U);
        urc_lx *a = urc_lx_cast(
            dt,
            urc_lx_load(k, c->ba, urc_add(urc_add(a_base(c, v->iv), urc_muli(row, g->a_sm)), urc_muli(kx, g->a_sk))));
        urc_ls_decl(il, v->a, a);
        urc_ls *jl = urc_ls_for(il, v->j, urc_lx_int(0), urc_lx_int(nr), 1, UV);
        urc_lx *bkj = brow >= 0 ? urc_lx_load(k, brow, jx) : urc_lx_load(k, c->bb, bi);
        /* one fused multiply-add where the C compiler has a fast one (ISO C modes never contract a*b+c) */
        urc_ls_store(jl, acc, aidx, urc_lx_fma(urc_lx_var(k, v->a), bkj, urc_lx_load(k, acc, aidx)));
    }
    /* store, with the epilogue after the last K block */
    urc_ls *epi_at = blk, *raw_at = NULL;
    if (last && has_epilogue(c)) epi_at = urc_ls_if(blk, last, &raw_at);
    {
        urc_ls *sil = urc_ls_for(epi_at, v->i, urc_lx_int(0), urc_lx_int(mr), 1, U);
        urc_ls *sjl = urc_ls_for(sil, v->j, urc_lx_int(0), urc_lx_int(nr), 1, UV);
        /* A costly activation runs in a second pass over the stored tile,
         * as plain loops the compiler vectorises (fully unrolled it is
         * straight-line code too long to vectorise well). */
        bool split = c->act != URC_ACT_NONE && c->act != URC_ACT_RELU;
        urc_lx *sum = urc_lx_load(k, acc, aidx);
        if (t->quad) sum = urc_tile_gemm_dequant(k, sum, c->bcorr, c->bs, col, c->fq);
        epi_store(c, sjl, yidx, sum, row, col, false, split ? EPI_PRE : EPI_ALL);
        if (split) {
            sil = urc_ls_for(epi_at, v->i, urc_lx_int(0), urc_lx_int(mr), 1, 0);
            sjl = urc_ls_for(sil, v->j, urc_lx_int(0), urc_lx_int(nr), 1, URC_FOR_VECTOR);
            epi_store(c, sjl, yidx, urc_lx_load(k, c->by, yidx), row, col, false, EPI_POST);
        }
    }
    if (raw_at) {
        urc_ls *sil = urc_ls_for(raw_at, v->i, urc_lx_int(0), urc_lx_int(mr), 1, U);
        urc_ls *sjl = urc_ls_for(sil, v->j, urc_lx_int(0), urc_lx_int(nr), 1, UV);
        urc_ls_store(sjl, c->by, yidx, urc_lx_load(k, acc, aidx));
    }
}

/* The row tiles of one column panel of width nr (full or the last one). */
static void panel(mm_ctx *c, const tiling *t, const bvars *v, urc_ls *parent, int64_t nr) {
    urc_kernel *k = c->k;
    const mm_geom *g = &c->g;
    urc_lx *klo = urc_lx_int(0), *khi = urc_lx_int(g->K), *first = NULL, *last = NULL;
    urc_ls *body = parent;
    if (t->nkb > 1) {
        body = urc_ls_for(parent, v->kb, urc_lx_int(0), urc_lx_int(g->K), t->KC, 0);
        urc_lx *kb = urc_lx_var(k, v->kb);
        klo = kb;
        khi = urc_addi(kb, t->KC);
        if (g->K % t->KC) khi = bin(URC_L_MIN, khi, urc_lx_int(g->K));
        first = bin(URC_L_EQ, kb, urc_lx_int(0));
        last = bin(URC_L_GE, kb, urc_lx_int(g->K - t->KC));
    }
    /* full row tiles of this group, then the partial tile (last group) */
    if (t->MT) {
        urc_lx *lo = urc_lx_int(0), *hi = urc_lx_int(t->MT * t->MR);
        if (t->G > 1) {
            urc_lx *grp = urc_lx_var(k, v->grp);
            lo = urc_muli(grp, t->TPG * t->MR);
            hi = urc_muli(urc_addi(grp, 1), t->TPG * t->MR);
            if (t->G * t->TPG > t->MT) hi = bin(URC_L_MIN, hi, urc_lx_int(t->MT * t->MR));
        }
        urc_ls *tl = urc_ls_for(body, v->i0, lo, hi, t->MR, 0);
        micro(c, t, v, tl, urc_lx_var(k, v->i0), t->MR, nr, klo, khi, first, last);
    }
    if (t->mre) {
        urc_ls *at = body;
        if (t->G > 1) at = urc_ls_if(body, bin(URC_L_GE, urc_lx_var(k, v->grp), urc_lx_int(t->G - 1)), NULL);
        micro(c, t, v, at, urc_lx_int(t->MT * t->MR), t->mre, nr, klo, khi, first, last);
    }
}

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* B packed panel by panel: for each batch matrix, panel p (columns
 * [p*NR, p*NR+w), w = NR or the last panel's width) holds B[k, p*NR + j]
 * at p*NR*K + k*w + j. */
static int pack_b(mm_ctx *c, const tiling *t) {
    const urc_value *bv = c->n->in[1];
    const mm_geom *g = &c->g;
    int64_t nbm = urc_shape_numel(&g->bbatch), K = g->K, N = g->N;
    int size = urc_dtype_size(c->dt);
    bool wf = c->dt == URC_DT_F32 && bv->dtype == URC_DT_F32; /* --precision applies (urc_lower_wdata) */
    const unsigned char *from = wf ? (const unsigned char *)urc_lower_wdata(c->L, c->n) : bv->data;
    unsigned char *buf = urc_xmalloc((size_t)(nbm * K * N * size));
    for (int64_t b = 0; b < nbm; b++)
        for (int64_t n0 = 0; n0 < N; n0 += t->NR) {
            int64_t w = N - n0 < t->NR ? N - n0 : t->NR;
            for (int64_t kk = 0; kk < K; kk++)
                for (int64_t j = 0; j < w; j++) {
                    int64_t src = b * K * N + kk * g->b_sk + (n0 + j) * g->b_sn;
                    int64_t dst = b * K * N + n0 * K + kk * w + j;
                    memcpy(buf + dst * size, from + src * size, (size_t)size);
                }
        }
    if (t->dot2) { /* each panel's K x w block as bfloat16 pairs along k: [K/2][w] uint32 */
        uint32_t *pr = urc_xmalloc((size_t)(nbm * K * N / 2 + 1) * sizeof *pr);
        const float *f = (const float *)buf;
        for (int64_t b = 0; b < nbm; b++)
            for (int64_t n0 = 0; n0 < N; n0 += t->NR) {
                int64_t w = N - n0 < t->NR ? N - n0 : t->NR, at = b * K * N + n0 * K;
                for (int64_t kk = 0; kk < K; kk += 2)
                    for (int64_t j = 0; j < w; j++)
                        pr[at / 2 + kk / 2 * w + j] = (uint32_t)urc_f32_to_bf16(f[at + kk * w + j]) |
                                                      (uint32_t)urc_f32_to_bf16(f[at + (kk + 1) * w + j]) << 16;
            }
        int r = urc_lower_const(c->L, c->k, "b_pairs", URC_DT_U32, nbm * K * N / 2, pr);
        free(pr);
        free(buf);
        return r;
    }
    /* float32 weights of a node marked by --precision: stored reduced (urc_lower_wconst) */
    int r = wf ? urc_lower_wconst(c->L, c->k, c->n, "b_packed", nbm * K * N, (const float *)buf)
               : urc_lower_const(c->L, c->k, "b_packed", c->dt, nbm * K * N, buf);
    if (wf) c->bs = urc_lower_wscale(c->L, c->k, c->n, N, N);
    free(buf);
    return r;
}

/* int8 quads (t->quad): B's levels panel by panel as Bq[p][K4/4][w] uint32, the four levels of k = 4q .. 4q + 3
 * in bytes 0-3 (zeros past K; panels before p are NR wide); colsum[n] gets the sum of column n's levels. */
static int pack_quads(mm_ctx *c, const tiling *t, int64_t *colsum) {
    const mm_geom *g = &c->g;
    const float *w = urc_lower_wdata(c->L, c->n);
    int64_t K4 = (g->K + 3) / 4 * 4;
    uint32_t *q = urc_xcalloc((size_t)(K4 / 4 * g->N), sizeof *q);
    for (int64_t n = 0; n < g->N; n++) {
        int64_t n0 = n / t->NR * t->NR, wd = g->N - n0 < t->NR ? g->N - n0 : t->NR;
        colsum[n] = 0;
        for (int64_t kk = 0; kk < g->K; kk++) {
            int8_t v = (int8_t)w[kk * g->b_sk + n * g->b_sn];
            q[n0 * K4 / 4 + kk / 4 * wd + (n - n0)] |= (uint32_t)(uint8_t)v << (8 * (kk % 4));
            colsum[n] += v;
        }
    }
    int r = urc_lower_const(c->L, c->k, "b_quads", URC_DT_U32, K4 / 4 * g->N, q);
    free(q);
    return r;
}

/* What the blocked kernel's body depends on besides its bound buffers. */
#define MM_KEY_MAX (48 + 6 * (URC_MAX_RANK + 1))
static int key_shape(int64_t *key, int n, const urc_shape *s) {
    key[n++] = s->rank;
    for (int d = 0; d < s->rank; d++) key[n++] = s->dims[d];
    return n;
}

static int64_t key_f64(double v) {
    int64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
}

static int mm_key(const mm_ctx *c, const tiling *t, int64_t *key) {
    const mm_geom *g = &c->g;
    int n = 0;
    const int64_t fqs = key_f64(c->fq.scale), al = key_f64(c->alpha), be = key_f64(c->beta), aa = key_f64(c->act_alpha);
    const int64_t head[] = {c->dt,   c->ba,    c->bb,   c->bs,   c->by,  g->M,     g->N,      g->K,
                            g->a_sm, g->a_sk,  g->b_sk, g->b_sn, t->MR,  t->NR,    t->NF,     t->nre,
                            t->MT,   t->mre,   t->KC,   t->nkb,  t->G,   t->TPG,   t->packed, t->rows_outer,
                            t->dot2, t->amx,   t->amx8, t->quad, c->bq,  c->bcorr, c->bxs,    c->blo,
                            fqs,     c->fq.lo, al,      be,      c->act, aa};
    for (size_t i = 0; i < URC_ARRAY_LEN(head); i++) key[n++] = head[i];
    n = key_shape(key, n, &g->batch);
    n = key_shape(key, n, &g->abatch);
    n = key_shape(key, n, &g->bbatch);
    n = key_shape(key, n, &c->yfull);
    const urc_value *epi[3] = {c->c, c->bias, c->res};
    const urc_shape *es[3] = {c->c ? &c->c->shape : NULL, &c->bias_s, &c->res_s};
    for (int i = 0; i < 3; i++) {
        key[n++] = epi[i] != NULL;
        if (!epi[i]) continue;
        n = key_shape(key, n, es[i]);
        key[n++] = epi[i]->data && urc_shape_numel(&epi[i]->shape) == 1
                       ? key_f64(urc_elem_f64(epi[i]->dtype, epi[i]->data, 0))
                       : -1;
    }
    return n;
}

/* ---- AMX tiles ----------------------------------------------------------------
 *
 * With pairs on a target with AMX-BF16 (loop/tiles.h) Y is cut into blocks of 32 x 32, one work item each
 * (batch, panel, row block), each the product of tile_gemm.h: A read in place (rows a_sm apart), B packed as
 * Bt[b][p][Kp/2][32] pairs; the epilogue writes the block's rows and columns that exist.
 *
 * int8 (amx8_fits: A fake-quantised, B's int8 levels, one B): A's levels u = q - lo first go to the node's scratch,
 * Aq[ab][M32][Kp] uint8 (M rounded up to 32, K to 64, zeros around), in one pass over A; the blocks multiply them
 * by B's quads (tdpbusd, exact int32 sums) and the epilogue makes (sum + lo * B's column sum) * s_b[n] * s_a. */
/* int8 levels multiplied as integers (AMX tiles or VNNI quads): A fake-quantised float32 rows, one constant B of
 * int8 levels, sums of up to Kp products of 255 x 127 within int32. */
static bool q8_fits(const urc_node *n, urc_fq *fq) {
    mm_geom g;
    geom(n, &g);
    const urc_value *a = n->in[0], *b = n->in[1];
    int64_t Kp = (g.K + 63) / 64 * 64;
    return urc_lower_wdtype(n) == URC_DT_I8 && b->data && b->dtype == URC_DT_F32 && !a->data &&
           a->dtype == URC_DT_F32 && n->out[0]->dtype == URC_DT_F32 && g.a_sk == 1 && g.a_sm == g.K &&
           urc_shape_numel(&g.bbatch) == 1 && g.M > 0 && g.N > 0 && g.K > 0 && Kp <= ((int64_t)1 << 31) / (256 * 128) &&
           (n->a.gemm.xq.scale > 0 ? (*fq = n->a.gemm.xq, true) : urc_fq_of(a, fq));
}

static bool amx8_fits(const urc_node *n, const urc_target *t, urc_fq *fq) {
    return urc_target_amx(t) && q8_fits(n, fq);
}

/* int8 quad products (VNNI, where no AMX): A's levels go to the node's scratch Aq[ab][M][K4] (K rounded up to 4,
 * zeros past K) in one pass over A, and the blocked kernel multiplies them by B's quads with vpdpbusd (loop.h
 * URC_LX_DOT4), int32 sums, dequantised as the tiles' are. */
static bool quad_fits(const urc_node *n, const urc_target *t, urc_fq *fq) {
    return !urc_target_amx(t) && urc_target_vnni(t) && q8_fits(n, fq);
}

static bool matmul_int8_levels(const urc_node *n, const urc_target *t) {
    urc_fq fq;
    return amx8_fits(n, t, &fq) || quad_fits(n, t, &fq);
}

/* Aq's elements for A's batches and rows as geometry g has them (tiles: M rounded up to 32, K to 64). */
static int64_t amx8_count(const mm_geom *g) {
    return urc_shape_numel(&g->abatch) * ((g->M + 31) / 32 * 32) * ((g->K + 63) / 64 * 64);
}
static int64_t quad_count(const mm_geom *g) { return urc_shape_numel(&g->abatch) * g->M * ((g->K + 3) / 4 * 4); }

/* A float32 A split into bf16 parts once (URC_EXACT_X, on AMX tiles): As[ab][2][M32][Kp], the high parts of rows
 * [0, M32) then their low parts, M rounded up to 32 and K to 32, zeros around; the tile products read both planes in
 * place (tile_gemm.h alo) against the same B tiles. A product whose A is no larger than its B (UNETR's transformer:
 * 216 tokens x 768 against 768 x 2304 weights) then costs twice the tile products and one pass over A, but no more of
 * B's traffic (UNETR 96^3's transformer: 30.7 -> 43.8 ms, 2 threads). */
static bool xsplit_fits(const urc_node *n, const urc_target *t) {
    mm_geom g;
    geom(n, &g);
    const urc_value *a = n->in[0], *b = n->in[1];
    return (n->exact & URC_EXACT_X) && urc_target_amx(t) && !urc_target_amx_split(t) &&
           urc_lower_wdtype(n) == URC_DT_BF16 && b->data && b->dtype == URC_DT_F32 && !a->data &&
           a->dtype == URC_DT_F32 && n->out[0]->dtype == URC_DT_F32 && g.a_sk == 1 &&
           !(n->op == URC_OP_GEMM && n->a.gemm.trans_a) && urc_shape_numel(&g.bbatch) == 1 && g.M > 0 && g.N > 0 &&
           g.K > 0;
}
static int64_t xsplit_count(const mm_geom *g) {
    return urc_shape_numel(&g->abatch) * 2 * ((g->M + 31) / 32 * 32) * ((g->K + 31) / 32 * 32);
}

static urc_scratch_req matmul_scratch(const urc_node *n, const urc_target *t) {
    urc_scratch_req r = {0, URC_DT_U8, false};
    urc_fq fq;
    mm_geom g;
    geom(n, &g);
    if (amx8_fits(n, t, &fq)) r.count = amx8_count(&g); /* (fold_batch's rows need no more) */
    else if (quad_fits(n, t, &fq)) r.count = quad_count(&g);
    else if (xsplit_fits(n, t)) r.count = xsplit_count(&g), r.dt = URC_DT_BF16;
    return r;
}

/* A's rows for the tile products, for each batch of A and row r < M32, j < Kp: int8 (c->bq), Aq[ab][r][j] = A's level -
 * lo where r < M and j < K, else 0 (amx_body, quads); split (c->bxs, xsplit_fits), As[ab][0][r][j] and
 * As[ab][1][r][j] the high and low parts of A[r][j] (0 past M and K). */
static void a_rows(mm_ctx *c, int64_t M32, int64_t Kp) {
    const mm_geom *g = &c->g;
    urc_kernel *k = c->k;
    urc_ls *b = k->body;
    int vb = urc_kernel_var(k, "ab", URC_DT_I64), vr = urc_kernel_var(k, "r", URC_DT_I64);
    b = urc_ls_for(b, vb, urc_lx_int(0), urc_lx_int(urc_shape_numel(&g->abatch)), 1, URC_FOR_PARALLEL);
    b = urc_ls_for(b, vr, urc_lx_int(0), urc_lx_int(M32), 1, 0);
    k->body->list.items[k->body->list.len - 1]->collapse = 2;
    urc_lx *ab = urc_lx_var(k, vb), *r = urc_lx_var(k, vr);
    urc_lx *srow = urc_add(urc_muli(ab, g->M * g->K), urc_muli(r, g->a_sm));
    if (c->bxs >= 0)
        urc_tile_gemm_parts(k, b, r, g->M, c->ba, srow, c->bxs, urc_add(urc_muli(ab, 2 * M32 * Kp), urc_muli(r, Kp)),
                            M32 * Kp, g->K, Kp);
    else
        urc_tile_gemm_levels(k, b, r, g->M, c->ba, srow, c->bq, urc_muli(urc_add(urc_muli(ab, M32), r), Kp), g->K, Kp,
                             c->fq);
}

/* Into `at`: block (i0, panel p) of Y, its sums in acc from element ao: Y[b, i0 + i, p*32 + j] for the rows and columns
 * that exist, through the node's epilogue. */
static void amx_epilogue(mm_ctx *c, urc_ls *at, const int *iv, urc_lx *p, urc_lx *i0, int acc, urc_lx *ao) {
    const mm_geom *g = &c->g;
    urc_kernel *k = c->k;
    int vi = urc_kernel_var(k, "i", URC_DT_I64), vj = urc_kernel_var(k, "j", URC_DT_I64);
    urc_lx *rows =
        g->M % 32 ? urc_lx_inrange(bin(URC_L_MIN, urc_lx_int(32), urc_sub(urc_lx_int(g->M), i0))) : urc_lx_int(32);
    urc_lx *cols = g->N % 32
                       ? urc_lx_inrange(bin(URC_L_MIN, urc_lx_int(32), urc_sub(urc_lx_int(g->N), urc_muli(p, 32))))
                       : urc_lx_int(32);
    urc_ls *el = urc_ls_for(at, vi, urc_lx_int(0), rows, 1, 0);
    el = urc_ls_for(el, vj, urc_lx_int(0), cols, 1, URC_FOR_VECTOR);
    urc_lx *row = urc_add(i0, urc_lx_var(k, vi)), *col = urc_add(urc_muli(p, 32), urc_lx_var(k, vj));
    urc_lx *yidx = urc_add(urc_muli(urc_add(urc_muli(urc_index_vars(k, iv, &g->batch), g->M), row), g->N), col);
    urc_lx *v = urc_lx_load(k, acc, urc_add(ao, urc_add(urc_muli(urc_lx_var(k, vi), 32), urc_lx_var(k, vj))));
    if (c->bq >= 0) v = urc_tile_gemm_dequant(k, v, c->bcorr, c->bs, col, c->fq);
    epi_store(c, el, yidx, v, row, col, false, EPI_ALL);
}

/* amx_body's pipelined row blocks: block rb's epilogue (urc_tile_gemm_pipeline) */
typedef struct amx_pipe_ctx {
    mm_ctx *c;
    const int *iv;
    urc_lx *p;
} amx_pipe_ctx;
static void amx_pipe_epilogue(const void *ctx, urc_ls *at, urc_lx *rb, int acc, urc_lx *ao) {
    const amx_pipe_ctx *pc = ctx;
    amx_epilogue(pc->c, at, pc->iv, pc->p, urc_muli(rb, 32), acc, ao);
}

static void amx_body(mm_ctx *c) {
    const mm_geom *g = &c->g;
    int64_t NP = urc_tile_gemm_panels(g->N), RB = (g->M + 31) / 32;
    urc_kernel *k = c->k;
    bool q8 = c->bq >= 0;
    int64_t M32 = (g->M + 31) / 32 * 32, Kp = (g->K + 63) / 64 * 64, Kx = (g->K + 31) / 32 * 32;
    bool xs = c->bxs >= 0;
    if (q8 || xs) a_rows(c, M32, q8 ? Kp : Kx);
    /* pipelined (UNETRC_AMX_PIPE=0: not; a single row block): a work item is a panel, its row blocks under one tile
     * configuration (not one per block), each block's epilogue during the next block's products (UNETR's
     * transformer: 96 of them per layer at 216 tokens, the GELU's in the epilogue) */
    bool pipe = urc_amx_pipe() && RB > 1;
    static const char *names[URC_MAX_RANK] = {"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"};
    int iv[URC_MAX_RANK];
    urc_ls *body = k->body;
    for (int d = 0; d < g->batch.rank; d++) {
        iv[d] = urc_kernel_var(k, names[d], URC_DT_I64);
        c->bidx[d] = urc_lx_var(k, iv[d]);
        body = urc_ls_for(body, iv[d], urc_lx_int(0), urc_lx_int(g->batch.dims[d]), 1, d ? 0 : URC_FOR_PARALLEL);
    }
    int vp = urc_kernel_var(k, "p", URC_DT_I64), vrb = urc_kernel_var(k, "rb", URC_DT_I64);
    body = urc_ls_for(body, vp, urc_lx_int(0), urc_lx_int(NP), 1, g->batch.rank ? 0 : URC_FOR_PARALLEL);
    urc_ls *item = body;
    if (!pipe) body = urc_ls_for(body, vrb, urc_lx_int(0), urc_lx_int(RB), 1, 0);
    k->body->list.items[k->body->list.len - 1]->collapse = g->batch.rank + (pipe ? 1 : 2);
    urc_lx *p = urc_lx_var(k, vp), *i0 = urc_muli(urc_lx_var(k, vrb), 32);
    urc_lx *bb = urc_muli(urc_add(urc_muli(urc_index_bcast(k, iv, &g->batch, &g->bbatch), NP), p),
                          q8 ? urc_tile_gemm_panel_bytes8(g->K, false) : urc_tile_gemm_panel_pairs(g->K));
    /* A in place, or its levels (int8: Aq[ab][M32][Kp]), or its parts (As[ab][2][M32][Kx]) */
    urc_lx *ai = urc_index_bcast(k, iv, &g->batch, &g->abatch);
    urc_lx *abase = q8 ? urc_muli(ai, M32 * Kp) : xs ? urc_muli(ai, 2 * M32 * Kx) : a_base(c, iv);
    urc_tile_gemm tg = {q8   ? c->bq
                        : xs ? c->bxs
                             : c->ba,
                        urc_lx_var(k, urc_ls_let(k, body, "abase", URC_DT_I64, abase)),
                        q8   ? Kp
                        : xs ? Kx
                             : g->a_sm,
                        q8 || xs ? M32 : g->M,
                        q8   ? Kp
                        : xs ? Kx
                             : g->K,
                        c->bb,
                        urc_lx_var(k, urc_ls_let(k, body, "bb", URC_DT_I64, bb)),
                        !q8 && !xs && c->n->in[0]->dtype == URC_DT_F32,
                        q8,
                        false,
                        xs ? M32 * Kx : 0,
                        c->blo >= 0,
                        c->blo};
    if (!pipe) {
        int acc = urc_tile_gemm_block(k, body, &tg, i0, c->L->target);
        amx_epilogue(c, body, iv, p, i0, acc, urc_lx_int(0));
        return;
    }
    /* row block rb's products, rb - 1's epilogue */
    amx_pipe_ctx pc = {c, iv, p};
    urc_tile_gemm_pipeline(k, item, &tg, i0, vrb, RB, c->L->target, amx_pipe_epilogue, &pc);
}

static void fast_body(mm_ctx *c, const tiling *t);
static bool fast_lower(mm_ctx *c) {
    const urc_target *tg = c->L->target;
    const mm_geom *g = &c->g;
    urc_kernel *k = c->k;
    urc_dtype dt = c->dt;
    const urc_value *bv = c->n->in[1];
    tiling t = {0};
    t.packed = bv->data != NULL;
    if (!t.packed && g->b_sn != 1) return false;
    int size = urc_dtype_size(dt);
    int64_t lanes = tg->vector_bits / (8 * size);
    if (lanes < 1) lanes = 1;
    /* 6 x 4 vectors with 32 vector registers (512-bit targets), 6 x 2 otherwise */
    t.NR = (tg->vector_bits >= 512 ? 4 : 2) * lanes;
    t.MR = g->M < 6 ? g->M : 6;
    t.NF = g->N / t.NR;
    t.nre = g->N % t.NR;
    t.MT = g->M / t.MR;
    t.mre = g->M % t.MR;
    /* K blocks: a K x NR panel of B should stay within a quarter of L2 */
    int64_t kc_max = tg->l2_bytes / 4 / (t.NR * size);
    if (kc_max < 64) kc_max = 64;
    t.nkb = cdiv(g->K, kc_max);
    t.KC = cdiv(g->K, t.nkb);
    /* bfloat16 pairs (a Cast to bf16 before A: passes/precision.c): pairs of k, so even K blocks */
    t.dot2 = t.packed && dt == URC_DT_F32 && c->n->in[0]->dtype == URC_DT_BF16 && bv->dtype == URC_DT_F32 &&
             g->a_sk == 1 && g->K % 2 == 0 && urc_lower_dot2(c->L, c->n);
    if (t.dot2 && t.KC % 2) {
        t.KC++;
        t.nkb = cdiv(g->K, t.KC);
    }
    /* AMX tiles: the pairs; or split, A float32 (no Cast: matmul_pairs) times B's bf16 weights */
    const urc_value *sv = c->n->scratch;
    bool xs = dt == URC_DT_F32 && t.packed && xsplit_fits(c->n, tg) && sv && sv->dtype == URC_DT_BF16 &&
              urc_shape_numel(&sv->shape) >= xsplit_count(g);
    t.amx = (t.dot2 && urc_target_amx(tg)) || xs ||
            (urc_target_amx_split(tg) && t.packed && dt == URC_DT_F32 && c->n->in[0]->dtype == URC_DT_F32 &&
             bv->dtype == URC_DT_F32 && g->a_sk == 1 && urc_lower_wdtype(c->n) == URC_DT_BF16);
    /* row groups when (batch x panels) gives too few work items */
    int64_t NP = t.NF + (t.nre ? 1 : 0), MTT = t.MT + (t.mre ? 1 : 0);
    int64_t work = urc_shape_numel(&g->batch) * NP, want = 4 * (tg->threads > 0 ? tg->threads : 1);
    t.G = 1;
    if (work < want) t.G = cdiv(want, work) < MTT ? cdiv(want, work) : MTT;
    t.TPG = cdiv(MTT, t.G);
    t.G = cdiv(MTT, t.TPG);
    /* A tall A (more than L2) times a small B (all of it within half of L2: the MLPs and projections
     * of Swin's first stages, [110592, 48] x [48, 192]) is streamed from memory once per panel in
     * that order; with row groups of about 16 KiB of A outside the panels, each group is read from
     * L1/L2 by every panel and A from memory once. */
    int64_t a_bytes = g->M * g->K * size, b_bytes = g->K * g->N * size;
    if (t.nkb == 1 && NP > 1 && a_bytes > tg->l2_bytes && b_bytes <= tg->l2_bytes / 2) {
        int64_t rows = (16 << 10) / (g->K * size);
        t.TPG = rows / t.MR < 1 ? 1 : rows / t.MR;
        if (t.TPG > MTT) t.TPG = MTT;
        t.G = cdiv(MTT, t.TPG);
        t.rows_outer = t.G > 1;
    }

    t.amx8 = dt == URC_DT_F32 && amx8_fits(c->n, tg, &c->fq) && sv && sv->dtype == URC_DT_U8 &&
             urc_shape_numel(&sv->shape) >= amx8_count(g);
    t.quad = !t.amx8 && dt == URC_DT_F32 && t.packed && quad_fits(c->n, tg, &c->fq) && sv && sv->dtype == URC_DT_U8 &&
             urc_shape_numel(&sv->shape) >= quad_count(g);
    if (t.quad) t.nkb = 1, t.KC = g->K, t.dot2 = t.amx = false;
    URC_ASSERT(t.amx8 || t.quad || !(c->n->a.gemm.xq.scale > 0),
               "a matmul with fake-quantised A that no integer kernel takes");
    c->ba = urc_lower_in(c->L, k, c->n->in[0], "a");
    if (t.quad) {
        int64_t *cs = urc_xmalloc(sizeof *cs * (size_t)g->N);
        c->bb = pack_quads(c, &t, cs);
        c->bcorr = urc_tile_gemm_corr(c->L, k, cs, g->N, g->N, c->fq);
        c->bs = urc_lower_wscale(c->L, k, c->n, g->N, g->N);
        c->bq = urc_lower_out(c->L, k, sv, "aq");
        free(cs);
    } else if (t.amx8) {
        int64_t *cs = urc_xmalloc(sizeof *cs * (size_t)g->N), NP8 = urc_tile_gemm_panels(g->N) * 32;
        c->bb = urc_tile_gemm_pack8(c->L, k, "b_tiles8", urc_lower_wdata(c->L, c->n), g->K, g->N, g->b_sk, g->b_sn, cs,
                                    false);
        c->bcorr = urc_tile_gemm_corr(c->L, k, cs, g->N, NP8, c->fq);
        c->bs = urc_lower_wscale(c->L, k, c->n, NP8, g->N);
        c->bq = urc_lower_out(c->L, k, sv, "aq");
        free(cs);
    } else
        c->bb = t.amx ? urc_tile_gemm_pack(c->L, k, "b_tiles", urc_lower_wdata(c->L, c->n), urc_shape_numel(&g->bbatch),
                                           g->K, g->N, g->b_sk, g->b_sn)
                : t.packed ? pack_b(c, &t)
                           : urc_lower_in(c->L, k, bv, "b");
    if (xs) c->bxs = urc_lower_out(c->L, k, sv, "as");
    if (t.amx && (c->n->exact & URC_EXACT_W)) { /* (B's low parts: ir.h) */
        float *lo = urc_lower_wlow(urc_lower_wdata(c->L, c->n), urc_shape_numel(&bv->shape));
        c->blo =
            urc_tile_gemm_pack(c->L, k, "b_tiles_lo", lo, urc_shape_numel(&g->bbatch), g->K, g->N, g->b_sk, g->b_sn);
        free(lo);
    }
    c->by = urc_lower_out(c->L, k, c->n->out[0], "y");
    /* the epilogue's operands and tables, bound now as the body would bind them: the key covers them */
    const urc_value *epi[3] = {c->c, c->bias, c->res};
    for (int i = 0; i < 3; i++)
        if (epi[i] && !(epi[i]->data && urc_shape_numel(&epi[i]->shape) == 1)) urc_lower_in(c->L, k, epi[i], "c");
    int64_t key[MM_KEY_MAX];
    if (urc_lower_reuse(c->L, k, c->n, key, mm_key(c, &t, key))) return true;
    if (t.amx || t.amx8) amx_body(c);
    else {
        if (t.quad) a_rows(c, g->M, (g->K + 3) / 4 * 4);
        fast_body(c, &t);
    }
    urc_lower_remember(c->L, k);
    return true;
}

/* The blocked kernel's loops (buffers bound). */
static void fast_body(mm_ctx *c, const tiling *tp) {
    tiling t = *tp;
    const mm_geom *g = &c->g;
    urc_kernel *k = c->k;
    urc_dtype dt = c->dt;
    int64_t NP = t.NF + (t.nre ? 1 : 0);

    static const char *names[URC_MAX_RANK] = {"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"};
    int iv[URC_MAX_RANK];
    bvars v;
    v.iv = iv;
    urc_ls *body = k->body, *outer = NULL;
    int depth = 0;
    for (int d = 0; d < g->batch.rank; d++) {
        iv[d] = urc_kernel_var(k, names[d], URC_DT_I64);
        c->bidx[d] = urc_lx_var(k, iv[d]);
        body = urc_ls_for(body, iv[d], urc_lx_int(0), urc_lx_int(g->batch.dims[d]), 1, depth++ ? 0 : URC_FOR_PARALLEL);
        if (!outer) outer = k->body->list.items[k->body->list.len - 1];
    }
    v.p = urc_kernel_var(k, "p", URC_DT_I64);
    v.grp = -1;
    if (t.rows_outer) { /* batch, row group (parallel), panel */
        v.grp = urc_kernel_var(k, "grp", URC_DT_I64);
        urc_ls *gb = body;
        body = urc_ls_for(body, v.grp, urc_lx_int(0), urc_lx_int(t.G), 1, depth++ ? 0 : URC_FOR_PARALLEL);
        if (!outer) outer = gb->list.items[gb->list.len - 1];
        if (depth > 1) outer->collapse = depth;
        body = urc_ls_for(body, v.p, urc_lx_int(0), urc_lx_int(NP), 1, 0);
    } else { /* batch, panel (parallel), row group */
        urc_ls *pb = body;
        body = urc_ls_for(body, v.p, urc_lx_int(0), urc_lx_int(NP), 1, depth++ ? 0 : URC_FOR_PARALLEL);
        if (!outer) outer = pb->list.items[pb->list.len - 1];
        if (t.G > 1) {
            v.grp = urc_kernel_var(k, "grp", URC_DT_I64);
            body = urc_ls_for(body, v.grp, urc_lx_int(0), urc_lx_int(t.G), 1, 0);
            depth++;
        }
        if (depth > 1) outer->collapse = depth;
    }
    v.kb = urc_kernel_var(k, "kb", URC_DT_I64);
    v.i0 = urc_kernel_var(k, "i0", URC_DT_I64);
    v.kk = urc_kernel_var(k, "k", URC_DT_I64);
    v.i = urc_kernel_var(k, "i", URC_DT_I64);
    v.j = urc_kernel_var(k, "j", URC_DT_I64);
    v.a = urc_kernel_var(k, "a", dt);
    if (t.NF && t.nre) {
        urc_ls *els = NULL;
        urc_ls *then = urc_ls_if(body, bin(URC_L_LT, urc_lx_var(k, v.p), urc_lx_int(t.NF)), &els);
        panel(c, &t, &v, then, t.NR);
        panel(c, &t, &v, els, t.nre);
    } else {
        panel(c, &t, &v, body, t.NF ? t.NR : t.nre);
    }
}

/* Whether an epilogue operand of shape o broadcast to [batch.., M, N] varies
 * only along N (a bias row), and whether it is the whole output. */
static bool row_only(const urc_shape *o) {
    for (int d = 0; d + 1 < o->rank; d++)
        if (o->dims[d] != 1) return false;
    return true;
}

/* A MatMul whose B has no batch (a weight matrix shared by every batch
 * element, e.g. a token projection applied per head) and whose A is a
 * contiguous [batch.., M, K] is one product of M' = batch x M rows: the
 * batch dims are folded into M, so B (and its K blocks) are streamed once
 * for all rows instead of once per batch element. Y's layout is the same.
 * Epilogue operands keep their meaning when they are a row over N or the
 * whole output (rank-2 shapes [1, N] / [M', N] address them afterwards). */
static void fold_batch(mm_ctx *c) {
    mm_geom *g = &c->g;
    int64_t nb = urc_shape_numel(&g->batch);
    if (g->batch.rank == 0 || nb <= 1 || urc_shape_numel(&g->bbatch) != 1 || g->a_sm != g->K || g->a_sk != 1 ||
        urc_shape_numel(&g->abatch) != nb)
        return;
    int64_t full = nb * g->M * g->N;
    const urc_value *ops[2] = {c->bias, c->res};
    urc_shape *ss[2] = {&c->bias_s, &c->res_s};
    for (int i = 0; i < 2; i++) {
        if (!ops[i]) continue;
        const urc_shape *o = &ops[i]->shape;
        if (row_only(o)) {
            ss[i]->rank = 1;
            ss[i]->dims[0] = o->rank ? o->dims[o->rank - 1] : 1;
        } else if (urc_shape_numel(o) == full && o->rank >= 2 && o->dims[o->rank - 1] == g->N &&
                   o->dims[o->rank - 2] == g->M && o->rank == g->batch.rank + 2) {
            ss[i]->rank = 2;
            ss[i]->dims[0] = nb * g->M;
            ss[i]->dims[1] = g->N;
        } else {
            return;
        }
    }
    g->M *= nb;
    g->batch.rank = g->abatch.rank = g->bbatch.rank = 0;
}

static bool matmul_lower(urc_lower *L, const urc_node *n) {
    mm_ctx c;
    memset(&c, 0, sizeof c);
    c.L = L;
    c.n = n;
    c.bs = c.bq = c.bcorr = c.bxs = c.blo = -1;
    geom(n, &c.g);
    c.k = urc_lower_begin(L, n);
    c.dt = n->out[0]->dtype == URC_DT_BF16 ? URC_DT_F32 : n->out[0]->dtype; /* (bf16: matmul_bf16_store) */
    bool gemm = n->op == URC_OP_GEMM;
    c.alpha = gemm ? n->a.gemm.alpha : 1;
    c.beta = gemm ? n->a.gemm.beta : 0;
    if (gemm && n->nin > 2 && c.beta != 0) c.c = n->in[2];
    if (n->op == URC_OP_FUSED_MATMUL) {
        c.bias = n->nin > 2 ? n->in[2] : NULL;
        c.res = n->nin > 3 ? n->in[3] : NULL;
        c.act = n->a.gemm.act;
        c.act_alpha = n->a.gemm.act_alpha;
    }
    if (c.bias) c.bias_s = c.bias->shape;
    if (c.res) c.res_s = c.res->shape;
    if (!gemm) fold_batch(&c);
    c.yfull = c.g.batch;
    c.yfull.dims[c.yfull.rank++] = c.g.M;
    c.yfull.dims[c.yfull.rank++] = c.g.N;
    if ((c.dt == URC_DT_F32 || c.dt == URC_DT_F64) && c.g.M > 0 && c.g.N > 0 && c.g.K > 0 && fast_lower(&c))
        return true;
    URC_ASSERT(n->out[0]->dtype != URC_DT_BF16, "a matrix product storing bf16 that the tile kernel does not take");
    c.ba = urc_lower_in(L, c.k, n->in[0], "a");
    c.bb = urc_lower_win(L, c.k, n, n->in[1], "b");
    if (c.dt == URC_DT_F32) c.bs = urc_lower_wscale(L, c.k, n, c.g.N, c.g.N);
    c.by = urc_lower_out(L, c.k, n->out[0], "y");
    return naive_lower(&c);
}

static void matmul_print(const urc_node *n, urc_strbuf *sb) {
    const urc_gemm_attr *a = &n->a.gemm;
    if (a->xq.scale > 0) urc_fq_print(sb, "xq", a->xq); /* (MatMul's attributes: the gemm ones, zero) */
    if (n->op == URC_OP_FUSED_MATMUL) {
        urc_act_print(sb, "act", a->act, a->act_alpha);
        urc_sb_printf(sb, " bias=%d residual=%d", a->has_bias, a->has_residual);
        return;
    }
    if (n->op != URC_OP_GEMM) return;
    urc_sb_printf(sb, " alpha=%g beta=%g transA=%d transB=%d", a->alpha, a->beta, a->trans_a, a->trans_b);
}

/* Output elements times the reduced length (FusedMatMul: its epilogue is
 * not counted). */
static int64_t matmul_macs(const urc_node *n) {
    const urc_value *a = n->in[0];
    int64_t k = n->op == URC_OP_GEMM && n->a.gemm.trans_a ? a->shape.dims[0] : a->shape.dims[a->shape.rank - 1];
    return urc_shape_numel(&n->out[0]->shape) * k;
}

/* bf16 pairs of A (ir.h): a float32 activation times constant float32 weights, rows of A contiguous
 * along an even K (no transA); fast_lower then multiplies pairs (t.dot2). Not with split AMX tiles (A float32,
 * split by the kernel). */
static unsigned matmul_pairs(const urc_node *n, const urc_target *t) {
    const urc_value *a = n->in[0], *b = n->in[1];
    if (!urc_target_dot2(t) || urc_target_amx_split(t) || (n->exact & URC_EXACT_X) ||
        (n->op == URC_OP_GEMM && n->a.gemm.trans_a) || a->data || a->dtype != URC_DT_F32 || !b->data ||
        b->dtype != URC_DT_F32 || a->shape.rank < 1 || a->shape.dims[a->shape.rank - 1] % 2)
        return 0;
    return 1u;
}

/* bf16 output (ir.h's bf16_store): a MatMul or FusedMatMul on one-pass AMX tiles (fast_lower's t.amx: A in bf16
 * pairs after its Cast, constant float32 B, even K), whose body (amx_body) stores each element of Y once, after the
 * epilogue; the other kernels accumulate in Y across K blocks or run the activation over the stored Y. */
static bool matmul_bf16_store(const urc_node *n, const urc_target *t) {
    const urc_value *a = n->in[0], *b = n->in[1];
    if ((n->op != URC_OP_MATMUL && n->op != URC_OP_FUSED_MATMUL) || n->a.gemm.xq.scale > 0 ||
        n->wdtype != URC_DT_BF16 || !urc_target_amx(t) || urc_target_amx_split(t) || a->dtype != URC_DT_BF16 ||
        !b->data || b->dtype != URC_DT_F32 || n->out[0]->dtype != URC_DT_F32)
        return false;
    mm_geom g;
    geom(n, &g);
    return g.a_sk == 1 && g.K % 2 == 0 && g.M > 0 && g.N > 0 && g.K > 0;
}

/* What the tile kernels can carry near float32 (ir.h urc_op_impl.bf16_exact): A's low parts where they take A split
 * (xsplit_fits), B's where they take B at all (the one-pass pairs, matmul_pairs, or the split form). */
static unsigned matmul_bf16_exact(const urc_node *n, const urc_target *t) {
    urc_node probe = *n;
    probe.exact = URC_EXACT_X;
    if (!urc_target_amx(t) || urc_target_amx_split(t) || urc_lower_wdtype(n) != URC_DT_BF16) return 0;
    if (n->exact & URC_EXACT_X) return URC_EXACT_X | URC_EXACT_W; /* (A's parts on tiles: xsplit_fits) */
    mm_geom g;
    geom(n, &g);
    const urc_value *a = n->in[0], *b = n->in[1], *y = n->out[0];
    /* (the pairs on tiles, fast_lower's t.amx: A bf16 after its Cast) */
    bool pairs = urc_target_dot2(t) && b->data && b->dtype == URC_DT_F32 && a->dtype == URC_DT_BF16 && g.a_sk == 1 &&
                 g.K % 2 == 0 && (y->dtype == URC_DT_F32 || y->dtype == URC_DT_BF16) && g.M > 0 && g.N > 0 && g.K > 0;
    return (xsplit_fits(&probe, t) ? URC_EXACT_X : 0) | (pairs ? URC_EXACT_W : 0);
}

const urc_op_impl urc_impl_matmul = {matmul_parse,
                                     matmul_infer,
                                     matmul_eval,
                                     matmul_lower,
                                     matmul_print,
                                     .signature_lower = false,
                                     .macs = matmul_macs,
                                     .bf16_pairs = matmul_pairs,
                                     .scratch = matmul_scratch,
                                     .int8_levels = matmul_int8_levels,
                                     .bf16_store = matmul_bf16_store,
                                     .bf16_exact = matmul_bf16_exact};
