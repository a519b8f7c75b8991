/* attnviz-loss-strip.c: how each token's loss changed between A and B
 *
 * The tokens flow like words, as in the token strip above (drawn, like
 * it, only where its scrolled window shows them), each chip
 * tinted by the change of its negative log-likelihood, A's minus B's, on
 * the diverging colour map the difference heatmap uses (red: A's loss is
 * higher, blue: lower, white: the same), over a range symmetric about 0.
 * A causal model's first token has no loss (nothing predicts it): its chip
 * is left untinted.  The tooltip gives both losses and the change; a
 * colour bar under the chips gives the range.  Clicking a chip selects
 * its token.
 *
 * Outside a comparison it shows a causal run's own loss (the state's run
 * with predictions, attnviz-predictions.h): each chip tinted by how
 * surprising its token was, from light (expected) to dark, on magma from
 * 0 to the largest loss; the tooltip adds what the model expected there,
 * its top-k candidates after the token before.
 */
#define G_LOG_DOMAIN "attnviz-loss-strip"
#include "config.h"

#include <math.h>

#include "attnviz-colormap.h"
#include "attnviz-difference.h"
#include "attnviz-loss-strip.h"
#include "attnviz-painter.h"
#include "attnviz-predictions.h"
#include "attnviz-widgets-private.h"

#define SPACING 4
#define PAD_X 6
#define PAD_Y 3
#define RADIUS 6
#define MAX_CHARS 16
#define LEGEND_GAP 8
#define RAMP_HEIGHT 6

struct _AttnvizLossStrip
{
  GtkWidget parent_instance;

  AttnvizViewState *state;
  AttnvizResult *result;      /* the state's run, a difference */
  int selected_token;         /* the state's, within the result */
  double range;               /* largest |A - B| */

  GtkAdjustment *vadjustment; /* of the scrolled window around the strip, while mapped */
  GPtrArray *layouts;         /* (T) PangoLayout of each chip's text */
  GArray *rects;              /* (T) graphene_rect_t, from the last allocation */
  PangoLayout *legend_low;    /* the colour bar's end labels */
  PangoLayout *legend_high;
  int chips_height;
  int n_drawn;                /* chips the last frame drew */
};

G_DEFINE_FINAL_TYPE (AttnvizLossStrip, attnviz_loss_strip, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_STATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* "+0.74", "−0.74" (a true minus sign); what rounds to zero (−0 included,
 * which printf would make "+-0.00") is "0.00", with no sign. */
static char *
signed_number (double v)
{
  if (!(fabs (v) >= 0.005))
    return g_strdup ("0.00");
  return v < 0 ? g_strdup_printf ("−%.2f", -v) : g_strdup_printf ("+%.2f", v);
}

/* Whether it shows a run's own loss rather than a difference's. */
static gboolean
is_plain (AttnvizLossStrip *self)
{
  return self->result && !ATTNVIZ_IS_DIFFERENCE (self->result);
}

static int
n_tokens (AttnvizLossStrip *self)
{
  if (self->result == NULL || (is_plain (self) && !attnviz_result_has_predictions (self->result)))
    return 0;
  return attnviz_result_get_n_tokens (self->result);
}

static double
token_delta (AttnvizLossStrip *self, int index)
{
  return attnviz_result_get_token_loss (self->result, index);
}

/* The chips take the widget's CSS font (the app's style sets the token
 * strip's fixed-width face). */
static PangoLayout *
make_layout (AttnvizLossStrip *self, const char *text)
{
  return gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
}

static void
rebuild (AttnvizLossStrip *self)
{
  int T = n_tokens (self);

  g_ptr_array_set_size (self->layouts, 0);
  g_array_set_size (self->rects, 0);
  g_clear_object (&self->legend_low);
  g_clear_object (&self->legend_high);
  self->range = 0;
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  is_plain (self) ? "Each token's loss: how surprising it was to the model"
                                                  : "Change of each token's loss from B to A", -1);
  if (T == 0)
    return;

  for (int t = 0; t < T; t++)
    {
      g_autofree char *shown = attnviz_painter_display_text (attnviz_result_get_label (self->result, t));
      /* Long pieces are cut, as the token strip's chips are. */
      if (g_utf8_strlen (shown, -1) > MAX_CHARS)
        {
          char *cut = g_utf8_substring (shown, 0, MAX_CHARS - 1);
          g_free (shown);
          shown = g_strconcat (cut, "…", NULL);
          g_free (cut);
        }
      g_ptr_array_add (self->layouts, make_layout (self, shown));
      double d = token_delta (self, t);
      if (!isnan (d))
        self->range = MAX (self->range, fabs (d));
    }
  g_array_set_size (self->rects, T);

  g_autofree char *low_number = signed_number (-self->range);
  g_autofree char *high_number = signed_number (self->range);
  g_autofree char *low = is_plain (self) ? g_strdup ("0 nats: expected") : g_strdup_printf ("%s A lower", low_number);
  g_autofree char *high = is_plain (self) ? g_strdup_printf ("surprising %.2f", self->range)
                                          : g_strdup_printf ("A higher %s", high_number);
  self->legend_low = gtk_widget_create_pango_layout (GTK_WIDGET (self), low);
  self->legend_high = gtk_widget_create_pango_layout (GTK_WIDGET (self), high);
  PangoAttrList *attrs = pango_attr_list_new ();
  pango_attr_list_insert (attrs, pango_attr_scale_new (PANGO_SCALE_SMALL));
  pango_attr_list_insert (attrs, pango_attr_family_new ("sans-serif"));
  pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum=1"));
  pango_layout_set_attributes (self->legend_low, attrs);
  pango_layout_set_attributes (self->legend_high, attrs);
  pango_attr_list_unref (attrs);
}

