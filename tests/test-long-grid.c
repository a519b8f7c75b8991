/* Long runs in the widgets: the grid of a run that keeps no dense matrices
 * draws every head from the overviews its forward pass left, a long
 * difference draws A − B from A's and B's mean overviews, and the token
 * strip stays one widget at 8192 tokens. */
#define G_LOG_DOMAIN "test-long-grid"
#include "config.h"

#include <math.h>
#include <string.h>

#include <gsk/gsk.h>

#include "attnviz-difference.h"
#include "attnviz-grid-view.h"
#include "attnviz-loss-strip.h"
#include "attnviz-painter-private.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-token-strip.h"

#define LONG_T 2048
/* Bins sampled along each side of a thumbnail. */
#define SAMPLES 24

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

/* The view's picture as pixels, 0xffRRGGBB, WIDTH x HEIGHT. */
static guint32 *
render_view (AttnvizGridView *view, int width, int height)
{
  g_autoptr(GError) error = NULL;
  GskRenderer *renderer = gsk_cairo_renderer_new ();
  g_assert_true (gsk_renderer_realize (renderer, NULL, &error));
  GskRenderNode *node = attnviz_grid_view_build_node (view, width, height);
  g_assert_nonnull (node);
  GdkTexture *texture = gsk_renderer_render_texture (renderer, node,
                                                     &GRAPHENE_RECT_INIT (0, 0, width, height));
  guint32 *pixels = g_new (guint32, (gsize) width * height);
  gdk_texture_download (texture, (guchar *) pixels, (gsize) width * 4);
  g_object_unref (texture);
  gsk_render_node_unref (node);
  gsk_renderer_unrealize (renderer);
  g_object_unref (renderer);
  return pixels;
}

/* The pixel at the centre of bin (I, J) of a thumbnail of BINS x BINS
 * drawn in RECT. */
static guint32
bin_pixel (const guint32 *pixels, int width, const graphene_rect_t *rect, int bins, int i, int j)
{
  int x = (int) floor (rect->origin.x + (j + 0.5) * rect->size.width / bins);
  int y = (int) floor (rect->origin.y + (i + 0.5) * rect->size.height / bins);
  return pixels[(gsize) y * width + x] | 0xff000000u;
}

/* Every sampled bin of the thumbnail of (LAYER, HEAD) has the colour
 * COLORIZER gives VALUES (bins x bins) there, or with CAUSAL the no-data
 * colour where the bin lies above the diagonal (keys after every query
 * it holds); returns how many distinct colours were seen, so that a blank
 * thumbnail cannot pass. */
static int
assert_picture (const guint32 *pixels, int width, const graphene_rect_t *where, int layer, int head,
                const float *values, int bins, gboolean causal, const AttnvizColorizer *colorizer)
{
  graphene_rect_t rect = *where;
  /* Big enough that the pixel nearest a bin's centre shows that bin. */
  g_assert_cmpfloat (rect.size.width, >=, 1.5 * bins);
  g_autoptr(GHashTable) colours = g_hash_table_new (NULL, NULL);
  for (int si = 0; si < SAMPLES; si++)
    for (int sj = 0; sj < SAMPLES; sj++)
      {
        /* Inside the edges, where the thumbnail's first and last pixels
         * are blended with the background. */
        int i = 1 + (si * (bins - 3)) / (SAMPLES - 1), j = 1 + (sj * (bins - 3)) / (SAMPLES - 1);
        guint32 want = (causal && j > i ? colorizer->nodata
                        : attnviz_colorizer_pixel (colorizer, values[(gsize) i * bins + j])) | 0xff000000u;
        guint32 got = bin_pixel (pixels, width, &rect, bins, i, j);
        if (want != got)
          g_error ("layer %d head %d bin (%d, %d): value %g wants #%06x, drawn #%06x", layer, head, i, j,
                   values[(gsize) i * bins + j], want & 0xffffff, got & 0xffffff);
        g_hash_table_add (colours, GUINT_TO_POINTER (got));
      }
  return g_hash_table_size (colours);
}

