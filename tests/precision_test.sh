#!/bin/sh
# precision_test.sh UNETRC NPY_COMPARE MODELS_DIR NAME [quick|int8|paths|models] [extra unetrc run options]
#
# --precision on bundled model NAME (docs/cli.md). Both modes: `run --precision bf16|fp16 --compare`
# against float32 on NAME.input.npy, each output within the tolerance below and with a label agreement
# (argmax over the channels) of at least 99 % (bf16) / 99.9 % (fp16), and an error that is not zero (the
# weights really were rounded).
#
# Tolerances (max |reduced - fp32| / max |fp32|): the unit roundoff of the weights is u = 2^-9 = 1.95e-3
# for bf16 and 2^-12 = 2.44e-4 for fp16 (round to nearest even; activations and sums stay float32). Measured
# (max over outputs): bf16 3.4e-3 (unetr_pp_small) .. 7.1e-3 (unet2d_5slice), 1.7-4 u; fp16 4.2e-4 .. 8.1e-4
# (unetr_conv_tiny), 1.7-3.3 u; UNETR 96^3 (bench/run_bench.py): bf16 7.8e-3, fp16 9.9e-4, 4 u. On a CPU with
# AVX512-BF16 bf16 also rounds the products' activations (pair products, docs/architecture.md): measured on every
# bundled model 3.1e-3 (unet3d_batch) .. 1.15e-2 (unetr_perceptron_tiny), labels 99.41-100 %, up to 5.9 u. We
# allow 8 u: 1.56e-2 and 1.95e-3.
#
# quick (the default suite, one model: fp16 through the C backend, bf16 through LLVM when URC_TEST_LLVM=1,
# which CMake sets when the LLVM backend is built, else C) also checks: the weights file is half the float32
# one (within the float32 biases and alignment: ratio in [0.49, 0.53]) for bf16 and fp16; --keep-fp32 '*' gives the float32
# file and code; a --keep-fp32 glob matching no node is an error; --compare's usage errors; generated
# fp16 code with the direct (non-Winograd) kernels equals `run --interp --precision fp16` (the interpreter
# on the rounded weights) to 1e-5: the kernels convert exactly.
#
# int8 (`--precision int8 --calibrate DIR`; the int8 mode, also part of quick and models): DIR holds 4
# standard normal samples of the input's shape (tests/npy_randn, seeds 1-4; the bundled inputs are standard
# normal too). `run --compare` against float32: measured max_rel_err 8.0e-2 (unetr_conv_tiny), 4.4e-2
# (basicunet3d_tiny), label agreement 98.71 % and 98.69 % (with symmetric activation steps and the input
# fake-quantised, before 2026-12-04: 7.6e-2 and 6.8e-2, 98.09 % and 97.70 %): quick and int8 allow 0.1 and 96 %;
# on every bundled model (models) 2.1e-2 .. 1.10e-1 and 93.3 .. 100 % (docs/cli.md): 0.15 and 90 %.
# The generated int8 code against `run --interp --precision int8` (the reference: the same float32
# arithmetic): quick and int8, within 1e-4 of max |ref| except for at most 0.5 % of the elements, and within
# 2e-2 for all: a float32 rounding difference upstream (kernel vs interpreter summation order) can move an
# activation across a rounding boundary of its fake quantisation, one step ((max - min) / 255) that the next
# layers spread over a few voxels (measured: unetr_conv_tiny none, 9.6e-8; basicunet3d_tiny 18 of 65536
# elements, at most 6.7e-3; unetr_default_layout_small 0.36 %, 1.0e-2). models: within 1e-1 only, a check
# for gross errors: UNETR++'s spatial attention and Swin's windows spread each such step over many voxels, so
# their int8 outputs are as far from themselves under a 1e-7 (relative) perturbation of the input as the code
# is from the interpreter (unetr_pp_small 2.3e-2 vs 2.5e-2, swin_v2_fs6 5.1e-2 vs 5.7e-2; swin_v1_fs6 4.9e-2).
# pairs (bf16 pair products, vdpbf16ps): the code for a CPU with AVX512-BF16 holds the intrinsics, the
# Casts to bf16 and the direct convolutions' pair weights, the code for one without it none; on this
# machine the code (C portable and -march=native, LLVM) against the interpreter with direct convolutions
# within 1e-4 (unet3d_batch: 3.9e-7 with vdpbf16ps, 2.8e-7 as two multiply-adds) -- with vdpbf16ps if it has
# AVX512-BF16, else with UNETRC_DOT2=1 (the same graph and kernels, each pair as two multiply-adds).
# With URC_PAIRS_NORM=1 (unetr_conv_tiny) the code for znver4 (AVX512-BF16) also has norms storing bf16 (a Cast
# folded into the norm that computes its input), the code without AVX512-BF16 none, and on this machine the
# code (portable and -march=native) gives the same bits with and without the folding (UNETRC_BF16_FOLD=0), as
# does basicunet3d_tiny's, whose MaxPools then read and store bf16;
# and bf16 with every pair product (matmuls, direct and Winograd convolutions) against float32 as in quick
# (measured 9.5e-3, 99.80 %).
# paths (tests/data/int8_paths.onnx, tests/data/make_int8_paths.py): a small model that takes every kernel
# path scaling int8 weights (checked in the code built for this machine); the code, C and LLVM, within 1e-4 of
# the interpreter on every element (measured 2.0e-7), int8 against float32 within 0.15 (4.0e-2) and 90 %
# agreement (95.4 %).
# quick adds for int8: the weights file 0.22-0.28 of float32's (int8
# weights plus float32 biases and per-channel scales; float32's blob also holds Winograd's transformed
# weights; Winograd makes its transformed weights from the int8 ones at each call; measured 0.247), --keep-fp32 '*' gives the float32
# weights, segment's cache key, and the exact messages of --calibrate's errors and of --precision/--calibrate
# for grad and train.
set -eu
unetrc=$1; cmp=$2; dir=$3; name=$4; mode=${5:-models}
randn="$(dirname "$cmp")/npy_randn"
[ $# -ge 5 ] && shift 5 || shift 4
model="$dir/$name.onnx"; input="$dir/$name.input.npy"
out=$(mktemp -d /tmp/unetrc-prec-XXXXXX)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# compare P TOL MIN_AGREEMENT [options]: every output's line within TOL, agreement >= MIN_AGREEMENT, error > 0
compare() {
    p=$1; tol=$2; agree=$3; shift 3
    "$unetrc" run "$model" --input "$input" --precision "$p" --compare "$@" >"$out/cmp.txt"
    cat "$out/cmp.txt"
    n=$(grep -c "^compare .*: precision=$p max_abs_err=[0-9.e+-]* max_rel_err=[0-9.e+-]* max_abs_ref=[0-9.e+-]* label_agreement=[0-9.]*% voxels=[0-9]*$" "$out/cmp.txt" || true)
    [ "$n" -ge 1 ] && [ "$n" -eq "$(wc -l <"$out/cmp.txt")" ] || fail "$p: unexpected --compare output"
    awk -v tol="$tol" -v agree="$agree" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        rel = v["max_rel_err"] + 0; la = v["label_agreement"]; sub("%", "", la)
        if (!(rel > 0)) { print "FAIL: " $2 " error is zero: the weights were not rounded"; bad = 1 }
        if (!(rel <= tol)) { print "FAIL: " $2 " max_rel_err " rel " above " tol; bad = 1 }
        if (!(la + 0 >= agree)) { print "FAIL: " $2 " label agreement " la "% below " agree "%"; bad = 1 }
    } END { exit bad }' "$out/cmp.txt" || fail "$p out of tolerance"
}

