/* config.json to the generic description. */
#define G_LOG_DOMAIN "test-config"
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "attnviz-config.h"
#include "attnviz-test-util.h"

static void
parse_ok (AttnvizConfig *c, const char *json)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_config_parse (c, json, strlen (json), "config.json", &error));
  g_assert_no_error (error);
}

static void
test_gpt2_is_pre_ln_causal_with_learned_positions (void)
{
  AttnvizConfig c;
  parse_ok (&c, "{\"architectures\": [\"GPT2LMHeadModel\"], \"vocab_size\": 50257, \"n_positions\": 1024,"
                " \"n_embd\": 768, \"n_layer\": 12, \"n_head\": 12, \"n_inner\": null}");
  g_assert_cmpint (c.family, ==, ATTNVIZ_FAMILY_GPT2);
  g_assert_cmpint (c.d_ff, ==, 3072);
  g_assert_cmpint (c.head_dim, ==, 64);
  g_assert_true (c.pre_norm && c.causal && c.final_norm);
  g_assert_cmpint (c.pos, ==, ATTNVIZ_POS_LEARNED);
  g_assert_cmpint (c.act, ==, ATTNVIZ_ACT_GELU_TANH);
  g_assert_cmpint (attnviz_config_n_params (&c), ==, 124439808 - 768 * 2 * 12 - 768 * 2 - 3 * 768 * 12
                   - 768 * 12 - 3072 * 12 - 768 * 12 - 2 * 768 * 12);
  attnviz_config_clear (&c);
}

static void
test_bert_is_post_ln_bidirectional (void)
{
  AttnvizConfig c;
  parse_ok (&c, "{\"architectures\": [\"BertForMaskedLM\"], \"vocab_size\": 30522, \"hidden_size\": 768,"
                " \"num_hidden_layers\": 12, \"num_attention_heads\": 12, \"intermediate_size\": 3072,"
                " \"hidden_act\": \"gelu\", \"max_position_embeddings\": 512, \"type_vocab_size\": 2}");
  g_assert_cmpint (c.family, ==, ATTNVIZ_FAMILY_BERT);
  g_assert_false (c.pre_norm);
  g_assert_false (c.causal);
  g_assert_true (c.embedding_norm && c.mlm_transform && c.has_lm_head);
  g_assert_cmpint (c.act, ==, ATTNVIZ_ACT_GELU_ERF);
  g_assert_cmpfloat (c.norm_eps, ==, 1e-12f);
  attnviz_config_clear (&c);
}

/* roberta-base's config.json: positions from pad_token_id + 1 = 2 of the
 * 514 rows, so 512 of them; its MLM head activated by GELU */
static void
test_roberta_counts_positions_after_the_padding (void)
{
  AttnvizConfig c;
  parse_ok (&c, "{\"architectures\": [\"RobertaForMaskedLM\"], \"model_type\": \"roberta\", \"vocab_size\": 50265,"
                " \"hidden_size\": 768, \"num_hidden_layers\": 12, \"num_attention_heads\": 12,"
                " \"intermediate_size\": 3072, \"hidden_act\": \"gelu\", \"max_position_embeddings\": 514,"
                " \"type_vocab_size\": 1, \"layer_norm_eps\": 1e-05, \"pad_token_id\": 1, \"bos_token_id\": 0,"
                " \"eos_token_id\": 2}");
  g_assert_cmpint (c.family, ==, ATTNVIZ_FAMILY_ROBERTA);
  g_assert_cmpint (c.n_ctx, ==, 512);
  g_assert_cmpint (c.pos_offset, ==, 2);
  g_assert_true (c.pad_positions && c.mlm_transform && c.mlm_gelu && c.has_lm_head);
  g_assert_cmpint (c.n_token_types, ==, 1);
  g_assert_false (c.pre_norm || c.causal);
  g_assert_cmpfloat (c.norm_eps, ==, 1e-5f);
  attnviz_config_clear (&c);
}

