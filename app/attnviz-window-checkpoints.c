/* attnviz-window-checkpoints.c: the training-step slider
 *
 * A model folder with checkpoints/step-N/ (left by attnviz train) gets a
 * training-step slider: moving it loads that checkpoint and runs the same
 * input in a worker (an encoder-decoder reads the final model's target,
 * so every step shows the same tokens), keeping the view, layer and head;
 * the runs are kept, so scrubbing back is instant.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include <math.h>

#include "attnviz-predictions.h"
#include "attnviz-run-result.h"
#include "attnviz-window-private.h"

/* The window's subtitle and the slider's label name the step shown. */
void
_attnviz_window_update_step_label (AttnvizWindow *self)
{
  if (self->model == NULL)
    return;
  const char *name = attnviz_loaded_model_get_name (self->model);
  int step = attnviz_view_state_get_run (self->state) ? attnviz_result_get_step (attnviz_view_state_get_run (self->state)) : -1;
  if (self->checkpoints->len > 1)
    {
      const AttnvizCheckpoint *c = &g_array_index (self->checkpoints, AttnvizCheckpoint, self->checkpoint);
      const AttnvizCheckpoint *last = &g_array_index (self->checkpoints, AttnvizCheckpoint,
                                                      self->checkpoints->len - 1);
      gboolean loading = step != c->step;
      g_autofree char *label = g_strdup_printf ("step %d of %d%s", c->step, last->step,
                                                loading ? "…" : c->final ? " (final)" : "");
      gtk_label_set_text (self->step_label, label);
    }
  g_autofree char *subtitle = step >= 0 ? g_strdup_printf ("%s · step %d", name, step) : g_strdup (name);
  adw_view_switcher_title_set_subtitle (self->switcher_title, subtitle);
}

/* Drops the checkpoint run in flight: its result, if it still comes, is
 * not shown. */
void
_attnviz_window_cancel_checkpoint_job (AttnvizWindow *self)
{
  g_cancellable_cancel (self->checkpoint_cancellable);
  g_clear_object (&self->checkpoint_cancellable);
  self->checkpoint_cancellable = g_cancellable_new ();
  self->checkpoint_generation++;
}

void
_attnviz_window_update_checkpoints (AttnvizWindow *self)
{
  g_array_set_size (self->checkpoints, 0);
  g_hash_table_remove_all (self->checkpoint_runs);
  _attnviz_window_cancel_checkpoint_job (self);
  g_clear_object (&self->final_run);
  _attnviz_window_forget_continues (self);
  if (self->model != NULL)
    {
      const AttnvizModel *model = attnviz_loaded_model_get_model (self->model);
      g_autoptr(GArray) list = attnviz_checkpoints_list (attnviz_loaded_model_get_path (self->model), model->dir);
      for (guint i = 0; i < list->len; i++)
        {
          AttnvizCheckpoint c = g_array_index (list, AttnvizCheckpoint, i);
          c.path = g_strdup (c.path);
          g_array_append_val (self->checkpoints, c);
        }
    }

  int n = self->checkpoints->len;
  self->checkpoint = MAX (n - 1, 0);
  gtk_scale_clear_marks (self->checkpoint_scale);
  gtk_adjustment_configure (self->checkpoint_adjustment, self->checkpoint, 0, MAX (n - 1, 0), 1, 1, 0);
  /* A mark at every checkpoint; step numbers where they have room. */
  int every = MAX (1, (n + 7) / 8);
  for (int i = 0; i < n; i++)
    {
      const AttnvizCheckpoint *c = &g_array_index (self->checkpoints, AttnvizCheckpoint, i);
      g_autofree char *label = g_strdup_printf ("%d", c->step);
      gboolean labelled = i == n - 1 || (i % every == 0 && n - 1 - i >= every);
      gtk_scale_add_mark (self->checkpoint_scale, i, GTK_POS_BOTTOM, labelled ? label : NULL);
    }
  _attnviz_window_update_step_label (self);
  _attnviz_window_update_state (self);
}

typedef struct {
  GWeakRef window;
  guint generation;
  char *path;
  int step;
} CheckpointJob;

static void
checkpoint_job_free (CheckpointJob *job)
{
  g_weak_ref_clear (&job->window);
  g_free (job->path);
  g_free (job);
}

