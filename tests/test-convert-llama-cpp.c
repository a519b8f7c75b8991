/* attnviz convert against llama.cpp (/tmp/llref/llref, when built; the
 * comparisons skip, saying so, without it).
 *
 * - llama.cpp loads every converted file and gives attnviz's logits on it.
 * - A folder's tokenizer written as GGUF encodes as the folder does, and
 *   as llama.cpp's own vocabularies do on its test vectors.
 */
#define G_LOG_DOMAIN "test-convert"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "attnviz-gguf.h"
#include "attnviz-test-convert.h"
#include "attnviz-test-util.h"
#include "attnviz-tokenizer.h"

/* ---- llama.cpp ---- */

/* llama.cpp's (T, V) logits for IDS, or NULL when it refuses the file. */
static float *
llref_logits (const char *libdir, const char *gguf, const gint32 *ids, int T, gsize *n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) list = g_string_new (NULL);
  for (int t = 0; t < T; t++)
    g_string_append_printf (list, t ? ",%d" : "%d", ids[t]);
  g_autofree char *out = g_strconcat (gguf, ".logits", NULL);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                                       | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LLREF_LIBDIR", libdir, TRUE);
  g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawn (launcher, &error, LLREF, "logits", gguf, list->str,
                                                             out, NULL);
  g_assert_no_error (error);
  g_autofree char *err = NULL;
  g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0)
    {
      g_test_message ("llref logits %s failed: %s", gguf, err);
      return NULL;
    }
  char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (out, &bytes, &len, NULL));
  g_remove (out);
  *n = len / sizeof (float);
  return (float *) bytes;
}

typedef struct {
  const AttnvizTestSource *source;
  AttnvizWeightType type;
} LlrefCase;

/* llref quantize: llama.cpp's own quantizer, every matrix in TYPE
 * (LLREF_PURE), or NULL when it fails. */
static char *
llref_quantize (const char *libdir, const char *f32, AttnvizWeightType type)
{
  static const struct { AttnvizWeightType type; const char *name; } names[] = {
    { ATTNVIZ_WEIGHT_F16, "f16" }, { ATTNVIZ_WEIGHT_BF16, "bf16" }, { ATTNVIZ_WEIGHT_Q8_0, "q8_0" },
    { ATTNVIZ_WEIGHT_Q4_0, "q4_0" }, { ATTNVIZ_WEIGHT_Q4_K, "q4_k_s" },
  };
  const char *name = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (names[i].type == type)
      name = names[i].name;
  g_assert_nonnull (name);
  g_autoptr(GError) error = NULL;
  char *out = g_strconcat (f32, ".llama.cpp-", name, ".gguf", NULL);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                                       | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_setenv (launcher, "LLREF_LIBDIR", libdir, TRUE);
  g_subprocess_launcher_setenv (launcher, "LLREF_PURE", "1", TRUE);
  g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawn (launcher, &error, LLREF, "quantize", f32, out, name,
                                                             NULL);
  g_assert_no_error (error);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
  return out;
}

/* The largest |attnviz - llama.cpp| over the logits of IDS on the file at PATH. */
static double
llama_cpp_gap (const char *libdir, const char *path, const gint32 *ids, int T)
{
  g_autoptr(AttnvizModel) m = attnviz_test_load (path);
  g_autoptr(AttnvizRecording) rec = attnviz_test_forward (m, ids, T);
  gsize n = 0;
  g_autofree float *want = llref_logits (libdir, path, ids, T, &n);
  g_assert_nonnull (want);
  if (rec->logits == NULL)
    {
      /* GGUF bert: llama.cpp loads and runs it; there is no LM head to compare. */
      g_test_message ("%s: llama.cpp loaded and ran it, no LM head to compare", path);
      return 0.0;
    }
  g_assert_cmpuint (n, ==, (gsize) T * m->config.vocab_size);
  double gap = 0.0;
  for (gsize i = 0; i < n; i++)
    gap = MAX (gap, fabs ((double) rec->logits[i] - want[i]));
  return gap;
}

/* llama.cpp loads the file and its logits are attnviz's on the same file.
 *
 * F32: within 1e-4.  GPT-2: ggml's CPU GELU (GGML_GELU_FP16 in
 * ggml-cpu/vec.h) rounds each input to F16 and reads the result from an
 * F16 table, so GPT-2's MLP activations carry F16's rounding even in an
 * F32 file: within what llama.cpp's F16 file of the same weights gives
 * (F16 weights and activations everywhere, which is more rounding).
 *
 * Other types: llama.cpp also rounds the activations to the weights'
 * companion type (F16, BF16, Q8_0, Q8_K) before each product, which moves
 * its logits away from attnviz's by what that rounding does to the model:
 * about 1e-2 for the tiny random LLaMA and Qwen2, 0.4 for gpt2-tiny (whose
 * 32 wide layers amplify it).  The yardstick is the same gap on llama.cpp's
 * own quantization of the same F32 file to that type: the converted file's
 * gap must be within 5e-2 or within 1.5 x llama.cpp's own, whichever is
 * larger.  (A file llama.cpp misread would be off by the logits' own size.) */
