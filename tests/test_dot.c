/* test_dot.c: the loop IR's bfloat16 pair product (URC_LX_DOT2, URC_LX_PAIR) and int8 quad product
 * (URC_LX_DOT4, URC_LX_PAIR of a uint8 buffer) end to end. A one-node graph is lowered and its kernel's body
 * replaced by
 *
 *   for r (parallel):
 *     A[i] = bf16(x[r*2K + i])                      a local bfloat16 array, i < 2K
 *     Wb[i] = bf16(x[(i*7 + r) % NX] * 0.75)        i < 2KL
 *     Bw[j] = pair Wb[2j]                            a local uint32 array, j < KL
 *     acc[l] = 0.25                                  l < L
 *     for k < K: for l < L (vector): acc[l] = dot2(pair A[2k], Bw[k*L + l], acc[l])
 *     y[r*L + l] = acc[l]
 *
 * with L = 53 lanes (the C printer's groups of 16 and 4 lanes and one scalar lane; LLVM's of 16, 16,
 * 16, 4 and 1). The roundings to bf16 (A: 2K = 50 lanes, Wb: 2KL = 2650) take the C printer's
 * vcvtneps2bf16 chunks of 16 lanes and a portable remainder. The output must equal, bit for bit, two fused multiply-adds per pair with the high
 * halves first (what vdpbf16ps computes): through the test backend (UNETRC_BACKEND) with the code
 * built for this machine (vdpbf16ps where it has AVX512-BF16) and, for C, also built for a generic
 * x86-64 (the portable loop). The C text must hold both forms.
 *
 * DOT4 the same way: per r, A[i] = (r*11 + i*37) % 256 (uint8, i < 4K), Bw[j] = uint32(j*2654435761 + r*97)
 * (four int8 each: every byte value occurs), acc[l] = -7 - r, then acc[l] = dot4(quad A[4k], Bw[k*L + l], acc[l])
 * for k < K and y = float(acc) (exact: |acc| < 2^24). The output must equal the integer sums exactly (vpdpbusd
 * where the code is built for AVX512-VNNI or AVX-VNNI, the portable loop otherwise); the C text holds
 * the three forms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../compiler/backend/backend.h"
#include "../compiler/backend/c/emit_c.h"
#include "../compiler/base/diag.h"
#include "../compiler/driver.h"
#include "check.h"
#include "one_kernel.h"

enum { R = 6, K = 25, L = 53, NX = R * L }; /* x and y: NX floats (x's first R*2K are A's) */

