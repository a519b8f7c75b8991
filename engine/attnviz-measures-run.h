/* attnviz-measures-run.h: the per-head measures of a model on some tokens
 *
 * The measures of attnviz-measures.h gathered during the model's own run,
 * then, when asked, the measures that need further runs of the same
 * tokens: the positional ones (pos=none, pos=shuffled) and each head's
 * importance (ablate=LxHy, every head in turn, each run starting from the
 * model run's residual stream before the ablated layer).
 */
#pragma once

#include <gio/gio.h>

#include "attnviz-forward.h"
#include "attnviz-measures.h"

G_BEGIN_DECLS

typedef struct {
  const guint8 *key_class;      /* (T) AttnvizKeyClass, or NULL */
  const float *pattern;         /* (T, T) a user's mask, or NULL */
  const gboolean *special;      /* (T) which tokens are special (for the runs' variants), or NULL */
  gboolean positional;          /* pos-none and pos-shuffled (two more runs) */
  gboolean importance;          /* one ablated run per head */
  AttnvizAblateMode ablate_mode;
  GCancellable *cancellable;
  AttnvizProgressFunc progress; /* the importance runs' share, 0 .. 1, from the calling thread */
  gpointer progress_data;
} AttnvizMeasuresOptions;

/* Every head of MODEL over IDS (T tokens, a decoder-only or encoder
 * model).  *BASE_LOSS (may be NULL) gets the model's mean loss (NaN
 * without an output layer).  Errors: the run's, importance on a model
 * without an output layer, cancellation. */
AttnvizHeadMeasures *attnviz_measures_run (const AttnvizModel *model, const gint32 *ids, int T,
                                           const AttnvizMeasuresOptions *options, double *base_loss,
                                           GError **error);

/* The positional columns from BASE (a run of IDS under the model as it is,
 * recording every head, made with RUN's options): two runs under pos=none
 * and pos=shuffled.  A model the variant does not apply to keeps NaN there. */
gboolean attnviz_measures_add_positional (AttnvizHeadMeasures *table, const AttnvizModel *model, const gint32 *ids,
                                          int T, const AttnvizRunOptions *run, const AttnvizRecording *base,
                                          GError **error);

/* The importance column: for every head, the mean loss with that head
 * ablated (MODE) minus BASE's, each run reusing BASE's residual stream
 * (BASE made with keep_residuals under the model as it is). */
gboolean attnviz_measures_add_importance (AttnvizHeadMeasures *table, const AttnvizModel *model, const gint32 *ids,
                                          int T, const AttnvizRecording *base, AttnvizAblateMode mode,
                                          AttnvizProgressFunc progress, gpointer progress_data,
                                          GCancellable *cancellable, GError **error);

/* (T) the class of each key: a special token after position 0 is a
 * separator; a token whose text (TOKEN_TEXTS, NULL-terminated, may be NULL)
 * is punctuation and blanks only is punctuation.  SPECIAL may be NULL
 * (then the model's BOS and EOS ids are the special tokens). */
guint8 *attnviz_measures_key_classes (const AttnvizModel *model, const gint32 *ids, int T, const gboolean *special,
                                      char *const *token_texts);

/* The repeated random sequence of TransformerLens's induction probes: BOS
 * (when the model has one), then N random tokens r, then r again.  The
 * tokens are drawn from the vocabulary without its special ids, distinct
 * while there are enough of them (so each repeats exactly once), from
 * SEED.  *T = N * 2 (+ 1).  Errors: a sequence longer than the model's
 * context, N < 1. */
gint32 *attnviz_measures_probe_repeat (const AttnvizModel *model, int n, guint32 seed, int *T, GError **error);

/* A user's (T, T) pattern from a .npy file: errors name the file and the
 * shape it has and needs. */
float *attnviz_measures_load_pattern (const char *path, int T, GError **error);

G_END_DECLS
