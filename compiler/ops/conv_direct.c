/* conv_direct.c: the channels-last fast kernels of Conv and ConvTranspose (float32, one group,
 * constant or w_last weights), shared by the forward convolutions and their data gradients (which
 * autodiff builds as Conv/ConvTranspose nodes): the direct register-blocked kernel, 1x1x1 as one
 * GEMM, ConvTranspose with kernel = stride as row GEMMs and by residue classes; 3x3(x3) go to
 * conv_wino.c when it pays off. Called by conv.c's lowering (conv_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "conv_internal.h"

/* ---- channels-last fast paths (float32, group 1, constant weights) ----------
 *
 * Direct register-blocked convolution. The spatial axes are mapped to three
 * (D, H, W; missing leading axes have extent 1); X is [N, D, H, W, C] and Y
 * [N, OD, OH, OW, M]. A block of the output row (n, od, oh) covers WB voxels
 * along W times MB output channels (MB = `mult` vectors of the target);
 * its accumulators live in a small local array that the C compiler keeps
 * in registers (voxel loops fully unrolled, channel-lane loops vectorised):
 *
 *   for mb, n, od, oh (parallel):  [tap ranges along D and H]
 *     for each W block (ow0, nv voxels):
 *       acc[nv][MB] = 0
 *       for kd, kh in range, kw:  for c:  for v (unrolled):
 *         xv = X[n, od*s-p+kd*d, oh*s-p+kh*d, (ow0+v)*s-p+kw*d, c]
 *         acc[v][:] += xv * Wp[mb][kd][kh][kw][c][:]       (vector lanes)
 *       Y[n, od, oh, ow0+v, mb*MB + :] = acc[v][:] + B[...]
 *
 * Weights are packed at compile time as Wp[M/MB][KD][KH][KW][C][MB] (the
 * order the inner loop streams them; channels past M are zero). Blocks
 * whose voxels all see every W tap run in a loop; the blocks at the row's
 * borders are emitted one by one with their constant start, so each W tap
 * is unrolled with the exact (constant) range of voxels it reaches: no
 * branches in any hot loop. D and H taps are clamped per output row. A
 * 1x1x1 convolution without padding or stride is one GEMM over all voxels
 * (one long row). With few output channels the lanes run over input
 * channels instead (dot_tile below). */

typedef struct tile {
    int lanes, MB, WB;
    int64_t nmb; /* channel blocks */
    bool dot;    /* input channels in the lanes (see "few output channels" below) */
    bool vox;    /* output voxels in the lanes (vox_tile) */
} tile;

/* Register tile for `cols` output channels, rows of at most wmax voxels
 * (0: unbounded), `kbytes` bytes of packed weights per output channel. */
static tile pick_tile(const urc_target *tg, int64_t cols, int64_t wmax, int64_t kbytes) {
    tile t;
    int regs = tg->vector_bits >= 512 ? 32 : 16; /* x86: zmm0-31 with AVX-512, else 16 */
    t.lanes = tg->vector_bits / 32 < 4 ? 4 : tg->vector_bits / 32;
    int64_t mv = (cols + t.lanes - 1) / t.lanes;
    int mult = 1;
    for (int m = regs >= 32 ? 4 : 2; m > 1; m--)
        /* a channel block's weights should stay in (half) the L2 across a row */
        if (mv % m == 0 && (int64_t)m * t.lanes * kbytes <= tg->l2_bytes / 2) {
            mult = m;
            break;
        }
    t.dot = t.vox = false;
    t.MB = mult * t.lanes;
    t.nmb = (cols + t.MB - 1) / t.MB;
    t.WB = (regs - mult - 2) / mult;
    if (t.WB > 12) t.WB = 12;
    if (t.WB < 1) t.WB = 1;
    if (wmax > 0 && t.WB > wmax) t.WB = (int)wmax;
    return t;
}

/* Few output channels: input channels in the lanes. With M output channels
 * in blocks of MB lanes, each FMA does M/MB useful work: a segmentation
 * head (2 or 3 classes) or a small network's 1- or 2-channel convolution
 * wastes most of every vector. Lanes over consecutive output voxels would
 * need channels-last X's voxels C floats apart (gathers; measured slower
 * than the channel form for C > 2), so the input channels go in the lanes:
 * per output voxel v and output channel m one vector accumulator
 *
 *   acc[v][m][:] += X[vox(v), c + :] * Wd[tap][m][c + :]   (c in steps of lanes)
 *
 * with both loads contiguous, and the store adds each accumulator's lanes
 * (halving steps). WB = 8/M voxels x M accumulators stay in registers; Wd
 * is packed as [T][M][C] (no padding past M). Chosen when every X part has
 * a multiple of `lanes` channels, the channel form would use more than
 * twice the lanes it needs (M <= 3 of 8 lanes, <= 7 of 16) and each
 * accumulator sums enough products to pay for its lane sum: at least 8
 * taps and T*C >= 16 lanes (1x1x1 heads and 2D ConvTranspose residue
 * classes were slower). UNETRC_CONV_DOT=0 turns it off (comparisons). */
static void dot_tile(tile *t, int64_t M, int64_t T, const int64_t *cx, int nx, int64_t wmax) {
    const char *e = getenv("UNETRC_CONV_DOT");
    if (e && !strcmp(e, "0")) return;
    int64_t C = 0;
    for (int p = 0; p < nx; p++) {
        if (cx[p] % t->lanes) return;
        C += cx[p];
    }
    if (!C || M > 8 || t->nmb * t->MB <= 2 * M || T < 8 || T * C < 16 * t->lanes) return;
    t->dot = true;
    t->MB = (int)M;
    t->nmb = 1;
    t->WB = 8 / t->MB;
    if (t->WB < 1) t->WB = 1;
    if (wmax > 0 && t->WB > wmax) t->WB = (int)wmax;
}

/* Few output and input channels: output voxels in the lanes. When X has
 * one or two channels (a network's first convolution, 2-channel blocks of
 * small U-Nets), consecutive output voxels along W are X elements C apart,
 * so the lanes run over WB = 2 vectors of voxels and the M output channels
 * are unrolled: acc[m][v] += X[vox(v), c] * Wp[tap][c][m] (a broadcast
 * weight; Wp is the channel form's with MB = M). Measured against the
 * channel form on AVX2 (3x3x3 and 3x3, single thread): C = 2, M = 2
 * 1.25-1.4x, C = 2, M = 1 1.45x, C = 1 with Y channels-first 1.15-1.6x;
 * slower (0.65-0.9x) with C = 1 and channels-last Y, a W stride, C*M > 4
 * and ConvTranspose residue classes, which keep the channel form.
 * UNETRC_CONV_VOX=0 turns it off. */
static void vox_tile(tile *t, int64_t M, int64_t C, int64_t sw, bool y_first, int nx, int64_t wmax) {
    const char *e = getenv("UNETRC_CONV_VOX");
    if ((e && !strcmp(e, "0")) || t->dot || nx != 1 || sw != 1 || C * M > 4 || (C < 2 && !y_first)) return;
    t->vox = true;
    t->MB = (int)M;
    t->nmb = 1;
    t->WB = 2 * t->lanes;
    if (wmax > 0 && t->WB > wmax) t->WB = (int)wmax;
}

/* Where output channel m, input channel ci and tap `tap` (of T) go in the
 * packed weights: Wp[m/MB][tap][ci][m%MB], or the dot form's Wd[tap][m][ci].
 * Both hold nmb*T*C*MB floats. */
static int64_t wp_at(const tile *t, int64_t T, int64_t C, int64_t m, int64_t ci, int64_t tap) {
    if (t->dot) return (tap * t->MB + m) * C + ci;
    return ((m / t->MB * T + tap) * C + ci) * t->MB + m % t->MB;
}

