/* monai_swin.c: MONAI's SwinUNETR (monai/networks/nets/swin_unetr.py, 1.3)
 * from its constructor arguments, v1 and use_v2, 2D and 3D (monai_build.h).
 *
 * The Swin encoder runs channels-last ([b, spatial.., c]) as MONAI's does,
 * with the op patterns torch.onnx.export gives for it, so that the passes
 * treat a config the way they treat the export: LayerNormalization nodes,
 * torch.roll as Slice + Concat per axis, window partition/reverse as
 * Reshape-Transpose-Reshape, and per window attention
 *   qkv Linear, Reshape [B_, n, 3, H, d], Transpose [2,0,3,1,4], Gather 0/1/2,
 *   q * scale, MatMul(q, k^T), + bias (Gather of the relative position table,
 *   folded), [Reshape [b, nW, H, n, n] + mask, Reshape back], Softmax,
 *   MatMul(p, v), Transpose [0,2,1,3], Reshape, proj Linear
 * which the attention pass fuses. The decoder is UNETR's blocks
 * (mc_unet_block, mc_unetr_up). Dropout, attention dropout and drop path
 * are the identity in eval; use_checkpoint changes nothing in a forward. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "monai_build.h"

const char *const mc_swin_args[] = {"img_size",       "in_channels",       "out_channels", "depths",
                                    "num_heads",      "feature_size",      "norm_name",    "drop_rate",
                                    "attn_drop_rate", "dropout_path_rate", "normalize",    "use_checkpoint",
                                    "spatial_dims",   "downsample",        "use_v2",       NULL};

enum { WIN = 7 }; /* MONAI's window size, every dim */

/* SwinUNETR._check_input_size: every spatial size divisible by 2**5. */
bool mc_swin_check_size(reader *r, const char *arg, const int64_t *sp, int sd) {
    urc_strbuf dims = {0}, shape = {0};
    int n = 0;
    for (int d = 0; d < sd; d++) {
        urc_sb_printf(&shape, "%s%lld", d ? ", " : "", (long long)sp[d]);
        if (sp[d] % 32) urc_sb_printf(&dims, "%s%d", n++ ? ", " : "", d + 2);
    }
    bool ok = !n || mc_bad(r, arg,
                           urc_fmt("spatial dimensions [%s] of input image (spatial shape: (%s)) must be divisible "
                                   "by 2**5.",
                                   dims.data, shape.data));
    urc_sb_free(&dims);
    urc_sb_free(&shape);
    return ok;
}

typedef struct swin {
    cfg *c;
    int sd;
    int64_t batch;
    bool v2_merging; /* downsample "mergingv2" */
} swin;

/* Channels-last dims [b, sp.., ch]; returns the rank. */
static int cl_dims(const swin *s, const int64_t *sp, int64_t ch, int64_t *dims) {
    dims[0] = s->batch;
    for (int d = 0; d < s->sd; d++) dims[1 + d] = sp[d];
    dims[1 + s->sd] = ch;
    return 2 + s->sd;
}

/* Slice(x) over axes[n] from starts to ends by steps. */
static const char *slice(cfg *c, const char *name, const char *x, int n, const int64_t *axes, const int64_t *starts,
                         const int64_t *ends, const int64_t *steps) {
    const char *in[5] = {x, mc_const_ints(c, name, n, starts), mc_const_ints(c, name, n, ends),
                         mc_const_ints(c, name, n, axes), mc_const_ints(c, name, n, steps)};
    return mc_node(c, "Slice", name, 5, in, NULL);
}

static const char *concat(cfg *c, const char *name, int n, const char *const *in, int64_t axis) {
    attrs a = {0};
    mc_a_int(&a, "axis", axis);
    return mc_node(c, "Concat", name, n, in, &a);
}

/* torch.roll(x, shifts=sign * shift[d], dims=1..sd) of a channels-last x
 * with spatial sizes sp: per rolled axis, the two parts swapped. */
