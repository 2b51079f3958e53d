/* lower.c: the kernel builders an op's lower callback uses (see lower.h):
 * binding graph values to a kernel's buffers through the memory plan,
 * packing constants into the weights blob, and sharing bodies between
 * kernels (by an op's key, urc_lower_reuse, or by a node's whole signature,
 * urc_op_impl.signature_lower). The lowering pass (passes/lower.c) walks
 * the graph and calls urc_lower_node. */
#define _GNU_SOURCE
#include "lower.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "../passes/passes.h"

const char *urc_lower_ident(const char *s) {
    urc_strbuf sb = {0};
    for (const char *p = s; *p && sb.len < 40; p++) {
        char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') urc_sb_putc(&sb, c);
        else if (c >= 'A' && c <= 'Z') urc_sb_putc(&sb, (char)(c - 'A' + 'a'));
        else if (sb.len && sb.data[sb.len - 1] != '_') urc_sb_putc(&sb, '_');
    }
    while (sb.len && sb.data[sb.len - 1] == '_') sb.data[--sb.len] = 0;
    const char *r = urc_strdup(sb.len ? sb.data : "t");
    urc_sb_free(&sb);
    return r;
}

urc_kernel *urc_lower_begin(urc_lower *L, const urc_node *n) {
    const char *name = urc_fmt("k%d_%s", L->nkernels++, urc_lower_ident(urc_ops[n->op].name));
    urc_strbuf sb = {0};
    urc_sb_puts(&sb, urc_ops[n->op].name);
    urc_sb_puts(&sb, " '");
    urc_sb_puts(&sb, n->name);
    urc_sb_puts(&sb, "':");
    for (int j = 0; j < n->nin + n->nout; j++) {
        const urc_value *v = j < n->nin ? n->in[j] : n->out[j - n->nin];
        if (j == n->nin) urc_sb_puts(&sb, " ->");
        if (!v) continue;
        urc_sb_putc(&sb, ' ');
        urc_sb_puts(&sb, urc_shape_str(&v->shape));
    }
    if (!n->nout) urc_sb_puts(&sb, " ->");
    urc_kernel *k = urc_kernel_new(name, urc_strdup(sb.data));
    urc_sb_free(&sb);
    urc_call c = {k, NULL};
    URC_VEC_PUSH(L->prog->kernels, k);
    URC_VEC_PUSH(L->prog->calls, c);
    return k;
}

/* An int8 node's quantised weights and scales (urc_lower_wdata). */
struct wq {
    const urc_node *n;
    float *q, *scale;
};

typedef struct share_entry {
    const int64_t *key; /* op, then the op's key */
    int nkey;
    const urc_kernel *k; /* the kernel that built the body */
    int nbound;          /* its parameters when reuse was asked */
} share_entry;

struct urc_share {
    urc_map weight_offsets; /* constant key -> offset+1 in the weights blob */
    urc_hindex index;       /* key hash -> entry */
    URC_VEC(share_entry) entries;
    bool check;               /* UNETRC_CHECK_SHARE */
    share_entry pending;      /* the key of the kernel being built (key NULL: none) */
    const urc_kernel *expect; /* check: the kernel whose body it should equal */
    int64_t checked;          /* check mode: bodies compared */
    /* int8 nodes' quantised weights (urc_lower_wdata), computed once per node */
    URC_VEC(struct wq) wq;
};

/* Constants are found by content: dtype, element count and FNV-1a hash,
 * confirmed byte for byte, so equal tensors (even from another graph
 * lowered into the same blob) are stored once. */
static const char *const_key(urc_dtype dt, int64_t count, const void *data, int64_t bytes) {
    return urc_fmt("%d:%lld:%016llx", (int)dt, (long long)count,
                   (unsigned long long)urc_fnv1a64(data, (size_t)bytes, URC_FNV_INIT));
}

