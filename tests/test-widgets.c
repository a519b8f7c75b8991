/* test-widgets.c: the desktop app's widgets, their properties, hit tests
 * and actions, and that nothing leaks (g_assert_finalize_object) */
#define G_LOG_DOMAIN "test-widgets"
#include "config.h"

#include <stdio.h>

#include <adwaita.h>

#include "attnviz-grid-view.h"
#include "attnviz-heatmap-view.h"
#include "attnviz-lines-view.h"
#include "attnviz-painter-private.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-token-strip.h"
#include "attnviz-window.h"

static void
count_notify (GObject *object, GParamSpec *pspec, int *count)
{
  (*count)++;
}

/* Puts WIDGET in a window of WIDTH x HEIGHT and waits until it is drawn. */
static GtkWindow *
show_in_window (GtkWidget *widget, int width, int height)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (window, width, height);
  gtk_window_set_child (window, widget);
  gtk_window_present (window);
  attnviz_test_wait_until (gtk_widget_get_width (widget) > 0 && gtk_widget_get_mapped (widget), 10);
  g_assert_cmpint (gtk_widget_get_width (widget), >, 0);
  return window;
}

static void
destroy_window (GtkWindow *window)
{
  g_object_ref (window);
  gtk_window_destroy (window);
  g_assert_finalize_object (window);
}

/* ---- The result ------------------------------------------------------------ */

static void
test_result_aggregates (void)
{
  AttnvizResult *result = attnviz_test_random_result (2, 3, 7, 1);
  int T = 7;

  const float *mean = attnviz_result_get_matrix (result, ATTNVIZ_AGGREGATE_MEAN, 1, 0);
  const float *max = attnviz_result_get_matrix (result, ATTNVIZ_AGGREGATE_MAX, 1, 2);
  g_assert_nonnull (mean);
  g_assert_nonnull (max);
  /* Cached: the same buffer the second time. */
  g_assert_true (mean == attnviz_result_get_matrix (result, ATTNVIZ_AGGREGATE_MEAN, 1, 1));

  for (int i = 0; i < T * T; i++)
    {
      double sum = 0, largest = 0;
      for (int h = 0; h < 3; h++)
        {
          float v = attnviz_result_get_matrix (result, ATTNVIZ_AGGREGATE_HEAD, 1, h)[i];
          sum += v;
          largest = MAX (largest, v);
        }
      g_assert_cmpfloat_with_epsilon (mean[i], sum / 3, 1e-6);
      g_assert_cmpfloat_with_epsilon (max[i], largest, 1e-7);
    }
  /* The mean of row-normalised rows is row-normalised. */
  for (int r = 0; r < T; r++)
    {
      double s = 0;
      for (int c = 0; c < T; c++)
        s += mean[r * T + c];
      g_assert_cmpfloat_with_epsilon (s, 1.0, 1e-5);
    }
  g_assert_null (attnviz_result_get_matrix (result, ATTNVIZ_AGGREGATE_HEAD, 2, 0));
  g_assert_null (attnviz_result_get_matrix (result, ATTNVIZ_AGGREGATE_HEAD, 0, 3));

  g_autofree char *d = attnviz_result_describe (result, ATTNVIZ_AGGREGATE_MAX, 1, 0);
  g_assert_cmpstr (d, ==, "random · layer 1 · max over 3 heads");
  g_assert_finalize_object (result);
}

/* ---- The heatmap ----------------------------------------------------------- */

