/* attnviz-forward.h: run a model over a whole sequence and record it */
#pragma once

#include <gio/gio.h>

#include "attnviz-model.h"
#include "attnviz-recording.h"
#include "attnviz-variant.h"

G_BEGIN_DECLS

typedef void (*AttnvizProgressFunc) (double fraction, gpointer user_data);

typedef struct {
  /* Which layers and heads to record: NULL records all of them. */
  const int *layers;            /* (n_layers) model layer indices */
  int n_layers;
  const int *heads;             /* (n_heads) model head indices */
  int n_heads;
  gboolean record_none;         /* record no attention at all (generation) */
  gboolean skip_logits;         /* leave logits and loss out */

  const guint8 *key_mask;       /* (T): 0 removes that key, like HF's attention_mask; NULL = all 1 */
  const gint32 *token_types;    /* (T) BERT segment ids; NULL = all 0 */
  const gint32 *positions;      /* (T) position ids; NULL = 0 .. T-1 */

  const AttnvizVariant *variant;/* NULL: the model as it is */
  const gboolean *special;      /* (T) which tokens are special, for exclude=special; NULL: none */
  gboolean keep_residuals;      /* keep the residual stream entering every layer (for reuse) */
  const AttnvizRecording *reuse;/* a run of the same ids and options under the model's own variant,
                                 * made with keep_residuals: the layers before the variant's first
                                 * change are copied from it instead of computed */

  guint64 max_record_bytes;     /* 0: ATTNVIZ_DEFAULT_MAX_RECORD_BYTES */
  GCancellable *cancellable;
  AttnvizProgressFunc progress; /* called after each layer, from the calling thread */
  gpointer progress_data;
} AttnvizRunOptions;

#define ATTNVIZ_DEFAULT_MAX_RECORD_BYTES ((guint64) 4 << 30)

/* Runs MODEL over IDS (T tokens) and returns the recording.  Errors: a
 * sequence longer than the model's context, an id outside the vocabulary,
 * T == 0, a recording over the memory limit, cancellation. */
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

/* Kernels, outputs first (exposed for tests). */
void attnviz_layernorm (float *out, const float *x, const float *w, const float *b, int n, float eps);
void attnviz_rmsnorm (float *out, const float *x, const float *w, int n, float eps);
/* In place over N values; entries at -INFINITY become exactly 0. */
void attnviz_softmax (float *x, int n);
void attnviz_linear (float *out, const float *in, const AttnvizLinear *lin, int T);

G_END_DECLS