static const char *roll(const swin *s, const char *name, const char *x, const int64_t *sp, const int64_t *shift,
                        int sign) {
    for (int d = 0; d < s->sd; d++) {
        if (!shift[d]) continue;
        int64_t cut = sign < 0 ? shift[d] : sp[d] - shift[d], axis = 1 + d, one = 1, zero = 0, end = INT64_MAX;
        const char *parts[2] = {slice(s->c, urc_fmt("%s.%d.tail", name, d), x, 1, &axis, &cut, &end, &one),
                                slice(s->c, urc_fmt("%s.%d.head", name, d), x, 1, &axis, &zero, &cut, &one)};
        x = concat(s->c, urc_fmt("%s.%d", name, d), 2, parts, axis);
    }
    return x;
}

/* Python's slice(start, stop) of a length-len axis as [lo, hi); has_* false: None. */
static void py_slice(int64_t len, bool has_start, int64_t start, bool has_stop, int64_t stop, int64_t *lo,
                     int64_t *hi) {
    int64_t v[2] = {has_start ? start : 0, has_stop ? stop : len};
    for (int i = 0; i < 2; i++) {
        if (v[i] < 0) v[i] += len;
        v[i] = v[i] < 0 ? 0 : v[i] > len ? len : v[i];
    }
    *lo = v[0];
    *hi = v[1] > v[0] ? v[1] : v[0];
}

/* compute_mask: the shifted-window attention mask [nW, n, n] (0 within a
 * region, -100 across) for padded sizes sp, window ws and shift ss. */
static float *shift_mask(int sd, const int64_t *sp, const int64_t *ws, const int64_t *ss, int64_t *nw, int64_t *n) {
    int64_t len[3] = {1, 1, 1}, w[3] = {1, 1, 1}, sh[3] = {0, 0, 0}, total = 1;
    for (int d = 0; d < sd; d++) {
        len[3 - sd + d] = sp[d];
        w[3 - sd + d] = ws[d];
        sh[3 - sd + d] = ss[d];
        total *= sp[d];
    }
    float *img = urc_xmalloc(sizeof(float) * (size_t)total);
    memset(img, 0, sizeof(float) * (size_t)total);
    int64_t ranges[3][3][2];
    for (int d = 0; d < 3; d++) {
        if (d < 3 - sd) { /* a missing dim: one region covering it (label arithmetic as MONAI's 2D loop) */
            ranges[d][0][0] = 0, ranges[d][0][1] = 1;
            continue;
        }
        py_slice(len[d], false, 0, true, -w[d], &ranges[d][0][0], &ranges[d][0][1]);
        py_slice(len[d], true, -w[d], true, -sh[d], &ranges[d][1][0], &ranges[d][1][1]);
        py_slice(len[d], true, -sh[d], false, 0, &ranges[d][2][0], &ranges[d][2][1]);
    }
    float cnt = 0;
    int na = 3 - sd == 1 ? 1 : 3;
    for (int a = 0; a < na; a++)
        for (int b = 0; b < 3; b++)
            for (int e = 0; e < 3; e++, cnt++)
                for (int64_t i = ranges[0][a][0]; i < ranges[0][a][1]; i++)
                    for (int64_t j = ranges[1][b][0]; j < ranges[1][b][1]; j++)
                        for (int64_t k = ranges[2][e][0]; k < ranges[2][e][1]; k++)
                            img[(i * len[1] + j) * len[2] + k] = cnt;
    int64_t nwin[3], wn = w[0] * w[1] * w[2];
    for (int d = 0; d < 3; d++) nwin[d] = len[d] / w[d];
    *nw = nwin[0] * nwin[1] * nwin[2];
    *n = wn;
    float *lab = urc_xmalloc(sizeof(float) * (size_t)(*nw * wn));
    for (int64_t a = 0; a < nwin[0]; a++)
        for (int64_t b = 0; b < nwin[1]; b++)
            for (int64_t e = 0; e < nwin[2]; e++)
                for (int64_t i = 0; i < w[0]; i++)
                    for (int64_t j = 0; j < w[1]; j++)
                        for (int64_t k = 0; k < w[2]; k++)
                            lab[((a * nwin[1] + b) * nwin[2] + e) * wn + (i * w[1] + j) * w[2] + k] =
                                img[((a * w[0] + i) * len[1] + b * w[1] + j) * len[2] + e * w[2] + k];
    float *m = urc_xmalloc(sizeof(float) * (size_t)(*nw * wn * wn));
    for (int64_t x = 0; x < *nw; x++)
        for (int64_t i = 0; i < wn; i++)
            for (int64_t j = 0; j < wn; j++)
                m[(x * wn + i) * wn + j] = lab[x * wn + j] - lab[x * wn + i] != 0 ? -100.0f : 0.0f;
    free(img);
    free(lab);
    return m;
}

