#!/bin/sh
# errors.sh UNETRC MODELS_DIR: `unetrc segment` on bad input and its build cache.
# Every bad input exits 1 (bad usage 2) with exactly the one line checked here and leaves
# no file in the output folder (not even a temporary one). The fixtures are in
# tests/segment/data (made by make_fixtures.py). The cache cases: a damaged entry (truncated
# weights, a changed library, a missing manifest) is found and rebuilt; a UNETRC_* variable of the
# environment makes a new entry; a cache folder others can write to is refused; a second call loads
# the entry without compiling.
set -u
. "$(dirname "$0")/../expect.sh" # expect, no_files, check
U=$(abspath "$1"); M=$(cd "$2" && pwd)
D=$(cd "$(dirname "$0")/data" && pwd)
scratch segerr
CACHE="$T/cache"
# unet3d_batch (1 -> 2 channels, 32^3) and unetr_perceptron_tiny (2 -> 4), built without optimisation: quick
SEG="segment --cache $CACHE --quiet"
FLAGS="-std=c11 -O0 -fopenmp"
B=$M/unet3d_batch.onnx; P=$M/unetr_perceptron_tiny.onnx; O=$T/o
mkdir "$O"

E="unetrc: error:"
UE="unetrc: usage error:"
H="(see unetrc --help)"
OUT="--output $O/l.nii.gz --logits $O/x.nii.gz --probabilities $O/p.nii.gz --png $O/o.png"

