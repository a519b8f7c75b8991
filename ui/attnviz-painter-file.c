/* attnviz-painter-file.c: a figure into a PNG, SVG or PDF file, written
 * through a temporary file in the same folder and renamed */
#define G_LOG_DOMAIN "attnviz-painter"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <gio/gio.h>

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

/* White page, then the figure. */
static cairo_status_t
paint_page (cairo_surface_t *surface, double scale, AttnvizFigureKind kind, const void *spec,
            double width_pt, double height_pt)
{
  cairo_t *cr = cairo_create (surface);
  cairo_scale (cr, scale, scale);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  attnviz_paint_figure (cr, kind, spec, width_pt, height_pt);
  cairo_status_t status = cairo_status (cr);
  cairo_destroy (cr);
  return status;
}

gboolean
attnviz_paint_to_file (const char *path, AttnvizFigureKind kind, const void *spec,
                       double width_pt, double height_pt, GError **error)
{
  g_return_val_if_fail (path != NULL && spec != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

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
  double scale = ATTNVIZ_PAINTER_PNG_DPI / 72.0;
  double px_w = ceil (width_pt * scale), px_h = ceil (height_pt * scale);
  if (format == FORMAT_PNG && (px_w > MAX_PNG_PIXELS || px_h > MAX_PNG_PIXELS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: %g x %g pt at %g dpi is over %d pixels a side", path, width_pt, height_pt,
                   ATTNVIZ_PAINTER_PNG_DPI, MAX_PNG_PIXELS);
      return FALSE;
    }

  AttnvizAtomicFile *file = attnviz_atomic_file_open (path, error);
  if (file == NULL)
    return FALSE;
  FILE *stream = attnviz_atomic_file_get_stream (file);

  cairo_status_t status;
  cairo_surface_t *surface;
  switch (format)
    {
    case FORMAT_PNG:
      surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, (int) px_w, (int) px_h);
      status = cairo_surface_status (surface);
      if (status == CAIRO_STATUS_SUCCESS)
        status = paint_page (surface, px_w / width_pt, kind, spec, width_pt, height_pt);
      if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_write_to_png_stream (surface, write_stream, stream);
      break;
    case FORMAT_SVG:
      surface = cairo_svg_surface_create_for_stream (write_stream, stream, width_pt, height_pt);
      cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PT);
      status = paint_page (surface, 1.0, kind, spec, width_pt, height_pt);
      break;
    case FORMAT_PDF:
    default:
      surface = cairo_pdf_surface_create_for_stream (write_stream, stream, width_pt, height_pt);
      cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "attnviz " PACKAGE_VERSION);
      status = paint_page (surface, 1.0, kind, spec, width_pt, height_pt);
      break;
    }
  /* The vector backends write as they finish. */
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);

  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot draw the figure: %s",
                   path, cairo_status_to_string (status));
      attnviz_atomic_file_abort (file);
      return FALSE;
    }
  return attnviz_atomic_file_commit (file, error);
}
