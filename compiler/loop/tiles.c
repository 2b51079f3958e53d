/* tiles.c: AMX tile operations, or their emulation by loops (tiles.h). */
#include "tiles.h"

#include "../base/diag.h"

static int cols(const urc_tiles *t, int i) { return t->colsb[i] / urc_dtype_size(t->dt[i]); }

void urc_tiles_config(urc_kernel *k, urc_ls *at, urc_tiles *t, const urc_target *tg) {
    t->emulate = (tg->features & (URC_FEAT_AMX_BF16 | URC_FEAT_AMX_INT8)) != (URC_FEAT_AMX_BF16 | URC_FEAT_AMX_INT8);
    if (!t->emulate) {
        urc_ls *s = urc_ls_tile(at, URC_TILE_CONFIG, -1, -1, -1);
        for (int i = 0; i < 8; i++) {
            URC_VEC_PUSH(s->args, urc_lx_int(t->rows[i]));
            URC_VEC_PUSH(s->args, urc_lx_int(t->rows[i] ? t->colsb[i] : 0));
        }
        return;
    }
    static const char *const names[] = {"tmm0", "tmm1", "tmm2", "tmm3", "tmm4", "tmm5", "tmm6", "tmm7"};
    for (int i = 0; i < 8; i++) {
        t->arr[i] = -1;
        if (!t->rows[i]) continue;
        t->arr[i] = urc_kernel_local(k, names[i], t->dt[i], (int64_t)t->rows[i] * cols(t, i));
        urc_ls_array(at, k, t->arr[i]);
    }
    t->vr = urc_kernel_var(k, "tr", URC_DT_I64);
    t->vj = urc_kernel_var(k, "tj", URC_DT_I64);
    t->vk = urc_kernel_var(k, "tk", URC_DT_I64);
    t->vp = urc_kernel_var(k, "tp", URC_DT_U32);
    t->vi = urc_kernel_var(k, "ti", URC_DT_I64);
    t->vq = urc_kernel_var(k, "tq", URC_DT_I32);
}

/* for r < rows(i): for j < cols(i) (vector): body; returns the inner block */
static urc_ls *rows_cols(urc_ls *at, const urc_tiles *t, int i) {
    urc_ls *rl = urc_ls_for(at, t->vr, urc_lx_int(0), urc_lx_int(t->rows[i]), 1, 0);
    return urc_ls_for(rl, t->vj, urc_lx_int(0), urc_lx_int(cols(t, i)), 1, URC_FOR_VECTOR);
}

static urc_lx *tidx(const urc_kernel *k, const urc_tiles *t, int i) {
    return urc_add(urc_muli(urc_lx_var(k, t->vr), cols(t, i)), urc_lx_var(k, t->vj));
}

static urc_lx *bidx(const urc_kernel *k, const urc_tiles *t, urc_lx *idx, urc_lx *stride) {
    return urc_add(urc_add(idx, urc_mul(urc_lx_var(k, t->vr), stride)), urc_lx_var(k, t->vj));
}

void urc_tiles_zero(urc_kernel *k, urc_ls *at, const urc_tiles *t, int i) {
    if (!t->emulate) {
        urc_ls_tile(at, URC_TILE_ZERO, i, -1, -1);
        return;
    }
    urc_ls_store(rows_cols(at, t, i), t->arr[i], tidx(k, t, i), urc_lx_const(0, t->dt[i]));
}

static void move(urc_kernel *k, urc_ls *at, const urc_tiles *t, int i, int buf, urc_lx *idx, urc_lx *stride,
                 bool load) {
    URC_ASSERT(k->bufs.items[buf].dt == t->dt[i], "a tile moved to or from a buffer of another type");
    if (!t->emulate) {
        urc_ls *s = urc_ls_tile(at, load ? URC_TILE_LOAD : URC_TILE_STORE, i, -1, -1);
        s->buf = buf;
        s->idx = idx;
        s->val = stride;
        return;
    }
    urc_ls *in = rows_cols(at, t, i);
    if (load) urc_ls_store(in, t->arr[i], tidx(k, t, i), urc_lx_load(k, buf, bidx(k, t, idx, stride)));
    else urc_ls_store(in, buf, bidx(k, t, idx, stride), urc_lx_load(k, t->arr[i], tidx(k, t, i)));
}

void urc_tiles_load(urc_kernel *k, urc_ls *at, const urc_tiles *t, int i, int buf, urc_lx *idx, urc_lx *stride) {
    move(k, at, t, i, buf, idx, stride, true);
}

