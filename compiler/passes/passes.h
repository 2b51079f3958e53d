/* passes.h: graph passes, run in order by the driver (driver.c). Each
 * returns false after reporting problems through urc_error. */
#ifndef URC_PASSES_H
#define URC_PASSES_H

#include "../ir/ir.h"
#include "../target/target.h"

/* Shape and dtype inference, node by node in topological order; with
 * `fold`, nodes whose inputs are all constant (and Shape/Size of any
 * statically shaped tensor) are evaluated by the reference interpreter and
 * replaced by constants. Output tensors above max_bytes are rejected. */
bool urc_pass_infer(urc_graph *g, bool fold, uint64_t max_bytes);
/* Holds each graph output to the type the model declares for it (right
 * after inference): another dtype, rank or fixed dimension is an error
 * naming both; symbolic dims match any size. */
bool urc_pass_check_outputs(urc_graph *g);
/* Evaluates v when it is computed from constants only (at most 64 nodes,
 * max_bytes of results in all) although folding left it (above its size
 * limit): a pass that turns v into something compact (Swin's window mask
 * into region ids) calls it. The folded nodes become URC_OP_COUNT (remove
 * them with urc_graph_compact). False: v is left as it was. */
bool urc_fold_cone(urc_value *v, int64_t max_bytes);
/* At import (an ONNX If): types v's untyped ancestors (post-order) and folds
 * each whose inputs are constants (or that reads only a typed value's shape),
 * as the infer pass would. Returns whether v is then a constant; if not,
 * *leaf (when found) is an input or parameter it depends on. False after
 * reporting when an ancestor's inference fails. */
bool urc_fold_now(urc_value *v, uint64_t max_bytes, const urc_value **leaf);
/* Removes nodes whose outputs nobody reads. */
bool urc_pass_dce(urc_graph *g);
/* Rewrites Einsum nodes whose equation is a batched matrix product (the
 * attention patterns of MONAI) into Transpose/Reshape + MatMul. */
bool urc_pass_einsum_to_matmul(urc_graph *g);
/* Activations spelled as several ops (passes/act_patterns.c): the exporter's
 * exact-GELU subgraph x * 0.5 * (1 + erf(x / sqrt 2)) (any association of the
 * multiplications) -> one Gelu; SiLU x * sigmoid(x) and MONAI's Swish
 * x * sigmoid(alpha x) -> one unetrc.Act (act=swish). */
bool urc_pass_act_patterns(urc_graph *g);
/* Recognises decomposed LayerNorm (ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div
 * [/Mul/Add]) and GroupNorm patterns and replaces them by one op. */
bool urc_pass_norm_patterns(urc_graph *g);
/* MatMul + Add(bias) [+ activation] [+ Add(residual)] -> one fused matmul
 * with epilogue (unetrc.FusedMatMul). */
bool urc_pass_fuse_matmul(urc_graph *g);
/* MatMul(q, k^T) [-> Mul/Div(scalar)] -> Softmax(last axis) -> MatMul(., v)
 * -> one unetrc.Attention (ops/attention.c). */
bool urc_pass_attention(urc_graph *g);
/* Chooses tensor layouts: convolution-family ops run channels-last; inserts
 * the fewest Transposes, sinks and cancels them. */
bool urc_pass_layout(urc_graph *g);
/* Channels-last Conv + activation / Transpose back to channels-first / Add
 * of a residual -> one unetrc.FusedConv (or a Conv writing channels-first);
 * passes/fuse_conv.c. */
bool urc_pass_fuse_conv(urc_graph *g);
/* Instance/Batch/GroupNorm [+ activation] [+ Add(residual or a second
 * norm)] [+ activation] -> one unetrc.FusedNorm (fuse_norm.c); the
 * activations are those of ir/act.def (ops/activation.c: urc_act_of). */
bool urc_pass_fuse_norm(urc_graph *g);
/* Convolutions whose weights are not constants read them reordered to
 * [K..., C, M] by a Transpose (w_last); stride-1 ConvTransposes of that kind
 * become Convs over flipped weights (passes/conv_weights.c). */
