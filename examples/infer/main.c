/* examples/infer: run a compiled segmentation network on one volume.
 *
 *   unetrc models/unetr_conv_tiny.onnx -o out/seg.c
 *   cc -O2 -fopenmp -Iout -Iruntime/include examples/infer/main.c out/seg.c \
 *      runtime/src/weights.c runtime/src/npy.c -lm -o out/infer
 *   out/infer out/seg.weights input.npy labels.npy
 *
 * Reads the weights blob (exactly this model's: checked size and checksum)
 * and a float32 .npy volume of exactly the model's input shape (a transposed
 * or reshaped array of the same size is refused), runs seg_forward, writes
 * the logits and prints how many voxels each class wins (argmax over
 * channels). All memory is static: sizes come from the macros of seg.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "seg.h"
#include "unetrc.h"

static _Alignas(64) unsigned char blob[SEG_WEIGHTS_FILE_SIZE];
static _Alignas(64) unsigned char arena[SEG_ARENA_SIZE];
static float input[SEG_IN0_COUNT];
static float logits[SEG_OUT0_COUNT];

/* "[1,1,32,32,32]", as unetrc prints shapes. */
static const char *shape_str(const int64_t *shape, int rank, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

/* Reads the weights blob into blob; its size, or -1 after a message. The
 * file must be exactly this model's blob: a longer file (trailing bytes,
 * another model's larger blob) is refused instead of read in part, and only
 * a regular file is opened (a FIFO cannot hang the program). */
static long read_weights(const char *path) {
    size_t n;
    errno = 0;
    int st = unetrc_weights_read_file(path, blob, sizeof blob, &n);
    if (st == UNETRC_ERR_SIZE) {
        fprintf(stderr, "infer: %s: the file is longer than this model's weights blob (%lld bytes)\n", path,
                (long long)SEG_WEIGHTS_FILE_SIZE);
        return -1;
    }
    if (st != UNETRC_OK) {
        fprintf(stderr, "infer: %s: %s\n", path, errno ? strerror(errno) : "not a regular file");
        return -1;
    }
    return (long)n;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s seg.weights input.npy [logits.npy]\n", argv[0]);
        return 2;
    }
    long n = read_weights(argv[1]);
    if (n < 0) return 1;
    const void *weights;
    int st = unetrc_weights_open(blob, (size_t)n, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM, &weights);
    if (st != UNETRC_OK) {
        fprintf(stderr, "infer: %s: %s\n", argv[1], unetrc_status_str(st));
        return 1;
    }
    /* The input must have the model's exact shape (not only its element count). */
    static const int64_t in_shape[] = SEG_IN0_SHAPE;
    st = unetrc_npy_read_f32_shape(argv[2], input, in_shape, SEG_IN0_RANK);
    if (st != UNETRC_OK) {
        char want[160], got[160];
        int64_t file_shape[8];
        int file_rank;
        if (st == UNETRC_ERR_SHAPE && unetrc_npy_shape(argv[2], file_shape, &file_rank) == UNETRC_OK)
            fprintf(stderr, "infer: %s: the model's input has shape %s, the file has %s\n", argv[2],
                    shape_str(in_shape, SEG_IN0_RANK, want, sizeof want),
                    shape_str(file_shape, file_rank, got, sizeof got));
        else if (st == UNETRC_ERR_IO) fprintf(stderr, "infer: %s: cannot open or read the file\n", argv[2]);
        else if (st == UNETRC_ERR_FORMAT)
            fprintf(stderr, "infer: %s: not a little-endian float32 .npy file in C order\n", argv[2]);
        else if (st == UNETRC_ERR_TRUNCATED || st == UNETRC_ERR_SIZE)
            fprintf(stderr, "infer: %s: the data is %s than its header's shape\n", argv[2],
                    st == UNETRC_ERR_TRUNCATED ? "shorter" : "longer");
        else fprintf(stderr, "infer: %s: %s\n", argv[2], unetrc_status_str(st));
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = seg_forward(weights, arena, input, logits);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != SEG_OK) {
        fprintf(stderr, "infer: seg_forward returned %d (%s)\n", st, unetrc_status_str(st)); /* same numbers */
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
        fprintf(stderr, "infer: %s: %s\n", argv[3], unetrc_status_str(st));
        return 1;
    }
    return 0;
}
