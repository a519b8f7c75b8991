/* test-cli-analysis-figures.c: `attnviz render --view rollout | flow |
 * value-weighted | qk` draws what the attention carries
 *
 * The heatmaps of a causal model are lower-triangular, cell by cell, with
 * the future in the colour map's no-data grey; the query-key plot has both
 * clouds, its legend and axes as SVG text; a view that cannot be drawn is
 * a one-line error.  The PNGs are read back with cairo.
 */
#define G_LOG_DOMAIN "test-cli-analysis-figures"
#include "config.h"

#include <cairo.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnviz-colormap.h"
#include "attnviz-test-util.h"

/* gpt2-tiny's ids: 6 tokens, causal */
#define IDS "5,17,33,2,90,41"
#define T 6

typedef struct {
  char *tmp;
  char *model;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->tmp = g_dir_make_tmp ("attnviz-analysis-figures-XXXXXX", NULL);
  f->model = attnviz_test_fixture_path ("gpt2-tiny", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  attnviz_test_remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->model);
}

/* Renders gpt2-tiny's IDS into TMP/NAME with the options after NAME; the
 * run's status in R. */
static char *
render_status (Fixture *f, AttnvizTestRun *r, const char *name, va_list ap)
{
  char *out = g_build_filename (f->tmp, name, NULL);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, "render");
  g_ptr_array_add (args, f->model);
  g_ptr_array_add (args, "--ids");
  g_ptr_array_add (args, IDS);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  g_ptr_array_add (args, "-q");
  g_ptr_array_add (args, "-o");
  g_ptr_array_add (args, out);
  g_ptr_array_add (args, NULL);
  attnviz_test_run_attnvizv (r, (const char *const *) args->pdata);
  return out;
}

static char *
render (Fixture *f, const char *name, ...)
{
  g_auto(AttnvizTestRun) r = { 0 };
  va_list ap;
  va_start (ap, name);
  char *out = render_status (f, &r, name, ap);
  va_end (ap);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
  return out;
}

static guint32
pixel (cairo_surface_t *s, int x, int y)
{
  return *(const guint32 *) (cairo_image_surface_get_data (s) + (gsize) y * cairo_image_surface_get_stride (s) + 4 * x);
}

static gboolean
colourful (guint32 px)
{
  int r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
  return (abs (r - g) + abs (g - b) + abs (r - b)) > 60;
}

static gboolean
is_nodata (guint32 px)
{
  double rgb[3];
  attnviz_colormap_nodata (ATTNVIZ_COLORMAP_VIRIDIS, rgb);
  int r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
  return abs (r - (int) (rgb[0] * 255 + 0.5)) <= 2 && abs (g - (int) (rgb[1] * 255 + 0.5)) <= 2
         && abs (b - (int) (rgb[2] * 255 + 0.5)) <= 2;
}

/* The PNG at PATH is 480 x 460 pt at 300 dpi and its matrix of T x T
 * cells is lower-triangular: every cell right of the diagonal is the
 * no-data grey, every other cell a colour of the map. */
static void
assert_lower_triangular_png (const char *path)
{
  cairo_surface_t *s = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
  int w = cairo_image_surface_get_width (s), h = cairo_image_surface_get_height (s);
  g_assert_cmpint (w, ==, 2000);
  g_assert_cmpint (h, ==, 1917);

  /* The grey's bounding box: the future's triangle, from the top row's
   * second cell to the matrix's right edge. */
  int gx0 = w, gx1 = -1, gy0 = h, gy1 = -1;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w;)
      {
        /* runs of grey as wide as a cell; text antialiased grey is thinner */
        int end = x;
        while (end < w && is_nodata (pixel (s, end, y)))
          end++;
        if (end - x >= 40)
          {
            gx0 = MIN (gx0, x); gx1 = MAX (gx1, end - 1);
            gy0 = MIN (gy0, y); gy1 = MAX (gy1, y);
          }
        x = MAX (end, x + 1);
      }
  g_assert_cmpint (gx1, >, gx0);
  /* the top-left cell is coloured: the matrix starts at its first colourful pixel */
  int left = -1;
  for (int x = 0; x < gx0 && left < 0; x++)
    if (colourful (pixel (s, x, gy0 + 2)))
      left = x;
  g_assert_cmpint (left, >=, 0);
  double cell = (gx1 + 1 - left) / (double) T;
  /* the grey spans T - 1 cells across and T - 1 down */
  g_assert_cmpfloat (fabs ((gx1 + 1 - gx0) - (T - 1) * cell), <, 3);
  g_assert_cmpfloat (fabs ((gy1 + 1 - gy0) - (T - 1) * cell), <, 3);
  for (int r = 0; r < T; r++)
    for (int c = 0; c < T; c++)
      {
        guint32 px = pixel (s, (int) (left + (c + 0.5) * cell), (int) (gy0 + (r + 0.5) * cell));
        if (c > r)
          g_assert_true (is_nodata (px));
        else
          g_assert_true (colourful (px));
      }
  cairo_surface_destroy (s);
}

