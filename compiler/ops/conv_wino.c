/* conv_wino.c: 3x3x3 convolutions by Winograd's minimal filtering,
 * F(2x2x2, 3x3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016, with the 1D transforms applied along each of the three
 * axes).
 *
 * A 2x2x2 block of output voxels reads a 4x4x4 input patch d. With
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   (input, 4x4)
 *   G   = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]       (filter, 4x3)
 *   A^T = [1 1 1 0; 0 1 -1 -1]                      (output, 2x4)
 * the block is Y = A^T [ sum_c (G g G^T)[c, m] (.) (B^T d B)[c] ] A per
 * axis: 64 multiplies per (input, output channel) pair instead of 216, so
 * 3.4 times fewer multiply-adds; the transforms are additions.
 *
 * The kernel, for X [N, D, H, W, C] and Y [N, OD, OH, OW, M]:
 *
 *   for n, td, th (parallel; tiles of 2x2 voxels in D and H):
 *     for each group of T tiles along W:
 *       V[p][t][c] = B^T d B  of the tile's patch (zero outside X)     64 x T x C
 *                    (along D and H once per input column, into a ring of four columns that
 *                    neighbouring tiles share; along W per tile)
 *       for each block of MB output channels mb:
 *         for p < 64:  sum_c V[p][t][c] * U[mb][p][c][:]  (register tile T x MB), added
 *                      into O[p / 4][r][t][:] by A^T's row r (the output transform along W)
 *         Y[2x2x2 block of t][mb*MB + :] = act(A^T O A + B) + R   (along H, then D)
 *
 * U = G g G^T, U[M/MB][64][C][MB], is made at each call before the tiles into the node's arena scratch
 * from the taps g, which the weights blob holds in the node's storage type (runtime_u), where the memory
 * plan grants the scratch (urc_conv_scratch); else, for constant float weights, it is computed at compile
 * time in double and stored (pack_u). The per-group arrays (V, O and the ring R of four columns) live on
 * each thread's stack: kept under WINO_STACK bytes by the choice of T.
 * Results differ from the direct sum by rounding only (the transforms have
 * coefficients 0, +-1 and +-1/2). */
#include "conv_wino.h"

#define WINO_STACK (160 * 1024)

/* G (filter transform, 4x3), for U = G g G^T at compile time (pack_u) or at each call (runtime_u) */
static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

static urc_lx *loopv(urc_kernel *k, urc_ls **body, const char *name, int64_t lo, urc_lx *hi, unsigned flags) {
    int v = urc_kernel_var(k, name, URC_DT_I64);
    *body = urc_ls_for(*body, v, urc_lx_int(lo), hi, 1, flags);
    return urc_lx_var(k, v);
}

static urc_lx *ld(urc_kernel *k, int buf, urc_lx *idx) { return urc_lx_load(k, buf, idx); }
static urc_lx *add(urc_lx *a, urc_lx *b) { return urc_lx_bin(URC_L_ADD, a, b); }
static urc_lx *sub(urc_lx *a, urc_lx *b) { return urc_lx_bin(URC_L_SUB, a, b); }
static urc_lx *band(urc_lx *a, urc_lx *b) { return urc_lx_bin(URC_L_AND, a, b); }
/* 0 <= i < n, as a bool */
static urc_lx *inside(urc_lx *i, int64_t n) {
    return band(urc_lx_bin(URC_L_GE, i, urc_lx_int(0)), urc_lx_bin(URC_L_LT, i, urc_lx_int(n)));
}
static urc_lx *clampi(urc_lx *i, int64_t n) { return urc_sp_min(urc_sp_max(i, urc_lx_int(0)), urc_lx_int(n - 1)); }
static urc_lx *fvar(urc_kernel *k, urc_ls *body, urc_lx *e) {
    int v = urc_kernel_var(k, "u", URC_DT_F32);
    urc_ls_decl(body, v, e);
    return urc_lx_var(k, v);
}

/* c0 a0 + c1 a1 + c2 a2 for coefficients 0, +-1/2 and 1 (terms with 0 left out). */
static urc_lx *gsum(double c0, urc_lx *a0, double c1, urc_lx *a1, double c2, urc_lx *a2) {
    const double cs[3] = {c0, c1, c2};
    urc_lx *const as[3] = {a0, a1, a2}, *sum = NULL;
    double scale = 0;
    for (int i = 0; i < 3; i++) {
        if (cs[i] == 0) continue;
        double mag = cs[i] < 0 ? -cs[i] : cs[i];
        scale = mag; /* (the nonzero coefficients of a row share one magnitude) */
        sum = !sum ? (cs[i] < 0 ? urc_lx_un(URC_L_NEG, as[i]) : as[i]) : cs[i] < 0 ? sub(sum, as[i]) : add(sum, as[i]);
    }
    return scale == 1 ? sum : urc_lx_bin(URC_L_MUL, sum, urc_lx_flt(scale, URC_DT_F32));
}

/* e in a local, unless it is one already */
static urc_lx *gvar(urc_kernel *k, urc_ls *body, urc_lx *e) { return e->kind == URC_LX_VAR ? e : fvar(k, body, e); }

/* The 4-point input transform B^T a of a[0..3], stored to dst[0..3] (rounded to bfloat16 when buf
 * holds them: V of the pair products). */
