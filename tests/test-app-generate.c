/* test-app-generate.c: Continue, the Steps page and the predictions, in the window
 *
 * Issue 13 driven through the real window on stories260K (5 layers, 8
 * heads): Continue writes N tokens into the strip, marked, and every view
 * covers the whole sequence; the tokens are the engine's own decoding;
 * cancel stops it; the step slider shows each written token's rows (equal
 * to the engine's matrices); the token tooltip and the predictions strip
 * show the recording's top-k and loss, which equal the logits' own.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-export-dialog.h"
#include "attnviz-figure-view.h"
#include "attnviz-forward.h"
#include "attnviz-generate.h"
#include "attnviz-lines-view.h"
#include "attnviz-predictions.h"
#include "attnviz-step-panel.h"
#include "attnviz-test-util.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-test-window-util.h"
#include "attnviz-token-strip.h"
#include "attnviz-window-private.h"

#define TEXT "Once upon a time, there was a little girl named Lily."

static char *stories;
static char *dates;
static char *induction;

typedef struct {
  AttnvizWindow *window;
  AttnvizTestWatch w;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  memset (f, 0, sizeof *f);
  f->window = g_object_ref (attnviz_window_new (NULL));
  g_signal_connect (f->window, "run-finished", G_CALLBACK (attnviz_test_on_run_finished), &f->w);
  gtk_window_present (GTK_WINDOW (f->window));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_assert_finalize_object (f->window);
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

/* Continue with N tokens (TEMPERATURE 0: greedy) and waits for it. */
static gboolean
continue_with (Fixture *f, int n, double temperature, guint32 seed)
{
  int before = f->w.finished;
  attnviz_window_set_continue_options (f->window, n, temperature, seed);
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "continue", NULL);
  g_assert_true (attnviz_window_get_busy (f->window));
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  g_assert_cmpint (f->w.finished, >, before);
  return f->w.ok;
}

static const AttnvizModel *
window_model (Fixture *f)
{
  return attnviz_loaded_model_get_model (f->window->model);
}

static char *
box_text (Fixture *f)
{
  return _attnviz_window_get_text (f->window);
}

/* What the engine's own decoder writes after the first N_PROMPT ids of
 * REC, as the window asks it (its stop tokens). */
static GArray *
engine_continuation (const AttnvizModel *model, const gint32 *prompt, int n_prompt, int n, double temperature,
                     guint32 seed)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_array_append_vals (ids, prompt, n_prompt);
  AttnvizGenerateOptions go = {
    .max_new = n,
    .temperature = temperature,
    .seed = seed,
    .bos_id = -1,
    .eos_id = model->config.eos_id >= 0 ? model->config.eos_id : attnviz_tokenizer_get_eos_id (model->tokenizer),
    .stop_id = attnviz_tokenizer_get_bos_id (model->tokenizer),
  };
  g_assert_true (attnviz_generate (model, ids, &go, NULL));
  return ids;
}