# -- the scan
expect 1 "$E b_dims.nii.gz: spatial dimensions 20x18x15 differ from those of a.nii.gz (20x18x16)" $U $SEG $P --cflags "$FLAGS" --image a.nii.gz --image b_dims.nii.gz $OUT
expect 1 "$E b_affine.nii.gz: affine differs from that of a.nii.gz (by 2 at row 0, column 3; tolerance 0.0001)" $U $SEG $P --cflags "$FLAGS" --image a.nii.gz --image b_affine.nii.gz $OUT
expect 1 "$E a.nii.gz: holds 1 channel, 2 expected" $U $SEG $P --cflags "$FLAGS" --image a.nii.gz $OUT
expect 1 "$E c4d.nii.gz: holds 2 channels, 1 expected" $U $SEG $B --cflags "$FLAGS" --image c4d.nii.gz $OUT
expect 1 "$E img2d.nii.gz: a 2D image (20x18), a 3D volume is expected" $U $SEG $B --cflags "$FLAGS" --image img2d.nii.gz $OUT
expect 1 "$E truncated.nii.gz: truncated gzip data (unexpected end of file)" $U $SEG $B --cflags "$FLAGS" --image truncated.nii.gz $OUT
expect 1 "$E nan.nii.gz: voxel [3,4,5] is NaN" $U $SEG $B --cflags "$FLAGS" --image nan.nii.gz $OUT
expect 1 "$E nope.nii.gz: cannot open file: No such file or directory" $U $SEG $B --cflags "$FLAGS" --image nope.nii.gz $OUT
no_files "$O"
# .npy images: shape, channels, NaN (the same checks as for NIfTI)
expect 2 "$UE --image files must be all NIfTI or all .npy $H" $U $SEG $B --image a.nii.gz --image a.npy $OUT
expect 1 "$E flat.npy: the model is 3D: an image .npy must have shape [D,H,W] or [C,D,H,W], not [20,18]" $U $SEG $B --cflags "$FLAGS" --image flat.npy $OUT
expect 1 "$E nan.npy: element 933 is NaN" $U $SEG $B --cflags "$FLAGS" --image nan.npy $OUT
expect 1 "$E $P: the model takes 2 input channels, the images have 3 (c2.npy: 2, a.npy: 1)" $U $SEG $P --cflags "$FLAGS" --image c2.npy --image a.npy $OUT
no_files "$O"
# -- outputs
expect 1 "$E $T/nodir/l.nii.gz: cannot create output file: No such file or directory" $U $SEG $B --cflags "$FLAGS" --image a.nii.gz --output "$T/nodir/l.nii.gz"
expect 1 "$E $T/nodir/x.nii.gz: cannot create output file: No such file or directory" $U $SEG $B --cflags "$FLAGS" --image a.nii.gz --output "$O/l.nii.gz" --logits "$T/nodir/x.nii.gz"
no_files "$O"
expect 2 "$UE --output 'a.nii.gz' would write over the --image file 'a.nii.gz' $H" $U $SEG $B --image a.nii.gz --output a.nii.gz
expect 2 "$UE --logits '$O/./l.nii.gz' names the same file as --output '$O/l.nii.gz' $H" $U $SEG $B --image a.nii.gz --output "$O/l.nii.gz" --logits "$O/./l.nii.gz"
expect 2 "$UE --output wants a .nii, .nii.gz or .npy file, got '$O/l.txt' $H" $U $SEG $B --image a.nii.gz --output "$O/l.txt"
expect 2 "$UE --png wants a file name ending in .png, got '$O/o.jpg' $H" $U $SEG $B --image a.nii.gz --output "$O/l.nii.gz" --png "$O/o.jpg"
expect 2 "$UE --image wants a .nii, .nii.gz or .npy file, got 'a.mha' $H" $U $SEG $B --image a.mha --output "$O/l.nii.gz"
expect 2 "$UE segment needs --image FILE (one per channel file) $H" $U $SEG $B --output "$O/l.nii.gz"
expect 2 "$UE segment needs --output LABELS.nii.gz $H" $U $SEG $B --image a.nii.gz
expect 2 "$UE no model given $H" $U $SEG --image a.nii.gz --output "$O/l.nii.gz"
# -- option values
G=g
g() { $U $SEG $B --cflags "$FLAGS" --image a.nii.gz --output "$O/l.nii.gz" "$@"; }
expect 2 "$UE --overlap wants a number in [0, 1) or one per spatial axis, got '1' $H" $G --overlap 1
expect 2 "$UE --overlap wants a number in [0, 1) or one per spatial axis, got '0.1,x' $H" $G --overlap 0.1,x
expect 2 "$UE --overlap: 2 values for a model with 3 spatial axes $H" $G --overlap 0.1,0.2
expect 2 "$UE --mode wants constant or gaussian, got 'box' $H" $G --mode box
expect 2 "$UE --sigma-scale wants a positive number or one per spatial axis, got '0' $H" $G --sigma-scale 0
expect 2 "$UE --normalize wants none or nonzero, got 'zscore' $H" $G --normalize zscore
expect 2 "$UE --scale-range wants A_MIN,A_MAX,B_MIN,B_MAX or A_MIN,A_MAX,B_MIN,B_MAX,clip, got '0,1,2' $H" $G --scale-range 0,1,2
expect 2 "$UE --scale-range wants A_MIN,A_MAX,B_MIN,B_MAX or A_MIN,A_MAX,B_MIN,B_MAX,clip, got '0,1,2,3,clamp' $H" $G --scale-range 0,1,2,3,clamp
expect 2 "$UE --labels wants label values 0..255, one per output channel, got '0,300' $H" $G --labels 0,300
expect 2 "$UE --labels: 3 values for a model with 2 output channels $H" $G --labels 0,1,2
expect 2 "$UE --labels maps the classes of argmax; it does not go with --sigmoid-threshold $H" $G --labels 0,1 --sigmoid-threshold 0.5
expect 2 "$UE --sigmoid-threshold wants a number, got 'nan' $H" $G --sigmoid-threshold nan
expect 2 "$UE --flip-tta wants spatial axes 0, 1, 2 separated by commas, got '3' $H" $G --flip-tta 3
expect 2 "$UE --threads wants a positive integer, got '0' $H" $G --threads 0
expect 2 "$UE --max-bytes wants a positive integer, got '-1' $H" $G --max-bytes -1
expect 2 "$UE --overlap needs a value $H" $G --overlap
expect 2 "$UE unknown option '--roi' $H" $G --roi 64
no_files "$O"
# -- 2.5D (--slices): K, the axis, the model, the channels (unet2d_5slice: 5 -> 3 channels, 64^2)
S=$M/unet2d_5slice.onnx
expect 2 "$UE --slices wants an odd number of slices from 1 to 255, got '4' $H" $G --slices 4
expect 2 "$UE --slices wants an odd number of slices from 1 to 255, got '0' $H" $G --slices 0
expect 2 "$UE --slices wants an odd number of slices from 1 to 255, got '2.5' $H" $G --slices 2.5
expect 2 "$UE --slice-axis wants 0, 1 or 2 (an axis of the volume), got '3' $H" $G --slices 3 --slice-axis 3
expect 2 "$UE --slice-axis goes with --slices K $H" $G --slice-axis 1
expect 2 "$UE --slices runs a 2D model slice by slice; the model is 3D $H" $G --slices 3
s() { $U $SEG $S --cflags "$FLAGS" --output "$O/l.nii.gz" "$@"; }
expect 2 "$UE --slices 3: the model takes 5 input channels, not a multiple of 3 $H" s --image a.nii.gz --slices 3
expect 1 "$E $S: the model takes 5 input channels = --slices 5 x 1 image channel; the images have 2" s --image a.nii.gz --image b.nii.gz --slices 5
expect 1 "$E $S: the model takes 5 input channels = --slices 5 x 1 image channel; the images have 2" s --image c2.npy --slices 5
expect 1 "$E img2d.nii.gz: a 2D image (20x18), a 3D volume is expected" s --image img2d.nii.gz --slices 5
expect 1 "$E flat.npy: --slices runs over volumes: an image .npy must have shape [D,H,W] or [C,D,H,W], not [20,18]" s --image flat.npy --slices 5
expect 2 "$UE --flip-tta: axis 2, but the model has 2 spatial axes $H" s --image a.nii.gz --slices 5 --flip-tta 2
expect 2 "$UE --overlap: 3 values for a model with 2 spatial axes $H" s --image a.nii.gz --slices 5 --overlap 0.1,0.2,0.3
no_files "$O"
n=$((n + 1))
err=$(cd "$D" && s --image a.nii.gz --slices 5 --slice-axis 0 --logits "$O/x.nii.gz" 2>&1)
[ -z "$err" ] && [ -s "$O/l.nii.gz" ] && [ -s "$O/x.nii.gz" ] || { echo "FAIL: 2.5D run: $err"; fails=$((fails + 1)); }
n=$((n + 1))
err=$(cd "$D" && $U segment --cache "$CACHE" --cflags "$FLAGS" $S --image a.nii.gz --output "$O/l.nii.gz" --slices 5 --slice-axis 1 2>&1 >/dev/null)
case "$err" in "segment: $O/l.nii.gz: 18 slices, 18 windows (18 predictions) in "*" s per window), model from the cache in "*) ;;
    *) echo "FAIL: 2.5D summary line: $err"; fails=$((fails + 1));; esac
