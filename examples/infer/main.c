/* examples/infer: run a compiled segmentation network on one volume.
 *
 *   unetrc models/unetr_conv_tiny.onnx -o out/seg.c
 *   cc -O2 -fopenmp -Iout -Iruntime/include examples/infer/main.c out/seg.c \
 *      runtime/src/weights.c runtime/src/npy.c -lm -o out/infer
 *   out/infer out/seg.weights input.npy labels.npy
 *
 * Reads the weights blob and a float32 .npy volume of the model's input
 * shape, runs seg_forward, writes the logits and prints how many voxels
 * each class wins (argmax over channels). All memory is static: sizes come
 * from the macros of seg.h. */
#include <stdio.h>
#include <time.h>

#include "seg.h"
#include "unetrc.h"

static _Alignas(64) unsigned char blob[SEG_WEIGHTS_FILE_SIZE];
static _Alignas(64) unsigned char arena[SEG_ARENA_SIZE];
static float input[SEG_IN0_COUNT];
static float logits[SEG_OUT0_COUNT];

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s seg.weights input.npy [logits.npy]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    size_t n = f ? fread(blob, 1, sizeof blob, f) : 0;
    if (f) fclose(f);
    const void *weights;
    int st = unetrc_weights_open(blob, n, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM, &weights);
    if (st == UNETRC_OK) st = unetrc_npy_read_f32(argv[2], input, SEG_IN0_COUNT);
    if (st != UNETRC_OK) {
        fprintf(stderr, "infer: %s\n", unetrc_status_str(st));
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = seg_forward(weights, arena, input, logits);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != SEG_OK) {
        fprintf(stderr, "infer: seg_forward returned %d\n", st);
        return 1;
    }
    static const int64_t shape[] = SEG_OUT0_SHAPE;
    int64_t classes = shape[1], voxels = SEG_OUT0_COUNT / shape[1] / shape[0];
    printf("forward: %.1f ms, arena %lld bytes, weights %lld bytes\n",
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6, (long long)SEG_ARENA_SIZE,
           (long long)SEG_WEIGHTS_SIZE);
    for (int64_t c = 0; c < classes; c++) {
        int64_t won = 0;
        for (int64_t v = 0; v < voxels; v++) {
            int64_t best = 0;
            for (int64_t k = 1; k < classes; k++)
                if (logits[k * voxels + v] > logits[best * voxels + v]) best = k;
            won += best == c;
        }
        printf("class %lld: %lld voxels\n", (long long)c, (long long)won);
    }
    if (argc > 3 && (st = unetrc_npy_write_f32(argv[3], logits, shape, SEG_OUT0_RANK)) != UNETRC_OK) {
        fprintf(stderr, "infer: %s\n", unetrc_status_str(st));
        return 1;
    }
    return 0;
}
