/* attnviz-result.c: one finished run, shared by the views */
#define G_LOG_DOMAIN "attnviz-result"
#include "config.h"

#include <string.h>

#include <math.h>

#include <gio/gio.h>

#include "attnviz-colormap.h"
#include "attnviz-metrics.h"
#include "attnviz-result.h"
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

struct _AttnvizResult
{
  GObject parent_instance;

  AttnvizRecording *rec;
  char **labels;          /* (T + 1) */
  GArray *tokens;         /* (T) AttnvizToken, or NULL */
  char *text;
  char *model_name;

  const float **maps;     /* (n_layer * n_head) into rec->attn */
  float **mean;           /* (n_layer) each (T, T), computed on first use */
  float **max;
  gboolean loss_predicts_next;

  /* A difference: A - B */
  AttnvizResult *a;
  AttnvizResult *b;
  double *tvd;            /* (n_layer * n_head) */
  GHashTable *differences;/* matrix key -> (T, T) A - B, computed on first use */
};

G_DEFINE_FINAL_TYPE (AttnvizResult, attnviz_result, G_TYPE_OBJECT)

static void
attnviz_result_finalize (GObject *object)
{
  AttnvizResult *self = ATTNVIZ_RESULT (object);
  int n_layer = self->rec->n_layer;

  for (int l = 0; l < n_layer; l++)
    {
      g_free (self->mean[l]);
      g_free (self->max[l]);
    }
  g_free (self->mean);
  g_free (self->max);
  g_free (self->maps);
  g_clear_pointer (&self->rec, attnviz_recording_free);
  g_strfreev (self->labels);
  g_clear_pointer (&self->tokens, g_array_unref);
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
}

AttnvizResult *
attnviz_result_new (AttnvizRecording *rec, char **labels, GArray *tokens, const char *text, const char *model_name)
{
  g_return_val_if_fail (rec != NULL, NULL);
  g_return_val_if_fail (labels != NULL && g_strv_length (labels) == (guint) rec->T, NULL);
  g_return_val_if_fail (tokens == NULL || tokens->len == (guint) rec->T, NULL);

  AttnvizResult *self = g_object_new (ATTNVIZ_TYPE_RESULT, NULL);
  self->rec = rec;
  self->labels = labels;
  self->tokens = tokens;
  self->text = g_strdup (text);
  self->model_name = g_strdup (model_name);

  int L = rec->n_layer, H = rec->n_head;
  self->maps = g_new0 (const float *, (gsize) L * H);
  for (int l = 0; l < L; l++)
    for (int h = 0; h < H; h++)
      self->maps[l * H + h] = attnviz_recording_get_attention (rec, l, h);
  self->mean = g_new0 (float *, L);
  self->max = g_new0 (float *, L);
  return self;
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
  return self->rec->T;
}

int
attnviz_result_get_n_layers (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), 0);
  return self->rec->n_layer;
}

int
attnviz_result_get_n_heads (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), 0);
  return self->rec->n_head;
}

gboolean
attnviz_result_get_causal (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), FALSE);
  return self->rec->causal;
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
  g_return_val_if_fail (index >= 0 && index < self->rec->T, NULL);
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
  g_return_val_if_fail (index >= 0 && index < self->rec->T, -1);
  return self->rec->ids[index];
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
  int H = self->rec->n_head;
  gsize n = (gsize) self->rec->T * self->rec->T;
  int used = 0;

  for (int h = 0; h < H; h++)
    {
      const float *m = self->maps[layer * H + h];
      if (m == NULL)
        continue;
      if (used == 0)
        memcpy (out, m, n * sizeof (float));
      else if (take_max)
        for (gsize i = 0; i < n; i++)
          out[i] = MAX (out[i], m[i]);
      else
        for (gsize i = 0; i < n; i++)
          out[i] += m[i];
      used++;
    }
  if (used == 0)
    return FALSE;
  if (!take_max && used > 1)
    {
      float k = 1.0f / used;
      for (gsize i = 0; i < n; i++)
        out[i] *= k;
    }
  return TRUE;
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

  int L = self->rec->n_layer, H = self->rec->n_head;
  if (layer < 0 || layer >= L)
    return NULL;
  if (self->a != NULL)
    return difference_matrix (self, aggregate, layer, head);
  if (aggregate == ATTNVIZ_AGGREGATE_HEAD)
    return head >= 0 && head < H ? self->maps[layer * H + head] : NULL;

  float **cache = aggregate == ATTNVIZ_AGGREGATE_MAX ? self->max : self->mean;
  if (cache[layer] == NULL)
    {
      gsize n = (gsize) self->rec->T * self->rec->T;
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

  const char *suffix = self->a != NULL ? " · A − B" : "";

  switch (aggregate)
    {
    case ATTNVIZ_AGGREGATE_MEAN:
      return g_strdup_printf ("layer %d · mean over %d heads%s", layer, self->rec->n_head, suffix);
    case ATTNVIZ_AGGREGATE_MAX:
      return g_strdup_printf ("layer %d · max over %d heads%s", layer, self->rec->n_head, suffix);
    case ATTNVIZ_AGGREGATE_HEAD:
    default:
      return g_strdup_printf ("layer %d · head %d%s", layer, head, suffix);
    }
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

  if (index < 0 || index >= self->rec->T)
    return NAN;
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
