/* test-t5.c: T5 and Flan-T5 from Hugging Face folders
 *
 * The fixtures (tests/fixtures/{t5-tiny,flan-t5-tiny}) are random-weight
 * T5ForConditionalGeneration models with their PyTorch reference
 * (tools/fixtures_t5.py, after transformers' modeling_t5): encoder,
 * decoder and cross-attention of every layer and head, and the logits.
 */
#define G_LOG_DOMAIN "test-t5"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "attnviz-forward.h"
#include "attnviz-kernels.h"
#include "attnviz-model.h"
#include "attnviz-test-seq2seq.h"
#include "attnviz-test-util.h"
#include "attnviz-tokenizer.h"
#include <json-glib/json-glib.h>
#include "attnviz-variant.h"

/* Buckets worked out by hand from the definition (the same table
 * tools/fixtures_t5.py checks transformers' function against).
 * Bidirectional, 32 buckets: 16 a side, distances 0-7 exact, then
 * 8 + floor (log (n / 8) / log (128 / 8) * 8), at most 15; keys after the
 * query add 16.  Causal, 32 buckets: keys after the query are bucket 0,
 * distances 0-15 exact, then 16 + floor (log (n / 16) / log (8) * 16). */
static const struct { int rel; gboolean bidi; int n_buckets, max_distance, bucket; } buckets[] = {
  { 0, TRUE, 32, 128, 0 },    { -1, TRUE, 32, 128, 1 },    { 1, TRUE, 32, 128, 17 },
  { -7, TRUE, 32, 128, 7 },   { 7, TRUE, 32, 128, 23 },    { -12, TRUE, 32, 128, 9 },   /* 8 + 1.17 */
  { -30, TRUE, 32, 128, 11 }, /* 8 + 3.81 */ { 50, TRUE, 32, 128, 29 }, /* 16 + 8 + 5.29 */
  { -127, TRUE, 32, 128, 15 }, { -500, TRUE, 32, 128, 15 }, { 500, TRUE, 32, 128, 31 },
  { 0, FALSE, 32, 128, 0 },   { 5, FALSE, 32, 128, 0 },    { -1, FALSE, 32, 128, 1 },
  { -15, FALSE, 32, 128, 15 }, { -20, FALSE, 32, 128, 17 }, /* 16 + 1.72 */
  { -40, FALSE, 32, 128, 23 }, /* 16 + 7.05 */ { -70, FALSE, 32, 128, 27 }, /* 16 + 11.36 */
  { -127, FALSE, 32, 128, 31 }, { -1000, FALSE, 32, 128, 31 },
  /* the fixtures' 8 buckets up to 20 */
  { -3, TRUE, 8, 20, 2 },     { 3, TRUE, 8, 20, 6 },       { -9, TRUE, 8, 20, 3 },
  { -3, FALSE, 8, 20, 3 },    { -5, FALSE, 8, 20, 4 },     { -19, FALSE, 8, 20, 7 },
};

static void
test_bucket_matches_hand_computed_table (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (buckets); i++)
    {
      int got = attnviz_relative_bucket (buckets[i].rel, buckets[i].bidi, buckets[i].n_buckets,
                                         buckets[i].max_distance);
      if (got != buckets[i].bucket)
        g_test_message ("distance %d, %s, %d buckets up to %d: got %d, want %d", buckets[i].rel,
                        buckets[i].bidi ? "bidirectional" : "causal", buckets[i].n_buckets,
                        buckets[i].max_distance, got, buckets[i].bucket);
      g_assert_cmpint (got, ==, buckets[i].bucket);
    }
}

