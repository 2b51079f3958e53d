/* conv3d_proto_kw.c: variant of conv3d_proto.c where the W taps share the
 * input broadcasts (stride 1 along W): input voxel u of a block feeds
 * outputs v = u - kw for every kw, so per input channel the block loads
 * WB + K - 1 broadcasts and K weight vectors for K*WB vector FMAs (instead
 * of K*WB broadcasts). Weights packed [M/MB][kd][kh][C][kw][MB].
 *
 *   cc -O3 -march=native -mprefer-vector-width=512 -fopenmp -DS=96 -DC_IN=16 \
 *      -DM_OUT=16 -DWB=12 -DMB=16 bench/kernels/conv3d_proto_kw.c -o /tmp/pk -lm
 *   taskset -c 1 /tmp/pk [runs]
 * Interior blocks only get the shared form here; border voxels (first and
 * last of a row) run one at a time.
 *
 * Result (96^3, one thread, core 1): no gain over conv3d_proto.c / the
 * generated kernel (16->16 149, 32->16 139, 32->32 152 GFLOP/s vs 143-165):
 * gcc keeps the 14 broadcast addresses in registers and shuffles the
 * accumulators; the broadcast count is not what limits the simple form. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#define URC_PRAGMA(x) _Pragma(#x)
#define URC_OMP(x) URC_PRAGMA(omp x)
#else
#define URC_OMP(x)
#endif
#define URC_UNROLL _Pragma("GCC unroll 32")
#ifdef FP_FAST_FMAF
#define URC_FMAF(a, b, c) fmaf(a, b, c)
#else
#define URC_FMAF(a, b, c) ((a) * (b) + (c))
#endif
#ifndef S
#define S 96
#endif
#ifndef C_IN
#define C_IN 16
#endif
#ifndef M_OUT
#define M_OUT 16
#endif
#ifndef WB
#define WB 12
#endif
#ifndef MB
#define MB 16
#endif
#define K 3
#define P 1
#define NINT ((S - 2 * P) / WB * WB)
#define REM ((S - 2 * P) % WB)
typedef int32_t urc_idx;
static inline urc_idx imax(urc_idx a, urc_idx b) { return a > b ? a : b; }
static inline urc_idx imin(urc_idx a, urc_idx b) { return a < b ? a : b; }

/* interior block: NV voxels from ow0, all W taps valid */
#define BLOCK(NV)                                                                                   \
    {                                                                                               \
        _Alignas(64) float acc[(NV) * MB];                                                          \
        URC_UNROLL for (urc_idx v = 0; v < (NV); v++) URC_OMP(simd) for (urc_idx l = 0; l < MB; l++) \
            acc[v * MB + l] = b[mb * MB + l];                                                       \
        for (urc_idx kd = kdlo; kd < kdhi; kd++)                                                    \
            for (urc_idx kh = khlo; kh < khhi; kh++) {                                              \
                const urc_idx xb = (((od + kd - P) * S + (oh + kh - P)) * S + (ow0 - P)) * C_IN;    \
                const urc_idx wb = ((mb * K + kd) * K + kh) * C_IN * K * MB;                        \
                for (urc_idx c = 0; c < C_IN; c++) {                                                \
                    URC_UNROLL for (urc_idx u = 0; u < (NV) + K - 1; u++) {                         \
                        float xv = x[xb + u * C_IN + c];                                            \
                        URC_UNROLL for (urc_idx kw = 0; kw < K; kw++) {                             \
                            if (u - kw >= 0 && u - kw < (NV)) {                                     \
                                URC_OMP(simd) for (urc_idx l = 0; l < MB; l++)                      \
                                    acc[(u - kw) * MB + l] =                                        \
                                        URC_FMAF(xv, w[wb + (c * K + kw) * MB + l], acc[(u - kw) * MB + l]); \
                            }                                                                       \
                        }                                                                           \
                    }                                                                               \
                }                                                                                   \
            }                                                                                       \
        URC_UNROLL for (urc_idx v = 0; v < (NV); v++) URC_OMP(simd) for (urc_idx l = 0; l < MB; l++) \
            y[(((od * S + oh) * S + ow0 + v) * M_OUT) + mb * MB + l] = acc[v * MB + l];             \
    }

