/* attnviz-painter.c: what the figures share: text, colouring, titles and
 * label thinning (the colour bar: attnviz-painter-colorbar.c) */
#define G_LOG_DOMAIN "attnviz-painter"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-painter-private.h"

char *
attnviz_painter_display_text (const char *text)
{
  if (text == NULL || *text == '\0')
    return g_strdup ("∅");

  GString *s = g_string_sized_new (strlen (text) + 8);
  for (const char *p = text; *p; p++)
    {
      unsigned char c = (unsigned char) *p;
      switch (c)
        {
        case ' ':
          g_string_append (s, "␣");
          break;
        case '\n':
          g_string_append (s, "↵");
          break;
        case '\t':
          g_string_append (s, "⇥");
          break;
        case 0x7f:
          g_string_append (s, "^?");
          break;
        default:
          if (c < 0x20)
            {
              g_string_append_c (s, '^');
              g_string_append_c (s, (char) (c + 0x40));
            }
          else
            g_string_append_c (s, (char) c);
          break;
        }
    }
  return g_string_free (s, FALSE);
}

double
attnviz_painter_font_size (double spec_size)
{
  return spec_size > 0 ? spec_size : ATTNVIZ_PAINTER_DEFAULT_FONT_SIZE;
}

/* ---- Text ----------------------------------------------------------------- */

/* Unhinted metrics: widths scale linearly with the transformation, so
 * measuring without a cairo_t agrees with drawing at any scale. */
