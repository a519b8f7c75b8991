/* test-app-gguf.c: the app opens GGUF files as it opens Hugging Face folders
 *
 * Starts AttnvizApplication in this process as `attnviz FILE.gguf --text
 * TEXT` would, on llama.cpp's own Q4_K_M quantization of the tiny LLaMA in
 * ../shared, and checks that the window names the storage ("GGUF · Q4_K_M
 * · 1.4 M"), that every head it shows is the engine's own run of the same
 * file on the same tokens, and that the file joins the recent models.  Then
 * the Q8_0 file is dropped on the window (its drop target, as a file
 * manager would) and runs the same text.
 */
#define G_LOG_DOMAIN "test-app-gguf"
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-application.h"
#include "attnviz-forward.h"
#include "attnviz-model.h"
#include "attnviz-recent.h"
#include "attnviz-window.h"

#define TEXT "Once upon a time there was a tiny model in a quantized file."

typedef struct {
  GApplication *app;
  AttnvizWindow *window;
  const char *q4;
  const char *q8;
  int stage;          /* 0: the first run; 1: the dropped file's run; 2: done */
  char *failure;
  char *details[2];   /* the model details label after each run */
  AttnvizResult *results[2];
} AppGguf;

static void
fail (AppGguf *t, const char *message)
{
  if (t->failure == NULL)
    t->failure = g_strdup (message);
  g_application_quit (t->app);
}

/* The first label under WIDGET whose text starts with PREFIX. */
static const char *
find_label (GtkWidget *widget, const char *prefix)
{
  /* The sidebar's details, not a status page's (the ready page, kept
   * mapped while the stack cross-fades, describes the model too). */
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

/* Drops PATH on the window as a file manager would: through the window's
 * own GtkDropTarget for file lists. */
static gboolean
drop_file (AttnvizWindow *window, const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  GSList *files = g_slist_prepend (NULL, file);
  GdkFileList *list = gdk_file_list_new_from_list (files);
  g_slist_free (files);
  GValue value = G_VALUE_INIT;
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, list);

  gboolean dropped = FALSE;
  GtkWidget *stack[64];
  int n = 0;
  stack[n++] = GTK_WIDGET (window);
  while (n > 0 && !dropped)
    {
      GtkWidget *w = stack[--n];
      g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (w);
      for (guint i = 0; i < g_list_model_get_n_items (controllers) && !dropped; i++)
        {
          g_autoptr(GObject) c = g_list_model_get_item (controllers, i);
          if (GTK_IS_DROP_TARGET (c) && gtk_drop_target_get_gtypes (GTK_DROP_TARGET (c), NULL) != NULL)
            {
              gsize n_types = 0;
              const GType *types = gtk_drop_target_get_gtypes (GTK_DROP_TARGET (c), &n_types);
              for (gsize k = 0; k < n_types; k++)
                if (types[k] == GDK_TYPE_FILE_LIST)
                  {
                    g_signal_emit_by_name (c, "drop", &value, 10.0, 10.0, &dropped);
                    break;
                  }
            }
        }
      for (GtkWidget *c = gtk_widget_get_first_child (w); c != NULL && n < (int) G_N_ELEMENTS (stack);
           c = gtk_widget_get_next_sibling (c))
        stack[n++] = c;
    }
  g_value_unset (&value);
  return dropped;
}

static void
on_run_finished (AttnvizWindow *window, gboolean ok, AppGguf *t)
{
  if (!ok)
    {
      g_autofree char *m = g_strdup_printf ("run %d failed: %s", t->stage, attnviz_window_get_error (window));
      fail (t, m);
      return;
    }
  AttnvizResult *result = attnviz_window_get_result (window);
  t->results[t->stage] = result ? g_object_ref (result) : NULL;
  const char *details = find_label (GTK_WIDGET (window), "GGUF · ");
  t->details[t->stage] = g_strdup (details);
  if (t->stage == 0)
    {
      t->stage = 1;
      if (!drop_file (window, t->q8))
        {
          fail (t, "the window has no drop target for files");
          return;
        }
      attnviz_window_set_text (window, TEXT);
      attnviz_window_run (window);
      return;
    }
  t->stage = 2;
  gtk_window_destroy (GTK_WINDOW (window));
  g_application_quit (t->app);
}

static void
on_window_added (GtkApplication *app, GtkWindow *window, AppGguf *t)
{
  if (!ATTNVIZ_IS_WINDOW (window))
    return;
  t->window = ATTNVIZ_WINDOW (window);
  g_signal_connect (window, "run-finished", G_CALLBACK (on_run_finished), t);
}

