/* attnviz-window.c: the main window: a model, a text, and its attention
 *
 * The window owns the state every view shows (the run's result, layer,
 * head, aggregate, colour map, scale, selected token) as properties and
 * binds the views to them.  Opening and running happen in attnviz_run_async ()
 * workers; each request carries a generation number, so a result that
 * arrives after a newer request (or a cancel) is dropped, never shown over
 * a newer one.  Errors go to a banner in the window; the previous result
 * stays.
 *
 * Compare mode (win.compare) shows a bar of two variant editors, A and B,
 * under the header; a run then runs the model as it is, A and B, and the
 * views of a single run make way for two of the comparison: the Changes
 * grid (one total variation distance per head) and A vs B (A and B side
 * by side on one colour scale, and A − B).  The per-token loss change
 * shows under the token strip.  Changing a variant re-runs the comparison.
 *
 * An encoder-decoder run (the text is its source; the worker decodes the
 * target greedily) holds three attentions: the window keeps the run and
 * shows the one win.attention picks ("self", "cross", "encoder") through
 * the same views; the token strip shows the source above the target, and
 * the selection has two sides (selected-token in the target, selected-
 * source in the source) that the views bind to as the attention shown
 * needs.  Compare mode is for the other models.
 *
 * A model folder with checkpoints/step-N/ (left by attnviz train) gets a
 * training-step slider: moving it loads that checkpoint and runs the same
 * input in a worker (an encoder-decoder reads the final model's target,
 * so every step shows the same tokens), keeping the view, layer and head;
 * the runs are kept, so scrubbing back is instant.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-compare-view.h"
#include "attnviz-grid-view.h"
#include "attnviz-heatmap-view.h"
#include "attnviz-lines-view.h"
#include "attnviz-loss-strip.h"
#include "attnviz-recent.h"
#include "attnviz-run.h"
#include "attnviz-text-file.h"
#include "attnviz-token-counter.h"
#include "attnviz-token-strip.h"
#include "attnviz-variant-editor.h"
#include "attnviz-view-state.h"
#include "attnviz-window.h"

/* How long a variant edit waits before the comparison runs again. */
#define RERUN_DELAY_MS 300

struct _AttnvizWindow
{
  AdwApplicationWindow parent_instance;

  /* Template children */
  AdwToastOverlay *toast_overlay;
  AdwViewSwitcherTitle *switcher_title;
  GMenu *open_menu;
  GtkRevealer *error_revealer;
  GtkLabel *error_label;
  GtkLabel *model_label;
  GtkLabel *model_details;
  GtkTextView *text_view;
  GtkWidget *cancel_button;
  GtkProgressBar *progress_bar;
  GtkLabel *token_count;
  GtkLabel *text_token_count;
  AttnvizTokenStrip *token_strip;
  GtkStack *main_stack;
  AdwStatusPage *ready_page;
  AdwViewStack *view_stack;
  AttnvizGridView *grid_view;
  AttnvizHeatmapView *heatmap_view;
  AttnvizLinesView *lines_view;
  GtkAdjustment *layer_adjustment;
  GtkAdjustment *head_adjustment;
  GtkWidget *position_box;
  GtkWidget *head_spin;
  GtkRevealer *compare_revealer;
  GtkFlowBox *compare_bar;
  AttnvizVariantEditor *editor_a;
  AttnvizVariantEditor *editor_b;
  AdwButtonContent *run_content;
  GtkWidget *loss_box;
  GtkLabel *loss_means;
  AttnvizLossStrip *loss_strip;
  AdwViewStackPage *changes_page;
  AdwViewStackPage *compare_page;
  AttnvizGridView *changes_grid;
  AttnvizCompareView *compare_view;
  GtkWidget *compare_button;
  GtkWidget *output_box;
  GtkLabel *output_label;
  GtkWidget *source_box;
  AttnvizTokenStrip *source_strip;
  GtkWidget *target_caption;
  GtkWidget *attention_bar;
  GtkWidget *checkpoint_bar;
  GtkScale *checkpoint_scale;
  GtkAdjustment *checkpoint_adjustment;
  GtkLabel *step_label;

  /* The model and the run shown */
  AttnvizLoadedModel *model;
  char *loading_path;          /* a model being opened, or NULL */
  AttnvizViewState *state;     /* what the run's views show: the run (the model's, or a
                                * checkpoint's), its attention shown, layer, head, ... */
  AttnvizViewState *comparison_state;  /* the comparison's views', bound to STATE's position */

  /* Checkpoints */
  GArray *checkpoints;         /* AttnvizCheckpoint, the model itself last; empty: no slider */
  int checkpoint;              /* the index shown */
  AttnvizResult *final_run;    /* the model's own run of the text */
  GHashTable *checkpoint_runs; /* checkpoint path -> its run of final_run's input */
  GCancellable *checkpoint_cancellable;
  guint checkpoint_generation;

  /* Compare mode */
  gboolean compare;
  AttnvizResult *comparison;   /* A − B (a difference result), or NULL */
  AttnvizCompareMode compare_mode;
  guint rerun_source;

  /* The job in flight */
  GCancellable *cancellable;
  guint generation;
  gboolean busy;

  char *error_message;
  gboolean stale;              /* the views show a run older than the last request, which failed */
  GtkWidget *view_menu_button;
  GtkNativeDialog *chooser;
  AttnvizTokenCounter *token_counter;   /* the text box's "412 tokens" */
  guint text_file_generation;           /* of the last text file asked for */
};

G_DEFINE_FINAL_TYPE (AttnvizWindow, attnviz_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_RESULT,
  PROP_BUSY,
  PROP_COMPARE,
  PROP_COMPARISON,
  PROP_STEP,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  RUN_FINISHED,
  EXPORTED,
  TEXT_FILE_READ,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void set_comparison (AttnvizWindow *self, AttnvizResult *comparison);
static void update_marks (AttnvizWindow *self);
static void set_run (AttnvizWindow *self, AttnvizResult *run);
static void reset_variants (AttnvizWindow *self);
static void update_checkpoints (AttnvizWindow *self);
static void cancel_checkpoint_job (AttnvizWindow *self);
static void show_checkpoint (AttnvizWindow *self, int index);

/* ---- Small helpers -------------------------------------------------------- */

static void
set_action_enabled (AttnvizWindow *self, const char *name, gboolean enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

static void
set_action_state (AttnvizWindow *self, const char *name, const char *state)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_string (state));
}

static void
show_error (AttnvizWindow *self, const char *message)
{
  g_free (self->error_message);
  self->error_message = g_strdup (message);
  gtk_label_set_text (self->error_label, message);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
}

static void
dismiss_error (AttnvizWindow *self)
{
  g_clear_pointer (&self->error_message, g_free);
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
}

/* After a failed request the last run stays, dimmed, and says so: it is
 * not the text or the model asked for. */
static void
set_stale (AttnvizWindow *self, gboolean stale)
{
  self->stale = stale;
  if (stale)
    gtk_widget_add_css_class (GTK_WIDGET (self->view_stack), "stale");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->view_stack), "stale");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->view_stack),
                               stale ? "Out of date: the last run failed; this is the run before it" : NULL);
}

static void
show_toast (AttnvizWindow *self, const char *message)
{
  AdwToast *toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 3);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static char *
