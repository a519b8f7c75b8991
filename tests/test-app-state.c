/* test-app-state.c: what the window shows is always the state asked for
 *
 * Issue 11's state bugs, each driven through the real window on
 * stories260K (5 layers, 8 heads) and the built-in induction model (2
 * layers, 4 heads): opening another model, runs that keep the place,
 * marks that belong to their comparison, keys and focus, errors.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-figure-view.h"
#include "attnviz-lines-view.h"
#include "attnviz-heatmap-view.h"
#include "attnviz-test-util.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-test-window-util.h"
#include "attnviz-token-strip.h"
#include "attnviz-window-private.h"

#define TEXT "Once upon a time, there was a little girl named Lily. She loved to play outside."

static char *stories;
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

/* Opens PATH (running TEXT on it when not NULL) and waits for the outcome. */
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

static gboolean
run_text (Fixture *f, const char *text)
{
  int before = f->w.finished;
  attnviz_window_set_text (f->window, text);
  attnviz_window_run (f->window);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  return f->w.ok;
}

static gboolean
action_enabled (Fixture *f, const char *name)
{
  return g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), name);
}

static void
test_opening_another_model_leaves_nothing_of_the_last (Fixture *f, gconstpointer data)
{
  /* (Not a demo model second: an empty box would get its sample.) */
  g_assert_true (open_with (f, induction, TEXT));
  g_assert_nonnull (attnviz_window_get_result (f->window));

  g_assert_true (open_with (f, stories, ""));
  g_assert_null (attnviz_window_get_run (f->window));
  g_assert_null (attnviz_window_get_result (f->window));
  GtkWidget *heatmap = attnviz_window_get_view (f->window, "heatmap");
  g_assert_null (attnviz_figure_view_get_result (ATTNVIZ_FIGURE_VIEW (heatmap)));
  g_assert_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (f->window)), "stories"));
}

static void
test_a_new_run_keeps_layer_and_head (Fixture *f, gconstpointer data)
{
  AttnvizViewState *state = attnviz_window_get_state (f->window);

  g_assert_true (open_with (f, stories, TEXT));
  attnviz_view_state_set_layer (state, 1);
  attnviz_view_state_set_head (state, 2);
  attnviz_view_state_set_selected_token (state, 5);
  g_assert_true (run_text (f, TEXT " She had a dog."));
  g_assert_cmpint (attnviz_view_state_get_layer (state), ==, 1);
  g_assert_cmpint (attnviz_view_state_get_head (state), ==, 2);
  /* A selected token was a token of the old text: gone. */
  g_assert_cmpint (attnviz_view_state_get_selected_token (state), ==, -1);
  /* The same text again keeps it. */
  attnviz_view_state_set_selected_token (state, 5);
  g_assert_true (run_text (f, TEXT " She had a dog."));
  g_assert_cmpint (attnviz_view_state_get_selected_token (state), ==, 5);

  /* A smaller model: clamped to its last layer and head. */
  attnviz_view_state_set_layer (state, 4);
  attnviz_view_state_set_head (state, 7);
  g_assert_true (open_with (f, induction, "bright fox.bright fox."));
  g_assert_cmpint (attnviz_view_state_get_layer (state), ==, 1);
  g_assert_cmpint (attnviz_view_state_get_head (state), ==, 3);
}

/* The largest weight of every head of LAYER (all layers: -1), from their matrices. */
static double
largest_weight (AttnvizResult *result, int layer)
{
  int T = attnviz_result_get_n_tokens (result);
  double m = 0;
  for (int l = 0; l < attnviz_result_get_n_layers (result); l++)
    for (int h = 0; (layer < 0 || l == layer) && h < attnviz_result_get_n_heads (result); h++)
      {
        const float *p = attnviz_result_get_matrix (result, ATTNVIZ_AGGREGATE_HEAD, l, h);
        for (int i = 0; i < T * T; i++)
          m = MAX (m, p[i]);
      }
  return m;
}

