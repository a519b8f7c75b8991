/* attnviz-heads-job.c: the costly per-head measures of a run, in a worker thread */
#define G_LOG_DOMAIN "attnviz-heads-job"
#include "config.h"

#include "attnviz-model-job.h"
#include "attnviz-heads-job.h"
#include "attnviz-measures-run.h"

/* The shares of the progress bar: the probe's run, then the two
 * positional runs, then one run per head. */
#define SHARE_PROBE 0.05
#define SHARE_POSITIONAL 0.15


typedef struct {
  AttnvizHeadMeasures *table;
  AttnvizHeadMeasures *probe;
  char *note;
} JobOutput;


static void
job_output_free (JobOutput *out)
{
  g_clear_pointer (&out->table, attnviz_head_measures_free);
  g_clear_pointer (&out->probe, attnviz_head_measures_free);
  g_free (out->note);
  g_free (out);
}


/* The importance runs' share, from attnviz_measures_run () in the worker. */
typedef struct {
  GTask *task;
  int n_heads;
} ImportanceProgress;

static void
on_importance_progress (double fraction, gpointer user_data)
{
  const ImportanceProgress *p = user_data;
  int done = (int) (fraction * p->n_heads + 0.5);

  attnviz_model_job_report (p->task, SHARE_POSITIONAL + (1.0 - SHARE_POSITIONAL) * fraction,
                            g_strdup_printf ("Importance: %d of %d heads…", MIN (done + 1, p->n_heads), p->n_heads));
}

/* The probe as `attnviz heads --probe repeat` makes it: TransformerLens's
 * 50 random tokens twice, within the model's context. */
static AttnvizHeadMeasures *
measure_probe (const AttnvizModel *model, GCancellable *cancellable, GError **error)
{
  int n_ctx = model->config.n_ctx > 0 ? model->config.n_ctx : 101;
  int length = MAX (1, MIN (50, (n_ctx - 1) / 2));
  int T;
  g_autofree gint32 *ids = attnviz_measures_probe_repeat (model, length, 0, &T, error);
  if (ids == NULL)
    return NULL;
  AttnvizMeasuresOptions opt = { .cancellable = cancellable };
  return attnviz_measures_run (model, ids, T, &opt, NULL, error);
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

  attnviz_model_job_report (task, 0.0, g_strdup ("Roles: a repeated random probe…"));
  JobOutput *out = g_new0 (JobOutput, 1);
  out->probe = measure_probe (model, cancellable, &error);
  if (out->probe == NULL)
    {
      job_output_free (out);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, error->domain, error->code, "The probe failed: %s", error->message);
      return;
    }

  /* The run's own tokens, with the key classes its forward pass had. */
  int T = attnviz_result_get_n_tokens (d->run);
  g_autofree gint32 *ids = g_new (gint32, MAX (T, 1));
  g_autofree gboolean *special = g_new0 (gboolean, MAX (T, 1));
  for (int t = 0; t < T; t++)
    {
      const AttnvizToken *token = attnviz_result_get_token (d->run, t);
      ids[t] = attnviz_result_get_token_id (d->run, t);
      special[t] = token != NULL && token->special;
    }
  gboolean have_tokens = attnviz_result_get_token (d->run, 0) != NULL;
  g_autofree guint8 *classes = attnviz_measures_key_classes (model, ids, T, have_tokens ? special : NULL,
                                                             model->tokenizer ? (char *const *) attnviz_result_get_labels (d->run)
                                                                              : NULL);
  /* Importance is a change in loss: it needs an output layer and a token
   * to predict. */
  gboolean importance = model->config.has_lm_head && model->lm_head.w.data != NULL && T >= 2;
  if (!importance)
    out->note = g_strdup ("Importance needs a loss: this model has no output layer, or the text one token.");
  ImportanceProgress progress = { task, model->config.n_layer * model->config.n_head };
  AttnvizMeasuresOptions opt = {
    .key_class = classes,
    .special = have_tokens ? special : NULL,
    .positional = TRUE,
    .importance = importance,
    .ablate_mode = ATTNVIZ_ABLATE_ZERO,
    .cancellable = cancellable,
    .progress = on_importance_progress,
    .progress_data = &progress,
  };
  attnviz_model_job_report (task, SHARE_PROBE, g_strdup ("Positions: runs without them and shuffled…"));
  out->table = attnviz_measures_run (model, ids, T, &opt, NULL, &error);
  if (out->table == NULL)
    {
      job_output_free (out);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, error->domain, error->code, "Measuring the heads failed: %s",
                                 error->message);
      return;
    }
  attnviz_model_job_report (task, 1.0, g_strdup ("Done"));
  g_task_return_pointer (task, out, (GDestroyNotify) job_output_free);
}

void
attnviz_heads_job_async (AttnvizLoadedModel *model,
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
                                                 progress_destroy, callback, user_data, attnviz_heads_job_async, "attnviz head measures");
  g_task_run_in_thread (task, job_thread);
}

gboolean
attnviz_heads_job_finish (GAsyncResult *result, AttnvizHeadMeasures **table, AttnvizHeadMeasures **probe, char **note,
                          GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  JobOutput *out = g_task_propagate_pointer (G_TASK (result), error);
  if (out == NULL)
    return FALSE;
  *table = g_steal_pointer (&out->table);
  *probe = g_steal_pointer (&out->probe);
  if (note)
    *note = g_steal_pointer (&out->note);
  job_output_free (out);
  return TRUE;
}
