/* attnviz-run.c: open a model and run it on a text, in a worker thread */
#define G_LOG_DOMAIN "attnviz-run"
#include "config.h"

#include <math.h>

#include <string.h>

#include <json-glib/json-glib.h>

#include "attnviz-difference.h"
#include "attnviz-forward.h"
#include "attnviz-json.h"
#include "attnviz-generate.h"
#include "attnviz-measures-run.h"
#include "attnviz-predictions.h"
#include "attnviz-run-result.h"
#include "attnviz-run-private.h"

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
  g_autofree char *storage = attnviz_model_describe_storage (self->model);
  /* How its heads score and what its decoder may see, when not the usual
   * scaled dot product and causal mask (as `attnviz train` prints them):
   * nothing else in the window says a model is hybrid or sparse. */
  g_autofree char *score = attnviz_config_score_to_string (c);
  g_autofree char *pattern = attnviz_pattern_to_string (&c->pattern);
  g_autofree char *scoring = c->score == ATTNVIZ_SCORE_SCALED_DOT ? g_strdup ("")
                                                                   : g_strdup_printf (" · %s scoring", score);
  g_autofree char *how = attnviz_pattern_is_dense (&c->pattern) ? g_strdup (scoring)
                                                                : g_strdup_printf ("%s · mask %s", scoring, pattern);
  if (c->encoder_decoder)
    return g_strdup_printf ("%s · %s · encoder-decoder · %d + %d layers · %d heads · context %d%s%s", storage,
                            c->model_type ? c->model_type : attnviz_family_to_string (c->family),
                            c->n_enc_layer, c->n_layer, c->n_head, c->n_ctx, how,
                            self->model->tokenizer ? "" : " · no tokenizer");
  return g_strdup_printf ("%s · %s · %d layers · %d heads · context %d%s%s", storage,
                          c->model_type ? c->model_type : attnviz_family_to_string (c->family),
                          c->n_layer, c->n_head, c->n_ctx, how,
                          self->model->tokenizer ? "" : " · no tokenizer");
}

/* ---- Checkpoints ---------------------------------------------------------- */

void
attnviz_checkpoint_clear (gpointer data)
{
  g_free (((AttnvizCheckpoint *) data)->path);
}

static int
checkpoint_compare (gconstpointer a, gconstpointer b)
{
  const AttnvizCheckpoint *x = a, *y = b;
  return (x->step > y->step) - (x->step < y->step);
}

/* The attnviz_step a trained model's config.json records, or -1. */
static int
config_step (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  /* The same reader as the model's own: a FIFO or a deep file here must
   * not hang or crash the window. */
  g_autoptr(JsonNode) root = attnviz_json_load (path, ATTNVIZ_JSON_CONFIG, NULL);
  if (root == NULL)
    return -1;
  JsonNode *step = json_object_get_member (json_node_get_object (root), "attnviz_step");
  if (step == NULL || json_node_get_value_type (step) != G_TYPE_INT64)
    return -1;
  gint64 v = json_node_get_int (step);
  return v >= 0 && v <= G_MAXINT ? (int) v : -1;
}

GArray *
attnviz_checkpoints_list (const char *model_path, const char *model_dir)
{
  GArray *list = g_array_new (FALSE, FALSE, sizeof (AttnvizCheckpoint));
  g_array_set_clear_func (list, attnviz_checkpoint_clear);
  if (model_dir == NULL)
    return list;

  g_autofree char *root = g_build_filename (model_dir, "checkpoints", NULL);
  g_autoptr(GDir) dir = g_dir_open (root, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      guint64 step;
      g_autofree char *path = g_build_filename (root, name, NULL);
      g_autofree char *config = g_build_filename (path, "config.json", NULL);
      if (!g_str_has_prefix (name, "step-")
          || !g_ascii_string_to_unsigned (name + 5, 10, 0, G_MAXINT, &step, NULL)
          || !g_file_test (config, G_FILE_TEST_IS_REGULAR))
        continue;
      AttnvizCheckpoint c = { (int) step, g_steal_pointer (&path), FALSE };
      g_array_append_val (list, c);
    }
  if (list->len == 0)
    return list;
  g_array_sort (list, checkpoint_compare);

  /* The model itself last, at its own step (after the last checkpoint
   * when its config does not say). */
  int last = g_array_index (list, AttnvizCheckpoint, list->len - 1).step;
  int step = config_step (model_dir);
  if (step < 0)
    step = last + 1;
  for (guint i = 0; i < list->len; i++)
    if (g_array_index (list, AttnvizCheckpoint, i).step >= step)
      {
        /* A checkpoint at (or, oddly, after) the final step. */
        g_array_set_size (list, i);
        break;
      }
  AttnvizCheckpoint final = { step, g_strdup (model_path), TRUE };
  g_array_append_val (list, final);
  return list;
}