static void
test_a_colour_keeps_its_meaning_across_heads_in_each_range_mode (Fixture *f, gconstpointer data)
{
  AttnvizViewState *state = attnviz_window_get_state (f->window);
  AttnvizHeatmapView *heatmap = ATTNVIZ_HEATMAP_VIEW (attnviz_window_get_view (f->window, "heatmap"));
  AttnvizHeatmapSpec spec;

  g_assert_true (open_with (f, stories, TEXT));
  AttnvizResult *result = attnviz_window_get_result (f->window);
  attnviz_view_state_set_layer (state, 2);

  /* Per head (the default): each head its own range, and the bar says so. */
  g_assert_true (attnviz_heatmap_view_get_spec (heatmap, &spec));
  g_assert_false (attnviz_scale_has_range (&spec.scale));
  g_assert_cmpstr (spec.scale_caption, ==, "per head");
  g_assert_nonnull (strstr (spec.subtitle, "colours: per head"));

  /* Per layer, through the window's stateful action: one range for every
   * head of the layer, the largest weight of any of them. */
  g_action_group_change_action_state (G_ACTION_GROUP (f->window), "range-mode", g_variant_new_string ("layer"));
  g_assert_cmpint (attnviz_view_state_get_range_mode (state), ==, ATTNVIZ_RANGE_LAYER);
  double layer_max = largest_weight (result, 2);
  for (int h = 0; h < attnviz_result_get_n_heads (result); h++)
    {
      attnviz_view_state_set_head (state, h);
      g_assert_true (attnviz_heatmap_view_get_spec (heatmap, &spec));
      g_assert_cmpfloat (spec.scale.vmin, ==, 0);
      g_assert_cmpfloat_with_epsilon (spec.scale.vmax, layer_max, 1e-6);
      g_assert_cmpstr (spec.scale_caption, ==, "per layer");
      g_assert_nonnull (strstr (spec.subtitle, "colours: per layer"));
    }

  /* The whole run: the same range on every layer. */
  g_action_group_change_action_state (G_ACTION_GROUP (f->window), "range-mode", g_variant_new_string ("run"));
  double run_max = largest_weight (result, -1);
  g_assert_cmpfloat (run_max, >=, layer_max);
  for (int l = 0; l < attnviz_result_get_n_layers (result); l += 2)
    {
      attnviz_view_state_set_layer (state, l);
      g_assert_true (attnviz_heatmap_view_get_spec (heatmap, &spec));
      g_assert_cmpfloat_with_epsilon (spec.scale.vmax, run_max, 1e-6);
      g_assert_cmpstr (spec.scale_caption, ==, "whole run");
    }

  /* Fixed: 0 to 1. */
  g_action_group_change_action_state (G_ACTION_GROUP (f->window), "range-mode", g_variant_new_string ("fixed"));
  g_assert_true (attnviz_heatmap_view_get_spec (heatmap, &spec));
  g_assert_cmpfloat (spec.scale.vmin, ==, 0);
  g_assert_cmpfloat (spec.scale.vmax, ==, 1);
  g_assert_cmpstr (spec.scale_caption, ==, "fixed 0–1");
  g_assert_nonnull (strstr (spec.subtitle, "colours: fixed 0–1"));
}

static void
test_marks_belong_to_their_comparison (Fixture *f, gconstpointer data)
{
  AttnvizVariantEditor *a = attnviz_window_get_variant_editor (f->window, 0);

  g_assert_true (open_with (f, stories, TEXT));
  int before = f->w.finished;
  g_signal_emit_by_name (attnviz_window_get_view (f->window, "grid"), "head-toggled", 1, 3, GDK_CONTROL_MASK);
  g_assert_true (attnviz_window_get_compare (f->window));
  g_assert_nonnull (strstr (attnviz_variant_editor_get_spec (a), "ablate=L1H3"));
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);

  /* Leaving Compare drops them. */
  attnviz_window_set_compare (f->window, FALSE);
  g_assert_null (strstr (attnviz_variant_editor_get_spec (a), "ablate"));

  /* And so does opening another model. */
  attnviz_window_set_compare (f->window, TRUE);
  attnviz_test_wait_until (!attnviz_window_get_busy (f->window), 120);
  g_assert_true (attnviz_variant_editor_toggle_head (a, 1, 3));
  g_assert_nonnull (strstr (attnviz_variant_editor_get_spec (a), "ablate=L1H3"));
  open_with (f, induction, "bright fox.bright fox.");
  g_assert_null (strstr (attnviz_variant_editor_get_spec (a), "ablate"));
}

