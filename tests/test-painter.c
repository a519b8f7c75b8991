/* test-painter: colour maps, scales, the figures' layouts and files */
#define G_LOG_DOMAIN "test-painter"
#include "config.h"

#include <math.h>
#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-painter-private.h"

/* ---- Colour maps ------------------------------------------------------------ */

static void
assert_rgb (const double rgb[3], double r, double g, double b)
{
  g_assert_cmpfloat_with_epsilon (rgb[0], r, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[1], g, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[2], b, 1e-6);
}

static void
test_viridis_ends_match_matplotlib (void)
{
  double rgb[3];
  /* matplotlib _cm_listed._viridis_data[0], [128] and [255] */
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_VIRIDIS, 0.0, rgb);
  assert_rgb (rgb, 0.267004, 0.004874, 0.329415);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_VIRIDIS, 128.0 / 255.0, rgb);
  assert_rgb (rgb, 0.127568, 0.566949, 0.550556);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_VIRIDIS, 1.0, rgb);
  assert_rgb (rgb, 0.993248, 0.906157, 0.143936);
  /* _magma_data[0] and [255] */
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_MAGMA, 0.0, rgb);
  assert_rgb (rgb, 0.001462, 0.000466, 0.013866);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_MAGMA, 1.0, rgb);
  assert_rgb (rgb, 0.987053, 0.991438, 0.749504);
}

static void
test_grey_and_diverging_ends (void)
{
  double rgb[3];
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_GREY, 0.0, rgb);
  assert_rgb (rgb, 1, 1, 1);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_GREY, 1.0, rgb);
  assert_rgb (rgb, 0, 0, 0);

  /* rdbu: blue below, near-white in the middle, red above. */
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_RDBU, 0.0, rgb);
  g_assert_cmpfloat (rgb[2], >, 2 * rgb[0]);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_RDBU, 0.5, rgb);
  for (int c = 0; c < 3; c++)
    g_assert_cmpfloat (rgb[c], >, 0.95);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_RDBU, 1.0, rgb);
  g_assert_cmpfloat (rgb[0], >, 2 * rgb[2]);
  g_assert_true (attnviz_colormap_is_diverging (ATTNVIZ_COLORMAP_RDBU));
  g_assert_false (attnviz_colormap_is_diverging (ATTNVIZ_COLORMAP_VIRIDIS));
}

static void
test_colormap_clamps_and_marks_nan (void)
{
  for (int m = 0; m < ATTNVIZ_N_COLORMAPS; m++)
    {
      double lo[3], below[3], hi[3], above[3], nan_rgb[3];
      attnviz_colormap_lookup (m, 0.0, lo);
      attnviz_colormap_lookup (m, -3.0, below);
      attnviz_colormap_lookup (m, 1.0, hi);
      attnviz_colormap_lookup (m, 7.0, above);
      attnviz_colormap_lookup (m, NAN, nan_rgb);
      g_assert_cmpmem (lo, sizeof lo, below, sizeof below);
      g_assert_cmpmem (hi, sizeof hi, above, sizeof above);
      /* "No data" is no colour of the map: look for it along the map. */
      double nearest = INFINITY;
      for (int i = 0; i <= 1024; i++)
        {
          double rgb[3];
          attnviz_colormap_lookup (m, i / 1024.0, rgb);
          double d = fabs (rgb[0] - nan_rgb[0]) + fabs (rgb[1] - nan_rgb[1]) + fabs (rgb[2] - nan_rgb[2]);
          nearest = MIN (nearest, d);
        }
      g_test_message ("%s: no-data colour is %.3f from the map", attnviz_colormap_to_string (m), nearest);
      g_assert_cmpfloat (nearest, >, 0.1);
    }
}

static void
test_colormap_names_round_trip (void)
{
  for (int m = 0; m < ATTNVIZ_N_COLORMAPS; m++)
    {
      AttnvizColormap back;
      g_assert_true (attnviz_colormap_from_string (attnviz_colormap_to_string (m), &back));
      g_assert_cmpint (back, ==, m);
    }
  AttnvizColormap map;
  g_assert_true (attnviz_colormap_from_string ("Gray", &map));
  g_assert_cmpint (map, ==, ATTNVIZ_COLORMAP_GREY);
  g_assert_true (attnviz_colormap_from_string ("diverging", &map));
  g_assert_cmpint (map, ==, ATTNVIZ_COLORMAP_RDBU);
  g_assert_false (attnviz_colormap_from_string ("jet", &map));
}