static void bt4(urc_kernel *k, urc_ls *body, urc_lx *const *a, int buf, urc_lx *const *dst) {
    urc_lx *v[4];
    urc_dtype dt = k->bufs.items[buf].dt;
    for (int i = 0; i < 4; i++) v[i] = fvar(k, body, a[i]);
    urc_ls_store(body, buf, dst[0], urc_lx_cast(dt, sub(v[0], v[2])));
    urc_ls_store(body, buf, dst[1], urc_lx_cast(dt, add(v[1], v[2])));
    urc_ls_store(body, buf, dst[2], urc_lx_cast(dt, sub(v[2], v[1])));
    urc_ls_store(body, buf, dst[3], urc_lx_cast(dt, sub(v[1], v[3])));
}

/* Row r of the output transform A^T a, from a[0..3] without locals. */
static urc_lx *at_row(int r, urc_lx *const *a) {
    return r == 0 ? add(add(a[0], a[1]), a[2]) : sub(sub(a[1], a[2]), a[3]);
}

/* The output transform A^T a of a[0..3]: (a0 + a1 + a2, a1 - a2 - a3). */
static void at4(urc_kernel *k, urc_ls *body, urc_lx *const *a, urc_lx **o) {
    urc_lx *v[4];
    for (int i = 0; i < 4; i++) v[i] = fvar(k, body, a[i]);
    o[0] = add(add(v[0], v[1]), v[2]);
    o[1] = sub(sub(v[1], v[2]), v[3]);
}

/* U[mb][p][c][l] = (G g G^T)[p] of W[mb*MB + l, c] (zero past M); 2D: G along H and W only. */
static float *pack_u(const urc_wino_conv *c, int64_t nmb, int MB) {
    int64_t C = c->C, M = c->M, P = c->nd == 3 ? 64 : 16, taps = c->nd == 3 ? 27 : 9;
    float *u = urc_xcalloc((size_t)(nmb * P * C * MB), sizeof(float));
    for (int64_t m = 0; m < M; m++)
        for (int64_t ci = 0; ci < C; ci++) {
            double g[27], t1[4][3][3], t2[4][4][3];
            for (int t = 0; t < taps; t++) g[t] = urc_elem_f64(c->w->dtype, c->w->data, (m * C + ci) * taps + t);
            if (c->nd == 2) { /* one D "tap": the G row along D is the identity */
                for (int h = 0; h < 3; h++)
                    for (int w = 0; w < 3; w++) t1[0][h][w] = g[h * 3 + w];
            }
            for (int a = 0; a < 4 && c->nd == 3; a++)
                for (int h = 0; h < 3; h++)
                    for (int w = 0; w < 3; w++)
                        t1[a][h][w] = G[a][0] * g[h * 3 + w] + G[a][1] * g[9 + h * 3 + w] + G[a][2] * g[18 + h * 3 + w];
            for (int a = 0; a < (c->nd == 3 ? 4 : 1); a++)
                for (int b = 0; b < 4; b++)
                    for (int w = 0; w < 3; w++)
                        t2[a][b][w] = G[b][0] * t1[a][0][w] + G[b][1] * t1[a][1][w] + G[b][2] * t1[a][2][w];
            for (int a = 0; a < (c->nd == 3 ? 4 : 1); a++)
                for (int b = 0; b < 4; b++)
                    for (int e = 0; e < 4; e++) {
                        int64_t p = (a * 4 + b) * 4 + e, mb = m / MB, l = m % MB;
                        double v = G[e][0] * t2[a][b][0] + G[e][1] * t2[a][b][1] + G[e][2] * t2[a][b][2];
                        u[((mb * P + p) * C + ci) * MB + l] = (float)v;
                    }
        }
    return u;
}

typedef struct wino {
    urc_lower *L;
    urc_kernel *k;
    const urc_wino_conv *c;
    int T, MB, lanes;
    int ni;    /* 4 (3D) or 1 (2D: no transform along D) */
    int64_t P; /* transform positions: ni * 16 */
    int64_t nmb;
    int bx[URC_CONV_MAX_PARTS], bu, bb, br, by;
    int bias_mode; /* 0 none, 1 packed (bb), 2 literal or run-time (urc_lower_load) */
    bool dot2;     /* bfloat16 pair products: V in bfloat16, U as pairs along c (U2[mb][p][c/2][MB]) */
} wino;

/* The input transform B^T d B is separable: along D, H and W in turn. Neighbouring tiles along W share
 * two of their four input columns (the 4x4 values in D and H at one x), so the transforms along D and
 * H are done once per column, into a ring R of the last four columns, R[q][slot][c] with q = i*4 + j
 * (i along D, j along H; 2D: q = j), and the transform along W per tile reads its four columns from
 * the ring: per tile two columns are gathered and transformed instead of four, a third fewer
 * transforms and half the loads of transforming each tile's patch on its own. */

/* Column x of the group's patch rows (z0 + i, y0 + j: padding applied, zeros outside X), transformed
 * along D (3D) and H into ring slot `slot`. */
