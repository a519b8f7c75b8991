/* test-tokenizer-gguf-written.c: small GGUF vocabularies written by the
 * tests
 *
 * SentencePiece scores decide the merges, flags and ids are read, a small
 * byte-level BPE merges by rank, huge pieces stay linear in time, every
 * bad key is a one-line error, and user-defined pieces split the text as
 * llama.cpp's do (compared with /tmp/llref/llref when it is there).
 */
#define G_LOG_DOMAIN "attnviz-test-tokenizer-gguf"

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "attnviz-gguf.h"
#include "attnviz-test-tokenizer-gguf.h"
#include "attnviz-test-util.h"
#include "attnviz-tokenizer.h"

/* ---------------------------------------------------------------- small GGUFs */

/* Removes PATH's file and its folder (a temporary of attnviz_test_gguf_temp_dir). */
static void
remove_file_and_dir (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static char *
write_gguf (AttnvizGgufWriter *w)
{
  g_autofree char *dir = attnviz_test_gguf_temp_dir ();
  char *path = g_build_filename (dir, "vocab.gguf", NULL);
  g_autoptr(GError) error = NULL;

  attnviz_gguf_writer_write (w, path, &error);
  g_assert_no_error (error);
  return path;
}

typedef enum {
  BASE_SPM,
  BASE_GPT2,
} BaseKind;

/* A small vocabulary.  SentencePiece: "<unk>" "<s>" "</s>", the 256 byte
 * pieces, then "▁" "a" "b" "▁a" "ab" with scores SCORE_A ("▁a") and
 * SCORE_AB ("ab").  Byte-level BPE: "a" "b" "ab" "Ġ" "Ġa" "<|endoftext|>"
 * (control), merges "a b" and "Ġ a".  Every key but SKIP. */
static AttnvizGgufWriter *
base_writer (BaseKind kind, const char *skip, float score_a, float score_ab)
{
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) types = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(GArray) scores = g_array_new (FALSE, FALSE, sizeof (float));
#define ADD(key, call) \
  if (skip == NULL || !g_str_equal (skip, key)) \
    call

  attnviz_gguf_writer_add_string (w, "general.architecture", "llama");
  if (kind == BASE_SPM)
    {
      static const char *const words[] = { "\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab" };
      const gint32 head_types[] = { 2, 3, 3 };

      for (int i = 0; i < 3; i++)
        {
          float zero = 0;

          g_ptr_array_add (tokens, g_strdup ((const char *[]) { "<unk>", "<s>", "</s>" }[i]));
          g_array_append_val (types, head_types[i]);
          g_array_append_val (scores, zero);
        }
      for (int b = 0; b < 256; b++)
        {
          gint32 byte_type = 6;
          float zero = 0;

          g_ptr_array_add (tokens, g_strdup_printf ("<0x%02X>", b));
          g_array_append_val (types, byte_type);
          g_array_append_val (scores, zero);
        }
      for (gsize i = 0; i < G_N_ELEMENTS (words); i++)
        {
          gint32 normal = 1;
          float score = i == 3 ? score_a : i == 4 ? score_ab : -10.0f - (float) i;

          g_ptr_array_add (tokens, g_strdup (words[i]));
          g_array_append_val (types, normal);
          g_array_append_val (scores, score);
        }
      ADD ("tokenizer.ggml.model", attnviz_gguf_writer_add_string (w, "tokenizer.ggml.model", "llama"));
      ADD ("tokenizer.ggml.scores",
           attnviz_gguf_writer_add_array (w, "tokenizer.ggml.scores", ATTNVIZ_GGUF_FLOAT32, scores->data, scores->len));
      ADD ("tokenizer.ggml.bos_token_id", attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.bos_token_id", 1));
      ADD ("tokenizer.ggml.eos_token_id", attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.eos_token_id", 2));
      ADD ("tokenizer.ggml.unknown_token_id", attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.unknown_token_id", 0));
    }
  else
    {
      static const char *const words[] = { "a", "b", "ab", "\xc4\xa0", "\xc4\xa0" "a", "<|endoftext|>" };
      static const char *const merges[] = { "a b", "\xc4\xa0 a" };

      for (gsize i = 0; i < G_N_ELEMENTS (words); i++)
        {
          gint32 type = i == 5 ? 3 : 1;

          g_ptr_array_add (tokens, g_strdup (words[i]));
          g_array_append_val (types, type);
        }
      ADD ("tokenizer.ggml.model", attnviz_gguf_writer_add_string (w, "tokenizer.ggml.model", "gpt2"));
      ADD ("tokenizer.ggml.pre", attnviz_gguf_writer_add_string (w, "tokenizer.ggml.pre", "gpt-2"));
      ADD ("tokenizer.ggml.merges",
           attnviz_gguf_writer_add_string_array (w, "tokenizer.ggml.merges", merges, G_N_ELEMENTS (merges)));
      ADD ("tokenizer.ggml.bos_token_id", attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.bos_token_id", 5));
      ADD ("tokenizer.ggml.eos_token_id", attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.eos_token_id", 5));
    }
  ADD ("tokenizer.ggml.tokens",
       attnviz_gguf_writer_add_string_array (w, "tokenizer.ggml.tokens", (const char *const *) tokens->pdata,
                                             tokens->len));
  ADD ("tokenizer.ggml.token_type",
       attnviz_gguf_writer_add_array (w, "tokenizer.ggml.token_type", ATTNVIZ_GGUF_INT32, types->data, types->len));
#undef ADD
  return w;
}

/* Writes W (and frees it), then loads the tokenizer of the file. */
static AttnvizTokenizer *
load_written (AttnvizGgufWriter *w, GError **error)
{
  g_autofree char *path = write_gguf (w);
  AttnvizTokenizer *tok = attnviz_test_gguf_tokenizer (path, error);

  attnviz_gguf_writer_free (w);
  remove_file_and_dir (path);
  return tok;
}

/* The pieces TEXT encodes to, joined with '|'. */
static char *
pieces_of (const AttnvizTokenizer *tok, const char *text, gboolean add_special)
{
  g_autoptr(GArray) tokens = attnviz_test_gguf_encode (tok, text, add_special);
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < tokens->len; i++)
    g_string_append_printf (s, "%s%s", i ? "|" : "",
                            attnviz_tokenizer_get_piece (tok, g_array_index (tokens, AttnvizToken, i).id));
  return g_string_free (s, FALSE);
}

/* The pair whose merge has the higher score goes first: "▁a" then "ab"
 * finds nothing more, "ab" first leaves the second "▁" alone. */
static void
test_spm_scores_decide_the_merges (void)
{
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *a_first = load_written (base_writer (BASE_SPM, NULL, -1.0f, -2.0f), &error);
  AttnvizTokenizer *ab_first = NULL;
  g_autofree char *x = NULL;
  g_autofree char *y = NULL;

  g_assert_no_error (error);
  ab_first = load_written (base_writer (BASE_SPM, NULL, -2.0f, -1.0f), &error);
  g_assert_no_error (error);
  x = pieces_of (a_first, "a ab", TRUE);
  y = pieces_of (ab_first, "a ab", TRUE);
  g_assert_cmpstr (x, ==, "<s>|\xe2\x96\x81" "a|\xe2\x96\x81" "a|b");
  g_assert_cmpstr (y, ==, "<s>|\xe2\x96\x81" "a|\xe2\x96\x81|ab");
  /* "c" is not a piece: its byte. */
  g_clear_pointer (&x, g_free);
  x = pieces_of (a_first, "c", FALSE);
  g_assert_cmpstr (x, ==, "\xe2\x96\x81|<0x63>");
  attnviz_tokenizer_free (a_first);
  attnviz_tokenizer_free (ab_first);
}

/* add_bos_token / add_space_prefix say what add_special and the first
 * "▁" do; an id of 0xFFFFFFFF means no such token. */
static void
test_spm_flags_are_read (void)
{
  g_autoptr(GError) error = NULL;
  AttnvizGgufWriter *w = base_writer (BASE_SPM, NULL, -1.0f, -2.0f);
  AttnvizTokenizer *tok;
  g_autofree char *got = NULL;

  attnviz_gguf_writer_add_bool (w, "tokenizer.ggml.add_bos_token", FALSE);
  attnviz_gguf_writer_add_bool (w, "tokenizer.ggml.add_eos_token", TRUE);
  attnviz_gguf_writer_add_bool (w, "tokenizer.ggml.add_space_prefix", FALSE);
  attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.bos_token_id", G_MAXUINT32);
  attnviz_gguf_writer_add_int32 (w, "tokenizer.ggml.padding_token_id", -1);
  tok = load_written (w, &error);
  g_assert_no_error (error);
  g_assert_cmpint (attnviz_tokenizer_get_bos_id (tok), ==, -1);
  g_assert_cmpint (attnviz_tokenizer_get_pad_id (tok), ==, -1);
  g_assert_cmpint (attnviz_tokenizer_get_eos_id (tok), ==, 2);
  got = pieces_of (tok, "a ab", TRUE);
  g_assert_cmpstr (got, ==, "a|\xe2\x96\x81" "a|b|</s>");
  attnviz_tokenizer_free (tok);
}

/* Byte-level BPE merges by rank and keeps the control token out of text. */
static void
test_gpt2_small_vocabulary (void)
{
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok = load_written (base_writer (BASE_GPT2, NULL, 0, 0), &error);
  g_autofree char *got = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (attnviz_tokenizer_get_kind (tok), ==, ATTNVIZ_TOKENIZER_GPT2_BPE);
  g_assert_cmpint (attnviz_tokenizer_get_bos_id (tok), ==, 5);
  got = pieces_of (tok, "ab a", TRUE);
  g_assert_cmpstr (got, ==, "ab|\xc4\xa0" "a");
  attnviz_tokenizer_free (tok);
}

/* Finding which cuts of a piece give two pieces takes time linear in its
 * length: a 4 MiB piece once made a SentencePiece vocabulary take minutes
 * to open (a string lookup per cut).  The merges still come out right. */
static void
test_spm_a_huge_piece_opens_in_linear_time (void)
{
  g_autoptr(GError) error = NULL;
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  gsize huge = (gsize) 4 << 20;
  g_autofree char *long_piece = g_malloc (huge + 1);
  const char *tokens[] = { "<unk>", "<s>", "</s>", "a", "aa", "aaa", "b", "ab", long_piece };
  const float scores[] = { 0, 0, 0, -1, -2, -3, -1, -1, -4 };
  gint64 start;
  AttnvizTokenizer *tok;
  g_autofree char *got = NULL;

  memset (long_piece, 'a', huge);
  long_piece[huge - 1] = 'b';
  long_piece[huge] = '\0';
  attnviz_gguf_writer_add_string (w, "general.architecture", "llama");
  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.model", "llama");
  attnviz_gguf_writer_add_string_array (w, "tokenizer.ggml.tokens", tokens, G_N_ELEMENTS (tokens));
  attnviz_gguf_writer_add_array (w, "tokenizer.ggml.scores", ATTNVIZ_GGUF_FLOAT32, scores, G_N_ELEMENTS (scores));
  attnviz_gguf_writer_add_bool (w, "tokenizer.ggml.add_space_prefix", FALSE);
  start = g_get_monotonic_time ();
  tok = load_written (w, &error);
  g_assert_no_error (error);
  /* Well under a second even with sanitizers; minutes before. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC);
  got = pieces_of (tok, "aaab aab", FALSE);
  /* "ab" scores best, then "aa"; the space is no piece. */
  g_assert_cmpstr (got, ==, "aa|ab|<unk>|a|ab");
  attnviz_tokenizer_free (tok);
}

/* WordPiece's longest match tries only the lengths pieces have, each by
 * hash: a 1 MiB piece in the vocabulary once made a 3000-letter word take
 * seconds and a 20000-letter one minutes (every end of the word looked up
 * as a string). */
static void
test_wpm_a_long_word_beside_a_huge_piece_is_fast (void)
{
  g_autoptr(GError) error = NULL;
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  gsize huge = (gsize) 1 << 20, n_letters = 20000;
  g_autofree char *long_piece = g_malloc (huge + 1);
  g_autofree char *text = g_malloc (n_letters + 1);
  const char *tokens[] = { "[UNK]", "[CLS]", "[SEP]", "\xe2\x96\x81" "a", "a", "aa", "\xe2\x96\x81" "aa", long_piece };
  gint64 start;
  AttnvizTokenizer *tok;
  g_autoptr(GArray) ids = NULL;

  memset (long_piece, 'q', huge);
  long_piece[huge] = '\0';
  memset (text, 'a', n_letters);
  text[n_letters] = '\0';
  attnviz_gguf_writer_add_string (w, "general.architecture", "bert");
  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.model", "bert");
  attnviz_gguf_writer_add_string_array (w, "tokenizer.ggml.tokens", tokens, G_N_ELEMENTS (tokens));
  attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.unknown_token_id", 0);
  attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.cls_token_id", 1);
  attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.seperator_token_id", 2);
  tok = load_written (w, &error);
  g_assert_no_error (error);
  start = g_get_monotonic_time ();
  ids = attnviz_test_gguf_encode (tok, text, TRUE);
  /* Well under a second even with sanitizers. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC);
  /* [CLS] "▁aa", then "aa" to the end, [SEP]. */
  g_assert_cmpuint (ids->len, ==, n_letters / 2 + 2);
  g_assert_cmpint (g_array_index (ids, AttnvizToken, 1).id, ==, 6);
  g_assert_cmpint (g_array_index (ids, AttnvizToken, 2).id, ==, 5);
  g_assert_cmpuint (g_array_index (ids, AttnvizToken, ids->len - 2).end, ==, n_letters);
  g_clear_pointer (&ids, g_array_unref);
  g_free (text);
  text = g_strdup ("aaa qq");
  ids = attnviz_test_gguf_encode (tok, text, FALSE);
  g_autofree char *got = pieces_of (tok, text, FALSE);
  g_assert_cmpstr (got, ==, "\xe2\x96\x81" "aa|a|[UNK]");
  attnviz_tokenizer_free (tok);
}

typedef struct {
  const char *name;
  BaseKind kind;
  const char *skip;               /* a key left out */
  void (*tweak) (AttnvizGgufWriter *w);
  const char *says[2];            /* what the one-line message holds */
} BadVocab;

static void
model_rwkv (AttnvizGgufWriter *w)
{
  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.model", "rwkv");
}

/* llama.cpp's "t5" (Unigram) over the SPM base's pieces and scores */
static void
model_t5 (AttnvizGgufWriter *w)
{
  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.model", "t5");
}

static void
t5_score_nan (AttnvizGgufWriter *w)
{
  float scores[264];
  for (gsize i = 0; i < G_N_ELEMENTS (scores); i++)
    scores[i] = i == 260 ? NAN : -1.0f;
  model_t5 (w);
  attnviz_gguf_writer_add_array (w, "tokenizer.ggml.scores", ATTNVIZ_GGUF_FLOAT32, scores, G_N_ELEMENTS (scores));
}

static void
t5_without_unknown (AttnvizGgufWriter *w)
{
  model_t5 (w);
  attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.unknown_token_id", G_MAXUINT32);
}

static void
t5_charsmap_a_string (AttnvizGgufWriter *w)
{
  model_t5 (w);
  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.precompiled_charsmap", "nmt_nfkc");
}

/* A broken precompiled charsmap, as bytes (the file names it, attnviz-charsmap.c says what is wrong) */
static void
t5_charsmap (AttnvizGgufWriter *w, const char *bytes, gsize n)
{
  model_t5 (w);
  attnviz_gguf_writer_add_array (w, "tokenizer.ggml.precompiled_charsmap", ATTNVIZ_GGUF_UINT8, bytes, n);
}

static void
t5_charsmap_truncated (AttnvizGgufWriter *w)
{
  t5_charsmap (w, "\x04\x00", 2);
}

static void
t5_charsmap_trie_past_its_end (AttnvizGgufWriter *w)
{
  t5_charsmap (w, "\x08\x00\x00\x00" "abcd", 8);
}

static void
t5_charsmap_string_without_nul (AttnvizGgufWriter *w)
{
  t5_charsmap (w, "\x04\x00\x00\x00" "\x00\x04\x00\x00" "XY", 10);
}

static void
t5_charsmap_of_floats (AttnvizGgufWriter *w)
{
  static const float f[2] = { 1.0f, 2.0f };
  model_t5 (w);
  attnviz_gguf_writer_add_array (w, "tokenizer.ggml.precompiled_charsmap", ATTNVIZ_GGUF_FLOAT32, f, 2);
}

static void
pre_unknown (AttnvizGgufWriter *w)
{
  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.pre", "no-such\npre");
}

static void
tokens_empty (AttnvizGgufWriter *w)
{
  attnviz_gguf_writer_add_string_array (w, "tokenizer.ggml.tokens", NULL, 0);
}

static void
tokens_not_strings (AttnvizGgufWriter *w)
{
  const gint32 v[] = { 1, 2, 3 };

  attnviz_gguf_writer_add_array (w, "tokenizer.ggml.tokens", ATTNVIZ_GGUF_INT32, v, G_N_ELEMENTS (v));
}

static void
piece_twice (AttnvizGgufWriter *w)
{
  static const char *const tokens[] = { "a", "b", "ab", "\xc4\xa0", "b", "<|endoftext|>" };

  attnviz_gguf_writer_add_string_array (w, "tokenizer.ggml.tokens", tokens, G_N_ELEMENTS (tokens));
}

static void
piece_not_utf8 (AttnvizGgufWriter *w)
{
  static const char *const tokens[] = { "a", "b", "ab", "\xc4\xa0", "\xc4\xa0" "a", "\xf0\x9f" };

  attnviz_gguf_writer_add_string_array (w, "tokenizer.ggml.tokens", tokens, G_N_ELEMENTS (tokens));
}

static void
scores_short (AttnvizGgufWriter *w)
{
  const float v[] = { 0, 0, 0 };

  attnviz_gguf_writer_add_array (w, "tokenizer.ggml.scores", ATTNVIZ_GGUF_FLOAT32, v, G_N_ELEMENTS (v));
}

static void
types_short (AttnvizGgufWriter *w)
{
  const gint32 v[] = { 1, 1 };

  attnviz_gguf_writer_add_array (w, "tokenizer.ggml.token_type", ATTNVIZ_GGUF_INT32, v, G_N_ELEMENTS (v));
}

static void
type_out_of_range (AttnvizGgufWriter *w)
{
  const gint32 v[] = { 1, 1, 1, 1, 1, 9 };

  attnviz_gguf_writer_add_array (w, "tokenizer.ggml.token_type", ATTNVIZ_GGUF_INT32, v, G_N_ELEMENTS (v));
}

static void
bos_out_of_range (AttnvizGgufWriter *w)
{
  attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.bos_token_id", 100000);
}

static void
eos_negative (AttnvizGgufWriter *w)
{
  attnviz_gguf_writer_add_int32 (w, "tokenizer.ggml.eos_token_id", -5);
}

static void
unk_is_a_string (AttnvizGgufWriter *w)
{
  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.unknown_token_id", "0");
}

static void
sep_out_of_range (AttnvizGgufWriter *w)
{
  attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.seperator_token_id", 6);
}

static void
add_bos_without_bos (AttnvizGgufWriter *w)
{
  attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.bos_token_id", G_MAXUINT32);
  attnviz_gguf_writer_add_bool (w, "tokenizer.ggml.add_bos_token", TRUE);
}

static void
add_space_prefix_not_bool (AttnvizGgufWriter *w)
{
  attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.add_space_prefix", 1);
}

static void
merge_unknown_piece (AttnvizGgufWriter *w)
{
  static const char *const merges[] = { "a b", "a c" };

  attnviz_gguf_writer_add_string_array (w, "tokenizer.ggml.merges", merges, G_N_ELEMENTS (merges));
}

static void
merge_result_missing (AttnvizGgufWriter *w)
{
  static const char *const merges[] = { "b a" };

  attnviz_gguf_writer_add_string_array (w, "tokenizer.ggml.merges", merges, G_N_ELEMENTS (merges));
}

static void
merge_without_space (AttnvizGgufWriter *w)
{
  static const char *const merges[] = { "a b", "ab" };

  attnviz_gguf_writer_add_string_array (w, "tokenizer.ggml.merges", merges, G_N_ELEMENTS (merges));
}

static const BadVocab bad_vocabs[] = {
  { "model-missing", BASE_SPM, "tokenizer.ggml.model", NULL, { "tokenizer.ggml.model", NULL } },
  { "model-unknown", BASE_SPM, NULL, model_rwkv, { "tokenizer.ggml.model", "\"rwkv\" is not supported" } },
  { "t5-without-scores", BASE_SPM, "tokenizer.ggml.scores", model_t5,
    { "tokenizer.ggml.scores", "a t5 (Unigram) vocabulary needs its pieces' scores" } },
  { "t5-with-a-nan-score", BASE_SPM, NULL, t5_score_nan, { "tokenizer.ggml.scores", "piece 260 has the score nan" } },
  { "t5-without-an-unknown-piece", BASE_SPM, NULL, t5_without_unknown,
    { "tokenizer.ggml.unknown_token_id", "needs an unknown piece" } },
  { "t5-charsmap-not-bytes", BASE_SPM, NULL, t5_charsmap_a_string,
    { "tokenizer.ggml.precompiled_charsmap", "is not an array of bytes" } },
  { "t5-charsmap-of-floats", BASE_SPM, NULL, t5_charsmap_of_floats,
    { "tokenizer.ggml.precompiled_charsmap", "is not an array of bytes" } },
  { "t5-charsmap-truncated", BASE_SPM, NULL, t5_charsmap_truncated,
    { "precompiled_charsmap is 2 bytes, too short for its trie's size", NULL } },
  { "t5-charsmap-trie-past-its-end", BASE_SPM, NULL, t5_charsmap_trie_past_its_end,
    { "precompiled_charsmap says its trie is 8 bytes, past its end (4 bytes)", NULL } },
  { "t5-charsmap-string-without-nul", BASE_SPM, NULL, t5_charsmap_string_without_nul,
    { "precompiled_charsmap has a last replacement string without its NUL", NULL } },
  { "pre-unknown", BASE_GPT2, NULL, pre_unknown, { "tokenizer.ggml.pre", "no-such\\npre" } },
  { "tokens-missing", BASE_SPM, "tokenizer.ggml.tokens", NULL, { "tokenizer.ggml.tokens", NULL } },
  { "tokens-empty", BASE_SPM, NULL, tokens_empty, { "tokenizer.ggml.tokens", "empty" } },
  { "tokens-not-strings", BASE_SPM, NULL, tokens_not_strings, { "tokenizer.ggml.tokens", NULL } },
  { "piece-twice", BASE_GPT2, NULL, piece_twice, { "tokenizer.ggml.tokens", "piece 4 \"b\" is also piece 1" } },
  { "piece-not-utf8", BASE_GPT2, NULL, piece_not_utf8, { "tokenizer.ggml.tokens", "piece 5 is not UTF-8" } },
  { "scores-too-few", BASE_SPM, NULL, scores_short, { "tokenizer.ggml.scores", "3 scores" } },
  { "types-too-few", BASE_GPT2, NULL, types_short, { "tokenizer.ggml.token_type", "2 types" } },
  { "type-out-of-range", BASE_GPT2, NULL, type_out_of_range, { "tokenizer.ggml.token_type", "type 9" } },
  { "bos-out-of-range", BASE_SPM, NULL, bos_out_of_range, { "tokenizer.ggml.bos_token_id", "100000" } },
  { "eos-negative", BASE_GPT2, NULL, eos_negative, { "tokenizer.ggml.eos_token_id", "-5" } },
  { "unk-not-an-integer", BASE_SPM, NULL, unk_is_a_string, { "tokenizer.ggml.unknown_token_id", NULL } },
  { "sep-out-of-range", BASE_GPT2, NULL, sep_out_of_range, { "tokenizer.ggml.seperator_token_id", "id 6" } },
  { "add-bos-without-bos", BASE_SPM, NULL, add_bos_without_bos, { "tokenizer.ggml.add_bos_token", NULL } },
  { "add-space-prefix-not-a-bool", BASE_SPM, NULL, add_space_prefix_not_bool,
    { "tokenizer.ggml.add_space_prefix", NULL } },
  { "merges-missing", BASE_GPT2, "tokenizer.ggml.merges", NULL, { "tokenizer.ggml.merges", NULL } },
  { "merge-of-an-unknown-piece", BASE_GPT2, NULL, merge_unknown_piece, { "tokenizer.ggml.merges", "\"c\"" } },
  { "merge-whose-result-is-not-a-piece", BASE_GPT2, NULL, merge_result_missing,
    { "tokenizer.ggml.merges", "\"ba\"" } },
  { "merge-without-a-space", BASE_GPT2, NULL, merge_without_space, { "tokenizer.ggml.merges", "merge 1" } },
};

static void
test_bad_vocabulary_is_a_one_line_error (gconstpointer data)
{
  const BadVocab *bad = data;
  AttnvizGgufWriter *w = base_writer (bad->kind, bad->skip, -1.0f, -2.0f);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok;

  if (bad->tweak != NULL)
    bad->tweak (w);
  path = write_gguf (w);
  attnviz_gguf_writer_free (w);
  tok = attnviz_test_gguf_tokenizer (path, &error);
  g_assert_null (tok);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_true (g_str_has_prefix (error->message, path));
  for (int i = 0; i < 2 && bad->says[i] != NULL; i++)
    g_assert_nonnull (strstr (error->message, bad->says[i]));
  remove_file_and_dir (path);
}

/* ---------------------------------------------------------------- user-defined pieces */

static gboolean
skip_types (const char *key, gpointer data)
{
  return g_str_equal (key, "tokenizer.ggml.token_type");
}

/* The vocabulary at SPM_PATH with PIECES made user-defined. */
static char *
write_with_user_defined (const char *spm_path, const char *const *pieces)
{
  g_autoptr(GError) error = NULL;
  AttnvizGguf *src = attnviz_gguf_open (spm_path, &error);
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  g_autofree gint64 *types = NULL;
  g_autofree gint32 *types32 = NULL;
  const char *const *tokens;
  gsize n = 0, n_tokens = 0;
  char *path;

  g_assert_no_error (error);
  types = attnviz_gguf_dup_int_array (src, "tokenizer.ggml.token_type", TRUE, &n, &error);
  g_assert_no_error (error);
  tokens = attnviz_gguf_read_string_array (src, "tokenizer.ggml.tokens", TRUE, &n_tokens, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, n_tokens);
  types32 = g_new (gint32, n);
  for (gsize i = 0; i < n; i++)
    types32[i] = g_strv_contains (pieces, tokens[i]) ? 4 : (gint32) types[i];
  attnviz_gguf_writer_copy_kv (w, src, skip_types, NULL);
  attnviz_gguf_writer_add_array (w, "tokenizer.ggml.token_type", ATTNVIZ_GGUF_INT32, types32, n);
  path = write_gguf (w);
  attnviz_gguf_writer_free (w);
  attnviz_gguf_free (src);
  return path;
}

static const char *const user_defined_texts[] = {
  "hello world", "helloworld", "world  world\tworld\n", " world", "world", "singing in the rain",
  "hello, world! hello?", "wor ld ing", "world\v\f world\r\nx",
};

/* User-defined pieces are cut out of the text; the text after one gets
 * SentencePiece's "▁" again, and in Phi-3's vocabulary (general.name
 * "Phi3") they eat the white space after them: as llama.cpp does, which
 * the comparison checks when llref is there.  DATA: the vocabulary. */
static void
test_user_defined_pieces_split_the_text (gconstpointer data)
{
  static const char *const pieces[] = { "world", "ing", NULL };
  g_autofree char *file = g_strdup_printf ("ggml-vocab-%s.gguf", (const char *) data);
  gboolean phi3 = g_str_equal (data, "phi-3");
  g_autofree char *spm = attnviz_test_shared_path ("tokenizers", "llama.cpp-vocab-gguf", file, NULL);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok;
  int world;

  if (spm == NULL)
    return;
  path = write_with_user_defined (spm, pieces);
  tok = attnviz_test_gguf_tokenizer (path, &error);
  g_assert_no_error (error);
  for (world = 0; !g_str_equal (attnviz_tokenizer_get_piece (tok, world), "world"); world++)
    ;

  for (gsize t = 0; t < G_N_ELEMENTS (user_defined_texts); t++)
    {
      const char *text = user_defined_texts[t];
      g_autoptr(GArray) tokens = attnviz_test_gguf_encode (tok, text, FALSE);
      guint n_world = 0, expected = 0;

      for (const char *p = text; (p = strstr (p, "world")) != NULL; p += 5)
        expected++;
      for (guint i = 0; i < tokens->len; i++)
        {
          const AttnvizToken *k = &g_array_index (tokens, AttnvizToken, i);

          if (k->id != world)
            continue;
          n_world++;
          g_assert_true (k->special);
          g_assert_cmpuint (k->end - k->start, ==, 5);
          g_assert_cmpmem (text + k->start, 5, "world", 5);
          /* Phi-3: the next token starts past the white space. */
          if (phi3 && i + 1 < tokens->len && k->end < strlen (text))
            g_assert_false (g_ascii_isspace (text[g_array_index (tokens, AttnvizToken, i + 1).start]));
        }
      g_assert_cmpuint (n_world, ==, expected);
    }
  g_assert_cmpuint (attnviz_test_compare_with_llama_cpp (tok, path, user_defined_texts, NULL,
                                                         G_N_ELEMENTS (user_defined_texts)),
                    ==, 0);
  attnviz_tokenizer_free (tok);
  remove_file_and_dir (path);
}

int
main (int argc, char *argv[])
{
  attnviz_test_tokenizer_gguf_init (&argc, &argv);

  g_test_add_func ("/engine/tokenizer/gguf/spm/scores-decide-the-merges", test_spm_scores_decide_the_merges);
  g_test_add_func ("/engine/tokenizer/gguf/spm/flags-and-ids-are-read", test_spm_flags_are_read);
  g_test_add_func ("/engine/tokenizer/gguf/gpt2/small-vocabulary-merges-by-rank", test_gpt2_small_vocabulary);
  g_test_add_func ("/engine/tokenizer/gguf/spm/a-huge-piece-opens-in-linear-time",
                   test_spm_a_huge_piece_opens_in_linear_time);
  g_test_add_func ("/engine/tokenizer/gguf/wpm/a-long-word-beside-a-huge-piece-is-fast",
                   test_wpm_a_long_word_beside_a_huge_piece_is_fast);
  g_test_add_data_func ("/engine/tokenizer/gguf/llama-spm/user-defined-pieces-split-the-text", "llama-spm",
                        test_user_defined_pieces_split_the_text);
  g_test_add_data_func ("/engine/tokenizer/gguf/phi-3/user-defined-pieces-eat-the-space-after", "phi-3",
                        test_user_defined_pieces_split_the_text);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_vocabs); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/tokenizer/gguf/load-errors/%s", bad_vocabs[i].name);

      g_test_add_data_func (path, &bad_vocabs[i], test_bad_vocabulary_is_a_one_line_error);
    }

  return attnviz_test_tokenizer_gguf_run ();
}