/* Lays the chips out in lines of at most WIDTH; returns their height.
 * With RECTS, stores each chip's box. */
static int
flow (AttnvizLossStrip *self, int width, GArray *rects)
{
  int x = 0, y = 0, line_height = 0;

  for (guint i = 0; i < self->layouts->len; i++)
    {
      int tw, th;
      pango_layout_get_pixel_size (g_ptr_array_index (self->layouts, i), &tw, &th);
      int w = MIN (tw + 2 * PAD_X, MAX (width, 1)), h = th + 2 * PAD_Y;
      if (x > 0 && x + w > width)
        {
          x = 0;
          y += line_height + SPACING;
          line_height = 0;
        }
      if (rects)
        g_array_index (rects, graphene_rect_t, i) = GRAPHENE_RECT_INIT (x, y, w, h);
      x += w + SPACING;
      line_height = MAX (line_height, h);
    }
  return y + line_height;
}

static int
legend_height (AttnvizLossStrip *self)
{
  int h = 0;
  if (self->legend_low)
    pango_layout_get_pixel_size (self->legend_low, NULL, &h);
  return self->legend_low ? LEGEND_GAP + RAMP_HEIGHT + 2 + h : 0;
}

static void
colour_of (AttnvizLossStrip *self, double delta, GdkRGBA *fill, GdkRGBA *ink)
{
  double rgb[3];
  if (is_plain (self))
    /* Magma from its light end (no loss) to dark purple (the largest). */
    attnviz_colormap_lookup (ATTNVIZ_COLORMAP_MAGMA, 1 - 0.85 * delta / (self->range > 0 ? self->range : 1), rgb);
  else
    attnviz_colormap_lookup (ATTNVIZ_COLORMAP_RDBU, 0.5 + 0.5 * delta / (self->range > 0 ? self->range : 1), rgb);
  *fill = (GdkRGBA) { rgb[0], rgb[1], rgb[2], 1 };
  double lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  *ink = lum > 0.45 ? (GdkRGBA) { 0, 0, 0, 0.87 } : (GdkRGBA) { 1, 1, 1, 1 };
}

static void
get_foreground (GtkWidget *widget, GdkRGBA *color)
{
#if GTK_CHECK_VERSION (4, 10, 0)
  gtk_widget_get_color (widget, color);
#else
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), color);
#endif
}

