/* test-app-session.c: the window on runs opened from files (issue 13)
 *
 * A dump opens without its model and shows the very matrices of its run;
 * Save Run writes a dump that opens again the same; a second dump of the
 * same tokens is compared as A − B, one of other tokens refused in the
 * banner; attention saved elsewhere opens with its tokens; a bad file is
 * one line in the banner and leaves the window working; re-running a dump
 * loads its model and runs its text.
 */
#define G_LOG_DOMAIN "test-app-session"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-difference.h"
#include "attnviz-measures.h"
#include "attnviz-run-result.h"
#include "attnviz-npy.h"
#include "attnviz-predictions.h"
#include "attnviz-test-util.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-test-window-util.h"
#include "attnviz-window-private.h"

static char *induction;

typedef struct {
  AttnvizWindow *window;
  AttnvizTestWatch w;
  int saved;
  gboolean saved_ok;
  char *dir;
  char *dump;       /* the model's run of TEXT, as an npy dump */
} Fixture;

#define TEXT "abcdefabcdef"

static void
on_run_saved (AttnvizWindow *window, gboolean ok, Fixture *f)
{
  f->saved++;
  f->saved_ok = ok;
}

static char *
dump_of (Fixture *f, const char *name, const char *text, const char *variant)
{
  char *path = g_build_filename (f->dir, name, NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  const char *args[] = { "dump", induction, "--text", text, "-o", path, "-q",
                         variant ? "--variant" : NULL, variant, NULL };
  attnviz_test_run_attnvizv (&r, args);
  g_assert_cmpint (r.status, ==, 0);
  return path;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  memset (f, 0, sizeof *f);
  f->dir = g_dir_make_tmp ("attnviz-app-session-XXXXXX", NULL);
  f->dump = dump_of (f, "run", TEXT, NULL);
  f->window = g_object_ref (attnviz_window_new (NULL));
  g_signal_connect (f->window, "run-finished", G_CALLBACK (attnviz_test_on_run_finished), &f->w);
  g_signal_connect (f->window, "exported", G_CALLBACK (attnviz_test_on_exported), &f->w);
  g_signal_connect (f->window, "run-saved", G_CALLBACK (on_run_saved), f);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1200, 800);
  gtk_window_present (GTK_WINDOW (f->window));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_assert_finalize_object (f->window);
  g_clear_error (&f->w.export_error);
  attnviz_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->dump);
}

/* Opens PATH as Open and a drop do, and waits for it. */
static gboolean
open_and_wait (Fixture *f, const char *path)
{
  int before = f->w.finished;
  attnviz_window_open (f->window, path);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 60);
  g_assert_cmpint (f->w.finished, >, before);
  return f->w.ok;
}

static gboolean
action_enabled (Fixture *f, const char *name)
{
  return g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), name);
}

/* Every head of the run shown equals the dump's attentions.npy. */
static void
assert_run_is_the_dump (Fixture *f, const char *dump)
{
  g_autofree char *npy = g_build_filename (dump, "attentions.npy", NULL);
  gint64 shape[4];
  int n_dims;
  gsize n;
  g_autofree float *want = attnviz_test_load_npy (npy, shape, &n_dims, &n);
  g_assert_cmpint (n_dims, ==, 4);
  AttnvizResult *run = attnviz_window_get_run (f->window);
  g_assert_cmpint (attnviz_result_get_n_layers (run), ==, shape[0]);
  g_assert_cmpint (attnviz_result_get_n_heads (run), ==, shape[1]);
  g_assert_cmpint (attnviz_result_get_n_tokens (run), ==, shape[2]);
  gsize cells = (gsize) shape[2] * shape[3];
  for (int l = 0; l < shape[0]; l++)
    for (int h = 0; h < shape[1]; h++)
      {
        const float *m = attnviz_result_get_matrix (run, ATTNVIZ_AGGREGATE_HEAD, l, h);
        g_assert_nonnull (m);
        g_assert_cmpmem (m, cells * sizeof (float), want + ((gsize) l * shape[1] + h) * cells, cells * sizeof (float));
      }
}

