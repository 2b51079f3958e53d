/* attrs.h: typed attributes, one struct per op family (included by ir.h).
 *
 * Fields marked "resolved" are not ONNX attributes: the op's infer callback
 * fills them from constant inputs or defaults, so later passes, the
 * interpreter and the lowering read one normalised form. Axes are always
 * non-negative once resolved. */
#ifndef URC_ATTRS_H
#define URC_ATTRS_H

typedef enum urc_auto_pad { URC_PAD_NOTSET, URC_PAD_SAME_UPPER, URC_PAD_SAME_LOWER, URC_PAD_VALID } urc_auto_pad;

/* Unary elementwise: LeakyRelu/Elu/Celu/ThresholdedRelu alpha, Selu alpha and
 * gamma, HardSigmoid alpha/beta, Gelu approximate ("tanh" -> 1), IsInf
 * detect_negative/detect_positive, Clip bounds (resolved from constant
 * inputs; has_min/has_max say whether present, min_runtime/max_runtime
 * when the bound is a run-time input). */
typedef struct urc_unary_attr {
    double alpha, beta, gamma;
    int approximate;
    int detect_negative, detect_positive;
    bool has_min, has_max;
    double min, max;
} urc_unary_attr;

/* Binary elementwise: Mod's fmod. */
typedef struct urc_binary_attr {
    int fmod;
    int shift_left; /* BitShift: direction LEFT (else RIGHT) */
} urc_binary_attr;

typedef struct urc_cast_attr {
    urc_dtype to;
    int saturate;
} urc_cast_attr;

/* unetrc.FakeQuant's affine int8 levels (a FusedNorm stores its output so too): y = scale * clamp(round_half_even(x / scale), lo, hi), hi - lo <= 255
 * (ops/quant.h): the symmetric [-127, 127], or a uint8 range with zero point -lo (lo <= 0 <= hi, so 0 is a level). */
typedef struct urc_fq {
    float scale;
    int16_t lo, hi;
} urc_fq;

/* The activations (act.def): fused epilogues' act, unetrc.Act's. */
typedef enum urc_act {
#define URC_ACT(ID, NAME, PARAM, Y, DX) URC_ACT_##ID,
#include "act.def"
#undef URC_ACT
    URC_ACT_COUNT
} urc_act;

/* LayerNormalization, InstanceNormalization, BatchNormalization,
 * GroupNormalization, unetrc.FusedNorm. axis resolved non-negative
 * (LayerNorm).
 *
 * channels_last (Instance/Batch/GroupNorm and FusedNorm; set by the layout
 * pass): X and Y are [N, S..., C] instead of [N, C, S...]; scale, bias,
 * mean and var keep their ONNX shapes.
 *
 * per_channel (GroupNorm): scale and bias have C elements (one per
 * channel) whatever the opset. GroupNorm-18 gives them per group, -21 per
 * channel; passes/norm_patterns.c sets it when it turns the opset-9
 * emulation Reshape/InstanceNorm/Reshape/Mul(w[C])/Add(b[C]) into one
 * GroupNorm (the per-channel affine after the normalisation is then exact).
 *
 * unetrc.FusedNorm (passes/fuse_norm.c) is a normalisation with epilogue:
 *   t = norm(X)                        base: INSTANCE/BATCH/GROUP_NORM (+ its attributes)
 *   t = act(t)                         act, act_alpha
 *   t = t + R          (residual 1)    R = in[5], of Y's shape
 *   t = t + norm2(X2)  (residual 2)    X2, scale2, bias2 = in[5..7]: same base op and
 *                                      layout, epsilon2
 *   Y = post_act(t)                    post_act, post_alpha
 * Inputs: X, scale, bias, mean, var (the last two only for BatchNorm, else
 * NULL), then the residual inputs; optionally 10 inputs, the residual's unused
 * ones NULL, in[8] and in[9] the statistics of X and X2 computed by the tile
 * convolutions that make them (channels-last Instance/GroupNorm:
 * passes/norm_stats.c, urc_conv_attr stat_parts), which the kernel sums
 * instead of reading X a second time; optionally 12 inputs, in[10] and in[11]
 * (NULL: no bias) the weights [M', C] and bias [M'] of a 1x1 convolution
 * that reads Y (the output head, float32: passes/norm_head.c), which each
 * voxel's C values go through instead of being stored: Y is then [N, M',
 * S...] (head_y_first) or [N, S..., M']; optionally 13 inputs (no head),
 * in[12] the constant weights [C, C2] of a 1x1 convolution that makes X2
 * from in[5] [N, S..., C2] (residual 2 of an InstanceNorm: X2 = in[5] . W^T,
 * never stored; passes/norm_pointwise.c). */
