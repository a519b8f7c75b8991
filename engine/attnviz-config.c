/* attnviz-config.c: config.json to the generic transformer description
 *
 * Hugging Face config.json fields read, by family:
 *   all:    "architectures": [string], "model_type": string
 *   GPT-2:  vocab_size, n_positions (or n_ctx), n_embd, n_layer, n_head,
 *           n_inner (null = 4 * n_embd), activation_function, layer_norm_epsilon
 *   BERT:   vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
 *           intermediate_size, hidden_act, max_position_embeddings,
 *           type_vocab_size, layer_norm_eps, pad_token_id
 *   LLaMA / Qwen2: vocab_size, hidden_size, intermediate_size,
 *           num_hidden_layers, num_attention_heads, num_key_value_heads,
 *           head_dim (optional), max_position_embeddings, rms_norm_eps,
 *           rope_theta, hidden_act, tie_word_embeddings, attention_bias
 *           (Qwen2 always has Q/K/V biases), bos/eos/pad_token_id
 *   RoBERTa, DistilBERT: attnviz-config-encoder.c
 *   T5 / Flan-T5, BART, Marian: attnviz-config-seq2seq.c
 *   attnviz's own models ("AttnvizDecoder", "AttnvizSeq2Seq", model_type
 *   "attnviz", written by `attnviz train`; tensors in attnviz-model.c):
 *           d_model, n_layer (decoder layers), n_enc_layer (AttnvizSeq2Seq
 *           only, >= 1), n_head, head_dim (any size, default d_model / n_head),
 *           d_ff (default 4 * d_model), vocab_size, n_ctx,
 *           position: "sinusoidal" | "learned" | "rope" | "none",
 *           rope_theta (default 10000), score: "scaled_dot" | "dot" | "additive" |
 *           "hybrid:heads=K" | "hybrid:additive=L1,L2" (attnviz-config-score.c),
 *           mask: "causal" | a sparse pattern such as "window:W",
 *           "strided:S", "block:B", "window:W+global:G" (attnviz-pattern.h; the
 *           decoder's self-attention, causal as well; the encoder is
 *           bidirectional and dense), activation: "relu" | "gelu" (erf) |
 *           "gelu_new" (tanh), norm_eps (default 1e-5),
 *           bos/eos/pad_token_id.  Always: pre-norm LayerNorm with a final
 *           norm (and one after the encoder), biases on every linear layer,
 *           the LM head tied to the token embedding.  Keys starting with
 *           "attnviz_" (attnviz_task, attnviz_seed, attnviz_step, ...) record
 *           how the model was trained and are not read here.
 */
#define G_LOG_DOMAIN "attnviz-config"
#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-config-private.h"
#include "attnviz-fileutil.h"
#include "attnviz-json.h"