static int64_t floordiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* One direct convolution being lowered. Axis 2 is W. */
typedef struct dconv {
    urc_lower *L;
    urc_kernel *k;
    const urc_node *n;
    int bw, by, bb; /* bb: packed bias or -1 */
    int nx;         /* X parts (channel concatenation): buffers bxs, channels cx */
    int bxs[URC_CONV_MAX_PARTS];
    int64_t cx[URC_CONV_MAX_PARTS];
    int br;     /* unetrc.FusedConv's residual or -1 */
    bool wrt;   /* W read as it is at run time (w_last), not packed; */
    int64_t wc; /* then W elements between input channels (Conv: M) */
    int64_t N, C, M;
    int64_t in[3], out[3], K[3], s[3], d[3], pb[3];
    tile t;
    /* output voxel o (the loops' index, [0, out)) lands at Y position o*os + oo
     * of Y's spatial dims yd (ConvTranspose residue classes; conv: 1, 0, out) */
    int64_t os[3], oo[3], yd[3];
    /* int8 weights (--precision int8): the packed per-column scales Sp (urc_lower_wscale) or -1, and the
     * first accumulator column of the block being emitted (lane l is column col0 + l) */
    int bs;
    urc_lx *col0;
    bool pairs; /* X parts in bfloat16 (a Cast before each, passes/precision.c), W packed as pairs along c */
} dconv;

static urc_lx *ivar(urc_kernel *k, urc_ls **body, const char *name, urc_lx *lo, urc_lx *hi, int64_t step,
                    unsigned flags) {
    int v = urc_kernel_var(k, name, URC_DT_I64);
    *body = urc_ls_for(*body, v, lo, hi, step, flags);
    return urc_lx_var(k, v);
}

/* Taps of axis a (0 or 1) at output o: [*lo, *hi), locals only where a window crosses a border. */
static void dc_taps(dconv *c, urc_ls *body, int a, urc_lx *o, urc_lx **lo, urc_lx **hi) {
    int64_t s = c->s[a], d = c->d[a], pb = c->pb[a], K = c->K[a], in = c->in[a];
    urc_lx *os = urc_muli(o, s);
    *lo = urc_sp_i(0);
    *hi = urc_sp_i(K);
    if (pb > 0)
        *lo = urc_sp_let(c->k, body, nm("klo", a),
                         urc_sp_max(urc_sp_i(0), urc_sp_div(urc_sub(urc_sp_i(pb + d - 1), os), d)));
    if ((c->out[a] - 1) * s - pb + (K - 1) * d >= in)
        *hi = urc_sp_let(c->k, body, nm("khi", a),
                         urc_sp_min(urc_sp_i(K), urc_sp_div(urc_sub(urc_sp_i(in + pb + d - 1), os), d)));
}

static urc_lx *tap_loop(urc_kernel *k, urc_ls **body, const char *name, urc_lx *lo, urc_lx *hi) {
    if (lo->kind == URC_LX_INT && hi->kind == URC_LX_INT && hi->i - lo->i == 1) return lo;
    return ivar(k, body, name, lo, hi, 1, 0);
}

/* Weights stored reduced (--precision): wv[m*L + l] = W[wi + m*rs + l] as float for m < nm, l < L, in a
 * local array declared in `in`, converted once before the voxel loop (converted inside it, C compilers
 * vectorise the multiply-adds at half width); int8 times the scale of its column: Sp[m] (rows_ch, the dot
 * form's rows are the output channels) or Sp[col0 + l]. Returns the array, or -1 when W is float32. */
static int wconvert(dconv *c, urc_ls *in, urc_lx *wi, int64_t nm, int64_t rs, int64_t L, bool rows_ch) {
    urc_kernel *k = c->k;
    if (k->bufs.items[c->bw].dt == URC_DT_F32) return -1;
    int wv = urc_kernel_local(k, "wv", URC_DT_F32, nm * L);
    urc_ls_array(in, k, wv);
    urc_ls *b = in;
    urc_lx *m = nm == 1 ? urc_sp_i(0) : ivar(k, &b, "m", urc_sp_i(0), urc_sp_i(nm), 1, URC_FOR_UNROLL);
    urc_lx *l = ivar(k, &b, "l", urc_sp_i(0), urc_sp_i(L), 1, URC_FOR_VECTOR);
    urc_lx *w = urc_lower_wload(k, c->bw, urc_add(urc_add(wi, urc_muli(m, rs)), l), URC_DT_F32);
    urc_ls_store(b, wv, urc_add(urc_muli(m, L), l), urc_lower_wscaled(k, w, c->bs, rows_ch ? m : urc_add(c->col0, l)));
    return wv;
}

/* acc[v][:] += X[vox + v*vstride, c] * Wp[wb + c*MB + :] for the channels c
 * of every X part and v in [vlo, vhi) (vox: the voxel of v = 0). */
static void dot_fma(dconv *c, urc_ls *body, int acc, urc_lx *vox, int64_t vstride, urc_lx *wb, int vlo, int vhi);
static void dc_fma(dconv *c, urc_ls *body, int acc, urc_lx *vox, int64_t vstride, urc_lx *wb, int vlo, int vhi) {
    if (c->t.dot) {
        dot_fma(c, body, acc, vox, vstride, wb, vlo, vhi);
        return;
    }
    urc_kernel *k = c->k;
    int MB = c->t.MB;
    int64_t c0 = 0;
    if (c->t.vox) { /* acc[m][v] += X[vox + v*vstride, c] * Wp[wb + c*M + m]: one part */
        int64_t C = c->cx[0];
        urc_lx *xb = urc_sp_let(k, body, "xb", urc_muli(vox, C));
        urc_ls *in = body;
        urc_lx *cc = urc_sp_dim_loop(k, &in, "c", C, NULL);
        urc_lx *m = ivar(k, &in, "m", urc_sp_i(0), urc_sp_i(MB), 1, URC_FOR_UNROLL);
        urc_lx *v = ivar(k, &in, "v", urc_sp_i(vlo), urc_sp_i(vhi), 1, URC_FOR_VECTOR);
        urc_lx *x = urc_lx_load(k, c->bxs[0], urc_add(urc_add(xb, urc_muli(v, vstride * C)), cc));
        urc_lx *w = urc_lower_wload(k, c->bw, urc_add(urc_add(wb, urc_muli(cc, MB)), m), URC_DT_F32);
        w = urc_lower_wscaled(k, w, c->bs, urc_add(c->col0, m));
        urc_lx *ai = urc_add(urc_muli(m, c->t.WB), v);
        urc_ls_store(in, acc, ai, urc_lx_fma(x, w, urc_lx_load(k, acc, ai)));
        return;
    }
    for (int p = 0; p < c->nx && c->pairs; p++) { /* acc[v][:] = dot2(X[vox(v), c, c+1], Wp2[wb + c/2*MB + :], acc) */
        int64_t Cp = c->cx[p];
        urc_lx *xb = urc_sp_let(k, body, "xb", urc_muli(vox, Cp));
        urc_ls *in = body;
        urc_lx *c2 = urc_sp_dim_loop(k, &in, "c", Cp / 2, NULL);
        urc_lx *wi = urc_add(wb, urc_muli(urc_addi(c2, c0 / 2), MB));
        urc_lx *v = ivar(k, &in, "v", urc_sp_i(vlo), urc_sp_i(vhi), 1, URC_FOR_UNROLL);
        int xp = urc_kernel_var(k, "xp", URC_DT_U32);
        urc_ls_decl(in, xp,
                    urc_lx_pair(k, c->bxs[p], urc_add(urc_add(xb, urc_muli(v, vstride * Cp)), urc_muli(c2, 2))));
        urc_lx *l = ivar(k, &in, "l", urc_sp_i(0), urc_sp_i(MB), 1, URC_FOR_VECTOR);
        urc_lx *ai = urc_add(urc_muli(v, MB), l);
        urc_ls_store(in, acc, ai,
                     urc_lx_dot2(urc_lx_var(k, xp), urc_lx_load(k, c->bw, urc_add(wi, l)), urc_lx_load(k, acc, ai)));
        c0 += Cp;
    }
    for (int p = 0; p < c->nx && !c->pairs; p++) {
        int64_t Cp = c->cx[p];
        urc_lx *xb = urc_sp_let(k, body, "xb", urc_muli(vox, Cp));
        urc_ls *in = body;
        urc_lx *cc = urc_sp_dim_loop(k, &in, "c", Cp, NULL);
        urc_lx *wi = urc_add(wb, urc_muli(urc_addi(cc, c0), c->wrt ? c->wc : MB));
        int wv = wconvert(c, in, wi, 1, 0, MB, false);
        urc_lx *v = ivar(k, &in, "v", urc_sp_i(vlo), urc_sp_i(vhi), 1, URC_FOR_UNROLL);
        int xv = urc_kernel_var(k, "xv", URC_DT_F32);
        urc_ls_decl(in, xv, urc_lx_load(k, c->bxs[p], urc_add(urc_add(xb, urc_muli(v, vstride * Cp)), cc)));
        urc_lx *l = ivar(k, &in, "l", urc_sp_i(0), urc_sp_i(MB), 1, URC_FOR_VECTOR);
        urc_lx *w = wv >= 0 ? urc_lx_load(k, wv, l) : urc_lx_load(k, c->bw, urc_add(wi, l));
        urc_lx *ai = urc_add(urc_muli(v, MB), l);
        urc_ls_store(in, acc, ai, urc_lx_fma(urc_lx_var(k, xv), w, urc_lx_load(k, acc, ai)));
        c0 += Cp;
    }
}

