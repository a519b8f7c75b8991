/* test-tokenizer-gguf.c: tokenizers read from GGUF metadata against llama.cpp
 *
 * The references: llama.cpp's own test vectors for its vocabulary-only GGUF
 * files (made with add_special off, as tests/test-tokenizer-0.cpp runs
 * them), llama.cpp itself through /tmp/llref/llref when it is there, and
 * the Hugging Face folders beside the model GGUFs; spans, round trips and
 * the speed of big vocabularies.  Small vocabularies written by the tests
 * (merges, flags, bad keys, user-defined pieces):
 * test-tokenizer-gguf-written.c.
 */
#define G_LOG_DOMAIN "attnviz-test-tokenizer-gguf"

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "attnviz-gguf.h"
#include "attnviz-test-tokenizer-gguf.h"
#include "attnviz-test-util.h"
#include "attnviz-tokenizer.h"

/* The six vocabularies of llama.cpp's tokenizer tests. */
static const char *const vocabs[] = { "gpt-2", "bert-bge", "llama-spm", "phi-3", "llama-bpe", "qwen2" };

/* ---------------------------------------------------------------- llama.cpp's vectors */

static void
test_matches_llama_cpp_vectors (gconstpointer data)
{
  const char *name = data;
  g_autofree char *path = NULL;
  const AttnvizTokenizer *tok = attnviz_test_vocab (name, &path);
  g_autofree char *inp_path = NULL;
  g_autofree char *out_path = NULL;
  g_autofree char *inp = NULL;
  g_autofree char *out = NULL;
  g_auto(GStrv) cases = NULL;
  g_auto(GStrv) expected = NULL;
  g_autoptr(GError) error = NULL;
  guint n_cases, failures = 0;

  if (tok == NULL)
    return;
  inp_path = g_strconcat (path, ".inp", NULL);
  out_path = g_strconcat (path, ".out", NULL);
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
      g_autoptr(GArray) tokens = attnviz_test_gguf_encode (tok, cases[i], FALSE);
      g_autofree char *got = attnviz_test_ids_string (tokens);
      g_auto(GStrv) want_ids = g_strsplit_set (g_strstrip (expected[i]), " ", -1);
      g_autofree char *want = g_strjoinv (",", want_ids);

      if (!g_str_equal (got, want))
        {
          g_autofree char *shown = g_strescape (cases[i], NULL);

          g_test_message ("case %u \"%s\": expected [%s], got [%s]", i, shown, want, got);
          failures++;
        }
    }
  g_test_message ("ggml-vocab-%s.gguf: %u of %u cases match", name, n_cases - failures, n_cases);
  g_assert_cmpuint (failures, ==, 0);
}

/* ---------------------------------------------------------------- llama.cpp itself */

/* Texts beyond the vectors: scripts, white space runs, digits, emoji, code,
 * and pieces some vocabularies cut out of the text. */
static const char *const extra_texts[] = {
  "Hello, world! How's it going? I'M FINE, THANKS.",
  "  two leading spaces,\tthen a tab,\n\n\nthree newlines\r\nand CRLF   \n  ",
  "Zoë said: «こんにちは» 🙂 — naïve café, Ελληνικά, русский, العربية, हिन्दी, 한국어 텍스트",
  "3.14159 and 1,000,000 and 12345678901234567890 and ١٢٣ and ⅫⅢ and ²³",
  "👩‍👩‍👧‍👦🏳️‍🌈 emoji 🤖🤖🤖 and ZWJ\xe2\x80\x8djoined",
  "int main (void)\n{\n\tif (x->y != NULL && a[i] <= 0x7f) return -1; // done\n}\n",
  "def f(x):\n    return [y ** 2 for y in range(x) if y % 3 == 0]  # squares\n",
  "\xc2\xa0no-break\xe2\x80\x83" "em space\xe3\x80\x80ideographic space\xe2\x80\xa8line sep",
  "don't won't they're we've I'll he'd She'S THEY'RE 'tis",
  "[PAD151700] <|im_start|>user<|im_end|> <|endoftext|> </s> <s> <unk> <|assistant|>\n<|end|> [CLS] [SEP]",
  "a",
  " ",
  "\n",
  "ÀÁÂÃÄÅ àáâãäå ǅ ﬁ ẞ ß İ ı ŉ",
};

/* 8 KB of short random "words" from many scripts and classes, with the
 * pieces some vocabularies cut out, a NUL and combining marks among them. */
