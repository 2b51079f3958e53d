/* tile_gemm.c: a 32 x 32 block of C = A . B on AMX tiles (tile_gemm.h). C tiles [2][2] (16 x 16 float32)
 * += A tiles [2] (16 rows x 32 k) . B tiles [2] (16 pairs of k x 16 columns) for each chunk of 32 k (split: twice,
 * for A's high and low parts). */
#include "tile_gemm.h"

#include <stdlib.h>
#include <string.h>

#include "../loop/tiles.h"
#include "quant.h"

static urc_lx *bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_inrange(urc_lx_bin(op, a, b)); }

int urc_tile_gemm_pack(urc_lower *L, urc_kernel *k, const char *hint, const float *w, int64_t nb, int64_t K, int64_t N,
                       int64_t sk, int64_t sn) {
    int64_t Kp = (K + 31) / 32 * 32, NP = urc_tile_gemm_panels(N);
    float *f = urc_xcalloc((size_t)(nb * NP * Kp * 32), sizeof *f);
    for (int64_t b = 0; b < nb; b++)
        for (int64_t kk = 0; kk < K; kk++)
            for (int64_t n = 0; n < N; n++)
                f[((b * NP + n / 32) * Kp + kk) * 32 + n % 32] = w[b * K * N + kk * sk + n * sn];
    int r = urc_lower_wpairs(L, k, hint, nb * NP, Kp, 32, f);
    free(f);
    return r;
}

void urc_tile_gemm_split_store(urc_kernel *k, urc_ls *at, int dst, urc_lx *idx, int64_t lo, urc_lx *x) {
    /* (the high part a variable: UNETR 96^3's transformer matmuls with their A split took 38-40 ms so, 44-48 with
     * both parts stored as 16-lane conversions of their casts; the same bits) */
    urc_lx *hi = urc_lx_var(k, urc_ls_let(k, at, "xh", URC_DT_BF16, urc_lx_cast(URC_DT_BF16, x)));
    urc_ls_store(at, dst, idx, hi);
    urc_ls_store(at, dst, urc_addi(idx, lo),
                 urc_lx_cast(URC_DT_BF16, urc_lx_bin(URC_L_SUB, x, urc_lx_cast(URC_DT_F32, hi))));
}

/* Row r of A for the tile products (urc_tile_gemm_levels, urc_tile_gemm_parts): for j < K where r < R, int8 (fq) its
 * levels, else (split) its bf16 parts in two planes lo elements apart; zeros up to Kp and in whole rows past R. */
static void a_row(urc_kernel *k, urc_ls *at, urc_lx *r, int64_t R, int src, urc_lx *srow, int dst, urc_lx *drow,
                  int64_t K, int64_t Kp, const urc_fq *fq, int64_t lo) {
    int vj = urc_kernel_var(k, "j", URC_DT_I64);
    urc_lx *j = urc_lx_var(k, vj);
    urc_ls *els = NULL, *in = urc_ls_if(at, bin(URC_L_LT, r, urc_lx_int(R)), &els);
    urc_ls *jl = urc_ls_for(in, vj, urc_lx_int(0), urc_lx_int(K), 1, URC_FOR_VECTOR);
    urc_lx *x = urc_lx_load(k, src, urc_add(srow, j));
    if (fq) urc_ls_store(jl, dst, urc_add(drow, j), urc_fake_quant_u8(x, *fq));
    else
        urc_tile_gemm_split_store(k, jl, dst, urc_add(drow, j), lo,
                                  urc_lx_var(k, urc_ls_let(k, jl, "ax", URC_DT_F32, x)));
    urc_dtype zt = fq ? URC_DT_U8 : URC_DT_BF16;
    for (int side = 0; side < 2; side++) /* zeros past K, and whole rows past R */
        for (int part = 0; part < (fq ? 1 : 2) && (side || K < Kp); part++) {
            jl = urc_ls_for(side ? els : in, vj, urc_lx_int(side ? 0 : K), urc_lx_int(Kp), 1, URC_FOR_VECTOR);
            urc_ls_store(jl, dst, urc_add(urc_addi(drow, part * lo), j), urc_lx_const(0, zt));
        }
}

