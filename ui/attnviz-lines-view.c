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
  AttnvizFigureView parent_instance;

  char *title;
  char *subtitle;
  float *read_matrix;   /* a long run's rows, read through its source */

  AttnvizLinesLayout layout;
  gboolean layout_valid;

  int hover_row;              /* a query under the pointer, or -1 */
  gboolean too_many_tokens;   /* what "too-many-tokens" last said */
};

G_DEFINE_FINAL_TYPE (AttnvizLinesView, attnviz_lines_view, ATTNVIZ_TYPE_FIGURE_VIEW)

enum {
  PROP_0,
  PROP_TOO_MANY_TOKENS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static int
n_tokens (AttnvizLinesView *self)
{
  /* The longer of the two columns: what has to fit. */
  return figure_result (self) ? MAX (attnviz_result_get_n_tokens (figure_result (self)), attnviz_result_get_n_cols (figure_result (self))) : 0;
}

/* Whatever the view was told, the result it shows may have grown past
 * what lines can show (or shrunk back): say so to whoever offers the
 * heatmap instead. */
static void
attnviz_lines_view_invalidated (AttnvizFigureView *view)
{
  AttnvizLinesView *self = ATTNVIZ_LINES_VIEW (view);
  gboolean too_many = n_tokens (self) > ATTNVIZ_LINES_VIEW_MAX_TOKENS;

  self->layout_valid = FALSE;
  if (too_many != self->too_many_tokens)
    {
      self->too_many_tokens = too_many;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOO_MANY_TOKENS]);
    }
}

gboolean
attnviz_lines_view_get_too_many_tokens (AttnvizLinesView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LINES_VIEW (self), FALSE);
  return n_tokens (self) > ATTNVIZ_LINES_VIEW_MAX_TOKENS;
}

char *
attnviz_lines_view_describe_limit (AttnvizLinesView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LINES_VIEW (self), NULL);
  return g_strdup_printf ("This run has %d tokens; lines stay readable up to %d. "
                          "The heatmap shows every one.", n_tokens (self), ATTNVIZ_LINES_VIEW_MAX_TOKENS);
}

static int
n_rows (AttnvizLinesView *self)
{
  return figure_result (self) ? attnviz_result_get_n_tokens (figure_result (self)) : 0;
}

gboolean
attnviz_lines_view_get_spec (AttnvizLinesView *self, AttnvizLinesSpec *spec, GError **error)
{
  g_return_val_if_fail (ATTNVIZ_IS_LINES_VIEW (self), FALSE);

  const float *matrix = figure_result (self)
    ? attnviz_result_get_matrix (figure_result (self), figure_aggregate (self), figure_layer (self), figure_head (self)) : NULL;
  int T = n_tokens (self);
  if (matrix == NULL && T <= ATTNVIZ_LINES_VIEW_MAX_TOKENS && figure_result (self) != NULL
      && attnviz_result_has_matrix (figure_result (self), figure_aggregate (self), figure_layer (self), figure_head (self)))
    {
      /* A run that keeps no dense matrices: the few rows drawn, read exactly. */
      int rows = n_rows (self), cols = attnviz_result_get_n_cols (figure_result (self));
      g_free (self->read_matrix);
      self->read_matrix = g_new (float, MAX ((gsize) rows * cols, 1));
      attnviz_result_get_rect (figure_result (self), figure_aggregate (self), figure_layer (self), figure_head (self), 0, rows, 0, cols,
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
  attnviz_lines_spec_init (spec, matrix, n_rows (self), attnviz_result_get_n_cols (figure_result (self)));
  spec->row_labels = attnviz_result_get_labels (figure_result (self));
  spec->col_labels = attnviz_result_get_col_labels (figure_result (self));
  g_free (self->title);
  self->title = attnviz_result_describe (figure_result (self), figure_aggregate (self), figure_layer (self), figure_head (self));
  g_free (self->subtitle);
  self->subtitle = attnviz_result_describe_details (figure_result (self));
  spec->title = self->title;
  spec->subtitle = self->subtitle;
  spec->highlight_row = attnviz_view_state_get_row_token (figure_state (self));
  gboolean square = attnviz_result_is_square (figure_result (self));
  spec->left_caption = square ? "query" : "target";
  spec->right_caption = square ? "key" : "source";
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

static const char *
attnviz_lines_view_get_message (AttnvizFigureView *view)
{
  AttnvizLinesView *self = ATTNVIZ_LINES_VIEW (view);

  /* Nothing drawn: the window lays a page over the view that says why
   * (attnviz_lines_view_describe_limit) and leads to the heatmap. */
  if (n_tokens (self) > ATTNVIZ_LINES_VIEW_MAX_TOKENS)
    return "";
  return ensure_layout (self) ? NULL : "This head was not recorded.";
}

/* Painted with the hovered (or selected) query highlighted. */
static GskRenderNode *
attnviz_lines_view_build_figure (AttnvizFigureView *view, int width, int height)
{
  AttnvizLinesSpec spec;

  if (!screen_spec (ATTNVIZ_LINES_VIEW (view), &spec))
    return NULL;
  return attnviz_figure_node (ATTNVIZ_FIGURE_LINES, &spec, width, height, width, height, 0, 0);
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
  attnviz_figure_view_invalidate (ATTNVIZ_FIGURE_VIEW (self));
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
  if (axis == ATTNVIZ_AXIS_COLS && !attnviz_result_is_square (figure_result (self)))
    return;
  AttnvizViewState *state = figure_state (self);
  int selected = attnviz_view_state_get_row_token (state);
  attnviz_view_state_set_row_token (state, index == selected ? -1 : index);
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
  const char *label = rows ? attnviz_result_get_label (figure_result (self), index)
                           : attnviz_result_get_col_label (figure_result (self), index);
  const char *name = attnviz_result_is_square (figure_result (self)) ? (rows ? "query" : "key")
                                                               : (rows ? "target" : "source");
  g_autofree char *shown = attnviz_painter_display_text (label);
  g_autofree char *escaped = g_markup_escape_text (shown, -1);
  g_autofree char *markup = g_strdup_printf ("<b>%s</b> %d “%s”\nid %d", name, index, escaped,
                                             rows ? attnviz_result_get_token_id (figure_result (self), index)
                                                  : attnviz_result_get_col_token_id (figure_result (self), index));
  gtk_tooltip_set_markup (tooltip, markup);
  return TRUE;
}

static void
attnviz_lines_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizLinesView *self = ATTNVIZ_LINES_VIEW (object);

  switch (prop_id)
    {
    case PROP_TOO_MANY_TOKENS:
      g_value_set_boolean (value, attnviz_lines_view_get_too_many_tokens (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
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
attnviz_lines_view_class_init (AttnvizLinesViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  AttnvizFigureViewClass *figure_class = ATTNVIZ_FIGURE_VIEW_CLASS (klass);

  object_class->finalize = attnviz_lines_view_finalize;
  object_class->get_property = attnviz_lines_view_get_property;
  figure_class->build_node = attnviz_lines_view_build_figure;
  figure_class->get_message = attnviz_lines_view_get_message;
  figure_class->invalidated = attnviz_lines_view_invalidated;

  /* More tokens than lines can show: the window offers the heatmap. */
  properties[PROP_TOO_MANY_TOKENS] =
    g_param_spec_boolean ("too-many-tokens", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "linesview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
attnviz_lines_view_init (AttnvizLinesView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *controller;
  GtkGesture *gesture;

  self->hover_row = -1;

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
