/* test-tokenizer.c: the three tokenizer families against upstream vectors
 *
 * The reference ids come from llama.cpp's tokenizer tests (which were made
 * with Hugging Face tokenizers; the LLaMA SentencePiece vocabulary is read
 * from llama.cpp's vocabulary-only GGUF) and, for the 260K LLaMA models,
 * from a naive transcription of llama2.c's encode() over
 * sentencepiece_scores.json.
 */
#define G_LOG_DOMAIN "attnviz-test-tokenizer"

#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "attnviz-test-util.h"
#include "attnviz-tokenizer.h"

/* ---------------------------------------------------------------- helpers */

/* Tokenizers under ../shared, loaded once and shared by the tests (a
 * tokenizer is immutable): folder -> AttnvizTokenizer. */
static GHashTable *loaded;

/* The tokenizer in ../shared/data/A/B[/C], or NULL after skipping. */
static const AttnvizTokenizer *
load_shared (const char *a, const char *b, const char *c)
{
  g_autofree char *dir = attnviz_test_shared_path (a, b, c, NULL);
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok;

  if (dir == NULL)
    return NULL;
  tok = g_hash_table_lookup (loaded, dir);
  if (tok == NULL)
    {
      tok = attnviz_tokenizer_load_dir (dir, &error);
      g_assert_no_error (error);
      g_assert_nonnull (tok);
      g_hash_table_insert (loaded, g_steal_pointer (&dir), tok);
    }
  return tok;
}

static GArray *
encode (const AttnvizTokenizer *tok, const char *text, gboolean add_special)
{
  g_autoptr(GError) error = NULL;
  GArray *tokens = attnviz_tokenizer_encode (tok, text, -1, add_special, &error);

  g_assert_no_error (error);
  g_assert_nonnull (tokens);
  return tokens;
}

static char *
ids_to_string (const gint32 *ids, gsize n)
{
  GString *s = g_string_new (NULL);

  for (gsize i = 0; i < n; i++)
    g_string_append_printf (s, "%s%d", i ? " " : "", ids[i]);
  return g_string_free (s, FALSE);
}

static gint32 *
token_ids (GArray *tokens)
{
  gint32 *ids = g_new (gint32, tokens->len + 1);

  for (guint i = 0; i < tokens->len; i++)
    ids[i] = g_array_index (tokens, AttnvizToken, i).id;
  return ids;
}

static void
write_file (const char *dir, const char *name, const char *contents)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
copy_file (const char *from, const char *dir, const char *name)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (from, &contents, NULL, &error);
  g_assert_no_error (error);
  write_file (dir, name, contents);
}

