/* attnviz-lines-view.c: one head in BertViz's style, queries on the left,
 * keys on the right, a line per weight with the weight as its opacity
 *
 * Hovering a query shows only its lines; clicking a token selects it.
 */
#define G_LOG_DOMAIN "attnviz-lines-view"
#include "config.h"

#include <gio/gio.h>

#include "attnviz-lines-view.h"
#include "attnviz-widgets-private.h"

#define SCREEN_FONT_SIZE 12.0

struct _AttnvizLinesView
{
  GtkWidget parent_instance;

  AttnvizResult *result;
  int layer;
  int head;
  AttnvizAggregate aggregate;
  int selected_token;

  char *title;
  char *subtitle;
  float *read_matrix;   /* a long run's rows, read through its source */

  GskRenderNode *content;     /* painted with content_row highlighted */
  int content_row;
  AttnvizLinesLayout layout;
  gboolean layout_valid;
  int cache_width, cache_height;

  int hover_row;              /* a query under the pointer, or -1 */
};

G_DEFINE_FINAL_TYPE (AttnvizLinesView, attnviz_lines_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_RESULT,
  PROP_LAYER,
  PROP_HEAD,
  PROP_AGGREGATE,
  PROP_SELECTED_TOKEN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
invalidate_content (AttnvizLinesView *self)
{
  g_clear_pointer (&self->content, gsk_render_node_unref);
  self->layout_valid = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static int
n_tokens (AttnvizLinesView *self)
{
  /* The longer of the two columns: what has to fit. */
  return self->result ? MAX (attnviz_result_get_n_tokens (self->result), attnviz_result_get_n_cols (self->result)) : 0;
}

static int
n_rows (AttnvizLinesView *self)
{
  return self->result ? attnviz_result_get_n_tokens (self->result) : 0;
}

gboolean
attnviz_lines_view_get_spec (AttnvizLinesView *self, AttnvizLinesSpec *spec, GError **error)
{
  g_return_val_if_fail (ATTNVIZ_IS_LINES_VIEW (self), FALSE);

  const float *matrix = self->result
    ? attnviz_result_get_matrix (self->result, self->aggregate, self->layer, self->head) : NULL;
  int T = n_tokens (self);
  if (matrix == NULL && T <= ATTNVIZ_LINES_VIEW_MAX_TOKENS && self->result != NULL
      && attnviz_result_has_matrix (self->result, self->aggregate, self->layer, self->head))
    {
      /* A run that keeps no dense matrices: the few rows drawn, read exactly. */
      int rows = n_rows (self), cols = attnviz_result_get_n_cols (self->result);
      g_free (self->read_matrix);
      self->read_matrix = g_new (float, MAX ((gsize) rows * cols, 1));
      attnviz_result_get_rect (self->result, self->aggregate, self->layer, self->head, 0, rows, 0, cols,
                               self->read_matrix, cols);
      matrix = self->read_matrix;
    }
  if (T > ATTNVIZ_LINES_VIEW_MAX_TOKENS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "Too many tokens for the lines view: %d (at most %d). Use the heatmap.",
                   T, ATTNVIZ_LINES_VIEW_MAX_TOKENS);
      return FALSE;
    }
  if (matrix == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "There is no attention to draw yet.");
      return FALSE;
    }
  /* Queries on the left, keys on the right: for the cross-attention the
   * target on the left and the source on the right. */
  attnviz_lines_spec_init (spec, matrix, n_rows (self), attnviz_result_get_n_cols (self->result));
  spec->row_labels = attnviz_result_get_labels (self->result);
  spec->col_labels = attnviz_result_get_col_labels (self->result);
  g_free (self->title);
  self->title = attnviz_result_describe (self->result, self->aggregate, self->layer, self->head);
  g_free (self->subtitle);
  self->subtitle = attnviz_result_describe_run (self->result);
  spec->title = self->title;
  spec->subtitle = self->subtitle;
  spec->highlight_row = self->selected_token;
  return TRUE;
}

static gboolean
screen_spec (AttnvizLinesView *self, AttnvizLinesSpec *spec)
{
  if (!attnviz_lines_view_get_spec (self, spec, NULL))
    return FALSE;
  spec->font_size = SCREEN_FONT_SIZE;
  if (self->hover_row >= 0)
    spec->highlight_row = self->hover_row;
  attnviz_widget_get_foreground (GTK_WIDGET (self), &spec->foreground);
  return TRUE;
}

