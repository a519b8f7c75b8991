/* attnviz-window-session.c: runs opened from files, without a model
 * (issue 13)
 *
 * A dump or another framework's attention (engine/attnviz-session.h) is
 * read and checked in a worker (GTask), then shown as the run it came
 * from: its recording becomes the window's run, the sidebar says where it
 * came from, and what needs a model (Run, Compare Variants) stays off
 * until one is opened; "Open Its Model and Run" re-runs a dump when the
 * model its metadata names is on this computer and its text can be put
 * back together from its tokens.  File → Save Run writes the run shown
 * (a session's, or a model's) through the dump writer, in a worker;
 * Compare with Dump… opens a second file of the same tokens and shows A −
 * B as Compare mode does (the Changes and A vs B pages).
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include "attnviz-dump.h"
#include "attnviz-fileutil.h"
#include "attnviz-difference.h"
#include "attnviz-measures.h"
#include "attnviz-run-result.h"
#include "attnviz-predictions.h"
#include "attnviz-window-private.h"

typedef struct {
  char *path, *tokens, *source_tokens;
} LoadArgs;

static void
load_args_free (gpointer data)
{
  LoadArgs *a = data;
  g_free (a->path);
  g_free (a->tokens);
  g_free (a->source_tokens);
  g_free (a);
}

/* What a worker leaves: the session, and the head measures its attention
 * gives without a model (entropy, distance, sinks, offsets; the duplicate
 * and induction scores from a dump's token ids), for the Heads page. */
typedef struct {
  AttnvizSession *session;
  AttnvizHeadMeasures *measures;
} Loaded;

static void
loaded_free (Loaded *l)
{
  attnviz_session_free (l->session);
  attnviz_head_measures_free (l->measures);
  g_free (l);
}

static AttnvizHeadMeasures *
measures_of (const AttnvizSession *s, GCancellable *cancellable)
{
  const AttnvizRecording *rec = s->rec;
  /* an encoder-decoder's runs carry none, as the model's own do */
  if (rec->attention == NULL || rec->S > 0 || rec->n_rec_layers != rec->n_layer || rec->n_rec_heads != rec->n_head)
    return NULL;
  AttnvizMeasuresInput input = { rec->T, s->origin == ATTNVIZ_SESSION_DUMP ? rec->ids : NULL, NULL, NULL };
  g_autoptr(AttnvizMeasuresAcc) acc = attnviz_measures_acc_new (rec->n_layer, rec->n_head, &input);
  if (!attnviz_measures_acc_add_attention (acc, rec->attention, cancellable))
    return NULL;
  AttnvizHeadMeasures *m = attnviz_head_measures_new (rec->n_layer, rec->n_head);
  attnviz_measures_acc_finish (acc, m);
  return m;
}

static void
load_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  const LoadArgs *a = data;
  GError *error = NULL;
  AttnvizSession *s = attnviz_session_load (a->path, a->tokens, a->source_tokens, 0, &error);
  if (s == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  Loaded *l = g_new0 (Loaded, 1);
  l->session = s;
  l->measures = measures_of (s, cancellable);
  if (g_task_return_error_if_cancelled (task))
    loaded_free (l);
  else
    g_task_return_pointer (task, l, (GDestroyNotify) loaded_free);
}

/* The session of a finished load (and its measures into *MEASURES, when
 * asked), or NULL with ERROR. */
static AttnvizSession *
load_finish (GAsyncResult *res, AttnvizHeadMeasures **measures, GError **error)
{
  Loaded *l = g_task_propagate_pointer (G_TASK (res), error);
  if (l == NULL)
    return NULL;
  AttnvizSession *s = g_steal_pointer (&l->session);
  if (measures != NULL)
    *measures = g_steal_pointer (&l->measures);
  loaded_free (l);
  return s;
}

