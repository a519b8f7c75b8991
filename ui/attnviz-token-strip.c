/* attnviz-token-strip.c: the tokens of a run as a flow of chips
 *
 * Each chip shows the token's exact text, cut from the input by its byte
 * span, with spaces and newlines made visible; special tokens (BOS, [CLS])
 * show their piece and are styled apart.  The tooltip gives the id and the
 * span.  The chips wrap like words.  Clicking a chip selects its token;
 * clicking it again clears the selection; Left/Right, Up/Down, Home/End
 * step it, and the strip scrolls the selected chip into view.
 *
 * The strip is one widget, whatever the length: a widget per chip took
 * seconds to build at 8192 tokens and every frame measured them all.  It
 * lays out every chip's box (x, line) from widths measured once per
 * distinct piece, and draws only the chips in the part of it its
 * scrolled window shows.
 */
#define G_LOG_DOMAIN "attnviz-token-strip"
#include "config.h"

#include "attnviz-painter.h"
#include "attnviz-predictions.h"
#include "attnviz-token-strip-private.h"

G_DEFINE_FINAL_TYPE (AttnvizTokenStrip, attnviz_token_strip, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_STATE,
  PROP_SOURCE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

int
_attnviz_token_strip_n_tokens (AttnvizTokenStrip *self)
{
  if (self->result == NULL)
    return 0;
  return self->columns ? attnviz_result_get_n_cols (self->result) : attnviz_result_get_n_tokens (self->result);
}

/* The strip's token INDEX: a row of its result, or a column */
static const AttnvizToken *
token_at (AttnvizTokenStrip *self, int index)
{
  return self->columns ? attnviz_result_get_col_token (self->result, index)
                       : attnviz_result_get_token (self->result, index);
}

static void
invalidate_layout (AttnvizTokenStrip *self)
{
  self->layout_width = -1;
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

static void
invalidate_widths (AttnvizTokenStrip *self)
{
  g_clear_pointer (&self->widths, g_free);
  invalidate_layout (self);
}

static PangoLayout *
chip_layout (AttnvizTokenStrip *self, const char *text, gboolean special)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  if (special)
    {
      PangoAttrList *attrs = pango_attr_list_new ();
      pango_attr_list_insert (attrs, pango_attr_style_new (PANGO_STYLE_ITALIC));
      pango_layout_set_attributes (layout, attrs);
      pango_attr_list_unref (attrs);
    }
  return layout;
}

static gboolean
is_special (AttnvizTokenStrip *self, int index)
{
  const AttnvizToken *token = token_at (self, index);
  return token != NULL && token->special;
}

/* Every chip's width, measured once per distinct text (a long text
 * repeats its pieces: 8192 tokens of prose have a couple of thousand). */
static void
ensure_widths (AttnvizTokenStrip *self)
{
  int T = n_tokens (self);

  if (self->widths != NULL || T == 0)
    return;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  PangoLayout *plain = chip_layout (self, "", FALSE), *special = chip_layout (self, "", TRUE);
  int text_height = 0;
  self->widths = g_new (int, T);
  for (int t = 0; t < T; t++)
    {
      gboolean sp = is_special (self, t);
      gpointer known;
      /* Special chips are italic: measured apart. */
      if (!sp && g_hash_table_lookup_extended (seen, self->shown[t], NULL, &known))
        {
          self->widths[t] = GPOINTER_TO_INT (known);
          continue;
        }
      int w, h;
      pango_layout_set_text (sp ? special : plain, self->shown[t], -1);
      pango_layout_get_pixel_size (sp ? special : plain, &w, &h);
      self->widths[t] = w + 2 * PAD_X;
      text_height = MAX (text_height, h);
      if (!sp)
        g_hash_table_insert (seen, self->shown[t], GINT_TO_POINTER (self->widths[t]));
    }
  if (text_height == 0)
    pango_layout_get_pixel_size (plain, NULL, &text_height);
  self->chip_height = MAX (MIN_CHIP_HEIGHT, text_height + 2);
  g_object_unref (plain);
  g_object_unref (special);
}

int
_attnviz_token_strip_flow (AttnvizTokenStrip *self, int width)
{
  int T = n_tokens (self);

  ensure_widths (self);
  width = MAX (width, 1);
  if (width != self->layout_width)
    {
      int x = 0, line = 0;
      g_free (self->x);
      g_free (self->line);
      self->x = g_new (int, MAX (T, 1));
      self->line = g_new (int, MAX (T, 1));
      for (int t = 0; t < T; t++)
        {
          int w = MIN (self->widths[t], width);
          if (x > 0 && x + w > width)
            {
              x = 0;
              line++;
            }
          self->x[t] = x;
          self->line[t] = line;
          x += w + SPACING;
        }
      self->n_lines = T > 0 ? line + 1 : 0;
      self->layout_width = width;
    }
  return self->n_lines > 0 ? self->n_lines * (self->chip_height + SPACING) - SPACING : 0;
}

gboolean
attnviz_token_strip_get_chip_rect (AttnvizTokenStrip *self, int index, graphene_rect_t *rect)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), FALSE);

  if (index < 0 || index >= n_tokens (self))
    return FALSE;
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  flow (self, width > 0 ? width : 600);
  graphene_rect_init (rect, self->x[index], self->line[index] * (self->chip_height + SPACING),
                      MIN (self->widths[index], MAX (self->layout_width, 1)), self->chip_height);
  return TRUE;
}

