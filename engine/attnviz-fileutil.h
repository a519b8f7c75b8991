/* attnviz-fileutil.h: small file helpers shared by every writer */
#pragma once

#include <stdio.h>
#include <glib.h>

G_BEGIN_DECLS

/* ---- reading untrusted input ----
 *
 * Every file attnviz reads (model files, tokenizers, configs, texts) goes
 * through these, so each is opened the same way: open (O_RDONLY |
 * O_NONBLOCK | O_NOCTTY | O_CLOEXEC), then fstat on the descriptor, and
 * anything but a regular file (a FIFO, a device, a socket, a folder) is
 * refused before a byte is read, so a FIFO cannot block and /dev/zero
 * cannot be mapped.  Errors are one line naming PATH: "PATH: is a FIFO, not
 * a regular file", "PATH: no such file", "PATH: too many levels of
 * symbolic links", "PATH: 3.2 GB is too large for a tokenizer file (at
 * most 1.0 GB)". */

/* The descriptor (close it), or -1 with an error. */
int attnviz_open_regular (const char *path, GError **error);

/* Maps PATH read-only (an empty file maps to zero bytes). */
GMappedFile *attnviz_map_regular (const char *path, GError **error);

/* Reads all of PATH into a new NUL-terminated buffer; more than MAX_BYTES
 * is an error naming WHAT ("a tokenizer file"). */
gboolean attnviz_read_regular (const char *path,
                               gsize max_bytes,
                               const char *what,
                               char **contents,
                               gsize *length,
                               GError **error);

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
