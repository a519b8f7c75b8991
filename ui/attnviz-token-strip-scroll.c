/* attnviz-token-strip-scroll.c: scrolling the token strip
 *
 * The strip sits in a scrolled window.  A wheel step moves it by
 * WHEEL_LINES lines of chips (the scrolled window's own step, the page
 * height to the power 2/3, is a line and a half: thousands of tokens took
 * hundreds of steps); a touchpad still scrolls by the pixel.  Ctrl+G asks
 * for a token number, selects that token and scrolls to it; setting the
 * selection scrolls its chip into view after the next layout.
 */
#define G_LOG_DOMAIN "attnviz-token-strip"
#include "config.h"

#include "attnviz-token-strip-private.h"

/* Lines of chips a wheel step scrolls. */
#define WHEEL_LINES 3

/* ---- Scrolling ------------------------------------------------------------- */

static GtkWidget *
scrolled_window (AttnvizTokenStrip *self)
{
  return gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_SCROLLED_WINDOW);
}

static void
on_scrolled (GtkAdjustment *adjustment, AttnvizTokenStrip *self)
{
  /* GTK keeps the strip's render node when only its offset changes: the
   * chips that come into view must be drawn. */
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Frames a scroll waits for the strip's new size at most. */
#define SCROLL_MAX_WAIT 30

static gboolean
scroll_to_selected_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (widget);
  graphene_rect_t chip;

  /* Ticks come before layout: a strip that has just got its tokens is
   * still allocated at its old height, and the window cannot scroll to a
   * chip below it yet. */
  if (attnviz_token_strip_get_chip_rect (self, self->selected_token, &chip)
      && chip.origin.y + chip.size.height > gtk_widget_get_height (widget)
      && ++self->scroll_waits < SCROLL_MAX_WAIT)
    return G_SOURCE_CONTINUE;
  self->scroll_tick = 0;
  attnviz_token_strip_scroll_to_token (self, self->selected_token);
  return G_SOURCE_REMOVE;
}

void
attnviz_token_strip_scroll_to_token (AttnvizTokenStrip *self, int index)
{
  g_return_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self));

  GtkWidget *sw = scrolled_window (self);
  graphene_rect_t chip, bounds;
  if (sw == NULL || !attnviz_token_strip_get_chip_rect (self, index, &chip)
      || !gtk_widget_compute_bounds (GTK_WIDGET (self), sw, &bounds))
    return;
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw));
  double top = bounds.origin.y + chip.origin.y, bottom = top + chip.size.height;
  double page = gtk_adjustment_get_page_size (adj), value = gtk_adjustment_get_value (adj);
  if (top < -page || bottom > 2 * page)
    gtk_adjustment_set_value (adj, value + (top + bottom - page) / 2);   /* a jump: centred */
  else if (top < SCROLL_MARGIN)
    gtk_adjustment_set_value (adj, value + top - SCROLL_MARGIN);
  else if (bottom > page - SCROLL_MARGIN)
    gtk_adjustment_set_value (adj, value + bottom - page + SCROLL_MARGIN);
}

/* After the next layout: the strip may not have its size yet. */
void
_attnviz_token_strip_queue_scroll_to_selected (AttnvizTokenStrip *self)
{
  if (self->selected_token < 0 || self->scroll_tick != 0)
    return;
  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  self->scroll_waits = 0;
  self->scroll_tick = gtk_widget_add_tick_callback (GTK_WIDGET (self), scroll_to_selected_tick, NULL, NULL);
}

void
_attnviz_token_strip_map (GtkWidget *widget)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (widget);
  GtkWidget *sw;

  GTK_WIDGET_CLASS (g_type_class_peek (GTK_TYPE_WIDGET))->map (widget);
  /* A viewport scrolls to a child that takes the focus: the whole strip,
   * so to its top, away from the chip just clicked.  The strip scrolls to
   * its selection itself. */
  GtkWidget *viewport = gtk_widget_get_ancestor (widget, GTK_TYPE_VIEWPORT);
  if (viewport != NULL)
    gtk_viewport_set_scroll_to_focus (GTK_VIEWPORT (viewport), FALSE);
  if ((sw = scrolled_window (self)) != NULL)
    {
      self->vadjustment = g_object_ref (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw)));
      g_signal_connect (self->vadjustment, "value-changed", G_CALLBACK (on_scrolled), self);
    }
  _attnviz_token_strip_queue_scroll_to_selected (self);
}

