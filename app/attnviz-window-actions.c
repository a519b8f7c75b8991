/* attnviz-window-actions.c: the window's actions (win.*)
 *
 * The GActionEntry table and its handlers; stateful actions on the view
 * state come from g_property_action_new () in attnviz-window.c.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include "attnviz-window-private.h"

static void
open_file_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  _attnviz_window_show_open_dialog (user_data, FALSE);
}

static void
open_text_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  _attnviz_window_show_text_dialog (user_data);
}

static void
open_folder_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  _attnviz_window_show_open_dialog (user_data, TRUE);
}

static void
open_recent_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  attnviz_window_open (user_data, g_variant_get_string (parameter, NULL));
}

static void
run_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  attnviz_window_run (user_data);
}

static void
cancel_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  _attnviz_window_cancel_job (user_data);
}

static void
export_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  _attnviz_window_show_export_dialog (user_data);
}

static void
export_to_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  attnviz_window_export (user_data, g_variant_get_string (parameter, NULL));
}

static void
dismiss_error_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  _attnviz_window_dismiss_error (user_data);
}

/* Ctrl+G, whatever has the focus: the token strip's go-to entry. */
static void
go_to_token_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  gtk_widget_activate_action (GTK_WIDGET (self->token_strip), "tokens.show-go-to", NULL);
}

static void
step_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  const char *name = g_action_get_name (G_ACTION (action));

  int delta = g_str_has_prefix (name, "next-") ? 1 : -1;

  if (g_str_has_suffix (name, "-head"))
    attnviz_view_state_step_head (self->state, delta);
  else
    attnviz_view_state_step_layer (self->state, delta);
}

static void
change_view_state (GSimpleAction *action, GVariant *state, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  const char *name = g_variant_get_string (state, NULL);

  GtkWidget *child = adw_view_stack_get_child_by_name (self->view_stack, name);
  /* The single run's pages hide while comparing, and the other way round. */
  if (child == NULL || !adw_view_stack_page_get_visible (adw_view_stack_get_page (self->view_stack, child)))
    return;
  adw_view_stack_set_visible_child_name (self->view_stack, name);
}

static void
compare_action (GSimpleAction *action, GVariant *state, gpointer user_data)
{
  attnviz_window_set_compare (user_data, g_variant_get_boolean (state));
}

static void
change_compare_mode_state (GSimpleAction *action, GVariant *state, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  AttnvizCompareMode mode;

  if (!attnviz_compare_mode_from_string (g_variant_get_string (state, NULL), &mode))
    return;
  self->compare_mode = mode;
  g_simple_action_set_state (action, state);
  attnviz_compare_view_set_mode (self->compare_view, mode);
}

static void
swap_variants_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  g_autofree char *a = g_strdup (attnviz_variant_editor_get_spec (self->editor_a));

  attnviz_variant_editor_set_spec (self->editor_a, attnviz_variant_editor_get_spec (self->editor_b), NULL);
  attnviz_variant_editor_set_spec (self->editor_b, a, NULL);
}

static void
ablate_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  int which = g_str_equal (g_action_get_name (G_ACTION (action)), "ablate-a") ? 0 : 1;

  _attnviz_window_toggle_head (self, which, attnviz_view_state_get_layer (self->state), attnviz_view_state_get_head (self->state));
}

static void
compare_head_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;

  attnviz_view_state_set_aggregate (self->state, ATTNVIZ_AGGREGATE_HEAD);
  if (!_attnviz_window_showing_comparison (self))
    {
      /* Nothing compared yet: compare, and show this head when it is. */
      attnviz_window_set_compare (self, TRUE);
      return;
    }
  adw_view_stack_set_visible_child_name (self->view_stack, "compare");
  gtk_widget_grab_focus (GTK_WIDGET (self->compare_view));
}

static void
step_checkpoint_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  int delta = g_str_equal (g_action_get_name (G_ACTION (action)), "next-step") ? 1 : -1;

  if (self->checkpoints->len > 1)
    gtk_adjustment_set_value (self->checkpoint_adjustment,
                              CLAMP (self->checkpoint + delta, 0, (int) self->checkpoints->len - 1));
}

