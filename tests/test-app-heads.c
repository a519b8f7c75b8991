/* test-app-heads.c: the Heads page, driven through the real window
 *
 * Issue 12 in the app: the run's per-head measures as a table (one row
 * per head, sortable, filtered by layer), a row that opens its head, the
 * costly measures in a job with progress and Cancel, and the table
 * exported as `attnviz heads` writes it.  On the built-in induction model
 * (2 layers, 4 heads) and stories260K (5 layers, 8 heads).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-head-table.h"
#include "attnviz-heads-job.h"
#include "attnviz-run-result.h"
#include "attnviz-test-util.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-test-window-util.h"
#include "attnviz-window-private.h"

#define INDUCTION_TEXT "k3x9fq2mwk3x9fq2mw"
#define STORIES_TEXT "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."

static char *stories;
static char *induction;

typedef struct {
  AttnvizWindow *window;
  AttnvizHeadTable *table;
  AttnvizTestWatch w;
  int progress_reports;
  double last_progress;
  gboolean progress_went_back;
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  memset (f, 0, sizeof *f);
  f->window = g_object_ref (attnviz_window_new (NULL));
  f->table = ATTNVIZ_HEAD_TABLE (attnviz_window_get_view (f->window, "heads"));
  g_signal_connect (f->window, "run-finished", G_CALLBACK (attnviz_test_on_run_finished), &f->w);
  g_signal_connect (f->window, "exported", G_CALLBACK (attnviz_test_on_exported), &f->w);
  f->dir = g_dir_make_tmp ("attnviz-heads-XXXXXX", NULL);
  gtk_window_present (GTK_WINDOW (f->window));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_assert_finalize_object (f->window);
  g_clear_error (&f->w.export_error);
  attnviz_test_remove_tree (f->dir);
  g_free (f->dir);
}

static gboolean
open_with (Fixture *f, const char *path, const char *text)
{
  int before = f->w.finished;
  attnviz_window_set_text (f->window, text);
  attnviz_window_open (f->window, path);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  g_assert_cmpint (f->w.finished, >, before);
  return f->w.ok;
}

static void
show_heads (Fixture *f)
{
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "view", g_variant_new_string ("heads"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (f->window->view_stack), ==, "heads");
}

/* The measures the run's result carries: the engine's table. */
static const AttnvizHeadMeasures *
engine_table (Fixture *f)
{
  const AttnvizHeadMeasures *m = attnviz_run_result_measures_of (attnviz_window_get_run (f->window));
  g_assert_nonnull (m);
  return m;
}

static void
test_the_table_has_a_row_per_head (Fixture *f, gconstpointer data)
{
  g_assert_cmpuint (attnviz_head_table_get_n_rows (f->table), ==, 0);
  g_assert_true (open_with (f, induction, INDUCTION_TEXT));
  show_heads (f);
  const AttnvizHeadMeasures *m = engine_table (f);
  g_assert_cmpint (m->n_layer, ==, 2);
  g_assert_cmpint (m->n_head, ==, 4);
  g_assert_cmpuint (attnviz_head_table_get_n_rows (f->table), ==, 2 * 4);

  /* Layer by layer until sorted, every measure the run has as a column,
   * the costly ones not yet. */
  for (guint i = 0; i < 8; i++)
    {
      int layer, head;
      attnviz_head_table_get_row (f->table, i, &layer, &head);
      g_assert_cmpint (layer * 4 + head, ==, i);
      for (int c = 0; c < ATTNVIZ_N_MEASURES; c++)
        {
          const char *name = attnviz_measure_get_name (c);
          GtkColumnViewColumn *column = attnviz_head_table_get_column (f->table, name);
          /* offset-0 and offset-1 are self and prev again: shown once */
          gboolean repeats = c == ATTNVIZ_MEASURE_OFFSET_0 || c == ATTNVIZ_MEASURE_OFFSET_1;
          if (repeats)
            g_assert_cmpfloat (attnviz_head_measures_at (m, layer, head)[c], ==,
                               attnviz_head_measures_at (m, layer, head)[c == ATTNVIZ_MEASURE_OFFSET_0
                                                                          ? ATTNVIZ_MEASURE_SELF : ATTNVIZ_MEASURE_PREV]);
          g_assert_cmpint (gtk_column_view_column_get_visible (column), ==, m->has[c] && !repeats);
          double v = attnviz_head_table_get_value (f->table, i, name);
          double want = attnviz_head_measures_at (m, layer, head)[c];
          g_assert_true ((isnan (v) && isnan (want)) || v == want);
        }
    }
  g_assert_true (m->has[ATTNVIZ_MEASURE_ENTROPY] && m->has[ATTNVIZ_MEASURE_INDUCTION]
                 && m->has[ATTNVIZ_MEASURE_SINK_PUNCT]);
  g_assert_false (m->has[ATTNVIZ_MEASURE_IMPORTANCE]);
  g_assert_false (gtk_column_view_column_get_visible (attnviz_head_table_get_column (f->table, "probe-induction")));
}

