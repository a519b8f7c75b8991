/* attnviz-painter-heatmap.c: one head's (queries, keys) matrix as a heatmap
 * with its token labels and a colour bar */
#define G_LOG_DOMAIN "attnviz-painter"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-painter-private.h"

/* Figure proportions, in font sizes. */
#define MARGIN_EMS 0.6
#define CAPTION_GAP_EMS 0.4
#define COLORBAR_GAP_EMS 1.0
#define COLORBAR_WIDTH_EMS 1.0
#define MAX_LAYOUT_ROUNDS 256

void
attnviz_heatmap_spec_init (AttnvizHeatmapSpec *spec, const float *matrix, int rows, int cols)
{
  memset (spec, 0, sizeof *spec);
  spec->matrix = matrix;
  spec->rows = rows;
  spec->cols = cols;
  spec->row_caption = "query";
  spec->col_caption = "key";
  spec->colormap = ATTNVIZ_COLORMAP_VIRIDIS;
  attnviz_scale_init (&spec->scale, ATTNVIZ_SCALE_LINEAR, 0, 0);
  spec->colorbar = TRUE;
  spec->highlight_row = -1;
  spec->highlight_col = -1;
}

struct _AttnvizLabelCache {
  double font_size, row_max, col_max;   /* what the widths were measured for */
  int rows, cols;
  double *widths;                       /* (rows + cols), NaN: not measured */
};

AttnvizLabelCache *
attnviz_label_cache_new (void)
{
  return g_new0 (AttnvizLabelCache, 1);
}

void
attnviz_label_cache_free (AttnvizLabelCache *cache)
{
  if (cache == NULL)
    return;
  g_free (cache->widths);
  g_free (cache);
}

void
attnviz_label_cache_reset (AttnvizLabelCache *cache)
{
  g_return_if_fail (cache != NULL);
  g_clear_pointer (&cache->widths, g_free);
}

/* The widths array for ROWS + COLS labels measured at FS within ROW_MAX
 * and COL_MAX: CACHE's when it was for the same, else new NaNs. */
static double *
label_cache_widths (AttnvizLabelCache *cache, double fs, double row_max, double col_max, int rows, int cols)
{
  if (cache->widths == NULL || cache->font_size != fs || cache->row_max != row_max || cache->col_max != col_max
      || cache->rows != rows || cache->cols != cols)
    {
      g_free (cache->widths);
      cache->widths = g_new (double, (gsize) rows + cols + 1);
      for (int i = 0; i < rows + cols; i++)
        cache->widths[i] = NAN;
      cache->font_size = fs;
      cache->row_max = row_max;
      cache->col_max = col_max;
      cache->rows = rows;
      cache->cols = cols;
    }
  return cache->widths;
}

/* The spec's scale with its range filled in from the matrix when unset. */
static void
heatmap_scale (const AttnvizHeatmapSpec *spec, AttnvizScale *scale)
{
  *scale = spec->scale;
  if (!attnviz_scale_has_range (scale) && spec->scale.vmin == spec->scale.vmax && spec->matrix != NULL)
    attnviz_scale_fit (scale, spec->matrix, (gsize) spec->rows * spec->cols,
                       attnviz_colormap_is_diverging (spec->colormap));
  if (!attnviz_scale_has_range (scale))
    {
      /* A range the user set but that is empty (vmin >= vmax). */
      attnviz_scale_get_bounds (scale, &scale->vmin, &scale->vmax);
      scale->vmax = scale->vmin + 1;
    }
}

gboolean
attnviz_heatmap_layout_label_visible (const AttnvizHeatmapLayout *layout, AttnvizAxis axis, int index)
{
  int n = axis == ATTNVIZ_AXIS_ROWS ? layout->rows : layout->cols;
  int step = axis == ATTNVIZ_AXIS_ROWS ? layout->row_label_step : layout->col_label_step;
  int hl = axis == ATTNVIZ_AXIS_ROWS ? layout->highlight_row : layout->highlight_col;

  if (step <= 0 || index < 0 || index >= n)
    return FALSE;
  if (index == hl)
    return TRUE;
  if (index % step != 0)
    return FALSE;
  /* The highlighted label pushes aside the regular ones it would touch. */
  if (hl >= 0 && hl < n && fabs ((double) (index - hl)) * layout->cell < layout->label_extent)
    return FALSE;
  return TRUE;
}

