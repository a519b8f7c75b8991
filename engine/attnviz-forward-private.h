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
  AttnvizPattern pattern;   /* the sparse pattern (attnviz-pattern.h) */
  AttnvizScoreKind score;
  float scale;              /* dot-product scores */
  AttnvizPositionKind pos;  /* how positions enter */
  gboolean sin_halves;      /* sinusoids in halves (the model's own, Marian's), not interleaved */
  const gint32 *positions;  /* (T) position ids, or NULL: 0 .. T-1 */
  guint8 *key_mask;         /* (T) owned, NULL: every key */
  const float *rel_bias;    /* (rel_buckets, n_head) the stack's relative bias when pos is
                             * ATTNVIZ_POS_RELATIVE, else NULL */
  gboolean rel_bidirectional; /* the encoder's buckets */
  const AttnvizVariant *variant;
} Effective;

/* The keys and values of the positions decoded so far, every layer's
 * (attnviz-kv-decoder.c): a step runs its new tokens only, attending to
 * these.  Keys are kept after RoPE, as they entered the scores. */
typedef struct {
  int capacity;    /* positions it holds at most */
  int len;         /* positions filled */
  int dkv;         /* n_kv_head * head_dim */
  float *k;        /* (n_layer, capacity, dkv) */
  float *v;        /* (n_layer, capacity, dkv) */
} KvCache;

typedef struct {
  const AttnvizModel *model;
  const AttnvizRunOptions *opt;
  const Effective *eff;
  gboolean encoder; /* a seq2seq encoder: its own position table and embedding norm (BART) */
  int T;
  KvCache *cache;  /* incremental decoding: the T rows are positions pos0 .. pos0 + T - 1, attending to
                    * the cache's keys and values (their own appended); NULL: a whole run */
  int pos0;        /* the position of row 0 (0 without a cache) */
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

/* ROW0 for attnviz_linear_rows (): the position of row 0 when the run's
 * rows must come out as a cached step's do, else -1. */
static inline int
_attnviz_run_row0 (const RunState *s)
{
  return s->opt->row_tiles ? s->pos0 : -1;
}

/* The variant, the model and the options, resolved into what a run of T
 * tokens does (E->key_mask is the caller's to free). */
void _attnviz_forward_effective_init (Effective *e, const AttnvizModel *m, const AttnvizRunOptions *o, int T);
/* The work space of a run over T tokens attending to at most TK keys, one
 * allocation carved into S (free the result); NULL when out of memory. */
float *_attnviz_forward_run_state_alloc (RunState *s, const AttnvizConfig *c, int T, int Tk, GError **error);

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
/* What the LM head reads from rows X (n, d_model) of the residual stream:
 * the final norm (and a masked LM's transform) into OUT (n, d_model), TMP
 * (n, d_model) scratch; returns OUT, or X when the model applies nothing. */
const float *_attnviz_forward_head_input (const AttnvizModel *m, const float *x, int n, float *out, float *tmp);
/* LOGITS (V) of the run's last row alone, through the final norm and the
 * LM head (one row: sgemv): a cached step's and generation's uncached run
 * alike, so they agree to the bit. */
gboolean _attnviz_forward_last_logits (RunState *s, float *logits, GError **error);
/* The final norm, the LM head and the loss into REC. */
gboolean _attnviz_forward_head_and_loss (RunState *s, AttnvizRecording *rec, const gint32 *ids, GError **error);

/* The logit lens after layer LAYER: the stream S->x read through the final
 * norm and the LM head a block of rows at a time, each position's top-k
 * kept in rec->lens_topk_ids / lens_topk_probs (layer LAYER). */
gboolean _attnviz_forward_lens (RunState *s, AttnvizRecording *rec, int layer, GError **error);

G_END_DECLS
