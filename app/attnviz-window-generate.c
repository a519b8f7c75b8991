/* attnviz-window-generate.c: Continue, the Steps page and the predictions
 *
 * Continue (win.continue) asks the model to write N more tokens after the
 * text, in attnviz_generate_job_async ()'s worker, with the same progress
 * bar, cancel and generation count as a run (attnviz-window-jobs.c).  The
 * run it returns (prompt and written tokens, recorded as one) replaces
 * the run shown, and the written text is added to the box in a tag of its
 * own, as one user action, so Ctrl+Z takes it back; a second Continue
 * goes on from the run's own tokens while the box still holds its text.
 *
 * The Steps page shows, for the token written at step t (a slider over
 * the written tokens, tied to the selected token), its lines (a second
 * AttnvizLinesView on the same state) and its row in every head
 * (AttnvizStepPanel).  The predictions strip is the loss strip on the
 * run's own state, shown for any causal run outside Compare.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include "attnviz-generate-job.h"
#include "attnviz-predictions.h"
#include "attnviz-run-result.h"
#include "attnviz-step-panel.h"
#include "attnviz-window-private.h"

#define DEFAULT_COUNT 20
#define MAX_COUNT 1024

/* Whether the open model can write: a causal language model with a tokenizer. */
static gboolean
model_can_write (AttnvizWindow *self)
{
  if (self->model == NULL)
    return FALSE;
  const AttnvizModel *model = attnviz_loaded_model_get_model (self->model);
  return model->config.causal && !model->config.encoder_decoder && model->lm_head.w.data != NULL
         && model->tokenizer != NULL;
}

/* ---- The job ---------------------------------------------------------------- */

/* Adds GENERATED after the box's text, marked, as one step of Undo. */
static void
append_generated (AttnvizWindow *self, const char *generated)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
  GtkTextIter end;

  gtk_text_buffer_get_end_iter (buffer, &end);
  self->filling_text = TRUE;
  gtk_text_buffer_begin_user_action (buffer);
  gtk_text_buffer_insert_with_tags (buffer, &end, generated, -1, self->generated_tag, NULL);
  gtk_text_buffer_end_user_action (buffer);
  self->filling_text = FALSE;
}

static void
on_generate_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  JobRef *ref = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *generated = NULL;
  int n_new = 0;
  g_autoptr(AttnvizResult) run = attnviz_generate_job_finish (res, &generated, &n_new, &error);
  g_autoptr(AttnvizWindow) self = _attnviz_window_job_ref_get (ref);

  _attnviz_window_job_ref_free (ref);
  if (self == NULL)
    return;   /* a newer request, or a cancel, took over */
  g_clear_object (&self->cancellable);
  self->busy = FALSE;

  if (run == NULL)
    {
      /* The run shown is still the text's: not out of date. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _attnviz_window_show_error (self, error->message);
      _attnviz_window_update_state (self);
      g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_BUSY]);
      g_signal_emit (self, _attnviz_window_signals[RUN_FINISHED], 0, FALSE);
      return;
    }

  _attnviz_window_dismiss_error (self);
  _attnviz_window_set_stale (self, FALSE);
  /* The model's own run of the new text: what the training-step slider's
   * last mark shows, its other marks now to be run again. */
  g_set_object (&self->final_run, run);
  g_hash_table_remove_all (self->checkpoint_runs);
  _attnviz_window_cancel_checkpoint_job (self);
  if (self->checkpoints->len > 1)
    {
      const AttnvizCheckpoint *last = &g_array_index (self->checkpoints, AttnvizCheckpoint, self->checkpoints->len - 1);
      attnviz_run_result_set_step (ATTNVIZ_RUN_RESULT (run), last->step);
      self->checkpoint = self->checkpoints->len - 1;
      gtk_adjustment_set_value (self->checkpoint_adjustment, self->checkpoint);
    }

  /* The box gets the written text when it still holds the prompt; an
   * edit made meanwhile is the user's, and stays as it is. */
  g_autofree char *text = _attnviz_window_get_text (self);
  const char *run_text = attnviz_result_get_text (run);
  gsize prompt_len = strlen (run_text) - strlen (generated);
  gboolean box_is_prompt = strlen (text) == prompt_len && strncmp (text, run_text, prompt_len) == 0;
  /* The chain Undo and Redo walk: the run this Continue went on from,
   * then this one.  An edit meanwhile starts no chain. */
  AttnvizResult *from = attnviz_view_state_get_run (self->state);
  if (!box_is_prompt || from == NULL)
    _attnviz_window_forget_continues (self);
  else if (self->continue_runs->len == 0 || g_ptr_array_index (self->continue_runs, self->continue_runs->len - 1) != from)
    {
      _attnviz_window_forget_continues (self);
      g_ptr_array_add (self->continue_runs, g_object_ref (from));
    }
  if (box_is_prompt)
    {
      g_ptr_array_add (self->continue_runs, g_object_ref (run));
      append_generated (self, generated);
    }
  g_free (self->text_owner);
  self->text_owner = g_strdup (attnviz_loaded_model_get_path (self->model));

  _attnviz_window_set_run (self, run);
  /* the row that wrote this Continue's first token: the Steps page shows
   * its step (all written tokens stay marked) */
  int T = attnviz_result_get_n_tokens (run);
  attnviz_view_state_set_selected_token (self->state, T - n_new - 1);
  _attnviz_window_update_state (self);
  const char *tokens = n_new == 1 ? "token" : "tokens";
  g_autofree char *message = box_is_prompt
    ? g_strdup_printf ("Wrote %d %s: the Steps page shows what each one attended to", n_new, tokens)
    : g_strdup_printf ("Wrote %d %s (the text was edited meanwhile, so they are not added to it)", n_new, tokens);
  _attnviz_window_show_toast (self, message);
  g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_BUSY]);
  g_signal_emit (self, _attnviz_window_signals[RUN_FINISHED], 0, TRUE);
}

