/* attnviz-painter-grid.c: the model view, every (layer, head) map as a
 * thumbnail in a grid of layers (rows) by heads (columns) */
#define G_LOG_DOMAIN "attnviz-painter"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-painter-private.h"

#define MARGIN_EMS 0.6
#define INDEX_FONT_SCALE 0.85
#define LABEL_GAP_EMS 0.3
#define COLORBAR_GAP_EMS 1.0
#define COLORBAR_WIDTH_EMS 1.0
/* Between the last head and the aggregate's column, in pitches. */
#define AGGREGATE_GAP_PITCHES 0.3
/* Labels that grow with the thumbnails: a font size for each unit of
 * pitch (11 at 55 px, 18 at 90 px). */
#define LABEL_EMS_PER_PITCH 0.2

void
attnviz_grid_spec_init (AttnvizGridSpec *spec, int n_layer, int n_head,
                        const float *const *maps, int rows, int cols)
{
  memset (spec, 0, sizeof *spec);
  spec->n_layer = n_layer;
  spec->n_head = n_head;
  spec->maps = maps;
  spec->rows = rows;
  spec->cols = cols;
  spec->pooling = ATTNVIZ_POOL_MAX;
  spec->colormap = ATTNVIZ_COLORMAP_VIRIDIS;
  attnviz_scale_init (&spec->scale, ATTNVIZ_SCALE_LINEAR, 0, 0);
  spec->colorbar = TRUE;
  spec->current_layer = -1;
  spec->current_head = -1;
}

/* With scores, the scale of the scores; with maps, a shared scale when
 * one is set.  FALSE: each thumbnail takes its own range. */
static gboolean
grid_shared_scale (const AttnvizGridSpec *spec, AttnvizScale *scale)
{
  *scale = spec->scale;
  if (spec->scores != NULL)
    {
      if (!attnviz_scale_has_range (scale))
        {
          gsize n = (gsize) spec->n_layer * spec->n_head;
          g_autofree float *values = g_new (float, MAX (n, 1));
          for (gsize i = 0; i < n; i++)
            values[i] = (float) spec->scores[i];
          scale->vmin = scale->vmax = 0;
          attnviz_scale_fit (scale, values, n, attnviz_colormap_is_diverging (spec->colormap));
        }
      return TRUE;
    }
  return attnviz_scale_has_range (scale);
}

/* The ends of a bar of relative colours. */
#define GRID_LOW_LABEL "head min"
#define GRID_HIGH_LABEL "head max"

static int
grid_index (const int *indices, int i)
{
  return indices != NULL ? indices[i] : i;
}

/* "mean" or "max" over the aggregate's column, or NULL. */
static const char *
aggregate_caption (AttnvizGridAggregate aggregate)
{
  return aggregate == ATTNVIZ_GRID_AGGREGATE_MEAN ? "mean" : aggregate == ATTNVIZ_GRID_AGGREGATE_MAX ? "max" : NULL;
}

/* The layout with titles of FS and labels of LFS (indices at
 * INDEX_FONT_SCALE of it). */