static int
assert_thumbnail (AttnvizGridView *view, const guint32 *pixels, int width, int layer, int head,
                  const float *values, int bins, gboolean causal, const AttnvizColorizer *colorizer)
{
  graphene_rect_t rect;
  g_assert_true (attnviz_grid_view_get_thumbnail_rect (view, layer, head, &rect));
  return assert_picture (pixels, width, &rect, layer, head, values, bins, causal, colorizer);
}

static void
test_long_grid_draws_overviews (void)
{
  AttnvizResult *result = attnviz_test_forward_result (2, 3, LONG_T, ATTNVIZ_STORAGE_RECOMPUTE, 11, NULL);
  AttnvizAttention *source = attnviz_result_get_source (result);
  g_assert_nonnull (source);
  g_assert_false (attnviz_attention_is_dense (source));
  /* No dense matrix: the old grid had nothing to draw. */
  g_assert_null (attnviz_result_get_maps (result)[0]);

  GtkWidget *widget = attnviz_grid_view_new ();
  AttnvizGridView *view = ATTNVIZ_GRID_VIEW (widget);
  attnviz_view_state_set_run (figure_state (view), result);
  GtkWindow *window = show_in_window (widget, 1500, 950);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autofree guint32 *pixels = render_view (view, width, height);

  /* The exported figure says how it was pooled. */
  AttnvizGridSpec spec;
  g_assert_true (attnviz_grid_view_get_spec (view, &spec));
  g_assert_null (spec.maps);
  g_assert_nonnull (spec.overviews);
  g_assert_nonnull (strstr (spec.title, "max of ≥ 8 × 8 tokens per pixel"));
  /* The screen says so too: the thumbnails are as large as the overviews. */
  g_test_message ("on screen: %s", attnviz_grid_view_get_screen_subtitle (view));
  g_assert_nonnull (strstr (attnviz_grid_view_get_screen_subtitle (view), " · max of ≥ 8 × 8 tokens per pixel"));
  /* Smaller, each pixel pools more of them. */
  gtk_window_set_default_size (window, 500, 350);
  attnviz_test_wait_until (gtk_widget_get_width (widget) < 600, 5);
  graphene_rect_t thumb;
  g_assert_true (attnviz_grid_view_get_thumbnail_rect (view, 0, 0, &thumb));
  g_autofree char *small = g_strdup_printf (" · max of ≥ %d × %d tokens per pixel",
                                            (int) floor (LONG_T / thumb.size.width),
                                            (int) floor (LONG_T / thumb.size.width));
  g_test_message ("smaller: %s (thumbnails of %.0f px)", attnviz_grid_view_get_screen_subtitle (view),
                  thumb.size.width);
  g_assert_cmpfloat (thumb.size.width, <, 200);
  g_assert_nonnull (strstr (attnviz_grid_view_get_screen_subtitle (view), small));
  gtk_window_set_default_size (window, 1500, 950);
  attnviz_test_wait_until (gtk_widget_get_width (widget) > 1000, 5);

  static const int heads[][2] = { { 0, 0 }, { 0, 2 }, { 1, 1 } };
  for (guint k = 0; k < G_N_ELEMENTS (heads); k++)
    {
      int rows, cols;
      const float *ov = attnviz_attention_get_overview (source, heads[k][0], heads[k][1], ATTNVIZ_POOL_MAX,
                                                        &rows, &cols);
      g_assert_nonnull (ov);
      g_assert_cmpint (rows, ==, 256);
      g_assert_cmpint (cols, ==, 256);
      /* Each thumbnail on its own range, as the painter fits it. */
      AttnvizScale scale;
      AttnvizColorizer colorizer;
      attnviz_scale_init (&scale, ATTNVIZ_SCALE_LINEAR, 0, 0);
      attnviz_scale_fit (&scale, ov, (gsize) rows * cols, FALSE);
      attnviz_colorizer_init (&colorizer, &scale, ATTNVIZ_COLORMAP_VIRIDIS, (gsize) rows * cols);
      int n = assert_thumbnail (view, pixels, width, heads[k][0], heads[k][1], ov, rows, TRUE, &colorizer);
      g_assert_cmpint (n, >, 2);
      attnviz_colorizer_clear (&colorizer);
    }
  destroy_window (window);
  g_assert_finalize_object (result);
}

