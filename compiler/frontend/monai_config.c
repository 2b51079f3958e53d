/* monai_config.c: MONAI networks from their constructor arguments
 * (monai_config.h).
 *
 * The config is JSON (cJSON): a `network_def` object, or the top-level
 * object, with `_target_` naming the network and literal constructor
 * arguments. Each supported network is rebuilt here module by module as
 * MONAI's forward() computes it in eval mode, through the graph builder:
 * nodes are named by their module path (`conv_0.conv_0.conv`), parameters
 * by their state_dict key and read from --weights (safetensors). Every key
 * is checked: missing, unexpected and wrong-shaped ones are reported in one
 * error. */
#define _GNU_SOURCE
#include "monai_config.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "../base/diag.h"
#include "monai_build.h"
#include "safetensors.h"

/* ---- building ----------------------------------------------------------------- */

static urc_attr *attr(attrs *a, const char *name, int type) {
    urc_attr *x = &a->items[a->n++];
    *x = (urc_attr){.name = name, .type = type};
    return x;
}
void mc_a_int(attrs *a, const char *name, int64_t v) { attr(a, name, URC_AT_INT)->i = v; }
void mc_a_float(attrs *a, const char *name, double v) { attr(a, name, URC_AT_FLOAT)->f = v; }
void mc_a_str(attrs *a, const char *name, const char *v) { attr(a, name, URC_AT_STRING)->s = v; }
void mc_a_ints(attrs *a, const char *name, int n, const int64_t *v) {
    urc_attr *x = attr(a, name, URC_AT_INTS);
    x->n = n;
    x->ints = urc_alloc(sizeof(int64_t) * (size_t)n);
    memcpy(x->ints, v, sizeof(int64_t) * (size_t)n);
}
void mc_a_rep(attrs *a, const char *name, int n, int64_t v) { /* n copies of v */
    urc_attr *x = attr(a, name, URC_AT_INTS);
    x->n = n;
    x->ints = urc_alloc(sizeof(int64_t) * (size_t)n);
    for (int i = 0; i < n; i++) x->ints[i] = v;
}

/* A node named name whose output value is also called name. */
/* A node named name whose output value is also called name, except for the
 * network's last node (c->out_node), whose value is the graph's "output". */
const char *mc_node(cfg *c, const char *type, const char *name, int nin, const char *const *in, attrs *a) {
    urc_attr_list l = {0};
    if (a) l = (urc_attr_list){.items = a->items, .len = a->n};
    const char *out[1] = {c->out_node && !strcmp(name, c->out_node) ? "output" : name};
    for (int i = 0; i < c->nextra; i++)
        if (!strcmp(name, c->extra_node[i])) out[0] = c->extra_out[i];
    urc_gb_add(c->b, type, name, nin, in, 1, out, &l);
    return out[0];
}

void mc_list_add(urc_strbuf *sb, int *n, const char *item) {
    if (*n < 20) urc_sb_printf(sb, "%s%s", *n ? ", " : "", item);
    else if (*n == 20) urc_sb_puts(sb, ", ...");
    (*n)++;
}

/* A parameter (or, buffer: a buffer such as BatchNorm's running statistics,
 * never trained): the state_dict entry `key` of the given shape, as a graph
 * initializer of that name. Missing and wrong-shaped entries are collected
 * for one error (the name is returned all the same, to keep building). */
const char *mc_state(cfg *c, const char *key, int rank, const int64_t *dims, bool buffer) {
    urc_shape s = {.rank = rank};
    memcpy(s.dims, dims, sizeof(int64_t) * (size_t)rank);
    urc_st_entry *e = c->st ? urc_st_find(c->st, key) : NULL;
    urc_tensor *t;
    if (!c->st) { /* --init (or no weights, reported once): filled by mc_init_fill */
        if (!c->seed) return key;
        t = urc_tensor_new(URC_DT_F32, &s);
        if (c->ninits == c->capinits) {
            c->capinits = c->capinits ? 2 * c->capinits : 64;
            c->inits = urc_xrealloc(c->inits, sizeof *c->inits * (size_t)c->capinits);
        }
        c->inits[c->ninits++] = (mc_init){key, MC_INIT_DEFAULT, 0};
        goto add;
    }
    if (!e) {
        mc_list_add(&c->missing, &c->nmissing, urc_fmt("'%s'", key));
        return key;
    }
    e->used = true;
    if (e->dtype == URC_DT_I64 || !urc_shape_eq(&e->shape, &s)) {
        mc_list_add(&c->shapes, &c->nshapes,
                    urc_fmt("'%s' is %s%s, the network needs float32%s", key, urc_dtype_name(e->dtype),
                            urc_shape_str(&e->shape), urc_shape_str(&s)));
        return key;
    }
    t = urc_st_tensor(c->st, e);
add:
    if (!buffer) {
        urc_gb_weight(c->b, key, t);
    } else {
        urc_value *v = urc_gb_constant(c->b, key, t);
        if (v) v->flags |= URC_VAL_PARAM; /* from the model file */
    }
    return key;
}
const char *mc_param(cfg *c, const char *key, int rank, const int64_t *dims) {
    return mc_state(c, key, rank, dims, false);
}
const char *mc_param1(cfg *c, const char *key, int64_t d0) { return mc_param(c, key, 1, &d0); }

/* ---- --init ------------------------------------------------------------------------- */

void mc_init_hint(cfg *c, const char *key, int rule, double a) {
    for (int i = c->ninits - 1; i >= 0; i--)
        if (!strcmp(c->inits[i].key, key)) {
            c->inits[i].rule = rule;
            c->inits[i].a = a;
            return;
        }
}

/* The PRNG of --init: SplitMix64, one stream per parameter, started at
 * SEED xor the FNV-1a 64 hash of its state_dict key (so a parameter's values
 * depend only on the seed, its key and its shape). Uniforms are the top 53
 * bits / 2^53; normals Box-Muller (the cosine branch). */
static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double uniform01(uint64_t *s) { return (double)(splitmix(s) >> 11) * 0x1p-53; }
static double normal01(uint64_t *s) {
    double u1 = 1.0 - uniform01(s), u2 = uniform01(s); /* u1 in (0, 1] */
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static urc_value *init_value(cfg *c, const char *key) { return urc_graph_find(c->b->g, key); }

/* PyTorch's fan_in of a weight (dims[1] x the kernel; ConvTranspose's
 * too: torch.nn.init reads dim 1 whatever the layer). */
static int64_t fan_in(const urc_shape *w) {
    int64_t f = w->dims[1];
    for (int d = 2; d < w->rank; d++) f *= w->dims[d];
    return f;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* PyTorch's (and MONAI's) initialisation in distribution, by rule:
 * default: a weight of rank >= 2 (Conv, ConvTranspose, Linear):
 * kaiming_uniform_(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in)); a bias: U(+-1/sqrt(
 * fan_in)) of the weight beside it (0 beside a rank-1 weight: a norm); a
 * rank-1 weight (norm scale) and running_var 1; anything else 0. */
void mc_init_fill(cfg *c) {
    for (int i = 0; i < c->ninits; i++) {
        const mc_init *r = &c->inits[i];
        urc_value *v = init_value(c, r->key);
        if (!v) continue;
        float *x = v->data ? v->data : v->init;
        if (!x) continue;
        int64_t n = urc_shape_numel(&v->shape);
        uint64_t st = c->seed ^ urc_fnv1a64(r->key, strlen(r->key), URC_FNV_INIT);
        double lo = 0, hi = 0; /* uniform bounds (lo == hi: the constant lo) */
        if (r->rule == MC_INIT_CONST) {
            lo = hi = r->a;
        } else if (r->rule == MC_INIT_TRUNC_NORMAL) {
            for (int64_t k = 0; k < n; k++) {
                double z;
                do z = r->a * normal01(&st);
                while (z < -2.0 || z > 2.0);
                x[k] = (float)z;
            }
            continue;
        } else if (v->shape.rank >= 2 && ends_with(r->key, ".weight")) {
            hi = 1.0 / sqrt((double)fan_in(&v->shape));
            lo = -hi;
        } else if (ends_with(r->key, ".bias")) {
            size_t len = strlen(r->key) - 5;
            urc_value *w = init_value(c, urc_fmt("%.*s.weight", (int)len, r->key));
            if (w && w->shape.rank >= 2) {
                hi = 1.0 / sqrt((double)fan_in(&w->shape));
                lo = -hi;
            }
        } else if (ends_with(r->key, ".weight") || ends_with(r->key, ".running_var")) {
            lo = hi = 1;
        }
        for (int64_t k = 0; k < n; k++) x[k] = lo == hi ? (float)lo : (float)(lo + (hi - lo) * uniform01(&st));
    }
}