static uint16_t to_bf16(float f) { /* round to nearest even (no NaN here) */
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static float of_bf16(uint32_t h) {
    uint32_t u = h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static urc_lx *I(int64_t v) { return urc_lx_int(v); }

/* A fresh one-kernel program for test `name` and its body's parallel loop over the rows r < R (rb, rv). */
static urc_kernel *start(const char *name, one_kernel *o, urc_ls **rb, urc_lx **rv) {
    urc_diag_reset(name);
    if (!one_kernel_make(o, NX, "native")) return NULL;
    int r = urc_kernel_var(o->k, "r", URC_DT_I64);
    *rb = urc_ls_for(o->k->body, r, I(0), I(R), 1, URC_FOR_PARALLEL);
    *rv = urc_lx_var(o->k, r);
    return o->k;
}

/* The C text of P when the test backend is C, else NULL. */
static char *c_text(urc_program *P) {
    if (strcmp(urc_backend_from_env()->name, "c")) return NULL;
    urc_strbuf c = {0};
    urc_c_opts co = {.prefix = "model", .header_name = "model.h"};
    const char *entry = "forward";
    urc_emit_c_source_multi((const urc_program *const *)&P, &entry, 1, &co, &c);
    return c.data;
}

/* Runs P on `in` through the test backend, with the code built for this machine and (C) for a generic x86-64:
 * every output bit for bit `want` (what: the reference's name). */
static void run_builds(urc_program *P, urc_tensor *in, const float *want, const char *what) {
    const urc_backend *be = urc_backend_from_env();
    const char *builds[2] = {"-march=native", "-march=x86-64"};
    for (int bi = 0; bi < (strcmp(be->name, "c") ? 1 : 2); bi++) {
        urc_tensor *out[1] = {NULL};
        urc_run_opts ro = {.cflags = urc_fmt("-std=c11 -O2 -fopenmp -Wall -Wextra -Werror %s", builds[bi]),
                           .model_name = "dot",
                           .threads = 2};
        urc_diag_reset(be->name);
        bool ran = be->run(P, &in, out, &ro);
        CHECK(ran);
        if (!ran) {
            printf("FAIL %s %s: %s\n", be->name, builds[bi], urc_diag_message());
            continue;
        }
        int bad = 0;
        for (int t = 0; t < R * L; t++)
            if (memcmp(&((float *)out[0]->data)[t], &want[t], 4)) bad++;
        CHECK(bad == 0);
        printf("%s %s: %d of %d outputs differ from %s\n", be->name, builds[bi], bad, R * L, what);
    }
}

/* DOT2 against two fused multiply-adds per pair. */
static void dot2(void) {
    one_kernel o;
    urc_ls *rb;
    urc_lx *rv;
    urc_kernel *k = start("dot2", &o, &rb, &rv);
    if (!k) return;
    urc_program *P = o.P;
    int bx = o.bx, by = o.by;
    int A = urc_kernel_local(k, "A", URC_DT_BF16, 2 * K), Wb = urc_kernel_local(k, "Wb", URC_DT_BF16, 2 * K * L);
    int Bw = urc_kernel_local(k, "Bw", URC_DT_U32, K * L), acc = urc_kernel_local(k, "acc", URC_DT_F32, L);
    urc_ls_array(rb, k, A);
    urc_ls_array(rb, k, Wb);
    urc_ls_array(rb, k, Bw);
    urc_ls_array(rb, k, acc);
    int i = urc_kernel_var(k, "i", URC_DT_I64), j = urc_kernel_var(k, "j", URC_DT_I64);
    urc_ls *b = urc_ls_for(rb, i, I(0), I(2 * K), 1, URC_FOR_VECTOR);
    urc_ls_store(b, A, urc_lx_var(k, i),
                 urc_lx_cast(URC_DT_BF16, urc_lx_load(k, bx, urc_add(urc_muli(rv, 2 * K), urc_lx_var(k, i)))));
    b = urc_ls_for(rb, i, I(0), I(2 * K * L), 1, 0);
    urc_lx *xi = urc_lx_bin(URC_L_MOD, urc_add(urc_muli(urc_lx_var(k, i), 7), rv), I(NX));
    urc_ls_store(b, Wb, urc_lx_var(k, i),
                 urc_lx_cast(URC_DT_BF16, urc_lx_bin(URC_L_MUL, urc_lx_load(k, bx, urc_lx_inrange(xi)),
                                                     urc_lx_flt(0.75, URC_DT_F32))));
    b = urc_ls_for(rb, j, I(0), I(K * L), 1, 0);
    urc_ls_store(b, Bw, urc_lx_var(k, j), urc_lx_pair(k, Wb, urc_muli(urc_lx_var(k, j), 2)));
    int l = urc_kernel_var(k, "l", URC_DT_I64), kk = urc_kernel_var(k, "k", URC_DT_I64);
    b = urc_ls_for(rb, l, I(0), I(L), 1, URC_FOR_VECTOR);
    urc_ls_store(b, acc, urc_lx_var(k, l), urc_lx_flt(0.25, URC_DT_F32));
    urc_ls *kb = urc_ls_for(rb, kk, I(0), I(K), 1, 0);
    urc_lx *lv = urc_lx_var(k, l), *kv = urc_lx_var(k, kk);
    b = urc_ls_for(kb, l, I(0), I(L), 1, URC_FOR_VECTOR);
    urc_ls_store(b, acc, lv,
                 urc_lx_dot2(urc_lx_pair(k, A, urc_muli(kv, 2)), urc_lx_load(k, Bw, urc_add(urc_muli(kv, L), lv)),
                             urc_lx_load(k, acc, lv)));
    b = urc_ls_for(rb, l, I(0), I(L), 1, URC_FOR_VECTOR);
    urc_ls_store(b, by, urc_add(urc_muli(rv, L), lv), urc_lx_load(k, acc, lv));
    CHECK(urc_program_verify(P));

    urc_strbuf sb = {0};
    urc_kernel_print(k, &sb);
    CHECK(strstr(sb.data, "acc[l] = dot2bf16(pair A[(k * 2)], Bw[((k * 53) + l)], acc[l])") != NULL);
    if (!strstr(sb.data, "dot2bf16(")) printf("printed:\n%s", sb.data);
    urc_sb_free(&sb);
    char *c = c_text(P);
    if (c) { /* both forms in the text */
        CHECK(strstr(c, "#if defined(__AVX512BF16__) && defined(__AVX512VL__)") != NULL);
        CHECK(strstr(c, "_mm512_storeu_ps(&acc[l], _mm512_dpbf16_ps(_mm512_loadu_ps(&acc[l]), (__m512bh)"
                        "_mm512_set1_epi32((int)urc_pair_bf16(&A[(k * 2)])), (__m512bh)_mm512_loadu_si512("
                        "(const void *)&Bw[(k * 53) + l])));") != NULL);
        CHECK(strstr(c, "_mm_dpbf16_ps(") != NULL && strstr(c, "_mm256_dpbf16_ps(") == NULL);
        CHECK(strstr(c, "acc[l] = urc_dot2_bf16(urc_pair_bf16(&A[(k * 2)]), Bw[((k * 53) + l)], acc[l]);"));
        CHECK(strstr(c, "_mm256_storeu_si256((__m256i *)&A[i], (__m256i)_mm512_cvtneps_pbh(_mm512_load_ps("
                        "urc_cv0)));") != NULL);
        CHECK(strstr(c, "for (urc_idx urc_b_i = 0; urc_b_i < 48; urc_b_i += 16) {") != NULL);
        CHECK(strstr(c, "for (urc_idx i = 48; i < 50; i++) {") != NULL);     /* A's remainder */
        CHECK(strstr(c, "for (urc_idx i = 2640; i < 2650; i++) {") != NULL); /* Wb's */
        if (failures) printf("C text:\n%s\n", c);
        free(c);
    }

    /* the reference */
    urc_tensor *in = urc_tensor_new(URC_DT_F32, &o.x->shape);
    float *xf = in->data, want[R * L];
    for (int t = 0; t < NX; t++) xf[t] = (float)((t * 37) % 101 - 50) / 16.0f;
    for (int rr = 0; rr < R; rr++)
        for (int ll = 0; ll < L; ll++) {
            float a = 0.25f;
            for (int q = 0; q < K; q++) {
                float ah = of_bf16(to_bf16(xf[rr * 2 * K + 2 * q + 1])), al = of_bf16(to_bf16(xf[rr * 2 * K + 2 * q]));
                int w0 = 2 * (q * L + ll);
                float bl = of_bf16(to_bf16(xf[(w0 * 7 + rr) % NX] * 0.75f));
                float bh = of_bf16(to_bf16(xf[((w0 + 1) * 7 + rr) % NX] * 0.75f));
                a = fmaf(al, bl, fmaf(ah, bh, a));
            }
            want[rr * L + ll] = a;
        }
    run_builds(P, in, want, "the two fused multiply-adds");
}

/* DOT4 against the integer sums. */
static void dot4(void) {
    one_kernel o;
    urc_ls *rb;
    urc_lx *rv;
    urc_kernel *k = start("dot4", &o, &rb, &rv);
    if (!k) return;
    urc_program *P = o.P;
    int by = o.by;
    int A = urc_kernel_local(k, "A", URC_DT_U8, 4 * K), Bw = urc_kernel_local(k, "Bw", URC_DT_U32, K * L);
    int acc = urc_kernel_local(k, "acc", URC_DT_I32, L);
    urc_ls_array(rb, k, A);
    urc_ls_array(rb, k, Bw);
    urc_ls_array(rb, k, acc);
    int i = urc_kernel_var(k, "i", URC_DT_I64), l = urc_kernel_var(k, "l", URC_DT_I64);
    int kk = urc_kernel_var(k, "k", URC_DT_I64);
    urc_lx *iv = urc_lx_var(k, i), *lv = urc_lx_var(k, l), *kv = urc_lx_var(k, kk);
    urc_ls *b = urc_ls_for(rb, i, I(0), I(4 * K), 1, 0);
    urc_ls_store(b, A, iv,
                 urc_lx_cast(URC_DT_U8, urc_lx_bin(URC_L_MOD, urc_add(urc_muli(rv, 11), urc_muli(iv, 37)), I(256))));
    b = urc_ls_for(rb, i, I(0), I(K * L), 1, 0);
    urc_ls_store(b, Bw, iv, urc_lx_cast(URC_DT_U32, urc_add(urc_muli(iv, 2654435761LL), urc_muli(rv, 97))));
    b = urc_ls_for(rb, l, I(0), I(L), 1, URC_FOR_VECTOR);
    urc_ls_store(b, acc, lv, urc_lx_cast(URC_DT_I32, urc_sub(I(-7), rv)));
    urc_ls *kb = urc_ls_for(rb, kk, I(0), I(K), 1, 0);
    b = urc_ls_for(kb, l, I(0), I(L), 1, URC_FOR_VECTOR);
    urc_ls_store(b, acc, lv,
                 urc_lx_dot4(urc_lx_pair(k, A, urc_muli(kv, 4)), urc_lx_load(k, Bw, urc_add(urc_muli(kv, L), lv)),
                             urc_lx_load(k, acc, lv)));
    b = urc_ls_for(rb, l, I(0), I(L), 1, URC_FOR_VECTOR);
    urc_ls_store(b, by, urc_add(urc_muli(rv, L), lv), urc_lx_cast(URC_DT_F32, urc_lx_load(k, acc, lv)));
    CHECK(urc_program_verify(P));

    urc_strbuf sb = {0};
    urc_kernel_print(k, &sb);
    CHECK(strstr(sb.data, "acc[l] = dot4u8s8(quad A[(k * 4)], Bw[((k * 53) + l)], acc[l])") != NULL);
    if (failures) printf("printed:\n%s", sb.data);
    urc_sb_free(&sb);
    char *c = c_text(P);
    if (c) { /* the three forms in the text */
        CHECK(strstr(c, "#if defined(__AVX512VNNI__) && defined(__AVX512VL__)") != NULL);
        CHECK(strstr(c, "_mm512_storeu_si512((void *)&acc[l], _mm512_dpbusd_epi32(_mm512_loadu_si512((const void *)"
                        "&acc[l]), _mm512_set1_epi32((int)urc_quad_u8(&A[(k * 4)])), _mm512_loadu_si512((const void "
                        "*)&Bw[(k * 53) + l])));") != NULL);
        CHECK(strstr(c, "#elif defined(__AVXVNNI__)") != NULL && strstr(c, "_mm256_dpbusd_avx_epi32(") != NULL);
        CHECK(strstr(c, "acc[l] = urc_dot4_u8s8(urc_quad_u8(&A[(k * 4)]), Bw[((k * 53) + l)], acc[l]);") != NULL);
        if (failures) printf("C text:\n%s\n", c);
        free(c);
    }
    urc_tensor *in = urc_tensor_new(URC_DT_F32, &o.x->shape);
    float want[R * L];
    for (int rr = 0; rr < R; rr++)
        for (int ll = 0; ll < L; ll++) {
            int64_t a = -7 - rr;
            for (int q = 0; q < K; q++) {
                uint32_t w = (uint32_t)((int64_t)(q * L + ll) * 2654435761LL + rr * 97);
                for (int t = 0; t < 4; t++)
                    a += (int64_t)((rr * 11 + (4 * q + t) * 37) % 256) * (int8_t)(uint8_t)(w >> (8 * t));
            }
            want[rr * L + ll] = (float)a;
        }
    run_builds(P, in, want, "the integer sums");
}

int main(void) {
    dot2();
    dot4();
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