/* distilbert-base-uncased's config.json: its own keys */
static void
test_distilbert_reads_its_own_keys (void)
{
  AttnvizConfig c;
  parse_ok (&c, "{\"activation\": \"gelu\", \"architectures\": [\"DistilBertForMaskedLM\"], \"dim\": 768,"
                " \"hidden_dim\": 3072, \"max_position_embeddings\": 512, \"model_type\": \"distilbert\","
                " \"n_heads\": 12, \"n_layers\": 6, \"pad_token_id\": 0, \"sinusoidal_pos_embds\": false,"
                " \"tie_weights_\": true, \"vocab_size\": 30522}");
  g_assert_cmpint (c.family, ==, ATTNVIZ_FAMILY_DISTILBERT);
  g_assert_cmpint (c.d_model, ==, 768);
  g_assert_cmpint (c.n_layer, ==, 6);
  g_assert_cmpint (c.head_dim, ==, 64);
  g_assert_cmpint (c.d_ff, ==, 3072);
  g_assert_cmpint (c.n_token_types, ==, 0);
  g_assert_cmpint (c.pos_offset, ==, 0);
  g_assert_false (c.sinusoidal_table || c.mlm_gelu || c.pad_positions);
  g_assert_true (c.mlm_transform && c.has_lm_head);
  g_assert_cmpfloat (c.norm_eps, ==, 1e-12f);
  attnviz_config_clear (&c);
}

static void
test_llama_has_gqa_rope_and_swiglu (void)
{
  AttnvizConfig c;
  parse_ok (&c, "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 512, \"hidden_size\": 64,"
                " \"intermediate_size\": 172, \"num_hidden_layers\": 5, \"num_attention_heads\": 8,"
                " \"num_key_value_heads\": 4, \"rope_theta\": 10000.0, \"tie_word_embeddings\": true}");
  g_assert_cmpint (c.family, ==, ATTNVIZ_FAMILY_LLAMA);
  g_assert_cmpint (c.n_kv_head, ==, 4);
  g_assert_cmpint (c.pos, ==, ATTNVIZ_POS_ROPE);
  g_assert_true (c.gated_mlp && c.tied_embeddings);
  g_assert_false (c.qkv_bias);
  g_assert_cmpint (c.norm, ==, ATTNVIZ_NORM_RMSNORM);
  attnviz_config_clear (&c);
}

static void
test_qwen2_has_qkv_biases (void)
{
  AttnvizConfig c;
  parse_ok (&c, "{\"architectures\": [\"Qwen2ForCausalLM\"], \"vocab_size\": 97, \"hidden_size\": 32,"
                " \"intermediate_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
                " \"num_key_value_heads\": 2, \"rope_theta\": 1000000.0}");
  g_assert_true (c.qkv_bias);
  g_assert_false (c.out_bias);
  g_assert_true (c.tied_embeddings);
  attnviz_config_clear (&c);
}

typedef struct {
  const char *json;
  const char *needle;
} BadConfig;

