/* attnviz-step-panel.c: one token's attention row in every head
 *
 * The rows come from the result (attnviz_result_get_rect (), one row of
 * each recorded head: exactly the matrices' entries): at once for a run
 * that keeps its matrices, in a GTask for a long one, which recomputes
 * them; a newer query cancels the older read.  The painter draws it
 * (attnviz_paint_step_panel, ui/attnviz-painter-step.c): one bar a key,
 * pooled to the largest weight where keys outnumber pixels, so a single
 * strong key stays visible; the same picture goes into the Steps page's
 * figure files.
 */
#define G_LOG_DOMAIN "attnviz-step-panel"
#include "config.h"

#include <math.h>

#include "attnviz-colormap.h"
#include "attnviz-painter.h"
#include "attnviz-predictions.h"
#include "attnviz-step-panel.h"

#define SCREEN_FONT_SIZE 11.0   /* the painter's labels on screen */
#define MARGIN_LEFT 34          /* for the size request: about the painter's margins at that size */
#define MARGIN_TOP 22
#define GAP 4
#define MAX_CELL_HEIGHT 110
#define TOOLTIP_KEYS 3

struct _AttnvizStepPanel
{
  GtkWidget parent_instance;

  AttnvizViewState *state;
  AttnvizResult *result;      /* the state's attention shown */
  int query;                  /* its row token, -1: none */
  int layer, head;            /* the state's, outlined */
  AttnvizColormap colormap;

  float *rows;                /* (n_layers * n_heads, cols) the query's rows, or NULL */
  gboolean *recorded;         /* (n_layers * n_heads) */
  int n_layers, n_heads, cols;
  gboolean ready;
  GCancellable *cancellable;  /* a long run's read in flight */
};

G_DEFINE_FINAL_TYPE (AttnvizStepPanel, attnviz_step_panel, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_STATE,
  PROP_READY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- Reading the rows --------------------------------------------------- */

typedef struct {
  AttnvizResult *result;
  int query, n_layers, n_heads, cols;
} ReadData;

typedef struct {
  float *rows;
  gboolean *recorded;
} Rows;

static void
read_data_free (ReadData *d)
{
  g_object_unref (d->result);
  g_free (d);
}

static void
rows_free (Rows *r)
{
  g_free (r->rows);
  g_free (r->recorded);
  g_free (r);
}

/* Reads every head's row QUERY of RESULT; NULL when cancelled. */
static Rows *
read_rows (AttnvizResult *result, int query, int n_layers, int n_heads, int cols, GCancellable *cancellable)
{
  Rows *r = g_new0 (Rows, 1);
  r->rows = g_new0 (float, (gsize) n_layers * n_heads * MAX (cols, 1));
  r->recorded = g_new0 (gboolean, (gsize) n_layers * n_heads);
  for (int l = 0; l < n_layers; l++)
    for (int h = 0; h < n_heads; h++)
      {
        if (g_cancellable_is_cancelled (cancellable))
          {
            rows_free (r);
            return NULL;
          }
        gsize i = (gsize) l * n_heads + h;
        r->recorded[i] = attnviz_result_has_matrix (result, ATTNVIZ_AGGREGATE_HEAD, l, h)
                         && attnviz_result_get_rect (result, ATTNVIZ_AGGREGATE_HEAD, l, h, query, query + 1, 0, cols,
                                                     r->rows + i * cols, cols);
      }
  return r;
}

static void
read_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ReadData *d = task_data;
  Rows *r = read_rows (d->result, d->query, d->n_layers, d->n_heads, d->cols, cancellable);
  if (r == NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
  else
    g_task_return_pointer (task, r, (GDestroyNotify) rows_free);
}

static void
set_rows (AttnvizStepPanel *self, Rows *r /* owned */)
{
  g_free (self->rows);
  g_free (self->recorded);
  self->rows = r->rows;
  self->recorded = r->recorded;
  g_free (r);
  self->ready = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READY]);
}

static void
on_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(AttnvizStepPanel) self = user_data;
  Rows *r = g_task_propagate_pointer (G_TASK (res), NULL);
  /* A cancelled read was replaced by a newer one (or the panel let go). */
  if (r != NULL)
    set_rows (self, r);
}

