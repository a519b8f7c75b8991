/* attnviz-painter-lines.c: one head as BertViz draws it, the queries in a
 * column on the left, the keys on the right, a line from query i to key j
 * as opaque as the weight */
#define G_LOG_DOMAIN "attnviz-painter"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-painter-private.h"

#define MARGIN_EMS 0.6
#define MIN_FONT_SCALE 0.6      /* labels shrink to this before being thinned */
#define LINE_GAP_EMS 0.5        /* between a label and its lines' ends */
#define MAX_LINES_WIDTH_EMS 24  /* the band of lines is at most this wide */
#define DEFAULT_THRESHOLD 0.01
#define FADED_ALPHA 0.12        /* other rows' lines when one is highlighted */
#define DEFAULT_MIN_ALPHA 0.10  /* the faintest line drawn */
#define LEGEND_SCALE 0.85       /* the legend's font, of the labels' */

void
attnviz_lines_spec_init (AttnvizLinesSpec *spec, const float *matrix, int rows, int cols)
{
  memset (spec, 0, sizeof *spec);
  spec->matrix = matrix;
  spec->rows = rows;
  spec->cols = cols;
  spec->highlight_row = -1;
  spec->threshold = DEFAULT_THRESHOLD;
  spec->min_alpha = DEFAULT_MIN_ALPHA;
}

static double
widest_label (AttnvizPainterText *text, const char *const *labels, int n, int step, int hl,
              double size, double max_width)
{
  double widest = 0;
  if (labels == NULL || step <= 0)
    return 0;
  for (int i = 0; i < n; i++)
    {
      if (i != hl && i % step != 0)
        continue;
      g_autofree char *shown = attnviz_painter_display_text (labels[i]);
      widest = MAX (widest, attnviz_painter_text_set (text, shown, size, i == hl, max_width));
    }
  return widest;
}

static void
lines_layout (const AttnvizLinesSpec *spec, double width, double height, AttnvizPainterText *text,
              AttnvizLinesLayout *out)
{
  double fs = attnviz_painter_font_size (spec->font_size);
  double margin = MARGIN_EMS * fs;
  int rows = MAX (spec->rows, 0), cols = MAX (spec->cols, 0);

  memset (out, 0, sizeof *out);
  out->width = width;
  out->height = height;
  out->rows = rows;
  out->cols = cols;
  out->highlight_row = spec->highlight_row < rows ? spec->highlight_row : -1;

  double top = attnviz_painter_titles_layout (text, spec->title, spec->subtitle, fs, width, margin,
                                              &out->title, &out->subtitle);
  /* Headings above the columns, a legend under them. */
  double hlh = attnviz_painter_text_line_height (text, fs);
  double glh = attnviz_painter_text_line_height (text, LEGEND_SCALE * fs);
  double heading_y = top;
  top += hlh + 0.3 * fs;
  double avail = MAX (0, height - top - margin - glh - 0.3 * fs);
  out->left_pitch = rows > 0 ? avail / rows : 0;
  out->right_pitch = cols > 0 ? avail / cols : 0;

  /* One font for both columns, shrunk until a line fits the tighter pitch. */
  double pitch = MIN (rows > 0 ? out->left_pitch : INFINITY, cols > 0 ? out->right_pitch : INFINITY);
  double per_size = attnviz_painter_text_line_height (text, 1.0);
  double size = isfinite (pitch) ? pitch / per_size : fs;
  out->font_size = CLAMP (size, MIN_FONT_SCALE * fs, fs);
  double lh = attnviz_painter_text_line_height (text, out->font_size);
  out->left_label_step = spec->row_labels ? attnviz_painter_label_step (out->left_pitch, lh, rows, avail) : 0;
  out->right_label_step = spec->col_labels ? attnviz_painter_label_step (out->right_pitch, lh, cols, avail) : 0;

  double max_w = MIN (ATTNVIZ_PAINTER_MAX_LABEL_EMS * out->font_size, 0.3 * width);
  double lw = widest_label (text, spec->row_labels, rows, out->left_label_step, out->highlight_row,
                            out->font_size, max_w);
  double rw = widest_label (text, spec->col_labels, cols, out->right_label_step, -1, out->font_size, max_w);
  /* Keys shaded by weight need a little room around their text. */
  double pad = 0.25 * out->font_size;
  double band = MAX (0, width - 2 * margin - lw - rw - 2 * pad - 2 * LINE_GAP_EMS * fs);
  band = MIN (band, MAX_LINES_WIDTH_EMS * fs);
  double total = lw + rw + 2 * pad + 2 * LINE_GAP_EMS * fs + band;
  double x0 = MAX (margin, (width - total) / 2);
  out->left = (AttnvizRect) { x0, top, lw + pad, avail };
  out->right = (AttnvizRect) { x0 + lw + pad + 2 * LINE_GAP_EMS * fs + band, top, rw + pad, avail };
  out->left_caption = (AttnvizRect) { out->left.x, heading_y, out->left.width, hlh };
  out->right_caption = (AttnvizRect) { out->right.x, heading_y, out->right.width, hlh };
  out->legend = (AttnvizRect) { margin, top + avail + 0.3 * fs, MAX (0, width - 2 * margin), glh };
}

