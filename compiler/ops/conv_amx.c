/* conv_amx.c: convolutions on AMX tiles (--precision bf16 and int8 on a target with AMX; loop/tiles.h).
 *
 * A stride-1, undilated Conv or FusedConv (one group, constant weights, channels-last X and Y, 2 or 3
 * spatial axes, at least 8 or an even number of input channels, or one; at least 8 output channels) as one product
 * per tap, read straight from a zero-padded copy of X:
 *
 *   Xp [N][PD][PH][PW][Cp] bfloat16, P = out + K - 1 along each axis (X at offset pad_begin), Cp = C
 *      rounded up to 16 (C <= 16) or 32 (few channels: to 2, the taps along W folded, amx_fold), every X part at
 *      its channel offset, zeros around and past C;
 *      the node's arena scratch (32 positions of slack at the end). A large grid holds a chunk of output slabs
 *      at a time (slab_chunks: PD the chunk's padded slices), filled before the chunk's work items.
 *
 * In the padded grid the output voxel (od, oh, ow) reads Xp at position q + (kd*PH + kh)*PW + kw for
 * tap (kd, kh, kw), q = (od*PH + oh)*PW + ow: consecutive positions q along a slab od are rows of one
 * matrix for every tap, whatever the borders. Positions with oh >= OH or ow >= OW are computed and
 * dropped (PW/OW more rows: 2 % at 96 wide, 17 % at 12). Per work item (output block mb of MB = 16 or
 * 32 channels, sample n, slab od), per block of 32 positions:
 *
 *   C[2][MB/16] tiles (16 x 16 float32) = 0
 *   for each tap, for each chunk of KC = 32 (or 16) channels:
 *     A[r] = Xp[q0 + 16r + tap offset][chunk]       (16 rows of KC bf16, rows Cp apart)
 *     B[h] = Wp[mb][tap][chunk/2][16h .. 16h + 16]  (KC/2 rows of 16 bf16 pairs)
 *     C[r][h] += A[r] . B[h]                         (tdpbf16ps)
 *   the tiles stored to a local [32][MB], then Y = act(acc + bias) + residual for the positions kept.
 *
 * Weights are packed at compile time as Wp[M/MB][taps][Cp/2][MB] pairs along the input channels (zero
 * past M and C), the layout of a B tile. Split (urc_target_amx_split: X float32, no Cast) each position holds
 * two planes, Xp[..][2][Cp]: bf16(x), then bf16(x - bf16(x)), both multiplied by the same B tiles.
 * int8 (amx8_fits): the same loops with X's uint8 levels in the grid (a padding zero is level -lo), W's int8
 * levels as quads Wq[mb][tap][Cp/4][MB][4], int32 tiles (tdpbusd) and an epilogue that scales the exact sums.
 * int8 without AMX on VNNI (quad, urc_target_vnni): the same grid (channels rounded up to 4) and quads, multiplied
 * by vpdpbusd (loop.h URC_LX_DOT4) in blocks of RB positions x MB channels of int32 accumulators that stay in
 * registers (quad_block), the same epilogue.
 * ConvTranspose with kernel = stride: urc_convt_amx below. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../loop/tiles.h"
#include "conv_internal.h"
#include "norm_apply.h"
#include "quant.h"
#include "tile_gemm.h"

/* The geometry with the spatial axes mapped to D, H, W (missing leading ones extent 1). */
typedef struct amx_geo {
    int64_t N, C, M, Cp, KC, MB, nmb, T;
    int64_t S;   /* data planes per position: 1, or 2 (bf16 high and low parts: urc_target_amx_split) */
    bool q8;     /* int8 (tdpbusd): Xp holds X's levels as uint8, W int8 quads */
    bool quad;   /* int8 without AMX (VNNI, urc_target_vnni): the same grid and quads, multiplied by vpdpbusd in
                  * blocks of RB positions x MB channels of int32 accumulators (C rounded up to 4 only) */
    bool fold;   /* few channels (amx_fold): Cp = C rounded up to 2, and the taps along W folded into a product's K */
    bool lo2;    /* one float32 channel (amx_fold): its bf16 high part in grid channel 0, the low part in channel 1 */
    bool direct; /* a 1x1x1 convolution of bf16 X parts (amx_direct): A tiles read from the parts in place, no grid */
    bool w2;     /* W's low parts too (ir.h URC_EXACT_W): after each product, one of the same A by W's low parts */
    int64_t RB;
    urc_fq fq;                                       /* int8: X's steps */
    int64_t in[3], out[3], K[3], pb[3], P[3], st[3]; /* st: strides (> 1 for quads only) */
    int64_t SD, PZ; /* output slabs per chunk and the grid's depth: the grid holds one chunk's (slab_chunks) */
    int64_t RP, PR; /* each slab's rows in RP parts of PR (a multiple of the block's positions): work items */
} amx_geo;

/* A slab's positions: its rows of the grid (stride 1: those past OW computed and dropped), or its outputs (strided
 * quads: each row reads the grid where its output does); ws: the positions of a row. */
static int64_t slab_rows(const amx_geo *a, int64_t *ws) {
    bool strided = a->st[0] > 1 || a->st[1] > 1 || a->st[2] > 1;
    *ws = strided ? a->out[2] : a->P[2];
    return (a->out[1] - 1) * *ws + a->out[2];
}

/* (strided: any stride, for the quads, whose rows read X at any address; the grid then holds the positions the
 * outputs read, P = (out - 1) * stride + K along each axis) */
static bool amx_geometry(const urc_node *n, bool q8, bool strided, amx_geo *a) {
    geo g = urc_conv_geometry(n);
    if (g.nsp < 2 || g.nsp > 3 || g.G != 1) return false;
    memset(a, 0, sizeof *a);
    for (int i = 0; i < 3; i++) a->in[i] = a->out[i] = a->K[i] = a->P[i] = a->st[i] = 1;
    for (int i = 0; i < g.nsp; i++) {
        int j = 3 - g.nsp + i;
        if ((g.s[i] != 1 && !strided) || g.s[i] < 1 || g.d[i] != 1) return false;
        a->in[j] = g.in[i], a->out[j] = g.out[i], a->K[j] = g.K[i], a->pb[j] = g.pb[i], a->st[j] = g.s[i];
        a->P[j] = (g.out[i] - 1) * g.s[i] + g.K[i];
        if (a->pb[j] < 0 || (g.s[i] == 1 && a->P[j] < a->in[j] + a->pb[j])) return false;
    }
    a->N = g.N, a->C = g.C, a->M = g.M, a->q8 = q8;
    int64_t kb = q8 ? 64 : 32; /* channels of a full A tile row (64 bytes) */
    a->Cp = a->C <= 16 ? 16 : a->C <= 32 ? 32 : (a->C + kb - 1) / kb * kb;
    a->KC = a->Cp < kb ? a->Cp : kb;
    int64_t m16 = (a->M + 15) / 16 * 16;
    a->MB = m16 % 32 == 0 ? 32 : 16;
    a->nmb = m16 / a->MB;
    a->T = a->K[0] * a->K[1] * a->K[2];
    return true;
}

/* The grid in chunks of SD = 16 output slabs, PZ = (SD - 1) * stride + KD padded slices each, filled before the
 * chunk's products, when the whole grid would exceed 1 MiB (refilling a 3-deep halo costs 2/16 more filling). The
 * grid is the arena's peak where the largest convolutions run (UNETR 96^3's last convolution reads 32 channels at
 * 96^3: a 30 MB uint8 grid, 120 MB in the split form's two bf16 planes). The work items (output blocks x samples x
 * slabs) are then each slab's rows in RP parts of at least 4 blocks, enough for 64 items a chunk or 8 per planned
 * thread (a 2D convolution has a single slab): a chunk or a slab spread over many cores whatever the output
 * blocks. */
static void slab_chunks(amx_geo *a, const urc_target *t) {
    int64_t ws, rows = slab_rows(a, &ws), BR = a->quad ? a->RB : 32, nb = (rows + BR - 1) / BR;
    int64_t bytes = a->N * a->P[0] * a->P[1] * a->P[2] * a->Cp * a->S * (a->q8 ? 1 : 2), sd = 16;
    /* (UNETRC_GRID_SLABS=N: chunks of N slabs for any grid; 0: whole grids and whole slabs as work items, the kernel
     * before chunks and parts; tests and comparisons) */
    const char *e = getenv("UNETRC_GRID_SLABS");
    int64_t forced = e && *e ? atoll(e) : -1;
    if (forced >= 0) sd = forced;
    else if (bytes <= (1 << 20)) sd = 0;
    a->SD = a->out[0], a->PZ = a->P[0];
    if (sd > 0 && sd < a->out[0]) a->SD = sd, a->PZ = (sd - 1) * a->st[0] + a->K[0];
    int64_t items = 8 * (t->threads > 0 ? t->threads : 1), per = a->nmb * a->N * a->SD;
    if (items < 64) items = 64;
    if (forced == 0) items = 1;
    int64_t rp = (items + per - 1) / per;
    if (rp > nb / 4) rp = nb / 4 > 1 ? nb / 4 : 1; /* (at least 4 blocks a part: a tile configuration each) */
    a->PR = (nb + rp - 1) / rp * BR, a->RP = (rows + a->PR - 1) / a->PR;
}

/* What both forms of the tile kernel need of a Conv or FusedConv on target t: channels-last X and Y, constant
 * float32 W stored as wdt, float32 Y, a constant bias, a float32 residual, X parts computed in float32 (or,
 * with bf16_x, read as bf16 after their Cast). */
static bool tile_conv(const urc_node *n, urc_dtype wdt, bool bf16_x) {
    if ((n->op != URC_OP_CONV && n->op != URC_OP_FUSED_CONV) || !n->a.conv.channels_last ||
        n->a.conv.y_channels_first || n->a.conv.w_last || !n->in[1]->data || n->in[1]->dtype != URC_DT_F32 ||
        urc_lower_wdtype(n) != wdt || n->out[0]->dtype != URC_DT_F32)
        return false;
    const urc_value *B = bias(n), *R = residual(n);
    if ((B && !B->data) || (R && R->dtype != URC_DT_F32)) return false;
    for (int p = 0; p < nparts(n); p++) {
        const urc_value *x = xpart(n, p);
        if (x->data || (x->dtype != URC_DT_F32 && !(bf16_x && x->dtype == URC_DT_BF16))) return false;
    }
    return true;
}

