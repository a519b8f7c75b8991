/* attnviz-grid-view.c: the model view, one thumbnail per layer and head
 *
 * The thumbnails are painted once by attnviz_paint_grid () into a render
 * node kept until the data, the size or a setting changes; the current
 * head's outline and the hovered one are drawn over it each frame, so
 * stepping through heads costs nothing here.
 */
#define G_LOG_DOMAIN "attnviz-grid-view"
#include "config.h"

#include "attnviz-grid-view.h"
#include "attnviz-widgets-private.h"

#define SCREEN_FONT_SIZE 11.0

struct _AttnvizGridView
{
  GtkWidget parent_instance;

  AttnvizResult *result;
  int layer;
  int head;
  AttnvizColormap colormap;
  AttnvizScaleKind scale;

  char *subtitle;

  GskRenderNode *content;
  AttnvizGridLayout layout;
  gboolean layout_valid;
  int cache_width, cache_height;

  int hover_layer, hover_head;
};

G_DEFINE_FINAL_TYPE (AttnvizGridView, attnviz_grid_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_RESULT,
  PROP_LAYER,
  PROP_HEAD,
  PROP_COLORMAP,
  PROP_SCALE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  HEAD_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
invalidate_content (AttnvizGridView *self)
{
  g_clear_pointer (&self->content, gsk_render_node_unref);
  self->layout_valid = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static int
n_layers (AttnvizGridView *self)
{
  return self->result ? attnviz_result_get_n_layers (self->result) : 0;
}

static int
n_heads (AttnvizGridView *self)
{
  return self->result ? attnviz_result_get_n_heads (self->result) : 0;
}

gboolean
attnviz_grid_view_get_spec (AttnvizGridView *self, AttnvizGridSpec *spec)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);

  if (self->result == NULL)
    return FALSE;
  int T = attnviz_result_get_n_tokens (self->result);
  attnviz_grid_spec_init (spec, n_layers (self), n_heads (self), attnviz_result_get_maps (self->result), T, T);
  spec->lower_triangular = attnviz_result_get_causal (self->result);
  spec->pooling = ATTNVIZ_POOL_MAX;
  spec->colormap = self->colormap;
  attnviz_scale_init (&spec->scale, self->scale, 0, 0);
  spec->current_layer = self->layer;
  spec->current_head = self->head;
  spec->title = "attention of every layer and head";
  g_free (self->subtitle);
  self->subtitle = g_strdup_printf ("%s · %d tokens", attnviz_result_get_model_name (self->result), T);
  spec->subtitle = self->subtitle;
  return TRUE;
}

/* On screen the current head is outlined by the widget, over the cache. */
static gboolean
screen_spec (AttnvizGridView *self, AttnvizGridSpec *spec)
{
  if (!attnviz_grid_view_get_spec (self, spec))
    return FALSE;
  spec->current_layer = -1;
  spec->current_head = -1;
  spec->title = NULL;
  spec->font_size = SCREEN_FONT_SIZE;
  attnviz_widget_get_foreground (GTK_WIDGET (self), &spec->foreground);
  return TRUE;
}

static gboolean
ensure_layout (AttnvizGridView *self)
{
  AttnvizGridSpec spec;

  if (self->layout_valid)
    return TRUE;
  if (!screen_spec (self, &spec))
    return FALSE;
  attnviz_grid_layout (&spec, gtk_widget_get_width (GTK_WIDGET (self)),
                       gtk_widget_get_height (GTK_WIDGET (self)), &self->layout);
  self->layout_valid = TRUE;
  return TRUE;
}

GskRenderNode *
attnviz_grid_view_build_node (AttnvizGridView *self, int width, int height)
{
  AttnvizGridSpec spec;

  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), NULL);

  if (width <= 0 || height <= 0 || !screen_spec (self, &spec))
    return NULL;
  return attnviz_figure_node (ATTNVIZ_FIGURE_GRID, &spec, width, height, width, height, 0, 0);
}

gboolean
attnviz_grid_view_hit (AttnvizGridView *self, double x, double y, int *layer, int *head)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), FALSE);

  if (!ensure_layout (self))
    return FALSE;
  return attnviz_grid_layout_hit (&self->layout, x, y, layer, head);
}

static void
outline_thumbnail (AttnvizGridView *self, GtkSnapshot *snapshot, int layer, int head, const GdkRGBA *color)
{
  AttnvizRect r;

  if (!attnviz_grid_layout_cell_rect (&self->layout, layer, head, &r))
    return;
  graphene_rect_t rect = GRAPHENE_RECT_INIT (r.x, r.y, r.width, r.height);
  attnviz_snapshot_outline (snapshot, &rect, color);
}