/* WindowAttention's relative_position_index for the full window (7 per
 * dim): [N, N], N = 7^sd. */
static int64_t *rel_index(int sd, int64_t *N) {
    int64_t n = 1;
    for (int d = 0; d < sd; d++) n *= WIN;
    int64_t *idx = urc_xmalloc(sizeof(int64_t) * (size_t)(n * n));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            int64_t v = 0, a = i, b = j, mul = 1;
            for (int d = sd - 1; d >= 0; d--) { /* the last dim varies fastest */
                v += ((a % WIN) - (b % WIN) + WIN - 1) * mul;
                mul *= 2 * WIN - 1;
                a /= WIN;
                b /= WIN;
            }
            idx[i * n + j] = v;
        }
    *N = n;
    return idx;
}

/* The buffer relative_position_index: taken (checked against MONAI's). */
static void check_index(cfg *c, const char *key, int sd) {
    int64_t N;
    int64_t *idx = rel_index(sd, &N);
    urc_st_entry *e = c->st ? urc_st_find(c->st, key) : NULL;
    urc_shape s = {2, {N, N}};
    if (!c->st) {
    } else if (!e) {
        mc_list_add(&c->missing, &c->nmissing, urc_fmt("'%s'", key));
    } else {
        e->used = true;
        if (e->dtype != URC_DT_I64 || !urc_shape_eq(&e->shape, &s)) {
            mc_list_add(&c->shapes, &c->nshapes,
                        urc_fmt("'%s' is %s%s, the network needs int64%s", key, urc_dtype_name(e->dtype),
                                urc_shape_str(&e->shape), urc_shape_str(&s)));
        } else {
            urc_tensor *t = urc_st_tensor(c->st, e);
            if (memcmp(t->data, idx, sizeof(int64_t) * (size_t)(N * N)))
                mc_list_add(&c->shapes, &c->nshapes, urc_fmt("'%s' differs from MONAI's relative position index", key));
            urc_tensor_free(t);
        }
    }
    free(idx);
}

/* WindowAttention on windows xw [B_, n, C] (n = ws product). mask: [nW, n,
 * n] or NULL. */
