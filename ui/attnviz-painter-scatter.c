/* attnviz-painter-scatter.c: one head's queries and keys as points in one
 * plane, as AttentionViz draws them (attnviz-qk.h makes the points)
 *
 * Equal units on both axes: after the normalisation a query lies near the
 * keys it attends to, and stretching one axis would bend that.  The plot
 * is framed with nice ticks, PC 1 under it and PC 2 up its left side, each
 * with the share of the variance it holds. */
#define G_LOG_DOMAIN "attnviz-painter"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-painter-private.h"

#define MARGIN_EMS 0.6
#define TICK_EMS 0.35          /* length of a tick mark */
#define GAP_EMS 0.3            /* between a tick label and the next thing */
#define PAD_FRACTION 0.06      /* of the data's span, between the outermost points and the frame */
#define LABEL_SCALE 0.85       /* point labels and tick labels, of the font size */
#define POINT_ALPHA 0.78
#define HIGHLIGHT_RADII 1.7    /* a highlighted point's radius, in points' radii */
#define HIT_RADII 3.0          /* how far from a point the pointer still names it */
#define MAX_TICKS 7

/* Okabe & Ito (2008): blue and orange, told apart with every colour vision. */
static const double query_rgb[3] = { 0.0, 114 / 255.0, 178 / 255.0 };
static const double key_rgb[3] = { 230 / 255.0, 159 / 255.0, 0.0 };

void
attnviz_scatter_spec_init (AttnvizScatterSpec *spec, const float *points, int n_queries, int n_keys)
{
  memset (spec, 0, sizeof *spec);
  spec->points = points;
  spec->n_queries = n_queries;
  spec->n_keys = n_keys;
  spec->explained[0] = spec->explained[1] = -1;
  spec->highlight_query = spec->highlight_key = -1;
}

static int
n_points (const AttnvizScatterSpec *spec)
{
  return spec->points ? MAX (spec->n_queries, 0) + MAX (spec->n_keys, 0) : 0;
}

/* The data's bounding box, padded; a unit box around the origin for none. */
static void
data_bounds (const AttnvizScatterSpec *spec, double *x0, double *x1, double *y0, double *y1)
{
  double lx = INFINITY, hx = -INFINITY, ly = INFINITY, hy = -INFINITY;
  for (int i = 0; i < n_points (spec); i++)
    {
      float x = spec->points[2 * i], y = spec->points[2 * i + 1];
      if (!isfinite (x) || !isfinite (y))
        continue;
      lx = MIN (lx, x); hx = MAX (hx, x);
      ly = MIN (ly, y); hy = MAX (hy, y);
    }
  if (!(lx <= hx))
    {
      lx = ly = -1;
      hx = hy = 1;
    }
  /* a cloud flat along an axis (or one point) still gets some room */
  double span = MAX (MAX (hx - lx, hy - ly), 1e-6);
  double pad = PAD_FRACTION * span;
  *x0 = lx - pad - (hx - lx < 1e-9 ? span / 2 : 0);
  *x1 = hx + pad + (hx - lx < 1e-9 ? span / 2 : 0);
  *y0 = ly - pad - (hy - ly < 1e-9 ? span / 2 : 0);
  *y1 = hy + pad + (hy - ly < 1e-9 ? span / 2 : 0);
}

/* The nice ticks within [LO, HI] and their labels (g_strfreev). */
static int
axis_ticks (double lo, double hi, double *ticks, char ***labels)
{
  AttnvizScale s;
  attnviz_scale_init (&s, ATTNVIZ_SCALE_LINEAR, lo, hi);
  int n = attnviz_scale_ticks (&s, MAX_TICKS, ticks);
  *labels = attnviz_scale_tick_labels (&s, ticks, n);
  return n;
}

static char *
axis_caption (int axis, double explained)
{
  if (explained >= 0)
    return g_strdup_printf ("PC %d (%.0f%% of variance)", axis + 1, 100 * explained);
  return g_strdup_printf ("PC %d", axis + 1);
}

static const char *
caption_of (const AttnvizScatterSpec *spec, gboolean query)
{
  const char *c = query ? spec->query_caption : spec->key_caption;
  return c != NULL ? c : query ? "queries" : "keys";
}

