/* attnviz-grid-view.h: the model view, one thumbnail per layer and head */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-figure-view.h"
#include "attnviz-painter.h"
#include "attnviz-result.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_GRID_VIEW (attnviz_grid_view_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizGridView, attnviz_grid_view, ATTNVIZ, GRID_VIEW, AttnvizFigureView)

GtkWidget *attnviz_grid_view_new (void);

/* What it shows is its state's: attnviz_figure_view_get_state (). */

/* A menu shown on a right click (or the Menu key) over a thumbnail, after
 * that thumbnail becomes the current head; NULL: none. */
GMenuModel *attnviz_grid_view_get_menu_model (AttnvizGridView *self);
void attnviz_grid_view_set_menu_model (AttnvizGridView *self, GMenuModel *model);

/* Badges on thumbnails: MARKS (n_layers * n_heads, layer-major, copied)
 * has bit 0 set for a head switched off in variant A, bit 1 in B; NULL
 * clears them. */
void attnviz_grid_view_set_marks (AttnvizGridView *self, const guint8 *marks, int n);

/* With a difference result the grid draws one number per head, the total
 * variation distance between A's and B's rows, on a range from 0 to the
 * largest of them; with show-scores FALSE, each head's A − B instead (from
 * A's and B's mean overviews, on the diverging map, one range for all).
 *
 * Signals: "head-activated" (layer, head) on a click or Enter;
 * "head-toggled" (layer, head, GdkModifierType) on a Ctrl+click. */
gboolean attnviz_grid_view_get_show_scores (AttnvizGridView *self);
void attnviz_grid_view_set_show_scores (AttnvizGridView *self, gboolean show_scores);

/* The figure with the current head outlined, for export. */
gboolean attnviz_grid_view_get_spec (AttnvizGridView *self, AttnvizGridSpec *spec);
/* The subtitle the widget shows: a long run's drawn from its overviews
 * says how many tokens a pixel pools at the widget's size ("… · max of ≥ 69
 * × 69 tokens per pixel"), as the export's title does.  Valid until
 * the view changes. */
const char *attnviz_grid_view_get_screen_subtitle (AttnvizGridView *self);
/* The thumbnail under the widget point (X, Y). */
gboolean attnviz_grid_view_hit (AttnvizGridView *self, double x, double y, int *layer, int *head);
/* The layout of the figure on screen, at the widget's size. */
gboolean attnviz_grid_view_get_layout (AttnvizGridView *self, AttnvizGridLayout *layout);
/* Under a state's mean or max over heads, a column after the heads holds
 * each layer's: where LAYER's is drawn; FALSE without it. */
gboolean attnviz_grid_view_get_aggregate_rect (AttnvizGridView *self, int layer, graphene_rect_t *rect);
/* Where the thumbnail of LAYER and HEAD is drawn, in the widget. */
gboolean attnviz_grid_view_get_thumbnail_rect (AttnvizGridView *self, int layer, int head, graphene_rect_t *rect);
/* With the state's "order-heads", the heads of LAYER in the order the
 * grid draws them (n_heads real head indices, column by column), once
 * the similarity order is computed (in a worker, after the first paint);
 * NULL while drawn by index. */
const int *attnviz_grid_view_get_head_order (AttnvizGridView *self, int layer);
/* With the state's "head-colour" a measure, the grid draws one cell per
 * head coloured by its value in the run's table (attnviz_grid_view_get_spec ()'s
 * scores, by head index when not ordered). */

/* Paints the content node for a WIDTH x HEIGHT widget (for the benchmark). */
GskRenderNode *attnviz_grid_view_build_node (AttnvizGridView *self, int width, int height);

G_END_DECLS