static void
attnviz_loss_strip_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  AttnvizLossStrip *self = ATTNVIZ_LOSS_STRIP (widget);
  int T = n_tokens (self);
  GdkRGBA fg, accent;

  self->n_drawn = 0;
  if (T == 0 || self->rects->len != (guint) T)
    return;
  get_foreground (widget, &fg);
  gtk_style_context_lookup_color (gtk_widget_get_style_context (widget), "accent_color", &accent);

  /* Only the chips in view: 8192 of them took a frame each time. */
  graphene_rect_t view;
  attnviz_widget_visible_rect (widget, &view);
  graphene_rect_inset (&view, 0, -4);
  for (int t = 0; t < T; t++)
    {
      const graphene_rect_t *r = &g_array_index (self->rects, graphene_rect_t, t);
      if (r->origin.y + r->size.height < view.origin.y)
        continue;
      if (r->origin.y > view.origin.y + view.size.height)
        break;
      PangoLayout *layout = g_ptr_array_index (self->layouts, t);
      double d = token_delta (self, t);
      self->n_drawn++;
      GskRoundedRect box;
      GdkRGBA fill, ink;

      gsk_rounded_rect_init_from_rect (&box, r, RADIUS);
      if (isnan (d))
        {
          /* No loss here: an outline only. */
          GdkRGBA line = fg;
          line.alpha *= 0.25;
          gtk_snapshot_append_border (snapshot, &box, (float[4]) { 1, 1, 1, 1 },
                                      (GdkRGBA[4]) { line, line, line, line });
          ink = fg;
          ink.alpha *= 0.55;
        }
      else
        {
          colour_of (self, d, &fill, &ink);
          gtk_snapshot_push_rounded_clip (snapshot, &box);
          gtk_snapshot_append_color (snapshot, &fill, r);
          gtk_snapshot_pop (snapshot);
        }
      if (t == self->selected_token)
        {
          GskRoundedRect ring;
          graphene_rect_t outer = *r;
          graphene_rect_inset (&outer, -2, -2);
          gsk_rounded_rect_init_from_rect (&ring, &outer, RADIUS + 2);
          gtk_snapshot_append_border (snapshot, &ring, (float[4]) { 2, 2, 2, 2 },
                                      (GdkRGBA[4]) { accent, accent, accent, accent });
        }
      gtk_snapshot_push_clip (snapshot, r);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (r->origin.x + PAD_X, r->origin.y + PAD_Y));
      gtk_snapshot_append_layout (snapshot, layout, &ink);
      gtk_snapshot_restore (snapshot);
      gtk_snapshot_pop (snapshot);
    }

  /* The colour bar: blue (A lower) through white to red (A higher). */
  int width = gtk_widget_get_width (widget);
  double y = self->chips_height + LEGEND_GAP;
  GskColorStop stops[9];
  for (int i = 0; i < 9; i++)
    {
      double rgb[3];
      if (is_plain (self))
        attnviz_colormap_lookup (ATTNVIZ_COLORMAP_MAGMA, 1 - 0.85 * i / 8.0, rgb);
      else
        attnviz_colormap_lookup (ATTNVIZ_COLORMAP_RDBU, i / 8.0, rgb);
      stops[i] = (GskColorStop) { i / 8.0f, { rgb[0], rgb[1], rgb[2], 1 } };
    }
  graphene_rect_t ramp = GRAPHENE_RECT_INIT (0, y, width, RAMP_HEIGHT);
  GskRoundedRect ramp_box;
  gsk_rounded_rect_init_from_rect (&ramp_box, &ramp, RAMP_HEIGHT / 2.0);
  gtk_snapshot_push_rounded_clip (snapshot, &ramp_box);
  gtk_snapshot_append_linear_gradient (snapshot, &ramp, &GRAPHENE_POINT_INIT (0, y),
                                       &GRAPHENE_POINT_INIT (width, y), stops, G_N_ELEMENTS (stops));
  gtk_snapshot_pop (snapshot);

  GdkRGBA dim = fg;
  dim.alpha *= 0.7;
  int hw;
  pango_layout_get_pixel_size (self->legend_high, &hw, NULL);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (0, y + RAMP_HEIGHT + 2));
  gtk_snapshot_append_layout (snapshot, self->legend_low, &dim);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (width - hw, 0));
  gtk_snapshot_append_layout (snapshot, self->legend_high, &dim);
  gtk_snapshot_restore (snapshot);
}