static void
test_continue_writes_n_tokens_marked_and_every_view_covers_them (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, TEXT));
  AttnvizResult *prompt_run = attnviz_window_get_run (f->window);
  int T0 = attnviz_result_get_n_tokens (prompt_run);
  g_assert_cmpint (attnviz_result_get_first_generated (prompt_run), ==, -1);
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), "continue"));

  g_assert_true (continue_with (f, 8, 0.0, 42));
  AttnvizResult *run = attnviz_window_get_run (f->window);
  const AttnvizRecording *rec = attnviz_result_get_recording (run);
  int T = attnviz_result_get_n_tokens (run);
  g_assert_cmpint (T, ==, T0 + 8);
  g_assert_cmpint (attnviz_result_get_first_generated (run), ==, T0);

  /* The tokens written are the engine's greedy decoding of the prompt. */
  g_autoptr(GArray) expected = engine_continuation (window_model (f), rec->ids, T0, 8, 0.0, 0);
  g_assert_cmpint (expected->len, ==, T);
  g_assert_cmpmem (expected->data, T * sizeof (gint32), rec->ids, T * sizeof (gint32));

  /* The strip marks exactly the written ones. */
  AttnvizTokenStrip *strip = f->window->token_strip;
  g_assert_true (attnviz_token_strip_get_result (strip) == run);
  for (int t = 0; t < T; t++)
    g_assert_cmpint (attnviz_token_strip_get_chip_generated (strip, t), ==, t >= T0);
  g_autofree char *said = attnviz_token_strip_describe_token (strip, T0);
  g_assert_nonnull (strstr (said, "written by the model"));

  /* Every view shows the whole sequence. */
  const char *views[] = { "grid", "heatmap", "lines", "qk" };
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    {
      AttnvizResult *shown = attnviz_figure_view_get_result (ATTNVIZ_FIGURE_VIEW (attnviz_window_get_view (f->window, views[i])));
      g_assert_true (shown == run);
    }
  g_assert_true (attnviz_figure_view_get_result (ATTNVIZ_FIGURE_VIEW (f->window->step_lines)) == run);
  /* ... and its attention is the engine's over prompt and written tokens. */
  AttnvizRunOptions options = { .skip_logits = TRUE };
  g_autoptr(AttnvizRecording) fresh = attnviz_forward (window_model (f), rec->ids, T, &options, NULL);
  g_assert_nonnull (fresh);
  for (int l = 0; l < fresh->n_layer; l++)
    for (int h = 0; h < fresh->n_head; h++)
      {
        g_autofree char *label = g_strdup_printf ("layer %d head %d", l, h);
        g_assert_true (attnviz_test_check_tensor (attnviz_recording_get_attention (fresh, l, h),
                                                  attnviz_recording_get_attention (rec, l, h), (gsize) T * T, 0.0f,
                                                  label));
      }

  /* The box holds the text and what was written, tagged; one Undo takes it back. */
  g_autofree char *text = box_text (f);
  /* What llama2.c's own greedy decoding of this model writes from BOS
   * goes through this text: the box is a beginning of it. */
  g_autofree char *reference_path = g_build_filename (stories, "..", "greedy-200.txt", NULL);
  g_autofree char *reference = NULL;
  g_assert_true (g_file_get_contents (reference_path, &reference, NULL, NULL));
  g_assert_true (g_str_has_prefix (reference, text));
  g_assert_cmpstr (text, ==, attnviz_result_get_text (run));
  g_assert_true (g_str_has_prefix (text, TEXT));
  g_assert_cmpuint (strlen (text), >, strlen (TEXT));
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (f->window->text_view);
  GtkTextIter at;
  gtk_text_buffer_get_iter_at_offset (buffer, &at, g_utf8_strlen (TEXT, -1));
  g_assert_true (gtk_text_iter_has_tag (&at, f->window->generated_tag));
  gtk_text_buffer_get_iter_at_offset (buffer, &at, 0);
  g_assert_false (gtk_text_iter_has_tag (&at, f->window->generated_tag));
  gtk_text_buffer_undo (buffer);
  g_autofree char *undone = box_text (f);
  g_assert_cmpstr (undone, ==, TEXT);
  gtk_text_buffer_redo (buffer);
  g_autofree char *redone = box_text (f);
  g_assert_cmpstr (redone, ==, text);
}

static void
test_a_second_continue_goes_on_from_the_written_tokens (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, TEXT));
  g_assert_true (continue_with (f, 5, 0.0, 42));
  AttnvizResult *first = g_object_ref (attnviz_window_get_run (f->window));
  int T1 = attnviz_result_get_n_tokens (first);

  g_assert_true (continue_with (f, 6, 0.0, 42));
  AttnvizResult *second = attnviz_window_get_run (f->window);
  const AttnvizRecording *rec = attnviz_result_get_recording (second);
  g_assert_cmpint (attnviz_result_get_n_tokens (second), ==, T1 + 6);
  /* The first run's tokens exactly (not its text read again), then six more. */
  g_assert_cmpmem (attnviz_result_get_recording (first)->ids, T1 * sizeof (gint32), rec->ids, T1 * sizeof (gint32));
  g_autoptr(GArray) expected = engine_continuation (window_model (f), rec->ids, T1, 6, 0.0, 0);
  g_assert_cmpmem (expected->data, expected->len * sizeof (gint32), rec->ids, rec->T * sizeof (gint32));
  /* Every written token stays marked, both Continues', in the strip as in
   * the box: the tokens from the first written one on are the box's
   * "generated" text; the newest are selected. */
  int first_written = attnviz_result_get_first_generated (first);
  g_assert_cmpint (first_written, ==, T1 - 5);
  g_assert_cmpint (attnviz_result_get_first_generated (second), ==, first_written);
  g_assert_true (attnviz_result_is_generated (second, first_written));
  g_assert_false (attnviz_result_is_generated (second, first_written - 1));
  g_assert_cmpint (attnviz_view_state_get_selected_token (attnviz_window_get_state (f->window)), ==, T1 - 1);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (f->window->text_view);
  GtkTextTag *tag = gtk_text_tag_table_lookup (gtk_text_buffer_get_tag_table (buffer), "generated");
  g_assert_nonnull (tag);
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  if (!gtk_text_iter_has_tag (&start, tag))
    g_assert_true (gtk_text_iter_forward_to_tag_toggle (&start, tag));
  GtkTextIter tag_end = start;
  g_assert_true (gtk_text_iter_forward_to_tag_toggle (&tag_end, tag));
  g_assert_true (gtk_text_iter_equal (&tag_end, &end));
  g_autofree char *marked = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  const AttnvizToken *first_token = attnviz_result_get_token (second, first_written);
  g_assert_cmpstr (marked, ==, attnviz_result_get_text (second) + first_token->start);
  g_object_unref (first);
}

