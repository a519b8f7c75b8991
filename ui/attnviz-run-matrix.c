/* attnviz-run-matrix.c: another matrix of a run, as a result
 *
 * It borrows the recording of the result it derives from (which keeps it
 * in ->matrices and outlives it) and answers the same calls with other
 * cells:
 *
 *   value-weighted  a short run: every head's α_ij f_j as dense maps made
 *                   at once (attnviz_attention_dup_value_weighted (), no
 *                   more than the run's own dense matrices); a long run:
 *                   read through the source's value-weighted rectangles,
 *                   with max and mean overviews of R x C bins per head
 *                   made by prepare (attnviz-result-matrix.c).
 *   rollout, flow   one (T, T) matrix computed by prepare in a worker; the
 *                   same for every layer, head and aggregate.
 */
#define G_LOG_DOMAIN "attnviz-result"
#include "config.h"

#include <gio/gio.h>

#include "attnviz-result-private.h"
#include "attnviz-run-matrix.h"

/* Bins a side of a long value-weighted head's overviews, at most. */
#define VW_OVERVIEW_BINS 256

struct _AttnvizRunMatrix
{
  AttnvizResult parent_instance;

  AttnvizMatrixKind matrix; /* value-weighted, rollout or flow */
  int step;                 /* the run's */
  float *owned;             /* value-weighted (n_layer * n_head, rows, cols), or rollout / flow (rows, cols) */
  float **vw_max;           /* a long run's value-weighted overviews (n_layer * n_head), each (vw_rows, vw_cols), made by prepare */
  float **vw_mean;
  int vw_rows, vw_cols;
};

G_DEFINE_FINAL_TYPE (AttnvizRunMatrix, attnviz_run_matrix, ATTNVIZ_TYPE_RESULT)

static gboolean
is_whole_run (AttnvizRunMatrix *self)
{
  return self->matrix >= ATTNVIZ_MATRIX_ROLLOUT;
}

static void
attnviz_run_matrix_finalize (GObject *object)
{
  AttnvizRunMatrix *self = ATTNVIZ_RUN_MATRIX (object);
  AttnvizResult *base = ATTNVIZ_RESULT (object);
  gsize n = (gsize) base->n_layer * base->n_head;

  g_free (self->owned);
  for (gsize i = 0; self->vw_max != NULL && i < n; i++)
    {
      g_free (self->vw_max[i]);
      g_free (self->vw_mean[i]);
    }
  g_free (self->vw_max);
  g_free (self->vw_mean);

  G_OBJECT_CLASS (attnviz_run_matrix_parent_class)->finalize (object);
}

static AttnvizAttention *
attnviz_run_matrix_get_source (AttnvizResult *result)
{
  /* Rollout and flow are dense matrices of their own. */
  if (is_whole_run (ATTNVIZ_RUN_MATRIX (result)))
    return NULL;
  return ATTNVIZ_RESULT_CLASS (attnviz_run_matrix_parent_class)->get_source (result);
}

static int
attnviz_run_matrix_get_step (AttnvizResult *result)
{
  return ATTNVIZ_RUN_MATRIX (result)->step;
}

static AttnvizMatrixKind
attnviz_run_matrix_get_matrix_kind (AttnvizResult *result)
{
  return ATTNVIZ_RUN_MATRIX (result)->matrix;
}

static const float *
attnviz_run_matrix_get_matrix (AttnvizResult *result, AttnvizAggregate aggregate, int layer, int head)
{
  AttnvizRunMatrix *self = ATTNVIZ_RUN_MATRIX (result);

  /* Rollout and flow: one matrix for every head and aggregate. */
  if (is_whole_run (self))
    return self->owned;
  return ATTNVIZ_RESULT_CLASS (attnviz_run_matrix_parent_class)->get_matrix (result, aggregate, layer, head);
}

