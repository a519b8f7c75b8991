/* attnviz-colormap.h: numbers in [0, 1] to colours
 *
 * viridis and magma are matplotlib's perceptually uniform maps (the real
 * 256-entry tables); grey runs white (0) to black (1) for print; rdbu is
 * matplotlib's RdBu_r, blue (0) through white (0.5) to red (1), for
 * signed differences such as A - B with a range symmetric about zero.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  ATTNVIZ_COLORMAP_VIRIDIS,
  ATTNVIZ_COLORMAP_MAGMA,
  ATTNVIZ_COLORMAP_GREY,
  ATTNVIZ_COLORMAP_RDBU,
  ATTNVIZ_N_COLORMAPS
} AttnvizColormap;

/* The colour at T, sRGB in [0, 1], interpolated between table entries.  T
 * is clamped to [0, 1]; NaN gives the map's "no data" colour. */
void attnviz_colormap_lookup (AttnvizColormap map, double t, double rgb[3]);

/* The "no data" colour of MAP: a neutral grey that the map itself never
 * takes (for the grey map, a pale tan, since every grey is a value). */
void attnviz_colormap_nodata (AttnvizColormap map, double rgb[3]);

/* Fills LUT (N >= 2 entries) with opaque 0xffRRGGBB pixels (cairo
 * CAIRO_FORMAT_RGB24/ARGB32) at t = i / (N - 1). */
void attnviz_colormap_fill_lut (AttnvizColormap map, guint32 *lut, int n);

/* Packs an sRGB colour in [0, 1] as an opaque 0xffRRGGBB pixel. */
guint32 attnviz_colormap_pack (const double rgb[3]);

/* TRUE for maps whose middle is neutral (rdbu). */
gboolean attnviz_colormap_is_diverging (AttnvizColormap map);

/* "viridis", "magma", "grey", "rdbu". */
const char *attnviz_colormap_to_string (AttnvizColormap map);
/* Also accepts "gray", "greys", "diverging" and "rdbu_r", in any case. */
gboolean attnviz_colormap_from_string (const char *name, AttnvizColormap *map);

G_END_DECLS
