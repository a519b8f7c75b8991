/* attnviz-painter.h: the figures, drawn into any cairo_t
 *
 * The GTK widgets (through gtk_snapshot_append_cairo) and `attnviz render`
 * share these; nothing here needs GTK.  Every size is in the user units of
 * the cairo_t: pixels on screen, points in a PDF, SVG or PNG file.  Each
 * figure has a spec (what to draw), a layout (where things go, for hit
 * tests) and a paint function that fills WIDTH x HEIGHT from (0, 0); the
 * background is left alone.
 */
#pragma once

#include <cairo.h>

#include "attnviz-attention.h"
#include <glib.h>

#include "attnviz-colormap.h"
#include "attnviz-pattern.h"
#include "attnviz-scale.h"

G_BEGIN_DECLS

typedef struct {
  double x, y, width, height;
} AttnvizRect;

typedef struct {
  double red, green, blue, alpha;   /* sRGB in [0, 1]; alpha 0: the figure's default */
} AttnvizRGBA;

typedef enum {
  ATTNVIZ_AXIS_ROWS,      /* queries */
  ATTNVIZ_AXIS_COLS,      /* keys */
} AttnvizAxis;

typedef enum {
  ATTNVIZ_FIGURE_HEATMAP, /* spec: AttnvizHeatmapSpec */
  ATTNVIZ_FIGURE_GRID,    /* spec: AttnvizGridSpec */
  ATTNVIZ_FIGURE_LINES,   /* spec: AttnvizLinesSpec */
  ATTNVIZ_FIGURE_HEATMAP_ROW, /* spec: AttnvizHeatmapRowSpec */
  ATTNVIZ_FIGURE_SCATTER, /* spec: AttnvizScatterSpec */
  ATTNVIZ_FIGURE_STEP,    /* spec: AttnvizStepSpec */
} AttnvizFigureKind;

/* A token's text made visible for a label: space '␣', newline '↵', tab
 * '⇥', other control characters as ^X, the empty string as '∅'. */
char *attnviz_painter_display_text (const char *text);

/* ---- One head: a heatmap ------------------------------------------------ */

typedef struct {
  const float *matrix;              /* (rows, cols) row-major: rows are queries, columns keys */
  int rows;
  int cols;
  const char *const *row_labels;    /* (rows) UTF-8 token texts, or NULL */
  const char *const *col_labels;    /* (cols) or NULL */
  const char *title;                /* "layer 3 · head 5", or NULL */
  const char *subtitle;             /* model and variant, or NULL */
  const char *row_caption;          /* axis captions ("query", "key"), or NULL */
  const char *col_caption;
  AttnvizColormap colormap;
  AttnvizScale scale;               /* no range: the data's (symmetric for a diverging map) */
  gboolean colorbar;
  int highlight_row;                /* outlined with its label in bold; -1: none */
  int highlight_col;
  /* A causal model's square picture: cells (or bins of the same size on
   * both axes) right of the diagonal, column > row, are masked (future)
   * and drawn in the colour map's no-data colour, not the colour of 0. */
  gboolean mask_future;
  /* A sparse model's (or variant's) pattern over a square picture of
   * cells: cell (i, j) it leaves out is drawn in the no-data colour too,
   * since its weight is 0 by construction.  Zero: dense. */
  AttnvizPattern pattern;
  /* The cells reach beyond the scale's ends (a long run's difference,
   * scaled to its overview): the colour bar says so, "≥ vmax" over its top
   * and "≤ vmin" under its bottom. */
  gboolean scale_clips;
  /* What the colour range is fitted to, said under the colour bar ("per
   * head", "per layer", "whole run", "fixed 0–1": attnviz_range_mode_describe ()),
   * or NULL. */
  const char *scale_caption;
  double font_size;                 /* of labels and ticks; 0: 10 */
  AttnvizRGBA foreground;           /* text; alpha 0: near-black */
  /* A matrix too large to hold (a long run): MATRIX NULL, SCALE with a
   * range, and PAINT_CELLS fills the matrix's rectangle in CR (only what
   * CR's clip shows need be drawn); the rest of the figure as usual. */
  void (*paint_cells) (cairo_t *cr, const AttnvizRect *matrix, gpointer data);
  gpointer paint_cells_data;
  /* Label widths measured by earlier layouts, kept by the caller for a
   * figure drawn again and again (a widget), or NULL. */
  struct _AttnvizLabelCache *label_cache;
  /* At least this much of the top (px) for the margin and the titles:
   * the panels of a row share their tallest, so their matrices line up
   * whatever lines their titles wrap into; 0: the figure's own. */
  double titles_band;
} AttnvizHeatmapSpec;

