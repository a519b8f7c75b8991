/* attnviz-painter-step.c: one step of generation, its row in every head
 *
 * The step panel is an L × H grid of cells, one per head, each the row of
 * the token the step's row (the query) in that head as bars, one a key,
 * pooled to the largest weight where keys outnumber the cell's units so a
 * single strong key stays visible; the written tokens' first key dashed,
 * the current head outlined.  The Steps page's widget draws it on screen,
 * and the step figure (ATTNVIZ_FIGURE_STEP) sets it beside the lines of
 * the current head under one title, for files.
 */
#define G_LOG_DOMAIN "attnviz-painter"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-painter-private.h"

#define MARGIN_LEFT_EMS 3.0   /* room for "L11" */
#define MARGIN_TOP_EMS 2.0    /* room for "H11" */
#define GAP 4.0
#define MAX_CELL_HEIGHT 110.0
#define LINES_SHARE 0.45      /* of a step figure's width, the lines' */

void
attnviz_step_panel_spec_init (AttnvizStepPanelSpec *spec, const float *rows, int n_layers, int n_heads, int cols)
{
  memset (spec, 0, sizeof *spec);
  spec->rows = rows;
  spec->n_layers = n_layers;
  spec->n_heads = n_heads;
  spec->cols = cols;
  spec->keys = cols;
  spec->first_generated = -1;
  spec->current_layer = spec->current_head = -1;
  spec->colormap = ATTNVIZ_COLORMAP_VIRIDIS;
}

void
attnviz_step_panel_layout (const AttnvizStepPanelSpec *spec, double width, double height,
                           AttnvizStepPanelLayout *out)
{
  memset (out, 0, sizeof *out);
  double fs = attnviz_painter_font_size (spec->font_size);
  out->font_size = fs;
  out->margin_left = MARGIN_LEFT_EMS * fs;
  out->margin_top = MARGIN_TOP_EMS * fs;
  out->n_layers = spec->n_layers;
  out->n_heads = spec->n_heads;
  if (spec->n_layers <= 0 || spec->n_heads <= 0)
    return;
  out->cell_width = (width - out->margin_left - GAP * (spec->n_heads - 1)) / spec->n_heads;
  out->cell_height = MIN (MAX_CELL_HEIGHT,
                          (height - out->margin_top - GAP * (spec->n_layers - 1)) / spec->n_layers);
}

gboolean
attnviz_step_panel_layout_cell (const AttnvizStepPanelLayout *layout, int layer, int head, AttnvizRect *rect)
{
  if (layer < 0 || layer >= layout->n_layers || head < 0 || head >= layout->n_heads || layout->cell_width < 2
      || layout->cell_height < 2)
    return FALSE;
  *rect = (AttnvizRect) { layout->margin_left + head * (layout->cell_width + GAP),
                          layout->margin_top + layer * (layout->cell_height + GAP),
                          layout->cell_width, layout->cell_height };
  return TRUE;
}

static void
set_colormap_source (cairo_t *cr, AttnvizColormap map, double t)
{
  double rgb[3];
  attnviz_colormap_lookup (map, CLAMP (t, 0, 1), rgb);
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
}

/* ROW (cols) in R: bars scaled to the row's largest visible weight. */
static void
paint_cell (cairo_t *cr, const AttnvizStepPanelSpec *spec, const AttnvizRect *r, const float *row)
{
  int keys = CLAMP (spec->keys, 0, spec->cols);
  double max = 0;
  for (int j = 0; j < keys; j++)
    max = MAX (max, row[j]);

  attnviz_painter_set_source (cr, &spec->foreground, 0.06);
  cairo_rectangle (cr, r->x, r->y, r->width, r->height);
  cairo_fill (cr);
  if (!(max > 0))
    return;

  double key_w = r->width / spec->cols;
  int n_bins = key_w >= 1 ? keys : MAX (1, (int) ceil (keys * key_w));
  double bottom = r->y + r->height;
  for (int b = 0; b < n_bins; b++)
    {
      int j0 = key_w >= 1 ? b : (int) ((gint64) b * keys / n_bins);
      int j1 = key_w >= 1 ? b + 1 : MAX (j0 + 1, (int) ((gint64) (b + 1) * keys / n_bins));
      double w = 0;
      for (int j = j0; j < j1; j++)
        w = MAX (w, row[j]);
      double x0 = r->x + j0 * key_w, x1 = r->x + j1 * key_w;
      double h = (r->height - 2) * w / max;
      if (h < 0.5)
        continue;
      set_colormap_source (cr, spec->colormap, w / max);
      cairo_rectangle (cr, x0, bottom - h, MAX (x1 - x0 - (key_w >= 3 ? 1 : 0), 0.75), h);
      cairo_fill (cr);
    }

  if (spec->first_generated > 0 && spec->first_generated < spec->cols)
    {
      double x = r->x + spec->first_generated * key_w;
      static const double dash[] = { 2, 2 };
      cairo_set_dash (cr, dash, 2, 0);
      cairo_set_line_width (cr, 1);
      attnviz_painter_set_source (cr, &spec->foreground, 0.5);
      cairo_move_to (cr, floor (x) + 0.5, r->y);
      cairo_line_to (cr, floor (x) + 0.5, bottom);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
    }
}