/* Few input channels (a first convolution's: BraTS' 4, BasicUNet's 1 split in two) padded to 16 would leave most of
 * each product's K empty, and a product costs the same whatever its K (13 cycles for 16 rows on a Xeon with AMX, K = 4
 * to 32). The grid then holds C rounded up to 2 channels per position, Cp, and as a grid row's consecutive positions are
 * consecutive taps along W, one product takes the K[2] taps along W at once: A's rows K[2]*Cp channels wide (rows Cp
 * apart: they overlap), B's rows the taps' pairs in the order the packed W has them already (tap-major, pairs within
 * a tap: Cp is even). Products per block: K[0]*K[1] instead of K[0]*K[1]*K[2]; the grid Cp/16 of the size. bf16 and
 * one data plane (S = 1); UNETRC_AMX_FOLD=0: not. One channel (BasicUNet's image: float32 X, which tiles of its bf16
 * values alone would round) takes the grid's second channel for its low part (lo2), bf16(x - bf16(x)), times the same
 * weight: the products then as exact as the split form's, in the same number of products. */
static void amx_fold(amx_geo *a) {
    const char *e = getenv("UNETRC_AMX_FOLD");
    int64_t cp = (a->C + 1) / 2 * 2;
    if (a->q8 || a->S != 1 || a->C >= 16 || a->K[2] * cp > 32 || (e && !strcmp(e, "0"))) return;
    a->fold = true, a->Cp = cp, a->KC = a->K[2] * cp;
    a->lo2 = a->C == 1; /* (the second channel free: the split form's two parts in one product, W's weight in both) */
}

/* A pointwise convolution (kernel 1, no padding) of bf16 X parts of equal channel counts cc (even, and at most 32 or a
 * multiple of 32) reads its A tiles from the parts as they are: a grid row would be X's own position, so the copy
 * into the grid is skipped and each product's K is a chunk of one part (min(cc, 32) channels, rows cc apart), the
 * packed W's rows of that part's channels. A slab's rows (H * W of them) then have to be whole blocks of 32 (a block
 * past a slab would read past X). UNETR 96^3's decoder2 conv3 (32 -> 16 from two 16-channel parts): 9.8 -> 6.4 ms, 2
 * threads. UNETRC_AMX_DIRECT=0: through the grid (comparisons: the sums then in another order). */
static void amx_direct(const urc_node *n, amx_geo *a) {
    const char *e = getenv("UNETRC_AMX_DIRECT");
    if (a->q8 || a->S != 1 || a->fold || a->T != 1 || n->a.conv.xn || n->a.conv.fill_rounds ||
        (a->out[1] * a->out[2]) % 32 || (e && !strcmp(e, "0")))
        return;
    int64_t cc = xpart(n, 0)->shape.dims[xpart(n, 0)->shape.rank - 1];
    for (int i = 0; i < 3; i++)
        if (a->pb[i] || a->P[i] != a->in[i]) return;
    for (int p = 0; p < nparts(n); p++) {
        const urc_value *x = xpart(n, p);
        if (x->dtype != URC_DT_BF16 || x->shape.dims[x->shape.rank - 1] != cc) return;
    }
    if (cc % 2 || (cc > 32 && cc % 32)) return;
    a->direct = true, a->KC = cc < 32 ? cc : 32;
}

/* Whether node n's convolution takes the tile kernel on target t (its X parts then in bf16: the precision pass's
 * Cast, urc_conv_pairs; or float32 where the pass dropped the Cast and the fill rounds them, fill_rounds). Few
 * input channels (a first convolution's) waste most of the grid's 16 and of each product's K, yet beat the pair
 * kernel (BraTS' 4 -> 16 at 64^3: 5.7 -> 2.2 ms, 2 threads; folded since, amx_fold); of odd counts below 8 only one
 * channel takes them, as its high and low parts (lo2: tiles of its bf16 values alone would round it). 8 to 15 output channels fill a 16-wide block in part (Swin UNETR fs
 * 12's 12-channel convolutions: 223 -> 177 ms a forward, 2 threads), but not folded ones (amx_fold: unet2d_5slice's
 * 8 -> 8, which the float kernels keep). */
static bool amx_fits(const urc_node *n, const urc_target *t, amx_geo *a) {
    if (!urc_target_amx(t) || !tile_conv(n, URC_DT_BF16, true) || !amx_geometry(n, false, false, a)) return false;
    a->S = urc_target_amx_split(t) || (n->exact & URC_EXACT_X) ? 2 : 1;
    a->w2 = (n->exact & URC_EXACT_W) != 0;
    amx_fold(a);
    amx_direct(n, a);
    slab_chunks(a, t);
    return (a->C >= 8 || a->C % 2 == 0 || a->lo2) && a->M >= 8 && (a->M >= 16 || !a->fold);
}

/* X's int8 steps where every X part is fake-quantised alike (a unetrc.FakeQuant, or a FusedNorm that stores
 * its output so: the precision pass gives the parts of a product one range). */
static bool x_steps(const urc_node *n, urc_fq *q) {
    if (n->a.conv.xq.scale > 0) { /* (the FakeQuants folded into the node: urc_conv_int8_levels) */
        *q = n->a.conv.xq;
        return true;
    }
    for (int p = 0; p < nparts(n); p++) {
        urc_fq f;
        if (!urc_fq_of(xpart(n, p), &f) || (p && memcmp(&f, q, sizeof f))) return false;
        *q = f;
    }
    return true;
}

/* ... or node n's int8 convolution (--precision int8 on an AMX target: tdpbusd) when X is fake-quantised: X's
 * levels u = q - lo in [0, 255] times W's int8 levels, summed in int32 (at most 255 * 127 per product: the
 * sums stay below 2^31), y = s_x * s_w[m] * (sum + lo * sum of W's levels) (a zero of X is level -lo). */
static bool amx8_fits(const urc_node *n, const urc_target *t, amx_geo *a) {
    urc_fq fq;
    bool quad = !urc_target_amx(t) && urc_target_vnni(t);
    if ((!urc_target_amx(t) && !quad) || !tile_conv(n, URC_DT_I8, false) || !x_steps(n, &fq) ||
        !amx_geometry(n, true, quad, a))
        return false;
    a->S = 1, a->fq = fq, a->quad = quad;
    if (quad) { /* RB rows of MB / lanes accumulator vectors, 12 in all (gcc -O3 spilled 24 of the 32 AVX-512 ones) */
        int64_t lanes = t->vector_bits >= 512 ? 16 : 8, regs = a->MB / lanes;
        a->Cp = (a->C + 3) / 4 * 4, a->KC = a->Cp;
        a->RB = 12 / regs;
    }
    slab_chunks(a, t);
    return a->C >= 8 && (a->M >= 16 || quad) && a->Cp * a->T <= ((int64_t)1 << 31) / (256 * 128);
}

int urc_conv_amx_pairs(const urc_node *n, const urc_target *t) {
    amx_geo a;
    return !amx_fits(n, t, &a) ? -1 : a.S == 1 && !a.lo2; /* (split, lo2: X float32, split by the kernel) */
}

bool urc_conv_bf16_self_round(urc_node *n, int j, const urc_target *t, bool apply) {
    if ((n->op != URC_OP_CONV && n->op != URC_OP_FUSED_CONV) || !(j == 0 || (j >= 4 && j < 3 + nparts(n))) ||
        urc_conv_amx_pairs(n, t) != 1)
        return false;
    if (apply) n->a.conv.fill_rounds = true;
    return true;
}

/* The grid's positions past its last one a block reads: 32 for the last block (its rows past the slab), and the taps
 * along W a folded product reads past a row. */
static int64_t slack(const amx_geo *a) { return 32 + (a->fold ? a->K[2] : 0); }

/* Positions of the padded grid the kernel reads: a chunk's of every sample, and the slack. */
static int64_t xp_count(const amx_geo *a) { return (a->N * a->PZ * a->P[1] * a->P[2] + slack(a)) * a->Cp * a->S; }

/* int8 ConvTranspose with kernel = stride (urc_convt_amx): fake-quantised X, int8 W; its levels' rows in scratch.
 * On AMX tiles, or as quads (VNNI) where no AMX. */
static bool convt_quad(const urc_target *t) { return !urc_target_amx(t) && urc_target_vnni(t); }
static bool convt8_fits(const urc_node *n, const urc_target *t, const geo *g, urc_fq *fq) {
    const urc_value *X = n->in[0], *W = n->in[1], *B = bias(n);
    return n->op == URC_OP_CONV_TRANSPOSE && (urc_target_amx(t) || convt_quad(t)) && g->G == 1 &&
           X->dtype == URC_DT_F32 && !X->data && W->data && W->dtype == URC_DT_F32 && !n->a.conv.w_last &&
           urc_lower_wdtype(n) == URC_DT_I8 && !(B && !B->data) && n->out[0]->dtype == URC_DT_F32 &&
           urc_convt_direct_ok(g) && (g->C + 63) / 64 * 64 <= ((int64_t)1 << 31) / (256 * 128) && x_steps(n, fq);
}

/* Its scratch: Xq[V32][Cp] uint8, X's levels for the V input voxels (rounded up to 32 rows, C to 64 channels; quad:
 * to 4). */
static int64_t convt8_count(const geo *g, bool quad) {
    int64_t V = g->N;
    for (int i = 0; i < g->nsp; i++) V *= g->in[i];
    return (V + 31) / 32 * 32 * urc_tile_gemm_k8(g->C, quad);
}

bool urc_conv_int8_levels(const urc_node *n, const urc_target *t) {
    amx_geo a;
    urc_fq fq;
    geo g = urc_conv_geometry(n);
    return n->op == URC_OP_CONV_TRANSPOSE ? convt8_fits(n, t, &g, &fq) : amx8_fits(n, t, &a);
}

urc_scratch_req urc_conv_amx_scratch(const urc_node *n, const urc_target *t) {
    urc_scratch_req r = {0, URC_DT_BF16, false};
    amx_geo a;
    urc_fq fq;
    if (amx_fits(n, t, &a)) r.count = a.direct ? 0 : xp_count(&a);
    else if (amx8_fits(n, t, &a)) r.count = xp_count(&a), r.dt = URC_DT_U8;
    else if (n->op == URC_OP_CONV_TRANSPOSE) {
        geo g = urc_conv_geometry(n);
        if (convt8_fits(n, t, &g, &fq)) r.count = convt8_count(&g, convt_quad(t)), r.dt = URC_DT_U8;
    }
    return r;
}