static void
grid_layout_at (const AttnvizGridSpec *spec, const AttnvizScale *shared, double width, double height,
                AttnvizPainterText *text, double fs, double lfs, AttnvizGridLayout *out)
{
  double ifs = INDEX_FONT_SCALE * lfs;
  double margin = MARGIN_EMS * fs;
  double lh = attnviz_painter_text_line_height (text, lfs);
  double ilh = attnviz_painter_text_line_height (text, ifs);
  int nl = MAX (spec->n_layer, 0), nh = MAX (spec->n_head, 0);
  /* The aggregate's column and the gap before it, in pitches. */
  double extra = aggregate_caption (spec->aggregate) != NULL && nh > 0 ? 1 + AGGREGATE_GAP_PITCHES : 0;

  memset (out, 0, sizeof *out);
  out->width = width;
  out->height = height;
  out->n_layer = nl;
  out->n_head = nh;
  out->font_size = ifs;
  out->label_font_size = lfs;
  out->current_layer = spec->current_layer < nl ? spec->current_layer : -1;
  out->current_head = spec->current_head < nh ? spec->current_head : -1;

  double top = attnviz_painter_titles_layout (text, spec->title, spec->subtitle, fs, width, margin,
                                              &out->title, &out->subtitle);

  /* Indices: the widest layer number, and head numbers one line high. */
  double layer_w = 0, head_w = 0;
  char buf[32];
  for (int l = 0; l < nl; l++)
    {
      g_snprintf (buf, sizeof buf, "%d", grid_index (spec->layer_index, l));
      layer_w = MAX (layer_w, attnviz_painter_text_set (text, buf, ifs, FALSE, 0));
    }
  for (int h = 0; h < nh; h++)
    {
      g_snprintf (buf, sizeof buf, "%d", grid_index (spec->head_index, h));
      head_w = MAX (head_w, attnviz_painter_text_set (text, buf, ifs, FALSE, 0));
    }

  /* Shared: the range's ticks; each thumbnail its own range: a bar of
   * relative colours from each head's lowest weight to its highest. */
  gboolean with_bar = spec->colorbar && (shared != NULL || spec->scores == NULL);
  AttnvizColorbarLayout cb = { 0 };
  double cb_reserve = 0;
  double left = 0, upper = 0, aw = 0, ah = 0;
  for (int round = 0; round < 8; round++)
    {
      left = margin + lh + LABEL_GAP_EMS * lfs + layer_w + LABEL_GAP_EMS * lfs;
      upper = top + lh + LABEL_GAP_EMS * lfs + ilh + LABEL_GAP_EMS * lfs;
      double right = margin + (with_bar ? COLORBAR_GAP_EMS * lfs + COLORBAR_WIDTH_EMS * lfs + cb_reserve : 0);
      double lower = margin + (with_bar ? lh / 2 + attnviz_painter_colorbar_caption_height (text, &cb) : 0);
      aw = MAX (0, width - left - right);
      ah = MAX (0, height - upper - lower);
      out->pitch = nl > 0 && nh > 0 ? MIN (aw / (nh + extra), ah / nl) : 0;
      if (!with_bar)
        break;
      if (shared != NULL)
        {
          attnviz_painter_colorbar_layout (text, shared, MAX (nl * out->pitch, 4 * lh), lfs, &cb);
          attnviz_painter_colorbar_set_caption (text, &cb, spec->scale_caption);
        }
      else
        attnviz_painter_colorbar_layout_ends (text, GRID_LOW_LABEL, GRID_HIGH_LABEL, lfs, &cb);
      double want = MAX (attnviz_painter_colorbar_reserve (&cb), cb.caption_width - COLORBAR_WIDTH_EMS * lfs);
      if (want <= cb_reserve)
        break;
      cb_reserve = want;
    }

  double gap = CLAMP (0.08 * out->pitch, 0.5, 0.15 * lfs + 1);
  gap = MIN (gap, 0.25 * out->pitch);
  out->thumb = MAX (0, out->pitch - gap);
  double dx = (aw - (nh + extra) * out->pitch) / 2;
  double dy = (ah - nl * out->pitch) / 2;
  out->title.y += dy;
  out->subtitle.y += dy;
  out->grid = (AttnvizRect) { left + dx, upper + dy, nh * out->pitch, nl * out->pitch };
  double right_end = out->grid.x + out->grid.width;
  if (extra > 0)
    {
      out->aggregate = (AttnvizRect) {
        right_end + AGGREGATE_GAP_PITCHES * out->pitch, out->grid.y, out->pitch, out->grid.height,
      };
      right_end = out->aggregate.x + out->aggregate.width;
    }

  out->layer_label_step = attnviz_painter_label_step (out->pitch, ilh, nl, out->grid.height);
  out->head_label_step = attnviz_painter_label_step (out->pitch, head_w + 0.4 * ifs, nh, out->grid.width + 0.4 * ifs);
  out->layer_caption = (AttnvizRect) {
    out->grid.x - LABEL_GAP_EMS * lfs - layer_w - LABEL_GAP_EMS * lfs - lh, out->grid.y, lh, out->grid.height,
  };
  out->head_caption = (AttnvizRect) {
    out->grid.x, out->grid.y - LABEL_GAP_EMS * lfs - ilh - LABEL_GAP_EMS * lfs - lh, out->grid.width, lh,
  };
  if (with_bar)
    {
      double bar_h = MIN (MAX (out->grid.height, 4 * lh), ah);
      out->colorbar = (AttnvizRect) {
        right_end + COLORBAR_GAP_EMS * lfs, out->grid.y + (out->grid.height - bar_h) / 2,
        COLORBAR_WIDTH_EMS * lfs, bar_h,
      };
      memcpy (out->colorbar_ticks, cb.ticks, sizeof cb.ticks);
      out->colorbar_n_ticks = cb.n_ticks;
      out->colorbar_label_width = cb.label_width;
    }
}

