/* target.h: the machine generated code is tuned for (--target-cpu, --vector-bits): vector width,
 * caches, ISA features and triple. Lowering reads the width and caches (tile sizes); the backends
 * record the whole description in every output's provenance. */
#ifndef URC_TARGET_H
#define URC_TARGET_H

#include <stdbool.h>
#include <stdint.h>

/* ISA features, as bits of urc_target.features. */
enum {
    URC_FEAT_AVX2 = 1u << 0,
    URC_FEAT_FMA = 1u << 1,
    URC_FEAT_F16C = 1u << 2,
    URC_FEAT_AVX512F = 1u << 3,
    URC_FEAT_AVX512BF16 = 1u << 4,
    URC_FEAT_AVX512FP16 = 1u << 5,
    URC_FEAT_AVX512VNNI = 1u << 6,
    URC_FEAT_AMX_BF16 = 1u << 7,
    URC_FEAT_AMX_INT8 = 1u << 8,
    URC_FEAT_NEON = 1u << 9,
    URC_FEAT_SVE = 1u << 10,
    URC_FEAT_NO_FP64 = 1u << 11, /* the FPU has single precision only: implies --float-only */
    URC_FEAT_AVXVNNI = 1u << 12, /* vpdpbusd on 256 and 128-bit vectors (VEX: Alder Lake and later) */
    URC_FEAT_COUNT = 13
};

typedef struct urc_target {
    const char *name;   /* a CPU of the table, or "native" (this machine) */
    const char *triple; /* e.g. x86_64-linux-gnu, aarch64-linux-gnu */
    int vector_bits;    /* 128, 256 or 512 */
    int64_t l1_bytes;   /* data cache per core */
    int64_t l2_bytes;
    unsigned features; /* URC_FEAT_* */
    int threads;       /* threads the kernels' work division plans for (parallel loops still adapt): native, the
                        * cores this process may use; a CPU of the table, 2; UNETRC_PLAN_THREADS=N overrides */
} urc_target;

/* Fills t for a CPU name ("native" or its alias "host", "generic", "x86-64-v3", "x86-64-v4",
 * "sapphirerapids", "armv8-a", ...); false for an unknown name. */
bool urc_target_lookup(const char *name, urc_target *t);
/* The name of feature bit i (URC_FEAT_*: 1u << i) as provenance lines and the CPU check spell it ("avx512bf16",
 * "amx-bf16"); NULL out of range. */
const char *urc_target_feature_name(int bit);
/* Whether code for t multiplies bfloat16 pairs (--precision bf16's products through vdpbf16ps, see
 * loop/lower.h urc_lower_dot2): t has AVX512-BF16 and UNETRC_DOT2=0 is not set in the environment
 * (comparisons), or UNETRC_DOT2=1 is set (any target: the same numbers by two multiply-adds per pair, for
 * tests and accuracy measurements on CPUs without the instruction). */
bool urc_target_dot2(const urc_target *t);
/* Whether code for t multiplies bfloat16 pairs on AMX tiles where a kernel has a tile form (conv_amx.c):
 * t has AMX-BF16 and UNETRC_AMX=0 is not set, or UNETRC_AMX=1 (any target: the tile operations emulated by
 * loops, loop/tiles.h, for tests on CPUs without AMX; it implies urc_target_dot2). */
bool urc_target_amx(const urc_target *t);
/* Whether those tile kernels multiply float32 data split into bf16 high and low parts (twice the tile products,
 * no Casts of the data): urc_target_amx and UNETRC_AMX_SPLIT=1 in the environment. */
bool urc_target_amx_split(const urc_target *t);
/* Whether code for t multiplies int8 levels as integers in vector loops of quad products (--precision int8's
 * products without AMX, loop.h URC_LX_DOT4, vpdpbusd): t has AVX512-VNNI or AVX-VNNI and UNETRC_VNNI=0 is not
 * set, or UNETRC_VNNI=1 (any target: the same sums by portable arithmetic, for tests on CPUs without VNNI). */
bool urc_target_vnni(const urc_target *t);
/* The named baseline `unetrc MODEL -o seg.c` tunes for unless --target-cpu says otherwise, so that two
 * build machines give the same code: x86-64-v3 on x86-64 hosts, armv8-a on Arm, else generic. */
const char *urc_target_baseline(void);
/* "x86-64-v3 (x86_64-linux-gnu; 256-bit vectors, L1 32 KiB, L2 1024 KiB; avx2 fma f16c)" */
const char *urc_target_describe(const urc_target *t);
/* The CPU names of the table, comma-separated (for --help and errors). */
const char *urc_target_names(void);

#endif
