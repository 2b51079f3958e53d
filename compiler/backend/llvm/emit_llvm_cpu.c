/* emit_llvm_cpu.c: PREFIX_cpu_missing() and the checked entry points in LLVM IR (../cpu_check.h; the C
 * printer's twin is ../c/emit_c_cpu.c). On x86-64 every entry point is a wrapper built for baseline x86-64
 * that returns ERR_CPU when the running CPU lacks an extension the module was built for, and otherwise calls
 * the entry's body (PREFIX_ENTRY.body, internal), which LLVM may build with any of them, its prologue
 * included. Elsewhere PREFIX_cpu_missing returns NULL and the entries are not wrapped. */
#include "llvm_internal.h"

#include <string.h>

#include "../abi.h"
#include "../cpu_check.h"

/* Whether the comma-separated LLVM feature list has "+name". */
static bool plus(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        size_t m = strcspn(p, ",");
        if (m == n + 1 && *p == '+' && !strncmp(p + 1, name, n)) return true;
        p += m;
        if (*p) p++;
    }
    return false;
}

/* The extensions the module's code may use: "+name" in its feature list, and what the target table's
 * CPU implies (LLVM derives those features from the CPU name, which LLVM-C does not list): x86-64-v3's
 * with AVX2, x86-64-v4's AVX-512 subsets with AVX512F. */
static bool required(const urc_cpu_feature *f, const char *features, unsigned tf) {
    static const char *const v3[] = {"sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "movbe", "lzcnt",
                                     "bmi",  "bmi2",  "avx",    "fma",    "f16c",   "avx2"};
    static const char *const v4[] = {"avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"};
    if (plus(features, f->llvm)) return true;
    for (size_t i = 0; i < sizeof v3 / sizeof v3[0] && (tf & URC_FEAT_AVX2); i++)
        if (!strcmp(f->llvm, v3[i])) return true;
    for (size_t i = 0; i < sizeof v4 / sizeof v4[0] && (tf & URC_FEAT_AVX512F); i++)
        if (!strcmp(f->llvm, v4[i])) return true;
    return (!strcmp(f->llvm, "avx512bf16") && (tf & URC_FEAT_AVX512BF16)) ||
           (!strcmp(f->llvm, "avx512fp16") && (tf & URC_FEAT_AVX512FP16)) ||
           (!strcmp(f->llvm, "avx512vnni") && (tf & URC_FEAT_AVX512VNNI)) ||
           (!strcmp(f->llvm, "avxvnni") && (tf & URC_FEAT_AVXVNNI));
}

