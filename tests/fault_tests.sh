#!/bin/sh
# fault_tests.sh UNETRC: processes, signals, files and resource limits
# (docs/input_checks.md, "Processes, signals, files and resource limits").
#  - SIGTERM, SIGINT, SIGHUP, SIGPIPE and SIGKILL to `unetrc run` while the
#    generated harness runs, SIGTERM and SIGKILL while its C compiler runs (a
#    grandchild included), SIGTERM to `unetrc bench`, SIGTERM, SIGINT and
#    SIGKILL to `unetrc train` while the trainer runs (with a checkpoint half
#    written): unetrc dies of the signal, no live process of the child's
#    process group is left, $TMPDIR (a private folder) is empty and no
#    temporary output or checkpoint file (NAME.tmpPID.N) is left anywhere;
#  - SIGTSTP stops the harness too, SIGCONT continues it;
#  - a FIFO or a device as the model, --input, --freeze-input, --label or a
#    --data sample: the exact error at once (under `timeout 10`);
#  - `ulimit -f`: "File too large" and no file; `ulimit -v`: "out of memory",
#    exit 1, both reading the model and inside protobuf-c;
#  - a full file system (a small tmpfs, where mount is permitted): "No space
#    left on device" and nothing of the set written (compile, grad);
#  - output sets, with UNETRC_TEST_COMMIT_PAUSE_MS pausing between the
#    renames: a signal during the renames leaves the whole new set; a second
#    compile to the same -o waits instead of interleaving; a reader holding a
#    shared flock on the folder never sees a mixed set;
#  - `--keep FILE` names the --keep path; `unetrc train` refuses an output
#    folder another one is using.
# The harness and trainer are made to wait forever at start-up by linking
# spin.c into them (--cflags); the slow C compiler is a script.
set -u
U=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
D=$(cd "$(dirname "$0")/data" && pwd)
L=$(cd "$(dirname "$0")/train/loss" && pwd)
P=$(cd "$(dirname "$0")/train/models/unet3d_prelu" && pwd)
M=$(cd "$(dirname "$0")/../models" && pwd)
T=$(mktemp -d /tmp/unetrc-fault-XXXXXX)
MNT=""
cleanup() {
    if [ -n "$MNT" ]; then umount "$MNT"; fi
    rm -rf "$T"
}
trap cleanup EXIT
fails=0; n=0
E="unetrc: error:"

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { n=$((n + 1)); if ! "$@"; then fail "$*"; fi; }
# expect RC "STDERR" cmd...: the exit status and the whole of stderr
expect() {
    want_rc=$1; want_err=$2; shift 2
    n=$((n + 1))
    err=$("$@" 2>&1 >/dev/null); rc=$?
    if [ "$rc" != "$want_rc" ] || [ "$err" != "$want_err" ]; then
        fail "$*"; echo "  want rc=$want_rc: $want_err"; echo "  got  rc=$rc: $err"
    fi
}
empty() { n=$((n + 1)); if [ -n "$(ls -A "$1")" ]; then fail "left in $1: $(ls -A "$1" | tr '\n' ' ')"; fi; }
# live PGID: processes of the group that are not zombies (a container's
# init may never reap the children of a killed process)
live() { ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/' | wc -l; }
# leftovers: what must not survive a run: scratch folders, the C compiler's
# temporaries (TMPDIR is $T/tmp), temporary outputs and checkpoints
leftovers() { ls -A "$T/tmp"; find "$T" -name '*.tmp[0-9]*.[0-9]*'; }
# settle PGID: up to 10 s for the group to be gone and nothing left over
# (after SIGKILL the guard process cleans up a moment later)
settle() {
    i=0
    while [ $i -lt 200 ]; do
        [ "$(live "$1")" = 0 ] && [ -z "$(leftovers)" ] && return 0
        sleep 0.05; i=$((i + 1))
    done
    return 1
}
# wait_for CMD...: up to 60 s for CMD to succeed
wait_for() { i=0; while [ $i -lt 1200 ]; do "$@" && return 0; sleep 0.05; i=$((i + 1)); done; return 1; }
running() { pgrep -f "$1" > "$T/pids"; }

cat > "$T/spin.c" <<'EOF'
/* fault_tests.sh: linked into the harness or trainer, which then waits at
 * start-up until killed. With FAULT_CKPT set it first leaves
 * CKPT.tmpPID.0, as a trainer killed inside unetrc_checkpoint_save would. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor)) static void spin(void) {
    const char *ck = getenv("FAULT_CKPT");
    if (ck) {
        char p[4096];
        snprintf(p, sizeof p, "%s.tmp%ld.0", ck, (long)getpid());
        FILE *f = fopen(p, "w");
        if (f) fputs("half a checkpoint", f), fclose(f);
    }
    for (;;) pause();
}
EOF
SPIN="-std=c11 -O0 $T/spin.c"
cat > "$T/slowcc" <<'EOF'
#!/bin/sh
sleep 600 &
wait
EOF
chmod +x "$T/slowcc"
mkdir "$T/tmp" "$T/out" "$T/data"
cp "$L/x.npy" "$T/data/a_image.npy"; cp "$L/label.npy" "$T/data/a_label.npy"

# signalled SIG NUM PATTERN WHAT CMD...: starts CMD (SIGINT not ignored,
# TMPDIR private), waits for a process matching PATTERN (the child), sends
# SIG to unetrc, and checks its status and that nothing is left.
signalled() {
    sig=$1; num=$2; pat=$3; what=$4; shift 4
    env --default-signal=INT TMPDIR="$T/tmp" "$@" >/dev/null 2>&1 &
    pid=$!
    n=$((n + 1))
    if ! wait_for running "$pat"; then
        fail "$what $sig: the child never ran"; kill -KILL $pid; wait $pid; return
    fi
    pg=$(ps -o pgid= -p "$(head -n 1 "$T/pids")" | tr -d ' ')
    if [ "$pg" = "$(ps -o pgid= -p $$ | tr -d ' ')" ]; then
        fail "$what $sig: the child runs in the test's process group"
        kill -KILL $(cat "$T/pids") $pid; wait $pid; return
    fi
    [ -n "${BEFORE_KILL:-}" ] && $BEFORE_KILL
    kill -"$sig" $pid; wait $pid; rc=$?
    n=$((n + 1))
    if [ "$rc" != $((128 + num)) ]; then fail "$what $sig: exit status $rc, want $((128 + num))"; fi
    n=$((n + 1))
    if ! settle "$pg"; then
        fail "$what $sig: left behind: $(live "$pg") processes of the child's group; $(leftovers | tr '\n' ' ')"
        pkill -KILL -g "$pg" 2>/dev/null
    fi
}

# -- run: killed while the harness runs, and while the C compiler runs
HARNESS="^$T/tmp/unetrc-run-[A-Za-z0-9]*/model_run "
for s in TERM:15 INT:2 HUP:1 PIPE:13 KILL:9; do
    signalled "${s%:*}" "${s#*:}" "$HARNESS" "run (harness)" \
        "$U" run "$D/add_relu.onnx" --input "$D/add_relu.input.npy" --output "$T/out/y.npy" --cflags "$SPIN"
done
for s in TERM:15 KILL:9; do
    signalled "${s%:*}" "${s#*:}" "^/bin/sh $T/slowcc " "run (C compiler)" \
        "$U" run "$D/add_relu.onnx" --input "$D/add_relu.input.npy" --output "$T/out/y.npy" --cc "$T/slowcc"
done
signalled TERM 15 "$HARNESS" "bench" "$U" bench "$D/add_relu.onnx" --runs 3 --cflags "$SPIN"
empty "$T/out"
# Ctrl-Z: the harness stops with unetrc and continues with it
state() { ps -o stat= -p "$(head -n 1 "$T/pids")" | cut -c1; }
stopped() { [ "$(state)" = T ]; }
not_stopped() { [ "$(state)" != T ]; }
tstp() {
    kill -TSTP $pid
    check wait_for stopped
    kill -CONT $pid
    check wait_for not_stopped
}
BEFORE_KILL=tstp
signalled TERM 15 "$HARNESS" "run (SIGTSTP, SIGCONT)" \
    "$U" run "$D/add_relu.onnx" --input "$D/add_relu.input.npy" --output "$T/out/y.npy" --cflags "$SPIN"
# a run that ends normally leaves nothing either
TMPDIR="$T/tmp" "$U" run "$D/add_relu.onnx" --input "$D/add_relu.input.npy" --output "$T/out/y.npy"
check test -s "$T/out/y.npy"
empty "$T/tmp"
rm -f "$T/out/y.npy"

# -- train: killed while the trainer runs, with a checkpoint half saved
half_saved() { ls "$o" | grep -q '^checkpoint\.bin\.tmp[0-9]*\.0$'; }
BEFORE_KILL="check wait_for half_saved"
for s in TERM:15 INT:2 KILL:9; do
    o="$T/train_${s%:*}"
    signalled "${s%:*}" "${s#*:}" "^$o/build/train " "train" \
        env FAULT_CKPT="$o/checkpoint.bin" "$U" train "$L/model.onnx" --data "$T/data" --out "$o" --steps 3 --cflags "$SPIN"
    check test -d "$o/build"
done
BEFORE_KILL=
# the reader of the progress lines goes away (`| head`): the trainer dies of
# SIGPIPE and unetrc ends quietly the same way, leaving nothing
o="$T/train_pipe"
( TMPDIR="$T/tmp" "$U" train "$L/model.onnx" --data "$T/data" --out "$o" --steps 100000 --cflags "-std=c11 -O0" 2>"$T/pipe.err"
  echo $? > "$T/pipe.rc" ) | head -n 2 > "$T/pipe.out"
check [ "$(cat "$T/pipe.rc")" = 141 ]
check [ ! -s "$T/pipe.err" ]
check grep -q '^step 1/100000 loss=' "$T/pipe.out"
n=$((n + 1))
if [ -n "$(pgrep -f "^$o/build/train ")" ] || [ -n "$(leftovers)" ]; then fail "train | head: left behind"; fi
# one `unetrc train` per output folder (its lock file held by flock(1)); a
# compile into that folder meanwhile does not wait for the training run
mkdir "$T/busy"
expect 1 "$E $T/busy: another unetrc train is using this output folder" \
    flock "$T/busy/train.lock" "$U" train "$L/model.onnx" --data "$T/data" --out "$T/busy" --steps 1
expect 1 "$E $T/nope/out: cannot create the output folder: No such file or directory" \
    "$U" train "$L/model.onnx" --data "$T/data" --out "$T/nope/out" --steps 1
expect 1 "$E $T/nope/g: cannot create the output folder: No such file or directory" \
    "$U" grad "$L/model.onnx" --input "$L/x.npy" --label "$L/label.npy" --out "$T/nope/g" --interp
# a gradient file may not write over what grad reads
mkdir "$T/gin"; cp "$L/x.npy" "$T/gin/w.npy"
expect 2 "unetrc: usage error: the gradient of 'w' would write over the --input file '$T/gin/w.npy' (see unetrc --help)" \
    "$U" grad "$L/model.onnx" --input "$T/gin/w.npy" --label "$L/label.npy" --out "$T/gin" --interp
check cmp -s "$L/x.npy" "$T/gin/w.npy"
touch "$T/file_not_dir"
expect 1 "$E $T/file_not_dir: cannot create the output folder: Not a directory" \
    "$U" grad "$L/model.onnx" --input "$L/x.npy" --label "$L/label.npy" --out "$T/file_not_dir" --interp
n=$((n + 1))
if ! flock "$T/busy/train.lock" timeout 20 "$U" "$D/add_relu.onnx" -o "$T/busy/seg.c"; then
    fail "a compile into the folder of a running train"
fi

# -- FIFOs and devices are refused without blocking
mkfifo "$T/fifo.onnx" "$T/fifo.npy"
expect 1 "$E $T/fifo.onnx: not a regular file" timeout 10 "$U" "$T/fifo.onnx" -o "$T/out/x.c"
expect 1 "$E /dev/zero: not a regular file" timeout 10 "$U" /dev/zero -o "$T/out/x.c"
expect 1 "$E $T/fifo.npy: not a regular file" timeout 10 "$U" run "$D/add_relu.onnx" --input "$T/fifo.npy" --output "$T/out/y.npy"
expect 1 "$E $T/fifo.npy: not a regular file" timeout 10 "$U" "$D/add_relu.onnx" --freeze-input "x=$T/fifo.npy" -o "$T/out/x.c"
expect 1 "$E $T/fifo.npy: not a regular file" timeout 10 "$U" grad "$L/model.onnx" --input "$L/x.npy" --label "$T/fifo.npy" --out "$T/out/g" --interp
mkdir "$T/fd"; cp "$L/x.npy" "$T/fd/a_image.npy"; mkfifo "$T/fd/a_label.npy"
expect 1 "$E $T/fd/a_label.npy: not a regular file" timeout 10 "$U" train "$L/model.onnx" --data "$T/fd" --out "$T/fd_out" --steps 1
empty "$T/out"

# -- --keep names its own path
touch "$T/keepfile"
expect 1 "$E $T/keepfile: cannot use the --keep folder: Not a directory" \
    "$U" run "$D/add_relu.onnx" --input "$D/add_relu.input.npy" --output "$T/out/y.npy" --keep "$T/keepfile"
expect 1 "$E $T/nope/keep: cannot create the --keep folder: No such file or directory" \
    "$U" bench "$D/add_relu.onnx" --keep "$T/nope/keep"

# the harness's write errors say why (errno)
mkdir -p "$T/k/out0.bin/x"
expect 1 "$E $D/add_relu.onnx: the generated program failed (exit status 3): harness: cannot write $T/k/out0.bin: Is a directory" \
    "$U" run "$D/add_relu.onnx" --input "$D/add_relu.input.npy" --output "$T/out/y.npy" --keep "$T/k"
empty "$T/out"

# -- ulimit -f (dash counts 512-byte blocks, bash 1 KiB: 6 is below seg.c's
#    8.6 kB and above seg.h (2.1 kB) and seg.weights): EFBIG, not a SIGXFSZ core dump
mkdir "$T/f"
expect 1 "$E $T/f/seg.c: cannot write output file: File too large" \
    sh -c "ulimit -f 6; exec '$U' '$D/add_relu.onnx' -o '$T/f/seg.c'"
empty "$T/f"
n=$((n + 1))
err=$(TMPDIR="$T/tmp" sh -c "ulimit -f 4; exec '$U' run '$D/add_relu.onnx' --input '$D/add_relu.input.npy' --output '$T/f/y.npy'" 2>&1)
rc=$?
err=$(printf '%s' "$err" | sed 's/unetrc-run-[A-Za-z0-9]*/unetrc-run-X/')
want="$E $D/add_relu.onnx: $T/tmp/unetrc-run-X/model.c: cannot write file: File too large"
if [ "$rc" != 1 ] || [ "$err" != "$want" ]; then fail "run under ulimit -f"; echo "  want: $want"; echo "  got  rc=$rc: $err"; fi
empty "$T/f"
empty "$T/tmp"

# -- ulimit -v: out of memory is reported as such (not as a bad model, not
#    SIGABRT). A sanitizer build cannot start under the limit: skipped.
if sh -c "ulimit -v 50000 && exec '$U' --version" >/dev/null 2>&1; then
    truncate -s 300M "$T/big.onnx"   # sparse: reading it needs 300 MB
    expect 1 "$E $T/big.onnx: out of memory (allocating 314572801 bytes)" \
        sh -c "ulimit -v 50000; exec '$U' '$T/big.onnx' -o '$T/out/x.c'"
    # ModelProto.graph.initializer[0].int64_data: 8 MiB of packed zero
    # varints, which protobuf-c decodes into a 64 MiB array
    { printf '\072\212\200\200\004\052\205\200\200\004\072\200\200\200\004'; head -c 8388608 /dev/zero; } > "$T/amp.onnx"
    expect 1 "$E $T/amp.onnx: out of memory (allocating 67108864 bytes)" \
        sh -c "ulimit -v 50000; exec '$U' '$T/amp.onnx' -o '$T/out/x.c'"
    rm -f "$T/big.onnx" "$T/amp.onnx"
    empty "$T/out"
else
    echo "SKIP: ulimit -v (this build cannot start under a 50 MB address-space limit)"
fi

# -- a full file system: the real errno, and no part of a set
mkdir "$T/full"
if mount -t tmpfs -o size=32k tmpfs "$T/full" 2>/dev/null; then
    MNT="$T/full"
    expect 1 "$E $T/full/seg.weights: cannot write output file: No space left on device" \
        "$U" "$M/unet3d_batch.onnx" -o "$T/full/seg.c"
    empty "$T/full"
    n=$((n + 1))
    err=$("$U" grad "$P/model.onnx" --input "$P/x.npy" --label "$P/label.npy" --out "$T/full/g" --interp 2>&1 >/dev/null)
    rc=$?
    case "$rc $err" in
    "1 $E $T/full/g/"*": cannot write output file: No space left on device") ;;
    *) fail "grad on a full file system: rc=$rc: $err" ;;
    esac
    empty "$T/full/g"
    umount "$T/full" && MNT=""