static urc_lx *loop_from(urc_kernel *k, urc_ls **body, const char *name, urc_lx *lo, urc_lx *hi, int64_t step,
                         unsigned flags) {
    int v = urc_kernel_var(k, name, URC_DT_I64);
    *body = urc_ls_for(*body, v, lo, hi, step, flags);
    return urc_lx_var(k, v);
}

static urc_lx *loop(urc_kernel *k, urc_ls **body, const char *name, int64_t lo, urc_lx *hi, int64_t step,
                    unsigned flags) {
    return loop_from(k, body, name, urc_lx_int(lo), hi, step, flags);
}

/* A work item's positions of its slab: blocks from lo while below hi (a part of the slab's rows), rows in all. */
typedef struct span {
    urc_lx *lo, *hi;
    int64_t rows;
} span;

static urc_lx *bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_inrange(urc_lx_bin(op, a, b)); }

/* Xp from the X parts: each padded position's Cp channels, X's or zeros; split (S = 2), X float32 and the high
 * part bf16(x) there, the low part bf16(x - high) Cp channels further; int8, X's levels q - lo (X fake-quantised
 * already: x / s rounds to q exactly), a zero's -lo around X. */
static void fill(urc_kernel *k, urc_ls *body, const amx_geo *a, int xp, const int *bx, const int64_t *cx, int nx,
                 urc_lx *z0, const urc_node *n, const int *xn) {
    const urc_dtype dt = a->q8 ? URC_DT_U8 : URC_DT_BF16;
    bool whole = a->PZ == a->P[0]; /* (else the chunk of slabs from z0: its slices of the grid, the last one's fewer) */
    urc_ls *b = body;
    urc_lx *nn = loop(k, &b, "n", 0, urc_lx_int(a->N), 1, URC_FOR_PARALLEL);
    body->list.items[body->list.len - 1]->collapse = 3;
    urc_lx *z0p = urc_muli(z0, a->st[0]);
    urc_lx *zl =
        loop(k, &b, "zd", 0,
             whole ? urc_lx_int(a->PZ) : urc_sp_min(urc_lx_int(a->PZ), urc_sub(urc_lx_int(a->P[0]), z0p)), 1, 0);
    urc_lx *zh = loop(k, &b, "zh", 0, urc_lx_int(a->P[1]), 1, 0);
    urc_lx *zw = loop(k, &b, "zw", 0, urc_lx_int(a->P[2]), 1, 0);
    urc_lx *zd = whole ? zl : urc_add(z0p, zl);
    urc_lx *z[3] = {zd, zh, zw}, *inside = NULL, *vox = nn;
    for (int i = 0; i < 3; i++) {
        urc_lx *x = urc_addi(z[i], -a->pb[i]);
        vox = urc_add(urc_muli(vox, a->in[i]), x);
        if (a->pb[i] == 0 && a->P[i] <= a->in[i]) continue; /* no padding along this axis */
        urc_lx *c = bin(URC_L_AND, bin(URC_L_GE, x, urc_lx_int(0)), bin(URC_L_LT, x, urc_lx_int(a->in[i])));
        inside = inside ? bin(URC_L_AND, inside, c) : c;
    }
    urc_lx *q =
        urc_sp_let(k, b, "q", urc_muli(urc_add(urc_muli(urc_add(urc_muli(nn, a->PZ), zl), a->P[1]), zh), a->P[2]));
    q = urc_sp_let(k, b, "qc", urc_muli(urc_add(q, zw), a->Cp * a->S));
    urc_ls *els = NULL, *in = inside ? urc_ls_if(b, inside, &els) : b;
    urc_lx *v = urc_sp_let(k, in, "vox", vox);
    int64_t c0 = 0;
    for (int p = 0; p < nx; p++) {
        urc_ls *cl = in;
        urc_lx *c = loop(k, &cl, "c", 0, urc_lx_int(cx[p]), 1, URC_FOR_VECTOR);
        urc_lx *xi = urc_add(urc_muli(v, cx[p]), c), *x = urc_lx_load(k, bx[p], xi), *at = urc_add(urc_addi(q, c0), c);
        if (xn) { /* (the norm's value: urc_conv_attr xn, one part) */
            const urc_norm_attr *na = &n->a.conv.xn_attr;
            urc_lx *ci = urc_add(urc_muli(nn, cx[p]), c);
            urc_lx *v = urc_norm_apply_value(k, cl, na->act, na->act_alpha, bx[p], xi, xn, ci,
                                             a->q8 ? URC_DT_F32 : URC_DT_BF16);
            urc_ls_store(cl, xp, at, a->q8 ? urc_fake_quant_u8(v, a->fq) : v); /* (int8: its levels) */
        } else if (a->q8) {
            urc_ls_store(cl, xp, at, urc_fake_quant_u8(x, a->fq));
        } else if (a->S == 2 || a->lo2) { /* (lo2: the low part in the next channel) */
            urc_tile_gemm_split_store(k, cl, xp, at, a->lo2 ? 1 : a->Cp, x);
        } else {
            urc_ls_store(cl, xp, at, urc_lx_cast(URC_DT_BF16, x)); /* (float32: urc_conv_bf16_self_round) */
        }
        c0 += cx[p];
    }
    for (int64_t h = 0; h < a->S && a->Cp > a->C + a->lo2; h++) {
        urc_ls *cl = in;
        urc_lx *c = loop(k, &cl, "c", a->C + a->lo2, urc_lx_int(a->Cp), 1, URC_FOR_VECTOR);
        urc_ls_store(cl, xp, urc_add(urc_addi(q, h * a->Cp), c), urc_lx_const(0, dt));
    }
    if (els) {
        urc_lx *c = loop(k, &els, "c", 0, urc_lx_int(a->Cp * a->S), 1, URC_FOR_VECTOR);
        urc_ls_store(els, xp, urc_add(q, c), urc_lx_const(a->q8 ? -a->fq.lo : 0, dt));
    }
}

/* The image convolution a grid fill makes again (urc_conv_attr xc): the image's buffer, the convolution's W as
 * float32 values of bf16 [T][C] (tap-major), its bias [C] (zeros without one), its kernel, and VB positions a step. */
typedef struct xconv {
    int img, w, b;
    int64_t K[3], VB;
} xconv;

/* Xp where X is the image's convolution (urc_conv_attr xc; one X part of C channels, the norm xn then applied as
 * fill() applies it): per grid row inside X, the K[0] x K[1] image rows its taps read, zero-padded along W by K[2] / 2
 * (rows outside the image zeros), into a local rb; then VB positions a step, their C sums in registers, each the taps'
 * multiply-adds in tap order from the bias; a row outside X, and the positions around it, zeros. */
