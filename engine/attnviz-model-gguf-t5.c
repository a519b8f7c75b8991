/* attnviz-model-gguf-t5.c: llama.cpp's `t5` architecture onto the generic
 * encoder-decoder (the same description and forward pass as a T5 folder,
 * attnviz-model-seq2seq.c)
 *
 * Metadata, as llama.cpp's converter writes it (conversion/t5.py) and
 * llama.cpp reads it (src/models/t5.cpp):
 *   t5.context_length                    n_positions (only shown: T5 has no position table)
 *   t5.embedding_length                  d_model
 *   t5.feed_forward_length               d_ff
 *   t5.block_count                       the encoder's layers
 *   t5.decoder_block_count               the decoder's (default: block_count)
 *   t5.attention.head_count              heads (one number)
 *   t5.attention.key_length, value_length   the head size, equal (default d_model / heads)
 *   t5.attention.relative_buckets_count  required: rows of attn_rel_b
 *   t5.attention.layer_norm_rms_epsilon  (else t5.attention.layer_norm_epsilon; default 1e-6)
 *   t5.decoder_start_token_id            the decoder's first token (default: padding, 0)
 *   tokenizer.ggml.eos/padding_token_id  (defaults 1 and 0, as llama.cpp's "t5" vocabulary)
 * There is no key for relative_attention_max_distance: llama.cpp fixes it
 * at 128 (llama_relative_position_bucket), and so does this reader.
 *
 * Tensors (ggml shapes, ne[0] first), S = enc or dec, dq = heads * head size:
 *   token_embd.weight (d, V)                 both stacks' embedding
 *   S.blk.N.attn_norm.weight (d)
 *   S.blk.N.attn_q/attn_k/attn_v.weight (d, dq), attn_o.weight (dq, d)
 *   S.blk.0.attn_rel_b.weight (heads, buckets)  the stack's relative bias, used by every
 *                                            layer; the same bytes as Hugging Face's
 *                                            (buckets, heads) relative_attention_bias.
 *                                            A later block's own bias (UMT5's per-layer
 *                                            bias) is refused: one bias per stack here.
 *   dec.blk.N.cross_attn_norm.weight (d), cross_attn_q/k/v/o.weight
 *   dec.blk.N.cross_attn_rel_b.weight        ignored (unused by T5, as by llama.cpp)
 *   S.blk.N.ffn_norm.weight (d)
 *   S.blk.N.ffn_up.weight (d, d_ff), ffn_down.weight (d_ff, d)
 *   S.blk.N.ffn_gate.weight (d, d_ff)        present: Flan-T5's gated GELU (tanh form:
 *                                            wi_0 is the gate, wi_1 up); absent: ReLU;
 *                                            every layer or none (else refused)
 *   enc.output_norm.weight, dec.output_norm.weight (d)
 *   output.weight (d, V)                     absent: tied to token_embd
 *
 * The head.  A Hugging Face T5 with a tied head multiplies the decoder's
 * output by d_model^-0.5 before it; its converted file has no
 * output.weight (the tied copy is not saved), and llama.cpp then multiplies
 * by token_embd without the rescale, so its logits are sqrt(d_model) times
 * the model's (the greedy token is the same; the probabilities are not).
 * attnviz shows the model: no output.weight means tied, with the rescale,
 * so a folder and its GGUF give the same logits either way.
 */
#define G_LOG_DOMAIN "attnviz-model-gguf"
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "attnviz-fileutil.h"
#include "attnviz-model-gguf-private.h"

/* llama.cpp's llama_relative_position_bucket: max_distance is not in the file. */
#define T5_MAX_DISTANCE 128

