/* attnviz-window-jobs.c: opening a model and running it
 *
 * Opening and running happen in attnviz_run_async () workers; each request
 * carries a generation number, so a result that arrives after a newer
 * request (or a cancel) is dropped, never shown over a newer one.  Errors
 * go to a banner in the window; the previous result stays, dimmed.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include "attnviz-run-result.h"
#include "attnviz-window-private.h"

static void
set_model (AttnvizWindow *self, AttnvizLoadedModel *model)
{
  if (model == self->model)
    return;
  gboolean another = self->model != NULL;
  g_clear_pointer (&self->model, attnviz_loaded_model_unref);
  g_clear_pointer (&self->session, attnviz_session_free);
  self->model = attnviz_loaded_model_ref (model);

  g_autofree char *details = attnviz_loaded_model_describe (model);
  gtk_label_set_text (self->model_label, attnviz_loaded_model_get_name (model));
  gtk_label_set_text (self->model_details, details);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->model_label), attnviz_loaded_model_get_path (model));
  adw_view_switcher_title_set_subtitle (self->switcher_title, attnviz_loaded_model_get_name (model));
  g_autofree char *title = g_strdup_printf ("%s — attnviz", attnviz_loaded_model_get_name (model));
  gtk_window_set_title (GTK_WINDOW (self), title);

  attnviz_recent_add (attnviz_loaded_model_get_path (model));
  _attnviz_window_rebuild_recent_menu (self);

  /* The presets that apply depend on the model (RoPE's base, its heads). */
  const AttnvizConfig *config = &attnviz_loaded_model_get_model (model)->config;
  attnviz_variant_editor_set_config (self->editor_a, config);
  attnviz_variant_editor_set_config (self->editor_b, config);
  if (another)
    _attnviz_window_reset_variants (self);
  attnviz_token_counter_set_model (self->token_counter, model);
  _attnviz_window_update_marks (self);
  _attnviz_window_update_samples (self);
  if (config->encoder_decoder && self->compare)
    attnviz_window_set_compare (self, FALSE);
  _attnviz_window_update_checkpoints (self);
}

/* ---- Opening and running -------------------------------------------------- */

JobRef *
_attnviz_window_job_ref_new (AttnvizWindow *self)
{
  JobRef *ref = g_new0 (JobRef, 1);
  g_weak_ref_init (&ref->window, self);
  ref->generation = self->generation;
  return ref;
}

void
_attnviz_window_job_ref_free (gpointer data)
{
  JobRef *ref = data;
  g_weak_ref_clear (&ref->window);
  g_free (ref);
}

/* The window for REF, or NULL when it is gone or REF is not its latest. */
AttnvizWindow *
_attnviz_window_job_ref_get (JobRef *ref)
{
  AttnvizWindow *self = g_weak_ref_get (&ref->window);
  if (self != NULL && self->generation != ref->generation)
    g_clear_object (&self);
  return self;
}

void
_attnviz_window_on_job_progress (double fraction, const char *stage, gpointer user_data)
{
  g_autoptr(AttnvizWindow) self = _attnviz_window_job_ref_get (user_data);

  if (self == NULL || !self->busy)
    return;
  gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  gtk_progress_bar_set_text (self->progress_bar, stage);
}

