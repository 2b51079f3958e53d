/* monai_unetr_pp.c: our UNETR++ module (models/unetr_pp.py, class UNETR_PP)
 * from its constructor arguments (monai_build.h). 3D only; with do_ds the
 * deep-supervision outputs are "output_ds2" and "output_ds3", after
 * "output", as models/export_unetr_pp.py names them.
 *
 * EPA is built as the ONNX export computes it: the packed qkvv projection,
 * Reshape [b, N, 4, h, d], Transpose [2,0,3,1,4], Gather 0..3, Transpose to
 * [b, h, d, N]; E as MatMul + bias on the token axis; F.normalize as
 * ReduceL2, Clip(1e-12), Div; each attention MatMul, Mul(temperature),
 * Softmax, MatMul. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "monai_build.h"

const char *const mc_unetr_pp_args[] = {
    "in_channels",   "out_channels", "img_size",  "feature_size", "num_heads", "depths", "proj_size",
    "dec_proj_size", "dec_depth",    "attn_drop", "norm_name",    "do_ds",     NULL};

static const int PATCH[3] = {2, 4, 4};

/* UNETR_PP.__init__: img_size divisible by the patch times 8 per dim. */
bool mc_unetr_pp_check_size(reader *r, const char *arg, const int64_t *sp, int sd) {
    if (sd != 3) return mc_bad(r, "spatial_dims", "UNETR_PP is 3D only");
    bool bad = false;
    for (int d = 0; d < 3; d++) bad |= sp[d] % (8 * PATCH[d]) != 0;
    if (!bad) return true;
    return mc_bad(r, arg,
                  urc_fmt("img_size (%lld, %lld, %lld) must be divisible by (16, 32, 32)", (long long)sp[0],
                          (long long)sp[1], (long long)sp[2]));
}

typedef struct pp {
    cfg *c;
    int64_t batch, heads;
} pp;

static const char *gather0(cfg *c, const char *name, const char *x, int64_t i) {
    attrs a = {0};
    mc_a_int(&a, "axis", 0);
    const char *in[2] = {x, mc_constant(c, name, URC_DT_I64, 0, NULL, &i)};
    return mc_node(c, "Gather", name, 2, in, &a);
}

static const char *matmul(cfg *c, const char *name, const char *a, const char *b) {
    const char *in[2] = {a, b};
    return mc_node(c, "MatMul", name, 2, in, NULL);
}

/* F.normalize(x, dim=-1): x / max(||x||_2, 1e-12). */
static const char *l2_normalize(cfg *c, const char *name, const char *x) {
    attrs a = {0};
    int64_t ax = -1;
    mc_a_ints(&a, "axes", 1, &ax);
    mc_a_int(&a, "keepdims", 1);
    const char *n = mc_node(c, "ReduceL2", urc_fmt("%s.norm", name), 1, &x, &a);
    float eps = 1e-12f;
    const char *cl[2] = {n, mc_constant(c, name, URC_DT_F32, 0, NULL, &eps)};
    n = mc_node(c, "Clip", urc_fmt("%s.clip", name), 2, cl, NULL);
    const char *dv[2] = {x, n};
    return mc_node(c, "Div", name, 2, dv, NULL);
}

/* softmax(a @ b * temperature) over the last axis. */
static const char *attention_probs(cfg *c, const char *name, const char *a, const char *b, const char *temp) {
    const char *s = matmul(c, urc_fmt("%s.matmul", name), a, b);
    const char *m[2] = {s, temp};
    s = mc_node(c, "Mul", urc_fmt("%s.temperature", name), 2, m, NULL);
    attrs sm = {0};
    mc_a_int(&sm, "axis", -1);
    return mc_node(c, "Softmax", urc_fmt("%s.softmax", name), 1, &s, &sm);
}