void
_attnviz_config_fail (Reader *r, const char *fmt, ...)
{
  if (r->failed)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (r->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", r->filename, msg);
  r->failed = TRUE;
}

/* The first of the NULL-terminated KEYS present and not null, or NULL. */
static JsonNode *
reader_find (Reader *r, const char *const *keys, const char **found)
{
  for (; *keys; keys++)
    {
      JsonNode *node = json_object_get_member (r->obj, *keys);
      if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
        {
          *found = *keys;
          return node;
        }
    }
  return NULL;
}

int
_attnviz_config_read_int (Reader *r, const char *const *keys, int fallback, int lo, int hi)
{
  /* After a failure the value is still one the rest of the parse can do
   * arithmetic on without overflowing: the lower bound. */
  int safe = fallback == G_MININT ? lo : fallback;
  const char *key = NULL;
  JsonNode *node = reader_find (r, keys, &key);
  if (node == NULL)
    {
      if (fallback == G_MININT)
        _attnviz_config_fail (r, "missing \"%s\"", keys[0]);
      return safe;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      _attnviz_config_fail (r, "\"%s\" is not an integer", key);
      return safe;
    }
  gint64 v = json_node_get_int (node);
  if (v < lo || v > hi)
    {
      _attnviz_config_fail (r, "\"%s\" = %" G_GINT64_FORMAT " is outside [%d, %d]", key, v, lo, hi);
      return safe;
    }
  return (int) v;
}


float
_attnviz_config_read_norm_eps (Reader *r, const char *key, double fallback)
{
  r->norm_eps_key = key;
  return (float) _attnviz_config_read_double (r, key, fallback);
}

double
_attnviz_config_read_double (Reader *r, const char *key, double fallback)
{
  JsonNode *node = json_object_get_member (r->obj, key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return fallback;
  if (!JSON_NODE_HOLDS_VALUE (node)
      || (json_node_get_value_type (node) != G_TYPE_DOUBLE
          && json_node_get_value_type (node) != G_TYPE_INT64))
    {
      _attnviz_config_fail (r, "\"%s\" is not a number", key);
      return fallback;
    }
  double v = json_node_get_double (node);
  if (!isfinite (v))
    {
      _attnviz_config_fail (r, "\"%s\" is not finite", key);
      return fallback;
    }
  return v;
}

gboolean
_attnviz_config_read_bool (Reader *r, const char *key, gboolean fallback)
{
  JsonNode *node = json_object_get_member (r->obj, key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return fallback;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      _attnviz_config_fail (r, "\"%s\" is not true or false", key);
      return fallback;
    }
  return json_node_get_boolean (node);
}

const char *
_attnviz_config_read_string (Reader *r, const char *key)
{
  JsonNode *node = json_object_get_member (r->obj, key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      _attnviz_config_fail (r, "\"%s\" is not a string", key);
      return NULL;
    }
  return json_node_get_string (node);
}

gboolean
_attnviz_config_parse_activation (Reader *r, const char *key, const char *name, AttnvizActivation *act)
{
  static const struct { const char *name; AttnvizActivation act; } table[] = {
    { "gelu_new", ATTNVIZ_ACT_GELU_TANH },
    { "gelu_pytorch_tanh", ATTNVIZ_ACT_GELU_TANH },
    { "gelu_fast", ATTNVIZ_ACT_GELU_TANH },
    { "gelu", ATTNVIZ_ACT_GELU_ERF },
    { "silu", ATTNVIZ_ACT_SILU },
    { "swish", ATTNVIZ_ACT_SILU },
    { "relu", ATTNVIZ_ACT_RELU },
  };
  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    if (g_strcmp0 (name, table[i].name) == 0)
      {
        *act = table[i].act;
        return TRUE;
      }
  g_autofree char *quoted = attnviz_printable (name);
  _attnviz_config_fail (r, "unsupported \"%s\": \"%s\" (expected gelu, gelu_new, silu or relu)", key, quoted);
  return FALSE;
}

/* One id of the vocabulary of VOCAB_SIZE tokens, or -1 when absent. */
static int
check_token_id (Reader *r, const char *key, JsonNode *node, int index, int vocab_size)
{
  g_autofree char *where = index < 0 ? g_strdup_printf ("\"%s\"", key) : g_strdup_printf ("\"%s\"[%d]", key, index);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      _attnviz_config_fail (r, "%s is not a token id (an integer)", where);
      return -1;
    }
  gint64 v = json_node_get_int (node);
  if (v < 0 || v >= vocab_size)
    {
      _attnviz_config_fail (r, "%s = %" G_GINT64_FORMAT " is outside the vocabulary (0..%d)", where, v, vocab_size - 1);
      return -1;
    }
  return (int) v;
}

/* KEY: an id, a list of ids (eos_token_id of models with several end
 * tokens: the first is used, all are checked), null or absent (-1). */
int
_attnviz_config_read_token_id (Reader *r, const char *key, int vocab_size)
{
  JsonNode *node = json_object_get_member (r->obj, key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return -1;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return check_token_id (r, key, node, -1, vocab_size);
  JsonArray *list = json_node_get_array (node);
  int first = -1;
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      int id = check_token_id (r, key, json_array_get_element (list, i), (int) i, vocab_size);
      if (i == 0)
        first = id;
    }
  return first;
}

/* After vocab_size: every special id must be one of its tokens, or the
 * first generated token would read past the embedding table. */
void
_attnviz_config_read_special_ids (Reader *r, AttnvizConfig *c)
{
  c->bos_id = _attnviz_config_read_token_id (r, "bos_token_id", c->vocab_size);
  c->eos_id = _attnviz_config_read_token_id (r, "eos_token_id", c->vocab_size);
  c->pad_id = _attnviz_config_read_token_id (r, "pad_token_id", c->vocab_size);
}

static void
parse_gpt2 (Reader *r, AttnvizConfig *c)
{
  c->family = ATTNVIZ_FAMILY_GPT2;
  c->vocab_size = _attnviz_config_read_int (r, KEYS ("vocab_size"), REQUIRED, 1, MAX_VOCAB);
  c->n_ctx = _attnviz_config_read_int (r, KEYS ("n_positions", "n_ctx", "max_position_embeddings"), REQUIRED, 1, MAX_CTX);
  c->d_model = _attnviz_config_read_int (r, KEYS ("n_embd", "hidden_size"), REQUIRED, 1, MAX_DIM);
  c->n_layer = _attnviz_config_read_int (r, KEYS ("n_layer", "num_hidden_layers"), REQUIRED, 1, MAX_LAYER);
  c->n_head = _attnviz_config_read_int (r, KEYS ("n_head", "num_attention_heads"), REQUIRED, 1, MAX_HEAD);
  c->n_kv_head = c->n_head;
  c->d_ff = _attnviz_config_read_int (r, KEYS ("n_inner"), 0, 1, 4 * MAX_DIM);
  if (c->d_ff == 0)
    c->d_ff = 4 * c->d_model;
  const char *act = _attnviz_config_read_string (r, "activation_function");
  c->act = ATTNVIZ_ACT_GELU_TANH;
  if (act != NULL)
    _attnviz_config_parse_activation (r, "activation_function", act, &c->act);
  c->norm_eps = _attnviz_config_read_norm_eps (r, "layer_norm_epsilon", 1e-5);
  c->norm = ATTNVIZ_NORM_LAYERNORM;
  c->pre_norm = TRUE;
  c->final_norm = TRUE;
  c->pos = ATTNVIZ_POS_LEARNED;
  c->causal = TRUE;
  c->qkv_bias = c->out_bias = c->mlp_bias = TRUE;
  c->tied_embeddings = _attnviz_config_read_bool (r, "tie_word_embeddings", TRUE);
  c->has_lm_head = g_str_has_suffix (c->architecture, "LMHeadModel");
  _attnviz_config_read_special_ids (r, c);
}

/* BERT's keys and layout, which RoBERTa shares: every field but the
 * family and the MLM head; pad_id stays -1 when the file has none. */
void
_attnviz_config_parse_bert_layout (Reader *r, AttnvizConfig *c)
{
  c->vocab_size = _attnviz_config_read_int (r, KEYS ("vocab_size"), REQUIRED, 1, MAX_VOCAB);
  c->d_model = _attnviz_config_read_int (r, KEYS ("hidden_size"), REQUIRED, 1, MAX_DIM);
  c->n_layer = _attnviz_config_read_int (r, KEYS ("num_hidden_layers"), REQUIRED, 1, MAX_LAYER);
  c->n_head = _attnviz_config_read_int (r, KEYS ("num_attention_heads"), REQUIRED, 1, MAX_HEAD);
  c->n_kv_head = c->n_head;
  c->d_ff = _attnviz_config_read_int (r, KEYS ("intermediate_size"), REQUIRED, 1, 4 * MAX_DIM);
  c->n_ctx = _attnviz_config_read_int (r, KEYS ("max_position_embeddings"), 512, 1, MAX_CTX);
  c->n_token_types = _attnviz_config_read_int (r, KEYS ("type_vocab_size"), 2, 0, 1024);
  const char *act = _attnviz_config_read_string (r, "hidden_act");
  c->act = ATTNVIZ_ACT_GELU_ERF;
  if (act != NULL)
    _attnviz_config_parse_activation (r, "hidden_act", act, &c->act);
  c->norm_eps = _attnviz_config_read_norm_eps (r, "layer_norm_eps", 1e-12);
  c->norm = ATTNVIZ_NORM_LAYERNORM;
  c->pre_norm = FALSE;
  c->embedding_norm = TRUE;
  c->final_norm = FALSE;
  const char *pos_type = _attnviz_config_read_string (r, "position_embedding_type");
  if (pos_type != NULL && strcmp (pos_type, "absolute") != 0)
    {
      g_autofree char *quoted = attnviz_printable (pos_type);
      _attnviz_config_fail (r, "unsupported \"position_embedding_type\": \"%s\" (expected absolute)", quoted);
    }
  c->pos = ATTNVIZ_POS_LEARNED;
  c->causal = FALSE;
  c->qkv_bias = c->out_bias = c->mlp_bias = TRUE;
  c->tied_embeddings = _attnviz_config_read_bool (r, "tie_word_embeddings", TRUE);
  _attnviz_config_read_special_ids (r, c);
}

static void
parse_bert (Reader *r, AttnvizConfig *c)
{
  c->family = ATTNVIZ_FAMILY_BERT;
  _attnviz_config_parse_bert_layout (r, c);
  c->has_lm_head = strcmp (c->architecture, "BertForMaskedLM") == 0
                   || strcmp (c->architecture, "BertForPreTraining") == 0;
  c->mlm_transform = c->has_lm_head;
  if (c->pad_id < 0)
    c->pad_id = 0;
}

/* "rope_scaling": {"rope_type" (or "type"): "linear", "factor"} divides the
 * positions by the factor; {"rope_type": "llama3", "factor",
 * "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}
 * stretches the low frequencies as Llama 3.1/3.2 do.  Others change positions
 * in ways attnviz does not follow: refused, naming the key. */
static void
parse_rope_scaling (Reader *r, AttnvizConfig *c)
{
  JsonNode *node = json_object_get_member (r->obj, "rope_scaling");
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      _attnviz_config_fail (r, "\"rope_scaling\" is not an object");
      return;
    }
  Reader sub = *r;
  sub.obj = json_node_get_object (node);
  const char *type = _attnviz_config_read_string (&sub, "rope_type");
  if (type == NULL)
    type = _attnviz_config_read_string (&sub, "type");
  if (r->failed || sub.failed)
    {
      r->failed = TRUE;
      return;
    }
  if (type == NULL || strcmp (type, "default") == 0)
    return;
  double factor = _attnviz_config_read_double (&sub, "factor", 0.0);
  if (!sub.failed && !(factor >= 1.0 && factor <= 1024.0))
    _attnviz_config_fail (&sub, "\"rope_scaling\": \"factor\" = %g is outside [1, 1024]", factor);
  if (strcmp (type, "linear") == 0)
    c->rope_scale = (float) factor;
  else if (strcmp (type, "llama3") == 0)
    {
      c->rope_llama3 = TRUE;
      c->rope_llama3_factor = (float) factor;
      c->rope_llama3_low = (float) _attnviz_config_read_double (&sub, "low_freq_factor", 1.0);
      c->rope_llama3_high = (float) _attnviz_config_read_double (&sub, "high_freq_factor", 4.0);
      c->rope_llama3_original = _attnviz_config_read_int (&sub, KEYS ("original_max_position_embeddings"), 8192, 1, MAX_CTX);
      if (!sub.failed && !(c->rope_llama3_low > 0.0f && c->rope_llama3_high > c->rope_llama3_low))
        _attnviz_config_fail (&sub, "\"rope_scaling\": low_freq_factor %g and high_freq_factor %g need 0 < low < high",
                     c->rope_llama3_low, c->rope_llama3_high);
    }
  else
    {
      g_autofree char *quoted = g_strescape (type, NULL);
      _attnviz_config_fail (&sub, "\"rope_scaling\": type \"%s\" is not supported (attnviz follows linear and llama3)",
                   quoted);
    }
  if (sub.failed)
    r->failed = TRUE;
}