/* ---- Scales ------------------------------------------------------------------ */

static void
test_log_maps_floor_to_zero (void)
{
  AttnvizScale s;
  attnviz_scale_init (&s, ATTNVIZ_SCALE_LOG, 0, 1);
  g_assert_cmpfloat (attnviz_scale_map (&s, 1e-4), ==, 0.0);
  g_assert_cmpfloat (attnviz_scale_map (&s, 1e-7), ==, 0.0);
  g_assert_cmpfloat (attnviz_scale_map (&s, 0.0), ==, 0.0);
  g_assert_cmpfloat (attnviz_scale_map (&s, -1.0), ==, 0.0);
  g_assert_cmpfloat_with_epsilon (attnviz_scale_map (&s, 1e-2), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (attnviz_scale_map (&s, 1.0), 1.0, 1e-12);
  g_assert_true (isnan (attnviz_scale_map (&s, NAN)));

  /* A positive vmin is the floor. */
  attnviz_scale_init (&s, ATTNVIZ_SCALE_LOG, 1e-3, 1e-1);
  g_assert_cmpfloat (attnviz_scale_map (&s, 1e-3), ==, 0.0);
  g_assert_cmpfloat_with_epsilon (attnviz_scale_map (&s, 1e-2), 0.5, 1e-12);
}

static void
test_linear_and_power_map_ends (void)
{
  AttnvizScale s;
  attnviz_scale_init (&s, ATTNVIZ_SCALE_LINEAR, -2, 2);
  g_assert_cmpfloat (attnviz_scale_map (&s, -2), ==, 0.0);
  g_assert_cmpfloat (attnviz_scale_map (&s, 0), ==, 0.5);
  g_assert_cmpfloat (attnviz_scale_map (&s, 5), ==, 1.0);

  attnviz_scale_init (&s, ATTNVIZ_SCALE_POWER, 0, 1);
  g_assert_cmpfloat_with_epsilon (attnviz_scale_map (&s, 0.25), 0.5, 1e-12);
  s.gamma = 2;
  g_assert_cmpfloat_with_epsilon (attnviz_scale_map (&s, 0.5), 0.25, 1e-12);
  g_assert_cmpfloat (attnviz_scale_map (&s, -0.1), ==, 0.0);
}

static void
test_unmap_inverts_map (void)
{
  for (int k = 0; k < ATTNVIZ_N_SCALES; k++)
    {
      AttnvizScale s;
      attnviz_scale_init (&s, k, 0, 0.8);
      for (int i = 1; i < 10; i++)
        {
          double t = i / 10.0;
          g_assert_cmpfloat_with_epsilon (attnviz_scale_map (&s, attnviz_scale_unmap (&s, t)), t, 1e-9);
        }
    }
}

static void
test_fit_takes_the_data_range (void)
{
  const float data[] = { 0.5f, NAN, -0.25f, 2.0f, INFINITY };
  AttnvizScale s = { 0 };
  attnviz_scale_fit (&s, data, G_N_ELEMENTS (data), FALSE);
  g_assert_cmpfloat (s.vmin, ==, -0.25);
  g_assert_cmpfloat (s.vmax, ==, 2.0);

  AttnvizScale d = { 0 };
  attnviz_scale_fit (&d, data, G_N_ELEMENTS (data), TRUE);
  g_assert_cmpfloat (d.vmin, ==, -2.0);
  g_assert_cmpfloat (d.vmax, ==, 2.0);

  /* A set range stays. */
  AttnvizScale set;
  attnviz_scale_init (&set, ATTNVIZ_SCALE_LINEAR, 0, 1);
  attnviz_scale_fit (&set, data, G_N_ELEMENTS (data), FALSE);
  g_assert_cmpfloat (set.vmax, ==, 1.0);
}

static void
assert_ticks (AttnvizScaleKind kind, double vmin, double vmax, int max_ticks, const char *expected)
{
  AttnvizScale s;
  double ticks[16];
  attnviz_scale_init (&s, kind, vmin, vmax);
  int n = attnviz_scale_ticks (&s, max_ticks, ticks);
  g_assert_cmpint (n, <=, max_ticks);
  g_auto(GStrv) labels = attnviz_scale_tick_labels (&s, ticks, n);
  g_autofree char *joined = g_strjoinv (" ", labels);
  g_test_message ("%s [%g, %g]: %s", attnviz_scale_kind_to_string (kind), vmin, vmax, joined);
  g_assert_cmpstr (joined, ==, expected);
  for (int i = 1; i < n; i++)
    g_assert_cmpfloat (ticks[i], >, ticks[i - 1]);
}

static void
test_linear_ticks_are_nice_numbers (void)
{
  assert_ticks (ATTNVIZ_SCALE_LINEAR, 0, 1, 6, "0.0 0.2 0.4 0.6 0.8 1.0");
  assert_ticks (ATTNVIZ_SCALE_LINEAR, 0, 1, 5, "0.00 0.25 0.50 0.75 1.00");
  assert_ticks (ATTNVIZ_SCALE_LINEAR, 0, 0.37, 5, "0.0 0.1 0.2 0.3");
  assert_ticks (ATTNVIZ_SCALE_LINEAR, -1, 1, 5, "−1.0 −0.5 0.0 0.5 1.0");
  assert_ticks (ATTNVIZ_SCALE_LINEAR, 0, 250, 4, "0 100 200");
}

/* Every colour bar labels its two ends, a log one in one notation, and
 * the range mode's caption sits under the bar, inside the matrix's height. */
static void
test_colour_bars_label_both_ends (void)
{
  float m[36];
  for (int i = 0; i < 36; i++)
    m[i] = 0.8734f * i / 35;
  for (int kind = 0; kind < ATTNVIZ_N_SCALES; kind++)
    {
      AttnvizHeatmapSpec spec;
      attnviz_heatmap_spec_init (&spec, m, 6, 6);
      attnviz_scale_init (&spec.scale, kind, 0, 0.8734);
      AttnvizHeatmapLayout layout;
      attnviz_heatmap_layout (&spec, 300, 280, &layout);
      int n = layout.colorbar_n_ticks;
      double lo, hi;
      attnviz_scale_get_bounds (&spec.scale, &lo, &hi);
      g_assert_cmpint (n, >=, 3);
      g_assert_cmpfloat (layout.colorbar_ticks[0], ==, lo);
      g_assert_cmpfloat (layout.colorbar_ticks[n - 1], ==, hi);
      g_auto(GStrv) labels = attnviz_scale_tick_labels (&spec.scale, layout.colorbar_ticks, n);
      g_autofree char *joined = g_strjoinv (" ", labels);
      g_test_message ("%s: %s", attnviz_scale_kind_to_string (kind), joined);
      if (kind == ATTNVIZ_SCALE_LOG)
        {
          g_assert_cmpstr (labels[n - 1], ==, "8.7×10⁻¹");
          for (int i = 0; i < n; i++)
            g_assert_nonnull (strstr (labels[i], "10"));
        }
      else
        g_assert_cmpstr (labels[n - 1], ==, "0.87");

      /* The caption takes its line under the bar, within the matrix's height. */
      g_assert_cmpfloat_with_epsilon (layout.colorbar.y + layout.colorbar.height,
                                      layout.matrix.y + layout.matrix.height, 1e-9);
      spec.scale_caption = "per layer";
      attnviz_heatmap_layout (&spec, 300, 280, &layout);
      g_assert_cmpfloat (layout.colorbar.y + layout.colorbar.height, <,
                         layout.matrix.y + layout.matrix.height - layout.font_size);
      g_assert_cmpfloat (layout.colorbar.x + 4 * layout.font_size, <, 300);
    }
}

/* What an SVG's <text> elements say: each one's content, and whether it
 * is rotated. */
typedef struct {
  GPtrArray *texts;      /* char *, in order */
  GPtrArray *rotations;  /* char * of the transform, "" when upright */
  gboolean in_text;
  GString *current;
  const char *transform;
} SvgTexts;

static void
svg_start (GMarkupParseContext *context, const char *element, const char **names, const char **values,
           gpointer data, GError **error)
{
  SvgTexts *t = data;
  if (strcmp (element, "text") != 0)
    return;
  t->in_text = TRUE;
  g_string_truncate (t->current, 0);
  const char *transform = "";
  for (int i = 0; names[i]; i++)
    if (strcmp (names[i], "transform") == 0)
      transform = values[i];
  g_ptr_array_add (t->rotations, g_strdup (transform));
}

static void
svg_end (GMarkupParseContext *context, const char *element, gpointer data, GError **error)
{
  SvgTexts *t = data;
  if (strcmp (element, "text") == 0 && t->in_text)
    {
      g_ptr_array_add (t->texts, g_strdup (t->current->str));
      t->in_text = FALSE;
    }
}

static void
svg_chars (GMarkupParseContext *context, const char *text, gsize len, gpointer data, GError **error)
{
  SvgTexts *t = data;
  if (t->in_text)
    g_string_append_len (t->current, text, len);
}

/* The index of the <text> saying STR, or -1. */
static int
svg_find (const SvgTexts *t, const char *str)
{
  for (guint i = 0; i < t->texts->len; i++)
    if (strcmp (g_ptr_array_index (t->texts, i), str) == 0)
      return (int) i;
  return -1;
}

/* An SVG keeps its text as text: the title, the subtitle, token labels
 * (a one-character key upright, a longer one rotated), the colour bar's
 * ticks and caption are <text> elements of a well-formed document; a PNG
 * is the very pixels the painter draws on screen, and a PDF keeps its
 * fonts. */
static void
test_svg_keeps_text_as_text (void)
{
  static const char *const labels[] = { "The", "q", "<b>&", "fox", NULL };
  float m[16];
  for (int i = 0; i < 16; i++)
    m[i] = (float) (i % 5) / 4.0f;
  AttnvizHeatmapSpec spec;
  attnviz_heatmap_spec_init (&spec, m, 4, 4);
  spec.row_labels = spec.col_labels = labels;
  spec.title = "gpt2 · layer 1 · head 2";
  spec.subtitle = "12 tokens · colours: per layer";
  spec.scale_caption = "per layer";
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-painter-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *svg = g_build_filename (dir, "h.svg", NULL);
  g_autofree char *png = g_build_filename (dir, "h.png", NULL);
  g_autofree char *pdf = g_build_filename (dir, "h.pdf", NULL);
  g_assert_true (attnviz_paint_to_file (svg, ATTNVIZ_FIGURE_HEATMAP, &spec, 300, 250, &error));
  g_assert_true (attnviz_paint_to_file (png, ATTNVIZ_FIGURE_HEATMAP, &spec, 300, 250, &error));
  g_assert_true (attnviz_paint_to_file (pdf, ATTNVIZ_FIGURE_HEATMAP, &spec, 300, 250, &error));
  g_assert_no_error (error);

  g_autofree char *xml = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (svg, &xml, &len, NULL));
  SvgTexts t = { g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free), FALSE,
                 g_string_new (NULL), NULL };
  GMarkupParser parser = { svg_start, svg_end, svg_chars, NULL, NULL };
  GMarkupParseContext *context = g_markup_parse_context_new (&parser, 0, &t, NULL);
  g_assert_true (g_markup_parse_context_parse (context, xml, len, &error));
  g_assert_true (g_markup_parse_context_end_parse (context, &error));
  g_assert_no_error (error);
  g_markup_parse_context_free (context);

  g_assert_cmpint (svg_find (&t, "gpt2 · layer 1 · head 2"), >=, 0);
  g_assert_cmpint (svg_find (&t, "12 tokens · colours: per layer"), >=, 0);
  g_assert_cmpint (svg_find (&t, "per layer"), >=, 0);
  g_assert_cmpint (svg_find (&t, "1.0"), >=, 0);
  g_assert_cmpint (svg_find (&t, "<b>&"), >=, 0);   /* escaped, read back */
  /* Row labels upright, then column labels: "fox" rotated, "q" upright. */
  g_assert_cmpint (svg_find (&t, "fox"), >=, 0);
  int col_fox = -1, col_q = -1;
  for (guint i = 0; i < t.texts->len; i++)
    {
      if (strcmp (g_ptr_array_index (t.texts, i), "fox") == 0)
        col_fox = (int) i;
      if (strcmp (g_ptr_array_index (t.texts, i), "q") == 0)
        col_q = (int) i;
    }
  g_assert_nonnull (strstr (g_ptr_array_index (t.rotations, col_fox), "rotate(-90"));
  g_assert_cmpstr (g_ptr_array_index (t.rotations, col_q), ==, "");
  g_assert_null (strstr (xml, "<symbol"));   /* no glyph outlines left */

  /* The PNG: the painter's pixels at 300 dpi on white, as drawn directly. */
  cairo_surface_t *file = cairo_image_surface_create_from_png (png);
  int w = cairo_image_surface_get_width (file), h = cairo_image_surface_get_height (file);
  cairo_surface_t *direct = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create (direct);
  cairo_scale (cr, w / 300.0, w / 300.0);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  attnviz_paint_figure (cr, ATTNVIZ_FIGURE_HEATMAP, &spec, 300, 250);
  cairo_destroy (cr);
  cairo_surface_flush (file);
  cairo_surface_flush (direct);
  for (int y = 0; y < h; y++)
    {
      const guint32 *a = (const guint32 *) (cairo_image_surface_get_data (file) + y * cairo_image_surface_get_stride (file));
      const guint32 *b = (const guint32 *) (cairo_image_surface_get_data (direct) + y * cairo_image_surface_get_stride (direct));
      for (int x = 0; x < w; x++)
        g_assert_cmphex (a[x] & 0xffffff, ==, b[x] & 0xffffff);
    }
  cairo_surface_destroy (file);
  cairo_surface_destroy (direct);

  g_autofree char *pdf_bytes = NULL;
  g_assert_true (g_file_get_contents (pdf, &pdf_bytes, &len, NULL));
  g_assert_nonnull (memmem (pdf_bytes, len, "/FontFile", 9));

  g_ptr_array_unref (t.texts);
  g_ptr_array_unref (t.rotations);
  g_string_free (t.current, TRUE);
  g_unlink (svg);
  g_unlink (png);
  g_unlink (pdf);
  g_rmdir (dir);
}

