/* attnviz-heads-job.h: the costly per-head measures of a run, in a worker thread
 *
 * What the head table asks for beyond the measures a run gathers on its
 * way: the previous-token, duplicate-token and induction scores on
 * TransformerLens's repeated random probe (one run), then on the run's own
 * tokens the positional TVDs (two runs) and each head's importance (one
 * run per head), as `attnviz heads --probe repeat` and `attnviz heads
 * --importance` compute them.  Progress reaches the caller's main context;
 * cancelling stops between runs.
 */
#pragma once

#include <gio/gio.h>

#include "attnviz-measures.h"
#include "attnviz-run.h"

G_BEGIN_DECLS

/* Measures RUN (a decoder-only or encoder run with measures) with MODEL,
 * or with the model at PATH (loaded in the worker: a checkpoint's) when
 * MODEL is NULL. */
void attnviz_heads_job_async (AttnvizLoadedModel *model,
                              const char *path,
                              AttnvizResult *run,
                              GCancellable *cancellable,
                              AttnvizRunProgressFunc progress,
                              gpointer progress_data,
                              GDestroyNotify progress_destroy,
                              GAsyncReadyCallback callback,
                              gpointer user_data);

/* *TABLE: the run's tokens' table with pos-none, pos-shuffled and (for a
 * model with an output layer) importance; *PROBE: the probe's, whose
 * previous-token, duplicate-token and induction columns are the roles;
 * *NOTE (may be NULL) a sentence on what could not be measured, or NULL.
 * Errors are sentences for the user (G_IO_ERROR_CANCELLED when cancelled). */
gboolean attnviz_heads_job_finish (GAsyncResult *result,
                                   AttnvizHeadMeasures **table,
                                   AttnvizHeadMeasures **probe,
                                   char **note,
                                   GError **error);

G_END_DECLS
