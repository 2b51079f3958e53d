/* test_grad.c: finite-difference checks of the gradient rules.
 *
 *   test_grad [--c] [--all] DIR [FILTER]   (float64 models from tests/grad/make_grad_models.py)
 *
 * For each model: every float initializer becomes a trainable parameter
 * (but those named frozen_*);
 * the loss is sum(y * w) with a fixed random w; urc_autodiff builds the
 * gradients of the loss with respect to the input and every parameter; the
 * interpreter (in double) evaluates them, and each is compared with the
 * central difference (L(v + h) - L(v - h)) / 2h at up to 12 elements (every
 * element with --all):
 * |fd - ad| <= 1e-6 + 1e-5 max|ad|. With --c the backward graph is also
 * lowered, built as C and run: its loss and gradients must match the
 * interpreter's to 1e-9 (relative to each tensor's largest magnitude). */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff/autodiff.h"
#include "backend/backend.h"
#include "base/diag.h"
#include "base/npy.h"
#include "driver.h"
#include "interp/interp.h"

/* Every float initializer is trainable but those named frozen_* (constants
 * for the passes that need them, e.g. the GroupNorm pattern). */
static bool all_trainable(const char *name, void *ctx) {
    (void)ctx;
    return strncmp(name, "frozen_", 7) != 0;
}

static double run_loss(urc_graph *g, urc_tensor **ins, urc_tensor **outs) {
    if (!urc_interp_run(g, ins, outs)) return NAN;
    return urc_elem_f64(outs[0]->dtype, outs[0]->data, 0);
}

static bool with_c, all_elems;

/* The graph lowered to C, built and run on ins; its outputs against the
 * interpreter's (ref). */
static bool check_c(urc_graph *g, urc_tensor **ins, urc_tensor *const *ref, const char *path) {
    urc_options o = {.align = 64};
    urc_program *P = urc_build_program(g, "model", &o, NULL);
    if (!P) {
        printf("FAIL %s: lowering: %s\n", path, urc_diag_message());
        return false;
    }
    urc_run_opts ro = {.cflags = "-std=c11 -O2 -fopenmp -Wall -Wextra -Werror",
                       .model_name = path,
                       .opset = g->opset,
                       .threads = 2,
                       .keep_dir = getenv("TEST_GRAD_KEEP")}; /* keep the C for a look */
    urc_tensor *got[65];
    if (!urc_backend_from_env()->run(P, ins, got, &ro)) {
        printf("FAIL %s: generated C: %s\n", path, urc_diag_message());
        return false;
    }
    bool ok = true;
    for (int j = 0; j < g->outputs.len; j++) {
        int64_t n = urc_tensor_numel(ref[j]);
        double mx = 0, err = 0;
        for (int64_t i = 0; i < n; i++) {
            double r = urc_elem_f64(ref[j]->dtype, ref[j]->data, i), v = urc_elem_f64(got[j]->dtype, got[j]->data, i);
            mx = fmax(mx, fabs(r));
            err = fmax(err, fabs(r - v));
            if (isnan(v) != isnan(r)) err = INFINITY;
        }
        if (!(err <= 1e-9 * (mx > 0 ? mx : 1))) {
            printf("FAIL %s: generated C output %d differs from the interpreter by %g (max |ref| %g)\n", path, j, err,
                   mx);
            ok = false;
        }
        urc_tensor_free(got[j]);
    }
    return ok;
}