/* Undo of a Continue shows again the run it went on from, as it was
 * (not the longer run dimmed as out of date); Redo shows the longer one,
 * its written text tinted again; any other edit leaves the run dimmed. */
static void
test_undo_and_redo_of_a_continue_show_its_runs (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, TEXT));
  AttnvizResult *prompt_run = attnviz_window_get_run (f->window);
  g_assert_true (continue_with (f, 4, 0.0, 42));
  AttnvizResult *first = attnviz_window_get_run (f->window);
  g_assert_true (continue_with (f, 5, 0.0, 42));
  AttnvizResult *second = attnviz_window_get_run (f->window);
  g_assert_true (first != prompt_run && second != first);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (f->window->text_view);

  gtk_text_buffer_undo (buffer);
  g_assert_true (attnviz_window_get_run (f->window) == first);
  g_autofree char *count = g_strdup (gtk_label_get_text (f->window->token_count));
  g_assert_null (strstr (count, "last run"));
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (f->window->token_strip), "stale"));
  gtk_text_buffer_undo (buffer);
  g_assert_true (attnviz_window_get_run (f->window) == prompt_run);
  g_assert_false (adw_view_stack_page_get_visible (f->window->steps_page));

  gtk_text_buffer_redo (buffer);
  gtk_text_buffer_redo (buffer);
  g_assert_true (attnviz_window_get_run (f->window) == second);
  GtkTextIter at;
  gtk_text_buffer_get_iter_at_offset (buffer, &at, g_utf8_strlen (TEXT, -1));
  g_assert_true (gtk_text_iter_has_tag (&at, f->window->generated_tag));
  gtk_text_buffer_get_iter_at_offset (buffer, &at, 0);
  g_assert_false (gtk_text_iter_has_tag (&at, f->window->generated_tag));

  GtkTextIter end;
  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_insert (buffer, &end, " And then", -1);
  g_assert_true (attnviz_window_get_run (f->window) == second);
  g_autofree char *edited = g_strdup (gtk_label_get_text (f->window->token_count));
  g_assert_nonnull (strstr (edited, "last run"));
}

static void
test_sampling_follows_temperature_and_seed (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, TEXT));
  int T0 = attnviz_result_get_n_tokens (attnviz_window_get_run (f->window));
  g_assert_true (continue_with (f, 12, 1.0, 7));
  const AttnvizRecording *rec = attnviz_result_get_recording (attnviz_window_get_run (f->window));
  g_autoptr(GArray) expected = engine_continuation (window_model (f), rec->ids, T0, 12, 1.0, 7);
  g_assert_cmpint (expected->len, ==, rec->T);
  g_assert_cmpmem (expected->data, expected->len * sizeof (gint32), rec->ids, rec->T * sizeof (gint32));
}

/* Sampling with top-k 1 is greedy whatever the temperature; with top-p
 * 0.5 the window writes what the engine writes with the same cut and seed. */
static void
test_sampling_takes_top_k_and_top_p (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, TEXT));
  int T0 = attnviz_result_get_n_tokens (attnviz_window_get_run (f->window));
  gtk_spin_button_set_value (f->window->generate_top_k, 1);
  g_assert_true (continue_with (f, 12, 1.5, 7));
  const AttnvizRecording *rec = attnviz_result_get_recording (attnviz_window_get_run (f->window));
  g_autoptr(GArray) greedy = engine_continuation (window_model (f), rec->ids, T0, 12, 0.0, 0);
  g_assert_cmpmem (greedy->data, greedy->len * sizeof (gint32), rec->ids, rec->T * sizeof (gint32));

  g_assert_true (open_with (f, stories, TEXT));
  gtk_spin_button_set_value (f->window->generate_top_k, 0);
  gtk_spin_button_set_value (f->window->generate_top_p, 0.5);
  g_assert_true (continue_with (f, 12, 1.5, 7));
  rec = attnviz_result_get_recording (attnviz_window_get_run (f->window));
  const AttnvizModel *model = window_model (f);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_array_append_vals (ids, rec->ids, T0);
  AttnvizGenerateOptions go = {
    .max_new = 12, .temperature = 1.5, .top_p = 0.5, .seed = 7, .bos_id = -1,
    .eos_id = model->config.eos_id >= 0 ? model->config.eos_id : attnviz_tokenizer_get_eos_id (model->tokenizer),
    .stop_id = attnviz_tokenizer_get_bos_id (model->tokenizer),
  };
  g_assert_true (attnviz_generate (model, ids, &go, NULL));
  g_assert_cmpmem (ids->data, ids->len * sizeof (gint32), rec->ids, rec->T * sizeof (gint32));
}

typedef struct {
  AttnvizWindow *window;
  gboolean cancel_was_enabled;
  gboolean cancelled;
} CancelAtProgress;

/* Cancels C's window at the first progress past 1%, noting whether Cancel
 * was on then. */