static int64_t weights_offset(urc_lower *L, const urc_value *v) {
    urc_program *P = L->prog;
    int64_t bytes = urc_shape_numel(&v->shape) * urc_dtype_size(v->dtype);
    const char *key = const_key(v->dtype, urc_shape_numel(&v->shape), v->data, bytes);
    for (int probe = 0;; probe++) {
        const char *k = probe ? urc_fmt("%s#%d", key, probe) : key;
        intptr_t off1 = (intptr_t)urc_map_get(&L->share->weight_offsets, k);
        if (!off1) {
            key = k;
            break;
        }
        if (!memcmp(P->weights + off1 - 1, v->data, (size_t)bytes)) return (int64_t)off1 - 1;
    }
    int64_t off = urc_align_up(P->weights_bytes, P->align);
    int64_t end = off + (bytes ? bytes : 1);
    if (urc_align_up(end, P->align) > L->weights_cap) { /* doubling: a realloc per constant copied the blob each time */
        L->weights_cap =
            2 * L->weights_cap > urc_align_up(end, P->align) ? 2 * L->weights_cap : urc_align_up(end, P->align);
        P->weights = urc_xrealloc(P->weights, (size_t)L->weights_cap);
    }
    memset(P->weights + P->weights_bytes, 0, (size_t)(urc_align_up(end, P->align) - P->weights_bytes));
    memcpy(P->weights + off, v->data, (size_t)bytes);
    P->weights_bytes = urc_align_up(end, P->align);
    urc_map_put(&L->share->weight_offsets, key, (void *)(intptr_t)(off + 1));
    urc_wentry we = {v->name, v->dtype, off, urc_shape_numel(&v->shape)};
    URC_VEC_PUSH(P->wentries, we);
    if (v->flags & URC_VAL_PARAM) P->params += urc_shape_numel(&v->shape);
    return off;
}

static urc_mref value_ref(urc_lower *L, const urc_value *v) {
    if (v->data) return (urc_mref){URC_MEM_WEIGHTS, weights_offset(L, v), 0};
    URC_ASSERT(L->plan->placed[v->id], "value has no place in the memory plan");
    return L->plan->ref[v->id];
}

int urc_lower_bind(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint, urc_kbuf_role role) {
    for (int i = 0; i < k->bufs.len; i++)
        if (k->bufs.items[i].value == v) {
            if (role == URC_KB_OUT) k->bufs.items[i].role = URC_KB_OUT;
            return i;
        }
    int64_t count = urc_shape_numel(&v->shape);
    int b = urc_kernel_buf(k, hint, v->dtype, count, role, v);
    if (count > L->prog->max_buf_elems) L->prog->max_buf_elems = count;
    urc_call *c = &L->prog->calls.items[L->prog->calls.len - 1];
    URC_ASSERT(c->k == k, "binding a buffer to a kernel that is not the current one");
    int na = 0;
    for (int i = 0; i < k->bufs.len - 1; i++)
        if (k->bufs.items[i].role != URC_KB_LOCAL) na++;
    urc_mref *args = urc_alloc(sizeof(urc_mref) * (size_t)(na + 1));
    if (na) memcpy(args, c->args, sizeof(urc_mref) * (size_t)na);
    args[na] = value_ref(L, v);
    /* Two parameters in the same memory (an in-place elementwise op, or x
     * bound twice through views): neither may be declared restrict. */
    for (int i = 0, a = 0; i < k->bufs.len - 1; i++) {
        if (k->bufs.items[i].role == URC_KB_LOCAL) continue;
        const urc_mref *m = &args[a++];
        if (m->space == args[na].space && m->offset == args[na].offset && m->index == args[na].index)
            k->bufs.items[i].may_alias = k->bufs.items[b].may_alias = true;
    }
    c->args = args;
    return b;
}

int urc_lower_in(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint) {
    return urc_lower_bind(L, k, v, hint, URC_KB_IN);
}

int urc_lower_out(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint) {
    return urc_lower_bind(L, k, v, hint, URC_KB_OUT);
}

urc_lx *urc_lower_load(urc_lower *L, urc_kernel *k, const urc_value *v, urc_lx *idx) {
    if (v->data && urc_shape_numel(&v->shape) == 1) {
        if (urc_dtype_is_float(v->dtype)) return urc_lx_flt(urc_elem_f64(v->dtype, v->data, 0), v->dtype);
        urc_lx *e = urc_lx_int(urc_elem_i64(v->dtype, v->data, 0));
        e->dt = v->dtype;
        return e;
    }
    int b = urc_lower_in(L, k, v, "c");
    return urc_lx_load(k, b, idx);
}

