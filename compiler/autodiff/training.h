/* training.h: turns an inference graph into a training graph: a loss on the
 * first output, its gradients with respect to the trainable parameters
 * (urc_autodiff) and, for a training step, the optimizer update. */
#ifndef URC_TRAINING_H
#define URC_TRAINING_H

#include "../ir/ir.h"

typedef enum urc_loss_kind { URC_LOSS_DICECE, URC_LOSS_DICE, URC_LOSS_CE } urc_loss_kind;

/* MONAI DiceCELoss(to_onehot_y=True, softmax=True) and its options; the
 * defaults (urc_loss_defaults) are MONAI's. */
typedef struct urc_loss_opts {
    urc_loss_kind kind;
    double lambda_dice, lambda_ce;
    double smooth_nr, smooth_dr;
    bool squared;            /* squared_pred: sum p^2 and g^2 in the denominator */
    bool include_background; /* Dice over channel 0 too (CE always uses all classes) */
    bool batch;              /* Dice sums over the batch as well */
    int nweights;            /* CE class weights (0: none) */
    double weights[256];
    /* --label-map: the label value of each class (class i is label value
     * label_map[i]); NULL: class i is label value i. */
    const int64_t *label_map;
    int nlabel_map;
} urc_loss_opts;

void urc_loss_defaults(urc_loss_opts *o);

typedef enum urc_optim_kind { URC_OPTIM_NONE, URC_OPTIM_SGD, URC_OPTIM_ADAMW } urc_optim_kind;

typedef struct urc_train_opts { /* also declared as struct urc_train_opts in driver.h */
    urc_loss_opts loss;
    urc_optim_kind optim;                             /* NONE: the graph outputs [loss, gradients...] */
    double momentum, beta1, beta2, eps, weight_decay; /* the learning rate is a run-time input */
    urc_dtype label_dtype;                            /* the label input's type (UNDEF: int64) */
    /* --recompute: forward nodes whose name matches one of these globs
     * (fnmatch) keep no activations for the backward pass; it recomputes
     * them from the segment's inputs (autodiff/recompute.c). */
    const char *const *recompute;
    int nrecompute;
    /* --ds-weights: deep supervision; the loss is sum_i w_i loss_i / sum_i w_i
     * over the first nds outputs, output i against the label subsampled to
     * its grid (0: the first output only). */
    int nds;
    double ds_weights[8];
} urc_train_opts;

/* PyTorch's defaults: AdamW betas (0.9, 0.999), eps 1e-8, weight decay 0.01;
 * SGD momentum 0. */
void urc_train_defaults(urc_train_opts *o);

/* Loss of logits [N, C, S...] against an integer class map label
 * ([N, 1, S...] or [N, S...]): a one-element float value. *dice_score (if
 * not NULL) gets the soft Dice coefficient (1 - the Dice term), or NULL for
 * the CE loss. A label value that is no class's (o->label_map, else 0..C-1)
 * has an all-zero one-hot: callers must refuse such labels (the CLI checks
 * the files, the generated entry point returns NAME_ERR_LABEL). */
urc_value *urc_build_loss(urc_graph *g, urc_value *logits, urc_value *label, const urc_loss_opts *o,
                          urc_value **dice_score);

/* Adds a label input ("label", [N, 1, S...] of the first output's shape;
 * with o->nds, the loss of each of the first nds outputs, weighted, each
 * against the label subsampled to its grid (voxel s*j + s/2 along a dim
 * where the output is s times smaller: order-0 resizing as nnU-Net's
 * DownsampleSegForDSTransform2, which UNETR++ trains with);
 * also g->label, g->label_values, g->nclasses), the loss and the gradients
 * of every input flagged URC_VAL_PARAM.
 * With optim NONE the graph's outputs become [loss, d(param 0), ...].
 * Otherwise (a training step) it adds the inputs "lr" (float [1]) and, in
 * the state region, "step" (float [1]) and each parameter's optimizer state;
 * the outputs are [loss, dice score] and the optimizer ops overwrite the
 * parameters, their state and the step (URC_VAL_UPDATE). */
bool urc_build_training(urc_graph *g, const urc_train_opts *o);
/* Rematerialisation: the values that forward nodes [0, nfwd) matching the
 * globs produce and backward nodes [nfwd, ...) read are recomputed right
 * before their first backward reader from clones of those nodes (whose
 * inputs outside the segment stay saved). Returns the number of clones. */
int urc_recompute(urc_graph *g, int nfwd, const char *const *globs, int nglobs);

#endif
