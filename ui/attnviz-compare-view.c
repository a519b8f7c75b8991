/* attnviz-compare-view.c: A and B side by side, and A − B
 *
 * Three heatmap views of one comparison (a difference result): A's run,
 * B's run and A − B.  A and B share one colour scale, from 0 to the
 * largest weight of either, so the same colour means the same weight in
 * both; A − B uses the diverging map over a range symmetric about 0 (red:
 * A attends more, blue: B does).  The mode shows A | B, A − B alone, or
 * all three.  Layer, head, aggregate and the selected token are the
 * view's, shared by the three (stepping heads in one steps them all), and
 * the cell under the pointer in one pane is outlined in the others.
 */
#define G_LOG_DOMAIN "attnviz-compare-view"
#include "config.h"

#include "attnviz-compare-view.h"
#include "attnviz-difference.h"

G_DEFINE_ENUM_TYPE (AttnvizCompareMode, attnviz_compare_mode,
  G_DEFINE_ENUM_VALUE (ATTNVIZ_COMPARE_SIDE_BY_SIDE, "side-by-side"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_COMPARE_DIFFERENCE, "difference"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_COMPARE_ALL, "all"))

const char *
attnviz_compare_mode_to_string (AttnvizCompareMode mode)
{
  switch (mode)
    {
    case ATTNVIZ_COMPARE_DIFFERENCE:
      return "difference";
    case ATTNVIZ_COMPARE_ALL:
      return "all";
    case ATTNVIZ_COMPARE_SIDE_BY_SIDE:
    default:
      return "side-by-side";
    }
}

gboolean
attnviz_compare_mode_from_string (const char *name, AttnvizCompareMode *mode)
{
  static const AttnvizCompareMode all[] = {
    ATTNVIZ_COMPARE_SIDE_BY_SIDE, ATTNVIZ_COMPARE_DIFFERENCE, ATTNVIZ_COMPARE_ALL,
  };

  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (all); i++)
    if (g_str_equal (name, attnviz_compare_mode_to_string (all[i])))
      {
        *mode = all[i];
        return TRUE;
      }
  return FALSE;
}

struct _AttnvizCompareView
{
  GtkWidget parent_instance;

  AttnvizHeatmapView *panes[3];   /* A, B, A − B */
  AttnvizViewState *state;        /* the comparison's: a difference result */
  AttnvizCompareMode mode;
  double shared_max;
};

G_DEFINE_FINAL_TYPE (AttnvizCompareView, attnviz_compare_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_STATE,
  PROP_MODE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* A's and B's scale: 0 to the largest weight of either, in the picture
 * (per head), in the layer or the run (their heads' overviews), or 1. */
static void
update_shared_range (AttnvizCompareView *self)
{
  double top = 0;
  AttnvizResult *result = self->state ? attnviz_view_state_get_result (self->state) : NULL;
  AttnvizAggregate aggregate = self->state ? attnviz_view_state_get_aggregate (self->state) : 0;
  int layer = self->state ? attnviz_view_state_get_layer (self->state) : 0;
  int head = self->state ? attnviz_view_state_get_head (self->state) : 0;

  AttnvizRangeMode mode = self->state ? attnviz_view_state_get_range_mode (self->state) : ATTNVIZ_RANGE_HEAD;

  if (mode == ATTNVIZ_RANGE_FIXED)
    top = 1;
  else if (mode != ATTNVIZ_RANGE_HEAD && result != NULL && ATTNVIZ_IS_DIFFERENCE (result))
    {
      for (int s = 0; s < 2; s++)
        {
          AttnvizDifference *d = ATTNVIZ_DIFFERENCE (result);
          AttnvizResult *side = s == 0 ? attnviz_difference_get_a (d) : attnviz_difference_get_b (d);
          double m = attnviz_result_get_range_max (side, mode, layer, head);
          if (m > top)
            top = m;
        }
    }
  else if (result != NULL && ATTNVIZ_IS_DIFFERENCE (result))
    {
      AttnvizDifference *d = ATTNVIZ_DIFFERENCE (result);
      AttnvizResult *sides[2] = { attnviz_difference_get_a (d), attnviz_difference_get_b (d) };
      int T = attnviz_result_get_n_tokens (result);
      for (int s = 0; s < 2; s++)
        {
          const float *m = attnviz_result_get_matrix (sides[s], aggregate, layer, head);
          gsize n = (gsize) T * T;
          if (m == NULL)
            {
              /* A long run: the max overview holds the exact largest
               * weight of a head or of the max over heads (the mean over
               * heads has only its mean overview: its largest bin). */
              int r = 0, c = 0;
              m = attnviz_result_get_overview (sides[s], aggregate, layer, head,
                                               ATTNVIZ_POOL_MAX, &r, &c);
              if (m == NULL)
                m = attnviz_result_get_overview (sides[s], aggregate, layer, head,
                                                 ATTNVIZ_POOL_MEAN, &r, &c);
              n = (gsize) r * c;
            }
          for (gsize i = 0; m != NULL && i < n; i++)
            if (m[i] > top)
              top = m[i];
        }
    }
  self->shared_max = top > 0 ? top : 1;
  for (int s = 0; s < 2; s++)
    attnviz_heatmap_view_set_range (self->panes[s], 0, self->shared_max);
}

static void
update_mode (AttnvizCompareView *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->panes[ATTNVIZ_COMPARE_PANE_A]), self->mode != ATTNVIZ_COMPARE_DIFFERENCE);
  gtk_widget_set_visible (GTK_WIDGET (self->panes[ATTNVIZ_COMPARE_PANE_B]), self->mode != ATTNVIZ_COMPARE_DIFFERENCE);
  gtk_widget_set_visible (GTK_WIDGET (self->panes[ATTNVIZ_COMPARE_PANE_DIFFERENCE]),
                          self->mode != ATTNVIZ_COMPARE_SIDE_BY_SIDE);
}

