/* attnviz-lens-job.h: the logit lens of a run, in a worker thread
 *
 * Runs the model once more over the run's tokens recording no attention,
 * with AttnvizRunOptions.logit_lens: each layer's top K read through the
 * final norm and the LM head (as `attnviz dump --logit-lens` writes them),
 * and each candidate's text for the table.  Progress (the forward pass's,
 * layer by layer) reaches the caller's main context; cancelling stops
 * between layers.
 */
#pragma once

#include <gio/gio.h>

#include "attnviz-lens-table.h"
#include "attnviz-run.h"

G_BEGIN_DECLS

/* Candidates the table keeps per cell. */
#define ATTNVIZ_LENS_JOB_TOP_K 5

/* The lens of RUN with MODEL, or with the model at PATH (loaded in the
 * worker: a checkpoint's) when MODEL is NULL. */
void attnviz_lens_job_async (AttnvizLoadedModel *model,
                             const char *path,
                             AttnvizResult *run,
                             GCancellable *cancellable,
                             AttnvizRunProgressFunc progress,
                             gpointer progress_data,
                             GDestroyNotify progress_destroy,
                             GAsyncReadyCallback callback,
                             gpointer user_data);

/* The lens, or NULL with an error that is a sentence for the user
 * (G_IO_ERROR_CANCELLED when cancelled). */
AttnvizLens *attnviz_lens_job_finish (GAsyncResult *result, GError **error);

G_END_DECLS