static void
parse_llama (Reader *r, AttnvizConfig *c, gboolean qwen2)
{
  c->family = ATTNVIZ_FAMILY_LLAMA;
  c->vocab_size = _attnviz_config_read_int (r, KEYS ("vocab_size"), REQUIRED, 1, MAX_VOCAB);
  c->d_model = _attnviz_config_read_int (r, KEYS ("hidden_size"), REQUIRED, 1, MAX_DIM);
  c->n_layer = _attnviz_config_read_int (r, KEYS ("num_hidden_layers"), REQUIRED, 1, MAX_LAYER);
  c->n_head = _attnviz_config_read_int (r, KEYS ("num_attention_heads"), REQUIRED, 1, MAX_HEAD);
  c->n_kv_head = _attnviz_config_read_int (r, KEYS ("num_key_value_heads"), c->n_head, 1, MAX_HEAD);
  c->d_ff = _attnviz_config_read_int (r, KEYS ("intermediate_size"), REQUIRED, 1, 8 * MAX_DIM);
  c->n_ctx = _attnviz_config_read_int (r, KEYS ("max_position_embeddings"), 2048, 1, MAX_CTX);
  c->head_dim = _attnviz_config_read_int (r, KEYS ("head_dim"), 0, 1, MAX_DIM);
  const char *act = _attnviz_config_read_string (r, "hidden_act");
  c->act = ATTNVIZ_ACT_SILU;
  if (act != NULL)
    _attnviz_config_parse_activation (r, "hidden_act", act, &c->act);
  c->gated_mlp = TRUE;
  c->norm_eps = _attnviz_config_read_norm_eps (r, "rms_norm_eps", 1e-6);
  c->rope_theta = _attnviz_config_read_double (r, "rope_theta", 10000.0);
  parse_rope_scaling (r, c);
  c->norm = ATTNVIZ_NORM_RMSNORM;
  c->pre_norm = TRUE;
  c->final_norm = TRUE;
  c->pos = ATTNVIZ_POS_ROPE;
  c->causal = TRUE;
  c->qkv_bias = qwen2 ? TRUE : _attnviz_config_read_bool (r, "attention_bias", FALSE);
  c->out_bias = qwen2 ? FALSE : c->qkv_bias;
  c->mlp_bias = qwen2 ? FALSE : _attnviz_config_read_bool (r, "mlp_bias", FALSE);
  c->tied_embeddings = _attnviz_config_read_bool (r, "tie_word_embeddings", qwen2 ? TRUE : FALSE);
  c->has_lm_head = TRUE;
  _attnviz_config_read_special_ids (r, c);
}

