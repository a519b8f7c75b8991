/* attnviz-heatmap-view-zoomed.c: what a zoomed heatmap keeps in view
 *
 * Zoomed in, the figure's title and colour bar scroll out of the widget
 * with the rest of the virtual figure.  A band pinned at the top keeps a
 * compact title, the zoom level and the ranges of queries and keys in
 * view; a colour bar pinned at the top right keeps the scale.  Both are
 * drawn into the cached content node, over the cells.
 */
#define G_LOG_DOMAIN "attnviz-heatmap-view"
#include "config.h"

#include <math.h>

#include "attnviz-heatmap-view-private.h"
#include "attnviz-painter-private.h"

#define PLATE_ALPHA 0.88

/* Rows [*R0, *R1] and columns [*C0, *C1] at least partly in view. */
static gboolean
visible_ranges (AttnvizHeatmapView *self, const AttnvizHeatmapLayout *l, int *r0, int *r1, int *c0, int *c1)
{
  const AttnvizRect *m = &l->matrix;
  int width = gtk_widget_get_width (GTK_WIDGET (self)), height = gtk_widget_get_height (GTK_WIDGET (self));
  int rows = n_tokens (self), cols = n_cols (self);
  if (!(l->cell > 0) || rows == 0 || cols == 0)
    return FALSE;
  *r0 = CLAMP ((int) floor ((self->pan_y - m->y) / l->cell), 0, rows - 1);
  *r1 = CLAMP ((int) ceil ((self->pan_y + height - m->y) / l->cell) - 1, 0, rows - 1);
  *c0 = CLAMP ((int) floor ((self->pan_x - m->x) / l->cell), 0, cols - 1);
  *c1 = CLAMP ((int) ceil ((self->pan_x + width - m->x) / l->cell) - 1, 0, cols - 1);
  return TRUE;
}

char *
attnviz_heatmap_view_describe_view (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), NULL);

  AttnvizHeatmapLayout l;
  int r0, r1, c0, c1;
  if (self->zoom <= 1.0 || !attnviz_heatmap_view_get_layout (self, &l, NULL, NULL)
      || !visible_ranges (self, &l, &r0, &r1, &c0, &c1))
    return NULL;
  const char *qn = is_square (self) ? "queries" : "targets", *kn = is_square (self) ? "keys" : "sources";
  return g_strdup_printf ("%s · ×%.3g · %s %d–%d · %s %d–%d", self->title ? self->title : "", self->zoom,
                          qn, r0, r1, kn, c0, c1);
}

static void
plate (cairo_t *cr, const AttnvizRGBA *fg, double x, double y, double w, double h)
{
  /* The page under the text: the foreground's opposite, as the theme is. */
  gboolean dark_text = fg->alpha == 0 || fg->red + fg->green + fg->blue < 1.5;
  double v = dark_text ? 1.0 : 0.14;
  cairo_set_source_rgba (cr, v, v, v, PLATE_ALPHA);
  cairo_rectangle (cr, x, y, w, h);
  cairo_fill (cr);
}

void
_attnviz_heatmap_view_paint_zoomed (AttnvizHeatmapView *self, cairo_t *cr, const AttnvizHeatmapSpec *spec,
                                    int width, int height)
{
  g_autofree char *line = attnviz_heatmap_view_describe_view (self);
  if (line == NULL)
    return;

  AttnvizPainterText text;
  attnviz_painter_text_init (&text, cr);
  double fs = attnviz_painter_font_size (spec->font_size);
  double lh = attnviz_painter_text_line_height (&text, fs);
  double margin = 0.5 * fs;

  /* The compact title. */
  double band = lh + 2 * margin;
  plate (cr, &spec->foreground, 0, 0, width, band);
  attnviz_painter_set_source (cr, &spec->foreground, 1.0);
  attnviz_painter_text_set (&text, line, fs, TRUE, width - 2 * margin);
  attnviz_painter_text_draw (&text, margin, margin, 0, 0);

  /* The colour bar, at the top right under it. */
  AttnvizScale scale = spec->scale;
  if (!attnviz_scale_has_range (&scale) && spec->matrix != NULL)
    attnviz_scale_fit (&scale, spec->matrix, (gsize) spec->rows * spec->cols,
                       attnviz_colormap_is_diverging (spec->colormap));
  double bar_h = MIN (0.4 * height, 14 * fs);
  if (attnviz_scale_has_range (&scale) && bar_h > 4 * lh)
    {
      AttnvizColorbarLayout cb;
      attnviz_painter_colorbar_layout (&text, &scale, bar_h, fs, &cb);
      cb.clips = spec->scale_clips;
      double ramp_w = 0.9 * fs, reserve = attnviz_painter_colorbar_reserve (&cb);
      AttnvizRect bar = { width - margin - reserve - ramp_w, band + margin + lh / 2, ramp_w, bar_h };
      plate (cr, &spec->foreground, bar.x - margin, band, ramp_w + reserve + 2 * margin, bar_h + lh + 2 * margin);
      attnviz_painter_draw_colorbar (cr, &text, &bar, spec->colormap, &scale, &cb, &spec->foreground);
    }
  attnviz_painter_text_clear (&text);
}