/* Under mean (max) over heads each layer's column is the mean (max) of
 * the overviews its heads' thumbnails are drawn from. */
static void
test_long_grid_aggregate_column_combines_the_heads_overviews (gconstpointer data)
{
  AttnvizAggregate aggregate = GPOINTER_TO_INT (data);
  enum { L = 2, H = 2 };
  AttnvizResult *result = attnviz_test_forward_result (L, H, LONG_T, ATTNVIZ_STORAGE_RECOMPUTE, 14, NULL);
  AttnvizAttention *source = attnviz_result_get_source (result);
  GtkWidget *widget = attnviz_grid_view_new ();
  AttnvizGridView *view = ATTNVIZ_GRID_VIEW (widget);
  attnviz_view_state_set_run (figure_state (view), result);
  attnviz_view_state_set_aggregate (figure_state (view), aggregate);
  GtkWindow *window = show_in_window (widget, 1500, 1000);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autofree guint32 *pixels = render_view (view, width, height);

  for (int l = 0; l < L; l++)
    {
      int rows, cols;
      g_autofree float *want = NULL;
      for (int h = 0; h < H; h++)
        {
          const float *ov = attnviz_attention_get_overview (source, l, h, ATTNVIZ_POOL_MAX, &rows, &cols);
          g_assert_nonnull (ov);
          if (want == NULL)
            want = g_new0 (float, (gsize) rows * cols);
          for (gsize i = 0; i < (gsize) rows * cols; i++)
            want[i] = aggregate == ATTNVIZ_AGGREGATE_MAX ? MAX (want[i], ov[i]) : want[i] + ov[i] / H;
        }
      AttnvizScale scale;
      AttnvizColorizer colorizer;
      attnviz_scale_init (&scale, ATTNVIZ_SCALE_LINEAR, 0, 0);
      attnviz_scale_fit (&scale, want, (gsize) rows * cols, FALSE);
      attnviz_colorizer_init (&colorizer, &scale, ATTNVIZ_COLORMAP_VIRIDIS, (gsize) rows * cols);
      graphene_rect_t rect;
      g_assert_true (attnviz_grid_view_get_aggregate_rect (view, l, &rect));
      int n = assert_picture (pixels, width, &rect, l, H, want, rows, TRUE, &colorizer);
      g_assert_cmpint (n, >, 2);
      attnviz_colorizer_clear (&colorizer);
    }
  destroy_window (window);
  g_assert_finalize_object (result);
}

static void
test_long_difference_grid_shows_a_minus_b (void)
{
  AttnvizResult *a = attnviz_test_forward_result (2, 2, LONG_T, ATTNVIZ_STORAGE_RECOMPUTE, 12, "mask=window:64");
  AttnvizResult *b = attnviz_test_forward_result (2, 2, LONG_T, ATTNVIZ_STORAGE_RECOMPUTE, 12, NULL);
  g_autoptr(GError) error = NULL;
  AttnvizResult *diff = ATTNVIZ_RESULT (attnviz_difference_new (a, b, &error));
  g_assert_no_error (error);

  GtkWidget *widget = attnviz_grid_view_new ();
  AttnvizGridView *view = ATTNVIZ_GRID_VIEW (widget);
  attnviz_view_state_set_run (figure_state (view), diff);
  attnviz_grid_view_set_show_scores (view, FALSE);
  GtkWindow *window = show_in_window (widget, 1000, 1000);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autofree guint32 *pixels = render_view (view, width, height);

  AttnvizGridSpec spec;
  g_assert_true (attnviz_grid_view_get_spec (view, &spec));
  g_assert_null (spec.scores);
  g_assert_nonnull (spec.overviews);
  g_assert_cmpint (spec.colormap, ==, ATTNVIZ_COLORMAP_RDBU);
  g_assert_nonnull (strstr (spec.title, "A − B"));
  g_assert_nonnull (strstr (spec.title, "mean of"));
  /* One range for all heads, symmetric about 0. */
  g_assert_cmpfloat (spec.scale.vmin, ==, -spec.scale.vmax);
  g_assert_cmpfloat (spec.scale.vmax, >, 0);

  AttnvizAttention *sa = attnviz_result_get_source (a), *sb = attnviz_result_get_source (b);
  AttnvizColorizer colorizer;
  attnviz_colorizer_init (&colorizer, &spec.scale, ATTNVIZ_COLORMAP_RDBU, 0);
  float largest = 0;
  for (int l = 0; l < 2; l++)
    for (int h = 0; h < 2; h++)
      {
        int rows, cols;
        const float *oa = attnviz_attention_get_overview (sa, l, h, ATTNVIZ_POOL_MEAN, &rows, &cols);
        const float *ob = attnviz_attention_get_overview (sb, l, h, ATTNVIZ_POOL_MEAN, &rows, &cols);
        g_autofree float *want = g_new (float, (gsize) rows * cols);
        for (gsize i = 0; i < (gsize) rows * cols; i++)
          {
            want[i] = oa[i] - ob[i];
            largest = MAX (largest, fabsf (want[i]));
          }
        g_assert_cmpmem (spec.overviews[l * 2 + h], sizeof (float) * rows * cols, want, sizeof (float) * rows * cols);
        int n = assert_thumbnail (view, pixels, width, l, h, want, rows, TRUE, &colorizer);
        g_assert_cmpint (n, >, 2);
      }
  g_assert_cmpfloat (spec.scale.vmax, ==, largest);
  attnviz_colorizer_clear (&colorizer);

  /* Back to one number per head. */
  attnviz_grid_view_set_show_scores (view, TRUE);
  g_assert_true (attnviz_grid_view_get_spec (view, &spec));
  g_assert_true (spec.scores == attnviz_difference_get_tvd (ATTNVIZ_DIFFERENCE (diff)));
  destroy_window (window);
  g_assert_finalize_object (diff);
  g_assert_finalize_object (a);
  g_assert_finalize_object (b);
}

