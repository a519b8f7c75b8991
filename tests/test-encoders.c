/* test-encoders.c: RoBERTa and DistilBERT from Hugging Face folders
 *
 * The fixtures (tools/fixtures_roberta.py, tools/fixtures_distilbert.py)
 * are random-weight models in Hugging Face layout with their PyTorch
 * references after transformers' modeling_roberta and modeling_distilbert:
 * every layer's and head's attention and the MLM logits, plain, padded
 * (pads masked as keys) and, for RoBERTa, with a pad token inside the text;
 * and the ids their tokenizers give a few texts (RoBERTa's from vocab.json
 * and merges.txt, and from a tokenizer.json).
 */
#define G_LOG_DOMAIN "test-encoders"
#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-model.h"
#include "attnviz-test-seq2seq.h"
#include "attnviz-test-util.h"

#define TOL 1e-4f

typedef struct {
  const char *fixture;
  const char *suffix;        /* "", "-padded" or "-pad-inside" */
  AttnvizFamily family;
  gboolean has_logits;
} Case;

static void
test_matches_pytorch (gconstpointer data)
{
  const Case *k = data;
  g_autofree char *dir = attnviz_test_fixture_path (k->fixture, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  const AttnvizConfig *c = &model->config;
  g_assert_cmpint (c->family, ==, k->family);
  g_assert_false (c->causal);
  g_assert_cmpint (c->has_lm_head, ==, k->has_logits);

  int T;
  g_autofree char *ids_name = g_strdup_printf ("input_ids%s.npy", k->suffix);
  g_autofree gint32 *ids = attnviz_test_load_ids (k->fixture, ids_name, &T);
  int H = c->n_head, V = c->vocab_size;
  g_autofree char *att_name = g_strdup_printf ("attentions%s.npy", k->suffix);
  g_autofree float *att = attnviz_test_load_reference (k->fixture, att_name, (gsize) c->n_layer * H * T * T);
  g_autofree guint8 *mask = NULL;
  if (strcmp (k->suffix, "-padded") == 0)
    {
      int n;
      g_autofree gint32 *m = attnviz_test_load_ids (k->fixture, "attention_mask.npy", &n);
      g_assert_cmpint (n, ==, T);
      mask = g_new (guint8, T);
      for (int t = 0; t < T; t++)
        mask[t] = m[t] != 0;
    }

  for (int storage = 0; storage < 2; storage++)
    {
      AttnvizRunOptions o = { .keep_logits = TRUE, .key_mask = mask,
                              .storage = storage ? ATTNVIZ_STORAGE_RECOMPUTE : ATTNVIZ_STORAGE_DENSE };
      g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &o, &error);
      g_assert_no_error (error);
      g_test_message ("%s attention", storage ? "recomputed" : "dense");
      g_assert_cmpint (attnviz_attention_is_dense (rec->attention), ==, !storage);
      g_assert_true (attnviz_test_check_attention (rec->attention, att, c->n_layer, H, T, T, "attention"));
      if (k->has_logits)
        {
          g_autofree char *logits_name = g_strdup_printf ("logits%s.npy", k->suffix);
          g_autofree float *logits = attnviz_test_load_reference (k->fixture, logits_name, (gsize) T * V);
          g_assert_nonnull (rec->logits);
          g_assert_true (attnviz_test_check_tensor (rec->logits, logits, (gsize) T * V, TOL, "logits"));
        }
      else
        g_assert_null (rec->logits);
    }
}

/* The ids the fixture's tokenizer gives each text of
 * reference/tokenization.json, specials included, are the reference's. */
