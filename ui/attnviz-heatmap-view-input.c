/* attnviz-heatmap-view-input.c: zoom, pan, hover, selection and the
 * tooltip of the heatmap view
 *
 * Zooming paints a larger virtual figure, moved by the pan offset and
 * clipped to the widget; a click selects a token through the view's
 * state, so every view shows it.
 */
#define G_LOG_DOMAIN "attnviz-heatmap-view"
#include "config.h"

#include <math.h>

#include "attnviz-difference.h"
#include "attnviz-heatmap-view-private.h"

#define ZOOM_STEP 1.25
#define SCROLL_WHEEL_PIXELS 48.0

/* ---- Zoom and pan --------------------------------------------------------- */

/* Zooms to ZOOM keeping the figure's point under the widget's (X, Y)
 * there.  The labels, titles and colour bar keep their size as the
 * matrix grows, so the figure does not scale as one: the point is kept by
 * its place in the matrix (in cells, fractions included), read off the
 * layouts before and after. */
void
attnviz_heatmap_view_zoom_at (AttnvizHeatmapView *self, double zoom, double x, double y)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  zoom = CLAMP (zoom, 1.0, ATTNVIZ_HEATMAP_VIEW_MAX_ZOOM);
  if (zoom == self->zoom)
    return;
  AttnvizHeatmapLayout before;
  gboolean anchored = attnviz_heatmap_view_get_layout (self, &before, NULL, NULL)
                      && before.matrix.width > 0 && before.matrix.height > 0;
  double u = anchored ? (x + self->pan_x - before.matrix.x) / before.matrix.width : 0;
  double v = anchored ? (y + self->pan_y - before.matrix.y) / before.matrix.height : 0;
  double k = zoom / self->zoom;
  self->zoom = zoom;
  invalidate_content (self);
  AttnvizHeatmapLayout after;
  if (anchored && attnviz_heatmap_view_get_layout (self, &after, NULL, NULL))
    {
      self->pan_x = after.matrix.x + u * after.matrix.width - x;
      self->pan_y = after.matrix.y + v * after.matrix.height - y;
    }
  else
    {
      self->pan_x = (x + self->pan_x) * k - x;
      self->pan_y = (y + self->pan_y) * k - y;
    }
  clamp_pan (self);
  _attnviz_heatmap_view_notify_zoom (self);
}

void
_attnviz_heatmap_view_zoom_at_centre (AttnvizHeatmapView *self, double zoom)
{
  attnviz_heatmap_view_zoom_at (self, zoom, gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
           gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

static void
pan_to (AttnvizHeatmapView *self, double pan_x, double pan_y)
{
  double old_x = self->pan_x, old_y = self->pan_y;
  self->pan_x = pan_x;
  self->pan_y = pan_y;
  clamp_pan (self);
  if (self->pan_x != old_x || self->pan_y != old_y)
    {
      /* The content is painted for one offset: moving repaints only what
       * shows, which the painter does in a few milliseconds. */
      invalidate_content (self);
    }
}

static gboolean
on_scroll (GtkEventControllerScroll *controller, double dx, double dy, AttnvizHeatmapView *self)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  gboolean wheel = gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_WHEEL;

  if (state & GDK_CONTROL_MASK)
    {
      double factor = wheel ? pow (ZOOM_STEP, -dy) : exp (-dy * 0.01);
      attnviz_heatmap_view_zoom_at (self, self->zoom * factor, self->pointer_x, self->pointer_y);
      return TRUE;
    }
  if (self->zoom <= 1.0)
    return FALSE;
  double k = wheel ? SCROLL_WHEEL_PIXELS : 1.0;
  if (state & GDK_SHIFT_MASK)
    pan_to (self, self->pan_x + dy * k, self->pan_y + dx * k);
  else
    pan_to (self, self->pan_x + dx * k, self->pan_y + dy * k);
  return TRUE;
}

static void
on_zoom_begin (GtkGesture *gesture, GdkEventSequence *sequence, AttnvizHeatmapView *self)
{
  self->pinch_zoom = self->zoom;
}

static void
on_zoom_scale_changed (GtkGestureZoom *gesture, double scale, AttnvizHeatmapView *self)
{
  double x, y;
  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    {
      x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
    }
  attnviz_heatmap_view_zoom_at (self, self->pinch_zoom * scale, x, y);
}

/* ---- Pointer -------------------------------------------------------------- */

static void
set_hover (AttnvizHeatmapView *self, int row, int col)
{
  if (row == self->hover_row && col == self->hover_col)
    return;
  self->hover_row = row;
  self->hover_col = col;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit_by_name (self, "hover-changed", row, col);
}

void
attnviz_heatmap_view_set_hover (AttnvizHeatmapView *self, int row, int col)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  set_hover (self, row >= 0 && row < n_tokens (self) ? row : -1, col >= 0 && col < n_cols (self) ? col : -1);
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, AttnvizHeatmapView *self)
{
  int row = -1, col = -1;

  self->pointer_x = x;
  self->pointer_y = y;
  if (self->dragging)
    return;
  attnviz_heatmap_view_hit (self, x, y, &row, &col);
  set_hover (self, row, col);
}