static const char *window_attention(const swin *s, const char *path, const char *xw, int64_t B_, int64_t n, int64_t C,
                                    int64_t heads, const float *mask, int64_t nw) {
    cfg *c = s->c;
    int64_t dh = C / heads;
    const char *qkv = mc_linear(c, urc_fmt("%s.qkv", path), xw, C, 3 * C, true);
    const char *qkvs[3];
    mc_split_qkv(c, path, urc_fmt("%s.qkv.permute", path), qkv, B_, n, heads, dh, qkvs);
    float scale = (float)pow((double)dh, -0.5);
    const char *qs[2] = {qkvs[0], mc_constant(c, urc_fmt("%s.scale", path), URC_DT_F32, 0, NULL, &scale)};
    const char *q = mc_node(c, "Mul", urc_fmt("%s.q_scaled", path), 2, qs, NULL);
    int64_t pk[4] = {0, 1, 3, 2};
    const char *mm[2] = {q, mc_transpose(c, urc_fmt("%s.k_t", path), qkvs[1], 4, pk)};
    const char *att = mc_node(c, "MatMul", urc_fmt("%s.qk", path), 2, mm, NULL);
    /* relative_position_bias_table[index[:n, :n]] -> [1, H, n, n] */
    int64_t T = 1, N;
    for (int d = 0; d < s->sd; d++) T *= 2 * WIN - 1;
    int64_t tdims[2] = {T, heads};
    const char *table = mc_param(c, urc_fmt("%s.relative_position_bias_table", path), 2, tdims);
    mc_init_hint(c, table, MC_INIT_TRUNC_NORMAL, 0.02); /* trunc_normal_(std=0.02) */
    const char *ikey = urc_fmt("%s.relative_position_index", path);
    check_index(c, ikey, s->sd);
    int64_t *full = rel_index(s->sd, &N), *sub = urc_xmalloc(sizeof(int64_t) * (size_t)(n * n));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) sub[i * n + j] = full[i * N + j];
    free(full);
    int64_t nn = n * n;
    attrs ga = {0};
    mc_a_int(&ga, "axis", 0);
    const char *gi[2] = {table, mc_constant(c, urc_fmt("%s.bias", path), URC_DT_I64, 1, &nn, sub)};
    free(sub);
    const char *bias = mc_node(c, "Gather", urc_fmt("%s.bias.gather", path), 2, gi, &ga);
    int64_t bd[3] = {n, n, heads}, bp[3] = {2, 0, 1}, b4[4] = {1, heads, n, n};
    bias = mc_reshape(c, urc_fmt("%s.bias.reshape", path), bias, 3, bd);
    bias = mc_transpose(c, urc_fmt("%s.bias.permute", path), bias, 3, bp);
    bias = mc_reshape(c, urc_fmt("%s.bias", path), bias, 4, b4);
    att = mc_add2(c, urc_fmt("%s.add_bias", path), att, bias);
    if (mask) {
        int64_t v5[5] = {B_ / nw, nw, heads, n, n}, m5[5] = {1, nw, 1, n, n}, v4[4] = {B_, heads, n, n};
        att = mc_reshape(c, urc_fmt("%s.mask.view", path), att, 5, v5);
        att = mc_add2(c, urc_fmt("%s.add_mask", path), att,
                      mc_constant(c, urc_fmt("%s.mask", path), URC_DT_F32, 5, m5, mask));
        att = mc_reshape(c, urc_fmt("%s.mask.view_back", path), att, 4, v4);
    }
    attrs sm = {0};
    mc_a_int(&sm, "axis", -1);
    att = mc_node(c, "Softmax", urc_fmt("%s.softmax", path), 1, &att, &sm);
    const char *av[2] = {att, qkvs[2]};
    const char *y = mc_node(c, "MatMul", urc_fmt("%s.av", path), 2, av, NULL);
    int64_t back[4] = {0, 2, 1, 3}, merged[3] = {B_, n, C};
    y = mc_transpose(c, urc_fmt("%s.av.transpose", path), y, 4, back);
    y = mc_reshape(c, urc_fmt("%s.av.reshape", path), y, 3, merged);
    return mc_linear(c, urc_fmt("%s.proj", path), y, C, C, true);
}

/* get_window_size: a window (and shift) no larger than the map. */
static void window_size(int sd, const int64_t *sp, bool shifted, int64_t *ws, int64_t *ss) {
    for (int d = 0; d < sd; d++) {
        ws[d] = sp[d] <= WIN ? sp[d] : WIN;
        ss[d] = sp[d] <= WIN || !shifted ? 0 : WIN / 2;
    }
}

