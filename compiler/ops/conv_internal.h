/* conv_internal.h: what conv.c (Conv/ConvTranspose: parsing, inference, reference, naive
 * lowering) and conv_direct.c (the channels-last fast kernels) share. Not a public interface. */
#ifndef URC_OPS_CONV_INTERNAL_H
#define URC_OPS_CONV_INTERNAL_H

#include "conv_wino.h"
#include "spatial.h"

/* The node's sizes with unused spatial axes (beyond nsp) set to extent 1,
 * so the reference can always loop over three. */
typedef struct geo {
    int nsp;
    int64_t N, C, M, G, Cg, Mg; /* Cg = C/G inputs and Mg = M/G outputs per group */
    int64_t in[3], out[3], K[3], s[3], d[3], pb[3];
} geo;

geo urc_conv_geometry(const urc_node *n);

static inline const urc_value *bias(const urc_node *n) { return n->nin > 2 ? n->in[2] : NULL; }
/* unetrc.FusedConv may read X as the channel concatenation of parts
 * (attrs.h: nx): in[0], then in[4], in[5], ... */
static inline int nparts(const urc_node *n) {
    return n->op == URC_OP_FUSED_CONV && n->a.conv.nx > 1 ? n->a.conv.nx : 1;
}
static inline const urc_value *xpart(const urc_node *n, int p) { return p ? n->in[3 + p] : n->in[0]; }
/* X's shape: in[0]'s with the parts' channels added (channels-last). */
static inline urc_shape x_shape(const urc_node *n) {
    urc_shape s = n->in[0]->shape;
    for (int p = 1; p < nparts(n); p++) s.dims[s.rank - 1] += xpart(n, p)->shape.dims[s.rank - 1];
    return s;
}
/* unetrc.FusedConv's residual R (Y's shape and layout), or NULL. */
static inline const urc_value *residual(const urc_node *n) { return n->nin > 3 ? n->in[3] : NULL; }
/* Y's layout: channels-last unless y_channels_first keeps ONNX's. */
static inline bool y_last(const urc_node *n) { return n->a.conv.channels_last && !n->a.conv.y_channels_first; }
static inline const char *nm(const char *base, int a) { return urc_fmt("%s%d", base, a); }

/* The channels-last fast paths (conv_direct.c): float32, one group, constant (or w_last) W. Each
 * returns false, having bound nothing, when its kernel does not apply. */
bool urc_conv_lower_cl(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g);
/* bf16 pairs (ir.h's bf16_pairs; conv_direct.c): the X parts of a Conv or FusedConv that the direct
 * kernel reads as bfloat16 pairs along the channels on target t, or 0. */
unsigned urc_conv_pairs(const urc_node *n, const struct urc_target *t);
/* bf16 output (ir.h's bf16_store; conv_direct.c): a ConvTranspose with X in bf16 pairs that the row-GEMM
 * kernel or the tile one takes (both round Y as they store it). */
bool urc_conv_bf16_store(const urc_node *n, const struct urc_target *t);
/* Arena scratch of a convolution that the Winograd kernel takes: its U (ir.h's scratch; conv_direct.c). */
urc_scratch_req urc_conv_scratch(const urc_node *n, const struct urc_target *t);
/* conv.c's channels-last fast path: X float32 or bf16 with channels last, one group, W constant or
 * run-time in w_last order (a ConvTranspose: Y not channels-first). */
bool urc_conv_fast_cl(const urc_node *n, const geo *g);
/* ConvTranspose with kernel = stride as row GEMMs (urc_convt_direct_ok: the geometry fits); conv.c
 * lowers a ConvTranspose with urc_convt_lower_cl exactly when urc_convt_row_gemm holds. */
bool urc_convt_direct_ok(const geo *g);
bool urc_convt_row_gemm(const urc_node *n, const geo *g);
bool urc_convt_lower_cl(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g);
/* The AMX tile kernel (conv_amx.c): whether node n takes it on target t (-1: no; 1: its X parts then read as
 * bf16 pairs, Cast before; 0: float32 X, split by the kernel into bf16 high and low parts), the scratch it needs
 * (a padded bf16 copy of X), and its lowering (false, having bound nothing, when it does not apply). */
int urc_conv_amx_pairs(const urc_node *n, const struct urc_target *t);
/* The op table's x_norm: a one-pass bf16 or an int8 tile convolution of one X part (its grid fill applies the norm). */
bool urc_conv_x_norm(const urc_node *n, const struct urc_target *t);
/* The operands whose low parts node n's tile kernel on target t multiplies too (ir.h urc_op_impl.bf16_exact): W for
 * the tile convolutions and the tile ConvTransposes (conv_amx.c). */
unsigned urc_conv_bf16_exact(const urc_node *n, const struct urc_target *t);
/* A convolution with kernel = stride (a patch embedding) as one tile product over its patches (conv_patch.c): whether
 * node n takes it on target t (X float32, split by the kernel: no Cast before it), its arena scratch, and the
 * kernel (false: another kernel takes the node). */
bool urc_conv_patch_fits(const urc_node *n, const struct urc_target *t);
/* The constant bias of node n (a constant, or none: -1) as `count` floats, its M values then zeros (a kernel's
 * padded output channels). */
int urc_conv_bias_const(urc_lower *L, urc_kernel *k, const urc_node *n, int64_t M, int64_t count);
urc_scratch_req urc_conv_patch_scratch(const urc_node *n, const struct urc_target *t);
bool urc_conv_patch(urc_lower *L, urc_kernel *k, const urc_node *n);
int64_t urc_conv_norm_stats(urc_node *n, const struct urc_target *t, bool apply); /* (op table: norm_stats) */
/* ir.h's bf16_self_round: the one-pass tile kernel's grid fill rounds a float32 X part itself. */
bool urc_conv_bf16_self_round(urc_node *n, int j, const struct urc_target *t, bool apply);
urc_scratch_req urc_conv_amx_scratch(const urc_node *n, const struct urc_target *t);
/* int8: whether node n multiplies X's levels on AMX tiles (urc_op_impl.int8_levels). */
bool urc_conv_int8_levels(const urc_node *n, const struct urc_target *t);
bool urc_conv_amx(urc_lower *L, urc_kernel *k, const urc_node *n);
/* ConvTranspose with kernel = stride (urc_convt_direct_ok) as one tile product (conv_amx.c): X in bf16 pairs on
 * an AMX target, constant W; false, having bound nothing, otherwise. */
bool urc_convt_amx(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g);
/* Other undilated ConvTransposes by residue classes of the output. */
bool urc_convt_lower_classes(urc_lower *L, urc_kernel *k, const urc_node *n, const geo *g);

#endif