get_text (AttnvizWindow *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static gboolean
text_is_blank (const char *text)
{
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    if (!g_unichar_isspace (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

/* The figure of the page shown takes the keys (its arrows step heads). */
static void
focus_view (AttnvizWindow *self)
{
  GtkWidget *view = attnviz_window_get_view (self, adw_view_stack_get_visible_child_name (self->view_stack));
  if (view != NULL)
    gtk_widget_grab_focus (view);
}

static gboolean
model_is_seq2seq (AttnvizWindow *self)
{
  return self->model != NULL && attnviz_loaded_model_get_model (self->model)->config.encoder_decoder;
}

/* Whether the comparison's views show instead of the single run's. */
static gboolean
showing_comparison (AttnvizWindow *self)
{
  return self->compare && self->comparison != NULL;
}

static void
update_pages (AttnvizWindow *self)
{
  static const char *const single[] = { "grid", "heatmap", "lines" };
  gboolean comparing = showing_comparison (self);
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

static void
update_state (AttnvizWindow *self)
{
  gboolean have_model = self->model != NULL || self->loading_path != NULL;
  gboolean have_view = attnviz_view_state_get_result (self->state) != NULL || showing_comparison (self);

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
          g_autofree char *description =
            g_strdup_printf ("%s\nWrite a text on the left and press Run (Ctrl+Enter).", details);
          adw_status_page_set_title (self->ready_page, attnviz_loaded_model_get_name (self->model));
          adw_status_page_set_description (self->ready_page, description);
        }
      else
        {
          adw_status_page_set_title (self->ready_page, "Opening the Model…");
          adw_status_page_set_description (self->ready_page, self->loading_path);
        }
    }

  g_autofree char *text = get_text (self);
  set_action_enabled (self, "run", have_model && !text_is_blank (text));
  set_action_enabled (self, "cancel", self->busy);
  set_action_enabled (self, "export", have_view);
  set_action_enabled (self, "export-to", have_view);
  set_action_enabled (self, "next-head", attnviz_view_state_get_result (self->state) != NULL);
  set_action_enabled (self, "previous-head", attnviz_view_state_get_result (self->state) != NULL);
  set_action_enabled (self, "next-layer", attnviz_view_state_get_result (self->state) != NULL);
  set_action_enabled (self, "previous-layer", attnviz_view_state_get_result (self->state) != NULL);
  /* Variants are compared on decoder-only and encoder models. */
  gboolean seq2seq = model_is_seq2seq (self);
  set_action_enabled (self, "compare", self->model != NULL && !seq2seq);
  gtk_widget_set_sensitive (self->view_menu_button, self->model != NULL);
  gtk_widget_set_tooltip_text (self->compare_button,
                               seq2seq ? "Comparing variants is not available for encoder-decoder models"
                                       : "Compare Two Variants of the Model (Ctrl+D)");
  set_action_enabled (self, "compare-head", attnviz_view_state_get_result (self->state) != NULL && !seq2seq);
  set_action_enabled (self, "ablate-a", self->model != NULL && !seq2seq);
  set_action_enabled (self, "ablate-b", self->model != NULL && !seq2seq);
  gboolean run_seq2seq = attnviz_view_state_get_run (self->state) != NULL && attnviz_result_is_seq2seq (attnviz_view_state_get_run (self->state));
  gtk_widget_set_visible (self->attention_bar, run_seq2seq && have_view && !showing_comparison (self));
  gtk_widget_set_visible (self->checkpoint_bar, self->checkpoints->len > 1 && self->final_run != NULL
                                                && !showing_comparison (self));
  set_action_enabled (self, "next-step", self->checkpoints->len > 1 && self->final_run != NULL);
  set_action_enabled (self, "previous-step", self->checkpoints->len > 1 && self->final_run != NULL);
  gtk_widget_set_sensitive (self->position_box, have_view);
  gtk_widget_set_sensitive (GTK_WIDGET (self->switcher_title), have_view);
  gtk_widget_set_visible (self->loss_box, showing_comparison (self));
  adw_button_content_set_label (self->run_content, self->compare ? "Run _A and B" : "_Run");
  update_pages (self);
  gtk_widget_set_sensitive (self->head_spin, attnviz_view_state_get_aggregate (self->state) == ATTNVIZ_AGGREGATE_HEAD);
  gtk_widget_set_visible (self->cancel_button, self->busy);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), self->busy);
}

static void
set_busy (AttnvizWindow *self, gboolean busy)
{
  if (busy == self->busy)
    return;
  self->busy = busy;
  if (busy)
    {
      gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
      gtk_progress_bar_set_text (self->progress_bar, "Starting…");
    }
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
rebuild_recent_menu (AttnvizWindow *self)
{
  GMenuModel *section = g_menu_model_get_item_link (G_MENU_MODEL (self->open_menu), 1, G_MENU_LINK_SECTION);
  g_auto(GStrv) paths = attnviz_recent_list ();

  g_menu_remove_all (G_MENU (section));
  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_autofree char *name = attnviz_model_display_name (paths[i]);
      g_autoptr(GMenuItem) item = g_menu_item_new (name, NULL);
      g_menu_item_set_action_and_target_value (item, "win.open-recent", g_variant_new_string (paths[i]));
      g_menu_append_item (G_MENU (section), item);
    }
  g_object_unref (section);
}

static void
set_model (AttnvizWindow *self, AttnvizLoadedModel *model)
{
  if (model == self->model)
    return;
  gboolean another = self->model != NULL;
  g_clear_pointer (&self->model, attnviz_loaded_model_unref);
  self->model = attnviz_loaded_model_ref (model);

  g_autofree char *details = attnviz_loaded_model_describe (model);
  gtk_label_set_text (self->model_label, attnviz_loaded_model_get_name (model));
  gtk_label_set_text (self->model_details, details);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->model_label), attnviz_loaded_model_get_path (model));
  adw_view_switcher_title_set_subtitle (self->switcher_title, attnviz_loaded_model_get_name (model));
  g_autofree char *title = g_strdup_printf ("%s — attnviz", attnviz_loaded_model_get_name (model));
  gtk_window_set_title (GTK_WINDOW (self), title);

  attnviz_recent_add (attnviz_loaded_model_get_path (model));
  rebuild_recent_menu (self);

  /* The presets that apply depend on the model (RoPE's base, its heads). */
  const AttnvizConfig *config = &attnviz_loaded_model_get_model (model)->config;
  attnviz_variant_editor_set_config (self->editor_a, config);
  attnviz_variant_editor_set_config (self->editor_b, config);
  if (another)
    reset_variants (self);
  attnviz_token_counter_set_model (self->token_counter, model);
  update_marks (self);
  if (config->encoder_decoder && self->compare)
    attnviz_window_set_compare (self, FALSE);
  update_checkpoints (self);
}

/* ---- Opening and running -------------------------------------------------- */

/* Ties a worker's progress and completion to the window and its request,
 * without keeping a closed window alive. */
typedef struct {
  GWeakRef window;
  guint generation;
} JobRef;

static JobRef *
job_ref_new (AttnvizWindow *self)
{
  JobRef *ref = g_new0 (JobRef, 1);
  g_weak_ref_init (&ref->window, self);
  ref->generation = self->generation;
  return ref;
}

static void
job_ref_free (gpointer data)
{
  JobRef *ref = data;
  g_weak_ref_clear (&ref->window);
  g_free (ref);
}

/* The window for REF, or NULL when it is gone or REF is not its latest. */
static AttnvizWindow *
job_ref_get (JobRef *ref)
{
  AttnvizWindow *self = g_weak_ref_get (&ref->window);
  if (self != NULL && self->generation != ref->generation)
    g_clear_object (&self);
  return self;
}