static gboolean
ensure_layout (AttnvizLinesView *self)
{
  AttnvizLinesSpec spec;

  if (self->layout_valid)
    return TRUE;
  if (!screen_spec (self, &spec))
    return FALSE;
  attnviz_lines_layout (&spec, gtk_widget_get_width (GTK_WIDGET (self)),
                        gtk_widget_get_height (GTK_WIDGET (self)), &self->layout);
  self->layout_valid = TRUE;
  return TRUE;
}

static void
attnviz_lines_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  AttnvizLinesView *self = ATTNVIZ_LINES_VIEW (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  AttnvizLinesSpec spec;

  if (self->result == NULL || width <= 0 || height <= 0)
    return;
  if (n_tokens (self) > ATTNVIZ_LINES_VIEW_MAX_TOKENS)
    {
      g_autofree char *message =
        g_strdup_printf ("Too many tokens for the lines view: %d (at most %d).\nThe heatmap shows every one.",
                         n_tokens (self), ATTNVIZ_LINES_VIEW_MAX_TOKENS);
      attnviz_snapshot_message (widget, snapshot, message);
      return;
    }
  if (!ensure_layout (self) || !screen_spec (self, &spec))
    {
      attnviz_snapshot_message (widget, snapshot, "This head was not recorded.");
      return;
    }

  if (self->content == NULL || self->content_row != spec.highlight_row
      || self->cache_width != width || self->cache_height != height)
    {
      g_clear_pointer (&self->content, gsk_render_node_unref);
      self->content = attnviz_figure_node (ATTNVIZ_FIGURE_LINES, &spec, width, height, width, height, 0, 0);
      self->content_row = spec.highlight_row;
      self->cache_width = width;
      self->cache_height = height;
    }
  if (self->content)
    gtk_snapshot_append_node (snapshot, self->content);
}

static void
attnviz_lines_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                            int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = 160;
  *natural = 480;
}

static void
attnviz_lines_view_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  AttnvizLinesView *self = ATTNVIZ_LINES_VIEW (widget);

  if (width != self->cache_width || height != self->cache_height)
    invalidate_content (self);
}

static void
attnviz_lines_view_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (attnviz_lines_view_parent_class)->css_changed (widget, change);
  invalidate_content (ATTNVIZ_LINES_VIEW (widget));
}

static gboolean
hit (AttnvizLinesView *self, double x, double y, AttnvizAxis *axis, int *index)
{
  if (n_tokens (self) > ATTNVIZ_LINES_VIEW_MAX_TOKENS || !ensure_layout (self))
    return FALSE;
  return attnviz_lines_layout_hit (&self->layout, x, y, axis, index);
}

static void
set_hover_row (AttnvizLinesView *self, int row)
{
  if (row == self->hover_row)
    return;
  self->hover_row = row;
  /* The layout does not depend on the highlight; the content does. */
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, AttnvizLinesView *self)
{
  AttnvizAxis axis;
  int index;

  if (hit (self, x, y, &axis, &index) && axis == ATTNVIZ_AXIS_ROWS)
    set_hover_row (self, index);
  else
    set_hover_row (self, -1);
}

static void
on_leave (GtkEventControllerMotion *controller, AttnvizLinesView *self)
{
  set_hover_row (self, -1);
}

static void
on_released (GtkGestureClick *gesture, int n_press, double x, double y, AttnvizLinesView *self)
{
  AttnvizAxis axis;
  int index;

  if (gtk_widget_get_focusable (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self));
  if (!hit (self, x, y, &axis, &index))
    return;
  /* The right column of a cross-attention is the source, not the rows. */
  if (axis == ATTNVIZ_AXIS_COLS && !attnviz_result_is_square (self->result))
    return;
  attnviz_lines_view_set_selected_token (self, index == self->selected_token ? -1 : index);
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  AttnvizLinesView *self = ATTNVIZ_LINES_VIEW (widget);
  AttnvizAxis axis;
  int index;

  if (keyboard || !hit (self, x, y, &axis, &index))
    return FALSE;
  gboolean rows = axis == ATTNVIZ_AXIS_ROWS;
  const char *label = rows ? attnviz_result_get_label (self->result, index)
                           : attnviz_result_get_col_label (self->result, index);
  const char *name = attnviz_result_is_square (self->result) ? (rows ? "query" : "key")
                                                               : (rows ? "target" : "source");
  g_autofree char *shown = attnviz_painter_display_text (label);
  g_autofree char *escaped = g_markup_escape_text (shown, -1);
  g_autofree char *markup = g_strdup_printf ("<b>%s</b> %d “%s”\nid %d", name, index, escaped,
                                             rows ? attnviz_result_get_token_id (self->result, index)
                                                  : attnviz_result_get_col_token_id (self->result, index));
  gtk_tooltip_set_markup (tooltip, markup);
  return TRUE;
}

