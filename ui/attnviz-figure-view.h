/* attnviz-figure-view.h: the base of the views that paint a figure
 *
 * As baobab's Chart: the base owns the state hookup (one "state"
 * property, and which result of it the view shows: "side"), the cached
 * render node and its invalidation, size_allocate, css_changed and
 * measure; a subclass builds the node, hit-tests and tells its tooltip.
 */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-difference.h"
#include "attnviz-view-state.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_FIGURE_VIEW (attnviz_figure_view_get_type ())
G_DECLARE_DERIVABLE_TYPE (AttnvizFigureView, attnviz_figure_view, ATTNVIZ, FIGURE_VIEW, GtkWidget)

struct _AttnvizFigureViewClass
{
  GtkWidgetClass parent_class;

  /* The figure for a WIDTH x HEIGHT widget, kept until invalidated. */
  GskRenderNode *(*build_node) (AttnvizFigureView *self, int width, int height);
  /* A message to show instead of the figure, or NULL (optional). */
  const char *(*get_message) (AttnvizFigureView *self);
  /* Drawn over the cached figure every frame: hover, selection (optional). */
  void (*snapshot_overlay) (AttnvizFigureView *self, GtkSnapshot *snapshot);
  /* A property of the state changed (PSPEC NULL: the state or the result
   * shown was replaced); returns whether the cached figure is stale.
   * Optional: any change is. */
  gboolean (*state_changed) (AttnvizFigureView *self, GParamSpec *pspec);
  /* The widget was given a new size, before the cache is dropped (optional). */
  void (*resized) (AttnvizFigureView *self, int width, int height);
  /* The cached figure was dropped: drop what was laid out with it (optional). */
  void (*invalidated) (AttnvizFigureView *self);

  gpointer padding[8];
};

/* The state observed; a view made without one has its own. */
AttnvizViewState *attnviz_figure_view_get_state (AttnvizFigureView *self);
void attnviz_figure_view_set_state (AttnvizFigureView *self, AttnvizViewState *state);
AttnvizViewSide attnviz_figure_view_get_side (AttnvizFigureView *self);
void attnviz_figure_view_set_side (AttnvizFigureView *self, AttnvizViewSide side);
/* The result this view shows: the state's, or its A or B. */
AttnvizResult *attnviz_figure_view_get_result (AttnvizFigureView *self);

/* Drops the cached figure and queues a draw. */
void attnviz_figure_view_invalidate (AttnvizFigureView *self);

/* The content node for a WIDTH x HEIGHT widget, as snapshot paints it
 * when its cache is empty (for the benchmarks). */
GskRenderNode *attnviz_figure_view_build_node (AttnvizFigureView *self, int width, int height);

G_END_DECLS

G_BEGIN_DECLS

/* Short reads of what a figure view shows, for its subclasses. */
static inline AttnvizResult *
figure_result (gpointer view)
{
  return attnviz_figure_view_get_result (ATTNVIZ_FIGURE_VIEW (view));
}

static inline AttnvizViewState *
figure_state (gpointer view)
{
  return attnviz_figure_view_get_state (ATTNVIZ_FIGURE_VIEW (view));
}

static inline int
figure_layer (gpointer view)
{
  return attnviz_view_state_get_layer (figure_state (view));
}

static inline int
figure_head (gpointer view)
{
  return attnviz_view_state_get_head (figure_state (view));
}

static inline AttnvizAggregate
figure_aggregate (gpointer view)
{
  return attnviz_view_state_get_aggregate (figure_state (view));
}

/* A difference is drawn on the diverging map, linear: A − B has a sign. */
static inline AttnvizColormap
figure_colormap (gpointer view)
{
  AttnvizResult *result = figure_result (view);
  if (result != NULL && ATTNVIZ_IS_DIFFERENCE (result))
    return ATTNVIZ_COLORMAP_RDBU;
  return attnviz_view_state_get_colormap (figure_state (view));
}

static inline AttnvizScaleKind
figure_scale (gpointer view)
{
  AttnvizResult *result = figure_result (view);
  if (result != NULL && ATTNVIZ_IS_DIFFERENCE (result))
    return ATTNVIZ_SCALE_LINEAR;
  return attnviz_view_state_get_scale (figure_state (view));
}

G_END_DECLS
