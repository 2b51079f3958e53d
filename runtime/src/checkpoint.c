/* checkpoint.c: crash-safe training checkpoints (see unetrc.h).
 *
 * File layout (little-endian):
 *   0  char[8] "UNETRCK1"    8  u32 version (1)    12 u32 header bytes (64)
 *   16 u64 params bytes      24 u64 state bytes    32 u64 model hash
 *   40 u64 FNV-1a 64 of params then state          48 zero padding to 64
 *   64 params, then state */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "posix_io.h"
#include "unetrc.h"

#define HEADER 64

static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

unetrc_status unetrc_checkpoint_save(const char *path, const void *params, size_t params_size, const void *state,
                                     size_t state_size, uint64_t model_hash) {
    if (!path || (!params && params_size) || (!state && state_size)) return UNETRC_ERR_NULL;
    unsigned char h[HEADER] = {0};
    memcpy(h, "UNETRCK1", 8);
    h[8] = 1;
    h[12] = HEADER;
    put64(h + 16, params_size);
    put64(h + 24, state_size);
    put64(h + 32, model_hash);
    put64(h + 40, fnv(fnv(0xcbf29ce484222325ULL, params, params_size), state, state_size));
    /* PATH.tmpPID.N: unique (a resumed run racing an old one never writes
     * into the other's file) and never reached through a link. */
    char tmp[4096];
    int fd = io_tmp_create(path, tmp, sizeof tmp);
    if (fd < 0) return UNETRC_ERR_IO;
    int ok =
        io_write_all(fd, h, HEADER) && io_write_all(fd, params, params_size) && io_write_all(fd, state, state_size);
    return io_tmp_commit(fd, tmp, path, ok);
}

/* Every check of a load, reading the file once without keeping the payload:
 * magic, version, model hash, sizes, length and checksum. The model hash
 * comes before the sizes so that another model's checkpoint (whose sizes
 * differ too, as a rule) is reported as such. *info (if not NULL) gets the
 * header's sizes and hash once the magic and version are right. */
static unetrc_status verify(FILE *f, size_t params_size, size_t state_size, uint64_t model_hash,
                            unetrc_checkpoint_info *info) {
    unsigned char h[HEADER], buf[4096];
    if (info) memset(info, 0, sizeof *info);
    if (fread(h, 1, HEADER, f) != HEADER) return UNETRC_ERR_TRUNCATED;
    if (memcmp(h, "UNETRCK1", 8)) return UNETRC_ERR_MAGIC;
    if (h[8] != 1 || h[9] || h[10] || h[11] || h[12] != HEADER) return UNETRC_ERR_VERSION;
    if (info) {
        info->params_size = get64(h + 16);
        info->state_size = get64(h + 24);
        info->model_hash = get64(h + 32);
    }
    if (get64(h + 32) != model_hash) return UNETRC_ERR_MODEL;
    if (get64(h + 16) != params_size || get64(h + 24) != state_size) return UNETRC_ERR_SIZE;
    uint64_t sum = 0xcbf29ce484222325ULL;
    size_t left = params_size + state_size;
    while (left) {
        size_t n = left < sizeof buf ? left : sizeof buf;
        if (fread(buf, 1, n, f) != n) return UNETRC_ERR_TRUNCATED;
        sum = fnv(sum, buf, n);
        left -= n;
    }
    if (fgetc(f) != EOF) return UNETRC_ERR_SIZE;
    if (sum != get64(h + 40)) return UNETRC_ERR_CHECKSUM;
    return UNETRC_OK;
}

unetrc_status unetrc_checkpoint_check(const char *path, size_t params_size, size_t state_size, uint64_t model_hash,
                                      unetrc_checkpoint_info *info) {
    if (info) memset(info, 0, sizeof *info);
    if (!path) return UNETRC_ERR_NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return UNETRC_ERR_IO;
    unetrc_status st = verify(f, params_size, state_size, model_hash, info);
    fclose(f);
    return st;
}

unetrc_status unetrc_checkpoint_load(const char *path, void *params, size_t params_size, void *state, size_t state_size,
                                     uint64_t model_hash) {
    if (!path || (!params && params_size) || (!state && state_size)) return UNETRC_ERR_NULL;
    FILE *f = io_open_regular(path); /* a FIFO or device: UNETRC_ERR_IO, without blocking */
    if (!f) return UNETRC_ERR_IO;
    /* First pass: every check, without touching the caller's buffers. */
    unetrc_status st = verify(f, params_size, state_size, model_hash, NULL);
    /* Second pass: copy. */
    if (st == UNETRC_OK && (fseek(f, HEADER, SEEK_SET) != 0 || fread(params, 1, params_size, f) != params_size ||
                            fread(state, 1, state_size, f) != state_size))
        st = UNETRC_ERR_IO;
    fclose(f);
    return st;
}

const char *unetrc_checkpoint_status_str(int status) {
    switch (status) {
    case UNETRC_OK: return "ok";
    case UNETRC_ERR_NULL: return "a required pointer is NULL";
    case UNETRC_ERR_TRUNCATED: return "truncated checkpoint (shorter than its header says)";
    case UNETRC_ERR_MAGIC: return "not a unetrc checkpoint";
    case UNETRC_ERR_VERSION: return "unsupported checkpoint format version";
    case UNETRC_ERR_SIZE: return "checkpoint sizes do not match the model's parameters and optimizer state";
    case UNETRC_ERR_CHECKSUM: return "corrupted checkpoint (checksum mismatch)";
    case UNETRC_ERR_IO: return "cannot open, read or write the checkpoint";
    case UNETRC_ERR_MODEL: return "checkpoint of another model";
    default: return unetrc_status_str(status);
    }
}
