/* attnviz-query-key-view.c: the current head's queries and keys as
 * AttentionViz draws them, one scatter of both after its normalisation
 *
 * The points come from attnviz_qk_view () on the result's attention
 * source: drawn at once for short runs, computed in a GTask for long ones
 * or wide heads (the stale one cancelled, its answer dropped), the view
 * saying "Computing…" meanwhile.  Hovering a point names its token;
 * clicking it selects the token in the state, which every view outlines.
 */
#define G_LOG_DOMAIN "attnviz-query-key-view"
#include "config.h"

#include <math.h>

#include "attnviz-difference.h"
#include "attnviz-query-key-view.h"
#include "attnviz-widgets-private.h"

#define SCREEN_FONT_SIZE 12.0

/* Which picture: a head of a result. */
typedef struct {
  AttnvizResult *result;   /* not a reference: compared only */
  int layer, head;
} Key;

struct _AttnvizQueryKeyView
{
  AttnvizFigureView parent_instance;

  AttnvizQkView *points;     /* of SHOWN, or NULL */
  Key shown;
  Key pending;               /* what the task in flight computes (result NULL: none) */
  GCancellable *cancellable; /* of that task */
  char *error;               /* why there are no points, or NULL */

  char *title;
  char *subtitle;
  AttnvizScatterLayout layout;
  gboolean layout_valid;
  int hover;                 /* a point under the pointer, or -1 */
};

G_DEFINE_FINAL_TYPE (AttnvizQueryKeyView, attnviz_query_key_view, ATTNVIZ_TYPE_FIGURE_VIEW)

enum {
  PROP_0,
  PROP_COMPUTING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static Key
current_key (AttnvizQueryKeyView *self)
{
  return (Key) { figure_result (self), figure_layer (self), figure_head (self) };
}

static gboolean
key_equal (const Key *a, const Key *b)
{
  return a->result == b->result && a->layer == b->layer && a->head == b->head;
}

/* Whether the picture is cheap enough to make while drawing. */
static gboolean
is_cheap (AttnvizResult *result)
{
  const AttnvizRecording *rec = attnviz_result_get_recording (result);
  int T = MAX (attnviz_result_get_n_tokens (result), attnviz_result_get_n_cols (result));
  int head_dim = rec && rec->n_head > 0 ? rec->d_model / rec->n_head : 0;
  return T <= ATTNVIZ_QUERY_KEY_VIEW_SYNC_TOKENS && head_dim <= 64;
}

typedef struct {
  AttnvizResult *result;
  int layer, head;
} Job;

static void
job_free (Job *job)
{
  g_object_unref (job->result);
  g_free (job);
}

static void
compute_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;
  AttnvizQkView *points = attnviz_qk_view (attnviz_result_get_source (job->result), job->layer, job->head, &error);
  if (points == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, points, (GDestroyNotify) attnviz_qk_view_free);
}

static void
set_points (AttnvizQueryKeyView *self, const Key *key, AttnvizQkView *points, const char *error)
{
  g_clear_pointer (&self->points, attnviz_qk_view_free);
  self->points = points;
  self->shown = *key;
  g_free (self->error);
  self->error = g_strdup (error);
  self->hover = -1;
}

static void
set_computing (AttnvizQueryKeyView *self, const Key *pending)
{
  gboolean was = self->pending.result != NULL;
  self->pending = *pending;
  if (was != (pending->result != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPUTING]);
}

static void
on_computed (GObject *source, GAsyncResult *res, gpointer user_data)
{
  AttnvizQueryKeyView *self = ATTNVIZ_QUERY_KEY_VIEW (source);
  Job *job = g_task_get_task_data (G_TASK (res));
  g_autoptr(GError) error = NULL;
  AttnvizQkView *points = g_task_propagate_pointer (G_TASK (res), &error);
  Key key = { job->result, job->layer, job->head };

  /* A stale answer (the head changed since): another task is on its way. */
  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (res))) || !key_equal (&key, &self->pending))
    {
      g_clear_pointer (&points, attnviz_qk_view_free);
      return;
    }
  g_clear_object (&self->cancellable);
  set_points (self, &key, points, error ? error->message : NULL);
  set_computing (self, &(Key) { 0 });
  attnviz_figure_view_invalidate (ATTNVIZ_FIGURE_VIEW (self));
}