/* A made-up constant (not a state_dict entry) of dtype dt and shape
 * dims[rank], holding data; named base.constN. */
const char *mc_constant(cfg *c, const char *base, urc_dtype dt, int rank, const int64_t *dims, const void *data) {
    urc_shape s = {.rank = rank};
    memcpy(s.dims, dims, sizeof(int64_t) * (size_t)rank);
    urc_tensor *t = urc_tensor_new(dt, &s);
    memcpy(t->data, data, urc_tensor_bytes(t));
    const char *name = urc_fmt("%s.const%d", base, c->nconst++);
    urc_gb_constant(c->b, name, t);
    return name;
}

/* n float32 copies of v. */
const char *mc_const_fill(cfg *c, const char *base, int64_t n, float v) {
    float *x = urc_alloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = v;
    return mc_constant(c, base, URC_DT_F32, 1, &n, x);
}

/* An int64 vector (shapes, pads). */
const char *mc_const_ints(cfg *c, const char *base, int64_t n, const int64_t *v) {
    return mc_constant(c, base, URC_DT_I64, 1, &n, v);
}

/* ---- MONAI layer factories (Act, Norm) ---------------------------------------- */

/* ---- reading arguments ----------------------------------------------------------- */

bool mc_bad(reader *r, const char *arg, const char *what) {
    urc_error(urc_fmt("%s argument '%s'", r->net, arg), "%s", what);
    r->ok = false;
    return false;
}

const char *mc_json_kind(const cJSON *j) {
    return cJSON_IsNumber(j)   ? "a number"
           : cJSON_IsString(j) ? urc_fmt("the string '%s'", urc_diag_one_line(j->valuestring))
           : cJSON_IsBool(j)   ? "a boolean"
           : cJSON_IsArray(j)  ? "a list"
           : cJSON_IsObject(j) ? "an object"
                               : "null";
}

bool mc_get_int(reader *r, const cJSON *j, const char *arg, int64_t lo, int64_t hi, int64_t *out) {
    if (!j) return true;
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < (double)lo ||
        j->valuedouble > (double)hi)
        return mc_bad(r, arg,
                      urc_fmt("must be an integer from %lld to %lld, got %s", (long long)lo, (long long)hi,
                              cJSON_IsNumber(j) ? urc_fmt("%g", j->valuedouble) : mc_json_kind(j)));
    *out = (int64_t)j->valuedouble;
    return true;
}

bool mc_get_float(reader *r, const cJSON *j, const char *arg, double lo, double hi, double *out) {
    if (!j) return true;
    if (!cJSON_IsNumber(j) || !(j->valuedouble >= lo && j->valuedouble <= hi))
        return mc_bad(r, arg,
                      urc_fmt("must be a number from %g to %g, got %s", lo, hi,
                              cJSON_IsNumber(j) ? urc_fmt("%g", j->valuedouble) : mc_json_kind(j)));
    *out = j->valuedouble;
    return true;
}

bool mc_get_bool(reader *r, const cJSON *j, const char *arg, bool *out) {
    if (!j) return true;
    if (!cJSON_IsBool(j)) return mc_bad(r, arg, urc_fmt("must be true or false, got %s", mc_json_kind(j)));
    *out = cJSON_IsTrue(j);
    return true;
}

/* An int, or a list of ints repeated/checked to n values (MONAI's
 * ensure_tuple_rep). */
bool mc_get_ints(reader *r, const cJSON *j, const char *arg, int n, int64_t lo, int64_t *out) {
    if (!j) return true;
    if (cJSON_IsNumber(j)) {
        int64_t v = 0;
        if (!mc_get_int(r, j, arg, lo, INT32_MAX, &v)) return false;
        for (int i = 0; i < n; i++) out[i] = v;
        return true;
    }
    if (!cJSON_IsArray(j))
        return mc_bad(r, arg, urc_fmt("must be an integer or a list of %d, got %s", n, mc_json_kind(j)));
    int len = cJSON_GetArraySize(j);
    if (len != n) return mc_bad(r, arg, urc_fmt("must have %d values, got %d", n, len));
    int i = 0;
    for (const cJSON *x = j->child; x; x = x->next, i++)
        if (!mc_get_int(r, x, urc_fmt("%s[%d]", arg, i), lo, INT32_MAX, &out[i])) return false;
    return true;
}

/* A MONAI layer factory argument: "name" or ["name", {kwargs}]. */
static bool factory(reader *r, const cJSON *j, const char *arg, const char **name, const cJSON **kw) {
    *kw = NULL;
    if (cJSON_IsString(j)) {
        *name = j->valuestring;
        return true;
    }
    int n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : 0;
    if ((n == 1 || n == 2) && cJSON_IsString(j->child) && (n == 1 || cJSON_IsObject(j->child->next))) {
        *name = j->child->valuestring;
        *kw = n == 2 ? j->child->next : NULL;
        return true;
    }
    return mc_bad(r, arg, urc_fmt("must be a name or [name, {arguments}], got %s", mc_json_kind(j)));
}

/* Keyword arguments of a factory: each must be one of `known` (NULL-ended). */
static bool kwargs_known(reader *r, const cJSON *kw, const char *arg, const char *const *known) {
    bool ok = true;
    for (const cJSON *x = kw ? kw->child : NULL; x; x = x->next) {
        bool found = false;
        for (int i = 0; known[i] && !found; i++) found = !strcmp(known[i], x->string);
        if (!found) ok = mc_bad(r, arg, urc_fmt("unknown keyword '%s'", urc_diag_one_line(x->string)));
    }
    return ok;
}

bool mc_get_act(reader *r, const cJSON *j, const char *arg, act_spec *a) {
    if (!j) return true;
    const char *name;
    const cJSON *kw;
    if (!factory(r, j, arg, &name, &kw)) return false;
    static const char *const inplace[] = {"inplace", NULL}, *const leaky[] = {"negative_slope", "inplace", NULL},
                             *const elu[] = {"alpha", "inplace", NULL}, *const none[] = {NULL},
                             *const prelu[] = {"num_parameters", "init", NULL}, *const gelu[] = {"approximate", NULL};
    bool dummy;
    if (!strcasecmp(name, "relu")) {
        *a = (act_spec){ACT_RELU, 0};
        return kwargs_known(r, kw, arg, inplace) &&
               mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(kw, "inplace"), arg, &dummy);
    }
    if (!strcasecmp(name, "leakyrelu")) {
        *a = (act_spec){ACT_LEAKY, 0.01};
        return kwargs_known(r, kw, arg, leaky) &&
               mc_get_float(r, cJSON_GetObjectItemCaseSensitive(kw, "negative_slope"), arg, -1e30, 1e30, &a->alpha) &&
               mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(kw, "inplace"), arg, &dummy);
    }
    if (!strcasecmp(name, "elu")) {
        *a = (act_spec){ACT_ELU, 1.0};
        return kwargs_known(r, kw, arg, elu) &&
               mc_get_float(r, cJSON_GetObjectItemCaseSensitive(kw, "alpha"), arg, -1e30, 1e30, &a->alpha) &&
               mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(kw, "inplace"), arg, &dummy);
    }
    if (!strcasecmp(name, "prelu")) {
        int64_t np = 1;
        *a = (act_spec){ACT_PRELU, 0.25};
        if (!kwargs_known(r, kw, arg, prelu) ||
            !mc_get_int(r, cJSON_GetObjectItemCaseSensitive(kw, "num_parameters"), arg, 1, 1, &np) ||
            !mc_get_float(r, cJSON_GetObjectItemCaseSensitive(kw, "init"), arg, -1e30, 1e30, &a->alpha))
            return false;
        return true;
    }
    if (!strcasecmp(name, "sigmoid") || !strcasecmp(name, "tanh")) {
        *a = (act_spec){!strcasecmp(name, "sigmoid") ? ACT_SIGMOID : ACT_TANH, 0};
        return kwargs_known(r, kw, arg, none);
    }
    if (!strcasecmp(name, "gelu")) {
        *a = (act_spec){ACT_GELU, 0};
        const cJSON *ap = cJSON_GetObjectItemCaseSensitive(kw, "approximate");
        if (!kwargs_known(r, kw, arg, gelu)) return false;
        if (ap && !(cJSON_IsString(ap) && !strcmp(ap->valuestring, "none")))
            return mc_bad(r, arg, "approximate must be 'none'");
        return true;
    }
    return mc_bad(r, arg,
                  urc_fmt("activation '%s' is not supported (relu, leakyrelu, prelu, elu, sigmoid, tanh, gelu are)",
                          urc_diag_one_line(name)));
}