static void
test_rollout_of_a_causal_model_is_lower_triangular (Fixture *f, gconstpointer data)
{
  g_autofree char *png = render (f, "rollout.png", "--view", "rollout", NULL);
  assert_lower_triangular_png (png);
}

static void
test_flow_of_a_causal_model_is_lower_triangular (Fixture *f, gconstpointer data)
{
  g_autofree char *png = render (f, "flow.png", "--view", "flow", NULL);
  assert_lower_triangular_png (png);
}

static void
test_value_weighted_draws_the_head_with_its_own_title (Fixture *f, gconstpointer data)
{
  g_autofree char *png = render (f, "vw.png", "--view", "value-weighted", "--layer", "2", "--head", "3", NULL);
  assert_lower_triangular_png (png);
  g_autofree char *svg = render (f, "vw.svg", "--view", "value-weighted", "--layer", "2", "--head", "3", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (svg, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "layer 2 · head 3 · value-weighted ‖α·W_O v‖"));
}

static void
test_the_titles_name_rollout_and_flow (Fixture *f, gconstpointer data)
{
  const char *views[] = { "rollout", "attention rollout", "flow", "attention flow" };
  for (guint i = 0; i < G_N_ELEMENTS (views); i += 2)
    {
      g_autofree char *name = g_strdup_printf ("%s.svg", views[i]);
      g_autofree char *svg = render (f, name, "--view", views[i], NULL);
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (svg, &text, NULL, NULL));
      g_assert_nonnull (strstr (text, views[i + 1]));
      g_assert_nonnull (strstr (text, "(Abnar"));
      /* --no-title leaves it out of the drawing (the document's <title> keeps it) */
      g_autofree char *bare_name = g_strdup_printf ("%s-bare.svg", views[i]);
      g_autofree char *bare = render (f, bare_name, "--view", views[i], "--no-title", NULL);
      g_autofree char *bare_text = NULL;
      g_assert_true (g_file_get_contents (bare, &bare_text, NULL, NULL));
      g_autofree char *drawn = g_strdup_printf ("%s</text>", views[i + 1]);
      g_assert_nonnull (strstr (text, drawn));
      g_assert_null (strstr (bare_text, drawn));
    }
}

static void
test_qk_svg_has_the_legend_and_axes_as_text (Fixture *f, gconstpointer data)
{
  g_autofree char *svg = render (f, "qk.svg", "--view", "qk", "--layer", "1", "--head", "2", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (svg, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, ">queries</text>"));
  g_assert_nonnull (strstr (text, ">keys</text>"));
  g_assert_nonnull (strstr (text, "PC 1 ("));
  g_assert_nonnull (strstr (text, "% of variance)</text>"));
  g_assert_nonnull (strstr (text, "layer 1 · head 2 · queries and keys"));
}

/* Pixels of the query blue and the key orange, as drawn over white. */
static void
count_clouds (cairo_surface_t *s, int *blue, int *orange)
{
  *blue = *orange = 0;
  for (int y = 0; y < cairo_image_surface_get_height (s); y++)
    for (int x = 0; x < cairo_image_surface_get_width (s); x++)
      {
        guint32 px = pixel (s, x, y);
        int r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
        *blue += b > r + 100 && b > g + 20;
        *orange += r > b + 120 && g > b + 60;
      }
}

