/* test-painter-svg: the text of figures: SVG keeps it as text (with a
 * grid's shared range), display text shows white space */
#define G_LOG_DOMAIN "test-painter"
#include "config.h"

#include <math.h>
#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-painter-private.h"

/* ---- Text in SVG ------------------------------------------------------------- */

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

/* A token's label of 100 kB (a line of a token file, a dump's token text:
 * both the file's to say) is drawn as its first characters and an
 * ellipsis, in SVG as on screen; each of its prefixes was measured in
 * turn, which took minutes. */
static void
test_a_label_of_100_kb_shows_its_start_and_an_ellipsis (void)
{
  g_autofree char *long_label = g_strnfill (100000, 'x');
  const char *const labels[] = { long_label, "b", "c", "d", NULL };
  float m[16];
  for (int i = 0; i < 16; i++)
    m[i] = 0.25f;
  AttnvizHeatmapSpec spec;
  attnviz_heatmap_spec_init (&spec, m, 4, 4);
  spec.row_labels = spec.col_labels = labels;
  spec.title = "a long token";
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-painter-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *svg = g_build_filename (dir, "h.svg", NULL);
  g_assert_true (attnviz_paint_to_file (svg, ATTNVIZ_FIGURE_HEATMAP, &spec, 300, 250, &error));
  g_assert_no_error (error);
  g_autofree char *xml = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (svg, &xml, &len, NULL));
  SvgTexts t = { g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free), FALSE,
                 g_string_new (NULL), NULL };
  GMarkupParser parser = { svg_start, svg_end, svg_chars, NULL, NULL };
  GMarkupParseContext *context = g_markup_parse_context_new (&parser, 0, &t, NULL);
  g_assert_true (g_markup_parse_context_parse (context, xml, len, &error));
  g_assert_no_error (error);
  g_markup_parse_context_free (context);
  /* the row's label and the column's: a few x and the ellipsis */
  int shortened = 0;
  for (guint i = 0; i < t.texts->len; i++)
    {
      const char *text = g_ptr_array_index (t.texts, i);
      if (text[0] != 'x')
        continue;
      g_assert_true (g_str_has_suffix (text, "…"));
      g_assert_cmpuint (strlen (text), <, 200);
      shortened++;
    }
  g_assert_cmpint (shortened, ==, 2);
  g_assert_cmpint (svg_find (&t, "b"), >=, 0);
  g_ptr_array_unref (t.texts);
  g_ptr_array_unref (t.rotations);
  g_string_free (t.current, TRUE);
  g_remove (svg);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ui/painter/svg-keeps-text-as-text", test_svg_keeps_text_as_text);
  g_test_add_func ("/ui/painter/a-grid-says-its-shared-range", test_a_grid_says_its_shared_range);
  g_test_add_func ("/ui/painter/display-text-shows-whitespace", test_display_text_shows_whitespace);
  g_test_add_func ("/ui/painter/a-label-of-100-kb-shows-its-start-and-an-ellipsis",
                   test_a_label_of_100_kb_shows_its_start_and_an_ellipsis);

  return g_test_run ();
}
