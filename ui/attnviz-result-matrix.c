/* attnviz-result-matrix.c: the other matrices of a result, as results
 *
 * A result of weights with an attention source (a run, or one attention
 * of an encoder-decoder run) gives its value-weighted attention, rollout
 * and flow as AttnvizRunMatrix results (attnviz-run-matrix.c), made on
 * first use and kept in ->matrices.  Rollout and flow are computed here by
 * prepare in a worker; so are a long run's value-weighted overviews, of
 * R x C bins per head, exactly, from row bands (they set the colour range
 * and are painted before the exact tiles, as the weights' overviews are).
 */
#define G_LOG_DOMAIN "attnviz-result"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-result-private.h"
#include "attnviz-rollout.h"

/* Query rows read at once making them. */
#define VW_BAND_ROWS 128

G_DEFINE_ENUM_TYPE (AttnvizMatrixKind, attnviz_matrix_kind,
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MATRIX_WEIGHTS, "weights"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MATRIX_VALUE_WEIGHTED, "value-weighted"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MATRIX_ROLLOUT, "rollout"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MATRIX_FLOW, "flow"))

const char *
attnviz_matrix_describe (AttnvizMatrixKind matrix)
{
  switch (matrix)
    {
    case ATTNVIZ_MATRIX_VALUE_WEIGHTED: return "value-weighted attention";
    case ATTNVIZ_MATRIX_ROLLOUT: return "attention rollout";
    case ATTNVIZ_MATRIX_FLOW: return "attention flow";
    case ATTNVIZ_MATRIX_WEIGHTS:
    default: return "attention weights";
    }
}

const char *
attnviz_matrix_get_unit (AttnvizMatrixKind matrix)
{
  switch (matrix)
    {
    case ATTNVIZ_MATRIX_VALUE_WEIGHTED: return "α·‖W_O v‖";
    case ATTNVIZ_MATRIX_ROLLOUT: return "rollout";
    case ATTNVIZ_MATRIX_FLOW: return "flow";
    case ATTNVIZ_MATRIX_WEIGHTS:
    default: return "weight";
    }
}

void
_attnviz_result_clear_matrices (AttnvizResult *self)
{
  for (int m = 0; m < ATTNVIZ_N_MATRICES; m++)
    g_clear_object (&self->matrices[m]);
}

AttnvizMatrixKind
attnviz_result_get_matrix_kind (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), ATTNVIZ_MATRIX_WEIGHTS);
  return ATTNVIZ_RESULT_GET_CLASS (self)->get_matrix_kind (self);
}

gboolean
attnviz_result_supports_matrix (AttnvizResult *self, AttnvizMatrixKind matrix, GError **error)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), FALSE);
  g_return_val_if_fail ((guint) matrix < ATTNVIZ_N_MATRICES, FALSE);

  if (matrix == ATTNVIZ_MATRIX_WEIGHTS || attnviz_result_get_matrix_kind (self) == matrix)
    return TRUE;
  return ATTNVIZ_RESULT_GET_CLASS (self)->supports_matrix (self, matrix, error);
}

static gboolean
attnviz_result_real_supports_matrix (AttnvizResult *self, AttnvizMatrixKind matrix, GError **error)
{
  const char *what = attnviz_matrix_describe (matrix);
  AttnvizAttention *source = attnviz_result_get_source (self);
  if (source == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "This run kept only its attention weights: no %s.", what);
      return FALSE;
    }
  if (matrix == ATTNVIZ_MATRIX_VALUE_WEIGHTED)
    {
      for (int l = 0; l < self->n_layer; l++)
        for (int h = 0; h < self->n_head; h++)
          if (attnviz_attention_get_value_norms (source, l, h) != NULL)
            return TRUE;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "This attention has no value vectors to weigh (%s).", attnviz_attention_kind_describe (self->kind));
      return FALSE;
    }
  if (self->rows != self->cols)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "The %s runs through self-attention only, not the %s.",
                   what, attnviz_attention_kind_describe (self->kind));
      return FALSE;
    }
  int limit = matrix == ATTNVIZ_MATRIX_FLOW ? ATTNVIZ_FLOW_MAX_TOKENS : ATTNVIZ_ROLLOUT_MAX_TOKENS;
  if (self->rows > limit)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "The %s takes at most %d tokens; this run has %d.%s", what, limit, self->rows,
                   matrix == ATTNVIZ_MATRIX_FLOW ? " The attention rollout has no such limit." : "");
      return FALSE;
    }
  return TRUE;
}

