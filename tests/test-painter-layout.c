/* test-painter-layout: heatmap and grid layouts (labels never overlap,
 * hit tests), their pixels, and PNG/SVG/PDF files written atomically */
#define G_LOG_DOMAIN "test-painter"
#include "config.h"

#include <math.h>
#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-painter-private.h"

/* ---- Painter ------------------------------------------------------------------ */

static gboolean
rects_overlap (const AttnvizRect *a, const AttnvizRect *b)
{
  const double eps = 1e-6;
  return a->x < b->x + b->width - eps && b->x < a->x + a->width - eps &&
         a->y < b->y + b->height - eps && b->y < a->y + a->height - eps;
}

static gboolean
rect_inside (const AttnvizRect *r, double width, double height)
{
  const double eps = 1e-6;
  return r->x >= -eps && r->y >= -eps && r->x + r->width <= width + eps && r->y + r->height <= height + eps;
}

/* Labels of very different lengths, with whitespace and a long word. */
static char **
make_labels (int n)
{
  static const char *words[] = {
    " the", "Once", "\n", " supercalifragilisticexpialidocious", "ir", ",", " 東京", "<|endoftext|>", "\t",
  };
  char **labels = g_new0 (char *, n + 1);
  for (int i = 0; i < n; i++)
    labels[i] = g_strdup_printf ("%s%d", words[i % G_N_ELEMENTS (words)], i);
  return labels;
}

static void
check_heatmap_labels (int rows, int cols, double width, double height, double font_size, int hl_row, int hl_col)
{
  g_autofree float *m = g_new0 (float, (gsize) rows * cols);
  g_auto(GStrv) row_labels = make_labels (rows);
  g_auto(GStrv) col_labels = make_labels (cols);
  AttnvizHeatmapSpec spec;
  attnviz_heatmap_spec_init (&spec, m, rows, cols);
  spec.row_labels = (const char *const *) row_labels;
  spec.col_labels = (const char *const *) col_labels;
  spec.title = "layer 3 · head 5";
  spec.subtitle = "a model · variant";
  spec.font_size = font_size;
  spec.highlight_row = hl_row;
  spec.highlight_col = hl_col;
  AttnvizHeatmapLayout layout;
  attnviz_heatmap_layout (&spec, width, height, &layout);

  g_autoptr(GArray) boxes = g_array_new (FALSE, FALSE, sizeof (AttnvizRect));
  int shown[2] = { 0, 0 };
  for (int axis = 0; axis < 2; axis++)
    {
      int n = axis == ATTNVIZ_AXIS_ROWS ? rows : cols;
      for (int i = 0; i < n; i++)
        {
          AttnvizRect r;
          if (!attnviz_heatmap_layout_label_rect (&layout, axis, i, &r))
            continue;
          shown[axis]++;
          g_assert_true (rect_inside (&r, width, height));
          g_assert_false (rects_overlap (&r, &layout.matrix));
          g_assert_false (rects_overlap (&r, &layout.title));
          g_assert_false (rects_overlap (&r, &layout.subtitle));
          g_assert_false (rects_overlap (&r, &layout.colorbar));
          for (guint k = 0; k < boxes->len; k++)
            if (rects_overlap (&r, &g_array_index (boxes, AttnvizRect, k)))
              g_error ("%dx%d in %gx%g at %gpt: %s label %d overlaps another", rows, cols, width, height,
                       font_size, axis == ATTNVIZ_AXIS_ROWS ? "row" : "column", i);
          g_array_append_val (boxes, r);
        }
    }
  /* The highlighted labels are always shown when any is. */
  if (layout.row_label_step > 0 && hl_row >= 0 && hl_row < rows)
    g_assert_true (attnviz_heatmap_layout_label_visible (&layout, ATTNVIZ_AXIS_ROWS, hl_row));
  /* Long labels are cut to their band. */
  double fs = font_size > 0 ? font_size : 10;
  g_assert_cmpfloat (layout.row_labels.width, <=, ATTNVIZ_PAINTER_MAX_LABEL_EMS * fs + 1e-9);
  g_assert_cmpfloat (layout.col_labels.height, <=, ATTNVIZ_PAINTER_MAX_LABEL_EMS * fs + 1e-9);
  g_assert_true (rect_inside (&layout.matrix, width, height));
  g_assert_cmpfloat (fabs (layout.matrix.width - cols * layout.cell), <, 1e-6);
  /* When cells are a line high, every label is shown. */
  if (layout.cell >= layout.label_extent)
    g_assert_cmpint (layout.row_label_step, ==, 1);
  if (rows == 12 && width >= 480)
    g_assert_cmpint (shown[0], ==, rows);
}

