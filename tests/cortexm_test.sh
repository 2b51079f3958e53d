#!/bin/sh
# cortexm_test.sh UNETRC SOURCE_DIR NPY_COMPARE: models for Cortex-M (thumbv7em-none-eabihf) through the C
# backend. Each bundled model below is compiled with --target-cpu cortex-m7 and with cortex-m4 (embedded
# weights: one object holds the model), then
#   - (cortex-m4) built for the host with tests/consumer's C program and compared with PyTorch (1e-4 of
#     max|ref|): the tiles chosen for the Cortex-M caches, and the float-only arithmetic the M4's
#     single-precision FPU implies, compute the same network;
#   - built with arm-none-eabi-gcc into an object for the core (M7: fpv5-d16, double-precision FPU; M4:
#     fpv4-sp-d16, single precision) whose undefined symbols must all come from libm or libgcc's helper
#     routines (__aeabi_*): no libc, no allocator, no OpenMP; on the M4 no soft-double routine either
#     (__aeabi_d*, __aeabi_f2d: --float-only is implied there). Code and data sizes are printed.
# Exit 77 (skipped) without arm-none-eabi-gcc (scripts/setup.sh installs gcc-arm-none-eabi).
set -eu
U=$1; S=$(cd "$2" && pwd); CMP=$3
command -v arm-none-eabi-gcc >/dev/null 2>&1 || { echo "cortexm_test: skipped (arm-none-eabi-gcc missing)"; exit 77; }
T=$(mktemp -d /tmp/unetrc-cortexm-XXXXXX)
trap 'rm -rf "$T"' EXIT
LIBM="sqrt sqrtf exp expf log logf erf erff tanh tanhf pow powf fabs fabsf floor floorf ceil ceilf fmod fmodf"
LIBM="$LIBM nearbyint nearbyintf rint rintf sin sinf cos cosf fma fmaf log1p log1pf expm1 expm1f"
for CPU in cortex-m7 cortex-m4; do
    case $CPU in
    cortex-m7) FPU="-mcpu=cortex-m7 -mfpu=fpv5-d16" ;;
    cortex-m4) FPU="-mcpu=cortex-m4 -mfpu=fpv4-sp-d16" ;;
    esac
    for M in unetr_conv_tiny basicunet3d_tiny unet3d_batch; do
        D="$T/$CPU-$M"
        mkdir -p "$D"
        "$U" "$S/models/$M.onnx" -o "$D/seg.c" --target-cpu $CPU --embed-weights
        grep -q "thumbv7em-none-eabihf" "$D/seg.c" || { echo "FAIL: $CPU $M: the triple is not in the provenance"; exit 1; }
        if [ $CPU = cortex-m4 ]; then
            cc -std=c11 -O1 -I"$D" -I"$S/runtime/include" "$D/seg.c" "$S/tests/consumer/main.c" \
                "$S/runtime/src/npy.c" "$S/runtime/src/weights.c" -lm -o "$D/host"
            "$D/host" "$S/models/$M.input.npy" "$D/y.npy"
            "$CMP" "$S/models/$M.expected.npy" "$D/y.npy" 1e-4
            grep -q "double" "$D/seg.c" && grep -v "^static URC_MAYBE_UNUSED" "$D/seg.c" | grep -q "double" &&
                { echo "FAIL: $CPU $M: double arithmetic in the kernels"; exit 1; }
        fi
        arm-none-eabi-gcc $FPU -mthumb -mfloat-abi=hard -std=c11 -O2 -Wall -Werror -c "$D/seg.c" -o "$D/seg.o"
        bad=""
        for sym in $(arm-none-eabi-nm -u "$D/seg.o" | awk '{print $2}'); do
            case " $LIBM " in *" $sym "*) continue ;; esac
            case $CPU:$sym in cortex-m4:__aeabi_d* | cortex-m4:__aeabi_f2d) ;; *:__aeabi_*) continue ;; esac
            bad="$bad $sym"
        done
        [ -z "$bad" ] || { echo "FAIL: $CPU $M: undefined symbols beyond libm/libgcc:$bad"; exit 1; }
        arm-none-eabi-size "$D/seg.o" | awk -v c=$CPU -v m=$M 'NR == 2 {
            printf "%s %s: text %d bytes (code and weights), data %d, bss %d\n", c, m, $1, $2, $3 }'
        echo "$CPU $M: undefined: $(arm-none-eabi-nm -u "$D/seg.o" | awk '{print $2}' | tr '\n' ' ')"
    done
done
echo "cortexm_test: ok"