/* EPA on t [b, N, C]. */
static const char *epa(const pp *o, const char *path, const char *t, int64_t N, int64_t C, int64_t P) {
    cfg *c = o->c;
    int64_t h = o->heads, d = C / h, b = o->batch;
    const char *x = mc_linear(c, urc_fmt("%s.qkvv", path), t, C, 4 * C, false);
    int64_t split[5] = {b, N, 4, h, d}, perm[5] = {2, 0, 3, 1, 4}, last[4] = {0, 1, 3, 2};
    x = mc_transpose(c, urc_fmt("%s.qkvv.permute", path), mc_reshape(c, urc_fmt("%s.qkvv.reshape", path), x, 5, split),
                     5, perm);
    const char *part[4];
    static const char *const names[4] = {"q", "k", "v_ca", "v_sa"};
    for (int i = 0; i < 4; i++)
        part[i] = mc_transpose(c, urc_fmt("%s.%s", path, names[i]),
                               gather0(c, urc_fmt("%s.%s.gather", path, names[i]), x, i), 4, last); /* [b,h,d,N] */
    /* E (= F, shared): Linear(N, P) on the token axis */
    int64_t ew[2] = {P, N}, tp[2] = {1, 0};
    const char *ewt =
        mc_transpose(c, urc_fmt("%s.E.weight.T", path), mc_param(c, urc_fmt("%s.E.weight", path), 2, ew), 2, tp);
    const char *eb = mc_param1(c, urc_fmt("%s.E.bias", path), P);
    const char *k_p =
        mc_add2(c, urc_fmt("%s.E.k.add_bias", path), matmul(c, urc_fmt("%s.E.k", path), part[1], ewt), eb);
    const char *v_p =
        mc_add2(c, urc_fmt("%s.E.v.add_bias", path), matmul(c, urc_fmt("%s.E.v", path), part[3], ewt), eb);
    const char *q = l2_normalize(c, urc_fmt("%s.q_normalize", path), part[0]);
    const char *k = l2_normalize(c, urc_fmt("%s.k_normalize", path), part[1]);
    int64_t td[3] = {h, 1, 1};
    const char *t1 = mc_param(c, urc_fmt("%s.temperature", path), 3, td);
    const char *t2 = mc_param(c, urc_fmt("%s.temperature2", path), 3, td);
    mc_init_hint(c, t1, MC_INIT_CONST, 1);
    mc_init_hint(c, t2, MC_INIT_CONST, 1);
    /* channel attention */
    const char *ca =
        attention_probs(c, urc_fmt("%s.ca", path), q, mc_transpose(c, urc_fmt("%s.k_t", path), k, 4, last), t1);
    int64_t p0312[4] = {0, 3, 1, 2}, bnc[3] = {b, N, C};
    const char *x_ca = matmul(c, urc_fmt("%s.ca.v", path), ca, part[2]); /* [b,h,d,N] */
    x_ca = mc_reshape(c, urc_fmt("%s.x_ca", path), mc_transpose(c, urc_fmt("%s.x_ca.permute", path), x_ca, 4, p0312), 3,
                      bnc);
    /* spatial attention */
    const char *sa = attention_probs(c, urc_fmt("%s.sa", path), mc_transpose(c, urc_fmt("%s.q_t", path), q, 4, last),
                                     k_p, t2); /* [b,h,N,P] */
    const char *x_sa = matmul(c, urc_fmt("%s.sa.v", path), sa,
                              mc_transpose(c, urc_fmt("%s.v_p_t", path), v_p, 4, last)); /* [b,h,N,d] */
    x_sa = mc_reshape(c, urc_fmt("%s.x_sa", path), mc_transpose(c, urc_fmt("%s.x_sa.permute", path), x_sa, 4, p0312), 3,
                      bnc);
    attrs a = {0};
    mc_a_int(&a, "axis", -1);
    const char *cat[2] = {mc_linear(c, urc_fmt("%s.out_sa", path), x_sa, C, C / 2, true),
                          mc_linear(c, urc_fmt("%s.out_ca", path), x_ca, C, C / 2, true)};
    return mc_node(c, "Concat", urc_fmt("%s.cat", path), 2, cat, &a);
}

/* TransformerBlock on a feature map x [b, C, s0, s1, s2]. */
static feat tblock(const pp *o, const char *path, feat x, int64_t P) {
    cfg *c = o->c;
    int64_t N = x.sp[0] * x.sp[1] * x.sp[2], C = x.c, b = o->batch;
    int64_t flat[3] = {b, C, N}, p021[3] = {0, 2, 1}, pos[3] = {1, N, C};
    const char *t =
        mc_transpose(c, urc_fmt("%s.tokens", path), mc_reshape(c, urc_fmt("%s.flatten", path), x.v, 3, flat), 3, p021);
    const char *pe = mc_param(c, urc_fmt("%s.pos_embed", path), 3, pos);
    mc_init_hint(c, pe, MC_INIT_CONST, 0); /* torch.zeros */
    t = mc_add2(c, urc_fmt("%s.add_pos", path), t, pe);
    const char *e = epa(o, urc_fmt("%s.epa", path), mc_layer_norm(c, urc_fmt("%s.norm", path), t, C), N, C, P);
    const char *g = mc_param1(c, urc_fmt("%s.gamma", path), C);
    mc_init_hint(c, g, MC_INIT_CONST, 1e-6);
    const char *m[2] = {g, e};
    t = mc_add2(c, urc_fmt("%s.add_epa", path), t, mc_node(c, "Mul", urc_fmt("%s.gamma_mul", path), 2, m, NULL));
    int64_t sp5[5] = {b, x.sp[0], x.sp[1], x.sp[2], C}, p5[5] = {0, 4, 1, 2, 3};
    feat s = x;
    s.v = mc_transpose(c, urc_fmt("%s.spatial", path), mc_reshape(c, urc_fmt("%s.unflatten", path), t, 5, sp5), 5, p5);
    const norm_spec bn = {NORM_BATCH, true, 1e-5, 0};
    feat r = mc_unet_block(c, urc_fmt("%s.conv51", path), s, C, &bn, true);
    r = mc_conv(c, urc_fmt("%s.conv8.1", path), r, C, 1, 1, 0, true);
    s.v = mc_add2(c, urc_fmt("%s.add", path), s.v, r.v);
    return s;
}