/* Reads PATH (and its token files) in a worker; DONE gets the session. */
static void
load_async (AttnvizWindow *self, const char *path, const char *tokens, const char *source_tokens,
            GCancellable *cancellable, GAsyncReadyCallback done, gpointer user_data)
{
  LoadArgs *a = g_new0 (LoadArgs, 1);
  a->path = g_strdup (path);
  a->tokens = g_strdup (tokens);
  a->source_tokens = g_strdup (source_tokens);
  g_autoptr(GTask) task = g_task_new (self, cancellable, done, user_data);
  g_task_set_source_tag (task, load_async);
  g_task_set_task_data (task, a, load_args_free);
  g_task_run_in_thread (task, load_thread);
}

static char *text_of_tokens (const AttnvizToken *tokens, char **labels, int T);

static GArray *
token_array (const AttnvizToken *tokens, int n)
{
  if (tokens == NULL)
    return NULL;
  GArray *a = g_array_sized_new (FALSE, FALSE, sizeof (AttnvizToken), n);
  g_array_append_vals (a, tokens, n);
  return a;
}

/* The texts of REC's candidates without a tokenizer: a token's own text
 * where the dump holds that id among its tokens, else "#ID". */
static char **
candidate_labels (const AttnvizRecording *rec, const char *const *token_labels)
{
  gsize n = (gsize) rec->T * rec->top_k;
  g_autoptr(GHashTable) known = g_hash_table_new (g_direct_hash, g_direct_equal);
  for (int t = rec->T - 1; t >= 0 && token_labels != NULL; t--)
    if (token_labels[t] != NULL)
      g_hash_table_insert (known, GINT_TO_POINTER (rec->ids[t]), (gpointer) token_labels[t]);
  char **labels = g_new0 (char *, n + 1);
  for (gsize i = 0; i < n; i++)
    {
      const char *label = g_hash_table_lookup (known, GINT_TO_POINTER (rec->topk_ids[i]));
      labels[i] = label ? g_strdup (label) : g_strdup_printf ("#%d", rec->topk_ids[i]);
    }
  return labels;
}

/* The run of session S (its recording, labels and tokens taken over); its
 * text is the dump's when the tokens give it back, else "".  An
 * encoder-decoder's dump gives an encoder-decoder's run: the source as
 * its text, the decoder's tokens as its target. */
static AttnvizResult *
result_of_session (AttnvizSession *s)
{
  AttnvizRecording *rec = s->rec;
  g_autofree char *text = text_of_tokens (s->tokens, s->token_texts, rec->T);
  g_autofree char *name = attnviz_session_display_name (s);
  GArray *tokens = token_array (s->tokens, rec->T);
  char **labels = g_steal_pointer (&s->token_texts);
  if (rec->attention == NULL)
    /* a cross-attention made elsewhere, and nothing else */
    return ATTNVIZ_RESULT (attnviz_run_result_new_cross (g_steal_pointer (&s->rec), labels, tokens,
                                                         g_steal_pointer (&s->source_texts),
                                                         token_array (s->source_tokens, rec->S), name));
  if (rec->S > 0)
    {
      g_autofree char *source = text_of_tokens (s->source_tokens, s->source_texts, rec->S);
      GArray *source_tokens = token_array (s->source_tokens, rec->S);
      char **source_labels = g_steal_pointer (&s->source_texts);
      return ATTNVIZ_RESULT (attnviz_run_result_new_seq2seq (g_steal_pointer (&s->rec), labels, tokens,
                                                             text ? text : "", source_labels, source_tokens,
                                                             source ? source : "", name));
    }
  AttnvizRunResult *run = attnviz_run_result_new (g_steal_pointer (&s->rec), labels, tokens, text ? text : "", name);
  /* A causal run's predictions, as the model's run shows them */
  if (rec->causal && rec->top_k > 0 && rec->topk_ids != NULL && rec->loss != NULL && rec->ids != NULL)
    {
      attnviz_run_result_set_loss_predicts_next (run, TRUE);
      attnviz_result_set_predictions (ATTNVIZ_RESULT (run),
                                      candidate_labels (rec, attnviz_result_get_labels (ATTNVIZ_RESULT (run))));
    }
  return ATTNVIZ_RESULT (run);
}

