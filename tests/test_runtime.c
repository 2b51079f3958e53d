/* test_runtime.c: the runtime against code generated at build time from
 * tests/data/add_relu.onnx (see tests/CMakeLists.txt):
 * - weights blob validation: good blob, bad magic, version, size, checksum,
 *   truncation, misalignment, NULL;
 * - seg_forward: NULL and misaligned pointers are refused, the result is
 *   relu(x + bias);
 * - .npy round trip through unetrc_npy_write_f32 / unetrc_npy_read_f32,
 *   the exact-shape reader unetrc_npy_read_f32_shape and unetrc_npy_shape.
 *   test_runtime WEIGHTS_FILE TMP_DIR */
#include <stdio.h>
#include <string.h>

#include "seg.h"
#include "unetrc.h"

static int failures;
#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            printf("FAIL line %d: %s\n", __LINE__, #cond);                                                             \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

static _Alignas(64) unsigned char blob[SEG_WEIGHTS_FILE_SIZE + 64];
static _Alignas(64) unsigned char copy[SEG_WEIGHTS_FILE_SIZE + 64];
static _Alignas(64) unsigned char arena[SEG_ARENA_SIZE + 64];

static int open_copy(size_t n) {
    const void *w;
    return unetrc_weights_open(copy, n, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM, &w);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    FILE *f = fopen(argv[1], "rb");
    size_t n = f ? fread(blob, 1, sizeof blob, f) : 0;
    if (f) fclose(f);
    CHECK(n == SEG_WEIGHTS_FILE_SIZE);
    const void *w = NULL;
    CHECK(unetrc_weights_open(blob, n, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM, &w) == UNETRC_OK);
    CHECK(w == blob + 64);
    CHECK(unetrc_weights_open(NULL, n, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM, &w) == UNETRC_ERR_NULL);
    CHECK(unetrc_weights_open(blob, n, SEG_WEIGHTS_SIZE + 64, SEG_WEIGHTS_CHECKSUM, &w) == UNETRC_ERR_SIZE);
    CHECK(unetrc_weights_open(blob, n, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM ^ 1, &w) == UNETRC_ERR_CHECKSUM);
    memcpy(copy, blob, n);
    CHECK(open_copy(n - 1) == UNETRC_ERR_TRUNCATED);
    CHECK(open_copy(40) == UNETRC_ERR_TRUNCATED);
    copy[0] = 'X';
    CHECK(open_copy(n) == UNETRC_ERR_MAGIC);
    memcpy(copy, blob, n);
    copy[8] = 2;
    CHECK(open_copy(n) == UNETRC_ERR_VERSION);
    memcpy(copy, blob, n);
    copy[64] ^= 0x40; /* one payload bit */
    CHECK(open_copy(n) == UNETRC_ERR_CHECKSUM);
    memcpy(copy + 1, blob, n);
    CHECK(unetrc_weights_open(copy + 1, n, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM, &w) == UNETRC_ERR_ALIGN);
    CHECK(strcmp(unetrc_status_str(UNETRC_ERR_CHECKSUM), "weights checksum mismatch") == 0);

    /* The forward pass. */
    float x[SEG_IN0_COUNT], y[SEG_OUT0_COUNT];
    static const float bias[3] = {0.5f, -1.0f, 2.0f};
    for (int i = 0; i < SEG_IN0_COUNT; i++) x[i] = (float)i - 2.5f;
    const void *payload;
    CHECK(unetrc_weights_open(blob, n, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM, &payload) == UNETRC_OK);
    CHECK(seg_forward(NULL, arena, x, y) == SEG_ERR_NULL);
    CHECK(seg_forward(payload, arena + 8, x, y) == SEG_ERR_ALIGN);
    CHECK(seg_forward(payload, arena, x, y) == SEG_OK);
    /* The generated codes share the runtime's numbers (unetrc_status_str describes both). */
    CHECK(SEG_ERR_NULL == UNETRC_ERR_NULL && SEG_ERR_ALIGN == UNETRC_ERR_ALIGN && SEG_ERR_INDEX == UNETRC_ERR_INDEX);
    CHECK(strcmp(unetrc_status_str(SEG_ERR_INDEX), "an index read at run time is out of range") == 0);
    for (int i = 0; i < SEG_OUT0_COUNT; i++) {
        float want = x[i] + bias[i % 3];
        CHECK(y[i] == (want > 0 ? want : 0));
    }

    /* .npy round trip. */
    char path[512];
    snprintf(path, sizeof path, "%s/rt.npy", argv[2]);
    static const int64_t shape[] = SEG_OUT0_SHAPE;
    float back[SEG_OUT0_COUNT];
    CHECK(unetrc_npy_write_f32(path, y, shape, SEG_OUT0_RANK) == UNETRC_OK);
    CHECK(unetrc_npy_read_f32(path, back, SEG_OUT0_COUNT) == UNETRC_OK);
    CHECK(memcmp(back, y, sizeof y) == 0);
    CHECK(unetrc_npy_read_f32(path, back, SEG_OUT0_COUNT - 1) == UNETRC_ERR_SIZE);
    CHECK(unetrc_npy_read_f32(argv[1], back, SEG_OUT0_COUNT) == UNETRC_ERR_FORMAT);
    /* The exact-shape reader: the same elements in another shape are refused
     * and the buffer is left untouched; the header reader tells the shape. */
    memset(back, 0, sizeof back);
    CHECK(unetrc_npy_read_f32_shape(path, back, shape, SEG_OUT0_RANK) == UNETRC_OK);
    CHECK(memcmp(back, y, sizeof y) == 0);
    static const int64_t flat[] = {SEG_OUT0_COUNT}, swapped[] = {1, 3, 2};
    memset(back, 0, sizeof back);
    CHECK(unetrc_npy_read_f32_shape(path, back, flat, 1) == UNETRC_ERR_SHAPE);
    CHECK(unetrc_npy_read_f32_shape(path, back, swapped, 3) == UNETRC_ERR_SHAPE);
    CHECK(back[0] == 0 && back[SEG_OUT0_COUNT - 1] == 0);
    int64_t got[8] = {0};
    int got_rank = 0;
    CHECK(unetrc_npy_shape(path, got, &got_rank) == UNETRC_OK);
    CHECK(got_rank == SEG_OUT0_RANK && got[0] == 1 && got[1] == 2 && got[2] == 3);
    CHECK(unetrc_npy_shape(argv[1], got, &got_rank) == UNETRC_ERR_FORMAT);
    CHECK(strcmp(unetrc_status_str(UNETRC_ERR_SHAPE), "array shape does not match the model") == 0);
    CHECK(strcmp(unetrc_status_str(UNETRC_ERR_SIZE), "size does not match the model") == 0);
    printf("runtime: %d failures\n", failures);
    return failures ? 1 : 0;
}