void urc_tiles_store(urc_kernel *k, urc_ls *at, const urc_tiles *t, int i, int buf, urc_lx *idx, urc_lx *stride) {
    move(k, at, t, i, buf, idx, stride, false);
}

void urc_tiles_dpbf16(urc_kernel *k, urc_ls *at, const urc_tiles *t, int c, int a, int b) {
    URC_ASSERT(t->dt[c] == URC_DT_F32 && t->dt[a] == URC_DT_BF16 && t->dt[b] == URC_DT_U32,
               "tdpbf16ps on tiles of other types");
    if (!t->emulate) {
        urc_ls_tile(at, URC_TILE_DPBF16, c, a, b);
        return;
    }
    /* c[m][n] = dot2(a[m][2kk, 2kk+1], b[kk][n], c[m][n]) */
    urc_lx *m = urc_lx_var(k, t->vr), *kk = urc_lx_var(k, t->vk), *n = urc_lx_var(k, t->vj);
    urc_ls *ml = urc_ls_for(at, t->vr, urc_lx_int(0), urc_lx_int(t->rows[c]), 1, 0);
    urc_ls *kl = urc_ls_for(ml, t->vk, urc_lx_int(0), urc_lx_int(t->rows[b]), 1, 0);
    urc_ls_decl(kl, t->vp, urc_lx_pair(k, t->arr[a], urc_add(urc_muli(m, cols(t, a)), urc_muli(kk, 2))));
    urc_ls *nl = urc_ls_for(kl, t->vj, urc_lx_int(0), urc_lx_int(cols(t, c)), 1, URC_FOR_VECTOR);
    urc_lx *ci = urc_add(urc_muli(m, cols(t, c)), n);
    urc_ls_store(nl, t->arr[c], ci,
                 urc_lx_dot2(urc_lx_var(k, t->vp), urc_lx_load(k, t->arr[b], urc_add(urc_muli(kk, cols(t, b)), n)),
                             urc_lx_load(k, t->arr[c], ci)));
}

void urc_tiles_dpbusd(urc_kernel *k, urc_ls *at, const urc_tiles *t, int c, int a, int b) {
    URC_ASSERT(t->dt[c] == URC_DT_I32 && t->dt[a] == URC_DT_U8 && t->dt[b] == URC_DT_I8,
               "tdpbusd on tiles of other types");
    if (!t->emulate) {
        urc_ls_tile(at, URC_TILE_DPBUSD, c, a, b);
        return;
    }
    /* c[m][n] += sum over i < 4 of a[m][4kk + i] * b[kk][4n + i], in int32 */
    const urc_dtype I = URC_DT_I32;
    urc_lx *m = urc_lx_var(k, t->vr), *kk = urc_lx_var(k, t->vk), *i = urc_lx_var(k, t->vi), *n = urc_lx_var(k, t->vj);
    urc_ls *ml = urc_ls_for(at, t->vr, urc_lx_int(0), urc_lx_int(t->rows[c]), 1, 0);
    urc_ls *kl = urc_ls_for(ml, t->vk, urc_lx_int(0), urc_lx_int(t->rows[b]), 1, 0);
    urc_ls *il = urc_ls_for(kl, t->vi, urc_lx_int(0), urc_lx_int(4), 1, 0);
    urc_ls_decl(
        il, t->vq,
        urc_lx_cast(I, urc_lx_load(k, t->arr[a], urc_add(urc_add(urc_muli(m, cols(t, a)), urc_muli(kk, 4)), i))));
    urc_ls *nl = urc_ls_for(il, t->vj, urc_lx_int(0), urc_lx_int(cols(t, c)), 1, URC_FOR_VECTOR);
    urc_lx *ci = urc_add(urc_muli(m, cols(t, c)), n);
    urc_lx *bv =
        urc_lx_cast(I, urc_lx_load(k, t->arr[b], urc_add(urc_add(urc_muli(kk, cols(t, b)), urc_muli(n, 4)), i)));
    urc_ls_store(nl, t->arr[c], ci,
                 urc_lx_bin(URC_L_ADD, urc_lx_load(k, t->arr[c], ci), urc_lx_bin(URC_L_MUL, urc_lx_var(k, t->vq), bv)));
}

void urc_tiles_release(urc_ls *at, const urc_tiles *t) {
    if (!t->emulate) urc_ls_tile(at, URC_TILE_RELEASE, -1, -1, -1);
}