static void
test_labels_never_overlap (void)
{
  const int counts[] = { 1, 2, 7, 12, 33, 64, 100, 257, 1024 };
  const double sizes[][2] = { { 480, 460 }, { 1200, 1200 }, { 300, 200 }, { 200, 700 }, { 2400, 900 } };
  const double fonts[] = { 0, 6, 14 };
  for (guint c = 0; c < G_N_ELEMENTS (counts); c++)
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
      for (guint f = 0; f < G_N_ELEMENTS (fonts); f++)
        {
          int n = counts[c];
          check_heatmap_labels (n, n, sizes[s][0], sizes[s][1], fonts[f], -1, -1);
          check_heatmap_labels (n, n, sizes[s][0], sizes[s][1], fonts[f], n / 2 + 1 < n ? n / 2 + 1 : 0, n - 1);
          /* Cross-attention: not square. */
          check_heatmap_labels (n, MAX (1, n / 3), sizes[s][0], sizes[s][1], fonts[f], 0, -1);
        }
}

static void
test_hit_test_finds_cells (void)
{
  enum { R = 9, C = 13 };
  float m[R * C] = { 0 };
  g_auto(GStrv) labels = make_labels (C);
  AttnvizHeatmapSpec spec;
  attnviz_heatmap_spec_init (&spec, m, R, C);
  spec.row_labels = (const char *const *) labels;
  spec.col_labels = (const char *const *) labels;
  AttnvizHeatmapLayout layout;
  attnviz_heatmap_layout (&spec, 640, 480, &layout);
  for (int r = 0; r < R; r++)
    for (int c = 0; c < C; c++)
      {
        int hr, hc;
        g_assert_true (attnviz_heatmap_layout_hit (&layout, layout.matrix.x + (c + 0.5) * layout.cell,
                                                   layout.matrix.y + (r + 0.5) * layout.cell, &hr, &hc));
        g_assert_cmpint (hr, ==, r);
        g_assert_cmpint (hc, ==, c);
      }
  int hr, hc;
  g_assert_true (attnviz_heatmap_layout_hit (&layout, layout.row_labels.x + 1, layout.matrix.y + 2.5 * layout.cell, &hr, &hc));
  g_assert_cmpint (hr, ==, 2);
  g_assert_cmpint (hc, ==, -1);
  g_assert_true (attnviz_heatmap_layout_hit (&layout, layout.matrix.x + 4.5 * layout.cell, layout.col_labels.y + 1, &hr, &hc));
  g_assert_cmpint (hr, ==, -1);
  g_assert_cmpint (hc, ==, 4);
  g_assert_false (attnviz_heatmap_layout_hit (&layout, 1, 1, &hr, &hc));
  g_assert_cmpint (hr, ==, -1);
  g_assert_cmpint (hc, ==, -1);
}

static guint32
pixel_at (cairo_surface_t *s, double x, double y)
{
  int ix = (int) floor (x), iy = (int) floor (y);
  const guchar *data = cairo_image_surface_get_data (s);
  return *(const guint32 *) (data + (gsize) iy * cairo_image_surface_get_stride (s) + 4 * ix) | 0xff000000u;
}