AttnvizResult *
attnviz_result_peek_matrix (AttnvizResult *self, AttnvizMatrixKind matrix)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  g_return_val_if_fail ((guint) matrix < ATTNVIZ_N_MATRICES, NULL);

  AttnvizMatrixKind own = attnviz_result_get_matrix_kind (self);
  if (matrix == own)
    return self;
  if (own != ATTNVIZ_MATRIX_WEIGHTS || !attnviz_result_supports_matrix (self, matrix, NULL))
    return NULL;
  if (self->matrices[matrix] == NULL && matrix == ATTNVIZ_MATRIX_VALUE_WEIGHTED)
    self->matrices[matrix] = _attnviz_run_matrix_new (self, matrix, NULL);
  return self->matrices[matrix];
}

/* The heads whose overviews AGGREGATE of LAYER, HEAD paints: [*H0, *H1). */
static void
heads_of (AttnvizResult *m, AttnvizAggregate aggregate, int head, int *h0, int *h1)
{
  *h0 = aggregate == ATTNVIZ_AGGREGATE_HEAD ? head : 0;
  *h1 = aggregate == ATTNVIZ_AGGREGATE_HEAD ? head + 1 : m->n_head;
}

gboolean
attnviz_result_matrix_is_ready (AttnvizResult *self, AttnvizMatrixKind matrix, AttnvizAggregate aggregate,
                                int layer, int head)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), FALSE);

  AttnvizResult *m = attnviz_result_peek_matrix (self, matrix);
  if (m == NULL)
    return FALSE;
  if (layer < 0 || layer >= m->n_layer)
    return TRUE;
  int h0, h1;
  heads_of (m, aggregate, head, &h0, &h1);
  for (int h = MAX (h0, 0); h < MIN (h1, m->n_head); h++)
    if (!_attnviz_run_matrix_has_overview (m, layer, h) && attnviz_result_has_matrix (m, ATTNVIZ_AGGREGATE_HEAD, layer, h))
      return FALSE;
  return TRUE;
}

/* ---- Preparing, in a worker ------------------------------------------------ */

typedef struct {
  AttnvizMatrixKind matrix;
  AttnvizAttention *source;   /* the run's, read-only (thread-safe) */
  AttnvizResult *m;           /* a long value-weighted result (a reference), or NULL */
  int layer, h0, h1;
  int rows, cols, bin_rows, bin_cols;
  float *values;              /* rollout, flow: (rows, cols) */
  float **max, **mean;        /* value-weighted: (h1 - h0) overviews */
} Prepare;

static void
prepare_free (gpointer data)
{
  Prepare *p = data;
  for (int i = 0; p->max != NULL && i < p->h1 - p->h0; i++)
    {
      g_free (p->max[i]);
      g_free (p->mean[i]);
    }
  g_free (p->max);
  g_free (p->mean);
  g_free (p->values);
  g_clear_object (&p->m);
  g_free (p);
}

/* MAX and MEAN (bin_rows, bin_cols) of the value-weighted head, bins laid
 * out by attnviz_bin_start (), masked cells counting as zeros. */
static gboolean
vw_overviews (Prepare *p, int head, float *max, float *mean, GCancellable *cancellable)
{
  g_autofree float *band = g_new (float, (gsize) VW_BAND_ROWS * p->cols);
  g_autofree int *col_bin = g_new (int, p->cols);
  g_autofree double *sum = g_new0 (double, (gsize) p->bin_rows * p->bin_cols);

  for (int j = 0; j < p->cols; j++)
    col_bin[j] = attnviz_bin_of (j, p->bin_cols, p->cols);
  for (int r0 = 0; r0 < p->rows; r0 += VW_BAND_ROWS)
    {
      if (g_cancellable_is_cancelled (cancellable))
        return FALSE;
      int r1 = MIN (r0 + VW_BAND_ROWS, p->rows);
      if (!attnviz_attention_get_value_weighted_rect (p->source, p->layer, head, r0, r1, 0, p->cols, band, p->cols))
        return FALSE;
      for (int i = r0; i < r1; i++)
        {
          gsize b = (gsize) attnviz_bin_of (i, p->bin_rows, p->rows) * p->bin_cols;
          const float *row = band + (gsize) (i - r0) * p->cols;
          for (int j = 0; j < p->cols; j++)
            {
              sum[b + col_bin[j]] += row[j];
              if (row[j] > max[b + col_bin[j]])
                max[b + col_bin[j]] = row[j];
            }
        }
    }
  for (int bi = 0; bi < p->bin_rows; bi++)
    for (int bj = 0; bj < p->bin_cols; bj++)
      {
        double cells = (double) (attnviz_bin_start (bi + 1, p->bin_rows, p->rows) - attnviz_bin_start (bi, p->bin_rows, p->rows))
                       * (attnviz_bin_start (bj + 1, p->bin_cols, p->cols) - attnviz_bin_start (bj, p->bin_cols, p->cols));
        mean[(gsize) bi * p->bin_cols + bj] = (float) (sum[(gsize) bi * p->bin_cols + bj] / cells);
      }
  return TRUE;
}

