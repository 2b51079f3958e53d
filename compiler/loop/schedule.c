/* schedule.c: a minimum of work per parallel region.
 *
 * Lowering marks the outer loops of nearly every kernel parallel. Opening a
 * parallel region costs a fork and a barrier (microseconds with two threads,
 * far more when the machine is oversubscribed and a thread waits for a
 * descheduled partner), so a kernel over a few hundred elements ran many
 * times slower parallel than serial: on a small UNETR++ most of the run time
 * was the OpenMP runtime. Here each parallel loop's work is estimated from
 * constant trip counts and expression sizes (a transcendental counts as 16
 * operations), and loops below URC_MIN_PARALLEL_WORK operations run serially
 * (their flag and collapse cleared). A trip count that is not a constant
 * counts as large (such loops stay parallel), but for a tile's bounded range. Shared bodies (passes/lower.c)
 * are visited once per kernel; the rewrite is idempotent. */
#include "loop.h"

#define URC_MIN_PARALLEL_WORK (1 << 16)
#define BIG ((int64_t)1 << 40)

static int64_t sat_add(int64_t a, int64_t b) { return a > BIG - b ? BIG : a + b; }
static int64_t sat_mul(int64_t a, int64_t b) { return a && b > BIG / a ? BIG : a * b; }

static int64_t expr_work(const urc_lx *e) {
    if (!e) return 0;
    int64_t w = 1;
    if (e->kind == URC_LX_UN) {
        switch (e->op) {
        case URC_L_EXP:
        case URC_L_LOG:
        case URC_L_ERF:
        case URC_L_TANH:
        case URC_L_SIN:
        case URC_L_COS:
        case URC_L_TAN:
        case URC_L_ASIN:
        case URC_L_ACOS:
        case URC_L_ATAN:
        case URC_L_SINH:
        case URC_L_COSH:
        case URC_L_ASINH:
        case URC_L_ACOSH:
        case URC_L_ATANH:
        case URC_L_LOG1P:
        case URC_L_EXPM1: w = 16; break;
        default: break;
        }
    }
    if (e->kind == URC_LX_BIN && e->op == URC_L_POW) w = 16;
    return sat_add(w, sat_add(expr_work(e->a), sat_add(expr_work(e->b), expr_work(e->c))));
}

static int64_t stmt_work(urc_ls *s);

/* Trip count of a for whose bounds are integer literals, at most c for a tile
 * `for v in [x, min(x + c, n))` with x a variable (x >= 0: at most n too when n
 * is a literal), else -1. */
static int64_t trips(const urc_ls *s) {
    if (!s->lo || !s->hi || s->step <= 0) return -1;
    const urc_lx *m = s->hi;
    if (s->lo->kind == URC_LX_VAR && m->kind == URC_LX_BIN && m->op == URC_L_MIN && m->a->kind == URC_LX_BIN &&
        m->a->op == URC_L_ADD && m->a->a->kind == URC_LX_VAR && m->a->a->var == s->lo->var &&
        m->a->b->kind == URC_LX_INT && m->a->b->i > 0) {
        int64_t c = m->a->b->i;
        if (m->b->kind == URC_LX_INT && m->b->i >= 0 && m->b->i < c) c = m->b->i;
        return (c + s->step - 1) / s->step;
    }
    if (s->lo->kind != URC_LX_INT || s->hi->kind != URC_LX_INT) return -1;
    int64_t n = s->hi->i - s->lo->i;
    return n <= 0 ? 0 : (n + s->step - 1) / s->step;
}

static int64_t stmt_work(urc_ls *s) {
    if (!s) return 0;
    switch (s->kind) {
    case URC_LS_BLOCK: {
        int64_t w = 0;
        for (int i = 0; i < s->list.len; i++) w = sat_add(w, stmt_work(s->list.items[i]));
        return w;
    }
    case URC_LS_FOR: {
        int64_t t = trips(s);
        int64_t body = stmt_work(s->body);
        int64_t w = t < 0 ? BIG : sat_mul(t, sat_add(body, 1));
        if ((s->flags & URC_FOR_PARALLEL) && w < URC_MIN_PARALLEL_WORK) {
            s->flags &= ~(unsigned)URC_FOR_PARALLEL;
            s->collapse = 0;
        }
        return sat_add(w, expr_work(s->lo) + expr_work(s->hi));
    }
    case URC_LS_IF: return sat_add(expr_work(s->cond), sat_add(stmt_work(s->body), stmt_work(s->els)));
    case URC_LS_STORE: return sat_add(1, sat_add(expr_work(s->idx), expr_work(s->val)));
    case URC_LS_DECL:
    case URC_LS_ASSIGN: return sat_add(1, expr_work(s->val));
    case URC_LS_COMMENT:
    case URC_LS_ARRAY:
    case URC_LS_FAIL: return 0;
    case URC_LS_CALL: return BIG; /* a micro-kernel: its work is not visible here */
    case URC_LS_TILE: return 256; /* up to 16 x 16 x 32 products */
    }
    return BIG;
}

void urc_program_schedule(urc_program *P) {
    for (int i = 0; i < P->kernels.len; i++) stmt_work(P->kernels.items[i]->body);
}