/* SwinTransformerBlock on a channels-last x of spatial size sp, C channels. */
static const char *swin_block(const swin *s, const char *path, const char *x, const int64_t *sp, int64_t C,
                              int64_t heads, bool shifted) {
    cfg *c = s->c;
    int sd = s->sd, r = 2 + sd;
    int64_t ws[3], ss[3], pp[3], nwin[3], nw = 1, n = 1;
    window_size(sd, sp, shifted, ws, ss);
    bool pad = false, shift = false;
    for (int d = 0; d < sd; d++) {
        pp[d] = sp[d] + (ws[d] - sp[d] % ws[d]) % ws[d];
        pad |= pp[d] != sp[d];
        shift |= ss[d] > 0;
        nwin[d] = pp[d] / ws[d];
        nw *= nwin[d];
        n *= ws[d];
    }
    const char *h = mc_layer_norm(c, urc_fmt("%s.norm1", path), x, C);
    if (pad) {
        int64_t pads[10] = {0};
        for (int d = 0; d < sd; d++) pads[r + 1 + d] = pp[d] - sp[d]; /* ends of the spatial axes */
        const char *in[2] = {h, mc_const_ints(c, urc_fmt("%s.pad", path), 2 * r, pads)};
        h = mc_node(c, "Pad", urc_fmt("%s.pad", path), 2, in, NULL);
    }
    if (shift) h = roll(s, urc_fmt("%s.roll", path), h, pp, ss, -1);
    /* window_partition */
    int64_t split[8], wperm[8], wins[3] = {s->batch * nw, n, C};
    int k = 0;
    split[k++] = s->batch;
    for (int d = 0; d < sd; d++) {
        split[k++] = nwin[d];
        split[k++] = ws[d];
    }
    split[k++] = C;
    k = 0;
    wperm[k++] = 0;
    for (int d = 0; d < sd; d++) wperm[k++] = 1 + 2 * d;
    for (int d = 0; d < sd; d++) wperm[k++] = 2 + 2 * d;
    wperm[k++] = 1 + 2 * sd;
    h = mc_reshape(c, urc_fmt("%s.partition.view", path), h, k, split);
    h = mc_transpose(c, urc_fmt("%s.partition.permute", path), h, k, wperm);
    h = mc_reshape(c, urc_fmt("%s.partition", path), h, 3, wins);
    float *mask = NULL;
    if (shift) {
        int64_t mnw, mn;
        mask = shift_mask(sd, pp, ws, ss, &mnw, &mn);
        URC_ASSERT(mnw == nw && mn == n, "swin: mask size");
    }
    h = window_attention(s, urc_fmt("%s.attn", path), h, s->batch * nw, n, C, heads, mask, nw);
    free(mask);
    /* window_reverse */
    int64_t rsplit[8], rperm[8], full[5];
    k = 0;
    rsplit[k++] = s->batch;
    for (int d = 0; d < sd; d++) rsplit[k++] = nwin[d];
    for (int d = 0; d < sd; d++) rsplit[k++] = ws[d];
    rsplit[k++] = C;
    k = 0;
    rperm[k++] = 0;
    for (int d = 0; d < sd; d++) {
        rperm[k++] = 1 + d;
        rperm[k++] = 1 + sd + d;
    }
    rperm[k++] = 1 + 2 * sd;
    h = mc_reshape(c, urc_fmt("%s.reverse.view", path), h, k, rsplit);
    h = mc_transpose(c, urc_fmt("%s.reverse.permute", path), h, k, rperm);
    h = mc_reshape(c, urc_fmt("%s.reverse", path), h, cl_dims(s, pp, C, full), full);
    if (shift) h = roll(s, urc_fmt("%s.roll_back", path), h, pp, ss, 1);
    if (pad) {
        int64_t axes[3], starts[3] = {0, 0, 0}, steps[3] = {1, 1, 1};
        for (int d = 0; d < sd; d++) axes[d] = 1 + d;
        h = slice(c, urc_fmt("%s.crop", path), h, sd, axes, starts, sp, steps);
    }
    x = mc_add2(c, urc_fmt("%s.add_attn", path), x, h);
    h = mc_layer_norm(c, urc_fmt("%s.norm2", path), x, C);
    h = mc_linear(c, urc_fmt("%s.mlp.linear1", path), h, C, 4 * C, true);
    h = mc_node(c, "Gelu", urc_fmt("%s.mlp.fn", path), 1, &h, NULL);
    h = mc_linear(c, urc_fmt("%s.mlp.linear2", path), h, 4 * C, C, true);
    return mc_add2(c, urc_fmt("%s.add_mlp", path), x, h);
}

/* PatchMerging / PatchMergingV2 of a channels-last x (even sizes: the
 * input is divisible by 32): the 2^sd strided sub-grids concatenated on the
 * channels (in MONAI's order), LayerNorm, Linear without bias to 2C. */
