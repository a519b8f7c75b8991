/* attnviz-model-job.h: a worker job that runs a run's model again
 *
 * The Heads page's measures (attnviz-heads-job.c) and the Lens page's
 * logit lens (attnviz-lens-job.c) each run the model of a run once more
 * in a GTask.  What such a job holds is the same: the model, or the path
 * to load it from in the worker (a checkpoint's), the run it reads, and
 * where its progress goes; so are two of its steps: reporting progress to
 * the caller's main context, and getting the model.
 */
#pragma once

#include <gio/gio.h>

#include "attnviz-run.h"

G_BEGIN_DECLS

typedef struct {
  AttnvizLoadedModel *model;     /* or NULL: load PATH */
  char *path;
  AttnvizResult *run;            /* immutable: read from the worker */
  GMainContext *context;         /* where progress goes */
  AttnvizRunProgressFunc progress;
  gpointer progress_data;
  GDestroyNotify progress_destroy;
} AttnvizModelJob;

/* A task whose data is a new AttnvizModelJob; the caller runs it in a
 * thread (g_task_run_in_thread) and unrefs it. */
GTask *attnviz_model_job_new (AttnvizLoadedModel *model,
                              const char *path,
                              AttnvizResult *run,
                              GCancellable *cancellable,
                              AttnvizRunProgressFunc progress,
                              gpointer progress_data,
                              GDestroyNotify progress_destroy,
                              GAsyncReadyCallback callback,
                              gpointer user_data,
                              gpointer source_tag,
                              const char *name);

/* From the worker: FRACTION done, at STAGE (owned). */
void attnviz_model_job_report (GTask *task, double fraction, char *stage);

/* From the worker: the job's model, loading its path into *OWN when it
 * has none; NULL when that fails, the task then returned its error. */
const AttnvizModel *attnviz_model_job_get_model (GTask *task, AttnvizModel **own);

G_END_DECLS
