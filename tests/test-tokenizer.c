/* test-tokenizer.c: the three tokenizer families against upstream vectors,
 * and what every family does with empty text, invalid UTF-8 and bad folders
 *
 * The reference ids come from llama.cpp's tokenizer tests (which were made
 * with Hugging Face tokenizers; the LLaMA SentencePiece vocabulary is read
 * from llama.cpp's vocabulary-only GGUF).  Each family's own habits:
 * test-tokenizer-bpe.c (GPT-2) and test-tokenizer-wordpiece-spm.c (BERT,
 * and the 260K LLaMA models against llama2.c's encode()).
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

/* ---------------------------------------------------------------- llama.cpp vectors */

typedef struct {
  const char *vectors;   /* llama.cpp-vocab-gguf/<this>.inp and .out */
  const char *folder[2]; /* the tokenizer under data/, or NULL: convert the
                          * vocabulary of the .gguf itself */
} VectorSet;

static const VectorSet gpt2_vectors = { "ggml-vocab-gpt-2.gguf", { "tokenizers", "gpt2" } };
static const VectorSet bert_vectors = { "ggml-vocab-bert-bge.gguf", { "tokenizers", "bert-base-uncased" } };
static const VectorSet llama_spm_vectors = { "ggml-vocab-llama-spm.gguf", { NULL, NULL } };

/* Just enough GGUF (v2/v3, little-endian) to read a vocabulary: the header
 * "GGUF", u32 version, u64 n_tensors, u64 n_kv, then n_kv of (string key,
 * u32 type, value); strings are u64 length + bytes; arrays u32 element
 * type + u64 count + elements. */
typedef struct {
  const guint8 *data;
  gsize len;
  gsize at;
} GgufReader;

static const guint8 *
gguf_take (GgufReader *r, gsize n)
{
  const guint8 *p = r->data + r->at;

  g_assert_cmpuint (n, <=, r->len - r->at);
  r->at += n;
  return p;
}

static guint64
gguf_u64 (GgufReader *r)
{
  guint64 v;

  memcpy (&v, gguf_take (r, 8), 8);
  return GUINT64_FROM_LE (v);
}

static guint32
gguf_u32 (GgufReader *r)
{
  guint32 v;

  memcpy (&v, gguf_take (r, 4), 4);
  return GUINT32_FROM_LE (v);
}

static char *
gguf_string (GgufReader *r)
{
  guint64 n = gguf_u64 (r);

  return g_strndup ((const char *) gguf_take (r, n), n);
}

/* Reads one value of TYPE; string, f32 and i32 array elements land in the
 * arrays given (when not NULL), everything else is skipped. */
static void
gguf_value (GgufReader *r, guint32 type, GPtrArray *strings, GArray *floats, GArray *ints)
{
  static const gsize sizes[] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

  g_assert_cmpuint (type, <, G_N_ELEMENTS (sizes));
  if (type == 8)
    {
      char *s = gguf_string (r);

      if (strings != NULL)
        g_ptr_array_add (strings, s);
      else
        g_free (s);
    }
  else if (type == 9)
    {
      guint32 elem = gguf_u32 (r);
      guint64 n = gguf_u64 (r);

      for (guint64 i = 0; i < n; i++)
        gguf_value (r, elem, strings, floats, ints);
    }
  else if (type == 6 && floats != NULL)
    {
      guint32 bits = gguf_u32 (r);
      float f;

      memcpy (&f, &bits, 4);
      g_array_append_val (floats, f);
    }
  else if (type == 5 && ints != NULL)
    {
      gint32 v = (gint32) gguf_u32 (r);

      g_array_append_val (ints, v);
    }
  else
    gguf_take (r, sizes[type]);
}

/* Writes the SentencePiece vocabulary of GGUF_PATH into DIR as a
 * tokenizer.json (LLaMA's normalizer, byte fallback, no merges) and a
 * sentencepiece_scores.json. */