static void
test_token_strip_at_8192_tokens (void)
{
  enum { T = 8192 };
  AttnvizResult *result = attnviz_test_forward_result (1, 1, T, ATTNVIZ_STORAGE_RECOMPUTE, 13, NULL);
  GtkWidget *strip = attnviz_token_strip_new ();
  AttnvizTokenStrip *ts = ATTNVIZ_TOKEN_STRIP (strip);
  GtkWidget *sw = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (sw), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (sw), strip);
  GtkWindow *window = show_in_window (sw, 420, 320);
  /* The tokens arrive in a window already shown, and a selection with
   * them, before the strip has its new size (the app's order). */
  AttnvizViewState *state = attnviz_view_state_new ();
  attnviz_token_strip_set_state (ts, state);
  attnviz_view_state_set_run (state, result);
  attnviz_view_state_set_selected_token (state, 4999);
  attnviz_test_wait_until (attnviz_token_strip_get_n_drawn (ts) > 0, 10);

  /* One widget, whatever the length, drawing only what shows. */
  g_assert_null (gtk_widget_get_first_child (strip));
  int drawn = attnviz_token_strip_get_n_drawn (ts);
  g_assert_cmpint (drawn, >, 0);
  g_assert_cmpint (drawn, <, T / 20);
  /* Yet it is as tall as all of its chips. */
  graphene_rect_t last;
  g_assert_true (attnviz_token_strip_get_chip_rect (ts, T - 1, &last));
  g_assert_cmpint (gtk_widget_get_height (strip), >=, (int) (last.origin.y + last.size.height));

  /* 4999 shows, once the strip has its size. */
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw));
  graphene_rect_t chip, bounds;
  g_assert_true (attnviz_token_strip_get_chip_rect (ts, 4999, &chip));
  attnviz_test_wait_until (gtk_adjustment_get_value (adj) > 0, 10);
  attnviz_test_wait_until (gtk_widget_compute_bounds (strip, sw, &bounds)
                           && bounds.origin.y + chip.origin.y >= 0
                           && bounds.origin.y + chip.origin.y + chip.size.height <= gtk_widget_get_height (sw), 10);
  g_assert_cmpfloat (bounds.origin.y + chip.origin.y, >=, 0);
  g_assert_cmpfloat (bounds.origin.y + chip.origin.y + chip.size.height, <=, gtk_widget_get_height (sw));

  /* Token 5000 by keyboard: step right from 4999. */
  gtk_widget_grab_focus (strip);
  g_assert_true (gtk_widget_activate_action (strip, "tokens.next", NULL));
  g_assert_cmpint (attnviz_token_strip_get_selected_token (ts), ==, 5000);

  /* It is scrolled into view, and drawn there. */
  g_assert_true (attnviz_token_strip_get_chip_rect (ts, 5000, &chip));
  attnviz_test_wait_until (gtk_adjustment_get_value (adj) > chip.origin.y - gtk_adjustment_get_page_size (adj), 10);
  attnviz_test_wait_until (gtk_widget_compute_bounds (strip, sw, &bounds)
                           && bounds.origin.y + chip.origin.y >= 0
                           && bounds.origin.y + chip.origin.y + chip.size.height <= gtk_widget_get_height (sw), 10);
  g_assert_true (gtk_widget_compute_bounds (strip, sw, &bounds));
  g_assert_cmpfloat (bounds.origin.y + chip.origin.y, >=, 0);
  g_assert_cmpfloat (bounds.origin.y + chip.origin.y + chip.size.height, <=, gtk_widget_get_height (sw));
  attnviz_test_wait_until (attnviz_token_strip_get_token_at (ts, chip.origin.x + 1, chip.origin.y + 1) == 5000
                           && attnviz_token_strip_get_n_drawn (ts) > 0, 10);
  g_assert_cmpint (attnviz_token_strip_get_n_drawn (ts), <, T / 20);

  /* Down a line keeps to the chip below; End goes to the last token. */
  g_assert_true (gtk_widget_activate_action (strip, "tokens.line-down", NULL));
  int below = attnviz_token_strip_get_selected_token (ts);
  graphene_rect_t below_rect;
  g_assert_true (attnviz_token_strip_get_chip_rect (ts, below, &below_rect));
  g_assert_cmpfloat (below_rect.origin.y, >, chip.origin.y);
  g_assert_true (gtk_widget_activate_action (strip, "tokens.last", NULL));
  g_assert_cmpint (attnviz_token_strip_get_selected_token (ts), ==, T - 1);

  destroy_window (window);
  g_assert_finalize_object (state);
  g_assert_finalize_object (result);
}