/* Sorting by COLUMN largest first orders the rows as `attnviz heads
 * --sort` does; smallest first, the other way round. */
static void
check_sorted_by (Fixture *f, const AttnvizHeadMeasures *m, AttnvizMeasure measure)
{
  const char *name = attnviz_measure_get_name (measure);
  GtkColumnView *view = attnviz_head_table_get_column_view (f->table);
  int n = m->n_layer * m->n_head;
  g_autofree int *order = g_new (int, n);

  attnviz_head_measures_sort (m, measure, order);
  gtk_column_view_sort_by_column (view, attnviz_head_table_get_column (f->table, name), GTK_SORT_DESCENDING);
  g_assert_cmpuint (attnviz_head_table_get_n_rows (f->table), ==, n);
  for (int i = 0; i < n; i++)
    {
      int layer, head;
      attnviz_head_table_get_row (f->table, i, &layer, &head);
      if (layer * m->n_head + head != order[i])
        g_error ("sorted by %s, row %d is L%dH%d, the engine's is head %d", name, i, layer, head, order[i]);
    }
  gtk_column_view_sort_by_column (view, attnviz_head_table_get_column (f->table, name), GTK_SORT_ASCENDING);
  for (int i = 1; i < n; i++)
    g_assert_cmpfloat (attnviz_head_table_get_value (f->table, i - 1, name), <=,
                       attnviz_head_table_get_value (f->table, i, name));
}

static void
test_sorting_by_a_column_orders_rows_by_that_measure (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, STORIES_TEXT));
  show_heads (f);
  const AttnvizHeadMeasures *m = engine_table (f);
  static const AttnvizMeasure measures[] = {
    ATTNVIZ_MEASURE_ENTROPY, ATTNVIZ_MEASURE_DISTANCE, ATTNVIZ_MEASURE_SINK_FIRST, ATTNVIZ_MEASURE_PREV,
    ATTNVIZ_MEASURE_OFFSET_3, ATTNVIZ_MEASURE_INDUCTION,
  };
  for (guint i = 0; i < G_N_ELEMENTS (measures); i++)
    check_sorted_by (f, m, measures[i]);

  /* Layer and head sort too: back to layer order. */
  GtkColumnView *view = attnviz_head_table_get_column_view (f->table);
  gtk_column_view_sort_by_column (view, attnviz_head_table_get_column (f->table, "head"), GTK_SORT_ASCENDING);
  gtk_column_view_sort_by_column (view, attnviz_head_table_get_column (f->table, "layer"), GTK_SORT_ASCENDING);
  for (guint i = 0; i < attnviz_head_table_get_n_rows (f->table); i++)
    {
      int layer, head;
      attnviz_head_table_get_row (f->table, i, &layer, &head);
      g_assert_cmpint (layer * 8 + head, ==, i);
    }
}