static void
on_leave (GtkEventControllerMotion *controller, AttnvizHeatmapView *self)
{
  set_hover (self, -1, -1);
}

static void
on_drag_begin (GtkGestureDrag *gesture, double x, double y, AttnvizHeatmapView *self)
{
  self->drag_pan_x = self->pan_x;
  self->drag_pan_y = self->pan_y;
  self->dragging = FALSE;
  if (gtk_widget_get_focusable (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self));
}

static void
on_drag_update (GtkGestureDrag *gesture, double dx, double dy, AttnvizHeatmapView *self)
{
  double x, y;

  gtk_gesture_drag_get_start_point (gesture, &x, &y);
  if (!self->dragging && !gtk_drag_check_threshold (GTK_WIDGET (self), x, y, x + dx, y + dy))
    return;
  if (!self->dragging)
    {
      self->dragging = TRUE;
      set_hover (self, -1, -1);
      gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
    }
  pan_to (self, self->drag_pan_x - dx, self->drag_pan_y - dy);
}

static void
on_drag_end (GtkGestureDrag *gesture, double dx, double dy, AttnvizHeatmapView *self)
{
  double x, y;
  int row, col;

  if (self->dragging)
    {
      self->dragging = FALSE;
      gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
      return;
    }
  /* A click: a cell selects its query, a label its token; again clears. */
  gtk_gesture_drag_get_start_point (gesture, &x, &y);
  if (!attnviz_heatmap_view_hit (self, x, y, &row, &col))
    return;
  AttnvizViewState *state = figure_state (self);
  if (row < 0 && !is_square (self))
    {
      /* A source token's label, across the columns of the cross-attention. */
      int key = attnviz_view_state_get_selected_source (state);
      attnviz_view_state_set_selected_source (state, col == key ? -1 : col);
      return;
    }
  int token = row >= 0 ? row : col;
  int selected = attnviz_view_state_get_row_token (state);
  attnviz_view_state_set_row_token (state, token == selected ? -1 : token);
}

static char *
token_markup (AttnvizHeatmapView *self, AttnvizAxis axis, int index)
{
  const char *label = axis == ATTNVIZ_AXIS_ROWS ? attnviz_result_get_label (shown_result (self), index)
                                                : attnviz_result_get_col_label (shown_result (self), index);
  g_autofree char *shown = attnviz_painter_display_text (label);
  g_autofree char *escaped = g_markup_escape_text (shown, -1);
  return g_strdup_printf ("%d “%s”", index, escaped);
}

/* A long run's cell: its exact value, from an exact tile or computed off
 * the main loop; NULL until it is known (the tooltip is asked again when
 * it arrives). */
static char *
long_cell_markup (AttnvizHeatmapView *self, int row, int col)
{
  float v, a, b;
  g_autofree char *q = token_markup (self, ATTNVIZ_AXIS_ROWS, row);
  g_autofree char *k = token_markup (self, ATTNVIZ_AXIS_COLS, col);
  const char *qn = is_square (self) ? "query" : "target", *kn = is_square (self) ? "key" : "source";
  if (!attnviz_heatmap_tiles_get_value (self->tiles, row, col, &v, &a, &b))
    return NULL;
  if (ATTNVIZ_IS_DIFFERENCE (shown_result (self)))
    return g_strdup_printf ("<b>%s</b> %s\n<b>%s</b> %s\n<b>A − B</b> %+.4g\n<b>A</b> %.4g · <b>B</b> %.4g",
                            qn, q, kn, k, v, a, b);
  return g_strdup_printf ("<b>%s</b> %s\n<b>%s</b> %s\n<b>%s</b> %.4g", qn, q, kn, k, shown_unit (self), v);
}