/* The labels keep the spec's font size, or (with a larger max_font_size)
 * grow with the thumbnails: a larger font leaves them a little less room,
 * so the size is found again until it holds. */
static void
grid_layout (const AttnvizGridSpec *spec, const AttnvizScale *shared, double width, double height,
             AttnvizPainterText *text, AttnvizGridLayout *out)
{
  double fs = attnviz_painter_font_size (spec->font_size);
  double lfs = fs;

  grid_layout_at (spec, shared, width, height, text, fs, lfs, out);
  for (int round = 0; round < 4 && spec->max_font_size > fs; round++)
    {
      double want = CLAMP (LABEL_EMS_PER_PITCH * out->pitch, fs, spec->max_font_size);
      if (fabs (want - lfs) < 0.1)
        break;
      lfs = want;
      grid_layout_at (spec, shared, width, height, text, fs, lfs, out);
    }
}

void
attnviz_grid_layout (const AttnvizGridSpec *spec, double width, double height, AttnvizGridLayout *out)
{
  g_return_if_fail (spec != NULL && out != NULL);

  AttnvizScale scale;
  AttnvizPainterText text;
  gboolean shared = grid_shared_scale (spec, &scale);
  attnviz_painter_text_init (&text, NULL);
  grid_layout (spec, shared ? &scale : NULL, width, height, &text, out);
  attnviz_painter_text_clear (&text);
}

gboolean
attnviz_grid_layout_cell_rect (const AttnvizGridLayout *layout, int layer, int head, AttnvizRect *rect)
{
  if (layer < 0 || layer >= layout->n_layer || head < 0 || head >= layout->n_head)
    return FALSE;
  double gap = layout->pitch - layout->thumb;
  *rect = (AttnvizRect) {
    layout->grid.x + head * layout->pitch + gap / 2,
    layout->grid.y + layer * layout->pitch + gap / 2,
    layout->thumb, layout->thumb,
  };
  return TRUE;
}

gboolean
attnviz_grid_layout_aggregate_rect (const AttnvizGridLayout *layout, int layer, AttnvizRect *rect)
{
  if (layout->aggregate.width <= 0 || layer < 0 || layer >= layout->n_layer)
    return FALSE;
  double gap = layout->pitch - layout->thumb;
  *rect = (AttnvizRect) {
    layout->aggregate.x + gap / 2, layout->aggregate.y + layer * layout->pitch + gap / 2, layout->thumb, layout->thumb,
  };
  return TRUE;
}

gboolean
attnviz_grid_layout_hit_aggregate (const AttnvizGridLayout *layout, double x, double y, int *layer)
{
  const AttnvizRect *a = &layout->aggregate;
  int l = -1;
  if (a->width > 0 && layout->pitch > 0 && x >= a->x && x < a->x + a->width && y >= a->y && y < a->y + a->height)
    l = MIN ((int) floor ((y - a->y) / layout->pitch), layout->n_layer - 1);
  if (layer)
    *layer = l;
  return l >= 0;
}