static void
set_unhinted (PangoContext *context)
{
  cairo_font_options_t *options = cairo_font_options_create ();
  cairo_font_options_set_hint_metrics (options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style (options, CAIRO_HINT_STYLE_NONE);
  pango_cairo_context_set_font_options (context, options);
  cairo_font_options_destroy (options);
  pango_context_set_round_glyph_positions (context, FALSE);
}

static const cairo_user_data_key_t svg_text_key;

void
attnviz_painter_record_svg_text (cairo_t *cr, GString *svg)
{
  cairo_set_user_data (cr, &svg_text_key, svg, NULL);
}

void
attnviz_painter_text_init (AttnvizPainterText *text, cairo_t *cr)
{
  PangoFontMap *font_map = pango_cairo_font_map_get_default ();

  memset (text, 0, sizeof *text);
  text->cr = cr;
  text->svg = cr != NULL ? cairo_get_user_data (cr, &svg_text_key) : NULL;
  text->context = cr != NULL ? pango_cairo_create_context (cr) : pango_font_map_create_context (font_map);
  set_unhinted (text->context);

  text->font = pango_font_description_new ();
  pango_font_description_set_family_static (text->font, ATTNVIZ_PAINTER_FONT_FAMILY);

  /* Line metrics in user units come from a context without the cr's
   * transformation: with one, pango reports them in device units. */
  PangoContext *plain = pango_font_map_create_context (font_map);
  set_unhinted (plain);
  pango_font_description_set_absolute_size (text->font, 100.0 * PANGO_SCALE);
  PangoFontMetrics *metrics = pango_context_get_metrics (plain, text->font, NULL);
  text->ascent = pango_font_metrics_get_ascent (metrics) / (100.0 * PANGO_SCALE);
  text->descent = pango_font_metrics_get_descent (metrics) / (100.0 * PANGO_SCALE);
  pango_font_metrics_unref (metrics);
  g_object_unref (plain);
  if (!(text->ascent > 0) || !(text->descent >= 0))
    {
      text->ascent = 0.93;   /* DejaVu Sans */
      text->descent = 0.24;
    }

  text->layout = pango_layout_new (text->context);
  pango_layout_set_single_paragraph_mode (text->layout, TRUE);
}

void
attnviz_painter_text_clear (AttnvizPainterText *text)
{
  g_clear_object (&text->layout);
  g_clear_object (&text->context);
  g_clear_pointer (&text->font, pango_font_description_free);
  text->cr = NULL;
}

double
attnviz_painter_text_set (AttnvizPainterText *text, const char *str, double size, gboolean bold, double max_width)
{
  pango_font_description_set_absolute_size (text->font, size * PANGO_SCALE);
  pango_font_description_set_weight (text->font, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
  pango_layout_set_font_description (text->layout, text->font);
  pango_layout_set_height (text->layout, -1);
  pango_layout_set_alignment (text->layout, PANGO_ALIGN_LEFT);
  g_autofree char *cut = NULL;
  if (max_width > 0)
    {
      pango_layout_set_width (text->layout, (int) floor (max_width * PANGO_SCALE));
      pango_layout_set_ellipsize (text->layout, PANGO_ELLIPSIZE_END);
      /* Pango shapes the whole string before it ellipsizes, and the SVG
       * writer measures its prefixes one by one: a token's label of 10 kB
       * (a token file's line, a dump's token text) took a minute to draw
       * as SVG.  No glyph is narrower than an eighth of an em, so the
       * characters past that many in MAX_WIDTH never show: cut there (the
       * ellipsis stays, for text made of zero-width characters too). */
      double ems = size > 0 ? max_width / size : 0;
      glong keep = (glong) MIN (ems * 8.0, 1e6) + 16, k = 0;
      const char *end = str;
      while (end != NULL && *end != '\0' && k < keep)
        end = g_utf8_next_char (end), k++;
      if (end != NULL && *end != '\0')
        {
          g_autofree char *prefix = g_strndup (str, end - str);
          cut = g_strconcat (prefix, "…", NULL);
          str = cut;
        }
    }
  else
    {
      pango_layout_set_width (text->layout, -1);
      pango_layout_set_ellipsize (text->layout, PANGO_ELLIPSIZE_NONE);
    }
  pango_layout_set_text (text->layout, str ? str : "", -1);

  PangoRectangle logical;
  pango_layout_get_extents (text->layout, NULL, &logical);
  double w = logical.width / (double) PANGO_SCALE;
  return max_width > 0 ? MIN (w, max_width) : w;
}

double
attnviz_painter_text_line_height (const AttnvizPainterText *text, double size)
{
  return (text->ascent + text->descent) * size;
}

/* ---- Text kept as text in SVG ------------------------------------------- */

/* The first characters of STR that fit WIDTH at the layout's font with
 * "…" after them: what pango shows of an ellipsized line. */
static char *
svg_ellipsized (AttnvizPainterText *text, const char *str, double width)
{
  g_autoptr(PangoLayout) probe = pango_layout_new (text->context);
  pango_layout_set_font_description (probe, text->font);
  glong n = g_utf8_strlen (str, -1);
  for (glong k = n; k > 0; k--)
    {
      g_autofree char *prefix = g_utf8_substring (str, 0, k);
      g_autofree char *shown = g_strconcat (prefix, "…", NULL);
      pango_layout_set_text (probe, shown, -1);
      PangoRectangle logical;
      pango_layout_get_extents (probe, NULL, &logical);
      if (logical.width / (double) PANGO_SCALE <= width + 0.01)
        return g_steal_pointer (&shown);
    }
  return g_strdup ("…");
}

/* Appends STR as a <text> whose baseline starts at (X, Y) in the cr's user
 * space, WIDTH long there, in the cr's current colour. */
static void
svg_text (AttnvizPainterText *text, const char *str, double x, double y, double width)
{
  cairo_t *cr = text->cr;
  cairo_matrix_t m;
  cairo_get_matrix (cr, &m);
  double dx = x, dy = y;
  cairo_user_to_device (cr, &dx, &dy);
  double scale = hypot (m.xx, m.yx);
  double angle = atan2 (m.yx, m.xx) * 180.0 / G_PI;
  double size = pango_font_description_get_size (text->font) / (double) PANGO_SCALE * scale;
  gboolean bold = pango_font_description_get_weight (text->font) >= PANGO_WEIGHT_BOLD;
  double r = 0, g = 0, b = 0, a = 1;
  cairo_pattern_get_rgba (cairo_get_source (cr), &r, &g, &b, &a);

  g_autofree char *escaped = g_markup_escape_text (str, -1);
  char num[6][G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append_printf (text->svg, "<text x=\"%s\" y=\"%s\" font-family=\"%s\" font-size=\"%s\"%s "
                          "fill=\"#%02x%02x%02x\"",
                          g_ascii_formatd (num[0], sizeof num[0], "%.3f", dx),
                          g_ascii_formatd (num[1], sizeof num[1], "%.3f", dy),
                          ATTNVIZ_PAINTER_FONT_FAMILY,
                          g_ascii_formatd (num[2], sizeof num[2], "%.3f", size),
                          bold ? " font-weight=\"bold\"" : "",
                          (int) lround (r * 255), (int) lround (g * 255), (int) lround (b * 255));
  if (a < 1)
    g_string_append_printf (text->svg, " fill-opacity=\"%s\"", g_ascii_formatd (num[3], sizeof num[3], "%.3f", a));
  /* The length pango measured: another font's text keeps its place. */
  if (width > 0)
    g_string_append_printf (text->svg, " textLength=\"%s\" lengthAdjust=\"spacingAndGlyphs\"",
                            g_ascii_formatd (num[4], sizeof num[4], "%.3f", width * scale));
  if (fabs (angle) > 1e-6)
    g_string_append_printf (text->svg, " transform=\"rotate(%s %s %s)\"",
                            g_ascii_formatd (num[5], sizeof num[5], "%.3f", angle), num[0], num[1]);
  g_string_append_printf (text->svg, ">%s</text>\n", escaped);
}

/* Every line of the layout as a <text>, its top left at (X, TOP). */
static void
svg_layout (AttnvizPainterText *text, double x, double top)
{
  const char *str = pango_layout_get_text (text->layout);
  gboolean ellipsized = pango_layout_is_ellipsized (text->layout);
  int n_lines = pango_layout_get_line_count (text->layout);
  PangoLayoutIter *iter = pango_layout_get_iter (text->layout);
  int i = 0;
  do
    {
      PangoLayoutLine *line = pango_layout_iter_get_line_readonly (iter);
      PangoRectangle logical;
      pango_layout_iter_get_line_extents (iter, NULL, &logical);
      double baseline = top + pango_layout_iter_get_baseline (iter) / (double) PANGO_SCALE;
      double lx = x + logical.x / (double) PANGO_SCALE, lw = logical.width / (double) PANGO_SCALE;
      g_autofree char *shown = NULL;
      if (ellipsized && i == n_lines - 1)
        shown = svg_ellipsized (text, str + line->start_index, lw);
      else
        shown = g_strndup (str + line->start_index, line->length);
      g_strchomp (shown);
      if (*shown)
        svg_text (text, shown, lx, baseline, lw);
      i++;
    }
  while (pango_layout_iter_next_line (iter));
  pango_layout_iter_free (iter);
}

void
attnviz_painter_text_draw (AttnvizPainterText *text, double x, double y, double xalign, double yalign)
{
  g_return_if_fail (text->cr != NULL);

  cairo_t *cr = text->cr;
  double size = pango_font_description_get_size (text->font) / (double) PANGO_SCALE;
  PangoRectangle logical;
  pango_layout_get_extents (text->layout, NULL, &logical);
  double w = logical.width / (double) PANGO_SCALE;
  double lh = attnviz_painter_text_line_height (text, size);
  double baseline = y - yalign * lh + text->ascent * size;

  if (text->svg != NULL)
    {
      svg_layout (text, x - xalign * w - logical.x / (double) PANGO_SCALE,
                  baseline - pango_layout_get_baseline (text->layout) / (double) PANGO_SCALE);
      return;
    }
  pango_cairo_update_layout (cr, text->layout);
  cairo_move_to (cr, x - xalign * w - logical.x / (double) PANGO_SCALE,
                 baseline - pango_layout_get_baseline (text->layout) / (double) PANGO_SCALE);
  pango_cairo_show_layout (cr, text->layout);
}

/* The layout as a box whose top left is (X, Y): for centred, wrapped text. */
static void
attnviz_painter_text_draw_box (AttnvizPainterText *text, double x, double y)
{
  cairo_t *cr = text->cr;
  double size = pango_font_description_get_size (text->font) / (double) PANGO_SCALE;
  double baseline = y + text->ascent * size;

  if (text->svg != NULL)
    {
      svg_layout (text, x, baseline - pango_layout_get_baseline (text->layout) / (double) PANGO_SCALE);
      return;
    }
  pango_cairo_update_layout (cr, text->layout);
  cairo_move_to (cr, x, baseline - pango_layout_get_baseline (text->layout) / (double) PANGO_SCALE);
  pango_cairo_show_layout (cr, text->layout);
}

void
attnviz_painter_set_source (cairo_t *cr, const AttnvizRGBA *fg, double alpha)
{
  if (fg != NULL && fg->alpha > 0)
    cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, fg->alpha * alpha);
  else
    cairo_set_source_rgba (cr, 0.13, 0.13, 0.13, alpha);
}

/* ---- Values to pixels ----------------------------------------------------- */

/* The table covers w in [2^-24, 1) in buckets of 2^10 per octave: the float
 * bits shifted right by 13 (23 mantissa bits - 10). */
#define BUCKET_SHIFT 13
#define BUCKET_W_MIN 5.9604644775390625e-08f   /* 2^-24 */
#define BUCKET_BITS_MIN 0x33800000u            /* bits of 2^-24 */
#define BUCKET_BITS_ONE 0x3f800000u            /* bits of 1.0f */
#define N_BUCKETS ((BUCKET_BITS_ONE - BUCKET_BITS_MIN) >> BUCKET_SHIFT)
/* A table costs N_BUCKETS log() or pow(); below this many values, computing
 * each one is cheaper. */
#define BUCKET_MIN_VALUES 65536

static inline guint32
float_bits (float f)
{
  guint32 u;
  memcpy (&u, &f, sizeof u);
  return u;
}

static inline float
bits_float (guint32 u)
{
  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

/* t of w = (v - a) * s for w in (0, 1). */
static inline double
colorizer_t (const AttnvizColorizer *c, double w)
{
  switch (c->scale.kind)
    {
    case ATTNVIZ_SCALE_LOG:
      return 1.0 + log (w) * c->log_k;
    case ATTNVIZ_SCALE_POWER:
      return pow (w, c->scale.gamma > 0 ? c->scale.gamma : ATTNVIZ_SCALE_DEFAULT_GAMMA);
    case ATTNVIZ_SCALE_LINEAR:
    default:
      return w;
    }
}

static inline int
level_of_t (double t)
{
  if (!(t > 0))
    return 0;
  if (t >= 1)
    return ATTNVIZ_COLORIZER_LEVELS - 1;
  return (int) (t * (ATTNVIZ_COLORIZER_LEVELS - 1) + 0.5);
}

void
attnviz_colorizer_init (AttnvizColorizer *c, const AttnvizScale *scale, AttnvizColormap map, gsize n_values)
{
  memset (c, 0, sizeof *c);
  attnviz_colormap_fill_lut (map, c->lut, ATTNVIZ_COLORIZER_LEVELS);
  double rgb[3];
  attnviz_colormap_nodata (map, rgb);
  c->nodata = attnviz_colormap_pack (rgb);
  attnviz_colorizer_set_scale (c, scale, n_values);
}

void
attnviz_colorizer_set_scale (AttnvizColorizer *c, const AttnvizScale *scale, gsize n_values)
{
  double lo, hi;

  c->scale = *scale;
  attnviz_scale_get_bounds (scale, &lo, &hi);
  if (!(hi > lo))
    hi = lo + 1;
  if (scale->kind == ATTNVIZ_SCALE_LOG)
    {
      c->a = 0;
      c->s = (float) (1.0 / hi);
      c->log_k = (float) (1.0 / log (hi / lo));
    }
  else
    {
      c->a = (float) lo;
      c->s = (float) (1.0 / (hi - lo));
    }

  g_clear_pointer (&c->bucket, g_free);
  if (scale->kind != ATTNVIZ_SCALE_LINEAR && n_values >= BUCKET_MIN_VALUES)
    {
      c->bucket = g_new (guint16, N_BUCKETS);
      for (guint k = 0; k < N_BUCKETS; k++)
        {
          /* The middle of the bucket. */
          float w = bits_float (BUCKET_BITS_MIN + (k << BUCKET_SHIFT) + (1u << (BUCKET_SHIFT - 1)));
          c->bucket[k] = (guint16) level_of_t (colorizer_t (c, w));
        }
    }
}

void
attnviz_colorizer_clear (AttnvizColorizer *c)
{
  g_clear_pointer (&c->bucket, g_free);
}

static inline guint32
colorize (const AttnvizColorizer *c, float v)
{
  if (v != v)
    return c->nodata;
  float w = (v - c->a) * c->s;
  if (!(w > 0))
    return c->lut[0];
  if (w >= 1)
    return c->lut[ATTNVIZ_COLORIZER_LEVELS - 1];
  if (c->scale.kind == ATTNVIZ_SCALE_LINEAR)
    return c->lut[(int) (w * (ATTNVIZ_COLORIZER_LEVELS - 1) + 0.5f)];
  if (c->bucket != NULL && w >= BUCKET_W_MIN)
    return c->lut[c->bucket[(float_bits (w) - BUCKET_BITS_MIN) >> BUCKET_SHIFT]];
  return c->lut[level_of_t (colorizer_t (c, w))];
}

guint32
attnviz_colorizer_pixel (const AttnvizColorizer *c, float v)
{
  return colorize (c, v);
}

void
attnviz_colorizer_row (const AttnvizColorizer *c, const float *in, int n, guint32 *out)
{
  for (int i = 0; i < n; i++)
    out[i] = colorize (c, in[i]);
}

cairo_surface_t *
attnviz_painter_matrix_surface (const AttnvizColorizer *c, const float *matrix, int rows, int cols, gsize row_stride)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, cols, rows);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    {
      g_warning ("cannot make a %d x %d image: %s", cols, rows,
                 cairo_status_to_string (cairo_surface_status (surface)));
      cairo_surface_destroy (surface);
      return NULL;
    }
  cairo_surface_flush (surface);
  guchar *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  for (int r = 0; r < rows; r++)
    attnviz_colorizer_row (c, matrix + (gsize) r * row_stride, cols, (guint32 *) (data + (gsize) r * stride));
  cairo_surface_mark_dirty (surface);
  return surface;
}

void
attnviz_painter_mask_cells (const AttnvizColorizer *c, cairo_surface_t *surface, int row0, int col0, gboolean future,
                            const AttnvizPattern *pattern)
{
  gboolean sparse = pattern != NULL && !attnviz_pattern_is_dense (pattern);
  if (surface == NULL || (!future && !sparse))
    return;
  int w = cairo_image_surface_get_width (surface), h = cairo_image_surface_get_height (surface);
  int stride = cairo_image_surface_get_stride (surface);
  cairo_surface_flush (surface);
  guchar *data = cairo_image_surface_get_data (surface);
  for (int i = 0; i < h; i++)
    {
      guint32 *row = (guint32 *) (data + (gsize) i * stride);
      /* Pixel j is column col0 + j: the future from column row0 + i + 1 on. */
      int first_future = future ? CLAMP (row0 + i + 1 - col0, 0, w) : w;
      for (int j = 0; sparse && j < first_future; j++)
        if (!attnviz_pattern_allows (pattern, row0 + i, col0 + j))
          row[j] = c->nodata;
      for (int j = first_future; j < w; j++)
        row[j] = c->nodata;
    }
  cairo_surface_mark_dirty (surface);
}

/* SURFACE (RGB24) with each pixel repeated KX times across and KY down. */
static cairo_surface_t *
upscale_nearest (cairo_surface_t *surface, int kx, int ky)
{
  int w = cairo_image_surface_get_width (surface);
  int h = cairo_image_surface_get_height (surface);
  cairo_surface_t *big = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w * kx, h * ky);
  if (cairo_surface_status (big) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (big);
      return cairo_surface_reference (surface);
    }
  cairo_surface_flush (surface);
  cairo_surface_flush (big);
  const guchar *src = cairo_image_surface_get_data (surface);
  int src_stride = cairo_image_surface_get_stride (surface);
  guchar *dst = cairo_image_surface_get_data (big);
  int dst_stride = cairo_image_surface_get_stride (big);
  for (int y = 0; y < h; y++)
    {
      const guint32 *in = (const guint32 *) (src + (gsize) y * src_stride);
      guint32 *out = (guint32 *) (dst + (gsize) y * ky * dst_stride);
      for (int x = 0; x < w; x++)
        for (int k = 0; k < kx; k++)
          out[x * kx + k] = in[x];
      for (int k = 1; k < ky; k++)
        memcpy (dst + ((gsize) y * ky + k) * dst_stride, out, (gsize) w * kx * 4);
    }
  cairo_surface_mark_dirty (big);
  return big;
}