/* A grid on a shared range says under its bar what the range is fitted to,
 * as the heatmap does. */
static void
test_a_grid_says_its_shared_range (void)
{
  float m[4 * 16];
  const float *maps[4];
  for (int i = 0; i < 4 * 16; i++)
    m[i] = (float) (i % 7) / 6.0f;
  for (int i = 0; i < 4; i++)
    maps[i] = m + i * 16;
  AttnvizGridSpec spec;
  attnviz_grid_spec_init (&spec, 2, 2, maps, 4, 4);
  attnviz_scale_init (&spec.scale, ATTNVIZ_SCALE_LINEAR, 0, 1);
  spec.title = "grid";
  spec.scale_caption = "whole run";
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-painter-XXXXXX", &error);
  g_autofree char *svg = g_build_filename (dir, "g.svg", NULL);
  g_assert_true (attnviz_paint_to_file (svg, ATTNVIZ_FIGURE_GRID, &spec, 400, 300, &error));
  g_assert_no_error (error);
  g_autofree char *xml = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (svg, &xml, &len, NULL));
  SvgTexts t = { g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free), FALSE,
                 g_string_new (NULL), NULL };
  GMarkupParser parser = { svg_start, svg_end, svg_chars, NULL, NULL };
  GMarkupParseContext *context = g_markup_parse_context_new (&parser, 0, &t, NULL);
  g_assert_true (g_markup_parse_context_parse (context, xml, len, &error));
  g_markup_parse_context_free (context);
  g_assert_cmpint (svg_find (&t, "whole run"), >=, 0);
  g_assert_cmpint (svg_find (&t, "1.0"), >=, 0);
  g_ptr_array_unref (t.texts);
  g_ptr_array_unref (t.rotations);
  g_string_free (t.current, TRUE);
  g_remove (svg);
  g_rmdir (dir);
}