static void column_transform(wino *w, urc_ls *body, urc_lx *nn, urc_lx *z0, urc_lx *y0, urc_lx *x, urc_lx *slot,
                             int R) {
    urc_kernel *k = w->k;
    const urc_wino_conv *c = w->c;
    int64_t C = c->C, D = c->in[0], H = c->in[1], W = c->in[2];
    int ni = w->ni;
    int okv = urc_kernel_var(k, "okx", URC_DT_BOOL);
    urc_ls_decl(body, okv, inside(x, W));
    urc_lx *okx = urc_lx_var(k, okv), *xc = urc_sp_let(k, body, "xc", clampi(x, W));
    /* R index of (q, slot, channel cc) */
#define RIDX(q, cc) urc_add(urc_muli(urc_add(urc_muli((q), 4), slot), C), (cc))
    {
        /* gather along D (3D: and transform) for each j; 2D: gather along H and transform */
        urc_ls *b = body;
        urc_lx *j = ni == 4 ? loopv(k, &b, "j", 0, urc_lx_int(4), 0) : NULL;
        urc_lx *ok[4], *vox[4];
        for (int e = 0; e < 4; e++) {
            urc_lx *z = ni == 4 ? urc_addi(z0, e) : z0, *y = ni == 4 ? urc_add(y0, j) : urc_addi(y0, e);
            int o = urc_kernel_var(k, "ok", URC_DT_BOOL);
            urc_ls_decl(b, o, band(band(okx, inside(z, D)), inside(y, H)));
            ok[e] = urc_lx_var(k, o);
            vox[e] = urc_sp_let(
                k, b, "vox",
                urc_add(urc_muli(urc_add(urc_muli(urc_add(urc_muli(nn, D), clampi(z, D)), H), clampi(y, H)), W), xc));
        }
        int64_t c0 = 0;
        for (int p = 0; p < c->nx; p++) {
            int64_t Cp = c->x[p]->shape.dims[c->x[p]->shape.rank - 1];
            urc_ls *in = b;
            urc_lx *cc = loopv(k, &in, "c", 0, urc_lx_int(Cp), URC_FOR_VECTOR);
            urc_lx *a[4], *dst[4];
            for (int e = 0; e < 4; e++) {
                a[e] = urc_lx_sel(ok[e], ld(k, w->bx[p], urc_add(urc_muli(vox[e], Cp), cc)), urc_lx_flt(0, URC_DT_F32));
                dst[e] = RIDX(ni == 4 ? urc_add(urc_lx_int(e * 4), j) : urc_lx_int(e), urc_addi(cc, c0));
            }
            bt4(k, in, a, R, dst);
            c0 += Cp;
        }
    }
    if (ni == 4) { /* along H, in place */
        urc_ls *b = body;
        urc_lx *i = loopv(k, &b, "i", 0, urc_lx_int(4), 0);
        urc_lx *cc = loopv(k, &b, "c", 0, urc_lx_int(C), URC_FOR_VECTOR);
        urc_lx *a[4], *dst[4];
        for (int j = 0; j < 4; j++) {
            dst[j] = RIDX(urc_addi(urc_muli(i, 4), j), cc);
            a[j] = ld(k, R, dst[j]);
        }
        bt4(k, b, a, R, dst);
    }
#undef RIDX
}

/* V[p][t][c] = (B^T d B)[p] of tile t, p = q*4 + e: the transform along W of the ring's columns
 * 2t .. 2t + 3 of the group (slots (2t + e) % 4). */
static void row_transform(wino *w, urc_ls *body, urc_lx *t, int R, int V) {
    urc_kernel *k = w->k;
    int64_t C = w->c->C;
    int T = w->T;
    urc_ls *b = body;
    urc_lx *q = loopv(k, &b, "q", 0, urc_lx_int(w->ni * 4), 0);
    urc_lx *cc = loopv(k, &b, "c", 0, urc_lx_int(C), URC_FOR_VECTOR);
    urc_lx *a[4], *dst[4];
    for (int e = 0; e < 4; e++) {
        urc_lx *slot = urc_lx_bin(URC_L_REM, urc_addi(urc_muli(t, 2), e), urc_lx_int(4));
        a[e] = ld(k, R, urc_add(urc_muli(urc_add(urc_muli(q, 4), slot), C), cc));
        dst[e] = urc_add(urc_muli(urc_add(urc_muli(urc_addi(urc_muli(q, 4), e), T), t), C), cc);
    }
    bt4(k, b, a, V, dst);
}

/* The epilogue of output element (voxel index vox of Y, lane l of block mb). */
static urc_lx *epilogue(wino *w, urc_ls *at, urc_lx *val, urc_lx *mb, urc_lx *l, urc_lx *yidx) {
    urc_kernel *k = w->k;
    urc_lx *col = urc_add(urc_muli(mb, w->MB), l);
    if (w->bias_mode == 1) val = add(val, ld(k, w->bb, col));
    if (w->bias_mode == 2) val = add(val, urc_lower_load(w->L, k, w->c->b, col));
    val = urc_conv_act(k, at, &w->c->n->a.conv, val);
    if (w->br >= 0) val = add(val, ld(k, w->br, yidx));
    return val;
}

