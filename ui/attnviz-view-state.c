/* attnviz-view-state.c: what every view of a run shows, in one object
 *
 * The one owner of the views' shared values (see the header).  Setting
 * the run derives the attention shown from it, then clamps layer, head
 * and the selections to what the new run holds, in that order, inside
 * one freeze of notifications: an observer never sees an index out of
 * range for the result it reads.
 */
#define G_LOG_DOMAIN "attnviz-view-state"
#include "config.h"

#include "attnviz-difference.h"
#include "attnviz-run-result.h"
#include "attnviz-view-state.h"

G_DEFINE_ENUM_TYPE (AttnvizViewSide, attnviz_view_side,
  G_DEFINE_ENUM_VALUE (ATTNVIZ_VIEW_SIDE_SHOWN, "shown"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_VIEW_SIDE_A, "a"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_VIEW_SIDE_B, "b"))

struct _AttnvizViewState
{
  GObject parent_instance;

  AttnvizResult *run;       /* an AttnvizRunResult or an AttnvizDifference, or NULL */
  AttnvizResult *result;    /* the attention of RUN shown: RUN or an AttnvizRunAttention of it */
  AttnvizAttentionKind attention;
  int layer;
  int head;
  AttnvizAggregate aggregate;
  AttnvizColormap colormap;
  AttnvizScaleKind scale;
  AttnvizRangeMode range_mode;
  int selected_token;       /* of the run's tokens (a target's), -1: none */
  int selected_source;      /* of an encoder-decoder's source, -1: none */
  AttnvizMatrixKind matrix;     /* what the heatmap shows */
  int head_colour;          /* the grid's: an AttnvizMeasure of the run's table, -1: attention */
  gboolean order_heads;     /* the grid's heads in their similarity order */
};

G_DEFINE_FINAL_TYPE (AttnvizViewState, attnviz_view_state, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_RUN,
  PROP_RESULT,
  PROP_ATTENTION,
  PROP_LAYER,
  PROP_HEAD,
  PROP_AGGREGATE,
  PROP_COLORMAP,
  PROP_SCALE,
  PROP_RANGE_MODE,
  PROP_SELECTED_TOKEN,
  PROP_SELECTED_SOURCE,
  PROP_MATRIX,
  PROP_HEAD_COLOUR,
  PROP_ORDER_HEADS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static int
n_layers (AttnvizViewState *self)
{
  return self->result ? attnviz_result_get_n_layers (self->result) : 0;
}

static int
n_heads (AttnvizViewState *self)
{
  return self->result ? attnviz_result_get_n_heads (self->result) : 0;
}

static int
n_run_tokens (AttnvizViewState *self)
{
  return self->run ? attnviz_result_get_n_tokens (self->run) : 0;
}

static int
n_source_tokens (AttnvizViewState *self)
{
  const AttnvizRecording *rec = self->run && attnviz_result_is_seq2seq (self->run)
                                ? attnviz_result_get_recording (self->run) : NULL;
  return rec ? rec->S : 0;
}

/* Sets the int at FIELD to VALUE, notifying PROP only on a change. */
static void
set_int (AttnvizViewState *self, int *field, int value, guint prop)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

/* The one place layer, head and the selections are clamped.  Without a
 * result they are kept, for the next run to show where the last one was
 * (a comparison's state, bound to the run's, keeps them too). */
static void
clamp_all (AttnvizViewState *self)
{
  int token = self->selected_token, source = self->selected_source;

  if (self->result == NULL)
    return;
  set_int (self, &self->layer, CLAMP (self->layer, 0, MAX (0, n_layers (self) - 1)), PROP_LAYER);
  set_int (self, &self->head, CLAMP (self->head, 0, MAX (0, n_heads (self) - 1)), PROP_HEAD);
  set_int (self, &self->selected_token, token >= 0 && token < n_run_tokens (self) ? token : -1,
           PROP_SELECTED_TOKEN);
  set_int (self, &self->selected_source, source >= 0 && source < n_source_tokens (self) ? source : -1,
           PROP_SELECTED_SOURCE);
  const AttnvizHeadMeasures *table = attnviz_run_result_measures_of (self->result);
  if (self->head_colour >= 0 && (table == NULL || !table->has[self->head_colour]))
    set_int (self, &self->head_colour, -1, PROP_HEAD_COLOUR);
}

static void
update_result (AttnvizViewState *self)
{
  g_autoptr(AttnvizResult) shown = self->run ? attnviz_result_get_attention (self->run, self->attention) : NULL;

  if (self->run != NULL && shown == NULL)
    {
      /* A decoder-only run (or a comparison) has its self-attention only,
       * a cross-attention made elsewhere its cross-attention only. */
      shown = g_object_ref (self->run);
      set_int (self, (int *) &self->attention, attnviz_result_get_kind (self->run), PROP_ATTENTION);
    }
  if (g_set_object (&self->result, shown))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESULT]);
}

