/* attnviz-lens-table.c: the logit lens as a layer × position table
 * (attnviz-lens-table.h)
 *
 * A caption, the Compute button (or the job's bar and Cancel), and the
 * table: a GtkDrawingArea the size of the page with two scrollbars, drawn
 * with Cairo and Pango, one CELL_W × CELL_H cell per layer and position,
 * the layer names pinned down the left and the run's tokens along the
 * top.  Only the cells in view are drawn, so a run of 8192 tokens costs
 * what one of 20 does (a drawing area as wide as all its columns would be
 * a surface 750 000 pixels wide).  A cell's colour is viridis of its top-1
 * probability; its tooltip lists its top k.
 */
#define G_LOG_DOMAIN "attnviz-lens-table"
#include "config.h"

#include <math.h>

#include "attnviz-colormap.h"
#include "attnviz-lens-table.h"

#define CELL_W 92
#define CELL_H 34
#define HEADER_W 84
#define HEADER_H 28

struct _AttnvizLensTable {
  GtkWidget parent_instance;

  AttnvizViewState *state;
  AttnvizResult *run;          /* the run shown, or NULL */
  AttnvizLens *lens;           /* its lens, or NULL */
  gboolean computing;

  GtkWidget *box;
  GtkLabel *caption;
  GtkWidget *compute_button;
  GtkProgressBar *progress;
  GtkWidget *cancel_button;
  GtkWidget *scroller;          /* the area and its scrollbars */
  GtkWidget *area;
  GtkAdjustment *hadj;          /* pixels of the cells scrolled past, left of the view */
  GtkAdjustment *vadj;          /* and above it */
  GtkWidget *hbar, *vbar;       /* shown when the cells do not fit */
};

enum {
  PROP_0,
  PROP_STATE,
  PROP_COMPUTING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_COMPUTE,
  SIGNAL_CANCEL,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (AttnvizLensTable, attnviz_lens_table, GTK_TYPE_WIDGET)

void
attnviz_lens_free (AttnvizLens *lens)
{
  if (lens == NULL)
    return;
  g_free (lens->ids);
  g_free (lens->probs);
  if (lens->texts != NULL)
    for (gsize i = 0; i < (gsize) lens->n_layer * lens->T * lens->K; i++)
      g_free (lens->texts[i]);
  g_free (lens->texts);
  g_free (lens);
}

/* Why RUN has no lens to compute, or NULL.  (A model without an output
 * layer is the job's to say: the run kept no logits either way.) */
static const char *
unavailable (AttnvizResult *run)
{
  const AttnvizRecording *rec = run ? attnviz_result_get_recording (run) : NULL;
  if (rec == NULL)
    return "Run a text to read its logit lens.";
  if (rec->S > 0 && rec->attention == NULL)
    return "The logit lens reads a model's hidden states: this is a cross-attention alone, with no model.";
  if (rec->S > 0)
    return "The logit lens reads decoder-only and encoder models: this is an encoder-decoder.";
  return NULL;
}

/* The scrollbars' range: the cells' size against the room beside the
 * pinned headers. */
static void
update_adjustments (AttnvizLensTable *self)
{
  const AttnvizLens *l = self->lens;
  int width = gtk_widget_get_width (self->area) - HEADER_W, height = gtk_widget_get_height (self->area) - HEADER_H;
  double cols = l ? (double) l->T * CELL_W : 0.0, rows = l ? (double) (l->n_layer + 1) * CELL_H : 0.0;
  width = MAX (width, 1);
  height = MAX (height, 1);
  gtk_adjustment_configure (self->hadj, MIN (gtk_adjustment_get_value (self->hadj), MAX (cols - width, 0.0)), 0.0,
                            MAX (cols, width), CELL_W, width * 0.9, width);
  gtk_adjustment_configure (self->vadj, MIN (gtk_adjustment_get_value (self->vadj), MAX (rows - height, 0.0)), 0.0,
                            MAX (rows, height), CELL_H, height * 0.9, height);
  gtk_widget_set_visible (self->hbar, cols > width);
  gtk_widget_set_visible (self->vbar, rows > height);
}

static void
update (AttnvizLensTable *self)
{
  const char *why = unavailable (self->run);
  const AttnvizLens *l = self->lens;
  if (why != NULL)
    gtk_label_set_text (self->caption, why);
  else if (l == NULL)
    gtk_label_set_text (self->caption, "What each layer’s residual stream predicts at each position, read through the "
                                       "final norm and the output layer: compute it to see where in depth a "
                                       "prediction forms.");
  else
    gtk_label_set_text (self->caption, "Each cell: the most likely next token after that layer and its probability "
                                       "(bold: the token that follows). Hover for the top candidates.");
  gtk_widget_set_visible (self->compute_button, why == NULL && l == NULL && !self->computing);
  gtk_widget_set_visible (GTK_WIDGET (self->progress), self->computing);
  gtk_widget_set_visible (self->cancel_button, self->computing);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "lens.compute", why == NULL && l == NULL && !self->computing);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "lens.cancel", self->computing);
  gtk_widget_set_visible (self->scroller, l != NULL);
  update_adjustments (self);
  gtk_widget_queue_draw (self->area);
}

