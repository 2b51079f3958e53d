/* memplan.c: liveness-based arena placement (see memplan.h). */
#include "memplan.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../base/diag.h"

typedef struct buffer {
    int value;     /* value id */
    int64_t size;  /* bytes, aligned */
    int def, last; /* node positions, inclusive */
    int64_t offset;
} buffer;

static int find(int *root, int x) {
    while (root[x] != x) {
        root[x] = root[root[x]];
        x = root[x];
    }
    return x;
}

typedef int (*cmp_fn)(const void *, const void *);
static int by_size(const void *x, const void *y) {
    const buffer *a = *(buffer *const *)x, *b = *(buffer *const *)y;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    return a->def - b->def;
}
static int by_def(const void *x, const void *y) {
    const buffer *a = *(buffer *const *)x, *b = *(buffer *const *)y;
    if (a->def != b->def) return a->def - b->def;
    return a->size > b->size ? -1 : a->size < b->size;
}
static int by_length(const void *x, const void *y) {
    const buffer *a = *(buffer *const *)x, *b = *(buffer *const *)y;
    int la = a->last - a->def, lb = b->last - b->def;
    if (la != lb) return lb - la;
    return a->size > b->size ? -1 : a->size < b->size;
}
static int by_area(const void *x, const void *y) {
    const buffer *a = *(buffer *const *)x, *b = *(buffer *const *)y;
    double aa = (double)a->size * (a->last - a->def + 1), ab = (double)b->size * (b->last - b->def + 1);
    if (aa != ab) return aa > ab ? -1 : 1;
    return a->def - b->def;
}

/* ---- placement -----------------------------------------------------------
 *
 * Each buffer goes, in the order given, at the lowest offset x where
 * [x, x + size) overlaps no placed buffer whose lifetime overlaps its own
 * (first fit). Scanning every placed buffer for each one made this
 * quadratic. Two structures answer instead:
 *
 * - A run is a stretch of the order whose defs do not decrease (the whole
 *   "start" order, each size class of the "size" order). A buffer meets an
 *   earlier buffer of its run exactly when that one is still live at its
 *   def, so the run's live buffers are kept (and dropped when they die) in
 *   a treap of disjoint byte ranges with the largest gap of each subtree:
 *   the lowest fit among them is found in O(log n).
 * - The buffers of earlier runs are kept in a segment tree over node
 *   positions: live[v] holds the byte ranges of those whose lifetime has
 *   tree node v in its canonical cover, born[v] of those whose def lies in
 *   v's span. A buffer with lifetime [d, l] meets those live at d (live[]
 *   on the path from leaf d to the root) and those born in (d, l] (born[]
 *   of that span's cover): O(log n) sorted sets of merged ranges, each
 *   asked by binary search whether it overlaps [x, x + size).
 *
 * From x = 0: y is the lowest fit at or above x among the run's live
 * buffers; if an earlier run's range overlaps [y, y + size), nothing fits
 * below its end and x moves there, else y is the answer: the lowest offset,
 * as found by scanning all conflicting buffers by offset. Each move passes
 * one piece of the merged ranges of one set; the pieces are few except when
 * buffers of very different lifetimes alternate in a stack, which the
 * "area" and "length" orders can make on very wide graphs. A placement
 * that needs more than a budget of set probes proportional to n log n is
 * therefore given up (see urc_memplan_run); the "start" order is one run
 * and never is. */

/* Disjoint, sorted byte ranges [r[2i], r[2i + 1]); touching ranges merge. */
typedef struct ranges {
    int64_t *r;
    int n, cap;
} ranges;

