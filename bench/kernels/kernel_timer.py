"""kernel_timer.py: shared by profile.py (forward) and train_profile.py (training step).

instrument() wraps every kernel call of one entry function of generated C with a timer
(thread CPU time with one thread: robust on a shared core; wall time otherwise) that
skips the first call of the entry (warm-up); the program writes DIR/prof.txt at exit.
report() prints the time per call of the entry by op kind and the top kernel calls,
each with the kernel's comment (op, node name, shapes).
build() instruments a source of the kept folder and rebuilds the program with it."""
import os, re, subprocess


def instrument(src, entry_re, d, threads):
    """Returns (instrumented C source, [(kernel, comment)] per call site)."""
    out, calls, inside = [], [], False
    comments, last = {}, None
    for ln in src.split('\n'):
        c = re.match(r'^/\* (.*) \*/$', ln)
        if c:
            last = c.group(1)
        k = re.match(r'^static (?:void|int) (k\d+_\w+)\(', ln)  # int: the kernel checks run-time indices
        if k:
            comments[k.group(1)] = last or ''
        if re.match(entry_re, ln):
            inside = True
            out += [ln, '    urc_prof_calls++;']
            continue
        if inside and ln.startswith('}'):
            inside = False
        m = re.match(r'^    (?:if \()?(k\d+_\w+)\(', ln) if inside else None  # "if (kN(...)) return X_ERR_INDEX;"
        if m:
            out.append('    { double t0_ = urc_prof_now(); %s if (urc_prof_calls > 1) urc_prof_t[%d] += urc_prof_now() - t0_; }'
                       % (ln.strip(), len(calls)))
            calls.append(m.group(1))
        else:
            out.append(ln)
    n = len(calls)
    prof = ('#define _POSIX_C_SOURCE 199309L\n#include <time.h>\n#include <stdio.h>\n'
            'static int urc_prof_calls;\nstatic double urc_prof_t[%d];\n'
            'static double urc_prof_now(void) { struct timespec t; clock_gettime(%s, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }\n'
            '__attribute__((destructor)) static void urc_prof_dump(void) {\n'
            '    FILE *f = fopen("%s/prof.txt", "w");\n'
            '    for (int i = 0; i < %d; i++) fprintf(f, "%%d %%.6f\\n", i, urc_prof_t[i] * 1e3 / (urc_prof_calls - 1));\n'
            '    fclose(f);\n}\n' % (n + 1, 'CLOCK_THREAD_CPUTIME_ID' if threads == '1' else 'CLOCK_MONOTONIC', d, n))
    return prof + '\n'.join(out), [(k, comments.get(k, '')) for k in calls]


def build(d, src_name, entry_re, threads, sources, exe_name):
    """Instruments the entry function (entry_re) of D/SRC_NAME into D/prof_SRC_NAME and builds it
    with the other SOURCES of D into D/EXE_NAME (-O3 -march=native -mprefer-vector-width=512
    -fopenmp).  Returns (executable, [(kernel, comment)] per call site, the environment to run it
    with: OMP_NUM_THREADS=threads)."""
    src, calls = instrument(open(os.path.join(d, src_name)).read(), entry_re, d, threads)
    prof = os.path.join(d, 'prof_' + src_name)
    open(prof, 'w').write(src)
    exe = os.path.join(d, exe_name)
    subprocess.check_call(['gcc', '-std=c11', '-O3', '-march=native', '-mprefer-vector-width=512', '-fopenmp', '-I', d,
                           prof] + [os.path.join(d, s) for s in sources] + ['-o', exe, '-lm'])
    return exe, calls, dict(os.environ, OMP_NUM_THREADS=threads)


def report(d, calls, what, threads):
    rows = []
    for ln in open(os.path.join(d, 'prof.txt')):
        i, t = ln.split()
        rows.append((float(t),) + calls[int(i)])
    total = sum(r[0] for r in rows)
    byop = {}
    for t, k, _ in rows:
        op = re.sub(r'^k\d+_', '', k)
        byop[op] = byop.get(op, 0) + t
    print('total %.1f ms per %s (%s threads)' % (total, what, threads))
    for op, t in sorted(byop.items(), key=lambda x: -x[1])[:int(os.environ.get('TOPOPS', '30'))]:
        print('  %-28s %9.1f ms %5.1f%%' % (op, t, 100 * t / total))
    print('top kernel calls:')
    for t, k, c in sorted(rows, reverse=True)[:int(os.environ.get('TOP', '25'))]:
        print('  %9.2f ms  %s  %s' % (t, k, c[:150]))
