/* conv_patch.c: a convolution whose kernel equals its stride (no padding, one group: a vision transformer's patch
 * embedding, UNETR's 16^3 one) on AMX tiles (--precision bf16 on a target with AMX; loop/tiles.h, tile_gemm.h).
 *
 * Such a convolution is one product [tokens, K] x [K, M] over the non-overlapping patches, K = kD*kH*kW*C: the float
 * kernel of conv_direct.c reads each weight vector for a few output positions only (UNETR 96^3's 768 x 4096 weights
 * for 6 positions at a time: 5.7 ms a forward, 2 threads). Here the patches are gathered once into the node's arena
 * scratch, As[2][R32][Kx] bf16 (R32 = N * tokens rounded up to 32, Kx = K rounded up to 32, zeros around), row r =
 * token (n, od, oh, ow), column ((kd*kH + kh)*kW + kw)*C + c (a row of the patch along W and the channels is
 * contiguous in channels-last X), as the high parts bf16(x) and then the low parts bf16(x - bf16(x)): X's float32
 * values to about 16 bits, as the float kernel has them. The blocks of 32 x 32 (tile_gemm.c, `alo`) multiply both
 * planes by W packed in the same column order (B tiles of bf16 pairs, `wpatch`), a work item a panel of 32 output
 * channels, its row blocks pipelined with their epilogue (bias, activation): Y channels-last [N, od, oh, ow, M]. */
#include <stdlib.h>

#include "conv_internal.h"
#include "tile_gemm.h"

typedef struct patch_geo {
    int64_t N, C, M, T, R, R32, K, Kx; /* T tokens a sample, R = N*T rows */
    int64_t in[3], out[3], k[3];
} patch_geo;

static bool patch_fits(const urc_node *n, const urc_target *t, patch_geo *p) {
    const urc_value *X = n->in[0], *W = n->in[1], *B = bias(n), *Y = n->out[0];
    if ((n->op != URC_OP_CONV && n->op != URC_OP_FUSED_CONV) || !urc_target_amx(t) || urc_target_amx_split(t) ||
        !n->a.conv.channels_last || n->a.conv.y_channels_first || n->a.conv.w_last || nparts(n) != 1 || residual(n) ||
        n->a.conv.xn || n->a.conv.xq.scale > 0 || (n->nout > 1 && n->out[1]) || X->data || X->dtype != URC_DT_F32 ||
        !W->data || W->dtype != URC_DT_F32 || urc_lower_wdtype(n) != URC_DT_BF16 || (B && !B->data) ||
        Y->dtype != URC_DT_F32)
        return false;
    geo g = urc_conv_geometry(n);
    if (g.G != 1 || g.nsp < 2 || g.nsp > 3) return false;
    p->N = g.N, p->C = g.C, p->M = g.M, p->T = 1, p->K = g.C;
    for (int i = 0; i < 3; i++) p->in[i] = p->out[i] = p->k[i] = 1;
    for (int i = 0; i < g.nsp; i++) {
        int j = 3 - g.nsp + i;
        if (g.K[i] != g.s[i] || g.d[i] != 1 || g.pb[i] != 0 || g.out[i] * g.K[i] != g.in[i]) return false;
        p->in[j] = g.in[i], p->out[j] = g.out[i], p->k[j] = g.K[i];
        p->T *= g.out[i], p->K *= g.K[i];
    }
    p->R = p->N * p->T, p->R32 = (p->R + 31) / 32 * 32, p->Kx = (p->K + 31) / 32 * 32;
    /* (worth a gather: a long reduction; UNETR 96^3's K = 4096, Swin's 2^3 patches of one channel stay) */
    return p->K >= 256;
}

urc_scratch_req urc_conv_patch_scratch(const urc_node *n, const urc_target *t) {
    urc_scratch_req r = {0, URC_DT_BF16, false};
    patch_geo p;
    if (patch_fits(n, t, &p)) r.count = 2 * p.R32 * p.Kx;
    return r;
}

bool urc_conv_patch_fits(const urc_node *n, const urc_target *t) {
    patch_geo p;
    return patch_fits(n, t, &p);
}

