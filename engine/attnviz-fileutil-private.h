/* attnviz-fileutil-private.h: what attnviz-fileutil.c (files) and
 * attnviz-fileutil-dir.c (folders written as a whole) share */
#pragma once

#include <sys/stat.h>
#include <glib.h>

G_BEGIN_DECLS

/* What is at an output path now. */
typedef enum {
  TARGET_ABSENT,
  TARGET_REGULAR,
  TARGET_DIR,
} TargetKind;

/* The output policy (see attnviz-fileutil.h): FALSE with an error for a
 * link or anything but a regular file (or, with WANT_DIR, a folder).  ST
 * gets the lstat of an existing target. */
gboolean _attnviz_inspect_target (const char *path, gboolean want_dir, TargetKind *kind, struct stat *st,
                                  GError **error);
/* DIR/.BASE.XXXXXXXXXXXX: twelve random letters and digits. */
char *_attnviz_temp_name (const char *dir, const char *base);
/* A temporary file (returns its descriptor) or folder (returns 0) beside
 * the output, entered in the signal cleanup table first; -1 with errno. */
int _attnviz_create_temp (const char *dir, const char *base, gboolean is_dir, int mode, char **path_out,
                          int *slot_out);

G_END_DECLS