/* The first token of line LINE (binary search: lines only grow). */
static int
first_of_line (AttnvizTokenStrip *self, int line)
{
  int lo = 0, hi = n_tokens (self);
  while (lo < hi)
    {
      int mid = lo + (hi - lo) / 2;
      if (self->line[mid] < line)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

int
attnviz_token_strip_get_token_at (AttnvizTokenStrip *self, double x, double y)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), -1);

  if (n_tokens (self) == 0 || y < 0)
    return -1;
  flow (self, gtk_widget_get_width (GTK_WIDGET (self)));
  int pitch = self->chip_height + SPACING;
  int line = (int) (y / pitch);
  if (line >= self->n_lines || y - line * pitch >= self->chip_height)
    return -1;
  for (int t = first_of_line (self, line); t < n_tokens (self) && self->line[t] == line; t++)
    if (x >= self->x[t] && x < self->x[t] + MIN (self->widths[t], self->layout_width))
      return t;
  return -1;
}

const char *
attnviz_token_strip_get_chip_text (AttnvizTokenStrip *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), NULL);
  return index >= 0 && index < n_tokens (self) ? self->shown[index] : NULL;
}

char *
attnviz_token_strip_describe_token (AttnvizTokenStrip *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), NULL);

  if (index < 0 || index >= n_tokens (self))
    return NULL;
  const AttnvizToken *token = token_at (self, index);
  gint32 id = self->columns ? attnviz_result_get_col_token_id (self->result, index)
                            : attnviz_result_get_token_id (self->result, index);
  const char *written = !self->source && attnviz_result_is_generated (self->result, index) ? ", written by the model" : "";
  if (token != NULL && token->special)
    return g_strdup_printf ("Token %d: special token, id %d%s", index, id, written);
  if (token != NULL)
    return g_strdup_printf ("Token %d: id %d, bytes %u–%u%s", index, id, token->start, token->end, written);
  return g_strdup_printf ("Token %d: id %d%s", index, id, written);
}

gboolean
attnviz_token_strip_get_chip_generated (AttnvizTokenStrip *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), FALSE);
  return !self->source && attnviz_result_is_generated (self->result, index);
}

char *
attnviz_token_strip_describe_tooltip (AttnvizTokenStrip *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), NULL);

  g_autofree char *token = attnviz_token_strip_describe_token (self, index);
  if (token == NULL)
    return NULL;
  g_autofree char *escaped = g_markup_escape_text (token, -1);
  AttnvizPrediction prediction;
  if (self->source || !attnviz_result_get_prediction (self->result, index, &prediction))
    return g_steal_pointer (&escaped);
  g_autofree char *predicted = attnviz_prediction_to_markup (&prediction);
  return g_strdup_printf ("%s\n%s", escaped, predicted);
}