/* The text a dump's tokens were cut from, when their spans tile it: the
 * texts of the tokens that are not special, in order.  NULL otherwise. */
static char *
text_of_tokens (const AttnvizToken *tokens, char **labels, int T)
{
  if (tokens == NULL || labels == NULL)
    return NULL;
  GString *text = g_string_new (NULL);
  for (int t = 0; t < T; t++)
    {
      if (tokens[t].special)
        continue;
      if (tokens[t].start != text->len || tokens[t].end - tokens[t].start != strlen (labels[t]))
        return g_string_free (text, TRUE), NULL;
      g_string_append (text, labels[t]);
    }
  return text->len > 0 ? g_string_free (text, FALSE) : (g_string_free (text, TRUE), NULL);
}

/* What the sidebar says of a session: where it came from. */
static char *
describe_session (const AttnvizSession *s, const AttnvizResult *run)
{
  g_autofree char *file = g_path_get_basename (s->path);
  const AttnvizRecording *rec = attnviz_result_get_recording ((AttnvizResult *) run);
  if (s->origin == ATTNVIZ_SESSION_FOREIGN && rec->attention == NULL)
    return g_strdup_printf ("Opened from %s: a cross-attention made elsewhere, %d %s × %d %s, %d target × %d source "
                            "tokens%s; no self-attention, no model",
                            file, rec->n_layer, rec->n_layer == 1 ? "layer" : "layers", rec->n_head,
                            rec->n_head == 1 ? "head" : "heads", rec->T, rec->S, s->numbered ? " (numbered)" : "");
  if (s->origin == ATTNVIZ_SESSION_FOREIGN)
    return g_strdup_printf ("Opened from %s: attention made elsewhere, %d %s × %d %s, %d %s%s; no model",
                            file, rec->n_layer, rec->n_layer == 1 ? "layer" : "layers", rec->n_head,
                            rec->n_head == 1 ? "head" : "heads", rec->T, rec->T == 1 ? "token" : "tokens",
                            s->numbered ? " (numbered)" : "");
  g_autofree char *model = attnviz_model_display_name (s->model_path);
  /* an encoder-decoder's dump counts both its sides, as the token strip does */
  g_autofree char *tokens = rec->S > 0 ? g_strdup_printf ("%d source · %d target tokens", rec->S, rec->T)
                                       : g_strdup_printf ("%d tokens", rec->T);
  return g_strdup_printf ("Opened from %s: an attnviz dump of %s (%s), %s%s%s; the model is not loaded",
                          file, model, *s->model_type ? s->model_type : "?", tokens,
                          g_strcmp0 (rec->variant, "model") != 0 ? ", variant " : "",
                          g_strcmp0 (rec->variant, "model") != 0 ? rec->variant : "");
}

