#!/usr/bin/env python3
"""profile.py DIR [THREADS] [RUNS]: per-kernel times of generated code kept by
`unetrc run ... --keep DIR` (model.c, model.weights, harness.c, in0.bin).
Wraps every kernel call (timed by thread CPU time with one thread: robust on
a shared core) of the forward function with a timer, rebuilds with
-O3 -march=native and prints the kernels by mean time per forward (the
harness's warm-up forward excluded)."""
import os, re, subprocess, sys

d = sys.argv[1]
threads = sys.argv[2] if len(sys.argv) > 2 else '2'
runs = sys.argv[3] if len(sys.argv) > 3 else '2'
src = open(os.path.join(d, 'model.c')).read()
out, calls, in_fwd = [], [], False
comments = {}
last_comment = None
for ln in src.split('\n'):
    c = re.match(r'^/\* (.*) \*/$', ln)
    if c:
        last_comment = c.group(1)
    k = re.match(r'^static void (k\d+_\w+)\(', ln)
    if k:
        comments[k.group(1)] = last_comment or ''
    if re.match(r'^int \w+_forward\(', ln):
        in_fwd = True
        out.append(ln)
        out.append('    urc_prof_calls++;')
        continue
    m = re.match(r'^    (k\d+_\w+)\(', ln) if in_fwd else None
    if m:
        i = len(calls)
        calls.append(m.group(1))
        out.append('    { double t0_ = urc_prof_now(); %s if (urc_prof_calls > 1) urc_prof_t[%d] += urc_prof_now() - t0_; }' % (ln.strip(), i))
    else:
        out.append(ln)
n = len(calls)
prof = ('#include <time.h>\n#include <stdio.h>\nstatic int urc_prof_calls;\nstatic double urc_prof_t[%d];\n'
        'static double urc_prof_now(void) { struct timespec t; clock_gettime(%s, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }\n'
        '__attribute__((destructor)) static void urc_prof_dump(void) {\n'
        '    FILE *f = fopen("%s/prof.txt", "w");\n'
        '    for (int i = 0; i < %d; i++) fprintf(f, "%%d %%.6f\\n", i, urc_prof_t[i] * 1e3 / (urc_prof_calls - 1));\n'
        '    fclose(f);\n}\n' % (n, 'CLOCK_THREAD_CPUTIME_ID' if threads == '1' else 'CLOCK_MONOTONIC', d, n))
src2 = '\n'.join(out).replace('#include <math.h>', '#define _POSIX_C_SOURCE 199309L\n' + prof + '#include <math.h>', 1)
open(os.path.join(d, 'prof_model.c'), 'w').write(src2)
exe = os.path.join(d, 'prof_run')
subprocess.check_call(['gcc', '-std=c11', '-O3', '-march=native', '-mprefer-vector-width=512', '-fopenmp', '-I', d,
                       os.path.join(d, 'prof_model.c'), os.path.join(d, 'harness.c'), '-o', exe, '-lm'])
env = dict(os.environ, OMP_NUM_THREADS=threads)
subprocess.check_call([exe, os.path.join(d, 'model.weights'), os.path.join(d, 'in0.bin'), '/dev/null', runs], env=env,
                      stdout=subprocess.DEVNULL)
rows = []
for ln in open(os.path.join(d, 'prof.txt')):
    i, t = ln.split()
    rows.append((float(t), calls[int(i)]))
total = sum(t for t, _ in rows)
byop = {}
for t, k in rows:
    op = re.sub(r'^k\d+_', '', k)
    byop[op] = byop.get(op, 0) + t
print('total %.1f ms (%s threads)' % (total, threads))
for op, t in sorted(byop.items(), key=lambda x: -x[1]):
    print('  %-24s %9.1f ms %5.1f%%' % (op, t, 100 * t / total))
print('top kernels:')
for t, k in sorted(rows, reverse=True)[:int(os.environ.get('TOP', '25'))]:
    print('  %9.2f ms  %s  %s' % (t, k, comments.get(k, '')[:150]))