int
attnviz_token_strip_get_n_drawn (AttnvizTokenStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), 0);
  return self->n_drawn;
}

/* ---- Drawing ----------------------------------------------------------------- */

static void
lookup_color (GtkWidget *widget, const char *name, const GdkRGBA *fallback, GdkRGBA *out)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (widget), name, out))
    *out = *fallback;
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static void
attnviz_token_strip_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (widget);
  int T = n_tokens (self);
  GdkRGBA fg, accent, accent_bg, accent_fg, fill;
  static const GdkRGBA blue = { 0.21, 0.52, 0.89, 1 }, white = { 1, 1, 1, 1 };

  self->n_drawn = 0;
  if (T == 0)
    return;
  flow (self, gtk_widget_get_width (widget));
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  lookup_color (widget, "accent_color", &blue, &accent);
  lookup_color (widget, "accent_bg_color", &blue, &accent_bg);
  lookup_color (widget, "accent_fg_color", &white, &accent_fg);
  GdkRGBA written;
  static const GdkRGBA green = { 0.15, 0.64, 0.41, 1 };
  lookup_color (widget, "success_color", &green, &written);

  graphene_rect_t view;
  attnviz_widget_visible_rect (widget, &view);
  int pitch = self->chip_height + SPACING;
  int first_line = MAX (0, (int) (view.origin.y / pitch));
  int last_line = MIN (self->n_lines - 1, (int) ((view.origin.y + view.size.height) / pitch));
  if (view.size.height <= 0)
    return;

  PangoLayout *plain = chip_layout (self, "", FALSE), *special = chip_layout (self, "", TRUE);
  for (int t = first_of_line (self, first_line); t < T && self->line[t] <= last_line; t++)
    {
      graphene_rect_t r;
      GskRoundedRect box;
      gboolean sp = is_special (self, t), selected = t == self->selected_token;
      attnviz_token_strip_get_chip_rect (self, t, &r);
      gsk_rounded_rect_init_from_rect (&box, &r, RADIUS);
      /* A button's fill: the text colour, faint; stronger under the pointer. */
      /* A token the model wrote (Continue): tinted and outlined apart. */
      gboolean generated = attnviz_token_strip_get_chip_generated (self, t);
      const GdkRGBA *base = generated ? &written : &fg;
      fill = selected ? accent_bg : (GdkRGBA) { base->red, base->green, base->blue,
                                                (t == self->hover_token ? 0.16 : 0.08) * (generated ? 2.5 : 1) };
      gtk_snapshot_push_rounded_clip (snapshot, &box);
      gtk_snapshot_append_color (snapshot, &fill, &r);
      gtk_snapshot_pop (snapshot);
      if (generated && !selected)
        {
          GdkRGBA line = written;
          line.alpha = 0.7;
          gtk_snapshot_append_border (snapshot, &box, (float[4]) { 1, 1, 1, 1 }, (GdkRGBA[4]) { line, line, line, line });
        }

      PangoLayout *layout = sp ? special : plain;
      int tw, th;
      pango_layout_set_text (layout, self->shown[t], -1);
      pango_layout_set_width (layout, MAX (1, (int) r.size.width - 2 * PAD_X) * PANGO_SCALE);
      pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
      pango_layout_get_pixel_size (layout, &tw, &th);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (r.origin.x + PAD_X,
                                                              r.origin.y + (r.size.height - th) / 2));
      gtk_snapshot_append_layout (snapshot, layout, selected ? &accent_fg : sp ? &accent : &fg);
      gtk_snapshot_restore (snapshot);
      self->n_drawn++;
    }
  g_object_unref (plain);
  g_object_unref (special);

  /* Keyboard focus: a ring around the selected chip (or the first). */
  if (gtk_widget_has_visible_focus (widget))
    {
      graphene_rect_t r;
      GskRoundedRect ring;
      GdkRGBA c = accent;
      c.alpha = 0.5;
      attnviz_token_strip_get_chip_rect (self, MAX (self->selected_token, 0), &r);
      graphene_rect_inset (&r, -2, -2);
      gsk_rounded_rect_init_from_rect (&ring, &r, RADIUS + 2);
      gtk_snapshot_append_border (snapshot, &ring, (float[4]) { 2, 2, 2, 2 }, (GdkRGBA[4]) { c, c, c, c });
    }
}

