#!/bin/sh
# cortexm_test.sh UNETRC SOURCE_DIR NPY_COMPARE [BACKENDS]: models for Cortex-M (thumbv7em-none-eabihf) through
# the C backend and (BACKENDS "c llvm", when the LLVM backend is built) the LLVM backend. Through the C backend,
# each bundled model below is compiled with --target-cpu cortex-m7 and with cortex-m4 (embedded weights: one
# object holds the model), then
#   - (cortex-m4) built for the host with tests/consumer's C program and compared with PyTorch (1e-4 of
#     max|ref|): the tiles chosen for the Cortex-M caches, and the float-only arithmetic the M4's
#     single-precision FPU implies, compute the same network;
#   - built with arm-none-eabi-gcc into an object for the core (M7: fpv5-d16, double-precision FPU; M4:
#     fpv4-sp-d16, single precision) whose undefined symbols must all come from libm or libgcc's helper
#     routines (__aeabi_*): no libc, no allocator, no OpenMP; on the M4 no soft-double routine either
#     (__aeabi_d*, __aeabi_f2d: --float-only is implied there). Code and data sizes are printed;
#   - linked with a small main() by arm-none-eabi-gcc with newlib's nosys specs.
# Through the LLVM backend (--backend llvm, the object straight from unetrc) the same checks but the host run,
# plus: no OpenMP calls (a bare-metal triple runs parallel loops serially), no GOT (static relocation model).
# Neither backend may call the run-time ABI's memory routines (__aeabi_memcpy*, __aeabi_memclr*: libc's memcpy
# and memset; the LLVM backend marks a bare-metal target's functions no-builtins). The M4's float-only code is checked on the host
# through LLVM too (--target x86_64-linux-gnu --target-cpu cortex-m4). By default one model (unet3d_batch);
# UNETRC_LONG_TESTS=1 in the environment (the CMake option UNETRC_LONG_TESTS) all three: 15-40 s of LLVM
# optimisation each.
# Last, the package route of docs/build.md for a Cortex-M7: runtime/ built with tests/cross/cortex-m7.cmake and
# installed, a device's program (the model and unetrc.h, no files) configured with that toolchain file against
# its package, unetrc_add_model(... TARGET_CPU cortex-m7) run by this unetrc (UNETRC_EXECUTABLE), for the last
# backend of BACKENDS (each with UNETRC_LONG_TESTS=1): the program links (newlib, nosys), is a Cortex-M7 program, calls no OpenMP. Build times printed.
# Exit 77 (skipped) without arm-none-eabi-gcc (scripts/setup.sh installs gcc-arm-none-eabi).
set -eu
U=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); S=$(cd "$2" && pwd); CMP=$3; BACKENDS=${4:-c}
command -v arm-none-eabi-gcc >/dev/null 2>&1 || { echo "cortexm_test: skipped (arm-none-eabi-gcc missing)"; exit 77; }
T=$(mktemp -d /tmp/unetrc-cortexm-XXXXXX)
trap 'rm -rf "$T"' EXIT
LIBM="sqrt sqrtf exp expf log logf erf erff tanh tanhf pow powf fabs fabsf floor floorf ceil ceilf fmod fmodf"
LIBM="$LIBM nearbyint nearbyintf rint rintf sin sinf cos cosf fma fmaf log1p log1pf expm1 expm1f"
# check_object CPU MODEL OBJ [BACKEND]: the undefined symbols are libm's and libgcc's (no soft double on the M4,
# no __aeabi_mem*: those are libc's); print the sizes; link OBJ with a main() that calls the model (newlib, nosys
# specs: no OS).
check_object() {
    bad=""
    for sym in $(arm-none-eabi-nm -u "$3" | awk '{print $2}'); do
        case " $LIBM " in *" $sym "*) continue ;; esac
        case $1:$sym in cortex-m4:__aeabi_d* | cortex-m4:__aeabi_f2d | *:__aeabi_mem*) ;; *:__aeabi_*) continue ;; esac
        bad="$bad $sym"
    done
    [ -z "$bad" ] || { echo "FAIL: $1 $2 ${4:-c}: undefined symbols beyond libm/libgcc:$bad"; exit 1; }
    arm-none-eabi-size "$3" | awk -v c="$1" -v m="$2" -v b="${4:-c}" 'NR == 2 {
        printf "%s %s %s: text %d bytes (code and weights), data %d, bss %d\n", c, m, b, $1, $2, $3 }'
    echo "$1 $2 ${4:-c}: undefined: $(arm-none-eabi-nm -u "$3" | awk '{print $2}' | tr '\n' ' ')"
    d=$(dirname "$3")
    printf '#include "seg.h"\nstatic float in[SEG_IN0_COUNT], out[SEG_OUT0_COUNT];\n%s\n%s\n' \
        'static unsigned char arena[SEG_ARENA_SIZE] __attribute__((aligned(SEG_ALIGN)));' \
        'int main(void) { return seg_forward(arena, in, out); }' > "$d/main.c"
    arm-none-eabi-gcc $FPU -mthumb -mfloat-abi=hard -O2 -I"$d" --specs=nosys.specs "$d/main.c" "$3" -lm \
        -o "$d/seg.elf" > "$d/link.log" 2>&1 || { cat "$d/link.log"; echo "FAIL: $1 $2 ${4:-c}: does not link"; exit 1; }
}
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
        check_object $CPU $M "$D/seg.o"
    done