/* The dot form (dot_tile): acc[v][m][:] += X[vox + v*vstride, c + :] *
 * Wd[wb + m*C + c + :] for the chunks of `lanes` channels c of every X
 * part, v in [vlo, vhi) and every m. */
static void dot_fma(dconv *c, urc_ls *body, int acc, urc_lx *vox, int64_t vstride, urc_lx *wb, int vlo, int vhi) {
    urc_kernel *k = c->k;
    int64_t L = c->t.lanes, M = c->M, c0 = 0;
    for (int p = 0; p < c->nx; p++) {
        int64_t Cp = c->cx[p]; /* a multiple of L */
        urc_lx *xb = urc_sp_let(k, body, "xb", urc_muli(vox, Cp));
        urc_ls *in = body;
        urc_lx *cc = Cp == L ? urc_sp_i(0) : ivar(k, &in, "c", urc_sp_i(0), urc_sp_i(Cp), L, 0);
        int wv = wconvert(c, in, urc_add(wb, urc_addi(cc, c0)), M, c->C, L, true);
        urc_lx *v = ivar(k, &in, "v", urc_sp_i(vlo), urc_sp_i(vhi), 1, URC_FOR_UNROLL);
        urc_lx *m = ivar(k, &in, "m", urc_sp_i(0), urc_sp_i(M), 1, URC_FOR_UNROLL);
        urc_lx *l = ivar(k, &in, "l", urc_sp_i(0), urc_sp_i(L), 1, URC_FOR_VECTOR);
        urc_lx *x = urc_lx_load(k, c->bxs[p], urc_add(urc_add(urc_add(xb, urc_muli(v, vstride * Cp)), cc), l));
        urc_lx *w = wv >= 0
                        ? urc_lx_load(k, wv, urc_add(urc_muli(m, L), l))
                        : urc_lx_load(k, c->bw, urc_add(urc_add(urc_add(wb, urc_muli(m, c->C)), urc_addi(cc, c0)), l));
        urc_lx *ai = urc_add(urc_muli(urc_add(urc_muli(v, M), m), L), l);
        urc_ls_store(in, acc, ai, urc_lx_fma(x, w, urc_lx_load(k, acc, ai)));
        c0 += Cp;
    }
}

/* A block statement with acc[nv][MB] = Bp[col0 + l] (the packed bias, bb)
 * or 0 (the dot form: acc[nv][MB][lanes] = 0, the bias added at the store);
 * returns the block, *acc the array. */
static urc_ls *acc_block(urc_kernel *k, urc_ls *parent, int nv, const tile *t, int *acc, int bb, urc_lx *col0) {
    urc_ls *blk = urc_ls_block();
    urc_ls_push(parent, blk);
    int64_t per = t->dot ? (int64_t)t->MB * t->lanes : t->MB; /* floats per voxel */
    *acc = urc_kernel_local(k, "acc", URC_DT_F32, t->vox ? (int64_t)t->MB * t->WB : nv * per);
    urc_ls_array(blk, k, *acc);
    urc_ls *in = blk;
    if (t->vox) { /* acc[m][v] (rows of WB) = Bp[col0 + m] or 0 */
        urc_lx *m = ivar(k, &in, "m", urc_sp_i(0), urc_sp_i(t->MB), 1, URC_FOR_UNROLL);
        urc_lx *v = ivar(k, &in, "v", urc_sp_i(0), urc_sp_i(nv), 1, URC_FOR_VECTOR);
        urc_lx *init = bb >= 0 ? urc_lx_load(k, bb, urc_add(col0, m)) : urc_lx_flt(0, URC_DT_F32);
        urc_ls_store(in, *acc, urc_add(urc_muli(m, t->WB), v), init);
        return blk;
    }
    urc_lx *v = ivar(k, &in, "v", urc_sp_i(0), urc_sp_i(nv), 1, URC_FOR_UNROLL);
    urc_lx *l = ivar(k, &in, "l", urc_sp_i(0), urc_sp_i(per), 1, URC_FOR_VECTOR);
    urc_lx *init = bb >= 0 && !t->dot ? urc_lx_load(k, bb, urc_add(col0, l)) : urc_lx_flt(0, URC_DT_F32);
    urc_ls_store(in, *acc, urc_add(urc_muli(v, per), l), init);
    return blk;
}

/* Y[ybase(v) + col0 + l] = acc[v][l] + bias for v < nv, l < valid, where
 * ybase(v) = yb + v*vstride. bcol: the bias element of lane l given l. */