static gboolean
read_t5_config (Loader *l)
{
  AttnvizConfig *c = &l->m->config;
  c->family = ATTNVIZ_FAMILY_T5;
  c->encoder_decoder = TRUE;
  c->architecture = g_strdup ("t5");
  c->model_type = g_strdup ("t5");
  c->n_ctx = _attnviz_gguf_loader_int (l, "context_length", 512, 1, ATTNVIZ_CONFIG_MAX_CTX);
  c->d_model = _attnviz_gguf_loader_int (l, "embedding_length", G_MININT, 1, ATTNVIZ_CONFIG_MAX_DIM);
  c->d_ff = _attnviz_gguf_loader_int (l, "feed_forward_length", G_MININT, 1, 8 * ATTNVIZ_CONFIG_MAX_DIM);
  c->n_enc_layer = _attnviz_gguf_loader_int (l, "block_count", G_MININT, 1, ATTNVIZ_CONFIG_MAX_LAYER);
  c->n_layer = _attnviz_gguf_loader_int (l, "decoder_block_count", c->n_enc_layer, 1, ATTNVIZ_CONFIG_MAX_LAYER);
  c->n_head = _attnviz_gguf_loader_int (l, "attention.head_count", G_MININT, 1, ATTNVIZ_CONFIG_MAX_HEAD);
  c->n_kv_head = c->n_head;
  if (l->failed)
    return FALSE;
  int default_hd = c->d_model % c->n_head == 0 ? c->d_model / c->n_head : 0;
  c->head_dim = _attnviz_gguf_loader_int (l, "attention.key_length", default_hd, 1, ATTNVIZ_CONFIG_MAX_DIM);
  int value_dim = _attnviz_gguf_loader_int (l, "attention.value_length", c->head_dim, 1, ATTNVIZ_CONFIG_MAX_DIM);
  if (!l->failed && c->head_dim == 0)
    _attnviz_gguf_loader_fail (l, "t5.embedding_length = %d is not a multiple of the %d heads and "
                               "t5.attention.key_length is missing", c->d_model, c->n_head);
  if (!l->failed && value_dim != c->head_dim)
    _attnviz_gguf_loader_fail (l, "t5.attention.value_length = %d differs from key_length %d; attnviz "
                               "needs them equal", value_dim, c->head_dim);
  c->rel_buckets = _attnviz_gguf_loader_int (l, "attention.relative_buckets_count", G_MININT, 4, 1 << 16);
  c->rel_max_distance = T5_MAX_DISTANCE;
  /* the buckets' logarithmic part divides by log (max_distance / max_exact) */
  if (!l->failed && c->rel_buckets / 2 >= T5_MAX_DISTANCE)
    _attnviz_gguf_loader_fail (l, "t5.attention.relative_buckets_count = %d: half of it must be below "
                               "the maximum distance %d", c->rel_buckets, T5_MAX_DISTANCE);
  double eps = _attnviz_gguf_loader_float (l, "attention.layer_norm_epsilon", 1e-6);
  c->norm_eps = _attnviz_gguf_loader_float (l, "attention.layer_norm_rms_epsilon", eps);
  if (!l->failed && !(c->norm_eps >= 0.0f && c->norm_eps < 1.0f))
    {
      g_autofree char *rms_key = g_strdup_printf ("%s.attention.layer_norm_rms_epsilon", l->arch);
      gboolean rms = attnviz_gguf_find_key (l->g, rms_key) >= 0;
      _attnviz_gguf_loader_fail (l, "%s.attention.layer_norm_%sepsilon = %g is outside [0, 1)", l->arch,
                                 rms ? "rms_" : "", c->norm_eps);
    }

  const AttnvizGgufTensor *emb = attnviz_gguf_lookup (l->g, "token_embd.weight");
  gint64 vocab = emb && emb->n_dims >= 2 ? emb->ne[1] : 0;
  c->vocab_size = _attnviz_gguf_loader_int (l, "vocab_size", (int) CLAMP (vocab, 0, ATTNVIZ_CONFIG_MAX_VOCAB),
                                            1, ATTNVIZ_CONFIG_MAX_VOCAB);
  if (!l->failed && c->vocab_size < 1)
    _attnviz_gguf_loader_fail (l, "missing tensor \"token_embd.weight\" (a t5 model needs it)");
  if (l->failed)
    return FALSE;

  c->norm = ATTNVIZ_NORM_RMSNORM;
  c->pre_norm = TRUE;
  c->final_norm = TRUE;
  c->pos = ATTNVIZ_POS_RELATIVE;
  c->score = ATTNVIZ_SCORE_DOT;
  c->causal = TRUE;
  c->has_lm_head = TRUE;
  c->gated_mlp = attnviz_gguf_lookup (l->g, "enc.blk.0.ffn_gate.weight") != NULL;
  c->act = c->gated_mlp ? ATTNVIZ_ACT_GELU_TANH : ATTNVIZ_ACT_RELU;
  c->tied_embeddings = attnviz_gguf_lookup (l->g, "output.weight") == NULL;
  c->head_scale = c->tied_embeddings ? 1.0f / sqrtf ((float) c->d_model) : 0.0f;

  /* llama.cpp's "t5" vocabulary: EOS 1, padding 0 unless the file says */
  c->eos_id = attnviz_gguf_find_key (l->g, "tokenizer.ggml.eos_token_id") >= 0
                ? _attnviz_gguf_loader_token_id (l, "eos", c->vocab_size) : MIN (1, c->vocab_size - 1);
  c->pad_id = attnviz_gguf_find_key (l->g, "tokenizer.ggml.padding_token_id") >= 0
                ? _attnviz_gguf_loader_token_id (l, "padding", c->vocab_size) : 0;
  int start = _attnviz_gguf_loader_int (l, "decoder_start_token_id", MAX (c->pad_id, 0), 0, G_MAXINT32);
  if (!l->failed && start >= c->vocab_size)
    _attnviz_gguf_loader_fail (l, "t5.decoder_start_token_id = %d is outside the vocabulary (0 to %d)", start,
                               c->vocab_size - 1);
  c->bos_id = start;
  if (!l->failed && attnviz_config_n_params (c) > ((gint64) 1 << 36))
    _attnviz_gguf_loader_fail (l, "the sizes describe %" G_GINT64_FORMAT " parameters, more than attnviz will load",
                               attnviz_config_n_params (c));
  return !l->failed;
}