/* ---- Size ---------------------------------------------------------------------- */

static GtkSizeRequestMode
attnviz_token_strip_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
attnviz_token_strip_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                             int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (widget);
  int T = n_tokens (self);

  ensure_widths (self);
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      int widest = 0, total = 0;
      for (int t = 0; t < T; t++)
        {
          widest = MAX (widest, self->widths[t]);
          total += self->widths[t] + (t > 0 ? SPACING : 0);
        }
      /* A chip narrower than its text is ellipsized: never ask for more
       * than a sidebar's width. */
      *minimum = MIN (widest, 200);
      *natural = MIN (total, 600);
    }
  else
    *minimum = *natural = flow (self, for_size < 0 ? 600 : for_size);
}

static void
attnviz_token_strip_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  flow (ATTNVIZ_TOKEN_STRIP (widget), width);
  _attnviz_token_strip_allocate_popover (ATTNVIZ_TOKEN_STRIP (widget));
}

static void
attnviz_token_strip_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (attnviz_token_strip_parent_class)->css_changed (widget, change);
  invalidate_widths (ATTNVIZ_TOKEN_STRIP (widget));
}

/* ---- Pointer and keys ------------------------------------------------------------ */

static void
set_hover (AttnvizTokenStrip *self, int token)
{
  if (token == self->hover_token)
    return;
  self->hover_token = token;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), token >= 0 ? "pointer" : NULL);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, AttnvizTokenStrip *self)
{
  set_hover (self, attnviz_token_strip_get_token_at (self, x, y));
}

static void
on_leave (GtkEventControllerMotion *controller, AttnvizTokenStrip *self)
{
  set_hover (self, -1);
}

static void
on_released (GtkGestureClick *gesture, int n_press, double x, double y, AttnvizTokenStrip *self)
{
  int token = attnviz_token_strip_get_token_at (self, x, y);

  gtk_widget_grab_focus (GTK_WIDGET (self));
  if (token < 0)
    return;
  attnviz_token_strip_select (self, token == self->selected_token ? -1 : token);
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (widget);
  int token = keyboard ? self->selected_token : attnviz_token_strip_get_token_at (self, x, y);
  graphene_rect_t r;

  if (token < 0 || !attnviz_token_strip_get_chip_rect (self, token, &r))
    return FALSE;
  g_autofree char *markup = attnviz_token_strip_describe_tooltip (self, token);
  gtk_tooltip_set_markup (tooltip, markup);
  gtk_tooltip_set_tip_area (tooltip, &(GdkRectangle) { r.origin.x, r.origin.y, r.size.width, r.size.height });
  return TRUE;
}

/* The token on line LINE nearest to X. */
static int
nearest_on_line (AttnvizTokenStrip *self, int line, int x)
{
  int best = -1, best_d = G_MAXINT;
  for (int t = first_of_line (self, line); t < n_tokens (self) && self->line[t] == line; t++)
    {
      int d = ABS (self->x[t] + self->widths[t] / 2 - x);
      if (d < best_d)
        best = t, best_d = d;
    }
  return best;
}

