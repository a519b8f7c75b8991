/* attnviz-generate-job.c: Continue, in a worker thread */
#define G_LOG_DOMAIN "attnviz-generate-job"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-generate-job.h"
#include "attnviz-predictions.h"
#include "attnviz-run-private.h"

/* The progress bar's share of writing the tokens; the run that records
 * takes the rest. */
#define SHARE_WRITING 0.8

typedef struct {
  AttnvizLoadedModel *model;
  GArray *prompt_tokens;         /* AttnvizToken, from FROM; NULL: tokenize text */
  int first_written;             /* FROM's first written token when it goes on from FROM's; -1: none */
  char *text;
  AttnvizGenerateOptions options;
  GMainContext *context;         /* where progress goes */
  AttnvizRunProgressFunc progress;
  gpointer progress_data;
  GDestroyNotify progress_destroy;
  int n_layer;                   /* worker only */
} JobData;

typedef struct {
  AttnvizResult *result;
  char *generated;
  int n_new;                     /* tokens this job wrote */
} JobOutput;

static void
job_data_free (JobData *d)
{
  attnviz_loaded_model_unref (d->model);
  g_clear_pointer (&d->prompt_tokens, g_array_unref);
  g_free (d->text);
  g_main_context_unref (d->context);
  if (d->progress_destroy)
    d->progress_destroy (d->progress_data);
  g_free (d);
}

static void
job_output_free (JobOutput *out)
{
  g_clear_object (&out->result);
  g_free (out->generated);
  g_free (out);
}

static void
report (GTask *task, double fraction, char *stage /* owned */)
{
  JobData *d = g_task_get_task_data (task);
  attnviz_run_post_progress (d->context, task, d->progress, d->progress_data, fraction, stage);
}

static void
on_token (int done, int most, gpointer user_data)
{
  report (user_data, SHARE_WRITING * done / MAX (most, 1), g_strdup_printf ("Wrote %d of %d tokens…", done, most));
}

static void
on_layer (double fraction, gpointer user_data)
{
  JobData *d = g_task_get_task_data (user_data);
  int done = MIN ((int) floor (fraction * (d->n_layer + 1) + 1e-9), d->n_layer);
  report (user_data, SHARE_WRITING + (1 - SHARE_WRITING) * fraction,
          done >= d->n_layer ? g_strdup ("Drawing…") : g_strdup_printf ("Running layer %d of %d…", done + 1, d->n_layer));
}

static void
generate_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  JobData *d = task_data;
  const AttnvizModel *model = attnviz_loaded_model_get_model (d->model);
  const AttnvizConfig *config = &model->config;
  g_autoptr(GError) error = NULL;

  if (!config->causal || config->encoder_decoder || model->lm_head.w.data == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               "Only a causal language model can continue a text; this one %s.",
                               config->encoder_decoder ? "is an encoder-decoder"
                               : !config->causal ? "reads in both directions" : "has no output layer");
      return;
    }
  if (model->tokenizer == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "This model has no tokenizer, so it cannot read text: %s",
                               model->tokenizer_error ? model->tokenizer_error : "no tokenizer files");
      return;
    }

  g_autoptr(GArray) tokens = d->prompt_tokens ? g_array_ref (d->prompt_tokens)
                                              : attnviz_tokenizer_encode (model->tokenizer, d->text, -1, TRUE, &error);
  if (tokens == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "Could not split the text into tokens: %s", error->message);
      return;
    }
  int n_prompt = tokens->len, max_positions = attnviz_config_max_positions (config);
  if (n_prompt == 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "The text gives no tokens to continue.");
      return;
    }
  if (n_prompt >= max_positions)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                               "The text is %d tokens long and this model reads at most %d: "
                               "there is no room to write more.", n_prompt, max_positions);
      return;
    }

  g_autoptr(GArray) ids = g_array_sized_new (FALSE, FALSE, sizeof (gint32), n_prompt + d->options.max_new);
  for (int t = 0; t < n_prompt; t++)
    g_array_append_val (ids, g_array_index (tokens, AttnvizToken, t).id);

  /* llama2.c stops at BOS, Hugging Face at EOS: either ends the text. */
  AttnvizGenerateOptions go = d->options;
  go.eos_id = config->eos_id >= 0 ? config->eos_id : attnviz_tokenizer_get_eos_id (model->tokenizer);
  go.stop_id = attnviz_tokenizer_get_bos_id (model->tokenizer);
  go.bos_id = -1;
  go.cancellable = cancellable;
  go.progress = on_token;
  go.progress_data = task;
  report (task, 0.0, g_strdup_printf ("Wrote 0 of %d tokens…", MIN (go.max_new, max_positions - n_prompt)));
  if (!attnviz_generate (model, ids, &go, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, error->domain, error->code, "Could not continue the text: %s", error->message);
      return;
    }
  int n_new = ids->len - n_prompt;
  if (n_new == 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "The model ended the text at once (it wrote its end-of-text token): "
                               "nothing to add. Try sampling with a temperature, or another seed.");
      return;
    }

  /* The written tokens after the text, each one's bytes made valid on
   * its own so that a span never cuts a character. */
  g_autofree char *generated = NULL;
  g_autoptr(GArray) written = attnviz_generate_target_tokens (model->tokenizer, (gint32 *) ids->data + n_prompt,
                                                              n_new, &generated);
  gsize offset = strlen (d->text);
  g_autofree char *text = g_strconcat (d->text, generated, NULL);
  g_autoptr(GArray) all = g_array_sized_new (FALSE, FALSE, sizeof (AttnvizToken), ids->len);
  g_array_append_vals (all, tokens->data, n_prompt);
  for (int i = 0; i < n_new; i++)
    {
      AttnvizToken tok = g_array_index (written, AttnvizToken, i);
      tok.start += offset;
      tok.end += offset;
      g_array_append_val (all, tok);
    }

  /* The run that records: the prompt and what was written, as one text. */
  d->n_layer = config->n_layer;
  report (task, SHARE_WRITING, g_strdup_printf ("Running layer 1 of %d…", config->n_layer));
  g_autofree guint8 *classes = NULL;
  g_autoptr(AttnvizMeasuresAcc) acc = _attnviz_run_measures_new (model, text, all, (gint32 *) ids->data, &classes);
  AttnvizRunOptions options = {
    .measures = acc,
    .cancellable = cancellable,
    .progress = on_layer,
    .progress_data = task,
  };
  AttnvizRecording *rec = attnviz_forward (model, (gint32 *) ids->data, ids->len, &options, &error);
  if (rec == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, error->domain, error->code, "The run failed: %s", error->message);
      return;
    }
  JobOutput *out = g_new0 (JobOutput, 1);
  out->result = _attnviz_run_make_result (d->model, text, all, (gint32 *) ids->data, rec);
  _attnviz_run_measures_keep (out->result, model, acc);
  /* Every written token is marked, a second Continue's and the first's,
   * as the text box marks them all. */
  attnviz_result_set_first_generated (out->result, d->first_written >= 0 ? d->first_written : n_prompt);
  out->n_new = n_new;
  out->generated = g_steal_pointer (&generated);
  g_task_return_pointer (task, out, (GDestroyNotify) job_output_free);
}