static void acc_store(dconv *c, urc_ls *blk, int acc, int nv, urc_lx *nn, urc_lx *y0, int64_t vstride, urc_lx *col0,
                      urc_lx *valid, urc_lx *(*bcol)(dconv *, urc_lx *, urc_lx *), urc_lx *bctx) {
    urc_kernel *k = c->k;
    const urc_conv_attr *at = &c->n->a.conv;
    urc_ls *in = blk;
    urc_lx *v, *l, *idx;
    int64_t Sv = c->yd[0] * c->yd[1] * c->yd[2], L = c->t.dot ? c->t.lanes : 1;
    for (int64_t h = L / 2; h >= 1; h /= 2) { /* dot form: acc[v][m][0] = the sum of acc[v][m][:] */
        urc_ls *rb = blk;
        urc_lx *i = ivar(k, &rb, "i", urc_sp_i(0), urc_sp_i((int64_t)nv * c->t.MB), 1, URC_FOR_UNROLL);
        urc_lx *j = ivar(k, &rb, "l", urc_sp_i(0), urc_sp_i(h), 1, URC_FOR_VECTOR);
        urc_lx *a = urc_add(urc_muli(i, L), j);
        urc_ls_store(rb, acc, a, urc_lx_bin(URC_L_ADD, urc_lx_load(k, acc, a), urc_lx_load(k, acc, urc_addi(a, h))));
    }
    if (!at->y_channels_first && c->t.vox) { /* voxels in the lanes, the M channels of each interleaved */
        v = ivar(k, &in, "v", urc_sp_i(0), urc_sp_i(nv), 1, URC_FOR_VECTOR);
        l = ivar(k, &in, "l", urc_sp_i(0), valid, 1, URC_FOR_UNROLL);
        idx = urc_add(urc_add(urc_muli(urc_add(urc_add(urc_muli(nn, Sv), y0), urc_muli(v, vstride)), c->M), col0), l);
    } else if (!at->y_channels_first) { /* Y[(n*Sv + y0 + v*vstride)*M + col0 + l]: lanes contiguous */
        v = ivar(k, &in, "v", urc_sp_i(0), urc_sp_i(nv), 1, URC_FOR_UNROLL);
        l = ivar(k, &in, "l", urc_sp_i(0), valid, 1, URC_FOR_VECTOR);
        idx = urc_add(urc_add(urc_muli(urc_add(urc_add(urc_muli(nn, Sv), y0), urc_muli(v, vstride)), c->M), col0), l);
    } else { /* Y[(n*M + col0 + l)*Sv + y0 + v*vstride]: voxels contiguous */
        l = ivar(k, &in, "l", urc_sp_i(0), valid, 1, 0);
        v = ivar(k, &in, "v", urc_sp_i(0), urc_sp_i(nv), 1, URC_FOR_VECTOR);
        idx = urc_add(urc_add(urc_muli(urc_add(urc_add(urc_muli(nn, c->M), col0), l), Sv), y0), urc_muli(v, vstride));
    }
    urc_lx *ai = c->t.vox ? urc_add(urc_muli(l, c->t.WB), v) : urc_muli(urc_add(urc_muli(v, c->t.MB), l), L);
    urc_lx *val = urc_lx_load(k, acc, ai);
    urc_lx *b = c->t.dot && c->bb >= 0 ? urc_lx_load(k, c->bb, urc_add(col0, l)) : bcol ? bcol(c, bctx, l) : NULL;
    if (b) val = urc_lx_bin(URC_L_ADD, val, b);
    val = urc_conv_act(k, in, at, val);
    if (c->br >= 0) val = urc_lx_bin(URC_L_ADD, val, urc_lx_load(k, c->br, idx));
    if (c->n->out[0]->dtype == URC_DT_BF16) val = urc_lx_cast(URC_DT_BF16, val); /* (urc_conv_bf16_store) */
    urc_ls_store(in, c->by, idx, val);
}

/* Conv bias of output channel mb*MB + l, added at the store when it is
 * not a packed constant (which initialises the accumulators instead). */
static urc_lx *conv_bcol(dconv *c, urc_lx *mb, urc_lx *l) {
    const urc_value *B = bias(c->n);
    if (!B || c->bb >= 0) return NULL;
    return urc_lower_load(c->L, c->k, B, urc_add(urc_muli(mb, c->t.MB), l));
}

/* One block of nv output voxels starting at ow0 (the constant ow0c >= 0 for
 * border blocks, else -1: every W tap reaches every voxel). */
static void dc_block(dconv *c, urc_ls *parent, urc_lx *mb, urc_lx *nn, urc_lx *od, urc_lx *oh, urc_lx *const *klo,
                     urc_lx *const *khi, urc_lx *yrow, urc_lx *ow0, int64_t ow0c, int nv, urc_lx *valid) {
    urc_kernel *k = c->k;
    int MB = c->t.MB, acc;
    urc_ls *blk = acc_block(k, parent, nv, &c->t, &acc, c->bb, urc_muli(mb, MB)), *tb = blk;
    c->col0 = urc_muli(mb, MB);
    urc_lx *kd = tap_loop(k, &tb, "kd", klo[0], khi[0]);
    urc_lx *kh = tap_loop(k, &tb, "kh", klo[1], khi[1]);
    urc_lx *id = urc_addi(urc_add(urc_muli(od, c->s[0]), urc_muli(kd, c->d[0])), -c->pb[0]);
    urc_lx *ih = urc_addi(urc_add(urc_muli(oh, c->s[1]), urc_muli(kh, c->d[1])), -c->pb[1]);
    urc_lx *xr = urc_muli(urc_add(urc_muli(urc_add(urc_muli(nn, c->in[0]), id), c->in[1]), ih), c->in[2]);
    /* packed: Wp[mb][t][c][:] at (mb*T + t)*C*MB; at run time: W[t][c][mb*MB + :] at t*C*M + mb*MB */
    urc_lx *tap0 = urc_muli(c->wrt ? kd : urc_add(urc_muli(mb, c->K[0]), kd), c->K[1]);
    tap0 = urc_sp_let(k, tb, "t0", urc_muli(urc_add(tap0, kh), c->K[2]));
    int64_t wt = c->C * (c->wrt ? c->wc : MB) / (c->pairs ? 2 : 1); /* W elements (pairs) per tap */
    urc_lx *wmb = c->wrt ? urc_muli(mb, MB) : urc_sp_i(0);
    xr = urc_sp_let(k, tb, "xr", xr);
    int64_t sw = c->s[2], dw = c->d[2], pw = c->pb[2], IW = c->in[2];
    if (ow0c < 0) {
        urc_ls *kb = tb;
        urc_lx *kw = tap_loop(k, &kb, "kw", urc_sp_i(0), urc_sp_i(c->K[2]));
        urc_lx *vox = urc_add(xr, urc_addi(urc_add(urc_muli(ow0, sw), urc_muli(kw, dw)), -pw));
        urc_lx *wb = urc_sp_let(k, kb, "wb", urc_add(urc_muli(urc_add(tap0, kw), wt), wmb));
        dc_fma(c, kb, acc, vox, sw, wb, 0, nv);
    } else {
        for (int64_t kw = 0; kw < c->K[2]; kw++) {
            /* voxels ow with 0 <= ow*s - p + kw*d < IW */
            int64_t lo = -floordiv(-(pw - kw * dw), sw), hi = floordiv(IW - 1 + pw - kw * dw, sw) + 1;
            int vlo = (int)(lo - ow0c > 0 ? lo - ow0c : 0), vhi = (int)(hi - ow0c < nv ? hi - ow0c : nv);
            if (vlo >= vhi) continue;
            urc_lx *vox = urc_add(xr, urc_sp_i(ow0c * sw + kw * dw - pw));
            urc_lx *wb = urc_sp_let(k, tb, "wb", urc_add(urc_muli(urc_addi(tap0, kw), wt), wmb));
            dc_fma(c, tb, acc, vox, sw, wb, vlo, vhi);
        }
    }
    urc_lx *y0 = urc_add(yrow, urc_addi(urc_muli(ow0, c->os[2]), c->oo[2]));
    acc_store(c, blk, acc, nv, nn, y0, c->os[2], urc_muli(mb, MB), valid, conv_bcol, mb);
}

/* Packs a constant bias (more than one element) as Bp[j] = B[j % M] for
 * the cols = nmb*MB accumulator columns that exist (zero past ncols);
 * returns its buffer or -1. */
static int pack_bias(dconv *c, int64_t ncols) {
    const urc_value *B = bias(c->n);
    if (!B || !B->data || urc_shape_numel(&B->shape) <= 1) return -1;
    int64_t cols = c->t.nmb * c->t.MB;
    float *bp = urc_xmalloc((size_t)cols * sizeof(float));
    for (int64_t j = 0; j < cols; j++) bp[j] = j < ncols ? (float)urc_elem_f64(B->dtype, B->data, j % c->M) : 0.0f;
    int b = urc_lower_const(c->L, c->k, "bpack", URC_DT_F32, cols, bp);
    free(bp);
    return b;
}

/* Output channels of block mb that exist: MB, or fewer in a last partial block. */
static urc_lx *valid_cols(int64_t cols, int MB, int64_t nmb, urc_lx *mb) {
    if (cols % MB == 0) return urc_sp_i(MB);
    if (nmb == 1) return urc_sp_i(cols);
    return urc_sp_min(urc_sp_i(MB), urc_sub(urc_sp_i(cols), urc_muli(mb, MB)));
}

/* The direct convolution of node n with its spatial axes mapped to D, H, W
 * (axis 2 innermost); the output map is the identity. */