/* The first range ending after x (n when none). */
static int ranges_after(const ranges *s, int64_t x) {
    int lo = 0, hi = s->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (s->r[2 * mid + 1] > x) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* The end of a range overlapping [x, x + size), or -1. */
static int64_t ranges_hit(const ranges *s, int64_t x, int64_t size) {
    if (!s->n) return -1;
    int i = ranges_after(s, x);
    return i < s->n && s->r[2 * i] < x + size ? s->r[2 * i + 1] : -1;
}

static void ranges_add(ranges *s, int64_t lo, int64_t hi) {
    int i = ranges_after(s, lo - 1), j = i; /* ranges i..j-1 overlap or touch [lo, hi) */
    while (j < s->n && s->r[2 * j] <= hi) {
        if (s->r[2 * j] < lo) lo = s->r[2 * j];
        if (s->r[2 * j + 1] > hi) hi = s->r[2 * j + 1];
        j++;
    }
    if (i == j) { /* a new range at i */
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 4;
            s->r = urc_xrealloc(s->r, sizeof(int64_t) * 2 * (size_t)s->cap);
        }
        memmove(s->r + 2 * i + 2, s->r + 2 * i, sizeof(int64_t) * 2 * (size_t)(s->n - i));
        s->n++;
    } else if (j > i + 1) { /* ranges i..j-1 become one */
        memmove(s->r + 2 * i + 2, s->r + 2 * j, sizeof(int64_t) * 2 * (size_t)(s->n - j));
        s->n -= j - i - 1;
    }
    s->r[2 * i] = lo;
    s->r[2 * i + 1] = hi;
}

/* The run's live buffers: a treap of disjoint byte ranges by offset. */
typedef struct slot {
    int64_t lo, hi;
    int left, right; /* indices in the pool, -1 for none */
    uint32_t prio;
    int64_t first_lo, last_hi, max_gap; /* over the subtree: its first start, last end, largest gap between ranges */
} slot;

static void slot_update(slot *S, int t) {
    slot *n = &S[t];
    int l = n->left, r = n->right;
    n->first_lo = l >= 0 ? S[l].first_lo : n->lo;
    n->last_hi = r >= 0 ? S[r].last_hi : n->hi;
    n->max_gap = 0;
    if (l >= 0) {
        if (S[l].max_gap > n->max_gap) n->max_gap = S[l].max_gap;
        if (n->lo - S[l].last_hi > n->max_gap) n->max_gap = n->lo - S[l].last_hi;
    }
    if (r >= 0) {
        if (S[r].max_gap > n->max_gap) n->max_gap = S[r].max_gap;
        if (S[r].first_lo - n->hi > n->max_gap) n->max_gap = S[r].first_lo - n->hi;
    }
}

/* Splits treap t into the ranges starting before lo and the others. */
static void slot_split(slot *S, int t, int64_t lo, int *l, int *r) {
    if (t < 0) {
        *l = *r = -1;
    } else if (S[t].lo < lo) {
        slot_split(S, S[t].right, lo, &S[t].right, r);
        *l = t;
        slot_update(S, t);
    } else {
        slot_split(S, S[t].left, lo, l, &S[t].left);
        *r = t;
        slot_update(S, t);
    }
}

/* Joins treaps l and r (every range of l before every range of r). */
static int slot_join(slot *S, int l, int r) {
    if (l < 0) return r;
    if (r < 0) return l;
    if (S[l].prio > S[r].prio) {
        S[l].right = slot_join(S, S[l].right, r);
        slot_update(S, l);
        return l;
    }
    S[r].left = slot_join(S, l, S[r].left);
    slot_update(S, r);
    return r;
}

static int slot_insert(slot *S, int t, int n) {
    int l, r;
    slot_split(S, t, S[n].lo, &l, &r);
    return slot_join(S, slot_join(S, l, n), r);
}

static int slot_remove(slot *S, int t, int64_t lo) {
    int l, m, r;
    slot_split(S, t, lo, &l, &m);
    slot_split(S, m, lo + 1, &m, &r); /* m: the range starting at lo (starts are distinct) */
    return slot_join(S, l, r);
}

/* The lowest y >= *p where [y, y + size) meets no range of subtree t, if
 * one lies before the subtree's last end; else -1, with *p moved past the
 * ranges (so *p is then the fit). */
static int64_t slot_fit(const slot *S, int t, int64_t *p, int64_t size) {
    if (t < 0 || S[t].last_hi <= *p) return -1;
    if (S[t].first_lo - *p < size && S[t].max_gap < size) { /* no gap wide enough in here */
        *p = S[t].last_hi;
        return -1;
    }
    int64_t y = slot_fit(S, S[t].left, p, size);
    if (y >= 0) return y;
    if (S[t].lo - *p >= size) return *p;
    if (S[t].hi > *p) *p = S[t].hi;
    return slot_fit(S, S[t].right, p, size);
}