static void
test_matches_pytorch (gconstpointer data)
{
  const char *fixture = data;
  g_autofree char *dir = attnviz_test_fixture_path (fixture, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  const AttnvizConfig *c = &model->config;
  g_assert_true (c->encoder_decoder);
  g_assert_cmpint (c->pos, ==, ATTNVIZ_POS_RELATIVE);

  int S, T;
  g_autofree gint32 *src = attnviz_test_load_ids (fixture, "source_ids.npy", &S);
  g_autofree gint32 *tgt = attnviz_test_load_ids (fixture, "target_ids.npy", &T);
  int H = c->n_head, V = c->vocab_size;
  g_autofree float *enc = attnviz_test_load_reference (fixture, "encoder_attentions.npy", (gsize) c->n_enc_layer * H * S * S);
  g_autofree float *dec = attnviz_test_load_reference (fixture, "attentions.npy", (gsize) c->n_layer * H * T * T);
  g_autofree float *cross = attnviz_test_load_reference (fixture, "cross_attentions.npy", (gsize) c->n_layer * H * T * S);
  g_autofree float *logits = attnviz_test_load_reference (fixture, "logits.npy", (gsize) T * V);

  for (int storage = 0; storage < 2; storage++)
    {
      AttnvizRunOptions o = { .keep_logits = TRUE,
                              .storage = storage ? ATTNVIZ_STORAGE_RECOMPUTE : ATTNVIZ_STORAGE_DENSE };
      g_autoptr(AttnvizRecording) rec = attnviz_forward_seq2seq (model, src, S, tgt, T, &o, &error);
      g_assert_no_error (error);
      g_test_message ("%s attention", storage ? "recomputed" : "dense");
      g_assert_cmpint (attnviz_attention_is_dense (rec->attention), ==, !storage);
      g_assert_true (attnviz_test_check_attention (rec->enc_attention, enc, c->n_enc_layer, H, S, S, "encoder"));
      g_assert_true (attnviz_test_check_attention (rec->attention, dec, c->n_layer, H, T, T, "decoder"));
      g_assert_true (attnviz_test_check_attention (rec->cross_attention, cross, c->n_layer, H, T, S, "cross"));
      g_assert_nonnull (rec->logits);
      g_assert_true (attnviz_test_check_tensor (rec->logits, logits, (gsize) T * V, 1e-4f, "logits"));
    }
}

/* pos=none takes the relative bias out: with it the encoder's first
 * head no longer matches the model's attention. */
static void
test_pos_none_removes_the_bias (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("t5-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  int S, T;
  g_autofree gint32 *src = attnviz_test_load_ids ("t5-tiny", "source_ids.npy", &S);
  g_autofree gint32 *tgt = attnviz_test_load_ids ("t5-tiny", "target_ids.npy", &T);
  AttnvizVariant none;
  g_assert_true (attnviz_variant_parse (&none, "pos=none", &error));
  g_assert_no_error (error);
  AttnvizRunOptions o = { .variant = &none, .storage = ATTNVIZ_STORAGE_DENSE };
  g_autoptr(AttnvizRecording) with = attnviz_forward_seq2seq (model, src, S, tgt, T, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizRecording) without = attnviz_forward_seq2seq (model, src, S, tgt, T, &o, &error);
  g_assert_no_error (error);

  /* The model's own attention is shaped by the bias: taking it out
   * changes the encoder's layer 0, head 0. */
  float diff = 0.0f;
  for (gsize i = 0; i < (gsize) S * S; i++)
    diff = MAX (diff, fabsf (with->enc_attn[i] - without->enc_attn[i]));
  g_test_message ("largest change of the encoder's layer 0 head 0: %g", diff);
  g_assert_cmpfloat (diff, >, 0.05f);

  /* With no positions at all the encoder sees a set: reversing the
   * source reverses the rows and columns of its attention exactly. */
  g_autofree gint32 *rev = g_new (gint32, S);
  for (int j = 0; j < S; j++)
    rev[j] = src[S - 1 - j];
  g_autoptr(AttnvizRecording) reversed = attnviz_forward_seq2seq (model, rev, S, tgt, T, &o, &error);
  g_assert_no_error (error);
  for (int i = 0; i < S; i++)
    for (int j = 0; j < S; j++)
      g_assert_cmpfloat_with_epsilon (without->enc_attn[(gsize) i * S + j],
                                      reversed->enc_attn[(gsize) (S - 1 - i) * S + (S - 1 - j)], 1e-5f);
}

/* pos=reversed hands the bias positions S - 1 .. 0: the encoder then
 * reads the reversed source exactly as the model reads the source, its
 * attention reversed in rows and columns (the bias sees only p_j - p_i).
 * Dense and recomputed heads alike. */
static void
test_pos_reversed_moves_the_bias_with_the_tokens (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("flan-t5-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  int S, T;
  g_autofree gint32 *src = attnviz_test_load_ids ("flan-t5-tiny", "source_ids.npy", &S);
  g_autofree gint32 *tgt = attnviz_test_load_ids ("flan-t5-tiny", "target_ids.npy", &T);
  g_autofree gint32 *rev = g_new (gint32, S);
  for (int j = 0; j < S; j++)
    rev[j] = src[S - 1 - j];
  AttnvizVariant reversed;
  g_assert_true (attnviz_variant_parse (&reversed, "pos=reversed", &error));
  AttnvizRunOptions dense = { .storage = ATTNVIZ_STORAGE_DENSE };
  g_autoptr(AttnvizRecording) model_run = attnviz_forward_seq2seq (model, src, S, tgt, T, &dense, &error);
  g_assert_no_error (error);
  for (int storage = 0; storage < 2; storage++)
    {
      AttnvizRunOptions o = { .variant = &reversed,
                              .storage = storage ? ATTNVIZ_STORAGE_RECOMPUTE : ATTNVIZ_STORAGE_DENSE };
      g_autoptr(AttnvizRecording) run = attnviz_forward_seq2seq (model, rev, S, tgt, T, &o, &error);
      g_assert_no_error (error);
      g_autofree float *mine = g_new (float, (gsize) S * S);
      for (int l = 0; l < model->config.n_enc_layer; l++)
        for (int h = 0; h < model->config.n_head; h++)
          {
            attnviz_attention_get_rect (run->enc_attention, l, h, 0, S, 0, S, mine, S);
            const float *ref = model_run->enc_attn + ((gsize) l * model->config.n_head + h) * S * S;
            for (int i = 0; i < S; i++)
              for (int j = 0; j < S; j++)
                g_assert_cmpfloat_with_epsilon (mine[(gsize) i * S + j], ref[(gsize) (S - 1 - i) * S + (S - 1 - j)],
                                                1e-5f);
          }
    }
}

/* A copy of FIXTURE in a scratch folder, with config.json edited by
 * replacing FROM with TO (NULL: unchanged) and the weights linked. */
static char *
edited_copy (const char *fixture, const char *from, const char *to, const char *weights)
{
  g_autoptr(GError) error = NULL;
  char *tmp = g_dir_make_tmp ("attnviz-t5-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *src_config = attnviz_test_fixture_path (fixture, "config.json", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (src_config, &text, NULL, NULL));
  if (from)
    {
      g_assert_nonnull (strstr (text, from));
      g_autoptr(GString) s = g_string_new (text);
      g_string_replace (s, from, to, 1);
      g_free (text);
      text = g_string_free (g_steal_pointer (&s), FALSE);
    }
  g_autofree char *config = g_build_filename (tmp, "config.json", NULL);
  g_assert_true (g_file_set_contents (config, text, -1, NULL));
  g_autofree char *st = g_build_filename (tmp, "model.safetensors", NULL);
  g_autofree char *src_st = weights ? g_strdup (weights) : attnviz_test_fixture_path (fixture, "model.safetensors", NULL);
  g_assert_cmpint (symlink (src_st, st), ==, 0);
  return tmp;
}

static void
test_refuses_missing_buckets (void)
{
  g_autofree char *dir = edited_copy ("t5-tiny", "\"relative_attention_num_buckets\"", "\"num_buckets_renamed\"",
                                      NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_null (model);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "config.json"));
  g_assert_nonnull (strstr (error->message, "missing \"relative_attention_num_buckets\""));
  g_assert_null (strchr (error->message, '\n'));
  attnviz_test_remove_tree (dir);
}

/* config.json saying 16 buckets for weights holding 8: the bias tensor
 * has the wrong shape. */
static void
test_refuses_bias_of_wrong_shape (void)
{
  g_autofree char *dir = edited_copy ("t5-tiny", "\"relative_attention_num_buckets\": 8",
                                      "\"relative_attention_num_buckets\": 16", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_null (model);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "model.safetensors"));
  g_assert_nonnull (strstr (error->message, "relative_attention_bias.weight\" has shape [8, 4], expected [16, 4]"));
  attnviz_test_remove_tree (dir);
}

static void
test_refuses_max_distance_within_exact_buckets (void)
{
  g_autofree char *dir = edited_copy ("t5-tiny", "\"relative_attention_max_distance\": 20",
                                      "\"relative_attention_max_distance\": 4", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_null (model);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "config.json: \"relative_attention_max_distance\" = 4"));
  attnviz_test_remove_tree (dir);
}

/* The Unigram segmentation equals SentencePiece's own (the fixture's
 * tokenization.json, written by SentencePiece's encoder with T5's </s>
 * after the text), and every token spans the bytes it came from. */
static void
test_unigram_matches_sentencepiece (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("t5-tiny", NULL);
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (attnviz_tokenizer_get_kind (tok), ==, ATTNVIZ_TOKENIZER_UNIGRAM);

  g_autofree char *path = attnviz_test_fixture_path ("t5-tiny", "reference", "tokenization.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, path, NULL));
  JsonArray *cases = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (cases), >=, 8);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      const char *text = json_object_get_string_member (c, "text");
      JsonArray *want = json_object_get_array_member (c, "ids");
      g_autoptr(GArray) got = attnviz_tokenizer_encode (tok, text, -1, TRUE, &error);
      g_assert_no_error (error);
      g_autoptr(GString) got_s = g_string_new (NULL), want_s = g_string_new (NULL);
      for (guint t = 0; t < got->len; t++)
        g_string_append_printf (got_s, " %d", g_array_index (got, AttnvizToken, t).id);
      for (guint t = 0; t < json_array_get_length (want); t++)
        g_string_append_printf (want_s, " %d", (int) json_array_get_int_element (want, t));
      g_test_message ("\"%s\":%s", text, got_s->str);
      g_assert_cmpstr (got_s->str, ==, want_s->str);
      guint32 at = 0;
      for (guint t = 0; t < got->len; t++)
        {
          const AttnvizToken *k = &g_array_index (got, AttnvizToken, t);
          g_assert_cmpuint (k->start, >=, at);
          g_assert_cmpuint (k->end, >=, k->start);
          g_assert_cmpuint (k->end, <=, strlen (text));
          at = k->end;
        }
    }
  /* a word's "▁" spans the space before it; the decoded ids give the text back */
  g_autoptr(GArray) fox = attnviz_tokenizer_encode (tok, "  The fox", -1, FALSE, &error);
  const AttnvizToken *first = &g_array_index (fox, AttnvizToken, 0);
  g_assert_cmpuint (first->start, ==, 1);
  g_autofree gint32 *ids = g_new (gint32, fox->len);
  for (guint t = 0; t < fox->len; t++)
    ids[t] = g_array_index (fox, AttnvizToken, t).id;
  g_autofree char *back = attnviz_tokenizer_decode (tok, ids, fox->len);
  g_assert_cmpstr (back, ==, "The fox");
  attnviz_tokenizer_free (tok);
}

