/* attnviz-result.c: one finished run, shared by the views */
#define G_LOG_DOMAIN "attnviz-result"
#include "config.h"

#include <string.h>

#include <math.h>

#include <gio/gio.h>

#include "attnviz-colormap.h"
#include "attnviz-metrics.h"
#include "attnviz-result-private.h"
#include "attnviz-scale.h"

G_DEFINE_ENUM_TYPE (AttnvizAggregate, attnviz_aggregate,
  G_DEFINE_ENUM_VALUE (ATTNVIZ_AGGREGATE_HEAD, "head"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_AGGREGATE_MEAN, "mean"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_AGGREGATE_MAX, "max"))

G_DEFINE_ENUM_TYPE (AttnvizColormap, attnviz_colormap,
  G_DEFINE_ENUM_VALUE (ATTNVIZ_COLORMAP_VIRIDIS, "viridis"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_COLORMAP_MAGMA, "magma"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_COLORMAP_GREY, "grey"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_COLORMAP_RDBU, "rdbu"))

G_DEFINE_ENUM_TYPE (AttnvizScaleKind, attnviz_scale_kind,
  G_DEFINE_ENUM_VALUE (ATTNVIZ_SCALE_LINEAR, "linear"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_SCALE_LOG, "log"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_SCALE_POWER, "power"))

G_DEFINE_ENUM_TYPE (AttnvizRangeMode, attnviz_range_mode,
  G_DEFINE_ENUM_VALUE (ATTNVIZ_RANGE_HEAD, "head"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_RANGE_LAYER, "layer"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_RANGE_RUN, "run"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_RANGE_FIXED, "fixed"))

G_DEFINE_ENUM_TYPE (AttnvizAttentionKind, attnviz_attention_kind,
  G_DEFINE_ENUM_VALUE (ATTNVIZ_ATTENTION_SELF, "self"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_ATTENTION_CROSS, "cross"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_ATTENTION_ENCODER, "encoder"))

const char *
attnviz_attention_kind_to_string (AttnvizAttentionKind kind)
{
  switch (kind)
    {
    case ATTNVIZ_ATTENTION_CROSS:
      return "cross";
    case ATTNVIZ_ATTENTION_ENCODER:
      return "encoder";
    case ATTNVIZ_ATTENTION_SELF:
    default:
      return "self";
    }
}

gboolean
attnviz_attention_kind_from_string (const char *name, AttnvizAttentionKind *kind)
{
  static const AttnvizAttentionKind all[] = { ATTNVIZ_ATTENTION_SELF, ATTNVIZ_ATTENTION_CROSS,
                                              ATTNVIZ_ATTENTION_ENCODER };

  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (all); i++)
    if (g_ascii_strcasecmp (name, attnviz_attention_kind_to_string (all[i])) == 0)
      {
        *kind = all[i];
        return TRUE;
      }
  return FALSE;
}

const char *
attnviz_attention_kind_describe (AttnvizAttentionKind kind)
{
  switch (kind)
    {
    case ATTNVIZ_ATTENTION_CROSS:
      return "cross-attention";
    case ATTNVIZ_ATTENTION_ENCODER:
      return "encoder self-attention";
    case ATTNVIZ_ATTENTION_SELF:
    default:
      return "decoder self-attention";
    }
}

const char *
attnviz_aggregate_to_string (AttnvizAggregate aggregate)
{
  switch (aggregate)
    {
    case ATTNVIZ_AGGREGATE_MEAN:
      return "mean";
    case ATTNVIZ_AGGREGATE_MAX:
      return "max";
    case ATTNVIZ_AGGREGATE_HEAD:
    default:
      return "head";
    }
}

gboolean
attnviz_aggregate_from_string (const char *name, AttnvizAggregate *aggregate)
{
  static const AttnvizAggregate all[] = { ATTNVIZ_AGGREGATE_HEAD, ATTNVIZ_AGGREGATE_MEAN, ATTNVIZ_AGGREGATE_MAX };

  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (all); i++)
    if (g_ascii_strcasecmp (name, attnviz_aggregate_to_string (all[i])) == 0)
      {
        *aggregate = all[i];
        return TRUE;
      }
  return FALSE;
}