/* Widths of labels as the heatmap layout measured them, reused while the
 * labels, font size and longest width stay the same.  Main thread. */
typedef struct _AttnvizLabelCache AttnvizLabelCache;
AttnvizLabelCache *attnviz_label_cache_new (void);
void attnviz_label_cache_free (AttnvizLabelCache *cache);
/* Forgets every width (the labels changed). */
void attnviz_label_cache_reset (AttnvizLabelCache *cache);

/* Defaults: viridis, linear over the data, colour bar, no highlight,
 * captions "query" and "key". */
void attnviz_heatmap_spec_init (AttnvizHeatmapSpec *spec, const float *matrix, int rows, int cols);

/* Where the parts of a heatmap of a given size go.  Labels are never
 * drawn over one another: when a cell is thinner than a line of text only
 * every k-th label is shown (plus the highlighted one, with its close
 * neighbours hidden), and a label longer than its band is ellipsized. */
typedef struct {
  double width, height;       /* the figure */
  int rows, cols;
  AttnvizRect matrix;         /* cell (r, c) is at (matrix.x + c * cell, matrix.y + r * cell) */
  double cell;                /* side of a square cell */
  AttnvizRect title;          /* height 0 when absent */
  AttnvizRect subtitle;
  AttnvizRect row_labels;     /* the band left of the matrix the row labels are drawn in */
  AttnvizRect col_labels;     /* the band under the matrix (labels read upwards) */
  AttnvizRect row_caption;    /* rotated caption left of the row labels; height 0 when absent */
  AttnvizRect col_caption;
  AttnvizRect colorbar;       /* the ramp; width 0 when hidden */
  double font_size;           /* of labels */
  double label_extent;        /* a label's height, across its axis */
  int row_label_step;         /* every k-th row label shown; 0: none */
  int col_label_step;
  int highlight_row;
  int highlight_col;
  /* private */
  double colorbar_ticks[16];
  int colorbar_n_ticks;
  double colorbar_label_width;
} AttnvizHeatmapLayout;

void attnviz_heatmap_layout (const AttnvizHeatmapSpec *spec, double width, double height,
                             AttnvizHeatmapLayout *out);

/* Whether label INDEX of AXIS is drawn, and the box it is drawn within. */
gboolean attnviz_heatmap_layout_label_visible (const AttnvizHeatmapLayout *layout, AttnvizAxis axis, int index);
gboolean attnviz_heatmap_layout_label_rect (const AttnvizHeatmapLayout *layout, AttnvizAxis axis,
                                            int index, AttnvizRect *rect);

/* The cell under (X, Y): TRUE with *ROW and *COL inside the matrix.  Over
 * the row labels' band: TRUE with *COL = -1; over the column labels':
 * TRUE with *ROW = -1.  Elsewhere FALSE with both -1. */
gboolean attnviz_heatmap_layout_hit (const AttnvizHeatmapLayout *layout, double x, double y,
                                     int *row, int *col);

void attnviz_paint_heatmap (cairo_t *cr, const AttnvizHeatmapSpec *spec, double width, double height);

/* Heatmaps side by side (a comparison: A, B, A - B), each in an equal
 * share of the width, each with its own title, subtitle and colour bar. */
#define ATTNVIZ_HEATMAP_ROW_MAX 4

