/* test_runtime.c: the runtime against code generated at build time from
 * tests/data/add_relu.onnx (see tests/CMakeLists.txt):
 * - weights blob validation: good blob, bad magic, version, size, checksum,
 *   truncation, misalignment, NULL;
 * - seg_forward: NULL and misaligned pointers are refused, the result is
 *   relu(x + bias);
 * - .npy round trip through unetrc_npy_write_f32 / unetrc_npy_read_f32,
 *   the exact-shape reader unetrc_npy_read_f32_shape and unetrc_npy_shape.
 * - .npy round trip through unetrc_npy_write_f32 / unetrc_npy_read_f32;
 *   writing replaces a link at the path (never writes through it) and
 *   leaves no temporary file; a FIFO is refused at once (UNETRC_ERR_IO).
 *   test_runtime WEIGHTS_FILE TMP_DIR */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg.h"
#include "unetrc.h"

#include "check.h"

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
    CHECK(SEG_ERR_CPU == UNETRC_ERR_CPU && seg_cpu_missing() == NULL); /* built for this CPU (cli_tests: another) */
    CHECK(strcmp(unetrc_status_str(SEG_ERR_CPU), "the code was compiled for an instruction set this CPU lacks") == 0);
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
    remove(path);

    /* .npy writes are atomic (temporary file + rename) and follow no link;
     * reads open only regular files, without blocking. */
    char dir[600], victim[700], npy[700];
    snprintf(dir, sizeof dir, "%s/npy_linkXXXXXX", argv[2]);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(victim, sizeof victim, "%s/victim.txt", dir);
    snprintf(npy, sizeof npy, "%s/y.npy", dir);
    FILE *v = fopen(victim, "wb");
    fputs("precious", v);
    fclose(v);
    CHECK(symlink(victim, npy) == 0);
    CHECK(unetrc_npy_write_f32(npy, y, shape, SEG_OUT0_RANK) == UNETRC_OK);
    struct stat st;
    CHECK(lstat(npy, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(stat(victim, &st) == 0 && st.st_size == 8);
    CHECK(unetrc_npy_read_f32(npy, back, SEG_OUT0_COUNT) == UNETRC_OK && !memcmp(back, y, sizeof y));
    CHECK(remove(npy) == 0 && mkfifo(npy, 0600) == 0);
    alarm(20); /* a blocking open would hang: fail loudly instead */
    CHECK(unetrc_npy_read_f32(npy, back, SEG_OUT0_COUNT) == UNETRC_ERR_IO);
    CHECK(unetrc_npy_read_f32(dir, back, SEG_OUT0_COUNT) == UNETRC_ERR_IO);
    alarm(0);
    CHECK(unetrc_npy_write_f32(npy, y, shape, SEG_OUT0_RANK) == UNETRC_OK); /* replaces the FIFO */
    CHECK(lstat(npy, &st) == 0 && S_ISREG(st.st_mode));
    int entries = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) entries += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECK(entries == 2); /* victim.txt and y.npy: no temporary file */
    remove(npy);
    remove(victim);
    CHECK(rmdir(dir) == 0);
    printf("runtime: %d failures\n", failures);
    return failures ? 1 : 0;
}
