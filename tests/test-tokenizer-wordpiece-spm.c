/* test-tokenizer-wordpiece-spm.c: BERT's WordPiece and the SentencePiece
 * (LLaMA) tokenizers
 *
 * WordPiece: spans point at the original bytes, subwords share their word,
 * tokenizer.json agrees with vocab.txt.  SentencePiece, for the 260K LLaMA
 * models against a naive transcription of llama2.c's encode() over
 * sentencepiece_scores.json: BOS first, decoding round-trips, byte
 * fallback, merging by rank without scores.  Their llama.cpp vectors are in
 * test-tokenizer.c.
 */
#define G_LOG_DOMAIN "attnviz-test-tokenizer"

#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "attnviz-test-tokenizer.h"
#include "attnviz-test-util.h"
#include "attnviz-tokenizer.h"

/* ---------------------------------------------------------------- BERT */

static void
test_bert_spans_point_at_original_bytes (void)
{
  const AttnvizTokenizer *tok = attnviz_test_tokenizer_shared ("tokenizers", "bert-base-uncased", NULL);
  /* "é" is two bytes and "WORLD" upper case: the spans still index the input. */
  const char *text = "H\xc3\xa9llo WORLD";
  static const struct {
    gint32 id;
    guint32 start, end;
    gboolean special;
  } expect[] = {
    { 101, 0, 0, TRUE },   /* [CLS] */
    { 7592, 0, 6, FALSE }, /* hello */
    { 2088, 7, 12, FALSE }, /* world */
    { 102, 12, 12, TRUE }, /* [SEP] */
  };
  g_autoptr(GArray) tokens = NULL;

  if (tok == NULL)
    return;
  g_assert_cmpstr (attnviz_tokenizer_get_kind_name (tok), ==, "wordpiece");
  g_assert_cmpint (attnviz_tokenizer_get_bos_id (tok), ==, 101);
  g_assert_cmpint (attnviz_tokenizer_get_eos_id (tok), ==, 102);
  g_assert_cmpint (attnviz_tokenizer_get_pad_id (tok), ==, 0);
  g_assert_cmpint (attnviz_tokenizer_get_unk_id (tok), ==, 100);

  tokens = attnviz_test_encode (tok, text, TRUE);
  g_assert_cmpuint (tokens->len, ==, G_N_ELEMENTS (expect));
  for (guint i = 0; i < tokens->len; i++)
    {
      const AttnvizToken *t = &g_array_index (tokens, AttnvizToken, i);

      g_assert_cmpint (t->id, ==, expect[i].id);
      g_assert_cmpuint (t->start, ==, expect[i].start);
      g_assert_cmpuint (t->end, ==, expect[i].end);
      g_assert_cmpint (t->special, ==, expect[i].special);
    }
}

static void
test_bert_subwords_share_their_word (void)
{
  const AttnvizTokenizer *tok = attnviz_test_tokenizer_shared ("tokenizers", "bert-base-uncased", NULL);
  /* "Führer" is "fu" "##hrer" after accent stripping: the ü's two bytes
   * belong to the first piece's span. */
  const char *text = "F\xc3\xbchrer!";
  g_autoptr(GArray) tokens = NULL;
  g_autofree gint32 *ids = NULL;
  g_autofree char *back = NULL;
  const AttnvizToken *t;

  if (tok == NULL)
    return;
  tokens = attnviz_test_encode (tok, text, FALSE);
  g_assert_cmpuint (tokens->len, ==, 3);
  t = &g_array_index (tokens, AttnvizToken, 0);
  g_assert_cmpstr (attnviz_tokenizer_get_piece (tok, t->id), ==, "fu");
  g_assert_cmpuint (t->start, ==, 0);
  g_assert_cmpuint (t->end, ==, 3);
  t = &g_array_index (tokens, AttnvizToken, 1);
  g_assert_cmpstr (attnviz_tokenizer_get_piece (tok, t->id), ==, "##hrer");
  g_assert_cmpuint (t->start, ==, 3);
  g_assert_cmpuint (t->end, ==, 7);
  t = &g_array_index (tokens, AttnvizToken, 2);
  g_assert_cmpuint (t->start, ==, 7);
  g_assert_cmpuint (t->end, ==, 8);

  ids = attnviz_test_token_ids (tokens);
  back = attnviz_tokenizer_decode (tok, ids, tokens->len);
  g_assert_cmpstr (back, ==, "fuhrer!");
}