static void
parse_attnviz (Reader *r, AttnvizConfig *c)
{
  c->family = ATTNVIZ_FAMILY_ATTNVIZ;
  c->encoder_decoder = g_strcmp0 (c->architecture, "AttnvizSeq2Seq") == 0;
  c->d_model = _attnviz_config_read_int (r, KEYS ("d_model"), REQUIRED, 1, MAX_DIM);
  c->n_layer = _attnviz_config_read_int (r, KEYS ("n_layer"), REQUIRED, 1, MAX_LAYER);
  c->n_enc_layer = c->encoder_decoder ? _attnviz_config_read_int (r, KEYS ("n_enc_layer"), REQUIRED, 1, MAX_LAYER) : 0;
  c->n_head = _attnviz_config_read_int (r, KEYS ("n_head"), REQUIRED, 1, MAX_HEAD);
  c->n_kv_head = c->n_head;
  c->head_dim = _attnviz_config_read_int (r, KEYS ("head_dim"), 0, 1, MAX_DIM);
  c->d_ff = _attnviz_config_read_int (r, KEYS ("d_ff"), 0, 1, 4 * MAX_DIM);
  if (c->d_ff == 0)
    c->d_ff = 4 * c->d_model;
  c->vocab_size = _attnviz_config_read_int (r, KEYS ("vocab_size"), REQUIRED, 1, MAX_VOCAB);
  c->n_ctx = _attnviz_config_read_int (r, KEYS ("n_ctx"), REQUIRED, 1, MAX_CTX);
  c->norm_eps = _attnviz_config_read_norm_eps (r, "norm_eps", 1e-5);
  c->rope_theta = _attnviz_config_read_double (r, "rope_theta", 10000.0);

  const char *pos = _attnviz_config_read_string (r, "position");
  if (pos == NULL || strcmp (pos, "sinusoidal") == 0)
    c->pos = ATTNVIZ_POS_SINUSOIDAL;
  else if (strcmp (pos, "learned") == 0)
    c->pos = ATTNVIZ_POS_LEARNED;
  else if (strcmp (pos, "rope") == 0)
    c->pos = ATTNVIZ_POS_ROPE;
  else if (strcmp (pos, "none") == 0)
    c->pos = ATTNVIZ_POS_NONE;
  else
    {
      g_autofree char *quoted = attnviz_printable (pos);
      _attnviz_config_fail (r, "unsupported \"position\": \"%s\" (expected sinusoidal, learned, rope or none)", quoted);
    }

  const char *score = _attnviz_config_read_string (r, "score");
  g_autoptr(GError) spec_error = NULL;
  c->score = ATTNVIZ_SCORE_SCALED_DOT;
  if (score != NULL && !r->failed
      && !(attnviz_config_parse_score (c, score, &spec_error) && attnviz_config_check_score (c, &spec_error)))
    _attnviz_config_fail (r, "unsupported \"score\": %s", spec_error->message);

  const char *mask = _attnviz_config_read_string (r, "mask");
  c->causal = TRUE;
  g_clear_error (&spec_error);
  if (mask != NULL && !r->failed && !attnviz_pattern_parse (&c->pattern, mask, &spec_error))
    _attnviz_config_fail (r, "unsupported \"mask\": %s", spec_error->message);

  const char *act = _attnviz_config_read_string (r, "activation");
  c->act = ATTNVIZ_ACT_RELU;
  if (act != NULL)
    _attnviz_config_parse_activation (r, "activation", act, &c->act);
  if (c->act != ATTNVIZ_ACT_RELU && c->act != ATTNVIZ_ACT_GELU_ERF && c->act != ATTNVIZ_ACT_GELU_TANH)
    {
      g_autofree char *quoted = attnviz_printable (act);
      _attnviz_config_fail (r, "unsupported \"activation\": \"%s\" (expected relu, gelu or gelu_new)", quoted);
    }

  c->norm = ATTNVIZ_NORM_LAYERNORM;
  c->pre_norm = TRUE;
  c->final_norm = TRUE;
  c->qkv_bias = c->out_bias = c->mlp_bias = TRUE;
  c->tied_embeddings = TRUE;
  c->has_lm_head = TRUE;
  _attnviz_config_read_special_ids (r, c);
}

