/* attnviz-window-lens.c: the Lens page: the logit lens table and its job
 *
 * The lens table (ui/attnviz-lens-table.c) asks for the lens of the run it
 * shows; here the window runs it (attnviz-lens-job.c, one job at a time,
 * cancelled by a new run or Cancel) and hands the result over.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include "attnviz-lens-job.h"
#include "attnviz-window-private.h"

/* A waiter on the lens job: current while it is self->lens_cancellable's. */
static AttnvizWindowWaiter *
job_waiter (AttnvizWindow *self, AttnvizResult *run)
{
  return _attnviz_window_waiter_new (self, run, G_STRUCT_OFFSET (AttnvizWindow, lens_cancellable));
}

static void
on_lens_progress (double fraction, const char *stage, gpointer user_data)
{
  g_autoptr(AttnvizWindow) self = _attnviz_window_waiter_get (user_data);

  if (self != NULL && stage != NULL)
    attnviz_lens_table_set_progress (self->lens_table, fraction, stage);
}

static void
on_lens_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(AttnvizWindowWaiter) w = user_data;
  g_autoptr(GError) error = NULL;

  AttnvizLens *lens = attnviz_lens_job_finish (res, &error);
  g_autoptr(AttnvizWindow) self = _attnviz_window_waiter_get (w);
  if (self == NULL)
    {
      g_clear_pointer (&lens, attnviz_lens_free);
      return;
    }
  g_clear_object (&self->lens_cancellable);
  attnviz_lens_table_set_progress (self->lens_table, 0.0, NULL);
  if (lens == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _attnviz_window_show_error (self, error->message);
      return;
    }
  attnviz_lens_table_set_lens (self->lens_table, w->run, lens);
}

static void
on_compute (AttnvizLensTable *table, AttnvizWindow *self)
{
  AttnvizResult *run = attnviz_view_state_get_run (self->state);

  if (run == NULL || self->model == NULL)
    return;
  _attnviz_window_cancel_lens_job (self);
  self->lens_cancellable = g_cancellable_new ();
  attnviz_lens_table_set_progress (table, 0.0, "Starting…");
  const char *path = _attnviz_window_run_model_path (self, run);
  attnviz_lens_job_async (path ? NULL : self->model, path, run, self->lens_cancellable, on_lens_progress,
                          job_waiter (self, NULL), _attnviz_window_waiter_free, on_lens_done,
                          job_waiter (self, run));
}

static void
on_cancel (AttnvizLensTable *table, AttnvizWindow *self)
{
  _attnviz_window_cancel_lens_job (self);
}

void
_attnviz_window_cancel_lens_job (AttnvizWindow *self)
{
  if (self->lens_cancellable != NULL)
    g_cancellable_cancel (self->lens_cancellable);
  g_clear_object (&self->lens_cancellable);
  if (self->lens_table != NULL)
    attnviz_lens_table_set_progress (self->lens_table, 0.0, NULL);
}

void
_attnviz_window_lens_init (AttnvizWindow *self)
{
  attnviz_lens_table_set_state (self->lens_table, self->state);
  g_signal_connect (self->lens_table, "compute", G_CALLBACK (on_compute), self);
  g_signal_connect (self->lens_table, "cancel", G_CALLBACK (on_cancel), self);
  /* A new run's table is empty: stop the job. */
  g_signal_connect_swapped (self->state, "notify::run", G_CALLBACK (_attnviz_window_cancel_lens_job), self);
}