static void
on_job_progress (double fraction, const char *stage, gpointer user_data)
{
  g_autoptr(AttnvizWindow) self = job_ref_get (user_data);

  if (self == NULL || !self->busy)
    return;
  gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  gtk_progress_bar_set_text (self->progress_bar, stage);
}

static void
on_job_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  JobRef *ref = user_data;
  g_autoptr(AttnvizLoadedModel) model = NULL;
  g_autoptr(AttnvizResult) result = NULL;
  g_autoptr(AttnvizResult) comparison = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok = attnviz_run_compare_finish (res, &model, &result, &comparison, &error);
  g_autoptr(AttnvizWindow) self = job_ref_get (ref);

  job_ref_free (ref);
  if (self == NULL)
    return;   /* a newer request, or a cancel, took over */

  g_clear_pointer (&self->loading_path, g_free);
  g_clear_object (&self->cancellable);
  self->busy = FALSE;

  if (!ok)
    {
      /* The model may have loaded even though its run failed: nothing
       * of the last model stays. */
      if (model != NULL && model != self->model)
        {
          set_comparison (self, NULL);
          set_run (self, NULL);
          g_clear_object (&self->final_run);
        }
      if (model != NULL)
        set_model (self, model);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *message = attnviz_view_state_get_run (self->state) != NULL
            ? g_strdup_printf ("%s\nThe views show the last run, which is out of date.", error->message)
            : g_strdup (error->message);
          show_error (self, message);
          set_stale (self, attnviz_view_state_get_run (self->state) != NULL);
        }
      update_state (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
      g_signal_emit (self, signals[RUN_FINISHED], 0, FALSE);
      return;
    }

  gboolean new_model = model != self->model;
  if (new_model)
    {
      /* Opening a model without a text to run: nothing of the last model stays. */
      set_comparison (self, NULL);
      if (result == NULL)
        {
          set_run (self, NULL);
          g_clear_object (&self->final_run);
        }
    }
  set_model (self, model);
  dismiss_error (self);
  set_stale (self, FALSE);
  if (result != NULL)
    {
      gboolean first = attnviz_view_state_get_result (self->state) == NULL || new_model;
      gboolean first_comparison = comparison != NULL && (self->comparison == NULL || new_model);
      /* The model's own run: the last mark of the training-step slider,
       * whose other marks now run this input. */
      g_set_object (&self->final_run, result);
      g_hash_table_remove_all (self->checkpoint_runs);
      cancel_checkpoint_job (self);
      if (self->checkpoints->len > 1)
        {
          const AttnvizCheckpoint *last = &g_array_index (self->checkpoints, AttnvizCheckpoint,
                                                          self->checkpoints->len - 1);
          attnviz_result_set_step (result, last->step);
          self->checkpoint = self->checkpoints->len - 1;
          gtk_adjustment_set_value (self->checkpoint_adjustment, self->checkpoint);
        }
      set_run (self, result);
      /* A single run leaves no comparison of an older text behind. */
      set_comparison (self, comparison);
      /* The model view first: every head at a glance (for a comparison,
       * every head's change). */
      if (first_comparison)
        adw_view_stack_set_visible_child_name (self->view_stack, "changes");
      else if (first && comparison == NULL)
        adw_view_stack_set_visible_child_name (self->view_stack, "grid");
      focus_view (self);
    }
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  g_signal_emit (self, signals[RUN_FINISHED], 0, TRUE);
}

/* Starts loading PATH (unless it is the open model) and, with TEXT, a run;
 * whatever was in flight is cancelled. */
static void
start_job (AttnvizWindow *self, const char *path, const char *text)
{
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->generation++;

  AttnvizLoadedModel *model = NULL;
  if (self->model != NULL && g_strcmp0 (attnviz_loaded_model_get_path (self->model), path) == 0)
    {
      model = self->model;
      g_clear_pointer (&self->loading_path, g_free);
    }
  else if (g_strcmp0 (self->loading_path, path) != 0)
    {
      g_free (self->loading_path);
      self->loading_path = g_strdup (path);
    }

  g_clear_handle_id (&self->rerun_source, g_source_remove);
  set_busy (self, TRUE);
  update_state (self);
  /* In compare mode a text runs under A and B (a model only opening does not). */
  gboolean compare = self->compare && text != NULL;
  attnviz_run_compare_async (path, model, text,
                             compare ? attnviz_variant_editor_get_spec (self->editor_a) : NULL,
                             compare ? attnviz_variant_editor_get_spec (self->editor_b) : NULL,
                             self->cancellable,
                             on_job_progress, job_ref_new (self), job_ref_free,
                             on_job_done, job_ref_new (self));
}

void
attnviz_window_open (AttnvizWindow *self, const char *path)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  g_autofree char *text = get_text (self);
  g_autofree char *path_copy = g_strdup (path);
  start_job (self, path_copy, text_is_blank (text) ? NULL : text);
}

void
attnviz_window_run (AttnvizWindow *self)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));

  const char *path = self->loading_path ? self->loading_path
                   : self->model ? attnviz_loaded_model_get_path (self->model) : NULL;
  if (path == NULL)
    {
      show_error (self, "Open a model first: a Hugging Face folder, a .safetensors file or a .gguf file.");
      return;
    }
  g_autofree char *text = get_text (self);
  if (text_is_blank (text))
    {
      show_error (self, "Write a text to run the model on.");
      return;
    }
  g_autofree char *path_copy = g_strdup (path);
  start_job (self, path_copy, text);
}

static void
cancel_job (AttnvizWindow *self)
{
  if (!self->busy)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  /* The worker stops at its next check; its outcome is dropped. */
  self->generation++;
  g_clear_pointer (&self->loading_path, g_free);
  set_busy (self, FALSE);
  show_toast (self, "Run cancelled");
}

void
attnviz_window_set_text (AttnvizWindow *self, const char *text)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), text ? text : "", -1);
}

/* ---- Export --------------------------------------------------------------- */

typedef struct {
  char *path;
  AttnvizFigureKind kind;
  AttnvizHeatmapSpec heatmap;
  AttnvizGridSpec grid;
  AttnvizLinesSpec lines;
  AttnvizHeatmapRowSpec row;
  double width_pt, height_pt;
  char *title;                 /* copies: the views' strings change */
  char *subtitle;
  char *panel_titles[ATTNVIZ_HEATMAP_ROW_MAX];
  char *panel_subtitles[ATTNVIZ_HEATMAP_ROW_MAX];
  AttnvizResult *result;       /* keeps the matrices and labels alive */
} ExportJob;

