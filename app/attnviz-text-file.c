/* attnviz-text-file.c: a text to run the model on, read from a file */
#define G_LOG_DOMAIN "attnviz-text-file"
#include "config.h"

#include <string.h>

#include "attnviz-fileutil.h"
#include "attnviz-text-file.h"

/* ERROR's message made one printable line (a file name may hold a
 * newline or an escape sequence). */
static void
make_printable (GError *error)
{
  if (error == NULL)
    return;
  char *line = attnviz_printable_line (error->message);
  g_free (error->message);
  error->message = line;
}

char *
attnviz_text_file_read (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr(GError) local = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;
  if (!attnviz_read_regular (path, ATTNVIZ_TEXT_FILE_MAX_BYTES, "a text file", &contents, &len, &local))
    {
      make_printable (local);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  const char *end = NULL;
  if (!g_utf8_validate (contents, len, &end))
    {
      g_autofree char *name = attnviz_printable_line (path);
      if (end != NULL && *end == '\0' && (gsize) (end - contents) < len)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                     "%s: holds a NUL byte at byte %" G_GSIZE_FORMAT ", so it is not a text file",
                     name, (gsize) (end - contents));
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                     "%s: is not UTF-8 text (an invalid sequence at byte %" G_GSIZE_FORMAT ")",
                     name, (gsize) (end - contents));
      return NULL;
    }
  return g_steal_pointer (&contents);
}

static void
read_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;
  char *text = attnviz_text_file_read (task_data, &error);

  if (text != NULL)
    g_task_return_pointer (task, text, g_free);
  else
    g_task_return_error (task, error);
}

void
attnviz_text_file_read_async (const char *path, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, attnviz_text_file_read_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, read_thread);
  g_object_unref (task);
}

char *
attnviz_text_file_read_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
