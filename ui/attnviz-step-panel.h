/* attnviz-step-panel.h: one token's attention row in every head, as a
 * compact layer × head panel
 *
 * For the state's selected query token (what the per-step slider picks:
 * the row that wrote step t's token, the token before it), each cell of the panel is that token's
 * row of one head: a bar for each key it may see, as tall as the row's
 * largest weight makes it and coloured by the state's colour map; rows
 * are layers, columns heads, the state's head outlined.  Where the
 * generated tokens start is a dashed line in every cell.  Clicking a cell
 * moves the state to that head; the tooltip names the keys the head
 * attends to most with their weights.
 */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-painter.h"
#include "attnviz-view-state.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_STEP_PANEL (attnviz_step_panel_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizStepPanel, attnviz_step_panel, ATTNVIZ, STEP_PANEL, GtkWidget)

GtkWidget *attnviz_step_panel_new (void);

/* What it shows is its state's: the attention shown, its selected row
 * token, layer, head and colour map. */
AttnvizViewState *attnviz_step_panel_get_state (AttnvizStepPanel *self);
void attnviz_step_panel_set_state (AttnvizStepPanel *self, AttnvizViewState *state);

/* The query token whose rows are shown, -1: none. */
int attnviz_step_panel_get_query (AttnvizStepPanel *self);
/* Whether the rows of the query are read ("ready"; a long run reads them
 * in a worker). */
gboolean attnviz_step_panel_get_ready (AttnvizStepPanel *self);
/* The row shown for LAYER and HEAD: *N_KEYS weights, one per key, or NULL
 * (not ready, not recorded, or no query). */
const float *attnviz_step_panel_get_row (AttnvizStepPanel *self, int layer, int head, int *n_keys);
/* The cell at (X, Y): TRUE with its layer and head. */
gboolean attnviz_step_panel_get_cell_at (AttnvizStepPanel *self, double x, double y, int *layer, int *head);
/* The box of a cell in the widget's coordinates; FALSE when there is none. */
gboolean attnviz_step_panel_get_cell_rect (AttnvizStepPanel *self, int layer, int head, graphene_rect_t *rect);
/* What the painter draws for it (the rows, while they last, are the
 * panel's: copy them to keep them); FALSE when it has no rows to show. */
gboolean attnviz_step_panel_get_spec (AttnvizStepPanel *self, AttnvizStepPanelSpec *spec);
/* Its tooltip: "layer 1 · head 2 · row of 14 “Lily”: 3 “girl” 0.62 · …". */
char *attnviz_step_panel_describe_cell (AttnvizStepPanel *self, int layer, int head);

G_END_DECLS
