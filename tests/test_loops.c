/* test_loops.c: the loop-IR verifier (loop/verify.c) accepts a well-formed
 * kernel and rejects each kind of malformed one with its exact message; the
 * printer (loop/print.c) prints a hand-built kernel as expected; the schedule
 * (loop/schedule.c) bounds a tile's trips by a literal extent; a parallel
 * loop's captures (loop/outline.c) are exactly what its body reads from
 * outside, and loops that cannot be outlined are refused. */
#include <string.h>

#include "../compiler/base/diag.h"
#include "../compiler/loop/loop.h"
#include "../compiler/loop/outline.h"
#include "check.h"

/* A kernel y[i] = x[i] * 2 over 8 elements, parallel. */
static urc_kernel *good(void) {
    urc_kernel *k = urc_kernel_new("k0_twice", "Mul 'twice': [8] -> [8]");
    int x = urc_kernel_buf(k, "x", URC_DT_F32, 8, URC_KB_IN, NULL);
    int y = urc_kernel_buf(k, "y", URC_DT_F32, 8, URC_KB_OUT, NULL);
    int i = urc_kernel_var(k, "i", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, i, urc_lx_int(0), urc_lx_int(8), 1, URC_FOR_PARALLEL);
    urc_ls_store(body, y, urc_lx_var(k, i),
                 urc_lx_bin(URC_L_MUL, urc_lx_load(k, x, urc_lx_var(k, i)), urc_lx_flt(2, URC_DT_F32)));
    return k;
}

/* Verifies k, which must fail with message `want` (NULL: must pass). */
static void expect(urc_kernel *k, const char *want) {
    urc_diag_reset("test");
    bool ok = urc_kernel_verify(k);
    const char *got = urc_diag_message();
    if (!want) {
        CHECK(ok);
        if (!ok) printf("  unexpected: %s\n", got);
        return;
    }
    CHECK(!ok);
    CHECK(got && !strcmp(got, want));
    if (!got || strcmp(got, want)) printf("  want: %s\n  got:  %s\n", want, got ? got : "(nothing)");
}

/* A transpose-like copy of [n, 8] in 16 x 16 tiles, the outer loop parallel:
 * for ta in [0, n) step 16, tb in [0, 8) step 16, i in [ta, min(ta + 16, n)),
 * j in [tb, min(tb + 16, 8)): y[i*8 + j] = x[j*n + i]. */
static urc_kernel *tiled(int64_t n) {
    urc_kernel *k = urc_kernel_new("k0_tiles", "Transpose 'tiles'");
    int x = urc_kernel_buf(k, "x", URC_DT_F32, n * 8, URC_KB_IN, NULL);
    int y = urc_kernel_buf(k, "y", URC_DT_F32, n * 8, URC_KB_OUT, NULL);
    int ta = urc_kernel_var(k, "ta", URC_DT_I64), tb = urc_kernel_var(k, "tb", URC_DT_I64);
    int i = urc_kernel_var(k, "i", URC_DT_I64), j = urc_kernel_var(k, "j", URC_DT_I64);
    urc_ls *b = urc_ls_for(k->body, ta, urc_lx_int(0), urc_lx_int(n), 16, URC_FOR_PARALLEL);
    b = urc_ls_for(b, tb, urc_lx_int(0), urc_lx_int(8), 16, 0);
    urc_lx *ihi = urc_lx_bin(URC_L_MIN, urc_lx_bin(URC_L_ADD, urc_lx_var(k, ta), urc_lx_int(16)), urc_lx_int(n));
    b = urc_ls_for(b, i, urc_lx_var(k, ta), ihi, 1, 0);
    urc_lx *jhi = urc_lx_bin(URC_L_MIN, urc_lx_bin(URC_L_ADD, urc_lx_var(k, tb), urc_lx_int(16)), urc_lx_int(8));
    b = urc_ls_for(b, j, urc_lx_var(k, tb), jhi, 1, 0);
    urc_lx *yi = urc_lx_bin(URC_L_ADD, urc_lx_bin(URC_L_MUL, urc_lx_var(k, i), urc_lx_int(8)), urc_lx_var(k, j));
    urc_lx *xi = urc_lx_bin(URC_L_ADD, urc_lx_bin(URC_L_MUL, urc_lx_var(k, j), urc_lx_int(n)), urc_lx_var(k, i));
    urc_ls_store(b, y, yi, urc_lx_load(k, x, xi));
    return k;
}

/* Whether the outer loop of tiled(n) is still parallel after scheduling. */
static bool tiled_parallel(int64_t n) {
    urc_program P = {0};
    URC_VEC_PUSH(P.kernels, tiled(n));
    urc_program_schedule(&P);
    return (P.kernels.items[0]->body->list.items[0]->flags & URC_FOR_PARALLEL) != 0;
}

