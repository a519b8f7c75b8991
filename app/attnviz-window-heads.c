/* attnviz-window-heads.c: the Heads page: its table, its job, its file
 *
 * The head table (ui/attnviz-head-table.c) shows the measures the run
 * gathered; here the window opens a head the table activates, runs the
 * costly measures when the table asks (attnviz-heads-job.c, one job at a
 * time, cancelled by a new run), and writes the table as `attnviz heads`
 * does: CSV, or JSON by the extension.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include "attnviz-heads-job.h"
#include "attnviz-window-private.h"

/* A waiter on the heads job: current while it is self->heads_cancellable's. */
static AttnvizWindowWaiter *
job_waiter (AttnvizWindow *self, AttnvizResult *run)
{
  return _attnviz_window_waiter_new (self, run, G_STRUCT_OFFSET (AttnvizWindow, heads_cancellable));
}

static void
on_heads_progress (double fraction, const char *stage, gpointer user_data)
{
  g_autoptr(AttnvizWindow) self = _attnviz_window_waiter_get (user_data);

  if (self != NULL)
    attnviz_head_table_set_progress (self->head_table, fraction, stage);
}

static void
on_heads_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(AttnvizWindowWaiter) w = user_data;
  g_autoptr(GError) error = NULL;
  AttnvizHeadMeasures *table = NULL, *probe = NULL;
  g_autofree char *note = NULL;

  gboolean ok = attnviz_heads_job_finish (res, &table, &probe, &note, &error);
  g_autoptr(AttnvizWindow) self = _attnviz_window_waiter_get (w);
  if (self == NULL)
    {
      /* Closed, or a newer job (or a new run) owns the table's bar now. */
      g_clear_pointer (&table, attnviz_head_measures_free);
      g_clear_pointer (&probe, attnviz_head_measures_free);
      return;
    }
  g_clear_object (&self->heads_cancellable);
  attnviz_head_table_set_progress (self->head_table, 0.0, NULL);
  if (!ok)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _attnviz_window_show_error (self, error->message);
      return;
    }
  attnviz_head_table_add_measures (self->head_table, w->run, table, probe);
  if (note != NULL)
    _attnviz_window_show_toast (self, note);
}

/* The model RUN was made with: the window's, or a checkpoint's (loaded
 * again by the job), found by the run's own step, since the slider may
 * already be on the next one. */
const char *
_attnviz_window_run_model_path (AttnvizWindow *self, AttnvizResult *run)
{
  int step = attnviz_result_get_step (run);

  for (guint i = 0; step >= 0 && i < self->checkpoints->len; i++)
    {
      const AttnvizCheckpoint *c = &g_array_index (self->checkpoints, AttnvizCheckpoint, i);
      if (c->step == step)
        return c->final ? NULL : c->path;
    }
  return NULL;
}

static void start_heads_job (AttnvizWindow *self, AttnvizResult *run);

/* Past this many tokens the roles and importance ask first: they run the
 * model once a head more, at this length. */
#define HEADS_JOB_ASK_TOKENS 1024

static void
on_heads_job_confirmed (AdwMessageDialog *dialog, const char *response, AttnvizWindow *self)
{
  AttnvizResult *run = attnviz_view_state_get_run (self->state);
  if (g_strcmp0 (response, "compute") == 0 && run != NULL && run == g_object_get_data (G_OBJECT (dialog), "run"))
    start_heads_job (self, run);
}

static void
on_compute (AttnvizHeadTable *table, AttnvizWindow *self)
{
  AttnvizResult *run = attnviz_view_state_get_run (self->state);

  if (run != NULL && self->model == NULL)
    {
      /* a run opened from a file: its measures came from its attention */
      _attnviz_window_show_toast (self, "Roles and importance run the model: open it first");
      return;
    }
  if (run == NULL || attnviz_head_table_get_measures (table) == NULL)
    return;
  int T = attnviz_result_get_n_tokens (run);
  if (T > HEADS_JOB_ASK_TOKENS)
    {
      const AttnvizConfig *c = &attnviz_loaded_model_get_model (self->model)->config;
      int heads = c->n_layer * c->n_head;
      GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), "Compute Roles and Importance?", NULL);
      adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                      "This runs the model about %d more times on %'d tokens (once a head for "
                                      "its importance, and the probe and positional runs): at this length "
                                      "that can take a long while.  Cancel stops it at any time.",
                                      heads + 3, T);
      adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", "_Cancel", "compute", "C_ompute", NULL);
      adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "compute", ADW_RESPONSE_SUGGESTED);
      adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "compute");
      adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      g_object_set_data_full (G_OBJECT (dialog), "run", g_object_ref (run), g_object_unref);
      g_signal_connect (dialog, "response", G_CALLBACK (on_heads_job_confirmed), self);
      gtk_window_present (GTK_WINDOW (dialog));
      return;
    }
  start_heads_job (self, run);
}