static void
test_the_layer_filter_leaves_one_layers_heads (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, STORIES_TEXT));
  show_heads (f);
  gtk_column_view_sort_by_column (attnviz_head_table_get_column_view (f->table),
                                  attnviz_head_table_get_column (f->table, "entropy"), GTK_SORT_DESCENDING);
  for (int l = 0; l < 5; l++)
    {
      attnviz_head_table_set_layer_filter (f->table, l);
      g_assert_cmpint (attnviz_head_table_get_layer_filter (f->table), ==, l);
      g_assert_cmpuint (attnviz_head_table_get_n_rows (f->table), ==, 8);
      for (guint i = 0; i < 8; i++)
        {
          int layer, head;
          attnviz_head_table_get_row (f->table, i, &layer, &head);
          g_assert_cmpint (layer, ==, l);
          /* still sorted */
          if (i > 0)
            g_assert_cmpfloat (attnviz_head_table_get_value (f->table, i - 1, "entropy"), >=,
                               attnviz_head_table_get_value (f->table, i, "entropy"));
        }
    }
  attnviz_head_table_set_layer_filter (f->table, -1);
  g_assert_cmpuint (attnviz_head_table_get_n_rows (f->table), ==, 40);

  /* A smaller model: the dropdown has its layers, the filter goes back to all. */
  attnviz_head_table_set_layer_filter (f->table, 4);
  g_assert_true (open_with (f, induction, INDUCTION_TEXT));
  g_assert_cmpint (attnviz_head_table_get_layer_filter (f->table), ==, -1);
  g_assert_cmpuint (attnviz_head_table_get_n_rows (f->table), ==, 8);
  attnviz_head_table_set_layer_filter (f->table, 4);
  g_assert_cmpint (attnviz_head_table_get_layer_filter (f->table), ==, -1);
}

static void
test_activating_a_row_opens_its_head (Fixture *f, gconstpointer data)
{
  AttnvizViewState *state = attnviz_window_get_state (f->window);

  g_assert_true (open_with (f, induction, INDUCTION_TEXT));
  attnviz_view_state_set_aggregate (state, ATTNVIZ_AGGREGATE_MEAN);
  show_heads (f);
  /* The strongest induction head (layer 1 of this model) comes first. */
  gtk_column_view_sort_by_column (attnviz_head_table_get_column_view (f->table),
                                  attnviz_head_table_get_column (f->table, "induction"), GTK_SORT_DESCENDING);
  int layer, head;
  attnviz_head_table_get_row (f->table, 0, &layer, &head);
  g_assert_cmpint (layer, ==, 1);
  /* A double click or Enter on the row */
  g_signal_emit_by_name (attnviz_head_table_get_column_view (f->table), "activate", 0);
  g_assert_cmpint (attnviz_view_state_get_layer (state), ==, layer);
  g_assert_cmpint (attnviz_view_state_get_head (state), ==, head);
  g_assert_cmpint (attnviz_view_state_get_aggregate (state), ==, ATTNVIZ_AGGREGATE_HEAD);
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (f->window->view_stack), ==, "heatmap");

  /* Alt+6 (win.view::heads) comes back to the table, its head selected. */
  show_heads (f);
  GtkSelectionModel *selection = gtk_column_view_get_model (attnviz_head_table_get_column_view (f->table));
  g_assert_true (gtk_selection_model_is_selected (selection, 0));
}

static void
on_progress (AttnvizHeadTable *table, GParamSpec *pspec, Fixture *f)
{
  double p = attnviz_head_table_get_progress (table);
  if (!attnviz_head_table_get_computing (table))
    return;
  f->progress_reports++;
  if (p < f->last_progress)
    f->progress_went_back = TRUE;
  f->last_progress = p;
}

/* The CLI's output for ARGS (after `heads MODEL --text TEXT -q`). */
static char *
cli_heads (const char *model, const char *text, const char *first, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (char *) "heads");
  g_ptr_array_add (args, (char *) model);
  g_ptr_array_add (args, (char *) "--text");
  g_ptr_array_add (args, (char *) text);
  g_ptr_array_add (args, (char *) "-q");
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnvizv (&r, (const char *const *) args->pdata);
  g_assert_cmpint (r.status, ==, 0);
  return g_steal_pointer (&r.out);
}

