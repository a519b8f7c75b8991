/* attnviz-recording.h: what one run of a model leaves behind
 *
 * The attention of every recorded layer and head, as an AttnvizAttention
 * (attnviz-attention.h) that computes any head, tile, row or cell exactly
 * when asked: the probabilities Hugging Face returns with
 * output_attentions=True, after masking and softmax, rows queries and
 * columns keys.  Small runs keep them dense, and then attn points at the
 * (n_rec_layers, n_rec_heads, T, T) float32 buffer; DESIGN.md says when.
 * Of the logits a run keeps the loss, each position's top-k and the last
 * position's (all of them only when asked, or small).
 */
#pragma once

#include <glib.h>

#include "attnviz-attention.h"

/* Candidates each position keeps by default: its most likely next tokens
 * (AttnvizRunOptions.top_k chooses another number). */
#define ATTNVIZ_TOP_K 10

#include "attnviz-pattern.h"

G_BEGIN_DECLS

typedef struct {
  int T;                  /* tokens in the run */
  int n_layer;            /* of the model */
  int n_head;
  int vocab_size;
  gboolean causal;        /* the mask the run used */
  AttnvizPattern pattern; /* and the sparse pattern of its self-attention (the model's, or a variant's); dense: none */

  gint32 *ids;            /* (T) */

  int n_rec_layers;
  int n_rec_heads;
  int *rec_layers;        /* (n_rec_layers) model layer index of each recorded layer */
  int *rec_heads;         /* (n_rec_heads) model head index of each recorded head */
  AttnvizAttention *attention; /* the self-attention (a seq2seq decoder's); NULL when nothing is recorded */
  float *attn;            /* (n_rec_layers, n_rec_heads, T, T) when dense, else NULL */

  float *logits;          /* (T, vocab_size) when kept, else NULL */
  float *last_logits;     /* (vocab_size) the last position's, NULL without an LM head */
  int top_k;              /* candidates kept per position (0 without an LM head) */
  gint32 *topk_ids;       /* (T, top_k) each position's most likely tokens, most likely first */
  float *topk_probs;      /* (T, top_k) their probabilities */
  float *loss;            /* (T) negative log-likelihood in nats, NaN where undefined:
                           * causal: of token t+1 given tokens 0..t (the last is NaN);
                           * bidirectional: of token t itself, unmasked */
  float *next_prob;       /* (T) the probability of the token the loss is of (the one that
                           * actually follows, for a causal model), NaN where the loss is */
  /* The logit lens (AttnvizRunOptions.logit_lens): the residual stream after
   * each layer read through the final norm and the LM head, each position's
   * top_k candidates at each depth; the last layer's equal topk_*. */
  int lens_layers;        /* n_layer when kept, else 0 */
  gint32 *lens_topk_ids;  /* (lens_layers, T, top_k) */
  float *lens_topk_probs; /* (lens_layers, T, top_k) */
  double seconds;         /* wall time of the forward pass */
  char *variant;          /* canonical spec of the variant run ("model") */
  int reused_layers;      /* layers copied from a previous run instead of computed */
  int d_model;
  float *residuals;       /* (n_layer + 1, T, d_model) the stream entering each layer and
                           * leaving the last, keep_residuals only */

  /* encoder-decoder runs only (S == 0 otherwise): the source side */
  int S;                  /* source tokens */
  int n_enc_layer;
  gint32 *src_ids;        /* (S) */
  AttnvizAttention *enc_attention;   /* the encoder's self-attention, every layer and head */
  AttnvizAttention *cross_attention; /* decoder to encoder (T, S), every layer and head */
  float *enc_attn;        /* (n_enc_layer, n_head, S, S) when dense, else NULL */
  float *cross_attn;      /* (n_layer, n_head, T, S) when dense, else NULL; rows targets */
  gboolean owns_dense;    /* attn, enc_attn and cross_attn are the recording's own (the trainer's) */

  /* (MAX (n_layer, n_enc_layer), n_head): 1 where layer l's head h scored
   * additively in this run (every attention of layer l of each stack), 0
   * where by a dot product; NULL when every head took a dot product */
  guint8 *head_additive;
} AttnvizRecording;

/* Whether REC's run hid key J from query I of its self-attention: a later
 * key of a causal run, or one its sparse pattern leaves out.  Such a
 * cell's weight is 0 by construction, not by what the model does. */
gboolean attnviz_recording_masks (const AttnvizRecording *rec, int i, int j);

/* Whether HEAD of LAYER scored additively in REC's run. */
gboolean attnviz_recording_head_additive (const AttnvizRecording *rec, int layer, int head);

/* Bytes the attention buffer of a run would take. */
guint64 attnviz_recording_attention_bytes (int n_rec_layers, int n_rec_heads, int T);

/* Allocates a recording with its own dense attention buffer and all
 * logits (the trainer's recordings, for tests), or NULL with
 * G_IO_ERROR_NO_SPACE when the attention buffer would pass MAX_BYTES or the
 * allocation fails.  The engine's runs make theirs with an AttnvizAttention
 * instead. */
AttnvizRecording *attnviz_recording_new (int T,
                                         int n_layer,
                                         int n_head,
                                         int vocab_size,
                                         const int *rec_layers,
                                         int n_rec_layers,
                                         const int *rec_heads,
                                         int n_rec_heads,
                                         gboolean with_logits,
                                         guint64 max_bytes,
                                         GError **error);
void attnviz_recording_free (AttnvizRecording *rec);

/* The dense (T, T) matrix of model layer LAYER and head HEAD, or NULL when
 * that pair was not recorded or the run recomputes (read it through
 * rec->attention then). */
float *attnviz_recording_get_attention (const AttnvizRecording *rec, int layer, int head);

/* Mean loss over the positions where it is defined. */
double attnviz_recording_mean_loss (const AttnvizRecording *rec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizRecording, attnviz_recording_free)

G_END_DECLS