static void
test_heatmap_of_causal_matrix_is_zero_above_diagonal (void)
{
  enum { T = 8 };
  float m[T * T] = { 0 };
  for (int i = 0; i < T; i++)
    for (int j = 0; j <= i; j++)
      m[i * T + j] = 1.0f / (i + 1);   /* row-normalised, every weight >= 1/8 */
  g_auto(GStrv) labels = make_labels (T);

  for (int map = 0; map < ATTNVIZ_N_COLORMAPS; map++)
    {
      AttnvizHeatmapSpec spec;
      attnviz_heatmap_spec_init (&spec, m, T, T);
      spec.row_labels = (const char *const *) labels;
      spec.col_labels = (const char *const *) labels;
      spec.title = "causal";
      spec.colormap = map;
      attnviz_scale_init (&spec.scale, ATTNVIZ_SCALE_LINEAR, 0, 1);
      spec.highlight_row = -1;

      cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 500, 420);
      cairo_t *cr = cairo_create (s);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      attnviz_paint_heatmap (cr, &spec, 500, 420);
      g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
      cairo_destroy (cr);
      cairo_surface_flush (s);

      AttnvizHeatmapLayout layout;
      attnviz_heatmap_layout (&spec, 500, 420, &layout);
      double rgb[3];
      attnviz_colormap_lookup (map, 0.0, rgb);
      guint32 zero = attnviz_colormap_pack (rgb);
      for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++)
          {
            guint32 px = pixel_at (s, layout.matrix.x + (j + 0.5) * layout.cell,
                                   layout.matrix.y + (i + 0.5) * layout.cell);
            if (j > i)
              g_assert_cmphex (px, ==, zero);
            else
              g_assert_cmphex (px, !=, zero);
          }
      /* The diagonal's first cell is the largest weight: the top colour. */
      attnviz_colormap_lookup (map, 1.0, rgb);
      g_assert_cmphex (pixel_at (s, layout.matrix.x + 0.5 * layout.cell, layout.matrix.y + 0.5 * layout.cell), ==,
                       attnviz_colormap_pack (rgb));
      cairo_surface_destroy (s);
    }
}

/* A sparse pattern's left-out cells are drawn in the no-data colour, as a
 * causal model's future is, and the cells it keeps in their weight's
 * colour, even a weight of 0. */
static void
test_a_patterns_left_out_cells_are_no_data (void)
{
  enum { T = 8 };
  float m[T * T] = { 0 };
  AttnvizPattern pattern = { .window = 3, .global = 1 };
  for (int i = 0; i < T; i++)
    for (int j = 0; j <= i; j++)
      m[i * T + j] = attnviz_pattern_allows (&pattern, i, j) && j != 1 ? 0.5f : 0.0f;
  AttnvizHeatmapSpec spec;
  attnviz_heatmap_spec_init (&spec, m, T, T);
  spec.colorbar = FALSE;
  spec.mask_future = TRUE;
  spec.pattern = pattern;
  attnviz_scale_init (&spec.scale, ATTNVIZ_SCALE_LINEAR, 0.0, 1.0);
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 400, 400);
  cairo_t *cr = cairo_create (s);
  attnviz_paint_heatmap (cr, &spec, 400, 400);
  cairo_destroy (cr);
  cairo_surface_flush (s);
  AttnvizHeatmapLayout layout;
  attnviz_heatmap_layout (&spec, 400, 400, &layout);
  double rgb[3];
  attnviz_colormap_nodata (spec.colormap, rgb);
  guint32 nodata = attnviz_colormap_pack (rgb);
  attnviz_colormap_lookup (spec.colormap, 0.0, rgb);
  guint32 zero = attnviz_colormap_pack (rgb);
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++)
      {
        guint32 px = pixel_at (s, layout.matrix.x + (j + 0.5) * layout.cell, layout.matrix.y + (i + 0.5) * layout.cell);
        gboolean hidden = j > i || !attnviz_pattern_allows (&pattern, i, j);
        if (hidden)
          g_assert_cmphex (px, ==, nodata);
        else if (j == 1)
          g_assert_cmphex (px, ==, zero);   /* kept, and 0: the colour of 0 */
        else
          g_assert_cmphex (px, !=, nodata);
      }
  cairo_surface_destroy (s);
}

