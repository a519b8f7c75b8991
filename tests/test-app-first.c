/* test-app-first.c: the first minute of a new user
 *
 * Issue 11: the welcome page offers the built-in demos and one click runs
 * one on its own sample; opening a demo model replaces a text that belongs
 * to another model (the dates demo once ran the TinyStories sentence and
 * wrote "1909-0-0-0"); a text too long for a learned position table offers
 * "Truncate to N Tokens and Run" (in test-app-long.c, which builds such a
 * model).  Driven through the real window.
 *
 * Then the fixes a new user asked for: Open Text File in the Open menu
 * (the recent models' section wiped it), a text filter that lists no
 * images, recent names that keep their underscores, an empty box that
 * counts 0 tokens and marks the last run's tokens, a window that works at
 * 800 × 600 with Compare's views reachable, the shortcuts of stepping.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-demos.h"
#include "attnviz-painter.h"
#include "attnviz-test-util.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-test-window-util.h"
#include "attnviz-recent.h"
#include "attnviz-window-private.h"

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
  /* The sidebar names the model while it opens, runs and decodes (a
   * button clicks a moment after its activation). */
  attnviz_test_wait_until (attnviz_window_get_busy (f->window) || f->w.finished > before, 10);
  g_assert_cmpint (f->w.finished, ==, before);
  g_assert_cmpstr (gtk_label_get_text (f->window->model_label), ==, "Opening dates-seq2seq…");
  wait_for_run (f, before);
  g_assert_true (f->w.ok);
  g_assert_cmpstr (gtk_label_get_text (f->window->model_label), ==, "dates-seq2seq");
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

/* A box the user emptied holds nothing to keep: opening a demo model
 * fills it with the demo's sample and runs it (it stayed empty, with
 * nothing run, when the user had cleared it before). */
static void
test_an_emptied_box_gets_the_demos_sample (Fixture *f, gconstpointer data)
{
  attnviz_window_set_text (f->window, "");
  int before = f->w.finished;
  attnviz_window_open (f->window, dates);
  wait_for_run (f, before);
  g_assert_true (f->w.ok);
  g_autofree char *text = window_text (f);
  g_assert_cmpstr (text, ==, "saturday 21 november 2026");
  g_assert_cmpstr (attnviz_window_get_output (f->window), ==, "2026-11-21");
}

static gboolean
menu_has_action (GMenuModel *menu, const char *action)
{
  for (int i = 0; i < g_menu_model_get_n_items (menu); i++)
    {
      g_autofree char *a = NULL;
      if (g_menu_model_get_item_attribute (menu, i, G_MENU_ATTRIBUTE_ACTION, "s", &a) && g_str_equal (a, action))
        return TRUE;
      g_autoptr(GMenuModel) section = g_menu_model_get_item_link (menu, i, G_MENU_LINK_SECTION);
      if (section != NULL && menu_has_action (section, action))
        return TRUE;
    }
  return FALSE;
}

static void
test_the_open_menu_keeps_open_text_file (Fixture *f, gconstpointer data)
{
  AttnvizWindow *self = f->window;
  g_assert_true (menu_has_action (G_MENU_MODEL (self->open_menu), "win.open-text"));

  /* Opening a model rebuilds the recent models: Open Text File stays. */
  int before = f->w.finished;
  attnviz_window_set_text (f->window, "");
  attnviz_window_open (f->window, induction);
  wait_for_run (f, before);
  g_assert_true (menu_has_action (G_MENU_MODEL (self->open_menu), "win.open-text"));
  g_assert_true (menu_has_action (G_MENU_MODEL (self->open_menu), "win.open-recent"));
}

static void
test_recent_names_keep_their_underscores (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-recent-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "tiny-q4_k_m.gguf", NULL);
  g_assert_true (g_file_set_contents (path, "", 0, NULL));
  attnviz_recent_add (path);

  AttnvizWindow *self = g_object_ref (attnviz_window_new (NULL));
  GMenuModel *menu = G_MENU_MODEL (self->open_menu);
  g_autoptr(GMenuModel) recent = g_menu_model_get_item_link (menu, g_menu_model_get_n_items (menu) - 1,
                                                             G_MENU_LINK_SECTION);
  gboolean found = FALSE;
  for (int i = 0; i < g_menu_model_get_n_items (recent); i++)
    {
      g_autofree char *label = NULL;
      g_assert_true (g_menu_model_get_item_attribute (recent, i, G_MENU_ATTRIBUTE_LABEL, "s", &label));
      /* "__" shows as "_": the label reads tiny-q4_k_m.gguf. */
      if (g_str_equal (label, "tiny-q4__k__m.gguf"))
        found = TRUE;
    }
  g_assert_true (found);
  gtk_window_destroy (GTK_WINDOW (self));
  g_assert_finalize_object (self);
  g_unlink (path);
  g_rmdir (dir);
}