static feat tblocks(const pp *o, const char *path, feat x, int64_t n, int64_t P) {
    for (int64_t i = 0; i < n; i++) x = tblock(o, urc_fmt("%s.%lld", path, (long long)i), x, P);
    return x;
}

/* nn.GroupNorm(groups, C) (affine) on x. */
static feat group_norm(cfg *c, const char *path, feat x, int64_t groups) {
    const norm_spec gn = {NORM_GROUP, true, 1e-5, groups};
    return mc_norm(c, path, x, &gn);
}

static feat up_block(const pp *o, const char *path, feat x, feat skip, int64_t cout, const int *k, int64_t depth,
                     int64_t P) {
    feat u = mc_deconv_patch(o->c, urc_fmt("%s.up", path), x, cout, k, false);
    u.v = mc_add2(o->c, urc_fmt("%s.add_skip", path), u.v, skip.v);
    return tblocks(o, urc_fmt("%s.block", path), u, depth, P);
}

const char *mc_unetr_pp(cfg *c, reader *r, const cJSON *args, feat x) {
    int64_t outc = 0, fs = 16, heads = 4, depths[4] = {3, 3, 3, 3}, proj[4] = {64, 64, 64, 32}, dec_proj = 64,
            dec_depth = 3;
    double drop = 0.15;
    bool ds = true;
    unetr_opts o = {{NORM_INSTANCE, false, 1e-5, 0}, true, true};
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "out_channels"), "out_channels", 1, INT32_MAX, &outc);
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "feature_size"), "feature_size", 1, INT32_MAX, &fs);
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "num_heads"), "num_heads", 1, INT32_MAX, &heads);
    mc_get_ints(r, cJSON_GetObjectItemCaseSensitive(args, "depths"), "depths", 4, 0, depths);
    mc_get_ints(r, cJSON_GetObjectItemCaseSensitive(args, "proj_size"), "proj_size", 4, 1, proj);
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "dec_proj_size"), "dec_proj_size", 1, INT32_MAX, &dec_proj);
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "dec_depth"), "dec_depth", 0, INT32_MAX, &dec_depth);
    mc_get_float(r, cJSON_GetObjectItemCaseSensitive(args, "attn_drop"), "attn_drop", 0, 1, &drop); /* eval: none */
    mc_get_norm(r, cJSON_GetObjectItemCaseSensitive(args, "norm_name"), "norm_name", &o.norm);
    mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(args, "do_ds"), "do_ds", &ds);
    int64_t dims[4] = {2 * fs, 4 * fs, 8 * fs, 16 * fs};
    for (int i = 0; i < 4 && r->ok; i++)
        if (dims[i] % heads)
            mc_bad(r, "num_heads",
                   urc_fmt("width %lld is not divisible by %lld heads", (long long)dims[i], (long long)heads));
    if (!r->ok) return NULL;
    pp s = {c, urc_graph_find(c->b->g, "input")->shape.dims[0], heads};
    static const int two[3] = {2, 2, 2};
    feat skips[4], h = x;
    for (int i = 0; i < 4; i++) {
        h = mc_conv_patch(c, urc_fmt("down.%d.0", i), h, dims[i], i ? two : PATCH, false);
        h = group_norm(c, urc_fmt("down.%d.1", i), h, i ? dims[i - 1] : x.c);
        h = tblocks(&s, urc_fmt("stages.%d", i), h, depths[i], proj[i]);
        skips[i] = h;
    }
    /* (the published token round trip of the last stage is the identity) */
    feat dec3 = up_block(&s, "decoder5", h, skips[2], dims[2], two, dec_depth, dec_proj);
    feat dec2 = up_block(&s, "decoder4", dec3, skips[1], dims[1], two, dec_depth, dec_proj);
    feat dec1 = up_block(&s, "decoder3", dec2, skips[0], dims[0], two, dec_depth, dec_proj);
    feat enc1 = mc_unet_block(c, "encoder1", x, fs, &o.norm, true);
    feat up = mc_deconv_patch(c, "decoder2.up", dec1, fs, PATCH, false);
    up.v = mc_add2(c, "decoder2.add_skip", up.v, enc1.v);
    feat out = mc_unet_block(c, "decoder2.block", up, fs, &o.norm, true);
    c->out_node = "out1";
    if (ds) {
        c->extra_node[0] = "out2";
        c->extra_out[0] = "output_ds2";
        c->extra_node[1] = "out3";
        c->extra_out[1] = "output_ds3";
        c->nextra = 2;
    }
    const char *y = mc_conv(c, "out1", out, outc, 1, 1, 0, true).v;
    if (ds) {
        mc_conv(c, "out2", dec1, outc, 1, 1, 0, true);
        mc_conv(c, "out3", dec2, outc, 1, 1, 0, true);
    }
    return y;
}
