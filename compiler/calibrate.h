/* calibrate.h: int8 calibration through compiled code.
 *
 * --precision int8 --calibrate DIR needs the range [min, max] of each int8
 * node's data input over the samples (passes/precision.c). The reference interpreter
 * can record them, at its pace (minutes per sample on UNETR-sized
 * models). This measures them with generated code instead: the model is
 * imported and optimised again in float32 (the same passes give the same
 * nodes and value names), each watched value gets a ReduceMin and a
 * ReduceMax (keepdims) as extra graph outputs, placed before the value's first
 * reader so that the plan keeps nothing alive longer, and the C backend
 * builds that program for this machine ($CC, else cc; -O3 -march=native)
 * once and runs it on every sample. The driver (p_precision) uses it when
 * the model came from a file, unless UNETRC_CALIBRATE=interp. */
#ifndef URC_CALIBRATE_H
#define URC_CALIBRATE_H

#include "driver.h"

/* [lo[i], hi[i]] = [min(0, min x), max(0, max x)] of the value named like w[i] (a value of the graph built
 * from `path` with `o`'s import and target options) over the n samples (one tensor each: the model's single
 * input); [-inf, inf] where not finite. False after reporting (urc_error). */
bool urc_calibrate_compiled(const char *path, const urc_options *o, urc_value *const *w, int nw,
                            urc_tensor *const *samples, int n, double *lo, double *hi);

#endif
