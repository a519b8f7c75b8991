/* attnviz-forward.h: run a model over a whole sequence and record it */
#pragma once

#include <gio/gio.h>

#include "attnviz-kernels.h"
#include "attnviz-measures.h"
#include "attnviz-model.h"
#include "attnviz-recording.h"
#include "attnviz-variant.h"

G_BEGIN_DECLS

typedef void (*AttnvizProgressFunc) (double fraction, gpointer user_data);

/* Called with each block of rows [t0, t0 + n) of the logits, LOGITS (n,
 * vocab_size), in order; FALSE (with an error) stops the run. */
typedef gboolean (*AttnvizLogitsFunc) (const float *logits, int t0, int n, int vocab_size,
                                       gpointer user_data, GError **error);

/* How a run keeps its attention (attnviz-attention.h). */
typedef enum {
  ATTNVIZ_STORAGE_AUTO,       /* dense when it takes at most ATTNVIZ_ATTENTION_DENSE_BYTES */
  ATTNVIZ_STORAGE_DENSE,      /* every recorded head's matrix */
  ATTNVIZ_STORAGE_RECOMPUTE,  /* the inputs and the softmax statistics, heads computed when asked */
} AttnvizStorage;

/* Logits kept whole by default up to this size. */
#define ATTNVIZ_KEEP_LOGITS_BYTES ((guint64) 64 << 20)

typedef struct {
  /* Which layers and heads to record: NULL records all of them. */
  const int *layers;            /* (n_layers) model layer indices */
  int n_layers;
  const int *heads;             /* (n_heads) model head indices */
  int n_heads;
  gboolean record_none;         /* record no attention at all (generation) */
  gboolean skip_logits;         /* leave logits and loss out */
  gboolean row_tiles;           /* every row's bits the same however many rows run with it (generation
                                 * without its cache, attnviz-generate.c): products in whole tiles by
                                 * position (attnviz_linear_rows); a causal model as it is, recording
                                 * nothing, computing rec->last_logits only */
  gboolean keep_logits;         /* keep every position's logits in rec->logits (default: only when
                                 * they take at most ATTNVIZ_KEEP_LOGITS_BYTES) */
  int top_k;                    /* candidates each position keeps (rec->top_k): 0 for ATTNVIZ_TOP_K;
                                 * more than the vocabulary keeps all of it */
  gboolean logit_lens;          /* also keep each layer's top-k read through the final norm and the LM
                                 * head (rec->lens_topk_*): n_layer more LM-head products */
  gboolean drop_logits;         /* never keep the logits, even small ones (as a long run does) */
  int vocab_block;              /* columns of logits computed at once when they are neither kept
                                 * nor streamed (0: within 8 MiB, at least 512) */
  AttnvizLogitsFunc logits_func;/* every block of logits as it is computed, or NULL */
  gpointer logits_data;
  AttnvizStorage storage;
  guint64 overview_bytes;       /* 0: ATTNVIZ_ATTENTION_OVERVIEW_BYTES */

  const guint8 *key_mask;       /* (T): 0 removes that key, like HF's attention_mask; NULL = all 1 */
  const gint32 *token_types;    /* (T) BERT segment ids; NULL = all 0 */
  const gint32 *positions;      /* (T) position ids; NULL = 0 .. T-1 */

  const AttnvizVariant *variant;/* NULL: the model as it is */
  const gboolean *special;      /* (T) which tokens are special, for exclude=special; NULL: none */
  gboolean keep_residuals;      /* keep the residual stream entering every layer (for reuse) */
  const AttnvizRecording *reuse;/* a run of the same ids and options under the model's own variant,
                                 * made with keep_residuals: the layers before the variant's first
                                 * change are copied from it instead of computed */

  AttnvizMeasuresAcc *measures;  /* fed every self-attention head's rows as they are computed
                                 * (attnviz-measures.h), or NULL; layers copied from REUSE are not */

  guint64 max_record_bytes;     /* 0: ATTNVIZ_DEFAULT_MAX_RECORD_BYTES: what the run may keep (the
                                 * attention's kept inputs or dense matrices, kept logits); it no
                                 * longer limits the length of the input */
  GCancellable *cancellable;
  AttnvizProgressFunc progress; /* called after each layer, from the calling thread, and (a decoder-only or
                                 * encoder model) after each head of a layer's attention, from the engine's
                                 * threads: the fraction never goes back, but may come from any thread */
  gpointer progress_data;
} AttnvizRunOptions;

#define ATTNVIZ_DEFAULT_MAX_RECORD_BYTES ((guint64) 4 << 30)

/* The candidates a run under OPTIONS (may be NULL) keeps per position,
 * for a vocabulary of V. */
static inline int
attnviz_run_options_top_k (const AttnvizRunOptions *options, int V)
{
  return MIN (options && options->top_k > 0 ? options->top_k : ATTNVIZ_TOP_K, V);
}

/* Runs MODEL over IDS (T tokens) and returns the recording.  Errors: a
 * sequence longer than the model's positions, an id outside the vocabulary,
 * T == 0, a recording over the memory limit, a layer that produced a
 * non-finite value, cancellation. */
AttnvizRecording *attnviz_forward (const AttnvizModel *model,
                                   const gint32 *ids,
                                   int T,
                                   const AttnvizRunOptions *options,
                                   GError **error);

/* Encoder-decoder models (config.encoder_decoder): the encoder reads
 * SRC_IDS (S tokens, bidirectional), the decoder reads TGT_IDS (T tokens,
 * causal, starting with BOS) and cross-attends to the encoder's output.
 * The recording's attn is the decoder self-attention, enc_attn and
 * cross_attn the rest; logits (T, V) predict the next target token. */
AttnvizRecording *attnviz_forward_seq2seq (const AttnvizModel *model,
                                           const gint32 *src_ids,
                                           int S,
                                           const gint32 *tgt_ids,
                                           int T,
                                           const AttnvizRunOptions *options,
                                           GError **error);


/* INV_FREQ (rope_dims / 2): the angle per position of each pair RoPE
 * turns, with the model's scaling (linear, Llama 3, rope_freqs) and the
 * variant's base (VARIANT may be NULL). */
void attnviz_rope_frequencies (float *inv_freq, const AttnvizModel *model, const AttnvizVariant *variant);

G_END_DECLS
