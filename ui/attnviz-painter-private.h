/* attnviz-painter-private.h: what the figures of the painter share
 *
 * Text through pangocairo with metric hinting off, so a label measured
 * without a cairo_t (for a layout the widget hit-tests) has the same width
 * when drawn at any scale; font sizes are absolute, in user units.
 */
#pragma once

#include <cairo.h>
#include <pango/pangocairo.h>

#include "attnviz-colormap.h"
#include "attnviz-painter.h"
#include "attnviz-scale.h"

G_BEGIN_DECLS

#define ATTNVIZ_PAINTER_FONT_FAMILY "DejaVu Sans"
#define ATTNVIZ_PAINTER_DEFAULT_FONT_SIZE 10.0
/* Longest label, in font sizes, before it is ellipsized. */
#define ATTNVIZ_PAINTER_MAX_LABEL_EMS 9.0

typedef struct {
  PangoContext *context;
  PangoLayout *layout;
  PangoFontDescription *font;
  cairo_t *cr;               /* NULL: measuring only */
  GString *svg;              /* the cr's SVG text recorder (attnviz_painter_record_svg_text), or NULL */
  double ascent;             /* per unit of font size, from DejaVu Sans's metrics */
  double descent;
} AttnvizPainterText;

/* SVG keeps text as text: while a GString is attached to a cairo_t with
 * attnviz_painter_record_svg_text (), text "drawn" on it is not drawn but
 * appended to it as SVG <text> elements (the device position of its
 * baseline's start, size, weight, rotation, colour, its measured length),
 * for the file writer to put into the SVG cairo wrote. */
void attnviz_painter_record_svg_text (cairo_t *cr, GString *svg);

/* CR NULL: a context that measures only. */
void attnviz_painter_text_init (AttnvizPainterText *text, cairo_t *cr);
void attnviz_painter_text_clear (AttnvizPainterText *text);

/* Sets what the next measure or draw shows: TEXT at SIZE, ellipsized at the
 * end to MAX_WIDTH when MAX_WIDTH > 0.  Returns the logical width. */
double attnviz_painter_text_set (AttnvizPainterText *text, const char *str,
                                 double size, gboolean bold, double max_width);
/* The height of a line of SIZE: ascent + descent. */
double attnviz_painter_text_line_height (const AttnvizPainterText *text, double size);
/* Draws the text last set so that the point (XALIGN, YALIGN) of its box
 * (width: logical width; height: the line height, baseline from the font's
 * ascent, whatever fallback fonts a label pulls in) lies at (X, Y), in the
 * current user space of the cr. */
void attnviz_painter_text_draw (AttnvizPainterText *text, double x, double y,
                                double xalign, double yalign);

/* The foreground colour of a spec (alpha 0: the default near-black). */
void attnviz_painter_set_source (cairo_t *cr, const AttnvizRGBA *fg, double alpha);

/* Values to pixels: the scale and colour map folded into one table.
 * Log and power scales go through a table indexed by the float's top bits
 * (0.1% buckets), so a cell costs no log() or pow(). */
#define ATTNVIZ_COLORIZER_LEVELS 1024
typedef struct {
  AttnvizScale scale;
  float a, s;            /* w = (v - a) * s, in [0, 1] within range */
  float log_k;           /* log: t = 1 + ln (w) * log_k */
  guint16 *bucket;       /* log/power: level of w by float bits, or NULL */
  guint32 lut[ATTNVIZ_COLORIZER_LEVELS];  /* 0xffRRGGBB at t = i / (LEVELS - 1) */
  guint32 nodata;
} AttnvizColorizer;

/* SCALE must have a range; see set_scale for N_VALUES. */
void attnviz_colorizer_init (AttnvizColorizer *c, const AttnvizScale *scale, AttnvizColormap map,
                             gsize n_values);
/* Keeps the colours, changes the scale; N_VALUES (how many values will be
 * coloured) decides whether a table pays for itself. */
void attnviz_colorizer_set_scale (AttnvizColorizer *c, const AttnvizScale *scale, gsize n_values);
void attnviz_colorizer_clear (AttnvizColorizer *c);
/* OUT (N) pixels for IN (N) values. */
void attnviz_colorizer_row (const AttnvizColorizer *c, const float *in, int n, guint32 *out);
guint32 attnviz_colorizer_pixel (const AttnvizColorizer *c, float v);

/* An opaque image surface (cols, rows) of MATRIX (rows, cols) coloured by C. */
cairo_surface_t *attnviz_painter_matrix_surface (const AttnvizColorizer *c, const float *matrix,
                                                 int rows, int cols, gsize row_stride);
/* Paints the pixels of SURFACE (RGB24, one a cell or bin, its top-left
 * pixel the matrix's row ROW0 and column COL0) that are no data in C's
 * no-data colour: with FUTURE, those right of the diagonal (column > row,
 * a causal model's masked cells); with PATTERN (NULL or dense: none), the
 * cells it leaves out (pixel (i, j) is cell (row0 + i, col0 + j)). */
void attnviz_painter_mask_cells (const AttnvizColorizer *c, cairo_surface_t *surface, int row0, int col0,
                                 gboolean future, const AttnvizPattern *pattern);
