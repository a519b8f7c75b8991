/* test-query-key-view.c: the Query–Key page (issue 12)
 *
 * The view's points are the engine's for the state's head, and move when
 * the head steps (with the figures' arrow-key action); clicking a point
 * selects its token, which the figure then highlights; a long run is
 * computed in a thread while the view says so; the window exports the
 * page as the scatter figure.
 */
#define G_LOG_DOMAIN "test-query-key-view"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-export-dialog.h"
#include "attnviz-query-key-view.h"
#include "attnviz-test-util.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-test-window-util.h"
#include "attnviz-window-private.h"

/* A window holding VIEW at 800 x 600, drawn once. */
static GtkWidget *
show_in_window (GtkWidget *view)
{
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 800, 600);
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  attnviz_test_wait_until (gtk_widget_get_width (view) > 0 && gtk_widget_get_mapped (view), 10);
  g_assert_cmpint (gtk_widget_get_width (view), >, 0);
  return window;
}

static void
assert_points_are_the_engines (const AttnvizQkView *shown, AttnvizResult *result, int layer, int head)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizQkView) want = attnviz_qk_view (attnviz_result_get_source (result), layer, head, &error);
  g_assert_no_error (error);
  g_assert_nonnull (shown);
  g_assert_cmpint (shown->n_q, ==, want->n_q);
  g_assert_cmpint (shown->n_k, ==, want->n_k);
  g_assert_true (attnviz_test_check_tensor (shown->points, want->points, (gsize) 2 * (want->n_q + want->n_k), 0,
                                            "qk points"));
}

static void
test_points_follow_the_states_head (void)
{
  AttnvizResult *result = attnviz_test_forward_result (2, 3, 12, ATTNVIZ_STORAGE_AUTO, 5, NULL);
  GtkWidget *view = attnviz_query_key_view_new ();
  AttnvizQueryKeyView *qk = ATTNVIZ_QUERY_KEY_VIEW (view);
  GtkWidget *window = show_in_window (view);
  AttnvizViewState *state = figure_state (view);

  attnviz_view_state_set_run (state, result);
  attnviz_view_state_set_layer (state, 1);
  attnviz_view_state_set_head (state, 1);
  const AttnvizQkView *points = attnviz_query_key_view_get_points (qk);
  assert_points_are_the_engines (points, result, 1, 1);
  g_autofree float *before = g_memdup2 (points->points, sizeof (float) * 2 * 24);

  /* The right arrow's action steps to the next head, and the picture with it. */
  g_assert_true (gtk_widget_activate_action (view, "figure.next-head", NULL));
  g_assert_cmpint (attnviz_view_state_get_head (state), ==, 2);
  points = attnviz_query_key_view_get_points (qk);
  assert_points_are_the_engines (points, result, 1, 2);
  g_assert_false (memcmp (before, points->points, sizeof (float) * 2 * 24) == 0);

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (result);
}

static void
test_clicking_a_point_selects_its_token (void)
{
  AttnvizResult *result = attnviz_test_forward_result (1, 2, 10, ATTNVIZ_STORAGE_AUTO, 9, NULL);
  GtkWidget *view = attnviz_query_key_view_new ();
  AttnvizQueryKeyView *qk = ATTNVIZ_QUERY_KEY_VIEW (view);
  GtkWidget *window = show_in_window (view);
  AttnvizViewState *state = figure_state (view);
  attnviz_view_state_set_run (state, result);

  /* query 4: the token 4 is selected, and both its points are highlighted */
  double x, y;
  g_assert_true (attnviz_query_key_view_get_point_position (qk, 4, &x, &y));
  g_assert_cmpint (attnviz_query_key_view_hit (qk, x, y), ==, 4);
  g_assert_true (attnviz_query_key_view_click (qk, x, y));
  g_assert_cmpint (attnviz_view_state_get_selected_token (state), ==, 4);
  AttnvizScatterSpec spec;
  g_assert_true (attnviz_query_key_view_get_spec (qk, &spec, NULL));
  g_assert_cmpint (spec.highlight_query, ==, 4);
  g_assert_cmpint (spec.highlight_key, ==, 4);

  /* key 7 (point 10 + 7) selects token 7; clicking it again clears it */
  g_assert_true (attnviz_query_key_view_get_point_position (qk, 17, &x, &y));
  g_assert_true (attnviz_query_key_view_click (qk, x, y));
  g_assert_cmpint (attnviz_view_state_get_selected_token (state), ==, 7);
  g_assert_true (attnviz_query_key_view_click (qk, x, y));
  g_assert_cmpint (attnviz_view_state_get_selected_token (state), ==, -1);

  /* far from every point: nothing */
  g_assert_cmpint (attnviz_query_key_view_hit (qk, 1, 1), ==, -1);
  g_assert_false (attnviz_query_key_view_click (qk, 1, 1));

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (result);
}

