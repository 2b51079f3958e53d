#!/bin/sh
# consumer_test.sh BUILD_DIR SOURCE_DIR NPY_COMPARE: the build installed into a fresh prefix (cmake --install)
# is a CMake package: tests/consumer finds it (find_package(unetrc CONFIG)), compiles a bundled model at build
# time with unetrc_add_model and runs it from C and from C++; both outputs match PyTorch's. The pkg-config file
# gives the runtime's flags. Then a parent project that add_subdirectory()s the source tree compiles a model
# the same way (no install), and a MONAI config with WEIGHTS (against PyTorch; again after the weights file
# changes), with PRECISION bf16 (against `unetrc run --precision bf16`) and with PRECISION int8 CALIBRATE
# (against `unetrc run --precision int8 --calibrate`; again after a sample changes; PRECISION int8 without
# CALIBRATE stops the configuration with its line), and runtime/ builds as a project of its own (what a cross
# build of a device uses).
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
unetrc_add_model(cfg_int8 MODEL "$S/tests/config/$CF.json" WEIGHTS "$T/w.safetensors" NAME seg EMBED_WEIGHTS
    PRECISION int8 CALIBRATE "$T/cal" OPTIONS --input-shape input=$SHAPE)
add_executable(consumer_int8 "$S/tests/consumer/main.c")
target_link_libraries(consumer_int8 PRIVATE cfg_int8 unetrc::runtime)
EOC
cp "$S/tests/config/$CF.safetensors" "$T/w.safetensors"
mkdir -p "$T/cal" # int8 calibration: two standard normal samples of the input's shape
for i in 1 2; do "$(dirname "$CMP")/npy_randn" "$S/tests/config/$CF.input.npy" "$i" "$T/cal/s$i.npy"; done
cmake -S "$T/parent" -B "$T/pb" > "$T/pconfigure.log" 2>&1 || { tail -20 "$T/pconfigure.log"; exit 1; }
cmake --build "$T/pb" -j2 --target consumer_c consumer_cfg consumer_bf16 consumer_int8 > "$T/pbuild.log" 2>&1 ||
    { tail -30 "$T/pbuild.log"; exit 1; }
"$T/pb/consumer_c" "$S/models/$M.input.npy" "$T/p.npy"
"$CMP" "$S/models/$M.expected.npy" "$T/p.npy" 1e-4
# a MONAI config with its safetensors (WEIGHTS) against PyTorch; PRECISION bf16 against `unetrc run
# --precision bf16` (same weights rounding, fp32 accumulation: within float noise)
"$T/pb/consumer_cfg" "$S/tests/config/$CF.input.npy" "$T/cfg.npy"
"$CMP" "$S/tests/config/$CF.expected.npy" "$T/cfg.npy" 1e-4
"$T/pb/consumer_bf16" "$S/tests/config/$CF.input.npy" "$T/bf16.npy"
# (the consumer's code is for the default --target-cpu, x86-64-v3: bf16 weights with float32 products; run's would
# be for this machine, which may multiply bf16 pairs or tiles: run builds for x86-64-v3 too)
"$B/unetrc" run "$S/tests/config/$CF.json" --weights "$T/w.safetensors" --precision bf16 --input-shape input="$SHAPE" \
    --target-cpu x86-64-v3 --input "$S/tests/config/$CF.input.npy" --output "$T/bf16_run.npy"
"$CMP" "$T/bf16_run.npy" "$T/bf16.npy" 1e-5
"$CMP" "$S/tests/config/$CF.expected.npy" "$T/bf16.npy" 1e-4 2> /dev/null &&
    { echo "FAIL: PRECISION bf16 gave float32's output (not applied?)"; exit 1; }
# PRECISION int8 CALIBRATE against `unetrc run --precision int8 --calibrate` (the same FakeQuant levels and int8
# weights; the code for x86-64-v3 and for this machine may round a float32 sum differently and move a value across
# a level: 2e-2 of max|ref| as in tests/precision_test.sh), and not float32's output
"$T/pb/consumer_int8" "$S/tests/config/$CF.input.npy" "$T/int8.npy"
"$B/unetrc" run "$S/tests/config/$CF.json" --weights "$T/w.safetensors" --precision int8 --calibrate "$T/cal" \
    --input-shape input="$SHAPE" --input "$S/tests/config/$CF.input.npy" --output "$T/int8_run.npy"
"$CMP" "$T/int8_run.npy" "$T/int8.npy" 2e-2
"$CMP" "$S/tests/config/$CF.expected.npy" "$T/int8.npy" 1e-4 2> /dev/null &&
    { echo "FAIL: PRECISION int8 gave float32's output (not applied?)"; exit 1; }
sleep 1; touch "$T/cal/s2.npy"
cmake --build "$T/pb" -j2 --target consumer_int8 > "$T/pbuild3.log" 2>&1 || { tail -30 "$T/pbuild3.log"; exit 1; }
grep -q "unetrc: compiling .*$CF.json" "$T/pbuild3.log" ||
    { echo "FAIL: a changed CALIBRATE sample did not rebuild the model"; exit 1; }
# PRECISION int8 without CALIBRATE: the configuration stops with its message
mkdir -p "$T/nocal"
printf 'cmake_minimum_required(VERSION 3.18)\nproject(nocal C)\nfind_package(unetrc CONFIG REQUIRED)\n%s\n' \
    "unetrc_add_model(m MODEL \"$S/models/$M.onnx\" PRECISION int8)" > "$T/nocal/CMakeLists.txt"
if cmake -S "$T/nocal" -B "$T/nocal/b" -Dunetrc_DIR="$T/prefix/lib/cmake/unetrc" > "$T/nocal.log" 2>&1; then
    echo "FAIL: PRECISION int8 without CALIBRATE configured"; exit 1
fi
tr -s ' \n' '  ' <"$T/nocal.log" | # (CMake wraps the line)
    grep -q "unetrc_add_model(m): PRECISION int8 needs CALIBRATE <dir> (.npy samples of the model's input)" ||
    { echo "FAIL: PRECISION int8 without CALIBRATE:"; cat "$T/nocal.log"; exit 1; }
# new weights rebuild the model
sleep 1; touch "$T/w.safetensors"
cmake --build "$T/pb" -j2 --target consumer_cfg > "$T/pbuild2.log" 2>&1 || { tail -30 "$T/pbuild2.log"; exit 1; }
grep -q "unetrc: compiling .*$CF.json" "$T/pbuild2.log" || { echo "FAIL: new WEIGHTS did not rebuild the model"; exit 1; }
cmake -S "$S/runtime" -B "$T/rt" > "$T/rt.log" 2>&1 && cmake --build "$T/rt" -j2 >> "$T/rt.log" 2>&1 ||
    { tail -20 "$T/rt.log"; exit 1; }
[ -f "$T/rt/libunetrc_runtime.a" ] || { echo "FAIL: runtime/ on its own built no libunetrc_runtime.a"; exit 1; }
echo "consumer_test: ok"
