/* resize.h: Resize's per-dim taps (resize.c), shared with its gradient
 * (resizegrad.c). */
#ifndef URC_OPS_RESIZE_H
#define URC_OPS_RESIZE_H

#include "common.h"

/* Along one dim, output position o reads the n input positions
 * idx[o*n .. o*n+n) (clamped to [0, in-1]) with weights w[...]; an output
 * position with outside[o] set takes the extrapolation value instead. */
typedef struct urc_resize_taps {
    int n;
    int64_t *idx;
    double *w;
    unsigned char *outside;
} urc_resize_taps;

/* The taps of dim d of Resize node n (in[0] shaped like X, out[0] like Y,
 * attributes resolved by infer); false after reporting. Arrays from malloc. */
bool urc_resize_taps_make(const urc_node *n, int d, urc_resize_taps *t);
void urc_resize_taps_free(urc_resize_taps *t);

#endif
