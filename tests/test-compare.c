/* test-compare.c: comparing two variants of a model in the desktop app
 *
 * The variant editor on its own: specs are parsed and shown canonical,
 * bad ones are refused with the error in the editor and the last valid
 * variant kept, presets that do not fit the model are refused, heads are
 * switched off and on.  Then the real window on stories260K (from
 * ../shared; skipped when it is absent): Compare with A = mask=bidirectional
 * and B = the model changes every head (each head's total variation
 * distance > 0), the difference pane's matrix is exactly A − B, A and B
 * share one colour scale, every figure names its variant; with A =
 * ablate=L1H2 the layers up to the ablated one are unchanged (distance
 * exactly 0, reused from the model's run) and every later one changes; the
 * difference view exports as a PNG through win.export-to.
 */
#define G_LOG_DOMAIN "test-compare"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-compare-view.h"
#include "attnviz-difference.h"
#include "attnviz-grid-view.h"
#include "attnviz-loss-strip.h"
#include "attnviz-run-matrix.h"
#include "attnviz-run-result.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-test-window-util.h"
#include "attnviz-variant-editor.h"
#include "attnviz-view-state.h"
#include "attnviz-window.h"

#define TEXT "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."

/* ---- The variant editor --------------------------------------------------- */

static GtkWidget *
find_child (GtkWidget *widget, GType type)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type))
        return child;
      GtkWidget *found = find_child (child, type);
      if (found)
        return found;
    }
  return NULL;
}

static void
count_notify (GObject *object, GParamSpec *pspec, int *count)
{
  (*count)++;
}

static void
test_editor_specs (void)
{
  AttnvizVariantEditor *editor = g_object_ref_sink (ATTNVIZ_VARIANT_EDITOR (attnviz_variant_editor_new ()));
  GtkWidget *entry = attnviz_variant_editor_get_entry (editor);
  g_autoptr(GError) error = NULL;
  int notified = 0;

  g_signal_connect (editor, "notify::spec", G_CALLBACK (count_notify), &notified);
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "model");
  g_assert_cmpint (attnviz_variant_editor_get_preset (editor), ==, ATTNVIZ_VARIANT_PRESET_MODEL);

  /* Canonical: keys in a fixed order, spaces gone, defaults written out. */
  g_assert_true (attnviz_variant_editor_set_spec (editor, " pos = none ,mask=window:8", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "mask=window:8,pos=none");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "mask=window:8,pos=none");
  g_assert_cmpint (attnviz_variant_editor_get_preset (editor), ==, ATTNVIZ_VARIANT_PRESET_CUSTOM);
  g_assert_cmpint (notified, ==, 1);

  /* Typed into the entry and Enter: the same path as the user's. */
  gtk_editable_set_text (GTK_EDITABLE (entry), "pos=shuffled");
  g_signal_emit_by_name (entry, "activate");
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "pos=shuffled:1");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "pos=shuffled:1");
  g_assert_cmpint (attnviz_variant_editor_get_preset (editor), ==, ATTNVIZ_VARIANT_PRESET_POS_SHUFFLED);
  g_assert_null (attnviz_variant_editor_get_error (editor));
  g_assert_cmpint (notified, ==, 2);

  /* Bad specs: the error shows, the last valid variant stays. */
  static const char *const bad[][2] = {
    { "mask=sideways", "mask=sideways" },
    { "frobnicate", "not key=value" },
    { "colour=blue", "unknown key" },
    { "score=scale:-1", "score=scale:-1" },
    { "ablate=L1", "ablate=L1" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      gtk_editable_set_text (GTK_EDITABLE (entry), bad[i][0]);
      g_signal_emit_by_name (entry, "activate");
      const char *shown = attnviz_variant_editor_get_error (editor);
      g_test_message ("%s: %s", bad[i][0], shown);
      g_assert_nonnull (shown);
      g_assert_nonnull (strstr (shown, bad[i][1]));
      g_assert_true (gtk_widget_has_css_class (entry, "error"));
      g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "pos=shuffled:1");
      g_assert_cmpint (attnviz_variant_editor_get_variant (editor)->positions, ==, ATTNVIZ_POSITIONS_SHUFFLED);
    }
  g_assert_false (attnviz_variant_editor_set_spec (editor, "mask=window:0", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpint (notified, ==, 2);

  /* A valid one clears the error. */
  g_assert_true (attnviz_variant_editor_set_spec (editor, "mask=none", NULL));
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "mask=bidirectional");
  g_assert_null (attnviz_variant_editor_get_error (editor));
  g_assert_false (gtk_widget_has_css_class (entry, "error"));
  g_assert_cmpint (attnviz_variant_editor_get_preset (editor), ==, ATTNVIZ_VARIANT_PRESET_BIDIRECTIONAL);

  /* Presets, and their number from the spin button. */
  g_assert_true (attnviz_variant_editor_set_preset (editor, ATTNVIZ_VARIANT_PRESET_WINDOW));
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "mask=window:8");
  GtkWidget *spin = find_child (GTK_WIDGET (editor), GTK_TYPE_SPIN_BUTTON);
  g_assert_nonnull (spin);
  g_assert_true (gtk_widget_get_visible (spin));
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), 3);
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "mask=window:3");
  g_assert_true (attnviz_variant_editor_set_preset (editor, ATTNVIZ_VARIANT_PRESET_SCORE_DOT));
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "score=dot");
  g_assert_false (gtk_widget_get_visible (spin));
  g_assert_false (attnviz_variant_editor_set_preset (editor, ATTNVIZ_VARIANT_PRESET_CUSTOM));

  g_object_unref (editor);
}

