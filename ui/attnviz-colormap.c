#define G_LOG_DOMAIN "attnviz-painter"
#include "config.h"

#include <math.h>

#include "attnviz-colormap.h"
#include "attnviz-colormap-tables.h"

static const struct {
  const char *name;
  const float (*table)[3];      /* (256, 3), NULL for a computed map */
  gboolean diverging;
} maps[ATTNVIZ_N_COLORMAPS] = {
  [ATTNVIZ_COLORMAP_VIRIDIS] = { "viridis", attnviz_colormap_viridis_data, FALSE },
  [ATTNVIZ_COLORMAP_MAGMA] = { "magma", attnviz_colormap_magma_data, FALSE },
  [ATTNVIZ_COLORMAP_GREY] = { "grey", NULL, FALSE },
  [ATTNVIZ_COLORMAP_RDBU] = { "rdbu", attnviz_colormap_rdbu_data, TRUE },
};

static const struct {
  const char *alias;
  AttnvizColormap map;
} aliases[] = {
  { "gray", ATTNVIZ_COLORMAP_GREY },
  { "greys", ATTNVIZ_COLORMAP_GREY },
  { "grays", ATTNVIZ_COLORMAP_GREY },
  { "diverging", ATTNVIZ_COLORMAP_RDBU },
  { "rdbu_r", ATTNVIZ_COLORMAP_RDBU },
};

void
attnviz_colormap_nodata (AttnvizColormap map, double rgb[3])
{
  g_return_if_fail ((guint) map < ATTNVIZ_N_COLORMAPS);

  if (map == ATTNVIZ_COLORMAP_GREY)
    {
      rgb[0] = 0.93; rgb[1] = 0.85; rgb[2] = 0.72;
    }
  else
    {
      /* No viridis, magma or RdBu entry is a neutral mid grey. */
      rgb[0] = rgb[1] = rgb[2] = 0.55;
    }
}

void
attnviz_colormap_lookup (AttnvizColormap map, double t, double rgb[3])
{
  g_return_if_fail ((guint) map < ATTNVIZ_N_COLORMAPS);

  if (isnan (t))
    {
      attnviz_colormap_nodata (map, rgb);
      return;
    }
  t = CLAMP (t, 0.0, 1.0);

  const float (*table)[3] = maps[map].table;
  if (table == NULL)
    {
      /* grey: white to black, linear in sRGB, which is close to linear in
       * lightness L*. */
      rgb[0] = rgb[1] = rgb[2] = 1.0 - t;
      return;
    }

  double x = t * 255.0;
  int i = (int) x;
  if (i >= 255)
    i = 254;
  double f = x - i;
  for (int c = 0; c < 3; c++)
    rgb[c] = table[i][c] + f * (table[i + 1][c] - table[i][c]);
}

guint32
attnviz_colormap_pack (const double rgb[3])
{
  guint32 p = 0xff000000u;
  for (int c = 0; c < 3; c++)
    {
      double v = CLAMP (rgb[c], 0.0, 1.0);
      p |= (guint32) lround (v * 255.0) << (16 - 8 * c);
    }
  return p;
}

void
attnviz_colormap_fill_lut (AttnvizColormap map, guint32 *lut, int n)
{
  g_return_if_fail (n >= 2);

  for (int i = 0; i < n; i++)
    {
      double rgb[3];
      attnviz_colormap_lookup (map, (double) i / (n - 1), rgb);
      lut[i] = attnviz_colormap_pack (rgb);
    }
}

gboolean
attnviz_colormap_is_diverging (AttnvizColormap map)
{
  g_return_val_if_fail ((guint) map < ATTNVIZ_N_COLORMAPS, FALSE);
  return maps[map].diverging;
}

const char *
attnviz_colormap_to_string (AttnvizColormap map)
{
  g_return_val_if_fail ((guint) map < ATTNVIZ_N_COLORMAPS, NULL);
  return maps[map].name;
}

gboolean
attnviz_colormap_from_string (const char *name, AttnvizColormap *map)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < ATTNVIZ_N_COLORMAPS; i++)
    if (g_ascii_strcasecmp (name, maps[i].name) == 0)
      {
        *map = (AttnvizColormap) i;
        return TRUE;
      }
  for (guint i = 0; i < G_N_ELEMENTS (aliases); i++)
    if (g_ascii_strcasecmp (name, aliases[i].alias) == 0)
      {
        *map = aliases[i].map;
        return TRUE;
      }
  return FALSE;
}