static void
step_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  AttnvizLinesView *self = ATTNVIZ_LINES_VIEW (widget);

  if (g_str_equal (action_name, "lines.next-head"))
    attnviz_lines_view_set_head (self, self->head + 1);
  else if (g_str_equal (action_name, "lines.previous-head"))
    attnviz_lines_view_set_head (self, self->head - 1);
  else if (g_str_equal (action_name, "lines.next-layer"))
    attnviz_lines_view_set_layer (self, self->layer + 1);
  else if (g_str_equal (action_name, "lines.previous-layer"))
    attnviz_lines_view_set_layer (self, self->layer - 1);
}

static void
attnviz_lines_view_dispose (GObject *object)
{
  AttnvizLinesView *self = ATTNVIZ_LINES_VIEW (object);

  g_clear_pointer (&self->content, gsk_render_node_unref);
  g_clear_object (&self->result);
  G_OBJECT_CLASS (attnviz_lines_view_parent_class)->dispose (object);
}

static void
attnviz_lines_view_finalize (GObject *object)
{
  AttnvizLinesView *self = ATTNVIZ_LINES_VIEW (object);

  g_free (self->title);
  g_free (self->subtitle);
  g_free (self->read_matrix);
  G_OBJECT_CLASS (attnviz_lines_view_parent_class)->finalize (object);
}

