/* attnviz-run.c: open a model and run it on a text, in a worker thread */
#define G_LOG_DOMAIN "attnviz-run"
#include "config.h"

#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-run.h"

struct _AttnvizLoadedModel
{
  gatomicrefcount ref_count;
  AttnvizModel *model;
  char *path;
  char *name;
};

static AttnvizLoadedModel *
attnviz_loaded_model_new (AttnvizModel *model, const char *path)
{
  AttnvizLoadedModel *self = g_new0 (AttnvizLoadedModel, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->model = model;
  self->path = g_strdup (path);
  self->name = attnviz_model_display_name (path);
  return self;
}

AttnvizLoadedModel *
attnviz_loaded_model_ref (AttnvizLoadedModel *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
attnviz_loaded_model_unref (AttnvizLoadedModel *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  attnviz_model_free (self->model);
  g_free (self->path);
  g_free (self->name);
  g_free (self);
}

const AttnvizModel *
attnviz_loaded_model_get_model (AttnvizLoadedModel *self)
{
  return self->model;
}

const char *
attnviz_loaded_model_get_path (AttnvizLoadedModel *self)
{
  return self->path;
}

const char *
attnviz_loaded_model_get_name (AttnvizLoadedModel *self)
{
  return self->name;
}

char *
attnviz_loaded_model_describe (AttnvizLoadedModel *self)
{
  const AttnvizConfig *c = &self->model->config;
  return g_strdup_printf ("%s · %d layers · %d heads · context %d%s",
                          c->model_type ? c->model_type : attnviz_family_to_string (c->family),
                          c->n_layer, c->n_head, c->n_ctx,
                          self->model->tokenizer ? "" : " · no tokenizer");
}

char *
attnviz_model_display_name (const char *path)
{
  static const char *const generic[] = {
    "hf", "model", "models", "weights", "checkpoint", "snapshot", "main", "model.safetensors", NULL,
  };
  g_autofree char *clean = g_canonicalize_filename (path, NULL);
  g_autofree char *base = g_path_get_basename (clean);
  g_autofree char *dir = g_path_get_dirname (clean);
  g_autofree char *parent = g_path_get_basename (dir);

  if (g_str_has_suffix (base, ".safetensors") && !g_str_equal (base, "model.safetensors"))
    base[strlen (base) - strlen (".safetensors")] = '\0';
  if (g_strv_contains (generic, base) && !g_str_equal (parent, "/") && !g_str_equal (parent, "."))
    {
      if (g_str_equal (base, "model.safetensors"))
        return g_steal_pointer (&parent);
      return g_strdup_printf ("%s/%s", parent, base);
    }
  return g_steal_pointer (&base);
}

char *
attnviz_token_text (const AttnvizModel *model, const char *text, const AttnvizToken *token, gint32 id)
{
  /* As attnviz_cli_token_text (): the span of the text, or the piece. */
  if (text != NULL && token != NULL && !token->special)
    return g_utf8_make_valid (text + token->start, token->end - token->start);
  if (model->tokenizer == NULL)
    return g_strdup_printf ("%d", id);
  if (token != NULL && token->special)
    {
      const char *piece = attnviz_tokenizer_get_piece (model->tokenizer, id);
      return g_strdup (piece ? piece : "");
    }
  g_autoptr(GBytes) bytes = attnviz_tokenizer_decode_token (model->tokenizer, id);
  if (bytes == NULL)
    return g_strdup_printf ("%d", id);
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  return g_utf8_make_valid (data ? data : "", len);
}

/* ---- The job -------------------------------------------------------------- */

typedef struct {
  char *path;
  AttnvizLoadedModel *model;
  char *text;
  GMainContext *context;         /* where progress goes */
  AttnvizRunProgressFunc progress;
  gpointer progress_data;
  GDestroyNotify progress_destroy;
  int n_layer;
} RunData;

typedef struct {
  AttnvizLoadedModel *model;
  AttnvizResult *result;
  GError *error;          /* the run failed after the model loaded */
} RunOutput;

typedef struct {
  AttnvizRunProgressFunc progress;
  gpointer progress_data;
  double fraction;
  char *stage;
  GTask *task;                   /* keeps progress_data alive */
} ProgressMessage;

static void
run_data_free (RunData *d)
{
  g_free (d->path);
  g_clear_pointer (&d->model, attnviz_loaded_model_unref);
  g_free (d->text);
  g_main_context_unref (d->context);
  if (d->progress_destroy)
    d->progress_destroy (d->progress_data);
  g_free (d);
}

static void
run_output_free (RunOutput *out)
{
  g_clear_pointer (&out->model, attnviz_loaded_model_unref);
  g_clear_object (&out->result);
  g_clear_error (&out->error);
  g_free (out);
}

static gboolean
progress_message_dispatch (gpointer user_data)
{
  ProgressMessage *m = user_data;
  m->progress (m->fraction, m->stage, m->progress_data);
  return G_SOURCE_REMOVE;
}

static void
progress_message_free (gpointer user_data)
{
  ProgressMessage *m = user_data;
  g_free (m->stage);
  g_object_unref (m->task);
  g_free (m);
}

static void
report (GTask *task, double fraction, char *stage /* owned */)
{
  RunData *d = g_task_get_task_data (task);

  if (d->progress == NULL)
    {
      g_free (stage);
      return;
    }
  ProgressMessage *m = g_new0 (ProgressMessage, 1);
  m->progress = d->progress;
  m->progress_data = d->progress_data;
  m->fraction = fraction;
  m->stage = stage;
  m->task = g_object_ref (task);
  g_main_context_invoke_full (d->context, G_PRIORITY_DEFAULT, progress_message_dispatch, m,
                              progress_message_free);
}

/* Called by attnviz_forward () in this worker thread after each layer. */
static void
on_forward_progress (double fraction, gpointer user_data)
{
  GTask *task = user_data;
  RunData *d = g_task_get_task_data (task);
  int done = (int) (fraction * d->n_layer + 0.5);

  if (done >= d->n_layer)
    report (task, 1.0, g_strdup ("Drawing…"));
  else
    report (task, fraction, g_strdup_printf ("Running layer %d of %d…", done + 1, d->n_layer));
}

static void
run_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  RunData *d = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizLoadedModel) loaded = d->model ? attnviz_loaded_model_ref (d->model) : NULL;

  if (loaded == NULL)
    {
      report (task, 0.0, g_strdup ("Loading the model…"));
      AttnvizModel *model = attnviz_model_load (d->path, &error);
      if (model == NULL)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                                   "Could not open the model: %s", error->message);
          return;
        }
      loaded = attnviz_loaded_model_new (model, d->path);
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  RunOutput *out = g_new0 (RunOutput, 1);
  out->model = attnviz_loaded_model_ref (loaded);
  if (d->text == NULL)
    {
      g_task_return_pointer (task, out, (GDestroyNotify) run_output_free);
      return;
    }

  const AttnvizModel *model = attnviz_loaded_model_get_model (loaded);
  const AttnvizConfig *config = &model->config;
  if (model->tokenizer == NULL)
    {
      out->error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                "This model has no tokenizer, so it cannot read text: %s",
                                model->tokenizer_error ? model->tokenizer_error : "no tokenizer files");
      g_task_return_pointer (task, out, (GDestroyNotify) run_output_free);
      return;
    }

  report (task, 0.0, g_strdup ("Reading the text…"));
  g_autoptr(GArray) tokens = attnviz_tokenizer_encode (model->tokenizer, d->text, -1, TRUE, &error);
  if (tokens == NULL)
    {
      out->error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                "Could not split the text into tokens: %s", error->message);
      g_task_return_pointer (task, out, (GDestroyNotify) run_output_free);
      return;
    }
  int T = tokens->len;
  if (T == 0)
    {
      out->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                        "The text gives no tokens to run.");
      g_task_return_pointer (task, out, (GDestroyNotify) run_output_free);
      return;
    }
  if (T > config->n_ctx)
    {
      out->error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                "The text is %d tokens long, but this model reads at most %d. "
                                "Shorten the text and run again.", T, config->n_ctx);
      g_task_return_pointer (task, out, (GDestroyNotify) run_output_free);
      return;
    }

  g_autofree gint32 *ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    ids[t] = g_array_index (tokens, AttnvizToken, t).id;

  d->n_layer = config->n_layer;
  report (task, 0.0, g_strdup_printf ("Running layer 1 of %d…", config->n_layer));
  AttnvizRunOptions options = {
    .skip_logits = TRUE,
    .cancellable = cancellable,
    .progress = on_forward_progress,
    .progress_data = task,
  };
  AttnvizRecording *rec = attnviz_forward (model, ids, T, &options, &error);
  if (rec == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          run_output_free (out);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      out->error = g_error_new (error->domain, error->code, "The run failed: %s", error->message);
      g_task_return_pointer (task, out, (GDestroyNotify) run_output_free);
      return;
    }

  char **labels = g_new0 (char *, T + 1);
  for (int t = 0; t < T; t++)
    labels[t] = attnviz_token_text (model, d->text, &g_array_index (tokens, AttnvizToken, t), ids[t]);
  out->result = attnviz_result_new (rec, labels, g_steal_pointer (&tokens), d->text,
                                    attnviz_loaded_model_get_name (loaded));
  g_task_return_pointer (task, out, (GDestroyNotify) run_output_free);
}

