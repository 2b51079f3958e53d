/* emit_llvm_dot.c: the LLVM backend's products on x86's dot-product units (llvm_internal.h): bfloat16 pair
 * and int8 quad products (URC_LX_DOT2, DOT4) as vdpbf16ps / vpdpbusd where the module's CPU has them, else
 * as portable arithmetic with the C prelude's numbers, and AMX tile statements. */
#include "llvm_internal.h"

#include <llvm-c/Core.h>

#include "../../base/diag.h"

/* DOT2 as two fused multiply-adds, high halves first (a, b i32 pairs or vectors of them, c float or a
 * vector of floats): the C prelude's urc_dot2_bf16. */
static LLVMValueRef dot2_portable(gen *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    LLVMBuilderRef bl = g->b;
    LLVMTypeRef it = LLVMTypeOf(a), ft = LLVMTypeOf(c);
    LLVMValueRef ah = LLVMBuildBitCast(bl, LLVMBuildAnd(bl, a, ll_kint(it, (int64_t)0xffff0000u), ""), ft, "");
    LLVMValueRef bh = LLVMBuildBitCast(bl, LLVMBuildAnd(bl, b, ll_kint(it, (int64_t)0xffff0000u), ""), ft, "");
    LLVMValueRef al = LLVMBuildBitCast(bl, LLVMBuildShl(bl, a, ll_kint(it, 16), ""), ft, "");
    LLVMValueRef blo = LLVMBuildBitCast(bl, LLVMBuildShl(bl, b, ll_kint(it, 16), ""), ft, "");
    LLVMValueRef hi[3] = {ah, bh, c};
    LLVMValueRef lo[3] = {al, blo, ll_intrinsic(g, "llvm.fma", &ft, 1, hi, 3)};
    return ll_intrinsic(g, "llvm.fma", &ft, 1, lo, 3);
}

/* DOT4 as four integer products (a's bytes zero-extended, b's sign-extended) added to c in wrapping int32
 * arithmetic: the C prelude's urc_dot4_u8s8. */
static LLVMValueRef dot4_portable(gen *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    LLVMBuilderRef bl = g->b;
    LLVMTypeRef it = LLVMTypeOf(a);
    for (int i = 0; i < 32; i += 8) {
        LLVMValueRef u = LLVMBuildAnd(bl, LLVMBuildLShr(bl, a, ll_kint(it, i), ""), ll_kint(it, 255), "");
        LLVMValueRef s = LLVMBuildAShr(bl, LLVMBuildShl(bl, b, ll_kint(it, 24 - i), ""), ll_kint(it, 24), "");
        c = LLVMBuildAdd(bl, c, LLVMBuildMul(bl, u, s, ""), "");
    }
    return c;
}

LLVMValueRef ll_dot(gen *g, int kind, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c, unsigned n) {
    static const char *const dpbf16[3] = {"llvm.x86.avx512bf16.dpbf16ps.512", "llvm.x86.avx512bf16.dpbf16ps.256",
                                          "llvm.x86.avx512bf16.dpbf16ps.128"};
    static const char *const dpbusd[3] = {"llvm.x86.avx512.vpdpbusd.512", "llvm.x86.avx512.vpdpbusd.256",
                                          "llvm.x86.avx512.vpdpbusd.128"};
    LLVMValueRef args[3] = {c, a, b};
    int w = n == 16 ? 0 : n == 8 ? 1 : n == 4 ? 2 : -1; /* the instruction's 512, 256 or 128-bit form */
    bool dot2 = kind == URC_LX_DOT2;
    URC_ASSERT(dot2 || kind == URC_LX_DOT4, "ll_dot of another expression");
    /* (vpdpbusd: LLVM selects AVX-VNNI's encoding of the 256 and 128-bit forms where AVX512-VL is missing) */
    bool native = w >= 0 && (dot2 ? g->dpbf16 : g->vnni == 1 || (g->vnni == 2 && w > 0));
    if (native) return ll_intrinsic(g, (dot2 ? dpbf16 : dpbusd)[w], NULL, 0, args, 3);
    return dot2 ? dot2_portable(g, a, b, c) : dot4_portable(g, a, b, c);
}

/* An AMX tile statement as LLVM's x86 intrinsics (the module is built with +amx-tile,+amx-bf16,+amx-int8 when it has
 * tile statements: emit_llvm_module.c). The configuration is ldtilecfg's 64-byte block (palette 1, bytes
 * per row of tiles 0-7 at byte 16, rows at byte 48), a private constant. */
void ll_tile(gen *g, const urc_ls *s) {
    LLVMValueRef a[3];
    for (int i = 0; i < 3; i++) a[i] = ll_ci(g->i8, s->tile[i] < 0 ? 0 : s->tile[i]);
    switch (s->tile_op) {
    case URC_TILE_CONFIG: {
        LLVMValueRef bytes[64];
        unsigned char cfg[64] = {1};
        for (int t = 0; t < 8; t++) {
            cfg[16 + 2 * t] = (unsigned char)s->args.items[2 * t + 1]->i;
            cfg[48 + t] = (unsigned char)s->args.items[2 * t]->i;
        }
        for (int i = 0; i < 64; i++) bytes[i] = ll_ci(g->i8, cfg[i]);
        LLVMValueRef init = LLVMConstArray(g->i8, bytes, 64);
        LLVMValueRef gv = LLVMAddGlobal(g->mod, LLVMTypeOf(init), "urc.tilecfg");
        LLVMSetInitializer(gv, init);
        LLVMSetGlobalConstant(gv, 1);
        LLVMSetLinkage(gv, LLVMPrivateLinkage);
        LLVMSetAlignment(gv, 64);
        LLVMValueRef p = LLVMConstBitCast(gv, g->p8);
        ll_intrinsic(g, "llvm.x86.ldtilecfg", NULL, 0, &p, 1);
        return;
    }
    case URC_TILE_ZERO: ll_intrinsic(g, "llvm.x86.tilezero", NULL, 0, a, 1); return;
    case URC_TILE_LOAD:
    case URC_TILE_STORE: {
        int64_t size = urc_dtype_size(g->k->bufs.items[s->buf].dt);
        LLVMValueRef args[3] = {a[0], LLVMBuildBitCast(g->b, ll_elem_ptr(g, s->buf, s->idx), g->p8, ""),
                                LLVMBuildMul(g->b, ll_index64(g, s->val), ll_ci(g->i64, size), "")};
        ll_intrinsic(g, s->tile_op == URC_TILE_LOAD ? "llvm.x86.tileloadd64" : "llvm.x86.tilestored64", NULL, 0, args,
                     3);
        return;
    }
    case URC_TILE_DPBF16: ll_intrinsic(g, "llvm.x86.tdpbf16ps", NULL, 0, a, 3); return;
    case URC_TILE_DPBUSD: ll_intrinsic(g, "llvm.x86.tdpbusd", NULL, 0, a, 3); return;
    case URC_TILE_RELEASE: ll_intrinsic(g, "llvm.x86.tilerelease", NULL, 0, NULL, 0); return;
    }
}