static void
test_heatmap_properties (void)
{
  AttnvizHeatmapView *view = g_object_ref_sink (ATTNVIZ_HEATMAP_VIEW (attnviz_heatmap_view_new ()));
  AttnvizResult *result = attnviz_test_random_result (3, 4, 9, 2);
  int layer_n = 0, head_n = 0, colormap_n = 0, scale_n = 0, selected_n = 0, result_n = 0, zoom_n = 0;

  g_signal_connect (figure_state (view), "notify::layer", G_CALLBACK (count_notify), &layer_n);
  g_signal_connect (figure_state (view), "notify::head", G_CALLBACK (count_notify), &head_n);
  g_signal_connect (figure_state (view), "notify::colormap", G_CALLBACK (count_notify), &colormap_n);
  g_signal_connect (figure_state (view), "notify::scale", G_CALLBACK (count_notify), &scale_n);
  g_signal_connect (figure_state (view), "notify::selected-token", G_CALLBACK (count_notify), &selected_n);
  g_signal_connect (figure_state (view), "notify::result", G_CALLBACK (count_notify), &result_n);
  g_signal_connect (view, "notify::zoom", G_CALLBACK (count_notify), &zoom_n);

  g_assert_cmpint (attnviz_view_state_get_selected_token (figure_state (view)), ==, -1);
  g_assert_cmpfloat (attnviz_heatmap_view_get_zoom (view), ==, 1.0);

  attnviz_view_state_set_run (figure_state (view), result);
  attnviz_view_state_set_run (figure_state (view), result);
  g_assert_cmpint (result_n, ==, 1);

  g_object_set (figure_state (view), "layer", 2, "head", 3, "colormap", ATTNVIZ_COLORMAP_MAGMA,
                "scale", ATTNVIZ_SCALE_LOG, "selected-token", 4, NULL);
  g_assert_cmpint (layer_n, ==, 1);
  g_assert_cmpint (head_n, ==, 1);
  g_assert_cmpint (colormap_n, ==, 1);
  g_assert_cmpint (scale_n, ==, 1);
  g_assert_cmpint (selected_n, ==, 1);

  /* Setting the same values notifies nothing (explicit notify). */
  g_object_set (figure_state (view), "layer", 2, "head", 3, "colormap", ATTNVIZ_COLORMAP_MAGMA,
                "scale", ATTNVIZ_SCALE_LOG, "selected-token", 4, NULL);
  g_assert_cmpint (layer_n + head_n + colormap_n + scale_n + selected_n, ==, 5);

  /* Out of range: clamped to the result. */
  attnviz_view_state_set_head (figure_state (view), 99);
  g_assert_cmpint (attnviz_view_state_get_head (figure_state (view)), ==, 3);
  attnviz_view_state_set_layer (figure_state (view), -5);
  g_assert_cmpint (attnviz_view_state_get_layer (figure_state (view)), ==, 0);
  attnviz_view_state_set_selected_token (figure_state (view), 9);
  g_assert_cmpint (attnviz_view_state_get_selected_token (figure_state (view)), ==, -1);

  attnviz_heatmap_view_set_zoom (view, 1000);
  g_assert_cmpfloat (attnviz_heatmap_view_get_zoom (view), ==, ATTNVIZ_HEATMAP_VIEW_MAX_ZOOM);
  attnviz_heatmap_view_set_zoom (view, 1.0);
  g_assert_cmpint (zoom_n, ==, 2);

  /* The spec follows the properties. */
  AttnvizHeatmapSpec spec;
  attnviz_view_state_set_head (figure_state (view), 1);
  attnviz_view_state_set_selected_token (figure_state (view), 5);
  g_assert_true (attnviz_heatmap_view_get_spec (view, &spec));
  g_assert_true (spec.matrix == attnviz_result_get_matrix (result, ATTNVIZ_AGGREGATE_HEAD, 0, 1));
  g_assert_cmpint (spec.rows, ==, 9);
  g_assert_cmpint (spec.highlight_row, ==, 5);
  g_assert_cmpint (spec.colormap, ==, ATTNVIZ_COLORMAP_MAGMA);
  g_assert_cmpint (spec.scale.kind, ==, ATTNVIZ_SCALE_LOG);
  g_assert_cmpstr (spec.title, ==, "random · layer 0 · head 1");
  attnviz_view_state_set_aggregate (figure_state (view), ATTNVIZ_AGGREGATE_MEAN);
  g_assert_true (attnviz_heatmap_view_get_spec (view, &spec));
  g_assert_true (spec.matrix == attnviz_result_get_matrix (result, ATTNVIZ_AGGREGATE_MEAN, 0, 0));

  /* A smaller run clamps what no longer exists. */
  AttnvizResult *small = attnviz_test_random_result (1, 1, 3, 3);
  attnviz_view_state_set_run (figure_state (view), small);
  g_assert_cmpint (attnviz_view_state_get_head (figure_state (view)), ==, 0);
  g_assert_cmpint (attnviz_view_state_get_selected_token (figure_state (view)), ==, -1);

  g_assert_finalize_object (view);
  g_assert_finalize_object (result);
  g_assert_finalize_object (small);
}

static void
test_heatmap_hit (void)
{
  AttnvizResult *result = attnviz_test_random_result (2, 2, 12, 4);
  GtkWidget *view = attnviz_heatmap_view_new ();
  AttnvizHeatmapLayout layout;
  double ox, oy;
  int row, col;

  attnviz_view_state_set_run (figure_state (ATTNVIZ_HEATMAP_VIEW (view)), result);
  GtkWindow *window = show_in_window (view, 640, 560);
  g_assert_true (attnviz_heatmap_view_get_layout (ATTNVIZ_HEATMAP_VIEW (view), &layout, &ox, &oy));
  g_assert_cmpint (layout.rows, ==, 12);
  g_assert_cmpfloat (layout.cell, >, 10);

  /* The centre of every cell maps to that cell. */
  for (int r = 0; r < 12; r++)
    for (int c = 0; c < 12; c++)
      {
        double x = ox + layout.matrix.x + (c + 0.5) * layout.cell;
        double y = oy + layout.matrix.y + (r + 0.5) * layout.cell;
        g_assert_true (attnviz_heatmap_view_hit (ATTNVIZ_HEATMAP_VIEW (view), x, y, &row, &col));
        g_assert_cmpint (row, ==, r);
        g_assert_cmpint (col, ==, c);
      }
  /* A row label: that row, no column. */
  g_assert_true (attnviz_heatmap_view_hit (ATTNVIZ_HEATMAP_VIEW (view), layout.matrix.x - 5,
                                           layout.matrix.y + 3.5 * layout.cell, &row, &col));
  g_assert_cmpint (row, ==, 3);
  g_assert_cmpint (col, ==, -1);
  /* The top-left corner is no cell. */
  g_assert_false (attnviz_heatmap_view_hit (ATTNVIZ_HEATMAP_VIEW (view), 1, 1, &row, &col));

  /* Zoomed 4x about the centre: the cell under a point is where the
   * layout, moved by the pan, puts it. */
  attnviz_heatmap_view_set_zoom (ATTNVIZ_HEATMAP_VIEW (view), 4.0);
  g_assert_true (attnviz_heatmap_view_get_layout (ATTNVIZ_HEATMAP_VIEW (view), &layout, &ox, &oy));
  g_assert_cmpfloat (ox, <, 0);
  double cx = gtk_widget_get_width (view) / 2.0, cy = gtk_widget_get_height (view) / 2.0;
  g_assert_true (attnviz_heatmap_view_hit (ATTNVIZ_HEATMAP_VIEW (view), cx, cy, &row, &col));
  g_assert_cmpint (row, ==, (int) floor ((cy - oy - layout.matrix.y) / layout.cell));
  g_assert_cmpint (col, ==, (int) floor ((cx - ox - layout.matrix.x) / layout.cell));

  /* The content node is the widget's size, whatever the zoom. */
  GskRenderNode *node = attnviz_heatmap_view_build_node (ATTNVIZ_HEATMAP_VIEW (view), 300, 200);
  graphene_rect_t bounds;
  gsk_render_node_get_bounds (node, &bounds);
  g_assert_cmpfloat (bounds.size.width, <=, 300);
  g_assert_cmpfloat (bounds.size.height, <=, 200);
  gsk_render_node_unref (node);

  destroy_window (window);
  g_assert_finalize_object (result);
}

