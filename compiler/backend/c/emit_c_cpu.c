/* emit_c_cpu.c: NAME_cpu_missing() in generated C (../cpu_check.h): which x86-64 extension, of those the C
 * compiler was told to target (its predefined macros, from -march / -m flags), the running CPU lacks.
 * CPUID and XGETBV by inline assembly, so the code stays libc-free; the scan is compiled for baseline
 * x86-64 (a target attribute), so that it cannot itself use what it checks. */
#include "../cpu_check.h"
#include "emit_c.h"

static const char *const reg_name[] = {"eax", "ebx", "ecx", "edx"};

void urc_c_cpu_check(const char *prefix, urc_strbuf *out) {
    urc_sb_printf(out,
                  "\n/* ---- %s_cpu_missing: the instruction-set extensions this file was compiled for (the C\n"
                  " * compiler's -march / -m flags, as it defines them) against CPUID, once */\n"
                  "#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))\n"
                  "#define URC_BASELINE " URC_CPU_BASELINE_ATTR "\n"
                  "typedef struct %s_cpuid_regs {\n    unsigned eax, ebx, ecx, edx;\n} %s_cpuid_regs;\n"
                  "static %s_cpuid_regs %s_cpuid(unsigned leaf, unsigned sub) {\n"
                  "    %s_cpuid_regs r;\n"
                  "    __asm__ __volatile__(\"cpuid\" : \"=a\"(r.eax), \"=b\"(r.ebx), \"=c\"(r.ecx), \"=d\"(r.edx) : "
                  "\"a\"(leaf), \"c\"(sub));\n"
                  "    return r;\n}\n",
                  prefix, prefix, prefix, prefix, prefix, prefix);
    urc_sb_printf(out,
                  "/* 0, or 1 + the index in %s_cpu_names of the first extension missing (or not enabled by the\n"
                  " * operating system: XGETBV's XCR0) */\n"
                  "static URC_BASELINE int %s_cpu_scan(void) {\n"
                  "    %s_cpuid_regs r[4] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}};\n"
                  "    unsigned long long xcr0 = 0;\n"
                  "    unsigned top = %s_cpuid(0, 0).eax, xtop = %s_cpuid(0x80000000u, 0).eax;\n"
                  "    if (top >= 1) r[0] = %s_cpuid(1, 0);\n"
                  "    if (top >= 7) r[1] = %s_cpuid(7, 0);\n"
                  "    if (top >= 7 && r[1].eax >= 1) r[2] = %s_cpuid(7, 1);\n"
                  "    if (xtop >= 0x80000001u) r[3] = %s_cpuid(0x80000001u, 0);\n"
                  "    if (r[0].ecx & 0x8000000u) { /* OSXSAVE */\n"
                  "        unsigned lo, hi;\n"
                  "        __asm__ __volatile__(\"xgetbv\" : \"=a\"(lo), \"=d\"(hi) : \"c\"(0));\n"
                  "        xcr0 = (unsigned long long)hi << 32 | lo;\n"
                  "    }\n"
                  "    (void)xcr0;\n",
                  prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix);
    for (int i = 0; i < urc_ncpu_features; i++) {
        const urc_cpu_feature *f = &urc_cpu_features[i];
        urc_sb_printf(out, "#if defined(%s)\n    if (!(r[%d].%s & 0x%xu)", f->macro, f->set, reg_name[f->reg],
                      1u << f->bit);
        if (f->xcr0) urc_sb_printf(out, " || (xcr0 & 0x%xu) != 0x%xu", f->xcr0, f->xcr0);
        urc_sb_printf(out, ") return %d;\n#endif\n", i + 1);
    }
    urc_sb_printf(out,
                  "#if defined(URC_AMX_TILES) && defined(__linux__)\n"
                  "    { /* Linux gives a process the AMX tile data state on request: arch_prctl(ARCH_REQ_XCOMP_PERM,\n"
                  "       * XFEATURE_XTILEDATA), by the system call itself (no libc) */\n"
                  "        long rc;\n"
                  "        __asm__ __volatile__(\"syscall\" : \"=a\"(rc) : \"a\"(158L), \"D\"(0x1023L), \"S\"(18L) : "
                  "\"rcx\", \"r11\", \"memory\");\n"
                  "        if (rc != 0) return %d;\n    }\n#endif\n",
                  urc_ncpu_features + 1);
    urc_sb_puts(out, "    return 0;\n}\n#else\n#define URC_BASELINE\n#endif\n\n");
    urc_sb_printf(out,
                  "URC_BASELINE const char *%s_cpu_missing(void) {\n"
                  "#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))\n"
                  "    static const char *const names[] = {",
                  prefix);
    for (int i = 0; i < urc_ncpu_features; i++) urc_sb_printf(out, i ? ", \"%s\"" : "\"%s\"", urc_cpu_features[i].name);
    urc_sb_printf(out, ",\n                                         \"%s\"", URC_CPU_AMX_PERM);
    urc_sb_printf(
        out,
        "};\n"
        "    static int seen; /* 0: not scanned yet, else 1 + the scan's result */\n"
        "    int s = __atomic_load_n(&seen, __ATOMIC_RELAXED);\n"
        "    if (!s) {\n        s = 1 + %s_cpu_scan();\n        __atomic_store_n(&seen, s, __ATOMIC_RELAXED);\n"
        "    }\n"
        "    return s > 1 ? names[s - 2] : (const char *)0;\n"
        "#else\n    return (const char *)0;\n#endif\n}\n",
        prefix);
}
