/* attnviz-window.c: the main window: a model, a text, and its attention
 *
 * The window's lifecycle, its template and the state every view shows:
 * one AttnvizViewState for the run (the run, the attention shown, layer,
 * head, aggregate, colour map, scale, selected token) and one for a
 * comparison, bound to the same place.  The window's other jobs live
 * beside it, sharing attnviz-window-private.h: -jobs.c (opening and
 * running), -text.c (the input box), -dnd.c (open dialogs, drops, recent
 * models), -export.c, -compare.c, -checkpoints.c and -actions.c.
 *
 * An encoder-decoder run (the text is its source; the worker decodes the
 * target greedily) holds three attentions: the window keeps the run and
 * shows the one win.attention picks ("self", "cross", "encoder") through
 * the same views; the token strip shows the source above the target, and
 * the selection has two sides (selected-token in the target, selected-
 * source in the source) that the views bind to as the attention shown
 * needs.  Compare mode is for the other models.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include "attnviz-window-private.h"

G_DEFINE_FINAL_TYPE (AttnvizWindow, attnviz_window, ADW_TYPE_APPLICATION_WINDOW)

GParamSpec *_attnviz_window_properties[N_PROPS];
guint _attnviz_window_signals[N_SIGNALS];

static void
set_action_enabled (AttnvizWindow *self, const char *name, gboolean enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

void
_attnviz_window_set_action_state (AttnvizWindow *self, const char *name, const char *state)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_string (state));
}

void
_attnviz_window_show_error (AttnvizWindow *self, const char *message)
{
  g_free (self->error_message);
  self->error_message = g_strdup (message);
  gtk_label_set_text (self->error_label, message);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
}

void
_attnviz_window_dismiss_error (AttnvizWindow *self)
{
  g_clear_pointer (&self->error_message, g_free);
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
  gtk_widget_set_visible (self->truncate_button, FALSE);
}

/* After a failed request the last run stays, dimmed, and says so: it is
 * not the text or the model asked for. */
void
_attnviz_window_set_stale (AttnvizWindow *self, gboolean stale)
{
  self->stale = stale;
  if (stale)
    gtk_widget_add_css_class (GTK_WIDGET (self->view_stack), "stale");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->view_stack), "stale");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->view_stack),
                               stale ? "Out of date: the last run failed; this is the run before it" : NULL);
}

void
_attnviz_window_show_toast (AttnvizWindow *self, const char *message)
{
  AdwToast *toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 3);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* The figure of the page shown takes the keys (its arrows step heads). */
void
_attnviz_window_focus_view (AttnvizWindow *self)
{
  GtkWidget *view = attnviz_window_get_view (self, adw_view_stack_get_visible_child_name (self->view_stack));
  if (view != NULL)
    gtk_widget_grab_focus (view);
}

gboolean
_attnviz_window_model_is_seq2seq (AttnvizWindow *self)
{
  return self->model != NULL && attnviz_loaded_model_get_model (self->model)->config.encoder_decoder;
}

/* Whether the comparison's views show instead of the single run's. */
gboolean
_attnviz_window_showing_comparison (AttnvizWindow *self)
{
  return self->compare && self->comparison != NULL;
}

static void
update_pages (AttnvizWindow *self)
{
  static const char *const single[] = { "grid", "heatmap", "lines", "qk", "heads", "lens" };
  gboolean comparing = _attnviz_window_showing_comparison (self);
  const char *visible = adw_view_stack_get_visible_child_name (self->view_stack);

  /* Show the new pages first, so the stack always has a visible one. */
  adw_view_stack_page_set_visible (self->changes_page, comparing);
  adw_view_stack_page_set_visible (self->compare_page, comparing);
  for (guint i = 0; i < G_N_ELEMENTS (single); i++)
    {
      GtkWidget *child = adw_view_stack_get_child_by_name (self->view_stack, single[i]);
      adw_view_stack_page_set_visible (adw_view_stack_get_page (self->view_stack, child), !comparing);
    }
  gboolean on_compare_page = g_strcmp0 (visible, "changes") == 0 || g_strcmp0 (visible, "compare") == 0;
  if (comparing && !on_compare_page)
    adw_view_stack_set_visible_child_name (self->view_stack,
                                           g_strcmp0 (visible, "grid") == 0 ? "changes" : "compare");
  else if (!comparing && on_compare_page)
    adw_view_stack_set_visible_child_name (self->view_stack, g_strcmp0 (visible, "changes") == 0 ? "grid" : "heatmap");
}