/* bert-base-uncased written as a tokenizer.json (BertNormalizer, WordPiece,
 * a [CLS] $A [SEP] template) must encode as vocab.txt does. */
static void
test_bert_tokenizer_json_agrees_with_vocab_txt (void)
{
  g_autofree char *src = attnviz_test_shared_path ("tokenizers", "bert-base-uncased", NULL);
  g_autofree char *vocab_path = NULL;
  g_autofree char *vocab_text = NULL;
  g_autofree char *json_text = NULL;
  g_autofree char *dir = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  const AttnvizTokenizer *a;
  AttnvizTokenizer *j;
  static const char *const texts[] = {
    "H\xc3\xa9llo WORLD", "Hello, y'all! How are you \xf0\x9f\x98\x81 ?\xe6\x88\x91\xe6\x83\xb3", "",
  };

  if (src == NULL)
    return;
  vocab_path = g_build_filename (src, "vocab.txt", NULL);
  g_file_get_contents (vocab_path, &vocab_text, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (vocab_text, "\n", -1);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "normalizer");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "BertNormalizer");
  json_builder_set_member_name (b, "clean_text");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "handle_chinese_chars");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "strip_accents");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "lowercase");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "post_processor");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "TemplateProcessing");
  json_builder_set_member_name (b, "single");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "SpecialToken");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, "[CLS]");
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Sequence");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, "A");
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "SpecialToken");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, "[SEP]");
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "WordPiece");
  json_builder_set_member_name (b, "unk_token");
  json_builder_add_string_value (b, "[UNK]");
  json_builder_set_member_name (b, "continuing_subword_prefix");
  json_builder_add_string_value (b, "##");
  json_builder_set_member_name (b, "max_input_chars_per_word");
  json_builder_add_int_value (b, 100);
  json_builder_set_member_name (b, "vocab");
  json_builder_begin_object (b);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      json_builder_set_member_name (b, lines[i]);
      json_builder_add_int_value (b, i);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_text = json_to_string (root, FALSE);

  dir = attnviz_test_make_temp_dir ();
  attnviz_test_write_file (dir, "tokenizer.json", json_text);
  a = attnviz_test_tokenizer_shared ("tokenizers", "bert-base-uncased", NULL);
  j = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (j);
  g_assert_cmpint (attnviz_tokenizer_get_kind (j), ==, ATTNVIZ_TOKENIZER_WORDPIECE);
  g_assert_cmpint (attnviz_tokenizer_get_unk_id (j), ==, 100);

  for (gsize t = 0; t < G_N_ELEMENTS (texts); t++)
    {
      g_autoptr(GArray) ta = attnviz_test_encode (a, texts[t], TRUE);
      g_autoptr(GArray) tj = attnviz_test_encode (j, texts[t], TRUE);

      g_assert_cmpuint (tj->len, >=, 2);
      g_assert_cmpmem (ta->data, ta->len * sizeof (AttnvizToken),
                       tj->data, tj->len * sizeof (AttnvizToken));
    }
  attnviz_tokenizer_free (j);
  attnviz_test_remove_temp_dir (dir);
}

/* ---------------------------------------------------------------- SentencePiece */

typedef struct {
  const char *model;
  const char *text;
  gint32 ids[16]; /* llama2.c's encode(), BOS first, 0-terminated */
} SpmCase;

static const SpmCase stories_case = {
  "stories260K", "Once upon a time", { 1, 403, 407, 261, 378 },
};
static const SpmCase aidreams_case = {
  "aidreams260K", "Once upon a time", { 1, 429, 491, 433, 295, 429, 444, 445, 265, 262, 263, 342, 430 },
};