void
_attnviz_token_strip_unmap (GtkWidget *widget)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (widget);

  if (self->vadjustment != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->vadjustment, on_scrolled, self);
      g_clear_object (&self->vadjustment);
    }
  if (self->scroll_tick != 0)
    {
      gtk_widget_remove_tick_callback (widget, self->scroll_tick);
      self->scroll_tick = 0;
    }
  GTK_WIDGET_CLASS (g_type_class_peek (GTK_TYPE_WIDGET))->unmap (widget);
}

/* ---- The wheel ----------------------------------------------------------------- */

static gboolean
on_scroll (GtkEventControllerScroll *controller, double dx, double dy, AttnvizTokenStrip *self)
{
  GtkWidget *sw = scrolled_window (self);
  if (sw == NULL || dy == 0 || gtk_event_controller_scroll_get_unit (controller) != GDK_SCROLL_UNIT_WHEEL)
    return FALSE;
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw));
  double pitch = self->chip_height + SPACING;
  gtk_adjustment_set_value (adj, gtk_adjustment_get_value (adj) + dy * WHEEL_LINES * pitch);
  return TRUE;
}

/* ---- Going to a token ------------------------------------------------------------ */

static void
go_to_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (widget);
  int T = n_tokens (self);
  if (T == 0)
    return;
  int token = CLAMP (g_variant_get_int32 (parameter), 0, T - 1);
  /* Scrolled to it before the next layout (once, by the selection). */
  if (token == self->selected_token)
    attnviz_token_strip_scroll_to_token (self, token);
  else
    attnviz_token_strip_select (self, token);
}

static void
on_go_to_activate (GtkEntry *entry, AttnvizTokenStrip *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  gint64 token;
  /* A number, or nothing happens: the entry stays for another try. */
  if (!g_ascii_string_to_signed (text, 10, 0, G_MAXINT32, &token, NULL))
    {
      gtk_widget_error_bell (GTK_WIDGET (entry));
      return;
    }
  gtk_widget_activate_action (GTK_WIDGET (self), "tokens.go-to", "i", (gint32) token);
  gtk_popover_popdown (GTK_POPOVER (self->go_to));
  gtk_widget_grab_focus (GTK_WIDGET (self));
}

void
_attnviz_token_strip_allocate_popover (AttnvizTokenStrip *self)
{
  if (self->go_to != NULL)
    gtk_popover_present (GTK_POPOVER (self->go_to));
}

static void
show_go_to_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (widget);
  int T = n_tokens (self);
  if (T == 0)
    return;
  if (self->go_to == NULL)
    {
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *entry = gtk_entry_new ();
      gtk_entry_set_input_purpose (GTK_ENTRY (entry), GTK_INPUT_PURPOSE_DIGITS);
      gtk_editable_set_width_chars (GTK_EDITABLE (entry), 7);
      gtk_box_append (GTK_BOX (box), gtk_label_new ("Go to token"));
      gtk_box_append (GTK_BOX (box), entry);
      g_signal_connect (entry, "activate", G_CALLBACK (on_go_to_activate), self);
      self->go_to = gtk_popover_new ();
      gtk_popover_set_child (GTK_POPOVER (self->go_to), box);
      gtk_popover_set_position (GTK_POPOVER (self->go_to), GTK_POS_BOTTOM);
      gtk_widget_set_parent (self->go_to, widget);
    }
  GtkWidget *box = gtk_popover_get_child (GTK_POPOVER (self->go_to));
  GtkWidget *entry = gtk_widget_get_last_child (box);
  g_autofree char *hint = g_strdup_printf ("0 – %d", T - 1);
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), hint);
  g_autofree char *now = self->selected_token >= 0 ? g_strdup_printf ("%d", self->selected_token) : g_strdup ("");
  gtk_editable_set_text (GTK_EDITABLE (entry), now);
  /* At the top of the part of the strip in view. */
  graphene_rect_t view;
  attnviz_widget_visible_rect (widget, &view);
  gtk_popover_set_pointing_to (GTK_POPOVER (self->go_to),
                               &(GdkRectangle) { view.origin.x + 12, view.origin.y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->go_to));
  gtk_widget_grab_focus (entry);
}

void
_attnviz_token_strip_class_init_scroll (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "tokens.go-to", "i", go_to_action);
  gtk_widget_class_install_action (widget_class, "tokens.show-go-to", NULL, show_go_to_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_g, GDK_CONTROL_MASK, "tokens.show-go-to", NULL);
}

void
_attnviz_token_strip_init_scroll (AttnvizTokenStrip *self)
{
  GtkEventController *controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (controller, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
}