typedef struct planner {
    int leaves;   /* a power of two >= the number of node positions; leaf of position t: leaves + t */
    ranges *live; /* by tree node (1 .. 2 * leaves - 1): earlier runs' buffers whose lifetime has the
                   * node in its canonical cover (live over the node's whole span) */
    ranges *born; /* by tree node: earlier runs' buffers whose def lies in the node's span */
    int nplaced;
    int run;            /* where the current run starts in the placement order */
    slot *slots;        /* pool: the i-th placed buffer's range is slots[i] */
    int live_run;       /* treap of the run's live buffers */
    int *dying;         /* min-heap (by last) of the run's live buffers, to drop them when they die */
    const buffer **who; /* by placement index: the buffer */
    int ndying;
    uint32_t seed;
    int64_t probes, budget; /* sets asked so far; the most allowed */
} planner;

static planner planner_new(int ntimes, int nbufs) {
    planner t = {.leaves = 1};
    while (t.leaves < ntimes) t.leaves *= 2;
    t.live = urc_xcalloc(2 * (size_t)t.leaves, sizeof(ranges));
    t.born = urc_xcalloc(2 * (size_t)t.leaves, sizeof(ranges));
    t.slots = urc_xmalloc(sizeof(slot) * ((size_t)nbufs + 1));
    t.dying = urc_xmalloc(sizeof(int) * ((size_t)nbufs + 1));
    t.who = urc_xmalloc(sizeof(buffer *) * ((size_t)nbufs + 1));
    return t;
}

static void planner_clear(planner *t, int64_t budget) {
    for (int v = 0; v < 2 * t->leaves; v++) t->live[v].n = t->born[v].n = 0;
    t->nplaced = t->run = t->ndying = 0;
    t->live_run = -1;
    t->seed = 2463534242u; /* the same treap shapes every time */
    t->probes = 0;
    t->budget = budget;
}

static void planner_free(planner *t) {
    for (int v = 0; v < 2 * t->leaves; v++) {
        free(t->live[v].r);
        free(t->born[v].r);
    }
    free(t->live);
    free(t->born);
    free(t->slots);
    free(t->dying);
    free(t->who);
}

static int dying_last(const planner *t, int k) { return t->who[t->dying[k]]->last; }

static void dying_swap(planner *t, int a, int b) {
    int tmp = t->dying[a];
    t->dying[a] = t->dying[b];
    t->dying[b] = tmp;
}

static void dying_push(planner *t, int s) {
    int i = t->ndying++;
    t->dying[i] = s;
    for (; i > 0 && dying_last(t, (i - 1) / 2) > dying_last(t, i); i = (i - 1) / 2) dying_swap(t, i, (i - 1) / 2);
}

static int dying_pop(planner *t) {
    int top = t->dying[0], i = 0;
    t->dying[0] = t->dying[--t->ndying];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= t->ndying) break;
        if (c + 1 < t->ndying && dying_last(t, c + 1) < dying_last(t, c)) c++;
        if (dying_last(t, c) >= dying_last(t, i)) break;
        dying_swap(t, i, c);
        i = c;
    }
    return top;
}

/* Into the structure of earlier runs. */
static void tree_add(planner *t, const buffer *b) {
    int64_t lo = b->offset, hi = b->offset + b->size;
    for (int l = t->leaves + b->def, h = t->leaves + b->last + 1; l < h; l >>= 1, h >>= 1) {
        if (l & 1) ranges_add(&t->live[l++], lo, hi);
        if (h & 1) ranges_add(&t->live[--h], lo, hi);
    }
    for (int v = t->leaves + b->def; v >= 1; v >>= 1) ranges_add(&t->born[v], lo, hi);
}

/* The largest end of an earlier run's range that meets lifetime [d, l] and
 * overlaps [x, x + size), or -1: those live at d, those born in (d, l]. */
