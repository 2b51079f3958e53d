/* tile_gemm.h: one 32 x 32 block of a product on AMX tiles (loop/tiles.h), shared by the matmuls
 * (matmul.c) and the transposed convolutions with kernel = stride (conv_direct.c). */
#ifndef URC_OPS_TILE_GEMM_H
#define URC_OPS_TILE_GEMM_H

#include "../loop/lower.h"

typedef struct urc_tile_gemm {
    int a; /* A: bfloat16, rows lda elements apart, element (0, 0) at abase; M rows, K columns */
    urc_lx *abase;
    int64_t lda, M, K;
    int b; /* B: uint32 bf16 pairs along k, bp[Kp/2][32] from bbase (Kp = K rounded up to 32, zero past K) */
    urc_lx *bbase;
    bool split; /* A float32 instead, multiplied as its bf16 high and low parts (through the padded copy) */
} urc_tile_gemm;

/* Appends to `at` (the body of a work item of the caller's parallel loop) acc[32][32] = rows [i0, i0 + 32) of A
 * times the 32 columns of B, float32 accumulation, and returns the local array acc (declared in `at`). A row
 * block past M or a k chunk past K reads A through a zero-padded local copy of its 32 x 32 block. */
int urc_tile_gemm_block(urc_kernel *k, urc_ls *at, const urc_tile_gemm *g, urc_lx *i0, const urc_target *tg);

/* The packed B's layout: panels of 32 columns, and uint32 pairs per panel (Kp/2 rows of 32). */
static inline int64_t urc_tile_gemm_panels(int64_t N) { return (N + 31) / 32; }
static inline int64_t urc_tile_gemm_panel_pairs(int64_t K) { return (K + 31) / 32 * 16 * 32; }

/* Packs nb float32 matrices K x N (matrix b's element (kk, n) at w[b*K*N + kk*sk + n*sn]) for
 * urc_tile_gemm_block: panels of 32 columns, Bt[b][p][Kp/2][32] pairs (zero past K and N), a constant of k;
 * returns its buffer. */
int urc_tile_gemm_pack(urc_lower *L, urc_kernel *k, const char *hint, const float *w, int64_t nb, int64_t K, int64_t N,
                       int64_t sk, int64_t sn);

#endif