void
attnviz_lines_layout (const AttnvizLinesSpec *spec, double width, double height, AttnvizLinesLayout *out)
{
  g_return_if_fail (spec != NULL && out != NULL);
  AttnvizPainterText text;
  attnviz_painter_text_init (&text, NULL);
  lines_layout (spec, width, height, &text, out);
  attnviz_painter_text_clear (&text);
}

gboolean
attnviz_lines_layout_hit (const AttnvizLinesLayout *layout, double x, double y, AttnvizAxis *axis, int *index)
{
  gboolean left = x >= layout->left.x && x < layout->left.x + layout->left.width;
  gboolean right = x >= layout->right.x && x < layout->right.x + layout->right.width;
  const AttnvizRect *r = left ? &layout->left : &layout->right;
  double pitch = left ? layout->left_pitch : layout->right_pitch;
  int n = left ? layout->rows : layout->cols;
  AttnvizAxis a = left ? ATTNVIZ_AXIS_ROWS : ATTNVIZ_AXIS_COLS;

  if ((left || right) && pitch > 0 && y >= r->y && y < r->y + n * pitch)
    {
      if (axis)
        *axis = a;
      if (index)
        *index = MIN ((int) floor ((y - r->y) / pitch), n - 1);
      return TRUE;
    }
  if (index)
    *index = -1;
  return FALSE;
}

static void
line_color (const AttnvizLinesSpec *spec, double rgb[3])
{
  if (spec->line_color.alpha > 0)
    {
      rgb[0] = spec->line_color.red;
      rgb[1] = spec->line_color.green;
      rgb[2] = spec->line_color.blue;
    }
  else
    {
      rgb[0] = 0.12; rgb[1] = 0.40; rgb[2] = 0.80;
    }
}

static void
draw_row_lines (cairo_t *cr, const AttnvizLinesSpec *spec, const AttnvizLinesLayout *layout,
                int i, double x1, double x2, double threshold, double min_alpha, double alpha, const double rgb[3])
{
  const float *w = spec->matrix + (gsize) i * spec->cols;
  double y1 = layout->left.y + (i + 0.5) * layout->left_pitch;
  for (int j = 0; j < spec->cols; j++)
    {
      if (!(w[j] >= threshold))
        continue;
      cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], alpha * CLAMP (w[j], min_alpha, 1.0));
      cairo_move_to (cr, x1, y1);
      cairo_line_to (cr, x2, layout->right.y + (j + 0.5) * layout->right_pitch);
      cairo_stroke (cr);
    }
}