/* Text at (X, Y), clipped to W: ellipsized in the middle. */
static void
draw_text (cairo_t *cr, PangoLayout *layout, const char *text, double x, double y, double w, gboolean bold,
           const double rgb[3])
{
  PangoFontDescription *font = pango_font_description_from_string (bold ? "Sans Bold 9" : "Sans 9");
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  pango_layout_set_width (layout, (int) (w * PANGO_SCALE));
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_MIDDLE);
  pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
  pango_layout_set_text (layout, text, -1);
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
}

/* A token's text for a cell: quoted, spaces shown. */
static char *
cell_text (const char *piece)
{
  g_autofree char *shown = g_strescape (piece ? piece : "", "\"");
  return g_strdup_printf ("“%s”", shown);
}

static void
draw (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  AttnvizLensTable *self = data;
  const AttnvizLens *l = self->lens;
  if (l == NULL || self->run == NULL)
    return;
  AttnvizResult *run = self->run;
  const char *const *labels = attnviz_result_get_labels (run);
  PangoLayout *layout = pango_cairo_create_layout (cr);
  GdkRGBA fg;
#if GTK_CHECK_VERSION (4, 10, 0)
  gtk_widget_get_color (GTK_WIDGET (area), &fg);
#else
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (area)), &fg);
#endif
  double ink[3] = { fg.red, fg.green, fg.blue };
  double white[3] = { 1, 1, 1 }, black[3] = { 0, 0, 0 };
  double xo = gtk_adjustment_get_value (self->hadj), yo = gtk_adjustment_get_value (self->vadj);
  /* the columns and rows in view (row n_layer: the token that follows) */
  int t0 = (int) (xo / CELL_W), t1 = MIN (l->T, (int) ((xo + width - HEADER_W) / CELL_W) + 1);
  int r0 = (int) (yo / CELL_H), r1 = MIN (l->n_layer + 1, (int) ((yo + height - HEADER_H) / CELL_H) + 1);

  /* the tokens along the top, scrolled with the columns */
  cairo_save (cr);
  cairo_rectangle (cr, HEADER_W, 0, width - HEADER_W, HEADER_H);
  cairo_clip (cr);
  for (int t = t0; t < t1; t++)
    {
      g_autofree char *label = cell_text (labels ? labels[t] : NULL);
      draw_text (cr, layout, label, HEADER_W + t * CELL_W - xo + 2, 6, CELL_W - 4, TRUE, ink);
    }
  cairo_restore (cr);

  /* the layers down the left, scrolled with the rows */
  cairo_save (cr);
  cairo_rectangle (cr, 0, HEADER_H, HEADER_W, height - HEADER_H);
  cairo_clip (cr);
  for (int r = r0; r < r1; r++)
    {
      g_autofree char *name = r < l->n_layer ? g_strdup_printf ("layer %d", r) : g_strdup ("follows");
      draw_text (cr, layout, name, 2, HEADER_H + r * CELL_H - yo + 9, HEADER_W - 6, r == l->n_layer, ink);
    }
  cairo_restore (cr);

  cairo_save (cr);
  cairo_rectangle (cr, HEADER_W, HEADER_H, width - HEADER_W, height - HEADER_H);
  cairo_clip (cr);
  for (int r = r0; r < r1; r++)
    for (int t = t0; t < t1; t++)
      {
        double x = HEADER_W + t * CELL_W - xo, y = HEADER_H + r * CELL_H - yo;
        if (r == l->n_layer)
          {
            /* the token that actually follows each position */
            if (t + 1 < l->T)
              {
                g_autofree char *label = cell_text (labels ? labels[t + 1] : NULL);
                draw_text (cr, layout, label, x + 2, y + 9, CELL_W - 4, TRUE, ink);
              }
            continue;
          }
        gsize at = ((gsize) r * l->T + t) * l->K;
        double p = l->probs[at], rgb[3];
        attnviz_colormap_lookup (ATTNVIZ_COLORMAP_VIRIDIS, CLAMP (p, 0.0, 1.0), rgb);
        cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle (cr, x + 1, y + 1, CELL_W - 2, CELL_H - 2);
        cairo_fill (cr);
        gboolean follows = t + 1 < l->T && l->ids[at] == attnviz_result_get_token_id (run, t + 1);
        const double *text_rgb = p > 0.55 ? black : white;
        g_autofree char *tok = cell_text (l->texts[at]);
        g_autofree char *prob = g_strdup_printf ("%.2f", p);
        draw_text (cr, layout, tok, x + 2, y + 2, CELL_W - 4, follows, text_rgb);
        draw_text (cr, layout, prob, x + 2, y + 17, CELL_W - 4, FALSE, text_rgb);
      }
  cairo_restore (cr);
  g_object_unref (layout);
}