/* ---- The job -------------------------------------------------------------- */

typedef struct {
  char *path;
  AttnvizLoadedModel *model;
  char *text;
  char *variant_a;               /* a comparison: the specs of A and B; else NULL */
  char *variant_b;
  GArray *target;                /* an encoder-decoder's decoder input (gint32, from BOS), or NULL: decode */
  GMainContext *context;         /* where progress goes */
  AttnvizRunProgressFunc progress;
  gpointer progress_data;
  GDestroyNotify progress_destroy;
  int n_layer;
  /* which of a comparison's forward passes is running (worker only) */
  int pass;
  int n_passes;
  char *pass_name;               /* "A (mask=bidirectional)", or NULL */
} RunData;

typedef struct {
  AttnvizLoadedModel *model;
  AttnvizResult *result;
  AttnvizResult *comparison;     /* A − B, for comparisons */
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
  g_free (d->variant_a);
  g_free (d->variant_b);
  g_clear_pointer (&d->target, g_array_unref);
  g_free (d->pass_name);
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
  g_clear_object (&out->comparison);
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

void
attnviz_run_post_progress (GMainContext *context, GTask *task, AttnvizRunProgressFunc progress,
                           gpointer progress_data, double fraction, char *stage)
{
  if (progress == NULL)
    {
      g_free (stage);
      return;
    }
  ProgressMessage *m = g_new0 (ProgressMessage, 1);
  m->progress = progress;
  m->progress_data = progress_data;
  m->fraction = fraction;
  m->stage = stage;
  m->task = g_object_ref (task);
  /* Always a source on the caller's context, never a call from here:
   * g_main_context_invoke () runs it in this worker whenever it can
   * acquire the context (a loop iterated by hand lets it), touching
   * widgets off the main thread and out of order. */
  GSource *source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, progress_message_dispatch, m, progress_message_free);
  g_source_set_static_name (source, "[attnviz] progress");
  g_source_attach (source, context);
  g_source_unref (source);
}

static void
report (GTask *task, double fraction, char *stage /* owned */)
{
  RunData *d = g_task_get_task_data (task);
  attnviz_run_post_progress (d->context, task, d->progress, d->progress_data, fraction, stage);
}

/* Called by attnviz_forward () in this worker thread after each layer. */
static void
on_forward_progress (double fraction, gpointer user_data)
{
  GTask *task = user_data;
  RunData *d = g_task_get_task_data (task);
  /* The engine's fraction: LAYER / (n_layer + 1) after a layer, and in
   * between as a layer's heads finish. */
  int done = MIN ((int) floor (fraction * (d->n_layer + 1) + 1e-9), d->n_layer);
  int n_passes = MAX (d->n_passes, 1);
  double overall = (d->pass + fraction) / n_passes;

  if (done >= d->n_layer && d->pass + 1 >= n_passes)
    report (task, 1.0, g_strdup (d->pass_name ? "Comparing…" : "Drawing…"));
  else if (done >= d->n_layer)
    report (task, overall, g_strdup_printf ("%s: done", d->pass_name));
  else if (d->pass_name)
    report (task, overall, g_strdup_printf ("%s: layer %d of %d…", d->pass_name, done + 1, d->n_layer));
  else
    report (task, fraction, g_strdup_printf ("Running layer %d of %d…", done + 1, d->n_layer));
}