done
case " $BACKENDS " in *" llvm "*) LLVM=1 ;; *) LLVM=0 ;; esac
if [ $LLVM = 1 ]; then
    MODELS=unet3d_batch
    [ "${UNETRC_LONG_TESTS:-0}" = 1 ] && MODELS="unet3d_batch basicunet3d_tiny unetr_conv_tiny"
    for M in $MODELS; do
        D="$T/llvm-host-$M"
        mkdir -p "$D"
        "$U" "$S/models/$M.onnx" -o "$D/seg.o" --backend llvm --target x86_64-linux-gnu --target-cpu cortex-m4 \
            --embed-weights
        cc -std=c11 -O1 -fopenmp -I"$D" -I"$S/runtime/include" "$D/seg.o" "$S/tests/consumer/main.c" \
            "$S/runtime/src/npy.c" "$S/runtime/src/weights.c" -lm -o "$D/host"
        "$D/host" "$S/models/$M.input.npy" "$D/y.npy"
        "$CMP" "$S/models/$M.expected.npy" "$D/y.npy" 1e-4
    done
    for CPU in cortex-m7 cortex-m4; do
        case $CPU in
        cortex-m7) FPU="-mcpu=cortex-m7 -mfpu=fpv5-d16" ;;
        cortex-m4) FPU="-mcpu=cortex-m4 -mfpu=fpv4-sp-d16" ;;
        esac
        for M in $MODELS; do
            D="$T/llvm-$CPU-$M"
            mkdir -p "$D"
            "$U" "$S/models/$M.onnx" -o "$D/seg.o" --backend llvm --target-cpu $CPU --embed-weights 2> "$D/err" ||
                { cat "$D/err"; exit 1; }
            [ ! -s "$D/err" ] || { cat "$D/err"; echo "FAIL: $CPU $M llvm: warnings"; exit 1; }
            arm-none-eabi-readelf -h "$D/seg.o" | grep -q "Machine:.*ARM" || { echo "FAIL: $CPU $M: not an Arm object"; exit 1; }
            arm-none-eabi-readelf -A "$D/seg.o" | grep -q "Tag_CPU_name: \"$CPU\"" ||
                { echo "FAIL: $CPU $M llvm: not built for $CPU"; exit 1; }
            arm-none-eabi-readelf -A "$D/seg.o" | grep -q "Tag_ABI_PCS_GOT_use: direct" ||
                { echo "FAIL: $CPU $M llvm: GOT-indirect (position-independent) code"; exit 1; }
            check_object $CPU $M "$D/seg.o" llvm
        done
    done
fi
now() { date +%s.%N; }
t0=$(now)
TC=$S/tests/cross/cortex-m7.cmake
cmake -S "$S/runtime" -B "$T/rt" -DCMAKE_TOOLCHAIN_FILE="$TC" -DCMAKE_BUILD_TYPE=Release > "$T/rt.log" 2>&1 &&
    cmake --build "$T/rt" -j2 >> "$T/rt.log" 2>&1 && cmake --install "$T/rt" --prefix "$T/dev" >> "$T/rt.log" 2>&1 ||
    { tail -20 "$T/rt.log"; echo "FAIL: runtime/ for cortex-m7"; exit 1; }
echo "runtime/ for cortex-m7: built and installed in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
# a device's program (no files: tests/consumer's npy I/O needs an OS)
mkdir -p "$T/app"
cat > "$T/app/CMakeLists.txt" <<'EOC'
cmake_minimum_required(VERSION 3.18)
project(device_app C)
set(BACKEND c CACHE STRING "")
find_package(unetrc 0.1 CONFIG REQUIRED)
unetrc_add_model(seg_model MODEL ${MODEL} NAME seg EMBED_WEIGHTS TARGET_CPU cortex-m7 BACKEND ${BACKEND})
add_executable(app main.c)
target_link_libraries(app PRIVATE seg_model unetrc::runtime)
EOC
cat > "$T/app/main.c" <<'EOC'
#include "seg.h"
#include "unetrc.h"
static float in[SEG_IN0_COUNT], out[SEG_OUT0_COUNT];
static unsigned char arena[SEG_ARENA_SIZE] __attribute__((aligned(SEG_ALIGN)));
int main(void) {
    int st = seg_forward(arena, in, out);
    return unetrc_status_str(st)[0] == 'o' ? 0 : 1;
}
EOC
# one backend by default (the LLVM one when built: its object is the one CMake does not compile), each with
# UNETRC_LONG_TESTS
PKG_BACKENDS=${BACKENDS##* }
[ "${UNETRC_LONG_TESTS:-0}" = 1 ] && PKG_BACKENDS=$BACKENDS
for BK in $PKG_BACKENDS; do
    D="$T/pkg-$BK"
    t0=$(now)
    cmake -S "$T/app" -B "$D" -DCMAKE_TOOLCHAIN_FILE="$TC" -DCMAKE_BUILD_TYPE=Release \
        -Dunetrc_DIR="$T/dev/lib/cmake/unetrc" -DUNETRC_EXECUTABLE="$U" -DMODEL="$S/models/unet3d_batch.onnx" \
        -DBACKEND=$BK > "$D.log" 2>&1 &&
        cmake --build "$D" -j2 >> "$D.log" 2>&1 || { tail -30 "$D.log"; echo "FAIL: package route, $BK"; exit 1; }
    t1=$(now)
    arm-none-eabi-readelf -A "$D/app" | grep -q 'Tag_CPU_name: "7E-M"\|Tag_CPU_name: "cortex-m7"' ||
        { echo "FAIL: package route, $BK: app is not a Cortex-M7 program"; exit 1; }
    arm-none-eabi-nm "$D/app" | grep -q "GOMP\|omp_get" && { echo "FAIL: package route, $BK: OpenMP"; exit 1; }
    arm-none-eabi-size "$D/app" | awk -v b=$BK -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" \
        'NR == 2 { printf "cortex-m7 consumer through the package, BACKEND %s: text %d, data %d, bss %d; built in %s s\n", b, $1, $2, $3, s }'
done
echo "cortexm_test: ok"