static void
on_scrolled (GtkAdjustment *adjustment, AttnvizLossStrip *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
attnviz_loss_strip_map (GtkWidget *widget)
{
  AttnvizLossStrip *self = ATTNVIZ_LOSS_STRIP (widget);
  GtkWidget *sw = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW);

  GTK_WIDGET_CLASS (attnviz_loss_strip_parent_class)->map (widget);
  if (sw != NULL)
    {
      self->vadjustment = g_object_ref (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw)));
      g_signal_connect (self->vadjustment, "value-changed", G_CALLBACK (on_scrolled), self);
    }
}

static void
attnviz_loss_strip_unmap (GtkWidget *widget)
{
  AttnvizLossStrip *self = ATTNVIZ_LOSS_STRIP (widget);

  if (self->vadjustment != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->vadjustment, on_scrolled, self);
      g_clear_object (&self->vadjustment);
    }
  GTK_WIDGET_CLASS (attnviz_loss_strip_parent_class)->unmap (widget);
}

static GtkSizeRequestMode
attnviz_loss_strip_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
attnviz_loss_strip_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                            int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  AttnvizLossStrip *self = ATTNVIZ_LOSS_STRIP (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      int widest = 0, total = 0;
      for (guint i = 0; i < self->layouts->len; i++)
        {
          int w;
          pango_layout_get_pixel_size (g_ptr_array_index (self->layouts, i), &w, NULL);
          widest = MAX (widest, w + 2 * PAD_X);
          total += w + 2 * PAD_X + (i > 0 ? SPACING : 0);
        }
      *minimum = widest;
      *natural = MIN (total, 600);
    }
  else
    {
      int height = n_tokens (self) ? flow (self, for_size < 0 ? 600 : for_size, NULL) + legend_height (self) : 0;
      *minimum = *natural = height;
    }
}

static void
attnviz_loss_strip_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  AttnvizLossStrip *self = ATTNVIZ_LOSS_STRIP (widget);

  if (self->rects->len == self->layouts->len)
    self->chips_height = flow (self, width, self->rects);
}

static void
attnviz_loss_strip_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  AttnvizLossStrip *self = ATTNVIZ_LOSS_STRIP (widget);

  GTK_WIDGET_CLASS (attnviz_loss_strip_parent_class)->css_changed (widget, change);
  /* The font may have changed: measure the chips again. */
  rebuild (self);
  gtk_widget_queue_resize (widget);
}

/* ---- Pointer -------------------------------------------------------------- */

static int
chip_at (AttnvizLossStrip *self, double x, double y)
{
  for (guint i = 0; i < self->rects->len && i < (guint) n_tokens (self); i++)
    if (graphene_rect_contains_point (&g_array_index (self->rects, graphene_rect_t, i), &GRAPHENE_POINT_INIT (x, y)))
      return i;
  return -1;
}

char *
attnviz_loss_strip_describe_token (AttnvizLossStrip *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_LOSS_STRIP (self), NULL);

  if (index < 0 || index >= n_tokens (self))
    return NULL;
  if (is_plain (self))
    {
      double loss = attnviz_result_get_token_loss (self->result, index);
      if (isnan (loss))
        return g_strdup ("no loss: nothing predicts this token");
      return g_strdup_printf ("p %.3g%% · loss %.2f", 100.0 * exp (-loss), loss);
    }
  double a = attnviz_result_get_token_loss (attnviz_difference_get_a (ATTNVIZ_DIFFERENCE (self->result)), index);
  double b = attnviz_result_get_token_loss (attnviz_difference_get_b (ATTNVIZ_DIFFERENCE (self->result)), index);
  if (isnan (a) || isnan (b))
    return g_strdup ("no loss: nothing predicts this token");
  g_autofree char *delta = signed_number (a - b);
  return g_strdup_printf ("loss A %.2f · B %.2f · A − B %s", a, b, delta);
}

char *
attnviz_loss_strip_describe_legend (AttnvizLossStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LOSS_STRIP (self), NULL);

  if (self->legend_low == NULL)
    return g_strdup ("");
  return g_strdup_printf ("%s … %s", pango_layout_get_text (self->legend_low),
                          pango_layout_get_text (self->legend_high));
}

