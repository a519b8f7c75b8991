/* bench-painter: how long the figures take at the sizes the app draws
 *
 * A head switch in the app redraws one (T, T) heatmap; the model view
 * redraws every head's thumbnail.  Both into an offscreen 1200 x 1200
 * image surface with T = 1024, median of 10 runs.  Targets: 16 ms for a
 * heatmap (one frame at 60 Hz), 150 ms for a 12 x 12 grid.
 */
#define G_LOG_DOMAIN "bench-painter"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnviz-painter.h"

enum { T = 1024, N_LAYER = 12, N_HEAD = 12, RUNS = 10, SIZE = 1200 };

/* A causal head: random logits, softmax over keys 0..i of each row i. */
static void
fill_causal_head (float *m, GRand *rand)
{
  for (int i = 0; i < T; i++)
    {
      float *row = m + (gsize) i * T;
      double sum = 0;
      for (int j = 0; j <= i; j++)
        {
          row[j] = (float) exp (3.0 * g_rand_double (rand));
          sum += row[j];
        }
      for (int j = 0; j <= i; j++)
        row[j] = (float) (row[j] / sum);
      for (int j = i + 1; j < T; j++)
        row[j] = 0;
    }
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

typedef void (*DrawFunc) (cairo_t *cr, gconstpointer spec);

static double
median_ms (cairo_surface_t *surface, DrawFunc draw, gconstpointer spec)
{
  double ms[RUNS];
  for (int r = 0; r < RUNS; r++)
    {
      cairo_t *cr = cairo_create (surface);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      gint64 t0 = g_get_monotonic_time ();
      draw (cr, spec);
      cairo_surface_flush (surface);
      ms[r] = (g_get_monotonic_time () - t0) / 1000.0;
      cairo_destroy (cr);
    }
  qsort (ms, RUNS, sizeof ms[0], compare_doubles);
  return (ms[RUNS / 2 - 1] + ms[RUNS / 2]) / 2;
}

static void
draw_heatmap (cairo_t *cr, gconstpointer spec)
{
  attnviz_paint_heatmap (cr, spec, SIZE, SIZE);
}

static void
draw_grid (cairo_t *cr, gconstpointer spec)
{
  attnviz_paint_grid (cr, spec, SIZE, SIZE);
}

static void
report (const char *what, double ms, double target)
{
  printf ("%-52s %8.2f ms  (target %g ms: %s)\n", what, ms, target, ms <= target ? "met" : "MISSED");
}

int
main (int argc, char **argv)
{
  GRand *rand = g_rand_new_with_seed (1);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, SIZE, SIZE);

  /* Every map distinct, as a real recording is: 576 MB. */
  gsize cells = (gsize) T * T;
  float *all = g_try_malloc ((gsize) N_LAYER * N_HEAD * cells * sizeof (float));
  if (all == NULL)
    {
      fprintf (stderr, "bench-painter: not enough memory for %d maps of %d x %d\n", N_LAYER * N_HEAD, T, T);
      return 77;
    }
  for (int k = 0; k < N_LAYER * N_HEAD; k++)
    {
      if (k < 4)
        fill_causal_head (all + k * cells, rand);
      else
        memcpy (all + k * cells, all + (k % 4) * cells, cells * sizeof (float));
    }

  char **labels = g_new0 (char *, T + 1);
  for (int i = 0; i < T; i++)
    labels[i] = g_strdup_printf (" tok%d", i);

  printf ("painter, T = %d, %d x %d image surface, median of %d\n", T, SIZE, SIZE, RUNS);
  for (int k = 0; k < ATTNVIZ_N_SCALES; k++)
    {
      AttnvizHeatmapSpec spec;
      attnviz_heatmap_spec_init (&spec, all, T, T);
      spec.row_labels = (const char *const *) labels;
      spec.col_labels = (const char *const *) labels;
      spec.title = "layer 3 · head 5";
      spec.subtitle = "random causal head";
      attnviz_scale_init (&spec.scale, k, 0, 0);
      spec.highlight_row = 500;
      char what[128];
      g_snprintf (what, sizeof what, "heatmap, %s scale, labels", attnviz_scale_kind_to_string (k));
      report (what, median_ms (surface, draw_heatmap, &spec), 16);
    }

  const float **maps = g_new (const float *, N_LAYER * N_HEAD);
  for (int k = 0; k < N_LAYER * N_HEAD; k++)
    maps[k] = all + k * cells;
  AttnvizGridSpec grid;
  attnviz_grid_spec_init (&grid, N_LAYER, N_HEAD, maps, T, T);
  grid.current_layer = 3;
  grid.current_head = 5;
  grid.title = "12 layers × 12 heads";
  grid.lower_triangular = TRUE;
  report ("grid 12 x 12, causal (reads below the diagonal)", median_ms (surface, draw_grid, &grid), 150);
  grid.lower_triangular = FALSE;
  report ("grid 12 x 12, every cell read", median_ms (surface, draw_grid, &grid), 150);
  grid.pooling = ATTNVIZ_POOL_MEAN;
  report ("grid 12 x 12, every cell read, mean pooling", median_ms (surface, draw_grid, &grid), 150);
  grid.pooling = ATTNVIZ_POOL_MAX;
  attnviz_scale_init (&grid.scale, ATTNVIZ_SCALE_LOG, 0, 1);
  grid.lower_triangular = TRUE;
  report ("grid 12 x 12, causal, shared log scale", median_ms (surface, draw_grid, &grid), 150);

  g_strfreev (labels);
  g_free (maps);
  g_free (all);
  cairo_surface_destroy (surface);
  g_rand_free (rand);
  return 0;
}
