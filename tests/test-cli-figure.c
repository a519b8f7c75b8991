/* test-cli-figure.c: `attnviz render` makes figures a paper can use
 *
 * Sizes in millimetres or inches and the column presets, the PNG's
 * resolution written into the file, a transparent page, the title,
 * subtitle and colour bar left out on request, a fixed colour range, the
 * PDF's title, the chosen head outlined in a grid only with
 * --keep-selection (as the app's export dialog keeps the selection), and a
 * usage error naming the option for every bad value.
 * The figures are read back with cairo and looked at pixel by pixel.
 */
#define G_LOG_DOMAIN "test-cli-figure"
#include "config.h"

#include <cairo.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnviz-colormap.h"
#include "attnviz-forward.h"
#include "attnviz-model.h"
#include "attnviz-test-util.h"
#include "attnviz-variant.h"

/* gpt2-tiny's ids: 6 tokens, causal, so query 0 puts all its weight (1.0)
 * on key 0. */
#define IDS "5,17,33,2,90,41"

typedef struct {
  char *tmp;
  char *model;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->tmp = g_dir_make_tmp ("attnviz-figure-XXXXXX", NULL);
  f->model = attnviz_test_fixture_path ("gpt2-tiny", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_autoptr(GDir) dir = g_dir_open (f->tmp, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->tmp, name, NULL);
      g_unlink (path);
    }
  g_rmdir (f->tmp);
  g_free (f->tmp);
  g_free (f->model);
}

/* Renders into TMP/NAME with the options after NAME; asserts success. */
static char *
render (Fixture *f, const char *name, ...)
{
  char *out = g_build_filename (f->tmp, name, NULL);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, "render");
  g_ptr_array_add (args, f->model);
  g_ptr_array_add (args, "--ids");
  g_ptr_array_add (args, IDS);
  va_list ap;
  va_start (ap, name);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, "-q");
  g_ptr_array_add (args, "-o");
  g_ptr_array_add (args, out);
  g_ptr_array_add (args, NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnvizv (&r, (const char *const *) args->pdata);
  if (r.status != 0)
    g_test_message ("stderr: %s", r.err);
  g_assert_cmpint (r.status, ==, 0);
  return out;
}

static guint32
be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* The PNG's size, colour type and pHYs pixels per metre (0 without one). */
static void
read_png_header (const char *path, int *width, int *height, int *color_type, guint32 *ppm)
{
  g_autofree guint8 *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, (char **) &data, &len, NULL));
  g_assert_cmpuint (len, >, 33);
  g_assert_cmpmem (data, 8, "\x89PNG\r\n\x1a\n", 8);
  g_assert_cmpmem (data + 12, 4, "IHDR", 4);
  *width = (int) be32 (data + 16);
  *height = (int) be32 (data + 20);
  *color_type = data[25];
  *ppm = 0;
  for (gsize at = 8; at + 12 <= len;)
    {
      guint32 n = be32 (data + at);
      if (memcmp (data + at + 4, "pHYs", 4) == 0 && n == 9)
        {
          g_assert_cmpuint (be32 (data + at + 8), ==, be32 (data + at + 12));
          g_assert_cmpuint (data[at + 16], ==, 1);
          *ppm = be32 (data + at + 8);
        }
      at += 12 + (gsize) n;
    }
}

/* A colourful pixel: part of the matrix or the colour bar, not text. */
static gboolean
colourful (guint32 px)
{
  int r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff, a = px >> 24;
  return a == 0xff && (abs (r - g) + abs (g - b) + abs (r - b)) > 60;
}

typedef struct {
  int top, left, right;   /* the first colourful row, and the extent of colourful columns */
} Extent;

static Extent
colour_extent (cairo_surface_t *s)
{
  int w = cairo_image_surface_get_width (s), h = cairo_image_surface_get_height (s);
  int stride = cairo_image_surface_get_stride (s);
  const guint8 *data = cairo_image_surface_get_data (s);
  Extent e = { -1, w, -1 };
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      if (colourful (*(const guint32 *) (data + (gsize) y * stride + 4 * x)))
        {
          if (e.top < 0)
            e.top = y;
          e.left = MIN (e.left, x);
          e.right = MAX (e.right, x);
        }
  return e;
}