/* The same model in two places (two checkouts' demos, say): the recent
 * menu tells them apart by the folder that holds each. */
static void
test_recent_twins_are_told_apart_by_their_folder (void)
{
  g_autofree char *top = g_dir_make_tmp ("attnviz-twins-XXXXXX", NULL);
  g_autofree char *a = g_build_filename (top, "one", "dates", NULL);
  g_autofree char *b = g_build_filename (top, "two", "dates", NULL);
  g_assert_cmpint (g_mkdir_with_parents (a, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (b, 0700), ==, 0);
  attnviz_recent_add (a);
  attnviz_recent_add (b);

  AttnvizWindow *self = g_object_ref (attnviz_window_new (NULL));
  GMenuModel *menu = G_MENU_MODEL (self->open_menu);
  g_autoptr(GMenuModel) recent = g_menu_model_get_item_link (menu, g_menu_model_get_n_items (menu) - 1,
                                                             G_MENU_LINK_SECTION);
  g_autofree char *want_a = g_strdup_printf ("dates — %s/one", top);
  g_autofree char *want_b = g_strdup_printf ("dates — %s/two", top);
  gboolean found_a = FALSE, found_b = FALSE;
  for (int i = 0; i < g_menu_model_get_n_items (recent); i++)
    {
      g_autofree char *label = NULL;
      g_assert_true (g_menu_model_get_item_attribute (recent, i, G_MENU_ATTRIBUTE_LABEL, "s", &label));
      g_assert_cmpstr (label, !=, "dates");
      found_a = found_a || g_str_equal (label, want_a);
      found_b = found_b || g_str_equal (label, want_b);
    }
  g_assert_true (found_a);
  g_assert_true (found_b);
  gtk_window_destroy (GTK_WINDOW (self));
  g_assert_finalize_object (self);
  g_rmdir (a);
  g_rmdir (b);
  g_autofree char *pa = g_path_get_dirname (a), *pb = g_path_get_dirname (b);
  g_rmdir (pa);
  g_rmdir (pb);
  g_rmdir (top);
}

static gboolean
filter_matches (GtkFileFilter *filter, const char *name, const char *type)
{
  g_autoptr(GFileInfo) info = g_file_info_new ();
  g_file_info_set_display_name (info, name);
  g_file_info_set_name (info, name);
  if (type != NULL)
    g_file_info_set_content_type (info, type);
  return gtk_filter_match (GTK_FILTER (filter), info);
}

static void
test_open_text_file_lists_text_and_starts_in_a_folder (Fixture *f, gconstpointer data)
{
  g_autoptr(GtkFileFilter) filter = _attnviz_window_text_filter ();
  g_assert_false (filter_matches (filter, "27-chooser.png", "image/png"));
  g_assert_false (filter_matches (filter, "model.safetensors", "application/octet-stream"));
  g_assert_true (filter_matches (filter, "long.txt", "text/plain"));
  g_assert_true (filter_matches (filter, "NOTES.MD", NULL));
  g_assert_true (filter_matches (filter, "app1.log", NULL));

  /* Not Recent (which lists model folders): a folder, then the last text's. */
  g_autofree char *folder = _attnviz_window_text_folder (f->window);
  g_assert_true (g_file_test (folder, G_FILE_TEST_IS_DIR));
  g_autofree char *dir = g_dir_make_tmp ("attnviz-text-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "story.txt", NULL);
  g_assert_true (g_file_set_contents (path, "Once upon a time.", -1, NULL));
  attnviz_window_open_text_file (f->window, path);
  attnviz_test_wait_until (gtk_widget_get_visible (GTK_WIDGET (f->window)) && ({
                             g_autofree char *t = window_text (f); g_str_equal (t, "Once upon a time."); }), 30);
  g_autofree char *after = _attnviz_window_text_folder (f->window);
  g_assert_cmpstr (after, ==, dir);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_an_empty_box_counts_no_tokens (Fixture *f, gconstpointer data)
{
  AttnvizWindow *self = f->window;
  int before = f->w.finished;
  attnviz_window_set_text (f->window, "bright fox.bright fox.");
  attnviz_window_open (f->window, induction);
  wait_for_run (f, before);
  g_assert_true (f->w.ok);
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (self->token_strip), "stale"));

  attnviz_window_set_text (f->window, "");
  attnviz_test_wait_until (attnviz_window_get_text_token_count (f->window) == 0, 30);
  g_assert_cmpstr (attnviz_window_get_text_token_label (f->window), ==, "0 tokens");
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), "run"));
  /* The tokens shown are the last run's, and say so. */
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (self->token_strip), "stale"));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (self->predictions_strip), "stale"));
  g_assert_nonnull (strstr (gtk_label_get_text (self->token_count), "last run"));

  attnviz_window_set_text (f->window, "bright fox.bright fox.");
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (self->token_strip), "stale"));
}