static int64_t tree_hit(planner *t, int d, int l, int64_t x, int64_t size) {
    int64_t end = -1, e;
    for (int v = t->leaves + d; v >= 1; v >>= 1, t->probes++)
        if ((e = ranges_hit(&t->live[v], x, size)) > end) end = e;
    for (int lo = t->leaves + d + 1, hi = t->leaves + l + 1; lo < hi; lo >>= 1, hi >>= 1, t->probes++) {
        if ((lo & 1) && (e = ranges_hit(&t->born[lo++], x, size)) > end) end = e;
        if ((hi & 1) && (e = ranges_hit(&t->born[--hi], x, size)) > end) end = e;
    }
    return end;
}

/* Places b at the lowest offset free of every placed buffer it meets;
 * false when the budget ran out. */
static bool place_one(planner *t, buffer *b) {
    int i = t->nplaced++;
    if (i > t->run && b->def < t->who[i - 1]->def) { /* the defs go back: a new run */
        for (int k = t->run; k < i; k++) tree_add(t, t->who[k]);
        t->run = i;
        t->live_run = -1;
        t->ndying = 0;
    }
    while (t->ndying && dying_last(t, 0) < b->def)
        t->live_run = slot_remove(t->slots, t->live_run, t->slots[dying_pop(t)].lo);
    int64_t x = 0;
    for (;;) {
        int64_t p = x, y = slot_fit(t->slots, t->live_run, &p, b->size);
        x = y >= 0 ? y : p; /* the lowest fit >= x among the run's live buffers */
        int64_t e = t->run ? tree_hit(t, b->def, b->last, x, b->size) : -1;
        if (e < 0) break;
        x = e; /* nothing fits below the end of an earlier run's range overlapping [x, x + size) */
        if (t->probes > t->budget) return false;
    }
    b->offset = x;
    t->seed ^= t->seed << 13;
    t->seed ^= t->seed >> 17;
    t->seed ^= t->seed << 5;
    t->slots[i] = (slot){b->offset, b->offset + b->size, -1, -1, t->seed, 0, 0, 0};
    slot_update(t->slots, i);
    t->who[i] = b;
    t->live_run = slot_insert(t->slots, t->live_run, i);
    dying_push(t, i);
    return true;
}

/* Places buffers in the given order (first fit, see above); returns the
 * arena size, or -1 when more than `budget` set probes were needed. */
static int64_t place(planner *t, buffer **order, int n, int64_t budget) {
    int64_t peak = 0;
    planner_clear(t, budget);
    for (int i = 0; i < n; i++) {
        if (!place_one(t, order[i])) return -1;
        if (order[i]->offset + order[i]->size > peak) peak = order[i]->offset + order[i]->size;
    }
    return peak;
}

int64_t urc_memplan_first_fit(int n, const int64_t *size, const int *def, const int *last, int64_t *offset) {
    buffer *bufs = urc_xcalloc((size_t)n + 1, sizeof(buffer));
    buffer **order = urc_xmalloc(sizeof(buffer *) * ((size_t)n + 1));
    int ntimes = 1;
    for (int i = 0; i < n; i++) {
        URC_ASSERT(size[i] > 0 && 0 <= def[i] && def[i] <= last[i], "bad buffer for placement");
        bufs[i] = (buffer){i, size[i], def[i], last[i], 0};
        order[i] = &bufs[i];
        if (last[i] + 1 > ntimes) ntimes = last[i] + 1;
    }
    planner t = planner_new(ntimes, n);
    int64_t peak = place(&t, order, n, INT64_MAX);
    for (int i = 0; i < n; i++) offset[i] = bufs[i].offset;
    planner_free(&t);
    free(order);
    free(bufs);
    return peak;
}

/* Bytes of the arena values live at each node (in node order; every value its own buffer from its producer
 * to its last reader, no views or in-place reuse: an estimate from above) into live[0..nn), and their most. */