gboolean
attnviz_grid_layout_hit (const AttnvizGridLayout *layout, double x, double y, int *layer, int *head)
{
  const AttnvizRect *g = &layout->grid;
  int l = -1, h = -1;
  if (layout->pitch > 0 && x >= g->x && x < g->x + g->width && y >= g->y && y < g->y + g->height)
    {
      l = MIN ((int) floor ((y - g->y) / layout->pitch), layout->n_layer - 1);
      h = MIN ((int) floor ((x - g->x) / layout->pitch), layout->n_head - 1);
    }
  if (layer)
    *layer = l;
  if (head)
    *head = h;
  return l >= 0 && h >= 0;
}

/* ---- Drawing -------------------------------------------------------------- */

/* One thumbnail: P (tr, tc) pooled values in RECT, on SHARED or (NULL)
 * a range of its own; NULL P: no data. */
static void
draw_thumbnail (cairo_t *cr, const AttnvizGridSpec *spec, const float *p, int tr, int tc, const guint8 *masked,
                AttnvizColorizer *colorizer, AttnvizScale *scale, const AttnvizScale *shared,
                cairo_surface_t **image, const AttnvizRect *rect)
{
  if (p == NULL)
    {
      double rgb[3];
      attnviz_colormap_nodata (spec->colormap, rgb);
      cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
      cairo_rectangle (cr, rect->x, rect->y, rect->width, rect->height);
      cairo_fill (cr);
      return;
    }
  if (shared == NULL)
    {
      /* Each thumbnail its own range: every head shows its pattern.  The
       * masked cells' zeros count, as they always have. */
      scale->vmin = scale->vmax = 0;
      attnviz_scale_fit (scale, p, (gsize) tr * tc, attnviz_colormap_is_diverging (spec->colormap));
      attnviz_colorizer_set_scale (colorizer, scale, (gsize) tr * tc);
    }
  cairo_surface_flush (*image);
  guchar *data = cairo_image_surface_get_data (*image);
  int stride = cairo_image_surface_get_stride (*image);
  for (int i = 0; i < tr; i++)
    {
      guint32 *row = (guint32 *) (data + (gsize) i * stride);
      attnviz_colorizer_row (colorizer, p + (gsize) i * tc, tc, row);
      for (int j = 0; masked != NULL && j < tc; j++)
        if (masked[(gsize) i * tc + j])
          row[j] = colorizer->nodata;
    }
  cairo_surface_mark_dirty (*image);
  attnviz_painter_draw_surface (cr, *image, rect);
  /* The vector backends keep a reference to the pixels: start afresh. */
  if (cairo_surface_get_type (cairo_get_target (cr)) != CAIRO_SURFACE_TYPE_IMAGE)
    {
      cairo_surface_destroy (*image);
      *image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, tc, tr);
    }
}