static char *
export_to (Fixture *f, const char *name, gboolean *ok)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  int before = f->w.exported;
  attnviz_window_export (f->window, path);
  attnviz_test_wait_until (f->w.exported > before, 30);
  g_assert_cmpint (f->w.exported, ==, before + 1);
  *ok = f->w.export_error == NULL;
  char *contents = NULL;
  if (*ok)
    g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  return contents;
}

static void
test_the_costly_measures_run_with_progress_and_add_columns (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, STORIES_TEXT));
  show_heads (f);
  g_signal_connect (f->table, "notify::progress", G_CALLBACK (on_progress), f);
  g_assert_false (attnviz_head_table_get_complete (f->table));

  gtk_widget_activate_action (GTK_WIDGET (f->table), "heads.compute", NULL);
  g_assert_true (attnviz_head_table_get_computing (f->table));
  /* The window goes on: stepping heads works while the job runs. */
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "next-head", NULL);
  g_assert_cmpint (attnviz_view_state_get_head (attnviz_window_get_state (f->window)), ==, 1);
  attnviz_test_wait_until (!attnviz_head_table_get_computing (f->table), 240);
  g_assert_false (attnviz_head_table_get_computing (f->table));
  g_assert_null (attnviz_window_get_error (f->window));
  g_assert_true (attnviz_head_table_get_complete (f->table));
  /* One report per head at least, never going back. */
  g_assert_cmpint (f->progress_reports, >=, 40);
  g_assert_false (f->progress_went_back);
  g_assert_cmpfloat (f->last_progress, ==, 1.0);

  static const char *const added[] = {
    "pos-none", "pos-shuffled", "importance", "probe-previous-token", "probe-duplicate-token", "probe-induction",
  };
  for (guint i = 0; i < G_N_ELEMENTS (added); i++)
    {
      g_assert_true (gtk_column_view_column_get_visible (attnviz_head_table_get_column (f->table, added[i])));
      for (guint r = 0; r < 40; r++)
        g_assert_false (isnan (attnviz_head_table_get_value (f->table, r, added[i])));
    }

  /* The table, written, is `attnviz heads --importance`'s. */
  gboolean ok;
  g_autofree char *csv = export_to (f, "heads.csv", &ok);
  g_assert_true (ok);
  g_autofree char *want = cli_heads (stories, STORIES_TEXT, "--importance", "--csv", NULL);
  g_assert_cmpstr (csv, ==, want);

  /* A new run starts without them. */
  int before = f->w.finished;
  attnviz_window_set_text (f->window, STORIES_TEXT " She had a dog.");
  attnviz_window_run (f->window);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  g_assert_false (attnviz_head_table_get_complete (f->table));
  g_assert_false (gtk_column_view_column_get_visible (attnviz_head_table_get_column (f->table, "importance")));
}

static void
on_job_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GError **error = user_data;
  AttnvizHeadMeasures *table = NULL, *probe = NULL;
  g_assert_false (attnviz_heads_job_finish (res, &table, &probe, NULL, error));
  g_assert_null (table);
  g_assert_null (probe);
}