static void
test_keys_step_heads_wherever_the_focus_is (Fixture *f, gconstpointer data)
{
  AttnvizViewState *state = attnviz_window_get_state (f->window);

  g_assert_true (open_with (f, stories, TEXT));
  /* After a run the view has the focus. */
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (f->window));
  GtkWidget *grid = attnviz_window_get_view (f->window, "grid");
  g_assert_true (focus == grid);

  /* With the focus elsewhere (the text box) the window's actions step. */
  gtk_widget_grab_focus (GTK_WIDGET (gtk_widget_get_ancestor (grid, GTK_TYPE_WINDOW)));
  attnviz_view_state_set_head (state, 0);
  attnviz_view_state_set_layer (state, 0);
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "next-head", NULL);
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "next-layer", NULL);
  g_assert_cmpint (attnviz_view_state_get_head (state), ==, 1);
  g_assert_cmpint (attnviz_view_state_get_layer (state), ==, 1);
}

static void
test_a_failed_open_leaves_the_old_result_valid (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, induction, "bright fox.bright fox."));
  AttnvizResult *shown = attnviz_window_get_result (f->window);
  g_assert_false (attnviz_window_get_stale (f->window));

  /* A model that is not there: the run before it stays, still valid for
   * its own model (not dimmed); the banner names what failed. */
  g_assert_false (open_with (f, "/nonexistent/attnviz-model", "bright fox."));
  g_assert_true (attnviz_window_get_result (f->window) == shown);
  g_assert_false (attnviz_window_get_stale (f->window));
  g_assert_nonnull (strstr (attnviz_window_get_error (f->window), "/nonexistent/attnviz-model"));
  g_assert_null (strstr (attnviz_window_get_error (f->window), "out of date"));
  /* and it runs on as before */
  g_assert_true (open_with (f, induction, "bright fox.bright fox."));

  g_assert_true (open_with (f, induction, "k3x9fq2mwk3x9fq2mw"));
  g_assert_false (attnviz_window_get_stale (f->window));
}

static void
test_run_and_compare_wait_for_what_they_need (Fixture *f, gconstpointer data)
{
  /* Nothing open: no comparing. */
  g_assert_false (action_enabled (f, "compare"));
  g_assert_true (open_with (f, induction, ""));
  g_assert_true (action_enabled (f, "compare"));

  /* An empty text: Run is off, and nothing says it is an error. */
  attnviz_window_set_text (f->window, "  ");
  g_assert_false (action_enabled (f, "run"));
  attnviz_window_set_text (f->window, "bright fox.");
  g_assert_true (action_enabled (f, "run"));
}

/* The first visible popover under WIDGET. */
static GtkWidget *
visible_popover (GtkWidget *widget)
{
  if (GTK_IS_POPOVER (widget) && gtk_widget_get_visible (widget))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = visible_popover (c);
      if (found)
        return found;
    }
  return NULL;
}

static void
test_ctrl_g_goes_to_a_token_whatever_has_focus (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, induction, "bright fox.bright fox."));
  /* The focus in the text box, where a view's keys do not reach. */
  GtkWidget *text = gtk_window_get_focus (GTK_WINDOW (f->window));
  g_assert_null (visible_popover (GTK_WIDGET (f->window)));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (f->window), "go-to-token"));
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "go-to-token", NULL);
  attnviz_test_wait_until (visible_popover (GTK_WIDGET (f->window)) != NULL, 5);
  GtkWidget *popover = visible_popover (GTK_WIDGET (f->window));
  g_assert_nonnull (popover);
  /* It belongs to the token strip, and its entry has the focus. */
  g_assert_nonnull (gtk_widget_get_ancestor (popover, ATTNVIZ_TYPE_TOKEN_STRIP));
  GtkWidget *focus = gtk_window_get_focus (GTK_WINDOW (f->window));
  g_assert_true (focus != text);
  g_assert_true (focus != NULL && gtk_widget_is_ancestor (focus, popover));
}

