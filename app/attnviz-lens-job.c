/* attnviz-lens-job.c: the logit lens of a run, in a worker thread */
#define G_LOG_DOMAIN "attnviz-lens-job"
#include "config.h"

#include "attnviz-model-job.h"
#include "attnviz-forward.h"
#include "attnviz-lens-job.h"




typedef struct {
  GTask *task;
  int n_layer;
} Progress;

/* The forward pass's fraction, from its threads or the worker. */
static void
on_forward_progress (double fraction, gpointer user_data)
{
  const Progress *p = user_data;
  int layer = MIN ((int) (fraction * (p->n_layer + 1)), p->n_layer);
  attnviz_model_job_report (p->task, fraction, g_strdup_printf ("Reading layer %d of %d…", MAX (layer, 1), p->n_layer));
}

static void
job_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  AttnvizModelJob *d = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) own = NULL;
  const AttnvizModel *model;

  if ((model = attnviz_model_job_get_model (task, &own)) == NULL)
    return;

  int T = attnviz_result_get_n_tokens (d->run);
  g_autofree gint32 *ids = g_new (gint32, MAX (T, 1));
  for (int t = 0; t < T; t++)
    ids[t] = attnviz_result_get_token_id (d->run, t);
  Progress p = { task, model->config.n_layer };
  AttnvizRunOptions opt = {
    .record_none = TRUE,
    .logit_lens = TRUE,
    .top_k = ATTNVIZ_LENS_JOB_TOP_K,
    .cancellable = cancellable,
    .progress = on_forward_progress,
    .progress_data = &p,
  };
  attnviz_model_job_report (task, 0.0, g_strdup ("Reading the layers…"));
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &opt, &error);
  if (rec == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, error->domain, error->code, "The logit lens failed: %s", error->message);
      return;
    }
  if (rec->lens_layers == 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               "The logit lens needs an output layer: this model has none.");
      return;
    }

  AttnvizLens *lens = g_new0 (AttnvizLens, 1);
  lens->n_layer = rec->lens_layers;
  lens->T = T;
  lens->K = rec->top_k;
  lens->ids = g_steal_pointer (&rec->lens_topk_ids);
  lens->probs = g_steal_pointer (&rec->lens_topk_probs);
  gsize n = (gsize) lens->n_layer * T * lens->K;
  lens->texts = g_new0 (char *, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    lens->texts[i] = attnviz_tokenizer_token_display_text (model->tokenizer, NULL, NULL, lens->ids[i]);
  attnviz_model_job_report (task, 1.0, g_strdup ("Done"));
  g_task_return_pointer (task, lens, (GDestroyNotify) attnviz_lens_free);
}

void
attnviz_lens_job_async (AttnvizLoadedModel *model,
                        const char *path,
                        AttnvizResult *run,
                        GCancellable *cancellable,
                        AttnvizRunProgressFunc progress,
                        gpointer progress_data,
                        GDestroyNotify progress_destroy,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_return_if_fail (model != NULL || path != NULL);
  g_return_if_fail (ATTNVIZ_IS_RESULT (run));

  g_autoptr(GTask) task = attnviz_model_job_new (model, path, run, cancellable, progress, progress_data,
                                                 progress_destroy, callback, user_data, attnviz_lens_job_async, "attnviz logit lens");
  g_task_run_in_thread (task, job_thread);
}

AttnvizLens *
attnviz_lens_job_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