static dconv dc_setup(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g) {
    dconv c = {L,         k,    n,         0,         0,         -1,        1,         {0},       {g->C},    -1,
               false,     g->M, g->N,      g->C,      g->M,      {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1},
               {0, 0, 0}, {0},  {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, -1,        NULL,      false};
    c.col0 = urc_sp_i(0);
    for (int a = 0; a < g->nsp; a++) {
        int b = 3 - g->nsp + a;
        c.in[b] = g->in[a];
        c.out[b] = c.yd[b] = g->out[a];
        c.K[b] = g->K[a];
        c.s[b] = g->s[a];
        c.d[b] = g->d[a];
        c.pb[b] = g->pb[a];
    }
    return c;
}

/* The W blocks [j0, j1) of WB voxels whose voxels all see every W tap
 * (the loop); the others are emitted one by one. */
static void w_blocks(const dconv *c, int64_t *j0, int64_t *j1) {
    int64_t OW = c->out[2], WB = c->t.WB, nfull = OW / WB, sw = c->s[2], dw = c->d[2], pw = c->pb[2];
    int64_t wl = -floordiv(-pw, sw), wr = floordiv(c->in[2] - 1 + pw - (c->K[2] - 1) * dw, sw) + 1;
    if (wl < 0) wl = 0;
    if (wr > OW) wr = OW;
    *j0 = (wl + WB - 1) / WB;
    *j1 = wr >= 0 ? wr / WB : 0;
    if (*j1 > nfull) *j1 = nfull;
    if (*j1 < *j0) *j1 = *j0;
}

/* Channel loops the kernel of c would emit (border blocks unroll the W
 * taps): keeps the generated code bounded for huge kernels or paddings. */
#define DC_MAX_LOOPS 1024
static int64_t dc_loops(const dconv *c, bool gemm) {
    int64_t WB = c->t.WB, nfull = c->out[2] / WB, R = c->out[2] % WB, j0, j1;
    if (gemm) return (2 + (R > 0)) * c->nx;
    w_blocks(c, &j0, &j1);
    int64_t special = (j0 < nfull ? j0 : nfull) + (nfull - (j1 > j0 ? j1 : j0)) + (R > 0);
    return (special * c->K[2] + (j1 > j0)) * c->nx;
}

/* What dc_emit's body depends on besides the bound buffers: c's geometry,
 * tile and buffer indices, the node's epilogue and its bias (a literal when
 * it has one element). Returns the key's length. */
#define DC_KEY_MAX (64 + 2 * URC_CONV_MAX_PARTS)
static int dc_key(const dconv *c, bool gemm, int64_t *key) {
    const urc_conv_attr *at = &c->n->a.conv;
    const urc_value *B = bias(c->n);
    int n = 0;
    int64_t bits;
    key[n++] = gemm;
    key[n++] = c->bw, key[n++] = c->by, key[n++] = c->bb, key[n++] = c->br, key[n++] = c->nx, key[n++] = c->bs;
    for (int p = 0; p < c->nx; p++) key[n++] = c->bxs[p], key[n++] = c->cx[p];
    key[n++] = c->wrt, key[n++] = c->wc, key[n++] = c->N, key[n++] = c->C, key[n++] = c->M, key[n++] = c->pairs;
    for (int a = 0; a < 3; a++) {
        const int64_t v[9] = {c->in[a], c->out[a], c->K[a], c->s[a], c->d[a], c->pb[a], c->os[a], c->oo[a], c->yd[a]};
        for (int i = 0; i < 9; i++) key[n++] = v[i];
    }
    key[n++] = c->t.lanes, key[n++] = c->t.MB, key[n++] = c->t.WB, key[n++] = c->t.nmb, key[n++] = c->t.dot,
    key[n++] = c->t.vox;
    memcpy(&bits, &at->act_alpha, sizeof bits);
    key[n++] = at->act, key[n++] = bits, key[n++] = at->y_channels_first;
    key[n++] = B ? (int64_t)B->dtype : -1;
    key[n++] = B && B->data ? urc_shape_numel(&B->shape) : -1;
    if (B && B->data && urc_shape_numel(&B->shape) == 1) { /* inlined as a literal */
        double b = urc_elem_f64(B->dtype, B->data, 0);
        memcpy(&bits, &b, sizeof bits);
        key[n++] = bits;
    }
    return n;
}

/* Emits the loop nests of direct convolution c (buffers bound, weights
 * packed), or shares the body of an earlier convolution with the same key.
 * gemm: one row of in[2] voxels without taps, split among threads. */
static void dc_emit(dconv *cp, bool gemm);
static void dc_emit_shared(dconv *cp, bool gemm) {
    const urc_value *B = bias(cp->n);
    if (B && cp->bb < 0 && !(B->data && urc_shape_numel(&B->shape) == 1))
        urc_lower_in(cp->L, cp->k, B, "c"); /* bound now, as the body would (same name), so the key covers it */
    int64_t key[DC_KEY_MAX];
    if (urc_lower_reuse(cp->L, cp->k, cp->n, key, dc_key(cp, gemm, key))) return;
    dc_emit(cp, gemm);
    urc_lower_remember(cp->L, cp->k);
}

static void dc_emit(dconv *cp, bool gemm) {
    dconv c = *cp;
    urc_kernel *k = c.k;
    int MB = c.t.MB, WB = c.t.WB;
    int64_t nmb = c.t.nmb;
    urc_lx *zero = urc_sp_i(0), *none[2] = {zero, zero}, *one[2] = {urc_sp_i(1), urc_sp_i(1)};
    int64_t OW = c.out[2], nfull = OW / WB, R = OW % WB;
    if (gemm) {
        urc_ls *body = k->body, *par = NULL;
        urc_lx *j = urc_sp_dim_loop(k, &body, "j", nfull, &par);
        urc_lx *mb = urc_sp_dim_loop(k, &body, "mb", nmb, NULL);
        if (nfull)
            dc_block(&c, body, mb, zero, zero, zero, none, one, zero, urc_muli(j, WB), -1, WB,
                     valid_cols(c.M, MB, nmb, mb));
        if (R) {
            urc_ls *rb = k->body;
            urc_lx *mb2 = urc_sp_dim_loop(k, &rb, "mb", nmb, NULL);
            dc_block(&c, rb, mb2, zero, zero, zero, none, one, zero, urc_sp_i(nfull * WB), nfull * WB, (int)R,
                     valid_cols(c.M, MB, nmb, mb2));
        }
        return;
    }
    urc_ls *body = k->body, *par = NULL;
    urc_lx *mb = urc_sp_dim_loop(k, &body, "mb", nmb, &par);
    urc_lx *nn = urc_sp_dim_loop(k, &body, "n", c.N, &par);
    urc_lx *od = urc_sp_dim_loop(k, &body, "od", c.out[0], &par);
    urc_lx *oh = urc_sp_dim_loop(k, &body, "oh", c.out[1], &par);
    urc_lx *klo[2], *khi[2];
    dc_taps(&c, body, 0, od, &klo[0], &khi[0]);
    dc_taps(&c, body, 1, oh, &klo[1], &khi[1]);
    urc_lx *yd = urc_addi(urc_muli(od, c.os[0]), c.oo[0]), *yh = urc_addi(urc_muli(oh, c.os[1]), c.oo[1]);
    urc_lx *yrow =
        urc_sp_let(k, body, "yrow", urc_muli(urc_add(urc_muli(yd, c.yd[1]), yh), c.yd[2])); /* within the sample */
    urc_lx *valid = valid_cols(c.M, MB, nmb, mb);
    int64_t j0, j1;
    w_blocks(&c, &j0, &j1);
    for (int64_t j = 0; j < j0 && j < nfull; j++)
        dc_block(&c, body, mb, nn, od, oh, klo, khi, yrow, urc_sp_i(j * WB), j * WB, WB, valid);
    if (j1 > j0) {
        urc_ls *lb = body;
        urc_lx *ow0 = ivar(k, &lb, "ow0", urc_sp_i(j0 * WB), urc_sp_i(j1 * WB), WB, 0);
        dc_block(&c, lb, mb, nn, od, oh, klo, khi, yrow, ow0, -1, WB, valid);
    }
    for (int64_t j = j1 > j0 ? j1 : j0; j < nfull; j++)
        dc_block(&c, body, mb, nn, od, oh, klo, khi, yrow, urc_sp_i(j * WB), j * WB, WB, valid);
    if (R) dc_block(&c, body, mb, nn, od, oh, klo, khi, yrow, urc_sp_i(nfull * WB), nfull * WB, (int)R, valid);
}

/* 3x3x3 or 3x3, stride 1, undilated, W constant or run-time in w_last order (a training step's
 * forward and data-gradient convolutions), Y channels-last: Winograd's F(2x2x2, 3x3x3) or F(2x2, 3x3)
 * (conv_wino.c) unless UNETRC_CONV=direct. */
static bool wino_fits(const urc_node *n, const geo *g) {
    const char *e = getenv("UNETRC_CONV");
    if (e && !strcmp(e, "direct")) return false;
    bool ok = (g->nsp == 3 || g->nsp == 2) && (n->in[1]->data || n->a.conv.w_last) && !n->a.conv.y_channels_first;
    for (int a = 0; a < g->nsp && ok; a++) ok = g->K[a] == 3 && g->s[a] == 1 && g->d[a] == 1;
    return ok;
}

/* Winograd's U is made at each call from the weights (conv_wino.c runtime_u) into arena scratch: always
 * for int8 weights (their U is no int8 value) and run-time ones in w_last order (a training step's), and
 * for constant float32, bf16 and f16 weights where the memory plan grants it (optional: the blob then holds
 * their 27 taps per channel pair instead of U's 64; else U is packed at compile time). UNETRC_WINO_U=stored
 * / call in the environment makes those always pack U at compile time / always make it at each call. */
urc_scratch_req urc_conv_scratch(const urc_node *n, const urc_target *t) {
    urc_scratch_req r = urc_conv_amx_scratch(n, t);
    if (r.count) return r;
    if ((r = urc_conv_patch_scratch(n, t)).count) return r;
    const urc_value *w = n->nin > 1 ? n->in[1] : NULL;
    if ((n->op != URC_OP_CONV && n->op != URC_OP_FUSED_CONV) || !w || w->dtype != URC_DT_F32 ||
        (!w->data && !n->a.conv.w_last) || (w->data && n->a.conv.w_last))
        return r;
    const char *e = getenv("UNETRC_WINO_U");
    urc_dtype wdt = urc_lower_wdtype(n);
    r.optional = w->data && wdt != URC_DT_I8 && !(e && !strcmp(e, "call"));
    if (r.optional && e && !strcmp(e, "stored")) return r;
    geo g = urc_conv_geometry(n);
    if (!urc_conv_fast_cl(n, &g) || !wino_fits(n, &g)) return r;
    bool gemm = true;
    for (int a = 0; a < g.nsp; a++) gemm = gemm && g.K[a] == 1;
    bool pairs = wdt == URC_DT_BF16 && urc_target_dot2(t);
    if (!gemm) r.count = urc_wino_u_count(g.C, g.M, g.out[2], g.nsp, t, pairs, !w->data, &r.dt);
    return r;
}

static bool try_winograd(urc_lower *L, urc_kernel *k, const urc_node *n, const dconv *d, int nsp) {
    urc_wino_conv w = {n,   nsp,       d->N, d->C,     d->M,    {0},         {0},
                       {0}, nparts(n), {0},  n->in[1], bias(n), residual(n), n->out[0]};
    for (int a = 0; a < 3; a++) w.in[a] = d->in[a], w.out[a] = d->out[a], w.pb[a] = d->pb[a];
    for (int p = 0; p < w.nx; p++) w.x[p] = xpart(n, p);
    return urc_conv_winograd(L, k, &w);
}

/* bf16 pairs: the direct kernel's channel form reads bf16 pairs of X along the channels where the
 * products are long enough: a Conv or FusedConv (one group, constant W in ONNX's order, channels-last)
 * with at least 8 output channels (fewer take the dot and voxel-lane forms) and an even channel count in
 * every X part, unless Winograd takes it with its own pairs (3x3(x3), urc_wino_pairs: >= 32 input and
 * >= 16 output channels, conv_wino.c); and a ConvTranspose that urc_convt_lower_cl takes (kernel = stride,
 * no padding: UNETR's and BasicUNet's upsampling) with an even number of input channels. */
unsigned urc_conv_pairs(const urc_node *n, const urc_target *t) {
    if ((n->op != URC_OP_CONV && n->op != URC_OP_FUSED_CONV && n->op != URC_OP_CONV_TRANSPOSE) || !urc_target_dot2(t) ||
        !n->a.conv.channels_last || n->a.conv.w_last || !n->in[1]->data || n->in[1]->dtype != URC_DT_F32)
        return 0;
    int amx = urc_conv_amx_pairs(n, t);
    if (amx == 0 || urc_conv_patch_fits(n, t)) return 0;
    if (amx == 1) { /* every part, whatever its channels */
        unsigned mask = 0;
        for (int p = 0; p < nparts(n); p++) mask |= 1u << (p ? 3 + p : 0);
        return mask;
    }
    geo g = urc_conv_geometry(n);
    if (n->op == URC_OP_CONV_TRANSPOSE && urc_target_amx_split(t)) return 0; /* (X float32: urc_convt_amx) */
    if (n->op == URC_OP_CONV_TRANSPOSE) /* the row-GEMM kernel, which conv.c always takes then */
        return urc_convt_row_gemm(n, &g) && g.C % 2 == 0 && !n->in[0]->data && n->in[0]->dtype == URC_DT_F32;
    const char *e = getenv("UNETRC_WINO_PAIRS");
    bool wino = !(e && !strcmp(e, "0")) && wino_fits(n, &g) && urc_wino_pairs(g.C, g.M);
    if (g.G != 1 || g.M < 8 || wino) return 0;
    unsigned mask = 0;
    for (int p = 0; p < nparts(n); p++) {
        const urc_value *x = xpart(n, p);
        if (x->data || x->dtype != URC_DT_F32 || x->shape.dims[x->shape.rank - 1] % 2) return 0;
        mask |= 1u << (p ? 3 + p : 0);
    }
    return mask;
}

bool urc_conv_bf16_store(const urc_node *n, const urc_target *t) {
    geo g = urc_conv_geometry(n);
    const urc_value *X = n->in[0], *W = n->in[1];
    if (n->op != URC_OP_CONV_TRANSPOSE || n->a.conv.xq.scale > 0 || !urc_target_dot2(t) || X->dtype != URC_DT_BF16 ||
        !W->data || W->dtype != URC_DT_F32 || n->out[0]->dtype != URC_DT_F32)
        return false;
    return urc_convt_row_gemm(n, &g);
}

bool urc_conv_lower_cl(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g) {
    if (urc_conv_amx(L, k, n) || urc_conv_patch(L, k, n)) return true;
    const urc_value *W = n->in[1], *Y = n->out[0];
    dconv c = dc_setup(L, k, n, g);
    c.pairs = xpart(n, 0)->dtype == URC_DT_BF16; /* (then every part is: urc_conv_pairs) */
    bool gemm = true;
    for (int a = 0; a < g->nsp; a++)
        gemm = gemm && g->K[a] == 1 && g->s[a] == 1 && g->pb[a] == 0 && g->out[a] == g->in[a];
    gemm = gemm && (!n->a.conv.y_channels_first || c.N == 1); /* the samples are one row */
    if (!gemm && !c.pairs && wino_fits(n, g) && try_winograd(L, k, n, &c, g->nsp)) return true;
    if (gemm) { /* [N*S, C] x [C, M]: one row of every voxel */
        urc_shape xs = x_shape(n);
        int64_t V = urc_shape_numel(&xs) / c.C;
        for (int a = 0; a < 3; a++) c.in[a] = c.out[a] = c.yd[a] = 1;
        c.in[2] = c.out[2] = c.yd[2] = V;
        c.N = 1;
    }
    int64_t T = c.K[0] * c.K[1] * c.K[2];
    c.t = pick_tile(L->target, c.M, gemm ? 0 : c.out[2], T * c.C * 4);
    c.nx = nparts(n);
    for (int p = 0; p < c.nx; p++) c.cx[p] = xpart(n, p)->shape.dims[xpart(n, p)->shape.rank - 1];
    c.wrt = !W->data;
    if (!c.wrt && !c.pairs) dot_tile(&c.t, c.M, T, c.cx, c.nx, gemm ? 0 : c.out[2]);
    if (!c.wrt && !gemm && !c.pairs) vox_tile(&c.t, c.M, c.C, c.s[2], n->a.conv.y_channels_first, c.nx, c.out[2]);
    /* run-time W [K..., C, M]: every channel block must be whole (no lanes past M) */
    if (c.wrt && (!n->a.conv.w_last || c.M % c.t.MB)) return false;
    if (dc_loops(&c, gemm) > DC_MAX_LOOPS) return false; /* nothing emitted yet: the naive twin instead */
    int MB = c.t.MB;
    int64_t nmb = c.t.nmb;
    for (int p = 0; p < c.nx; p++) c.bxs[p] = urc_lower_in(L, k, xpart(n, p), "x");
    if (c.wrt) {
        c.bw = urc_lower_in(L, k, W, "w");
    } else {
        /* Wp[mb][t][c][l] = W[mb*MB + l][c][t] (zero past M), or Wd[t][m][c] */
        float *wp = urc_xcalloc((size_t)(nmb * T * c.C * MB), sizeof(float));
        const float *w = urc_lower_wdata(L, n);
        for (int64_t m = 0; m < c.M; m++)
            for (int64_t t = 0; t < T; t++)
                for (int64_t ci = 0; ci < c.C; ci++) wp[wp_at(&c.t, T, c.C, m, ci, t)] = w[(m * c.C + ci) * T + t];
        if (c.pairs) { /* Wp2[mb][t][c/2][l]: pairs along c */
            c.bw = urc_lower_wpairs(L, k, "wpairs", nmb * T, c.C, MB, wp);
        } else {
            c.bw = urc_lower_wconst(L, k, n, c.t.dot ? "wdot" : c.t.vox ? "wvox" : "wpack", nmb * T * c.C * MB, wp);
            c.bs = urc_lower_wscale(L, k, n, nmb * MB, c.M);
        }
        free(wp);
    }
    c.bb = pack_bias(&c, c.M);
    c.by = urc_lower_out(L, k, Y, "y");
    if (residual(n)) c.br = urc_lower_in(L, k, residual(n), "r");
    dc_emit_shared(&c, gemm); /* the whole kernel: its body may be shared */
    return true;
}

/* ConvTranspose without dilation, any kernel, stride and padding, by
 * residue classes: output o (per axis q = o + pb) receives input i through
 * tap k = q - i*s, so the outputs with q = Q*s + r (r in [0, s)) see only
 * the taps k = t*s + r, t in [0, T_r), T_r = ceil((K - r) / s), from inputs
 * i = Q - t. Each class is an ordinary stride-1 convolution over X with the
 * flipped sub-kernel W[c, m, (T_r - 1 - u)*s + r] (tap u reads input
 * Q - (T_r - 1) + u: padding T_r - 1 - Q0 for the class's first Q0) whose
 * results go to every s-th output: the direct kernel above with an output
 * map o = Q*s + r - pb. Classes without taps (r >= K) get the bias. */
bool urc_convt_lower_classes(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g) {
    const urc_value *X = n->in[0], *Y = n->out[0], *B = bias(n);
    dconv base = dc_setup(L, k, n, g);
    int64_t C = base.C, M = base.M, Tmax = 1;
    int64_t KK[3], S[3], PB[3], OUT[3];
    for (int a = 0; a < 3; a++) {
        KK[a] = base.K[a];
        S[a] = base.s[a];
        PB[a] = base.pb[a];
        OUT[a] = base.out[a];
        Tmax *= (KK[a] + S[a] - 1) / S[a];
    }
    base.t = pick_tile(L->target, M, 0, Tmax * C * 4);
    int64_t loops = 0;
    const float *w = urc_lower_wdata(L, n);
    /* pass 0 sizes the code (nothing emitted: the naive twin if too big), pass 1 emits */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            if (loops > DC_MAX_LOOPS) return false;
            base.bxs[0] = urc_lower_in(L, k, X, "x");
            base.bb = pack_bias(&base, M);
            base.by = urc_lower_out(L, k, Y, "y");
        }
        for (int64_t rd = 0; rd < S[0]; rd++)
            for (int64_t rh = 0; rh < S[1]; rh++)
                for (int64_t rw = 0; rw < S[2]; rw++) {
                    int64_t r[3] = {rd, rh, rw}, T[3], Q0[3], NQ[3];
                    bool empty = false, notaps = false;
                    for (int a = 0; a < 3; a++) {
                        T[a] = r[a] < KK[a] ? (KK[a] - r[a] + S[a] - 1) / S[a] : 0;
                        Q0[a] = -floordiv(-(PB[a] - r[a]), S[a]);
                        NQ[a] = floordiv(OUT[a] - 1 + PB[a] - r[a], S[a]) - Q0[a] + 1;
                        empty = empty || NQ[a] <= 0;
                        notaps = notaps || T[a] == 0;
                    }
                    if (empty) continue;
                    dconv c = base;
                    int64_t TT = T[0] * T[1] * T[2];
                    dot_tile(&c.t, M, TT, &C, 1, 0); /* per class: enough taps to amortise the lane sums */
                    for (int a = 0; a < 3; a++) {
                        c.out[a] = NQ[a];
                        c.K[a] = T[a];
                        c.s[a] = c.d[a] = 1;
                        c.pb[a] = T[a] - 1 - Q0[a];
                        c.os[a] = S[a];
                        c.oo[a] = Q0[a] * S[a] + r[a] - PB[a];
                        c.yd[a] = OUT[a];
                    }
                    if (notaps && pass == 0) {
                        loops++;
                        continue;
                    }
                    if (notaps) { /* Y[n, o, m] = B[m] | 0 */
                        urc_ls *body = k->body, *par = NULL;
                        urc_lx *nn = urc_sp_dim_loop(k, &body, "n", c.N, &par), *q[3];
                        urc_lx *yi = nn;
                        for (int a = 0; a < 3; a++) {
                            q[a] = urc_sp_dim_loop(k, &body, nm("q", a), NQ[a], &par);
                            yi = urc_addi(urc_add(urc_muli(yi, OUT[a]), urc_muli(q[a], S[a])), c.oo[a]);
                        }
                        urc_lx *m = ivar(k, &body, "m", urc_sp_i(0), urc_sp_i(M), 1, URC_FOR_VECTOR);
                        urc_lx *bv = B ? urc_lower_load(L, k, B, m) : urc_lx_flt(0, URC_DT_F32);
                        urc_ls_store(body, c.by, urc_add(urc_muli(yi, M), m), bv);
                        continue;
                    }
                    c.t.WB = c.t.WB > NQ[2] ? (int)NQ[2] : c.t.WB;
                    if (pass == 0) {
                        loops += dc_loops(&c, false);
                        continue;
                    }
                    /* tap u of the sub-kernel, output channel m, input channel c: W[c, m, (T-1-u)*s + r per axis] */
                    float *wp = urc_xcalloc((size_t)(c.t.nmb * TT * C * c.t.MB), sizeof(float));
                    for (int64_t u = 0; u < TT; u++) {
                        int64_t ua[3] = {u / (T[1] * T[2]), u / T[2] % T[1], u % T[2]}, kf = 0;
                        for (int a = 0; a < 3; a++) kf = kf * KK[a] + (T[a] - 1 - ua[a]) * S[a] + r[a];
                        for (int64_t m = 0; m < M; m++)
                            for (int64_t ci = 0; ci < C; ci++)
                                wp[wp_at(&c.t, TT, C, m, ci, u)] = w[(ci * M + m) * KK[0] * KK[1] * KK[2] + kf];
                    }
                    c.bw = urc_lower_wconst(L, k, n,
                                            c.t.dot   ? "wdot"
                                            : c.t.vox ? "wvox"
                                                      : "wpack",
                                            c.t.nmb * TT * C * c.t.MB, wp);
                    c.bs = urc_lower_wscale(L, k, n, c.t.nmb * c.t.MB, M);
                    free(wp);
                    dc_emit(&c, false);
                }
    }
    return true;
}