static void
scatter_layout (const AttnvizScatterSpec *spec, double width, double height, AttnvizPainterText *text,
                AttnvizScatterLayout *out)
{
  double fs = attnviz_painter_font_size (spec->font_size);
  double lfs = LABEL_SCALE * fs;
  double margin = MARGIN_EMS * fs;
  double lh = attnviz_painter_text_line_height (text, fs);
  double tlh = attnviz_painter_text_line_height (text, lfs);

  memset (out, 0, sizeof *out);
  out->width = width;
  out->height = height;
  out->font_size = fs;
  double top = attnviz_painter_titles_layout (text, spec->title, spec->subtitle, fs, width, margin,
                                              &out->title, &out->subtitle);
  top = MAX (top, margin);
  out->legend = (AttnvizRect) { margin, top, MAX (0, width - 2 * margin), lh };
  top += lh + GAP_EMS * fs;

  double x0, x1, y0, y1;
  data_bounds (spec, &x0, &x1, &y0, &y1);
  /* The y tick labels' width depends on the ticks, which depend on the
   * plot's height: measured once for the data's range (close enough;
   * ticks only move within it). */
  double ticks[16];
  char **labels = NULL;
  int n = axis_ticks (y0, y1, ticks, &labels);
  double label_w = 0;
  for (int i = 0; i < n; i++)
    label_w = MAX (label_w, attnviz_painter_text_set (text, labels[i], lfs, FALSE, 0));
  g_strfreev (labels);

  double left = margin + lh + GAP_EMS * fs + label_w + GAP_EMS * fs + TICK_EMS * fs;
  double bottom = margin + lh + GAP_EMS * fs + tlh + TICK_EMS * fs + GAP_EMS * fs;
  double right = margin + 0.5 * label_w;   /* the last x tick label may reach past the frame */
  out->plot = (AttnvizRect) { left, top, MAX (0, width - left - right), MAX (0, height - top - bottom) };
  out->x_caption = (AttnvizRect) { out->plot.x, height - margin - lh, out->plot.width, lh };
  out->y_caption = (AttnvizRect) { margin, out->plot.y, lh, out->plot.height };

  out->center_x = (x0 + x1) / 2;
  out->center_y = (y0 + y1) / 2;
  out->scale = MIN (out->plot.width / (x1 - x0), out->plot.height / (y1 - y0));
  if (!(out->scale > 0) || !isfinite (out->scale))
    out->scale = 1;
  int np = MAX (n_points (spec), 1);
  out->radius = CLAMP (0.18 * sqrt (out->plot.width * out->plot.height / np), 0.12 * fs, 0.32 * fs);
}

void
attnviz_scatter_layout (const AttnvizScatterSpec *spec, double width, double height, AttnvizScatterLayout *out)
{
  g_return_if_fail (spec != NULL && out != NULL);
  AttnvizPainterText text;
  attnviz_painter_text_init (&text, NULL);
  scatter_layout (spec, width, height, &text, out);
  attnviz_painter_text_clear (&text);
}

void
attnviz_scatter_layout_point (const AttnvizScatterLayout *layout, const AttnvizScatterSpec *spec, int i,
                              double *x, double *y)
{
  const AttnvizRect *p = &layout->plot;
  *x = p->x + p->width / 2 + (spec->points[2 * i] - layout->center_x) * layout->scale;
  /* up is positive */
  *y = p->y + p->height / 2 - (spec->points[2 * i + 1] - layout->center_y) * layout->scale;
}

int
attnviz_scatter_layout_hit (const AttnvizScatterLayout *layout, const AttnvizScatterSpec *spec, double x, double y)
{
  g_return_val_if_fail (layout != NULL && spec != NULL, -1);
  double reach = MAX (HIT_RADII * layout->radius, 6.0);
  double best = reach * reach;
  int hit = -1;
  for (int i = 0; i < n_points (spec); i++)
    {
      double px, py;
      attnviz_scatter_layout_point (layout, spec, i, &px, &py);
      double d = (px - x) * (px - x) + (py - y) * (py - y);
      if (d <= best)
        {
          best = d;
          hit = i;
        }
    }
  return hit;
}

/* A query's circle or a key's diamond of radius R at (X, Y). */
static void
marker_path (cairo_t *cr, gboolean query, double x, double y, double r)
{
  cairo_new_sub_path (cr);
  if (query)
    cairo_arc (cr, x, y, r, 0, 2 * G_PI);
  else
    {
      /* the same area as the circle */
      double d = r * 1.25;
      cairo_move_to (cr, x, y - d);
      cairo_line_to (cr, x + d, y);
      cairo_line_to (cr, x, y + d);
      cairo_line_to (cr, x - d, y);
      cairo_close_path (cr);
    }
}

static gboolean
is_query (const AttnvizScatterSpec *spec, int i)
{
  return i < spec->n_queries;
}

static const char *
point_label (const AttnvizScatterSpec *spec, int i)
{
  if (is_query (spec, i))
    return spec->query_labels ? spec->query_labels[i] : NULL;
  return spec->key_labels ? spec->key_labels[i - spec->n_queries] : NULL;
}