/* A scratch folder holding FILE with CONTENTS. */
static char *
folder_with (const char *file, const char *contents)
{
  char *tmp = g_dir_make_tmp ("attnviz-t5-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, file, NULL);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  return tmp;
}

/* A hostile vocabulary's megabyte piece: a text spelling it is that one
 * token (found by its hash, not by comparing every substring), and
 * another megabyte word beside it is one unknown token. */
static void
test_unigram_megabyte_piece (void)
{
  gsize n = 1 << 20;
  g_autofree char *word = g_malloc (n + 1);
  memset (word, 'a', n);
  word[n] = '\0';
  g_autofree char *json = g_strdup_printf ("{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": "
                                           "[[\"<unk>\", 0.0], [\"\u2581%s\", -1.0], [\"\u2581\", -2.0], "
                                           "[\"b\", -3.0]]}}", word);
  g_autofree char *dir = folder_with ("tokenizer.json", json);
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  g_autofree char *text = g_strdup_printf ("%s %s", word, word);
  text[n + 1 + n - 1] = 'c';   /* the second word: a megabyte of a ending in c, which no piece has */
  g_autoptr(GArray) toks = attnviz_tokenizer_encode (tok, text, -1, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (toks->len, ==, 3);
  g_assert_cmpint (g_array_index (toks, AttnvizToken, 0).id, ==, 1);
  g_assert_cmpuint (g_array_index (toks, AttnvizToken, 0).end, ==, n);
  /* "▁" then the unknown rest, fused into one <unk> */
  g_assert_cmpint (g_array_index (toks, AttnvizToken, 1).id, ==, 2);
  g_assert_cmpint (g_array_index (toks, AttnvizToken, 2).id, ==, 0);
  g_assert_cmpuint (g_array_index (toks, AttnvizToken, 2).start, ==, n + 1);
  g_assert_cmpuint (g_array_index (toks, AttnvizToken, 2).end, ==, 2 * n + 1);
  attnviz_tokenizer_free (tok);
  attnviz_test_remove_tree (dir);
}

static void
test_unigram_refuses_an_empty_vocabulary (void)
{
  g_autofree char *dir = folder_with ("tokenizer.json", "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": []}}");
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_null (tok);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "tokenizer.json: the Unigram vocabulary has no pieces"));
  attnviz_test_remove_tree (dir);
}