static void
on_session_loaded (GObject *source, GAsyncResult *res, gpointer user_data)
{
  guint generation = GPOINTER_TO_UINT (user_data);
  AttnvizWindow *self = ATTNVIZ_WINDOW (source);
  g_autoptr(GError) error = NULL;
  AttnvizHeadMeasures *measures = NULL;
  g_autoptr(AttnvizSession) s = load_finish (res, &measures, &error);
  g_autoptr(AttnvizHeadMeasures) owned_measures = measures;
  if (generation != self->generation)
    return;   /* a newer request, or a cancel, took over */
  g_clear_pointer (&self->loading_path, g_free);
  g_clear_object (&self->cancellable);
  self->busy = FALSE;
  if (s == NULL)
    {
      /* the run shown is still what it was: not dimmed, the error in the banner */
      _attnviz_window_show_error (self, error->message);
      _attnviz_window_update_state (self);
      g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_BUSY]);
      g_signal_emit (self, _attnviz_window_signals[RUN_FINISHED], 0, FALSE);
      return;
    }
  g_autofree char *rows_note = attnviz_session_describe_rows (s);

  /* Nothing of a model stays: the views show the file's run alone. */
  if (self->compare)
    attnviz_window_set_compare (self, FALSE);
  _attnviz_window_set_comparison (self, NULL);
  g_clear_pointer (&self->model, attnviz_loaded_model_unref);
  attnviz_token_counter_set_model (self->token_counter, NULL);
  _attnviz_window_update_samples (self);   /* no demo open: no Samples menu */
  g_clear_object (&self->final_run);
  _attnviz_window_forget_continues (self);
  g_array_set_size (self->checkpoints, 0);
  g_hash_table_remove_all (self->checkpoint_runs);
  _attnviz_window_cancel_checkpoint_job (self);
  _attnviz_window_dismiss_error (self);
  _attnviz_window_set_stale (self, FALSE);

  g_clear_pointer (&self->session_text, g_free);
  /* the text the model read: an encoder-decoder's source */
  self->session_text = s->rec->S > 0 ? text_of_tokens (s->source_tokens, s->source_texts, s->rec->S)
                                     : text_of_tokens (s->tokens, s->token_texts, s->rec->T);
  /* (read before the run takes the labels) */
  g_autofree char *listed = s->numbered || s->token_texts == NULL ? NULL : g_strjoinv (" ", s->token_texts);
  g_autoptr(AttnvizResult) run = result_of_session (s);
  if (owned_measures != NULL)
    attnviz_run_result_set_measures (ATTNVIZ_RUN_RESULT (run), g_steal_pointer (&owned_measures));
  /* the box shows the dump's text when its tokens give it back; else the
   * file's own token list, spaced, or nothing: never an earlier run's text,
   * which these views do not show */
  if (self->session_text != NULL)
    _attnviz_window_fill_text (self, self->session_text, s->model_path);
  else
    _attnviz_window_fill_text (self, listed ? listed : "", s->model_path);
  g_autofree char *details = describe_session (s, run);
  g_autofree char *name = attnviz_session_display_name (s);
  gtk_label_set_text (self->model_label, name);
  gtk_label_set_text (self->model_details, details);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->model_label), s->path);
  adw_view_switcher_title_set_subtitle (self->switcher_title, name);
  g_autofree char *title = g_strdup_printf ("%s — attnviz", name);
  gtk_window_set_title (GTK_WINDOW (self), title);
  g_clear_pointer (&self->session, attnviz_session_free);
  self->session = g_steal_pointer (&s);

  _attnviz_window_set_run (self, run);
  adw_view_stack_set_visible_child_name (self->view_stack, "grid");
  if (rows_note != NULL)
    _attnviz_window_show_toast (self, "Some rows do not sum to 1: shown as they are, as scores");
  _attnviz_window_focus_view (self);
  _attnviz_window_update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_BUSY]);
  g_signal_emit (self, _attnviz_window_signals[RUN_FINISHED], 0, TRUE);
}

void
attnviz_window_open_session (AttnvizWindow *self, const char *path, const char *tokens, const char *source_tokens)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->generation++;
  g_free (self->loading_path);
  self->loading_path = g_strdup (path);
  _attnviz_window_set_busy (self, TRUE);
  gtk_progress_bar_set_text (self->progress_bar, "Reading the attention…");
  gtk_progress_bar_pulse (self->progress_bar);
  _attnviz_window_update_state (self);
  load_async (self, path, tokens, source_tokens, self->cancellable, on_session_loaded,
              GUINT_TO_POINTER (self->generation));
}

gboolean
_attnviz_window_is_session_path (const char *path)
{
  return attnviz_session_is_session_path (path, FALSE);
}

gboolean
_attnviz_window_session_can_rerun (AttnvizWindow *self)
{
  return self->session != NULL && self->session->origin == ATTNVIZ_SESSION_DUMP && self->session_text != NULL
         && self->session->model_path != NULL && attnviz_path_present (self->session->model_path);
}

void
_attnviz_window_session_rerun (AttnvizWindow *self)
{
  if (!_attnviz_window_session_can_rerun (self))
    return;
  g_autofree char *model = g_strdup (self->session->model_path);
  _attnviz_window_fill_text (self, self->session_text, model);
  attnviz_window_open (self, model);
}

