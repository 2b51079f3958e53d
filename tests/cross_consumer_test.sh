#!/bin/sh
# cross_consumer_test.sh BUILD_DIR SOURCE_DIR NPY_COMPARE [BACKENDS]: a user's project cross-compiled for 64-bit
# Arm through the installed CMake package (docs/build.md, "Cross builds"):
#   1. the build machine's install (cmake --install BUILD_DIR) gives the compiler, bin/unetrc;
#   2. runtime/ built with tests/cross/aarch64-linux-gnu.cmake and installed into a device prefix gives the
#      aarch64 runtime and a unetrc package whose compiler is the host's (UNETRC_HOST_PREFIX or
#      UNETRC_EXECUTABLE);
#   3. tests/consumer configured with the toolchain file against that package: unetrc_add_model runs the host's
#      unetrc at build time (--target-cpu armv8-a, the default for CMAKE_SYSTEM_PROCESSOR aarch64) and the
#      program is linked for aarch64, run under qemu-aarch64 and compared with PyTorch (1e-4 of max|ref|).
# For each backend of BACKENDS ("c", or "c llvm" when the LLVM backend is built: BACKEND llvm, the object from
# unetrc). Also: the host package refuses a cross build with the recipe, and the device package refuses a host
# build. The build times are printed. Exit 77 (skipped) without aarch64-linux-gnu-gcc or qemu-aarch64.
set -eu
B=$(cd "$1" && pwd); S=$(cd "$2" && pwd); CMP=$3; BACKENDS=${4:-c}
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v qemu-aarch64 >/dev/null 2>&1 ||
    { echo "cross_consumer_test: skipped (aarch64-linux-gnu-gcc or qemu-aarch64 missing)"; exit 77; }
