/* attnviz-heatmap-tiles-hover.c: what the pointer is over, exactly
 *
 * A cell's value (and a difference's A and B), or a pooled bin's max and
 * mean, read from an exact tile or computed in a GTask; one at a time, the
 * last asked for, "changed" when it arrives.
 */
#define G_LOG_DOMAIN "attnviz-heatmap-tiles"
#include "config.h"

#include <math.h>
#include <string.h>

#include <gio/gio.h>

#include "attnviz-difference.h"
#include "attnviz-heatmap-tiles-private.h"

/* ---- Hover ------------------------------------------------------------------ */

typedef struct {
  AttnvizResult *result;
  TileKey picture;
  int k, bin_row, bin_col;
  float v[3];     /* K = 1: value, A, B; K > 1: max, mean, cells seen */
} HoverJob;

static void
hover_job_free (gpointer data)
{
  HoverJob *job = data;
  g_object_unref (job->result);
  g_free (job);
}

/* The max (a difference's A − B of largest magnitude, as the pooled tiles
 * show it) and the mean of a bin's cells, those the model sees: a causal
 * run's masked (future) cells are no data. */
static void
bin_stats (AttnvizResult *result, const TileKey *p, int k, int bin_row, int bin_col, float v[3])
{
  int rows = attnviz_result_get_n_tokens (result), cols = attnviz_result_get_n_cols (result);
  int r0 = bin_row * k, r1 = MIN (r0 + k, rows), c0 = bin_col * k, c1 = MIN (c0 + k, cols);
  gboolean causal = attnviz_result_get_causal (result) && attnviz_result_is_square (result);
  gboolean difference = ATTNVIZ_IS_DIFFERENCE (result);
  g_autofree float *rect = g_new (float, (gsize) k * k);
  v[0] = v[1] = NAN;
  v[2] = 0;
  if (!attnviz_result_get_rect (result, p->aggregate, p->layer, p->head, r0, r1, c0, c1, rect, k))
    return;
  double sum = 0;
  float best = 0;
  int seen = 0;
  for (int i = 0; i < r1 - r0; i++)
    for (int j = 0; j < c1 - c0; j++)
      {
        if (causal && c0 + j > r0 + i)
          continue;
        float x = rect[(gsize) i * k + j];
        if (seen == 0 || (difference ? fabsf (x) > fabsf (best) : x > best))
          best = x;
        sum += x;
        seen++;
      }
  if (seen > 0)
    {
      v[0] = best;
      v[1] = (float) (sum / seen);
    }
  v[2] = seen;
}

static void
hover_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  HoverJob *job = data;
  const TileKey *p = &job->picture;
  if (job->k > 1)
    {
      bin_stats (job->result, p, job->k, job->bin_row, job->bin_col, job->v);
      g_task_return_boolean (task, TRUE);
      return;
    }
  job->v[0] = attnviz_result_get_cell (job->result, p->aggregate, p->layer, p->head, job->bin_row, job->bin_col);
  job->v[1] = job->v[2] = NAN;
  if (ATTNVIZ_IS_DIFFERENCE (job->result))
    {
      AttnvizDifference *d = ATTNVIZ_DIFFERENCE (job->result);
      job->v[1] = attnviz_result_get_cell (attnviz_difference_get_a (d), p->aggregate, p->layer, p->head,
                                           job->bin_row, job->bin_col);
      job->v[2] = attnviz_result_get_cell (attnviz_difference_get_b (d), p->aggregate, p->layer, p->head,
                                           job->bin_row, job->bin_col);
    }
  g_task_return_boolean (task, TRUE);
}

static void
hover_done (GObject *object, GAsyncResult *res, gpointer data)
{
  AttnvizHeatmapTiles *self = ATTNVIZ_HEATMAP_TILES (object);
  HoverJob *job = g_task_get_task_data (G_TASK (res));

  if (g_task_get_cancellable (G_TASK (res)) != self->hover_cancellable
      || g_cancellable_is_cancelled (self->hover_cancellable))
    return;
  g_clear_object (&self->hover_cancellable);
  memcpy (self->hover, job->v, sizeof self->hover);
  self->hover_ready = TRUE;
  _attnviz_heatmap_tiles_emit_changed (self);
}

/* The hover job's answer for bin (BIN_ROW, BIN_COL) of K cells: TRUE with
 * V when known, FALSE while it is computed ("changed" follows). */
static gboolean
hover_lookup (AttnvizHeatmapTiles *self, int k, int bin_row, int bin_col, float v[3])
{
  gboolean same = k == self->hover_k && bin_row == self->hover_row && bin_col == self->hover_col
                  && same_picture (&self->hover_picture, &self->picture);
  if (same && self->hover_ready)
    {
      memcpy (v, self->hover, sizeof self->hover);
      return TRUE;
    }
  if (same && self->hover_cancellable != NULL)
    return FALSE;

  if (self->hover_cancellable)
    g_cancellable_cancel (self->hover_cancellable);
  g_clear_object (&self->hover_cancellable);
  self->hover_k = k;
  self->hover_row = bin_row;
  self->hover_col = bin_col;
  self->hover_picture = self->picture;
  self->hover_ready = FALSE;
  self->hover_cancellable = g_cancellable_new ();
  HoverJob *job = g_new0 (HoverJob, 1);
  job->result = g_object_ref (self->result);
  job->picture = self->picture;
  job->k = k;
  job->bin_row = bin_row;
  job->bin_col = bin_col;
  GTask *task = g_task_new (self, self->hover_cancellable, hover_done, NULL);
  g_task_set_task_data (task, job, hover_job_free);
  g_task_run_in_thread (task, hover_thread);
  g_object_unref (task);
  return FALSE;
}

gboolean
attnviz_heatmap_tiles_get_value (AttnvizHeatmapTiles *self, int row, int col, float *value, float *a, float *b)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_TILES (self), FALSE);
  g_return_val_if_fail (self->result != NULL, FALSE);

  *a = *b = NAN;
  gboolean difference = ATTNVIZ_IS_DIFFERENCE (self->result);
  /* An exact tile holds it (a difference's A and B are read apart). */
  TileKey key = self->picture;
  key.k = 1;
  key.tr = row / ATTNVIZ_HEATMAP_TILE;
  key.tc = col / ATTNVIZ_HEATMAP_TILE;
  Tile *t = g_hash_table_lookup (self->tiles, &key);
  if (!difference && t != NULL && t->state == TILE_READY)
    {
      *value = t->values[(gsize) (row - key.tr * ATTNVIZ_HEATMAP_TILE) * t->cols + col - key.tc * ATTNVIZ_HEATMAP_TILE];
      return TRUE;
    }
  float v[3];
  if (!hover_lookup (self, 1, row, col, v))
    return FALSE;
  *value = v[0];
  *a = v[1];
  *b = v[2];
  return TRUE;
}

gboolean
attnviz_heatmap_tiles_get_bin (AttnvizHeatmapTiles *self, int k, int bin_row, int bin_col,
                               float *max, float *mean, int *n_cells)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_TILES (self), FALSE);
  g_return_val_if_fail (self->result != NULL, FALSE);
  g_return_val_if_fail (k > 1, FALSE);

  float v[3];
  if (!hover_lookup (self, k, bin_row, bin_col, v))
    return FALSE;
  *max = v[0];
  *mean = v[1];
  *n_cells = (int) v[2];
  return TRUE;
}