static void
draw_thumbnails (cairo_t *cr, const AttnvizGridSpec *spec, const AttnvizGridLayout *layout,
                 const AttnvizScale *shared)
{
  int n = spec->n_layer * spec->n_head;
  int tr = attnviz_grid_thumbnail_pixels (cr, layout->thumb, spec->rows);
  int tc = attnviz_grid_thumbnail_pixels (cr, layout->thumb, spec->cols);
  AttnvizGridSource src;
  attnviz_grid_source (spec, tr, tc, &src);
  tr = MIN (tr, src.rows);
  tc = MIN (tc, src.cols);
  g_autofree int *rs = g_new (int, tr + 1);
  g_autofree int *cs = g_new (int, tc + 1);
  for (int i = 0; i <= tr; i++)
    rs[i] = attnviz_bin_start (i, tr, src.rows);
  for (int j = 0; j <= tc; j++)
    cs[j] = attnviz_bin_start (j, tc, src.cols);

  gsize bins = (gsize) tr * tc;
  g_autofree float *pooled = g_try_new (float, (gsize) n * bins);
  if (pooled == NULL)
    return;
  attnviz_grid_pool_all (&src, spec->pooling, tr, tc, rs, cs, pooled);
  g_autofree guint8 *masked = attnviz_grid_future_pixels (spec, &src, tr, tc, rs, cs);
  g_autofree float *combined = layout->aggregate.width > 0 ? g_try_new (float, bins) : NULL;
  g_autofree const float **heads = g_new0 (const float *, MAX (spec->n_head, 1));

  AttnvizColorizer colorizer;
  AttnvizScale scale;
  attnviz_scale_init (&scale, spec->scale.kind, 0, 1);
  scale.gamma = spec->scale.gamma;
  scale.floor = spec->scale.floor;
  attnviz_colorizer_init (&colorizer, shared ? shared : &scale, spec->colormap, (gsize) n * bins);
  cairo_surface_t *image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, tc, tr);
  for (int l = 0; l < spec->n_layer; l++)
    {
      AttnvizRect rect;
      for (int h = 0; h < spec->n_head; h++)
        {
          int k = l * spec->n_head + h;
          heads[h] = src.maps[k] != NULL ? pooled + (gsize) k * bins : NULL;
          attnviz_grid_layout_cell_rect (layout, l, h, &rect);
          draw_thumbnail (cr, spec, heads[h], tr, tc, masked, &colorizer, &scale, shared, &image, &rect);
        }
      if (combined != NULL && attnviz_grid_layout_aggregate_rect (layout, l, &rect))
        {
          gboolean any = attnviz_grid_combine_heads (heads, spec->n_head, bins, spec->aggregate, combined);
          draw_thumbnail (cr, spec, any ? combined : NULL, tr, tc, masked, &colorizer, &scale, shared, &image,
                          &rect);
        }
    }
  cairo_surface_destroy (image);
  attnviz_colorizer_clear (&colorizer);
}

/* A thin grey frame around each thumbnail, in its gap: the separators
 * stay visible where a map's end is the page's own colour (grey's white,
 * a transparent page). */
static void
draw_frames (cairo_t *cr, const AttnvizGridSpec *spec, const AttnvizGridLayout *layout)
{
  double gap = layout->pitch - layout->thumb;
  double lw = CLAMP (0.4 * gap, 0.25, 0.75);
  cairo_save (cr);
  cairo_set_line_width (cr, lw);
  attnviz_painter_set_source (cr, &spec->foreground, 0.45);
  for (int l = 0; l < spec->n_layer; l++)
    for (int h = 0; h <= spec->n_head; h++)
      {
        AttnvizRect r;
        if (h < spec->n_head ? attnviz_grid_layout_cell_rect (layout, l, h, &r)
                             : attnviz_grid_layout_aggregate_rect (layout, l, &r))
          cairo_rectangle (cr, r.x - lw / 2, r.y - lw / 2, r.width + lw, r.height + lw);
      }
  cairo_stroke (cr);
  cairo_restore (cr);
}

/* A score's cell: its colour, and the number when it fits. */
static void
draw_score (cairo_t *cr, AttnvizPainterText *text, const AttnvizGridLayout *layout,
            const AttnvizColorizer *colorizer, double v, const AttnvizRect *rect)
{
  double ilh = attnviz_painter_text_line_height (text, layout->font_size);
  guint32 px = attnviz_colorizer_pixel (colorizer, (float) v);
  double r = ((px >> 16) & 0xff) / 255.0, g = ((px >> 8) & 0xff) / 255.0, b = (px & 0xff) / 255.0;
  cairo_set_source_rgb (cr, r, g, b);
  cairo_rectangle (cr, rect->x, rect->y, rect->width, rect->height);
  cairo_fill (cr);

  if (isnan (v) || ilh > 0.9 * rect->height)
    return;
  char buf[32];
  g_snprintf (buf, sizeof buf, fabs (v) >= 100 ? "%.0f" : fabs (v) >= 10 ? "%.1f" : "%.2f", v);
  double w = attnviz_painter_text_set (text, buf, layout->font_size, FALSE, 0);
  if (w > 0.92 * rect->width)
    return;
  /* Black on light cells, white on dark ones (relative luminance). */
  double lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  cairo_set_source_rgb (cr, lum > 0.45 ? 0 : 1, lum > 0.45 ? 0 : 1, lum > 0.45 ? 0 : 1);
  attnviz_painter_text_draw (text, rect->x + rect->width / 2, rect->y + rect->height / 2, 0.5, 0.5);
}