typedef struct {
  int n_panels;
  AttnvizHeatmapSpec panels[ATTNVIZ_HEATMAP_ROW_MAX];   /* left to right */
} AttnvizHeatmapRowSpec;

/* Panels of WIDTH / n_panels side by side, their matrices at one height:
 * each panel's titles_band is at least the row's (the tallest titles). */
void attnviz_paint_heatmap_row (cairo_t *cr, const AttnvizHeatmapRowSpec *spec, double width, double height);
double attnviz_heatmap_row_titles_band (const AttnvizHeatmapRowSpec *spec, double width);

/* ---- Every head: the model view ----------------------------------------- */

/* A thumbnail pixel shows the largest weight it covers (thin diagonals stay
 * visible) or their mean: the engine's AttnvizPool (attnviz-attention.h). */
typedef AttnvizPool AttnvizPooling;

/* A column after the heads holding each layer's heads combined, pixel by
 * pixel of the thumbnails as drawn (a view's "mean over heads" or "max
 * over heads"); with scores, each layer's scores combined. */
typedef enum {
  ATTNVIZ_GRID_AGGREGATE_NONE,
  ATTNVIZ_GRID_AGGREGATE_MEAN,   /* headed "mean" */
  ATTNVIZ_GRID_AGGREGATE_MAX,    /* headed "max" */
} AttnvizGridAggregate;

typedef struct {
  int n_layer;                      /* rows of the grid */
  int n_head;                       /* columns */
  const float *const *maps;         /* (n_layer * n_head) layer-major, each (rows, cols); NULL entries: not recorded */
  int rows;
  int cols;
  gboolean lower_triangular;        /* every map is 0 above its diagonal (causal): skip reading it */
  const double *scores;             /* (n_layer * n_head) or NULL: one number per head, drawn instead of the maps */
  /* Overviews of the maps, (n_layer * n_head) layer-major, each (ov_rows, ov_cols) bins already
   * pooled as POOLING says (attnviz_attention_get_overview ()); NULL entries: not recorded.  When
   * set they are drawn instead of MAPS, unless MAPS are given and a thumbnail has more pixels than
   * the overview has bins; MAPS may then be NULL (a long run keeps no dense matrices). */
  const float *const *overviews;
  int ov_rows;
  int ov_cols;
  const int *layer_index;           /* (n_layer) model indices to print, or NULL: 0 .. n_layer - 1 */
  const int *head_index;            /* (n_head) or NULL */
  /* (n_layer * n_head) layer-major, or NULL: the head each thumbnail shows
   * when each layer orders its heads its own way (by similarity), printed
   * in the thumbnail's corner; the column indices are then left out. */
  const int *cell_head_index;
  /* (n_layer * n_head) layer-major as drawn, or NULL: thumbnails chipped
   * with MARK_LABEL in a corner (a hybrid model's additive heads: "a"),
   * which the subtitle should explain: top right, in a lower-triangular
   * map's empty future, else bottom right. */
  const guint8 *marks;
  const char *mark_label;
  AttnvizPooling pooling;
  AttnvizGridAggregate aggregate;   /* a column of each layer's heads combined, or none */
  AttnvizColormap colormap;
  AttnvizScale scale;               /* of the maps (or scores); no range: each thumbnail its own (the scores' range) */
  gboolean colorbar;                /* drawn when the range is shared */
  const char *scale_caption;        /* under a shared range's bar: what it is fitted to ("whole run"), or NULL */
  int current_layer;                /* outlined; -1: none */
  int current_head;
  const char *title;
  const char *subtitle;
  double font_size;                 /* of the titles, and the least of the labels; 0: 10 */
  /* Above FONT_SIZE: the indices, captions, scores and colour bar grow
   * with the thumbnails up to this size (a window's grid); 0: they keep
   * FONT_SIZE (a figure for a page). */
  double max_font_size;
  AttnvizRGBA foreground;
} AttnvizGridSpec;

/* Defaults: max pooling, viridis, own range per thumbnail, no current head,
 * captions from the indices 0 .. n - 1. */