/* Makes sure the points are those of the state's head, or on their way. */
static void
ensure_points (AttnvizQueryKeyView *self)
{
  Key key = current_key (self);
  if (key_equal (&key, &self->shown) || (self->pending.result != NULL && key_equal (&key, &self->pending)))
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  set_computing (self, &(Key) { 0 });

  AttnvizAttention *source = key.result ? attnviz_result_get_source (key.result) : NULL;
  if (key.result == NULL)
    set_points (self, &key, NULL, NULL);
  else if (source == NULL)
    set_points (self, &key, NULL, ATTNVIZ_IS_DIFFERENCE (key.result)
                                    ? "The query–key picture shows one run, not a difference."
                                    : "This run kept no queries and keys to draw.");
  else if (!attnviz_attention_has_head (source, key.layer, key.head))
    set_points (self, &key, NULL, "This head was not recorded.");
  else if (is_cheap (key.result))
    {
      g_autoptr(GError) error = NULL;
      AttnvizQkView *points = attnviz_qk_view (source, key.layer, key.head, &error);
      set_points (self, &key, points, error ? error->message : NULL);
    }
  else
    {
      Job *job = g_new0 (Job, 1);
      job->result = g_object_ref (key.result);
      job->layer = key.layer;
      job->head = key.head;
      self->cancellable = g_cancellable_new ();
      g_autoptr(GTask) task = g_task_new (self, self->cancellable, on_computed, NULL);
      g_task_set_source_tag (task, ensure_points);
      g_task_set_task_data (task, job, (GDestroyNotify) job_free);
      set_computing (self, &key);
      g_task_run_in_thread (task, compute_thread);
    }
}

const AttnvizQkView *
attnviz_query_key_view_get_points (AttnvizQueryKeyView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_QUERY_KEY_VIEW (self), NULL);
  ensure_points (self);
  return self->pending.result == NULL ? self->points : NULL;
}

gboolean
attnviz_query_key_view_get_computing (AttnvizQueryKeyView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_QUERY_KEY_VIEW (self), FALSE);
  return self->pending.result != NULL;
}

gboolean
attnviz_query_key_view_get_spec (AttnvizQueryKeyView *self, AttnvizScatterSpec *spec, GError **error)
{
  g_return_val_if_fail (ATTNVIZ_IS_QUERY_KEY_VIEW (self), FALSE);

  const AttnvizQkView *points = attnviz_query_key_view_get_points (self);
  if (points == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           self->pending.result ? "The query–key picture is still being computed."
                           : self->error ? self->error : "There is no run to draw yet.");
      return FALSE;
    }
  AttnvizResult *result = figure_result (self);
  AttnvizViewState *state = figure_state (self);
  attnviz_scatter_spec_init (spec, points->points, points->n_q, points->n_k);
  spec->query_labels = attnviz_result_get_labels (result);
  spec->key_labels = attnviz_result_get_col_labels (result);
  spec->explained[0] = points->explained[0];
  spec->explained[1] = points->explained[1];
  g_free (self->title);
  g_autofree char *head = attnviz_result_describe (result, ATTNVIZ_AGGREGATE_HEAD, self->shown.layer,
                                                   self->shown.head);
  self->title = g_strdup_printf ("%s · queries and keys", head);
  g_free (self->subtitle);
  g_autofree char *details = attnviz_result_describe_details (result);
  self->subtitle = g_strdup_printf ("%s · AttentionViz scaling and centring, one PCA of queries and keys", details);
  spec->title = self->title;
  spec->subtitle = self->subtitle;
  spec->highlight_query = attnviz_view_state_get_row_token (state);
  spec->highlight_key = attnviz_view_state_get_col_token (state);
  if (!attnviz_result_is_square (result))
    {
      spec->query_caption = "target queries";
      spec->key_caption = "source keys";
    }
  return TRUE;
}

static gboolean
screen_spec (AttnvizQueryKeyView *self, AttnvizScatterSpec *spec)
{
  if (!attnviz_query_key_view_get_spec (self, spec, NULL))
    return FALSE;
  spec->font_size = SCREEN_FONT_SIZE;
  attnviz_widget_get_foreground (GTK_WIDGET (self), &spec->foreground);
  return TRUE;
}

static gboolean
ensure_layout (AttnvizQueryKeyView *self, AttnvizScatterSpec *spec)
{
  if (!screen_spec (self, spec))
    return FALSE;
  if (!self->layout_valid)
    {
      attnviz_scatter_layout (spec, gtk_widget_get_width (GTK_WIDGET (self)),
                              gtk_widget_get_height (GTK_WIDGET (self)), &self->layout);
      self->layout_valid = TRUE;
    }
  return TRUE;
}

