/* attnviz-grid-view-overlay.c: the grid coloured by a measure, and its
 * heads ordered by similarity
 *
 * Colour heads by a measure: the state's "head-colour" names a column of
 * the run's measures table (attnviz-measures.h); the grid then draws one
 * cell per head in that colour (the painter's scores, as a comparison's
 * TVD grid), its number when it fits, on one range from the column's
 * least to its largest value, the colour bar captioned by the measure.
 *
 * Order heads by similarity: attnviz_head_similarity () of the run (in a
 * worker: n^2 / 2 T^2 logarithms) gives one average-linkage order of
 * every head; each layer shows its own heads in the order they take in
 * it (the order restricted to the layer), so alike heads of a layer sit
 * side by side.  Layers may order their heads differently, so the column
 * indices are left out and every thumbnail prints its real head index;
 * hit-testing, the outline of the current head and the badges map
 * columns back to heads through the same order.
 */
#define G_LOG_DOMAIN "attnviz-grid-view"
#include "config.h"

#include <math.h>

#include "attnviz-difference.h"
#include "attnviz-grid-view-private.h"
#include "attnviz-run-result.h"
#include "attnviz-similarity.h"

void
_attnviz_grid_view_clear_order (AttnvizGridView *self)
{
  if (self->order_cancellable != NULL)
    g_cancellable_cancel (self->order_cancellable);
  g_clear_object (&self->order_cancellable);
  g_clear_pointer (&self->order, g_free);
  g_clear_pointer (&self->column, g_free);
  g_clear_pointer (&self->order_message, g_free);
}

static gboolean
ordered (AttnvizGridView *self)
{
  return self->order != NULL && attnviz_view_state_get_order_heads (figure_state (self));
}

int
_attnviz_grid_view_head_at (AttnvizGridView *self, int layer, int column)
{
  if (!ordered (self) || layer < 0 || layer >= n_layers (self) || column < 0 || column >= n_heads (self))
    return column;
  return self->order[layer * n_heads (self) + column];
}

int
_attnviz_grid_view_column_of (AttnvizGridView *self, int layer, int head)
{
  if (!ordered (self) || layer < 0 || layer >= n_layers (self) || head < 0 || head >= n_heads (self))
    return head;
  return self->column[layer * n_heads (self) + head];
}

const int *
attnviz_grid_view_get_head_order (AttnvizGridView *self, int layer)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), NULL);

  if (!ordered (self) || layer < 0 || layer >= n_layers (self))
    return NULL;
  return self->order + (gsize) layer * n_heads (self);
}

typedef struct {
  AttnvizGridView *view;       /* a reference */
  GCancellable *cancellable;
  AttnvizAttention *source;
  int L, H;
} OrderJob;