char *
attnviz_loss_strip_describe_means (AttnvizLossStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LOSS_STRIP (self), NULL);

  if (n_tokens (self) == 0)
    return g_strdup ("");
  if (is_plain (self))
    {
      double mean = attnviz_result_get_mean_loss (self->result);
      return g_strdup_printf ("mean %.2f nats · perplexity %.1f", mean, exp (mean));
    }
  double a = attnviz_result_get_mean_loss (attnviz_difference_get_a (ATTNVIZ_DIFFERENCE (self->result)));
  double b = attnviz_result_get_mean_loss (attnviz_difference_get_b (ATTNVIZ_DIFFERENCE (self->result)));
  if (isnan (a) && isnan (b))
    return g_strdup ("no loss: the model has no LM head");
  /* a dump compared with a run that kept none, or the other way round */
  if (isnan (a) || isnan (b))
    return g_strdup_printf ("no loss to compare: %s kept none", isnan (a) ? "A" : "B");
  g_autofree char *delta = signed_number (a - b);
  return g_strdup_printf ("mean A %.2f · B %.2f · A − B %s", a, b, delta);
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  AttnvizLossStrip *self = ATTNVIZ_LOSS_STRIP (widget);
  int index = keyboard ? self->selected_token : chip_at (self, x, y);

  if (index < 0)
    return FALSE;
  g_autofree char *shown = attnviz_painter_display_text (attnviz_result_get_label (self->result, index));
  g_autofree char *escaped = g_markup_escape_text (shown, -1);
  g_autofree char *what = attnviz_loss_strip_describe_token (self, index);
  g_autofree char *markup = g_strdup_printf ("<b>%d “%s”</b>\n%s\n<small>nats of negative log-likelihood</small>",
                                             index, escaped, what);
  /* A run's own loss: what the model expected here, after the token before. */
  AttnvizPrediction prediction;
  if (is_plain (self) && attnviz_result_get_prediction (self->result, index - 1, &prediction))
    {
      g_autofree char *predicted = attnviz_prediction_to_markup (&prediction);
      g_autofree char *both = g_strdup_printf ("%s\n<small>what the model expected here, after token %d:</small>\n%s",
                                               markup, index - 1, predicted);
      g_free (markup);
      markup = g_steal_pointer (&both);
    }
  gtk_tooltip_set_markup (tooltip, markup);
  graphene_rect_t *r = &g_array_index (self->rects, graphene_rect_t, index);
  gtk_tooltip_set_tip_area (tooltip, &(GdkRectangle) { r->origin.x, r->origin.y, r->size.width, r->size.height });
  return TRUE;
}

static void
on_released (GtkGestureClick *gesture, int n_press, double x, double y, AttnvizLossStrip *self)
{
  int index = chip_at (self, x, y);

  if (index >= 0)
    attnviz_loss_strip_select (self, index == self->selected_token ? -1 : index);
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, AttnvizLossStrip *self)
{
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), chip_at (self, x, y) >= 0 ? "pointer" : NULL);
}

/* ---- GObject -------------------------------------------------------------- */

static void
attnviz_loss_strip_dispose (GObject *object)
{
  AttnvizLossStrip *self = ATTNVIZ_LOSS_STRIP (object);

  attnviz_loss_strip_set_state (self, NULL);
  g_clear_object (&self->result);
  g_clear_object (&self->legend_low);
  g_clear_object (&self->legend_high);
  G_OBJECT_CLASS (attnviz_loss_strip_parent_class)->dispose (object);
}

static void
attnviz_loss_strip_finalize (GObject *object)
{
  AttnvizLossStrip *self = ATTNVIZ_LOSS_STRIP (object);

  g_ptr_array_unref (self->layouts);
  g_array_unref (self->rects);
  G_OBJECT_CLASS (attnviz_loss_strip_parent_class)->finalize (object);
}

static void
attnviz_loss_strip_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_STATE)
    g_value_set_object (value, ATTNVIZ_LOSS_STRIP (object)->state);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
