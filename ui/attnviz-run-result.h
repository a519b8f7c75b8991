/* attnviz-run-result.h: a model's run, as a result
 *
 * What a forward pass gave the window: it owns the recording, each
 * token's text and byte span, the text and the model's name, and is the
 * result of its self-attention (an encoder-decoder's: the decoder's, its
 * tokens BOS and the target).  The run alone carries what describes the
 * run rather than an attention of it: the decoded target and output, the
 * checkpoint's step, the per-head measures, how its loss lines up with
 * the tokens.  An encoder-decoder run gives its cross-attention and its
 * encoder's self-attention as AttnvizRunAttention results
 * (attnviz_result_get_attention ()).  Made in a worker, set up there,
 * then immutable.
 */
#pragma once

#include "attnviz-result.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_RUN_RESULT (attnviz_run_result_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizRunResult, attnviz_run_result, ATTNVIZ, RUN_RESULT, AttnvizResult)

/* Takes REC, LABELS ((T + 1) NULL-terminated token texts, as the painter
 * wants them: the raw text, made visible when drawn) and TOKENS ((T)
 * AttnvizToken, or NULL when the run was on ids). */
AttnvizRunResult *attnviz_run_result_new (AttnvizRecording *rec,
                                          char **labels,
                                          GArray *tokens,
                                          const char *text,
                                          const char *model_name);

/* An encoder-decoder run: REC has its source side (rec->S > 0).  LABELS
 * and TOKENS are the decoder's ((T) BOS and the target, spans into
 * TARGET_TEXT), SOURCE_LABELS and SOURCE_TOKENS ((S), spans into TEXT) the
 * source's; takes all four.  The result shows the decoder's self-attention. */
AttnvizRunResult *attnviz_run_result_new_seq2seq (AttnvizRecording *rec,
                                                  char **labels,
                                                  GArray *tokens,
                                                  const char *target_text,
                                                  char **source_labels,
                                                  GArray *source_tokens,
                                                  const char *text,
                                                  const char *model_name);

/* A cross-attention made elsewhere, with no self-attention (REC: S > 0,
 * cross_attn (n_layer, n_head, T, S), no attention): the result shows it,
 * T target rows (LABELS, TOKENS) by S source columns (SOURCE_LABELS,
 * SOURCE_TOKENS), and gives no other attention.  Takes all five. */
AttnvizRunResult *attnviz_run_result_new_cross (AttnvizRecording *rec,
                                                char **labels,
                                                GArray *tokens,
                                                char **source_labels,
                                                GArray *source_tokens,
                                                const char *model_name);

/* The decoded target of an encoder-decoder run, NULL otherwise. */
const char *attnviz_run_result_get_target_text (AttnvizRunResult *self);
/* What the run's own model decodes for the source, when the decoder read
 * another target (a checkpoint shown with the final model's output); NULL
 * when it is the target itself. */
const char *attnviz_run_result_get_output (AttnvizRunResult *self);
void attnviz_run_result_set_output (AttnvizRunResult *self, const char *output);
/* The training step of the model that ran (attnviz_result_get_step ());
 * -1 (the default): none shown. */
void attnviz_run_result_set_step (AttnvizRunResult *self, int step);

/* The per-head measures the run's forward pass gathered
 * (attnviz-measures.h), or NULL (an encoder-decoder, a run made without
 * them).  Set once, by the worker that made the run, before anyone else
 * sees it; takes MEASURES. */
const AttnvizHeadMeasures *attnviz_run_result_get_measures (AttnvizRunResult *self);
void attnviz_run_result_set_measures (AttnvizRunResult *self, AttnvizHeadMeasures *measures);
/* RESULT's measures when it is a run; NULL for NULL and for any other
 * result (an attention of a run, a difference, another matrix). */
const AttnvizHeadMeasures *attnviz_run_result_measures_of (AttnvizResult *result);

/* Whether the run's loss at position t is that of token t + 1 (a causal
 * model predicts the next token) rather than of token t (a masked LM). */
void attnviz_run_result_set_loss_predicts_next (AttnvizRunResult *self, gboolean predicts_next);

G_END_DECLS