char *
attnviz_lens_table_describe_cell (AttnvizLensTable *self, int layer, int position)
{
  g_return_val_if_fail (ATTNVIZ_IS_LENS_TABLE (self), NULL);
  const AttnvizLens *l = self->lens;
  if (l == NULL || layer < 0 || layer >= l->n_layer || position < 0 || position >= l->T)
    return NULL;
  const char *const *labels = attnviz_result_get_labels (self->run);
  g_autofree char *after = cell_text (labels ? labels[position] : NULL);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "After layer %d, at %s (token %d):", layer, after, position);
  for (int k = 0; k < l->K; k++)
    {
      gsize at = ((gsize) layer * l->T + position) * l->K + k;
      g_autofree char *tok = cell_text (l->texts[at]);
      g_string_append_printf (s, "\n%d. %s  %.4f", k + 1, tok, l->probs[at]);
    }
  return g_string_free (s, FALSE);
}

static gboolean
on_query_tooltip (GtkWidget *area, int x, int y, gboolean keyboard, GtkTooltip *tooltip, AttnvizLensTable *self)
{
  if (x < HEADER_W || y < HEADER_H)
    return FALSE;
  int position = (int) ((x - HEADER_W + gtk_adjustment_get_value (self->hadj)) / CELL_W);
  int layer = (int) ((y - HEADER_H + gtk_adjustment_get_value (self->vadj)) / CELL_H);
  g_autofree char *text = attnviz_lens_table_describe_cell (self, layer, position);
  if (text == NULL)
    return FALSE;
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
on_area_resize (GtkDrawingArea *area, int width, int height, AttnvizLensTable *self)
{
  update_adjustments (self);
}

/* The wheel scrolls the rows, or the columns when the rows all fit (or
 * with a horizontal wheel). */
static gboolean
on_scroll (GtkEventControllerScroll *controller, double dx, double dy, AttnvizLensTable *self)
{
  gboolean rows_fit = gtk_adjustment_get_upper (self->vadj) <= gtk_adjustment_get_page_size (self->vadj);
  if (rows_fit && dx == 0.0)
    {
      dx = dy;
      dy = 0.0;
    }
  gtk_adjustment_set_value (self->hadj, gtk_adjustment_get_value (self->hadj) + dx * CELL_W);
  gtk_adjustment_set_value (self->vadj, gtk_adjustment_get_value (self->vadj) + dy * CELL_H);
  return TRUE;
}

static void
on_run_changed (AttnvizLensTable *self)
{
  AttnvizResult *run = self->state ? attnviz_view_state_get_run (self->state) : NULL;
  if (run == self->run)
    return;
  g_set_object (&self->run, run);
  g_clear_pointer (&self->lens, attnviz_lens_free);
  update (self);
}

static void
on_state_notify (AttnvizViewState *state, GParamSpec *pspec, AttnvizLensTable *self)
{
  on_run_changed (self);
}

static void
compute_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  g_signal_emit (widget, signals[SIGNAL_COMPUTE], 0);
}

