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
/* PDF, SVG and PS thumbnails are pooled for 300 dpi, not 72. */
#define VECTOR_OVERSAMPLE (300.0 / 72.0)
/* Below this many cells in all, pooling stays on the calling thread. */
#define THREADED_POOL_MIN_CELLS (4u << 20)
#define MAX_POOL_THREADS 8

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

static void
grid_layout (const AttnvizGridSpec *spec, const AttnvizScale *shared, double width, double height,
             AttnvizPainterText *text, AttnvizGridLayout *out)
{
  double fs = attnviz_painter_font_size (spec->font_size);
  double ifs = INDEX_FONT_SCALE * fs;
  double margin = MARGIN_EMS * fs;
  double lh = attnviz_painter_text_line_height (text, fs);
  double ilh = attnviz_painter_text_line_height (text, ifs);
  int nl = MAX (spec->n_layer, 0), nh = MAX (spec->n_head, 0);

  memset (out, 0, sizeof *out);
  out->width = width;
  out->height = height;
  out->n_layer = nl;
  out->n_head = nh;
  out->font_size = ifs;
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
      left = margin + lh + LABEL_GAP_EMS * fs + layer_w + LABEL_GAP_EMS * fs;
      upper = top + lh + LABEL_GAP_EMS * fs + ilh + LABEL_GAP_EMS * fs;
      double right = margin + (with_bar ? COLORBAR_GAP_EMS * fs + COLORBAR_WIDTH_EMS * fs + cb_reserve : 0);
      double lower = margin + (with_bar ? lh / 2 : 0);
      aw = MAX (0, width - left - right);
      ah = MAX (0, height - upper - lower);
      out->pitch = nl > 0 && nh > 0 ? MIN (aw / nh, ah / nl) : 0;
      if (!with_bar)
        break;
      if (shared != NULL)
        attnviz_painter_colorbar_layout (text, shared, MAX (nl * out->pitch, 4 * lh), fs, &cb);
      else
        attnviz_painter_colorbar_layout_ends (text, GRID_LOW_LABEL, GRID_HIGH_LABEL, fs, &cb);
      double want = attnviz_painter_colorbar_reserve (&cb);
      if (want <= cb_reserve)
        break;
      cb_reserve = want;
    }

  double gap = CLAMP (0.08 * out->pitch, 0.5, 0.15 * fs + 1);
  gap = MIN (gap, 0.25 * out->pitch);
  out->thumb = MAX (0, out->pitch - gap);
  double dx = (aw - nh * out->pitch) / 2;
  double dy = (ah - nl * out->pitch) / 2;
  out->title.y += dy;
  out->subtitle.y += dy;
  out->grid = (AttnvizRect) { left + dx, upper + dy, nh * out->pitch, nl * out->pitch };

  out->layer_label_step = attnviz_painter_label_step (out->pitch, ilh, nl, out->grid.height);
  out->head_label_step = attnviz_painter_label_step (out->pitch, head_w + 0.4 * ifs, nh, out->grid.width + 0.4 * ifs);
  out->layer_caption = (AttnvizRect) {
    out->grid.x - LABEL_GAP_EMS * fs - layer_w - LABEL_GAP_EMS * fs - lh, out->grid.y, lh, out->grid.height,
  };
  out->head_caption = (AttnvizRect) {
    out->grid.x, out->grid.y - LABEL_GAP_EMS * fs - ilh - LABEL_GAP_EMS * fs - lh, out->grid.width, lh,
  };
  if (with_bar)
    {
      double bar_h = MIN (MAX (out->grid.height, 4 * lh), ah);
      out->colorbar = (AttnvizRect) {
        out->grid.x + out->grid.width + COLORBAR_GAP_EMS * fs, out->grid.y + (out->grid.height - bar_h) / 2,
        COLORBAR_WIDTH_EMS * fs, bar_h,
      };
      memcpy (out->colorbar_ticks, cb.ticks, sizeof cb.ticks);
      out->colorbar_n_ticks = cb.n_ticks;
      out->colorbar_label_width = cb.label_width;
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

/* ---- Pooling -------------------------------------------------------------- */

/* What the thumbnails are pooled from: the dense maps, or the overviews. */
typedef struct {
  const float *const *maps;  /* (n_maps) each (rows, cols); NULL entries: not recorded */
  int n_maps;
  int rows, cols;
  gboolean lower;            /* 0 above the diagonal, and bins of rows and columns line up */
} GridSource;

typedef struct {
  const GridSource *src;
  int tr, tc;                /* thumbnail pixels */
  const int *rs;             /* (tr + 1) first matrix row of each thumbnail row */
  const int *cs;             /* (tc + 1) first matrix column of each thumbnail column */
  float *pooled;             /* (n_maps, tr, tc) */
  AttnvizPooling pooling;
  int first, stride;         /* the maps this worker pools: first, first + stride, ... */
} PoolJob;

/* Max or mean of each (rs[i]..rs[i+1], cs[j]..cs[j+1]) block of M (rows,
 * cols).  Lower-triangular maps are read up to the diagonal only; the
 * zeros above it still count.  A max block of NaN only is NaN. */
static void
pool_map (const float *m, int cols, gboolean lower, AttnvizPooling pooling,
          int tr, int tc, const int *rs, const int *cs, float *out)
{
  gboolean use_max = pooling == ATTNVIZ_POOL_MAX;

  for (int i = 0; i < tr; i++)
    {
      float *o = out + (gsize) i * tc;
      for (int j = 0; j < tc; j++)
        o[j] = use_max ? -INFINITY : 0.0f;
      for (int r = rs[i]; r < rs[i + 1]; r++)
        {
          const float *row = m + (gsize) r * cols;
          int end = lower ? MIN (cols, r + 1) : cols;
#if defined(__GNUC__)
          /* A lower-triangular row ends early and the next one starts a
           * stream the hardware prefetcher has not seen: start it (25%
           * faster on the 12 x 12 benchmark). */
          if (lower && r + 1 < rs[tr])
            for (int p = 0; p < MIN (end + 1, 256); p += 16)
              __builtin_prefetch (row + cols + p);
#endif
          for (int j = 0; j < tc && cs[j] < end; j++)
            {
              int c1 = MIN (cs[j + 1], end);
              if (use_max)
                {
                  /* Four independent maxima keep the pipeline full. */
                  float m0 = o[j], m1 = m0, m2 = m0, m3 = m0;
                  int c = cs[j];
                  for (; c + 4 <= c1; c += 4)
                    {
                      m0 = row[c] > m0 ? row[c] : m0;
                      m1 = row[c + 1] > m1 ? row[c + 1] : m1;
                      m2 = row[c + 2] > m2 ? row[c + 2] : m2;
                      m3 = row[c + 3] > m3 ? row[c + 3] : m3;
                    }
                  for (; c < c1; c++)
                    m0 = row[c] > m0 ? row[c] : m0;
                  m0 = m1 > m0 ? m1 : m0;
                  m2 = m3 > m2 ? m3 : m2;
                  o[j] = m2 > m0 ? m2 : m0;
                }
              else
                {
                  float s = 0;
                  for (int c = cs[j]; c < c1; c++)
                    s += row[c];
                  o[j] += s;
                }
            }
        }
      for (int j = 0; j < tc; j++)
        {
          gboolean has_upper = lower && cs[j + 1] - 1 > rs[i];
          if (use_max)
            {
              if (has_upper && !(o[j] >= 0))
                o[j] = 0;
              else if (o[j] == -INFINITY)
                o[j] = NAN;
            }
          else
            o[j] /= (float) ((rs[i + 1] - rs[i]) * (cs[j + 1] - cs[j]));
        }
    }
}

static gpointer
pool_worker (gpointer data)
{
  const PoolJob *job = data;
  const GridSource *src = job->src;
  for (int k = job->first; k < src->n_maps; k += job->stride)
    if (src->maps[k] != NULL)
      pool_map (src->maps[k], src->cols, src->lower, job->pooling,
                job->tr, job->tc, job->rs, job->cs, job->pooled + (gsize) k * job->tr * job->tc);
  return NULL;
}

static void
pool_all (const GridSource *src, AttnvizPooling pooling, int tr, int tc, const int *rs, const int *cs,
          float *pooled)
{
  int n = src->n_maps;
  guint64 cells = (guint64) n * src->rows * src->cols;
  int n_threads = cells >= THREADED_POOL_MIN_CELLS ? CLAMP ((int) g_get_num_processors (), 1, MAX_POOL_THREADS) : 1;
  n_threads = MIN (n_threads, MAX (n, 1));

  PoolJob jobs[MAX_POOL_THREADS];
  GThread *threads[MAX_POOL_THREADS] = { NULL };
  for (int t = 0; t < n_threads; t++)
    {
      jobs[t] = (PoolJob) { src, tr, tc, rs, cs, pooled, pooling, t, n_threads };
      if (t > 0)
        threads[t] = g_thread_try_new ("attnviz-pool", pool_worker, &jobs[t], NULL);
    }
  pool_worker (&jobs[0]);
  for (int t = 1; t < n_threads; t++)
    {
      if (threads[t] != NULL)
        g_thread_join (threads[t]);
      else
        pool_worker (&jobs[t]);   /* no thread: do its share here */
    }
}

/* Thumbnail pixels along one side: as many as it covers on the target
 * (at 300 dpi for vector surfaces), never more than the map has.  A
 * recording surface is GTK's (a render node replayed onto the screen at
 * one pixel per unit): pooling it for 300 dpi took four times the pixels
 * the screen shows, which the replay then dropped again (losing what max
 * pooling kept) and cost the grid's first frame most of its time. */
static int
thumbnail_pixels (cairo_t *cr, double thumb, int n)
{
  double dx = thumb, dy = 0;
  cairo_user_to_device_distance (cr, &dx, &dy);
  double px = hypot (dx, dy);
  switch (cairo_surface_get_type (cairo_get_target (cr)))
    {
    case CAIRO_SURFACE_TYPE_PDF:
    case CAIRO_SURFACE_TYPE_PS:
    case CAIRO_SURFACE_TYPE_SVG:
    case CAIRO_SURFACE_TYPE_SCRIPT:
      px *= VECTOR_OVERSAMPLE;
      break;
    default:
      break;
    }
  return CLAMP ((int) ceil (px), 1, MAX (n, 1));
}

/* The overviews when they have as many bins as a thumbnail has pixels
 * (pooling them further costs a fraction of reading T x T floats a head),
 * the dense maps when a thumbnail has more pixels than the overview has
 * bins (a big export of a few heads), or when there are no overviews. */
static void
grid_source (const AttnvizGridSpec *spec, int tr, int tc, GridSource *src)
{
  gboolean overviews = spec->overviews != NULL && spec->ov_rows > 0 && spec->ov_cols > 0
                       && (spec->maps == NULL || (tr <= spec->ov_rows && tc <= spec->ov_cols));
  src->n_maps = spec->n_layer * spec->n_head;
  if (overviews)
    {
      src->maps = spec->overviews;
      src->rows = spec->ov_rows;
      src->cols = spec->ov_cols;
      /* Bin i of the rows and of the columns cover the same tokens: the
       * bins above the diagonal are whole masked cells, 0. */
      src->lower = spec->lower_triangular && spec->rows == spec->cols && spec->ov_rows == spec->ov_cols;
    }
  else
    {
      src->maps = spec->maps;
      src->rows = spec->rows;
      src->cols = spec->cols;
      src->lower = spec->lower_triangular;
    }
}

/* ---- Drawing -------------------------------------------------------------- */

static void
draw_thumbnails (cairo_t *cr, const AttnvizGridSpec *spec, const AttnvizGridLayout *layout,
                 const AttnvizScale *shared)
{
  int n = spec->n_layer * spec->n_head;
  int tr = thumbnail_pixels (cr, layout->thumb, spec->rows);
  int tc = thumbnail_pixels (cr, layout->thumb, spec->cols);
  GridSource src;
  grid_source (spec, tr, tc, &src);
  tr = MIN (tr, src.rows);
  tc = MIN (tc, src.cols);
  g_autofree int *rs = g_new (int, tr + 1);
  g_autofree int *cs = g_new (int, tc + 1);
  for (int i = 0; i <= tr; i++)
    rs[i] = attnviz_bin_start (i, tr, src.rows);
  for (int j = 0; j <= tc; j++)
    cs[j] = attnviz_bin_start (j, tc, src.cols);

  g_autofree float *pooled = g_try_new (float, (gsize) n * tr * tc);
  if (pooled == NULL)
    return;
  pool_all (&src, spec->pooling, tr, tc, rs, cs, pooled);

  AttnvizColorizer colorizer;
  AttnvizScale scale;
  attnviz_scale_init (&scale, spec->scale.kind, 0, 1);
  scale.gamma = spec->scale.gamma;
  scale.floor = spec->scale.floor;
  attnviz_colorizer_init (&colorizer, shared ? shared : &scale, spec->colormap, (gsize) n * tr * tc);
  cairo_surface_t *image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, tc, tr);
  for (int l = 0; l < spec->n_layer; l++)
    for (int h = 0; h < spec->n_head; h++)
      {
        int k = l * spec->n_head + h;
        AttnvizRect rect;
        attnviz_grid_layout_cell_rect (layout, l, h, &rect);
        if (src.maps[k] == NULL)
          {
            double rgb[3];
            attnviz_colormap_nodata (spec->colormap, rgb);
            cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
            cairo_rectangle (cr, rect.x, rect.y, rect.width, rect.height);
            cairo_fill (cr);
            continue;
          }
        const float *p = pooled + (gsize) k * tr * tc;
        if (shared == NULL)
          {
            /* Each thumbnail its own range: every head shows its pattern. */
            scale.vmin = scale.vmax = 0;
            attnviz_scale_fit (&scale, p, (gsize) tr * tc, attnviz_colormap_is_diverging (spec->colormap));
            attnviz_colorizer_set_scale (&colorizer, &scale, (gsize) tr * tc);
          }
        cairo_surface_flush (image);
        guchar *data = cairo_image_surface_get_data (image);
        int stride = cairo_image_surface_get_stride (image);
        for (int i = 0; i < tr; i++)
          attnviz_colorizer_row (&colorizer, p + (gsize) i * tc, tc, (guint32 *) (data + (gsize) i * stride));
        cairo_surface_mark_dirty (image);
        attnviz_painter_draw_surface (cr, image, &rect);
        /* The vector backends keep a reference to the pixels: start afresh. */
        if (cairo_surface_get_type (cairo_get_target (cr)) != CAIRO_SURFACE_TYPE_IMAGE)
          {
            cairo_surface_destroy (image);
            image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, tc, tr);
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
    for (int h = 0; h < spec->n_head; h++)
      {
        AttnvizRect r;
        attnviz_grid_layout_cell_rect (layout, l, h, &r);
        cairo_rectangle (cr, r.x - lw / 2, r.y - lw / 2, r.width + lw, r.height + lw);
      }
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_scores (cairo_t *cr, AttnvizPainterText *text, const AttnvizGridSpec *spec,
             const AttnvizGridLayout *layout, const AttnvizScale *scale)
{
  AttnvizColorizer colorizer;
  double ilh = attnviz_painter_text_line_height (text, layout->font_size);
  attnviz_colorizer_init (&colorizer, scale, spec->colormap, 0);
  for (int l = 0; l < spec->n_layer; l++)
    for (int h = 0; h < spec->n_head; h++)
      {
        double v = spec->scores[l * spec->n_head + h];
        AttnvizRect rect;
        attnviz_grid_layout_cell_rect (layout, l, h, &rect);
        guint32 px = attnviz_colorizer_pixel (&colorizer, (float) v);
        double r = ((px >> 16) & 0xff) / 255.0, g = ((px >> 8) & 0xff) / 255.0, b = (px & 0xff) / 255.0;
        cairo_set_source_rgb (cr, r, g, b);
        cairo_rectangle (cr, rect.x, rect.y, rect.width, rect.height);
        cairo_fill (cr);

        if (isnan (v) || ilh > 0.9 * rect.height)
          continue;
        char buf[32];
        g_snprintf (buf, sizeof buf, fabs (v) >= 100 ? "%.0f" : fabs (v) >= 10 ? "%.1f" : "%.2f", v);
        double w = attnviz_painter_text_set (text, buf, layout->font_size, FALSE, 0);
        if (w > 0.92 * rect.width)
          continue;
        /* Black on light cells, white on dark ones (relative luminance). */
        double lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        cairo_set_source_rgb (cr, lum > 0.45 ? 0 : 1, lum > 0.45 ? 0 : 1, lum > 0.45 ? 0 : 1);
        attnviz_painter_text_draw (text, rect.x + rect.width / 2, rect.y + rect.height / 2, 0.5, 0.5);
      }
  attnviz_colorizer_clear (&colorizer);
}

static void
draw_indices (cairo_t *cr, AttnvizPainterText *text, const AttnvizGridSpec *spec, const AttnvizGridLayout *layout)
{
  double fs = attnviz_painter_font_size (spec->font_size);
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
  for (int h = 0; h < layout->n_head; h++)
    {
      gboolean current = h == layout->current_head;
      if (!current && (layout->head_label_step <= 0 || h % layout->head_label_step != 0))
        continue;
      attnviz_painter_set_source (cr, &spec->foreground, current ? 1.0 : 0.75);
      g_snprintf (buf, sizeof buf, "%d", grid_index (spec->head_index, h));
      attnviz_painter_text_set (text, buf, ifs, current, 0);
      attnviz_painter_text_draw (text, g->x + (h + 0.5) * layout->pitch, g->y - LABEL_GAP_EMS * fs, 0.5, 1.0);
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
      double fs = attnviz_painter_font_size (spec->font_size);
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
      attnviz_painter_draw_colorbar (cr, &text, &layout.colorbar, spec->colormap, shared ? &scale : &relative, &cb,
                                     &spec->foreground);
    }

  attnviz_painter_draw_titles (cr, &text, spec->title, spec->subtitle, attnviz_painter_font_size (spec->font_size),
                               &layout.title, &layout.subtitle, &spec->foreground);
  attnviz_painter_text_clear (&text);
  cairo_restore (cr);
}