void
_attnviz_window_update_state (AttnvizWindow *self)
{
  gboolean have_model = self->model != NULL || self->loading_path != NULL;
  gboolean have_view = attnviz_view_state_get_result (self->state) != NULL || _attnviz_window_showing_comparison (self);

  if (have_view)
    gtk_stack_set_visible_child_name (self->main_stack, "views");
  else if (have_model)
    gtk_stack_set_visible_child_name (self->main_stack, "ready");
  else
    gtk_stack_set_visible_child_name (self->main_stack, "welcome");

  if (!have_view && have_model)
    {
      if (self->model != NULL && self->loading_path == NULL)
        {
          g_autofree char *details = attnviz_loaded_model_describe (self->model);
          /* a model without a tokenizer cannot read the text: no invitation to Run */
          gboolean reads_text = attnviz_loaded_model_get_model (self->model)->tokenizer != NULL;
          g_autofree char *description =
            g_strdup_printf ("%s\n%s", details,
                             reads_text ? "Write a text on the left and press Run (Ctrl+Enter)."
                                        : "It has no tokenizer, so it cannot read a text: open a folder "
                                          "that has its tokenizer files.");
          adw_status_page_set_title (self->ready_page, attnviz_loaded_model_get_name (self->model));
          adw_status_page_set_description (self->ready_page, description);
        }
      else
        {
          adw_status_page_set_title (self->ready_page, "Opening the Model…");
          adw_status_page_set_description (self->ready_page, self->loading_path);
        }
    }

  /* The sidebar names the model as soon as it is asked for: a model
   * opening with its text runs (and an encoder-decoder decodes) before
   * the job returns it. */
  if (self->model == NULL && self->session == NULL)
    {
      g_autofree char *name = self->loading_path ? g_path_get_basename (self->loading_path) : NULL;
      g_autofree char *opening = name ? g_strdup_printf ("Opening %s…", name) : NULL;
      gtk_label_set_text (self->model_label, opening ? opening : "No model");
      gtk_label_set_text (self->model_details, opening ? "Reading the model and running the text"
                                                       : "Open a model folder, a .safetensors or a .gguf file");
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->model_label), self->loading_path);
    }

  g_autofree char *text = _attnviz_window_get_text (self);
  set_action_enabled (self, "run", have_model && !_attnviz_window_text_is_blank (text));
  set_action_enabled (self, "cancel", self->busy);
  set_action_enabled (self, "export", have_view);
  set_action_enabled (self, "export-to", have_view);
  set_action_enabled (self, "next-head", attnviz_view_state_get_result (self->state) != NULL);
  set_action_enabled (self, "previous-head", attnviz_view_state_get_result (self->state) != NULL);
  set_action_enabled (self, "next-layer", attnviz_view_state_get_result (self->state) != NULL);
  set_action_enabled (self, "previous-layer", attnviz_view_state_get_result (self->state) != NULL);
  /* Variants are compared on decoder-only and encoder models. */
  gboolean seq2seq = _attnviz_window_model_is_seq2seq (self);
  /* a comparison of two opened files can be left, not started again */
  set_action_enabled (self, "compare", (self->model != NULL && !seq2seq) || (self->compare && self->comparison != NULL));
  set_action_enabled (self, "save-run", _attnviz_window_can_save_run (self));
  /* any run of a model or a dump (every attention of an encoder-decoder) */
  set_action_enabled (self, "compare-with", _attnviz_window_can_save_run (self));
  set_action_enabled (self, "session-rerun", _attnviz_window_session_can_rerun (self));
  gtk_widget_set_visible (self->rerun_button, _attnviz_window_session_can_rerun (self));
  gtk_widget_set_sensitive (self->view_menu_button, self->model != NULL);
  gtk_widget_set_tooltip_text (self->compare_button,
                               seq2seq ? "Comparing variants is not available for encoder-decoder models"
                                       : "Compare Two Variants of the Model (Ctrl+D)");
  set_action_enabled (self, "compare-head", attnviz_view_state_get_result (self->state) != NULL && !seq2seq);
  set_action_enabled (self, "ablate-a", self->model != NULL && !seq2seq);
  set_action_enabled (self, "ablate-b", self->model != NULL && !seq2seq);
  AttnvizResult *run = attnviz_view_state_get_run (self->state);
  /* the choice of attention, for a run that has more than one (a
   * cross-attention made elsewhere has only that) */
  gboolean run_seq2seq = run != NULL && attnviz_result_is_seq2seq (run)
                         && attnviz_result_get_kind (run) == ATTNVIZ_ATTENTION_SELF;
  gboolean comparing = _attnviz_window_showing_comparison (self);
  if (comparing)
    run_seq2seq = attnviz_result_is_seq2seq (self->comparison);
  gtk_widget_set_visible (self->attention_bar, run_seq2seq && have_view);
  gtk_widget_set_visible (self->checkpoint_bar, self->checkpoints->len > 1 && self->final_run != NULL
                                                && !_attnviz_window_showing_comparison (self));
  set_action_enabled (self, "next-step", self->checkpoints->len > 1 && self->final_run != NULL);
  set_action_enabled (self, "previous-step", self->checkpoints->len > 1 && self->final_run != NULL);
  gtk_widget_set_sensitive (self->position_box, have_view);
  gtk_widget_set_sensitive (GTK_WIDGET (self->switcher_title), have_view);
  gtk_widget_set_visible (self->loss_box, _attnviz_window_showing_comparison (self));
  adw_button_content_set_label (self->run_content, self->compare ? "Run _A and B" : "_Run");
  update_pages (self);
  gtk_widget_set_sensitive (self->head_spin, attnviz_view_state_get_aggregate (self->state) == ATTNVIZ_AGGREGATE_HEAD);
  gtk_widget_set_visible (self->cancel_button, self->busy);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), self->busy);
  _attnviz_window_generate_update (self);
  _attnviz_window_update_token_count (self);
}