static void
test_a_dump_opens_without_its_model_as_its_run (Fixture *f, gconstpointer data)
{
  g_assert_true (open_and_wait (f, f->dump));
  const AttnvizSession *s = attnviz_window_get_session (f->window);
  g_assert_nonnull (s);
  g_assert_cmpint (s->origin, ==, ATTNVIZ_SESSION_DUMP);
  assert_run_is_the_dump (f, f->dump);
  /* its tokens, with their text */
  AttnvizResult *run = attnviz_window_get_run (f->window);
  g_assert_cmpstr (attnviz_result_get_label (run, 1), ==, "a");
  g_assert_cmpstr (attnviz_result_get_label (run, 12), ==, "f");
  /* the sidebar says where it came from; what needs a model is off */
  g_assert_nonnull (strstr (gtk_label_get_text (f->window->model_details), "Opened from run"));
  g_assert_false (action_enabled (f, "run"));
  g_assert_false (action_enabled (f, "compare"));
  g_assert_true (action_enabled (f, "export"));
  g_assert_true (action_enabled (f, "save-run"));
  g_assert_true (action_enabled (f, "compare-with"));
  /* its model is on this computer and its tokens give back the text */
  g_assert_true (action_enabled (f, "session-rerun"));
  g_autofree char *text = _attnviz_window_get_text (f->window);
  g_assert_cmpstr (text, ==, TEXT);
  /* its predictions, as the model's run shows them: the dump's top-k,
   * a candidate named by the token that has its id */
  g_assert_true (attnviz_result_has_predictions (run));
  g_assert_true (gtk_widget_get_visible (f->window->predictions_box));
  const AttnvizRecording *rec = attnviz_result_get_recording (run);
  AttnvizPrediction p;
  g_assert_true (attnviz_result_get_prediction (run, 0, &p));
  g_assert_cmpint (p.k, ==, rec->top_k);
  g_assert_cmpmem (p.ids, sizeof (gint32) * p.k, rec->topk_ids, sizeof (gint32) * rec->top_k);
  for (int i = 0; i < p.k; i++)
    for (int t = 0; t < rec->T; t++)
      if (rec->ids[t] == p.ids[i])
        g_assert_cmpstr (p.labels[i], ==, attnviz_result_get_label (run, t));

  /* and exports as any run */
  g_autofree char *png = g_build_filename (f->dir, "heatmap.png", NULL);
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "view", g_variant_new_string ("heatmap"));
  int before = f->w.exported;
  attnviz_window_export (f->window, png);
  attnviz_test_wait_until (f->w.exported > before, 60);
  g_assert_no_error (f->w.export_error);
  g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));
}

static void
test_save_run_writes_a_dump_that_opens_the_same (Fixture *f, gconstpointer data)
{
  g_assert_true (open_and_wait (f, f->dump));
  const char *names[] = { "saved", "saved.safetensors", "saved.json" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (f->dir, names[i], NULL);
      int before = f->saved;
      attnviz_window_save_run (f->window, path);
      attnviz_test_wait_until (f->saved > before, 60);
      g_assert_true (f->saved_ok);
      g_autoptr(GError) error = NULL;
      g_autoptr(AttnvizSession) again = attnviz_session_load (path, NULL, NULL, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (again->model_path, ==, attnviz_window_get_session (f->window)->model_path);
      g_assert_cmpstr (again->token_texts[1], ==, "a");
      AttnvizResult *run = attnviz_window_get_run (f->window);
      int T = attnviz_result_get_n_tokens (run);
      for (int l = 0; l < attnviz_result_get_n_layers (run); l++)
        for (int h = 0; h < attnviz_result_get_n_heads (run); h++)
          {
            g_autofree float *m = attnviz_attention_dup_matrix (again->rec->attention, l, h);
            g_assert_cmpmem (m, sizeof (float) * T * T, attnviz_result_get_matrix (run, ATTNVIZ_AGGREGATE_HEAD, l, h),
                             sizeof (float) * T * T);
          }
    }
  /* the model's own run saves the same way */
  g_autofree char *model_run = g_build_filename (f->dir, "model-run.safetensors", NULL);
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "session-rerun", NULL);
  attnviz_test_wait_until (attnviz_window_get_session (f->window) == NULL && !attnviz_window_get_busy (f->window), 60);
  attnviz_test_wait_until (!attnviz_window_get_busy (f->window), 60);
  g_assert_true (f->w.ok);
  int before = f->saved;
  attnviz_window_save_run (f->window, model_run);
  attnviz_test_wait_until (f->saved > before, 60);
  g_assert_true (f->saved_ok);
}