/* Columns within the colourful extent E that hold no colourful pixel. */
static int
plain_columns (cairo_surface_t *s, Extent e)
{
  int h = cairo_image_surface_get_height (s), stride = cairo_image_surface_get_stride (s);
  const guint8 *data = cairo_image_surface_get_data (s);
  int plain = 0;
  for (int x = e.left; x <= e.right; x++)
    {
      gboolean any = FALSE;
      for (int y = 0; y < h && !any; y++)
        any = colourful (*(const guint32 *) (data + (gsize) y * stride + 4 * x));
      plain += !any;
    }
  return plain;
}

static guint32
pixel (cairo_surface_t *s, int x, int y)
{
  return *(const guint32 *) (cairo_image_surface_get_data (s) + (gsize) y * cairo_image_surface_get_stride (s) + 4 * x);
}

static void
test_a_width_in_millimetres_at_600_dpi_is_written_into_the_png (Fixture *f, gconstpointer data)
{
  g_autofree char *png = render (f, "mm.png", "--width", "85mm", "--dpi", "600", NULL);
  int w, h, type;
  guint32 ppm;
  read_png_header (png, &w, &h, &type, &ppm);
  /* 85 mm at 600 dpi: ceil (85 / 25.4 * 600) pixels */
  g_assert_cmpint (w, ==, (int) ceil (85.0 / 25.4 * 600.0));
  g_assert_cmpuint (ppm, ==, (guint32) lround (600.0 / 0.0254));
  /* a width alone keeps the default figure's proportions (480 x 460 pt) */
  g_assert_cmpint (abs (h - (int) ceil (85.0 / 25.4 * 600.0 * 460.0 / 480.0)), <=, 1);
  g_assert_cmpint (type, ==, 2); /* RGB: a white page */

  g_autofree char *column = render (f, "column.png", "--width", "one-column", NULL);
  read_png_header (column, &w, &h, &type, &ppm);
  g_assert_cmpint (w, ==, 1000);   /* 240 pt at the default 300 dpi */
  g_assert_cmpuint (ppm, ==, (guint32) lround (300.0 / 0.0254));
  g_autofree char *page = render (f, "page.png", "--width", "two-column", "--height", "3in", NULL);
  read_png_header (page, &w, &h, &type, &ppm);
  g_assert_cmpint (w, ==, 2100);   /* 7 in */
  g_assert_cmpint (h, ==, 900);
}

static void
test_a_transparent_figure_leaves_the_page_clear (Fixture *f, gconstpointer data)
{
  g_autofree char *png = render (f, "clear.png", "--transparent", NULL);
  int w, h, type;
  guint32 ppm;
  read_png_header (png, &w, &h, &type, &ppm);
  g_assert_cmpint (type, ==, 6); /* RGBA */
  cairo_surface_t *s = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpuint (pixel (s, 0, 0) >> 24, ==, 0);
  g_assert_cmpuint (pixel (s, w - 1, h - 1) >> 24, ==, 0);
  Extent e = colour_extent (s);
  g_assert_cmpint (e.top, >=, 0); /* the matrix is there, opaque */
  cairo_surface_destroy (s);

  g_autofree char *white = render (f, "white.png", NULL);
  cairo_surface_t *t = cairo_image_surface_create_from_png (white);
  g_assert_cmpuint (pixel (t, 0, 0), ==, 0xffffffff);
  cairo_surface_destroy (t);
}

static void
test_title_subtitle_and_colour_bar_can_be_left_out (Fixture *f, gconstpointer data)
{
  g_autofree char *full = render (f, "full.png", NULL);
  g_autofree char *bare = render (f, "bare.png", "--no-title", "--no-subtitle", "--no-colorbar", NULL);
  cairo_surface_t *a = cairo_image_surface_create_from_png (full);
  cairo_surface_t *b = cairo_image_surface_create_from_png (bare);
  Extent ea = colour_extent (a), eb = colour_extent (b);
  g_test_message ("with: top %d, right %d; without: top %d, right %d", ea.top, ea.right, eb.top, eb.right);
  /* without the title lines the matrix starts higher */
  g_assert_cmpint (eb.top, <, ea.top);
  /* the colour bar stands apart from the matrix, a gap of plain columns
   * between them; without it the colour is one block */
  g_assert_cmpint (plain_columns (a, ea), >, 0);
  g_assert_cmpint (plain_columns (b, eb), ==, 0);
  cairo_surface_destroy (a);
  cairo_surface_destroy (b);
}

/* Query 0's weight on key 0 is exactly 1: with --range 0:2 its cell has
 * the colour map's middle colour; with --range 0:0.5 its top one. */
