/* attnviz-window-private.h: what the window's files share
 *
 * The window is one class split by job over attnviz-window*.c (as
 * gnome-text-editor's editor-window*.c): its struct and the prototypes the
 * files call across lie here, each prefixed _attnviz_window_.
 */
#pragma once

#include <string.h>

#include "attnviz-compare-view.h"
#include "attnviz-grid-view.h"
#include "attnviz-head-table.h"
#include "attnviz-heatmap-view.h"
#include "attnviz-lens-table.h"
#include "attnviz-lines-view.h"
#include "attnviz-loss-strip.h"
#include "attnviz-query-key-view.h"
#include "attnviz-recent.h"
#include "attnviz-run.h"
#include "attnviz-session.h"
#include "attnviz-text-file.h"
#include "attnviz-token-counter.h"
#include "attnviz-token-strip.h"
#include "attnviz-variant-editor.h"
#include "attnviz-view-state.h"
#include "attnviz-window.h"

G_BEGIN_DECLS


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
  GtkDropDown *head_colour_dropdown;  /* "Colour heads by": attention, or a measure of the run's table */
  GtkStringList *head_colours;        /* its items: "attention", then the table's measure names */
  AttnvizHeatmapView *heatmap_view;
  AttnvizLinesView *lines_view;
  AdwStatusPage *lines_limit_page;   /* over the lines view when it has too many tokens */
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
  AttnvizHeadTable *head_table;
  AttnvizLensTable *lens_table;
  AttnvizQueryKeyView *qk_view;
  GtkWidget *predictions_box;
  GtkLabel *predictions_means;
  AttnvizLossStrip *predictions_strip;  /* a causal run's own loss, outside Compare */

  /* Continue (attnviz-window-generate.c): its controls in the sidebar,
   * the Steps page over the generated tokens */
  GtkBox *generate_box;
  GtkSpinButton *generate_count;       /* tokens to write */
  GtkCheckButton *generate_sample;     /* sample (else greedy) */
  GtkSpinButton *generate_temperature;
  GtkSpinButton *generate_top_k;
  GtkSpinButton *generate_top_p;
  GtkSpinButton *generate_seed;
  GtkTextTag *generated_tag;           /* the text Continue added to the box */
  GPtrArray *continue_runs;            /* AttnvizResult: the run a Continue went on from, then each
                                        * Continue's run, while the box follows them (Undo, Redo) */
  AdwViewStackPage *steps_page;
  GtkAdjustment *step_adjustment;      /* 1 .. the generated tokens */
  GtkLabel *step_caption;
  AttnvizLinesView *step_lines;
  GtkWidget *step_panel;               /* AttnvizStepPanel */
  gboolean step_syncing;               /* the slider and the selection follow each other */

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
  GCancellable *heads_cancellable;      /* the head table's costly measures in flight, or NULL */
  GCancellable *lens_cancellable;       /* the lens table's job in flight, or NULL */
  AttnvizTokenCounter *token_counter;   /* the text box's "412 tokens" */
  guint text_file_generation;           /* of the last text file asked for */

  /* The first minute */
  AdwFlap *flap;               /* the sidebar, folded over the views when narrow */
  GtkFlowBox *demo_box;
  GtkMenuButton *samples_button;
  GtkWidget *truncate_button;
  char *text_owner;            /* the model the box's text was run on or filled for ("" the
                                * default text); NULL once the user wrote or chose it */
  gboolean filling_text;
  char *text_folder;           /* of the last text file opened */       /* the box is being filled, not edited */

  /* A run opened from a file (attnviz-window-session.c) */
  AttnvizSession *session;     /* the file the run shown came from (its recording now the run's), or NULL */
  char *session_text;          /* a dump's text put back together from its tokens, or NULL */
  GtkWidget *rerun_button;     /* "Open Its Model and Run", under the sidebar's details */
};


enum {
  PROP_0,
  PROP_RESULT,
  PROP_BUSY,
  PROP_COMPARE,
  PROP_COMPARISON,
  PROP_STEP,
  N_PROPS
};

extern GParamSpec *_attnviz_window_properties[N_PROPS];