static gboolean
attnviz_run_matrix_source_has_head (AttnvizResult *result, AttnvizAttention *source, int layer, int head)
{
  return attnviz_attention_get_value_norms (source, layer, head) != NULL;
}

static void
attnviz_run_matrix_read_source_rect (AttnvizResult *result, AttnvizAttention *source, int layer, int head,
                                     int r0, int r1, int c0, int c1, float *out, gsize ld)
{
  attnviz_attention_get_value_weighted_rect (source, layer, head, r0, r1, c0, c1, out, ld);
}

static void
attnviz_run_matrix_get_rect (AttnvizResult *result, AttnvizAggregate aggregate, int layer, int head,
                             int r0, int r1, int c0, int c1, float *out, gsize ld)
{
  /* Rollout and flow are the same matrix for every head. */
  if (is_whole_run (ATTNVIZ_RUN_MATRIX (result)))
    _attnviz_result_head_rect (result, layer, 0, r0, r1, c0, c1, out, ld);
  else
    ATTNVIZ_RESULT_CLASS (attnviz_run_matrix_parent_class)->get_rect (result, aggregate, layer, head,
                                                                     r0, r1, c0, c1, out, ld);
}

/* The forward pass's overviews are of the weights: a long value-weighted
 * head's are made by prepare. */
static const float *
attnviz_run_matrix_get_head_overview (AttnvizResult *result, int layer, int head, AttnvizPool pool,
                                      int *rows, int *cols)
{
  AttnvizRunMatrix *self = ATTNVIZ_RUN_MATRIX (result);

  if (self->vw_max == NULL || head < 0 || head >= result->n_head)
    return NULL;
  gsize k = (gsize) layer * result->n_head + head;
  *rows = self->vw_rows;
  *cols = self->vw_cols;
  return pool == ATTNVIZ_POOL_MAX ? self->vw_max[k] : self->vw_mean[k];
}

static void
attnviz_run_matrix_describe_picture (AttnvizResult *result, GString *s, AttnvizAggregate aggregate,
                                     int layer, int head)
{
  AttnvizRunMatrix *self = ATTNVIZ_RUN_MATRIX (result);

  /* One matrix of the whole run: no layer or head to name. */
  if (is_whole_run (self))
    {
      g_string_append_printf (s, "%s over %d layers", attnviz_matrix_describe (self->matrix), result->n_layer);
      return;
    }
  ATTNVIZ_RESULT_CLASS (attnviz_run_matrix_parent_class)->describe_picture (result, s, aggregate, layer, head);
  g_string_append (s, " · value-weighted");
}

static gboolean
attnviz_run_matrix_supports_matrix (AttnvizResult *result, AttnvizMatrixKind matrix, GError **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "This run kept only its attention weights: no %s.",
               attnviz_matrix_describe (matrix));
  return FALSE;
}

static void
attnviz_run_matrix_class_init (AttnvizRunMatrixClass *klass)
{
  AttnvizResultClass *result_class = ATTNVIZ_RESULT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = attnviz_run_matrix_finalize;
  result_class->get_source = attnviz_run_matrix_get_source;
  result_class->get_step = attnviz_run_matrix_get_step;
  result_class->get_matrix_kind = attnviz_run_matrix_get_matrix_kind;
  result_class->get_matrix = attnviz_run_matrix_get_matrix;
  result_class->source_has_head = attnviz_run_matrix_source_has_head;
  result_class->read_source_rect = attnviz_run_matrix_read_source_rect;
  result_class->get_rect = attnviz_run_matrix_get_rect;
  result_class->get_head_overview = attnviz_run_matrix_get_head_overview;
  result_class->describe_picture = attnviz_run_matrix_describe_picture;
  result_class->supports_matrix = attnviz_run_matrix_supports_matrix;
}

static void
attnviz_run_matrix_init (AttnvizRunMatrix *self)
{
}

