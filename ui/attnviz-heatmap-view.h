/* attnviz-heatmap-view.h: one head (or an aggregate) as an interactive heatmap */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-figure-view.h"
#include "attnviz-painter.h"
#include "attnviz-result.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_HEATMAP_VIEW (attnviz_heatmap_view_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizHeatmapView, attnviz_heatmap_view, ATTNVIZ, HEATMAP_VIEW, AttnvizFigureView)

#define ATTNVIZ_HEATMAP_VIEW_MAX_ZOOM 64.0

GtkWidget *attnviz_heatmap_view_new (void);

/* What it shows (result, layer, head, aggregate, colour map, scale, the
 * selected tokens) is its state's: attnviz_figure_view_get_state (). */
double attnviz_heatmap_view_get_zoom (AttnvizHeatmapView *self);
void attnviz_heatmap_view_set_zoom (AttnvizHeatmapView *self, double zoom);
/* Zooms to ZOOM keeping the matrix point under the widget point (X, Y)
 * there, as Ctrl+scroll and pinching do (the pan allowing). */
void attnviz_heatmap_view_zoom_at (AttnvizHeatmapView *self, double zoom, double x, double y);
/* Zoomed in, what the band pinned over the figure says: "layer 3 · head 5 ·
 * ×8 · queries 1200–1391 · keys 300–512" (the rows and columns at least
 * partly in view); NULL at fit. */
char *attnviz_heatmap_view_describe_view (AttnvizHeatmapView *self);
/* A name put before the title ("A" gives "A · layer 3 · head 5"), or NULL. */
const char *attnviz_heatmap_view_get_label (AttnvizHeatmapView *self);
void attnviz_heatmap_view_set_label (AttnvizHeatmapView *self, const char *label);
/* The values at the ends of the colour map, so that views side by side
 * share one scale; VMIN == VMAX: the data's own range (symmetric for a
 * diverging map). */
void attnviz_heatmap_view_set_range (AttnvizHeatmapView *self, double vmin, double vmax);

/* The crosshair at the cell (ROW, COL), -1 for none, as the pointer puts
 * it; the view emits "hover-changed" (row, col) when it moves. */
void attnviz_heatmap_view_set_hover (AttnvizHeatmapView *self, int row, int col);

/* The figure as the view paints it (for export: foreground left at the
 * painter's default).  Pointers into the result and the view: valid until
 * either changes.  FALSE when there is nothing to show. */
gboolean attnviz_heatmap_view_get_spec (AttnvizHeatmapView *self, AttnvizHeatmapSpec *spec);

/* The cell or label under the widget point (X, Y), as
 * attnviz_heatmap_layout_hit () reports it, zoom and pan applied. */
gboolean attnviz_heatmap_view_hit (AttnvizHeatmapView *self, double x, double y, int *row, int *col);

/* The layout of the figure at the widget's size; (*ORIGIN_X, *ORIGIN_Y)
 * is where the figure's (0, 0) is in widget coordinates. */
gboolean attnviz_heatmap_view_get_layout (AttnvizHeatmapView *self, AttnvizHeatmapLayout *layout,
                                          double *origin_x, double *origin_y);

/* Paints the content node for a WIDTH x HEIGHT widget, as snapshot does
 * when its cache is empty (for the benchmark). */
GskRenderNode *attnviz_heatmap_view_build_node (AttnvizHeatmapView *self, int width, int height);

/* A long run's picture (attnviz-heatmap-tiles.h): the tiles the view
 * paints, and the cells a side of the bins it shows now (1: the cells). */
struct _AttnvizHeatmapTiles *attnviz_heatmap_view_get_tiles (AttnvizHeatmapView *self);
int attnviz_heatmap_view_get_bin (AttnvizHeatmapView *self);
/* The figure as the screen shows it now: a long run's cells painted by
 * tiles (no matrix), its scale reaching the largest value they can paint,
 * its subtitle saying what a pixel is.  Valid as get_spec ()'s. */
gboolean attnviz_heatmap_view_get_screen_spec (AttnvizHeatmapView *self, AttnvizHeatmapSpec *spec);
/* A long run's tooltip for the cell (ROW, COL) under the pointer, as
 * markup: the cell and its exact weight while the view shows exact cells;
 * the bin of K x K cells holding it, by its query and key ranges, with its
 * max and mean while the picture is pooled.  NULL while the value is
 * computed off the main loop (the tiles' "changed" follows). */
char *attnviz_heatmap_view_describe_cell (AttnvizHeatmapView *self, int row, int col);

/* What the view says instead of a picture of the state's "matrix":
 * "Computing the attention rollout…" while it is computed (off the main
 * thread, started by this call or a paint), why the run cannot show it
 * ("The attention flow takes at most 128 tokens; …"), or NULL when the
 * picture is there. */
const char *attnviz_heatmap_view_get_matrix_message (AttnvizHeatmapView *self);

G_END_DECLS
