/* attnviz-window-export.c: figures of the view shown
 *
 * win.export opens the export dialog (attnviz-export-dialog.c), win.export-to
 * writes a file with the session's last choices: the view shown, as the
 * painter draws it but without what only the screen shows (selection,
 * hover, current head) unless asked, PNG, SVG or PDF by the extension, in a
 * thread.  The choices are `attnviz render`'s and go through its code.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include <math.h>

#include "attnviz-export-dialog.h"
#include "attnviz-step-panel.h"
#include "attnviz-window-private.h"

typedef struct {
  char *path;
  AttnvizFigureKind kind;
  AttnvizHeatmapSpec heatmap;
  AttnvizGridSpec grid;
  AttnvizLinesSpec lines;
  AttnvizHeatmapRowSpec row;
  AttnvizScatterSpec scatter;
  AttnvizStepSpec step;
  float *scatter_points;       /* a copy: the view recomputes its own */
  float *step_rows;            /* copies of the step panel's rows and which were recorded */
  gboolean *step_recorded;
  double width_pt, height_pt;
  char *title;                 /* copies: the views' strings change */
  char *subtitle;
  char *panel_titles[ATTNVIZ_HEATMAP_ROW_MAX];
  char *panel_subtitles[ATTNVIZ_HEATMAP_ROW_MAX];
  AttnvizResult *result;       /* keeps the matrices and labels alive */
  AttnvizExportOptions options;
  char *table_text;            /* the Heads page's file instead of a figure, or NULL */
} ExportJob;

static void
export_job_free (ExportJob *job)
{
  g_free (job->path);
  g_free (job->table_text);
  g_free (job->scatter_points);
  g_free (job->step_rows);
  g_free (job->step_recorded);
  g_free (job->title);
  g_free (job->subtitle);
  for (int i = 0; i < ATTNVIZ_HEATMAP_ROW_MAX; i++)
    {
      g_free (job->panel_titles[i]);
      g_free (job->panel_subtitles[i]);
    }
  g_clear_object (&job->result);
  g_free (job);
}

#define ROW_EXPORT_WIDTH_PT 504.0   /* two columns of a paper, 7 in */
#define ROW_EXPORT_FONT_PT 7.0

/* The least height (points) at which ROW's panels, WIDTH wide in all, get
 * matrices as large as their width allows. */
static double
row_fitted_height (const AttnvizHeatmapRowSpec *row, double width)
{
  double panel = width / MAX (row->n_panels, 1);
  double h = 0.5 * panel;
  for (; h < 4 * panel; h += 4)
    {
      double widest = 0;
      for (int i = 0; i < row->n_panels; i++)
        {
          AttnvizHeatmapLayout a, b;
          attnviz_heatmap_layout (&row->panels[i], panel, h, &a);
          attnviz_heatmap_layout (&row->panels[i], panel, 4 * panel, &b);
          widest = MAX (widest, b.cell - a.cell);
        }
      if (widest < 1e-3)
        break;
    }
  return h;
}

/* Figure sizes in points: cells of a readable size for short inputs, one
 * page at most for long ones (300 dpi PNGs stay under ~4000 px). */
static void
heatmap_export_size (int T, double *width_pt, double *height_pt)
{
  double side = CLAMP (160.0 + 12.0 * T, 420.0, 960.0);
  *width_pt = side + 90;
  *height_pt = side + 40;
}

/* A matrix that is not square (cross-attention): the cells of a square
 * one of its longer side, the figure cut to the matrix's shape. */
static void
heatmap_export_size_for (int rows, int cols, double *width_pt, double *height_pt)
{
  if (rows == cols)
    {
      heatmap_export_size (rows, width_pt, height_pt);
      return;
    }
  int n = MAX (MAX (rows, cols), 1);
  double side = CLAMP (160.0 + 12.0 * n, 420.0, 960.0);
  double cell = (side - 120.0) / n;
  *width_pt = 120.0 + cols * cell + 90;
  *height_pt = MAX (120.0 + rows * cell + 40, 260.0);
}

gboolean
attnviz_window_get_export_heatmap (AttnvizWindow *self, AttnvizHeatmapSpec *spec,
                                   double *width_pt, double *height_pt)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), FALSE);

  if (!attnviz_heatmap_view_get_spec (self->heatmap_view, spec))
    return FALSE;
  heatmap_export_size_for (spec->rows, spec->cols, width_pt, height_pt);
  return TRUE;
}

