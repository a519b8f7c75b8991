/* attnviz-painter-colorbar.c: the colour bar beside every figure
 *
 * Laid out first (its ticks, the widest label, an optional caption under
 * it, ends named in words for a grid of per-head ranges), then drawn as a
 * ramp of the colour map with ticks and labels on one side.
 */
#define G_LOG_DOMAIN "attnviz-painter"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-painter-private.h"

/* ---- Colour bar ------------------------------------------------------------ */

void
attnviz_painter_colorbar_layout (AttnvizPainterText *text, const AttnvizScale *scale,
                                 double bar_height, double font_size, AttnvizColorbarLayout *out)
{
  double lh = attnviz_painter_text_line_height (text, font_size);

  memset (out, 0, sizeof *out);
  out->font_size = font_size;
  out->tick_length = ATTNVIZ_COLORBAR_TICK_EMS * font_size;
  int max_ticks = CLAMP ((int) floor (bar_height / (2.0 * lh)), 2, 9);
  /* Both ends labelled, whatever the nice numbers between them. */
  out->n_ticks = attnviz_scale_ticks_with_ends (scale, max_ticks, bar_height > 0 ? 1.2 * lh / bar_height : 0.2,
                                                out->ticks);

  g_auto(GStrv) labels = attnviz_scale_tick_labels (scale, out->ticks, out->n_ticks);
  for (int i = 0; i < out->n_ticks; i++)
    out->label_width = MAX (out->label_width, attnviz_painter_text_set (text, labels[i], font_size, FALSE, 0));
  /* At least a signed two-decimal tick: figures side by side (A | B | A − B,
   * 0–1 beside −0.75–0.75) then keep one size whatever their ticks say. */
  out->label_width = MAX (out->label_width, attnviz_painter_text_set (text, "−0.00", font_size, FALSE, 0));
}

void
attnviz_painter_colorbar_layout_ends (AttnvizPainterText *text, const char *low, const char *high,
                                      double font_size, AttnvizColorbarLayout *out)
{
  memset (out, 0, sizeof *out);
  out->font_size = font_size;
  out->tick_length = ATTNVIZ_COLORBAR_TICK_EMS * font_size;
  out->n_ticks = 2;
  out->ticks[0] = 0;
  out->ticks[1] = 1;
  out->end_labels[0] = low;
  out->end_labels[1] = high;
  out->label_width = MAX (attnviz_painter_text_set (text, low, font_size, FALSE, 0),
                          attnviz_painter_text_set (text, high, font_size, FALSE, 0));
}

double
attnviz_painter_colorbar_reserve (const AttnvizColorbarLayout *cb)
{
  return cb->tick_length + 0.25 * cb->font_size + cb->label_width;
}

void
attnviz_painter_colorbar_set_caption (AttnvizPainterText *text, AttnvizColorbarLayout *cb, const char *caption)
{
  cb->caption = caption != NULL && *caption ? caption : NULL;
  cb->caption_width = cb->caption != NULL
    ? attnviz_painter_text_set (text, caption, ATTNVIZ_COLORBAR_CAPTION_SCALE * cb->font_size, FALSE, 0) : 0;
}

double
attnviz_painter_colorbar_caption_height (const AttnvizPainterText *text, const AttnvizColorbarLayout *cb)
{
  if (cb->caption == NULL)
    return 0;
  return ATTNVIZ_COLORBAR_CAPTION_GAP_EMS * cb->font_size
         + attnviz_painter_text_line_height (text, ATTNVIZ_COLORBAR_CAPTION_SCALE * cb->font_size);
}