/* A pixel of a pooled picture: the bin of K x K cells it shows, named by
 * its ranges, with the max it is painted by and the mean of its cells,
 * computed exactly off the main loop; NULL until known. */
static char *
long_bin_markup (AttnvizHeatmapView *self, int row, int col, int k)
{
  int br = row / k, bc = col / k;
  int r0 = br * k, r1 = MIN (r0 + k, n_tokens (self)) - 1, c0 = bc * k, c1 = MIN (c0 + k, n_cols (self)) - 1;
  float max, mean;
  int cells;
  if (!attnviz_heatmap_tiles_get_bin (self->tiles, k, br, bc, &max, &mean, &cells))
    return NULL;
  const char *qn = is_square (self) ? "queries" : "targets", *kn = is_square (self) ? "keys" : "sources";
  GString *m = g_string_new (NULL);
  g_string_append_printf (m, "<b>%s</b> %d–%d\n<b>%s</b> %d–%d\n", qn, r0, r1, kn, c0, c1);
  if (cells == 0)
    g_string_append (m, "masked: the model sees none of these cells");
  else if (ATTNVIZ_IS_DIFFERENCE (shown_result (self)))
    g_string_append_printf (m, "<b>largest A − B</b> %+.4g · <b>mean</b> %+.4g", max, mean);
  else
    g_string_append_printf (m, "<b>max</b> %.4g · <b>mean</b> %.4g", max, mean);
  g_string_append_printf (m, "\none pixel: %d × %d cells", r1 - r0 + 1, c1 - c0 + 1);
  if (cells > 0 && cells < (r1 - r0 + 1) * (c1 - c0 + 1))
    g_string_append_printf (m, ", %d of them seen (the rest masked)", cells);
  return g_string_free (m, FALSE);
}

static char *
pending_markup (AttnvizHeatmapView *self, int row, int col)
{
  int k = self->bin;
  if (k <= 1)
    {
      g_autofree char *q = token_markup (self, ATTNVIZ_AXIS_ROWS, row);
      g_autofree char *c = token_markup (self, ATTNVIZ_AXIS_COLS, col);
      return g_strdup_printf ("<b>%s</b> %s\n<b>%s</b> %s\n<i>computing its value…</i>", is_square (self) ? "query" : "target",
                              q, is_square (self) ? "key" : "source", c);
    }
  int r0 = row / k * k, c0 = col / k * k;
  float max;
  g_autofree char *painted = attnviz_heatmap_tiles_peek (self->tiles, k, row / k, col / k, &max)
                                 ? g_strdup_printf ("<b>max</b> %.4g · <i>computing the mean…</i>", max)
                                 : g_strdup ("<i>computing its max and mean…</i>");
  return g_strdup_printf ("<b>%s</b> %d–%d\n<b>%s</b> %d–%d\n%s", is_square (self) ? "queries" : "targets", r0,
                          MIN (r0 + k, n_tokens (self)) - 1, is_square (self) ? "keys" : "sources", c0,
                          MIN (c0 + k, n_cols (self)) - 1, painted);
}

char *
attnviz_heatmap_view_describe_cell (AttnvizHeatmapView *self, int row, int col)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), NULL);
  g_return_val_if_fail (is_long (self), NULL);
  g_return_val_if_fail (row >= 0 && row < n_tokens (self) && col >= 0 && col < n_cols (self), NULL);

  return self->bin > 1 ? long_bin_markup (self, row, col, self->bin) : long_cell_markup (self, row, col);
}

/* Whether RESULT's run hid key COL from query ROW by its sparse pattern
 * (the self-attention of a model trained sparse, or of a mask variant). */