typedef struct urc_norm_attr {
    double epsilon;
    double momentum;
    int64_t axis;
    int64_t num_groups;
    int stash_type;
    int training_mode;
    bool channels_last;    /* Instance/Batch/GroupNorm/FusedNorm: X and Y are [N, S..., C] (layout pass) */
    bool per_channel;      /* GroupNorm: scale/bias per channel */
    int base;              /* FusedNorm: the urc_op of the normalisation */
    urc_act act, post_act; /* FusedNorm epilogue (act.def) */
    double act_alpha, post_alpha;
    int residual; /* FusedNorm: 0 none, 1 + R, 2 + norm2(X2) */
    double epsilon2;
    urc_fq quant; /* FusedNorm: scale > 0: Y fake-quantised to these int8 steps (ops/quant.h; the precision pass, when
                   * a unetrc.FakeQuant was its only reader) */
    bool head_y_first; /* FusedNorm with a head (in[10]): Y channels-first */
} urc_norm_attr;

/* Conv and ConvTranspose. nsp = number of spatial dims. pads holds begins
 * then ends (ONNX order). Resolved: kernel (from W if absent), pads (after
 * auto_pad, or from ConvTranspose's output_shape: the end pad is negative
 * when output_shape asks for up to stride-1 more than the full output),
 * strides/dilations default 1, output_padding default 0. */
typedef struct urc_conv_attr {
    int nsp;
    int64_t group;
    urc_auto_pad auto_pad;
    int64_t kernel[URC_MAX_SPATIAL];
    int64_t strides[URC_MAX_SPATIAL];
    int64_t dilations[URC_MAX_SPATIAL];
    int64_t pads[2 * URC_MAX_SPATIAL];
    int64_t output_padding[URC_MAX_SPATIAL];
    int64_t output_shape[URC_MAX_SPATIAL]; /* ConvTranspose; n_output_shape = -1 if absent */
    int n_output_shape;
    int n_kernel, n_strides, n_dilations, n_pads, n_output_padding; /* -1 = absent in the model */
    bool channels_last; /* X and Y are [N, S..., C] (set by the layout pass) */
    /* Epilogue, set by passes/fuse_conv.c on channels-last float convolutions:
     * unetrc.FusedConv(X, W, B, R) computes Y = act(conv(X, W) + B) + R (B and R
     * optional: NULL inputs); y_channels_first (Conv or FusedConv) keeps Y in
     * ONNX's [N, M, S...] layout (R then too) while X is channels-last. */
    int act; /* urc_act (act.def), its parameter act_alpha */
    double act_alpha;
    bool y_channels_first;
    int nx; /* FusedConv: X is the channel concatenation of nx parts: in[0], in[4], in[5], ... */
    /* Conv/FusedConv, group 1 (set by passes/conv_weights.c when W is not a
     * constant, e.g. a trained parameter): W is [K..., C, M], the order the
     * channels-last kernel streams it, instead of [M, C, K...]. */
    bool w_last;
    urc_fq xq; /* scale > 0: X's parts fake-quantised to these steps first (int8 on AMX tiles: the FakeQuant
                * before the node folded into it, passes/precision.c) */
    /* Conv/FusedConv on one-pass AMX tiles: float32 X parts are rounded to bf16 by the grid fill (the precision pass
     * dropped their Casts: urc_conv_bf16_self_round), not left to a float kernel */
    bool fill_rounds;
    /* Conv/FusedConv on AMX tiles whose Y a channels-last norm reads (passes/norm_stats.c): output 1 is float64
     * [N, stat_parts, 2, M], per sample the sums of Y and of Y^2 over positions, channel by channel, in stat_parts
     * partial sums (the kernel's work items; the reference puts the whole sums in part 0, zeros elsewhere) */
    int64_t stat_parts;
    /* FusedConv on one-pass AMX tiles (passes/norm_into_conv.c): X (one part) is the float32 X of the channels-last
     * InstanceNorm xn_attr (a FusedNorm without residual or head whose bf16 Y this convolution alone read), which the
     * grid fill applies as the norm's kernel did, act((x - m) * a + b) rounded to bf16, from the statistics in[11]
     * ([N, P, 2, C] float64, X's producer's: passes/norm_stats.c), the scale in[12] and the bias in[13] */
    bool xn;
    urc_norm_attr xn_attr;
    /* ... and X is the output of a 'same' stride-1 convolution of a one-channel float32 image (passes/norm_into_conv.c
     * conv_into_fill), which the grid fill computes again from in[14] (the image, channels-last [N, S..., 1]), in[15]
     * (its W [C, 1, xc_kernel...], rounded to bf16 as that convolution's tile kernel rounds it) and in[16] (its bias
     * [C] or NULL) instead of reading in[0]: X is then never stored (its producer's y_unstored) */
    bool xc;
    int64_t xc_kernel[URC_MAX_SPATIAL];
    /* Conv/FusedConv on AMX tiles whose Y only an xc convolution reads: the kernel stores its statistics (output 1),
     * not Y */
    bool y_unstored;
} urc_conv_attr;
#define URC_CONV_MAX_PARTS 8

/* MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool. */
typedef struct urc_pool_attr {
    int nsp;
    urc_auto_pad auto_pad;
    int ceil_mode;
    int count_include_pad;
    int storage_order;
    int64_t kernel[URC_MAX_SPATIAL];
    int64_t strides[URC_MAX_SPATIAL];
    int64_t dilations[URC_MAX_SPATIAL];
    int64_t pads[2 * URC_MAX_SPATIAL];
    int n_kernel, n_strides, n_dilations, n_pads;
    bool channels_last; /* X and Y are [N, S..., C] (set by the layout pass) */
} urc_pool_attr;

/* unetrc.Act, unetrc.ActGrad (ops/activation.c): one activation of
 * act.def and its parameter. */
typedef struct urc_act_attr {
    int act;
    double alpha;
} urc_act_attr;

/* Gemm; unetrc.FusedMatMul (epilogue: act, then + residual). MatMul has no
 * attributes. */
typedef struct urc_gemm_attr {
    double alpha, beta;
    int trans_a, trans_b;
    urc_act act;      /* FusedMatMul */
    double act_alpha; /* its parameter (LeakyRelu slope, Swish factor) */
    bool has_bias, has_residual;
    urc_fq xq; /* scale > 0: A fake-quantised to these steps first (as urc_conv_attr's) */
} urc_gemm_attr;

/* unetrc.Attention: the factor applied to Q K^T before the softmax (times
 * the optional input 6, a constant per batch element: UNETR++'s per-head
 * temperature);
 * layout 1 (ops/attention.c): Q and V read from the packed qkv tensor, Y
 * written [B, L, H, Dv]; mask_value: what a region-id mask adds between
 * two positions of different regions (ops/attention.c). */
typedef struct urc_attention_attr {
    double scale;
    int layout;
    double mask_value;
} urc_attention_attr;

/* Einsum. Resolved: the parsed equation with explicit output. Each operand
 * and the output is a string of single-letter labels; "..." is expanded
 * into labels starting at '0' during infer. */
#define URC_EINSUM_MAX_OPERANDS 8
typedef struct urc_einsum_attr {
    const char *equation;
    int nops;
    char labels[URC_EINSUM_MAX_OPERANDS][URC_MAX_RANK + 1];
    char out_labels[URC_MAX_RANK + 1];
} urc_einsum_attr;