bool mc_get_norm(reader *r, const cJSON *j, const char *arg, norm_spec *n) {
    if (!j) return true;
    const char *name;
    const cJSON *kw;
    if (!factory(r, j, arg, &name, &kw)) return false;
    static const char *const known[] = {"affine", "eps", "momentum", "track_running_stats", NULL}, *const group[] = {
                                                                                                       "num_groups",
                                                                                                       "eps", "affine",
                                                                                                       NULL};
    if (!strcasecmp(name, "group")) { /* nn.GroupNorm(num_groups, channels, eps=1e-5, affine=True) */
        *n = (norm_spec){NORM_GROUP, true, 1e-5, 0};
        const cJSON *ng = cJSON_GetObjectItemCaseSensitive(kw, "num_groups");
        if (!kwargs_known(r, kw, arg, group) ||
            !mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(kw, "affine"), arg, &n->affine) ||
            !mc_get_float(r, cJSON_GetObjectItemCaseSensitive(kw, "eps"), arg, 0, 1, &n->eps))
            return false;
        if (!ng) return mc_bad(r, arg, "group norm needs num_groups: [\"group\", {\"num_groups\": N}]");
        return mc_get_int(r, ng, urc_fmt("%s num_groups", arg), 1, INT32_MAX, &n->groups);
    }
    bool batch = !strcasecmp(name, "batch");
    if (!batch && strcasecmp(name, "instance"))
        return mc_bad(r, arg,
                      urc_fmt("norm '%s' is not supported (instance, batch and group are)", urc_diag_one_line(name)));
    /* PyTorch's defaults: InstanceNorm affine=False, track_running_stats=False;
     * BatchNorm affine=True, track_running_stats=True. */
    *n = (norm_spec){batch ? NORM_BATCH : NORM_INSTANCE, batch, 1e-5, 0};
    bool track = batch;
    double momentum = 0.1;
    if (!kwargs_known(r, kw, arg, known) ||
        !mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(kw, "affine"), arg, &n->affine) ||
        !mc_get_float(r, cJSON_GetObjectItemCaseSensitive(kw, "eps"), arg, 0, 1, &n->eps) ||
        !mc_get_float(r, cJSON_GetObjectItemCaseSensitive(kw, "momentum"), arg, 0, 1, &momentum) ||
        !mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(kw, "track_running_stats"), arg, &track))
        return false;
    if (track != batch)
        return mc_bad(r, arg,
                      urc_fmt("track_running_stats=%s is not supported for %s norm", track ? "true" : "false",
                              batch ? "batch" : "instance"));
    return true;
}

/* ---- layers ------------------------------------------------------------------------ */

/* Conv (bias optional) of kernel k[d], stride s[d], padding p[d] per spatial dim. */
feat mc_conv_nd(cfg *c, const char *path, feat x, int64_t cout, const int64_t *k, const int64_t *s, const int64_t *p,
                bool bias) {
    int64_t w[5] = {cout, x.c}, pads[6];
    for (int d = 0; d < c->sd; d++) w[2 + d] = k[d], pads[d] = pads[c->sd + d] = p[d];
    const char *in[3] = {x.v, mc_param(c, urc_fmt("%s.weight", path), 2 + c->sd, w),
                         bias ? mc_param1(c, urc_fmt("%s.bias", path), cout) : NULL};
    attrs a = {0};
    mc_a_ints(&a, "kernel_shape", c->sd, k);
    mc_a_ints(&a, "strides", c->sd, s);
    mc_a_ints(&a, "pads", 2 * c->sd, pads);
    feat y = {mc_node(c, "Conv", path, bias ? 3 : 2, in, &a), cout, {0}};
    for (int d = 0; d < c->sd; d++) y.sp[d] = (x.sp[d] + 2 * p[d] - k[d]) / s[d] + 1;
    return y;
}

/* Conv (bias optional) of kernel k, stride s, padding p. */
feat mc_conv(cfg *c, const char *path, feat x, int64_t cout, int k, int s, int p, bool bias) {
    const int64_t kk[3] = {k, k, k}, ss[3] = {s, s, s}, pp[3] = {p, p, p};
    return mc_conv_nd(c, path, x, cout, kk, ss, pp, bias);
}

void mc_split_qkv(cfg *c, const char *path, const char *rearrange, const char *qkv, int64_t B, int64_t n, int64_t heads,
                  int64_t dh, const char **out) {
    int64_t split[5] = {B, n, 3, heads, dh}, perm[5] = {2, 0, 3, 1, 4};
    qkv = mc_transpose(c, rearrange, mc_reshape(c, urc_fmt("%s.reshape", rearrange), qkv, 5, split), 5, perm);
    for (int i = 0; i < 3; i++) {
        int64_t idx = i;
        attrs a = {0};
        mc_a_int(&a, "axis", 0);
        const char *name = urc_fmt("%s.%c", path, "qkv"[i]);
        const char *in[2] = {qkv, mc_constant(c, name, URC_DT_I64, 0, NULL, &idx)};
        out[i] = mc_node(c, "Gather", name, 2, in, &a);
    }
}

/* A convolution (or transposed convolution) whose kernel equals its
 * stride: patches in, voxels out, or the reverse. */
static feat patch_conv(cfg *c, bool transpose, const char *path, feat x, int64_t cout, const int *k, bool bias) {
    int64_t w[5] = {transpose ? x.c : cout, transpose ? cout : x.c}, ks[3];
    for (int d = 0; d < c->sd; d++) w[2 + d] = ks[d] = k[d];
    const char *in[3] = {x.v, mc_param(c, urc_fmt("%s.weight", path), 2 + c->sd, w),
                         bias ? mc_param1(c, urc_fmt("%s.bias", path), cout) : NULL};
    attrs a = {0};
    mc_a_ints(&a, "kernel_shape", c->sd, ks);
    mc_a_ints(&a, "strides", c->sd, ks);
    feat y = {mc_node(c, transpose ? "ConvTranspose" : "Conv", path, bias ? 3 : 2, in, &a), cout, {0}};
    for (int d = 0; d < c->sd; d++) y.sp[d] = transpose ? x.sp[d] * k[d] : x.sp[d] / k[d];
    return y;
}

feat mc_conv_patch(cfg *c, const char *path, feat x, int64_t cout, const int *k, bool bias) {
    return patch_conv(c, false, path, x, cout, k, bias);
}

feat mc_deconv_patch(cfg *c, const char *path, feat x, int64_t cout, const int *k, bool bias) {
    return patch_conv(c, true, path, x, cout, k, bias);
}

