/* attnviz-result-read.c: reading any run, long ones included
 *
 * A long run keeps no dense matrices: a head is read through the run's
 * attention source (attnviz-attention.h), which recomputes rows exactly;
 * an aggregate combines its heads' rectangles as attnviz_combine_maps ()
 * combines whole maps (so the values are those of get_matrix () for a
 * short run, bit for bit).  The defaults of the class's functions are
 * here; a difference (attnviz-difference.c) and another matrix of a run
 * (attnviz-run-matrix.c) answer some their own way.
 */
#define G_LOG_DOMAIN "attnviz-result"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-metrics.h"
#include "attnviz-result-private.h"

/* Rows read at once when pooling: the source's recompute block. */
#define BAND_ROWS 128

typedef struct {
  int rows, cols;
  float *data;
} Overview;

static void
overview_free (gpointer data)
{
  Overview *o = data;
  g_free (o->data);
  g_free (o);
}

void
_attnviz_result_clear_overviews (AttnvizResult *self)
{
  g_clear_pointer (&self->overviews, g_hash_table_unref);
  g_clear_pointer (&self->head_max, g_free);
}

static AttnvizAttention *
source_of (AttnvizResult *self)
{
  return attnviz_result_get_source (self);
}

static gboolean
attnviz_result_real_source_has_head (AttnvizResult *self, AttnvizAttention *source, int layer, int head)
{
  return attnviz_attention_has_head (source, layer, head);
}

/* Whether HEAD of LAYER was recorded, in the dense maps or the source. */
static gboolean
has_head (AttnvizResult *self, int layer, int head)
{
  if (layer < 0 || layer >= self->n_layer || head < 0 || head >= self->n_head)
    return FALSE;
  if (self->maps[layer * self->n_head + head] != NULL)
    return TRUE;
  AttnvizAttention *source = source_of (self);
  return source != NULL && ATTNVIZ_RESULT_GET_CLASS (self)->source_has_head (self, source, layer, head);
}

static gboolean
attnviz_result_real_is_long (AttnvizResult *self)
{
  AttnvizAttention *source = source_of (self);
  return source != NULL && !attnviz_attention_is_dense (source);
}

gboolean
attnviz_result_is_long (AttnvizResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), FALSE);
  return ATTNVIZ_RESULT_GET_CLASS (self)->is_long (self);
}

static gboolean
attnviz_result_real_has_matrix (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head)
{
  if (aggregate == ATTNVIZ_AGGREGATE_HEAD)
    return has_head (self, layer, head);
  for (int h = 0; h < self->n_head; h++)
    if (has_head (self, layer, h))
      return TRUE;
  return FALSE;
}

gboolean
attnviz_result_has_matrix (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), FALSE);
  return ATTNVIZ_RESULT_GET_CLASS (self)->has_matrix (self, aggregate, layer, head);
}

static void
attnviz_result_real_read_source_rect (AttnvizResult *self, AttnvizAttention *source, int layer, int head,
                                      int r0, int r1, int c0, int c1, float *out, gsize ld)
{
  attnviz_attention_get_rect (source, layer, head, r0, r1, c0, c1, out, ld);
}

void
_attnviz_result_head_rect (AttnvizResult *self, int layer, int head, int r0, int r1, int c0, int c1,
                           float *out, gsize ld)
{
  const float *m = self->maps[layer * self->n_head + head];
  if (m != NULL)
    {
      for (int i = r0; i < r1; i++)
        memcpy (out + (gsize) (i - r0) * ld, m + (gsize) i * self->cols + c0, sizeof (float) * (c1 - c0));
      return;
    }
  ATTNVIZ_RESULT_GET_CLASS (self)->read_source_rect (self, source_of (self), layer, head, r0, r1, c0, c1, out, ld);
}

gboolean
attnviz_result_get_rect (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                         int r0, int r1, int c0, int c1, float *out, gsize ld)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), FALSE);
  g_return_val_if_fail (0 <= r0 && r0 <= r1 && r1 <= self->rows && 0 <= c0 && c0 <= c1 && c1 <= self->cols, FALSE);
  g_return_val_if_fail (ld >= (gsize) (c1 - c0), FALSE);

  int w = c1 - c0, h = r1 - r0;
  if (!attnviz_result_has_matrix (self, aggregate, layer, head))
    return FALSE;
  if (w == 0 || h == 0)
    return TRUE;

  ATTNVIZ_RESULT_GET_CLASS (self)->get_rect (self, aggregate, layer, head, r0, r1, c0, c1, out, ld);
  return TRUE;
}

