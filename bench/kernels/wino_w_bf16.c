/* wino_w_bf16.c: would Winograd along W alone pay for UNETR's full-resolution 16 -> 16 convolutions
 * with bf16 pair products (vdpbf16ps)?
 *
 *   gcc -O3 -march=native -o wino_w bench/kernels/wino_w_bf16.c -lm && ./wino_w [S] [REPS]
 *
 * One thread, a 3x3x3 convolution of 16 -> 16 channels over S^3 voxels (default 96, UNETR 96^3's
 * encoder1/decoder2 convolutions), channels-last, zero padding 1, X and W rounded to bf16:
 *   direct:  acc[v] += bcast(X pair) . W pairs over 27 taps x 8 channel pairs, 8 output voxels along W
 *            in registers (what unetrc's direct pair kernel does): 27 * 16 * 16 MACs per voxel;
 *   wino-W:  F(2,3) along W only: the input rows transformed once (B^T d of 4 voxels per 2 outputs,
 *            rounded to bf16) into a buffer twice X's voxel count, then per output row 9 taps (kd, kh)
 *            x 4 transformed positions e x 8 channel pairs for TB tiles (4 TB zmm accumulators) and the
 *            output transform (y0 = m0 + m1 + m2, y1 = m1 - m2 - m3): 18 * 16 * 16 MACs per voxel
 *            (2/3 of direct), plus the transform pass.
 * Prints each time (the transform pass apart), GMAC/s of direct-equivalent work and the max
 * difference of each against a float64 reference on the bf16-rounded X and W, relative to max|y|.
 * Exits 77 without avx512bf16.
 *
 * Measured (2026-12-04, AMD EPYC Zen 4, one thread, best of 5, S = 96): direct 53.4-54.9 ms (111-115 GMAC/s,
 * the vdpbf16ps peak); wino-W 45.8-46.1 ms + the transform 3.4-3.8 ms = 49.2-49.8 ms, 1.08-1.10x direct
 * (TB 4 and 6 alike), at 2.9e-3 of max|y| against 2.2e-7 for direct (the transformed input rounded to bf16).
 * Its products run at ~78 % of the peak (two thirds of direct's work in 46 ms, not 36): at most ~10 % for
 * UNETR's 16 -> 16 convolutions, at a bf16 rounding's error, so unetrc keeps the direct pairs there. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define C 16
#define M 16
#ifndef TB
#define TB 6 /* tiles per register block (4 positions each): 24 accumulators */
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static uint16_t bf16(float f) { /* round to nearest even (finite inputs) */
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static float f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t pair(uint16_t lo, uint16_t hi) { return (uint32_t)lo | (uint32_t)hi << 16; }

int main(int argc, char **argv) {
    if (!__builtin_cpu_supports("avx512bf16")) {
        puts("no avx512bf16");
        return 77;
    }
    int S = argc > 1 ? atoi(argv[1]) : 96, reps = argc > 2 ? atoi(argv[2]) : 3;
    int P = S + 2; /* padded extent */
    int TW = S / 2;
    if (S % 2 || TW % TB) {
        fprintf(stderr, "S must be even and S/2 a multiple of TB (%d)\n", TB);
        return 2;
    }
    size_t nx = (size_t)P * P * P * C;
    uint16_t *x = calloc(nx, 2); /* padded X [P][P][P][C] in bf16, zero border */
    float w[M][C][27];
    srand(7);
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < 27; t++) w[m][c][t] = f32(bf16(((float)rand() / RAND_MAX - 0.5f) * 0.3f));
    for (int d = 1; d <= S; d++)
        for (int h = 1; h <= S; h++)
            for (int v = 1; v <= S; v++)
                for (int c = 0; c < C; c++)
                    x[(((size_t)d * P + h) * P + v) * C + c] = bf16((float)rand() / RAND_MAX * 2.0f - 1.0f);
    /* direct weights: wd[t][c/2][m] pairs along c */
    uint32_t *wd = aligned_alloc(64, 27 * C / 2 * M * 4);
    for (int t = 0; t < 27; t++)
        for (int c2 = 0; c2 < C / 2; c2++)
            for (int m = 0; m < M; m++)
                wd[(t * C / 2 + c2) * M + m] = pair(bf16(w[m][2 * c2][t]), bf16(w[m][2 * c2 + 1][t]));
    /* Winograd-W weights: U[kd*3 + kh][e][c/2][m] = G g along kw, pairs along c */
    uint32_t *wu = aligned_alloc(64, 9 * 4 * C / 2 * M * 4);
    for (int q = 0; q < 9; q++)
        for (int c2 = 0; c2 < C / 2; c2++)
            for (int m = 0; m < M; m++) {
                uint16_t u[2][4];
                for (int j = 0; j < 2; j++) {
                    const float *g = &w[m][2 * c2 + j][q * 3];
                    float ge[4] = {g[0], 0.5f * (g[0] + g[1] + g[2]), 0.5f * (g[0] - g[1] + g[2]), g[2]};
                    for (int e = 0; e < 4; e++) u[j][e] = bf16(ge[e]);
                }
                for (int e = 0; e < 4; e++) wu[((q * 4 + e) * C / 2 + c2) * M + m] = pair(u[0][e], u[1][e]);
            }
    size_t ny = (size_t)S * S * S * M;
    float *yd = aligned_alloc(64, ny * 4), *yw = aligned_alloc(64, ny * 4);
    /* transformed rows: xt[d][h][tile][e][c] for the padded d, h (bf16) */
    size_t nt = (size_t)P * P * TW * 4 * C;
    uint16_t *xt = aligned_alloc(64, nt * 2);
    double td = 1e30, tw = 1e30, tt = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int od = 0; od < S; od++)
            for (int oh = 0; oh < S; oh++)
                for (int ow = 0; ow < S; ow += 8) {
                    __m512 acc[8];
                    for (int v = 0; v < 8; v++) acc[v] = _mm512_setzero_ps();
                    for (int kd = 0; kd < 3; kd++)
                        for (int kh = 0; kh < 3; kh++)
                            for (int kw = 0; kw < 3; kw++) {
                                const uint16_t *xr = &x[(((size_t)(od + kd) * P + oh + kh) * P + ow + kw) * C];
                                const uint32_t *wr = &wd[((kd * 3 + kh) * 3 + kw) * C / 2 * M];
                                for (int c2 = 0; c2 < C / 2; c2++) {
                                    __m512bh wv = (__m512bh)_mm512_loadu_si512(&wr[c2 * M]);
                                    for (int v = 0; v < 8; v++) {
                                        uint32_t xp;
                                        memcpy(&xp, &xr[v * C + 2 * c2], 4);
                                        acc[v] = _mm512_dpbf16_ps(acc[v], (__m512bh)_mm512_set1_epi32((int)xp), wv);
                                    }
                                }
                            }
                    for (int v = 0; v < 8; v++) _mm512_storeu_ps(&yd[(((size_t)od * S + oh) * S + ow + v) * M], acc[v]);
                }
        double t1 = now();
        /* transform: tile t of row (d, h) reads padded voxels 2t .. 2t+3 */
        for (int d = 0; d < P; d++)
            for (int h = 0; h < P; h++)
                for (int t = 0; t < TW; t++) {
                    const uint16_t *xr = &x[(((size_t)d * P + h) * P + 2 * t) * C];
                    uint16_t *o = &xt[(((size_t)d * P + h) * TW + t) * 4 * C];
                    for (int c = 0; c < C; c++) {
                        float a0 = f32(xr[c]), a1 = f32(xr[C + c]), a2 = f32(xr[2 * C + c]), a3 = f32(xr[3 * C + c]);
                        o[c] = bf16(a0 - a2);
                        o[C + c] = bf16(a1 + a2);
                        o[2 * C + c] = bf16(a2 - a1);
                        o[3 * C + c] = bf16(a1 - a3);
                    }
                }
        double t2 = now();
        for (int od = 0; od < S; od++)
            for (int oh = 0; oh < S; oh++)
                for (int t0w = 0; t0w < TW; t0w += TB) {
                    __m512 acc[TB][4];
                    for (int t = 0; t < TB; t++)
                        for (int e = 0; e < 4; e++) acc[t][e] = _mm512_setzero_ps();
                    for (int q = 0; q < 9; q++) {
                        const uint16_t *xr = &xt[(((size_t)(od + q / 3) * P + oh + q % 3) * TW + t0w) * 4 * C];
                        for (int c2 = 0; c2 < C / 2; c2++)
                            for (int e = 0; e < 4; e++) {
                                __m512bh wv = (__m512bh)_mm512_loadu_si512(&wu[((q * 4 + e) * C / 2 + c2) * M]);
                                for (int t = 0; t < TB; t++) {
                                    uint32_t xp;
                                    memcpy(&xp, &xr[(t * 4 + e) * C + 2 * c2], 4);
                                    acc[t][e] = _mm512_dpbf16_ps(acc[t][e], (__m512bh)_mm512_set1_epi32((int)xp), wv);
                                }
                            }
                    }
                    for (int t = 0; t < TB; t++) {
                        float *y0 = &yw[(((size_t)od * S + oh) * S + 2 * (t0w + t)) * M];
                        _mm512_storeu_ps(y0, _mm512_add_ps(_mm512_add_ps(acc[t][0], acc[t][1]), acc[t][2]));
                        _mm512_storeu_ps(y0 + M, _mm512_sub_ps(_mm512_sub_ps(acc[t][1], acc[t][2]), acc[t][3]));
                    }
                }
        double t3 = now();
        if (t1 - t0 < td) td = t1 - t0;
        if (t2 - t1 < tt) tt = t2 - t1;
        if (t3 - t2 < tw) tw = t3 - t2;
    }
    /* float64 reference at a sample of voxels */
    double emax_d = 0, emax_w = 0, ymax = 0;
    for (int s = 0; s < 4096; s++) {
        int od = rand() % S, oh = rand() % S, ow = rand() % S, m = rand() % M;
        double ref = 0;
        for (int kd = 0; kd < 3; kd++)
            for (int kh = 0; kh < 3; kh++)
                for (int kw = 0; kw < 3; kw++)
                    for (int c = 0; c < C; c++)
                        ref += (double)f32(x[(((size_t)(od + kd) * P + oh + kh) * P + ow + kw) * C + c]) *
                               w[m][c][(kd * 3 + kh) * 3 + kw];
        size_t i = (((size_t)od * S + oh) * S + ow) * M + m;
        if (fabs(ref) > ymax) ymax = fabs(ref);
        if (fabs(yd[i] - ref) > emax_d) emax_d = fabs(yd[i] - ref);
        if (fabs(yw[i] - ref) > emax_w) emax_w = fabs(yw[i] - ref);
    }
    double gmac = (double)S * S * S * M * C * 27 * 1e-9;
    printf("16->16 3x3x3 at %d^3, one thread, best of %d: direct %.1f ms (%.1f GMAC/s); wino-W %.1f ms + transform "
           "%.1f ms = %.1f ms (%.2fx direct); max err vs float64: direct %.1e, wino-W %.1e of max|y|\n",
           S, reps, td * 1e3, gmac / td, tw * 1e3, tt * 1e3, (tw + tt) * 1e3, td / (tw + tt), emax_d / ymax,
           emax_w / ymax);
    return 0;
}
