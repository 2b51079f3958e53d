#!/usr/bin/env python3
"""Live comparison with ONNX Runtime: every model in models/ (and the CLI
fixture) is run by onnxruntime and by `unetrc run` (generated C) on its
bundled input; the outputs must agree within 1e-4 of the output's max
magnitude.

    ort_compare.py UNETRC MODELS_DIR"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort


def main():
    unetrc, models = sys.argv[1], sys.argv[2]
    names = sorted(f[:-5] for f in os.listdir(models) if f.endswith(".onnx"))
    bad = 0
    for name in names:
        model = os.path.join(models, name + ".onnx")
        x = np.load(os.path.join(models, name + ".input.npy"))
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out.npy")
            r = subprocess.run([unetrc, "run", model, "--input", os.path.join(models, name + ".input.npy"),
                                "--output", out], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"FAIL {name}: unetrc run exited {r.returncode}: {r.stderr.strip()}")
                bad += 1
                continue
            y = np.load(out)
        rel = float(np.abs(ref - y).max() / max(np.abs(ref).max(), 1e-30))
        ok = y.shape == ref.shape and rel <= 1e-4
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: max|ort - unetrc| / max|ort| = {rel:.3g}")
    print(f"ort_compare: {len(names) - bad}/{len(names)} models agree with onnxruntime")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