static void
test_heatmap_keyboard (void)
{
  AttnvizResult *result = attnviz_test_random_result (3, 3, 5, 5);
  AttnvizHeatmapView *view = g_object_ref_sink (ATTNVIZ_HEATMAP_VIEW (attnviz_heatmap_view_new ()));

  attnviz_view_state_set_run (figure_state (view), result);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "figure.next-head", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "figure.next-head", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "figure.next-head", NULL));
  g_assert_cmpint (attnviz_view_state_get_head (figure_state (view)), ==, 2);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "figure.next-layer", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "figure.previous-head", NULL));
  g_assert_cmpint (attnviz_view_state_get_layer (figure_state (view)), ==, 1);
  g_assert_cmpint (attnviz_view_state_get_head (figure_state (view)), ==, 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "heatmap.zoom-in", NULL));
  g_assert_cmpfloat (attnviz_heatmap_view_get_zoom (view), >, 1.0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "heatmap.zoom-fit", NULL));
  g_assert_cmpfloat (attnviz_heatmap_view_get_zoom (view), ==, 1.0);

  g_assert_finalize_object (view);
  g_assert_finalize_object (result);
}

/* Zoom keys without a click first (a click moves the selection): the view
 * takes the focus when it comes into view, but not from a text field. */
static void
test_heatmap_takes_the_keys_when_shown_unless_typing (void)
{
  AttnvizResult *result = attnviz_test_random_result (2, 2, 6, 3);
  GtkWidget *view = attnviz_heatmap_view_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *entry = gtk_entry_new ();
  GtkWidget *button = gtk_button_new_with_label ("grid");
  GtkWidget *stack = gtk_stack_new ();
  gtk_widget_set_vexpand (stack, TRUE);
  gtk_stack_add_named (GTK_STACK (stack), gtk_label_new ("grid"), "grid");
  gtk_stack_add_named (GTK_STACK (stack), view, "heatmap");
  gtk_box_append (GTK_BOX (box), entry);
  gtk_box_append (GTK_BOX (box), button);
  gtk_box_append (GTK_BOX (box), stack);
  attnviz_view_state_set_run (figure_state (view), result);
  GtkWindow *window = show_in_window (box, 500, 400);

  gtk_widget_grab_focus (button);
  gtk_stack_set_visible_child_name (GTK_STACK (stack), "heatmap");
  attnviz_test_wait_until (gtk_widget_get_mapped (view), 5);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == view);

  gtk_stack_set_visible_child_name (GTK_STACK (stack), "grid");
  attnviz_test_wait_until (!gtk_widget_get_mapped (view), 5);
  gtk_widget_grab_focus (entry);
  gtk_stack_set_visible_child_name (GTK_STACK (stack), "heatmap");
  attnviz_test_wait_until (gtk_widget_get_mapped (view), 5);
  g_assert_true (gtk_widget_is_ancestor (gtk_root_get_focus (GTK_ROOT (window)), entry));

  destroy_window (window);
  g_assert_finalize_object (result);
}

/* The pixel of IMAGE at (X, Y), 0xRRGGBB. */
static guint32
pixel_at (cairo_surface_t *image, double x, double y)
{
  cairo_surface_flush (image);
  const guchar *data = cairo_image_surface_get_data (image);
  int stride = cairo_image_surface_get_stride (image);
  return *(const guint32 *) (data + (gsize) (int) y * stride + (gsize) (int) x * 4) & 0xffffff;
}

