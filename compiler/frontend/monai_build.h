/* monai_build.h: what the MONAI config frontend's networks share
 * (monai_config.c defines it; monai_swin.c is a second network file): the
 * build state, argument readers with MONAI's messages, and builders of the
 * layers several networks use. Nodes are named by module path, parameters
 * by state_dict key. */
#ifndef URC_MONAI_BUILD_H
#define URC_MONAI_BUILD_H

#include <cjson/cJSON.h>

#include "graph_builder.h"
#include "safetensors.h"

/* A feature map: its value's name, channels and spatial size (tracked here
 * because MONAI's forward() branches on sizes, e.g. UpCat's padding). */
typedef struct feat {
    const char *v;
    int64_t c;
    int64_t sp[3];
} feat;

typedef struct cfg {
    urc_gb *b;
    urc_safetensors *st; /* NULL: no weights (reported once) */
    const char *wlabel;  /* the weights file, for messages */
    int sd;              /* spatial dims */
    urc_strbuf missing, shapes;
    int nmissing, nshapes;
    int nconst;           /* constants made up here (norm scales without affine) */
    const char *out_node; /* the network's last node: its value is "output" */
    /* Further outputs (deep supervision): node extra_node[i]'s value is
     * called extra_out[i] and is a graph output after "output". */
    const char *extra_node[2], *extra_out[2];
    int nextra;
    uint64_t seed; /* --init: parameters made up (mc_init_fill), each key recorded in inits */
    struct mc_init *inits;
    int ninits, capinits;
} cfg;

/* How --init fills a parameter: MC_INIT_DEFAULT is PyTorch's default for
 * the key and shape (mc_init_fill); the layers hint the others. */
enum { MC_INIT_DEFAULT, MC_INIT_CONST, MC_INIT_TRUNC_NORMAL };
typedef struct mc_init {
    const char *key;
    int rule;
    double a; /* MC_INIT_CONST: the value; MC_INIT_TRUNC_NORMAL: std (mean 0, cut at +-2) */
} mc_init;

/* Attributes of one node. */
typedef struct attrs {
    urc_attr items[6];
    int n;
} attrs;

enum { ACT_NONE, ACT_RELU, ACT_LEAKY, ACT_PRELU, ACT_ELU, ACT_SIGMOID, ACT_TANH, ACT_GELU };
typedef struct act_spec {
    int kind;
    double alpha; /* LeakyReLU's negative_slope, ELU's alpha, PReLU's init */
} act_spec;

enum { NORM_NONE, NORM_INSTANCE, NORM_BATCH, NORM_GROUP };
typedef struct norm_spec {
    int kind;
    bool affine;
    double eps;
    int64_t groups; /* NORM_GROUP: num_groups */
} norm_spec;

typedef struct reader {
    const char *net; /* "BasicUNet" */
    bool ok;
} reader;

/* What MONAI's Convolution blocks of a network share. */
typedef struct conv_opts {
    act_spec act;
    norm_spec norm;
    bool bias;
    const char *adn; /* adn_ordering: "NDA" */
} conv_opts;

typedef struct unetr_opts {
    norm_spec norm;
    bool conv_block, res_block;
} unetr_opts;

/* ---- nodes and state_dict entries (monai_config.c) ---- */

void mc_a_int(attrs *a, const char *name, int64_t v);
void mc_a_float(attrs *a, const char *name, double v);
void mc_a_str(attrs *a, const char *name, const char *v);
void mc_a_ints(attrs *a, const char *name, int n, const int64_t *v);
void mc_a_rep(attrs *a, const char *name, int n, int64_t v); /* n copies of v */
/* A node named name whose output value is also called name, except for the
 * network's last node (c->out_node), whose value is the graph's "output". */
const char *mc_node(cfg *c, const char *type, const char *name, int nin, const char *const *in, attrs *a);
/* Appends item to a comma-separated list of at most 20 (then "..."). */
void mc_list_add(urc_strbuf *sb, int *n, const char *item);
/* The state_dict entry key of that shape as an initializer (buffer: never
 * trained); missing and wrong-shaped entries are collected for one error. */
const char *mc_state(cfg *c, const char *key, int rank, const int64_t *dims, bool buffer);
const char *mc_param(cfg *c, const char *key, int rank, const int64_t *dims);
const char *mc_param1(cfg *c, const char *key, int64_t d0);
/* --init: key (a parameter made here) is filled by rule instead of the default. */
void mc_init_hint(cfg *c, const char *key, int rule, double a);
/* --init: every recorded parameter filled (after the build). */
void mc_init_fill(cfg *c);
/* Made-up constants (not state_dict entries), named base.constN. */
const char *mc_constant(cfg *c, const char *base, urc_dtype dt, int rank, const int64_t *dims, const void *data);
const char *mc_const_fill(cfg *c, const char *base, int64_t n, float v);
const char *mc_const_ints(cfg *c, const char *base, int64_t n, const int64_t *v);

/* ---- reading arguments: each reports "NET argument 'arg': ..." and clears r->ok ---- */

