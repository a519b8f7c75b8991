/* attnviz-window-compare.c: Compare mode
 *
 * Compare mode (win.compare) shows a bar of two variant editors, A and B,
 * under the header; a run then runs the model as it is, A and B, and the
 * views of a single run make way for two of the comparison: the Changes
 * grid (one total variation distance per head) and A vs B (A and B side
 * by side on one colour scale, and A − B).  The per-token loss change
 * shows under the token strip.  Changing a variant re-runs the comparison.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include "attnviz-difference.h"
#include "attnviz-window-private.h"

/* How long a variant edit waits before the comparison runs again. */
#define RERUN_DELAY_MS 300

static AttnvizVariantEditor *
editor_for (AttnvizWindow *self, int which)
{
  return which == 0 ? self->editor_a : self->editor_b;
}

/* The ablation toggles' check marks follow the current head. */
void
_attnviz_window_update_ablate_states (AttnvizWindow *self)
{
  for (int which = 0; which < 2; which++)
    {
      const AttnvizVariant *v = attnviz_variant_editor_get_variant (editor_for (self, which));
      GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), which == 0 ? "ablate-a" : "ablate-b");
      g_simple_action_set_state (G_SIMPLE_ACTION (action),
                                 g_variant_new_boolean (attnviz_variant_head_ablated (v, attnviz_view_state_get_layer (self->state), attnviz_view_state_get_head (self->state))));
    }
}

/* The grids badge the heads switched off in A and in B. */
void
_attnviz_window_update_marks (AttnvizWindow *self)
{
  int L = self->model ? attnviz_loaded_model_get_model (self->model)->config.n_layer : 0;
  int H = self->model ? attnviz_loaded_model_get_model (self->model)->config.n_head : 0;
  g_autofree guint8 *marks = g_new0 (guint8, MAX (L * H, 1));

  for (int which = 0; which < 2; which++)
    {
      const AttnvizVariant *v = attnviz_variant_editor_get_variant (editor_for (self, which));
      for (int i = 0; i < v->n_ablate; i++)
        if (v->ablate[i].layer < L && v->ablate[i].head < H)
          marks[v->ablate[i].layer * H + v->ablate[i].head] |= 1 << which;
    }
  attnviz_grid_view_set_marks (self->grid_view, marks, L * H);
  attnviz_grid_view_set_marks (self->changes_grid, marks, L * H);
}

/* Marks and specs belong to the comparison and the model they were made
 * for: leaving Compare or opening another model starts again from the
 * usual comparison, the model changed (A) against the model (B). */
void
_attnviz_window_reset_variants (AttnvizWindow *self)
{
  attnviz_variant_editor_set_spec (self->editor_a, "mask=bidirectional", NULL);
  attnviz_variant_editor_set_spec (self->editor_b, "", NULL);
}

/* Runs the comparison again if there is one to keep up to date (or a run
 * to turn into one). */
static gboolean
rerun_now (gpointer data)
{
  AttnvizWindow *self = data;
  g_autofree char *text = _attnviz_window_get_text (self);

  self->rerun_source = 0;
  if (self->compare && self->model != NULL && (attnviz_view_state_get_result (self->state) != NULL || self->comparison != NULL)
      && !_attnviz_window_text_is_blank (text))
    attnviz_window_run (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_rerun (AttnvizWindow *self)
{
  g_clear_handle_id (&self->rerun_source, g_source_remove);
  self->rerun_source = g_timeout_add (RERUN_DELAY_MS, rerun_now, self);
}

void
_attnviz_window_on_variant_changed (AttnvizVariantEditor *editor, GParamSpec *pspec, AttnvizWindow *self)
{
  _attnviz_window_update_ablate_states (self);
  _attnviz_window_update_marks (self);
  if (self->compare)
    schedule_rerun (self);
}

void
_attnviz_window_set_comparison (AttnvizWindow *self, AttnvizResult *comparison)
{
  if (!g_set_object (&self->comparison, comparison))
    return;

  attnviz_view_state_set_run (self->comparison_state, comparison);
  /* an encoder-decoder pair shows the attention the run's views show */
  attnviz_view_state_set_attention (self->comparison_state, attnviz_view_state_get_attention (self->state));
  if (comparison != NULL)
    {
      AttnvizResult *a = attnviz_difference_get_a (ATTNVIZ_DIFFERENCE (comparison));
      AttnvizResult *b = attnviz_difference_get_b (ATTNVIZ_DIFFERENCE (comparison));
      g_autofree char *means = attnviz_loss_strip_describe_means (self->loss_strip);
      g_autofree char *tooltip = g_strdup_printf ("Mean negative log-likelihood per token, in nats\n"
                                                  "A: %s\nB: %s", attnviz_result_get_variant (a),
                                                  attnviz_result_get_variant (b));
      gtk_label_set_text (self->loss_means, means);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->loss_means), tooltip);
    }
  _attnviz_window_update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_COMPARISON]);
}