static void
test_the_costly_measures_can_be_cancelled (Fixture *f, gconstpointer data)
{
  g_autofree char *text = g_strjoin (" ", STORIES_TEXT, STORIES_TEXT, STORIES_TEXT, STORIES_TEXT, NULL);
  g_assert_true (open_with (f, stories, text));
  show_heads (f);
  gtk_widget_activate_action (GTK_WIDGET (f->table), "heads.compute", NULL);
  g_assert_true (attnviz_head_table_get_computing (f->table));

  /* Cancel: the bar goes at once; what the job did is dropped, no error,
   * no columns, and the button is back. */
  gtk_widget_activate_action (GTK_WIDGET (f->table), "heads.cancel", NULL);
  g_assert_false (attnviz_head_table_get_computing (f->table));
  g_assert_cmpfloat (attnviz_head_table_get_progress (f->table), ==, 0.0);
  attnviz_test_wait_until (FALSE, 1);
  g_assert_null (attnviz_window_get_error (f->window));
  g_assert_false (attnviz_head_table_get_complete (f->table));
  g_assert_false (gtk_column_view_column_get_visible (attnviz_head_table_get_column (f->table, "importance")));
  gtk_widget_activate_action (GTK_WIDGET (f->table), "heads.compute", NULL);
  g_assert_true (attnviz_head_table_get_computing (f->table));

  /* A new run stops it too. */
  int before = f->w.finished;
  attnviz_window_run (f->window);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  g_assert_false (attnviz_head_table_get_computing (f->table));
  g_assert_false (attnviz_head_table_get_complete (f->table));

  /* The worker itself stops: its 43 runs end in a cancellation. */
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  attnviz_heads_job_async (f->window->model, NULL, attnviz_window_get_run (f->window), cancellable, NULL, NULL, NULL,
                           on_job_done, &error);
  g_cancellable_cancel (cancellable);
  attnviz_test_wait_until (error != NULL, 120);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* The toplevel AdwMessageDialog, or NULL. */
static GtkWidget *
message_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) w = g_list_model_get_item (toplevels, i);
      if (ADW_IS_MESSAGE_DIALOG (w) && gtk_widget_get_visible (GTK_WIDGET (w)))
        return GTK_WIDGET (w);
    }
  return NULL;
}

/* Past 1024 tokens the costly measures ask first: they run the model once
 * a head more at that length. */
static void
test_the_costly_measures_ask_first_on_a_long_run (Fixture *f, gconstpointer data)
{
  GString *text = g_string_new (NULL);
  while (text->len < 6000)
    g_string_append (text, STORIES_TEXT " ");
  g_assert_true (open_with (f, stories, text->str));
  g_string_free (text, TRUE);
  g_assert_cmpint (attnviz_result_get_n_tokens (attnviz_window_get_run (f->window)), >, 1024);
  show_heads (f);
  gtk_widget_activate_action (GTK_WIDGET (f->table), "heads.compute", NULL);
  g_assert_false (attnviz_head_table_get_computing (f->table));
  GtkWidget *dialog = message_dialog ();
  g_assert_nonnull (dialog);
  g_assert_nonnull (strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), "43 more times"));
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_assert_false (attnviz_head_table_get_computing (f->table));

  gtk_widget_activate_action (GTK_WIDGET (f->table), "heads.compute", NULL);
  attnviz_test_wait_until (message_dialog () != NULL && message_dialog () != dialog, 5);
  dialog = message_dialog ();
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "compute");
  g_assert_true (attnviz_head_table_get_computing (f->table));
  gtk_widget_activate_action (GTK_WIDGET (f->table), "heads.cancel", NULL);
  g_assert_false (attnviz_head_table_get_computing (f->table));
}

static void
test_export_writes_the_engines_csv (Fixture *f, gconstpointer data)
{
  gboolean ok;

  g_assert_true (open_with (f, induction, INDUCTION_TEXT));
  show_heads (f);
  /* Sorted and filtered on screen; the file has every head, layer by layer. */
  gtk_column_view_sort_by_column (attnviz_head_table_get_column_view (f->table),
                                  attnviz_head_table_get_column (f->table, "entropy"), GTK_SORT_DESCENDING);
  attnviz_head_table_set_layer_filter (f->table, 1);
  g_autofree char *csv = export_to (f, "heads.csv", &ok);
  g_assert_true (ok);
  g_autofree char *engine = attnviz_head_measures_to_csv (engine_table (f), NULL);
  g_assert_cmpstr (csv, ==, engine);
  g_autofree char *cli = cli_heads (induction, INDUCTION_TEXT, "--no-positional", "--csv", NULL);
  g_assert_cmpstr (csv, ==, cli);

  g_autofree char *json = export_to (f, "heads.JSON", &ok);
  g_assert_true (ok);
  g_autofree char *cli_json = cli_heads (induction, INDUCTION_TEXT, "--no-positional", "--json", NULL);
  g_assert_cmpstr (json, ==, cli_json);

  /* A figure's extension on this page says what the page writes. */
  g_autofree char *png = export_to (f, "heads.png", &ok);
  g_assert_false (ok);
  g_assert_nonnull (strstr (f->w.export_error->message, ".csv"));
}