/* The table-driven colouring of log and power scales agrees with
 * colormap (scale_map (v)) to one level of the colour table. */
static void
test_colorizer_agrees_with_the_scale (void)
{
  GRand *rand = g_rand_new_with_seed (7);
  for (int kind = 0; kind < ATTNVIZ_N_SCALES; kind++)
    {
      AttnvizScale s;
      attnviz_scale_init (&s, kind, 0, 0.9);
      AttnvizColorizer fast, slow;
      attnviz_colorizer_init (&fast, &s, ATTNVIZ_COLORMAP_GREY, 1u << 20);
      attnviz_colorizer_init (&slow, &s, ATTNVIZ_COLORMAP_GREY, 0);
      for (int i = 0; i < 100000; i++)
        {
          float v = (float) pow (10, g_rand_double_range (rand, -9, 0.1));
          guint32 a = attnviz_colorizer_pixel (&fast, v) & 0xff;
          guint32 b = attnviz_colorizer_pixel (&slow, v) & 0xff;
          double rgb[3];
          attnviz_colormap_lookup (ATTNVIZ_COLORMAP_GREY, attnviz_scale_map (&s, v), rgb);
          int want = (int) lround (rgb[0] * 255);
          g_assert_cmpint (abs ((int) a - want), <=, 1);
          g_assert_cmpint (abs ((int) b - want), <=, 1);
        }
      g_assert_cmphex (attnviz_colorizer_pixel (&fast, NAN), ==, fast.nodata);
      attnviz_colorizer_clear (&fast);
      attnviz_colorizer_clear (&slow);
    }
  g_rand_free (rand);
}

static void
test_grid_max_pooling_keeps_a_single_spike (void)
{
  enum { NL = 3, NH = 4, T = 1024 };
  float *zero = g_new0 (float, (gsize) T * T);
  float *spike = g_new0 (float, (gsize) T * T);
  spike[(gsize) 700 * T + 300] = 0.9f;
  const float *maps[NL * NH];
  for (int k = 0; k < NL * NH; k++)
    maps[k] = k == 5 ? spike : zero;

  AttnvizGridSpec spec;
  attnviz_grid_spec_init (&spec, NL, NH, maps, T, T);
  spec.lower_triangular = TRUE;
  attnviz_scale_init (&spec.scale, ATTNVIZ_SCALE_LINEAR, 0, 0.9);
  spec.current_layer = 1;
  spec.current_head = 1;
  spec.title = "every head";
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 600, 480);
  cairo_t *cr = cairo_create (s);
  attnviz_paint_grid (cr, &spec, 600, 480);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (s);

  AttnvizGridLayout layout;
  attnviz_grid_layout (&spec, 600, 480, &layout);
  AttnvizRect r;
  g_assert_true (attnviz_grid_layout_cell_rect (&layout, 1, 1, &r));
  double top[3], bottom[3];
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_VIRIDIS, 1.0, top);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_VIRIDIS, 0.0, bottom);
  /* The spike, 1 cell in a million, survives as a full-colour pixel where
   * it should be (give or take the pixel a block rounds to). */
  double x = r.x + (300.5 / T) * r.width, y = r.y + (700.5 / T) * r.height;
  gboolean found = FALSE;
  for (int dy = -2; dy <= 2; dy++)
    for (int dx = -2; dx <= 2; dx++)
      found |= pixel_at (s, x + dx, y + dy) == attnviz_colormap_pack (top);
  g_assert_true (found);
  /* Above the diagonal the future is masked: no data, as on a heatmap;
   * below it an unwatched key is the colour of 0. */
  double nodata[3];
  attnviz_colormap_nodata (ATTNVIZ_COLORMAP_VIRIDIS, nodata);
  g_assert_cmphex (pixel_at (s, r.x + r.width / 2, r.y + 2), ==, attnviz_colormap_pack (nodata));
  g_assert_cmphex (pixel_at (s, r.x + 2, r.y + r.height - 3), ==, attnviz_colormap_pack (bottom));
  AttnvizRect r0;
  attnviz_grid_layout_cell_rect (&layout, 0, 0, &r0);
  g_assert_cmphex (pixel_at (s, r0.x + (300.5 / T) * r0.width, r0.y + (700.5 / T) * r0.height), ==,
                   attnviz_colormap_pack (bottom));

  int l, h;
  g_assert_true (attnviz_grid_layout_hit (&layout, r.x + r.width / 2, r.y + r.height / 2, &l, &h));
  g_assert_cmpint (l, ==, 1);
  g_assert_cmpint (h, ==, 1);
  g_assert_false (attnviz_grid_layout_hit (&layout, 0, 0, &l, &h));
  cairo_surface_destroy (s);
  g_free (zero);
  g_free (spike);
}