static void
test_tokenizer_gives_the_reference_ids (gconstpointer data)
{
  const char *fixture = data;
  g_autofree char *dir = attnviz_test_fixture_path (fixture, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (model->tokenizer);

  g_autofree char *path = attnviz_test_fixture_path (fixture, "reference", "tokenization.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  JsonArray *cases = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (cases), >=, 4);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *o = json_array_get_object_element (cases, i);
      const char *text = json_object_get_string_member (o, "text");
      JsonArray *want = json_object_get_array_member (o, "ids");
      g_autoptr(GArray) got = attnviz_tokenizer_encode (model->tokenizer, text, -1, TRUE, &error);
      g_assert_no_error (error);
      g_test_message ("%s: %u tokens", text, got->len);
      g_assert_cmpuint (got->len, ==, json_array_get_length (want));
      for (guint t = 0; t < got->len; t++)
        g_assert_cmpint (g_array_index (got, AttnvizToken, t).id, ==, json_array_get_int_element (want, t));
    }
}

/* RoBERTa's positions start at pad_token_id + 1: the table's first rows
 * are left for the padding, and the context is what remains. */
static void
test_roberta_positions_start_after_the_padding (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("roberta-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  const AttnvizConfig *c = &model->config;
  g_assert_cmpint (c->pad_id, ==, 1);
  g_assert_cmpint (c->pos_offset, ==, 2);
  g_assert_cmpint (c->n_ctx, ==, 32);
  g_assert_cmpint (model->pos_emb.rows, ==, 34);
  g_assert_cmpint (c->n_token_types, ==, 1);

  /* 33 tokens are one more than the 32 positions */
  gint32 ids[33];
  for (int t = 0; t < 33; t++)
    ids[t] = 4 + t;
  AttnvizRunOptions o = { 0 };
  g_autoptr(AttnvizRecording) fits = attnviz_forward (model, ids, 32, &o, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizRecording) over = attnviz_forward (model, ids, 33, &o, &error);
  g_assert_null (over);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "the model's context of 32"));
}

/* Without a position table in the folder, sinusoidal_pos_embds gives the
 * table modeling_distilbert writes: row 0 is sin 0, cos 0, ... */
static void
test_distilbert_sinusoidal_table_is_written (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("distilbert-tiny-sinusoidal", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  g_assert_true (model->config.sinusoidal_table);
  g_assert_cmpint (model->pos_emb.rows, ==, model->config.n_ctx);
  float row[32];
  g_assert_cmpint (model->config.d_model, ==, 32);
  attnviz_matrix_get_row (&model->pos_emb, 0, row);
  for (int j = 0; j < 32; j++)
    g_assert_cmpfloat (row[j], ==, j % 2 == 0 ? 0.0f : 1.0f);
  attnviz_matrix_get_row (&model->pos_emb, 3, row);
  g_assert_cmpfloat_with_epsilon (row[0], sinf (3.0f), 1e-6);
  g_assert_cmpfloat_with_epsilon (row[3], cosf (3.0f / powf (10000.0f, 2.0f / 32.0f)), 1e-6);
}

/* The real GPT-2 BPE (../shared) with fairseq's specials in front, as
 * RoBERTa's vocab.json has them: "Hello world" is <s> Hello Ġworld </s>. */
static void
test_gpt2_vocabulary_with_roberta_specials (void)
{
  g_autofree char *vocab_path = attnviz_test_shared_path ("tokenizers", "gpt2", "vocab.json", NULL);
  if (vocab_path == NULL)
    return;
  g_autofree char *merges_path = attnviz_test_shared_path ("tokenizers", "gpt2", "merges.txt", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, vocab_path, &error));
  JsonObject *gpt2 = json_node_get_object (json_parser_get_root (parser));

  /* ids 0-3 the specials, GPT-2's pieces 4 later, <mask> last */
  g_autoptr(JsonObject) vocab = json_object_new ();
  const char *specials[] = { "<s>", "<pad>", "</s>", "<unk>" };
  for (int i = 0; i < 4; i++)
    json_object_set_int_member (vocab, specials[i], i);
  g_autoptr(GList) names = json_object_get_members (gpt2);
  for (GList *l = names; l; l = l->next)
    json_object_set_int_member (vocab, l->data, json_object_get_int_member (gpt2, l->data) + 4);
  json_object_set_int_member (vocab, "<mask>", 50257 + 4);

  g_autofree char *tmp = g_dir_make_tmp ("attnviz-roberta-tok-XXXXXX", &error);
  g_assert_no_error (error);
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (root, vocab);
  g_autofree char *text = json_to_string (root, FALSE);
  g_autofree char *vocab_out = g_build_filename (tmp, "vocab.json", NULL);
  g_assert_true (g_file_set_contents (vocab_out, text, -1, NULL));
  g_autofree char *merges = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (merges_path, &merges, &len, NULL));
  g_autofree char *merges_out = g_build_filename (tmp, "merges.txt", NULL);
  g_assert_true (g_file_set_contents (merges_out, merges, (gssize) len, NULL));

  AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (tmp, &error);
  g_assert_no_error (error);
  /* GPT-2: "Hello" 15496, " world" 995, " there" 612 */
  static const struct { const char *text; gint32 ids[6]; int n; } cases[] = {
    { "Hello world", { 0, 15496 + 4, 995 + 4, 2 }, 4 },
    { "Hello there", { 0, 15496 + 4, 612 + 4, 2 }, 4 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GArray) got = attnviz_tokenizer_encode (tok, cases[i].text, -1, TRUE, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (got->len, ==, cases[i].n);
      for (int t = 0; t < cases[i].n; t++)
        g_assert_cmpint (g_array_index (got, AttnvizToken, t).id, ==, cases[i].ids[t]);
    }
  attnviz_tokenizer_free (tok);
  attnviz_test_remove_tree (tmp);
}