static void
test_a_fixed_range_fixes_what_a_colour_means (Fixture *f, gconstpointer data)
{
  static const struct {
    const char *range;
    double t;
  } cases[] = { { "0:2", 0.5 }, { "0:0.5", 1.0 }, { "-1:1", 1.0 } };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("range-%u.png", i);
      g_autofree char *png = render (f, name, "--range", cases[i].range, "--no-colorbar", "--no-title",
                                     "--no-subtitle", NULL);
      cairo_surface_t *s = cairo_image_surface_create_from_png (png);
      Extent e = colour_extent (s);
      /* cell (0, 0) is the matrix's top-left; a few pixels inside it */
      guint32 px = pixel (s, e.left + 4, e.top + 4);
      double rgb[3];
      attnviz_colormap_lookup (ATTNVIZ_COLORMAP_VIRIDIS, cases[i].t, rgb);
      g_test_message ("--range %s: pixel %06x, viridis (%g) %06x", cases[i].range, px & 0xffffff, cases[i].t,
                      attnviz_colormap_pack (rgb) & 0xffffff);
      for (int c = 0; c < 3; c++)
        {
          int got = (px >> (16 - 8 * c)) & 0xff;
          g_assert_cmpint (abs (got - (int) lround (rgb[c] * 255)), <=, 1);
        }
      cairo_surface_destroy (s);
    }
}

/* The PDF's Info dictionary: /Title <FEFF...> (UTF-16BE). */
static gboolean
same_bytes (const char *a, const char *b)
{
  g_autofree char *da = NULL, *db = NULL;
  gsize la = 0, lb = 0;
  g_assert_true (g_file_get_contents (a, &da, &la, NULL));
  g_assert_true (g_file_get_contents (b, &db, &lb, NULL));
  return la == lb && memcmp (da, db, la) == 0;
}

/* The largest weight of HEAD of LAYER (-1: any) of gpt2-tiny on IDS
 * without its causal mask (a causal head's first row holds a 1). */
static double
bidirectional_max (Fixture *f, int layer, int head)
{
  static const gint32 ids[] = { 5, 17, 33, 2, 90, 41 };
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (f->model, &error);
  g_assert_no_error (error);
  g_auto(AttnvizVariant) variant = { 0 };
  g_assert_true (attnviz_variant_parse (&variant, "mask=bidirectional", &error));
  AttnvizRunOptions opt = { .skip_logits = TRUE, .storage = ATTNVIZ_STORAGE_DENSE, .variant = &variant };
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, 6, &opt, &error);
  g_assert_no_error (error);
  double m = 0;
  for (int l = 0; l < rec->n_layer; l++)
    for (int h = 0; (layer < 0 || l == layer) && h < rec->n_head; h++)
      {
        if (head >= 0 && h != head)
          continue;
        const float *p = attnviz_recording_get_attention (rec, l, h);
        for (int i = 0; i < 36; i++)
          m = MAX (m, p[i]);
      }
  return m;
}

/* --range-mode layer and run are the fixed range of the layer's or the
 * run's largest weight (the same pixels, with the caption and subtitle
 * left out), per head differs; a range given is fixed, not a layer's. */