/* A click on a chip far down the strip focuses the strip, and GTK's
 * viewport scrolls to a child that takes the focus: the whole strip, so
 * back to its top, away from the chip clicked (a new user's report).  The
 * strip keeps its place and shows the chip. */
static void
test_clicking_a_chip_far_down_keeps_the_strip_there (void)
{
  enum { T = 4096 };
  AttnvizResult *result = attnviz_test_forward_result (1, 1, T, ATTNVIZ_STORAGE_RECOMPUTE, 13, NULL);
  GtkWidget *strip = attnviz_token_strip_new ();
  AttnvizTokenStrip *ts = ATTNVIZ_TOKEN_STRIP (strip);
  GtkWidget *sw = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (sw), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (sw), strip);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *other = gtk_button_new_with_label ("elsewhere");
  gtk_widget_set_vexpand (sw, TRUE);
  gtk_box_append (GTK_BOX (box), other);
  gtk_box_append (GTK_BOX (box), sw);
  GtkWindow *window = show_in_window (box, 420, 340);
  AttnvizViewState *state = attnviz_view_state_new ();
  attnviz_token_strip_set_state (ts, state);
  attnviz_view_state_set_run (state, result);
  attnviz_test_wait_until (attnviz_token_strip_get_n_drawn (ts) > 0, 10);
  gtk_widget_grab_focus (other);

  /* Scrolled to the middle by the scroll bar. */
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw));
  attnviz_test_wait_until (gtk_adjustment_get_upper (adj) > 4 * gtk_adjustment_get_page_size (adj), 10);
  double middle = (gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj)) / 2;
  gtk_adjustment_set_value (adj, middle);
  attnviz_test_wait_until (FALSE, 1);
  /* A click on a chip in view: the strip takes the focus and selects it. */
  int token = attnviz_token_strip_get_token_at (ts, 5, middle + 40);
  g_assert_cmpint (token, >, 100);
  gtk_widget_grab_focus (strip);
  attnviz_token_strip_select (ts, token);
  attnviz_test_wait_until (FALSE, 1);

  g_assert_cmpint (attnviz_view_state_get_selected_token (state), ==, token);
  g_test_message ("scrolled to %.0f, after the click %.0f", middle, gtk_adjustment_get_value (adj));
  g_assert_cmpfloat (fabs (gtk_adjustment_get_value (adj) - middle), <, gtk_adjustment_get_page_size (adj) / 2);
  graphene_rect_t chip, bounds;
  g_assert_true (attnviz_token_strip_get_chip_rect (ts, token, &chip));
  g_assert_true (gtk_widget_compute_bounds (strip, sw, &bounds));
  g_assert_cmpfloat (bounds.origin.y + chip.origin.y, >=, 0);
  g_assert_cmpfloat (bounds.origin.y + chip.origin.y + chip.size.height, <=, gtk_widget_get_height (sw));

  destroy_window (window);
  g_assert_finalize_object (state);
  g_assert_finalize_object (result);
}