rm -f "$O"/*
# -- models segment cannot run
expect 1 "$E $D/../../data/add_relu.onnx: segment needs a model with one float32 input [1,C,D,H,W] (or [1,C,H,W]) and one float32 output of the same spatial shape; its input is [1,2,3] and its output [1,2,3]" $U $SEG "$D/../../data/add_relu.onnx" --image a.nii.gz --output "$O/l.nii.gz"
expect 1 "$E nope.onnx: cannot open file: No such file or directory" $U $SEG nope.onnx --image a.nii.gz --output "$O/l.nii.gz"
no_files "$O"

# -- success, the summary line, and a cached second call
n=$((n + 1))
err=$(cd "$D" && $U segment --cache "$CACHE" --cflags "$FLAGS" $B --image a.nii.gz --output "$O/l.nii.gz" 2>&1 >/dev/null)
case "$err" in "segment: $O/l.nii.gz: 1 windows (1 predictions) in "*" s per window), model from the cache in "*) ;;
    *) echo "FAIL: summary line: $err"; fails=$((fails + 1));; esac
check test -s "$O/l.nii.gz"
cp "$O/l.nii.gz" "$T/first.nii.gz"
rm -f "$O"/*
# -- the cache: damaged entries are rebuilt, results unchanged
entry=$(ls -d "$CACHE"/*/ | head -n 1); entry=${entry%/}
for damage in weights so manifest; do
    e=$(for d in "$CACHE"/*/; do grep -q "unet3d_batch" "$d/seg.c" 2>/dev/null && grep -q "O0" "$d/seg.c" && echo "${d%/}"; done | head -n 1)
    [ -n "$e" ] || e=$entry
    case $damage in
        weights) head -c 100 "$e/seg.weights" > "$T/w" && cat "$T/w" > "$e/seg.weights"; why="seg.weights: data truncated";;
        so) printf 'x' >> "$e/seg.so"; why="seg.so: does not match its hash in the manifest";;
        manifest) rm "$e/manifest"; why="manifest: cannot open file: No such file or directory";;
    esac
    n=$((n + 1))
    err=$(cd "$D" && $U segment -v --quiet --cache "$CACHE" --cflags "$FLAGS" $B --image a.nii.gz --output "$O/l.nii.gz" 2>&1 >/dev/null | grep "unusable")
    case "$err" in "unetrc: note: segment: cache entry $e is unusable ($why): rebuilt") ;;
        *) echo "FAIL: damaged $damage: $err"; fails=$((fails + 1));; esac
    check cmp -s "$O/l.nii.gz" "$T/first.nii.gz"
    n=$((n + 1))
    err=$(cd "$D" && $U segment -v --quiet --cache "$CACHE" --cflags "$FLAGS" $B --image a.nii.gz --output "$O/l.nii.gz" 2>&1 >/dev/null | grep "cache")
    case "$err" in "unetrc: note: segment: compiled model from the cache: $e") ;;
        *) echo "FAIL: after rebuilding ($damage): $err"; fails=$((fails + 1));; esac
done
rm -f "$O"/*
# -- the UNETRC_* variables of the environment (kernel choices) are part of the key: a new entry, not the old one
before=$(ls -d "$CACHE"/*/ | wc -l)
n=$((n + 1))
(cd "$D" && UNETRC_CONV=direct $U segment --quiet --cache "$CACHE" --cflags "$FLAGS" $B --image a.nii.gz --output "$O/l.nii.gz") ||
    { echo "FAIL: segment with UNETRC_CONV=direct"; fails=$((fails + 1)); }