/* L x H random causal maps of T tokens, rows summing to 1. */
static float *
random_causal_maps (int n_maps, int T, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);
  float *maps = g_new0 (float, (gsize) n_maps * T * T);
  for (int k = 0; k < n_maps; k++)
    for (int i = 0; i < T; i++)
      {
        float *row = maps + ((gsize) k * T + i) * T;
        double sum = 0;
        for (int j = 0; j <= i; j++)
          sum += row[j] = (float) g_rand_double (rand);
        for (int j = 0; j <= i; j++)
          row[j] /= (float) sum;
      }
  g_rand_free (rand);
  return maps;
}

/* A grid of dense maps painted on a white image of W x H. */
static cairo_surface_t *
paint_grid_image (const AttnvizGridSpec *spec, int w, int h)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create (s);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  attnviz_paint_grid (cr, spec, w, h);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (s);
  return s;
}

static void
test_grid_draws_the_masked_future_as_no_data (void)
{
  enum { T = 6 };
  g_autofree float *m = random_causal_maps (1, T, 3);
  const float *maps[] = { m };
  AttnvizGridSpec spec;
  attnviz_grid_spec_init (&spec, 1, 1, maps, T, T);
  spec.lower_triangular = TRUE;
  attnviz_scale_init (&spec.scale, ATTNVIZ_SCALE_LINEAR, 0, 1);
  cairo_surface_t *s = paint_grid_image (&spec, 300, 300);

  AttnvizGridLayout layout;
  AttnvizRect r;
  attnviz_grid_layout (&spec, 300, 300, &layout);
  g_assert_true (attnviz_grid_layout_cell_rect (&layout, 0, 0, &r));
  AttnvizColorizer c;
  attnviz_colorizer_init (&c, &spec.scale, spec.colormap, 0);
  double nodata[3];
  attnviz_colormap_nodata (spec.colormap, nodata);
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++)
      {
        guint32 got = pixel_at (s, r.x + (j + 0.5) * r.width / T, r.y + (i + 0.5) * r.height / T);
        /* The heatmap's grey where a key comes after the query, never
         * the colour of 0 (which a weight can be). */
        guint32 want = j > i ? attnviz_colormap_pack (nodata) : attnviz_colorizer_pixel (&c, m[i * T + j]) | 0xff000000u;
        g_assert_cmphex (got, ==, want);
      }
  attnviz_colorizer_clear (&c);
  cairo_surface_destroy (s);
}

/* The column after the heads holds each layer's heads combined, pixel by
 * pixel: for DATA's aggregate, the mean or the max computed here. */