static void
export_job_free (ExportJob *job)
{
  g_free (job->path);
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

static ExportJob *
export_job_new (AttnvizWindow *self, const char *path, GError **error)
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
      ok = attnviz_grid_view_get_spec (self->changes_grid, &job->grid);
      job->kind = ATTNVIZ_FIGURE_GRID;
      job->width_pt = CLAMP (140.0 + 72.0 * job->grid.n_head, 420.0, 1000.0);
      job->height_pt = CLAMP (120.0 + 72.0 * job->grid.n_layer, 320.0, 1000.0);
      job->title = g_strdup (job->grid.title);
      job->subtitle = g_strdup (job->grid.subtitle);
      job->grid.title = job->title;
      job->grid.subtitle = job->subtitle;
    }
  else if (g_strcmp0 (view, "compare") == 0)
    {
      /* The panes on screen, side by side; each names its variant, the
       * difference both. */
      ok = attnviz_compare_view_get_figure (self->compare_view, &job->row);
      job->kind = ATTNVIZ_FIGURE_HEATMAP_ROW;
      double side_w, side_h;
      heatmap_export_size (attnviz_result_get_n_tokens (job->result), &side_w, &side_h);
      job->width_pt = side_w * MAX (job->row.n_panels, 1);
      job->height_pt = side_h;
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
      ok = attnviz_grid_view_get_spec (self->grid_view, &job->grid);
      job->kind = ATTNVIZ_FIGURE_GRID;
      job->width_pt = CLAMP (140.0 + 72.0 * job->grid.n_head, 420.0, 1000.0);
      job->height_pt = CLAMP (120.0 + 72.0 * job->grid.n_layer, 320.0, 1000.0);
      job->title = g_strdup (job->grid.title);
      job->subtitle = g_strdup (job->grid.subtitle);
      job->grid.title = job->title;
      job->grid.subtitle = job->subtitle;
    }
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
  return job;
}

static void
export_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  ExportJob *job = task_data;
  const void *spec = job->kind == ATTNVIZ_FIGURE_GRID ? (const void *) &job->grid
                   : job->kind == ATTNVIZ_FIGURE_LINES ? (const void *) &job->lines
                   : job->kind == ATTNVIZ_FIGURE_HEATMAP_ROW ? (const void *) &job->row
                   : (const void *) &job->heatmap;
  GError *error = NULL;

  if (attnviz_paint_to_file (job->path, job->kind, spec, job->width_pt, job->height_pt, &error))
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
      show_toast (self, message);
    }
  else
    {
      g_autofree char *message = g_strdup_printf ("Could not export the figure: %s", error->message);
      show_error (self, message);
    }
  g_signal_emit (self, signals[EXPORTED], 0, job->path, error);
}

void
attnviz_window_export (AttnvizWindow *self, const char *path)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  g_autoptr(GError) error = NULL;
  ExportJob *job = export_job_new (self, path, &error);
  g_autoptr(GTask) task = g_task_new (self, NULL, on_export_done, NULL);
  g_task_set_source_tag (task, attnviz_window_export);
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

static void
on_export_response (GtkNativeDialog *dialog, int response, AttnvizWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      if (path != NULL)
        {
          g_autofree char *lower = g_ascii_strdown (path, -1);
          if (!g_str_has_suffix (lower, ".png") && !g_str_has_suffix (lower, ".svg")
              && !g_str_has_suffix (lower, ".pdf"))
            {
              /* No known extension: the format of the chosen filter. */
              GtkFileFilter *filter = gtk_file_chooser_get_filter (GTK_FILE_CHOOSER (dialog));
              const char *ext = filter ? g_object_get_data (G_OBJECT (filter), "extension") : NULL;
              char *with = g_strconcat (path, ext ? ext : ".png", NULL);
              g_free (path);
              path = with;
            }
          attnviz_window_export (self, path);
        }
      else
        show_error (self, "Exports are written to local files; choose a folder on this computer.");
    }
  g_clear_object (&self->chooser);
}

static GtkFileFilter *
make_filter (const char *name, const char *mime, const char *pattern, const char *extension)
{
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, name);
  if (mime)
    gtk_file_filter_add_mime_type (filter, mime);
  gtk_file_filter_add_pattern (filter, pattern);
  if (extension)
    g_object_set_data (G_OBJECT (filter), "extension", (gpointer) extension);
  return filter;
}

static void
show_export_dialog (AttnvizWindow *self)
{
  if ((attnviz_view_state_get_result (self->state) == NULL && !showing_comparison (self)) || self->chooser != NULL)
    return;

  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new ("Export Figure", GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_SAVE,
                                 "_Export", "_Cancel");
  GtkFileChooser *fc = GTK_FILE_CHOOSER (chooser);
  g_autofree char *name = export_suggested_name (self);

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_add_filter (fc, make_filter ("PNG image (300 dpi)", "image/png", "*.png", ".png"));
  gtk_file_chooser_add_filter (fc, make_filter ("SVG drawing", "image/svg+xml", "*.svg", ".svg"));
  gtk_file_chooser_add_filter (fc, make_filter ("PDF document", "application/pdf", "*.pdf", ".pdf"));
  gtk_file_chooser_set_current_name (fc, name);
  g_signal_connect (chooser, "response", G_CALLBACK (on_export_response), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

/* ---- Open dialogs and drops ----------------------------------------------- */

static void
on_open_response (GtkNativeDialog *dialog, int response, AttnvizWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path != NULL)
        attnviz_window_open (self, path);
      else
        show_error (self, "Models are read from local files; choose one on this computer.");
    }
  g_clear_object (&self->chooser);
}

static void
show_open_dialog (AttnvizWindow *self, gboolean folder)
{
  if (self->chooser != NULL)
    return;

  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new (folder ? "Open Model Folder" : "Open Model File", GTK_WINDOW (self),
                                 folder ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER : GTK_FILE_CHOOSER_ACTION_OPEN,
                                 "_Open", "_Cancel");
  GtkFileChooser *fc = GTK_FILE_CHOOSER (chooser);

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  if (!folder)
    {
      GtkFileFilter *models = gtk_file_filter_new ();
      gtk_file_filter_set_name (models, "Models (.safetensors, .gguf)");
      gtk_file_filter_add_pattern (models, "*.safetensors");
      gtk_file_filter_add_pattern (models, "*.safetensors.index.json");
      gtk_file_filter_add_pattern (models, "*.gguf");
      gtk_file_chooser_add_filter (fc, models);
      g_object_unref (models);
      gtk_file_chooser_add_filter (fc, make_filter ("All files", NULL, "*", NULL));
    }
  if (self->model != NULL)
    {
      g_autofree char *dir = folder ? g_path_get_dirname (attnviz_loaded_model_get_path (self->model))
                                    : g_strdup (attnviz_loaded_model_get_path (self->model));
      if (!folder && !g_file_test (dir, G_FILE_TEST_IS_DIR))
        {
          char *parent = g_path_get_dirname (dir);
          g_free (dir);
          dir = parent;
        }
      g_autoptr(GFile) where = g_file_new_for_path (dir);
      gtk_file_chooser_set_current_folder (fc, where, NULL);
    }
  g_signal_connect (chooser, "response", G_CALLBACK (on_open_response), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

/* ---- Text files ------------------------------------------------------------ */

typedef struct {
  GWeakRef window;
  guint generation;
} TextFileRequest;

static void
on_text_file_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  TextFileRequest *request = user_data;
  g_autoptr(AttnvizWindow) self = g_weak_ref_get (&request->window);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = attnviz_text_file_read_finish (res, &error);

  /* Only the last file asked for lands in the box. */
  if (self != NULL && request->generation == self->text_file_generation)
    {
      if (text != NULL)
        {
          dismiss_error (self);
          attnviz_window_set_text (self, text);
        }
      else
        show_error (self, error->message);
      g_signal_emit (self, signals[TEXT_FILE_READ], 0, text != NULL);
    }
  g_weak_ref_clear (&request->window);
  g_free (request);
}

void
attnviz_window_open_text_file (AttnvizWindow *self, const char *path)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  TextFileRequest *request = g_new0 (TextFileRequest, 1);
  g_weak_ref_init (&request->window, self);
  request->generation = ++self->text_file_generation;
  attnviz_text_file_read_async (path, NULL, on_text_file_read, request);
}

