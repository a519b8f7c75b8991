/* attnviz-config-seq2seq.c: config.json of pretrained encoder-decoders
 *
 * Hugging Face config.json fields read:
 *   T5 / Flan-T5 (T5ForConditionalGeneration): vocab_size, d_model, d_kv
 *           (the head size), d_ff, num_layers (encoder), num_decoder_layers
 *           (default num_layers), num_heads, relative_attention_num_buckets,
 *           relative_attention_max_distance (default 128),
 *           layer_norm_epsilon, feed_forward_proj ("relu" | "gated-gelu" |
 *           "gated-relu" | "gelu"), tie_word_embeddings (default true),
 *           decoder_start_token_id (the decoder's first token, default
 *           pad), eos/pad_token_id.  Always: pre-norm RMS norm without
 *           bias, a final norm in both stacks, no biases, no absolute
 *           positions, unscaled dot-product scores.
 *   BART (BartForConditionalGeneration): vocab_size, d_model, encoder_layers,
 *           decoder_layers, encoder/decoder_attention_heads (equal),
 *           encoder/decoder_ffn_dim (equal), max_position_embeddings,
 *           activation_function, scale_embedding (default false),
 *           tie_word_embeddings (default true), decoder_start_token_id
 *           (default eos), bos/eos/pad_token_id.  Always: post-norm
 *           LayerNorm with a layernorm_embedding per stack, learned
 *           positions 2 rows into their table, scaled dot-product scores,
 *           biases everywhere, final_logits_bias on the LM head.
 *   Marian (MarianMTModel, Helsinki-NLP opus-mt): BART's stack keys, plus
 *           activation_function (opus-mt: "swish", i.e. SiLU; default
 *           gelu), scale_embedding (opus-mt: true), max_position_embeddings
 *           (default 1024; the sinusoids extend past it),
 *           decoder_start_token_id (default pad_token_id), eos/pad_token_id;
 *           refused: normalize_before true, normalize_embedding true,
 *           share_encoder_decoder_embeddings false, a decoder_vocab_size
 *           other than vocab_size.  Always: post-norm LayerNorm without an
 *           embedding norm, sinusoidal positions in halves (sin in the
 *           first d/2 dimensions, cos in the rest: HF's
 *           MarianSinusoidalPositionalEmbedding), from position 0.
 */
#define G_LOG_DOMAIN "attnviz-config"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-config-private.h"
#include "attnviz-fileutil.h"