static AttnvizLinear
linear (Loader *l, const char *prefix, const char *name, int n_in, int n_out)
{
  g_autofree char *full = g_strconcat (prefix, name, NULL);
  return _attnviz_gguf_loader_linear (l, n_in, n_out, FALSE, full);
}

/* One stack: "enc" or "dec" (with cross-attention). */
static void
load_t5_stack (Loader *l, const char *stack, AttnvizLayerWeights *layers, int n_layers, const float **final_norm)
{
  const AttnvizConfig *c = &l->m->config;
  int d = c->d_model, ff = c->d_ff, dq = c->n_head * c->head_dim;
  gboolean decoder = strcmp (stack, "dec") == 0;
  for (int i = 0; i < n_layers && !l->failed; i++)
    {
      AttnvizLayerWeights *L = &layers[i];
      g_autofree char *p = g_strdup_printf ("%s.blk.%d.", stack, i);
      L->attn_norm_w = _attnviz_gguf_loader_vector (l, FALSE, d, "%sattn_norm.weight", p);
      L->q = linear (l, p, "attn_q", d, dq);
      L->k = linear (l, p, "attn_k", d, dq);
      L->v = linear (l, p, "attn_v", d, dq);
      L->o = linear (l, p, "attn_o", dq, d);
      if (decoder)
        {
          L->cross_norm_w = _attnviz_gguf_loader_vector (l, FALSE, d, "%scross_attn_norm.weight", p);
          L->cq = linear (l, p, "cross_attn_q", d, dq);
          L->ck = linear (l, p, "cross_attn_k", d, dq);
          L->cv = linear (l, p, "cross_attn_v", d, dq);
          L->co = linear (l, p, "cross_attn_o", dq, d);
        }
      L->mlp_norm_w = _attnviz_gguf_loader_vector (l, FALSE, d, "%sffn_norm.weight", p);
      if (c->gated_mlp)
        L->gate = linear (l, p, "ffn_gate", d, ff);
      g_autofree char *gate = g_strconcat (p, "ffn_gate.weight", NULL);
      if (!c->gated_mlp && !l->failed && attnviz_gguf_lookup (l->g, gate) != NULL)
        _attnviz_gguf_loader_fail (l, "tensor \"%s\": a gated MLP in a model whose enc.blk.0 has none "
                                   "(T5's layers are all gated or none)", gate);
      L->up = linear (l, p, "ffn_up", d, ff);
      L->down = linear (l, p, "ffn_down", ff, d);
      g_autofree char *own_bias = g_strdup_printf ("%sattn_rel_b.weight", p);
      if (i > 0 && !l->failed && attnviz_gguf_lookup (l->g, own_bias) != NULL)
        _attnviz_gguf_loader_fail (l, "tensor \"%s\": a relative position bias in a later layer (UMT5's "
                                   "per-layer bias) is not supported; attnviz shares block 0's", own_bias);
    }
  *final_norm = _attnviz_gguf_loader_vector (l, FALSE, d, "%s.output_norm.weight", stack);
}