static void
test_grid_aggregate_column_combines_the_heads (gconstpointer data)
{
  AttnvizGridAggregate aggregate = GPOINTER_TO_INT (data);
  enum { NL = 2, NH = 3, T = 5 };
  g_autofree float *m = random_causal_maps (NL * NH, T, 7);
  const float *maps[NL * NH];
  for (int k = 0; k < NL * NH; k++)
    maps[k] = m + (gsize) k * T * T;
  AttnvizGridSpec spec;
  attnviz_grid_spec_init (&spec, NL, NH, maps, T, T);
  spec.lower_triangular = TRUE;
  attnviz_scale_init (&spec.scale, ATTNVIZ_SCALE_LINEAR, 0, 1);

  /* None asked for: no column. */
  AttnvizGridLayout layout;
  AttnvizRect r;
  attnviz_grid_layout (&spec, 600, 300, &layout);
  g_assert_cmpfloat (layout.aggregate.width, ==, 0);
  g_assert_false (attnviz_grid_layout_aggregate_rect (&layout, 0, &r));

  spec.aggregate = aggregate;
  attnviz_grid_layout (&spec, 600, 300, &layout);
  cairo_surface_t *s = paint_grid_image (&spec, 600, 300);
  AttnvizColorizer c;
  attnviz_colorizer_init (&c, &spec.scale, spec.colormap, 0);
  double nodata[3];
  attnviz_colormap_nodata (spec.colormap, nodata);
  AttnvizRect last;
  g_assert_true (attnviz_grid_layout_cell_rect (&layout, 0, NH - 1, &last));
  for (int l = 0; l < NL; l++)
    {
      g_assert_true (attnviz_grid_layout_aggregate_rect (&layout, l, &r));
      /* After the last head, apart from it. */
      g_assert_cmpfloat (r.x, >, last.x + last.width + 0.1 * layout.pitch);
      int hit = -1;
      g_assert_true (attnviz_grid_layout_hit_aggregate (&layout, r.x + r.width / 2, r.y + r.height / 2, &hit));
      g_assert_cmpint (hit, ==, l);
      for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++)
          {
            double v = aggregate == ATTNVIZ_GRID_AGGREGATE_MAX ? -INFINITY : 0;
            for (int h = 0; h < NH; h++)
              {
                float w = maps[l * NH + h][i * T + j];
                v = aggregate == ATTNVIZ_GRID_AGGREGATE_MAX ? MAX (v, w) : v + w / NH;
              }
            guint32 want = j > i ? attnviz_colormap_pack (nodata) : attnviz_colorizer_pixel (&c, (float) v) | 0xff000000u;
            g_assert_cmphex (pixel_at (s, r.x + (j + 0.5) * r.width / T, r.y + (i + 0.5) * r.height / T), ==, want);
          }
    }
  attnviz_colorizer_clear (&c);
  cairo_surface_destroy (s);
}

static void
test_grid_labels_grow_with_the_thumbnails_within_bounds (void)
{
  enum { NL = 12, NH = 12, T = 4 };
  const float *maps[NL * NH] = { NULL };
  AttnvizGridSpec spec;
  attnviz_grid_spec_init (&spec, NL, NH, maps, T, T);
  spec.font_size = 11;
  AttnvizGridLayout fixed_small, fixed_big, small, big, huge;
  attnviz_grid_layout (&spec, 800, 600, &fixed_small);
  attnviz_grid_layout (&spec, 1600, 1000, &fixed_big);
  /* A figure for a page keeps its font size at any size. */
  g_assert_cmpfloat (fixed_small.font_size, ==, fixed_big.font_size);

  spec.max_font_size = 18;
  attnviz_grid_layout (&spec, 500, 350, &small);
  attnviz_grid_layout (&spec, 1600, 1000, &big);
  attnviz_grid_layout (&spec, 8000, 6000, &huge);
  g_test_message ("index labels: %.1f at 500 x 350, %.1f at 1600 x 1000, %.1f at 8000 x 6000",
                  small.font_size, big.font_size, huge.font_size);
  g_assert_cmpfloat (small.font_size, ==, fixed_small.font_size);   /* never under the spec's */
  g_assert_cmpfloat (big.font_size, >, 1.2 * small.font_size);
  g_assert_cmpfloat (big.label_font_size, >, 11);
  g_assert_cmpfloat_with_epsilon (huge.label_font_size, 18, 1e-9);   /* nor over the bound */
  /* Still the labels of a grid that fits. */
  g_assert_cmpfloat (big.grid.x + big.grid.width, <=, 1600);
  g_assert_cmpfloat (big.grid.y + big.grid.height, <=, 1000);
}