static void
test_spm_bos_comes_first (gconstpointer data)
{
  const SpmCase *c = data;
  const AttnvizTokenizer *tok = attnviz_test_tokenizer_shared ("models", c->model, "hf");
  g_autoptr(GArray) tokens = NULL;
  guint n = 0;

  if (tok == NULL)
    return;
  g_assert_cmpint (attnviz_tokenizer_get_kind (tok), ==, ATTNVIZ_TOKENIZER_SPM_BPE);
  g_assert_cmpstr (attnviz_tokenizer_get_kind_name (tok), ==, "sentencepiece-bpe");
  g_assert_cmpint (attnviz_tokenizer_get_vocab_size (tok), ==, 512);
  g_assert_cmpint (attnviz_tokenizer_get_bos_id (tok), ==, 1);
  g_assert_cmpint (attnviz_tokenizer_get_eos_id (tok), ==, 2);
  g_assert_cmpint (attnviz_tokenizer_get_unk_id (tok), ==, 0);

  tokens = attnviz_test_encode (tok, c->text, TRUE);
  while (n < G_N_ELEMENTS (c->ids) && c->ids[n] != 0)
    n++;
  {
    g_autofree gint32 *ids = attnviz_test_token_ids (tokens);
    g_autofree char *got = attnviz_test_ids_to_string (ids, tokens->len);
    g_autofree char *want = attnviz_test_ids_to_string (c->ids, n);

    g_assert_cmpstr (got, ==, want);
  }
  g_assert_true (g_array_index (tokens, AttnvizToken, 0).special);
  g_assert_cmpuint (g_array_index (tokens, AttnvizToken, 0).start, ==, 0);
  g_assert_cmpuint (g_array_index (tokens, AttnvizToken, 0).end, ==, 0);
  /* The first word carries the prepended "▁", which has no source byte. */
  g_assert_cmpuint (g_array_index (tokens, AttnvizToken, 1).start, ==, 0);
  g_assert_false (g_array_index (tokens, AttnvizToken, 1).special);
}

/* Non-special spans start at 0, end at the text's length and follow each
 * other: a byte-fallback character repeats its span, others abut. */
static void
assert_spans_cover_in_order (GArray *tokens, const char *text)
{
  const AttnvizToken *prev = NULL;

  for (guint i = 0; i < tokens->len; i++)
    {
      const AttnvizToken *t = &g_array_index (tokens, AttnvizToken, i);

      if (t->special)
        continue;
      g_assert_cmpuint (t->start, <=, t->end);
      if (prev == NULL)
        g_assert_cmpuint (t->start, ==, 0);
      else if (t->start != prev->start || t->end != prev->end)
        g_assert_cmpuint (t->start, ==, prev->end);
      prev = t;
    }
  g_assert_nonnull (prev);
  g_assert_cmpuint (prev->end, ==, strlen (text));
}

static const char *const spm_texts[] = {
  "Once upon a time, there was a little girl named Lily.",
  "Line one\nLine two\n\nLine four",
  "Zo\xc3\xab said: \xc2\xab\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\xc2\xbb \xf0\x9f\x99\x82",
  "  two leading spaces and trailing  ",
};

static void
check_spm_round_trips (const AttnvizTokenizer *tok)
{
  for (gsize t = 0; t < G_N_ELEMENTS (spm_texts); t++)
    {
      g_autoptr(GArray) tokens = attnviz_test_encode (tok, spm_texts[t], TRUE);
      g_autofree gint32 *ids = attnviz_test_token_ids (tokens);
      g_autofree char *back = attnviz_tokenizer_decode (tok, ids, tokens->len);

      g_assert_cmpstr (back, ==, spm_texts[t]);
      assert_spans_cover_in_order (tokens, spm_texts[t]);
    }
}

static void
test_spm_decode_round_trips (gconstpointer data)
{
  const SpmCase *c = data;
  const AttnvizTokenizer *tok = attnviz_test_tokenizer_shared ("models", c->model, "hf");

  if (tok == NULL)
    return;
  check_spm_round_trips (tok);
}

