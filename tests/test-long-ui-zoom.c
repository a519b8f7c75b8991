/* test-long-ui-zoom.c: the heatmap of a long run, pooled and zoomed
 *
 * On a small random-weight RoPE model's run at T = 1024 (recomputing, no
 * dense matrices), in an AttnvizHeatmapView: hovering a pooled picture
 * names the bin with its max and mean, the mean-over-heads scale covers
 * every bin it paints, zooming keeps the cell under the pointer, the
 * zoomed title says the zoom and the ranges in view, masked cells are
 * drawn as no data.
 * (The overview, hover, aggregates and export: test-long-ui.c.)
 */
#define G_LOG_DOMAIN "test-long-ui"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-test-long-ui.h"

/* ---- The tests ---------------------------------------------------------------------- */

static void
seen_max_mean (AttnvizAttention *src, int layer, int head, int r0, int r1, int c0, int c1, float *max, float *mean)
{
  double sum = 0;
  int n = 0;
  *max = 0;
  for (int i = r0; i < r1; i++)
    for (int j = c0; j < MIN (c1, i + 1); j++)
      {
        float v = attnviz_attention_get_cell (src, layer, head, i, j);
        *max = MAX (*max, v);
        sum += v;
        n++;
      }
  *mean = (float) (sum / n);
}

static void
test_hover_on_a_pooled_picture_names_the_bin_and_its_max_and_mean (void)
{
  AttnvizTestShown s = { 0 };
  attnviz_test_show (&s, attnviz_test_long_result (7, 1024));
  AttnvizAttention *src = attnviz_result_get_source (s.result);
  attnviz_view_state_set_head (figure_state (s.view), 1);
  attnviz_test_exact_frame_ms (&s);
  int k = attnviz_heatmap_view_get_bin (s.view);
  g_assert_cmpint (k, >, 1);

  /* A bin under the diagonal and one across it (part of it masked). */
  int places[][2] = { { 300, 41 }, { 601, 600 } };
  for (guint p = 0; p < G_N_ELEMENTS (places); p++)
    {
      int row = places[p][0], col = places[p][1];
      int r0 = row / k * k, c0 = col / k * k;
      g_autofree char *markup = NULL;
      attnviz_test_wait_until ((markup = attnviz_heatmap_view_describe_cell (s.view, row, col)) != NULL, 10);
      g_assert_nonnull (markup);
      float max, mean, painted;
      seen_max_mean (src, 0, 1, r0, r0 + k, c0, c0 + k, &max, &mean);
      g_assert_true (attnviz_heatmap_tiles_peek (s.tiles, k, row / k, col / k, &painted));
      g_assert_cmpfloat (painted, ==, max);
      g_autofree char *ranges = g_strdup_printf ("<b>queries</b> %d–%d\n<b>keys</b> %d–%d\n", r0, r0 + k - 1, c0,
                                                 c0 + k - 1);
      g_autofree char *values = g_strdup_printf ("<b>max</b> %.4g · <b>mean</b> %.4g", max, mean);
      g_test_message ("bin at (%d, %d): %s", row, col, markup);
      g_assert_nonnull (strstr (markup, ranges));
      g_assert_nonnull (strstr (markup, values));
      g_assert_null (strstr (markup, "weight"));
    }

  /* Zoomed in to exact cells: the cell and its weight. */
  attnviz_heatmap_view_set_zoom (s.view, 8.0);
  attnviz_test_exact_frame_ms (&s);
  int row, col;
  attnviz_test_centre_cell (&s, &row, &col);
  g_autofree char *cell = attnviz_heatmap_view_describe_cell (s.view, row, col);
  g_autofree char *weight = g_strdup_printf ("<b>weight</b> %.4g", attnviz_attention_get_cell (src, 0, 1, row, col));
  g_assert_nonnull (cell);
  g_assert_nonnull (strstr (cell, weight));
  attnviz_test_unshow (&s);
}