static void
test_unigram_refuses_a_bad_piece (void)
{
  g_autofree char *dir = folder_with ("tokenizer.json",
                                      "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, "
                                      "\"vocab\": [[\"<unk>\", 0.0], [\"a\", \"x\"]]}}");
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_null (tok);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "tokenizer.json: model.vocab[1] is not [piece, finite score]"));
  attnviz_test_remove_tree (dir);
}

/* A Precompiled normalizer's map is hostile input: each broken one is a
 * one-line error naming the file and precompiled_charsmap, never a crash. */
static const struct {
  const char *name;
  const char *value;   /* precompiled_charsmap's JSON */
  const char *message;
} bad_charsmaps[] = {
  { "not-base64", "\"@@@@\"", "tokenizer.json: precompiled_charsmap is not a base64 string" },
  { "a-number", "42", "tokenizer.json: precompiled_charsmap is not a base64 string" },
  { "truncated", "\"BAA=\"", "tokenizer.json: precompiled_charsmap is 2 bytes, too short for its trie's size" },
  { "a-trie-past-its-end", "\"CAAAAGFiY2Q=\"",
    "tokenizer.json: precompiled_charsmap says its trie is 8 bytes, past its end (4 bytes)" },
  { "a-string-without-nul", "\"BAAAAAAEAABYWQ==\"",
    "tokenizer.json: precompiled_charsmap has a last replacement string without its NUL" },
};