/* Removes the files this test wrote into DIR, then DIR. */
static void
remove_temp_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static char *
make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("attnviz-tokenizer-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

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
  write_file (dir, "tokenizer.json", tj_text);
  write_file (dir, "sentencepiece_scores.json", sj_text);
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
    tok = load_shared (set->folder[0], set->folder[1], NULL);
  else
    {
      g_autofree char *gguf = attnviz_test_shared_path ("tokenizers", "llama.cpp-vocab-gguf",
                                                        set->vectors, NULL);

      converted = make_temp_dir ();
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
      g_autoptr(GArray) tokens = encode (tok, cases[i], FALSE);
      g_autofree gint32 *ids = token_ids (tokens);
      g_autofree char *got = ids_to_string (ids, tokens->len);
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
    remove_temp_dir (converted);
}

/* ---------------------------------------------------------------- GPT-2 */

static const char *const sample_texts[] = {
  "Hello, world!",
  "  two leading spaces, and a tab\there.\n\nNew paragraph.\n",
  "Zoë said: «こんにちは» 🙂 — naïve café, 3.14 and 1,000,000.",
  "Ünïcödé \xe2\x80\x83" "em space and \xc2\xa0" "no-break",
  "x",
};

static void
test_gpt2_spans_reproduce_the_text (void)
{
  const AttnvizTokenizer *tok = load_shared ("tokenizers", "gpt2", NULL);

  if (tok == NULL)
    return;
  for (gsize t = 0; t < G_N_ELEMENTS (sample_texts); t++)
    {
      const char *text = sample_texts[t];
      g_autoptr(GArray) tokens = encode (tok, text, TRUE);
      g_autoptr(GString) joined = g_string_new (NULL);

      for (guint i = 0; i < tokens->len; i++)
        {
          const AttnvizToken *k = &g_array_index (tokens, AttnvizToken, i);

          g_assert_false (k->special);
          g_assert_cmpuint (k->start, <, k->end);
          g_string_append_len (joined, text + k->start, k->end - k->start);
        }
      g_assert_cmpstr (joined->str, ==, text);
    }
}

static void
test_gpt2_decode_round_trips (void)
{
  const AttnvizTokenizer *tok = load_shared ("tokenizers", "gpt2", NULL);

  if (tok == NULL)
    return;
  g_assert_cmpint (attnviz_tokenizer_get_kind (tok), ==, ATTNVIZ_TOKENIZER_GPT2_BPE);
  g_assert_cmpstr (attnviz_tokenizer_get_kind_name (tok), ==, "gpt2-bpe");
  g_assert_cmpint (attnviz_tokenizer_get_vocab_size (tok), ==, 50257);
  g_assert_cmpint (attnviz_tokenizer_get_eos_id (tok), ==, 50256);
  for (gsize t = 0; t < G_N_ELEMENTS (sample_texts); t++)
    {
      g_autoptr(GArray) tokens = encode (tok, sample_texts[t], FALSE);
      g_autofree gint32 *ids = token_ids (tokens);
      g_autofree char *back = attnviz_tokenizer_decode (tok, ids, tokens->len);

      g_assert_cmpstr (back, ==, sample_texts[t]);
    }
  {
    /* " the" is one token whose piece spells the space as "Ġ". */
    g_autoptr(GArray) tokens = encode (tok, " the", FALSE);
    g_autoptr(GBytes) bytes = NULL;
    gint32 id;

    g_assert_cmpuint (tokens->len, ==, 1);
    id = g_array_index (tokens, AttnvizToken, 0).id;
    g_assert_cmpstr (attnviz_tokenizer_get_piece (tok, id), ==, "\xc4\xa0the");
    bytes = attnviz_tokenizer_decode_token (tok, id);
    g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), " the", 4);
  }
}

/* The same vocabulary through tokenizer.json must give the same ids. */
static void
test_gpt2_tokenizer_json_agrees_with_vocab_json (void)
{
  g_autofree char *src = attnviz_test_shared_path ("tokenizers", "gpt2", NULL);
  g_autofree char *vocab_path = NULL;
  g_autofree char *merges_path = NULL;
  g_autofree char *vocab_text = NULL;
  g_autofree char *merges_text = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GString) json = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;
  const AttnvizTokenizer *a;
  AttnvizTokenizer *b;
  gboolean first = TRUE;

  if (src == NULL)
    return;
  vocab_path = g_build_filename (src, "vocab.json", NULL);
  merges_path = g_build_filename (src, "merges.txt", NULL);
  g_file_get_contents (vocab_path, &vocab_text, NULL, &error);
  g_assert_no_error (error);
  g_file_get_contents (merges_path, &merges_text, NULL, &error);
  g_assert_no_error (error);

  json = g_string_new ("{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 50256, "
                       "\"content\": \"<|endoftext|>\", \"special\": true}], "
                       "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                       "\"trim_offsets\": true, \"use_regex\": true}, "
                       "\"model\": {\"type\": \"BPE\", \"vocab\": ");
  g_string_append (json, vocab_text);
  g_string_append (json, ", \"merges\": [");
  lines = g_strsplit (merges_text, "\n", -1);
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_autofree char *escaped = NULL;

      if (lines[i][0] == '\0')
        continue;
      escaped = g_strescape (lines[i], NULL);
      g_string_append_printf (json, "%s\"%s\"", first ? "" : ", ", escaped);
      first = FALSE;
    }
  g_string_append (json, "]}}");

  dir = make_temp_dir ();
  write_file (dir, "tokenizer.json", json->str);
  a = load_shared ("tokenizers", "gpt2", NULL);
  b = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (b);
  g_assert_cmpint (attnviz_tokenizer_get_kind (b), ==, ATTNVIZ_TOKENIZER_GPT2_BPE);

  for (gsize t = 0; t < G_N_ELEMENTS (sample_texts); t++)
    {
      g_autoptr(GArray) ta = encode (a, sample_texts[t], TRUE);
      g_autoptr(GArray) tb = encode (b, sample_texts[t], TRUE);

      g_assert_cmpmem (ta->data, ta->len * sizeof (AttnvizToken),
                       tb->data, tb->len * sizeof (AttnvizToken));
    }
  attnviz_tokenizer_free (b);
  remove_temp_dir (dir);
}

