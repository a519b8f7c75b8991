/* test-seq2seq-ui.c: an encoder-decoder model in the desktop app
 *
 * A small dates model with checkpoints is trained for the test (attnviz
 * train, 30 steps, one checkpoint every 10).  The real window opens it on
 * a date: the run holds the decoder's self-attention, the cross-attention
 * and the encoder's; switching to Cross shows a T x S heatmap (target rows,
 * source columns) whose matrix is the recording's, the grid and lines views
 * follow, the source and target token strips both show, the selection has
 * a source side, Compare is off; the export names the attention.  The
 * training-step slider shows for the model's checkpoints: moving it runs
 * a checkpoint on the same tokens (the same T x S), keeping the attention,
 * layer and head, changes the matrix and the step label, and comes back
 * at once from the kept runs.
 */
#define G_LOG_DOMAIN "test-seq2seq-ui"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-grid-view.h"
#include "attnviz-heatmap-view.h"
#include "attnviz-lines-view.h"
#include "attnviz-run-attention.h"
#include "attnviz-run-result.h"
#include "attnviz-test-util.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-test-window-util.h"
#include "attnviz-token-strip.h"
#include "attnviz-window.h"

#define SOURCE "saturday 21 november 2026"

static char *model_dir;

static void
collect (GtkWidget *widget, GType type, GPtrArray *found)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type))
        g_ptr_array_add (found, child);
      collect (child, type, found);
    }
}