static void
test_unigram_refuses_a_broken_charsmap (gconstpointer data)
{
  guint i = GPOINTER_TO_UINT (data);
  g_autofree char *json = g_strdup_printf ("{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": "
                                           "[{\"type\": \"Precompiled\", \"precompiled_charsmap\": %s}]}, "
                                           "\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, "
                                           "\"vocab\": [[\"<unk>\", 0.0], [\"a\", -1.0]]}}", bad_charsmaps[i].value);
  g_autofree char *dir = folder_with ("tokenizer.json", json);
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_null (tok);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_test_message ("%s", error->message);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_true (g_str_has_suffix (error->message, bad_charsmaps[i].message));
  attnviz_test_remove_tree (dir);
}

/* Scores of -1.7e308 are finite, but two of them add up to -inf: the
 * Viterbi pass still knows which positions it reached, and the text
 * comes out whole as the pieces there are (it used to read from[] where
 * nothing had been written). */
static void
test_unigram_survives_scores_that_overflow (void)
{
  g_autofree char *dir = folder_with ("tokenizer.json",
                                      "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, "
                                      "\"vocab\": [[\"<unk>\", 0.0], [\"\\u2581\", -1.7e308], [\"a\", -1.7e308], "
                                      "[\"b\", -1.7e308]]}}");
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  g_autoptr(GArray) toks = attnviz_tokenizer_encode (tok, "ab ba", -1, FALSE, &error);
  g_assert_no_error (error);
  static const gint32 ids[] = { 1, 2, 3, 1, 3, 2 };   /* ▁ a b ▁ b a */
  static const guint32 ends[] = { 0, 1, 2, 3, 4, 5 };
  g_assert_cmpuint (toks->len, ==, G_N_ELEMENTS (ids));
  for (guint i = 0; i < toks->len; i++)
    {
      g_assert_cmpint (g_array_index (toks, AttnvizToken, i).id, ==, ids[i]);
      g_assert_cmpuint (g_array_index (toks, AttnvizToken, i).end, ==, ends[i]);
    }
  attnviz_tokenizer_free (tok);
  attnviz_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/t5/relative-bucket/matches-a-hand-computed-table", test_bucket_matches_hand_computed_table);
  g_test_add_data_func ("/engine/t5/t5-tiny/matches-pytorch", "t5-tiny", test_matches_pytorch);
  g_test_add_data_func ("/engine/t5/flan-t5-tiny/matches-pytorch", "flan-t5-tiny", test_matches_pytorch);
  g_test_add_func ("/engine/t5/variant/pos-none-removes-the-relative-bias", test_pos_none_removes_the_bias);
  g_test_add_func ("/engine/t5/variant/pos-reversed-moves-the-bias-with-the-tokens",
                   test_pos_reversed_moves_the_bias_with_the_tokens);
  g_test_add_func ("/engine/t5/refuses/a-config-without-relative-attention-num-buckets", test_refuses_missing_buckets);
  g_test_add_func ("/engine/t5/refuses/a-bias-tensor-of-the-wrong-shape", test_refuses_bias_of_wrong_shape);
  g_test_add_func ("/engine/t5/refuses/a-max-distance-within-the-exact-buckets",
                   test_refuses_max_distance_within_exact_buckets);
  g_test_add_func ("/engine/t5/unigram/matches-sentencepiece", test_unigram_matches_sentencepiece);
  g_test_add_func ("/engine/t5/unigram/a-megabyte-piece-is-one-token", test_unigram_megabyte_piece);
  g_test_add_func ("/engine/t5/unigram/refuses-a-vocabulary-with-no-pieces", test_unigram_refuses_an_empty_vocabulary);
  g_test_add_func ("/engine/t5/unigram/refuses-a-piece-without-a-score", test_unigram_refuses_a_bad_piece);
  g_test_add_func ("/engine/t5/unigram/survives-scores-that-overflow", test_unigram_survives_scores_that_overflow);
  for (guint i = 0; i < G_N_ELEMENTS (bad_charsmaps); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/t5/unigram/refuses-a-charsmap/%s", bad_charsmaps[i].name);
      g_test_add_data_func (path, GUINT_TO_POINTER (i), test_unigram_refuses_a_broken_charsmap);
    }
  return g_test_run ();
}