static void
test_grid_of_scores_and_lines_draw (void)
{
  enum { NL = 4, NH = 6, T = 10 };
  double scores[NL * NH];
  for (int k = 0; k < NL * NH; k++)
    scores[k] = (k - 12) / 12.0;
  scores[3] = NAN;
  AttnvizGridSpec grid;
  attnviz_grid_spec_init (&grid, NL, NH, NULL, 0, 0);
  grid.scores = scores;
  grid.colormap = ATTNVIZ_COLORMAP_RDBU;

  float m[T * T] = { 0 };
  for (int i = 0; i < T; i++)
    for (int j = 0; j <= i; j++)
      m[i * T + j] = 1.0f / (i + 1);
  g_auto(GStrv) labels = make_labels (T);
  AttnvizLinesSpec lines;
  attnviz_lines_spec_init (&lines, m, T, T);
  lines.row_labels = (const char *const *) labels;
  lines.col_labels = (const char *const *) labels;
  lines.highlight_row = 4;

  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 400, 300);
  cairo_t *cr = cairo_create (s);
  attnviz_paint_grid (cr, &grid, 400, 300);
  attnviz_paint_lines (cr, &lines, 400, 300);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_destroy (s);

  AttnvizLinesLayout layout;
  attnviz_lines_layout (&lines, 400, 300, &layout);
  AttnvizAxis axis;
  int index;
  g_assert_true (attnviz_lines_layout_hit (&layout, layout.right.x + 1, layout.right.y + 3.5 * layout.right_pitch,
                                           &axis, &index));
  g_assert_cmpint (axis, ==, ATTNVIZ_AXIS_COLS);
  g_assert_cmpint (index, ==, 3);
  g_assert_true (attnviz_lines_layout_hit (&layout, layout.left.x + 1, layout.left.y + 0.5 * layout.left_pitch,
                                           &axis, &index));
  g_assert_cmpint (axis, ==, ATTNVIZ_AXIS_ROWS);
  g_assert_cmpint (index, ==, 0);
}

static gboolean
file_starts_with (const char *path, const char *prefix, const char *contains)
{
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return len >= strlen (prefix) && memcmp (data, prefix, strlen (prefix)) == 0 &&
         (contains == NULL || g_strstr_len (data, MIN (len, 4096), contains) != NULL);
}

