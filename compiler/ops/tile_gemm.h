/* tile_gemm.h: one 32 x 32 block of a product on AMX tiles (loop/tiles.h), shared by the matmuls
 * (matmul.c) and the transposed convolutions with kernel = stride (conv_direct.c). */
#ifndef URC_OPS_TILE_GEMM_H
#define URC_OPS_TILE_GEMM_H

#include <stdlib.h>
#include <string.h>

#include "../loop/lower.h"

typedef struct urc_tile_gemm {
    int a; /* A: bfloat16, rows lda elements apart, element (0, 0) at abase; M rows, K columns */
    urc_lx *abase;
    int64_t lda, M, K;
    int b; /* B: uint32 bf16 pairs along k, bp[Kp/2][32] from bbase (Kp = K rounded up to 32, zero past K) */
    urc_lx *bbase;
    bool split; /* A float32 instead, multiplied as its bf16 high and low parts (through the padded copy) */
    bool q8;    /* int8 (tdpbusd): A uint8 levels with M and K multiples of 32 and 64 (the caller pads: no copy),
                 * B int8 quads bq[K/4][32][4] (urc_tile_gemm_pack8), acc int32 */
    bool quad;  /* int8 without AMX (VNNI: q8 too): K a multiple of 4 only, B the same quads as uint32 [K/4][32],
                 * multiplied by vpdpbusd (loop.h URC_LX_DOT4) in groups of rows whose sums stay in registers */
    /* bf16 products carried near float32 (ir.h urc_node.exact): */
    int64_t alo; /* > 0: A (bf16, read in place) has its low parts alo elements after its high ones, both multiplied */
    bool wlo;    /* B's low parts in buffer blo (the same layout), multiplied by A's high parts */
    int blo;
} urc_tile_gemm;

/* Appends to `at` (the body of a work item of the caller's parallel loop) acc[32][32] = rows [i0, i0 + 32) of A
 * times the 32 columns of B, float32 accumulation (q8: int32, exact), and returns the local array acc (declared in
 * `at`). A row block past M or a k chunk past K reads A through a zero-padded local copy of its 32 x 32 block.
 * quad: no tiles (the sums of DOT4 lanes). */
int urc_tile_gemm_block(urc_kernel *k, urc_ls *at, const urc_tile_gemm *g, urc_lx *i0, const urc_target *tg);
/* Pipelined (not quad): nb blocks in `at` (a work item's body) under one tile configuration, through a loop over
 * the kernel variable var that runs one block further: block var's products (g and i0 may read var) into one half of
 * a local acc[2][32 * 32], then block var - 1's epilogue, epi(ctx, its statements, var - 1, acc, the first element of
 * its half), while those products run, then block var's tiles stored. */
typedef void (*urc_tile_gemm_epi)(const void *ctx, urc_ls *at, urc_lx *block, int acc, urc_lx *ao);
void urc_tile_gemm_pipeline(urc_kernel *k, urc_ls *at, const urc_tile_gemm *g, urc_lx *i0, int var, int64_t nb,
                            const urc_target *tg, urc_tile_gemm_epi epi, const void *ctx);

/* Whether the tile kernels run a block's epilogue during the next block's products (the convolutions' tile_block,
 * the ConvTransposes and matmuls through urc_tile_gemm_pipeline); UNETRC_AMX_PIPE=0 in the compiler's environment: each
 * after its own products (comparisons: the same bits). */
static inline bool urc_amx_pipe(void) {
    const char *e = getenv("UNETRC_AMX_PIPE");
    return !(e && !strcmp(e, "0"));
}

/* The packed B's layout: panels of 32 columns, and uint32 pairs per panel (Kp/2 rows of 32). */
static inline int64_t urc_tile_gemm_panels(int64_t N) { return (N + 31) / 32; }
static inline int64_t urc_tile_gemm_panel_pairs(int64_t K) { return (K + 31) / 32 * 16 * 32; }

/* Packs nb float32 matrices K x N (matrix b's element (kk, n) at w[b*K*N + kk*sk + n*sn]) for
 * urc_tile_gemm_block: panels of 32 columns, Bt[b][p][Kp/2][32] pairs (zero past K and N), a constant of k;
 * returns its buffer. */
int urc_tile_gemm_pack(urc_lower *L, urc_kernel *k, const char *hint, const float *w, int64_t nb, int64_t K, int64_t N,
                       int64_t sk, int64_t sn);

/* int8: nb = 1 matrix of W's levels (integers in [-127, 127], element (kk, n) at w[kk*sk + n*sn]) as panels of
 * 32 columns of int8 quads, Bq[p][Kp/4][32][4] with Kp = K rounded up to 64 (quad: to 4; zeros past K and N),
 * an int8 buffer (quad: uint32, a quad per element); colsum[n] (N of them) gets the sum of column n's levels.
 * Returns its buffer. */
static inline int64_t urc_tile_gemm_k8(int64_t K, bool quad) { return quad ? (K + 3) / 4 * 4 : (K + 63) / 64 * 64; }
static inline int64_t urc_tile_gemm_panel_bytes8(int64_t K, bool quad) { return urc_tile_gemm_k8(K, quad) * 32; }
/* int8: in `at` (the body of the caller's loop over rows r of the padded A), row r of A's levels for q8:
 * dst[drow + j] = clamp(rne(x / s), lo, hi) - lo of x = src[srow + j] for j < K where r < R, else 0 (up to Kp). */
void urc_tile_gemm_levels(urc_kernel *k, urc_ls *at, urc_lx *r, int64_t R, int src, urc_lx *srow, int dst, urc_lx *drow,
                          int64_t K, int64_t Kp, urc_fq fq);
/* Into `at`: float32 x's bf16 parts, bf16(x) at dst[idx] and bf16(x - bf16(x)) at dst[idx + lo] (the split form's,
 * urc_node.exact's and the patch embeddings' two planes; x used twice: a variable or a load). */
void urc_tile_gemm_split_store(urc_kernel *k, urc_ls *at, int dst, urc_lx *idx, int64_t lo, urc_lx *x);
/* bf16 near float32 (urc_tile_gemm alo): in `at` (the body of the caller's loop over rows r of the padded A), row r of
 * float32 A's high and low bf16 parts: dst[drow + j] = bf16(x), dst[drow + lo + j] = bf16(x - bf16(x)) of
 * x = src[srow + j] for j < K where r < R, else 0 (up to Kp). */
void urc_tile_gemm_parts(urc_kernel *k, urc_ls *at, urc_lx *r, int64_t R, int src, urc_lx *srow, int dst, urc_lx *drow,
                         int64_t lo, int64_t K, int64_t Kp);
/* int8: the constant lo * sums[j] (the levels' sums of W's column j, for the zero point of A's levels) for j < n,
 * zeros up to count, int32; and the epilogue's float32 value of a column's int32 sum of level products,
 * (sum + corr[col]) * s_w[col] (bs: urc_lower_wscale) * s_a. */
int urc_tile_gemm_corr(urc_lower *L, urc_kernel *k, const int64_t *sums, int64_t n, int64_t count, urc_fq fq);
urc_lx *urc_tile_gemm_dequant(const urc_kernel *k, urc_lx *sum, int bcorr, int bs, urc_lx *col, urc_fq fq);
int urc_tile_gemm_pack8(urc_lower *L, urc_kernel *k, const char *hint, const float *w, int64_t K, int64_t N, int64_t sk,
                        int64_t sn, int64_t *colsum, bool quad);

#endif
