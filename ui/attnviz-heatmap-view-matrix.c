/* attnviz-heatmap-view-matrix.c: a heatmap of another matrix than the weights
 *
 * The state's "matrix" picks what the heatmap paints: the weights (the
 * state's result itself), the value-weighted attention or the run's
 * rollout or flow (attnviz_result_peek_matrix ()).  What takes time is
 * prepared off the main thread, the view showing "Computing …" meanwhile;
 * what the run cannot show (flow past its token limit, a comparison, the
 * cross-attention's value vectors) is said in the view, not in a dialog.
 */
#define G_LOG_DOMAIN "attnviz-heatmap-view"
#include "config.h"

#include "attnviz-heatmap-view-private.h"

static AttnvizMatrixKind
state_matrix (AttnvizHeatmapView *self)
{
  return attnviz_view_state_get_matrix (figure_state (self));
}

AttnvizResult *
_attnviz_heatmap_view_shown (AttnvizHeatmapView *self)
{
  AttnvizResult *run = figure_result (self);
  AttnvizMatrixKind matrix = state_matrix (self);

  if (run == NULL || matrix == ATTNVIZ_MATRIX_WEIGHTS)
    return run;
  if (!attnviz_result_matrix_is_ready (run, matrix, figure_aggregate (self), figure_layer (self), figure_head (self)))
    return NULL;
  return attnviz_result_peek_matrix (run, matrix);
}

void
_attnviz_heatmap_view_cancel_matrix (AttnvizHeatmapView *self)
{
  if (self->matrix_cancellable != NULL)
    g_cancellable_cancel (self->matrix_cancellable);
  g_clear_object (&self->matrix_cancellable);
}

typedef struct {
  AttnvizHeatmapView *view;     /* a reference */
  GCancellable *cancellable;    /* the view's when it was started */
} Pending;

static void
prepared (GObject *source, GAsyncResult *result, gpointer data)
{
  Pending *pending = data;
  AttnvizHeatmapView *self = pending->view;
  g_autoptr(GError) error = NULL;

  gboolean ok = attnviz_result_prepare_matrix_finish (ATTNVIZ_RESULT (source), result, &error);
  /* Only the latest request speaks: an older one was cancelled or replaced. */
  if (pending->cancellable == self->matrix_cancellable)
    {
      g_clear_object (&self->matrix_cancellable);
      if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_free (self->matrix_message);
          self->matrix_message = g_strdup_printf ("Could not compute the %s: %s",
                                                  attnviz_matrix_describe (self->matrix_key[0]), error->message);
        }
      attnviz_figure_view_invalidate (ATTNVIZ_FIGURE_VIEW (self));
    }
  g_object_unref (pending->cancellable);
  g_object_unref (self);
  g_free (pending);
}

const char *
_attnviz_heatmap_view_matrix_message (AttnvizHeatmapView *self)
{
  AttnvizResult *run = figure_result (self);
  AttnvizMatrixKind matrix = state_matrix (self);
  g_autoptr(GError) error = NULL;

  if (run == NULL || matrix == ATTNVIZ_MATRIX_WEIGHTS || _attnviz_heatmap_view_shown (self) != NULL)
    return NULL;
  int key[5] = { matrix, figure_aggregate (self), figure_layer (self), figure_head (self), (int) self->run_serial };
  /* Rollout and flow are one matrix for every layer and head. */
  if (matrix != ATTNVIZ_MATRIX_VALUE_WEIGHTED)
    key[1] = key[2] = key[3] = 0;
  gboolean same = memcmp (key, self->matrix_key, sizeof key) == 0;
  if (same && self->matrix_message != NULL)
    return self->matrix_message;

  g_clear_pointer (&self->matrix_message, g_free);
  if (!attnviz_result_supports_matrix (run, matrix, &error))
    {
      memcpy (self->matrix_key, key, sizeof key);
      self->matrix_message = g_strdup (error->message);
      return self->matrix_message;
    }
  if (!same || self->matrix_cancellable == NULL)
    {
      _attnviz_heatmap_view_cancel_matrix (self);
      memcpy (self->matrix_key, key, sizeof key);
      self->matrix_cancellable = g_cancellable_new ();
      Pending *pending = g_new0 (Pending, 1);
      pending->view = g_object_ref (self);
      pending->cancellable = g_object_ref (self->matrix_cancellable);
      attnviz_result_prepare_matrix_async (run, matrix, figure_aggregate (self), figure_layer (self), figure_head (self),
                                           self->matrix_cancellable, prepared, pending);
    }
  switch (matrix)
    {
    case ATTNVIZ_MATRIX_ROLLOUT: return "Computing the attention rollout…";
    case ATTNVIZ_MATRIX_FLOW: return "Computing the attention flow…";
    default: return "Computing the value-weighted attention of this head…";
    }
}

const char *
attnviz_heatmap_view_get_matrix_message (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), NULL);
  return _attnviz_heatmap_view_matrix_message (self);
}