static char *
make_random_text (guint32 seed, gsize *len)
{
  static const char *const alphabet[] = {
    "a", "b", "e", "k", "s", "t", "z", "A", "K", "S", "0", "1", "7", "\xc3\xa9", "\xc3\xbc", "\xd0\xb6",
    "\xe4\xb8\xad", "\xe6\x96\x87", "\xf0\x9f\x99\x82", "'s", "'LL", " ", "  ", "\t", "\n", "\r\n", ",", ".",
    "!", "-", "_", "(", "{", "<", "$", "+", "^", "`", "|", "\xd9\xa1", "\xc2\xb2", "\xe2\x85\xab",
    "\xc2\xa0", "\xe2\x80\x83", "\xe3\x80\x80", "\xe2\x80\x8d", "\xef\xac\x81", "\xc4\xb0", "\xc3\x9f",
    "\xed\x95\x9c", "\xe3\x81\x82", "\xcc\x81", "</s>", "[PAD151700]", "<|endoftext|>", "[CLS]", "world", "ing",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  GString *s = g_string_new (NULL);

  while (s->len < 8 * 1024)
    {
      for (int k = g_rand_int_range (rand, 1, 8); k > 0; k--)
        g_string_append (s, alphabet[g_rand_int_range (rand, 0, G_N_ELEMENTS (alphabet))]);
      if (g_rand_int_range (rand, 0, 50) == 0)
        g_string_append_c (s, '\0');
      g_string_append (s, (const char *[]) { " ", " ", "\n", "  ", "" }[g_rand_int_range (rand, 0, 5)]);
    }
  *len = s->len;
  return g_string_free (s, FALSE);
}

/* DATA: a GGUF file under ../shared/data. */
static void
test_agrees_with_llama_cpp (gconstpointer data)
{
  g_autofree char *path = NULL;
  const AttnvizTokenizer *tok = attnviz_test_gguf_tokenizer_shared (data, NULL, NULL, &path);
  g_autofree char *libdir = NULL;

  if (tok == NULL)
    return;
  if (!attnviz_test_have_llref (&libdir))
    {
      g_test_skip (LLREF " is absent: no comparison with llama.cpp");
      return;
    }
  g_assert_cmpuint (attnviz_test_compare_with_llama_cpp (tok, path, extra_texts, NULL, G_N_ELEMENTS (extra_texts)),
                    ==, 0);
}

/* DATA: a GGUF file under ../shared/data. */
static void
test_agrees_with_llama_cpp_on_random_text (gconstpointer data)
{
  g_autofree char *path = NULL;
  const AttnvizTokenizer *tok = attnviz_test_gguf_tokenizer_shared (data, NULL, NULL, &path);
  g_autofree char *libdir = NULL;
  gsize len[3];
  char *texts[3];

  if (tok == NULL)
    return;
  if (!attnviz_test_have_llref (&libdir))
    {
      g_test_skip (LLREF " is absent: no comparison with llama.cpp");
      return;
    }
  for (int i = 0; i < 3; i++)
    texts[i] = make_random_text (g_str_hash (data) + i, &len[i]);
  g_assert_cmpuint (attnviz_test_compare_with_llama_cpp (tok, path, (const char *const *) texts, len, 3), ==, 0);
  for (int i = 0; i < 3; i++)
    g_free (texts[i]);
}

/* ---------------------------------------------------------------- spans */

static gboolean
is_byte_level (const char *name)
{
  return !g_str_equal (name, "bert-bge");
}

/* Every token's span lies in the text, in order.  Byte-level and
 * SentencePiece vocabularies tile the text: each token starts where the
 * one before ended, or shares its span (one character spelt in byte
 * fallbacks); a lone "▁" put before the text has an empty span.  WordPiece drops white space: its spans only increase, and
 * hold none. */
static void
test_spans_cover_the_text (gconstpointer data)
{
  const char *name = data;
  const AttnvizTokenizer *tok = attnviz_test_vocab (name, NULL);

  if (tok == NULL)
    return;
  for (gsize t = 0; t < G_N_ELEMENTS (extra_texts); t++)
    {
      const char *text = extra_texts[t];
      gsize len = strlen (text);
      g_autoptr(GArray) tokens = attnviz_test_gguf_encode (tok, text, FALSE);
      guint32 prev_start = 0, prev_end = 0;

      g_assert_true (tokens->len > 0 || !is_byte_level (name));
      for (guint i = 0; i < tokens->len; i++)
        {
          const AttnvizToken *k = &g_array_index (tokens, AttnvizToken, i);

          g_assert_cmpuint (k->start, <=, k->end);
          g_assert_cmpuint (k->end, <=, len);
          if (is_byte_level (name))
            {
              if (i == 0)
                g_assert_cmpuint (k->start, ==, 0);
              else if (!(k->start == prev_start && k->end == prev_end))
                g_assert_cmpuint (k->start, ==, prev_end);
              /* Only the "▁" SentencePiece puts before the text stands
               * for no byte of it. */
              if (k->start == k->end)
                g_assert_cmpstr (attnviz_tokenizer_get_piece (tok, k->id), ==, "\xe2\x96\x81");
            }
          else
            {
              g_assert_cmpuint (k->start, >=, prev_end);
              for (guint32 b = k->start; b < k->end; b++)
                g_assert_false (g_ascii_isspace (text[b]));
            }
          prev_start = k->start;
          prev_end = k->end;
        }
      if (is_byte_level (name))
        g_assert_cmpuint (prev_end, ==, len);
    }
}

/* Byte-level vocabularies decode back to the text; SentencePiece ones too,
 * after a BOS (which takes the leading "▁" with it). */
static void
test_decode_round_trips (gconstpointer data)
{
  const char *name = data;
  const AttnvizTokenizer *tok = attnviz_test_vocab (name, NULL);
  gboolean spm;

  if (tok == NULL)
    return;
  spm = attnviz_tokenizer_get_kind (tok) == ATTNVIZ_TOKENIZER_SPM_BPE;
  for (gsize t = 0; t < G_N_ELEMENTS (extra_texts); t++)
    {
      g_autoptr(GArray) tokens = attnviz_test_gguf_encode (tok, extra_texts[t], spm);
      g_autofree gint32 *ids = g_new (gint32, tokens->len + 1);
      g_autofree char *back = NULL;

      for (guint i = 0; i < tokens->len; i++)
        ids[i] = g_array_index (tokens, AttnvizToken, i).id;
      back = attnviz_tokenizer_decode (tok, ids, tokens->len);
      g_assert_cmpstr (back, ==, extra_texts[t]);
    }
}

/* qwen2's user-defined "[PAD151700]" is cut out of the text whole, keeps its
 * span and is special; control tokens ("<|im_start|>") stay text, as
 * llama.cpp has them without parse_special. */
static void
test_user_defined_tokens_are_cut_out (void)
{
  const char *text = "a[PAD151700]b <|im_start|>";
  const AttnvizTokenizer *tok = attnviz_test_vocab ("qwen2", NULL);
  g_autoptr(GArray) tokens = NULL;
  g_autoptr(GArray) before = NULL;
  g_autoptr(GArray) after = NULL;
  gboolean seen = FALSE;
  guint at = 0;

  if (tok == NULL)
    return;
  tokens = attnviz_test_gguf_encode (tok, text, FALSE);
  for (guint i = 0; i < tokens->len; i++)
    {
      const AttnvizToken *k = &g_array_index (tokens, AttnvizToken, i);

      g_assert_cmpint (k->id, !=, 151644); /* <|im_start|> as one token */
      if (k->id == 151700)
        {
          g_assert_false (seen);
          seen = TRUE;
          at = i;
          g_assert_true (k->special);
          g_assert_cmpuint (k->start, ==, 1);
          g_assert_cmpuint (k->end, ==, 12);
        }
      else
        g_assert_false (k->special);
    }
  g_assert_true (seen);
  /* The runs around it are encoded on their own. */
  before = attnviz_test_gguf_encode (tok, "a", FALSE);
  after = attnviz_test_gguf_encode_len (tok, text + 12, strlen (text + 12), FALSE);
  g_assert_cmpuint (at, ==, before->len);
  g_assert_cmpuint (tokens->len, ==, before->len + 1 + after->len);
  for (guint i = 0; i < after->len; i++)
    g_assert_cmpint (g_array_index (tokens, AttnvizToken, at + 1 + i).id, ==,
                     g_array_index (after, AttnvizToken, i).id);
}

/* ---------------------------------------------------------------- models */

typedef struct {
  const char *model;  /* under data/models */
  const char *gguf;   /* its GGUF file, under the model's folder */
  int vocab_size;
} ModelCase;

static const ModelCase model_cases[] = {
  { "stories260K", "gguf/stories260K-f32.gguf", 512 },
  { "aidreams260K", "gguf/aidreams260K-f32.gguf", 512 },
  { "tiny-llama-gguf", "gguf/tiny-f32.gguf", 1024 },
  { "tiny-qwen2-gguf", "gguf/qwen2-tiny-f32.gguf", 1024 },
};

/* A hundred words of a children's story, with the odd character that the
 * 512-piece vocabularies spell in bytes. */
static const char story[] =
  "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
  "sunshine. One day, she saw a big, red ball in the park. She ran to it and kicked it very "
  "hard. The ball flew up high into the sky and landed in a tree. Lily was sad because she "
  "could not reach it. Then her friend Tom came by. Tom was tall and strong. He climbed the "
  "tree and got the ball for Lily. She was so happy! \"Thank you, Tom,\" she said with a big "
  "smile. They played together all day long until the sun went down. Zoë's café — naïve 🙂.\n";

static void
test_model_gguf_agrees_with_its_hf_folder (gconstpointer data)
{
  const ModelCase *c = data;
  g_autofree char *hf = attnviz_test_shared_path ("models", c->model, "hf", NULL);
  const AttnvizTokenizer *tok = hf != NULL ? attnviz_test_gguf_tokenizer_shared ("models", c->model, c->gguf, NULL)
                                           : NULL;
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *ref;

  if (tok == NULL)
    return;
  ref = attnviz_tokenizer_load_dir (hf, &error);
  g_assert_no_error (error);

  g_assert_cmpint (attnviz_tokenizer_get_kind (tok), ==, attnviz_tokenizer_get_kind (ref));
  g_assert_cmpint (attnviz_tokenizer_get_vocab_size (tok), ==, c->vocab_size);
  g_assert_cmpint (attnviz_tokenizer_get_vocab_size (tok), ==, attnviz_tokenizer_get_vocab_size (ref));
  g_assert_cmpint (attnviz_tokenizer_get_bos_id (tok), ==, attnviz_tokenizer_get_bos_id (ref));
  g_assert_cmpint (attnviz_tokenizer_get_eos_id (tok), ==, attnviz_tokenizer_get_eos_id (ref));
  g_assert_cmpint (attnviz_tokenizer_get_unk_id (tok), ==, attnviz_tokenizer_get_unk_id (ref));
  for (int id = 0; id < c->vocab_size; id++)
    g_assert_cmpstr (attnviz_tokenizer_get_piece (tok, id), ==, attnviz_tokenizer_get_piece (ref, id));

  for (int add_special = 0; add_special <= 1; add_special++)
    {
      g_autoptr(GArray) a = attnviz_test_gguf_encode (tok, story, add_special);
      g_autoptr(GArray) b = attnviz_test_gguf_encode (ref, story, add_special);
      g_autofree char *got = attnviz_test_ids_string (a);
      g_autofree char *want = attnviz_test_ids_string (b);

      g_assert_cmpstr (got, ==, want);
      for (guint i = 0; i < a->len; i++)
        {
          const AttnvizToken *x = &g_array_index (a, AttnvizToken, i);
          const AttnvizToken *y = &g_array_index (b, AttnvizToken, i);

          g_assert_cmpuint (x->start, ==, y->start);
          g_assert_cmpuint (x->end, ==, y->end);
          g_assert_cmpint (x->special, ==, y->special);
        }
      if (add_special)
        g_assert_cmpint (g_array_index (a, AttnvizToken, 0).id, ==, attnviz_tokenizer_get_bos_id (tok));
    }
  attnviz_tokenizer_free (ref);
}

/* ---------------------------------------------------------------- speed */

static char *
make_long_text (gsize size)
{
  static const char *const words[] = {
    "the", "model", "attention", "head", "looks", "back", "at", "every", "earlier", "token",
    "Once", "upon", "a", "time", "Zoë", "naïve", "café", "こんにちは", "世界", "русский",
    "🙂", "  ", "\t", "x->y", "(void)", "don't", "I'M",
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

/* Loading a 128k- or 152k-piece vocabulary and tokenizing 100 KB with it:
 * well under a second each in a release build; the bound leaves room for
 * sanitizers while still catching quadratic behaviour. */
static void
test_big_vocabulary_is_fast (gconstpointer data)
{
  const char *name = data;
  g_autofree char *file = g_strdup_printf ("ggml-vocab-%s.gguf", name);
  g_autofree char *path = attnviz_test_shared_path ("tokenizers", "llama.cpp-vocab-gguf", file, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) tokens = NULL;
  g_autofree gint32 *ids = NULL;
  g_autofree char *back = NULL;
  AttnvizGguf *gguf;
  AttnvizTokenizer *tok;
  gint64 t0, t1, t2;

  if (path == NULL)
    return;
  t0 = g_get_monotonic_time ();
  gguf = attnviz_gguf_open (path, &error);
  g_assert_no_error (error);
  t1 = g_get_monotonic_time ();
  tok = attnviz_tokenizer_new_from_gguf (gguf, &error);
  g_assert_no_error (error);
  t2 = g_get_monotonic_time ();
  attnviz_gguf_free (gguf);
  g_test_message ("%s: %d pieces: GGUF opened in %.3f s, tokenizer built in %.3f s", file,
                  attnviz_tokenizer_get_vocab_size (tok), (t1 - t0) / 1e6, (t2 - t1) / 1e6);
  g_assert_cmpint (attnviz_tokenizer_get_vocab_size (tok), >, 128000);
  g_assert_cmpfloat ((t2 - t0) / 1e6, <, 3.0);

  text = make_long_text (100 * 1024);
  t0 = g_get_monotonic_time ();
  tokens = attnviz_test_gguf_encode (tok, text, FALSE);
  t1 = g_get_monotonic_time ();
  g_test_message ("%zu bytes -> %u tokens in %.3f s", strlen (text), tokens->len, (t1 - t0) / 1e6);
  g_assert_cmpfloat ((t1 - t0) / 1e6, <, 3.0);

  ids = g_new (gint32, tokens->len + 1);
  for (guint i = 0; i < tokens->len; i++)
    ids[i] = g_array_index (tokens, AttnvizToken, i).id;
  back = attnviz_tokenizer_decode (tok, ids, tokens->len);
  g_assert_cmpstr (back, ==, text);
  attnviz_tokenizer_free (tok);
}

int
main (int argc, char *argv[])
{
  attnviz_test_tokenizer_gguf_init (&argc, &argv);

  for (gsize i = 0; i < G_N_ELEMENTS (vocabs); i++)
    {
      g_autofree char *vectors = g_strdup_printf ("/engine/tokenizer/gguf/%s/matches-llama-cpp-vectors", vocabs[i]);
      g_autofree char *llref = g_strdup_printf ("/engine/tokenizer/gguf/%s/agrees-with-llama-cpp", vocabs[i]);
      char *file = g_strdup_printf ("tokenizers/llama.cpp-vocab-gguf/ggml-vocab-%s.gguf", vocabs[i]);

      g_autofree char *spans = g_strdup_printf ("/engine/tokenizer/gguf/%s/spans-cover-the-text", vocabs[i]);

      g_test_add_data_func (vectors, vocabs[i], test_matches_llama_cpp_vectors);
      g_autofree char *random = g_strdup_printf ("/engine/tokenizer/gguf/%s/agrees-with-llama-cpp-on-random-text",
                                                 vocabs[i]);

      g_test_add_data_func_full (llref, g_strdup (file), test_agrees_with_llama_cpp, g_free);
      g_test_add_data_func_full (random, file, test_agrees_with_llama_cpp_on_random_text, g_free);
      g_test_add_data_func (spans, vocabs[i], test_spans_cover_the_text);
      if (!g_str_equal (vocabs[i], "bert-bge"))
        {
          g_autofree char *decode = g_strdup_printf ("/engine/tokenizer/gguf/%s/decode-round-trips", vocabs[i]);

          g_test_add_data_func (decode, vocabs[i], test_decode_round_trips);
        }
    }
  g_test_add_func ("/engine/tokenizer/gguf/qwen2/user-defined-tokens-are-cut-out", test_user_defined_tokens_are_cut_out);
  for (gsize i = 0; i < G_N_ELEMENTS (model_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/tokenizer/gguf/%s/agrees-with-its-hf-folder",
                                               model_cases[i].model);

      g_autofree char *llref = g_strdup_printf ("/engine/tokenizer/gguf/%s/agrees-with-llama-cpp",
                                                model_cases[i].model);
      char *file = g_build_filename ("models", model_cases[i].model, model_cases[i].gguf, NULL);

      g_test_add_data_func (path, &model_cases[i], test_model_gguf_agrees_with_its_hf_folder);
      g_test_add_data_func_full (llref, file, test_agrees_with_llama_cpp, g_free);
    }
  g_test_add_data_func ("/engine/tokenizer/gguf/llama-bpe/load-and-100k-text-are-fast", "llama-bpe",
                        test_big_vocabulary_is_fast);
  g_test_add_data_func ("/engine/tokenizer/gguf/qwen2/load-and-100k-text-are-fast", "qwen2",
                        test_big_vocabulary_is_fast);

  return attnviz_test_tokenizer_gguf_run ();
}
