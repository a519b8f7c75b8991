/* attnviz-widgets-private.h: what the figure widgets share
 *
 * Each view paints its figure with the Cairo painter into a render node it
 * keeps until the data, the size or a setting changes, and draws hover and
 * selection on top of it each frame.
 */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-painter.h"

G_BEGIN_DECLS

/* The widget's CSS colour, so that labels follow the light or dark style. */
static inline void
attnviz_widget_get_foreground (GtkWidget *widget, AttnvizRGBA *out)
{
  GdkRGBA color;
#if GTK_CHECK_VERSION (4, 10, 0)
  gtk_widget_get_color (widget, &color);
#else
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
#endif
  *out = (AttnvizRGBA) { color.red, color.green, color.blue, MAX (color.alpha, 0.01) };
}

/* The part of WIDGET its scrolled window shows, in WIDGET's coordinates
 * (all of it when it is in none): the token and loss strips draw only the
 * chips in it.  GTK keeps a child's render node when only its scroll
 * offset changes, so such a widget queues a draw on "value-changed" of
 * the window's vadjustment. */
static inline void
attnviz_widget_visible_rect (GtkWidget *widget, graphene_rect_t *out)
{
  GtkWidget *sw = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW);
  graphene_rect_t view;

  graphene_rect_init (out, 0, 0, gtk_widget_get_width (widget), gtk_widget_get_height (widget));
  if (sw != NULL && gtk_widget_compute_bounds (sw, widget, &view))
    graphene_rect_intersection (out, &view, out);
}

/* A render node of WIDTH x HEIGHT holding what PAINT draws; the figure is
 * VIRTUAL_WIDTH x VIRTUAL_HEIGHT, moved by (-PAN_X, -PAN_Y) and clipped. */
static inline GskRenderNode *
attnviz_figure_node (AttnvizFigureKind kind, const void *spec, int width, int height,
                     double virtual_width, double virtual_height, double pan_x, double pan_y)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  cairo_translate (cr, -pan_x, -pan_y);
  attnviz_paint_figure (cr, kind, spec, virtual_width, virtual_height);
  cairo_destroy (cr);
  return gtk_snapshot_free_to_node (snapshot);
}

/* A one-line message centred in the widget, dimmed. */
static inline void
attnviz_snapshot_message (GtkWidget *widget, GtkSnapshot *snapshot, const char *message)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, message);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  int lw, lh;
  GdkRGBA color;

  pango_layout_set_width (layout, MAX (1, width - 48) * PANGO_SCALE);
  pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_get_pixel_size (layout, &lw, &lh);
#if GTK_CHECK_VERSION (4, 10, 0)
  gtk_widget_get_color (widget, &color);
#else
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
#endif
  color.alpha *= 0.55;
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT ((width - lw) / 2.0, (height - lh) / 2.0));
  gtk_snapshot_append_layout (snapshot, layout, &color);
  gtk_snapshot_restore (snapshot);
  g_object_unref (layout);
}

/* An outline around RECT, dark outside and light inside, visible on any
 * colour map. */
static inline void
attnviz_snapshot_outline (GtkSnapshot *snapshot, const graphene_rect_t *rect, const GdkRGBA *inner)
{
  static const GdkRGBA dark = { 0, 0, 0, 0.75 };
  GskRoundedRect outer_box, inner_box;
  graphene_rect_t outer = *rect;

  graphene_rect_inset (&outer, -2, -2);
  gsk_rounded_rect_init_from_rect (&outer_box, &outer, 0);
  gtk_snapshot_append_border (snapshot, &outer_box, (float[4]) { 1, 1, 1, 1 },
                              (GdkRGBA[4]) { dark, dark, dark, dark });
  graphene_rect_t in = *rect;
  graphene_rect_inset (&in, -1, -1);
  gsk_rounded_rect_init_from_rect (&inner_box, &in, 0);
  gtk_snapshot_append_border (snapshot, &inner_box, (float[4]) { 1.5, 1.5, 1.5, 1.5 },
                              (GdkRGBA[4]) { *inner, *inner, *inner, *inner });
}

G_END_DECLS
