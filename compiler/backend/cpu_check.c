/* cpu_check.c: the x86-64 extensions of cpu_check.h (Intel SDM vol. 2A, CPUID; AMD APM vol. 3). */
#define _GNU_SOURCE
#include "cpu_check.h"

#include <string.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "../base/base.h"

#define AVX 0x6u     /* XCR0: SSE and AVX state */
#define AVX512 0xe6u /* ... and the opmask, ZMM0-15 upper halves and ZMM16-31 */
#define AMX 0x60000u /* XTILECFG and XTILEDATA */

const urc_cpu_feature urc_cpu_features[] = {
    {"sse3", "__SSE3__", "sse3", URC_CPUID_1, 2, 0, 0},
    {"ssse3", "__SSSE3__", "ssse3", URC_CPUID_1, 2, 9, 0},
    {"sse4.1", "__SSE4_1__", "sse4.1", URC_CPUID_1, 2, 19, 0},
    {"sse4.2", "__SSE4_2__", "sse4.2", URC_CPUID_1, 2, 20, 0},
    {"movbe", "__MOVBE__", "movbe", URC_CPUID_1, 2, 22, 0},
    {"popcnt", "__POPCNT__", "popcnt", URC_CPUID_1, 2, 23, 0},
    {"lzcnt", "__LZCNT__", "lzcnt", URC_CPUID_X1, 2, 5, 0},
    {"bmi", "__BMI__", "bmi", URC_CPUID_7, 1, 3, 0},
    {"bmi2", "__BMI2__", "bmi2", URC_CPUID_7, 1, 8, 0},
    {"avx", "__AVX__", "avx", URC_CPUID_1, 2, 28, AVX},
    {"fma", "__FMA__", "fma", URC_CPUID_1, 2, 12, AVX},
    {"f16c", "__F16C__", "f16c", URC_CPUID_1, 2, 29, AVX},
    {"avx2", "__AVX2__", "avx2", URC_CPUID_7, 1, 5, AVX},
    {"avxvnni", "__AVXVNNI__", "avxvnni", URC_CPUID_7_1, 0, 4, AVX},
    {"gfni", "__GFNI__", "gfni", URC_CPUID_7, 2, 8, 0},
    {"avx512f", "__AVX512F__", "avx512f", URC_CPUID_7, 1, 16, AVX512},
    {"avx512dq", "__AVX512DQ__", "avx512dq", URC_CPUID_7, 1, 17, AVX512},
    {"avx512ifma", "__AVX512IFMA__", "avx512ifma", URC_CPUID_7, 1, 21, AVX512},
    {"avx512cd", "__AVX512CD__", "avx512cd", URC_CPUID_7, 1, 28, AVX512},
    {"avx512bw", "__AVX512BW__", "avx512bw", URC_CPUID_7, 1, 30, AVX512},
    {"avx512vl", "__AVX512VL__", "avx512vl", URC_CPUID_7, 1, 31, AVX512},
    {"avx512vbmi", "__AVX512VBMI__", "avx512vbmi", URC_CPUID_7, 2, 1, AVX512},
    {"avx512vbmi2", "__AVX512VBMI2__", "avx512vbmi2", URC_CPUID_7, 2, 6, AVX512},
    {"avx512vnni", "__AVX512VNNI__", "avx512vnni", URC_CPUID_7, 2, 11, AVX512},
    {"avx512bitalg", "__AVX512BITALG__", "avx512bitalg", URC_CPUID_7, 2, 12, AVX512},
    {"avx512vpopcntdq", "__AVX512VPOPCNTDQ__", "avx512vpopcntdq", URC_CPUID_7, 2, 14, AVX512},
    {"avx512fp16", "__AVX512FP16__", "avx512fp16", URC_CPUID_7, 3, 23, AVX512},
    {"avx512bf16", "__AVX512BF16__", "avx512bf16", URC_CPUID_7_1, 0, 5, AVX512},
    /* required by the use of tiles, not by flags (compilers emit AMX for intrinsics only) */
    {"amx-tile", "URC_AMX_TILES", "amx-tile", URC_CPUID_7, 3, 24, AMX},
    {"amx-bf16", "URC_AMX_TILES", "amx-bf16", URC_CPUID_7, 3, 22, AMX},
    {"amx-int8", "URC_AMX_TILES", "amx-int8", URC_CPUID_7, 3, 25, AMX},
};
const int urc_ncpu_features = (int)(sizeof urc_cpu_features / sizeof urc_cpu_features[0]);

const char *urc_cpu_message(const char *U, const char *missing) {
    return urc_fmt("the generated code's forward returned %s_ERR_CPU: it was built for %s, which this CPU lacks "
                   "(--target-cpu, or -march / -m in --cflags)",
                   U, missing ? missing : "an instruction-set extension");
}

bool urc_cpu_host_has(const char *name) {
#if defined(__x86_64__)
    const urc_cpu_feature *f = NULL;
    for (int i = 0; i < urc_ncpu_features; i++)
        if (!strcmp(urc_cpu_features[i].name, name)) f = &urc_cpu_features[i];
    unsigned r[4] = {0, 0, 0, 0};
    static const unsigned leaf[URC_CPUID_SETS] = {1, 7, 7, 0x80000001u}, sub[URC_CPUID_SETS] = {0, 0, 1, 0};
    if (!f || !__get_cpuid_count(leaf[f->set], sub[f->set], &r[0], &r[1], &r[2], &r[3]) || !(r[f->reg] >> f->bit & 1))
        return false;
    if (f->xcr0) {
        unsigned a, b, c, d, lo, hi;
        if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1)) return false; /* (no OSXSAVE: no XGETBV) */
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        (void)hi;
        if ((lo & f->xcr0) != f->xcr0) return false;
    }
    /* arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): refused by a kernel older than 5.16 or a seccomp policy,
     * where the code's tiles could not run either (other systems: no tiles) */
#if defined(__linux__)
    return strncmp(name, "amx-", 4) != 0 || syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
    return strncmp(name, "amx-", 4) != 0;
#endif
#else
    (void)name;
    return false;
#endif
}