static void fill_xc(urc_kernel *k, urc_ls *body, const amx_geo *a, int xp, urc_lx *z0, const urc_node *n, const int *xn,
                    const xconv *xc) {
    const int64_t C = a->C, W = a->in[2], RW = W + xc->K[2] - 1, VB = xc->VB, Cp = a->Cp;
    bool whole = a->PZ == a->P[0];
    urc_ls *b = body;
    urc_lx *nn = loop(k, &b, "n", 0, urc_lx_int(a->N), 1, URC_FOR_PARALLEL);
    body->list.items[body->list.len - 1]->collapse = 3;
    urc_lx *zl =
        loop(k, &b, "zd", 0,
             whole ? urc_lx_int(a->PZ) : urc_sp_min(urc_lx_int(a->PZ), urc_sub(urc_lx_int(a->P[0]), z0)), 1, 0);
    urc_lx *zh = loop(k, &b, "zh", 0, urc_lx_int(a->P[1]), 1, 0);
    urc_lx *d = urc_addi(whole ? zl : urc_add(z0, zl), -a->pb[0]), *h = urc_addi(zh, -a->pb[1]);
    urc_lx *q =
        urc_sp_let(k, b, "q", urc_muli(urc_add(urc_muli(urc_add(urc_muli(nn, a->PZ), zl), a->P[1]), zh), a->P[2] * Cp));
    urc_lx *inside =
        bin(URC_L_AND, bin(URC_L_AND, bin(URC_L_GE, d, urc_lx_int(0)), bin(URC_L_LT, d, urc_lx_int(a->in[0]))),
            bin(URC_L_AND, bin(URC_L_GE, h, urc_lx_int(0)), bin(URC_L_LT, h, urc_lx_int(a->in[1]))));
    urc_ls *els = NULL, *in = urc_ls_if(b, inside, &els);
    urc_ls *zr = els; /* (a row outside X: zeros) */
    urc_lx *j = loop(k, &zr, "c", 0, urc_lx_int(a->P[2] * Cp), 1, URC_FOR_VECTOR);
    urc_ls_store(zr, xp, urc_add(q, j), urc_lx_const(0, URC_DT_BF16));
    for (int side = 0; side < 2; side++) { /* (the positions before and after X's along W) */
        int64_t p0 = side ? a->pb[2] + W : 0, np = side ? a->P[2] - a->pb[2] - W : a->pb[2];
        if (np <= 0) continue;
        urc_ls *zb = in;
        urc_lx *c = loop(k, &zb, "c", 0, urc_lx_int(np * Cp), 1, URC_FOR_VECTOR);
        urc_ls_store(zb, xp, urc_add(urc_addi(q, p0 * Cp), c), urc_lx_const(0, URC_DT_BF16));
    }
    int rb = urc_kernel_local(k, "rb", URC_DT_F32, xc->K[0] * xc->K[1] * RW);
    urc_ls_array(in, k, rb);
    urc_ls *rl = in;
    urc_lx *r0 = loop(k, &rl, "kd", 0, urc_lx_int(xc->K[0]), 1, 0),
           *r1 = loop(k, &rl, "kh", 0, urc_lx_int(xc->K[1]), 1, 0);
    urc_lx *id = urc_add(d, urc_addi(r0, -xc->K[0] / 2)), *ih = urc_add(h, urc_addi(r1, -xc->K[1] / 2));
    urc_lx *rbase = urc_sp_let(k, rl, "rbase", urc_muli(urc_add(urc_muli(r0, xc->K[1]), r1), RW));
    urc_ls *rz = NULL,
           *ri = urc_ls_if(
               rl,
               bin(URC_L_AND, bin(URC_L_AND, bin(URC_L_GE, id, urc_lx_int(0)), bin(URC_L_LT, id, urc_lx_int(a->in[0]))),
                   bin(URC_L_AND, bin(URC_L_GE, ih, urc_lx_int(0)), bin(URC_L_LT, ih, urc_lx_int(a->in[1])))),
               &rz);
    urc_lx *w = loop(k, &rz, "w", 0, urc_lx_int(RW), 1, URC_FOR_VECTOR);
    urc_ls_store(rz, rb, urc_add(rbase, w), urc_lx_const(0, URC_DT_F32));
    urc_lx *src =
        urc_sp_let(k, ri, "src", urc_muli(urc_add(urc_muli(urc_add(urc_muli(nn, a->in[0]), id), a->in[1]), ih), W));
    for (int part = 0; part < 3; part++) { /* (zeros, the image's row, zeros) */
        int64_t w0 = part == 0 ? 0 : part == 1 ? xc->K[2] / 2 : xc->K[2] / 2 + W, nw = part == 1 ? W : xc->K[2] / 2;
        if (nw <= 0) continue;
        urc_ls *wl = ri;
        urc_lx *wv = loop(k, &wl, "w", 0, urc_lx_int(nw), 1, URC_FOR_VECTOR);
        urc_ls_store(wl, rb, urc_add(urc_addi(rbase, w0), wv),
                     part == 1 ? urc_lx_load(k, xc->img, urc_add(src, wv)) : urc_lx_const(0, URC_DT_F32));
    }
    int acc = urc_kernel_local(k, "xacc", URC_DT_F32, VB * C);
    urc_ls_array(in, k, acc);
    urc_ls *pl = in;
    urc_lx *w0 = loop(k, &pl, "w0", 0, urc_lx_int(W), VB, 0);
    urc_ls *il = pl;
    urc_lx *vi = loop(k, &il, "vi", 0, urc_lx_int(VB), 1, URC_FOR_UNROLL);
    urc_lx *c = loop(k, &il, "c", 0, urc_lx_int(C), 1, URC_FOR_VECTOR);
    urc_ls_store(il, acc, urc_add(urc_muli(vi, C), c), urc_lx_load(k, xc->b, c));
    urc_ls *tl = pl;
    urc_lx *kd = loop(k, &tl, "kd", 0, urc_lx_int(xc->K[0]), 1, 0),
           *kh = loop(k, &tl, "kh", 0, urc_lx_int(xc->K[1]), 1, 0);
    urc_lx *kw = loop(k, &tl, "kw", 0, urc_lx_int(xc->K[2]), 1, 0);
    urc_lx *tap = urc_sp_let(k, tl, "tap", urc_add(urc_muli(urc_add(urc_muli(kd, xc->K[1]), kh), xc->K[2]), kw));
    urc_lx *ro = urc_sp_let(k, tl, "ro", urc_add(urc_add(urc_muli(urc_add(urc_muli(kd, xc->K[1]), kh), RW), w0), kw));
    vi = loop(k, &tl, "vi", 0, urc_lx_int(VB), 1, URC_FOR_UNROLL);
    c = loop(k, &tl, "c", 0, urc_lx_int(C), 1, URC_FOR_VECTOR);
    urc_lx *ai = urc_add(urc_muli(vi, C), c);
    urc_ls_store(tl, acc, ai,
                 urc_lx_fma(urc_lx_load(k, rb, urc_add(ro, vi)), urc_lx_load(k, xc->w, urc_add(urc_muli(tap, C), c)),
                            urc_lx_load(k, acc, ai)));
    const urc_norm_attr *na = &n->a.conv.xn_attr;
    urc_ls *sl = pl;
    vi = loop(k, &sl, "vi", 0, urc_lx_int(VB), 1, URC_FOR_UNROLL);
    urc_lx *at = urc_sp_let(k, sl, "at", urc_add(q, urc_muli(urc_add(urc_addi(w0, a->pb[2]), vi), Cp)));
    urc_ls *cl = sl;
    c = loop(k, &cl, "c", 0, urc_lx_int(C), 1, URC_FOR_VECTOR);
    urc_ls_store(cl, xp, urc_add(at, c),
                 urc_norm_apply_value(k, cl, na->act, na->act_alpha, acc, urc_add(urc_muli(vi, C), c), xn,
                                      urc_add(urc_muli(nn, C), c), URC_DT_BF16));
    if (Cp > C) {
        urc_ls *zc = sl;
        urc_lx *cz = loop(k, &zc, "c", C, urc_lx_int(Cp), 1, URC_FOR_VECTOR);
        urc_ls_store(zc, xp, urc_add(at, cz), urc_lx_const(0, URC_DT_BF16));
    }
}

/* The grid's slack past every sample's slices (read by the rows past a slab's last block, whose outputs are dropped),
 * zeros. */
static void fill_slack(urc_kernel *k, urc_ls *body, const amx_geo *a, int xp) {
    int64_t n = slack(a) * a->Cp * a->S;
    urc_lx *c = loop(k, &body, "c", 0, urc_lx_int(n), 1, URC_FOR_VECTOR);
    urc_ls_store(body, xp, urc_addi(c, xp_count(a) - n), urc_lx_const(0, a->q8 ? URC_DT_U8 : URC_DT_BF16));
}

/* Wp[mb][tap][c/2][l] for output channel mb*MB + l, input channel c, as the float32 values wpairs
 * rounds: [nmb*T][Cp][MB]. */
static float *pack_w(const amx_geo *a, const float *w) {
    float *p = urc_xcalloc((size_t)(a->nmb * a->T * a->Cp * a->MB), sizeof *p);
    for (int64_t m = 0; m < a->M; m++)
        for (int64_t c = 0; c < a->C; c++)
            for (int64_t t = 0; t < a->T; t++)
                for (int64_t h = 0; h <= a->lo2; h++) /* (lo2: channel 0's weight for the low part too) */
                    p[((m / a->MB * a->T + t) * a->Cp + c + h) * a->MB + m % a->MB] = w[(m * a->C + c) * a->T + t];
    return p;
}

/* int8: Wq[mb][tap][c/4][l][c%4], the B tiles' quads of W's levels (zeros past M and C), and lo * (the sum of
 * channel m's levels) for the epilogue: [nmb*MB] int32. */
static int pack_w8(urc_lower *L, urc_kernel *k, const urc_node *n, const amx_geo *a, int *bcorr) {
    /* (quad: the same bytes as uint32 quads, Wq[mb][tap][c/4][l], the operands of URC_LX_DOT4) */
    const float *w = urc_lower_wdata(L, n); /* (the levels: integers in [-127, 127]) */
    int8_t *p = urc_xcalloc((size_t)(a->nmb * a->T * a->Cp * a->MB), 1);
    int64_t *sum = urc_xcalloc((size_t)a->M, sizeof *sum);
    for (int64_t m = 0; m < a->M; m++)
        for (int64_t c = 0; c < a->C; c++)
            for (int64_t t = 0; t < a->T; t++) {
                int8_t v = (int8_t)w[(m * a->C + c) * a->T + t];
                p[(((m / a->MB * a->T + t) * a->Cp + c) / 4 * a->MB + m % a->MB) * 4 + c % 4] = v;
                sum[m] += v;
            }
    int64_t count = a->nmb * a->T * a->Cp * a->MB;
    int b = a->quad ? urc_lower_const(L, k, "wquads", URC_DT_U32, count / 4, p)
                    : urc_lower_const(L, k, "wamx8", URC_DT_I8, count, p);
    *bcorr = urc_tile_gemm_corr(L, k, sum, a->M, a->nmb * a->MB, a->fq);
    free(p);
    free(sum);
    return b;
}

/* The loops over the taps (kd, kh, kw) into *tb; returns the tap's index, and its offset in the grid's positions
 * through off. */
static urc_lx *tap_loops(urc_kernel *k, urc_ls **tb, const amx_geo *a, urc_lx **off) {
    urc_lx *kd = loop(k, tb, "kd", 0, urc_lx_int(a->K[0]), 1, 0);
    urc_lx *kh = loop(k, tb, "kh", 0, urc_lx_int(a->K[1]), 1, 0);
    urc_lx *kw = loop(k, tb, "kw", 0, urc_lx_int(a->K[2]), 1, 0);
    *off = urc_add(urc_muli(urc_add(urc_muli(kd, a->P[1]), kh), a->P[2]), kw);
    return urc_sp_let(k, *tb, "tap", urc_add(urc_muli(urc_add(urc_muli(kd, a->K[1]), kh), a->K[2]), kw));
}

/* What the epilogue of a block needs: Y[n, od, oh, ow, mb*MB + l] = act(acc[r][l] + bias) + R for the positions
 * kept, and the item's sums of Y and Y^2 (norm statistics) where bst >= 0. */
typedef struct epi {
    const amx_geo *a;
    const urc_conv_attr *at;
    int64_t rows, ws;
    urc_lx *nn, *od, *mb, *valid;
    bool q8;
    int bcorr, bs, bb, br, by, bst, sums[2];
} epi;

/* The epilogue of rows [r0, r1) of the block of positions from o0, its sums in acc from element ao (into at). */
static void epilogue(urc_kernel *k, urc_ls *at, const epi *e, int acc, urc_lx *ao, urc_lx *o0, urc_lx *r0, urc_lx *r1) {
    const amx_geo *a = e->a;
    urc_lx *r = loop_from(k, &at, "r", r0, r1, 1, 0);
    urc_lx *o = urc_sp_let(k, at, "o", urc_add(o0, r));
    urc_lx *oh = bin(URC_L_DIV, o, urc_lx_int(e->ws)), *ow = bin(URC_L_REM, o, urc_lx_int(e->ws));
    urc_ls *keep = urc_ls_if(
        at, bin(URC_L_AND, bin(URC_L_LT, o, urc_lx_int(e->rows)), bin(URC_L_LT, ow, urc_lx_int(a->out[2]))), NULL);
    urc_lx *yv =
        urc_add(urc_muli(urc_add(urc_muli(urc_add(urc_muli(e->nn, a->out[0]), e->od), a->out[1]), oh), a->out[2]), ow);
    urc_lx *yb = urc_sp_let(k, keep, "yb", urc_add(urc_muli(yv, a->M), urc_muli(e->mb, a->MB)));
    urc_lx *l = loop(k, &keep, "l", 0, e->valid, 1, URC_FOR_VECTOR);
    urc_lx *val = urc_lx_load(k, acc, urc_add(ao, urc_add(urc_muli(r, a->MB), l)));
    urc_lx *ch = urc_add(urc_muli(e->mb, a->MB), l);
    if (e->q8)
        val = urc_tile_gemm_dequant(k, val, e->bcorr, e->bs, ch, a->fq); /* s_x * s_w[m] * (sum + lo * W's sum) */
    if (e->bb >= 0) val = urc_lx_bin(URC_L_ADD, val, urc_lx_load(k, e->bb, ch));
    val = urc_conv_act(k, keep, e->at, val);
    urc_lx *yi = urc_add(yb, l);
    if (e->br >= 0) val = urc_lx_bin(URC_L_ADD, val, urc_lx_load(k, e->br, yi));
    if (e->bst >= 0) {
        val = urc_lx_var(k, urc_ls_let(k, keep, "yv", URC_DT_F32, val));
        urc_lx *d = urc_lx_cast(URC_DT_F64, val);
        urc_ls_accum(keep, e->sums[0], l, d);
        urc_ls_accum(keep, e->sums[1], l, urc_lx_bin(URC_L_MUL, d, d));
    }
    if (e->by >= 0) urc_ls_store(keep, e->by, yi, val); /* (y_unstored: the statistics alone) */
}

