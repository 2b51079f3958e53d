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
import os, re, subprocess, sys

d = sys.argv[1]
threads = sys.argv[2] if len(sys.argv) > 2 else '1'
steps = sys.argv[3] if len(sys.argv) > 3 else '3'
src = open(os.path.join(d, 'seg.c')).read()
out, calls, in_step = [], [], False
comments = {}
last_comment = None
for ln in src.split('\n'):
    c = re.match(r'^/\* (.*) \*/$', ln)
    if c:
        last_comment = c.group(1)
    k = re.match(r'^static void (k\d+_\w+)\(', ln)
    if k:
        comments[k.group(1)] = last_comment or ''
    if re.match(r'^int \w+_train_step\(', ln):
        in_step = True
        out.append(ln)
        out.append('    urc_prof_calls++;')
        continue
    if in_step and ln.startswith('}'):
        in_step = False
    m = re.match(r'^    (k\d+_\w+)\(.*; /\* (.*) \*/$', ln) if in_step else None
    if m:
        i = len(calls)
        calls.append((m.group(1), m.group(2)))
        out.append('    { double t0_ = urc_prof_now(); %s if (urc_prof_calls > 1) urc_prof_t[%d] += urc_prof_now() - t0_; }'
                   % (ln.strip(), i))
    else:
        out.append(ln)
n = len(calls)
prof = ('#include <time.h>\n#include <stdio.h>\nstatic int urc_prof_calls;\nstatic double urc_prof_t[%d];\n'
        'static double urc_prof_now(void) { struct timespec t; clock_gettime(%s, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }\n'
        '__attribute__((destructor)) static void urc_prof_dump(void) {\n'
        '    FILE *f = fopen("%s/prof.txt", "w");\n'
        '    for (int i = 0; i < %d; i++) fprintf(f, "%%d %%.6f\\n", i, urc_prof_t[i] * 1e3 / (urc_prof_calls - 1));\n'
        '    fclose(f);\n}\n' % (n, 'CLOCK_THREAD_CPUTIME_ID' if threads == '1' else 'CLOCK_MONOTONIC', d, n))
src2 = '#define _POSIX_C_SOURCE 199309L\n' + prof + '\n'.join(out)
open(os.path.join(d, 'prof_seg.c'), 'w').write(src2)
exe = os.path.join(d, 'prof_train')
subprocess.check_call(['gcc', '-std=c11', '-O3', '-march=native', '-mprefer-vector-width=512', '-fopenmp', '-I', d,
                       os.path.join(d, 'prof_seg.c'), os.path.join(d, 'train.c'), os.path.join(d, 'weights.c'),
                       os.path.join(d, 'checkpoint.c'), '-o', exe, '-lm'])
env = dict(os.environ, OMP_NUM_THREADS=threads)
subprocess.check_call([exe, os.path.join(d, 'seg.weights'), os.path.join(d, 'images.bin'), os.path.join(d, 'labels.bin'),
                       '1', steps, '1e-4', '1e-4', '0', os.path.join(d, 'prof_ckpt.bin'), '0', '0'], env=env)
rows = []
for ln in open(os.path.join(d, 'prof.txt')):
    i, t = ln.split()
    rows.append((float(t), calls[int(i)][0], calls[int(i)][1]))
total = sum(t for t, _, _ in rows)
byop = {}
for t, k, _ in rows:
    op = re.sub(r'^k\d+_', '', k)
    byop[op] = byop.get(op, 0) + t
print('total %.1f ms per step (%s threads)' % (total, threads))
for op, t in sorted(byop.items(), key=lambda x: -x[1])[:int(os.environ.get('TOPOPS', '30'))]:
    print('  %-28s %9.1f ms %5.1f%%' % (op, t, 100 * t / total))
print('top kernel calls:')
for t, k, c in sorted(rows, reverse=True)[:int(os.environ.get('TOP', '25'))]:
    print('  %9.2f ms  %s  %s' % (t, k, c[:150]))