static void
cancel_at_progress (GtkProgressBar *bar, GParamSpec *pspec, CancelAtProgress *c)
{
  if (c->cancelled || gtk_progress_bar_get_fraction (bar) <= 0.01 || !attnviz_window_get_busy (c->window))
    return;
  c->cancel_was_enabled = g_action_group_get_action_enabled (G_ACTION_GROUP (c->window), "cancel");
  g_action_group_activate_action (G_ACTION_GROUP (c->window), "cancel", NULL);
  c->cancelled = TRUE;
}

static void
test_cancel_stops_and_leaves_the_run_and_the_text (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, TEXT));
  AttnvizResult *before = attnviz_window_get_run (f->window);
  int finished = f->w.finished;

  /* Cancelled on its way, at its first report of progress: the cached
   * writer is fast enough to finish 400 tokens before a test polling the
   * bar looks, so the cancel rides on the report itself (the worker's
   * reports reach the window before its end does). */
  CancelAtProgress c = { f->window, FALSE, FALSE };
  gulong id = g_signal_connect (f->window->progress_bar, "notify::fraction", G_CALLBACK (cancel_at_progress), &c);
  attnviz_window_set_continue_options (f->window, 400, 0.0, 42);
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "continue", NULL);
  g_assert_true (attnviz_window_get_busy (f->window));
  attnviz_test_wait_until (c.cancelled, 60);
  g_signal_handler_disconnect (f->window->progress_bar, id);
  g_assert_true (c.cancelled);
  g_assert_true (c.cancel_was_enabled);
  g_assert_false (attnviz_window_get_busy (f->window));

  /* Nothing the worker finishes later shows. */
  gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC;
  attnviz_test_wait_until (g_get_monotonic_time () > until, 5);
  g_assert_true (attnviz_window_get_run (f->window) == before);
  g_assert_cmpint (f->w.finished, ==, finished);
  g_autofree char *text = box_text (f);
  g_assert_cmpstr (text, ==, TEXT);
  g_assert_null (attnviz_window_get_error (f->window));
}

/* The box is the user's: what they write while the model writes stays
 * as they wrote it, and the written tokens show in the strip only. */
static void
test_an_edit_made_meanwhile_is_kept (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, TEXT));
  int before = f->w.finished;
  attnviz_window_set_continue_options (f->window, 30, 0.0, 42);
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "continue", NULL);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (f->window->text_view);
  GtkTextIter end;
  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_insert (buffer, &end, " My own words.", -1);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  g_assert_true (f->w.ok);

  g_autofree char *text = box_text (f);
  g_assert_cmpstr (text, ==, TEXT " My own words.");
  AttnvizResult *run = attnviz_window_get_run (f->window);
  g_assert_true (g_str_has_prefix (attnviz_result_get_text (run), TEXT));
  g_assert_cmpint (attnviz_result_get_n_tokens (run) - attnviz_result_get_first_generated (run), ==, 30);
}