/* One group of nt tiles starting at W tile tw0 (an expression). */
static void group(wino *w, urc_ls *parent, urc_lx *nn, urc_lx *td, urc_lx *th, urc_lx *tw0, int nt) {
    urc_kernel *k = w->k;
    const urc_wino_conv *c = w->c;
    int T = w->T, MB = w->MB;
    int64_t C = c->C, M = c->M, OD = c->out[0], OH = c->out[1], OW = c->out[2];
    urc_ls *blk = urc_ls_block();
    urc_ls_push(parent, blk);
    int64_t P = w->P;
    int R = urc_kernel_local(k, "R", URC_DT_F32, P * C); /* ni*4 (D, H) x 4 columns x C */
    int V = urc_kernel_local(k, "V", w->dot2 ? URC_DT_BF16 : URC_DT_F32, P * T * C);
    int O = urc_kernel_local(k, "O", URC_DT_F32, P / 2 * T * MB);
    urc_ls_array(blk, k, R);
    urc_ls_array(blk, k, V);
    urc_ls_array(blk, k, O);
    urc_lx *z0 = urc_addi(urc_muli(td, w->ni == 4 ? 2 : 1), -c->pb[0]), *y0 = urc_addi(urc_muli(th, 2), -c->pb[1]);
    {
        urc_lx *xg = urc_sp_let(k, blk, "xg", urc_addi(urc_muli(tw0, 2), -c->pb[2])); /* the group's first column */
        urc_ls *b = blk;
        urc_lx *e = loopv(k, &b, "e", 0, urc_lx_int(2), 0); /* columns 0, 1 into slots 0, 1 */
        column_transform(w, b, nn, z0, y0, urc_add(xg, e), e, R);
        b = blk;
        urc_lx *t = loopv(k, &b, "t", 0, urc_lx_int(nt), 0);
        urc_ls *cb = b;
        urc_lx *e2 = loopv(k, &cb, "e", 2, urc_lx_int(4), 0); /* the tile's columns 2, 3: new */
        urc_lx *col = urc_sp_let(k, cb, "col", urc_add(urc_muli(t, 2), e2));
        column_transform(w, cb, nn, z0, y0, urc_add(xg, col), urc_lx_bin(URC_L_REM, col, urc_lx_int(4)), R);
        row_transform(w, b, t, R, V);
    }
    urc_ls *mbody = blk;
    urc_lx *mb = urc_sp_dim_loop(k, &mbody, "mb", w->nmb, NULL);
    /* O[q][r][t][:] = (A^T along W of sum_c V[q*4 + e][t][c] * U[mb][q*4 + e][c][:]), q = i*4 + j:
     * the first output transform is folded into the stores (r 0: e 0, 1, 2 added; r 1: e 1 added, e 2
     * and 3 subtracted), which also keeps the accumulators out of a plain copy (that gcc turns into
     * a memcpy, leaving them in memory) */
#define OIDX(q, r, t) urc_add(urc_muli(urc_add(urc_muli(urc_add(urc_muli((q), 2), (r)), T), (t)), MB), l)
    {
        urc_ls *b = mbody;
        urc_lx *t = loopv(k, &b, "t", 0, urc_lx_int(nt), 0);
        urc_lx *qr = loopv(k, &b, "q", 0, urc_lx_int(P / 2), 0);
        urc_lx *l = loopv(k, &b, "l", 0, urc_lx_int(MB), URC_FOR_VECTOR);
        urc_ls_store(b, O, urc_add(urc_muli(urc_add(urc_muli(qr, T), t), MB), l), urc_lx_flt(0, URC_DT_F32));
    }
    urc_ls *qb = mbody;
    urc_lx *q = loopv(k, &qb, "q", 0, urc_lx_int(P / 4), 0);
    for (int e = 0; e < 4; e++) {
        urc_ls *ab = urc_ls_block();
        urc_ls_push(qb, ab);
        int acc = urc_kernel_local(k, "acc", URC_DT_F32, (int64_t)nt * MB);
        urc_ls_array(ab, k, acc);
        urc_lx *p = urc_addi(urc_muli(q, 4), e);
        {
            urc_ls *b = ab;
            urc_lx *t = loopv(k, &b, "t", 0, urc_lx_int(nt), URC_FOR_UNROLL);
            urc_lx *l = loopv(k, &b, "l", 0, urc_lx_int(MB), URC_FOR_VECTOR);
            urc_ls_store(b, acc, urc_add(urc_muli(t, MB), l), urc_lx_flt(0, URC_DT_F32));
        }
        if (w->dot2) { /* acc[t][:] = dot2(V[p][t][c, c+1], U2[mb][p][c/2][:], acc[t][:]) */
            urc_ls *b = ab;
            urc_lx *ub = urc_sp_let(k, b, "ub", urc_muli(urc_add(urc_muli(mb, P), p), C / 2 * MB));
            urc_lx *vb = urc_sp_let(k, b, "vb", urc_muli(p, T * C));
            urc_lx *c2 = loopv(k, &b, "c", 0, urc_lx_int(C / 2), 0);
            urc_lx *t = loopv(k, &b, "t", 0, urc_lx_int(nt), URC_FOR_UNROLL);
            int xp = urc_kernel_var(k, "xp", URC_DT_U32);
            urc_ls_decl(b, xp, urc_lx_pair(k, V, urc_add(urc_add(vb, urc_muli(t, C)), urc_muli(c2, 2))));
            urc_lx *l = loopv(k, &b, "l", 0, urc_lx_int(MB), URC_FOR_VECTOR);
            urc_lx *ai = urc_add(urc_muli(t, MB), l);
            urc_lx *u = ld(k, w->bu, urc_add(urc_add(ub, urc_muli(c2, MB)), l));
            urc_ls_store(b, acc, ai, urc_lx_dot2(urc_lx_var(k, xp), u, ld(k, acc, ai)));
        } else {
            urc_ls *b = ab;
            urc_lx *ub = urc_sp_let(k, b, "ub", urc_muli(urc_add(urc_muli(mb, P), p), C * MB));
            urc_lx *vb = urc_sp_let(k, b, "vb", urc_muli(p, T * C));
            urc_lx *cc = loopv(k, &b, "c", 0, urc_lx_int(C), 0);
            urc_lx *ui = urc_add(ub, urc_muli(cc, MB));
            /* U stored reduced (--precision): its MB lanes converted to float once, before the tiles
             * (converted inside the lane loop, C compilers vectorise the multiply-adds at half width) */
            int uv = -1;
            if (k->bufs.items[w->bu].dt != URC_DT_F32) {
                uv = urc_kernel_local(k, "uv", URC_DT_F32, MB);
                urc_ls_array(b, k, uv);
                urc_ls *cb = b;
                urc_lx *l = loopv(k, &cb, "l", 0, urc_lx_int(MB), URC_FOR_VECTOR);
                urc_ls_store(cb, uv, l, urc_lower_wload(k, w->bu, urc_add(ui, l), URC_DT_F32));
            }
            urc_lx *t = loopv(k, &b, "t", 0, urc_lx_int(nt), URC_FOR_UNROLL);
            int xv = urc_kernel_var(k, "xv", URC_DT_F32);
            urc_ls_decl(b, xv, ld(k, V, urc_add(urc_add(vb, urc_muli(t, C)), cc)));
            urc_lx *l = loopv(k, &b, "l", 0, urc_lx_int(MB), URC_FOR_VECTOR);
            urc_lx *ai = urc_add(urc_muli(t, MB), l);
            urc_lx *u = uv >= 0 ? ld(k, uv, l) : ld(k, w->bu, urc_add(ui, l));
            urc_ls_store(b, acc, ai, urc_lx_fma(urc_lx_var(k, xv), u, ld(k, acc, ai)));
        }
        {
            urc_ls *b = ab;
            urc_lx *t = loopv(k, &b, "t", 0, urc_lx_int(nt), URC_FOR_UNROLL);
            urc_lx *l = loopv(k, &b, "l", 0, urc_lx_int(MB), URC_FOR_VECTOR);
            urc_lx *a = ld(k, acc, urc_add(urc_muli(t, MB), l));
            for (int r = 0; r < 2; r++) {
                /* A^T row r: (1, 1, 1, 0) and (0, 1, -1, -1) */
                int coef = r == 0 ? (e < 3) : (e == 1 ? 1 : e == 0 ? 0 : -1);
                if (!coef) continue;
                urc_lx *oi = OIDX(q, urc_lx_int(r), t);
                urc_ls_store(b, O, oi, urc_lx_bin(coef > 0 ? URC_L_ADD : URC_L_SUB, ld(k, O, oi), a));
            }
        }
    }
    /* the output transform along H (in place), then along D into Y */
    urc_ls *tb = mbody;
    urc_lx *t = loopv(k, &tb, "t", 0, urc_lx_int(nt), 0);
    {
        urc_ls *b = tb;
        urc_lx *i = loopv(k, &b, "i", 0, urc_lx_int(w->ni), 0);
        urc_lx *r = loopv(k, &b, "r", 0, urc_lx_int(2), 0);
        urc_lx *l = loopv(k, &b, "l", 0, urc_lx_int(MB), URC_FOR_VECTOR);
        urc_lx *a[4], *o[2];
        for (int j = 0; j < 4; j++) a[j] = ld(k, O, OIDX(urc_addi(urc_muli(i, 4), j), r, t));
        at4(k, b, a, o);
        for (int j = 0; j < 2; j++) urc_ls_store(b, O, OIDX(urc_addi(urc_muli(i, 4), j), r, t), o[j]);
    }
    /* Y[n, 2td + a, 2th + j, 2(tw0 + t) + e] for the voxels inside Y */
    urc_lx *valid = M % MB == 0   ? urc_lx_int(MB)
                    : w->nmb == 1 ? urc_lx_int(M)
                                  : urc_sp_min(urc_lx_int(MB), urc_sub(urc_lx_int(M), urc_muli(mb, MB)));
    for (int jj = 0; jj < 2; jj++)
        for (int e = 0; e < 2; e++)
            for (int a = 0; a < (w->ni == 4 ? 2 : 1); a++) {
                urc_ls *b = tb;
                urc_lx *oz = urc_addi(urc_muli(td, w->ni == 4 ? 2 : 1), a), *oy = urc_addi(urc_muli(th, 2), jj);
                urc_lx *ox = urc_addi(urc_muli(urc_add(tw0, t), 2), e);
                urc_lx *cond = NULL;
                if (a && OD % 2) cond = urc_lx_bin(URC_L_LT, oz, urc_lx_int(OD));
                if (jj && OH % 2) {
                    urc_lx *cy = urc_lx_bin(URC_L_LT, oy, urc_lx_int(OH));
                    cond = cond ? band(cond, cy) : cy;
                }
                if (e && OW % 2) {
                    urc_lx *cx = urc_lx_bin(URC_L_LT, ox, urc_lx_int(OW));
                    cond = cond ? band(cond, cx) : cx;
                }
                if (cond) b = urc_ls_if(b, cond, NULL);
                urc_lx *yb = urc_sp_let(
                    k, b, "yb",
                    urc_add(urc_muli(
                                urc_add(urc_muli(urc_add(urc_muli(urc_add(urc_muli(nn, OD), oz), OH), oy), OW), ox), M),
                            urc_muli(mb, MB)));
                urc_lx *l = loopv(k, &b, "l", 0, valid, URC_FOR_VECTOR);
                urc_lx *v[4], *o;
                if (w->ni == 4) {
                    for (int i = 0; i < 4; i++) v[i] = ld(k, O, OIDX(urc_lx_int(i * 4 + jj), urc_lx_int(e), t));
                    o = at_row(a, v);
                } else {
                    o = ld(k, O, OIDX(urc_lx_int(jj), urc_lx_int(e), t));
                }
                urc_lx *yidx = urc_add(yb, l);
                urc_ls_store(b, w->by, yidx, epilogue(w, b, o, mb, l, yidx));
            }
#undef OIDX
}