static void
test_spm_byte_fallback_shares_the_character_span (void)
{
  const AttnvizTokenizer *tok = attnviz_test_tokenizer_shared ("models", "stories260K", "hf");
  /* "こ" is not in the 512-piece vocabulary: three byte tokens, one span. */
  const char *text = "a\xe3\x81\x93";
  g_autoptr(GArray) tokens = NULL;
  g_autoptr(GBytes) bytes = NULL;
  guint n_bytes = 0;

  if (tok == NULL)
    return;
  tokens = attnviz_test_encode (tok, text, FALSE);
  for (guint i = 0; i < tokens->len; i++)
    {
      const AttnvizToken *t = &g_array_index (tokens, AttnvizToken, i);
      const char *piece = attnviz_tokenizer_get_piece (tok, t->id);

      if (g_str_has_prefix (piece, "<0x"))
        {
          g_assert_cmpuint (t->start, ==, 1);
          g_assert_cmpuint (t->end, ==, 4);
          n_bytes++;
        }
    }
  g_assert_cmpuint (n_bytes, ==, 3);
  bytes = attnviz_tokenizer_decode_token (tok, g_array_index (tokens, AttnvizToken, tokens->len - 1).id);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), "\x93", 1);
}

/* Without sentencepiece_scores.json the merges' ranks decide: the ids may
 * differ, but the text must still come back. */
static void
test_spm_without_scores_merges_by_rank (void)
{
  g_autofree char *src = attnviz_test_shared_path ("models", "stories260K", "hf", NULL);
  g_autofree char *json = NULL;
  g_autofree char *config = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) tokens = NULL;
  AttnvizTokenizer *tok;

  if (src == NULL)
    return;
  json = g_build_filename (src, "tokenizer.json", NULL);
  config = g_build_filename (src, "tokenizer_config.json", NULL);
  dir = attnviz_test_make_temp_dir ();
  attnviz_test_copy_file (json, dir, "tokenizer.json");
  attnviz_test_copy_file (config, dir, "tokenizer_config.json");

  tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  tokens = attnviz_test_encode (tok, "Once upon a time", TRUE);
  g_assert_cmpint (g_array_index (tokens, AttnvizToken, 0).id, ==, 1);
  g_assert_cmpuint (tokens->len, >, 2);
  check_spm_round_trips (tok);

  attnviz_tokenizer_free (tok);
  attnviz_test_remove_temp_dir (dir);
}

int
main (int argc, char *argv[])
{
  attnviz_test_tokenizer_init (&argc, &argv);

  g_test_add_func ("/engine/tokenizer/bert/spans-point-at-original-bytes", test_bert_spans_point_at_original_bytes);
  g_test_add_func ("/engine/tokenizer/bert/subwords-share-their-word", test_bert_subwords_share_their_word);
  g_test_add_func ("/engine/tokenizer/bert/tokenizer-json-agrees-with-vocab-txt",
                   test_bert_tokenizer_json_agrees_with_vocab_txt);

  g_test_add_data_func ("/engine/tokenizer/stories260K/bos-comes-first", &stories_case, test_spm_bos_comes_first);
  g_test_add_data_func ("/engine/tokenizer/aidreams260K/bos-comes-first", &aidreams_case, test_spm_bos_comes_first);
  g_test_add_data_func ("/engine/tokenizer/stories260K/decode-round-trips", &stories_case, test_spm_decode_round_trips);
  g_test_add_data_func ("/engine/tokenizer/aidreams260K/decode-round-trips", &aidreams_case, test_spm_decode_round_trips);
  g_test_add_func ("/engine/tokenizer/stories260K/byte-fallback-shares-the-character-span",
                   test_spm_byte_fallback_shares_the_character_span);
  g_test_add_func ("/engine/tokenizer/stories260K/without-scores-merges-by-rank",
                   test_spm_without_scores_merges_by_rank);

  return attnviz_test_tokenizer_run ();
}