gboolean
attnviz_heatmap_layout_label_rect (const AttnvizHeatmapLayout *layout, AttnvizAxis axis, int index, AttnvizRect *rect)
{
  if (!attnviz_heatmap_layout_label_visible (layout, axis, index))
    return FALSE;
  double centre = (index + 0.5) * layout->cell;
  if (axis == ATTNVIZ_AXIS_ROWS)
    *rect = (AttnvizRect) {
      layout->row_labels.x, layout->matrix.y + centre - layout->label_extent / 2,
      layout->row_labels.width, layout->label_extent,
    };
  else
    *rect = (AttnvizRect) {
      layout->matrix.x + centre - layout->label_extent / 2, layout->col_labels.y,
      layout->label_extent, layout->col_labels.height,
    };
  return TRUE;
}

static double
label_width (AttnvizPainterText *text, const char *label, double size, gboolean bold, double max_width)
{
  g_autofree char *shown = attnviz_painter_display_text (label);
  return attnviz_painter_text_set (text, shown, size, bold, max_width);
}

/* A label of one character (as shown) stands upright under its column:
 * a letter on its side reads as another letter. */
static gboolean
is_upright (const char *shown)
{
  return shown != NULL && *shown && *g_utf8_next_char (shown) == '\0';
}

/* How far label I of AXIS reaches out from the matrix: its width, or for
 * an upright column label a line's height. */
static double
label_reach (const AttnvizHeatmapLayout *layout, AttnvizAxis axis, AttnvizPainterText *text, const char *label,
             gboolean bold, double max_width)
{
  double w = label_width (text, label, layout->font_size, bold, max_width);
  if (axis == ATTNVIZ_AXIS_COLS)
    {
      g_autofree char *shown = attnviz_painter_display_text (label);
      if (is_upright (shown))
        return layout->label_extent;
    }
  return w;
}

/* The widest of the labels AXIS shows in LAYOUT; WIDTHS caches what was
 * measured already (NaN: not yet). */
static double
widest_visible_label (const AttnvizHeatmapLayout *layout, AttnvizAxis axis, const char *const *labels,
                      AttnvizPainterText *text, double max_width, double *widths)
{
  int n = axis == ATTNVIZ_AXIS_ROWS ? layout->rows : layout->cols;
  int step = axis == ATTNVIZ_AXIS_ROWS ? layout->row_label_step : layout->col_label_step;
  int hl = axis == ATTNVIZ_AXIS_ROWS ? layout->highlight_row : layout->highlight_col;
  double widest = 0;

  if (labels == NULL || step <= 0)
    return 0;
  for (int i = 0; i < n; i += step)
    {
      if (!attnviz_heatmap_layout_label_visible (layout, axis, i))
        continue;
      if (isnan (widths[i]))
        widths[i] = label_reach (layout, axis, text, labels[i], FALSE, max_width);
      widest = MAX (widest, widths[i]);
    }
  if (hl >= 0 && hl < n)
    widest = MAX (widest, label_reach (layout, axis, text, labels[hl], TRUE, max_width));
  return widest;
}

/* What one round of the layout works from: the fixed sizes and the widths
 * of the label bands and the colour bar's tick labels. */
typedef struct {
  const AttnvizHeatmapSpec *spec;
  const AttnvizScale *scale;
  AttnvizPainterText *text;
  double width, height;
  double fs, margin, lh, gap, top, caption_band;
  double row_max, col_max;   /* longest label before the ellipsis */
  gboolean has_row_labels, has_col_labels, has_row_caption, has_col_caption;
  double *widths;            /* (rows + cols) label widths measured so far, NaN: not yet */
  /* the round's result */
  double left, upper, aw, ah;
  AttnvizColorbarLayout cb;
} LayoutRound;

/* Places the matrix for bands ROW_BAND, COL_BAND and CB_RESERVE, and says
 * how wide the labels it then shows want them (WANT). */
