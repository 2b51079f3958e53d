/* cmd_segment.h: `unetrc segment` (cmd_segment.c; docs/segment.md). */
#ifndef URC_CMD_SEGMENT_H
#define URC_CMD_SEGMENT_H

#include "cli.h"

/* `unetrc segment MODEL.onnx --image F... --output L.nii.gz ...`, parsed by
 * urc_cli_parse. Returns the exit status. */
int urc_cmd_segment(urc_cli *c);

#endif