/* ConvTranspose with kernel = stride, no padding, no dilation (UNETR and
 * BasicUNet upsampling): every input voxel writes its own K^3 block of
 * outputs, one tap each. Per input row (n, id, ih) and taps (kd, kh), the
 * W taps and output channels form one column index j = kw*M + m, so the
 * row is a GEMM [IW x C] x [C x KW*M] whose result rows are contiguous in Y:
 *
 *   for jb, n, id, ih (parallel):  for kd, kh:  for each block of WB input voxels:
 *     acc[v][:] = sum_c X[n, id, ih, iw0+v, c] * Wp[jb][kd][kh][c][:]
 *     Y[n, id*KD+kd, ih*KH+kh, (iw0+v)*KW, jb*MB + :] = acc[v][:] + Bp[jb*MB + :]
 *
 * Wp[J/MB][KD][KH][C][MB] holds W[c, m, kd, kh, kw] at column kw*M + m and
 * Bp the bias repeated per kw (both packed at compile time). */
bool urc_convt_direct_ok(const geo *g) {
    for (int a = 0; a < g->nsp; a++)
        if (g->K[a] != g->s[a] || (g->d[a] != 1 && g->K[a] > 1) || g->pb[a] != 0 || g->out[a] != g->in[a] * g->s[a])
            return false;
    return true;
}

