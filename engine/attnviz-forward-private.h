/* attnviz-forward-private.h: what the forward pass's files share: the
 * run's resolved options and work space, and the steps of a layer
 *
 * attnviz-forward.c runs the stacks; attnviz-forward-attention.c is a
 * layer's attention, attnviz-forward-layer.c the rest of a layer and the
 * embeddings, attnviz-forward-logits.c the LM head and the loss.
 */
#pragma once

#include "attnviz-attention-private.h"
#include "attnviz-forward.h"

G_BEGIN_DECLS

/* What a run computes differently from the model as it is: the variant
 * resolved against the model's own description. */
typedef struct {
  const AttnvizConfig *config;
  gboolean causal;          /* self-attention mask */
  int window;               /* > 0: |i - j| < window */
  int stride;               /* > 0: |i - j| < stride or |i - j| % stride == 0 */
  AttnvizScoreKind score;
  float scale;              /* dot-product scores */
  AttnvizPositionKind pos;  /* how positions enter */
  const gint32 *positions;  /* (T) position ids, or NULL: 0 .. T-1 */
  guint8 *key_mask;         /* (T) owned, NULL: every key */
  const float *rel_bias;    /* (rel_buckets, n_head) the stack's relative bias when pos is
                             * ATTNVIZ_POS_RELATIVE, else NULL */
  gboolean rel_bidirectional; /* the encoder's buckets */
  const AttnvizVariant *variant;
} Effective;

typedef struct {
  const AttnvizModel *model;
  const AttnvizRunOptions *opt;
  const Effective *eff;
  gboolean encoder; /* a seq2seq encoder: its own position table and embedding norm (BART) */
  int T;
  float *x;        /* (T, d_model) the residual stream */
  float *h;        /* (T, d_model) normed input of a block */
  float *q;        /* (T, n_head * head_dim) */
  float *k;        /* (max(T, S), n_kv_head * head_dim) */
  float *v;        /* (max(T, S), n_kv_head * head_dim) */
  float *att;      /* (T, n_head * head_dim) attention output before o-proj */
  float *tmp;      /* (T, d_model) */
  float *ff;       /* (T, d_ff) */
  float *ff2;      /* (T, d_ff) gate, gated MLPs only */
  float *inv_freq; /* (head_dim / 2) RoPE */
  /* Progress within a layer: its heads move opt->progress from
   * progress_at by up to progress_span (a long run's layer takes minutes). */
  double progress_at;
  double progress_span;
  int heads_done;  /* of the layer's attention; the heads report one at a
                   * time, in order, under a lock (attnviz-forward-attention.c) */
} RunState;

/* The self-attention mask of a run resolved as E. */
AttnvizMask _attnviz_forward_self_mask (const Effective *e);
/* S->tmp (T, d_model) = the self-attention of layer LAYER over S->h,
 * recorded into ATT when it records the layer. */
gboolean _attnviz_forward_attention_block (RunState *s, const AttnvizLayerWeights *L, AttnvizAttention *att,
                                           int layer, GError **error);
/* Decoder layer LAYER attending to the encoder output ENC (S, d_model). */
gboolean _attnviz_forward_cross_attention_block (RunState *s, const AttnvizLayerWeights *L, AttnvizAttention *att,
                                                 int layer, const float *enc, int S, const guint8 *src_mask,
                                                 GError **error);

/* S->x (T, d_model) = the embeddings of IDS (T). */
void _attnviz_forward_embed (RunState *s, const gint32 *ids);
/* One layer of a stack (ENC != NULL: a decoder layer with cross-attention). */
gboolean _attnviz_forward_layer (RunState *s, const AttnvizLayerWeights *L, AttnvizAttention *att,
                                 AttnvizAttention *cross, int layer, const float *enc, int S,
                                 const guint8 *src_mask, GError **error);

/* TRUE when the N floats of X are all finite; else an error naming WHERE
 * (and LAYER when >= 0). */
gboolean _attnviz_forward_check_finite (const float *x, gsize n, const char *where, int layer, GError **error);
/* The final norm, the LM head and the loss into REC. */
gboolean _attnviz_forward_head_and_loss (RunState *s, AttnvizRecording *rec, const gint32 *ids, GError **error);

G_END_DECLS