/* ---- GObject -------------------------------------------------------------- */

static void
attnviz_view_state_dispose (GObject *object)
{
  AttnvizViewState *self = ATTNVIZ_VIEW_STATE (object);

  g_clear_object (&self->result);
  g_clear_object (&self->run);
  G_OBJECT_CLASS (attnviz_view_state_parent_class)->dispose (object);
}

static void
attnviz_view_state_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizViewState *self = ATTNVIZ_VIEW_STATE (object);

  switch (prop_id)
    {
    case PROP_RUN:
      g_value_set_object (value, self->run);
      break;
    case PROP_RESULT:
      g_value_set_object (value, self->result);
      break;
    case PROP_ATTENTION:
      g_value_set_enum (value, self->attention);
      break;
    case PROP_LAYER:
      g_value_set_int (value, self->layer);
      break;
    case PROP_HEAD:
      g_value_set_int (value, self->head);
      break;
    case PROP_AGGREGATE:
      g_value_set_enum (value, self->aggregate);
      break;
    case PROP_COLORMAP:
      g_value_set_enum (value, self->colormap);
      break;
    case PROP_SCALE:
      g_value_set_enum (value, self->scale);
      break;
    case PROP_RANGE_MODE:
      g_value_set_enum (value, self->range_mode);
      break;
    case PROP_SELECTED_TOKEN:
      g_value_set_int (value, self->selected_token);
      break;
    case PROP_SELECTED_SOURCE:
      g_value_set_int (value, self->selected_source);
      break;
    case PROP_MATRIX:
      g_value_set_enum (value, self->matrix);
      break;
    case PROP_HEAD_COLOUR:
      g_value_set_string (value, attnviz_view_state_get_head_colour (self));
      break;
    case PROP_ORDER_HEADS:
      g_value_set_boolean (value, self->order_heads);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_view_state_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AttnvizViewState *self = ATTNVIZ_VIEW_STATE (object);

  switch (prop_id)
    {
    case PROP_RUN:
      attnviz_view_state_set_run (self, g_value_get_object (value));
      break;
    case PROP_ATTENTION:
      attnviz_view_state_set_attention (self, g_value_get_enum (value));
      break;
    case PROP_LAYER:
      attnviz_view_state_set_layer (self, g_value_get_int (value));
      break;
    case PROP_HEAD:
      attnviz_view_state_set_head (self, g_value_get_int (value));
      break;
    case PROP_AGGREGATE:
      attnviz_view_state_set_aggregate (self, g_value_get_enum (value));
      break;
    case PROP_COLORMAP:
      attnviz_view_state_set_colormap (self, g_value_get_enum (value));
      break;
    case PROP_SCALE:
      attnviz_view_state_set_scale (self, g_value_get_enum (value));
      break;
    case PROP_RANGE_MODE:
      attnviz_view_state_set_range_mode (self, g_value_get_enum (value));
      break;
    case PROP_SELECTED_TOKEN:
      attnviz_view_state_set_selected_token (self, g_value_get_int (value));
      break;
    case PROP_SELECTED_SOURCE:
      attnviz_view_state_set_selected_source (self, g_value_get_int (value));
      break;
    case PROP_MATRIX:
      attnviz_view_state_set_matrix (self, g_value_get_enum (value));
      break;
    case PROP_HEAD_COLOUR:
      attnviz_view_state_set_head_colour (self, g_value_get_string (value));
      break;
    case PROP_ORDER_HEADS:
      attnviz_view_state_set_order_heads (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_view_state_class_init (AttnvizViewStateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = attnviz_view_state_dispose;
  object_class->get_property = attnviz_view_state_get_property;
  object_class->set_property = attnviz_view_state_set_property;

  properties[PROP_RUN] = g_param_spec_object ("run", NULL, NULL, ATTNVIZ_TYPE_RESULT, rw);
  properties[PROP_RESULT] =
    g_param_spec_object ("result", NULL, NULL, ATTNVIZ_TYPE_RESULT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ATTENTION] =
    g_param_spec_enum ("attention", NULL, NULL, ATTNVIZ_TYPE_ATTENTION_KIND, ATTNVIZ_ATTENTION_SELF, rw);
  properties[PROP_LAYER] = g_param_spec_int ("layer", NULL, NULL, 0, G_MAXINT, 0, rw);
  properties[PROP_HEAD] = g_param_spec_int ("head", NULL, NULL, 0, G_MAXINT, 0, rw);
  properties[PROP_AGGREGATE] =
    g_param_spec_enum ("aggregate", NULL, NULL, ATTNVIZ_TYPE_AGGREGATE, ATTNVIZ_AGGREGATE_HEAD, rw);
  properties[PROP_COLORMAP] =
    g_param_spec_enum ("colormap", NULL, NULL, ATTNVIZ_TYPE_COLORMAP, ATTNVIZ_COLORMAP_VIRIDIS, rw);
  properties[PROP_SCALE] =
    g_param_spec_enum ("scale", NULL, NULL, ATTNVIZ_TYPE_SCALE_KIND, ATTNVIZ_SCALE_LINEAR, rw);
  properties[PROP_RANGE_MODE] =
    g_param_spec_enum ("range-mode", NULL, NULL, ATTNVIZ_TYPE_RANGE_MODE, ATTNVIZ_RANGE_HEAD, rw);
  properties[PROP_SELECTED_TOKEN] = g_param_spec_int ("selected-token", NULL, NULL, -1, G_MAXINT, -1, rw);
  properties[PROP_SELECTED_SOURCE] = g_param_spec_int ("selected-source", NULL, NULL, -1, G_MAXINT, -1, rw);
  properties[PROP_MATRIX] =
    g_param_spec_enum ("matrix", NULL, NULL, ATTNVIZ_TYPE_MATRIX_KIND, ATTNVIZ_MATRIX_WEIGHTS, rw);
  properties[PROP_HEAD_COLOUR] = g_param_spec_string ("head-colour", NULL, NULL, "attention", rw);
  properties[PROP_ORDER_HEADS] = g_param_spec_boolean ("order-heads", NULL, NULL, FALSE, rw);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
attnviz_view_state_init (AttnvizViewState *self)
{
  self->selected_token = -1;
  self->selected_source = -1;
  self->head_colour = -1;
  self->colormap = ATTNVIZ_COLORMAP_VIRIDIS;
  self->scale = ATTNVIZ_SCALE_LINEAR;
}

AttnvizViewState *
attnviz_view_state_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_VIEW_STATE, NULL);
}

/* ---- The run and what it shows -------------------------------------------- */

AttnvizResult *
attnviz_view_state_get_run (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), NULL);
  return self->run;
}