/* About 100 KB of English-like text that defeats the word cache often. */
static char *
make_long_text (gsize size)
{
  static const char *const words[] = {
    "the", "model", "attention", "head", "looks", "back", "at", "every", "earlier",
    "token", "and", "weighs", "it", "Once", "upon", "a", "time", "there", "was",
    "little", "girl", "named", "Lily", "she", "liked", "to", "play", "outside",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  GString *s = g_string_sized_new (size + 64);

  while (s->len < size)
    {
      int r = g_rand_int_range (rand, 0, 100);

      if (r < 80)
        g_string_append (s, words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
      else if (r < 90)
        for (int i = g_rand_int_range (rand, 3, 12); i > 0; i--)
          g_string_append_c (s, (char) g_rand_int_range (rand, 'a', 'z' + 1));
      else
        g_string_append_printf (s, "%u", g_rand_int (rand));
      r = g_rand_int_range (rand, 0, 20);
      g_string_append (s, r == 0 ? ".\n" : r == 1 ? ", " : " ");
    }
  return g_string_free (s, FALSE);
}

static void
test_gpt2_long_text_is_fast (void)
{
  const AttnvizTokenizer *tok = load_shared ("tokenizers", "gpt2", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GArray) tokens = NULL;
  g_autofree gint32 *ids = NULL;
  g_autofree char *back = NULL;
  gint64 t0;
  double seconds;

  if (tok == NULL)
    return;
  text = make_long_text (100 * 1024);
  t0 = g_get_monotonic_time ();
  tokens = encode (tok, text, FALSE);
  seconds = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("%zu bytes -> %u tokens in %.3f s", strlen (text), tokens->len, seconds);
  /* Well under a second in a release build; the bound leaves room for
   * sanitizers and slow CI while still catching quadratic behaviour. */
  g_assert_cmpfloat (seconds, <, 3.0);

  ids = token_ids (tokens);
  back = attnviz_tokenizer_decode (tok, ids, tokens->len);
  g_assert_cmpstr (back, ==, text);
}

typedef struct {
  const AttnvizTokenizer *tok;
  const char *text;
  GArray *tokens;
} ThreadJob;

static gpointer
encode_in_thread (gpointer data)
{
  ThreadJob *job = data;

  job->tokens = attnviz_tokenizer_encode (job->tok, job->text, -1, TRUE, NULL);
  return NULL;
}

static void
test_gpt2_threads_share_one_tokenizer (void)
{
  const AttnvizTokenizer *tok = load_shared ("tokenizers", "gpt2", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GArray) reference = NULL;
  ThreadJob jobs[4];
  GThread *threads[4];

  if (tok == NULL)
    return;
  text = make_long_text (20 * 1024);
  reference = encode (tok, text, TRUE);
  for (int i = 0; i < 4; i++)
    {
      jobs[i] = (ThreadJob) { tok, text, NULL };
      threads[i] = g_thread_new ("encode", encode_in_thread, &jobs[i]);
    }
  for (int i = 0; i < 4; i++)
    {
      g_thread_join (threads[i]);
      g_assert_nonnull (jobs[i].tokens);
      g_assert_cmpmem (jobs[i].tokens->data, jobs[i].tokens->len * sizeof (AttnvizToken),
                       reference->data, reference->len * sizeof (AttnvizToken));
      g_array_unref (jobs[i].tokens);
    }
}

/* A vocabulary small enough to follow by hand; needs nothing from ../shared. */
static void
test_gpt2_tiny_vocab_merges_by_rank (void)
{
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) tokens = NULL;
  AttnvizTokenizer *tok;
  const AttnvizToken *t;

  /* "Ġ" is the stand-in of the space byte. */
  write_file (dir, "vocab.json",
              "{\"a\": 0, \"b\": 1, \"c\": 2, \"\xc4\xa0\": 3, \"ab\": 4, \"abc\": 5, "
              "\"\xc4\xa0" "a\": 6, \"bc\": 7}");
  write_file (dir, "merges.txt", "#version: 0.2\na b\nab c\n\xc4\xa0 a\nb c\n");
  tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);

  /* "abc": "a b" (rank 0) beats "b c" (rank 3), then "ab c". " abc" is
   * "Ġ" + "abc" because the regex keeps the space with the word. */
  tokens = encode (tok, "abc bca", FALSE);
  g_assert_cmpuint (tokens->len, ==, 4);
  t = &g_array_index (tokens, AttnvizToken, 0);
  g_assert_cmpint (t->id, ==, 5);
  g_assert_cmpuint (t->start, ==, 0);
  g_assert_cmpuint (t->end, ==, 3);
  t = &g_array_index (tokens, AttnvizToken, 1);
  g_assert_cmpint (t->id, ==, 3); /* " " */
  g_assert_cmpuint (t->start, ==, 3);
  g_assert_cmpuint (t->end, ==, 4);
  t = &g_array_index (tokens, AttnvizToken, 2);
  g_assert_cmpint (t->id, ==, 7); /* "bc" */
  t = &g_array_index (tokens, AttnvizToken, 3);
  g_assert_cmpint (t->id, ==, 0); /* "a" */
  g_assert_cmpuint (t->start, ==, 6);
  g_assert_cmpuint (t->end, ==, 7);

  attnviz_tokenizer_free (tok);
  remove_temp_dir (dir);
}