/* Measured on AVX512-BF16 (Zen 4), one thread, thread CPU time per call, against the direct convolution with
 * bf16 pairs: BraTS-like UNETR's 32 -> 16 at 64^3 29.0 ms against 35.3-36.1 (the whole forward 148-150
 * against 155-166 ms); 16 -> 16 at 64^3 18.2 against 17.2-17.4 (so M >= 16 needs C >= 32); BasicUNet's
 * 32 -> 32 at 96^3, 2 threads, 94-100 against 108-140 with float32 products. */
bool urc_wino_pairs(int64_t C, int64_t M) { return C >= 32 && M >= 16; }

/* The register tile of a Winograd convolution with C input and M output channels, out_w output columns
 * and nd spatial axes on target tg: *T tiles along W of *MB output channels (*lanes a vector), or false
 * when the kernel does not take it (too few channels, or a tile over the per-thread scratch budget). */
static bool wino_tile(int64_t C, int64_t M, int64_t out_w, int nd, const urc_target *tg, int *T_, int *MB_,
                      int *lanes_) {
    if (C < 8 || M < 8) return false;
    int regs = tg->vector_bits >= 512 ? 32 : 16;
    int lanes = tg->vector_bits / 32 < 4 ? 4 : tg->vector_bits / 32;
    int64_t mv = (M + lanes - 1) / lanes;
    int mult = regs >= 32 ? 4 : 2;
    while (mult > 1 && mv % mult) mult--;
    int MB = mult * lanes;
    int T = (regs - mult - 2) / mult;
    if (T > 8) T = 8;
    int64_t tiles_w = (out_w + 1) / 2;
    if (T > tiles_w) T = (int)tiles_w;
    /* scratch per thread: S (P C) + V (P T C) + O (P/2 T MB) + acc */
    int64_t P = nd == 3 ? 64 : 16;
    while (T > 1 && (P * C + (int64_t)T * (P * C + P / 2 * MB)) * 4 > WINO_STACK) T--;
    if ((P * C + (int64_t)T * (P * C + P / 2 * MB)) * 4 > WINO_STACK || (T < 3 && tiles_w >= 3)) return false;
    *T_ = T, *MB_ = MB, *lanes_ = lanes;
    return true;
}