/* DistilBERT's tokenizer is bert-base-uncased's (../shared): lower case,
 * [CLS] ... [SEP]; a [MASK] typed in the text stays text, as every special
 * typed in a text does in attnviz (and in llama.cpp's GGUF of it). */
static void
test_bert_vocabulary_keeps_a_typed_mask_as_text (void)
{
  g_autofree char *dir = attnviz_test_shared_path ("tokenizers", "bert-base-uncased", NULL);
  if (dir == NULL)
    return;
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  /* [CLS] the cat sat on the [ mask ] . [SEP] */
  static const gint32 want[] = { 101, 1996, 4937, 2938, 2006, 1996, 1031, 7308, 1033, 1012, 102 };
  g_autoptr(GArray) got = attnviz_tokenizer_encode (tok, "The Cat sat on the [MASK].", -1, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (got->len, ==, G_N_ELEMENTS (want));
  for (guint t = 0; t < got->len; t++)
    g_assert_cmpint (g_array_index (got, AttnvizToken, t).id, ==, want[t]);
  attnviz_tokenizer_free (tok);
}

static const Case cases[] = {
  { "roberta-tiny", "", ATTNVIZ_FAMILY_ROBERTA, TRUE },
  { "roberta-tiny", "-padded", ATTNVIZ_FAMILY_ROBERTA, TRUE },
  { "roberta-tiny", "-pad-inside", ATTNVIZ_FAMILY_ROBERTA, TRUE },
  { "roberta-tiny-relu", "", ATTNVIZ_FAMILY_ROBERTA, TRUE },   /* the LM head keeps GELU */
  { "roberta-tiny-bare", "", ATTNVIZ_FAMILY_ROBERTA, FALSE },
  { "roberta-tiny-bare", "-padded", ATTNVIZ_FAMILY_ROBERTA, FALSE },
  { "distilbert-tiny", "", ATTNVIZ_FAMILY_DISTILBERT, TRUE },
  { "distilbert-tiny", "-padded", ATTNVIZ_FAMILY_DISTILBERT, TRUE },
  { "distilbert-tiny-sinusoidal", "", ATTNVIZ_FAMILY_DISTILBERT, FALSE },
  { "distilbert-tiny-sinusoidal", "-padded", ATTNVIZ_FAMILY_DISTILBERT, FALSE },
};

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/encoders/%s%s/matches-pytorch", cases[i].fixture,
                                               cases[i].suffix);
      g_test_add_data_func (path, &cases[i], test_matches_pytorch);
    }
  const char *tokenized[] = { "roberta-tiny", "roberta-tiny-bare", "distilbert-tiny" };
  for (guint i = 0; i < G_N_ELEMENTS (tokenized); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/encoders/%s/tokenizer-gives-the-reference-ids", tokenized[i]);
      g_test_add_data_func (path, tokenized[i], test_tokenizer_gives_the_reference_ids);
    }
  g_test_add_func ("/engine/encoders/roberta/positions-start-after-the-padding",
                   test_roberta_positions_start_after_the_padding);
  g_test_add_func ("/engine/encoders/distilbert/sinusoidal-table-is-written", test_distilbert_sinusoidal_table_is_written);
  g_test_add_func ("/engine/encoders/distilbert/bert-vocabulary-keeps-a-typed-mask-as-text",
                   test_bert_vocabulary_keeps_a_typed_mask_as_text);
  g_test_add_func ("/engine/encoders/roberta/gpt2-vocabulary-with-roberta-specials",
                   test_gpt2_vocabulary_with_roberta_specials);
  return g_test_run ();
}