static void
reload (AttnvizStepPanel *self)
{
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->rows, g_free);
  g_clear_pointer (&self->recorded, g_free);
  gboolean was_ready = self->ready;
  self->ready = FALSE;
  self->n_layers = self->result ? attnviz_result_get_n_layers (self->result) : 0;
  self->n_heads = self->result ? attnviz_result_get_n_heads (self->result) : 0;
  self->cols = self->result ? attnviz_result_get_n_cols (self->result) : 0;
  gtk_widget_queue_draw (GTK_WIDGET (self));

  if (self->result == NULL || self->query < 0 || self->n_layers * self->n_heads == 0)
    {
      if (was_ready)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READY]);
      return;
    }
  if (!attnviz_result_is_long (self->result))
    {
      /* The matrices are in memory: reading L × H rows is a copy. */
      set_rows (self, read_rows (self->result, self->query, self->n_layers, self->n_heads, self->cols, NULL));
      return;
    }
  if (was_ready)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READY]);
  ReadData *d = g_new0 (ReadData, 1);
  d->result = g_object_ref (self->result);
  d->query = self->query;
  d->n_layers = self->n_layers;
  d->n_heads = self->n_heads;
  d->cols = self->cols;
  self->cancellable = g_cancellable_new ();
  g_autoptr(GTask) task = g_task_new (NULL, self->cancellable, on_read, g_object_ref (self));
  g_task_set_source_tag (task, reload);
  g_task_set_name (task, "attnviz step rows");
  g_task_set_task_data (task, d, (GDestroyNotify) read_data_free);
  g_task_run_in_thread (task, read_thread);
}

/* ---- Layout and drawing: the painter's step panel ---------------------------- */

gboolean
attnviz_step_panel_get_spec (AttnvizStepPanel *self, AttnvizStepPanelSpec *spec)
{
  g_return_val_if_fail (ATTNVIZ_IS_STEP_PANEL (self), FALSE);

  gboolean rows = self->query >= 0 && self->ready;
  attnviz_step_panel_spec_init (spec, rows ? self->rows : NULL, self->n_layers, self->n_heads, self->cols);
  if (self->result == NULL)
    return FALSE;
  spec->recorded = rows ? self->recorded : NULL;
  /* The keys the query may see: a causal row ends at its own token. */
  spec->keys = attnviz_result_get_causal (self->result) && attnviz_result_is_square (self->result)
               ? MIN (self->query + 1, self->cols) : self->cols;
  AttnvizResult *run = self->state ? attnviz_view_state_get_run (self->state) : NULL;
  spec->first_generated = attnviz_result_get_kind (self->result) == ATTNVIZ_ATTENTION_SELF
                          ? attnviz_result_get_first_generated (run) : -1;
  spec->colormap = self->colormap;
  if (self->state && attnviz_view_state_get_aggregate (self->state) == ATTNVIZ_AGGREGATE_HEAD)
    {
      spec->current_layer = self->layer;
      spec->current_head = self->head;
    }
  spec->message = self->query < 0 ? "Pick a step (or a token) to see its row in every head"
                : !self->ready ? "Reading the rows…" : NULL;
  return rows;
}

static void
screen_spec (AttnvizStepPanel *self, AttnvizStepPanelSpec *spec)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GdkRGBA fg, accent;
  attnviz_step_panel_get_spec (self, spec);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (widget), "accent_color", &accent))
    accent = (GdkRGBA) { 0.21, 0.52, 0.89, 1 };
  G_GNUC_END_IGNORE_DEPRECATIONS
  spec->foreground = (AttnvizRGBA) { fg.red, fg.green, fg.blue, fg.alpha };
  spec->accent = (AttnvizRGBA) { accent.red, accent.green, accent.blue, accent.alpha };
  spec->font_size = SCREEN_FONT_SIZE;
}

gboolean
attnviz_step_panel_get_cell_rect (AttnvizStepPanel *self, int layer, int head, graphene_rect_t *rect)
{
  g_return_val_if_fail (ATTNVIZ_IS_STEP_PANEL (self), FALSE);

  AttnvizStepPanelSpec spec;
  AttnvizStepPanelLayout layout;
  AttnvizRect r;
  screen_spec (self, &spec);
  attnviz_step_panel_layout (&spec, gtk_widget_get_width (GTK_WIDGET (self)), gtk_widget_get_height (GTK_WIDGET (self)),
                             &layout);
  if (!attnviz_step_panel_layout_cell (&layout, layer, head, &r))
    return FALSE;
  *rect = GRAPHENE_RECT_INIT (r.x, r.y, r.width, r.height);
  return TRUE;
}