/* one border voxel ow0 with kw in [KWLO, KWHI) */
#define VOXEL(KWLO, KWHI)                                                                           \
    {                                                                                               \
        _Alignas(64) float acc[MB];                                                                 \
        URC_OMP(simd) for (urc_idx l = 0; l < MB; l++) acc[l] = b[mb * MB + l];                     \
        for (urc_idx kd = kdlo; kd < kdhi; kd++)                                                    \
            for (urc_idx kh = khlo; kh < khhi; kh++)                                                \
                for (urc_idx kw = (KWLO); kw < (KWHI); kw++) {                                      \
                    const urc_idx xb = (((od + kd - P) * S + (oh + kh - P)) * S + (ow0 + kw - P)) * C_IN; \
                    const urc_idx wb = ((mb * K + kd) * K + kh) * C_IN * K * MB;                    \
                    for (urc_idx c = 0; c < C_IN; c++) {                                            \
                        float xv = x[xb + c];                                                       \
                        URC_OMP(simd) for (urc_idx l = 0; l < MB; l++) acc[l] = URC_FMAF(xv, w[wb + (c * K + kw) * MB + l], acc[l]); \
                    }                                                                               \
                }                                                                                   \
        URC_OMP(simd) for (urc_idx l = 0; l < MB; l++) y[(((od * S + oh) * S + ow0) * M_OUT) + mb * MB + l] = acc[l]; \
    }

static void conv(const float *restrict x, const float *restrict w, const float *restrict b, float *restrict y) {
    URC_OMP(parallel for collapse(2) schedule(static))
    for (urc_idx od = 0; od < S; od++)
        for (urc_idx oh = 0; oh < S; oh++) {
            urc_idx kdlo = imax(0, P - od), kdhi = imin(K, S + P - od);
            urc_idx khlo = imax(0, P - oh), khhi = imin(K, S + P - oh);
            for (urc_idx mb = 0; mb < M_OUT / MB; mb++) {
                { urc_idx ow0 = 0; VOXEL(1, K) }
                for (urc_idx ow0 = P; ow0 < P + NINT; ow0 += WB) BLOCK(WB)
#if REM
                { urc_idx ow0 = P + NINT; BLOCK(REM) }
#endif
                { urc_idx ow0 = S - 1; VOXEL(0, K - 1) }
            }
        }
}

static void ref(const float *x, const float *w, const float *b, float *y) {
    for (int od = 0; od < S; od++)
        for (int oh = 0; oh < S; oh++)
            for (int ow = 0; ow < S; ow++)
                for (int m = 0; m < M_OUT; m++) {
                    double acc = b[m];
                    for (int kd = 0; kd < K; kd++)
                        for (int kh = 0; kh < K; kh++)
                            for (int kw = 0; kw < K; kw++) {
                                int id = od + kd - P, ih = oh + kh - P, iw = ow + kw - P;
                                if (id < 0 || id >= S || ih < 0 || ih >= S || iw < 0 || iw >= S) continue;
                                for (int c = 0; c < C_IN; c++)
                                    acc += (double)x[((id * S + ih) * S + iw) * C_IN + c] * w[(((m * C_IN + c) * K + kd) * K + kh) * K + kw];
                            }
                    y[((od * S + oh) * S + ow) * M_OUT + m] = (float)acc;
                }
}

static double now(void) {
    struct timespec t;
    clock_gettime(omp_get_max_threads() > 1 ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    size_t nx = (size_t)S * S * S * C_IN, ny = (size_t)S * S * S * M_OUT, nw = (size_t)M_OUT * C_IN * K * K * K;
    float *x = aligned_alloc(64, nx * 4), *w = malloc(nw * 4), *wp = aligned_alloc(64, nw * 4 + 64), *b = malloc(M_OUT * 4);
    float *y = aligned_alloc(64, ny * 4);
    srand(1);
    for (size_t i = 0; i < nx; i++) x[i] = (float)rand() / RAND_MAX - 0.5f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < M_OUT; i++) b[i] = (float)i;
    /* pack [M/MB][kd][kh][C][kw][MB] */
    for (int m = 0; m < M_OUT; m++)
        for (int c = 0; c < C_IN; c++)
            for (int kd = 0; kd < K; kd++)
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++)
                        wp[(((((size_t)(m / MB) * K + kd) * K + kh) * C_IN + c) * K + kw) * MB + m % MB] =
                            w[(((size_t)m * C_IN + c) * K + kd) * K * K + kh * K + kw];
    conv(x, wp, b, y);
    if (S <= 32) {
        float *yr = malloc(ny * 4);
        ref(x, w, b, yr);
        double err = 0;
        for (size_t i = 0; i < ny; i++) err = fmax(err, fabs(yr[i] - y[i]));
        printf("max abs err %g\n", err);
        free(yr);
    }
    double best = 1e9;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        conv(x, wp, b, y);
        double t = now() - t0;
        if (t < best) best = t;
    }
    printf("kw-shared C=%d M=%d WB=%d MB=%d S=%d: %.2f ms, %.1f GFLOP/s\n", C_IN, M_OUT, WB, MB, S, best * 1e3,
           2.0 * S * S * S * (double)M_OUT * C_IN * 27 / best * 1e-9);
    return 0;
}