/* A causal model's future cells are no data, not weights of 0. */
static void
test_heatmap_draws_masked_cells_in_the_no_data_colour (void)
{
  AttnvizResult *result = attnviz_test_random_result (1, 2, 8, 4);
  AttnvizHeatmapView *view = g_object_ref_sink (ATTNVIZ_HEATMAP_VIEW (attnviz_heatmap_view_new ()));
  attnviz_view_state_set_run (figure_state (view), result);
  AttnvizHeatmapSpec spec;
  g_assert_true (attnviz_heatmap_view_get_spec (view, &spec));
  g_assert_true (spec.mask_future);

  cairo_surface_t *image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 400, 400);
  cairo_t *cr = cairo_create (image);
  attnviz_paint_heatmap (cr, &spec, 400, 400);
  cairo_destroy (cr);
  AttnvizHeatmapLayout l;
  attnviz_heatmap_layout (&spec, 400, 400, &l);
  double rgb[3];
  attnviz_colormap_nodata (spec.colormap, rgb);
  guint32 nodata = attnviz_colormap_pack (rgb) & 0xffffff;
  attnviz_colormap_lookup (spec.colormap, 0, rgb);
  guint32 zero = attnviz_colormap_pack (rgb) & 0xffffff;
  g_assert_cmpuint (nodata, !=, zero);
  for (int r = 0; r < 8; r++)
    for (int c = 0; c < 8; c++)
      {
        guint32 p = pixel_at (image, l.matrix.x + (c + 0.5) * l.cell, l.matrix.y + (r + 0.5) * l.cell);
        if (c > r)
          g_assert_cmpuint (p, ==, nodata);
        else
          g_assert_cmpuint (p, !=, nodata);
      }
  cairo_surface_destroy (image);
  g_assert_finalize_object (view);
  g_assert_finalize_object (result);
}

/* ---- The grid, the lines, the tokens -------------------------------------- */

static void
on_head_activated (AttnvizGridView *grid, int layer, int head, int *out)
{
  out[0] = layer;
  out[1] = head;
}

/* A hybrid model's run says which heads scored additively: the grid
 * chips those thumbnails "a" and its subtitle says what the chip means;
 * a run of dot-product heads only has neither. */
static void
test_grid_view_marks_additive_heads (void)
{
  AttnvizResult *result = attnviz_test_random_result (2, 3, 8, 11);
  GtkWidget *grid = attnviz_grid_view_new ();
  AttnvizViewState *state = figure_state (ATTNVIZ_GRID_VIEW (grid));
  attnviz_view_state_set_run (state, result);
  AttnvizGridSpec spec;

  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (grid), &spec));
  g_assert_null (spec.marks);
  g_assert_null (strstr (spec.subtitle, "additive"));

  /* as attnviz_forward fills it for hybrid:heads=1 */
  AttnvizRecording *rec = (AttnvizRecording *) attnviz_result_get_recording (result);
  rec->head_additive = g_new0 (guint8, 2 * 3);
  rec->head_additive[0 * 3 + 0] = rec->head_additive[1 * 3 + 0] = 1;
  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (grid), &spec));
  g_assert_nonnull (spec.marks);
  g_assert_cmpstr (spec.mark_label, ==, "a");
  for (int l = 0; l < 2; l++)
    for (int h = 0; h < 3; h++)
      g_assert_cmpint (spec.marks[l * 3 + h], ==, h == 0);
  g_assert_nonnull (strstr (spec.subtitle, "a: additive head"));

  /* drawn: the chip's white letter on its dark backing, top right of head
   * 0's thumbnail and not of head 1's: in the causal future, no query's
   * weight, where head 1 shows the no-data grey; and the weights in the
   * bottom-right corner (the last query on itself) are as without chips */
  AttnvizGridLayout layout;
  attnviz_grid_layout (&spec, 600, 400, &layout);
  cairo_surface_t *image = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 600, 400);
  cairo_t *cr = cairo_create (image);
  attnviz_paint_grid (cr, &spec, 600, 400);
  cairo_destroy (cr);
  cairo_surface_flush (image);
  AttnvizGridSpec plain = spec;
  plain.marks = NULL;
  cairo_surface_t *unmarked = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 600, 400);
  cr = cairo_create (unmarked);
  attnviz_paint_grid (cr, &plain, 600, 400);
  cairo_destroy (cr);
  cairo_surface_flush (unmarked);
  int stride = cairo_image_surface_get_stride (image);
  const guint8 *data = cairo_image_surface_get_data (image);
  const guint8 *data0 = cairo_image_surface_get_data (unmarked);
  guint32 top_right[2], bottom_right[2], bottom_right0[2];
  for (int h = 0; h < 2; h++)
    {
      AttnvizRect r;
      g_assert_true (attnviz_grid_layout_cell_rect (&layout, 0, h, &r));
      int x = (int) (r.x + r.width - 2), top = (int) (r.y + 2), bottom = (int) (r.y + r.height - 2);
      top_right[h] = *(const guint32 *) (data + (gsize) top * stride + 4 * x);
      bottom_right[h] = *(const guint32 *) (data + (gsize) bottom * stride + 4 * x);
      bottom_right0[h] = *(const guint32 *) (data0 + (gsize) bottom * stride + 4 * x);
    }
  cairo_surface_destroy (image);
  cairo_surface_destroy (unmarked);
  g_test_message ("top-right corner of head 0: %08x, head 1: %08x", top_right[0], top_right[1]);
  g_assert_cmpuint (top_right[0], !=, top_right[1]);
  /* the chip is dark: darker than the grey it sits on */
  int sum0 = ((top_right[0] >> 16) & 0xff) + ((top_right[0] >> 8) & 0xff) + (top_right[0] & 0xff);
  int sum1 = ((top_right[1] >> 16) & 0xff) + ((top_right[1] >> 8) & 0xff) + (top_right[1] & 0xff);
  g_assert_cmpint (sum0, <, sum1);
  for (int h = 0; h < 2; h++)
    g_assert_cmpuint (bottom_right[h], ==, bottom_right0[h]);
  /* a map that is not causal (cross-attention) has no empty corner: the
   * chip goes bottom right */
  AttnvizGridSpec square = spec;
  square.lower_triangular = FALSE;
  AttnvizGridLayout square_layout;
  attnviz_grid_layout (&square, 600, 400, &square_layout);
  AttnvizRect r0;
  g_assert_true (attnviz_grid_layout_cell_rect (&square_layout, 0, 0, &r0));
  cairo_surface_t *marked = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 600, 400);
  cr = cairo_create (marked);
  attnviz_paint_grid (cr, &square, 600, 400);
  cairo_destroy (cr);
  square.marks = NULL;
  cairo_surface_t *bare = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 600, 400);
  cr = cairo_create (bare);
  attnviz_paint_grid (cr, &square, 600, 400);
  cairo_destroy (cr);
  cairo_surface_flush (marked);
  cairo_surface_flush (bare);
  gsize at = (gsize) (int) (r0.y + r0.height - 2) * stride + 4 * (int) (r0.x + r0.width - 2);
  g_assert_cmpuint (*(const guint32 *) (cairo_image_surface_get_data (marked) + at), !=,
                    *(const guint32 *) (cairo_image_surface_get_data (bare) + at));
  cairo_surface_destroy (marked);
  cairo_surface_destroy (bare);
  g_object_ref_sink (grid);
  g_assert_finalize_object (grid);
  g_assert_finalize_object (result);
}