/* Spins the main loop for MS milliseconds. */
static void
spin (int ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static AttnvizWindow *
open_window (AttnvizTestWatch *w)
{
  AttnvizWindow *window = attnviz_window_new (NULL);
  g_object_ref (window);
  g_signal_connect (window, "run-finished", G_CALLBACK (attnviz_test_on_run_finished), w);
  g_signal_connect (window, "exported", G_CALLBACK (attnviz_test_on_exported), w);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_present (GTK_WINDOW (window));
  attnviz_window_set_text (window, SOURCE);
  attnviz_window_open (window, model_dir);
  attnviz_test_wait_until (w->finished > 0, 60);
  g_assert_cmpint (w->finished, ==, 1);
  g_assert_true (w->ok);
  /* Let the window lay itself out. */
  spin (200);
  return window;
}

static void
close_window (AttnvizWindow *window)
{
  gtk_window_destroy (GTK_WINDOW (window));
  spin (100);
  g_assert_finalize_object (window);
}

static void
test_cross_attention (void)
{
  AttnvizTestWatch w = { 0 };
  AttnvizWindow *window = open_window (&w);
  g_autofree char *dir = g_dir_make_tmp ("attnviz-s2s-ui-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "cross.png", NULL);

  AttnvizResult *run = attnviz_window_get_run (window);
  g_assert_nonnull (run);
  g_assert_true (ATTNVIZ_IS_RUN_RESULT (run));
  g_assert_true (attnviz_result_is_seq2seq (run));
  const AttnvizRecording *rec = attnviz_result_get_recording (run);
  int S = rec->S, T = rec->T;
  g_assert_cmpint (S, ==, (int) strlen (SOURCE) + 1);
  g_assert_cmpint (T, >=, 1);
  g_assert_cmpstr (attnviz_result_get_text (run), ==, SOURCE);
  g_assert_nonnull (attnviz_window_get_output (window));

  /* At first the decoder's self-attention: T x T, causal. */
  AttnvizResult *result = attnviz_window_get_result (window);
  g_assert_cmpint (attnviz_result_get_kind (result), ==, ATTNVIZ_ATTENTION_SELF);
  g_assert_cmpint (attnviz_result_get_n_tokens (result), ==, T);
  g_assert_cmpint (attnviz_result_get_n_cols (result), ==, T);
  g_assert_true (attnviz_result_get_causal (result));
  /* Variants are not compared on encoder-decoders. */
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "compare"));
  attnviz_window_set_compare (window, TRUE);
  g_assert_false (attnviz_window_get_compare (window));

  /* Both token strips: the source above the target. */
  g_autoptr(GPtrArray) strips = g_ptr_array_new ();
  collect (GTK_WIDGET (window), ATTNVIZ_TYPE_TOKEN_STRIP, strips);
  g_assert_cmpuint (strips->len, ==, 2);
  AttnvizTokenStrip *source_strip = strips->pdata[0], *target_strip = strips->pdata[1];
  g_assert_true (gtk_widget_is_visible (GTK_WIDGET (source_strip)));
  graphene_rect_t chip;
  g_assert_true (attnviz_token_strip_get_chip_rect (source_strip, S - 1, &chip));
  g_assert_false (attnviz_token_strip_get_chip_rect (source_strip, S, &chip));
  g_assert_true (attnviz_token_strip_get_chip_rect (target_strip, T - 1, &chip));
  g_assert_false (attnviz_token_strip_get_chip_rect (target_strip, T, &chip));

  /* Cross: through win.attention, as the switch above the views does. */
  g_object_set (attnviz_window_get_state (window), "layer", 1, "head", 2, NULL);
  g_action_group_change_action_state (G_ACTION_GROUP (window), "attention", g_variant_new_string ("cross"));
  g_assert_cmpint (attnviz_window_get_attention (window), ==, ATTNVIZ_ATTENTION_CROSS);
  result = attnviz_window_get_result (window);
  g_assert_true (ATTNVIZ_IS_RUN_ATTENTION (result));
  g_assert_cmpint (attnviz_result_get_kind (result), ==, ATTNVIZ_ATTENTION_CROSS);
  g_assert_true (attnviz_result_is_seq2seq (result));
  g_assert_cmpint (attnviz_result_get_step (result), ==, attnviz_result_get_step (run));
  g_assert_false (attnviz_result_is_square (result));
  g_assert_false (attnviz_result_get_causal (result));
  g_assert_cmpint (attnviz_view_state_get_layer (figure_state (ATTNVIZ_HEATMAP_VIEW (attnviz_window_get_view (window, "heatmap")))),
                   ==, 1);
  g_action_group_activate_action (G_ACTION_GROUP (window), "view", g_variant_new_string ("heatmap"));
  AttnvizHeatmapView *heatmap = ATTNVIZ_HEATMAP_VIEW (attnviz_window_get_view (window, "heatmap"));
  g_assert_cmpint (attnviz_view_state_get_head (figure_state (heatmap)), ==, 2);
  AttnvizHeatmapSpec spec;
  g_assert_true (attnviz_heatmap_view_get_spec (heatmap, &spec));
  g_assert_cmpint (spec.rows, ==, T);
  g_assert_cmpint (spec.cols, ==, S);
  /* The matrix is the recording's cross-attention of layer 1, head 2. */
  const float *expected = rec->cross_attn + ((gsize) 1 * rec->n_head + 2) * T * S;
  g_assert_cmpmem (spec.matrix, sizeof (float) * T * S, expected, sizeof (float) * T * S);
  for (int t = 0; t < T; t++)
    {
      double sum = 0;
      for (int s = 0; s < S; s++)
        sum += spec.matrix[t * S + s];
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
    }
  /* Row labels the target's tokens, column labels the source's. */
  g_assert_cmpstr (spec.row_labels[0], ==, "<bos>");
  g_assert_cmpstr (spec.col_labels[0], ==, "s");
  g_assert_cmpstr (spec.col_labels[S - 1], ==, "<eos>");
  g_assert_nonnull (strstr (spec.title, "cross"));
  g_assert_nonnull (strstr (spec.subtitle, "target"));

  /* The selection's source side highlights a column. */
  g_object_set (attnviz_window_get_state (window), "selected-source", 9, "selected-token", 2, NULL);
  g_assert_true (attnviz_heatmap_view_get_spec (heatmap, &spec));
  g_assert_cmpint (spec.highlight_col, ==, 9);
  g_assert_cmpint (spec.highlight_row, ==, 2);
  g_assert_cmpint (attnviz_token_strip_get_selected_token (source_strip), ==, 9);
  g_assert_cmpint (attnviz_token_strip_get_selected_token (target_strip), ==, 2);

  /* The grid and the lines show the same T x S maps. */
  AttnvizGridSpec grid;
  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (attnviz_window_get_view (window, "grid")), &grid));
  g_assert_cmpint (grid.rows, ==, T);
  g_assert_cmpint (grid.cols, ==, S);
  g_assert_cmpint (grid.n_layer, ==, rec->n_layer);
  g_assert_false (grid.lower_triangular);
  AttnvizLinesSpec lines;
  g_assert_true (attnviz_lines_view_get_spec (ATTNVIZ_LINES_VIEW (attnviz_window_get_view (window, "lines")),
                                              &lines, NULL));
  g_assert_cmpint (lines.rows, ==, T);
  g_assert_cmpint (lines.cols, ==, S);
  g_assert_cmpstr (lines.col_labels[0], ==, "s");

  /* Exported as it shows, naming the attention. */
  g_action_group_activate_action (G_ACTION_GROUP (window), "export-to", g_variant_new_string (png));
  attnviz_test_wait_until (w.exported > 0, 30);
  g_assert_no_error (w.export_error);
  g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));
  double width_pt, height_pt;
  g_assert_true (attnviz_window_get_export_heatmap (window, &spec, &width_pt, &height_pt));
  /* Sized to the matrix's shape: readable cells, wide or tall as it is. */
  AttnvizHeatmapLayout layout;
  attnviz_heatmap_layout (&spec, width_pt, height_pt, &layout);
  g_test_message ("cross export: %.0f x %.0f pt, cells %.1f pt", width_pt, height_pt, layout.cell);
  g_assert_cmpfloat (layout.cell, >=, 8);
  g_assert_cmpfloat (layout.matrix.width, >, 0.6 * width_pt - 200);

  /* The encoder: S x S, its own layers; the selection's rows are the source's. */
  g_action_group_change_action_state (G_ACTION_GROUP (window), "attention", g_variant_new_string ("encoder"));
  result = attnviz_window_get_result (window);
  g_assert_cmpint (attnviz_result_get_kind (result), ==, ATTNVIZ_ATTENTION_ENCODER);
  g_assert_cmpint (attnviz_result_get_n_layers (result), ==, rec->n_enc_layer);
  g_assert_true (attnviz_heatmap_view_get_spec (heatmap, &spec));
  g_assert_cmpint (spec.rows, ==, S);
  g_assert_cmpint (spec.cols, ==, S);
  g_assert_cmpint (spec.highlight_row, ==, 9);
  g_assert_nonnull (strstr (spec.title, "encoder"));

  /* And back to the decoder's own. */
  attnviz_window_set_attention (window, ATTNVIZ_ATTENTION_SELF);
  g_assert_true (attnviz_heatmap_view_get_spec (heatmap, &spec));
  g_assert_cmpint (spec.rows, ==, T);
  g_assert_cmpint (spec.cols, ==, T);
  g_assert_cmpint (spec.highlight_row, ==, 2);

  close_window (window);
  attnviz_test_remove_tree (dir);
  g_clear_error (&w.export_error);
}