/* A function built for baseline x86-64, whatever the module's CPU and features. */
static LLVMValueRef baseline_function(gen *g, const char *name, LLVMTypeRef ft, bool internal) {
    LLVMValueRef f = LLVMAddFunction(g->mod, name, ft);
    if (internal) LLVMSetLinkage(f, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(g->ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    LLVMAddTargetDependentFunctionAttr(f, "target-cpu", "x86-64");
    LLVMAddTargetDependentFunctionAttr(f, "target-features", "+cx8,+fxsr,+mmx,+sse,+sse2,+x87");
    return f;
}

static LLVMValueRef field(gen *g, LLVMValueRef agg, unsigned i) { return LLVMBuildExtractValue(g->b, agg, i, ""); }

/* An i32 that is a when control came from block ba, b from bb. */
static LLVMValueRef phi2(gen *g, LLVMValueRef a, LLVMBasicBlockRef ba, LLVMValueRef b, LLVMBasicBlockRef bb) {
    LLVMValueRef p = LLVMBuildPhi(g->b, g->i32, "");
    LLVMValueRef inc[2] = {a, b};
    LLVMBasicBlockRef from[2] = {ba, bb};
    LLVMAddIncoming(p, inc, from, 2);
    return p;
}

/* CPUID(leaf, sub) as {eax, ebx, ecx, edx} */
static LLVMValueRef cpuid(gen *g, unsigned leaf, unsigned sub) {
    LLVMTypeRef r4[4] = {g->i32, g->i32, g->i32, g->i32}, a2[2] = {g->i32, g->i32};
    LLVMTypeRef ft = LLVMFunctionType(LLVMStructTypeInContext(g->ctx, r4, 4, 0), a2, 2, 0);
    static char code[] = "cpuid", cons[] = "={ax},={bx},={cx},={dx},{ax},{cx},~{dirflag},~{fpsr},~{flags}";
    LLVMValueRef asm_ = LLVMGetInlineAsm(ft, code, strlen(code), cons, strlen(cons), 1, 0, LLVMInlineAsmDialectATT, 0);
    LLVMValueRef args[2] = {ll_ci(g->i32, (int64_t)leaf), ll_ci(g->i32, sub)};
    return LLVMBuildCall2(g->b, ft, asm_, args, 2, "");
}

/* PREFIX.cpu_scan(): 0, or 1 + the index (into the required list) of the first required extension missing */
static LLVMValueRef scan_function(gen *g, const char *prefix, const urc_cpu_feature **req, int nreq) {
    LLVMValueRef fn = baseline_function(g, urc_fmt("%s.cpu_scan", prefix), LLVMFunctionType(g->i32, NULL, 0, 0), true);
    g->fn = fn;
    LLVMBasicBlockRef entry = ll_block_new(g, "entry"), xs = ll_block_new(g, "xgetbv"), done = ll_block_new(g, "scan");
    LLVMPositionBuilderAtEnd(g->b, entry);
    /* every leaf read (CPUID never faults), then zeroed where the CPU's highest leaf is below it */
    LLVMValueRef top = field(g, cpuid(g, 0, 0), 0), xtop = field(g, cpuid(g, 0x80000000u, 0), 0);
    LLVMValueRef set[URC_CPUID_SETS][4];
    LLVMValueRef r1 = cpuid(g, 1, 0), r7 = cpuid(g, 7, 0), r71 = cpuid(g, 7, 1), rx1 = cpuid(g, 0x80000001u, 0);
    LLVMValueRef has1 = ll_icmp(g, LLVMIntUGE, top, ll_ci(g->i32, 1)),
                 has7 = ll_icmp(g, LLVMIntUGE, top, ll_ci(g->i32, 7));
    LLVMValueRef zero = ll_ci(g->i32, 0);
    for (unsigned r = 0; r < 4; r++) {
        set[URC_CPUID_1][r] = LLVMBuildSelect(g->b, has1, field(g, r1, r), zero, "");
        set[URC_CPUID_7][r] = LLVMBuildSelect(g->b, has7, field(g, r7, r), zero, "");
    }
    LLVMValueRef has71 = LLVMBuildAnd(g->b, has7, ll_icmp(g, LLVMIntUGE, set[URC_CPUID_7][0], ll_ci(g->i32, 1)), "");
    LLVMValueRef hasx1 = ll_icmp(g, LLVMIntUGE, xtop, ll_ci(g->i32, (int64_t)0x80000001u));
    for (unsigned r = 0; r < 4; r++) {
        set[URC_CPUID_7_1][r] = LLVMBuildSelect(g->b, has71, field(g, r71, r), zero, "");
        set[URC_CPUID_X1][r] = LLVMBuildSelect(g->b, hasx1, field(g, rx1, r), zero, "");
    }
    /* XGETBV only with OSXSAVE (it faults otherwise): which register state the operating system enabled */
    LLVMValueRef osx = ll_icmp(g, LLVMIntNE, LLVMBuildAnd(g->b, set[URC_CPUID_1][2], ll_ci(g->i32, 1 << 27), ""), zero);
    LLVMBuildCondBr(g->b, osx, xs, done);
    LLVMPositionBuilderAtEnd(g->b, xs);
    LLVMTypeRef r2[2] = {g->i32, g->i32};
    LLVMTypeRef xft = LLVMFunctionType(LLVMStructTypeInContext(g->ctx, r2, 2, 0), &g->i32, 1, 0);
    static char xcode[] = "xgetbv", xcons[] = "={ax},={dx},{cx},~{dirflag},~{fpsr},~{flags}";
    LLVMValueRef xasm =
        LLVMGetInlineAsm(xft, xcode, strlen(xcode), xcons, strlen(xcons), 1, 0, LLVMInlineAsmDialectATT, 0);
    LLVMValueRef c0 = zero;
    LLVMValueRef xcr0 = field(g, LLVMBuildCall2(g->b, xft, xasm, &c0, 1, ""), 0); /* (the low half: bits 0-31) */
    LLVMBuildBr(g->b, done);
    LLVMPositionBuilderAtEnd(g->b, done);
    LLVMValueRef x = phi2(g, zero, entry, xcr0, xs);
    LLVMValueRef res = zero;
    for (int i = nreq - 1; i >= 0; i--) { /* the first missing wins */
        const urc_cpu_feature *f = req[i];
        LLVMValueRef bit = ll_ci(g->i32, (int64_t)(1u << f->bit));
        LLVMValueRef miss = ll_icmp(g, LLVMIntEQ, LLVMBuildAnd(g->b, set[f->set][f->reg], bit, ""), zero);
        if (f->xcr0) {
            LLVMValueRef m = ll_ci(g->i32, f->xcr0);
            miss = LLVMBuildOr(g->b, miss, ll_icmp(g, LLVMIntNE, LLVMBuildAnd(g->b, x, m, ""), m), "");
        }
        res = LLVMBuildSelect(g->b, miss, ll_ci(g->i32, i + 1), res, "");
    }
    bool amx = false;
    for (int i = 0; i < nreq; i++) amx = amx || !strcmp(req[i]->llvm, "amx-tile");
    if (amx && g->os_linux) { /* Linux gives the tile data state on request: arch_prctl(ARCH_REQ_XCOMP_PERM, 18) */
        LLVMTypeRef a3[3] = {g->i64, g->i64, g->i64};
        LLVMTypeRef sft = LLVMFunctionType(g->i64, a3, 3, 0);
        static char scode[] = "syscall",
                    scons[] = "={ax},{ax},{di},{si},~{rcx},~{r11},~{memory},~{dirflag},~{fpsr},~{flags}";
        LLVMValueRef sasm =
            LLVMGetInlineAsm(sft, scode, strlen(scode), scons, strlen(scons), 1, 0, LLVMInlineAsmDialectATT, 0);
        LLVMValueRef args[3] = {ll_ci(g->i64, 158), ll_ci(g->i64, 0x1023), ll_ci(g->i64, 18)};
        LLVMBasicBlockRef ask = ll_block_new(g, "amx"), end = ll_block_new(g, "end"), here = LLVMGetInsertBlock(g->b);
        LLVMBuildCondBr(g->b, ll_icmp(g, LLVMIntEQ, res, zero), ask, end); /* only on a CPU that has AMX */
        LLVMPositionBuilderAtEnd(g->b, ask);
        LLVMValueRef rc = LLVMBuildCall2(g->b, sft, sasm, args, 3, "");
        LLVMValueRef refused = ll_icmp(g, LLVMIntNE, rc, ll_ci(g->i64, 0));
        LLVMValueRef r2 = LLVMBuildSelect(g->b, refused, ll_ci(g->i32, nreq + 1), zero, "");
        LLVMBuildBr(g->b, end);
        LLVMPositionBuilderAtEnd(g->b, end);
        res = phi2(g, res, here, r2, ask);
    }
    LLVMBuildRet(g->b, res);
    return fn;
}

/* PREFIX_cpu_missing(): NULL, or the name of the first required extension missing (scanned once) */
static void missing_function(gen *g, const char *prefix, const urc_cpu_feature **req, int nreq, bool x86) {
    LLVMValueRef fn =
        x86 ? baseline_function(g, urc_fmt("%s_cpu_missing", prefix), LLVMFunctionType(g->p8, NULL, 0, 0), false)
            : ll_new_function(g, urc_fmt("%s_cpu_missing", prefix), LLVMFunctionType(g->p8, NULL, 0, 0), false);
    LLVMValueRef scan = x86 && nreq ? scan_function(g, prefix, req, nreq) : NULL;
    g->fn = fn;
    LLVMPositionBuilderAtEnd(g->b, ll_block_new(g, "entry"));
    if (!scan) {
        LLVMBuildRet(g->b, LLVMConstNull(g->p8));
        return;
    }
    /* seen: 0 not scanned yet, else 1 + the scan's result (relaxed atomics: every thread computes the same) */
    LLVMValueRef seen = LLVMAddGlobal(g->mod, g->i32, urc_fmt("%s.cpu_seen", prefix));
    LLVMSetInitializer(seen, ll_ci(g->i32, 0));
    LLVMSetLinkage(seen, LLVMInternalLinkage);
    LLVMValueRef *names = urc_alloc(sizeof(LLVMValueRef) * (size_t)(nreq + 2));
    names[0] = LLVMConstNull(g->p8);
    for (int i = 0; i <= nreq; i++) { /* (and the name of a refused AMX state, 1 + nreq) */
        const char *nm = i < nreq ? req[i]->name : URC_CPU_AMX_PERM;
        LLVMValueRef s = LLVMConstStringInContext(g->ctx, nm, (unsigned)strlen(nm), 0);
        LLVMValueRef sg = LLVMAddGlobal(g->mod, LLVMTypeOf(s), urc_fmt("%s.cpu_name", prefix));
        LLVMSetInitializer(sg, s);
        LLVMSetGlobalConstant(sg, 1);
        LLVMSetLinkage(sg, LLVMPrivateLinkage);
        names[i + 1] = LLVMConstBitCast(sg, g->p8);
    }
    LLVMValueRef tab_init = LLVMConstArray(g->p8, names, (unsigned)(nreq + 2));
    LLVMValueRef tab = LLVMAddGlobal(g->mod, LLVMTypeOf(tab_init), urc_fmt("%s.cpu_names", prefix));
    LLVMSetInitializer(tab, tab_init);
    LLVMSetGlobalConstant(tab, 1);
    LLVMSetLinkage(tab, LLVMPrivateLinkage);
    LLVMBasicBlockRef here = LLVMGetInsertBlock(g->b), first = ll_block_new(g, "scan"), have = ll_block_new(g, "have");
    LLVMValueRef s = LLVMBuildLoad2(g->b, g->i32, seen, "");
    LLVMSetOrdering(s, LLVMAtomicOrderingMonotonic);
    LLVMSetAlignment(s, 4);
    LLVMBuildCondBr(g->b, ll_icmp(g, LLVMIntEQ, s, ll_ci(g->i32, 0)), first, have);
    LLVMPositionBuilderAtEnd(g->b, first);
    LLVMValueRef r =
        LLVMBuildAdd(g->b, LLVMBuildCall2(g->b, LLVMGlobalGetValueType(scan), scan, NULL, 0, ""), ll_ci(g->i32, 1), "");
    LLVMValueRef st = LLVMBuildStore(g->b, r, seen);
    LLVMSetOrdering(st, LLVMAtomicOrderingMonotonic);
    LLVMSetAlignment(st, 4);
    LLVMBuildBr(g->b, have);
    LLVMPositionBuilderAtEnd(g->b, have);
    LLVMValueRef v = phi2(g, s, here, r, first);
    LLVMValueRef idx[2] = {ll_ci(g->i64, 0),
                           LLVMBuildZExt(g->b, LLVMBuildSub(g->b, v, ll_ci(g->i32, 1), ""), g->i64, "")};
    LLVMBuildRet(g->b,
                 LLVMBuildLoad2(g->b, g->p8, LLVMBuildInBoundsGEP2(g->b, LLVMTypeOf(tab_init), tab, idx, 2, ""), ""));
}

/* NAME (an entry point already built) becomes NAME.body, internal, behind a baseline wrapper NAME that
 * returns ERR_CPU when PREFIX_cpu_missing() says so. */
static void wrap(gen *g, const char *name, LLVMValueRef missing) {
    LLVMValueRef body = LLVMGetNamedFunction(g->mod, name);
    LLVMSetValueName2(body, urc_fmt("%s.body", name), strlen(name) + 5);
    LLVMSetLinkage(body, LLVMInternalLinkage);
    LLVMTypeRef ft = LLVMGlobalGetValueType(body);
    unsigned np = LLVMCountParamTypes(ft);
    LLVMValueRef fn = baseline_function(g, name, ft, false);
    g->fn = fn;
    LLVMPositionBuilderAtEnd(g->b, ll_block_new(g, "entry"));
    LLVMBasicBlockRef bad = ll_block_new(g, "cpu"), ok = ll_block_new(g, "run");
    LLVMValueRef m = LLVMBuildCall2(g->b, LLVMGlobalGetValueType(missing), missing, NULL, 0, "");
    LLVMBuildCondBr(g->b, LLVMBuildIsNull(g->b, m, ""), ok, bad);
    LLVMPositionBuilderAtEnd(g->b, bad);
    LLVMBuildRet(g->b, ll_ci(g->i32, UNETRC_ERR_CPU));
    LLVMPositionBuilderAtEnd(g->b, ok);
    LLVMValueRef *args = urc_alloc(sizeof(LLVMValueRef) * ((size_t)np + 1));
    for (unsigned i = 0; i < np; i++) args[i] = LLVMGetParam(fn, i);
    LLVMBuildRet(g->b, LLVMBuildCall2(g->b, ft, body, args, np, ""));
}

void ll_cpu_check(gen *g, bool x86, unsigned target_features, const char *prefix, const char *const *names, int n) {
    const urc_cpu_feature **req = urc_alloc(sizeof(*req) * (size_t)(urc_ncpu_features + 1));
    int nreq = 0;
    for (int i = 0; i < urc_ncpu_features && x86; i++)
        if (required(&urc_cpu_features[i], g->features, target_features)) req[nreq++] = &urc_cpu_features[i];
    missing_function(g, prefix, req, nreq, x86);
    if (!x86) return;
    LLVMValueRef missing = LLVMGetNamedFunction(g->mod, urc_fmt("%s_cpu_missing", prefix));
    for (int i = 0; i < n; i++) wrap(g, names[i], missing);
}