static void
test_rerun_loads_the_model_and_runs_the_same_text (Fixture *f, gconstpointer data)
{
  g_assert_true (open_and_wait (f, f->dump));
  /* the Heads page's measures, from the dump's attention alone */
  AttnvizResult *opened = attnviz_window_get_run (f->window);
  const AttnvizHeadMeasures *m = attnviz_run_result_measures_of (opened);
  g_assert_nonnull (m);
  int n = m->n_layer * m->n_head;
  g_autofree double *entropy = g_new (double, n), *distance = g_new (double, n);
  for (int k = 0; k < n; k++)
    {
      entropy[k] = attnviz_head_measures_at (m, k / m->n_head, k % m->n_head)[ATTNVIZ_MEASURE_ENTROPY];
      distance[k] = attnviz_head_measures_at (m, k / m->n_head, k % m->n_head)[ATTNVIZ_MEASURE_DISTANCE];
      g_assert_true (isfinite (entropy[k]) && isfinite (distance[k]));
    }
  int before = f->w.finished;
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "session-rerun", NULL);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  g_assert_true (f->w.ok);
  g_assert_null (attnviz_window_get_session (f->window));
  g_assert_true (action_enabled (f, "run"));
  /* the model's run of the text is the dump's, cell for cell */
  assert_run_is_the_dump (f, f->dump);
  /* and its forward pass's measures are those the dump's attention gave
   * (the same weights, summed in blocks of another size) */
  const AttnvizHeadMeasures *mm = attnviz_run_result_measures_of (attnviz_window_get_run (f->window));
  g_assert_nonnull (mm);
  for (int k = 0; k < n; k++)
    {
      g_assert_cmpfloat_with_epsilon (attnviz_head_measures_at (mm, k / mm->n_head, k % mm->n_head)[ATTNVIZ_MEASURE_ENTROPY],
                                      entropy[k], 1e-5);
      g_assert_cmpfloat_with_epsilon (attnviz_head_measures_at (mm, k / mm->n_head, k % mm->n_head)[ATTNVIZ_MEASURE_DISTANCE],
                                      distance[k], 1e-5);
    }
}

static void
test_a_dump_of_the_same_tokens_is_compared (Fixture *f, gconstpointer data)
{
  g_autofree char *b = dump_of (f, "windowed", TEXT, "mask=window:2");
  g_autofree char *other = dump_of (f, "other", "fedcba", NULL);
  g_assert_true (open_and_wait (f, f->dump));
  int before = f->w.finished;
  attnviz_window_compare_with (f->window, b);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 60);
  g_assert_true (f->w.ok);
  AttnvizResult *diff = attnviz_window_get_comparison (f->window);
  g_assert_nonnull (diff);
  g_assert_true (ATTNVIZ_IS_DIFFERENCE (diff));
  g_assert_cmpstr (attnviz_result_get_variant (diff), ==, "A: model − B: mask=window:2");
  /* a window of 2 changes every head: each has a distance */
  const double *tvd = attnviz_difference_get_tvd (ATTNVIZ_DIFFERENCE (diff));
  int n = attnviz_result_get_n_layers (diff) * attnviz_result_get_n_heads (diff);
  for (int k = 0; k < n; k++)
    g_assert_cmpfloat (tvd[k], >, 0.0);
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (f->window->view_stack), ==, "changes");
  g_assert_true (attnviz_window_get_compare (f->window));

  /* leaving the comparison shows the run again */
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "compare", NULL);
  g_assert_false (attnviz_window_get_compare (f->window));

  /* other tokens: the banner says so, the run stays */
  before = f->w.finished;
  attnviz_window_compare_with (f->window, other);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 60);
  g_assert_false (f->w.ok);
  g_assert_nonnull (strstr (attnviz_window_get_error (f->window), "other tokens"));
  g_assert_nonnull (attnviz_window_get_run (f->window));
}