static void
test_editor_model_and_heads (void)
{
  AttnvizVariantEditor *editor = g_object_ref_sink (ATTNVIZ_VARIANT_EDITOR (attnviz_variant_editor_new ()));
  AttnvizConfig learned = { 0 }, rope = { 0 };
  g_autoptr(GError) error = NULL;

  learned.n_layer = rope.n_layer = 5;
  learned.n_head = rope.n_head = 8;
  learned.head_dim = rope.head_dim = 8;
  learned.pos = ATTNVIZ_POS_LEARNED;
  learned.causal = rope.causal = TRUE;
  rope.pos = ATTNVIZ_POS_ROPE;

  /* RoPE's base only where there is RoPE: greyed out and refused. */
  attnviz_variant_editor_set_config (editor, &learned);
  g_assert_false (attnviz_variant_editor_preset_is_valid (editor, ATTNVIZ_VARIANT_PRESET_ROPE_THETA));
  g_assert_true (attnviz_variant_editor_preset_is_valid (editor, ATTNVIZ_VARIANT_PRESET_POS_NONE));
  g_assert_true (attnviz_variant_editor_preset_is_valid (editor, ATTNVIZ_VARIANT_PRESET_BIDIRECTIONAL));
  g_assert_false (attnviz_variant_editor_set_preset (editor, ATTNVIZ_VARIANT_PRESET_ROPE_THETA));
  g_assert_false (attnviz_variant_editor_set_spec (editor, "pos=rope-theta:500", &error));
  g_assert_nonnull (strstr (error->message, "RoPE"));
  g_clear_error (&error);
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "model");

  attnviz_variant_editor_set_config (editor, &rope);
  g_assert_true (attnviz_variant_editor_preset_is_valid (editor, ATTNVIZ_VARIANT_PRESET_ROPE_THETA));
  g_assert_true (attnviz_variant_editor_set_spec (editor, "pos=rope-theta:500", NULL));
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "pos=rope-theta:500");
  /* A variant that does not fit a new model gives way to the model's own. */
  attnviz_variant_editor_set_config (editor, &learned);
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "model");
  g_assert_nonnull (attnviz_variant_editor_get_error (editor));

  /* Heads that the model does not have. */
  g_assert_false (attnviz_variant_editor_set_spec (editor, "ablate=L9H0", NULL));
  g_assert_nonnull (strstr (attnviz_variant_editor_get_error (editor), "L9H0"));

  /* Switching heads off and on keeps the list sorted and the rest of the variant. */
  g_assert_true (attnviz_variant_editor_set_spec (editor, "mask=bidirectional", NULL));
  g_assert_true (attnviz_variant_editor_toggle_head (editor, 3, 1));
  g_assert_true (attnviz_variant_editor_toggle_head (editor, 1, 2));
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "mask=bidirectional,ablate=L1H2+L3H1");
  g_assert_false (attnviz_variant_editor_toggle_head (editor, 3, 1));
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "mask=bidirectional,ablate=L1H2");
  g_assert_false (attnviz_variant_editor_toggle_head (editor, 1, 2));
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "mask=bidirectional");

  /* The heads preset starts from the current head. */
  attnviz_variant_editor_set_current_head (editor, 2, 5);
  g_assert_true (attnviz_variant_editor_set_preset (editor, ATTNVIZ_VARIANT_PRESET_ABLATE));
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "ablate=L2H5");
  g_assert_true (attnviz_variant_editor_set_preset (editor, ATTNVIZ_VARIANT_PRESET_ABLATE_MEAN));
  g_assert_cmpstr (attnviz_variant_editor_get_spec (editor), ==, "ablate=L2H5,ablate-mode=mean");

  g_object_unref (editor);
}

