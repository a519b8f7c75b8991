/* attnviz-heatmap-tiles.c: the picture of a long run, a tile at a time */
#define G_LOG_DOMAIN "attnviz-heatmap-tiles"
#include "config.h"

#include <math.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <gio/gio.h>

#include "attnviz-difference.h"
#include "attnviz-heatmap-tiles-private.h"
#include "attnviz-painter-private.h"

/* Tiles computed at once: the machine's cores, less one for the UI. */
#define MAX_RUNNING 2
/* Colour tables as a whole matrix of this many values chooses them
 * (attnviz_colorizer_set_scale): every tile is then coloured alike. */
#define COLOR_VALUES ((gsize) 1 << 20)

G_DEFINE_FINAL_TYPE (AttnvizHeatmapTiles, attnviz_heatmap_tiles, G_TYPE_OBJECT)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
_attnviz_heatmap_tiles_emit_changed (AttnvizHeatmapTiles *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

/* Bins across a tile at bins of K cells: pooled tiles are wider, since a
 * source recomputes whole rows (a band's scores against every key it
 * sees), so a band is read once for the width of the picture. */
static int
tile_width (int k)
{
  return k > 1 ? 4 * ATTNVIZ_HEATMAP_TILE : ATTNVIZ_HEATMAP_TILE;
}

static guint
tile_key_hash (gconstpointer p)
{
  const TileKey *k = p;
  guint h = (guint) k->aggregate;
  h = h * 31 + (guint) k->layer;
  h = h * 31 + (guint) k->head;
  h = h * 31 + (guint) k->k;
  h = h * 1009 + (guint) k->tr;
  return h * 1009 + (guint) k->tc;
}

static gboolean
tile_key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (TileKey)) == 0;
}

static gsize
tile_bytes (const Tile *t)
{
  return (gsize) t->rows * t->cols * (sizeof (float) + 4);
}

static void
tile_free (gpointer data)
{
  Tile *t = data;
  if (t->cancellable)
    {
      g_cancellable_cancel (t->cancellable);
      g_object_unref (t->cancellable);
    }
  g_free (t->values);
  g_clear_pointer (&t->surface, cairo_surface_destroy);
  g_free (t);
}

/* Takes T out of the table (and the LRU list when ready). */
static void
drop_tile (AttnvizHeatmapTiles *self, Tile *t)
{
  if (t->state == TILE_READY)
    {
      g_queue_unlink (&self->lru, &t->lru);
      self->bytes -= tile_bytes (t);
    }
  g_hash_table_remove (self->tiles, &t->key);
}

static void
drop_all (AttnvizHeatmapTiles *self)
{
  g_hash_table_remove_all (self->tiles);
  g_queue_init (&self->lru);
  self->bytes = 0;
  self->running = 0;
  g_clear_pointer (&self->overview, cairo_surface_destroy);
  if (self->hover_cancellable)
    g_cancellable_cancel (self->hover_cancellable);
  g_clear_object (&self->hover_cancellable);
  self->hover_ready = FALSE;
}

/* ---- Work in a thread ------------------------------------------------------ */

typedef struct {
  AttnvizResult *result;
  TileKey key;
  int br0, br1, bc0, bc1;
  float *values;
} TileJob;

static void
tile_job_free (gpointer data)
{
  TileJob *job = data;
  g_object_unref (job->result);
  g_free (job->values);
  g_free (job);
}

static void
tile_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  TileJob *job = data;
  const TileKey *k = &job->key;
  gboolean ok;

  if (k->k == 1)
    ok = attnviz_result_get_rect (job->result, k->aggregate, k->layer, k->head, job->br0, job->br1,
                                  job->bc0, job->bc1, job->values, job->bc1 - job->bc0);
  else
    ok = attnviz_result_pool_tile (job->result, k->aggregate, k->layer, k->head, k->k, job->br0, job->br1,
                                   job->bc0, job->bc1, ATTNVIZ_POOL_MAX, job->values, cancellable);
  g_task_return_boolean (task, ok && !g_cancellable_is_cancelled (cancellable));
}

/* The tiles' own threads, niced: on a machine of two busy cores the main
 * loop then keeps its turn while they work (a GTask returns from them). */