/* let s = 3; let q = 1; for i in [0, 4) parallel collapse(2) { for j in [0, hi) { array t; let w = x[2i + j] * s;
 * t[0] = w; y[2i + j] = t[0] + u[0] [; s = w] } }: captures s, x, y and u (not q, z, t, w, i, j). */
static void test_outline(void) {
    for (int variant = 0; variant < 3; variant++) {
        urc_kernel *k = urc_kernel_new("k0_cap", "captures");
        int x = urc_kernel_buf(k, "x", URC_DT_F32, 8, URC_KB_IN, NULL);
        int z = urc_kernel_buf(k, "z", URC_DT_F32, 8, URC_KB_IN, NULL);
        int y = urc_kernel_buf(k, "y", URC_DT_F32, 8, URC_KB_OUT, NULL);
        int t = urc_kernel_local(k, "t", URC_DT_F32, 1);
        int u = urc_kernel_local(k, "u", URC_DT_F32, 1);
        int sv = urc_kernel_var(k, "s", URC_DT_F32), q = urc_kernel_var(k, "q", URC_DT_F32);
        int i = urc_kernel_var(k, "i", URC_DT_I64), j = urc_kernel_var(k, "j", URC_DT_I64);
        int w = urc_kernel_var(k, "w", URC_DT_F32);
        (void)z;
        urc_ls_decl(k->body, sv, urc_lx_flt(3, URC_DT_F32));
        urc_ls_decl(k->body, q, urc_lx_flt(1, URC_DT_F32));
        urc_ls_store(k->body, u, urc_lx_int(0), urc_lx_var(k, q));
        urc_ls *li = urc_ls_for(k->body, i, urc_lx_int(0), urc_lx_int(4), 1, URC_FOR_PARALLEL);
        k->body->list.items[k->body->list.len - 1]->collapse = 2;
        /* variant 2: the inner bound reads the outer loop's variable */
        urc_ls *lj = urc_ls_for(li, j, urc_lx_int(0), variant == 2 ? urc_lx_var(k, i) : urc_lx_int(2), 1, 0);
        urc_ls_array(lj, k, t);
        urc_lx *at = urc_add(urc_muli(urc_lx_var(k, i), 2), urc_lx_var(k, j));
        urc_ls_decl(lj, w, urc_lx_bin(URC_L_MUL, urc_lx_load(k, x, at), urc_lx_var(k, sv)));
        urc_ls_store(lj, t, urc_lx_int(0), urc_lx_var(k, w));
        urc_ls_store(lj, y, at,
                     urc_lx_bin(URC_L_ADD, urc_lx_load(k, t, urc_lx_int(0)), urc_lx_load(k, u, urc_lx_int(0))));
        if (variant == 1) urc_ls_assign(lj, sv, urc_lx_var(k, w)); /* a captured variable assigned */
        urc_outline o;
        urc_diag_reset("test");
        bool ok = urc_outline_loop(k, k->body->list.items[k->body->list.len - 1], &o);
        const char *got = urc_diag_message();
        if (variant == 0) {
            CHECK(ok);
            if (!ok) continue;
            CHECK(o.collapse == 2 && o.nest[1]->var == j && o.nest[1]->body == lj && o.body == lj);
            CHECK(o.vars.len == 1 && o.vars.items[0] == sv);
            CHECK(o.bufs.len == 3 && o.bufs.items[0] == x && o.bufs.items[1] == y && o.bufs.items[2] == u);
            urc_outline_free(&o);
        } else {
            const char *want = variant == 1
                                   ? "internal error: kernel 'k0_cap': parallel loop assigns 's', declared outside it"
                                   : "internal error: kernel 'k0_cap': a bound of collapsed loop 'j' reads a variable "
                                     "of its nest";
            CHECK(!ok && got && strstr(got, want));
            if (!got || !strstr(got, want)) printf("  want: %s\n  got:  %s\n", want, got ? got : "(nothing)");
        }
    }
}

#define PREFIX "loop verifier: internal: kernel k0_twice (Mul 'twice': [8] -> [8]): "

/* good() plus, inside its parallel loop, a tile configuration (C tile 0: rows x cbytes; A tile 4: 16 x abytes;
 * B tile 6: brows x 64) and one product `op` of tiles 0, 4 and 6. */