static int check(const char *path, const char *npy) {
    urc_diag_reset(path);
    urc_options o = {.import = {.max_bytes = (uint64_t)1 << 30, .trainable = all_trainable}, .align = 64};
    urc_graph *g = urc_build_graph(path, &o);
    if (!g) {
        printf("FAIL %s: %s\n", path, urc_diag_message());
        return 1;
    }
    /* loss = sum(y * w) */
    urc_value *y = g->outputs.items[0];
    urc_grad_ctx c = {g, NULL, true};
    urc_tensor *wt = urc_tensor_new(y->dtype, &y->shape);
    int64_t ny = urc_tensor_numel(wt);
    for (int64_t i = 0; i < ny; i++) urc_elem_set_f64(wt->dtype, wt->data, i, sin(1.7 * (double)i + 0.3) + 0.1);
    urc_value *w = urc_const_new(g, NULL, wt);
    urc_value *yw = urc_g_binary(&c, URC_OP_MUL, y, w);
    int64_t axes[URC_MAX_RANK];
    for (int d = 0; d < y->shape.rank; d++) axes[d] = d;
    urc_value *loss = urc_g_reduce_sum(&c, yw, axes, y->shape.rank, false);
    if (!c.ok || !loss) {
        printf("FAIL %s: cannot build the loss: %s\n", path, urc_diag_message());
        return 1;
    }
    int nin = g->inputs.len;
    urc_value *wrt[64], *grads[64];
    for (int i = 0; i < nin; i++) wrt[i] = g->inputs.items[i];
    if (!urc_autodiff(g, loss, wrt, nin, grads)) {
        printf("FAIL %s: autodiff: %s\n", path, urc_diag_message());
        return 1;
    }
    /* The outputs become the loss and the gradients, flagged as outputs for
     * the memory plan; each needs its own value (as training.c does). */
    y->flags &= ~(unsigned)URC_VAL_OUTPUT;
    g->outputs.len = 0;
    loss->flags |= URC_VAL_OUTPUT;
    URC_VEC_PUSH(g->outputs, loss);
    for (int i = 0; i < nin; i++) {
        urc_value *d = grads[i];
        if ((d->flags & (URC_VAL_OUTPUT | URC_VAL_INPUT)) || d->data) d = urc_g_unary(&c, URC_OP_IDENTITY, d);
        if (!d) {
            printf("FAIL %s: %s\n", path, urc_diag_message());
            return 1;
        }
        d->flags |= URC_VAL_OUTPUT;
        URC_VEC_PUSH(g->outputs, d);
    }
    if (!urc_graph_verify(g, "autodiff")) {
        printf("FAIL %s: %s\n", path, urc_diag_message());
        return 1;
    }
    /* Inputs: x from the .npy, parameters from their initial values. */
    urc_tensor *ins[64], *outs[65];
    const char *err;
    for (int i = 0; i < nin; i++) {
        urc_value *v = g->inputs.items[i];
        if (v->init) {
            ins[i] = urc_tensor_new(v->dtype, &v->shape);
            memcpy(ins[i]->data, v->init, urc_tensor_bytes(ins[i]));
        } else {
            ins[i] = urc_npy_read(npy, (uint64_t)1 << 30, &err);
            if (!ins[i]) {
                printf("FAIL %s: %s\n", npy, err);
                return 1;
            }
        }
    }
    urc_diag_reset(path);
    if (isnan(run_loss(g, ins, outs))) {
        printf("FAIL %s: interpreter: %s\n", path, urc_diag_message());
        return 1;
    }
    urc_tensor *ad[64];
    for (int i = 0; i < nin; i++) ad[i] = outs[1 + i];
    int fails = with_c && !check_c(g, ins, outs, path), checked = 0;
    urc_tensor_free(outs[0]);
    double worst = 0;
    for (int i = 0; i < nin; i++) {
        urc_tensor *t = ins[i];
        if (!urc_dtype_is_float(t->dtype)) continue;
        int64_t n = urc_tensor_numel(t);
        double amax = 0;
        for (int64_t k = 0; k < n; k++) amax = fmax(amax, fabs(urc_elem_f64(ad[i]->dtype, ad[i]->data, k)));
        int64_t step = n > 12 && !all_elems ? n / 12 : 1;
        for (int64_t k = 0; k < n; k += step) {
            double v0 = urc_elem_f64(t->dtype, t->data, k), h = 1e-6 * fmax(1.0, fabs(v0));
            urc_tensor *tmp[65];
            urc_elem_set_f64(t->dtype, t->data, k, v0 + h);
            double lp = run_loss(g, ins, tmp);
            for (int j = 0; j < g->outputs.len; j++) urc_tensor_free(tmp[j]);
            urc_elem_set_f64(t->dtype, t->data, k, v0 - h);
            double lm = run_loss(g, ins, tmp);
            for (int j = 0; j < g->outputs.len; j++) urc_tensor_free(tmp[j]);
            urc_elem_set_f64(t->dtype, t->data, k, v0);
            double fd = (lp - lm) / (2 * h), an = urc_elem_f64(ad[i]->dtype, ad[i]->data, k);
            double err_k = fabs(fd - an);
            worst = fmax(worst, err_k / (amax > 0 ? amax : 1));
            checked++;
            if (!(err_k <= 1e-6 + 1e-5 * amax)) {
                if (fails < 3)
                    printf("FAIL %s: d/d%s[%lld]: autodiff %.10g, finite difference %.10g\n", path,
                           g->inputs.items[i]->name, (long long)k, an, fd);
                fails++;
            }
        }
    }
    printf("%s %s: %d elements of %d tensors checked, worst relative error %.2e\n", fails ? "FAIL" : "ok  ", path,
           checked, nin, worst);
    return fails ? 1 : 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    for (; argc > 1 && argv[1][0] == '-'; argc--, argv++) {
        if (!strcmp(argv[1], "--c")) with_c = true;
        else if (!strcmp(argv[1], "--all")) all_elems = true;
        else return 2;
    }
    if (argc < 2) return 2;
    DIR *d = opendir(argv[1]);
    if (!d) return 2;
    URC_VEC(char *) names = {0};
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".onnx")) URC_VEC_PUSH(names, urc_strdup(e->d_name));
    closedir(d);
    qsort(names.items, (size_t)names.len, sizeof(char *), cmp_str);
    int fails = 0;
    for (int i = 0; i < names.len; i++) {
        if (argc > 2 && !strstr(names.items[i], argv[2])) continue;
        char *stem = strndup(names.items[i], strlen(names.items[i]) - 5);
        fails += check(urc_fmt("%s/%s", argv[1], names.items[i]), urc_fmt("%s/%s.input.npy", argv[1], stem));
        free(stem);
    }
    printf("gradient checks: %d models, %d failed\n", names.len, fails);
    return fails ? 1 : 0;
}