/* The button under ROOT with action ACTION, or NULL. */
static GtkWidget *
find_action_button (GtkWidget *root, const char *action)
{
  if (GTK_IS_BUTTON (root) && g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (root)), action) == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_action_button (c, action);
      if (found)
        return found;
    }
  return NULL;
}

/* The first widget under ROOT whose PROPERTY (a string) is VALUE. */
static GtkWidget *
find_widget (GtkWidget *root, const char *property, const char *value)
{
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (root), property) != NULL)
    {
      g_autofree char *v = NULL;
      g_object_get (root, property, &v, NULL);
      if (g_strcmp0 (v, value) == 0)
        return root;
    }
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_widget (c, property, value);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
test_the_lines_view_leads_to_the_heatmap_past_its_limit (Fixture *f, gconstpointer data)
{
  AttnvizWindow *self = f->window;
  g_assert_true (open_with (f, stories, TEXT));
  g_action_group_activate_action (G_ACTION_GROUP (self), "view", g_variant_new_string ("lines"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (self->view_stack), ==, "lines");
  /* A short text: lines, with its columns named. */
  g_assert_false (attnviz_lines_view_get_too_many_tokens (self->lines_view));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (self->lines_limit_page)));
  AttnvizLinesSpec spec;
  g_assert_true (attnviz_lines_view_get_spec (self->lines_view, &spec, NULL));
  g_assert_cmpstr (spec.left_caption, ==, "query");
  g_assert_cmpstr (spec.right_caption, ==, "key");

  /* Past 64 tokens a page says why there are no lines and leads on. */
  g_autofree char *longer = g_strjoin (" ", TEXT, TEXT, TEXT, TEXT, NULL);
  g_assert_true (run_text (f, longer));
  g_assert_cmpint (attnviz_result_get_n_tokens (attnviz_window_get_result (self)), >, ATTNVIZ_LINES_VIEW_MAX_TOKENS);
  g_assert_true (attnviz_lines_view_get_too_many_tokens (self->lines_view));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (self->lines_limit_page)));
  g_assert_nonnull (strstr (adw_status_page_get_description (self->lines_limit_page), "64"));
  GtkWidget *button = find_action_button (GTK_WIDGET (self->lines_limit_page), "win.view");
  g_assert_nonnull (button);
  attnviz_test_wait_until (gtk_widget_get_mapped (button), 5);
  g_assert_true (gtk_widget_get_mapped (button));
  gtk_widget_activate (button);   /* a button's activation clicks after a short animation */
  attnviz_test_wait_until (g_strcmp0 (adw_view_stack_get_visible_child_name (self->view_stack), "heatmap") == 0, 5);
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (self->view_stack), ==, "heatmap");

  /* A short text again: the page goes. */
  g_assert_true (run_text (f, TEXT));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (self->lines_limit_page)));
}

/* A choice in the view options by its label: a check button, or (a
 * menu) the item whose label it is. */
static GtkWidget *
find_choice (GtkWidget *popover, const char *label)
{
  GtkWidget *w = find_widget (popover, "label", label);
  while (w != NULL && !GTK_IS_CHECK_BUTTON (w) && g_signal_lookup ("clicked", G_OBJECT_TYPE (w)) == 0)
    w = gtk_widget_get_parent (w);
  return w;
}

