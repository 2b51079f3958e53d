/* weights.c: weights blob validation (see unetrc.h and docs/abi.md). */
#include "unetrc.h"

#include <string.h>

const char *unetrc_status_str(int status) {
    switch (status) {
    case UNETRC_OK: return "ok";
    case UNETRC_ERR_NULL: return "a required pointer is NULL";
    case UNETRC_ERR_ALIGN: return "buffer not aligned as required";
    case UNETRC_ERR_TRUNCATED: return "data truncated";
    case UNETRC_ERR_MAGIC: return "not a unetrc weights blob";
    case UNETRC_ERR_VERSION: return "unsupported weights format version";
    case UNETRC_ERR_SIZE: return "size does not match the model";
    case UNETRC_ERR_CHECKSUM: return "weights checksum mismatch";
    case UNETRC_ERR_IO: return "file input/output error";
    case UNETRC_ERR_FORMAT: return "file format not supported";
    case UNETRC_ERR_MODEL: return "checkpoint of another model";
    case UNETRC_ERR_ARGUMENT: return "argument out of range";
    case UNETRC_ERR_WORKSPACE: return "workspace too small";
    case UNETRC_ERR_PREDICT: return "the predictor failed";
    case UNETRC_ERR_CANCELLED: return "cancelled";
    case UNETRC_ERR_SHAPE: return "array shape does not match the model";
    case UNETRC_ERR_INDEX: return "an index read at run time is out of range";
    case UNETRC_ERR_LABEL: return "a label is none of the model's classes";
    case UNETRC_ERR_NOMEM: return "out of memory";
    case UNETRC_ERR_CPU: return "the code was compiled for an instruction set this CPU lacks";
    default: return "unknown status";
    }
}

uint64_t unetrc_fnv1a64(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

unetrc_status unetrc_weights_open(const void *blob, size_t blob_size, uint64_t expected_size,
                                  uint64_t expected_checksum, const void **payload) {
    if (!blob || !payload) return UNETRC_ERR_NULL;
    *payload = NULL;
    const unsigned char *b = blob;
    if ((uintptr_t)b % 64) return UNETRC_ERR_ALIGN;
    if (blob_size < UNETRC_WEIGHTS_HEADER_BYTES) return UNETRC_ERR_TRUNCATED;
    if (memcmp(b, UNETRC_WEIGHTS_MAGIC, 8) != 0) return UNETRC_ERR_MAGIC;
    if (rd32(b + 8) != UNETRC_WEIGHTS_VERSION || rd32(b + 12) != UNETRC_WEIGHTS_HEADER_BYTES) return UNETRC_ERR_VERSION;
    uint64_t size = rd64(b + 16);
    if (size != expected_size) return UNETRC_ERR_SIZE;
    if (blob_size - UNETRC_WEIGHTS_HEADER_BYTES < size) return UNETRC_ERR_TRUNCATED;
    if (blob_size - UNETRC_WEIGHTS_HEADER_BYTES != size) return UNETRC_ERR_SIZE;
    uint64_t sum = rd64(b + 24);
    if (sum != expected_checksum || unetrc_fnv1a64(b + UNETRC_WEIGHTS_HEADER_BYTES, (size_t)size) != sum)
        return UNETRC_ERR_CHECKSUM;
    *payload = b + UNETRC_WEIGHTS_HEADER_BYTES;
    return UNETRC_OK;
}
