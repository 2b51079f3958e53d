#!/bin/bash
# conv_bench.sh UNETRC OP C M S [K STRIDE PAD NSP BIAS] -- times the one
# Conv/ConvTranspose/MaxPool/AveragePool kernel of a generated single-op model (without the
# layout transposes around it). Env: THREADS (1), RUNS (5), CORE (1 when
# THREADS=1), CFLAGS. Prints ms and GFLOP/s (2 * MACs / time); with more
# threads also the busiest thread's CPU time (what the wall time would be on
# otherwise idle cores: the machine is shared).
set -e
UNETRC=$1; shift
DIR=$(mktemp -d /tmp/convbench.XXXXXX)
trap 'rm -rf $DIR' EXIT
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PY:-/opt/venv/bin/python}
$PY "$HERE/make_conv_model.py" $DIR/m.onnx "$@"
$UNETRC $DIR/m.onnx -o $DIR/m.c ${UNETRC_FLAGS:-}
KNAME=$(echo $1 | tr 'A-Z' 'a-z')
CALL=$(grep -E "^    k[0-9]+_$KNAME\(" $DIR/m.c | head -1)
cat > $DIR/h.c <<EOC
#define _GNU_SOURCE
#include "m.c"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <omp.h>
static double now(void) {
    struct timespec t;
    clock_gettime(omp_get_max_threads() > 1 ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
/* CPU time of each OpenMP thread (pool threads persist between regions) */
static double cpu[64];
static void thread_cpu(void) {
    URC_OMP(parallel) {
        struct timespec t;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        cpu[omp_get_thread_num()] = t.tv_sec + 1e-9 * t.tv_nsec;
    }
}
int main(int argc, char **argv) {
    int runs = atoi(argv[2]);
    unsigned char *W = aligned_alloc(64, M_WEIGHTS_SIZE + 64), *A = aligned_alloc(64, M_ARENA_SIZE + 64);
    FILE *f = fopen(argv[1], "rb");
    fseek(f, 64, SEEK_SET);
    if (fread(W, 1, M_WEIGHTS_SIZE, f) != M_WEIGHTS_SIZE) return 1;
    fclose(f);
    for (long i = 0; i < M_ARENA_SIZE / 4; i++) ((float *)A)[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    float *in_x = aligned_alloc(64, M_IN0_COUNT * 4 + 64), *out_y = aligned_alloc(64, M_OUT0_COUNT * 4 + 64);
    for (long i = 0; i < M_IN0_COUNT; i++) in_x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    (void)out_y;
    $CALL
    double best = 1e30, best_cpu = 1e30;
    int nt = omp_get_max_threads();
    for (int r = 0; r < runs; r++) {
        double c0[64];
        thread_cpu();
        for (int i = 0; i < nt; i++) c0[i] = cpu[i];
        double t0 = now();
        $CALL
        double t = now() - t0;
        thread_cpu();
        double mx = 0;
        for (int i = 0; i < nt; i++) mx = cpu[i] - c0[i] > mx ? cpu[i] - c0[i] : mx;
        if (t < best) best = t;
        if (mx < best_cpu) best_cpu = mx;
    }
    if (nt > 1) /* with OMP_WAIT_POLICY=passive: the busiest thread's CPU time, the wall time on idle cores */
        printf("[%d threads: busiest thread CPU %.3f ms = %.1f GFLOP/s] ", nt, best_cpu * 1e3, 2.0 * M_MACS / best_cpu * 1e-9);
    printf("%8.3f ms %7.1f GFLOP/s %6.1f GB/s (X+Y)\n", best * 1e3, 2.0 * M_MACS / best * 1e-9, 4.0 * (M_IN0_COUNT + M_OUT0_COUNT) / best * 1e-9);
    return 0;
}
EOC
gcc ${CFLAGS:--std=c11 -O3 -march=native -mprefer-vector-width=512 -fopenmp} -I$DIR $DIR/h.c -o $DIR/h -lm
T=${THREADS:-1}
if [ "$T" = 1 ]; then PIN="taskset -c ${CORE:-1}"; else PIN=""; fi
printf "%-14s C=%-4s M=%-4s S=%-3s %s: " "$1" "$2" "$3" "$4" "${*:5}"
OMP_WAIT_POLICY=passive OMP_NUM_THREADS=$T $PIN $DIR/h $DIR/m.weights ${RUNS:-5}