static void
test_the_step_slider_shows_each_written_tokens_rows (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, TEXT));
  g_assert_true (continue_with (f, 6, 0.0, 42));
  AttnvizResult *run = attnviz_window_get_run (f->window);
  const AttnvizRecording *rec = attnviz_result_get_recording (run);
  int T = rec->T, first = attnviz_result_get_first_generated (run);
  AttnvizViewState *state = attnviz_window_get_state (f->window);
  AttnvizStepPanel *panel = ATTNVIZ_STEP_PANEL (f->window->step_panel);

  g_assert_true (adw_view_stack_page_get_visible (f->window->steps_page));
  adw_view_stack_set_visible_child_name (f->window->view_stack, "steps");
  g_assert_cmpfloat (gtk_adjustment_get_upper (f->window->step_adjustment), ==, 6);
  for (int step = 1; step <= 6; step++)
    {
      gtk_adjustment_set_value (f->window->step_adjustment, step);
      /* the row shown is the one that wrote step's token: the token before
       * it, whose most likely next token (greedy) is the written one */
      int written = first + step - 1, query = written - 1;
      g_assert_cmpint (attnviz_view_state_get_selected_token (state), ==, query);
      g_assert_cmpint (attnviz_step_panel_get_query (panel), ==, query);
      AttnvizPrediction p;
      g_assert_true (attnviz_result_get_prediction (run, query, &p));
      g_assert_cmpint (p.ids[0], ==, rec->ids[written]);
      g_assert_cmpint (p.next_id, ==, rec->ids[written]);
      g_assert_true (attnviz_step_panel_get_ready (panel));
      for (int l = 0; l < rec->n_layer; l++)
        for (int h = 0; h < rec->n_head; h++)
          {
            int n = 0;
            const float *row = attnviz_step_panel_get_row (panel, l, h, &n);
            g_assert_nonnull (row);
            g_assert_cmpint (n, ==, T);
            const float *matrix = attnviz_recording_get_attention (rec, l, h);
            g_assert_cmpmem (row, T * sizeof (float), matrix + (gsize) query * T, T * sizeof (float));
          }
      /* The lines view highlights the same query, from the same head's matrix. */
      AttnvizLinesSpec spec;
      g_assert_true (attnviz_lines_view_get_spec (f->window->step_lines, &spec, NULL));
      g_assert_cmpint (spec.highlight_row, ==, query);
      g_assert_cmpint (spec.rows, ==, T);
      int layer = attnviz_view_state_get_layer (state), head = attnviz_view_state_get_head (state);
      g_assert_cmpmem (spec.matrix + (gsize) query * T, T * sizeof (float),
                       attnviz_recording_get_attention (rec, layer, head) + (gsize) query * T, T * sizeof (float));
      g_autofree char *caption = g_strdup_printf ("step %d of 6", step);
      g_assert_true (g_str_has_prefix (gtk_label_get_text (f->window->step_caption), caption));
      g_autofree char *from = g_strdup_printf ("(token %d) from the row of", written);
      g_assert_nonnull (strstr (gtk_label_get_text (f->window->step_caption), from));
      g_autofree char *row = g_strdup_printf ("(token %d)", query);
      g_assert_true (g_str_has_suffix (gtk_label_get_text (f->window->step_caption), row));
    }

  /* Selecting a row that wrote a token elsewhere moves the slider to the
   * step it wrote; a cell picks its head. */
  attnviz_view_state_set_selected_token (state, first + 2);
  g_assert_cmpfloat (gtk_adjustment_get_value (f->window->step_adjustment), ==, 4);
  attnviz_view_state_set_selected_token (state, first - 1);
  g_assert_cmpfloat (gtk_adjustment_get_value (f->window->step_adjustment), ==, 1);
  attnviz_view_state_set_selected_token (state, first + 2);
  attnviz_test_wait_until (gtk_widget_get_width (GTK_WIDGET (panel)) > 0, 10);
  graphene_rect_t cell;
  g_assert_true (attnviz_step_panel_get_cell_rect (panel, 3, 5, &cell));
  int layer = -1, head = -1;
  g_assert_true (attnviz_step_panel_get_cell_at (panel, cell.origin.x + 2, cell.origin.y + 2, &layer, &head));
  g_assert_cmpint (layer, ==, 3);
  g_assert_cmpint (head, ==, 5);
  g_autofree char *said = attnviz_step_panel_describe_cell (panel, 3, 5);
  g_autofree char *row_of = g_strdup_printf ("layer 3 · head 5 · row of %d ", first + 2);
  g_assert_true (g_str_has_prefix (said, row_of));

  /* Export on the Steps page writes its lines: with the selection kept,
   * the step's token highlighted, which the plain export leaves out. */
  g_autofree char *dir = g_dir_make_tmp ("attnviz-steps-XXXXXX", NULL);
  g_signal_connect (f->window, "exported", G_CALLBACK (attnviz_test_on_exported), &f->w);
  cairo_surface_t *images[2];
  for (int keep = 0; keep < 2; keep++)
    {
      g_autofree char *name = g_strdup_printf ("steps-%d.png", keep);
      g_autofree char *png = g_build_filename (dir, name, NULL);
      AttnvizCliFigure fig = { .vmin = NAN, .vmax = NAN, .keep_selection = keep };
      int exported = f->w.exported;
      attnviz_window_export_figure (f->window, png, &fig);
      attnviz_test_wait_until (f->w.exported > exported, 60);
      g_assert_no_error (f->w.export_error);
      images[keep] = cairo_image_surface_create_from_png (png);
      g_assert_cmpint (cairo_surface_status (images[keep]), ==, CAIRO_STATUS_SUCCESS);
      if (g_getenv ("ATTNVIZ_KEEP_EXPORTS") == NULL)
        g_unlink (png);
    }
  int w = cairo_image_surface_get_width (images[0]), h = cairo_image_surface_get_height (images[0]);
  g_assert_cmpint (cairo_image_surface_get_width (images[1]), ==, w);
  g_assert_cmpint (cairo_image_surface_get_height (images[1]), ==, h);
  g_assert_true (memcmp (cairo_image_surface_get_data (images[0]), cairo_image_surface_get_data (images[1]),
                         (gsize) cairo_image_surface_get_stride (images[0]) * h) != 0);
  cairo_surface_destroy (images[0]);
  cairo_surface_destroy (images[1]);
  /* The figure is the page: the lines beside the row in every head, under
   * the step's caption, in each format */
  static const char *const formats[] = { "steps.svg", "steps.pdf", "steps.png" };
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autofree char *path = g_build_filename (dir, formats[i], NULL);
      int exported = f->w.exported;
      attnviz_window_export (f->window, path);
      attnviz_test_wait_until (f->w.exported > exported, 60);
      g_assert_no_error (f->w.export_error);
      g_autofree char *contents = NULL;
      gsize length = 0;
      g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
      if (i == 0)
        {
          g_assert_nonnull (strstr (contents, "step 4 of 6"));
          /* the panel's labels: every head and layer */
          g_autofree char *last_head = g_strdup_printf (">H%d<", rec->n_head - 1);
          g_autofree char *last_layer = g_strdup_printf (">L%d<", rec->n_layer - 1);
          g_assert_nonnull (strstr (contents, last_head));
          g_assert_nonnull (strstr (contents, last_layer));
        }
      else if (i == 1)
        g_assert_true (g_str_has_prefix (contents, "%PDF"));
      else
        g_assert_true (length > 8 && memcmp (contents, "\x89PNG", 4) == 0);
      if (g_getenv ("ATTNVIZ_KEEP_EXPORTS") == NULL)
        g_unlink (path);
    }
  g_rmdir (dir);

  /* A plain run has no steps: the page goes. */
  int before = f->w.finished;
  attnviz_window_run (f->window);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  g_assert_false (adw_view_stack_page_get_visible (f->window->steps_page));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (f->window->view_stack), !=, "steps");
}