G_DEFINE_FINAL_TYPE (AttnvizResult, attnviz_result, G_TYPE_OBJECT)

static void
attnviz_result_finalize (GObject *object)
{
  AttnvizResult *self = ATTNVIZ_RESULT (object);

  for (int l = 0; l < self->n_layer; l++)
    {
      g_free (self->mean[l]);
      g_free (self->max[l]);
    }
  g_free (self->mean);
  g_free (self->max);
  _attnviz_result_clear_overviews (self);
  g_free (self->maps);
  _attnviz_result_clear_matrices (self);
  /* A matrix result reads its run's recording. */
  if (self->run == NULL && self->matrix == ATTNVIZ_MATRIX_WEIGHTS)
    g_clear_pointer (&self->rec, attnviz_recording_free);
  g_clear_object (&self->run);
  g_strfreev (self->labels);
  g_strfreev (self->col_labels);
  g_strfreev (self->source_labels);
  g_clear_pointer (&self->tokens, g_array_unref);
  g_clear_pointer (&self->col_tokens, g_array_unref);
  g_clear_pointer (&self->source_tokens, g_array_unref);
  g_free (self->target_text);
  g_free (self->output);
  g_clear_pointer (&self->measures, attnviz_head_measures_free);
  g_free (self->text);
  g_free (self->model_name);
  g_clear_object (&self->a);
  g_clear_object (&self->b);
  g_free (self->tvd);
  g_clear_pointer (&self->differences, g_hash_table_unref);

  G_OBJECT_CLASS (attnviz_result_parent_class)->finalize (object);
}

static void
attnviz_result_class_init (AttnvizResultClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = attnviz_result_finalize;
}

static void
attnviz_result_init (AttnvizResult *self)
{
  self->step = -1;
}

/* The caches for N_LAYER layers of N_HEAD heads. */
static void
alloc_maps (AttnvizResult *self)
{
  self->maps = g_new0 (const float *, MAX ((gsize) self->n_layer * self->n_head, 1));
  self->mean = g_new0 (float *, MAX (self->n_layer, 1));
  self->max = g_new0 (float *, MAX (self->n_layer, 1));
}

AttnvizResult *
attnviz_result_new (AttnvizRecording *rec, char **labels, GArray *tokens, const char *text, const char *model_name)
{
  g_return_val_if_fail (rec != NULL, NULL);
  g_return_val_if_fail (labels != NULL && g_strv_length (labels) == (guint) rec->T, NULL);
  g_return_val_if_fail (tokens == NULL || tokens->len == (guint) rec->T, NULL);

  AttnvizResult *self = g_object_new (ATTNVIZ_TYPE_RESULT, NULL);
  self->rec = rec;
  self->kind = ATTNVIZ_ATTENTION_SELF;
  self->rows = self->cols = rec->T;
  self->n_layer = rec->n_layer;
  self->n_head = rec->n_head;
  self->causal = rec->causal;
  self->ids = self->col_ids = rec->ids;
  self->labels = labels;
  self->tokens = tokens;
  self->text = g_strdup (text);
  self->model_name = g_strdup (model_name);

  int L = rec->n_layer, H = rec->n_head;
  alloc_maps (self);
  for (int l = 0; l < L; l++)
    for (int h = 0; h < H; h++)
      self->maps[l * H + h] = attnviz_recording_get_attention (rec, l, h);
  return self;
}

AttnvizResult *
attnviz_result_new_seq2seq (AttnvizRecording *rec,
                            char **labels,
                            GArray *tokens,
                            const char *target_text,
                            char **source_labels,
                            GArray *source_tokens,
                            const char *text,
                            const char *model_name)
{
  g_return_val_if_fail (rec != NULL && rec->S > 0 && rec->enc_attn != NULL && rec->cross_attn != NULL, NULL);
  g_return_val_if_fail (source_labels != NULL && g_strv_length (source_labels) == (guint) rec->S, NULL);
  g_return_val_if_fail (source_tokens == NULL || source_tokens->len == (guint) rec->S, NULL);

  AttnvizResult *self = attnviz_result_new (rec, labels, tokens, text, model_name);
  if (self == NULL)
    return NULL;
  self->source_labels = source_labels;
  self->source_tokens = source_tokens;
  self->target_text = g_strdup (target_text);
  return self;
}