int urc_lower_const(urc_lower *L, urc_kernel *k, const char *hint, urc_dtype dt, int64_t count, const void *data) {
    urc_value *v = urc_alloc(sizeof *v);
    v->id = -1;
    v->name = urc_fmt("%%const%d_%s", L->nconsts++, hint);
    v->dtype = dt;
    v->shape = (urc_shape){1, {count}};
    v->has_type = true;
    size_t bytes = (size_t)count * (size_t)urc_dtype_size(dt);
    v->data = urc_alloc(bytes ? bytes : 1);
    memcpy(v->data, data, bytes);
    return urc_lower_in(L, k, v, hint);
}

/* ---- reduced-precision weights ------------------------------------------- */

urc_dtype urc_lower_wdtype(const urc_node *n) {
    return n->wdtype == URC_DT_BF16 || n->wdtype == URC_DT_F16 || n->wdtype == URC_DT_I8 ? n->wdtype : URC_DT_F32;
}

/* data rounded to dt (bf16/f16; int8: data are integers in [-127, 127], converted exactly) in a new array. */
static void *to_storage(urc_dtype dt, int64_t count, const float *data) {
    if (dt == URC_DT_I8) {
        int8_t *q = urc_xmalloc((size_t)(count ? count : 1));
        for (int64_t i = 0; i < count; i++) {
            URC_ASSERT(data[i] == nearbyintf(data[i]) && fabsf(data[i]) <= 127, "int8 weights not quantised");
            q[i] = (int8_t)data[i];
        }
        return q;
    }
    uint16_t *h = urc_xmalloc((size_t)(count ? count : 1) * sizeof(uint16_t));
    for (int64_t i = 0; i < count; i++) h[i] = dt == URC_DT_BF16 ? urc_f32_to_bf16(data[i]) : urc_f32_to_f16(data[i]);
    return h;
}

static const struct wq *wq_of(urc_lower *L, const urc_node *n) {
    struct urc_share *S = L->share;
    for (int i = 0; i < S->wq.len; i++)
        if (S->wq.items[i].n == n) return &S->wq.items[i];
    struct wq e = {n, urc_xmalloc(sizeof(float) * (size_t)urc_shape_numel(&n->in[1]->shape)),
                   urc_xmalloc(sizeof(float) * (size_t)urc_precision_channels(n))};
    urc_precision_quantize(n, e.q, e.scale);
    URC_VEC_PUSH(S->wq, e);
    return &S->wq.items[S->wq.len - 1];
}

const float *urc_lower_wdata(urc_lower *L, const urc_node *n) {
    return urc_lower_wdtype(n) == URC_DT_I8 ? wq_of(L, n)->q : n->in[1]->data;
}

int urc_lower_wscale(urc_lower *L, urc_kernel *k, const urc_node *n, int64_t cols, int64_t valid) {
    if (urc_lower_wdtype(n) != URC_DT_I8) return -1;
    const float *s = wq_of(L, n)->scale;
    int64_t nch = urc_precision_channels(n);
    float *sp = urc_xmalloc(sizeof(float) * (size_t)(cols ? cols : 1));
    for (int64_t j = 0; j < cols; j++) sp[j] = j < valid ? s[j % nch] : 0.0f;
    int b = urc_lower_const(L, k, "wscale", URC_DT_F32, cols, sp);
    free(sp);
    return b;
}

int urc_lower_wconst(urc_lower *L, urc_kernel *k, const urc_node *n, const char *hint, int64_t count,
                     const float *data) {
    urc_dtype dt = urc_lower_wdtype(n);
    if (dt == URC_DT_F32) return urc_lower_const(L, k, hint, URC_DT_F32, count, data);
    void *h = to_storage(dt, count, data);
    int b = urc_lower_const(L, k, hint, dt, count, h);
    free(h);
    return b;
}