static void
prepare_thread (GTask *task, gpointer object, gpointer data, GCancellable *cancellable)
{
  Prepare *p = data;
  GError *error = NULL;

  if (p->matrix == ATTNVIZ_MATRIX_ROLLOUT || p->matrix == ATTNVIZ_MATRIX_FLOW)
    {
      p->values = p->matrix == ATTNVIZ_MATRIX_ROLLOUT ? attnviz_attention_rollout (p->source, cancellable, &error)
                                                      : attnviz_attention_flow (p->source, cancellable, &error);
      if (p->values == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      g_task_return_boolean (task, TRUE);
      return;
    }
  gsize bins = (gsize) p->bin_rows * p->bin_cols;
  for (int h = p->h0; h < p->h1; h++)
    {
      if (attnviz_attention_get_value_norms (p->source, p->layer, h) == NULL)
        continue;
      float *max = p->max[h - p->h0] = g_new0 (float, bins);
      float *mean = p->mean[h - p->h0] = g_new0 (float, bins);
      if (!vw_overviews (p, h, max, mean, cancellable))
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Cancelled");
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
}

void
attnviz_result_prepare_matrix_async (AttnvizResult *self, AttnvizMatrixKind matrix, AttnvizAggregate aggregate,
                                     int layer, int head, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (ATTNVIZ_IS_RESULT (self));

  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, attnviz_result_prepare_matrix_async);
  GError *error = NULL;
  if (!attnviz_result_supports_matrix (self, matrix, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (attnviz_result_matrix_is_ready (self, matrix, aggregate, layer, head))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  Prepare *p = g_new0 (Prepare, 1);
  p->matrix = matrix;
  p->source = attnviz_result_get_source (self);
  p->layer = layer;
  p->rows = self->rows;
  p->cols = self->cols;
  if (matrix == ATTNVIZ_MATRIX_VALUE_WEIGHTED)
    {
      p->m = g_object_ref (attnviz_result_peek_matrix (self, matrix));
      heads_of (p->m, aggregate, head, &p->h0, &p->h1);
      _attnviz_run_matrix_get_bins (p->m, &p->bin_rows, &p->bin_cols);
      p->max = g_new0 (float *, p->h1 - p->h0);
      p->mean = g_new0 (float *, p->h1 - p->h0);
    }
  g_task_set_task_data (task, p, prepare_free);
  g_task_run_in_thread (task, prepare_thread);
}

gboolean
attnviz_result_prepare_matrix_finish (AttnvizResult *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  GTask *task = G_TASK (result);
  if (!g_task_propagate_boolean (task, error))
    return FALSE;
  Prepare *p = g_task_get_task_data (task);
  if (p == NULL)
    return TRUE;
  /* Kept now, on the main context: the views read them from here on. */
  if (p->values != NULL && self->matrices[p->matrix] == NULL)
    self->matrices[p->matrix] = _attnviz_run_matrix_new (self, p->matrix, g_steal_pointer (&p->values));
  for (int h = p->h0; p->max != NULL && h < p->h1; h++)
    if (p->max[h - p->h0] != NULL)
      _attnviz_run_matrix_take_overview (p->m, p->layer, h, &p->max[h - p->h0], &p->mean[h - p->h0]);
  /* A colour range looked for before the overviews were made found none. */
  if (p->m != NULL)
    g_clear_pointer (&p->m->head_max, g_free);
  return TRUE;
}

void
_attnviz_result_class_init_matrix (AttnvizResultClass *klass)
{
  klass->supports_matrix = attnviz_result_real_supports_matrix;
}
