/* attnviz-painter-grid-pool.c: the grid's thumbnails pooled from the
 * dense maps or the overviews, on threads for a large grid, and which of
 * their pixels hold only a causal model's masked future */
#define G_LOG_DOMAIN "attnviz-painter"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-painter-private.h"

/* PDF, SVG and PS thumbnails are pooled for 300 dpi, not 72. */
#define VECTOR_OVERSAMPLE (300.0 / 72.0)
/* Below this many cells in all, pooling stays on the calling thread. */
#define THREADED_POOL_MIN_CELLS (4u << 20)
#define MAX_POOL_THREADS 8

typedef struct {
  const AttnvizGridSource *src;
  int tr, tc;                /* thumbnail pixels */
  const int *rs;             /* (tr + 1) first matrix row of each thumbnail row */
  const int *cs;             /* (tc + 1) first matrix column of each thumbnail column */
  float *pooled;             /* (n_maps, tr, tc) */
  AttnvizPooling pooling;
  int first, stride;         /* the maps this worker pools: first, first + stride, ... */
} PoolJob;

/* Max or mean of each (rs[i]..rs[i+1], cs[j]..cs[j+1]) block of M (rows,
 * cols).  Lower-triangular maps are read up to the diagonal only; the
 * zeros above it still count.  A max block of NaN only is NaN. */
static void
pool_map (const float *m, int cols, gboolean lower, AttnvizPooling pooling,
          int tr, int tc, const int *rs, const int *cs, float *out)
{
  gboolean use_max = pooling == ATTNVIZ_POOL_MAX;

  for (int i = 0; i < tr; i++)
    {
      float *o = out + (gsize) i * tc;
      for (int j = 0; j < tc; j++)
        o[j] = use_max ? -INFINITY : 0.0f;
      for (int r = rs[i]; r < rs[i + 1]; r++)
        {
          const float *row = m + (gsize) r * cols;
          int end = lower ? MIN (cols, r + 1) : cols;
#if defined(__GNUC__)
          /* A lower-triangular row ends early and the next one starts a
           * stream the hardware prefetcher has not seen: start it (25%
           * faster on the 12 x 12 benchmark). */
          if (lower && r + 1 < rs[tr])
            for (int p = 0; p < MIN (end + 1, 256); p += 16)
              __builtin_prefetch (row + cols + p);
#endif
          for (int j = 0; j < tc && cs[j] < end; j++)
            {
              int c1 = MIN (cs[j + 1], end);
              if (use_max)
                {
                  /* Four independent maxima keep the pipeline full. */
                  float m0 = o[j], m1 = m0, m2 = m0, m3 = m0;
                  int c = cs[j];
                  for (; c + 4 <= c1; c += 4)
                    {
                      m0 = row[c] > m0 ? row[c] : m0;
                      m1 = row[c + 1] > m1 ? row[c + 1] : m1;
                      m2 = row[c + 2] > m2 ? row[c + 2] : m2;
                      m3 = row[c + 3] > m3 ? row[c + 3] : m3;
                    }
                  for (; c < c1; c++)
                    m0 = row[c] > m0 ? row[c] : m0;
                  m0 = m1 > m0 ? m1 : m0;
                  m2 = m3 > m2 ? m3 : m2;
                  o[j] = m2 > m0 ? m2 : m0;
                }
              else
                {
                  float s = 0;
                  for (int c = cs[j]; c < c1; c++)
                    s += row[c];
                  o[j] += s;
                }
            }
        }
      for (int j = 0; j < tc; j++)
        {
          gboolean has_upper = lower && cs[j + 1] - 1 > rs[i];
          if (use_max)
            {
              if (has_upper && !(o[j] >= 0))
                o[j] = 0;
              else if (o[j] == -INFINITY)
                o[j] = NAN;
            }
          else
            o[j] /= (float) ((rs[i + 1] - rs[i]) * (cs[j + 1] - cs[j]));
        }
    }
}

static gpointer
pool_worker (gpointer data)
{
  const PoolJob *job = data;
  const AttnvizGridSource *src = job->src;
  for (int k = job->first; k < src->n_maps; k += job->stride)
    if (src->maps[k] != NULL)
      pool_map (src->maps[k], src->cols, src->lower, job->pooling,
                job->tr, job->tc, job->rs, job->cs, job->pooled + (gsize) k * job->tr * job->tc);
  return NULL;
}

void
attnviz_grid_pool_all (const AttnvizGridSource *src, AttnvizPooling pooling, int tr, int tc, const int *rs,
                       const int *cs, float *pooled)
{
  int n = src->n_maps;
  guint64 cells = (guint64) n * src->rows * src->cols;
  int n_threads = cells >= THREADED_POOL_MIN_CELLS ? CLAMP ((int) g_get_num_processors (), 1, MAX_POOL_THREADS) : 1;
  n_threads = MIN (n_threads, MAX (n, 1));

  PoolJob jobs[MAX_POOL_THREADS];
  GThread *threads[MAX_POOL_THREADS] = { NULL };
  for (int t = 0; t < n_threads; t++)
    {
      jobs[t] = (PoolJob) { src, tr, tc, rs, cs, pooled, pooling, t, n_threads };
      if (t > 0)
        threads[t] = g_thread_try_new ("attnviz-pool", pool_worker, &jobs[t], NULL);
    }
  pool_worker (&jobs[0]);
  for (int t = 1; t < n_threads; t++)
    {
      if (threads[t] != NULL)
        g_thread_join (threads[t]);
      else
        pool_worker (&jobs[t]);   /* no thread: do its share here */
    }
}

