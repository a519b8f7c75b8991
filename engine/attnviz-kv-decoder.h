/* attnviz-kv-decoder.h: incremental decoding with a cache of keys and values
 *
 * A decoder-only model written a token at a time: each feed runs only its
 * new tokens through the layers, and their attention reads the keys and
 * values every layer kept for the positions fed before (a KV cache), so a
 * step costs one token's products instead of the whole prefix's.  The
 * kernels are the forward pass's own (attnviz-forward-attention.c: the
 * same projections, RoPE, score and softmax code, the queries counted from
 * the cache's length), so the logits equal a whole run's to float
 * rounding.  Every family the engine runs causally is cached: learned,
 * sinusoidal, RoPE (GQA) or no positions, dot or additive scores, pre- or
 * post-norm, a sliding window.  Variants are not (a run of the model as it
 * is), nor encoder-decoders (attnviz_generate_seq2seq runs the target
 * again each step).
 */
#pragma once

#include <gio/gio.h>

#include "attnviz-model.h"

G_BEGIN_DECLS

typedef struct _AttnvizKvDecoder AttnvizKvDecoder;

/* A decoder of MODEL holding up to CAPACITY positions: their keys and
 * values take 2 n_layer n_kv_head head_dim floats a position, allocated as
 * they come (256 positions at first, then twice as many each time the
 * cache is full), so a generation that stops early never pays for the
 * limit.  Errors: not a
 * causal language model, CAPACITY outside 1 .. the model's positions, out
 * of memory. */
AttnvizKvDecoder *attnviz_kv_decoder_new (const AttnvizModel *model, int capacity, GError **error);
void attnviz_kv_decoder_free (AttnvizKvDecoder *self);

/* Runs IDS (N tokens) at the positions after those fed so far, keeping
 * their keys and values; LOGITS (vocab_size), when not NULL, gets the last
 * one's.  Errors: past the capacity, an id outside the vocabulary, a
 * non-finite value (naming the layer), cancellation; the decoder then
 * keeps what it had before the call. */
gboolean attnviz_kv_decoder_feed (AttnvizKvDecoder *self, const gint32 *ids, int n, float *logits,
                                  GCancellable *cancellable, GError **error);

/* Positions fed so far. */
int attnviz_kv_decoder_get_length (const AttnvizKvDecoder *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizKvDecoder, attnviz_kv_decoder_free)

G_END_DECLS