/* ---- Save Run ---- */

typedef struct {
  AttnvizResult *run;
  char *path;
  AttnvizDumpFormat format;
  char *model_path, *architecture, *model_type;
  /* an encoder-decoder's source side, as the cross-attention labels it */
  char **source_texts;          /* (S + 1), or NULL */
  AttnvizToken *source_tokens;  /* (S), or NULL */
} SaveArgs;

static void
save_args_free (gpointer data)
{
  SaveArgs *a = data;
  g_object_unref (a->run);
  g_free (a->path);
  g_free (a->model_path);
  g_free (a->architecture);
  g_free (a->model_type);
  g_strfreev (a->source_texts);
  g_free (a->source_tokens);
  g_free (a);
}

static void
save_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  SaveArgs *a = data;
  const AttnvizRecording *rec = attnviz_result_get_recording (a->run);
  int T = rec->T;
  g_autofree AttnvizToken *tokens = NULL;
  if (attnviz_result_get_token (a->run, 0) != NULL)
    {
      tokens = g_new (AttnvizToken, T);
      for (int t = 0; t < T; t++)
        tokens[t] = *attnviz_result_get_token (a->run, t);
    }
  AttnvizDumpInfo info = {
    .model_path = a->model_path, .architecture = a->architecture, .model_type = a->model_type,
    .variant = rec->variant, .tokens = tokens,
    .token_texts = (char **) attnviz_result_get_labels (a->run),
    .source_tokens = a->source_tokens, .source_texts = a->source_texts,
  };
  AttnvizDumpOptions options = ATTNVIZ_DUMP_OPTIONS_INIT;
  options.format = a->format;
  GError *error = NULL;
  if (attnviz_dump_write (rec, &info, &options, a->path, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_saved (GObject *source, GAsyncResult *res, gpointer user_data)
{
  AttnvizWindow *self = ATTNVIZ_WINDOW (source);
  g_autoptr(GError) error = NULL;
  const SaveArgs *a = g_task_get_task_data (G_TASK (res));
  if (!g_task_propagate_boolean (G_TASK (res), &error))
    _attnviz_window_show_error (self, error->message);
  else
    {
      g_autofree char *name = g_path_get_basename (a->path);
      g_autofree char *message = g_strdup_printf ("Saved the run to %s", name);
      _attnviz_window_show_toast (self, message);
    }
  g_signal_emit (self, _attnviz_window_signals[RUN_SAVED], 0, error == NULL);
}

gboolean
_attnviz_window_can_save_run (AttnvizWindow *self)
{
  AttnvizResult *run = attnviz_view_state_get_run (self->state);
  /* a cross-attention made elsewhere is no run a dump holds */
  return run != NULL && ATTNVIZ_IS_RUN_RESULT (run) && attnviz_result_get_recording (run)->attention != NULL;
}

/* A's source side into A, when its run is an encoder-decoder's. */
static void
save_args_set_source (SaveArgs *a)
{
  g_autoptr(AttnvizResult) cross = attnviz_result_get_attention (a->run, ATTNVIZ_ATTENTION_CROSS);
  if (cross == NULL)
    return;
  int S = attnviz_result_get_n_cols (cross);
  a->source_texts = g_strdupv ((char **) attnviz_result_get_col_labels (cross));
  if (attnviz_result_get_col_token (cross, 0) == NULL)
    return;
  a->source_tokens = g_new (AttnvizToken, S);
  for (int s = 0; s < S; s++)
    a->source_tokens[s] = *attnviz_result_get_col_token (cross, s);
}

void
attnviz_window_save_run (AttnvizWindow *self, const char *path)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));
  if (!_attnviz_window_can_save_run (self))
    {
      _attnviz_window_show_error (self, "Save Run writes a model's run or a dump: there is none to save.");
      return;
    }
  SaveArgs *a = g_new0 (SaveArgs, 1);
  a->run = g_object_ref (attnviz_view_state_get_run (self->state));
  a->path = g_strdup (path);
  save_args_set_source (a);
  a->format = g_str_has_suffix (path, ".safetensors") ? ATTNVIZ_DUMP_SAFETENSORS
            : g_str_has_suffix (path, ".json") ? ATTNVIZ_DUMP_JSON : ATTNVIZ_DUMP_NPY;
  if (self->session != NULL)
    {
      a->model_path = g_strdup (self->session->model_path ? self->session->model_path : "");
      a->architecture = g_strdup (self->session->architecture);
      a->model_type = g_strdup (self->session->model_type);
    }
  else if (self->model != NULL)
    {
      const AttnvizConfig *c = &attnviz_loaded_model_get_model (self->model)->config;
      a->model_path = g_strdup (attnviz_loaded_model_get_path (self->model));
      a->architecture = g_strdup (c->architecture);
      a->model_type = g_strdup (c->model_type);
    }
  g_autoptr(GTask) task = g_task_new (self, NULL, on_saved, NULL);
  g_task_set_task_data (task, a, save_args_free);
  g_task_run_in_thread (task, save_thread);
}