gboolean
attnviz_query_key_view_get_point_position (AttnvizQueryKeyView *self, int i, double *x, double *y)
{
  AttnvizScatterSpec spec;
  g_return_val_if_fail (ATTNVIZ_IS_QUERY_KEY_VIEW (self), FALSE);
  if (!ensure_layout (self, &spec) || i < 0 || i >= spec.n_queries + spec.n_keys)
    return FALSE;
  attnviz_scatter_layout_point (&self->layout, &spec, i, x, y);
  return TRUE;
}

int
attnviz_query_key_view_hit (AttnvizQueryKeyView *self, double x, double y)
{
  AttnvizScatterSpec spec;
  g_return_val_if_fail (ATTNVIZ_IS_QUERY_KEY_VIEW (self), -1);
  if (!ensure_layout (self, &spec))
    return -1;
  return attnviz_scatter_layout_hit (&self->layout, &spec, x, y);
}

gboolean
attnviz_query_key_view_click (AttnvizQueryKeyView *self, double x, double y)
{
  g_return_val_if_fail (ATTNVIZ_IS_QUERY_KEY_VIEW (self), FALSE);
  int i = attnviz_query_key_view_hit (self, x, y);
  if (i < 0)
    return FALSE;
  AttnvizViewState *state = figure_state (self);
  gboolean query = attnviz_qk_view_is_query (self->points, i);
  int token = query ? i : i - self->points->n_q;
  /* A cross-attention's keys are source tokens. */
  if (!query && !attnviz_result_is_square (figure_result (self)))
    attnviz_view_state_set_selected_source (state, token == attnviz_view_state_get_selected_source (state) ? -1
                                                                                                         : token);
  else
    attnviz_view_state_set_row_token (state, token == attnviz_view_state_get_row_token (state) ? -1 : token);
  return TRUE;
}

static const char *
attnviz_query_key_view_get_message (AttnvizFigureView *view)
{
  AttnvizQueryKeyView *self = ATTNVIZ_QUERY_KEY_VIEW (view);
  ensure_points (self);
  if (self->pending.result != NULL)
    return "Computing the queries and keys of this head…";
  if (self->points == NULL)
    return self->error ? self->error : "";
  return NULL;
}

static GskRenderNode *
attnviz_query_key_view_build_node (AttnvizFigureView *view, int width, int height)
{
  AttnvizScatterSpec spec;
  if (!screen_spec (ATTNVIZ_QUERY_KEY_VIEW (view), &spec))
    return NULL;
  return attnviz_figure_node (ATTNVIZ_FIGURE_SCATTER, &spec, width, height, width, height, 0, 0);
}

/* The hovered point ringed, over the cached figure. */
static void
attnviz_query_key_view_snapshot_overlay (AttnvizFigureView *view, GtkSnapshot *snapshot)
{
  AttnvizQueryKeyView *self = ATTNVIZ_QUERY_KEY_VIEW (view);
  double x, y;
  if (self->hover < 0 || !attnviz_query_key_view_get_point_position (self, self->hover, &x, &y))
    return;
  GdkRGBA color;
  AttnvizRGBA fg;
  attnviz_widget_get_foreground (GTK_WIDGET (self), &fg);
  color = (GdkRGBA) { fg.red, fg.green, fg.blue, 0.9 };
  double r = MAX (2.2 * self->layout.radius, 6);
  GskRoundedRect ring;
  gsk_rounded_rect_init_from_rect (&ring, &GRAPHENE_RECT_INIT (x - r, y - r, 2 * r, 2 * r), r);
  gtk_snapshot_append_border (snapshot, &ring, (float[4]) { 1.5, 1.5, 1.5, 1.5 },
                              (GdkRGBA[4]) { color, color, color, color });
}

static gboolean
attnviz_query_key_view_state_changed (AttnvizFigureView *view, GParamSpec *pspec)
{
  AttnvizQueryKeyView *self = ATTNVIZ_QUERY_KEY_VIEW (view);
  if (pspec == NULL)
    {
      /* another result, perhaps at the address of the last one */
      set_points (self, &(Key) { NULL, -1, -1 }, NULL, NULL);
      return TRUE;
    }
  /* the colour map, scale and range mean nothing here */
  static const char *const relevant[] = { "layer", "head", "attention", "selected-token", "selected-source" };
  for (guint i = 0; i < G_N_ELEMENTS (relevant); i++)
    if (g_str_equal (pspec->name, relevant[i]))
      {
        self->hover = -1;
        return TRUE;
      }
  return FALSE;
}