static void
draw_scores (cairo_t *cr, AttnvizPainterText *text, const AttnvizGridSpec *spec,
             const AttnvizGridLayout *layout, const AttnvizScale *scale)
{
  AttnvizColorizer colorizer;
  attnviz_colorizer_init (&colorizer, scale, spec->colormap, 0);
  for (int l = 0; l < spec->n_layer; l++)
    {
      AttnvizRect rect;
      double acc = spec->aggregate == ATTNVIZ_GRID_AGGREGATE_MAX ? -INFINITY : 0;
      int count = 0;
      for (int h = 0; h < spec->n_head; h++)
        {
          double v = spec->scores[l * spec->n_head + h];
          attnviz_grid_layout_cell_rect (layout, l, h, &rect);
          draw_score (cr, text, layout, &colorizer, v, &rect);
          if (isnan (v))
            continue;
          acc = spec->aggregate == ATTNVIZ_GRID_AGGREGATE_MAX ? MAX (acc, v) : acc + v;
          count++;
        }
      if (attnviz_grid_layout_aggregate_rect (layout, l, &rect))
        draw_score (cr, text, layout, &colorizer,
                    count == 0 ? NAN : spec->aggregate == ATTNVIZ_GRID_AGGREGATE_MAX ? acc : acc / count, &rect);
    }
  attnviz_colorizer_clear (&colorizer);
}

/* Each thumbnail's own head index in its top-left corner, on a dark
 * chip, when heads are reordered within their layer and it fits. */
static void
draw_cell_heads (cairo_t *cr, AttnvizPainterText *text, const AttnvizGridSpec *spec, const AttnvizGridLayout *layout)
{
  double fs = MIN (layout->font_size, layout->thumb * 0.4);
  char buf[16];

  if (fs < 5)
    return;
  for (int l = 0; l < spec->n_layer; l++)
    for (int h = 0; h < spec->n_head; h++)
      {
        AttnvizRect r;
        if (!attnviz_grid_layout_cell_rect (layout, l, h, &r))
          continue;
        g_snprintf (buf, sizeof buf, "%d", spec->cell_head_index[l * spec->n_head + h]);
        double w = attnviz_painter_text_set (text, buf, fs, FALSE, 0);
        double lh = attnviz_painter_text_line_height (text, fs);
        cairo_set_source_rgba (cr, 0, 0, 0, 0.55);
        cairo_rectangle (cr, r.x, r.y, w + 0.5 * fs, lh);
        cairo_fill (cr);
        cairo_set_source_rgb (cr, 1, 1, 1);
        attnviz_painter_text_draw (text, r.x + 0.25 * fs, r.y, 0.0, 0.0);
      }
}

/* MARK_LABEL on a dark chip in a corner of each marked thumbnail, when it
 * fits: top right on a causal map, in the future no query sees, so that
 * it hides no weight (bottom right held the last query's weight on
 * itself); bottom right elsewhere (cross-attention, encoders). */