static void
tile_worker (gpointer data, gpointer pool_data)
{
  static GPrivate niced;
  GTask *task = data;
  if (g_private_get (&niced) == NULL)
    {
#ifdef __linux__
      setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 10);
#endif
      g_private_set (&niced, GINT_TO_POINTER (1));
    }
  tile_thread (task, g_task_get_source_object (task), g_task_get_task_data (task), g_task_get_cancellable (task));
  g_object_unref (task);
}

static void
run_in_tile_thread (GTask *task)
{
  static GThreadPool *pool;
  if (g_once_init_enter (&pool))
    g_once_init_leave (&pool, g_thread_pool_new (tile_worker, NULL, MAX_RUNNING + 1, FALSE, NULL));
  g_thread_pool_push (pool, g_object_ref (task), NULL);
}

static void start_wanted (AttnvizHeatmapTiles *self);

static void
tile_done (GObject *object, GAsyncResult *res, gpointer data)
{
  AttnvizHeatmapTiles *self = ATTNVIZ_HEATMAP_TILES (object);
  TileJob *job = g_task_get_task_data (G_TASK (res));
  gboolean ok = g_task_propagate_boolean (G_TASK (res), NULL);
  Tile *t = g_hash_table_lookup (self->tiles, &job->key);

  /* A tile dropped meanwhile (a new run) is not in the table, or is a
   * new one not yet started. */
  if (t == NULL || t->state != TILE_RUNNING || t->cancellable != g_task_get_cancellable (G_TASK (res)))
    return;
  self->running--;
  g_clear_object (&t->cancellable);
  if (!ok)
    drop_tile (self, t);
  else
    {
      t->values = g_steal_pointer (&job->values);
      t->state = TILE_READY;
      g_queue_push_head_link (&self->lru, &t->lru);
      self->bytes += tile_bytes (t);
      while (self->bytes > ATTNVIZ_HEATMAP_TILES_BYTES && self->lru.length > 1)
        drop_tile (self, g_queue_peek_tail (&self->lru));
      g_signal_emit (self, signals[CHANGED], 0);
    }
  start_wanted (self);
}

static void
start_tile (AttnvizHeatmapTiles *self, Tile *t)
{
  int rows = attnviz_result_get_n_tokens (self->result), cols = attnviz_result_get_n_cols (self->result);
  int k = t->key.k;
  TileJob *job = g_new0 (TileJob, 1);
  job->result = g_object_ref (self->result);
  job->key = t->key;
  /* In bins of K cells (K = 1: cells). */
  job->br0 = t->key.tr * ATTNVIZ_HEATMAP_TILE;
  job->bc0 = t->key.tc * tile_width (k);
  job->br1 = MIN (job->br0 + ATTNVIZ_HEATMAP_TILE, (rows + k - 1) / k);
  job->bc1 = MIN (job->bc0 + tile_width (k), (cols + k - 1) / k);
  t->rows = job->br1 - job->br0;
  t->cols = job->bc1 - job->bc0;
  job->values = g_new (float, (gsize) t->rows * t->cols);
  t->state = TILE_RUNNING;
  t->cancellable = g_cancellable_new ();
  self->running++;
  GTask *task = g_task_new (self, t->cancellable, tile_done, NULL);
  g_task_set_task_data (task, job, tile_job_free);
  run_in_tile_thread (task);
  g_object_unref (task);
}

/* Starts the tiles this frame wants, nearest the top left first. */
static void
start_wanted (AttnvizHeatmapTiles *self)
{
  while (self->running < MAX_RUNNING)
    {
      GHashTableIter iter;
      Tile *t, *best = NULL;
      g_hash_table_iter_init (&iter, self->tiles);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &t))
        if (t->state == TILE_WANTED
            && (best == NULL || t->key.tr < best->key.tr || (t->key.tr == best->key.tr && t->key.tc < best->key.tc)))
          best = t;
      if (best == NULL)
        return;
      start_tile (self, best);
    }
}

/* ---- Public ---------------------------------------------------------------- */

AttnvizHeatmapTiles *
attnviz_heatmap_tiles_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_HEATMAP_TILES, NULL);
}

void
attnviz_heatmap_tiles_set_result (AttnvizHeatmapTiles *self, AttnvizResult *result)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_TILES (self));

  if (result == self->result)
    return;
  drop_all (self);
  g_set_object (&self->result, result);
}