void urc_tile_gemm_levels(urc_kernel *k, urc_ls *at, urc_lx *r, int64_t R, int src, urc_lx *srow, int dst, urc_lx *drow,
                          int64_t K, int64_t Kp, urc_fq fq) {
    a_row(k, at, r, R, src, srow, dst, drow, K, Kp, &fq, 0);
}

void urc_tile_gemm_parts(urc_kernel *k, urc_ls *at, urc_lx *r, int64_t R, int src, urc_lx *srow, int dst, urc_lx *drow,
                         int64_t lo, int64_t K, int64_t Kp) {
    a_row(k, at, r, R, src, srow, dst, drow, K, Kp, NULL, lo);
}

int urc_tile_gemm_corr(urc_lower *L, urc_kernel *k, const int64_t *sums, int64_t n, int64_t count, urc_fq fq) {
    int32_t *corr = urc_xcalloc((size_t)(count ? count : 1), sizeof *corr);
    for (int64_t j = 0; j < n; j++) corr[j] = (int32_t)(sums[j] * fq.lo);
    int b = urc_lower_const(L, k, "wcorr", URC_DT_I32, count, corr);
    free(corr);
    return b;
}

urc_lx *urc_tile_gemm_dequant(const urc_kernel *k, urc_lx *sum, int bcorr, int bs, urc_lx *col, urc_fq fq) {
    urc_lx *v = urc_lx_cast(URC_DT_F32, urc_lx_bin(URC_L_ADD, sum, urc_lx_load(k, bcorr, col)));
    return urc_lx_bin(URC_L_MUL, urc_lower_wscaled(k, v, bs, col), urc_lx_flt(fq.scale, URC_DT_F32));
}

int urc_tile_gemm_pack8(urc_lower *L, urc_kernel *k, const char *hint, const float *w, int64_t K, int64_t N, int64_t sk,
                        int64_t sn, int64_t *colsum, bool quad) {
    int64_t NP = urc_tile_gemm_panels(N), pb = urc_tile_gemm_panel_bytes8(K, quad);
    int8_t *q = urc_xcalloc((size_t)(NP * pb), 1);
    for (int64_t n = 0; n < N; n++) {
        colsum[n] = 0;
        for (int64_t kk = 0; kk < K; kk++) {
            int8_t v = (int8_t)w[kk * sk + n * sn];
            q[n / 32 * pb + (kk / 4 * 32 + n % 32) * 4 + kk % 4] = v;
            colsum[n] += v;
        }
    }
    int r = quad ? urc_lower_const(L, k, hint, URC_DT_U32, NP * pb / 4, q)
                 : urc_lower_const(L, k, hint, URC_DT_I8, NP * pb, q);
    free(q);
    return r;
}

/* quad: acc[32][32] in groups of RG rows (8 on 512-bit targets: 16 accumulator vectors, else 2), each summed in its
 * own local block over every quad of k (rows unrolled, columns DOT4 lanes) and then copied to acc. */