static const char *patch_merging(const swin *s, const char *path, const char *x, int64_t C) {
    static const int64_t v1[8][3] = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1},
                                     {1, 0, 1}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}},
                         v2[8][3] = {{0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 1, 1},
                                     {1, 0, 0}, {1, 0, 1}, {1, 1, 0}, {1, 1, 1}},
                         two[4][3] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}}; /* x[:, j::2, i::2] for (i, j) */
    int np = 1 << s->sd;
    const char *parts[8];
    int64_t axes[3], ends[3] = {INT64_MAX, INT64_MAX, INT64_MAX}, steps[3] = {2, 2, 2};
    for (int d = 0; d < s->sd; d++) axes[d] = 1 + d;
    for (int p = 0; p < np; p++) {
        const int64_t *o = s->sd == 2 ? two[p] : s->v2_merging ? v2[p] : v1[p];
        parts[p] = slice(s->c, urc_fmt("%s.x%d", path, p), x, s->sd, axes, o, ends, steps);
    }
    x = concat(s->c, urc_fmt("%s.cat", path), np, parts, 1 + s->sd);
    x = mc_layer_norm(s->c, urc_fmt("%s.norm", path), x, np * C);
    return mc_linear(s->c, urc_fmt("%s.reduction", path), x, np * C, 2 * C, false);
}

static const char *to_last(const swin *s, const char *name, const char *x) {
    int64_t perm[5] = {0};
    for (int d = 0; d < s->sd; d++) perm[1 + d] = 2 + d;
    perm[1 + s->sd] = 1;
    return mc_transpose(s->c, name, x, 2 + s->sd, perm);
}
static const char *to_first(const swin *s, const char *name, const char *x) {
    int64_t perm[5] = {0, 1 + s->sd};
    for (int d = 0; d < s->sd; d++) perm[2 + d] = 1 + d;
    return mc_transpose(s->c, name, x, 2 + s->sd, perm);
}

/* BasicLayer: depth blocks (odd ones shifted), then the patch merging. */
static feat basic_layer(const swin *s, const char *path, feat x, int64_t depth, int64_t heads) {
    const char *h = to_last(s, urc_fmt("%s.to_last", path), x.v);
    for (int64_t i = 0; i < depth; i++)
        h = swin_block(s, urc_fmt("%s.blocks.%lld", path, (long long)i), h, x.sp, x.c, heads, i % 2 == 1);
    h = patch_merging(s, urc_fmt("%s.downsample", path), h, x.c);
    feat y = {to_first(s, urc_fmt("%s.to_first", path), h), 2 * x.c, {0}};
    for (int d = 0; d < s->sd; d++) y.sp[d] = x.sp[d] / 2;
    return y;
}

/* proj_out: a LayerNorm without weights over the channels (normalize). */
static feat proj_out(const swin *s, const char *name, feat x, bool normalize) {
    if (!normalize) return x;
    cfg *c = s->c;
    const char *in[3] = {to_last(s, urc_fmt("%s.to_last", name), x.v), mc_const_fill(c, name, x.c, 1),
                         mc_const_fill(c, name, x.c, 0)};
    attrs a = {0};
    mc_a_int(&a, "axis", -1);
    mc_a_float(&a, "epsilon", 1e-5);
    x.v = to_first(s, name, mc_node(c, "LayerNormalization", urc_fmt("%s.layer_norm", name), 3, in, &a));
    return x;
}

/* A probability argument checked with MONAI's message. */
static void rate(reader *r, const cJSON *args, const char *arg, const char *msg) {
    double v = 0;
    if (mc_get_float(r, cJSON_GetObjectItemCaseSensitive(args, arg), arg, -1e300, 1e300, &v) && !(v >= 0 && v <= 1))
        mc_bad(r, arg, msg);
}