/* Whole run and fixed 0–1 give every thumbnail one range, said under the
 * bar and in the subtitle; per head each its own (no range, no caption). */
static void
test_grid_view_follows_the_range_mode (void)
{
  AttnvizResult *result = attnviz_test_random_result (2, 3, 8, 11);
  GtkWidget *grid = attnviz_grid_view_new ();
  AttnvizViewState *state = figure_state (ATTNVIZ_GRID_VIEW (grid));
  attnviz_view_state_set_run (state, result);
  AttnvizGridSpec spec;

  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (grid), &spec));
  g_assert_false (attnviz_scale_has_range (&spec.scale));
  g_assert_null (spec.scale_caption);

  double top = 0;
  for (int l = 0; l < 2; l++)
    for (int h = 0; h < 3; h++)
      {
        const float *m = attnviz_result_get_matrix (result, ATTNVIZ_AGGREGATE_HEAD, l, h);
        for (int i = 0; i < 64; i++)
          top = MAX (top, m[i]);
      }
  attnviz_view_state_set_range_mode (state, ATTNVIZ_RANGE_RUN);
  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (grid), &spec));
  g_assert_cmpfloat (spec.scale.vmin, ==, 0);
  g_assert_cmpfloat_with_epsilon (spec.scale.vmax, top, 1e-6);
  g_assert_cmpstr (spec.scale_caption, ==, "whole run");
  g_assert_nonnull (strstr (spec.subtitle, "colours: whole run"));

  /* Per layer: one bar cannot show it; the subtitle says where it is. */
  attnviz_view_state_set_range_mode (state, ATTNVIZ_RANGE_LAYER);
  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (grid), &spec));
  g_assert_false (attnviz_scale_has_range (&spec.scale));
  g_assert_nonnull (strstr (spec.subtitle, "per layer: in the heatmap"));

  attnviz_view_state_set_range_mode (state, ATTNVIZ_RANGE_FIXED);
  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (grid), &spec));
  g_assert_cmpfloat (spec.scale.vmax, ==, 1);
  g_assert_nonnull (strstr (spec.scale_caption, "fixed"));

  g_object_ref_sink (grid);
  g_object_unref (grid);
  g_object_unref (result);
}

static void
test_grid_view (void)
{
  AttnvizResult *result = attnviz_test_random_result (4, 6, 10, 6);
  GtkWidget *grid = attnviz_grid_view_new ();
  int activated[2] = { -1, -1 };
  int layer_n = 0;

  g_signal_connect (grid, "head-activated", G_CALLBACK (on_head_activated), activated);
  g_signal_connect (figure_state (grid), "notify::layer", G_CALLBACK (count_notify), &layer_n);
  attnviz_view_state_set_run (figure_state (ATTNVIZ_GRID_VIEW (grid)), result);
  GtkWindow *window = show_in_window (grid, 700, 500);

  AttnvizGridSpec spec;
  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (grid), &spec));
  g_assert_cmpint (spec.n_layer, ==, 4);
  g_assert_cmpint (spec.n_head, ==, 6);
  g_assert_true (spec.lower_triangular);

  AttnvizGridLayout layout;
  AttnvizRect rect;
  attnviz_view_state_set_layer (figure_state (ATTNVIZ_GRID_VIEW (grid)), 2);
  g_assert_cmpint (layer_n, ==, 1);
  g_assert_true (attnviz_grid_view_get_layout (ATTNVIZ_GRID_VIEW (grid), &layout));
  g_assert_true (attnviz_grid_layout_cell_rect (&layout, 3, 5, &rect));
  int l, h;
  g_assert_true (attnviz_grid_view_hit (ATTNVIZ_GRID_VIEW (grid), rect.x + rect.width / 2,
                                        rect.y + rect.height / 2, &l, &h));
  g_assert_cmpint (l, ==, 3);
  g_assert_cmpint (h, ==, 5);

  attnviz_view_state_set_head (figure_state (ATTNVIZ_GRID_VIEW (grid)), 4);
  g_assert_true (gtk_widget_activate_action (grid, "grid.activate-head", NULL));
  g_assert_cmpint (activated[0], ==, 2);
  g_assert_cmpint (activated[1], ==, 4);
  g_assert_true (gtk_widget_activate_action (grid, "figure.next-layer", NULL));
  g_assert_cmpint (attnviz_view_state_get_layer (figure_state (ATTNVIZ_GRID_VIEW (grid))), ==, 3);

  destroy_window (window);
  g_assert_finalize_object (result);
}