# int8: calibration samples, --compare, and the generated code against the interpreter ([options])
cal="$out/cal"
mkdir "$cal"
for s in 1 2 3 4; do "$randn" "$input" $s "$cal/s$s.npy"; done
nout=$("$unetrc" info "$model" | grep -c '^output ')
gen=""; ref=""
for j in $(seq 1 "$nout"); do gen="$gen --output $out/int8_gen$j.npy"; ref="$ref --output $out/int8_ref$j.npy"; done
# int8 TOL MIN_AGREEMENT MAX_VS_INTERP [options]
int8() {
    tol=$1; agree=$2; vs=$3; shift 3
    # shellcheck disable=SC2086 # (gen, ref: options without spaces, split on purpose)
    compare int8 "$tol" "$agree" --calibrate "$cal" $gen "$@"
    # shellcheck disable=SC2086
    [ -f "$out/int8_ref1.npy" ] || "$unetrc" run "$model" --input "$input" --precision int8 --calibrate "$cal" --interp $ref
    for j in $(seq 1 "$nout"); do
        [ "$mode" = models ] || "$cmp" "$out/int8_ref$j.npy" "$out/int8_gen$j.npy" 1e-4 5e-3 ||
            fail "int8 code vs interpreter $*"
        "$cmp" "$out/int8_ref$j.npy" "$out/int8_gen$j.npy" "$vs" || fail "int8 code vs interpreter $*"
    done
}