static gboolean
pattern_hides (AttnvizResult *result, int row, int col)
{
  const AttnvizRecording *rec = attnviz_result_get_recording (result);
  return !ATTNVIZ_IS_DIFFERENCE (result) && rec != NULL && attnviz_result_get_kind (result) == ATTNVIZ_ATTENTION_SELF
         && !attnviz_pattern_is_dense (&rec->pattern) && attnviz_recording_masks (rec, row, col);
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (widget);
  int row, col;

  if (keyboard || self->dragging || !attnviz_heatmap_view_hit (self, x, y, &row, &col))
    return FALSE;

  g_autofree char *markup = NULL;
  if (row >= 0 && col >= 0 && col > row && self->bin <= 1 && is_square (self)
      && attnviz_result_get_causal (shown_result (self)))
    {
      /* Drawn in the no-data colour: no weight, not a weight of 0. */
      g_autofree char *q = token_markup (self, ATTNVIZ_AXIS_ROWS, row);
      g_autofree char *k = token_markup (self, ATTNVIZ_AXIS_COLS, col);
      markup = g_strdup_printf ("<b>query</b> %s\n<b>key</b> %s\nmasked: a later key, which this query does not see",
                                q, k);
    }
  else if (row >= 0 && col >= 0 && self->bin <= 1 && !is_long (self) && pattern_hides (shown_result (self), row, col))
    {
      /* A sparse pattern's 0 is the mask's, not a weight the model gave. */
      const AttnvizRecording *rec = attnviz_result_get_recording (shown_result (self));
      g_autofree char *q = token_markup (self, ATTNVIZ_AXIS_ROWS, row);
      g_autofree char *k = token_markup (self, ATTNVIZ_AXIS_COLS, col);
      g_autofree char *pattern = attnviz_pattern_to_string (&rec->pattern);
      markup = g_strdup_printf ("<b>query</b> %s\n<b>key</b> %s\nmasked: outside the %s pattern, so this query "
                                "does not see it", q, k, pattern);
    }
  else if (row >= 0 && col >= 0 && is_long (self))
    {
      /* Until its value is known (asked again when it arrives), what is
       * known: the cell or the bin, and the max a ready tile paints. */
      markup = attnviz_heatmap_view_describe_cell (self, row, col);
      if (markup == NULL)
        markup = pending_markup (self, row, col);
    }
  else if (row >= 0 && col >= 0)
    {
      const float *m = attnviz_result_get_matrix (shown_result (self), figure_aggregate (self), figure_layer (self), figure_head (self));
      g_autofree char *q = token_markup (self, ATTNVIZ_AXIS_ROWS, row);
      g_autofree char *k = token_markup (self, ATTNVIZ_AXIS_COLS, col);
      gsize at = (gsize) row * n_cols (self) + col;
      if (ATTNVIZ_IS_DIFFERENCE (shown_result (self)))
        {
          AttnvizDifference *d = ATTNVIZ_DIFFERENCE (shown_result (self));
          const float *ma = attnviz_result_get_matrix (attnviz_difference_get_a (d), figure_aggregate (self),
                                                       figure_layer (self), figure_head (self));
          const float *mb = attnviz_result_get_matrix (attnviz_difference_get_b (d), figure_aggregate (self),
                                                       figure_layer (self), figure_head (self));
          markup = g_strdup_printf ("<b>query</b> %s\n<b>key</b> %s\n<b>A − B</b> %+.4g\n"
                                    "<b>A</b> %.4g · <b>B</b> %.4g",
                                    q, k, m[at], ma[at], mb[at]);
        }
      else if (!is_square (self))
        {
          /* The decoder reads target token ROW to write the next one:
           * the weight is that step's look at the source. */
          g_autofree char *next = NULL;
          if (row + 1 < n_tokens (self))
            {
              g_autofree char *shown = attnviz_painter_display_text (attnviz_result_get_label (shown_result (self), row + 1));
              g_autofree char *escaped = g_markup_escape_text (shown, -1);
              next = g_strdup_printf (" → “%s”", escaped);
            }
          markup = g_strdup_printf ("<b>target</b> %s%s\n<b>source</b> %s\n<b>%s</b> %.4g", q,
                                    next ? next : "", k, shown_unit (self), m[at]);
        }
      else
        markup = g_strdup_printf ("<b>query</b> %s\n<b>key</b> %s\n<b>%s</b> %.4g", q, k, shown_unit (self), m[at]);
    }
  else
    {
      AttnvizAxis axis = row >= 0 ? ATTNVIZ_AXIS_ROWS : ATTNVIZ_AXIS_COLS;
      int index = row >= 0 ? row : col;
      g_autofree char *t = token_markup (self, axis, index);
      const char *name = is_square (self) ? (row >= 0 ? "query" : "key") : (row >= 0 ? "target" : "source");
      markup = g_strdup_printf ("<b>%s</b> %s\nid %d · click to highlight", name, t,
                                row >= 0 ? attnviz_result_get_token_id (shown_result (self), index)
                                         : attnviz_result_get_col_token_id (shown_result (self), index));
    }
  gtk_tooltip_set_markup (tooltip, markup);
  return TRUE;
}