static const struct {
  const char *architecture;
  const char *model_type;
  int kind; /* 0 gpt2, 1 bert, 2 llama, 3 qwen2, 4 attnviz, 5 t5, 6 bart, 7 marian, 8 roberta, 9 distilbert */
} known_architectures[] = {
  { "GPT2LMHeadModel", "gpt2", 0 },
  { "GPT2Model", "gpt2", 0 },
  { "BertForMaskedLM", "bert", 1 },
  { "BertModel", "bert", 1 },
  { "BertForPreTraining", "bert", 1 },
  { "LlamaForCausalLM", "llama", 2 },
  { "Qwen2ForCausalLM", "qwen2", 3 },
  { "AttnvizDecoder", "attnviz", 4 },
  { "AttnvizSeq2Seq", "attnviz", 4 },
  { "T5ForConditionalGeneration", "t5", 5 },
  { "BartForConditionalGeneration", "bart", 6 },
  { "MarianMTModel", "marian", 7 },
  { "RobertaForMaskedLM", "roberta", 8 },
  { "RobertaModel", "roberta", 8 },
  { "DistilBertForMaskedLM", "distilbert", 9 },
  { "DistilBertModel", "distilbert", 9 },
};

gboolean
attnviz_config_parse (AttnvizConfig *config,
                      const char *data,
                      gsize len,
                      const char *filename,
                      GError **error)
{
  g_return_val_if_fail (config != NULL, FALSE);
  memset (config, 0, sizeof *config);

  g_autoptr(JsonNode) root = attnviz_json_parse (data, len, ATTNVIZ_JSON_CONFIG, filename, error);
  if (root == NULL)
    return FALSE;

  Reader r = { json_node_get_object (root), filename, error, FALSE };

  const char *model_type = _attnviz_config_read_string (&r, "model_type");
  const char *arch = NULL;
  JsonNode *archs = json_object_get_member (r.obj, "architectures");
  if (archs != NULL && JSON_NODE_HOLDS_ARRAY (archs))
    {
      JsonArray *a = json_node_get_array (archs);
      if (json_array_get_length (a) > 0)
        {
          JsonNode *first = json_array_get_element (a, 0);
          if (JSON_NODE_HOLDS_VALUE (first) && json_node_get_value_type (first) == G_TYPE_STRING)
            arch = json_node_get_string (first);
        }
    }
  if (r.failed)
    return FALSE;

  int kind = -1;
  for (guint i = 0; i < G_N_ELEMENTS (known_architectures) && kind < 0; i++)
    if (g_strcmp0 (arch, known_architectures[i].architecture) == 0)
      {
        kind = known_architectures[i].kind;
        if (model_type == NULL)
          model_type = known_architectures[i].model_type;
      }
  /* No architectures list: fall back to model_type with the LM head. */
  if (kind < 0 && arch == NULL && model_type != NULL)
    for (guint i = 0; i < G_N_ELEMENTS (known_architectures) && kind < 0; i++)
      if (strcmp (model_type, known_architectures[i].model_type) == 0)
        {
          kind = known_architectures[i].kind;
          arch = known_architectures[i].architecture;
        }
  if (kind < 0)
    {
      /* Strings from the file: escaped, so an ESC sequence in them cannot
       * reach the terminal. */
      g_autofree char *qarch = arch ? attnviz_printable (arch) : g_strdup ("(none)");
      g_autofree char *qtype = model_type ? attnviz_printable (model_type) : g_strdup ("(none)");
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: unsupported architecture \"%s\" (model_type \"%s\"); attnviz reads "
                   "GPT2LMHeadModel, BertModel, BertForMaskedLM, RobertaModel, RobertaForMaskedLM, "
                   "DistilBertModel, DistilBertForMaskedLM, LlamaForCausalLM, Qwen2ForCausalLM, "
                   "T5ForConditionalGeneration, BartForConditionalGeneration, MarianMTModel, AttnvizDecoder and "
                   "AttnvizSeq2Seq",
                   filename, qarch, qtype);
      return FALSE;
    }

  config->architecture = g_strdup (arch);
  config->model_type = g_strdup (model_type);

  switch (kind)
    {
    case 0: parse_gpt2 (&r, config); break;
    case 1: parse_bert (&r, config); break;
    case 4: parse_attnviz (&r, config); break;
    case 5: _attnviz_config_parse_t5 (&r, config); break;
    case 6: _attnviz_config_parse_bart (&r, config); break;
    case 7: _attnviz_config_parse_marian (&r, config); break;
    case 8: _attnviz_config_parse_roberta (&r, config); break;
    case 9: _attnviz_config_parse_distilbert (&r, config); break;
    default: parse_llama (&r, config, kind == 3); break;
    }

  if (!r.failed && config->head_dim == 0)
    {
      if (config->d_model % config->n_head != 0)
        _attnviz_config_fail (&r, "hidden size %d is not a multiple of the %d heads", config->d_model, config->n_head);
      config->head_dim = config->d_model / config->n_head;
    }
  if (!r.failed && config->n_head % config->n_kv_head != 0)
    _attnviz_config_fail (&r, "%d attention heads cannot share %d key/value heads", config->n_head, config->n_kv_head);
  if (!r.failed && config->pos == ATTNVIZ_POS_ROPE && config->head_dim % 2 != 0)
    _attnviz_config_fail (&r, "RoPE needs an even head dimension, not %d", config->head_dim);
  if (!r.failed && !(config->norm_eps >= 0.0f && config->norm_eps < 1.0f))
    _attnviz_config_fail (&r, "\"%s\" = %g is outside [0, 1)", r.norm_eps_key ? r.norm_eps_key : "norm epsilon",
                          config->norm_eps);
  if (!r.failed && config->pos == ATTNVIZ_POS_ROPE && !(config->rope_theta > 1.0f))
    _attnviz_config_fail (&r, "\"rope_theta\" = %g must be above 1", config->rope_theta);
  /* Bound the total size: a few tens of billions of parameters at most. */
  if (!r.failed && attnviz_config_n_params (config) > ((gint64) 1 << 36))
    _attnviz_config_fail (&r, "the sizes describe %" G_GINT64_FORMAT " parameters, more than attnviz will load",
                 attnviz_config_n_params (config));

  if (r.failed)
    {
      attnviz_config_clear (config);
      return FALSE;
    }
  return TRUE;
}