gboolean
attnviz_step_panel_get_cell_at (AttnvizStepPanel *self, double x, double y, int *layer, int *head)
{
  g_return_val_if_fail (ATTNVIZ_IS_STEP_PANEL (self), FALSE);

  for (int l = 0; l < self->n_layers; l++)
    for (int h = 0; h < self->n_heads; h++)
      {
        graphene_rect_t r;
        if (attnviz_step_panel_get_cell_rect (self, l, h, &r)
            && graphene_rect_contains_point (&r, &GRAPHENE_POINT_INIT (x, y)))
          {
            *layer = l;
            *head = h;
            return TRUE;
          }
      }
  return FALSE;
}

static void
attnviz_step_panel_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  AttnvizStepPanel *self = ATTNVIZ_STEP_PANEL (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);

  if (self->result == NULL || self->n_layers * self->n_heads == 0)
    return;
  AttnvizStepPanelSpec spec;
  screen_spec (self, &spec);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  attnviz_paint_step_panel (cr, &spec, width, height);
  cairo_destroy (cr);
}

/* ---- Pointer ---------------------------------------------------------------- */

char *
attnviz_step_panel_describe_cell (AttnvizStepPanel *self, int layer, int head)
{
  g_return_val_if_fail (ATTNVIZ_IS_STEP_PANEL (self), NULL);

  int n;
  const float *row = attnviz_step_panel_get_row (self, layer, head, &n);
  if (row == NULL)
    return NULL;
  /* Only the keys it may see: a causal row ends at its own token. */
  if (attnviz_result_get_causal (self->result) && attnviz_result_is_square (self->result))
    n = MIN (n, self->query + 1);
  g_autofree char *query = attnviz_painter_display_text (attnviz_result_get_label (self->result, self->query));
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "layer %d · head %d · row of %d “%s”:", layer, head, self->query, query);
  /* The keys it attends to most, largest first. */
  int best[TOOLTIP_KEYS];
  int n_best = 0;
  for (int j = 0; j < n; j++)
    {
      int at = n_best;
      while (at > 0 && row[j] > row[best[at - 1]])
        at--;
      if (at >= TOOLTIP_KEYS)
        continue;
      for (int m = MIN (n_best, TOOLTIP_KEYS - 1); m > at; m--)
        best[m] = best[m - 1];
      best[at] = j;
      n_best = MIN (n_best + 1, TOOLTIP_KEYS);
    }
  for (int i = 0; i < n_best; i++)
    {
      g_autofree char *key = attnviz_painter_display_text (attnviz_result_get_col_label (self->result, best[i]));
      g_string_append_printf (s, "%s %d “%s” %.3f", i ? " ·" : "", best[i], key, row[best[i]]);
    }
  return g_string_free (s, FALSE);
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  AttnvizStepPanel *self = ATTNVIZ_STEP_PANEL (widget);
  int layer, head;
  graphene_rect_t r;

  if (!attnviz_step_panel_get_cell_at (self, x, y, &layer, &head))
    return FALSE;
  g_autofree char *text = attnviz_step_panel_describe_cell (self, layer, head);
  if (text == NULL)
    return FALSE;
  gtk_tooltip_set_text (tooltip, text);
  attnviz_step_panel_get_cell_rect (self, layer, head, &r);
  gtk_tooltip_set_tip_area (tooltip, &(GdkRectangle) { r.origin.x, r.origin.y, r.size.width, r.size.height });
  return TRUE;
}

static void
on_released (GtkGestureClick *gesture, int n_press, double x, double y, AttnvizStepPanel *self)
{
  int layer, head;

  if (self->state == NULL || !attnviz_step_panel_get_cell_at (self, x, y, &layer, &head))
    return;
  attnviz_view_state_set_aggregate (self->state, ATTNVIZ_AGGREGATE_HEAD);
  attnviz_view_state_set_layer (self->state, layer);
  attnviz_view_state_set_head (self->state, head);
}

/* ---- State ------------------------------------------------------------------ */