static gboolean
matrices_differ (const float *a, const float *b, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (fabsf (a[i] - b[i]) > 1e-6f)
      return TRUE;
  return FALSE;
}

static void
test_checkpoint_slider (void)
{
  AttnvizTestWatch w = { 0 };
  AttnvizWindow *window = open_window (&w);
  g_autofree char *dir = g_dir_make_tmp ("attnviz-s2s-ui-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "step.png", NULL);

  /* Checkpoints at steps 10 and 20, then the model (step 30). */
  g_assert_cmpint (attnviz_window_get_n_checkpoints (window), ==, 3);
  GtkWidget *scale = attnviz_window_get_checkpoint_scale (window);
  g_assert_true (gtk_widget_is_visible (scale));
  g_assert_true (gtk_widget_get_focusable (scale));
  g_assert_cmpint (attnviz_window_get_step (window), ==, 30);
  g_assert_nonnull (strstr (attnviz_window_get_step_label (window), "step 30"));
  g_assert_cmpfloat (gtk_range_get_value (GTK_RANGE (scale)), ==, 2);

  attnviz_window_set_attention (window, ATTNVIZ_ATTENTION_CROSS);
  g_object_set (attnviz_window_get_state (window), "layer", 1, "head", 3, NULL);
  g_action_group_activate_action (G_ACTION_GROUP (window), "view", g_variant_new_string ("heatmap"));
  AttnvizHeatmapView *heatmap = ATTNVIZ_HEATMAP_VIEW (attnviz_window_get_view (window, "heatmap"));
  AttnvizHeatmapSpec spec;
  g_assert_true (attnviz_heatmap_view_get_spec (heatmap, &spec));
  int T = spec.rows, S = spec.cols;
  g_autofree float *final = g_memdup2 (spec.matrix, sizeof (float) * T * S);
  AttnvizResult *final_run = attnviz_window_get_run (window);
  g_assert_nonnull (strstr (spec.title, "step 30"));

  /* To step 10: loaded and run in a worker, on the same tokens. */
  gtk_range_set_value (GTK_RANGE (scale), 0);
  attnviz_test_wait_until (attnviz_window_get_step (window) == 10, 60);
  g_assert_cmpint (attnviz_window_get_step (window), ==, 10);
  g_assert_true (attnviz_window_get_run (window) != final_run);
  g_assert_nonnull (strstr (attnviz_window_get_step_label (window), "step 10"));
  g_assert_cmpint (attnviz_window_get_attention (window), ==, ATTNVIZ_ATTENTION_CROSS);
  g_assert_cmpint (attnviz_view_state_get_layer (figure_state (heatmap)), ==, 1);
  g_assert_cmpint (attnviz_view_state_get_head (figure_state (heatmap)), ==, 3);
  g_assert_true (attnviz_heatmap_view_get_spec (heatmap, &spec));
  g_assert_cmpint (spec.rows, ==, T);
  g_assert_cmpint (spec.cols, ==, S);
  g_assert_true (matrices_differ (spec.matrix, final, (gsize) T * S));
  /* The title names the model, the head and the step; the subtitle says
   * neither the step again nor "model", the plain model's variant. */
  g_assert_true (g_str_has_prefix (spec.title, attnviz_result_get_model_name (attnviz_window_get_run (window))));
  g_assert_nonnull (strstr (spec.title, "layer 1 · head 3"));
  g_assert_nonnull (strstr (spec.title, "step 10"));
  g_assert_null (strstr (spec.subtitle, "step"));
  g_assert_null (strstr (spec.subtitle, "model"));
  const AttnvizRecording *step10 = attnviz_result_get_recording (attnviz_window_get_run (window));
  g_assert_cmpmem (step10->ids, sizeof (gint32) * T,
                   attnviz_result_get_recording (final_run)->ids, sizeof (gint32) * T);

  /* Its export names the step and the attention. */
  g_action_group_activate_action (G_ACTION_GROUP (window), "export-to", g_variant_new_string (png));
  attnviz_test_wait_until (w.exported > 0, 30);
  g_assert_no_error (w.export_error);
  g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));

  /* Back to the model at once (no worker), and to step 10 from the kept run. */
  gtk_range_set_value (GTK_RANGE (scale), 2);
  g_assert_cmpint (attnviz_window_get_step (window), ==, 30);
  g_assert_true (attnviz_window_get_run (window) == final_run);
  g_assert_true (attnviz_heatmap_view_get_spec (heatmap, &spec));
  g_assert_false (matrices_differ (spec.matrix, final, (gsize) T * S));
  g_action_group_activate_action (G_ACTION_GROUP (window), "previous-step", NULL);
  g_action_group_activate_action (G_ACTION_GROUP (window), "previous-step", NULL);
  g_assert_cmpint (attnviz_window_get_step (window), ==, 10);
  g_assert_nonnull (strstr (attnviz_window_get_step_label (window), "step 10"));

  /* Step 20 through the keyboard's action. */
  g_action_group_activate_action (G_ACTION_GROUP (window), "next-step", NULL);
  attnviz_test_wait_until (attnviz_window_get_step (window) == 20, 60);
  g_assert_cmpint (attnviz_window_get_step (window), ==, 20);
  g_assert_cmpfloat (gtk_range_get_value (GTK_RANGE (scale)), ==, 1);

  close_window (window);
  attnviz_test_remove_tree (dir);
  g_clear_error (&w.export_error);
}