bool urc_pass_conv_weights(urc_graph *g);
/* A channels-last FusedNorm whose X (or X2) a product computes that can sum Y as it stores it (the op table's
 * norm_stats: tile convolutions) reads those partial sums (the product's output 1) instead of making its own pass
 * over X (norm_stats.c; after the precision pass, for target t; UNETRC_NORM_STATS=0: none). Returns how many. */
int urc_pass_norm_stats(urc_graph *g, const urc_target *t);
/* Undoes it (before the graph is marked again: passes/precision.c). */
void urc_norm_stats_strip(urc_graph *g);
/* The passes that merge a FusedNorm with the only reader of its output 0 (norm_head.c, norm_into_conv.c; the walk in
 * norm_readers.c): unless the environment variable `off` is "0", merge(g, f, reader, ctx) for every such pair, which
 * returns whether it merged them (dropping what it no longer needs); the graph is then compacted and its uses counted.
 * Returns how many merged. */
typedef bool (*urc_norm_merge)(urc_graph *g, urc_node *f, urc_node *reader, const void *ctx);
int urc_merge_norm_readers(urc_graph *g, const char *off, urc_norm_merge merge, const void *ctx);
/* A channels-last InstanceNorm (a FusedNorm with its statistics from its X's producer, no residual or head) whose
 * bf16 Y (int8: fake-quantised float32 Y, the steps then the product's xq) only a product reads that can normalise its
 * data input as it reads it (the op table's x_norm: one-pass bf16 and int8 tile convolutions) goes into that product
 * (urc_conv_attr xn): Y is never stored (norm_into_conv.c; after norm_stats, for
 * target t; UNETRC_NORM_INTO_CONV=0: none). Where that X is a 'same' convolution of a one-channel image to at most 32
 * channels, the fill also makes X again from the image (urc_conv_attr xc; that convolution then stores its statistics
 * only, y_unstored; UNETRC_CONV_INTO_FILL=0: not). Returns how many; the strip puts the norms back. */
int urc_pass_norm_into_conv(urc_graph *g, const urc_target *t);
void urc_norm_into_conv_strip(urc_graph *g);
/* A 1x1 convolution of at most 4 float32 channels (MONAI's residual conv3 on the image) whose Y only a channels-last
 * InstanceNorm's residual 2 reads goes into that FusedNorm (in[12]: its W; X2 then the convolution's X), which makes
 * the values and their statistics itself (norm_pointwise.c; after norm_stats, for target t; UNETRC_NORM_POINTWISE=0:
 * none). Returns how many. */
int urc_pass_norm_pointwise(urc_graph *g, const urc_target *t);
/* A float32 1x1 convolution (an output head) that is the only reader of a channels-last FusedNorm's float32 Y goes
 * into the FusedNorm (its in[10], in[11]): each voxel's values pass through the head instead of being stored and read
 * again (norm_head.c; after the precision pass, which leaves the head float32 unless --reduce-head;
 * UNETRC_HEAD_FUSE=0: none). Returns how many. */
int urc_pass_norm_head(urc_graph *g);
/* --precision (passes/precision.c): marks the convolutions (also
 * transposed and fused) and matrix products whose second input is a float32
 * constant with wdtype = dt (URC_DT_BF16 or URC_DT_F16; URC_DT_F32 clears
 * the marks), except nodes whose name matches one of the nkeep fnmatch
 * globs in keep (a fused node also by the name of the node it was fused
 * from: "conv/fused" by "conv"). Lowering stores their weights in dt.
 * Returns how many nodes it marked; *unused (if non-NULL) gets the index
 * of a glob that matched no candidate node, or -1. */
int urc_pass_precision(urc_graph *g, urc_dtype dt, const char *const *keep, int nkeep, bool reduce_head, int *unused);
/* (URC_DT_I8 marks the nodes whose weights can be quantised per output
 * channel, see precision.c; every call first removes the unetrc.FakeQuant
 * nodes of an earlier int8 calibration, so URC_DT_F32 restores the float
 * graph.) */
/* The interpreter's view of --precision: the weights of every marked node
 * replaced by their values rounded to its wdtype (new constants, so values
 * shared with unmarked nodes keep theirs). Run on a graph to be
 * interpreted, never before lowering. */
