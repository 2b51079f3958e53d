/* fuzz_weights.c: libFuzzer harness for the runtime's weights blob check,
 * unetrc_weights_open.
 *
 * The blob is copied to a 64-byte aligned buffer. It is checked three times:
 * against the size and checksum its own header claims (so that mutated
 * payloads reach the checksum comparison), against fixed expectations, and
 * misaligned. Accepted blobs must satisfy what the ABI promises: the
 * payload starts at byte 64, has the expected size and hashes to the
 * expected checksum. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unetrc.h"

#define FUZZ_NAME "fuzz_weights"
#include "fuzz_util.h"

static void one(const uint8_t *blob, size_t size, uint64_t want_size, uint64_t want_sum) {
    const void *payload = (const void *)1;
    unetrc_status st = unetrc_weights_open(blob, size, want_size, want_sum, &payload);
    check(unetrc_status_str(st) != NULL, "status without a description");
    if (st != UNETRC_OK) {
        check(payload == NULL, "payload set on failure");
        return;
    }
    check((uintptr_t)blob % 64 == 0, "misaligned blob accepted");
    check(payload == blob + 64, "payload not at byte 64");
    check(size == 64 + want_size, "accepted a blob of the wrong size");
    check(unetrc_fnv1a64(payload, (size_t)want_size) == want_sum, "accepted a wrong checksum");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = aligned_alloc(64, (size + 1 + 63) / 64 * 64);
    memcpy(buf, data, size);
    uint64_t claimed_size = size >= 24 ? rd64(data + 16) : 0, claimed_sum = size >= 32 ? rd64(data + 24) : 0;
    one(buf, size, claimed_size, claimed_sum);
    one(buf, size, size > 64 ? size - 64 : 0, unetrc_fnv1a64(buf + 64, size > 64 ? size - 64 : 0));
    one(buf, size, 0, 0xcbf29ce484222325ULL);
    check(unetrc_weights_open(NULL, size, 0, 0, &(const void *){0}) == UNETRC_ERR_NULL, "NULL blob accepted");
    check(unetrc_weights_open(buf, size, 0, 0, NULL) == UNETRC_ERR_NULL, "NULL payload pointer accepted");
    if (size) {
        uint8_t *mis = malloc(size + 64);
        uint8_t *p = mis + (64 - (uintptr_t)mis % 64) % 64 + 1;
        memcpy(p, data, size);
        one(p, size, claimed_size, claimed_sum);
        free(mis);
    }
    free(buf);
    return 0;
}