static void
attnviz_grid_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  static const GdkRGBA hover = { 1, 1, 1, 0.6 };
  static const GdkRGBA current = { 1, 1, 1, 1 };

  if (self->result == NULL || width <= 0 || height <= 0 || !ensure_layout (self))
    return;

  if (self->content == NULL || self->cache_width != width || self->cache_height != height)
    {
      g_clear_pointer (&self->content, gsk_render_node_unref);
      self->content = attnviz_grid_view_build_node (self, width, height);
      self->cache_width = width;
      self->cache_height = height;
    }
  if (self->content)
    gtk_snapshot_append_node (snapshot, self->content);

  if (self->hover_layer >= 0 && (self->hover_layer != self->layer || self->hover_head != self->head))
    outline_thumbnail (self, snapshot, self->hover_layer, self->hover_head, &hover);
  outline_thumbnail (self, snapshot, self->layer, self->head, &current);
}

static void
attnviz_grid_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                           int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = 160;
  *natural = 480;
}

static void
attnviz_grid_view_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (widget);

  if (width != self->cache_width || height != self->cache_height)
    invalidate_content (self);
}

static void
attnviz_grid_view_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (attnviz_grid_view_parent_class)->css_changed (widget, change);
  invalidate_content (ATTNVIZ_GRID_VIEW (widget));
}

/* ---- Pointer and keys ----------------------------------------------------- */

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

  if (!attnviz_grid_view_hit (self, x, y, &layer, &head))
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
  if (!attnviz_grid_view_hit (self, x, y, &layer, &head))
    return;
  attnviz_grid_view_set_layer (self, layer);
  attnviz_grid_view_set_head (self, head);
  g_signal_emit (self, signals[HEAD_ACTIVATED], 0, layer, head);
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (widget);
  int layer, head;

  if (keyboard)
    {
      layer = self->layer;
      head = self->head;
    }
  else if (!attnviz_grid_view_hit (self, x, y, &layer, &head))
    return FALSE;
  g_autofree char *markup = g_strdup_printf ("<b>layer %d · head %d</b>\nclick to open its heatmap", layer, head);
  gtk_tooltip_set_markup (tooltip, markup);
  return TRUE;
}

static void
step_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (widget);

  if (g_str_equal (action_name, "grid.next-head"))
    attnviz_grid_view_set_head (self, self->head + 1);
  else if (g_str_equal (action_name, "grid.previous-head"))
    attnviz_grid_view_set_head (self, self->head - 1);
  else if (g_str_equal (action_name, "grid.next-layer"))
    attnviz_grid_view_set_layer (self, self->layer + 1);
  else if (g_str_equal (action_name, "grid.previous-layer"))
    attnviz_grid_view_set_layer (self, self->layer - 1);
  else if (g_str_equal (action_name, "grid.activate-head") && self->result != NULL)
    g_signal_emit (self, signals[HEAD_ACTIVATED], 0, self->layer, self->head);
}

/* ---- GObject -------------------------------------------------------------- */

static void
attnviz_grid_view_dispose (GObject *object)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (object);

  g_clear_pointer (&self->content, gsk_render_node_unref);
  g_clear_object (&self->result);
  G_OBJECT_CLASS (attnviz_grid_view_parent_class)->dispose (object);
}

static void
attnviz_grid_view_finalize (GObject *object)
{
  g_free (ATTNVIZ_GRID_VIEW (object)->subtitle);
  G_OBJECT_CLASS (attnviz_grid_view_parent_class)->finalize (object);
}

