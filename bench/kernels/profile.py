#!/usr/bin/env python3
"""profile.py DIR [THREADS] [RUNS]: per-kernel times of generated code kept by
`unetrc run ... --keep DIR` (model.c, model.weights, harness.c, in0.bin).
Wraps every kernel call (timed by thread CPU time with one thread: robust on
a shared core) of the forward function with a timer, rebuilds with
-O3 -march=native and prints the kernels by mean time per forward (the
harness's warm-up forward excluded)."""
import os, subprocess, sys

from kernel_timer import instrument, report

d = sys.argv[1]
threads = sys.argv[2] if len(sys.argv) > 2 else '2'
runs = sys.argv[3] if len(sys.argv) > 3 else '2'
src, calls = instrument(open(os.path.join(d, 'model.c')).read(), r'^int \w+_forward\(', d, threads)
open(os.path.join(d, 'prof_model.c'), 'w').write(src)
exe = os.path.join(d, 'prof_run')
subprocess.check_call(['gcc', '-std=c11', '-O3', '-march=native', '-mprefer-vector-width=512', '-fopenmp', '-I', d,
                       os.path.join(d, 'prof_model.c'), os.path.join(d, 'harness.c'), '-o', exe, '-lm'])
env = dict(os.environ, OMP_NUM_THREADS=threads)
subprocess.check_call([exe, os.path.join(d, 'model.weights'), os.path.join(d, 'in0.bin'), '/dev/null', runs], env=env,
                      stdout=subprocess.DEVNULL)
report(d, calls, 'forward', threads)
