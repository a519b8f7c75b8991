/* attnviz-fileutil.h: small file helpers shared by every writer */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes LEN bytes to PATH through a temporary file in the same folder,
 * fsynced and renamed over PATH, so a reader never sees a half-written file
 * and a full disk leaves the old file intact.  Errors name PATH. */
gboolean attnviz_file_set_contents (const char *path,
                                    const void *data,
                                    gsize len,
                                    GError **error);

/* A streaming variant for outputs too large to build in memory: open
 * returns a FILE* on a temporary name; commit flushes, fsyncs, closes and
 * renames (and removes the temporary on failure); abort removes it. */
typedef struct _AttnvizAtomicFile AttnvizAtomicFile;
AttnvizAtomicFile *attnviz_atomic_file_open (const char *path, GError **error);
FILE *attnviz_atomic_file_get_stream (AttnvizAtomicFile *self);
gboolean attnviz_atomic_file_commit (AttnvizAtomicFile *self, GError **error);
void attnviz_atomic_file_abort (AttnvizAtomicFile *self);

G_END_DECLS
