// consumer_cxx IN.npy OUT.npy: the same model called from C++ (the headers' extern "C" guards).
#include <cstdio>
#include <vector>

#include "seg.h"
#include "unetrc.h"

alignas(64) static unsigned char arena[SEG_ARENA_SIZE];

int main(int argc, char **argv) {
    static const int64_t in_shape[] = SEG_IN0_SHAPE, out_shape[] = SEG_OUT0_SHAPE;
    if (argc != 3) return 2;
    std::vector<float> input(SEG_IN0_COUNT), output(SEG_OUT0_COUNT);
    int st = unetrc_npy_read_f32_shape(argv[1], input.data(), in_shape, SEG_IN0_RANK);
    if (st == UNETRC_OK) st = seg_forward(arena, input.data(), output.data());
    if (st == UNETRC_OK) st = unetrc_npy_write_f32(argv[2], output.data(), out_shape, SEG_OUT0_RANK);
    if (st != UNETRC_OK) std::fprintf(stderr, "consumer_cxx: %s\n", unetrc_status_str(st));
    return st == UNETRC_OK ? 0 : 1;
}