/* The strip's own scroll controller: what a wheel step reaches first. */
static GtkEventController *
scroll_controller (GtkWidget *widget)
{
  GListModel *controllers = gtk_widget_observe_controllers (widget);
  GtkEventController *found = NULL;
  for (guint i = 0; i < g_list_model_get_n_items (controllers) && found == NULL; i++)
    {
      GtkEventController *c = g_list_model_get_item (controllers, i);
      if (GTK_IS_EVENT_CONTROLLER_SCROLL (c))
        found = c;
      g_object_unref (c);
    }
  g_object_unref (controllers);
  return found;
}

static void
test_token_strip_wheel_steps_lines_and_goes_to_a_token (void)
{
  enum { T = 8192 };
  AttnvizResult *result = attnviz_test_forward_result (1, 1, T, ATTNVIZ_STORAGE_RECOMPUTE, 13, NULL);
  GtkWidget *strip = attnviz_token_strip_new ();
  AttnvizTokenStrip *ts = ATTNVIZ_TOKEN_STRIP (strip);
  GtkWidget *sw = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (sw), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (sw), strip);
  AttnvizViewState *state = attnviz_view_state_new ();
  attnviz_view_state_set_run (state, result);
  attnviz_token_strip_set_state (ts, state);
  GtkWindow *window = show_in_window (sw, 420, 320);
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw));
  attnviz_test_wait_until (gtk_adjustment_get_upper (adj) > 10000, 10);

  /* Sixty wheel steps: 180 lines of chips, each frame drawing what shows. */
  GtkEventController *wheel = scroll_controller (strip);
  g_assert_nonnull (wheel);
  graphene_rect_t first, next_line;
  g_assert_true (attnviz_token_strip_get_chip_rect (ts, 0, &first));
  int t = 0;
  while (attnviz_token_strip_get_chip_rect (ts, ++t, &next_line) && next_line.origin.y == first.origin.y)
    ;
  double pitch = next_line.origin.y - first.origin.y;
  GdkFrameClock *clock = gtk_widget_get_frame_clock (strip);
  gint64 start = g_get_monotonic_time ();
  for (int step = 0; step < 60; step++)
    {
      gboolean handled = FALSE;
      g_signal_emit_by_name (wheel, "scroll", 0.0, 1.0, &handled);
      g_assert_true (handled);
      /* A frame after each step. */
      gint64 frame = gdk_frame_clock_get_frame_counter (clock);
      attnviz_test_wait_until (gdk_frame_clock_get_frame_counter (clock) > frame, 5);
    }
  double ms = (g_get_monotonic_time () - start) / 1000.0;
  g_test_message ("60 wheel steps, a frame after each: %.0f px (%.0f lines) in %.0f ms, %d chips drawn last",
                  gtk_adjustment_get_value (adj), gtk_adjustment_get_value (adj) / pitch, ms,
                  attnviz_token_strip_get_n_drawn (ts));
  /* At the frame rate: 60 frames in about a second, not 7. */
  g_assert_cmpfloat (ms, <, 3000);
  g_assert_cmpfloat (gtk_adjustment_get_value (adj), ==, 60 * 3 * pitch);
  int shown = attnviz_token_strip_get_token_at (ts, first.origin.x + 1, 60 * 3 * pitch + 1);
  g_assert_cmpint (shown, >, 60 * 3 * 3);
  g_assert_cmpint (attnviz_token_strip_get_n_drawn (ts), <, T / 20);

  /* Going to a token by its number selects it and scrolls to it. */
  g_assert_true (gtk_widget_activate_action (strip, "tokens.go-to", "i", 7000));
  g_assert_cmpint (attnviz_token_strip_get_selected_token (ts), ==, 7000);
  graphene_rect_t chip, bounds;
  g_assert_true (attnviz_token_strip_get_chip_rect (ts, 7000, &chip));
  attnviz_test_wait_until (gtk_widget_compute_bounds (strip, sw, &bounds)
                           && bounds.origin.y + chip.origin.y >= 0
                           && bounds.origin.y + chip.origin.y + chip.size.height <= gtk_widget_get_height (sw), 5);
  g_assert_cmpfloat (bounds.origin.y + chip.origin.y, >=, 0);
  g_assert_cmpfloat (bounds.origin.y + chip.origin.y + chip.size.height, <=, gtk_widget_get_height (sw));
  /* Past the end: the last. */
  g_assert_true (gtk_widget_activate_action (strip, "tokens.go-to", "i", 99999));
  g_assert_cmpint (attnviz_token_strip_get_selected_token (ts), ==, T - 1);
  /* Ctrl+G asks for the number, in an entry over the strip. */
  g_assert_true (gtk_widget_activate_action (strip, "tokens.show-go-to", NULL));
  GtkWidget *popover = gtk_widget_get_first_child (strip);
  g_assert_true (GTK_IS_POPOVER (popover));
  attnviz_test_wait_until (gtk_widget_get_mapped (popover), 5);
  GtkWidget *entry = gtk_widget_get_last_child (gtk_popover_get_child (GTK_POPOVER (popover)));
  g_assert_true (GTK_IS_ENTRY (entry));
  gtk_editable_set_text (GTK_EDITABLE (entry), "1234");
  g_signal_emit_by_name (entry, "activate");
  g_assert_cmpint (attnviz_token_strip_get_selected_token (ts), ==, 1234);
  attnviz_test_wait_until (!gtk_widget_get_mapped (popover), 5);
  g_assert_false (gtk_widget_get_mapped (popover));

  destroy_window (window);
  g_assert_finalize_object (state);
  g_assert_finalize_object (result);
}

