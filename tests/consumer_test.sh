#!/bin/sh
# consumer_test.sh BUILD_DIR SOURCE_DIR NPY_COMPARE: the build installed into a fresh prefix (cmake --install)
# is a CMake package: tests/consumer finds it (find_package(unetrc CONFIG)), compiles a bundled model at build
# time with unetrc_add_model and runs it from C and from C++; both outputs match PyTorch's. The pkg-config file
# gives the runtime's flags. Then a parent project that add_subdirectory()s the source tree compiles a model
# the same way (no install), and a MONAI config with WEIGHTS (against PyTorch; again after the weights file
# changes) and with PRECISION bf16 (against `unetrc run --precision bf16`), and runtime/ builds as a project
# of its own (what a cross build of a device uses).
set -eu
B=$(cd "$1" && pwd); S=$(cd "$2" && pwd); CMP=$3
T=$(mktemp -d /tmp/unetrc-consumer-XXXXXX)
trap 'rm -rf "$T"' EXIT
M=unetr_conv_tiny CF=bu3d_default
SHAPE=$(cat "$S/tests/config/$CF.shape")
cmake --install "$B" --prefix "$T/prefix" > "$T/install.log"
for f in bin/unetrc lib/libunetrc_runtime.a include/unetrc.h include/unetrc_sw.h lib/cmake/unetrc/unetrcConfig.cmake \
    lib/cmake/unetrc/unetrcAddModel.cmake lib/pkgconfig/unetrc.pc; do
    [ -e "$T/prefix/$f" ] || { echo "FAIL: not installed: $f"; exit 1; }
done
cmake -S "$S/tests/consumer" -B "$T/cb" -Dunetrc_DIR="$T/prefix/lib/cmake/unetrc" -DMODEL="$S/models/$M.onnx" \
    > "$T/configure.log" || { cat "$T/configure.log"; exit 1; }
cmake --build "$T/cb" -j2 > "$T/build.log" 2>&1 || { tail -30 "$T/build.log"; exit 1; }
"$T/cb/consumer_c" "$S/models/$M.input.npy" "$T/c.npy"
"$T/cb/consumer_cxx" "$S/models/$M.input.npy" "$T/cxx.npy"
"$CMP" "$S/models/$M.expected.npy" "$T/c.npy" 1e-4
"$CMP" "$S/models/$M.expected.npy" "$T/cxx.npy" 1e-4
# pkg-config (the .pc file is relocatable: paths relative to its folder)
printf '#include "unetrc.h"\n#include <stdio.h>\nint main(void) { puts(unetrc_status_str(UNETRC_ERR_MAGIC)); return 0; }\n' > "$T/pc.c"
# shellcheck disable=SC2046
cc -std=c11 "$T/pc.c" -o "$T/pc" $(PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig" pkg-config --cflags --libs unetrc)
"$T/pc" | grep -q . || { echo "FAIL: program built with pkg-config flags"; exit 1; }
# add_subdirectory() of the source tree
mkdir -p "$T/parent"
cat > "$T/parent/CMakeLists.txt" <<EOC
cmake_minimum_required(VERSION 3.18)
project(parent C)
set(UNETRC_BUILD_TESTS OFF CACHE BOOL "" FORCE)
add_subdirectory("$S" unetrc)
unetrc_add_model(seg_model MODEL "$S/models/$M.onnx" NAME seg EMBED_WEIGHTS)
add_executable(consumer_c "$S/tests/consumer/main.c")
target_link_libraries(consumer_c PRIVATE seg_model unetrc::runtime)
unetrc_add_model(cfg_model MODEL "$S/tests/config/$CF.json" WEIGHTS "$T/w.safetensors" NAME seg EMBED_WEIGHTS
    OPTIONS --input-shape input=$SHAPE)
add_executable(consumer_cfg "$S/tests/consumer/main.c")
target_link_libraries(consumer_cfg PRIVATE cfg_model unetrc::runtime)
unetrc_add_model(cfg_bf16 MODEL "$S/tests/config/$CF.json" WEIGHTS "$T/w.safetensors" NAME seg EMBED_WEIGHTS
    PRECISION bf16 OPTIONS --input-shape input=$SHAPE)
add_executable(consumer_bf16 "$S/tests/consumer/main.c")
target_link_libraries(consumer_bf16 PRIVATE cfg_bf16 unetrc::runtime)
EOC
cp "$S/tests/config/$CF.safetensors" "$T/w.safetensors"
cmake -S "$T/parent" -B "$T/pb" > "$T/pconfigure.log" 2>&1 || { tail -20 "$T/pconfigure.log"; exit 1; }
cmake --build "$T/pb" -j2 --target consumer_c consumer_cfg consumer_bf16 > "$T/pbuild.log" 2>&1 ||
    { tail -30 "$T/pbuild.log"; exit 1; }
"$T/pb/consumer_c" "$S/models/$M.input.npy" "$T/p.npy"
"$CMP" "$S/models/$M.expected.npy" "$T/p.npy" 1e-4
# a MONAI config with its safetensors (WEIGHTS) against PyTorch; PRECISION bf16 against `unetrc run
# --precision bf16` (same weights rounding, fp32 accumulation: within float noise)
"$T/pb/consumer_cfg" "$S/tests/config/$CF.input.npy" "$T/cfg.npy"
"$CMP" "$S/tests/config/$CF.expected.npy" "$T/cfg.npy" 1e-4
"$T/pb/consumer_bf16" "$S/tests/config/$CF.input.npy" "$T/bf16.npy"
# (the consumer's code is for the default --target-cpu, x86-64-v3: bf16 weights with float32 products; run's is
# for this machine, which may multiply bf16 pairs: UNETRC_DOT2=0 keeps run's products float32 too)
UNETRC_DOT2=0 "$B/unetrc" run "$S/tests/config/$CF.json" --weights "$T/w.safetensors" --precision bf16 --input-shape input="$SHAPE" \
    --input "$S/tests/config/$CF.input.npy" --output "$T/bf16_run.npy"
"$CMP" "$T/bf16_run.npy" "$T/bf16.npy" 1e-5
"$CMP" "$S/tests/config/$CF.expected.npy" "$T/bf16.npy" 1e-4 2> /dev/null &&
    { echo "FAIL: PRECISION bf16 gave float32's output (not applied?)"; exit 1; }
# new weights rebuild the model
sleep 1; touch "$T/w.safetensors"
cmake --build "$T/pb" -j2 --target consumer_cfg > "$T/pbuild2.log" 2>&1 || { tail -30 "$T/pbuild2.log"; exit 1; }
grep -q "unetrc: compiling .*$CF.json" "$T/pbuild2.log" || { echo "FAIL: new WEIGHTS did not rebuild the model"; exit 1; }
cmake -S "$S/runtime" -B "$T/rt" > "$T/rt.log" 2>&1 && cmake --build "$T/rt" -j2 >> "$T/rt.log" 2>&1 ||
    { tail -20 "$T/rt.log"; exit 1; }
[ -f "$T/rt/libunetrc_runtime.a" ] || { echo "FAIL: runtime/ on its own built no libunetrc_runtime.a"; exit 1; }
echo "consumer_test: ok"
