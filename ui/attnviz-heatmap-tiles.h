/* attnviz-heatmap-tiles.h: the picture of a long run, a tile at a time
 *
 * A long run keeps no matrices: AttnvizHeatmapView paints the head's
 * overview at once, stretched over the matrix, then the exact picture of
 * what shows, at the screen's resolution, tile by tile as worker threads
 * make them.  A tile is TILE x TILE bins of K x K cells (4 TILE across
 * when pooled) (K = 1: the cells
 * themselves; K > 1: each bin the max of its cells, attnviz_result_pool_tile ()),
 * cached within a memory budget (least recently painted first out), so
 * panning and coming back reuse them.  Work no longer in view is cancelled.
 * Main thread only; "changed" is emitted when a tile or a hover value
 * arrives.
 */
#pragma once

#include <cairo.h>
#include <glib-object.h>

#include "attnviz-painter.h"
#include "attnviz-result.h"

G_BEGIN_DECLS

/* Bins a side of a tile. */
#define ATTNVIZ_HEATMAP_TILE 256
/* What the cache may hold: values and coloured pixels of ready tiles. */
#define ATTNVIZ_HEATMAP_TILES_BYTES ((gsize) 96 << 20)

#define ATTNVIZ_TYPE_HEATMAP_TILES (attnviz_heatmap_tiles_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizHeatmapTiles, attnviz_heatmap_tiles, ATTNVIZ, HEATMAP_TILES, GObject)

AttnvizHeatmapTiles *attnviz_heatmap_tiles_new (void);

/* The run (dropping every tile), the picture (cancelling the work for any
 * other; tiles stay cached) and its colours. */
void attnviz_heatmap_tiles_set_result (AttnvizHeatmapTiles *self, AttnvizResult *result);
void attnviz_heatmap_tiles_set_picture (AttnvizHeatmapTiles *self, AttnvizAggregate aggregate, int layer, int head);
void attnviz_heatmap_tiles_set_colors (AttnvizHeatmapTiles *self, AttnvizColormap colormap, const AttnvizScale *scale);

/* The overview shown before the exact tiles (the head's max overview; the
 * mean over heads' mean), owned by the result; NULL when there is none. */
const float *attnviz_heatmap_tiles_get_overview (AttnvizHeatmapTiles *self, int *rows, int *cols);

/* The largest value any cell of the picture can have, from the overviews:
 * a head's or the max over heads' exact max; for the mean over heads the
 * largest mean of the heads' maxes over a bin (a bound, above the mean
 * overview's max).  NaN for a difference or without overviews. */
float attnviz_heatmap_tiles_get_upper_bound (AttnvizHeatmapTiles *self);

/* Cells a side of a bin when a cell is CELL_PIXELS device pixels: 1 while
 * a cell is about a pixel or more. */
int attnviz_heatmap_tiles_bin_for (double cell_pixels);

/* Frames: between begin and end, paint () records the tiles it wants;
 * end_frame () starts their work and cancels what is no longer wanted. */
void attnviz_heatmap_tiles_begin_frame (AttnvizHeatmapTiles *self);
void attnviz_heatmap_tiles_end_frame (AttnvizHeatmapTiles *self);
/* Paints the picture into CR over the matrix rectangle M (the whole
 * matrix, in CR's user space): the overview, then every ready tile within
 * CR's clip at bins of K cells; missing tiles are asked for. */
void attnviz_heatmap_tiles_paint (AttnvizHeatmapTiles *self, cairo_t *cr, const AttnvizRect *m, int k);
/* Whether every tile the last frame wanted was painted exactly. */
gboolean attnviz_heatmap_tiles_is_complete (AttnvizHeatmapTiles *self);

/* The exact value of cell (ROW, COL) of the picture (for a difference
 * also A's and B's, else NaN): TRUE when known now (an exact tile holds
 * it, or it was computed), FALSE when it is being computed ("changed"
 * follows). */
gboolean attnviz_heatmap_tiles_get_value (AttnvizHeatmapTiles *self, int row, int col,
                                          float *value, float *a, float *b);

/* What bin (BIN_ROW, BIN_COL) of K > 1 cells a side holds, exactly: its
 * max (a difference's A − B of largest magnitude, what a pooled tile
 * paints there), the mean of its cells and how many cells those are (a
 * causal run's masked cells left out).  TRUE when known now, FALSE while
 * it is computed off the main thread ("changed" follows). */
gboolean attnviz_heatmap_tiles_get_bin (AttnvizHeatmapTiles *self, int k, int bin_row, int bin_col,
                                        float *max, float *mean, int *n_cells);

/* The value a ready tile of the picture holds for bin (BIN_ROW, BIN_COL)
 * of K cells a side (K = 1: the cell): what is painted there.  FALSE when
 * no ready tile holds it.  For tests. */
gboolean attnviz_heatmap_tiles_peek (AttnvizHeatmapTiles *self, int k, int bin_row, int bin_col, float *value);

G_END_DECLS