static int quad_gemm(urc_kernel *k, urc_ls *at, const urc_tile_gemm *g, urc_lx *i0, const urc_target *tg) {
    int64_t RG = tg->vector_bits >= 512 ? 8 : 2;
    int acc = urc_kernel_local(k, "acc", URC_DT_I32, 32 * 32), ag = urc_kernel_local(k, "accg", URC_DT_I32, RG * 32);
    urc_ls_array(at, k, acc);
    int vg = urc_kernel_var(k, "rg", URC_DT_I64), vk = urc_kernel_var(k, "k4", URC_DT_I64);
    int vr = urc_kernel_var(k, "r", URC_DT_I64), vl = urc_kernel_var(k, "l", URC_DT_I64);
    urc_lx *r = urc_lx_var(k, vr), *l = urc_lx_var(k, vl), *gi = urc_add(urc_muli(r, 32), l);
    urc_ls *gb = urc_ls_for(at, vg, urc_lx_int(0), urc_lx_int(32 / RG), 1, 0);
    urc_ls_array(gb, k, ag);
    urc_lx *row0 = urc_add(i0, urc_muli(urc_lx_var(k, vg), RG));
    urc_ls *zl = urc_ls_for(gb, vl, urc_lx_int(0), urc_lx_int(RG * 32), 1, URC_FOR_VECTOR);
    urc_ls_store(zl, ag, l, urc_lx_const(0, URC_DT_I32));
    urc_ls *kl = urc_ls_for(gb, vk, urc_lx_int(0), urc_lx_int(g->K / 4), 1, 0);
    urc_lx *k4 = urc_lx_var(k, vk);
    urc_ls *rl = urc_ls_for(kl, vr, urc_lx_int(0), urc_lx_int(RG), 1, URC_FOR_UNROLL);
    int aw = urc_kernel_var(k, "aw", URC_DT_U32);
    urc_ls_decl(rl, aw,
                urc_lx_pair(k, g->a, urc_add(urc_add(g->abase, urc_muli(urc_add(row0, r), g->lda)), urc_muli(k4, 4))));
    urc_ls *ll = urc_ls_for(rl, vl, urc_lx_int(0), urc_lx_int(32), 1, URC_FOR_VECTOR);
    urc_ls_store(ll, ag, gi,
                 urc_lx_dot4(urc_lx_var(k, aw), urc_lx_load(k, g->b, urc_add(g->bbase, urc_add(urc_muli(k4, 32), l))),
                             urc_lx_load(k, ag, gi)));
    urc_ls *cr = urc_ls_for(gb, vr, urc_lx_int(0), urc_lx_int(RG), 1, 0);
    urc_ls *cl = urc_ls_for(cr, vl, urc_lx_int(0), urc_lx_int(32), 1, URC_FOR_VECTOR);
    urc_ls_store(cl, acc, urc_add(urc_muli(urc_lx_var(k, vg), RG * 32), gi), urc_lx_load(k, ag, gi));
    return acc;
}

/* int8: one chunk of 64 k at k0, A read in place. */
static void chunk8(urc_kernel *k, urc_ls *at, const urc_tiles *t, const urc_tile_gemm *g, urc_lx *i0, urc_lx *k0) {
    urc_lx *bk = urc_add(g->bbase, urc_muli(k0, 32)); /* (k0/4 rows of 32 quads) */
    for (int h = 0; h < 2; h++) urc_tiles_load(k, at, t, 6 + h, g->b, urc_addi(bk, 64 * h), urc_lx_int(128));
    for (int r = 0; r < 2; r++)
        urc_tiles_load(k, at, t, 4 + r, g->a, urc_add(urc_add(g->abase, urc_muli(urc_addi(i0, 16 * r), g->lda)), k0),
                       urc_lx_int(g->lda));
    for (int r = 0; r < 2; r++)
        for (int h = 0; h < 2; h++) urc_tiles_dpbusd(k, at, t, 2 * r + h, 4 + r, 6 + h);
}

/* One chunk of 32 k at k0: A read in place (direct) or through apad (rows past M and k past K zero; split: the
 * high parts in apad[0], the low ones in apad[1], each multiplied by the same B tiles; alo: A's low parts read in
 * place too; wlo: then B's low parts times A's high parts). */
