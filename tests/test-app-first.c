/* test-app-first.c: the first minute of a new user
 *
 * Issue 11: the welcome page offers the built-in demos and one click runs
 * one on its own sample; opening a demo model replaces a text that belongs
 * to another model (the dates demo once ran the TinyStories sentence and
 * wrote "1909-0-0-0"); a text too long for a learned position table offers
 * "Truncate to N Tokens and Run" (in test-app-long.c, which builds such a
 * model).  Driven through the real window.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-demos.h"
#include "attnviz-test-util.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-test-window-util.h"
#include "attnviz-window.h"

static char *dates;
static char *induction;

typedef struct {
  AttnvizWindow *window;
  AttnvizTestWatch w;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  memset (f, 0, sizeof *f);
  f->window = g_object_ref (attnviz_window_new (NULL));
  g_signal_connect (f->window, "run-finished", G_CALLBACK (attnviz_test_on_run_finished), &f->w);
  gtk_window_present (GTK_WINDOW (f->window));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_assert_finalize_object (f->window);
}

static void
wait_for_run (Fixture *f, int before)
{
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  g_assert_cmpint (f->w.finished, >, before);
}

static char *
window_text (Fixture *f)
{
  GtkWidget *view = NULL;
  GtkWidget *w = GTK_WIDGET (f->window);
  /* The only text view of the window is the input box. */
  GPtrArray *stack = g_ptr_array_new ();
  g_ptr_array_add (stack, w);
  while (stack->len > 0 && view == NULL)
    {
      GtkWidget *top = g_ptr_array_steal_index (stack, stack->len - 1);
      if (GTK_IS_TEXT_VIEW (top))
        view = top;
      for (GtkWidget *c = gtk_widget_get_first_child (top); c; c = gtk_widget_get_next_sibling (c))
        g_ptr_array_add (stack, c);
    }
  g_ptr_array_unref (stack);
  g_assert_nonnull (view);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

/* The button under ROOT with action ACTION (and LABEL, unless NULL). */
static GtkWidget *
find_button (GtkWidget *root, const char *action, const char *label)
{
  if (GTK_IS_BUTTON (root) && g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (root)), action) == 0
      && (label == NULL || g_strcmp0 (gtk_button_get_label (GTK_BUTTON (root)), label) == 0))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_button (c, action, label);
      if (found)
        return found;
    }
  return NULL;
}

static void
test_the_welcome_page_runs_a_demo (Fixture *f, gconstpointer data)
{
  GtkWidget *dates_button = find_button (GTK_WIDGET (f->window), "win.try-demo", "Try the Dates model");
  GtkWidget *induction_button = find_button (GTK_WIDGET (f->window), "win.try-demo", "Try the Induction heads model");
  g_assert_nonnull (dates_button);
  g_assert_nonnull (induction_button);
  g_assert_true (gtk_widget_get_mapped (dates_button));
  /* Its other samples, as chips. */
  g_assert_nonnull (find_button (GTK_WIDGET (f->window), "win.try-demo-sample", NULL));

  int before = f->w.finished;
  gtk_widget_activate (dates_button);
  wait_for_run (f, before);
  g_assert_true (f->w.ok);
  g_autofree char *text = window_text (f);
  g_assert_cmpstr (text, ==, "saturday 21 november 2026");
  g_assert_cmpstr (attnviz_window_get_output (f->window), ==, "2026-11-21");

  /* The Samples menu offers the others: one runs at once. */
  before = f->w.finished;
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "use-sample", g_variant_new_string ("21 nov 2026"));
  wait_for_run (f, before);
  g_assert_true (f->w.ok);
  g_assert_cmpstr (attnviz_window_get_output (f->window), ==, "2026-11-21");

  /* A chip of the other demo opens it on that sample. */
  before = f->w.finished;
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "try-demo-sample",
                                  g_variant_new ("(ss)", induction, "k3x9fq2mwk3x9fq2mw"));
  wait_for_run (f, before);
  g_assert_true (f->w.ok);
  g_autofree char *text2 = window_text (f);
  g_assert_cmpstr (text2, ==, "k3x9fq2mwk3x9fq2mw");
  g_assert_null (attnviz_window_get_output (f->window));
}

static void
test_opening_a_demo_replaces_another_models_text (Fixture *f, gconstpointer data)
{
  /* The text run on the induction model is that model's... */
  int before = f->w.finished;
  attnviz_window_set_text (f->window, "Once upon a time, there was a little girl named Lily.");
  attnviz_window_open (f->window, induction);
  wait_for_run (f, before);
  g_assert_true (f->w.ok);

  /* ...so the dates demo, opened from Open or the recent menu, runs its own. */
  before = f->w.finished;
  attnviz_window_open (f->window, dates);
  wait_for_run (f, before);
  g_assert_true (f->w.ok);
  g_autofree char *text = window_text (f);
  g_assert_cmpstr (text, ==, "saturday 21 november 2026");
  g_assert_cmpstr (attnviz_window_get_output (f->window), ==, "2026-11-21");
}

static void
test_a_text_the_user_wrote_stays (Fixture *f, gconstpointer data)
{
  int before = f->w.finished;
  attnviz_window_set_text (f->window, "1 jan 2020");
  attnviz_window_open (f->window, dates);
  wait_for_run (f, before);
  g_assert_true (f->w.ok);
  g_autofree char *text = window_text (f);
  g_assert_cmpstr (text, ==, "1 jan 2020");
  g_assert_cmpstr (attnviz_window_get_output (f->window), ==, "2020-01-01");
}

int
main (int argc, char **argv)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-first-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_autofree char *models = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models", NULL);
  g_autofree char *models_abs = g_canonicalize_filename (models, NULL);
  g_setenv ("ATTNVIZ_DEMO_DIR", models_abs, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  dates = g_build_filename (models_abs, "dates-seq2seq", NULL);
  induction = g_build_filename (models_abs, "induction-decoder", NULL);

#define ADD(path, func) g_test_add ("/ui/first/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("the-welcome-page-runs-a-demo-on-its-sample", test_the_welcome_page_runs_a_demo);
  ADD ("opening-a-demo-replaces-another-models-text", test_opening_a_demo_replaces_another_models_text);
  ADD ("a-text-the-user-wrote-stays", test_a_text_the_user_wrote_stays);

  int status = g_test_run ();
  g_autofree char *recent = g_build_filename (data_home, "attnviz", "recent", NULL);
  g_autofree char *dir = g_build_filename (data_home, "attnviz", NULL);
  g_remove (recent);
  g_rmdir (dir);
  g_rmdir (data_home);
  return status;
}
