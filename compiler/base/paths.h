/* paths.h: which file a path given on the command line names, and whether
 * an output's name fits the folder's name length limit.
 *
 * An output is written to a temporary file next to it and renamed into
 * place (urc_outfile_*, base.c): it replaces the directory entry the path
 * names. Two outputs collide when they name the same entry, whatever the
 * spelling ("y.npy", "./y.npy", "sub/../y.npy", a symlinked folder); an
 * output destroys an input when it names the input's entry or, for an
 * input reached through a symlink, the entry of the file it points to. */
#ifndef URC_PATHS_H
#define URC_PATHS_H

#include "base.h"

/* The longest suffix urc_outfile_open adds for the temporary file:
 * ".tmp" + pid (at most 10 digits) + "." + counter (at most 10 digits).
 * Keep in step with base.c. */
#define URC_OUTFILE_TMP_SUFFIX_MAX 25

/* a and b name the same directory entry: the same last component in the
 * same folder (compared by device and inode, else by real path; a folder
 * that cannot be resolved compares as spelled). */
bool urc_same_entry(const char *a, const char *b);

/* Writing `out` would replace the file `in` reads: out names in's entry,
 * or the entry of the file in resolves to through symlinks. */
bool urc_output_replaces_input(const char *out, const char *in);

/* The last component of path ("" for a path ending in '/'). */
const char *urc_path_base(const char *path);

/* The longest file name the folder of `path` accepts (pathconf
 * _PC_NAME_MAX; 255 when it cannot tell). */
long urc_name_max(const char *path);

#endif