static void
order_thread (GTask *task, gpointer object, gpointer data, GCancellable *cancellable)
{
  OrderJob *job = data;
  GError *error = NULL;
  g_autoptr(AttnvizHeadSimilarity) sim = attnviz_head_similarity (job->source, 0, cancellable, &error);

  if (sim == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Each layer's heads in the order they take in the run's order; heads
   * not recorded after them, by index. */
  int *order = g_new (int, (gsize) job->L * job->H);
  int *filled = g_new0 (int, job->L);
  for (int i = 0; i < sim->n; i++)
    {
      int k = sim->order[i], l = sim->layers[k];
      if (l >= 0 && l < job->L && filled[l] < job->H)
        order[l * job->H + filled[l]++] = sim->heads[k];
    }
  for (int l = 0; l < job->L; l++)
    for (int h = 0; h < job->H; h++)
      {
        gboolean seen = FALSE;
        for (int c = 0; c < filled[l] && !seen; c++)
          seen = order[l * job->H + c] == h;
        if (!seen)
          order[l * job->H + filled[l]++] = h;
      }
  g_free (filled);
  g_task_return_pointer (task, order, g_free);
}

static void
order_done (GObject *source, GAsyncResult *result, gpointer data)
{
  OrderJob *job = data;
  AttnvizGridView *self = job->view;
  g_autoptr(GError) error = NULL;
  int *order = g_task_propagate_pointer (G_TASK (result), &error);

  if (job->cancellable == self->order_cancellable)
    {
      g_clear_object (&self->order_cancellable);
      if (order != NULL)
        {
          int n = job->L * job->H;
          self->order = g_steal_pointer (&order);
          self->column = g_new (int, n);
          for (int l = 0; l < job->L; l++)
            for (int c = 0; c < job->H; c++)
              self->column[l * job->H + self->order[l * job->H + c]] = c;
        }
      else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        self->order_message = g_strdup_printf ("heads by index (no similarity order: %s)", error->message);
      self->layout_valid = FALSE;
      attnviz_figure_view_invalidate (ATTNVIZ_FIGURE_VIEW (self));
    }
  g_free (order);
  g_object_unref (job->cancellable);
  g_object_unref (self);
  g_free (job);
}

/* Starts the similarity order of the shown run, once. */
static void
ensure_order (AttnvizGridView *self)
{
  AttnvizResult *result = figure_result (self);

  if (self->order != NULL || self->order_cancellable != NULL || self->order_message != NULL || result == NULL)
    return;
  AttnvizAttention *source = attnviz_result_get_source (result);
  if (source == NULL)
    {
      self->order_message = g_strdup ("heads by index (a comparison or a run without its attention source has no "
                                      "similarity order)");
      return;
    }
  OrderJob *job = g_new0 (OrderJob, 1);
  job->view = g_object_ref (self);
  job->source = source;
  job->L = n_layers (self);
  job->H = n_heads (self);
  self->order_cancellable = g_cancellable_new ();
  job->cancellable = g_object_ref (self->order_cancellable);
  /* The result stays while the task runs: its recording holds the source. */
  g_autoptr(GTask) task = g_task_new (result, self->order_cancellable, order_done, job);
  g_task_set_task_data (task, job, NULL);  /* freed by order_done, after the thread */
  g_task_run_in_thread (task, order_thread);
}

/* SPEC's per-head arrays permuted, layer by layer, to the drawn order. */
static void
apply_order (AttnvizGridView *self, AttnvizGridSpec *spec)
{
  int L = spec->n_layer, H = spec->n_head;
  gsize n = (gsize) L * H;

  g_clear_pointer (&self->ordered_maps, g_free);
  g_clear_pointer (&self->ordered_overviews, g_free);
  g_clear_pointer (&self->ordered_scores, g_free);
  if (spec->maps != NULL)
    {
      self->ordered_maps = g_new (const float *, n);
      for (gsize i = 0; i < n; i++)
        self->ordered_maps[i] = spec->maps[(i / H) * H + self->order[i]];
      spec->maps = self->ordered_maps;
    }
  if (spec->overviews != NULL)
    {
      self->ordered_overviews = g_new (const float *, n);
      for (gsize i = 0; i < n; i++)
        self->ordered_overviews[i] = spec->overviews[(i / H) * H + self->order[i]];
      spec->overviews = self->ordered_overviews;
    }
  if (spec->scores != NULL)
    {
      self->ordered_scores = g_new (double, n);
      for (gsize i = 0; i < n; i++)
        self->ordered_scores[i] = spec->scores[(i / H) * H + self->order[i]];
      spec->scores = self->ordered_scores;
    }
  spec->cell_head_index = self->order;
  spec->current_head = _attnviz_grid_view_column_of (self, spec->current_layer, spec->current_head);
}

/* The state's measure as one cell a head. */
static void
apply_measure (AttnvizGridView *self, AttnvizGridSpec *spec, AttnvizMeasure measure)
{
  const AttnvizHeadMeasures *table = attnviz_run_result_measures_of (figure_result (self));
  int L = spec->n_layer, H = spec->n_head;

  g_free (self->measure_scores);
  self->measure_scores = g_new (double, MAX ((gsize) L * H, 1));
  double lo = INFINITY, hi = -INFINITY;
  for (int l = 0; l < L; l++)
    for (int h = 0; h < H; h++)
      {
        double v = l < table->n_layer && h < table->n_head ? attnviz_head_measures_at (table, l, h)[measure] : NAN;
        self->measure_scores[l * H + h] = v;
        if (!isnan (v))
          {
            lo = MIN (lo, v);
            hi = MAX (hi, v);
          }
      }
  spec->scores = self->measure_scores;
  if (!(lo < hi))
    {
      lo = isfinite (lo) ? lo - 0.5 : 0;
      hi = lo + 1;
    }
  attnviz_scale_init (&spec->scale, ATTNVIZ_SCALE_LINEAR, lo, hi);
  spec->colorbar = TRUE;
  const char *name = attnviz_measure_get_name (measure);
  spec->scale_caption = name;
  g_free (self->title);
  self->title = g_strdup_printf ("%s of every layer and head", name);
  spec->title = self->title;
  g_free (self->subtitle);
  g_autofree char *run = attnviz_result_describe_run (figure_result (self));
  self->subtitle = g_strdup_printf ("%s · colours: %s (the Heads page’s table)", run, name);
  spec->subtitle = self->subtitle;
}

void
_attnviz_grid_view_apply_overlays (AttnvizGridView *self, AttnvizGridSpec *spec)
{
  AttnvizViewState *state = figure_state (self);
  int measure = attnviz_view_state_get_head_measure (state);

  if (measure >= 0 && attnviz_run_result_measures_of (figure_result (self)) != NULL
      && !ATTNVIZ_IS_DIFFERENCE (figure_result (self)))
    apply_measure (self, spec, measure);
  if (!attnviz_view_state_get_order_heads (state))
    return;
  ensure_order (self);
  const char *note = self->order != NULL ? "each layer’s heads ordered by similarity (labels: head index)"
                   : self->order_message != NULL ? self->order_message : "ordering heads by similarity…";
  char *sub = g_strdup_printf ("%s · %s", spec->subtitle ? spec->subtitle : "", note);
  g_free (self->subtitle);
  self->subtitle = sub;
  spec->subtitle = self->subtitle;
  if (self->order != NULL)
    apply_order (self, spec);
}