void
_attnviz_window_set_busy (AttnvizWindow *self, gboolean busy)
{
  if (busy == self->busy)
    return;
  self->busy = busy;
  if (busy)
    {
      gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
      gtk_progress_bar_set_text (self->progress_bar, "Starting…");
    }
  _attnviz_window_update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_BUSY]);
}

/* The variant editors' presets and the ablation toggles follow the
 * current head. */
static void
on_position_changed (AttnvizWindow *self)
{
  int layer = attnviz_view_state_get_layer (self->state), head = attnviz_view_state_get_head (self->state);

  attnviz_variant_editor_set_current_head (self->editor_a, layer, head);
  attnviz_variant_editor_set_current_head (self->editor_b, layer, head);
  _attnviz_window_update_ablate_states (self);
}

static void
on_result_changed (AttnvizWindow *self)
{
  AttnvizResult *result = attnviz_view_state_get_result (self->state);

  gtk_adjustment_set_upper (self->layer_adjustment, result ? MAX (0, attnviz_result_get_n_layers (result) - 1) : 0);
  gtk_adjustment_set_upper (self->head_adjustment, result ? MAX (0, attnviz_result_get_n_heads (result) - 1) : 0);
  _attnviz_window_update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_RESULT]);
}

AttnvizResult *
attnviz_window_get_result (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return attnviz_view_state_get_result (self->state);
}

AttnvizResult *
attnviz_window_get_run (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return attnviz_view_state_get_run (self->state);
}

void
attnviz_window_set_attention (AttnvizWindow *self, AttnvizAttentionKind kind)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));
  attnviz_view_state_set_attention (self->state, kind);
}

AttnvizAttentionKind
attnviz_window_get_attention (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), ATTNVIZ_ATTENTION_SELF);
  return attnviz_view_state_get_attention (self->state);
}

const char *
attnviz_window_get_output (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return gtk_widget_get_visible (self->output_box) ? gtk_label_get_text (self->output_label) : NULL;
}

gboolean
attnviz_window_get_busy (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), FALSE);
  return self->busy;
}

const char *
attnviz_window_get_error (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return self->error_message;
}

