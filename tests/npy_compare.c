/* npy_compare.c: compares two .npy files.
 *
 *   npy_compare REF.npy OUT.npy [TOL [FRAC]]
 *
 * Prints max |ref - out|, max |ref| and their ratio; exits 0 iff the shapes
 * match and max|ref - out| <= TOL * max|ref| (default TOL 1e-4), 1 otherwise
 * (NaN anywhere in OUT fails). With FRAC, at most FRAC * (number of
 * elements) elements may differ by more than TOL * max|ref| (it prints how
 * many do): int8 outputs, where a float32 rounding difference upstream can
 * move a fake-quantised activation across a rounding boundary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/npy.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: npy_compare REF.npy OUT.npy [TOL]\n");
        return 2;
    }
    double tol = argc > 3 ? atof(argv[3]) : 1e-4, frac = argc > 4 ? atof(argv[4]) : -1;
    const char *err;
    urc_tensor *r = urc_npy_read(argv[1], (uint64_t)1 << 34, &err);
    if (!r) {
        fprintf(stderr, "npy_compare: %s: %s\n", argv[1], err);
        return 2;
    }
    urc_tensor *o = urc_npy_read(argv[2], (uint64_t)1 << 34, &err);
    if (!o) {
        fprintf(stderr, "npy_compare: %s: %s\n", argv[2], err);
        return 2;
    }
    if (!urc_shape_eq(&r->shape, &o->shape)) {
        printf("shape mismatch: ref %s, out %s\n", urc_shape_str(&r->shape), urc_shape_str(&o->shape));
        return 1;
    }
    double maxdiff = 0, maxref = 0;
    int64_t n = urc_tensor_numel(r), nan = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = urc_elem_f64(r->dtype, r->data, i), b = urc_elem_f64(o->dtype, o->data, i);
        if (isnan(b) && !isnan(a)) nan++;
        if (fabs(a - b) > maxdiff) maxdiff = fabs(a - b);
        if (fabs(a) > maxref) maxref = fabs(a);
    }
    double rel = maxref > 0 ? maxdiff / maxref : maxdiff;
    bool ok = !nan && rel <= tol;
    if (frac >= 0) {
        int64_t beyond = 0;
        for (int64_t i = 0; i < n; i++) {
            double a = urc_elem_f64(r->dtype, r->data, i), b = urc_elem_f64(o->dtype, o->data, i);
            if (!(fabs(a - b) <= tol * (maxref > 0 ? maxref : 1))) beyond++;
        }
        ok = !nan && (double)beyond <= frac * (double)n;
        printf("%lld of %lld elements beyond the tolerance (at most %.3g allowed)\n", (long long)beyond, (long long)n,
               frac * (double)n);
    }
    printf("%s: max|ref-out| = %.3g, max|ref| = %.3g, relative = %.3g (tolerance %.3g)%s\n", ok ? "ok" : "FAIL",
           maxdiff, maxref, rel, tol, nan ? ", NaN in output" : "");
    return ok ? 0 : 1;
}