/* ---------------------------------------------------------------- BERT */

static void
test_bert_spans_point_at_original_bytes (void)
{
  const AttnvizTokenizer *tok = load_shared ("tokenizers", "bert-base-uncased", NULL);
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

  tokens = encode (tok, text, TRUE);
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
  const AttnvizTokenizer *tok = load_shared ("tokenizers", "bert-base-uncased", NULL);
  /* "Führer" is "fu" "##hrer" after accent stripping: the ü's two bytes
   * belong to the first piece's span. */
  const char *text = "F\xc3\xbchrer!";
  g_autoptr(GArray) tokens = NULL;
  g_autofree gint32 *ids = NULL;
  g_autofree char *back = NULL;
  const AttnvizToken *t;

  if (tok == NULL)
    return;
  tokens = encode (tok, text, FALSE);
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

  ids = token_ids (tokens);
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

  dir = make_temp_dir ();
  write_file (dir, "tokenizer.json", json_text);
  a = load_shared ("tokenizers", "bert-base-uncased", NULL);
  j = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (j);
  g_assert_cmpint (attnviz_tokenizer_get_kind (j), ==, ATTNVIZ_TOKENIZER_WORDPIECE);
  g_assert_cmpint (attnviz_tokenizer_get_unk_id (j), ==, 100);

  for (gsize t = 0; t < G_N_ELEMENTS (texts); t++)
    {
      g_autoptr(GArray) ta = encode (a, texts[t], TRUE);
      g_autoptr(GArray) tj = encode (j, texts[t], TRUE);

      g_assert_cmpuint (tj->len, >=, 2);
      g_assert_cmpmem (ta->data, ta->len * sizeof (AttnvizToken),
                       tj->data, tj->len * sizeof (AttnvizToken));
    }
  attnviz_tokenizer_free (j);
  remove_temp_dir (dir);
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
  const AttnvizTokenizer *tok = load_shared ("models", c->model, "hf");
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

  tokens = encode (tok, c->text, TRUE);
  while (n < G_N_ELEMENTS (c->ids) && c->ids[n] != 0)
    n++;
  {
    g_autofree gint32 *ids = token_ids (tokens);
    g_autofree char *got = ids_to_string (ids, tokens->len);
    g_autofree char *want = ids_to_string (c->ids, n);

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
      g_autoptr(GArray) tokens = encode (tok, spm_texts[t], TRUE);
      g_autofree gint32 *ids = token_ids (tokens);
      g_autofree char *back = attnviz_tokenizer_decode (tok, ids, tokens->len);

      g_assert_cmpstr (back, ==, spm_texts[t]);
      assert_spans_cover_in_order (tokens, spm_texts[t]);
    }
}