static void chunk(urc_kernel *k, urc_ls *at, const urc_tiles *t, const urc_tile_gemm *g, urc_lx *i0, urc_lx *k0,
                  int apad, bool direct) {
    if (!direct) { /* apad[r][j] = A[min(i0 + r, M-1)][min(k0 + j, K-1)] where both are in range, else 0 */
        int vr = urc_kernel_var(k, "ar", URC_DT_I64), vj = urc_kernel_var(k, "aj", URC_DT_I64);
        urc_ls *b = urc_ls_for(at, vr, urc_lx_int(0), urc_lx_int(32), 1, 0);
        b = urc_ls_for(b, vj, urc_lx_int(0), urc_lx_int(32), 1, URC_FOR_VECTOR);
        urc_lx *row = urc_add(i0, urc_lx_var(k, vr)), *col = urc_add(k0, urc_lx_var(k, vj));
        urc_lx *in = bin(URC_L_AND, bin(URC_L_LT, row, urc_lx_int(g->M)), bin(URC_L_LT, col, urc_lx_int(g->K)));
        urc_lx *r = bin(URC_L_MIN, row, urc_lx_int(g->M - 1)), *c = bin(URC_L_MIN, col, urc_lx_int(g->K - 1));
        urc_lx *a = urc_lx_load(k, g->a, urc_add(g->abase, urc_add(urc_muli(r, g->lda), c)));
        urc_lx *ai = urc_add(urc_muli(urc_lx_var(k, vr), 32), urc_lx_var(k, vj));
        if (g->split) {
            urc_lx *x =
                urc_lx_var(k, urc_ls_let(k, b, "ax", URC_DT_F32, urc_lx_sel(in, a, urc_lx_const(0, URC_DT_F32))));
            urc_tile_gemm_split_store(k, b, apad, ai, 32 * 32, x);
        } else {
            urc_ls_store(b, apad, ai, urc_lx_sel(in, a, urc_lx_const(0, URC_DT_BF16)));
        }
    }
    urc_lx *bk = urc_add(g->bbase, urc_muli(bin(URC_L_DIV, k0, urc_lx_int(2)), 32));
    /* A's high parts (and low ones: split, alo) times B; then (wlo) A's high parts times B's low parts */
    int nx = g->split || g->alo ? 2 : 1;
    for (int part = 0; part < nx + g->wlo; part++) {
        int xpart = part < nx ? part : 0;
        if (part == 0 || part == nx)
            for (int h = 0; h < 2; h++)
                urc_tiles_load(k, at, t, 6 + h, part ? g->blo : g->b, urc_addi(bk, 16 * h), urc_lx_int(32));
        for (int r = 0; r < 2 && (part < nx || nx > 1); r++) {
            if (direct)
                urc_tiles_load(
                    k, at, t, 4 + r, g->a,
                    urc_add(urc_add(g->abase, urc_muli(urc_addi(i0, 16 * r), g->lda)), urc_addi(k0, xpart * g->alo)),
                    urc_lx_int(g->lda));
            else urc_tiles_load(k, at, t, 4 + r, apad, urc_lx_int((xpart * 2 + r) * 16 * 32), urc_lx_int(32));
        }
        for (int r = 0; r < 2; r++)
            for (int h = 0; h < 2; h++) urc_tiles_dpbf16(k, at, t, 2 * r + h, 4 + r, 6 + h);
    }
}

static int setup(urc_kernel *k, urc_ls *at, const urc_tile_gemm *g, const urc_target *tg, int nacc, urc_tiles *t,
                 int *apad) {
    memset(t, 0, sizeof *t);
    for (int i = 0; i < 8; i++) { /* C[r][h] = 2r + h, A[r], B[h] */
        t->rows[i] = 16, t->colsb[i] = 64;
        if (g->q8) t->dt[i] = i < 4 ? URC_DT_I32 : i < 6 ? URC_DT_U8 : URC_DT_I8;
        else t->dt[i] = i < 4 ? URC_DT_F32 : i < 6 ? URC_DT_BF16 : URC_DT_U32;
    }
    urc_tiles_config(k, at, t, tg);
    int acc = urc_kernel_local(k, "acc", t->dt[0], nacc * 32 * 32);
    urc_ls_array(at, k, acc);
    bool rows_part = g->M % 32 != 0, k_part = g->K % 32 != 0;
    *apad = !g->q8 && (rows_part || k_part || g->split)
                ? urc_kernel_local(k, "apad", URC_DT_BF16, (g->split ? 2 : 1) * 32 * 32)
                : -1;
    if (*apad >= 0) urc_ls_array(at, k, *apad);
    return acc;
}