static void
return_run_error (GTask *task, RunOutput *out, GError *error /* owned */, const char *what)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      run_output_free (out);
      g_task_return_error (task, error);
      return;
    }
  out->error = g_error_new (error->domain, error->code, "%s: %s", what, error->message);
  g_error_free (error);
  g_task_return_pointer (task, out, (GDestroyNotify) run_output_free);
}

static char **
make_labels (const AttnvizModel *model, const char *text, GArray *tokens, const gint32 *ids)
{
  char **labels = g_new0 (char *, tokens->len + 1);
  for (guint t = 0; t < tokens->len; t++)
    labels[t] = attnviz_tokenizer_token_display_text (model->tokenizer, text,
                                                      &g_array_index (tokens, AttnvizToken, t), ids[t]);
  return labels;
}

/* The cheap per-head measures, gathered by the forward pass itself
 * (AttnvizRunOptions.measures) as `attnviz heads` gathers them: the same
 * key classes, from the same special flags and token texts.  *CLASSES
 * (T) must outlive the accumulator, which borrows it and IDS. */
AttnvizMeasuresAcc *
_attnviz_run_measures_new (const AttnvizModel *model, const char *text, GArray *tokens, const gint32 *ids, guint8 **classes)
{
  int T = tokens->len;
  g_autofree gboolean *special = g_new0 (gboolean, MAX (T, 1));
  for (int t = 0; t < T; t++)
    special[t] = g_array_index (tokens, AttnvizToken, t).special;
  g_auto(GStrv) texts = make_labels (model, text, tokens, ids);
  *classes = attnviz_measures_key_classes (model, ids, T, special, texts);
  AttnvizMeasuresInput input = { .T = T, .ids = ids, .key_class = *classes };
  return attnviz_measures_acc_new (model->config.n_layer, model->config.n_head, &input);
}

void
_attnviz_run_measures_keep (AttnvizResult *result, const AttnvizModel *model, const AttnvizMeasuresAcc *acc)
{
  AttnvizHeadMeasures *table = attnviz_head_measures_new (model->config.n_layer, model->config.n_head);
  attnviz_measures_acc_finish (acc, table);
  attnviz_run_result_set_measures (ATTNVIZ_RUN_RESULT (result), table);
}

AttnvizResult *
_attnviz_run_make_result (AttnvizLoadedModel *loaded, const char *text, GArray *tokens, const gint32 *ids,
             AttnvizRecording *rec /* owned */)
{
  const AttnvizModel *model = attnviz_loaded_model_get_model (loaded);
  GArray *copy = g_array_sized_new (FALSE, FALSE, sizeof (AttnvizToken), tokens->len);
  g_array_append_vals (copy, tokens->data, tokens->len);
  /* Kept only to compute the loss and to start the later passes. */
  g_clear_pointer (&rec->logits, g_free);
  g_clear_pointer (&rec->residuals, g_free);
  AttnvizRunResult *run = attnviz_run_result_new (rec, make_labels (model, text, tokens, ids), copy, text,
                                                  attnviz_loaded_model_get_name (loaded));
  AttnvizResult *result = ATTNVIZ_RESULT (run);
  /* A causal model's loss at t is that of token t + 1. */
  attnviz_run_result_set_loss_predicts_next (run, model->config.causal || model->config.encoder_decoder);
  if (model->config.causal && !model->config.encoder_decoder)
    attnviz_result_set_predictions (result, attnviz_predictions_make_labels (model->tokenizer, rec));
  return result;
}

/* A comparison: the model as it is (kept residuals, so that the variants
 * start from it at their first changed layer), then A and B; a variant
 * that is the model's own is that first run. */