/* STACK's relative position bias, block 0's (heads, buckets) table, as
 * float32 (buckets, heads) rows whatever its stored type. */
static const float *
rel_bias_table (Loader *l, const char *stack)
{
  const AttnvizConfig *c = &l->m->config;
  g_autofree char *name = g_strdup_printf ("%s.blk.0.attn_rel_b.weight", stack);
  if (l->failed)
    return NULL;
  if (attnviz_gguf_lookup (l->g, name) == NULL)
    {
      _attnviz_gguf_loader_fail (l, "missing tensor \"%s\" (the %s's relative position bias; a t5 model "
                                 "needs it)", name, strcmp (stack, "enc") == 0 ? "encoder" : "decoder");
      return NULL;
    }
  AttnvizMatrix m = _attnviz_gguf_loader_matrix (l, FALSE, c->n_head, c->rel_buckets, "%s", name);
  if (l->failed)
    return NULL;
  float *table = g_new (float, (gsize) c->rel_buckets * c->n_head); /* (buckets, heads) */
  g_ptr_array_add (l->m->owned, table);
  for (int b = 0; b < c->rel_buckets; b++)
    attnviz_matrix_get_row (&m, b, table + (gsize) b * c->n_head);
  return table;
}

gboolean
_attnviz_gguf_load_t5 (Loader *l)
{
  if (!read_t5_config (l))
    return FALSE;
  AttnvizModel *m = l->m;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model;

  /* Tensors of a layer past either block count: llama.cpp refuses the file. */
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (l->g) && !l->failed; i++)
    {
      const char *name = attnviz_gguf_get_tensor (l->g, i)->name;
      gboolean enc = g_str_has_prefix (name, "enc.blk."), dec = g_str_has_prefix (name, "dec.blk.");
      if (!enc && !dec)
        continue;
      char *end = NULL;
      guint64 n = g_ascii_strtoull (name + 8, &end, 10);
      int count = enc ? c->n_enc_layer : c->n_layer;
      if (end != name + 8 && *end == '.' && n >= (guint64) count)
        {
          g_autofree char *quoted = attnviz_quote_name (name);
          _attnviz_gguf_loader_fail (l, "tensor \"%s\" belongs to layer %" G_GUINT64_FORMAT ", but t5.%s = %d "
                                     "(the file holds more layers than it says)", quoted, n,
                                     enc ? "block_count" : "decoder_block_count", count);
        }
    }

  m->tok_emb = _attnviz_gguf_loader_matrix (l, FALSE, d, c->vocab_size, "token_embd.weight");
  /* the bias tables first: their absence or shape is the likeliest fault */
  m->enc_rel_bias = rel_bias_table (l, "enc");
  m->rel_bias = rel_bias_table (l, "dec");
  if (l->failed)
    return FALSE;
  m->enc_layers = g_new0 (AttnvizLayerWeights, c->n_enc_layer);
  m->layers = g_new0 (AttnvizLayerWeights, c->n_layer);
  load_t5_stack (l, "enc", m->enc_layers, c->n_enc_layer, &m->enc_final_norm_w);
  load_t5_stack (l, "dec", m->layers, c->n_layer, &m->final_norm_w);
  AttnvizMatrix head = _attnviz_gguf_loader_matrix (l, TRUE, d, c->vocab_size, "output.weight");
  m->lm_head = (AttnvizLinear) { .w = head.data ? head : m->tok_emb, .n_in = d, .n_out = c->vocab_size };
  return !l->failed;
}
