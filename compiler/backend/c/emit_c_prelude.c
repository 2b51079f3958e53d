/* emit_c_prelude.c: the helpers every generated C file starts with (the C backend's runtime of
 * macros and inline functions: OpenMP and unrolling hints, NaN-propagating min/max, integer arithmetic
 * defined for every input, saturating float-to-integer conversions, the float16/bfloat16 conversions)
 * and, when the program needs them, the bf16 pair products and the F16C/AVX512-BF16 intrinsics. */
#include "emit_c_prelude.h"

#include "emit_c.h"

/* The prelude's optional parts, by what an expression is: a bf16 pair product (its helpers), a float16
 * load converted to float32 (the F16C intrinsics), a float32 rounded to bfloat16 (the AVX512-BF16 ones),
 * an int8 or bfloat16 load widened to float32 (the AVX2 ones), an int8 quad product (its helpers). */
static bool is_dot2(const urc_lx *e) { return e->kind == URC_LX_DOT2; }
static bool is_dot4(const urc_lx *e) { return e->kind == URC_LX_DOT4; }
static bool is_f16(const urc_lx *e) {
    return e->kind == URC_LX_CAST && e->dt == URC_DT_F32 && e->a->kind == URC_LX_LOAD && e->a->dt == URC_DT_F16;
}
bool urc_c_widens(const urc_lx *e) {
    return e->kind == URC_LX_CAST && e->dt == URC_DT_F32 && e->a->kind == URC_LX_LOAD &&
           (e->a->dt == URC_DT_I8 || e->a->dt == URC_DT_BF16);
}
bool urc_c_rounds_bf16(const urc_lx *e) {
    return e->kind == URC_LX_CAST && e->dt == URC_DT_BF16 && e->a->dt == URC_DT_F32;
}

bool urc_c_narrows_u8(const urc_lx *e) {
    return e->kind == URC_LX_CAST && e->inrange && e->dt == URC_DT_U8 && e->a->dt == URC_DT_F32;
}

/* Whether an expression or statement tree holds an expression that is(e). */
static bool expr_any(const urc_lx *e, bool (*is)(const urc_lx *)) {
    return e && (is(e) || expr_any(e->a, is) || expr_any(e->b, is) || expr_any(e->c, is));
}

static bool stmt_any(const urc_ls *s, bool (*is)(const urc_lx *)) {
    if (!s) return false;
    if (expr_any(s->lo, is) || expr_any(s->hi, is) || expr_any(s->cond, is) || expr_any(s->idx, is) ||
        expr_any(s->val, is) || stmt_any(s->body, is) || stmt_any(s->els, is))
        return true;
    for (int i = 0; i < s->list.len; i++)
        if (stmt_any(s->list.items[i], is)) return true;
    for (int i = 0; i < s->args.len; i++)
        if (expr_any(s->args.items[i], is)) return true;
    return false;
}