static void
layout_round (LayoutRound *lr, double row_band, double col_band, double cb_reserve,
              AttnvizHeatmapLayout *out, double want[3])
{
  const AttnvizHeatmapSpec *spec = lr->spec;
  int rows = out->rows, cols = out->cols;
  double fs = lr->fs, lh = lr->lh;

  lr->left = lr->margin + (lr->has_row_caption ? lr->caption_band : 0) +
             (lr->has_row_labels ? row_band + lr->gap : 0);
  double right = lr->margin + (spec->colorbar ? COLORBAR_GAP_EMS * fs + COLORBAR_WIDTH_EMS * fs + cb_reserve : 0);
  lr->upper = lr->top + lh / 2;
  double lower = MAX (lr->margin, lh / 2) + (lr->has_col_caption ? lr->caption_band : 0) +
                 (lr->has_col_labels ? col_band + lr->gap : 0);
  lr->aw = MAX (0, lr->width - lr->left - right);
  lr->ah = MAX (0, lr->height - lr->upper - lower);
  out->cell = rows > 0 && cols > 0 ? MIN (lr->aw / cols, lr->ah / rows) : 0;
  out->row_label_step = lr->has_row_labels ? attnviz_painter_label_step (out->cell, lh, rows, rows * out->cell) : 0;
  out->col_label_step = lr->has_col_labels ? attnviz_painter_label_step (out->cell, lh, cols, cols * out->cell) : 0;

  want[0] = widest_visible_label (out, ATTNVIZ_AXIS_ROWS, spec->row_labels, lr->text, lr->row_max, lr->widths);
  want[1] = widest_visible_label (out, ATTNVIZ_AXIS_COLS, spec->col_labels, lr->text, lr->col_max,
                                  lr->widths + rows);
  want[2] = 0;
  if (spec->colorbar)
    {
      attnviz_painter_colorbar_layout (lr->text, lr->scale, MAX (rows * out->cell, 4 * lh), fs, &lr->cb);
      attnviz_painter_colorbar_set_caption (lr->text, &lr->cb, spec->scale_caption);
      want[2] = MAX (attnviz_painter_colorbar_reserve (&lr->cb), lr->cb.caption_width - COLORBAR_WIDTH_EMS * fs);
    }
}

static gboolean
wants_fit (const double want[3], const double have[3])
{
  return want[0] <= have[0] && want[1] <= have[1] && want[2] <= have[2];
}