static void
draw_cell_marks (cairo_t *cr, AttnvizPainterText *text, const AttnvizGridSpec *spec, const AttnvizGridLayout *layout)
{
  double fs = MIN (layout->font_size, layout->thumb * 0.4);
  gboolean top = spec->lower_triangular;

  if (fs < 5 || spec->mark_label == NULL)
    return;
  for (int l = 0; l < spec->n_layer; l++)
    for (int h = 0; h < spec->n_head; h++)
      {
        AttnvizRect r;
        if (!spec->marks[l * spec->n_head + h] || !attnviz_grid_layout_cell_rect (layout, l, h, &r))
          continue;
        double w = attnviz_painter_text_set (text, spec->mark_label, fs, TRUE, 0);
        double lh = attnviz_painter_text_line_height (text, fs);
        double y = top ? r.y : r.y + r.height - lh;
        cairo_set_source_rgba (cr, 0, 0, 0, 0.6);
        cairo_rectangle (cr, r.x + r.width - w - 0.5 * fs, y, w + 0.5 * fs, lh);
        cairo_fill (cr);
        cairo_set_source_rgb (cr, 1, 1, 1);
        attnviz_painter_text_draw (text, r.x + r.width - 0.25 * fs, y + lh, 1.0, 1.0);
      }
}

static void
draw_indices (cairo_t *cr, AttnvizPainterText *text, const AttnvizGridSpec *spec, const AttnvizGridLayout *layout)
{
  double fs = layout->label_font_size;
  double ifs = layout->font_size;
  const AttnvizRect *g = &layout->grid;
  char buf[32];

  for (int l = 0; l < layout->n_layer; l++)
    {
      gboolean current = l == layout->current_layer;
      if (!current && (layout->layer_label_step <= 0 || l % layout->layer_label_step != 0))
        continue;
      attnviz_painter_set_source (cr, &spec->foreground, current ? 1.0 : 0.75);
      g_snprintf (buf, sizeof buf, "%d", grid_index (spec->layer_index, l));
      attnviz_painter_text_set (text, buf, ifs, current, 0);
      attnviz_painter_text_draw (text, g->x - LABEL_GAP_EMS * fs, g->y + (l + 0.5) * layout->pitch, 1.0, 0.5);
    }
  for (int h = 0; h < layout->n_head && spec->cell_head_index == NULL; h++)
    {
      gboolean current = h == layout->current_head;
      if (!current && (layout->head_label_step <= 0 || h % layout->head_label_step != 0))
        continue;
      attnviz_painter_set_source (cr, &spec->foreground, current ? 1.0 : 0.75);
      g_snprintf (buf, sizeof buf, "%d", grid_index (spec->head_index, h));
      attnviz_painter_text_set (text, buf, ifs, current, 0);
      attnviz_painter_text_draw (text, g->x + (h + 0.5) * layout->pitch, g->y - LABEL_GAP_EMS * fs, 0.5, 1.0);
    }
  const AttnvizRect *a = &layout->aggregate;
  const char *what = aggregate_caption (spec->aggregate);
  if (a->width > 0 && what != NULL)
    {
      /* Over its column, between the head indices and the colour bar:
       * smaller when the thumbnails are narrower than the word. */
      double room = (1 + AGGREGATE_GAP_PITCHES) * layout->pitch;
      double w = attnviz_painter_text_set (text, what, ifs, TRUE, 0);
      double size = w > room ? ifs * room / w : ifs;
      if (size >= 4)
        {
          attnviz_painter_set_source (cr, &spec->foreground, 0.75);
          attnviz_painter_text_set (text, what, size, TRUE, 0);
          attnviz_painter_text_draw (text, a->x + a->width / 2, a->y - LABEL_GAP_EMS * fs, 0.5, 1.0);
        }
    }

  attnviz_painter_set_source (cr, &spec->foreground, 0.7);
  const AttnvizRect *lc = &layout->layer_caption;
  if (lc->height > 0)
    {
      attnviz_painter_text_set (text, "layer", fs, FALSE, lc->height);
      cairo_save (cr);
      cairo_translate (cr, lc->x + lc->width / 2, lc->y + lc->height / 2);
      cairo_rotate (cr, -G_PI / 2);
      attnviz_painter_text_draw (text, 0, 0, 0.5, 0.5);
      cairo_restore (cr);
    }
  const AttnvizRect *hc = &layout->head_caption;
  if (hc->width > 0)
    {
      attnviz_painter_text_set (text, "head", fs, FALSE, hc->width);
      attnviz_painter_text_draw (text, hc->x + hc->width / 2, hc->y, 0.5, 0.0);
    }
}

