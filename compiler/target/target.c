/* target.c: the CPU table and the host's detection (target.h). */
#define _GNU_SOURCE
#include "target.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../backend/cpu_check.h"
#include "../base/base.h"

#define X86_V3 (URC_FEAT_AVX2 | URC_FEAT_FMA | URC_FEAT_F16C)
#define X86_V4 (X86_V3 | URC_FEAT_AVX512F)

static const struct {
    const char *name, *triple;
    int bits;
    int64_t l1, l2;
    unsigned features;
} cpus[] = {
    {"generic", NULL, 128, 32 << 10, 256 << 10, 0},
    {"x86-64", "x86_64-linux-gnu", 128, 32 << 10, 256 << 10, 0},
    {"x86-64-v2", "x86_64-linux-gnu", 128, 32 << 10, 256 << 10, 0},
    {"x86-64-v3", "x86_64-linux-gnu", 256, 32 << 10, 1 << 20, X86_V3},
    {"haswell", "x86_64-linux-gnu", 256, 32 << 10, 256 << 10, X86_V3},
    {"znver3", "x86_64-linux-gnu", 256, 32 << 10, 512 << 10, X86_V3},
    {"x86-64-v4", "x86_64-linux-gnu", 512, 48 << 10, 2 << 20, X86_V4},
    {"skylake-avx512", "x86_64-linux-gnu", 512, 32 << 10, 1 << 20, X86_V4},
    {"icelake-server", "x86_64-linux-gnu", 512, 48 << 10, 1 << 20, X86_V4 | URC_FEAT_AVX512VNNI},
    {"sapphirerapids", "x86_64-linux-gnu", 512, 48 << 10, 2 << 20,
     X86_V4 | URC_FEAT_AVX512VNNI | URC_FEAT_AVX512BF16 | URC_FEAT_AVX512FP16 | URC_FEAT_AMX_BF16 | URC_FEAT_AMX_INT8},
    {"znver4", "x86_64-linux-gnu", 512, 32 << 10, 1 << 20, X86_V4 | URC_FEAT_AVX512VNNI | URC_FEAT_AVX512BF16},
    {"alderlake", "x86_64-linux-gnu", 256, 48 << 10, 1 << 20, X86_V3 | URC_FEAT_AVXVNNI},
    {"armv8-a", "aarch64-linux-gnu", 128, 32 << 10, 512 << 10, URC_FEAT_NEON},
    {"cortex-a53", "aarch64-linux-gnu", 128, 32 << 10, 512 << 10, URC_FEAT_NEON},
    {"cortex-a72", "aarch64-linux-gnu", 128, 32 << 10, 1 << 20, URC_FEAT_NEON},
    {"neoverse-n1", "aarch64-linux-gnu", 128, 64 << 10, 1 << 20, URC_FEAT_NEON},
    {"neoverse-v1", "aarch64-linux-gnu", 256, 64 << 10, 1 << 20, URC_FEAT_NEON | URC_FEAT_SVE},
    {"apple-m1", "aarch64-apple-darwin", 128, 128 << 10, 4 << 20, URC_FEAT_NEON},
    /* Microcontrollers: no vector unit (the lane forms compile to unrolled scalar code) and no L2; the
     * "L2" is the tightly coupled / on-chip SRAM the tiles should stay within. */
    {"cortex-m7", "thumbv7em-none-eabihf", 128, 16 << 10, 128 << 10, 0},
    {"cortex-m4", "thumbv7em-none-eabihf", 128, 16 << 10, 64 << 10, URC_FEAT_NO_FP64},
};

static const char *const feature_names[URC_FEAT_COUNT] = {
    "avx2",     "fma",      "f16c", "avx512f", "avx512bf16", "avx512fp16", "avx512vnni",
    "amx-bf16", "amx-int8", "neon", "sve",     "no-fp64",    "avxvnni"};