static void
test_a_long_run_is_computed_in_a_thread (void)
{
  int T = ATTNVIZ_QUERY_KEY_VIEW_SYNC_TOKENS + 88;
  AttnvizResult *result = attnviz_test_forward_result (1, 2, T, ATTNVIZ_STORAGE_RECOMPUTE, 3, NULL);
  GtkWidget *view = g_object_ref_sink (attnviz_query_key_view_new ());
  AttnvizQueryKeyView *qk = ATTNVIZ_QUERY_KEY_VIEW (view);
  AttnvizViewState *state = figure_state (view);
  attnviz_view_state_set_run (state, result);

  g_assert_null (attnviz_query_key_view_get_points (qk));
  g_assert_true (attnviz_query_key_view_get_computing (qk));
  /* a head asked for meanwhile replaces the one in flight */
  attnviz_view_state_set_head (state, 1);
  g_assert_null (attnviz_query_key_view_get_points (qk));
  attnviz_test_wait_until (!attnviz_query_key_view_get_computing (qk), 30);
  g_assert_false (attnviz_query_key_view_get_computing (qk));
  assert_points_are_the_engines (attnviz_query_key_view_get_points (qk), result, 0, 1);

  g_assert_finalize_object (view);
  /* The cancelled task lets go of the run when its thread gets to it. */
  gpointer weak = result;
  g_object_add_weak_pointer (G_OBJECT (result), &weak);
  g_object_unref (result);
  attnviz_test_wait_until (weak == NULL, 30);
  g_assert_null (weak);
}

static void
test_the_window_exports_the_page_as_a_scatter (void)
{
  g_autofree char *models = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models",
                                              "induction-decoder", NULL);
  AttnvizWindow *window = g_object_ref (attnviz_window_new (NULL));
  AttnvizTestWatch w = { 0 };
  g_autofree char *dir = g_dir_make_tmp ("attnviz-qk-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "qk.png", NULL);
  g_signal_connect (window, "run-finished", G_CALLBACK (attnviz_test_on_run_finished), &w);
  g_signal_connect (window, "exported", G_CALLBACK (attnviz_test_on_exported), &w);
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 800);
  gtk_window_present (GTK_WINDOW (window));
  attnviz_window_open (window, models);
  attnviz_test_wait_until (w.finished > 0 && !attnviz_window_get_busy (window), 120);
  g_assert_true (w.ok);

  g_action_group_activate_action (G_ACTION_GROUP (window), "view", g_variant_new_string ("qk"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (window->view_stack), ==, "qk");
  AttnvizCliFigure fig = { .vmin = NAN, .vmax = NAN };
  attnviz_window_export_figure (window, png, &fig);
  attnviz_test_wait_until (w.exported > 0, 60);
  g_assert_no_error (w.export_error);

  /* 480 x 460 pt at 300 dpi, queries' blue and keys' orange in it */
  cairo_surface_t *image = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (image), ==, 2000);
  int blue = 0, orange = 0;
  const guint8 *data = cairo_image_surface_get_data (image);
  for (int y = 0; y < cairo_image_surface_get_height (image); y++)
    for (int x = 0; x < cairo_image_surface_get_width (image); x++)
      {
        guint32 p = *(const guint32 *) (data + (gsize) y * cairo_image_surface_get_stride (image) + 4 * x);
        int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
        blue += b > r + 100 && b > g + 20;
        orange += r > b + 120 && g > b + 60;
      }
  g_assert_cmpint (blue, >, 1000);
  g_assert_cmpint (orange, >, 1000);
  cairo_surface_destroy (image);

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (window);
  g_clear_error (&w.export_error);
  attnviz_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-qk-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  g_test_add_func ("/ui/query-key-view/points-follow-the-states-head", test_points_follow_the_states_head);
  g_test_add_func ("/ui/query-key-view/clicking-a-point-selects-its-token", test_clicking_a_point_selects_its_token);
  g_test_add_func ("/ui/query-key-view/a-long-run-is-computed-in-a-thread", test_a_long_run_is_computed_in_a_thread);
  g_test_add_func ("/ui/query-key-view/the-window-exports-the-page-as-a-scatter",
                   test_the_window_exports_the_page_as_a_scatter);
  return g_test_run ();
}