static void
test_range_modes_fit_the_layer_or_the_run (Fixture *f, gconstpointer data)
{
  double layer_max = bidirectional_max (f, 1, -1), run_max = bidirectional_max (f, -1, -1);
  /* a head whose own largest weight is under its layer's */
  int head = 0;
  while (bidirectional_max (f, 1, head) >= layer_max)
    head++;
  g_autofree char *head_s = g_strdup_printf ("%d", head);
  const char *common[] = { "--variant", "mask=bidirectional", "--layer", "1", "--head", head_s, "--no-colorbar",
                           "--no-subtitle" };
#define COMMON common[0], common[1], common[2], common[3], common[4], common[5], common[6], common[7]
  g_test_message ("largest weight: layer 1 %.6f, run %.6f", layer_max, run_max);
  g_assert_cmpfloat (layer_max, <, 1.0);
  g_autofree char *layer_range = g_strdup_printf ("0:%.17g", layer_max);
  g_autofree char *run_range = g_strdup_printf ("0:%.17g", run_max);

  g_autofree char *by_head = render (f, "head.png", COMMON, NULL);
  g_autofree char *by_layer = render (f, "layer.png", COMMON, "--range-mode", "layer", NULL);
  g_autofree char *fixed_layer = render (f, "layer-fixed.png", COMMON, "--range", layer_range, NULL);
  g_autofree char *by_run = render (f, "run.png", COMMON, "--range-mode", "run", NULL);
  g_autofree char *fixed_run = render (f, "run-fixed.png", COMMON, "--range", run_range, NULL);
  g_autofree char *fixed = render (f, "fixed.png", COMMON, "--range-mode", "fixed", NULL);
  g_autofree char *zero_one = render (f, "zero-one.png", COMMON, "--range", "0:1", NULL);
#undef COMMON
  g_assert_true (same_bytes (by_layer, fixed_layer));
  g_assert_true (same_bytes (by_run, fixed_run));
  g_assert_true (same_bytes (fixed, zero_one));
  g_assert_false (same_bytes (by_head, by_layer));

  g_autofree char *out = g_build_filename (f->tmp, "never.png", NULL);
  g_auto(AttnvizTestRun) bad = { 0 };
  attnviz_test_run_attnviz (&bad, "render", f->model, "--ids", IDS, "--range-mode", "layers", "-o", out, NULL);
  attnviz_test_assert_one_line_error (&bad, 2, "--range-mode layers: expected head, layer, run or fixed");
  g_auto(AttnvizTestRun) both = { 0 };
  attnviz_test_run_attnviz (&both, "render", f->model, "--ids", IDS, "--range-mode", "layer", "--range", "0:1", "-o",
                            out, NULL);
  attnviz_test_assert_one_line_error (&both, 2, "--range-mode layer: a range given with --range");
  g_auto(AttnvizTestRun) grid = { 0 };
  attnviz_test_run_attnviz (&grid, "render", f->model, "--ids", IDS, "--view", "grid", "--range-mode", "layer", "-o",
                            out, NULL);
  attnviz_test_assert_one_line_error (&grid, 2, "--range-mode layer: a grid's thumbnails");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static void
test_a_pdf_carries_its_title (Fixture *f, gconstpointer data)
{
  g_autofree char *pdf = render (f, "titled.pdf", "--layer", "1", "--head", "2", NULL);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (pdf, &bytes, &len, NULL));
  const char *at = memmem (bytes, len, "/Title <FEFF", strlen ("/Title <FEFF"));
  g_assert_nonnull (at);
  at += strlen ("/Title <FEFF");
  const char *end = strchr (at, '>');
  g_assert_nonnull (end);
  g_autoptr(GByteArray) utf16 = g_byte_array_new ();
  for (const char *p = at; p + 1 < end; p += 2)
    {
      char hex[3] = { p[0], p[1], 0 };
      guint8 b = (guint8) g_ascii_strtoull (hex, NULL, 16);
      g_byte_array_append (utf16, &b, 1);
    }
  g_autofree char *title = g_convert ((const char *) utf16->data, utf16->len, "UTF-8", "UTF-16BE", NULL, NULL, NULL);
  g_assert_cmpstr (title, ==, "gpt2-tiny · layer 1 · head 2");
}

static void
test_bad_figure_options_are_usage_errors_naming_the_option (Fixture *f, gconstpointer data)
{
  static const struct {
    const char *option;
    const char *value;
    const char *expect;
  } bad[] = {
    { "--width", "85xx", "--width 85xx: expected a length" },
    { "--width", "0mm", "--width 0mm: expected a length between" },
    { "--width", "-3in", "--width -3in: expected a length between" },
    { "--width", "200in", "--width 200in: expected a length between" },
    { "--width", "mm", "--width mm: expected a length" },
    { "--width", "nanmm", "--width nanmm: expected a length" },
    { "--height", "one-column", "--height one-column: expected a length" },
    { "--range", "1:0", "--range 1:0: expected LO:HI" },
    { "--range", "0:", "--range 0:: expected LO:HI" },
    { "--range", "a:b", "--range a:b: expected LO:HI" },
    { "--range", "0-1", "--range 0-1: expected LO:HI" },
    { "--range", "0:inf", "--range 0:inf: expected LO:HI" },
    { "--dpi", "5000", "--dpi 5000: expected 72 to 1200" },
    { "--dpi", "10", "--dpi 10: expected 72 to 1200" },
    { "--font-size", "-2", "--font-size -2: expected 1 to 200 points" },
  };
  g_autofree char *out = g_build_filename (f->tmp, "never.png", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto(AttnvizTestRun) r = { 0 };
      attnviz_test_run_attnviz (&r, "render", f->model, "--ids", IDS, bad[i].option, bad[i].value, "-o", out, NULL);
      attnviz_test_assert_one_line_error (&r, 2, bad[i].expect);
      g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
    }
  g_auto(AttnvizTestRun) both = { 0 };
  attnviz_test_run_attnviz (&both, "render", f->model, "--ids", IDS, "--range", "0:1", "--vmax", "0.5", "-o", out, NULL);
  attnviz_test_assert_one_line_error (&both, 2, "--range: give either --range or --vmin/--vmax");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* Pixels of the current head's orange (0.90, 0.33, 0.05) in the PNG at PATH. */
static int
count_orange (const char *path)
{
  cairo_surface_t *image = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  int w = cairo_image_surface_get_width (image), h = cairo_image_surface_get_height (image);
  int stride = cairo_image_surface_get_stride (image);
  const guint8 *data = cairo_image_surface_get_data (image);
  int n = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guint32 p = *(const guint32 *) (data + (gsize) y * stride + (gsize) x * 4);
        int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
        n += abs (r - 230) <= 6 && abs (g - 84) <= 6 && abs (b - 13) <= 6;
      }
  cairo_surface_destroy (image);
  return n;
}