static void
test_the_mean_over_heads_scale_covers_every_bin_it_paints_and_says_what_a_pixel_is (void)
{
  AttnvizTestShown s = { 0 };
  attnviz_test_show (&s, attnviz_test_long_result (7, 1024));
  attnviz_view_state_set_aggregate (figure_state (s.view), ATTNVIZ_AGGREGATE_MEAN);
  attnviz_view_state_set_layer (figure_state (s.view), 1);
  attnviz_test_exact_frame_ms (&s);
  int k = attnviz_heatmap_view_get_bin (s.view);
  g_assert_cmpint (k, >, 1);
  AttnvizHeatmapSpec spec;
  g_assert_true (attnviz_heatmap_view_get_screen_spec (s.view, &spec));
  g_assert_false (spec.scale_clips);
  g_autofree char *note = g_strdup_printf ("mean over heads · each pixel the max of %d×%d cells", k, k);
  g_assert_nonnull (strstr (spec.subtitle, note));

  /* Every bin painted lies within the colour bar; the mean overview's
   * largest value alone (what the scale was fitted to) lies below some. */
  int bins = (1024 + k - 1) / k, r, c;
  const float *o = attnviz_heatmap_tiles_get_overview (s.tiles, &r, &c);
  float overview_max = 0, painted_max = 0;
  for (int i = 0; i < r * c; i++)
    overview_max = MAX (overview_max, o[i]);
  for (int br = 0; br < bins; br++)
    for (int bc = 0; bc <= br; bc++)
      {
        float v;
        g_assert_true (attnviz_heatmap_tiles_peek (s.tiles, k, br, bc, &v));
        painted_max = MAX (painted_max, v);
      }
  g_test_message ("mean over heads: overview max %g, painted max %g, scale top %g", overview_max, painted_max,
                  spec.scale.vmax);
  g_assert_cmpfloat (painted_max, >, overview_max);
  g_assert_cmpfloat (painted_max, <=, spec.scale.vmax);
  attnviz_test_pulse_skip ();
  attnviz_test_unshow (&s);
}

static void
test_zooming_keeps_the_cell_under_the_pointer_at_every_level (void)
{
  AttnvizTestShown s = { 0 };
  attnviz_test_show (&s, attnviz_test_long_result (7, 4096));
  attnviz_test_next_frame_ms ();
  AttnvizHeatmapLayout l;
  double ox, oy;
  g_assert_true (attnviz_heatmap_view_get_layout (s.view, &l, &ox, &oy));

  /* Near the top-left corner of the matrix, and in its middle. */
  double points[][2] = { { ox + l.matrix.x + 23.3, oy + l.matrix.y + 17.6 },
                         { ox + l.matrix.x + l.matrix.width * 0.61, oy + l.matrix.y + l.matrix.height * 0.43 } };
  for (guint p = 0; p < G_N_ELEMENTS (points); p++)
    {
      double x = points[p][0], y = points[p][1];
      int row, col;
      attnviz_heatmap_view_set_zoom (s.view, 1.0);
      g_assert_true (attnviz_heatmap_view_hit (s.view, x, y, &row, &col));
      g_assert_cmpint (row, >=, 0);
      g_assert_cmpint (col, >=, 0);
      for (double zoom = 1.25; zoom <= ATTNVIZ_HEATMAP_VIEW_MAX_ZOOM; zoom *= 1.25)
        {
          int r, c;
          attnviz_heatmap_view_zoom_at (s.view, zoom, x, y);
          attnviz_test_next_frame_ms ();
          g_assert_true (attnviz_heatmap_view_hit (s.view, x, y, &r, &c));
          g_assert_cmpint (r, ==, row);
          g_assert_cmpint (c, ==, col);
        }
      g_assert_cmpfloat (attnviz_heatmap_view_get_zoom (s.view), >, 50);
      /* And back out. */
      for (double zoom = attnviz_heatmap_view_get_zoom (s.view) / 1.25; zoom > 1.3; zoom /= 1.25)
        {
          int r, c;
          attnviz_heatmap_view_zoom_at (s.view, zoom, x, y);
          g_assert_true (attnviz_heatmap_view_hit (s.view, x, y, &r, &c));
          g_assert_cmpint (r, ==, row);
          g_assert_cmpint (c, ==, col);
        }
    }
  attnviz_test_pulse_skip ();
  attnviz_test_unshow (&s);
}