void
attnviz_view_state_set_run (AttnvizViewState *self, AttnvizResult *run)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  g_return_if_fail (run == NULL || ATTNVIZ_IS_RUN_RESULT (run) || ATTNVIZ_IS_DIFFERENCE (run));

  if (!g_set_object (&self->run, run))
    return;
  g_object_freeze_notify (G_OBJECT (self));
  update_result (self);
  clamp_all (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN]);
  g_object_thaw_notify (G_OBJECT (self));
}

AttnvizAttentionKind
attnviz_view_state_get_attention (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), ATTNVIZ_ATTENTION_SELF);
  return self->attention;
}

void
attnviz_view_state_set_attention (AttnvizViewState *self, AttnvizAttentionKind kind)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));

  if (kind != ATTNVIZ_ATTENTION_SELF && (self->run == NULL || !attnviz_result_is_seq2seq (self->run)))
    return;
  if (kind == self->attention)
    return;
  g_object_freeze_notify (G_OBJECT (self));
  self->attention = kind;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTENTION]);
  update_result (self);
  clamp_all (self);
  g_object_thaw_notify (G_OBJECT (self));
}

AttnvizResult *
attnviz_view_state_get_result (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), NULL);
  return self->result;
}

AttnvizResult *
attnviz_view_state_get_side (AttnvizViewState *self, AttnvizViewSide side)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), NULL);

  if (side == ATTNVIZ_VIEW_SIDE_SHOWN || self->result == NULL || !ATTNVIZ_IS_DIFFERENCE (self->result))
    return self->result;
  AttnvizDifference *d = ATTNVIZ_DIFFERENCE (self->result);
  return side == ATTNVIZ_VIEW_SIDE_A ? attnviz_difference_get_a (d) : attnviz_difference_get_b (d);
}