/* Under the state's mean over heads the grid adds a column holding each
 * layer's, and drops it again for a single head. */
static void
test_grid_view_shows_each_layers_mean_under_mean_over_heads (void)
{
  AttnvizResult *result = attnviz_test_random_result (3, 4, 10, 6);
  GtkWidget *grid = attnviz_grid_view_new ();
  AttnvizViewState *state = figure_state (ATTNVIZ_GRID_VIEW (grid));
  attnviz_view_state_set_run (state, result);
  GtkWindow *window = show_in_window (grid, 900, 500);
  graphene_rect_t rect;

  g_assert_false (attnviz_grid_view_get_aggregate_rect (ATTNVIZ_GRID_VIEW (grid), 0, &rect));
  attnviz_view_state_set_aggregate (state, ATTNVIZ_AGGREGATE_MEAN);
  AttnvizGridSpec spec;
  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (grid), &spec));
  g_assert_cmpint (spec.aggregate, ==, ATTNVIZ_GRID_AGGREGATE_MEAN);
  g_assert_nonnull (strstr (spec.title, "each layer’s mean"));
  for (int l = 0; l < 3; l++)
    g_assert_true (attnviz_grid_view_get_aggregate_rect (ATTNVIZ_GRID_VIEW (grid), l, &rect));

  /* Its pixels: the mean of the layer's heads, on its own range, the
   * future masked (the painter reads the dense maps at 10 tokens). */
  int width = gtk_widget_get_width (grid), height = gtk_widget_get_height (grid);
  GskRenderNode *node = attnviz_grid_view_build_node (ATTNVIZ_GRID_VIEW (grid), width, height);
  cairo_surface_t *image = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (image);
  gsk_render_node_draw (node, cr);
  cairo_destroy (cr);
  gsk_render_node_unref (node);
  cairo_surface_flush (image);
  enum { T = 10 };
  int layer = 1;
  float mean[T * T] = { 0 };
  for (int h = 0; h < 4; h++)
    for (int i = 0; i < T * T; i++)
      mean[i] += attnviz_result_get_matrix (result, ATTNVIZ_AGGREGATE_HEAD, layer, h)[i] / 4;
  AttnvizScale scale;
  attnviz_scale_init (&scale, ATTNVIZ_SCALE_LINEAR, 0, 0);
  attnviz_scale_fit (&scale, mean, T * T, FALSE);
  AttnvizColorizer colorizer;
  attnviz_colorizer_init (&colorizer, &scale, ATTNVIZ_COLORMAP_VIRIDIS, 0);
  g_assert_true (attnviz_grid_view_get_aggregate_rect (ATTNVIZ_GRID_VIEW (grid), layer, &rect));
  const guchar *data = cairo_image_surface_get_data (image);
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++)
      {
        int x = (int) (rect.origin.x + (j + 0.5) * rect.size.width / T);
        int y = (int) (rect.origin.y + (i + 0.5) * rect.size.height / T);
        guint32 got = *(const guint32 *) (data + (gsize) y * cairo_image_surface_get_stride (image) + 4 * x);
        guint32 want = j > i ? colorizer.nodata : attnviz_colorizer_pixel (&colorizer, mean[i * T + j]);
        g_assert_cmphex (got | 0xff000000u, ==, want | 0xff000000u);
      }
  attnviz_colorizer_clear (&colorizer);
  cairo_surface_destroy (image);

  attnviz_view_state_set_aggregate (state, ATTNVIZ_AGGREGATE_HEAD);
  g_assert_false (attnviz_grid_view_get_aggregate_rect (ATTNVIZ_GRID_VIEW (grid), 0, &rect));
  destroy_window (window);
  g_assert_finalize_object (result);
}