static void
step_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (widget);
  int T = n_tokens (self), s = self->selected_token, to = s;

  if (T == 0)
    return;
  flow (self, gtk_widget_get_width (widget));
  if (g_str_equal (action_name, "tokens.next"))
    to = s < 0 ? 0 : MIN (s + 1, T - 1);
  else if (g_str_equal (action_name, "tokens.previous"))
    to = s < 0 ? 0 : MAX (s - 1, 0);
  else if (g_str_equal (action_name, "tokens.first"))
    to = 0;
  else if (g_str_equal (action_name, "tokens.last"))
    to = T - 1;
  else if (s >= 0)
    {
      gboolean down = g_str_equal (action_name, "tokens.line-down");
      int line = self->line[s] + (down ? 1 : -1);
      if (line >= 0 && line < self->n_lines)
        to = nearest_on_line (self, line, self->x[s] + self->widths[s] / 2);
    }
  else
    to = 0;
  attnviz_token_strip_select (self, to);
}

/* ---- GObject ----------------------------------------------------------------------- */

static void
attnviz_token_strip_dispose (GObject *object)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (object);

  attnviz_token_strip_set_state (self, NULL);
  g_clear_object (&self->result);
  g_clear_pointer (&self->go_to, gtk_widget_unparent);
  G_OBJECT_CLASS (attnviz_token_strip_parent_class)->dispose (object);
}

static void
attnviz_token_strip_finalize (GObject *object)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (object);

  g_strfreev (self->shown);
  g_free (self->widths);
  g_free (self->x);
  g_free (self->line);
  G_OBJECT_CLASS (attnviz_token_strip_parent_class)->finalize (object);
}

static void
attnviz_token_strip_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_object (value, self->state);
      break;
    case PROP_SOURCE:
      g_value_set_boolean (value, self->source);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_token_strip_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (object);

  switch (prop_id)
    {
    case PROP_STATE:
      attnviz_token_strip_set_state (self, g_value_get_object (value));
      break;
    case PROP_SOURCE:
      attnviz_token_strip_set_source (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_token_strip_class_init (AttnvizTokenStripClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = attnviz_token_strip_dispose;
  object_class->finalize = attnviz_token_strip_finalize;
  object_class->get_property = attnviz_token_strip_get_property;
  object_class->set_property = attnviz_token_strip_set_property;

  /* What it shows: the state's run, its tokens and its selected token. */
  properties[PROP_STATE] =
    g_param_spec_object ("state", NULL, NULL, ATTNVIZ_TYPE_VIEW_STATE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* An encoder-decoder's source: the run's encoder tokens and the state's
   * selected source, instead. */
  properties[PROP_SOURCE] =
    g_param_spec_boolean ("source", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  widget_class->get_request_mode = attnviz_token_strip_get_request_mode;
  widget_class->measure = attnviz_token_strip_measure;
  widget_class->size_allocate = attnviz_token_strip_size_allocate;
  widget_class->snapshot = attnviz_token_strip_snapshot;
  widget_class->css_changed = attnviz_token_strip_css_changed;
  widget_class->map = _attnviz_token_strip_map;
  widget_class->unmap = _attnviz_token_strip_unmap;

  gtk_widget_class_install_action (widget_class, "tokens.next", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "tokens.previous", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "tokens.line-down", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "tokens.line-up", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "tokens.first", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "tokens.last", NULL, step_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "tokens.next", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Right, 0, "tokens.next", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "tokens.previous", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Left, 0, "tokens.previous", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, 0, "tokens.line-down", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Down, 0, "tokens.line-down", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, 0, "tokens.line-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Up, 0, "tokens.line-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Home, 0, "tokens.first", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_End, 0, "tokens.last", NULL);

  _attnviz_token_strip_class_init_scroll (widget_class);
  gtk_widget_class_set_css_name (widget_class, "tokenstrip");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_LIST);
}

static void
attnviz_token_strip_init (AttnvizTokenStrip *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *controller;
  GtkGesture *gesture;

  self->selected_token = -1;
  self->hover_token = -1;
  self->layout_width = -1;
  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_has_tooltip (widget, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Tokens of the run", -1);
  g_signal_connect (widget, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "enter", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (widget, controller);

  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "released", G_CALLBACK (on_released), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (gesture));
  _attnviz_token_strip_init_scroll (self);
}

GtkWidget *
attnviz_token_strip_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_TOKEN_STRIP, NULL);
}

AttnvizResult *
attnviz_token_strip_get_result (AttnvizTokenStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), NULL);
  return self->result;
}