static void
test_attention_saved_elsewhere_opens_with_its_tokens (Fixture *f, gconstpointer data)
{
  g_autofree char *npy = g_build_filename (f->dir, "attn.npy", NULL);
  g_autofree char *tokens = g_build_filename (f->dir, "tokens.json", NULL);
  gint64 shape[] = { 3, 4, 4 };
  float a[48];
  for (int i = 0; i < 48; i++)
    a[i] = (float) ((i * 7) % 5 + 1);
  for (int r = 0; r < 12; r++)
    {
      float s = a[r * 4] + a[r * 4 + 1] + a[r * 4 + 2] + a[r * 4 + 3];
      for (int j = 0; j < 4; j++)
        a[r * 4 + j] /= s;
    }
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_npy_write (npy, ATTNVIZ_NPY_F32, shape, 3, a, &error));
  g_assert_true (g_file_set_contents (tokens, "[\"the\", \"cat\", \"sat\", \"down\"]", -1, NULL));
  /* A demo model first: its Samples menu goes with it. */
  int before = f->w.finished;
  attnviz_window_set_text (f->window, TEXT);
  attnviz_window_open (f->window, induction);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 60);
  g_assert_true (f->w.ok);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f->window->samples_button)));
  before = f->w.finished;
  attnviz_window_open_session (f->window, npy, tokens, NULL);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 60);
  g_assert_true (f->w.ok);
  AttnvizResult *run = attnviz_window_get_run (f->window);
  g_assert_cmpint (attnviz_result_get_n_layers (run), ==, 1);
  g_assert_cmpint (attnviz_result_get_n_heads (run), ==, 3);
  g_assert_cmpstr (attnviz_result_get_label (run, 3), ==, "down");
  g_assert_cmpmem (attnviz_result_get_matrix (run, ATTNVIZ_AGGREGATE_HEAD, 0, 2), 16 * sizeof (float), a + 32,
                   16 * sizeof (float));
  g_assert_nonnull (strstr (gtk_label_get_text (f->window->model_details), "attention made elsewhere"));
  /* One layer, not "1 layers". */
  g_assert_nonnull (strstr (gtk_label_get_text (f->window->model_details), "1 layer × 3 heads, 4 tokens"));
  g_assert_false (action_enabled (f, "session-rerun"));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (f->window->samples_button)));
  /* Its tokens are the file's, not some text the box held before. */
  g_assert_cmpstr (gtk_label_get_text (f->window->token_count), ==, "4 · from the file");
  /* and the box shows them, not the text the demo model read */
  g_autofree char *box = _attnviz_window_get_text (f->window);
  g_assert_cmpstr (box, ==, "the cat sat down");
}

static void
test_a_bad_file_is_one_line_in_the_banner (Fixture *f, gconstpointer data)
{
  g_assert_true (open_and_wait (f, f->dump));
  g_autofree char *bad = g_build_filename (f->dir, "bad.npy", NULL);
  gint64 shape[] = { 2, 2 };
  float a[] = { 0.5f, 0.5f, NAN, 1.0f };
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_npy_write (bad, ATTNVIZ_NPY_F32, shape, 2, a, &error));
  g_assert_false (open_and_wait (f, bad));
  const char *message = attnviz_window_get_error (f->window);
  g_assert_nonnull (strstr (message, "is NaN"));
  g_assert_null (strchr (message, '\n'));
  /* the run shown stays as valid as it was: not dimmed, still its own */
  g_assert_nonnull (attnviz_window_get_run (f->window));
  g_assert_false (attnviz_window_get_stale (f->window));
  assert_run_is_the_dump (f, f->dump);
  g_assert_true (action_enabled (f, "save-run"));
  /* nor does a model that fails to open */
  g_autofree char *broken = g_build_filename (f->dir, "broken-model", NULL);
  g_assert_cmpint (g_mkdir (broken, 0700), ==, 0);
  g_autofree char *config = g_build_filename (broken, "config.json", NULL);
  g_assert_true (g_file_set_contents (config, "{ not json", -1, NULL));
  g_assert_false (open_and_wait (f, broken));
  g_assert_nonnull (strstr (attnviz_window_get_error (f->window), "broken-model"));
  g_assert_false (attnviz_window_get_stale (f->window));
  assert_run_is_the_dump (f, f->dump);
}

