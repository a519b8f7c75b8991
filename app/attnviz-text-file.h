/* attnviz-text-file.h: a text to run the model on, read from a file
 *
 * The file is hostile input (DESIGN.md, "Untrusted input"): a regular file
 * only (a FIFO is refused before anything blocks on it, as is a device),
 * at most ATTNVIZ_TEXT_FILE_MAX_BYTES, valid UTF-8 without NUL bytes.  An
 * error is one line naming the file, with control characters escaped.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* 4 MiB: some 800 000 tokens of prose, far past what a run can hold, and
 * still a text the input box can show. */
#define ATTNVIZ_TEXT_FILE_MAX_BYTES ((gsize) 4 << 20)

/* The text of PATH, newly allocated, or NULL with ERROR set. */
char *attnviz_text_file_read (const char *path, GError **error);

/* The same in a worker thread. */
void attnviz_text_file_read_async (const char *path, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
char *attnviz_text_file_read_finish (GAsyncResult *result, GError **error);

G_END_DECLS
