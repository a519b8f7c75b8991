/* test-tokenizer-gguf.c: tokenizers read from GGUF metadata against llama.cpp
 *
 * The references: llama.cpp's own test vectors for its vocabulary-only GGUF
 * files (made with add_special off, as tests/test-tokenizer-0.cpp runs
 * them), llama.cpp itself through /tmp/llref/llref when it is there, and
 * the Hugging Face folders beside the model GGUFs.
 */
#define G_LOG_DOMAIN "attnviz-test-tokenizer-gguf"

#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-gguf.h"
#include "attnviz-test-util.h"
#include "attnviz-tokenizer.h"

#define LLREF "/tmp/llref/llref"
#define LLREF_LIBDIR_FILE "/tmp/llref/libdir"

/* ---------------------------------------------------------------- helpers */

/* GGUF path -> AttnvizTokenizer, loaded once (a tokenizer is immutable). */
static GHashTable *loaded;

static AttnvizTokenizer *
load_gguf (const char *path, GError **error)
{
  g_autoptr(GError) local = NULL;
  AttnvizGguf *gguf = attnviz_gguf_open (path, &local);
  AttnvizTokenizer *tok;

  if (gguf == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  tok = attnviz_tokenizer_new_from_gguf (gguf, error);
  attnviz_gguf_free (gguf);
  return tok;
}

/* The tokenizer of ../shared/data/A/B/C (a GGUF file; B and C may be NULL
 * when A holds the whole relative path), or NULL after skipping. */
static const AttnvizTokenizer *
shared_gguf (const char *a, const char *b, const char *c, char **path_out)
{
  g_autofree char *path = attnviz_test_shared_path (a, b, c, NULL);
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok;

  if (path == NULL)
    return NULL;
  if (path_out != NULL)
    *path_out = g_strdup (path);
  tok = g_hash_table_lookup (loaded, path);
  if (tok == NULL)
    {
      tok = load_gguf (path, &error);
      g_assert_no_error (error);
      g_assert_nonnull (tok);
      g_hash_table_insert (loaded, g_steal_pointer (&path), tok);
    }
  return tok;
}

static const AttnvizTokenizer *
vocab (const char *name, char **path_out)
{
  g_autofree char *file = g_strdup_printf ("ggml-vocab-%s.gguf", name);

  return shared_gguf ("tokenizers", "llama.cpp-vocab-gguf", file, path_out);
}

static GArray *
encode_len (const AttnvizTokenizer *tok, const char *text, gsize len, gboolean add_special)
{
  g_autoptr(GError) error = NULL;
  GArray *tokens = attnviz_tokenizer_encode (tok, text, len, add_special, &error);

  g_assert_no_error (error);
  g_assert_nonnull (tokens);
  return tokens;
}

static GArray *
encode (const AttnvizTokenizer *tok, const char *text, gboolean add_special)
{
  return encode_len (tok, text, strlen (text), add_special);
}

/* "1,2,3" as llama.cpp's tools print them. */
static char *
ids_string (GArray *tokens)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < tokens->len; i++)
    g_string_append_printf (s, "%s%d", i ? "," : "", g_array_index (tokens, AttnvizToken, i).id);
  return g_string_free (s, FALSE);
}