static void
test_view_options_stay_open_for_several_choices (Fixture *f, gconstpointer data)
{
  AttnvizViewState *state = attnviz_window_get_state (f->window);

  g_assert_true (open_with (f, induction, "bright fox.bright fox."));
  GtkWidget *button = find_widget (GTK_WIDGET (f->window), "tooltip-text", "Aggregate, Colour Map and Scale");
  g_assert_true (GTK_IS_MENU_BUTTON (button));
  attnviz_test_wait_until (gtk_widget_get_mapped (button), 5);
  GtkWidget *popover = GTK_WIDGET (gtk_menu_button_get_popover (GTK_MENU_BUTTON (button)));
  /* No pointer grab under Xvfb without a window manager: an autohiding
   * popover would close at once.  A menu closes on a choice all the same. */
  gtk_popover_set_autohide (GTK_POPOVER (popover), FALSE);
  gtk_menu_button_popup (GTK_MENU_BUTTON (button));
  attnviz_test_wait_until (gtk_widget_get_mapped (popover), 5);
  g_assert_true (gtk_widget_get_mapped (popover));

  static const char *const choices[] = { "_Mean over Heads", "M_agma", "L_og" };
  for (guint i = 0; i < G_N_ELEMENTS (choices); i++)
    {
      GtkWidget *choice = find_choice (popover, choices[i]);
      g_assert_nonnull (choice);
      /* A check button is activated; a menu's item is clicked. */
      if (g_signal_lookup ("clicked", G_OBJECT_TYPE (choice)) != 0)
        g_signal_emit_by_name (choice, "clicked");
      else
        gtk_widget_activate (choice);
      for (int k = 0; k < 20; k++)
        g_main_context_iteration (NULL, FALSE), g_usleep (10000);
      g_test_message ("after %s (a %s) the popover is %s", choices[i], G_OBJECT_TYPE_NAME (choice), gtk_widget_get_visible (popover) ? "open" : "closed");
      g_assert_true (gtk_widget_get_visible (popover));
    }
  g_assert_cmpint (attnviz_view_state_get_aggregate (state), ==, ATTNVIZ_AGGREGATE_MEAN);
  g_assert_cmpint (attnviz_view_state_get_colormap (state), ==, ATTNVIZ_COLORMAP_MAGMA);
  g_assert_cmpint (attnviz_view_state_get_scale (state), ==, ATTNVIZ_SCALE_LOG);
  gtk_popover_popdown (GTK_POPOVER (popover));
}

int
main (int argc, char **argv)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-state-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  const char *shared = g_getenv ("ATTNVIZ_SHARED_DIR");
  stories = g_build_filename (shared ? shared : "../shared", "data", "models", "stories260K", "hf", NULL);
  induction = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models", "induction-decoder", NULL);
  if (!g_file_test (stories, G_FILE_TEST_IS_DIR))
    {
      printf ("1..0 # SKIP no stories260K at %s\n", stories);
      return 0;
    }

#define ADD(path, func) g_test_add ("/ui/state/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("opening-another-model-leaves-nothing-of-the-last", test_opening_another_model_leaves_nothing_of_the_last);
  ADD ("a-new-run-keeps-layer-and-head-clamped-for-a-smaller-model", test_a_new_run_keeps_layer_and_head);
  ADD ("marks-and-specs-belong-to-their-comparison-and-model", test_marks_belong_to_their_comparison);
  ADD ("stepping-works-whatever-has-focus-and-a-run-focuses-the-view", test_keys_step_heads_wherever_the_focus_is);
  ADD ("a-failed-open-leaves-the-old-result-valid", test_a_failed_open_leaves_the_old_result_valid);
  ADD ("run-and-compare-are-off-until-they-can-work", test_run_and_compare_wait_for_what_they_need);
  ADD ("ctrl-g-goes-to-a-token-whatever-has-focus", test_ctrl_g_goes_to_a_token_whatever_has_focus);
  ADD ("the-lines-view-leads-to-the-heatmap-past-its-limit", test_the_lines_view_leads_to_the_heatmap_past_its_limit);
  ADD ("view-options-stay-open-for-several-choices", test_view_options_stay_open_for_several_choices);
  ADD ("a-colour-keeps-its-meaning-across-heads-in-each-range-mode",
       test_a_colour_keeps_its_meaning_across_heads_in_each_range_mode);

  int status = g_test_run ();
  g_autofree char *recent = g_build_filename (data_home, "attnviz", "recent", NULL);
  g_autofree char *recent_dir = g_path_get_dirname (recent);
  g_unlink (recent);
  g_rmdir (recent_dir);
  g_rmdir (data_home);
  return status;
}
