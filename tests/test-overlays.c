/* test-overlays.c: what the heatmap shows besides the weights, the grid
 * coloured by a measure and ordered by similarity (issue 12)
 *
 * Every value is checked against the engine's own functions:
 * attnviz_attention_*value_weighted*, attnviz_attention_rollout / _flow,
 * the run's measures table and attnviz_head_similarity ().
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-grid-view.h"
#include "attnviz-heatmap-tiles.h"
#include "attnviz-heatmap-view.h"
#include "attnviz-rollout.h"
#include "attnviz-run-result.h"
#include "attnviz-similarity.h"
#include "attnviz-test-widgets-util.h"

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

/* A heatmap of STATE's run in a window. */
static AttnvizHeatmapView *
heatmap_of (AttnvizViewState *state, GtkWindow **window)
{
  GtkWidget *view = attnviz_heatmap_view_new ();
  attnviz_figure_view_set_state (ATTNVIZ_FIGURE_VIEW (view), state);
  *window = show_in_window (view, 640, 480);
  return ATTNVIZ_HEATMAP_VIEW (view);
}

static void
assert_floats_equal (const float *a, const float *b, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (a[i] != b[i])
      g_error ("value %" G_GSIZE_FORMAT ": %.9g, expected %.9g", i, a[i], b[i]);
}

static void
test_value_weighted_heatmap_shows_the_engine_values (void)
{
  enum { L = 2, H = 3, T = 24 };
  AttnvizResult *result = attnviz_test_forward_result (L, H, T, ATTNVIZ_STORAGE_DENSE, 21, NULL);
  AttnvizAttention *source = attnviz_result_get_source (result);
  AttnvizViewState *state = attnviz_view_state_new ();
  attnviz_view_state_set_run (state, result);
  GtkWindow *window;
  AttnvizHeatmapView *view = heatmap_of (state, &window);
  AttnvizHeatmapSpec spec;

  attnviz_view_state_set_layer (state, 1);
  attnviz_view_state_set_head (state, 2);
  attnviz_view_state_set_matrix (state, ATTNVIZ_MATRIX_VALUE_WEIGHTED);
  g_assert_null (attnviz_heatmap_view_get_matrix_message (view));
  g_assert_true (attnviz_heatmap_view_get_spec (view, &spec));
  g_autofree float *expected = attnviz_attention_dup_value_weighted (source, 1, 2);
  g_assert_nonnull (expected);
  g_assert_cmpint (spec.rows, ==, T);
  assert_floats_equal (spec.matrix, expected, (gsize) T * T);
  /* The weights are not what it shows: some key's value is not of size 1. */
  const float *weights = attnviz_result_get_matrix (result, ATTNVIZ_AGGREGATE_HEAD, 1, 2);
  g_assert_true (memcmp (spec.matrix, weights, sizeof (float) * T * T) != 0);
  /* Title, subtitle and colour bar say so. */
  g_assert_nonnull (strstr (spec.title, "value-weighted"));
  g_assert_nonnull (strstr (spec.subtitle, "value-weighted attention"));
  g_assert_nonnull (strstr (spec.scale_caption, "‖W_O v‖"));

  /* Stepping the head shows the next head's. */
  attnviz_view_state_set_head (state, 0);
  g_autofree float *head0 = attnviz_attention_dup_value_weighted (source, 1, 0);
  g_assert_true (attnviz_heatmap_view_get_spec (view, &spec));
  assert_floats_equal (spec.matrix, head0, (gsize) T * T);

  destroy_window (window);
  g_assert_finalize_object (state);
  g_assert_finalize_object (result);
}

/* A long run (no dense matrix): the tiles read the value-weighted cells
 * exactly, and the colour range reaches the head's largest of them. */