enum {
  RUN_FINISHED,
  EXPORTED,
  TEXT_FILE_READ,
  RUN_SAVED,
  N_SIGNALS
};

extern guint _attnviz_window_signals[N_SIGNALS];

/* attnviz-window.c */
void _attnviz_window_set_action_state (AttnvizWindow *self, const char *name, const char *state);
void _attnviz_window_show_error (AttnvizWindow *self, const char *message);
void _attnviz_window_dismiss_error (AttnvizWindow *self);
void _attnviz_window_set_stale (AttnvizWindow *self, gboolean stale);
void _attnviz_window_show_toast (AttnvizWindow *self, const char *message);
void _attnviz_window_focus_view (AttnvizWindow *self);
gboolean _attnviz_window_model_is_seq2seq (AttnvizWindow *self);
gboolean _attnviz_window_showing_comparison (AttnvizWindow *self);
void _attnviz_window_update_state (AttnvizWindow *self);
void _attnviz_window_forget_continues (AttnvizWindow *self);
void _attnviz_window_follow_continues (AttnvizWindow *self);
void _attnviz_window_update_token_count (AttnvizWindow *self);
void _attnviz_window_set_busy (AttnvizWindow *self, gboolean busy);

/* attnviz-window-jobs.c */
/* Ties a worker's progress and completion to the window and its request
 * (self->generation), without keeping a closed window alive. */
typedef struct {
  GWeakRef window;
  guint generation;
} JobRef;
JobRef *_attnviz_window_job_ref_new (AttnvizWindow *self);
void _attnviz_window_job_ref_free (gpointer data);
/* The window for REF, or NULL when it is gone or REF is not its latest. */
AttnvizWindow *_attnviz_window_job_ref_get (JobRef *ref);
/* An AttnvizRunProgressFunc whose data is a JobRef: the progress bar. */
void _attnviz_window_on_job_progress (double fraction, const char *stage, gpointer user_data);
void _attnviz_window_cancel_job (AttnvizWindow *self);
void _attnviz_window_set_run (AttnvizWindow *self, AttnvizResult *run);

/* attnviz-window-text.c */
char *_attnviz_window_get_text (AttnvizWindow *self);
gboolean _attnviz_window_text_is_blank (const char *text);
void _attnviz_window_show_text_dialog (AttnvizWindow *self);

/* attnviz-window-dnd.c */
void _attnviz_window_rebuild_recent_menu (AttnvizWindow *self);
GtkFileFilter *_attnviz_window_make_filter (const char *name, const char *mime, const char *pattern, const char *extension);
/* Whether a native file chooser was answered with Accept; *PATH gets the
 * local path chosen, NULL when it is not a local file (owned). */
gboolean _attnviz_window_chooser_path (GtkNativeDialog *dialog, int response, char **path);
void _attnviz_window_show_open_dialog (AttnvizWindow *self, gboolean folder);
gboolean _attnviz_window_on_drop (GtkDropTarget *target, const GValue *value, double x, double y, AttnvizWindow *self);

/* attnviz-window-export.c */
void _attnviz_window_show_export_dialog (AttnvizWindow *self);

/* attnviz-window-compare.c */
void _attnviz_window_update_ablate_states (AttnvizWindow *self);
void _attnviz_window_update_marks (AttnvizWindow *self);
void _attnviz_window_reset_variants (AttnvizWindow *self);
void _attnviz_window_on_variant_changed (AttnvizVariantEditor *editor, GParamSpec *pspec, AttnvizWindow *self);
void _attnviz_window_set_comparison (AttnvizWindow *self, AttnvizResult *comparison);
void _attnviz_window_toggle_head (AttnvizWindow *self, int which, int layer, int head);
void _attnviz_window_on_head_toggled (AttnvizGridView *grid, int layer, int head, GdkModifierType state, AttnvizWindow *self);
void _attnviz_window_on_compare_bar_revealed (GtkRevealer *revealer, GParamSpec *pspec, AttnvizWindow *self);