int urc_lower_win(urc_lower *L, urc_kernel *k, const urc_node *n, const urc_value *v, const char *hint) {
    urc_dtype dt = urc_lower_wdtype(n);
    if (dt == URC_DT_F32 || !v->data || v->dtype != URC_DT_F32) return urc_lower_in(L, k, v, hint);
    URC_ASSERT(v == n->in[1], "reduced weights bound from another value than the node's weights");
    int64_t count = urc_shape_numel(&v->shape);
    urc_value *r = urc_alloc(sizeof *r);
    *r = *v;
    r->id = -1;
    r->dtype = dt;
    void *h = to_storage(dt, count, urc_lower_wdata(L, n));
    r->data = urc_alloc((size_t)(count ? count : 1) * (size_t)urc_dtype_size(dt));
    memcpy(r->data, h, (size_t)count * (size_t)urc_dtype_size(dt));
    free(h);
    r->flags &= ~URC_VAL_PARAM; /* (a constant: never a trainable parameter) */
    return urc_lower_in(L, k, r, hint);
}

bool urc_lower_dot2(const urc_lower *L, const urc_node *n) {
    return urc_lower_wdtype(n) == URC_DT_BF16 && urc_target_dot2(L->target);
}

int urc_lower_wpairs(urc_lower *L, urc_kernel *k, const char *hint, int64_t outer, int64_t K, int64_t cols,
                     const float *data) {
    URC_ASSERT(K % 2 == 0, "bfloat16 pairs of an odd reduction");
    int64_t n = outer * K / 2 * cols;
    uint32_t *p = urc_xmalloc((size_t)(n ? n : 1) * sizeof *p);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t r = 0; r < K; r += 2)
            for (int64_t j = 0; j < cols; j++) {
                const float *d = data + (o * K + r) * cols + j;
                p[(o * K / 2 + r / 2) * cols + j] = (uint32_t)urc_f32_to_bf16(d[0]) | (uint32_t)urc_f32_to_bf16(d[cols])
                                                                                          << 16;
            }
    int b = urc_lower_const(L, k, hint, URC_DT_U32, n, p);
    free(p);
    return b;
}

float *urc_lower_wlow(const float *w, int64_t count) {
    float *lo = urc_xmalloc((size_t)(count ? count : 1) * sizeof *lo);
    for (int64_t i = 0; i < count; i++) lo[i] = w[i] - urc_bf16_to_f32(urc_f32_to_bf16(w[i]));
    return lo;
}

urc_lx *urc_lower_wload(const urc_kernel *k, int b, urc_lx *idx, urc_dtype dt) {
    return urc_lx_cast(dt, urc_lx_load(k, b, idx));
}

urc_lx *urc_lower_wscaled(const urc_kernel *k, urc_lx *w, int bs, urc_lx *col) {
    return bs < 0 ? w : urc_lx_bin(URC_L_MUL, w, urc_lx_load(k, bs, col));
}

/* ---- shared bodies (urc_lower_reuse) -------------------------------------- */

/* A word at a time (byte-wise FNV over signatures of a few hundred bytes
 * per node showed on graphs of 10^5 nodes). */
static uint64_t share_hash(const int64_t *key, int nkey) {
    uint64_t h = URC_FNV_INIT;
    for (int i = 0; i < nkey; i++) h = urc_mix64(h, (uint64_t)key[i]);
    return h;
}