/* Fills RECT with SURFACE scaled to it, always with CAIRO_FILTER_NEAREST. */
void attnviz_painter_draw_surface (cairo_t *cr, cairo_surface_t *surface, const AttnvizRect *rect);

/* Colour bar: the ramp in RECT (bottom t = 0, top t = 1), ticks and their
 * labels on its right.  reserve gives the width the labels need beyond the
 * ramp, for the layout. */
#define ATTNVIZ_COLORBAR_TICK_EMS 0.35
typedef struct {
  double ticks[16];
  int n_ticks;
  double font_size;
  double tick_length;
  double label_width;      /* widest tick label */
  gboolean clips;          /* values lie beyond the ends: "≥ vmax" over the top, "≤ vmin" under the bottom */
  const char *end_labels[2]; /* labels of the lowest and highest tick instead of numbers, or NULL */
  const char *caption;     /* what the range is fitted to ("per layer"), under the ramp, or NULL */
  double caption_width;
} AttnvizColorbarLayout;

/* A caption is drawn this much smaller than the tick labels, this far
 * (in font sizes) under the ramp. */
#define ATTNVIZ_COLORBAR_CAPTION_SCALE 0.85
#define ATTNVIZ_COLORBAR_CAPTION_GAP_EMS 0.3

void attnviz_painter_colorbar_layout (AttnvizPainterText *text, const AttnvizScale *scale,
                                      double bar_height, double font_size, AttnvizColorbarLayout *out);
/* A bar of relative colours (each panel its own range): ticks at its two
 * ends only, labelled LOW and HIGH. */
void attnviz_painter_colorbar_layout_ends (AttnvizPainterText *text, const char *low, const char *high,
                                           double font_size, AttnvizColorbarLayout *out);
double attnviz_painter_colorbar_reserve (const AttnvizColorbarLayout *cb);
/* Sets CB's caption (NULL or "": none) and measures it. */
void attnviz_painter_colorbar_set_caption (AttnvizPainterText *text, AttnvizColorbarLayout *cb, const char *caption);
/* The height the caption takes under the ramp (gap included), 0 without one. */
double attnviz_painter_colorbar_caption_height (const AttnvizPainterText *text, const AttnvizColorbarLayout *cb);
void attnviz_painter_draw_colorbar (cairo_t *cr, AttnvizPainterText *text, const AttnvizRect *rect,
                                    AttnvizColormap map, const AttnvizScale *scale,
                                    const AttnvizColorbarLayout *cb, const AttnvizRGBA *fg);

/* Title and subtitle over the top of a figure of WIDTH; returns the height
 * they take (0 with neither). */
double attnviz_painter_titles_layout (AttnvizPainterText *text, const char *title, const char *subtitle,
                                      double font_size, double width, double margin,
                                      AttnvizRect *title_rect, AttnvizRect *subtitle_rect);
void attnviz_painter_draw_titles (cairo_t *cr, AttnvizPainterText *text, const char *title,
                                  const char *subtitle, double font_size,
                                  const AttnvizRect *title_rect, const AttnvizRect *subtitle_rect,
                                  const AttnvizRGBA *fg);

double attnviz_painter_font_size (double spec_size);

/* Every k-th of N labels, each EXTENT across its axis, at PITCH apart, so
 * that neighbours do not overlap: 1 when they fit, 0 when not one does. */
int attnviz_painter_label_step (double pitch, double extent, int n, double total);

/* ---- The grid's pooling (attnviz-painter-grid-pool.c) ---- */

/* What the thumbnails are pooled from: the dense maps, or the overviews. */
typedef struct {
  const float *const *maps;  /* (n_maps) each (rows, cols); NULL entries: not recorded */
  int n_maps;
  int rows, cols;
  gboolean lower;            /* 0 above the diagonal, and bins of rows and columns line up */
} AttnvizGridSource;

/* What a grid of thumbnails TR x TC pixels is pooled from. */
void attnviz_grid_source (const AttnvizGridSpec *spec, int tr, int tc, AttnvizGridSource *src);
/* Pixels along a thumbnail of THUMB user units drawn on CR, at most N. */
int attnviz_grid_thumbnail_pixels (cairo_t *cr, double thumb, int n);
/* POOLED (n_maps, tr, tc): each map of SRC pooled into the bins whose
 * first rows are RS (tr + 1) and first columns CS (tc + 1). */
void attnviz_grid_pool_all (const AttnvizGridSource *src, AttnvizPooling pooling, int tr, int tc, const int *rs,
                            const int *cs, float *pooled);
/* (tr, tc) flags of the pixels that hold only a causal model's masked
 * future, or NULL when nothing is masked. */
guint8 *attnviz_grid_future_pixels (const AttnvizGridSpec *spec, const AttnvizGridSource *src, int tr, int tc,
                                    const int *rs, const int *cs);
/* OUT (n) = the mean or max over the non-NULL HEADS (n_head, n), NaN
 * left out; FALSE when no head has data. */
gboolean attnviz_grid_combine_heads (const float *const *heads, int n_head, gsize n, AttnvizGridAggregate aggregate,
                                     float *out);

G_END_DECLS