/* ---- Position ------------------------------------------------------------- */

int
attnviz_view_state_get_layer (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), 0);
  return self->layer;
}

void
attnviz_view_state_set_layer (AttnvizViewState *self, int layer)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  if (self->result != NULL)
    layer = MIN (layer, n_layers (self) - 1);
  set_int (self, &self->layer, MAX (layer, 0), PROP_LAYER);
}

int
attnviz_view_state_get_head (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), 0);
  return self->head;
}

void
attnviz_view_state_set_head (AttnvizViewState *self, int head)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  if (self->result != NULL)
    head = MIN (head, n_heads (self) - 1);
  set_int (self, &self->head, MAX (head, 0), PROP_HEAD);
}

void
attnviz_view_state_step_head (AttnvizViewState *self, int delta)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  attnviz_view_state_set_head (self, self->head + delta);
}

void
attnviz_view_state_step_layer (AttnvizViewState *self, int delta)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  attnviz_view_state_set_layer (self, self->layer + delta);
}

AttnvizAggregate
attnviz_view_state_get_aggregate (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), ATTNVIZ_AGGREGATE_HEAD);
  return self->aggregate;
}

void
attnviz_view_state_set_aggregate (AttnvizViewState *self, AttnvizAggregate aggregate)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  set_int (self, (int *) &self->aggregate, aggregate, PROP_AGGREGATE);
}

AttnvizColormap
attnviz_view_state_get_colormap (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), ATTNVIZ_COLORMAP_VIRIDIS);
  return self->colormap;
}

void
attnviz_view_state_set_colormap (AttnvizViewState *self, AttnvizColormap colormap)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  set_int (self, (int *) &self->colormap, colormap, PROP_COLORMAP);
}

AttnvizScaleKind
attnviz_view_state_get_scale (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), ATTNVIZ_SCALE_LINEAR);
  return self->scale;
}

void
attnviz_view_state_set_scale (AttnvizViewState *self, AttnvizScaleKind scale)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  set_int (self, (int *) &self->scale, scale, PROP_SCALE);
}

AttnvizRangeMode
attnviz_view_state_get_range_mode (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), ATTNVIZ_RANGE_HEAD);
  return self->range_mode;
}

void
attnviz_view_state_set_range_mode (AttnvizViewState *self, AttnvizRangeMode mode)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  g_return_if_fail ((guint) mode < ATTNVIZ_N_RANGE_MODES);
  set_int (self, (int *) &self->range_mode, mode, PROP_RANGE_MODE);
}

/* ---- What the heatmap and the grid show ------------------------------------- */

AttnvizMatrixKind
attnviz_view_state_get_matrix (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), ATTNVIZ_MATRIX_WEIGHTS);
  return self->matrix;
}

void
attnviz_view_state_set_matrix (AttnvizViewState *self, AttnvizMatrixKind matrix)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  g_return_if_fail ((guint) matrix < ATTNVIZ_N_MATRICES);
  set_int (self, (int *) &self->matrix, matrix, PROP_MATRIX);
}