static void
test_spm_decode_round_trips (gconstpointer data)
{
  const SpmCase *c = data;
  const AttnvizTokenizer *tok = load_shared ("models", c->model, "hf");

  if (tok == NULL)
    return;
  check_spm_round_trips (tok);
}

static void
test_spm_byte_fallback_shares_the_character_span (void)
{
  const AttnvizTokenizer *tok = load_shared ("models", "stories260K", "hf");
  /* "こ" is not in the 512-piece vocabulary: three byte tokens, one span. */
  const char *text = "a\xe3\x81\x93";
  g_autoptr(GArray) tokens = NULL;
  g_autoptr(GBytes) bytes = NULL;
  guint n_bytes = 0;

  if (tok == NULL)
    return;
  tokens = encode (tok, text, FALSE);
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
  dir = make_temp_dir ();
  copy_file (json, dir, "tokenizer.json");
  copy_file (config, dir, "tokenizer_config.json");

  tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  tokens = encode (tok, "Once upon a time", TRUE);
  g_assert_cmpint (g_array_index (tokens, AttnvizToken, 0).id, ==, 1);
  g_assert_cmpuint (tokens->len, >, 2);
  check_spm_round_trips (tok);

  attnviz_tokenizer_free (tok);
  remove_temp_dir (dir);
}

/* ---------------------------------------------------------------- all families */

static void
test_empty_text_gives_only_specials (void)
{
  const AttnvizTokenizer *gpt2 = load_shared ("tokenizers", "gpt2", NULL);
  const AttnvizTokenizer *bert = NULL;
  const AttnvizTokenizer *spm = NULL;
  g_autoptr(GArray) a = NULL;
  g_autoptr(GArray) b = NULL;
  g_autoptr(GArray) c = NULL;

  if (gpt2 == NULL)
    return;
  bert = load_shared ("tokenizers", "bert-base-uncased", NULL);
  spm = load_shared ("models", "stories260K", "hf");

  a = encode (gpt2, "", TRUE);
  g_assert_cmpuint (a->len, ==, 0);
  b = encode (bert, "", TRUE);
  g_assert_cmpuint (b->len, ==, 2);
  g_assert_cmpint (g_array_index (b, AttnvizToken, 0).id, ==, 101);
  g_assert_cmpint (g_array_index (b, AttnvizToken, 1).id, ==, 102);
  c = encode (spm, "", TRUE);
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

  toks[0] = load_shared ("tokenizers", "gpt2", NULL);
  if (toks[0] == NULL)
    return;
  toks[1] = load_shared ("tokenizers", "bert-base-uncased", NULL);
  toks[2] = load_shared ("models", "stories260K", "hf");
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
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *want = NULL;
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok;

  write_file (dir, "config.json", "{}");
  tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_null (tok);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  want = g_strdup_printf ("%s: no tokenizer (tokenizer.json, vocab.json + merges.txt or vocab.txt)", dir);
  g_assert_cmpstr (error->message, ==, want);
  remove_temp_dir (dir);
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
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok;

  for (int i = 0; i < 3 && bad->files[i][0] != NULL; i++)
    write_file (dir, bad->files[i][0], bad->files[i][1]);
  tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_null (tok);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_null (strchr (error->message, '\n'));
  for (int i = 0; i < 2 && bad->says[i] != NULL; i++)
    g_assert_nonnull (strstr (error->message, bad->says[i]));
  remove_temp_dir (dir);
}