static void
test_llama_cpp_gives_the_same_logits (gconstpointer data)
{
  const LlrefCase *lc = data;
  g_autofree char *libdir = NULL;
  g_autofree char *path = attnviz_test_source_path (lc->source);
  if (path == NULL)
    return;
  if (!attnviz_test_have_llref (&libdir))
    {
      g_test_skip (LLREF " is absent (../shared/tools/llref/build.sh makes it; it needs npm)");
      return;
    }
  g_autoptr(AttnvizModel) hf = attnviz_test_load (path);
  g_autofree char *out = attnviz_test_convert (hf, lc->source->label, lc->type, 2);
  int T = MIN (32, hf->config.n_ctx);
  g_autofree gint32 *ids = attnviz_test_spread_ids (hf, T);
  double gap = llama_cpp_gap (libdir, out, ids, T);
  g_autofree char *label = g_strdup_printf ("%s %s", lc->source->label, attnviz_weight_type_name (lc->type));

  if (lc->type == ATTNVIZ_WEIGHT_F32 && hf->config.act != ATTNVIZ_ACT_GELU_TANH)
    {
      g_test_message ("%s: attnviz vs llama.cpp logits, max |diff| %.3g (bound 1e-4)", label, gap);
      g_assert_cmpfloat (gap, <=, 1e-4);
    }
  else if (lc->type == ATTNVIZ_WEIGHT_F32)
    {
      g_autofree char *own = llref_quantize (libdir, out, ATTNVIZ_WEIGHT_F16);
      double f16_gap = llama_cpp_gap (libdir, own, ids, T);
      double bound = MAX (1e-4, f16_gap);
      g_test_message ("%s: attnviz vs llama.cpp logits, max |diff| %.3g; llama.cpp's F16 file of it %.3g "
                      "(bound %.3g)", label, gap, f16_gap, bound);
      g_assert_cmpfloat (gap, <=, bound);
      g_remove (own);
    }
  else
    {
      g_autofree char *f32 = attnviz_test_convert (hf, lc->source->label, ATTNVIZ_WEIGHT_F32, 2);
      g_autofree char *own = llref_quantize (libdir, f32, lc->type);
      double own_gap = llama_cpp_gap (libdir, own, ids, T);
      double bound = MAX (5e-2, 1.5 * own_gap);
      g_test_message ("%s: attnviz vs llama.cpp logits, max |diff| %.3g; on llama.cpp's own %s file %.3g "
                      "(bound %.3g)", label, gap, attnviz_weight_type_name (lc->type), own_gap, bound);
      g_assert_cmpfloat (gap, <=, bound);
      g_remove (f32);
      g_remove (own);
    }
  g_remove (out);
}

/* ---- tokenizers ---- */

typedef struct {
  const char *label;
  const char *dir;          /* under ../shared/data */
  const char *arch;         /* general.architecture of the vocabulary-only file */
  const char *vectors;      /* llama.cpp's test vectors for the same vocabulary, or NULL */
} TokCase;

#define VOCAB(name) "tokenizers/llama.cpp-vocab-gguf/ggml-vocab-" name ".gguf"

/* Hugging Face folders, and llama.cpp's own vocabularies read from GGUF
 * and written again (the exporter's other use: every llama.cpp
 * pre-tokenizer name, user-defined pieces, Phi-3's habits). */
static const TokCase tok_cases[] = {
  { "stories260K", "models/stories260K/hf", "llama", NULL },
  { "tiny-llama", "models/tiny-llama-gguf/hf", "llama", NULL },
  { "gpt2", "tokenizers/gpt2", "gpt2", VOCAB ("gpt-2") },
  { "bert-base-uncased", "tokenizers/bert-base-uncased", "bert", VOCAB ("bert-bge") },
  { "gguf-gpt-2", VOCAB ("gpt-2"), "gpt2", VOCAB ("gpt-2") },
  { "gguf-llama-spm", VOCAB ("llama-spm"), "llama", VOCAB ("llama-spm") },
  { "gguf-llama-bpe", VOCAB ("llama-bpe"), "llama", VOCAB ("llama-bpe") },
  { "gguf-qwen2", VOCAB ("qwen2"), "qwen2", VOCAB ("qwen2") },
  { "gguf-phi-3", VOCAB ("phi-3"), "phi3", VOCAB ("phi-3") },
};