static void
test_a_grid_outlines_the_chosen_head_only_when_asked (Fixture *f, gconstpointer data)
{
  g_autofree char *plain = render (f, "grid.png", "--view", "grid", "--layer", "1", "--head", "1", NULL);
  g_autofree char *kept = render (f, "grid-kept.png", "--view", "grid", "--layer", "1", "--head", "1",
                                  "--keep-selection", NULL);
  int orange_plain = count_orange (plain), orange_kept = count_orange (kept);
  g_test_message ("orange pixels: %d without --keep-selection, %d with it", orange_plain, orange_kept);
  g_assert_cmpint (orange_plain, ==, 0);
  g_assert_cmpint (orange_kept, >, 50);
}

/* Colourful runs along the row of pixels Y of PATH: one per thumbnail a
 * grid's first layer shows there. */
static int
colourful_runs (const char *path, double y_frac_of_first_layer)
{
  cairo_surface_t *image = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  Extent e = colour_extent (image);
  int w = cairo_image_surface_get_width (image);
  const guint8 *data = cairo_image_surface_get_data (image);
  int y = e.top + (int) y_frac_of_first_layer;
  int runs = 0;
  gboolean in = FALSE;
  for (int x = 0; x < w; x++)
    {
      gboolean c = colourful (*(const guint32 *) (data + (gsize) y * cairo_image_surface_get_stride (image) + 4 * x));
      runs += c && !in;
      in = c;
    }
  cairo_surface_destroy (image);
  return runs;
}

static void
test_a_grid_with_an_aggregate_adds_each_layers_column (Fixture *f, gconstpointer data)
{
  /* Token 0's row: key 0 in colour, the rest of the row masked grey. */
  g_autofree char *plain = render (f, "grid.png", "--view", "grid", "--no-colorbar", "--no-title", NULL);
  g_autofree char *mean = render (f, "grid-mean.png", "--view", "grid", "--aggregate", "mean", "--no-colorbar",
                                  "--no-title", NULL);
  int heads = colourful_runs (plain, 3), with_mean = colourful_runs (mean, 3);
  g_test_message ("thumbnails along the first layer: %d, with --aggregate mean %d", heads, with_mean);
  g_assert_cmpint (heads, >, 1);
  g_assert_cmpint (with_mean, ==, heads + 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add ("/cli/render/figure/" path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("a-width-in-millimetres-at-600-dpi-is-written-into-the-png",
       test_a_width_in_millimetres_at_600_dpi_is_written_into_the_png);
  ADD ("a-transparent-figure-leaves-the-page-clear", test_a_transparent_figure_leaves_the_page_clear);
  ADD ("title-subtitle-and-colour-bar-can-be-left-out", test_title_subtitle_and_colour_bar_can_be_left_out);
  ADD ("a-fixed-range-fixes-what-a-colour-means", test_a_fixed_range_fixes_what_a_colour_means);
  ADD ("a-pdf-carries-its-title", test_a_pdf_carries_its_title);
  ADD ("a-grid-outlines-the-chosen-head-only-when-asked", test_a_grid_outlines_the_chosen_head_only_when_asked);
  ADD ("a-grid-with-an-aggregate-adds-each-layers-column", test_a_grid_with_an_aggregate_adds_each_layers_column);
  ADD ("bad-figure-options-are-usage-errors-naming-the-option",
       test_bad_figure_options_are_usage_errors_naming_the_option);
  ADD ("range-modes-fit-the-layer-or-the-run", test_range_modes_fit_the_layer_or_the_run);
#undef ADD
  return g_test_run ();
}