else
    echo "SKIP: ENOSPC (cannot mount a tmpfs here)"
fi

# -- output sets are one unit
mkdir "$T/cs" "$T/refA" "$T/refB"
"$U" "$D/add_relu.onnx" -o "$T/cs/seg.c" && cp "$T/cs/seg.c" "$T/cs/seg.h" "$T/cs/seg.weights" "$T/refA/"
"$U" "$D/layout_chain.onnx" -o "$T/cs/seg.c" && cp "$T/cs/seg.c" "$T/cs/seg.h" "$T/cs/seg.weights" "$T/refB/"
cat > "$T/setis.sh" <<EOF
# prints A or B when DIR holds the whole set of that compile, else mixed
for r in A B; do
    if cmp -s "\$1/seg.c" "$T/ref\$r/seg.c" && cmp -s "\$1/seg.h" "$T/ref\$r/seg.h" &&
       cmp -s "\$1/seg.weights" "$T/ref\$r/seg.weights"; then echo \$r; exit; fi
done
echo mixed
EOF
setis() { sh "$T/setis.sh" "$T/cs"; }
check [ "$(setis)" = B ]
check sh -c "! cmp -s '$T/refA/seg.weights' '$T/refB/seg.weights' && ! cmp -s '$T/refA/seg.h' '$T/refB/seg.h'"
first_renamed() { cmp -s "$T/cs/seg.weights" "$T/refB/seg.weights"; }
# a signal during the renames: it takes effect after the last one
"$U" "$D/add_relu.onnx" -o "$T/cs/seg.c"
UNETRC_TEST_COMMIT_PAUSE_MS=500 "$U" "$D/layout_chain.onnx" -o "$T/cs/seg.c" &
pid=$!
check wait_for first_renamed
kill -TERM $pid; wait $pid; rc=$?
check [ "$rc" = 143 ]
check [ "$(setis)" = B ]
check [ "$(ls -A "$T/cs" | tr '\n' ' ')" = "seg.c seg.h seg.weights " ]
# two compiles to one -o: the second waits for the first's renames (3 s of
# them, so that the second reaches its own commit in time on a busy machine)
"$U" "$D/add_relu.onnx" -o "$T/cs/seg.c"
UNETRC_TEST_COMMIT_PAUSE_MS=1500 "$U" "$D/layout_chain.onnx" -o "$T/cs/seg.c" &
pid=$!
check wait_for first_renamed
check "$U" "$D/add_relu.onnx" -o "$T/cs/seg.c"
check wait $pid
check [ "$(setis)" = A ]
# a reader holding a shared lock on the folder sees one set or the other
"$U" "$D/add_relu.onnx" -o "$T/cs/seg.c"
UNETRC_TEST_COMMIT_PAUSE_MS=300 "$U" "$D/layout_chain.onnx" -o "$T/cs/seg.c" &
pid=$!
seen=""
while kill -0 $pid 2>/dev/null; do
    seen="$seen $(flock -s "$T/cs" sh "$T/setis.sh" "$T/cs")"
    sleep 0.02
done
wait $pid
n=$((n + 1))
case "$seen" in *mixed*) fail "a reader holding flock -s saw a mixed set: $seen" ;; esac
check [ "$(setis)" = B ]
check [ "$(ls -A "$T/cs" | tr '\n' ' ')" = "seg.c seg.h seg.weights " ]

echo "fault tests: $n checks, $fails failed"
[ "$fails" = 0 ]