static void
on_text_dialog_response (GtkNativeDialog *dialog, int response, AttnvizWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path != NULL)
        attnviz_window_open_text_file (self, path);
      else
        show_error (self, "Texts are read from local files; choose one on this computer.");
    }
  g_clear_object (&self->chooser);
}

static void
show_text_dialog (AttnvizWindow *self)
{
  if (self->chooser != NULL)
    return;

  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new ("Open Text File", GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_OPEN,
                                 "_Open", "_Cancel");
  GtkFileChooser *fc = GTK_FILE_CHOOSER (chooser);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_add_filter (fc, make_filter ("Text files", "text/plain", "*.txt", NULL));
  gtk_file_chooser_add_filter (fc, make_filter ("All files", NULL, "*", NULL));
  g_signal_connect (chooser, "response", G_CALLBACK (on_text_dialog_response), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, AttnvizWindow *self)
{
  GdkFileList *list = g_value_get_boxed (value);
  GSList *files = list ? gdk_file_list_get_files (list) : NULL;

  if (files == NULL)
    return FALSE;
  g_autofree char *path = g_file_get_path (files->data);
  g_slist_free (files);
  if (path == NULL)
    {
      show_error (self, "Only models on this computer can be opened.");
      return FALSE;
    }
  attnviz_window_open (self, path);
  return TRUE;
}

/* ---- Actions -------------------------------------------------------------- */

static void
open_file_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  show_open_dialog (user_data, FALSE);
}

static void
open_text_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  show_text_dialog (user_data);
}

static void
open_folder_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  show_open_dialog (user_data, TRUE);
}

static void
open_recent_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  attnviz_window_open (user_data, g_variant_get_string (parameter, NULL));
}

static void
run_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  attnviz_window_run (user_data);
}

static void
cancel_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  cancel_job (user_data);
}

static void
export_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  show_export_dialog (user_data);
}

static void
export_to_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  attnviz_window_export (user_data, g_variant_get_string (parameter, NULL));
}

static void
dismiss_error_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  dismiss_error (user_data);
}

static void
step_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  const char *name = g_action_get_name (G_ACTION (action));

  int delta = g_str_has_prefix (name, "next-") ? 1 : -1;

  if (g_str_has_suffix (name, "-head"))
    attnviz_view_state_step_head (self->state, delta);
  else
    attnviz_view_state_step_layer (self->state, delta);
}

static void
change_view_state (GSimpleAction *action, GVariant *state, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  const char *name = g_variant_get_string (state, NULL);

  GtkWidget *child = adw_view_stack_get_child_by_name (self->view_stack, name);
  /* The single run's pages hide while comparing, and the other way round. */
  if (child == NULL || !adw_view_stack_page_get_visible (adw_view_stack_get_page (self->view_stack, child)))
    return;
  adw_view_stack_set_visible_child_name (self->view_stack, name);
}

/* ---- Compare mode --------------------------------------------------------- */

static AttnvizVariantEditor *
editor_for (AttnvizWindow *self, int which)
{
  return which == 0 ? self->editor_a : self->editor_b;
}

/* The ablation toggles' check marks follow the current head. */
static void
update_ablate_states (AttnvizWindow *self)
{
  for (int which = 0; which < 2; which++)
    {
      const AttnvizVariant *v = attnviz_variant_editor_get_variant (editor_for (self, which));
      GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), which == 0 ? "ablate-a" : "ablate-b");
      g_simple_action_set_state (G_SIMPLE_ACTION (action),
                                 g_variant_new_boolean (attnviz_variant_head_ablated (v, attnviz_view_state_get_layer (self->state), attnviz_view_state_get_head (self->state))));
    }
}

/* The grids badge the heads switched off in A and in B. */
static void
update_marks (AttnvizWindow *self)
{
  int L = self->model ? attnviz_loaded_model_get_model (self->model)->config.n_layer : 0;
  int H = self->model ? attnviz_loaded_model_get_model (self->model)->config.n_head : 0;
  g_autofree guint8 *marks = g_new0 (guint8, MAX (L * H, 1));

  for (int which = 0; which < 2; which++)
    {
      const AttnvizVariant *v = attnviz_variant_editor_get_variant (editor_for (self, which));
      for (int i = 0; i < v->n_ablate; i++)
        if (v->ablate[i].layer < L && v->ablate[i].head < H)
          marks[v->ablate[i].layer * H + v->ablate[i].head] |= 1 << which;
    }
  attnviz_grid_view_set_marks (self->grid_view, marks, L * H);
  attnviz_grid_view_set_marks (self->changes_grid, marks, L * H);
}

/* Marks and specs belong to the comparison and the model they were made
 * for: leaving Compare or opening another model starts again from the
 * usual comparison, the model changed (A) against the model (B). */
static void
reset_variants (AttnvizWindow *self)
{
  attnviz_variant_editor_set_spec (self->editor_a, "mask=bidirectional", NULL);
  attnviz_variant_editor_set_spec (self->editor_b, "", NULL);
}

/* Runs the comparison again if there is one to keep up to date (or a run
 * to turn into one). */
static gboolean
rerun_now (gpointer data)
{
  AttnvizWindow *self = data;
  g_autofree char *text = get_text (self);

  self->rerun_source = 0;
  if (self->compare && self->model != NULL && (attnviz_view_state_get_result (self->state) != NULL || self->comparison != NULL)
      && !text_is_blank (text))
    attnviz_window_run (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_rerun (AttnvizWindow *self)
{
  g_clear_handle_id (&self->rerun_source, g_source_remove);
  self->rerun_source = g_timeout_add (RERUN_DELAY_MS, rerun_now, self);
}

static void
on_variant_changed (AttnvizVariantEditor *editor, GParamSpec *pspec, AttnvizWindow *self)
{
  update_ablate_states (self);
  update_marks (self);
  if (self->compare)
    schedule_rerun (self);
}

static void
set_comparison (AttnvizWindow *self, AttnvizResult *comparison)
{
  if (!g_set_object (&self->comparison, comparison))
    return;

  attnviz_view_state_set_run (self->comparison_state, comparison);
  if (comparison != NULL)
    {
      AttnvizResult *a = attnviz_result_get_a (comparison), *b = attnviz_result_get_b (comparison);
      g_autofree char *means = attnviz_loss_strip_describe_means (self->loss_strip);
      g_autofree char *tooltip = g_strdup_printf ("Mean negative log-likelihood per token, in nats\n"
                                                  "A: %s\nB: %s", attnviz_result_get_variant (a),
                                                  attnviz_result_get_variant (b));
      gtk_label_set_text (self->loss_means, means);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->loss_means), tooltip);
    }
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPARISON]);
}

void
attnviz_window_set_compare (AttnvizWindow *self, gboolean compare)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));

  compare = !!compare;
  if (compare == self->compare)
    return;
  if (compare && model_is_seq2seq (self))
    {
      show_toast (self, "Comparing variants is not available for encoder-decoder models");
      g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "compare")),
                                 g_variant_new_boolean (FALSE));
      return;
    }
  self->compare = compare;
  /* Hidden once slid up, so that its width does not hold the window wide. */
  if (compare)
    gtk_widget_set_visible (GTK_WIDGET (self->compare_revealer), TRUE);
  gtk_revealer_set_reveal_child (self->compare_revealer, compare);
  g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "compare")),
                             g_variant_new_boolean (compare));
  update_state (self);
  /* Turning it on compares the text shown at once. */
  if (compare)
    rerun_now (self);
  else
    {
      reset_variants (self);
      g_clear_handle_id (&self->rerun_source, g_source_remove);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPARE]);
}