void
attnviz_paint_step_panel (cairo_t *cr, const AttnvizStepPanelSpec *spec, double width, double height)
{
  AttnvizStepPanelLayout layout;
  attnviz_step_panel_layout (spec, width, height, &layout);
  if (layout.cell_width < 2 || layout.cell_height < 2)
    return;

  AttnvizPainterText text;
  attnviz_painter_text_init (&text, cr);
  double fs = layout.font_size;
  attnviz_painter_set_source (cr, &spec->foreground, 0.7);
  for (int h = 0; h < spec->n_heads; h++)
    {
      g_autofree char *label = g_strdup_printf ("H%d", h);
      attnviz_painter_text_set (&text, label, fs, FALSE, 0);
      attnviz_painter_text_draw (&text, layout.margin_left + h * (layout.cell_width + GAP) + layout.cell_width / 2,
                                 layout.margin_top / 2, 0.5, 0.5);
    }
  for (int l = 0; l < spec->n_layers; l++)
    {
      g_autofree char *label = g_strdup_printf ("L%d", l);
      attnviz_painter_text_set (&text, label, fs, FALSE, 0);
      attnviz_painter_text_draw (&text, layout.margin_left - 0.5 * fs,
                                 layout.margin_top + l * (layout.cell_height + GAP) + layout.cell_height / 2, 1.0,
                                 0.5);
    }

  if (spec->rows == NULL)
    {
      if (spec->message != NULL)
        {
          attnviz_painter_set_source (cr, &spec->foreground, 0.55);
          attnviz_painter_text_set (&text, spec->message, fs, FALSE, width - layout.margin_left);
          attnviz_painter_text_draw (&text, layout.margin_left + (width - layout.margin_left) / 2,
                                     layout.margin_top + spec->n_layers * (layout.cell_height + GAP) / 2, 0.5, 0.5);
        }
    }
  else
    for (int l = 0; l < spec->n_layers; l++)
      for (int h = 0; h < spec->n_heads; h++)
        {
          gsize i = (gsize) l * spec->n_heads + h;
          AttnvizRect r;
          if ((spec->recorded == NULL || spec->recorded[i]) && attnviz_step_panel_layout_cell (&layout, l, h, &r))
            paint_cell (cr, spec, &r, spec->rows + i * spec->cols);
        }

  AttnvizRect r;
  if (attnviz_step_panel_layout_cell (&layout, spec->current_layer, spec->current_head, &r))
    {
      AttnvizRGBA accent = spec->accent.alpha > 0 ? spec->accent : (AttnvizRGBA) { 0.21, 0.52, 0.89, 1 };
      cairo_set_source_rgba (cr, accent.red, accent.green, accent.blue, accent.alpha);
      cairo_set_line_width (cr, 2);
      cairo_rectangle (cr, r.x - 1, r.y - 1, r.width + 2, r.height + 2);
      cairo_stroke (cr);
    }
  attnviz_painter_text_clear (&text);
}

/* ---- The step figure ------------------------------------------------------- */

void
attnviz_step_layout (const AttnvizStepSpec *spec, double width, double height, AttnvizStepLayout *out)
{
  memset (out, 0, sizeof *out);
  AttnvizPainterText text;
  attnviz_painter_text_init (&text, NULL);
  double fs = attnviz_painter_font_size (spec->font_size);
  double margin = 0.6 * fs;
  double top = attnviz_painter_titles_layout (&text, spec->title, spec->subtitle, fs, width, margin, &out->title,
                                              &out->subtitle);
  attnviz_painter_text_clear (&text);
  top += margin;
  double lines_w = floor (width * LINES_SHARE);
  out->lines = (AttnvizRect) { 0, top, lines_w, MAX (height - top, 0) };
  /* the panel's cells stay about as tall as they are wide, centred */
  double panel_w = width - lines_w - margin;
  out->panel = (AttnvizRect) { lines_w, top, MAX (panel_w, 0), MAX (height - top - margin, 0) };
}

void
attnviz_paint_step (cairo_t *cr, const AttnvizStepSpec *spec, double width, double height)
{
  AttnvizStepLayout layout;
  attnviz_step_layout (spec, width, height, &layout);
  AttnvizPainterText text;
  attnviz_painter_text_init (&text, cr);
  attnviz_painter_draw_titles (cr, &text, spec->title, spec->subtitle, attnviz_painter_font_size (spec->font_size),
                               &layout.title, &layout.subtitle, &spec->lines.foreground);
  attnviz_painter_text_clear (&text);

  cairo_save (cr);
  cairo_translate (cr, layout.lines.x, layout.lines.y);
  attnviz_paint_lines (cr, &spec->lines, layout.lines.width, layout.lines.height);
  cairo_restore (cr);

  cairo_save (cr);
  cairo_translate (cr, layout.panel.x, layout.panel.y);
  attnviz_paint_step_panel (cr, &spec->panel, layout.panel.width, layout.panel.height);
  cairo_restore (cr);
}