void attnviz_grid_spec_init (AttnvizGridSpec *spec, int n_layer, int n_head,
                             const float *const *maps, int rows, int cols);

typedef struct {
  double width, height;
  int n_layer, n_head;
  AttnvizRect grid;           /* every head's thumbnail: cell (l, h) at grid.x + h * pitch, grid.y + l * pitch */
  AttnvizRect aggregate;      /* the aggregate's column right of the grid, layer l at y + l * pitch; width 0: none */
  double thumb;               /* side of a thumbnail */
  double pitch;               /* thumb + gap */
  AttnvizRect title;
  AttnvizRect subtitle;
  AttnvizRect layer_caption;  /* "layer", rotated, left of the indices */
  AttnvizRect head_caption;   /* "head", above the indices */
  AttnvizRect colorbar;       /* width 0 when hidden */
  double font_size;           /* of the indices and the scores */
  double label_font_size;     /* of the captions and the colour bar (grown from the spec's font size) */
  int layer_label_step;
  int head_label_step;
  int current_layer;
  int current_head;
  /* private */
  double colorbar_ticks[16];
  int colorbar_n_ticks;
  double colorbar_label_width;
} AttnvizGridLayout;

void attnviz_grid_layout (const AttnvizGridSpec *spec, double width, double height, AttnvizGridLayout *out);
gboolean attnviz_grid_layout_cell_rect (const AttnvizGridLayout *layout, int layer, int head, AttnvizRect *rect);
/* The thumbnail under (X, Y), gaps included; FALSE outside the grid. */
gboolean attnviz_grid_layout_hit (const AttnvizGridLayout *layout, double x, double y, int *layer, int *head);
/* The aggregate's thumbnail of LAYER; FALSE without an aggregate column. */
gboolean attnviz_grid_layout_aggregate_rect (const AttnvizGridLayout *layout, int layer, AttnvizRect *rect);
/* The layer whose aggregate thumbnail is under (X, Y), gaps included. */
gboolean attnviz_grid_layout_hit_aggregate (const AttnvizGridLayout *layout, double x, double y, int *layer);

void attnviz_paint_grid (cairo_t *cr, const AttnvizGridSpec *spec, double width, double height);

/* ---- One head as lines between two columns of tokens (BertViz) --------- */

typedef struct {
  const float *matrix;              /* (rows, cols) weights in [0, 1] */
  int rows;
  int cols;
  const char *const *row_labels;    /* (rows) left column, the queries; or NULL */
  const char *const *col_labels;    /* (cols) right column, the keys */
  const char *title;
  const char *subtitle;
  int highlight_row;                /* only its lines at full strength, its keys shaded; -1: none */
  double threshold;                 /* weights under it are not drawn; 0: 0.01 */
  double min_alpha;                 /* a drawn line is at least this opaque (weak ones never vanish); 0: 0.10 */
  const char *left_caption;         /* headings above the columns; NULL: "query" and "key" */
  const char *right_caption;        /*   (an encoder-decoder's cross-attention: "target" and "source") */
  AttnvizRGBA line_color;           /* alpha 0: a blue */
  double font_size;                 /* 0: 10; shrunk when the tokens do not fit */
  AttnvizRGBA foreground;
} AttnvizLinesSpec;

void attnviz_lines_spec_init (AttnvizLinesSpec *spec, const float *matrix, int rows, int cols);

typedef struct {
  double width, height;
  int rows, cols;
  AttnvizRect title;
  AttnvizRect subtitle;
  AttnvizRect left;           /* the query labels' column; row i centred at left.y + (i + 0.5) * left_pitch */
  AttnvizRect right;          /* the key labels' column */
  AttnvizRect left_caption;   /* the headings above the columns */
  AttnvizRect right_caption;
  AttnvizRect legend;         /* under the columns: what is left out and the least opacity */
  double left_pitch;
  double right_pitch;
  double font_size;
  int left_label_step;        /* every k-th label drawn; 0: none */
  int right_label_step;
  int highlight_row;
} AttnvizLinesLayout;

