/* conv3d_proto.c: standalone prototype of the channels-last (NDHWC) direct
 * 3-D convolution that ops/conv.c emits through the loop IR.
 *
 * Written the way the C printer spells loop programs: flat restrict
 * buffers, a small local accumulator array, fully unrolled voxel loops
 * (URC_UNROLL) around constant-length vector-lane loops (omp simd).
 *
 *   cc -O3 -march=native -mprefer-vector-width=512 -fopenmp \
 *      -DC_IN=32 -DM_OUT=32 -DWB=12 -DMB=32 bench/kernels/conv3d_proto.c -o /tmp/p -lm
 *      -DS=96 (cube size)
 *   taskset -c 1 /tmp/p [runs]
 *
 * Weights are packed [M/MB][kd][kh][kw][C][MB]; accumulators cover WB
 * output voxels along W times MB output channels. Borders: taps along D
 * and H are clamped per output row; along W the interior is split from the
 * border voxels (computed one at a time with clamped taps).
 *
 * Tried and removed (was conv3d_proto_kw.c): letting the W taps share the
 * input broadcasts (stride 1 along W: WB + K - 1 broadcasts and K weight
 * vectors per input channel instead of K*WB broadcasts, weights packed
 * [M/MB][kd][kh][C][kw][MB]). No gain at 96^3 on one thread (16->16 149,
 * 32->16 139, 32->32 152 GFLOP/s against 143-165 here): gcc keeps the
 * broadcast addresses in registers; the broadcast count is not the limit. */
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
#if defined(__clang__)
#define URC_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define URC_UNROLL _Pragma("GCC unroll 32")
#else
#define URC_UNROLL
#endif

#ifndef C_IN
#define C_IN 32
#endif
#ifndef M_OUT
#define M_OUT 32
#endif
#ifndef WB
#define WB 12
#endif
#ifndef MB
#define MB 16
#endif
#define K 3
#define P 1

typedef int32_t urc_idx;
static inline urc_idx imax(urc_idx a, urc_idx b) { return a > b ? a : b; }
static inline urc_idx imin(urc_idx a, urc_idx b) { return a < b ? a : b; }

#ifndef S
#define S 96 /* spatial size (cube) */
#endif
#define NINT ((S - 2 * P) / WB * WB)
#define REM ((S - 2 * P) % WB)

/* one block of NV voxels starting at ow0 with kw taps [kwlo, kwhi) */
#define BLOCK(NV, KWLO, KWHI)                                                                                          \
    {                                                                                                                  \
        _Alignas(64) float acc[(NV)*MB];                                                                               \
        URC_UNROLL for (urc_idx v = 0; v < (NV); v++) URC_OMP(simd) for (urc_idx l = 0; l < MB; l++) acc[v * MB + l] = \
            b[mb * MB + l];                                                                                            \
        for (urc_idx kd = kdlo; kd < kdhi; kd++)                                                                       \
            for (urc_idx kh = khlo; kh < khhi; kh++)                                                                   \
                for (urc_idx kw = (KWLO); kw < (KWHI); kw++) {                                                         \
                    const urc_idx xb = (((od + kd - P) * S + (oh + kh - P)) * S + (ow0 + kw - P)) * C_IN;              \
                    const urc_idx wb = (((mb * K + kd) * K + kh) * K + kw) * C_IN * MB;                                \
                    for (urc_idx c = 0; c < C_IN; c++) {                                                               \
                        URC_UNROLL for (urc_idx v = 0; v < (NV); v++) {                                                \
                            float xv = x[xb + v * C_IN + c];                                                           \
                            URC_OMP(simd) for (urc_idx l = 0; l < MB; l++) acc[v * MB + l] += xv * w[wb + c * MB + l]; \
                        }                                                                                              \
                    }                                                                                                  \
                }                                                                                                      \
        URC_UNROLL for (urc_idx v = 0; v < (NV); v++) URC_OMP(simd) for (urc_idx l = 0; l < MB; l++)                   \
            y[(((od * S + oh) * S + ow0 + v) * M_OUT) + mb * MB + l] = acc[v * MB + l];                                \
    }

static void conv(const float *restrict x, const float *restrict w, const float *restrict b, float *restrict y) {
    URC_OMP(parallel for collapse(2) schedule(static))
    for (urc_idx od = 0; od < S; od++)
        for (urc_idx oh = 0; oh < S; oh++) {
            urc_idx kdlo = imax(0, P - od), kdhi = imin(K, S + P - od);
            urc_idx khlo = imax(0, P - oh), khhi = imin(K, S + P - oh);
            for (urc_idx mb = 0; mb < M_OUT / MB; mb++) {
                for (urc_idx ow0 = 0; ow0 < P; ow0++) BLOCK(1, P - ow0, K)
                for (urc_idx ow0 = P; ow0 < P + NINT; ow0 += WB)
                    BLOCK(WB, 0, K)
#if REM
                    {
                        urc_idx ow0 = P + NINT;
                        BLOCK(REM, 0, K)
                    }
#endif
                for (urc_idx ow0 = S - P; ow0 < S; ow0++) BLOCK(1, 0, S + P - ow0)
            }
        }
}

/* reference: NDHWC, ONNX weights [M][C][K][K][K] */
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
                                    acc += (double)x[((id * S + ih) * S + iw) * C_IN + c] *
                                           w[(((m * C_IN + c) * K + kd) * K + kh) * K + kw];
                            }
                    y[((od * S + oh) * S + ow) * M_OUT + m] = (float)acc;
                }
}

/* Single thread: the thread's CPU time (robust when the core is shared);
 * with OpenMP threads: wall time. */
static double now(void) {
    struct timespec t;
#ifdef _OPENMP
    clock_gettime(omp_get_max_threads() > 1 ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &t);
#else
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
#endif
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    size_t nx = (size_t)S * S * S * C_IN, ny = (size_t)S * S * S * M_OUT, nw = (size_t)M_OUT * C_IN * K * K * K;
    float *x = aligned_alloc(64, nx * 4), *w = malloc(nw * 4), *wp = aligned_alloc(64, nw * 4 + 64),
          *b = malloc(M_OUT * 4);
    float *y = aligned_alloc(64, ny * 4);
    srand(1);
    for (size_t i = 0; i < nx; i++) x[i] = (float)rand() / RAND_MAX - 0.5f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < M_OUT; i++) b[i] = (float)i;
    /* pack [M/MB][kd][kh][kw][C][MB] */
    for (int m = 0; m < M_OUT; m++)
        for (int c = 0; c < C_IN; c++)
            for (int t = 0; t < K * K * K; t++)
                wp[(((size_t)(m / MB) * K * K * K + t) * C_IN + c) * MB + m % MB] =
                    w[((size_t)m * C_IN + c) * K * K * K + t];
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
    double flops = 2.0 * S * S * S * (double)M_OUT * C_IN * 27;
    printf("C=%d M=%d WB=%d MB=%d S=%d: %.2f ms, %.1f GFLOP/s\n", C_IN, M_OUT, WB, MB, S, best * 1e3,
           flops / best * 1e-9);
    return 0;
}
