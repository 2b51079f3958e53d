/* bf16_dot.c: what AVX512-BF16 (vdpbf16ps) could give unetrc's matrix
 * products on this CPU, against the float32 FMA micro-kernel they run today.
 *
 *   gcc -O3 -march=native -o bf16_dot bench/kernels/bf16_dot.c && ./bf16_dot [M K N] [REPS]
 *
 * One thread. C[M,N] = A[M,K] B[K,N] with B packed in panels of 32 columns
 * (as unetrc packs constant weights), a 6 x 32 register tile (12 zmm
 * accumulators), A broadcast element by element:
 *   f32:  acc += bcast(A[m,k]) * B[k, n..n+31]                 (16 MACs per FMA)
 *   bf16: acc += bcast(A[m,k], A[m,k+1]) . (B[k,n+i], B[k+1,n+i])  (32 MACs per vdpbf16ps)
 * bf16 rounds A and B to bf16 (round to nearest even) and accumulates in
 * float32: the numerics OpenVINO's default runs at on this CPU. Prints the
 * time and GFLOP/s of each and the max error of each against a float64
 * reference, relative to max|C|. Default shape: UNETR's MLP up-projection
 * (216 tokens, 768 -> 3072). Exits 77 without avx512bf16. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MR 6
#define NR 32

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even (finite inputs) */
    return (uint16_t)(u >> 16);
}

/* The first mr rows of a 6 x 32 tile of accumulators into C[m0.., n0..] (row length N). */
static void store_tile(float *C, int N, int m0, int n0, int mr, __m512 acc[MR][2]) {
    for (int i = 0; i < mr; i++) {
        _mm512_storeu_ps(C + (size_t)(m0 + i) * N + n0, acc[i][0]);
        _mm512_storeu_ps(C + (size_t)(m0 + i) * N + n0 + 16, acc[i][1]);
    }
}

/* f32: Bp[panel][k][32] */
static void gemm_f32(int M, int K, int N, const float *A, const float *Bp, float *C) {
    for (int n0 = 0; n0 < N; n0 += NR) {
        const float *bp = Bp + (size_t)n0 * K;
        for (int m0 = 0; m0 < M; m0 += MR) {
            int mr = M - m0 < MR ? M - m0 : MR;
            __m512 acc[MR][2];
            for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
            for (int k = 0; k < K; k++) {
                __m512 b0 = _mm512_loadu_ps(bp + (size_t)k * NR), b1 = _mm512_loadu_ps(bp + (size_t)k * NR + 16);
                for (int i = 0; i < MR; i++) {
                    __m512 a = _mm512_set1_ps(A[(size_t)(m0 + (i < mr ? i : 0)) * K + k]);
                    acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
                    acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
                }
            }
            store_tile(C, N, m0, n0, mr, acc);
        }
    }
}

/* bf16: Bp[panel][k/2][32 columns][2]; A as bf16 pairs (K even) */
static void gemm_bf16(int M, int K, int N, const uint16_t *A, const uint16_t *Bp, float *C) {
    for (int n0 = 0; n0 < N; n0 += NR) {
        const uint16_t *bp = Bp + (size_t)n0 * K;
        for (int m0 = 0; m0 < M; m0 += MR) {
            int mr = M - m0 < MR ? M - m0 : MR;
            __m512 acc[MR][2];
            for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
            for (int k = 0; k < K; k += 2) {
                __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + (size_t)k * NR);
                __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + (size_t)k * NR + 32);
                for (int i = 0; i < MR; i++) {
                    uint32_t pair;
                    memcpy(&pair, A + (size_t)(m0 + (i < mr ? i : 0)) * K + k, 4);
                    __m512bh a = (__m512bh)_mm512_set1_epi32((int)pair);
                    acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
                    acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
                }
            }
            store_tile(C, N, m0, n0, mr, acc);
        }
    }
}

static double max_err(int M, int N, const double *ref, const float *c) {
    double e = 0, r = 0;
    for (size_t i = 0; i < (size_t)M * N; i++) {
        e = fmax(e, fabs(ref[i] - c[i]));
        r = fmax(r, fabs(ref[i]));
    }
    return e / (r ? r : 1);
}

int main(int argc, char **argv) {
    if (!__builtin_cpu_supports("avx512bf16")) {
        puts("bf16_dot: skipped (no avx512bf16 on this CPU)");
        return 77;
    }
    int M = argc > 3 ? atoi(argv[1]) : 216, K = argc > 3 ? atoi(argv[2]) : 768, N = argc > 3 ? atoi(argv[3]) : 3072;
    int reps = argc > 4 ? atoi(argv[4]) : argc == 2 ? atoi(argv[1]) : 20;
    if (M < 1 || K < 2 || K % 2 || N < NR || N % NR || reps < 1) {
        fprintf(stderr, "bf16_dot: M >= 1, K even, N a multiple of %d\n", NR);
        return 2;
    }
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *Bp = aligned_alloc(64, sizeof(float) * K * N), *C = malloc(sizeof(float) * M * N);
    uint16_t *Ah = malloc(2u * M * K), *Bh = aligned_alloc(64, 2u * K * N);
    double *ref = calloc((size_t)M * N, sizeof(double));
    srand(1);
    for (int i = 0; i < M * K; i++) A[i] = (float)rand() / RAND_MAX * 2 - 1;
    for (int i = 0; i < K * N; i++) B[i] = ((float)rand() / RAND_MAX * 2 - 1) / sqrtf((float)K);
    for (int i = 0; i < M * K; i++) Ah[i] = to_bf16(A[i]);
    for (int n0 = 0; n0 < N; n0 += NR)
        for (int k = 0; k < K; k++)
            for (int j = 0; j < NR; j++) {
                Bp[(size_t)n0 * K + (size_t)k * NR + j] = B[(size_t)k * N + n0 + j];
                Bh[(size_t)n0 * K + (size_t)(k / 2) * 2 * NR + 2 * j + (k & 1)] = to_bf16(B[(size_t)k * N + n0 + j]);
            }
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++)
            for (int n = 0; n < N; n++) ref[(size_t)m * N + n] += (double)A[(size_t)m * K + k] * B[(size_t)k * N + n];
    double flops = 2.0 * M * K * N, best[2] = {1e30, 1e30}, err[2];
    for (int v = 0; v < 2; v++) {
        for (int r = 0; r < reps; r++) {
            double t = now();
            if (v) gemm_bf16(M, K, N, Ah, Bh, C);
            else gemm_f32(M, K, N, A, Bp, C);
            t = now() - t;
            if (t < best[v]) best[v] = t;
        }
        err[v] = max_err(M, N, ref, C);
    }
    printf("bf16_dot M=%d K=%d N=%d, 1 thread, best of %d\n", M, K, N, reps);
    printf("f32  (vfmadd231ps): %8.3f ms %7.1f GFLOP/s  max err %.1e\n", best[0] * 1e3, flops / best[0] / 1e9, err[0]);
    printf("bf16 (vdpbf16ps):   %8.3f ms %7.1f GFLOP/s  max err %.1e\n", best[1] * 1e3, flops / best[1] / 1e9, err[1]);
    printf("bf16 / f32 time: %.2f\n", best[1] / best[0]);
    return 0;
}