static void
attnviz_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizWindow *self = ATTNVIZ_WINDOW (object);

  switch (prop_id)
    {
    case PROP_RESULT:
      g_value_set_object (value, attnviz_view_state_get_result (self->state));
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    case PROP_COMPARE:
      g_value_set_boolean (value, self->compare);
      break;
    case PROP_COMPARISON:
      g_value_set_object (value, self->comparison);
      break;
    case PROP_STEP:
      g_value_set_int (value, attnviz_window_get_step (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_window_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AttnvizWindow *self = ATTNVIZ_WINDOW (object);

  switch (prop_id)
    {
    case PROP_COMPARE:
      attnviz_window_set_compare (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_window_dispose (GObject *object)
{
  AttnvizWindow *self = ATTNVIZ_WINDOW (object);

  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  _attnviz_window_cancel_heads_job (self);
  _attnviz_window_cancel_lens_job (self);
  if (self->checkpoint_cancellable)
    g_cancellable_cancel (self->checkpoint_cancellable);
  g_clear_object (&self->checkpoint_cancellable);
  g_clear_handle_id (&self->rerun_source, g_source_remove);
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  g_clear_object (&self->token_counter);
  gtk_widget_dispose_template (GTK_WIDGET (self), ATTNVIZ_TYPE_WINDOW);
  g_clear_object (&self->state);
  g_clear_object (&self->comparison_state);
  g_clear_object (&self->final_run);
  g_clear_pointer (&self->continue_runs, g_ptr_array_unref);
  g_clear_pointer (&self->checkpoint_runs, g_hash_table_unref);
  g_clear_object (&self->comparison);
  g_clear_pointer (&self->model, attnviz_loaded_model_unref);
  g_clear_pointer (&self->session, attnviz_session_free);
  G_OBJECT_CLASS (attnviz_window_parent_class)->dispose (object);
}

static void
attnviz_window_finalize (GObject *object)
{
  AttnvizWindow *self = ATTNVIZ_WINDOW (object);

  g_free (self->loading_path);
  g_free (self->error_message);
  g_free (self->text_owner);
  g_free (self->text_folder);
  g_free (self->session_text);
  g_array_unref (self->checkpoints);
  G_OBJECT_CLASS (attnviz_window_parent_class)->finalize (object);
}

/* Lines stop being readable past a few dozen tokens: a page over the
 * view says so and leads to the heatmap. */
static void
on_lines_too_many_tokens (AttnvizWindow *self)
{
  gboolean too_many = attnviz_lines_view_get_too_many_tokens (self->lines_view);
  if (too_many)
    {
      g_autofree char *text = attnviz_lines_view_describe_limit (self->lines_view);
      adw_status_page_set_description (self->lines_limit_page, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->lines_limit_page), too_many);
}

static void
attnviz_window_class_init (AttnvizWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = attnviz_window_dispose;
  object_class->finalize = attnviz_window_finalize;
  object_class->get_property = attnviz_window_get_property;
  object_class->set_property = attnviz_window_set_property;

  _attnviz_window_properties[PROP_RESULT] =
    g_param_spec_object ("result", NULL, NULL, ATTNVIZ_TYPE_RESULT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  _attnviz_window_properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  _attnviz_window_properties[PROP_COMPARE] =
    g_param_spec_boolean ("compare", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  _attnviz_window_properties[PROP_COMPARISON] =
    g_param_spec_object ("comparison", NULL, NULL, ATTNVIZ_TYPE_RESULT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The training step of the run shown, -1 when the model has no checkpoints. */
  _attnviz_window_properties[PROP_STEP] =
    g_param_spec_int ("step", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, _attnviz_window_properties);

  /* A request finished (TRUE) or failed (FALSE); not emitted for requests
   * a newer one replaced. */
  _attnviz_window_signals[RUN_FINISHED] =
    g_signal_new ("run-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  /* An export was written to PATH, or failed with ERROR. */
  /* A text file asked for by attnviz_window_open_text_file () was read
   * into the text box (TRUE), or could not be (the error banner says why). */
  _attnviz_window_signals[TEXT_FILE_READ] =
    g_signal_new ("text-file-read", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  /* attnviz_window_save_run () wrote its dump (TRUE) or failed (the
   * banner says why). */
  _attnviz_window_signals[RUN_SAVED] =
    g_signal_new ("run-saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  _attnviz_window_signals[EXPORTED] =
    g_signal_new ("exported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_ERROR);

  g_type_ensure (ATTNVIZ_TYPE_GRID_VIEW);
  g_type_ensure (ATTNVIZ_TYPE_HEATMAP_VIEW);
  g_type_ensure (ATTNVIZ_TYPE_LINES_VIEW);
  g_type_ensure (ATTNVIZ_TYPE_QUERY_KEY_VIEW);
  g_type_ensure (ATTNVIZ_TYPE_TOKEN_STRIP);
  g_type_ensure (ATTNVIZ_TYPE_VARIANT_EDITOR);
  g_type_ensure (ATTNVIZ_TYPE_LOSS_STRIP);
  g_type_ensure (ATTNVIZ_TYPE_COMPARE_VIEW);
  g_type_ensure (ATTNVIZ_TYPE_HEAD_TABLE);
  g_type_ensure (ATTNVIZ_TYPE_LENS_TABLE);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/attnviz/Attnviz/ui/attnviz-window.ui");
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, open_menu);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, error_label);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, model_label);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, model_details);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, text_view);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, token_count);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, text_token_count);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, token_strip);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, ready_page);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, grid_view);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, head_colour_dropdown);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, heatmap_view);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, lines_view);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, lines_limit_page);
  gtk_widget_class_bind_template_callback (widget_class, on_lines_too_many_tokens);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, layer_adjustment);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, head_adjustment);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, position_box);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, head_spin);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, compare_revealer);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, compare_bar);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, editor_a);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, editor_b);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, run_content);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, loss_box);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, loss_means);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, loss_strip);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, changes_page);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, compare_page);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, changes_grid);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, compare_view);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, compare_button);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, output_box);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, output_label);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, source_box);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, source_strip);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, target_caption);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, attention_bar);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, checkpoint_bar);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, checkpoint_scale);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, checkpoint_adjustment);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, step_label);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, head_table);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, lens_table);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, qk_view);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, view_menu_button);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, demo_box);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, samples_button);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, truncate_button);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, generate_box);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, predictions_box);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, predictions_means);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, predictions_strip);
}