static void *
export_job_spec (ExportJob *job)
{
  return job->kind == ATTNVIZ_FIGURE_GRID ? (void *) &job->grid
       : job->kind == ATTNVIZ_FIGURE_LINES ? (void *) &job->lines
       : job->kind == ATTNVIZ_FIGURE_HEATMAP_ROW ? (void *) &job->row
       : job->kind == ATTNVIZ_FIGURE_SCATTER ? (void *) &job->scatter
       : job->kind == ATTNVIZ_FIGURE_STEP ? (void *) &job->step
       : (void *) &job->heatmap;
}

/* JOB draws GRID's figure (the run's heads, or each head's change), at a
 * size that grows with the heads and layers; the titles are the job's own
 * copies, since the view may change while the export runs. */
static gboolean
grid_job (ExportJob *job, AttnvizGridView *grid)
{
  gboolean ok = attnviz_grid_view_get_spec (grid, &job->grid);
  job->kind = ATTNVIZ_FIGURE_GRID;
  job->width_pt = CLAMP (140.0 + 72.0 * job->grid.n_head, 420.0, 1000.0);
  job->height_pt = CLAMP (120.0 + 72.0 * job->grid.n_layer, 320.0, 1000.0);
  job->title = g_strdup (job->grid.title);
  job->subtitle = g_strdup (job->grid.subtitle);
  job->grid.title = job->title;
  job->grid.subtitle = job->subtitle;
  return ok;
}

/* JOB draws the Steps page: the lines of the current head, its row the
 * step's, beside the step's row in every head, under the page's caption. */
static gboolean
step_job (AttnvizWindow *self, ExportJob *job, GError **error)
{
  AttnvizStepSpec *step = &job->step;
  AttnvizStepPanel *panel = ATTNVIZ_STEP_PANEL (self->step_panel);
  if (!attnviz_lines_view_get_spec (self->step_lines, &step->lines, error))
    return FALSE;
  if (!attnviz_step_panel_get_spec (panel, &step->panel))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "Pick a step first: there is no row to export.");
      return FALSE;
    }
  job->kind = ATTNVIZ_FIGURE_STEP;
  gsize cells = (gsize) step->panel.n_layers * step->panel.n_heads;
  job->step_rows = g_memdup2 (step->panel.rows, MAX (cells * step->panel.cols, 1) * sizeof (float));
  job->step_recorded = g_memdup2 (step->panel.recorded, MAX (cells, 1) * sizeof (gboolean));
  step->panel.rows = job->step_rows;
  step->panel.recorded = job->step_recorded;
  /* the figure's title says which step; the lines keep their head's */
  job->title = g_strdup (gtk_label_get_text (self->step_caption));
  job->subtitle = g_strdup (step->lines.subtitle);
  job->panel_titles[0] = g_strdup (step->lines.title);
  step->title = job->title;
  step->subtitle = job->subtitle;
  step->lines.title = job->panel_titles[0];
  step->lines.subtitle = NULL;
  if (attnviz_view_state_get_attention (self->state) == ATTNVIZ_ATTENTION_CROSS)
    {
      step->lines.left_caption = "target";
      step->lines.right_caption = "source";
    }
  job->width_pt = 820;
  job->height_pt = CLAMP (140.0 + 16.0 * MAX (step->lines.rows, step->lines.cols), 360.0, 1200.0);
  return TRUE;
}