static void
test_value_weighted_long_run_reads_exact_rects (void)
{
  enum { T = 700 };
  AttnvizResult *result = attnviz_test_forward_result (1, 2, T, ATTNVIZ_STORAGE_RECOMPUTE, 22, NULL);
  AttnvizAttention *source = attnviz_result_get_source (result);
  g_assert_true (attnviz_result_is_long (result));
  AttnvizViewState *state = attnviz_view_state_new ();
  attnviz_view_state_set_run (state, result);
  attnviz_view_state_set_head (state, 1);
  GtkWindow *window;
  AttnvizHeatmapView *view = heatmap_of (state, &window);

  attnviz_view_state_set_matrix (state, ATTNVIZ_MATRIX_VALUE_WEIGHTED);
  g_assert_cmpstr (attnviz_heatmap_view_get_matrix_message (view), ==,
                   "Computing the value-weighted attention of this head…");
  attnviz_test_wait_until (attnviz_heatmap_view_get_matrix_message (view) == NULL, 60);
  g_assert_null (attnviz_heatmap_view_get_matrix_message (view));

  /* The head's largest value, row by row through the engine. */
  g_autofree float *row = g_new (float, T);
  float top = 0;
  for (int i = 0; i < T; i++)
    {
      g_assert_true (attnviz_attention_get_value_weighted_row (source, 0, 1, i, row));
      for (int j = 0; j < T; j++)
        top = MAX (top, row[j]);
    }
  AttnvizHeatmapSpec spec;
  g_assert_true (attnviz_heatmap_view_get_screen_spec (view, &spec));
  g_assert_null (spec.matrix);
  g_assert_cmpfloat_with_epsilon (spec.scale.vmax, top, 1e-6);
  g_assert_nonnull (strstr (spec.scale_caption, "‖W_O v‖"));

  /* A cell's exact value, as the hover asks it of the tiles. */
  AttnvizHeatmapTiles *tiles = attnviz_heatmap_view_get_tiles (view);
  float v = NAN, a, b, expected;
  attnviz_test_wait_until (attnviz_heatmap_tiles_get_value (tiles, 650, 123, &v, &a, &b), 30);
  g_assert_true (attnviz_heatmap_tiles_get_value (tiles, 650, 123, &v, &a, &b));
  g_assert_true (attnviz_attention_get_value_weighted_rect (source, 0, 1, 650, 651, 123, 124, &expected, 1));
  g_assert_cmpfloat (v, ==, expected);

  destroy_window (window);
  g_assert_finalize_object (state);
  g_assert_finalize_object (result);
}

static void
test_rollout_is_the_runs_and_stays_when_the_head_steps (void)
{
  enum { L = 3, H = 2, T = 20 };
  g_autoptr(GError) error = NULL;
  AttnvizResult *result = attnviz_test_forward_result (L, H, T, ATTNVIZ_STORAGE_DENSE, 23, NULL);
  AttnvizViewState *state = attnviz_view_state_new ();
  attnviz_view_state_set_run (state, result);
  GtkWindow *window;
  AttnvizHeatmapView *view = heatmap_of (state, &window);

  attnviz_view_state_set_matrix (state, ATTNVIZ_MATRIX_ROLLOUT);
  g_assert_cmpstr (attnviz_heatmap_view_get_matrix_message (view), ==, "Computing the attention rollout…");
  attnviz_test_wait_until (attnviz_heatmap_view_get_matrix_message (view) == NULL, 30);
  AttnvizHeatmapSpec spec;
  g_assert_true (attnviz_heatmap_view_get_spec (view, &spec));
  g_autofree float *expected = attnviz_attention_rollout (attnviz_result_get_source (result), NULL, &error);
  g_assert_no_error (error);
  assert_floats_equal (spec.matrix, expected, (gsize) T * T);
  g_assert_nonnull (strstr (spec.title, "attention rollout"));
  /* Its colours are its own range, not a head's. */
  g_assert_nonnull (strstr (spec.scale_caption, "its own range"));
  g_assert_null (strstr (spec.title, "head"));

  /* Another head, another layer, the mean over heads: the same matrix. */
  const float *first = spec.matrix;
  attnviz_view_state_step_head (state, 1);
  attnviz_view_state_step_layer (state, 2);
  g_assert_true (attnviz_heatmap_view_get_spec (view, &spec));
  g_assert_true (spec.matrix == first);
  attnviz_view_state_set_aggregate (state, ATTNVIZ_AGGREGATE_MEAN);
  g_assert_true (attnviz_heatmap_view_get_spec (view, &spec));
  assert_floats_equal (spec.matrix, expected, (gsize) T * T);

  destroy_window (window);
  g_assert_finalize_object (state);
  g_assert_finalize_object (result);
}

