/* test-long-ui.c: the heatmap of a long run, in a window
 *
 * Runs a small random-weight RoPE model (2 layers x 4 heads, past any
 * trained context) at T = 1024 (recomputing) and T = 8192, shows them in
 * an AttnvizHeatmapView and checks what it paints against the attention
 * source itself: the overview at once, then the exact picture (cells when
 * zoomed in, max-pooled bins at fit), the hover values, the aggregates
 * and a difference, with the main loop never held up more than 100 ms;
 * its export.  (Pooled hover, scale, zoom and masked cells:
 * test-long-ui-zoom.c.)
 */
#define G_LOG_DOMAIN "test-long-ui"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-difference.h"
#include "attnviz-test-long-ui.h"

/* ---- The tests ---------------------------------------------------------------------- */

static void
test_heatmap_of_a_long_run_shows_the_overview_at_once_then_the_exact_picture (gconstpointer data)
{
  int T = GPOINTER_TO_INT (data);
  AttnvizTestShown s = { 0 };
  attnviz_test_show (&s, attnviz_test_long_result (7, T));
  guint pulse = attnviz_test_pulse_start ();

  attnviz_test_exact_frame_ms (&s);
  for (int head = 1; head < 4; head++)
    {
      gint64 cpu0 = attnviz_test_cpu_us ();
      attnviz_view_state_set_head (figure_state (s.view), head);
      double overview_ms = attnviz_test_next_frame_ms ();
      double overview_work_ms = (attnviz_test_cpu_us () - cpu0) / 1000.0;
      /* The first frame after the switch already paints the head's overview. */
      int r, c;
      const float *o = attnviz_heatmap_tiles_get_overview (s.tiles, &r, &c);
      const float *want = attnviz_attention_get_overview (attnviz_result_get_source (s.result), 0, head,
                                                          ATTNVIZ_POOL_MAX, &r, &c);
      g_assert_true (o == want);
      double exact_ms = attnviz_test_exact_frame_ms (&s);
      g_test_message ("T = %d, head %d: overview shown in %.1f ms (%.1f ms of main-loop work), "
                      "exact fit picture in %.1f ms", T, head, overview_ms, overview_work_ms, exact_ms);
      /* the 50 ms for a head's overview, in the main loop's work */
      g_assert_cmpfloat (overview_work_ms, <=, 50.0);
      if (attnviz_test_machine_is_quiet ())
        g_assert_cmpfloat (overview_ms, <=, MAX_STALL_MS);
      attnviz_test_assert_fit_bins_exact (&s, 0, head);
    }

  /* Zoomed 8x: exact cells, equal to the source's. */
  attnviz_heatmap_view_set_zoom (s.view, 8.0);
  attnviz_test_exact_frame_ms (&s);
  attnviz_test_assert_shown_cells_exact (&s, ATTNVIZ_AGGREGATE_HEAD, 0, 3);
  /* Panning keeps them so. */
  for (int i = 0; i < 4; i++)
    {
      attnviz_heatmap_view_set_zoom (s.view, 8.0 * (i % 2 ? 1.25 : 1.0));
      attnviz_test_exact_frame_ms (&s);
    }
  attnviz_test_assert_shown_cells_exact (&s, ATTNVIZ_AGGREGATE_HEAD, 0, 3);
  attnviz_heatmap_view_set_zoom (s.view, 1.0);
  attnviz_test_exact_frame_ms (&s);

  g_source_remove (pulse);
  g_autofree char *what = g_strdup_printf ("T = %d", T);
  attnviz_test_assert_no_stall (what);
  attnviz_test_unshow (&s);
}

static void
test_hover_values_are_the_sources_cells (void)
{
  AttnvizTestShown s = { 0 };
  attnviz_test_show (&s, attnviz_test_long_result (7, 1024));
  AttnvizAttention *src = attnviz_result_get_source (s.result);
  attnviz_view_state_set_head (figure_state (s.view), 2);
  attnviz_heatmap_view_set_zoom (s.view, 8.0);
  attnviz_test_exact_frame_ms (&s);

  /* In an exact tile: known at once. */
  int row, col;
  float v, a, b;
  attnviz_test_centre_cell (&s, &row, &col);
  g_assert_true (attnviz_heatmap_tiles_get_value (s.tiles, row, col, &v, &a, &b));
  g_assert_cmpfloat (v, ==, attnviz_attention_get_cell (src, 0, 2, row, col));
  g_assert_true (isnan (a) && isnan (b));

  /* Out of view: computed off the main loop, then known. */
  int far_row = 1000, far_col = 3;
  g_assert_false (attnviz_heatmap_tiles_peek (s.tiles, 1, far_row, far_col, &v));
  g_assert_false (attnviz_heatmap_tiles_get_value (s.tiles, far_row, far_col, &v, &a, &b));
  attnviz_test_wait_until (attnviz_heatmap_tiles_get_value (s.tiles, far_row, far_col, &v, &a, &b), 10);
  g_assert_true (attnviz_heatmap_tiles_get_value (s.tiles, far_row, far_col, &v, &a, &b));
  g_assert_cmpfloat (v, ==, attnviz_attention_get_cell (src, 0, 2, far_row, far_col));
  g_assert_cmpfloat (v, >, 0);
  attnviz_test_unshow (&s);
}

