/* attnviz-head-table.h: every head of a run as a row of its measures
 *
 * A GtkColumnView of the run's per-head measures (attnviz-measures.h):
 * layer, head, then one column per measure the table has, 3 decimals,
 * sortable by any column (a click on its header), filtered to one layer or
 * all.  It observes a view state's run ("state"), whose result carries the
 * measures its forward pass gathered; the costly ones (positional,
 * importance) and the roles on TransformerLens's repeated probe come from
 * a job the owner runs when the table asks for it ("compute"), and are
 * added with attnviz_head_table_add_measures ().
 *
 * Signals: "head-activated" (layer, head) on a double click or Enter on a
 * row; "compute" when the user asks for the costly measures (the
 * heads.compute action); "cancel" to stop them (heads.cancel).
 */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-measures.h"
#include "attnviz-view-state.h"

G_BEGIN_DECLS

/* The columns past the engine's: the roles on the probe. */
typedef enum {
  ATTNVIZ_HEAD_COLUMN_PROBE_PREVIOUS = ATTNVIZ_N_MEASURES,
  ATTNVIZ_HEAD_COLUMN_PROBE_DUPLICATE,
  ATTNVIZ_HEAD_COLUMN_PROBE_INDUCTION,
  ATTNVIZ_HEAD_N_COLUMNS,
} AttnvizHeadColumn;

#define ATTNVIZ_TYPE_HEAD_TABLE (attnviz_head_table_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizHeadTable, attnviz_head_table, ATTNVIZ, HEAD_TABLE, GtkWidget)

GtkWidget *attnviz_head_table_new (void);

AttnvizViewState *attnviz_head_table_get_state (AttnvizHeadTable *self);
void attnviz_head_table_set_state (AttnvizHeadTable *self, AttnvizViewState *state);

/* The run's measures with the costly columns added, as `attnviz heads`
 * writes them; NULL when the run has none.  The probe's roles are not in
 * it (their tokens are not the run's). */
const AttnvizHeadMeasures *attnviz_head_table_get_measures (AttnvizHeadTable *self);

/* Adds the costly measures computed for RUN: TABLE's pos-none,
 * pos-shuffled and importance columns (those it has), and PROBE's
 * previous-token, duplicate-token and induction scores as the
 * probe-* columns.  Takes both; either may be NULL; dropped when the
 * table shows another run by now. */
void attnviz_head_table_add_measures (AttnvizHeadTable *self, AttnvizResult *run,
                                      AttnvizHeadMeasures *table, AttnvizHeadMeasures *probe);
/* Whether the costly measures are in. */
gboolean attnviz_head_table_get_complete (AttnvizHeadTable *self);

/* The costly measures' job as it goes: FRACTION (0 .. 1) and a sentence;
 * STAGE NULL: no job (the bar and Cancel go, the button comes back). */
void attnviz_head_table_set_progress (AttnvizHeadTable *self, double fraction, const char *stage);
gboolean attnviz_head_table_get_computing (AttnvizHeadTable *self);
/* The job's fraction done ("progress"), 0 without a job. */
double attnviz_head_table_get_progress (AttnvizHeadTable *self);

/* The rows as shown, sorted and filtered; a column's value in a row (NaN
 * where there is none).  Columns are named as the measures are
 * ("entropy", "offset-3"), "layer", "head" and "probe-previous-token",
 * "probe-duplicate-token", "probe-induction". */
guint attnviz_head_table_get_n_rows (AttnvizHeadTable *self);
void attnviz_head_table_get_row (AttnvizHeadTable *self, guint position, int *layer, int *head);
double attnviz_head_table_get_value (AttnvizHeadTable *self, guint position, const char *column);
/* The view's column NAME, NULL for none; whether it shows. */
GtkColumnViewColumn *attnviz_head_table_get_column (AttnvizHeadTable *self, const char *name);
GtkColumnView *attnviz_head_table_get_column_view (AttnvizHeadTable *self);

/* The layer the rows are filtered to, -1: all (the dropdown's choice). */
int attnviz_head_table_get_layer_filter (AttnvizHeadTable *self);
void attnviz_head_table_set_layer_filter (AttnvizHeadTable *self, int layer);

G_END_DECLS
