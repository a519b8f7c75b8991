/* attnviz-window-text.c: the input box
 *
 * The text the model runs on: its box, its token count, and Open Text
 * File (win.open-text), which reads a file in the background.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include "attnviz-tokenizer.h"
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

/* Fills the box for OWNER (a model's path, "" for the default text): an
 * edit after it makes the text the user's own. */
void
_attnviz_window_fill_text (AttnvizWindow *self, const char *text, const char *owner)
{
  self->filling_text = TRUE;
  attnviz_window_set_text (self, text);
  self->filling_text = FALSE;
  g_free (self->text_owner);
  self->text_owner = g_strdup (owner);
}

static void
on_text_changed (AttnvizWindow *self)
{
  if (!self->filling_text)
    {
      g_clear_pointer (&self->text_owner, g_free);
      _attnviz_window_follow_continues (self);
    }
}

void
_attnviz_window_text_init (AttnvizWindow *self)
{
  g_signal_connect_swapped (gtk_text_view_get_buffer (self->text_view), "changed",
                            G_CALLBACK (on_text_changed), self);
}

/* Cuts the box's text to at most MAX_TOKENS tokens of the open model
 * (special tokens included), at a token's end; FALSE when it cannot. */
gboolean
_attnviz_window_truncate_text (AttnvizWindow *self, int max_tokens)
{
  g_return_val_if_fail (self->model != NULL, FALSE);
  const AttnvizTokenizer *tokenizer = attnviz_loaded_model_get_model (self->model)->tokenizer;
  g_autofree char *text = _attnviz_window_get_text (self);

  /* A cut can merge tokens differently: cut again until it fits. */
  for (int attempt = 0; attempt < 64; attempt++)
    {
      g_autoptr(GArray) tokens = attnviz_tokenizer_encode (tokenizer, text, -1, TRUE, NULL);
      if (tokens == NULL)
        return FALSE;
      int T = tokens->len;
      if (T <= max_tokens)
        {
          g_autofree char *owner = g_strdup (self->text_owner);
          _attnviz_window_fill_text (self, g_strchomp (text), owner);
          return TRUE;
        }
      /* Special tokens a run adds at the end ([SEP], EOS) stay. */
      int trailing = 0;
      while (trailing < T && g_array_index (tokens, AttnvizToken, T - 1 - trailing).special)
        trailing++;
      int i = MIN (max_tokens - trailing, T) - 1;
      while (i >= 0 && g_array_index (tokens, AttnvizToken, i).special)
        i--;
      if (i < 0)
        return FALSE;
      guint32 end = g_array_index (tokens, AttnvizToken, i).end;
      if (end >= strlen (text))
        return FALSE;
      text[end] = '\0';
    }
  return FALSE;
}

/* Plain text by type or by a common extension; an image is not text
 * whatever the type sniffing says. */
GtkFileFilter *
_attnviz_window_text_filter (void)
{
  static const char *const suffixes[] = { "txt", "text", "md", "markdown", "rst", "csv", "tsv", "json",
                                          "jsonl", "log", "tex", "html", "xml", "py", "c", "h" };
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, "Text files");
  gtk_file_filter_add_mime_type (filter, "text/plain");
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    gtk_file_filter_add_suffix (filter, suffixes[i]);
  return filter;
}

/* Where Open Text File starts: the last text file's folder, else
 * Documents, else home. */
char *
_attnviz_window_text_folder (AttnvizWindow *self)
{
  if (self->text_folder != NULL && g_file_test (self->text_folder, G_FILE_TEST_IS_DIR))
    return g_strdup (self->text_folder);
  const char *documents = g_get_user_special_dir (G_USER_DIRECTORY_DOCUMENTS);
  if (documents != NULL && g_file_test (documents, G_FILE_TEST_IS_DIR))
    return g_strdup (documents);
  return g_strdup (g_get_home_dir ());
}

/* The run's token count; when the box holds another text (or none), the
 * tokens shown are the last run's, dimmed, and the count says so. */
void
_attnviz_window_update_token_count (AttnvizWindow *self)
{
  AttnvizResult *run = attnviz_view_state_get_run (self->state);
  g_autofree char *text = _attnviz_window_get_text (self);
  g_autofree char *ran = run ? g_strstrip (g_strdup (attnviz_result_get_text (run))) : NULL;
  /* A file's attention with no text to give back (another framework's
   * tensor): its tokens are the file's, whatever the box holds. */
  gboolean from_file = run != NULL && self->session != NULL && self->model == NULL && *ran == '\0';
  gboolean edited = run != NULL && !from_file && g_strcmp0 (g_strstrip (text), ran) != 0;
  int T = run ? attnviz_result_get_n_tokens (run) : 0;
  g_autofree char *count = run == NULL ? g_strdup ("")
    : attnviz_result_is_seq2seq (run) ? g_strdup_printf ("%d source · %d target", attnviz_result_get_recording (run)->S, T)
    : g_strdup_printf ("%d", T);
  g_autofree char *shown = edited ? g_strdup_printf ("%s · last run's text", count)
                           : from_file ? g_strdup_printf ("%s · from the file", count) : g_strdup (count);

  gtk_label_set_text (self->token_count, shown);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->token_count),
                               edited ? "The text was edited since the last run: these are the tokens of the "
                                        "text that ran, not of the text in the box" : NULL);
  GtkWidget *strips[] = { GTK_WIDGET (self->token_strip), GTK_WIDGET (self->source_strip),
                          GTK_WIDGET (self->predictions_strip) };
  for (guint i = 0; i < G_N_ELEMENTS (strips); i++)
    {
      if (edited)
        gtk_widget_add_css_class (strips[i], "stale");
      else
        gtk_widget_remove_css_class (strips[i], "stale");
    }
}

gboolean
attnviz_window_get_truncate_offered (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), FALSE);
  return gtk_widget_get_visible (self->truncate_button);
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
  g_free (self->text_folder);
  self->text_folder = g_path_get_dirname (path);
  attnviz_text_file_read_async (path, NULL, on_text_file_read, request);
}

static void
on_text_dialog_response (GtkNativeDialog *dialog, int response, AttnvizWindow *self)
{
  g_autofree char *path = NULL;
  if (_attnviz_window_chooser_path (dialog, response, &path))
    {
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
  g_autoptr(GtkFileFilter) text = _attnviz_window_text_filter ();
  g_autoptr(GtkFileFilter) all = _attnviz_window_make_filter ("All files", NULL, "*", NULL);
  gtk_file_chooser_add_filter (fc, text);
  gtk_file_chooser_add_filter (fc, all);
  /* Not Recent, which lists model folders. */
  g_autofree char *folder = _attnviz_window_text_folder (self);
  g_autoptr(GFile) where = g_file_new_for_path (folder);
  gtk_file_chooser_set_current_folder (fc, where, NULL);
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