/* Largest image an SVG embeds for one matrix, in pixels. */
#define SVG_MAX_PIXELS (16u << 20)

void
attnviz_painter_draw_surface (cairo_t *cr, cairo_surface_t *surface, const AttnvizRect *rect)
{
  int w = cairo_image_surface_get_width (surface);
  int h = cairo_image_surface_get_height (surface);
  if (w <= 0 || h <= 0 || !(rect->width > 0) || !(rect->height > 0))
    return;

  /* Cairo's SVG backend drops the filter and SVG viewers smooth images by
   * default: there, embed the image already enlarged to about 300 dpi, so
   * smoothing can only soften a cell's outermost pixel. */
  cairo_surface_t *image = cairo_surface_reference (surface);
  if (cairo_surface_get_type (cairo_get_target (cr)) == CAIRO_SURFACE_TYPE_SVG)
    {
      double dw = rect->width, dh = 0, ew = 0, eh = rect->height;
      cairo_user_to_device_distance (cr, &dw, &dh);
      cairo_user_to_device_distance (cr, &ew, &eh);
      double dpi_scale = 300.0 / 72.0;
      int kx = MAX (1, (int) ceil (hypot (dw, dh) * dpi_scale / w));
      int ky = MAX (1, (int) ceil (hypot (ew, eh) * dpi_scale / h));
      while ((guint64) w * kx * h * ky > SVG_MAX_PIXELS && (kx > 1 || ky > 1))
        {
          if (kx >= ky)
            kx = MAX (1, kx / 2);
          else
            ky = MAX (1, ky / 2);
        }
      if (kx > 1 || ky > 1)
        {
          cairo_surface_destroy (image);
          image = upscale_nearest (surface, kx, ky);
          w = cairo_image_surface_get_width (image);
          h = cairo_image_surface_get_height (image);
        }
    }

  cairo_save (cr);
  cairo_translate (cr, rect->x, rect->y);
  cairo_scale (cr, rect->width / w, rect->height / h);
  cairo_set_source_surface (cr, image, 0, 0);
  /* One cell, one block of colour: never blur neighbouring weights, on
   * screen, in a PNG, or in the image a PDF embeds (/Interpolate false). */
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_rectangle (cr, 0, 0, w, h);
  cairo_fill (cr);
  cairo_restore (cr);
  cairo_surface_destroy (image);
}

