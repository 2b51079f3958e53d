/* monai_unet.c: MONAI's UNet (monai/networks/nets/unet.py, 1.3) from its
 * constructor arguments (monai_build.h): residual units or plain
 * convolutions per level, kernel sizes per spatial dim, strides per level. */
#include <string.h>

#include "monai_build.h"

typedef struct unet_opts {
    conv_opts conv;
    int64_t k[3], up_k[3]; /* per spatial dim */
    int res_units;
} unet_opts;

static const int64_t unit_stride[3] = {1, 1, 1};

/* ResidualUnit: subunits Convolutions (the first with the stride; the last
 * conv-only when last_conv_only), plus the input through a residual conv
 * (kernel k with the stride unless every stride is 1, else 1x1 when only the
 * channels change). */
static feat residual_unit(cfg *c, const char *path, feat x, int64_t cout, const int64_t *stride, int subunits,
                          bool last_conv_only, const unet_opts *o) {
    feat y = x;
    const int64_t *s = stride;
    for (int su = 0; su < subunits; su++, s = unit_stride)
        y = mc_convolution(c, urc_fmt("%s.conv.unit%d", path, su), y, cout, o->k, s, false,
                           last_conv_only && su == subunits - 1, &o->conv);
    bool strided = false;
    for (int d = 0; d < c->sd; d++) strided |= stride[d] != 1;
    feat r = x;
    if (strided || x.c != cout) {
        int64_t k1[3] = {1, 1, 1}, p[3] = {0, 0, 0};
        for (int d = 0; d < c->sd && strided; d++) k1[d] = o->k[d], p[d] = (o->k[d] - 1) / 2;
        r = mc_conv_nd(c, urc_fmt("%s.residual", path), x, cout, k1, stride, p, o->conv.bias);
    }
    y.v = mc_add2(c, urc_fmt("%s.add", path), y.v, r.v);
    return y;
}

static feat unet_down(cfg *c, const char *path, feat x, int64_t cout, const int64_t *stride, const unet_opts *o) {
    if (o->res_units > 0) return residual_unit(c, path, x, cout, stride, o->res_units, false, o);
    return mc_convolution(c, path, x, cout, o->k, stride, false, false, &o->conv);
}

static feat unet_up(cfg *c, const char *path, feat x, int64_t cout, const int64_t *stride, bool top,
                    const unet_opts *o) {
    if (o->res_units <= 0) return mc_convolution(c, path, x, cout, o->up_k, stride, true, top, &o->conv);
    x = mc_convolution(c, urc_fmt("%s.0", path), x, cout, o->up_k, stride, true, false, &o->conv);
    return residual_unit(c, urc_fmt("%s.1", path), x, cout, unit_stride, 1, top, o);
}

/* One level: Sequential(down, SkipConnection(sub), up); st[i] are the
 * strides of level i per spatial dim. */
static feat unet_level(cfg *c, const char *path, feat x, int64_t cout, const int64_t *ch, const int64_t (*st)[3], int n,
                       bool top, const unet_opts *o) {
    feat down = unet_down(c, urc_fmt("%s.0", path), x, ch[0], st[0], o);
    const char *sub_path = urc_fmt("%s.1.submodule", path);
    feat sub = n > 2 ? unet_level(c, sub_path, down, ch[0], ch + 1, st + 1, n - 1, false, o)
                     : unet_down(c, sub_path, down, ch[1], unit_stride, o); /* the bottom layer */
    attrs a = {0};
    mc_a_int(&a, "axis", 1);
    const char *in[2] = {down.v, sub.v}; /* SkipConnection: cat([x, submodule(x)]) */
    feat cat = {mc_node(c, "Concat", urc_fmt("%s.1.cat", path), 2, in, &a), sub.c + down.c, {0}};
    memcpy(cat.sp, down.sp, sizeof cat.sp);
    return unet_up(c, urc_fmt("%s.2", path), cat, cout, st[0], top, o);
}

const char *const mc_unet_args[] = {"spatial_dims", "in_channels",    "out_channels",  "channels", "strides",
                                    "kernel_size",  "up_kernel_size", "num_res_units", "act",      "norm",
                                    "dropout",      "bias",           "adn_ordering",  NULL};

/* kernel_size / up_kernel_size: an int or a sequence of spatial_dims ints
 * (MONAI checks the length; same_padding, when a layer is made, that each is odd). */
static bool unet_kernel(reader *r, const cJSON *j, const char *arg, int sd, int64_t *k) {
    if (cJSON_IsArray(j) && cJSON_GetArraySize(j) != sd)
        return mc_bad(r, arg, urc_fmt("the length of `%s` should equal to `dimensions`.", arg));
    return mc_get_ints(r, j, arg, sd, 1, k);
}

/* same_padding's check: NotImplementedError unless every (k - 1) is even. */
static bool unet_same_padding(reader *r, const char *arg, int sd, const int64_t *k, const cJSON *j) {
    bool odd = true;
    for (int d = 0; d < sd; d++) odd &= k[d] % 2 == 1;
    if (odd) return true;
    urc_strbuf sb = {0};
    for (int d = 0; d < (cJSON_IsArray(j) ? sd : 1); d++) urc_sb_printf(&sb, "%s%lld", d ? " " : "", (long long)k[d]);
    const char *ks = urc_fmt("%s", sb.data);
    urc_sb_free(&sb);
    return mc_bad(r, arg, urc_fmt("Same padding not available for kernel_size=[%s] and dilation=[1].", ks));
}