static void
test_aggregates_of_a_long_run_are_the_means_and_maxes_of_its_heads (void)
{
  AttnvizTestShown s = { 0 };
  attnviz_test_show (&s, attnviz_test_long_result (7, 1024));
  AttnvizAttention *src = attnviz_result_get_source (s.result);
  int H = attnviz_attention_get_n_heads (src);
  guint pulse = attnviz_test_pulse_start ();

  static const AttnvizAggregate aggregates[] = { ATTNVIZ_AGGREGATE_MEAN, ATTNVIZ_AGGREGATE_MAX };
  for (guint i = 0; i < G_N_ELEMENTS (aggregates); i++)
    {
      AttnvizAggregate agg = aggregates[i];
      AttnvizPool pool = agg == ATTNVIZ_AGGREGATE_MEAN ? ATTNVIZ_POOL_MEAN : ATTNVIZ_POOL_MAX;
      attnviz_view_state_set_aggregate (figure_state (s.view), agg);
      attnviz_view_state_set_layer (figure_state (s.view), 1);
      attnviz_heatmap_view_set_zoom (s.view, 1.0);
      attnviz_test_next_frame_ms ();

      /* The overview shown: the heads' overviews combined, as the test does it. */
      int r, c;
      const float *shown = attnviz_heatmap_tiles_get_overview (s.tiles, &r, &c);
      g_assert_nonnull (shown);
      for (int at = 0; at < r * c; at += 97)
        {
          int hr, hc;
          float want = attnviz_attention_get_overview (src, 1, 0, pool, &hr, &hc)[at];
          for (int h = 1; h < H; h++)
            {
              float w = attnviz_attention_get_overview (src, 1, h, pool, &hr, &hc)[at];
              want = agg == ATTNVIZ_AGGREGATE_MAX ? MAX (want, w) : want + w;
            }
          if (agg == ATTNVIZ_AGGREGATE_MEAN)
            want *= 1.0f / H;
          g_assert_cmpfloat (shown[at], ==, want);
        }
      attnviz_test_pulse_skip ();

      /* Zoomed in, the exact cells. */
      attnviz_heatmap_view_set_zoom (s.view, 8.0);
      attnviz_test_exact_frame_ms (&s);
      attnviz_test_assert_shown_cells_exact (&s, agg, 1, 0);
    }
  g_source_remove (pulse);
  attnviz_test_assert_no_stall ("aggregates");
  attnviz_test_unshow (&s);
}

static void
test_a_long_difference_shows_a_minus_b (void)
{
  g_autoptr(GError) error = NULL;
  AttnvizResult *a = attnviz_test_long_result (7, 1024), *b = attnviz_test_long_result (8, 1024);
  AttnvizResult *d = ATTNVIZ_RESULT (attnviz_difference_new (a, b, &error));
  g_assert_no_error (error);
  AttnvizAttention *sa = attnviz_result_get_source (a), *sb = attnviz_result_get_source (b);
  g_object_unref (a);
  g_object_unref (b);
  g_assert_true (attnviz_result_is_long (d));

  AttnvizTestShown s = { 0 };
  attnviz_test_show (&s, d);
  attnviz_view_state_set_colormap (figure_state (s.view), ATTNVIZ_COLORMAP_RDBU);
  attnviz_view_state_set_head (figure_state (s.view), 1);
  attnviz_test_exact_frame_ms (&s);
  /* At fit: bins show the A − B of the largest magnitude. */
  int k = attnviz_heatmap_view_get_bin (s.view);
  g_assert_cmpint (k, >, 1);
  float shown;
  int br = 40, bc = 20;
  g_assert_true (attnviz_heatmap_tiles_peek (s.tiles, k, br, bc, &shown));
  float want = 0;
  for (int i = br * k; i < (br + 1) * k; i++)
    for (int j = bc * k; j < (bc + 1) * k; j++)
      {
        float v = attnviz_attention_get_cell (sa, 0, 1, i, j) - attnviz_attention_get_cell (sb, 0, 1, i, j);
        if (fabsf (v) > fabsf (want))
          want = v;
      }
  g_assert_cmpfloat (shown, ==, want);
  g_assert_cmpfloat (want, !=, 0);

  /* The scale comes from the mean overview (A's − B's): the bins reach
   * beyond it, and the colour bar says so over its top. */
  AttnvizHeatmapSpec screen;
  g_assert_true (attnviz_heatmap_view_get_screen_spec (s.view, &screen));
  g_assert_true (screen.scale_clips);
  float top = 0;
  for (int i = 0; i < (1024 + k - 1) / k; i++)
    for (int j = 0; j <= i; j++)
      {
        float v;
        g_assert_true (attnviz_heatmap_tiles_peek (s.tiles, k, i, j, &v));
        top = MAX (top, fabsf (v));
      }
  g_test_message ("difference: scale ±%g, largest |A − B| of a bin %g", screen.scale.vmax, top);
  g_assert_cmpfloat (top, >, screen.scale.vmax);
  AttnvizHeatmapLayout l;
  attnviz_heatmap_layout (&screen, 900, 800, &l);
  guint32 above[2] = { 0, 0 };
  for (int clips = 0; clips < 2; clips++)
    {
      screen.scale_clips = clips;
      cairo_surface_t *image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 900, 800);
      cairo_t *cr = cairo_create (image);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      attnviz_paint_heatmap (cr, &screen, 900, 800);
      cairo_destroy (cr);
      /* A checksum of the band just over the bar. */
      cairo_surface_flush (image);
      const guchar *data = cairo_image_surface_get_data (image);
      int stride = cairo_image_surface_get_stride (image);
      for (int y = MAX (0, (int) l.colorbar.y - 14); y < (int) l.colorbar.y - 1; y++)
        for (int x = (int) l.colorbar.x; x < MIN (899, (int) (l.colorbar.x + 60)); x++)
          above[clips] = above[clips] * 31 + *(const guint32 *) (data + (gsize) y * stride + (gsize) x * 4);
      cairo_surface_destroy (image);
    }
  g_assert_cmpuint (above[0], !=, above[1]);

  attnviz_heatmap_view_set_zoom (s.view, 8.0);
  attnviz_test_exact_frame_ms (&s);
  int row, col;
  attnviz_test_centre_cell (&s, &row, &col);
  for (int dr = 0; dr < 10; dr++)
    {
      g_assert_true (attnviz_heatmap_tiles_peek (s.tiles, 1, row - dr, col - dr / 2, &shown));
      g_assert_cmpfloat (shown, ==, attnviz_attention_get_cell (sa, 0, 1, row - dr, col - dr / 2)
                                    - attnviz_attention_get_cell (sb, 0, 1, row - dr, col - dr / 2));
    }
  float v, va, vb;
  attnviz_test_wait_until (attnviz_heatmap_tiles_get_value (s.tiles, row, col, &v, &va, &vb), 10);
  g_assert_cmpfloat (va, ==, attnviz_attention_get_cell (sa, 0, 1, row, col));
  g_assert_cmpfloat (vb, ==, attnviz_attention_get_cell (sb, 0, 1, row, col));
  g_assert_cmpfloat (v, ==, va - vb);

  /* Exported, it is pooled and says so. */
  AttnvizHeatmapSpec spec;
  g_assert_true (attnviz_heatmap_view_get_spec (s.view, &spec));
  g_assert_cmpint (spec.rows, ==, 1024);
  attnviz_test_unshow (&s);
}