/* Position T's loss and top-k straight from its logits (double sums). */
static void
check_against_logits (const float *logits, int V, gint32 next, const AttnvizPrediction *p)
{
  double max = -INFINITY, sum = 0;
  for (int v = 0; v < V; v++)
    max = MAX (max, logits[v]);
  for (int v = 0; v < V; v++)
    sum += exp (logits[v] - max);
  double log_z = max + log (sum);
  g_assert_cmpfloat_with_epsilon (p->loss, log_z - logits[next], 1e-4);
  for (int i = 0; i < p->k; i++)
    {
      g_assert_cmpfloat_with_epsilon (p->probs[i], exp (logits[p->ids[i]] - log_z), 1e-5);
      /* No token outside the candidates is more likely than the last of them. */
      if (i + 1 < p->k)
        g_assert_cmpfloat (logits[p->ids[i]], >=, logits[p->ids[i + 1]]);
    }
  for (int v = 0; v < V; v++)
    {
      gboolean among = FALSE;
      for (int i = 0; i < p->k; i++)
        among |= p->ids[i] == v;
      if (!among)
        g_assert_cmpfloat (logits[v], <=, logits[p->ids[p->k - 1]]);
    }
}

static void
test_hover_and_strip_show_the_recordings_predictions (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, stories, TEXT));
  /* A plain run already has them. */
  g_assert_true (attnviz_result_has_predictions (attnviz_window_get_run (f->window)));
  g_assert_true (gtk_widget_get_visible (f->window->predictions_box));
  g_assert_true (continue_with (f, 6, 0.8, 3));
  AttnvizResult *run = attnviz_window_get_run (f->window);
  const AttnvizRecording *rec = attnviz_result_get_recording (run);
  int T = rec->T;
  g_assert_cmpint (rec->top_k, ==, ATTNVIZ_TOP_K);

  AttnvizRunOptions options = { .keep_logits = TRUE };
  g_autoptr(AttnvizRecording) fresh = attnviz_forward (window_model (f), rec->ids, T, &options, NULL);
  g_assert_nonnull (fresh);
  g_assert_nonnull (fresh->logits);

  AttnvizTokenStrip *strip = f->window->token_strip;
  AttnvizLossStrip *losses = f->window->predictions_strip;
  g_assert_true (attnviz_loss_strip_get_result (losses) == run);
  for (int t = 0; t < T; t++)
    {
      AttnvizPrediction p;
      g_assert_true (attnviz_result_get_prediction (run, t, &p));
      g_assert_cmpint (p.k, ==, rec->top_k);
      g_assert_cmpmem (p.ids, p.k * sizeof (gint32), rec->topk_ids + (gsize) t * p.k, p.k * sizeof (gint32));
      g_assert_cmpmem (p.probs, p.k * sizeof (float), rec->topk_probs + (gsize) t * p.k, p.k * sizeof (float));
      /* Each candidate is labelled by the tokenizer's text for its id. */
      for (int i = 0; i < p.k; i++)
        {
          g_autofree char *text = attnviz_tokenizer_token_display_text (window_model (f)->tokenizer, NULL, NULL, p.ids[i]);
          g_assert_cmpstr (p.labels[i], ==, *text ? text : attnviz_tokenizer_get_piece (window_model (f)->tokenizer, p.ids[i]));
        }
      g_autofree char *markup = attnviz_token_strip_describe_tooltip (strip, t);
      g_assert_true (pango_parse_markup (markup, -1, 0, NULL, NULL, NULL, NULL));
      for (int i = 0; i < p.k; i++)
        {
          g_autofree char *prob = g_strdup_printf (" %.3g%%", 100.0 * rec->topk_probs[(gsize) t * p.k + i]);
          g_assert_nonnull (strstr (markup, prob));
        }
      if (t + 1 < T)
        {
          g_assert_cmpint (p.next_id, ==, rec->ids[t + 1]);
          g_assert_cmpfloat (p.loss, ==, rec->loss[t]);
          g_assert_cmpfloat_with_epsilon (p.next_prob, exp (-rec->loss[t]), 1e-12);
          g_autofree char *follows = g_strdup_printf ("p %.3g%%", 100.0 * exp (-rec->loss[t]));
          g_assert_nonnull (strstr (markup, follows));
          check_against_logits (fresh->logits + (gsize) t * rec->vocab_size, rec->vocab_size, rec->ids[t + 1], &p);
          /* The strip's chip of the token that follows says the same. */
          g_autofree char *chip = attnviz_loss_strip_describe_token (losses, t + 1);
          g_autofree char *expect = g_strdup_printf ("p %.3g%% · loss %.2f", 100.0 * exp (-rec->loss[t]), rec->loss[t]);
          g_assert_cmpstr (chip, ==, expect);
        }
      else
        {
          g_assert_cmpint (p.next_id, ==, -1);
          g_assert_true (isnan (p.loss));
        }
    }
  g_autofree char *first = attnviz_loss_strip_describe_token (losses, 0);
  g_assert_cmpstr (first, ==, "no loss: nothing predicts this token");
  g_autofree char *means = attnviz_loss_strip_describe_means (losses);
  g_autofree char *mean = g_strdup_printf ("mean %.2f nats", attnviz_recording_mean_loss (rec));
  g_assert_true (g_str_has_prefix (means, mean));
  g_assert_cmpstr (gtk_label_get_text (f->window->predictions_means), ==, means);

  /* Compare keeps its own strip; the run's goes while it shows. */
  attnviz_window_set_compare (f->window, TRUE);
  int before = f->w.finished;
  attnviz_window_run (f->window);
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  g_assert_true (f->w.ok);
  g_assert_false (gtk_widget_get_visible (f->window->predictions_box));
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), "continue"));
  /* Continue's count and sampling options go off with it. */
  g_assert_false (gtk_widget_is_sensitive (GTK_WIDGET (f->window->generate_count)));
}