static void
test_qk_png_draws_queries_and_keys_in_two_colours (Fixture *f, gconstpointer data)
{
  g_autofree char *png = render (f, "qk.png", "--view", "qk", "--width", "240", NULL);
  cairo_surface_t *s = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, 1000);
  int blue, orange;
  count_clouds (s, &blue, &orange);
  /* six points of each, and a legend's marker */
  g_assert_cmpint (blue, >, 7 * 100);
  g_assert_cmpint (orange, >, 7 * 100);
  cairo_surface_destroy (s);

  /* a highlighted token's two points are larger: more of both colours */
  g_autofree char *hl = render (f, "qk-token.png", "--view", "qk", "--width", "240", "--token", "3", NULL);
  s = cairo_image_surface_create_from_png (hl);
  int blue_hl, orange_hl;
  count_clouds (s, &blue_hl, &orange_hl);
  g_assert_cmpint (blue_hl, >, blue);
  g_assert_cmpint (orange_hl, >, orange);
  cairo_surface_destroy (s);
}

static void
run_expecting (Fixture *f, int status, const char *needle, const char *name, ...)
{
  g_auto(AttnvizTestRun) r = { 0 };
  va_list ap;
  va_start (ap, name);
  g_autofree char *out = render_status (f, &r, name, ap);
  va_end (ap);
  attnviz_test_assert_one_line_error (&r, status, needle);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static void
test_bad_views_and_options_are_usage_errors (Fixture *f, gconstpointer data)
{
  run_expecting (f, 2, "--view sideways: expected heatmap, grid, lines, rollout, flow, value-weighted or qk",
                 "bad.png", "--view", "sideways", NULL);
  run_expecting (f, 2, "--head 9: ", "head.png", "--view", "qk", "--head", "9", NULL);
  run_expecting (f, 2, "--token: only --view qk", "token.png", "--view", "rollout", "--token", "1", NULL);
  run_expecting (f, 2, "--aggregate applies to the heatmap, grid and lines views only", "agg.png", "--view",
                 "flow", "--aggregate", "mean", NULL);
  run_expecting (f, 2, "--range-mode: --view rollout has its own range", "mode.png", "--view", "rollout",
                 "--range-mode", "run", NULL);
}

static void
test_flow_beyond_its_limit_is_a_one_line_error (Fixture *f, gconstpointer data)
{
  g_autofree char *model = attnviz_test_fixture_path ("llama-gqa-tiny", NULL);
  g_autoptr(GString) ids = g_string_new ("1");
  for (int i = 1; i < 130; i++)
    g_string_append_printf (ids, ",%d", 3 + i % 20);
  g_autofree char *out = g_build_filename (f->tmp, "flow.png", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "render", model, "--ids", ids->str, "--view", "flow", "-o", out, NULL);
  /* (after the note that the ids run past the trained context) one line, the last */
  g_assert_cmpint (r.status, ==, 1);
  const char *line = strstr (r.err, "attnviz: --view flow: 130 tokens are too many (at most 128)");
  g_assert_nonnull (line);
  g_assert_cmpstr (strchr (line, '\n'), ==, "\n");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static void
test_an_encoder_decoder_model_is_refused_clearly (Fixture *f, gconstpointer data)
{
  g_autofree char *model = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models", "dates-seq2seq",
                                             NULL);
  if (!g_file_test (model, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("no data/models/dates-seq2seq");
      return;
    }
  g_autofree char *out = g_build_filename (f->tmp, "seq.png", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "render", model, "--text", "1 May 2020", "--view", "rollout", "-o", out, NULL);
  attnviz_test_assert_one_line_error (&r, 1, "is an encoder-decoder model; this view takes decoder-only");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add ("/cli/render-analysis/" path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("rollout-of-a-causal-model-is-lower-triangular", test_rollout_of_a_causal_model_is_lower_triangular);
  ADD ("flow-of-a-causal-model-is-lower-triangular", test_flow_of_a_causal_model_is_lower_triangular);
  ADD ("value-weighted-draws-the-head-with-its-own-title", test_value_weighted_draws_the_head_with_its_own_title);
  ADD ("the-titles-name-rollout-and-flow", test_the_titles_name_rollout_and_flow);
  ADD ("qk-svg-has-the-legend-and-axes-as-text", test_qk_svg_has_the_legend_and_axes_as_text);
  ADD ("qk-png-draws-queries-and-keys-in-two-colours", test_qk_png_draws_queries_and_keys_in_two_colours);
  ADD ("bad-views-and-options-are-usage-errors", test_bad_views_and_options_are_usage_errors);
  ADD ("flow-beyond-its-limit-is-a-one-line-error", test_flow_beyond_its_limit_is_a_one_line_error);
  ADD ("an-encoder-decoder-model-is-refused-clearly", test_an_encoder_decoder_model_is_refused_clearly);
#undef ADD
  return g_test_run ();
}
