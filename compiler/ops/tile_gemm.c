/* tile_gemm.c: a 32 x 32 block of C = A . B on AMX tiles (tile_gemm.h). C tiles [2][2] (16 x 16 float32)
 * += A tiles [2] (16 rows x 32 k) . B tiles [2] (16 pairs of k x 16 columns) for each chunk of 32 k (split: twice,
 * for A's high and low parts). */
#include "tile_gemm.h"

#include <stdlib.h>
#include <string.h>

#include "../loop/tiles.h"

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

/* One chunk of 32 k at k0: A read in place (direct) or through apad (rows past M and k past K zero; split: the
 * high parts in apad[0], the low ones in apad[1], each multiplied by the same B tiles). */
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
            urc_lx *hi = urc_lx_cast(URC_DT_BF16, x);
            urc_ls_store(b, apad, ai, hi);
            urc_ls_store(b, apad, urc_addi(ai, 32 * 32),
                         urc_lx_cast(URC_DT_BF16, urc_lx_bin(URC_L_SUB, x, urc_lx_cast(URC_DT_F32, hi))));
        } else {
            urc_ls_store(b, apad, ai, urc_lx_sel(in, a, urc_lx_const(0, URC_DT_BF16)));
        }
    }
    urc_lx *bk = urc_add(g->bbase, urc_muli(bin(URC_L_DIV, k0, urc_lx_int(2)), 32));
    for (int h = 0; h < 2; h++) urc_tiles_load(k, at, t, 6 + h, g->b, urc_addi(bk, 16 * h), urc_lx_int(32));
    for (int part = 0; part < (g->split ? 2 : 1); part++) {
        for (int r = 0; r < 2; r++) {
            if (direct)
                urc_tiles_load(k, at, t, 4 + r, g->a,
                               urc_add(urc_add(g->abase, urc_muli(urc_addi(i0, 16 * r), g->lda)), k0),
                               urc_lx_int(g->lda));
            else urc_tiles_load(k, at, t, 4 + r, apad, urc_lx_int((part * 2 + r) * 16 * 32), urc_lx_int(32));
        }
        for (int r = 0; r < 2; r++)
            for (int h = 0; h < 2; h++) urc_tiles_dpbf16(k, at, t, 2 * r + h, 4 + r, 6 + h);
    }
}

int urc_tile_gemm_block(urc_kernel *k, urc_ls *at, const urc_tile_gemm *g, urc_lx *i0, const urc_target *tg) {
    urc_tiles t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < 8; i++) {
        t.rows[i] = 16, t.colsb[i] = 64;
        t.dt[i] = i < 4 ? URC_DT_F32 : i < 6 ? URC_DT_BF16 : URC_DT_U32; /* C[r][h] = 2r + h, A[r], B[h] */
    }
    urc_tiles_config(k, at, &t, tg);
    int acc = urc_kernel_local(k, "acc", URC_DT_F32, 32 * 32);
    urc_ls_array(at, k, acc);
    int64_t Kp = (g->K + 31) / 32 * 32, Kf = g->K / 32 * 32;
    bool rows_part = g->M % 32 != 0, k_part = Kf < g->K;
    int apad =
        rows_part || k_part || g->split ? urc_kernel_local(k, "apad", URC_DT_BF16, (g->split ? 2 : 1) * 32 * 32) : -1;
    if (apad >= 0) urc_ls_array(at, k, apad);
    for (int i = 0; i < 4; i++) urc_tiles_zero(k, at, &t, i);
    /* full row blocks read A in place but for a last partial k chunk; the last, partial row block through apad */
    urc_ls *full = at, *part = NULL;
    if (g->M < 32 || g->split) full = NULL, part = at; /* (split: every chunk through apad) */
    else if (rows_part) full = urc_ls_if(at, bin(URC_L_LE, urc_addi(i0, 32), urc_lx_int(g->M)), &part);
    int vk = urc_kernel_var(k, "k0", URC_DT_I64);
    if (full && Kf) {
        urc_ls *kl = urc_ls_for(full, vk, urc_lx_int(0), urc_lx_int(Kf), 32, 0);
        chunk(k, kl, &t, g, i0, urc_lx_var(k, vk), apad, true);
    }
    if (full && k_part) chunk(k, full, &t, g, i0, urc_lx_int(Kf), apad, false);
    if (part) {
        urc_ls *kl = urc_ls_for(part, vk, urc_lx_int(0), urc_lx_int(Kp), 32, 0);
        chunk(k, kl, &t, g, i0, urc_lx_var(k, vk), apad, false);
    }
    for (int r = 0; r < 2; r++)
        for (int h = 0; h < 2; h++)
            urc_tiles_store(k, at, &t, 2 * r + h, acc, urc_lx_int(16 * r * 32 + 16 * h), urc_lx_int(32));
    urc_tiles_release(at, &t);
    return acc;
}