static void native(urc_target *t) {
    t->name = "native";
    t->vector_bits = 128;
    t->features = 0;
#if defined(__x86_64__)
    t->triple = "x86_64-linux-gnu";
    /* each feature the generated code's own check knows by the same name (backend/cpu_check.h): CPUID and the
     * enabled state; AMX also the tile state Linux grants on request */
    for (int i = 0; i < URC_FEAT_COUNT; i++)
        if (urc_cpu_host_has(feature_names[i])) t->features |= 1u << i;
    if (!urc_cpu_host_has("amx-tile")) t->features &= ~(unsigned)(URC_FEAT_AMX_BF16 | URC_FEAT_AMX_INT8);
    if (t->features & URC_FEAT_AVX512F) t->vector_bits = 512;
    else if (t->features & URC_FEAT_AVX2) t->vector_bits = 256;
#elif defined(__aarch64__)
    t->triple = "aarch64-linux-gnu";
    t->features = URC_FEAT_NEON;
#else
    t->triple = NULL;
#endif
    long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    t->l1_bytes = l1 > 0 ? l1 : 32 << 10;
    t->l2_bytes = l2 > 0 ? l2 : 256 << 10;
    cpu_set_t set; /* the cores this process may run on (a container's or taskset's share) */
    t->threads = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 2;
    if (t->threads < 1) t->threads = 2;
}

/* UNETRC_PLAN_THREADS=N (1-1024): the threads the kernels plan for, whatever the target (docs/cli.md). */
static void plan_threads(urc_target *t) {
    const char *e = getenv("UNETRC_PLAN_THREADS");
    long v = e && *e ? strtol(e, NULL, 10) : 0;
    if (v >= 1 && v <= 1024) t->threads = (int)v;
}

bool urc_target_lookup(const char *name, urc_target *t) {
    if (!strcmp(name, "native") || !strcmp(name, "host")) {
        native(t);
        plan_threads(t);
        return true;
    }
    for (size_t i = 0; i < URC_ARRAY_LEN(cpus); i++)
        if (!strcmp(cpus[i].name, name)) {
            t->name = cpus[i].name;
            t->triple = cpus[i].triple;
            t->vector_bits = cpus[i].bits;
            t->l1_bytes = cpus[i].l1;
            t->l2_bytes = cpus[i].l2;
            t->features = cpus[i].features;
            t->threads = 2;
            plan_threads(t);
            return true;
        }
    return false;
}

bool urc_target_amx(const urc_target *t) {
    const char *e = getenv("UNETRC_AMX");
    if (e && !strcmp(e, "1")) return true;
    return (t->features & URC_FEAT_AMX_BF16) && !(e && !strcmp(e, "0"));
}

bool urc_target_amx_split(const urc_target *t) {
    const char *e = getenv("UNETRC_AMX_SPLIT");
    return urc_target_amx(t) && e && !strcmp(e, "1");
}

bool urc_target_dot2(const urc_target *t) {
    const char *e = getenv("UNETRC_DOT2"), *a = getenv("UNETRC_AMX");
    if ((e && !strcmp(e, "1")) || (a && !strcmp(a, "1"))) return true;
    return (t->features & URC_FEAT_AVX512BF16) && !(e && !strcmp(e, "0"));
}

bool urc_target_vnni(const urc_target *t) {
    const char *e = getenv("UNETRC_VNNI");
    if (e && !strcmp(e, "1")) return true;
    return (t->features & (URC_FEAT_AVX512VNNI | URC_FEAT_AVXVNNI)) && !(e && !strcmp(e, "0"));
}

const char *urc_target_baseline(void) {
#if defined(__x86_64__)
    return "x86-64-v3";
#elif defined(__aarch64__)
    return "armv8-a";
#else
    return "generic";
#endif
}

const char *urc_target_feature_name(int bit) { return bit >= 0 && bit < URC_FEAT_COUNT ? feature_names[bit] : NULL; }

const char *urc_target_describe(const urc_target *t) {
    urc_strbuf sb = {0};
    urc_sb_printf(&sb, "%s (%s; %d-bit vectors, L1 %lld KiB, L2 %lld KiB, planned for %d threads;",
                  t->name ? t->name : "native", t->triple ? t->triple : "any triple", t->vector_bits,
                  (long long)(t->l1_bytes >> 10), (long long)(t->l2_bytes >> 10), t->threads);
    if (!t->features) urc_sb_puts(&sb, " no vector ISA features assumed");
    for (int i = 0; i < URC_FEAT_COUNT; i++)
        if (t->features >> i & 1) urc_sb_printf(&sb, " %s", feature_names[i]);
    urc_sb_putc(&sb, ')');
    const char *s = urc_strdup(sb.data);
    urc_sb_free(&sb);
    return s;
}

const char *urc_target_names(void) {
    urc_strbuf sb = {0};
    urc_sb_puts(&sb, "native");
    for (size_t i = 0; i < URC_ARRAY_LEN(cpus); i++) urc_sb_printf(&sb, ", %s", cpus[i].name);
    const char *s = urc_strdup(sb.data);
    urc_sb_free(&sb);
    return s;
}