/* A long run keeps no matrices: the panel reads its rows in a worker,
 * and they are the exact entries a dense run of the same model holds. */
static void
test_the_step_panel_reads_a_long_runs_rows_in_a_worker (void)
{
  g_autoptr(AttnvizResult) dense = attnviz_test_forward_result (2, 3, 300, ATTNVIZ_STORAGE_DENSE, 5, NULL);
  g_autoptr(AttnvizResult) long_run = attnviz_test_forward_result (2, 3, 300, ATTNVIZ_STORAGE_RECOMPUTE, 5, NULL);
  g_assert_true (attnviz_result_is_long (long_run));
  g_autoptr(AttnvizViewState) state = attnviz_view_state_new ();
  GtkWidget *panel = g_object_ref_sink (attnviz_step_panel_new ());
  attnviz_step_panel_set_state (ATTNVIZ_STEP_PANEL (panel), state);
  attnviz_view_state_set_run (state, long_run);

  for (int query = 0; query < 300; query += 149)
    {
      attnviz_view_state_set_selected_token (state, query);
      g_assert_cmpint (attnviz_step_panel_get_query (ATTNVIZ_STEP_PANEL (panel)), ==, query);
      attnviz_test_wait_until (attnviz_step_panel_get_ready (ATTNVIZ_STEP_PANEL (panel)), 30);
      g_assert_true (attnviz_step_panel_get_ready (ATTNVIZ_STEP_PANEL (panel)));
      for (int l = 0; l < 2; l++)
        for (int h = 0; h < 3; h++)
          {
            int n = 0;
            const float *row = attnviz_step_panel_get_row (ATTNVIZ_STEP_PANEL (panel), l, h, &n);
            g_assert_cmpint (n, ==, 300);
            const float *matrix = attnviz_result_get_matrix (dense, ATTNVIZ_AGGREGATE_HEAD, l, h);
            g_assert_cmpmem (row, n * sizeof (float), matrix + (gsize) query * 300, 300 * sizeof (float));
          }
    }
  /* A query asked while another is read: only the newer one shows. */
  attnviz_view_state_set_selected_token (state, 7);
  attnviz_view_state_set_selected_token (state, 250);
  attnviz_test_wait_until (attnviz_step_panel_get_ready (ATTNVIZ_STEP_PANEL (panel)), 30);
  const float *row = attnviz_step_panel_get_row (ATTNVIZ_STEP_PANEL (panel), 1, 2, NULL);
  g_assert_cmpmem (row, 300 * sizeof (float),
                   attnviz_result_get_matrix (dense, ATTNVIZ_AGGREGATE_HEAD, 1, 2) + 250 * 300, 300 * sizeof (float));
  attnviz_step_panel_set_state (ATTNVIZ_STEP_PANEL (panel), NULL);
  g_assert_finalize_object (panel);
}

