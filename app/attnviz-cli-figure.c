/* attnviz-cli-figure.c: sizes, ranges and switches of a rendered figure */
#define G_LOG_DOMAIN "attnviz-cli"
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "attnviz-cli-figure.h"

/* The largest figure side, in points (139 inches). */
#define MAX_SIDE_PT 10000.0

static const struct {
  const char *suffix;
  double points;         /* per unit */
} units[] = {
  { "mm", 72.0 / 25.4 },
  { "cm", 72.0 / 2.54 },
  { "in", 72.0 },
  { "pt", 1.0 },
  { "", 1.0 },
};

gboolean
attnviz_cli_parse_length (const char *option, const char *text, gboolean presets, double *pt, GError **error)
{
  if (presets && g_strcmp0 (text, "one-column") == 0)
    {
      *pt = 240.0;
      return TRUE;
    }
  if (presets && g_strcmp0 (text, "two-column") == 0)
    {
      *pt = 504.0;
      return TRUE;
    }
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (units); i++)
    {
      if (!g_str_has_suffix (text, units[i].suffix))
        continue;
      gsize n = strlen (text) - strlen (units[i].suffix);
      g_autofree char *number = g_strndup (text, n);
      char *end = NULL;
      double v = g_ascii_strtod (number, &end);
      if (n == 0 || end == NULL || *end != '\0' || !isfinite (v))
        continue;
      v *= units[i].points;
      if (!(v >= 10.0 && v <= MAX_SIDE_PT))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s %s: expected a length between 10 pt and %g pt (%.0f mm)", option, text, MAX_SIDE_PT,
                       MAX_SIDE_PT * 25.4 / 72.0);
          return FALSE;
        }
      *pt = v;
      return TRUE;
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "%s %s: expected a length such as 85mm, 8.5cm, 3.3in or 240pt%s", option, text ? text : "",
               presets ? ", or one-column or two-column" : "");
  return FALSE;
}

gboolean
attnviz_cli_figure_check (AttnvizCliFigure *f, double vmin, double vmax, GError **error)
{
  f->width_pt = f->height_pt = 0;
  f->vmin = vmin;
  f->vmax = vmax;
  if (f->width_s && !attnviz_cli_parse_length ("--width", f->width_s, TRUE, &f->width_pt, error))
    return FALSE;
  if (f->height_s && !attnviz_cli_parse_length ("--height", f->height_s, FALSE, &f->height_pt, error))
    return FALSE;
  if (!(f->font_size >= 0 && f->font_size <= 200))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "--font-size %g: expected 1 to 200 points",
                   f->font_size);
      return FALSE;
    }
  if (f->dpi != 0 && !(f->dpi >= 72 && f->dpi <= 1200))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "--dpi %g: expected 72 to 1200", f->dpi);
      return FALSE;
    }
  if (f->range_s != NULL)
    {
      if (!isnan (vmin) || !isnan (vmax))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "--range: give either --range or --vmin/--vmax, not both");
          return FALSE;
        }
      const char *colon = strchr (f->range_s, ':');
      char *end1 = NULL, *end2 = NULL;
      g_autofree char *lo = colon ? g_strndup (f->range_s, colon - f->range_s) : NULL;
      double a = lo ? g_ascii_strtod (lo, &end1) : NAN;
      double b = colon ? g_ascii_strtod (colon + 1, &end2) : NAN;
      if (colon == NULL || *lo == '\0' || colon[1] == '\0' || *end1 != '\0' || *end2 != '\0' || !isfinite (a)
          || !isfinite (b) || !(a < b))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "--range %s: expected LO:HI, two finite numbers with LO < HI (such as 0:1)", f->range_s);
          return FALSE;
        }
      f->vmin = a;
      f->vmax = b;
    }
  f->range_mode = ATTNVIZ_RANGE_HEAD;
  if (f->range_mode_s != NULL && !attnviz_range_mode_from_string (f->range_mode_s, &f->range_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--range-mode %s: expected head, layer, run or fixed", f->range_mode_s);
      return FALSE;
    }
  gboolean user_range = !isnan (f->vmin) || !isnan (f->vmax);
  if (user_range && f->range_mode_s != NULL && f->range_mode != ATTNVIZ_RANGE_FIXED)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--range-mode %s: a range given with --range, --vmin or --vmax is fixed; leave one out",
                   f->range_mode_s);
      return FALSE;
    }
  if (!isnan (f->vmin) && !isnan (f->vmax))
    f->range_mode = ATTNVIZ_RANGE_FIXED;
  return TRUE;
}

/* SUBTITLE with its " · colours: …" (what the range is fitted to) saying
 * CAPTION; interned, as the spec's strings belong to someone else. */
static const char *
subtitle_with_colours (const char *subtitle, const char *caption)
{
  if (subtitle == NULL)
    return NULL;
  const char *at = strstr (subtitle, " · colours: ");
  g_autofree char *head = at ? g_strndup (subtitle, at - subtitle) : g_strdup (subtitle);
  g_autofree char *s = g_strdup_printf ("%s · colours: %s", head, caption);
  return g_intern_string (s);
}