static void
attnviz_query_key_view_invalidated (AttnvizFigureView *view)
{
  ATTNVIZ_QUERY_KEY_VIEW (view)->layout_valid = FALSE;
}

static void
set_hover (AttnvizQueryKeyView *self, int hover)
{
  if (hover == self->hover)
    return;
  self->hover = hover;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, AttnvizQueryKeyView *self)
{
  set_hover (self, self->pending.result ? -1 : attnviz_query_key_view_hit (self, x, y));
}

static void
on_leave (GtkEventControllerMotion *controller, AttnvizQueryKeyView *self)
{
  set_hover (self, -1);
}

static void
on_released (GtkGestureClick *gesture, int n_press, double x, double y, AttnvizQueryKeyView *self)
{
  if (gtk_widget_get_focusable (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self));
  attnviz_query_key_view_click (self, x, y);
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  AttnvizQueryKeyView *self = ATTNVIZ_QUERY_KEY_VIEW (widget);
  int i = keyboard ? -1 : attnviz_query_key_view_hit (self, x, y);
  if (i < 0)
    return FALSE;
  AttnvizResult *result = figure_result (self);
  gboolean query = attnviz_qk_view_is_query (self->points, i);
  int token = query ? i : i - self->points->n_q;
  const char *label = query ? attnviz_result_get_label (result, token) : attnviz_result_get_col_label (result, token);
  g_autofree char *shown = attnviz_painter_display_text (label);
  g_autofree char *escaped = g_markup_escape_text (shown, -1);
  g_autofree char *markup = g_strdup_printf ("<b>%s</b> %d “%s”", query ? "query" : "key", token, escaped);
  gtk_tooltip_set_markup (tooltip, markup);
  return TRUE;
}

static void
attnviz_query_key_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_COMPUTING:
      g_value_set_boolean (value, attnviz_query_key_view_get_computing (ATTNVIZ_QUERY_KEY_VIEW (object)));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_query_key_view_dispose (GObject *object)
{
  AttnvizQueryKeyView *self = ATTNVIZ_QUERY_KEY_VIEW (object);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (attnviz_query_key_view_parent_class)->dispose (object);
}

static void
attnviz_query_key_view_finalize (GObject *object)
{
  AttnvizQueryKeyView *self = ATTNVIZ_QUERY_KEY_VIEW (object);
  g_clear_pointer (&self->points, attnviz_qk_view_free);
  g_free (self->error);
  g_free (self->title);
  g_free (self->subtitle);
  G_OBJECT_CLASS (attnviz_query_key_view_parent_class)->finalize (object);
}

static void
attnviz_query_key_view_class_init (AttnvizQueryKeyViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  AttnvizFigureViewClass *figure_class = ATTNVIZ_FIGURE_VIEW_CLASS (klass);

  object_class->dispose = attnviz_query_key_view_dispose;
  object_class->finalize = attnviz_query_key_view_finalize;
  object_class->get_property = attnviz_query_key_view_get_property;
  figure_class->build_node = attnviz_query_key_view_build_node;
  figure_class->get_message = attnviz_query_key_view_get_message;
  figure_class->snapshot_overlay = attnviz_query_key_view_snapshot_overlay;
  figure_class->state_changed = attnviz_query_key_view_state_changed;
  figure_class->invalidated = attnviz_query_key_view_invalidated;

  /* A thread computes the picture of the state's head. */
  properties[PROP_COMPUTING] =
    g_param_spec_boolean ("computing", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "querykeyview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
attnviz_query_key_view_init (AttnvizQueryKeyView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *controller;
  GtkGesture *gesture;

  self->hover = -1;
  self->shown.layer = self->shown.head = -1;
  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_has_tooltip (widget, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Queries and keys of one head in one plane", -1);
  g_signal_connect (widget, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (widget, controller);

  gesture = gtk_gesture_click_new ();
  g_signal_connect (gesture, "released", G_CALLBACK (on_released), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (gesture));
}

GtkWidget *
attnviz_query_key_view_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_QUERY_KEY_VIEW, NULL);
}