static ExportJob *
export_job_new (AttnvizWindow *self, const char *path, const AttnvizCliFigure *fig, GError **error)
{
  const char *view = adw_view_stack_get_visible_child_name (self->view_stack);
  ExportJob *job = g_new0 (ExportJob, 1);
  gboolean ok = FALSE;

  job->path = g_strdup (path);
  gboolean comparing = g_strcmp0 (view, "changes") == 0 || g_strcmp0 (view, "compare") == 0;
  AttnvizResult *shown = comparing ? self->comparison : attnviz_view_state_get_result (self->state);
  job->result = shown ? g_object_ref (shown) : NULL;
  if (job->result == NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "Run the model first: there is nothing to export.");
  else if (g_strcmp0 (view, "changes") == 0)
    {
      /* One number per head: the total variation distance of A and B. */
      ok = grid_job (job, self->changes_grid);
    }
  else if (g_strcmp0 (view, "compare") == 0)
    {
      /* The panes on screen, side by side; each names its variant, the
       * difference both. */
      ok = attnviz_compare_view_get_figure (self->compare_view, &job->row);
      job->kind = ATTNVIZ_FIGURE_HEATMAP_ROW;
      /* The whole row as wide as a two-column figure (7 in), each panel
       * a heatmap's proportions plus room for its title and two-line
       * subtitle; a width from the dialog scales it. */
      job->width_pt = ROW_EXPORT_WIDTH_PT;
      job->height_pt = 0;    /* fitted below, once the font is known */
      for (int i = 0; ok && i < job->row.n_panels; i++)
        {
          job->panel_titles[i] = g_strdup (job->row.panels[i].title);
          job->panel_subtitles[i] = g_strdup (job->row.panels[i].subtitle);
          job->row.panels[i].title = job->panel_titles[i];
          job->row.panels[i].subtitle = job->panel_subtitles[i];
        }
    }
  else if (g_strcmp0 (view, "grid") == 0)
    {
      ok = grid_job (job, self->grid_view);
    }
  else if (g_strcmp0 (view, "qk") == 0)
    {
      /* The scatter of the head's queries and keys, as `render --view qk`. */
      ok = attnviz_query_key_view_get_spec (self->qk_view, &job->scatter, error);
      job->kind = ATTNVIZ_FIGURE_SCATTER;
      job->width_pt = 480;
      job->height_pt = 460;
      if (ok)
        {
          gsize n = (gsize) (job->scatter.n_queries + job->scatter.n_keys) * 2;
          job->scatter_points = g_memdup2 (job->scatter.points, MAX (n, 1) * sizeof (float));
          job->scatter.points = job->scatter_points;
          job->title = g_strdup (job->scatter.title);
          job->subtitle = g_strdup (job->scatter.subtitle);
          job->scatter.title = job->title;
          job->scatter.subtitle = job->subtitle;
        }
    }
  else if (g_strcmp0 (view, "steps") == 0)
    ok = step_job (self, job, error);
  else if (g_strcmp0 (view, "lines") == 0)
    {
      ok = attnviz_lines_view_get_spec (self->lines_view, &job->lines, error);
      job->kind = ATTNVIZ_FIGURE_LINES;
      job->width_pt = 480;
      job->height_pt = CLAMP (100.0 + 16.0 * MAX (job->lines.rows, job->lines.cols), 320.0, 1200.0);
      job->title = g_strdup (job->lines.title);
      job->subtitle = g_strdup (job->lines.subtitle);
      job->lines.title = job->title;
      job->lines.subtitle = job->subtitle;
      if (attnviz_view_state_get_attention (self->state) == ATTNVIZ_ATTENTION_CROSS)
        {
          job->lines.left_caption = "target";
          job->lines.right_caption = "source";
        }
    }
  else
    {
      ok = attnviz_window_get_export_heatmap (self, &job->heatmap, &job->width_pt, &job->height_pt);
      job->kind = ATTNVIZ_FIGURE_HEATMAP;
      job->title = g_strdup (job->heatmap.title);
      job->subtitle = g_strdup (job->heatmap.subtitle);
      job->heatmap.title = job->title;
      job->heatmap.subtitle = job->subtitle;
    }
  if (!ok)
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "This view has nothing to export.");
      export_job_free (job);
      return NULL;
    }
  /* The document's title before the figure may drop it. */
  job->options = attnviz_cli_figure_export_options (fig, job->kind == ATTNVIZ_FIGURE_HEATMAP_ROW
                                                         ? job->panel_titles[MAX (job->row.n_panels - 1, 0)]
                                                         : job->title);
  attnviz_cli_figure_apply (fig, job->kind, export_job_spec (job));
  if (job->kind == ATTNVIZ_FIGURE_HEATMAP_ROW)
    {
      /* Three panels in 7 inches: a paper's figure text (7 pt) unless a
       * size was chosen, and the height at which the matrices stop
       * growing (their width then limits them). */
      for (int i = 0; i < job->row.n_panels; i++)
        if (fig->font_size <= 0)
          job->row.panels[i].font_size = ROW_EXPORT_FONT_PT;
      job->width_pt = fig->width_pt > 0 ? fig->width_pt : ROW_EXPORT_WIDTH_PT;
      job->height_pt = fig->height_pt > 0 ? fig->height_pt : row_fitted_height (&job->row, job->width_pt);
    }
  else
    attnviz_cli_figure_size (fig, job->width_pt, job->height_pt, &job->width_pt, &job->height_pt);
  return job;
}