static void
on_state_notify (AttnvizViewState *state, GParamSpec *pspec, AttnvizStepPanel *self)
{
  AttnvizResult *result = self->state ? attnviz_view_state_get_result (self->state) : NULL;
  int query = self->state ? attnviz_view_state_get_row_token (self->state) : -1;
  if (result == NULL || query >= attnviz_result_get_n_tokens (result))
    query = -1;
  gboolean changed = g_set_object (&self->result, result);
  if (changed || query != self->query)
    {
      self->query = query;
      reload (self);
    }
  if (self->state != NULL)
    {
      self->layer = attnviz_view_state_get_layer (self->state);
      self->head = attnviz_view_state_get_head (self->state);
      self->colormap = attnviz_view_state_get_colormap (self->state);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

AttnvizViewState *
attnviz_step_panel_get_state (AttnvizStepPanel *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_STEP_PANEL (self), NULL);
  return self->state;
}

void
attnviz_step_panel_set_state (AttnvizStepPanel *self, AttnvizViewState *state)
{
  g_return_if_fail (ATTNVIZ_IS_STEP_PANEL (self));
  g_return_if_fail (state == NULL || ATTNVIZ_IS_VIEW_STATE (state));

  static const char *const watched[] = { "result", "selected-token", "selected-source", "layer", "head",
                                         "aggregate", "colormap", NULL };
  if (!attnviz_view_state_observe (&self->state, state, G_CALLBACK (on_state_notify), self, watched))
    return;
  on_state_notify (state, NULL, self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

int
attnviz_step_panel_get_query (AttnvizStepPanel *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_STEP_PANEL (self), -1);
  return self->query;
}

gboolean
attnviz_step_panel_get_ready (AttnvizStepPanel *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_STEP_PANEL (self), FALSE);
  return self->ready;
}

const float *
attnviz_step_panel_get_row (AttnvizStepPanel *self, int layer, int head, int *n_keys)
{
  g_return_val_if_fail (ATTNVIZ_IS_STEP_PANEL (self), NULL);

  if (!self->ready || layer < 0 || layer >= self->n_layers || head < 0 || head >= self->n_heads)
    return NULL;
  gsize i = (gsize) layer * self->n_heads + head;
  if (!self->recorded[i])
    return NULL;
  if (n_keys)
    *n_keys = self->cols;
  return self->rows + i * self->cols;
}

/* ---- GObject ---------------------------------------------------------------- */

static GtkSizeRequestMode
attnviz_step_panel_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_CONSTANT_SIZE;
}

static void
attnviz_step_panel_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                            int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  AttnvizStepPanel *self = ATTNVIZ_STEP_PANEL (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = MARGIN_LEFT + 8 * MAX (self->n_heads, 1);
      *natural = MARGIN_LEFT + 90 * MAX (self->n_heads, 1);
    }
  else
    {
      *minimum = MARGIN_TOP + 10 * MAX (self->n_layers, 1);
      *natural = MARGIN_TOP + (MAX_CELL_HEIGHT / 2 + GAP) * MAX (self->n_layers, 1);
    }
}

static void
attnviz_step_panel_dispose (GObject *object)
{
  AttnvizStepPanel *self = ATTNVIZ_STEP_PANEL (object);

  attnviz_step_panel_set_state (self, NULL);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->result);
  g_clear_pointer (&self->rows, g_free);
  g_clear_pointer (&self->recorded, g_free);
  G_OBJECT_CLASS (attnviz_step_panel_parent_class)->dispose (object);
}

static void
attnviz_step_panel_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizStepPanel *self = ATTNVIZ_STEP_PANEL (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_object (value, self->state);
      break;
    case PROP_READY:
      g_value_set_boolean (value, self->ready);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_step_panel_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_STATE)
    attnviz_step_panel_set_state (ATTNVIZ_STEP_PANEL (object), g_value_get_object (value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
attnviz_step_panel_class_init (AttnvizStepPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = attnviz_step_panel_dispose;
  object_class->get_property = attnviz_step_panel_get_property;
  object_class->set_property = attnviz_step_panel_set_property;
  widget_class->snapshot = attnviz_step_panel_snapshot;
  widget_class->get_request_mode = attnviz_step_panel_get_request_mode;
  widget_class->measure = attnviz_step_panel_measure;

  properties[PROP_STATE] =
    g_param_spec_object ("state", NULL, NULL, ATTNVIZ_TYPE_VIEW_STATE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_READY] =
    g_param_spec_boolean ("ready", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "steppanel");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
attnviz_step_panel_init (AttnvizStepPanel *self)
{
  GtkWidget *widget = GTK_WIDGET (self);

  self->query = -1;
  gtk_widget_set_has_tooltip (widget, TRUE);
  g_signal_connect (widget, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "The selected token's attention row in every layer and head", -1);
  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "released", G_CALLBACK (on_released), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (click));
}

GtkWidget *
attnviz_step_panel_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_STEP_PANEL, NULL);
}