static int64_t live_estimate(const urc_graph *g, int64_t *live) {
    int nn = g->nodes.len, nv = g->values.len;
    int *def = urc_xmalloc(sizeof(int) * ((size_t)nv + 1)), *last = urc_xmalloc(sizeof(int) * ((size_t)nv + 1));
    for (int i = 0; i < nv; i++) def[i] = last[i] = -1;
    for (int i = 0; i < nn; i++) {
        const urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nout; j++)
            if (n->out[j]) def[n->out[j]->id] = last[n->out[j]->id] = i;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j]) last[n->in[j]->id] = i;
    }
    int64_t *d = urc_xcalloc((size_t)nn + 1, sizeof(int64_t)), peak = 0;
    for (int i = 0; i < nv; i++) {
        const urc_value *v = g->values.items[i];
        if (def[i] < 0 || v->data || (v->flags & (URC_VAL_INPUT | URC_VAL_OUTPUT))) continue;
        int64_t b = urc_shape_numel(&v->shape) * urc_dtype_size(v->dtype);
        d[def[i]] += b;
        d[last[i] + 1] -= b;
    }
    for (int i = 0; i < nn; i++) {
        live[i] = (i ? live[i - 1] : 0) + d[i];
        if (live[i] > peak) peak = live[i];
    }
    free(def);
    free(last);
    free(d);
    return peak;
}

void urc_memplan_scratch(urc_graph *g, const urc_target *t) {
    int nn = g->nodes.len;
    int64_t *live = NULL, peak = 0;
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        const urc_op_impl *impl = n->op < URC_OP_COUNT ? urc_ops[n->op].impl : NULL;
        urc_scratch_req r = impl && impl->scratch ? impl->scratch(n, t) : (urc_scratch_req){0, URC_DT_F32, false};
        n->scratch = NULL;
        if (r.count <= 0) continue;
        if (r.optional) { /* granted where it fits under the estimated peak, or adds at most 1/16 of it */
            if (!live) {
                live = urc_xmalloc(sizeof(int64_t) * ((size_t)nn + 1));
                peak = live_estimate(g, live);
            }
            int64_t b = r.count * urc_dtype_size(r.dt);
            if (live[i] + b > peak && b > peak / 16) continue;
        }
        urc_value *v = urc_value_new(g, urc_fmt("%%scratch_%s", n->name));
        v->dtype = r.dt;
        v->shape = (urc_shape){1, {r.count}};
        v->has_type = true;
        n->scratch = v;
    }
    free(live);
}