/* OF's shape, labels and names; no cells yet. */
static AttnvizRunMatrix *
new_like (AttnvizResult *of, AttnvizMatrixKind matrix)
{
  AttnvizRunMatrix *self = g_object_new (ATTNVIZ_TYPE_RUN_MATRIX, NULL);
  AttnvizResult *m = ATTNVIZ_RESULT (self);

  self->matrix = matrix;
  self->step = attnviz_result_get_step (of);
  m->rec = of->rec;
  m->kind = of->kind;
  m->rows = of->rows;
  m->cols = of->cols;
  m->n_layer = of->n_layer;
  m->n_head = of->n_head;
  m->causal = of->causal;
  m->ids = of->ids;
  m->col_ids = of->col_ids;
  m->labels = g_strdupv (of->labels);
  m->col_labels = g_strdupv (of->col_labels);
  m->tokens = of->tokens ? g_array_ref (of->tokens) : NULL;
  m->col_tokens = of->col_tokens ? g_array_ref (of->col_tokens) : NULL;
  m->text = g_strdup (of->text);
  m->model_name = g_strdup (of->model_name);
  m->loss_predicts_next = of->loss_predicts_next;
  _attnviz_result_alloc_maps (m);
  return self;
}

AttnvizResult *
_attnviz_run_matrix_new (AttnvizResult *of, AttnvizMatrixKind matrix, float *values)
{
  AttnvizRunMatrix *self = new_like (of, matrix);
  AttnvizResult *m = ATTNVIZ_RESULT (self);
  gsize cells = (gsize) of->rows * of->cols, n = (gsize) of->n_layer * of->n_head;

  if (values != NULL)
    {
      self->owned = values;
      for (gsize i = 0; i < n; i++)
        m->maps[i] = self->owned;
      return m;
    }
  g_assert (matrix == ATTNVIZ_MATRIX_VALUE_WEIGHTED);
  AttnvizAttention *source = attnviz_result_get_source (of);
  if (!attnviz_attention_is_dense (source))
    {
      self->vw_max = g_new0 (float *, MAX (n, 1));
      self->vw_mean = g_new0 (float *, MAX (n, 1));
      self->vw_rows = MIN (of->rows, VW_OVERVIEW_BINS);
      self->vw_cols = MIN (of->cols, VW_OVERVIEW_BINS);
      return m;
    }
  self->owned = g_new0 (float, MAX (cells * n, 1));
  for (int l = 0; l < of->n_layer; l++)
    for (int h = 0; h < of->n_head; h++)
      {
        float *out = self->owned + ((gsize) l * of->n_head + h) * cells;
        if (attnviz_attention_get_value_norms (source, l, h) != NULL
            && attnviz_attention_get_value_weighted_rect (source, l, h, 0, of->rows, 0, of->cols, out, of->cols))
          m->maps[l * of->n_head + h] = out;
      }
  return m;
}

void
_attnviz_run_matrix_get_bins (AttnvizResult *m, int *rows, int *cols)
{
  AttnvizRunMatrix *self = ATTNVIZ_RUN_MATRIX (m);
  *rows = self->vw_rows;
  *cols = self->vw_cols;
}

gboolean
_attnviz_run_matrix_has_overview (AttnvizResult *m, int layer, int head)
{
  if (!ATTNVIZ_IS_RUN_MATRIX (m) || ATTNVIZ_RUN_MATRIX (m)->vw_max == NULL)
    return TRUE;
  return ATTNVIZ_RUN_MATRIX (m)->vw_max[layer * m->n_head + head] != NULL;
}

void
_attnviz_run_matrix_take_overview (AttnvizResult *m, int layer, int head, float **max, float **mean)
{
  AttnvizRunMatrix *self = ATTNVIZ_RUN_MATRIX (m);
  gsize k = (gsize) layer * m->n_head + head;

  if (self->vw_max[k] != NULL)
    return;
  self->vw_max[k] = g_steal_pointer (max);
  self->vw_mean[k] = g_steal_pointer (mean);
}
