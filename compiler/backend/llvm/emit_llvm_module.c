/* emit_llvm_module.c: the entry points (the C backend's ABI: arena and
 * weights checks, labels, the training entry's parameter table), the
 * weights global and the object file for a target (emit_llvm.h); the
 * kernels themselves are built by emit_llvm.c. */
#include "llvm_internal.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <stdlib.h>
#include <string.h>

#include "../../base/diag.h"
#include "../abi.h"

/* ---- entry points ------------------------------------------------------------------------- */

typedef struct entry_ctx {
    LLVMValueRef W, A, PR, ST, *in, *out;
} entry_ctx;

/* return code if cond */
static void ret_if(gen *g, LLVMValueRef cond, int code) {
    LLVMBasicBlockRef yes = ll_block_new(g, "err"), no = ll_block_new(g, "ok");
    LLVMBuildCondBr(g->b, cond, yes, no);
    LLVMPositionBuilderAtEnd(g->b, yes);
    LLVMBuildRet(g->b, ll_ci(g->i32, code));
    LLVMPositionBuilderAtEnd(g->b, no);
}

static LLVMValueRef misaligned(gen *g, LLVMValueRef p, int align) {
    LLVMValueRef x = LLVMBuildAnd(g->b, LLVMBuildPtrToInt(g->b, p, g->i64, ""), ll_ci(g->i64, align - 1), "");
    return ll_icmp(g, LLVMIntNE, x, ll_ci(g->i64, 0));
}

/* Every label one of the classes' label values, else ERR_LABEL (the C printer's label_check). */
static void label_check(gen *g, const urc_program *P, LLVMValueRef label) {
    const urc_io *io = &P->inputs.items[P->label_input];
    LLVMTypeRef et = ll_mem_type(g, io->dt);
    LLVMValueRef lp = LLVMBuildBitCast(g->b, label, LLVMPointerType(et, 0), "");
    LLVMValueRef iv = ll_entry_alloca(g, g->i64, 8), bad = ll_entry_alloca(g, g->i1, 1);
    LLVMBuildStore(g->b, ll_ci(g->i64, 0), iv);
    LLVMBuildStore(g->b, LLVMConstInt(g->i1, 0, 0), bad);
    LLVMBasicBlockRef head = ll_block_new(g, "labels"), body = ll_block_new(g, "label"),
                      done = ll_block_new(g, "labels.end");
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, head);
    LLVMValueRef i = LLVMBuildLoad2(g->b, g->i64, iv, "");
    LLVMBuildCondBr(g->b, ll_icmp(g, LLVMIntSLT, i, ll_ci(g->i64, urc_shape_numel(&io->shape))), body, done);
    LLVMPositionBuilderAtEnd(g->b, body);
    LLVMValueRef l = LLVMBuildLoad2(g->b, et, LLVMBuildInBoundsGEP2(g->b, et, lp, &i, 1, ""), "");
    l = ll_convert(g, l, io->dt, URC_DT_I64, true);
    LLVMValueRef hit = LLVMConstInt(g->i1, 0, 0);
    for (int c = 0; c < P->nclasses; c++)
        hit = LLVMBuildOr(g->b, hit, ll_icmp(g, LLVMIntEQ, l, ll_ci(g->i64, P->label_values[c])), "");
    LLVMBuildStore(g->b, LLVMBuildOr(g->b, LLVMBuildLoad2(g->b, g->i1, bad, ""), LLVMBuildNot(g->b, hit, ""), ""), bad);
    LLVMBuildStore(g->b, LLVMBuildNSWAdd(g->b, i, ll_ci(g->i64, 1), ""), iv);
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, done);
    ret_if(g, LLVMBuildLoad2(g->b, g->i1, bad, ""), UNETRC_ERR_LABEL);
}