bool mc_bad(reader *r, const char *arg, const char *what);
const char *mc_json_kind(const cJSON *j);
/* Each leaves *out alone when j is NULL (the argument is not given). */
bool mc_get_int(reader *r, const cJSON *j, const char *arg, int64_t lo, int64_t hi, int64_t *out);
bool mc_get_float(reader *r, const cJSON *j, const char *arg, double lo, double hi, double *out);
bool mc_get_bool(reader *r, const cJSON *j, const char *arg, bool *out);
/* An int, or a list of n ints (MONAI's ensure_tuple_rep). */
bool mc_get_ints(reader *r, const cJSON *j, const char *arg, int n, int64_t lo, int64_t *out);
bool mc_get_act(reader *r, const cJSON *j, const char *arg, act_spec *a);
bool mc_get_norm(reader *r, const cJSON *j, const char *arg, norm_spec *n);

/* ---- layers ---- */

feat mc_conv(cfg *c, const char *path, feat x, int64_t cout, int k, int s, int p, bool bias);
/* The same with kernel, stride and padding per spatial dim. */
feat mc_conv_nd(cfg *c, const char *path, feat x, int64_t cout, const int64_t *k, const int64_t *s, const int64_t *p,
                bool bias);
/* Conv without padding of kernel = stride = k[d] per spatial dim (patch convs). */
feat mc_conv_patch(cfg *c, const char *path, feat x, int64_t cout, const int *k, bool bias);
/* qkv [B, n, 3 * heads * dh] -> q, k, v [B, heads, n, dh] (out[0..2], nodes
 * PATH.q/k/v): the reshape and permute named REARRANGE(.reshape). */
void mc_split_qkv(cfg *c, const char *path, const char *rearrange, const char *qkv, int64_t B, int64_t n, int64_t heads,
                  int64_t dh, const char **out);
/* ConvTranspose of kernel = stride = k[d] per spatial dim, no padding. */
feat mc_deconv_patch(cfg *c, const char *path, feat x, int64_t cout, const int *k, bool bias);
feat mc_deconv_k(cfg *c, const char *path, feat x, int64_t cout, int k, int s, int p, int op, bool bias);
/* The same with kernel, stride, padding and output padding per spatial dim. */
feat mc_deconv_nd(cfg *c, const char *path, feat x, int64_t cout, const int64_t *k, const int64_t *s, const int64_t *p,
                  const int64_t *op, bool bias);
feat mc_deconv(cfg *c, const char *path, feat x, int64_t cout, int s, bool bias); /* kernel = stride = s */
feat mc_norm(cfg *c, const char *path, feat x, const norm_spec *n);
feat mc_act(cfg *c, const char *path, feat x, const act_spec *s);
const char *mc_add2(cfg *c, const char *name, const char *a, const char *b);
const char *mc_reshape(cfg *c, const char *name, const char *x, int n, const int64_t *dims);
const char *mc_transpose(cfg *c, const char *name, const char *x, int n, const int64_t *perm);
/* nn.Linear on the last axis: x @ W^T (+ b). */
const char *mc_linear(cfg *c, const char *path, const char *x, int64_t in, int64_t out, bool bias);
/* nn.LayerNorm(dim) on the last axis, eps 1e-5, affine. */
const char *mc_layer_norm(cfg *c, const char *path, const char *x, int64_t dim);
/* UnetResBlock (res) or UnetBasicBlock (kernel 3, stride 1). */
feat mc_unet_block(cfg *c, const char *path, feat x, int64_t cout, const norm_spec *ns, bool res);
/* UnetrUpBlock: transposed conv (k = s = 2), cat((up, skip)), block. */
feat mc_unetr_up(cfg *c, const char *path, feat x, feat skip, int64_t cout, const unetr_opts *o);

/* ---- networks outside monai_config.c ---- */

/* MONAI's Convolution: conv of kernel k[d] and stride s[d] (padding
 * (k-1)/2; transposed: output padding s-1), then unless conv_only its ADN in
 * adn_ordering (dropout is the identity in eval). */
feat mc_convolution(cfg *c, const char *path, feat x, int64_t cout, const int64_t *k, const int64_t *s, bool transposed,
                    bool conv_only, const conv_opts *o);

/* UNet (monai_unet.c): constructor arguments (NULL-ended) and the builder. */
extern const char *const mc_unet_args[];
const char *mc_unet(cfg *c, reader *r, const cJSON *args, feat x);

/* SwinUNETR (monai_swin.c) and our UNETR++ (monai_unetr_pp.c,
 * models/unetr_pp.py): constructor arguments (NULL-ended), the img_size
 * check and the builder. */
extern const char *const mc_swin_args[];
extern const char *const mc_unetr_pp_args[];
bool mc_unetr_pp_check_size(reader *r, const char *arg, const int64_t *sp, int sd);
const char *mc_unetr_pp(cfg *c, reader *r, const cJSON *args, feat x);
bool mc_swin_check_size(reader *r, const char *arg, const int64_t *sp, int sd);
const char *mc_swin_unetr(cfg *c, reader *r, const cJSON *args, feat x);

#endif