static urc_lx *loop(urc_kernel *k, urc_ls **body, const char *name, int64_t lo, int64_t hi, unsigned flags) {
    int v = urc_kernel_var(k, name, URC_DT_I64);
    *body = urc_ls_for(*body, v, urc_lx_int(lo), urc_lx_int(hi), 1, flags);
    return urc_lx_var(k, v);
}

/* The epilogue of block (row block rb, panel p), its sums in acc from element ao (urc_tile_gemm_pipeline). */
typedef struct patch_epi {
    urc_kernel *k;
    const urc_node *n;
    const patch_geo *p;
    urc_lx *pn;
    int bb, by;
} patch_epi;
static void patch_epilogue(const void *ctx, urc_ls *at, urc_lx *rb, int acc, urc_lx *ao) {
    const patch_epi *e = ctx;
    urc_kernel *k = e->k;
    const patch_geo *p = e->p;
    urc_lx *i0 = urc_muli(rb, 32);
    urc_lx *rows = p->R % 32 ? urc_lx_inrange(urc_lx_bin(URC_L_MIN, urc_lx_int(32), urc_sub(urc_lx_int(p->R), i0)))
                             : urc_lx_int(32);
    urc_lx *cols =
        p->M % 32
            ? urc_lx_inrange(urc_lx_bin(URC_L_MIN, urc_lx_int(32), urc_sub(urc_lx_int(p->M), urc_muli(e->pn, 32))))
            : urc_lx_int(32);
    int vi = urc_kernel_var(k, "i", URC_DT_I64), vj = urc_kernel_var(k, "j", URC_DT_I64);
    urc_ls *el = urc_ls_for(at, vi, urc_lx_int(0), rows, 1, 0);
    el = urc_ls_for(el, vj, urc_lx_int(0), cols, 1, URC_FOR_VECTOR);
    urc_lx *i = urc_lx_var(k, vi), *j = urc_lx_var(k, vj), *col = urc_add(urc_muli(e->pn, 32), j);
    urc_lx *v = urc_lx_load(k, acc, urc_add(ao, urc_add(urc_muli(i, 32), j)));
    if (e->bb >= 0) v = urc_lx_bin(URC_L_ADD, v, urc_lx_load(k, e->bb, col));
    v = urc_conv_act(k, el, &e->n->a.conv, v);
    urc_ls_store(el, e->by, urc_add(urc_muli(urc_add(i0, i), p->M), col), v);
}