static const char *const sample_texts[] = {
  "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
  "Hello world! How are you doing today?\n\nI'm fine,  thanks... 1234 + 5678 = 6912",
  "  leading spaces, trailing spaces  ",
  "Zoë said: «naïve café» — Ελληνικά, русский, 中文, 日本語 🙂",
  "don't won't they're we've I'll he'd",
  "tabs\tand\nnewlines\r\nmixed",
  "specials as text: <s> </s> <unk> [CLS] [SEP] [MASK] <|endoftext|> <|im_end|> <|assistant|>x",
  "a",
  " ",
  "",
};

static char *
ids_string (const AttnvizTokenizer *tok, const char *text, gsize len, gboolean add_special)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) tokens = attnviz_tokenizer_encode (tok, text, len, add_special, &error);
  g_assert_no_error (error);
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < tokens->len; i++)
    g_string_append_printf (s, i ? " %d" : "%d", g_array_index (tokens, AttnvizToken, i).id);
  return g_string_free (s, FALSE);
}

/* The vocabulary-only GGUF file a tokenizer exports to. */
static char *
export_tokenizer (const AttnvizTokenizer *tok, const TokCase *tc, const char *name_key)
{
  g_autoptr(GError) error = NULL;
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  attnviz_gguf_writer_add_string (w, "general.architecture", tc->arch);
  attnviz_gguf_writer_add_string (w, "general.name", name_key ? name_key : tc->label);
  g_assert_true (attnviz_tokenizer_write_gguf (tok, w, attnviz_tokenizer_get_vocab_size (tok), &error));
  g_assert_no_error (error);
  g_autofree char *name = g_strdup_printf ("vocab-%s.gguf", tc->label);
  char *path = g_build_filename (attnviz_test_tmp_dir, name, NULL);
  g_assert_true (attnviz_gguf_writer_write (w, path, &error));
  g_assert_no_error (error);
  attnviz_gguf_writer_free (w);
  return path;
}

static char *
llref_tokenize (const char *libdir, const char *gguf, const char *text, gboolean add_special)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_build_filename (attnviz_test_tmp_dir, "text.txt", NULL);
  g_file_set_contents (tmp, text, -1, &error);
  g_assert_no_error (error);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                       | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_setenv (launcher, "LLREF_LIBDIR", libdir, TRUE);
  g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawn (launcher, &error, LLREF, "tokenize", gguf, tmp,
                                                             add_special ? "1" : "0", NULL);
  g_assert_no_error (error);
  g_autofree char *out = NULL;
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
  g_strdelimit (g_strstrip (out), ",", ' ');
  return g_steal_pointer (&out);
}