static void
heatmap_layout (const AttnvizHeatmapSpec *spec, const AttnvizScale *scale, double width, double height,
                AttnvizPainterText *text, AttnvizHeatmapLayout *out)
{
  double fs = attnviz_painter_font_size (spec->font_size);
  int rows = MAX (spec->rows, 0), cols = MAX (spec->cols, 0);
  LayoutRound lr = {
    .spec = spec,
    .scale = scale,
    .text = text,
    .width = width,
    .height = height,
    .fs = fs,
    .margin = MARGIN_EMS * fs,
    .lh = attnviz_painter_text_line_height (text, fs),
    .row_max = MIN (ATTNVIZ_PAINTER_MAX_LABEL_EMS * fs, 0.3 * width),
    .col_max = MIN (ATTNVIZ_PAINTER_MAX_LABEL_EMS * fs, 0.3 * height),
    .has_row_labels = spec->row_labels != NULL && rows > 0,
    .has_col_labels = spec->col_labels != NULL && cols > 0,
    .has_row_caption = spec->row_caption != NULL && *spec->row_caption,
    .has_col_caption = spec->col_caption != NULL && *spec->col_caption,
  };
  double lh = lr.lh;
  lr.caption_band = lh + CAPTION_GAP_EMS * fs;
  /* Labels keep half a line from the matrix: a row label can then poke at
   * most that far past the matrix's ends (when cells are thinner than a
   * line), and never into a column label, the title or the colour bar. */
  lr.gap = lh / 2;

  memset (out, 0, sizeof *out);
  out->width = width;
  out->height = height;
  out->rows = rows;
  out->cols = cols;
  out->font_size = fs;
  out->label_extent = lh;
  out->highlight_row = spec->highlight_row >= 0 && spec->highlight_row < rows ? spec->highlight_row : -1;
  out->highlight_col = spec->highlight_col >= 0 && spec->highlight_col < cols ? spec->highlight_col : -1;

  lr.top = attnviz_painter_titles_layout (text, spec->title, spec->subtitle, fs, width, lr.margin,
                                          &out->title, &out->subtitle);
  lr.top = MAX (lr.top, spec->titles_band);

  /* The bands (row labels, column labels, tick labels) only ever grow, so
   * this ends; when a round grows nothing, every label shown fits. */
  g_autofree double *own_widths = NULL;
  if (spec->label_cache != NULL)
    lr.widths = label_cache_widths (spec->label_cache, fs, lr.row_max, lr.col_max, rows, cols);
  else
    {
      own_widths = g_new (double, (gsize) rows + cols + 1);
      for (int i = 0; i < rows + cols; i++)
        own_widths[i] = NAN;
      lr.widths = own_widths;
    }
  double have[3] = { 0, 0, 0 }, want[3];
  gboolean fits = FALSE;
  for (int round = 0; round < MAX_LAYOUT_ROUNDS && !fits; round++)
    {
      layout_round (&lr, have[0], have[1], have[2], out, want);
      fits = wants_fit (want, have);
      for (int k = 0; k < 3; k++)
        have[k] = MAX (have[k], want[k]);
    }
  if (!fits)
    {
      /* Never seen; but rather no labels than labels over the matrix. */
      layout_round (&lr, have[0], have[1], have[2], out, want);
      out->row_label_step = out->col_label_step = 0;
      want[0] = have[0];
      want[1] = have[1];
    }

  /* The bands may still hold a long label an earlier round showed and
   * this one does not: try them as wide as what is shown now, and keep
   * that when everything shown then still fits. */
  if (want[0] < have[0] || want[1] < have[1])
    {
      double tight[3] = { want[0], want[1], have[2] }, again[3];
      layout_round (&lr, tight[0], tight[1], tight[2], out, again);
      if (wants_fit (again, tight))
        memcpy (have, tight, sizeof have);
      else
        layout_round (&lr, have[0], have[1], have[2], out, again);
    }
  double row_band = have[0], col_band = have[1];

  /* Centre what is left over: the block of matrix, labels and bar moves;
   * the titles move down with it. */
  double dx = (lr.aw - cols * out->cell) / 2;
  double dy = (lr.ah - rows * out->cell) / 2;
  out->title.y += dy;
  out->subtitle.y += dy;
  out->matrix = (AttnvizRect) { lr.left + dx, lr.upper + dy, cols * out->cell, rows * out->cell };
  const AttnvizRect *m = &out->matrix;
  double gap = lr.gap;
  double caption_band = lr.caption_band;
  gboolean has_row_labels = lr.has_row_labels, has_col_labels = lr.has_col_labels;
  AttnvizColorbarLayout cb = lr.cb;
  double ah = lr.ah;

  out->row_labels = (AttnvizRect) { m->x - (has_row_labels ? gap + row_band : 0), m->y, row_band, m->height };
  out->col_labels = (AttnvizRect) { m->x, m->y + m->height + (has_col_labels ? gap : 0), m->width, col_band };
  if (lr.has_row_caption)
    out->row_caption = (AttnvizRect) { out->row_labels.x - caption_band, m->y, lh, m->height };
  if (lr.has_col_caption)
    out->col_caption = (AttnvizRect) {
      m->x, out->col_labels.y + out->col_labels.height + CAPTION_GAP_EMS * fs, m->width, lh,
    };
  if (spec->colorbar)
    {
      /* The bar and its caption under it, centred on the matrix. */
      double bar_h = MIN (MAX (m->height, 4 * lh), ah);
      double caption_h = MIN (attnviz_painter_colorbar_caption_height (text, &cb), bar_h / 2);
      out->colorbar = (AttnvizRect) {
        m->x + m->width + COLORBAR_GAP_EMS * fs, m->y + (m->height - bar_h) / 2,
        COLORBAR_WIDTH_EMS * fs, bar_h - caption_h,
      };
      G_STATIC_ASSERT (sizeof out->colorbar_ticks == sizeof cb.ticks);
      memcpy (out->colorbar_ticks, cb.ticks, sizeof cb.ticks);
      out->colorbar_n_ticks = cb.n_ticks;
      out->colorbar_label_width = cb.label_width;
    }
}

void
attnviz_heatmap_layout (const AttnvizHeatmapSpec *spec, double width, double height, AttnvizHeatmapLayout *out)
{
  g_return_if_fail (spec != NULL && out != NULL);

  AttnvizScale scale;
  AttnvizPainterText text;
  heatmap_scale (spec, &scale);
  attnviz_painter_text_init (&text, NULL);
  heatmap_layout (spec, &scale, width, height, &text, out);
  attnviz_painter_text_clear (&text);
}