bool urc_conv_patch(urc_lower *L, urc_kernel *k, const urc_node *n) {
    patch_geo p;
    const urc_value *sv = n->scratch;
    if (!patch_fits(n, L->target, &p) || !sv || sv->dtype != URC_DT_BF16 ||
        urc_shape_numel(&sv->shape) < 2 * p.R32 * p.Kx)
        return false;
    const int64_t C = p.C, M = p.M, K = p.K, Kx = p.Kx, R32 = p.R32, *in = p.in, *out = p.out, *kk = p.k;
    int bx = urc_lower_in(L, k, n->in[0], "x"), bs = urc_lower_out(L, k, sv, "as");
    /* W [M][C][kD][kH][kW] as [K][M] in the gather's column order */
    const float *w = urc_lower_wdata(L, n);
    float *f = urc_xmalloc((size_t)(K * M) * sizeof *f);
    for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t t = 0; t < K / C; t++) f[(t * C + c) * M + m] = w[(m * C + c) * (K / C) + t];
    int bw = urc_tile_gemm_pack(L, k, "wpatch", f, 1, K, M, M, 1);
    free(f);
    int bb = urc_conv_bias_const(L, k, n, M, M);
    int by = urc_lower_out(L, k, n->out[0], "y");
    int64_t alpha, key[32];
    int nk = 0;
    memcpy(&alpha, &n->a.conv.act_alpha, sizeof alpha);
    const int64_t head[] = {0x504154, C, M, p.N, bx, bs, bw, bb, by, n->a.conv.act, alpha};
    for (size_t i = 0; i < URC_ARRAY_LEN(head); i++) key[nk++] = head[i];
    for (int i = 0; i < 3; i++) key[nk++] = in[i], key[nk++] = kk[i];
    if (urc_lower_reuse(L, k, n, key, nk)) return true;

    /* the gather: row r = (n, od, oh, ow) < R, for each (kd, kh) the kW*C contiguous values of X's row */
    urc_ls *g = k->body;
    urc_lx *r = loop(k, &g, "r", 0, R32, URC_FOR_PARALLEL);
    urc_lx *drow = urc_sp_let(k, g, "drow", urc_muli(r, Kx));
    urc_ls *zr = NULL, *inr = urc_ls_if(g, urc_lx_inrange(urc_lx_bin(URC_L_LT, r, urc_lx_int(p.R))), &zr);
    urc_lx *j = loop(k, &zr, "j", 0, Kx, URC_FOR_VECTOR); /* (rows past R: zeros) */
    urc_ls_store(zr, bs, urc_add(drow, j), urc_lx_const(0, URC_DT_BF16));
    urc_ls_store(zr, bs, urc_add(urc_addi(drow, R32 * Kx), j), urc_lx_const(0, URC_DT_BF16));
    urc_lx *ow = urc_lx_bin(URC_L_REM, r, urc_lx_int(out[2])), *r1 = urc_lx_bin(URC_L_DIV, r, urc_lx_int(out[2]));
    urc_lx *oh = urc_lx_bin(URC_L_REM, r1, urc_lx_int(out[1])), *r2 = urc_lx_bin(URC_L_DIV, r1, urc_lx_int(out[1]));
    urc_lx *od = urc_lx_bin(URC_L_REM, r2, urc_lx_int(out[0])), *nn = urc_lx_bin(URC_L_DIV, r2, urc_lx_int(out[0]));
    urc_lx *x0 =
        urc_sp_let(k, inr, "x0",
                   urc_muli(urc_add(urc_muli(urc_add(urc_muli(urc_add(urc_muli(nn, in[0]), urc_muli(od, kk[0])), in[1]),
                                                     urc_muli(oh, kk[1])),
                                             in[2]),
                                    urc_muli(ow, kk[2])),
                            C));
    urc_ls *tl = inr;
    urc_lx *kd = loop(k, &tl, "kd", 0, kk[0], 0), *kh = loop(k, &tl, "kh", 0, kk[1], 0);
    urc_lx *src = urc_sp_let(k, tl, "src", urc_add(x0, urc_muli(urc_add(urc_muli(kd, in[1]), kh), in[2] * C)));
    urc_lx *dst = urc_sp_let(k, tl, "dst", urc_add(drow, urc_muli(urc_add(urc_muli(kd, kk[1]), kh), kk[2] * C)));
    urc_lx *e = loop(k, &tl, "e", 0, kk[2] * C, URC_FOR_VECTOR);
    urc_lx *xv = urc_lx_var(k, urc_ls_let(k, tl, "xv", URC_DT_F32, urc_lx_load(k, bx, urc_add(src, e))));
    urc_tile_gemm_split_store(k, tl, bs, urc_add(dst, e), R32 * Kx, xv);
    if (Kx > K) { /* (columns past K: zeros) */
        urc_ls *zl = inr;
        urc_lx *jz = loop(k, &zl, "j", K, Kx, URC_FOR_VECTOR);
        urc_ls_store(zl, bs, urc_add(drow, jz), urc_lx_const(0, URC_DT_BF16));
        urc_ls_store(zl, bs, urc_add(urc_addi(drow, R32 * Kx), jz), urc_lx_const(0, URC_DT_BF16));
    }

    /* the products: a work item a panel of 32 output channels, its row blocks pipelined */
    urc_ls *body = k->body;
    int vp = urc_kernel_var(k, "p", URC_DT_I64), vrb = urc_kernel_var(k, "rb", URC_DT_I64);
    body = urc_ls_for(body, vp, urc_lx_int(0), urc_lx_int(urc_tile_gemm_panels(M)), 1, URC_FOR_PARALLEL);
    urc_lx *pn = urc_lx_var(k, vp);
    urc_tile_gemm tg = {bs,    urc_lx_int(0), Kx,    R32,      Kx,    bw, urc_muli(pn, urc_tile_gemm_panel_pairs(K)),
                        false, false,         false, R32 * Kx, false, -1};
    patch_epi pe = {k, n, &p, pn, bb, by};
    urc_tile_gemm_pipeline(k, body, &tg, urc_muli(urc_lx_var(k, vrb), 32), vrb, R32 / 32, L->target, patch_epilogue,
                           &pe);
    urc_lower_remember(L, k);
    return true;
}