/* ---- Each meaning of a result, its own type ------------------------------- */

/* A run, its other matrices and a difference of two runs are results of
 * their own types; a decoder-only run has no other attention; a view
 * state takes a run or a difference as its run, never a matrix. */
static void
test_result_kinds (void)
{
  g_autoptr(AttnvizResult) a = attnviz_test_forward_result (2, 2, 12, ATTNVIZ_STORAGE_DENSE, 3, NULL);
  g_autoptr(AttnvizResult) b = attnviz_test_forward_result (2, 2, 12, ATTNVIZ_STORAGE_DENSE, 3, "mask=window:4");
  g_autoptr(GError) error = NULL;

  g_assert_true (ATTNVIZ_IS_RUN_RESULT (a));
  g_assert_null (attnviz_result_get_attention (a, ATTNVIZ_ATTENTION_CROSS));
  g_autoptr(AttnvizResult) self = attnviz_result_get_attention (a, ATTNVIZ_ATTENTION_SELF);
  g_assert_true (self == a);
  g_assert_cmpint (attnviz_result_get_step (a), ==, -1);
  attnviz_run_result_set_step (ATTNVIZ_RUN_RESULT (a), 250);
  g_assert_cmpint (attnviz_result_get_step (a), ==, 250);

  AttnvizResult *vw = attnviz_result_peek_matrix (a, ATTNVIZ_MATRIX_VALUE_WEIGHTED);
  g_assert_true (ATTNVIZ_IS_RUN_MATRIX (vw));
  g_assert_cmpint (attnviz_result_get_matrix_kind (vw), ==, ATTNVIZ_MATRIX_VALUE_WEIGHTED);
  g_assert_cmpint (attnviz_result_get_step (vw), ==, 250);
  g_assert_null (attnviz_run_result_measures_of (vw));
  g_autofree char *title = attnviz_result_describe (vw, ATTNVIZ_AGGREGATE_HEAD, 1, 0);
  g_assert_cmpstr (title, ==, "random-gpt2 · layer 1 · head 0 · value-weighted · step 250");

  g_autoptr(AttnvizDifference) d = attnviz_difference_new (a, b, &error);
  g_assert_no_error (error);
  AttnvizResult *dr = ATTNVIZ_RESULT (d);
  g_assert_false (ATTNVIZ_IS_RUN_RESULT (dr));
  g_assert_cmpint (attnviz_result_get_step (dr), ==, -1);
  g_assert_null (attnviz_result_get_source (dr));
  g_assert_null (attnviz_result_peek_matrix (dr, ATTNVIZ_MATRIX_VALUE_WEIGHTED));
  g_assert_false (attnviz_result_supports_matrix (dr, ATTNVIZ_MATRIX_ROLLOUT, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);

  g_autoptr(AttnvizViewState) state = attnviz_view_state_new ();
  attnviz_view_state_set_run (state, dr);
  g_assert_true (attnviz_view_state_get_result (state) == dr);
  attnviz_view_state_set_run (state, a);
  g_assert_true (attnviz_view_state_get_result (state) == a);
  g_test_expect_message ("attnviz-view-state", G_LOG_LEVEL_CRITICAL, "*ATTNVIZ_IS_RUN_RESULT*");
  attnviz_view_state_set_run (state, vw);
  g_test_assert_expected_messages ();
  g_assert_true (attnviz_view_state_get_run (state) == a);
}

/* ---- A difference result, without a model --------------------------------- */

static void
test_difference_result (void)
{
  g_autoptr(AttnvizResult) a = attnviz_test_random_result (2, 3, 9, 1);
  g_autoptr(AttnvizResult) b = attnviz_test_random_result (2, 3, 9, 2);
  g_autoptr(AttnvizResult) c = attnviz_test_random_result (2, 3, 7, 2);
  g_autoptr(GError) error = NULL;

  g_assert_null (attnviz_difference_new (a, c, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);

  g_autoptr(AttnvizResult) d = ATTNVIZ_RESULT (attnviz_difference_new (a, b, NULL));
  g_assert_true (ATTNVIZ_IS_DIFFERENCE (d));
  g_assert_cmpstr (attnviz_result_get_variant (d), ==, "A: model − B: model");
  for (int agg = ATTNVIZ_AGGREGATE_HEAD; agg <= ATTNVIZ_AGGREGATE_MAX; agg++)
    {
      const float *ma = attnviz_result_get_matrix (a, agg, 1, 2);
      const float *mb = attnviz_result_get_matrix (b, agg, 1, 2);
      const float *md = attnviz_result_get_matrix (d, agg, 1, 2);
      g_assert_nonnull (md);
      for (int i = 0; i < 81; i++)
        g_assert_true (md[i] == ma[i] - mb[i]);
      /* Kept: the same buffer the second time. */
      g_assert_true (md == attnviz_result_get_matrix (d, agg, 1, 2));
    }
  g_autofree char *title = attnviz_result_describe (d, ATTNVIZ_AGGREGATE_HEAD, 1, 2);
  g_assert_cmpstr (title, ==, "random · layer 1 · head 2 · A − B");
  const double *tvd = attnviz_difference_get_tvd (ATTNVIZ_DIFFERENCE (d));
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (tvd[i], >, 0);

  /* Against itself: nothing moved. */
  g_autoptr(AttnvizResult) same = ATTNVIZ_RESULT (attnviz_difference_new (a, a, NULL));
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (attnviz_difference_get_tvd (ATTNVIZ_DIFFERENCE (same))[i], ==, 0);
  g_assert_null (attnviz_result_get_recording (same)->head_additive);

  /* A hybrid's additive heads, the same in A and B, stay marked in A − B
   * (the changes' grid shows its "a" chips); where they differ, none. */
  AttnvizRecording *rec_a = (AttnvizRecording *) attnviz_result_get_recording (a);
  AttnvizRecording *rec_b = (AttnvizRecording *) attnviz_result_get_recording (b);
  rec_a->head_additive = g_new0 (guint8, 6);
  rec_b->head_additive = g_new0 (guint8, 6);
  rec_a->head_additive[3] = rec_b->head_additive[3] = 1;   /* layer 1, head 0 */
  g_autoptr(AttnvizResult) hybrid = ATTNVIZ_RESULT (attnviz_difference_new (a, b, NULL));
  const AttnvizRecording *rd = attnviz_result_get_recording (hybrid);
  for (int l = 0; l < 2; l++)
    for (int h = 0; h < 3; h++)
      g_assert_cmpint (attnviz_recording_head_additive (rd, l, h), ==, l == 1 && h == 0);
  rec_b->head_additive[4] = 1;
  g_autoptr(AttnvizResult) unlike = ATTNVIZ_RESULT (attnviz_difference_new (a, b, NULL));
  g_assert_null (attnviz_result_get_recording (unlike)->head_additive);
}

/* ---- The window on stories260K --------------------------------------------- */

static void
wait_for_run (AttnvizWindow *window, AttnvizTestWatch *w, int before)
{
  attnviz_test_wait_until (w->finished > before && !attnviz_window_get_busy (window), 120);
  g_assert_cmpint (w->finished, >, before);
  if (!w->ok)
    g_error ("the run failed: %s", attnviz_window_get_error (window));
}

static const double *
shown_scores (AttnvizWindow *window, int *n_layer, int *n_head)
{
  AttnvizGridSpec spec;
  GtkWidget *changes = attnviz_window_get_view (window, "changes");

  g_assert_true (ATTNVIZ_IS_GRID_VIEW (changes));
  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (changes), &spec));
  g_assert_nonnull (spec.scores);
  *n_layer = spec.n_layer;
  *n_head = spec.n_head;
  return spec.scores;
}

