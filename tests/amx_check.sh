#!/bin/sh
# amx_check.sh UNETRC NPY_COMPARE SOURCE_DIR
#
# The AMX tile convolutions (compiler/ops/conv_amx.c; --precision bf16 on a target with AMX-BF16):
# - the code for sapphirerapids holds them (ldtilecfg's block, _tile_dpbf16ps, kernels built for amx-tile and
#   amx-bf16, a CPU check that requires both and asks Linux for the tile state), and gcc (without any -march: the
#   kernels' target attribute) and clang (with -march=sapphirerapids, and without -fopenmp or -march) build it into
#   objects holding tdpbf16ps; the LLVM backend's object for sapphirerapids holds ldtilecfg and tdpbf16ps too;
# - the code for x86-64-v3, and for sapphirerapids with UNETRC_AMX=0, has none; with UNETRC_AMX=1 the code for
#   x86-64-v3 has the kernels with their tile operations as loops over local arrays (loop/tiles.c) instead;
# - the code for sapphirerapids built without -march runs here where the CPU has AMX-BF16 (against the
#   interpreter), else returns ERR_CPU naming amx-tile instead of faulting;
# - run here, on unetr_conv_tiny (the decoder's convolutions read two X parts; C and LLVM) and unet2d_5slice (2D; C): the
#   code (with AMX where this CPU has AMX-BF16, else emulated: UNETRC_AMX=1) against
#   the interpreter on the same graph (the same Casts of the products' data to bf16) within 1e-4 of max |ref|:
#   float32 summation order apart these are the same numbers (measured 3.8e-7 and 7.7e-7 emulated).
# - int8 (tdpbusd) on tests/data/int8_amx.onnx: the code's intrinsics and builds, and the code against the
#   interpreter (below).
# - int8 without AMX, on VNNI (vpdpbusd: UNETRC_AMX=0; UNETRC_VNNI=1 where this CPU has no AVX512-VNNI) on the same
#   model: its convolutions and matmuls multiply uint8 levels by int8 quads in registers (below).
# - int8 with the norms' statistics from the convolutions and a norm applied by a convolution's fill (unetr_conv_tiny).
# - --bf16-exact: the kernels multiplying operands' low bf16 parts too, and the patch embeddings' tile kernel, against
#   the interpreter (tests/data/bf16_exact).
# The node tests of the tile kernel's shapes (odd channel counts, asymmetric padding, residuals, two samples,
# 2D) run exactly in ctest node_extra_conv_amx.
set -eu
U=$1; cmp=$2; S=$3
T=$(mktemp -d /tmp/unetrc-amx-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
m="$S/models/unetr_conv_tiny"

"$U" "$m.onnx" -o "$T/spr.c" --target-cpu sapphirerapids --precision bf16
for p in "_tile_loadconfig(urc_tilecfg);" "_tile_dpbf16ps(" "^static URC_AMX_FN void k[0-9]*_unetrc_fusedconv(" \
    '"amx-tile", "amx-bf16"' "Linux refused arch_prctl ARCH_REQ_XCOMP_PERM" "__asm__ __volatile__(\"syscall\""; do
    grep -q "$p" "$T/spr.c" || fail "no '$p' in the code for sapphirerapids"
done
# the ConvTransposes whose output only a Cast to bf16 reads store it rounded (the Cast folded into them): 3 of 10
[ "$(grep -c "^static URC_AMX_FN void k[0-9]*_convtranspose(.*uint16_t \*restrict y)" "$T/spr.c")" -eq 3 ] ||
    fail "not 3 tile ConvTransposes storing bf16 in the code for sapphirerapids"
# unet2d_5slice's convolutions whose float32 input stays alive past them (read later by a residual or a concatenation)
# round it in the grid fill instead of reading a Cast's copy (precision.c casts_into_readers; run below against the
# interpreter, which rounds likewise): 3 of its 6 tile kernels; and one more reads the float32 X of the norm it applies
# (passes/norm_into_conv.c: its statistics xstats)
"$U" "$S/models/unet2d_5slice.onnx" -o "$T/u2.c" --target-cpu sapphirerapids --precision bf16
[ "$(grep "^static URC_AMX_FN void k[0-9]*_[a-z_]*conv(const float \*restrict x," "$T/u2.c" | grep -vc xstats)" -eq 3 ] ||
    fail "unet2d_5slice: not 3 tile convolutions rounding float32 X in the code for sapphirerapids"
[ "$(grep "^static URC_AMX_FN void k[0-9]*_[a-z_]*conv(const float \*restrict x," "$T/u2.c" | grep -c xstats)" -eq 1 ] ||
    fail "unet2d_5slice: not 1 tile convolution applying its X's norm in the code for sapphirerapids"
for build in "gcc -fopenmp" "clang -fopenmp -march=sapphirerapids" "clang"; do
    # shellcheck disable=SC2086
    $build -std=c11 -O2 -Wall -Wextra -Werror -c "$T/spr.c" -o "$T/spr.o" ||
        { fail "$build does not build the code for sapphirerapids"; continue; }
    objdump -d "$T/spr.o" | grep -q tdpbf16ps || fail "$build: no tdpbf16ps in the object"
done
# (clang 14 builds OpenMP's outlined bodies without the kernels' target attribute: a clear error instead)
if clang -std=c11 -O2 -fopenmp -c "$T/spr.c" -o "$T/spr.o" 2>"$T/err"; then fail "clang -fopenmp without AMX flags built it"
else grep -q "error: \"this code uses AMX tiles in parallel loops: clang needs -march=sapphirerapids" "$T/err" ||
    fail "clang -fopenmp without AMX flags: $(head -3 "$T/err")"; fi
if "$U" "$m.onnx" -o "$T/spr_llvm.o" --backend llvm --target-cpu sapphirerapids --precision bf16 2>"$T/err"; then
    for i in ldtilecfg tdpbf16ps tilerelease; do
        objdump -d "$T/spr_llvm.o" | grep -q "$i" || fail "LLVM backend: no $i in the object for sapphirerapids"
    done
elif ! grep -q "LLVM backend" "$T/err"; then
    fail "LLVM backend: $(cat "$T/err")"
fi
"$U" "$m.onnx" -o "$T/v3.c" --target-cpu x86-64-v3 --precision bf16
UNETRC_AMX=0 "$U" "$m.onnx" -o "$T/off.c" --target-cpu sapphirerapids --precision bf16
UNETRC_AMX=1 "$U" "$m.onnx" -o "$T/emu.c" --target-cpu x86-64-v3 --precision bf16
for f in v3 off emu; do
    if grep -q "_tile_\|URC_AMX_FN" "$T/$f.c"; then fail "tile intrinsics in the code $f"; fi
done
for f in v3 off; do
    if grep -q "tmm4\[" "$T/$f.c"; then fail "tile kernels in the code $f"; fi
done
grep -q "tmm4\[" "$T/emu.c" || fail "UNETRC_AMX=1: no emulated tile kernel for x86-64-v3"

# run here: the code for sapphirerapids built without -march (the tile kernels alone need AMX) runs where the CPU
# has AMX-BF16, else returns ERR_CPU naming amx-tile instead of faulting
m="$S/models/unetr_conv_tiny"
if grep -q amx_bf16 /proc/cpuinfo; then
    echo "(this CPU has AMX-BF16: the tiles run)"
    "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --interp --output "$T/ref.npy"
    "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --target-cpu sapphirerapids \
        --cflags "-std=c11 -O2 -fopenmp" --output "$T/gen.npy" || fail "the code for sapphirerapids did not run"
    # (within 1e-2 as the emulated tiles below, for the reason given there: measured 2.4e-3 on a Xeon with AMX)
    "$cmp" "$T/ref.npy" "$T/gen.npy" 1e-2 || fail "the code for sapphirerapids vs interpreter"
else
    echo "(no AMX-BF16 on this CPU: the tile operations run emulated, UNETRC_AMX=1)"
    if "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --target-cpu sapphirerapids \
        --cflags "-std=c11 -O2 -fopenmp" --output "$T/gen.npy" 2>"$T/err"; then
        fail "the code for sapphirerapids ran on a CPU without AMX"
    else
        grep -q "returned MODEL_ERR_CPU: it was built for amx-tile, which this CPU lacks" "$T/err" ||
            fail "without AMX: $(cat "$T/err")"
    fi
    export UNETRC_AMX=1
fi
# (unetr_conv_tiny: 2.5e-3 of max|y| emulated, C and LLVM. Its graph rounds to bf16 at many points (the products'
# data, the matmuls', attentions' and transposed convolutions' outputs), and where the code's float32 and the
# interpreter's double put a value on either side of a bf16 rounding boundary the next layers spread that step: the
# interpreter itself moves by 1.2e-4 (7.5e-4 before the attentions' fold) when the input changes by 2e-7
# (relative), and the code of 80b0084 was 2.6e-3 from it with the transformer in float32. Below: the same code with and without the folds, bit for bit, checks the folded
# roundings; the node tests check the kernels exactly.)
for name in unetr_conv_tiny unet2d_5slice; do
    m="$S/models/$name"
    "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --interp --output "$T/ref.npy"
    for be in c llvm; do
        tol=1e-4
        [ "$name" = unetr_conv_tiny ] && tol=1e-2
        [ "$name.$be" = unet2d_5slice.llvm ] && continue # (LLVM's tile statements: unetr_conv_tiny's suffice)
        # (C: the grids in chunks of 3 output slabs, the last one shorter, conv_amx.c slab_chunks; LLVM: whole)
        slabs=3
        [ $be = llvm ] && slabs=0
        if ! UNETRC_GRID_SLABS=$slabs "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --backend $be \
            --output "$T/gen.npy" 2>"$T/err"; then
            grep -q "unknown backend\|not built" "$T/err" || fail "$name $be: $(cat "$T/err")"
            continue
        fi
        "$cmp" "$T/ref.npy" "$T/gen.npy" $tol || fail "$name: $be code vs interpreter"
        if [ "$name.$be" = unetr_conv_tiny.c ]; then
            # the tile kernels that round as they store (matmuls, ConvTransposes) or fill (convolutions reading
            # float32), the LayerNorms and norms storing bf16, against the same code with the Casts instead
            UNETRC_BF16_FOLD=0 UNETRC_GRID_SLABS=$slabs "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 \
                --output "$T/nofold.npy"
            "$cmp" "$T/nofold.npy" "$T/gen.npy" 0 || fail "$name: the folds changed the code's output"
            # the norms that read their statistics from the tile convolutions' epilogues (passes/norm_stats.c: 5
            # here) against the same code with the norms' own passes over X, bit for bit (the float64 sums' order
            # could move a float32 mean by a rounding step; it does not here)
            [ "$("$U" info "$m.onnx" --precision bf16 --dump-ir | grep -c " stat_parts=")" -eq 5 ] ||
                fail "$name: not 5 tile convolutions summing for their norms"
            UNETRC_NORM_STATS=0 UNETRC_GRID_SLABS=$slabs "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 \
                --output "$T/nostats.npy"
            "$cmp" "$T/nostats.npy" "$T/gen.npy" 0 || fail "$name: the norm statistics changed the code's output"
            # the tile convolutions' epilogues run during the next block's products (conv_amx.c tile_block) against
            # the same kernels with each block's epilogue after its products, bit for bit (the same sums)
            UNETRC_AMX_PIPE=0 UNETRC_GRID_SLABS=$slabs "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 \
                --output "$T/nopipe.npy"
            "$cmp" "$T/nopipe.npy" "$T/gen.npy" 0 || fail "$name: the pipelined epilogues changed the code's output"
            # the norm whose bf16 Y only a one-pass tile convolution reads, applied by that convolution's grid fill
            # (passes/norm_into_conv.c: 1 here) against the norm's own kernel, bit for bit; and --compare, whose float32
            # build puts the norm back (the strip), against the float32 run within bf16's error
            [ "$("$U" info "$m.onnx" --precision bf16 --target-cpu native --dump-ir | grep -c " x_norm=")" -eq 1 ] ||
                fail "$name: not 1 norm into its convolution"
            UNETRC_NORM_INTO_CONV=0 UNETRC_GRID_SLABS=$slabs "$U" run "$m.onnx" --input "$m.input.npy" \
                --precision bf16 --output "$T/nonic.npy"
            "$cmp" "$T/nonic.npy" "$T/gen.npy" 0 || fail "$name: the norm in the convolution changed the code's output"
            "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --compare >"$T/cmp.txt" 2>&1 ||
                fail "$name: --compare: $(cat "$T/cmp.txt")"
            awk '/max_rel_err=/ { sub(/.*max_rel_err=/, ""); sub(/ .*/, ""); exit !($0 + 0 < 2e-2) }' "$T/cmp.txt" ||
                fail "$name: --compare with the norms put back: $(cat "$T/cmp.txt")"
        fi
    done
done
# the split form (UNETRC_AMX_SPLIT=1: the data float32, split by the kernels into bf16 high and low parts, no
# Casts) and the one-pass form on single nodes with standard normal data (the node tests' dyadic data have no low
# parts): against the interpreter (split: float32 data and bf16 W; one pass: the Cast's bf16 data) within 1e-5
# (measured: convolutions 2.4e-6 and 4.8e-8, matmul 3.1e-6 and 0, ConvTranspose 2.8e-6 and 0, 4 input channels
# 2.5e-6 and 8.6e-8 on a Xeon with AMX)
for t in conv/test_fconv_wino_odd_m20_3d conv/test_fconv_wino_odd_m20_2d matmul_fast/test_mmf_m37_k40_n80 \
    conv/test_fconvt_k2s2_m16_3d conv/test_fconv_amx_c4_m16_3d; do
    d="$S/tests/node_extra/$t"
    "$(dirname "$cmp")/npy_randn" "$d/test_data_set_0/input_0.pb" 1 "$T/rand.npy"
    for sp in 0 1; do
        UNETRC_AMX_SPLIT=$sp "$U" run "$d/model.onnx" --input "$T/rand.npy" --precision bf16 --reduce-head --interp \
            --output "$T/ref.npy"
        UNETRC_AMX_SPLIT=$sp "$U" run "$d/model.onnx" --input "$T/rand.npy" --precision bf16 --reduce-head \
            --output "$T/gen.npy"
        "$cmp" "$T/ref.npy" "$T/gen.npy" 1e-5 || fail "$t: split=$sp code vs interpreter"
        # (the tile kernel really takes it: the code run builds, for native: this CPU's tiles, else emulated)
        UNETRC_AMX_SPLIT=$sp "$U" "$d/model.onnx" -o "$T/one.c" --precision bf16 --reduce-head --target-cpu native
        grep -q "tmm4\[\|_tile_dpbf16ps(" "$T/one.c" || fail "$t: split=$sp: no tile kernel"
        # (4 input channels, one data plane: the taps along W folded into each product, conv_amx.c amx_fold)
        if [ "$t.$sp" = conv/test_fconv_amx_c4_m16_3d.0 ]; then
            grep -q "kw < 3; kw += 3)" "$T/one.c" || fail "$t: the taps along W not folded"
        fi
    done
done
# one float32 channel (conv_amx.c lo2: its bf16 high and low parts in the grid's two channels, the taps along W folded)
# against the interpreter's float32 X within 1e-5 as the split form above (rounding X to bf16 alone: ~1e-3)
d="$S/tests/node_extra/conv/test_fconv_amx_c1_m16_3d"
"$(dirname "$cmp")/npy_randn" "$d/test_data_set_0/input_0.pb" 1 "$T/rand.npy"
"$U" run "$d/model.onnx" --input "$T/rand.npy" --precision bf16 --reduce-head --interp --output "$T/ref.npy"
"$U" run "$d/model.onnx" --input "$T/rand.npy" --precision bf16 --reduce-head --output "$T/gen.npy"
"$cmp" "$T/ref.npy" "$T/gen.npy" 1e-5 || fail "one channel: code vs interpreter"
"$U" "$d/model.onnx" -o "$T/one.c" --precision bf16 --reduce-head --target-cpu native
grep -q "tmm4\[\|_tile_dpbf16ps(" "$T/one.c" || fail "one channel: no tile kernel"
# a pointwise convolution of two bf16 parts (the ConvTransposes' outputs) reading its A tiles from the parts in place
# (conv_amx.c amx_direct: no grid) against the interpreter within 1e-5 on normal data, C and LLVM, as the grid form
# (UNETRC_AMX_DIRECT=0); the code reads the second part in a tile load, the grid form does not
d="$S/tests/node_extra/conv/test_fconv_amx_k1_parts2_3d"
"$(dirname "$cmp")/npy_randn" "$d/test_data_set_0/input_0.pb" 1 "$T/rand.npy"
"$(dirname "$cmp")/npy_randn" "$d/test_data_set_0/input_1.pb" 2 "$T/rand1.npy"
k1in="--input $T/rand.npy --input $T/rand1.npy --precision bf16 --reduce-head"
"$U" run "$d/model.onnx" $k1in --interp --output "$T/ref.npy"
for dir in 1 0; do
    UNETRC_AMX_DIRECT=$dir "$U" run "$d/model.onnx" $k1in --output "$T/gen.npy"
    "$cmp" "$T/ref.npy" "$T/gen.npy" 1e-5 || fail "pointwise parts: direct=$dir code vs interpreter"
    if UNETRC_AMX_DIRECT=$dir "$U" run "$d/model.onnx" $k1in --backend llvm --output "$T/gen.npy" 2>"$T/err"; then
        "$cmp" "$T/ref.npy" "$T/gen.npy" 1e-5 || fail "pointwise parts: direct=$dir LLVM code vs interpreter"
    else
        grep -q "unknown backend\|not built" "$T/err" || fail "pointwise parts LLVM: $(cat "$T/err")"
    fi
    UNETRC_AMX_DIRECT=$dir "$U" "$d/model.onnx" -o "$T/one.c" --precision bf16 --reduce-head --target-cpu native
    [ "$(grep -c "_tile_loadd(4, &x1\[" "$T/one.c")" -eq "$dir" ] || fail "pointwise parts: direct=$dir not as asked"
done
# the residual 1x1 convolution of a 4-channel image (MONAI's UnetResBlock conv3) made by the norm that reads it
# (passes/norm_pointwise.c: the image's channel means and covariance give the statistics; tests/data/res_block_c4: means
# far from 0, correlated channels): C and LLVM against the interpreter within 1e-4 (measured 3.0e-7 and 2.6e-7; a
# variance without the covariance's cross terms 3.6e-2), as the convolution's own kernel (UNETRC_NORM_POINTWISE=0)
m="$S/tests/data/res_block_c4"
"$U" info "$m.onnx" --precision bf16 --target-cpu native --dump-ir | grep -q "(X2 1x1)" ||
    fail "res_block_c4: the residual convolution not in its norm"
# backends_vs_ref NAME MODEL TOL: MODEL.onnx's bf16 code from the C and LLVM backends (the latter where built) on
# MODEL.input.npy against $T/ref.npy within TOL of max |ref|
backends_vs_ref() {
    for be in c llvm; do
        if ! "$U" run "$2.onnx" --input "$2.input.npy" --precision bf16 --backend $be --output "$T/gen.npy" 2>"$T/err"; then
            grep -q "unknown backend\|not built" "$T/err" || fail "$1 $be: $(cat "$T/err")"
            continue
        fi
        "$cmp" "$T/ref.npy" "$T/gen.npy" "$3" || fail "$1: $be code vs interpreter"
    done
}
"$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --interp --output "$T/ref.npy"
backends_vs_ref res_block_c4 "$m" 1e-4
UNETRC_NORM_POINTWISE=0 "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --interp --output "$T/ref0.npy"
UNETRC_NORM_POINTWISE=0 "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --output "$T/gen0.npy"
"$cmp" "$T/ref0.npy" "$T/gen0.npy" 1e-4 || fail "res_block_c4: the convolution's own kernel vs interpreter"
# the first convolution on a one-channel image made again by the next convolution's grid fill (passes/norm_into_conv.c
# conv_into_fill; tests/data/first_block_3d: two samples, 32 channels with a bias, an image around 300; first_block_2d:
# 16 channels, no bias): the first convolution stores its statistics only; C and LLVM, whole grids and chunks of 2
# slabs, against the interpreter within 1e-3 (measured 9.2e-5 in 3D, where a few bf16 roundings of the normalised
# values fall the other way, and 2.3e-6 in 2D), and the convolution's own kernel (UNETRC_CONV_INTO_FILL=0: 4.5e-4 in
# 3D, its image as two bf16 parts)
for dim in 3d 2d; do
    m="$S/tests/data/first_block_$dim"
    "$U" info "$m.onnx" --precision bf16 --target-cpu native --dump-ir >"$T/ir" 2>&1
    grep -q "x_conv_kernel=\[3,3" "$T/ir" && grep -q " y_unstored" "$T/ir" ||
        fail "first_block_$dim: the first convolution not in the fill"
    # (its Y takes no memory: 3D's arena 459776 -> 275456 bytes)
    a1=$("$U" info "$m.onnx" --precision bf16 --target-cpu native | sed -n 's/^arena_bytes: //p')
    a0=$(UNETRC_CONV_INTO_FILL=0 "$U" info "$m.onnx" --precision bf16 --target-cpu native | sed -n 's/^arena_bytes: //p')
    [ "$a1" -lt "$a0" ] || fail "first_block_$dim: arena $a1 bytes, not below $a0 without the fill's convolution"
    "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --interp --output "$T/ref.npy"
    backends_vs_ref "first_block_$dim" "$m" 1e-3
    UNETRC_GRID_SLABS=2 "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --output "$T/gen.npy"
    "$cmp" "$T/ref.npy" "$T/gen.npy" 1e-3 || fail "first_block_$dim: chunks of 2 slabs vs interpreter"
    UNETRC_CONV_INTO_FILL=0 "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --output "$T/gen.npy"
    "$cmp" "$T/ref.npy" "$T/gen.npy" 1e-3 || fail "first_block_$dim: the first convolution's own kernel vs interpreter"
    # --compare's float32 build strips the marks: the fill's convolution, and the statistics of a norm with a head
    "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --compare >"$T/cmp" 2>&1 ||
        fail "first_block_$dim --compare: $(tail -1 "$T/cmp")"
    grep -q "^compare Y: precision=bf16 max_abs_err=" "$T/cmp" || fail "first_block_$dim --compare: no report"
done
# the tile ConvTranspose's pipelined form (conv_amx.c urc_convt_amx: a row block's panels under one configuration,
# each epilogue during the next panel's products; 23 row blocks) against the block-by-block form, bit for bit
d="$S/tests/node_extra/conv/test_fconvt_k2s2_m24_pipe_3d"
"$(dirname "$cmp")/npy_randn" "$d/test_data_set_0/input_0.pb" 1 "$T/rand.npy"
"$U" "$d/model.onnx" -o "$T/one.c" --precision bf16 --reduce-head --target-cpu native
grep -q "if (p > 0)" "$T/one.c" || fail "ConvTranspose: not pipelined"
"$U" run "$d/model.onnx" --input "$T/rand.npy" --precision bf16 --reduce-head --output "$T/gen.npy"
UNETRC_AMX_PIPE=0 "$U" run "$d/model.onnx" --input "$T/rand.npy" --precision bf16 --reduce-head --output "$T/nopipe.npy"
"$cmp" "$T/nopipe.npy" "$T/gen.npy" 0 || fail "ConvTranspose: the pipelined form changed the output"
# int8 (tdpbusd): tests/data/int8_amx.onnx's five convolutions, ConvTranspose and two matmuls that read
# fake-quantised X (make_int8_amx.py) on tiles, each with the FakeQuant before it folded into it: the code for sapphirerapids multiplies with _tile_dpbusd, and gcc (its target attribute, no -march),
# clang (-march=sapphirerapids) and the LLVM backend build objects with tdpbusd; run here (emulated without AMX),
# C and LLVM, against the interpreter on each output's every element within 1e-4 (the integer sums are exact:
# float32 rounding apart the same numbers, measured 1.5e-7, 1.4e-7, 1.8e-7). A mutation of the padding's level
# (-lo), of the zero point's correction (convolutions, ConvTranspose, matmuls) or of the quads' order fails it.
m="$S/tests/data/int8_amx"
mkdir "$T/cal"
for s in 1 2 3 4; do "$(dirname "$cmp")/npy_randn" "$m.input.npy" $s "$T/cal/s$s.npy"; done
q8="--precision int8 --calibrate $T/cal"
# shellcheck disable=SC2086 # (q8: options without spaces, split on purpose)
"$U" "$m.onnx" -o "$T/spr8.c" --target-cpu sapphirerapids $q8
[ "$(grep -c "^static URC_AMX_FN void k[0-9]*_.*uint8_t \*restrict xp" "$T/spr8.c")" -eq 5 ] ||
    fail "int8: not 5 tile convolutions in the code for sapphirerapids"
[ "$(grep -c "^static URC_AMX_FN void k[0-9]*_convtranspose(.*uint8_t \*restrict xq" "$T/spr8.c")" -eq 1 ] ||
    fail "int8: no tile ConvTranspose in the code for sapphirerapids"
[ "$(grep -c "^static URC_AMX_FN void k[0-9]*_unetrc_fusedmatmul(.*uint8_t \*restrict aq" "$T/spr8.c")" -eq 2 ] ||
    fail "int8: not 2 tile matmuls in the code for sapphirerapids"
grep -q "_tile_dpbusd(" "$T/spr8.c" || fail "int8: no _tile_dpbusd in the code for sapphirerapids"
# (the FakeQuants before them folded into them: no FakeQuant kernel left; UNETRC_QUANT_FOLD=0 keeps them)
if grep -q "_unetrc_fakequant(" "$T/spr8.c"; then fail "int8: FakeQuant kernels left in the code for sapphirerapids"; fi
# shellcheck disable=SC2086
UNETRC_QUANT_FOLD=0 "$U" "$m.onnx" -o "$T/spr8k.c" --target-cpu sapphirerapids $q8
grep -q "_unetrc_fakequant(" "$T/spr8k.c" || fail "int8: UNETRC_QUANT_FOLD=0 folded the FakeQuants"
grep -q '"amx-tile", "amx-bf16", "amx-int8"' "$T/spr8.c" || fail "int8: the CPU check does not require amx-int8"
for build in "gcc -fopenmp" "clang -fopenmp -march=sapphirerapids"; do
    # shellcheck disable=SC2086
    $build -std=c11 -O2 -Wall -Wextra -Werror -c "$T/spr8.c" -o "$T/spr8.o" ||
        { fail "int8: $build does not build the code for sapphirerapids"; continue; }
    objdump -d "$T/spr8.o" | grep -q tdpbusd || fail "int8: $build: no tdpbusd in the object"
done
# shellcheck disable=SC2086
if "$U" "$m.onnx" -o "$T/spr8_llvm.o" --backend llvm --target-cpu sapphirerapids $q8 2>"$T/err"; then
    objdump -d "$T/spr8_llvm.o" | grep -q tdpbusd || fail "int8: LLVM backend: no tdpbusd in the object"
elif ! grep -q "LLVM backend" "$T/err"; then
    fail "int8: LLVM backend: $(cat "$T/err")"
fi
# (the reference: the interpreter on the graph with its FakeQuant nodes)
# shellcheck disable=SC2086
UNETRC_QUANT_FOLD=0 "$U" run "$m.onnx" --input "$m.input.npy" $q8 --interp --output "$T/ref1.npy" --output "$T/ref2.npy" \
    --output "$T/ref3.npy"
for be in c llvm; do
    # shellcheck disable=SC2086
    if ! "$U" run "$m.onnx" --input "$m.input.npy" $q8 --backend $be --output "$T/gen1.npy" --output "$T/gen2.npy" \
        --output "$T/gen3.npy" 2>"$T/err"; then
        grep -q "unknown backend\|not built" "$T/err" || fail "int8 $be: $(cat "$T/err")"
        continue
    fi
    for i in 1 2 3; do "$cmp" "$T/ref$i.npy" "$T/gen$i.npy" 1e-4 || fail "int8: $be code vs interpreter (output $i)"; done
done
# run --compare marks the same graph float32 again for its reference: the folds undone (once an internal error)
# shellcheck disable=SC2086
"$U" run "$m.onnx" --input "$m.input.npy" $q8 --compare >"$T/cmp.txt" 2>&1 || fail "int8 --compare: $(cat "$T/cmp.txt")"
[ "$(grep -c "^compare .*precision=int8 .*label_agreement=" "$T/cmp.txt")" -eq 3 ] || fail "int8 --compare: $(cat "$T/cmp.txt")"
# int8 quad products (vpdpbusd, loop.h URC_LX_DOT4) where no AMX: the code for icelake-server (AVX512-VNNI) and
# for alderlake (AVX-VNNI) has the five convolutions reading the uint8 grid with int8 quads, the ConvTranspose and
# the two matmuls with A's levels (every FakeQuant folded into them) and quads, spelled _mm512_dpbusd_epi32 and
# AVX-VNNI's _mm256_dpbusd_avx_epi32 beside the portable loop; gcc and clang -march=icelake-server, gcc
# -march=alderlake (VEX-encoded) and the LLVM backend for both build objects with vpdpbusd; run here (the portable
# sums without VNNI: UNETRC_VNNI=1), C and LLVM, against the interpreter within 1e-4 (measured 1.5e-7, 2.1e-7,
# 1.8e-7; C and LLVM alike). A mutation of the matmul quads' byte order, of the grid's padding level, of the
# convolution's channel offset or of the ConvTranspose's row groups fails it.
unset UNETRC_AMX
for cpu in icelake-server alderlake; do
    # shellcheck disable=SC2086
    "$U" "$m.onnx" -o "$T/$cpu.c" --target-cpu $cpu $q8
    [ "$(grep -c "^static void k[0-9]*_unetrc_fusedmatmul(.*uint32_t \*restrict b_quads.*uint8_t \*restrict aq" \
        "$T/$cpu.c")" -eq 2 ] || fail "int8: not 2 quad matmuls in the code for $cpu"
    [ "$(grep -c "^static void k[0-9]*_.*uint8_t \*restrict xp, const uint32_t \*restrict wquads" "$T/$cpu.c")" -eq 5 ] ||
        fail "int8: not 5 quad convolutions in the code for $cpu"
    [ "$(grep -c "^static void k[0-9]*_convtranspose(.*uint32_t \*restrict wt_quads" "$T/$cpu.c")" -eq 1 ] ||
        fail "int8: no quad ConvTranspose in the code for $cpu"
    if grep -q "_unetrc_fakequant(" "$T/$cpu.c"; then fail "int8: FakeQuant kernels left in the code for $cpu"; fi
    for p in "_mm512_dpbusd_epi32(" "_mm256_dpbusd_avx_epi32(" "urc_dot4_u8s8("; do
        grep -q "$p" "$T/$cpu.c" || fail "int8: no $p in the code for $cpu"
    done
    # shellcheck disable=SC2086
    if "$U" "$m.onnx" -o "$T/${cpu}_llvm.o" --backend llvm --target-cpu $cpu $q8 2>"$T/err"; then
        objdump -d "$T/${cpu}_llvm.o" | grep -q vpdpbusd || fail "int8: LLVM backend, $cpu: no vpdpbusd in the object"
    elif ! grep -q "LLVM backend" "$T/err"; then
        fail "int8: LLVM backend: $(cat "$T/err")"
    fi
done
for build in "gcc -fopenmp -march=icelake-server:icelake-server" "clang -fopenmp -march=icelake-server:icelake-server" \
    "gcc -fopenmp -march=alderlake:alderlake"; do
    cpu=${build##*:} build=${build%:*}
    # shellcheck disable=SC2086
    $build -std=c11 -O2 -Wall -Wextra -Werror -c "$T/$cpu.c" -o "$T/$cpu.o" ||
        { fail "int8: $build does not build the code for $cpu"; continue; }
    objdump -d "$T/$cpu.o" | grep -q vpdpbusd || fail "int8: $build: no vpdpbusd in the object"
done
for be in c llvm; do
    # shellcheck disable=SC2086
    if ! UNETRC_AMX=0 UNETRC_VNNI=1 "$U" run "$m.onnx" --input "$m.input.npy" $q8 --backend $be --output "$T/gen1.npy" \
        --output "$T/gen2.npy" --output "$T/gen3.npy" 2>"$T/err"; then
        grep -q "unknown backend\|not built" "$T/err" || fail "int8 quads $be: $(cat "$T/err")"
        continue
    fi
    for i in 1 2 3; do "$cmp" "$T/ref$i.npy" "$T/gen$i.npy" 1e-4 || fail "int8 quads: $be code vs interpreter (output $i)"; done
done
# Channel counts that are no multiple of 4 and strided convolutions (tests/data/int8_odd.onnx: convolutions 10 -> 18
# and 18 -> 16, a ConvTranspose 18 -> 6, MatMuls with K 18 and 13, stride-2 convolutions 18 -> 12 (kernel 3,
# padding at one end only) and 18 -> 16 (kernel 2); make_int8_odd.py): the code for icelake-server has every product
# on quads and no FakeQuant; on tiles (AMX, C; the strided ones in float32) and on quads (VNNI, C and LLVM) against
# the interpreter within 1e-4 (measured 7.8e-8 to 3.6e-7). Packing the convolutions' weight quads by C instead of C
# rounded up to 4 fails it by 0.7 to 0.85 of max|y| (int8_amx.onnx, whose counts are multiples of 4, passes), a
# strided row's address without the stride by 0.46 and 0.91, the grid's old no-padding shortcut (P = in) by 9.6e-2.
m="$S/tests/data/int8_odd"
mkdir "$T/calo"
for s in 1 2 3 4; do "$(dirname "$cmp")/npy_randn" "$m.input.npy" $s "$T/calo/s$s.npy"; done
q8="--precision int8 --calibrate $T/calo"
# shellcheck disable=SC2086
"$U" "$m.onnx" -o "$T/odd.c" --target-cpu icelake-server $q8
if ! { [ "$(grep -c "uint8_t \*restrict xp, const uint32_t \*restrict wquads" "$T/odd.c")" -eq 4 ] &&
    [ "$(grep -c "restrict wt_quads" "$T/odd.c")" -eq 1 ] && [ "$(grep -c "restrict b_quads" "$T/odd.c")" -eq 2 ] &&
    ! grep -q "_unetrc_fakequant(" "$T/odd.c"; }; then
    fail "int8_odd: not every product on quads for icelake-server"
fi
# shellcheck disable=SC2086
UNETRC_QUANT_FOLD=0 "$U" run "$m.onnx" --input "$m.input.npy" $q8 --interp --output "$T/ref1.npy" --output "$T/ref2.npy" \
    --output "$T/ref3.npy" --output "$T/ref4.npy" --output "$T/ref5.npy"
# (the grids in chunks: of 2 output slabs on tiles, the last one shorter; of 1 on quads through LLVM, the strided
# ones' chunks 2 slices apart)
for run in "UNETRC_AMX=1 UNETRC_GRID_SLABS=2:c" "UNETRC_AMX=0 UNETRC_VNNI=1:c" \
    "UNETRC_AMX=0 UNETRC_VNNI=1 UNETRC_GRID_SLABS=1:llvm"; do
    be=${run##*:} vars=${run%:*}
    # shellcheck disable=SC2086
    if ! env $vars "$U" run "$m.onnx" --input "$m.input.npy" $q8 --backend $be --output "$T/gen1.npy" \
        --output "$T/gen2.npy" --output "$T/gen3.npy" --output "$T/gen4.npy" --output "$T/gen5.npy" 2>"$T/err"; then
        grep -q "unknown backend\|not built" "$T/err" || fail "int8_odd $vars $be: $(cat "$T/err")"
        continue
    fi
    for i in 1 2 3 4 5; do
        "$cmp" "$T/ref$i.npy" "$T/gen$i.npy" 1e-4 || fail "int8_odd: $vars $be vs interpreter (output $i)"
    done
done
# Grids over 1 MiB in chunks of output slabs by default, work items of parts of a slab's rows (conv_amx.c
# slab_chunks; tests/data/grid_chunks.onnx: a 16 -> 16 convolution on 40^3 voxels, chunks of 16, 16 and 8 slabs,
# slabs in 4 parts, and a stride-2 one, quads only, chunks of 16 and 4, 4 parts, the last one shorter): the code for
# sapphirerapids has the chunk loops, and against whole grids and whole slabs (UNETRC_GRID_SLABS=0) every arena is
# smaller (measured bf16 8515840 -> 7161088 bytes, split 12935680 -> 10226176, int8 quads 9377920 -> 8700544) and
# the outputs are the same bits (bf16 on tiles, C and LLVM, int8 on quads, emulated here without AMX or VNNI; the
# kernels themselves against the interpreter above: unetr_conv_tiny and int8_odd, on chunks too). A chunk's grid read
# from slice 0 instead of its own fails it (int8_odd: 0.57 to 1.07 of max|y|), parts a block short 1.05 of max|y|.
m="$S/tests/data/grid_chunks"
mkdir "$T/calg"
"$(dirname "$cmp")/npy_randn" "$m.input.npy" 1 "$T/calg/s1.npy"
"$U" "$m.onnx" -o "$T/gc.c" --target-cpu sapphirerapids --precision bf16
[ "$(grep -c "for (urc_idx z0 = 0; z0 < 40; z0 += 16)" "$T/gc.c")" -eq 1 ] || fail "grid_chunks: no chunked grid for sapphirerapids"
# (and gcc builds its chunk and part loops around the real tile intrinsics)
if ! { gcc -fopenmp -std=c11 -O2 -Wall -Wextra -Werror -c "$T/gc.c" -o "$T/gc.o" && objdump -d "$T/gc.o" | grep -q tdpbf16ps; }; then
    fail "grid_chunks: gcc does not build the chunked tile code for sapphirerapids"
fi
arena() { sed -n 's/^#define MODEL_ARENA_SIZE \([0-9]*\).*/\1/p' "$1/model.h"; }
for run in bf16:c int8:c bf16:llvm; do
    p=${run%:*} be=${run#*:} vars="UNETRC_AMX=1" opts="--precision bf16"
    [ "$p" = int8 ] && vars="UNETRC_AMX=0 UNETRC_VNNI=1 UNETRC_CALIBRATE=compiled" opts="--precision int8 --calibrate $T/calg"
    for sl in 0 ""; do
        keep="--keep $T/gk$p$sl"
        [ "$be" = llvm ] && keep=""
        # shellcheck disable=SC2086
        if ! env $vars UNETRC_GRID_SLABS=$sl "$U" run "$m.onnx" --input "$m.input.npy" $opts --backend $be $keep \
            --output "$T/gc$sl.1.npy" --output "$T/gc$sl.2.npy" >/dev/null 2>"$T/err"; then
            grep -q "unknown backend\|not built" "$T/err" || fail "grid_chunks $run: $(cat "$T/err")"
            continue 2
        fi
    done
    for i in 1 2; do "$cmp" "$T/gc0.$i.npy" "$T/gc.$i.npy" 0 || fail "grid_chunks $run: chunks vs whole grids (output $i)"; done
    [ "$be" = llvm ] || [ "$(arena "$T/gk$p")" -lt "$(arena "$T/gk${p}0")" ] || fail "grid_chunks $p: the arena did not shrink"
done
whole=$(UNETRC_GRID_SLABS=0 UNETRC_AMX_SPLIT=1 "$U" info "$m.onnx" --target-cpu sapphirerapids --precision bf16 |
    sed -n 's/^arena_bytes: //p')
chunks=$(UNETRC_AMX_SPLIT=1 "$U" info "$m.onnx" --target-cpu sapphirerapids --precision bf16 | sed -n 's/^arena_bytes: //p')
[ "$chunks" -lt "$whole" ] || fail "grid_chunks split: the arena did not shrink ($whole -> $chunks)"
# int8 with the norms' fusions (passes/norm_stats.c, norm_into_conv.c, norm_pointwise.c), as bf16 has them: on
# unetr_conv_tiny the norms after 3 int8 tile convolutions read their statistics from those convolutions' epilogues,
# 1 norm that only an int8 tile convolution reads is applied by its grid fill, which quantises the normalised values
# itself (its grid's uint8 levels stored 16 at a time, vpmovdb), and encoder1's residual 1x1 convolution of the image
# is made by its norm; on tiles (emulated without AMX; C) and on quads (VNNI), against
# the interpreter within 1e-4 of max|y| but for at most 0.5 % of the elements (a level the float32 sums put on the
# other side of a step: 448 of 98304 here, as before the fusions), against the same code without the fusions bit for
# bit (their float64 sums' order moves no level here), and --compare (its float32 build puts the norms back).
m="$S/models/unetr_conv_tiny"
mkdir "$T/calu"
for s in 1 2 3 4; do "$(dirname "$cmp")/npy_randn" "$m.input.npy" $s "$T/calu/s$s.npy"; done
q8="--precision int8 --calibrate $T/calu"
tiles=""
grep -q amx_bf16 /proc/cpuinfo || tiles="UNETRC_AMX=1"
# shellcheck disable=SC2086
"$U" info "$m.onnx" $q8 --target-cpu sapphirerapids --dump-ir >"$T/ir8" 2>&1
[ "$(grep -c " stat_parts=" "$T/ir8")" -eq 3 ] && [ "$(grep -c " x_norm=" "$T/ir8")" -eq 1 ] &&
    [ "$(grep -c "(X2 1x1)" "$T/ir8")" -eq 1 ] ||
    fail "unetr_conv_tiny int8: not 3 convolutions summing for their norms, 1 norm in its convolution, 1 in its norm"
# shellcheck disable=SC2086
"$U" "$m.onnx" -o "$T/u8.c" --target-cpu sapphirerapids $q8
grep -q "_mm512_cvtepi32_epi8(" "$T/u8.c" || fail "unetr_conv_tiny int8: the grid fills' levels not stored by vpmovdb"
# shellcheck disable=SC2086
"$U" run "$m.onnx" --input "$m.input.npy" $q8 --interp --output "$T/ref.npy"
for run in "$tiles UNETRC_GRID_SLABS=2:c" "UNETRC_AMX=0 UNETRC_VNNI=1:c"; do
    be=${run##*:} vars=${run%:*}
    # shellcheck disable=SC2086
    if ! env $vars "$U" run "$m.onnx" --input "$m.input.npy" $q8 --backend $be --output "$T/gen.npy" 2>"$T/err"; then
        grep -q "unknown backend\|not built" "$T/err" || fail "unetr_conv_tiny int8 $vars $be: $(cat "$T/err")"
        continue
    fi
    "$cmp" "$T/ref.npy" "$T/gen.npy" 1e-4 5e-3 || fail "unetr_conv_tiny int8: $vars $be vs interpreter"
    [ "$run" = "$tiles UNETRC_GRID_SLABS=2:c" ] || continue
    # shellcheck disable=SC2086
    env $vars UNETRC_NORM_STATS=0 UNETRC_NORM_INTO_CONV=0 "$U" run "$m.onnx" --input "$m.input.npy" $q8 \
        --output "$T/nofuse.npy"
    "$cmp" "$T/nofuse.npy" "$T/gen.npy" 0 || fail "unetr_conv_tiny int8: $vars: the norms' fusions changed the output"
done
# shellcheck disable=SC2086
env $tiles "$U" run "$m.onnx" --input "$m.input.npy" $q8 --compare >"$T/cmp.txt" 2>&1 ||
    fail "unetr_conv_tiny int8 --compare: $(cat "$T/cmp.txt")"
grep -q "^compare output: precision=int8 .*label_agreement=" "$T/cmp.txt" ||
    fail "unetr_conv_tiny int8 --compare: $(cat "$T/cmp.txt")"
# --bf16-exact (passes/precision.c urc_precision_bf16_exact: an operand's low bf16 parts multiplied too) on
# tests/data/bf16_exact's single products (make_bf16_exact.py; random weights, whose low parts are not zero), every
# operand the kernels can carry (UNETRC_BF16_EXACT_ALL=1): a 16-channel convolution (X split by the fill, and W), the
# image's (W; its X in the grid as two parts already), a concatenation's (X, W), two ConvTransposes and a pointwise
# convolution reading their bf16 outputs in place (W), a matmul (A split once; W); and two patch embeddings (kernel =
# stride: one tile product over the gathered patches, X split, conv_patch.c) in every mode: the code (C; LLVM where
# built; emulated without AMX) against the interpreter on the same parts within 1e-4 of max|y| (measured 3.4e-8 to
# 4.1e-6, and 1.3e-5 where the ConvTransposes' bf16 outputs round a value the other way), where the parts move the
# interpreter's own output by 1.3e-3 to 3.4e-3 (checked: more than 1e-4), the marks where the kernels take them
m="$S/tests/data/bf16_exact"
ex_in="--input $m.input0.npy --input $m.input1.npy --input $m.input2.npy --precision bf16 --reduce-head"
# shellcheck disable=SC2086
env $tiles "$U" "$m.onnx" -o "$T/px.c" --precision bf16 --reduce-head --target-cpu native
[ "$(grep -c "const uint32_t \*restrict wpatch" "$T/px.c")" -eq 2 ] || fail "bf16_exact: not 2 patch tile kernels"
for ex in none:Y1,Y2,Y3,Y4,Z:0:0:0 weights:Y1,Y2,Y3,Y4,Z:7:0:0 data:Y1,Y3,Z:0:3:0 both:Y1,Y2,Y3,Y4,Z:4:0:3; do
    moved=$(echo "$ex" | cut -d: -f2) nw=$(echo "$ex" | cut -d: -f3) nx=$(echo "$ex" | cut -d: -f4)
    nxw=$(echo "$ex" | cut -d: -f5) ex=${ex%%:*}
    o_ref="" o_gen=""
    for o in Y1 Y2 Y3 Y4 Z Y5 Y6; do o_ref="$o_ref --output $T/r_${ex}_$o.npy" o_gen="$o_gen --output $T/g_$o.npy"; done
    # shellcheck disable=SC2086
    env $tiles UNETRC_BF16_EXACT_ALL=1 "$U" run "$m.onnx" $ex_in --bf16-exact $ex --interp $o_ref
    for be in c llvm; do
        # shellcheck disable=SC2086
        if ! env $tiles UNETRC_BF16_EXACT_ALL=1 "$U" run "$m.onnx" $ex_in --bf16-exact $ex --backend $be $o_gen \
            2>"$T/err"; then
            grep -q "unknown backend\|not built" "$T/err" || fail "bf16_exact $ex $be: $(cat "$T/err")"
            continue
        fi
        for o in Y1 Y2 Y3 Y4 Z Y5 Y6; do
            "$cmp" "$T/r_${ex}_$o.npy" "$T/g_$o.npy" 1e-4 >/dev/null || fail "bf16_exact $ex $be: $o vs interpreter"
        done
    done
    for o in Y1 Y2 Y3 Y4 Z; do
        case ",$moved," in *",$o,"*) ;; *) continue ;; esac
        [ "$ex" = none ] || ! "$cmp" "$T/r_none_$o.npy" "$T/r_${ex}_$o.npy" 1e-4 >/dev/null ||
            fail "bf16_exact $ex: the parts do not move $o"
    done
    # shellcheck disable=SC2086
    env $tiles UNETRC_BF16_EXACT_ALL=1 "$U" info "$m.onnx" --precision bf16 --reduce-head --bf16-exact $ex \
        --target-cpu native --dump-ir >"$T/irx"
    [ "$(grep -c " bf16_exact=W$" "$T/irx")" -eq "$nw" ] && [ "$(grep -c " bf16_exact=X$" "$T/irx")" -eq "$nx" ] &&
        [ "$(grep -c " bf16_exact=XW$" "$T/irx")" -eq "$nxw" ] ||
        fail "bf16_exact $ex: not $nw W, $nx X and $nxw XW marks: $(grep -o "bf16_exact=.*" "$T/irx" | tr '\n' ' ')"
done
# ... and the rule alone on unetr_conv_tiny: the weights of 8 convolutions (each no larger than its data), the data of
# the transformer's 49 matmuls (each no larger than its weights); its output 6.9e-3 of max|y| from float32's where
# the one-pass form's is 9.8e-3 (checked: within 8.5e-3 and not)
m="$S/models/unetr_conv_tiny"
# shellcheck disable=SC2086
env $tiles "$U" info "$m.onnx" --precision bf16 --bf16-exact both --target-cpu native --dump-ir >"$T/irx"
[ "$(grep -c " bf16_exact=W$" "$T/irx")" -eq 8 ] && [ "$(grep -c " bf16_exact=X$" "$T/irx")" -eq 49 ] ||
    fail "unetr_conv_tiny --bf16-exact both: not 8 W and 49 X marks"
"$U" run "$m.onnx" --input "$m.input.npy" --output "$T/f32.npy"
for ex in none both; do
    # shellcheck disable=SC2086
    env $tiles "$U" run "$m.onnx" --input "$m.input.npy" --precision bf16 --bf16-exact $ex --output "$T/u_$ex.npy"
done
"$cmp" "$T/f32.npy" "$T/u_both.npy" 8.5e-3 >/dev/null && ! "$cmp" "$T/f32.npy" "$T/u_none.npy" 8.5e-3 >/dev/null ||
    fail "unetr_conv_tiny --bf16-exact both: not nearer float32 than the one-pass form"
"$U" run "$m.onnx" --input "$m.input.npy" --bf16-exact both --output "$T/x.npy" 2>"$T/err" &&
    fail "--bf16-exact without --precision bf16 accepted"
grep -q "^unetrc: usage error: --bf16-exact needs --precision bf16" "$T/err" ||
    fail "--bf16-exact without bf16: $(cat "$T/err")"
echo "amx_check: $fails failures"
[ "$fails" -eq 0 ]