/* A model without checkpoints has no slider. */
static void
test_no_checkpoints (void)
{
  g_autofree char *path = g_build_filename (model_dir, "checkpoints", "step-000020", NULL);
  AttnvizTestWatch w = { 0 };
  AttnvizWindow *window = attnviz_window_new (NULL);
  g_object_ref (window);
  g_signal_connect (window, "run-finished", G_CALLBACK (attnviz_test_on_run_finished), &w);
  gtk_window_present (GTK_WINDOW (window));
  attnviz_window_set_text (window, SOURCE);
  attnviz_window_open (window, path);
  attnviz_test_wait_until (w.finished > 0, 60);
  g_assert_true (w.ok);
  g_assert_cmpint (attnviz_window_get_n_checkpoints (window), ==, 0);
  g_assert_false (gtk_widget_is_visible (attnviz_window_get_checkpoint_scale (window)));
  g_assert_cmpint (attnviz_window_get_step (window), ==, -1);
  close_window (window);
}

int
main (int argc, char **argv)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  /* The recent-models list goes to a scratch folder, not the user's. */
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-s2s-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  /* A small model with checkpoints, trained for these tests. */
  const char *exe = g_getenv ("ATTNVIZ_EXE");
  g_assert_nonnull (exe);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-s2s-model-XXXXXX", NULL);
  model_dir = g_build_filename (tmp, "dates", NULL);
  const char *train[] = { exe, "train", "--task", "dates", "--steps", "30", "--checkpoint-every", "10", "-q",
                          "-o", model_dir, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;
  g_autofree char *err = NULL;
  if (!g_spawn_sync (NULL, (char **) train, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status, &error)
      || !g_spawn_check_wait_status (status, NULL))
    g_error ("could not train the test model: %s", error ? error->message : err);

  g_test_add_func ("/ui/seq2seq/cross-attention-is-target-rows-by-source-columns", test_cross_attention);
  g_test_add_func ("/ui/seq2seq/training-step-slider-scrubs-checkpoints", test_checkpoint_slider);
  g_test_add_func ("/ui/seq2seq/no-slider-without-checkpoints", test_no_checkpoints);

  status = g_test_run ();
  attnviz_test_remove_tree (tmp);
  attnviz_test_remove_tree (data_home);
  g_free (model_dir);
  return status;
}
