#!/usr/bin/env python3
"""scale_test.py UNETRC: compile time grows near-linearly with graph size.

For each shape of make_graph.py named below, a graph of SMALL and one of
BIG nodes (10x as many) are generated into a temporary folder and compiled
(`unetrc MODEL -o DIR/seg.c`: every pass, the verifier after each, memory
plan, lowering, kernel dedup, seg.c/seg.h/weights). The CPU time of the
compiler process is measured (user + system, less disturbed by other load
than the wall clock; SMALL and BIG compiled in turn twice, the least time
of each, up to two more rounds before failing) and time(BIG) / time(SMALL)
must stay below LIMIT = 30: a linear compiler gives about 10, here 12 to 15
as the passes' walks over BIG's nodes no longer fit the 32 MiB cache while
SMALL's do, n log n a little more, a quadratic stage about 100 (the limit
sits between, with room for a loaded machine on both sides). The SMALL graph's output is checked against numpy's through the
interpreter and through the generated C (built with -O0 to keep the test
fast), and its arena must stay within 1% of the live-set lower bound.

A tiny model whose input names clash as C identifiers ("x_2", "x", "X")
must compile to C that builds and computes the right thing.

Options: --shapes wide,mixed  --small 20000  --big 200000  --keep DIR
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

LIMIT = 30

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "make_graph.py")


def cpu_run(argv, limit=600):
    """Runs argv; returns (exit status, stderr, user + system CPU seconds).
    Fails the test when it has not finished after `limit` seconds."""
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        t0 = time.monotonic()
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > limit:
                p.kill()
                os.wait4(p.pid, 0)
                check(False, "%s did not finish in %d s" % (" ".join(os.path.basename(a) for a in argv[:3]), limit))
            time.sleep(0.02)
        err.seek(0)
        return os.waitstatus_to_exitcode(status), err.read().decode(errors="replace"), ru.ru_utime + ru.ru_stime


def check(cond, msg):
    if not cond:
        print("FAIL: " + msg)
        sys.exit(1)


def close(ref, out, tol, what):
    r, o = np.load(ref).astype(np.float64), np.load(out).astype(np.float64)
    check(r.shape == o.shape, "%s: shape %s, expected %s" % (what, o.shape, r.shape))
    err = np.abs(r - o).max() / max(np.abs(r).max(), 1e-30)
    check(np.isfinite(o).all() and err <= tol, "%s: relative error %.3g > %g" % (what, err, tol))
    print("%s: relative error %.3g" % (what, err))


def names_case(unetrc, tmp):
    """Inputs "x_2", "x", "X": C names in_x_2, in_x, and (not in_x_2 again) in_x_3: the first free suffix."""
    import onnx
    from onnx import TensorProto, helper
    ins = ["x_2", "x", "X"]
    nodes = [helper.make_node("Add", ["x_2", "x"], ["s"]), helper.make_node("Mul", ["s", "X"], ["y"])]
    g = helper.make_graph(nodes, "names", [helper.make_tensor_value_info(n, TensorProto.FLOAT, [4]) for n in ins],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    path = os.path.join(tmp, "names.onnx")
    onnx.save(m, path)
    vals = [np.arange(4, dtype=np.float32) + k for k in range(3)]
    argv = [unetrc, "run", path, "--cflags", "-std=c11 -O0"]
    for k, v in enumerate(vals):
        np.save(os.path.join(tmp, "n%d.npy" % k), v)
        argv += ["--input", os.path.join(tmp, "n%d.npy" % k)]
    np.save(os.path.join(tmp, "n.ref.npy"), (vals[0] + vals[1]) * vals[2])
    rc, err, _ = cpu_run(argv + ["--output", os.path.join(tmp, "n.out.npy")])
    check(rc == 0, "inputs named x_2, x, X: %s" % err.strip())
    close(os.path.join(tmp, "n.ref.npy"), os.path.join(tmp, "n.out.npy"), 1e-6, "inputs named x_2, x, X")
    rc, err, _ = cpu_run([unetrc, path, "-o", os.path.join(tmp, "names.c")])
    check(rc == 0, "compiling names.onnx: %s" % err.strip())
    sig = re.search(r"int names_forward\(([^)]*)\)", open(os.path.join(tmp, "names.h")).read())
    check(sig and sig.group(1).split(", ")[2:5] == ["const float *in_x_2", "const float *in_x", "const float *in_x_3"],
          "C parameter names: %s" % (sig.group(1) if sig else "no prototype"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("unetrc")
    ap.add_argument("--shapes", default="wide,mixed")
    ap.add_argument("--small", type=int, default=20000)
    ap.add_argument("--big", type=int, default=200000)
    ap.add_argument("--keep", help="keep the generated files here")
    a = ap.parse_args()
    unetrc = os.path.abspath(a.unetrc)
    tmp = a.keep or tempfile.mkdtemp(prefix="unetrc-scale-")
    os.makedirs(tmp, exist_ok=True)
    try:
        names_case(unetrc, tmp)
        for shape in a.shapes.split(","):
            models = {}
            for n in (a.small, a.big):
                models[n] = os.path.join(tmp, "%s_%d.onnx" % (shape, n))
                gen = [sys.executable, GEN, shape, str(n), models[n]]
                if n == a.small:
                    gen += ["--input", os.path.join(tmp, "x.npy"), "--reference", os.path.join(tmp, "ref.npy")]
                subprocess.run(gen, check=True, stderr=subprocess.DEVNULL)
            out = os.path.join(tmp, "out_" + shape)
            os.makedirs(out, exist_ok=True)

            def compile_time(n):
                rc, err, t = cpu_run([unetrc, models[n], "-o", os.path.join(out, "seg.c")])
                check(rc == 0, "%s %d: %s" % (shape, n, err.strip()))
                return t

            # the small graph: arena near the lower bound, outputs right
            compile_time(a.small)
            hdr = open(os.path.join(out, "seg.h")).read()
            arena = int(re.search(r"SEG_ARENA_SIZE (\d+)", hdr).group(1))
            bound = int(re.search(r"SEG_ARENA_LOWER_BOUND (\d+)", hdr).group(1))
            check(arena <= bound * 1.01, "%s %d: arena %d, lower bound %d" % (shape, a.small, arena, bound))
            for how, extra in (("interpreter", ["--interp"]), ("generated C", ["--cflags", "-std=c11 -O0"])):
                y = os.path.join(tmp, "y.npy")
                rc, err, _ = cpu_run([unetrc, "run", models[a.small], "--input", os.path.join(tmp, "x.npy"),
                                      "--output", y] + extra)
                check(rc == 0, "%s %d run (%s): %s" % (shape, a.small, how, err.strip()))
                close(os.path.join(tmp, "ref.npy"), y, 1e-4, "%s %d, %s vs numpy" % (shape, a.small, how))
            # compile times, small and big in turn so that both see the same
            # load, the least of each (other load only adds); up to two more
            # rounds before failing
            times = {a.small: [], a.big: []}
            for rnd in range(4):
                for n in (a.small, a.big):
                    times[n].append(compile_time(n))
                ratio = min(times[a.big]) / max(min(times[a.small]), 1e-3)
                if rnd >= 1 and ratio < LIMIT:
                    break
            print("%s: %d nodes compiled in %.2f s CPU, %d nodes in %.2f s (least of %d runs)" %
                  (shape, a.small, min(times[a.small]), a.big, min(times[a.big]), len(times[a.big])))
            print("%s: time(%d) / time(%d) = %.1f" % (shape, a.big, a.small, ratio))
            check(ratio < LIMIT, "%s: compile time grows like %.1fx for %dx the nodes" % (shape, ratio, a.big // a.small))
            for n in models:
                os.remove(models[n])
            shutil.rmtree(out)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("scale: ok")


if __name__ == "__main__":
    main()
