/* test-app-encoders.c: the app opens RoBERTa and DistilBERT folders
 *
 * Starts AttnvizApplication in this process as `attnviz FOLDER --text
 * TEXT` would, on the roberta-tiny and distilbert-tiny fixtures, and
 * checks that the window names the family, that the tokens it ran are the
 * folder tokenizer's (<s> ... </s>, [CLS] ... [SEP]), and that every head
 * it shows is the engine's own run of the folder.
 */
#define G_LOG_DOMAIN "test-app-encoders"
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-application.h"
#include "attnviz-forward.h"
#include "attnviz-model.h"
#include "attnviz-window.h"

typedef struct {
  const char *fixture;
  const char *text;
  const char *details;   /* how the sidebar starts to describe the model */
  int n;
  gint32 ids[10];        /* the reference's tokenization of TEXT */
} Case;

static const Case cases[] = {
  { "roberta-tiny", "The cat sat on the mat.", "safetensors · F32 · 27 K · roberta",
    9, { 0, 276, 267, 270, 272, 262, 275, 50, 2 } },
  { "distilbert-tiny", "The cats sat on the mat.", "safetensors · F32 · 19 K · distilbert",
    10, { 3, 36, 37, 44, 38, 39, 36, 40, 6, 4 } },
};

typedef struct {
  GApplication *app;
  gboolean finished;
  char *failure;
  char *details;
  AttnvizResult *result;
} AppRun;

static const char *
find_label (GtkWidget *widget, const char *prefix)
{
  if (ADW_IS_STATUS_PAGE (widget))
    return NULL;
  if (GTK_IS_LABEL (widget) && g_str_has_prefix (gtk_label_get_text (GTK_LABEL (widget)), prefix))
    return gtk_label_get_text (GTK_LABEL (widget));
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      const char *found = find_label (c, prefix);
      if (found)
        return found;
    }
  return NULL;
}

static void
on_run_finished (AttnvizWindow *window, gboolean ok, AppRun *t)
{
  if (!ok && t->failure == NULL)
    t->failure = g_strdup_printf ("the run failed: %s", attnviz_window_get_error (window));
  AttnvizResult *result = attnviz_window_get_result (window);
  t->result = result ? g_object_ref (result) : NULL;
  t->details = g_strdup (find_label (GTK_WIDGET (window), "safetensors · "));
  t->finished = TRUE;
  gtk_window_destroy (GTK_WINDOW (window));
  g_application_quit (t->app);
}

static void
on_window_added (GtkApplication *app, GtkWindow *window, AppRun *t)
{
  if (ATTNVIZ_IS_WINDOW (window))
    g_signal_connect (window, "run-finished", G_CALLBACK (on_run_finished), t);
}

static gboolean
on_timeout (gpointer data)
{
  AppRun *t = data;
  t->failure = g_strdup ("timed out");
  g_application_quit (t->app);
  return G_SOURCE_REMOVE;
}

static void
test_the_app_runs_the_folder (gconstpointer data)
{
  const Case *k = data;
  const char *fixtures = g_getenv ("ATTNVIZ_FIXTURES_DIR");
  g_autofree char *rel = g_build_filename (fixtures ? fixtures : "tests/fixtures", k->fixture, NULL);
  g_autofree char *dir = g_canonicalize_filename (rel, NULL);
  g_autofree char *text_arg = g_strconcat ("--text=", k->text, NULL);
  char *argv[] = { "attnviz", dir, text_arg, NULL };
  AppRun t = { 0 };

  t.app = G_APPLICATION (attnviz_application_new (G_APPLICATION_NON_UNIQUE));
  g_signal_connect (t.app, "window-added", G_CALLBACK (on_window_added), &t);
  guint timeout = g_timeout_add_seconds (120, on_timeout, &t);
  g_application_run (t.app, 3, argv);
  g_source_remove (timeout);
  if (t.failure)
    g_error ("%s", t.failure);
  g_assert_true (t.finished);

  g_test_message ("details: %s", t.details);
  g_assert_nonnull (t.details);
  g_assert_true (g_str_has_prefix (t.details, k->details));

  /* the folder tokenizer's tokens, its specials around them */
  g_assert_nonnull (t.result);
  const AttnvizRecording *shown = attnviz_result_get_recording (t.result);
  g_assert_cmpint (shown->T, ==, k->n);
  for (int i = 0; i < shown->T; i++)
    g_assert_cmpint (shown->ids[i], ==, k->ids[i]);

  /* every head is the engine's run of the folder on those tokens */
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  AttnvizRunOptions options = { .skip_logits = TRUE, .storage = ATTNVIZ_STORAGE_DENSE };
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, shown->ids, shown->T, &options, &error);
  g_assert_no_error (error);
  int T = shown->T;
  g_assert_cmpint (attnviz_result_get_n_layers (t.result), ==, model->config.n_layer);
  g_assert_cmpint (attnviz_result_get_n_heads (t.result), ==, model->config.n_head);
  for (int l = 0; l < model->config.n_layer; l++)
    for (int h = 0; h < model->config.n_head; h++)
      {
        g_autofree float *mine = attnviz_attention_dup_matrix (rec->attention, l, h);
        g_autofree float *theirs = attnviz_attention_dup_matrix (attnviz_result_get_source (t.result), l, h);
        g_assert_nonnull (theirs);
        for (gsize i = 0; i < (gsize) T * T; i++)
          g_assert_cmpfloat (mine[i], ==, theirs[i]);
      }

  g_clear_object (&t.result);
  g_free (t.details);
  g_assert_finalize_object (t.app);
}

int
main (int argc, char **argv)
{
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-encoders-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  gtk_init ();
  adw_init ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/ui/app/encoders/%s-runs-its-tokens-and-heads", cases[i].fixture);
      g_test_add_data_func (path, &cases[i], test_the_app_runs_the_folder);
    }
  int status = g_test_run ();
  g_autofree char *recent = g_build_filename (data_home, "attnviz", "recent", NULL);
  g_autofree char *attnviz_dir = g_build_filename (data_home, "attnviz", NULL);
  g_unlink (recent);
  g_rmdir (attnviz_dir);
  g_rmdir (data_home);
  return status;
}