/* A model without a tokenizer does not invite the user to write a text
 * and press Run: its page says why it cannot read one. */
static void
test_a_model_without_a_tokenizer_says_so_on_its_page (Fixture *f, gconstpointer data)
{
  AttnvizWindow *self = f->window;
  g_autofree char *rel = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "fixtures", "bart-tiny", NULL);
  g_autofree char *bart = g_canonicalize_filename (rel, NULL);
  int before = f->w.finished;
  attnviz_window_set_text (f->window, "hello world");
  attnviz_window_open (f->window, bart);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  g_assert_false (f->w.ok);
  g_assert_nonnull (strstr (attnviz_window_get_error (f->window), "no tokenizer"));
  const char *description = adw_status_page_get_description (self->ready_page);
  g_assert_nonnull (strstr (description, "It has no tokenizer, so it cannot read a text"));
  g_assert_null (strstr (description, "press Run"));
}

/* The sidebar is never wider than the room it has, with the app's style
 * (its padding) applied: nothing of it is cut off on the right, and
 * focusing a control of a popover in it (Continue's settings) cannot
 * scroll it sideways (a 16-pixel jump that a user saw). */
static void
test_the_sidebar_fits_its_width (Fixture *f, gconstpointer data)
{
  AttnvizWindow *self = f->window;
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/attnviz/Attnviz/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  gtk_window_set_default_size (GTK_WINDOW (self), 1400, 900);
  int before = f->w.finished;
  attnviz_window_set_text (f->window, "bright fox.bright fox.");
  attnviz_window_open (f->window, induction);
  wait_for_run (f, before);
  g_assert_true (f->w.ok);
  /* A decoder: Continue's row is there, as are the predictions. */
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (self->generate_box)));

  GtkWidget *input_scroll = gtk_widget_get_ancestor (GTK_WIDGET (self->text_view), GTK_TYPE_SCROLLED_WINDOW);
  GtkWidget *sidebar_scroll = gtk_widget_get_ancestor (gtk_widget_get_parent (input_scroll), GTK_TYPE_SCROLLED_WINDOW);
  g_assert_nonnull (sidebar_scroll);
  attnviz_test_wait_until (gtk_widget_get_width (sidebar_scroll) > 0
                           && gtk_widget_get_mapped (GTK_WIDGET (self->predictions_strip)), 10);
  GtkAdjustment *h = gtk_scrolled_window_get_hadjustment (GTK_SCROLLED_WINDOW (sidebar_scroll));
  g_test_message ("sidebar %d wide, its content %g", gtk_widget_get_width (sidebar_scroll),
                  gtk_adjustment_get_upper (h));
  g_assert_cmpfloat (gtk_adjustment_get_upper (h), <=, gtk_adjustment_get_page_size (h));
  g_assert_cmpfloat (gtk_adjustment_get_value (h), ==, 0);
  gtk_style_context_remove_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css));
}

static int
min_width (AttnvizWindow *window)
{
  int min = 0;
  gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &min, NULL, NULL, NULL);
  return min;
}

