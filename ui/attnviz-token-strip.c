/* attnviz-token-strip.c: the tokens of a run as a flow of chips
 *
 * Each chip shows the token's exact text, cut from the input by its byte
 * span, with spaces and newlines made visible; special tokens (BOS, [CLS])
 * show their piece and are styled apart.  The tooltip gives the id and the
 * span.  The chips wrap like words.  Clicking a chip selects its token;
 * clicking it again clears the selection.
 */
#define G_LOG_DOMAIN "attnviz-token-strip"
#include "config.h"

#include "attnviz-painter.h"
#include "attnviz-token-strip.h"

struct _AttnvizTokenStrip
{
  GtkWidget parent_instance;

  GPtrArray *chips;       /* (T) GtkButton, children of the strip */
  AttnvizResult *result;
  int selected_token;
};

G_DEFINE_FINAL_TYPE (AttnvizTokenStrip, attnviz_token_strip, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_RESULT,
  PROP_SELECTED_TOKEN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define SPACING 4

GtkWidget *
attnviz_token_strip_get_chip (AttnvizTokenStrip *self, int index)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), NULL);

  if (index < 0 || index >= (int) self->chips->len)
    return NULL;
  return g_ptr_array_index (self->chips, index);
}

static void
on_chip_clicked (GtkButton *chip, AttnvizTokenStrip *self)
{
  int index = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (chip), "attnviz-index"));
  attnviz_token_strip_set_selected_token (self, index == self->selected_token ? -1 : index);
}

static GtkWidget *
make_chip (AttnvizTokenStrip *self, int index)
{
  AttnvizResult *result = self->result;
  const AttnvizToken *token = attnviz_result_get_token (result, index);
  gint32 id = attnviz_result_get_token_id (result, index);
  g_autofree char *shown = attnviz_painter_display_text (attnviz_result_get_label (result, index));
  g_autofree char *tooltip = NULL;

  GtkWidget *label = gtk_label_new (shown);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 24);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);

  GtkWidget *chip = gtk_button_new ();
  gtk_button_set_child (GTK_BUTTON (chip), label);
  gtk_widget_add_css_class (chip, "token-chip");
  if (token != NULL && token->special)
    {
      gtk_widget_add_css_class (chip, "special");
      tooltip = g_strdup_printf ("Token %d: special token, id %d", index, id);
    }
  else if (token != NULL)
    tooltip = g_strdup_printf ("Token %d: id %d, bytes %u–%u", index, id, token->start, token->end);
  else
    tooltip = g_strdup_printf ("Token %d: id %d", index, id);
  gtk_widget_set_tooltip_text (chip, tooltip);
  g_object_set_data (G_OBJECT (chip), "attnviz-index", GINT_TO_POINTER (index));
  g_signal_connect (chip, "clicked", G_CALLBACK (on_chip_clicked), self);
  return chip;
}

static void
rebuild (AttnvizTokenStrip *self)
{
  for (guint i = 0; i < self->chips->len; i++)
    gtk_widget_unparent (g_ptr_array_index (self->chips, i));
  g_ptr_array_set_size (self->chips, 0);
  if (self->result == NULL)
    return;
  int T = attnviz_result_get_n_tokens (self->result);
  for (int t = 0; t < T; t++)
    {
      GtkWidget *chip = make_chip (self, t);
      gtk_widget_set_parent (chip, GTK_WIDGET (self));
      g_ptr_array_add (self->chips, chip);
    }
}

static void
mark_selected (AttnvizTokenStrip *self, int token, gboolean selected)
{
  GtkWidget *chip = attnviz_token_strip_get_chip (self, token);

  if (chip == NULL)
    return;
  if (selected)
    gtk_widget_add_css_class (chip, "selected-token");
  else
    gtk_widget_remove_css_class (chip, "selected-token");
}

/* ---- Layout: chips flow like words, wrapping at the width --------------- */

/* Lays the chips out in lines of at most WIDTH; returns the height.  With
 * ALLOCATE, places them too. */