static urc_lx *convt_bcol(dconv *c, urc_lx *jb, urc_lx *l) {
    const urc_value *B = bias(c->n);
    if (!B || c->bb >= 0) return NULL;
    urc_lx *j = urc_add(urc_muli(jb, c->t.MB), l);
    return urc_lower_load(c->L, c->k, B, urc_lx_bin(URC_L_REM, j, urc_sp_i(c->M)));
}

bool urc_convt_lower_cl(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g) {
    if (urc_convt_amx(L, k, n, g)) return true;
    const urc_value *X = n->in[0], *W = n->in[1], *Y = n->out[0];
    dconv c = dc_setup(L, k, n, g);
    c.pairs = X->dtype == URC_DT_BF16; /* (urc_conv_pairs) */
    int64_t KD = c.K[0], KH = c.K[1], KW = c.K[2], J = KW * c.M, C = c.C, M = c.M;
    c.t = pick_tile(L->target, J, c.in[2], KD * KH * C * 4);
    int MB = c.t.MB, WB = c.t.WB;
    int64_t nmb = c.t.nmb;
    /* run-time W [KD, KH, C, KW, M] (w_last): row j = kw*M + m of tap (kd, kh)
     * and channel c at ((kd*KH + kh)*C + c)*J; whole channel blocks only */
    c.wrt = !W->data;
    if (c.wrt && (!n->a.conv.w_last || J % MB)) return false;
    c.bxs[0] = urc_lower_in(L, k, X, "x");
    if (c.wrt) {
        c.wc = J;
        c.bw = urc_lower_in(L, k, W, "w");
    } else {
        float *wp = urc_xmalloc((size_t)(nmb * KD * KH * C * MB) * sizeof(float));
        const float *w = urc_lower_wdata(L, n);
        for (int64_t jb = 0; jb < nmb; jb++)
            for (int64_t t = 0; t < KD * KH; t++)
                for (int64_t ci = 0; ci < C; ci++)
                    for (int l = 0; l < MB; l++) {
                        int64_t j = jb * MB + l, kw = j / M, m = j % M;
                        wp[((jb * KD * KH + t) * C + ci) * MB + l] =
                            j < J ? w[((ci * M + m) * KD * KH + t) * KW + kw] : 0.0f;
                    }
        if (c.pairs) { /* Wp2[jb][tap][c/2][l]: pairs along c */
            c.bw = urc_lower_wpairs(L, k, "wpairs", nmb * KD * KH, C, MB, wp);
        } else {
            c.bw = urc_lower_wconst(L, k, n, "wpack", nmb * KD * KH * C * MB, wp);
            c.bs = urc_lower_wscale(L, k, n, nmb * MB, J); /* column j: output channel j % M */
        }
        free(wp);
    }
    c.bb = pack_bias(&c, J);
    c.by = urc_lower_out(L, k, Y, "y");
    urc_ls *body = k->body, *par = NULL;
    urc_lx *jb = urc_sp_dim_loop(k, &body, "jb", nmb, &par);
    urc_lx *nn = urc_sp_dim_loop(k, &body, "n", c.N, &par);
    urc_lx *id = urc_sp_dim_loop(k, &body, "id", c.in[0], &par);
    urc_lx *ih = urc_sp_dim_loop(k, &body, "ih", c.in[1], &par);
    urc_lx *xr = urc_sp_let(k, body, "xr",
                            urc_muli(urc_add(urc_muli(urc_add(urc_muli(nn, c.in[0]), id), c.in[1]), ih), c.in[2]));
    urc_ls *tb = body;
    urc_lx *kd = tap_loop(k, &tb, "kd", urc_sp_i(0), urc_sp_i(KD));
    urc_lx *kh = tap_loop(k, &tb, "kh", urc_sp_i(0), urc_sp_i(KH));
    urc_lx *oy = urc_add(urc_muli(urc_add(urc_muli(nn, c.out[0]), urc_add(urc_muli(id, KD), kd)), c.out[1]),
                         urc_add(urc_muli(ih, KH), kh));
    urc_lx *yr = urc_sp_let(k, tb, "yr", urc_muli(oy, c.out[2]));
    urc_lx *wb =
        c.wrt ? urc_sp_let(k, tb, "wb", urc_add(urc_muli(urc_add(urc_muli(kd, KH), kh), C * J), urc_muli(jb, MB)))
              : urc_sp_let(
                    k, tb, "wb",
                    urc_muli(urc_add(urc_muli(urc_add(urc_muli(jb, KD), kd), KH), kh), (c.pairs ? C / 2 : C) * MB));
    urc_lx *valid = valid_cols(J, MB, nmb, jb);
    int64_t IW = c.in[2], nfull = IW / WB, R = IW % WB;
    for (int part = 0; part < 2; part++) {
        int nv = part ? (int)R : WB;
        if (!nv || (!part && !nfull)) continue;
        urc_ls *lb = tb;
        urc_lx *iw0 = part         ? urc_sp_i(nfull * WB)
                      : nfull == 1 ? urc_sp_i(0)
                                   : ivar(k, &lb, "iw0", urc_sp_i(0), urc_sp_i(nfull * WB), WB, 0);
        int acc;
        urc_ls *blk = acc_block(k, lb, nv, &c.t, &acc, c.bb, urc_muli(jb, MB));
        c.col0 = urc_muli(jb, MB);
        dc_fma(&c, blk, acc, urc_add(xr, iw0), 1, wb, 0, nv);
        acc_store(&c, blk, acc, nv, urc_sp_i(0), urc_add(yr, urc_muli(iw0, KW)), KW, urc_muli(jb, MB), valid,
                  convt_bcol, jb);
    }
    return true;
}