int
main (int argc, char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  loaded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                  (GDestroyNotify) attnviz_tokenizer_free);

  g_test_add_data_func ("/engine/tokenizer/gpt2/llama-cpp-vectors", &gpt2_vectors, test_llama_cpp_vectors);
  g_test_add_func ("/engine/tokenizer/gpt2/spans-reproduce-the-text", test_gpt2_spans_reproduce_the_text);
  g_test_add_func ("/engine/tokenizer/gpt2/decode-round-trips", test_gpt2_decode_round_trips);
  g_test_add_func ("/engine/tokenizer/gpt2/tokenizer-json-agrees-with-vocab-json",
                   test_gpt2_tokenizer_json_agrees_with_vocab_json);
  g_test_add_func ("/engine/tokenizer/gpt2/100k-text-is-fast", test_gpt2_long_text_is_fast);
  g_test_add_func ("/engine/tokenizer/gpt2/threads-share-one-tokenizer", test_gpt2_threads_share_one_tokenizer);
  g_test_add_func ("/engine/tokenizer/gpt2/tiny-vocab-merges-by-rank", test_gpt2_tiny_vocab_merges_by_rank);

  g_test_add_data_func ("/engine/tokenizer/bert/llama-cpp-vectors", &bert_vectors, test_llama_cpp_vectors);
  g_test_add_func ("/engine/tokenizer/bert/spans-point-at-original-bytes", test_bert_spans_point_at_original_bytes);
  g_test_add_func ("/engine/tokenizer/bert/subwords-share-their-word", test_bert_subwords_share_their_word);
  g_test_add_func ("/engine/tokenizer/bert/tokenizer-json-agrees-with-vocab-txt",
                   test_bert_tokenizer_json_agrees_with_vocab_txt);

  g_test_add_data_func ("/engine/tokenizer/llama-spm/llama-cpp-vectors", &llama_spm_vectors,
                        test_llama_cpp_vectors);
  g_test_add_data_func ("/engine/tokenizer/stories260K/bos-comes-first", &stories_case, test_spm_bos_comes_first);
  g_test_add_data_func ("/engine/tokenizer/aidreams260K/bos-comes-first", &aidreams_case, test_spm_bos_comes_first);
  g_test_add_data_func ("/engine/tokenizer/stories260K/decode-round-trips", &stories_case, test_spm_decode_round_trips);
  g_test_add_data_func ("/engine/tokenizer/aidreams260K/decode-round-trips", &aidreams_case, test_spm_decode_round_trips);
  g_test_add_func ("/engine/tokenizer/stories260K/byte-fallback-shares-the-character-span",
                   test_spm_byte_fallback_shares_the_character_span);
  g_test_add_func ("/engine/tokenizer/stories260K/without-scores-merges-by-rank",
                   test_spm_without_scores_merges_by_rank);

  g_test_add_func ("/engine/tokenizer/empty-text-gives-only-specials", test_empty_text_gives_only_specials);
  g_test_add_func ("/engine/tokenizer/invalid-utf8-is-an-error", test_invalid_utf8_is_an_error);
  g_test_add_func ("/engine/tokenizer/folder-without-tokenizer-is-an-error", test_folder_without_tokenizer_is_an_error);
  g_test_add_func ("/engine/tokenizer/missing-folder-is-an-error", test_missing_folder_is_an_error);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_folders); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/tokenizer/load-errors/%s", bad_folders[i].name);

      g_test_add_data_func (path, &bad_folders[i], test_bad_folder_is_an_error);
    }

  status = g_test_run ();
  g_hash_table_unref (loaded);
  return status;
}