attnviz_loss_strip_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_STATE)
    attnviz_loss_strip_set_state (ATTNVIZ_LOSS_STRIP (object), g_value_get_object (value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
attnviz_loss_strip_class_init (AttnvizLossStripClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = attnviz_loss_strip_dispose;
  object_class->finalize = attnviz_loss_strip_finalize;
  object_class->get_property = attnviz_loss_strip_get_property;
  object_class->set_property = attnviz_loss_strip_set_property;

  widget_class->snapshot = attnviz_loss_strip_snapshot;
  widget_class->map = attnviz_loss_strip_map;
  widget_class->unmap = attnviz_loss_strip_unmap;
  widget_class->get_request_mode = attnviz_loss_strip_get_request_mode;
  widget_class->measure = attnviz_loss_strip_measure;
  widget_class->size_allocate = attnviz_loss_strip_size_allocate;
  widget_class->css_changed = attnviz_loss_strip_css_changed;

  /* What it shows: the state's run (a comparison's difference) and its
   * selected token. */
  properties[PROP_STATE] =
    g_param_spec_object ("state", NULL, NULL, ATTNVIZ_TYPE_VIEW_STATE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "lossstrip");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
attnviz_loss_strip_init (AttnvizLossStrip *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *controller;

  self->selected_token = -1;
  self->layouts = g_ptr_array_new_with_free_func (g_object_unref);
  self->rects = g_array_new (FALSE, TRUE, sizeof (graphene_rect_t));

  gtk_widget_set_has_tooltip (widget, TRUE);
  g_signal_connect (widget, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Change of each token's loss from B to A", -1);

  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "released", G_CALLBACK (on_released), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (click));
  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  gtk_widget_add_controller (widget, controller);
}

GtkWidget *
attnviz_loss_strip_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_LOSS_STRIP, NULL);
}

AttnvizResult *
attnviz_loss_strip_get_result (AttnvizLossStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LOSS_STRIP (self), NULL);
  return self->result;
}

static void
on_state_notify (AttnvizViewState *state, GParamSpec *pspec, AttnvizLossStrip *self)
{
  AttnvizResult *run = self->state ? attnviz_view_state_get_run (self->state) : NULL;
  if (g_set_object (&self->result, run))
    {
      rebuild (self);
      gtk_widget_queue_resize (GTK_WIDGET (self));
    }
  int token = self->state ? attnviz_view_state_get_selected_token (self->state) : -1;
  if (token >= n_tokens (self))
    token = -1;
  if (token != self->selected_token)
    {
      self->selected_token = token;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

AttnvizViewState *
attnviz_loss_strip_get_state (AttnvizLossStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LOSS_STRIP (self), NULL);
  return self->state;
}

void
attnviz_loss_strip_set_state (AttnvizLossStrip *self, AttnvizViewState *state)
{
  g_return_if_fail (ATTNVIZ_IS_LOSS_STRIP (self));
  g_return_if_fail (state == NULL || ATTNVIZ_IS_VIEW_STATE (state));

  static const char *const watched[] = { "run", "selected-token", NULL };
  if (!attnviz_view_state_observe (&self->state, state, G_CALLBACK (on_state_notify), self, watched))
    return;
  on_state_notify (state, NULL, self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

int
attnviz_loss_strip_get_selected_token (AttnvizLossStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LOSS_STRIP (self), -1);
  return self->selected_token;
}

void
attnviz_loss_strip_select (AttnvizLossStrip *self, int token)
{
  g_return_if_fail (ATTNVIZ_IS_LOSS_STRIP (self));

  if (self->state != NULL)
    attnviz_view_state_set_selected_token (self->state, token >= 0 && token < n_tokens (self) ? token : -1);
}

double
attnviz_loss_strip_get_range (AttnvizLossStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LOSS_STRIP (self), 0);
  return self->range;
}

gboolean
attnviz_loss_strip_get_chip_rect (AttnvizLossStrip *self, int index, graphene_rect_t *rect)
{
  g_return_val_if_fail (ATTNVIZ_IS_LOSS_STRIP (self), FALSE);

  if (index < 0 || index >= n_tokens (self) || (guint) index >= self->rects->len)
    return FALSE;
  *rect = g_array_index (self->rects, graphene_rect_t, index);
  return TRUE;
}

int
attnviz_loss_strip_get_n_drawn (AttnvizLossStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LOSS_STRIP (self), 0);
  return self->n_drawn;
}