void
attnviz_heatmap_tiles_set_picture (AttnvizHeatmapTiles *self, AttnvizAggregate aggregate, int layer, int head)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_TILES (self));

  if (aggregate != ATTNVIZ_AGGREGATE_HEAD)
    head = 0;
  TileKey picture = { aggregate, layer, head, 0, 0, 0 };
  if (same_picture (&picture, &self->picture))
    return;
  self->picture = picture;
  /* The other picture's work stops; its ready tiles stay cached. */
  GHashTableIter iter;
  Tile *t;
  g_hash_table_iter_init (&iter, self->tiles);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &t))
    if (t->state != TILE_READY)
      {
        if (t->state == TILE_RUNNING)
          self->running--;
        g_hash_table_iter_remove (&iter);
      }
  start_wanted (self);
}

void
attnviz_heatmap_tiles_set_colors (AttnvizHeatmapTiles *self, AttnvizColormap colormap, const AttnvizScale *scale)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_TILES (self));

  if (colormap == self->colormap && memcmp (scale, &self->scale, sizeof *scale) == 0)
    return;
  self->colormap = colormap;
  self->scale = *scale;
  /* Surfaces of another stamp are coloured again when painted. */
  self->color_stamp++;
}

const float *
attnviz_heatmap_tiles_get_overview (AttnvizHeatmapTiles *self, int *rows, int *cols)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_TILES (self), NULL);

  if (self->result == NULL)
    return NULL;
  const TileKey *p = &self->picture;
  /* Max pooling, as the exact tiles: a thin diagonal stays visible; the
   * mean over heads has only its mean overview exactly. */
  const float *o = attnviz_result_get_overview (self->result, p->aggregate, p->layer, p->head, ATTNVIZ_POOL_MAX,
                                                rows, cols);
  if (o == NULL)
    o = attnviz_result_get_overview (self->result, p->aggregate, p->layer, p->head, ATTNVIZ_POOL_MEAN, rows, cols);
  return o;
}

float
attnviz_heatmap_tiles_get_upper_bound (AttnvizHeatmapTiles *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_TILES (self), NAN);

  if (self->result == NULL || ATTNVIZ_IS_DIFFERENCE (self->result))
    return NAN;
  const TileKey *p = &self->picture;
  int rows, cols;
  if (p->aggregate != ATTNVIZ_AGGREGATE_MEAN)
    {
      /* A head's max overview, and the max over heads' (the max of
       * theirs), hold the picture's exact largest weight. */
      const float *o = attnviz_result_get_overview (self->result, p->aggregate, p->layer, p->head,
                                                    ATTNVIZ_POOL_MAX, &rows, &cols);
      if (o == NULL)
        return NAN;
      float best = -INFINITY;
      for (gsize i = 0; i < (gsize) rows * cols; i++)
        best = MAX (best, o[i]);
      return best;
    }
  /* The mean over heads: a bin's mean of the heads can be no larger than
   * the mean of their maxes over it, so the largest of those bounds every
   * cell, and every bin the view pools by its max. */
  int H = attnviz_result_get_n_heads (self->result);
  g_autofree double *sum = NULL;
  gsize n = 0;
  for (int h = 0; h < H; h++)
    {
      const float *o = attnviz_result_get_overview (self->result, ATTNVIZ_AGGREGATE_HEAD, p->layer, h,
                                                    ATTNVIZ_POOL_MAX, &rows, &cols);
      if (o == NULL)
        return NAN;
      if (sum == NULL)
        {
          n = (gsize) rows * cols;
          sum = g_new0 (double, n);
        }
      g_return_val_if_fail ((gsize) rows * cols == n, NAN);
      for (gsize i = 0; i < n; i++)
        sum[i] += o[i];
    }
  double best = -INFINITY;
  for (gsize i = 0; i < n; i++)
    best = MAX (best, sum[i]);
  return n > 0 ? (float) (best / H) : NAN;
}

int
attnviz_heatmap_tiles_bin_for (double cell_pixels)
{
  if (!(cell_pixels > 0))
    return 1;
  /* A cell of 0.8 pixel or more is still drawn as itself. */
  return MAX (1, (int) ceil (1.0 / cell_pixels - 0.25));
}