static void
convert_gguf_vocab (const char *gguf_path, const char *dir)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) pieces = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) scores = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr(GArray) types = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(JsonBuilder) tj = json_builder_new ();
  g_autoptr(JsonBuilder) sj = json_builder_new ();
  g_autoptr(JsonNode) tj_root = NULL;
  g_autoptr(JsonNode) sj_root = NULL;
  g_autofree char *tj_text = NULL;
  g_autofree char *sj_text = NULL;
  GgufReader r = { 0 };
  guint64 n_kv;

  g_file_get_contents (gguf_path, &contents, &r.len, &error);
  g_assert_no_error (error);
  r.data = (const guint8 *) contents;
  g_assert_cmpmem (gguf_take (&r, 4), 4, "GGUF", 4);
  g_assert_cmpuint (gguf_u32 (&r), >=, 2);
  gguf_u64 (&r); /* n_tensors */
  n_kv = gguf_u64 (&r);
  for (guint64 i = 0; i < n_kv; i++)
    {
      g_autofree char *key = gguf_string (&r);
      guint32 type = gguf_u32 (&r);

      gguf_value (&r, type,
                  g_str_equal (key, "tokenizer.ggml.tokens") ? pieces : NULL,
                  g_str_equal (key, "tokenizer.ggml.scores") ? scores : NULL,
                  g_str_equal (key, "tokenizer.ggml.token_type") ? types : NULL);
    }
  g_assert_cmpuint (pieces->len, >, 0);
  g_assert_cmpuint (scores->len, ==, pieces->len);
  g_assert_cmpuint (types->len, ==, pieces->len);

  json_builder_begin_object (tj);
  json_builder_set_member_name (tj, "added_tokens");
  json_builder_begin_array (tj);
  for (guint i = 0; i < pieces->len; i++)
    if (g_array_index (types, gint32, i) == 3) /* CONTROL: <s>, </s>, ... */
      {
        json_builder_begin_object (tj);
        json_builder_set_member_name (tj, "id");
        json_builder_add_int_value (tj, i);
        json_builder_set_member_name (tj, "content");
        json_builder_add_string_value (tj, g_ptr_array_index (pieces, i));
        json_builder_set_member_name (tj, "special");
        json_builder_add_boolean_value (tj, TRUE);
        json_builder_end_object (tj);
      }
  json_builder_end_array (tj);
  json_builder_set_member_name (tj, "normalizer");
  json_builder_begin_object (tj);
  json_builder_set_member_name (tj, "type");
  json_builder_add_string_value (tj, "Sequence");
  json_builder_set_member_name (tj, "normalizers");
  json_builder_begin_array (tj);
  json_builder_begin_object (tj);
  json_builder_set_member_name (tj, "type");
  json_builder_add_string_value (tj, "Prepend");
  json_builder_set_member_name (tj, "prepend");
  json_builder_add_string_value (tj, "\xe2\x96\x81");
  json_builder_end_object (tj);
  json_builder_begin_object (tj);
  json_builder_set_member_name (tj, "type");
  json_builder_add_string_value (tj, "Replace");
  json_builder_set_member_name (tj, "pattern");
  json_builder_begin_object (tj);
  json_builder_set_member_name (tj, "String");
  json_builder_add_string_value (tj, " ");
  json_builder_end_object (tj);
  json_builder_set_member_name (tj, "content");
  json_builder_add_string_value (tj, "\xe2\x96\x81");
  json_builder_end_object (tj);
  json_builder_end_array (tj);
  json_builder_end_object (tj);
  json_builder_set_member_name (tj, "model");
  json_builder_begin_object (tj);
  json_builder_set_member_name (tj, "type");
  json_builder_add_string_value (tj, "BPE");
  json_builder_set_member_name (tj, "byte_fallback");
  json_builder_add_boolean_value (tj, TRUE);
  json_builder_set_member_name (tj, "unk_token");
  json_builder_add_string_value (tj, "<unk>");
  json_builder_set_member_name (tj, "vocab");
  json_builder_begin_object (tj);
  for (guint i = 0; i < pieces->len; i++)
    {
      json_builder_set_member_name (tj, g_ptr_array_index (pieces, i));
      json_builder_add_int_value (tj, i);
    }
  json_builder_end_object (tj);
  json_builder_set_member_name (tj, "merges");
  json_builder_begin_array (tj);
  json_builder_end_array (tj);
  json_builder_end_object (tj);
  json_builder_end_object (tj);

  json_builder_begin_object (sj);
  json_builder_set_member_name (sj, "pieces");
  json_builder_begin_array (sj);
  for (guint i = 0; i < pieces->len; i++)
    json_builder_add_string_value (sj, g_ptr_array_index (pieces, i));
  json_builder_end_array (sj);
  json_builder_set_member_name (sj, "scores");
  json_builder_begin_array (sj);
  for (guint i = 0; i < scores->len; i++)
    json_builder_add_double_value (sj, g_array_index (scores, float, i));
  json_builder_end_array (sj);
  json_builder_end_object (sj);

  tj_root = json_builder_get_root (tj);
  sj_root = json_builder_get_root (sj);
  tj_text = json_to_string (tj_root, FALSE);
  sj_text = json_to_string (sj_root, FALSE);
  attnviz_test_write_file (dir, "tokenizer.json", tj_text);
  attnviz_test_write_file (dir, "sentencepiece_scores.json", sj_text);
}

