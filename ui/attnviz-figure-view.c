/* attnviz-figure-view.c: the base of the views that paint a figure
 *
 * The figure is painted once into a render node, kept until the state,
 * the size or the style changes (sysprof's flame graph does the same);
 * what moves with the pointer is drawn over it each frame by the
 * subclass.  The view follows every property of its state through one
 * "notify" handler, and asks the subclass whether a change makes the
 * figure stale (stepping heads in the grid only moves an outline).
 */
#define G_LOG_DOMAIN "attnviz-figure-view"
#include "config.h"

#include "attnviz-figure-view.h"
#include "attnviz-widgets-private.h"

typedef struct
{
  AttnvizViewState *state;
  AttnvizViewSide side;
  AttnvizResult *result;     /* what the view shows of STATE, tracked to tell a new one */
  GskRenderNode *content;
  int cache_width, cache_height;
} AttnvizFigureViewPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (AttnvizFigureView, attnviz_figure_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_STATE,
  PROP_SIDE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
changed (AttnvizFigureView *self, GParamSpec *pspec)
{
  AttnvizFigureViewClass *klass = ATTNVIZ_FIGURE_VIEW_GET_CLASS (self);

  if (klass->state_changed == NULL || klass->state_changed (self, pspec))
    attnviz_figure_view_invalidate (self);
  else
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* A new result first (PSPEC NULL), so that a subclass drops what it kept
 * of the old one before it hears of the indices clamped for the new. */
static void
update_result (AttnvizFigureView *self)
{
  AttnvizFigureViewPrivate *priv = attnviz_figure_view_get_instance_private (self);
  AttnvizResult *result = priv->state ? attnviz_view_state_get_side (priv->state, priv->side) : NULL;

  if (g_set_object (&priv->result, result))
    changed (self, NULL);
}

static void
on_state_notify (AttnvizViewState *state, GParamSpec *pspec, AttnvizFigureView *self)
{
  if (g_str_equal (pspec->name, "result") || g_str_equal (pspec->name, "run"))
    update_result (self);
  else
    changed (self, pspec);
}

static void
attnviz_figure_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  AttnvizFigureView *self = ATTNVIZ_FIGURE_VIEW (widget);
  AttnvizFigureViewPrivate *priv = attnviz_figure_view_get_instance_private (self);
  AttnvizFigureViewClass *klass = ATTNVIZ_FIGURE_VIEW_GET_CLASS (self);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  const char *message;

  if (priv->result == NULL || width <= 0 || height <= 0)
    return;
  if (klass->get_message != NULL && (message = klass->get_message (self)) != NULL)
    {
      attnviz_snapshot_message (widget, snapshot, message);
      return;
    }
  if (priv->content == NULL || priv->cache_width != width || priv->cache_height != height)
    {
      g_clear_pointer (&priv->content, gsk_render_node_unref);
      priv->content = klass->build_node (self, width, height);
      priv->cache_width = width;
      priv->cache_height = height;
    }
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (priv->content != NULL)
    gtk_snapshot_append_node (snapshot, priv->content);
  if (klass->snapshot_overlay != NULL)
    klass->snapshot_overlay (self, snapshot);
  gtk_snapshot_pop (snapshot);
}

static void
attnviz_figure_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                             int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = 160;
  *natural = 480;
}

static void
attnviz_figure_view_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  AttnvizFigureView *self = ATTNVIZ_FIGURE_VIEW (widget);
  AttnvizFigureViewPrivate *priv = attnviz_figure_view_get_instance_private (self);
  AttnvizFigureViewClass *klass = ATTNVIZ_FIGURE_VIEW_GET_CLASS (self);

  if (width != priv->cache_width || height != priv->cache_height)
    {
      if (klass->resized != NULL)
        klass->resized (self, width, height);
      attnviz_figure_view_invalidate (self);
    }
}

static void
attnviz_figure_view_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (attnviz_figure_view_parent_class)->css_changed (widget, change);
  /* The labels take the CSS colour: a light/dark switch repaints. */
  attnviz_figure_view_invalidate (ATTNVIZ_FIGURE_VIEW (widget));
}

static void
attnviz_figure_view_dispose (GObject *object)
{
  AttnvizFigureView *self = ATTNVIZ_FIGURE_VIEW (object);
  AttnvizFigureViewPrivate *priv = attnviz_figure_view_get_instance_private (self);

  if (priv->state != NULL)
    g_signal_handlers_disconnect_by_func (priv->state, on_state_notify, self);
  g_clear_object (&priv->state);
  g_clear_object (&priv->result);
  g_clear_pointer (&priv->content, gsk_render_node_unref);
  G_OBJECT_CLASS (attnviz_figure_view_parent_class)->dispose (object);
}