gboolean
attnviz_window_get_compare (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), FALSE);
  return self->compare;
}

AttnvizResult *
attnviz_window_get_comparison (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return self->comparison;
}

AttnvizVariantEditor *
attnviz_window_get_variant_editor (AttnvizWindow *self, int which)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  g_return_val_if_fail (which == 0 || which == 1, NULL);
  return editor_for (self, which);
}

GtkWidget *
attnviz_window_get_view (AttnvizWindow *self, const char *name)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  /* These two pages hold a caption or a switch above their view. */
  if (g_strcmp0 (name, "changes") == 0)
    return GTK_WIDGET (self->changes_grid);
  if (g_strcmp0 (name, "compare") == 0)
    return GTK_WIDGET (self->compare_view);
  return adw_view_stack_get_child_by_name (self->view_stack, name);
}

/* Switches head LAYER/HEAD off in A (WHICH 0) or B, or back on. */
static void
toggle_head (AttnvizWindow *self, int which, int layer, int head)
{
  if (model_is_seq2seq (self))
    {
      show_toast (self, "Heads are switched off in comparisons, which encoder-decoder models do not have");
      return;
    }
  gboolean off = attnviz_variant_editor_toggle_head (editor_for (self, which), layer, head);
  g_autofree char *message = g_strdup_printf ("Head %d of layer %d switched %s in %s", head, layer,
                                              off ? "off" : "back on", which == 0 ? "A" : "B");
  show_toast (self, message);
  /* The variant must be seen to be compared. */
  attnviz_window_set_compare (self, TRUE);
}

static void
on_head_toggled (AttnvizGridView *grid, int layer, int head, GdkModifierType state, AttnvizWindow *self)
{
  toggle_head (self, (state & GDK_SHIFT_MASK) ? 1 : 0, layer, head);
}

static void
on_compare_bar_revealed (GtkRevealer *revealer, GParamSpec *pspec, AttnvizWindow *self)
{
  if (!gtk_revealer_get_child_revealed (revealer) && !self->compare)
    gtk_widget_set_visible (GTK_WIDGET (revealer), FALSE);
}

static void
compare_action (GSimpleAction *action, GVariant *state, gpointer user_data)
{
  attnviz_window_set_compare (user_data, g_variant_get_boolean (state));
}

static void
change_compare_mode_state (GSimpleAction *action, GVariant *state, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  AttnvizCompareMode mode;

  if (!attnviz_compare_mode_from_string (g_variant_get_string (state, NULL), &mode))
    return;
  self->compare_mode = mode;
  g_simple_action_set_state (action, state);
  attnviz_compare_view_set_mode (self->compare_view, mode);
}

static void
swap_variants_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  g_autofree char *a = g_strdup (attnviz_variant_editor_get_spec (self->editor_a));

  attnviz_variant_editor_set_spec (self->editor_a, attnviz_variant_editor_get_spec (self->editor_b), NULL);
  attnviz_variant_editor_set_spec (self->editor_b, a, NULL);
}

static void
ablate_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  int which = g_str_equal (g_action_get_name (G_ACTION (action)), "ablate-a") ? 0 : 1;

  toggle_head (self, which, attnviz_view_state_get_layer (self->state), attnviz_view_state_get_head (self->state));
}

static void
compare_head_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;

  attnviz_view_state_set_aggregate (self->state, ATTNVIZ_AGGREGATE_HEAD);
  if (!showing_comparison (self))
    {
      /* Nothing compared yet: compare, and show this head when it is. */
      attnviz_window_set_compare (self, TRUE);
      return;
    }
  adw_view_stack_set_visible_child_name (self->view_stack, "compare");
  gtk_widget_grab_focus (GTK_WIDGET (self->compare_view));
}

static void
step_checkpoint_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *self = user_data;
  int delta = g_str_equal (g_action_get_name (G_ACTION (action)), "next-step") ? 1 : -1;

  if (self->checkpoints->len > 1)
    gtk_adjustment_set_value (self->checkpoint_adjustment,
                              CLAMP (self->checkpoint + delta, 0, (int) self->checkpoints->len - 1));
}

static const GActionEntry win_entries[] = {
  { "open-file", open_file_action },
  { "open-folder", open_folder_action },
  { "open-text", open_text_action },
  { "open-recent", open_recent_action, "s" },
  { "run", run_action },
  { "cancel", cancel_action },
  { "export", export_action },
  { "export-to", export_to_action, "s" },
  { "dismiss-error", dismiss_error_action },
  { "next-head", step_action },
  { "previous-head", step_action },
  { "next-layer", step_action },
  { "previous-layer", step_action },
  { "view", NULL, "s", "'grid'", change_view_state },
  { "compare", NULL, NULL, "false", compare_action },
  { "compare-mode", NULL, "s", "'side-by-side'", change_compare_mode_state },
  { "swap-variants", swap_variants_action },
  { "ablate-a", ablate_action, NULL, "false" },
  { "ablate-b", ablate_action, NULL, "false" },
  { "compare-head", compare_head_action },
  { "next-step", step_checkpoint_action },
  { "previous-step", step_checkpoint_action },
};

static void
on_visible_view_changed (AttnvizWindow *self)
{
  const char *name = adw_view_stack_get_visible_child_name (self->view_stack);
  if (name != NULL)
    set_action_state (self, "view", name);
}

static void
on_changed_head_activated (AttnvizGridView *grid, int layer, int head, AttnvizWindow *self)
{
  attnviz_view_state_set_layer (self->state, layer);
  attnviz_view_state_set_head (self->state, head);
  compare_head_action (NULL, NULL, self);
}

static void
on_head_activated (AttnvizGridView *grid, int layer, int head, AttnvizWindow *self)
{
  attnviz_view_state_set_layer (self->state, layer);
  attnviz_view_state_set_head (self->state, head);
  attnviz_view_state_set_aggregate (self->state, ATTNVIZ_AGGREGATE_HEAD);
  adw_view_stack_set_visible_child_name (self->view_stack, "heatmap");
  gtk_widget_grab_focus (GTK_WIDGET (self->heatmap_view));
}

/* ---- The state ------------------------------------------------------------ */

/* The variant editors' presets and the ablation toggles follow the
 * current head. */
static void
on_position_changed (AttnvizWindow *self)
{
  int layer = attnviz_view_state_get_layer (self->state), head = attnviz_view_state_get_head (self->state);

  attnviz_variant_editor_set_current_head (self->editor_a, layer, head);
  attnviz_variant_editor_set_current_head (self->editor_b, layer, head);
  update_ablate_states (self);
}

static void
on_result_changed (AttnvizWindow *self)
{
  AttnvizResult *result = attnviz_view_state_get_result (self->state);

  gtk_adjustment_set_upper (self->layer_adjustment, result ? MAX (0, attnviz_result_get_n_layers (result) - 1) : 0);
  gtk_adjustment_set_upper (self->head_adjustment, result ? MAX (0, attnviz_result_get_n_heads (result) - 1) : 0);
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESULT]);
}

