/* attnviz-cli-figure.h: how `attnviz render` sizes and writes a figure
 *
 * The options a paper needs, parsed and checked in one place:
 *
 *   --width 85mm | 8.5cm | 3.3in | 240pt | 240 | one-column | two-column
 *   --height (the same lengths, no presets)   --font-size PT   --dpi N
 *   --no-title  --no-subtitle  --no-colorbar  --transparent  --range LO:HI
 *   --range-mode head | layer | run | fixed
 *
 * one-column is 3.33 in (240 pt) and two-column 7 in (504 pt), the widths
 * of a figure in a two-column paper.  A bad value is a usage error naming
 * the option.
 */
#pragma once

#include <glib.h>

#include "attnviz-painter.h"

G_BEGIN_DECLS

typedef struct {
  /* as given */
  char *width_s;
  char *height_s;
  char *range_s;
  char *range_mode_s;
  double font_size;      /* points; 0: the figure's default */
  double dpi;            /* PNG; 0: ATTNVIZ_PAINTER_PNG_DPI */
  gboolean no_title;
  gboolean no_subtitle;
  gboolean no_colorbar;
  gboolean transparent;
  gboolean keep_selection; /* the view's selection, hover and current head stay outlined */
  /* after attnviz_cli_figure_check () */
  double width_pt;       /* 0: the figure's default */
  double height_pt;
  double vmin;           /* NAN: the data's */
  double vmax;
  /* what the colour range is fitted to: fixed with --range (or --vmin and
   * --vmax), else as --range-mode says (default: per head) */
  AttnvizRangeMode range_mode;
} AttnvizCliFigure;

#define ATTNVIZ_CLI_FIGURE_OPTION_ENTRIES(f)                                                                     \
  { "width", 'W', 0, G_OPTION_ARG_STRING, &(f)->width_s,                                                         \
    "Figure width: 85mm, 3.3in, 240pt (a number alone is points), one-column or two-column", "LENGTH" },          \
  { "height", 0, 0, G_OPTION_ARG_STRING, &(f)->height_s, "Figure height, as --width (default: from the width)",  \
    "LENGTH" },                                                                                                  \
  { "font-size", 0, 0, G_OPTION_ARG_DOUBLE, &(f)->font_size, "Label size in points (default 10)", "PT" },        \
  { "dpi", 0, 0, G_OPTION_ARG_DOUBLE, &(f)->dpi, "PNG resolution, written into the file (default 300)", "N" },  \
  { "no-title", 0, 0, G_OPTION_ARG_NONE, &(f)->no_title, "Leave out the title", NULL },                          \
  { "no-subtitle", 0, 0, G_OPTION_ARG_NONE, &(f)->no_subtitle, "Leave out the subtitle (model, variant, size)",  \
    NULL },                                                                                                      \
  { "no-colorbar", 0, 0, G_OPTION_ARG_NONE, &(f)->no_colorbar, "Leave out the colour bar", NULL },              \
  { "transparent", 0, 0, G_OPTION_ARG_NONE, &(f)->transparent, "No white page behind the figure", NULL },        \
  { "keep-selection", 0, 0, G_OPTION_ARG_NONE, &(f)->keep_selection,                                             \
    "Outline the chosen head in a grid (--layer, --head), as the app's selection", NULL },                      \
  { "range", 0, 0, G_OPTION_ARG_STRING, &(f)->range_s,                                                           \
    "Fixed colour range, e.g. 0:1 (the same as --vmin 0 --vmax 1)", "LO:HI" },                                  \
  { "range-mode", 0, 0, G_OPTION_ARG_STRING, &(f)->range_mode_s,                                                 \
    "What the colour range is fitted to: head (each its own, default), layer (all heads of the layer), run "      \
    "(every layer and head) or fixed (0 to 1, or --range)", "MODE" }

/* Parses a length ("85mm") into points; PRESETS allows one-column and
 * two-column.  FALSE with a usage message naming OPTION. */
gboolean attnviz_cli_parse_length (const char *option, const char *text, gboolean presets, double *pt,
                                   GError **error);

/* Checks F and fills its parsed fields; VMIN and VMAX are the command's
 * --vmin and --vmax (NAN when not given), which --range must not repeat. */
gboolean attnviz_cli_figure_check (AttnvizCliFigure *f, double vmin, double vmax, GError **error);

/* Applies F to SPEC, a figure of KIND: no title or subtitle when asked,
 * the colour bar, the font size and a fixed range (on every panel that is
 * not diverging; the colour bar's caption and the subtitle's "colours: …"
 * then say "fixed LO–HI"); and drops what only the screen shows (the selected
 * token, the hovered one, the current head) unless F keeps the selection.
 * `attnviz render` and the app's export dialog both write through this. */
void attnviz_cli_figure_apply (const AttnvizCliFigure *f, AttnvizFigureKind kind, void *spec);

/* The size to write: DEFAULT_W x DEFAULT_H points unless F gives a width
 * (the height then keeps the default's proportions) or a height. */
void attnviz_cli_figure_size (const AttnvizCliFigure *f, double default_w, double default_h, double *width_pt,
                              double *height_pt);

/* The export options of F, with TITLE as the document's title. */
AttnvizExportOptions attnviz_cli_figure_export_options (const AttnvizCliFigure *f, const char *title);

void attnviz_cli_figure_clear (AttnvizCliFigure *f);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AttnvizCliFigure, attnviz_cli_figure_clear)

G_END_DECLS