void
_attnviz_window_forget_continues (AttnvizWindow *self)
{
  if (self->continue_runs != NULL)
    g_ptr_array_set_size (self->continue_runs, 0);
}

/* After an edit of the box: when it holds the text of a run of the
 * Continue chain (Ctrl+Z took a Continue back, or Ctrl+Shift+Z brought it
 * again), that run is shown again, as it was, instead of the last one
 * dimmed as out of date. */
void
_attnviz_window_follow_continues (AttnvizWindow *self)
{
  if (self->continue_runs == NULL || self->continue_runs->len == 0 || self->busy || self->model == NULL)
    return;
  g_autofree char *text = _attnviz_window_get_text (self);
  for (guint i = 0; i < self->continue_runs->len; i++)
    {
      AttnvizResult *run = g_ptr_array_index (self->continue_runs, i);
      if (g_strcmp0 (attnviz_result_get_text (run), text) != 0)
        continue;
      if (run == attnviz_view_state_get_run (self->state))
        return;
      g_set_object (&self->final_run, run);
      g_hash_table_remove_all (self->checkpoint_runs);
      _attnviz_window_cancel_checkpoint_job (self);
      if (self->checkpoints->len > 1)
        {
          self->checkpoint = self->checkpoints->len - 1;
          gtk_adjustment_set_value (self->checkpoint_adjustment, self->checkpoint);
        }
      /* Redo brings the text back without its tint: the chain's first
       * run is the prompt, the rest the model wrote. */
      GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
      GtkTextIter start, from, end;
      gtk_text_buffer_get_bounds (buffer, &start, &end);
      gtk_text_buffer_remove_tag (buffer, self->generated_tag, &start, &end);
      const char *prompt = attnviz_result_get_text (g_ptr_array_index (self->continue_runs, 0));
      gtk_text_buffer_get_iter_at_offset (buffer, &from, (int) g_utf8_strlen (prompt, -1));
      if (i > 0)
        gtk_text_buffer_apply_tag (buffer, self->generated_tag, &from, &end);
      _attnviz_window_set_stale (self, FALSE);
      _attnviz_window_set_run (self, run);
      _attnviz_window_update_state (self);
      return;
    }
}