/* ConvTranspose of kernel k[d], stride s[d], padding p[d] and output padding op[d] per spatial dim. */
feat mc_deconv_nd(cfg *c, const char *path, feat x, int64_t cout, const int64_t *k, const int64_t *s, const int64_t *p,
                  const int64_t *op, bool bias) {
    int64_t w[5] = {x.c, cout}, pads[6];
    bool any_p = false, any_op = false;
    for (int d = 0; d < c->sd; d++) {
        w[2 + d] = k[d], pads[d] = pads[c->sd + d] = p[d];
        any_p |= p[d] != 0, any_op |= op[d] != 0;
    }
    const char *in[3] = {x.v, mc_param(c, urc_fmt("%s.weight", path), 2 + c->sd, w),
                         bias ? mc_param1(c, urc_fmt("%s.bias", path), cout) : NULL};
    attrs a = {0};
    mc_a_ints(&a, "kernel_shape", c->sd, k);
    mc_a_ints(&a, "strides", c->sd, s);
    if (any_p) mc_a_ints(&a, "pads", 2 * c->sd, pads);
    if (any_op) mc_a_ints(&a, "output_padding", c->sd, op);
    feat y = {mc_node(c, "ConvTranspose", path, bias ? 3 : 2, in, &a), cout, {0}};
    for (int d = 0; d < c->sd; d++) y.sp[d] = (x.sp[d] - 1) * s[d] - 2 * p[d] + k[d] + op[d];
    return y;
}

/* ConvTranspose of kernel k, stride s, padding p and output padding op. */
feat mc_deconv_k(cfg *c, const char *path, feat x, int64_t cout, int k, int s, int p, int op, bool bias) {
    const int64_t kk[3] = {k, k, k}, ss[3] = {s, s, s}, pp[3] = {p, p, p}, oo[3] = {op, op, op};
    return mc_deconv_nd(c, path, x, cout, kk, ss, pp, oo, bias);
}
/* kernel = stride = s (MONAI's UpSample deconv, get_conv_layer's transposed convs). */
feat mc_deconv(cfg *c, const char *path, feat x, int64_t cout, int s, bool bias) {
    return mc_deconv_k(c, path, x, cout, s, s, 0, 0, bias);
}

feat mc_norm(cfg *c, const char *path, feat x, const norm_spec *n) {
    if (n->kind == NORM_NONE) return x;
    const char *scale = n->affine ? mc_param1(c, urc_fmt("%s.weight", path), x.c) : mc_const_fill(c, path, x.c, 1);
    const char *shift = n->affine ? mc_param1(c, urc_fmt("%s.bias", path), x.c) : mc_const_fill(c, path, x.c, 0);
    attrs a = {0};
    mc_a_float(&a, "epsilon", n->eps);
    if (n->kind == NORM_GROUP) {
        if (x.c % n->groups) {
            if (c->b->ok) /* the first such layer */
                urc_error(path, "num_channels must be divisible by num_groups (%lld channels, %lld groups)",
                          (long long)x.c, (long long)n->groups);
            c->b->ok = false;
            return x;
        }
        mc_a_int(&a, "num_groups", n->groups);
        const char *in[3] = {x.v, scale, shift};
        x.v = mc_node(c, "GroupNormalization", path, 3, in, &a);
        urc_value *v = urc_graph_find(c->b->g, x.v);
        if (v && v->producer) v->producer->a.norm.per_channel = true; /* PyTorch's: scale and bias per channel */
        return x;
    }
    if (n->kind == NORM_INSTANCE) {
        const char *in[3] = {x.v, scale, shift};
        x.v = mc_node(c, "InstanceNormalization", path, 3, in, &a);
        return x;
    }
    const char *in[5] = {x.v, scale, shift, mc_state(c, urc_fmt("%s.running_mean", path), 1, &x.c, true),
                         mc_state(c, urc_fmt("%s.running_var", path), 1, &x.c, true)};
    urc_st_entry *e = c->st ? urc_st_find(c->st, urc_fmt("%s.num_batches_tracked", path)) : NULL;
    if (e) e->used = true; /* a counter, unused in eval */
    x.v = mc_node(c, "BatchNormalization", path, 5, in, &a);
    return x;
}

feat mc_act(cfg *c, const char *path, feat x, const act_spec *s) {
    static const char *const types[] = {
        [ACT_RELU] = "Relu",       [ACT_LEAKY] = "LeakyRelu", [ACT_PRELU] = "PRelu", [ACT_ELU] = "Elu",
        [ACT_SIGMOID] = "Sigmoid", [ACT_TANH] = "Tanh",       [ACT_GELU] = "Gelu"};
    if (s->kind == ACT_NONE) return x;
    attrs a = {0};
    if (s->kind == ACT_LEAKY || s->kind == ACT_ELU) mc_a_float(&a, "alpha", s->alpha);
    const char *in[2] = {x.v, s->kind == ACT_PRELU ? mc_param1(c, urc_fmt("%s.weight", path), 1) : NULL};
    if (s->kind == ACT_PRELU) mc_init_hint(c, in[1], MC_INIT_CONST, s->alpha); /* nn.PReLU(init=alpha) */
    x.v = mc_node(c, types[s->kind], path, s->kind == ACT_PRELU ? 2 : 1, in, &a);
    return x;
}

feat mc_convolution(cfg *c, const char *path, feat x, int64_t cout, const int64_t *k, const int64_t *s, bool transposed,
                    bool conv_only, const conv_opts *o) {
    const char *cp = urc_fmt("%s.conv", path);
    int64_t p[3], op[3];
    for (int d = 0; d < c->sd; d++) p[d] = (k[d] - 1) / 2, op[d] = s[d] - 1;
    x = transposed ? mc_deconv_nd(c, cp, x, cout, k, s, p, op, o->bias) : mc_conv_nd(c, cp, x, cout, k, s, p, o->bias);
    for (const char *q = o->adn; !conv_only && *q; q++) {
        if (*q == 'N') x = mc_norm(c, urc_fmt("%s.adn.N", path), x, &o->norm);
        if (*q == 'A') x = mc_act(c, urc_fmt("%s.adn.A", path), x, &o->act);
    }
    return x;
}

/* ---- BasicUNet (monai/networks/nets/basic_unet.py) ----------------------------------- */

typedef conv_opts bu_opts;

/* MONAI's Convolution (k3, p1). */
static feat bu_conv(cfg *c, const char *path, feat x, int64_t cout, const bu_opts *o) {
    static const int64_t k3[3] = {3, 3, 3}, s1[3] = {1, 1, 1};
    return mc_convolution(c, path, x, cout, k3, s1, false, false, o);
}

static feat bu_twoconv(cfg *c, const char *path, feat x, int64_t cout, const bu_opts *o) {
    x = bu_conv(c, urc_fmt("%s.conv_0", path), x, cout, o);
    return bu_conv(c, urc_fmt("%s.conv_1", path), x, cout, o);
}

static feat bu_down(cfg *c, const char *path, feat x, int64_t cout, const bu_opts *o) {
    attrs a = {0};
    mc_a_rep(&a, "kernel_shape", c->sd, 2);
    mc_a_rep(&a, "strides", c->sd, 2);
    const char *path_pool = urc_fmt("%s.max_pooling", path);
    x.v = mc_node(c, "MaxPool", path_pool, 1, &x.v, &a);
    for (int d = 0; d < c->sd; d++) x.sp[d] /= 2;
    return bu_twoconv(c, urc_fmt("%s.convs", path), x, cout, o);
}

/* UpCat: deconv (halving the channels unless !halves), replicate-pad by one
 * at the end of each spatial dim where the skip is larger, cat([skip, up]),
 * TwoConv. */
