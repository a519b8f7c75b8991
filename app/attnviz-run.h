/* attnviz-run.h: open a model and run it on a text, in a worker thread
 *
 * The desktop app's long work: loading the weights, tokenizing and the
 * forward pass all happen in a GTask thread.  Progress reaches the caller's
 * main context through g_main_context_invoke (); cancelling the
 * GCancellable stops the forward pass between layers.
 */
#pragma once

#include <gio/gio.h>

#include "attnviz-model.h"
#include "attnviz-result.h"

G_BEGIN_DECLS

/* A loaded model, shared by the window and any run still using it. */
typedef struct _AttnvizLoadedModel AttnvizLoadedModel;

AttnvizLoadedModel *attnviz_loaded_model_ref (AttnvizLoadedModel *self);
void attnviz_loaded_model_unref (AttnvizLoadedModel *self);
const AttnvizModel *attnviz_loaded_model_get_model (AttnvizLoadedModel *self);
/* What the user opened. */
const char *attnviz_loaded_model_get_path (AttnvizLoadedModel *self);
/* A short name: the folder's, with its parent's when it is a generic one
 * ("stories260K/hf"). */
const char *attnviz_loaded_model_get_name (AttnvizLoadedModel *self);
/* "llama · 5 layers · 8 heads · context 512". */
char *attnviz_loaded_model_describe (AttnvizLoadedModel *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizLoadedModel, attnviz_loaded_model_unref)


/* Called on the caller's main context; STAGE is a sentence for the user. */
typedef void (*AttnvizRunProgressFunc) (double fraction, const char *stage, gpointer user_data);

/* From a worker of TASK: PROGRESS (FRACTION, STAGE, PROGRESS_DATA) on
 * CONTEXT's thread, in order, never from here (STAGE owned; TASK kept
 * alive until then; nothing when PROGRESS is NULL). */
void attnviz_run_post_progress (GMainContext *context, GTask *task, AttnvizRunProgressFunc progress,
                                gpointer progress_data, double fraction, char *stage);

/* Loads PATH (unless MODEL, already loaded from it, is given), then runs
 * it on TEXT (unless TEXT is NULL: load only).  PROGRESS_DATA is released
 * with PROGRESS_DESTROY, possibly from the worker thread. */
void attnviz_run_async (const char *path,
                        AttnvizLoadedModel *model,
                        const char *text,
                        GCancellable *cancellable,
                        AttnvizRunProgressFunc progress,
                        gpointer progress_data,
                        GDestroyNotify progress_destroy,
                        GAsyncReadyCallback callback,
                        gpointer user_data);

/* As attnviz_run_async (); an encoder-decoder's decoder then reads TARGET
 * (N_TARGET ids starting with BOS) instead of its own greedy output, and
 * the result's output is what this model decodes (a checkpoint shown with
 * the final model's target, so that every step shows the same tokens).
 * TARGET NULL: as attnviz_run_async (). */
void attnviz_run_target_async (const char *path,
                               AttnvizLoadedModel *model,
                               const char *text,
                               const gint32 *target,
                               int n_target,
                               GCancellable *cancellable,
                               AttnvizRunProgressFunc progress,
                               gpointer progress_data,
                               GDestroyNotify progress_destroy,
                               GAsyncReadyCallback callback,
                               gpointer user_data);

/* As attnviz_run_async (), running TEXT under two variants, A and B
 * (specs as attnviz_variant_parse () reads them), after the model as it
 * is; the variants start from that run at their first changed layer.
 * Progress names the pass ("A (mask=bidirectional): layer 2 of 5…"). */
void attnviz_run_compare_async (const char *path,
                                AttnvizLoadedModel *model,
                                const char *text,
                                const char *variant_a,
                                const char *variant_b,
                                GCancellable *cancellable,
                                AttnvizRunProgressFunc progress,
                                gpointer progress_data,
                                GDestroyNotify progress_destroy,
                                GAsyncReadyCallback callback,
                                gpointer user_data);

/* As attnviz_run_finish (); a comparison also sets *COMPARISON, the
 * difference result of A and B (attnviz_difference_new ()), and
 * *RUN is the model as it is. */
gboolean attnviz_run_compare_finish (GAsyncResult *result,
                                     AttnvizLoadedModel **model,
                                     AttnvizResult **run,
                                     AttnvizResult **comparison,
                                     GError **error);

/* On success *MODEL is the model used and *RESULT the run (NULL when only
 * loading).  Errors are sentences for the user; when the model loaded but
 * the run failed, *MODEL is still set. */
gboolean attnviz_run_finish (GAsyncResult *result,
                             AttnvizLoadedModel **model,
                             AttnvizResult **run,
                             GError **error);

/* The checkpoints a training run left beside a model: MODEL_DIR/checkpoints/
 * step-N/ folders that hold a config.json, in step order, then the model
 * itself (MODEL_PATH) at the step its config.json names (attnviz_step),
 * replacing a checkpoint of that same step.  Empty when there is no
 * checkpoint. */
typedef struct {
  int step;
  char *path;
  gboolean final;     /* the model itself */
} AttnvizCheckpoint;

GArray *attnviz_checkpoints_list (const char *model_path, const char *model_dir);
/* The clear function of such an array (frees the path). */
void attnviz_checkpoint_clear (gpointer checkpoint);

G_END_DECLS