static void
on_save_response (GtkNativeDialog *dialog, int response, AttnvizWindow *self)
{
  g_autofree char *path = NULL;
  if (_attnviz_window_chooser_path (dialog, response, &path) && path != NULL)
    attnviz_window_save_run (self, path);
  g_clear_object (&self->chooser);
}

void
_attnviz_window_show_save_run_dialog (AttnvizWindow *self)
{
  if (self->chooser != NULL || !_attnviz_window_can_save_run (self))
    return;
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new ("Save Run", GTK_WINDOW (self),
                                                               GTK_FILE_CHOOSER_ACTION_SAVE, "_Save", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), "run.safetensors");
  g_signal_connect (chooser, "response", G_CALLBACK (on_save_response), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

/* ---- Compare with another dump ---- */

static void
on_other_loaded (GObject *source, GAsyncResult *res, gpointer user_data)
{
  guint generation = GPOINTER_TO_UINT (user_data);
  AttnvizWindow *self = ATTNVIZ_WINDOW (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSession) other = load_finish (res, NULL, &error);
  if (generation != self->generation)
    return;
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->loading_path, g_free);
  self->busy = FALSE;
  AttnvizResult *a = attnviz_view_state_get_run (self->state);
  g_autoptr(AttnvizResult) diff = NULL;
  if (other != NULL && a != NULL)
    {
      g_autoptr(AttnvizResult) b = result_of_session (other);
      const char *const *la = attnviz_result_get_labels (a), *const *lb = attnviz_result_get_labels (b);
      g_autoptr(AttnvizResult) ca = attnviz_result_get_attention (a, ATTNVIZ_ATTENTION_CROSS);
      g_autoptr(AttnvizResult) cb = attnviz_result_get_attention (b, ATTNVIZ_ATTENTION_CROSS);
      /* an encoder-decoder's: the same target and the same source */
      gboolean same_source = (ca == NULL) == (cb == NULL)
                             && (ca == NULL || g_strv_equal (attnviz_result_get_col_labels (ca),
                                                             attnviz_result_get_col_labels (cb)));
      if (attnviz_result_get_n_tokens (a) != attnviz_result_get_n_tokens (b) || !g_strv_equal (la, lb) || !same_source)
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "%s holds other tokens than the run shown: A − B compares runs of the same tokens",
                     other->path);
      else
        diff = ATTNVIZ_RESULT (attnviz_difference_new (a, b, &error));
    }
  if (diff == NULL)
    _attnviz_window_show_error (self, error ? error->message : "Open a run to compare with first.");
  else
    {
      _attnviz_window_dismiss_error (self);
      /* Compare mode's pages, without its variant editors: there is no
       * model to run variants of. */
      self->compare = TRUE;
      _attnviz_window_set_comparison (self, diff);
      g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "compare")),
                                 g_variant_new_boolean (TRUE));
      adw_view_stack_set_visible_child_name (self->view_stack, "changes");
      g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_COMPARE]);
    }
  _attnviz_window_update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), _attnviz_window_properties[PROP_BUSY]);
  g_signal_emit (self, _attnviz_window_signals[RUN_FINISHED], 0, diff != NULL);
}

