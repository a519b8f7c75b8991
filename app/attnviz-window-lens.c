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

/* Ties a job to the window without keeping a closed window alive: the
 * run it reads, and its cancellable, which is the window's
 * lens_cancellable while it is the job the table shows. */
typedef struct {
  GWeakRef window;
  AttnvizResult *run;
  GCancellable *cancellable;
} Waiter;

static Waiter *
waiter_new (AttnvizWindow *self, AttnvizResult *run)
{
  Waiter *w = g_new0 (Waiter, 1);
  g_weak_ref_init (&w->window, self);
  w->run = run ? g_object_ref (run) : NULL;
  w->cancellable = self->lens_cancellable ? g_object_ref (self->lens_cancellable) : NULL;
  return w;
}

static void
waiter_free (gpointer data)
{
  Waiter *w = data;
  g_weak_ref_clear (&w->window);
  g_clear_object (&w->run);
  g_clear_object (&w->cancellable);
  g_free (w);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Waiter, waiter_free)

/* The window W waits for, while W's job is its current one. */
static AttnvizWindow *
waiter_get (Waiter *w)
{
  AttnvizWindow *self = g_weak_ref_get (&w->window);
  if (self != NULL && (self->lens_cancellable == NULL || self->lens_cancellable != w->cancellable))
    g_clear_object (&self);
  return self;
}

static void
on_lens_progress (double fraction, const char *stage, gpointer user_data)
{
  g_autoptr(AttnvizWindow) self = waiter_get (user_data);

  if (self != NULL && stage != NULL)
    attnviz_lens_table_set_progress (self->lens_table, fraction, stage);
}

static void
on_lens_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(Waiter) w = user_data;
  g_autoptr(GError) error = NULL;

  AttnvizLens *lens = attnviz_lens_job_finish (res, &error);
  g_autoptr(AttnvizWindow) self = waiter_get (w);
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
                          waiter_new (self, NULL), waiter_free, on_lens_done, waiter_new (self, run));
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