/* The X parts a direct block reads (amx_direct): buffers and channel counts. */
typedef struct xparts {
    const int *bx;
    const int64_t *cx;
    int nx;
} xparts;

/* A direct block's products (amx_direct, into tb): for each part and chunk of KC of its channels, A from the part at
 * the block's positions (voxels from v0), B the packed W's rows of those channels. */
static void direct_products(urc_kernel *k, urc_ls *tb, const amx_geo *a, const xparts *xs, const int bw[2], urc_lx *wa,
                            urc_lx *v0, int64_t rowb, const urc_tiles *t) {
    int nh = (int)(a->MB / 16);
    for (int p = 0, cb = 0; p < xs->nx; cb += (int)xs->cx[p], p++) {
        urc_ls *pb = tb;
        urc_lx *c0 = loop(k, &pb, "c0", 0, urc_lx_int(xs->cx[p]), a->KC, 0);
        urc_lx *wc = urc_add(wa, urc_muli(bin(URC_L_DIV, urc_addi(c0, cb), urc_lx_int(2)), rowb));
        for (int r = 0; r < 2; r++)
            urc_tiles_load(k, pb, t, 4 + r, xs->bx[p], urc_add(urc_muli(urc_addi(v0, 16 * r), xs->cx[p]), c0),
                           urc_lx_int(xs->cx[p]));
        for (int wp = 0; wp < 1 + a->w2; wp++) { /* (w2: then W's low parts) */
            for (int h = 0; h < nh; h++)
                urc_tiles_load(k, pb, t, 6 + h, bw[wp], urc_addi(wc, 16 * h), urc_lx_int(rowb));
            for (int r = 0; r < 2; r++)
                for (int h = 0; h < nh; h++) urc_tiles_dpbf16(k, pb, t, r * nh + h, 4 + r, 6 + h);
        }
    }
}

/* The block loop of the tile form (at: the work item's body): for each block o0 of 32 positions of the slab from q,
 * the sums over taps and chunks of C on 2 x MB/16 accumulator tiles, stored to acc[32][MB], then the epilogue (t:
 * the tiles, released by the caller). Pipelined (UNETRC_AMX_PIPE=0: not), the epilogue of a block runs during the
 * next block's products, a part after each row of taps (kd, kh), from the other half of acc[2][32][MB]: the vector
 * work then overlaps the tile products instead of leaving the tiles idle between blocks (BasicUNet's 32 -> 32
 * convolution at 96^3, one thread: 68 -> 46 ms in a stand-alone kernel, the products alone 38 ms). The block loop
 * runs one block further for the last block's epilogue. */
static void tile_block(urc_kernel *k, urc_ls *at, const amx_geo *a, int xp, const int bw[2], urc_lx *q, span sp,
                       urc_lx *mb, bool q8, urc_tiles *t, const urc_target *tg, const epi *e, const xparts *xs) {
    int nh = (int)(a->MB / 16);
    bool pipe = urc_amx_pipe();
    urc_ls *body = at;
    memset(t, 0, sizeof *t);
    int64_t E = q8 ? 4 : 2;          /* channels per element of a B row: int8 quads, bf16 pairs */
    for (int i = 0; i < 2 * nh; i++) /* C[r][h]: r*nh + h */
        t->rows[i] = 16, t->colsb[i] = 64, t->dt[i] = q8 ? URC_DT_I32 : URC_DT_F32;
    for (int r = 0; r < 2; r++)
        t->rows[4 + r] = 16, t->colsb[4 + r] = (int)(a->KC * (q8 ? 1 : 2)), t->dt[4 + r] = q8 ? URC_DT_U8 : URC_DT_BF16;
    for (int h = 0; h < nh; h++)
        t->rows[6 + h] = (int)(a->KC / E), t->colsb[6 + h] = 64, t->dt[6 + h] = q8 ? URC_DT_I8 : URC_DT_U32;
    urc_tiles_config(k, body, t, tg);
    int64_t AE = 32 * a->MB; /* acc's elements per block */
    int acc = urc_kernel_local(k, "acc", t->dt[0], pipe ? 2 * AE : AE);
    urc_ls_array(body, k, acc);
    urc_lx *o0 = loop_from(k, &body, "o0", sp.lo, pipe ? urc_addi(sp.hi, 32) : sp.hi, 32, 0);
    /* pipelined: this block's products where o0 < hi (into acc's half h), the previous one's epilogue where o0 > lo */
    urc_lx *cur = pipe ? urc_sp_let(k, body, "h", bin(URC_L_REM, bin(URC_L_DIV, o0, urc_lx_int(32)), urc_lx_int(2)))
                       : urc_lx_int(0);
    urc_ls *comp = pipe ? urc_ls_if(body, bin(URC_L_LT, o0, sp.hi), NULL) : body;
    for (int i = 0; i < 2 * nh; i++) urc_tiles_zero(k, comp, t, i);
    urc_ls *tb = body;
    urc_lx *kd = loop(k, &tb, "kd", 0, urc_lx_int(a->K[0]), 1, 0);
    urc_lx *kh = loop(k, &tb, "kh", 0, urc_lx_int(a->K[1]), 1, 0);
    urc_ls *row = tb;
    if (pipe) tb = urc_ls_if(tb, bin(URC_L_LT, o0, sp.hi), NULL);
    urc_lx *kw = loop(k, &tb, "kw", 0, urc_lx_int(a->K[2]), a->fold ? a->K[2] : 1, 0); /* (fold: once) */
    urc_lx *toff = urc_add(urc_muli(urc_add(urc_muli(kd, a->P[1]), kh), a->P[2]), kw);
    urc_lx *tap = urc_sp_let(k, tb, "tap", urc_add(urc_muli(urc_add(urc_muli(kd, a->K[1]), kh), a->K[2]), kw));
    /* B's elements: bf16 pairs (uint32), int8 bytes (a quad per row element) */
    int64_t BE = q8 ? 4 : 1, rowb = a->MB * BE; /* B elements per output channel, per row of the packed W */
    urc_lx *wa = urc_sp_let(k, tb, "wa", urc_muli(urc_add(urc_muli(mb, a->T), tap), a->Cp / E * rowb));
    if (a->direct) /* (the block's first voxel: sample nn, slice od, position o0 of the slab) */
        direct_products(k, tb, a, xs, bw, wa,
                        urc_add(urc_muli(urc_add(urc_muli(e->nn, a->out[0]), e->od), a->out[1] * a->out[2]), o0), rowb,
                        t);
    else {
        urc_lx *pos = urc_add(urc_add(q, o0), toff);
        int64_t XS = a->Cp * a->S; /* Xp's elements per position */
        urc_lx *xa = urc_sp_let(k, tb, "xa", urc_muli(pos, XS));
        urc_lx *c0 = loop(k, &tb, "c0", 0, urc_lx_int(a->Cp), a->KC, 0);
        urc_lx *wc = urc_add(wa, urc_muli(bin(URC_L_DIV, c0, urc_lx_int(E)), rowb));
        /* (split: the high parts, then the low ones, same B; w2: then the high parts times W's low parts) */
        for (int64_t part = 0; part < a->S + a->w2; part++) {
            int64_t xpart = part < a->S ? part : 0;
            if (part == 0 || part == a->S)
                for (int h = 0; h < nh; h++)
                    urc_tiles_load(k, tb, t, 6 + h, bw[part ? 1 : 0], urc_addi(wc, 16 * BE * h), urc_lx_int(rowb));
            for (int r = 0; r < 2 && (part < a->S || a->S > 1); r++)
                urc_tiles_load(k, tb, t, 4 + r, xp, urc_add(urc_addi(xa, 16 * r * XS + xpart * a->Cp), c0),
                               urc_lx_int(XS));
            for (int r = 0; r < 2; r++)
                for (int h = 0; h < nh; h++)
                    (q8 ? urc_tiles_dpbusd : urc_tiles_dpbf16)(k, tb, t, r * nh + h, 4 + r, 6 + h);
        }
    }
    urc_lx *ao = urc_muli(cur, AE);
    if (pipe) { /* the previous block's rows [j*RJ, (j+1)*RJ) after row j of taps */
        int64_t J = a->K[0] * a->K[1], RJ = (32 + J - 1) / J;
        urc_ls *eb = urc_ls_if(row, bin(URC_L_GT, o0, sp.lo), NULL);
        urc_lx *j = urc_sp_let(k, eb, "j", urc_add(urc_muli(kd, a->K[1]), kh));
        urc_lx *r0 = urc_sp_let(k, eb, "r0", urc_muli(j, RJ));
        epilogue(k, eb, e, acc, urc_muli(urc_sub(urc_lx_int(1), cur), AE), urc_addi(o0, -32), r0,
                 RJ * J == 32 ? urc_addi(r0, RJ) : urc_sp_min(urc_addi(r0, RJ), urc_lx_int(32)));
    }
    urc_ls *st = pipe ? urc_ls_if(body, bin(URC_L_LT, o0, sp.hi), NULL) : body;
    for (int r = 0; r < 2; r++)
        for (int h = 0; h < nh; h++)
            urc_tiles_store(k, st, t, r * nh + h, acc, urc_add(ao, urc_lx_int(16 * r * a->MB + 16 * h)),
                            urc_lx_int(a->MB));
    if (!pipe) epilogue(k, body, e, acc, urc_lx_int(0), o0, urc_lx_int(0), urc_lx_int(32));
}

/* The block loop of the quad form (VNNI): for each block o0 of RB positions, acc[RB][MB] (int32) = for each tap and
 * quad c4 of channels, acc[r][l] = dot4(the quad of Xp at position o0 + r + tap (strided: rowb[r] + tap),
 * Wq[mb][tap][c4][l], acc[r][l]): RB x MB accumulators in registers (rows unrolled, lanes vectors of vpdpbusd).
 * Returns acc. */
