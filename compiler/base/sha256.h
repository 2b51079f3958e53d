/* sha256.h: SHA-256 (FIPS 180-4), for the keys and integrity checks of the
 * build cache of `unetrc segment` (a cache entry is code that gets loaded,
 * so its key must not collide on purpose, which FNV-1a allows). */
#ifndef URC_SHA256_H
#define URC_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct urc_sha256 {
    uint32_t h[8];
    uint64_t bytes;
    unsigned char block[64];
    size_t fill;
} urc_sha256;

void urc_sha256_init(urc_sha256 *s);
void urc_sha256_update(urc_sha256 *s, const void *data, size_t n);
/* The digest as 64 lowercase hex digits and a NUL. */
void urc_sha256_hex(urc_sha256 *s, char out[65]);

#endif