/* A comparison of encoder-decoder runs shows the attention chosen. */
static void
on_attention_changed (AttnvizWindow *self)
{
  attnviz_view_state_set_attention (self->comparison_state, attnviz_view_state_get_attention (self->state));
}

/* One state for the run's views and one for the comparison's, at the same
 * place: what moves in one moves in the other.  Stateful actions are the
 * state's properties. */
static void
bind_states (AttnvizWindow *self)
{
  static const char *const shared[] = { "layer", "head", "aggregate", "colormap", "scale", "range-mode",
                                        "selected-token" };
  static const char *const actions[] = { "aggregate", "colormap", "scale", "range-mode", "attention",
                                         "matrix", "order-heads" };
  GBindingFlags both = G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE;

  self->state = attnviz_view_state_new ();
  self->comparison_state = attnviz_view_state_new ();
  for (guint i = 0; i < G_N_ELEMENTS (shared); i++)
    g_object_bind_property (self->state, shared[i], self->comparison_state, shared[i], both);
  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      g_autoptr(GPropertyAction) action = g_property_action_new (actions[i], self->state, actions[i]);
      g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (action));
    }

  attnviz_figure_view_set_state (ATTNVIZ_FIGURE_VIEW (self->grid_view), self->state);
  attnviz_figure_view_set_state (ATTNVIZ_FIGURE_VIEW (self->heatmap_view), self->state);
  attnviz_figure_view_set_state (ATTNVIZ_FIGURE_VIEW (self->lines_view), self->state);
  attnviz_figure_view_set_state (ATTNVIZ_FIGURE_VIEW (self->qk_view), self->state);
  attnviz_figure_view_set_state (ATTNVIZ_FIGURE_VIEW (self->changes_grid), self->comparison_state);
  attnviz_compare_view_set_state (self->compare_view, self->comparison_state);
  attnviz_loss_strip_set_state (self->loss_strip, self->comparison_state);
  g_object_set (self->token_strip, "state", self->state, NULL);
  g_object_set (self->source_strip, "state", self->state, "source", TRUE, NULL);
  g_object_bind_property (self->state, "layer", self->layer_adjustment, "value", both);
  g_object_bind_property (self->state, "head", self->head_adjustment, "value", both);
  g_signal_connect_swapped (self->state, "notify::layer", G_CALLBACK (on_position_changed), self);
  g_signal_connect_swapped (self->state, "notify::head", G_CALLBACK (on_position_changed), self);
  g_signal_connect_swapped (self->state, "notify::aggregate", G_CALLBACK (_attnviz_window_update_state), self);
  g_signal_connect_swapped (self->state, "notify::attention", G_CALLBACK (on_attention_changed), self);
  g_signal_connect_swapped (self->state, "notify::result", G_CALLBACK (on_result_changed), self);
  _attnviz_window_init_head_colour (self);
}

