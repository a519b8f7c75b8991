/* attnviz-difference.c: A − B of two runs, as a result */
#define G_LOG_DOMAIN "attnviz-result"
#include "config.h"

#include <math.h>
#include <string.h>

#include <gio/gio.h>

#include "attnviz-difference.h"
#include "attnviz-metrics.h"
#include "attnviz-result-private.h"

struct _AttnvizDifference
{
  AttnvizResult parent_instance;  /* owns its rec: the tokens, shape and variant of the pair, no heads */

  AttnvizResult *a;
  AttnvizResult *b;
  double *tvd;             /* (n_layer * n_head) */
  GHashTable *differences; /* matrix key -> (T, T) A - B, computed on first use */
};

G_DEFINE_FINAL_TYPE (AttnvizDifference, attnviz_difference, ATTNVIZ_TYPE_RESULT)

static void
attnviz_difference_finalize (GObject *object)
{
  AttnvizDifference *self = ATTNVIZ_DIFFERENCE (object);

  g_clear_object (&self->a);
  g_clear_object (&self->b);
  g_free (self->tvd);
  g_clear_pointer (&self->differences, g_hash_table_unref);
  g_clear_pointer (&ATTNVIZ_RESULT (self)->rec, attnviz_recording_free);

  G_OBJECT_CLASS (attnviz_difference_parent_class)->finalize (object);
}

static AttnvizAttention *
attnviz_difference_get_source (AttnvizResult *result)
{
  return NULL;
}

/* A - B for one head or aggregate, kept for the result's life (the views
 * and exports hold pointers to it). */
static const float *
attnviz_difference_get_matrix (AttnvizResult *result, AttnvizAggregate aggregate, int layer, int head)
{
  AttnvizDifference *self = ATTNVIZ_DIFFERENCE (result);
  int H = result->n_head;

  if (aggregate != ATTNVIZ_AGGREGATE_HEAD)
    head = 0;
  else if (head < 0 || head >= H)
    return NULL;
  guint key = 1 + ((guint) aggregate * result->n_layer + layer) * H + head;
  float *out = g_hash_table_lookup (self->differences, GUINT_TO_POINTER (key));
  if (out != NULL)
    return out;

  const float *ma = attnviz_result_get_matrix (self->a, aggregate, layer, head);
  const float *mb = attnviz_result_get_matrix (self->b, aggregate, layer, head);
  if (ma == NULL || mb == NULL)
    return NULL;
  gsize n = (gsize) result->rows * result->cols;
  out = g_try_malloc (MAX (n, 1) * sizeof (float));
  if (out == NULL)
    return NULL;
  for (gsize i = 0; i < n; i++)
    out[i] = ma[i] - mb[i];
  g_hash_table_insert (self->differences, GUINT_TO_POINTER (key), out);
  return out;
}

static gboolean
attnviz_difference_is_long (AttnvizResult *result)
{
  AttnvizDifference *self = ATTNVIZ_DIFFERENCE (result);
  return attnviz_result_is_long (self->a) || attnviz_result_is_long (self->b);
}

static gboolean
attnviz_difference_has_matrix (AttnvizResult *result, AttnvizAggregate aggregate, int layer, int head)
{
  AttnvizDifference *self = ATTNVIZ_DIFFERENCE (result);
  return attnviz_result_has_matrix (self->a, aggregate, layer, head)
         && attnviz_result_has_matrix (self->b, aggregate, layer, head);
}

/* A's and B's rectangles, subtracted. */
static void
attnviz_difference_get_rect (AttnvizResult *result, AttnvizAggregate aggregate, int layer, int head,
                             int r0, int r1, int c0, int c1, float *out, gsize ld)
{
  AttnvizDifference *self = ATTNVIZ_DIFFERENCE (result);
  int w = c1 - c0, h = r1 - r0;
  g_autofree float *b = g_new (float, (gsize) w * h);

  attnviz_result_get_rect (self->a, aggregate, layer, head, r0, r1, c0, c1, out, ld);
  attnviz_result_get_rect (self->b, aggregate, layer, head, r0, r1, c0, c1, b, w);
  for (int i = 0; i < h; i++)
    for (int j = 0; j < w; j++)
      out[(gsize) i * ld + j] -= b[(gsize) i * w + j];
}

/* A head's overview is made like an aggregate's, and kept. */
static const float *
attnviz_difference_get_head_overview (AttnvizResult *result, int layer, int head, AttnvizPool pool,
                                      int *rows, int *cols)
{
  if (head < 0 || head >= result->n_head)
    return NULL;
  return _attnviz_result_kept_overview (result, ATTNVIZ_AGGREGATE_HEAD, layer, head, pool, rows, cols);
}

/* The MEAN overview of A − B: A's minus B's, bin by bin (exact: means
 * subtract, maxima do not). */