static void
on_checkpoint_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CheckpointJob *job = user_data;
  g_autoptr(AttnvizResult) run = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok = attnviz_run_finish (res, NULL, &run, &error);
  g_autoptr(AttnvizWindow) self = g_weak_ref_get (&job->window);

  if (self == NULL || job->generation != self->checkpoint_generation)
    {
      checkpoint_job_free (job);
      return;
    }
  if (!ok)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *message = g_strdup_printf ("Step %d: %s", job->step, error->message);
          _attnviz_window_show_error (self, message);
        }
      checkpoint_job_free (job);
      return;
    }
  attnviz_run_result_set_step (ATTNVIZ_RUN_RESULT (run), job->step);
  /* The final run's text came from Continue: the same tokens here are
   * written ones too, and the Steps page stays. */
  int first = self->final_run ? attnviz_result_get_first_generated (self->final_run) : -1;
  const AttnvizRecording *a = attnviz_result_get_recording (run);
  const AttnvizRecording *b = first >= 0 ? attnviz_result_get_recording (self->final_run) : NULL;
  if (b != NULL && a->T == b->T && memcmp (a->ids, b->ids, a->T * sizeof (gint32)) == 0)
    attnviz_result_set_first_generated (run, first);
  g_hash_table_insert (self->checkpoint_runs, g_strdup (job->path), g_object_ref (run));
  _attnviz_window_set_run (self, run);
  checkpoint_job_free (job);
}

/* Shows checkpoint INDEX: the model's own run for the last one, a kept
 * run, or a new one in a worker. */
static void
show_checkpoint (AttnvizWindow *self, int index)
{
  if (index < 0 || index >= (int) self->checkpoints->len || index == self->checkpoint)
    return;
  self->checkpoint = index;
  /* A slower step still loading is not wanted any more. */
  _attnviz_window_cancel_checkpoint_job (self);

  const AttnvizCheckpoint *c = &g_array_index (self->checkpoints, AttnvizCheckpoint, index);
  AttnvizResult *kept = c->final ? self->final_run : g_hash_table_lookup (self->checkpoint_runs, c->path);
  if (kept != NULL || self->final_run == NULL)
    {
      if (kept != NULL)
        _attnviz_window_set_run (self, kept);
      _attnviz_window_update_step_label (self);
      return;
    }

  /* The same input: an encoder-decoder's decoder reads the final model's
   * target, so that every step shows the same tokens. */
  const AttnvizRecording *rec = attnviz_result_get_recording (self->final_run);
  gboolean seq2seq = attnviz_result_is_seq2seq (self->final_run);
  CheckpointJob *job = g_new0 (CheckpointJob, 1);
  g_weak_ref_init (&job->window, self);
  job->generation = self->checkpoint_generation;
  job->path = g_strdup (c->path);
  job->step = c->step;
  _attnviz_window_update_step_label (self);
  attnviz_run_target_async (c->path, NULL, attnviz_result_get_text (self->final_run),
                            seq2seq ? rec->ids : NULL, seq2seq ? rec->T : 0,
                            self->checkpoint_cancellable, NULL, NULL, NULL, on_checkpoint_done, job);
}

void
_attnviz_window_on_checkpoint_value_changed (GtkAdjustment *adjustment, AttnvizWindow *self)
{
  double value = gtk_adjustment_get_value (adjustment);
  int index = (int) round (value);

  /* The slider stops at the marks only. */
  if (value != index)
    {
      gtk_adjustment_set_value (adjustment, index);
      return;
    }
  show_checkpoint (self, index);
}

int
attnviz_window_get_n_checkpoints (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), 0);
  return self->checkpoints->len > 1 ? (int) self->checkpoints->len : 0;
}

int
attnviz_window_get_step (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), -1);
  return attnviz_view_state_get_run (self->state) ? attnviz_result_get_step (attnviz_view_state_get_run (self->state)) : -1;
}

GtkWidget *
attnviz_window_get_checkpoint_scale (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return GTK_WIDGET (self->checkpoint_scale);
}

const char *
attnviz_window_get_step_label (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return gtk_label_get_text (self->step_label);
}