static double
matrix_max (const float *m, int n)
{
  double top = 0;
  for (int i = 0; i < n; i++)
    top = MAX (top, m[i]);
  return top;
}

static void
check_png (const char *path)
{
  cairo_surface_t *image = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  int w = cairo_image_surface_get_width (image), h = cairo_image_surface_get_height (image);
  int stride = cairo_image_surface_get_stride (image);
  const guint8 *data = cairo_image_surface_get_data (image);
  GHashTable *colours = g_hash_table_new (NULL, NULL);
  int reddish = 0, bluish = 0;

  g_assert_cmpint (w, >, 1000);
  g_assert_cmpint (h, >, 1000);
  for (int y = 0; y < h; y += 3)
    for (int x = 0; x < w; x += 3)
      {
        guint32 p = *(const guint32 *) (data + (gsize) y * stride + (gsize) x * 4) & 0xffffff;
        int r = p >> 16, g = (p >> 8) & 0xff, b = p & 0xff;
        g_hash_table_add (colours, GUINT_TO_POINTER (p));
        reddish += r > b + 60 && r > g + 40;
        bluish += b > r + 60 && b > g + 20;
      }
  g_test_message ("%s: %d x %d, %u colours, %d red and %d blue samples", path, w, h,
                  g_hash_table_size (colours), reddish, bluish);
  /* The diverging map: both ends in use (A attends more here, B there). */
  g_assert_cmpuint (g_hash_table_size (colours), >=, 16);
  g_assert_cmpint (reddish, >, 0);
  g_assert_cmpint (bluish, >, 0);
  g_hash_table_unref (colours);
  cairo_surface_destroy (image);
}