void
_attnviz_config_parse_t5 (Reader *r, AttnvizConfig *c)
{
  c->family = ATTNVIZ_FAMILY_T5;
  c->encoder_decoder = TRUE;
  c->vocab_size = _attnviz_config_read_int (r, KEYS ("vocab_size"), REQUIRED, 1, MAX_VOCAB);
  c->d_model = _attnviz_config_read_int (r, KEYS ("d_model"), REQUIRED, 1, MAX_DIM);
  c->head_dim = _attnviz_config_read_int (r, KEYS ("d_kv"), REQUIRED, 1, MAX_DIM);
  c->d_ff = _attnviz_config_read_int (r, KEYS ("d_ff"), REQUIRED, 1, 8 * MAX_DIM);
  c->n_enc_layer = _attnviz_config_read_int (r, KEYS ("num_layers"), REQUIRED, 1, MAX_LAYER);
  c->n_layer = _attnviz_config_read_int (r, KEYS ("num_decoder_layers"), c->n_enc_layer, 1, MAX_LAYER);
  c->n_head = _attnviz_config_read_int (r, KEYS ("num_heads"), REQUIRED, 1, MAX_HEAD);
  c->n_kv_head = c->n_head;
  c->rel_buckets = _attnviz_config_read_int (r, KEYS ("relative_attention_num_buckets"), REQUIRED, 4, 1 << 16);
  c->rel_max_distance = _attnviz_config_read_int (r, KEYS ("relative_attention_max_distance"), 128, 1, MAX_CTX);
  /* the buckets' logarithmic part divides by log (max_distance / max_exact),
   * max_exact being up to half the buckets (the decoder's) */
  if (!r->failed && c->rel_max_distance <= c->rel_buckets / 2)
    _attnviz_config_fail (r, "\"relative_attention_max_distance\" = %d must exceed half the %d buckets",
                 c->rel_max_distance, c->rel_buckets);
  c->n_ctx = _attnviz_config_read_int (r, KEYS ("n_positions"), 512, 1, MAX_CTX);
  c->norm_eps = _attnviz_config_read_norm_eps (r, "layer_norm_epsilon", 1e-6);

  const char *ff = _attnviz_config_read_string (r, "feed_forward_proj");
  c->act = ATTNVIZ_ACT_RELU;
  if (ff == NULL || strcmp (ff, "relu") == 0)
    ;
  else if (strcmp (ff, "gated-gelu") == 0)
    c->act = ATTNVIZ_ACT_GELU_TANH, c->gated_mlp = TRUE;   /* HF: dense_act_fn "gelu_new" */
  else if (strcmp (ff, "gated-relu") == 0)
    c->gated_mlp = TRUE;
  else if (strcmp (ff, "gelu") == 0)
    c->act = ATTNVIZ_ACT_GELU_ERF;
  else
    {
      g_autofree char *quoted = attnviz_printable (ff);
      _attnviz_config_fail (r, "unsupported \"feed_forward_proj\": \"%s\" (expected relu, gated-gelu, gated-relu or gelu)",
                   quoted);
    }

  c->norm = ATTNVIZ_NORM_RMSNORM;
  c->pre_norm = TRUE;
  c->final_norm = TRUE;
  c->pos = ATTNVIZ_POS_RELATIVE;
  c->score = ATTNVIZ_SCORE_DOT;
  c->causal = TRUE;
  c->tied_embeddings = _attnviz_config_read_bool (r, "tie_word_embeddings", TRUE);
  c->head_scale = c->tied_embeddings ? 1.0f / sqrtf ((float) c->d_model) : 0.0f;
  c->has_lm_head = TRUE;
  _attnviz_config_read_special_ids (r, c);
  /* T5 has no BOS: the decoder starts from decoder_start_token_id (pad). */
  int start = _attnviz_config_read_token_id (r, "decoder_start_token_id", c->vocab_size);
  c->bos_id = start >= 0 ? start : c->pad_id >= 0 ? c->pad_id : 0;
}

/* What BART and Marian share: their stacks' sizes, post-norm LayerNorm,
 * scaled scores, biases everywhere, the activation (DEFAULT_ACT when the
 * file names none), scale_embedding and the special ids. */
static void
parse_bart_like (Reader *r, AttnvizConfig *c, AttnvizActivation default_act)
{
  c->encoder_decoder = TRUE;
  c->vocab_size = _attnviz_config_read_int (r, KEYS ("vocab_size"), REQUIRED, 1, MAX_VOCAB);
  c->d_model = _attnviz_config_read_int (r, KEYS ("d_model"), REQUIRED, 1, MAX_DIM);
  c->n_enc_layer = _attnviz_config_read_int (r, KEYS ("encoder_layers"), REQUIRED, 1, MAX_LAYER);
  c->n_layer = _attnviz_config_read_int (r, KEYS ("decoder_layers"), REQUIRED, 1, MAX_LAYER);
  c->n_head = _attnviz_config_read_int (r, KEYS ("encoder_attention_heads"), REQUIRED, 1, MAX_HEAD);
  int dec_heads = _attnviz_config_read_int (r, KEYS ("decoder_attention_heads"), c->n_head, 1, MAX_HEAD);
  c->n_kv_head = c->n_head;
  c->d_ff = _attnviz_config_read_int (r, KEYS ("encoder_ffn_dim"), REQUIRED, 1, 8 * MAX_DIM);
  int dec_ff = _attnviz_config_read_int (r, KEYS ("decoder_ffn_dim"), c->d_ff, 1, 8 * MAX_DIM);
  if (!r->failed && (dec_heads != c->n_head || dec_ff != c->d_ff))
    _attnviz_config_fail (r, "the encoder and the decoder differ in heads (%d, %d) or MLP width (%d, %d); "
                          "attnviz reads %s models whose stacks agree", c->n_head, dec_heads, c->d_ff, dec_ff,
                          c->family == ATTNVIZ_FAMILY_BART ? "BART" : "Marian");
  const char *act = _attnviz_config_read_string (r, "activation_function");
  c->act = default_act;
  if (act != NULL)
    _attnviz_config_parse_activation (r, "activation_function", act, &c->act);
  c->emb_scale = _attnviz_config_read_bool (r, "scale_embedding", FALSE) ? sqrtf ((float) c->d_model) : 0.0f;
  c->norm_eps = 1e-5f;
  c->norm = ATTNVIZ_NORM_LAYERNORM;
  c->pre_norm = FALSE;
  c->final_norm = FALSE;
  c->score = ATTNVIZ_SCORE_SCALED_DOT;
  c->causal = TRUE;
  c->qkv_bias = c->out_bias = c->mlp_bias = TRUE;
  c->tied_embeddings = _attnviz_config_read_bool (r, "tie_word_embeddings", TRUE);
  c->has_lm_head = TRUE;
  _attnviz_config_read_special_ids (r, c);
}