static void
test_exported_tokenizer_encodes_as_the_folder (gconstpointer data)
{
  const TokCase *tc = data;
  g_autofree char *dir = attnviz_test_shared_path (tc->dir, NULL);
  if (dir == NULL)
    return;
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *hf;
  AttnvizGguf *source = NULL;
  const char *name = NULL;
  if (g_str_has_suffix (dir, ".gguf"))
    {
      /* general.name carries llama.cpp's per-model habits (Phi-3's). */
      source = attnviz_gguf_open (dir, &error);
      g_assert_no_error (error);
      hf = attnviz_tokenizer_new_from_gguf (source, &error);
      name = attnviz_gguf_read_string (source, "general.name", FALSE, NULL);
    }
  else
    hf = attnviz_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  g_autofree char *path = export_tokenizer (hf, tc, name);
  AttnvizGguf *g = attnviz_gguf_open (path, &error);
  g_assert_no_error (error);
  AttnvizTokenizer *gg = attnviz_tokenizer_new_from_gguf (g, &error);
  g_assert_no_error (error);
  g_assert_cmpint (attnviz_tokenizer_get_vocab_size (gg), ==, attnviz_tokenizer_get_vocab_size (hf));

  guint compared = 0;
  for (gsize i = 0; i < G_N_ELEMENTS (sample_texts); i++)
    for (int add_special = 0; add_special <= 1; add_special++)
      {
        g_autofree char *a = ids_string (hf, sample_texts[i], strlen (sample_texts[i]), add_special);
        g_autofree char *b = ids_string (gg, sample_texts[i], strlen (sample_texts[i]), add_special);
        if (!g_str_equal (a, b))
          g_test_message ("\"%s\" add_special=%d: folder [%s], GGUF [%s]", sample_texts[i], add_special, a, b);
        g_assert_cmpstr (b, ==, a);
        compared++;
      }

  /* llama.cpp's own test vectors, where the vocabulary is the same. */
  guint vectors = 0;
  if (tc->vectors != NULL)
    {
      g_autofree char *vocab = attnviz_test_shared_path (tc->vectors, NULL);
      g_autofree char *inp_path = g_strconcat (vocab, ".inp", NULL);
      g_autofree char *out_path = g_strconcat (vocab, ".out", NULL);
      g_autofree char *inp = NULL, *out = NULL;
      g_assert_true (g_file_get_contents (inp_path, &inp, NULL, NULL));
      g_assert_true (g_file_get_contents (out_path, &out, NULL, NULL));
      g_auto(GStrv) cases = g_strsplit (inp, "\n__ggml_vocab_test__\n", -1);
      g_auto(GStrv) expected = g_strsplit (out, "\n", -1);
      guint n_cases = g_strv_length (cases) - 1;
      for (guint i = 0; i < n_cases; i++)
        {
          g_autofree char *got = ids_string (gg, cases[i], strlen (cases[i]), FALSE);
          g_autofree char *want = g_strstrip (g_strdup (expected[i]));
          if (!g_str_equal (got, want))
            {
              g_autofree char *shown = g_strescape (cases[i], NULL);
              g_test_message ("vector %u \"%s\": llama.cpp [%s], exported GGUF [%s]", i, shown, want, got);
            }
          g_assert_cmpstr (got, ==, want);
          vectors++;
        }
    }

  /* llama.cpp itself on the exported file. */
  guint by_llama = 0;
  g_autofree char *libdir = NULL;
  if (attnviz_test_have_llref (&libdir))
    for (gsize i = 0; i < G_N_ELEMENTS (sample_texts); i++)
      for (int add_special = 0; add_special <= 1; add_special++)
        {
          if (sample_texts[i][0] == '\0')
            continue;
          g_autofree char *a = ids_string (hf, sample_texts[i], strlen (sample_texts[i]), add_special);
          g_autofree char *b = llref_tokenize (libdir, path, sample_texts[i], add_special);
          if (!g_str_equal (a, b))
            g_test_message ("\"%s\" add_special=%d: folder [%s], llama.cpp [%s]", sample_texts[i], add_special, a, b);
          g_assert_cmpstr (b, ==, a);
          by_llama++;
        }
  else
    g_test_message (LLREF " is absent: no comparison with llama.cpp's tokenizer");
  g_test_message ("%s: %u texts as the folder, %u of llama.cpp's test vectors, %u texts through llama.cpp",
                  tc->label, compared, vectors, by_llama);

  attnviz_tokenizer_free (gg);
  attnviz_gguf_free (g);
  attnviz_tokenizer_free (hf);
  g_clear_pointer (&source, attnviz_gguf_free);
  g_remove (path);
}

int
main (int argc, char **argv)
{
  attnviz_test_convert_init (&argc, &argv);
  static LlrefCase llref_cases[G_N_ELEMENTS (attnviz_test_sources) * 6];
  guint n_llref = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (attnviz_test_sources); i++)
    {
      const AttnvizTestSource *s = &attnviz_test_sources[i];
      static const AttnvizWeightType llref_types[] = {
        ATTNVIZ_WEIGHT_F32, ATTNVIZ_WEIGHT_F16, ATTNVIZ_WEIGHT_BF16, ATTNVIZ_WEIGHT_Q8_0, ATTNVIZ_WEIGHT_Q4_0,
        ATTNVIZ_WEIGHT_Q4_K,
      };
      for (gsize t = 0; t < G_N_ELEMENTS (llref_types); t++)
        {
          /* A trained model's logits (up to 16 for stories260K) move by more
           * than 5e-2 under llama.cpp's rounding of the activations alone:
           * 0.16 on llama.cpp's own Q8_0 file of it, which the converted one
           * equals byte for byte (/convert/hf/stories260K/Q8_0). */
          if (s->trained && llref_types[t] != ATTNVIZ_WEIGHT_F32)
            continue;
          llref_cases[n_llref] = (LlrefCase) { s, llref_types[t] };
          g_autofree char *p4 = g_strdup_printf ("/convert/llama.cpp/%s/%s/gives-the-same-logits", s->label,
                                                 attnviz_weight_type_name (llref_types[t]));
          g_test_add_data_func (p4, &llref_cases[n_llref++], test_llama_cpp_gives_the_same_logits);
        }
    }
  for (gsize i = 0; i < G_N_ELEMENTS (tok_cases); i++)
    {
      g_autofree char *p = g_strdup_printf ("/convert/tokenizer/%s/encodes-as-the-folder", tok_cases[i].label);
      g_test_add_data_func (p, &tok_cases[i], test_exported_tokenizer_encodes_as_the_folder);
    }

  return attnviz_test_convert_run ();
}