void attnviz_lines_layout (const AttnvizLinesSpec *spec, double width, double height, AttnvizLinesLayout *out);
/* The token under (X, Y): ATTNVIZ_AXIS_ROWS for the left column, COLS for the right. */
gboolean attnviz_lines_layout_hit (const AttnvizLinesLayout *layout, double x, double y,
                                   AttnvizAxis *axis, int *index);

void attnviz_paint_lines (cairo_t *cr, const AttnvizLinesSpec *spec, double width, double height);

/* ---- One head's queries and keys in one plane (AttentionViz) ------------ */

/* Points of attnviz_qk_view () (attnviz-qk.h): queries and keys of a head
 * after AttentionViz's normalisation, on their two principal axes.  Both
 * axes have the same units per point, so distances (which track the
 * attention) read the same either way.  Queries are blue circles, keys
 * orange diamonds (Okabe & Ito's colour-blind-safe pair, and two shapes
 * for a print in grey). */
typedef struct {
  const float *points;              /* (n_queries + n_keys, 2): queries first, then keys */
  int n_queries;
  int n_keys;
  const char *const *query_labels;  /* (n_queries) token texts, or NULL */
  const char *const *key_labels;    /* (n_keys), or NULL */
  double explained[2];              /* share of the variance along PC 1 and PC 2; < 0: not said */
  const char *title;
  const char *subtitle;
  const char *query_caption;        /* the legend's words; NULL: "queries" and "keys" */
  const char *key_caption;
  /* A token's query and key (the same index for self-attention) drawn
   * larger, outlined and labelled with its text; -1: none. */
  int highlight_query;
  int highlight_key;
  /* Points (indices into POINTS) labelled with their token's text, or NULL. */
  const int *labelled;
  int n_labelled;
  double font_size;                 /* 0: 10 */
  AttnvizRGBA foreground;
} AttnvizScatterSpec;

/* Defaults: no labels, no highlight, the variance not said. */
void attnviz_scatter_spec_init (AttnvizScatterSpec *spec, const float *points, int n_queries, int n_keys);

typedef struct {
  double width, height;
  AttnvizRect title;
  AttnvizRect subtitle;
  AttnvizRect legend;         /* the row of "● queries  ◆ keys" above the plot */
  AttnvizRect plot;           /* the framed area the points lie in */
  AttnvizRect x_caption;      /* "PC 1 (62% of variance)" under the tick labels */
  AttnvizRect y_caption;      /* rotated, left of the tick labels */
  double center_x, center_y;  /* the data point drawn at the plot's centre */
  double scale;               /* user units per data unit, on both axes */
  double radius;              /* of a point */
  double font_size;
} AttnvizScatterLayout;

void attnviz_scatter_layout (const AttnvizScatterSpec *spec, double width, double height,
                             AttnvizScatterLayout *out);
/* Where point I of SPEC is drawn. */
void attnviz_scatter_layout_point (const AttnvizScatterLayout *layout, const AttnvizScatterSpec *spec, int i,
                                   double *x, double *y);
/* The point nearest (X, Y) within a few radii, or -1 (the last drawn wins a tie). */
int attnviz_scatter_layout_hit (const AttnvizScatterLayout *layout, const AttnvizScatterSpec *spec, double x,
                                double y);

void attnviz_paint_scatter (cairo_t *cr, const AttnvizScatterSpec *spec, double width, double height);

/* ---- One step of generation: its row in every head (attnviz-painter-step.c) */

/* The row of one query token (the one that wrote a step's token) in every
 * head, an L × H grid of cells of bars, one bar a key. */
typedef struct {
  const float *rows;                /* (n_layers * n_heads, cols) layer-major, or NULL: MESSAGE instead */
  const gboolean *recorded;         /* (n_layers * n_heads) which heads were recorded, or NULL: all */
  int n_layers;
  int n_heads;
  int cols;                         /* keys of a row */
  int keys;                         /* the keys the query sees (a causal row: its position + 1) */
  int first_generated;              /* the first written token's key, drawn dashed; -1: none */
  int current_layer;                /* the head outlined; -1: none */
  int current_head;
  AttnvizColormap colormap;
  const char *message;              /* shown without rows ("Pick a step…"), or NULL */
  double font_size;                 /* 0: 10 */
  AttnvizRGBA foreground;
  AttnvizRGBA accent;               /* the outline; alpha 0: a blue */
} AttnvizStepPanelSpec;