/* A bigger window gives the layer and head labels a bigger font. */
static void
test_grid_view_labels_grow_with_the_window (void)
{
  AttnvizResult *result = attnviz_test_random_result (12, 12, 6, 8);
  GtkWidget *grid = attnviz_grid_view_new ();
  attnviz_view_state_set_run (figure_state (ATTNVIZ_GRID_VIEW (grid)), result);
  GtkWindow *window = show_in_window (grid, 800, 600);
  AttnvizGridLayout small, big;

  g_assert_true (attnviz_grid_view_get_layout (ATTNVIZ_GRID_VIEW (grid), &small));
  gtk_window_set_default_size (window, 1600, 1000);
  attnviz_test_wait_until (gtk_widget_get_width (grid) > 1200, 5);
  g_assert_true (attnviz_grid_view_get_layout (ATTNVIZ_GRID_VIEW (grid), &big));
  g_test_message ("index labels %.1f px at %.0f x %.0f, %.1f px at %.0f x %.0f", small.font_size, small.width,
                  small.height, big.font_size, big.width, big.height);
  g_assert_cmpfloat (big.width, >, 1200);
  g_assert_cmpfloat (big.font_size, >, 1.2 * small.font_size);
  g_assert_cmpfloat (big.label_font_size, <=, 18);
  destroy_window (window);
  g_assert_finalize_object (result);
}

static void
test_lines_view (void)
{
  AttnvizResult *result = attnviz_test_random_result (1, 2, 8, 7);
  AttnvizResult *long_result = attnviz_test_random_result (1, 1, ATTNVIZ_LINES_VIEW_MAX_TOKENS + 1, 8);
  AttnvizLinesView *lines = g_object_ref_sink (ATTNVIZ_LINES_VIEW (attnviz_lines_view_new ()));
  AttnvizLinesSpec spec;
  g_autoptr(GError) error = NULL;

  g_assert_false (attnviz_lines_view_get_spec (lines, &spec, &error));
  g_clear_error (&error);
  attnviz_view_state_set_run (figure_state (lines), result);
  attnviz_view_state_set_selected_token (figure_state (lines), 3);
  g_assert_true (attnviz_lines_view_get_spec (lines, &spec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (spec.highlight_row, ==, 3);

  attnviz_view_state_set_run (figure_state (lines), long_result);
  g_assert_false (attnviz_lines_view_get_spec (lines, &spec, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "Too many tokens"));

  g_assert_finalize_object (lines);
  g_assert_finalize_object (result);
  g_assert_finalize_object (long_result);
}

/* What a click at (X, Y) does: the widget's primary click gesture
 * released there. */
static void
attnviz_test_click (GtkWidget *widget, double x, double y)
{
  GListModel *controllers = gtk_widget_observe_controllers (widget);
  gboolean clicked = FALSE;
  for (guint i = 0; i < g_list_model_get_n_items (controllers) && !clicked; i++)
    {
      g_autoptr(GObject) c = g_list_model_get_item (controllers, i);
      if (GTK_IS_GESTURE_CLICK (c) && gtk_gesture_single_get_button (GTK_GESTURE_SINGLE (c)) == GDK_BUTTON_PRIMARY)
        {
          g_signal_emit_by_name (c, "released", 1, x, y);
          clicked = TRUE;
        }
    }
  g_object_unref (controllers);
  g_assert_true (clicked);
}

static void
test_token_strip (void)
{
  AttnvizResult *result = attnviz_test_random_result (1, 1, 6, 9);
  GtkWidget *strip = attnviz_token_strip_new ();
  AttnvizViewState *state = attnviz_view_state_new ();
  int selected_n = 0;

  /* It shows its state's run and selects through it, as the views do. */
  g_signal_connect (state, "notify::selected-token", G_CALLBACK (count_notify), &selected_n);
  attnviz_view_state_set_run (state, result);
  attnviz_token_strip_set_state (ATTNVIZ_TOKEN_STRIP (strip), state);
  g_assert_true (attnviz_token_strip_get_result (ATTNVIZ_TOKEN_STRIP (strip)) == result);
  GtkWindow *window = show_in_window (strip, 200, 300);

  AttnvizTokenStrip *ts = ATTNVIZ_TOKEN_STRIP (strip);
  graphene_rect_t chip;
  g_assert_true (attnviz_token_strip_get_chip_rect (ts, 2, &chip));
  g_assert_false (attnviz_token_strip_get_chip_rect (ts, 6, &chip));
  /* The chip shows the token's text with its space made visible. */
  g_assert_cmpstr (attnviz_token_strip_get_chip_text (ts, 2), ==, "␣t2");
  g_autofree char *tooltip = attnviz_token_strip_describe_token (ts, 2);
  g_assert_nonnull (strstr (tooltip, "id 2"));
  /* The strip is one widget: no child per chip. */
  g_assert_null (gtk_widget_get_first_child (strip));

  /* Chips wrap: six chips in 200 px take more than one line. */
  graphene_rect_t first_bounds, last_bounds;
  g_assert_true (attnviz_token_strip_get_chip_rect (ts, 0, &first_bounds));
  g_assert_true (attnviz_token_strip_get_chip_rect (ts, 5, &last_bounds));
  g_assert_cmpfloat (last_bounds.origin.y, >, first_bounds.origin.y);

  /* A click on the chip's middle selects it; another clears it. */
  graphene_point_t middle;
  graphene_rect_get_center (&chip, &middle);
  g_assert_cmpint (attnviz_token_strip_get_token_at (ts, middle.x, middle.y), ==, 2);
  attnviz_test_click (strip, middle.x, middle.y);
  g_assert_cmpint (attnviz_token_strip_get_selected_token (ts), ==, 2);
  attnviz_test_click (strip, middle.x, middle.y);
  g_assert_cmpint (attnviz_token_strip_get_selected_token (ts), ==, -1);
  g_assert_cmpint (selected_n, ==, 2);
  /* The state's selection shows in the strip. */
  attnviz_view_state_set_selected_token (state, 4);
  g_assert_cmpint (attnviz_token_strip_get_selected_token (ts), ==, 4);

  destroy_window (window);
  g_assert_finalize_object (state);
  g_assert_finalize_object (result);
}

/* ---- The window ------------------------------------------------------------ */

static void
on_run_finished (AttnvizWindow *window, gboolean ok, int *state)
{
  *state = ok ? 1 : 2;
}

static void
test_window_actions (void)
{
  AttnvizWindow *window = attnviz_window_new (NULL);
  static const char *const actions[] = {
    "open-file", "open-folder", "open-recent", "run", "cancel", "export", "export-to",
    "next-head", "previous-head", "next-layer", "previous-layer", "view", "aggregate",
    "colormap", "scale", "dismiss-error",
  };

  g_object_ref (window);
  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    g_assert_true (g_action_group_has_action (G_ACTION_GROUP (window), actions[i]));
  g_assert_cmpstr ((const char *) g_action_group_get_action_parameter_type (G_ACTION_GROUP (window), "export-to"),
                   ==, "s");
  /* Nothing to export or step through before a run. */
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "export-to"));
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "next-head"));
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "cancel"));

  /* Settings reach the window's properties through the stateful actions. */
  g_action_group_change_action_state (G_ACTION_GROUP (window), "colormap", g_variant_new_string ("magma"));
  g_action_group_change_action_state (G_ACTION_GROUP (window), "scale", g_variant_new_string ("power"));
  g_action_group_change_action_state (G_ACTION_GROUP (window), "aggregate", g_variant_new_string ("max"));
  AttnvizColormap colormap;
  AttnvizScaleKind scale;
  AttnvizAggregate aggregate;
  g_object_get (attnviz_window_get_state (window), "colormap", &colormap, "scale", &scale, "aggregate", &aggregate, NULL);
  g_assert_cmpint (colormap, ==, ATTNVIZ_COLORMAP_MAGMA);
  g_assert_cmpint (scale, ==, ATTNVIZ_SCALE_POWER);
  g_assert_cmpint (aggregate, ==, ATTNVIZ_AGGREGATE_MAX);
  g_autoptr(GVariant) state = g_action_group_get_action_state (G_ACTION_GROUP (window), "colormap");
  g_assert_cmpstr (g_variant_get_string (state, NULL), ==, "magma");

  /* Running without a model is an error in the window, not a crash. */
  attnviz_window_run (window);
  g_assert_nonnull (attnviz_window_get_error (window));
  g_assert_null (attnviz_window_get_result (window));

  /* A model that does not exist: an error naming it, and no result. */
  int finished = 0;
  g_signal_connect (window, "run-finished", G_CALLBACK (on_run_finished), &finished);
  attnviz_window_open (window, "/nonexistent/attnviz-model");
  g_assert_true (attnviz_window_get_busy (window));
  attnviz_test_wait_until (finished != 0, 30);
  g_assert_cmpint (finished, ==, 2);
  g_assert_false (attnviz_window_get_busy (window));
  g_assert_nonnull (strstr (attnviz_window_get_error (window), "/nonexistent/attnviz-model"));
  g_assert_null (attnviz_window_get_result (window));

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (window);
}