static void
compare_thread (GTask *task, RunData *d, AttnvizLoadedModel *loaded, RunOutput *out,
                GArray *tokens, const gint32 *ids, GCancellable *cancellable)
{
  const AttnvizModel *model = attnviz_loaded_model_get_model (loaded);
  const AttnvizConfig *config = &model->config;
  int T = tokens->len;
  g_auto(AttnvizVariant) va = { 0 };
  g_auto(AttnvizVariant) vb = { 0 };
  GError *error = NULL;

  if (!attnviz_variant_parse (&va, d->variant_a, &error) || !attnviz_variant_check (&va, config, &error))
    {
      return_run_error (task, out, error, "Variant A");
      return;
    }
  if (!attnviz_variant_parse (&vb, d->variant_b, &error) || !attnviz_variant_check (&vb, config, &error))
    {
      return_run_error (task, out, error, "Variant B");
      return;
    }

  g_autofree gboolean *special = g_new0 (gboolean, T);
  for (int t = 0; t < T; t++)
    special[t] = g_array_index (tokens, AttnvizToken, t).special;

  gboolean a_model = attnviz_variant_is_model (&va), b_model = attnviz_variant_is_model (&vb);
  g_autofree char *spec_a = attnviz_variant_to_string (&va);
  g_autofree char *spec_b = attnviz_variant_to_string (&vb);
  d->n_layer = config->n_layer;
  d->n_passes = 1 + !a_model + !b_model;
  d->pass = 0;
  d->pass_name = a_model ? g_strdup_printf ("A (%s)", spec_a)
               : b_model ? g_strdup_printf ("B (%s)", spec_b)
               : g_strdup ("The model as it is");
  report (task, 0.0, g_strdup_printf ("%s: layer 1 of %d…", d->pass_name, config->n_layer));

  /* The residual stream is kept only when a variant can start from it. */
  gboolean reusable = (!a_model && attnviz_variant_first_changed_layer (&va, config) > 0)
                      || (!b_model && attnviz_variant_first_changed_layer (&vb, config) > 0);
  g_autofree guint8 *classes = NULL;
  g_autoptr(AttnvizMeasuresAcc) acc = _attnviz_run_measures_new (model, d->text, tokens, ids, &classes);
  AttnvizRunOptions options = {
    .special = special,
    .measures = acc,
    .keep_residuals = reusable,
    .cancellable = cancellable,
    .progress = on_forward_progress,
    .progress_data = task,
  };
  g_autoptr(AttnvizRecording) base = attnviz_forward (model, ids, T, &options, &error);
  if (base == NULL)
    {
      return_run_error (task, out, error, "The run failed");
      return;
    }

  AttnvizRecording *recs[2] = { NULL, NULL };
  const AttnvizVariant *variants[2] = { &va, &vb };
  const char *specs[2] = { spec_a, spec_b };
  gboolean is_model[2] = { a_model, b_model };
  options.keep_residuals = FALSE;
  options.measures = NULL;
  options.reuse = base;
  for (int i = 0; i < 2; i++)
    {
      if (is_model[i])
        continue;
      d->pass++;
      g_free (d->pass_name);
      d->pass_name = g_strdup_printf ("%s (%s)", i == 0 ? "A" : "B", specs[i]);
      options.variant = variants[i];
      recs[i] = attnviz_forward (model, ids, T, &options, &error);
      if (recs[i] == NULL)
        {
          g_clear_pointer (&recs[0], attnviz_recording_free);
          return_run_error (task, out, error, i == 0 ? "Variant A failed" : "Variant B failed");
          return;
        }
      g_debug ("%s: %d of %d layers reused from the model's run", d->pass_name, recs[i]->reused_layers,
               config->n_layer);
    }

  g_autoptr(AttnvizResult) base_result = _attnviz_run_make_result (loaded, d->text, tokens, ids, g_steal_pointer (&base));
  _attnviz_run_measures_keep (base_result, model, acc);
  g_autoptr(AttnvizResult) a = recs[0] ? _attnviz_run_make_result (loaded, d->text, tokens, ids, recs[0])
                                       : g_object_ref (base_result);
  g_autoptr(AttnvizResult) b = recs[1] ? _attnviz_run_make_result (loaded, d->text, tokens, ids, recs[1])
                                       : g_object_ref (base_result);
  out->comparison = ATTNVIZ_RESULT (attnviz_difference_new (a, b, &error));
  if (out->comparison == NULL)
    {
      return_run_error (task, out, error, "Could not compare A and B");
      return;
    }
  out->result = g_steal_pointer (&base_result);
  g_task_return_pointer (task, out, (GDestroyNotify) run_output_free);
}

