/* attnviz-grid-view-input.c: the grid's pointer, keys, menu and tooltip
 *
 * A click makes a thumbnail the current head and opens it
 * ("head-activated"); Ctrl+click asks for it to be switched off
 * ("head-toggled"); a right click, Shift+F10 or the Menu key opens the
 * menu model on it; the arrows step heads and layers through the state.
 */
#define G_LOG_DOMAIN "attnviz-grid-view"
#include "config.h"

#include "attnviz-grid-view-private.h"

static void
set_hover (AttnvizGridView *self, int layer, int head)
{
  if (layer == self->hover_layer && head == self->hover_head)
    return;
  self->hover_layer = layer;
  self->hover_head = head;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), layer >= 0 ? "pointer" : NULL);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, AttnvizGridView *self)
{
  int layer = -1, head = -1;

  if (!_attnviz_grid_view_hit_cell (self, x, y, &layer, &head))
    layer = head = -1;
  set_hover (self, layer, head);
}

static void
on_leave (GtkEventControllerMotion *controller, AttnvizGridView *self)
{
  set_hover (self, -1, -1);
}

static void
on_released (GtkGestureClick *gesture, int n_press, double x, double y, AttnvizGridView *self)
{
  int layer, head;

  if (gtk_widget_get_focusable (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self));
  if (!_attnviz_grid_view_hit_cell (self, x, y, &layer, &head))
    return;
  if (head == n_heads (self))
    {
      /* A layer's aggregate: the views show it for that layer. */
      attnviz_view_state_set_layer (figure_state (self), layer);
      g_signal_emit (self, _attnviz_grid_view_signals[HEAD_ACTIVATED], 0, layer, figure_head (self));
      return;
    }
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (gesture));
  attnviz_view_state_set_layer (figure_state (self), layer);
  attnviz_view_state_set_head (figure_state (self), head);
  if (state & GDK_CONTROL_MASK)
    g_signal_emit (self, _attnviz_grid_view_signals[HEAD_TOGGLED], 0, layer, head, state & gtk_accelerator_get_default_mod_mask ());
  else
    g_signal_emit (self, _attnviz_grid_view_signals[HEAD_ACTIVATED], 0, layer, head);
}

static void
popup_menu (AttnvizGridView *self, double x, double y)
{
  if (self->menu_model == NULL)
    return;
  if (self->menu == NULL)
    {
      self->menu = gtk_popover_menu_new_from_model (self->menu_model);
      gtk_widget_set_parent (self->menu, GTK_WIDGET (self));
      gtk_popover_set_has_arrow (GTK_POPOVER (self->menu), FALSE);
      gtk_widget_set_halign (self->menu, GTK_ALIGN_START);
    }
  gtk_popover_set_pointing_to (GTK_POPOVER (self->menu), &(GdkRectangle) { (int) x, (int) y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->menu));
}

static void
on_secondary_pressed (GtkGestureClick *gesture, int n_press, double x, double y, AttnvizGridView *self)
{
  int layer, head;

  if (!attnviz_grid_view_hit (self, x, y, &layer, &head))
    return;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  if (gtk_widget_get_focusable (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self));
  attnviz_view_state_set_layer (figure_state (self), layer);
  attnviz_view_state_set_head (figure_state (self), head);
  popup_menu (self, x, y);
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (widget);
  int layer, head;

  if (keyboard)
    {
      layer = figure_layer (self);
      head = figure_head (self);
    }
  else if (!_attnviz_grid_view_hit_cell (self, x, y, &layer, &head))
    return FALSE;
  if (head == n_heads (self))
    {
      g_autofree char *what = attnviz_result_describe (figure_result (self), figure_aggregate (self), layer, 0);
      g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>\nclick to open its heatmap", what);
      gtk_tooltip_set_markup (tooltip, markup);
      return TRUE;
    }
  const double *tvd = ATTNVIZ_IS_DIFFERENCE (figure_result (self))
                        ? attnviz_difference_get_tvd (ATTNVIZ_DIFFERENCE (figure_result (self))) : NULL;
  g_autofree char *markup = NULL;
  if (tvd != NULL)
    markup = g_strdup_printf ("<b>layer %d · head %d</b>\ntotal variation distance %.4f\n"
                              "click to compare A and B", layer, head, tvd[layer * n_heads (self) + head]);
  else
    markup = g_strdup_printf ("<b>layer %d · head %d</b>\nclick to open its heatmap", layer, head);
  gtk_tooltip_set_markup (tooltip, markup);
  return TRUE;
}

static void
step_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (widget);

  /* The arrows are the figure base's (figure.next-head …). */
  if (g_str_equal (action_name, "grid.activate-head") && figure_result (self) != NULL)
    g_signal_emit (self, _attnviz_grid_view_signals[HEAD_ACTIVATED], 0, figure_layer (self), figure_head (self));
  else if (g_str_equal (action_name, "grid.show-menu") && figure_result (self) != NULL && _attnviz_grid_view_ensure_layout (self))
    {
      AttnvizRect r;
      if (attnviz_grid_layout_cell_rect (&self->layout, figure_layer (self), figure_head (self), &r))
        popup_menu (self, r.x + r.width / 2, r.y + r.height / 2);
    }
}

void
_attnviz_grid_view_class_init_input (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "grid.activate-head", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "grid.show-menu", NULL, step_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, 0, "grid.activate-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, 0, "grid.activate-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_space, 0, "grid.activate-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F10, GDK_SHIFT_MASK, "grid.show-menu", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Menu, 0, "grid.show-menu", NULL);
}

void
_attnviz_grid_view_init_input (AttnvizGridView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *controller;
  GtkGesture *gesture;

  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_has_tooltip (widget, TRUE);
  g_signal_connect (widget, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "enter", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (widget, controller);

  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "released", G_CALLBACK (on_released), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_SECONDARY);
  g_signal_connect (gesture, "pressed", G_CALLBACK (on_secondary_pressed), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (gesture));
}