gboolean
attnviz_heatmap_layout_hit (const AttnvizHeatmapLayout *layout, double x, double y, int *row, int *col)
{
  const AttnvizRect *m = &layout->matrix;
  int r = -1, c = -1;

  if (layout->cell > 0)
    {
      if (y >= m->y && y < m->y + m->height)
        r = MIN ((int) floor ((y - m->y) / layout->cell), layout->rows - 1);
      if (x >= m->x && x < m->x + m->width)
        c = MIN ((int) floor ((x - m->x) / layout->cell), layout->cols - 1);
    }
  const AttnvizRect *rl = &layout->row_labels, *cl = &layout->col_labels;
  gboolean in_matrix = r >= 0 && c >= 0;
  gboolean in_row_labels = r >= 0 && rl->width > 0 && x >= rl->x && x < m->x;
  gboolean in_col_labels = c >= 0 && cl->height > 0 && y >= m->y + m->height && y < cl->y + cl->height;

  if (in_matrix || in_row_labels || in_col_labels)
    {
      if (row)
        *row = in_col_labels ? -1 : r;
      if (col)
        *col = in_row_labels ? -1 : c;
      return TRUE;
    }
  if (row)
    *row = -1;
  if (col)
    *col = -1;
  return FALSE;
}

static void
draw_labels (cairo_t *cr, AttnvizPainterText *text, const AttnvizHeatmapSpec *spec,
             const AttnvizHeatmapLayout *layout, double row_max, double col_max)
{
  const AttnvizRect *m = &layout->matrix;
  double fs = layout->font_size;
  double x0, y0, x1, y1;
  int i0 = 0, i1 = layout->rows, j0 = 0, j1 = layout->cols;

  /* Only the labels of the rows and columns within the clip: a zoomed
   * figure of thousands of tokens shows a few dozen. */
  cairo_clip_extents (cr, &x0, &y0, &x1, &y1);
  if (layout->cell > 0)
    {
      double reach = layout->label_extent;
      i0 = CLAMP ((int) floor ((y0 - reach - m->y) / layout->cell), 0, layout->rows);
      i1 = CLAMP ((int) ceil ((y1 + reach - m->y) / layout->cell) + 1, 0, layout->rows);
      j0 = CLAMP ((int) floor ((x0 - reach - m->x) / layout->cell), 0, layout->cols);
      j1 = CLAMP ((int) ceil ((x1 + reach - m->x) / layout->cell) + 1, 0, layout->cols);
    }

  attnviz_painter_set_source (cr, &spec->foreground, 1.0);
  if (spec->row_labels != NULL && layout->row_label_step > 0)
    for (int i = i0; i < i1; i++)
      {
        if (!attnviz_heatmap_layout_label_visible (layout, ATTNVIZ_AXIS_ROWS, i))
          continue;
        g_autofree char *shown = attnviz_painter_display_text (spec->row_labels[i]);
        attnviz_painter_text_set (text, shown, fs, i == layout->highlight_row, row_max);
        attnviz_painter_text_draw (text, layout->row_labels.x + layout->row_labels.width,
                                   m->y + (i + 0.5) * layout->cell, 1.0, 0.5);
      }

  if (spec->col_labels != NULL && layout->col_label_step > 0)
    for (int j = j0; j < j1; j++)
      {
        if (!attnviz_heatmap_layout_label_visible (layout, ATTNVIZ_AXIS_COLS, j))
          continue;
        g_autofree char *shown = attnviz_painter_display_text (spec->col_labels[j]);
        attnviz_painter_text_set (text, shown, fs, j == layout->highlight_col, col_max);
        if (is_upright (shown))
          {
            attnviz_painter_text_draw (text, m->x + (j + 0.5) * layout->cell, layout->col_labels.y, 0.5, 0.0);
            continue;
          }
        /* Read upwards, ending at the top of the band, under column j. */
        cairo_save (cr);
        cairo_translate (cr, m->x + (j + 0.5) * layout->cell, layout->col_labels.y);
        cairo_rotate (cr, -G_PI / 2);
        attnviz_painter_text_draw (text, 0, 0, 1.0, 0.5);
        cairo_restore (cr);
      }

  attnviz_painter_set_source (cr, &spec->foreground, 0.7);
  if (layout->row_caption.height > 0)
    {
      const AttnvizRect *rc = &layout->row_caption;
      attnviz_painter_text_set (text, spec->row_caption, fs, FALSE, rc->height);
      cairo_save (cr);
      cairo_translate (cr, rc->x + rc->width / 2, rc->y + rc->height / 2);
      cairo_rotate (cr, -G_PI / 2);
      attnviz_painter_text_draw (text, 0, 0, 0.5, 0.5);
      cairo_restore (cr);
    }
  if (layout->col_caption.height > 0)
    {
      const AttnvizRect *cc = &layout->col_caption;
      attnviz_painter_text_set (text, spec->col_caption, fs, FALSE, cc->width);
      attnviz_painter_text_draw (text, cc->x + cc->width / 2, cc->y, 0.5, 0.0);
    }
}