static void
test_an_encoder_decoder_dump_opens_with_its_source (Fixture *f, gconstpointer data)
{
  g_autofree char *model = g_build_filename (g_getenv ("ATTNVIZ_DEMO_DIR"), "dates-seq2seq", NULL);
  g_autofree char *dump = g_build_filename (f->dir, "dates", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--text", "saturday 21 november 2026", "-o", dump, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (open_and_wait (f, dump));
  AttnvizResult *run = attnviz_window_get_run (f->window);
  g_assert_true (attnviz_result_is_seq2seq (run));
  g_assert_cmpstr (attnviz_run_result_get_target_text (ATTNVIZ_RUN_RESULT (run)), ==, "2026-11-21");
  g_autofree char *text = _attnviz_window_get_text (f->window);
  g_assert_cmpstr (text, ==, "saturday 21 november 2026");
  /* the sidebar counts both sides, not the target alone */
  g_assert_nonnull (strstr (gtk_label_get_text (f->window->model_details), "26 source · 11 target tokens"));
  /* Continue is for decoder-only models: an encoder-decoder's file does not show it */
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (f->window->generate_box)));
  /* the cross-attention shown is the dump's */
  attnviz_window_set_attention (f->window, ATTNVIZ_ATTENTION_CROSS);
  AttnvizResult *cross = attnviz_window_get_result (f->window);
  g_autofree char *npy = g_build_filename (dump, "cross_attentions.npy", NULL);
  gint64 shape[4];
  int n_dims;
  gsize n;
  g_autofree float *want = attnviz_test_load_npy (npy, shape, &n_dims, &n);
  g_assert_cmpint (attnviz_result_get_n_tokens (cross), ==, shape[2]);
  g_assert_cmpint (attnviz_result_get_n_cols (cross), ==, shape[3]);
  gsize cells = (gsize) shape[2] * shape[3];
  g_assert_cmpmem (attnviz_result_get_matrix (cross, ATTNVIZ_AGGREGATE_HEAD, 1, 3), cells * sizeof (float),
                   want + (1 * shape[1] + 3) * cells, cells * sizeof (float));
  g_assert_true (gtk_widget_get_visible (f->window->attention_bar));
}