T=$(mktemp -d /tmp/unetrc-xconsumer-XXXXXX)
trap 'rm -rf "$T"' EXIT
M=unet3d_batch
TC=$S/tests/cross/aarch64-linux-gnu.cmake
fail() { echo "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

cmake --install "$B" --prefix "$T/host" > "$T/install.log"
cp "$S/models/$M.onnx" "$T/model.onnx" # a copy: the test touches it
t0=$(now)
cmake -S "$S/runtime" -B "$T/rt" -DCMAKE_TOOLCHAIN_FILE="$TC" -DCMAKE_BUILD_TYPE=Release > "$T/rt.log" 2>&1 &&
    cmake --build "$T/rt" -j2 >> "$T/rt.log" 2>&1 && cmake --install "$T/rt" --prefix "$T/dev" >> "$T/rt.log" 2>&1 ||
    { tail -20 "$T/rt.log"; fail "runtime/ cross build and install"; }
t1=$(now)
echo "runtime/ for aarch64: built and installed in $(secs "$t0" "$t1") s"
for f in lib/libunetrc_runtime.a include/unetrc.h lib/cmake/unetrc/unetrcConfig.cmake \
    lib/cmake/unetrc/unetrcTargets.cmake lib/cmake/unetrc/unetrcAddModel.cmake; do
    [ -e "$T/dev/$f" ] || fail "the cross-built runtime did not install $f"
done
[ ! -e "$T/dev/bin/unetrc" ] || fail "the runtime's install has a compiler"
aarch64-linux-gnu-objdump -f "$T/dev/lib/libunetrc_runtime.a" | grep -q aarch64 || fail "the runtime is not aarch64"

# the C++ program too when the cross C++ compiler is there (setup.sh installs g++-aarch64-linux-gnu)
CXX_ON=OFF
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 && CXX_ON=ON
for BK in $BACKENDS; do
    D="$T/cb-$BK"
    # the compiler found through UNETRC_HOST_PREFIX for one backend, named by UNETRC_EXECUTABLE for the other
    case $BK in c) HOST="-DUNETRC_HOST_PREFIX=$T/host" ;; *) HOST="-DUNETRC_EXECUTABLE=$T/host/bin/unetrc" ;; esac
    t0=$(now)
    cmake -S "$S/tests/consumer" -B "$D" -DCMAKE_TOOLCHAIN_FILE="$TC" -DCMAKE_BUILD_TYPE=Release \
        -Dunetrc_DIR="$T/dev/lib/cmake/unetrc" "$HOST" -DMODEL="$T/model.onnx" -DBACKEND=$BK \
        -DCONSUMER_CXX=$CXX_ON > "$D.configure.log" 2>&1 || { cat "$D.configure.log"; fail "$BK: configure"; }
    cmake --build "$D" -j2 -v > "$D.build.log" 2>&1 || { tail -30 "$D.build.log"; fail "$BK: build"; }
    t1=$(now)
    grep -q "$T/host/bin/unetrc .*--target-cpu armv8-a" "$D.build.log" ||
        fail "$BK: the host's unetrc was not run with --target-cpu armv8-a"
    case $BK in
    c) grep -q "target-cpu armv8-a" "$D/seg_model/seg.c" || fail "c: armv8-a is not in seg.c's provenance" ;;
    llvm) aarch64-linux-gnu-objdump -f "$D/seg_model/seg.o" | grep -q "elf64-littleaarch64" ||
        fail "llvm: seg.o is not an aarch64 object" ;;
    esac
    file -L "$D/consumer_c" | grep -q "ARM aarch64" || fail "$BK: consumer_c is not an aarch64 program"
    qemu-aarch64 -L /usr/aarch64-linux-gnu "$D/consumer_c" "$S/models/$M.input.npy" "$D.npy"
    "$CMP" "$S/models/$M.expected.npy" "$D.npy" 1e-4
    if [ "$CXX_ON" = ON ]; then
        file -L "$D/consumer_cxx" | grep -q "ARM aarch64" || fail "$BK: consumer_cxx is not an aarch64 program"
        qemu-aarch64 -L /usr/aarch64-linux-gnu "$D/consumer_cxx" "$S/models/$M.input.npy" "$D.cxx.npy"
        "$CMP" "$S/models/$M.expected.npy" "$D.cxx.npy" 1e-4
        echo "consumer_cxx for aarch64, BACKEND $BK: matches"
    fi
    echo "consumer for aarch64, BACKEND $BK: configured and built in $(secs "$t0" "$t1") s"
    # rebuilding changes nothing; touching the model compiles it again
    cmake --build "$D" -j2 > "$D.rebuild.log" 2>&1
    grep -q "unetrc: compiling" "$D.rebuild.log" && fail "$BK: a second build ran unetrc again"
    sleep 1
    touch "$T/model.onnx"
    cmake --build "$D" -j2 > "$D.rebuild.log" 2>&1
    grep -q "unetrc: compiling" "$D.rebuild.log" || fail "$BK: the model changed and unetrc did not run"
done

# the wrong package for the machine: a clear refusal at configure time, not a link error
rc=0
cmake -S "$S/tests/consumer" -B "$T/wrong1" -DCMAKE_TOOLCHAIN_FILE="$TC" -Dunetrc_DIR="$T/host/lib/cmake/unetrc" \
    -DMODEL="$S/models/$M.onnx" -DCONSUMER_CXX=OFF > "$T/wrong1.log" 2>&1 || rc=$?
[ $rc != 0 ] && grep -q "UNETRC_EXECUTABLE" "$T/wrong1.log" ||
    { cat "$T/wrong1.log"; fail "the host package in a cross build: exit $rc, no recipe"; }
rc=0
cmake -S "$S/tests/consumer" -B "$T/wrong2" -Dunetrc_DIR="$T/dev/lib/cmake/unetrc" -DMODEL="$S/models/$M.onnx" \
    -DCONSUMER_CXX=OFF > "$T/wrong2.log" 2>&1 || rc=$?
[ $rc != 0 ] && tr "\n" " " < "$T/wrong2.log" | grep -q "built for *Linux/aarch64" ||
    { cat "$T/wrong2.log"; fail "the aarch64 package in a host build: exit $rc"; }
echo "cross_consumer_test: ok"
