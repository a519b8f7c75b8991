/* attnviz-attention-private.h: how the forward pass fills an AttnvizAttention,
 * the score kernel both use, and the struct the attention source's files
 * share */
#pragma once

#include "attnviz-attention.h"
#include "attnviz-matmul.h"
#include "attnviz-model.h"

G_BEGIN_DECLS

/* Heads whose q (or k) one product projects: as many as make 128
 * columns, since a product 64 columns wide runs at about 70% of the rate
 * of a wide one.  The forward pass and a recomputed head use the same
 * groups, heads [g * G, g * G + G), so both get the same bits (OpenBLAS
 * rounds a column differently in products of other widths). */
static inline int
_attnviz_projection_group (int hd)
{
  return MAX (1, 128 / MAX (hd, 1));
}

/* Which attention of a model: its weights and its inputs. */
typedef enum {
  ATTNVIZ_STACK_SELF,     /* a decoder-only or encoder model's, a seq2seq decoder's self-attention */
  ATTNVIZ_STACK_ENCODER,  /* a seq2seq encoder's self-attention */
  ATTNVIZ_STACK_CROSS,    /* a seq2seq decoder's attention to the encoder output */
} AttnvizStack;

/* Who may see whom, and the score's scale: what the run resolved from the
 * model and its variant. */
typedef struct {
  gboolean causal;          /* key j visible to query i only when j <= i */
  AttnvizPattern pattern;   /* window, stride, blocks, global tokens (attnviz-pattern.h) */
  const guint8 *key_mask;   /* (n_cols) 0 removes a key; NULL: every key */
  float scale;
  /* T5's relative position bias, added to the scaled scores of visible keys:
   * rel_bias[bucket (pos_j - pos_i) * n_head + head] */
  const float *rel_bias;    /* (rel_buckets, n_head) or NULL */
  int rel_buckets, rel_max_distance, n_head;
  gboolean rel_bidirectional;
  const gint32 *positions;  /* (n_rows) the positions the bias sees; NULL: 0 .. n_rows - 1 */
} AttnvizMask;

typedef struct {
  AttnvizModel *model;      /* referenced by the attention */
  AttnvizStack stack;
  int n_rows, n_cols;
  const int *rec_layers;    /* (n_rec_layers) layers of the stack recorded */
  int n_rec_layers;
  const int *rec_heads;     /* (n_rec_heads) */
  int n_rec_heads;
  AttnvizMask mask;         /* key_mask is copied */
  AttnvizScoreKind score;
  gboolean rope;            /* RoPE on q and k (self stacks of RoPE models) */
  const gint32 *positions;  /* (n_rows) position ids, copied; NULL: 0 .. n_rows - 1 */
  const float *inv_freq;    /* (n_rot / 2) copied */
  gboolean dense;           /* keep the dense matrices (else keep inputs and recompute) */
  guint64 overview_bytes;   /* 0: ATTNVIZ_ATTENTION_OVERVIEW_BYTES */
} AttnvizAttentionSpec;

AttnvizAttention *_attnviz_attention_new (const AttnvizAttentionSpec *spec, GError **error);

/* Index of a model layer / head among the recorded ones, or -1. */
int _attnviz_attention_layer_index (const AttnvizAttention *self, int layer);
int _attnviz_attention_head_index (const AttnvizAttention *self, int head);

/* The (n_rows, n_cols) dense matrix of recorded layer LI and head HI, for
 * the forward pass to write into (dense runs only). */
float *_attnviz_attention_dense (AttnvizAttention *self, int li, int hi);
/* The softmax statistics of recorded layer LI, head HI: (n_rows) maxima
 * and (n_rows) reciprocal sums. */
void _attnviz_attention_stats (AttnvizAttention *self, int li, int hi, float **max, float **inv);
/* Keeps the inputs of recorded layer LI's attention: Q_IN (n_rows,
 * d_model) and K_IN (n_cols, d_model) (the same for self-attention;
 * recompute runs only, copied; a cross stack keeps K_IN once). */
gboolean _attnviz_attention_keep_inputs (AttnvizAttention *self, int li, const float *q_in,
                                         const float *k_in, GError **error);
/* The (n_cols) value norms of recorded layer LI, head HI, for the forward
 * pass to write into: f_j = ||v_j^h W_O^h|| (attnviz-attention.h). */
float *_attnviz_attention_value_norms (AttnvizAttention *self, int li, int hi);
/* The run's mask, owned by SELF. */
const AttnvizMask *_attnviz_attention_mask (const AttnvizAttention *self);
/* OUT (n_head, Tk) = f_j = ||v_j W_O^h|| for every head h: V (Tk, ldv) the
 * values (KV head g at column g * hd, GROUP query heads a KV head), O the
 * output projection (n_head * hd -> d_model), its bias left out. */
void _attnviz_value_norms (float *out, const float *v, int ldv, int Tk, const AttnvizLinear *o, int n_head,
                           int group, int hd);