bool urc_lower_reuse(urc_lower *L, urc_kernel *k, const urc_node *n, const int64_t *key, int nkey) {
    struct urc_share *S = L->share;
    int64_t *full = urc_alloc(sizeof(int64_t) * (size_t)(nkey + 1));
    full[0] = n->op;
    memcpy(full + 1, key, sizeof(int64_t) * (size_t)nkey);
    uint64_t h = share_hash(full, nkey + 1);
    S->pending = (share_entry){full, nkey + 1, NULL, k->bufs.len};
    S->expect = NULL;
    for (int e = urc_hindex_first(&S->index, h); e >= 0; e = urc_hindex_next(&S->index, e)) {
        const share_entry *x = &S->entries.items[e];
        if (x->nkey != nkey + 1 || memcmp(x->key, full, sizeof(int64_t) * (size_t)(nkey + 1)) ||
            x->nbound != k->bufs.len)
            continue;
        bool same = true;
        for (int i = 0; i < k->bufs.len && same; i++) same = urc_kbuf_eq(&x->k->bufs.items[i], &k->bufs.items[i]);
        if (!same) continue;
        if (S->check) { /* build it anyway; remember compares */
            S->expect = x->k;
            return false;
        }
        for (int i = k->bufs.len; i < x->k->bufs.len; i++)
            URC_VEC_PUSH(k->bufs, x->k->bufs.items[i]); /* local arrays */
        k->vars = x->k->vars;                           /* shared, read only from here on */
        k->body = x->k->body;
        k->can_fail = x->k->can_fail;
        S->pending.key = NULL;
        return true;
    }
    return false;
}

void urc_lower_remember(urc_lower *L, urc_kernel *k) {
    struct urc_share *S = L->share;
    share_entry e = S->pending;
    S->pending.key = NULL;
    if (!e.key) return;
    if (S->expect) {
        URC_ASSERT(urc_kernel_eq(S->expect, k), "a shared kernel body differs from the one built for its key");
        S->checked++;
        return;
    }
    for (int i = e.nbound; i < k->bufs.len; i++)
        if (k->bufs.items[i].role != URC_KB_LOCAL) return; /* the body bound a parameter itself */
    e.k = k;
    urc_hindex_add(&S->index, share_hash(e.key, e.nkey));
    URC_VEC_PUSH(S->entries, e);
}

/* ---- nodes lowered by signature (urc_op_impl.signature_lower) -------------- */

typedef struct sig_slot {
    int kind; /* 0: local array, 1: n->in[j], 2: n->out[j], 3: a constant lowering made */
    int j;
    const urc_value *v; /* kind 3 */
} sig_slot;

typedef struct sig_entry {
    const int64_t *key;
    int nkey;
    const urc_kernel *k;
    const sig_slot *slots; /* one per buffer of k */
} sig_entry;

struct urc_sigmemo {
    urc_hindex index;
    URC_VEC(sig_entry) entries;
};

/* op, attributes (their bytes, conservative: only equal bytes match) and
 * every value's dtype, shape, constness, one-element value and which
 * earlier slot (if any) holds the same value. */
static int sig_key(const urc_node *n, int64_t *key, int max) {
    int k = 0;
    key[k++] = n->op;
    key[k++] = n->nin;
    key[k++] = n->nout;
    int64_t words[(sizeof n->a + 7) / 8] = {0};
    memcpy(words, &n->a, sizeof n->a);
    for (size_t i = 0; i < URC_ARRAY_LEN(words); i++) key[k++] = words[i];
    for (int j = 0; j < n->nin + n->nout; j++) {
        const urc_value *v = j < n->nin ? n->in[j] : n->out[j - n->nin];
        if (k + 7 + URC_MAX_RANK > max) return -1;
        if (!v) {
            key[k++] = -1;
            continue;
        }
        int first = 0; /* the first slot holding the same value (x * x binds x once) */
        while ((first < n->nin ? n->in[first] : n->out[first - n->nin]) != v) first++;
        key[k++] = first;
        key[k++] = v->dtype;
        key[k++] = v->shape.rank;
        for (int d = 0; d < v->shape.rank; d++) key[k++] = v->shape.dims[d];
        key[k++] = v->data != NULL;
        if (v->data && urc_shape_numel(&v->shape) == 1) {
            double f = urc_elem_f64(v->dtype, v->data, 0);
            int64_t bits;
            memcpy(&bits, &f, sizeof bits);
            key[k++] = bits;
            key[k++] = urc_dtype_is_float(v->dtype) ? 0 : urc_elem_i64(v->dtype, v->data, 0);
        }
    }
    return k;
}

#define SIG_KEY_MAX (sizeof(urc_attrs) / 8 + 8 + 32 * (8 + URC_MAX_RANK))

