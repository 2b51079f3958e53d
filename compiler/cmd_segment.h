/* cmd_segment.h: `unetrc segment` (cmd_segment.c; docs/segment.md). */
#ifndef URC_CMD_SEGMENT_H
#define URC_CMD_SEGMENT_H

/* `unetrc segment MODEL.onnx --image F... --output L.nii.gz ...`: argv as
 * given to main. Returns the exit status. */
int urc_cmd_segment(int argc, char **argv);

#endif