static void
test_llama_cpp_vectors (gconstpointer data)
{
  const VectorSet *set = data;
  g_autofree char *inp_name = g_strconcat (set->vectors, ".inp", NULL);
  g_autofree char *out_name = g_strconcat (set->vectors, ".out", NULL);
  g_autofree char *inp_path = attnviz_test_shared_path ("tokenizers", "llama.cpp-vocab-gguf", inp_name, NULL);
  g_autofree char *out_path = NULL;
  g_autofree char *inp = NULL;
  g_autofree char *out = NULL;
  g_auto(GStrv) cases = NULL;
  g_auto(GStrv) expected = NULL;
  g_autofree char *converted = NULL;
  AttnvizTokenizer *owned = NULL; /* the converted GGUF vocabulary */
  const AttnvizTokenizer *tok;
  guint n_cases, failures = 0;
  g_autoptr(GError) error = NULL;

  if (inp_path == NULL)
    return;
  out_path = attnviz_test_shared_path ("tokenizers", "llama.cpp-vocab-gguf", out_name, NULL);
  if (set->folder[0] != NULL)
    tok = attnviz_test_tokenizer_shared (set->folder[0], set->folder[1], NULL);
  else
    {
      g_autofree char *gguf = attnviz_test_shared_path ("tokenizers", "llama.cpp-vocab-gguf",
                                                        set->vectors, NULL);

      converted = attnviz_test_make_temp_dir ();
      convert_gguf_vocab (gguf, converted);
      tok = owned = attnviz_tokenizer_load_dir (converted, &error);
      g_assert_no_error (error);
    }

  g_file_get_contents (inp_path, &inp, NULL, &error);
  g_assert_no_error (error);
  g_file_get_contents (out_path, &out, NULL, &error);
  g_assert_no_error (error);

  /* Every input ends with the separator, so the last split is empty. */
  cases = g_strsplit (inp, "\n__ggml_vocab_test__\n", -1);
  n_cases = g_strv_length (cases);
  g_assert_cmpstr (cases[n_cases - 1], ==, "");
  n_cases--;
  g_assert_cmpuint (n_cases, ==, 46);
  expected = g_strsplit (out, "\n", -1);
  g_assert_cmpuint (g_strv_length (expected), >=, n_cases);

  for (guint i = 0; i < n_cases; i++)
    {
      g_autoptr(GArray) tokens = attnviz_test_encode (tok, cases[i], FALSE);
      g_autofree gint32 *ids = attnviz_test_token_ids (tokens);
      g_autofree char *got = attnviz_test_ids_to_string (ids, tokens->len);
      g_autofree char *want = g_strstrip (g_strdup (expected[i]));

      if (!g_str_equal (got, want))
        {
          g_autofree char *shown = g_strescape (cases[i], NULL);

          g_test_message ("case %u \"%s\": expected [%s], got [%s]", i, shown, want, got);
          failures++;
        }
    }
  g_test_message ("%s: %u of %u cases match", set->vectors, n_cases - failures, n_cases);
  g_assert_cmpuint (failures, ==, 0);
  attnviz_tokenizer_free (owned);
  if (converted != NULL)
    attnviz_test_remove_temp_dir (converted);
}