static void
test_an_encoder_decoder_run_says_it_has_no_table (Fixture *f, gconstpointer data)
{
  g_autofree char *dates = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models", "dates-seq2seq",
                                             NULL);
  g_assert_true (open_with (f, dates, "saturday 21 november 2026"));
  show_heads (f);
  g_assert_null (attnviz_head_table_get_measures (f->table));
  g_assert_cmpuint (attnviz_head_table_get_n_rows (f->table), ==, 0);
  /* Nothing to compute, nothing to write. */
  gtk_widget_activate_action (GTK_WIDGET (f->table), "heads.compute", NULL);
  g_assert_false (attnviz_head_table_get_computing (f->table));
  gboolean ok;
  g_autofree char *csv = export_to (f, "heads.csv", &ok);
  g_assert_false (ok);

  /* A decoder-only model's run after it has its table again. */
  g_assert_true (open_with (f, induction, INDUCTION_TEXT));
  g_assert_cmpuint (attnviz_head_table_get_n_rows (f->table), ==, 8);
}

/* A hybrid, sparse model trained by attnviz: the sidebar says how its
 * heads score and what its mask is, and the table's score column which
 * heads are additive (every head of layer 0 here), the others scaled dot. */
static void
test_a_hybrid_sparse_model_says_so (Fixture *f, gconstpointer data)
{
  g_autofree char *model = g_build_filename (f->dir, "hybrid", NULL);
  g_auto(AttnvizTestRun) train = { 0 };
  attnviz_test_run_attnviz (&train, "train", "--task", "reverse", "--arch", "decoder", "--d-model", "16", "--heads", "2",
                            "--score", "hybrid:additive=0", "--mask", "window:3+global:1", "--steps", "2", "--batch",
                            "2", "--eval-examples", "2", "-q", "-o", model, NULL);
  g_assert_cmpint (train.status, ==, 0);
  g_assert_true (open_with (f, model, "abcdef"));
  const char *details = gtk_label_get_text (f->window->model_details);
  g_test_message ("details: %s", details);
  g_assert_nonnull (strstr (details, " · 2 layers · 2 heads · context "));
  g_assert_true (g_str_has_suffix (details, " · hybrid:additive=0 scoring · mask window:3+global:1"));

  show_heads (f);
  g_assert_true (gtk_column_view_column_get_visible (attnviz_head_table_get_column (f->table, "score")));
  g_assert_cmpuint (attnviz_head_table_get_n_rows (f->table), ==, 2 * 2);
  for (guint i = 0; i < 4; i++)
    {
      int layer, head;
      attnviz_head_table_get_row (f->table, i, &layer, &head);
      g_assert_cmpint (attnviz_head_table_get_value (f->table, i, "score") > 0, ==, layer == 0);
    }

  /* the built-in models score as usual: nothing added */
  g_assert_true (open_with (f, induction, INDUCTION_TEXT));
  g_assert_null (strstr (gtk_label_get_text (f->window->model_details), "scoring"));
  g_assert_null (strstr (gtk_label_get_text (f->window->model_details), "mask"));
}

/* An encoder-decoder hybrid (train's own recipe for reverse): no
 * measures, but the table still lists every head with its score, and no
 * costly measures are offered. */