void urc_precision_round_weights(urc_graph *g);
/* --bf16-exact (--precision bf16 on AMX tiles; before urc_precision_bf16_operands): of the operands in `which`
 * (URC_EXACT_X, URC_EXACT_W) of each bf16-marked product whose tile kernel can (urc_op_impl.bf16_exact), those that
 * cost little to carry near float32 are also multiplied as their low bf16 parts (ir.h urc_node.exact): the weights
 * where they have no more elements than the data (every convolution of a U-Net: a few bytes more, one more tile
 * product a product); the data of a matrix product where it has no more elements than the weights (UNETR's
 * transformer: no more weight traffic, a small split) and of a convolution whose data is at most 1/8 of the largest
 * data of the model's bf16 products (below full resolution, where the time is not). Each such operand then carries
 * about 16 significant bits instead of 8. UNETRC_BF16_EXACT_ALL=1 in the compiler's environment (tests): every operand
 * in `which` the kernels can carry, whatever it costs. Returns how many nodes it marked. */
int urc_precision_bf16_exact(urc_graph *g, const urc_target *t, unsigned which);
/* bfloat16 pair products (--precision bf16 on a target with vdpbf16ps, urc_target_dot2): places a
 * Cast to bfloat16 (named "<value>/bf16") before each data input that the op's bf16_pairs names for a
 * marked node (ir.h; the matmuls' A, the direct convolutions' X parts), so that lowering reads bf16
 * pairs of it. One Cast per value. A node with fewer than 64 multiply-adds per element of its data
 * reads float32 again where a Cast would be there for it alone, and a Cast of a FusedNorm's output that
 * nothing else reads folds into the norm (which then stores bf16; UNETRC_BF16_FOLD=0: not). Returns how
 * many Casts remain. urc_pass_precision removes them again (and undoes the folds) before it marks. */
int urc_precision_bf16_operands(urc_graph *g, const urc_target *t);
/* The memory plan (passes/memplan.h) of the node order with the smaller arena: the graph's, or a greedy
 * one that runs ready nodes freeing at least what they allocate first (schedule.c), which it then
 * keeps. Not for graphs whose updates must run last (training). */
struct urc_memplan *urc_schedule_for_memory(urc_graph *g, int align);
/* int8 (URC_DT_I8 marks; passes/precision.c explains the scheme). How many
 * output channels node n's weights have, and their per-channel symmetric
 * quantisation: q (one float per element of in[1], an integer in
 * [-127, 127]) and scale (urc_precision_channels(n) floats). */
int64_t urc_precision_channels(const urc_node *n);
void urc_precision_quantize(const urc_node *n, float *q, float *scale);
/* int8 calibration. A way to measure the ranges: [lo[i], hi[i]] = [min(0, min x), max(0, max x)] of the value
 * w[i] (the data inputs of the int8-marked nodes, each once) over the nsamples inputs (one tensor each: a
 * single-input graph), [-inf, inf] where not finite; false after reporting. */
typedef bool (*urc_range_fn)(void *ctx, urc_graph *g, urc_tensor *const *samples, int nsamples, urc_value *const *w,
                             int nw, double *lo, double *hi);
/* Measures the ranges with `ranges` (NULL: the interpreter running g, float32 with int8 nodes marked; the
 * driver passes compiled code for large models, calibrate.h) and places a unetrc.FakeQuant with 256 affine
 * steps over the range before each int8 node's data input (one range over its data parts); one whose input is a
 * FusedNorm's output that nothing else reads folds into the norm (UNETRC_QUANT_FOLD=0: not). False after
 * reporting. */
bool urc_precision_calibrate(urc_graph *g, urc_tensor *const *samples, int nsamples, urc_range_fn ranges, void *ctx);
/* int8 levels multiplied as integers (target t: AMX tiles, or VNNI's quad products): a unetrc.FakeQuant whose
 * every reader multiplies its output's levels so (urc_op_impl.int8_levels) folds into them: they read its input
 * and fake-quantise it themselves (their xq attribute), the kernels as they write its levels (one pass over the
 * volume and a float32 tensor fewer).
 * UNETRC_QUANT_FOLD=0: not. Returns how many folded. */
int urc_precision_int8_levels(urc_graph *g, const urc_target *t);

#endif