void
attnviz_paint_grid (cairo_t *cr, const AttnvizGridSpec *spec, double width, double height)
{
  g_return_if_fail (cr != NULL && spec != NULL);
  g_return_if_fail (spec->n_layer >= 0 && spec->n_head >= 0);
  g_return_if_fail (spec->scores != NULL || spec->maps != NULL || spec->overviews != NULL
                    || spec->n_layer * spec->n_head == 0);
  g_return_if_fail (spec->scores != NULL || (spec->rows > 0 && spec->cols > 0) || spec->n_layer * spec->n_head == 0);

  AttnvizScale scale;
  AttnvizGridLayout layout;
  AttnvizPainterText measure, text;
  gboolean shared = grid_shared_scale (spec, &scale);
  attnviz_painter_text_init (&measure, NULL);
  grid_layout (spec, shared ? &scale : NULL, width, height, &measure, &layout);
  attnviz_painter_text_clear (&measure);

  cairo_save (cr);
  attnviz_painter_text_init (&text, cr);

  if (layout.thumb > 0 && spec->n_layer * spec->n_head > 0)
    {
      if (spec->scores != NULL)
        draw_scores (cr, &text, spec, &layout, &scale);
      else
        draw_thumbnails (cr, spec, &layout, shared ? &scale : NULL);
      draw_frames (cr, spec, &layout);
      if (spec->cell_head_index != NULL)
        draw_cell_heads (cr, &text, spec, &layout);
      if (spec->marks != NULL)
        draw_cell_marks (cr, &text, spec, &layout);
    }

  AttnvizRect cur;
  if (attnviz_grid_layout_cell_rect (&layout, layout.current_layer, layout.current_head, &cur))
    {
      double gap = layout.pitch - layout.thumb;
      double lw = MAX (1.0, 0.6 * gap);
      cairo_rectangle (cr, cur.x - lw / 2, cur.y - lw / 2, cur.width + lw, cur.height + lw);
      cairo_set_line_width (cr, lw);
      cairo_set_source_rgb (cr, 0.90, 0.33, 0.05);   /* an orange no map uses at its ends */
      cairo_stroke (cr);
    }

  draw_indices (cr, &text, spec, &layout);

  if (layout.colorbar.width > 0)
    {
      double fs = layout.label_font_size;
      AttnvizColorbarLayout cb = { 0 };
      memcpy (cb.ticks, layout.colorbar_ticks, sizeof cb.ticks);
      cb.n_ticks = layout.colorbar_n_ticks;
      cb.font_size = fs;
      cb.tick_length = ATTNVIZ_COLORBAR_TICK_EMS * fs;
      cb.label_width = layout.colorbar_label_width;
      AttnvizScale relative;
      attnviz_scale_init (&relative, ATTNVIZ_SCALE_LINEAR, 0, 1);
      if (!shared)
        {
          cb.end_labels[0] = GRID_LOW_LABEL;
          cb.end_labels[1] = GRID_HIGH_LABEL;
        }
      else
        cb.caption = spec->scale_caption != NULL && *spec->scale_caption ? spec->scale_caption : NULL;
      attnviz_painter_draw_colorbar (cr, &text, &layout.colorbar, spec->colormap, shared ? &scale : &relative, &cb,
                                     &spec->foreground);
    }

  attnviz_painter_draw_titles (cr, &text, spec->title, spec->subtitle, attnviz_painter_font_size (spec->font_size),
                               &layout.title, &layout.subtitle, &spec->foreground);
  attnviz_painter_text_clear (&text);
  cairo_restore (cr);
}