/* Q (n_rows, hd) and K (n_cols, hd) of a head as they entered its scores
 * (after RoPE), from the kept inputs: references, g_bytes_unref () them. */
void _attnviz_attention_projections (AttnvizAttention *self, int layer, int head, GBytes **q, GBytes **k);
/* Adds rows [i0, i0 + m) of a head's probabilities, P (m, n_keys) rows LDP
 * apart, zeros beyond n_keys, to its overview. */
void _attnviz_attention_overview_add (AttnvizAttention *self, int li, int hi, int i0, int m,
                                      const float *P, gsize ldp, int n_keys);
/* After the last row: sums to means. */
void _attnviz_attention_finish (AttnvizAttention *self);

/* Copies recorded layers of SRC that the same run made into SELF (a
 * variant's run reusing the model's own first layers). */
void _attnviz_attention_copy_layer (AttnvizAttention *self, const AttnvizAttention *src, int layer);

/* S (m, c1 - c0), rows LDS apart = scale * Q K^T (+ the relative bias of
 * HEAD) for queries [i0, i0 + m)
 * (Q (m, ldq), this head's columns) and keys [c0, c1) (K (c1 - c0, ldk)),
 * with every key the mask hides from a query set to -inf.  Shared by the
 * forward pass and recomputation, so both compute the same scores. */
void _attnviz_scores (const AttnvizMask *mask, int head, const float *q, int ldq, int i0, int m,
                      const float *k, int ldk, int c0, int c1, int hd, float *S, gsize lds);

/* Whether the mask lets query I see key J. */
static inline gboolean
_attnviz_mask_visible (const AttnvizMask *mk, int i, int j)
{
  if (mk->causal && j > i)
    return FALSE;
  if (mk->key_mask && !mk->key_mask[j])
    return FALSE;
  return attnviz_pattern_allows (&mk->pattern, i, j);
}

/* OUT (m) = the mean of F (n_cols) over the keys each of the queries
 * [i0, i0 + m) may see (0 for a row that sees none). */
void _attnviz_mask_visible_mean (const AttnvizMask *mask, const float *f, int i0, int m, int n_cols, float *out);

/* OUT (m) = how many of keys [0, n_cols) the mask lets each of the queries
 * [i0, i0 + m) see: the n of a row's uniform attention. */
void _attnviz_mask_count_visible (const AttnvizMask *mask, int i0, int m, int n_cols, int *out);

/* Softmax of one row of N scores in place, as attnviz_softmax computes it,
 * leaving its largest score and the reciprocal of its sum. */
void _attnviz_softmax_row (float *row, int n, float *max, float *inv);

/* ---- the attention source itself: attnviz-attention.c (storage, overviews,
 * questions) and attnviz-attention-recompute.c (scores, recomputation) ---- */

struct _AttnvizAttention {
  AttnvizModel *model;
  AttnvizStack stack;
  int n_rows, n_cols;
  int n_layer;              /* layers of the stack in the model */
  int n_head, n_kv_head, hd, d_model;
  int n_rec_layers, n_rec_heads;
  int *rec_layers, *rec_heads;
  int *layer_index;         /* (n_layer) -> recorded index or -1 */
  int *head_index;          /* (n_head) */

  AttnvizMask mask;         /* key_mask owned */
  AttnvizScoreKind score;
  gboolean rope;
  int n_rot;
  AttnvizRopeStyle rope_style;
  gint32 *positions;        /* (n_rows) or NULL */
  float *inv_freq;          /* (n_rot / 2) */

  float *dense;             /* (n_rec_layers, n_rec_heads, n_rows, n_cols) or NULL */
  float **q_in;             /* (n_rec_layers) of (n_rows, d_model) */
  float **k_in;             /* (n_rec_layers) of (n_cols, d_model); may alias q_in or shared_k */
  float *shared_k;          /* cross: the encoder output, once */
  float *row_max, *row_inv; /* (n_rec_layers, n_rec_heads, n_rows) */
  float *value_norms;       /* (n_rec_layers, n_rec_heads, n_cols) ||v_j W_O^h||, NaN until written */

  int ov_rows, ov_cols;
  int *ov_col_start;        /* (ov_cols + 1) first column of each column bin, then n_cols */
  float *ov_mean, *ov_max;  /* (n_rec_layers, n_rec_heads, ov_rows, ov_cols) */
  guint64 bytes;

  /* cached q (n_rows, hd) and k (n_cols, hd) of recent heads */
  GMutex lock;
  GHashTable *cache;        /* key -> CacheEntry */
  GQueue lru;               /* of CacheEntry, most recent first */
  guint64 cache_bytes, cache_budget;
};

typedef struct {
  guint64 key;
  GBytes *data;
  GList link;
} CacheEntry;

void _attnviz_attention_cache_entry_free (CacheEntry *e);

G_END_DECLS
