/* attnviz-generate-job.h: Continue: the model writes on after the text, in
 * a worker thread
 *
 * The engine's decoder (attnviz_generate (), greedy or sampled with a
 * temperature, top-k and top-p and a seed) adds up to N tokens after the prompt, then one
 * forward pass over the prompt and what was written records every head
 * (and each position's predictions), as attnviz-run.c's runs do.  The
 * result marks where the generated tokens start
 * (attnviz_result_get_first_generated ()).  Progress reaches the caller's
 * main context; cancelling stops between tokens or layers.
 */
#pragma once

#include <gio/gio.h>

#include "attnviz-generate.h"
#include "attnviz-run.h"

G_BEGIN_DECLS

/* Continues TEXT with MODEL (a causal language model).  The prompt is
 * FROM's tokens when FROM is given (a run of exactly TEXT: a second
 * Continue goes on from the tokens the first one wrote, not from their
 * text read again), else TEXT's tokens.  OPTIONS gives max_new,
 * temperature, top_k, top_p and seed; its stop tokens, cancellable and progress are the
 * job's own. */
void attnviz_generate_job_async (AttnvizLoadedModel *model,
                                 AttnvizResult *from,
                                 const char *text,
                                 const AttnvizGenerateOptions *options,
                                 GCancellable *cancellable,
                                 AttnvizRunProgressFunc progress,
                                 gpointer progress_data,
                                 GDestroyNotify progress_destroy,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);

/* The run of the prompt and the tokens written; *GENERATED (may be NULL)
 * the text they add after TEXT, *N_NEW (may be NULL) how many tokens this
 * job wrote.  The run's first generated token is the first this job
 * wrote, or, when it went on from FROM's tokens, FROM's: every written
 * token stays marked, as the text box marks them.  Errors are sentences for the user
 * (G_IO_ERROR_CANCELLED when cancelled). */
AttnvizResult *attnviz_generate_job_finish (GAsyncResult *result, char **generated, int *n_new, GError **error);

G_END_DECLS