/* A label under WIDGET whose text holds NEEDLE, shown, or NULL. */
static GtkWidget *
find_label_containing (GtkWidget *widget, const char *needle)
{
  if (!gtk_widget_get_visible (widget))
    return NULL;
  if (GTK_IS_LABEL (widget) && strstr (gtk_label_get_text (GTK_LABEL (widget)), needle) != NULL)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_label_containing (c, needle);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Pumps the main loop for about MS milliseconds (pages draw, workers report). */
static void
spin (int ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
}

static void
test_a_cross_attention_made_elsewhere_opens_target_by_source (Fixture *f, gconstpointer data)
{
  g_autofree char *npy = g_build_filename (f->dir, "cross.npy", NULL);
  g_autofree char *targets = g_build_filename (f->dir, "targets.txt", NULL);
  g_autofree char *sources = g_build_filename (f->dir, "sources.json", NULL);
  enum { L = 2, H = 3, T = 4, S = 6 };
  gint64 shape[] = { L, H, T, S };
  float a[L * H * T * S];
  for (int i = 0; i < L * H * T * S; i++)
    a[i] = (float) ((i * 7) % 5 + 1);
  for (int r = 0; r < L * H * T; r++)
    {
      float sum = 0;
      for (int j = 0; j < S; j++)
        sum += a[r * S + j];
      for (int j = 0; j < S; j++)
        a[r * S + j] /= sum;
    }
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_npy_write (npy, ATTNVIZ_NPY_F32, shape, 4, a, &error));
  g_assert_true (g_file_set_contents (targets, "le\nchat\ndort\n.\n", -1, NULL));
  g_assert_true (g_file_set_contents (sources, "[\"the\", \"cat\", \"is\", \"asleep\", \".\", \"</s>\"]", -1, NULL));
  /* a run shown before: the file's takes its place */
  g_assert_true (open_and_wait (f, f->dump));

  int before = f->w.finished;
  attnviz_window_open_session (f->window, npy, targets, sources);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 60);
  g_assert_true (f->w.ok);
  g_assert_null (attnviz_window_get_error (f->window));

  /* the run is the cross-attention: target rows, source columns */
  AttnvizResult *run = attnviz_window_get_run (f->window);
  g_assert_cmpint (attnviz_result_get_kind (run), ==, ATTNVIZ_ATTENTION_CROSS);
  g_assert_false (attnviz_result_is_square (run));
  g_assert_cmpint (attnviz_result_get_n_layers (run), ==, L);
  g_assert_cmpint (attnviz_result_get_n_heads (run), ==, H);
  g_assert_cmpint (attnviz_result_get_n_tokens (run), ==, T);
  g_assert_cmpint (attnviz_result_get_n_cols (run), ==, S);
  g_assert_cmpstr (attnviz_result_get_label (run, 1), ==, "chat");
  g_assert_cmpstr (attnviz_result_get_col_label (run, 3), ==, "asleep");
  for (int l = 0; l < L; l++)
    for (int h = 0; h < H; h++)
      g_assert_cmpmem (attnviz_result_get_matrix (run, ATTNVIZ_AGGREGATE_HEAD, l, h), T * S * sizeof (float),
                       a + (l * H + h) * T * S, T * S * sizeof (float));
  /* it has no other attention to choose: the choice is hidden, and asking
   * for the self-attention keeps the cross-attention */
  g_assert_true (attnviz_window_get_result (f->window) == run);
  attnviz_window_set_attention (f->window, ATTNVIZ_ATTENTION_SELF);
  g_assert_cmpint (attnviz_window_get_attention (f->window), ==, ATTNVIZ_ATTENTION_CROSS);
  attnviz_window_set_attention (f->window, ATTNVIZ_ATTENTION_ENCODER);
  g_assert_cmpint (attnviz_window_get_attention (f->window), ==, ATTNVIZ_ATTENTION_CROSS);
  g_assert_false (gtk_widget_get_visible (f->window->attention_bar));
  g_assert_nonnull (strstr (gtk_label_get_text (f->window->model_details),
                            "a cross-attention made elsewhere, 2 layers × 3 heads, 4 target × 6 source tokens"));

  /* every page draws it or says plainly why not */
  static const char *const pages[] = { "heatmap", "lines", "qk", "heads", "lens", "grid" };
  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      adw_view_stack_set_visible_child_name (f->window->view_stack, pages[i]);
      spin (100);
    }
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f->window->source_strip)));
  g_assert_nonnull (find_label_containing (GTK_WIDGET (f->window->head_table), "cross-attention alone"));
  /* the heatmap exports the T × S picture, its labels the file's tokens */
  g_autofree char *svg = g_build_filename (f->dir, "cross.svg", NULL);
  adw_view_stack_set_visible_child_name (f->window->view_stack, "heatmap");
  int exported = f->w.exported;
  attnviz_window_export (f->window, svg);
  attnviz_test_wait_until (f->w.exported > exported, 60);
  g_assert_no_error (f->w.export_error);
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (svg, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "4 target × 6 source tokens"));
}

/* The bytes of DIR/NAME. */
static GBytes *
file_bytes (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *contents = NULL;
  gsize n;
  g_assert_true (g_file_get_contents (path, &contents, &n, NULL));
  return g_bytes_new_take (g_steal_pointer (&contents), n);
}

/* A copy of the npy dump FROM at TO, whose cross-attention has heads 0
 * and 1 of layer 0 swapped. */
static void
copy_dump_swapping_cross_heads (const char *from, const char *to)
{
  g_assert_cmpint (g_mkdir (to, 0700), ==, 0);
  g_autoptr(GDir) dir = g_dir_open (from, 0, NULL);
  for (const char *name; (name = g_dir_read_name (dir)) != NULL;)
    {
      g_autoptr(GBytes) bytes = file_bytes (from, name);
      g_autofree char *path = g_build_filename (to, name, NULL);
      g_assert_true (g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL));
    }
  g_autofree char *npy = g_build_filename (to, "cross_attentions.npy", NULL);
  gint64 shape[4];
  int n_dims;
  gsize n;
  g_autofree float *cross = attnviz_test_load_npy (npy, shape, &n_dims, &n);
  gsize cells = (gsize) shape[2] * shape[3];
  g_autofree float *head0 = g_memdup2 (cross, cells * sizeof (float));
  memcpy (cross, cross + cells, cells * sizeof (float));
  memcpy (cross + cells, head0, cells * sizeof (float));
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_npy_write (npy, ATTNVIZ_NPY_F32, shape, 4, cross, &error));
}

