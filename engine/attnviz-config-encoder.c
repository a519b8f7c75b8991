/* attnviz-config-encoder.c: config.json of the encoders beside BERT
 *
 * Hugging Face config.json fields read:
 *   RoBERTa (RobertaModel, RobertaForMaskedLM): vocab_size, hidden_size,
 *           num_hidden_layers, num_attention_heads, intermediate_size,
 *           hidden_act (default gelu), max_position_embeddings (default
 *           512: the table's rows, the first pad_token_id + 1 of them never
 *           read but by pad tokens), type_vocab_size (default 2; 1 in the
 *           released models), layer_norm_eps (default 1e-12; 1e-5 in the
 *           released models), pad_token_id (default 1), bos/eos_token_id,
 *           position_embedding_type (absolute only).  Always: BERT's
 *           post-norm layers, positions counted from pad_token_id + 1 (a pad
 *           token reads row pad_token_id), the MLM head's transform activated
 *           by GELU whatever hidden_act says (modeling_roberta's RobertaLMHead).
 *   DistilBERT (DistilBertModel, DistilBertForMaskedLM): vocab_size, dim,
 *           n_layers, n_heads, hidden_dim, activation (default gelu),
 *           max_position_embeddings (default 512), sinusoidal_pos_embds
 *           (default false: if true and the folder has no position table,
 *           the table is the sinusoids modeling_distilbert writes into it),
 *           pad_token_id (default 0).  Always: no token types, post-norm
 *           layers, every LayerNorm's eps 1e-12, the MLM head's transform
 *           activated by `activation`.
 */
#define G_LOG_DOMAIN "attnviz-config"
#include "config.h"

#include <string.h>

#include "attnviz-config-private.h"
#include "attnviz-fileutil.h"

void
_attnviz_config_parse_roberta (Reader *r, AttnvizConfig *c)
{
  c->family = ATTNVIZ_FAMILY_ROBERTA;
  _attnviz_config_parse_bert_layout (r, c);
  int rows = c->n_ctx; /* max_position_embeddings */
  /* RobertaConfig's default padding id; the positions start after it */
  if (c->pad_id < 0 && !r->failed)
    {
      if (c->vocab_size <= 1)
        _attnviz_config_fail (r, "missing \"pad_token_id\" (the default 1 is outside the vocabulary of %d)",
                              c->vocab_size);
      c->pad_id = 1;
    }
  c->pos_offset = c->pad_id + 1;
  c->n_ctx = rows - c->pos_offset;
  if (!r->failed && c->n_ctx < 1)
    _attnviz_config_fail (r, "\"max_position_embeddings\" = %d leaves no position: RoBERTa's positions start at "
                          "pad_token_id + 1 = %d", rows, c->pos_offset);
  c->pad_positions = TRUE;
  c->has_lm_head = strcmp (c->architecture, "RobertaForMaskedLM") == 0;
  c->mlm_transform = c->has_lm_head;
  c->mlm_gelu = TRUE;
}

void
_attnviz_config_parse_distilbert (Reader *r, AttnvizConfig *c)
{
  c->family = ATTNVIZ_FAMILY_DISTILBERT;
  c->vocab_size = _attnviz_config_read_int (r, KEYS ("vocab_size"), REQUIRED, 1, MAX_VOCAB);
  c->d_model = _attnviz_config_read_int (r, KEYS ("dim"), REQUIRED, 1, MAX_DIM);
  c->n_layer = _attnviz_config_read_int (r, KEYS ("n_layers"), REQUIRED, 1, MAX_LAYER);
  c->n_head = _attnviz_config_read_int (r, KEYS ("n_heads"), REQUIRED, 1, MAX_HEAD);
  c->n_kv_head = c->n_head;
  c->d_ff = _attnviz_config_read_int (r, KEYS ("hidden_dim"), REQUIRED, 1, 4 * MAX_DIM);
  c->n_ctx = _attnviz_config_read_int (r, KEYS ("max_position_embeddings"), 512, 1, MAX_CTX);
  const char *act = _attnviz_config_read_string (r, "activation");
  c->act = ATTNVIZ_ACT_GELU_ERF;
  if (act != NULL)
    _attnviz_config_parse_activation (r, "activation", act, &c->act);
  /* the sinusoids are written into the position table (attnviz-model-encoder.c) */
  c->sinusoidal_table = _attnviz_config_read_bool (r, "sinusoidal_pos_embds", FALSE);
  if (!r->failed && c->sinusoidal_table && c->d_model % 2 != 0)
    _attnviz_config_fail (r, "\"sinusoidal_pos_embds\" needs an even \"dim\", not %d", c->d_model);
  c->norm_eps = 1e-12f;
  c->norm = ATTNVIZ_NORM_LAYERNORM;
  c->pre_norm = FALSE;
  c->embedding_norm = TRUE;
  c->final_norm = FALSE;
  c->pos = ATTNVIZ_POS_LEARNED;
  c->causal = FALSE;
  c->qkv_bias = c->out_bias = c->mlp_bias = TRUE;
  c->tied_embeddings = _attnviz_config_read_bool (r, "tie_word_embeddings", TRUE);
  c->has_lm_head = strcmp (c->architecture, "DistilBertForMaskedLM") == 0;
  c->mlm_transform = c->has_lm_head;
  _attnviz_config_read_special_ids (r, c);
  if (c->pad_id < 0)
    c->pad_id = 0;
}
