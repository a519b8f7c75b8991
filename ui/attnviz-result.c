/* attnviz-result.c: one finished run, shared by the views */
#define G_LOG_DOMAIN "attnviz-result"
#include "config.h"

#include <string.h>

#include "attnviz-colormap.h"
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

const float *
attnviz_result_get_matrix (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);

  int L = self->rec->n_layer, H = self->rec->n_head;
  if (layer < 0 || layer >= L)
    return NULL;
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

  switch (aggregate)
    {
    case ATTNVIZ_AGGREGATE_MEAN:
      return g_strdup_printf ("layer %d · mean over %d heads", layer, self->rec->n_head);
    case ATTNVIZ_AGGREGATE_MAX:
      return g_strdup_printf ("layer %d · max over %d heads", layer, self->rec->n_head);
    case ATTNVIZ_AGGREGATE_HEAD:
    default:
      return g_strdup_printf ("layer %d · head %d", layer, head);
    }
}