/* Two runs alike: the legend's ends are "0.00", never "+-0.00". */
static void
test_loss_legend_of_no_change_has_no_stray_sign (void)
{
  AttnvizResult *a = attnviz_test_forward_result (1, 1, 16, ATTNVIZ_STORAGE_DENSE, 14, NULL);
  AttnvizResult *b = attnviz_test_forward_result (1, 1, 16, ATTNVIZ_STORAGE_DENSE, 14, NULL);
  g_autoptr(GError) error = NULL;
  AttnvizResult *diff = ATTNVIZ_RESULT (attnviz_difference_new (a, b, &error));
  g_assert_no_error (error);
  AttnvizLossStrip *ls = ATTNVIZ_LOSS_STRIP (g_object_ref_sink (attnviz_loss_strip_new ()));
  AttnvizViewState *state = attnviz_view_state_new ();
  attnviz_view_state_set_run (state, diff);
  attnviz_loss_strip_set_state (ls, state);
  g_assert_cmpfloat (attnviz_loss_strip_get_range (ls), ==, 0);
  g_autofree char *legend = attnviz_loss_strip_describe_legend (ls);
  g_assert_cmpstr (legend, ==, "0.00 A lower … A higher 0.00");
  g_autofree char *token = attnviz_loss_strip_describe_token (ls, 3);
  g_assert_null (strstr (token, "+-"));
  g_assert_finalize_object (ls);
  g_assert_finalize_object (state);
  g_object_unref (diff);
  g_object_unref (a);
  g_object_unref (b);
}