/* attnviz-window-checkpoints.c */
void _attnviz_window_update_step_label (AttnvizWindow *self);
void _attnviz_window_cancel_checkpoint_job (AttnvizWindow *self);
void _attnviz_window_update_checkpoints (AttnvizWindow *self);
void _attnviz_window_on_checkpoint_value_changed (GtkAdjustment *adjustment, AttnvizWindow *self);

/* attnviz-window-actions.c */
void _attnviz_window_on_visible_view_changed (AttnvizWindow *self);
void _attnviz_window_on_changed_head_activated (AttnvizGridView *grid, int layer, int head, AttnvizWindow *self);
/* attnviz-window-overlays.c: the "Colour heads by" dropdown, kept to the
 * run's table and the state's "head-colour". */
void _attnviz_window_init_head_colour (AttnvizWindow *self);
void _attnviz_window_on_head_activated (AttnvizGridView *grid, int layer, int head, AttnvizWindow *self);

void _attnviz_window_actions_init (AttnvizWindow *self);

/* attnviz-window-text.c */
void _attnviz_window_fill_text (AttnvizWindow *self, const char *text, const char *owner);
gboolean _attnviz_window_truncate_text (AttnvizWindow *self, int max_tokens);
void _attnviz_window_text_init (AttnvizWindow *self);
GtkFileFilter *_attnviz_window_text_filter (void);
char *_attnviz_window_text_folder (AttnvizWindow *self);

char *_attnviz_window_escape_mnemonics (const char *text);

/* attnviz-window-heads.c */
void _attnviz_window_heads_init (AttnvizWindow *self);
/* The model file RUN was made with when it is a checkpoint's, else NULL
 * (the window's model). */
const char *_attnviz_window_run_model_path (AttnvizWindow *self, AttnvizResult *run);
void _attnviz_window_cancel_heads_job (AttnvizWindow *self);

/* attnviz-window-lens.c */
void _attnviz_window_lens_init (AttnvizWindow *self);
void _attnviz_window_cancel_lens_job (AttnvizWindow *self);
/* The head table as `attnviz heads` writes it: CSV, or JSON for PATH's
 * extension .json; other extensions are an error. */
char *_attnviz_window_heads_to_text (AttnvizWindow *self, const char *path, GError **error);
void _attnviz_window_show_heads_export_dialog (AttnvizWindow *self);

/* attnviz-window-jobs.c: ties a worker's job (the heads' measures, the
 * lens) to the window without keeping a closed window alive: the run it
 * reads, and its cancellable, which is the window's cancellable at offset
 * SLOT while it is the job the page shows. */
typedef struct {
  GWeakRef window;
  AttnvizResult *run;
  GCancellable *cancellable;
  gsize slot;
} AttnvizWindowWaiter;

AttnvizWindowWaiter *_attnviz_window_waiter_new (AttnvizWindow *self, AttnvizResult *run, gsize slot);
void _attnviz_window_waiter_free (gpointer data);
/* The window W waits for, while W's job is its current one (a reference), else NULL. */
AttnvizWindow *_attnviz_window_waiter_get (AttnvizWindowWaiter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizWindowWaiter, _attnviz_window_waiter_free)

/* attnviz-window-generate.c */
void _attnviz_window_generate_init (AttnvizWindow *self);
/* What Continue, the Steps page and the predictions strip can do now. */
void _attnviz_window_generate_update (AttnvizWindow *self);

/* attnviz-window-session.c */
void _attnviz_window_session_init (AttnvizWindow *self);
gboolean _attnviz_window_is_session_path (const char *path);
gboolean _attnviz_window_session_can_rerun (AttnvizWindow *self);
void _attnviz_window_session_rerun (AttnvizWindow *self);
gboolean _attnviz_window_can_save_run (AttnvizWindow *self);
void _attnviz_window_show_save_run_dialog (AttnvizWindow *self);
void _attnviz_window_show_compare_with_dialog (AttnvizWindow *self);
void _attnviz_window_show_open_session_dialog (AttnvizWindow *self);

/* attnviz-window-demos.c */
void _attnviz_window_demos_init (AttnvizWindow *self);
void _attnviz_window_demo_fill (AttnvizWindow *self, const char *path);
void _attnviz_window_update_samples (AttnvizWindow *self);

G_END_DECLS