/* Whether the kernel multiplies bf16 pairs (V in bfloat16, U as pairs along c) for C input and M output
 * channels when the node's products are pairs. */
static bool wino_dot2(bool pairs, int64_t C, int64_t M) { return pairs && C % 2 == 0 && urc_wino_pairs(C, M); }

int64_t urc_wino_u_count(int64_t C, int64_t M, int64_t out_w, int nd, const urc_target *tg, bool pairs, bool wrt,
                         urc_dtype *dt) {
    int T, MB, lanes;
    if (!wino_tile(C, M, out_w, nd, tg, &T, &MB, &lanes) || (wrt && M % MB)) return 0;
    bool d2 = wino_dot2(pairs, C, M);
    *dt = d2 ? URC_DT_U32 : URC_DT_F32;
    return (M + MB - 1) / MB * (nd == 3 ? 64 : 16) * (d2 ? C / 2 : C) * MB;
}

/* W packed for runtime_u: Gp[mb][c][tap][l] = W[mb*MB + l, c, tap] (zero past M), from the weights as
 * the node stores them (urc_lower_wdata: float32, or int8's integers), so that the transform below reads
 * the MB output channels of a tap as one vector. */
static float *pack_g(const urc_wino_conv *c, const float *wd, int64_t nmb, int MB) {
    int64_t C = c->C, M = c->M, taps = c->nd == 3 ? 27 : 9;
    float *gp = urc_xcalloc((size_t)(nmb * C * taps * MB), sizeof(float));
    for (int64_t m = 0; m < M; m++)
        for (int64_t ci = 0; ci < C; ci++)
            for (int64_t t = 0; t < taps; t++)
                gp[((m / MB * C + ci) * taps + t) * MB + m % MB] = wd[(m * C + ci) * taps + t];
    return gp;
}

/* The P values of U (G (g s) G^T, p = (a*4 + b)*4 + e) of one lane l of one input channel: its taps at
 * W[wb + tap*ts + l] (Gp, or a run-time W), scaled by Sp[mb*MB + l] when bs >= 0, into us[p] (expressions
 * over locals of b). */