static void quad_block(urc_kernel *k, urc_ls *at, const amx_geo *a, int xp, int bw, urc_lx *q, span sp, urc_lx *mb,
                       const epi *e) {
    urc_ls *body = at;
    int64_t RB = a->RB, MB = a->MB, C4 = a->Cp / 4;
    bool strided = a->st[0] > 1 || a->st[1] > 1 || a->st[2] > 1;
    urc_lx *o0 = loop_from(k, &body, "o0", sp.lo, sp.hi, RB, 0);
    int acc = urc_kernel_local(k, "acc", URC_DT_I32, RB * MB), rowb = -1;
    urc_ls_array(body, k, acc);
    if (strided) { /* rowb[r]: the grid position (in the slab) of output position o0 + r (the last one past rows) */
        rowb = urc_kernel_local(k, "rowb", URC_DT_I64, RB);
        urc_ls_array(body, k, rowb);
        urc_ls *rl = body;
        urc_lx *r = loop(k, &rl, "r", 0, urc_lx_int(RB), 1, 0);
        urc_lx *o = urc_sp_let(k, rl, "o", urc_sp_min(urc_add(o0, r), urc_lx_int(sp.rows - 1)));
        urc_lx *oh = bin(URC_L_DIV, o, urc_lx_int(a->out[2])), *ow = bin(URC_L_REM, o, urc_lx_int(a->out[2]));
        urc_ls_store(rl, rowb, r, urc_add(urc_muli(oh, a->st[1] * a->P[2]), urc_muli(ow, a->st[2])));
    }
    urc_ls *zb = body;
    urc_lx *zi = loop(k, &zb, "zi", 0, urc_lx_int(RB * MB), 1, URC_FOR_VECTOR);
    urc_ls_store(zb, acc, zi, urc_lx_const(0, URC_DT_I32));
    urc_ls *tb = body;
    urc_lx *toff, *tap = tap_loops(k, &tb, a, &toff);
    urc_lx *pos = urc_add(urc_add(q, strided ? urc_lx_int(0) : o0), toff);
    urc_lx *xa = urc_sp_let(k, tb, "xa", urc_muli(pos, a->Cp));
    urc_lx *wa = urc_sp_let(k, tb, "wa", urc_muli(urc_add(urc_muli(mb, a->T), tap), C4 * MB));
    urc_lx *c4 = loop(k, &tb, "c4", 0, urc_lx_int(C4), 1, 0);
    urc_lx *r = loop(k, &tb, "r", 0, urc_lx_int(RB), 1, URC_FOR_UNROLL);
    urc_lx *rel = strided ? urc_lx_load(k, rowb, r) : r; /* the row's position from xa's */
    int aw = urc_kernel_var(k, "aw", URC_DT_U32);
    urc_ls_decl(tb, aw, urc_lx_pair(k, xp, urc_add(urc_add(xa, urc_muli(rel, a->Cp)), urc_muli(c4, 4))));
    urc_lx *l = loop(k, &tb, "l", 0, urc_lx_int(MB), 1, URC_FOR_VECTOR);
    urc_lx *ai = urc_add(urc_muli(r, MB), l);
    urc_ls_store(tb, acc, ai,
                 urc_lx_dot4(urc_lx_var(k, aw), urc_lx_load(k, bw, urc_add(urc_add(wa, urc_muli(c4, MB)), l)),
                             urc_lx_load(k, acc, ai)));
    epilogue(k, body, e, acc, urc_lx_int(0), o0, urc_lx_int(0), urc_lx_int(RB));
}

/* The buffers of the image convolution node n's fill makes again (urc_conv_attr xc): W rounded to bf16 as that
 * convolution's tile kernel has it; VB positions a step, C * VB <= 128 floats of sums (8 vectors of 16: the
 * multiply-adds' latency covered) dividing X's width. */
static bool image_conv_in(urc_lower *L, urc_kernel *k, const urc_node *n, const amx_geo *a, xconv *xc) {
    const urc_value *w = n->in[15], *b = n->in[16];
    int nsp = w->shape.rank - 2;
    if (a->fold || a->S != 1 || a->direct || a->C > 32) return false;
    for (int i = 0; i < nsp; i++) xc->K[3 - nsp + i] = w->shape.dims[2 + i];
    int64_t T = xc->K[0] * xc->K[1] * xc->K[2];
    while (xc->VB * 2 * a->C <= 128 && a->in[2] % (xc->VB * 2) == 0) xc->VB *= 2;
    float *wt = urc_xcalloc((size_t)(T * a->C), sizeof *wt), *bt = urc_xcalloc((size_t)a->C, sizeof *bt);
    const urc_node *c0 = n->in[11]->producer; /* (the image convolution: its weights' low parts too, URC_EXACT_W) */
    bool w2 = c0 && (c0->exact & URC_EXACT_W);
    for (int64_t c = 0; c < a->C; c++) {
        for (int64_t t = 0; t < T; t++) {
            float v = (float)urc_elem_f64(URC_DT_F32, w->data, c * T + t), hi = urc_bf16_to_f32(urc_f32_to_bf16(v));
            wt[t * a->C + c] = w2 ? hi + urc_bf16_to_f32(urc_f32_to_bf16(v - hi)) : hi;
        }
        if (b) bt[c] = (float)urc_elem_f64(b->dtype, b->data, urc_shape_numel(&b->shape) == 1 ? 0 : c);
    }
    xc->img = urc_lower_in(L, k, n->in[14], "img");
    xc->w = urc_lower_const(L, k, "wxc", URC_DT_F32, T * a->C, wt);
    xc->b = urc_lower_const(L, k, "bxc", URC_DT_F32, a->C, bt);
    free(wt);
    free(bt);
    return true;
}

/* Whether the tile kernel of geometry a (q8: int8) reads X part x of node n as it is: one pass, bf16 after its Cast or
 * float32 the fill rounds (urc_conv_bf16_self_round); split, lo2, int8 or a norm in the fill (xn), float32. */
static bool x_part_taken(const urc_node *n, const amx_geo *a, const urc_value *x, bool q8) {
    bool one = a->S == 1 && !q8 && !a->lo2, f32 = x->dtype == URC_DT_F32;
    if (n->a.conv.xn) return (one || q8) && f32 && nparts(n) == 1;
    return x->dtype == (one ? URC_DT_BF16 : URC_DT_F32) || (one && n->a.conv.fill_rounds && f32);
}