static urc_kernel *tiles(urc_tile_op op, int rows, int cbytes, int abytes, int brows) {
    urc_kernel *k = good();
    urc_ls *par = k->body->list.items[0]->body;
    urc_ls *cfg = urc_ls_tile(par, URC_TILE_CONFIG, -1, -1, -1);
    int shape[8][2] = {{rows, cbytes}, {0, 0}, {0, 0}, {0, 0}, {16, abytes}, {0, 0}, {brows, 64}, {0, 0}};
    for (int t = 0; t < 8; t++) {
        URC_VEC_PUSH(cfg->args, urc_lx_int(shape[t][0]));
        URC_VEC_PUSH(cfg->args, urc_lx_int(shape[t][1]));
    }
    urc_ls_tile(par, URC_TILE_ZERO, 0, -1, -1);
    urc_ls_tile(par, op, 0, 4, 6);
    urc_ls_tile(par, URC_TILE_RELEASE, -1, -1, -1);
    return k;
}

int main(void) {
    expect(good(), NULL);

    urc_kernel *k = good(); /* the loop variable read after its loop */
    urc_ls_store(k->body, 1, urc_lx_var(k, 0), urc_lx_flt(0, URC_DT_F32));
    expect(k, PREFIX "variable 'i' is used out of scope");

    k = good(); /* a store to the input */
    urc_ls_store(k->body->list.items[0]->body, 0, urc_lx_var(k, 0), urc_lx_flt(0, URC_DT_F32));
    expect(k, PREFIX "input 'x' is written");

    k = good(); /* fail inside the parallel loop */
    k->can_fail = true;
    urc_ls_fail(k->body->list.items[0]->body, k);
    expect(k, PREFIX "fail statement inside a parallel loop");

    k = good(); /* fail in a kernel not marked can_fail */
    urc_ls_push(k->body, urc_ls_block());
    k->body->list.items[1]->kind = URC_LS_FAIL;
    expect(k, PREFIX "fail statement in a kernel not marked can_fail");

    k = good(); /* collapse(2) over a single loop */
    k->body->list.items[0]->collapse = 2;
    expect(k, PREFIX "loop over 'i' collapses 2 loops of a nest of 1");

    k = good(); /* a let declared twice in one block */
    int t = urc_kernel_var(k, "t", URC_DT_F32);
    urc_ls_decl(k->body, t, urc_lx_flt(1, URC_DT_F32));
    urc_ls_decl(k->body, t, urc_lx_flt(2, URC_DT_F32));
    expect(k, PREFIX "variable 't' is declared twice");

    k = good(); /* a float index */
    urc_ls_store(k->body, 1, urc_lx_flt(0, URC_DT_F32), urc_lx_flt(0, URC_DT_F32));
    expect(k, PREFIX "buffer 'y' is indexed by a float32");

    k = good(); /* a local array read before its array statement */
    int a = urc_kernel_local(k, "acc", URC_DT_F32, 4);
    urc_ls_store(k->body, 1, urc_lx_int(0), urc_lx_load(k, a, urc_lx_int(0)));
    urc_ls_array(k->body, k, a);
    expect(k, PREFIX "local array 'acc' is read outside its scope");

    k = good(); /* a unary op in a binary node */
    urc_lx *e = urc_lx_bin(URC_L_ADD, urc_lx_int(1), urc_lx_int(2));
    e->op = URC_L_EXP;
    urc_ls_store(k->body, 1, e, urc_lx_flt(0, URC_DT_F32));
    expect(k, PREFIX "'exp' is not a binary op");

    /* tile products: A's rows of 4-byte groups against B's rows (tdpbusd: 64 uint8 = 16 quads of int8 rows) */
    expect(tiles(URC_TILE_DPBUSD, 16, 64, 64, 16), NULL);
    expect(tiles(URC_TILE_DPBF16, 16, 64, 32, 8), NULL);
    expect(tiles(URC_TILE_DPBUSD, 16, 64, 64, 8), PREFIX "tdpbusd of tiles 16x64B += 16x64B . 8x64B");
    expect(tiles(URC_TILE_DPBF16, 8, 64, 64, 16), PREFIX "tdpbf16ps of tiles 8x64B += 16x64B . 16x64B");

    /* the schedule: 390 x 8 elements (the [j, min(j + 16, 8)) tile counts 8 trips, not 16) run
     * serially, 16 times as many stay parallel */
    CHECK(!tiled_parallel(390));
    CHECK(tiled_parallel(16 * 390));

    /* the printer */
    urc_strbuf sb = {0};
    urc_kernel_print(good(), &sb);
    const char *want = "kernel k0_twice: Mul 'twice': [8] -> [8]\n"
                       "  param x: float32[8] in\n"
                       "  param y: float32[8] out\n"
                       "  for i in [0, 8) parallel\n"
                       "    y[i] = (x[i] * 2f)\n";
    CHECK(!strcmp(sb.data, want));
    if (strcmp(sb.data, want)) printf("printed:\n%s", sb.data);
    urc_sb_free(&sb);
    test_outline();
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
