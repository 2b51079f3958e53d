/* loop.c: builders for the loop-level representation (see loop.h). */
#include "loop.h"

#include <string.h>

bool urc_lop_is_unary(urc_lop op) { return op <= URC_L_ISINF; }
bool urc_lop_is_compare(urc_lop op) {
    return (op >= URC_L_LT && op <= URC_L_XOR) || op == URC_L_NOT || op == URC_L_ISNAN || op == URC_L_ISINF;
}

static urc_lx *lx_new(urc_lx_kind kind, urc_dtype dt) {
    urc_lx *e = urc_alloc(sizeof *e);
    e->kind = kind;
    e->dt = dt;
    return e;
}

urc_lx *urc_lx_int(int64_t v) {
    urc_lx *e = lx_new(URC_LX_INT, URC_DT_I64);
    e->i = v;
    return e;
}

urc_lx *urc_lx_flt(double v, urc_dtype dt) {
    urc_lx *e = lx_new(URC_LX_FLT, dt);
    e->f = v;
    return e;
}

urc_lx *urc_lx_const(double v, urc_dtype dt) {
    if (urc_dtype_is_float(dt)) return urc_lx_flt(v, dt);
    urc_lx *e = lx_new(URC_LX_INT, dt);
    e->i = urc_f64_to_int(v, dt); /* saturating: no undefined conversion of a huge or NaN v */
    return e;
}

urc_lx *urc_lx_var(const urc_kernel *k, int var) {
    URC_ASSERT(var >= 0 && var < k->vars.len, "bad variable");
    urc_lx *e = lx_new(URC_LX_VAR, k->vars.items[var].dt);
    e->var = var;
    return e;
}

urc_lx *urc_lx_load(const urc_kernel *k, int buf, urc_lx *idx) {
    URC_ASSERT(buf >= 0 && buf < k->bufs.len, "bad buffer");
    urc_lx *e = lx_new(URC_LX_LOAD, k->bufs.items[buf].dt);
    e->buf = buf;
    e->a = idx;
    return e;
}

urc_lx *urc_lx_un(urc_lop op, urc_lx *a) {
    URC_ASSERT(urc_lop_is_unary(op), "not a unary op");
    urc_lx *e = lx_new(URC_LX_UN, urc_lop_is_compare(op) ? URC_DT_BOOL : op == URC_L_BITS_F32 ? URC_DT_F32 : a->dt);
    e->op = op;
    e->a = a;
    return e;
}