/* Decoding, token by token, before the run that records (the most
 * it can take is the context; most targets stop far sooner at EOS). */
static void
on_decode_progress (int done, int most, gpointer user_data)
{
  report (user_data, (double) done / MAX (most, 1), g_strdup_printf ("Decoding the target: %d tokens…", done));
}

/* An encoder-decoder: TOKENS are the source.  The decoder reads BOS and
 * the model's greedy output for it (or d->target), and the result shows
 * its self-attention, the cross-attention and the encoder's. */
static void
seq2seq_thread (GTask *task, RunData *d, AttnvizLoadedModel *loaded, RunOutput *out,
                GArray *tokens, const gint32 *ids, GCancellable *cancellable)
{
  const AttnvizModel *model = attnviz_loaded_model_get_model (loaded);
  const AttnvizConfig *config = &model->config;
  int S = tokens->len;
  GError *error = NULL;

  report (task, 0.0, g_strdup ("Decoding the target…"));
  AttnvizGenerateOptions go = {
    .max_new = attnviz_generate_seq2seq_budget (config, S),
    .bos_id = config->bos_id >= 0 ? config->bos_id : attnviz_tokenizer_get_bos_id (model->tokenizer),
    .eos_id = config->eos_id >= 0 ? config->eos_id : attnviz_tokenizer_get_eos_id (model->tokenizer),
    .stop_id = -1,
    .cancellable = cancellable,
    .progress = on_decode_progress,
    .progress_data = task,
  };
  g_autoptr(GArray) decoded = attnviz_generate_seq2seq (model, ids, S, &go, &error);
  if (decoded == NULL)
    {
      return_run_error (task, out, error, "Could not decode a target");
      return;
    }
  GArray *target = d->target ? d->target : decoded;

  d->n_layer = config->n_enc_layer + config->n_layer;
  report (task, 0.0, g_strdup_printf ("Running layer 1 of %d…", d->n_layer));
  AttnvizRunOptions options = {
    .skip_logits = TRUE,
    .cancellable = cancellable,
    .progress = on_forward_progress,
    .progress_data = task,
  };
  AttnvizRecording *rec = attnviz_forward_seq2seq (model, ids, S, (const gint32 *) target->data, target->len,
                                                   &options, &error);
  if (rec == NULL)
    {
      return_run_error (task, out, error, "The run failed");
      return;
    }

  /* The target's labels come from its own text, the source's from the
   * text typed. */
  g_autofree char *target_text = NULL;
  GArray *target_tokens = attnviz_generate_target_tokens (model->tokenizer, rec->ids, rec->T, &target_text);
  char **target_labels = make_labels (model, target_text, target_tokens, rec->ids);
  GArray *source_tokens = g_array_sized_new (FALSE, FALSE, sizeof (AttnvizToken), tokens->len);
  g_array_append_vals (source_tokens, tokens->data, tokens->len);
  AttnvizRunResult *run = attnviz_run_result_new_seq2seq (rec, target_labels, target_tokens, target_text,
                                                          make_labels (model, d->text, tokens, ids), source_tokens,
                                                          d->text, attnviz_loaded_model_get_name (loaded));
  attnviz_run_result_set_loss_predicts_next (run, TRUE);
  if (d->target != NULL)
    {
      g_autofree char *own = attnviz_tokenizer_decode (model->tokenizer, (const gint32 *) decoded->data + 1,
                                                       decoded->len - 1);
      attnviz_run_result_set_output (run, own);
    }
  out->result = ATTNVIZ_RESULT (run);
  g_task_return_pointer (task, out, (GDestroyNotify) run_output_free);
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
  /* A learned position table has n_ctx rows; RoPE and the others run past
   * the length a model was trained at, as the command line does. */
  int max_positions = attnviz_config_max_positions (config);
  if (T > max_positions)
    {
      /* MESSAGE_TOO_LARGE: the window offers to truncate the text. */
      out->error = g_error_new (G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                                "The text is %d tokens long, but this model reads at most %d. "
                                "Shorten the text and run again.", T, max_positions);
      g_task_return_pointer (task, out, (GDestroyNotify) run_output_free);
      return;
    }

  g_autofree gint32 *ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    ids[t] = g_array_index (tokens, AttnvizToken, t).id;

  if (config->encoder_decoder)
    {
      /* Variants are compared on decoder-only and encoder models only. */
      seq2seq_thread (task, d, loaded, out, tokens, ids, cancellable);
      return;
    }
  if (d->variant_a != NULL)
    {
      compare_thread (task, d, loaded, out, tokens, ids, cancellable);
      return;
    }

  d->n_layer = config->n_layer;
  report (task, 0.0, g_strdup_printf ("Running layer 1 of %d…", config->n_layer));
  g_autofree guint8 *classes = NULL;
  g_autoptr(AttnvizMeasuresAcc) acc = _attnviz_run_measures_new (model, d->text, tokens, ids, &classes);
  AttnvizRunOptions options = {
    /* A causal model's predictions at each position (the loss strip, a
     * token's tooltip): the LM head over every row, a block at a time. */
    .skip_logits = !config->causal,
    .measures = acc,
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

  out->result = _attnviz_run_make_result (loaded, d->text, tokens, ids, rec);
  _attnviz_run_measures_keep (out->result, model, acc);
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
  attnviz_run_compare_async (path, model, text, NULL, NULL, cancellable, progress, progress_data,
                             progress_destroy, callback, user_data);
}

static void
start (const char *path, AttnvizLoadedModel *model, const char *text, const char *variant_a, const char *variant_b,
       GArray *target /* owned */, GCancellable *cancellable, AttnvizRunProgressFunc progress, gpointer progress_data,
       GDestroyNotify progress_destroy, GAsyncReadyCallback callback, gpointer user_data)
{
  RunData *d = g_new0 (RunData, 1);
  d->path = g_strdup (path);
  d->model = model ? attnviz_loaded_model_ref (model) : NULL;
  d->text = g_strdup (text);
  d->variant_a = g_strdup (variant_a);
  d->variant_b = g_strdup (variant_b);
  d->target = target;
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

void
attnviz_run_target_async (const char *path,
                          AttnvizLoadedModel *model,
                          const char *text,
                          const gint32 *target,
                          int n_target,
                          GCancellable *cancellable,
                          AttnvizRunProgressFunc progress,
                          gpointer progress_data,
                          GDestroyNotify progress_destroy,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_return_if_fail (path != NULL);
  g_return_if_fail (target == NULL || n_target > 0);

  GArray *copy = NULL;
  if (target != NULL)
    {
      copy = g_array_sized_new (FALSE, FALSE, sizeof (gint32), n_target);
      g_array_append_vals (copy, target, n_target);
    }
  start (path, model, text, NULL, NULL, copy, cancellable, progress, progress_data, progress_destroy,
         callback, user_data);
}

void
attnviz_run_compare_async (const char *path,
                           AttnvizLoadedModel *model,
                           const char *text,
                           const char *variant_a,
                           const char *variant_b,
                           GCancellable *cancellable,
                           AttnvizRunProgressFunc progress,
                           gpointer progress_data,
                           GDestroyNotify progress_destroy,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_return_if_fail (path != NULL);
  g_return_if_fail ((variant_a == NULL) == (variant_b == NULL));

  start (path, model, text, variant_a, variant_b, NULL, cancellable, progress, progress_data, progress_destroy,
         callback, user_data);
}

gboolean
attnviz_run_finish (GAsyncResult *result, AttnvizLoadedModel **model, AttnvizResult **run, GError **error)
{
  return attnviz_run_compare_finish (result, model, run, NULL, error);
}

gboolean
attnviz_run_compare_finish (GAsyncResult *result, AttnvizLoadedModel **model, AttnvizResult **run,
                            AttnvizResult **comparison, GError **error)
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
  if (comparison)
    *comparison = g_steal_pointer (&out->comparison);
  run_output_free (out);
  return TRUE;
}
