/* test_train_step.c: ten optimizer steps of code generated with --train,
 * against torch.optim (fixtures of make_loss_fixtures.py): the loss before
 * each step (1e-5 relative) and the parameters after the last (1e-5 of
 * their max). Also checks that NAME_forward reads the updated parameters,
 * and that a label outside the classes' label values makes the step return
 * SEG_ERR_LABEL without touching parameters, state or outputs.
 *   test_train_step FIXTURE_DIR OPTIMIZER_NAME LR WEIGHTS [MAP]   (seg.h from the build)
 * MAP "V0,V1,...": the code was generated with --label-map MAP; the fixture's
 * class k is fed as label value Vk (same losses and parameters expected). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/npy.h"
#include "seg.h"
#include "unetrc.h"

static _Alignas(64) unsigned char blob[SEG_WEIGHTS_FILE_SIZE];
static _Alignas(64) unsigned char params[SEG_PARAMS_SIZE];
static _Alignas(64) unsigned char state[SEG_STATE_SIZE];
static _Alignas(64) unsigned char arena[SEG_TRAIN_ARENA_SIZE > SEG_ARENA_SIZE ? SEG_TRAIN_ARENA_SIZE : SEG_ARENA_SIZE];

static urc_tensor *load(const char *dir, const char *file) {
    const char *err;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    urc_tensor *t = urc_npy_read(path, 1 << 30, &err);
    if (!t) {
        printf("FAIL %s: %s\n", path, err);
        exit(1);
    }
    return t;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    const char *dir = argv[1], *opt = argv[2];
    float lr = (float)atof(argv[3]);
    char path[512];
    snprintf(path, sizeof path, "%s/../../gen_train/seg.weights", dir);
    FILE *f = fopen(argv[4], "rb");
    size_t n = f ? fread(blob, 1, sizeof blob, f) : 0;
    if (f) fclose(f);
    const void *w;
    int failures = 0;
    if (unetrc_weights_open(blob, n, SEG_WEIGHTS_SIZE, SEG_WEIGHTS_CHECKSUM, &w) != UNETRC_OK) {
        printf("FAIL: weights\n");
        return 1;
    }
    urc_tensor *x = load(dir, "x.npy"), *lab = load(dir, "label.npy");
    /* the label value of each class: the map given, else the class index */
    long map[SEG_NUM_CLASSES];
    const long built[SEG_NUM_CLASSES] = SEG_LABEL_VALUES;
    const char *m = argc > 5 ? argv[5] : NULL;
    for (int k = 0; k < SEG_NUM_CLASSES; k++) {
        map[k] = m ? strtol(m, (char **)&m, 10) : k;
        if (m && *m == ',') m++;
        if (map[k] != built[k]) {
            printf("FAIL: SEG_LABEL_VALUES[%d] is %ld, expected %ld\n", k, built[k], map[k]);
            failures++;
        }
    }
    uint8_t *labels = lab->data;
    for (int64_t i = 0; i < urc_tensor_numel(lab); i++) labels[i] = (uint8_t)map[labels[i]];
    char name[64];
    snprintf(name, sizeof name, "%s.losses.npy", opt);
    urc_tensor *ref_losses = load(dir, name);
    if (seg_train_init(w, params, state) != SEG_OK) return 1;
    for (int step = 0; step < 10; step++) {
        float loss = 0, dice = 0;
        int rc = seg_train_step(w, params, state, arena, x->data, labels, &lr, &loss, &dice);
        float want = ((float *)ref_losses->data)[step];
        bool ok = rc == SEG_OK && fabsf(loss - want) <= 1e-5f * fabsf(want);
        printf("%s step %d: loss %.7f, torch %.7f, dice %.4f\n", ok ? "ok  " : "FAIL", step + 1, loss, want, dice);
        failures += !ok;
    }
    for (int i = 0; i < SEG_NUM_PARAMS; i++) {
        snprintf(name, sizeof name, "%s.%s.npy", opt, seg_params[i].name);
        urc_tensor *ref = load(dir, name);
        const float *got = (const float *)(params + seg_params[i].offset);
        double maxref = 0, maxdiff = 0;
        for (size_t k = 0; k < seg_params[i].count; k++) {
            double r = ((float *)ref->data)[k];
            maxref = fmax(maxref, fabs(r));
            maxdiff = fmax(maxdiff, fabs(r - got[k]));
        }
        bool ok = seg_params[i].count == (size_t)urc_tensor_numel(ref) && maxdiff <= 1e-5 * maxref;
        printf("%s parameter %s after 10 steps: max diff %.3g (max %.3g)\n", ok ? "ok  " : "FAIL", seg_params[i].name,
               maxdiff, maxref);
        failures += !ok;
    }
    /* A label that is no class's label value: SEG_ERR_LABEL, nothing written. */
    static _Alignas(64) unsigned char params0[SEG_PARAMS_SIZE], state0[SEG_STATE_SIZE];
    const int probes[] = {0, 2, 4, 255};
    for (size_t p = 0; p < sizeof probes / sizeof probes[0]; p++) {
        bool is_class = false;
        for (int k = 0; k < SEG_NUM_CLASSES; k++) is_class |= map[k] == probes[p];
        if (is_class) continue;
        int64_t at = urc_tensor_numel(lab) / 2;
        uint8_t keep = labels[at];
        labels[at] = (uint8_t)probes[p];
        memcpy(params0, params, sizeof params);
        memcpy(state0, state, sizeof state);
        float loss = -7, dice = -7;
        int rc = seg_train_step(w, params, state, arena, x->data, labels, &lr, &loss, &dice);
        bool same = !memcmp(params0, params, sizeof params) && !memcmp(state0, state, sizeof state);
        bool ok = rc == SEG_ERR_LABEL && same && loss == -7 && dice == -7;
        printf("%s label value %d: step returned %d (SEG_ERR_LABEL %d), parameters and state %s\n",
               ok ? "ok  " : "FAIL", probes[p], rc, SEG_ERR_LABEL, same ? "unchanged" : "CHANGED");
        failures += !ok;
        labels[at] = keep;
    }
    /* forward with the trained parameters gives a finite output */
    static float y[SEG_OUT0_COUNT];
    if (seg_forward(w, params, arena, x->data, y) != SEG_OK || !isfinite(y[0])) {
        printf("FAIL forward after training\n");
        failures++;
    }
    printf("train steps (%s): %d failures\n", opt, failures);
    return failures ? 1 : 0;
}