static void
start_heads_job (AttnvizWindow *self, AttnvizResult *run)
{
  AttnvizHeadTable *table = self->head_table;
  _attnviz_window_cancel_heads_job (self);
  self->heads_cancellable = g_cancellable_new ();
  attnviz_head_table_set_progress (table, 0.0, "Starting…");
  const char *path = _attnviz_window_run_model_path (self, run);
  attnviz_heads_job_async (path ? NULL : self->model, path, run, self->heads_cancellable, on_heads_progress,
                           job_waiter (self, NULL), _attnviz_window_waiter_free, on_heads_done,
                           job_waiter (self, run));
}

static void
on_cancel (AttnvizHeadTable *table, AttnvizWindow *self)
{
  _attnviz_window_cancel_heads_job (self);
}

void
_attnviz_window_cancel_heads_job (AttnvizWindow *self)
{
  if (self->heads_cancellable != NULL)
    g_cancellable_cancel (self->heads_cancellable);
  g_clear_object (&self->heads_cancellable);
  if (self->head_table != NULL)
    attnviz_head_table_set_progress (self->head_table, 0.0, NULL);
}

static void
on_head_activated (AttnvizHeadTable *table, int layer, int head, AttnvizWindow *self)
{
  _attnviz_window_on_head_activated (NULL, layer, head, self);
}

void
_attnviz_window_heads_init (AttnvizWindow *self)
{
  attnviz_head_table_set_state (self->head_table, self->state);
  g_signal_connect (self->head_table, "head-activated", G_CALLBACK (on_head_activated), self);
  g_signal_connect (self->head_table, "compute", G_CALLBACK (on_compute), self);
  g_signal_connect (self->head_table, "cancel", G_CALLBACK (on_cancel), self);
  /* A new run's table starts without the costly columns: stop the job. */
  g_signal_connect_swapped (self->state, "notify::run", G_CALLBACK (_attnviz_window_cancel_heads_job), self);
}

/* ---- Export ---------------------------------------------------------------- */

char *
_attnviz_window_heads_to_text (AttnvizWindow *self, const char *path, GError **error)
{
  const AttnvizHeadMeasures *table = attnviz_head_table_get_measures (self->head_table);
  g_autofree char *lower = g_ascii_strdown (path, -1);
  gboolean json = g_str_has_suffix (lower, ".json");

  if (table == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "This run has no head measures to export.");
      return NULL;
    }
  if (!json && !g_str_has_suffix (lower, ".csv"))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_FILENAME,
                           "The head table is written as .csv or .json.");
      return NULL;
    }
  return json ? attnviz_head_measures_to_json (table, NULL) : attnviz_head_measures_to_csv (table, NULL);
}

static void
on_save_response (GtkNativeDialog *dialog, int response, AttnvizWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path != NULL)
        attnviz_window_export (self, path);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

void
_attnviz_window_show_heads_export_dialog (AttnvizWindow *self)
{
  if (attnviz_head_table_get_measures (self->head_table) == NULL)
    return;
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new ("Export the Head Table", GTK_WINDOW (self),
                                                               GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "_Cancel");
  g_autoptr(GtkFileFilter) csv = _attnviz_window_make_filter ("CSV", "text/csv", "*.csv", NULL);
  g_autoptr(GtkFileFilter) json = _attnviz_window_make_filter ("JSON", "application/json", "*.json", NULL);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), csv);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), json);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), "heads.csv");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_save_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}