static void
test_flow_past_its_limit_says_so (void)
{
  enum { T = ATTNVIZ_FLOW_MAX_TOKENS + 2 };
  AttnvizResult *result = attnviz_test_forward_result (1, 1, T, ATTNVIZ_STORAGE_DENSE, 24, NULL);
  AttnvizViewState *state = attnviz_view_state_new ();
  attnviz_view_state_set_run (state, result);
  GtkWindow *window;
  AttnvizHeatmapView *view = heatmap_of (state, &window);
  AttnvizHeatmapSpec spec;

  attnviz_view_state_set_matrix (state, ATTNVIZ_MATRIX_FLOW);
  const char *message = attnviz_heatmap_view_get_matrix_message (view);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "at most 128 tokens"));
  g_assert_nonnull (strstr (message, "130"));
  g_assert_false (attnviz_heatmap_view_get_spec (view, &spec));
  /* Still said after a while: nothing is being computed. */
  attnviz_test_wait_until (FALSE, 0.2);
  g_assert_cmpstr (attnviz_heatmap_view_get_matrix_message (view), ==, message);

  /* Back to the weights: the picture. */
  attnviz_view_state_set_matrix (state, ATTNVIZ_MATRIX_WEIGHTS);
  g_assert_null (attnviz_heatmap_view_get_matrix_message (view));
  g_assert_true (attnviz_heatmap_view_get_spec (view, &spec));

  destroy_window (window);
  g_assert_finalize_object (state);
  g_assert_finalize_object (result);
}

/* A table of the run's measures, from its attention source. */
static void
give_measures (AttnvizResult *result)
{
  AttnvizMeasuresInput input = { .T = attnviz_result_get_n_tokens (result) };
  int L = attnviz_result_get_n_layers (result), H = attnviz_result_get_n_heads (result);
  g_autoptr(AttnvizMeasuresAcc) acc = attnviz_measures_acc_new (L, H, &input);
  g_assert_true (attnviz_measures_acc_add_attention (acc, attnviz_result_get_source (result), NULL));
  AttnvizHeadMeasures *table = attnviz_head_measures_new (L, H);
  attnviz_measures_acc_finish (acc, table);
  attnviz_run_result_set_measures (ATTNVIZ_RUN_RESULT (result), table);
}

static void
test_grid_coloured_by_a_measure_shows_the_tables_column (void)
{
  enum { L = 3, H = 4, T = 16 };
  AttnvizResult *result = attnviz_test_forward_result (L, H, T, ATTNVIZ_STORAGE_DENSE, 25, NULL);
  give_measures (result);
  const AttnvizHeadMeasures *table = attnviz_run_result_measures_of (result);
  g_assert_true (table->has[ATTNVIZ_MEASURE_ENTROPY]);
  AttnvizViewState *state = attnviz_view_state_new ();
  attnviz_view_state_set_run (state, result);
  GtkWidget *grid = attnviz_grid_view_new ();
  attnviz_figure_view_set_state (ATTNVIZ_FIGURE_VIEW (grid), state);
  GtkWindow *window = show_in_window (grid, 640, 480);
  AttnvizGridSpec spec;

  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (grid), &spec));
  g_assert_null (spec.scores);

  attnviz_view_state_set_head_colour (state, "entropy");
  g_assert_cmpstr (attnviz_view_state_get_head_colour (state), ==, "entropy");
  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (grid), &spec));
  g_assert_nonnull (spec.scores);
  for (int l = 0; l < L; l++)
    for (int h = 0; h < H; h++)
      g_assert_cmpfloat (spec.scores[l * H + h], ==, attnviz_head_measures_at (table, l, h)[ATTNVIZ_MEASURE_ENTROPY]);
  g_assert_cmpstr (spec.scale_caption, ==, "entropy");
  g_assert_true (spec.colorbar);
  g_assert_nonnull (strstr (spec.title, "entropy"));
  /* The range runs from the column's least to its largest value. */
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < L * H; i++)
    lo = MIN (lo, spec.scores[i]), hi = MAX (hi, spec.scores[i]);
  g_assert_cmpfloat (spec.scale.vmin, ==, lo);
  g_assert_cmpfloat (spec.scale.vmax, ==, hi);

  /* A measure the table lacks is refused. */
  attnviz_view_state_set_head_colour (state, "importance");
  g_assert_cmpstr (attnviz_view_state_get_head_colour (state), ==, "entropy");
  /* Back to the attention. */
  attnviz_view_state_set_head_colour (state, "attention");
  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (grid), &spec));
  g_assert_null (spec.scores);

  destroy_window (window);
  g_assert_finalize_object (state);
  g_assert_finalize_object (result);
}

