#!/usr/bin/env python3
"""train_profile.py BUILD_DIR [THREADS] [STEPS]: per-kernel times of a training
step built by `unetrc train ... --out OUT` (BUILD_DIR = OUT/build: seg.c,
train.c, seg.weights, images.bin, labels.bin and the runtime sources).

Wraps every kernel call of seg_train_step with a timer (thread CPU time with
one thread: robust on a shared core; wall time otherwise), rebuilds the
training program with -O3 -march=native -mprefer-vector-width=512 -fopenmp,
runs STEPS steps (default 3; the first is excluded) and prints the time per
step by op kind and the top kernels (TOP=n).  Each kernel line carries the
kernel's comment (op, node name, shapes)."""
import os, subprocess, sys

from kernel_timer import build, report

d = sys.argv[1]
threads = sys.argv[2] if len(sys.argv) > 2 else '1'
steps = sys.argv[3] if len(sys.argv) > 3 else '3'
exe, calls, env = build(d, 'seg.c', r'^static int \w+_train_step_body\(', threads, ['train.c', 'weights.c', 'checkpoint.c'],
                        'prof_train')
subprocess.check_call([exe, os.path.join(d, 'seg.weights'), os.path.join(d, 'images.bin'), os.path.join(d, 'labels.bin'),
                       '1', steps, '1e-4', '1e-4', '0', os.path.join(d, 'prof_ckpt.bin'), '0', '0'], env=env)
report(d, calls, 'step', threads)
