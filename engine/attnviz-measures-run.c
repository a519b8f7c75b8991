#define G_LOG_DOMAIN "attnviz-measures-run"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-fileutil.h"
#include "attnviz-measures-run.h"
#include "attnviz-metrics.h"
#include "attnviz-npy.h"

static int
model_bos (const AttnvizModel *model)
{
  if (model->config.bos_id >= 0)
    return model->config.bos_id;
  return model->tokenizer ? attnviz_tokenizer_get_bos_id (model->tokenizer) : -1;
}

static gboolean
is_special_id (const AttnvizModel *model, gint32 id)
{
  const AttnvizConfig *c = &model->config;
  if (id == c->bos_id || id == c->eos_id || id == c->pad_id)
    return TRUE;
  const AttnvizTokenizer *t = model->tokenizer;
  return t && (id == attnviz_tokenizer_get_bos_id (t) || id == attnviz_tokenizer_get_eos_id (t)
               || id == attnviz_tokenizer_get_pad_id (t) || id == attnviz_tokenizer_get_unk_id (t));
}

/* Punctuation and blanks only, at least one punctuation mark. */
static gboolean
is_punctuation (const char *text)
{
  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return FALSE;
  gboolean any = FALSE;
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_ispunct (c))
        any = TRUE;
      else if (!g_unichar_isspace (c))
        return FALSE;
    }
  return any;
}

guint8 *
attnviz_measures_key_classes (const AttnvizModel *model, const gint32 *ids, int T, const gboolean *special,
                              char *const *token_texts)
{
  guint8 *out = g_new0 (guint8, MAX (T, 1));
  for (int j = 0; j < T; j++)
    {
      gboolean sp = special ? special[j] : is_special_id (model, ids[j]);
      if (j > 0 && sp)
        out[j] = ATTNVIZ_KEY_SEPARATOR;
      else if (!sp && token_texts && is_punctuation (token_texts[j]))
        out[j] = ATTNVIZ_KEY_PUNCT;
    }
  return out;
}

gint32 *
attnviz_measures_probe_repeat (const AttnvizModel *model, int n, guint32 seed, int *T, GError **error)
{
  const AttnvizConfig *c = &model->config;
  int bos = model_bos (model);
  int limit = attnviz_config_max_positions (c);
  if (n < 1 || n > (limit - (bos >= 0)) / 2)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--probe-length %d: the probe (%s2 x N tokens) must hold at least one token and fit the model's "
                   "%d positions", n, bos >= 0 ? "BOS and " : "", limit);
      return NULL;
    }
  int len = 2 * n + (bos >= 0);
  g_autofree gint32 *pool = g_new (gint32, MAX (c->vocab_size, 1));
  int n_pool = 0;
  for (int id = 0; id < c->vocab_size; id++)
    if (!is_special_id (model, id))
      pool[n_pool++] = id;
  if (n_pool == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: the vocabulary has no ordinary token", model->path);
      return NULL;
    }
  g_autoptr(GRand) rng = g_rand_new_with_seed (seed);
  gint32 *ids = g_new (gint32, len);
  int at = 0;
  if (bos >= 0)
    ids[at++] = bos;
  for (int i = 0; i < n; i++)
    {
      /* a partial Fisher-Yates shuffle while the pool lasts, then draws */
      int k = i < n_pool ? i + g_rand_int_range (rng, 0, n_pool - i) : g_rand_int_range (rng, 0, n_pool);
      int pick = i < n_pool ? i : k;
      gint32 t = pool[pick];
      pool[pick] = pool[k];
      pool[k] = t;
      ids[at + i] = pool[pick];
    }
  memcpy (ids + at + n, ids + at, sizeof (gint32) * n);
  *T = len;
  return ids;
}

float *
attnviz_measures_load_pattern (const char *path, int T, GError **error)
{
  gint64 shape[4];
  int n_dims;
  g_autofree float *m = attnviz_npy_read_floats (path, shape, 4, &n_dims, error);
  if (m == NULL)
    return NULL;
  if (n_dims != 2 || shape[0] != T || shape[1] != T)
    {
      g_autofree char *shown = attnviz_printable (path);
      GString *s = g_string_new ("(");
      for (int d = 0; d < n_dims; d++)
        g_string_append_printf (s, "%s%" G_GINT64_FORMAT, d ? ", " : "", shape[d]);
      g_string_append_c (s, ')');
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: the pattern has shape %s; the run needs (%d, %d)",
                   shown, s->str, T, T);
      g_string_free (s, TRUE);
      return NULL;
    }
  for (gsize i = 0; i < (gsize) T * T; i++)
    if (!isfinite (m[i]))
      {
        g_autofree char *shown = attnviz_printable (path);
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: entry (%d, %d) of the pattern is not finite",
                     shown, (int) (i / T), (int) (i % T));
        return NULL;
      }
  return g_steal_pointer (&m);
}

/* ---- further runs ---- */