/* ---------------------------------------------------------------- all families */

static void
test_empty_text_gives_only_specials (void)
{
  const AttnvizTokenizer *gpt2 = attnviz_test_tokenizer_shared ("tokenizers", "gpt2", NULL);
  const AttnvizTokenizer *bert = NULL;
  const AttnvizTokenizer *spm = NULL;
  g_autoptr(GArray) a = NULL;
  g_autoptr(GArray) b = NULL;
  g_autoptr(GArray) c = NULL;

  if (gpt2 == NULL)
    return;
  bert = attnviz_test_tokenizer_shared ("tokenizers", "bert-base-uncased", NULL);
  spm = attnviz_test_tokenizer_shared ("models", "stories260K", "hf");

  a = attnviz_test_encode (gpt2, "", TRUE);
  g_assert_cmpuint (a->len, ==, 0);
  b = attnviz_test_encode (bert, "", TRUE);
  g_assert_cmpuint (b->len, ==, 2);
  g_assert_cmpint (g_array_index (b, AttnvizToken, 0).id, ==, 101);
  g_assert_cmpint (g_array_index (b, AttnvizToken, 1).id, ==, 102);
  c = attnviz_test_encode (spm, "", TRUE);
  g_assert_cmpuint (c->len, ==, 1);
  g_assert_cmpint (g_array_index (c, AttnvizToken, 0).id, ==, 1);
  g_assert_true (g_array_index (c, AttnvizToken, 0).special);

}

static void
test_invalid_utf8_is_an_error (void)
{
  const AttnvizTokenizer *toks[3] = { NULL, NULL, NULL };
  static const struct {
    const char *text;
    const char *message;
  } bad[] = {
    { "abc\xff" "def", "invalid UTF-8 at byte 3" },
    { "ok \xe2\x82", "invalid UTF-8 at byte 3" },        /* truncated "€" */
    { "\xc0\xaf", "invalid UTF-8 at byte 0" },           /* overlong "/" */
    { "x\xed\xa0\x80", "invalid UTF-8 at byte 1" },      /* a surrogate */
  };

  toks[0] = attnviz_test_tokenizer_shared ("tokenizers", "gpt2", NULL);
  if (toks[0] == NULL)
    return;
  toks[1] = attnviz_test_tokenizer_shared ("tokenizers", "bert-base-uncased", NULL);
  toks[2] = attnviz_test_tokenizer_shared ("models", "stories260K", "hf");
  for (int k = 0; k < 3; k++)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
        {
          g_autoptr(GError) error = NULL;
          GArray *tokens = attnviz_tokenizer_encode (toks[k], bad[i].text, -1, TRUE, &error);

          g_assert_null (tokens);
          g_assert_error (error, G_CONVERT_ERROR, G_CONVERT_ERROR_ILLEGAL_SEQUENCE);
          g_assert_cmpstr (error->message, ==, bad[i].message);
        }
    }
}

static void
test_folder_without_tokenizer_is_an_error (void)
{
  g_autofree char *dir = attnviz_test_make_temp_dir ();
  g_autofree char *want = NULL;
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok;

  attnviz_test_write_file (dir, "config.json", "{}");
  tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_null (tok);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  want = g_strdup_printf ("%s: no tokenizer (tokenizer.json, source.spm + vocab.json, vocab.json + merges.txt or vocab.txt)", dir);
  g_assert_cmpstr (error->message, ==, want);
  attnviz_test_remove_temp_dir (dir);
}

static void
test_missing_folder_is_an_error (void)
{
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok = attnviz_tokenizer_load_dir ("/nonexistent/attnviz-model", &error);

  g_assert_null (tok);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/nonexistent/attnviz-model"));
}

