/* cmd_segment_missing.c: `unetrc segment` in a build without unetrc_io
 * (nifti_clib, zlib or libpng were not found by CMake). */
#include <stdio.h>

#include "cmd_segment.h"

int urc_cmd_segment(urc_cli *c) {
    (void)c;
    fputs("unetrc: error: segment is not available: this unetrc was built without NIfTI/PNG I/O "
          "(apt-get install libnifti2-dev zlib1g-dev libpng-dev, then rebuild)\n",
          stderr);
    return 1;
}
