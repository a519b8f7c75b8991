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

/* Whether anything is at PATH (lstat: a dangling or looping symbolic link
 * counts), so "missing" is told apart from "there but unreadable", which
 * attnviz_open_regular () then names. */
gboolean attnviz_path_present (const char *path);

/* ---- writing outputs ----
 *
 * The policy for every output path (-o, --save-dir, exported figures):
 *   - nothing there: a new file with mode 0666 & ~umask;
 *   - a regular file: replaced atomically (temporary file in the same
 *     folder, fsync, rename), keeping its permission bits;
 *   - a symbolic link: refused, never followed ("OUT: is a symbolic link;
 *     give the path of the file it points to"), so a planted link cannot
 *     redirect a write, and the link is never turned into a file;
 *   - anything else (a FIFO, a device, a socket, a folder where a file
 *     goes): refused, untouched.
 * Errors are one line naming the path.  Temporaries are registered with
 * the signal cleanup below while they exist. */

/* Checks that PATH may be written under that policy, without writing. */
gboolean attnviz_output_check (const char *path, GError **error);
/* The same for a folder written whole (AttnvizAtomicDir, below): absent,
 * or a folder (not a link) holding only names from KNOWN (anything, when
 * KNOWN is NULL: a folder whose files are each replaced on their own). */
gboolean attnviz_output_check_dir (const char *path, const char *const *known, GError **error);

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

/* A folder of outputs written as a whole: open makes a hidden temporary
 * folder beside PATH (".NAME.XXXXXX"), the files go in there
 * (attnviz_atomic_dir_get_path), and commit swaps it into place with one
 * rename (renameat2 RENAME_EXCHANGE when PATH exists), then removes the old
 * folder.  A reader sees the old folder or the new one, never a mix; a full
 * disk or a signal leaves the old one as it was.  An existing PATH must be
 * a folder holding nothing but names from KNOWN (the files such a folder
 * has), so no file of anyone else's is ever removed. */
typedef struct _AttnvizAtomicDir AttnvizAtomicDir;
AttnvizAtomicDir *attnviz_atomic_dir_open (const char *path, const char *const *known, GError **error);
const char *attnviz_atomic_dir_get_path (AttnvizAtomicDir *self);
gboolean attnviz_atomic_dir_commit (AttnvizAtomicDir *self, GError **error);
void attnviz_atomic_dir_abort (AttnvizAtomicDir *self);

/* ---- cleaning up on SIGINT, SIGTERM and SIGHUP ----
 *
 * Temporary outputs are registered while they exist; the handler, which
 * runs even while the main thread is blocked in write(), unlinks them
 * (empties and removes temporary folders) with async-signal-safe calls
 * only, then re-raises the signal with its default action, so the process
 * still dies of it.  Install once at start-up; signals the caller ignores
 * (nohup) stay ignored. */
void attnviz_cleanup_install_handlers (void);
/* A slot to pass to unregister, or -1 when the table is full (the path is
 * then simply not cleaned up on a signal). */
int attnviz_cleanup_register (const char *path, gboolean is_dir);
void attnviz_cleanup_unregister (int slot);

/* ---- messages ---- */

/* S made safe for a one-line message on a terminal: control characters
 * (C0, DEL, C1: an ESC sequence from a file must not reach the terminal)
 * and bytes that are not UTF-8 become \\xNN escapes (a newline \\n), other
 * UTF-8 is kept.  attnviz_printable () also escapes '"' and '\\', for a
 * value from a file quoted inside a message. */
char *attnviz_printable (const char *s);
char *attnviz_printable_line (const char *s);
/* Text of many lines (what `generate` prints) made safe for a terminal:
 * as attnviz_printable_line, but newlines and tabs are kept.  A hostile
 * vocabulary's pieces may hold ESC sequences, and generated text is made
 * of them. */
char *attnviz_printable_text (const char *s);
/* A name from a file (a tensor, a key, an architecture), made fit for a
 * one-line message: control characters and quotes escaped by g_strescape
 * (), bytes above 0x7f kept so UTF-8 stays readable. */
char *attnviz_quote_name (const char *name);
/* "[d0, d1, ...]": a shape in a message. */
char *attnviz_shape_string (const gint64 *shape, int n_dims);

G_END_DECLS