/* A band across the matrix outlined dark then light, visible on any map. */
static void
outline_rect (cairo_t *cr, double x, double y, double w, double h, double lw)
{
  cairo_rectangle (cr, x - lw / 2, y - lw / 2, w + lw, h + lw);
  cairo_set_line_width (cr, 2 * lw);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.8);
  cairo_stroke_preserve (cr);
  cairo_set_line_width (cr, lw);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_stroke (cr);
}

/* The cells of the matrix within CR's clip, coloured and drawn one pixel a
 * cell: a zoomed-in figure colours only what shows. */
static void
paint_visible_cells (cairo_t *cr, const AttnvizHeatmapSpec *spec, const AttnvizScale *scale,
                     const AttnvizHeatmapLayout *layout)
{
  const AttnvizRect *m = &layout->matrix;
  double x0, y0, x1, y1;
  int i0 = 0, i1 = spec->rows, j0 = 0, j1 = spec->cols;

  cairo_clip_extents (cr, &x0, &y0, &x1, &y1);
  /* An image, or the recording a widget's render node is (its clip is the
   * part in view); a file's surface gets every cell. */
  cairo_surface_type_t target = cairo_surface_get_type (cairo_get_target (cr));
  if (layout->cell > 0 && (target == CAIRO_SURFACE_TYPE_IMAGE || target == CAIRO_SURFACE_TYPE_RECORDING))
    {
      i0 = CLAMP ((int) floor ((y0 - m->y) / layout->cell), 0, spec->rows);
      i1 = CLAMP ((int) ceil ((y1 - m->y) / layout->cell), 0, spec->rows);
      j0 = CLAMP ((int) floor ((x0 - m->x) / layout->cell), 0, spec->cols);
      j1 = CLAMP ((int) ceil ((x1 - m->x) / layout->cell), 0, spec->cols);
    }
  if (i1 <= i0 || j1 <= j0)
    return;
  AttnvizColorizer colorizer;
  /* The whole matrix's count: the same colours as painting it all. */
  attnviz_colorizer_init (&colorizer, scale, spec->colormap, (gsize) spec->rows * spec->cols);
  cairo_surface_t *image = attnviz_painter_matrix_surface (&colorizer, spec->matrix + (gsize) i0 * spec->cols + j0,
                                                           i1 - i0, j1 - j0, spec->cols);
  attnviz_painter_mask_cells (&colorizer, image, i0, j0, spec->mask_future, &spec->pattern);
  attnviz_colorizer_clear (&colorizer);
  if (image != NULL)
    {
      AttnvizRect part = { m->x + j0 * layout->cell, m->y + i0 * layout->cell,
                           (j1 - j0) * layout->cell, (i1 - i0) * layout->cell };
      if (i0 == 0 && i1 == spec->rows && j0 == 0 && j1 == spec->cols)
        part = *m;
      attnviz_painter_draw_surface (cr, image, &part);
      cairo_surface_destroy (image);
    }
}