void
attnviz_window_continue (AttnvizWindow *self)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));

  if (self->model == NULL || self->loading_path != NULL)
    {
      _attnviz_window_show_error (self, "Open a model first, and wait for it to load.");
      return;
    }
  if (!model_can_write (self))
    {
      _attnviz_window_show_error (self, "Only a causal language model with a tokenizer can continue a text.");
      return;
    }
  g_autofree char *text = _attnviz_window_get_text (self);
  if (_attnviz_window_text_is_blank (text))
    {
      _attnviz_window_show_error (self, "Write a text for the model to continue.");
      return;
    }

  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->generation++;
  g_clear_handle_id (&self->rerun_source, g_source_remove);
  _attnviz_window_set_busy (self, TRUE);

  gboolean sample = gtk_check_button_get_active (self->generate_sample);
  AttnvizGenerateOptions options = {
    .max_new = gtk_spin_button_get_value_as_int (self->generate_count),
    .temperature = sample ? gtk_spin_button_get_value (self->generate_temperature) : 0.0,
    .top_k = sample ? gtk_spin_button_get_value_as_int (self->generate_top_k) : 0,
    .top_p = sample ? gtk_spin_button_get_value (self->generate_top_p) : 0.0,
    .seed = (guint32) gtk_spin_button_get_value (self->generate_seed),
  };
  attnviz_generate_job_async (self->model, attnviz_view_state_get_run (self->state), text, &options,
                              self->cancellable, _attnviz_window_on_job_progress,
                              _attnviz_window_job_ref_new (self), _attnviz_window_job_ref_free,
                              on_generate_done, _attnviz_window_job_ref_new (self));
}

void
attnviz_window_set_continue_options (AttnvizWindow *self, int n_tokens, double temperature, guint32 seed)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));

  gtk_spin_button_set_value (self->generate_count, n_tokens);
  gtk_check_button_set_active (self->generate_sample, temperature > 0);
  if (temperature > 0)
    gtk_spin_button_set_value (self->generate_temperature, temperature);
  gtk_spin_button_set_value (self->generate_seed, seed);
}

static void
continue_activated (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  attnviz_window_continue (user_data);
}

/* ---- The sidebar's controls --------------------------------------------------- */

static GtkSpinButton *
add_option (GtkGrid *grid, int row, const char *label, const char *tooltip, double lower, double upper,
            double step, int digits, double value)
{
  GtkWidget *name = gtk_label_new_with_mnemonic (label);
  GtkWidget *spin = gtk_spin_button_new_with_range (lower, upper, step);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), digits);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), value);
  gtk_label_set_mnemonic_widget (GTK_LABEL (name), spin);
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_widget_set_tooltip_text (spin, tooltip);
  gtk_grid_attach (grid, name, 0, row, 1, 1);
  gtk_grid_attach (grid, spin, 1, row, 1, 1);
  return GTK_SPIN_BUTTON (spin);
}

static void
on_sample_toggled (AttnvizWindow *self)
{
  gboolean sample = gtk_check_button_get_active (self->generate_sample);
  gtk_widget_set_sensitive (GTK_WIDGET (self->generate_temperature), sample);
  gtk_widget_set_sensitive (GTK_WIDGET (self->generate_top_k), sample);
  gtk_widget_set_sensitive (GTK_WIDGET (self->generate_top_p), sample);
  gtk_widget_set_sensitive (GTK_WIDGET (self->generate_seed), sample);
}

