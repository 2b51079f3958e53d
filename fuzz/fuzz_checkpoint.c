/* fuzz_checkpoint.c: libFuzzer harness for the runtime's checkpoint loader,
 * unetrc_checkpoint_load (and, for inputs it accepts, a save/load round trip).
 *
 * The input is written to a file in the temporary folder (the loader reads
 * a path) and loaded three times: with the sizes and model hash its own
 * header claims (so that mutated payloads reach the checksum comparison),
 * with fixed expectations, and with sizes one byte off. What the runtime
 * promises is checked on every call:
 *   - a status with a description, never a crash;
 *   - on failure the caller's buffers are untouched (canary bytes);
 *   - on success the buffers hold exactly the file's payload, whose
 *     FNV-1a 64 equals the header's checksum, and the file is exactly
 *     64 + params + state bytes;
 *   - saving what was loaded and loading it again gives the same bytes;
 *   - unetrc_checkpoint_check returns the status the load returned. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unetrc.h"

#define FUZZ_NAME "fuzz_checkpoint"
#include "fuzz_util.h"

#define CAP (1u << 20) /* largest region the harness allocates */

static char path[256], path2[300];

static void one(const uint8_t *data, size_t size, uint64_t ps, uint64_t ss, uint64_t hash) {
    if (ps > CAP || ss > CAP) return;
    unsigned char *p = malloc(ps + 1), *s = malloc(ss + 1);
    memset(p, 0xA5, ps + 1);
    memset(s, 0x5A, ss + 1);
    unetrc_status st = unetrc_checkpoint_load(path, p, ps, s, ss, hash);
    check(unetrc_status_str(st) != NULL, "status without a description");
    check(unetrc_checkpoint_check(path, ps, ss, hash, NULL) == st, "check and load disagree");
    if (st != UNETRC_OK) {
        for (size_t i = 0; i <= ps; i++) check(p[i] == 0xA5, "params written on failure");
        for (size_t i = 0; i <= ss; i++) check(s[i] == 0x5A, "state written on failure");
    } else {
        check(size == 64 + ps + ss, "accepted a file of the wrong size");
        check(!memcmp(data, "UNETRCK1", 8), "accepted a wrong magic");
        check(rd64(data + 32) == hash, "accepted another model's hash");
        check(!memcmp(p, data + 64, ps) && !memcmp(s, data + 64 + ps, ss), "loaded bytes differ from the file");
        check(p[ps] == 0xA5 && s[ss] == 0x5A, "wrote past a buffer");
        uint64_t sum = unetrc_fnv1a64(data + 64, ps + ss);
        check(sum == rd64(data + 40), "accepted a wrong checksum");
        check(unetrc_checkpoint_save(path2, p, ps, s, ss, hash) == UNETRC_OK, "save of a loaded checkpoint failed");
        unsigned char *p2 = malloc(ps + 1), *s2 = malloc(ss + 1);
        check(unetrc_checkpoint_load(path2, p2, ps, s2, ss, hash) == UNETRC_OK, "round trip load failed");
        check(!memcmp(p, p2, ps) && !memcmp(s, s2, ss), "round trip changed the bytes");
        free(p2);
        free(s2);
        remove(path2);
    }
    free(p);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/fuzz_checkpoint_%ld.ckpt", tmp && *tmp ? tmp : "/tmp", (long)getpid());
        snprintf(path2, sizeof path2, "%s.2", path);
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !ok) return 0;
    uint64_t ps = size >= 24 ? rd64(data + 16) : 0, ss = size >= 32 ? rd64(data + 24) : 0;
    uint64_t hash = size >= 40 ? rd64(data + 32) : 0;
    one(data, size, ps, ss, hash);
    one(data, size, ps + 1, ss, hash);
    one(data, size, ps, ss ? ss - 1 : 0, hash);
    one(data, size, ps, ss, hash ^ 1);
    one(data, size, 16, 8, 0);
    check(unetrc_checkpoint_load(NULL, NULL, 0, NULL, 0, 0) == UNETRC_ERR_NULL, "NULL path accepted");
    check(unetrc_checkpoint_load(path, NULL, 4, NULL, 0, 0) == UNETRC_ERR_NULL, "NULL params accepted");
    remove(path);
    return 0;
}
