/* attnviz-result.h: one finished run, as the widgets see it
 *
 * An immutable object holding the recording, each token's text and byte
 * span, the text and the model's name.  The views share one; the mean and
 * max over the heads of a layer are computed on first use and kept.
 *
 * A difference result compares two runs of the same tokens, A and B: its
 * matrices are A - B (computed on first use and kept), its per-token loss
 * is A's minus B's, it carries one total variation distance per head, and
 * its variant reads "A: mask=bidirectional − B: model".  The views show it
 * like any other result.
 */
#pragma once

#include <glib-object.h>

#include "attnviz-recording.h"
#include "attnviz-tokenizer.h"

G_BEGIN_DECLS

typedef enum {
  ATTNVIZ_AGGREGATE_HEAD,   /* one head */
  ATTNVIZ_AGGREGATE_MEAN,   /* the mean over the heads of a layer */
  ATTNVIZ_AGGREGATE_MAX,    /* the largest weight over the heads of a layer */
} AttnvizAggregate;

#define ATTNVIZ_TYPE_AGGREGATE (attnviz_aggregate_get_type ())
GType attnviz_aggregate_get_type (void) G_GNUC_CONST;
/* GTypes of the painter's enums, for properties. */
#define ATTNVIZ_TYPE_COLORMAP (attnviz_colormap_get_type ())
GType attnviz_colormap_get_type (void) G_GNUC_CONST;
#define ATTNVIZ_TYPE_SCALE_KIND (attnviz_scale_kind_get_type ())
GType attnviz_scale_kind_get_type (void) G_GNUC_CONST;

const char *attnviz_aggregate_to_string (AttnvizAggregate aggregate);
gboolean attnviz_aggregate_from_string (const char *name, AttnvizAggregate *aggregate);

#define ATTNVIZ_TYPE_RESULT (attnviz_result_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizResult, attnviz_result, ATTNVIZ, RESULT, GObject)

/* Takes REC, LABELS ((T + 1) NULL-terminated token texts, as the painter
 * wants them: the raw text, made visible when drawn) and TOKENS ((T)
 * AttnvizToken, or NULL when the run was on ids). */
AttnvizResult *attnviz_result_new (AttnvizRecording *rec,
                                   char **labels,
                                   GArray *tokens,
                                   const char *text,
                                   const char *model_name);

const AttnvizRecording *attnviz_result_get_recording (AttnvizResult *self);
int attnviz_result_get_n_tokens (AttnvizResult *self);
int attnviz_result_get_n_layers (AttnvizResult *self);
int attnviz_result_get_n_heads (AttnvizResult *self);
gboolean attnviz_result_get_causal (AttnvizResult *self);
const char *const *attnviz_result_get_labels (AttnvizResult *self);
const char *attnviz_result_get_label (AttnvizResult *self, int index);
/* NULL when the run was on ids. */
const AttnvizToken *attnviz_result_get_token (AttnvizResult *self, int index);
gint32 attnviz_result_get_token_id (AttnvizResult *self, int index);
const char *attnviz_result_get_text (AttnvizResult *self);
const char *attnviz_result_get_model_name (AttnvizResult *self);

/* The (T, T) matrix for LAYER and HEAD (HEAD is ignored for the
 * aggregates), or NULL when that layer or head was not recorded. */
const float *attnviz_result_get_matrix (AttnvizResult *self,
                                        AttnvizAggregate aggregate,
                                        int layer,
                                        int head);

/* (n_layers * n_heads) layer-major pointers into the recording, for the
 * grid; NULL entries were not recorded. */
const float *const *attnviz_result_get_maps (AttnvizResult *self);

/* "layer 3 · head 5", "layer 3 · mean over 12 heads" (a difference adds
 * " · A − B"). */
char *attnviz_result_describe (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head);

/* The canonical spec of the variant that was run ("model",
 * "mask=window:8"); for a difference "A: SPEC − B: SPEC". */
const char *attnviz_result_get_variant (AttnvizResult *self);

/* Whether the run's loss at position t is that of token t + 1 (a causal
 * model predicts the next token) rather than of token t (a masked LM). */
void attnviz_result_set_loss_predicts_next (AttnvizResult *self, gboolean predicts_next);
/* The negative log-likelihood (nats) of token INDEX as the model predicted
 * it, NaN where there is none (the first token of a causal model, runs
 * without logits); for a difference, A's minus B's. */
double attnviz_result_get_token_loss (AttnvizResult *self, int index);
/* Mean over the tokens that have a loss; NaN when none has.  For a
 * difference, A's mean minus B's. */
double attnviz_result_get_mean_loss (AttnvizResult *self);

/* Compares A and B, two complete runs (every layer and head recorded) of
 * the same tokens by the same model; NULL with an error when they differ
 * in tokens or shape.  Computes the per-head total variation distance. */
AttnvizResult *attnviz_result_new_difference (AttnvizResult *a, AttnvizResult *b, GError **error);
gboolean attnviz_result_is_difference (AttnvizResult *self);
/* A and B of a difference, NULL for a plain run. */
AttnvizResult *attnviz_result_get_a (AttnvizResult *self);
AttnvizResult *attnviz_result_get_b (AttnvizResult *self);
/* (n_layers * n_heads) layer-major: the mean over the rows of the total
 * variation distance between A's and B's rows of each head, in [0, 1];
 * NULL for a plain run. */
const double *attnviz_result_get_tvd (AttnvizResult *self);

G_END_DECLS