/* The token's text beside point I, on its right unless that leaves the plot. */
static void
draw_point_label (cairo_t *cr, AttnvizPainterText *text, const AttnvizScatterSpec *spec,
                  const AttnvizScatterLayout *layout, int i, double r, gboolean bold)
{
  const char *label = point_label (spec, i);
  if (label == NULL)
    return;
  double fs = layout->font_size, x, y;
  attnviz_scatter_layout_point (layout, spec, i, &x, &y);
  g_autofree char *shown = attnviz_painter_display_text (label);
  double w = attnviz_painter_text_set (text, shown, LABEL_SCALE * fs, bold, ATTNVIZ_PAINTER_MAX_LABEL_EMS * fs);
  gboolean right = x + r + 0.25 * fs + w <= layout->plot.x + layout->plot.width;
  attnviz_painter_set_source (cr, &spec->foreground, bold ? 1.0 : 0.75);
  attnviz_painter_text_draw (text, right ? x + r + 0.25 * fs : x - r - 0.25 * fs, y, right ? 0.0 : 1.0, 0.5);
}

static void
draw_axes (cairo_t *cr, AttnvizPainterText *text, const AttnvizScatterSpec *spec, const AttnvizScatterLayout *l)
{
  const AttnvizRect *p = &l->plot;
  double fs = l->font_size, tick = TICK_EMS * fs, lfs = LABEL_SCALE * fs;
  double ticks[16];
  char **labels = NULL;

  attnviz_painter_set_source (cr, &spec->foreground, 0.45);
  cairo_set_line_width (cr, MAX (0.5, 0.07 * fs));
  cairo_rectangle (cr, p->x, p->y, p->width, p->height);
  cairo_stroke (cr);

  /* x: the data shown across the frame */
  double hx = p->width / 2 / l->scale, hy = p->height / 2 / l->scale;
  int n = axis_ticks (l->center_x - hx, l->center_x + hx, ticks, &labels);
  for (int i = 0; i < n; i++)
    {
      double x = p->x + p->width / 2 + (ticks[i] - l->center_x) * l->scale;
      attnviz_painter_set_source (cr, &spec->foreground, 0.45);
      cairo_move_to (cr, x, p->y + p->height);
      cairo_line_to (cr, x, p->y + p->height + tick);
      cairo_stroke (cr);
      attnviz_painter_set_source (cr, &spec->foreground, 0.7);
      attnviz_painter_text_set (text, labels[i], lfs, FALSE, 0);
      attnviz_painter_text_draw (text, x, p->y + p->height + tick + 0.1 * fs, 0.5, 0.0);
    }
  g_strfreev (labels);
  n = axis_ticks (l->center_y - hy, l->center_y + hy, ticks, &labels);
  for (int i = 0; i < n; i++)
    {
      double y = p->y + p->height / 2 - (ticks[i] - l->center_y) * l->scale;
      attnviz_painter_set_source (cr, &spec->foreground, 0.45);
      cairo_move_to (cr, p->x - tick, y);
      cairo_line_to (cr, p->x, y);
      cairo_stroke (cr);
      attnviz_painter_set_source (cr, &spec->foreground, 0.7);
      attnviz_painter_text_set (text, labels[i], lfs, FALSE, 0);
      attnviz_painter_text_draw (text, p->x - tick - GAP_EMS * fs, y, 1.0, 0.5);
    }
  g_strfreev (labels);

  attnviz_painter_set_source (cr, &spec->foreground, 0.8);
  g_autofree char *xc = axis_caption (0, spec->explained[0]);
  attnviz_painter_text_set (text, xc, fs, FALSE, l->x_caption.width);
  attnviz_painter_text_draw (text, l->x_caption.x + l->x_caption.width / 2, l->x_caption.y, 0.5, 0.0);
  g_autofree char *yc = axis_caption (1, spec->explained[1]);
  attnviz_painter_text_set (text, yc, fs, FALSE, l->y_caption.height);
  cairo_save (cr);
  cairo_translate (cr, l->y_caption.x + l->y_caption.width / 2, l->y_caption.y + l->y_caption.height / 2);
  cairo_rotate (cr, -G_PI / 2);
  attnviz_painter_text_draw (text, 0, 0, 0.5, 0.5);
  cairo_restore (cr);
}