void
attnviz_window_compare_with (AttnvizWindow *self, const char *path)
{
  g_return_if_fail (ATTNVIZ_IS_WINDOW (self));
  g_return_if_fail (path != NULL);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->generation++;
  _attnviz_window_set_busy (self, TRUE);
  gtk_progress_bar_set_text (self->progress_bar, "Reading the attention to compare with…");
  load_async (self, path, NULL, NULL, self->cancellable, on_other_loaded, GUINT_TO_POINTER (self->generation));
}

static void
on_compare_response (GtkNativeDialog *dialog, int response, AttnvizWindow *self)
{
  g_autofree char *path = NULL;
  if (_attnviz_window_chooser_path (dialog, response, &path) && path != NULL)
    attnviz_window_compare_with (self, path);
  g_clear_object (&self->chooser);
}

void
_attnviz_window_show_compare_with_dialog (AttnvizWindow *self)
{
  if (self->chooser != NULL || attnviz_view_state_get_run (self->state) == NULL)
    return;
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new ("Compare with a Dump", GTK_WINDOW (self),
                                                               GTK_FILE_CHOOSER_ACTION_OPEN, "_Compare", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  GtkFileFilter *dumps = gtk_file_filter_new ();
  gtk_file_filter_set_name (dumps, "Dumps and attention (.safetensors, .json, .npy, metadata.json)");
  gtk_file_filter_add_pattern (dumps, "*.safetensors");
  gtk_file_filter_add_pattern (dumps, "*.json");
  gtk_file_filter_add_pattern (dumps, "*.npy");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), dumps);
  g_object_unref (dumps);
  g_signal_connect (chooser, "response", G_CALLBACK (on_compare_response), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

/* ---- the sidebar's button, the open dialog ---- */

void
_attnviz_window_session_init (AttnvizWindow *self)
{
  self->rerun_button = gtk_button_new_with_mnemonic ("_Open Its Model and Run");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->rerun_button), "win.session-rerun");
  gtk_widget_set_halign (self->rerun_button, GTK_ALIGN_START);
  gtk_widget_set_margin_top (self->rerun_button, 6);
  gtk_widget_set_tooltip_text (self->rerun_button, "Load the model this dump names and run it on the same text");
  gtk_widget_set_visible (self->rerun_button, FALSE);
  GtkWidget *box = gtk_widget_get_parent (GTK_WIDGET (self->model_details));
  gtk_box_insert_child_after (GTK_BOX (box), self->rerun_button, GTK_WIDGET (self->model_details));
}

const AttnvizSession *
attnviz_window_get_session (AttnvizWindow *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_WINDOW (self), NULL);
  return self->session;
}

static void
on_open_session_response (GtkNativeDialog *dialog, int response, AttnvizWindow *self)
{
  g_autofree char *path = NULL;
  if (_attnviz_window_chooser_path (dialog, response, &path))
    {
      if (path != NULL)
        attnviz_window_open_session (self, path, NULL, NULL);
      else
        _attnviz_window_show_error (self, "Attention is read from local files; choose one on this computer.");
    }
  g_clear_object (&self->chooser);
}

void
_attnviz_window_show_open_session_dialog (AttnvizWindow *self)
{
  if (self->chooser != NULL)
    return;
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new ("Open a Dump or Attention File", GTK_WINDOW (self),
                                                               GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  GtkFileFilter *dumps = gtk_file_filter_new ();
  gtk_file_filter_set_name (dumps, "Dumps and attention (.safetensors, .json, .npy; a dump folder's metadata.json)");
  gtk_file_filter_add_pattern (dumps, "*.safetensors");
  gtk_file_filter_add_pattern (dumps, "*.json");
  gtk_file_filter_add_pattern (dumps, "*.npy");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), dumps);
  g_object_unref (dumps);
  g_signal_connect (chooser, "response", G_CALLBACK (on_open_session_response), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}