static void u_values(wino *w, urc_ls *b, int bq, int bs, urc_lx *wb, int64_t ts, urc_lx *mb, urc_lx *l, urc_lx **us) {
    urc_kernel *k = w->k;
    int64_t MB = w->MB;
    int nd = w->c->nd, taps = nd == 3 ? 27 : 9, na = nd == 3 ? 4 : 1;
    urc_lx *g[27], *t1[4][9], *t2[4][4][3];
    for (int t = 0; t < taps; t++) {
        urc_lx *q = urc_lower_wload(k, bq, urc_add(urc_addi(wb, t * ts), l), URC_DT_F32);
        g[t] = fvar(k, b, urc_lower_wscaled(k, q, bs, urc_add(urc_muli(mb, MB), l)));
    }
    /* G g G^T along D (3D; 2D: one D "tap", the identity), then H, then W: sums of +-1 and +-1/2 terms */
#define GSUM(row, a0, a1, a2) gvar(k, b, gsum(G[row][0], a0, G[row][1], a1, G[row][2], a2))
    for (int a = 0; a < na; a++)
        for (int hw = 0; hw < 9; hw++) t1[a][hw] = nd == 3 ? GSUM(a, g[hw], g[9 + hw], g[18 + hw]) : g[hw];
    for (int a = 0; a < na; a++)
        for (int bb = 0; bb < 4; bb++)
            for (int x = 0; x < 3; x++) t2[a][bb][x] = GSUM(bb, t1[a][x], t1[a][3 + x], t1[a][6 + x]);
    for (int a = 0; a < na; a++)
        for (int bb = 0; bb < 4; bb++)
            for (int e = 0; e < 4; e++)
                us[(a * 4 + bb) * 4 + e] = gsum(G[e][0], t2[a][bb][0], G[e][1], t2[a][bb][1], G[e][2], t2[a][bb][2]);
#undef GSUM
}

/* U made at each call into the node's arena scratch (urc_conv_scratch asked for it) from Gp (pack_g; its
 * storage type float32, bf16, f16, or int8 with per-channel scales bs), or from a run-time W in w_last
 * order [taps][C][M] (wrt: a training step's weights; whole channel blocks): U[mb][p][c][l] = (G (g s) G^T)[p]
 * of output channel mb*MB + l, as pack_u makes it at compile time; with pairs (w->dot2) U2[mb][p][c/2][l],
 * the bfloat16 of channels c and c + 1 in one uint32, through a local row of bfloat16 per channel pair. A
 * parallel loop over the (mb, c) pairs (pairs: (mb, c/2)) before the tiles, each transforming MB output
 * channels as vectors: the blob holds 27 weights per (input, output) channel pair instead of U's 64 (int8:
 * a quarter of float32's). */
static void runtime_u(wino *w, urc_ls *body, int bq, int bs, bool wrt) {
    urc_kernel *k = w->k;
    const urc_wino_conv *c = w->c;
    int np = w->dot2 ? 2 : 1;
    int64_t C = c->C / np, MB = w->MB, P = w->P; /* (C: channel pairs with dot2) */
    int nd = c->nd, taps = nd == 3 ? 27 : 9;
    urc_ls *ib = body;
    urc_lx *i = loopv(k, &ib, "i", 0, urc_lx_int(w->nmb * C), URC_FOR_PARALLEL); /* i = mb*C + c */
    urc_lx *mb = urc_sp_let(k, ib, "mb", urc_lx_bin(URC_L_DIV, i, urc_lx_int(C)));
    urc_lx *ci = urc_sp_let(k, ib, "c", urc_lx_bin(URC_L_REM, i, urc_lx_int(C)));
    int row = -1; /* pairs: rowp[p][l][parity] */
    if (w->dot2) {
        row = urc_kernel_local(k, "rowp", URC_DT_BF16, P * MB * 2);
        urc_ls_array(ib, k, row);
    }
    for (int par = 0; par < np; par++) {
        urc_ls *b = ib;
        urc_lx *wb = wrt ? urc_sp_let(k, b, "wb", urc_add(urc_muli(ci, c->M), urc_muli(mb, MB)))
                         : urc_sp_let(k, b, "wb", urc_muli(urc_addi(urc_muli(i, np), par), taps * MB));
        urc_lx *l = loopv(k, &b, "l", 0, urc_lx_int(MB), URC_FOR_VECTOR);
        urc_lx *us[64];
        u_values(w, b, bq, bs, wb, wrt ? c->C * c->M : MB, mb, l, us);
        for (int p = 0; p < P; p++) {
            if (w->dot2)
                urc_ls_store(b, row, urc_addi(urc_muli(urc_addi(l, p * MB), 2), par), urc_lx_cast(URC_DT_BF16, us[p]));
            else
                urc_ls_store(b, w->bu, urc_add(urc_muli(urc_add(urc_muli(urc_addi(urc_muli(mb, P), p), C), ci), MB), l),
                             us[p]);
        }
    }
    if (w->dot2) {
        urc_ls *b = ib;
        urc_lx *p = loopv(k, &b, "p", 0, urc_lx_int(P), 0);
        urc_lx *l = loopv(k, &b, "l", 0, urc_lx_int(MB), URC_FOR_VECTOR);
        urc_ls_store(b, w->bu, urc_add(urc_muli(urc_add(urc_muli(urc_add(urc_muli(mb, P), p), C), ci), MB), l),
                     urc_lx_pair(k, row, urc_muli(urc_add(urc_muli(p, MB), l), 2)));
    }
}