const char *mc_swin_unetr(cfg *c, reader *r, const cJSON *args, feat x) {
    int sd = c->sd;
    int64_t outc = 0, fs = 24, depths[4] = {2, 2, 2, 2}, heads[4] = {3, 6, 12, 24};
    bool normalize = true, checkpoint = false, v2 = false;
    unetr_opts o = {{NORM_INSTANCE, false, 1e-5, 0}, true, true};
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "out_channels"), "out_channels", 1, INT32_MAX, &outc);
    mc_get_ints(r, cJSON_GetObjectItemCaseSensitive(args, "depths"), "depths", 4, 0, depths);
    mc_get_ints(r, cJSON_GetObjectItemCaseSensitive(args, "num_heads"), "num_heads", 4, 1, heads);
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "feature_size"), "feature_size", 1, INT32_MAX, &fs);
    mc_get_norm(r, cJSON_GetObjectItemCaseSensitive(args, "norm_name"), "norm_name", &o.norm);
    mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(args, "normalize"), "normalize", &normalize);
    mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(args, "use_checkpoint"), "use_checkpoint", &checkpoint);
    mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(args, "use_v2"), "use_v2", &v2);
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(args, "downsample");
    bool merging_v2 = false;
    if (ds && cJSON_IsString(ds) && !strcmp(ds->valuestring, "mergingv2")) merging_v2 = true;
    else if (ds && !(cJSON_IsString(ds) && !strcmp(ds->valuestring, "merging")))
        mc_bad(r, "downsample",
               cJSON_IsString(ds) ? urc_fmt("Unsupported option '%s', available options are ['merging', 'mergingv2'].",
                                            urc_diag_one_line(ds->valuestring))
                                  : urc_fmt("%s is not supported ('merging' and 'mergingv2' are)", mc_json_kind(ds)));
    /* MONAI's checks, in its order (img_size's is the config frontend's). */
    rate(r, args, "drop_rate", "dropout rate should be between 0 and 1.");
    rate(r, args, "attn_drop_rate", "attention dropout rate should be between 0 and 1.");
    rate(r, args, "dropout_path_rate", "drop path rate should be between 0 and 1.");
    if (fs % 12) mc_bad(r, "feature_size", "feature_size should be divisible by 12.");
    for (int i = 0; i < 4 && r->ok; i++)
        if ((fs << i) % heads[i])
            mc_bad(r, "num_heads",
                   urc_fmt("stage %d has %lld channels, not divisible by its %lld heads", i + 1, (long long)(fs << i),
                           (long long)heads[i]));
    /* The input actually compiled (--input-shape may differ from img_size). */
    if (r->ok) mc_swin_check_size(r, "input", x.sp, sd);
    if (!r->ok) return NULL;
    swin s = {c, sd, urc_graph_find(c->b->g, "input")->shape.dims[0], merging_v2};
    const norm_spec inst = {NORM_INSTANCE, false, 1e-5, 0}; /* the v2 blocks' */
    feat h = mc_conv(c, "swinViT.patch_embed.proj", x, fs, 2, 2, 0, true);
    feat hs[5];
    hs[0] = proj_out(&s, "swinViT.proj_out.0", h, normalize);
    for (int i = 0; i < 4; i++) {
        if (v2) h = mc_unet_block(c, urc_fmt("swinViT.layers%dc.0.layer", i + 1), h, h.c, &inst, true);
        h = basic_layer(&s, urc_fmt("swinViT.layers%d.0", i + 1), h, depths[i], heads[i]);
        hs[i + 1] = proj_out(&s, urc_fmt("swinViT.proj_out.%d", i + 1), h, normalize);
    }
    feat enc0 = mc_unet_block(c, "encoder1.layer", x, fs, &o.norm, true);
    feat enc1 = mc_unet_block(c, "encoder2.layer", hs[0], fs, &o.norm, true);
    feat enc2 = mc_unet_block(c, "encoder3.layer", hs[1], 2 * fs, &o.norm, true);
    feat enc3 = mc_unet_block(c, "encoder4.layer", hs[2], 4 * fs, &o.norm, true);
    feat dec4 = mc_unet_block(c, "encoder10.layer", hs[4], 16 * fs, &o.norm, true);
    feat dec3 = mc_unetr_up(c, "decoder5", dec4, hs[3], 8 * fs, &o);
    feat dec2 = mc_unetr_up(c, "decoder4", dec3, enc3, 4 * fs, &o);
    feat dec1 = mc_unetr_up(c, "decoder3", dec2, enc2, 2 * fs, &o);
    feat dec0 = mc_unetr_up(c, "decoder2", dec1, enc1, fs, &o);
    feat out = mc_unetr_up(c, "decoder1", dec0, enc0, fs, &o);
    c->out_node = "out.conv.conv"; /* UnetOutBlock */
    return mc_conv(c, "out.conv.conv", out, outc, 1, 1, 0, true).v;
}