static void
test_png_svg_pdf_are_written_atomically (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-painter-XXXXXX", &error);
  g_assert_no_error (error);

  enum { T = 6 };
  float m[T * T] = { 0 };
  for (int i = 0; i < T; i++)
    for (int j = 0; j <= i; j++)
      m[i * T + j] = 1.0f / (i + 1);
  g_auto(GStrv) labels = make_labels (T);
  AttnvizHeatmapSpec spec;
  attnviz_heatmap_spec_init (&spec, m, T, T);
  spec.row_labels = (const char *const *) labels;
  spec.col_labels = (const char *const *) labels;
  spec.title = "layer 0 · head 0";

  g_autofree char *png = g_build_filename (dir, "figure.png", NULL);
  g_autofree char *svg = g_build_filename (dir, "figure.svg", NULL);
  g_autofree char *pdf = g_build_filename (dir, "figure.pdf", NULL);
  /* Twice: the second write replaces the first. */
  for (int round = 0; round < 2; round++)
    {
      g_assert_true (attnviz_paint_to_file (png, ATTNVIZ_FIGURE_HEATMAP, &spec, 300, 250, &error));
      g_assert_no_error (error);
      g_assert_true (attnviz_paint_to_file (svg, ATTNVIZ_FIGURE_HEATMAP, &spec, 300, 250, &error));
      g_assert_no_error (error);
      g_assert_true (attnviz_paint_to_file (pdf, ATTNVIZ_FIGURE_HEATMAP, &spec, 300, 250, &error));
      g_assert_no_error (error);
    }

  cairo_surface_t *back = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (back), ==, CAIRO_STATUS_SUCCESS);
  /* 300 dpi */
  g_assert_cmpint (cairo_image_surface_get_width (back), ==, 1250);
  g_assert_cmpint (cairo_image_surface_get_height (back), ==, 1042);
  cairo_surface_destroy (back);
  g_assert_true (file_starts_with (svg, "<?xml", "<svg"));
  g_assert_true (file_starts_with (pdf, "%PDF", NULL));

  /* Nothing but the three figures is left in the folder. */
  GDir *d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  int n = 0;
  for (const char *name; (name = g_dir_read_name (d)) != NULL; n++)
    g_assert_true (g_str_has_prefix (name, "figure.") && name[0] != '.');
  g_dir_close (d);
  g_assert_cmpint (n, ==, 3);

  /* A folder that does not exist: an error naming it, no file. */
  g_autofree char *missing = g_build_filename (dir, "no-such-folder", "figure.png", NULL);
  g_assert_false (attnviz_paint_to_file (missing, ATTNVIZ_FIGURE_HEATMAP, &spec, 300, 250, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "no-such-folder"));
  g_assert_null (strchr (error->message, '\n'));
  g_clear_error (&error);

  /* An unknown extension: an error naming the file, nothing written. */
  g_autofree char *bmp = g_build_filename (dir, "figure.bmp", NULL);
  g_assert_false (attnviz_paint_to_file (bmp, ATTNVIZ_FIGURE_HEATMAP, &spec, 300, 250, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "figure.bmp"));
  g_clear_error (&error);
  g_assert_false (g_file_test (bmp, G_FILE_TEST_EXISTS));

  g_unlink (png);
  g_unlink (svg);
  g_unlink (pdf);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ui/painter/labels-never-overlap", test_labels_never_overlap);
  g_test_add_func ("/ui/painter/a-patterns-left-out-cells-are-no-data", test_a_patterns_left_out_cells_are_no_data);
  g_test_add_func ("/ui/painter/hit-test-finds-cells-and-labels", test_hit_test_finds_cells);
  g_test_add_func ("/ui/painter/heatmap-of-causal-matrix-is-zero-above-diagonal",
                   test_heatmap_of_causal_matrix_is_zero_above_diagonal);
  g_test_add_func ("/ui/painter/colorizer-agrees-with-the-scale", test_colorizer_agrees_with_the_scale);
  g_test_add_func ("/ui/painter/grid-max-pooling-keeps-a-single-spike", test_grid_max_pooling_keeps_a_single_spike);
  g_test_add_func ("/ui/painter/grid-of-scores-and-lines-draw", test_grid_of_scores_and_lines_draw);
  g_test_add_func ("/ui/painter/grid-draws-the-masked-future-as-no-data", test_grid_draws_the_masked_future_as_no_data);
  g_test_add_data_func ("/ui/painter/grid-mean-column-is-the-mean-of-each-layers-heads",
                        GINT_TO_POINTER (ATTNVIZ_GRID_AGGREGATE_MEAN), test_grid_aggregate_column_combines_the_heads);
  g_test_add_data_func ("/ui/painter/grid-max-column-is-the-max-of-each-layers-heads",
                        GINT_TO_POINTER (ATTNVIZ_GRID_AGGREGATE_MAX), test_grid_aggregate_column_combines_the_heads);
  g_test_add_func ("/ui/painter/grid-labels-grow-with-the-thumbnails-within-bounds",
                   test_grid_labels_grow_with_the_thumbnails_within_bounds);
  g_test_add_func ("/ui/painter/png-svg-pdf-are-written-atomically", test_png_svg_pdf_are_written_atomically);

  return g_test_run ();
}
