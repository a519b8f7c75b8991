/* attnviz-window.h: the main window: a model, a text, and its attention */
#pragma once

#include <adwaita.h>

#include "attnviz-painter.h"
#include "attnviz-result.h"
#include "attnviz-session.h"
#include "attnviz-variant-editor.h"
#include "attnviz-view-state.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_WINDOW (attnviz_window_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizWindow, attnviz_window, ATTNVIZ, WINDOW, AdwApplicationWindow)

AttnvizWindow *attnviz_window_new (GtkApplication *application);

/* Opens the model at PATH in the background; when the text box holds a
 * text, runs it on that text once loaded. */
void attnviz_window_open (AttnvizWindow *self, const char *path);
void attnviz_window_set_text (AttnvizWindow *self, const char *text);
/* Opens attention that is already made (a dump, or another framework's
 * tensor with its TOKENS and SOURCE_TOKENS files, both may be NULL:
 * engine/attnviz-session.h) in the background and shows it as its run,
 * without a model.  attnviz_window_open () comes here for such paths. */
void attnviz_window_open_session (AttnvizWindow *self, const char *path, const char *tokens,
                                  const char *source_tokens);
/* The file the run shown was opened from, or NULL (a model's run). */
const AttnvizSession *attnviz_window_get_session (AttnvizWindow *self);
/* File → Save Run: writes the run shown as a dump at PATH (npy folder,
 * or .safetensors / .json by the extension) in the background;
 * "run-saved" (gboolean) tells how it went. */
void attnviz_window_save_run (AttnvizWindow *self, const char *path);
/* Opens PATH (a dump of the same tokens) in the background and shows the
 * run shown minus it, as Compare mode shows A − B. */
void attnviz_window_compare_with (AttnvizWindow *self, const char *path);
/* Reads PATH into the text box in the background (win.open-text asks for
 * the file), through attnviz_text_file_read ()'s checks: a file that is
 * not a regular one, too large or not UTF-8 is refused with a one-line
 * error in the banner.  "text-file-read" (gboolean) tells how it went. */
void attnviz_window_open_text_file (AttnvizWindow *self, const char *path);
/* The text box's own count of the tokens its text makes (-1 while there
 * is none), and the label that shows it. */
int attnviz_window_get_text_token_count (AttnvizWindow *self);
const char *attnviz_window_get_text_token_label (AttnvizWindow *self);
/* Runs the open model on the text; a run in progress is cancelled. */
void attnviz_window_run (AttnvizWindow *self);

/* Continue: the open model (a causal language model) writes up to N more
 * tokens after the text (greedy, or sampled as the sidebar's options
 * say) in a worker, then the prompt and what it wrote run as one; the
 * written text is added to the box (one step of Undo) and its tokens are
 * marked in the strip.  "run-finished" tells how it went; win.cancel stops
 * it.  The sidebar's count is N. */
void attnviz_window_continue (AttnvizWindow *self);
void attnviz_window_set_continue_options (AttnvizWindow *self, int n_tokens, double temperature, guint32 seed);

/* What the run's views show (run, attention, layer, head, aggregate,
 * colour map, scale, selection), and the comparison's views, whose
 * position is bound to it. */
AttnvizViewState *attnviz_window_get_state (AttnvizWindow *self);
AttnvizViewState *attnviz_window_get_comparison_state (AttnvizWindow *self);

/* The attention the views show (for an encoder-decoder, the one
 * attnviz_window_set_attention () picked from the run). */
AttnvizResult *attnviz_window_get_result (AttnvizWindow *self);
/* The run shown: the model's, or a checkpoint's (for an encoder-decoder,
 * its decoder self-attention, with the other two reachable from it). */
AttnvizResult *attnviz_window_get_run (AttnvizWindow *self);
/* An encoder-decoder: which attention the views show (win.attention). */
void attnviz_window_set_attention (AttnvizWindow *self, AttnvizAttentionKind kind);
AttnvizAttentionKind attnviz_window_get_attention (AttnvizWindow *self);
/* An encoder-decoder's output for the text as the sidebar shows it, or
 * NULL. */
const char *attnviz_window_get_output (AttnvizWindow *self);

/* Checkpoints: the marks of the training-step slider (the model itself
 * included), 0 when the model has none; the step of the run shown (the
 * "step" property), -1 without checkpoints; the slider; its label. */
int attnviz_window_get_n_checkpoints (AttnvizWindow *self);
int attnviz_window_get_step (AttnvizWindow *self);
GtkWidget *attnviz_window_get_checkpoint_scale (AttnvizWindow *self);
const char *attnviz_window_get_step_label (AttnvizWindow *self);
gboolean attnviz_window_get_busy (AttnvizWindow *self);
/* Whether the views show a run older than the last request, which
 * failed (they are dimmed and say so). */
gboolean attnviz_window_get_stale (AttnvizWindow *self);
/* The message the error banner shows, or NULL. */
const char *attnviz_window_get_error (AttnvizWindow *self);
/* Whether the error banner offers "Truncate to N Tokens and Run"
 * (win.truncate-and-run): the text is longer than a learned position table. */
gboolean attnviz_window_get_truncate_offered (AttnvizWindow *self);

/* The heatmap figure exactly as win.export-to writes it: its spec (into
 * the window's result) and size in points. */
gboolean attnviz_window_get_export_heatmap (AttnvizWindow *self, AttnvizHeatmapSpec *spec,
                                            double *width_pt, double *height_pt);

/* Compare mode: the bar of variant editors A and B shows, and a run runs
 * the model as it is, A and B (win.compare). */
void attnviz_window_set_compare (AttnvizWindow *self, gboolean compare);
gboolean attnviz_window_get_compare (AttnvizWindow *self);
/* The last comparison, A − B (a difference result), or NULL. */
AttnvizResult *attnviz_window_get_comparison (AttnvizWindow *self);
/* The editor of variant A (WHICH 0) or B (1). */
AttnvizVariantEditor *attnviz_window_get_variant_editor (AttnvizWindow *self, int which);
/* The widget of a view stack page: "grid", "heatmap", "lines", "changes"
 * (an AttnvizGridView of the comparison) or "compare" (an
 * AttnvizCompareView). */
GtkWidget *attnviz_window_get_view (AttnvizWindow *self, const char *name);

/* Writes the current view to PATH (PNG, SVG or PDF by the extension) in
 * the background; the "exported" signal tells how it went. */
void attnviz_window_export (AttnvizWindow *self, const char *path);

G_END_DECLS
