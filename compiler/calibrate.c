/* calibrate.c: int8 calibration through compiled code (see calibrate.h). */
#define _POSIX_C_SOURCE 200809L
#include "calibrate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "base/diag.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Adds ReduceMin and ReduceMax (all axes, keepdims) of each watched value to g as outputs after the
 * model's (min then max, per value), before each value's first reader; false after reporting. */
static bool add_observers(urc_graph *g, urc_value *const *w, int nw) {
    int n0 = g->nodes.len;
    int *first = urc_xmalloc(sizeof(int) * (size_t)(g->values.len + 1)); /* by value id: first reader */
    for (int i = 0; i < g->values.len; i++) first[i] = -1;
    for (int i = n0 - 1; i >= 0; i--) {
        const urc_node *n = g->nodes.items[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j]) first[n->in[j]->id] = i;
    }
    int *before = urc_xmalloc(sizeof(int) * (size_t)(2 * nw + 1));
    bool ok = true;
    for (int i = 0; i < nw && ok; i++) {
        urc_value *v = urc_graph_find(g, w[i]->name);
        if (!v || v->dtype != URC_DT_F32 || !urc_shape_eq(&v->shape, &w[i]->shape) || first[v->id] < 0) {
            urc_error(NULL, "internal: --calibrate: the float32 graph has no value '%s' of type %s %s read by a node",
                      w[i]->name, urc_dtype_name(w[i]->dtype), urc_shape_str(&w[i]->shape));
            ok = false;
            break;
        }
        urc_attrs a;
        memset(&a, 0, sizeof a);
        a.reduce.keepdims = 1;
        a.reduce.naxes = -1;
        urc_node *mn = urc_node_make(g, URC_OP_REDUCE_MIN, urc_fmt("calibrate/min%d", i), 13, 1, &v, &a, NULL, &ok);
        urc_node *mx = urc_node_make(g, URC_OP_REDUCE_MAX, urc_fmt("calibrate/max%d", i), 13, 1, &v, &a, NULL, &ok);
        URC_VEC_PUSH(g->outputs, mn->out[0]);
        URC_VEC_PUSH(g->outputs, mx->out[0]);
        before[2 * i] = before[2 * i + 1] = first[v->id];
    }
    if (ok) urc_graph_place_appended(g, n0, before);
    free(before);
    free(first);
    urc_graph_count_uses(g);
    return ok && urc_graph_verify(g, "calibrate");
}

bool urc_calibrate_compiled(const char *path, const urc_options *o, urc_value *const *w, int nw,
                            urc_tensor *const *samples, int n, double *lo, double *hi) {
    double t0 = now_ms();
    urc_options f = *o; /* the same graph passes, in float32, nothing dumped */
    f.precision = URC_DT_UNDEF;
    f.calibrate = NULL;
    f.keep_fp32 = NULL;
    f.nkeep_fp32 = 0;
    f.dump_after = NULL;
    f.dump_ir = f.dump_loops = false;
    f.share = NULL;
    urc_graph *g = urc_build_graph(path, &f);
    if (!g || !add_observers(g, w, nw)) return false;
    int nout = g->outputs.len, first = nout - 2 * nw;
    memset(&f.target, 0, sizeof f.target); /* run here: this machine's code */
    urc_program *P = urc_build_program(g, "calibrate", &f, NULL);
    if (!P) return false;
    double t1 = now_ms();
    urc_tensor **outs = urc_xcalloc((size_t)(n * nout) + 1, sizeof(urc_tensor *));
    /* -O2: gcc's -O3 builds take 2-3x longer, more than -O3 saves on a few samples (the BraTS-like UNETR, 2 samples:
     * 26 s with -O3, 11 s with -O2; UNETR 96^3 29 s and 23 s; the same ranges) */
    urc_run_opts ro = {.cflags = "-std=c11 -O2 -march=native -mprefer-vector-width=512 -fopenmp",
                       .model_name = path,
                       .command = "unetrc --calibrate (observed float32 forward)",
                       .model_hash = g->hash,
                       .opset = g->opset,
                       .sets = n};
    bool ok = urc_backend_c.run(P, samples, outs, &ro);
    if (!ok)
        urc_error(NULL, "--calibrate measures activations with the model's float32 code, built by the C compiler "
                        "(UNETRC_CALIBRATE=interp: with the interpreter instead, slower)");
    for (int i = 0; ok && i < nw; i++) {
        double mn = 0, mx = 0;
        for (int s = 0; s < n; s++) {
            double a = ((const float *)outs[s * nout + first + 2 * i]->data)[0];
            double b = ((const float *)outs[s * nout + first + 2 * i + 1]->data)[0];
            if (a != a || b != b) mn = -INFINITY, mx = INFINITY; /* (ReduceMin/Max propagate NaN) */
            mn = a < mn ? a : mn;
            mx = b > mx ? b : mx;
        }
        lo[i] = mn, hi[i] = mx;
    }
    for (int i = 0; i < n * nout; i++) urc_tensor_free(outs[i]);
    free(outs);
    if (ok)
        urc_note("--calibrate: %d ranges over %d samples by compiled code (graph %.0f ms, build and runs %.0f ms)", nw,
                 n, t1 - t0, now_ms() - t1);
    return ok;
}
