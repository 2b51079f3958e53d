"""flip_tta.py: flip test-time augmentation as unetrc defines it (MONAI has none), for the
references of tests/sw/make_refs.py and tests/segment/segment_live.py: every subset of the
flipped axes, identity first, then by increasing bit mask (bit a = spatial axis a); the
window is flipped, predicted, flipped back, and the mean of the predictions is taken."""
import torch


def with_flips(f, nd, mask):
    """The predictor f ([N, C, spatial...] -> [N, C', spatial...], nd spatial axes) with the
    flips of the axes in the bit mask; f itself when the mask is 0."""
    subsets = [m for m in range(1 << nd) if m & ~mask == 0]

    def g(x):
        acc = f(x)
        for m in subsets[1:]:
            dims = [2 + a for a in range(nd) if m >> a & 1]
            acc = acc + torch.flip(f(torch.flip(x, dims)), dims)
        return acc / len(subsets)

    return g if mask else f
