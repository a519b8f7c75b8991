/* attnviz-grid-view-private.h: what the grid view's files share
 *
 * attnviz-grid-view.c finds the overviews, builds the figure's spec and
 * draws the badges and outlines over it; attnviz-grid-view-input.c hovers,
 * clicks, steps through heads, opens the menu and tells the tooltip.
 */
#pragma once

#include "attnviz-grid-view.h"
#include "attnviz-widgets-private.h"

G_BEGIN_DECLS

struct _AttnvizGridView
{
  AttnvizFigureView parent_instance;

  char *range_caption;     /* under a shared range's bar, or NULL */
  char *subtitle;
  char *title;
  char *screen_subtitle;  /* the subtitle with the note of the pooling on screen */
  gboolean show_scores;   /* a difference: its TVD per head, or A − B thumbnails */

  /* The overviews of the result's heads (attnviz_attention_get_overview ()),
   * found on first use */
  const float **overviews;  /* (n_layer * n_head) into the source, or into diff; or NULL */
  float *diff;              /* (n_layer * n_head, ov_rows, ov_cols) A − B of the mean overviews */
  int ov_rows, ov_cols;
  float diff_range;         /* largest |A − B| */

  GMenuModel *menu_model;
  GtkWidget *menu;        /* GtkPopoverMenu, a child, or NULL */
  GByteArray *marks;      /* (n_layer * n_head) bit 0: off in A, bit 1: off in B; or NULL */

  AttnvizGridLayout layout;
  gboolean layout_valid;

  int hover_layer, hover_head;   /* hover_head n_heads: the layer's aggregate */

  /* Colour by a measure, order by similarity (attnviz-grid-view-overlay.c) */
  double *measure_scores;          /* (n_layer * n_head) the state's measure, by head */
  int *order;                      /* (n_layer * n_head) column c of layer l shows head order[l * n_head + c]; NULL: by index */
  int *column;                     /* its inverse: the column of head h of layer l */
  GCancellable *order_cancellable; /* the similarity being computed, or NULL */
  char *order_message;             /* why there is no order, or NULL */
  const float **ordered_maps;      /* the spec's per-head arrays in the drawn order */
  const float **ordered_overviews;
  double *ordered_scores;
  guint8 *additive;                /* (n_layer * n_head) as drawn: the heads that scored additively; or NULL */
};

enum {
  HEAD_ACTIVATED,
  HEAD_TOGGLED,
  N_GRID_VIEW_SIGNALS
};

extern guint _attnviz_grid_view_signals[N_GRID_VIEW_SIGNALS];

static inline int
n_layers (AttnvizGridView *self)
{
  return figure_result (self) ? attnviz_result_get_n_layers (figure_result (self)) : 0;
}

static inline int
n_heads (AttnvizGridView *self)
{
  return figure_result (self) ? attnviz_result_get_n_heads (figure_result (self)) : 0;
}

/* Lays the screen figure out for the widget's size, once until it
 * changes; FALSE with nothing to show. */
gboolean _attnviz_grid_view_ensure_layout (AttnvizGridView *self);

/* The cell under (X, Y) once laid out: a head's thumbnail, or (*HEAD =
 * n_heads) the aggregate's of *LAYER. */
gboolean _attnviz_grid_view_hit_cell (AttnvizGridView *self, double x, double y, int *layer, int *head);
/* Where that cell is; FALSE for none. */
gboolean _attnviz_grid_view_cell_rect (AttnvizGridView *self, int layer, int head, AttnvizRect *rect);

/* attnviz-grid-view-overlay.c: the state's measure and order applied to
 * SPEC (made by get_spec ()); the head shown in COLUMN of LAYER, and the
 * column showing HEAD (the identity unless ordered by similarity). */
void _attnviz_grid_view_apply_overlays (AttnvizGridView *self, AttnvizGridSpec *spec);
int _attnviz_grid_view_head_at (AttnvizGridView *self, int layer, int column);
int _attnviz_grid_view_column_of (AttnvizGridView *self, int layer, int head);
void _attnviz_grid_view_clear_order (AttnvizGridView *self);

/* attnviz-grid-view-input.c */
void _attnviz_grid_view_class_init_input (GtkWidgetClass *widget_class);
void _attnviz_grid_view_init_input (AttnvizGridView *self);

G_END_DECLS
