/* axpy_kernel.c: an external micro-kernel the generated code of
 * test_extern_call calls through the loop IR's call statement (linked into
 * the harness by its --cflags): y[0..n) = a * x[0..n) + b. */
#include <stdint.h>

void urc_test_axpy(float *y, const float *x, int64_t n, float a, float b);
void urc_test_axpy(float *y, const float *x, int64_t n, float a, float b) {
    for (int64_t i = 0; i < n; i++) y[i] = a * x[i] + b;
}
