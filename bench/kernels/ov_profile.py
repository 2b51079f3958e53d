#!/usr/bin/env python3
"""ov_profile.py MODEL.onnx INPUT.npy [THREADS] [RUNS] [PRECISION]: OpenVINO's per-layer times
(its performance counters, PERF_COUNT) for one model, to set beside profile.py's per-kernel
times of unetrc's generated code.  PRECISION: f32 (INFERENCE_PRECISION_HINT=f32) or default
(OpenVINO's choice for this CPU: bf16 where the CPU has AVX512-BF16 or AMX).  Prints the mean
time per inference by layer type and implementation (e.g. Convolution brgconv_avx512_core_bf16)
and the slowest layers, over RUNS inferences after one warm-up."""
import sys

import numpy as np
import openvino as ov

model, inp = sys.argv[1], np.load(sys.argv[2])
threads = sys.argv[3] if len(sys.argv) > 3 else '1'
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
prec = sys.argv[5] if len(sys.argv) > 5 else 'default'
cfg = {'PERF_COUNT': 'YES', 'INFERENCE_NUM_THREADS': threads, 'NUM_STREAMS': '1'}
if prec == 'f32':
    cfg['INFERENCE_PRECISION_HINT'] = 'f32'
compiled = ov.Core().compile_model(model, 'CPU', cfg)
req = compiled.create_infer_request()
req.infer({0: inp})  # warm-up
rows = {}
for _ in range(runs):
    req.infer({0: inp})
    for p in req.profiling_info:
        if p.status != p.Status.EXECUTED:
            continue
        key = (p.node_name, p.node_type, p.exec_type)
        rows[key] = rows.get(key, 0.0) + p.real_time.total_seconds() * 1e3 / runs
total = sum(rows.values())
print('total %.1f ms per inference (%s threads, precision %s)' % (total, threads, prec))
bytype = {}
for (_, typ, ex), t in rows.items():
    bytype[(typ, ex)] = bytype.get((typ, ex), 0.0) + t
for (typ, ex), t in sorted(bytype.items(), key=lambda x: -x[1]):
    if t >= 0.1:
        print('  %-20s %-36s %9.1f ms %5.1f%%' % (typ, ex, t, 100 * t / total))
print('top layers:')
for (name, typ, ex), t in sorted(rows.items(), key=lambda x: -x[1])[:25]:
    print('  %9.2f ms  %-16s %-30s %s' % (t, typ, ex, name[:90]))