static void
test_an_encoder_decoder_run_saves_and_compares_as_its_dump (Fixture *f, gconstpointer data)
{
  g_autofree char *model = g_build_filename (g_getenv ("ATTNVIZ_DEMO_DIR"), "dates-seq2seq", NULL);
  g_autofree char *cli = g_build_filename (f->dir, "cli-dates", NULL);
  g_autofree char *saved = g_build_filename (f->dir, "app-dates", NULL);
  g_autofree char *swapped = g_build_filename (f->dir, "swapped-dates", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--text", "saturday 21 november 2026", "-o", cli, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  attnviz_window_set_text (f->window, "saturday 21 november 2026");
  g_assert_true (open_and_wait (f, model));
  g_assert_true (attnviz_result_is_seq2seq (attnviz_window_get_run (f->window)));

  /* Save Run writes what dump writes: every attention, both sides' ids */
  g_assert_true (action_enabled (f, "save-run"));
  int before = f->saved;
  attnviz_window_save_run (f->window, saved);
  attnviz_test_wait_until (f->saved > before, 60);
  g_assert_true (f->saved_ok);
  static const char *const arrays[] = { "attentions.npy", "cross_attentions.npy", "encoder_attentions.npy",
                                        "input_ids.npy", "source_ids.npy", "source_spans.npy", "token_spans.npy" };
  for (guint i = 0; i < G_N_ELEMENTS (arrays); i++)
    {
      g_autoptr(GBytes) want = file_bytes (cli, arrays[i]);
      g_autoptr(GBytes) got = file_bytes (saved, arrays[i]);
      g_assert_true (g_bytes_equal (want, got));
    }
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSession) again = attnviz_session_load (saved, NULL, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (again->rec->S, ==, 26);
  g_assert_cmpstr (again->source_texts[0], ==, "s");

  /* compared with a dump of the same source and target: A − B of each
   * attention, with its own distances */
  copy_dump_swapping_cross_heads (cli, swapped);
  g_assert_true (action_enabled (f, "compare-with"));
  before = f->w.finished;
  attnviz_window_compare_with (f->window, swapped);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 60);
  g_assert_true (f->w.ok);
  AttnvizResult *diff = attnviz_window_get_comparison (f->window);
  g_assert_true (ATTNVIZ_IS_DIFFERENCE (diff));
  g_assert_true (gtk_widget_get_visible (f->window->attention_bar));
  /* the model has an LM head: the loss line does not say otherwise */
  g_assert_null (strstr (gtk_label_get_text (f->window->loss_means), "no LM head"));
  /* the decoder's and the encoder's self-attention are the same: no distance */
  const double *tvd = attnviz_difference_get_tvd (ATTNVIZ_DIFFERENCE (diff));
  for (int k = 0; k < attnviz_result_get_n_layers (diff) * attnviz_result_get_n_heads (diff); k++)
    g_assert_cmpfloat (tvd[k], ==, 0.0);
  g_autoptr(AttnvizResult) enc = attnviz_result_get_attention (diff, ATTNVIZ_ATTENTION_ENCODER);
  const double *enc_tvd = attnviz_difference_get_tvd (ATTNVIZ_DIFFERENCE (enc));
  for (int k = 0; k < attnviz_result_get_n_layers (enc) * attnviz_result_get_n_heads (enc); k++)
    g_assert_cmpfloat (enc_tvd[k], ==, 0.0);
  /* the cross-attention chosen: heads 0 and 1 of layer 0 differ by A's two heads */
  attnviz_window_set_attention (f->window, ATTNVIZ_ATTENTION_CROSS);
  AttnvizResult *shown = attnviz_view_state_get_result (f->window->comparison_state);
  g_assert_true (ATTNVIZ_IS_DIFFERENCE (shown));
  g_assert_cmpint (attnviz_result_get_kind (shown), ==, ATTNVIZ_ATTENTION_CROSS);
  g_assert_cmpint (attnviz_result_get_n_tokens (shown), ==, 11);
  g_assert_cmpint (attnviz_result_get_n_cols (shown), ==, 26);
  g_assert_cmpstr (attnviz_result_get_col_label (shown, 0), ==, "s");
  g_autoptr(AttnvizResult) cross = attnviz_result_get_attention (attnviz_window_get_run (f->window),
                                                                 ATTNVIZ_ATTENTION_CROSS);
  const float *a0 = attnviz_result_get_matrix (cross, ATTNVIZ_AGGREGATE_HEAD, 0, 0);
  const float *a1 = attnviz_result_get_matrix (cross, ATTNVIZ_AGGREGATE_HEAD, 0, 1);
  const float *d0 = attnviz_result_get_matrix (shown, ATTNVIZ_AGGREGATE_HEAD, 0, 0);
  for (int i = 0; i < 11 * 26; i++)
    g_assert_cmpfloat (d0[i], ==, a0[i] - a1[i]);
  const double *cross_tvd = attnviz_difference_get_tvd (ATTNVIZ_DIFFERENCE (shown));
  g_assert_cmpfloat (cross_tvd[0], >, 0.0);
  g_assert_cmpfloat (cross_tvd[1], ==, cross_tvd[0]);
  for (int k = 2; k < attnviz_result_get_n_layers (shown) * attnviz_result_get_n_heads (shown); k++)
    g_assert_cmpfloat (cross_tvd[k], ==, 0.0);
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (f->window->view_stack), ==, "changes");
  spin (200);
  /* and the comparison can be left */
  g_assert_true (action_enabled (f, "compare"));
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "compare", NULL);
  g_assert_false (attnviz_window_get_compare (f->window));
}