static void
cancel_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  g_signal_emit (widget, signals[SIGNAL_CANCEL], 0);
}

static void
attnviz_lens_table_dispose (GObject *object)
{
  AttnvizLensTable *self = ATTNVIZ_LENS_TABLE (object);

  attnviz_lens_table_set_state (self, NULL);
  g_clear_object (&self->run);
  g_clear_pointer (&self->lens, attnviz_lens_free);
  g_clear_pointer (&self->box, gtk_widget_unparent);
  g_clear_object (&self->hadj);
  g_clear_object (&self->vadj);
  G_OBJECT_CLASS (attnviz_lens_table_parent_class)->dispose (object);
}

static void
attnviz_lens_table_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizLensTable *self = ATTNVIZ_LENS_TABLE (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_object (value, self->state);
      break;
    case PROP_COMPUTING:
      g_value_set_boolean (value, self->computing);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_lens_table_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AttnvizLensTable *self = ATTNVIZ_LENS_TABLE (object);

  switch (prop_id)
    {
    case PROP_STATE:
      attnviz_lens_table_set_state (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_lens_table_class_init (AttnvizLensTableClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = attnviz_lens_table_dispose;
  object_class->get_property = attnviz_lens_table_get_property;
  object_class->set_property = attnviz_lens_table_set_property;

  properties[PROP_STATE] =
    g_param_spec_object ("state", NULL, NULL, ATTNVIZ_TYPE_VIEW_STATE,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_COMPUTING] =
    g_param_spec_boolean ("computing", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_COMPUTE] =
    g_signal_new ("compute", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_CANCEL] =
    g_signal_new ("cancel", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_install_action (widget_class, "lens.compute", NULL, compute_action);
  gtk_widget_class_install_action (widget_class, "lens.cancel", NULL, cancel_action);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
attnviz_lens_table_init (AttnvizLensTable *self)
{
  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));

  self->caption = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->caption, TRUE);
  gtk_label_set_justify (self->caption, GTK_JUSTIFY_CENTER);
  gtk_widget_add_css_class (GTK_WIDGET (self->caption), "dim-label");
  gtk_widget_add_css_class (GTK_WIDGET (self->caption), "view-caption");
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->caption));

  GtkWidget *bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (bar, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (self->box), bar);
  self->compute_button = gtk_button_new_with_mnemonic ("Compute the _Logit Lens");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->compute_button), "lens.compute");
  gtk_widget_set_tooltip_text (self->compute_button,
                               "Runs the model once more, reading every layer through the output layer");
  gtk_widget_add_css_class (self->compute_button, "pill");
  gtk_widget_add_css_class (self->compute_button, "suggested-action");
  gtk_box_append (GTK_BOX (bar), self->compute_button);
  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_progress_bar_set_show_text (self->progress, TRUE);
  gtk_widget_set_size_request (GTK_WIDGET (self->progress), 220, -1);
  gtk_widget_set_valign (GTK_WIDGET (self->progress), GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->progress));
  self->cancel_button = gtk_button_new_with_mnemonic ("_Cancel");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->cancel_button), "lens.cancel");
  gtk_box_append (GTK_BOX (bar), self->cancel_button);

  self->hadj = g_object_ref_sink (gtk_adjustment_new (0, 0, 1, 1, 1, 1));
  self->vadj = g_object_ref_sink (gtk_adjustment_new (0, 0, 1, 1, 1, 1));
  self->area = gtk_drawing_area_new ();
  gtk_widget_set_hexpand (self->area, TRUE);
  gtk_widget_set_vexpand (self->area, TRUE);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->area), draw, self, NULL);
  gtk_widget_set_has_tooltip (self->area, TRUE);
  g_signal_connect (self->area, "query-tooltip", G_CALLBACK (on_query_tooltip), self);
  g_signal_connect (self->area, "resize", G_CALLBACK (on_area_resize), self);
  g_signal_connect_object (self->hadj, "value-changed", G_CALLBACK (gtk_widget_queue_draw), self->area,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->vadj, "value-changed", G_CALLBACK (gtk_widget_queue_draw), self->area,
                           G_CONNECT_SWAPPED);
  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES
                                                                | GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (self->area, scroll);
  self->scroller = gtk_grid_new ();
  gtk_grid_attach (GTK_GRID (self->scroller), self->area, 0, 0, 1, 1);
  self->vbar = gtk_scrollbar_new (GTK_ORIENTATION_VERTICAL, self->vadj);
  self->hbar = gtk_scrollbar_new (GTK_ORIENTATION_HORIZONTAL, self->hadj);
  gtk_grid_attach (GTK_GRID (self->scroller), self->vbar, 1, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (self->scroller), self->hbar, 0, 1, 1, 1);
  gtk_box_append (GTK_BOX (self->box), self->scroller);
  update (self);
}