static void
test_zoomed_in_the_view_keeps_a_title_with_the_zoom_and_the_ranges_in_view (void)
{
  AttnvizTestShown s = { 0 };
  attnviz_test_show (&s, attnviz_test_long_result (7, 1024));
  attnviz_test_next_frame_ms ();
  g_assert_null (attnviz_heatmap_view_describe_view (s.view));
  attnviz_heatmap_view_set_zoom (s.view, 8.0);
  attnviz_test_next_frame_ms ();

  g_autofree char *line = attnviz_heatmap_view_describe_view (s.view);
  g_assert_nonnull (line);
  g_test_message ("zoomed: %s", line);
  g_assert_nonnull (strstr (line, "layer 0 · head 0 · ×8 · queries "));
  int r0, r1, c0, c1, row, col;
  const char *at = strstr (line, "queries ");
  g_assert_cmpint (sscanf (at, "queries %d–%d · keys %d–%d", &r0, &r1, &c0, &c1), ==, 4);
  attnviz_test_centre_cell (&s, &row, &col);
  g_assert_cmpint (r0, <, row);
  g_assert_cmpint (row, <, r1);
  g_assert_cmpint (c0, <, col);
  g_assert_cmpint (col, <, c1);
  /* The widget's height in cells, give or take the one cut at each edge. */
  AttnvizHeatmapLayout l;
  g_assert_true (attnviz_heatmap_view_get_layout (s.view, &l, NULL, NULL));
  double in_view = gtk_widget_get_height (GTK_WIDGET (s.view)) / l.cell;
  g_assert_cmpfloat (r1 - r0 + 1, >=, floor (in_view));
  g_assert_cmpfloat (r1 - r0 + 1, <=, ceil (in_view) + 1);
  attnviz_test_unshow (&s);
}

static void
test_masked_cells_of_a_long_run_are_drawn_as_no_data (void)
{
  AttnvizTestShown s = { 0 };
  attnviz_test_show (&s, attnviz_test_long_result (7, 1024));
  attnviz_test_exact_frame_ms (&s);
  int k = attnviz_heatmap_view_get_bin (s.view);
  g_assert_cmpint (k, >, 1);
  /* The tiles paint the matrix, one pixel a bin, into an image of its own. */
  int bins = (1024 + k - 1) / k;
  cairo_surface_t *image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, bins, bins);
  cairo_t *cr = cairo_create (image);
  AttnvizRect m = { 0, 0, 1024.0 / k, 1024.0 / k };
  attnviz_heatmap_tiles_paint (s.tiles, cr, &m, k);
  cairo_destroy (cr);
  cairo_surface_flush (image);
  const guchar *data = cairo_image_surface_get_data (image);
  int stride = cairo_image_surface_get_stride (image);
  double rgb[3];
  attnviz_colormap_nodata (attnviz_view_state_get_colormap (figure_state (s.view)), rgb);
  guint32 nodata = attnviz_colormap_pack (rgb) & 0xffffff;
  int masked = 0;
  for (int i = 0; i < (int) m.height; i += 7)
    for (int j = 0; j < (int) m.width; j += 5)
      {
        guint32 p = *(const guint32 *) (data + (gsize) i * stride + (gsize) j * 4) & 0xffffff;
        if (j > i)
          {
            g_assert_cmpuint (p, ==, nodata);
            masked++;
          }
        else
          g_assert_cmpuint (p, !=, nodata);
      }
  g_assert_cmpint (masked, >, 100);
  cairo_surface_destroy (image);
  attnviz_test_unshow (&s);
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  g_test_add_func ("/long-ui/heatmap/hover-on-a-pooled-picture-names-the-bin-and-its-max-and-mean",
                   test_hover_on_a_pooled_picture_names_the_bin_and_its_max_and_mean);
  g_test_add_func ("/long-ui/heatmap/the-mean-over-heads-scale-covers-every-bin-it-paints-and-says-what-a-pixel-is",
                   test_the_mean_over_heads_scale_covers_every_bin_it_paints_and_says_what_a_pixel_is);
  g_test_add_func ("/long-ui/heatmap/zooming-keeps-the-cell-under-the-pointer-at-every-level",
                   test_zooming_keeps_the_cell_under_the_pointer_at_every_level);
  g_test_add_func ("/long-ui/heatmap/zoomed-in-keeps-a-title-with-the-zoom-and-the-ranges-in-view",
                   test_zoomed_in_the_view_keeps_a_title_with_the_zoom_and_the_ranges_in_view);
  g_test_add_func ("/long-ui/heatmap/masked-cells-are-drawn-as-no-data",
                   test_masked_cells_of_a_long_run_are_drawn_as_no_data);
  return g_test_run ();
}