static void products(urc_kernel *k, urc_ls *at, const urc_tile_gemm *g, urc_lx *i0, const urc_tiles *t, int apad) {
    int64_t Kp = (g->K + 31) / 32 * 32, Kf = g->K / 32 * 32;
    bool rows_part = g->M % 32 != 0, k_part = Kf < g->K;
    URC_ASSERT(!g->alo || (!rows_part && !k_part && !g->split), "tile product: A's low parts of an unpadded A");
    for (int i = 0; i < 4; i++) urc_tiles_zero(k, at, t, i);
    /* full row blocks read A in place but for a last partial k chunk; the last, partial row block through apad */
    urc_ls *full = at, *part = NULL;
    if (g->M < 32 || g->split) full = NULL, part = at; /* (split: every chunk through apad) */
    else if (rows_part) full = urc_ls_if(at, bin(URC_L_LE, urc_addi(i0, 32), urc_lx_int(g->M)), &part);
    int vk = urc_kernel_var(k, "k0", URC_DT_I64);
    if (g->q8) { /* (padded by the caller) */
        URC_ASSERT(!rows_part && g->K % 64 == 0, "int8 tile product of an unpadded A");
        urc_ls *kl = urc_ls_for(at, vk, urc_lx_int(0), urc_lx_int(g->K), 64, 0);
        chunk8(k, kl, t, g, i0, urc_lx_var(k, vk));
        full = part = NULL;
    }
    if (full && Kf) {
        urc_ls *kl = urc_ls_for(full, vk, urc_lx_int(0), urc_lx_int(Kf), 32, 0);
        chunk(k, kl, t, g, i0, urc_lx_var(k, vk), apad, true);
    }
    if (full && k_part) chunk(k, full, t, g, i0, urc_lx_int(Kf), apad, false);
    if (part) {
        urc_ls *kl = urc_ls_for(part, vk, urc_lx_int(0), urc_lx_int(Kp), 32, 0);
        chunk(k, kl, t, g, i0, urc_lx_var(k, vk), apad, false);
    }
}

static void store(urc_kernel *k, urc_ls *at, const urc_tiles *t, int acc, urc_lx *off) {
    for (int r = 0; r < 2; r++)
        for (int h = 0; h < 2; h++)
            urc_tiles_store(k, at, t, 2 * r + h, acc, urc_add(off, urc_lx_int(16 * r * 32 + 16 * h)), urc_lx_int(32));
}

int urc_tile_gemm_block(urc_kernel *k, urc_ls *at, const urc_tile_gemm *g, urc_lx *i0, const urc_target *tg) {
    if (g->quad) return quad_gemm(k, at, g, i0, tg);
    urc_tiles t;
    int apad, acc = setup(k, at, g, tg, 1, &t, &apad);
    products(k, at, g, i0, &t, apad);
    store(k, at, &t, acc, urc_lx_int(0));
    urc_tiles_release(at, &t);
    return acc;
}

void urc_tile_gemm_pipeline(urc_kernel *k, urc_ls *at, const urc_tile_gemm *g, urc_lx *i0, int var, int64_t nb,
                            const urc_target *tg, urc_tile_gemm_epi epi, const void *ctx) {
    urc_tiles t;
    int apad, acc = setup(k, at, g, tg, 2, &t, &apad);
    urc_ls *body = urc_ls_for(at, var, urc_lx_int(0), urc_lx_int(nb + 1), 1, 0);
    urc_lx *b = urc_lx_var(k, var),
           *h = urc_lx_var(k, urc_ls_let(k, body, "h", URC_DT_I64, bin(URC_L_REM, b, urc_lx_int(2))));
    products(k, urc_ls_if(body, bin(URC_L_LT, b, urc_lx_int(nb)), NULL), g, i0, &t, apad);
    epi(ctx, urc_ls_if(body, bin(URC_L_GT, b, urc_lx_int(0)), NULL), urc_addi(b, -1), acc,
        urc_muli(urc_sub(urc_lx_int(1), h), 32 * 32));
    store(k, urc_ls_if(body, bin(URC_L_LT, b, urc_lx_int(nb)), NULL), &t, acc, urc_muli(h, 32 * 32));
    urc_tiles_release(at, &t);
}