void
attnviz_heatmap_tiles_begin_frame (AttnvizHeatmapTiles *self)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_TILES (self));
  self->frame++;
  self->complete = TRUE;
}

void
attnviz_heatmap_tiles_end_frame (AttnvizHeatmapTiles *self)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_TILES (self));

  /* What this frame did not want: not started, or stopped. */
  GHashTableIter iter;
  Tile *t;
  g_hash_table_iter_init (&iter, self->tiles);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &t))
    if (t->state != TILE_READY && t->frame != self->frame)
      {
        if (t->state == TILE_RUNNING)
          self->running--;
        g_hash_table_iter_remove (&iter);
      }
  start_wanted (self);
}

gboolean
attnviz_heatmap_tiles_is_complete (AttnvizHeatmapTiles *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_TILES (self), FALSE);
  return self->complete;
}

/* VALUES (ROWS, COLS) coloured, its first bin the picture's (ROW0, COL0):
 * a causal run's bins right of the diagonal (all their cells masked, since
 * bins are alike on both axes) in the no-data colour. */
static cairo_surface_t *
color_surface (AttnvizHeatmapTiles *self, const float *values, int rows, int cols, int row0, int col0)
{
  AttnvizColorizer colorizer;
  AttnvizScale scale = self->scale;
  if (!attnviz_scale_has_range (&scale))
    {
      attnviz_scale_get_bounds (&scale, &scale.vmin, &scale.vmax);
      scale.vmax = scale.vmin + 1;
    }
  attnviz_colorizer_init (&colorizer, &scale, self->colormap, COLOR_VALUES);
  cairo_surface_t *s = attnviz_painter_matrix_surface (&colorizer, values, rows, cols, cols);
  gboolean future = attnviz_result_get_causal (self->result) && attnviz_result_is_square (self->result);
  attnviz_painter_mask_cells (&colorizer, s, row0, col0, future, NULL);
  attnviz_colorizer_clear (&colorizer);
  return s;
}

/* SURFACE (bins) drawn from (X, Y) with bins of BW x BH, within the clip
 * W x H from there, one pixel a bin enlarged without smoothing. */
static void
draw_bins (cairo_t *cr, cairo_surface_t *surface, double x, double y, double w, double h, double bw, double bh)
{
  cairo_save (cr);
  cairo_rectangle (cr, x, y, w, h);
  cairo_clip (cr);
  cairo_translate (cr, x, y);
  cairo_scale (cr, bw, bh);
  cairo_set_source_surface (cr, surface, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_pattern_set_extend (cairo_get_source (cr), CAIRO_EXTEND_PAD);
  cairo_paint (cr);
  cairo_restore (cr);
}

static void
paint_overview (AttnvizHeatmapTiles *self, cairo_t *cr, const AttnvizRect *m)
{
  if (self->overview == NULL || !same_picture (&self->overview_picture, &self->picture)
      || self->overview_stamp != self->color_stamp)
    {
      int rows, cols;
      const float *o = attnviz_heatmap_tiles_get_overview (self, &rows, &cols);
      g_clear_pointer (&self->overview, cairo_surface_destroy);
      if (o == NULL)
        return;
      self->overview = color_surface (self, o, rows, cols, 0, 0);
      self->overview_picture = self->picture;
      self->overview_stamp = self->color_stamp;
    }
  if (self->overview == NULL)
    return;
  int w = cairo_image_surface_get_width (self->overview), h = cairo_image_surface_get_height (self->overview);
  draw_bins (cr, self->overview, m->x, m->y, m->width, m->height, m->width / w, m->height / h);
}

void
attnviz_heatmap_tiles_paint (AttnvizHeatmapTiles *self, cairo_t *cr, const AttnvizRect *m, int k)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_TILES (self));
  g_return_if_fail (k >= 1);

  if (self->result == NULL || !(m->width > 0) || !(m->height > 0))
    return;
  int rows = attnviz_result_get_n_tokens (self->result), cols = attnviz_result_get_n_cols (self->result);
  double cell = m->width / cols;
  double x0, y0, x1, y1;
  cairo_clip_extents (cr, &x0, &y0, &x1, &y1);
  int r0 = CLAMP ((int) floor ((y0 - m->y) / cell), 0, rows), r1 = CLAMP ((int) ceil ((y1 - m->y) / cell), 0, rows);
  int c0 = CLAMP ((int) floor ((x0 - m->x) / cell), 0, cols), c1 = CLAMP ((int) ceil ((x1 - m->x) / cell), 0, cols);
  if (r1 <= r0 || c1 <= c0)
    return;

  paint_overview (self, cr, m);

  int span = ATTNVIZ_HEATMAP_TILE * k, cspan = tile_width (k) * k;   /* cells down and across a tile */
  for (int tr = r0 / span; tr * span < r1; tr++)
    for (int tc = c0 / cspan; tc * cspan < c1; tc++)
      {
        TileKey key = self->picture;
        key.k = k;
        key.tr = tr;
        key.tc = tc;
        Tile *t = g_hash_table_lookup (self->tiles, &key);
        if (t == NULL)
          {
            t = g_new0 (Tile, 1);
            t->key = key;
            t->lru.data = t;
            t->state = TILE_WANTED;
            g_hash_table_insert (self->tiles, &t->key, t);
          }
        t->frame = self->frame;
        if (t->state != TILE_READY)
          {
            self->complete = FALSE;
            continue;
          }
        /* Most recently painted first. */
        g_queue_unlink (&self->lru, &t->lru);
        g_queue_push_head_link (&self->lru, &t->lru);
        if (t->surface == NULL || t->color_stamp != self->color_stamp)
          {
            g_clear_pointer (&t->surface, cairo_surface_destroy);
            t->surface = color_surface (self, t->values, t->rows, t->cols, tr * ATTNVIZ_HEATMAP_TILE,
                                        tc * tile_width (k));
            t->color_stamp = self->color_stamp;
          }
        double x = m->x + (double) tc * cspan * cell, y = m->y + (double) tr * span * cell;
        double w = (MIN ((tc + 1) * cspan, cols) - tc * cspan) * cell;
        double h = (MIN ((tr + 1) * span, rows) - tr * span) * cell;
        draw_bins (cr, t->surface, x, y, w, h, k * cell, k * cell);
      }
}