static void
attnviz_figure_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizFigureView *self = ATTNVIZ_FIGURE_VIEW (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_object (value, attnviz_figure_view_get_state (self));
      break;
    case PROP_SIDE:
      g_value_set_enum (value, attnviz_figure_view_get_side (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_figure_view_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AttnvizFigureView *self = ATTNVIZ_FIGURE_VIEW (object);

  switch (prop_id)
    {
    case PROP_STATE:
      attnviz_figure_view_set_state (self, g_value_get_object (value));
      break;
    case PROP_SIDE:
      attnviz_figure_view_set_side (self, g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* Every figure steps heads and layers of its state with the plain
 * arrows (the window's shortcuts do it wherever the focus is). */
static void
step_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  AttnvizViewState *state = attnviz_figure_view_get_state (ATTNVIZ_FIGURE_VIEW (widget));
  int delta = g_str_has_prefix (action_name, "figure.next") ? 1 : -1;

  if (g_str_has_suffix (action_name, "-head"))
    attnviz_view_state_step_head (state, delta);
  else
    attnviz_view_state_step_layer (state, delta);
}

static void
class_init_stepping (GtkWidgetClass *widget_class)
{
  static const struct { guint key; const char *action; } keys[] = {
    { GDK_KEY_Right, "figure.next-head" }, { GDK_KEY_KP_Right, "figure.next-head" },
    { GDK_KEY_Left, "figure.previous-head" }, { GDK_KEY_KP_Left, "figure.previous-head" },
    { GDK_KEY_Down, "figure.next-layer" }, { GDK_KEY_KP_Down, "figure.next-layer" },
    { GDK_KEY_Up, "figure.previous-layer" }, { GDK_KEY_KP_Up, "figure.previous-layer" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i += 2)
    gtk_widget_class_install_action (widget_class, keys[i].action, NULL, step_action);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    gtk_widget_class_add_binding_action (widget_class, keys[i].key, 0, keys[i].action, NULL);
}

static void
attnviz_figure_view_class_init (AttnvizFigureViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = attnviz_figure_view_dispose;
  object_class->get_property = attnviz_figure_view_get_property;
  object_class->set_property = attnviz_figure_view_set_property;

  widget_class->snapshot = attnviz_figure_view_snapshot;
  widget_class->measure = attnviz_figure_view_measure;
  widget_class->size_allocate = attnviz_figure_view_size_allocate;
  widget_class->css_changed = attnviz_figure_view_css_changed;
  class_init_stepping (widget_class);

  properties[PROP_STATE] =
    g_param_spec_object ("state", NULL, NULL, ATTNVIZ_TYPE_VIEW_STATE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SIDE] =
    g_param_spec_enum ("side", NULL, NULL, ATTNVIZ_TYPE_VIEW_SIDE, ATTNVIZ_VIEW_SIDE_SHOWN,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
attnviz_figure_view_init (AttnvizFigureView *self)
{
}

AttnvizViewState *
attnviz_figure_view_get_state (AttnvizFigureView *self)
{
  AttnvizFigureViewPrivate *priv;

  g_return_val_if_fail (ATTNVIZ_IS_FIGURE_VIEW (self), NULL);
  priv = attnviz_figure_view_get_instance_private (self);
  if (priv->state == NULL)
    {
      g_autoptr(AttnvizViewState) own = attnviz_view_state_new ();
      attnviz_figure_view_set_state (self, own);
    }
  return priv->state;
}

void
attnviz_figure_view_set_state (AttnvizFigureView *self, AttnvizViewState *state)
{
  AttnvizFigureViewPrivate *priv;

  g_return_if_fail (ATTNVIZ_IS_FIGURE_VIEW (self));
  g_return_if_fail (state == NULL || ATTNVIZ_IS_VIEW_STATE (state));
  priv = attnviz_figure_view_get_instance_private (self);

  if (!attnviz_view_state_observe (&priv->state, state, G_CALLBACK (on_state_notify), self, NULL))
    return;
  update_result (self);
  changed (self, NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

AttnvizViewSide
attnviz_figure_view_get_side (AttnvizFigureView *self)
{
  AttnvizFigureViewPrivate *priv = attnviz_figure_view_get_instance_private (self);
  g_return_val_if_fail (ATTNVIZ_IS_FIGURE_VIEW (self), ATTNVIZ_VIEW_SIDE_SHOWN);
  return priv->side;
}

void
attnviz_figure_view_set_side (AttnvizFigureView *self, AttnvizViewSide side)
{
  AttnvizFigureViewPrivate *priv = attnviz_figure_view_get_instance_private (self);

  g_return_if_fail (ATTNVIZ_IS_FIGURE_VIEW (self));
  if (side == priv->side)
    return;
  priv->side = side;
  update_result (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SIDE]);
}

AttnvizResult *
attnviz_figure_view_get_result (AttnvizFigureView *self)
{
  AttnvizFigureViewPrivate *priv = attnviz_figure_view_get_instance_private (self);
  g_return_val_if_fail (ATTNVIZ_IS_FIGURE_VIEW (self), NULL);
  return priv->result;
}

void
attnviz_figure_view_invalidate (AttnvizFigureView *self)
{
  AttnvizFigureViewPrivate *priv = attnviz_figure_view_get_instance_private (self);

  g_return_if_fail (ATTNVIZ_IS_FIGURE_VIEW (self));
  g_clear_pointer (&priv->content, gsk_render_node_unref);
  if (ATTNVIZ_FIGURE_VIEW_GET_CLASS (self)->invalidated != NULL)
    ATTNVIZ_FIGURE_VIEW_GET_CLASS (self)->invalidated (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

GskRenderNode *
attnviz_figure_view_build_node (AttnvizFigureView *self, int width, int height)
{
  g_return_val_if_fail (ATTNVIZ_IS_FIGURE_VIEW (self), NULL);
  if (width <= 0 || height <= 0 || attnviz_figure_view_get_result (self) == NULL)
    return NULL;
  return ATTNVIZ_FIGURE_VIEW_GET_CLASS (self)->build_node (self, width, height);
}