static feat bu_upcat(cfg *c, const char *path, feat x, feat skip, int64_t cout, bool halves, const bu_opts *o) {
    feat up = mc_deconv(c, urc_fmt("%s.upsample.deconv", path), x, halves ? x.c / 2 : x.c, 2, true);
    int64_t pads[10] = {0};
    bool pad = false;
    for (int d = 0; d < c->sd; d++)
        if (skip.sp[d] != up.sp[d]) {
            pads[2 + c->sd + 2 + d] = 1; /* ONNX pads: all begins, then all ends */
            up.sp[d]++;
            pad = true;
        }
    if (pad) {
        const char *pv = mc_const_ints(c, path, 2 * (2 + c->sd), pads);
        attrs a = {0};
        mc_a_str(&a, "mode", "edge");
        const char *in[2] = {up.v, pv};
        up.v = mc_node(c, "Pad", urc_fmt("%s.pad", path), 2, in, &a);
    }
    attrs a = {0};
    mc_a_int(&a, "axis", 1);
    const char *in[2] = {skip.v, up.v};
    feat cat = {mc_node(c, "Concat", urc_fmt("%s.cat", path), 2, in, &a), skip.c + up.c, {0}};
    memcpy(cat.sp, skip.sp, sizeof cat.sp);
    return bu_twoconv(c, urc_fmt("%s.convs", path), cat, cout, o);
}

static const char *const basic_unet_args[] = {"spatial_dims", "in_channels", "out_channels", "features", "act",
                                              "norm",         "bias",        "dropout",      "upsample", NULL};

/* Builds BasicUNet from checked arguments; `x` is the input. */
static const char *basic_unet(cfg *c, reader *r, const cJSON *args, feat x) {
    int64_t outc = 2, fea[6] = {32, 32, 64, 128, 256, 32};
    double dropout = 0;
    bu_opts o = {{ACT_LEAKY, 0.1}, {NORM_INSTANCE, true, 1e-5, 0}, true, "NDA"};
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "out_channels"), "out_channels", 1, INT32_MAX, &outc);
    mc_get_ints(r, cJSON_GetObjectItemCaseSensitive(args, "features"), "features", 6, 1, fea);
    mc_get_act(r, cJSON_GetObjectItemCaseSensitive(args, "act"), "act", &o.act);
    mc_get_norm(r, cJSON_GetObjectItemCaseSensitive(args, "norm"), "norm", &o.norm);
    mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(args, "bias"), "bias", &o.bias);
    mc_get_float(r, cJSON_GetObjectItemCaseSensitive(args, "dropout"), "dropout", 0, 1,
                 &dropout); /* identity in eval */
    const cJSON *up = cJSON_GetObjectItemCaseSensitive(args, "upsample");
    if (up && !(cJSON_IsString(up) && !strcmp(up->valuestring, "deconv")))
        mc_bad(r, "upsample", urc_fmt("%s is not supported ('deconv' is)", mc_json_kind(up)));
    if (!r->ok) return NULL;
    feat x0 = bu_twoconv(c, "conv_0", x, fea[0], &o);
    feat x1 = bu_down(c, "down_1", x0, fea[1], &o);
    feat x2 = bu_down(c, "down_2", x1, fea[2], &o);
    feat x3 = bu_down(c, "down_3", x2, fea[3], &o);
    feat x4 = bu_down(c, "down_4", x3, fea[4], &o);
    feat u4 = bu_upcat(c, "upcat_4", x4, x3, fea[3], true, &o);
    feat u3 = bu_upcat(c, "upcat_3", u4, x2, fea[2], true, &o);
    feat u2 = bu_upcat(c, "upcat_2", u3, x1, fea[1], true, &o);
    feat u1 = bu_upcat(c, "upcat_1", u2, x0, fea[5], false, &o);
    c->out_node = "final_conv";
    return mc_conv(c, "final_conv", u1, outc, 1, 1, 0, true).v;
}

/* ---- UNETR (monai/networks/nets/unetr.py, vit.py, blocks/) ---------------------------- */

const char *mc_add2(cfg *c, const char *name, const char *a, const char *b) {
    const char *in[2] = {a, b};
    return mc_node(c, "Add", name, 2, in, NULL);
}

const char *mc_reshape(cfg *c, const char *name, const char *x, int n, const int64_t *dims) {
    const char *in[2] = {x, mc_const_ints(c, name, n, dims)};
    return mc_node(c, "Reshape", name, 2, in, NULL);
}

const char *mc_transpose(cfg *c, const char *name, const char *x, int n, const int64_t *perm) {
    attrs a = {0};
    mc_a_ints(&a, "perm", n, perm);
    return mc_node(c, "Transpose", name, 1, &x, &a);
}

/* nn.Linear on the last axis: x @ W^T (+ b). */
const char *mc_linear(cfg *c, const char *path, const char *x, int64_t in, int64_t out, bool bias) {
    int64_t w[2] = {out, in}, perm[2] = {1, 0};
    const char *wt =
        mc_transpose(c, urc_fmt("%s.weight.T", path), mc_param(c, urc_fmt("%s.weight", path), 2, w), 2, perm);
    const char *mm[2] = {x, wt};
    const char *y = mc_node(c, "MatMul", path, 2, mm, NULL);
    return bias ? mc_add2(c, urc_fmt("%s.add_bias", path), y, mc_param1(c, urc_fmt("%s.bias", path), out)) : y;
}

/* nn.LayerNorm(dim) on the last axis, eps 1e-5, affine. */
const char *mc_layer_norm(cfg *c, const char *path, const char *x, int64_t dim) {
    const char *in[3] = {x, mc_param1(c, urc_fmt("%s.weight", path), dim), mc_param1(c, urc_fmt("%s.bias", path), dim)};
    attrs a = {0};
    mc_a_int(&a, "axis", -1);
    mc_a_float(&a, "epsilon", 1e-5);
    return mc_node(c, "LayerNormalization", path, 3, in, &a);
}

typedef struct vit_opts {
    int64_t batch, n, hidden, heads, mlp;
    bool qkv_bias;
} vit_opts;

/* SABlock: qkv, "b h (qkv l d) -> qkv b l h d", softmax(q k^T * d^-0.5) v,
 * "b h l d -> b l (h d)", out_proj: the einsums as MONAI writes them. */
static const char *self_attention(cfg *c, const char *path, const char *x, const vit_opts *o) {
    int64_t dh = o->hidden / o->heads;
    const char *qkv = mc_linear(c, urc_fmt("%s.qkv", path), x, o->hidden, 3 * o->hidden, o->qkv_bias);
    const char *qkvs[3];
    mc_split_qkv(c, path, urc_fmt("%s.input_rearrange", path), qkv, o->batch, o->n, o->heads, dh, qkvs);
    attrs e1 = {0};
    mc_a_str(&e1, "equation", "blxd,blyd->blxy");
    const char *att = mc_node(c, "Einsum", urc_fmt("%s.qk", path), 2, qkvs, &e1);
    float scale = (float)pow((double)dh, -0.5);
    const char *sc[2] = {att, mc_constant(c, urc_fmt("%s.scale", path), URC_DT_F32, 0, NULL, &scale)};
    att = mc_node(c, "Mul", urc_fmt("%s.scale", path), 2, sc, NULL);
    attrs sm = {0};
    mc_a_int(&sm, "axis", -1);
    att = mc_node(c, "Softmax", urc_fmt("%s.softmax", path), 1, &att, &sm);
    attrs e2 = {0};
    mc_a_str(&e2, "equation", "bhxy,bhyd->bhxd");
    const char *av[2] = {att, qkvs[2]};
    const char *y = mc_node(c, "Einsum", urc_fmt("%s.av", path), 2, av, &e2);
    int64_t back[4] = {0, 2, 1, 3}, merged[3] = {o->batch, o->n, o->hidden};
    y = mc_transpose(c, urc_fmt("%s.out_rearrange.transpose", path), y, 4, back);
    y = mc_reshape(c, urc_fmt("%s.out_rearrange", path), y, 3, merged);
    return mc_linear(c, urc_fmt("%s.out_proj", path), y, o->hidden, o->hidden, true);
}

/* TransformerBlock (pre-norm): x + SA(LN(x)), then x + MLP(LN(x)) with an
 * exact GELU. */
