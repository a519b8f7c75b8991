/* attnviz-heatmap-view-private.h: what the heatmap view's files share
 *
 * attnviz-heatmap-view.c builds the figure (dense or, for a long run, from
 * tiles) and lays it out; attnviz-heatmap-view-input.c zooms, pans,
 * hovers, selects and tells the tooltip.
 */
#pragma once

#include "attnviz-heatmap-tiles.h"
#include "attnviz-heatmap-view.h"
#include "attnviz-widgets-private.h"

G_BEGIN_DECLS

struct _AttnvizHeatmapView
{
  AttnvizFigureView parent_instance;

  double zoom;            /* 1: the figure fits the widget */
  double pan_x, pan_y;    /* the virtual figure's point at the widget's (0, 0) */

  char *label;
  double vmin, vmax;      /* equal: the data's range */
  char *title;
  char *subtitle;

  /* The layout of the figure the base class caches, for the current size. */
  AttnvizHeatmapLayout layout;
  gboolean layout_valid;
  AttnvizScale fitted;        /* the shown matrix's range, fitted once a head */
  gboolean fitted_valid;      /*   and not on every frame of a zoom or pan */

  AttnvizLabelCache *label_cache;   /* label widths, kept while the result stays */

  /* A long run (no dense matrix): painted by tiles; exported pooled */
  AttnvizHeatmapTiles *tiles;
  int bin;                /* cells a side of a bin on screen now (1: exact cells) */
  float *export_matrix;   /* the pooled picture get_spec () gave last */
  char **export_row_labels;
  char **export_col_labels;

  int hover_row, hover_col;
  double pointer_x, pointer_y;
  double drag_pan_x, drag_pan_y;
  gboolean dragging;
  double pinch_zoom;

  /* Another matrix than the weights (attnviz-heatmap-view-matrix.c) */
  GCancellable *matrix_cancellable;  /* the preparation under way, or NULL */
  int matrix_key[5];                 /* what it prepares: matrix, aggregate, layer, head, and the run's serial */
  char *matrix_message;              /* why it cannot be shown, or NULL */
  guint run_serial;                  /* bumped when the state's run is replaced */
};

/* attnviz-heatmap-view-matrix.c: the result the heatmap paints, the
 * state's matrix of its run (NULL while it is computed or when the run
 * has none: the message says which), and what its numbers are. */
AttnvizResult *_attnviz_heatmap_view_shown (AttnvizHeatmapView *self);
const char *_attnviz_heatmap_view_matrix_message (AttnvizHeatmapView *self);
void _attnviz_heatmap_view_cancel_matrix (AttnvizHeatmapView *self);

static inline AttnvizResult *
shown_result (AttnvizHeatmapView *self)
{
  return _attnviz_heatmap_view_shown (self);
}

static inline const char *
shown_unit (AttnvizHeatmapView *self)
{
  return attnviz_matrix_get_unit (attnviz_view_state_get_matrix (figure_state (self)));
}

/* Drops the figure and its layout. */
static inline void
invalidate_content (AttnvizHeatmapView *self)
{
  attnviz_figure_view_invalidate (ATTNVIZ_FIGURE_VIEW (self));
}

static inline int
n_tokens (AttnvizHeatmapView *self)
{
  return shown_result (self) ? attnviz_result_get_n_tokens (shown_result (self)) : 0;
}

static inline int
n_cols (AttnvizHeatmapView *self)
{
  return shown_result (self) ? attnviz_result_get_n_cols (shown_result (self)) : 0;
}

static inline gboolean
is_square (AttnvizHeatmapView *self)
{
  return shown_result (self) == NULL || attnviz_result_is_square (shown_result (self));
}

/* Whether the view shows a long run: no dense matrix, read by tiles. */
static inline gboolean
is_long (AttnvizHeatmapView *self)
{
  return shown_result (self) != NULL && attnviz_result_is_long (shown_result (self))
         && attnviz_result_has_matrix (shown_result (self), figure_aggregate (self), figure_layer (self),
                                       figure_head (self));
}

static inline void
virtual_size (AttnvizHeatmapView *self, double *vw, double *vh)
{
  *vw = gtk_widget_get_width (GTK_WIDGET (self)) * self->zoom;
  *vh = gtk_widget_get_height (GTK_WIDGET (self)) * self->zoom;
}

static inline void
clamp_pan (AttnvizHeatmapView *self)
{
  double vw, vh;
  virtual_size (self, &vw, &vh);
  self->pan_x = CLAMP (self->pan_x, 0, MAX (0, vw - gtk_widget_get_width (GTK_WIDGET (self))));
  self->pan_y = CLAMP (self->pan_y, 0, MAX (0, vh - gtk_widget_get_height (GTK_WIDGET (self))));
}

/* attnviz-heatmap-view-input.c */
void _attnviz_heatmap_view_class_init_input (GtkWidgetClass *widget_class);
void _attnviz_heatmap_view_init_input (AttnvizHeatmapView *self);
void _attnviz_heatmap_view_zoom_at_centre (AttnvizHeatmapView *self, double zoom);
void _attnviz_heatmap_view_notify_zoom (AttnvizHeatmapView *self);
void _attnviz_heatmap_view_take_focus (AttnvizHeatmapView *self);

/* attnviz-heatmap-view-zoomed.c: the compact title and the colour bar
 * pinned over a zoomed figure, WIDTH x HEIGHT, drawn from SPEC. */
void _attnviz_heatmap_view_paint_zoomed (AttnvizHeatmapView *self, cairo_t *cr, const AttnvizHeatmapSpec *spec,
                                         int width, int height);

G_END_DECLS