/* strides: one per level, each an int or a sequence of spatial_dims ints
 * (PyTorch's message when a sequence has another length). */
static bool unet_strides(reader *r, const cJSON *sj, int levels, int sd, int64_t (*st)[3]) {
    int i = 0;
    for (const cJSON *s = sj->child; s && i < levels; s = s->next, i++) {
        const char *arg = urc_fmt("strides[%d]", i);
        if (cJSON_IsArray(s) && cJSON_GetArraySize(s) != sd) {
            urc_strbuf sb = {0};
            int m = 0;
            for (const cJSON *v = s->child; v; v = v->next, m++)
                urc_sb_printf(&sb, "%s%s", m ? ", " : "",
                              cJSON_IsNumber(v) ? urc_fmt("%lld", (long long)v->valuedouble) : mc_json_kind(v));
            const char *got = urc_fmt("%s", sb.data ? sb.data : "");
            urc_sb_free(&sb);
            return mc_bad(r, arg,
                          urc_fmt("expected stride to be a single integer value or a list of %d values to match the "
                                  "convolution dimensions, but got stride=[%s]",
                                  sd, got));
        }
        if (!mc_get_ints(r, s, arg, sd, 1, st[i])) return false;
    }
    return true;
}

const char *mc_unet(cfg *c, reader *r, const cJSON *args, feat x) {
    int64_t outc = 0, res = 0, ch[16], st[16][3];
    double dropout = 0;
    unet_opts o = {{{ACT_PRELU, 0.25}, {NORM_INSTANCE, false, 1e-5, 0}, true, "NDA"}, {3, 3, 3}, {3, 3, 3}, 0};
    const cJSON *kj = cJSON_GetObjectItemCaseSensitive(args, "kernel_size"),
                *ukj = cJSON_GetObjectItemCaseSensitive(args, "up_kernel_size");
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "out_channels"), "out_channels", 1, INT32_MAX, &outc);
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "num_res_units"), "num_res_units", 0, 16, &res);
    mc_get_act(r, cJSON_GetObjectItemCaseSensitive(args, "act"), "act", &o.conv.act);
    mc_get_norm(r, cJSON_GetObjectItemCaseSensitive(args, "norm"), "norm", &o.conv.norm);
    mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(args, "bias"), "bias", &o.conv.bias);
    mc_get_float(r, cJSON_GetObjectItemCaseSensitive(args, "dropout"), "dropout", 0, 1,
                 &dropout); /* identity in eval */
    const cJSON *adn = cJSON_GetObjectItemCaseSensitive(args, "adn_ordering");
    if (adn) {
        bool ok = cJSON_IsString(adn) && strlen(adn->valuestring) <= 3;
        for (const char *p = ok ? adn->valuestring : ""; *p; p++) ok &= strchr("NDA", *p) && !strchr(p + 1, *p);
        if (ok) o.conv.adn = urc_strdup(adn->valuestring);
        else mc_bad(r, "adn_ordering", "must be a string of N, D and A, each at most once");
    }
    /* MONAI's order: channels, strides, kernel_size, up_kernel_size; extra
     * strides are unused (MONAI warns). */
    const cJSON *cj = cJSON_GetObjectItemCaseSensitive(args, "channels"),
                *sj = cJSON_GetObjectItemCaseSensitive(args, "strides");
    int n = cJSON_IsArray(cj) ? cJSON_GetArraySize(cj) : 0;
    if (cJSON_IsArray(cj) && n < 2) mc_bad(r, "channels", "the length of `channels` should be no less than 2.");
    else if (n < 2 || n > 16) mc_bad(r, "channels", "must be a list of 2 to 16 channel counts");
    else if (!cJSON_IsArray(sj) || cJSON_GetArraySize(sj) < n - 1)
        mc_bad(r, "strides", "the length of `strides` should equal to `len(channels) - 1`.");
    else if (mc_get_ints(r, cj, "channels", n, 1, ch)) unet_strides(r, sj, n - 1, c->sd, st);
    bool kernels = unet_kernel(r, kj, "kernel_size", c->sd, o.k);
    kernels &= unet_kernel(r, ukj, "up_kernel_size", c->sd, o.up_k);
    if (kernels &&
        r->ok && /* the first layer made (the bottom's down) checks kernel_size, the first up layer up_kernel_size */
        unet_same_padding(r, "kernel_size", c->sd, o.k, kj))
        unet_same_padding(r, "up_kernel_size", c->sd, o.up_k, ukj);
    if (!r->ok) return NULL;
    o.res_units = (int)res;
    c->out_node = o.res_units > 0 ? "model.2.1.add" : "model.2.conv";
    return unet_level(c, "model", x, outc, ch, (const int64_t(*)[3])st, n, true, &o).v;
}