static void
attnviz_result_real_get_rect (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                              int r0, int r1, int c0, int c1, float *out, gsize ld)
{
  int w = c1 - c0, h = r1 - r0;
  if (aggregate == ATTNVIZ_AGGREGATE_HEAD)
    {
      _attnviz_result_head_rect (self, layer, head, r0, r1, c0, c1, out, ld);
      return;
    }

  /* As attnviz_combine_maps (): the first recorded head, then the others
   * in order, summed (then scaled by 1 / count) or maxed. */
  gboolean take_max = aggregate == ATTNVIZ_AGGREGATE_MAX;
  g_autofree float *scratch = g_new (float, (gsize) w * h);
  int used = 0;
  for (int hd = 0; hd < self->n_head; hd++)
    {
      if (!has_head (self, layer, hd))
        continue;
      if (used++ == 0)
        {
          _attnviz_result_head_rect (self, layer, hd, r0, r1, c0, c1, out, ld);
          continue;
        }
      _attnviz_result_head_rect (self, layer, hd, r0, r1, c0, c1, scratch, w);
      for (int i = 0; i < h; i++)
        {
          float *o = out + (gsize) i * ld;
          const float *s = scratch + (gsize) i * w;
          if (take_max)
            for (int j = 0; j < w; j++)
              o[j] = MAX (o[j], s[j]);
          else
            for (int j = 0; j < w; j++)
              o[j] += s[j];
        }
    }
  if (!take_max && used > 1)
    {
      float k = 1.0f / used;
      for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++)
          out[(gsize) i * ld + j] *= k;
    }
}

float
attnviz_result_get_cell (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head, int row, int col)
{
  float v = NAN;
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NAN);
  g_return_val_if_fail (row >= 0 && row < self->rows && col >= 0 && col < self->cols, NAN);

  if (!attnviz_result_get_rect (self, aggregate, layer, head, row, row + 1, col, col + 1, &v, 1))
    return NAN;
  return v;
}

gboolean
attnviz_result_pool_tile (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                          int k, int br0, int br1, int bc0, int bc1, AttnvizPool pool,
                          float *out, GCancellable *cancellable)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), FALSE);
  g_return_val_if_fail (k >= 1, FALSE);
  g_return_val_if_fail (0 <= br0 && br0 <= br1 && (gint64) br1 * k < (gint64) self->rows + k, FALSE);
  g_return_val_if_fail (0 <= bc0 && bc0 <= bc1 && (gint64) bc1 * k < (gint64) self->cols + k, FALSE);

  int nbr = br1 - br0, nbc = bc1 - bc0;
  int r0 = br0 * k, r1 = MIN (br1 * k, self->rows);
  int c0 = bc0 * k, c1 = MIN (bc1 * k, self->cols);
  int w = c1 - c0;
  gboolean signed_max = pool == ATTNVIZ_POOL_MAX && ATTNVIZ_RESULT_GET_CLASS (self)->signed_values;

  if (!attnviz_result_has_matrix (self, aggregate, layer, head))
    return FALSE;
  memset (out, 0, sizeof (float) * nbr * nbc);
  if (nbr == 0 || nbc == 0)
    return TRUE;
  /* A causal head is 0 right of its diagonal: a tile wholly there needs
   * no reading, and a band reads only up to its last query. */
  gboolean causal = self->causal && attnviz_result_is_square (self);
  if (causal && c0 >= r1)
    return TRUE;

  int band = MAX (BAND_ROWS / k, 1) * k;
  g_autofree float *block = g_new (float, (gsize) band * MAX (w, 1));
  for (int i0 = r0; i0 < r1; i0 += band)
    {
      if (g_cancellable_is_cancelled (cancellable))
        return FALSE;
      int m = MIN (band, r1 - i0);
      int cend = causal ? MIN (c1, i0 + m) : c1;
      if (cend <= c0)
        continue;
      int cw = cend - c0;
      attnviz_result_get_rect (self, aggregate, layer, head, i0, i0 + m, c0, cend, block, w);
      /* c0 is bin bc0's first column: column j of the band is in bin j / k,
       * taken a bin at a time (no division a cell, a loop that vectorises). */
      for (int r = 0; r < m; r++)
        {
          const float *row = block + (gsize) r * w;
          float *o = out + (gsize) ((i0 + r) / k - br0) * nbc;
          for (int b = 0, j0 = 0; j0 < cw; b++, j0 += k)
            {
              int j1 = MIN (j0 + k, cw);
              float acc = o[b];
              if (pool == ATTNVIZ_POOL_MEAN)
                for (int j = j0; j < j1; j++)
                  acc += row[j];
              else if (signed_max)
                for (int j = j0; j < j1; j++)
                  acc = fabsf (row[j]) > fabsf (acc) ? row[j] : acc;
              else
                for (int j = j0; j < j1; j++)
                  acc = row[j] > acc ? row[j] : acc;
              o[b] = acc;
            }
        }
    }
  if (pool == ATTNVIZ_POOL_MEAN)
    for (int i = 0; i < nbr; i++)
      for (int j = 0; j < nbc; j++)
        {
          int rn = MIN ((br0 + i + 1) * k, self->rows) - (br0 + i) * k;
          int cn = MIN ((bc0 + j + 1) * k, self->cols) - (bc0 + j) * k;
          out[(gsize) i * nbc + j] /= (float) rn * cn;
        }
  return TRUE;
}