void
attnviz_paint_heatmap (cairo_t *cr, const AttnvizHeatmapSpec *spec, double width, double height)
{
  g_return_if_fail (cr != NULL && spec != NULL);
  g_return_if_fail (spec->rows >= 0 && spec->cols >= 0);
  g_return_if_fail (spec->matrix != NULL || spec->paint_cells != NULL || spec->rows == 0 || spec->cols == 0);

  AttnvizScale scale;
  AttnvizHeatmapLayout layout;
  AttnvizPainterText measure, text;
  heatmap_scale (spec, &scale);
  /* Laid out by a measuring context, exactly as attnviz_heatmap_layout()
   * does for the widget's hit tests. */
  attnviz_painter_text_init (&measure, NULL);
  heatmap_layout (spec, &scale, width, height, &measure, &layout);
  attnviz_painter_text_clear (&measure);

  cairo_save (cr);
  attnviz_painter_text_init (&text, cr);
  const AttnvizRect *m = &layout.matrix;

  if (m->width > 0 && m->height > 0)
    {
      if (spec->matrix == NULL && spec->paint_cells != NULL)
        {
          cairo_save (cr);
          cairo_rectangle (cr, m->x, m->y, m->width, m->height);
          cairo_clip (cr);
          spec->paint_cells (cr, m, spec->paint_cells_data);
          cairo_restore (cr);
        }
      else if (spec->matrix != NULL)
        paint_visible_cells (cr, spec, &scale, &layout);

      /* A hairline frame keeps a white-at-zero map (grey) apart from the page. */
      attnviz_painter_set_source (cr, &spec->foreground, 0.45);
      cairo_set_line_width (cr, MAX (0.5, 0.05 * layout.font_size));
      cairo_rectangle (cr, m->x, m->y, m->width, m->height);
      cairo_stroke (cr);

      double lw = CLAMP (0.15 * layout.cell, 0.75, 0.12 * layout.font_size + 0.5);
      if (layout.highlight_row >= 0)
        outline_rect (cr, m->x, m->y + layout.highlight_row * layout.cell, m->width, layout.cell, lw);
      if (layout.highlight_col >= 0)
        outline_rect (cr, m->x + layout.highlight_col * layout.cell, m->y, layout.cell, m->height, lw);
    }

  double fs = layout.font_size;
  draw_labels (cr, &text, spec, &layout,
               MIN (ATTNVIZ_PAINTER_MAX_LABEL_EMS * fs, 0.3 * width),
               MIN (ATTNVIZ_PAINTER_MAX_LABEL_EMS * fs, 0.3 * height));

  if (spec->colorbar && layout.colorbar.width > 0)
    {
      AttnvizColorbarLayout cb = { 0 };
      memcpy (cb.ticks, layout.colorbar_ticks, sizeof cb.ticks);
      cb.n_ticks = layout.colorbar_n_ticks;
      cb.font_size = fs;
      cb.tick_length = ATTNVIZ_COLORBAR_TICK_EMS * fs;
      cb.label_width = layout.colorbar_label_width;
      cb.clips = spec->scale_clips;
      cb.caption = spec->scale_caption != NULL && *spec->scale_caption ? spec->scale_caption : NULL;
      attnviz_painter_draw_colorbar (cr, &text, &layout.colorbar, spec->colormap, &scale, &cb, &spec->foreground);
    }

  attnviz_painter_draw_titles (cr, &text, spec->title, spec->subtitle, fs, &layout.title, &layout.subtitle,
                               &spec->foreground);
  attnviz_painter_text_clear (&text);
  cairo_restore (cr);
}

/* One band for every panel's titles: the tallest (a title or subtitle that
 * wraps in one panel and not in the next would lift that one's matrix
 * above the others'). */
double
attnviz_heatmap_row_titles_band (const AttnvizHeatmapRowSpec *spec, double width)
{
  g_return_val_if_fail (spec != NULL, 0);

  double band = 0, w = spec->n_panels > 0 ? width / spec->n_panels : width;
  AttnvizPainterText text;
  attnviz_painter_text_init (&text, NULL);
  for (int i = 0; i < spec->n_panels; i++)
    {
      const AttnvizHeatmapSpec *p = &spec->panels[i];
      double fs = attnviz_painter_font_size (p->font_size);
      AttnvizRect title, subtitle;
      band = MAX (band, attnviz_painter_titles_layout (&text, p->title, p->subtitle, fs, w, MARGIN_EMS * fs,
                                                       &title, &subtitle));
    }
  attnviz_painter_text_clear (&text);
  return band;
}

void
attnviz_paint_heatmap_row (cairo_t *cr, const AttnvizHeatmapRowSpec *spec, double width, double height)
{
  g_return_if_fail (cr != NULL && spec != NULL);
  g_return_if_fail (spec->n_panels >= 0 && spec->n_panels <= ATTNVIZ_HEATMAP_ROW_MAX);

  if (spec->n_panels == 0)
    return;
  double w = width / spec->n_panels;
  double band = attnviz_heatmap_row_titles_band (spec, width);
  for (int i = 0; i < spec->n_panels; i++)
    {
      AttnvizHeatmapSpec panel = spec->panels[i];
      panel.titles_band = MAX (panel.titles_band, band);
      cairo_save (cr);
      cairo_translate (cr, i * w, 0);
      cairo_rectangle (cr, 0, 0, w, height);
      cairo_clip (cr);
      attnviz_paint_heatmap (cr, &panel, w, height);
      cairo_restore (cr);
    }
}