gboolean
attnviz_config_load (AttnvizConfig *config, const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  memset (config, 0, sizeof *config);
  if (!attnviz_read_regular (path, attnviz_json_kind_max_bytes (ATTNVIZ_JSON_CONFIG),
                             attnviz_json_kind_name (ATTNVIZ_JSON_CONFIG), &contents, &len, error))
    return FALSE;
  return attnviz_config_parse (config, contents, len, path, error);
}

void
attnviz_config_clear (AttnvizConfig *config)
{
  g_clear_pointer (&config->architecture, g_free);
  g_clear_pointer (&config->model_type, g_free);
}

int
attnviz_config_max_positions (const AttnvizConfig *c)
{
  return c->pos == ATTNVIZ_POS_LEARNED ? c->n_ctx : ATTNVIZ_CONFIG_MAX_CTX;
}

gint64
attnviz_config_n_params (const AttnvizConfig *c)
{
  gint64 d = c->d_model, q = (gint64) c->n_head * c->head_dim, kv = (gint64) c->n_kv_head * c->head_dim;
  gint64 per_layer = d * q + 2 * d * kv + q * d;
  per_layer += (c->gated_mlp ? 3 : 2) * d * c->d_ff;
  gint64 n = (gint64) c->n_layer * per_layer + (gint64) c->vocab_size * d;
  /* Encoder-decoder: the encoder's layers and each decoder layer's
   * cross-attention. */
  if (c->encoder_decoder)
    n += (gint64) c->n_enc_layer * per_layer + (gint64) c->n_layer * (2 * d * q + 2 * d * kv);
  if (c->pos == ATTNVIZ_POS_LEARNED)
    n += (gint64) (c->n_ctx + c->pos_offset) * d;
  if (c->has_lm_head && !c->tied_embeddings)
    n += (gint64) c->vocab_size * d;
  return n;
}