char *
attnviz_result_describe_pooling (AttnvizResult *self, AttnvizAggregate aggregate, int k)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  const char *what = aggregate == ATTNVIZ_AGGREGATE_MEAN ? "mean over heads · "
                     : aggregate == ATTNVIZ_AGGREGATE_MAX ? "max over heads · " : "";
  if (ATTNVIZ_RESULT_GET_CLASS (self)->signed_values)
    return g_strdup_printf ("%seach pixel the largest |A − B| of %d×%d cells", what, k, k);
  return g_strdup_printf ("%seach pixel the max of %d×%d cells", what, k, k);
}

/* ---- Overviews ------------------------------------------------------------ */

static const float *
attnviz_result_real_get_head_overview (AttnvizResult *self, int layer, int head, AttnvizPool pool,
                                       int *rows, int *cols)
{
  AttnvizAttention *source = source_of (self);
  if (source == NULL || !attnviz_attention_has_head (source, layer, head))
    return NULL;
  return attnviz_attention_get_overview (source, layer, head, pool, rows, cols);
}

/* The overview of an aggregate, made now: the mean of mean overviews is
 * the mean overview of the mean (every bin holds the same cells for every
 * head); the max of max overviews, the max overview of the max.  Combined
 * as attnviz_combine_maps () does. */
static float *
attnviz_result_real_make_overview (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                                   AttnvizPool pool, int *rows, int *cols)
{
  gboolean take_max = aggregate == ATTNVIZ_AGGREGATE_MAX;
  if (aggregate == ATTNVIZ_AGGREGATE_HEAD || pool != (take_max ? ATTNVIZ_POOL_MAX : ATTNVIZ_POOL_MEAN))
    return NULL;
  const float **maps = g_newa (const float *, self->n_head);
  *rows = *cols = 0;
  for (int h = 0; h < self->n_head; h++)
    {
      int r, c;
      maps[h] = ATTNVIZ_RESULT_GET_CLASS (self)->get_head_overview (self, layer, h, pool, &r, &c);
      if (maps[h] == NULL)
        continue;
      if (*rows == 0)
        {
          *rows = r;
          *cols = c;
        }
      else if (r != *rows || c != *cols)
        return NULL;
    }
  if (*rows == 0)
    return NULL;
  float *data = g_new (float, (gsize) *rows * *cols);
  attnviz_combine_maps (data, maps, self->n_head, (gsize) *rows * *cols, take_max);
  return data;
}

const float *
_attnviz_result_kept_overview (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                               AttnvizPool pool, int *rows, int *cols)
{
  if (self->overviews == NULL)
    self->overviews = g_hash_table_new_full (NULL, NULL, NULL, overview_free);
  guint key = 1 + (((guint) aggregate * self->n_layer + layer) * self->n_head + head) * 2 + pool;
  Overview *o = g_hash_table_lookup (self->overviews, GUINT_TO_POINTER (key));
  if (o == NULL)
    {
      int r = 0, c = 0;
      float *data = ATTNVIZ_RESULT_GET_CLASS (self)->make_overview (self, aggregate, layer, head, pool, &r, &c);
      if (data == NULL)
        return NULL;
      o = g_new0 (Overview, 1);
      o->rows = r;
      o->cols = c;
      o->data = data;
      g_hash_table_insert (self->overviews, GUINT_TO_POINTER (key), o);
    }
  *rows = o->rows;
  *cols = o->cols;
  return o->data;
}

