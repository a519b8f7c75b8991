/* attnviz-model-job.c: a worker job that runs a run's model again */
#define G_LOG_DOMAIN "attnviz-model-job"
#include "config.h"

#include "attnviz-model-job.h"

static void
model_job_free (AttnvizModelJob *d)
{
  g_clear_pointer (&d->model, attnviz_loaded_model_unref);
  g_free (d->path);
  g_clear_object (&d->run);
  g_main_context_unref (d->context);
  if (d->progress_destroy)
    d->progress_destroy (d->progress_data);
  g_free (d);
}

GTask *
attnviz_model_job_new (AttnvizLoadedModel *model,
                       const char *path,
                       AttnvizResult *run,
                       GCancellable *cancellable,
                       AttnvizRunProgressFunc progress,
                       gpointer progress_data,
                       GDestroyNotify progress_destroy,
                       GAsyncReadyCallback callback,
                       gpointer user_data,
                       gpointer source_tag,
                       const char *name)
{
  AttnvizModelJob *d = g_new0 (AttnvizModelJob, 1);
  d->model = model ? attnviz_loaded_model_ref (model) : NULL;
  d->path = g_strdup (path);
  d->run = g_object_ref (run);
  d->context = g_main_context_ref_thread_default ();
  d->progress = progress;
  d->progress_data = progress_data;
  d->progress_destroy = progress_destroy;

  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_name (task, name);
  g_task_set_task_data (task, d, (GDestroyNotify) model_job_free);
  return task;
}

void
attnviz_model_job_report (GTask *task, double fraction, char *stage /* owned */)
{
  AttnvizModelJob *d = g_task_get_task_data (task);
  attnviz_run_post_progress (d->context, task, d->progress, d->progress_data, fraction, stage);
}

const AttnvizModel *
attnviz_model_job_get_model (GTask *task, AttnvizModel **own)
{
  AttnvizModelJob *d = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (d->model != NULL)
    return attnviz_loaded_model_get_model (d->model);
  attnviz_model_job_report (task, 0.0, g_strdup ("Loading the model…"));
  if ((*own = attnviz_model_load (d->path, &error)) == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not open the model: %s", error->message);
      return NULL;
    }
  return *own;
}