static gboolean
on_timeout (gpointer data)
{
  fail (data, "timed out");
  return G_SOURCE_REMOVE;
}

/* Every head of RESULT equals the engine's own run of PATH on its tokens. */
static void
assert_heads_are_the_engines (AttnvizResult *result, const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (path, &error);
  g_assert_no_error (error);
  const AttnvizRecording *shown = attnviz_result_get_recording (result);
  AttnvizRunOptions options = { .skip_logits = TRUE, .storage = ATTNVIZ_STORAGE_DENSE };
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, shown->ids, shown->T, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpint (attnviz_result_get_n_layers (result), ==, model->config.n_layer);
  g_assert_cmpint (attnviz_result_get_n_heads (result), ==, model->config.n_head);
  int T = shown->T;
  for (int l = 0; l < model->config.n_layer; l++)
    for (int h = 0; h < model->config.n_head; h++)
      {
        g_autofree float *mine = attnviz_attention_dup_matrix (rec->attention, l, h);
        g_autofree float *theirs = attnviz_attention_dup_matrix (attnviz_result_get_source (result), l, h);
        g_assert_nonnull (theirs);
        for (gsize k = 0; k < (gsize) T * T; k++)
          g_assert_cmpfloat (mine[k], ==, theirs[k]);
      }
}

static void
test_the_app_opens_and_runs_gguf_files (gconstpointer data)
{
  const char *dir = data;
  g_autofree char *q4 = g_build_filename (dir, "tiny-q4_k_m.gguf", NULL);
  g_autofree char *q8 = g_build_filename (dir, "tiny-q8_0.gguf", NULL);
  AppGguf t = { .q4 = q4, .q8 = q8 };
  char *argv[] = { "attnviz", q4, "--text=" TEXT, NULL };

  t.app = G_APPLICATION (attnviz_application_new (G_APPLICATION_NON_UNIQUE));
  g_signal_connect (t.app, "window-added", G_CALLBACK (on_window_added), &t);
  guint timeout = g_timeout_add_seconds (120, on_timeout, &t);
  g_application_run (t.app, 3, argv);
  g_source_remove (timeout);
  if (t.failure)
    g_error ("%s", t.failure);
  g_assert_cmpint (t.stage, ==, 2);

  /* The window says what the file holds, as `attnviz info` does. */
  g_test_message ("details: %s | %s", t.details[0], t.details[1]);
  g_assert_nonnull (t.details[0]);
  g_assert_true (g_str_has_prefix (t.details[0], "GGUF · Q4_K_M · 1.4 M · llama"));
  g_assert_nonnull (t.details[1]);
  g_assert_true (g_str_has_prefix (t.details[1], "GGUF · Q8_0 · 1.4 M · llama"));

  /* What it shows is the engine's run of each file. */
  g_assert_nonnull (t.results[0]);
  g_assert_nonnull (t.results[1]);
  assert_heads_are_the_engines (t.results[0], q4);
  assert_heads_are_the_engines (t.results[1], q8);
  g_assert_cmpint (attnviz_result_get_n_tokens (t.results[0]), >, 8);

  /* Both files are remembered, the dropped one first. */
  g_auto(GStrv) recent = attnviz_recent_list ();
  g_assert_cmpint (g_strv_length (recent), >=, 2);
  g_assert_cmpstr (recent[0], ==, q8);
  g_assert_cmpstr (recent[1], ==, q4);

  for (int i = 0; i < 2; i++)
    {
      g_clear_object (&t.results[i]);
      g_free (t.details[i]);
    }
  g_assert_finalize_object (t.app);
}

int
main (int argc, char **argv)
{
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-gguf-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_test_init (&argc, &argv, NULL);

  const char *shared = g_getenv ("ATTNVIZ_SHARED_DIR");
  g_autofree char *rel = g_build_filename (shared ? shared : "../shared", "data", "models", "tiny-llama-gguf",
                                           "gguf", NULL);
  g_autofree char *dir = g_canonicalize_filename (rel, NULL);
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      printf ("1..0 # SKIP %s is absent (set ATTNVIZ_SHARED_DIR)\n", dir);
      return 0;
    }
  gtk_init ();
  adw_init ();

  g_test_add_data_func ("/ui/app/opens-runs-and-remembers-gguf-files-and-takes-them-dropped", dir,
                        test_the_app_opens_and_runs_gguf_files);
  int status = g_test_run ();
  g_autofree char *recent = g_build_filename (data_home, "attnviz", "recent", NULL);
  g_autofree char *attnviz_dir = g_build_filename (data_home, "attnviz", NULL);
  g_unlink (recent);
  g_rmdir (attnviz_dir);
  g_rmdir (data_home);
  return status;
}
