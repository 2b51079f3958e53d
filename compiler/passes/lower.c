/* lower.c: graph + memory plan -> loop program (see loop/lower.h).
 *
 * Walks nodes in order and calls each op's lower callback. Constants that
 * kernels read are packed into the weights blob (64-byte aligned, in first
 * use order); one-element constants become literals instead. Graph outputs
 * that are not computed by a node of their own (a graph input or a
 * constant passed through, or one value listed twice) get a copy kernel. */
#define _GNU_SOURCE
#include "lower_pass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"
#include "memplan.h"

static const char *c_ident(const char *s) {
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
    const char *name = urc_fmt("k%d_%s", L->nkernels++, c_ident(urc_ops[n->op].name));
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
        intptr_t off1 = (intptr_t)urc_map_get(&L->weight_offsets, k);
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
    urc_map_put(&L->weight_offsets, key, (void *)(intptr_t)(off + 1));
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

static int bind(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint, urc_kbuf_role role) {
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
    return bind(L, k, v, hint, URC_KB_IN);
}

int urc_lower_out(urc_lower *L, urc_kernel *k, const urc_value *v, const char *hint) {
    return bind(L, k, v, hint, URC_KB_OUT);
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

/* ---- shared bodies (urc_lower_reuse) -------------------------------------- */

typedef struct share_entry {
    const int64_t *key; /* op, then the op's key */
    int nkey;
    const urc_kernel *k; /* the kernel that built the body */
    int nbound;          /* its parameters when reuse was asked */
} share_entry;

struct urc_share {
    urc_hindex index; /* key hash -> entry */
    URC_VEC(share_entry) entries;
    bool check;               /* UNETRC_CHECK_SHARE */
    share_entry pending;      /* the key of the kernel being built (key NULL: none) */
    const urc_kernel *expect; /* check: the kernel whose body it should equal */
    int64_t checked;          /* check mode: bodies compared */
};

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

typedef struct urc_sigmemo {
    urc_hindex index;
    URC_VEC(sig_entry) entries;
} urc_sigmemo;

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
        if (bind(L, k, v, b->name, b->role) != i) break;
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
static bool lower_node(urc_lower *L, urc_sigmemo *M, const urc_node *n) {
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

urc_program *urc_lower_graph(urc_graph *g, urc_memplan *plan, const char *name, int align, const urc_target *target,
                             urc_program *share) {
    urc_program *P = urc_alloc(sizeof *P);
    P->name = name;
    P->align = align;
    P->target = *target;
    struct urc_share shared = {.check = getenv("UNETRC_CHECK_SHARE") && !strcmp(getenv("UNETRC_CHECK_SHARE"), "1")};
    urc_lower L = {.prog = P, .g = g, .plan = plan, .target = target, .share = &shared};
    urc_node_index_build(&L.pos, g);
    if (share) { /* continue share's weights blob: its offsets stay valid */
        P->weights_bytes = share->weights_bytes;
        P->weights = urc_xmalloc((size_t)(share->weights_bytes ? share->weights_bytes : 1));
        L.weights_cap = share->weights_bytes;
        memcpy(P->weights, share->weights, (size_t)share->weights_bytes);
        for (int i = 0; i < share->wentries.len; i++) {
            const urc_wentry *e = &share->wentries.items[i];
            int64_t bytes = e->count * urc_dtype_size(e->dt);
            urc_map_put(&L.weight_offsets, const_key(e->dt, e->count, P->weights + e->offset, bytes),
                        (void *)(intptr_t)(e->offset + 1));
            URC_VEC_PUSH(P->wentries, *e);
        }
        L.nkernels = share->kernels.len + 1000;
    }
    P->arena_bytes = plan->arena_bytes;
    P->arena_lower_bound = plan->lower_bound;
    P->intermediate_bytes = plan->total_bytes;
    P->params_init_offset = -1;
    P->params_bytes = plan->params_bytes;
    P->state_bytes = plan->state_bytes;
    for (int i = 0; i < g->inputs.len; i++) {
        urc_value *v = g->inputs.items[i];
        const urc_mref *m = &plan->ref[v->id];
        if (m->space == URC_MEM_PARAMS || m->space == URC_MEM_STATE) {
            urc_pentry e = {v->name, v->dtype, m->offset, urc_shape_numel(&v->shape), m->space == URC_MEM_STATE};
            URC_VEC_PUSH(P->regions, e);
            continue;
        }
        if (v == g->label) { /* the entry point checks the labels */
            P->label_input = P->inputs.len;
            P->label_values = g->label_values;
            P->nclasses = g->nclasses;
        }
        urc_io io = {v->name, urc_fmt("in_%s", c_ident(v->name)), v->dtype, v->shape};
        URC_VEC_PUSH(P->inputs, io);
    }
    for (int i = 0; i < g->outputs.len; i++) {
        urc_value *v = g->outputs.items[i];
        urc_io io = {v->name, urc_fmt("out_%s", c_ident(v->name)), v->dtype, v->shape};
        URC_VEC_PUSH(P->outputs, io);
    }
    /* Unique C names for inputs and outputs: a name taken by an earlier one
     * gets the first suffix _2, _3, ... that no earlier name has (inputs 'x_2',
     * 'x', 'x.' give in_x_2, in_x, in_x_3: one renaming pass could collide
     * with a name before it). Maps of the names so far and of the next
     * suffix to try per base name keep this linear. Inputs and outputs
     * differ by prefix. */
    for (int pass = 0; pass < 2; pass++) {
        URC_VEC(urc_io) *list = pass ? (void *)&P->outputs : (void *)&P->inputs;
        urc_map taken = {0}, next = {0};
        for (int i = 0; i < list->len; i++) {
            const char *base = list->items[i].cname, *name = base;
            if (urc_map_get(&taken, name)) {
                intptr_t k = (intptr_t)urc_map_get(&next, base);
                if (k < 2) k = 2;
                do name = urc_fmt("%s_%ld", base, (long)k++);
                while (urc_map_get(&taken, name));
                urc_map_put(&next, base, (void *)k);
            }
            urc_map_put(&taken, name, (void *)1);
            list->items[i].cname = name;
        }
        urc_map_free(&taken);
        urc_map_free(&next);
    }
    bool ok = true;
    urc_sigmemo sigs = {0};
    for (int i = 0; i < g->nodes.len; i++) {
        urc_node *n = g->nodes.items[i];
        if (plan->view[i]) continue;
        if (!lower_node(&L, &sigs, n)) ok = false;
    }
    urc_hindex_free(&sigs.index);
    free(sigs.entries.items);
    /* Outputs not written by their producer. */
    for (int i = 0; i < g->outputs.len; i++) {
        urc_value *v = g->outputs.items[i];
        bool direct = plan->placed[v->id] && plan->ref[v->id].space == URC_MEM_OUTPUT && plan->ref[v->id].index == i;
        if (direct) continue;
        const char *cname = urc_fmt("k%d_output_copy", L.nkernels++);
        urc_kernel *k = urc_kernel_new(cname, urc_fmt("copy into output '%s'", v->name));
        urc_call c = {k, NULL};
        URC_VEC_PUSH(P->kernels, k);
        URC_VEC_PUSH(P->calls, c);
        /* Bind the source, then the output slot by hand. */
        int bi = urc_lower_in(&L, k, v, "x");
        int bo = urc_kernel_buf(k, "y", v->dtype, urc_shape_numel(&v->shape), URC_KB_OUT, NULL);
        urc_call *cc = &P->calls.items[P->calls.len - 1];
        urc_mref *args = urc_alloc(sizeof(urc_mref) * 2);
        args[0] = cc->args[0];
        args[1] = (urc_mref){URC_MEM_OUTPUT, 0, i};
        cc->args = args;
        urc_shape flat = {1, {urc_shape_numel(&v->shape)}};
        int iv[1];
        urc_ls *body = urc_loop_nest(k, k->body, &flat, iv, URC_FOR_PARALLEL);
        urc_ls_store(body, bo, urc_lx_var(k, iv[0]), urc_lx_load(k, bi, urc_lx_var(k, iv[0])));
    }
    /* The parameters' initial values, laid out as the params region, at the
     * end of the weights blob (copied by NAME_train_init). */
    if (P->params_bytes) {
        int64_t off = urc_align_up(P->weights_bytes, align), end = off + P->params_bytes;
        P->weights = urc_xrealloc(P->weights, (size_t)end);
        memset(P->weights + P->weights_bytes, 0, (size_t)(end - P->weights_bytes));
        for (int i = 0; i < g->inputs.len; i++) {
            urc_value *v = g->inputs.items[i];
            const urc_mref *m = &plan->ref[v->id];
            if (m->space == URC_MEM_PARAMS && v->init)
                memcpy(P->weights + off + m->offset, v->init,
                       (size_t)(urc_shape_numel(&v->shape) * urc_dtype_size(v->dtype)));
        }
        P->params_init_offset = off;
        P->weights_bytes = end;
    }
    P->weights_checksum = urc_fnv1a64(P->weights, (size_t)P->weights_bytes, URC_FNV_INIT);
    urc_map_free(&L.weight_offsets);
    urc_node_index_free(&L.pos);
    urc_hindex_free(&shared.index);
    free(shared.entries.items);
    if (shared.check) fprintf(stderr, "unetrc: %lld shared kernel bodies checked\n", (long long)shared.checked);
    return ok ? P : NULL;
}