bool urc_conv_amx(urc_lower *L, urc_kernel *k, const urc_node *n) {
    amx_geo a;
    const urc_value *sv = n->scratch;
    bool q8 = !amx_fits(n, L->target, &a);
    if ((q8 && !amx8_fits(n, L->target, &a)) || (!a.direct && (!sv || sv->dtype != (q8 ? URC_DT_U8 : URC_DT_BF16) ||
                                                               urc_shape_numel(&sv->shape) < xp_count(&a))))
        return false;
    int nx = nparts(n), bx[URC_CONV_MAX_PARTS];
    int64_t cx[URC_CONV_MAX_PARTS];
    for (int p = 0; p < nx; p++) {
        const urc_value *x = xpart(n, p);
        if (!x_part_taken(n, &a, x, q8)) return false;
        bx[p] = n->a.conv.xc ? -1 : urc_lower_in(L, k, x, "x"); /* (xc: X made again from the image) */
        cx[p] = x->shape.dims[x->shape.rank - 1];
    }
    xconv xc = {-1, -1, -1, {1, 1, 1}, 1};
    if (n->a.conv.xc && !image_conv_in(L, k, n, &a, &xc)) return false;
    int xp = a.direct ? -1 : urc_lower_out(L, k, sv, "xp"), bw[2] = {-1, -1}, bcorr = -1, bs = -1;
    if (q8) {
        bw[0] = pack_w8(L, k, n, &a, &bcorr);
        bs = urc_lower_wscale(L, k, n, a.nmb * a.MB, a.M);
    } else {
        float *pw = pack_w(&a, urc_lower_wdata(L, n));
        bw[0] = urc_lower_wpairs(L, k, "wamx", a.nmb * a.T, a.Cp, a.MB, pw);
        if (a.w2) {
            float *lo = urc_lower_wlow(pw, a.nmb * a.T * a.Cp * a.MB);
            bw[1] = urc_lower_wpairs(L, k, "wamxlo", a.nmb * a.T, a.Cp, a.MB, lo);
            free(lo);
        }
        free(pw);
    }
    const urc_value *R = residual(n);
    int bb = urc_conv_bias_const(L, k, n, a.M, a.nmb * a.MB);
    int by = n->a.conv.y_unstored ? -1 : urc_lower_out(L, k, n->out[0], "y"), br = R ? urc_lower_in(L, k, R, "r") : -1;
    URC_ASSERT(!n->a.conv.y_unstored || (n->nout > 1 && n->out[1]), "tile convolution: neither Y nor statistics");
    /* the norm statistics (passes/norm_stats.c): a part per work item, sample n's [slab][part of its rows] */
    int bst = n->nout > 1 && n->out[1] ? urc_lower_out(L, k, n->out[1], "stats") : -1;
    int bxs = n->a.conv.xn ? urc_lower_in(L, k, n->in[11], "xstats") : -1; /* (X's norm's: urc_conv_attr xn) */
    URC_ASSERT(bst < 0 || n->a.conv.stat_parts == a.out[0] * a.RP, "tile convolution statistics: parts");

    const urc_conv_attr *at = &n->a.conv;
    int64_t key[64 + 2 * URC_CONV_MAX_PARTS], alpha, fqs = 0;
    int nk = 0;
    memcpy(&alpha, &at->act_alpha, sizeof alpha);
    memcpy(&fqs, &a.fq.scale, sizeof a.fq.scale);
    const int64_t head[] = {0x414d58, a.N,    a.C,    a.M,     a.Cp,    a.MB,    a.nmb,   a.S,    bw[0],   bb,
                            br,       by,     xp,     at->act, alpha,   nx,      q8,      fqs,    a.fq.lo, a.fq.hi,
                            bcorr,    bs,     a.quad, a.RB,    a.SD,    a.RP,    bst,     a.fold, a.lo2,   bxs,
                            a.direct, xc.img, xc.w,   xc.b,    xc.K[0], xc.K[1], xc.K[2], xc.VB,  bw[1]};
    for (size_t i = 0; i < URC_ARRAY_LEN(head); i++) key[nk++] = head[i];
    for (int i = 0; i < 3; i++)
        key[nk++] = a.in[i], key[nk++] = a.out[i], key[nk++] = a.K[i], key[nk++] = a.pb[i], key[nk++] = a.st[i];
    for (int p = 0; p < nx; p++) key[nk++] = bx[p], key[nk++] = cx[p];
    if (at->xn) { /* (the norm's parameters: the coefficients' loads name their buffers) */
        int64_t eps;
        memcpy(&eps, &at->xn_attr.epsilon, sizeof eps);
        memcpy(&alpha, &at->xn_attr.act_alpha, sizeof alpha);
        key[nk++] = eps, key[nk++] = at->xn_attr.act, key[nk++] = alpha;
        for (int i = 12; i < 14; i++) { /* (one-element constants are literals in the code) */
            const urc_value *v = n->in[i];
            double d = v->data && urc_shape_numel(&v->shape) == 1 ? urc_elem_f64(v->dtype, v->data, 0) : NAN;
            memcpy(&key[nk++], &d, sizeof d);
        }
    }
    if (urc_lower_reuse(L, k, n, key, nk)) return true;

    /* per chunk of SD slabs from z0 (one chunk: every slab), its grid, then its work items: output block, sample,
     * slab, part of the slab's rows (RP > 1) */
    int xn[3], *xnp = NULL;
    if (at->xn) { /* (its norm's coefficients, every sample's, before anything reads X) */
        urc_norm_apply_coeffs(L, k, n->in[0], n->in[12], n->in[13], bxs, n->in[11]->shape.dims[1], at->xn_attr.epsilon,
                              xn);
        xnp = xn;
    }
    if (!a.direct) fill_slack(k, k->body, &a, xp);
    urc_ls *cb = k->body;
    bool whole = a.SD == a.out[0];
    urc_lx *z0 = whole ? urc_lx_int(0) : loop(k, &cb, "z0", 0, urc_lx_int(a.out[0]), a.SD, 0);
    if (at->xc) fill_xc(k, cb, &a, xp, z0, n, xnp, &xc);
    else if (!a.direct) fill(k, cb, &a, xp, bx, cx, nx, z0, n, xnp);
    urc_ls *body = cb;
    urc_lx *mb = loop(k, &body, "mb", 0, urc_lx_int(a.nmb), 1, URC_FOR_PARALLEL);
    cb->list.items[cb->list.len - 1]->collapse = a.RP > 1 ? 4 : 3;
    urc_lx *nn = loop(k, &body, "n", 0, urc_lx_int(a.N), 1, 0);
    urc_lx *odl =
        loop(k, &body, "od", 0,
             whole ? urc_lx_int(a.SD) : urc_sp_min(urc_lx_int(a.SD), urc_sub(urc_lx_int(a.out[0]), z0)), 1, 0);
    int64_t ws, rows = slab_rows(&a, &ws), PHW = a.P[1] * a.P[2];
    span sp = {urc_lx_int(0), urc_lx_int(rows), rows};
    urc_lx *part = urc_lx_int(0);
    if (a.RP > 1) { /* (the slab's part: rows from part * PR) */
        part = loop(k, &body, "part", 0, urc_lx_int(a.RP), 1, 0);
        sp.lo = urc_sp_let(k, body, "olo", urc_muli(part, a.PR));
        sp.hi = urc_sp_min(urc_lx_int(rows), urc_addi(sp.lo, a.PR));
    }
    urc_lx *od = whole ? odl : urc_sp_let(k, body, "odz", urc_add(z0, odl));
    urc_ls *item = body;
    urc_lx *q = a.direct
                    ? NULL /* (no grid) */
                    : urc_sp_let(k, body, "qs", urc_muli(urc_add(urc_muli(nn, a.PZ), urc_muli(odl, a.st[0])), PHW));
    urc_lx *valid =
        a.M % a.MB == 0 ? urc_lx_int(a.MB) : urc_sp_min(urc_lx_int(a.MB), urc_sub(urc_lx_int(a.M), urc_muli(mb, a.MB)));
    int sums[2] = {-1, -1}; /* (the item's sums of Y and Y^2 by channel of the block, float64) */
    for (int j = 0; j < 2 && bst >= 0; j++) {
        sums[j] = urc_kernel_local(k, j ? "sq" : "ss", URC_DT_F64, a.MB);
        urc_ls_array(item, k, sums[j]);
        urc_ls *zb = item;
        urc_lx *l = loop(k, &zb, "l", 0, urc_lx_int(a.MB), 1, URC_FOR_VECTOR);
        urc_ls_store(zb, sums[j], l, urc_lx_flt(0, URC_DT_F64));
    }
    urc_tiles t;
    epi e = {&a, at, rows, ws, nn, od, mb, valid, q8, bcorr, bs, bb, br, by, bst, {sums[0], sums[1]}};
    if (a.quad) quad_block(k, body, &a, xp, bw[0], q, sp, mb, &e);
    else {
        xparts xs = {bx, cx, nx};
        tile_block(k, body, &a, xp, bw, q, sp, mb, q8, &t, L->target, &e, &xs);
    }
    if (!a.quad) urc_tiles_release(item, &t);
    if (bst >= 0) { /* stats[n][od * RP + part][j][mb * MB + l] */
        urc_ls *sb = item;
        urc_lx *l2 = loop(k, &sb, "l", 0, valid, 1, URC_FOR_VECTOR);
        urc_lx *pi = urc_add(urc_add(urc_muli(nn, n->a.conv.stat_parts), urc_muli(od, a.RP)), part);
        for (int j = 0; j < 2; j++)
            urc_ls_store(sb, bst,
                         urc_add(urc_add(urc_muli(pi, 2 * a.M), urc_lx_int(j * a.M)), urc_add(urc_muli(mb, a.MB), l2)),
                         urc_lx_load(k, sums[j], l2));
    }
    urc_lower_remember(L, k);
    return true;
}

unsigned urc_conv_bf16_exact(const urc_node *n, const urc_target *t) {
    amx_geo a;
    geo g = urc_conv_geometry(n);
    if (n->op == URC_OP_CONV_TRANSPOSE) /* (urc_convt_amx's bf16 form: X bf16 after its Cast, constant W) */
        return urc_target_amx(t) && !urc_target_amx_split(t) && n->a.conv.channels_last && !n->a.conv.w_last &&
                       n->in[0]->dtype == URC_DT_BF16 && n->in[1]->data && n->in[1]->dtype == URC_DT_F32 &&
                       urc_lower_wdtype(n) == URC_DT_BF16 && g.G == 1 && urc_convt_direct_ok(&g) &&
                       (!bias(n) || bias(n)->data) &&
                       (n->out[0]->dtype == URC_DT_F32 || n->out[0]->dtype == URC_DT_BF16)
                   ? URC_EXACT_W
                   : 0;
    if (!amx_fits(n, t, &a)) return 0;
    /* X: one float32 part not in the grid as its parts already (lo2), before the Casts; W: where the tile kernel
     * takes the X parts as they are (urc_conv_amx) */
    unsigned m = !a.lo2 && nparts(n) == 1 && n->in[0]->dtype == URC_DT_F32 && !n->a.conv.fill_rounds ? URC_EXACT_X : 0;
    bool taken = true;
    for (int p = 0; p < nparts(n); p++) taken = taken && x_part_taken(n, &a, xpart(n, p), false);
    return m | (taken ? URC_EXACT_W : 0);
}

bool urc_conv_x_norm(const urc_node *n, const urc_target *t) {
    amx_geo a;
    return nparts(n) == 1 && (urc_conv_amx_pairs(n, t) == 1 || amx8_fits(n, t, &a));
}

int64_t urc_conv_norm_stats(urc_node *n, const urc_target *t, bool apply) {
    amx_geo a;
    if (n->op == URC_OP_CONV_TRANSPOSE || !(amx_fits(n, t, &a) || amx8_fits(n, t, &a))) return 0;
    if (apply) n->a.conv.stat_parts = a.out[0] * a.RP;
    return a.out[0] * a.RP;
}

/* ---- ConvTranspose with kernel = stride on tiles ----------------------------------------------------------
 *
 * Without padding every input voxel writes its own K^3 block of outputs, one tap each (urc_convt_direct_ok):
 * the node is one product [V, C] x [C, T*M] over the V input voxels (X channels-last as it is: rows C apart),
 * column j = tap*M + m of W[c][m][tap], cut into 32 x 32 blocks (tile_gemm.h); the epilogue scatters block
 * element (v, j) to Y[n, id*KD + kd, ih*KH + kh, iw*KW + kw, m] with the bias (Y float32, or rounded to bf16:
 * urc_conv_bf16_store). Taken with bf16 pairs (X read as bf16: urc_conv_pairs) on an AMX target, constant W; split
 * (urc_target_amx_split), X float32. */
/* What the epilogue of a ConvTranspose's block needs (urc_convt_amx). */
typedef struct convt_epi {
    const urc_node *n;
    int64_t in[3], K[3], M, T, J, V;
    bool q8;
    int bcorr, bs;
    urc_fq fq;
    int bb, by;
} convt_epi;

/* Into `at`: the block of row block i0 and panel p, its sums in acc from element ao, scattered to Y with the bias and
 * activation: block element (i, j) is input voxel v = i0 + i, column jj = p*32 + j. */
