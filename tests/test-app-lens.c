/* test-app-lens.c: the Lens page, driven through the real window
 *
 * Issue 13 in the app: the logit lens of a run as a layer × position
 * table, computed in a job with progress and Cancel when asked, the very
 * numbers `attnviz dump --logit-lens` writes; a new run clears it; an
 * encoder-decoder's run has none.  On stories260K (5 layers).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-forward.h"
#include "attnviz-lens-job.h"
#include "attnviz-lens-table.h"
#include "attnviz-test-util.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-test-window-util.h"
#include "attnviz-window-private.h"

#define STORIES_TEXT "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."

static char *stories;
static char *dates;

typedef struct {
  AttnvizWindow *window;
  AttnvizLensTable *table;
  AttnvizTestWatch w;
  int computing_changes;
} Fixture;

static void
on_computing (GObject *table, GParamSpec *pspec, Fixture *f)
{
  f->computing_changes++;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  memset (f, 0, sizeof *f);
  f->window = g_object_ref (attnviz_window_new (NULL));
  f->table = ATTNVIZ_LENS_TABLE (attnviz_window_get_view (f->window, "lens"));
  g_signal_connect (f->window, "run-finished", G_CALLBACK (attnviz_test_on_run_finished), &f->w);
  g_signal_connect (f->table, "notify::computing", G_CALLBACK (on_computing), f);
  gtk_window_present (GTK_WINDOW (f->window));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_assert_finalize_object (f->window);
}

static gboolean
open_with (Fixture *f, const char *path, const char *text)
{
  int before = f->w.finished;
  attnviz_window_set_text (f->window, text);
  attnviz_window_open (f->window, path);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  g_assert_cmpint (f->w.finished, >, before);
  return f->w.ok;
}

static void
show_lens (Fixture *f)
{
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "view", g_variant_new_string ("lens"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (f->window->view_stack), ==, "lens");
}

static void
compute (Fixture *f)
{
  gtk_widget_activate_action (GTK_WIDGET (f->table), "lens.compute", NULL);
  g_assert_true (attnviz_lens_table_get_computing (f->table));
  attnviz_test_wait_until (!attnviz_lens_table_get_computing (f->table), 120);
}

/* The table holds, for every layer and position, the top 5 the engine's
 * lens gives for the run's tokens; a cell's tooltip lists them; after the
 * last layer "upon" is followed by " a", as the model knows. */
static void
test_computing_fills_the_table_with_the_engines_lens (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, STORIES_TEXT));
  show_lens (f);
  g_assert_null (attnviz_lens_table_get_lens (f->table));
  compute (f);
  g_assert_cmpint (f->computing_changes, ==, 2);
  const AttnvizLens *lens = attnviz_lens_table_get_lens (f->table);
  g_assert_nonnull (lens);

  AttnvizResult *run = attnviz_window_get_run (f->window);
  int T = attnviz_result_get_n_tokens (run);
  g_assert_cmpint (lens->T, ==, T);
  g_assert_cmpint (lens->n_layer, ==, 5);
  g_assert_cmpint (lens->K, ==, ATTNVIZ_LENS_JOB_TOP_K);
  g_autofree gint32 *ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    ids[t] = attnviz_result_get_token_id (run, t);
  const AttnvizModel *model = attnviz_loaded_model_get_model (f->window->model);
  AttnvizRunOptions opt = { .record_none = TRUE, .logit_lens = TRUE, .top_k = ATTNVIZ_LENS_JOB_TOP_K };
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &opt, &error);
  g_assert_no_error (error);
  gsize n = (gsize) rec->lens_layers * T * rec->top_k;
  g_assert_cmpmem (lens->ids, n * sizeof (gint32), rec->lens_topk_ids, n * sizeof (gint32));
  g_assert_cmpmem (lens->probs, n * sizeof (float), rec->lens_topk_probs, n * sizeof (float));

  /* "<s> Once upon": position 2 is " upon" */
  const char *const *labels = attnviz_result_get_labels (run);
  g_assert_cmpstr (labels[2], ==, " upon");
  gsize last = ((gsize) 4 * T + 2) * lens->K;
  g_assert_cmpstr (lens->texts[last], ==, " a");
  g_assert_cmpfloat (lens->probs[last], >, 0.9);
  g_autofree char *tip = attnviz_lens_table_describe_cell (f->table, 4, 2);
  g_assert_nonnull (strstr (tip, "After layer 4, at “ upon” (token 2):"));
  g_assert_nonnull (strstr (tip, "\n1. “ a”  0."));
  g_assert_null (attnviz_lens_table_describe_cell (f->table, 5, 2));
  g_assert_null (attnviz_lens_table_describe_cell (f->table, 0, T));
}

/* Cancel stops the job and leaves the table empty; asked again, it
 * finishes.  A new run empties it again. */
static void
test_cancel_stops_the_job_and_a_new_run_clears_the_table (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, STORIES_TEXT));
  show_lens (f);
  gtk_widget_activate_action (GTK_WIDGET (f->table), "lens.compute", NULL);
  g_assert_true (attnviz_lens_table_get_computing (f->table));
  gtk_widget_activate_action (GTK_WIDGET (f->table), "lens.cancel", NULL);
  g_assert_false (attnviz_lens_table_get_computing (f->table));
  /* the cancelled job's answer, whenever it comes, is not shown */
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  attnviz_test_wait_until (FALSE, 1);
  g_assert_null (attnviz_lens_table_get_lens (f->table));
  g_assert_false (attnviz_lens_table_get_computing (f->table));

  compute (f);
  g_assert_nonnull (attnviz_lens_table_get_lens (f->table));
  g_assert_true (open_with (f, stories, "One day, a cat"));
  g_assert_null (attnviz_lens_table_get_lens (f->table));
}

/* An encoder-decoder's run: nothing to compute. */
static void
test_an_encoder_decoder_run_has_no_lens (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, dates, "saturday 21 november 2026"));
  show_lens (f);
  gtk_widget_activate_action (GTK_WIDGET (f->table), "lens.compute", NULL);
  g_assert_false (attnviz_lens_table_get_computing (f->table));
  g_assert_null (attnviz_lens_table_get_lens (f->table));
}

int
main (int argc, char **argv)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-lens-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  const char *shared = g_getenv ("ATTNVIZ_SHARED_DIR");
  stories = g_build_filename (shared ? shared : "../shared", "data", "models", "stories260K", "hf", NULL);
  dates = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models", "dates-seq2seq", NULL);
  if (!g_file_test (stories, G_FILE_TEST_IS_DIR))
    {
      printf ("1..0 # SKIP no stories260K at %s\n", stories);
      return 0;
    }

#define ADD(path, func) g_test_add ("/ui/lens/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("computing-fills-the-table-with-the-engines-lens", test_computing_fills_the_table_with_the_engines_lens);
  ADD ("cancel-stops-the-job-and-a-new-run-clears-the-table",
       test_cancel_stops_the_job_and_a_new_run_clears_the_table);
  ADD ("an-encoder-decoder-run-has-no-lens", test_an_encoder_decoder_run_has_no_lens);

  int status = g_test_run ();
  g_autofree char *recent = g_build_filename (data_home, "attnviz", "recent", NULL);
  g_autofree char *recent_dir = g_path_get_dirname (recent);
  g_unlink (recent);
  g_rmdir (recent_dir);
  g_rmdir (data_home);
  return status;
}