static void
test_an_export_of_a_long_run_is_pooled_and_says_so (void)
{
  AttnvizTestShown s = { 0 };
  attnviz_test_show (&s, attnviz_test_long_result (7, 8192));
  AttnvizHeatmapSpec spec;
  g_assert_true (attnviz_heatmap_view_get_spec (s.view, &spec));
  g_assert_cmpint (spec.rows, ==, 1024);
  g_assert_cmpint (spec.cols, ==, 1024);
  g_assert_nonnull (strstr (spec.subtitle, "each pixel the max of 8×8 cells"));
  g_autofree char *label = g_strdup_printf ("24:%s", attnviz_result_get_label (s.result, 24));
  g_assert_cmpstr (spec.row_labels[3], ==, label);
  AttnvizAttention *src = attnviz_result_get_source (s.result);
  float best = 0;
  for (int i = 8 * 100; i < 8 * 101; i++)
    for (int j = 8 * 99; j < 8 * 100; j++)
      best = MAX (best, attnviz_attention_get_cell (src, 0, 0, i, j));
  g_assert_cmpfloat (spec.matrix[100 * 1024 + 99], ==, best);
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "attnviz-long-export.png", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_paint_to_file (path, ATTNVIZ_FIGURE_HEATMAP, &spec, 500, 450, &error));
  g_assert_no_error (error);
  attnviz_test_unshow (&s);
}

/* The max and the mean of the cells [r0, r1) x [c0, c1) a causal model sees. */
int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/long-ui/heatmap/shows-the-overview-at-once-then-the-exact-picture/T1024", GINT_TO_POINTER (1024),
                        test_heatmap_of_a_long_run_shows_the_overview_at_once_then_the_exact_picture);
  g_test_add_data_func ("/long-ui/heatmap/shows-the-overview-at-once-then-the-exact-picture/T8192", GINT_TO_POINTER (8192),
                        test_heatmap_of_a_long_run_shows_the_overview_at_once_then_the_exact_picture);
  g_test_add_func ("/long-ui/heatmap/hover-values-are-the-sources-cells", test_hover_values_are_the_sources_cells);
  g_test_add_func ("/long-ui/heatmap/aggregates-are-the-means-and-maxes-of-the-heads",
                   test_aggregates_of_a_long_run_are_the_means_and_maxes_of_its_heads);
  g_test_add_func ("/long-ui/heatmap/a-long-difference-shows-a-minus-b", test_a_long_difference_shows_a_minus_b);
  g_test_add_func ("/long-ui/export/a-long-run-is-pooled-and-says-so", test_an_export_of_a_long_run_is_pooled_and_says_so);
  return g_test_run ();
}