gboolean
attnviz_heatmap_tiles_peek (AttnvizHeatmapTiles *self, int k, int bin_row, int bin_col, float *value)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_TILES (self), FALSE);

  TileKey key = self->picture;
  key.k = k;
  key.tr = bin_row / ATTNVIZ_HEATMAP_TILE;
  key.tc = bin_col / tile_width (k);
  Tile *t = g_hash_table_lookup (self->tiles, &key);
  if (t == NULL || t->state != TILE_READY)
    return FALSE;
  int i = bin_row - key.tr * ATTNVIZ_HEATMAP_TILE, j = bin_col - key.tc * tile_width (k);
  if (i >= t->rows || j >= t->cols)
    return FALSE;
  *value = t->values[(gsize) i * t->cols + j];
  return TRUE;
}

/* ---- GObject ---------------------------------------------------------------- */

static void
attnviz_heatmap_tiles_dispose (GObject *object)
{
  AttnvizHeatmapTiles *self = ATTNVIZ_HEATMAP_TILES (object);

  drop_all (self);
  g_clear_object (&self->result);
  G_OBJECT_CLASS (attnviz_heatmap_tiles_parent_class)->dispose (object);
}

static void
attnviz_heatmap_tiles_finalize (GObject *object)
{
  AttnvizHeatmapTiles *self = ATTNVIZ_HEATMAP_TILES (object);

  g_hash_table_unref (self->tiles);
  G_OBJECT_CLASS (attnviz_heatmap_tiles_parent_class)->finalize (object);
}

static void
attnviz_heatmap_tiles_class_init (AttnvizHeatmapTilesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = attnviz_heatmap_tiles_dispose;
  object_class->finalize = attnviz_heatmap_tiles_finalize;

  /* A tile or the hover value arrived: paint again. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
attnviz_heatmap_tiles_init (AttnvizHeatmapTiles *self)
{
  self->tiles = g_hash_table_new_full (tile_key_hash, tile_key_equal, NULL, tile_free);
  self->picture.layer = -1;
  self->hover_row = self->hover_col = -1;
  attnviz_scale_init (&self->scale, ATTNVIZ_SCALE_LINEAR, 0, 1);
}
