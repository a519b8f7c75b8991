/* attnviz-window-text.c: the input box
 *
 * The text the model runs on: its box, its token count, and Open Text
 * File (win.open-text), which reads a file in the background.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include "attnviz-window-private.h"

char *
_attnviz_window_get_text (AttnvizWindow *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

gboolean
_attnviz_window_text_is_blank (const char *text)
{
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    if (!g_unichar_isspace (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

void
attnviz_window_set_text (AttnvizWindow *self, const char *text)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), text ? text : "", -1);
}

typedef struct {
  GWeakRef window;
  guint generation;
} TextFileRequest;

static void
on_text_file_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  TextFileRequest *request = user_data;
  g_autoptr(AttnvizWindow) self = g_weak_ref_get (&request->window);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = attnviz_text_file_read_finish (res, &error);

  /* Only the last file asked for lands in the box. */
  if (self != NULL && request->generation == self->text_file_generation)
    {
      if (text != NULL)
        {
          _attnviz_window_dismiss_error (self);
          attnviz_window_set_text (self, text);
        }
      else
        _attnviz_window_show_error (self, error->message);
      g_signal_emit (self, _attnviz_window_signals[TEXT_FILE_READ], 0, text != NULL);
    }
  g_weak_ref_clear (&request->window);
  g_free (request);
}

void
attnviz_window_open_text_file (AttnvizWindow *self, const char *path)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  TextFileRequest *request = g_new0 (TextFileRequest, 1);
  g_weak_ref_init (&request->window, self);
  request->generation = ++self->text_file_generation;
  attnviz_text_file_read_async (path, NULL, on_text_file_read, request);
}

static void
on_text_dialog_response (GtkNativeDialog *dialog, int response, AttnvizWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path != NULL)
        attnviz_window_open_text_file (self, path);
      else
        _attnviz_window_show_error (self, "Texts are read from local files; choose one on this computer.");
    }
  g_clear_object (&self->chooser);
}

void
_attnviz_window_show_text_dialog (AttnvizWindow *self)
{
  if (self->chooser != NULL)
    return;

  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new ("Open Text File", GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_OPEN,
                                 "_Open", "_Cancel");
  GtkFileChooser *fc = GTK_FILE_CHOOSER (chooser);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_add_filter (fc, _attnviz_window_make_filter ("Text files", "text/plain", "*.txt", NULL));
  gtk_file_chooser_add_filter (fc, _attnviz_window_make_filter ("All files", NULL, "*", NULL));
  g_signal_connect (chooser, "response", G_CALLBACK (on_text_dialog_response), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

int
attnviz_window_get_text_token_count (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), -1);
  return attnviz_token_counter_get_count (self->token_counter);
}

const char *
attnviz_window_get_text_token_label (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return gtk_label_get_text (self->text_token_count);
}
