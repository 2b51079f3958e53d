/* fuzz_util.h: what the harnesses share: little-endian reads and a
 * check that aborts (a finding for libFuzzer) with the harness's name. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline uint64_t rd64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

#define check(ok, what) fuzz_check((ok), FUZZ_NAME, (what))
static inline void fuzz_check(int ok, const char *harness, const char *what) {
    if (!ok) {
        fprintf(stderr, "%s: %s\n", harness, what);
        abort();
    }
}

#endif
