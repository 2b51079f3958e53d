/* cpu_check.h: the x86-64 instruction-set extensions generated code may be compiled for, and where CPUID
 * reports them. Both backends build from this table a function NAME_cpu_missing() that the entry points call
 * first: code compiled for an extension the running CPU lacks (a binary built with -march=native moved to
 * another machine) returns NAME_ERR_CPU instead of faulting on the first such instruction (docs/abi.md). */
#ifndef URC_BACKEND_CPU_CHECK_H
#define URC_BACKEND_CPU_CHECK_H

#include <stdbool.h>

/* CPUID's register sets the table reads: leaf 1, leaf 7 subleaf 0, leaf 7 subleaf 1, leaf 0x80000001 */
enum { URC_CPUID_1, URC_CPUID_7, URC_CPUID_7_1, URC_CPUID_X1, URC_CPUID_SETS };

typedef struct urc_cpu_feature {
    const char *name;  /* as the message names it: "avx512bf16" */
    const char *macro; /* defined by GCC and Clang when they target it: "__AVX512BF16__" */
    const char *llvm;  /* LLVM's feature: "avx512bf16" */
    int set;           /* URC_CPUID_* */
    int reg;           /* 0 eax, 1 ebx, 2 ecx, 3 edx */
    int bit;
    unsigned xcr0; /* state the operating system must have enabled (XGETBV 0): 0x6 AVX, 0xe6 AVX-512 */
} urc_cpu_feature;

/* Extensions a C compiler may use for the generated code (vectorised loops, scalar bit operations, the
 * printer's intrinsics). Not listed, so never required: what compilers only emit for intrinsics the code does
 * not use (AES, SHA, AVX512-VP2INTERSECT: gcc 12's sapphirerapids enables the last, which those CPUs do not
 * have). AMX-TILE, AMX-BF16 and AMX-INT8 are required by a program with tile kernels (macro URC_AMX_TILES,
 * whichever products it uses: every CPU with AMX so far has all three), whatever the flags; such a program also asks Linux for the tile state (URC_CPU_AMX_PERM), which a process must
 * request before its first tile instruction. */
extern const urc_cpu_feature urc_cpu_features[];
extern const int urc_ncpu_features;

/* The name NAME_cpu_missing gives when Linux refuses the AMX tile state (arch_prctl(ARCH_REQ_XCOMP_PERM,
 * XFEATURE_XTILEDATA): a kernel older than 5.16, or a seccomp policy). */
#define URC_CPU_AMX_PERM "the AMX tile state (Linux refused arch_prctl ARCH_REQ_XCOMP_PERM)"

/* The C attribute (GCC and Clang on x86-64) that builds a function for baseline x86-64 whatever the file's
 * -march / -m flags: "arch=" alone keeps Clang's -m features, so each extension family is switched off too
 * (no-sse3 takes SSSE3, SSE4, AVX and AVX-512 with it). The checked entry points and the CPU scan use it
 * (URC_BASELINE in generated code), and unetrc's run harness for its own functions. */
#define URC_CPU_BASELINE_ATTR                                                                                          \
    "__attribute__((target(\"arch=x86-64,no-sse3,no-popcnt,no-bmi,no-bmi2,no-lzcnt,no-movbe,no-gfni\")))"

/* Whether this machine (the compiler's) has extension NAME of the table (CPUID and the state XGETBV says the
 * operating system enabled; "amx-*" also asks Linux for the tile state, as generated code does): what
 * --target-cpu native detects. False for a name not in the table, and on other architectures. */
bool urc_cpu_host_has(const char *name);

/* The one-line message of an entry that returned ERR_CPU (U: the macro prefix, "SEG"; missing: what
 * PREFIX_cpu_missing named, or NULL). */
const char *urc_cpu_message(const char *U, const char *missing);

#endif