void
attnviz_generate_job_async (AttnvizLoadedModel *model,
                            AttnvizResult *from,
                            const char *text,
                            const AttnvizGenerateOptions *options,
                            GCancellable *cancellable,
                            AttnvizRunProgressFunc progress,
                            gpointer progress_data,
                            GDestroyNotify progress_destroy,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_return_if_fail (model != NULL);
  g_return_if_fail (text != NULL);
  g_return_if_fail (options != NULL && options->max_new > 0);

  JobData *d = g_new0 (JobData, 1);
  d->model = attnviz_loaded_model_ref (model);
  d->text = g_strdup (text);
  d->first_written = -1;
  d->options = (AttnvizGenerateOptions) {
    .max_new = options->max_new,
    .temperature = MAX (options->temperature, 0.0),
    .top_k = MAX (options->top_k, 0),
    .top_p = options->top_p,
    .seed = options->seed,
  };
  /* FROM's tokens, when it is a run of this text with its spans. */
  int T = from ? attnviz_result_get_n_tokens (from) : 0;
  if (from != NULL && T > 0 && attnviz_result_get_token (from, 0) != NULL
      && g_strcmp0 (attnviz_result_get_text (from), text) == 0 && !attnviz_result_is_seq2seq (from))
    {
      d->prompt_tokens = g_array_sized_new (FALSE, FALSE, sizeof (AttnvizToken), T);
      for (int t = 0; t < T; t++)
        g_array_append_val (d->prompt_tokens, *attnviz_result_get_token (from, t));
      d->first_written = attnviz_result_get_first_generated (from);
    }
  d->context = g_main_context_ref_thread_default ();
  d->progress = progress;
  d->progress_data = progress_data;
  d->progress_destroy = progress_destroy;

  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, attnviz_generate_job_async);
  g_task_set_name (task, "attnviz generate");
  g_task_set_task_data (task, d, (GDestroyNotify) job_data_free);
  g_task_run_in_thread (task, generate_thread);
}

AttnvizResult *
attnviz_generate_job_finish (GAsyncResult *result, char **generated, int *n_new, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  JobOutput *out = g_task_propagate_pointer (G_TASK (result), error);
  if (out == NULL)
    return NULL;
  AttnvizResult *run = g_steal_pointer (&out->result);
  if (generated)
    *generated = g_steal_pointer (&out->generated);
  if (n_new)
    *n_new = out->n_new;
  job_output_free (out);
  return run;
}