/* Softmax, LogSoftmax, Hardmax: axis resolved non-negative. */
typedef struct urc_softmax_attr {
    int64_t axis;
} urc_softmax_attr;

/* Reduce*, ArgMax/ArgMin. Resolved: reduce[d] = 1 for each reduced dim
 * (from the axes attribute or constant input; all dims when empty unless
 * noop_with_empty_axes). For ArgMax/ArgMin, axis. */
typedef struct urc_reduce_attr {
    int keepdims;
    int noop_with_empty_axes;
    int select_last_index;
    int64_t axis;
    int64_t axes[URC_MAX_RANK];
    int naxes; /* -1 when absent */
    unsigned char reduce[URC_MAX_RANK];
} urc_reduce_attr;

/* Reshape/Flatten/Squeeze/Unsqueeze/Identity/Dropout (views: the output
 * shape is all that matters), Transpose (perm resolved), Expand/Tile
 * (resolved repeats), DepthToSpace/SpaceToDepth. */
typedef struct urc_movement_attr {
    int allowzero;
    int64_t axis;               /* Flatten */
    int64_t perm[URC_MAX_RANK]; /* Transpose */
    int nperm;                  /* -1 when absent */
    int64_t axes[URC_MAX_RANK]; /* Squeeze/Unsqueeze (attribute form, opset < 13) */
    int naxes;
    int64_t repeats[URC_MAX_RANK]; /* Tile */
    int64_t blocksize;             /* DepthToSpace/SpaceToDepth */
    int dcr;                       /* DepthToSpace mode: 1 = DCR, 0 = CRD */
    double ratio;                  /* Dropout (ignored at inference) */
    int64_t seed;
} urc_movement_attr;

/* Concat/Split/Slice/Pad. Resolved Slice: start/step per dim of the input
 * (step 1 and start 0 for dims not sliced). Resolved Split: sizes per output.
 * Resolved Pad: pads (begins then ends, all dims), mode, constant value. */
typedef enum urc_pad_mode {
    URC_PADMODE_CONSTANT,
    URC_PADMODE_REFLECT,
    URC_PADMODE_EDGE,
    URC_PADMODE_WRAP
} urc_pad_mode;
typedef struct urc_slice_attr {
    int64_t axis;
    int64_t num_outputs;
    int64_t split[64];
    int nsplit;
    int64_t start[URC_MAX_RANK];
    int64_t step[URC_MAX_RANK];
    int64_t pads[2 * URC_MAX_RANK];
    urc_pad_mode mode;
    double pad_value;
    bool pad_value_runtime; /* constant_value is a run-time input */
} urc_slice_attr;

/* Gather/GatherElements/OneHot (axis), GatherND (batch_dims); OneHot's
 * depth resolved from its constant input. */
typedef struct urc_gather_attr {
    int64_t axis;
    int64_t batch_dims;
    int64_t depth;
} urc_gather_attr;

/* ScatterND: how an update combines with the data it lands on (opset 16: none, add,
 * mul; opset 18: max, min). */
typedef enum urc_scatter_reduction {
    URC_SCATTER_NONE,
    URC_SCATTER_ADD,
    URC_SCATTER_MUL,
    URC_SCATTER_MAX,
    URC_SCATTER_MIN
} urc_scatter_reduction;
typedef struct urc_scatter_attr {
    urc_scatter_reduction reduction;
    int64_t axis; /* ScatterElements */
} urc_scatter_attr;

/* Trilu (upper; k resolved from the constant input, default 0), EyeLike (k,
 * dtype: URC_DT_UNDEF for the input's). */
typedef struct urc_triangle_attr {
    int upper;
    int64_t k;
    urc_dtype dtype;
} urc_triangle_attr;

/* NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss. */
typedef enum urc_loss_reduction { URC_LOSS_NONE, URC_LOSS_SUM, URC_LOSS_MEAN } urc_loss_reduction;
typedef struct urc_loss_attr {
    int reduction; /* urc_loss_reduction */
    bool has_ignore;
    int64_t ignore_index;
} urc_loss_attr;

