/* fuzz_safetensors.c: libFuzzer harness for the safetensors reader
 * (compiler/frontend/safetensors.c, the --weights file of a MONAI config).
 *
 * A rejected file must come with a one-line message. An accepted one must
 * hold what the reader promises: every tensor of a supported dtype, its
 * byte range inside the data and exactly as long as shape x dtype, no two
 * non-empty ranges overlapping; and each converts to float32. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "frontend/safetensors.h"

#define FUZZ_NAME "fuzz_safetensors"
#include "fuzz_util.h"

#define FUZZ_MAX_BYTES ((uint64_t)64 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    urc_heap_track_begin();
    urc_diag_reset("fuzz.safetensors");
    urc_safetensors *s = urc_st_parse(data, size, "weights", FUZZ_MAX_BYTES);
    const char *msg = urc_diag_message();
    check(s || (msg && *msg && !strchr(msg, '\n')), "rejected without a one-line message");
    check(!s || !msg, "accepted with an error recorded");
    for (int i = 0; s && i < s->n; i++) {
        const urc_st_entry *e = &s->e[i];
        check(e->dtype == URC_DT_F32 || e->dtype == URC_DT_F16 || e->dtype == URC_DT_BF16 || e->dtype == URC_DT_I64,
              "unsupported dtype");
        check(e->begin <= e->end && e->end <= s->size - s->data, "range outside the data");
        check(e->end - e->begin == (uint64_t)urc_shape_numel(&e->shape) * (uint64_t)urc_dtype_size(e->dtype),
              "range length is not shape x dtype");
        for (int j = 0; j < i; j++) {
            const urc_st_entry *f = &s->e[j];
            bool empty = e->begin == e->end || f->begin == f->end;
            check(empty || e->end <= f->begin || f->end <= e->begin, "overlapping ranges");
            check(strcmp(e->name, f->name) != 0, "a name listed twice");
        }
        urc_tensor *t = urc_st_tensor(s, e);
        check(t && (t->dtype == URC_DT_F32 || e->dtype == URC_DT_I64) && urc_shape_eq(&t->shape, &e->shape),
              "conversion changed the shape");
        urc_tensor_free(t);
    }
    urc_st_free(s);
    urc_diag_release();
    urc_heap_release();
    return 0;
}