static void
build_controls (AttnvizWindow *self)
{
  GtkWidget *button = gtk_button_new ();
  GtkWidget *content = adw_button_content_new ();
  adw_button_content_set_icon_name (ADW_BUTTON_CONTENT (content), "document-edit-symbolic");
  adw_button_content_set_label (ADW_BUTTON_CONTENT (content), "Co_ntinue");
  adw_button_content_set_use_underline (ADW_BUTTON_CONTENT (content), TRUE);
  gtk_button_set_child (GTK_BUTTON (button), content);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "win.continue");
  gtk_widget_set_hexpand (button, TRUE);
  gtk_widget_set_tooltip_text (button, "Let the Model Write On after the Text (Ctrl+Shift+Enter)");
  gtk_widget_add_css_class (button, "pill");
  /* A narrower pill (style.css): the row fits the sidebar beside the count
   * and the gear. */
  gtk_widget_add_css_class (button, "attnviz-continue");
  gtk_box_append (self->generate_box, button);

  self->generate_count = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (1, MAX_COUNT, 1));
  gtk_spin_button_set_value (self->generate_count, DEFAULT_COUNT);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->generate_count), "Tokens to write");
  gtk_widget_set_valign (GTK_WIDGET (self->generate_count), GTK_ALIGN_CENTER);
  gtk_box_append (self->generate_box, GTK_WIDGET (self->generate_count));

  /* How the next token is picked: a popover that stays open. */
  GtkGrid *grid = GTK_GRID (gtk_grid_new ());
  gtk_grid_set_row_spacing (grid, 6);
  gtk_grid_set_column_spacing (grid, 12);
  g_object_set (grid, "margin-start", 6, "margin-end", 6, "margin-top", 6, "margin-bottom", 6, NULL);
  GtkWidget *greedy = gtk_check_button_new_with_mnemonic ("_Greedy: the most likely token");
  self->generate_sample = GTK_CHECK_BUTTON (gtk_check_button_new_with_mnemonic ("_Sample from the distribution"));
  gtk_check_button_set_group (self->generate_sample, GTK_CHECK_BUTTON (greedy));
  gtk_check_button_set_active (GTK_CHECK_BUTTON (greedy), TRUE);
  gtk_grid_attach (grid, greedy, 0, 0, 2, 1);
  gtk_grid_attach (grid, GTK_WIDGET (self->generate_sample), 0, 1, 2, 1);
  self->generate_temperature = add_option (grid, 2, "_Temperature", "Divides the logits before sampling: below 1 "
                                           "sharper, above 1 flatter", 0.05, 5, 0.05, 2, 0.8);
  self->generate_top_k = add_option (grid, 3, "Top-_k", "Sample among the k most likely tokens only (0: all)",
                                     0, 1000, 1, 0, 0);
  self->generate_top_p = add_option (grid, 4, "Top-_p", "Sample among the most likely tokens whose probabilities "
                                     "sum to p (0: all)", 0, 1, 0.05, 2, 0);
  self->generate_seed = add_option (grid, 5, "S_eed", "The same seed writes the same text again", 0, G_MAXINT32, 1,
                                    0, 42);
  g_signal_connect_swapped (self->generate_sample, "toggled", G_CALLBACK (on_sample_toggled), self);
  on_sample_toggled (self);

  GtkWidget *popover = gtk_popover_new ();
  gtk_popover_set_child (GTK_POPOVER (popover), GTK_WIDGET (grid));
  GtkWidget *menu = gtk_menu_button_new ();
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (menu), "emblem-system-symbolic");
  gtk_menu_button_set_popover (GTK_MENU_BUTTON (menu), popover);
  gtk_widget_set_tooltip_text (menu, "How the Next Token Is Picked");
  gtk_widget_set_valign (menu, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (menu, "flat");
  gtk_box_append (self->generate_box, menu);

  /* The written text in the box: tinted as its tokens are in the strip. */
  self->generated_tag = gtk_text_buffer_create_tag (gtk_text_view_get_buffer (self->text_view), "generated",
                                                    "background-rgba", &(GdkRGBA) { 0.15, 0.64, 0.41, 0.22 },
                                                    NULL);
}

/* ---- The Steps page ------------------------------------------------------------- */

/* The Steps page shows, for the token written at step t (token w), the row
 * that produced it: position w − 1's, whose prediction it is.  The state's
 * selected token is that row; step t is selected token − first + 2. */
static int
step_of_row (int first, int row)
{
  return row - first + 2;
}