int
main (int argc, char **argv)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/ui/result/aggregates-are-the-mean-and-max-of-the-heads", test_result_aggregates);
  g_test_add_func ("/ui/heatmap-view/properties-notify-once-and-clamp", test_heatmap_properties);
  g_test_add_func ("/ui/heatmap-view/hit-test-finds-the-cell", test_heatmap_hit);
  g_test_add_func ("/ui/heatmap-view/keys-step-heads-layers-and-zoom", test_heatmap_keyboard);
  g_test_add_func ("/ui/heatmap-view/takes-the-keys-when-shown-unless-typing",
                   test_heatmap_takes_the_keys_when_shown_unless_typing);
  g_test_add_func ("/ui/heatmap-view/draws-masked-cells-in-the-no-data-colour",
                   test_heatmap_draws_masked_cells_in_the_no_data_colour);
  g_test_add_func ("/ui/grid-view/thumbnails-open-their-head", test_grid_view);
  g_test_add_func ("/ui/grid-view/mean-over-heads-adds-a-column-of-each-layers-mean",
                   test_grid_view_shows_each_layers_mean_under_mean_over_heads);
  g_test_add_func ("/ui/grid-view/labels-grow-with-the-window", test_grid_view_labels_grow_with_the_window);
  g_test_add_func ("/ui/grid-view/follows-the-range-mode", test_grid_view_follows_the_range_mode);
  g_test_add_func ("/ui/grid-view/marks-additive-heads", test_grid_view_marks_additive_heads);
  g_test_add_func ("/ui/lines-view/refuses-long-inputs", test_lines_view);
  g_test_add_func ("/ui/token-strip/chips-select-their-token", test_token_strip);
  g_test_add_func ("/ui/window/actions-exist-and-errors-stay-in-the-window", test_window_actions);
  return g_test_run ();
}