/* The training-step slider over a continued text: each checkpoint reads
 * the same tokens, the written ones still marked, the Steps page there. */
static void
test_checkpoints_of_a_continued_text_keep_its_written_tokens (Fixture *f, gconstpointer data)
{
  g_assert_true (open_with (f, induction, "bright fox.bright fox."));
  g_assert_cmpint (attnviz_window_get_n_checkpoints (f->window), >, 1);
  g_assert_true (continue_with (f, 5, 0.0, 42));
  AttnvizResult *final_run = attnviz_window_get_run (f->window);
  int first = attnviz_result_get_first_generated (final_run);
  int final_step = attnviz_window_get_step (f->window);

  gtk_range_set_value (GTK_RANGE (attnviz_window_get_checkpoint_scale (f->window)), 0);
  attnviz_test_wait_until (attnviz_window_get_step (f->window) != final_step, 60);
  AttnvizResult *early = attnviz_window_get_run (f->window);
  g_assert_true (early != final_run);
  g_assert_cmpmem (attnviz_result_get_recording (early)->ids, attnviz_result_get_n_tokens (early) * sizeof (gint32),
                   attnviz_result_get_recording (final_run)->ids,
                   attnviz_result_get_n_tokens (final_run) * sizeof (gint32));
  g_assert_cmpint (attnviz_result_get_first_generated (early), ==, first);
  g_assert_true (adw_view_stack_page_get_visible (f->window->steps_page));
  g_assert_true (attnviz_token_strip_get_chip_generated (f->window->token_strip, first));
}

static void
test_continue_is_off_for_a_model_that_cannot_write (Fixture *f, gconstpointer data)
{
  g_assert_true (g_file_test (dates, G_FILE_TEST_IS_DIR));
  g_assert_true (open_with (f, dates, "21 nov 2026"));
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), "continue"));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (f->window->generate_box)));
  g_assert_false (gtk_widget_get_visible (f->window->predictions_box));
  /* Asked anyway, it says why and starts nothing. */
  attnviz_window_continue (f->window);
  g_assert_false (attnviz_window_get_busy (f->window));
  g_assert_nonnull (strstr (attnviz_window_get_error (f->window), "causal language model"));
}

int
main (int argc, char **argv)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-generate-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  const char *shared = g_getenv ("ATTNVIZ_SHARED_DIR");
  stories = g_build_filename (shared ? shared : "../shared", "data", "models", "stories260K", "hf", NULL);
  dates = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models", "dates-seq2seq", NULL);
  induction = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models", "induction-decoder", NULL);
  if (!g_file_test (stories, G_FILE_TEST_IS_DIR))
    {
      printf ("1..0 # SKIP no stories260K at %s\n", stories);
      return 0;
    }

#define ADD(path, func) g_test_add ("/ui/generate/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("continue-writes-n-tokens-marked-and-every-view-covers-them",
       test_continue_writes_n_tokens_marked_and_every_view_covers_them);
  ADD ("a-second-continue-goes-on-from-the-written-tokens", test_a_second_continue_goes_on_from_the_written_tokens);
  ADD ("undo-and-redo-of-a-continue-show-its-runs", test_undo_and_redo_of_a_continue_show_its_runs);
  ADD ("sampling-follows-temperature-and-seed", test_sampling_follows_temperature_and_seed);
  ADD ("sampling-takes-top-k-and-top-p", test_sampling_takes_top_k_and_top_p);
  ADD ("cancel-stops-and-leaves-the-run-and-the-text", test_cancel_stops_and_leaves_the_run_and_the_text);
  ADD ("an-edit-made-meanwhile-is-kept", test_an_edit_made_meanwhile_is_kept);
  ADD ("the-step-slider-shows-each-written-tokens-rows", test_the_step_slider_shows_each_written_tokens_rows);
  ADD ("hover-and-strip-show-the-recordings-predictions", test_hover_and_strip_show_the_recordings_predictions);
  ADD ("checkpoints-of-a-continued-text-keep-its-written-tokens",
       test_checkpoints_of_a_continued_text_keep_its_written_tokens);
  ADD ("continue-is-off-for-a-model-that-cannot-write", test_continue_is_off_for_a_model_that_cannot_write);
  g_test_add_func ("/ui/generate/the-step-panel-reads-a-long-runs-rows-in-a-worker",
                   test_the_step_panel_reads_a_long_runs_rows_in_a_worker);

  int status = g_test_run ();
  g_autofree char *recent = g_build_filename (data_home, "attnviz", "recent", NULL);
  g_autofree char *recent_dir = g_path_get_dirname (recent);
  g_unlink (recent);
  g_rmdir (recent_dir);
  g_rmdir (data_home);
  g_free (stories);
  g_free (dates);
  g_free (induction);
  return status;
}
