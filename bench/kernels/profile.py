#!/usr/bin/env python3
"""profile.py DIR [THREADS] [RUNS]: per-kernel times of generated code kept by
`unetrc run ... --keep DIR` (model.c, model.weights, harness.c, in0.bin).
Wraps every kernel call (timed by thread CPU time with one thread: robust on
a shared core) of the forward function with a timer, rebuilds with
-O3 -march=native and prints the kernels by mean time per forward (the
harness's warm-up forward excluded)."""
import os, subprocess, sys

from kernel_timer import build, report

d = sys.argv[1]
threads = sys.argv[2] if len(sys.argv) > 2 else '2'
runs = sys.argv[3] if len(sys.argv) > 3 else '2'
exe, calls, env = build(d, 'model.c', r'^static int \w+_forward_body\(', threads, ['harness.c'], 'prof_run')
subprocess.check_call([exe, os.path.join(d, 'model.weights'), os.path.join(d, 'in0.bin'), '/dev/null', runs], env=env,
                      stdout=subprocess.DEVNULL)
report(d, calls, 'forward', threads)