void urc_c_prelude(const urc_program *P, urc_strbuf *out, const urc_c_needs *need) {
    bool idx32 = P->index_bits == 32;
    urc_sb_puts(out, "#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n\n");
    urc_sb_printf(out, "typedef %s urc_idx; /* every buffer has fewer than 2^%d elements */\n\n",
                  idx32 ? "int32_t" : "int64_t", idx32 ? 30 : 62);
    urc_sb_puts(out, "#ifdef _OPENMP\n#define URC_PRAGMA(x) _Pragma(#x)\n#define URC_OMP(x) URC_PRAGMA(omp x)\n"
                     "#else\n#define URC_OMP(x)\n#endif\n"
                     "/* clang warns about unused static inline functions in a .c file */\n"
                     "#if defined(__GNUC__)\n#define URC_MAYBE_UNUSED __attribute__((unused))\n"
                     "#else\n#define URC_MAYBE_UNUSED\n#endif\n"
                     "/* Full unrolling of short constant loops (register tiles): clang needs the\n"
                     " * hint to keep a tile in registers; gcc -O3 unrolls the small ones itself and\n"
                     " * its forced full unrolling costs time (docs/benchmarks.md, unroll hints). */\n"
                     "#if defined(__clang__)\n#define URC_UNROLL _Pragma(\"unroll\")\n"
                     "#else\n#define URC_UNROLL\n#endif\n"
                     "/* a*b + c, fused where the compiler says fma is fast (ISO C modes of gcc never\n"
                     " * contract a*b + c on their own). */\n"
                     "#ifdef FP_FAST_FMAF\n#define URC_FMAF(a, b, c) fmaf(a, b, c)\n"
                     "#else\n#define URC_FMAF(a, b, c) ((a) * (b) + (c))\n#endif\n"
                     "#ifdef FP_FAST_FMA\n#define URC_FMA(a, b, c) fma(a, b, c)\n"
                     "#else\n#define URC_FMA(a, b, c) ((a) * (b) + (c))\n#endif\n"
                     "/* gcc turns zeroing and copying loops into memset/memcpy calls: a register tile's\n"
                     " * accumulators then stay in memory (UNETR++ 7-11 % slower) and the code needs\n"
                     " * libc. And it assumes floating-point operations may trap (clang does not): it\n"
                     " * keeps the NaN-propagating min/max as branches, which leaves their loops scalar\n"
                     " * (int8's FakeQuant kernels 5x slower); nothing here reads the exception flags, and\n"
                     " * the values are the same (no reassociation, no contraction). Undone at the end of\n"
                     " * this file. */\n"
                     "#if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC push_options\n"
                     "#pragma GCC optimize(\"no-tree-loop-distribute-patterns\", \"no-trapping-math\")\n#endif\n\n");
    urc_sb_puts(
        out,
        "/* min/max propagate NaN (as ONNX Min/Max); mod takes the divisor's sign. */\n"
        "static URC_MAYBE_UNUSED inline float urc_min_f32(float a, float b) { return (a < b || a != a) ? a : b; }\n"
        "static URC_MAYBE_UNUSED inline float urc_max_f32(float a, float b) { return (a > b || a != a) ? a : b; }\n"
        "static URC_MAYBE_UNUSED inline double urc_min_f64(double a, double b) { return (a < b || a != a) ? a : b; }\n"
        "static URC_MAYBE_UNUSED inline double urc_max_f64(double a, double b) { return (a > b || a != a) ? a : b; }\n"
        "static URC_MAYBE_UNUSED inline int64_t urc_min_i64(int64_t a, int64_t b) { return a < b ? a : b; }\n"
        "static URC_MAYBE_UNUSED inline int64_t urc_max_i64(int64_t a, int64_t b) { return a > b ? a : b; }\n"
        "static URC_MAYBE_UNUSED inline uint64_t urc_min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }\n"
        "static URC_MAYBE_UNUSED inline uint64_t urc_max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }\n"
        "/* Integer arithmetic is defined for every input (docs/ops.md): it wraps around\n"
        " * (computed in unsigned), x / 0 = x % 0 = 0, INT64_MIN / -1 wraps, INT64_MIN % -1 = 0. */\n"
        "/* the bits of an int32 as a float32 (a union: defined in C11) */\n"
        "static URC_MAYBE_UNUSED inline float urc_bits_f32(int32_t i) {\n"
        "    union { int32_t i; float f; } u;\n    u.i = i;\n    return u.f;\n}\n"
        "static URC_MAYBE_UNUSED inline int64_t urc_abs_i64(int64_t a) { return a < 0 ? (int64_t)(0u - (uint64_t)a) : "
        "a; }\n"
        "static URC_MAYBE_UNUSED inline uint64_t urc_abs_u64(uint64_t a) { return a; }\n"
        "static URC_MAYBE_UNUSED inline int64_t urc_div_i64(int64_t a, int64_t b) {\n"
        "    return b == 0 ? 0 : b == -1 ? (int64_t)(0u - (uint64_t)a) : a / b;\n}\n"
        "static URC_MAYBE_UNUSED inline uint64_t urc_div_u64(uint64_t a, uint64_t b) { return b == 0 ? 0 : a / b; }\n"
        "static URC_MAYBE_UNUSED inline int64_t urc_rem_i64(int64_t a, int64_t b) { return b == 0 || b == -1 ? 0 : a % "
        "b; }\n"
        "static URC_MAYBE_UNUSED inline uint64_t urc_rem_u64(uint64_t a, uint64_t b) { return b == 0 ? 0 : a % b; }\n"
        "static URC_MAYBE_UNUSED inline int64_t urc_mod_i64(int64_t a, int64_t b) {\n"
        "    int64_t r = urc_rem_i64(a, b);\n    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;\n}\n"
        "static URC_MAYBE_UNUSED inline uint64_t urc_mod_u64(uint64_t a, uint64_t b) { return b == 0 ? 0 : a % b; }\n"
        "/* a^b by squaring, wrapping; b < 0 gives the truncated 1/a^-b (1, -1 or 0). */\n"
        "static URC_MAYBE_UNUSED inline uint64_t urc_pow_bits(uint64_t a, uint64_t b) {\n"
        "    uint64_t r = 1;\n    for (; b; b >>= 1, a *= a)\n        if (b & 1u) r *= a;\n    return r;\n}\n"
        "static URC_MAYBE_UNUSED inline int64_t urc_pow_i64(int64_t a, int64_t b) {\n"
        "    if (b < 0) return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;\n"
        "    return (int64_t)urc_pow_bits((uint64_t)a, (uint64_t)b);\n}\n"
        "static URC_MAYBE_UNUSED inline uint64_t urc_pow_u64(uint64_t a, int64_t b) {\n"
        "    if (b < 0) return a == 1 ? 1 : 0;\n    return urc_pow_bits(a, (uint64_t)b);\n}\n");
    /* Float to integer conversions: NaN gives 0, values beyond the type's range
     * its minimum/maximum, the rest truncate (C leaves the first two undefined). */
    static const struct {
        const char *name, *type, *lo, *hi, *min, *max;
    } cvt[] = {
        {"int8", "int8_t", "-128.0", "128.0", "INT8_MIN", "INT8_MAX"},
        {"uint8", "uint8_t", "0.0", "256.0", "0", "UINT8_MAX"},
        {"int16", "int16_t", "-32768.0", "32768.0", "INT16_MIN", "INT16_MAX"},
        {"uint16", "uint16_t", "0.0", "65536.0", "0", "UINT16_MAX"},
        {"int32", "int32_t", "-2147483648.0", "2147483648.0", "INT32_MIN", "INT32_MAX"},
        {"uint32", "uint32_t", "0.0", "4294967296.0", "0", "UINT32_MAX"},
        {"int64", "int64_t", "-9223372036854775808.0", "9223372036854775808.0", "INT64_MIN", "INT64_MAX"},
        {"uint64", "uint64_t", "0.0", "18446744073709551616.0", "0", "UINT64_MAX"},
    };
    urc_sb_puts(out, "/* float -> integer: NaN gives 0, out of range saturates, else truncation (docs/ops.md). */\n");
    for (size_t i = 0; i < sizeof cvt / sizeof cvt[0]; i++)
        urc_sb_printf(out,
                      "static URC_MAYBE_UNUSED inline %s urc_cvt_%s(double x) {\n"
                      "    return x != x ? 0 : x <= %s ? %s : x >= %s ? %s : (%s)x;\n}\n",
                      cvt[i].type, cvt[i].name, cvt[i].lo, cvt[i].min, cvt[i].hi, cvt[i].max, cvt[i].type);
    urc_sb_puts(out,
                "/* float16 and bfloat16 are storage types, converted through float. */\n"
                "typedef union { float f; uint32_t u; } urc_bits;\n"
                "static URC_MAYBE_UNUSED inline float urc_bf16_to_f32(uint16_t h) { urc_bits b; b.u = (uint32_t)h "
                "<< 16; return b.f; }\n"
                "static URC_MAYBE_UNUSED inline uint16_t urc_f32_to_bf16(float f) {\n"
                "    urc_bits b; b.f = f;\n"
                "    if ((b.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b.u >> 16) | 0x40u);\n"
                "    return (uint16_t)((b.u + 0x7fffu + ((b.u >> 16) & 1u)) >> 16);\n}\n"
                "/* exact, branch-free (vectorises): exponent rebiased by 112 (31: by 224, infinity/NaN);\n"
                " * a subnormal m * 2^-24 as (2^-14 + m * 2^-24) - 2^-14, never a subnormal float. */\n"
                "static URC_MAYBE_UNUSED inline float urc_f16_to_f32(uint16_t h) {\n"
                "    uint32_t em = (uint32_t)(h & 0x7fffu) << 13, e = em & 0x0f800000u, zero = -(uint32_t)(e == 0);\n"
                "    urc_bits n, d;\n"
                "    n.u = em + 0x38000000u;\n"
                "    d.u = n.u + 0x00800000u;\n"
                "    d.f -= 6.103515625e-05f;\n"
                "    n.u += -(uint32_t)(e == 0x0f800000u) & 0x38000000u;\n"
                "    n.u = (zero & d.u) | (~zero & n.u) | (uint32_t)(h & 0x8000u) << 16;\n"
                "    return n.f;\n}\n"
                "static URC_MAYBE_UNUSED inline uint16_t urc_f32_to_f16(float f) {\n"
                "    urc_bits b; b.f = f;\n"
                "    uint32_t s = (b.u >> 16) & 0x8000u, a = b.u & 0x7fffffffu;\n"
                "    if (a > 0x7f800000u) return (uint16_t)(s | 0x7e00u);\n"
                "    if (a >= 0x477ff000u) return (uint16_t)(s | 0x7c00u); /* rounds to infinity */\n"
                "    if (a < 0x38800000u) { /* subnormal or zero: scale so rounding is done by the FPU */\n"
                "        urc_bits t; t.u = a; t.f = t.f * 16777216.0f; /* 2^24 */\n"
                "        return (uint16_t)(s | (uint16_t)nearbyintf(t.f));\n    }\n"
                "    uint32_t r = a - 0x38000000u; /* rebias exponent by 112 */\n"
                "    uint32_t h = r >> 13, rem = r & 0x1fffu;\n"
                "    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;\n"
                "    return (uint16_t)(s | h);\n}\n\n");
    if (need->f16)
        urc_sb_puts(out, "/* float16 weights: vcvtph2ps where the compiler targets F16C */\n"
                         "#if defined(__F16C__)\n#include <immintrin.h>\n#endif\n\n");
    if (need->widen)
        urc_sb_puts(out, "/* int8 and bfloat16 weights widened to float32 with AVX2 or AVX-512 where the compiler\n"
                         " * targets them */\n#if defined(__AVX2__)\n#include <immintrin.h>\n#endif\n\n");
    if (need->dot2 || need->bf16)
        urc_sb_puts(out, "/* bfloat16 pair products and roundings to bfloat16 (vcvtneps2bf16) */\n"
                         "#if defined(__AVX512BF16__) && defined(__AVX512VL__)\n#include <immintrin.h>\n#endif\n");
    if (need->u8)
        urc_sb_puts(out, "/* uint8 levels stored 16 at a time from int32 lanes (vpmovdb) */\n"
                         "#if defined(__AVX512F__)\n#include <immintrin.h>\n#endif\n");
    if (need->amx)
        urc_sb_puts(
            out,
            "/* AMX tiles (--precision bf16 and int8 on AMX targets): the kernels that use them are built for\n"
            " * AMX-TILE, AMX-BF16 and AMX-INT8 whatever the -march flags; NAME_cpu_missing checks that the CPU has\n"
            " * them and asks Linux for the tile state (arch_prctl ARCH_REQ_XCOMP_PERM) */\n"
            "#include <immintrin.h>\n#define URC_AMX_TILES 1\n"
            "#define URC_AMX_FN __attribute__((target(\"amx-tile,amx-bf16,amx-int8\")))\n"
            "/* clang 14 (its macro: __AMXTILE__) builds OpenMP's outlined bodies without the attribute */\n"
            "#if defined(__clang__) && defined(_OPENMP) && \\\n"
            "    !(defined(__AMXTILE__) && defined(__AMXBF16__) && defined(__AMXINT8__))\n"
            "#error \"this code uses AMX tiles in parallel loops: clang needs -march=sapphirerapids or -mamx-tile "
            "-mamx-bf16 -mamx-int8\"\n#endif\n\n");
    if (need->dot4)
        urc_sb_puts(
            out, "/* int8 quad products (--precision int8): a holds four uint8 levels, b four int8 ones (byte i:\n"
                 " * bits 8i to 8i + 7); c plus their four products, wrapping around in int32: vpdpbusd's lane, which\n"
                 " * the vector loops use where the compiler targets AVX512-VNNI or AVX-VNNI */\n"
                 "#if (defined(__AVX512VNNI__) && defined(__AVX512VL__)) || defined(__AVXVNNI__)\n"
                 "#include <immintrin.h>\n#endif\n"
                 "static URC_MAYBE_UNUSED inline uint32_t urc_quad_u8(const uint8_t *p) {\n"
                 "    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;\n}\n"
                 "static URC_MAYBE_UNUSED inline int32_t urc_dot4_u8s8(uint32_t a, uint32_t b, int32_t c) {\n"
                 "    uint32_t s = (uint32_t)c;\n"
                 "    for (int i = 0; i < 32; i += 8)\n"
                 "        s += (uint32_t)((int32_t)(a >> i & 0xffu) * (int32_t)(int8_t)(uint8_t)(b >> i));\n"
                 "    return (int32_t)s;\n}\n\n");
    if (!need->dot2) return;
    urc_sb_puts(out, "/* bfloat16 pair products (--precision bf16): a, b hold two bfloat16 each (bits 0-15 the\n"
                     " * element at the lower address); c + a.hi*b.hi + a.lo*b.lo as two fused multiply-adds, the\n"
                     " * high halves first: vdpbf16ps's result on normal numbers. */\n"
                     "/* one 32-bit load where the compiler has __builtin_memcpy (two 16-bit loads and a shift\n"
                     " * cost UNETR 96^3's Winograd kernels about a sixth of their time) */\n"
                     "static URC_MAYBE_UNUSED inline uint32_t urc_pair_bf16(const uint16_t *p) {\n"
                     "#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__\n"
                     "    uint32_t v;\n    __builtin_memcpy(&v, p, sizeof v);\n    return v;\n"
                     "#else\n    return (uint32_t)p[0] | (uint32_t)p[1] << 16;\n#endif\n}\n"
                     "static URC_MAYBE_UNUSED inline float urc_dot2_bf16(uint32_t a, uint32_t b, float c) {\n"
                     "    urc_bits ah, al, bh, bl;\n"
                     "    ah.u = a & 0xffff0000u, al.u = a << 16, bh.u = b & 0xffff0000u, bl.u = b << 16;\n"
                     "    return fmaf(al.f, bl.f, fmaf(ah.f, bh.f, c));\n}\n\n");
}

void urc_c_prelude_needs(const urc_program *const *progs, int n, urc_c_needs *need) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < progs[i]->kernels.len; j++) {
            const urc_ls *b = progs[i]->kernels.items[j]->body;
            need->dot2 = need->dot2 || stmt_any(b, is_dot2);
            need->dot4 = need->dot4 || stmt_any(b, is_dot4);
            need->f16 = need->f16 || stmt_any(b, is_f16);
            need->bf16 = need->bf16 || stmt_any(b, urc_c_rounds_bf16);
            need->widen = need->widen || stmt_any(b, urc_c_widens);
            need->u8 = need->u8 || stmt_any(b, urc_c_narrows_u8);
            need->amx = need->amx || urc_ls_has_tiles(b);
        }
}