static float *
attnviz_difference_make_overview (AttnvizResult *result, AttnvizAggregate aggregate, int layer, int head,
                                  AttnvizPool pool, int *rows, int *cols)
{
  AttnvizDifference *self = ATTNVIZ_DIFFERENCE (result);
  int rb, cb;

  if (pool != ATTNVIZ_POOL_MEAN)
    return NULL;
  const float *a = attnviz_result_get_overview (self->a, aggregate, layer, head, pool, rows, cols);
  const float *b = attnviz_result_get_overview (self->b, aggregate, layer, head, pool, &rb, &cb);
  if (a == NULL || b == NULL || *rows != rb || *cols != cb)
    return NULL;
  float *data = g_new (float, (gsize) rb * cb);
  for (gsize i = 0; i < (gsize) rb * cb; i++)
    data[i] = a[i] - b[i];
  return data;
}

static double
attnviz_difference_find_head_max (AttnvizResult *result, int layer, int head)
{
  AttnvizDifference *self = ATTNVIZ_DIFFERENCE (result);

  if (attnviz_result_is_long (result))
    /* |A − B| <= max (A, B) for weights in [0, 1]: a bound, with no matrix made */
    return MAX (_attnviz_result_head_max (self->a, layer, head), _attnviz_result_head_max (self->b, layer, head));
  return _attnviz_result_matrix_max (result, layer, head);
}

static void
attnviz_difference_describe_picture (AttnvizResult *result, GString *s, AttnvizAggregate aggregate,
                                     int layer, int head)
{
  ATTNVIZ_RESULT_CLASS (attnviz_difference_parent_class)->describe_picture (result, s, aggregate, layer, head);
  g_string_append (s, " · A − B");
}

static double
attnviz_difference_get_token_loss (AttnvizResult *result, int index)
{
  AttnvizDifference *self = ATTNVIZ_DIFFERENCE (result);
  return attnviz_result_get_token_loss (self->a, index) - attnviz_result_get_token_loss (self->b, index);
}

static double
attnviz_difference_get_mean_loss (AttnvizResult *result)
{
  AttnvizDifference *self = ATTNVIZ_DIFFERENCE (result);
  return attnviz_result_get_mean_loss (self->a) - attnviz_result_get_mean_loss (self->b);
}

static AttnvizDifference *difference_of_kind (AttnvizDifference *of, AttnvizResult *a, AttnvizResult *b);

/* An encoder-decoder pair's other attentions: A's minus B's, the same way. */
static AttnvizResult *
attnviz_difference_get_attention (AttnvizResult *result, AttnvizAttentionKind kind)
{
  AttnvizDifference *self = ATTNVIZ_DIFFERENCE (result);

  if (kind == result->kind)
    return g_object_ref (result);
  if (!result->seq2seq || result->kind != ATTNVIZ_ATTENTION_SELF)
    return NULL;
  g_autoptr(AttnvizResult) a = attnviz_result_get_attention (self->a, kind);
  g_autoptr(AttnvizResult) b = attnviz_result_get_attention (self->b, kind);
  if (a == NULL || b == NULL)
    return NULL;
  return ATTNVIZ_RESULT (difference_of_kind (self, a, b));
}

static gboolean
attnviz_difference_supports_matrix (AttnvizResult *result, AttnvizMatrixKind matrix, GError **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "A comparison shows attention weights only, not %s.",
               attnviz_matrix_describe (matrix));
  return FALSE;
}

static void
attnviz_difference_class_init (AttnvizDifferenceClass *klass)
{
  AttnvizResultClass *result_class = ATTNVIZ_RESULT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = attnviz_difference_finalize;
  result_class->signed_values = TRUE;
  result_class->get_source = attnviz_difference_get_source;
  result_class->get_matrix = attnviz_difference_get_matrix;
  result_class->is_long = attnviz_difference_is_long;
  result_class->has_matrix = attnviz_difference_has_matrix;
  result_class->get_rect = attnviz_difference_get_rect;
  result_class->get_head_overview = attnviz_difference_get_head_overview;
  result_class->make_overview = attnviz_difference_make_overview;
  result_class->find_head_max = attnviz_difference_find_head_max;
  result_class->describe_picture = attnviz_difference_describe_picture;
  result_class->get_token_loss = attnviz_difference_get_token_loss;
  result_class->get_mean_loss = attnviz_difference_get_mean_loss;
  result_class->supports_matrix = attnviz_difference_supports_matrix;
  result_class->get_attention = attnviz_difference_get_attention;
}

static void
attnviz_difference_init (AttnvizDifference *self)
{
}

static gboolean
complete (const AttnvizRecording *rec)
{
  return rec->n_rec_layers == rec->n_layer && rec->n_rec_heads == rec->n_head;
}

