/* attnviz-lens-table.h: the logit lens of a run as a layer × position table
 *
 * Each cell is what the residual stream after that layer predicts at that
 * position, read through the final norm and the LM head (the engine's
 * logit lens, AttnvizRunOptions.logit_lens): its most likely next token
 * and that token's probability, the cell's colour its probability, bold
 * where it is the token that actually follows; hovering a cell lists its
 * top k.  Rows are the layers (the first at the top), columns the run's
 * tokens; the last row is the token that actually follows.  Reading down
 * a column shows at which depth the prediction forms.
 *
 * It observes a view state's run ("state"): a new run clears the table.
 * The lens is a job the owner runs when the table asks ("compute", the
 * lens.compute action) and hands over with attnviz_lens_table_set_lens ();
 * "cancel" (lens.cancel) stops it.
 */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-view-state.h"

G_BEGIN_DECLS

/* What the table shows: L layers × T positions × K candidates. */
typedef struct {
  int n_layer, T, K;
  gint32 *ids;        /* (n_layer, T, K) most likely first */
  float *probs;       /* (n_layer, T, K) */
  char **texts;       /* (n_layer * T * K) each candidate's text as a label shows it */
} AttnvizLens;

void attnviz_lens_free (AttnvizLens *lens);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizLens, attnviz_lens_free)

#define ATTNVIZ_TYPE_LENS_TABLE (attnviz_lens_table_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizLensTable, attnviz_lens_table, ATTNVIZ, LENS_TABLE, GtkWidget)

GtkWidget *attnviz_lens_table_new (void);

AttnvizViewState *attnviz_lens_table_get_state (AttnvizLensTable *self);
void attnviz_lens_table_set_state (AttnvizLensTable *self, AttnvizViewState *state);

/* The lens computed for RUN (taken); dropped when the table shows another
 * run by now.  NULL clears it. */
void attnviz_lens_table_set_lens (AttnvizLensTable *self, AttnvizResult *run, AttnvizLens *lens);
const AttnvizLens *attnviz_lens_table_get_lens (AttnvizLensTable *self);

/* The job as it goes: FRACTION (0 .. 1) and a sentence; STAGE NULL: no
 * job (the bar and Cancel go, the button comes back). */
void attnviz_lens_table_set_progress (AttnvizLensTable *self, double fraction, const char *stage);
gboolean attnviz_lens_table_get_computing (AttnvizLensTable *self);

/* The tooltip text of cell (LAYER, POSITION): its candidates, one a line;
 * NULL outside the lens. */
char *attnviz_lens_table_describe_cell (AttnvizLensTable *self, int layer, int position);

G_END_DECLS