/* n's kernel from x's: the same buffers bound to n's values, x's body.
 * False (and nothing added) when the buffers come out different. */
static bool sig_apply(urc_lower *L, const urc_node *n, const sig_entry *x) {
    urc_program *P = L->prog;
    urc_kernel *k = urc_lower_begin(L, n);
    for (int i = 0; i < x->k->bufs.len; i++) {
        const urc_kbuf *b = &x->k->bufs.items[i];
        const sig_slot *s = &x->slots[i];
        if (s->kind == 0) {
            URC_VEC_PUSH(k->bufs, *b);
            continue;
        }
        const urc_value *v = s->kind == 1 ? n->in[s->j] : s->kind == 2 ? n->out[s->j] : s->v;
        if (urc_lower_bind(L, k, v, b->name, b->role) != i) break;
    }
    bool same = k->bufs.len == x->k->bufs.len;
    for (int i = 0; i < k->bufs.len && same; i++) same = urc_kbuf_eq(&k->bufs.items[i], &x->k->bufs.items[i]);
    if (!same) { /* undo: the caller lowers n itself */
        P->kernels.len--;
        P->calls.len--;
        L->nkernels--;
        return false;
    }
    k->vars = x->k->vars; /* shared, read only from here on */
    k->body = x->k->body;
    k->can_fail = x->k->can_fail;
    return true;
}

/* The slots of k's buffers in node n, or NULL when a buffer is bound to a
 * graph value that is none of n's. */
static const sig_slot *sig_slots(const urc_node *n, const urc_kernel *k) {
    sig_slot *slots = urc_alloc(sizeof(sig_slot) * (size_t)(k->bufs.len + 1));
    for (int i = 0; i < k->bufs.len; i++) {
        const urc_kbuf *b = &k->bufs.items[i];
        sig_slot *s = &slots[i];
        if (b->role == URC_KB_LOCAL) continue;
        s->kind = -1;
        for (int j = 0; j < n->nin && s->kind < 0; j++)
            if (n->in[j] == b->value) *s = (sig_slot){1, j, NULL};
        for (int j = 0; j < n->nout && s->kind < 0; j++)
            if (n->out[j] == b->value) *s = (sig_slot){2, j, NULL};
        if (s->kind < 0 && b->value && b->value->id < 0 && b->value->data) *s = (sig_slot){3, 0, b->value};
        if (s->kind < 0) return NULL;
    }
    return slots;
}

static bool same_bufs(const urc_kernel *a, const urc_kernel *b) {
    if (a->bufs.len != b->bufs.len) return false;
    for (int i = 0; i < a->bufs.len; i++)
        if (!urc_kbuf_eq(&a->bufs.items[i], &b->bufs.items[i])) return false;
    return true;
}

/* Lowers n, through the signature memo when its op allows. Nodes of one
 * signature whose values alias differently (x + x, an in-place output)
 * get buffers of their own, and an entry of their own. */
bool urc_lower_node(urc_lower *L, const urc_node *n) {
    struct urc_sigmemo *M = L->sigs;
    const urc_op_impl *impl = urc_ops[n->op].impl;
    if (!impl->signature_lower) return impl->lower(L, n);
    int64_t key[SIG_KEY_MAX];
    int nkey = sig_key(n, key, (int)URC_ARRAY_LEN(key));
    if (nkey < 0) return impl->lower(L, n);
    uint64_t h = share_hash(key, nkey);
    for (int e = urc_hindex_first(&M->index, h); e >= 0 && !L->share->check; e = urc_hindex_next(&M->index, e)) {
        const sig_entry *x = &M->entries.items[e];
        if (x->nkey != nkey || memcmp(x->key, key, sizeof(int64_t) * (size_t)nkey)) continue;
        if (sig_apply(L, n, x)) return true;
    }
    int before = L->prog->kernels.len;
    if (!impl->lower(L, n)) return false;
    if (L->prog->kernels.len != before + 1) return true; /* no kernel, or several */
    const urc_kernel *k = L->prog->kernels.items[before];
    for (int e = urc_hindex_first(&M->index, h); e >= 0 && L->share->check; e = urc_hindex_next(&M->index, e)) {
        const sig_entry *x = &M->entries.items[e];
        if (x->nkey != nkey || memcmp(x->key, key, sizeof(int64_t) * (size_t)nkey) || !same_bufs(x->k, k)) continue;
        /* check mode: the body it would have shared */
        URC_ASSERT(urc_kernel_eq(x->k, k), "a kernel lowered by signature differs from its twin's");
        L->share->checked++;
        return true;
    }
    const sig_slot *slots = sig_slots(n, k);
    if (!slots) return true;
    int64_t *kc = urc_alloc(sizeof(int64_t) * (size_t)nkey);
    memcpy(kc, key, sizeof(int64_t) * (size_t)nkey);
    sig_entry e = {kc, nkey, k, slots};
    urc_hindex_add(&M->index, h);
    URC_VEC_PUSH(M->entries, e);
    return true;
}