/* ---- Actions -------------------------------------------------------------- */

static void
step_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (widget);

  if (g_str_equal (action_name, "heatmap.zoom-in"))
    _attnviz_heatmap_view_zoom_at_centre (self, self->zoom * ZOOM_STEP);
  else if (g_str_equal (action_name, "heatmap.zoom-out"))
    _attnviz_heatmap_view_zoom_at_centre (self, self->zoom / ZOOM_STEP);
  else if (g_str_equal (action_name, "heatmap.zoom-fit"))
    attnviz_heatmap_view_set_zoom (self, 1.0);
}

/* Out of sight, the tiles no frame will want any more stop now: a view
 * left for another page would go on computing a long head's picture
 * beside the next run. */
static void
heatmap_unmap (GtkWidget *widget)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (widget);

  if (self->tiles != NULL)
    {
      attnviz_heatmap_tiles_begin_frame (self->tiles);
      attnviz_heatmap_tiles_end_frame (self->tiles);
    }
  GTK_WIDGET_CLASS (g_type_class_peek (ATTNVIZ_TYPE_FIGURE_VIEW))->unmap (widget);
}

void
_attnviz_heatmap_view_class_init_input (GtkWidgetClass *widget_class)
{
  widget_class->unmap = heatmap_unmap;
  static const struct { guint key; const char *action; } keys[] = {
    { GDK_KEY_plus, "heatmap.zoom-in" }, { GDK_KEY_equal, "heatmap.zoom-in" },
    { GDK_KEY_KP_Add, "heatmap.zoom-in" }, { GDK_KEY_minus, "heatmap.zoom-out" },
    { GDK_KEY_KP_Subtract, "heatmap.zoom-out" }, { GDK_KEY_0, "heatmap.zoom-fit" },
    { GDK_KEY_KP_0, "heatmap.zoom-fit" },
  };

  gtk_widget_class_install_action (widget_class, "heatmap.zoom-in", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "heatmap.zoom-out", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "heatmap.zoom-fit", NULL, step_action);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    gtk_widget_class_add_binding_action (widget_class, keys[i].key, 0, keys[i].action, NULL);
}

/* The keys (+, −, 0, arrows) are the view's: it takes the focus when it
 * comes into view or shows a new run, unless the user is typing (a text
 * field, where + and 0 are text, keeps it).  Clicking first would move
 * the selection. */
void
_attnviz_heatmap_view_take_focus (AttnvizHeatmapView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkRoot *root = gtk_widget_get_root (widget);
  if (root == NULL || !gtk_widget_get_mapped (widget) || !gtk_widget_get_focusable (widget))
    return;
  GtkWidget *focus = gtk_root_get_focus (root);
  if (focus != NULL && gtk_widget_get_mapped (focus)
      && (GTK_IS_EDITABLE (focus) || GTK_IS_TEXT_VIEW (focus)))
    return;
  gtk_widget_grab_focus (widget);
}

static void
on_map (GtkWidget *widget, gpointer data)
{
  _attnviz_heatmap_view_take_focus (ATTNVIZ_HEATMAP_VIEW (widget));
}

void
_attnviz_heatmap_view_init_input (AttnvizHeatmapView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *controller;
  GtkGesture *gesture;

  gtk_widget_set_has_tooltip (widget, TRUE);
  g_signal_connect (widget, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);
  g_signal_connect (widget, "map", G_CALLBACK (on_map), NULL);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "enter", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (widget, controller);

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (controller, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (widget, controller);

  gesture = gtk_gesture_zoom_new ();
  g_signal_connect (gesture, "begin", G_CALLBACK (on_zoom_begin), self);
  g_signal_connect (gesture, "scale-changed", G_CALLBACK (on_zoom_scale_changed), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (gesture));
}