static void
attnviz_lines_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizLinesView *self = ATTNVIZ_LINES_VIEW (object);

  switch (prop_id)
    {
    case PROP_RESULT:
      g_value_set_object (value, self->result);
      break;
    case PROP_LAYER:
      g_value_set_int (value, self->layer);
      break;
    case PROP_HEAD:
      g_value_set_int (value, self->head);
      break;
    case PROP_AGGREGATE:
      g_value_set_enum (value, self->aggregate);
      break;
    case PROP_SELECTED_TOKEN:
      g_value_set_int (value, self->selected_token);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_lines_view_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AttnvizLinesView *self = ATTNVIZ_LINES_VIEW (object);

  switch (prop_id)
    {
    case PROP_RESULT:
      attnviz_lines_view_set_result (self, g_value_get_object (value));
      break;
    case PROP_LAYER:
      attnviz_lines_view_set_layer (self, g_value_get_int (value));
      break;
    case PROP_HEAD:
      attnviz_lines_view_set_head (self, g_value_get_int (value));
      break;
    case PROP_AGGREGATE:
      attnviz_lines_view_set_aggregate (self, g_value_get_enum (value));
      break;
    case PROP_SELECTED_TOKEN:
      attnviz_lines_view_set_selected_token (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_lines_view_class_init (AttnvizLinesViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = attnviz_lines_view_dispose;
  object_class->finalize = attnviz_lines_view_finalize;
  object_class->get_property = attnviz_lines_view_get_property;
  object_class->set_property = attnviz_lines_view_set_property;

  widget_class->snapshot = attnviz_lines_view_snapshot;
  widget_class->measure = attnviz_lines_view_measure;
  widget_class->size_allocate = attnviz_lines_view_size_allocate;
  widget_class->css_changed = attnviz_lines_view_css_changed;

  properties[PROP_RESULT] =
    g_param_spec_object ("result", NULL, NULL, ATTNVIZ_TYPE_RESULT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LAYER] =
    g_param_spec_int ("layer", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HEAD] =
    g_param_spec_int ("head", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_AGGREGATE] =
    g_param_spec_enum ("aggregate", NULL, NULL, ATTNVIZ_TYPE_AGGREGATE, ATTNVIZ_AGGREGATE_HEAD,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED_TOKEN] =
    g_param_spec_int ("selected-token", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "lines.next-head", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "lines.previous-head", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "lines.next-layer", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "lines.previous-layer", NULL, step_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "lines.next-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "lines.previous-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, 0, "lines.next-layer", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, 0, "lines.previous-layer", NULL);

  gtk_widget_class_set_css_name (widget_class, "linesview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
attnviz_lines_view_init (AttnvizLinesView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *controller;
  GtkGesture *gesture;

  self->selected_token = -1;
  self->hover_row = -1;
  self->content_row = -1;

  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_has_tooltip (widget, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Attention of one head as lines between tokens", -1);
  g_signal_connect (widget, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "enter", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (widget, controller);

  gesture = gtk_gesture_click_new ();
  g_signal_connect (gesture, "released", G_CALLBACK (on_released), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (gesture));
}

GtkWidget *
attnviz_lines_view_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_LINES_VIEW, NULL);
}

AttnvizResult *
attnviz_lines_view_get_result (AttnvizLinesView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LINES_VIEW (self), NULL);
  return self->result;
}

void
attnviz_lines_view_set_result (AttnvizLinesView *self, AttnvizResult *result)
{
  g_return_if_fail (ATTNVIZ_IS_LINES_VIEW (self));
  g_return_if_fail (result == NULL || ATTNVIZ_IS_RESULT (result));

  if (!g_set_object (&self->result, result))
    return;
  g_object_freeze_notify (G_OBJECT (self));
  int L = result ? attnviz_result_get_n_layers (result) : 0;
  int H = result ? attnviz_result_get_n_heads (result) : 0;
  if (self->layer >= L)
    attnviz_lines_view_set_layer (self, MAX (0, L - 1));
  if (self->head >= H)
    attnviz_lines_view_set_head (self, MAX (0, H - 1));
  if (self->selected_token >= n_rows (self))
    attnviz_lines_view_set_selected_token (self, -1);
  self->hover_row = -1;
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESULT]);
  g_object_thaw_notify (G_OBJECT (self));
}

int
attnviz_lines_view_get_layer (AttnvizLinesView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LINES_VIEW (self), 0);
  return self->layer;
}

void
attnviz_lines_view_set_layer (AttnvizLinesView *self, int layer)
{
  g_return_if_fail (ATTNVIZ_IS_LINES_VIEW (self));

  if (self->result != NULL)
    layer = CLAMP (layer, 0, MAX (0, attnviz_result_get_n_layers (self->result) - 1));
  layer = MAX (layer, 0);
  if (layer == self->layer)
    return;
  self->layer = layer;
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAYER]);
}

int
attnviz_lines_view_get_head (AttnvizLinesView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LINES_VIEW (self), 0);
  return self->head;
}

void
attnviz_lines_view_set_head (AttnvizLinesView *self, int head)
{
  g_return_if_fail (ATTNVIZ_IS_LINES_VIEW (self));

  if (self->result != NULL)
    head = CLAMP (head, 0, MAX (0, attnviz_result_get_n_heads (self->result) - 1));
  head = MAX (head, 0);
  if (head == self->head)
    return;
  self->head = head;
  if (self->aggregate == ATTNVIZ_AGGREGATE_HEAD)
    invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEAD]);
}

AttnvizAggregate
attnviz_lines_view_get_aggregate (AttnvizLinesView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LINES_VIEW (self), ATTNVIZ_AGGREGATE_HEAD);
  return self->aggregate;
}

void
attnviz_lines_view_set_aggregate (AttnvizLinesView *self, AttnvizAggregate aggregate)
{
  g_return_if_fail (ATTNVIZ_IS_LINES_VIEW (self));

  if (aggregate == self->aggregate)
    return;
  self->aggregate = aggregate;
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AGGREGATE]);
}

int
attnviz_lines_view_get_selected_token (AttnvizLinesView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LINES_VIEW (self), -1);
  return self->selected_token;
}

void
attnviz_lines_view_set_selected_token (AttnvizLinesView *self, int token)
{
  g_return_if_fail (ATTNVIZ_IS_LINES_VIEW (self));

  if (token < 0 || (self->result != NULL && token >= n_rows (self)))
    token = -1;
  if (token == self->selected_token)
    return;
  self->selected_token = token;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_TOKEN]);
}
