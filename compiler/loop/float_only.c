/* float_only.c: --float-only (see loop.h, urc_program_float_only). Kernels
 * of float32 models keep some arithmetic in double: the norms' statistics,
 * softmax and attention sums, reductions, losses. On a core with a
 * single-precision FPU only (Cortex-M4) every double operation is a call
 * into libgcc's soft-float routines. This rewrite turns that arithmetic into
 * float: scalar variables, local scratch arrays, literals, casts and
 * operations of dtype float64 become float32 in every kernel whose
 * parameters hold no float64 tensor (a float64 model's kernels are left as
 * they are). Kernels sharing a body share its variables, and all of them
 * qualify alike (sharing requires equal parameter dtypes), so rewriting a
 * shared body once serves them all; the rewrite is idempotent. */
#include "loop.h"

static void demote_lx(urc_lx *e) {
    if (!e) return;
    if (e->dt == URC_DT_F64) e->dt = URC_DT_F32;
    demote_lx(e->a);
    demote_lx(e->b);
    demote_lx(e->c);
}

static void demote_ls(urc_ls *s) {
    if (!s) return;
    demote_lx(s->lo);
    demote_lx(s->hi);
    demote_lx(s->cond);
    demote_lx(s->idx);
    demote_lx(s->val);
    for (int i = 0; i < s->args.len; i++) demote_lx(s->args.items[i]);
    demote_ls(s->body);
    demote_ls(s->els);
    for (int i = 0; i < s->list.len; i++) demote_ls(s->list.items[i]);
}

int urc_program_float_only(urc_program *P) {
    int n = 0;
    for (int i = 0; i < P->kernels.len; i++) {
        urc_kernel *k = P->kernels.items[i];
        bool f64_tensor = false, any = false;
        for (int b = 0; b < k->bufs.len; b++) {
            const urc_kbuf *kb = &k->bufs.items[b];
            if (kb->dt == URC_DT_F64) *(kb->role == URC_KB_LOCAL ? &any : &f64_tensor) = true;
        }
        for (int v = 0; v < k->vars.len; v++) any |= k->vars.items[v].dt == URC_DT_F64;
        if (f64_tensor) continue;
        for (int b = 0; b < k->bufs.len; b++)
            if (k->bufs.items[b].dt == URC_DT_F64) k->bufs.items[b].dt = URC_DT_F32;
        for (int v = 0; v < k->vars.len; v++)
            if (k->vars.items[v].dt == URC_DT_F64) k->vars.items[v].dt = URC_DT_F32;
        demote_ls(k->body);
        n += any;
    }
    return n;
}
