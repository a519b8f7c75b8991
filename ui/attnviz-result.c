/* attnviz-result.c: attention matrices a view can show (the abstract base) */
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


G_DEFINE_ABSTRACT_TYPE (AttnvizResult, attnviz_result, G_TYPE_OBJECT)

static void
attnviz_result_finalize (GObject *object)
{
  AttnvizResult *self = ATTNVIZ_RESULT (object);

  for (int l = 0; self->mean != NULL && l < self->n_layer; l++)
    {
      g_free (self->mean[l]);
      g_free (self->max[l]);
    }
  g_free (self->mean);
  g_free (self->max);
  _attnviz_result_clear_overviews (self);
  g_free (self->maps);
  _attnviz_result_clear_matrices (self);
  g_strfreev (self->labels);
  g_strfreev (self->col_labels);
  g_clear_pointer (&self->tokens, g_array_unref);
  g_clear_pointer (&self->col_tokens, g_array_unref);
  g_free (self->text);
  g_free (self->model_name);

  G_OBJECT_CLASS (attnviz_result_parent_class)->finalize (object);
}

static AttnvizAttention *
attnviz_result_real_get_source (AttnvizResult *self)
{
  if (self->rec == NULL)
    return NULL;
  switch (self->kind)
    {
    case ATTNVIZ_ATTENTION_CROSS: return self->rec->cross_attention;
    case ATTNVIZ_ATTENTION_ENCODER: return self->rec->enc_attention;
    case ATTNVIZ_ATTENTION_SELF:
    default: return self->rec->attention;
    }
}

static AttnvizResult *
attnviz_result_real_get_attention (AttnvizResult *self, AttnvizAttentionKind kind)
{
  return kind == self->kind ? g_object_ref (self) : NULL;
}

static int
attnviz_result_real_get_step (AttnvizResult *self)
{
  return -1;
}

static AttnvizMatrixKind
attnviz_result_real_get_matrix_kind (AttnvizResult *self)
{
  return ATTNVIZ_MATRIX_WEIGHTS;
}

static void attnviz_result_real_describe_picture (AttnvizResult *self, GString *s, AttnvizAggregate aggregate,
                                                  int layer, int head);
static double attnviz_result_real_get_token_loss (AttnvizResult *self, int index);
static double attnviz_result_real_get_mean_loss (AttnvizResult *self);

static void
attnviz_result_class_init (AttnvizResultClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = attnviz_result_finalize;
  klass->get_source = attnviz_result_real_get_source;
  klass->get_attention = attnviz_result_real_get_attention;
  klass->get_step = attnviz_result_real_get_step;
  klass->get_matrix_kind = attnviz_result_real_get_matrix_kind;
  klass->get_matrix = _attnviz_result_real_get_matrix;
  klass->describe_picture = attnviz_result_real_describe_picture;
  klass->get_token_loss = attnviz_result_real_get_token_loss;
  klass->get_mean_loss = attnviz_result_real_get_mean_loss;
  /* attnviz-result-read.c and attnviz-result-matrix.c set theirs */
  _attnviz_result_class_init_read (klass);
  _attnviz_result_class_init_matrix (klass);
}

static void
attnviz_result_init (AttnvizResult *self)
{
}

void
_attnviz_result_alloc_maps (AttnvizResult *self)
{
  self->maps = g_new0 (const float *, MAX ((gsize) self->n_layer * self->n_head, 1));
  self->mean = g_new0 (float *, MAX (self->n_layer, 1));
  self->max = g_new0 (float *, MAX (self->n_layer, 1));
}

void
_attnviz_result_init_self (AttnvizResult *self, AttnvizRecording *rec, char **labels, GArray *tokens,
                           const char *text, const char *model_name)
{
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
  _attnviz_result_alloc_maps (self);
  for (int l = 0; l < L; l++)
    for (int h = 0; h < H; h++)
      self->maps[l * H + h] = attnviz_recording_get_attention (rec, l, h);
}

void
_attnviz_result_init_cross (AttnvizResult *self, AttnvizRecording *rec, char **labels, GArray *tokens,
                            char **source_labels, GArray *source_tokens)
{
  self->rec = rec;
  self->kind = ATTNVIZ_ATTENTION_CROSS;
  self->seq2seq = TRUE;
  self->n_head = rec->n_head;
  self->rows = rec->T;
  self->cols = rec->S;
  self->n_layer = rec->n_layer;
  self->ids = rec->ids;
  self->col_ids = rec->src_ids;
  self->labels = g_strdupv (labels);
  self->col_labels = g_strdupv (source_labels);
  self->tokens = tokens ? g_array_ref (tokens) : NULL;
  self->col_tokens = source_tokens ? g_array_ref (source_tokens) : NULL;
  _attnviz_result_alloc_maps (self);
  for (gsize i = 0; i < (gsize) self->n_layer * self->n_head; i++)
    self->maps[i] = rec->cross_attn + i * (gsize) rec->T * rec->S;
}

gboolean
attnviz_result_is_seq2seq (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), FALSE);
  return self->seq2seq;
}

AttnvizAttentionKind
attnviz_result_get_kind (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), ATTNVIZ_ATTENTION_SELF);
  return self->kind;
}

AttnvizAttention *
attnviz_result_get_source (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return ATTNVIZ_RESULT_GET_CLASS (self)->get_source (self);
}

AttnvizResult *
attnviz_result_get_attention (AttnvizResult *self, AttnvizAttentionKind kind)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  return ATTNVIZ_RESULT_GET_CLASS (self)->get_attention (self, kind);
}

int
attnviz_result_get_step (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), -1);
  return ATTNVIZ_RESULT_GET_CLASS (self)->get_step (self);
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

const float *
_attnviz_result_real_get_matrix (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head)
{
  int H = self->n_head;
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

const float *
attnviz_result_get_matrix (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);

  if (layer < 0 || layer >= self->n_layer)
    return NULL;
  return ATTNVIZ_RESULT_GET_CLASS (self)->get_matrix (self, aggregate, layer, head);
}

static void
attnviz_result_real_describe_picture (AttnvizResult *self, GString *s, AttnvizAggregate aggregate, int layer, int head)
{
  switch (aggregate)
    {
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
  ATTNVIZ_RESULT_GET_CLASS (self)->describe_picture (self, s, aggregate, layer, head);
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

static double
attnviz_result_real_get_token_loss (AttnvizResult *self, int index)
{
  /* A causal model's loss at t is that of token t + 1. */
  int at = self->loss_predicts_next ? index - 1 : index;
  if (at < 0 || self->rec->loss == NULL)
    return NAN;
  return self->rec->loss[at];
}

double
attnviz_result_get_token_loss (AttnvizResult *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NAN);

  if (index < 0 || index >= self->rows || self->kind == ATTNVIZ_ATTENTION_ENCODER)
    return NAN;
  return ATTNVIZ_RESULT_GET_CLASS (self)->get_token_loss (self, index);
}

static double
attnviz_result_real_get_mean_loss (AttnvizResult *self)
{
  return self->rec->loss ? attnviz_recording_mean_loss (self->rec) : NAN;
}

double
attnviz_result_get_mean_loss (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NAN);

  if (self->kind == ATTNVIZ_ATTENTION_ENCODER)
    return NAN;
  return ATTNVIZ_RESULT_GET_CLASS (self)->get_mean_loss (self);
}