urc_lx *urc_lx_bin(urc_lop op, urc_lx *a, urc_lx *b) {
    URC_ASSERT(!urc_lop_is_unary(op) && op < URC_L_COUNT, "not a binary op");
    urc_lx *e = lx_new(URC_LX_BIN, urc_lop_is_compare(op) ? URC_DT_BOOL : a->dt);
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

urc_lx *urc_lx_sel(urc_lx *cond, urc_lx *a, urc_lx *b) {
    urc_lx *e = lx_new(URC_LX_SEL, a->dt);
    e->a = cond;
    e->b = a;
    e->c = b;
    return e;
}

urc_lx *urc_lx_fma(urc_lx *a, urc_lx *b, urc_lx *c) {
    URC_ASSERT(urc_dtype_is_float(a->dt), "fma of a non-float");
    urc_lx *e = lx_new(URC_LX_FMA, a->dt);
    e->a = a;
    e->b = b;
    e->c = c;
    return e;
}

urc_lx *urc_lx_cast(urc_dtype dt, urc_lx *a) {
    if (a->dt == dt) return a;
    if (a->kind == URC_LX_INT && urc_dtype_is_int(dt) && dt == URC_DT_I64) {
        urc_lx *e = urc_lx_int(a->i);
        return e;
    }
    urc_lx *e = lx_new(URC_LX_CAST, dt);
    e->a = a;
    return e;
}

urc_lx *urc_lx_pair(const urc_kernel *k, int buf, urc_lx *idx) {
    URC_ASSERT(k->bufs.items[buf].dt == URC_DT_BF16 || k->bufs.items[buf].dt == URC_DT_U8,
               "a pair of a buffer that is not bfloat16 or uint8");
    urc_lx *e = urc_lx_load(k, buf, idx);
    e->kind = URC_LX_PAIR;
    e->dt = URC_DT_U32;
    return e;
}

/* A pair or quad product (kind) of two uint32 operands accumulated into c of dtype acc. */
static urc_lx *dot(urc_lx_kind kind, urc_dtype acc, urc_lx *a, urc_lx *b, urc_lx *c) {
    URC_ASSERT(a->dt == URC_DT_U32 && b->dt == URC_DT_U32 && c->dt == acc, "dot2/dot4 operand types");
    urc_lx *e = lx_new(kind, acc);
    e->a = a;
    e->b = b;
    e->c = c;
    return e;
}

urc_lx *urc_lx_dot2(urc_lx *a, urc_lx *b, urc_lx *c) { return dot(URC_LX_DOT2, URC_DT_F32, a, b, c); }
urc_lx *urc_lx_dot4(urc_lx *a, urc_lx *b, urc_lx *c) { return dot(URC_LX_DOT4, URC_DT_I32, a, b, c); }

bool urc_lx_uses_var(const urc_lx *e, int v) {
    if (!e) return false;
    if (e->kind == URC_LX_VAR && e->var == v) return true;
    return urc_lx_uses_var(e->a, v) || urc_lx_uses_var(e->b, v) || urc_lx_uses_var(e->c, v);
}

bool urc_lx_unit_stride(const urc_lx *e, int v) {
    if (e->kind == URC_LX_VAR) return e->var == v;
    if (e->kind != URC_LX_BIN) return false;
    if (e->op == URC_L_ADD)
        return (urc_lx_unit_stride(e->a, v) && !urc_lx_uses_var(e->b, v)) ||
               (!urc_lx_uses_var(e->a, v) && urc_lx_unit_stride(e->b, v));
    return e->op == URC_L_SUB && urc_lx_unit_stride(e->a, v) && !urc_lx_uses_var(e->b, v);
}

urc_lx *urc_lx_addr(const urc_kernel *k, int buf, urc_lx *idx) {
    urc_lx *e = urc_lx_load(k, buf, idx);
    e->kind = URC_LX_ADDR;
    return e;
}

urc_lx *urc_lx_inrange(urc_lx *e) {
    e->inrange = true;
    return e;
}

static bool is_int_lit(const urc_lx *e, int64_t v) { return e->kind == URC_LX_INT && e->i == v; }

/* An index-arithmetic node (see urc_add): marked in range. */
static urc_lx *index_bin(urc_lop op, urc_lx *a, urc_lx *b) { return urc_lx_inrange(urc_lx_bin(op, a, b)); }

urc_lx *urc_add(urc_lx *a, urc_lx *b) {
    if (a->kind == URC_LX_INT && b->kind == URC_LX_INT && a->dt == b->dt) {
        urc_lx *e = urc_lx_int(urc_wrap_add(a->i, b->i)); /* wraps like the generated code would */
        e->dt = a->dt;
        return e;
    }
    if (is_int_lit(a, 0) && a->dt == b->dt) return b;
    if (is_int_lit(b, 0) && a->dt == b->dt) return a;
    return index_bin(URC_L_ADD, a, b);
}

urc_lx *urc_sub(urc_lx *a, urc_lx *b) {
    if (a->kind == URC_LX_INT && b->kind == URC_LX_INT && a->dt == b->dt) {
        urc_lx *e = urc_lx_int(urc_wrap_sub(a->i, b->i));
        e->dt = a->dt;
        return e;
    }
    if (is_int_lit(b, 0) && a->dt == b->dt) return a;
    return index_bin(URC_L_SUB, a, b);
}

urc_lx *urc_mul(urc_lx *a, urc_lx *b) {
    if (a->kind == URC_LX_INT && b->kind == URC_LX_INT && a->dt == b->dt) {
        urc_lx *e = urc_lx_int(urc_wrap_mul(a->i, b->i));
        e->dt = a->dt;
        return e;
    }
    if (a->dt == b->dt && a->kind == URC_LX_INT) {
        if (a->i == 1) return b;
        if (a->i == 0) return a;
    }
    if (a->dt == b->dt && b->kind == URC_LX_INT) {
        if (b->i == 1) return a;
        if (b->i == 0) return b;
    }
    return index_bin(URC_L_MUL, a, b);
}

urc_lx *urc_addi(urc_lx *a, int64_t b) { return urc_add(a, urc_lx_int(b)); }
urc_lx *urc_muli(urc_lx *a, int64_t b) { return urc_mul(a, urc_lx_int(b)); }

/* ---- statements ---------------------------------------------------------- */

static urc_ls *ls_new(urc_ls_kind kind) {
    urc_ls *s = urc_alloc(sizeof *s);
    s->kind = kind;
    return s;
}

urc_ls *urc_ls_block(void) { return ls_new(URC_LS_BLOCK); }

void urc_ls_push(urc_ls *block, urc_ls *s) {
    URC_ASSERT(block->kind == URC_LS_BLOCK, "push into a non-block");
    URC_VEC_PUSH(block->list, s);
}

urc_ls *urc_ls_for(urc_ls *parent, int var, urc_lx *lo, urc_lx *hi, int64_t step, unsigned flags) {
    urc_ls *s = ls_new(URC_LS_FOR);
    s->var = var;
    s->lo = lo;
    s->hi = hi;
    s->step = step;
    s->flags = flags;
    s->collapse = 1;
    s->body = urc_ls_block();
    urc_ls_push(parent, s);
    return s->body;
}

urc_ls *urc_ls_if(urc_ls *parent, urc_lx *cond, urc_ls **els) {
    urc_ls *s = ls_new(URC_LS_IF);
    s->cond = cond;
    s->body = urc_ls_block();
    if (els) {
        s->els = urc_ls_block();
        *els = s->els;
    }
    urc_ls_push(parent, s);
    return s->body;
}

static void store(urc_ls *parent, int buf, urc_lx *idx, urc_lx *val, bool accum) {
    urc_ls *s = ls_new(URC_LS_STORE);
    s->buf = buf;
    s->idx = idx;
    s->val = val;
    s->accum = accum;
    urc_ls_push(parent, s);
}

void urc_ls_store(urc_ls *parent, int buf, urc_lx *idx, urc_lx *val) { store(parent, buf, idx, val, false); }
void urc_ls_accum(urc_ls *parent, int buf, urc_lx *idx, urc_lx *val) { store(parent, buf, idx, val, true); }

void urc_ls_decl(urc_ls *parent, int var, urc_lx *init) {
    urc_ls *s = ls_new(URC_LS_DECL);
    s->var = var;
    s->val = init;
    urc_ls_push(parent, s);
}

int urc_ls_let(urc_kernel *k, urc_ls *parent, const char *hint, urc_dtype dt, urc_lx *init) {
    int v = urc_kernel_var(k, hint, dt);
    urc_ls_decl(parent, v, init);
    return v;
}

void urc_ls_assign(urc_ls *parent, int var, urc_lx *val) {
    urc_ls *s = ls_new(URC_LS_ASSIGN);
    s->var = var;
    s->val = val;
    urc_ls_push(parent, s);
}

void urc_ls_comment(urc_ls *parent, const char *text) {
    urc_ls *s = ls_new(URC_LS_COMMENT);
    s->text = text;
    urc_ls_push(parent, s);
}

void urc_ls_array(urc_ls *parent, urc_kernel *k, int buf) {
    URC_ASSERT(k->bufs.items[buf].role == URC_KB_LOCAL && !k->bufs.items[buf].placed, "not an unplaced local array");
    k->bufs.items[buf].placed = true;
    urc_ls *s = ls_new(URC_LS_ARRAY);
    s->buf = buf;
    urc_ls_push(parent, s);
}

void urc_ls_fail(urc_ls *parent, urc_kernel *k) {
    k->can_fail = true;
    urc_ls_push(parent, ls_new(URC_LS_FAIL));
}

void urc_ls_call(urc_ls *parent, const char *fn, int nargs, urc_lx *const *args) {
    urc_ls *s = ls_new(URC_LS_CALL);
    s->text = fn;
    for (int i = 0; i < nargs; i++) URC_VEC_PUSH(s->args, args[i]);
    urc_ls_push(parent, s);
}

urc_ls *urc_ls_tile(urc_ls *parent, urc_tile_op op, int t0, int t1, int t2) {
    urc_ls *s = ls_new(URC_LS_TILE);
    s->tile_op = op;
    s->tile[0] = t0;
    s->tile[1] = t1;
    s->tile[2] = t2;
    urc_ls_push(parent, s);
    return s;
}

bool urc_ls_has_tiles(const urc_ls *s) {
    if (!s) return false;
    if (s->kind == URC_LS_TILE || urc_ls_has_tiles(s->body) || urc_ls_has_tiles(s->els)) return true;
    for (int i = 0; i < s->list.len; i++)
        if (urc_ls_has_tiles(s->list.items[i])) return true;
    return false;
}

/* ---- kernels ------------------------------------------------------------- */

urc_kernel *urc_kernel_new(const char *name, const char *comment) {
    urc_kernel *k = urc_alloc(sizeof *k);
    k->name = name;
    k->comment = comment;
    k->body = urc_ls_block();
    return k;
}

static const char *unique_name(const urc_kernel *k, const char *hint) {
    /* Names are C identifiers: keep [a-z0-9_], number duplicates. */
    char base[32];
    int n = 0;
    for (const char *p = hint ? hint : "t"; *p && n < 24; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
            base[n++] = *p;
    if (!n || (base[0] >= '0' && base[0] <= '9')) base[n++] = 't';
    base[n] = 0;
    for (int suffix = 0;; suffix++) {
        const char *cand = suffix ? urc_fmt("%s%d", base, suffix) : urc_strdup(base);
        bool clash = false;
        for (int i = 0; i < k->vars.len && !clash; i++) clash = !strcmp(k->vars.items[i].name, cand);
        for (int i = 0; i < k->bufs.len && !clash; i++) clash = !strcmp(k->bufs.items[i].name, cand);
        if (!clash) return cand;
    }
}

int urc_kernel_var(urc_kernel *k, const char *hint, urc_dtype dt) {
    urc_kvar v = {unique_name(k, hint), dt};
    URC_VEC_PUSH(k->vars, v);
    return k->vars.len - 1;
}

int urc_kernel_buf(urc_kernel *k, const char *hint, urc_dtype dt, int64_t count, urc_kbuf_role role,
                   const urc_value *value) {
    urc_kbuf b = {unique_name(k, hint), dt, count, role, value, false, false};
    URC_VEC_PUSH(k->bufs, b);
    return k->bufs.len - 1;
}

int urc_kernel_local(urc_kernel *k, const char *hint, urc_dtype dt, int64_t count) {
    return urc_kernel_buf(k, hint, dt, count, URC_KB_LOCAL, NULL);
}

/* ---- loop nests and indices ------------------------------------------------ */

urc_ls *urc_loop_nest(urc_kernel *k, urc_ls *parent, const urc_shape *s, int *iv, unsigned flags) {
    static const char *names[URC_MAX_RANK] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};
    urc_ls *body = parent;
    for (int d = 0; d < s->rank; d++) {
        iv[d] = urc_kernel_var(k, names[d], URC_DT_I64);
        unsigned f = 0;
        if (d == 0) f |= flags;
        if (d == s->rank - 1) f |= URC_FOR_SIMD;
        body = urc_ls_for(body, iv[d], urc_lx_int(0), urc_lx_int(s->dims[d]), 1, f);
    }
    return body;
}

urc_lx *urc_index(const urc_lx *const *idx, const urc_shape *s) {
    urc_lx *e = urc_lx_int(0);
    for (int d = 0; d < s->rank; d++) e = urc_add(urc_muli(e, s->dims[d]), (urc_lx *)idx[d]);
    return e;
}

urc_lx *urc_index_vars(const urc_kernel *k, const int *iv, const urc_shape *s) {
    const urc_lx *idx[URC_MAX_RANK];
    for (int d = 0; d < s->rank; d++) idx[d] = urc_lx_var(k, iv[d]);
    return urc_index(idx, s);
}

urc_lx *urc_index_bcast(const urc_kernel *k, const int *iv, const urc_shape *full, const urc_shape *o) {
    const urc_lx *idx[URC_MAX_RANK];
    int off = full->rank - o->rank;
    for (int d = 0; d < o->rank; d++) idx[d] = o->dims[d] == 1 ? urc_lx_int(0) : urc_lx_var(k, iv[d + off]);
    return urc_index(idx, o);
}

/* ---- structural hash and equality ------------------------------------------ */

static uint64_t mix_str(uint64_t h, const char *s) { return s ? urc_fnv1a64(s, strlen(s), h) : urc_mix64(h, 1); }

static uint64_t hash_lx(const urc_lx *e, uint64_t h) {
    if (!e) return urc_mix64(h, 0x51);
    uint64_t fb;
    memcpy(&fb, &e->f, sizeof fb);
    h = urc_mix64(h, (uint64_t)e->kind << 48 ^ (uint64_t)e->dt << 32 ^ (uint64_t)e->op);
    h = urc_mix64(urc_mix64(urc_mix64(urc_mix64(h, (uint64_t)e->i), fb), (uint64_t)(uint32_t)e->var),
                  (uint64_t)(uint32_t)e->buf);
    return hash_lx(e->c, hash_lx(e->b, hash_lx(e->a, h)));
}

static bool eq_lx(const urc_lx *a, const urc_lx *b) {
    if (a == b) return true;
    if (!a || !b) return false;
    return a->kind == b->kind && a->dt == b->dt && a->op == b->op && a->i == b->i &&
           !memcmp(&a->f, &b->f, sizeof a->f) && a->var == b->var && a->buf == b->buf && eq_lx(a->a, b->a) &&
           eq_lx(a->b, b->b) && eq_lx(a->c, b->c);
}

uint64_t urc_ls_hash(const urc_ls *s, uint64_t h) {
    if (!s) return urc_mix64(h, 0x53);
    h = urc_mix64(h, (uint64_t)s->kind << 32 ^ (uint64_t)(uint32_t)s->var);
    h = urc_mix64(urc_mix64(urc_mix64(h, (uint64_t)s->step), (uint64_t)s->flags << 32 ^ (uint32_t)s->collapse),
                  (uint64_t)(uint32_t)s->buf << 1 ^ s->accum);
    h = hash_lx(s->val, hash_lx(s->idx, hash_lx(s->cond, hash_lx(s->hi, hash_lx(s->lo, h)))));
    h = mix_str(urc_ls_hash(s->els, urc_ls_hash(s->body, h)), s->text);
    h = urc_mix64(h, (uint64_t)s->list.len);
    for (int i = 0; i < s->list.len; i++) h = urc_ls_hash(s->list.items[i], h);
    h = urc_mix64(h, (uint64_t)s->args.len);
    for (int i = 0; i < s->args.len; i++) h = hash_lx(s->args.items[i], h);
    if (s->kind == URC_LS_TILE)
        h = urc_mix64(h, (uint64_t)s->tile_op << 48 ^ (uint64_t)(uint16_t)s->tile[0] << 32 ^
                             (uint64_t)(uint16_t)s->tile[1] << 16 ^ (uint16_t)s->tile[2]);
    return h;
}

static bool eq_str(const char *a, const char *b) { return a && b ? !strcmp(a, b) : a == b; }

static bool eq_ls(const urc_ls *a, const urc_ls *b) {
    if (a == b) return true;
    if (!a || !b) return false;
    if (a->kind != b->kind || a->var != b->var || a->step != b->step || a->flags != b->flags ||
        a->collapse != b->collapse || a->buf != b->buf || a->accum != b->accum || a->list.len != b->list.len ||
        !eq_str(a->text, b->text) || !eq_lx(a->lo, b->lo) || !eq_lx(a->hi, b->hi) || !eq_lx(a->cond, b->cond) ||
        !eq_lx(a->idx, b->idx) || !eq_lx(a->val, b->val) || !eq_ls(a->body, b->body) || !eq_ls(a->els, b->els))
        return false;
    for (int i = 0; i < a->list.len; i++)
        if (!eq_ls(a->list.items[i], b->list.items[i])) return false;
    if (a->args.len != b->args.len || a->tile_op != b->tile_op || memcmp(a->tile, b->tile, sizeof a->tile))
        return false;
    for (int i = 0; i < a->args.len; i++)
        if (!eq_lx(a->args.items[i], b->args.items[i])) return false;
    return true;
}

uint64_t urc_kernel_head_hash(const urc_kernel *k) {
    uint64_t h =
        urc_mix64(URC_FNV_INIT, (uint64_t)k->bufs.len << 32 ^ (uint32_t)k->vars.len ^ (uint64_t)k->can_fail << 63);
    for (int i = 0; i < k->bufs.len; i++) {
        const urc_kbuf *b = &k->bufs.items[i];
        h = urc_mix64(mix_str(h, b->name),
                      (uint64_t)b->dt << 40 ^ (uint64_t)b->role << 32 ^ (uint64_t)b->placed << 1 ^ b->may_alias);
        h = urc_mix64(h, (uint64_t)b->count);
    }
    for (int i = 0; i < k->vars.len; i++)
        h = urc_mix64(mix_str(h, k->vars.items[i].name), (uint64_t)k->vars.items[i].dt);
    return h;
}

bool urc_kbuf_eq(const urc_kbuf *x, const urc_kbuf *y) {
    return eq_str(x->name, y->name) && x->dt == y->dt && x->count == y->count && x->role == y->role &&
           x->placed == y->placed && x->may_alias == y->may_alias;
}

bool urc_kernel_eq(const urc_kernel *a, const urc_kernel *b) {
    if (a->bufs.len != b->bufs.len || a->vars.len != b->vars.len || a->can_fail != b->can_fail) return false;
    for (int i = 0; i < a->bufs.len; i++)
        if (!urc_kbuf_eq(&a->bufs.items[i], &b->bufs.items[i])) return false;
    for (int i = 0; i < a->vars.len; i++)
        if (!eq_str(a->vars.items[i].name, b->vars.items[i].name) || a->vars.items[i].dt != b->vars.items[i].dt)
            return false;
    return eq_ls(a->body, b->body);
}