static char *
make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("attnviz-tokenizer-gguf-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

/* The six vocabularies of llama.cpp's tokenizer tests. */
static const char *const vocabs[] = { "gpt-2", "bert-bge", "llama-spm", "phi-3", "llama-bpe", "qwen2" };

/* ---------------------------------------------------------------- llama.cpp's vectors */

static void
test_matches_llama_cpp_vectors (gconstpointer data)
{
  const char *name = data;
  g_autofree char *path = NULL;
  const AttnvizTokenizer *tok = vocab (name, &path);
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
      g_autoptr(GArray) tokens = encode (tok, cases[i], FALSE);
      g_autofree char *got = ids_string (tokens);
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

static gboolean
have_llref (char **libdir)
{
  g_autofree char *dir = NULL;

  if (!g_file_test (LLREF, G_FILE_TEST_IS_EXECUTABLE)
      || !g_file_get_contents (LLREF_LIBDIR_FILE, &dir, NULL, NULL))
    return FALSE;
  *libdir = g_strdup (g_strstrip (dir));
  return TRUE;
}

/* llama.cpp's ids for TEXT, "1,2,3". */
static char *
llref_tokenize (const char *libdir, const char *gguf, const char *text, gsize len, gboolean add_special)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  int fd = g_file_open_tmp ("attnviz-llref-XXXXXX.txt", &tmp, &error);

  g_assert_no_error (error);
  close (fd);
  g_file_set_contents (tmp, text, (gssize) len, &error);
  g_assert_no_error (error);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_setenv (launcher, "LLREF_LIBDIR", libdir, TRUE);
  proc = g_subprocess_launcher_spawn (launcher, &error, LLREF, "tokenize", gguf, tmp,
                                      add_special ? "1" : "0", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
  g_remove (tmp);
  return g_strdup (g_strstrip (out));
}

/* TOK (from the GGUF at PATH) and llama.cpp give the same ids for TEXTS
 * (LENS bytes each, or NUL-terminated when LENS is NULL), with add_special
 * off and on; returns how many of those differ (none, saying so, when
 * llref is absent). */
static guint
compare_with_llama_cpp (const AttnvizTokenizer *tok, const char *path, const char *const *texts,
                        const gsize *lens, gsize n_texts)
{
  g_autofree char *libdir = NULL;
  g_autofree char *base = g_path_get_basename (path);
  guint compared = 0, failures = 0;

  if (!have_llref (&libdir))
    {
      g_test_message (LLREF " is absent: no comparison with llama.cpp");
      return 0;
    }
  for (gsize t = 0; t < n_texts; t++)
    for (int add_special = 0; add_special <= 1; add_special++)
      {
        gsize len = lens != NULL ? lens[t] : strlen (texts[t]);
        g_autoptr(GArray) tokens = encode_len (tok, texts[t], len, add_special);
        g_autofree char *got = ids_string (tokens);
        g_autofree char *want = llref_tokenize (libdir, path, texts[t], len, add_special);

        compared++;
        if (!g_str_equal (got, want))
          {
            g_autofree char *shown = g_strescape (len > 200 ? "(a long text)" : texts[t], NULL);

            g_test_message ("\"%s\" add_special=%d: llama.cpp [%s], attnviz [%s]", shown, add_special, want, got);
            failures++;
          }
      }
  g_test_message ("%s: %u of %u texts agree with llama.cpp", base, compared - failures, compared);
  return failures;
}

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
  const AttnvizTokenizer *tok = shared_gguf (data, NULL, NULL, &path);
  g_autofree char *libdir = NULL;

  if (tok == NULL)
    return;
  if (!have_llref (&libdir))
    {
      g_test_skip (LLREF " is absent: no comparison with llama.cpp");
      return;
    }
  g_assert_cmpuint (compare_with_llama_cpp (tok, path, extra_texts, NULL, G_N_ELEMENTS (extra_texts)), ==, 0);
}

/* DATA: a GGUF file under ../shared/data. */
static void
test_agrees_with_llama_cpp_on_random_text (gconstpointer data)
{
  g_autofree char *path = NULL;
  const AttnvizTokenizer *tok = shared_gguf (data, NULL, NULL, &path);
  g_autofree char *libdir = NULL;
  gsize len[3];
  char *texts[3];

  if (tok == NULL)
    return;
  if (!have_llref (&libdir))
    {
      g_test_skip (LLREF " is absent: no comparison with llama.cpp");
      return;
    }
  for (int i = 0; i < 3; i++)
    texts[i] = make_random_text (g_str_hash (data) + i, &len[i]);
  g_assert_cmpuint (compare_with_llama_cpp (tok, path, (const char *const *) texts, len, 3), ==, 0);
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
  const AttnvizTokenizer *tok = vocab (name, NULL);

  if (tok == NULL)
    return;
  for (gsize t = 0; t < G_N_ELEMENTS (extra_texts); t++)
    {
      const char *text = extra_texts[t];
      gsize len = strlen (text);
      g_autoptr(GArray) tokens = encode (tok, text, FALSE);
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
  const AttnvizTokenizer *tok = vocab (name, NULL);
  gboolean spm;

  if (tok == NULL)
    return;
  spm = attnviz_tokenizer_get_kind (tok) == ATTNVIZ_TOKENIZER_SPM_BPE;
  for (gsize t = 0; t < G_N_ELEMENTS (extra_texts); t++)
    {
      g_autoptr(GArray) tokens = encode (tok, extra_texts[t], spm);
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
  const AttnvizTokenizer *tok = vocab ("qwen2", NULL);
  g_autoptr(GArray) tokens = NULL;
  g_autoptr(GArray) before = NULL;
  g_autoptr(GArray) after = NULL;
  gboolean seen = FALSE;
  guint at = 0;

  if (tok == NULL)
    return;
  tokens = encode (tok, text, FALSE);
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
  before = encode (tok, "a", FALSE);
  after = encode_len (tok, text + 12, strlen (text + 12), FALSE);
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
  const AttnvizTokenizer *tok = hf != NULL ? shared_gguf ("models", c->model, c->gguf, NULL) : NULL;
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
      g_autoptr(GArray) a = encode (tok, story, add_special);
      g_autoptr(GArray) b = encode (ref, story, add_special);
      g_autofree char *got = ids_string (a);
      g_autofree char *want = ids_string (b);

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

/* ---------------------------------------------------------------- small GGUFs */

/* Removes PATH's file and its folder (a temporary of make_temp_dir). */
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
  g_autofree char *dir = make_temp_dir ();
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
  AttnvizTokenizer *tok = load_gguf (path, error);

  attnviz_gguf_writer_free (w);
  remove_file_and_dir (path);
  return tok;
}

/* The pieces TEXT encodes to, joined with '|'. */
static char *
pieces_of (const AttnvizTokenizer *tok, const char *text, gboolean add_special)
{
  g_autoptr(GArray) tokens = encode (tok, text, add_special);
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
  ids = encode (tok, text, TRUE);
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
  ids = encode (tok, text, FALSE);
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
model_t5 (AttnvizGgufWriter *w)
{
  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.model", "t5");
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
  { "model-unknown", BASE_SPM, NULL, model_t5, { "tokenizer.ggml.model", "t5" } },
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
  tok = load_gguf (path, &error);
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
  tok = load_gguf (path, &error);
  g_assert_no_error (error);
  for (world = 0; !g_str_equal (attnviz_tokenizer_get_piece (tok, world), "world"); world++)
    ;

  for (gsize t = 0; t < G_N_ELEMENTS (user_defined_texts); t++)
    {
      const char *text = user_defined_texts[t];
      g_autoptr(GArray) tokens = encode (tok, text, FALSE);
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
  g_assert_cmpuint (compare_with_llama_cpp (tok, path, user_defined_texts, NULL, G_N_ELEMENTS (user_defined_texts)), ==, 0);
  attnviz_tokenizer_free (tok);
  remove_file_and_dir (path);
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
  tokens = encode (tok, text, FALSE);
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

/* ---------------------------------------------------------------- main */

int
main (int argc, char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  loaded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) attnviz_tokenizer_free);

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
  g_test_add_data_func ("/engine/tokenizer/gguf/llama-bpe/load-and-100k-text-are-fast", "llama-bpe",
                        test_big_vocabulary_is_fast);
  g_test_add_data_func ("/engine/tokenizer/gguf/qwen2/load-and-100k-text-are-fast", "qwen2",
                        test_big_vocabulary_is_fast);

  status = g_test_run ();
  g_hash_table_unref (loaded);
  return status;
}