static void
on_job_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  JobRef *ref = user_data;
  g_autoptr(AttnvizLoadedModel) model = NULL;
  g_autoptr(AttnvizResult) result = NULL;
  g_autoptr(AttnvizResult) comparison = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok = attnviz_run_compare_finish (res, &model, &result, &comparison, &error);
  g_autoptr(AttnvizWindow) self = _attnviz_window_job_ref_get (ref);

  _attnviz_window_job_ref_free (ref);
  if (self == NULL)
    return;   /* a newer request, or a cancel, took over */

  g_clear_pointer (&self->loading_path, g_free);
  g_clear_object (&self->cancellable);
  self->busy = FALSE;

  if (!ok)
    {
      /* Only a failed run of the model shown leaves its run out of date; a
       * file that failed to open leaves the run shown as valid as it was. */
      gboolean rerun_failed = model != NULL && model == self->model;
      /* The model may have loaded even though its run failed: nothing
       * of the last model stays. */
      if (model != NULL && model != self->model)
        {
          _attnviz_window_set_comparison (self, NULL);
          _attnviz_window_set_run (self, NULL);
          g_clear_object (&self->final_run);
        }
      if (model != NULL)
        set_model (self, model);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          gboolean stale = rerun_failed && attnviz_view_state_get_run (self->state) != NULL;
          g_autofree char *message = stale
            ? g_strdup_printf ("%s\nThe views show the last run, which is out of date.", error->message)
            : g_strdup (error->message);
          _attnviz_window_show_error (self, message);
          _attnviz_window_set_stale (self, stale);
          /* Too long for a learned position table: offer the part that fits. */
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE) && self->model != NULL)
            {
              int n = attnviz_config_max_positions (&attnviz_loaded_model_get_model (self->model)->config);
              g_autofree char *label = g_strdup_printf ("_Truncate to %d Tokens and Run", n);
              gtk_button_set_label (GTK_BUTTON (self->truncate_button), label);
              gtk_widget_set_visible (self->truncate_button, TRUE);
            }
        }
      _attnviz_window_update_state (self);
      g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_BUSY]);
      g_signal_emit (self, _attnviz_window_signals[RUN_FINISHED], 0, FALSE);
      return;
    }

  gboolean new_model = model != self->model;
  if (new_model)
    {
      /* Opening a model without a text to run: nothing of the last model stays. */
      _attnviz_window_set_comparison (self, NULL);
      if (result == NULL)
        {
          _attnviz_window_set_run (self, NULL);
          g_clear_object (&self->final_run);
        }
    }
  set_model (self, model);
  _attnviz_window_dismiss_error (self);
  _attnviz_window_set_stale (self, FALSE);
  if (result != NULL)
    {
      gboolean first = attnviz_view_state_get_result (self->state) == NULL || new_model;
      gboolean first_comparison = comparison != NULL && (self->comparison == NULL || new_model);
      /* The model's own run: the last mark of the training-step slider,
       * whose other marks now run this input. */
      g_set_object (&self->final_run, result);
      _attnviz_window_forget_continues (self);
      g_hash_table_remove_all (self->checkpoint_runs);
      _attnviz_window_cancel_checkpoint_job (self);
      if (self->checkpoints->len > 1)
        {
          const AttnvizCheckpoint *last = &g_array_index (self->checkpoints, AttnvizCheckpoint,
                                                          self->checkpoints->len - 1);
          attnviz_run_result_set_step (ATTNVIZ_RUN_RESULT (result), last->step);
          self->checkpoint = self->checkpoints->len - 1;
          gtk_adjustment_set_value (self->checkpoint_adjustment, self->checkpoint);
        }
      _attnviz_window_set_run (self, result);
      /* A single run leaves no comparison of an older text behind. */
      _attnviz_window_set_comparison (self, comparison);
      /* The model view first: every head at a glance (for a comparison,
       * every head's change). */
      if (first_comparison)
        adw_view_stack_set_visible_child_name (self->view_stack, "changes");
      else if (first && comparison == NULL)
        adw_view_stack_set_visible_child_name (self->view_stack, "grid");
      _attnviz_window_focus_view (self);
    }
  _attnviz_window_update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_BUSY]);
  g_signal_emit (self, _attnviz_window_signals[RUN_FINISHED], 0, TRUE);
}

/* Starts loading PATH (unless it is the open model) and, with TEXT, a run;
 * whatever was in flight is cancelled. */
static void
start_job (AttnvizWindow *self, const char *path, const char *text)
{
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->generation++;

  AttnvizLoadedModel *model = NULL;
  if (self->model != NULL && g_strcmp0 (attnviz_loaded_model_get_path (self->model), path) == 0)
    {
      model = self->model;
      g_clear_pointer (&self->loading_path, g_free);
    }
  else if (g_strcmp0 (self->loading_path, path) != 0)
    {
      g_free (self->loading_path);
      self->loading_path = g_strdup (path);
    }

  g_clear_handle_id (&self->rerun_source, g_source_remove);
  /* The text now belongs to this model: opening a demo may replace it. */
  if (text != NULL)
    {
      g_free (self->text_owner);
      self->text_owner = g_strdup (path);
    }
  _attnviz_window_set_busy (self, TRUE);
  _attnviz_window_update_state (self);
  /* In compare mode a text runs under A and B (a model only opening does not). */
  gboolean compare = self->compare && text != NULL;
  attnviz_run_compare_async (path, model, text,
                             compare ? attnviz_variant_editor_get_spec (self->editor_a) : NULL,
                             compare ? attnviz_variant_editor_get_spec (self->editor_b) : NULL,
                             self->cancellable,
                             _attnviz_window_on_job_progress, _attnviz_window_job_ref_new (self), _attnviz_window_job_ref_free,
                             on_job_done, _attnviz_window_job_ref_new (self));
}