/* The run an encoder-decoder view shows (itself for the run). */
static AttnvizResult *
run_of (AttnvizResult *self)
{
  return self->run ? self->run : self;
}

gboolean
attnviz_result_is_seq2seq (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), FALSE);
  return run_of (self)->source_labels != NULL;
}

AttnvizAttentionKind
attnviz_result_get_kind (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), ATTNVIZ_ATTENTION_SELF);
  return self->kind;
}

static char **
copy_labels (char **labels)
{
  return g_strdupv (labels);
}

AttnvizAttention *
attnviz_result_get_source (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);

  /* Rollout and flow are dense matrices of their own. */
  if (self->a != NULL || self->rec == NULL || self->matrix >= ATTNVIZ_MATRIX_ROLLOUT)
    return NULL;
  switch (self->kind)
    {
    case ATTNVIZ_ATTENTION_CROSS: return self->rec->cross_attention;
    case ATTNVIZ_ATTENTION_ENCODER: return self->rec->enc_attention;
    case ATTNVIZ_ATTENTION_SELF:
    default: return self->rec->attention;
    }
}

AttnvizResult *
attnviz_result_get_attention (AttnvizResult *self, AttnvizAttentionKind kind)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);

  AttnvizResult *run = run_of (self);
  if (kind == self->kind)
    return g_object_ref (self);
  if (kind == ATTNVIZ_ATTENTION_SELF)
    return g_object_ref (run);
  if (run->source_labels == NULL || run->a != NULL)
    return NULL;

  const AttnvizRecording *rec = run->rec;
  AttnvizResult *view = g_object_new (ATTNVIZ_TYPE_RESULT, NULL);
  view->run = g_object_ref (run);
  view->rec = run->rec;
  view->kind = kind;
  view->n_head = rec->n_head;
  view->text = g_strdup (run->text);
  view->model_name = g_strdup (run->model_name);
  view->loss_predicts_next = run->loss_predicts_next;
  if (kind == ATTNVIZ_ATTENTION_CROSS)
    {
      /* Target rows (the decoder's queries), source columns. */
      view->rows = rec->T;
      view->cols = rec->S;
      view->n_layer = rec->n_layer;
      view->ids = rec->ids;
      view->col_ids = rec->src_ids;
      view->labels = copy_labels (run->labels);
      view->col_labels = copy_labels (run->source_labels);
      view->tokens = run->tokens ? g_array_ref (run->tokens) : NULL;
      view->col_tokens = run->source_tokens ? g_array_ref (run->source_tokens) : NULL;
      alloc_maps (view);
      for (gsize i = 0; i < (gsize) view->n_layer * view->n_head; i++)
        view->maps[i] = rec->cross_attn + i * (gsize) rec->T * rec->S;
    }
  else
    {
      view->rows = view->cols = rec->S;
      view->n_layer = rec->n_enc_layer;
      view->ids = view->col_ids = rec->src_ids;
      view->labels = copy_labels (run->source_labels);
      view->tokens = run->source_tokens ? g_array_ref (run->source_tokens) : NULL;
      alloc_maps (view);
      for (gsize i = 0; i < (gsize) view->n_layer * view->n_head; i++)
        view->maps[i] = rec->enc_attn + i * (gsize) rec->S * rec->S;
    }
  return view;
}

const char *
attnviz_result_get_target_text (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return run_of (self)->target_text;
}

const char *
attnviz_result_get_output (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return run_of (self)->output;
}

void
attnviz_result_set_output (AttnvizResult *self, const char *output)
{
  g_return_if_fail (ATTNVIZ_IS_RESULT (self));
  AttnvizResult *run = run_of (self);
  g_free (run->output);
  run->output = g_strdup (output);
}

int
attnviz_result_get_step (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), -1);
  return run_of (self)->step;
}

void
attnviz_result_set_step (AttnvizResult *self, int step)
{
  g_return_if_fail (ATTNVIZ_IS_RESULT (self));
  run_of (self)->step = MAX (step, -1);
}

const AttnvizHeadMeasures *
attnviz_result_get_measures (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  /* The cross and encoder views are not the run the measures describe. */
  return self->run == NULL ? self->measures : NULL;
}