static void
test_the_window_works_at_800_by_600 (Fixture *f, gconstpointer data)
{
  AttnvizWindow *self = f->window;
  gtk_window_set_default_size (GTK_WINDOW (self), 800, 600);
  g_assert_cmpint (min_width (self), <=, 800);

  int before = f->w.finished;
  attnviz_window_set_text (f->window, "bright fox.bright fox.");
  attnviz_window_open (f->window, induction);
  wait_for_run (f, before);
  g_assert_cmpint (min_width (self), <=, 800);

  /* Compare: its views, and only its, are offered at any width. */
  before = f->w.finished;
  attnviz_window_set_compare (f->window, TRUE);
  wait_for_run (f, before);
  g_assert_true (f->w.ok);
  attnviz_test_wait_until (gtk_widget_get_width (GTK_WIDGET (self)) > 0, 10);
  g_assert_cmpint (min_width (self), <=, 800);
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (self)), <=, 800);
  g_assert_true (adw_view_stack_page_get_visible (self->changes_page));
  g_assert_true (adw_view_stack_page_get_visible (self->compare_page));
  GtkWidget *grid = adw_view_stack_get_child_by_name (self->view_stack, "grid");
  g_assert_false (adw_view_stack_page_get_visible (adw_view_stack_get_page (self->view_stack, grid)));
  g_action_group_activate_action (G_ACTION_GROUP (self), "view", g_variant_new_string ("compare"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (self->view_stack), ==, "compare");

  /* The tokens and the loss strip keep a usable height (once squeezed to
   * three rows of chips, with the loss strip's 28 tokens out of sight):
   * the sidebar scrolls instead. */
  GtkWidget *tokens_scroll = gtk_widget_get_ancestor (GTK_WIDGET (self->loss_strip), GTK_TYPE_SCROLLED_WINDOW);
  GtkWidget *sidebar_scroll = gtk_widget_get_ancestor (gtk_widget_get_parent (tokens_scroll), GTK_TYPE_SCROLLED_WINDOW);
  g_assert_nonnull (sidebar_scroll);
  attnviz_test_wait_until (gtk_widget_get_mapped (GTK_WIDGET (self->loss_strip)), 5);
  g_test_message ("window %d x %d, tokens %d high", gtk_widget_get_width (GTK_WIDGET (self)),
                  gtk_widget_get_height (GTK_WIDGET (self)), gtk_widget_get_height (tokens_scroll));
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (self)), <=, 600);
  g_assert_cmpint (gtk_widget_get_height (tokens_scroll), >=, 200);
  GtkAdjustment *v = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sidebar_scroll));
  g_assert_cmpfloat (gtk_adjustment_get_upper (v), >, gtk_adjustment_get_page_size (v));

  /* The sidebar comes and goes (F9). */
  gboolean revealed = adw_flap_get_reveal_flap (self->flap);
  g_action_group_activate_action (G_ACTION_GROUP (self), "sidebar", NULL);
  g_assert_cmpint (adw_flap_get_reveal_flap (self->flap), !=, revealed);
}

static void
test_the_shortcuts_say_how_to_step (void)
{
  g_autoptr(GtkBuilder) builder = gtk_builder_new_from_resource ("/org/attnviz/Attnviz/gtk/help-overlay.ui");
  g_autoptr(GBytes) bytes = g_resources_lookup_data ("/org/attnviz/Attnviz/gtk/help-overlay.ui", 0, NULL);
  const char *xml = g_bytes_get_data (bytes, NULL);
  g_assert_nonnull (strstr (xml, "&lt;Alt&gt;Left &lt;Alt&gt;Right"));
  g_assert_nonnull (strstr (xml, "&lt;Alt&gt;Up &lt;Alt&gt;Down"));
  /* Every page has its key, the Steps page too. */
  for (int i = 1; i <= 8; i++)
    {
      g_autofree char *accel = g_strdup_printf ("&lt;Alt&gt;%d<", i);
      g_assert_nonnull (strstr (xml, accel));
    }
  g_assert_null (strstr (xml, "\"accelerator\">Left Right<"));
  gtk_window_destroy (GTK_WINDOW (gtk_builder_get_object (builder, "help_overlay")));
}

/* A | B | A − B: panels of one size whatever their colour bars read, and
 * a long subtitle wraps instead of ending in "…". */
static void
test_compare_panels_share_a_size_and_subtitles_wrap (void)
{
  enum { T = 23 };
  static float a[T * T], d[T * T];
  for (int i = 0; i < T * T; i++)
    {
      a[i] = (i % 7) / 6.0f;
      d[i] = ((i % 5) - 2) * 0.37f;
    }
  AttnvizHeatmapSpec sa, sd;
  attnviz_heatmap_spec_init (&sa, a, T, T);
  attnviz_heatmap_spec_init (&sd, d, T, T);
  sd.colormap = ATTNVIZ_COLORMAP_RDBU;
  sa.title = "A · layer 0 · head 0";
  sd.title = "layer 0 · head 0 · A − B";
  sa.subtitle = "induction-decoder · mask=bidirectional · 23 tokens";
  sd.subtitle = "induction-decoder · A: mask=bidirectional − B: model · 23 tokens";
  AttnvizHeatmapLayout la, ld;
  attnviz_heatmap_layout (&sa, 300, 320, &la);
  attnviz_heatmap_layout (&sd, 300, 320, &ld);
  g_assert_cmpfloat_with_epsilon (la.cell, ld.cell, 1e-9);
  /* Two lines for the long one, one for the short one. */
  g_assert_cmpfloat (ld.subtitle.height, >, 1.5 * la.subtitle.height);
}