static const char *transformer_block(cfg *c, const char *path, const char *x, const vit_opts *o) {
    const char *h = mc_layer_norm(c, urc_fmt("%s.norm1", path), x, o->hidden);
    x = mc_add2(c, urc_fmt("%s.add_attn", path), x, self_attention(c, urc_fmt("%s.attn", path), h, o));
    h = mc_layer_norm(c, urc_fmt("%s.norm2", path), x, o->hidden);
    h = mc_linear(c, urc_fmt("%s.mlp.linear1", path), h, o->hidden, o->mlp, true);
    h = mc_node(c, "Gelu", urc_fmt("%s.mlp.fn", path), 1, &h, NULL);
    h = mc_linear(c, urc_fmt("%s.mlp.linear2", path), h, o->mlp, o->hidden, true);
    return mc_add2(c, urc_fmt("%s.add_mlp", path), x, h);
}

/* UnetResBlock (res) or UnetBasicBlock: conv k3, norm, LeakyReLU(0.01),
 * conv k3, norm, [+ residual (1x1 conv + norm when channels change)],
 * LeakyReLU. */
feat mc_unet_block(cfg *c, const char *path, feat x, int64_t cout, const norm_spec *ns, bool res) {
    const act_spec lrelu = {ACT_LEAKY, 0.01};
    feat y = mc_conv(c, urc_fmt("%s.conv1.conv", path), x, cout, 3, 1, 1, false);
    y = mc_act(c, urc_fmt("%s.lrelu", path), mc_norm(c, urc_fmt("%s.norm1", path), y, ns), &lrelu);
    y = mc_norm(c, urc_fmt("%s.norm2", path), mc_conv(c, urc_fmt("%s.conv2.conv", path), y, cout, 3, 1, 1, false), ns);
    if (res) {
        feat r = x;
        if (x.c != cout)
            r = mc_norm(c, urc_fmt("%s.norm3", path),
                        mc_conv(c, urc_fmt("%s.conv3.conv", path), x, cout, 1, 1, 0, false), ns);
        y.v = mc_add2(c, urc_fmt("%s.add", path), y.v, r.v);
    }
    return mc_act(c, urc_fmt("%s.lrelu.2", path), y, &lrelu);
}

/* UnetrPrUpBlock: a transposed conv, then num_layer x [transposed conv
 * (+ block)]. */
static feat unetr_prup(cfg *c, const char *path, feat x, int64_t cout, int num_layer, const unetr_opts *o) {
    x = mc_deconv(c, urc_fmt("%s.transp_conv_init.conv", path), x, cout, 2, false);
    for (int i = 0; i < num_layer; i++) {
        if (!o->conv_block) {
            x = mc_deconv(c, urc_fmt("%s.blocks.%d.conv", path, i), x, cout, 2, false);
            continue;
        }
        x = mc_deconv(c, urc_fmt("%s.blocks.%d.0.conv", path, i), x, cout, 2, false);
        x = mc_unet_block(c, urc_fmt("%s.blocks.%d.1", path, i), x, cout, &o->norm, o->res_block);
    }
    return x;
}

/* UnetrUpBlock: transposed conv, cat((up, skip)), block. */
feat mc_unetr_up(cfg *c, const char *path, feat x, feat skip, int64_t cout, const unetr_opts *o) {
    feat up = mc_deconv(c, urc_fmt("%s.transp_conv.conv", path), x, cout, 2, false);
    attrs a = {0};
    mc_a_int(&a, "axis", 1);
    const char *in[2] = {up.v, skip.v};
    feat cat = {mc_node(c, "Concat", urc_fmt("%s.cat", path), 2, in, &a), up.c + skip.c, {0}};
    memcpy(cat.sp, up.sp, sizeof cat.sp);
    return mc_unet_block(c, urc_fmt("%s.conv_block", path), cat, cout, &o->norm, o->res_block);
}

/* proj_feat: (B, n, hidden) -> (B, hidden, f0, f1[, f2]). */
static feat proj_feat(cfg *c, const char *name, const char *x, const vit_opts *v, const int64_t *fs) {
    int64_t view[5] = {v->batch}, perm[5] = {0, c->sd + 1};
    for (int d = 0; d < c->sd; d++) {
        view[1 + d] = fs[d];
        perm[2 + d] = 1 + d;
    }
    view[1 + c->sd] = v->hidden;
    feat f = {mc_transpose(c, name, mc_reshape(c, urc_fmt("%s.view", name), x, 2 + c->sd, view), 2 + c->sd, perm),
              v->hidden,
              {0}};
    memcpy(f.sp, fs, sizeof(int64_t) * (size_t)c->sd);
    return f;
}

/* The ViT's patch embedding: conv (k = s = 16) or perceptron (einops
 * "b c (h p1)(w p2)(d p3) -> b (h w d)(p1 p2 p3 c)" + Linear), plus the
 * learned position embedding. */
static const char *patch_embedding(cfg *c, feat x, const vit_opts *v, bool perceptron, const int64_t *fs) {
    const char *path = "vit.patch_embedding";
    const char *y;
    if (!perceptron) {
        feat p = mc_conv(c, urc_fmt("%s.patch_embeddings", path), x, v->hidden, 16, 16, 0, true);
        int64_t flat[3] = {v->batch, v->hidden, v->n}, perm[3] = {0, 2, 1};
        y = mc_reshape(c, urc_fmt("%s.flatten", path), p.v, 3, flat);
        y = mc_transpose(c, urc_fmt("%s.transpose", path), y, 3, perm);
    } else {
        int r = 2 + 2 * c->sd;
        int64_t split[8] = {v->batch, x.c}, perm[8] = {0}, merged[3] = {v->batch, v->n, x.c};
        for (int d = 0; d < c->sd; d++) {
            split[2 + 2 * d] = fs[d];
            split[3 + 2 * d] = 16;
            perm[1 + d] = 2 + 2 * d;         /* h w d */
            perm[1 + c->sd + d] = 3 + 2 * d; /* p1 p2 p3 */
            merged[2] *= 16;
        }
        perm[r - 1] = 1; /* c */
        y = mc_reshape(c, urc_fmt("%s.patch_embeddings.0.split", path), x.v, r, split);
        y = mc_transpose(c, urc_fmt("%s.patch_embeddings.0.transpose", path), y, r, perm);
        y = mc_reshape(c, urc_fmt("%s.patch_embeddings.0", path), y, 3, merged);
        y = mc_linear(c, urc_fmt("%s.patch_embeddings.1", path), y, merged[2], v->hidden, true);
        /* PatchEmbeddingBlock._init_weights: its Linear trunc_normal(std 0.02), bias 0 */
        mc_init_hint(c, urc_fmt("%s.patch_embeddings.1.weight", path), MC_INIT_TRUNC_NORMAL, 0.02);
        mc_init_hint(c, urc_fmt("%s.patch_embeddings.1.bias", path), MC_INIT_CONST, 0);
    }
    int64_t pos[3] = {1, v->n, v->hidden};
    const char *pe = mc_param(c, urc_fmt("%s.position_embeddings", path), 3, pos);
    mc_init_hint(c, pe, MC_INIT_TRUNC_NORMAL, 0.02);
    return mc_add2(c, urc_fmt("%s.add_pos", path), y, pe);
}

static const char *const unetr_args[] = {
    "in_channels",  "out_channels", "img_size",  "feature_size", "hidden_size", "mlp_dim",
    "num_heads",    "pos_embed",    "proj_type", "norm_name",    "conv_block",  "res_block",
    "dropout_rate", "spatial_dims", "qkv_bias",  "save_attn",    NULL};