if [ "$mode" = int8 ]; then
    int8 0.1 96 2e-2
    echo "ok: $name (int8)"
    exit 0
fi
if [ "$mode" = paths ]; then # tests/data/int8_paths.onnx: every kernel path, C and LLVM, exact to 1e-4 everywhere
    # (the float kernels' paths, those of a CPU with neither VNNI nor AMX, so the target is x86-64-v3 whatever
    # this CPU is (its int8 quads and tiles: amx_check.sh): packed, dot and voxel-lane direct kernels, the plain
    # conv and ConvTranspose loops, the packed Gemm, each with int8 weights and their scales; --reduce-head: the
    # last convolution, the output head, reduced too)
    gen="$gen --reduce-head --target-cpu x86-64-v3"; ref="$ref --reduce-head --target-cpu x86-64-v3"
    "$unetrc" "$model" -o "$out/paths.c" --target-cpu x86-64-v3 --precision int8 --calibrate "$cal" --reduce-head
    # (and Winograd's U made in arena scratch from the int8 W packed for it, wino_g: the 8 -> 8 convolution)
    for p in "int8_t \*restrict wpack" "int8_t \*restrict wdot" "int8_t \*restrict wvox" "int8_t \*restrict w," \
        "float \*restrict u, const int8_t \*restrict wino_g, const float \*restrict wscale" \
        "int8_t \*restrict b_packed" "^static void k[0-9]*_convtranspose(.*int8_t \*restrict w,"; do
        grep -q "$p" "$out/paths.c" || fail "int8_paths: no kernel matches '$p'"
    done
    int8 0.15 90 1e-4
    if [ "${URC_TEST_LLVM:-0}" = 1 ]; then int8 0.15 90 1e-4 --backend llvm; fi
    # the weight rows converted with AVX2 intrinsics (the C printer's int8 loop form), where this CPU has it
    grep -q "_mm256_cvtepi8_epi32(" "$out/paths.c" || fail "int8_paths: no AVX2 int8 conversion in the code"
    if grep -q avx2 /proc/cpuinfo; then int8 0.15 90 1e-4 --cflags "-std=c11 -O2 -march=native -fopenmp"; fi
    # ... and with AVX-512, 16 lanes a step: built here for x86-64-v4 whatever this CPU is, run where it has AVX-512
    "$unetrc" "$model" -o "$out/v4.c" --target-cpu x86-64-v4 --precision int8 --calibrate "$cal"
    if grep -q avx512f /proc/cpuinfo; then
        gen="${gen% --target-cpu x86-64-v3} --target-cpu x86-64-v4"
        int8 0.15 90 1e-4 --cflags "-std=c11 -O2 -march=x86-64-v4 -fopenmp"
    fi
    grep -q "_mm512_cvtepi8_epi32(" "$out/v4.c" || fail "int8_paths: no AVX-512 int8 conversion in the x86-64-v4 code"
    "${CC:-cc}" -std=c11 -O2 -march=x86-64-v4 -fopenmp -c "$out/v4.c" -o "$out/v4.o" ||
        fail "int8_paths: the x86-64-v4 code does not build"
    # the ranges measured by the model's compiled float32 code (calibrate.c; models above ~2 GMAC over the
    # samples take it) against the interpreter's (the ones small models take): the same FakeQuant nodes, each
    # scale within 1e-5 and the same steps [lo,hi]; a C compiler that cannot start is one line naming it
    for how in interp compiled; do
        UNETRC_CALIBRATE=$how "$unetrc" "$model" -o "$out/cal_$how.c" --precision int8 --calibrate "$cal" \
            --dump-after precision | grep FakeQuant >"$out/fq_$how.txt"
    done
    [ -s "$out/fq_interp.txt" ] || fail "calibration: no FakeQuant node"
    paste -d '\n' "$out/fq_interp.txt" "$out/fq_compiled.txt" | awk '
        NR % 2 == 1 { a = $0; next }
        { b = $0; sa = a; sb = b; sub(/ scale=.*/, "", sa); sub(/ scale=.*/, "", sb)
          x = a; y = b; sub(/.* scale=/, "", x); sub(/.* scale=/, "", y)
          qa = x; qb = y; sub(/^[^[]*/, "", qa); sub(/^[^[]*/, "", qb)
          d = x - y; if (d < 0) d = -d
          if (sa != sb || qa != qb || !(d <= 1e-5 * x) || !(x > 0)) { print "FAIL: interp " a " / compiled " b; bad = 1 } }
        END { exit bad }' || fail "calibration: compiled ranges differ from the interpreter's"
    [ "$(wc -l <"$out/fq_interp.txt")" -eq "$(wc -l <"$out/fq_compiled.txt")" ] || fail "calibration: FakeQuant counts"
    set +e
    msg=$(CC=/nonexistent/cc UNETRC_CALIBRATE=compiled "$unetrc" "$model" -o "$out/x.c" --precision int8 \
        --calibrate "$cal" 2>&1)
    rc=$?
    set -e
    want="unetrc: error: $model: cannot run the C compiler '/nonexistent/cc': No such file or directory; --calibrate \
measures activations with the model's float32 code, built by the C compiler (UNETRC_CALIBRATE=interp: with the \
interpreter instead, slower)"
    [ "$rc" -eq 1 ] && [ "$msg" = "$want" ] || fail "calibration without a C compiler: exit $rc: $msg"
    [ ! -e "$out/x.c" ] || fail "calibration without a C compiler wrote the code"
    echo "ok: $name (int8 kernel paths)"
    exit 0
fi
if [ "$mode" = pairs ]; then # bf16 pair products (vdpbf16ps)
    # the code for a CPU with AVX512-BF16 (and no AMX, whose tile kernels take these convolutions there:
    # amx_check.sh) multiplies pairs: the intrinsics under #if, Casts to bf16 before the products, the direct
    # convolutions' weights as pairs; for one without it (and with UNETRC_DOT2=0) it does not
    "$unetrc" "$model" -o "$out/spr.c" --target-cpu znver4 --precision bf16
    "$unetrc" "$model" -o "$out/v3.c" --target-cpu x86-64-v3 --precision bf16
    UNETRC_DOT2=0 "$unetrc" "$model" -o "$out/off.c" --target-cpu znver4 --precision bf16
    for p in "_mm512_dpbf16_ps(" "^static void k[0-9]*_cast(const float \*restrict x, uint16_t \*restrict y)" \
        "const uint32_t \*restrict wpairs"; do
        grep -q "$p" "$out/spr.c" || fail "pairs: no '$p' in the code for znver4"
        if grep -q "$p" "$out/v3.c" || grep -q "$p" "$out/off.c"; then fail "pairs: '$p' without AVX512-BF16"; fi
    done
    if [ "${URC_PAIRS_NORM:-0}" = 1 ]; then
        # norms whose output only the products read store it as bf16 (their Casts folded into them)
        p="_unetrc_fusednorm(const float \*restrict x, .*uint16_t \*restrict y"
        grep -q "$p" "$out/spr.c" || fail "pairs: no norm stores bf16 in the code for znver4"
        if grep -q "$p" "$out/v3.c"; then fail "pairs: a norm stores bf16 without AVX512-BF16"; fi
        # ... and so do ConvTransposes (the row-GEMM kernel), LayerNorms and attentions (the transformer's)
        for p in "_convtranspose(const uint16_t \*restrict x, .*uint16_t \*restrict y" \
            "_layernormalization(const float \*restrict x, uint16_t \*restrict y" \
            "_unetrc_attention(const float \*restrict q, .*uint16_t \*restrict y)"; do
            grep -q "$p" "$out/spr.c" || fail "pairs: no '$p' in the code for znver4"
            if grep -q "$p" "$out/v3.c"; then fail "pairs: '$p' without AVX512-BF16"; fi
        done
    fi
    # run here: with vdpbf16ps where this CPU has AVX512-BF16, else the same graph and kernels with each pair
    # product as two multiply-adds (UNETRC_DOT2=1: the intrinsics' portable twins in C, llvm.fma in LLVM; the
    # same numbers on normal values, tests/test_dot.c)
    if ! grep -q avx512_bf16 /proc/cpuinfo; then
        export UNETRC_DOT2=1
        echo "(no avx512_bf16 on this CPU: the pair products run as two multiply-adds, UNETRC_DOT2=1)"
    fi
    if [ "${URC_PAIRS_NORM:-0}" = 1 ]; then
        # the folded norms and ConvTransposes round as the Casts did: the code with and without folding, bit for
        # bit (against the interpreter this model moves by a bf16 step: its norms' statistics in double there)
        for cflags in "-std=c11 -O2 -fopenmp" "-std=c11 -O2 -march=native -fopenmp"; do
            "$unetrc" run "$model" --input "$input" --precision bf16 --cflags "$cflags" --output "$out/fold.npy"
            UNETRC_BF16_FOLD=0 "$unetrc" run "$model" --input "$input" --precision bf16 --cflags "$cflags" \
                --output "$out/nofold.npy"
            "$cmp" "$out/nofold.npy" "$out/fold.npy" 0 || fail "pairs: folded norms ($cflags) differ"
        done
        # MaxPools between a norm and a product read the norm's bf16 output and store bf16 (basicunet3d_tiny's
        # encoders, passes/precision.c max_pools_read_bf16): their Casts go, and the bits stay (rounding is
        # monotonic: the maximum of the rounded values is the rounded maximum)
        b="$dir/basicunet3d_tiny"
        "$unetrc" "$b.onnx" -o "$out/bu.c" --target-cpu znver4 --precision bf16
        [ "$(grep -c "^static void k[0-9]*_maxpool(const uint16_t \*restrict x, uint16_t \*restrict y)" "$out/bu.c")" -eq 2 ] ||
            fail "pairs: not 2 MaxPools reading and storing bf16 in basicunet3d_tiny's code for znver4"
        [ "$(grep -c "^static void k[0-9]*_cast(" "$out/bu.c")" -eq 1 ] || fail "pairs: basicunet3d_tiny: not 1 Cast left"
        "$unetrc" run "$b.onnx" --input "$b.input.npy" --precision bf16 --output "$out/fold.npy"
        UNETRC_BF16_FOLD=0 "$unetrc" run "$b.onnx" --input "$b.input.npy" --precision bf16 --output "$out/nofold.npy"
        "$cmp" "$out/nofold.npy" "$out/fold.npy" 0 || fail "pairs: MaxPools on bf16 differ"
        # every pair product (matmuls, direct and Winograd convolutions) against float32
        compare bf16 1.56e-2 99
    else
        # against the interpreter, whose graph has the same Casts (the products' data rounded alike), with
        # the direct convolutions (Winograd's pairs round its transformed input, which the interpreter does
        # not model): float32 summation order apart, the same numbers unless a float32 difference moves an
        # activation across a bf16 rounding boundary (one bf16 step, which later layers spread: UNETR++'s
        # attention widely, unetr_pp_small 4.5e-3, where the interpreter itself moves by 1.6e-3 under a 1e-7
        # change of the input); on unet3d_batch measured 3.9e-7
        ref=""; gen=""
        for j in $(seq 1 "$nout"); do gen="$gen --output $out/bf_gen$j.npy"; ref="$ref --output $out/bf_ref$j.npy"; done
        # shellcheck disable=SC2086
        "$unetrc" run "$model" --input "$input" --precision bf16 --interp $ref
        # c: portable (run's -O2); cnative: built for this CPU, the intrinsics (vdpbf16ps, vcvtneps2bf16) where
        # it has them
        bes="c cnative"
        if [ "${URC_TEST_LLVM:-0}" = 1 ]; then bes="c cnative llvm"; fi
        for be in $bes; do
            cflags=""
            if [ "$be" = cnative ]; then be=c cflags="-std=c11 -O2 -march=native -fopenmp"; fi
            # shellcheck disable=SC2086
            UNETRC_CONV=direct "$unetrc" run "$model" --input "$input" --precision bf16 --backend "$be" \
                ${cflags:+--cflags "$cflags"} $gen
            for j in $(seq 1 "$nout"); do
                "$cmp" "$out/bf_ref$j.npy" "$out/bf_gen$j.npy" 1e-4 || fail "pairs: $be code vs interpreter"
            done
        done
        # (against float32: quick, on unetr_conv_tiny's pairs; with Winograd's, the models mode)
    fi
    echo "ok: $name (bf16 pairs)"
    exit 0
fi
if [ "$mode" != quick ]; then
    compare bf16 1.56e-2 99 "$@"
    compare fp16 1.95e-3 99.9 "$@"
    int8 0.15 90 1e-1 "$@"
    echo "ok: $name"
    exit 0
fi
# quick: fp16 through C, bf16 through LLVM when it is built (else C)
compare fp16 1.95e-3 99.9
if [ "${URC_TEST_LLVM:-0}" = 1 ]; then compare bf16 1.56e-2 99 --backend llvm; else compare bf16 1.56e-2 99; fi
# bf16 weight rows widened with AVX2 intrinsics (the C printer's widening loop form) in the code for an AVX2
# CPU without AVX512-BF16; where this CPU has AVX2, those direct and Winograd kernels (the code for x86-64-v3,
# built with -march=native) against the interpreter (Winograd makes its transformed weights at each call, in
# float32, from the bf16 taps: no second rounding; when it stored them in bf16 it was 1.8e-3 of max|y| off on this
# model)
"$unetrc" "$model" -o "$out/v3.c" --target-cpu x86-64-v3 --precision bf16
grep -q "_mm256_cvtepu16_epi32(" "$out/v3.c" || fail "bf16: no AVX2 widening in the x86-64-v3 code"
"$unetrc" "$model" -o "$out/v4.c" --target-cpu x86-64-v4 --precision bf16
grep -q "_mm512_cvtepu16_epi32(" "$out/v4.c" || fail "bf16: no AVX-512 widening in the x86-64-v4 code"
"${CC:-cc}" -std=c11 -O2 -march=x86-64-v4 -fopenmp -c "$out/v4.c" -o "$out/v4.o" || fail "bf16: the x86-64-v4 code does not build"
if grep -q avx2 /proc/cpuinfo; then
    bfo=""; bfr=""
    for j in $(seq 1 "$nout"); do bfo="$bfo --output $out/bfn_gen$j.npy"; bfr="$bfr --output $out/bfn_ref$j.npy"; done
    # shellcheck disable=SC2086
    "$unetrc" run "$model" --input "$input" --precision bf16 --target-cpu x86-64-v3 --interp $bfr
    for conv in direct winograd; do
        # shellcheck disable=SC2086 # (bfo, bfr: options without spaces, split on purpose)
        UNETRC_CONV=$conv "$unetrc" run "$model" --input "$input" --precision bf16 --target-cpu x86-64-v3 \
            --cflags "-std=c11 -O2 -march=native -fopenmp" $bfo
        for j in $(seq 1 "$nout"); do
            "$cmp" "$out/bfn_ref$j.npy" "$out/bfn_gen$j.npy" 1e-4 || fail "bf16: -march=native $conv code vs interpreter"
        done
    done
fi

# weights sizes: reduced about half, --keep-fp32 '*' the float32 file
"$unetrc" "$model" -o "$out/f32.c"
for p in bf16 fp16; do
    "$unetrc" "$model" -o "$out/$p.c" --precision $p
    a=$(stat -c %s "$out/f32.weights"); b=$(stat -c %s "$out/$p.weights")
    echo "weights: fp32 $a bytes, $p $b bytes"
    awk -v a="$a" -v b="$b" 'BEGIN { r = b / a; exit !(r >= 0.49 && r <= 0.53) }' || fail "$p weights $b not half of $a"
done
# the output head stays float32 unless --reduce-head: its kernel converts bf16 weights only with it (the
# weights files may not differ: the head's few weights vanish in the blob's 64-byte alignment)
mkdir "$out/head"
"$unetrc" "$model" -o "$out/head/bf16.c" --precision bf16 --reduce-head
a=$(grep -c 'urc_bf16_to_f32(' "$out/bf16.c"); b=$(grep -c 'urc_bf16_to_f32(' "$out/head/bf16.c")
[ "$b" -gt "$a" ] || fail "--reduce-head: $b weight conversions in the code, not more than the $a with a float32 head"
mkdir "$out/keep"
"$unetrc" "$model" -o "$out/keep/f32.c" --precision bf16 --keep-fp32 '*'
cmp "$out/keep/f32.weights" "$out/f32.weights" || fail "--keep-fp32 '*' changed the weights"
[ "$(grep -c 'urc_bf16_to_f32(' "$out/bf16.c")" -gt "$(grep -c 'urc_bf16_to_f32(' "$out/f32.c")" ] ||
    fail "the bf16 code converts no weights"
tail -n +3 "$out/keep/f32.c" >"$out/keep.tail"; tail -n +3 "$out/f32.c" >"$out/f32.tail"
cmp "$out/keep.tail" "$out/f32.tail" || fail "--keep-fp32 '*' gives other code than float32"
set +e
msg=$("$unetrc" "$model" -o "$out/x.c" --precision bf16 --keep-fp32 'no_such_node*' 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "keep-fp32 'no_such_node\*' matches no convolution or matrix product" ||
    fail "--keep-fp32 matching nothing: exit $rc: $msg"
msg=$("$unetrc" "$model" -o "$out/x.c" --reduce-head 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$msg" = "unetrc: usage error: --reduce-head needs --precision bf16, fp16 or int8 (see unetrc --help)" ] ||
    fail "--reduce-head alone: exit $rc: $msg"
msg=$("$unetrc" run "$model" --input "$input" --compare 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$msg" | grep -q "compare needs --precision bf16, fp16 or int8" || fail "--compare alone: exit $rc: $msg"
msg=$("$unetrc" run "$model" --input "$input" --precision bf8 --compare 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$msg" | grep -q "precision wants fp32, bf16, fp16 or int8, got 'bf8'" || fail "--precision bf8: $rc: $msg"
msg=$("$unetrc" train "$model" --data "$out" --precision bf16 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$msg" | grep -q "precision is for inference (compile, run, info, bench, segment): training and gradients compute in float32" || fail "train --precision: $rc: $msg"
set -e

# the kernels' conversion: direct kernels (Winograd rounds its transformed weights instead) against the
# interpreter on the rounded weights
"$unetrc" run "$model" --input "$input" --precision fp16 --interp --output "$out/interp.npy"
UNETRC_CONV=direct "$unetrc" run "$model" --input "$input" --precision fp16 --output "$out/gen.npy"
"$cmp" "$out/interp.npy" "$out/gen.npy" 1e-5
if [ "${URC_TEST_LLVM:-0}" = 1 ]; then
    # LLVM: float16 loads widened by vcvtph2ps where the target has F16C (this machine's, x86-64-v3), by
    # integer arithmetic where not (x86-64): the same values
    UNETRC_CONV=direct "$unetrc" run "$model" --input "$input" --precision fp16 --backend llvm --output "$out/gen_ll.npy"
    "$cmp" "$out/interp.npy" "$out/gen_ll.npy" 1e-5
    for cpu in x86-64-v3 x86-64; do
        "$unetrc" "$model" -o "$out/f16_$cpu.o" --backend llvm --precision fp16 --target-cpu $cpu
        objdump -d "$out/f16_$cpu.o" | grep -c vcvtph2ps >"$out/n_$cpu.txt" || true
    done
    echo "vcvtph2ps in the LLVM objects: x86-64-v3 $(cat "$out/n_x86-64-v3.txt"), x86-64 $(cat "$out/n_x86-64.txt")"
    [ "$(cat "$out/n_x86-64-v3.txt")" -gt 0 ] && [ "$(cat "$out/n_x86-64.txt")" -eq 0 ] ||
        fail "LLVM fp16: vcvtph2ps where F16C is, and only there"
fi

# int8 through C (LLVM: the paths mode, on every kernel path)
int8 0.1 96 2e-2
# a FakeQuant whose input is a norm's output read by nothing else folds into the norm (it stores its output
# fake-quantised): some do on this model, and the outputs are the same bits without the folding
"$unetrc" "$model" -o "$out/fold.c" --precision int8 --calibrate "$cal" --dump-after precision >"$out/fold.txt"
UNETRC_QUANT_FOLD=0 "$unetrc" "$model" -o "$out/nofold.c" --precision int8 --calibrate "$cal" --dump-after precision \
    >"$out/nofold.txt"
nf=$(grep -c "unetrc.FusedNorm .* fakequant=" "$out/fold.txt" || true)
[ "$nf" -gt 0 ] && [ "$(grep -c "fakequant=" "$out/nofold.txt" || true)" -eq 0 ] ||
    fail "int8: $nf FakeQuants folded into norms (none without the folding expected, some with it)"
[ "$(grep -c "unetrc.FakeQuant" "$out/fold.txt")" -eq $(($(grep -c "unetrc.FakeQuant" "$out/nofold.txt") - nf)) ] ||
    fail "int8: the folded FakeQuants are not gone"
for f in 1 0; do # (-O1: the same bits as -O2, a build in half the time)
    UNETRC_QUANT_FOLD=$f "$unetrc" run "$model" --input "$input" --precision int8 --calibrate "$cal" \
        --cflags "-std=c11 -O1 -march=native -fopenmp" --output "$out/qfold$f.npy"
done
cmp "$out/qfold1.npy" "$out/qfold0.npy" || fail "int8: the folded FakeQuants changed the output"
"$unetrc" "$model" -o "$out/int8.c" --precision int8 --calibrate "$cal"
a=$(stat -c %s "$out/f32.weights"); b=$(stat -c %s "$out/int8.weights")
echo "weights: fp32 $a bytes, int8 $b bytes"
awk -v a="$a" -v b="$b" 'BEGIN { r = b / a; exit !(r >= 0.22 && r <= 0.28) }' || fail "int8 weights $b not a quarter of $a"
[ "$(grep -c 'int8_t' "$out/int8.c")" -gt "$(grep -c 'int8_t' "$out/f32.c")" ] || fail "the int8 code reads no int8"
"$unetrc" "$model" -o "$out/keep/i8.c" --precision int8 --calibrate "$cal" --keep-fp32 '*'
cmp "$out/keep/i8.weights" "$out/f32.weights" || fail "int8 --keep-fp32 '*' changed the weights"
# segment keys its build cache by --calibrate's samples (names and bytes, not the folder): the same samples
# elsewhere reuse the build, a changed sample makes another (built at -O1: the cache is under test)
img="$(dirname "$0")/segment/data/a.nii.gz"
cp -r "$cal" "$out/cal2"
for d in "$cal" "$out/cal2"; do
    "$unetrc" segment "$model" --image "$img" --output "$out/seg.nii.gz" --precision int8 --calibrate "$d" \
        --cache "$out/segc" --quiet --cflags "-std=c11 -O1 -fopenmp"
done
[ "$(ls "$out/segc" | wc -l)" -eq 1 ] || fail "segment: the same calibration samples built twice"
"$randn" "$input" 9 "$out/cal2/s1.npy"
"$unetrc" segment "$model" --image "$img" --output "$out/seg.nii.gz" --precision int8 --calibrate "$out/cal2" \
    --cache "$out/segc" --quiet --cflags "-std=c11 -O1 -fopenmp"
[ "$(ls "$out/segc" | wc -l)" -eq 2 ] || fail "segment: other calibration samples reused a build"
# errors: exit status and the exact line
err() {
    want_rc=$1; want=$2; shift 2
    set +e
    msg=$("$unetrc" "$@" 2>&1); rc=$?
    set -e
    [ "$rc" -eq "$want_rc" ] && [ "$msg" = "$want" ] || fail "unetrc $*: exit $rc: $msg (wanted $want_rc: $want)"
}
use="see unetrc --help"
err 2 "unetrc: usage error: --precision int8 needs --calibrate DIR (.npy samples of the model's input) ($use)" \
    "$model" -o "$out/x.c" --precision int8
err 2 "unetrc: usage error: --calibrate needs --precision int8 ($use)" "$model" -o "$out/x.c" --calibrate "$cal"
err 2 "unetrc: usage error: --calibrate needs --precision int8 ($use)" run "$model" --input "$input" \
    --precision bf16 --calibrate "$cal" --compare
err 2 "unetrc: usage error: --precision is for inference (compile, run, info, bench, segment): training and gradients compute in float32 ($use)" \
    grad "$model" --precision int8
err 2 "unetrc: usage error: --calibrate is for inference (compile, run, info, bench, segment): training and gradients compute in float32 ($use)" \
    train "$model" --data "$out" --calibrate "$cal"
mkdir "$out/empty" "$out/shape" "$out/dtype"
err 1 "unetrc: error: $model: $out/empty: --calibrate: the directory holds no .npy file" \
    "$model" -o "$out/x.c" --precision int8 --calibrate "$out/empty"
err 1 "unetrc: error: $model: $out/none: --calibrate: cannot read the directory: No such file or directory" \
    "$model" -o "$out/x.c" --precision int8 --calibrate "$out/none"
data="$(dirname "$0")/data"
cp "$cal/s1.npy" "$out/shape/a.npy"; cp "$data/add_relu.input.npy" "$out/shape/b.npy"
"$unetrc" info "$model" >"$out/info.txt"
shape=$(sed -n 's/^input 0: \([^ ]*\) float32\(.*\)$/\1 \2/p' "$out/info.txt")
iname=${shape% *}; ishape=${shape#* }
err 1 "unetrc: error: $model: $out/shape/b.npy: --calibrate: input '$iname' expects shape $ishape, the file has [1,2,3]" \
    "$model" -o "$out/x.c" --precision int8 --calibrate "$out/shape"
cp "$data/add_relu.input_f64.npy" "$out/dtype/a.npy"
err 1 "unetrc: error: $model: $out/dtype/a.npy: --calibrate: input '$iname' expects float32, the file has float64" \
    run "$model" --input "$input" --output "$out/x.npy" --precision int8 --calibrate "$out/dtype"
err 1 "unetrc: error: $data/two_inputs.onnx: $cal: --calibrate: the model has 2 inputs; int8 calibration needs a model with one input" \
    "$data/two_inputs.onnx" -o "$out/x.c" --precision int8 --calibrate "$cal"
echo "ok: $name (quick)"