static void
attnviz_grid_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (object);

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
    case PROP_COLORMAP:
      g_value_set_enum (value, self->colormap);
      break;
    case PROP_SCALE:
      g_value_set_enum (value, self->scale);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_grid_view_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (object);

  switch (prop_id)
    {
    case PROP_RESULT:
      attnviz_grid_view_set_result (self, g_value_get_object (value));
      break;
    case PROP_LAYER:
      attnviz_grid_view_set_layer (self, g_value_get_int (value));
      break;
    case PROP_HEAD:
      attnviz_grid_view_set_head (self, g_value_get_int (value));
      break;
    case PROP_COLORMAP:
      attnviz_grid_view_set_colormap (self, g_value_get_enum (value));
      break;
    case PROP_SCALE:
      attnviz_grid_view_set_scale (self, g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_grid_view_class_init (AttnvizGridViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = attnviz_grid_view_dispose;
  object_class->finalize = attnviz_grid_view_finalize;
  object_class->get_property = attnviz_grid_view_get_property;
  object_class->set_property = attnviz_grid_view_set_property;

  widget_class->snapshot = attnviz_grid_view_snapshot;
  widget_class->measure = attnviz_grid_view_measure;
  widget_class->size_allocate = attnviz_grid_view_size_allocate;
  widget_class->css_changed = attnviz_grid_view_css_changed;

  properties[PROP_RESULT] =
    g_param_spec_object ("result", NULL, NULL, ATTNVIZ_TYPE_RESULT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LAYER] =
    g_param_spec_int ("layer", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HEAD] =
    g_param_spec_int ("head", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_COLORMAP] =
    g_param_spec_enum ("colormap", NULL, NULL, ATTNVIZ_TYPE_COLORMAP, ATTNVIZ_COLORMAP_VIRIDIS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SCALE] =
    g_param_spec_enum ("scale", NULL, NULL, ATTNVIZ_TYPE_SCALE_KIND, ATTNVIZ_SCALE_LINEAR,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A thumbnail was clicked, or Enter pressed on the current one. */
  signals[HEAD_ACTIVATED] =
    g_signal_new ("head-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);

  gtk_widget_class_install_action (widget_class, "grid.next-head", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "grid.previous-head", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "grid.next-layer", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "grid.previous-layer", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "grid.activate-head", NULL, step_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "grid.next-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Right, 0, "grid.next-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "grid.previous-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Left, 0, "grid.previous-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, 0, "grid.next-layer", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Down, 0, "grid.next-layer", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, 0, "grid.previous-layer", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Up, 0, "grid.previous-layer", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, 0, "grid.activate-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, 0, "grid.activate-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_space, 0, "grid.activate-head", NULL);

  gtk_widget_class_set_css_name (widget_class, "gridview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
attnviz_grid_view_init (AttnvizGridView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *controller;
  GtkGesture *gesture;

  self->hover_layer = self->hover_head = -1;
  self->colormap = ATTNVIZ_COLORMAP_VIRIDIS;
  self->scale = ATTNVIZ_SCALE_LINEAR;

  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_has_tooltip (widget, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Attention of every layer and head", -1);
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
}

GtkWidget *
attnviz_grid_view_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_GRID_VIEW, NULL);
}

AttnvizResult *
attnviz_grid_view_get_result (AttnvizGridView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), NULL);
  return self->result;
}

void
attnviz_grid_view_set_result (AttnvizGridView *self, AttnvizResult *result)
{
  g_return_if_fail (ATTNVIZ_IS_GRID_VIEW (self));
  g_return_if_fail (result == NULL || ATTNVIZ_IS_RESULT (result));

  if (!g_set_object (&self->result, result))
    return;
  g_object_freeze_notify (G_OBJECT (self));
  if (self->layer >= n_layers (self))
    attnviz_grid_view_set_layer (self, MAX (0, n_layers (self) - 1));
  if (self->head >= n_heads (self))
    attnviz_grid_view_set_head (self, MAX (0, n_heads (self) - 1));
  self->hover_layer = self->hover_head = -1;
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESULT]);
  g_object_thaw_notify (G_OBJECT (self));
}

int
attnviz_grid_view_get_layer (AttnvizGridView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), 0);
  return self->layer;
}

void
attnviz_grid_view_set_layer (AttnvizGridView *self, int layer)
{
  g_return_if_fail (ATTNVIZ_IS_GRID_VIEW (self));

  if (self->result != NULL)
    layer = CLAMP (layer, 0, MAX (0, n_layers (self) - 1));
  layer = MAX (layer, 0);
  if (layer == self->layer)
    return;
  self->layer = layer;
  /* Only the outline moves: the cached thumbnails stay. */
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAYER]);
}

int
attnviz_grid_view_get_head (AttnvizGridView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), 0);
  return self->head;
}

void
attnviz_grid_view_set_head (AttnvizGridView *self, int head)
{
  g_return_if_fail (ATTNVIZ_IS_GRID_VIEW (self));

  if (self->result != NULL)
    head = CLAMP (head, 0, MAX (0, n_heads (self) - 1));
  head = MAX (head, 0);
  if (head == self->head)
    return;
  self->head = head;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEAD]);
}

AttnvizColormap
attnviz_grid_view_get_colormap (AttnvizGridView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), ATTNVIZ_COLORMAP_VIRIDIS);
  return self->colormap;
}

void
attnviz_grid_view_set_colormap (AttnvizGridView *self, AttnvizColormap colormap)
{
  g_return_if_fail (ATTNVIZ_IS_GRID_VIEW (self));

  if (colormap == self->colormap)
    return;
  self->colormap = colormap;
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COLORMAP]);
}

AttnvizScaleKind
attnviz_grid_view_get_scale (AttnvizGridView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), ATTNVIZ_SCALE_LINEAR);
  return self->scale;
}

void
attnviz_grid_view_set_scale (AttnvizGridView *self, AttnvizScaleKind scale)
{
  g_return_if_fail (ATTNVIZ_IS_GRID_VIEW (self));

  if (scale == self->scale)
    return;
  self->scale = scale;
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCALE]);
}