static void
test_log_ticks_are_decades (void)
{
  /* One notation on a bar: powers of ten once one label needs them ... */
  assert_ticks (ATTNVIZ_SCALE_LOG, 0, 1, 8, "10⁻⁴ 10⁻³ 10⁻² 10⁻¹ 10⁰");
  /* ... plain numbers while every one is short. */
  assert_ticks (ATTNVIZ_SCALE_LOG, 0.01, 1, 8, "0.01 0.1 1");
  /* Too many decades: every other one, ending at the top. */
  assert_ticks (ATTNVIZ_SCALE_LOG, 1e-8, 1, 5, "10⁻⁸ 10⁻⁶ 10⁻⁴ 10⁻² 10⁰");
  /* Under a decade: nice numbers instead. */
  assert_ticks (ATTNVIZ_SCALE_LOG, 0.2, 0.9, 5, "0.2 0.4 0.6 0.8");
}

/* ---- Painter ------------------------------------------------------------------ */

static void
test_display_text_shows_whitespace (void)
{
  const struct { const char *in, *out; } cases[] = {
    { " the", "␣the" },
    { "\n", "↵" },
    { "a\tb", "a⇥b" },
    { "\r", "^M" },
    { "", "∅" },
    { "naïve", "naïve" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *shown = attnviz_painter_display_text (cases[i].in);
      g_assert_cmpstr (shown, ==, cases[i].out);
    }
}

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

/* A diverging bar of −1 .. 1 keeps ticks on both sides of 0 (it once kept
 * the first eight of a fine step: 0.60 and 0.80 were missing), and an end
 * off the step's grid keeps its own two digits without giving every label
 * six decimals ("0.600000"). */
static void
test_colour_bar_ticks_cover_the_bar_and_read_short (void)
{
  AttnvizScale s;
  double ticks[8];
  attnviz_scale_init (&s, ATTNVIZ_SCALE_LINEAR, -1, 1);
  int n = attnviz_scale_ticks_with_ends (&s, 8, 0.05, ticks);
  g_assert_cmpint (n, <=, 8);
  gboolean above = FALSE, below = FALSE;
  for (int i = 1; i < n - 1; i++)
    {
      above |= ticks[i] > 0.3;
      below |= ticks[i] < -0.3;
    }
  g_assert_true (above && below);

  attnviz_scale_init (&s, ATTNVIZ_SCALE_LINEAR, 0.000051, 0.643553);
  n = attnviz_scale_ticks_with_ends (&s, 8, 0.05, ticks);
  g_auto(GStrv) labels = attnviz_scale_tick_labels (&s, ticks, n);
  g_assert_cmpstr (labels[0], ==, "0.000051");
  g_assert_cmpstr (labels[n - 1], ==, "0.64");
  for (int i = 1; i < n - 1; i++)
    g_assert_cmpint (strlen (labels[i]), <=, 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ui/colormap/viridis-ends-match-matplotlib", test_viridis_ends_match_matplotlib);
  g_test_add_func ("/ui/colormap/grey-is-white-to-black-and-rdbu-blue-to-red", test_grey_and_diverging_ends);
  g_test_add_func ("/ui/colormap/clamps-and-marks-nan-as-no-data", test_colormap_clamps_and_marks_nan);
  g_test_add_func ("/ui/colormap/names-round-trip", test_colormap_names_round_trip);
  g_test_add_func ("/ui/scale/log-maps-floor-to-zero", test_log_maps_floor_to_zero);
  g_test_add_func ("/ui/scale/linear-and-power-map-their-ends", test_linear_and_power_map_ends);
  g_test_add_func ("/ui/scale/unmap-inverts-map", test_unmap_inverts_map);
  g_test_add_func ("/ui/scale/fit-takes-the-data-range", test_fit_takes_the_data_range);
  g_test_add_func ("/ui/scale/linear-ticks-are-nice-numbers", test_linear_ticks_are_nice_numbers);
  g_test_add_func ("/ui/scale/log-ticks-are-decades", test_log_ticks_are_decades);
  g_test_add_func ("/ui/painter/colour-bars-label-both-ends-in-one-notation", test_colour_bars_label_both_ends);
  g_test_add_func ("/ui/painter/colour-bar-ticks-cover-the-bar-and-read-short",
                   test_colour_bar_ticks_cover_the_bar_and_read_short);
  g_test_add_func ("/ui/painter/svg-keeps-text-as-text", test_svg_keeps_text_as_text);
  g_test_add_func ("/ui/painter/a-grid-says-its-shared-range", test_a_grid_says_its_shared_range);
  g_test_add_func ("/ui/painter/display-text-shows-whitespace", test_display_text_shows_whitespace);
  g_test_add_func ("/ui/painter/labels-never-overlap", test_labels_never_overlap);
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