/* Thumbnail pixels along one side: as many as it covers on the target
 * (at 300 dpi for vector surfaces), never more than the map has.  A
 * recording surface is GTK's (a render node replayed onto the screen at
 * one pixel per unit): pooling it for 300 dpi took four times the pixels
 * the screen shows, which the replay then dropped again (losing what max
 * pooling kept) and cost the grid's first frame most of its time. */
int
attnviz_grid_thumbnail_pixels (cairo_t *cr, double thumb, int n)
{
  double dx = thumb, dy = 0;
  cairo_user_to_device_distance (cr, &dx, &dy);
  double px = hypot (dx, dy);
  switch (cairo_surface_get_type (cairo_get_target (cr)))
    {
    case CAIRO_SURFACE_TYPE_PDF:
    case CAIRO_SURFACE_TYPE_PS:
    case CAIRO_SURFACE_TYPE_SVG:
    case CAIRO_SURFACE_TYPE_SCRIPT:
      px *= VECTOR_OVERSAMPLE;
      break;
    default:
      break;
    }
  return CLAMP ((int) ceil (px), 1, MAX (n, 1));
}

/* The overviews when they have as many bins as a thumbnail has pixels
 * (pooling them further costs a fraction of reading T x T floats a head),
 * the dense maps when a thumbnail has more pixels than the overview has
 * bins (a big export of a few heads), or when there are no overviews. */
void
attnviz_grid_source (const AttnvizGridSpec *spec, int tr, int tc, AttnvizGridSource *src)
{
  gboolean overviews = spec->overviews != NULL && spec->ov_rows > 0 && spec->ov_cols > 0
                       && (spec->maps == NULL || (tr <= spec->ov_rows && tc <= spec->ov_cols));
  src->n_maps = spec->n_layer * spec->n_head;
  if (overviews)
    {
      src->maps = spec->overviews;
      src->rows = spec->ov_rows;
      src->cols = spec->ov_cols;
      /* Bin i of the rows and of the columns cover the same tokens: the
       * bins above the diagonal are whole masked cells, 0. */
      src->lower = spec->lower_triangular && spec->rows == spec->cols && spec->ov_rows == spec->ov_cols;
    }
  else
    {
      src->maps = spec->maps;
      src->rows = spec->rows;
      src->cols = spec->cols;
      src->lower = spec->lower_triangular;
    }
}

/* The first token of bin B of N bins over LENGTH tokens. */
static int
token_start (int b, int n, int length)
{
  return n == length ? b : attnviz_bin_start (b, n, length);
}

/* (tr, tc) flags: the thumbnail pixels that hold only masked cells (every
 * key after every query they cover, a causal model's future), drawn in the
 * no-data colour as the heatmap draws them; NULL when nothing is masked.
 * Pixel (i, j) covers bins rs[i]..rs[i + 1] and cs[j]..cs[j + 1] of SRC. */
guint8 *
attnviz_grid_future_pixels (const AttnvizGridSpec *spec, const AttnvizGridSource *src, int tr, int tc,
                            const int *rs, const int *cs)
{
  if (!spec->lower_triangular || spec->rows != spec->cols)
    return NULL;
  guint8 *masked = g_new0 (guint8, (gsize) tr * tc);
  for (int i = 0; i < tr; i++)
    {
      int row_end = token_start (rs[i + 1], src->rows, spec->rows);
      for (int j = 0; j < tc; j++)
        masked[(gsize) i * tc + j] = token_start (cs[j], src->cols, spec->cols) >= row_end;
    }
  return masked;
}

/* OUT (tr * tc) = the mean or max of the layer's pooled heads HEADS
 * (n_head, tr * tc; NULL: not recorded), pixel by pixel, leaving out
 * pixels without data; FALSE when no head of the layer has any. */
gboolean
attnviz_grid_combine_heads (const float *const *heads, int n_head, gsize n, AttnvizGridAggregate aggregate, float *out)
{
  gboolean any = FALSE;
  for (gsize i = 0; i < n; i++)
    {
      double acc = aggregate == ATTNVIZ_GRID_AGGREGATE_MAX ? -INFINITY : 0;
      int count = 0;
      for (int h = 0; h < n_head; h++)
        {
          if (heads[h] == NULL || isnan (heads[h][i]))
            continue;
          acc = aggregate == ATTNVIZ_GRID_AGGREGATE_MAX ? MAX (acc, heads[h][i]) : acc + heads[h][i];
          count++;
        }
      out[i] = count == 0 ? NAN : aggregate == ATTNVIZ_GRID_AGGREGATE_MAX ? (float) acc : (float) (acc / count);
      any |= count > 0;
    }
  return any;
}
