#!/bin/sh
# compilers_test.sh UNETRC: the generated C of every model in models/ (and a
# --train build) compiles warning-free as C11: gcc -O1 -fopenmp and clang
# -O0 without OpenMP (when installed; one model per family unless
# UNETRC_LONG_TESTS=1), -std=c11 -Wall -Wextra -Werror -pedantic. gcc on the
# models only with UNETRC_LONG_TESTS=1: by default their e2e tests build the
# same code (and the run harness) with gcc -O2 and these warnings as errors.
# Built by gcc -O3, it calls no libc function (nm -u: only libm and OpenMP
# symbols): gcc's loop-to-memset/memcpy rewriting is off in the generated file
# (checked on one model of each family and a training build: O3 below).
set -u
U=$1
S=$(cd "$(dirname "$0")/.." && pwd)
. "$S/tests/expect.sh" # scratch
scratch cc
O3="unetr_conv_tiny basicunet3d_tiny unet2d_5slice swin_v1_fs6 unetr_pp_small train"
ccs="gcc"
command -v clang >/dev/null 2>&1 && ccs="$ccs clang"
build() { # name [all: gcc too without UNETRC_LONG_TESTS]
    for cc in $ccs; do
        # gcc: the models' e2e tests build them with the same warnings (tests/CMakeLists.txt)
        if [ "$cc" = gcc ] && [ -z "${UNETRC_LONG_TESTS:-}" ] && [ "${2:-}" != all ]; then continue; fi
        # clang on every model with UNETRC_LONG_TESTS=1, else on one model per family (the O3 list)
        if [ "$cc" = clang ] && [ -z "${UNETRC_LONG_TESTS:-}" ]; then
            case " $O3 " in *" $1 "*) ;; *) continue ;; esac
        fi
        flags="-O1 -fopenmp"; [ "$cc" = clang ] && flags="-O0"
        n=$((n + 1))
        if ! $cc -std=c11 -Wall -Wextra -Werror -pedantic $flags -c "$T/$1.c" -o "$T/$1.o" 2> "$T/err"; then
            echo "FAIL $1 with $cc $flags: $(head -3 "$T/err")"; fails=$((fails + 1))
        fi
    done
    case " $O3 " in *" $1 "*) ;; *) return ;; esac
    n=$((n + 1))
    if ! gcc -std=c11 -O3 -march=native -fopenmp -c "$T/$1.c" -o "$T/$1.o3.o" 2> "$T/err"; then
        echo "FAIL $1 with gcc -O3: $(head -3 "$T/err")"; fails=$((fails + 1))
    elif libc=$(nm -u "$T/$1.o3.o" | awk '{print $2}' | grep -E '^(mem|str|malloc|free|calloc|realloc|abort|__)' ); then
        echo "FAIL $1 with gcc -O3 calls libc: $libc"; fails=$((fails + 1))
    fi
}
for m in "$S"/models/*.onnx; do
    name=$(basename "$m" .onnx)
    "$U" "$m" -o "$T/$name.c" || { echo "FAIL: unetrc $name"; fails=$((fails + 1)); continue; }
    build "$name"
done
"$U" "$S/tests/train/loss/model.onnx" -o "$T/train.c" --train --label-type uint8 && build train all
# the label check with a --label-map table (INT64_MIN needs its own spelling in C)
"$U" "$S/tests/train/loss/model.onnx" -o "$T/train_map.c" --train --label-map -9223372036854775808,5,1,250 &&
    build train_map all
echo "compilers: $n builds, $fails failed ($ccs)"
[ "$fails" = 0 ]