urc_memplan *urc_memplan_run(urc_graph *g, int align) {
    int nv = g->values.len, nn = g->nodes.len;
    urc_memplan *p = urc_alloc(sizeof *p);
    p->ref = urc_alloc(sizeof(urc_mref) * ((size_t)nv + 1));
    p->placed = urc_alloc(sizeof(bool) * ((size_t)nv + 1));
    p->view = urc_alloc(sizeof(bool) * ((size_t)nn + 1));
    p->inplace = urc_alloc(sizeof(bool) * ((size_t)nn + 1));
    int *def = urc_xmalloc(sizeof(int) * ((size_t)nv + 1)), *last = urc_xmalloc(sizeof(int) * ((size_t)nv + 1));
    int *root = urc_xmalloc(sizeof(int) * ((size_t)nv + 1));
    for (int i = 0; i < nv; i++) {
        def[i] = -1;
        last[i] = -1;
        root[i] = i;
    }
    /* Inputs: the caller's buffers, numbered in order; with parameter
     * regions, trainable parameters and optimizer state get offsets in the
     * params and state regions instead (64-byte aligned, in input order). */
    int nplain = 0;
    for (int i = 0; i < g->inputs.len; i++) {
        urc_value *v = g->inputs.items[i];
        int64_t bytes = urc_align_up(urc_shape_numel(&v->shape) * urc_dtype_size(v->dtype), align);
        if (g->param_regions && (v->flags & URC_VAL_PARAM)) {
            p->ref[v->id] = (urc_mref){URC_MEM_PARAMS, p->params_bytes, 0};
            p->params_bytes += bytes ? bytes : align;
        } else if (g->param_regions && (v->flags & URC_VAL_STATE)) {
            p->ref[v->id] = (urc_mref){URC_MEM_STATE, p->state_bytes, 0};
            p->state_bytes += bytes ? bytes : align;
        } else {
            p->ref[v->id] = (urc_mref){URC_MEM_INPUT, 0, nplain++};
        }
        p->placed[v->id] = true;
    }
    /* Values that overwrite a parameter or state (optimizer outputs). */
    for (int i = 0; i < nv; i++) {
        urc_value *v = g->values.items[i];
        if ((v->flags & URC_VAL_UPDATE) && v->updates && p->placed[v->updates->id]) {
            p->ref[v->id] = p->ref[v->updates->id];
            p->placed[v->id] = true;
        }
    }
    for (int i = 0; i < g->outputs.len; i++) {
        urc_value *v = g->outputs.items[i];
        if (p->placed[v->id] || v->data) continue; /* input or constant: copied at the end */
        p->ref[v->id] = (urc_mref){URC_MEM_OUTPUT, 0, i};
        p->placed[v->id] = true;
    }
    /* Lifetimes of each value on its own (a node's scratch: that node). */
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        if (n->scratch) def[n->scratch->id] = last[n->scratch->id] = i;
        bool unstored = (n->op == URC_OP_CONV || n->op == URC_OP_FUSED_CONV) && n->a.conv.y_unstored;
        for (int j = 0; j < n->nout; j++) /* (a Y never stored, attrs.h y_unstored: no memory) */
            if (n->out[j] && !(j == 0 && unstored)) def[n->out[j]->id] = i;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && last[n->in[j]->id] < i) last[n->in[j]->id] = i;
    }
    /* Values sharing memory form groups (union-find over root[]): a view
     * joins its input's group; an elementwise op whose input dies at that
     * op writes its output in place over the input. A group lives from its
     * first definition to its last use. */
    int *glast = urc_xmalloc(sizeof(int) * ((size_t)nv + 1));
    for (int i = 0; i < nv; i++) glast[i] = last[i];
    for (int i = 0; i < nn; i++) {
        urc_node *n = g->nodes.items[i];
        urc_value *in0 = n->nin ? n->in[0] : NULL, *out0 = n->nout ? n->out[0] : NULL;
        if (!out0 || (out0->flags & URC_VAL_OUTPUT) || p->placed[out0->id]) continue;
        bool extra_out = n->nout > 1 && n->out[1]; /* Dropout's mask must be written */
        if (urc_op_has(n->op, URC_TRAIT_VIEW) && in0 && !in0->data && in0->dtype == out0->dtype && !extra_out) {
            int r = find(root, in0->id);
            p->view[i] = true;
            root[out0->id] = r;
            if (glast[out0->id] > glast[r]) glast[r] = glast[out0->id];
            continue;
        }
        if (!urc_op_has(n->op, URC_TRAIT_ELEM | URC_TRAIT_INPLACE) || extra_out) continue;
        int64_t out_bytes = urc_shape_numel(&out0->shape) * urc_dtype_size(out0->dtype);
        for (int j = 0; j < n->nin; j++) {
            urc_value *v = n->in[j];
            if (!v || v->data || (v->flags & (URC_VAL_INPUT | URC_VAL_OUTPUT)) ||
                !urc_shape_eq(&v->shape, &out0->shape) || urc_dtype_size(v->dtype) != urc_dtype_size(out0->dtype))
                continue;
            int r = find(root, v->id);
            if (p->placed[r] || glast[r] != i || out_bytes == 0) continue; /* the group is read later */
            /* Only one operand may be the in-place one; another operand of the
             * same group (x * x) is fine: it is read at the same index. */
            p->inplace[i] = true;
            root[out0->id] = r;
            glast[r] = glast[out0->id] > i ? glast[out0->id] : i;
            break;
        }
    }
    for (int i = 0; i < nv; i++) {
        int r = find(root, i);
        if (glast[i] > glast[r]) glast[r] = glast[i];
        if (def[i] >= 0 && (def[r] < 0 || def[i] < def[r])) def[r] = def[i];
    }
    for (int i = 0; i < nv; i++) last[i] = glast[i];
    free(glast);
    /* Arena buffers. */
    buffer *bufs = urc_xcalloc((size_t)nv + 1, sizeof(buffer));
    int nb = 0;
    for (int i = 0; i < nv; i++) {
        urc_value *v = g->values.items[i];
        if (v->data || p->placed[i] || find(root, i) != i || def[i] < 0) continue;
        buffer *b = &bufs[nb++];
        b->value = i;
        b->size = urc_align_up(urc_shape_numel(&v->shape) * urc_dtype_size(v->dtype), align);
        if (!b->size) b->size = align;
        b->def = def[i];
        b->last = last[i] < def[i] ? def[i] : last[i];
        p->total_bytes += b->size;
    }
    p->nbuffers = nb;
    /* Lower bound: the largest live set. */
    int64_t *live = urc_xcalloc((size_t)nn + 1, sizeof(int64_t)); /* changes of the live total, then the total */
    for (int i = 0; i < nb; i++) {
        live[bufs[i].def] += bufs[i].size;
        live[bufs[i].last + 1] -= bufs[i].size;
    }
    int tpeak = 0;
    for (int t = 0; t < nn; t++) {
        if (t) live[t] += live[t - 1];
        if (live[t] > p->lower_bound) p->lower_bound = live[t], tpeak = t;
    }
    free(live);
    if (urc_verbose && nb) { /* what is live at the peak (to choose --recompute segments, say) */
        urc_note("memplan: peak %.1f MiB of live buffers at node '%s' (%d of %d); the largest live there:",
                 (double)p->lower_bound / 1048576.0, g->nodes.items[tpeak]->name, tpeak, nn);
        bool *shown = urc_xcalloc((size_t)nb + 1, sizeof(bool));
        for (int k = 0; k < 8; k++) {
            int bi = -1;
            for (int i = 0; i < nb; i++)
                if (!shown[i] && bufs[i].def <= tpeak && tpeak <= bufs[i].last &&
                    (bi < 0 || bufs[i].size > bufs[bi].size))
                    bi = i;
            if (bi < 0) break;
            shown[bi] = true;
            const urc_value *v = g->values.items[bufs[bi].value];
            urc_note("memplan:   %8.1f MiB  %s (%s%s), nodes %d..%d", (double)bufs[bi].size / 1048576.0,
                     urc_diag_one_line(v->name), urc_dtype_name(v->dtype), urc_shape_str(&v->shape), bufs[bi].def,
                     bufs[bi].last);
        }
        free(shown);
    }
    /* Try several orders, keep the best (the first of the smallest). An
     * order other than "start" whose placement needs more than a budget of
     * set probes (O(n log n), more than any model's needs) is given up: on
     * very wide graphs it would be quadratic. */
    static const struct {
        const char *name;
        cmp_fn cmp;
    } orders[] = {{"size", by_size}, {"area", by_area}, {"start", by_def}, {"length", by_length}};
    buffer **order = urc_xmalloc(sizeof(buffer *) * ((size_t)nb + 1));
    int64_t *best_off = urc_xmalloc(sizeof(int64_t) * ((size_t)nb + 1));
    int64_t best = -1, budget = (int64_t)1 << 22;
    for (int k = nb; k > 0; k >>= 1) budget += 8 * (int64_t)nb;
    planner tree = planner_new(nn, nb);
    for (size_t o = 0; o < URC_ARRAY_LEN(orders); o++) {
        for (int i = 0; i < nb; i++) order[i] = &bufs[i];
        qsort(order, (size_t)nb, sizeof(buffer *), orders[o].cmp);
        int64_t peak = place(&tree, order, nb, orders[o].cmp == by_def ? INT64_MAX : budget);
        if (peak < 0) {
            urc_note("memplan: placement order '%s' given up after %lld probes (too wide a graph for it)",
                     orders[o].name, (long long)tree.probes);
            continue;
        }
        if (best < 0 || peak < best) {
            best = peak;
            p->strategy = orders[o].name;
            for (int i = 0; i < nb; i++) best_off[i] = bufs[i].offset;
        }
        if (best == p->lower_bound) break; /* optimal */
    }
    p->arena_bytes = best < 0 ? 0 : best;
    for (int i = 0; i < nb; i++) {
        p->ref[bufs[i].value] = (urc_mref){URC_MEM_ARENA, best_off[i], 0};
        p->placed[bufs[i].value] = true;
    }
    /* Views and in-place outputs share their group's place. */
    for (int i = 0; i < nv; i++) {
        int r = find(root, i);
        if (r != i && p->placed[r]) {
            p->ref[i] = p->ref[r];
            p->placed[i] = true;
        }
    }
    planner_free(&tree);
    free(order);
    free(best_off);
    free(bufs);
    free(def);
    free(last);
    free(root);
    return p;
}
