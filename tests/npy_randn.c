/* npy_randn.c: writes a float32 .npy of standard normal samples.
 *
 *   npy_randn LIKE SEED OUT.npy
 *
 * OUT has the shape of LIKE, a .npy or an ONNX TensorProto (.pb: a node test's input); its values are a deterministic function of SEED
 * (xorshift64 and Box-Muller). The calibration samples of --precision int8
 * in tests/precision_test.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include "base/npy.h"
#include "frontend/onnx_import.h"

static double uniform(uint64_t *s) { /* (0, 1) */
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: npy_randn LIKE.npy|LIKE.pb SEED OUT.npy\n");
        return 2;
    }
    const char *err = "not a TensorProto";
    size_t len = strlen(argv[1]);
    urc_tensor *like = len > 3 && !strcmp(argv[1] + len - 3, ".pb") ? urc_onnx_load_tensor(argv[1], (uint64_t)1 << 34)
                                                                    : urc_npy_read(argv[1], (uint64_t)1 << 34, &err);
    if (!like) {
        fprintf(stderr, "npy_randn: %s: %s\n", argv[1], err);
        return 2;
    }
    urc_tensor *t = urc_tensor_new(URC_DT_F32, &like->shape);
    uint64_t s = strtoull(argv[2], NULL, 10) * 0x9e3779b97f4a7c15ULL + 1;
    float *x = t->data;
    for (int64_t i = 0, n = urc_tensor_numel(t); i < n; i++) {
        double r = sqrt(-2 * log(uniform(&s))), a = 6.283185307179586 * uniform(&s);
        x[i] = (float)(r * cos(a));
    }
    urc_strbuf sb = {0};
    urc_npy_format(t, &sb);
    FILE *f = fopen(argv[3], "wb");
    if (!f || fwrite(sb.data, 1, sb.len, f) != sb.len || fclose(f)) {
        fprintf(stderr, "npy_randn: cannot write %s\n", argv[3]);
        return 1;
    }
    return 0;
}