void
attnviz_paint_lines (cairo_t *cr, const AttnvizLinesSpec *spec, double width, double height)
{
  g_return_if_fail (cr != NULL && spec != NULL);
  g_return_if_fail (spec->matrix != NULL || spec->rows == 0 || spec->cols == 0);

  AttnvizLinesLayout layout;
  AttnvizPainterText measure, text;
  attnviz_painter_text_init (&measure, NULL);
  lines_layout (spec, width, height, &measure, &layout);
  attnviz_painter_text_clear (&measure);

  cairo_save (cr);
  attnviz_painter_text_init (&text, cr);
  double fs = attnviz_painter_font_size (spec->font_size);
  double lfs = layout.font_size;
  double pad = 0.25 * lfs;
  double max_w = MIN (ATTNVIZ_PAINTER_MAX_LABEL_EMS * lfs, 0.3 * width);
  double threshold = spec->threshold > 0 ? spec->threshold : DEFAULT_THRESHOLD;
  double min_alpha = spec->min_alpha > 0 ? MIN (spec->min_alpha, 1.0) : DEFAULT_MIN_ALPHA;
  double x1 = layout.left.x + layout.left.width + LINE_GAP_EMS * fs;
  double x2 = layout.right.x - LINE_GAP_EMS * fs;
  int hl = layout.highlight_row;
  double rgb[3];
  line_color (spec, rgb);

  /* Lines first, under the labels' shading. */
  cairo_set_line_width (cr, MAX (0.75, 0.2 * fs));
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  for (int i = 0; i < spec->rows; i++)
    if (i != hl)
      draw_row_lines (cr, spec, &layout, i, x1, x2, threshold, min_alpha, hl >= 0 ? FADED_ALPHA : 1.0, rgb);
  if (hl >= 0)
    draw_row_lines (cr, spec, &layout, hl, x1, x2, threshold, min_alpha, 1.0, rgb);

  double lh = attnviz_painter_text_line_height (&text, lfs);
  for (int i = 0; i < spec->rows && spec->row_labels; i++)
    {
      if (i != hl && (layout.left_label_step <= 0 || i % layout.left_label_step != 0))
        continue;
      double y = layout.left.y + (i + 0.5) * layout.left_pitch;
      if (i == hl)
        {
          cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], 0.25);
          cairo_rectangle (cr, layout.left.x, y - lh / 2, layout.left.width, lh);
          cairo_fill (cr);
        }
      g_autofree char *shown = attnviz_painter_display_text (spec->row_labels[i]);
      attnviz_painter_set_source (cr, &spec->foreground, 1.0);
      attnviz_painter_text_set (&text, shown, lfs, i == hl, max_w);
      attnviz_painter_text_draw (&text, layout.left.x + layout.left.width - pad, y, 1.0, 0.5);
    }
  for (int j = 0; j < spec->cols && spec->col_labels; j++)
    {
      if (layout.right_label_step <= 0 || j % layout.right_label_step != 0)
        continue;
      double y = layout.right.y + (j + 0.5) * layout.right_pitch;
      if (hl >= 0)
        {
          /* The highlighted query's weight on each key, as BertViz shades it. */
          float w = spec->matrix[(gsize) hl * spec->cols + j];
          if (w >= threshold)
            {
              cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], 0.6 * MIN (w, 1.0f));
              cairo_rectangle (cr, layout.right.x, y - lh / 2, layout.right.width, lh);
              cairo_fill (cr);
            }
        }
      g_autofree char *shown = attnviz_painter_display_text (spec->col_labels[j]);
      attnviz_painter_set_source (cr, &spec->foreground, 1.0);
      attnviz_painter_text_set (&text, shown, lfs, FALSE, max_w);
      attnviz_painter_text_draw (&text, layout.right.x + pad, y, 0.0, 0.5);
    }

  /* Headings: bold, over the labels' inner edges. */
  attnviz_painter_set_source (cr, &spec->foreground, 0.8);
  attnviz_painter_text_set (&text, spec->left_caption ? spec->left_caption : "query", fs, TRUE, 0);
  attnviz_painter_text_draw (&text, layout.left_caption.x + layout.left_caption.width - pad,
                             layout.left_caption.y + layout.left_caption.height / 2, 1.0, 0.5);
  attnviz_painter_text_set (&text, spec->right_caption ? spec->right_caption : "key", fs, TRUE, 0);
  attnviz_painter_text_draw (&text, layout.right_caption.x + pad,
                             layout.right_caption.y + layout.right_caption.height / 2, 0.0, 0.5);

  /* The legend: what the opacity means and what is left out. */
  char legend[160];
  g_snprintf (legend, sizeof legend, "opacity = weight, at least %.0f%%; weights under %g not drawn",
              100 * min_alpha, threshold);
  attnviz_painter_set_source (cr, &spec->foreground, 0.6);
  attnviz_painter_text_set (&text, legend, LEGEND_SCALE * fs, FALSE, layout.legend.width);
  attnviz_painter_text_draw (&text, layout.legend.x + layout.legend.width / 2,
                             layout.legend.y + layout.legend.height / 2, 0.5, 0.5);

  attnviz_painter_draw_titles (cr, &text, spec->title, spec->subtitle, fs, &layout.title, &layout.subtitle,
                               &spec->foreground);
  attnviz_painter_text_clear (&text);
  cairo_restore (cr);
}