void
attnviz_window_set_compare (AttnvizWindow *self, gboolean compare)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));

  compare = !!compare;
  if (compare == self->compare)
    return;
  if (compare && _attnviz_window_model_is_seq2seq (self))
    {
      _attnviz_window_show_toast (self, "Comparing variants is not available for encoder-decoder models");
      g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "compare")),
                                 g_variant_new_boolean (FALSE));
      return;
    }
  self->compare = compare;
  /* Hidden once slid up, so that its width does not hold the window wide. */
  if (compare)
    gtk_widget_set_visible (GTK_WIDGET (self->compare_revealer), TRUE);
  gtk_revealer_set_reveal_child (self->compare_revealer, compare);
  g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "compare")),
                             g_variant_new_boolean (compare));
  _attnviz_window_update_state (self);
  /* Turning it on compares the text shown at once. */
  if (compare)
    rerun_now (self);
  else
    {
      _attnviz_window_reset_variants (self);
      g_clear_handle_id (&self->rerun_source, g_source_remove);
    }
  g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_COMPARE]);
}

gboolean
attnviz_window_get_compare (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), FALSE);
  return self->compare;
}

AttnvizResult *
attnviz_window_get_comparison (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return self->comparison;
}

AttnvizVariantEditor *
attnviz_window_get_variant_editor (AttnvizWindow *self, int which)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  g_return_val_if_fail (which == 0 || which == 1, NULL);
  return editor_for (self, which);
}

GtkWidget *
attnviz_window_get_view (AttnvizWindow *self, const char *name)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  /* These pages hold a caption, a switch or a page over their view. */
  if (g_strcmp0 (name, "lines") == 0)
    return GTK_WIDGET (self->lines_view);
  if (g_strcmp0 (name, "changes") == 0)
    return GTK_WIDGET (self->changes_grid);
  if (g_strcmp0 (name, "compare") == 0)
    return GTK_WIDGET (self->compare_view);
  return adw_view_stack_get_child_by_name (self->view_stack, name);
}

/* Switches head LAYER/HEAD off in A (WHICH 0) or B, or back on. */
void
_attnviz_window_toggle_head (AttnvizWindow *self, int which, int layer, int head)
{
  if (_attnviz_window_model_is_seq2seq (self))
    {
      _attnviz_window_show_toast (self, "Heads are switched off in comparisons, which encoder-decoder models do not have");
      return;
    }
  gboolean off = attnviz_variant_editor_toggle_head (editor_for (self, which), layer, head);
  g_autofree char *message = g_strdup_printf ("Head %d of layer %d switched %s in %s", head, layer,
                                              off ? "off" : "back on", which == 0 ? "A" : "B");
  _attnviz_window_show_toast (self, message);
  /* The variant must be seen to be compared. */
  attnviz_window_set_compare (self, TRUE);
}

void
_attnviz_window_on_head_toggled (AttnvizGridView *grid, int layer, int head, GdkModifierType state, AttnvizWindow *self)
{
  _attnviz_window_toggle_head (self, (state & GDK_SHIFT_MASK) ? 1 : 0, layer, head);
}

void
_attnviz_window_on_compare_bar_revealed (GtkRevealer *revealer, GParamSpec *pspec, AttnvizWindow *self)
{
  if (!gtk_revealer_get_child_revealed (revealer) && !self->compare)
    gtk_widget_set_visible (GTK_WIDGET (revealer), FALSE);
}