static void
try_demo_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  const char *path = g_variant_get_string (parameter, NULL);

  /* Its own first sample, whatever the box held. */
  g_clear_pointer (&self->text_owner, g_free);
  self->text_owner = g_strdup ("");
  _attnviz_window_demo_fill (self, path);
  attnviz_window_open (self, path);
}

static void
try_demo_sample_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  const char *path, *sample;

  g_variant_get (parameter, "(&s&s)", &path, &sample);
  _attnviz_window_fill_text (self, sample, path);
  attnviz_window_open (self, path);
}

static void
use_sample_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;

  if (self->model == NULL)
    return;
  _attnviz_window_fill_text (self, g_variant_get_string (parameter, NULL),
                             attnviz_loaded_model_get_path (self->model));
  attnviz_window_run (self);
}

static void
truncate_and_run_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;

  if (self->model == NULL)
    return;
  int n = attnviz_config_max_positions (&attnviz_loaded_model_get_model (self->model)->config);
  if (!_attnviz_window_truncate_text (self, n))
    {
      _attnviz_window_show_error (self, "The text could not be cut to fit this model.");
      return;
    }
  _attnviz_window_dismiss_error (self);
  attnviz_window_run (self);
}

static void
save_run_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  _attnviz_window_show_save_run_dialog (user_data);
}

static void
compare_with_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  _attnviz_window_show_compare_with_dialog (user_data);
}

static void
open_session_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  _attnviz_window_show_open_session_dialog (user_data);
}

static void
session_rerun_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  _attnviz_window_session_rerun (user_data);
}

static const GActionEntry win_entries[] = {
  { "save-run", save_run_action },
  { "compare-with", compare_with_action },
  { "open-session", open_session_action },
  { "session-rerun", session_rerun_action },
  { "open-file", open_file_action },
  { "open-folder", open_folder_action },
  { "open-text", open_text_action },
  { "open-recent", open_recent_action, "s" },
  { "run", run_action },
  { "try-demo", try_demo_action, "s" },
  { "try-demo-sample", try_demo_sample_action, "(ss)" },
  { "use-sample", use_sample_action, "s" },
  { "truncate-and-run", truncate_and_run_action },
  { "cancel", cancel_action },
  { "export", export_action },
  { "export-to", export_to_action, "s" },
  { "dismiss-error", dismiss_error_action },
  { "go-to-token", go_to_token_action },
  { "next-head", step_action },
  { "previous-head", step_action },
  { "next-layer", step_action },
  { "previous-layer", step_action },
  { "view", NULL, "s", "'grid'", change_view_state },
  { "compare", NULL, NULL, "false", compare_action },
  { "compare-mode", NULL, "s", "'side-by-side'", change_compare_mode_state },
  { "swap-variants", swap_variants_action },
  { "ablate-a", ablate_action, NULL, "false" },
  { "ablate-b", ablate_action, NULL, "false" },
  { "compare-head", compare_head_action },
  { "next-step", step_checkpoint_action },
  { "previous-step", step_checkpoint_action },
};

void
_attnviz_window_on_visible_view_changed (AttnvizWindow *self)
{
  const char *name = adw_view_stack_get_visible_child_name (self->view_stack);
  if (name != NULL)
    _attnviz_window_set_action_state (self, "view", name);
}

void
_attnviz_window_on_changed_head_activated (AttnvizGridView *grid, int layer, int head, AttnvizWindow *self)
{
  attnviz_view_state_set_layer (self->state, layer);
  attnviz_view_state_set_head (self->state, head);
  compare_head_action (NULL, NULL, self);
}

void
_attnviz_window_on_head_activated (AttnvizGridView *grid, int layer, int head, AttnvizWindow *self)
{
  attnviz_view_state_set_layer (self->state, layer);
  attnviz_view_state_set_head (self->state, head);
  attnviz_view_state_set_aggregate (self->state, ATTNVIZ_AGGREGATE_HEAD);
  adw_view_stack_set_visible_child_name (self->view_stack, "heatmap");
  gtk_widget_grab_focus (GTK_WIDGET (self->heatmap_view));
}

void
_attnviz_window_actions_init (AttnvizWindow *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self), win_entries, G_N_ELEMENTS (win_entries), self);
}
