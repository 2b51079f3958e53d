#!/bin/sh
# example.sh UNETRC SOURCE_DIR WORK_DIR: builds examples/segment with CMake (a project of its own)
# against seg.c generated from models/basicunet3d_tiny.onnx and runs it on tests/segment/data/scan.nii.gz
# (47x38x21, int16 with scl_slope: 2x2x1 windows of the 32^3 model, padded along k); `unetrc segment` with the
# same C flags must write byte-identical label and logits files (same geometry, same values). Then with
# gaussian blending, overlap 0.5 and normalisation. Then 2.5D: the example built against unet2d_5slice and run
# with --slices 5 along j (38 slices of 47x21 planes, padded to the 64^2 roi), against `unetrc segment --slices`.
set -eu
U=$1; S=$2; W=$3
rm -rf "$W"; mkdir -p "$W/gen" "$W/out"
FLAGS="-std=c11 -O2 -fopenmp"
"$U" "$S/models/basicunet3d_tiny.onnx" -o "$W/gen/seg.c"
cmake -S "$S/examples/segment" -B "$W/build" -DUNETRC_DIR="$S" -DSEG_DIR="$W/gen" -DCMAKE_BUILD_TYPE= \
    -DCMAKE_C_FLAGS="-O2 -Wall -Wextra -Werror" >"$W/cmake.log" 2>&1 || { cat "$W/cmake.log"; exit 1; }
cmake --build "$W/build" >"$W/build.log" 2>&1 || { cat "$W/build.log"; exit 1; }
SCAN=$S/tests/segment/data/scan.nii.gz
fail() { echo "FAIL: $*"; exit 1; }
run() { # run NAME [example options] -- [unetrc options]  (MODEL, GEN, BUILD, WINDOWS: which build)
    name=$1; shift; ex=""; un=""; side=ex
    for a in "$@"; do if [ "$a" = "--" ]; then side=un; elif [ $side = ex ]; then ex="$ex $a"; else un="$un $a"; fi; done
    # shellcheck disable=SC2086
    "$W/$BUILD/segment" "$W/$GEN/seg.weights" "$W/out/$name.ex.nii.gz" "$SCAN" --logits "$W/out/$name.ex_logits.nii.gz" $ex \
        2>"$W/out/$name.ex.log" || { cat "$W/out/$name.ex.log"; fail "example $name"; }
    # shellcheck disable=SC2086
    "$U" segment "$S/models/$MODEL.onnx" --image "$SCAN" --output "$W/out/$name.u.nii.gz" \
        --logits "$W/out/$name.u_logits.nii.gz" --cache "$W/cache" --cflags "$FLAGS" --quiet $un || fail "unetrc segment $name"
    cmp -s "$W/out/$name.ex.nii.gz" "$W/out/$name.u.nii.gz" || fail "$name: the labels differ from unetrc segment's"
    cmp -s "$W/out/$name.ex_logits.nii.gz" "$W/out/$name.u_logits.nii.gz" || fail "$name: the logits differ from unetrc segment's"
    grep -q "^segment: $WINDOWS windows, peak " "$W/out/$name.ex.log" || fail "$name: $(cat "$W/out/$name.ex.log")"
}
MODEL=basicunet3d_tiny GEN=gen BUILD=build WINDOWS=4
run default --
run gaussian --gaussian --overlap 0.5 --normalize -- --mode gaussian --overlap 0.5 --normalize nonzero
# bad input: a channel count the model does not take
rc=0; err=$("$W/build/segment" "$W/gen/seg.weights" "$W/out/x.nii.gz" "$SCAN" "$SCAN" 2>&1) || rc=$?
[ "$rc" = 1 ] && [ "$err" = "segment: $SCAN: the 2 files hold 2 channels (1 + 1), 1 expected" ] || fail "two channels: rc=$rc '$err'"
[ ! -e "$W/out/x.nii.gz" ] || fail "an output was written after an error"
# 2.5D
mkdir -p "$W/gen25"
"$U" "$S/models/unet2d_5slice.onnx" -o "$W/gen25/seg.c"
cmake -S "$S/examples/segment" -B "$W/build25" -DUNETRC_DIR="$S" -DSEG_DIR="$W/gen25" -DCMAKE_BUILD_TYPE= \
    -DCMAKE_C_FLAGS="-O2 -Wall -Wextra -Werror" >"$W/cmake25.log" 2>&1 || { cat "$W/cmake25.log"; exit 1; }
cmake --build "$W/build25" >"$W/build25.log" 2>&1 || { cat "$W/build25.log"; exit 1; }
MODEL=unet2d_5slice GEN=gen25 BUILD=build25 WINDOWS=38
run slices --slices 5 --slice-axis 1 --gaussian --normalize -- --slices 5 --slice-axis 1 --mode gaussian --normalize nonzero
rc=0; err=$("$W/build25/segment" "$W/gen25/seg.weights" "$W/out/x.nii.gz" "$SCAN" --slices 3 2>&1) || rc=$?
[ "$rc" = 2 ] && [ "$err" = "segment: --slices 3 needs a 2D model whose input channels are a multiple of it (odd)" ] ||
    fail "2.5D K 3: rc=$rc '$err'"
echo "example_segment: labels and logits identical to unetrc segment's (constant; gaussian + normalize; 2.5D)"