void
attnviz_window_open (AttnvizWindow *self, const char *path)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  if (_attnviz_window_is_session_path (path))
    {
      attnviz_window_open_session (self, path, NULL, NULL);
      return;
    }
  g_autofree char *path_copy = g_strdup (path);
  _attnviz_window_demo_fill (self, path_copy);
  g_autofree char *text = _attnviz_window_get_text (self);
  start_job (self, path_copy, _attnviz_window_text_is_blank (text) ? NULL : text);
}

void
attnviz_window_run (AttnvizWindow *self)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));

  const char *path = self->loading_path ? self->loading_path
                   : self->model ? attnviz_loaded_model_get_path (self->model) : NULL;
  if (path == NULL)
    {
      _attnviz_window_show_error (self, "Open a model first: a Hugging Face folder, a .safetensors file or a .gguf file.");
      return;
    }
  g_autofree char *text = _attnviz_window_get_text (self);
  if (_attnviz_window_text_is_blank (text))
    {
      _attnviz_window_show_error (self, "Write a text to run the model on.");
      return;
    }
  g_autofree char *path_copy = g_strdup (path);
  start_job (self, path_copy, text);
}

void
_attnviz_window_cancel_job (AttnvizWindow *self)
{
  if (!self->busy)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  /* The worker stops at its next check; its outcome is dropped. */
  self->generation++;
  g_clear_pointer (&self->loading_path, g_free);
  _attnviz_window_set_busy (self, FALSE);
  _attnviz_window_show_toast (self, "Run cancelled");
}


/* RUN's attentions, its tokens and its output, in every view. */
void
_attnviz_window_set_run (AttnvizWindow *self, AttnvizResult *run)
{
  AttnvizResult *old = attnviz_view_state_get_run (self->state);
  int old_step = old ? attnviz_result_get_step (old) : -1;
  if (run == old)
    return;

  g_object_freeze_notify (G_OBJECT (self));
  gboolean seq2seq = run != NULL && attnviz_result_is_seq2seq (run);
  /* A selected token belongs to its text: another text's token N is
   * another token (a checkpoint of the same text keeps it). */
  if (old != NULL && run != NULL && g_strcmp0 (attnviz_result_get_text (old), attnviz_result_get_text (run)) != 0)
    {
      attnviz_view_state_set_selected_token (self->state, -1);
      attnviz_view_state_set_selected_source (self->state, -1);
    }
  attnviz_view_state_set_run (self->state, run);
  gtk_widget_set_visible (self->source_box, seq2seq);
  gtk_widget_set_visible (self->target_caption, seq2seq);
  gtk_widget_set_visible (self->output_box, seq2seq);
  if (seq2seq)
    {
      /* A checkpoint read the final model's output; it writes its own. */
      const char *output = attnviz_run_result_get_output (ATTNVIZ_RUN_RESULT (run));
      const char *target = attnviz_run_result_get_target_text (ATTNVIZ_RUN_RESULT (run));
      int step = attnviz_result_get_step (run);
      g_autofree char *shown = output && step >= 0 ? g_strdup_printf ("%s\n(at step %d; its attention is shown "
                                                                     "on the final model’s “%s”)", output, step,
                                                                     target)
                                                   : g_strdup (output ? output : target);
      gtk_label_set_text (self->output_label, shown);
    }

  _attnviz_window_update_token_count (self);
  _attnviz_window_update_step_label (self);
  if ((run ? attnviz_result_get_step (run) : -1) != old_step)
    g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_STEP]);
  g_object_thaw_notify (G_OBJECT (self));
}

AttnvizWindowWaiter *
_attnviz_window_waiter_new (AttnvizWindow *self, AttnvizResult *run, gsize slot)
{
  AttnvizWindowWaiter *w = g_new0 (AttnvizWindowWaiter, 1);
  GCancellable *current = G_STRUCT_MEMBER (GCancellable *, self, slot);
  g_weak_ref_init (&w->window, self);
  w->run = run ? g_object_ref (run) : NULL;
  w->cancellable = current ? g_object_ref (current) : NULL;
  w->slot = slot;
  return w;
}

void
_attnviz_window_waiter_free (gpointer data)
{
  AttnvizWindowWaiter *w = data;
  g_weak_ref_clear (&w->window);
  g_clear_object (&w->run);
  g_clear_object (&w->cancellable);
  g_free (w);
}

AttnvizWindow *
_attnviz_window_waiter_get (AttnvizWindowWaiter *w)
{
  AttnvizWindow *self = g_weak_ref_get (&w->window);
  if (self != NULL)
    {
      GCancellable *current = G_STRUCT_MEMBER (GCancellable *, self, w->slot);
      if (current == NULL || current != w->cancellable)
        g_clear_object (&self);
    }
  return self;
}