static void
attnviz_window_init (AttnvizWindow *self)
{
  self->checkpoints = g_array_new (FALSE, FALSE, sizeof (AttnvizCheckpoint));
  g_array_set_clear_func (self->checkpoints, attnviz_checkpoint_clear);
  self->checkpoint_runs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->continue_runs = g_ptr_array_new_with_free_func (g_object_unref);
  self->checkpoint_cancellable = g_cancellable_new ();
  self->compare_mode = ATTNVIZ_COMPARE_SIDE_BY_SIDE;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->token_counter = attnviz_token_counter_new (gtk_text_view_get_buffer (self->text_view),
                                                   self->text_token_count);
  _attnviz_window_actions_init (self);
  g_autoptr(GPropertyAction) sidebar = g_property_action_new ("sidebar", self->flap, "reveal-flap");
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (sidebar));
  g_signal_connect_swapped (gtk_text_view_get_buffer (self->text_view), "changed", G_CALLBACK (_attnviz_window_update_state), self);

  bind_states (self);
  _attnviz_window_heads_init (self);
  _attnviz_window_generate_init (self);
  _attnviz_window_lens_init (self);
  _attnviz_window_session_init (self);
  g_signal_connect (self->checkpoint_adjustment, "value-changed", G_CALLBACK (_attnviz_window_on_checkpoint_value_changed), self);
  g_signal_connect (self->grid_view, "head-activated", G_CALLBACK (_attnviz_window_on_head_activated), self);
  g_signal_connect (self->grid_view, "head-toggled", G_CALLBACK (_attnviz_window_on_head_toggled), self);
  g_signal_connect (self->changes_grid, "head-activated", G_CALLBACK (_attnviz_window_on_changed_head_activated), self);
  g_signal_connect (self->changes_grid, "head-toggled", G_CALLBACK (_attnviz_window_on_head_toggled), self);
  g_signal_connect (self->compare_revealer, "notify::child-revealed", G_CALLBACK (_attnviz_window_on_compare_bar_revealed), self);
  /* The flow box's cells only hold the editors: no focus stops of their own. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->compare_bar)); child;
       child = gtk_widget_get_next_sibling (child))
    gtk_widget_set_focusable (child, FALSE);
  g_signal_connect (self->editor_a, "notify::spec", G_CALLBACK (_attnviz_window_on_variant_changed), self);
  g_signal_connect (self->editor_b, "notify::spec", G_CALLBACK (_attnviz_window_on_variant_changed), self);
  /* The usual comparison: the model changed (A) against the model (B). */
  attnviz_variant_editor_set_spec (self->editor_a, "mask=bidirectional", NULL);
  g_signal_connect_swapped (self->view_stack, "notify::visible-child-name",
                            G_CALLBACK (_attnviz_window_on_visible_view_changed), self);

  GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (_attnviz_window_on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self->toast_overlay), GTK_EVENT_CONTROLLER (drop));

  _attnviz_window_text_init (self);
  _attnviz_window_demos_init (self);
  /* The default text belongs to no model: a demo opened replaces it. */
  _attnviz_window_fill_text (self, "Once upon a time, there was a little girl named Lily. "
                                   "She loved to play outside in the park.", "");
  _attnviz_window_rebuild_recent_menu (self);
  _attnviz_window_update_state (self);
}

gboolean
attnviz_window_get_stale (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), FALSE);
  return self->stale;
}

AttnvizViewState *
attnviz_window_get_state (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return self->state;
}

AttnvizViewState *
attnviz_window_get_comparison_state (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return self->comparison_state;
}

AttnvizWindow *
attnviz_window_new (GtkApplication *application)
{
  return g_object_new (ATTNVIZ_TYPE_WINDOW, "application", application, NULL);
}