bool urc_lower_is_view(const urc_lower *L, const urc_node *n) {
    int i = urc_node_index_get(&L->pos, L->g, n);
    return i >= 0 && L->plan->view[i];
}

static void copy_kernel(urc_lower *L, urc_kernel *k, const urc_value *src, const urc_value *dst) {
    int bi = urc_lower_in(L, k, src, "x");
    int bo = urc_lower_out(L, k, dst, "y");
    urc_shape flat = {1, {urc_shape_numel(&dst->shape)}};
    int iv[1];
    urc_ls *body = urc_loop_nest(k, k->body, &flat, iv, URC_FOR_PARALLEL);
    urc_ls_store(body, bo, urc_lx_var(k, iv[0]), urc_lx_load(k, bi, urc_lx_var(k, iv[0])));
}

bool urc_lower_copy(urc_lower *L, const urc_node *n, const urc_value *src, const urc_value *dst) {
    urc_kernel *k = urc_lower_begin(L, n);
    copy_kernel(L, k, src, dst);
    return true;
}

/* ---- the context ------------------------------------------------------------ */

void urc_lower_init(urc_lower *L, urc_program *P, urc_graph *g, urc_memplan *plan, const urc_target *target,
                    const urc_program *share) {
    memset(L, 0, sizeof *L);
    L->prog = P;
    L->g = g;
    L->plan = plan;
    L->target = target;
    L->share = urc_xcalloc(1, sizeof *L->share);
    L->share->check = getenv("UNETRC_CHECK_SHARE") && !strcmp(getenv("UNETRC_CHECK_SHARE"), "1");
    L->sigs = urc_xcalloc(1, sizeof *L->sigs);
    urc_node_index_build(&L->pos, g);
    if (share) { /* continue share's weights blob: its offsets stay valid */
        P->weights_bytes = share->weights_bytes;
        P->weights = urc_xmalloc((size_t)(share->weights_bytes ? share->weights_bytes : 1));
        L->weights_cap = share->weights_bytes;
        memcpy(P->weights, share->weights, (size_t)share->weights_bytes);
        for (int i = 0; i < share->wentries.len; i++) {
            const urc_wentry *e = &share->wentries.items[i];
            int64_t bytes = e->count * urc_dtype_size(e->dt);
            urc_map_put(&L->share->weight_offsets, const_key(e->dt, e->count, P->weights + e->offset, bytes),
                        (void *)(intptr_t)(e->offset + 1));
            URC_VEC_PUSH(P->wentries, *e);
        }
        L->nkernels = share->kernels.len + 1000;
    }
}

void urc_lower_finish(urc_lower *L) {
    struct urc_share *S = L->share;
    if (S->check) fprintf(stderr, "unetrc: %lld shared kernel bodies checked\n", (long long)S->checked);
    urc_map_free(&S->weight_offsets);
    for (int i = 0; i < S->wq.len; i++) {
        free(S->wq.items[i].q);
        free(S->wq.items[i].scale);
    }
    free(S->wq.items);
    urc_hindex_free(&S->index);
    free(S->entries.items);
    free(S);
    urc_hindex_free(&L->sigs->index);
    free(L->sigs->entries.items);
    free(L->sigs);
    urc_node_index_free(&L->pos);
}