const char *
attnviz_family_to_string (AttnvizFamily family)
{
  switch (family)
    {
    case ATTNVIZ_FAMILY_GPT2: return "gpt2";
    case ATTNVIZ_FAMILY_BERT: return "bert";
    case ATTNVIZ_FAMILY_LLAMA: return "llama";
    case ATTNVIZ_FAMILY_ATTNVIZ: return "attnviz";
    case ATTNVIZ_FAMILY_T5: return "t5";
    case ATTNVIZ_FAMILY_BART: return "bart";
    case ATTNVIZ_FAMILY_MARIAN: return "marian";
    case ATTNVIZ_FAMILY_ROBERTA: return "roberta";
    case ATTNVIZ_FAMILY_DISTILBERT: return "distilbert";
    default: return "unknown";
    }
}

const char *
attnviz_position_kind_to_string (AttnvizPositionKind pos)
{
  switch (pos)
    {
    case ATTNVIZ_POS_NONE: return "none";
    case ATTNVIZ_POS_LEARNED: return "learned";
    case ATTNVIZ_POS_SINUSOIDAL: return "sinusoidal";
    case ATTNVIZ_POS_ROPE: return "rope";
    case ATTNVIZ_POS_RELATIVE: return "relative";
    default: return "unknown";
    }
}