void
attnviz_result_set_measures (AttnvizResult *self, AttnvizHeadMeasures *measures)
{
  g_return_if_fail (ATTNVIZ_IS_RESULT (self));
  g_return_if_fail (self->run == NULL);
  g_clear_pointer (&self->measures, attnviz_head_measures_free);
  self->measures = measures;
}

int
attnviz_result_get_n_cols (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), 0);
  return self->cols;
}

gboolean
attnviz_result_is_square (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), TRUE);
  return self->kind != ATTNVIZ_ATTENTION_CROSS;
}

const char *const *
attnviz_result_get_col_labels (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return (const char *const *) (self->col_labels ? self->col_labels : self->labels);
}

const char *
attnviz_result_get_col_label (AttnvizResult *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  g_return_val_if_fail (index >= 0 && index < self->cols, NULL);
  return attnviz_result_get_col_labels (self)[index];
}

gint32
attnviz_result_get_col_token_id (AttnvizResult *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), -1);
  g_return_val_if_fail (index >= 0 && index < self->cols, -1);
  return self->col_ids[index];
}

const AttnvizToken *
attnviz_result_get_col_token (AttnvizResult *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  if (attnviz_result_is_square (self))
    return attnviz_result_get_token (self, index);
  if (self->col_tokens == NULL || index < 0 || index >= (int) self->col_tokens->len)
    return NULL;
  return &g_array_index (self->col_tokens, AttnvizToken, index);
}

/* Whether the run is the model as it is (its variant says nothing). */
static gboolean
is_plain_model (AttnvizResult *self)
{
  return g_strcmp0 (attnviz_result_get_variant (self), "model") == 0;
}

static void
append_size (AttnvizResult *self, GString *s)
{
  if (self->rows != self->cols)
    g_string_append_printf (s, "%d target × %d source tokens", self->rows, self->cols);
  else
    g_string_append_printf (s, "%d tokens", self->rows);
}

char *
attnviz_result_describe_run (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);

  GString *s = g_string_new (self->model_name);
  int step = attnviz_result_get_step (self);
  if (attnviz_result_is_seq2seq (self))
    g_string_append_printf (s, " · %s", attnviz_attention_kind_describe (self->kind));
  if (step >= 0)
    g_string_append_printf (s, " · step %d", step);
  if (!is_plain_model (self))
    g_string_append_printf (s, " · %s", attnviz_result_get_variant (self));
  g_string_append (s, " · ");
  append_size (self, s);
  return g_string_free (s, FALSE);
}

char *
attnviz_result_describe_details (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);

  GString *s = g_string_new (NULL);
  if (!is_plain_model (self))
    g_string_append_printf (s, "%s · ", attnviz_result_get_variant (self));
  append_size (self, s);
  return g_string_free (s, FALSE);
}

const AttnvizRecording *
attnviz_result_get_recording (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return self->rec;
}

int
attnviz_result_get_n_tokens (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), 0);
  return self->rows;
}

int
attnviz_result_get_n_layers (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), 0);
  return self->n_layer;
}

int
attnviz_result_get_n_heads (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), 0);
  return self->n_head;
}

gboolean
attnviz_result_get_causal (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), FALSE);
  return self->causal;
}

const char *const *
attnviz_result_get_labels (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return (const char *const *) self->labels;
}

const char *
attnviz_result_get_label (AttnvizResult *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  g_return_val_if_fail (index >= 0 && index < self->rows, NULL);
  return self->labels[index];
}

const AttnvizToken *
attnviz_result_get_token (AttnvizResult *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  if (self->tokens == NULL || index < 0 || index >= (int) self->tokens->len)
    return NULL;
  return &g_array_index (self->tokens, AttnvizToken, index);
}

gint32
attnviz_result_get_token_id (AttnvizResult *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), -1);
  g_return_val_if_fail (index >= 0 && index < self->rows, -1);
  return self->ids[index];
}

const char *
attnviz_result_get_text (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return self->text;
}

const char *
attnviz_result_get_model_name (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return self->model_name;
}

const float *const *
attnviz_result_get_maps (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return (const float *const *) self->maps;
}

/* OUT (T, T) = the mean (or max) of the recorded heads of LAYER; FALSE when
 * none of them was recorded. */
