/* test-tokenizer-bpe.c: GPT-2's byte-level BPE tokenizer
 *
 * Spans reproduce the text, decoding round-trips, tokenizer.json agrees
 * with vocab.json + merges.txt, 100 KB is fast, threads share one
 * tokenizer, a tiny vocabulary merges by rank.  Its llama.cpp vectors are
 * in test-tokenizer.c.
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
  const AttnvizTokenizer *tok = attnviz_test_tokenizer_shared ("tokenizers", "gpt2", NULL);

  if (tok == NULL)
    return;
  for (gsize t = 0; t < G_N_ELEMENTS (sample_texts); t++)
    {
      const char *text = sample_texts[t];
      g_autoptr(GArray) tokens = attnviz_test_encode (tok, text, TRUE);
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
  const AttnvizTokenizer *tok = attnviz_test_tokenizer_shared ("tokenizers", "gpt2", NULL);

  if (tok == NULL)
    return;
  g_assert_cmpint (attnviz_tokenizer_get_kind (tok), ==, ATTNVIZ_TOKENIZER_GPT2_BPE);
  g_assert_cmpstr (attnviz_tokenizer_get_kind_name (tok), ==, "gpt2-bpe");
  g_assert_cmpint (attnviz_tokenizer_get_vocab_size (tok), ==, 50257);
  g_assert_cmpint (attnviz_tokenizer_get_eos_id (tok), ==, 50256);
  for (gsize t = 0; t < G_N_ELEMENTS (sample_texts); t++)
    {
      g_autoptr(GArray) tokens = attnviz_test_encode (tok, sample_texts[t], FALSE);
      g_autofree gint32 *ids = attnviz_test_token_ids (tokens);
      g_autofree char *back = attnviz_tokenizer_decode (tok, ids, tokens->len);

      g_assert_cmpstr (back, ==, sample_texts[t]);
    }
  {
    /* " the" is one token whose piece spells the space as "Ġ". */
    g_autoptr(GArray) tokens = attnviz_test_encode (tok, " the", FALSE);
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

  dir = attnviz_test_make_temp_dir ();
  attnviz_test_write_file (dir, "tokenizer.json", json->str);
  a = attnviz_test_tokenizer_shared ("tokenizers", "gpt2", NULL);
  b = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (b);
  g_assert_cmpint (attnviz_tokenizer_get_kind (b), ==, ATTNVIZ_TOKENIZER_GPT2_BPE);

  for (gsize t = 0; t < G_N_ELEMENTS (sample_texts); t++)
    {
      g_autoptr(GArray) ta = attnviz_test_encode (a, sample_texts[t], TRUE);
      g_autoptr(GArray) tb = attnviz_test_encode (b, sample_texts[t], TRUE);

      g_assert_cmpmem (ta->data, ta->len * sizeof (AttnvizToken),
                       tb->data, tb->len * sizeof (AttnvizToken));
    }
  attnviz_tokenizer_free (b);
  attnviz_test_remove_temp_dir (dir);
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
  const AttnvizTokenizer *tok = attnviz_test_tokenizer_shared ("tokenizers", "gpt2", NULL);
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
  tokens = attnviz_test_encode (tok, text, FALSE);
  seconds = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("%zu bytes -> %u tokens in %.3f s", strlen (text), tokens->len, seconds);
  /* Well under a second in a release build; the bound leaves room for
   * sanitizers and slow CI while still catching quadratic behaviour. */
  g_assert_cmpfloat (seconds, <, 3.0);

  ids = attnviz_test_token_ids (tokens);
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
  const AttnvizTokenizer *tok = attnviz_test_tokenizer_shared ("tokenizers", "gpt2", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GArray) reference = NULL;
  ThreadJob jobs[4];
  GThread *threads[4];

  if (tok == NULL)
    return;
  text = make_long_text (20 * 1024);
  reference = attnviz_test_encode (tok, text, TRUE);
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
  g_autofree char *dir = attnviz_test_make_temp_dir ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) tokens = NULL;
  AttnvizTokenizer *tok;
  const AttnvizToken *t;

  /* "Ġ" is the stand-in of the space byte. */
  attnviz_test_write_file (dir, "vocab.json",
              "{\"a\": 0, \"b\": 1, \"c\": 2, \"\xc4\xa0\": 3, \"ab\": 4, \"abc\": 5, "
              "\"\xc4\xa0" "a\": 6, \"bc\": 7}");
  attnviz_test_write_file (dir, "merges.txt", "#version: 0.2\na b\nab c\n\xc4\xa0 a\nb c\n");
  tok = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);

  /* "abc": "a b" (rank 0) beats "b c" (rank 3), then "ab c". " abc" is
   * "Ġ" + "abc" because the regex keeps the space with the word. */
  tokens = attnviz_test_encode (tok, "abc bca", FALSE);
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
  attnviz_test_remove_temp_dir (dir);
}

int
main (int argc, char *argv[])
{
  attnviz_test_tokenizer_init (&argc, &argv);

  g_test_add_func ("/engine/tokenizer/gpt2/spans-reproduce-the-text", test_gpt2_spans_reproduce_the_text);
  g_test_add_func ("/engine/tokenizer/gpt2/decode-round-trips", test_gpt2_decode_round_trips);
  g_test_add_func ("/engine/tokenizer/gpt2/tokenizer-json-agrees-with-vocab-json",
                   test_gpt2_tokenizer_json_agrees_with_vocab_json);
  g_test_add_func ("/engine/tokenizer/gpt2/100k-text-is-fast", test_gpt2_long_text_is_fast);
  g_test_add_func ("/engine/tokenizer/gpt2/threads-share-one-tokenizer", test_gpt2_threads_share_one_tokenizer);
  g_test_add_func ("/engine/tokenizer/gpt2/tiny-vocab-merges-by-rank", test_gpt2_tiny_vocab_merges_by_rank);

  return attnviz_test_tokenizer_run ();
}