/* The window's subtitle and the slider's label name the step shown. */
static void
update_step_label (AttnvizWindow *self)
{
  if (self->model == NULL)
    return;
  const char *name = attnviz_loaded_model_get_name (self->model);
  int step = attnviz_view_state_get_run (self->state) ? attnviz_result_get_step (attnviz_view_state_get_run (self->state)) : -1;
  if (self->checkpoints->len > 1)
    {
      const AttnvizCheckpoint *c = &g_array_index (self->checkpoints, AttnvizCheckpoint, self->checkpoint);
      const AttnvizCheckpoint *last = &g_array_index (self->checkpoints, AttnvizCheckpoint,
                                                      self->checkpoints->len - 1);
      gboolean loading = step != c->step;
      g_autofree char *label = g_strdup_printf ("step %d of %d%s", c->step, last->step,
                                                loading ? "…" : c->final ? " (final)" : "");
      gtk_label_set_text (self->step_label, label);
    }
  g_autofree char *subtitle = step >= 0 ? g_strdup_printf ("%s · step %d", name, step) : g_strdup (name);
  adw_view_switcher_title_set_subtitle (self->switcher_title, subtitle);
}

/* RUN's attentions, its tokens and its output, in every view. */
static void
set_run (AttnvizWindow *self, AttnvizResult *run)
{
  AttnvizResult *old = attnviz_view_state_get_run (self->state);
  int old_step = old ? attnviz_result_get_step (old) : -1;
  if (run == old)
    return;

  g_object_freeze_notify (G_OBJECT (self));
  gboolean seq2seq = run != NULL && attnviz_result_is_seq2seq (run);
  attnviz_view_state_set_run (self->state, run);
  gtk_widget_set_visible (self->source_box, seq2seq);
  gtk_widget_set_visible (self->target_caption, seq2seq);
  gtk_widget_set_visible (self->output_box, seq2seq);
  if (seq2seq)
    {
      /* A checkpoint read the final model's output; it writes its own. */
      const char *output = attnviz_result_get_output (run);
      const char *target = attnviz_result_get_target_text (run);
      int step = attnviz_result_get_step (run);
      g_autofree char *shown = output && step >= 0 ? g_strdup_printf ("%s\n(at step %d; its attention is shown "
                                                                     "on the final model’s “%s”)", output, step,
                                                                     target)
                                                   : g_strdup (output ? output : target);
      gtk_label_set_text (self->output_label, shown);
    }

  int T = run ? attnviz_result_get_n_tokens (run) : 0;
  g_autofree char *count = seq2seq ? g_strdup_printf ("%d source · %d target",
                                                      attnviz_result_get_recording (run)->S, T)
                                   : g_strdup_printf ("%d", T);
  gtk_label_set_text (self->token_count, run ? count : "");
  update_step_label (self);
  if ((run ? attnviz_result_get_step (run) : -1) != old_step)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STEP]);
  g_object_thaw_notify (G_OBJECT (self));
}

/* ---- Checkpoints ---------------------------------------------------------- */

/* Drops the checkpoint run in flight: its result, if it still comes, is
 * not shown. */
static void
cancel_checkpoint_job (AttnvizWindow *self)
{
  g_cancellable_cancel (self->checkpoint_cancellable);
  g_clear_object (&self->checkpoint_cancellable);
  self->checkpoint_cancellable = g_cancellable_new ();
  self->checkpoint_generation++;
}

static void
update_checkpoints (AttnvizWindow *self)
{
  g_array_set_size (self->checkpoints, 0);
  g_hash_table_remove_all (self->checkpoint_runs);
  cancel_checkpoint_job (self);
  g_clear_object (&self->final_run);
  if (self->model != NULL)
    {
      const AttnvizModel *model = attnviz_loaded_model_get_model (self->model);
      g_autoptr(GArray) list = attnviz_checkpoints_list (attnviz_loaded_model_get_path (self->model), model->dir);
      for (guint i = 0; i < list->len; i++)
        {
          AttnvizCheckpoint c = g_array_index (list, AttnvizCheckpoint, i);
          c.path = g_strdup (c.path);
          g_array_append_val (self->checkpoints, c);
        }
    }

  int n = self->checkpoints->len;
  self->checkpoint = MAX (n - 1, 0);
  gtk_scale_clear_marks (self->checkpoint_scale);
  gtk_adjustment_configure (self->checkpoint_adjustment, self->checkpoint, 0, MAX (n - 1, 0), 1, 1, 0);
  /* A mark at every checkpoint; step numbers where they have room. */
  int every = MAX (1, (n + 7) / 8);
  for (int i = 0; i < n; i++)
    {
      const AttnvizCheckpoint *c = &g_array_index (self->checkpoints, AttnvizCheckpoint, i);
      g_autofree char *label = g_strdup_printf ("%d", c->step);
      gboolean labelled = i == n - 1 || (i % every == 0 && n - 1 - i >= every);
      gtk_scale_add_mark (self->checkpoint_scale, i, GTK_POS_BOTTOM, labelled ? label : NULL);
    }
  update_step_label (self);
  update_state (self);
}

typedef struct {
  GWeakRef window;
  guint generation;
  char *path;
  int step;
} CheckpointJob;

static void
checkpoint_job_free (CheckpointJob *job)
{
  g_weak_ref_clear (&job->window);
  g_free (job->path);
  g_free (job);
}

static void
on_checkpoint_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CheckpointJob *job = user_data;
  g_autoptr(AttnvizResult) run = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok = attnviz_run_finish (res, NULL, &run, &error);
  g_autoptr(AttnvizWindow) self = g_weak_ref_get (&job->window);

  if (self == NULL || job->generation != self->checkpoint_generation)
    {
      checkpoint_job_free (job);
      return;
    }
  if (!ok)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *message = g_strdup_printf ("Step %d: %s", job->step, error->message);
          show_error (self, message);
        }
      checkpoint_job_free (job);
      return;
    }
  attnviz_result_set_step (run, job->step);
  g_hash_table_insert (self->checkpoint_runs, g_strdup (job->path), g_object_ref (run));
  set_run (self, run);
  checkpoint_job_free (job);
}

/* Shows checkpoint INDEX: the model's own run for the last one, a kept
 * run, or a new one in a worker. */
static void
show_checkpoint (AttnvizWindow *self, int index)
{
  if (index < 0 || index >= (int) self->checkpoints->len || index == self->checkpoint)
    return;
  self->checkpoint = index;
  /* A slower step still loading is not wanted any more. */
  cancel_checkpoint_job (self);

  const AttnvizCheckpoint *c = &g_array_index (self->checkpoints, AttnvizCheckpoint, index);
  AttnvizResult *kept = c->final ? self->final_run : g_hash_table_lookup (self->checkpoint_runs, c->path);
  if (kept != NULL || self->final_run == NULL)
    {
      if (kept != NULL)
        set_run (self, kept);
      update_step_label (self);
      return;
    }

  /* The same input: an encoder-decoder's decoder reads the final model's
   * target, so that every step shows the same tokens. */
  const AttnvizRecording *rec = attnviz_result_get_recording (self->final_run);
  gboolean seq2seq = attnviz_result_is_seq2seq (self->final_run);
  CheckpointJob *job = g_new0 (CheckpointJob, 1);
  g_weak_ref_init (&job->window, self);
  job->generation = self->checkpoint_generation;
  job->path = g_strdup (c->path);
  job->step = c->step;
  update_step_label (self);
  attnviz_run_target_async (c->path, NULL, attnviz_result_get_text (self->final_run),
                            seq2seq ? rec->ids : NULL, seq2seq ? rec->T : 0,
                            self->checkpoint_cancellable, NULL, NULL, NULL, on_checkpoint_done, job);
}