static int
flow (AttnvizTokenStrip *self, int width, gboolean allocate)
{
  int x = 0, y = 0, line_height = 0;

  for (guint i = 0; i < self->chips->len; i++)
    {
      GtkWidget *chip = g_ptr_array_index (self->chips, i);
      int w, h;

      if (!gtk_widget_should_layout (chip))
        continue;
      gtk_widget_measure (chip, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &w, NULL, NULL);
      w = MIN (w, MAX (width, 1));
      gtk_widget_measure (chip, GTK_ORIENTATION_VERTICAL, w, NULL, &h, NULL, NULL);
      if (x > 0 && x + w > width)
        {
          x = 0;
          y += line_height + SPACING;
          line_height = 0;
        }
      if (allocate)
        gtk_widget_size_allocate (chip, &(GtkAllocation) { x, y, w, h }, -1);
      x += w + SPACING;
      line_height = MAX (line_height, h);
    }
  return y + line_height;
}

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

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      int widest = 0, total = 0;
      for (guint i = 0; i < self->chips->len; i++)
        {
          int min, nat;
          gtk_widget_measure (g_ptr_array_index (self->chips, i), orientation, -1, &min, &nat, NULL, NULL);
          widest = MAX (widest, min);
          total += nat + (i > 0 ? SPACING : 0);
        }
      *minimum = widest;
      *natural = MIN (total, 600);
    }
  else
    {
      int height = flow (self, for_size < 0 ? 600 : for_size, FALSE);
      *minimum = *natural = height;
    }
}

static void
attnviz_token_strip_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  flow (ATTNVIZ_TOKEN_STRIP (widget), width, TRUE);
}

static void
attnviz_token_strip_dispose (GObject *object)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (object);

  g_clear_object (&self->result);
  rebuild (self);   /* with no result: removes the chips */
  G_OBJECT_CLASS (attnviz_token_strip_parent_class)->dispose (object);
}

static void
attnviz_token_strip_finalize (GObject *object)
{
  g_ptr_array_unref (ATTNVIZ_TOKEN_STRIP (object)->chips);
  G_OBJECT_CLASS (attnviz_token_strip_parent_class)->finalize (object);
}

static void
attnviz_token_strip_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizTokenStrip *self = ATTNVIZ_TOKEN_STRIP (object);

  switch (prop_id)
    {
    case PROP_RESULT:
      g_value_set_object (value, self->result);
      break;
    case PROP_SELECTED_TOKEN:
      g_value_set_int (value, self->selected_token);
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
    case PROP_RESULT:
      attnviz_token_strip_set_result (self, g_value_get_object (value));
      break;
    case PROP_SELECTED_TOKEN:
      attnviz_token_strip_set_selected_token (self, g_value_get_int (value));
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

  properties[PROP_RESULT] =
    g_param_spec_object ("result", NULL, NULL, ATTNVIZ_TYPE_RESULT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED_TOKEN] =
    g_param_spec_int ("selected-token", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  widget_class->get_request_mode = attnviz_token_strip_get_request_mode;
  widget_class->measure = attnviz_token_strip_measure;
  widget_class->size_allocate = attnviz_token_strip_size_allocate;
  gtk_widget_class_set_css_name (widget_class, "tokenstrip");
}

static void
attnviz_token_strip_init (AttnvizTokenStrip *self)
{
  self->selected_token = -1;
  self->chips = g_ptr_array_new ();
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

void
attnviz_token_strip_set_result (AttnvizTokenStrip *self, AttnvizResult *result)
{
  g_return_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self));
  g_return_if_fail (result == NULL || ATTNVIZ_IS_RESULT (result));

  if (!g_set_object (&self->result, result))
    return;
  g_object_freeze_notify (G_OBJECT (self));
  rebuild (self);
  int T = result ? attnviz_result_get_n_tokens (result) : 0;
  if (self->selected_token >= T)
    {
      self->selected_token = -1;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_TOKEN]);
    }
  else
    mark_selected (self, self->selected_token, TRUE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESULT]);
  g_object_thaw_notify (G_OBJECT (self));
}

int
attnviz_token_strip_get_selected_token (AttnvizTokenStrip *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self), -1);
  return self->selected_token;
}

void
attnviz_token_strip_set_selected_token (AttnvizTokenStrip *self, int token)
{
  g_return_if_fail (ATTNVIZ_IS_TOKEN_STRIP (self));

  int T = self->result ? attnviz_result_get_n_tokens (self->result) : 0;
  if (token < 0 || token >= T)
    token = -1;
  if (token == self->selected_token)
    return;
  mark_selected (self, self->selected_token, FALSE);
  self->selected_token = token;
  mark_selected (self, token, TRUE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_TOKEN]);
}