after=$(ls -d "$CACHE"/*/ | wc -l)
[ "$after" -eq $((before + 1)) ] || { echo "FAIL: UNETRC_CONV=direct: $before cache entries, then $after"; fails=$((fails + 1)); }
rm -f "$O"/*
check test -z "$(ls -d "$CACHE"/*.tmp-* 2>/dev/null)"
chmod 0777 "$CACHE"
expect 1 "$E $CACHE: the cache folder is not private (owner uid $(id -u), mode 0777); it holds code unetrc runs, so it must belong to you and be writable by nobody else" $U $SEG $B --cflags "$FLAGS" --image a.nii.gz --output "$O/l.nii.gz"
chmod 0700 "$CACHE"
: > "$T/cachefile"
expect 1 "$E $T/cachefile: cannot use the cache folder: Not a directory" $U segment --quiet --cache "$T/cachefile" $B --image a.nii.gz --output "$O/l.nii.gz"
no_files "$O"
# default cache folder: $XDG_CACHE_HOME/unetrc
n=$((n + 1))
(cd "$D" && XDG_CACHE_HOME="$T/xdg" $U segment --quiet --cflags "$FLAGS" $B --image a.nii.gz --output "$O/l.nii.gz") &&
    [ -f "$(ls -d "$T"/xdg/unetrc/*/ | head -n 1)seg.so" ] || { echo "FAIL: XDG_CACHE_HOME cache"; fails=$((fails + 1)); }
check cmp -s "$O/l.nii.gz" "$T/first.nii.gz"

echo "segment errors: $n checks, $fails failed"
[ "$fails" = 0 ]