static void
update_step_caption (AttnvizWindow *self)
{
  AttnvizResult *run = attnviz_view_state_get_run (self->state);
  int first = attnviz_result_get_first_generated (run), row = attnviz_view_state_get_selected_token (self->state);
  if (first < 0)
    {
      gtk_label_set_text (self->step_caption, "");
      return;
    }
  int T = attnviz_result_get_n_tokens (run), n = T - first;
  if (row < first - 1 || row >= T - 1)
    {
      g_autofree char *text = g_strdup_printf ("%d tokens written · the selected token wrote none of them", n);
      gtk_label_set_text (self->step_caption, text);
      return;
    }
  g_autofree char *written = attnviz_painter_display_text (attnviz_result_get_label (run, row + 1));
  g_autofree char *from = attnviz_painter_display_text (attnviz_result_get_label (run, row));
  g_autofree char *text = g_strdup_printf ("step %d of %d · “%s” (token %d) from the row of “%s” (token %d)",
                                           step_of_row (first, row), n, written, row + 1, from, row);
  gtk_label_set_text (self->step_caption, text);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->step_caption), text);
}

static void
on_step_value_changed (GtkAdjustment *adjustment, AttnvizWindow *self)
{
  AttnvizResult *run = attnviz_view_state_get_run (self->state);
  int first = attnviz_result_get_first_generated (run);
  if (self->step_syncing || first < 0)
    return;
  self->step_syncing = TRUE;
  /* the row that produced step t's token */
  attnviz_view_state_set_selected_token (self->state, first + (int) gtk_adjustment_get_value (adjustment) - 2);
  self->step_syncing = FALSE;
}

/* The slider follows the selection while it is a row that wrote a token. */
static void
on_selection_changed (AttnvizWindow *self)
{
  AttnvizResult *run = attnviz_view_state_get_run (self->state);
  int first = attnviz_result_get_first_generated (run), row = attnviz_view_state_get_selected_token (self->state);
  if (!self->step_syncing && first >= 0 && row >= first - 1 && row < attnviz_result_get_n_tokens (run) - 1)
    {
      self->step_syncing = TRUE;
      gtk_adjustment_set_value (self->step_adjustment, step_of_row (first, row));
      self->step_syncing = FALSE;
    }
  update_step_caption (self);
}

static void
build_steps_page (AttnvizWindow *self)
{
  GtkWidget *page = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  GtkWidget *bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_add_css_class (bar, "checkpoint-bar");
  GtkWidget *label = gtk_label_new_with_mnemonic ("_Step");
  gtk_widget_add_css_class (label, "dim-label");
  self->step_adjustment = gtk_adjustment_new (1, 1, 1, 1, 1, 0);
  GtkWidget *scale = gtk_scale_new (GTK_ORIENTATION_HORIZONTAL, self->step_adjustment);
  gtk_scale_set_digits (GTK_SCALE (scale), 0);
  gtk_range_set_round_digits (GTK_RANGE (scale), 0);
  gtk_scale_set_draw_value (GTK_SCALE (scale), FALSE);
  gtk_widget_set_hexpand (scale, TRUE);
  gtk_widget_set_tooltip_text (scale, "The token written at each step, and the row that wrote it: the token "
                                      "before it, its lines and its row in every head");
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), scale);
  self->step_caption = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_width_chars (self->step_caption, 30);
  gtk_label_set_xalign (self->step_caption, 1);
  gtk_label_set_ellipsize (self->step_caption, PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (GTK_WIDGET (self->step_caption), "numeric");
  gtk_box_append (GTK_BOX (bar), label);
  gtk_box_append (GTK_BOX (bar), scale);
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->step_caption));
  gtk_box_append (GTK_BOX (page), bar);

  /* The lines and the panel side by side, half each. */
  GtkWidget *halves = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  gtk_box_set_homogeneous (GTK_BOX (halves), TRUE);
  gtk_widget_set_vexpand (halves, TRUE);
  self->step_lines = ATTNVIZ_LINES_VIEW (g_object_new (ATTNVIZ_TYPE_LINES_VIEW, NULL));
  attnviz_figure_view_set_state (ATTNVIZ_FIGURE_VIEW (self->step_lines), self->state);
  gtk_box_append (GTK_BOX (halves), GTK_WIDGET (self->step_lines));

  GtkWidget *side = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *caption = gtk_label_new ("The row that wrote the step’s token (the token before it, whose prediction "
                                      "it is) in every head: a bar per key, scaled to the row’s largest weight; "
                                      "the dashed line is where the written tokens start. Click a head to show it.");
  gtk_label_set_wrap (GTK_LABEL (caption), TRUE);
  gtk_label_set_xalign (GTK_LABEL (caption), 0);
  gtk_widget_add_css_class (caption, "dim-label");
  gtk_widget_add_css_class (caption, "caption");
  g_object_set (side, "margin-start", 12, "margin-end", 12, "margin-top", 12, "margin-bottom", 12, NULL);
  self->step_panel = attnviz_step_panel_new ();
  gtk_widget_set_vexpand (self->step_panel, TRUE);
  attnviz_step_panel_set_state (ATTNVIZ_STEP_PANEL (self->step_panel), self->state);
  gtk_box_append (GTK_BOX (side), caption);
  gtk_box_append (GTK_BOX (side), self->step_panel);
  gtk_box_append (GTK_BOX (halves), side);
  gtk_box_append (GTK_BOX (page), halves);

  self->steps_page = adw_view_stack_add_titled_with_icon (self->view_stack, page, "steps", "_Steps",
                                                          "view-continuous-symbolic");
  adw_view_stack_page_set_use_underline (self->steps_page, TRUE);
  adw_view_stack_page_set_visible (self->steps_page, FALSE);
  g_signal_connect (self->step_adjustment, "value-changed", G_CALLBACK (on_step_value_changed), self);
  g_signal_connect_swapped (self->state, "notify::selected-token", G_CALLBACK (on_selection_changed), self);
}