void
_attnviz_config_parse_bart (Reader *r, AttnvizConfig *c)
{
  c->family = ATTNVIZ_FAMILY_BART;
  parse_bart_like (r, c, ATTNVIZ_ACT_GELU_ERF);
  c->n_ctx = _attnviz_config_read_int (r, KEYS ("max_position_embeddings"), REQUIRED, 1, MAX_CTX - 2);
  c->pos_offset = 2;
  c->embedding_norm = TRUE;
  c->pos = ATTNVIZ_POS_LEARNED;
  int start = _attnviz_config_read_token_id (r, "decoder_start_token_id", c->vocab_size);
  c->bos_id = start >= 0 ? start : c->eos_id >= 0 ? c->eos_id : c->bos_id;
}

void
_attnviz_config_parse_marian (Reader *r, AttnvizConfig *c)
{
  c->family = ATTNVIZ_FAMILY_MARIAN;
  parse_bart_like (r, c, ATTNVIZ_ACT_GELU_ERF);   /* MarianConfig's default "gelu"; opus-mt: "swish" */
  /* the sinusoids extend past the table HF makes of this many rows */
  c->n_ctx = _attnviz_config_read_int (r, KEYS ("max_position_embeddings"), 1024, 1, MAX_CTX);
  c->pos = ATTNVIZ_POS_SINUSOIDAL;
  c->sin_halves = TRUE;
  c->embedding_norm = FALSE;
  if (!r->failed && _attnviz_config_read_bool (r, "normalize_before", FALSE))
    _attnviz_config_fail (r, "\"normalize_before\": true (pre-norm) is not Marian's post-norm; "
                          "attnviz reads Marian models with normalize_before false");
  if (!r->failed && _attnviz_config_read_bool (r, "normalize_embedding", FALSE))
    _attnviz_config_fail (r, "\"normalize_embedding\": true is not supported (Marian has no layernorm_embedding)");
  if (!r->failed && !_attnviz_config_read_bool (r, "share_encoder_decoder_embeddings", TRUE))
    _attnviz_config_fail (r, "\"share_encoder_decoder_embeddings\": false (separate source and target "
                          "vocabularies) is not supported");
  int dec_vocab = _attnviz_config_read_int (r, KEYS ("decoder_vocab_size"), c->vocab_size, 1, MAX_VOCAB);
  if (!r->failed && dec_vocab != c->vocab_size)
    _attnviz_config_fail (r, "\"decoder_vocab_size\" %d differs from \"vocab_size\" %d; "
                          "attnviz reads Marian models with one shared vocabulary", dec_vocab, c->vocab_size);
  /* the decoder starts from decoder_start_token_id, which is the pad token */
  int start = _attnviz_config_read_token_id (r, "decoder_start_token_id", c->vocab_size);
  c->bos_id = start >= 0 ? start : c->pad_id;
  if (!r->failed && c->bos_id < 0)
    _attnviz_config_fail (r, "no \"decoder_start_token_id\" or \"pad_token_id\": the decoder has no first token");
}