static void
on_checkpoint_value_changed (GtkAdjustment *adjustment, AttnvizWindow *self)
{
  double value = gtk_adjustment_get_value (adjustment);
  int index = (int) round (value);

  /* The slider stops at the marks only. */
  if (value != index)
    {
      gtk_adjustment_set_value (adjustment, index);
      return;
    }
  show_checkpoint (self, index);
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

int
attnviz_window_get_n_checkpoints (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), 0);
  return self->checkpoints->len > 1 ? (int) self->checkpoints->len : 0;
}

int
attnviz_window_get_step (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), -1);
  return attnviz_view_state_get_run (self->state) ? attnviz_result_get_step (attnviz_view_state_get_run (self->state)) : -1;
}

GtkWidget *
attnviz_window_get_checkpoint_scale (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return GTK_WIDGET (self->checkpoint_scale);
}

const char *
attnviz_window_get_step_label (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return gtk_label_get_text (self->step_label);
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
  g_clear_pointer (&self->checkpoint_runs, g_hash_table_unref);
  g_clear_object (&self->comparison);
  g_clear_pointer (&self->model, attnviz_loaded_model_unref);
  G_OBJECT_CLASS (attnviz_window_parent_class)->dispose (object);
}

static void
attnviz_window_finalize (GObject *object)
{
  AttnvizWindow *self = ATTNVIZ_WINDOW (object);

  g_free (self->loading_path);
  g_free (self->error_message);
  g_array_unref (self->checkpoints);
  G_OBJECT_CLASS (attnviz_window_parent_class)->finalize (object);
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

  properties[PROP_RESULT] =
    g_param_spec_object ("result", NULL, NULL, ATTNVIZ_TYPE_RESULT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_COMPARE] =
    g_param_spec_boolean ("compare", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_COMPARISON] =
    g_param_spec_object ("comparison", NULL, NULL, ATTNVIZ_TYPE_RESULT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The training step of the run shown, -1 when the model has no checkpoints. */
  properties[PROP_STEP] =
    g_param_spec_int ("step", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A request finished (TRUE) or failed (FALSE); not emitted for requests
   * a newer one replaced. */
  signals[RUN_FINISHED] =
    g_signal_new ("run-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  /* An export was written to PATH, or failed with ERROR. */
  /* A text file asked for by attnviz_window_open_text_file () was read
   * into the text box (TRUE), or could not be (the error banner says why). */
  signals[TEXT_FILE_READ] =
    g_signal_new ("text-file-read", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  signals[EXPORTED] =
    g_signal_new ("exported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_ERROR);

  g_type_ensure (ATTNVIZ_TYPE_GRID_VIEW);
  g_type_ensure (ATTNVIZ_TYPE_HEATMAP_VIEW);
  g_type_ensure (ATTNVIZ_TYPE_LINES_VIEW);
  g_type_ensure (ATTNVIZ_TYPE_TOKEN_STRIP);
  g_type_ensure (ATTNVIZ_TYPE_VARIANT_EDITOR);
  g_type_ensure (ATTNVIZ_TYPE_LOSS_STRIP);
  g_type_ensure (ATTNVIZ_TYPE_COMPARE_VIEW);

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
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, heatmap_view);
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, lines_view);
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
  gtk_widget_class_bind_template_child (widget_class, AttnvizWindow, view_menu_button);
}

/* One state for the run's views and one for the comparison's, at the same
 * place: what moves in one moves in the other.  Stateful actions are the
 * state's properties. */
static void
bind_states (AttnvizWindow *self)
{
  static const char *const shared[] = { "layer", "head", "aggregate", "colormap", "scale", "selected-token" };
  static const char *const actions[] = { "aggregate", "colormap", "scale", "attention" };
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
  attnviz_figure_view_set_state (ATTNVIZ_FIGURE_VIEW (self->changes_grid), self->comparison_state);
  attnviz_compare_view_set_state (self->compare_view, self->comparison_state);
  attnviz_loss_strip_set_state (self->loss_strip, self->comparison_state);
  g_object_set (self->token_strip, "state", self->state, NULL);
  g_object_set (self->source_strip, "state", self->state, "source", TRUE, NULL);
  g_object_bind_property (self->state, "layer", self->layer_adjustment, "value", both);
  g_object_bind_property (self->state, "head", self->head_adjustment, "value", both);
  g_signal_connect_swapped (self->state, "notify::layer", G_CALLBACK (on_position_changed), self);
  g_signal_connect_swapped (self->state, "notify::head", G_CALLBACK (on_position_changed), self);
  g_signal_connect_swapped (self->state, "notify::aggregate", G_CALLBACK (update_state), self);
  g_signal_connect_swapped (self->state, "notify::result", G_CALLBACK (on_result_changed), self);
}

static void
attnviz_window_init (AttnvizWindow *self)
{
  self->checkpoints = g_array_new (FALSE, FALSE, sizeof (AttnvizCheckpoint));
  g_array_set_clear_func (self->checkpoints, attnviz_checkpoint_clear);
  self->checkpoint_runs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->checkpoint_cancellable = g_cancellable_new ();
  self->compare_mode = ATTNVIZ_COMPARE_SIDE_BY_SIDE;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->token_counter = attnviz_token_counter_new (gtk_text_view_get_buffer (self->text_view),
                                                   self->text_token_count);
  g_action_map_add_action_entries (G_ACTION_MAP (self), win_entries, G_N_ELEMENTS (win_entries), self);
  g_signal_connect_swapped (gtk_text_view_get_buffer (self->text_view), "changed", G_CALLBACK (update_state), self);

  bind_states (self);
  g_signal_connect (self->checkpoint_adjustment, "value-changed", G_CALLBACK (on_checkpoint_value_changed), self);
  g_signal_connect (self->grid_view, "head-activated", G_CALLBACK (on_head_activated), self);
  g_signal_connect (self->grid_view, "head-toggled", G_CALLBACK (on_head_toggled), self);
  g_signal_connect (self->changes_grid, "head-activated", G_CALLBACK (on_changed_head_activated), self);
  g_signal_connect (self->changes_grid, "head-toggled", G_CALLBACK (on_head_toggled), self);
  g_signal_connect (self->compare_revealer, "notify::child-revealed", G_CALLBACK (on_compare_bar_revealed), self);
  /* The flow box's cells only hold the editors: no focus stops of their own. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->compare_bar)); child;
       child = gtk_widget_get_next_sibling (child))
    gtk_widget_set_focusable (child, FALSE);
  g_signal_connect (self->editor_a, "notify::spec", G_CALLBACK (on_variant_changed), self);
  g_signal_connect (self->editor_b, "notify::spec", G_CALLBACK (on_variant_changed), self);
  /* The usual comparison: the model changed (A) against the model (B). */
  attnviz_variant_editor_set_spec (self->editor_a, "mask=bidirectional", NULL);
  g_signal_connect_swapped (self->view_stack, "notify::visible-child-name",
                            G_CALLBACK (on_visible_view_changed), self);

  GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self->toast_overlay), GTK_EVENT_CONTROLLER (drop));

  attnviz_window_set_text (self, "Once upon a time, there was a little girl named Lily. "
                                 "She loved to play outside in the park.");
  rebuild_recent_menu (self);
  update_state (self);
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

int
attnviz_window_get_text_token_count (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), -1);
  return attnviz_token_counter_get_count (self->token_counter);
}

const char *
attnviz_window_get_text_token_label (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return gtk_label_get_text (self->text_token_count);
}