static const BadConfig bad_configs[] = {
  { "not json", "not valid JSON" },
  { "[1, 2]", "not a JSON object" },
  { "{\"architectures\": [\"MambaForCausalLM\"]}", "unsupported architecture \"MambaForCausalLM\"" },
  { "{\"architectures\": [\"GPT2LMHeadModel\"], \"vocab_size\": 10}", "missing \"n_positions\"" },
  { "{\"architectures\": [\"GPT2LMHeadModel\"], \"vocab_size\": \"ten\", \"n_positions\": 8, \"n_embd\": 8,"
    " \"n_layer\": 1, \"n_head\": 2}", "\"vocab_size\" is not an integer" },
  { "{\"architectures\": [\"GPT2LMHeadModel\"], \"vocab_size\": 10, \"n_positions\": 8, \"n_embd\": 9,"
    " \"n_layer\": 1, \"n_head\": 2}", "not a multiple" },
  { "{\"architectures\": [\"GPT2LMHeadModel\"], \"vocab_size\": -4, \"n_positions\": 8, \"n_embd\": 8,"
    " \"n_layer\": 1, \"n_head\": 2}", "outside" },
  { "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 8, \"intermediate_size\": 8,"
    " \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"num_key_value_heads\": 3}", "cannot share" },
  { "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 4000000, \"hidden_size\": 65536,"
    " \"intermediate_size\": 500000, \"num_hidden_layers\": 1000, \"num_attention_heads\": 512}", "parameters" },
  { "{\"architectures\": [\"GPT2LMHeadModel\"], \"vocab_size\": 10, \"n_positions\": 8, \"n_embd\": 8,"
    " \"n_layer\": 1, \"n_head\": 2, \"activation_function\": \"swoosh\"}", "swoosh" },
  { "{\"architectures\": [\"DistilBertModel\"], \"vocab_size\": 10, \"dim\": 8, \"n_layers\": 1,"
    " \"hidden_dim\": 16}", "missing \"n_heads\"" },
  { "{\"architectures\": [\"DistilBertModel\"], \"vocab_size\": 10, \"dim\": 9, \"n_layers\": 1, \"n_heads\": 3,"
    " \"hidden_dim\": 16, \"sinusoidal_pos_embds\": true}", "\"sinusoidal_pos_embds\" needs an even \"dim\", not 9" },
  { "{\"model_type\": \"distilbert\", \"vocab_size\": 10, \"dim\": 8, \"n_layers\": 1, \"n_heads\": 2,"
    " \"hidden_dim\": 16, \"activation\": \"swoosh\"}", "unsupported \"activation\": \"swoosh\"" },
  { "{\"architectures\": [\"RobertaModel\"], \"vocab_size\": 10, \"hidden_size\": 8, \"num_hidden_layers\": 1,"
    " \"num_attention_heads\": 2, \"intermediate_size\": 16, \"pad_token_id\": 7, \"max_position_embeddings\": 8}",
    "\"max_position_embeddings\" = 8 leaves no position: RoBERTa's positions start at pad_token_id + 1 = 8" },
  { "{\"architectures\": [\"RobertaForMaskedLM\"], \"vocab_size\": 10, \"num_hidden_layers\": 1,"
    " \"num_attention_heads\": 2, \"intermediate_size\": 16}", "missing \"hidden_size\"" },
  { "{\"architectures\": [\"RobertaModel\"], \"vocab_size\": 10, \"hidden_size\": 8, \"num_hidden_layers\": 1,"
    " \"num_attention_heads\": 2, \"intermediate_size\": 16, \"position_embedding_type\": \"relative_key\"}",
    "unsupported \"position_embedding_type\": \"relative_key\"" },
  { "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 8, \"intermediate_size\": 8,"
    " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"rms_norm_eps\": 2.5}",
    "\"rms_norm_eps\" = 2.5 is outside [0, 1)" },
  { "{\"architectures\": [\"T5ForConditionalGeneration\"], \"vocab_size\": 10, \"d_model\": 8, \"d_kv\": 4,"
    " \"d_ff\": 16, \"num_layers\": 1, \"num_heads\": 2, \"relative_attention_num_buckets\": 8,"
    " \"layer_norm_epsilon\": -1}", "\"layer_norm_epsilon\" = -1 is outside [0, 1)" },
};

static void
test_bad_config_is_an_error (gconstpointer data)
{
  const BadConfig *bad = data;
  AttnvizConfig c;
  g_autoptr(GError) error = NULL;
  g_assert_false (attnviz_config_parse (&c, bad->json, strlen (bad->json), "dir/config.json", &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "dir/config.json: "));
  g_assert_nonnull (strstr (error->message, bad->needle));
  g_assert_null (strchr (error->message, '\n'));
  g_assert_null (c.architecture);
}

static void
test_missing_config_is_not_found (void)
{
  AttnvizConfig c;
  g_autoptr(GError) error = NULL;
  g_assert_false (attnviz_config_load (&c, "/nonexistent/config.json", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/config/gpt2-is-pre-ln-causal-with-learned-positions",
                   test_gpt2_is_pre_ln_causal_with_learned_positions);
  g_test_add_func ("/engine/config/bert-is-post-ln-and-bidirectional", test_bert_is_post_ln_bidirectional);
  g_test_add_func ("/engine/config/roberta-counts-positions-after-the-padding",
                   test_roberta_counts_positions_after_the_padding);
  g_test_add_func ("/engine/config/distilbert-reads-its-own-keys", test_distilbert_reads_its_own_keys);
  g_test_add_func ("/engine/config/llama-has-gqa-rope-and-swiglu", test_llama_has_gqa_rope_and_swiglu);
  g_test_add_func ("/engine/config/qwen2-has-qkv-biases", test_qwen2_has_qkv_biases);
  for (guint i = 0; i < G_N_ELEMENTS (bad_configs); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/config/bad/%u-is-a-one-line-error", i);
      g_test_add_data_func (path, &bad_configs[i], test_bad_config_is_an_error);
    }
  g_test_add_func ("/engine/config/missing-file-is-not-found", test_missing_config_is_not_found);
  return g_test_run ();
}