/* "● queries   ◆ keys", centred over the plot. */
static void
draw_legend (cairo_t *cr, AttnvizPainterText *text, const AttnvizScatterSpec *spec, const AttnvizScatterLayout *l)
{
  double fs = l->font_size, r = 0.3 * fs, gap = 0.35 * fs, between = 1.5 * fs;
  double wq = attnviz_painter_text_set (text, caption_of (spec, TRUE), fs, FALSE, 0);
  double wk = attnviz_painter_text_set (text, caption_of (spec, FALSE), fs, FALSE, 0);
  double total = 2 * (2 * r + gap) + wq + wk + between;
  double x = l->plot.x + l->plot.width / 2 - total / 2, y = l->legend.y + l->legend.height / 2;
  for (int k = 0; k < 2; k++)
    {
      gboolean query = k == 0;
      const double *rgb = query ? query_rgb : key_rgb;
      cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
      marker_path (cr, query, x + r, y, r);
      cairo_fill (cr);
      x += 2 * r + gap;
      attnviz_painter_set_source (cr, &spec->foreground, 0.9);
      attnviz_painter_text_set (text, caption_of (spec, query), fs, FALSE, 0);
      attnviz_painter_text_draw (text, x, y, 0.0, 0.5);
      x += (query ? wq : wk) + between;
    }
}

static void
draw_points (cairo_t *cr, const AttnvizScatterSpec *spec, const AttnvizScatterLayout *l, gboolean query)
{
  const double *rgb = query ? query_rgb : key_rgb;
  int i0 = query ? 0 : spec->n_queries, i1 = query ? spec->n_queries : n_points (spec);
  cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], POINT_ALPHA);
  for (int i = i0; i < i1; i++)
    {
      double x, y;
      if (!isfinite (spec->points[2 * i]) || !isfinite (spec->points[2 * i + 1]))
        continue;
      attnviz_scatter_layout_point (l, spec, i, &x, &y);
      marker_path (cr, query, x, y, l->radius);
      /* one fill a few hundred points at a time keeps the path short */
      if ((i - i0) % 256 == 255)
        cairo_fill (cr);
    }
  cairo_fill (cr);
}

static void
draw_highlight (cairo_t *cr, AttnvizPainterText *text, const AttnvizScatterSpec *spec,
                const AttnvizScatterLayout *l, int i)
{
  if (i < 0 || i >= n_points (spec))
    return;
  gboolean query = is_query (spec, i);
  const double *rgb = query ? query_rgb : key_rgb;
  double r = MAX (HIGHLIGHT_RADII * l->radius, 0.4 * l->font_size), x, y;
  attnviz_scatter_layout_point (l, spec, i, &x, &y);
  marker_path (cr, query, x, y, r);
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
  cairo_fill_preserve (cr);
  attnviz_painter_set_source (cr, &spec->foreground, 1.0);
  cairo_set_line_width (cr, MAX (1.0, 0.12 * l->font_size));
  cairo_stroke (cr);
  draw_point_label (cr, text, spec, l, i, r, TRUE);
}

void
attnviz_paint_scatter (cairo_t *cr, const AttnvizScatterSpec *spec, double width, double height)
{
  g_return_if_fail (cr != NULL && spec != NULL);

  AttnvizScatterLayout layout;
  AttnvizPainterText text;
  attnviz_painter_text_init (&text, NULL);
  scatter_layout (spec, width, height, &text, &layout);
  attnviz_painter_text_clear (&text);

  cairo_save (cr);
  attnviz_painter_text_init (&text, cr);
  draw_axes (cr, &text, spec, &layout);
  draw_legend (cr, &text, spec, &layout);

  cairo_save (cr);
  cairo_rectangle (cr, layout.plot.x, layout.plot.y, layout.plot.width, layout.plot.height);
  cairo_clip (cr);
  /* keys under queries: a query is what one asks about */
  draw_points (cr, spec, &layout, FALSE);
  draw_points (cr, spec, &layout, TRUE);
  cairo_restore (cr);

  for (int k = 0; k < spec->n_labelled && spec->labelled; k++)
    if (spec->labelled[k] >= 0 && spec->labelled[k] < n_points (spec))
      draw_point_label (cr, &text, spec, &layout, spec->labelled[k], layout.radius, FALSE);
  if (spec->highlight_key >= 0 && spec->highlight_key < spec->n_keys)
    draw_highlight (cr, &text, spec, &layout, spec->n_queries + spec->highlight_key);
  if (spec->highlight_query >= 0 && spec->highlight_query < spec->n_queries)
    draw_highlight (cr, &text, spec, &layout, spec->highlight_query);

  attnviz_painter_draw_titles (cr, &text, spec->title, spec->subtitle, layout.font_size, &layout.title,
                               &layout.subtitle, &spec->foreground);
  attnviz_painter_text_clear (&text);
  cairo_restore (cr);
}