static void
test_heads_ordered_by_similarity_hit_test_to_the_real_head (void)
{
  enum { L = 2, H = 5, T = 20 };
  g_autoptr(GError) error = NULL;
  AttnvizResult *result = attnviz_test_forward_result (L, H, T, ATTNVIZ_STORAGE_DENSE, 26, NULL);
  AttnvizViewState *state = attnviz_view_state_new ();
  attnviz_view_state_set_run (state, result);
  GtkWidget *grid = attnviz_grid_view_new ();
  AttnvizGridView *view = ATTNVIZ_GRID_VIEW (grid);
  attnviz_figure_view_set_state (ATTNVIZ_FIGURE_VIEW (grid), state);
  GtkWindow *window = show_in_window (grid, 800, 500);

  attnviz_view_state_set_order_heads (state, TRUE);
  attnviz_test_wait_until (attnviz_grid_view_get_head_order (view, 0) != NULL, 30);
  g_assert_nonnull (attnviz_grid_view_get_head_order (view, 0));

  /* The engine's order, restricted to each layer. */
  g_autoptr(AttnvizHeadSimilarity) sim = attnviz_head_similarity (attnviz_result_get_source (result), 0, NULL, &error);
  g_assert_no_error (error);
  gboolean any_moved = FALSE;
  for (int l = 0; l < L; l++)
    {
      int expected[H], n = 0;
      for (int i = 0; i < sim->n; i++)
        if (sim->layers[sim->order[i]] == l)
          expected[n++] = sim->heads[sim->order[i]];
      g_assert_cmpint (n, ==, H);
      const int *order = attnviz_grid_view_get_head_order (view, l);
      for (int c = 0; c < H; c++)
        {
          g_assert_cmpint (order[c], ==, expected[c]);
          any_moved |= order[c] != c;
        }
    }
  /* Else the test would not tell a mapped hit from an unmapped one. */
  g_assert_true (any_moved);

  AttnvizGridLayout layout;
  AttnvizGridSpec spec;
  g_assert_true (attnviz_grid_view_get_layout (view, &layout));
  g_assert_true (attnviz_grid_view_get_spec (view, &spec));
  g_assert_nonnull (spec.cell_head_index);
  for (int l = 0; l < L; l++)
    {
      const int *order = attnviz_grid_view_get_head_order (view, l);
      for (int c = 0; c < H; c++)
        {
          /* The thumbnail drawn in column C is head order[c]. */
          double x = layout.grid.x + c * layout.pitch + layout.thumb / 2;
          double y = layout.grid.y + l * layout.pitch + layout.thumb / 2;
          int hl = -1, hh = -1;
          g_assert_true (attnviz_grid_view_hit (view, x, y, &hl, &hh));
          g_assert_cmpint (hl, ==, l);
          g_assert_cmpint (hh, ==, order[c]);
          g_assert_cmpint (spec.cell_head_index[l * H + c], ==, order[c]);
          g_assert_true (spec.maps[l * H + c] == attnviz_result_get_maps (result)[l * H + order[c]]);
          /* And where the view says a head is, it is hit. */
          graphene_rect_t r;
          g_assert_true (attnviz_grid_view_get_thumbnail_rect (view, l, order[c], &r));
          g_assert_cmpfloat (fabs (r.origin.x + r.size.width / 2 - x), <, layout.pitch / 2);
          hl = hh = -1;
          g_assert_true (attnviz_grid_view_hit (view, r.origin.x + r.size.width / 2, r.origin.y + r.size.height / 2,
                                                &hl, &hh));
          g_assert_cmpint (hh, ==, order[c]);
        }
    }

  /* Off again: by index. */
  attnviz_view_state_set_order_heads (state, FALSE);
  g_assert_null (attnviz_grid_view_get_head_order (view, 0));

  destroy_window (window);
  g_assert_finalize_object (state);
  g_assert_finalize_object (result);
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ui/overlays/value-weighted-heatmap-shows-the-engines-values",
                   test_value_weighted_heatmap_shows_the_engine_values);
  g_test_add_func ("/ui/overlays/value-weighted-long-run-reads-exact-rects-and-its-own-range",
                   test_value_weighted_long_run_reads_exact_rects);
  g_test_add_func ("/ui/overlays/rollout-is-the-runs-and-stays-when-the-head-steps",
                   test_rollout_is_the_runs_and_stays_when_the_head_steps);
  g_test_add_func ("/ui/overlays/flow-past-its-limit-says-so", test_flow_past_its_limit_says_so);
  g_test_add_func ("/ui/overlays/grid-coloured-by-a-measure-shows-the-tables-column",
                   test_grid_coloured_by_a_measure_shows_the_tables_column);
  g_test_add_func ("/ui/overlays/heads-ordered-by-similarity-hit-test-to-the-real-head",
                   test_heads_ordered_by_similarity_hit_test_to_the_real_head);
  return g_test_run ();
}