/* Defaults: all COLS keys, no written tokens, no head outlined, viridis. */
void attnviz_step_panel_spec_init (AttnvizStepPanelSpec *spec, const float *rows, int n_layers, int n_heads,
                                   int cols);

typedef struct {
  double margin_left, margin_top;   /* the layers' and the heads' labels */
  double cell_width, cell_height;   /* cells GAP apart, at most 110 tall */
  int n_layers, n_heads;
  double font_size;
} AttnvizStepPanelLayout;

void attnviz_step_panel_layout (const AttnvizStepPanelSpec *spec, double width, double height,
                                AttnvizStepPanelLayout *out);
/* The cell of LAYER, HEAD; FALSE when there is none or no room. */
gboolean attnviz_step_panel_layout_cell (const AttnvizStepPanelLayout *layout, int layer, int head,
                                         AttnvizRect *rect);
void attnviz_paint_step_panel (cairo_t *cr, const AttnvizStepPanelSpec *spec, double width, double height);

/* The Steps page as a figure: the lines of the current head (its query
 * the step's row, highlighted) on the left, the step panel on the right,
 * under one title and subtitle. */
typedef struct {
  AttnvizLinesSpec lines;
  AttnvizStepPanelSpec panel;
  const char *title;
  const char *subtitle;
  double font_size;                 /* of the titles; 0: 10 */
} AttnvizStepSpec;

typedef struct {
  AttnvizRect title;
  AttnvizRect subtitle;
  AttnvizRect lines;                /* where the lines figure is drawn */
  AttnvizRect panel;                /* where the step panel is drawn */
} AttnvizStepLayout;

void attnviz_step_layout (const AttnvizStepSpec *spec, double width, double height, AttnvizStepLayout *out);
void attnviz_paint_step (cairo_t *cr, const AttnvizStepSpec *spec, double width, double height);

/* ---- Any figure ---------------------------------------------------------- */

void attnviz_paint_figure (cairo_t *cr, AttnvizFigureKind kind, const void *spec, double width, double height);

/* Writes the figure to PATH as PNG (at 300 dpi: WIDTH_PT x HEIGHT_PT points
 * become ceil (pt * 300 / 72) pixels), SVG or PDF, chosen by the extension,
 * on a white background, through a temporary file renamed over PATH.
 * Errors (an unknown extension, a folder that cannot be written, a cairo
 * failure) are one line naming PATH. */
gboolean attnviz_paint_to_file (const char *path, AttnvizFigureKind kind, const void *spec,
                                double width_pt, double height_pt, GError **error);

#define ATTNVIZ_PAINTER_PNG_DPI 300.0

/* How a figure is written, beyond its spec. */
typedef struct {
  double dpi;            /* PNG pixels per inch (72 to 1200); 0: ATTNVIZ_PAINTER_PNG_DPI */
  gboolean transparent;  /* no white page behind the figure (PNG with alpha, SVG, PDF) */
  const char *title;     /* the document's title (PDF Info, SVG <title>), or NULL */
} AttnvizExportOptions;

/* attnviz_paint_to_file () with OPTIONS (NULL: the defaults).  A PNG
 * carries its resolution (a pHYs chunk), so a document editor places it at
 * WIDTH_PT x HEIGHT_PT; a PDF carries TITLE and attnviz as its creator. */
gboolean attnviz_paint_to_file_full (const char *path, AttnvizFigureKind kind, const void *spec,
                                     double width_pt, double height_pt, const AttnvizExportOptions *options,
                                     GError **error);

/* Pixels a PNG of WIDTH_PT points is wide at DPI (0: the default). */
int attnviz_png_pixels (double width_pt, double dpi);

G_END_DECLS