static const char *unetr(cfg *c, reader *r, const cJSON *args, feat x) {
    int64_t outc = 0, fsz = 16, fs[3];
    vit_opts v = {.hidden = 768, .mlp = 3072, .heads = 12};
    unetr_opts o = {{NORM_INSTANCE, false, 1e-5, 0}, true, true};
    double dropout = 0;
    bool save_attn = false;
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "out_channels"), "out_channels", 1, INT32_MAX, &outc);
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "feature_size"), "feature_size", 1, INT32_MAX, &fsz);
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "hidden_size"), "hidden_size", 1, INT32_MAX, &v.hidden);
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "mlp_dim"), "mlp_dim", 1, INT32_MAX, &v.mlp);
    mc_get_int(r, cJSON_GetObjectItemCaseSensitive(args, "num_heads"), "num_heads", 1, INT32_MAX, &v.heads);
    mc_get_norm(r, cJSON_GetObjectItemCaseSensitive(args, "norm_name"), "norm_name", &o.norm);
    mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(args, "conv_block"), "conv_block", &o.conv_block);
    mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(args, "res_block"), "res_block", &o.res_block);
    mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(args, "qkv_bias"), "qkv_bias", &v.qkv_bias);
    mc_get_bool(r, cJSON_GetObjectItemCaseSensitive(args, "save_attn"), "save_attn", &save_attn);
    mc_get_float(r, cJSON_GetObjectItemCaseSensitive(args, "dropout_rate"), "dropout_rate", 0, 1,
                 &dropout); /* identity in eval */
    /* proj_type, or the deprecated pos_embed that MONAI 1.3 still maps to it. */
    const char *arg = cJSON_GetObjectItemCaseSensitive(args, "proj_type") ? "proj_type" : "pos_embed";
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(args, arg);
    bool perceptron = false;
    if (pt && cJSON_IsString(pt) && !strcmp(pt->valuestring, "perceptron")) perceptron = true;
    else if (pt && !(cJSON_IsString(pt) && !strcmp(pt->valuestring, "conv")))
        mc_bad(r, arg, urc_fmt("%s is not supported ('conv' and 'perceptron' are)", mc_json_kind(pt)));
    if (v.hidden % v.heads) mc_bad(r, "hidden_size", "hidden_size should be divisible by num_heads.");
    if (!r->ok) return NULL;
    v.batch = urc_graph_find(c->b->g, "input")->shape.dims[0];
    v.n = 1;
    for (int d = 0; d < c->sd; d++) {
        fs[d] = x.sp[d] / 16;
        v.n *= fs[d];
    }
    const char *h = patch_embedding(c, x, &v, perceptron, fs);
    const char *taps[12];
    for (int i = 0; i < 12; i++) taps[i] = h = transformer_block(c, urc_fmt("vit.blocks.%d", i), h, &v);
    h = mc_layer_norm(c, "vit.norm", h, v.hidden);
    /* MONAI >= 1.4 builds unused cross-attention layers in every block. */
    for (int i = 0; c->st && i < c->st->n; i++)
        if (strstr(c->st->e[i].name, ".cross_attn.") || strstr(c->st->e[i].name, ".norm_cross_attn."))
            c->st->e[i].used = true;
    feat enc1 = mc_unet_block(c, "encoder1.layer", x, fsz, &o.norm, o.res_block);
    feat enc2 = unetr_prup(c, "encoder2", proj_feat(c, "proj_feat.3", taps[3], &v, fs), 2 * fsz, 2, &o);
    feat enc3 = unetr_prup(c, "encoder3", proj_feat(c, "proj_feat.6", taps[6], &v, fs), 4 * fsz, 1, &o);
    feat enc4 = unetr_prup(c, "encoder4", proj_feat(c, "proj_feat.9", taps[9], &v, fs), 8 * fsz, 0, &o);
    feat dec4 = proj_feat(c, "proj_feat.12", h, &v, fs);
    feat dec3 = mc_unetr_up(c, "decoder5", dec4, enc4, 8 * fsz, &o);
    feat dec2 = mc_unetr_up(c, "decoder4", dec3, enc3, 4 * fsz, &o);
    feat dec1 = mc_unetr_up(c, "decoder3", dec2, enc2, 2 * fsz, &o);
    feat out = mc_unetr_up(c, "decoder2", dec1, enc1, fsz, &o);
    c->out_node = "out.conv.conv"; /* UnetOutBlock */
    return mc_conv(c, "out.conv.conv", out, outc, 1, 1, 0, true).v;
}

/* ---- networks ------------------------------------------------------------------------ */

typedef struct network {
    const char *name;
    const char *const *args; /* constructor arguments, NULL-ended */
    const char *(*build)(cfg *c, reader *r, const cJSON *args, feat x);
    /* Takes img_size and requires in_channels/out_channels (else: --input-shape);
     * check_size says whether img_size suits it. */
    bool (*check_size)(reader *r, const char *arg, const int64_t *sp, int sd);
    /* img_size is only the default: --input-shape may give other spatial
     * sizes (the builder checks them). */
    bool any_size;
} network;

static bool unetr_check_size(reader *r, const char *arg, const int64_t *sp, int sd) {
    for (int d = 0; d < sd; d++)
        if (sp[d] % 16) return mc_bad(r, arg, urc_fmt("%lld is not divisible by the patch size 16", (long long)sp[d]));
    return true;
}

static const network networks[] = {
    {"BasicUNet", basic_unet_args, basic_unet, NULL, false},
    {"UNETR", unetr_args, unetr, unetr_check_size, false},
    {"UNet", mc_unet_args, mc_unet, NULL, false},
    {"SwinUNETR", mc_swin_args, mc_swin_unetr, mc_swin_check_size, true},
    {"UNETR_PP", mc_unetr_pp_args, mc_unetr_pp, mc_unetr_pp_check_size, false},
};

/* `_target_`: "monai.networks.nets.NAME" or just NAME (MONAI's aliases too). */
static const network *find_network(const char *target) {
    const char *name = !strncmp(target, "monai.networks.nets.", 20) ? target + 20 : target;
    if (!strcasecmp(name, "BasicUnet") || !strcmp(name, "basicunet")) name = "BasicUNet";
    if (!strcmp(name, "unetr_pp.UNETR_PP") || !strcmp(name, "models.unetr_pp.UNETR_PP")) name = "UNETR_PP";
    for (size_t i = 0; i < URC_ARRAY_LEN(networks); i++)
        if (!strcmp(networks[i].name, name)) return &networks[i];
    return NULL;
}

/* Bundle references and expressions anywhere in a value. */
static void find_refs(const cJSON *j, const char *path, urc_strbuf *sb, int *n) {
    if (cJSON_IsString(j) && (j->valuestring[0] == '@' || j->valuestring[0] == '$' || j->valuestring[0] == '%'))
        mc_list_add(sb, n, urc_fmt("%s='%s'", path, urc_diag_one_line(j->valuestring)));
    int i = 0;
    for (const cJSON *x = cJSON_IsArray(j) || cJSON_IsObject(j) ? j->child : NULL; x; x = x->next, i++)
        find_refs(x, cJSON_IsObject(j) ? urc_fmt("%s.%s", path, x->string) : urc_fmt("%s[%d]", path, i), sb, n);
}

/* The input's declared type: batch and spatial sizes are for --input-shape. */
typedef struct input_decl {
    int sd;
    int64_t channels;
    const int64_t *img; /* spatial sizes, or zeros: unknown */
} input_decl;

static bool input_type(void *ctx, const char *where, urc_gb_decl *d) {
    (void)where;
    const input_decl *in = ctx;
    static const char *const sym[] = {"batch", "", "d0", "d1", "d2"};
    d->dtype = URC_DT_F32;
    d->rank = 2 + in->sd;
    for (int k = 0; k < d->rank; k++) d->sym[k] = k == 1 || (k > 1 && in->img[k - 2]) ? NULL : sym[k];
    d->dims[1] = in->channels;
    for (int k = 2; k < d->rank; k++) d->dims[k] = in->img[k - 2];
    return true;
}

/* The network's state_dict keys the graph did not take. */
static void report_weights(cfg *c, const network *net) {
    urc_strbuf extra = {0};
    int nextra = 0;
    for (int i = 0; c->st && i < c->st->n; i++)
        if (!c->st->e[i].used) mc_list_add(&extra, &nextra, urc_fmt("'%s'", c->st->e[i].name));
    if (c->nmissing || nextra || c->nshapes) {
        urc_strbuf sb = {0};
        if (c->nmissing)
            urc_sb_printf(&sb, "%d missing key%s (%s)", c->nmissing, c->nmissing > 1 ? "s" : "", c->missing.data);
        if (nextra)
            urc_sb_printf(&sb, "%s%d unexpected key%s (%s)", sb.len ? ", " : "", nextra, nextra > 1 ? "s" : "",
                          extra.data);
        if (c->nshapes)
            urc_sb_printf(&sb, "%s%d wrong shape%s (%s)", sb.len ? ", " : "", c->nshapes, c->nshapes > 1 ? "s" : "",
                          c->shapes.data);
        urc_error(c->wlabel, "the state_dict does not match %s: %s", net->name, sb.data);
        urc_sb_free(&sb);
        c->b->ok = false;
    }
    urc_sb_free(&extra);
}