const float *
attnviz_result_get_overview (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                             AttnvizPool pool, int *rows, int *cols)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NULL);
  g_return_val_if_fail (rows != NULL && cols != NULL, NULL);

  if (layer < 0 || layer >= self->n_layer)
    return NULL;
  if (aggregate == ATTNVIZ_AGGREGATE_HEAD)
    return ATTNVIZ_RESULT_GET_CLASS (self)->get_head_overview (self, layer, head, pool, rows, cols);
  return _attnviz_result_kept_overview (self, aggregate, layer, 0, pool, rows, cols);
}

/* ---- Colour ranges ---------------------------------------------------------- */

static double
largest_abs (const float *v, gsize n)
{
  float m = 0;
  for (gsize i = 0; i < n; i++)
    if (fabsf (v[i]) > m)
      m = fabsf (v[i]);
  return m;
}

double
_attnviz_result_matrix_max (AttnvizResult *self, int layer, int head)
{
  const float *matrix = attnviz_result_get_matrix (self, ATTNVIZ_AGGREGATE_HEAD, layer, head);
  return matrix != NULL ? largest_abs (matrix, (gsize) self->rows * self->cols) : NAN;
}

static double
attnviz_result_real_find_head_max (AttnvizResult *self, int layer, int head)
{
  int r, c;
  const float *o = ATTNVIZ_RESULT_GET_CLASS (self)->get_head_overview (self, layer, head, ATTNVIZ_POOL_MAX, &r, &c);
  if (o != NULL)
    /* each bin holds the largest weight of its cells: the largest bin is the head's */
    return largest_abs (o, (gsize) r * c);
  return _attnviz_result_matrix_max (self, layer, head);
}

double
_attnviz_result_head_max (AttnvizResult *self, int layer, int head)
{
  gsize k = (gsize) layer * self->n_head + head;
  if (self->head_max == NULL)
    {
      self->head_max = g_new (double, MAX ((gsize) self->n_layer * self->n_head, 1));
      for (gsize i = 0; i < (gsize) self->n_layer * self->n_head; i++)
        self->head_max[i] = NAN;
    }
  if (!isnan (self->head_max[k]))
    return self->head_max[k];

  self->head_max[k] = ATTNVIZ_RESULT_GET_CLASS (self)->find_head_max (self, layer, head);
  return self->head_max[k];
}

double
attnviz_result_get_range_max (AttnvizResult *self, AttnvizRangeMode mode, int layer, int head)
{
  g_return_val_if_fail (ATTNVIZ_IS_RESULT (self), NAN);

  int l0 = 0, l1 = self->n_layer, h0 = 0, h1 = self->n_head;
  switch (mode)
    {
    case ATTNVIZ_RANGE_HEAD:
      if (head < 0 || head >= self->n_head)
        return NAN;
      h0 = head;
      h1 = head + 1;
      G_GNUC_FALLTHROUGH;
    case ATTNVIZ_RANGE_LAYER:
      if (layer < 0 || layer >= self->n_layer)
        return NAN;
      l0 = layer;
      l1 = layer + 1;
      break;
    case ATTNVIZ_RANGE_RUN:
      break;
    case ATTNVIZ_RANGE_FIXED:
    default:
      return NAN;
    }
  double m = NAN;
  for (int l = l0; l < l1; l++)
    for (int h = h0; h < h1; h++)
      {
        double v = _attnviz_result_head_max (self, l, h);
        if (!isnan (v) && !(v <= m))
          m = v;
      }
  return m;
}

void
_attnviz_result_class_init_read (AttnvizResultClass *klass)
{
  klass->is_long = attnviz_result_real_is_long;
  klass->has_matrix = attnviz_result_real_has_matrix;
  klass->source_has_head = attnviz_result_real_source_has_head;
  klass->read_source_rect = attnviz_result_real_read_source_rect;
  klass->get_rect = attnviz_result_real_get_rect;
  klass->get_head_overview = attnviz_result_real_get_head_overview;
  klass->make_overview = attnviz_result_real_make_overview;
  klass->find_head_max = attnviz_result_real_find_head_max;
}
