/* test_cpu_host.c: what --target-cpu native detects (backend/cpu_check.h urc_cpu_host_has, target.h) against the
 * kernel's view of this CPU, /proc/cpuinfo's flags (CPUID filtered by what Linux enabled): every extension of the
 * generated code's table must agree, and the native target's feature bits must be the ones its extensions give
 * (a missed detection once kept AMX and F16C out of every native build). Only on x86-64 Linux. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../compiler/backend/cpu_check.h"
#include "../compiler/target/target.h"

/* /proc/cpuinfo's name of a table entry (the kernel spells some differently) */
static const char *kernel_name(const char *n) {
    static const char *const map[][2] = {{"sse3", "pni"},
                                         {"bmi", "bmi1"},
                                         {"sse4.1", "sse4_1"},
                                         {"sse4.2", "sse4_2"},
                                         {"lzcnt", "abm"},
                                         {"avxvnni", "avx_vnni"},
                                         {"avx512vnni", "avx512_vnni"},
                                         {"avx512bf16", "avx512_bf16"},
                                         {"avx512fp16", "avx512_fp16"},
                                         {"avx512vbmi2", "avx512_vbmi2"},
                                         {"avx512bitalg", "avx512_bitalg"},
                                         {"avx512vpopcntdq", "avx512_vpopcntdq"},
                                         {"amx-tile", "amx_tile"},
                                         {"amx-bf16", "amx_bf16"},
                                         {"amx-int8", "amx_int8"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i][0], n)) return map[i][1];
    return n;
}

static bool has_flag(const char *flags, const char *name) {
    size_t n = strlen(name);
    for (const char *p = flags; (p = strstr(p, name)); p += n)
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n])) return true;
    return false;
}

int main(void) {
#if defined(__x86_64__) && defined(__linux__)
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) {
        printf("cpu_host: no /proc/cpuinfo, skipped\n");
        return 0;
    }
    static char line[1 << 16], flags[1 << 16];
    flags[0] = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "flags", 5) && strchr(line, ':')) {
            snprintf(flags, sizeof flags, "%s", strchr(line, ':') + 1);
            break;
        }
    fclose(f);
    int fails = 0, have = 0;
    for (int i = 0; i < urc_ncpu_features; i++) {
        const char *n = urc_cpu_features[i].name;
        bool host = urc_cpu_host_has(n), kernel = has_flag(flags, kernel_name(n));
        have += host;
        if (host != kernel) {
            printf("FAIL: %s: detected %d, /proc/cpuinfo %d\n", n, host, kernel);
            fails++;
        }
    }
    if (urc_cpu_host_has("no-such-extension")) printf("FAIL: an unknown name detected\n"), fails++;
    urc_target t;
    if (!urc_target_lookup("native", &t)) return printf("FAIL: no native target\n"), 1;
    for (int b = 0; b < URC_FEAT_COUNT; b++) { /* (the features of the table: neon, sve and no-fp64 are not) */
        const char *n = urc_target_feature_name(b);
        bool known = false;
        for (int i = 0; i < urc_ncpu_features; i++) known |= !strcmp(urc_cpu_features[i].name, n);
        if (known && !(t.features >> b & 1) != !has_flag(flags, kernel_name(n))) {
            printf("FAIL: native target: %s %s\n", n, t.features >> b & 1 ? "set" : "missing");
            fails++;
        }
    }
    printf("cpu_host: %d of %d extensions here, %d disagreements\n", have, urc_ncpu_features, fails);
    return fails != 0;
#else
    printf("cpu_host: not x86-64 Linux, skipped\n");
    return 0;
#endif
}