const char *
attnviz_view_state_get_head_colour (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), "attention");
  return self->head_colour < 0 ? "attention" : attnviz_measure_get_name (self->head_colour);
}

int
attnviz_view_state_get_head_measure (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), -1);
  return self->head_colour;
}

void
attnviz_view_state_set_head_colour (AttnvizViewState *self, const char *name)
{
  AttnvizMeasure measure;

  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  if (name == NULL || g_str_equal (name, "attention"))
    {
      set_int (self, &self->head_colour, -1, PROP_HEAD_COLOUR);
      return;
    }
  g_return_if_fail (attnviz_measure_from_name (name, &measure));
  /* Only a column the run's table has; without a run, kept for the next. */
  const AttnvizHeadMeasures *table = self->result ? attnviz_run_result_measures_of (self->result) : NULL;
  if (self->result != NULL && (table == NULL || !table->has[measure]))
    return;
  set_int (self, &self->head_colour, measure, PROP_HEAD_COLOUR);
}

gboolean
attnviz_view_state_get_order_heads (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), FALSE);
  return self->order_heads;
}

void
attnviz_view_state_set_order_heads (AttnvizViewState *self, gboolean order)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  set_int (self, &self->order_heads, !!order, PROP_ORDER_HEADS);
}

/* ---- Selection ------------------------------------------------------------ */

int
attnviz_view_state_get_selected_token (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), -1);
  return self->selected_token;
}

void
attnviz_view_state_set_selected_token (AttnvizViewState *self, int token)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  if (self->run != NULL && token >= n_run_tokens (self))
    token = -1;
  set_int (self, &self->selected_token, MAX (token, -1), PROP_SELECTED_TOKEN);
}

int
attnviz_view_state_get_selected_source (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), -1);
  return self->selected_source;
}

void
attnviz_view_state_set_selected_source (AttnvizViewState *self, int token)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  if (self->run != NULL && token >= n_source_tokens (self))
    token = -1;
  set_int (self, &self->selected_source, MAX (token, -1), PROP_SELECTED_SOURCE);
}

static gboolean
rows_are_source (AttnvizViewState *self)
{
  return self->result != NULL && attnviz_result_get_kind (self->result) == ATTNVIZ_ATTENTION_ENCODER;
}

int
attnviz_view_state_get_row_token (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), -1);
  return rows_are_source (self) ? self->selected_source : self->selected_token;
}

void
attnviz_view_state_set_row_token (AttnvizViewState *self, int token)
{
  g_return_if_fail (ATTNVIZ_IS_VIEW_STATE (self));
  if (rows_are_source (self))
    attnviz_view_state_set_selected_source (self, token);
  else
    attnviz_view_state_set_selected_token (self, token);
}

int
attnviz_view_state_get_col_token (AttnvizViewState *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VIEW_STATE (self), -1);
  if (self->result != NULL && !attnviz_result_is_square (self->result))
    return self->selected_source;
  return attnviz_view_state_get_row_token (self);
}

gboolean
attnviz_view_state_observe (AttnvizViewState **slot, AttnvizViewState *state, GCallback on_notify,
                            gpointer owner, const char *const *properties)
{
  g_return_val_if_fail (slot != NULL && on_notify != NULL, FALSE);
  g_return_val_if_fail (state == NULL || ATTNVIZ_IS_VIEW_STATE (state), FALSE);

  if (state == *slot)
    return FALSE;
  if (*slot != NULL)
    g_signal_handlers_disconnect_by_func (*slot, on_notify, owner);
  g_set_object (slot, state);
  if (state == NULL)
    return TRUE;
  if (properties == NULL)
    g_signal_connect_object (state, "notify", on_notify, owner, 0);
  for (guint i = 0; properties != NULL && properties[i] != NULL; i++)
    {
      g_autofree char *signal = g_strconcat ("notify::", properties[i], NULL);
      g_signal_connect_object (state, signal, on_notify, owner, 0);
    }
  return TRUE;
}
