/* attnviz-run-private.h: what the app's workers share with attnviz-run.c
 *
 * A run made elsewhere (the generate job's prompt and continuation) ends
 * the way attnviz-run.c's own do: the same labels, measures, loss
 * direction and predictions.
 */
#pragma once

#include "attnviz-measures.h"
#include "attnviz-run.h"

G_BEGIN_DECLS

/* The cheap per-head measures the forward pass gathers for TOKENS (IDS,
 * spans into TEXT); *CLASSES (T) must outlive the accumulator. */
AttnvizMeasuresAcc *_attnviz_run_measures_new (const AttnvizModel *model, const char *text, GArray *tokens,
                                               const gint32 *ids, guint8 **classes);
/* Finishes ACC into RESULT's table. */
void _attnviz_run_measures_keep (AttnvizResult *result, const AttnvizModel *model, const AttnvizMeasuresAcc *acc);
/* The result of REC (taken), a run of TOKENS (copied; spans into TEXT):
 * labels, the loss's direction and, for a causal model, the labelled
 * candidates of every position (attnviz-predictions.h).  Frees the
 * recording's logits and residuals. */
AttnvizResult *_attnviz_run_make_result (AttnvizLoadedModel *loaded, const char *text, GArray *tokens,
                                         const gint32 *ids, AttnvizRecording *rec);

G_END_DECLS