bool urc_conv_winograd(urc_lower *L, urc_kernel *k, const urc_wino_conv *c) {
    int T, MB, lanes;
    if (!wino_tile(c->C, c->M, c->out[2], c->nd, L->target, &T, &MB, &lanes)) return false;
    int64_t P = c->nd == 3 ? 64 : 16;
    /* U made at each call into the node's scratch where urc_conv_scratch asked for it (int8 weights must:
     * else the direct kernel), else packed at compile time */
    bool q8 = urc_lower_wdtype(c->n) == URC_DT_I8, dot2 = wino_dot2(urc_lower_dot2(L, c->n), c->C, c->M);
    int64_t nmb = (c->M + MB - 1) / MB;
    const urc_value *sv = c->n->scratch;
    bool rt = sv && sv->dtype == (dot2 ? URC_DT_U32 : URC_DT_F32) &&
              urc_shape_numel(&sv->shape) >= nmb * P * (dot2 ? c->C / 2 : c->C) * MB;
    bool wrt = !c->w->data; /* run-time W [taps][C][M] (w_last) */
    if ((q8 || wrt) && !rt) return false;
    if (wrt && (dot2 || c->M % MB || c->w->dtype != URC_DT_F32)) return false;

    wino w = {L, k, c, T, MB, lanes, c->nd == 3 ? 4 : 1, P, nmb, {0}, 0, -1, -1, 0, 0, false};
    w.dot2 = dot2;
    for (int p = 0; p < c->nx; p++) w.bx[p] = urc_lower_in(L, k, c->x[p], "x");
    int bq = -1, bs = -1;
    if (rt) {
        w.bu = urc_lower_out(L, k, c->n->scratch, "u");
        if (wrt) {
            bq = urc_lower_in(L, k, c->w, "w");
        } else {
            float *gp = pack_g(c, urc_lower_wdata(L, c->n), nmb, MB);
            bq = urc_lower_wconst(L, k, c->n, "wino_g", nmb * c->C * (c->nd == 3 ? 27 : 9) * MB, gp);
            free(gp);
        }
        if (q8) bs = urc_lower_wscale(L, k, c->n, nmb * MB, c->M);
    } else {
        float *u = pack_u(c, w.nmb, MB);
        w.bu = w.dot2 ? urc_lower_wpairs(L, k, "wino", w.nmb * P, c->C, MB, u)
                      : urc_lower_wconst(L, k, c->n, "wino", w.nmb * P * c->C * MB, u);
        free(u);
    }
    const urc_value *B = c->b;
    int64_t bits = 0;
    if (B && B->data && urc_shape_numel(&B->shape) > 1) {
        int64_t cols = w.nmb * MB;
        float *bp = urc_xmalloc((size_t)cols * sizeof(float));
        for (int64_t j = 0; j < cols; j++) bp[j] = j < c->M ? (float)urc_elem_f64(B->dtype, B->data, j) : 0.0f;
        w.bb = urc_lower_const(L, k, "bpack", URC_DT_F32, cols, bp);
        free(bp);
        w.bias_mode = 1;
    } else if (B) {
        w.bias_mode = 2;
        if (B->data) {
            double b = urc_elem_f64(B->dtype, B->data, 0);
            memcpy(&bits, &b, sizeof bits);
        } else {
            urc_lower_in(L, k, B, "c"); /* bound now, as the body would, so the key covers it */
        }
    }
    w.by = urc_lower_out(L, k, c->y, "y");
    if (c->r) w.br = urc_lower_in(L, k, c->r, "r");

    /* the body depends on the geometry, tile, buffers and epilogue only */
    const urc_conv_attr *at = &c->n->a.conv;
    int64_t key[64 + 2 * URC_CONV_MAX_PARTS], alpha;
    int nk = 0;
    memcpy(&alpha, &at->act_alpha, sizeof alpha);
    const int64_t head[] = {0x57494e4f, c->N,        c->C, c->M, T,       MB,    w.nmb, w.bu,  w.bb,   w.br, w.by,
                            bits,       w.bias_mode, bq,   bs,   at->act, alpha, c->nx, c->nd, w.dot2, wrt};
    for (size_t i = 0; i < URC_ARRAY_LEN(head); i++) key[nk++] = head[i];
    for (int a = 0; a < 3; a++) key[nk++] = c->in[a], key[nk++] = c->out[a], key[nk++] = c->pb[a];
    for (int p = 0; p < c->nx; p++) key[nk++] = w.bx[p], key[nk++] = c->x[p]->shape.dims[c->x[p]->shape.rank - 1];
    if (urc_lower_reuse(L, k, c->n, key, nk)) return true;

    if (rt) runtime_u(&w, k->body, bq, bs, wrt);
    urc_ls *body = k->body, *par = NULL;
    urc_lx *nn = urc_sp_dim_loop(k, &body, "n", c->N, &par);
    urc_lx *td = urc_sp_dim_loop(k, &body, "td", c->nd == 3 ? (c->out[0] + 1) / 2 : c->out[0], &par);
    urc_lx *th = urc_sp_dim_loop(k, &body, "th", (c->out[1] + 1) / 2, &par);
    int64_t tiles_w = (c->out[2] + 1) / 2, full = tiles_w / T, rest = tiles_w % T;
    if (full) {
        urc_ls *gb = body;
        urc_lx *g = urc_sp_dim_loop(k, &gb, "g", full, NULL);
        group(&w, gb, nn, td, th, urc_muli(g, T), T);
    }
    if (rest) group(&w, body, nn, td, th, urc_lx_int(full * T), (int)rest);
    urc_lower_remember(L, k);
    return true;
}