typedef struct {
  const char *name;
  const char *files[3][2]; /* name, contents */
  const char *says[2];     /* what the message must contain */
} BadFolder;

static const BadFolder bad_folders[] = {
  { "malformed-tokenizer-json",
    { { "tokenizer.json", "{ \"model\": { \"type\": \"BPE\", " } },
    { "tokenizer.json", "not valid JSON" } },
  { "tokenizer-json-without-model",
    { { "tokenizer.json", "{ \"version\": \"1.0\" }" } },
    { "tokenizer.json", "model" } },
  { "unigram-is-not-supported",
    { { "tokenizer.json", "{ \"model\": { \"type\": \"Unigram\", \"vocab\": {} } }" } },
    { "tokenizer.json", "Unigram" } },
  { "vocab-json-not-an-object",
    { { "vocab.json", "[\"a\", \"b\"]" }, { "merges.txt", "#version: 0.2\n" } },
    { "vocab.json", "not a JSON object" } },
  { "vocab-json-id-not-an-integer",
    { { "vocab.json", "{\"a\": \"zero\"}" }, { "merges.txt", "#version: 0.2\n" } },
    { "vocab.json", "“a”" } },
  { "bad-merges-line",
    { { "vocab.json", "{\"a\": 0, \"b\": 1, \"ab\": 2}" }, { "merges.txt", "#version: 0.2\na b\na b c\n" } },
    { "merges.txt:3", "two pieces" } },
  { "merge-outside-the-vocabulary",
    { { "vocab.json", "{\"a\": 0, \"b\": 1}" }, { "merges.txt", "#version: 0.2\na b\n" } },
    { "merges.txt:2", "“ab” is not in the vocabulary" } },
  { "vocab-json-without-merges",
    { { "vocab.json", "{\"a\": 0}" } },
    { "merges.txt", NULL } },
  { "malformed-tokenizer-config",
    { { "vocab.txt", "[PAD]\n[UNK]\n" }, { "tokenizer_config.json", "{ do_lower_case: true }" } },
    { "tokenizer_config.json", "not valid JSON" } },
};

static void
test_bad_folder_is_an_error (gconstpointer data)
{
  const BadFolder *bad = data;
  g_autofree char *dir = attnviz_test_make_temp_dir ();
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok;

  for (int i = 0; i < 3 && bad->files[i][0] != NULL; i++)
    attnviz_test_write_file (dir, bad->files[i][0], bad->files[i][1]);
  tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_null (tok);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_null (strchr (error->message, '\n'));
  for (int i = 0; i < 2 && bad->says[i] != NULL; i++)
    g_assert_nonnull (strstr (error->message, bad->says[i]));
  attnviz_test_remove_temp_dir (dir);
}

int
main (int argc, char *argv[])
{
  attnviz_test_tokenizer_init (&argc, &argv);

  g_test_add_data_func ("/engine/tokenizer/gpt2/llama-cpp-vectors", &gpt2_vectors, test_llama_cpp_vectors);
  g_test_add_data_func ("/engine/tokenizer/bert/llama-cpp-vectors", &bert_vectors, test_llama_cpp_vectors);
  g_test_add_data_func ("/engine/tokenizer/llama-spm/llama-cpp-vectors", &llama_spm_vectors,
                        test_llama_cpp_vectors);

  g_test_add_func ("/engine/tokenizer/empty-text-gives-only-specials", test_empty_text_gives_only_specials);
  g_test_add_func ("/engine/tokenizer/invalid-utf8-is-an-error", test_invalid_utf8_is_an_error);
  g_test_add_func ("/engine/tokenizer/folder-without-tokenizer-is-an-error", test_folder_without_tokenizer_is_an_error);
  g_test_add_func ("/engine/tokenizer/missing-folder-is-an-error", test_missing_folder_is_an_error);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_folders); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/tokenizer/load-errors/%s", bad_folders[i].name);

      g_test_add_data_func (path, &bad_folders[i], test_bad_folder_is_an_error);
    }

  return attnviz_test_tokenizer_run ();
}