static gboolean
aggregate_layer (AttnvizResult *self, int layer, gboolean take_max, float *out)
{
  int H = self->n_head;
  return attnviz_combine_maps (out, (const float *const *) self->maps + (gsize) layer * H, H,
                               (gsize) self->rows * self->cols, take_max) > 0;
}

/* A - B for one head or aggregate, kept for the result's life (the views
 * and exports hold pointers to it). */
static const float *
difference_matrix (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head)
{
  int H = self->rec->n_head;
  if (aggregate != ATTNVIZ_AGGREGATE_HEAD)
    head = 0;
  else if (head < 0 || head >= H)
    return NULL;
  guint key = 1 + ((guint) aggregate * self->rec->n_layer + layer) * H + head;
  float *out = g_hash_table_lookup (self->differences, GUINT_TO_POINTER (key));
  if (out != NULL)
    return out;

  const float *ma = attnviz_result_get_matrix (self->a, aggregate, layer, head);
  const float *mb = attnviz_result_get_matrix (self->b, aggregate, layer, head);
  if (ma == NULL || mb == NULL)
    return NULL;
  out = g_try_malloc (MAX ((gsize) self->rec->T * self->rec->T, 1) * sizeof (float));
  if (out == NULL)
    return NULL;
  attnviz_attention_difference (out, ma, mb, self->rec->T);
  g_hash_table_insert (self->differences, GUINT_TO_POINTER (key), out);
  return out;
}

const float *
attnviz_result_get_matrix (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);

  int L = self->n_layer, H = self->n_head;
  if (layer < 0 || layer >= L)
    return NULL;
  if (self->a != NULL)
    return difference_matrix (self, aggregate, layer, head);
  /* Rollout and flow: one matrix for every head and aggregate. */
  if (self->matrix >= ATTNVIZ_MATRIX_ROLLOUT)
    return self->owned;
  if (aggregate == ATTNVIZ_AGGREGATE_HEAD)
    return head >= 0 && head < H ? self->maps[layer * H + head] : NULL;

  float **cache = aggregate == ATTNVIZ_AGGREGATE_MAX ? self->max : self->mean;
  if (cache[layer] == NULL)
    {
      gsize n = (gsize) self->rows * self->cols;
      float *out = g_try_malloc (MAX (n, 1) * sizeof (float));
      if (out == NULL)
        return NULL;
      if (!aggregate_layer (self, layer, aggregate == ATTNVIZ_AGGREGATE_MAX, out))
        {
          g_free (out);
          return NULL;
        }
      cache[layer] = out;
    }
  return cache[layer];
}

char *
attnviz_result_describe (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);

  GString *s = g_string_new (NULL);
  if (self->model_name != NULL && *self->model_name)
    g_string_append_printf (s, "%s · ", self->model_name);
  if (attnviz_result_is_seq2seq (self))
    g_string_append (s, self->kind == ATTNVIZ_ATTENTION_CROSS ? "cross · "
                      : self->kind == ATTNVIZ_ATTENTION_ENCODER ? "encoder · " : "decoder · ");
  if (self->matrix >= ATTNVIZ_MATRIX_ROLLOUT)
    aggregate = -1;
  switch ((int) aggregate)
    {
    case -1:
      /* One matrix of the whole run: no layer or head to name. */
      g_string_append_printf (s, "%s over %d layers", attnviz_matrix_describe (self->matrix), self->n_layer);
      break;
    case ATTNVIZ_AGGREGATE_MEAN:
      g_string_append_printf (s, "layer %d · mean over %d heads", layer, self->n_head);
      break;
    case ATTNVIZ_AGGREGATE_MAX:
      g_string_append_printf (s, "layer %d · max over %d heads", layer, self->n_head);
      break;
    case ATTNVIZ_AGGREGATE_HEAD:
    default:
      g_string_append_printf (s, "layer %d · head %d", layer, head);
    }
  if (self->a != NULL)
    g_string_append (s, " · A − B");
  if (self->matrix == ATTNVIZ_MATRIX_VALUE_WEIGHTED)
    g_string_append (s, " · value-weighted");
  int step = attnviz_result_get_step (self);
  if (step >= 0)
    g_string_append_printf (s, " · step %d", step);
  return g_string_free (s, FALSE);
}