/* CumSum (axis resolved from the constant input). */
typedef struct urc_scan_attr {
    int64_t axis;
    int exclusive, reverse;
} urc_scan_attr;

/* Shape (start/end resolved to [0, rank]), Constant (value), ConstantOfShape
 * (value, dtype). */
typedef struct urc_shape_attr {
    int64_t start, end;
    urc_tensor *value;
} urc_shape_attr;

/* Resize. Resolved: scales per dim (the given scale, or output/input when
 * 'sizes' is given) used in the coordinate transform, and roi per dim
 * (starts then ends; 0 and 1 when absent). */
typedef enum urc_resize_mode { URC_RESIZE_NEAREST, URC_RESIZE_LINEAR, URC_RESIZE_CUBIC } urc_resize_mode;
typedef enum urc_resize_coord {
    URC_COORD_HALF_PIXEL,
    URC_COORD_HALF_PIXEL_SYMMETRIC,
    URC_COORD_PYTORCH_HALF_PIXEL,
    URC_COORD_ALIGN_CORNERS,
    URC_COORD_ASYMMETRIC,
    URC_COORD_TF_CROP_AND_RESIZE,
    URC_COORD_TF_HALF_PIXEL_FOR_NN /* opset 11 only */
} urc_resize_coord;
typedef enum urc_resize_nearest {
    URC_NEAREST_ROUND_PREFER_FLOOR,
    URC_NEAREST_ROUND_PREFER_CEIL,
    URC_NEAREST_FLOOR,
    URC_NEAREST_CEIL
} urc_resize_nearest;
typedef struct urc_resize_attr {
    urc_resize_mode mode;
    urc_resize_coord coord;
    urc_resize_nearest nearest;
    double cubic_coeff_a;
    int exclude_outside;
    double extrapolation_value;
    int antialias;
    int64_t axes[URC_MAX_RANK];
    int naxes;
    int keep_aspect_ratio_policy; /* 0 stretch, 1 not_larger, 2 not_smaller */
    double scales[URC_MAX_RANK];  /* resolved */
    double length[URC_MAX_RANK];  /* resolved: length_resized of align_corners (see resize.c) */
    bool torch_lengths;           /* a torch export: scales given, lengths are the integer output's */
    double roi[2 * URC_MAX_RANK]; /* resolved (tf_crop_and_resize) */
} urc_resize_attr;

/* unetrc.AdamW and unetrc.SGD (ops/optim.c; PyTorch's update rules). */
typedef struct urc_optim_attr {
    double beta1, beta2, eps; /* AdamW */
    double momentum;          /* SGD (0: plain) */
    double weight_decay;      /* decoupled (AdamW) or added to the gradient (SGD) */
} urc_optim_attr;

/* QuantizeLinear, DequantizeLinear and unetrc.FakeQuant (ops/quant.c). */
typedef struct urc_quant_attr {
    urc_fq fq;    /* FakeQuant (--precision int8): the per-tensor steps */
    int64_t axis; /* Q/DQ: the axis of a 1-D scale (resolved, >= 0) */
} urc_quant_attr;

typedef union urc_attrs {
    urc_unary_attr unary;
    urc_act_attr act;
    urc_binary_attr binary;
    urc_cast_attr cast;
    urc_conv_attr conv;
    urc_pool_attr pool;
    urc_gemm_attr gemm;
    urc_einsum_attr einsum;
    urc_norm_attr norm;
    urc_softmax_attr softmax;
    urc_reduce_attr reduce;
    urc_movement_attr movement;
    urc_slice_attr slice;
    urc_gather_attr gather;
    urc_scatter_attr scatter;
    urc_triangle_attr triangle;
    urc_scan_attr scan;
    urc_loss_attr loss;
    urc_shape_attr shape;
    urc_resize_attr resize;
    urc_attention_attr attention;
    urc_optim_attr optim;
    urc_quant_attr quant;
} urc_attrs;

#endif