static gboolean
add_tvd (AttnvizHeadMeasures *table, AttnvizMeasure column, const char *spec, const AttnvizModel *model,
         const gint32 *ids, int T, const AttnvizRunOptions *run, const AttnvizRecording *base, GError **error)
{
  g_auto(AttnvizVariant) variant = { 0 };
  if (!attnviz_variant_parse (&variant, spec, error))
    return FALSE;
  if (!attnviz_variant_check (&variant, &model->config, NULL))
    return TRUE;   /* not for this model: the column stays NaN */
  AttnvizRunOptions opt = *run;
  opt.variant = &variant;
  opt.measures = NULL;
  opt.keep_residuals = FALSE;
  opt.reuse = NULL;
  opt.skip_logits = TRUE;
  opt.keep_logits = FALSE;
  opt.logits_func = NULL;   /* a dump's stream is the model run's */
  opt.progress = NULL;
  g_autoptr(AttnvizRecording) other = attnviz_forward (model, ids, T, &opt, error);
  if (other == NULL)
    return FALSE;
  int n = base->n_rec_layers * base->n_rec_heads;
  g_autofree double *tvd = g_new (double, MAX (n, 1));
  if (!attnviz_recording_tvd_per_head (base, other, tvd))
    return TRUE;
  table->has[column] = TRUE;
  for (int k = 0; k < n; k++)
    attnviz_head_measures_at (table, base->rec_layers[k / base->n_rec_heads],
                              base->rec_heads[k % base->n_rec_heads])[column] = tvd[k];
  return TRUE;
}

gboolean
attnviz_measures_add_positional (AttnvizHeadMeasures *table, const AttnvizModel *model, const gint32 *ids, int T,
                                 const AttnvizRunOptions *run, const AttnvizRecording *base, GError **error)
{
  g_return_val_if_fail (base->attention != NULL, FALSE);
  return add_tvd (table, ATTNVIZ_MEASURE_POS_NONE, "pos=none", model, ids, T, run, base, error)
         && add_tvd (table, ATTNVIZ_MEASURE_POS_SHUFFLED, "pos=shuffled", model, ids, T, run, base, error);
}

gboolean
attnviz_measures_add_importance (AttnvizHeadMeasures *table, const AttnvizModel *model, const gint32 *ids, int T,
                                 const AttnvizRecording *base, AttnvizAblateMode mode, AttnvizProgressFunc progress,
                                 gpointer progress_data, GCancellable *cancellable, GError **error)
{
  const AttnvizConfig *c = &model->config;
  double base_loss = attnviz_recording_mean_loss (base);
  if (base->last_logits == NULL || isnan (base_loss))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: head importance needs a loss: a model with an output layer and 2 or more tokens", model->path);
      return FALSE;
    }
  g_return_val_if_fail (base->residuals != NULL, FALSE);
  AttnvizHeadRef ref;
  AttnvizVariant variant;
  attnviz_variant_init (&variant);
  variant.ablate = &ref;
  variant.n_ablate = 1;
  variant.ablate_mode = mode;
  int n = c->n_layer * c->n_head;
  for (int k = 0; k < n; k++)
    {
      ref = (AttnvizHeadRef) { k / c->n_head, k % c->n_head };
      /* Nothing recorded: only the loss, from the stream entering the
       * ablated layer on. */
      AttnvizRunOptions opt = { .record_none = TRUE, .variant = &variant, .reuse = base, .cancellable = cancellable };
      g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &opt, error);
      if (rec == NULL)
        return FALSE;
      attnviz_head_measures_at (table, ref.layer, ref.head)[ATTNVIZ_MEASURE_IMPORTANCE]
        = attnviz_recording_mean_loss (rec) - base_loss;
      if (progress)
        progress ((k + 1.0) / n, progress_data);
    }
  table->has[ATTNVIZ_MEASURE_IMPORTANCE] = TRUE;
  return TRUE;
}

AttnvizHeadMeasures *
attnviz_measures_run (const AttnvizModel *model, const gint32 *ids, int T, const AttnvizMeasuresOptions *options,
                      double *base_loss, GError **error)
{
  static const AttnvizMeasuresOptions defaults = { 0 };
  const AttnvizMeasuresOptions *o = options ? options : &defaults;
  const AttnvizConfig *c = &model->config;
  AttnvizMeasuresInput input = { .T = T, .ids = ids, .key_class = o->key_class, .pattern = o->pattern };
  g_autoptr(AttnvizMeasuresAcc) acc = attnviz_measures_acc_new (c->n_layer, c->n_head, &input);
  /* The measures come from the run itself; the attention is recorded only
   * for the positional comparisons, and recomputed there. */
  AttnvizRunOptions run = {
    .record_none = !o->positional, .overview_bytes = 1,
    .special = o->special, .keep_residuals = o->importance, .measures = acc, .cancellable = o->cancellable,
  };
  g_autoptr(AttnvizRecording) base = attnviz_forward (model, ids, T, &run, error);
  if (base == NULL)
    return NULL;
  g_autoptr(AttnvizHeadMeasures) table = attnviz_head_measures_new (c->n_layer, c->n_head);
  /* a score column only where heads differ: a hybrid model */
  if (c->score == ATTNVIZ_SCORE_HYBRID)
    table->additive = attnviz_config_additive_mask (c);
  attnviz_measures_acc_finish (acc, table);
  if (base_loss)
    *base_loss = attnviz_recording_mean_loss (base);
  if (o->positional && !attnviz_measures_add_positional (table, model, ids, T, &run, base, error))
    return NULL;
  if (o->importance
      && !attnviz_measures_add_importance (table, model, ids, T, base, o->ablate_mode, o->progress, o->progress_data,
                                           o->cancellable, error))
    return NULL;
  return g_steal_pointer (&table);
}
