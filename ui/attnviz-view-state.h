/* attnviz-view-state.h: what every view of a run shows, in one object
 *
 * Result, attention, layer, head, aggregate, colour map, scale, colour
 * range mode and the selected tokens have one owner: this object.  The views (grid, heatmap,
 * lines, token and loss strips, compare) each observe one through their
 * "state" property, as sysprof's sections observe its SysprofSession; the
 * window's stateful actions are g_property_action_new () on it.  Values
 * are clamped here, once, when they are set or the run changes; a new run
 * keeps the layer, head and selection it can hold.
 */
#pragma once

#include <glib-object.h>

#include "attnviz-painter.h"
#include "attnviz-result.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_VIEW_STATE (attnviz_view_state_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizViewState, attnviz_view_state, ATTNVIZ, VIEW_STATE, GObject)

/* Which result of the state a view shows: the attention shown, or (for a
 * comparison) its A or its B. */
typedef enum {
  ATTNVIZ_VIEW_SIDE_SHOWN,
  ATTNVIZ_VIEW_SIDE_A,
  ATTNVIZ_VIEW_SIDE_B,
} AttnvizViewSide;

#define ATTNVIZ_TYPE_VIEW_SIDE (attnviz_view_side_get_type ())
GType attnviz_view_side_get_type (void) G_GNUC_CONST;

AttnvizViewState *attnviz_view_state_new (void);

/* The run: a model's or a checkpoint's (AttnvizRunResult), or in a
 * comparison's state the difference (AttnvizDifference), the one result
 * it shows, which is why this is not typed as a run; never an attention
 * of a run or another matrix (AttnvizRunAttention, AttnvizRunMatrix: they
 * are what a state derives).  NULL: nothing to show. */
AttnvizResult *attnviz_view_state_get_run (AttnvizViewState *self);
void attnviz_view_state_set_run (AttnvizViewState *self, AttnvizResult *run);
/* An encoder-decoder's attention shown (self, cross or encoder); a run
 * without it shows its self-attention and the kind goes back to self. */
AttnvizAttentionKind attnviz_view_state_get_attention (AttnvizViewState *self);
void attnviz_view_state_set_attention (AttnvizViewState *self, AttnvizAttentionKind kind);
/* The attention of the run the views show ("result", read-only): the run
 * itself, or the AttnvizRunAttention of the attention chosen. */
AttnvizResult *attnviz_view_state_get_result (AttnvizViewState *self);
/* The result a view on SIDE shows: the result, or a difference's A or B. */
AttnvizResult *attnviz_view_state_get_side (AttnvizViewState *self, AttnvizViewSide side);

int attnviz_view_state_get_layer (AttnvizViewState *self);
void attnviz_view_state_set_layer (AttnvizViewState *self, int layer);
int attnviz_view_state_get_head (AttnvizViewState *self);
void attnviz_view_state_set_head (AttnvizViewState *self, int head);
/* Moves DELTA heads (or layers), clamped to the run. */
void attnviz_view_state_step_head (AttnvizViewState *self, int delta);
void attnviz_view_state_step_layer (AttnvizViewState *self, int delta);
AttnvizAggregate attnviz_view_state_get_aggregate (AttnvizViewState *self);
void attnviz_view_state_set_aggregate (AttnvizViewState *self, AttnvizAggregate aggregate);
AttnvizColormap attnviz_view_state_get_colormap (AttnvizViewState *self);
void attnviz_view_state_set_colormap (AttnvizViewState *self, AttnvizColormap colormap);
AttnvizScaleKind attnviz_view_state_get_scale (AttnvizViewState *self);
void attnviz_view_state_set_scale (AttnvizViewState *self, AttnvizScaleKind scale);
/* What the colour range is fitted to (per head, per layer, the whole run,
 * fixed): said under every colour bar and in every subtitle. */
AttnvizRangeMode attnviz_view_state_get_range_mode (AttnvizViewState *self);
void attnviz_view_state_set_range_mode (AttnvizViewState *self, AttnvizRangeMode mode);

/* What the heatmap shows: the attention weights, the value-weighted
 * attention, the run's rollout or flow (attnviz_result_peek_matrix ()). */
AttnvizMatrixKind attnviz_view_state_get_matrix (AttnvizViewState *self);
void attnviz_view_state_set_matrix (AttnvizViewState *self, AttnvizMatrixKind matrix);
/* What colours the grid's heads ("head-colour"): "attention" (their
 * thumbnails), or the nick of a measure of the run's table ("entropy"),
 * one cell a head; a name the run's table lacks is refused, and a new run
 * without it goes back to "attention".  get_head_measure (): that
 * AttnvizMeasure, -1 for attention. */
const char *attnviz_view_state_get_head_colour (AttnvizViewState *self);
void attnviz_view_state_set_head_colour (AttnvizViewState *self, const char *name);
int attnviz_view_state_get_head_measure (AttnvizViewState *self);
/* Whether the grid orders each layer's heads by their similarity
 * (attnviz-similarity.h) instead of by index ("order-heads"). */
gboolean attnviz_view_state_get_order_heads (AttnvizViewState *self);
void attnviz_view_state_set_order_heads (AttnvizViewState *self, gboolean order);

/* The selected token of the run (an encoder-decoder's target), and of an
 * encoder-decoder's source; -1: none. */
int attnviz_view_state_get_selected_token (AttnvizViewState *self);
void attnviz_view_state_set_selected_token (AttnvizViewState *self, int token);
int attnviz_view_state_get_selected_source (AttnvizViewState *self);
void attnviz_view_state_set_selected_source (AttnvizViewState *self, int token);
/* The selection along the result's rows and columns: the rows of the
 * encoder's attention are source tokens, the columns of the cross-
 * attention too; the others are the run's tokens. */
int attnviz_view_state_get_row_token (AttnvizViewState *self);
void attnviz_view_state_set_row_token (AttnvizViewState *self, int token);
int attnviz_view_state_get_col_token (AttnvizViewState *self);

/* Makes *SLOT (a view's reference) STATE, moving ON_NOTIFY (OWNER as its
 * data) from the old state's notifications of PROPERTIES (NULL-terminated;
 * NULL: every property) to the new one's.  FALSE when STATE was already
 * there.  The one hookup every view that observes a state shares. */
gboolean attnviz_view_state_observe (AttnvizViewState **slot, AttnvizViewState *state, GCallback on_notify,
                                     gpointer owner, const char *const *properties);

G_END_DECLS