static void
test_an_encoder_decoder_hybrid_lists_each_heads_score (Fixture *f, gconstpointer data)
{
  g_autofree char *model = g_build_filename (f->dir, "hybrid-seq2seq", NULL);
  g_auto(AttnvizTestRun) train = { 0 };
  attnviz_test_run_attnviz (&train, "train", "--task", "reverse", "--d-model", "16", "--heads", "2", "--score",
                            "hybrid:heads=1", "--steps", "2", "--batch", "2", "--eval-examples", "2", "-q", "-o", model,
                            NULL);
  g_assert_cmpint (train.status, ==, 0);
  g_assert_true (open_with (f, model, "abcdef"));
  show_heads (f);
  g_assert_true (gtk_column_view_column_get_visible (attnviz_head_table_get_column (f->table, "score")));
  const AttnvizRecording *rec = attnviz_result_get_recording (attnviz_window_get_run (f->window));
  int n_layer = MAX (rec->n_layer, rec->n_enc_layer);
  g_assert_cmpuint (attnviz_head_table_get_n_rows (f->table), ==, (guint) n_layer * 2);
  for (guint i = 0; i < (guint) n_layer * 2; i++)
    {
      int layer, head;
      attnviz_head_table_get_row (f->table, i, &layer, &head);
      g_assert_cmpint (attnviz_head_table_get_value (f->table, i, "score") > 0, ==, head == 0);
    }
  g_assert_false (gtk_column_view_column_get_visible (attnviz_head_table_get_column (f->table, "entropy")));
  /* no measures to compute or write */
  g_assert_null (attnviz_head_table_get_measures (f->table));
  gtk_widget_activate_action (GTK_WIDGET (f->table), "heads.compute", NULL);
  g_assert_false (attnviz_head_table_get_computing (f->table));
}

int
main (int argc, char **argv)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-heads-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  const char *shared = g_getenv ("ATTNVIZ_SHARED_DIR");
  stories = g_build_filename (shared ? shared : "../shared", "data", "models", "stories260K", "hf", NULL);
  induction = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models", "induction-decoder", NULL);
  if (!g_file_test (stories, G_FILE_TEST_IS_DIR))
    {
      printf ("1..0 # SKIP no stories260K at %s\n", stories);
      return 0;
    }

#define ADD(path, func) g_test_add ("/ui/heads/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("the-table-has-a-row-per-head-with-the-runs-measures", test_the_table_has_a_row_per_head);
  ADD ("sorting-by-a-column-orders-rows-by-that-measure-as-the-engine-does",
       test_sorting_by_a_column_orders_rows_by_that_measure);
  ADD ("the-layer-filter-leaves-one-layers-heads", test_the_layer_filter_leaves_one_layers_heads);
  ADD ("activating-a-row-opens-its-head-in-the-heatmap", test_activating_a_row_opens_its_head);
  ADD ("the-costly-measures-run-with-progress-and-add-their-columns",
       test_the_costly_measures_run_with_progress_and_add_columns);
  ADD ("the-costly-measures-can-be-cancelled", test_the_costly_measures_can_be_cancelled);
  ADD ("the-costly-measures-ask-first-on-a-long-run", test_the_costly_measures_ask_first_on_a_long_run);
  ADD ("export-writes-the-csv-and-json-attnviz-heads-writes", test_export_writes_the_engines_csv);
  ADD ("an-encoder-decoder-run-says-it-has-no-table", test_an_encoder_decoder_run_says_it_has_no_table);
  ADD ("a-hybrid-sparse-model-says-so-in-the-sidebar-and-the-score-column", test_a_hybrid_sparse_model_says_so);
  ADD ("an-encoder-decoder-hybrid-lists-each-heads-score", test_an_encoder_decoder_hybrid_lists_each_heads_score);

  int status = g_test_run ();
  g_autofree char *recent = g_build_filename (data_home, "attnviz", "recent", NULL);
  g_autofree char *recent_dir = g_path_get_dirname (recent);
  g_unlink (recent);
  g_rmdir (recent_dir);
  g_rmdir (data_home);
  return status;
}