static void convt_epilogue(urc_kernel *k, urc_ls *at, const convt_epi *e, urc_lx *i0, urc_lx *p, int acc, urc_lx *ao) {
    const int64_t *in = e->in, *K = e->K, M = e->M, T = e->T, J = e->J, V = e->V;
    urc_ls *rb = at;
    urc_lx *rows = V % 32 ? urc_sp_min(urc_lx_int(32), urc_sub(urc_lx_int(V), i0)) : urc_lx_int(32);
    urc_lx *i = loop(k, &rb, "i", 0, rows, 1, 0);
    urc_lx *v = urc_sp_let(k, rb, "v", urc_add(i0, i));
    urc_lx *iw = bin(URC_L_REM, v, urc_lx_int(in[2])), *t1 = bin(URC_L_DIV, v, urc_lx_int(in[2]));
    urc_lx *ih = bin(URC_L_REM, t1, urc_lx_int(in[1])), *t2 = bin(URC_L_DIV, t1, urc_lx_int(in[1]));
    urc_lx *id = bin(URC_L_REM, t2, urc_lx_int(in[0])), *nn = bin(URC_L_DIV, t2, urc_lx_int(in[0]));
    urc_lx *ob = urc_sp_let(
        k, rb, "ob", /* Y's voxel of tap 0 */
        urc_add(urc_muli(urc_add(urc_muli(urc_add(urc_muli(nn, in[0] * K[0]), urc_muli(id, K[0])), in[1] * K[1]),
                                 urc_muli(ih, K[1])),
                         in[2] * K[2]),
                urc_muli(iw, K[2])));
    /* the block's columns: where the taps and the panels align (M a multiple of 32, or 32 a multiple of M) a loop over
     * the panel's taps and one over its contiguous channels (the tap's offset invariant, the stores contiguous: they
     * vectorise), else one loop over the columns */
    urc_lx *j, *t, *m;
    if (M % 32 == 0) { /* (the panel inside one tap) */
        urc_lx *p32 = urc_muli(p, 32);
        j = loop(k, &rb, "j", 0, urc_lx_int(32), 1, URC_FOR_VECTOR);
        t = bin(URC_L_DIV, p32, urc_lx_int(M)), m = urc_add(bin(URC_L_REM, p32, urc_lx_int(M)), j);
    } else if (32 % M == 0) { /* (32 / M whole taps in the panel; the last panel may hold fewer) */
        int64_t tp = 32 / M;
        urc_lx *taps = T % tp ? urc_sp_min(urc_lx_int(tp), urc_sub(urc_lx_int(T), urc_muli(p, tp))) : urc_lx_int(tp);
        urc_lx *tq = loop(k, &rb, "tq", 0, taps, 1, 0);
        t = urc_add(urc_muli(p, tp), tq);
        m = loop(k, &rb, "m", 0, urc_lx_int(M), 1, URC_FOR_VECTOR);
        j = urc_add(urc_muli(tq, M), m);
    } else {
        urc_lx *cols = J % 32 ? urc_sp_min(urc_lx_int(32), urc_sub(urc_lx_int(J), urc_muli(p, 32))) : urc_lx_int(32);
        j = loop(k, &rb, "j", 0, cols, 1, URC_FOR_VECTOR);
        urc_lx *jc = urc_add(urc_muli(p, 32), j);
        t = bin(URC_L_DIV, jc, urc_lx_int(M)), m = bin(URC_L_REM, jc, urc_lx_int(M));
    }
    urc_lx *jj = urc_add(urc_muli(p, 32), j);
    urc_lx *kw = bin(URC_L_REM, t, urc_lx_int(K[2])),
           *kh = bin(URC_L_REM, bin(URC_L_DIV, t, urc_lx_int(K[2])), urc_lx_int(K[1]));
    urc_lx *kd = bin(URC_L_DIV, t, urc_lx_int(K[1] * K[2]));
    urc_lx *off = urc_add(urc_muli(urc_add(urc_muli(kd, in[1] * K[1]), kh), in[2] * K[2]), kw);
    urc_lx *val = urc_lx_load(k, acc, urc_add(ao, urc_add(urc_muli(i, 32), j)));
    if (e->q8) val = urc_tile_gemm_dequant(k, val, e->bcorr, e->bs, jj, e->fq);
    if (e->bb >= 0) val = urc_lx_bin(URC_L_ADD, val, urc_lx_load(k, e->bb, m));
    val = urc_conv_act(k, rb, &e->n->a.conv, val);
    if (e->n->out[0]->dtype == URC_DT_BF16) val = urc_lx_cast(URC_DT_BF16, val); /* (urc_conv_bf16_store) */
    urc_ls_store(rb, e->by, urc_add(urc_muli(urc_add(ob, off), M), m), val);
}

/* urc_convt_amx's pipelined panels: panel p's epilogue (urc_tile_gemm_pipeline) */
typedef struct convt_pipe_ctx {
    urc_kernel *k;
    const convt_epi *e;
    urc_lx *i0;
} convt_pipe_ctx;
static void convt_pipe_epilogue(const void *ctx, urc_ls *at, urc_lx *p, int acc, urc_lx *ao) {
    const convt_pipe_ctx *pc = ctx;
    convt_epilogue(pc->k, at, pc->e, pc->i0, p, acc, ao);
}

bool urc_convt_amx(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *gg) {
    const urc_value *X = n->in[0], *W = n->in[1], *B = bias(n), *sv = n->scratch;
    bool split = urc_target_amx_split(L->target);
    urc_fq fq = {0, 0, 0};
    bool quad = convt_quad(L->target);
    bool q8 = convt8_fits(n, L->target, gg, &fq) && sv && sv->dtype == URC_DT_U8 &&
              urc_shape_numel(&sv->shape) >= convt8_count(gg, quad);
    quad = quad && q8;
    if (!q8 && (!urc_target_amx(L->target) || X->dtype != (split ? URC_DT_F32 : URC_DT_BF16) || !W->data ||
                n->a.conv.w_last || (split && urc_lower_wdtype(n) != URC_DT_BF16) || (B && !B->data) ||
                (n->out[0]->dtype != URC_DT_F32 && n->out[0]->dtype != URC_DT_BF16) || !urc_convt_direct_ok(gg)))
        return false;
    int64_t in[3] = {1, 1, 1}, K[3] = {1, 1, 1}, C = gg->C, M = gg->M;
    for (int i = 0; i < gg->nsp; i++) in[3 - gg->nsp + i] = gg->in[i], K[3 - gg->nsp + i] = gg->K[i];
    int64_t T = K[0] * K[1] * K[2], J = T * M, V = gg->N * in[0] * in[1] * in[2], NP = urc_tile_gemm_panels(J);
    int64_t V32 = (V + 31) / 32 * 32, Cp = urc_tile_gemm_k8(C, quad);
    int bx = urc_lower_in(L, k, X, "x");
    float *f = urc_xmalloc((size_t)(C * J) * sizeof *f); /* [C][J]: W[c][m][tap] at column tap*M + m */
    const float *w = urc_lower_wdata(L, n);
    for (int64_t c = 0; c < C; c++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t t = 0; t < T; t++) f[c * J + t * M + m] = w[(c * M + m) * T + t];
    int bw, bxq = -1, bcorr = -1, bs = -1, blo = -1;
    if (q8) { /* (as the int8 matmuls: matmul.c amx_body) */
        int64_t *cs = urc_xmalloc(sizeof *cs * (size_t)J);
        bw = urc_tile_gemm_pack8(L, k, quad ? "wt_quads" : "wt_tiles8", f, C, J, J, 1, cs, quad);
        bcorr = urc_tile_gemm_corr(L, k, cs, J, NP * 32, fq);
        bs = urc_lower_wscale(L, k, n, NP * 32, J); /* (column j's channel: j % M) */
        bxq = urc_lower_out(L, k, sv, "xq");
        free(cs);
    } else {
        bw = urc_tile_gemm_pack(L, k, "wt_tiles", f, 1, C, J, J, 1);
        if (n->exact & URC_EXACT_W) { /* (W's low parts: ir.h) */
            float *lo = urc_lower_wlow(f, C * J);
            blo = urc_tile_gemm_pack(L, k, "wt_tiles_lo", lo, 1, C, J, J, 1);
            free(lo);
        }
    }
    free(f);
    int bb = urc_conv_bias_const(L, k, n, M, M);
    int by = urc_lower_out(L, k, n->out[0], "y");
    int64_t key[32], fqs = 0;
    int nk = 0;
    memcpy(&fqs, &fq.scale, sizeof fq.scale);
    const int64_t head[] = {0x414d5854, C, M, V, bx, bw, bb, by, split, q8, bxq, bcorr, bs, fqs, fq.lo, quad, blo};
    for (size_t i = 0; i < URC_ARRAY_LEN(head); i++) key[nk++] = head[i];
    for (int i = 0; i < 3; i++) key[nk++] = in[i], key[nk++] = K[i];
    if (urc_lower_reuse(L, k, n, key, nk)) return true;

    if (q8) { /* Xq[v][c] = X's level - lo for v < V, c < C, else 0 */
        urc_ls *qb = k->body;
        urc_lx *v = loop(k, &qb, "v", 0, urc_lx_int(V32), 1, URC_FOR_PARALLEL);
        urc_tile_gemm_levels(k, qb, v, V, bx, urc_muli(v, C), bxq, urc_muli(v, Cp), C, Cp, fq);
    }
    convt_epi e = {n, {in[0], in[1], in[2]}, {K[0], K[1], K[2]}, M, T, J, V, q8, bcorr, bs, fq, bb, by};
    urc_ls *body = k->body;
    /* (the row blocks outside the panels: a thread's consecutive items write the taps of the same input voxels, whose
     * outputs along W are adjacent: BasicUNet's last upsampling 11.2 -> 8.1 ms, 2 threads) */
    urc_lx *i0 = urc_muli(loop(k, &body, "rb", 0, urc_lx_int((V + 31) / 32), 1, URC_FOR_PARALLEL), 32);
    /* pipelined (UNETRC_AMX_PIPE=0: not; not the quads, nor fewer than 16 row blocks, whose panels are work items too):
     * a row block's panels under one tile configuration, each panel's epilogue during the next one's products */
    bool pipe = urc_amx_pipe() && !quad && (V + 31) / 32 >= 16 && NP > 1;
    if (!pipe) k->body->list.items[k->body->list.len - 1]->collapse = 2;
    urc_tile_gemm tg = {bx, urc_lx_int(0), C, V, C, bw, NULL, split, false, false, 0, blo >= 0, blo};
    int64_t pstride = urc_tile_gemm_panel_pairs(C);
    if (q8) { /* (quad: B's elements are uint32 quads) */
        pstride = urc_tile_gemm_panel_bytes8(C, quad) / (quad ? 4 : 1);
        tg = (urc_tile_gemm){bxq, urc_lx_int(0), Cp, V32, Cp, bw, NULL, false, true, quad, 0, false, -1};
    }
    int vp = urc_kernel_var(k, "p", URC_DT_I64);
    urc_lx *p = urc_lx_var(k, vp);
    tg.bbase = urc_muli(p, pstride);
    if (pipe) { /* panel p's products, panel p - 1's epilogue */
        convt_pipe_ctx pc = {k, &e, i0};
        urc_tile_gemm_pipeline(k, body, &tg, i0, vp, NP, L->target, convt_pipe_epilogue, &pc);
    } else {
        body = urc_ls_for(body, vp, urc_lx_int(0), urc_lx_int(NP), 1, 0);
        convt_epilogue(k, body, &e, i0, p, urc_tile_gemm_block(k, body, &tg, i0, L->target), urc_lx_int(0));
    }
    urc_lower_remember(L, k);
    return true;
}
