/* attnviz-painter-file.c: a figure into a PNG, SVG or PDF file, written
 * through a temporary file in the same folder and renamed */
#define G_LOG_DOMAIN "attnviz-painter"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <gio/gio.h>
#include <string.h>
#include <zlib.h>

#include "attnviz-fileutil.h"
#include "attnviz-painter-private.h"

typedef enum {
  FORMAT_PNG,
  FORMAT_SVG,
  FORMAT_PDF,
} FileFormat;

/* The largest PNG side: cairo's image limit. */
#define MAX_PNG_PIXELS 32767

static gboolean
format_from_path (const char *path, FileFormat *format)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);
  if (g_str_has_suffix (lower, ".png"))
    *format = FORMAT_PNG;
  else if (g_str_has_suffix (lower, ".svg"))
    *format = FORMAT_SVG;
  else if (g_str_has_suffix (lower, ".pdf"))
    *format = FORMAT_PDF;
  else
    return FALSE;
  return TRUE;
}

static cairo_status_t
write_stream (void *closure, const unsigned char *data, unsigned int length)
{
  FILE *stream = closure;
  return fwrite (data, 1, length, stream) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

/* Writes the PNG cairo made (PNG) with a pHYs chunk of DPI after its IHDR
 * (signature 8 bytes, IHDR 25): cairo writes none, and without one an
 * editor guesses 72 or 96 dpi and places a 300 dpi figure four times too
 * large. */
static cairo_status_t
write_png_with_dpi (GByteArray *png, double dpi, FILE *stream)
{
  const gsize head = 8 + 25;
  if (png->len < head || memcmp (png->data + 12, "IHDR", 4) != 0)
    return CAIRO_STATUS_WRITE_ERROR;
  guint32 ppm = (guint32) lround (dpi / 0.0254);
  guint8 chunk[4 + 4 + 9 + 4];
  put_be32 (chunk, 9);
  memcpy (chunk + 4, "pHYs", 4);
  put_be32 (chunk + 8, ppm);
  put_be32 (chunk + 12, ppm);
  chunk[16] = 1; /* the unit is the metre */
  put_be32 (chunk + 17, (guint32) crc32 (0, chunk + 4, 4 + 9));
  if (fwrite (png->data, 1, head, stream) != head
      || fwrite (chunk, 1, sizeof chunk, stream) != sizeof chunk
      || fwrite (png->data + head, 1, png->len - head, stream) != png->len - head)
    return CAIRO_STATUS_WRITE_ERROR;
  return CAIRO_STATUS_SUCCESS;
}

/* Writes cairo's SVG with TEXT (<text> elements) before its closing
 * </svg>, over the drawing, and TITLE as its <title>: cairo draws text as
 * glyph outlines, which no one can search, select or edit. */
static cairo_status_t
write_svg (GByteArray *svg, const GString *text, const char *title, FILE *stream)
{
  static const char close[] = "</svg>";
  const guint8 *end = NULL;
  for (gsize i = svg->len; i >= sizeof close - 1 && end == NULL; i--)
    if (memcmp (svg->data + i - (sizeof close - 1), close, sizeof close - 1) == 0)
      end = svg->data + i - (sizeof close - 1);
  if (end == NULL)
    return CAIRO_STATUS_WRITE_ERROR;
  /* the <title> right after the root element's start tag */
  const guint8 *root = memmem (svg->data, svg->len, "<svg", 4);
  const guint8 *after = root ? memchr (root, '>', end - root) : NULL;
  gsize head = after && title != NULL ? (gsize) (after + 1 - svg->data) : 0;
  g_autofree char *title_xml = title != NULL ? g_markup_printf_escaped ("\n<title>%s</title>", title) : NULL;
  gsize body = end - svg->data;
  gboolean ok = fwrite (svg->data, 1, head, stream) == head
    && (head == 0 || fputs (title_xml, stream) >= 0)
    && fwrite (svg->data + head, 1, body - head, stream) == body - head
    && (text->len == 0 || fputs ("<g id=\"attnviz-text\">\n", stream) >= 0)
    && fwrite (text->str, 1, text->len, stream) == text->len
    && (text->len == 0 || fputs ("</g>\n", stream) >= 0)
    && fwrite (end, 1, svg->len - body, stream) == svg->len - body;
  return ok ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* The page (white unless TRANSPARENT), then the figure; its text recorded
 * into SVG_TEXT instead of drawn when that is not NULL. */
static cairo_status_t
paint_page (cairo_surface_t *surface, double scale, AttnvizFigureKind kind, const void *spec,
            double width_pt, double height_pt, gboolean transparent, GString *svg_text)
{
  cairo_t *cr = cairo_create (surface);
  if (svg_text != NULL)
    attnviz_painter_record_svg_text (cr, svg_text);
  cairo_scale (cr, scale, scale);
  if (!transparent)
    {
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
    }
  attnviz_paint_figure (cr, kind, spec, width_pt, height_pt);
  cairo_status_t status = cairo_status (cr);
  cairo_destroy (cr);
  return status;
}

int
attnviz_png_pixels (double width_pt, double dpi)
{
  return (int) ceil (width_pt * (dpi > 0 ? dpi : ATTNVIZ_PAINTER_PNG_DPI) / 72.0);
}

gboolean
attnviz_paint_to_file (const char *path, AttnvizFigureKind kind, const void *spec,
                       double width_pt, double height_pt, GError **error)
{
  return attnviz_paint_to_file_full (path, kind, spec, width_pt, height_pt, NULL, error);
}

gboolean
attnviz_paint_to_file_full (const char *path, AttnvizFigureKind kind, const void *spec,
                            double width_pt, double height_pt, const AttnvizExportOptions *options,
                            GError **error)
{
  g_return_val_if_fail (path != NULL && spec != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  AttnvizExportOptions defaults = { 0 };
  const AttnvizExportOptions *o = options ? options : &defaults;
  double dpi = o->dpi > 0 ? o->dpi : ATTNVIZ_PAINTER_PNG_DPI;
  FileFormat format;
  if (!format_from_path (path, &format))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: unknown image format (the name should end in .png, .svg or .pdf)", path);
      return FALSE;
    }
  if (!(width_pt > 0) || !(height_pt > 0) || !isfinite (width_pt) || !isfinite (height_pt))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: the figure's size %g x %g pt is not positive", path, width_pt, height_pt);
      return FALSE;
    }
  if (!(dpi >= 72 && dpi <= 1200))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: %g dpi is outside 72 to 1200", path, dpi);
      return FALSE;
    }
  /* (pt * dpi) first: 240 pt at 300 dpi is exactly 1000 pixels */
  double px_w = ceil (width_pt * dpi / 72.0), px_h = ceil (height_pt * dpi / 72.0);
  if (format == FORMAT_PNG && (px_w > MAX_PNG_PIXELS || px_h > MAX_PNG_PIXELS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: %g x %g pt at %g dpi is over %d pixels a side", path, width_pt, height_pt,
                   dpi, MAX_PNG_PIXELS);
      return FALSE;
    }

  AttnvizAtomicFile *file = attnviz_atomic_file_open (path, error);
  if (file == NULL)
    return FALSE;
  FILE *stream = attnviz_atomic_file_get_stream (file);

  cairo_status_t status;
  cairo_surface_t *surface;
  g_autoptr(GByteArray) svg = g_byte_array_new ();
  g_autoptr(GString) svg_text = g_string_new (NULL);
  switch (format)
    {
    case FORMAT_PNG:
      surface = cairo_image_surface_create (o->transparent ? CAIRO_FORMAT_ARGB32 : CAIRO_FORMAT_RGB24,
                                            (int) px_w, (int) px_h);
      status = cairo_surface_status (surface);
      if (status == CAIRO_STATUS_SUCCESS)
        status = paint_page (surface, px_w / width_pt, kind, spec, width_pt, height_pt, o->transparent, NULL);
      if (status == CAIRO_STATUS_SUCCESS)
        {
          g_autoptr(GByteArray) png = g_byte_array_new ();
          status = cairo_surface_write_to_png_stream (surface, append_bytes, png);
          if (status == CAIRO_STATUS_SUCCESS)
            status = write_png_with_dpi (png, dpi, stream);
        }
      break;
    case FORMAT_SVG:
      /* Into memory: the text goes in after cairo's drawing. */
      surface = cairo_svg_surface_create_for_stream (append_bytes, svg, width_pt, height_pt);
      cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PT);
      status = paint_page (surface, 1.0, kind, spec, width_pt, height_pt, o->transparent, svg_text);
      break;
    case FORMAT_PDF:
    default:
      surface = cairo_pdf_surface_create_for_stream (write_stream, stream, width_pt, height_pt);
      cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "attnviz " PACKAGE_VERSION);
      if (o->title != NULL)
        cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, o->title);
      status = paint_page (surface, 1.0, kind, spec, width_pt, height_pt, o->transparent, NULL);
      break;
    }
  /* The vector backends write as they finish. */
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status == CAIRO_STATUS_SUCCESS && format == FORMAT_SVG)
    status = write_svg (svg, svg_text, o->title, stream);

  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot draw the figure: %s",
                   path, cairo_status_to_string (status));
      attnviz_atomic_file_abort (file);
      return FALSE;
    }
  return attnviz_atomic_file_commit (file, error);
}