const char *
attnviz_result_get_variant (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return self->rec->variant ? self->rec->variant : "model";
}

void
attnviz_result_set_loss_predicts_next (AttnvizResult *self, gboolean predicts_next)
{
  g_return_if_fail (ATTNVIZ_IS_RESULT (self));
  self->loss_predicts_next = !!predicts_next;
}

double
attnviz_result_get_token_loss (AttnvizResult *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NAN);

  if (index < 0 || index >= self->rows || self->kind == ATTNVIZ_ATTENTION_ENCODER)
    return NAN;
  if (self->run != NULL)
    return attnviz_result_get_token_loss (self->run, index);
  if (self->a != NULL)
    return attnviz_result_get_token_loss (self->a, index) - attnviz_result_get_token_loss (self->b, index);
  /* A causal model's loss at t is that of token t + 1. */
  int at = self->loss_predicts_next ? index - 1 : index;
  if (at < 0 || self->rec->loss == NULL)
    return NAN;
  return self->rec->loss[at];
}

double
attnviz_result_get_mean_loss (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NAN);

  if (self->a != NULL)
    return attnviz_result_get_mean_loss (self->a) - attnviz_result_get_mean_loss (self->b);
  if (self->kind == ATTNVIZ_ATTENTION_ENCODER)
    return NAN;
  if (self->run != NULL)
    return attnviz_result_get_mean_loss (self->run);
  return self->rec->loss ? attnviz_recording_mean_loss (self->rec) : NAN;
}

static gboolean
complete (const AttnvizRecording *rec)
{
  return rec->n_rec_layers == rec->n_layer && rec->n_rec_heads == rec->n_head;
}

AttnvizResult *
attnviz_result_new_difference (AttnvizResult *a, AttnvizResult *b, GError **error)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (a) && ATTNVIZ_IS_RESULT (b), NULL);
  g_return_val_if_fail (a->a == NULL && b->a == NULL, NULL);
  g_return_val_if_fail (a->run == NULL && b->run == NULL, NULL);

  const AttnvizRecording *ra = a->rec, *rb = b->rec;
  if (ra->T != rb->T || ra->n_layer != rb->n_layer || ra->n_head != rb->n_head
      || memcmp (ra->ids, rb->ids, sizeof (gint32) * ra->T) != 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "A and B are not runs of the same tokens by the same model");
      return NULL;
    }
  if (!complete (ra) || !complete (rb))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "A and B must record every layer and head to be compared");
      return NULL;
    }

  /* A recording of no heads: the tokens, shape and variant of the pair. */
  AttnvizRecording *rec = attnviz_recording_new (ra->T, ra->n_layer, ra->n_head, ra->vocab_size,
                                                 NULL, 0, NULL, 0, FALSE, 0, error);
  if (rec == NULL)
    return NULL;
  memcpy (rec->ids, ra->ids, sizeof (gint32) * ra->T);
  rec->causal = ra->causal && rb->causal;
  rec->d_model = ra->d_model;
  for (int t = 0; t < rec->T; t++)
    rec->loss[t] = NAN;
  rec->variant = g_strdup_printf ("A: %s − B: %s", attnviz_result_get_variant (a), attnviz_result_get_variant (b));

  char **labels = g_strdupv (a->labels);
  GArray *tokens = NULL;
  if (a->tokens != NULL)
    {
      tokens = g_array_sized_new (FALSE, FALSE, sizeof (AttnvizToken), a->tokens->len);
      g_array_append_vals (tokens, a->tokens->data, a->tokens->len);
    }
  AttnvizResult *self = attnviz_result_new (rec, labels, tokens, a->text, a->model_name);
  self->a = g_object_ref (a);
  self->b = g_object_ref (b);
  self->tvd = g_new0 (double, MAX ((gsize) ra->n_layer * ra->n_head, 1));
  attnviz_recording_tvd_per_head (ra, rb, self->tvd);
  self->differences = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  return self;
}

gboolean
attnviz_result_is_difference (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), FALSE);
  return self->a != NULL;
}

AttnvizResult *
attnviz_result_get_a (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return self->a;
}

AttnvizResult *
attnviz_result_get_b (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return self->b;
}

const double *
attnviz_result_get_tvd (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return self->tvd;
}