AttnvizDifference *
attnviz_difference_new (AttnvizResult *a, AttnvizResult *b, GError **error)
{
  g_return_val_if_fail (ATTNVIZ_IS_RUN_RESULT (a) && ATTNVIZ_IS_RUN_RESULT (b), NULL);

  const AttnvizRecording *ra = a->rec, *rb = b->rec;
  if (ra->T != rb->T || ra->n_layer != rb->n_layer || ra->n_head != rb->n_head
      || memcmp (ra->ids, rb->ids, sizeof (gint32) * ra->T) != 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "A and B are not runs of the same tokens by the same model");
      return NULL;
    }
  if (a->seq2seq != b->seq2seq || ra->S != rb->S || ra->n_enc_layer != rb->n_enc_layer
      || (ra->S > 0 && memcmp (ra->src_ids, rb->src_ids, sizeof (gint32) * ra->S) != 0))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "A and B are not runs of the same source and target tokens by the same model");
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
  /* Heads additive in both runs alike stay marked in the changes' grid. */
  gsize n_marks = (gsize) MAX (ra->n_layer, ra->n_enc_layer) * ra->n_head;
  if (ra->head_additive != NULL && rb->head_additive != NULL && ra->n_enc_layer == rb->n_enc_layer
      && memcmp (ra->head_additive, rb->head_additive, n_marks) == 0)
    rec->head_additive = g_memdup2 (ra->head_additive, n_marks);

  char **labels = g_strdupv (a->labels);
  GArray *tokens = NULL;
  if (a->tokens != NULL)
    {
      tokens = g_array_sized_new (FALSE, FALSE, sizeof (AttnvizToken), a->tokens->len);
      g_array_append_vals (tokens, a->tokens->data, a->tokens->len);
    }
  AttnvizDifference *self = g_object_new (ATTNVIZ_TYPE_DIFFERENCE, NULL);
  _attnviz_result_init_self (ATTNVIZ_RESULT (self), rec, labels, tokens, a->text, a->model_name);
  ATTNVIZ_RESULT (self)->seq2seq = a->seq2seq;
  self->a = g_object_ref (a);
  self->b = g_object_ref (b);
  self->tvd = g_new0 (double, MAX ((gsize) ra->n_layer * ra->n_head, 1));
  attnviz_recording_tvd_per_head (ra, rb, self->tvd);
  self->differences = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  return self;
}

/* A − B of A and B, the same attention (not the self-attention) of the
 * runs OF compares: its own recording of no heads holds the pair's target
 * and source ids. */
static AttnvizDifference *
difference_of_kind (AttnvizDifference *of, AttnvizResult *a, AttnvizResult *b)
{
  const AttnvizRecording *ra = ATTNVIZ_RESULT (of)->rec;
  AttnvizRecording *rec = attnviz_recording_new (ra->T, ra->n_layer, ra->n_head, ra->vocab_size,
                                                 NULL, 0, NULL, 0, FALSE, 0, NULL);
  if (rec == NULL)
    return NULL;
  memcpy (rec->ids, ra->ids, sizeof (gint32) * ra->T);
  rec->S = ra->S;
  rec->n_enc_layer = ra->n_enc_layer;
  rec->src_ids = g_memdup2 (ra->src_ids, sizeof (gint32) * ra->S);
  rec->d_model = ra->d_model;
  rec->variant = g_strdup (ra->variant);
  if (ra->head_additive != NULL)
    rec->head_additive = g_memdup2 (ra->head_additive, (gsize) MAX (ra->n_layer, ra->n_enc_layer) * ra->n_head);
  for (int t = 0; t < rec->T; t++)
    rec->loss[t] = NAN;

  AttnvizDifference *self = g_object_new (ATTNVIZ_TYPE_DIFFERENCE, NULL);
  AttnvizResult *r = ATTNVIZ_RESULT (self);
  r->rec = rec;
  r->kind = a->kind;
  r->seq2seq = TRUE;
  r->rows = a->rows;
  r->cols = a->cols;
  r->n_layer = a->n_layer;
  r->n_head = a->n_head;
  r->causal = FALSE;
  /* target rows and source columns, or source both ways (the encoder) */
  r->ids = a->kind == ATTNVIZ_ATTENTION_CROSS ? rec->ids : rec->src_ids;
  r->col_ids = rec->src_ids;
  r->labels = g_strdupv (a->labels);
  r->col_labels = g_strdupv (a->col_labels);
  r->tokens = a->tokens ? g_array_ref (a->tokens) : NULL;
  r->col_tokens = a->col_tokens ? g_array_ref (a->col_tokens) : NULL;
  r->text = g_strdup (a->text);
  r->model_name = g_strdup (a->model_name);
  _attnviz_result_alloc_maps (r);
  self->a = g_object_ref (a);
  self->b = g_object_ref (b);
  gsize n = (gsize) r->n_layer * r->n_head;
  self->tvd = g_new0 (double, MAX (n, 1));
  AttnvizAttention *sa = attnviz_result_get_source (a), *sb = attnviz_result_get_source (b);
  for (gsize k = 0; k < n && sa != NULL && sb != NULL; k++)
    self->tvd[k] = attnviz_attention_total_variation (sa, sb, (int) (k / r->n_head), (int) (k % r->n_head));
  self->differences = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  return self;
}

AttnvizResult *
attnviz_difference_get_a (AttnvizDifference *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_DIFFERENCE (self), NULL);
  return self->a;
}

AttnvizResult *
attnviz_difference_get_b (AttnvizDifference *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_DIFFERENCE (self), NULL);
  return self->b;
}

const double *
attnviz_difference_get_tvd (AttnvizDifference *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_DIFFERENCE (self), NULL);
  return self->tvd;
}