/* The chip's text: visible spaces and newlines, long pieces cut. */
static char *
chip_text (const char *label)
{
  char *shown = attnviz_painter_display_text (label);
  if (g_utf8_strlen (shown, -1) <= MAX_CHARS)
    return shown;
  g_autofree char *cut = g_utf8_substring (shown, 0, MAX_CHARS - 1);
  g_free (shown);
  return g_strconcat (cut, "…", NULL);
}

/* The tokens to show: the state's run (its source for a source strip). */
static void
show_result (AttnvizTokenStrip *self)
{
  AttnvizResult *run = self->state ? attnviz_view_state_get_run (self->state) : NULL;
  g_autoptr(AttnvizResult) result = NULL;
  if (run != NULL)
    result = self->source ? attnviz_result_get_attention (run, ATTNVIZ_ATTENTION_ENCODER) : g_object_ref (run);
  /* a cross-attention with no encoder: its source is its columns */
  gboolean columns = self->source && result == NULL && run != NULL && !attnviz_result_is_square (run);
  if (columns)
    result = g_object_ref (run);
  if (!g_set_object (&self->result, result) && columns == self->columns)
    return;
  self->columns = columns;
  int T = n_tokens (self);
  g_strfreev (self->shown);
  self->shown = g_new0 (char *, T + 1);
  for (int t = 0; t < T; t++)
    self->shown[t] = chip_text (columns ? attnviz_result_get_col_label (result, t)
                                        : attnviz_result_get_label (result, t));
  self->hover_token = -1;
  invalidate_widths (self);
}

/* The state's selection, drawn and scrolled into view. */
static void
show_selection (AttnvizTokenStrip *self)
{
  int token = -1;
  if (self->state != NULL)
    token = self->source ? attnviz_view_state_get_selected_source (self->state)
                         : attnviz_view_state_get_selected_token (self->state);
  if (token >= n_tokens (self))
    token = -1;
  if (token == self->selected_token)
    return;
  self->selected_token = token;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  _attnviz_token_strip_queue_scroll_to_selected (self);
}

static void
on_state_notify (AttnvizViewState *state, GParamSpec *pspec, AttnvizTokenStrip *self)
{
  if (pspec == NULL || g_str_equal (pspec->name, "run"))
    show_result (self);
  show_selection (self);
}

AttnvizViewState *
attnviz_token_strip_get_state (AttnvizTokenStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), NULL);
  return self->state;
}

void
attnviz_token_strip_set_state (AttnvizTokenStrip *self, AttnvizViewState *state)
{
  g_return_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self));
  g_return_if_fail (state == NULL || ATTNVIZ_IS_VIEW_STATE (state));

  static const char *const watched[] = { "run", "selected-token", "selected-source", NULL };
  if (!attnviz_view_state_observe (&self->state, state, G_CALLBACK (on_state_notify), self, watched))
    return;
  on_state_notify (state, NULL, self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

gboolean
attnviz_token_strip_get_source (AttnvizTokenStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), FALSE);
  return self->source;
}

void
attnviz_token_strip_set_source (AttnvizTokenStrip *self, gboolean source)
{
  g_return_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self));

  source = !!source;
  if (source == self->source)
    return;
  self->source = source;
  on_state_notify (self->state, NULL, self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SOURCE]);
}

int
attnviz_token_strip_get_selected_token (AttnvizTokenStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), -1);
  return self->selected_token;
}

void
attnviz_token_strip_select (AttnvizTokenStrip *self, int token)
{
  g_return_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self));

  if (self->state == NULL)
    return;
  if (token < 0 || token >= n_tokens (self))
    token = -1;
  /* Through the state, which every view observes; it comes back here. */
  if (self->source)
    attnviz_view_state_set_selected_source (self->state, token);
  else
    attnviz_view_state_set_selected_token (self->state, token);
}
