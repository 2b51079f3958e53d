/* consumer_c IN.npy OUT.npy: the model compiled by unetrc_add_model (weights embedded), called from C. */
#include <stdio.h>

#include "seg.h"
#include "unetrc.h"

static _Alignas(64) unsigned char arena[SEG_ARENA_SIZE];
static float input[SEG_IN0_COUNT], output[SEG_OUT0_COUNT];

int main(int argc, char **argv) {
    static const int64_t in_shape[] = SEG_IN0_SHAPE, out_shape[] = SEG_OUT0_SHAPE;
    if (argc != 3) return 2;
    int st = unetrc_npy_read_f32_shape(argv[1], input, in_shape, SEG_IN0_RANK);
    if (st == UNETRC_OK) st = seg_forward(arena, input, output);
    if (st == UNETRC_OK) st = unetrc_npy_write_f32(argv[2], output, out_shape, SEG_OUT0_RANK);
    if (st != UNETRC_OK) fprintf(stderr, "consumer_c: %s\n", unetrc_status_str(st));
    return st == UNETRC_OK ? 0 : 1;
}