const char *
attnviz_activation_to_string (AttnvizActivation act)
{
  switch (act)
    {
    case ATTNVIZ_ACT_GELU_TANH: return "gelu-tanh";
    case ATTNVIZ_ACT_GELU_ERF: return "gelu-erf";
    case ATTNVIZ_ACT_SILU: return "silu";
    case ATTNVIZ_ACT_RELU: return "relu";
    default: return "unknown";
    }
}

const char *
attnviz_norm_kind_to_string (AttnvizNormKind norm)
{
  return norm == ATTNVIZ_NORM_RMSNORM ? "rmsnorm" : "layernorm";
}

void
attnviz_config_init_gpt2_small (AttnvizConfig *c)
{
  memset (c, 0, sizeof *c);
  c->architecture = (char *) "GPT2LMHeadModel";
  c->model_type = (char *) "gpt2";
  c->family = ATTNVIZ_FAMILY_GPT2;
  c->n_layer = 12;
  c->d_model = 768;
  c->n_head = 12;
  c->n_kv_head = 12;
  c->head_dim = 64;
  c->d_ff = 3072;
  c->vocab_size = 50257;
  c->n_ctx = 1024;
  c->norm_eps = 1e-5f;
  c->rope_theta = 10000.0f;
  c->norm = ATTNVIZ_NORM_LAYERNORM;
  c->pre_norm = TRUE;
  c->final_norm = TRUE;
  c->act = ATTNVIZ_ACT_GELU_TANH;
  c->pos = ATTNVIZ_POS_LEARNED;
  c->causal = TRUE;
  c->qkv_bias = TRUE;
  c->out_bias = TRUE;
  c->mlp_bias = TRUE;
  c->tied_embeddings = TRUE;
  c->has_lm_head = TRUE;
  c->bos_id = 50256;
  c->eos_id = 50256;
  c->pad_id = -1;
}