static LLVMValueRef weights_global(gen *g, const urc_program *W, const char *prefix) {
    LLVMValueRef gv = LLVMGetNamedGlobal(g->mod, urc_fmt("%s_weights_data", prefix));
    if (gv) return gv;
    int64_t n = W->weights_bytes ? W->weights_bytes : 1;
    LLVMValueRef init = W->weights_bytes ? LLVMConstStringInContext(g->ctx, (const char *)W->weights, (unsigned)n, 1)
                                         : LLVMConstNull(LLVMArrayType(g->i8, 1));
    gv = LLVMAddGlobal(g->mod, LLVMTypeOf(init), urc_fmt("%s_weights_data", prefix));
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMInternalLinkage);
    LLVMSetAlignment(gv, (unsigned)W->align);
    return gv;
}

static void entry_point(gen *g, kernel_table *kt, const urc_program *P, const urc_program *W, const char *entry,
                        const urc_emit_opts *o) {
    bool train = urc_abi_is_training(P);
    int np = (o->embed_weights ? 0 : 1) + (train ? 2 : P->params_bytes ? 1 : 0) + 1 + P->inputs.len + P->outputs.len;
    LLVMTypeRef *ps = urc_alloc(sizeof(LLVMTypeRef) * (size_t)np);
    for (int i = 0; i < np; i++) ps[i] = g->p8;
    LLVMValueRef fn =
        ll_new_function(g, urc_fmt("%s_%s", o->prefix, entry), LLVMFunctionType(g->i32, ps, (unsigned)np, 0), false);
    g->fn = fn;
    g->entry = LLVMAppendBasicBlockInContext(g->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(g->b, g->entry);
    int a = 0;
    entry_ctx e = {0};
    e.W = o->embed_weights ? LLVMBuildBitCast(g->b, weights_global(g, W, o->prefix), g->p8, "")
                           : LLVMGetParam(fn, (unsigned)a++);
    if (train) e.PR = LLVMGetParam(fn, (unsigned)a++), e.ST = LLVMGetParam(fn, (unsigned)a++);
    else if (P->params_bytes) e.PR = LLVMGetParam(fn, (unsigned)a++);
    e.A = LLVMGetParam(fn, (unsigned)a++);
    e.in = urc_alloc(sizeof(LLVMValueRef) * ((size_t)P->inputs.len + 1));
    e.out = urc_alloc(sizeof(LLVMValueRef) * ((size_t)P->outputs.len + 1));
    for (int i = 0; i < P->inputs.len; i++) e.in[i] = LLVMGetParam(fn, (unsigned)a++);
    for (int i = 0; i < P->outputs.len; i++) e.out[i] = LLVMGetParam(fn, (unsigned)a++);
    /* NULL, then alignment: nothing touched before both pass */
    LLVMValueRef bad = LLVMBuildOr(g->b, LLVMBuildIsNull(g->b, e.W, ""), LLVMBuildIsNull(g->b, e.A, ""), "");
    if (e.PR) bad = LLVMBuildOr(g->b, bad, LLVMBuildIsNull(g->b, e.PR, ""), "");
    if (e.ST) bad = LLVMBuildOr(g->b, bad, LLVMBuildIsNull(g->b, e.ST, ""), "");
    for (int i = 0; i < P->inputs.len; i++) bad = LLVMBuildOr(g->b, bad, LLVMBuildIsNull(g->b, e.in[i], ""), "");
    for (int i = 0; i < P->outputs.len; i++) bad = LLVMBuildOr(g->b, bad, LLVMBuildIsNull(g->b, e.out[i], ""), "");
    ret_if(g, bad, UNETRC_ERR_NULL);
    bad = LLVMBuildOr(g->b, misaligned(g, e.W, W->align), misaligned(g, e.A, W->align), "");
    if (e.PR) bad = LLVMBuildOr(g->b, bad, misaligned(g, e.PR, W->align), "");
    if (e.ST) bad = LLVMBuildOr(g->b, bad, misaligned(g, e.ST, W->align), "");
    ret_if(g, bad, UNETRC_ERR_ALIGN);
    if (P->label_values) label_check(g, P, e.in[P->label_input]);
    for (int i = 0; i < P->calls.len; i++) {
        const urc_call *c = &P->calls.items[i];
        LLVMValueRef kf = ll_kernel_fn(g, kt, c->k);
        g->fn = fn; /* ll_kernel() may have built another function: back to the end of this one */
        g->entry = LLVMGetEntryBasicBlock(fn);
        LLVMPositionBuilderAtEnd(g->b, LLVMGetLastBasicBlock(fn));
        int nargs = 0;
        for (int j = 0; j < c->k->bufs.len; j++) nargs += c->k->bufs.items[j].role != URC_KB_LOCAL;
        LLVMValueRef *args = urc_alloc(sizeof(LLVMValueRef) * ((size_t)nargs + 1));
        LLVMTypeRef ft = LLVMGlobalGetValueType(kf);
        LLVMTypeRef *pt = urc_alloc(sizeof(LLVMTypeRef) * ((size_t)nargs + 1));
        LLVMGetParamTypes(ft, pt);
        for (int j = 0, na = 0; j < c->k->bufs.len; j++) {
            if (c->k->bufs.items[j].role == URC_KB_LOCAL) continue;
            const urc_mref *m = &c->args[na];
            LLVMValueRef base;
            switch (m->space) {
            case URC_MEM_INPUT: base = e.in[m->index]; break;
            case URC_MEM_OUTPUT: base = e.out[m->index]; break;
            case URC_MEM_ARENA: base = e.A; break;
            case URC_MEM_WEIGHTS: base = e.W; break;
            case URC_MEM_PARAMS: base = e.PR; break;
            case URC_MEM_STATE: base = e.ST; break;
            default: base = NULL;
            }
            if (m->space != URC_MEM_INPUT && m->space != URC_MEM_OUTPUT) {
                LLVMValueRef off = ll_ci(g->i64, m->offset);
                base = LLVMBuildInBoundsGEP2(g->b, g->i8, base, &off, 1, "");
            }
            args[na] = LLVMBuildBitCast(g->b, base, pt[na], "");
            na++;
        }
        LLVMValueRef r = LLVMBuildCall2(g->b, ft, kf, args, (unsigned)nargs, "");
        if (c->k->can_fail) ret_if(g, ll_icmp(g, LLVMIntNE, r, ll_ci(g->i32, 0)), UNETRC_ERR_INDEX);
    }
    LLVMBuildRet(g->b, ll_ci(g->i32, UNETRC_OK));
}

/* PREFIX_params[] and PREFIX_train_init (the C printer's train_init). */
static void train_init(gen *g, const urc_program *T, const urc_program *W, const urc_emit_opts *o) {
    LLVMTypeRef et[3] = {g->p8, g->i64, g->i64};
    LLVMTypeRef st = LLVMStructTypeInContext(g->ctx, et, 3, 0);
    URC_VEC(LLVMValueRef) rows = {0};
    for (int i = 0; i < T->regions.len; i++) {
        const urc_pentry *p = &T->regions.items[i];
        if (p->state) continue;
        LLVMValueRef s = LLVMConstStringInContext(g->ctx, p->name, (unsigned)strlen(p->name), 0);
        LLVMValueRef sg = LLVMAddGlobal(g->mod, LLVMTypeOf(s), urc_fmt("%s.param_name", o->prefix));
        LLVMSetInitializer(sg, s);
        LLVMSetGlobalConstant(sg, 1);
        LLVMSetLinkage(sg, LLVMPrivateLinkage);
        LLVMSetUnnamedAddress(sg, LLVMGlobalUnnamedAddr);
        LLVMValueRef f[3] = {LLVMConstBitCast(sg, g->p8), ll_ci(g->i64, p->offset), ll_ci(g->i64, p->count)};
        URC_VEC_PUSH(rows, LLVMConstNamedStruct(st, f, 3));
    }
    LLVMValueRef arr = LLVMConstArray(st, rows.items, (unsigned)rows.len);
    LLVMValueRef tab = LLVMAddGlobal(g->mod, LLVMTypeOf(arr), urc_fmt("%s_params", o->prefix));
    LLVMSetInitializer(tab, arr);
    LLVMSetGlobalConstant(tab, 1);
    free(rows.items);

    int np = o->embed_weights ? 2 : 3;
    LLVMTypeRef ps[3] = {g->p8, g->p8, g->p8};
    LLVMValueRef fn =
        ll_new_function(g, urc_fmt("%s_train_init", o->prefix), LLVMFunctionType(g->i32, ps, (unsigned)np, 0), false);
    g->fn = fn;
    g->entry = LLVMAppendBasicBlockInContext(g->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(g->b, g->entry);
    int a = 0;
    LLVMValueRef Wp = o->embed_weights ? LLVMBuildBitCast(g->b, weights_global(g, W, o->prefix), g->p8, "")
                                       : LLVMGetParam(fn, (unsigned)a++);
    LLVMValueRef PR = LLVMGetParam(fn, (unsigned)a++), ST = LLVMGetParam(fn, (unsigned)a++);
    LLVMValueRef bad =
        LLVMBuildOr(g->b, LLVMBuildIsNull(g->b, Wp, ""),
                    LLVMBuildOr(g->b, LLVMBuildIsNull(g->b, PR, ""), LLVMBuildIsNull(g->b, ST, ""), ""), "");
    ret_if(g, bad, UNETRC_ERR_NULL);
    bad = LLVMBuildOr(g->b, misaligned(g, Wp, W->align),
                      LLVMBuildOr(g->b, misaligned(g, PR, W->align), misaligned(g, ST, W->align), ""), "");
    ret_if(g, bad, UNETRC_ERR_ALIGN);
    LLVMValueRef off = ll_ci(g->i64, T->params_init_offset);
    if (T->params_bytes)
        LLVMBuildMemCpy(g->b, PR, 1, LLVMBuildInBoundsGEP2(g->b, g->i8, Wp, &off, 1, ""), 1,
                        ll_ci(g->i64, T->params_bytes));
    if (T->state_bytes) LLVMBuildMemSet(g->b, ST, ll_ci(g->i8, 0), ll_ci(g->i64, T->state_bytes), 1);
    LLVMBuildRet(g->b, ll_ci(g->i32, UNETRC_OK));
}

/* ---- target and object ---------------------------------------------------------------------- */

static bool same_arch(const char *a, const char *b) {
    size_t n = strcspn(a, "-"), m = strcspn(b, "-");
    return n == m && !strncmp(a, b, n);
}

/* The LLVM CPU and features of a compiler/target CPU (LLVM 14 names). */
static void cpu_of(const urc_target *t, const char *triple, const char **cpu, const char **features) {
    *cpu = "generic", *features = "";
    if (!t->name) return;
    if (!strcmp(t->name, "native")) {
        char *host = LLVMGetDefaultTargetTriple();
        bool here = same_arch(host, triple);
        LLVMDisposeMessage(host);
        if (!here) return;
        char *c = LLVMGetHostCPUName(), *f = LLVMGetHostCPUFeatures();
        *cpu = urc_strdup(c), *features = urc_strdup(f);
        LLVMDisposeMessage(c);
        LLVMDisposeMessage(f);
        return;
    }
    if (!t->triple || !same_arch(t->triple, triple)) return;
    if (!strcmp(t->name, "armv8-a")) *features = "+neon";
    else if (!strcmp(t->name, "znver4")) /* not in LLVM 14: Zen 3 with Zen 4's AVX-512 */
        *cpu = "znver3", *features = "+avx512f,+avx512cd,+avx512bw,+avx512dq,+avx512vl,+avx512vnni,+avx512bf16";
    else *cpu = t->name;
}

/* Whether the comma-separated LLVM feature list has token f ("+avx512bf16"). */
static bool has_feature(const char *list, const char *f) {
    size_t n = strlen(f);
    for (const char *p = list; p && *p;) {
        size_t m = strcspn(p, ",");
        if (m == n && !strncmp(p, f, n)) return true;
        p += m;
        if (*p) p++;
    }
    return false;
}

/* A bare-metal triple (thumbv7em-none-eabihf, riscv32-unknown-elf, ...): no OS, so no libgomp and no
 * dynamic loader. Its objects run parallel loops serially (as the C backend's code built without
 * -fopenmp) and are not position-independent (no GOT: data addressed as the linker script places it). */
static bool bare_metal(const char *triple) {
    bool none = false;
    for (const char *p = triple; *p;) {
        size_t n = strcspn(p, "-");
        if ((n == 4 && !strncmp(p, "none", 4)) || (n == 3 && !strncmp(p, "elf", 3))) none = true;
        if (n >= 5 && !strncmp(p, "linux", 5)) return false;
        p += n;
        if (*p) p++;
    }
    return none;
}

/* An M-profile Arm core (thumbv6m, thumbv7m, thumbv7em, thumbv8m.main, ...) without MVE: no vector unit
 * for floats: loops carry no vectorize hint, which LLVM could only refuse with a warning (the explicit vector
 * loops are split into scalar operations by the code generator, which gives smaller code than scalar loops). */
static bool no_float_vectors(const char *triple, const char *features) {
    size_t n = strcspn(triple, "-");
    if (strncmp(triple, "thumbv", 6) || !memchr(triple + 6, 'm', n - 6)) return false;
    return !strstr(features, "+mve");
}

static void init_llvm(void) {
    static bool done;
    if (done) return;
    done = true;
    LLVMInitializeAllTargetInfos();
    LLVMInitializeAllTargets();
    LLVMInitializeAllTargetMCs();
    LLVMInitializeAllAsmPrinters();
    LLVMInitializeAllAsmParsers(); /* inline assembly: CPUID and XGETBV (emit_llvm_cpu.c) */
}

/* fn_argv(i8 **args): calls fn (every parameter a pointer) with args[0..n-1]
 * and returns its result: an entry point of any arity called from C through
 * one pointer type (the JIT, jit_llvm.c). */
static void argv_wrapper(gen *g, LLVMValueRef fn) {
    LLVMTypeRef ft = LLVMGlobalGetValueType(fn);
    unsigned np = LLVMCountParamTypes(ft);
    LLVMTypeRef pp = LLVMPointerType(g->p8, 0);
    size_t len;
    const char *name = LLVMGetValueName2(fn, &len);
    LLVMValueRef w =
        ll_new_function(g, urc_fmt("%.*s_argv", (int)len, name), LLVMFunctionType(g->i32, &pp, 1, 0), false);
    LLVMPositionBuilderAtEnd(g->b, LLVMAppendBasicBlockInContext(g->ctx, w, "entry"));
    LLVMValueRef *args = urc_alloc(sizeof(LLVMValueRef) * ((size_t)np + 1));
    for (unsigned i = 0; i < np; i++) {
        LLVMValueRef at = ll_ci(g->i64, i);
        args[i] = LLVMBuildLoad2(g->b, g->p8, LLVMBuildInBoundsGEP2(g->b, g->p8, LLVMGetParam(w, 0), &at, 1, ""), "");
    }
    LLVMBuildRet(g->b, LLVMBuildCall2(g->b, ft, fn, args, np, ""));
}

bool urc_llvm_build_module(const urc_program *const *progs, const char *const *entries, int n, const urc_emit_opts *o,
                           const urc_llvm_target *tt, LLVMContextRef ctx, bool argv_entries, LLVMModuleRef *mod_out,
                           LLVMTargetMachineRef *tm_out) {
    init_llvm();
    const urc_program *W = progs[n - 1];
    const char *tr = tt->triple ? tt->triple : W->target.triple;
    char *def = NULL;
    if (!tr) tr = def = LLVMGetDefaultTargetTriple();
    char *norm = LLVMNormalizeTargetTriple(tr);
    const char *triple = urc_strdup(norm);
    LLVMDisposeMessage(norm);
    if (def) LLVMDisposeMessage(def);
    const char *cpu, *features;
    cpu_of(&W->target, triple, &cpu, &features);
    if (tt->cpu) cpu = tt->cpu;
    if (tt->features) features = tt->features;
    /* AMX tile kernels (loop.h URC_LS_TILE) need the tile features whatever the CPU; the CPU check then
     * requires them (emit_llvm_cpu.c) */
    bool amx = false;
    for (int i = 0; i < n && !amx; i++)
        for (int j = 0; j < progs[i]->kernels.len && !amx; j++)
            amx = urc_ls_has_tiles(progs[i]->kernels.items[j]->body);
    if (amx) features = urc_fmt("%s%s+amx-tile,+amx-bf16,+amx-int8", features, *features ? "," : "");
    LLVMTargetRef target;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &err)) {
        urc_error(NULL, "--target: LLVM cannot generate code for '%s': %s", triple, err ? err : "unknown triple");
        LLVMDisposeMessage(err);
        return false;
    }
    if (argv_entries) { /* the JIT runs code for this machine only */
        char *host = LLVMGetDefaultTargetTriple();
        bool here = same_arch(host, triple);
        if (!here) urc_error(NULL, "--jit: the code is for '%s', this machine is '%s' (--target-cpu)", triple, host);
        LLVMDisposeMessage(host);
        if (!here) return false;
    }
    bool bare = bare_metal(triple);
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive,
                                                      bare ? LLVMRelocStatic : LLVMRelocPIC, LLVMCodeModelDefault);
    gen g = {0};
    g.ctx = ctx;
    g.mod = LLVMModuleCreateWithNameInContext(o->prefix, g.ctx);
    g.b = LLVMCreateBuilderInContext(g.ctx);
    g.i1 = LLVMInt1TypeInContext(g.ctx), g.i8 = LLVMInt8TypeInContext(g.ctx), g.i16 = LLVMInt16TypeInContext(g.ctx);
    g.i32 = LLVMInt32TypeInContext(g.ctx), g.i64 = LLVMInt64TypeInContext(g.ctx);
    g.f32 = LLVMFloatTypeInContext(g.ctx), g.f64 = LLVMDoubleTypeInContext(g.ctx), g.vd = LLVMVoidTypeInContext(g.ctx);
    g.p8 = LLVMPointerType(g.i8, 0);
    g.cpu = cpu, g.features = features;
    g.serial = bare;
    g.os_linux = strstr(triple, "linux") != NULL;
    g.scalar = no_float_vectors(triple, features);
    /* an x86 instruction is used where the features say so, or where the CPU of --target-cpu has it and
     * neither --cpu nor --features overrides it (own: LLVM's CPU is that one, not the host's) */
    bool x86 = same_arch(triple, "x86_64");
    bool own = !tt->cpu && !tt->features && W->target.name && strcmp(W->target.name, "native");
    unsigned tf = own ? W->target.features : 0;
    /* vdpbf16ps (AVX512-BF16 with VL) */
    g.dpbf16 =
        x86 && !has_feature(features, "-avx512bf16") && !has_feature(features, "-avx512vl") &&
        ((has_feature(features, "+avx512bf16") && has_feature(features, "+avx512vl")) || (tf & URC_FEAT_AVX512BF16));
    /* vpdpbusd (AVX512-VNNI with VL, or AVX-VNNI) */
    bool avx512vnni =
        !has_feature(features, "-avx512vnni") && !has_feature(features, "-avx512vl") &&
        ((has_feature(features, "+avx512vnni") && has_feature(features, "+avx512vl")) || (tf & URC_FEAT_AVX512VNNI));
    bool avxvnni = !has_feature(features, "-avxvnni") && (has_feature(features, "+avxvnni") || (tf & URC_FEAT_AVXVNNI));
    g.vnni = !x86 ? 0 : avx512vnni ? 1 : avxvnni ? 2 : 0;
    /* vcvtph2ps (F16C: x86-64-v3 and later; without it LLVM would call a libgcc routine for fpext half) */
    g.f16c = x86 && !has_feature(features, "-f16c") && (has_feature(features, "+f16c") || (tf & URC_FEAT_F16C));
    if (x86) g.vector_width = urc_fmt("%d", W->target.vector_bits ? W->target.vector_bits : 256);
    g.md_loop = LLVMGetMDKindIDInContext(g.ctx, "llvm.loop", 9);
    LLVMSetTarget(g.mod, triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(g.mod, dl);
    LLVMDisposeTargetData(dl);
    LLVMSetSourceFileName(g.mod, o->source_name ? o->source_name : "model",
                          strlen(o->source_name ? o->source_name : "model"));

    kernel_table kt = {0};
    for (int i = 0; i < n; i++) entry_point(&g, &kt, progs[i], W, entries[i], o);
    const urc_program *T = urc_abi_param_program(progs, n);
    if (T) train_init(&g, T, W, o);
    {
        const char **names = urc_alloc(sizeof(char *) * (size_t)(n + 1));
        for (int i = 0; i < n; i++) names[i] = urc_fmt("%s_%s", o->prefix, entries[i]);
        if (T) names[n] = urc_fmt("%s_train_init", o->prefix);
        ll_cpu_check(&g, x86, tf, o->prefix, names, n + (T != NULL));
    }
    if (argv_entries) {
        for (int i = 0; i < n; i++)
            argv_wrapper(&g, LLVMGetNamedFunction(g.mod, urc_fmt("%s_%s", o->prefix, entries[i])));
        if (T) argv_wrapper(&g, LLVMGetNamedFunction(g.mod, urc_fmt("%s_train_init", o->prefix)));
    }
    urc_hindex_free(&kt.index);
    free(kt.k.items);
    free(kt.fn.items);
    LLVMDisposeBuilder(g.b);

    bool ok = true;
    const char *dump = getenv("UNETRC_LLVM_DUMP"); /* the module before optimisation, for debugging */
    if (dump && *dump) LLVMPrintModuleToFile(g.mod, dump, NULL);
    if (LLVMVerifyModule(g.mod, LLVMReturnStatusAction, &err)) {
        urc_error(NULL, "internal error: the LLVM module does not verify: %.300s", err ? err : "");
        ok = false;
    }
    LLVMDisposeMessage(err);
    if (ok && bare) { /* no C library to lean on: LLVM may not turn loops into memset/memcpy calls (as gcc's
                       * loop-distribute-patterns is off in the C backend's code), so the object needs libm at most */
        LLVMAttributeRef nb = LLVMCreateStringAttribute(g.ctx, "no-builtins", 11, "", 0);
        for (LLVMValueRef f = LLVMGetFirstFunction(g.mod); f; f = LLVMGetNextFunction(f))
            if (LLVMCountBasicBlocks(f)) LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, nb);
    }
    if (ok) {
        LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
        LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
        LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
        LLVMPassBuilderOptionsSetLoopUnrolling(po, 1);
        LLVMPassBuilderOptionsSetLoopInterleaving(po, 1);
        LLVMErrorRef e = LLVMRunPasses(g.mod, "default<O3>", tm, po);
        LLVMDisposePassBuilderOptions(po);
        if (e) {
            char *m = LLVMGetErrorMessage(e);
            urc_error(NULL, "internal error: LLVM's optimiser failed: %s", m);
            LLVMDisposeErrorMessage(m);
            ok = false;
        }
    }
    const char *dump2 = getenv("UNETRC_LLVM_DUMP_OPT");
    if (ok && dump2 && *dump2) LLVMPrintModuleToFile(g.mod, dump2, NULL);
    if (!ok) {
        LLVMDisposeModule(g.mod);
        LLVMDisposeTargetMachine(tm);
        return false;
    }
    *mod_out = g.mod, *tm_out = tm;
    return true;
}

bool urc_llvm_emit_object(const urc_program *const *progs, const char *const *entries, int n, const urc_emit_opts *o,
                          const urc_llvm_target *tt, urc_strbuf *out) {
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod;
    LLVMTargetMachineRef tm;
    bool ok = urc_llvm_build_module(progs, entries, n, o, tt, ctx, false, &mod, &tm);
    if (ok) {
        LLVMMemoryBufferRef mb = NULL;
        char *err = NULL;
        if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &err, &mb)) {
            urc_error(NULL, "internal error: LLVM could not write the object: %s", err ? err : "");
            LLVMDisposeMessage(err);
            ok = false;
        } else {
            urc_sb_write(out, LLVMGetBufferStart(mb), LLVMGetBufferSize(mb));
            LLVMDisposeMemoryBuffer(mb);
        }
        LLVMDisposeModule(mod);
        LLVMDisposeTargetMachine(tm);
    }
    LLVMContextDispose(ctx);
    return ok;
}