void
attnviz_painter_draw_colorbar (cairo_t *cr, AttnvizPainterText *text, const AttnvizRect *rect,
                               AttnvizColormap map, const AttnvizScale *scale,
                               const AttnvizColorbarLayout *cb, const AttnvizRGBA *fg)
{
  if (!(rect->width > 0) || !(rect->height > 0))
    return;

  /* The ramp, t = 1 at the top, as a (1, LEVELS) image. */
  cairo_surface_t *ramp = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 1, ATTNVIZ_COLORIZER_LEVELS);
  cairo_surface_flush (ramp);
  guchar *data = cairo_image_surface_get_data (ramp);
  int stride = cairo_image_surface_get_stride (ramp);
  for (int i = 0; i < ATTNVIZ_COLORIZER_LEVELS; i++)
    {
      double rgb[3];
      attnviz_colormap_lookup (map, 1.0 - (double) i / (ATTNVIZ_COLORIZER_LEVELS - 1), rgb);
      *(guint32 *) (data + (gsize) i * stride) = attnviz_colormap_pack (rgb);
    }
  cairo_surface_mark_dirty (ramp);
  attnviz_painter_draw_surface (cr, ramp, rect);
  cairo_surface_destroy (ramp);

  cairo_save (cr);
  double lw = MAX (0.5, 0.06 * cb->font_size);
  cairo_set_line_width (cr, lw);
  attnviz_painter_set_source (cr, fg, 0.6);
  cairo_rectangle (cr, rect->x, rect->y, rect->width, rect->height);
  cairo_stroke (cr);

  g_auto(GStrv) labels = attnviz_scale_tick_labels (scale, cb->ticks, cb->n_ticks);
  double lh = attnviz_painter_text_line_height (text, cb->font_size);
  double x = rect->x + rect->width;
  double last_y = INFINITY;
  double top_t = cb->n_ticks > 0 ? attnviz_scale_map (scale, cb->ticks[cb->n_ticks - 1]) : NAN;
  double top_y = isnan (top_t) ? -INFINITY : rect->y + (1.0 - top_t) * rect->height;
  attnviz_painter_set_source (cr, fg, 1.0);
  for (int i = 0; i < cb->n_ticks; i++)
    {
      double t = attnviz_scale_map (scale, cb->ticks[i]);
      if (isnan (t))
        continue;
      double y = rect->y + (1.0 - t) * rect->height;
      cairo_move_to (cr, x, y);
      cairo_rel_line_to (cr, cb->tick_length, 0);
      cairo_stroke (cr);
      /* Ticks come bottom to top; a label too close to the last one, or
       * to the top end's (always labelled), is left out. */
      gboolean top = i == cb->n_ticks - 1;
      if (last_y - y < lh || (!top && y - top_y < lh))
        continue;
      const char *label = cb->end_labels[0] && i == 0 ? cb->end_labels[0]
                        : cb->end_labels[1] && i == cb->n_ticks - 1 ? cb->end_labels[1]
                        : labels[i];
      attnviz_painter_text_set (text, label, cb->font_size, FALSE, 0);
      attnviz_painter_text_draw (text, x + cb->tick_length + 0.25 * cb->font_size, y, 0.0, 0.5);
      last_y = y;
    }
  if (cb->clips)
    {
      /* The ends are not the data's: say what lies beyond them. */
      double ends[2] = { scale->vmin, scale->vmax };
      g_auto(GStrv) end_labels = attnviz_scale_tick_labels (scale, ends, 2);
      g_autofree char *high = g_strdup_printf ("≥ %s", end_labels[1]);
      attnviz_painter_text_set (text, high, cb->font_size, TRUE, 0);
      attnviz_painter_text_draw (text, rect->x, rect->y - 0.2 * cb->font_size, 0.0, 1.0);
      if (scale->vmin < 0)
        {
          g_autofree char *low = g_strdup_printf ("≤ %s", end_labels[0]);
          attnviz_painter_text_set (text, low, cb->font_size, TRUE, 0);
          attnviz_painter_text_draw (text, rect->x, rect->y + rect->height + 0.2 * cb->font_size, 0.0, 0.0);
        }
    }
  if (cb->caption != NULL)
    {
      /* What the range is fitted to, so a colour keeps one meaning. */
      double below = cb->clips && scale->vmin < 0 ? lh + 0.2 * cb->font_size : 0;
      attnviz_painter_set_source (cr, fg, 0.7);
      attnviz_painter_text_set (text, cb->caption, ATTNVIZ_COLORBAR_CAPTION_SCALE * cb->font_size, FALSE, 0);
      attnviz_painter_text_draw (text, rect->x,
                                 rect->y + rect->height + below + ATTNVIZ_COLORBAR_CAPTION_GAP_EMS * cb->font_size,
                                 0.0, 0.0);
    }
  cairo_restore (cr);
}
