/* fuzz_npy.c: libFuzzer harness for the .npy readers.
 *
 * 1. urc_npy_parse (the compiler's reader, 64 MB cap). When it accepts,
 *    the tensor is written back with urc_npy_format and parsed again: the
 *    round trip must give the same dtype, shape and bytes.
 * 2. unetrc_npy_read_f32 (the runtime's reader) on the same bytes from a
 *    file. When it accepts, the compiler's reader must have accepted a
 *    C-order float32 array of that many elements with the same values.
 * 3. unetrc_npy_read_f32_shape with the compiler's shape agrees with 2, and
 *    unetrc_npy_shape reports the compiler's shape. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/npy.h"
#include "unetrc.h"

#define FUZZ_NAME "fuzz_npy"
#include "fuzz_util.h"

#define FUZZ_MAX_BYTES ((uint64_t)64 << 20)

static char path[64];

static void cleanup(void) { unlink(path); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!*path) {
        snprintf(path, sizeof path, "/tmp/unetrc-fuzz-npy-%ld.npy", (long)getpid());
        atexit(cleanup);
    }
    urc_heap_track_begin();
    const char *err = NULL;
    urc_tensor *t = urc_npy_parse(data, size, FUZZ_MAX_BYTES, &err);
    check(t || (err && *err && !strchr(err, '\n')), "rejected without a one-line message");
    if (t) {
        urc_strbuf sb = {0};
        urc_npy_format(t, &sb);
        const char *err2 = NULL;
        urc_tensor *u = urc_npy_parse((const unsigned char *)sb.data, sb.len, FUZZ_MAX_BYTES, &err2);
        check(u != NULL, "cannot re-read its own output");
        check(u->dtype == t->dtype && urc_shape_eq(&u->shape, &t->shape), "round trip changed dtype or shape");
        check(!memcmp(u->data, t->data, urc_tensor_bytes(t)), "round trip changed the data");
        urc_tensor_free(u);
        urc_sb_free(&sb);
    }

    /* The runtime reader: count from the compiler's view when it has one. */
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) abort();
    size_t count = t ? (size_t)urc_tensor_numel(t) : 6;
    if (count > 1 << 20) count = 1 << 20;
    float *buf = malloc((count ? count : 1) * sizeof(float));
    unetrc_status st = unetrc_npy_read_f32(path, buf, count);
    check(unetrc_status_str(st) != NULL, "status without a description");
    if (st == UNETRC_OK) {
        check(t && t->dtype == URC_DT_F32, "runtime accepted what the compiler rejects or reads as another dtype");
        check(!memcmp(buf, t->data, count * sizeof(float)), "runtime and compiler read different values");
    }
    /* The exact-shape reader with the compiler's shape: it may accept only
     * what the count reader accepts, and the header reader must report that
     * shape. */
    if (t && (size_t)urc_tensor_numel(t) == count) { /* buf holds the whole array */
        unetrc_status st2 = unetrc_npy_read_f32_shape(path, buf, t->shape.dims, t->shape.rank);
        check(st2 == st, "the exact-shape reader disagrees with the count reader");
        int64_t shape[8];
        int rank = -1;
        if (unetrc_npy_shape(path, shape, &rank) == UNETRC_OK) {
            check(t->dtype == URC_DT_F32 && rank == t->shape.rank, "header reader: another dtype or rank");
            for (int d = 0; d < rank; d++) check(shape[d] == t->shape.dims[d], "header reader: another shape");
        }
    }
    free(buf);
    if (t) urc_tensor_free(t);
    urc_diag_release();
    urc_heap_release();
    return 0;
}
