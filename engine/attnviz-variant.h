/* attnviz-variant.h: small, named changes to how a model computes attention
 *
 * A variant is parsed from a spec like "mask=window:8,pos=none" (the CLI's
 * --variant, the GUI's A/B selectors) and handed to attnviz_forward in
 * AttnvizRunOptions.variant.  Its canonical string goes into every dump's
 * and figure's metadata, so an output says exactly what was run.
 *
 * Keys and values:
 *   mask=model | causal | bidirectional | a pattern (attnviz-pattern.h):
 *        window:W | strided:S | block:B | window:W+global:G ...
 *   exclude=special | I+J+...       keys removed from every row, rows renormalised
 *   pos=model | none | sinusoidal | shuffled[:SEED] | reversed | rope-theta:THETA
 *   score=model | dot | scale:S     (additive only where the model has it: score=additive)
 *   ablate=LxHy+LxHy...             heads switched off
 *   ablate-mode=zero | mean         their output zeroed, or set to its mean over the input
 */
#pragma once

#include <glib.h>

#include "attnviz-config.h"

G_BEGIN_DECLS

typedef enum {
  ATTNVIZ_MASK_MODEL,          /* the model's own */
  ATTNVIZ_MASK_CAUSAL,
  ATTNVIZ_MASK_BIDIRECTIONAL,
  ATTNVIZ_MASK_WINDOW,         /* |i - j| < window (and j <= i when causal) */
  ATTNVIZ_MASK_STRIDED,        /* |i - j| < stride or (i - j) % stride == 0 (and j <= i when causal) */
  ATTNVIZ_MASK_PATTERN,        /* any other pattern: blocks, global tokens, terms combined */
} AttnvizMaskKind;

typedef enum {
  ATTNVIZ_POSITIONS_MODEL,
  ATTNVIZ_POSITIONS_NONE,      /* embeddings not added, RoPE not applied */
  ATTNVIZ_POSITIONS_SINUSOIDAL,/* Vaswani et al. sin/cos added in place of the model's scheme */
  ATTNVIZ_POSITIONS_SHUFFLED,  /* the tokens keep their order, the position ids are permuted */
  ATTNVIZ_POSITIONS_REVERSED,  /* position ids T-1 .. 0 */
  ATTNVIZ_POSITIONS_ROPE_THETA,/* RoPE with another base */
} AttnvizPositionsVariant;

typedef enum {
  ATTNVIZ_SCORE_VARIANT_MODEL,
  ATTNVIZ_SCORE_VARIANT_DOT,   /* no 1/sqrt(d) */
  ATTNVIZ_SCORE_VARIANT_SCALE, /* a user-set factor in place of 1/sqrt(d) */
  ATTNVIZ_SCORE_VARIANT_ADDITIVE, /* only valid on models trained with it */
} AttnvizScoreVariant;

typedef enum {
  ATTNVIZ_ABLATE_ZERO,
  ATTNVIZ_ABLATE_MEAN,
} AttnvizAblateMode;

typedef struct {
  int layer;
  int head;
} AttnvizHeadRef;

typedef struct {
  AttnvizMaskKind mask;
  AttnvizPattern pattern;      /* ATTNVIZ_MASK_WINDOW, _STRIDED (pattern.window, .stride alone), _PATTERN */

  gboolean exclude_special;    /* keys flagged special (BOS, [CLS], [SEP]) removed */
  int *exclude;                /* (n_exclude) token positions removed as keys */
  int n_exclude;

  AttnvizPositionsVariant positions;
  guint32 shuffle_seed;
  float rope_theta;

  AttnvizScoreVariant score;
  float scale;

  AttnvizHeadRef *ablate;      /* (n_ablate) */
  int n_ablate;
  AttnvizAblateMode ablate_mode;
} AttnvizVariant;

/* The model as it is. */
void attnviz_variant_init (AttnvizVariant *variant);
void attnviz_variant_clear (AttnvizVariant *variant);
void attnviz_variant_copy (AttnvizVariant *dest, const AttnvizVariant *src);

/* Parses SPEC ("" or "model" is the model as it is).  Errors name the key. */
gboolean attnviz_variant_parse (AttnvizVariant *variant, const char *spec, GError **error);

/* Checks that VARIANT makes sense for a model (RoPE base only on RoPE
 * models, additive only where trained, layers/heads exist). */
gboolean attnviz_variant_check (const AttnvizVariant *variant, const AttnvizConfig *config, GError **error);

/* The canonical spec: "model" for the model as it is, else the changed
 * keys in a fixed order ("mask=window:8,pos=none"). */
char *attnviz_variant_to_string (const AttnvizVariant *variant);

/* The sparse pattern a run of a model trained with MODEL_PATTERN takes
 * under VARIANT: the model's (mask=model), none (causal, bidirectional),
 * or the variant's own. */
AttnvizPattern attnviz_variant_effective_pattern (const AttnvizVariant *variant, const AttnvizPattern *model_pattern);

gboolean attnviz_variant_is_model (const AttnvizVariant *variant);

/* The first layer whose computation differs from the model's own: 0 when
 * the embeddings or every layer change (masks, positions, scores), the
 * lowest ablated layer for ablations alone, n_layer when nothing changes.
 * Everything before it can be reused from a run of the model as it is. */
int attnviz_variant_first_changed_layer (const AttnvizVariant *variant, const AttnvizConfig *config);

gboolean attnviz_variant_head_ablated (const AttnvizVariant *variant, int layer, int head);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AttnvizVariant, attnviz_variant_clear)

/* Position ids for T tokens (NULL: the model's 0 .. T-1 apply). */
gint32 *attnviz_variant_positions (const AttnvizVariant *variant, int T);

G_END_DECLS