static void
export_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  ExportJob *job = task_data;
  GError *error = NULL;

  if (job->table_text != NULL ? g_file_set_contents (job->path, job->table_text, -1, &error)
      : attnviz_paint_to_file_full (job->path, job->kind, export_job_spec (job), job->width_pt, job->height_pt,
                                  &job->options, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_export_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  AttnvizWindow *self = ATTNVIZ_WINDOW (source);
  ExportJob *job = g_task_get_task_data (G_TASK (res));
  g_autoptr(GError) error = NULL;

  if (g_task_propagate_boolean (G_TASK (res), &error))
    {
      g_autofree char *base = g_path_get_basename (job->path);
      g_autofree char *message = g_strdup_printf ("Exported “%s”", base);
      _attnviz_window_show_toast (self, message);
    }
  else
    {
      g_autofree char *message = g_strdup_printf ("Could not export the figure: %s", error->message);
      _attnviz_window_show_error (self, message);
    }
  g_signal_emit (self, _attnviz_window_signals[EXPORTED], 0, job->path, error);
}

void
attnviz_window_export (AttnvizWindow *self, const char *path)
{
  g_auto(AttnvizCliFigure) fig = { 0 };

  attnviz_export_dialog_get_session_figure (&fig);
  attnviz_window_export_figure (self, path, &fig);
}

void
attnviz_window_export_figure (AttnvizWindow *self, const char *path, const AttnvizCliFigure *fig)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  AttnvizCliFigure defaults = { .vmin = NAN, .vmax = NAN };
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = g_task_new (self, NULL, on_export_done, NULL);
  g_task_set_source_tag (task, attnviz_window_export);
  ExportJob *job;
  if (g_strcmp0 (adw_view_stack_get_visible_child_name (self->view_stack), "heads") == 0)
    {
      /* The head table is a table: CSV or JSON, as `attnviz heads` writes it. */
      g_autofree char *text = _attnviz_window_heads_to_text (self, path, &error);
      job = NULL;
      if (text != NULL)
        {
          job = g_new0 (ExportJob, 1);
          job->path = g_strdup (path);
          job->table_text = g_steal_pointer (&text);
        }
    }
  else
    job = export_job_new (self, path, fig ? fig : &defaults, &error);
  if (job == NULL)
    {
      /* Reported the same way as a failed write. */
      ExportJob *empty = g_new0 (ExportJob, 1);
      empty->path = g_strdup (path);
      g_task_set_task_data (task, empty, (GDestroyNotify) export_job_free);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_set_task_data (task, job, (GDestroyNotify) export_job_free);
  g_task_run_in_thread (task, export_thread);
}

static char *
export_suggested_name (AttnvizWindow *self)
{
  const char *view = adw_view_stack_get_visible_child_name (self->view_stack);
  const char *what = attnviz_view_state_get_aggregate (self->state) == ATTNVIZ_AGGREGATE_MEAN ? "mean"
                   : attnviz_view_state_get_aggregate (self->state) == ATTNVIZ_AGGREGATE_MAX ? "max" : NULL;

  /* An encoder-decoder's attention and a checkpoint's step in the name. */
  int step = attnviz_view_state_get_result (self->state) ? attnviz_result_get_step (attnviz_view_state_get_result (self->state)) : -1;
  g_autofree char *suffix = step >= 0 ? g_strdup_printf ("-step%d", step) : g_strdup ("");
  const char *kind = attnviz_view_state_get_result (self->state) && attnviz_result_is_seq2seq (attnviz_view_state_get_result (self->state))
                     ? (attnviz_view_state_get_attention (self->state) == ATTNVIZ_ATTENTION_CROSS ? "cross-"
                        : attnviz_view_state_get_attention (self->state) == ATTNVIZ_ATTENTION_ENCODER ? "encoder-" : "decoder-")
                     : "";

  if (g_strcmp0 (view, "grid") == 0)
    return g_strdup_printf ("attention-%sgrid%s.png", kind, suffix);
  if (g_strcmp0 (view, "changes") == 0)
    return g_strdup ("attention-changes.png");
  if (g_strcmp0 (view, "compare") == 0)
    view = self->compare_mode == ATTNVIZ_COMPARE_DIFFERENCE ? "difference" : "compare";
  if (what != NULL)
    return g_strdup_printf ("attention-%s%s-layer%d-%s%s.png", kind, view, attnviz_view_state_get_layer (self->state), what, suffix);
  return g_strdup_printf ("attention-%s%s-layer%d-head%d%s.png", kind, view, attnviz_view_state_get_layer (self->state), attnviz_view_state_get_head (self->state), suffix);
}

void
_attnviz_window_show_export_dialog (AttnvizWindow *self)
{
  if (attnviz_view_state_get_result (self->state) == NULL && !_attnviz_window_showing_comparison (self))
    return;
  if (g_strcmp0 (adw_view_stack_get_visible_child_name (self->view_stack), "heads") == 0)
    {
      _attnviz_window_show_heads_export_dialog (self);
      return;
    }

  g_autofree char *name = export_suggested_name (self);
  AttnvizExportDialog *dialog = attnviz_export_dialog_new (self, name);
  gtk_window_present (GTK_WINDOW (dialog));
}