static bool build(urc_gb *b, const cJSON *root, const urc_import_opts *opts) {
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(root, "network_def");
    if (!def) def = root;
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(def, "_target_");
    if (!cJSON_IsObject(def) || !cJSON_IsString(target)) {
        urc_error(NULL, "no network: the config needs a 'network_def' object, or a top-level object, with "
                        "'_target_' naming a MONAI network");
        return false;
    }
    const network *net = find_network(target->valuestring);
    if (!net) {
        urc_strbuf names = {0};
        for (size_t i = 0; i < URC_ARRAY_LEN(networks); i++)
            urc_sb_printf(&names, "%s%s", i ? ", " : "", networks[i].name);
        urc_error("_target_", "'%s' is not a supported network (supported: %s)", urc_diag_one_line(target->valuestring),
                  names.data);
        urc_sb_free(&names);
        return false;
    }
    reader r = {net->name, true};
    urc_strbuf sb = {0};
    int n = 0;
    for (const cJSON *x = def->child; x; x = x->next) {
        for (const cJSON *y = def->child; y != x; y = y->next)
            if (!strcmp(x->string, y->string)) {
                mc_bad(&r, x->string, "is given twice");
                break;
            }
        bool known = !strcmp(x->string, "_target_");
        for (int i = 0; net->args[i] && !known; i++) known = !strcmp(net->args[i], x->string);
        if (!known) mc_list_add(&sb, &n, urc_fmt("'%s'", urc_diag_one_line(x->string)));
    }
    if (n) {
        urc_strbuf all = {0};
        for (int i = 0; net->args[i]; i++) urc_sb_printf(&all, "%s%s", i ? ", " : "", net->args[i]);
        urc_error(net->name, "unknown argument%s %s (it takes %s)", n > 1 ? "s" : "", sb.data, all.data);
        urc_sb_free(&all);
        r.ok = false;
    }
    urc_sb_free(&sb);
    n = 0;
    sb = (urc_strbuf){0};
    for (const cJSON *x = def->child; x; x = x->next) find_refs(x, x->string, &sb, &n);
    if (n) {
        urc_error(net->name, "bundle references and expressions are not supported, give literal values: %s", sb.data);
        r.ok = false;
    }
    urc_sb_free(&sb);
    int64_t sd = 3, cin = 1;
    mc_get_int(&r, cJSON_GetObjectItemCaseSensitive(def, "spatial_dims"), "spatial_dims", 2, 3, &sd);
    mc_get_int(&r, cJSON_GetObjectItemCaseSensitive(def, "in_channels"), "in_channels", 1, INT32_MAX, &cin);
    /* Networks with an img_size: their input's spatial size is known. */
    int64_t img[3] = {0};
    if (net->check_size && r.ok) {
        static const char *const required[] = {"in_channels", "out_channels", "img_size"};
        for (size_t i = 0; i < URC_ARRAY_LEN(required); i++)
            if (!cJSON_GetObjectItemCaseSensitive(def, required[i])) mc_bad(&r, required[i], "is required");
        if (r.ok && mc_get_ints(&r, cJSON_GetObjectItemCaseSensitive(def, "img_size"), "img_size", (int)sd, 1, img))
            net->check_size(&r, "img_size", img, (int)sd);
    }
    if (!r.ok) return false;

    cfg c = {.b = b, .sd = (int)sd, .wlabel = opts->weights, .seed = opts->init_seed};
    if (!opts->weights && !opts->init_seed) {
        urc_error(NULL, "%s needs its parameters: --weights FILE.safetensors (its state_dict) or --init SEED",
                  net->name);
        return false;
    }
    if (opts->weights && opts->init_seed) {
        urc_error(NULL, "--init makes up the parameters of a config without --weights: give one of them");
        return false;
    }
    if (opts->weights) {
        c.st = urc_st_load(opts->weights, opts->max_bytes);
        if (!c.st) return false;
        /* Like ONNX external data: outputs must spare it, the segment cache hashes it. */
        char real[PATH_MAX];
        if (realpath(opts->weights, real)) URC_VEC_PUSH(b->g->external_files, urc_strdup(real));
    } else {
        b->g->hash = urc_fnv1a64(&c.seed, sizeof c.seed, b->g->hash); /* the cache key covers the seed */
    }
    b->g->name = urc_strdup(net->name);
    static const int64_t any[3] = {0, 0, 0};
    input_decl idecl = {(int)sd, cin, net->any_size ? any : img};
    /* A known spatial size: batch 1 unless --input-shape says otherwise. */
    urc_import_opts pinned = *opts;
    urc_input_pin *pins = urc_alloc(sizeof(urc_input_pin) * (size_t)(opts->npins + 1));
    bool given = false;
    for (int i = 0; i < opts->npins; i++) given |= !strcmp((pins[i] = opts->pins[i]).name, "input");
    if (net->check_size && !given) {
        pins[opts->npins] = (urc_input_pin){"input", {.rank = 2 + (int)sd, .dims = {1, cin}}};
        memcpy(&pins[opts->npins].shape.dims[2], img, sizeof(int64_t) * (size_t)sd);
        pinned.pins = pins;
        pinned.npins = opts->npins + 1;
        b->opts = &pinned;
    }
    bool ok = urc_gb_input(b, "input", input_type, &idecl) && urc_gb_end_inputs(b);
    b->opts = opts;
    if (ok) {
        urc_value *in = urc_graph_find(b->g, "input");
        feat x = {"input", cin, {0}};
        for (int d = 0; d < sd; d++) x.sp[d] = in->shape.dims[2 + d];
        const char *out = net->build(&c, &r, def, x);
        if (out) {
            if (c.seed) mc_init_fill(&c);
            report_weights(&c, net);
            urc_gb_output(b, out, NULL);
            for (int i = 0; i < c.nextra; i++) urc_gb_output(b, c.extra_out[i], NULL);
        }
        ok = out && r.ok;
    }
    urc_sb_free(&c.missing);
    urc_sb_free(&c.shapes);
    urc_st_free(c.st);
    return ok;
}

static bool is_pickle(const char *path) {
    size_t n = strlen(path);
    return (n > 3 && !strcmp(path + n - 3, ".pt")) || (n > 4 && !strcmp(path + n - 4, ".pth"));
}

urc_graph *urc_config_load(const char *path, const urc_import_opts *opts) {
    if (opts->weights && is_pickle(opts->weights)) {
        urc_error(opts->weights, "PyTorch checkpoints (pickles) are not read; convert it to safetensors with "
                                 "models/convert_checkpoint.py");
        return NULL;
    }
    size_t size;
    char *buf = urc_gb_read_file(NULL, path, &size, opts->max_bytes);
    if (!buf) return NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, size, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        int line = 1;
        for (const char *p = buf; at && p < at && p < buf + size; p++) line += *p == '\n';
        urc_error(NULL, "not valid JSON (line %d)", line);
        free(buf);
        return NULL;
    }
    urc_gb b;
    urc_gb_begin(&b, opts);
    b.g->opset = 17;
    b.g->producer = "unetrc config";
    b.g->hash = urc_fnv1a64(buf, size, URC_FNV_INIT);
    free(buf);
    bool ok = cJSON_IsObject(root);
    if (!ok) urc_error(NULL, "the config is not a JSON object");
    ok = ok && build(&b, root, opts);
    cJSON_Delete(root);
    return ok ? urc_gb_finish(&b) : NULL;
}
