/* attnviz-recording.h: what one run of a model leaves behind
 *
 * The attention probabilities of every recorded layer and head, exactly as
 * Hugging Face returns them with output_attentions=True: after masking and
 * softmax, rows are queries and columns keys.  One contiguous buffer
 * (n_rec_layers, n_rec_heads, T, T) float32; see DESIGN.md for its size.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int T;                  /* tokens in the run */
  int n_layer;            /* of the model */
  int n_head;
  int vocab_size;
  gboolean causal;        /* the mask the run used */

  gint32 *ids;            /* (T) */

  int n_rec_layers;
  int n_rec_heads;
  int *rec_layers;        /* (n_rec_layers) model layer index of each recorded layer */
  int *rec_heads;         /* (n_rec_heads) model head index of each recorded head */
  float *attn;            /* (n_rec_layers, n_rec_heads, T, T) */

  float *logits;          /* (T, vocab_size), NULL when the model has no LM head */
  float *loss;            /* (T) negative log-likelihood in nats, NaN where undefined:
                           * causal: of token t+1 given tokens 0..t (the last is NaN);
                           * bidirectional: of token t itself, unmasked */
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
  float *enc_attn;        /* (n_enc_layer, n_head, S, S) encoder self-attention, all heads */
  float *cross_attn;      /* (n_layer, n_head, T, S) decoder-to-encoder, all heads; rows targets */
} AttnvizRecording;

/* Bytes the attention buffer of a run would take. */
guint64 attnviz_recording_attention_bytes (int n_rec_layers, int n_rec_heads, int T);

/* Allocates a recording, or NULL with G_IO_ERROR_NO_SPACE when the
 * attention buffer would pass MAX_BYTES or the allocation fails. */
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

/* The (T, T) matrix of model layer LAYER and head HEAD, or NULL when that
 * pair was not recorded. */
float *attnviz_recording_get_attention (const AttnvizRecording *rec, int layer, int head);

/* Mean loss over the positions where it is defined. */
double attnviz_recording_mean_loss (const AttnvizRecording *rec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizRecording, attnviz_recording_free)

G_END_DECLS