/* A | B | A − B exported two columns wide gives each panel about 2.3 in:
 * a long title wraps onto a second line (it ended "layer 1…", without
 * its head), and a short one keeps one line. */
static void
test_a_narrow_panels_title_wraps (void)
{
  enum { T = 23 };
  static float a[T * T];
  for (int i = 0; i < T * T; i++)
    a[i] = (i % 7) / 6.0f;
  AttnvizHeatmapSpec slong, sshort;
  attnviz_heatmap_spec_init (&slong, a, T, T);
  attnviz_heatmap_spec_init (&sshort, a, T, T);
  slong.title = "A · induction-decoder · layer 1 · head 2";
  sshort.title = "layer 1 · head 2";
  slong.font_size = sshort.font_size = 9.3;   /* 7 pt at 96 dpi */
  AttnvizHeatmapLayout ll, ls;
  attnviz_heatmap_layout (&slong, 224, 260, &ll);
  attnviz_heatmap_layout (&sshort, 224, 260, &ls);
  g_assert_cmpfloat (ll.title.height, >, 1.5 * ls.title.height);
  g_assert_cmpfloat (ll.title.height, <, 2.5 * ls.title.height);
  /* The matrix sits below both lines. */
  g_assert_cmpfloat (ll.matrix.y, >=, ll.title.y + ll.title.height);

  /* Side by side, the panels share the taller titles' band: their
   * matrices line up (the one-line title's matrix sat higher). */
  AttnvizHeatmapRowSpec row = { .n_panels = 2 };
  row.panels[0] = sshort;
  row.panels[1] = slong;
  double band = attnviz_heatmap_row_titles_band (&row, 448);
  g_assert_cmpfloat (band, >, 0);
  for (int i = 0; i < 2; i++)
    row.panels[i].titles_band = band;
  AttnvizHeatmapLayout rs, rl;
  attnviz_heatmap_layout (&row.panels[0], 224, 260, &rs);
  attnviz_heatmap_layout (&row.panels[1], 224, 260, &rl);
  g_assert_cmpfloat_with_epsilon (rs.matrix.y, rl.matrix.y, 1e-9);
  g_assert_cmpfloat_with_epsilon (rs.cell, rl.cell, 1e-9);
  g_assert_cmpfloat (rs.matrix.y, >, ls.matrix.y);
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
  ADD ("an-emptied-box-gets-the-demos-sample", test_an_emptied_box_gets_the_demos_sample);
  ADD ("the-open-menu-keeps-open-text-file", test_the_open_menu_keeps_open_text_file);
  ADD ("open-text-file-lists-text-and-starts-in-a-folder", test_open_text_file_lists_text_and_starts_in_a_folder);
  ADD ("an-empty-box-counts-no-tokens-and-marks-the-last-run", test_an_empty_box_counts_no_tokens);
  ADD ("the-window-works-at-800-by-600-with-compare", test_the_window_works_at_800_by_600);
  ADD ("the-sidebar-fits-its-width", test_the_sidebar_fits_its_width);
  ADD ("a-model-without-a-tokenizer-says-so-on-its-page", test_a_model_without_a_tokenizer_says_so_on_its_page);
  g_test_add_func ("/ui/first/compare-panels-share-a-size-and-subtitles-wrap",
                   test_compare_panels_share_a_size_and_subtitles_wrap);
  g_test_add_func ("/ui/first/a-narrow-panels-title-wraps", test_a_narrow_panels_title_wraps);
  g_test_add_func ("/ui/first/recent-names-keep-their-underscores", test_recent_names_keep_their_underscores);
  g_test_add_func ("/ui/first/recent-twins-are-told-apart-by-their-folder",
                   test_recent_twins_are_told_apart_by_their_folder);
  g_test_add_func ("/ui/first/the-shortcuts-say-how-to-step-heads-and-layers", test_the_shortcuts_say_how_to_step);

  int status = g_test_run ();
  g_autofree char *recent = g_build_filename (data_home, "attnviz", "recent", NULL);
  g_autofree char *dir = g_build_filename (data_home, "attnviz", NULL);
  g_remove (recent);
  g_rmdir (dir);
  g_rmdir (data_home);
  return status;
}