/* Sets SCALE to F's fixed range; FALSE when F fixes none. */
static gboolean
apply_range (const AttnvizCliFigure *f, AttnvizColormap colormap, AttnvizScale *scale)
{
  gboolean diverging = attnviz_colormap_is_diverging (colormap);
  if (isnan (f->vmin) && isnan (f->vmax))
    {
      if (f->range_mode != ATTNVIZ_RANGE_FIXED)
        return FALSE;
      /* Fixed with no range given: probabilities' (a difference's −1 to 1). */
      scale->vmin = diverging ? -1 : 0;
      scale->vmax = 1;
      return TRUE;
    }
  if (diverging)
    return FALSE;
  /* Only the ends given; the other stays the data's unless that leaves
   * no range. */
  if (!isnan (f->vmin))
    scale->vmin = f->vmin;
  if (!isnan (f->vmax))
    scale->vmax = f->vmax;
  if (!(scale->vmin < scale->vmax))
    {
      if (isnan (f->vmax))
        scale->vmax = MAX (scale->vmin + 1, 1);
      else
        scale->vmin = MIN (scale->vmax - 1, 0);
    }
  return TRUE;
}

static void
apply_heatmap (const AttnvizCliFigure *f, AttnvizHeatmapSpec *spec)
{
  if (f->no_title)
    spec->title = NULL;
  if (f->no_subtitle)
    spec->subtitle = NULL;
  if (f->no_colorbar)
    spec->colorbar = FALSE;
  if (f->font_size > 0)
    spec->font_size = f->font_size;
  if (!f->keep_selection)
    spec->highlight_row = spec->highlight_col = -1;
  if (apply_range (f, spec->colormap, &spec->scale))
    {
      /* The bar and the subtitle say what the colours now mean. */
      g_autofree char *caption = attnviz_range_mode_describe (ATTNVIZ_RANGE_FIXED, &spec->scale);
      spec->scale_caption = g_intern_string (caption);
      spec->subtitle = subtitle_with_colours (spec->subtitle, caption);
    }
}

void
attnviz_cli_figure_apply (const AttnvizCliFigure *f, AttnvizFigureKind kind, void *spec)
{
  g_return_if_fail (f != NULL && spec != NULL);

  switch (kind)
    {
    case ATTNVIZ_FIGURE_HEATMAP:
      apply_heatmap (f, spec);
      break;
    case ATTNVIZ_FIGURE_HEATMAP_ROW:
      {
        AttnvizHeatmapRowSpec *row = spec;
        for (int i = 0; i < row->n_panels; i++)
          apply_heatmap (f, &row->panels[i]);
      }
      break;
    case ATTNVIZ_FIGURE_GRID:
      {
        AttnvizGridSpec *grid = spec;
        if (f->no_title)
          grid->title = NULL;
        if (f->no_subtitle)
          grid->subtitle = NULL;
        grid->colorbar = !f->no_colorbar;
        if (f->font_size > 0)
          grid->font_size = f->font_size;
        if (!f->keep_selection)
          grid->current_layer = grid->current_head = -1;
        if (apply_range (f, grid->colormap, &grid->scale))
          {
            g_autofree char *caption = attnviz_range_mode_describe (ATTNVIZ_RANGE_FIXED, &grid->scale);
            grid->subtitle = subtitle_with_colours (grid->subtitle, caption);
          }
      }
      break;
    case ATTNVIZ_FIGURE_LINES:
      {
        AttnvizLinesSpec *lines = spec;
        if (f->no_title)
          lines->title = NULL;
        if (f->no_subtitle)
          lines->subtitle = NULL;
        if (f->font_size > 0)
          lines->font_size = f->font_size;
        if (!f->keep_selection)
          lines->highlight_row = -1;
      }
      break;
    case ATTNVIZ_FIGURE_STEP:
      {
        AttnvizStepSpec *step = spec;
        if (f->no_title)
          step->title = NULL;
        if (f->no_subtitle)
          step->subtitle = NULL;
        if (f->font_size > 0)
          step->font_size = step->lines.font_size = step->panel.font_size = f->font_size;
        /* the step's own row stays highlighted: it is what the figure shows */
        if (!f->keep_selection)
          step->panel.current_layer = step->panel.current_head = -1;
      }
      break;
    case ATTNVIZ_FIGURE_SCATTER:
      {
        AttnvizScatterSpec *scatter = spec;
        if (f->no_title)
          scatter->title = NULL;
        if (f->no_subtitle)
          scatter->subtitle = NULL;
        if (f->font_size > 0)
          scatter->font_size = f->font_size;
        if (!f->keep_selection)
          scatter->highlight_query = scatter->highlight_key = -1;
      }
      break;
    }
}

void
attnviz_cli_figure_size (const AttnvizCliFigure *f, double default_w, double default_h, double *width_pt,
                         double *height_pt)
{
  double w = default_w, h = default_h;
  if (f->width_pt > 0 && f->height_pt <= 0)
    h = MAX (default_h * f->width_pt / default_w, 10.0);
  if (f->width_pt > 0)
    w = f->width_pt;
  if (f->height_pt > 0)
    h = f->height_pt;
  *width_pt = w;
  *height_pt = h;
}

AttnvizExportOptions
attnviz_cli_figure_export_options (const AttnvizCliFigure *f, const char *title)
{
  AttnvizExportOptions o = { .dpi = f->dpi, .transparent = f->transparent, .title = title };
  return o;
}

void
attnviz_cli_figure_clear (AttnvizCliFigure *f)
{
  g_clear_pointer (&f->width_s, g_free);
  g_clear_pointer (&f->height_s, g_free);
  g_clear_pointer (&f->range_s, g_free);
  g_clear_pointer (&f->range_mode_s, g_free);
}