AttnvizHeatmapView *
attnviz_compare_view_get_pane (AttnvizCompareView *self, AttnvizComparePane pane)
{
  g_return_val_if_fail (ATTNVIZ_IS_COMPARE_VIEW (self), NULL);
  g_return_val_if_fail (pane <= ATTNVIZ_COMPARE_PANE_DIFFERENCE, NULL);
  return self->panes[pane];
}

double
attnviz_compare_view_get_shared_max (AttnvizCompareView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_COMPARE_VIEW (self), 0);
  return self->shared_max;
}

gboolean
attnviz_compare_view_get_figure (AttnvizCompareView *self, AttnvizHeatmapRowSpec *spec)
{
  g_return_val_if_fail (ATTNVIZ_IS_COMPARE_VIEW (self), FALSE);

  memset (spec, 0, sizeof *spec);
  for (int p = 0; p < 3; p++)
    {
      if (!gtk_widget_get_visible (GTK_WIDGET (self->panes[p])))
        continue;
      if (!attnviz_heatmap_view_get_spec (self->panes[p], &spec->panels[spec->n_panels]))
        return FALSE;
      spec->n_panels++;
    }
  return spec->n_panels > 0;
}

/* The pointer over one pane shows the same cell in the others. */
static void
on_pane_hover (AttnvizHeatmapView *pane, int row, int col, AttnvizCompareView *self)
{
  for (int p = 0; p < 3; p++)
    if (self->panes[p] != NULL && self->panes[p] != pane)
      attnviz_heatmap_view_set_hover (self->panes[p], row, col);
}

/* A's and B's scale follows the picture shown. */
static void
on_state_notify (AttnvizViewState *state, GParamSpec *pspec, AttnvizCompareView *self)
{
  static const char *const picture[] = { "result", "layer", "head", "aggregate", "range-mode" };
  for (guint i = 0; i < G_N_ELEMENTS (picture); i++)
    if (g_str_equal (pspec->name, picture[i]))
      {
        update_shared_range (self);
        return;
      }
}

/* ---- GObject -------------------------------------------------------------- */

static void
attnviz_compare_view_dispose (GObject *object)
{
  AttnvizCompareView *self = ATTNVIZ_COMPARE_VIEW (object);

  for (int p = 0; p < 3; p++)
    if (self->panes[p] != NULL)
      {
        g_signal_handlers_disconnect_by_func (self->panes[p], on_pane_hover, self);
        gtk_widget_unparent (GTK_WIDGET (self->panes[p]));
        self->panes[p] = NULL;
      }
  if (self->state != NULL)
    g_signal_handlers_disconnect_by_func (self->state, on_state_notify, self);
  g_clear_object (&self->state);
  G_OBJECT_CLASS (attnviz_compare_view_parent_class)->dispose (object);
}

