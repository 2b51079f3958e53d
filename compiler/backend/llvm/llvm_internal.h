/* llvm_internal.h: what the two halves of the LLVM backend share: the
 * builder state, kernels as functions (emit_llvm.c) and the helpers the
 * entry points and the object writer (emit_llvm_module.c) build with. */
#ifndef URC_LLVM_INTERNAL_H
#define URC_LLVM_INTERNAL_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "emit_llvm.h"

typedef struct gen {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef i1, i8, i16, i32, i64, f32, f64, vd, p8;
    const urc_kernel *k;
    LLVMValueRef fn;         /* the function being built */
    LLVMBasicBlockRef entry; /* its entry block: allocas go there */
    LLVMValueRef *bufp;      /* per kernel buffer: its pointer in fn */
    LLVMValueRef *vars;      /* per kernel variable: its alloca in fn */
    bool in_parallel;        /* building an outlined body: nested parallel loops run serially */
    bool serial;             /* a bare-metal target (no OS, no libgomp): every parallel loop runs serially */
    bool scalar;             /* no vector unit for floats (Cortex-M without MVE): no vectorize hints */
    bool dpbf16;             /* x86 with AVX512-BF16 and VL: DOT2 vector loops as vdpbf16ps */
    int vnni;                /* DOT4 vector loops as vpdpbusd: 1 x86 with AVX512-VNNI and VL, 2 with AVX-VNNI (256
                              * and 128 bits), else 0 */
    bool f16c;               /* x86 with F16C: float16 loads widened by fpext half (vcvtph2ps, exact) */
    bool os_linux;           /* the triple's operating system is Linux (the AMX state request) */
    int nouter;              /* outlined functions so far (their names) */
    const char *cpu, *features, *vector_width;
    unsigned md_loop; /* kind id of llvm.loop */
} gen;

/* Kernels equal by urc_kernel_eq share one function (as the C printer prints them once). */
typedef struct kernel_table {
    urc_hindex index;
    URC_VEC(const urc_kernel *) k;
    URC_VEC(LLVMValueRef) fn;
} kernel_table;

LLVMValueRef ll_ci(LLVMTypeRef t, int64_t v);
LLVMBasicBlockRef ll_block_new(gen *g, const char *name);
LLVMValueRef ll_icmp(gen *g, LLVMIntPredicate p, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ll_new_function(gen *g, const char *name, LLVMTypeRef ft, bool internal);
LLVMValueRef ll_entry_alloca(gen *g, LLVMTypeRef t, unsigned align);
LLVMTypeRef ll_mem_type(gen *g, urc_dtype dt);
LLVMValueRef ll_convert(gen *g, LLVMValueRef v, urc_dtype from, urc_dtype to, bool inrange);
LLVMValueRef ll_kernel(gen *g, const urc_kernel *k);
/* Helpers of emit_llvm.c: a call of LLVM intrinsic `name` (overloaded on tys[0..nt)); the constant v of integer
 * type t, or a vector of it; an index expression as i64; the address of buf[idx]. */
LLVMValueRef ll_intrinsic(gen *g, const char *name, LLVMTypeRef *tys, int nt, LLVMValueRef *args, int na);
LLVMValueRef ll_kint(LLVMTypeRef t, int64_t v);
LLVMValueRef ll_index64(gen *g, const urc_lx *e);
LLVMValueRef ll_elem_ptr(gen *g, int buf, const urc_lx *idx);
/* emit_llvm_dot.c: a DOT2 or DOT4 (kind) of operands a, b, c (scalars, n = 1, or vectors of n lanes); an AMX
 * tile statement. */
LLVMValueRef ll_dot(gen *g, int kind, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c, unsigned n);
void ll_tile(gen *g, const urc_ls *s);
LLVMValueRef ll_kernel_fn(gen *g, kernel_table *t, const urc_kernel *k);
/* PREFIX_cpu_missing and, on x86-64, the n entry points `names` (built already) behind wrappers that check
 * the CPU first (emit_llvm_cpu.c); target_features: the URC_FEAT_* the module's CPU implies (0 when the
 * features string says everything). */
void ll_cpu_check(gen *g, bool x86, unsigned target_features, const char *prefix, const char *const *names, int n);

/* The optimised module of n programs (entries as urc_backend.emit) in ctx,
 * and the target machine it was optimised for (both the caller's to
 * dispose). argv_entries (the JIT): also PREFIX_ENTRY_argv(void **args) per
 * entry point and train_init, and the triple must be this machine's. False
 * after reporting (urc_error). */
bool urc_llvm_build_module(const urc_program *const *progs, const char *const *entries, int n, const urc_emit_opts *o,
                           const urc_llvm_target *t, LLVMContextRef ctx, bool argv_entries, LLVMModuleRef *mod,
                           LLVMTargetMachineRef *tm);

#endif