/* ---- Labels --------------------------------------------------------------- */

int
attnviz_painter_label_step (double pitch, double extent, int n, double total)
{
  if (n <= 0 || !(pitch > 0) || total < extent)
    return 0;
  int k = (int) ceil (extent / pitch);
  if (k < 1)
    k = 1;
  while (k * pitch < extent)
    k++;
  return k;
}

/* ---- Titles --------------------------------------------------------------- */

#define TITLE_SCALE 1.25
#define SUBTITLE_SCALE 0.95

/* A title or a subtitle wraps, centred, into at most TITLE_LINES lines of
 * WIDTH (then ends in "…"); returns its line count.  A narrow panel (one
 * of A | B | A − B two columns wide) keeps its head's number in the title
 * that way instead of "A · model · layer 1…". */
#define TITLE_LINES 2

static int
wrapped_set (AttnvizPainterText *text, const char *str, double size, gboolean bold, double width)
{
  attnviz_painter_text_set (text, str, size, bold, width);
  pango_layout_set_wrap (text->layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_height (text->layout, -TITLE_LINES);
  pango_layout_set_alignment (text->layout, PANGO_ALIGN_CENTER);
  return MIN (pango_layout_get_line_count (text->layout), TITLE_LINES);
}

double
attnviz_painter_titles_layout (AttnvizPainterText *text, const char *title, const char *subtitle,
                               double font_size, double width, double margin,
                               AttnvizRect *title_rect, AttnvizRect *subtitle_rect)
{
  double y = margin;
  *title_rect = (AttnvizRect) { margin, y, MAX (0, width - 2 * margin), 0 };
  if (title != NULL && *title)
    {
      int lines = title_rect->width > 0
                  ? wrapped_set (text, title, TITLE_SCALE * font_size, TRUE, title_rect->width) : 1;
      title_rect->height = lines * attnviz_painter_text_line_height (text, TITLE_SCALE * font_size);
      y += title_rect->height;
    }
  *subtitle_rect = (AttnvizRect) { margin, y, MAX (0, width - 2 * margin), 0 };
  if (subtitle != NULL && *subtitle)
    {
      int lines = subtitle_rect->width > 0
                  ? wrapped_set (text, subtitle, SUBTITLE_SCALE * font_size, FALSE, subtitle_rect->width) : 1;
      subtitle_rect->height = lines * attnviz_painter_text_line_height (text, SUBTITLE_SCALE * font_size);
      y += subtitle_rect->height;
    }
  if (y > margin)
    y += 0.6 * font_size;
  return y;
}

void
attnviz_painter_draw_titles (cairo_t *cr, AttnvizPainterText *text, const char *title,
                             const char *subtitle, double font_size,
                             const AttnvizRect *title_rect, const AttnvizRect *subtitle_rect,
                             const AttnvizRGBA *fg)
{
  if (title_rect->height > 0 && title_rect->width > 0)
    {
      attnviz_painter_set_source (cr, fg, 1.0);
      wrapped_set (text, title, TITLE_SCALE * font_size, TRUE, title_rect->width);
      /* Centred lines in a box of the rect's width. */
      pango_layout_set_width (text->layout, (int) floor (title_rect->width * PANGO_SCALE));
      attnviz_painter_text_draw_box (text, title_rect->x, title_rect->y);
    }
  if (subtitle_rect->height > 0 && subtitle_rect->width > 0)
    {
      attnviz_painter_set_source (cr, fg, 0.65);
      wrapped_set (text, subtitle, SUBTITLE_SCALE * font_size, FALSE, subtitle_rect->width);
      /* Centred lines in a box of the rect's width. */
      pango_layout_set_width (text->layout, (int) floor (subtitle_rect->width * PANGO_SCALE));
      attnviz_painter_text_draw_box (text, subtitle_rect->x, subtitle_rect->y);
    }
}

/* ---- Any figure ------------------------------------------------------------ */

void
attnviz_paint_figure (cairo_t *cr, AttnvizFigureKind kind, const void *spec, double width, double height)
{
  switch (kind)
    {
    case ATTNVIZ_FIGURE_HEATMAP:
      attnviz_paint_heatmap (cr, spec, width, height);
      break;
    case ATTNVIZ_FIGURE_GRID:
      attnviz_paint_grid (cr, spec, width, height);
      break;
    case ATTNVIZ_FIGURE_LINES:
      attnviz_paint_lines (cr, spec, width, height);
      break;
    case ATTNVIZ_FIGURE_STEP:
      attnviz_paint_step (cr, spec, width, height);
      break;
    case ATTNVIZ_FIGURE_HEATMAP_ROW:
      attnviz_paint_heatmap_row (cr, spec, width, height);
      break;
    case ATTNVIZ_FIGURE_SCATTER:
      attnviz_paint_scatter (cr, spec, width, height);
      break;
    default:
      g_return_if_reached ();
    }
}