void
attnviz_run_async (const char *path,
                   AttnvizLoadedModel *model,
                   const char *text,
                   GCancellable *cancellable,
                   AttnvizRunProgressFunc progress,
                   gpointer progress_data,
                   GDestroyNotify progress_destroy,
                   GAsyncReadyCallback callback,
                   gpointer user_data)
{
  g_return_if_fail (path != NULL);

  RunData *d = g_new0 (RunData, 1);
  d->path = g_strdup (path);
  d->model = model ? attnviz_loaded_model_ref (model) : NULL;
  d->text = g_strdup (text);
  d->context = g_main_context_ref_thread_default ();
  d->progress = progress;
  d->progress_data = progress_data;
  d->progress_destroy = progress_destroy;

  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, attnviz_run_async);
  g_task_set_name (task, "attnviz run");
  g_task_set_task_data (task, d, (GDestroyNotify) run_data_free);
  g_task_run_in_thread (task, run_thread);
}

gboolean
attnviz_run_finish (GAsyncResult *result, AttnvizLoadedModel **model, AttnvizResult **run, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  RunOutput *out = g_task_propagate_pointer (G_TASK (result), error);
  if (out == NULL)
    return FALSE;
  if (model)
    *model = g_steal_pointer (&out->model);
  if (out->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&out->error));
      run_output_free (out);
      return FALSE;
    }
  if (run)
    *run = g_steal_pointer (&out->result);
  run_output_free (out);
  return TRUE;
}