GtkWidget *
attnviz_lens_table_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_LENS_TABLE, NULL);
}

AttnvizViewState *
attnviz_lens_table_get_state (AttnvizLensTable *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LENS_TABLE (self), NULL);
  return self->state;
}

void
attnviz_lens_table_set_state (AttnvizLensTable *self, AttnvizViewState *state)
{
  g_return_if_fail (ATTNVIZ_IS_LENS_TABLE (self));
  g_return_if_fail (state == NULL || ATTNVIZ_IS_VIEW_STATE (state));

  static const char *const watched[] = { "run", NULL };
  if (!attnviz_view_state_observe (&self->state, state, G_CALLBACK (on_state_notify), self, watched))
    return;
  on_run_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

void
attnviz_lens_table_set_lens (AttnvizLensTable *self, AttnvizResult *run, AttnvizLens *lens)
{
  g_autoptr(AttnvizLens) owned = lens;

  g_return_if_fail (ATTNVIZ_IS_LENS_TABLE (self));
  if (run != self->run)
    return;
  g_return_if_fail (lens == NULL || lens->T == attnviz_result_get_n_tokens (run));
  g_clear_pointer (&self->lens, attnviz_lens_free);
  self->lens = g_steal_pointer (&owned);
  update (self);
}

const AttnvizLens *
attnviz_lens_table_get_lens (AttnvizLensTable *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LENS_TABLE (self), NULL);
  return self->lens;
}

void
attnviz_lens_table_set_progress (AttnvizLensTable *self, double fraction, const char *stage)
{
  g_return_if_fail (ATTNVIZ_IS_LENS_TABLE (self));
  gboolean computing = stage != NULL;
  if (stage != NULL)
    gtk_progress_bar_set_text (self->progress, stage);
  gtk_progress_bar_set_fraction (self->progress, CLAMP (fraction, 0.0, 1.0));
  if (computing != self->computing)
    {
      self->computing = computing;
      update (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPUTING]);
    }
}

gboolean
attnviz_lens_table_get_computing (AttnvizLensTable *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_LENS_TABLE (self), FALSE);
  return self->computing;
}