static void
test_a_cancelled_open_shows_nothing (Fixture *f, gconstpointer data)
{
  int before = f->w.finished;
  attnviz_window_open_session (f->window, f->dump, NULL, NULL);
  g_assert_true (attnviz_window_get_busy (f->window));
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "cancel", NULL);
  g_assert_false (attnviz_window_get_busy (f->window));
  /* the worker finishes on its own; what it read is dropped */
  gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_assert_cmpint (f->w.finished, ==, before);
  g_assert_null (attnviz_window_get_run (f->window));
  g_assert_null (attnviz_window_get_session (f->window));
}

int
main (int argc, char **argv)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-app-session-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_autofree char *models = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models", NULL);
  g_autofree char *models_abs = g_canonicalize_filename (models, NULL);
  g_setenv ("ATTNVIZ_DEMO_DIR", models_abs, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  induction = g_build_filename (models_abs, "induction-decoder", NULL);

#define ADD(path, func) g_test_add ("/ui/session/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("a-dump-opens-without-its-model-as-its-run", test_a_dump_opens_without_its_model_as_its_run);
  ADD ("save-run-writes-a-dump-that-opens-the-same", test_save_run_writes_a_dump_that_opens_the_same);
  ADD ("rerun-loads-the-model-and-runs-the-same-text", test_rerun_loads_the_model_and_runs_the_same_text);
  ADD ("a-dump-of-the-same-tokens-is-compared", test_a_dump_of_the_same_tokens_is_compared);
  ADD ("attention-saved-elsewhere-opens-with-its-tokens", test_attention_saved_elsewhere_opens_with_its_tokens);
  ADD ("a-bad-file-is-one-line-in-the-banner", test_a_bad_file_is_one_line_in_the_banner);
  ADD ("a-cancelled-open-shows-nothing", test_a_cancelled_open_shows_nothing);
  ADD ("an-encoder-decoder-dump-opens-with-its-source", test_an_encoder_decoder_dump_opens_with_its_source);
  ADD ("a-cross-attention-made-elsewhere-opens-target-by-source",
       test_a_cross_attention_made_elsewhere_opens_target_by_source);
  ADD ("an-encoder-decoder-run-saves-and-compares-as-its-dump",
       test_an_encoder_decoder_run_saves_and_compares_as_its_dump);
  int status = g_test_run ();
  g_free (induction);
  return status;
}