static void
test_window_compare (gconstpointer model)
{
  if (!g_file_test (model, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *why = g_strdup_printf ("%s is absent (set ATTNVIZ_SHARED_DIR)", (const char *) model);
      g_test_skip (why);
      return;
    }

  AttnvizWindow *window = attnviz_window_new (NULL);
  AttnvizTestWatch w = { 0 };
  g_autofree char *dir = g_dir_make_tmp ("attnviz-compare-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "difference.png", NULL);
  g_autofree char *svg = g_build_filename (dir, "side-by-side.svg", NULL);
  g_autofree char *pdf = g_build_filename (dir, "changes.pdf", NULL);

  g_object_ref (window);
  g_signal_connect (window, "run-finished", G_CALLBACK (attnviz_test_on_run_finished), &w);
  g_signal_connect (window, "exported", G_CALLBACK (attnviz_test_on_exported), &w);
  gtk_window_present (GTK_WINDOW (window));
  attnviz_window_set_text (window, TEXT);
  attnviz_window_open (window, model);
  wait_for_run (window, &w, 0);
  g_assert_nonnull (attnviz_window_get_result (window));
  g_assert_null (attnviz_window_get_comparison (window));

  /* Compare: A = no mask, B = the model as it is.  Turning Compare on runs. */
  AttnvizVariantEditor *a_editor = attnviz_window_get_variant_editor (window, 0);
  AttnvizVariantEditor *b_editor = attnviz_window_get_variant_editor (window, 1);
  g_assert_true (attnviz_variant_editor_set_spec (a_editor, "mask=bidirectional", NULL));
  g_assert_true (attnviz_variant_editor_set_spec (b_editor, "model", NULL));
  int single_width;
  gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &single_width, NULL, NULL, NULL);
  int before = w.finished;
  g_action_group_change_action_state (G_ACTION_GROUP (window), "compare", g_variant_new_boolean (TRUE));
  g_assert_true (attnviz_window_get_compare (window));
  wait_for_run (window, &w, before);
  /* The bar of editors fits a small laptop's screen. */
  int min_width;
  gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &min_width, NULL, NULL, NULL);
  g_test_message ("window: at least %d px wide in compare mode, %d without", min_width, single_width);
  g_assert_cmpint (min_width, <=, MAX (single_width, 1024));

  AttnvizResult *cmp = attnviz_window_get_comparison (window);
  g_assert_nonnull (cmp);
  AttnvizResult *a = attnviz_difference_get_a (ATTNVIZ_DIFFERENCE (cmp));
  AttnvizResult *b = attnviz_difference_get_b (ATTNVIZ_DIFFERENCE (cmp));
  g_assert_cmpstr (attnviz_result_get_variant (a), ==, "mask=bidirectional");
  g_assert_cmpstr (attnviz_result_get_variant (b), ==, "model");
  /* B is the model's own run, which is also the single run's result. */
  g_assert_true (b == attnviz_window_get_result (window));
  g_autoptr(GVariant) view = g_action_group_get_action_state (G_ACTION_GROUP (window), "view");
  g_assert_cmpstr (g_variant_get_string (view, NULL), ==, "changes");

  /* Every head's distance shown is positive: without the mask every row but
   * the last sees more keys. */
  int L, H;
  const double *scores = shown_scores (window, &L, &H);
  g_assert_cmpint (L, ==, 5);
  g_assert_cmpint (H, ==, 8);
  for (int i = 0; i < L * H; i++)
    {
      g_assert_cmpfloat (scores[i], >, 0);
      g_assert_cmpfloat (scores[i], <=, 1);
    }

  /* A vs B at layer 2, head 3: A − B exactly, one scale for A and B. */
  g_object_set (attnviz_window_get_state (window), "layer", 2, "head", 3, NULL);
  g_action_group_activate_action (G_ACTION_GROUP (window), "view", g_variant_new_string ("compare"));
  AttnvizCompareView *compare = ATTNVIZ_COMPARE_VIEW (attnviz_window_get_view (window, "compare"));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (compare)));
  AttnvizHeatmapSpec sa, sb, sd;
  g_assert_true (attnviz_heatmap_view_get_spec (attnviz_compare_view_get_pane (compare, ATTNVIZ_COMPARE_PANE_A), &sa));
  g_assert_true (attnviz_heatmap_view_get_spec (attnviz_compare_view_get_pane (compare, ATTNVIZ_COMPARE_PANE_B), &sb));
  g_assert_true (attnviz_heatmap_view_get_spec (attnviz_compare_view_get_pane (compare, ATTNVIZ_COMPARE_PANE_DIFFERENCE), &sd));
  int T = attnviz_result_get_n_tokens (cmp);
  const float *ma = attnviz_result_get_matrix (a, ATTNVIZ_AGGREGATE_HEAD, 2, 3);
  const float *mb = attnviz_result_get_matrix (b, ATTNVIZ_AGGREGATE_HEAD, 2, 3);
  g_assert_true (sa.matrix == ma);
  g_assert_true (sb.matrix == mb);
  g_assert_cmpint (sd.rows, ==, T);
  int differ = 0;
  for (int i = 0; i < T * T; i++)
    {
      g_assert_true (sd.matrix[i] == ma[i] - mb[i]);
      differ += sd.matrix[i] != 0;
    }
  g_assert_cmpint (differ, >, 0);
  g_assert_cmpint (sd.colormap, ==, ATTNVIZ_COLORMAP_RDBU);
  double top = MAX (matrix_max (ma, T * T), matrix_max (mb, T * T));
  g_assert_cmpfloat (sa.scale.vmin, ==, 0);
  g_assert_cmpfloat (sb.scale.vmin, ==, 0);
  g_assert_cmpfloat_with_epsilon (sa.scale.vmax, top, 1e-9);
  g_assert_cmpfloat_with_epsilon (sb.scale.vmax, top, 1e-9);
  /* Every figure names the variant it shows. */
  g_assert_nonnull (strstr (sa.title, "A ·"));
  g_assert_nonnull (strstr (sa.subtitle, "mask=bidirectional"));
  g_assert_nonnull (strstr (sb.title, "B ·"));
  g_assert_null (strstr (sb.subtitle, "model"));   /* the model as it is: no variant to name */
  g_assert_nonnull (strstr (sd.title, "A − B"));
  g_assert_nonnull (strstr (sd.subtitle, "A: mask=bidirectional − B: model"));

  /* The loss under A and B, token by token. */
  AttnvizLossStrip *loss = ATTNVIZ_LOSS_STRIP (find_child (GTK_WIDGET (window), ATTNVIZ_TYPE_LOSS_STRIP));
  g_assert_nonnull (loss);
  g_assert_true (attnviz_loss_strip_get_result (loss) == cmp);
  g_assert_cmpfloat (attnviz_loss_strip_get_range (loss), >, 0);
  g_autofree char *first = attnviz_loss_strip_describe_token (loss, 0);
  g_assert_nonnull (strstr (first, "no loss"));   /* nothing predicts the first token */
  g_autofree char *third = attnviz_loss_strip_describe_token (loss, 2);
  g_test_message ("token 2: %s", third);
  g_assert_true (g_str_has_prefix (third, "loss A "));
  double expected = attnviz_result_get_token_loss (a, 2) - attnviz_result_get_token_loss (b, 2);
  g_assert_cmpfloat_with_epsilon (attnviz_result_get_token_loss (cmp, 2), expected, 1e-12);
  g_assert_cmpfloat (attnviz_result_get_token_loss (b, 2), ==, attnviz_result_get_recording (b)->loss[1]);

  /* The difference view exports, as win.export-to writes it. */
  g_action_group_change_action_state (G_ACTION_GROUP (window), "compare-mode", g_variant_new_string ("difference"));
  g_assert_cmpint (attnviz_compare_view_get_mode (compare), ==, ATTNVIZ_COMPARE_DIFFERENCE);
  g_action_group_activate_action (G_ACTION_GROUP (window), "export-to", g_variant_new_string (png));
  attnviz_test_wait_until (w.exported == 1, 60);
  g_assert_no_error (w.export_error);
  check_png (png);
  /* And A | B, as one figure of two panels. */
  g_action_group_change_action_state (G_ACTION_GROUP (window), "compare-mode", g_variant_new_string ("side-by-side"));
  g_action_group_activate_action (G_ACTION_GROUP (window), "export-to", g_variant_new_string (svg));
  attnviz_test_wait_until (w.exported == 2, 60);
  g_assert_no_error (w.export_error);
  g_autofree char *svg_text = NULL;
  g_assert_true (g_file_get_contents (svg, &svg_text, NULL, NULL));
  g_assert_nonnull (strstr (svg_text, "<svg"));
  /* And the Changes grid, with its subtitle naming both variants. */
  g_action_group_activate_action (G_ACTION_GROUP (window), "view", g_variant_new_string ("changes"));
  g_action_group_activate_action (G_ACTION_GROUP (window), "export-to", g_variant_new_string (pdf));
  attnviz_test_wait_until (w.exported == 3, 60);
  g_assert_no_error (w.export_error);
  g_autofree char *pdf_text = NULL;
  gsize pdf_len;
  g_assert_true (g_file_get_contents (pdf, &pdf_text, &pdf_len, NULL));
  g_assert_true (pdf_len > 1000 && memcmp (pdf_text, "%PDF", 4) == 0);

  /* A = head 2 of layer 1 switched off: the model's run is reused up to
   * layer 1, so layers 0 and 1 are the same to the bit; every later head
   * sees a changed stream.  The edit re-runs by itself. */
  before = w.finished;
  g_assert_true (attnviz_variant_editor_set_spec (a_editor, "ablate=L1H2", NULL));
  wait_for_run (window, &w, before);
  cmp = attnviz_window_get_comparison (window);
  g_assert_cmpstr (attnviz_result_get_variant (attnviz_difference_get_a (ATTNVIZ_DIFFERENCE (cmp))), ==, "ablate=L1H2");
  g_assert_cmpint (attnviz_result_get_recording (attnviz_difference_get_a (ATTNVIZ_DIFFERENCE (cmp)))->reused_layers, ==, 1);
  scores = shown_scores (window, &L, &H);
  for (int l = 0; l < L; l++)
    for (int h = 0; h < H; h++)
      {
        if (l <= 1)
          g_assert_cmpfloat (scores[l * H + h], ==, 0);
        else
          g_assert_cmpfloat (scores[l * H + h], >, 0);
      }

  /* Ctrl+click on a thumbnail switches that head off in A; the menu's
   * action does the same for B at the current head. */
  before = w.finished;
  g_signal_emit_by_name (attnviz_window_get_view (window, "changes"), "head-toggled", 3, 0, GDK_CONTROL_MASK);
  g_assert_cmpstr (attnviz_variant_editor_get_spec (a_editor), ==, "ablate=L1H2+L3H0");
  g_object_set (attnviz_window_get_state (window), "layer", 4, "head", 6, NULL);
  g_action_group_activate_action (G_ACTION_GROUP (window), "ablate-b", NULL);
  g_assert_cmpstr (attnviz_variant_editor_get_spec (b_editor), ==, "ablate=L4H6");
  g_autoptr(GVariant) state = g_action_group_get_action_state (G_ACTION_GROUP (window), "ablate-b");
  g_assert_true (g_variant_get_boolean (state));
  wait_for_run (window, &w, before);
  cmp = attnviz_window_get_comparison (window);
  g_assert_cmpstr (attnviz_result_get_variant (cmp), ==, "A: ablate=L1H2+L3H0 − B: ablate=L4H6");

  /* Compare off: the single run's views again. */
  attnviz_window_set_compare (window, FALSE);
  g_autoptr(GVariant) single = g_action_group_get_action_state (G_ACTION_GROUP (window), "view");
  g_assert_true (g_str_equal (g_variant_get_string (single, NULL), "grid")
                 || g_str_equal (g_variant_get_string (single, NULL), "heatmap"));

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (window);
  g_unlink (png);
  g_unlink (svg);
  g_unlink (pdf);
  g_rmdir (dir);
  g_clear_error (&w.export_error);
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
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-compare-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  const char *shared = g_getenv ("ATTNVIZ_SHARED_DIR");
  g_autofree char *model = g_build_filename (shared ? shared : "../shared", "data", "models",
                                             "stories260K", "hf", NULL);

  g_test_add_func ("/ui/variant-editor/parses-canonicalises-and-refuses-bad-specs", test_editor_specs);
  g_test_add_func ("/ui/variant-editor/follows-the-model-and-switches-heads", test_editor_model_and_heads);
  g_test_add_func ("/ui/result/each-meaning-has-its-own-type", test_result_kinds);
  g_test_add_func ("/ui/result/a-difference-is-a-minus-b-with-a-distance-per-head", test_difference_result);
  g_test_add_data_func ("/ui/window/compares-two-variants-on-stories260k", model, test_window_compare);

  int status = g_test_run ();
  g_autofree char *recent = g_build_filename (data_home, "attnviz", "recent", NULL);
  g_autofree char *recent_dir = g_path_get_dirname (recent);
  g_unlink (recent);
  g_rmdir (recent_dir);
  g_rmdir (data_home);
  return status;
}