void
_attnviz_window_generate_update (AttnvizWindow *self)
{
  AttnvizResult *run = attnviz_view_state_get_run (self->state);
  gboolean comparing = _attnviz_window_showing_comparison (self);
  g_autofree char *text = _attnviz_window_get_text (self);
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), "continue");

  gboolean can_continue = model_can_write (self) && self->loading_path == NULL && !self->compare
                          && !_attnviz_window_text_is_blank (text);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), can_continue);
  /* Without a model it shows what Continue is, except over an
   * encoder-decoder's run opened from a file: its model could never write. */
  gboolean seq2seq_file = self->model == NULL && run != NULL && attnviz_result_is_seq2seq (run);
  gtk_widget_set_visible (GTK_WIDGET (self->generate_box),
                          (self->model == NULL && !seq2seq_file) || model_can_write (self));
  /* Its count and sampling options too: they do nothing while it is off. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->generate_box), can_continue);

  /* The Steps page, over a run with written tokens. */
  int first = attnviz_result_get_first_generated (run);
  gboolean steps = first >= 0 && !comparing;
  if (steps)
    {
      int n = attnviz_result_get_n_tokens (run) - first;
      self->step_syncing = TRUE;
      gtk_adjustment_configure (self->step_adjustment, CLAMP (gtk_adjustment_get_value (self->step_adjustment), 1, n),
                                1, n, 1, 1, 0);
      self->step_syncing = FALSE;
      on_selection_changed (self);
    }
  if (!steps && g_strcmp0 (adw_view_stack_get_visible_child_name (self->view_stack), "steps") == 0)
    adw_view_stack_set_visible_child_name (self->view_stack, comparing ? "changes" : "grid");
  adw_view_stack_page_set_visible (self->steps_page, steps);

  gboolean predictions = !comparing && attnviz_result_has_predictions (run);
  gtk_widget_set_visible (self->predictions_box, predictions);
  if (predictions)
    {
      g_autofree char *means = attnviz_loss_strip_describe_means (self->predictions_strip);
      gtk_label_set_text (self->predictions_means, means);
    }
}

void
_attnviz_window_generate_init (AttnvizWindow *self)
{
  static const GActionEntry entries[] = {
    { .name = "continue", .activate = continue_activated },
  };
  g_action_map_add_action_entries (G_ACTION_MAP (self), entries, G_N_ELEMENTS (entries), self);
  build_controls (self);
  build_steps_page (self);
  attnviz_loss_strip_set_state (self->predictions_strip, self->state);
}