static void
test_loss_strip_of_a_long_difference (void)
{
  enum { T = 4096 };
  AttnvizResult *a = attnviz_test_forward_result (1, 1, T, ATTNVIZ_STORAGE_RECOMPUTE, 14, "mask=window:16");
  AttnvizResult *b = attnviz_test_forward_result (1, 1, T, ATTNVIZ_STORAGE_RECOMPUTE, 14, NULL);
  g_autoptr(GError) error = NULL;
  AttnvizResult *diff = ATTNVIZ_RESULT (attnviz_difference_new (a, b, &error));
  g_assert_no_error (error);
  GtkWidget *strip = attnviz_loss_strip_new ();
  AttnvizLossStrip *ls = ATTNVIZ_LOSS_STRIP (strip);
  GtkWidget *sw = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (sw), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (sw), strip);
  AttnvizViewState *state = attnviz_view_state_new ();
  attnviz_view_state_set_run (state, diff);
  attnviz_loss_strip_set_state (ls, state);
  GtkWindow *window = show_in_window (sw, 420, 320);
  attnviz_test_wait_until (attnviz_loss_strip_get_n_drawn (ls) > 0, 10);
  int first = attnviz_loss_strip_get_n_drawn (ls);
  g_assert_cmpint (first, >, 0);
  g_assert_cmpint (first, <, T / 20);

  /* Scrolled to the end: the chips there are drawn, still only a few. */
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw));
  double end = gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj);
  g_assert_cmpfloat (end, >, 10 * gtk_adjustment_get_page_size (adj));
  gtk_adjustment_set_value (adj, end);
  g_autofree char *last = attnviz_loss_strip_describe_token (ls, T - 1);
  g_assert_nonnull (last);
  graphene_rect_t bounds;
  attnviz_test_wait_until (gtk_widget_compute_bounds (strip, sw, &bounds) && bounds.origin.y < -end + 1, 10);
  attnviz_test_wait_until (attnviz_loss_strip_get_n_drawn (ls) > 0, 10);
  g_assert_cmpint (attnviz_loss_strip_get_n_drawn (ls), >, 0);
  g_assert_cmpint (attnviz_loss_strip_get_n_drawn (ls), <, T / 20);

  /* A click selects through the state. */
  attnviz_loss_strip_select (ls, T - 1);
  g_assert_cmpint (attnviz_view_state_get_selected_token (state), ==, T - 1);
  g_assert_cmpint (attnviz_loss_strip_get_selected_token (ls), ==, T - 1);

  destroy_window (window);
  g_assert_finalize_object (state);
  g_assert_finalize_object (diff);
  g_assert_finalize_object (a);
  g_assert_finalize_object (b);
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ui/long-grid/thumbnails-are-the-overviews-through-the-colour-map",
                   test_long_grid_draws_overviews);
  g_test_add_func ("/ui/long-grid/a-long-difference-shows-a-minus-b", test_long_difference_grid_shows_a_minus_b);
  g_test_add_data_func ("/ui/long-grid/the-mean-column-is-the-mean-of-the-heads-overviews",
                        GINT_TO_POINTER (ATTNVIZ_AGGREGATE_MEAN),
                        test_long_grid_aggregate_column_combines_the_heads_overviews);
  g_test_add_data_func ("/ui/long-grid/the-max-column-is-the-max-of-the-heads-overviews",
                        GINT_TO_POINTER (ATTNVIZ_AGGREGATE_MAX),
                        test_long_grid_aggregate_column_combines_the_heads_overviews);
  g_test_add_func ("/ui/token-strip/8192-tokens-draw-only-what-shows-and-scroll-to-the-selection",
                   test_token_strip_at_8192_tokens);
  g_test_add_func ("/ui/loss-strip/a-long-difference-draws-only-what-shows", test_loss_strip_of_a_long_difference);
  g_test_add_func ("/ui/loss-strip/no-change-is-0.00-with-no-stray-sign", test_loss_legend_of_no_change_has_no_stray_sign);
  g_test_add_func ("/ui/token-strip/a-wheel-step-scrolls-three-lines-and-ctrl-g-goes-to-a-token",
                   test_token_strip_wheel_steps_lines_and_goes_to_a_token);
  g_test_add_func ("/ui/long/token-strip/clicking-a-chip-far-down-keeps-the-strip-there",
                   test_clicking_a_chip_far_down_keeps_the_strip_there);
  return g_test_run ();
}