static void
attnviz_compare_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizCompareView *self = ATTNVIZ_COMPARE_VIEW (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_object (value, self->state);
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_compare_view_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AttnvizCompareView *self = ATTNVIZ_COMPARE_VIEW (object);

  switch (prop_id)
    {
    case PROP_STATE:
      attnviz_compare_view_set_state (self, g_value_get_object (value));
      break;
    case PROP_MODE:
      attnviz_compare_view_set_mode (self, g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_compare_view_class_init (AttnvizCompareViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = attnviz_compare_view_dispose;
  object_class->get_property = attnviz_compare_view_get_property;
  object_class->set_property = attnviz_compare_view_set_property;

  properties[PROP_STATE] =
    g_param_spec_object ("state", NULL, NULL, ATTNVIZ_TYPE_VIEW_STATE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODE] =
    g_param_spec_enum ("mode", NULL, NULL, ATTNVIZ_TYPE_COMPARE_MODE, ATTNVIZ_COMPARE_SIDE_BY_SIDE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "compareview");
}

static void
attnviz_compare_view_init (AttnvizCompareView *self)
{
  static const char *const labels[] = { "A", "B", NULL };
  GtkLayoutManager *layout = gtk_widget_get_layout_manager (GTK_WIDGET (self));

  gtk_box_layout_set_homogeneous (GTK_BOX_LAYOUT (layout), TRUE);

  for (int p = 0; p < 3; p++)
    {
      self->panes[p] = ATTNVIZ_HEATMAP_VIEW (attnviz_heatmap_view_new ());
      gtk_widget_set_hexpand (GTK_WIDGET (self->panes[p]), TRUE);
      gtk_widget_set_vexpand (GTK_WIDGET (self->panes[p]), TRUE);
      gtk_widget_set_parent (GTK_WIDGET (self->panes[p]), GTK_WIDGET (self));
      attnviz_heatmap_view_set_label (self->panes[p], labels[p]);
      g_signal_connect (self->panes[p], "hover-changed", G_CALLBACK (on_pane_hover), self);
      attnviz_figure_view_set_side (ATTNVIZ_FIGURE_VIEW (self->panes[p]), (AttnvizViewSide[]) {
                                      ATTNVIZ_VIEW_SIDE_A, ATTNVIZ_VIEW_SIDE_B, ATTNVIZ_VIEW_SIDE_SHOWN }[p]);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->panes[ATTNVIZ_COMPARE_PANE_A]),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, "Attention under variant A", -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->panes[ATTNVIZ_COMPARE_PANE_B]),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, "Attention under variant B", -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->panes[ATTNVIZ_COMPARE_PANE_DIFFERENCE]),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, "Attention of A minus attention of B", -1);
  update_mode (self);
  attnviz_compare_view_set_state (self, NULL);
}

GtkWidget *
attnviz_compare_view_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_COMPARE_VIEW, NULL);
}

AttnvizViewState *
attnviz_compare_view_get_state (AttnvizCompareView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_COMPARE_VIEW (self), NULL);
  return self->state;
}

/* The panes share the state: stepping or selecting in one moves all three. */
void
attnviz_compare_view_set_state (AttnvizCompareView *self, AttnvizViewState *state)
{
  g_return_if_fail (ATTNVIZ_IS_COMPARE_VIEW (self));
  g_return_if_fail (state == NULL || ATTNVIZ_IS_VIEW_STATE (state));

  g_autoptr(AttnvizViewState) own = state == NULL ? attnviz_view_state_new () : NULL;
  if (state == NULL)
    state = own;
  if (!attnviz_view_state_observe (&self->state, state, G_CALLBACK (on_state_notify), self, NULL))
    return;
  for (int p = 0; p < 3; p++)
    attnviz_figure_view_set_state (ATTNVIZ_FIGURE_VIEW (self->panes[p]), state);
  update_shared_range (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

AttnvizCompareMode
attnviz_compare_view_get_mode (AttnvizCompareView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_COMPARE_VIEW (self), ATTNVIZ_COMPARE_SIDE_BY_SIDE);
  return self->mode;
}

void
attnviz_compare_view_set_mode (AttnvizCompareView *self, AttnvizCompareMode mode)
{
  g_return_if_fail (ATTNVIZ_IS_COMPARE_VIEW (self));

  if (mode == self->mode)
    return;
  self->mode = mode;
  update_mode (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODE]);
}
